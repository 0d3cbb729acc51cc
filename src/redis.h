/*
 * redis.h - the Redis side of ipflow: connections, series layout, samples
 */
#ifndef IPFLOW_REDIS_H
#define IPFLOW_REDIS_H

#include <hiredis/hiredis.h>

#include "guc.h"

/* Longest series key: feature name, '_', IPv6 text. */
#define REDIS_KEY_MAX 96

/* Samples per TS.MADD / ZADD command (Redis caps a command's arguments). */
#define REDIS_SAMPLES_PER_COMMAND 10000

/* Is the mirror configured (ipflow.redis_url not empty)? */
extern bool RedisEnabled(void);

/*
 * A blocking connection from ipflow.redis_url and ipflow.redis_password,
 * with connect and command timeouts of timeout_ms; NULL with *error set
 * (palloc'd, never containing the password) when it fails.
 */
extern redisContext *RedisOpen(int timeout_ms, char **error);

/* The connection's error, in words a user can act on. */
extern const char *RedisConnectionError(const redisContext *c);

/*
 * The backend to use: ipflow.redis_backend, or with auto, timeseries when
 * the server has the RedisTimeSeries module.  False with *error when asked
 * for timeseries on a server without it, or the server does not answer.
 */
extern bool RedisResolveBackend(redisContext *c, RedisBackend *backend, char **error);

extern void RedisSeriesKey(char key[REDIS_KEY_MAX], const char *feature, const char *ip);

/*
 * Pipelines the commands that create one series, or give an existing one
 * our duplicate policy (idempotent); returns how many replies they bring.
 */
extern int	RedisAppendCreateSeries(redisContext *c, RedisBackend backend,
									const char *ip, const char *feature);

/*
 * Can the backend hold a sample at ts_ms (ms since 1970)?  RedisTimeSeries
 * refuses times before 1970, and with one of them a whole TS.MADD.
 */
extern bool RedisCanStore(RedisBackend backend, int64 ts_ms);

/*
 * Pipelines samples (ts in ms since 1970, values) of one series; an existing
 * sample at the same time is replaced, so a replay adds nothing.  Returns
 * how many replies the commands will bring.
 */
extern int	RedisAppendSamples(redisContext *c, RedisBackend backend, const char *key,
							   const int64 *ts_ms, const double *values, int n);

/*
 * The error a reply to the commands above carries (for TS.MADD, the first
 * sample's that failed), NULL when it is none; "already exists" is none.
 */
extern const char *RedisReplyError(const redisReply *reply);

/* Is a reply to the commands above a failure (beyond "already exists")? */
extern bool RedisReplyFailed(const redisReply *reply);

#endif
