/*
 * sender_sql.c - ipflow.start_sender(), stop_sender() and the status of the
 * sender worker
 *
 * The stream lives in ipflow.sender_state: these functions change that row
 * in the caller's transaction and, once it ends, nudge the launcher (which
 * starts the worker if it is not running) and the worker (which reads the
 * row again after the batch in hand).  Nothing here waits for the worker,
 * so no lock is held against its cursor updates.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "event_source.h"
#include "generator_sql.h"
#include "guc.h"
#include "ipflow.h"
#include "sender.h"
#include "shmem.h"

static bool nudge_pending = false;
static bool callback_registered = false;

/* At the end of the transaction, wakes the launcher and the sender. */
static void
SenderXactCallback(XactEvent event, void *arg)
{
	struct Latch *launcher;
	struct Latch *sender;

	if (!nudge_pending)
		return;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT && event != XACT_EVENT_PREPARE &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	nudge_pending = false;
	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->sender.requests++;
	launcher = IpflowShared->launcher_latch;
	sender = IpflowShared->sender.latch;
	SpinLockRelease(&IpflowShared->mutex);
	if (launcher)
		SetLatch(launcher);
	if (sender)
		SetLatch(sender);
}

/* Asks for a nudge when this transaction ends (commit or not). */
static void
SenderNudgeAtEnd(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(SenderXactCallback, NULL);
		callback_registered = true;
	}
	nudge_pending = true;
}

/* Emits the (stream, resumed, sent) row. */
static void
EmitStream(FunctionCallInfo fcinfo, int64 stream, bool resumed, int64 sent)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = Int64GetDatum(stream);
	values[1] = BoolGetDatum(resumed);
	values[2] = Int64GetDatum(sent);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Hours from start to the generator's last hour (9999-12-31 23:00 UTC). */
static int
HoursLeft(TimestampTz start)
{
	int64		end_hour = (int64) (date2j(10000, 1, 1) - UNIX_EPOCH_JDATE) * 24;
	int64		us = TimestampToUnixUs(start);
	int64		start_hour = us >= 0 ? us / USECS_PER_HOUR : -((-us + USECS_PER_HOUR - 1) / USECS_PER_HOUR);

	return (int) Min((int64) GENERATOR_MAX_HOURS, Max(end_hour - start_hour, (int64) 0));
}

PG_FUNCTION_INFO_V1(ipflow_start_sender);

/*
 * SQL: starts a stream of n_ips generated IPs from start (for hours hours,
 * default: as long as the generator goes) at a pace: events_per_second, or
 * one simulated hour every seconds_per_hour seconds (default 20, as the
 * original sent a file every 20 s).  The profiles are frozen into the
 * stream.  Called again with the same stream it resumes at the cursor
 * (with the new pace); a different stream replaces it.
 */
Datum
ipflow_start_sender(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"n_ips", "start", "seed", "options"};
	Oid			types[10] = {TEXTOID, INT4OID, TIMESTAMPTZOID, INT4OID, INT8OID, JSONBOID, TEXTOID,
	FLOAT8OID, FLOAT8OID};
	Datum		values[10];
	char		nulls[10];
	GenSetup   *setup;
	char	   *topic;
	char	   *frozen;
	int			n_ips;
	TimestampTz start;
	int			hours;
	int64		seed;
	double		eps = 0;
	double		sph = 0;
	bool		by_events;
	int64		stream;
	int64		sent = 0;
	bool		resumed = false;
	bool		same = false;
	int			i;

	IpflowRequirePreload("ipflow.start_sender()");
	for (i = 0; i < (int) lengthof(args); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", args[i])));
	if (!PG_ARGISNULL(5) && !PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("give events_per_second or seconds_per_hour, not both")));
	by_events = !PG_ARGISNULL(5);
	if (by_events)
	{
		eps = PG_GETARG_FLOAT8(5);
		if (!(eps > 0 && eps <= SENDER_MAX_EVENTS_PER_SECOND))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("events_per_second must be above 0 and at most %.0f, not %g",
							SENDER_MAX_EVENTS_PER_SECOND, eps)));
	}
	else
	{
		sph = PG_ARGISNULL(6) ? SENDER_DEFAULT_SECONDS_PER_HOUR : PG_GETARG_FLOAT8(6);
		if (!(sph >= 0 && sph <= SENDER_MAX_SECONDS_PER_HOUR))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("seconds_per_hour must be between 0 and %.0f, not %g",
							SENDER_MAX_SECONDS_PER_HOUR, sph),
					 errhint("0 sends as fast as Kafka takes the events.")));
	}
	n_ips = PG_GETARG_INT32(0);
	start = PG_GETARG_TIMESTAMPTZ(1);
	seed = PG_GETARG_INT64(2);
	if (TIMESTAMP_NOT_FINITE(start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start must be a finite time")));
	hours = PG_ARGISNULL(4) ? HoursLeft(start) : PG_GETARG_INT32(4);
	topic = PG_ARGISNULL(7) ? pstrdup(IpflowLogTopic) : text_to_cstring(PG_GETARG_TEXT_PP(7));

	IpflowMaterializeResult(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* every argument checked now, as the worker will use it */
	setup = GenSetupFromOptions(PG_GETARG_JSONB_P(3), "ipflow.start_sender", CurrentMemoryContext);
	GenSetupStart(setup, n_ips, start, hours, seed);
	frozen = GenSetupFreeze(setup);
	values[0] = CStringGetTextDatum(topic);
	if (SPI_execute_with_args("SELECT 1 FROM ipflow.topics WHERE name = $1", 1, types, values, NULL, true, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.topics");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the number of partitions of topic \"%s\" is not known", topic),
				 errhint("Load the topics with ipflow.load_config(), or add the topic to ipflow.topics.")));

	values[1] = Int32GetDatum(n_ips);
	values[2] = TimestampTzGetDatum(start);
	values[3] = Int32GetDatum(hours);
	values[4] = Int64GetDatum(seed);
	values[5] = JsonbPGetDatum(PG_GETARG_JSONB_P(3));
	values[6] = CStringGetTextDatum(frozen);
	values[7] = Float8GetDatum(eps);
	values[8] = Float8GetDatum(sph);
	memset(nulls, ' ', sizeof(nulls));
	nulls[by_events ? 8 : 7] = 'n';

	/* the same stream resumes where it is; another one replaces it */
	if (SPI_execute_with_args("SELECT stream, sent, finished_at IS NOT NULL, "
							  "topic = $1 AND n_ips = $2 AND start = $3 AND hours = $4 AND seed = $5 "
							  "AND options = $6 AND profiles = $7::jsonb "
							  "FROM ipflow.sender_state FOR UPDATE", 7, types, values, nulls, false, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.sender_state");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);

		same = !isnull && DatumGetBool(d);
	}
	if (same)
	{
		bool		isnull;
		bool		finished = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

		stream = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		sent = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		resumed = true;
		if (finished)
			ereport(NOTICE,
					(errmsg("stream " INT64_FORMAT " was sent completely already (" INT64_FORMAT " events)",
							stream, sent),
					 errhint("Start another stream, with another seed or start.")));
		if (SPI_execute_with_args("UPDATE ipflow.sender_state SET enabled = finished_at IS NULL, "
								  "events_per_second = $8, seconds_per_hour = $9, updated_at = now()",
								  9, types, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update ipflow.sender_state");
	}
	else
	{
		if (SPI_processed == 1)
		{
			bool		isnull;
			bool		finished = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
			int64		old_sent = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

			if (!finished && old_sent > 0)
				ereport(NOTICE,
						(errmsg("replacing stream " INT64_FORMAT ", which had sent " INT64_FORMAT " events",
								DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
								old_sent)));
		}
		resumed = false;
		if (SPI_execute_with_args("INSERT INTO ipflow.sender_state AS s (stream, enabled, topic, n_ips, start, "
								  "hours, seed, options, profiles, events_per_second, seconds_per_hour) "
								  "VALUES (1, true, $1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) "
								  "ON CONFLICT (singleton) DO UPDATE SET stream = s.stream + 1, enabled = true, "
								  "topic = $1, n_ips = $2, start = $3, hours = $4, seed = $5, options = $6, "
								  "profiles = $7::jsonb, events_per_second = $8, seconds_per_hour = $9, sent = 0, "
								  "cursor_ts = NULL, started_at = now(), updated_at = now(), finished_at = NULL "
								  "RETURNING stream", 9, types, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not write ipflow.sender_state");
		{
			bool		isnull;

			stream = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
	}
	SPI_finish();
	SenderNudgeAtEnd();
	EmitStream(fcinfo, stream, resumed, sent);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ipflow_resume_sender);

/* SQL: resumes the stream of ipflow.sender_state at its cursor. */
Datum
ipflow_resume_sender(PG_FUNCTION_ARGS)
{
	int64		stream;
	int64		sent;
	bool		finished;
	bool		isnull;

	IpflowRequirePreload("ipflow.start_sender()");
	IpflowMaterializeResult(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("UPDATE ipflow.sender_state SET enabled = finished_at IS NULL, updated_at = now() "
					"RETURNING stream, sent, finished_at IS NOT NULL", false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update ipflow.sender_state");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no sender stream to resume"),
				 errhint("Start one with ipflow.start_sender(n_ips, start, seed, ...).")));
	stream = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	sent = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	finished = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	SPI_finish();
	if (finished)
		ereport(NOTICE,
				(errmsg("stream " INT64_FORMAT " was sent completely already (" INT64_FORMAT " events)",
						stream, sent)));
	SenderNudgeAtEnd();
	EmitStream(fcinfo, stream, true, sent);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ipflow_stop_sender);

/*
 * SQL: stops the stream.  Once this commits, the worker finishes the batch
 * in hand (delivered, cursor committed) and exits; ipflow.sender shows
 * 'stopped' then.  Returns whether the stream was running.
 */
Datum
ipflow_stop_sender(PG_FUNCTION_ARGS)
{
	bool		was_enabled;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("UPDATE ipflow.sender_state SET enabled = false, updated_at = now() WHERE enabled",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update ipflow.sender_state");
	was_enabled = SPI_processed > 0;
	SPI_finish();
	if (IpflowPreloaded)
		SenderNudgeAtEnd();
	PG_RETURN_BOOL(was_enabled);
}

PG_FUNCTION_INFO_V1(ipflow_sender_status);

/* SQL: the sender worker as shared memory shows it (NULLs when not preloaded). */
Datum
ipflow_sender_status(PG_FUNCTION_ARGS)
{
	SenderStatus copy;
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, true, sizeof(nulls));
	if (IpflowPreloaded)
	{
		SpinLockAcquire(&IpflowShared->mutex);
		copy = IpflowShared->sender;
		SpinLockRelease(&IpflowShared->mutex);
		nulls[0] = copy.pid == 0;
		values[0] = Int32GetDatum(copy.pid);
		nulls[1] = false;
		values[1] = CStringGetTextDatum(copy.pid != 0 && copy.state[0] ? copy.state : "stopped");
		nulls[2] = copy.pid == 0 || copy.stream == 0;
		values[2] = Int64GetDatum(copy.stream);
		nulls[3] = copy.pid == 0;
		values[3] = Float8GetDatum(copy.rate);
		nulls[4] = copy.last_error[0] == '\0';
		values[4] = CStringGetTextDatum(copy.last_error);
		nulls[5] = copy.last_error_at == 0;
		values[5] = TimestampTzGetDatum(copy.last_error_at);
		nulls[6] = copy.pid == 0;
		values[6] = TimestampTzGetDatum(copy.started_at);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
