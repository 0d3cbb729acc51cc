/*
 * profile.h - one source IP's traffic behaviour, learned from real rows
 */
#ifndef IPFLOW_PROFILE_H
#define IPFLOW_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define PROFILE_VERSION 1

#define PROFILE_HOURS_PER_DAY 24
#define PROFILE_DAYS_PER_WEEK 7
#define PROFILE_HOURS_PER_WEEK (PROFILE_HOURS_PER_DAY * PROFILE_DAYS_PER_WEEK)

/* Quantile knots per distribution: ProfileLearn uses PROFILE_DEFAULT_KNOTS. */
#define PROFILE_MIN_KNOTS 2
#define PROFILE_MAX_KNOTS 33
#define PROFILE_DEFAULT_KNOTS 25

/* Bounds a (possibly edited) profile must keep. */
#define PROFILE_MIN_KNOT (-10.0)	/* log1p scale, after the day level */
#define PROFILE_MAX_KNOT 43.0		/* expm1(43) is about 4.7e18 */
#define PROFILE_MAX_LEVEL 10.0		/* |day level| on the log1p scale */
#define PROFILE_MIN_BYTES_PER_PACKET 1.0
#define PROFILE_MAX_BYTES_PER_PACKET 100000.0

#define PROFILE_LABEL_MAX 64		/* bytes, NUL included */
#define PROFILE_ERROR_MAX 256		/* bytes, NUL included */

/* Feature indexes, in the order of EventFeatureNames. */
typedef enum ProfileFeature
{
	PROFILE_UNQ_DST_IP,
	PROFILE_ALLOW,
	PROFILE_DROP,
	PROFILE_FREQUENCY,
	PROFILE_PKTS_SENT,
	PROFILE_PKTS_RECEIVED,
	PROFILE_BYTESIN,
	PROFILE_BYTESOUT,
	PROFILE_UNQ_DST_PORT
} ProfileFeature;

/*
 * Relations between the features of one row.  ProfileLearn keeps a relation
 * when it holds on every learned row that has the features involved (and on
 * at least one), and the generator then enforces it on every row.
 */
typedef enum ProfileRelation
{
	PROFILE_FREQUENCY_SUM,			/* frequency = allow + drop */
	PROFILE_PORTS_LE_IPS,			/* unq_dst_port <= unq_dst_ip */
	PROFILE_IPS_LE_FREQUENCY,		/* unq_dst_ip <= frequency */
	PROFILE_FREQUENCY_LE_PKTS_SENT, /* frequency <= pkts_sent */
	PROFILE_ACTIVE_AT_LEAST_ONE,	/* a row that is not all zero has
									 * unq_dst_ip, frequency, unq_dst_port >= 1 */
	PROFILE_NO_ALLOW_NO_RECEIVED,	/* allow = 0 implies pkts_received = 0 */
	PROFILE_BYTESIN_PER_PACKET,		/* bytesin in [lo, hi] x pkts_sent */
	PROFILE_BYTESOUT_PER_PACKET,	/* bytesout in [lo, hi] x pkts_received */
	PROFILE_NRELATIONS
} ProfileRelation;

/* JSON names of the relations, in ProfileRelation order. */
extern const char *const ProfileRelationNames[PROFILE_NRELATIONS];

/* One real row of the source IP a profile is learned from. */
typedef struct ProfileRow
{
	int64_t		ts_us;			/* microseconds since 1970-01-01 00:00 UTC */
	int64_t		features[EVENT_NFEATURES];	/* non-negative */
	uint32_t	present;		/* bit i: feature i known (else missing) */
} ProfileRow;

/*
 * A behaviour profile.  Hours of the week count from Monday 00:00 UTC (0) to
 * Sunday 23:00 UTC (167).  A row is drawn as: an event happens in an hour
 * with probability calendar[how]; it is all zero with probability
 * zero[how]; otherwise a vector of normal scores is drawn with correlation
 * corr, each score is turned into a probability u, and feature f is
 * expm1(quantile of knots[f][hour of day] at u + day_level[f][day of week]),
 * rounded, before the relations are enforced.
 */
typedef struct Profile
{
	char		label[PROFILE_LABEL_MAX];	/* free text, "" when none */
	int64_t		rows;			/* rows learned from (informational) */
	int			nknots;
	double		probs[PROFILE_MAX_KNOTS];	/* 0 = probs[0] < ... < probs[n-1] = 1 */
	double		calendar[PROFILE_HOURS_PER_WEEK];	/* P(event) */
	double		zero[PROFILE_HOURS_PER_WEEK];	/* P(all zero | event) */
	/* log1p(value) - day level, at probs, per hour of day */
	double		knots[EVENT_NFEATURES][PROFILE_HOURS_PER_DAY][PROFILE_MAX_KNOTS];
	double		day_level[EVENT_NFEATURES][PROFILE_DAYS_PER_WEEK];	/* Monday first */
	double		corr[EVENT_NFEATURES][EVENT_NFEATURES]; /* of the normal scores */
	double		chol[EVENT_NFEATURES][EVENT_NFEATURES]; /* lower factor of corr;
														 * derived, not stored */
	bool		relation[PROFILE_NRELATIONS];
	double		bytesin_per_packet[2];	/* [lo, hi] when relation holds */
	double		bytesout_per_packet[2];
} Profile;

/*
 * Learns a profile from the rows of one source IP, in any order.  Returns
 * NULL with a readable error when there is no row or a value is negative
 * (error is set to "" on success; it may be NULL).
 * label (may be NULL) is kept as free text, cut to PROFILE_LABEL_MAX - 1
 * bytes.
 */
extern Profile *ProfileLearn(const ProfileRow *rows, size_t nrows, const char *label,
							 char error[PROFILE_ERROR_MAX]);

/*
 * The profile as a versioned JSON document (malloc'd), NULL when out of
 * memory.  Members, all required but label, no others allowed:
 *   "version": 1
 *   "label": free text, at most 63 bytes (e.g. the source IP)
 *   "rows": how many rows it was learned from (informational)
 *   "probs": the probabilities of the knots, 2 to 33, 0 first, 1 last,
 *            strictly increasing
 *   "calendar": 7 arrays (Monday first) of 24 probabilities (hours UTC)
 *               that the IP has an event in that hour
 *   "zero": the same shape: probability that an event is all zero
 *   "features": {"<name>": {"day_levels": 7 numbers (Monday first, within
 *               +-10), "quantiles": 24 arrays (hours 0-23) of one
 *               non-decreasing knot per prob}} for each of the nine
 *               features; knots are log1p(value) - day level, within
 *               [-10, 43]
 *   "correlation": 9 arrays of 9 numbers in feature order: symmetric, unit
 *                  diagonal, positive definite
 *   "relations": {"frequency_is_allow_plus_drop", "unq_dst_port_le_unq_dst_ip",
 *                 "unq_dst_ip_le_frequency", "frequency_le_pkts_sent",
 *                 "active_rows_at_least_one", "no_allow_no_pkts_received":
 *                 true or false; "bytesin_per_pkts_sent",
 *                 "bytesout_per_pkts_received": false or [lowest, highest]
 *                 bytes per packet, 1 <= lowest, lowest + 1 <= highest <=
 *                 100000}
 * Numbers carry at most six decimals (more are rounded when read).
 */
extern char *ProfileToJson(const Profile *profile);

/*
 * A profile from its JSON document, strictly validated: NULL with a readable
 * error naming the offending key otherwise ("" on success; may be NULL).
 */
extern Profile *ProfileFromJson(const char *json, size_t len, char error[PROFILE_ERROR_MAX]);

extern void ProfileFree(Profile *profile);

/*
 * Whether one row keeps every relation the profile holds; when not, why
 * (may be NULL) says which one it breaks.
 */
extern bool ProfileRowConsistent(const Profile *profile, const int64_t values[EVENT_NFEATURES],
								 char why[PROFILE_ERROR_MAX]);

/* Hour of the week of a time, 0 = Monday 00:00 UTC. */
extern int	ProfileHourOfWeek(int64_t ts_us);

/* The standard normal distribution function and its inverse (0 < p < 1). */
extern double ProfileNormalCdf(double z);
extern double ProfileNormalQuantile(double p);

#endif
