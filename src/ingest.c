/*
 * ingest.c - ingest workers: LogTopic -> ipflow.events, exactly once
 *
 * Each worker is a member of consumer group ipflow.consumer_group.  A batch
 * is: take the messages that have arrived (up to ipflow.batch_size) -> parse
 * -> one transaction storing events, aggregates and rejects -> commit ->
 * publish the aggregate of every IP in the batch -> commit the Kafka offsets
 * once the broker has acknowledged the aggregates.  The worker does not wait
 * for the broker: it stores the next batches meanwhile (up to
 * INGEST_MAX_PENDING, and four full batches' worth of messages), and commits
 * offsets in batch order, while busy at
 * most every INGEST_COMMIT_INTERVAL_MS.  A crash anywhere replays the
 * uncommitted batches; the insert is idempotent on (src_ip, ts) and
 * aggregates fold only newly inserted rows, so the effect in Postgres is
 * exactly once.
 *
 * The worker sleeps on its latch and on a pipe that librdkafka writes to
 * when the consumer queue or the producer's delivery reports become
 * non-empty, so it wakes for messages, acknowledgements, signals and
 * postmaster death alike, and never polls in a loop.
 */
#include "postgres.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "broker.h"
#include "compat.h"
#include "datum.h"
#include "event.h"
#include "guc.h"
#include "ingest.h"
#include "ingest_copy.h"
#include "ingest_detect.h"
#include "ingest_ips.h"
#include "ingest_sql.h"
#include "kafka.h"
#include "mirror.h"
#include "shmem.h"

#define INGEST_IDLE_WAKE_MS 1000
#define INGEST_RETRY_MIN_MS 100
#define INGEST_RETRY_MAX_MS 10000
#define INGEST_FLUSH_TIMEOUT_MS 10000
/* while busy, offsets are committed this often; at once when idle */
#define INGEST_COMMIT_INTERVAL_MS 200
#define INGEST_TRIM_INTERVAL_MS 10000
/* partitions whose end-of-partition offset is kept for the lag */
#define INGEST_TRACKED_PARTITIONS 4096

/* A parsed batch, column by column, as the insert statement takes it. */
typedef struct IngestBatch
{
	int			nmsgs;
	rd_kafka_message_t **msgs;
	/* good events */
	int			ngood;
	Event	   *events;
	EventOrigin *origins;		/* Kafka partition and offset of each */
	int		   *good_msg;		/* index into msgs of each event, -1 once rejected */
	/* good events minus repeats within the batch, as indexes into events */
	int			nunique;
	int		   *unique;
	/* rejected messages */
	int			nbad;
	int			bad_capacity;
	int		   *bad_msg;
	char	  **bad_reason;
	/* distinct IPs of the batch, for the aggregate messages */
	int			nips;
	Datum	   *ips;
	/* outcome */
	int64		inserted;
	IngestAggregates agg;		/* the message of every IP of the batch */
	/* events newly stored: by the transaction in progress, and committed */
	int		   *txn_fresh;
	int			txn_nfresh;
	int		   *stored;
	int			nstored;
} IngestBatch;

/*
 * A batch being stored, or stored with its aggregate messages on their way
 * to Kafka.  Its offsets may be committed once the broker has acknowledged
 * every aggregate of it and of the batches before it, so the worker goes on
 * with the next batches meanwhile instead of waiting for the broker.
 */
typedef struct IngestPending
{
	int			outstanding;	/* aggregates not yet acknowledged */
	int			failed;			/* aggregates the broker refused */
	IngestBatch batch;			/* lives in context */
	rd_kafka_topic_partition_list_t *offsets;
	MemoryContext context;
} IngestPending;

/*
 * Stored batches awaiting acknowledgement: with more, or more than four full
 * batches' worth of messages, the worker waits for the oldest.
 */
#define INGEST_MAX_PENDING 64

typedef struct IngestWorker
{
	int			index;
	IngestWorkerStats *slot;
	rd_kafka_t *consumer;
	rd_kafka_t *producer;
	rd_kafka_queue_t *queue;
	rd_kafka_queue_t *producer_queue;	/* where delivery reports arrive */
	int			wakeup_pipe[2];
	WaitEventSet *wait_set;
	int			redis_event;	/* position of the Redis socket in it, or -1 */
	SPIPlanPtr	reject_plan;
	/* a ring of pending batches, oldest first */
	IngestPending pending[INGEST_MAX_PENDING];
	int			pending_first;
	int			pending_count;
	int64		pending_messages;
	int64		backlog;		/* messages behind the partitions' ends, last seen */
	double		message_bytes;	/* mean message size of the batch being collected,
								 * or of the last one; 0: none yet */
	/* where a partition was found at its end, while nothing came since */
	int64		eof_offset[INGEST_TRACKED_PARTITIONS];
	/* offsets of batches complete but not yet committed, or NULL */
	rd_kafka_topic_partition_list_t *committable;
	TimestampTz last_commit;
	rd_kafka_message_t **msgs;
	int			msgs_capacity;
	int			msgs_held;		/* messages of the batch in progress */
	/* the settings the clients were made with; a change rebuilds them */
	char		bootstrap[IPFLOW_BOOTSTRAP_MAX];
	char	   *log_topic;
	char	   *aggregate_topic;
	char	   *group;
	char	   *security;
	bool		said_waiting_extension;
	bool		rebuild;		/* settings changed: make new clients */
} IngestWorker;

static IngestWorker worker;

static void IngestReapPending(bool wait);
static void IngestCommitOffsets(bool now);
static void IngestOffsetsCommitted(rd_kafka_t *rk, rd_kafka_resp_err_t err,
								   rd_kafka_topic_partition_list_t *offsets, void *opaque);

/*
 * Delivery report of an aggregate message, served in this thread by
 * rd_kafka_poll: counts it against its batch.
 */
static void
IngestDelivered(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	IngestPending *p = (IngestPending *) msg->_private;

	if (p == NULL)
		return;
	p->outstanding--;
	if (msg->err)
	{
		p->failed++;
		IpflowWorkerSetError(worker.slot, rd_kafka_err2str(msg->err));
	}
}

/*
 * A rebalance, served in this thread by the consumer's poll: takes the new
 * assignment, and tells the mirror which partitions are now ours before any
 * of their messages is stored.
 */
static void
IngestRebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
				rd_kafka_topic_partition_list_t *partitions, void *opaque)
{
	int		   *numbers;
	int			n = 0;
	int			i;

	if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
	{
		rd_kafka_assign(rk, NULL);
		MirrorAssigned(NULL, 0);
		return;
	}
	rd_kafka_assign(rk, partitions);
	for (i = 0; i < INGEST_TRACKED_PARTITIONS; i++)
		worker.eof_offset[i] = -1;
	numbers = palloc((partitions->cnt + 1) * sizeof(int));
	for (i = 0; i < partitions->cnt; i++)
		numbers[n++] = partitions->elems[i].partition;
	MirrorAssigned(numbers, n);
	pfree(numbers);
}

/* Errors librdkafka reports (broker down, auth failure): shown in ipflow.stats. */
static void
IngestKafkaError(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char		message[IPFLOW_ERROR_MAX];

	snprintf(message, sizeof(message), "kafka: %s", reason);
	IpflowWorkerSetError(worker.slot, message);
	if (err == RD_KAFKA_RESP_ERR__FATAL)
		ereport(LOG, (errmsg("ipflow: fatal Kafka error: %s", reason)));
}

/* Waits on the latch (and postmaster death) for ms, handling SIGHUP later. */
static void
IngestNap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Is the extension installed in this database? */
static bool
IngestExtensionExists(void)
{
	bool		exists;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = OidIsValid(get_extension_oid("ipflow", true));
	CommitTransactionCommand();
	return exists;
}

/* Frees the oldest pending batch. */
static void
IngestReleaseOldest(void)
{
	IngestPending *p = &worker.pending[worker.pending_first];
	MemoryContext context = p->context;

	worker.pending_messages -= p->batch.nmsgs;
	if (p->offsets)
		rd_kafka_topic_partition_list_destroy(p->offsets);
	MemoryContextReset(context);
	memset(p, 0, sizeof(*p));
	p->context = context;
	worker.pending_first = (worker.pending_first + 1) % INGEST_MAX_PENDING;
	worker.pending_count--;
}

/*
 * Forgets the pending batches without committing their offsets: they are
 * replayed (stored rows are skipped as duplicates) and their aggregates
 * published again.
 */
static void
IngestDropPending(void)
{
	while (worker.pending_count > 0)
		IngestReleaseOldest();
}

static void
IngestCloseClients(void)
{
	/* a client cannot be destroyed while messages still refer to it */
	while (worker.msgs_held > 0)
		rd_kafka_message_destroy(worker.msgs[--worker.msgs_held]);
	if (worker.producer)
	{
		/* commit what the broker has; the rest is replayed */
		IngestReapPending(false);
		rd_kafka_purge(worker.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(worker.producer, 1000);
	}
	IngestDropPending();
	if (worker.consumer)
		IngestCommitOffsets(true);
	if (worker.producer_queue)
	{
		rd_kafka_queue_io_event_enable(worker.producer_queue, -1, NULL, 0);
		rd_kafka_queue_destroy(worker.producer_queue);
		worker.producer_queue = NULL;
	}
	if (worker.queue)
	{
		rd_kafka_queue_io_event_enable(worker.queue, -1, NULL, 0);
		rd_kafka_queue_destroy(worker.queue);
		worker.queue = NULL;
	}
	if (worker.consumer)
	{
		/* leave the group now, so its partitions move at once */
		rd_kafka_consumer_close(worker.consumer);
		rd_kafka_destroy(worker.consumer);
		worker.consumer = NULL;
	}
	if (worker.producer)
	{
		rd_kafka_destroy(worker.producer);
		worker.producer = NULL;
	}
	MirrorStop();
	if (worker.wait_set)
	{
		FreeWaitEventSet(worker.wait_set);
		worker.wait_set = NULL;
	}
	if (worker.wakeup_pipe[0] >= 0)
	{
		close(worker.wakeup_pipe[0]);
		close(worker.wakeup_pipe[1]);
		worker.wakeup_pipe[0] = worker.wakeup_pipe[1] = -1;
	}
}

static void
IngestShutdown(int code, Datum arg)
{
	IngestCloseClients();
	if (worker.slot)
	{
		SpinLockAcquire(&IpflowShared->mutex);
		worker.slot->pid = 0;
		strlcpy(worker.slot->state, "stopped", IPFLOW_STATE_MAX);
		SpinLockRelease(&IpflowShared->mutex);
	}
}

/* The security settings in one string, to notice a change (no secret in it). */
static char *
IngestSecuritySummary(void)
{
	return psprintf("%s/%s/%s/%zu", IpflowKafkaSecurityProtocol, IpflowKafkaSaslMechanism,
					IpflowKafkaSaslUsername, strlen(IpflowKafkaSaslPassword));
}

static void
IngestRememberSettings(void)
{
	MemoryContext old;

	if (worker.log_topic)
	{
		pfree(worker.log_topic);
		pfree(worker.aggregate_topic);
		pfree(worker.group);
		pfree(worker.security);
	}
	worker.log_topic = MemoryContextStrdup(TopMemoryContext, IpflowLogTopic);
	worker.aggregate_topic = MemoryContextStrdup(TopMemoryContext, IpflowAggregateTopic);
	worker.group = MemoryContextStrdup(TopMemoryContext, IpflowConsumerGroup);
	old = MemoryContextSwitchTo(TopMemoryContext);
	worker.security = IngestSecuritySummary();
	MemoryContextSwitchTo(old);
}

/* Did a reload change anything the clients were built from? */
static bool
IngestSettingsChanged(void)
{
	char		bootstrap[IPFLOW_BOOTSTRAP_MAX];
	char	   *security;
	bool		changed;

	if (!KafkaBootstrapServers(bootstrap, sizeof(bootstrap)))
		return true;
	security = IngestSecuritySummary();
	changed = strcmp(bootstrap, worker.bootstrap) != 0 ||
		strcmp(worker.log_topic, IpflowLogTopic) != 0 ||
		strcmp(worker.aggregate_topic, IpflowAggregateTopic) != 0 ||
		strcmp(worker.group, IpflowConsumerGroup) != 0 ||
		strcmp(worker.security, security) != 0;
	pfree(security);
	return changed;
}

/* Applies a pending reload; notes whether the clients must be rebuilt. */
static void
IngestReloadIfPending(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (worker.consumer && IngestSettingsChanged())
		worker.rebuild = true;
	else
		MirrorReload();
}

/*
 * The worker's wait set: its latch, postmaster death, the librdkafka pipe,
 * and the mirror's Redis socket when there is one.
 */
static void
IngestBuildWaitSet(void)
{
	bool		want_write;
	bool		changed;
	int			fd = MirrorSocket(&want_write, &changed);

	if (worker.wait_set)
		FreeWaitEventSet(worker.wait_set);
	worker.wait_set = CreateSessionWaitEventSet(4);
	AddWaitEventToSet(worker.wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(worker.wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(worker.wait_set, WL_SOCKET_READABLE, worker.wakeup_pipe[0], NULL, NULL);
	worker.redis_event = fd < 0 ? -1 :
		AddWaitEventToSet(worker.wait_set, WL_SOCKET_READABLE | (want_write ? WL_SOCKET_WRITEABLE : 0),
						  fd, NULL, NULL);
}

/* Brings the wait set up to date with the mirror's socket. */
static void
IngestWatchMirror(void)
{
	bool		want_write;
	bool		changed;
	int			fd = MirrorSocket(&want_write, &changed);

	if (changed)
		IngestBuildWaitSet();
	else if (fd >= 0 && worker.redis_event >= 0)
		ModifyWaitEvent(worker.wait_set, worker.redis_event,
						WL_SOCKET_READABLE | (want_write ? WL_SOCKET_WRITEABLE : 0), NULL);
}

/* Builds the consumer, the aggregate producer and the wait set. */
static void
IngestOpenClients(void)
{
	rd_kafka_conf_t *conf;
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_resp_err_t err;
	char		client_id[64];

	snprintf(client_id, sizeof(client_id), "ipflow-ingest-%d", worker.index);
	IngestRememberSettings();

	conf = KafkaConfNew(worker.bootstrap, client_id);
	KafkaConfSet(conf, "group.id", IpflowConsumerGroup);
	KafkaConfSet(conf, "enable.auto.commit", "false");
	KafkaConfSet(conf, "enable.auto.offset.store", "false");
	KafkaConfSet(conf, "auto.offset.reset", "earliest");
	/* an end-of-partition event gives the lag of a partition with no news */
	KafkaConfSet(conf, "enable.partition.eof", "true");
	KafkaConfSet(conf, "session.timeout.ms", "10000");
	KafkaConfSet(conf, "heartbeat.interval.ms", "1000");
	KafkaConfSet(conf, "fetch.wait.max.ms", "10");
	/*
	 * Bound what librdkafka prefetches, so the worker's memory stays flat,
	 * but by more than a second of the worker's fastest consumption: once
	 * its queue is over a bound, librdkafka before 2.2 (no
	 * fetch.queue.backoff.ms) stops fetching for up to a second.  With 16 MB
	 * (0.6 s of events at full speed) two workers without detection stood
	 * idle a fifth of the time; 32 MB is about 1.2 s of 260-byte events at
	 * 100k events/s.
	 */
	KafkaConfSet(conf, "queued.max.messages.kbytes", "32768");

	/*
	 * The count bound stops fetching the same way (with 20,000 the worker
	 * stood idle half the time): only the byte bound above should.
	 */
	KafkaConfSet(conf, "queued.min.messages", "1000000");
	KafkaConfSet(conf, "fetch.max.bytes", "8388608");
	KafkaConfSet(conf, "topic.metadata.refresh.interval.ms", "10000");
	rd_kafka_conf_set_error_cb(conf, IngestKafkaError);
	rd_kafka_conf_set_offset_commit_cb(conf, IngestOffsetsCommitted);
	rd_kafka_conf_set_rebalance_cb(conf, IngestRebalance);
	worker.consumer = KafkaClientNew(RD_KAFKA_CONSUMER, conf);
	rd_kafka_poll_set_consumer(worker.consumer);

	conf = KafkaConfNew(worker.bootstrap, client_id);
	KafkaConfSet(conf, "partitioner", "murmur2_random");
	KafkaConfSet(conf, "acks", "all");
	KafkaConfSet(conf, "linger.ms", "5");
	KafkaConfSet(conf, "message.timeout.ms", "30000");
	rd_kafka_conf_set_dr_msg_cb(conf, IngestDelivered);
	rd_kafka_conf_set_error_cb(conf, IngestKafkaError);
	worker.producer = KafkaClientNew(RD_KAFKA_PRODUCER, conf);

	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, IpflowLogTopic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(worker.consumer, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (err)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not subscribe to topic \"%s\": %s", IpflowLogTopic, rd_kafka_err2str(err))));

	/* librdkafka writes a byte to the pipe when the queue becomes non-empty */
	if (pipe(worker.wakeup_pipe) != 0 ||
		fcntl(worker.wakeup_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
		fcntl(worker.wakeup_pipe[1], F_SETFL, O_NONBLOCK) != 0)
		ereport(ERROR, (errcode_for_socket_access(), errmsg("could not create a wakeup pipe: %m")));
	worker.queue = rd_kafka_queue_get_consumer(worker.consumer);
	rd_kafka_queue_io_event_enable(worker.queue, worker.wakeup_pipe[1], "1", 1);
	/* and when a delivery report arrives */
	worker.producer_queue = rd_kafka_queue_get_main(worker.producer);
	rd_kafka_queue_io_event_enable(worker.producer_queue, worker.wakeup_pipe[1], "1", 1);

	MirrorStart(worker.slot, IpflowLogTopic);
	IngestBuildWaitSet();
}

static void
IngestDrainPipe(void)
{
	char		buf[64];

	while (read(worker.wakeup_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * How many messages to take next: what fits in ipflow.batch_size and, at
 * the mean message size (worker.message_bytes), in ipflow.batch_max_bytes.
 * A worker's very first message is taken alone to learn a size; a sudden
 * change of size overshoots by at most what librdkafka has prefetched.
 */
static int
IngestWant(int have, int64 bytes, int64 max_bytes)
{
	double		fit;

	if (worker.message_bytes <= 0)
		return 1;
	fit = (max_bytes - bytes) / Max(worker.message_bytes, 1.0);
	return (int) Max(1.0, Min(fit, (double) (IpflowBatchSize - have)));
}

/*
 * Collects the messages that have arrived, up to ipflow.batch_size
 * messages and ipflow.batch_max_bytes.  A worker that is free stores at
 * once what came (low latency at low rates), and while it stores a batch
 * the next one queues up (big batches at high rates); only with a backlog
 * at the broker does it wait, at most ipflow.batch_timeout, to fill a
 * batch.  Returns how many; 0 after an idle second or a signal.
 */
static int
IngestCollect(void)
{
	int			have = 0;
	int64		bytes = 0;
	int64		max_bytes = (int64) IpflowBatchMaxBytesKb * 1024;
	TimestampTz first_at = 0;

	if (worker.msgs_capacity < IpflowBatchSize)
	{
		if (worker.msgs)
			pfree(worker.msgs);
		worker.msgs = MemoryContextAlloc(TopMemoryContext,
										 IpflowBatchSize * sizeof(rd_kafka_message_t *));
		worker.msgs_capacity = IpflowBatchSize;
	}

	for (;;)
	{
		ssize_t		got;
		WaitEvent	event;
		int			i;

		IngestDrainPipe();
		rd_kafka_poll(worker.producer, 0);	/* delivery reports */
		IngestReapPending(false);
		MirrorService();
		got = rd_kafka_consume_batch_queue(worker.queue, 0, worker.msgs + have,
										   IngestWant(have, bytes, max_bytes));
		for (i = 0; i < got; i++)
		{
			rd_kafka_message_t *m = worker.msgs[have + i];

			if (m->err)
			{
				/* not a message: end of partition or a consumer error */
				if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF &&
					m->partition >= 0 && m->partition < INGEST_TRACKED_PARTITIONS)
					worker.eof_offset[m->partition] = m->offset;
				else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					IpflowWorkerSetError(worker.slot, rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
				memmove(&worker.msgs[have + i], &worker.msgs[have + i + 1],
						(got - i - 1) * sizeof(rd_kafka_message_t *));
				got--;
				i--;
				continue;
			}
			bytes += m->len;
		}
		if (got > 0 && have == 0)
			first_at = GetCurrentTimestamp();
		have += got;
		worker.msgs_held = have;
		if (have > 0)
			worker.message_bytes = (double) bytes / have;
		if (have >= IpflowBatchSize || bytes >= max_bytes)
			return have;
		if (have > 0)
		{
			long		secs;
			int			usecs;

			if (got > 0)
				continue;
			/*
			 * Nothing more queued.  Caught up: store what came at once.  With
			 * a backlog of more than a full batch at the broker, more is on
			 * its way: fill the batch (for at most ipflow.batch_timeout), since
			 * the per-IP work of a batch costs the same for few events as for
			 * many.
			 */
			TimestampDifference(GetCurrentTimestamp(),
								TimestampTzPlusMilliseconds(first_at, IpflowBatchTimeoutMs),
								&secs, &usecs);
			if (worker.backlog < IpflowBatchSize || (secs == 0 && usecs == 0))
				return have;
			IngestWatchMirror();
			if (WaitEventSetWait(worker.wait_set, Max(1, secs * 1000 + usecs / 1000),
								 &event, 1, PG_WAIT_EXTENSION) > 0 &&
				(event.events & WL_LATCH_SET))
			{
				ResetLatch(MyLatch);
				CHECK_FOR_INTERRUPTS();
			}
			continue;
		}
		/* idle: commit what is complete before sleeping */
		IngestCommitOffsets(true);

		IngestWatchMirror();
		if (WaitEventSetWait(worker.wait_set, MirrorTimeoutMs(INGEST_IDLE_WAKE_MS),
							 &event, 1, PG_WAIT_EXTENSION) == 0)
			return 0;			/* idle: let the caller do its housekeeping */
		if (event.events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (ConfigReloadPending)
				return 0;
		}
	}
}

static void
IngestReject(IngestBatch *b, int msg, const char *reason)
{
	if (b->nbad == b->bad_capacity)
	{
		b->bad_capacity = Max(16, b->bad_capacity * 2);
		b->bad_msg = b->bad_msg ? repalloc(b->bad_msg, b->bad_capacity * sizeof(int))
			: palloc(b->bad_capacity * sizeof(int));
		b->bad_reason = b->bad_reason ? repalloc(b->bad_reason, b->bad_capacity * sizeof(char *))
			: palloc(b->bad_capacity * sizeof(char *));
	}
	b->bad_msg[b->nbad] = msg;
	b->bad_reason[b->nbad] = pstrdup(reason);
	b->nbad++;
}

/* An event's identity: the primary key of ipflow.events. */
typedef struct EventKey
{
	IpAddr		ip;
	int64		ts_us;
} EventKey;

/* qsort_arg order of event indexes: by IP, then time, as in the primary key. */
static int
CompareEventKeys(const void *a, const void *b, void *arg)
{
	const Event *events = arg;
	const Event *x = &events[*(const int *) a];
	const Event *y = &events[*(const int *) b];
	int			c;

	if (x->src_ip.family != y->src_ip.family)
		return x->src_ip.family < y->src_ip.family ? -1 : 1;
	c = memcmp(x->src_ip.bytes, y->src_ip.bytes, sizeof(x->src_ip.bytes));
	if (c != 0)
		return c;
	return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

/*
 * Parses every message, keeps the first of events repeated within the
 * batch, and collects the distinct IPs of the good ones.  The unique events
 * are put in primary key order: consecutive inserts then go to the same
 * index pages.
 */
static void
IngestParse(IngestBatch *b)
{
	HASHCTL		ctl;
	HTAB	   *seen_ips;
	HTAB	   *seen_keys;
	int			i;

	b->events = palloc(b->nmsgs * sizeof(Event));
	b->origins = palloc(b->nmsgs * sizeof(EventOrigin));
	b->good_msg = palloc(b->nmsgs * sizeof(int));
	b->unique = palloc(b->nmsgs * sizeof(int));
	b->ips = palloc(b->nmsgs * sizeof(Datum));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(IpAddr);
	ctl.entrysize = sizeof(IpAddr);
	ctl.hcxt = CurrentMemoryContext;
	seen_ips = hash_create("ipflow batch ips", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(EventKey);
	ctl.entrysize = sizeof(EventKey);
	seen_keys = hash_create("ipflow batch keys", b->nmsgs, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	for (i = 0; i < b->nmsgs; i++)
	{
		rd_kafka_message_t *m = b->msgs[i];
		Event	   *ev = &b->events[b->ngood];
		char		reason[EVENT_REASON_MAX];
		EventKey	key;
		bool		found;

		if (m->payload == NULL)
		{
			IngestReject(b, i, "empty message");
			continue;
		}
		if (!EventParse(m->payload, m->len, (size_t) IpflowMaxMessageSize, ev, reason))
		{
			IngestReject(b, i, reason);
			continue;
		}
		b->origins[b->ngood].partition = m->partition;
		b->origins[b->ngood].offset = m->offset;
		b->good_msg[b->ngood] = i;

		memset(&key, 0, sizeof(key));
		key.ip = ev->src_ip;
		key.ts_us = ev->ts_us;
		hash_search(seen_keys, &key, HASH_ENTER, &found);
		if (!found)
			b->unique[b->nunique++] = b->ngood;
		hash_search(seen_ips, &ev->src_ip, HASH_ENTER, &found);
		if (!found)
			b->ips[b->nips++] = IpGetInetDatum(&ev->src_ip);
		b->ngood++;
	}
	qsort_arg(b->unique, b->nunique, sizeof(int), CompareEventKeys, b->events);
}

/*
 * Stores unique events lo..hi-1 and folds the new ones into ipflow.ips;
 * when final, also makes the aggregate message of every IP of the batch.
 * With probe, events already stored are left out first (a replay);
 * without, a stored one makes the COPY fail with unique_violation.
 */
static int64
IngestStoreEvents(IngestBatch *b, int lo, int hi, bool probe, bool final, MemoryContext keep)
{
	int		   *fresh = b->unique + lo;
	int			n = hi - lo;
	int64		copied = 0;

	if (probe && n > 0)
	{
		bool	   *exists = palloc(n * sizeof(bool));
		int			kept = 0;
		int			i;

		int		   *replayed = palloc(n * sizeof(int));
		int			nreplayed = 0;

		IngestMarkExisting(b->events, b->unique + lo, n, exists);
		fresh = palloc(n * sizeof(int));
		for (i = 0; i < n; i++)
			if (!exists[i])
				fresh[kept++] = b->unique[lo + i];
			else
				replayed[nreplayed++] = b->unique[lo + i];
		n = kept;
		b->agg.context = keep;
		IngestDetectReplayed(b->events, replayed, nreplayed, &b->agg);
	}
	if (n > 0)
		copied = (int64) IngestCopyEvents(b->events, b->origins, fresh, n);
	b->txn_fresh = fresh;
	b->txn_nfresh = n;
	b->agg.context = keep;
	b->agg.count = 0;
	IngestFoldIps(b->events, fresh, n, b->ips, final ? b->nips : 0, final ? &b->agg : NULL, &b->agg);
	return copied;
}

static void
IngestInsertRejects(IngestBatch *b)
{
	Datum		args[5];
	Datum	   *topic = palloc(b->nbad * sizeof(Datum));
	Datum	   *partition = palloc(b->nbad * sizeof(Datum));
	Datum	   *offset = palloc(b->nbad * sizeof(Datum));
	Datum	   *payload = palloc(b->nbad * sizeof(Datum));
	Datum	   *reason = palloc(b->nbad * sizeof(Datum));
	int			i;

	if (b->nbad == 0)
		return;
	for (i = 0; i < b->nbad; i++)
	{
		const rd_kafka_message_t *m = b->msgs[b->bad_msg[i]];
		size_t		kept = Min(m->len, IPFLOW_REJECT_PAYLOAD_MAX);
		bytea	   *raw = palloc(VARHDRSZ + kept);

		/* the start of a large payload shows what is wrong with it */
		SET_VARSIZE(raw, VARHDRSZ + kept);
		if (kept > 0)
			memcpy(VARDATA(raw), m->payload, kept);
		topic[i] = CStringGetTextDatum(rd_kafka_topic_name(m->rkt));
		partition[i] = Int32GetDatum(m->partition);
		offset[i] = Int64GetDatum(m->offset);
		payload[i] = PointerGetDatum(raw);
		reason[i] = CStringGetTextDatum(kept < m->len
										? psprintf("%s; payload cut to its first %zu of %zu bytes",
												   b->bad_reason[i], kept, m->len)
										: b->bad_reason[i]);
	}
	args[0] = PointerGetDatum(DatumArray(topic, NULL, b->nbad, TEXTOID));
	args[1] = PointerGetDatum(DatumArray(partition, NULL, b->nbad, INT4OID));
	args[2] = PointerGetDatum(DatumArray(offset, NULL, b->nbad, INT8OID));
	args[3] = PointerGetDatum(DatumArray(payload, NULL, b->nbad, BYTEAOID));
	args[4] = PointerGetDatum(DatumArray(reason, NULL, b->nbad, TEXTOID));
	if (SPI_execute_plan(worker.reject_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ipflow: storing rejected messages failed");
}

static void
IngestPreparePlans(void)
{
	Oid			reject_types[5] = {TEXTARRAYOID, INT4ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID, TEXTARRAYOID};

	if (worker.reject_plan)
		return;
	worker.reject_plan = SPI_prepare(INGEST_REJECT_SQL, 5, reject_types);
	if (!worker.reject_plan)
		elog(ERROR, "ipflow: could not prepare the ingest statements: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(worker.reject_plan);
}

/* Forgets the prepared statements: they may be stale after an error. */
static void
IngestForgetPlans(void)
{
	if (worker.reject_plan)
		SPI_freeplan(worker.reject_plan);
	worker.reject_plan = NULL;
	IngestIpsForgetPlans();
}

/*
 * One transaction: unique events lo..hi-1, and when final, the rejects and
 * the aggregate messages.  Errors propagate to the caller.
 */
static void
IngestTransaction(IngestBatch *b, int lo, int hi, bool final, bool probe, MemoryContext keep)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "ipflow: storing a batch");

	IngestPreparePlans();
	b->txn_nfresh = 0;
	b->inserted += IngestStoreEvents(b, lo, hi, probe, final, keep);
	if (final)
	{
		IngestInsertRejects(b);
		MirrorSaveProgress();
	}
	/* for the mirror, once committed (a failure takes them back) */
	if (b->stored == NULL)
		b->stored = MemoryContextAlloc(keep, (b->nmsgs + 1) * sizeof(int));
	memcpy(b->stored + b->nstored, b->txn_fresh, b->txn_nfresh * sizeof(int));
	b->nstored += b->txn_nfresh;

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* One attempt of IngestTransaction; on error rolls back and returns the error. */
static ErrorData *
IngestTryOnce(IngestBatch *b, int lo, int hi, bool final, bool probe, MemoryContext keep)
{
	MemoryContext batch = CurrentMemoryContext;
	int64		inserted_before = b->inserted;
	int			stored_before = b->nstored;
	int			alerts_before = b->agg.nalerts;
	ErrorData  *volatile error = NULL;

	PG_TRY();
	{
		IngestTransaction(b, lo, hi, final, probe, keep);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(batch);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		b->inserted = inserted_before;
		b->nstored = stored_before;
		b->agg.nalerts = alerts_before;	/* their rows were rolled back */
		/* a failed plan may be stale (the extension was recreated) */
		IngestForgetPlans();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	return error;
}

/*
 * Runs IngestTransaction; on error rolls back and returns the error's data.
 * A first attempt copies optimistically; if a stored event (a replay) makes
 * it fail, it runs again leaving the stored events out.
 */
static ErrorData *
IngestTryTransaction(IngestBatch *b, int lo, int hi, bool final, MemoryContext keep)
{
	ErrorData  *error = IngestTryOnce(b, lo, hi, final, false, keep);

	if (error && error->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
		error = IngestTryOnce(b, lo, hi, final, true, keep);
	if (error)
		IpflowWorkerSetError(worker.slot, error->message);
	return error;
}

/*
 * Errors caused by the data rather than by the server.  A unique violation
 * is not one: it means another worker stored the same event meanwhile, and
 * the next attempt's probe will leave it out.
 */
static bool
IngestDataError(const ErrorData *error)
{
	int			class = ERRCODE_TO_CATEGORY(error->sqlerrcode);

	if (error->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
		return false;
	return class == ERRCODE_DATA_EXCEPTION || class == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

/*
 * Stores events lo..hi-1 when the whole batch hit a data error: halves
 * until the offending event is alone, which then goes to the rejects.
 */
static void
IngestStoreSplit(IngestBatch *b, int lo, int hi, MemoryContext keep)
{
	ErrorData  *error;

	if (hi <= lo)
		return;
	error = IngestTryTransaction(b, lo, hi, false, keep);
	if (error == NULL)
		return;
	if (hi - lo == 1)
	{
		IngestReject(b, b->good_msg[b->unique[lo]], psprintf("could not be stored: %s", error->message));
		b->good_msg[b->unique[lo]] = -1;
		return;
	}
	IngestStoreSplit(b, lo, lo + (hi - lo) / 2, keep);
	IngestStoreSplit(b, lo + (hi - lo) / 2, hi, keep);
}

/*
 * Stores a parsed batch.  Server-side errors (timeouts, locks, a dropped
 * table) are retried with a growing pause until they go away; a data error
 * splits the batch so that only the offending message is rejected.
 */
static void
IngestStore(IngestBatch *b, MemoryContext keep)
{
	long		pause = INGEST_RETRY_MIN_MS;

	for (;;)
	{
		ErrorData  *error = IngestTryTransaction(b, 0, b->nunique, true, keep);

		if (error == NULL)
			return;
		if (IngestDataError(error))
		{
			/* store what can be stored, reject the rest, then the rejects */
			IngestStoreSplit(b, 0, b->nunique, keep);
			while (IngestTryTransaction(b, 0, 0, true, keep) != NULL)
				IngestNap(pause = Min(pause * 2, INGEST_RETRY_MAX_MS));
			return;
		}
		ereport(LOG,
				(errmsg("ipflow: ingest worker %d could not store a batch, retrying in %ld ms: %s",
						worker.index, pause, error->message)));
		IpflowWorkerSetState(worker.slot, "retrying after an error");
		IngestNap(pause);
		pause = Min(pause * 2, INGEST_RETRY_MAX_MS);
		if (!IngestExtensionExists())
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("extension ipflow was dropped while a batch was being stored")));
	}
}

/*
 * Hands the aggregate of every IP of the batch, and the batch's anomaly
 * alerts, to the producer, without waiting for the broker: the delivery
 * reports count them off.
 */
static void
IngestProduceAggregates(IngestPending *p)
{
	IngestAggregates *agg = &p->batch.agg;
	int			i;

	for (i = 0; i < agg->count; i++)
	{
		rd_kafka_resp_err_t err;

		do
		{
			err = rd_kafka_producev(worker.producer,
									RD_KAFKA_V_TOPIC(worker.aggregate_topic),
									RD_KAFKA_V_PARTITION(agg->partitions[i] >= 0 ?
														 agg->partitions[i] : RD_KAFKA_PARTITION_UA),
									RD_KAFKA_V_KEY(agg->keys[i], strlen(agg->keys[i])),
									RD_KAFKA_V_VALUE(agg->json[i], strlen(agg->json[i])),
									RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
									RD_KAFKA_V_OPAQUE(p),
									RD_KAFKA_V_END);
			if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(worker.producer, 10);
		} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (err)
		{
			p->failed++;
			IpflowWorkerSetError(worker.slot, rd_kafka_err2str(err));
		}
		else
			p->outstanding++;
	}
	for (i = 0; i < agg->nalerts; i++)
	{
		IngestAlert *a = &agg->alerts[i];
		rd_kafka_resp_err_t err;

		do
		{
			err = rd_kafka_producev(worker.producer,
									RD_KAFKA_V_TOPIC(IpflowAnomalyTopic),
									RD_KAFKA_V_PARTITION(a->partition >= 0 ? a->partition : RD_KAFKA_PARTITION_UA),
									RD_KAFKA_V_KEY(a->key, strlen(a->key)),
									RD_KAFKA_V_VALUE(a->json, strlen(a->json)),
									RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
									RD_KAFKA_V_OPAQUE(p),
									RD_KAFKA_V_END);
			if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(worker.producer, 10);
		} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (err)
		{
			p->failed++;
			IpflowWorkerSetError(worker.slot, rd_kafka_err2str(err));
		}
		else
			p->outstanding++;
	}
}

/*
 * Waits until the broker has acknowledged or refused every aggregate of the
 * oldest pending batch; while some were refused, publishes them all again,
 * with backoff (the messages carry running totals: sending one twice is
 * harmless).  Returns false when the Kafka settings changed meanwhile.
 */
static bool
IngestAwaitOldest(void)
{
	IngestPending *p = &worker.pending[worker.pending_first];
	long		pause = INGEST_RETRY_MIN_MS;

	for (;;)
	{
		if (p->outstanding > 0)
			rd_kafka_flush(worker.producer, INGEST_FLUSH_TIMEOUT_MS);
		if (p->outstanding == 0 && p->failed == 0)
			return true;
		if (p->outstanding == 0)
		{
			IpflowWorkerSetState(worker.slot, "waiting for Kafka to take aggregates");
			IngestNap(pause);
			pause = Min(pause * 2, INGEST_RETRY_MAX_MS);
			IngestReloadIfPending();
			if (worker.rebuild)
				return false;
			p->failed = 0;
			IngestProduceAggregates(p);
		}
	}
}

/* The offset after the last message of the batch, per partition. */
static rd_kafka_topic_partition_list_t *
IngestBatchOffsets(IngestBatch *b)
{
	rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(8);
	int			i;

	for (i = 0; i < b->nmsgs; i++)
	{
		rd_kafka_message_t *m = b->msgs[i];
		const char *topic = rd_kafka_topic_name(m->rkt);
		rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(offsets, topic, m->partition);

		if (tp == NULL)
			tp = rd_kafka_topic_partition_list_add(offsets, topic, m->partition);
		if (m->offset + 1 > tp->offset)
			tp->offset = m->offset + 1;
	}
	return offsets;
}

/* Result of an asynchronous offset commit, served by the consumer's poll. */
static void
IngestOffsetsCommitted(rd_kafka_t *rk, rd_kafka_resp_err_t err,
					   rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
	{
		char		message[IPFLOW_ERROR_MAX];

		snprintf(message, sizeof(message),
				 "offset commit: %s (the batch will be replayed, without effect)",
				 rd_kafka_err2str(err));
		IpflowWorkerSetError(worker.slot, message);
	}
}

/*
 * Retires the pending batches the broker has acknowledged, oldest first:
 * their offsets may now be committed.  With wait, also waits for the
 * oldest one.
 */
static void
IngestReapPending(bool wait)
{
	rd_kafka_poll(worker.producer, 0);
	while (worker.pending_count > 0)
	{
		IngestPending *p = &worker.pending[worker.pending_first];
		rd_kafka_topic_partition_list_t *done = p->offsets;
		int			i;

		if (p->outstanding > 0 && !wait)
			return;
		if (p->outstanding > 0 || p->failed > 0)
		{
			if (!IngestAwaitOldest())
			{
				IngestDropPending();
				return;
			}
		}
		if (worker.committable == NULL)
			worker.committable = rd_kafka_topic_partition_list_new(done->cnt);
		for (i = 0; i < done->cnt; i++)
		{
			rd_kafka_topic_partition_t *tp =
				rd_kafka_topic_partition_list_find(worker.committable, done->elems[i].topic,
												   done->elems[i].partition);

			if (tp == NULL)
				tp = rd_kafka_topic_partition_list_add(worker.committable, done->elems[i].topic,
													   done->elems[i].partition);
			tp->offset = Max(tp->offset, done->elems[i].offset);
		}
		IngestReleaseOldest();
		wait = false;
	}
}

/*
 * Commits the offsets of the completed batches, when asked to or when the
 * last commit is old enough.  Asynchronously: a lost commit only replays
 * batches, which changes nothing; fewer commits spare the broker.
 */
static void
IngestCommitOffsets(bool now)
{
	rd_kafka_resp_err_t err;

	if (worker.committable == NULL)
		return;
	if (!now && !TimestampDifferenceExceeds(worker.last_commit, GetCurrentTimestamp(),
											INGEST_COMMIT_INTERVAL_MS))
		return;
	err = rd_kafka_commit(worker.consumer, worker.committable, 1);
	if (err)
		IngestOffsetsCommitted(worker.consumer, err, NULL, NULL);
	rd_kafka_topic_partition_list_destroy(worker.committable);
	worker.committable = NULL;
	worker.last_commit = GetCurrentTimestamp();
}

/* Assigned partitions and their lag, for ipflow.stats. */
static void
IngestReportAssignment(void)
{
	rd_kafka_topic_partition_list_t *assigned = NULL;
	StringInfoData parts;
	StringInfoData lag;
	int64		total = 0;
	int			i;

	if (rd_kafka_assignment(worker.consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	rd_kafka_position(worker.consumer, assigned);
	initStringInfo(&parts);
	initStringInfo(&lag);
	appendStringInfoChar(&lag, '{');
	for (i = 0; i < assigned->cnt; i++)
	{
		rd_kafka_topic_partition_t *tp = &assigned->elems[i];
		int64_t		low = 0,
					high = 0;
		int64		behind = 0;
		int64		at = tp->offset;

		/* nothing consumed since the assignment: where its end was found */
		if (at < 0 && tp->partition < INGEST_TRACKED_PARTITIONS)
			at = worker.eof_offset[tp->partition];
		if (rd_kafka_get_watermark_offsets(worker.consumer, tp->topic, tp->partition, &low, &high) == 0 &&
			high >= 0)
			behind = Max(0, high - (at >= 0 ? at : low));
		total += behind;
		appendStringInfo(&parts, "%s%d", i ? "," : "", tp->partition);
		appendStringInfo(&lag, "%s\"%d\": " INT64_FORMAT, i ? ", " : "", tp->partition, behind);
	}
	appendStringInfoChar(&lag, '}');
	rd_kafka_topic_partition_list_destroy(assigned);

	SpinLockAcquire(&IpflowShared->mutex);
	snprintf(worker.slot->partitions, IPFLOW_PARTITIONS_MAX, "%s[%s]", worker.log_topic, parts.data);
	strlcpy(worker.slot->lag, lag.data, IPFLOW_PARTITIONS_MAX);
	worker.slot->lag_total = total;
	SpinLockRelease(&IpflowShared->mutex);
	worker.backlog = total;
	/* called between batches, in the worker's long-lived context */
	pfree(parts.data);
	pfree(lag.data);
}

/*
 * Parses and stores one batch of n messages, then leaves it pending with its
 * aggregates on their way to Kafka.
 */
static void
IngestProcessBatch(int n)
{
	IngestPending *p;
	MemoryContext old;
	TimestampTz start = GetCurrentTimestamp();
	IngestBatch *b;
	long		secs;
	int			usecs;
	int			stored = 0;
	int			i;

	/* a free slot for the batch: with all taken, wait for the oldest */
	while (worker.pending_count == INGEST_MAX_PENDING ||
		   (worker.pending_count > 0 && worker.pending_messages + n > 4 * (int64) IpflowBatchSize))
		IngestReapPending(true);
	p = &worker.pending[(worker.pending_first + worker.pending_count) % INGEST_MAX_PENDING];
	worker.pending_count++;
	worker.pending_messages += n;
	b = &p->batch;
	memset(b, 0, sizeof(*b));
	old = MemoryContextSwitchTo(p->context);
	worker.msgs_held = n;
	b->nmsgs = n;
	b->msgs = worker.msgs;

	IpflowWorkerSetState(worker.slot, "storing a batch");
	IngestParse(b);
	IngestStore(b, p->context);
	MirrorBatch(b->events, b->stored, b->nstored, GetCurrentTimestamp());
	p->offsets = IngestBatchOffsets(b);

	for (i = 0; i < b->ngood; i++)
		if (b->good_msg[i] >= 0)
			stored++;
	TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
	SpinLockAcquire(&IpflowShared->mutex);
	worker.slot->messages += n;
	worker.slot->inserted += b->inserted;
	worker.slot->duplicates += stored - b->inserted;
	worker.slot->rejected += b->nbad;
	worker.slot->batches++;
	worker.slot->aggregates += b->agg.count;
	worker.slot->last_batch_size = n;
	worker.slot->last_batch_ms = secs * 1000.0 + usecs / 1000.0;
	worker.slot->last_batch_at = GetCurrentTimestamp();
	SpinLockRelease(&IpflowShared->mutex);

	for (i = 0; i < n; i++)
		rd_kafka_message_destroy(worker.msgs[i]);
	worker.msgs_held = 0;
	b->msgs = NULL;
	MemoryContextSwitchTo(old);

	IngestProduceAggregates(p);
	IngestReapPending(false);
	IngestCommitOffsets(false);
	IpflowWorkerSetState(worker.slot, "consuming");
}

/* Waits until the extension exists here and the broker can be reached. */
static void
IngestWaitUntilReady(void)
{
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!IngestExtensionExists())
		{
			if (!worker.said_waiting_extension)
				ereport(LOG,
						(errmsg("ipflow: ingest worker %d is waiting for CREATE EXTENSION ipflow in database \"%s\"",
								worker.index, IpflowDatabase)));
			worker.said_waiting_extension = true;
			IpflowWorkerSetState(worker.slot, "waiting for CREATE EXTENSION ipflow");
		}
		else if (!KafkaBootstrapServers(worker.bootstrap, sizeof(worker.bootstrap)))
			IpflowWorkerSetState(worker.slot, "waiting for the embedded broker");
		else
		{
			worker.said_waiting_extension = false;
			return;
		}
		IngestNap(5000);
	}
}

/* Asks the embedded broker for the topics of ipflow.topics. */
static void
IngestCreateEmbeddedTopics(void)
{
	if (strcmp(IpflowKafkaBrokers, "embedded") != 0)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	BrokerRequestTopics();
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Gives the memory freed since the last call back to the kernel.  glibc
 * keeps freed memory in the arena of the thread that had it: while the
 * worker caught up with a backlog, its own arena and those of librdkafka's
 * broker threads grew to 136 MB and kept it with 6 MB in use
 * (malloc_stats), and the worker's private memory showed 128 MB for good.
 */
static void
IngestReturnFreeMemory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Consumes until the settings change or the extension goes away. */
static void
IngestConsume(void)
{
	TimestampTz last_check = GetCurrentTimestamp();
	TimestampTz last_trim = last_check;

	IngestCreateEmbeddedTopics();
	IngestOpenClients();
	IpflowWorkerSetState(worker.slot, "consuming");

	for (;;)
	{
		int			n;

		CHECK_FOR_INTERRUPTS();
		IngestReloadIfPending();
		if (worker.rebuild)
			break;
		n = IngestCollect();
		if (n > 0)
			IngestProcessBatch(n);
		if (n == 0 || TimestampDifferenceExceeds(last_check, GetCurrentTimestamp(), INGEST_IDLE_WAKE_MS))
		{
			IngestReportAssignment();
			MirrorSaveProgressNow();
			last_check = GetCurrentTimestamp();
			if (TimestampDifferenceExceeds(last_trim, last_check, INGEST_TRIM_INTERVAL_MS))
			{
				IngestReturnFreeMemory();
				last_trim = last_check;
			}
			if (n == 0 && !IngestExtensionExists())
				break;
		}
	}
	IngestCloseClients();
	worker.rebuild = false;
	IngestForgetPlans();
}

void
IpflowIngestMain(Datum arg)
{
	Oid			dboid;
	int			i;

	memset(&worker, 0, sizeof(worker));
	worker.index = DatumGetInt32(arg);
	worker.wakeup_pipe[0] = worker.wakeup_pipe[1] = -1;
	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname(psprintf("ipflow ingest %d", worker.index));

	worker.slot = IpflowWorkerSlot(worker.index);
	SpinLockAcquire(&IpflowShared->mutex);
	memset(worker.slot, 0, sizeof(IngestWorkerStats));
	worker.slot->pid = MyProcPid;
	worker.slot->started_at = GetCurrentTimestamp();
	strlcpy(worker.slot->state, "starting", IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
	before_shmem_exit(IngestShutdown, 0);

	for (i = 0; i < INGEST_MAX_PENDING; i++)
		worker.pending[i].context = AllocSetContextCreate(TopMemoryContext, "ipflow ingest batch",
														  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		IngestWaitUntilReady();
		IngestConsume();
	}
}
