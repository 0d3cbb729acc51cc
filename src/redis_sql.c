/*
 * redis_sql.c - ipflow.redis_series() and ipflow.dump(): the mirror from SQL
 *
 * dump() is the original ProcessorDag's step "copy Redis into Postgres, then
 * clean Redis", made safe: the samples are upserted into ipflow.history in
 * the caller's transaction, and only once that transaction has committed are
 * exactly those samples deleted from Redis.  A failure in between leaves
 * them in Redis; the next dump upserts them again (no duplicate) and deletes
 * them then.
 */
#include "postgres.h"

#include <math.h>
#include <sys/socket.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "event.h"
#include "guc.h"
#include "ip.h"
#include "ipflow.h"
#include "redis.h"

#define DUMP_UPSERT_CHUNK 50000

/*
 * Deletes the moved range only if it still holds exactly what was moved;
 * returns how many samples it deleted, or -1.  A series gone meanwhile has
 * nothing left to delete.  TS.DEL is repeated from the first sample left:
 * RedisTimeSeries 1.6.0 deletes only within the first chunk of a range that
 * starts inside a chunk (dump's ranges start at a series' first sample,
 * which it handles, but nothing else here relies on that).  Times go back
 * to Redis as text without exponent (Lua's tostring would give 1.6e+12).
 */
#define DUMP_DELETE_TS_SCRIPT \
"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end " \
"local n = #redis.call('TS.RANGE', KEYS[1], ARGV[1], ARGV[2]) " \
"if n ~= tonumber(ARGV[3]) then return -1 end " \
"local deleted = 0 " \
"while deleted < n do " \
"  local first = redis.call('TS.RANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', 1) " \
"  if #first == 0 then break end " \
"  local d = redis.call('TS.DEL', KEYS[1], string.format('%.0f', first[1][1]), ARGV[2]) " \
"  if d == 0 then return redis.error_reply('TS.DEL deleted nothing of ' .. KEYS[1]) end " \
"  deleted = deleted + d " \
"end " \
"return deleted"

/* Samples of one series moved to ipflow.history, to delete after commit. */
typedef struct DumpedRange
{
	struct DumpedRange *next;
	SubTransactionId subxact;	/* where it was moved: an abort undoes it */
	char		key[REDIS_KEY_MAX];
	int64		from_ms;
	int64		to_ms;
	int			count;
	char	  **members;		/* sorted_set: the exact members */
} DumpedRange;

/* The deletions waiting for the commit, in TopMemoryContext. */
static DumpedRange *pending_deletes = NULL;
static RedisBackend pending_backend;
static bool callback_registered = false;

/* A connection for a SQL function, or an error that says what to do. */
static redisContext *
SqlRedisOpen(RedisBackend *backend)
{
	char	   *error = NULL;
	redisContext *c;

	if (!RedisEnabled())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the Redis mirror is off"),
				 errhint("Set ipflow.redis_url to a Redis server.")));
	c = RedisOpen(IpflowRedisTimeoutMs, &error);
	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s", error),
				 errhint("Start Redis, or check ipflow.redis_url.")));
	if (!RedisResolveBackend(c, backend, &error))
	{
		redisFree(c);
		ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE), errmsg("%s", error)));
	}
	return c;
}

/* Runs a command; errors if Redis does not answer.  The reply may be an error. */
static redisReply *
SqlRedisAnswer(redisContext *c, int argc, const char **argv)
{
	redisReply *reply = redisCommandArgv(c, argc, argv, NULL);

	if (reply == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("Redis failed during %s: %s", argv[0], RedisConnectionError(c))));
	return reply;
}

/* Runs a command; errors if Redis fails or refuses it. */
static redisReply *
SqlRedisCommandArgv(redisContext *c, int argc, const char **argv)
{
	redisReply *reply = SqlRedisAnswer(c, argc, argv);

	if (reply->type == REDIS_REPLY_ERROR)
	{
		char	   *message = pstrdup(reply->str);

		freeReplyObject(reply);
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("Redis refused %s: %s", argv[0], message)));
	}
	return reply;
}

/*
 * A time bound as the backend's range commands take it.  NULL for an upper
 * bound that nothing can be at or before: RedisTimeSeries refuses negative
 * times in TS.RANGE and holds no samples before 1970.
 */
static char *
RangeBound(RedisBackend backend, TimestampTz t, bool upper)
{
	if (TIMESTAMP_NOT_FINITE(t))
	{
		if (backend == REDIS_BACKEND_TIMESERIES)
			return pstrdup(TIMESTAMP_IS_NOBEGIN(t) ? "-" : "+");
		return pstrdup(TIMESTAMP_IS_NOBEGIN(t) ? "-inf" : "+inf");
	}
	/* Postgres microseconds since 2000 -> ms since 1970, rounded inward */
	{
		int64		us = t + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
		int64		ms = upper ? (us >= 0 ? us / 1000 : -((-us + 999) / 1000))
			: (us >= 0 ? (us + 999) / 1000 : -(-us / 1000));

		if (backend == REDIS_BACKEND_TIMESERIES && ms < 0)
			return upper ? NULL : pstrdup("0");
		return psprintf(INT64_FORMAT, ms);
	}
}

static TimestampTz
MsToTimestamp(int64 ms)
{
	return ms * 1000 - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * The samples of one series in [from, to]: ts in ms and values, from a
 * TS.RANGE or ZRANGEBYSCORE reply.  Returns how many; with members, also
 * the sorted-set members.  A NULL to (RangeBound) is an empty range.
 */
static int
ReadSeries(redisContext *c, RedisBackend backend, const char *key, const char *from,
		   const char *to, int64 **ts_ms, double **values, char ***members)
{
	const char *argv[4];
	redisReply *reply;
	int			n = 0;
	size_t		i;

	if (to == NULL)
		return 0;
	argv[0] = backend == REDIS_BACKEND_TIMESERIES ? "TS.RANGE" : "ZRANGEBYSCORE";
	argv[1] = key;
	argv[2] = from;
	argv[3] = to;
	reply = SqlRedisAnswer(c, 4, argv);
	if (reply->type == REDIS_REPLY_ERROR)
	{
		/* a series that does not exist (yet) is empty */
		bool		missing = strstr(reply->str, "does not exist") != NULL;
		char	   *message = pstrdup(reply->str);

		freeReplyObject(reply);
		if (missing)
			return 0;
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("Redis refused %s %s: %s", argv[0], key, message)));
	}
	*ts_ms = palloc((reply->elements + 1) * sizeof(int64));
	*values = palloc((reply->elements + 1) * sizeof(double));
	if (members)
		*members = palloc((reply->elements + 1) * sizeof(char *));
	for (i = 0; i < reply->elements; i++)
	{
		redisReply *e = reply->element[i];
		const char *ts_text = NULL;
		const char *value_text = NULL;
		char	   *end;

		if (backend == REDIS_BACKEND_TIMESERIES && e->type == REDIS_REPLY_ARRAY && e->elements == 2)
		{
			/* [ts, "value"] */
			(*ts_ms)[n] = e->element[0]->integer;
			value_text = e->element[1]->str;
		}
		else if (backend == REDIS_BACKEND_SORTED_SET && e->type == REDIS_REPLY_STRING)
		{
			char	   *colon = strchr(e->str, ':');

			ts_text = e->str;
			value_text = colon ? colon + 1 : NULL;
			if (colon)
				(*ts_ms)[n] = strtoll(ts_text, NULL, 10);
			if (members)
				(*members)[n] = pstrdup(e->str);
		}
		if (value_text == NULL)
			continue;			/* not one of ours */
		(*values)[n] = strtod(value_text, &end);
		if (end == value_text)
			continue;
		n++;
	}
	freeReplyObject(reply);
	return n;
}

PG_FUNCTION_INFO_V1(ipflow_redis_series);

/* SQL: ipflow.redis_series(src_ip, feature, from, to) -> (ts, value) */
Datum
ipflow_redis_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IpAddr		ip;
	char		ip_text[IP_TEXT_MAX];
	char		key[REDIS_KEY_MAX];
	const char *feature;
	TimestampTz from,
				to;
	RedisBackend backend;
	redisContext *c;
	int64	   *volatile ts_ms = NULL;
	double	   *volatile values = NULL;
	volatile int n = 0;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("src_ip and feature must not be NULL")));
	InetDatumGetIp(PG_GETARG_DATUM(0), &ip);
	IpFormat(&ip, ip_text);
	feature = text_to_cstring(PG_GETARG_TEXT_PP(1));
	(void) IpflowFeatureIndex(feature);
	from = PG_ARGISNULL(2) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(2);
	to = PG_ARGISNULL(3) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(3);
	if (from > to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"from\" is after \"to\"")));

	IpflowMaterializeResult(fcinfo);
	RedisSeriesKey(key, feature, ip_text);
	c = SqlRedisOpen(&backend);
	PG_TRY();
	{
		int64	   *t;
		double	   *v;

		n = ReadSeries(c, backend, key, RangeBound(backend, from, false),
					   RangeBound(backend, to, true), &t, &v, NULL);
		ts_ms = t;
		values = v;
	}
	PG_FINALLY();
	{
		redisFree(c);
	}
	PG_END_TRY();
	for (i = 0; i < n; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		row[0] = TimestampTzGetDatum(MsToTimestamp(ts_ms[i]));
		row[1] = Float8GetDatum(values[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

static void
DumpFreeRange(DumpedRange *r)
{
	int			i;

	if (r->members)
	{
		for (i = 0; i < r->count; i++)
			pfree(r->members[i]);
		pfree(r->members);
	}
	pfree(r);
}

/*
 * Forgets the deletions of a (sub)transaction that did not commit: its
 * upserts into ipflow.history are undone, so Redis must keep the samples.
 * InvalidSubTransactionId forgets them all.
 */
static void
DumpForgetDeletes(SubTransactionId subxact)
{
	DumpedRange **link = &pending_deletes;

	while (*link)
	{
		DumpedRange *r = *link;

		if (subxact == InvalidSubTransactionId || r->subxact == subxact)
		{
			*link = r->next;
			DumpFreeRange(r);
		}
		else
			link = &r->next;
	}
}

/* Moves the deletions of a committed subtransaction to its parent, or forgets them. */
static void
DumpSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	DumpedRange *r;

	if (event == SUBXACT_EVENT_ABORT_SUB)
		DumpForgetDeletes(mySubid);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		for (r = pending_deletes; r; r = r->next)
			if (r->subxact == mySubid)
				r->subxact = parentSubid;
}

/* Deletes the moved samples from Redis; returns how many deletions failed. */
static int
DumpDeleteMoved(char **first_error)
{
	RedisBackend backend;
	redisContext *c = SqlRedisOpen(&backend);
	DumpedRange *r;
	volatile int failed = 0;

	PG_TRY();
	{
		for (r = pending_deletes; r; r = r->next)
		{
			redisReply *reply;

			if (pending_backend == REDIS_BACKEND_TIMESERIES)
				reply = redisCommand(c, "EVAL %s 1 %s " INT64_FORMAT " " INT64_FORMAT " %d",
									 DUMP_DELETE_TS_SCRIPT, r->key, r->from_ms, r->to_ms, r->count);
			else
			{
				const char **argv = palloc((r->count + 2) * sizeof(char *));
				int			i;

				argv[0] = "ZREM";
				argv[1] = r->key;
				for (i = 0; i < r->count; i++)
					argv[i + 2] = r->members[i];
				reply = redisCommandArgv(c, r->count + 2, argv, NULL);
				pfree(argv);
			}
			if (reply == NULL || reply->type == REDIS_REPLY_ERROR ||
				(reply->type == REDIS_REPLY_INTEGER && reply->integer < 0))
			{
				if (failed++ == 0)
					*first_error = pstrdup(reply == NULL ? RedisConnectionError(c) :
										   reply->type == REDIS_REPLY_ERROR ? reply->str :
										   "new samples arrived in the moved range");
			}
			if (reply)
				freeReplyObject(reply);
			if (reply == NULL)
				break;
		}
	}
	PG_FINALLY();
	{
		redisFree(c);
	}
	PG_END_TRY();
	return failed;
}

/*
 * After the commit of a transaction that ran ipflow.dump(): deletes from
 * Redis what it moved.  Nothing here may raise an error (the transaction
 * is already committed): failures become a warning, and the samples stay
 * in Redis for the next dump, which moves them again without duplicates.
 */
static void
DumpXactCallback(XactEvent event, void *arg)
{
	MemoryContext old;

	if (pending_deletes == NULL)
		return;
	if (event == XACT_EVENT_PRE_PREPARE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot PREPARE a transaction that ran ipflow.dump()")));
	if (event != XACT_EVENT_COMMIT)
	{
		if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
			DumpForgetDeletes(InvalidSubTransactionId);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	PG_TRY();
	{
		char	   *error = NULL;
		int			failed = DumpDeleteMoved(&error);

		if (failed > 0)
			ereport(WARNING,
					(errmsg("ipflow.dump: %d moved series could not be deleted from Redis: %s", failed, error),
					 errdetail("They are in ipflow.history and stay in Redis; the next dump moves them again, without duplicates.")));
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(TopMemoryContext);
		e = CopyErrorData();
		FlushErrorState();
		ereport(WARNING,
				(errmsg("ipflow.dump: could not delete the moved samples from Redis: %s", e->message),
				 errdetail("They are in ipflow.history and stay in Redis; the next dump moves them again, without duplicates.")));
		FreeErrorData(e);
	}
	PG_END_TRY();
	DumpForgetDeletes(InvalidSubTransactionId);
	MemoryContextSwitchTo(old);
}

/* Upserts samples of one series into ipflow.history; returns how many. */
static int64
DumpUpsert(Datum ip, const char *feature, const int64 *ts_ms, const double *values, int n)
{
	static SPIPlanPtr plan = NULL;
	int64		stored = 0;
	int			done = 0;

	if (plan == NULL)
	{
		Oid			types[4] = {INETOID, TEXTOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID};

		plan = SPI_prepare("INSERT INTO ipflow.history (src_ip, feature, ds, value)"
						   " SELECT $1, $2, u.ds, u.v FROM unnest($3, $4) AS u(ds, v)"
						   " ON CONFLICT (src_ip, feature, ds) DO UPDATE SET value = EXCLUDED.value",
						   4, types);
		if (plan == NULL)
			elog(ERROR, "could not prepare the upsert into ipflow.history");
		SPI_keepplan(plan);
	}
	while (done < n)
	{
		int			chunk = Min(n - done, DUMP_UPSERT_CHUNK);
		Datum	   *ds = palloc(chunk * sizeof(Datum));
		Datum	   *v = palloc(chunk * sizeof(Datum));
		Datum		args[4];
		int			i;

		for (i = 0; i < chunk; i++)
		{
			ds[i] = TimestampTzGetDatum(MsToTimestamp(ts_ms[done + i]));
			v[i] = Float8GetDatum(values[done + i]);
		}
		args[0] = ip;
		args[1] = CStringGetTextDatum(feature);
		args[2] = PointerGetDatum(DatumArray(ds, NULL, chunk, TIMESTAMPTZOID));
		args[3] = PointerGetDatum(DatumArray(v, NULL, chunk, FLOAT8OID));
		if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not upsert into ipflow.history");
		stored += SPI_processed;
		done += chunk;
	}
	return stored;
}

/* The keys of every series of one feature. */
static redisReply *
SeriesOfFeature(redisContext *c, RedisBackend backend, const char *feature)
{
	const char *argv[2];
	char	   *arg;

	if (backend == REDIS_BACKEND_TIMESERIES)
	{
		arg = psprintf("dataType=%s", feature);
		argv[0] = "TS.QUERYINDEX";
	}
	else
	{
		arg = psprintf("ipflow:series:dataType=%s", feature);
		argv[0] = "SMEMBERS";
	}
	argv[1] = arg;
	return SqlRedisCommandArgv(c, 2, argv);
}

/* Moves one feature's samples up to cutoff from Redis; returns how many. */
static int64
DumpFeature(redisContext *c, RedisBackend backend, const char *feature, const char *cutoff)
{
	redisReply *keys = SeriesOfFeature(c, backend, feature);
	size_t		prefix = strlen(feature) + 1;
	int64		moved = 0;
	size_t		k;

	for (k = 0; k < keys->elements; k++)
	{
		const char *key = keys->element[k]->str;
		IpAddr		ip;
		int64	   *ts_ms;
		double	   *values;
		char	  **members = NULL;
		int			n;
		int			i;
		DumpedRange *r;

		CHECK_FOR_INTERRUPTS();
		if (keys->element[k]->type != REDIS_REPLY_STRING || strlen(key) <= prefix ||
			strlen(key) >= REDIS_KEY_MAX ||
			!IpParse(key + prefix, strlen(key + prefix), &ip))
			continue;			/* not a series of ours */
		n = ReadSeries(c, backend, key, backend == REDIS_BACKEND_TIMESERIES ? "-" : "-inf",
					   cutoff, &ts_ms, &values,
					   backend == REDIS_BACKEND_SORTED_SET ? &members : NULL);
		if (n == 0)
			continue;
		moved += DumpUpsert(IpGetInetDatum(&ip), feature, ts_ms, values, n);

		/* what to delete once this transaction commits */
		r = MemoryContextAllocZero(TopMemoryContext, sizeof(DumpedRange));
		r->subxact = GetCurrentSubTransactionId();
		strlcpy(r->key, key, REDIS_KEY_MAX);
		r->count = n;
		r->from_ms = r->to_ms = ts_ms[0];
		for (i = 1; i < n; i++)
		{
			r->from_ms = Min(r->from_ms, ts_ms[i]);
			r->to_ms = Max(r->to_ms, ts_ms[i]);
		}
		if (members)
		{
			r->members = MemoryContextAlloc(TopMemoryContext, n * sizeof(char *));
			for (i = 0; i < n; i++)
				r->members[i] = MemoryContextStrdup(TopMemoryContext, members[i]);
		}
		r->next = pending_deletes;
		pending_deletes = r;
	}
	freeReplyObject(keys);
	return moved;
}

/* Without a mirror: history straight from ipflow.events. */
static int64
DumpFromEvents(const char *feature, TimestampTz cutoff)
{
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		args[2];
	char	   *sql;

	sql = psprintf("INSERT INTO ipflow.history (src_ip, feature, ds, value)"
				   " SELECT e.src_ip, $1, e.ts, e.%s FROM ipflow.events e"
				   " WHERE e.%s IS NOT NULL AND e.ts < $2"
				   " ORDER BY e.src_ip, e.ts"	/* a series' rows together: training reads them */
				   " ON CONFLICT (src_ip, feature, ds) DO NOTHING",
				   quote_identifier(feature), quote_identifier(feature));
	args[0] = CStringGetTextDatum(feature);
	args[1] = TimestampTzGetDatum(cutoff);
	if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not fill ipflow.history from ipflow.events");
	return (int64) SPI_processed;
}

/* Moves the samples up to cutoff of one feature (or all) out of Redis. */
static int64
DumpFromRedis(const char *only, TimestampTz cutoff)
{
	RedisBackend backend;
	redisContext *c = SqlRedisOpen(&backend);
	volatile int64 moved = 0;

	if (!callback_registered)
	{
		RegisterXactCallback(DumpXactCallback, NULL);
		RegisterSubXactCallback(DumpSubXactCallback, NULL);
		callback_registered = true;
	}
	if (pending_deletes && pending_backend != backend)
	{
		redisFree(c);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ipflow.redis_backend changed within a transaction that already ran ipflow.dump()")));
	}
	pending_backend = backend;
	PG_TRY();
	{
		char	   *bound = RangeBound(backend, cutoff, true);
		int			f;

		for (f = 0; f < EVENT_NFEATURES; f++)
			if (only == NULL || strcmp(only, EventFeatureNames[f]) == 0)
				moved += DumpFeature(c, backend, EventFeatureNames[f], bound);
	}
	PG_FINALLY();
	{
		redisFree(c);
	}
	PG_END_TRY();
	return moved;
}

PG_FUNCTION_INFO_V1(ipflow_dump);

/* SQL: ipflow.dump(feature text DEFAULT NULL) -> samples moved */
Datum
ipflow_dump(PG_FUNCTION_ARGS)
{
	const char *only = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz cutoff = GetCurrentTransactionStartTimestamp() - (int64) IpflowDumpLagS * USECS_PER_SEC;
	int64		moved = 0;
	int			f;

	if (only)
		(void) IpflowFeatureIndex(only);
	if (IsInParallelMode())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("ipflow.dump() cannot run in a parallel worker")));

	SPI_connect();
	if (!RedisEnabled())
	{
		for (f = 0; f < EVENT_NFEATURES; f++)
			if (only == NULL || strcmp(only, EventFeatureNames[f]) == 0)
				moved += DumpFromEvents(EventFeatureNames[f], cutoff);
	}
	else
		moved = DumpFromRedis(only, cutoff);
	SPI_finish();
	PG_RETURN_INT64(moved);
}
