/*
 * train_sql.c - ipflow.train(): one model per IP and feature, fitted in
 * parallel background workers
 *
 * The caller lists the series (train.h), starts up to ipflow.train_workers
 * dynamic workers (fewer when max_worker_processes has no room; none runs
 * everything here), waits for them, and fits what they left.  Each worker
 * commits each series on its own, so models stored by workers stay when
 * the calling transaction is rolled back; with ipflow.train_workers = 0
 * everything happens in the caller's transaction.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "event.h"
#include "forecast_sql.h"
#include "guc.h"
#include "ipflow.h"
#include "train.h"

PG_FUNCTION_INFO_V1(ipflow_train);

/* Counts one series' outcome; keeps the first failure's message. */
void
TrainRecordOutcome(TrainShared *shared, int outcome, Datum src_ip, int feature,
				   const char *message)
{
	if (outcome == TRAIN_STORED)
		pg_atomic_fetch_add_u32(&shared->stored, 1);
	else if (outcome == TRAIN_TOO_FEW_POINTS)
		pg_atomic_fetch_add_u32(&shared->skipped, 1);
	else
	{
		pg_atomic_fetch_add_u32(&shared->failed, 1);
		SpinLockAcquire(&shared->mutex);
		if (shared->first_error[0] == '\0')
			snprintf(shared->first_error, TRAIN_MESSAGE_MAX, "src_ip %s, feature %s: %s",
					 DatumGetCString(DirectFunctionCall1(inet_out, src_ip)),
					 EventFeatureNames[feature], message);
		SpinLockRelease(&shared->mutex);
	}
}

/* The series to fit: every IP in ipflow.ips with samples of the feature(s). */
static List *
ListSeries(int only_feature)
{
	List	   *items = NIL;
	uint64		i;
	int			f;

	SPI_connect();
	if (SPI_execute("SELECT src_ip, feature_count FROM ipflow.ips ORDER BY src_ip", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading ipflow.ips failed");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		ip = SPI_getbinval(tuple, SPI_tuptable->tupdesc, 1, &isnull);
		ArrayType  *counts = DatumGetArrayTypeP(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull));
		Datum	   *count_values;
		int			ncounts;

		deconstruct_array(counts, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &count_values, NULL, &ncounts);
		for (f = 0; f < EVENT_NFEATURES && f < ncounts; f++)
		{
			TrainItem  *item;

			if ((only_feature >= 0 && f != only_feature) || DatumGetInt64(count_values[f]) <= 0)
				continue;
			item = SPI_palloc(sizeof(TrainItem));
			memset(item, 0, sizeof(TrainItem));
			memcpy(&item->src_ip, DatumGetPointer(ip), VARSIZE_ANY(DatumGetPointer(ip)));
			item->feature = f;
			items = lappend(items, item);
		}
	}
	SPI_finish();
	return items;
}

/* The caller is gone (error, cancel): workers stop after their series. */
static void
TrainAbandon(dsm_segment *segment, Datum arg)
{
	TrainShared *shared = (TrainShared *) DatumGetPointer(arg);

	shared->abandoned = true;
}

static int
StartWorkers(dsm_segment *segment, int wanted, BackgroundWorkerHandle **handles)
{
	int			started = 0;
	int			i;

	for (i = 0; i < wanted; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "ipflow");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "ipflow_train_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "ipflow train worker %d for PID %d", i + 1, MyProcPid);
		snprintf(worker.bgw_type, BGW_MAXLEN, "ipflow train");
		worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
		worker.bgw_notify_pid = MyProcPid;
		if (!RegisterDynamicBackgroundWorker(&worker, &handles[started]))
			break;				/* no free slot: the rest is done here */
		started++;
	}
	return started;
}

/* Fits in this backend every series no worker finished. */
static void
TrainRemaining(TrainShared *shared, const ForecastParams *params, Jsonb *params_jsonb)
{
	char		message[TRAIN_MESSAGE_MAX];
	MemoryContext series_context = AllocSetContextCreate(CurrentMemoryContext,
														 "ipflow train series",
														 ALLOCSET_DEFAULT_SIZES);
	int			i;

	SPI_connect();
	for (i = 0; i < shared->nitems; i++)
	{
		TrainItem  *item = &shared->items[i];
		Datum		ip = PointerGetDatum(&item->src_ip);
		TrainOutcome outcome;
		MemoryContext saved;

		if (pg_atomic_read_u32(&item->state) == TRAIN_DONE)
			continue;
		CHECK_FOR_INTERRUPTS();
		message[0] = '\0';
		saved = MemoryContextSwitchTo(series_context);
		outcome = TrainOneSeries(ip, item->feature, shared->horizon, params, params_jsonb,
								 shared->trained_at, message, sizeof(message));
		MemoryContextSwitchTo(saved);
		MemoryContextReset(series_context);
		TrainRecordOutcome(shared, outcome, ip, item->feature, message);
		pg_atomic_write_u32(&item->state, TRAIN_DONE);
	}
	SPI_finish();
}

/*
 * SQL: ipflow.train(feature, horizon, params)
 *		-> (models, skipped, failed, workers, seconds)
 */
Datum
ipflow_train(PG_FUNCTION_ARGS)
{
	int			only_feature = -1;
	int			horizon;
	Jsonb	   *params_jsonb;
	ForecastParams params;
	char	   *params_text;
	List	   *series;
	ListCell   *lc;
	Size		size;
	Size		params_offset;
	dsm_segment *segment;
	TrainShared *shared;
	BackgroundWorkerHandle **handles;
	int			wanted;
	int			started;
	int			i;
	instr_time	start,
				duration;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false};

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("horizon and params must not be NULL"),
				 errhint("A NULL feature trains every feature; '{}' takes the default settings.")));
	if (!PG_ARGISNULL(0))
		only_feature = IpflowFeatureIndex(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	horizon = PG_GETARG_INT32(1);
	ForecastCheckHorizon(horizon);
	params_jsonb = PG_GETARG_JSONB_P(2);
	ForecastParamsFromJsonb(params_jsonb, &params);
	params_text = ForecastParamsText(params_jsonb);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	INSTR_TIME_SET_CURRENT(start);
	series = ListSeries(only_feature);

	params_offset = MAXALIGN(offsetof(TrainShared, items) + sizeof(TrainItem) * list_length(series));
	size = params_offset + strlen(params_text) + 1;
	segment = dsm_create(size, 0);
	shared = dsm_segment_address(segment);
	memset(shared, 0, offsetof(TrainShared, items));
	shared->database = MyDatabaseId;
	shared->authenticated_user = GetAuthenticatedUserId();
	GetUserIdAndSecContext(&shared->current_user, &shared->sec_context);
	shared->horizon = horizon;
	shared->trained_at = GetCurrentTimestamp();
	shared->nitems = list_length(series);
	pg_atomic_init_u32(&shared->next, 0);
	pg_atomic_init_u32(&shared->stored, 0);
	pg_atomic_init_u32(&shared->skipped, 0);
	pg_atomic_init_u32(&shared->failed, 0);
	SpinLockInit(&shared->mutex);
	shared->params_offset = params_offset;
	strcpy(TrainSharedParams(shared), params_text);
	i = 0;
	foreach(lc, series)
	{
		memcpy(&shared->items[i], lfirst(lc), sizeof(TrainItem));
		pg_atomic_init_u32(&shared->items[i].state, TRAIN_TODO);
		i++;
	}
	on_dsm_detach(segment, TrainAbandon, PointerGetDatum(shared));

	wanted = Min(IpflowTrainWorkers, shared->nitems);
	handles = palloc0(sizeof(BackgroundWorkerHandle *) * Max(wanted, 1));
	started = wanted > 0 ? StartWorkers(segment, wanted, handles) : 0;
	if (started < wanted)
		ereport(NOTICE,
				(errmsg("started %d of %d training workers", started, wanted),
				 errdetail("max_worker_processes leaves no room for more; this backend fits the rest.")));
	for (i = 0; i < started; i++)
		WaitForBackgroundWorkerShutdown(handles[i]);

	/* a worker that could not start or died leaves series behind */
	TrainRemaining(shared, &params, params_jsonb);
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);

	if (pg_atomic_read_u32(&shared->failed) > 0)
		ereport(WARNING,
				(errmsg("%u series could not be fitted", pg_atomic_read_u32(&shared->failed)),
				 errdetail("The first: %s", shared->first_error)));

	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int32GetDatum((int32) pg_atomic_read_u32(&shared->stored));
	values[1] = Int32GetDatum((int32) pg_atomic_read_u32(&shared->skipped));
	values[2] = Int32GetDatum((int32) pg_atomic_read_u32(&shared->failed));
	values[3] = Int32GetDatum(started);
	values[4] = Float8GetDatum(INSTR_TIME_GET_DOUBLE(duration));
	dsm_detach(segment);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
