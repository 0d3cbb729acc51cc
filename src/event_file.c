/*
 * event_file.c - the events of one file of the original sender
 *
 * The original SenderDAG sent one anonymized file, cl_logs/N.json, every 20
 * seconds.  Such a file is a JSON array of event objects, or one event per
 * line; ipflow.send_json_dir sends each event's text exactly as it is in
 * the file, so this splits the file into the events' byte ranges instead of
 * parsing them into values.  Array elements are found by Postgres' own JSON
 * parser (the element callbacks see the lexer at the element's first token
 * and just after its last, as json_array_elements does).
 */
#include "postgres_fe.h"

#include <stdarg.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "compat.h"
#include "event_file.h"
#include "json_tree.h"

/* The parser takes an int length. */
#define EVENT_FILE_MAX_BYTES ((size_t) 0x3fffffff)

typedef struct SpanCollector
{
	JsonLexContext *lex;
	int			depth;			/* arrays and objects open */
	size_t		start;			/* of the element being read */
	EventFileSpan *spans;
	int			count;
	int			capacity;
	bool		out_of_memory;
} SpanCollector;

static bool Fail(char *error, const char *fmt,...) pg_attribute_printf(2, 3);

/* Writes a readable error; always returns false. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	va_start(args, fmt);
	vsnprintf(error, EVENT_FILE_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* Appends a span; false when out of memory. */
static bool
SpanAdd(SpanCollector *c, size_t offset, size_t len)
{
	if (c->count == c->capacity)
	{
		int			capacity = c->capacity ? c->capacity * 2 : 64;
		EventFileSpan *spans = realloc(c->spans, (size_t) capacity * sizeof(EventFileSpan));

		if (spans == NULL)
		{
			c->out_of_memory = true;
			return false;
		}
		c->spans = spans;
		c->capacity = capacity;
	}
	c->spans[c->count].offset = offset;
	c->spans[c->count].len = len;
	c->spans[c->count].line = 0;
	c->count++;
	return true;
}

/* An object or array opens: one level deeper. */
static JSON_ACTION_RESULT
Open(void *state)
{
	((SpanCollector *) state)->depth++;
	JSON_ACTION_DONE;
}

/* An object or array closes. */
static JSON_ACTION_RESULT
Close(void *state)
{
	((SpanCollector *) state)->depth--;
	JSON_ACTION_DONE;
}

/* An element of the top array starts at the lexer's current token. */
static JSON_ACTION_RESULT
ElementStart(void *state, bool isnull)
{
	SpanCollector *c = state;

	(void) isnull;
	if (c->depth == 1)
		c->start = (size_t) (c->lex->token_start - c->lex->input);
	JSON_ACTION_DONE;
}

/* An element of the top array ends where its last token did. */
static JSON_ACTION_RESULT
ElementEnd(void *state, bool isnull)
{
	SpanCollector *c = state;

	(void) isnull;
	if (c->depth == 1 && !c->out_of_memory)
		SpanAdd(c, c->start, (size_t) (c->lex->prev_token_terminator - c->lex->input) - c->start);
	JSON_ACTION_DONE;
}

/* Whether text is one valid JSON document; why not in error. */
static bool
ValidJson(const char *text, size_t len, char *error)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;
	int			line = 1;
	size_t		at,
				i;

	if (JsonNestingDepth(text, len) > JSON_TREE_MAX_DEPTH)
		return Fail(error, "the JSON nests deeper than %d levels", JSON_TREE_MAX_DEPTH);
	lex = JsonLexNew(text, len);
	rc = pg_parse_json(lex, &nullSemAction);
	at = lex->token_start ? (size_t) (lex->token_start - lex->input) : 0;
	JsonLexFree(lex);
	if (rc == JSON_SUCCESS)
		return true;
	for (i = 0; i < at && i < len; i++)
		if (text[i] == '\n')
			line++;
	return Fail(error, "not valid JSON: %s at line %d", JsonParseErrorText(rc), line);
}

/* Numbers the lines of the spans (they are in file order). */
static void
SpanLines(const char *text, EventFileSpan *spans, int n)
{
	size_t		at = 0;
	int			line = 1;
	int			i;

	for (i = 0; i < n; i++)
	{
		for (; at < spans[i].offset; at++)
			if (text[at] == '\n')
				line++;
		spans[i].line = line;
	}
}

/* Splits a file into the JSON texts of its events. */
bool
EventFileSplit(const char *text, size_t len, EventFileSpan **spans, int *nspans,
			   char error[EVENT_FILE_ERROR_MAX])
{
	SpanCollector c;
	size_t		first = 0;
	int			i;

	memset(&c, 0, sizeof(c));
	*spans = NULL;
	*nspans = 0;
	if (len > EVENT_FILE_MAX_BYTES)
		return Fail(error, "the file is larger than 1 GB");
	if (memchr(text, '\0', len) != NULL)
		return Fail(error, "the file has a NUL byte");
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		first = 3;
	while (first < len && (text[first] == ' ' || text[first] == '\t' ||
						   text[first] == '\r' || text[first] == '\n'))
		first++;

	if (first < len && text[first] == '[')
	{
		JsonSemAction sem;
		JsonParseErrorType rc;

		/* an array: its elements, found once the whole is known to be valid */
		if (!ValidJson(text + first, len - first, error))
			return false;
		memset(&sem, 0, sizeof(sem));
		sem.semstate = &c;
		sem.object_start = Open;
		sem.object_end = Close;
		sem.array_start = Open;
		sem.array_end = Close;
		sem.array_element_start = ElementStart;
		sem.array_element_end = ElementEnd;
		c.lex = JsonLexNew(text + first, len - first);
		rc = pg_parse_json(c.lex, &sem);
		JsonLexFree(c.lex);
		if (rc != JSON_SUCCESS)
		{
			free(c.spans);
			return Fail(error, "not valid JSON: %s", JsonParseErrorText(rc));
		}
		for (i = 0; i < c.count; i++)
			c.spans[i].offset += first;
	}
	else if (first < len && ValidJson(text + first, len - first, NULL))
	{
		/* one document: one event */
		size_t		end = len;

		while (end > first && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
							   text[end - 1] == '\r' || text[end - 1] == '\n'))
			end--;
		SpanAdd(&c, first, end - first);
	}
	else
	{
		/* one event per line */
		size_t		at = first;

		while (at < len && !c.out_of_memory)
		{
			const char *nl = memchr(text + at, '\n', len - at);
			size_t		end = nl ? (size_t) (nl - text) : len;
			size_t		s = at,
						e = end;

			while (s < e && (text[s] == ' ' || text[s] == '\t' || text[s] == '\r'))
				s++;
			while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r'))
				e--;
			if (e > s)
				SpanAdd(&c, s, e - s);
			at = end + 1;
		}
	}
	if (c.out_of_memory)
	{
		free(c.spans);
		return Fail(error, "out of memory");
	}
	SpanLines(text, c.spans, c.count);
	*spans = c.spans;
	*nspans = c.count;
	return true;
}
