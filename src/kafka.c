/*
 * kafka.c - librdkafka clients configured from ipflow's settings
 *
 * Every client takes its bootstrap list, security protocol and SASL
 * credentials from the ipflow.* settings.  librdkafka's log and error
 * callbacks are routed through the client's own queue, so they run in the
 * Postgres process' main thread when it polls, where elog is safe.
 */
#include "postgres.h"

#include "kafka.h"

/*
 * Where to find Kafka: ipflow.kafka_brokers, or the embedded broker's
 * address once it is up.  Returns false while the embedded broker is not.
 */
bool
KafkaBootstrapServers(char *out, size_t outlen)
{
	if (strcmp(IpflowKafkaBrokers, "embedded") == 0)
		return IpflowEmbeddedBootstrap(out, outlen);
	strlcpy(out, IpflowKafkaBrokers, outlen);
	return true;
}

/* Sets one property; the value is not echoed, as it may be a secret. */
void
KafkaConfSet(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not set Kafka client property \"%s\"", name),
				 errdetail("%s", errstr)));
}

/* librdkafka's log lines, served from the client's queue in this thread. */
static void
KafkaLog(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	/* syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug */
	ereport(level <= 4 ? LOG : DEBUG1,
			(errmsg("ipflow: kafka %s: %s", fac, buf)));
}

/* Client configuration shared by consumers and producers. */
rd_kafka_conf_t *
KafkaConfNew(const char *bootstrap, const char *client_id)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	KafkaConfSet(conf, "bootstrap.servers", bootstrap);
	KafkaConfSet(conf, "client.id", client_id);
	KafkaConfSet(conf, "security.protocol", IpflowKafkaSecurityProtocol);
	if (pg_strncasecmp(IpflowKafkaSecurityProtocol, "sasl", 4) == 0)
	{
		KafkaConfSet(conf, "sasl.mechanisms", IpflowKafkaSaslMechanism);
		KafkaConfSet(conf, "sasl.username", IpflowKafkaSaslUsername);
		KafkaConfSet(conf, "sasl.password", IpflowKafkaSaslPassword);
	}
	KafkaConfSet(conf, "log.queue", "true");
	KafkaConfSet(conf, "reconnect.backoff.ms", "100");
	KafkaConfSet(conf, "reconnect.backoff.max.ms", "5000");
	rd_kafka_conf_set_log_cb(conf, KafkaLog);
	return conf;
}

/* Creates a client from conf (which it takes over). */
rd_kafka_t *
KafkaClientNew(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
	char		errstr[512];
	rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));

	if (rk == NULL)
	{
		rd_kafka_conf_destroy(conf);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not create a Kafka client: %s", errstr)));
	}
	/* logs go to the main queue, served by rd_kafka_poll in this thread */
	rd_kafka_set_log_queue(rk, NULL);
	return rk;
}
