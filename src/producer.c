/*
 * producer.c - events to a Kafka topic, keyed and partitioned by source IP
 *
 * Every event ipflow sends (ipflow.send, ipflow.send_json_dir, the sender
 * worker) goes through this: the key is the source IP's canonical text,
 * and the partition is the one ipflow.partition_for gives (the explicit
 * map, else Kafka's murmur2 default partitioner), chosen here rather than by
 * librdkafka so that the map is honoured.  The producer is idempotent, so a
 * retry inside librdkafka never writes a message twice or out of order.
 * Delivery reports are served by rd_kafka_poll in the calling thread, where
 * they only count.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "ipflow.h"
#include "kafka.h"
#include "murmur2.h"
#include "producer.h"

#define PRODUCER_METADATA_TIMEOUT_MS 10000
#define PRODUCER_POLL_MS 50

typedef struct MapEntry
{
	char		ip[IP_TEXT_MAX];
	int			partition;
} MapEntry;

/* Delivery report: counts it, keeps the first error. */
static void
ProducerDelivered(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	EventProducer *p = opaque;

	if (p == NULL)
		return;
	if (msg->err)
	{
		if (p->failed++ == 0)
			strlcpy(p->first_error, rd_kafka_err2str(msg->err), PRODUCER_ERROR_MAX);
	}
	else
		p->delivered++;
}

/* Frees the client when the producer's memory goes (an error, a cancel). */
static void
ProducerCleanup(void *arg)
{
	ProducerClose((EventProducer *) arg);
}

/* The partition count of topic in ipflow.topics. */
static int
TopicPartitions(const char *topic)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(topic)};
	bool		isnull;

	if (SPI_execute_with_args("SELECT num_partitions FROM ipflow.topics WHERE name = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.topics");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the number of partitions of topic \"%s\" is not known", topic),
				 errhint("Load the topics with ipflow.load_config(), or add the topic to ipflow.topics.")));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The explicit map of ipflow.ip_partitions. */
static HTAB *
LoadMap(MemoryContext context)
{
	HASHCTL		ctl;
	HTAB	   *map;
	uint64		i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = IP_TEXT_MAX;
	ctl.entrysize = sizeof(MapEntry);
	ctl.hcxt = context;
	map = hash_create("ipflow partition map", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	if (SPI_execute("SELECT host(src_ip), partition FROM ipflow.ip_partitions", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.ip_partitions");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *ip = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		MapEntry   *e;

		if (strlen(ip) >= IP_TEXT_MAX)
			continue;
		e = hash_search(map, ip, HASH_ENTER, NULL);
		e->partition = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	return map;
}

/* Checks the topic against the broker: it exists with enough partitions. */
static void
CheckTopic(EventProducer *p)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	int			have;

	err = rd_kafka_metadata(p->rk, 0, p->rkt, &md, PRODUCER_METADATA_TIMEOUT_MS);
	if (err)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not reach Kafka at %s: %s", p->bootstrap, rd_kafka_err2str(err)),
				 errhint("Check ipflow.kafka_brokers and that the brokers are up.")));
	if (md->topic_cnt < 1 || md->topics[0].err)
	{
		const char *why = md->topic_cnt < 1 ? "unknown" : rd_kafka_err2str(md->topics[0].err);

		rd_kafka_metadata_destroy(md);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("Kafka at %s has no topic \"%s\": %s", p->bootstrap, p->topic, why),
				 errhint("Create the topics of ipflow.topics with SELECT * FROM ipflow.init();")));
	}
	have = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	if (have < p->partitions)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("Kafka topic \"%s\" has %d partitions, but ipflow.topics says %d",
						p->topic, have, p->partitions),
				 errhint("Set num_partitions of \"%s\" in ipflow.topics to %d, or recreate the topic.",
						 p->topic, have)));
}

/* A producer to topic. */
EventProducer *
ProducerOpen(const char *topic, const char *client_id, bool patient, MemoryContext context)
{
	EventProducer *p = MemoryContextAllocZero(context, sizeof(EventProducer));
	rd_kafka_conf_t *conf;

	p->topic = MemoryContextStrdup(context, topic);
	p->partitions = TopicPartitions(topic);
	p->map = LoadMap(context);
	if (strcmp(IpflowKafkaBrokers, "embedded") == 0)
		IpflowRequirePreload("sending to the embedded broker");
	if (!KafkaBootstrapServers(p->bootstrap, sizeof(p->bootstrap)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the embedded Kafka broker is not running"),
				 errhint("Wait for the ipflow launcher to start it, or set ipflow.kafka_brokers to a Kafka cluster.")));

	conf = KafkaConfNew(p->bootstrap, client_id);
	KafkaConfSet(conf, "enable.idempotence", "true");
	KafkaConfSet(conf, "acks", "all");
	KafkaConfSet(conf, "linger.ms", "5");
	KafkaConfSet(conf, "compression.codec", "zstd");
	KafkaConfSet(conf, "queue.buffering.max.messages", "500000");
	KafkaConfSet(conf, "allow.auto.create.topics", "false");
	KafkaConfSet(conf, "message.timeout.ms", patient ? "0" : "30000");
	rd_kafka_conf_set_dr_msg_cb(conf, ProducerDelivered);
	rd_kafka_conf_set_opaque(conf, p);
	p->rk = KafkaClientNew(RD_KAFKA_PRODUCER, conf);
	p->cleanup.func = ProducerCleanup;
	p->cleanup.arg = p;
	MemoryContextRegisterResetCallback(context, &p->cleanup);
	p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
	if (p->rkt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not use Kafka topic \"%s\": %s", topic,
						rd_kafka_err2str(rd_kafka_last_error()))));
	CheckTopic(p);
	return p;
}

/* The partition of a source IP. */
int
ProducerPartition(EventProducer *p, const char *ip_text)
{
	MapEntry   *e = strlen(ip_text) < IP_TEXT_MAX ? hash_search(p->map, ip_text, HASH_FIND, NULL) : NULL;

	if (e == NULL)
		return Murmur2Partition(ip_text, strlen(ip_text), p->partitions);
	if (e->partition >= p->partitions)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is mapped to partition %d, outside the %d partitions of topic \"%s\"",
						ip_text, e->partition, p->partitions, p->topic),
				 errhint("Fix the entry in ipflow.ip_partitions or the topic's partition count.")));
	return e->partition;
}

/* Hands one message to librdkafka, waiting while its queue is full. */
void
ProducerSend(EventProducer *p, const char *key, int partition, const char *payload, size_t len)
{
	for (;;)
	{
		if (rd_kafka_produce(p->rkt, partition, RD_KAFKA_MSG_F_COPY, (void *) payload, len,
							 key, strlen(key), NULL) == 0)
			break;
		if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
		{
			/* refused at once (no such partition, too large): it counts as failed */
			if (p->failed++ == 0)
				strlcpy(p->first_error, rd_kafka_err2str(rd_kafka_last_error()), PRODUCER_ERROR_MAX);
			p->produced++;
			return;
		}
		rd_kafka_poll(p->rk, 10);
		CHECK_FOR_INTERRUPTS();
	}
	p->produced++;
	if ((p->produced & 1023) == 0)
		rd_kafka_poll(p->rk, 0);
}

/* Messages still on their way. */
int
ProducerOutstanding(EventProducer *p)
{
	return (int) (p->produced - p->delivered - p->failed);
}

/* Waits for the delivery reports of everything sent so far. */
bool
ProducerWait(EventProducer *p, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	while (ProducerOutstanding(p) > 0)
	{
		rd_kafka_poll(p->rk, PRODUCER_POLL_MS);
		CHECK_FOR_INTERRUPTS();
		if (ProducerOutstanding(p) > 0 && GetCurrentTimestamp() >= deadline)
			return false;
	}
	return true;
}

/* Drops undelivered messages and closes the client; safe to call twice. */
void
ProducerClose(EventProducer *p)
{
	if (p->rk == NULL)
		return;
	rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(p->rk, 0);
	if (p->rkt)
		rd_kafka_topic_destroy(p->rkt);
	rd_kafka_destroy(p->rk);
	p->rkt = NULL;
	p->rk = NULL;
}

/* Errors with how many events failed, if any did. */
void
ProducerReportFailures(EventProducer *p, const char *what, const char *detail)
{
	if (p->failed == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s: " INT64_FORMAT " of " INT64_FORMAT " events could not be delivered to topic \"%s\": %s",
					what, p->failed, p->produced, p->topic, p->first_error),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Check the Kafka brokers (ipflow.kafka_brokers) and send again.")));
}
