/*
 * sender.c - the sender worker: a generated stream to Kafka at a pace
 *
 * The original SenderDAG sent one file of events every 20 seconds and kept
 * its place in config.json.  This worker streams the generator's events
 * (the stream ipflow.start_sender describes in ipflow.sender_state) to the
 * log topic, at so many events per second or one simulated hour every so
 * many seconds, in batches: a batch is produced, Kafka's acknowledgement of
 * every event in it awaited, and only then is the cursor (events delivered,
 * in generation order) committed together with the batch's ground truth.
 * The generator is deterministic, so after a stop or a server restart the
 * worker generates the stream again, skips the events the cursor counts and
 * goes on: no gap, no duplicate.  (A crash between an acknowledgement and
 * the commit sends that one batch again.)
 *
 * The launcher starts the worker at server start and whenever start_sender
 * or stop_sender commits; with no enabled stream the worker notes that and
 * exits.  SIGTERM (server shutdown, stop) lets it finish the batch in hand
 * and commit its cursor first.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_source.h"
#include "generator_sql.h"
#include "kafka.h"
#include "producer.h"
#include "sender.h"
#include "shmem.h"

#define SENDER_RETRY_MIN_MS 1000
#define SENDER_RETRY_MAX_MS 30000
/* On shutdown, the longest wait for Kafka to take the batch in hand. */
#define SENDER_SHUTDOWN_WAIT_MS 10000
/* The measured rate covers about this long. */
#define SENDER_RATE_WINDOW_MS 2000
#define SENDER_COMMIT_TRIES 5

#define US_PER_HOUR INT64CONST(3600000000)

typedef enum SenderOutcome
{
	SENDER_RELOAD,				/* the stream or the settings changed: read them again */
	SENDER_FINISHED,			/* every event was sent */
	SENDER_SHUTDOWN				/* asked to exit */
} SenderOutcome;

/* The row of ipflow.sender_state. */
typedef struct SenderStream
{
	int64		stream;
	bool		enabled;
	bool		finished;
	char	   *topic;
	int			n_ips;
	TimestampTz start;
	int			hours;
	int64		seed;
	char	   *options;		/* the core's options, JSON */
	char	   *profiles;		/* the frozen profiles, JSON */
	double		events_per_second;	/* 0: paced by hours */
	double		seconds_per_hour;
	int64		sent;			/* the cursor */
} SenderStream;

/* How fast the stream goes, measured. */
typedef struct SenderRate
{
	TimestampTz since;
	int64		sent_then;
} SenderRate;

static MemoryContext stream_context = NULL;
static uint64 seen_requests = 0;

/* The state ipflow.sender shows. */
static void
SenderSetState(const char *state)
{
	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(IpflowShared->sender.state, state, IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
}

/* The last error ipflow.sender shows. */
static void
SenderSetError(const char *message)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(IpflowShared->sender.last_error, message, IPFLOW_ERROR_MAX);
	IpflowShared->sender.last_error_at = now;
	SpinLockRelease(&IpflowShared->mutex);
}

/* The stream being sent, and its recent rate. */
static void
SenderSetStream(int64 stream, double rate)
{
	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->sender.stream = stream;
	IpflowShared->sender.rate = rate;
	SpinLockRelease(&IpflowShared->mutex);
}

/* Notes the requests count before reading the stream. */
static void
SenderNoteRequests(void)
{
	SpinLockAcquire(&IpflowShared->mutex);
	seen_requests = IpflowShared->sender.requests;
	SpinLockRelease(&IpflowShared->mutex);
}

/* Whether start_sender or stop_sender committed since the stream was read. */
static bool
SenderRequestsChanged(void)
{
	uint64		requests;

	SpinLockAcquire(&IpflowShared->mutex);
	requests = IpflowShared->sender.requests;
	SpinLockRelease(&IpflowShared->mutex);
	return requests != seen_requests;
}

/* On exit: the sender shows as stopped. */
static void
SenderShutdownHook(int code, Datum arg)
{
	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->sender.pid = 0;
	IpflowShared->sender.latch = NULL;
	IpflowShared->sender.stream = 0;
	IpflowShared->sender.rate = 0;
	strlcpy(IpflowShared->sender.state, "stopped", IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
}

/* A transaction with SPI and a snapshot, as worker_spi does. */
static void
SenderBegin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Commits what SenderBegin started. */
static void
SenderEnd(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(false);
}

/* A column of the row read, copied into context (NULL stays NULL). */
static char *
SenderColumn(int col, MemoryContext context)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);

	return v ? MemoryContextStrdup(context, v) : NULL;
}

/*
 * Reads the stream into s (strings in context); false when there is none
 * (no extension, no table yet, no row).
 */
static bool
SenderReadState(SenderStream *s, MemoryContext context)
{
	bool		found = false;

	SenderBegin("reading ipflow.sender_state");
	if (OidIsValid(get_extension_oid("ipflow", true)))
	{
		if (SPI_execute("SELECT pg_catalog.to_regclass('ipflow.sender_state') IS NOT NULL", true, 1)
			!= SPI_OK_SELECT)
			elog(ERROR, "could not look for ipflow.sender_state");
		if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "t") == 0)
		{
			if (SPI_execute("SELECT stream, enabled, finished_at IS NOT NULL, topic, n_ips, start, hours, seed, "
							"(options - 'profiles')::text, profiles::text, "
							"coalesce(events_per_second, 0), coalesce(seconds_per_hour, 0), sent "
							"FROM ipflow.sender_state", true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read ipflow.sender_state");
			found = SPI_processed == 1;
		}
	}
	if (found)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		s->stream = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		s->enabled = DatumGetBool(SPI_getbinval(t, d, 2, &isnull));
		s->finished = DatumGetBool(SPI_getbinval(t, d, 3, &isnull));
		s->topic = SenderColumn(4, context);
		s->n_ips = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
		s->start = DatumGetTimestampTz(SPI_getbinval(t, d, 6, &isnull));
		s->hours = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
		s->seed = DatumGetInt64(SPI_getbinval(t, d, 8, &isnull));
		s->options = SenderColumn(9, context);
		s->profiles = SenderColumn(10, context);
		s->events_per_second = DatumGetFloat8(SPI_getbinval(t, d, 11, &isnull));
		s->seconds_per_hour = DatumGetFloat8(SPI_getbinval(t, d, 12, &isnull));
		s->sent = DatumGetInt64(SPI_getbinval(t, d, 13, &isnull));
	}
	SenderEnd();
	return found;
}

/* The hour of a time, counted from 1970. */
static int64
HourIndex(int64 ts_us)
{
	return ts_us >= 0 ? ts_us / US_PER_HOUR : -((-ts_us + US_PER_HOUR - 1) / US_PER_HOUR);
}

/*
 * Commits the cursor after a delivered batch, with the batch's ground truth.
 * The events are in Kafka already, so a failing commit is tried again
 * before giving up (which would send the batch again).  Returns false when
 * the stream was replaced meanwhile.
 */
static bool
SenderCommit(SenderStream *s, int64 sent, int64 last_ts_us, AnomalyRecorder *recorder)
{
	MemoryContext context = CurrentMemoryContext;
	volatile bool updated = false;
	int			attempt;

	for (attempt = 1;; attempt++)
	{
		PG_TRY();
		{
			Oid			types[3] = {INT8OID, TIMESTAMPTZOID, INT8OID};
			Datum		values[3];
			char		nulls[3] = {' ', last_ts_us == PG_INT64_MIN ? 'n' : ' ', ' '};

			values[0] = Int64GetDatum(sent);
			values[1] = TimestampTzGetDatum(last_ts_us == PG_INT64_MIN ? 0 : UnixUsToTimestamp(last_ts_us));
			values[2] = Int64GetDatum(s->stream);
			SenderBegin("saving the sender's cursor");
			if (SPI_execute_with_args("UPDATE ipflow.sender_state SET sent = $1, "
									  "cursor_ts = coalesce($2, cursor_ts), updated_at = now() "
									  "WHERE stream = $3", 3, types, values, nulls, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update ipflow.sender_state");
			updated = SPI_processed == 1;
			if (updated)
				AnomalyRecorderFlush(recorder);
			SenderEnd();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(context);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
			if (attempt >= SENDER_COMMIT_TRIES)
				ReThrowError(edata);
			SenderSetError(edata->message);
			ereport(LOG,
					(errmsg("ipflow: sender could not save its cursor (attempt %d): %s", attempt, edata->message)));
			FreeErrorData(edata);
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 SENDER_RETRY_MIN_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		PG_END_TRY();
		break;
	}
	AnomalyRecorderDiscard(recorder);
	return updated;
}

/* Marks the stream finished: every event was delivered. */
static void
SenderFinish(SenderStream *s)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(s->stream)};

	SenderBegin("finishing the sender's stream");
	if (SPI_execute_with_args("UPDATE ipflow.sender_state SET enabled = false, finished_at = now(), "
							  "updated_at = now() WHERE stream = $1", 1, types, values, NULL, false, 0)
		!= SPI_OK_UPDATE)
		elog(ERROR, "could not update ipflow.sender_state");
	SenderEnd();
	ereport(LOG,
			(errmsg("ipflow: sender stream " INT64_FORMAT " finished after " INT64_FORMAT " events",
					s->stream, s->sent)));
}

/* Updates the measured rate now and then. */
static void
SenderMeasure(SenderRate *rate, SenderStream *s)
{
	TimestampTz now = GetCurrentTimestamp();
	long		secs;
	int			usecs;
	double		elapsed;

	if (!TimestampDifferenceExceeds(rate->since, now, SENDER_RATE_WINDOW_MS))
		return;
	TimestampDifference(rate->since, now, &secs, &usecs);
	elapsed = secs + usecs / 1e6;
	SenderSetStream(s->stream, elapsed > 0 ? (s->sent - rate->sent_then) / elapsed : 0);
	rate->since = now;
	rate->sent_then = s->sent;
}

/*
 * Handles what may have happened meanwhile: a shutdown, a reload, a new
 * pace or stream.  Returns true (and the outcome) when the stream must end.
 */
static bool
SenderInterrupted(SenderStream *s, EventProducer *p, bool *repaced, SenderOutcome *outcome)
{
	CHECK_FOR_INTERRUPTS();
	if (ShutdownRequestPending)
	{
		*outcome = SENDER_SHUTDOWN;
		return true;
	}
	if (ConfigReloadPending)
	{
		char		bootstrap[IPFLOW_BOOTSTRAP_MAX];

		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		if (!KafkaBootstrapServers(bootstrap, sizeof(bootstrap)) || strcmp(bootstrap, p->bootstrap) != 0)
		{
			*outcome = SENDER_RELOAD;
			return true;
		}
	}
	if (SenderRequestsChanged())
	{
		MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "ipflow sender reread",
													  ALLOCSET_SMALL_SIZES);
		SenderStream now;
		bool		same;

		SenderNoteRequests();
		same = SenderReadState(&now, scratch) && now.enabled && !now.finished && now.stream == s->stream;
		if (same)
		{
			/* the same stream at another pace: go on from here */
			s->events_per_second = now.events_per_second;
			s->seconds_per_hour = now.seconds_per_hour;
			*repaced = true;
		}
		MemoryContextDelete(scratch);
		if (!same)
		{
			*outcome = SENDER_RELOAD;
			return true;
		}
	}
	return false;
}

/* Sleeps on the latch at most ms. */
static void
SenderNap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 Max(ms, 1), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/* Milliseconds from now until a time (0 when it is past). */
static long
MsUntil(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	return t > now ? (long) ((t - now + 999) / 1000) : 0;
}

/*
 * Streams s from its cursor until it ends, changes, or the worker must
 * exit.  Everything it allocates lives in stream_context.
 */
static SenderOutcome
SenderRun(SenderStream *s)
{
	GenSetup   *setup;
	EventProducer *p;
	AnomalyRecorder *recorder;
	GeneratorItem pending;
	bool		have_pending;
	int		   *partition;
	int64		skipped = 0;
	TimestampTz pace_start;
	int64		sent0;
	int64		base_hour;
	SenderRate	rate;
	SenderOutcome outcome;
	bool		repaced = false;
	char		json[GENERATOR_JSON_MAX];
	MemoryContext batch_context;

	SenderSetStream(s->stream, 0);
	SenderSetState("starting");
	SenderBegin("starting the sender's stream");
	setup = GenSetupFromFrozen(s->profiles, s->options, "ipflow sender", stream_context);
	GenSetupStart(setup, s->n_ips, s->start, s->hours, s->seed);
	p = ProducerOpen(s->topic, "ipflow-sender", true, stream_context);
	SenderEnd();
	recorder = AnomalyRecorderNew(setup, s->seed, false, stream_context);
	partition = MemoryContextAlloc(stream_context, s->n_ips * sizeof(int));
	memset(partition, -1, s->n_ips * sizeof(int));
	batch_context = AllocSetContextCreate(stream_context, "ipflow sender batch", ALLOCSET_DEFAULT_SIZES);
	memset(&pending, 0, sizeof(pending));

	/* the events delivered before: generated again and skipped */
	if (s->sent > 0)
	{
		SenderSetState("resuming");
		ereport(LOG,
				(errmsg("ipflow: sender resumes stream " INT64_FORMAT " after " INT64_FORMAT " events",
						s->stream, s->sent)));
	}
	have_pending = GeneratorNext(setup->gen, &pending);
	while (have_pending && skipped < s->sent)
	{
		if (pending.has_event)
			skipped++;
		have_pending = GeneratorNext(setup->gen, &pending);
		if ((skipped & 65535) == 0 && ShutdownRequestPending)
			return SENDER_SHUTDOWN;
	}

	pace_start = GetCurrentTimestamp();
	sent0 = s->sent;
	base_hour = have_pending ? HourIndex(pending.ts_us) : 0;
	rate.since = pace_start;
	rate.sent_then = s->sent;
	for (;;)
	{
		int64		limit = SENDER_BATCH_MAX;
		bool		one_hour = false;
		long		wait_ms = 0;
		int64		n = 0;
		int64		last_ts = PG_INT64_MIN;
		int64		failed_before;
		int64		batch_hour;
		TimestampTz waiting_since;

		/* what a batch allocates goes (transactions end in TopMemoryContext) */
		MemoryContextSwitchTo(batch_context);
		MemoryContextReset(batch_context);
		if (SenderInterrupted(s, p, &repaced, &outcome))
			return outcome;
		if (repaced)
		{
			pace_start = GetCurrentTimestamp();
			sent0 = s->sent;
			base_hour = have_pending ? HourIndex(pending.ts_us) : 0;
			repaced = false;
		}
		if (!have_pending)
		{
			SenderFinish(s);
			return SENDER_FINISHED;
		}

		/* the pace: how many events may go now, or how long to wait */
		if (s->events_per_second > 0)
		{
			double		eps = s->events_per_second;
			double		at_least = Min(Max(eps * 0.1, 1.0), 1000.0);	/* a batch per 100 ms */
			double		elapsed = (GetCurrentTimestamp() - pace_start) / 1e6;
			double		due_at = (s->sent - sent0 + at_least - 1) / eps;

			if (elapsed < due_at)
				wait_ms = (long) ceil((due_at - elapsed) * 1000);
			else
				limit = Min(SENDER_BATCH_MAX, (int64) (eps * elapsed) + 1 - (s->sent - sent0));
			limit = Max(limit, 1);
		}
		else if (s->seconds_per_hour > 0)
		{
			int64		hours_in = HourIndex(pending.ts_us) - base_hour;

			wait_ms = MsUntil(pace_start + (TimestampTz) (hours_in * s->seconds_per_hour * 1e6));
			one_hour = true;
		}
		/* else no pace: as fast as Kafka takes them, in full batches */
		if (wait_ms > 0)
		{
			SenderSetState(s->events_per_second > 0 ? "sending" : "waiting for the next hour");
			SenderMeasure(&rate, s);
			SenderNap(Min(wait_ms, 1000));
			continue;
		}

		/* one batch: produce, await every acknowledgement, commit the cursor */
		SenderSetState("sending");
		batch_hour = HourIndex(pending.ts_us);
		failed_before = p->failed;
		while (have_pending && n < limit && !(one_hour && HourIndex(pending.ts_us) != batch_hour))
		{
			AnomalyRecorderAdd(recorder, &pending);
			if (pending.has_event)
			{
				size_t		len = GeneratorFormatJson(&pending, json);

				if (partition[pending.ip_index] < 0)
					partition[pending.ip_index] = ProducerPartition(p, pending.src_ip_text);
				ProducerSend(p, pending.src_ip_text, partition[pending.ip_index], json, len);
				n++;
				last_ts = pending.ts_us;
			}
			have_pending = GeneratorNext(setup->gen, &pending);
		}
		waiting_since = GetCurrentTimestamp();
		while (!ProducerWait(p, 1000))
		{
			SenderSetState("waiting for Kafka");
			if (ShutdownRequestPending &&
				TimestampDifferenceExceeds(waiting_since, GetCurrentTimestamp(), SENDER_SHUTDOWN_WAIT_MS))
			{
				ereport(LOG,
						(errmsg("ipflow: sender exits with %d events unacknowledged; they are sent again on restart",
								ProducerOutstanding(p))));
				return SENDER_SHUTDOWN;
			}
		}
		if (p->failed > failed_before)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg(INT64_FORMAT " of " INT64_FORMAT " events could not be delivered to topic \"%s\": %s",
							p->failed - failed_before, n, p->topic, p->first_error)));
		if (!SenderCommit(s, s->sent + n, last_ts, recorder))
			return SENDER_RELOAD;
		s->sent += n;
		SenderMeasure(&rate, s);
	}
}

/* The worker: runs the enabled stream, if any, until it ends or must stop. */
void
IpflowSenderMain(Datum arg)
{
	Oid			dboid;
	volatile int delay_ms = 0;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* not die: the batch in hand is delivered and its cursor committed first */
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("ipflow sender");

	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->sender.pid = MyProcPid;
	IpflowShared->sender.latch = MyLatch;
	IpflowShared->sender.started_at = GetCurrentTimestamp();
	IpflowShared->sender.stream = 0;
	IpflowShared->sender.rate = 0;
	strlcpy(IpflowShared->sender.state, "starting", IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
	before_shmem_exit(SenderShutdownHook, 0);
	stream_context = AllocSetContextCreate(TopMemoryContext, "ipflow sender stream", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		SenderStream s;
		SenderOutcome outcome = SENDER_RELOAD;
		ErrorData  *edata = NULL;

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		MemoryContextReset(stream_context);
		SenderNoteRequests();
		if (!SenderReadState(&s, stream_context) || !s.enabled || s.finished)
		{
			/* nothing to send: say so, so that the launcher waits for a request */
			SpinLockAcquire(&IpflowShared->mutex);
			IpflowShared->sender.checked = seen_requests;
			SpinLockRelease(&IpflowShared->mutex);
			break;
		}

		PG_TRY();
		{
			outcome = SenderRun(&s);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			pgstat_report_activity(STATE_IDLE, NULL);
		}
		PG_END_TRY();
		/* closes the producer (undelivered messages dropped) and frees the generator */
		MemoryContextReset(stream_context);
		SenderSetStream(edata != NULL ? s.stream : 0, 0);

		if (edata != NULL)
		{
			delay_ms = Min(Max(delay_ms * 2, SENDER_RETRY_MIN_MS), SENDER_RETRY_MAX_MS);
			ereport(LOG,
					(errmsg("ipflow: sender: %s; trying again in %d ms", edata->message, delay_ms)));
			SenderSetError(edata->message);
			SenderSetState("retrying after an error");
			FreeErrorData(edata);
			SenderNap(delay_ms);
			continue;
		}
		delay_ms = 0;
		if (outcome == SENDER_SHUTDOWN)
			break;
	}
	SenderSetState("stopped");
	proc_exit(0);
}
