/*
 * stats_sql.c - ipflow.stats and ipflow.kafka_bootstrap(): what the
 * background workers are doing, read from shared memory
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "ipflow.h"
#include "kafka.h"
#include "shmem.h"

PG_FUNCTION_INFO_V1(ipflow_kafka_bootstrap);

/* SQL: the bootstrap servers ipflow uses (the embedded broker's address too). */
Datum
ipflow_kafka_bootstrap(PG_FUNCTION_ARGS)
{
	char		bootstrap[IPFLOW_BOOTSTRAP_MAX];

	IpflowRequirePreload("ipflow.kafka_bootstrap()");
	if (!KafkaBootstrapServers(bootstrap, sizeof(bootstrap)))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(bootstrap));
}

/* a 0.1.0 install declares only the first 18; the rest are ignored there */
#define STATS_COLUMNS 21

PG_FUNCTION_INFO_V1(ipflow_worker_stats);

/* SQL: one row per ingest worker slot in use, plus the launcher. */
Datum
ipflow_worker_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IngestWorkerStats copy;
	int			launcher_pid;
	char		launcher_state[IPFLOW_STATE_MAX];
	int			i;

	IpflowRequirePreload("ipflow.stats");
	IpflowMaterializeResult(fcinfo);

	SpinLockAcquire(&IpflowShared->mutex);
	launcher_pid = IpflowShared->launcher_pid;
	strlcpy(launcher_state, IpflowShared->launcher_state, IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
	{
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS];

		memset(nulls, true, sizeof(nulls));
		values[0] = CStringGetTextDatum("launcher");
		nulls[0] = false;
		values[2] = Int32GetDatum(launcher_pid);
		nulls[2] = launcher_pid == 0;
		values[3] = CStringGetTextDatum(launcher_state[0] ? launcher_state : "not running");
		nulls[3] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	for (i = 0; i < IPFLOW_MAX_INGEST_WORKERS; i++)
	{
		Datum		values[STATS_COLUMNS];
		bool		nulls[STATS_COLUMNS];

		SpinLockAcquire(&IpflowShared->mutex);
		copy = IpflowShared->workers[i];
		SpinLockRelease(&IpflowShared->mutex);
		if (copy.started_at == 0)
			continue;			/* never used */

		memset(nulls, false, sizeof(nulls));
		values[0] = CStringGetTextDatum("ingest");
		values[1] = Int32GetDatum(i);
		values[2] = Int32GetDatum(copy.pid);
		nulls[2] = copy.pid == 0;
		values[3] = CStringGetTextDatum(copy.state);
		values[4] = CStringGetTextDatum(copy.partitions);
		nulls[4] = copy.partitions[0] == '\0';
		values[5] = Int64GetDatum(copy.messages);
		values[6] = Int64GetDatum(copy.inserted);
		values[7] = Int64GetDatum(copy.duplicates);
		values[8] = Int64GetDatum(copy.rejected);
		values[9] = Int64GetDatum(copy.batches);
		values[10] = Int64GetDatum(copy.aggregates);
		values[11] = Int64GetDatum(copy.last_batch_size);
		values[12] = Float8GetDatum(copy.last_batch_ms);
		values[13] = Int64GetDatum(copy.lag_total);
		if (copy.lag[0])
			values[14] = DirectFunctionCall1(jsonb_in, CStringGetDatum(copy.lag));
		else
			nulls[14] = true;
		values[15] = CStringGetTextDatum(copy.last_error);
		nulls[15] = copy.last_error[0] == '\0';
		values[16] = TimestampTzGetDatum(copy.last_error_at);
		nulls[16] = copy.last_error_at == 0;
		values[17] = TimestampTzGetDatum(copy.started_at);
		values[18] = CStringGetTextDatum(copy.mirror[0] ? copy.mirror : "off");
		values[19] = Int64GetDatum(copy.mirror_lag);
		values[20] = Int64GetDatum(copy.mirrored);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
