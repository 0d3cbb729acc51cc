/*
 * shmem.h - state the ipflow processes share: broker address, topic
 * requests for the embedded broker, and per-worker ingest statistics
 */
#ifndef IPFLOW_SHMEM_H
#define IPFLOW_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"

#include "guc.h"

#define IPFLOW_BOOTSTRAP_MAX 1024
#define IPFLOW_TOPIC_REQUESTS 32
#define IPFLOW_STATE_MAX 64
#define IPFLOW_ERROR_MAX 512
#define IPFLOW_PARTITIONS_MAX 512

typedef struct IngestWorkerStats
{
	int			pid;			/* 0 when the slot is free */
	char		state[IPFLOW_STATE_MAX];
	char		partitions[IPFLOW_PARTITIONS_MAX];	/* e.g. "LogTopic[0,2]" */
	char		lag[IPFLOW_PARTITIONS_MAX]; /* JSON object: partition -> lag */
	int64		lag_total;
	int64		messages;
	int64		inserted;
	int64		duplicates;
	int64		rejected;
	int64		batches;
	int64		aggregates;
	int64		last_batch_size;
	double		last_batch_ms;
	char		last_error[IPFLOW_ERROR_MAX];
	TimestampTz last_error_at;
	TimestampTz started_at;
	TimestampTz last_batch_at;
	/* the Redis mirror */
	char		mirror[IPFLOW_STATE_MAX];	/* "off", "live", "behind", ... */
	int64		mirror_lag;		/* events stored but not yet in Redis */
	int64		mirrored;		/* samples written to Redis */
} IngestWorkerStats;

/*
 * The sender worker, as ipflow.sender shows it.  requests counts the
 * transactions that called start_sender or stop_sender; the worker notes in
 * checked the count it had seen when it found nothing to send, so the
 * launcher starts it whenever requests has moved past checked (and at
 * server start, when requests is 1).
 */
typedef struct SenderStatus
{
	int			pid;			/* 0 when not running */
	struct Latch *latch;
	uint64		requests;
	uint64		checked;
	int64		stream;			/* the stream it runs, 0 when none */
	char		state[IPFLOW_STATE_MAX];
	double		rate;			/* events per second, recently */
	char		last_error[IPFLOW_ERROR_MAX];
	TimestampTz last_error_at;
	TimestampTz started_at;
} SenderStatus;

typedef struct TopicRequest
{
	char		name[256];
	int			partitions;
} TopicRequest;

typedef struct IpflowSharedState
{
	slock_t		mutex;
	/* embedded broker: its bootstrap list once it runs, else "" */
	char		embedded_bootstrap[IPFLOW_BOOTSTRAP_MAX];
	/* launcher status, for ipflow.stats */
	int			launcher_pid;
	char		launcher_state[IPFLOW_STATE_MAX];
	/* topics the embedded broker is asked to create */
	TopicRequest topic_requests[IPFLOW_TOPIC_REQUESTS];
	int			ntopic_requests;
	uint64		topic_requests_done;	/* generation: requests served so far */
	uint64		topic_requests_made;
	ConditionVariable topics_cv;
	struct Latch *launcher_latch;
	IngestWorkerStats workers[IPFLOW_MAX_INGEST_WORKERS];
	SenderStatus sender;
} IpflowSharedState;

extern IpflowSharedState *IpflowShared;

extern void IpflowShmemInit(void);
extern void IpflowSetLauncherState(const char *state);
extern IngestWorkerStats *IpflowWorkerSlot(int index);
extern void IpflowWorkerSetState(IngestWorkerStats *slot, const char *state);
extern void IpflowWorkerSetError(IngestWorkerStats *slot, const char *error);
extern bool IpflowEmbeddedBootstrap(char *out, size_t outlen);

#endif
