/*
 * broker.c - the embedded Kafka-protocol broker (librdkafka's mock cluster)
 *
 * With ipflow.kafka_brokers = 'embedded' the launcher runs librdkafka's mock
 * cluster: the real Kafka wire protocol over TCP on a random local port,
 * data in memory, gone when the launcher stops.  For demos and tests only.
 * Its limits (librdkafka 2.0.2) shape this file: it cannot serve
 * CreateTopics, so topics of ipflow.topics are created here on request of
 * the ingest workers; unknown topics are auto-created with 4 partitions.
 */
#include "postgres.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "utils/snapmgr.h"

#include "broker.h"
#include "shmem.h"

static rd_kafka_t *broker_handle = NULL;
static rd_kafka_mock_cluster_t *broker_cluster = NULL;

/* Starts the mock cluster and publishes its address. */
void
BrokerStart(void)
{
	char		errstr[512];
	rd_kafka_conf_t *conf;

	if (broker_cluster)
		return;
	conf = rd_kafka_conf_new();
	broker_handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (broker_handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the embedded Kafka broker: %s", errstr)));
	broker_cluster = rd_kafka_mock_cluster_new(broker_handle, IPFLOW_EMBEDDED_BROKERS);
	if (broker_cluster == NULL)
	{
		rd_kafka_destroy(broker_handle);
		broker_handle = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not start the embedded Kafka broker")));
	}

	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(IpflowShared->embedded_bootstrap, rd_kafka_mock_cluster_bootstraps(broker_cluster),
			IPFLOW_BOOTSTRAP_MAX);
	SpinLockRelease(&IpflowShared->mutex);
	ereport(LOG,
			(errmsg("ipflow: embedded Kafka broker (in memory, for demos and tests) listening at %s",
					rd_kafka_mock_cluster_bootstraps(broker_cluster))));
}

void
BrokerStop(void)
{
	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->embedded_bootstrap[0] = '\0';
	SpinLockRelease(&IpflowShared->mutex);
	if (broker_cluster)
		rd_kafka_mock_cluster_destroy(broker_cluster);
	if (broker_handle)
		rd_kafka_destroy(broker_handle);
	broker_cluster = NULL;
	broker_handle = NULL;
}

bool
BrokerRunning(void)
{
	return broker_cluster != NULL;
}

/* Launcher side: creates the requested topics and wakes the requesters. */
void
BrokerServeTopicRequests(void)
{
	TopicRequest requests[IPFLOW_TOPIC_REQUESTS];
	int			n;
	uint64		made;
	int			i;

	SpinLockAcquire(&IpflowShared->mutex);
	n = IpflowShared->ntopic_requests;
	memcpy(requests, IpflowShared->topic_requests, n * sizeof(TopicRequest));
	IpflowShared->ntopic_requests = 0;
	made = IpflowShared->topic_requests_made;
	SpinLockRelease(&IpflowShared->mutex);

	for (i = 0; i < n && broker_cluster; i++)
	{
		/* an existing topic is not an error: workers ask on every start */
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(broker_cluster, requests[i].name,
															  requests[i].partitions, 1);

		if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			ereport(LOG,
					(errmsg("ipflow: embedded broker could not create topic \"%s\": %s",
							requests[i].name, rd_kafka_err2str(err))));
	}

	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->topic_requests_done = made;
	SpinLockRelease(&IpflowShared->mutex);
	ConditionVariableBroadcast(&IpflowShared->topics_cv);
}

/*
 * Worker side: asks the embedded broker for every topic in ipflow.topics
 * and waits until the launcher has served the request.  Runs inside the
 * caller's transaction.
 */
void
BrokerRequestTopics(void)
{
	uint64		ticket;
	uint64		i;
	struct Latch *launcher;

	if (SPI_execute("SELECT name, num_partitions FROM ipflow.topics ORDER BY name",
					true, IPFLOW_TOPIC_REQUESTS) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.topics");

	SpinLockAcquire(&IpflowShared->mutex);
	IpflowShared->ntopic_requests = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		TopicRequest *r = &IpflowShared->topic_requests[IpflowShared->ntopic_requests++];
		bool		isnull;

		strlcpy(r->name, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), sizeof(r->name));
		r->partitions = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	ticket = ++IpflowShared->topic_requests_made;
	launcher = IpflowShared->launcher_latch;
	SpinLockRelease(&IpflowShared->mutex);

	if (launcher)
		SetLatch(launcher);
	ConditionVariablePrepareToSleep(&IpflowShared->topics_cv);
	for (;;)
	{
		uint64		done;

		SpinLockAcquire(&IpflowShared->mutex);
		done = IpflowShared->topic_requests_done;
		SpinLockRelease(&IpflowShared->mutex);
		if (done >= ticket)
			break;
		/* the launcher may restart: wait in steps and ask again */
		if (ConditionVariableTimedSleep(&IpflowShared->topics_cv, 1000, PG_WAIT_EXTENSION))
		{
			SpinLockAcquire(&IpflowShared->mutex);
			launcher = IpflowShared->launcher_latch;
			SpinLockRelease(&IpflowShared->mutex);
			if (launcher)
				SetLatch(launcher);
		}
	}
	ConditionVariableCancelSleep();
}
