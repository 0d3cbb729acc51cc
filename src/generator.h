/*
 * generator.h - synthetic traffic of many source IPs, from learned profiles
 */
#ifndef IPFLOW_GENERATOR_H
#define IPFLOW_GENERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "ip.h"
#include "profile.h"

#define GENERATOR_ERROR_MAX 256		/* bytes, NUL included */

/* Room for one event's JSON text (GeneratorFormatJson), NUL included. */
#define GENERATOR_JSON_MAX 512

#define GENERATOR_MIN_IPS 1
#define GENERATOR_MAX_IPS 1000000
#define GENERATOR_MIN_HOURS 1
#define GENERATOR_MAX_HOURS 87840	/* ten years */
#define GENERATOR_MAX_PROFILES 10000

/* Largest value a feature gets before the relations are enforced. */
#define GENERATOR_VALUE_MAX INT64_C(10000000000000)

/* Option limits and defaults. */
#define GENERATOR_DEFAULT_ANOMALY_RATE 0.01
#define GENERATOR_MAX_ANOMALY_RATE 1.0
#define GENERATOR_DEFAULT_SCALE_SPREAD 0.5
#define GENERATOR_MAX_SCALE_SPREAD 3.0
#define GENERATOR_DEFAULT_VALUE_JITTER 0.1
#define GENERATOR_MAX_VALUE_JITTER 1.0
#define GENERATOR_DEFAULT_TIME_JITTER 0
#define GENERATOR_MAX_TIME_JITTER 3599

typedef enum GeneratorAnomalyKind
{
	GENERATOR_SPIKE,			/* one hour: one volume feature far above normal */
	GENERATOR_LEVEL_SHIFT,		/* 3-12 hours: one volume feature 3-8 times normal */
	GENERATOR_SCAN_BURST,		/* one hour: unq_dst_ip or unq_dst_port 5-50 times */
	GENERATOR_SILENCE,			/* 2-8 hours: events that should happen do not */
	GENERATOR_OFF_CALENDAR,		/* one event in an hour the calendar rules out */
	GENERATOR_NKINDS
} GeneratorAnomalyKind;

#define GENERATOR_ALL_KINDS ((1u << GENERATOR_NKINDS) - 1)

/* SQL and JSON names of the kinds, in GeneratorAnomalyKind order. */
extern const char *const GeneratorAnomalyKindNames[GENERATOR_NKINDS];

typedef enum GeneratorAssign
{
	GENERATOR_ASSIGN_ROUND_ROBIN,	/* IP i gets profile i mod nprofiles */
	GENERATOR_ASSIGN_RANDOM		/* each IP draws its profile */
} GeneratorAssign;

typedef struct GeneratorOptions
{
	double		anomaly_rate;	/* P(an anomaly starts) per eligible IP-hour */
	uint32_t	anomaly_kinds;	/* bit per GeneratorAnomalyKind */
	double		scale_spread;	/* sd of log(volume scale) across IPs */
	double		value_jitter;	/* sd of log(per-feature factor) of each IP */
	int			time_jitter;	/* seconds after the hour, uniform 0..this */
	GeneratorAssign assign;
} GeneratorOptions;

/* Ground truth of one anomalous IP-hour. */
typedef struct GeneratorAnomaly
{
	GeneratorAnomalyKind kind;
	int			feature;		/* EventFeatureNames index; -1: the event as a whole */
	int64_t		expected;		/* the feature's value without the anomaly, or -1 */
	int64_t		value;			/* the value sent, or -1 */
	int64_t		start_us;		/* the hour the anomaly began */
	int			hours;			/* how many hours it lasts from start_us */
} GeneratorAnomaly;

/* One IP-hour with an event, ground truth, or both. */
typedef struct GeneratorItem
{
	int			ip_index;		/* 0 .. n_ips - 1 */
	int			profile;		/* index into the profiles given */
	IpAddr		src_ip;
	const char *src_ip_text;	/* canonical; valid until GeneratorFree */
	int64_t		ts_us;			/* the hour, plus time jitter */
	bool		has_event;		/* false: a silenced hour, ground truth only */
	int64_t		features[EVENT_NFEATURES];
	bool		has_anomaly;
	GeneratorAnomaly anomaly;
} GeneratorItem;

typedef struct Generator Generator;

/* The defaults of every option. */
extern void GeneratorOptionsInit(GeneratorOptions *options);

/* Whether options are within range; why not in error. */
extern bool GeneratorOptionsCheck(const GeneratorOptions *options, char error[GENERATOR_ERROR_MAX]);

/*
 * Options from a JSON object such as {"anomaly_rate": 0.02, "anomaly_kinds":
 * ["spike", "silence"]}; members not given keep their value in *options.
 */
extern bool GeneratorOptionsFromJson(const char *json, size_t len, GeneratorOptions *options,
									 char error[GENERATOR_ERROR_MAX]);

/*
 * A generator of n_ips synthetic IPs over hours hours from start_us
 * (truncated to the hour), drawing from seed.  The profiles are copied.
 * NULL with a readable error when an argument is out of range.
 */
extern Generator *GeneratorInit(const Profile *const *profiles, int nprofiles, int n_ips,
								int64_t start_us, int hours, uint64_t seed,
								const GeneratorOptions *options, char error[GENERATOR_ERROR_MAX]);

/*
 * The next IP-hour with an event or ground truth, hour by hour and IP by IP
 * within an hour; false at the end.
 */
extern bool GeneratorNext(Generator *gen, GeneratorItem *item);

/* The event of an item as the original JSON payload; returns its length. */
extern size_t GeneratorFormatJson(const GeneratorItem *item, char out[GENERATOR_JSON_MAX]);

extern void GeneratorFree(Generator *gen);

/* Whether an IPv4 address (network order) is public unicast. */
extern bool GeneratorIsPublicIpv4(const unsigned char bytes[4]);

#endif
