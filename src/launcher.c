/*
 * launcher.c - the static background worker that runs ipflow's other workers
 *
 * Registered at server start when ipflow is preloaded.  It runs the
 * embedded broker when ipflow.kafka_brokers = 'embedded', waits for
 * ipflow.database to exist (saying so once), and keeps
 * ipflow.ingest_workers dynamic ingest workers running in it: a worker that
 * exits is started again, with a growing delay if it keeps failing.  On
 * SIGHUP it adds or stops workers to match the setting.  It also starts the
 * sender worker when ipflow.start_sender or stop_sender asked for it, and
 * once at server start: the sender reads its stream from
 * ipflow.sender_state, which the launcher (connected to no database)
 * cannot, and exits when there is nothing to send.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "broker.h"
#include "guc.h"
#include "ingest.h"
#include "launcher.h"
#include "sender.h"
#include "shmem.h"

#define LAUNCHER_NAP_MS 1000
#define RESTART_DELAY_MIN_MS 1000
#define RESTART_DELAY_MAX_MS 30000

typedef struct WorkerHandle
{
	BackgroundWorkerHandle *handle;
	TimestampTz started_at;
	TimestampTz restart_after;
	int			delay_ms;
	bool		said_no_slot;	/* logged that no worker slot was free */
} WorkerHandle;

static WorkerHandle workers[IPFLOW_MAX_INGEST_WORKERS];
static WorkerHandle sender;
static uint64 sender_started_for;	/* the requests count it was started for */

/* Called from _PG_init while preloading. */
void
LauncherRegister(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "ipflow", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "IpflowLauncherMain", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "ipflow launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "ipflow launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * The OID of ipflow.database, or InvalidOid while it does not exist.  A
 * plain heap scan of pg_database, as the autovacuum launcher does: without a
 * database connection the catalog's indexes cannot be opened.
 */
static Oid
LauncherFindDatabase(void)
{
	Oid			dboid = InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		if (strcmp(NameStr(db->datname), IpflowDatabase) == 0)
		{
			dboid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return dboid;
}

static bool
LauncherStartWorker(int index, Oid dboid)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	strlcpy(worker.bgw_library_name, "ipflow", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "IpflowIngestMain", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "ipflow ingest %d", index);
	strlcpy(worker.bgw_type, "ipflow ingest", BGW_MAXLEN);
	worker.bgw_main_arg = Int32GetDatum(index);
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &workers[index].handle))
	{
		/* said once; the launcher keeps trying quietly until a slot frees up */
		if (!workers[index].said_no_slot)
			ereport(LOG,
					(errmsg("ipflow: could not start ingest worker %d: no background worker slot is free", index),
					 errhint("Raise max_worker_processes (ipflow needs ipflow.ingest_workers + 1).")));
		workers[index].said_no_slot = true;
		return false;
	}
	workers[index].said_no_slot = false;
	workers[index].started_at = GetCurrentTimestamp();
	return true;
}

/* Starts missing workers, restarts dead ones after their delay, stops extras. */
static long
LauncherManageWorkers(Oid dboid)
{
	TimestampTz now = GetCurrentTimestamp();
	long		nap = LAUNCHER_NAP_MS;
	int			i;

	for (i = 0; i < IPFLOW_MAX_INGEST_WORKERS; i++)
	{
		WorkerHandle *w = &workers[i];
		pid_t		pid;

		if (w->handle && GetBackgroundWorkerPid(w->handle, &pid) == BGWH_STOPPED)
		{
			/* it ran less than a minute: back off before the next try */
			if (TimestampDifferenceExceeds(w->started_at, now, 60000))
				w->delay_ms = RESTART_DELAY_MIN_MS;
			else
				w->delay_ms = Min(Max(w->delay_ms * 2, RESTART_DELAY_MIN_MS), RESTART_DELAY_MAX_MS);
			w->restart_after = TimestampTzPlusMilliseconds(now, w->delay_ms);
			pfree(w->handle);
			w->handle = NULL;
			if (i < IpflowIngestWorkers)
				ereport(LOG,
						(errmsg("ipflow: ingest worker %d exited; starting it again in %d ms",
								i, w->delay_ms)));
		}

		if (i >= IpflowIngestWorkers)
		{
			if (w->handle)
			{
				TerminateBackgroundWorker(w->handle);
				pfree(w->handle);
				w->handle = NULL;
			}
			continue;
		}
		if (w->handle == NULL)
		{
			if (w->restart_after > now)
				nap = Min(nap, (long) ((w->restart_after - now) / 1000) + 1);
			else
				LauncherStartWorker(i, dboid);
		}
	}
	return nap;
}

/*
 * Starts the sender worker when it was asked for (requests moved past what
 * it last checked), again after a delay when it exited without checking
 * (it failed), at once when asked anew.
 */
static long
LauncherManageSender(Oid dboid, long nap)
{
	TimestampTz now = GetCurrentTimestamp();
	BackgroundWorker worker;
	uint64		requests;
	uint64		checked;
	pid_t		pid;

	if (sender.handle && GetBackgroundWorkerPid(sender.handle, &pid) == BGWH_STOPPED)
	{
		if (TimestampDifferenceExceeds(sender.started_at, now, 60000))
			sender.delay_ms = RESTART_DELAY_MIN_MS;
		else
			sender.delay_ms = Min(Max(sender.delay_ms * 2, RESTART_DELAY_MIN_MS), RESTART_DELAY_MAX_MS);
		sender.restart_after = TimestampTzPlusMilliseconds(now, sender.delay_ms);
		pfree(sender.handle);
		sender.handle = NULL;
	}
	SpinLockAcquire(&IpflowShared->mutex);
	requests = IpflowShared->sender.requests;
	checked = IpflowShared->sender.checked;
	SpinLockRelease(&IpflowShared->mutex);
	if (sender.handle != NULL || requests == checked)
		return nap;
	if (requests == sender_started_for && sender.restart_after > now)
		return Min(nap, (long) ((sender.restart_after - now) / 1000) + 1);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	strlcpy(worker.bgw_library_name, "ipflow", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "IpflowSenderMain", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "ipflow sender", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "ipflow sender", BGW_MAXLEN);
	memcpy(worker.bgw_extra, &dboid, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &sender.handle))
	{
		if (!sender.said_no_slot)
			ereport(LOG,
					(errmsg("ipflow: could not start the sender worker: no background worker slot is free"),
					 errhint("Raise max_worker_processes.")));
		sender.said_no_slot = true;
		sender.handle = NULL;
		return Min(nap, RESTART_DELAY_MIN_MS);
	}
	sender.said_no_slot = false;
	sender.started_at = now;
	sender_started_for = requests;
	return nap;
}

static void
LauncherShutdown(int code, Datum arg)
{
	BrokerStop();
	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->launcher_pid = 0;
	IpflowShared->launcher_latch = NULL;
	strlcpy(IpflowShared->launcher_state, "stopped", IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
}

/* The embedded broker runs exactly when the setting asks for it. */
static void
LauncherSyncBroker(void)
{
	bool		want = strcmp(IpflowKafkaBrokers, "embedded") == 0;

	if (want && !BrokerRunning())
		BrokerStart();
	else if (!want && BrokerRunning())
		BrokerStop();
}

void
IpflowLauncherMain(Datum arg)
{
	Oid			dboid = InvalidOid;
	bool		said_waiting = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* no database: the launcher only reads the shared catalog pg_database */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("ipflow launcher");

	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->launcher_pid = MyProcPid;
	IpflowShared->launcher_latch = MyLatch;
	SpinLockRelease(&IpflowShared->mutex);
	before_shmem_exit(LauncherShutdown, 0);

	LauncherSyncBroker();

	for (;;)
	{
		long		nap = LAUNCHER_NAP_MS * 5;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			LauncherSyncBroker();
		}
		BrokerServeTopicRequests();

		/* looked up every time: the database may be dropped and created again */
		dboid = LauncherFindDatabase();
		if (!OidIsValid(dboid))
		{
			if (!said_waiting)
				ereport(LOG,
						(errmsg("ipflow: waiting for database \"%s\" (ipflow.database) to be created",
								IpflowDatabase)));
			said_waiting = true;
			IpflowSetLauncherState("waiting for database");
		}
		else
		{
			said_waiting = false;
			IpflowSetLauncherState("running");
			nap = LauncherManageWorkers(dboid);
			nap = LauncherManageSender(dboid, nap);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
