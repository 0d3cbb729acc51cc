/*
 * guc.h - ipflow's configuration parameters
 */
#ifndef IPFLOW_GUC_H
#define IPFLOW_GUC_H

typedef enum RedisBackend
{
	REDIS_BACKEND_AUTO,
	REDIS_BACKEND_TIMESERIES,
	REDIS_BACKEND_SORTED_SET
} RedisBackend;

#define IPFLOW_DEFAULT_INGEST_WORKERS 1
#define IPFLOW_MIN_INGEST_WORKERS 0
#define IPFLOW_MAX_INGEST_WORKERS 64

#define IPFLOW_DEFAULT_BATCH_SIZE 10000
#define IPFLOW_MIN_BATCH_SIZE 1
#define IPFLOW_MAX_BATCH_SIZE 1000000

#define IPFLOW_DEFAULT_BATCH_TIMEOUT_MS 50
#define IPFLOW_MIN_BATCH_TIMEOUT_MS 1
#define IPFLOW_MAX_BATCH_TIMEOUT_MS 60000

#define IPFLOW_DEFAULT_DUMP_LAG_S 3600
#define IPFLOW_MIN_DUMP_LAG_S 0
#define IPFLOW_MAX_DUMP_LAG_S (366 * 24 * 3600)

#define IPFLOW_DEFAULT_TRAIN_WORKERS 2
#define IPFLOW_MIN_TRAIN_WORKERS 0
#define IPFLOW_MAX_TRAIN_WORKERS 64

#define IPFLOW_DEFAULT_ANOMALY_THRESHOLD 0.99
#define IPFLOW_MIN_ANOMALY_THRESHOLD 0.0
#define IPFLOW_MAX_ANOMALY_THRESHOLD 1.0

/* Messages larger than this are rejected unread (bytes). */
#define IPFLOW_DEFAULT_MAX_MESSAGE_SIZE (1024 * 1024)
#define IPFLOW_MIN_MAX_MESSAGE_SIZE 1024
#define IPFLOW_MAX_MAX_MESSAGE_SIZE (100 * 1024 * 1024)

/* A batch stops collecting once its payloads hold this much (kB). */
#define IPFLOW_DEFAULT_BATCH_MAX_BYTES_KB (64 * 1024)
#define IPFLOW_MIN_BATCH_MAX_BYTES_KB 1024
#define IPFLOW_MAX_BATCH_MAX_BYTES_KB (1024 * 1024)

/* Longest wait for one Redis reply (ms). */
#define IPFLOW_DEFAULT_REDIS_TIMEOUT_MS 10000
#define IPFLOW_MIN_REDIS_TIMEOUT_MS 100
#define IPFLOW_MAX_REDIS_TIMEOUT_MS (3600 * 1000)

/* Most a worker holds for Redis, unsent (kB). */
#define IPFLOW_DEFAULT_MIRROR_MAX_BUFFER_KB (64 * 1024)
#define IPFLOW_MIN_MIRROR_MAX_BUFFER_KB 1024
#define IPFLOW_MAX_MIRROR_MAX_BUFFER_KB (4 * 1024 * 1024)

/* A rejected message keeps at most this many bytes of its payload. */
#define IPFLOW_REJECT_PAYLOAD_MAX (64 * 1024)

extern char *IpflowDatabase;
extern char *IpflowKafkaBrokers;
extern char *IpflowLogTopic;
extern char *IpflowAggregateTopic;
extern char *IpflowConsumerGroup;
extern char *IpflowKafkaSecurityProtocol;
extern char *IpflowKafkaSaslMechanism;
extern char *IpflowKafkaSaslUsername;
extern char *IpflowKafkaSaslPassword;
extern char *IpflowRedisUrl;
extern char *IpflowRedisPassword;
extern int	IpflowRedisBackend;
extern int	IpflowIngestWorkers;
extern int	IpflowBatchSize;
extern int	IpflowBatchTimeoutMs;
extern int	IpflowDumpLagS;
extern int	IpflowTrainWorkers;
extern char *IpflowAnomalyTopic;
extern double IpflowAnomalyThreshold;
extern bool IpflowAnomalyDetection;
extern int	IpflowMaxMessageSize;
extern int	IpflowBatchMaxBytesKb;
extern int	IpflowRedisTimeoutMs;
extern int	IpflowMirrorMaxBufferKb;

extern void IpflowDefineGucs(void);

#endif
