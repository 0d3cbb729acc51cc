/*
 * redis.c - the Redis side of ipflow: connections, series layout, samples
 *
 * One series per IP and feature, key "<feature>_<ip>" as the original
 * system had it, labels srcIP and dataType.  Two backends:
 *
 * timeseries	RedisTimeSeries: TS.CREATE with the labels and DUPLICATE_POLICY
 *				LAST (TS.ALTER sets it on a series that already existed),
 *				samples with TS.MADD, so TS.MRANGE ... FILTER
 *				dataType=unq_dst_ip works as it did for the original's users.
 *				The module cannot hold times before 1970: such samples
 *				are left out of the mirror (they stay in ipflow.events).
 * sorted_set	plain Redis: the series is a sorted set scored by the time in
 *				ms, each member "<ms>:<value>"; the labels are in the hash
 *				"<key>:labels", and the sets "ipflow:series:dataType=<f>" and
 *				"ipflow:series:srcIP=<ip>" index the series, so all series
 *				of one feature are found without scanning the keyspace.
 *
 * In both, writing a sample again is harmless: a replay adds nothing.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <sys/time.h>

#include "redis.h"
#include "settings.h"

bool
RedisEnabled(void)
{
	return IpflowRedisUrl != NULL && IpflowRedisUrl[0] != '\0';
}

/*
 * What went wrong on a connection: a blocking read that timed out says
 * EAGAIN, which would not tell the user which setting to look at.
 */
const char *
RedisConnectionError(const redisContext *c)
{
	if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0)
		return "no reply in time (see ipflow.redis_timeout)";
	return c->errstr;
}

/* Runs one command on a fresh blocking connection; false with *error. */
static bool
RedisSetup(redisContext *c, char **error, const char *what, const char *fmt, ...)
{
	va_list		args;
	redisReply *reply;

	va_start(args, fmt);
	reply = redisvCommand(c, fmt, args);
	va_end(args);
	if (reply == NULL)
	{
		*error = psprintf("%s: %s", what, RedisConnectionError(c));
		return false;
	}
	if (reply->type == REDIS_REPLY_ERROR)
	{
		*error = psprintf("%s: %s", what, reply->str);
		freeReplyObject(reply);
		return false;
	}
	freeReplyObject(reply);
	return true;
}

redisContext *
RedisOpen(int timeout_ms, char **error)
{
	RedisUrl	url;
	const char *why;
	struct timeval tv;
	redisContext *c;

	if (!RedisEnabled())
	{
		*error = pstrdup("the Redis mirror is off (ipflow.redis_url is empty)");
		return NULL;
	}
	if (!RedisUrlParse(IpflowRedisUrl, &url, &why))
	{
		*error = psprintf("ipflow.redis_url: %s", why);
		return NULL;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	c = url.is_unix ? redisConnectUnixWithTimeout(url.path, tv)
		: redisConnectWithTimeout(url.host, url.port, tv);
	if (c == NULL)
	{
		*error = pstrdup("could not allocate a Redis connection");
		return NULL;
	}
	if (c->err)
	{
		*error = url.is_unix ? psprintf("could not connect to Redis at %s: %s", url.path, c->errstr)
			: psprintf("could not connect to Redis at %s:%d: %s", url.host, url.port, c->errstr);
		redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK ||
		(IpflowRedisPassword && IpflowRedisPassword[0] &&
		 !RedisSetup(c, error, "Redis AUTH failed", "AUTH %s", IpflowRedisPassword)) ||
		(url.db != 0 && !RedisSetup(c, error, "Redis SELECT failed", "SELECT %d", url.db)))
	{
		if (*error == NULL)
			*error = psprintf("could not set up the Redis connection: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Does MODULE LIST name the time-series module? */
static bool
RedisHasTimeSeries(redisReply *modules)
{
	size_t		i,
				j;

	if (modules->type != REDIS_REPLY_ARRAY)
		return false;
	for (i = 0; i < modules->elements; i++)
	{
		redisReply *module = modules->element[i];

		if (module->type != REDIS_REPLY_ARRAY)
			continue;
		for (j = 0; j + 1 < module->elements; j += 2)
		{
			redisReply *k = module->element[j];
			redisReply *v = module->element[j + 1];

			if (k->type == REDIS_REPLY_STRING && strcmp(k->str, "name") == 0 &&
				v->type == REDIS_REPLY_STRING && strcmp(v->str, "timeseries") == 0)
				return true;
		}
	}
	return false;
}

bool
RedisResolveBackend(redisContext *c, RedisBackend *backend, char **error)
{
	redisReply *reply = redisCommand(c, "MODULE LIST");
	bool		has_ts;

	if (reply == NULL)
	{
		*error = psprintf("Redis did not answer MODULE LIST: %s", RedisConnectionError(c));
		return false;
	}
	/* a server that refuses MODULE LIST (ACL, old version) has no modules for us */
	has_ts = reply->type != REDIS_REPLY_ERROR && RedisHasTimeSeries(reply);
	freeReplyObject(reply);

	if (IpflowRedisBackend == REDIS_BACKEND_TIMESERIES && !has_ts)
	{
		*error = pstrdup("ipflow.redis_backend is timeseries, but the Redis server has no RedisTimeSeries module; "
						 "load the module or set ipflow.redis_backend to sorted_set or auto");
		return false;
	}
	if (IpflowRedisBackend == REDIS_BACKEND_AUTO)
		*backend = has_ts ? REDIS_BACKEND_TIMESERIES : REDIS_BACKEND_SORTED_SET;
	else
		*backend = IpflowRedisBackend;
	return true;
}

void
RedisSeriesKey(char key[REDIS_KEY_MAX], const char *feature, const char *ip)
{
	snprintf(key, REDIS_KEY_MAX, "%s_%s", feature, ip);
}

int
RedisAppendCreateSeries(redisContext *c, RedisBackend backend, const char *ip, const char *feature)
{
	char		key[REDIS_KEY_MAX];

	RedisSeriesKey(key, feature, ip);
	if (backend == REDIS_BACKEND_TIMESERIES)
	{
		redisAppendCommand(c, "TS.CREATE %s DUPLICATE_POLICY LAST LABELS srcIP %s dataType %s",
						   key, ip, feature);

		/*
		 * A series that already existed (made by the original system, or by
		 * hand) keeps the module's default policy, BLOCK, which refuses a
		 * sample written again: every replay would fail.  TS.ALTER gives it
		 * ours, and fails clearly on a key that is not a time series.
		 */
		redisAppendCommand(c, "TS.ALTER %s DUPLICATE_POLICY LAST", key);
		return 2;
	}
	redisAppendCommand(c, "HSET %s:labels srcIP %s dataType %s", key, ip, feature);
	redisAppendCommand(c, "SADD ipflow:series:dataType=%s %s", feature, key);
	redisAppendCommand(c, "SADD ipflow:series:srcIP=%s %s", ip, key);
	return 3;
}

bool
RedisCanStore(RedisBackend backend, int64 ts_ms)
{
	return backend != REDIS_BACKEND_TIMESERIES || ts_ms >= 0;
}

/* A value as Redis gets it: integers exactly, other numbers round-trip. */
static int
RedisFormatValue(char *buf, size_t len, double value)
{
	if (value == floor(value) && fabs(value) < 9007199254740992.0)
		return snprintf(buf, len, "%lld", (long long) value);
	return snprintf(buf, len, "%.17g", value);
}

int
RedisAppendSamples(redisContext *c, RedisBackend backend, const char *key,
				   const int64 *ts_ms, const double *values, int n)
{
	/* per sample: key, time and value (TS.MADD) or score and member (ZADD) */
	int			per = backend == REDIS_BACKEND_TIMESERIES ? 3 : 2;
	const char **argv = palloc((2 + per * Min(n, REDIS_SAMPLES_PER_COMMAND)) * sizeof(char *));
	size_t	   *argl = palloc((2 + per * Min(n, REDIS_SAMPLES_PER_COMMAND)) * sizeof(size_t));
	char	   *text = palloc(Min(n, REDIS_SAMPLES_PER_COMMAND) * 64);
	int			commands = 0;
	int			done = 0;

	while (done < n)
	{
		int			chunk = Min(n - done, REDIS_SAMPLES_PER_COMMAND);
		int			argc = 0;
		char	   *t = text;
		int			i;

		if (backend == REDIS_BACKEND_TIMESERIES)
			argv[argc++] = "TS.MADD";
		else
		{
			argv[argc++] = "ZADD";
			argv[argc++] = key;
		}
		for (i = 0; i < chunk; i++)
		{
			char	   *ts = t;
			int			tl = snprintf(ts, 24, INT64_FORMAT, ts_ms[done + i]);
			char	   *v = ts + tl + 1;
			int			vl = RedisFormatValue(v, 32, values[done + i]);

			t = v + vl + 1;
			if (backend == REDIS_BACKEND_TIMESERIES)
			{
				argv[argc++] = key;
				argv[argc++] = ts;
				argv[argc++] = v;
			}
			else
			{
				/* member "<ms>:<value>": the text of ts and v, joined */
				argv[argc++] = ts;
				ts[tl] = ':';
				argv[argc++] = ts;
			}
		}
		/* lengths last: the sorted-set member joins two strings */
		for (i = 0; i < argc; i++)
			argl[i] = strlen(argv[i]);
		if (backend != REDIS_BACKEND_TIMESERIES)
		{
			for (i = 0; i < chunk; i++)
			{
				const char *member = argv[2 + 2 * i + 1];

				/* the score is the member up to its ':' */
				argl[2 + 2 * i] = strchr(member, ':') - member;
			}
		}
		redisAppendCommandArgv(c, argc, argv, argl);
		commands++;
		done += chunk;
	}
	pfree(argv);
	pfree(argl);
	pfree(text);
	return commands;
}

const char *
RedisReplyError(const redisReply *reply)
{
	size_t		i;

	if (reply == NULL)
		return "no reply";
	if (reply->type == REDIS_REPLY_ERROR)
		return strstr(reply->str, "already exists") ? NULL : reply->str;
	if (reply->type == REDIS_REPLY_ARRAY)
	{
		/* TS.MADD answers per sample */
		for (i = 0; i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_ERROR)
				return reply->element[i]->str;
	}
	return NULL;
}

bool
RedisReplyFailed(const redisReply *reply)
{
	return RedisReplyError(reply) != NULL;
}
