/*
 * guc.c - ipflow's configuration parameters
 *
 * Connection settings live in postgresql.conf and are reloaded on SIGHUP;
 * every value is checked when it is set, so a typo is refused with the
 * reason instead of surfacing later as a failing background worker.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "guc.h"
#include "settings.h"

char	   *IpflowDatabase = NULL;
char	   *IpflowKafkaBrokers = NULL;
char	   *IpflowLogTopic = NULL;
char	   *IpflowAggregateTopic = NULL;
char	   *IpflowConsumerGroup = NULL;
char	   *IpflowKafkaSecurityProtocol = NULL;
char	   *IpflowKafkaSaslMechanism = NULL;
char	   *IpflowKafkaSaslUsername = NULL;
char	   *IpflowKafkaSaslPassword = NULL;
char	   *IpflowRedisUrl = NULL;
char	   *IpflowRedisPassword = NULL;
int			IpflowRedisBackend = REDIS_BACKEND_AUTO;
int			IpflowIngestWorkers = IPFLOW_DEFAULT_INGEST_WORKERS;
int			IpflowBatchSize = IPFLOW_DEFAULT_BATCH_SIZE;
int			IpflowBatchTimeoutMs = IPFLOW_DEFAULT_BATCH_TIMEOUT_MS;
int			IpflowDumpLagS = IPFLOW_DEFAULT_DUMP_LAG_S;
int			IpflowTrainWorkers = IPFLOW_DEFAULT_TRAIN_WORKERS;
char	   *IpflowAnomalyTopic = NULL;
double		IpflowAnomalyThreshold = IPFLOW_DEFAULT_ANOMALY_THRESHOLD;
bool		IpflowAnomalyDetection = true;
int			IpflowMaxMessageSize = IPFLOW_DEFAULT_MAX_MESSAGE_SIZE;
int			IpflowBatchMaxBytesKb = IPFLOW_DEFAULT_BATCH_MAX_BYTES_KB;
int			IpflowRedisTimeoutMs = IPFLOW_DEFAULT_REDIS_TIMEOUT_MS;
int			IpflowMirrorMaxBufferKb = IPFLOW_DEFAULT_MIRROR_MAX_BUFFER_KB;

static const struct config_enum_entry redis_backend_options[] = {
	{"auto", REDIS_BACKEND_AUTO, false},
	{"timeseries", REDIS_BACKEND_TIMESERIES, false},
	{"sorted_set", REDIS_BACKEND_SORTED_SET, false},
	{NULL, 0, false}
};

static bool
CheckDatabase(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("ipflow.database must name the database where CREATE EXTENSION ipflow runs.");
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A database name is at most %d bytes long.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

static bool
CheckBrokers(char **newval, void **extra, GucSource source)
{
	const char *why;

	if (*newval == NULL || !KafkaBrokerListValid(*newval, &why))
	{
		GUC_check_errdetail("ipflow.kafka_brokers: %s.", *newval ? why : "a value is required");
		GUC_check_errhint("Example: 'kafka1:9092,kafka2:9092', or 'embedded' for the in-memory test broker.");
		return false;
	}
	return true;
}

static bool
CheckTopic(char **newval, void **extra, GucSource source)
{
	const char *why;

	if (*newval == NULL || !KafkaTopicNameValid(*newval, &why))
	{
		GUC_check_errdetail("%s.", *newval ? why : "a topic name is required");
		return false;
	}
	return true;
}

static bool
CheckGroup(char **newval, void **extra, GucSource source)
{
	const char *why;

	if (*newval == NULL || !KafkaGroupIdValid(*newval, &why))
	{
		GUC_check_errdetail("%s.", *newval ? why : "a consumer group is required");
		return false;
	}
	return true;
}

static bool
CheckSecurityProtocol(char **newval, void **extra, GucSource source)
{
	static const char *const valid[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
	size_t		i;

	for (i = 0; i < lengthof(valid); i++)
		if (*newval && pg_strcasecmp(*newval, valid[i]) == 0)
			return true;
	GUC_check_errdetail("Valid values are plaintext, ssl, sasl_plaintext and sasl_ssl.");
	return false;
}

static bool
CheckSaslMechanism(char **newval, void **extra, GucSource source)
{
	static const char *const valid[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
	size_t		i;

	for (i = 0; i < lengthof(valid); i++)
		if (*newval && pg_strcasecmp(*newval, valid[i]) == 0)
			return true;
	GUC_check_errdetail("Valid values are PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.");
	return false;
}

static bool
CheckRedisUrl(char **newval, void **extra, GucSource source)
{
	RedisUrl	url;
	const char *why;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* empty disables the mirror */
	if (!RedisUrlParse(*newval, &url, &why))
	{
		/* the URL may hold a password: explain without echoing it */
		GUC_check_errmsg("invalid value for parameter \"ipflow.redis_url\"");
		GUC_check_errdetail("ipflow.redis_url: %s.", why);
		GUC_check_errhint("Use redis://host:port/db or unix:///path/to/redis.sock, or '' to disable the mirror.");
		return false;
	}
	return true;
}

/* Defines every ipflow.* parameter and reserves the prefix. */
void
IpflowDefineGucs(void)
{
	/*
	 * Only the postmaster can define a restart-only setting; a backend that
	 * loads ipflow without preloading runs no workers and needs none.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("ipflow.database",
								   gettext_noop("Database in which the ipflow background workers run."),
								   NULL, &IpflowDatabase, "postgres",
								   PGC_POSTMASTER, 0, CheckDatabase, NULL, NULL);

	DefineCustomStringVariable("ipflow.kafka_brokers",
							   gettext_noop("Kafka bootstrap servers, or \"embedded\" for the in-memory test broker."),
							   NULL, &IpflowKafkaBrokers, "embedded",
							   PGC_SIGHUP, 0, CheckBrokers, NULL, NULL);

	DefineCustomStringVariable("ipflow.log_topic",
							   gettext_noop("Kafka topic of raw events."),
							   NULL, &IpflowLogTopic, "LogTopic",
							   PGC_SIGHUP, 0, CheckTopic, NULL, NULL);

	DefineCustomStringVariable("ipflow.aggregate_topic",
							   gettext_noop("Kafka topic of per-IP aggregates."),
							   NULL, &IpflowAggregateTopic, "SparkStreamingTopic",
							   PGC_SIGHUP, 0, CheckTopic, NULL, NULL);

	DefineCustomStringVariable("ipflow.consumer_group",
							   gettext_noop("Kafka consumer group of the ingest workers."),
							   NULL, &IpflowConsumerGroup, "ipflow",
							   PGC_SIGHUP, 0, CheckGroup, NULL, NULL);

	DefineCustomStringVariable("ipflow.kafka_security_protocol",
							   gettext_noop("Protocol used to talk to the Kafka brokers."),
							   NULL, &IpflowKafkaSecurityProtocol, "plaintext",
							   PGC_SIGHUP, 0, CheckSecurityProtocol, NULL, NULL);

	DefineCustomStringVariable("ipflow.kafka_sasl_mechanism",
							   gettext_noop("SASL mechanism for the Kafka brokers."),
							   NULL, &IpflowKafkaSaslMechanism, "PLAIN",
							   PGC_SIGHUP, 0, CheckSaslMechanism, NULL, NULL);

	DefineCustomStringVariable("ipflow.kafka_sasl_username",
							   gettext_noop("SASL user name for the Kafka brokers."),
							   NULL, &IpflowKafkaSaslUsername, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("ipflow.kafka_sasl_password",
							   gettext_noop("SASL password for the Kafka brokers."),
							   NULL, &IpflowKafkaSaslPassword, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("ipflow.redis_url",
							   gettext_noop("Redis server mirroring the series; empty disables the mirror."),
							   NULL, &IpflowRedisUrl, "redis://127.0.0.1:6379/0",
							   PGC_SIGHUP, 0, CheckRedisUrl, NULL, NULL);

	DefineCustomStringVariable("ipflow.redis_password",
							   gettext_noop("Password for the Redis server."),
							   NULL, &IpflowRedisPassword, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);

	DefineCustomEnumVariable("ipflow.redis_backend",
							 gettext_noop("How series are stored in Redis: timeseries, sorted_set, or auto (detect)."),
							 NULL, &IpflowRedisBackend, REDIS_BACKEND_AUTO,
							 redis_backend_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.dump_lag",
							gettext_noop("Samples younger than this stay in Redis when ipflow.dump() runs."),
							NULL, &IpflowDumpLagS, IPFLOW_DEFAULT_DUMP_LAG_S,
							IPFLOW_MIN_DUMP_LAG_S, IPFLOW_MAX_DUMP_LAG_S,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.ingest_workers",
							gettext_noop("Number of ingest workers (consumer group members) on this server."),
							NULL, &IpflowIngestWorkers, IPFLOW_DEFAULT_INGEST_WORKERS,
							IPFLOW_MIN_INGEST_WORKERS, IPFLOW_MAX_INGEST_WORKERS,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.batch_size",
							gettext_noop("Largest number of messages in one ingest batch."),
							NULL, &IpflowBatchSize, IPFLOW_DEFAULT_BATCH_SIZE,
							IPFLOW_MIN_BATCH_SIZE, IPFLOW_MAX_BATCH_SIZE,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.batch_timeout",
							gettext_noop("Longest time an ingest worker spends collecting one batch."),
							gettext_noop("A worker waits to fill a batch only when a backlog waits at the broker."),
							&IpflowBatchTimeoutMs, IPFLOW_DEFAULT_BATCH_TIMEOUT_MS,
							IPFLOW_MIN_BATCH_TIMEOUT_MS, IPFLOW_MAX_BATCH_TIMEOUT_MS,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.max_message_size",
							gettext_noop("Largest event message accepted; larger ones go to ipflow.rejects unread."),
							NULL, &IpflowMaxMessageSize, IPFLOW_DEFAULT_MAX_MESSAGE_SIZE,
							IPFLOW_MIN_MAX_MESSAGE_SIZE, IPFLOW_MAX_MAX_MESSAGE_SIZE,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.batch_max_bytes",
							gettext_noop("Most message bytes one ingest batch holds."),
							gettext_noop("A batch is stored once it reaches ipflow.batch_size messages or this many bytes."),
							&IpflowBatchMaxBytesKb, IPFLOW_DEFAULT_BATCH_MAX_BYTES_KB,
							IPFLOW_MIN_BATCH_MAX_BYTES_KB, IPFLOW_MAX_BATCH_MAX_BYTES_KB,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.redis_timeout",
							gettext_noop("Longest wait for a Redis reply."),
							gettext_noop("The mirror drops a connection whose oldest command is unanswered this long and catches up later."),
							&IpflowRedisTimeoutMs, IPFLOW_DEFAULT_REDIS_TIMEOUT_MS,
							IPFLOW_MIN_REDIS_TIMEOUT_MS, IPFLOW_MAX_REDIS_TIMEOUT_MS,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.mirror_max_buffer",
							gettext_noop("Most an ingest worker holds for Redis before it drops the connection."),
							gettext_noop("Beyond it Redis is not keeping up: the mirror catches up from ipflow.events later."),
							&IpflowMirrorMaxBufferKb, IPFLOW_DEFAULT_MIRROR_MAX_BUFFER_KB,
							IPFLOW_MIN_MIRROR_MAX_BUFFER_KB, IPFLOW_MAX_MIRROR_MAX_BUFFER_KB,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);

	DefineCustomIntVariable("ipflow.train_workers",
							gettext_noop("Background workers one ipflow.train() call fits models in."),
							gettext_noop("Also bounded by max_worker_processes; 0 fits in the calling backend."),
							&IpflowTrainWorkers, IPFLOW_DEFAULT_TRAIN_WORKERS,
							IPFLOW_MIN_TRAIN_WORKERS, IPFLOW_MAX_TRAIN_WORKERS,
							PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("ipflow.anomaly_topic",
							   gettext_noop("Kafka topic the streaming anomaly detector publishes alerts to."),
							   NULL, &IpflowAnomalyTopic, "AnomalyTopic",
							   PGC_SIGHUP, 0, CheckTopic, NULL, NULL);

	DefineCustomRealVariable("ipflow.anomaly_threshold",
							 gettext_noop("Anomaly score from which the streaming detector raises an alert."),
							 gettext_noop("Scores are in [0, 1); higher is more anomalous."),
							 &IpflowAnomalyThreshold, IPFLOW_DEFAULT_ANOMALY_THRESHOLD,
							 IPFLOW_MIN_ANOMALY_THRESHOLD, IPFLOW_MAX_ANOMALY_THRESHOLD,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomBoolVariable("ipflow.anomaly_detection",
							 gettext_noop("Scores every new event against its IP's anomaly detector while ingesting."),
							 gettext_noop("Off: events are stored without scores and the detector states are left as they were."),
							 &IpflowAnomalyDetection, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("ipflow");
#else
	EmitWarningsOnPlaceholders("ipflow");
#endif
}
