/*
 * generator.c - synthetic traffic of many source IPs, from learned profiles
 *
 * Demos, benchmarks and tests of the pipeline need traffic that looks like
 * the real thing at any volume, with known anomalies to find.  Each
 * synthetic IP gets a random public unicast IPv4 address, one of the learned
 * profiles (profile.c), its own volume scale and per-feature jitter; then,
 * hour by hour, it has an event with the probability its profile's calendar
 * gives that hour of the week, drawn from the profile's copula, and its
 * values are made to keep every relation the profile holds (frequency =
 * allow + drop, bytes per packet within bounds, ...).
 *
 * A value is expm1 of the profile's hourly quantile function at the
 * copula's probability, plus the day level, times the IP's factor.  The
 * quantile function is linear on the log1p scale between knots, except
 * between the two highest, where it is linear in the value itself: the top
 * 1 % of a heavy tail then keeps about the weight the real largest rows
 * have in the mean, instead of bunching near the lower knot.
 *
 * Anomalies start in an IP-hour with probability anomaly_rate (off_calendar
 * in hours whose calendar probability is 0, the others in hours with an
 * event, none while another anomaly of the IP is under way) and are
 * reported with the item they affect, as ground truth:
 * - spike: one volume feature set to 3-10 times the larger of its normal
 *   value and the largest the profile gives that hour;
 * - level_shift: one volume feature 3-8 times its normal value for 3-12
 *   hours (hours whose value stays as it was, e.g. 0, are not reported);
 * - scan_burst: unq_dst_ip or unq_dst_port 5-50 times the larger of its
 *   normal value and the hour's largest, for one hour (the extra
 *   destinations show up as dropped connections and sent packets);
 * - silence: 2-8 hours in which events that would have happened do not;
 * - off_calendar: an (active) event in an hour the calendar gives
 *   probability 0.
 * A pinned anomalous value raises what it depends on (more packets for more
 * bytes, more connections for more destinations) so the row stays
 * consistent; the value reported is the one sent.
 *
 * Randomness is xoshiro256** seeded through splitmix64, one stream per IP
 * and purpose (address, traits, events), so an IP's rows depend only on the
 * seed and its index: the same seed gives byte-identical output and adding
 * IPs does not change the first ones.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdarg.h>

#include "generator.h"
#include "json_tree.h"

#define US_PER_SECOND INT64CONST(1000000)
#define US_PER_HOUR INT64CONST(3600000000)
#define SECONDS_PER_DAY 86400

/* 1970-01-01 00:00 and 10000-01-01 00:00 UTC, in hours since the epoch. */
#define FIRST_HOUR INT64CONST(0)
#define END_HOUR INT64CONST(70389528)

/* Random streams of one IP. */
#define STREAM_ADDRESS 1
#define STREAM_TRAITS 2
#define STREAM_EVENTS 3

#define BIT(f) (1u << (f))

const char *const GeneratorAnomalyKindNames[GENERATOR_NKINDS] = {
	"spike", "level_shift", "scan_burst", "silence", "off_calendar"
};

/* Features a spike or a level shift may hit. */
static const int VolumeFeatures[] = {
	PROFILE_ALLOW, PROFILE_DROP, PROFILE_FREQUENCY, PROFILE_PKTS_SENT,
	PROFILE_PKTS_RECEIVED, PROFILE_BYTESIN, PROFILE_BYTESOUT
};

/* The JSON text between one value and the next, with its length. */
#define FIELD(name) {"\",\"" name "\":\"", sizeof(name) + 5}
static const struct
{
	const char *text;
	size_t		len;
}			FieldPrefix[EVENT_NFEATURES + 1] = {
	FIELD("unq_dst_ip"), FIELD("allow"), FIELD("drop"), FIELD("frequency"), FIELD("pkts_sent"),
	FIELD("pkts_received"), FIELD("bytesin"), FIELD("bytesout"), FIELD("unq_dst_port"),
	FIELD("timestamp")
};

/* Pairs of decimal digits, for formatting two at a time. */
static const char DigitPairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

typedef struct Rng
{
	uint64_t	s[4];
} Rng;

/* Room for the text of an IPv4 address, "255.255.255.255" and its NUL. */
#define IPV4_TEXT_MAX 16

/* One synthetic IP (about 200 bytes). */
typedef struct GenIp
{
	Rng			rng;			/* events */
	IpAddr		ip;
	char		text[IPV4_TEXT_MAX];
	int			profile;
	double		factor[EVENT_NFEATURES];	/* volume scale x jitter */
	GeneratorAnomalyKind kind;	/* the anomaly under way */
	int64_t		start_us;		/* the hour it began */
	int			hours;			/* how long it lasts */
	int			left;			/* hours it lasts after the current one */
	int			feature;
	double		strength;		/* its multiplier */
} GenIp;

/* Cells of the table that finds a probability's knot interval at once. */
#define KNOT_LOOKUP 1024

struct Generator
{
	Profile    *profiles;
	uint8_t    (*knot_lookup)[KNOT_LOOKUP];	/* per profile: the interval of
												 * the cell's lowest probability */
	int			nprofiles;
	GenIp	   *ips;
	int			n_ips;
	int64_t		start_hour;
	int			hours;
	GeneratorOptions options;
	GeneratorAnomalyKind event_kinds[GENERATOR_NKINDS]; /* enabled, need an event */
	int			nevent_kinds;
	/* where GeneratorNext is */
	int			hour;
	int			ip;
	int64_t		ts_us;			/* of the hour */
	int			slot;			/* hour of the week */
	int			hod;
	int			dow;
};

static bool Fail(char *error, const char *fmt,...) pg_attribute_printf(2, 3);

/* Writes a readable error; always returns false so callers can return it. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	va_start(args, fmt);
	vsnprintf(error, GENERATOR_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* Integer division rounding toward minus infinity. */
static int64_t
FloorDiv(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* The splitmix64 output function: a bijective 64-bit mix. */
static uint64_t
Mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64CONST(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* splitmix64: the recommended way to fill xoshiro's state from one word. */
static uint64_t
SplitMix64(uint64_t *state)
{
	*state += UINT64CONST(0x9e3779b97f4a7c15);
	return Mix64(*state);
}

/* The stream of one purpose of one IP under one seed. */
static void
RngSeed(Rng *rng, uint64_t seed, uint64_t index, uint64_t purpose)
{
	uint64_t	state = Mix64(Mix64(Mix64(seed) ^ index) + purpose);
	int			i;

	for (i = 0; i < 4; i++)
		rng->s[i] = SplitMix64(&state);
}

/* Rotates left by k bits (0 < k < 64). */
static inline uint64_t
Rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna): the next 64 random bits. */
static inline uint64_t
RngNext(Rng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = Rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = Rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1), 53 bits. */
static inline double
RngUniform(Rng *rng)
{
	return (double) (RngNext(rng) >> 11) * 0x1.0p-53;
}

/* A standard normal variate, by inversion of a uniform in (0, 1). */
static inline double
RngNormal(Rng *rng)
{
	return ProfileNormalQuantile(((double) (RngNext(rng) >> 11) + 0.5) * 0x1.0p-53);
}

/* Uniform integer in [0, n), n < 2^32. */
static inline uint32_t
RngBelow(Rng *rng, uint32_t n)
{
	return (uint32_t) (((RngNext(rng) >> 32) * (uint64_t) n) >> 32);
}

/* Uniform on a log scale between lo and hi. */
static double
RngLogUniform(Rng *rng, double lo, double hi)
{
	return lo * exp(RngUniform(rng) * log(hi / lo));
}

/* Whether an IPv4 address is public unicast: none of the special ranges. */
bool
GeneratorIsPublicIpv4(const unsigned char bytes[4])
{
	static const struct
	{
		uint32_t	net;
		int			bits;
	}			special[] = {
		{0x00000000, 8},		/* 0/8 "this network" */
		{0x0A000000, 8},		/* 10/8 private */
		{0x64400000, 10},		/* 100.64/10 shared (CGN) */
		{0x7F000000, 8},		/* 127/8 loopback */
		{0xA9FE0000, 16},		/* 169.254/16 link local */
		{0xAC100000, 12},		/* 172.16/12 private */
		{0xC0000000, 24},		/* 192.0.0/24 protocol assignments */
		{0xC0000200, 24},		/* 192.0.2/24 TEST-NET-1 */
		{0xC0586300, 24},		/* 192.88.99/24 6to4 relay */
		{0xC0A80000, 16},		/* 192.168/16 private */
		{0xC6120000, 15},		/* 198.18/15 benchmarking */
		{0xC6336400, 24},		/* 198.51.100/24 TEST-NET-2 */
		{0xCB007100, 24},		/* 203.0.113/24 TEST-NET-3 */
		{0xE0000000, 4},		/* 224/4 multicast */
		{0xF0000000, 4},		/* 240/4 reserved, broadcast */
	};
	uint32_t	a = ((uint32_t) bytes[0] << 24) | ((uint32_t) bytes[1] << 16) |
		((uint32_t) bytes[2] << 8) | bytes[3];
	size_t		i;

	for (i = 0; i < lengthof(special); i++)
		if ((a >> (32 - special[i].bits)) == (special[i].net >> (32 - special[i].bits)))
			return false;
	return true;
}

/* The defaults of every option. */
void
GeneratorOptionsInit(GeneratorOptions *options)
{
	options->anomaly_rate = GENERATOR_DEFAULT_ANOMALY_RATE;
	options->anomaly_kinds = GENERATOR_ALL_KINDS;
	options->scale_spread = GENERATOR_DEFAULT_SCALE_SPREAD;
	options->value_jitter = GENERATOR_DEFAULT_VALUE_JITTER;
	options->time_jitter = GENERATOR_DEFAULT_TIME_JITTER;
	options->assign = GENERATOR_ASSIGN_ROUND_ROBIN;
}

/* Whether options are within range. */
bool
GeneratorOptionsCheck(const GeneratorOptions *o, char error[GENERATOR_ERROR_MAX])
{
	if (!(o->anomaly_rate >= 0.0 && o->anomaly_rate <= GENERATOR_MAX_ANOMALY_RATE))
		return Fail(error, "anomaly_rate must be between 0 and %g, not %g",
					GENERATOR_MAX_ANOMALY_RATE, o->anomaly_rate);
	if (o->anomaly_kinds & ~GENERATOR_ALL_KINDS)
		return Fail(error, "anomaly_kinds has unknown kinds (0x%x)", o->anomaly_kinds);
	if (!(o->scale_spread >= 0.0 && o->scale_spread <= GENERATOR_MAX_SCALE_SPREAD))
		return Fail(error, "scale_spread must be between 0 and %g, not %g",
					GENERATOR_MAX_SCALE_SPREAD, o->scale_spread);
	if (!(o->value_jitter >= 0.0 && o->value_jitter <= GENERATOR_MAX_VALUE_JITTER))
		return Fail(error, "value_jitter must be between 0 and %g, not %g",
					GENERATOR_MAX_VALUE_JITTER, o->value_jitter);
	if (o->time_jitter < 0 || o->time_jitter > GENERATOR_MAX_TIME_JITTER)
		return Fail(error, "time_jitter must be between 0 and %d seconds, not %d",
					GENERATOR_MAX_TIME_JITTER, o->time_jitter);
	if (o->assign != GENERATOR_ASSIGN_ROUND_ROBIN && o->assign != GENERATOR_ASSIGN_RANDOM)
		return Fail(error, "assign must be round_robin or random");
	return true;
}

/* A JSON number option as a double. */
static bool
OptionNumber(const JsonNode *node, const char *key, double *out, char *error)
{
	char	   *end;

	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, "%s must be a number, not %s", key, JsonNodeKindName(node->kind));
	*out = strtod(node->text, &end);
	if (*end != '\0' || !isfinite(*out))
		return Fail(error, "%s is out of range (%.64s)", key, node->text);
	return true;
}

/* The options of a JSON object, strictly: unknown or repeated keys refused. */
static bool
OptionsFromTree(const JsonNode *root, GeneratorOptions *o, char *error)
{
	int			i,
				j,
				k;

	if (root->kind != JSON_NODE_OBJECT)
		return Fail(error, "the options must be a JSON object, not %s", JsonNodeKindName(root->kind));
	for (i = 0; i < root->count; i++)
	{
		const char *key = root->keys[i];
		const JsonNode *value = root->items[i];
		double		x;

		for (j = 0; j < i; j++)
			if (strcmp(root->keys[j], key) == 0)
				return Fail(error, "option \"%.64s\" is given twice", key);
		if (strcmp(key, "anomaly_rate") == 0)
		{
			if (!OptionNumber(value, key, &o->anomaly_rate, error))
				return false;
		}
		else if (strcmp(key, "scale_spread") == 0)
		{
			if (!OptionNumber(value, key, &o->scale_spread, error))
				return false;
		}
		else if (strcmp(key, "value_jitter") == 0)
		{
			if (!OptionNumber(value, key, &o->value_jitter, error))
				return false;
		}
		else if (strcmp(key, "time_jitter") == 0)
		{
			if (!OptionNumber(value, key, &x, error))
				return false;
			if (x != floor(x) || x < 0 || x > GENERATOR_MAX_TIME_JITTER)
				return Fail(error, "time_jitter must be a whole number of seconds from 0 to %d, not %.64s",
							GENERATOR_MAX_TIME_JITTER, value->text);
			o->time_jitter = (int) x;
		}
		else if (strcmp(key, "assign") == 0)
		{
			if (value->kind != JSON_NODE_STRING)
				return Fail(error, "assign must be a string, not %s", JsonNodeKindName(value->kind));
			if (strcmp(value->text, "round_robin") == 0)
				o->assign = GENERATOR_ASSIGN_ROUND_ROBIN;
			else if (strcmp(value->text, "random") == 0)
				o->assign = GENERATOR_ASSIGN_RANDOM;
			else
				return Fail(error, "assign must be \"round_robin\" or \"random\", not \"%.64s\"", value->text);
		}
		else if (strcmp(key, "anomaly_kinds") == 0)
		{
			if (value->kind != JSON_NODE_ARRAY)
				return Fail(error, "anomaly_kinds must be an array of kind names, not %s",
							JsonNodeKindName(value->kind));
			o->anomaly_kinds = 0;
			for (j = 0; j < value->count; j++)
			{
				const JsonNode *item = value->items[j];

				if (item->kind != JSON_NODE_STRING)
					return Fail(error, "anomaly_kinds[%d] must be a string, not %s", j,
								JsonNodeKindName(item->kind));
				for (k = 0; k < GENERATOR_NKINDS; k++)
					if (strcmp(item->text, GeneratorAnomalyKindNames[k]) == 0)
						break;
				if (k == GENERATOR_NKINDS)
					return Fail(error, "anomaly_kinds[%d]: unknown kind \"%.64s\" (known: spike, level_shift, "
								"scan_burst, silence, off_calendar)", j, item->text);
				o->anomaly_kinds |= BIT(k);
			}
		}
		else
			return Fail(error, "unknown option \"%.64s\" (known: anomaly_rate, anomaly_kinds, "
						"scale_spread, value_jitter, time_jitter, assign)", key);
	}
	return GeneratorOptionsCheck(o, error);
}

/* Options from a JSON object; members not given keep their value. */
bool
GeneratorOptionsFromJson(const char *json, size_t len, GeneratorOptions *options,
						 char error[GENERATOR_ERROR_MAX])
{
	GeneratorOptions o = *options;
	char	   *parse_error = NULL;
	JsonNode   *root = JsonTreeParse(json, len, &parse_error);
	bool		ok;

	if (root == NULL)
	{
		Fail(error, "the options are not valid JSON: %s", parse_error ? parse_error : "empty");
		if (parse_error)
			pfree(parse_error);
		return false;
	}
	ok = OptionsFromTree(root, &o, error);
	JsonTreeFree(root);
	if (ok)
		*options = o;
	return ok;
}

/* Adds an address to an open-addressing set; false when already there. */
static bool
AddressAdd(uint32_t *set, uint32_t mask, uint32_t address)
{
	uint32_t	i = (address * 0x9e3779b1u) & mask;

	while (set[i] != 0)
	{
		if (set[i] == address)
			return false;
		i = (i + 1) & mask;
	}
	set[i] = address;
	return true;
}

/* Gives each IP its address, profile, volume scale and jitter. */
static bool
IpsInit(Generator *g, uint64_t seed, char *error)
{
	uint32_t	size = 16;
	uint32_t   *set;
	int			i,
				f;

	while (size < 2u * (uint32_t) g->n_ips)
		size *= 2;
	set = calloc(size, sizeof(uint32_t));
	if (set == NULL)
		return Fail(error, "out of memory");
	for (i = 0; i < g->n_ips; i++)
	{
		GenIp	   *ip = &g->ips[i];
		Rng			rng;
		char		text[IP_TEXT_MAX];
		uint32_t	a;
		double		scale;

		/* 0.x.x.x is never public, so 0 marks an empty slot */
		RngSeed(&rng, seed, (uint64_t) i, STREAM_ADDRESS);
		for (;;)
		{
			a = (uint32_t) (RngNext(&rng) >> 32);
			ip->ip.family = 4;
			ip->ip.bytes[0] = (unsigned char) (a >> 24);
			ip->ip.bytes[1] = (unsigned char) (a >> 16);
			ip->ip.bytes[2] = (unsigned char) (a >> 8);
			ip->ip.bytes[3] = (unsigned char) a;
			if (GeneratorIsPublicIpv4(ip->ip.bytes) && AddressAdd(set, size - 1, a))
				break;
		}
		IpFormat(&ip->ip, text);
		memcpy(ip->text, text, IPV4_TEXT_MAX);

		RngSeed(&rng, seed, (uint64_t) i, STREAM_TRAITS);
		ip->profile = g->options.assign == GENERATOR_ASSIGN_RANDOM
			? (int) RngBelow(&rng, (uint32_t) g->nprofiles) : i % g->nprofiles;
		scale = exp(g->options.scale_spread * RngNormal(&rng));
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			bool		volume = f != PROFILE_UNQ_DST_IP && f != PROFILE_UNQ_DST_PORT;

			ip->factor[f] = exp(g->options.value_jitter * RngNormal(&rng)) * (volume ? scale : 1.0);
		}
		RngSeed(&ip->rng, seed, (uint64_t) i, STREAM_EVENTS);
	}
	free(set);
	return true;
}

/*
 * For each cell [i/KNOT_LOOKUP, (i+1)/KNOT_LOOKUP) the knot interval of the
 * cell's lowest probability: the last k with probs[k] <= i/KNOT_LOOKUP.
 */
static void
KnotLookupInit(const Profile *p, uint8_t lookup[KNOT_LOOKUP])
{
	int			i,
				k = 0;

	for (i = 0; i < KNOT_LOOKUP; i++)
	{
		while (k + 1 < p->nknots - 1 && p->probs[k + 1] <= (double) i / KNOT_LOOKUP)
			k++;
		lookup[i] = (uint8_t) k;
	}
}

/* A generator of n_ips synthetic IPs over hours hours from start_us. */
Generator *
GeneratorInit(const Profile *const *profiles, int nprofiles, int n_ips, int64_t start_us,
			  int hours, uint64_t seed, const GeneratorOptions *options,
			  char error[GENERATOR_ERROR_MAX])
{
	GeneratorOptions defaults;
	Generator  *g;
	int64_t		start_hour = FloorDiv(start_us, US_PER_HOUR);
	int			i,
				k;

	if (options == NULL)
	{
		GeneratorOptionsInit(&defaults);
		options = &defaults;
	}
	if (profiles == NULL || nprofiles < 1 || nprofiles > GENERATOR_MAX_PROFILES)
	{
		Fail(error, "the number of profiles must be between 1 and %d, not %d",
			 GENERATOR_MAX_PROFILES, profiles == NULL ? 0 : nprofiles);
		return NULL;
	}
	for (i = 0; i < nprofiles; i++)
		if (profiles[i] == NULL || profiles[i]->nknots < PROFILE_MIN_KNOTS ||
			profiles[i]->nknots > PROFILE_MAX_KNOTS)
		{
			Fail(error, "profile %d is missing or not valid", i + 1);
			return NULL;
		}
	if (n_ips < GENERATOR_MIN_IPS || n_ips > GENERATOR_MAX_IPS)
	{
		Fail(error, "the number of IPs must be between %d and %d, not %d",
			 GENERATOR_MIN_IPS, GENERATOR_MAX_IPS, n_ips);
		return NULL;
	}
	if (hours < GENERATOR_MIN_HOURS || hours > GENERATOR_MAX_HOURS)
	{
		Fail(error, "the number of hours must be between %d and %d, not %d",
			 GENERATOR_MIN_HOURS, GENERATOR_MAX_HOURS, hours);
		return NULL;
	}
	if (start_hour < FIRST_HOUR || start_hour + hours > END_HOUR)
	{
		Fail(error, "the hours generated must lie between 1970-01-01 and 9999-12-31");
		return NULL;
	}
	if (!GeneratorOptionsCheck(options, error))
		return NULL;

	g = calloc(1, sizeof(Generator));
	if (g == NULL)
	{
		Fail(error, "out of memory");
		return NULL;
	}
	g->profiles = malloc((size_t) nprofiles * sizeof(Profile));
	g->knot_lookup = malloc((size_t) nprofiles * KNOT_LOOKUP);
	g->ips = calloc((size_t) n_ips, sizeof(GenIp));
	if (g->profiles == NULL || g->knot_lookup == NULL || g->ips == NULL)
	{
		Fail(error, "out of memory");
		GeneratorFree(g);
		return NULL;
	}
	for (i = 0; i < nprofiles; i++)
	{
		g->profiles[i] = *profiles[i];
		KnotLookupInit(&g->profiles[i], g->knot_lookup[i]);
	}
	g->nprofiles = nprofiles;
	g->n_ips = n_ips;
	g->start_hour = start_hour;
	g->hours = hours;
	g->options = *options;
	for (k = 0; k < GENERATOR_NKINDS; k++)
		if (k != GENERATOR_OFF_CALENDAR && (options->anomaly_kinds & BIT(k)))
			g->event_kinds[g->nevent_kinds++] = (GeneratorAnomalyKind) k;
	if (!IpsInit(g, seed, error))
	{
		GeneratorFree(g);
		return NULL;
	}
	return g;
}

/* Frees a generator (NULL is fine); the items it gave point into it. */
void
GeneratorFree(Generator *gen)
{
	if (gen == NULL)
		return;
	free(gen->profiles);
	free(gen->knot_lookup);
	free(gen->ips);
	free(gen);
}

/*
 * log1p(value) at probability u (0 <= u <= 1), by linear interpolation
 * between knots.  The lookup table gives the interval or one a few below.
 */
static inline double
KnotValue(const Profile *p, const uint8_t *lookup, int f, int hod, double u)
{
	const double *probs = p->probs;
	const double *knots = p->knots[f][hod];
	int			cell = (int) (u * KNOT_LOOKUP);
	int			lo = lookup[cell < KNOT_LOOKUP ? cell : KNOT_LOOKUP - 1];
	int			hi;
	double		t;

	while (lo + 2 < p->nknots && probs[lo + 1] <= u)
		lo++;
	hi = lo + 1;
	t = (u - probs[lo]) / (probs[hi] - probs[lo]);
	if (hi < p->nknots - 1)
		return knots[lo] + t * (knots[hi] - knots[lo]);
	/* the top interval is linear in the value itself (see the file header) */
	return log1p(expm1(knots[lo]) + t * (expm1(knots[hi]) - expm1(knots[lo])));
}

/* A drawn amount as a count: rounded, 0 for NaN or less, capped. */
static inline int64_t
ToCount(double x)
{
	if (!(x >= 0.5))
		return 0;
	if (x >= (double) GENERATOR_VALUE_MAX)
		return GENERATOR_VALUE_MAX;
	return (int64_t) (x + 0.5);
}

/* The largest value the profile gives a feature in an hour, for one IP. */
static double
HourMax(const Profile *p, const GenIp *ip, int f, int hod, int dow)
{
	return expm1(p->knots[f][hod][p->nknots - 1] + p->day_level[f][dow]) * ip->factor[f];
}

/* Packets enough for a pinned number of bytes, within bytes per packet. */
static void
PacketsFor(int64_t *v, int bytes, int packets, const double bounds[2])
{
	int64_t		least,
				most;

	if (v[bytes] <= 0)
		return;
	least = (int64_t) ceil((double) v[bytes] / bounds[1]);
	most = (int64_t) floor((double) v[bytes] / bounds[0]);
	if (most < least)
		most = least;
	if (v[packets] < least)
		v[packets] = least;
	else if (v[packets] > most)
		v[packets] = most;
}

/*
 * Bytes within [lo, hi] per packet, and none without packets.  Too many
 * bytes for the packets take more packets (unless the packets are pinned):
 * the bytes keep their heavy tail, and the packets' is barely touched as
 * the two are strongly correlated anyway.
 */
static void
BytesFit(int64_t *bytes, int64_t *packets, const double bounds[2], bool packets_pinned)
{
	double		lo = bounds[0] * (double) *packets;
	double		hi = bounds[1] * (double) *packets;

	if (*packets == 0)
		*bytes = 0;
	else if ((double) *bytes < lo)
		*bytes = (int64_t) ceil(lo);
	else if ((double) *bytes > hi)
	{
		if (!packets_pinned)
		{
			*packets = (int64_t) ceil((double) *packets * ((double) *bytes / hi));
			hi = bounds[1] * (double) *packets;
		}
		if ((double) *bytes > hi)
			*bytes = (int64_t) floor(hi);
	}
}

/*
 * Makes a row keep the profile's relations.  A pinned feature (an anomaly's,
 * or -1) first raises what it needs, so the pass that follows, from the
 * independent counts to the dependent ones, leaves it as it is.  active: the
 * row is not an all-zero one.
 */
static void
RowRepair(const Profile *p, int64_t *v, int pinned, bool active)
{
	const bool *rel = p->relation;
	bool		sum = rel[PROFILE_FREQUENCY_SUM];

	switch (pinned)
	{
		case PROFILE_UNQ_DST_PORT:
			if (rel[PROFILE_PORTS_LE_IPS] && v[PROFILE_UNQ_DST_IP] < v[PROFILE_UNQ_DST_PORT])
				v[PROFILE_UNQ_DST_IP] = v[PROFILE_UNQ_DST_PORT];
			/* FALLTHROUGH */
		case PROFILE_UNQ_DST_IP:
			if (rel[PROFILE_IPS_LE_FREQUENCY])
			{
				int64_t		freq = sum ? v[PROFILE_ALLOW] + v[PROFILE_DROP] : v[PROFILE_FREQUENCY];

				/* more destinations than connections: the extra ones were dropped */
				if (freq < v[PROFILE_UNQ_DST_IP] && sum)
					v[PROFILE_DROP] += v[PROFILE_UNQ_DST_IP] - freq;
				else if (freq < v[PROFILE_UNQ_DST_IP])
					v[PROFILE_FREQUENCY] = v[PROFILE_UNQ_DST_IP];
			}
			break;
		case PROFILE_FREQUENCY:
			if (sum)
			{
				int64_t		both = v[PROFILE_ALLOW] + v[PROFILE_DROP];
				int64_t		allow = v[PROFILE_FREQUENCY];

				if (both > 0)
					allow = (int64_t) llround((double) v[PROFILE_FREQUENCY] *
											  ((double) v[PROFILE_ALLOW] / (double) both));
				v[PROFILE_ALLOW] = allow;
				v[PROFILE_DROP] = v[PROFILE_FREQUENCY] - allow;
			}
			break;
		case PROFILE_BYTESIN:
			if (rel[PROFILE_BYTESIN_PER_PACKET])
				PacketsFor(v, PROFILE_BYTESIN, PROFILE_PKTS_SENT, p->bytesin_per_packet);
			break;
		case PROFILE_BYTESOUT:
			if (rel[PROFILE_BYTESOUT_PER_PACKET])
				PacketsFor(v, PROFILE_BYTESOUT, PROFILE_PKTS_RECEIVED, p->bytesout_per_packet);
			/* FALLTHROUGH */
		case PROFILE_PKTS_RECEIVED:
			if (rel[PROFILE_NO_ALLOW_NO_RECEIVED] && v[PROFILE_PKTS_RECEIVED] > 0 &&
				v[PROFILE_ALLOW] == 0)
				v[PROFILE_ALLOW] = 1;
			break;
		default:
			break;
	}

	if (sum)
		v[PROFILE_FREQUENCY] = v[PROFILE_ALLOW] + v[PROFILE_DROP];
	if (active && rel[PROFILE_ACTIVE_AT_LEAST_ONE])
	{
		if (v[PROFILE_FREQUENCY] < 1)
		{
			if (sum)
				v[PROFILE_ALLOW] = 1;
			v[PROFILE_FREQUENCY] = 1;
		}
		if (v[PROFILE_UNQ_DST_IP] < 1)
			v[PROFILE_UNQ_DST_IP] = 1;
		if (v[PROFILE_UNQ_DST_PORT] < 1)
			v[PROFILE_UNQ_DST_PORT] = 1;
	}
	if (rel[PROFILE_IPS_LE_FREQUENCY] && v[PROFILE_UNQ_DST_IP] > v[PROFILE_FREQUENCY])
		v[PROFILE_UNQ_DST_IP] = v[PROFILE_FREQUENCY];
	if (rel[PROFILE_PORTS_LE_IPS] && v[PROFILE_UNQ_DST_PORT] > v[PROFILE_UNQ_DST_IP])
		v[PROFILE_UNQ_DST_PORT] = v[PROFILE_UNQ_DST_IP];
	if (rel[PROFILE_FREQUENCY_LE_PKTS_SENT] && v[PROFILE_PKTS_SENT] < v[PROFILE_FREQUENCY])
		v[PROFILE_PKTS_SENT] = v[PROFILE_FREQUENCY];
	if (rel[PROFILE_NO_ALLOW_NO_RECEIVED] && v[PROFILE_ALLOW] == 0)
		v[PROFILE_PKTS_RECEIVED] = 0;
	if (rel[PROFILE_BYTESIN_PER_PACKET])
		BytesFit(&v[PROFILE_BYTESIN], &v[PROFILE_PKTS_SENT], p->bytesin_per_packet,
				 pinned == PROFILE_PKTS_SENT);
	if (rel[PROFILE_BYTESOUT_PER_PACKET])
		BytesFit(&v[PROFILE_BYTESOUT], &v[PROFILE_PKTS_RECEIVED], p->bytesout_per_packet,
				 pinned == PROFILE_PKTS_RECEIVED);
}

/*
 * One active row of an IP at the current hour: correlated normal scores
 * through the hour's quantile knots and the day's level, then the relations.
 */
static void
RowDraw(const Generator *g, const Profile *p, GenIp *ip, int64_t *v)
{
	double		e[EVENT_NFEATURES];
	bool		derived_frequency = p->relation[PROFILE_FREQUENCY_SUM];
	int			f,
				j;

	for (j = 0; j < EVENT_NFEATURES; j++)
		e[j] = RngNormal(&ip->rng);
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		double		z = 0;
		double		x;

		if (f == PROFILE_FREQUENCY && derived_frequency)
		{
			v[f] = 0;
			continue;
		}
		for (j = 0; j <= f; j++)
			z += p->chol[f][j] * e[j];
		x = KnotValue(p, g->knot_lookup[ip->profile], f, g->hod, ProfileNormalCdf(z)) +
			p->day_level[f][g->dow];
		v[f] = ToCount(expm1(x) * ip->factor[f]);
	}
	RowRepair(p, v, -1, true);
}

/* Starts an anomaly in an hour that has an event: its kind and its traits. */
static GeneratorAnomalyKind
AnomalyStart(const Generator *g, GenIp *ip)
{
	GeneratorAnomalyKind kind = g->event_kinds[RngBelow(&ip->rng, (uint32_t) g->nevent_kinds)];

	ip->kind = kind;
	ip->start_us = g->ts_us;
	ip->left = 0;
	switch (kind)
	{
		case GENERATOR_SPIKE:
			ip->feature = VolumeFeatures[RngBelow(&ip->rng, lengthof(VolumeFeatures))];
			ip->strength = RngLogUniform(&ip->rng, 3.0, 10.0);
			break;
		case GENERATOR_LEVEL_SHIFT:
			ip->feature = VolumeFeatures[RngBelow(&ip->rng, lengthof(VolumeFeatures))];
			ip->strength = RngLogUniform(&ip->rng, 3.0, 8.0);
			ip->left = 2 + (int) RngBelow(&ip->rng, 10);
			break;
		case GENERATOR_SCAN_BURST:
			ip->feature = RngBelow(&ip->rng, 2) ? PROFILE_UNQ_DST_PORT : PROFILE_UNQ_DST_IP;
			ip->strength = RngLogUniform(&ip->rng, 5.0, 50.0);
			break;
		case GENERATOR_SILENCE:
			ip->left = 1 + (int) RngBelow(&ip->rng, 7);
			break;
		default:
			break;
	}
	ip->hours = ip->left + 1;
	return kind;
}

/* Records the anomaly under way in the item. */
static void
ItemAnomaly(GeneratorItem *item, const GenIp *ip, int feature, int64_t expected)
{
	item->has_anomaly = true;
	item->anomaly.kind = ip->kind;
	item->anomaly.feature = feature;
	item->anomaly.expected = feature >= 0 ? expected : -1;
	item->anomaly.value = feature >= 0 ? item->features[feature] : -1;
	item->anomaly.start_us = ip->start_us;
	item->anomaly.hours = ip->hours;
}

/*
 * One IP's current hour: fills item and returns true when the hour has an
 * event or ground truth.
 */
static bool
IpHour(Generator *g, int index, GeneratorItem *item)
{
	GenIp	   *ip = &g->ips[index];
	const Profile *p = &g->profiles[ip->profile];
	double		chance = p->calendar[g->slot];
	bool		active = RngUniform(&ip->rng) < chance;
	bool		starts = RngUniform(&ip->rng) < g->options.anomaly_rate;
	int			kind = -1;
	int64_t		normal[EVENT_NFEATURES];
	int64_t    *v = item->features;
	bool		zero;
	int			f;

	if (ip->left > 0)
	{
		kind = ip->kind;
		ip->left--;
	}
	else if (starts && active && g->nevent_kinds > 0)
		kind = AnomalyStart(g, ip);
	else if (starts && !active && chance == 0.0 &&
			 (g->options.anomaly_kinds & BIT(GENERATOR_OFF_CALENDAR)))
	{
		kind = ip->kind = GENERATOR_OFF_CALENDAR;
		ip->start_us = g->ts_us;
		ip->hours = 1;
	}
	if (!active && kind != GENERATOR_OFF_CALENDAR)
		return false;

	item->ip_index = index;
	item->profile = ip->profile;
	item->src_ip = ip->ip;
	item->src_ip_text = ip->text;
	item->ts_us = g->ts_us;
	item->has_anomaly = false;
	if (kind == GENERATOR_SILENCE)
	{
		item->has_event = false;
		memset(v, 0, sizeof(item->features));
		ItemAnomaly(item, ip, -1, -1);
		return true;
	}
	item->has_event = true;
	if (g->options.time_jitter > 0)
		item->ts_us += (int64_t) RngBelow(&ip->rng, (uint32_t) g->options.time_jitter + 1) * US_PER_SECOND;

	/* anomalies other than a level shift make the row an active one */
	zero = RngUniform(&ip->rng) < p->zero[g->slot] &&
		(kind == -1 || kind == GENERATOR_LEVEL_SHIFT);
	if (zero)
		memset(normal, 0, sizeof(normal));
	else
		RowDraw(g, p, ip, normal);
	memcpy(v, normal, sizeof(normal));

	switch (kind)
	{
		case GENERATOR_SPIKE:
		case GENERATOR_SCAN_BURST:
			f = ip->feature;
			v[f] = ToCount(fmax(fmax((double) normal[f], HourMax(p, ip, f, g->hod, g->dow)), 1.0) *
						   ip->strength);
			RowRepair(p, v, f, true);
			ItemAnomaly(item, ip, f, normal[f]);
			break;
		case GENERATOR_LEVEL_SHIFT:
			f = ip->feature;
			v[f] = ToCount((double) normal[f] * ip->strength);
			if (v[f] == normal[f])
				break;			/* nothing to shift, e.g. 0 */
			RowRepair(p, v, f, true);
			ItemAnomaly(item, ip, f, normal[f]);
			break;
		case GENERATOR_OFF_CALENDAR:
			ItemAnomaly(item, ip, -1, -1);
			break;
		default:
			break;
	}
	return true;
}

/* The next IP-hour with an event or ground truth; false at the end. */
bool
GeneratorNext(Generator *g, GeneratorItem *item)
{
	while (g->hour < g->hours)
	{
		if (g->ip == 0)
		{
			int64_t		hour = g->start_hour + g->hour;
			int64_t		day = FloorDiv(hour, PROFILE_HOURS_PER_DAY);

			g->ts_us = hour * US_PER_HOUR;
			g->hod = (int) (hour - day * PROFILE_HOURS_PER_DAY);
			g->dow = (int) ((day % 7 + 7 + 3) % 7);
			g->slot = g->dow * PROFILE_HOURS_PER_DAY + g->hod;
		}
		while (g->ip < g->n_ips)
		{
			int			index = g->ip++;

			if (IpHour(g, index, item))
				return true;
		}
		g->ip = 0;
		g->hour++;
	}
	return false;
}

/* Appends bytes. */
static inline char *
Put(char *out, const char *s, size_t n)
{
	memcpy(out, s, n);
	return out + n;
}

/* Appends an unsigned decimal, two digits at a time from the end. */
static inline char *
PutUint(char *out, uint64_t v)
{
	char		digits[20];
	char	   *d = digits + sizeof(digits);

	while (v >= 100)
	{
		unsigned	pair = (unsigned) (v % 100) * 2;

		v /= 100;
		*--d = DigitPairs[pair + 1];
		*--d = DigitPairs[pair];
	}
	if (v >= 10)
	{
		*--d = DigitPairs[v * 2 + 1];
		*--d = DigitPairs[v * 2];
	}
	else
		*--d = (char) ('0' + v);
	return Put(out, d, (size_t) (digits + sizeof(digits) - d));
}

/* Appends a number of two digits, with a leading zero. */
static inline char *
Put2(char *out, int v)
{
	out[0] = DigitPairs[v * 2];
	out[1] = DigitPairs[v * 2 + 1];
	return out + 2;
}

/*
 * Appends "YYYY-MM-DD HH:MM:SS" of a time from 1970 on.  The date comes from
 * days since 1970-01-01 by counting in 400-year eras from 0000-03-01, so
 * that leap days fall at the end of each counted year.
 */
static char *
PutTimestamp(char *out, int64_t ts_us)
{
	int64_t		secs = FloorDiv(ts_us, US_PER_SECOND);
	int64_t		days = FloorDiv(secs, SECONDS_PER_DAY);
	int			sod = (int) (secs - days * SECONDS_PER_DAY);
	int64_t		z = days + 719468;	/* days since 0000-03-01 */
	int64_t		era = FloorDiv(z, 146097);
	int64_t		doe = z - era * 146097; /* day of the era, 0..146096 */
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* from March 1 */
	int64_t		mp = (5 * doy + 2) / 153;	/* month from March, 0..11 */
	int			day = (int) (doy - (153 * mp + 2) / 5 + 1);
	int			month = (int) (mp < 10 ? mp + 3 : mp - 9);
	int			year = (int) (yoe + era * 400 + (month <= 2));

	out = Put2(out, year / 100);
	out = Put2(out, year % 100);
	*out++ = '-';
	out = Put2(out, month);
	*out++ = '-';
	out = Put2(out, day);
	*out++ = ' ';
	out = Put2(out, sod / 3600);
	*out++ = ':';
	out = Put2(out, sod / 60 % 60);
	*out++ = ':';
	return Put2(out, sod % 60);
}

/*
 * The event of an item as the original system sent it: every number a JSON
 * string, the time as "YYYY-MM-DD HH:MM:SS" in UTC.  Returns the length;
 * out is NUL-terminated.
 */
size_t
GeneratorFormatJson(const GeneratorItem *item, char out[GENERATOR_JSON_MAX])
{
	char	   *o = out;
	int			f;

	o = Put(o, "{\"src_ip\":\"", 11);
	o = Put(o, item->src_ip_text, strlen(item->src_ip_text));
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		o = Put(o, FieldPrefix[f].text, FieldPrefix[f].len);
		o = PutUint(o, (uint64_t) item->features[f]);
	}
	o = Put(o, FieldPrefix[EVENT_NFEATURES].text, FieldPrefix[EVENT_NFEATURES].len);
	o = PutTimestamp(o, item->ts_us);
	o = Put(o, "\"}", 2);
	*o = '\0';
	return (size_t) (o - out);
}
