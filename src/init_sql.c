/*
 * init_sql.c - ipflow.init(): the Kafka topics and the Redis series
 *
 * The original system's InitialDag: create the topics of ipflow.topics
 * (Kafka's admin API; the embedded broker creates them itself) and one
 * series per known IP and feature.  Idempotent: an existing topic with the
 * configured partition count and existing series are fine; a topic with
 * another partition count is an error, since ipflow.partition_for would
 * then disagree with the topic.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "broker.h"
#include "event.h"
#include "guc.h"
#include "ipflow.h"
#include "kafka.h"
#include "redis.h"

#define INIT_TIMEOUT_MS 10000

typedef struct TopicSpec
{
	char	   *name;
	int			partitions;
	int			replication;
} TopicSpec;

static void
InitEmit(FunctionCallInfo fcinfo, const char *kind, const char *name, const char *status)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(status);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The partition count of every topic the cluster has, or -1 for topic. */
static int
InitExistingPartitions(const struct rd_kafka_metadata *md, const char *topic)
{
	int			i;

	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, topic) == 0 &&
			md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			return md->topics[i].partition_cnt;
	return -1;
}

/* Refuses a topic that exists with another partition count. */
static void
InitCheckPartitions(const TopicSpec *t, int have)
{
	if (have >= 0 && have != t->partitions)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("Kafka topic \"%s\" has %d partitions, but ipflow.topics says %d",
						t->name, have, t->partitions),
				 errdetail("Events and aggregates are placed by ipflow.partition_for, which must agree with the topic."),
				 errhint("Set num_partitions of \"%s\" in ipflow.topics to %d, or recreate the topic.",
						 t->name, have)));
}

/* Creates the topics that do not exist yet; reports each. */
static void
InitTopics(FunctionCallInfo fcinfo, TopicSpec *topics, int ntopics)
{
	char		bootstrap[IPFLOW_BOOTSTRAP_MAX];
	rd_kafka_t *rk;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	rd_kafka_NewTopic_t **create;
	volatile int ncreate = 0;
	char		errstr[512];
	int			i;

	if (strcmp(IpflowKafkaBrokers, "embedded") == 0)
		IpflowRequirePreload("ipflow.init() with the embedded broker");
	if (!KafkaBootstrapServers(bootstrap, sizeof(bootstrap)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the embedded Kafka broker is not running"),
				 errhint("Add ipflow to shared_preload_libraries, or set ipflow.kafka_brokers to a Kafka cluster.")));
	if (strcmp(IpflowKafkaBrokers, "embedded") == 0)
		BrokerRequestTopics();	/* the mock cluster has no CreateTopics */

	rk = KafkaClientNew(RD_KAFKA_PRODUCER, KafkaConfNew(bootstrap, "ipflow-init"));
	PG_TRY();
	{
		err = rd_kafka_metadata(rk, 1, NULL, &md, INIT_TIMEOUT_MS);
		if (err)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not read the topics of Kafka at %s: %s", bootstrap, rd_kafka_err2str(err))));

		create = palloc(ntopics * sizeof(rd_kafka_NewTopic_t *));
		for (i = 0; i < ntopics; i++)
		{
			int			have = InitExistingPartitions(md, topics[i].name);

			InitCheckPartitions(&topics[i], have);
			if (have >= 0)
			{
				InitEmit(fcinfo, "topic", topics[i].name,
						 psprintf("exists (%d partitions)", have));
				continue;
			}
			create[ncreate] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions,
													topics[i].replication, errstr, sizeof(errstr));
			if (create[ncreate] == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("topic \"%s\" cannot be created: %s", topics[i].name, errstr)));
			ncreate++;
		}

		if (ncreate > 0)
		{
			rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
			rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
			rd_kafka_event_t *ev = NULL;
			const rd_kafka_topic_result_t **results;
			size_t		nresults;
			size_t		r;

			rd_kafka_AdminOptions_set_operation_timeout(opts, INIT_TIMEOUT_MS, errstr, sizeof(errstr));
			rd_kafka_CreateTopics(rk, create, ncreate, opts, q);
			/* wait in steps, so that a cancel is served */
			for (i = 0; ev == NULL && i < INIT_TIMEOUT_MS / 100 + 1; i++)
			{
				CHECK_FOR_INTERRUPTS();
				ev = rd_kafka_queue_poll(q, 100);
			}
			if (ev == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("Kafka at %s did not answer the request to create topics", bootstrap)));
			if (rd_kafka_event_error(ev))
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("Kafka refused to create topics: %s", rd_kafka_event_error_string(ev))));
			results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &nresults);
			for (r = 0; r < nresults; r++)
			{
				const char *name = rd_kafka_topic_result_name(results[r]);
				rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[r]);

				if (terr && terr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
					ereport(ERROR,
							(errcode(ERRCODE_CONNECTION_FAILURE),
							 errmsg("Kafka could not create topic \"%s\": %s", name,
									rd_kafka_topic_result_error_string(results[r]) ?
									rd_kafka_topic_result_error_string(results[r]) : rd_kafka_err2str(terr))));
				InitEmit(fcinfo, "topic", name, terr ? "exists" : "created");
			}
			rd_kafka_event_destroy(ev);
			rd_kafka_AdminOptions_destroy(opts);
			rd_kafka_queue_destroy(q);
			rd_kafka_NewTopic_destroy_array(create, ncreate);
		}
	}
	PG_FINALLY();
	{
		if (md)
			rd_kafka_metadata_destroy(md);
		rd_kafka_destroy(rk);
	}
	PG_END_TRY();
}

/* Creates one series per known IP and feature; reports how many. */
static void
InitSeries(FunctionCallInfo fcinfo)
{
	redisContext *c;
	RedisBackend backend;
	char	   *error = NULL;
	uint64		nips;
	uint64		i;
	int			f;
	volatile long expected = 0;
	volatile long failed = 0;
	char	   *volatile first_failure = NULL;

	if (!RedisEnabled())
	{
		InitEmit(fcinfo, "redis", "", "off (ipflow.redis_url is empty)");
		return;
	}
	c = RedisOpen(IpflowRedisTimeoutMs, &error);
	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s", error),
				 errhint("Start Redis, or check ipflow.redis_url.")));
	PG_TRY();
	{
		if (!RedisResolveBackend(c, &backend, &error))
			ereport(ERROR, (errcode(ERRCODE_CONNECTION_FAILURE), errmsg("%s", error)));
		if (SPI_execute("SELECT host(src_ip) FROM ipflow.ips ORDER BY src_ip", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read ipflow.ips");
		nips = SPI_processed;
		for (i = 0; i < nips; i++)
		{
			char	   *ip = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			for (f = 0; f < EVENT_NFEATURES; f++)
				expected += RedisAppendCreateSeries(c, backend, ip, EventFeatureNames[f]);
		}
		for (; expected > 0; expected--)
		{
			redisReply *reply = NULL;

			CHECK_FOR_INTERRUPTS();
			if (redisGetReply(c, (void **) &reply) != REDIS_OK)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("Redis failed while creating series: %s", RedisConnectionError(c))));
			if (RedisReplyFailed(reply))
			{
				if (failed++ == 0)
					first_failure = pstrdup(RedisReplyError(reply));
			}
			freeReplyObject(reply);
		}
		if (failed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Redis refused %ld series commands: %s", failed, first_failure)));
		InitEmit(fcinfo, "redis", backend == REDIS_BACKEND_TIMESERIES ? "timeseries" : "sorted_set",
				 psprintf(UINT64_FORMAT " series for " UINT64_FORMAT " IPs",
						  nips * EVENT_NFEATURES, nips));
	}
	PG_FINALLY();
	{
		redisFree(c);
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(ipflow_init);

/* SQL: ipflow.init() -> (kind, name, status), one row per topic and backend. */
Datum
ipflow_init(PG_FUNCTION_ARGS)
{
	TopicSpec  *topics;
	int			ntopics;
	int			i;

	IpflowMaterializeResult(fcinfo);
	SPI_connect();
	if (SPI_execute("SELECT name, num_partitions, replication_factor FROM ipflow.topics ORDER BY name",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.topics");
	ntopics = (int) SPI_processed;
	topics = palloc((ntopics + 1) * sizeof(TopicSpec));
	for (i = 0; i < ntopics; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		topics[i].name = SPI_getvalue(tuple, desc, 1);
		topics[i].partitions = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
		topics[i].replication = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
	}
	if (ntopics > 0)
		InitTopics(fcinfo, topics, ntopics);
	InitSeries(fcinfo);
	SPI_finish();
	return (Datum) 0;
}
