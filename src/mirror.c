/*
 * mirror.c - an ingest worker's copy of its events into Redis
 *
 * After each batch commits, its new events go to Redis as one sample per
 * IP and feature (src/redis.c has the layout), pipelined on a non-blocking
 * connection that the worker's wait set watches: the worker never waits for
 * Redis, so Redis down or slow never holds up ingestion.
 *
 * What reached Redis is tracked per partition of the log topic: "every event
 * of partition p stored before T is in Redis", kept in memory and saved in
 * ipflow.mirror_progress inside the next batch's transaction.  When Redis
 * fails (or falls too far behind), the worker drops the connection and the
 * partitions are no longer "caught up"; once Redis answers again, each
 * assigned partition is caught up from ipflow.events, from its saved
 * progress to the moment of reconnection, in time windows (a BRIN index on
 * ingested_at finds them), while new batches are mirrored live.  Writing a
 * sample twice is harmless in both backends, so overlaps duplicate nothing.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <hiredis/sds.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "ingest_copy.h"
#include "ip.h"
#include "mirror.h"
#include "redis.h"

/* the handshake blocks the worker: keep it short, whatever redis_timeout */
#define MIRROR_CONNECT_TIMEOUT_MS 1000
#define MIRROR_RETRY_MIN_MS 1000
#define MIRROR_RETRY_MAX_MS 30000
/* IPs remembered as having their series; beyond, forgotten (made again) */
#define MIRROR_MAX_KNOWN_IPS 262144
/*
 * ... and at least this often, so that series whose labels or index
 * entries Redis lost (FLUSHALL, eviction) are declared again: until then
 * their samples are written but dump does not find them.
 */
#define MIRROR_REDECLARE_MS (5 * 60 * 1000)
/* catch-up: windows of stored time, aiming at this many events each */
#define MIRROR_CATCHUP_EVENTS 20000
/*
 * ... and at most a quarter of ipflow.mirror_max_buffer of commands, at the
 * bytes per event seen (this to start: an event of an IP new to Redis)
 */
#define MIRROR_FIRST_BYTES_PER_EVENT 4096.0
#define MIRROR_CATCHUP_FIRST_WINDOW_US (60 * USECS_PER_SEC)
#define MIRROR_MAX_PARTITIONS 4096

/* Commands sent and not yet answered, in order. */
typedef struct MirrorJob
{
	int			replies;		/* still to come */
	bool		failed;
	TimestampTz queued_at;
	int64		events;
	int64		samples;
	TimestampTz live_until;		/* live batch: committed at */
	int			catchup_partition;	/* catch-up window: partition, else -1 */
	TimestampTz catchup_until;	/* window end */
	bool		catchup_last;	/* the partition is caught up after it */
	struct MirrorJob *next;
} MirrorJob;

typedef struct MirrorPartition
{
	bool		assigned;
	bool		was_assigned;
	bool		loaded;			/* saved progress read from the table */
	bool		caught_up;		/* live mirroring covers it from now on */
	bool		catching_up;	/* windows queued, not all answered */
	TimestampTz saved;			/* in ipflow.mirror_progress */
	TimestampTz in_redis;		/* what Redis itself records it has */
	TimestampTz progress;		/* known to be in Redis up to here */
	TimestampTz cursor;			/* catch-up: next window starts here */
	TimestampTz target;			/* catch-up: ends here */
	int64		window_us;
} MirrorPartition;

typedef struct MirrorState
{
	bool		enabled;
	IngestWorkerStats *slot;
	char	   *topic;
	redisContext *redis;
	RedisBackend backend;
	bool		socket_changed;
	TimestampTz retry_at;
	long		retry_ms;
	HTAB	   *series;			/* IPs whose series exist on this connection */
	TimestampTz series_since;	/* when series was last emptied */
	MirrorJob  *first;
	MirrorJob  *last;
	MirrorPartition *partitions;	/* indexed by partition number */
	int64		behind;			/* events stored while Redis was away */
	int64		in_flight;		/* events sent, not yet answered */
	int64		mirrored;		/* samples Redis acknowledged */
	double		bytes_per_event;	/* of commands, in the last catch-up window */
	MemoryContext context;
	/* the settings it was started with */
	char	   *url;
	char	   *password;
	int			backend_setting;
} MirrorState;

static MirrorState mirror;

/* More than ipflow.mirror_max_buffer unsent: Redis is too slow. */
static bool
MirrorOverBuffer(double fraction)
{
	return mirror.redis && mirror.redis->obuf &&
		sdslen(mirror.redis->obuf) > fraction * IpflowMirrorMaxBufferKb * 1024.0;
}

static void MirrorPopAnswered(void);

/* Forgets what is known of a partition: its saved progress is read again. */
static void
MirrorPartitionReset(MirrorPartition *mp)
{
	bool		assigned = mp->assigned;

	memset(mp, 0, sizeof(*mp));
	mp->assigned = assigned;
	mp->saved = mp->progress = mp->in_redis = DT_NOBEGIN;
}

/* Shows the mirror's state in ipflow.stats. */
static void
MirrorReport(const char *state)
{
	SpinLockAcquire(&IpflowShared->mutex);
	if (state)
		strlcpy(mirror.slot->mirror, state, IPFLOW_STATE_MAX);
	mirror.slot->mirror_lag = mirror.behind + mirror.in_flight;
	mirror.slot->mirrored = mirror.mirrored;
	SpinLockRelease(&IpflowShared->mutex);
}

/* Forgets which IPs have their series made on this connection. */
static void
MirrorForgetSeries(void)
{
	HASHCTL		ctl;

	if (mirror.series)
		hash_destroy(mirror.series);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(IpAddr);
	ctl.entrysize = sizeof(IpAddr);
	ctl.hcxt = mirror.context;
	mirror.series = hash_create("ipflow mirror series", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	mirror.series_since = GetCurrentTimestamp();
}

static void
MirrorFreeJobs(void)
{
	while (mirror.first)
	{
		MirrorJob  *next = mirror.first->next;

		pfree(mirror.first);
		mirror.first = next;
	}
	mirror.last = NULL;
}

/*
 * Drops the connection after a failure: what was in flight counts as behind,
 * and every partition must be caught up again once Redis is back.
 */
static void
MirrorDisconnect(const char *why)
{
	char		message[IPFLOW_ERROR_MAX];
	int			p;

	/* why may be the connection's errstr: keep it before freeing that */
	if (why)
		snprintf(message, sizeof(message), "redis: %s (the mirror catches up when Redis is back)", why);
	if (mirror.redis)
	{
		redisFree(mirror.redis);
		mirror.redis = NULL;
		mirror.socket_changed = true;
	}
	MirrorFreeJobs();
	mirror.behind += mirror.in_flight;
	mirror.in_flight = 0;
	hash_destroy(mirror.series);
	mirror.series = NULL;
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
	{
		mirror.partitions[p].caught_up = false;
		mirror.partitions[p].catching_up = false;
	}
	mirror.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), mirror.retry_ms);
	mirror.retry_ms = Min(mirror.retry_ms * 2, MIRROR_RETRY_MAX_MS);
	if (why)
		IpflowWorkerSetError(mirror.slot, message);
	MirrorReport("behind");
}

void
MirrorStart(IngestWorkerStats *slot, const char *topic)
{
	int			p;

	MirrorStop();
	mirror.slot = slot;
	mirror.enabled = RedisEnabled();
	if (mirror.context == NULL)
		mirror.context = AllocSetContextCreate(TopMemoryContext, "ipflow mirror",
											   ALLOCSET_DEFAULT_SIZES);
	mirror.topic = MemoryContextStrdup(mirror.context, topic);
	mirror.partitions = MemoryContextAllocZero(mirror.context,
											   MIRROR_MAX_PARTITIONS * sizeof(MirrorPartition));
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		MirrorPartitionReset(&mirror.partitions[p]);
	mirror.url = MemoryContextStrdup(mirror.context, IpflowRedisUrl ? IpflowRedisUrl : "");
	mirror.password = MemoryContextStrdup(mirror.context, IpflowRedisPassword ? IpflowRedisPassword : "");
	mirror.backend_setting = IpflowRedisBackend;
	mirror.retry_ms = MIRROR_RETRY_MIN_MS;
	mirror.retry_at = 0;
	MirrorReport(mirror.enabled ? "connecting" : "off");
}

/*
 * After a reload: starts over if the Redis settings changed, keeping the
 * partitions the worker has (the consumer is not rebuilt, so no rebalance
 * will tell them again); their progress is read again from the table.
 */
void
MirrorReload(void)
{
	if (mirror.slot == NULL || mirror.url == NULL)
		return;
	if (strcmp(mirror.url, IpflowRedisUrl ? IpflowRedisUrl : "") != 0 ||
		strcmp(mirror.password, IpflowRedisPassword ? IpflowRedisPassword : "") != 0 ||
		mirror.backend_setting != IpflowRedisBackend)
	{
		char	   *topic = pstrdup(mirror.topic);
		int		   *assigned = palloc(MIRROR_MAX_PARTITIONS * sizeof(int));
		int			n = 0;
		int			p;

		for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
			if (mirror.partitions[p].assigned)
				assigned[n++] = p;
		MirrorStart(mirror.slot, topic);
		for (p = 0; p < n; p++)
			mirror.partitions[assigned[p]].assigned = true;
		pfree(assigned);
		pfree(topic);
	}
}

void
MirrorStop(void)
{
	if (mirror.redis)
	{
		redisFree(mirror.redis);
		mirror.redis = NULL;
		mirror.socket_changed = true;
	}
	MirrorFreeJobs();
	if (mirror.series)
		hash_destroy(mirror.series);
	mirror.series = NULL;
	mirror.behind = mirror.in_flight = 0;
	if (mirror.context)
		MemoryContextReset(mirror.context);
	mirror.partitions = NULL;
	mirror.url = mirror.password = mirror.topic = NULL;
	mirror.enabled = false;
}

/* The hash in which Redis records, with the samples, how far it has them. */
static char *
MirrorProgressKey(void)
{
	return psprintf("ipflow:mirror:%s", mirror.topic);
}

/*
 * Reads what Redis records of its own progress.  A Redis that lost data
 * (restarted without persistence, or from an older snapshot, or flushed)
 * has lost this record with the samples, so the catch-up then starts from
 * what it really has, not from what the worker last knew.
 */
static bool
MirrorReadRedisProgress(redisContext *c, char **error)
{
	redisReply *reply = redisCommand(c, "HGETALL %s", MirrorProgressKey());
	size_t		i;
	int			p;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
	{
		*error = psprintf("could not read the mirror's progress from Redis: %s",
						  reply == NULL ? RedisConnectionError(c) : reply->type == REDIS_REPLY_ERROR ? reply->str : "bad reply");
		if (reply)
			freeReplyObject(reply);
		return false;
	}
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		mirror.partitions[p].in_redis = DT_NOBEGIN;
	for (i = 0; i + 1 < reply->elements; i += 2)
	{
		p = atoi(reply->element[i]->str);
		if (p >= 0 && p < MIRROR_MAX_PARTITIONS && reply->element[i + 1]->type == REDIS_REPLY_STRING)
			mirror.partitions[p].in_redis = strtoll(reply->element[i + 1]->str, NULL, 10);
	}
	freeReplyObject(reply);
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		mirror.partitions[p].progress = Min(mirror.partitions[p].progress, mirror.partitions[p].in_redis);
	return true;
}

/*
 * Pipelines, behind the samples just sent, Redis' own record that the
 * partitions are complete up to until: Redis applies commands in order, so
 * whatever it keeps of this record, it keeps the samples before it.
 */
static int
MirrorAppendProgress(const int *partitions, int n, TimestampTz until)
{
	const char **argv;
	size_t	   *argl;
	char	   *text;
	int			argc = 0;
	int			i;

	if (n == 0)
		return 0;
	argv = palloc((2 + 2 * n) * sizeof(char *));
	argl = palloc((2 + 2 * n) * sizeof(size_t));
	text = palloc(n * 48);
	argv[argc++] = "HSET";
	argv[argc++] = MirrorProgressKey();
	for (i = 0; i < n; i++)
	{
		char	   *t = text + i * 48;

		argv[argc++] = t;
		snprintf(t, 16, "%d", partitions[i]);
		argv[argc++] = t + 16;
		snprintf(t + 16, 32, INT64_FORMAT, until);
	}
	for (i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	redisAppendCommandArgv(mirror.redis, argc, argv, argl);
	pfree(argv);
	pfree(argl);
	pfree(text);
	return 1;
}

/* Connects when it is time to try; on success catch-up starts. */
static void
MirrorConnect(void)
{
	char	   *error = NULL;
	redisContext *c;
	int			p;

	if (mirror.retry_at != 0 && GetCurrentTimestamp() < mirror.retry_at)
		return;
	c = RedisOpen(MIRROR_CONNECT_TIMEOUT_MS, &error);
	if (c != NULL && !RedisResolveBackend(c, &mirror.backend, &error))
	{
		redisFree(c);
		c = NULL;
	}
	if (c == NULL)
	{
		MirrorDisconnect(error);
		return;
	}
	if (!MirrorReadRedisProgress(c, &error))
	{
		redisFree(c);
		MirrorDisconnect(error);
		return;
	}
	/* from now on the socket never blocks the worker */
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
	{
		redisFree(c);
		MirrorDisconnect("could not make the Redis socket non-blocking");
		return;
	}
	c->flags &= ~REDIS_BLOCK;
	mirror.redis = c;
	mirror.socket_changed = true;
	mirror.retry_ms = MIRROR_RETRY_MIN_MS;

	MirrorForgetSeries();

	/* stored before now: caught up from ipflow.events; after: live */
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		if (mirror.partitions[p].assigned)
			mirror.partitions[p].target = GetCurrentTimestamp();
	MirrorReport("catching up");
}

int
MirrorSocket(bool *want_write, bool *changed)
{
	*changed = mirror.socket_changed;
	mirror.socket_changed = false;
	*want_write = mirror.redis && mirror.redis->obuf && sdslen(mirror.redis->obuf) > 0;
	return mirror.redis ? mirror.redis->fd : -1;
}

long
MirrorTimeoutMs(long idle_ms)
{
	TimestampTz wake;
	long		secs;
	int			usecs;

	/* the next reconnection attempt, or the oldest reply's deadline */
	if (!mirror.enabled)
		return idle_ms;
	if (mirror.redis == NULL && mirror.retry_at != 0)
		wake = mirror.retry_at;
	else if (mirror.redis && mirror.first)
		wake = TimestampTzPlusMilliseconds(mirror.first->queued_at, IpflowRedisTimeoutMs);
	else
		return idle_ms;
	TimestampDifference(GetCurrentTimestamp(), wake, &secs, &usecs);
	return Max(1, Min(idle_ms, secs * 1000 + usecs / 1000 + 1));
}

static int
MirrorCompareEvents(const void *a, const void *b)
{
	const Event *x = *(const Event *const *) a;
	const Event *y = *(const Event *const *) b;
	int			c = memcmp(&x->src_ip, &y->src_ip, sizeof(IpAddr));

	if (c != 0)
		return c;
	return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

/*
 * Pipelines the samples of events (and the series of IPs new on this
 * connection); returns how many replies they bring, counting samples.
 */
static int
MirrorAppendEvents(Event **events, int n, int64 *samples)
{
	int64	   *ts_ms = palloc((n + 1) * sizeof(int64));
	double	   *values = palloc((n + 1) * sizeof(double));
	int			replies = 0;
	int			i,
				j,
				f;

	/* a flood of new IPs must not grow the worker: forget, make again */
	if (hash_get_num_entries(mirror.series) >= MIRROR_MAX_KNOWN_IPS ||
		TimestampDifferenceExceeds(mirror.series_since, GetCurrentTimestamp(), MIRROR_REDECLARE_MS))
		MirrorForgetSeries();

	/* one command per IP and feature: group the events by IP */
	qsort(events, n, sizeof(Event *), MirrorCompareEvents);
	for (i = 0; i < n; i = j)
	{
		bool		found;

		for (j = i + 1; j < n && memcmp(&events[j]->src_ip, &events[i]->src_ip, sizeof(IpAddr)) == 0; j++)
			;
		hash_search(mirror.series, &events[i]->src_ip, HASH_ENTER, &found);
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			char		key[REDIS_KEY_MAX];
			int			k,
						m = 0;

			if (!found)
				replies += RedisAppendCreateSeries(mirror.redis, mirror.backend,
												   events[i]->src_ip_text, EventFeatureNames[f]);
			for (k = i; k < j; k++)
			{
				if (!(events[k]->present & (1U << f)) ||
					!RedisCanStore(mirror.backend, events[k]->ts_us / 1000))
					continue;
				ts_ms[m] = events[k]->ts_us / 1000;
				values[m] = (double) events[k]->features[f];
				m++;
			}
			if (m == 0)
				continue;
			RedisSeriesKey(key, EventFeatureNames[f], events[i]->src_ip_text);
			replies += RedisAppendSamples(mirror.redis, mirror.backend, key, ts_ms, values, m);
			*samples += m;
		}
	}
	pfree(ts_ms);
	pfree(values);
	return replies;
}

static MirrorJob *
MirrorQueueJob(int replies, int64 events, int64 samples)
{
	MirrorJob  *job = MemoryContextAllocZero(mirror.context, sizeof(MirrorJob));

	job->replies = replies;
	job->queued_at = GetCurrentTimestamp();
	job->events = events;
	job->samples = samples;
	job->catchup_partition = -1;
	if (mirror.last)
		mirror.last->next = job;
	else
		mirror.first = job;
	mirror.last = job;
	mirror.in_flight += events;
	return job;
}

void
MirrorBatch(const Event *events, const int *which, int n, TimestampTz committed_at)
{
	Event	  **sorted;
	int64		samples = 0;
	int			replies;
	int			i;

	if (!mirror.enabled || n == 0)
		return;
	if (mirror.redis == NULL)
	{
		mirror.behind += n;
		MirrorReport(NULL);
		return;
	}
	sorted = palloc(n * sizeof(Event *));
	for (i = 0; i < n; i++)
		sorted[i] = (Event *) &events[which[i]];
	replies = MirrorAppendEvents(sorted, n, &samples);
	{
		int		   *caught_up = palloc(MIRROR_MAX_PARTITIONS * sizeof(int));
		int			ncaught = 0;
		int			p;

		for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
			if (mirror.partitions[p].caught_up)
				caught_up[ncaught++] = p;
		replies += MirrorAppendProgress(caught_up, ncaught, committed_at);
		pfree(caught_up);
	}
	MirrorQueueJob(replies, n, samples)->live_until = committed_at;
	MirrorPopAnswered();
	pfree(sorted);
}

void
MirrorAssigned(const int *partitions, int n)
{
	int			p;

	/* kept with the mirror off too: a reload may turn it on */
	if (mirror.partitions == NULL)
		return;
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		mirror.partitions[p].was_assigned = mirror.partitions[p].assigned;
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		mirror.partitions[p].assigned = false;
	for (p = 0; p < n; p++)
		if (partitions[p] >= 0 && partitions[p] < MIRROR_MAX_PARTITIONS)
			mirror.partitions[partitions[p]].assigned = true;
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
	{
		MirrorPartition *mp = &mirror.partitions[p];

		if (mp->was_assigned && !mp->assigned)
		{
			/* another worker has it now: read its progress again if it returns */
			MirrorPartitionReset(mp);
		}
		else if (mp->assigned && !mp->was_assigned && mirror.redis)
			mp->target = GetCurrentTimestamp();
	}
}

/* A job is answered: progress, counters, or a failure. */
static void
MirrorJobDone(MirrorJob *job)
{
	int			p;

	mirror.in_flight -= job->events;
	if (job->failed)
		return;
	mirror.mirrored += job->samples;
	if (job->catchup_partition >= 0)
	{
		MirrorPartition *mp = &mirror.partitions[job->catchup_partition];

		mirror.behind = Max(0, mirror.behind - job->events);
		mp->progress = Max(mp->progress, job->catchup_until);
		if (job->catchup_last)
		{
			mp->caught_up = true;
			mp->catching_up = false;
		}
		return;
	}
	/* a live batch: every caught-up partition is in Redis up to its commit */
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		if (mirror.partitions[p].caught_up)
			mirror.partitions[p].progress = Max(mirror.partitions[p].progress, job->live_until);
}

/* Completes the answered jobs at the head of the queue, in order. */
static void
MirrorPopAnswered(void)
{
	while (mirror.first && mirror.first->replies == 0)
	{
		MirrorJob  *job = mirror.first;

		mirror.first = job->next;
		if (mirror.first == NULL)
			mirror.last = NULL;
		MirrorJobDone(job);
		pfree(job);
	}
}

/* Writes what the socket takes and handles the replies that came. */
static void
MirrorExchange(void)
{
	int			done = 0;
	void	   *reply = NULL;

	if (mirror.redis->obuf && sdslen(mirror.redis->obuf) > 0 &&
		redisBufferWrite(mirror.redis, &done) != REDIS_OK)
	{
		MirrorDisconnect(mirror.redis->errstr);
		return;
	}
	if (redisBufferRead(mirror.redis) != REDIS_OK)
	{
		MirrorDisconnect(mirror.redis->errstr[0] ? mirror.redis->errstr : "connection lost");
		return;
	}
	for (;;)
	{
		MirrorJob  *job = mirror.first;

		if (redisGetReplyFromReader(mirror.redis, &reply) != REDIS_OK)
		{
			MirrorDisconnect(mirror.redis->errstr);
			return;
		}
		if (reply == NULL)
			break;
		if (job == NULL || job->replies == 0)
		{
			freeReplyObject(reply);
			MirrorDisconnect("a reply to no command");
			return;
		}
		if (RedisReplyFailed(reply))
		{
			char		message[IPFLOW_ERROR_MAX];

			snprintf(message, sizeof(message), "Redis refused a mirror command: %s",
					 RedisReplyError(reply));
			job->failed = true;
			freeReplyObject(reply);
			MirrorDisconnect(message);
			return;
		}
		freeReplyObject(reply);
		job->replies--;
		MirrorPopAnswered();
	}
	if (MirrorOverBuffer(1.0))
		MirrorDisconnect("Redis is not keeping up (more than ipflow.mirror_max_buffer unsent)");
	else if (mirror.first &&
			 TimestampDifferenceExceeds(mirror.first->queued_at, GetCurrentTimestamp(),
										IpflowRedisTimeoutMs))
		MirrorDisconnect(psprintf("no reply within ipflow.redis_timeout (%d ms)", IpflowRedisTimeoutMs));
}

/* Reads the saved progress of the assigned partitions not yet known. */
static void
MirrorLoadProgress(void)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	int			p;

	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
	{
		MirrorPartition *mp = &mirror.partitions[p];
		Datum		args[2];

		if (!mp->assigned || mp->loaded)
			continue;
		args[0] = CStringGetTextDatum(mirror.topic);
		args[1] = Int32GetDatum(p);
		if (SPI_execute_with_args("SELECT mirrored_until FROM ipflow.mirror_progress"
								  " WHERE topic = $1 AND kafka_partition = $2",
								  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read ipflow.mirror_progress");
		if (SPI_processed == 1)
		{
			bool		isnull;

			mp->saved = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		else
			mp->saved = DT_NOBEGIN;
		mp->progress = Min(mp->saved, mp->in_redis);
		mp->loaded = true;
	}
}

/*
 * Queues the next catch-up window of one partition: the events it stored
 * in [cursor, cursor + window), read from ipflow.events.
 */
static void
MirrorCatchUpWindow(int p)
{
	MirrorPartition *mp = &mirror.partitions[p];
	Oid			types[3] = {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[3];
	TimestampTz until;
	Event	   *events;
	Event	  **sorted;
	int64		samples = 0;
	int			replies;
	MirrorJob  *job;
	size_t		before;
	uint64		i;
	int			f;

	if (!mp->catching_up)
	{
		mp->catching_up = true;
		mp->cursor = mp->progress;
		mp->window_us = MIRROR_CATCHUP_FIRST_WINDOW_US;
		if (mp->cursor == DT_NOBEGIN)
		{
			/* nothing saved: from this partition's first event */
			args[0] = Int32GetDatum(p);
			if (SPI_execute_with_args("SELECT min(ingested_at) FROM ipflow.events WHERE kafka_partition = $1",
									  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read ipflow.events");
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

				mp->cursor = isnull ? mp->target : DatumGetTimestampTz(d);
			}
		}
	}
	until = mp->cursor + mp->window_us;
	if (until >= mp->target || mp->cursor >= mp->target)
		until = mp->target;

	/*
	 * Few enough events that their commands fit the buffer: the window ends
	 * at the batch (one ingested_at) where the limit falls, or after the
	 * first batch if that alone is larger.
	 */
	{
		Oid			end_types[4] = {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID};
		Datum		end_args[4];
		double		per_event = mirror.bytes_per_event > 0 ? mirror.bytes_per_event : MIRROR_FIRST_BYTES_PER_EVENT;
		int64		most = (int64) Max(100.0, Min(MIRROR_CATCHUP_EVENTS,
												 IpflowMirrorMaxBufferKb * 1024.0 / 4 / per_event));

		end_args[0] = Int32GetDatum(p);
		end_args[1] = TimestampTzGetDatum(mp->cursor);
		end_args[2] = TimestampTzGetDatum(until);
		end_args[3] = Int64GetDatum(most);
		if (SPI_execute_with_args("SELECT ingested_at FROM ipflow.events"
								  " WHERE kafka_partition = $1 AND ingested_at >= $2 AND ingested_at < $3"
								  " ORDER BY ingested_at OFFSET $4 LIMIT 1",
								  4, end_types, end_args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read ipflow.events");
		if (SPI_processed == 1)
		{
			bool		isnull;
			TimestampTz end = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
																SPI_tuptable->tupdesc, 1, &isnull));

			until = end > mp->cursor ? end : end + 1;
		}
	}

	args[0] = Int32GetDatum(p);
	args[1] = TimestampTzGetDatum(mp->cursor);
	args[2] = TimestampTzGetDatum(until);
	if (SPI_execute_with_args("SELECT src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, pkts_sent,"
							  " pkts_received, bytesin, bytesout, unq_dst_port FROM ipflow.events"
							  " WHERE kafka_partition = $1 AND ingested_at >= $2 AND ingested_at < $3",
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.events");

	events = palloc((SPI_processed + 1) * sizeof(Event));
	sorted = palloc((SPI_processed + 1) * sizeof(Event *));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Event	   *ev = &events[i];
		bool		isnull;

		memset(ev, 0, sizeof(Event));
		InetDatumGetIp(SPI_getbinval(tuple, desc, 1, &isnull), &ev->src_ip);
		IpFormat(&ev->src_ip, ev->src_ip_text);
		ev->ts_us = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &isnull)) + UNIX_TO_POSTGRES_US;
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			Datum		d = SPI_getbinval(tuple, desc, 3 + f, &isnull);

			if (!isnull)
			{
				ev->features[f] = DatumGetInt64(d);
				ev->present |= 1U << f;
			}
		}
		sorted[i] = ev;
	}
	before = mirror.redis->obuf ? sdslen(mirror.redis->obuf) : 0;
	replies = MirrorAppendEvents(sorted, (int) SPI_processed, &samples);
	replies += MirrorAppendProgress(&p, 1, until);
	if (SPI_processed > 0 && mirror.redis->obuf)
		mirror.bytes_per_event = (double) (sdslen(mirror.redis->obuf) - before) / SPI_processed;
	job = MirrorQueueJob(replies, (int64) SPI_processed, samples);
	job->catchup_partition = p;
	job->catchup_until = until;
	job->catchup_last = until >= mp->target;
	MirrorPopAnswered();		/* an empty window is answered at once */

	/* aim the next window at about MIRROR_CATCHUP_EVENTS events */
	if (SPI_processed > MIRROR_CATCHUP_EVENTS)
		mp->window_us = Max(mp->window_us / 2, 1000);
	else if (SPI_processed < MIRROR_CATCHUP_EVENTS / 4)
		mp->window_us = Min(mp->window_us * 4, (int64) 24 * 3600 * USECS_PER_SEC);
	mp->cursor = until;
}

/* One catch-up step, if a partition needs one and Redis has room. */
static void
MirrorCatchUp(void)
{
	int			p;
	bool		any = false;

	if (mirror.redis == NULL || MirrorOverBuffer(0.25))
		return;
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		if (mirror.partitions[p].assigned && !mirror.partitions[p].caught_up &&
			(!mirror.partitions[p].catching_up || mirror.partitions[p].cursor < mirror.partitions[p].target))
		{
			any = true;
			break;
		}
	if (!any)
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "ipflow: catching up the Redis mirror");
	MirrorLoadProgress();
	MirrorCatchUpWindow(p);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
MirrorService(void)
{
	MemoryContext old;
	int			p;
	bool		all_caught_up = true;

	if (!mirror.enabled)
		return;
	old = MemoryContextSwitchTo(mirror.context);
	if (mirror.redis == NULL)
		MirrorConnect();
	if (mirror.redis)
		MirrorExchange();
	MemoryContextSwitchTo(old);
	if (mirror.redis)
		MirrorCatchUp();
	if (mirror.redis)
	{
		old = MemoryContextSwitchTo(mirror.context);
		MirrorExchange();
		MemoryContextSwitchTo(old);
	}
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
		if (mirror.partitions && mirror.partitions[p].assigned && !mirror.partitions[p].caught_up)
			all_caught_up = false;

	/*
	 * Every partition the worker has is in Redis up to the reconnection and
	 * live since: what is still counted behind was deleted from
	 * ipflow.events meanwhile, or belongs to partitions gone to another
	 * worker.
	 */
	if (mirror.redis && all_caught_up)
		mirror.behind = 0;
	MirrorReport(mirror.redis == NULL ? "behind" : all_caught_up ? "live" : "catching up");
}

/* Outside a batch (idle): saves the progress in a transaction of its own. */
void
MirrorSaveProgressNow(void)
{
	int			p;
	bool		any = false;

	if (!mirror.enabled || mirror.partitions == NULL)
		return;
	for (p = 0; p < MIRROR_MAX_PARTITIONS && !any; p++)
		any = mirror.partitions[p].loaded && mirror.partitions[p].caught_up &&
			mirror.partitions[p].progress > mirror.partitions[p].saved;
	if (!any)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	MirrorSaveProgress();
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

void
MirrorSaveProgress(void)
{
	Oid			types[3] = {TEXTOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		args[3];
	Datum	   *parts;
	Datum	   *until;
	int			n = 0;
	int			p;

	if (!mirror.enabled || mirror.partitions == NULL)
		return;
	parts = palloc(MIRROR_MAX_PARTITIONS * sizeof(Datum));
	until = palloc(MIRROR_MAX_PARTITIONS * sizeof(Datum));
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
	{
		MirrorPartition *mp = &mirror.partitions[p];

		if (mp->loaded && mp->caught_up && mp->progress > mp->saved)
		{
			parts[n] = Int32GetDatum(p);
			until[n] = TimestampTzGetDatum(mp->progress);
			n++;
		}
	}
	if (n == 0)
		return;
	args[0] = CStringGetTextDatum(mirror.topic);
	args[1] = PointerGetDatum(DatumArray(parts, NULL, n, INT4OID));
	args[2] = PointerGetDatum(DatumArray(until, NULL, n, TIMESTAMPTZOID));
	if (SPI_execute_with_args("INSERT INTO ipflow.mirror_progress AS m (topic, kafka_partition, mirrored_until)"
							  " SELECT $1, u.p, u.t FROM unnest($2, $3) AS u(p, t)"
							  " ON CONFLICT (topic, kafka_partition) DO UPDATE"
							  " SET mirrored_until = greatest(m.mirrored_until, EXCLUDED.mirrored_until),"
							  " updated_at = now()",
							  3, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not save the mirror's progress");
	/* saved once this transaction commits; a rollback only repeats it */
	for (p = 0; p < MIRROR_MAX_PARTITIONS; p++)
	{
		MirrorPartition *mp = &mirror.partitions[p];

		if (mp->loaded && mp->caught_up && mp->progress > mp->saved)
			mp->saved = mp->progress;
	}
}
