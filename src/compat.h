/*
 * compat.h - the differences between the Postgres major versions ipflow
 * builds against (13 to 17), in one place.
 *
 * Include it after postgres.h or postgres_fe.h.  It holds macros only, so it
 * needs no Postgres header of its own: each macro uses only what the file
 * that expands it already includes (common/jsonapi.h, commands/copy.h,
 * storage/latch.h).
 */
#ifndef IPFLOW_COMPAT_H
#define IPFLOW_COMPAT_H

#ifndef PG_VERSION_NUM
#error "include postgres.h or postgres_fe.h before compat.h"
#endif

/*
 * JSON semantic actions (common/jsonapi.h) return JsonParseErrorType from 16
 * on and void before.  Declare a callback as
 *		static JSON_ACTION_RESULT Cb(void *state) { ...; JSON_ACTION_DONE; }
 */
#if PG_VERSION_NUM >= 160000
#define JSON_ACTION_RESULT JsonParseErrorType
#define JSON_ACTION_DONE return JSON_SUCCESS
#else
#define JSON_ACTION_RESULT void
#define JSON_ACTION_DONE return
#endif

/*
 * A lexer over a whole UTF-8 document that keeps de-escaped strings, and its
 * release; the Raw pair keeps none (tokens are read from the input).  17
 * added a leading JsonLexContext argument (NULL allocates one) and
 * freeJsonLexContext; before, the struct and its strval were freed by hand.
 */
#if PG_VERSION_NUM >= 170000
#define JsonLexNew(json, len) \
	makeJsonLexContextCstringLen(NULL, (json), (len), PG_UTF8, true)
#define JsonLexFree(lex) freeJsonLexContext(lex)
#define JsonLexNewRaw(json, len) \
	makeJsonLexContextCstringLen(NULL, (json), (len), PG_UTF8, false)
#define JsonLexFreeRaw(lex) freeJsonLexContext(lex)
#else
#define JsonLexNew(json, len) \
	makeJsonLexContextCstringLen((char *) (json), (int) (len), PG_UTF8, true)
#define JsonLexFree(lex) \
	do { \
		JsonLexContext *lex_ = (lex); \
		pfree(lex_->strval->data); \
		pfree(lex_->strval); \
		pfree(lex_); \
	} while (0)
#define JsonLexNewRaw(json, len) \
	makeJsonLexContextCstringLen((char *) (json), (int) (len), PG_UTF8, false)
#define JsonLexFreeRaw(lex) pfree(lex)
#endif

/*
 * COPY FROM a callback: 14 renamed CopyState to CopyFromState and gave
 * BeginCopyFrom a WHERE clause argument (always NULL here).
 */
#if PG_VERSION_NUM >= 140000
#define BeginCopyFromCallback(pstate, rel, data_source_cb, attnamelist, options) \
	BeginCopyFrom((pstate), (rel), NULL, NULL, false, (data_source_cb), \
				  (attnamelist), (options))
#else
#define CopyFromState CopyState
#define BeginCopyFromCallback(pstate, rel, data_source_cb, attnamelist, options) \
	BeginCopyFrom((pstate), (rel), NULL, false, (data_source_cb), \
				  (attnamelist), (options))
#endif

/*
 * A WaitEventSet that lives as long as the process: 17 takes a resource
 * owner (NULL: none, session lifetime), before it a memory context.
 */
#if PG_VERSION_NUM >= 170000
#define CreateSessionWaitEventSet(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define CreateSessionWaitEventSet(nevents) \
	CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

#endif							/* IPFLOW_COMPAT_H */
