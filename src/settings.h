/*
 * settings.h - syntax of ipflow's connection settings, in plain C
 */
#ifndef IPFLOW_SETTINGS_H
#define IPFLOW_SETTINGS_H

#include <stdbool.h>

/* Kafka's own limit on topic names. */
#define KAFKA_TOPIC_NAME_MAX 249

#define REDIS_HOST_MAX 256
#define REDIS_PATH_MAX 108		/* sizeof(sockaddr_un.sun_path) */

typedef struct RedisUrl
{
	bool		is_unix;		/* unix socket at path, else TCP host:port */
	char		host[REDIS_HOST_MAX];
	int			port;
	char		path[REDIS_PATH_MAX];
	int			db;
} RedisUrl;

extern bool KafkaTopicNameValid(const char *name, const char **why);
extern bool KafkaGroupIdValid(const char *group, const char **why);
extern bool KafkaBrokerListValid(const char *brokers, const char **why);
extern bool RedisUrlParse(const char *url, RedisUrl *out, const char **why);

#endif
