/*
 * producer.h - events to a Kafka topic, keyed and partitioned by source IP
 */
#ifndef IPFLOW_PRODUCER_H
#define IPFLOW_PRODUCER_H

#include "postgres.h"

#include <librdkafka/rdkafka.h>

#include "utils/hsearch.h"

#include "ip.h"
#include "shmem.h"

#define PRODUCER_ERROR_MAX 256

typedef struct EventProducer
{
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char	   *topic;
	char		bootstrap[IPFLOW_BOOTSTRAP_MAX];
	int			partitions;		/* of the topic, from ipflow.topics */
	HTAB	   *map;			/* ipflow.ip_partitions by canonical text */
	int64		produced;		/* handed to librdkafka */
	int64		delivered;		/* acknowledged by the broker */
	int64		failed;			/* refused or timed out */
	char		first_error[PRODUCER_ERROR_MAX];
	MemoryContextCallback cleanup;
} EventProducer;

/*
 * A producer to topic (its partition count from ipflow.topics, the IP map
 * from ipflow.ip_partitions), checked against the broker's metadata.  Lives
 * as long as context.  patient: a worker's producer, which retries a
 * message until the broker takes it; otherwise a message not acknowledged
 * within 30 s fails.  Needs SPI.
 */
extern EventProducer *ProducerOpen(const char *topic, const char *client_id, bool patient,
								   MemoryContext context);

/* The partition of a source IP: as ipflow.partition_for chooses it. */
extern int	ProducerPartition(EventProducer *p, const char *ip_text);

/* Hands one message to librdkafka (waiting while its queue is full). */
extern void ProducerSend(EventProducer *p, const char *key, int partition,
						 const char *payload, size_t len);

/*
 * Waits until every message sent so far is delivered or has failed, at
 * most timeout_ms; false when some are still on their way.
 */
extern bool ProducerWait(EventProducer *p, int timeout_ms);

/* Messages still on their way. */
extern int	ProducerOutstanding(EventProducer *p);

/* Drops the messages not yet delivered and closes the client. */
extern void ProducerClose(EventProducer *p);

/* "N of M events could not be delivered to topic T: reason" as an error. */
extern void ProducerReportFailures(EventProducer *p, const char *what, const char *detail);

#endif
