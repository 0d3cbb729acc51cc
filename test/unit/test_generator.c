/*
 * Unit tests of generator.c: synthetic traffic from the profiles learned on
 * data/logs.csv is deterministic, parses as events, keeps the calendar and
 * the exact relations, looks like the real data within stated tolerances,
 * and reports the anomalies it injects.
 */
#include "postgres_fe.h"

#include <math.h>

#include "event.h"
#include "generator.h"
#include "logs_csv.h"
#include "profile.h"
#include "tap.h"

#define MONDAY_2022_01_03 INT64CONST(1641168000000000)
#define US_PER_HOUR INT64CONST(3600000000)
#define WEEK 168

/*
 * Fidelity tolerances (see test_fidelity), checked per profile, per hour of
 * the day with real rows (08-18) and per feature on 100 synthetic IPs per
 * profile over four weeks, against the ~150 real rows of that hour:
 * - the 10, 50 and 90 % quantiles: on the log1p scale the generated quantile
 *   lies within the real quantiles at p - 0.05 and p + 0.05 (the spacing of
 *   the learned knots, and the sampling error of 150 rows), widened by 20 %
 *   of max(1, log1p(real quantile));
 * - the mean of log1p(value) within 10 % of max(1, real);
 * - the arithmetic mean within a factor of 3 per hour, and within a factor
 *   of 1.5 over all business hours: a real hour's mean is dominated by its
 *   one or two largest rows (one bytesout row of 187.44.158.33 is 8e9, a
 *   quarter of that IP's total), so it is itself uncertain by about that;
 * - the share of all-zero events within 0.05;
 * - Spearman's rank correlation of every pair of features (all rows of all
 *   hours) within 0.2: the copula reproduces the learned dependence, but
 *   frequency is allow + drop rather than drawn, and a Gaussian copula
 *   cannot hold a mode such as 187.44.158.33's rows with allow 0 and many
 *   drops, so some pairs move by up to about 0.16.
 * The worst values seen over seven seeds: quantiles 0.113 (frequency's
 * median 5 for 4), log mean 0.058, hourly mean x2.52, overall mean x1.42
 * (bytesout is drawn about 30 % low: the model's top 1 % spreads between
 * the two highest knots where the real hour has its one largest row), rank
 * correlation 0.152.
 */
#define TOL_QUANTILE_P 0.05
#define TOL_QUANTILE_LOG 0.20
#define TOL_LOG_MEAN 0.10
#define TOL_MEAN_FACTOR 3.0
#define TOL_POOLED_MEAN_FACTOR 1.5
#define TOL_ZERO_SHARE 0.05
#define TOL_CORRELATION 0.20

typedef struct Text
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Text;

static void
text_add(Text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap)
	{
		t->cap = (t->len + n + 1) * 2;
		t->data = realloc(t->data, t->cap);
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

/*
 * Everything a generator produces, as text (events and ground truth), for
 * IPs below max_ip; NULL when it cannot start.
 */
static char *
generate_all(const Profile *const *profiles, int nprofiles, int n_ips, int hours, uint64_t seed,
			 const GeneratorOptions *options, int max_ip)
{
	char		error[GENERATOR_ERROR_MAX];
	char		json[GENERATOR_JSON_MAX];
	Generator  *gen = GeneratorInit(profiles, nprofiles, n_ips, MONDAY_2022_01_03, hours, seed,
									options, error);
	GeneratorItem item;
	Text		t = {0};

	if (gen == NULL)
	{
		printf("# %s\n", error);
		return NULL;
	}
	text_add(&t, "", 0);
	while (GeneratorNext(gen, &item))
	{
		if (item.ip_index >= max_ip)
			continue;
		if (item.has_event)
			text_add(&t, json, GeneratorFormatJson(&item, json));
		if (item.has_anomaly)
		{
			char		line[200];

			snprintf(line, sizeof(line), " [%s %s %d %lld %lld]", item.src_ip_text,
					 GeneratorAnomalyKindNames[item.anomaly.kind], item.anomaly.feature,
					 (long long) item.anomaly.expected, (long long) item.anomaly.value);
			text_add(&t, line, strlen(line));
		}
		text_add(&t, "\n", 1);
	}
	GeneratorFree(gen);
	return t.data;
}

/* Expects options to be refused with a message containing text. */
static void
bad_options(const char *json, const char *text)
{
	GeneratorOptions o;
	char		error[GENERATOR_ERROR_MAX] = "";

	GeneratorOptionsInit(&o);
	ok(!GeneratorOptionsFromJson(json, strlen(json), &o, error) && strstr(error, text) != NULL,
	   "options %s refused: %s", json, error);
	if (strstr(error, text) == NULL)
		printf("#   wanted \"%s\"\n", text);
}

/* Expects GeneratorInit to refuse its arguments with a message containing text. */
static void
bad_init(const Profile *const *profiles, int nprofiles, int n_ips, int64_t start, int hours,
		 const GeneratorOptions *options, const char *text, const char *what)
{
	char		error[GENERATOR_ERROR_MAX] = "";
	Generator  *gen = GeneratorInit(profiles, nprofiles, n_ips, start, hours, 1, options, error);

	ok(gen == NULL && strstr(error, text) != NULL, "refused: %s (%s)", what, error);
	GeneratorFree(gen);
}

static void
test_options(const Profile *const *profiles)
{
	GeneratorOptions o;
	char		error[GENERATOR_ERROR_MAX] = "";
	const char *json;

	GeneratorOptionsInit(&o);
	ok(o.anomaly_rate == 0.01 && o.anomaly_kinds == GENERATOR_ALL_KINDS && o.scale_spread == 0.5 &&
	   o.value_jitter == 0.1 && o.time_jitter == 0 && o.assign == GENERATOR_ASSIGN_ROUND_ROBIN &&
	   GeneratorOptionsCheck(&o, error), "defaults, and they are valid");

	json = "{\"anomaly_rate\": 0.05, \"anomaly_kinds\": [\"spike\", \"silence\"], \"scale_spread\": 0,"
		" \"value_jitter\": 0.2, \"time_jitter\": 59, \"assign\": \"random\"}";
	ok(GeneratorOptionsFromJson(json, strlen(json), &o, error) && o.anomaly_rate == 0.05 &&
	   o.anomaly_kinds == ((1u << GENERATOR_SPIKE) | (1u << GENERATOR_SILENCE)) &&
	   o.scale_spread == 0 && o.value_jitter == 0.2 && o.time_jitter == 59 &&
	   o.assign == GENERATOR_ASSIGN_RANDOM, "every option read from JSON %s", error);
	json = "{\"anomaly_rate\": 0}";
	ok(GeneratorOptionsFromJson(json, strlen(json), &o, error) && o.anomaly_rate == 0 &&
	   o.time_jitter == 59, "options not given keep their value");
	json = "{\"anomaly_kinds\": []}";
	ok(GeneratorOptionsFromJson(json, strlen(json), &o, error) && o.anomaly_kinds == 0,
	   "no anomaly kinds at all");

	bad_options("nope", "not valid JSON");
	bad_options("{\"assign\": \"random\" x}", "not valid JSON: invalid token at byte 20");
	bad_options("[]", "must be a JSON object, not an array");
	bad_options("{\"anomaly_rte\": 0.1}", "unknown option \"anomaly_rte\"");
	bad_options("{\"anomaly_rate\": 0.1, \"anomaly_rate\": 0.2}", "given twice");
	bad_options("{\"anomaly_rate\": -0.1}", "anomaly_rate must be between 0 and 1, not -0.1");
	bad_options("{\"anomaly_rate\": 1.5}", "anomaly_rate must be between 0 and 1, not 1.5");
	bad_options("{\"anomaly_rate\": \"0.1\"}", "anomaly_rate must be a number, not a string");
	bad_options("{\"anomaly_rate\": 1e400}", "anomaly_rate is out of range");
	bad_options("{\"anomaly_kinds\": \"spike\"}", "anomaly_kinds must be an array");
	bad_options("{\"anomaly_kinds\": [\"spike\", \"meteor\"]}", "anomaly_kinds[1]: unknown kind \"meteor\"");
	bad_options("{\"anomaly_kinds\": [1]}", "anomaly_kinds[0] must be a string");
	bad_options("{\"scale_spread\": 4}", "scale_spread must be between 0 and 3, not 4");
	bad_options("{\"value_jitter\": -1}", "value_jitter must be between 0 and 1");
	bad_options("{\"time_jitter\": 3600}", "time_jitter must be a whole number of seconds from 0 to 3599");
	bad_options("{\"time_jitter\": 1.5}", "time_jitter must be a whole number");
	bad_options("{\"assign\": \"sequential\"}", "assign must be \"round_robin\" or \"random\"");
	bad_options("{\"assign\": null}", "assign must be a string, not null");

	GeneratorOptionsInit(&o);
	o.anomaly_rate = NAN;
	ok(!GeneratorOptionsCheck(&o, error) && strstr(error, "anomaly_rate") != NULL, "NaN rate refused: %s", error);
	bad_init(profiles, 3, 10, MONDAY_2022_01_03, 10, &o, "anomaly_rate must be between", "bad options");
	GeneratorOptionsInit(&o);
	o.anomaly_kinds = 1u << GENERATOR_NKINDS;
	ok(!GeneratorOptionsCheck(&o, error) && strstr(error, "unknown kinds") != NULL,
	   "unknown kind bit refused: %s", error);

	bad_init(profiles, 0, 10, MONDAY_2022_01_03, 10, NULL, "number of profiles must be between 1", "no profile");
	bad_init(NULL, 3, 10, MONDAY_2022_01_03, 10, NULL, "number of profiles", "profiles NULL");
	{
		const Profile *with_null[2] = {profiles[0], NULL};

		bad_init(with_null, 2, 10, MONDAY_2022_01_03, 10, NULL, "profile 2 is missing", "a NULL profile");
	}
	bad_init(profiles, 3, 0, MONDAY_2022_01_03, 10, NULL, "number of IPs must be between 1 and 1000000, not 0", "no IP");
	bad_init(profiles, 3, GENERATOR_MAX_IPS + 1, MONDAY_2022_01_03, 10, NULL, "number of IPs", "too many IPs");
	bad_init(profiles, 3, 10, MONDAY_2022_01_03, 0, NULL, "number of hours must be between 1 and 87840, not 0", "no hour");
	bad_init(profiles, 3, 10, MONDAY_2022_01_03, GENERATOR_MAX_HOURS + 1, NULL, "number of hours", "too many hours");
	bad_init(profiles, 3, 10, -1, 10, NULL, "between 1970-01-01 and 9999-12-31", "before 1970");
	bad_init(profiles, 3, 10, INT64CONST(253402300800000000) - 24 * US_PER_HOUR, 25, NULL,
			 "between 1970-01-01 and 9999-12-31", "past 9999");
	{
		/* the last day there is, 9999-12-31: an event in every hour of it */
		GeneratorItem item;
		Generator  *gen;
		char		json[GENERATOR_JSON_MAX];
		Event		ev;
		int			events = 0,
					parsed = 0;

		o.anomaly_rate = 1;
		o.anomaly_kinds = 1u << GENERATOR_OFF_CALENDAR;
		gen = GeneratorInit(profiles, 3, 10, INT64CONST(253402300800000000) - 24 * US_PER_HOUR, 24,
							1, &o, error);
		while (gen && GeneratorNext(gen, &item))
		{
			events++;
			parsed += EventParse(json, GeneratorFormatJson(&item, json), 4096, &ev, NULL) &&
				ev.ts_us == item.ts_us;
		}
		ok(gen != NULL && events == 240 && parsed == events,
		   "up to 9999-12-31 23:00: %d events, %d parse back %s", events, parsed, gen ? "" : error);
		ok(strstr(json, "\"timestamp\":\"9999-12-31 23:00:00\"}") != NULL, "the last hour there is");
		GeneratorFree(gen);
		GeneratorOptionsInit(&o);
	}
	{
		Generator  *gen = GeneratorInit(profiles, 3, 10, 0, 1, 1, NULL, error);

		ok(gen != NULL, "1970-01-01 00:00 is a fine start %s", gen ? "" : error);
		GeneratorFree(gen);
	}
}

/* Same seed, same bytes; another seed, other bytes; more IPs, same first IPs. */
static void
test_determinism(const Profile *const *profiles, const Profile *const *parsed)
{
	GeneratorOptions o;
	char	   *a,
			   *b,
			   *c,
			   *d,
			   *e,
			   *f;

	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0.03;
	o.time_jitter = 600;
	a = generate_all(profiles, 3, 20, 2 * WEEK, 42, &o, 20);
	b = generate_all(profiles, 3, 20, 2 * WEEK, 42, &o, 20);
	c = generate_all(profiles, 3, 20, 2 * WEEK, 43, &o, 20);
	d = generate_all(profiles, 3, 40, 2 * WEEK, 42, &o, 20);
	e = generate_all(parsed, 3, 20, 2 * WEEK, 42, &o, 20);
	o.assign = GENERATOR_ASSIGN_RANDOM;
	f = generate_all(profiles, 3, 20, 2 * WEEK, 42, &o, 20);
	ok(a && b && strlen(a) > 100000 && strcmp(a, b) == 0,
	   "the same seed gives byte-identical events and ground truth (%zu bytes)", a ? strlen(a) : 0);
	ok(c && strcmp(a, c) != 0, "another seed gives other events");
	ok(d && strcmp(a, d) == 0, "adding IPs leaves the first ones unchanged");
	ok(e && strcmp(a, e) == 0, "profiles read back from their JSON generate the same bytes");
	ok(f && strcmp(a, f) != 0, "assign random gives other profiles");
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
}

/* Every payload parses as an event with the values generated. */
static void
test_payloads(const Profile *const *profiles)
{
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		json[GENERATOR_JSON_MAX];
	char		error[GENERATOR_ERROR_MAX] = "";
	char		reason[EVENT_REASON_MAX] = "";
	long		events = 0,
				bad = 0,
				consistent_bad = 0,
				jitter_bad = 0,
				jittered = 0;
	int			f;

	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0.05;
	o.time_jitter = 3599;
	o.scale_spread = 1.5;
	o.value_jitter = 0.5;
	gen = GeneratorInit(profiles, 3, 60, MONDAY_2022_01_03, 2 * WEEK, 7, &o, error);
	ok(gen != NULL, "a generator with every anomaly, scale and jitter %s", error);
	if (gen == NULL)
		return;
	while (GeneratorNext(gen, &item))
	{
		Event		ev;
		size_t		len;
		bool		same;

		if (!item.has_event)
			continue;
		events++;
		len = GeneratorFormatJson(&item, json);
		same = len == strlen(json) && EventParse(json, len, 4096, &ev, reason) &&
			strcmp(ev.src_ip_text, item.src_ip_text) == 0 && ev.ts_us == item.ts_us &&
			ev.present == (1u << EVENT_NFEATURES) - 1;
		for (f = 0; same && f < EVENT_NFEATURES; f++)
			same = ev.features[f] == item.features[f];
		if (!same && bad++ == 0)
			printf("# %s: %s\n", json, reason);
		if (!ProfileRowConsistent(&*profiles[item.profile], item.features, reason) &&
			consistent_bad++ == 0)
			printf("# inconsistent: %s: %s\n", json, reason);
		if (item.ts_us % US_PER_HOUR != 0)
			jittered++;
		if (item.ts_us - item.ts_us % US_PER_HOUR != MONDAY_2022_01_03 +
			(item.ts_us - MONDAY_2022_01_03) / US_PER_HOUR * US_PER_HOUR)
			jitter_bad++;
	}
	ok(events > 5000 && bad == 0, "all %ld payloads parse with EventParse and give the values generated", events);
	ok(consistent_bad == 0, "every row, anomalies included, keeps its profile's relations");
	ok(jittered > events / 2 && jitter_bad == 0, "time jitter moves events within their hour");
	ok(!GeneratorNext(gen, &item) && !GeneratorNext(gen, &item), "the end stays the end");
	GeneratorFree(gen);
}

/* The DESIGN.md example, byte for byte, and extreme values and dates. */
static void
test_format(void)
{
	GeneratorItem item;
	char		json[GENERATOR_JSON_MAX];
	Event		ev;
	static const struct
	{
		const char *text;
	}			times[] = {
		{"1970-01-01 00:00:00"}, {"2000-02-29 23:59:59"}, {"2100-03-01 12:34:56"},
		{"2024-12-31 23:00:00"}, {"9999-12-31 23:59:59"}
	};
	int64_t		example[EVENT_NFEATURES] = {3, 17, 1, 18, 161, 121, 23066, 79466, 2};
	size_t		i;

	memset(&item, 0, sizeof(item));
	item.src_ip_text = "46.39.79.251";
	item.has_event = true;
	memcpy(item.features, example, sizeof(example));
	EventParseTimestamp("2022-01-03 08:00:00", 19, &item.ts_us);
	GeneratorFormatJson(&item, json);
	is_str(json, "{\"src_ip\":\"46.39.79.251\",\"unq_dst_ip\":\"3\",\"allow\":\"17\",\"drop\":\"1\","
		   "\"frequency\":\"18\",\"pkts_sent\":\"161\",\"pkts_received\":\"121\",\"bytesin\":\"23066\","
		   "\"bytesout\":\"79466\",\"unq_dst_port\":\"2\",\"timestamp\":\"2022-01-03 08:00:00\"}",
		   "the example event of DESIGN.md, byte for byte");

	for (i = 0; i < lengthof(times); i++)
	{
		char		want[40];

		EventParseTimestamp(times[i].text, 19, &item.ts_us);
		GeneratorFormatJson(&item, json);
		snprintf(want, sizeof(want), "\"timestamp\":\"%s\"}", times[i].text);
		ok(strstr(json, want) != NULL, "timestamp %s", times[i].text);
	}
	for (i = 0; i < EVENT_NFEATURES; i++)
		item.features[i] = i % 2 ? INT64_MAX : 0;
	item.features[4] = 1000000000000000000;
	GeneratorFormatJson(&item, json);
	ok(EventParse(json, strlen(json), 4096, &ev, NULL) && ev.features[1] == INT64_MAX &&
	   ev.features[0] == 0 && ev.features[4] == 1000000000000000000,
	   "0, 10^18 and the largest int64 round-trip");
	ok(strlen(json) < GENERATOR_JSON_MAX, "the longest event fits (%zu bytes)", strlen(json));
}

static int
compare_uint32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return (x > y) - (x < y);
}

/* Addresses: unique, public unicast, checked against the reserved blocks. */
static void
test_addresses(const Profile *const *profiles)
{
	static const char *const special[] = {
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"
	};
	static const struct
	{
		const char *ip;
		bool		public;
	}			edges[] = {
		{"1.1.1.1", true}, {"0.255.255.255", false}, {"9.255.255.255", true}, {"10.0.0.0", false},
		{"100.63.255.255", true}, {"100.64.0.0", false}, {"100.127.255.255", false},
		{"100.128.0.0", true}, {"126.255.255.255", true}, {"127.0.0.1", false},
		{"169.253.255.255", true}, {"169.254.1.1", false}, {"172.15.255.255", true},
		{"172.16.0.0", false}, {"172.31.255.255", false}, {"172.32.0.0", true},
		{"192.0.0.255", false}, {"192.0.1.1", true}, {"192.0.2.1", false}, {"192.88.99.1", false},
		{"192.88.100.1", true}, {"192.167.255.255", true}, {"192.168.0.1", false},
		{"198.17.255.255", true}, {"198.18.0.0", false}, {"198.19.255.255", false},
		{"198.20.0.0", true}, {"198.51.100.7", false}, {"203.0.113.9", false}, {"203.0.114.0", true},
		{"223.255.255.255", true}, {"224.0.0.1", false}, {"239.255.255.255", false},
		{"240.0.0.1", false}, {"255.255.255.255", false}
	};
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX] = "";
	uint32_t   *seen;
	int			n = 0,
				dup = 0,
				reserved = 0,
				wrong = 0,
				count[3] = {0};
	size_t		i,
				j;

	for (i = 0; i < lengthof(edges); i++)
	{
		IpAddr		ip;

		IpParse(edges[i].ip, strlen(edges[i].ip), &ip);
		if (GeneratorIsPublicIpv4(ip.bytes) != edges[i].public)
		{
			wrong++;
			printf("# %s\n", edges[i].ip);
		}
	}
	ok(wrong == 0, "public unicast at the edges of every reserved block (%zu addresses)", lengthof(edges));

	/* Monday 10:00: every profile is active, so every IP has an event */
	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0;
	gen = GeneratorInit(profiles, 3, 20000, MONDAY_2022_01_03 + 10 * US_PER_HOUR, 1, 5, &o, error);
	seen = malloc(20000 * sizeof(uint32_t));
	while (gen && GeneratorNext(gen, &item))
	{
		IpAddr		ip;
		uint32_t	a;

		if (!IpParse(item.src_ip_text, strlen(item.src_ip_text), &ip) || ip.family != 4 ||
			memcmp(ip.bytes, item.src_ip.bytes, 4) != 0)
			wrong++;
		a = ((uint32_t) ip.bytes[0] << 24) | (ip.bytes[1] << 16) | (ip.bytes[2] << 8) | ip.bytes[3];
		for (j = 0; j < lengthof(special); j++)
		{
			IpAddr		net;
			char		text[20];
			int			bits;
			uint32_t	base;

			snprintf(text, sizeof(text), "%s", special[j]);
			bits = atoi(strchr(text, '/') + 1);
			*strchr(text, '/') = '\0';
			IpParse(text, strlen(text), &net);
			base = ((uint32_t) net.bytes[0] << 24) | (net.bytes[1] << 16) | (net.bytes[2] << 8) | net.bytes[3];
			if ((a >> (32 - bits)) == (base >> (32 - bits)))
				reserved++;
		}
		count[item.profile]++;
		if (item.profile != item.ip_index % 3)
			wrong++;
		seen[n++] = a;
	}
	qsort(seen, n, sizeof(uint32_t), compare_uint32);
	for (i = 1; i < (size_t) n; i++)
		if (seen[i] == seen[i - 1])
			dup++;
	is_int(n, 20000, "20000 IPs, one event each at Monday 10:00");
	ok(dup == 0 && reserved == 0 && wrong == 0,
	   "all distinct (%d repeats), none in a reserved block (%d), text and bytes agree, round robin",
	   dup, reserved);
	ok(count[0] == 6667 && count[1] == 6667 && count[2] == 6666, "round robin spreads the profiles evenly");
	free(seen);
	GeneratorFree(gen);
}

/*
 * The calendar: with p 0 or 1 (as learned from the real data) an IP has an
 * event in exactly the hours with p 1, except for silence and off_calendar
 * anomalies, which are recorded.
 */
static void
test_calendar(const Profile *const *profiles)
{
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX] = "";
	int			n_ips = 30,
				hours = 3 * WEEK;
	char	   *have = calloc((size_t) n_ips * hours, 1);
	long		missing = 0,
				extra = 0,
				unexplained = 0,
				silences = 0,
				offs = 0,
				inactive_hours = 0;
	int			ip,
				h;

	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0.02;
	o.anomaly_kinds = (1u << GENERATOR_SILENCE) | (1u << GENERATOR_OFF_CALENDAR);
	gen = GeneratorInit(profiles, 3, n_ips, MONDAY_2022_01_03, hours, 11, &o, error);
	while (gen && GeneratorNext(gen, &item))
	{
		const Profile *p = profiles[item.profile];
		int			hour = (int) ((item.ts_us - MONDAY_2022_01_03) / US_PER_HOUR);
		double		chance = p->calendar[ProfileHourOfWeek(item.ts_us)];

		have[item.ip_index * hours + hour] = item.has_event ? 1 : 2;
		if (item.has_event && chance == 0 &&
			!(item.has_anomaly && item.anomaly.kind == GENERATOR_OFF_CALENDAR))
			unexplained++;
		if (!item.has_event && !(item.has_anomaly && item.anomaly.kind == GENERATOR_SILENCE && chance > 0))
			unexplained++;
		silences += item.has_anomaly && item.anomaly.kind == GENERATOR_SILENCE;
		offs += item.has_anomaly && item.anomaly.kind == GENERATOR_OFF_CALENDAR;
	}
	for (ip = 0; ip < n_ips; ip++)
		for (h = 0; h < hours; h++)
		{
			double		chance = profiles[ip % 3]->calendar[ProfileHourOfWeek(MONDAY_2022_01_03 + h * US_PER_HOUR)];

			if (chance == 1.0 && have[ip * hours + h] == 0)
				missing++;
			if (chance == 0.0)
			{
				inactive_hours++;
				if (have[ip * hours + h] == 1)
					extra++;
			}
		}
	ok(gen != NULL && unexplained == 0, "no event in an inactive hour without an off_calendar record, "
	   "no missing event without a silence record");
	ok(missing == 0, "every hour with probability 1 has its event or its silence record");
	is_int(extra, offs, "the events in inactive hours are the off_calendar ones");
	ok(silences > 20 && offs > 20, "both kinds occur (%ld silenced hours, %ld off-calendar events)", silences, offs);
	/* off_calendar starts in an inactive hour with the anomaly rate (unless a silence is under way) */
	ok(fabs((double) offs / (double) inactive_hours - 0.02) < 0.006,
	   "off_calendar rate %.4f per inactive IP-hour, about the 0.02 asked for", (double) offs / inactive_hours);
	free(have);
	GeneratorFree(gen);
}

/* Calendar probabilities between 0 and 1, and each IP's own volume scale. */
static void
test_rates_and_scales(const Profile *const *profiles)
{
	Profile    *sparse = malloc(sizeof(Profile));
	const Profile *one[1] = {sparse};
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX] = "";
	double		level[2][30] = {{0}};
	int			count[2][30] = {{0}};
	long		events = 0,
				zeros = 0;
	int			s,
				run,
				i;

	*sparse = *profiles[2];
	for (s = 0; s < PROFILE_HOURS_PER_WEEK; s++)
	{
		sparse->calendar[s] = 0.3;
		sparse->zero[s] = 0.1;
	}
	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0;
	gen = GeneratorInit(one, 1, 50, MONDAY_2022_01_03, 2 * WEEK, 8, &o, error);
	while (gen && GeneratorNext(gen, &item))
	{
		events++;
		zeros += item.features[PROFILE_FREQUENCY] == 0;
	}
	GeneratorFree(gen);
	ok(fabs(events / (50.0 * 2 * WEEK) - 0.3) < 0.02 && fabs((double) zeros / events - 0.1) < 0.02,
	   "calendar probability 0.3: events in %.3f of the hours, %.3f of them all zero (0.1)",
	   events / (50.0 * 2 * WEEK), (double) zeros / events);

	/* mean log bytesin per IP: spread across IPs only with scale_spread */
	for (run = 0; run < 2; run++)
	{
		double		mean = 0,
					var = 0;

		o.scale_spread = run == 0 ? 0.0 : 1.0;
		o.value_jitter = 0;
		gen = GeneratorInit(profiles, 1, 30, MONDAY_2022_01_03, WEEK, 9, &o, error);
		while (gen && GeneratorNext(gen, &item))
			if (item.features[PROFILE_BYTESIN] > 0)
			{
				level[run][item.ip_index] += log((double) item.features[PROFILE_BYTESIN]);
				count[run][item.ip_index]++;
			}
		GeneratorFree(gen);
		for (i = 0; i < 30; i++)
			mean += level[run][i] / count[run][i] / 30;
		for (i = 0; i < 30; i++)
			var += pow(level[run][i] / count[run][i] - mean, 2) / 29;
		if (run == 0)
			ok(sqrt(var) < 0.3, "scale_spread 0: IPs of one profile alike (sd of mean log bytesin %.2f)",
			   sqrt(var));
		else
			ok(sqrt(var) > 0.6 && sqrt(var) < 1.5,
			   "scale_spread 1: each IP its own volume (sd of mean log bytesin %.2f, about 1)", sqrt(var));
	}
	free(sparse);
}

/* The largest value a profile gives a feature in an hour (IP factor 1). */
static double
hour_max(const Profile *p, int f, int64_t ts_us)
{
	int			how = ProfileHourOfWeek(ts_us);

	return expm1(p->knots[f][how % 24][p->nknots - 1] + p->day_level[f][how / 24]);
}

/* What is recorded is what was injected. */
static void
test_anomalies(const Profile *const *profiles)
{
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX] = "";
	long		kinds[GENERATOR_NKINDS] = {0};
	long		bad[GENERATOR_NKINDS] = {0};
	int			k;

	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0.03;
	o.scale_spread = 0;
	o.value_jitter = 0;
	gen = GeneratorInit(profiles, 3, 60, MONDAY_2022_01_03, 4 * WEEK, 3, &o, error);
	while (gen && GeneratorNext(gen, &item))
	{
		const Profile *p = profiles[item.profile];
		const GeneratorAnomaly *a = &item.anomaly;
		int64_t		since = item.ts_us - a->start_us;
		bool		right = true;

		if (!item.has_anomaly)
			continue;
		kinds[a->kind]++;
		/* the hour lies within the anomaly's span, which has the kind's length */
		right = since >= 0 && since < a->hours * US_PER_HOUR && since % US_PER_HOUR == 0;
		switch (a->kind)
		{
			case GENERATOR_SPIKE:
				right = right && a->hours == 1 &&
					a->feature != PROFILE_UNQ_DST_IP && a->feature != PROFILE_UNQ_DST_PORT &&
					a->value == item.features[a->feature] &&
					a->value + 0.5 >= 3.0 * fmax(fmax((double) a->expected, hour_max(p, a->feature, item.ts_us)), 1);
				break;
			case GENERATOR_LEVEL_SHIFT:
				right = right && a->hours >= 3 && a->hours <= 12 &&
					a->feature != PROFILE_UNQ_DST_IP && a->feature != PROFILE_UNQ_DST_PORT &&
					a->value == item.features[a->feature] && a->expected > 0 &&
					a->value + 0.5 >= 3.0 * (double) a->expected;
				break;
			case GENERATOR_SCAN_BURST:
				right = right && a->hours == 1 &&
					(a->feature == PROFILE_UNQ_DST_IP || a->feature == PROFILE_UNQ_DST_PORT) &&
					a->value == item.features[a->feature] &&
					a->value + 0.5 >= 5.0 * fmax(fmax((double) a->expected, hour_max(p, a->feature, item.ts_us)), 1);
				break;
			case GENERATOR_SILENCE:
				right = right && a->hours >= 2 && a->hours <= 8 && !item.has_event && a->feature == -1 &&
					a->expected == -1 && a->value == -1 && p->calendar[ProfileHourOfWeek(item.ts_us)] > 0;
				break;
			case GENERATOR_OFF_CALENDAR:
				right = right && a->hours == 1 && item.has_event && a->feature == -1 &&
					p->calendar[ProfileHourOfWeek(item.ts_us)] == 0 && item.features[PROFILE_FREQUENCY] > 0;
				break;
			default:
				right = false;
		}
		if (!right && bad[a->kind]++ == 0)
			printf("# wrong %s: feature %d expected %lld value %lld, %d hours\n",
				   GeneratorAnomalyKindNames[a->kind], a->feature, (long long) a->expected,
				   (long long) a->value, a->hours);
	}
	ok(gen != NULL, "a generator with 3 %% anomalies %s", error);
	for (k = 0; k < GENERATOR_NKINDS; k++)
		ok(kinds[k] >= 20 && bad[k] == 0, "%s: %ld hours recorded, all as injected, within their span",
		   GeneratorAnomalyKindNames[k], kinds[k]);
	GeneratorFree(gen);
}

static int
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The p-quantile of sorted values, interpolating between order statistics. */
static double
quantile(const double *sorted, int n, double p)
{
	double		pos = p * (n - 1);
	int			lo = (int) floor(pos);

	if (lo >= n - 1)
		return sorted[n - 1];
	return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

/* Rows of one hour of the day (or all, hour -1), one array per feature. */
typedef struct Sample
{
	double	   *v[EVENT_NFEATURES];
	int			n;
	int			cap;
} Sample;

static void
sample_add(Sample *s, const int64_t *features)
{
	int			f;

	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 256;
		for (f = 0; f < EVENT_NFEATURES; f++)
			s->v[f] = realloc(s->v[f], s->cap * sizeof(double));
	}
	for (f = 0; f < EVENT_NFEATURES; f++)
		s->v[f][s->n] = (double) features[f];
	s->n++;
}

static void
sample_free(Sample *s)
{
	int			f;

	for (f = 0; f < EVENT_NFEATURES; f++)
		free(s->v[f]);
	memset(s, 0, sizeof(*s));
}

typedef struct Ranked
{
	double		value;
	int			index;
} Ranked;

static int
compare_ranked(const void *a, const void *b)
{
	return compare_double(&((const Ranked *) a)->value, &((const Ranked *) b)->value);
}

/* Mid-ranks of one feature of a sample. */
static double *
ranks(const Sample *s, int f)
{
	Ranked	   *r = malloc(s->n * sizeof(Ranked));
	double	   *out = malloc(s->n * sizeof(double));
	int			i,
				j,
				k;

	for (i = 0; i < s->n; i++)
	{
		r[i].value = s->v[f][i];
		r[i].index = i;
	}
	qsort(r, s->n, sizeof(Ranked), compare_ranked);
	for (i = 0; i < s->n; i = j)
	{
		for (j = i; j < s->n && r[j].value == r[i].value; j++)
			;
		for (k = i; k < j; k++)
			out[r[k].index] = (i + j - 1) / 2.0;
	}
	free(r);
	return out;
}

/* Pearson correlation of two arrays (of ranks: Spearman's). */
static double
correlation(const double *x, const double *y, int n)
{
	double		sa = 0,
				sb = 0,
				saa = 0,
				sbb = 0,
				sab = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		sa += x[i];
		sb += y[i];
		saa += x[i] * x[i];
		sbb += y[i] * y[i];
		sab += x[i] * y[i];
	}
	return (sab - sa * sb / n) / sqrt((saa - sa * sa / n) * (sbb - sb * sb / n));
}

/* How far (on the log1p scale, relative) a generated quantile is outside the tolerated band. */
static double
quantile_miss(double *real, int nreal, double *gen, int ngen, double p)
{
	double		want = log1p(quantile(real, nreal, p));
	double		lo = log1p(quantile(real, nreal, fmax(0, p - TOL_QUANTILE_P)));
	double		hi = log1p(quantile(real, nreal, fmin(1, p + TOL_QUANTILE_P)));
	double		got = log1p(quantile(gen, ngen, p));
	double		miss = got < lo ? lo - got : got > hi ? got - hi : 0;

	return miss / fmax(1.0, want);
}

/* Generated rows against the real ones, profile by profile, hour by hour. */
static void
test_fidelity(const Profile *const *profiles, const Logs *logs)
{
	GeneratorOptions o;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX] = "";
	static Sample real[3][25];
	static Sample synthetic[3][25];
	int			i,
				h,
				f,
				g;

	GeneratorOptionsInit(&o);
	o.anomaly_rate = 0;
	o.scale_spread = 0;
	o.value_jitter = 0;
	gen = GeneratorInit(profiles, 3, 300, MONDAY_2022_01_03, 4 * WEEK, 2022, &o, error);
	while (gen && GeneratorNext(gen, &item))
	{
		h = ProfileHourOfWeek(item.ts_us) % 24;
		sample_add(&synthetic[item.profile][h], item.features);
		sample_add(&synthetic[item.profile][24], item.features);
	}
	GeneratorFree(gen);
	for (i = 0; i < 3; i++)
	{
		size_t		r;

		for (r = 0; r < logs->ips[i].nrows; r++)
		{
			h = ProfileHourOfWeek(logs->ips[i].rows[r].ts_us) % 24;
			sample_add(&real[i][h], logs->ips[i].rows[r].features);
			sample_add(&real[i][24], logs->ips[i].rows[r].features);
		}
	}

	for (i = 0; i < 3; i++)
	{
		double	   *real_ranks[EVENT_NFEATURES];
		double	   *synthetic_ranks[EVENT_NFEATURES];
		double		worst_q = 0,
					worst_log = 0,
					worst_mean = 1,
					worst_pooled = 1,
					worst_zero = 0,
					worst_corr = 0;
		const char *where_pooled = "",
				   *where_q = "",
				   *where_mean = "";
		char		where_q_buf[80] = "",
					where_mean_buf[80] = "";
		int			cells = 0;

		for (h = 8; h <= 18; h++)
		{
			Sample	   *rs = &real[i][h];
			Sample	   *gs = &synthetic[i][h];
			int			rz = 0,
						gz = 0,
						k;

			for (k = 0; k < rs->n; k++)
				rz += rs->v[PROFILE_FREQUENCY][k] == 0 && rs->v[PROFILE_BYTESIN][k] == 0;
			for (k = 0; k < gs->n; k++)
				gz += gs->v[PROFILE_FREQUENCY][k] == 0 && gs->v[PROFILE_BYTESIN][k] == 0;
			worst_zero = fmax(worst_zero, fabs((double) rz / rs->n - (double) gz / gs->n));

			for (f = 0; f < EVENT_NFEATURES; f++)
			{
				static const double ps[3] = {0.10, 0.50, 0.90};
				double		rmean = 0,
							gmean = 0,
							rlog = 0,
							glog = 0,
							ratio;

				for (k = 0; k < rs->n; k++)
				{
					rmean += rs->v[f][k] / rs->n;
					rlog += log1p(rs->v[f][k]) / rs->n;
				}
				for (k = 0; k < gs->n; k++)
				{
					gmean += gs->v[f][k] / gs->n;
					glog += log1p(gs->v[f][k]) / gs->n;
				}
				ratio = fmax(gmean / rmean, rmean / gmean);
				if (ratio > worst_mean)
				{
					worst_mean = ratio;
					snprintf(where_mean_buf, sizeof(where_mean_buf), "%s at %02d h", EventFeatureNames[f], h);
					where_mean = where_mean_buf;
				}
				worst_log = fmax(worst_log, fabs(glog - rlog) / fmax(1.0, rlog));

				qsort(rs->v[f], rs->n, sizeof(double), compare_double);
				qsort(gs->v[f], gs->n, sizeof(double), compare_double);
				for (k = 0; k < 3; k++)
				{
					double		miss = quantile_miss(rs->v[f], rs->n, gs->v[f], gs->n, ps[k]);

					if (miss > worst_q)
					{
						worst_q = miss;
						snprintf(where_q_buf, sizeof(where_q_buf), "%s q%.0f at %02d h",
								 EventFeatureNames[f], ps[k] * 100, h);
						where_q = where_q_buf;
					}
				}
				cells++;
			}
		}
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			real_ranks[f] = ranks(&real[i][24], f);
			synthetic_ranks[f] = ranks(&synthetic[i][24], f);
		}
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			double		rmean = 0,
						gmean = 0;
			int			k;

			for (k = 0; k < real[i][24].n; k++)
				rmean += real[i][24].v[f][k] / real[i][24].n;
			for (k = 0; k < synthetic[i][24].n; k++)
				gmean += synthetic[i][24].v[f][k] / synthetic[i][24].n;
			if (fmax(gmean / rmean, rmean / gmean) > worst_pooled)
			{
				worst_pooled = fmax(gmean / rmean, rmean / gmean);
				where_pooled = EventFeatureNames[f];
			}
			for (g = f + 1; g < EVENT_NFEATURES; g++)
				worst_corr = fmax(worst_corr,
								  fabs(correlation(real_ranks[f], real_ranks[g], real[i][24].n) -
									   correlation(synthetic_ranks[f], synthetic_ranks[g],
												   synthetic[i][24].n)));
		}
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			free(real_ranks[f]);
			free(synthetic_ranks[f]);
		}

		printf("# %s: %d events per business hour (real %d)\n", logs->ips[i].ip,
			   synthetic[i][12].n, real[i][12].n);
		ok(worst_q <= TOL_QUANTILE_LOG,
		   "%s: 10/50/90 %% quantiles of %d hour x feature cells within tolerance (worst %.3f, %s)",
		   logs->ips[i].ip, cells, worst_q, where_q);
		ok(worst_log <= TOL_LOG_MEAN, "%s: mean of log1p within %.0f %% (worst %.3f)",
		   logs->ips[i].ip, TOL_LOG_MEAN * 100, worst_log);
		ok(worst_mean <= TOL_MEAN_FACTOR, "%s: hourly means within a factor of %g (worst %.2f, %s)",
		   logs->ips[i].ip, TOL_MEAN_FACTOR, worst_mean, where_mean);
		ok(worst_pooled <= TOL_POOLED_MEAN_FACTOR, "%s: overall means within a factor of %g (worst %.2f, %s)",
		   logs->ips[i].ip, TOL_POOLED_MEAN_FACTOR, worst_pooled, where_pooled);
		ok(worst_zero <= TOL_ZERO_SHARE, "%s: share of all-zero events per hour within %g (worst %.3f)",
		   logs->ips[i].ip, TOL_ZERO_SHARE, worst_zero);
		ok(worst_corr <= TOL_CORRELATION, "%s: rank correlations of every pair of features within %g (worst %.3f)",
		   logs->ips[i].ip, TOL_CORRELATION, worst_corr);
	}
	for (i = 0; i < 3; i++)
		for (h = 0; h < 25; h++)
		{
			sample_free(&real[i][h]);
			sample_free(&synthetic[i][h]);
		}
}

int
main(void)
{
	Logs		logs;
	Profile    *learned[LOGS_MAX_IPS];
	Profile    *parsed[LOGS_MAX_IPS];
	char		error[PROFILE_ERROR_MAX] = "";
	int			i;

	if (!LogsLoad("data/logs.csv", &logs) || logs.nips != 3)
	{
		ok(false, "data/logs.csv is readable and has three source IPs");
		return tap_done();
	}
	for (i = 0; i < logs.nips; i++)
	{
		char	   *doc;

		learned[i] = ProfileLearn(logs.ips[i].rows, logs.ips[i].nrows, logs.ips[i].ip, error);
		doc = learned[i] ? ProfileToJson(learned[i]) : NULL;
		parsed[i] = doc ? ProfileFromJson(doc, strlen(doc), error) : NULL;
		free(doc);
		if (parsed[i] == NULL)
		{
			ok(false, "profile of %s: %s", logs.ips[i].ip, error);
			return tap_done();
		}
	}

	test_options((const Profile *const *) learned);
	test_format();
	test_determinism((const Profile *const *) learned, (const Profile *const *) parsed);
	test_payloads((const Profile *const *) learned);
	test_addresses((const Profile *const *) learned);
	test_calendar((const Profile *const *) learned);
	test_rates_and_scales((const Profile *const *) learned);
	test_anomalies((const Profile *const *) learned);
	test_fidelity((const Profile *const *) learned, &logs);

	for (i = 0; i < logs.nips; i++)
	{
		ProfileFree(learned[i]);
		ProfileFree(parsed[i]);
	}
	LogsFree(&logs);
	return tap_done();
}
