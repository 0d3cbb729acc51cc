/*
 * train_worker.c - a background worker of ipflow.train()
 *
 * Connects to the caller's database as the caller's login and acts as the
 * caller's current role (as a parallel query worker does), so it can
 * neither read nor write more than the caller.  Claims series one at a
 * time and commits each on its own; commits are asynchronous and flushed
 * once at the end, so thousands of small commits cost no disk flush each.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "event.h"
#include "forecast_sql.h"
#include "train.h"

PGDLLEXPORT void ipflow_train_worker_main(Datum main_arg);

/* Fits one series in a transaction of its own; an error fails only it. */
static void
TrainClaimed(TrainShared *shared, TrainItem *item, const ForecastParams *params,
			 Jsonb *params_jsonb, MemoryContext series_context)
{
	Datum		ip = PointerGetDatum(&item->src_ip);
	char		message[TRAIN_MESSAGE_MAX] = "";
	TrainOutcome outcome;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, psprintf("fitting %s of %s",
												   EventFeatureNames[item->feature],
												   DatumGetCString(DirectFunctionCall1(inet_out, ip))));
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		MemoryContextSwitchTo(series_context);
		outcome = TrainOneSeries(ip, item->feature, shared->horizon, params, params_jsonb,
								 shared->trained_at, message, sizeof(message));
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(series_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		strlcpy(message, edata->message, sizeof(message));
		outcome = TRAIN_FAILED;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	TrainRecordOutcome(shared, outcome, ip, item->feature, message);
	pg_atomic_write_u32(&item->state, TRAIN_DONE);
	MemoryContextReset(series_context);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
ipflow_train_worker_main(Datum main_arg)
{
	dsm_segment *segment;
	TrainShared *shared;
	ForecastParams params;
	ForecastError error;
	MemoryContext series_context;
	MemoryContext old;
	Jsonb	   *params_jsonb;
	const char *text;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	segment = dsm_attach(DatumGetUInt32(main_arg));
	if (segment == NULL)
		return;					/* the caller is already gone */
	shared = dsm_segment_address(segment);

	BackgroundWorkerInitializeConnectionByOid(shared->database, shared->authenticated_user, 0);
	SetUserIdAndSecContext(shared->current_user, shared->sec_context);
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_OVERRIDE);

	/* the caller checked the settings already */
	text = TrainSharedParams(shared);
	if (!ForecastParamsFromJson(text, strlen(text), &params, &error))
		elog(ERROR, "training settings unreadable: %s", error.message);
	/* stored with every model: read once */
	old = MemoryContextSwitchTo(TopMemoryContext);
	params_jsonb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	MemoryContextSwitchTo(old);

	series_context = AllocSetContextCreate(TopMemoryContext, "ipflow train series",
										   ALLOCSET_DEFAULT_SIZES);
	while (!shared->abandoned)
	{
		uint32		claimed;

		CHECK_FOR_INTERRUPTS();
		claimed = pg_atomic_fetch_add_u32(&shared->next, 1);
		if (claimed >= (uint32) shared->nitems)
			break;
		pg_atomic_write_u32(&shared->items[claimed].state, TRAIN_CLAIMED);
		TrainClaimed(shared, &shared->items[claimed], &params, params_jsonb, series_context);
	}

	/* every series this worker committed is durable when train() returns */
	XLogFlush(XactLastCommitEnd);
	dsm_detach(segment);
}
