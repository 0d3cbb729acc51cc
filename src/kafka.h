/*
 * kafka.h - librdkafka clients configured from ipflow's settings
 */
#ifndef IPFLOW_KAFKA_H
#define IPFLOW_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "shmem.h"

extern bool KafkaBootstrapServers(char *out, size_t outlen);
extern rd_kafka_conf_t *KafkaConfNew(const char *bootstrap, const char *client_id);
extern void KafkaConfSet(rd_kafka_conf_t *conf, const char *name, const char *value);
extern rd_kafka_t *KafkaClientNew(rd_kafka_type_t type, rd_kafka_conf_t *conf);

#endif
