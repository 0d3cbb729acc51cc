/*
 * Unit tests of profile.c: what is learned from data/logs.csv, the JSON
 * round trip, and every way a (hand-edited) profile document is refused.
 */
#include "postgres_fe.h"

#include <math.h>

#include "logs_csv.h"
#include "profile.h"
#include "tap.h"

#define MONDAY_2022_01_03 INT64CONST(1641168000000000)
#define US_PER_HOUR INT64CONST(3600000000)

/* The document with the first occurrence of from replaced by to (malloc'd). */
static char *
replaced(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	size_t		n = strlen(doc) - strlen(from) + strlen(to) + 1;
	char	   *out;

	if (at == NULL)
	{
		printf("# test bug: \"%s\" is not in the document\n", from);
		return strdup(doc);
	}
	out = malloc(n);
	memcpy(out, doc, at - doc);
	strcpy(out + (at - doc), to);
	strcat(out, at + strlen(from));
	return out;
}

/* Expects the document to be refused with a message containing text. */
static void
rejects(const char *doc, const char *text, const char *what)
{
	char		error[PROFILE_ERROR_MAX] = "";
	Profile    *p = ProfileFromJson(doc, strlen(doc), error);

	ok(p == NULL && strstr(error, text) != NULL, "refused: %s (%s)", what, p ? "accepted" : error);
	if (p == NULL && strstr(error, text) == NULL)
		printf("#   wanted \"%s\"\n", text);
	ProfileFree(p);
}

/* Same, for a document edited by replacing one piece of text; frees it. */
static void
rejects_edit(const char *doc, const char *from, const char *to, const char *text, const char *what)
{
	char	   *edited = replaced(doc, from, to);

	rejects(edited, text, what);
	free(edited);
}

/* Same, for the document of a profile changed in memory. */
static void
rejects_profile(const Profile *p, const char *text, const char *what)
{
	char	   *doc = ProfileToJson(p);

	rejects(doc, text, what);
	free(doc);
}

/* The normal quantile against the distribution function (libm's erfc). */
static void
test_normal(void)
{
	double		worst = 0;
	double		p;

	for (p = 1e-300; p < 0.5; p *= 1.7)
	{
		double		back = ProfileNormalCdf(ProfileNormalQuantile(p));

		worst = fmax(worst, fabs(back - p) / p);
	}
	ok(worst < 1e-11, "normal quantile inverts the distribution function in the lower tail (worst %g)", worst);
	worst = 0;
	for (p = 0.001; p < 1.0; p += 0.001)
		worst = fmax(worst, fabs(ProfileNormalCdf(ProfileNormalQuantile(p)) - p));
	ok(worst < 1e-15, "and across (0, 1) (worst %g)", worst);
	ok(ProfileNormalQuantile(0.5) == 0.0, "median 0");
	ok(fabs(ProfileNormalQuantile(0.975) - 1.959963984540054) < 1e-14, "97.5 %% point 1.95996...");
	ok(ProfileNormalQuantile(0.25) == -ProfileNormalQuantile(0.75), "symmetric");
	ok(fabs(ProfileNormalCdf(1.0) - 0.8413447460685429) < 1e-15, "cdf(1)");
}

static void
test_hour_of_week(void)
{
	is_int(ProfileHourOfWeek(MONDAY_2022_01_03 + 8 * US_PER_HOUR), 8, "Monday 08:00 is hour 8");
	is_int(ProfileHourOfWeek(MONDAY_2022_01_03 + 6 * 24 * US_PER_HOUR + 23 * US_PER_HOUR + 59),
		   167, "Sunday 23:00 is hour 167");
	is_int(ProfileHourOfWeek(0), 3 * 24, "1970-01-01 was a Thursday");
	is_int(ProfileHourOfWeek(-1), 2 * 24 + 23, "a microsecond before is Wednesday 23:00");
}

/* What the real data teaches: calendar, zero share, relations, knots. */
static void
test_learned(Profile *const *profiles, const Logs *logs)
{
	int			i;

	for (i = 0; i < logs->nips; i++)
	{
		const Profile *p = profiles[i];
		const LogsIp *ip = &logs->ips[i];
		bool		calendar = true,
					knots = true,
					corr = true,
					consistent = true;
		double		zero = 0;
		int			zero_rows = 0,
					s,
					f,
					h,
					k,
					r;
		char		why[PROFILE_ERROR_MAX] = "";
		size_t		row;

		for (s = 0; s < PROFILE_HOURS_PER_WEEK; s++)
		{
			int			day = s / 24,
						hour = s % 24;
			double		want = day < 5 && hour >= 8 && hour <= 18 ? 1.0 : 0.0;

			if (p->calendar[s] != want)
				calendar = false;
			if (want == 1.0)
				zero += p->zero[s] / 55.0;
		}
		ok(calendar, "%s: calendar is weekdays 08-18 exactly (1 there, 0 elsewhere)", ip->ip);

		for (row = 0; row < ip->nrows; row++)
		{
			bool		all_zero = true;

			for (f = 0; f < EVENT_NFEATURES; f++)
				if (ip->rows[row].features[f] != 0)
					all_zero = false;
			zero_rows += all_zero;
			if (consistent && !ProfileRowConsistent(p, ip->rows[row].features, why))
				consistent = false;
		}
		ok(fabs(zero - (double) zero_rows / (double) ip->nrows) < 1e-5,
		   "%s: share of all-zero events %.4f (real %d of %zu)", ip->ip, zero, zero_rows, ip->nrows);
		ok(consistent, "%s: every real row keeps the learned relations %s", ip->ip, why);

		for (r = 0; r < PROFILE_NRELATIONS; r++)
			ok(p->relation[r], "%s: relation %s holds on every row", ip->ip, ProfileRelationNames[r]);
		ok(p->bytesin_per_packet[0] >= 60 && p->bytesin_per_packet[1] <= 1514 &&
		   p->bytesout_per_packet[0] >= 60 && p->bytesout_per_packet[1] <= 1514,
		   "%s: bytes per packet within Ethernet frame sizes: in [%g, %g], out [%g, %g]", ip->ip,
		   p->bytesin_per_packet[0], p->bytesin_per_packet[1],
		   p->bytesout_per_packet[0], p->bytesout_per_packet[1]);

		for (f = 0; f < EVENT_NFEATURES; f++)
			for (h = 0; h < PROFILE_HOURS_PER_DAY; h++)
				for (k = 1; k < p->nknots; k++)
					if (p->knots[f][h][k] < p->knots[f][h][k - 1])
						knots = false;
		ok(knots && p->nknots == PROFILE_DEFAULT_KNOTS, "%s: %d knots per hour, never decreasing",
		   ip->ip, p->nknots);
		ok(memcmp(p->knots[PROFILE_BYTESOUT][3], p->knots[PROFILE_BYTESOUT][22],
				  sizeof(p->knots[0][0])) == 0,
		   "%s: hours without rows share the overall knots", ip->ip);
		ok(p->day_level[PROFILE_BYTESIN][5] == 0 && p->day_level[PROFILE_BYTESIN][6] == 0,
		   "%s: no weekend level without weekend rows", ip->ip);

		for (f = 0; f < EVENT_NFEATURES; f++)
			for (k = 0; k < EVENT_NFEATURES; k++)
				if (p->corr[f][k] != p->corr[k][f] || fabs(p->corr[f][k]) > 1 ||
					(f == k && p->corr[f][k] != 1.0))
					corr = false;
		ok(corr && p->chol[EVENT_NFEATURES - 1][EVENT_NFEATURES - 1] > 0,
		   "%s: correlation symmetric with unit diagonal, Cholesky-factored", ip->ip);
		ok(p->corr[PROFILE_PKTS_SENT][PROFILE_BYTESIN] > 0.8,
		   "%s: pkts_sent and bytesin strongly dependent (%g)", ip->ip,
		   p->corr[PROFILE_PKTS_SENT][PROFILE_BYTESIN]);
		is_int(p->rows, (long long) ip->nrows, "%s: rows counted", ip->ip);
		is_str(p->label, ip->ip, "label kept");
	}
}

/* Writing, reading back, writing again gives the same document and profile. */
static void
test_round_trip(const Profile *p, const char *what)
{
	char		error[PROFILE_ERROR_MAX] = "";
	char	   *doc = ProfileToJson(p);
	Profile    *back = doc ? ProfileFromJson(doc, strlen(doc), error) : NULL;
	char	   *again = back ? ProfileToJson(back) : NULL;

	ok(back != NULL, "%s: its JSON document parses back %s", what, error);
	ok(again != NULL && strcmp(doc, again) == 0, "%s: and writes the same document", what);
	ok(back != NULL && memcmp(p, back, sizeof(Profile)) == 0,
	   "%s: the parsed profile is identical, Cholesky factor included", what);
	free(doc);
	free(again);
	ProfileFree(back);
}

/* Numbers in a document are read to the six decimals it is written with. */
static void
test_six_decimals(const Profile *p)
{
	char	   *doc = ProfileToJson(p);
	char	   *edited = replaced(doc, "\"probs\": [0, 0.01,", "\"probs\": [-0, 0.0100000004,");
	char		error[PROFILE_ERROR_MAX] = "";
	Profile    *q = ProfileFromJson(edited, strlen(edited), error);

	ok(q != NULL && q->probs[1] == 0.01 && !signbit(q->probs[0]) && memcmp(p, q, sizeof(Profile)) == 0,
	   "extra decimals and -0 are read as written back %s", error);
	ProfileFree(q);
	free(edited);
	free(doc);
}

/* A hand-edited document must be refused with a message naming the key. */
static void
test_rejections(const Profile *p)
{
	char	   *doc = ProfileToJson(p);
	Profile		bad;

	rejects("not json", "not valid JSON", "not JSON");
	rejects(" ", "not valid JSON", "empty");
	rejects("[1, 2]", "must be a JSON object, not an array", "not an object");
	/* a value followed by a bad token: Postgres' parser leaked the value (valgrind) */
	rejects("\"a\" x", "invalid token at byte 4", "a string then garbage");
	rejects("[\"a\" x]", "invalid token at byte 5", "an array element then garbage");
	rejects("{\"version\": 1 x}", "invalid token at byte 14", "a member then garbage");
	rejects("{\"version\" 1}", "expected \":\"", "a member name without its colon");
	rejects("{}", "version: the key is missing", "no version");
	rejects("{\"version\": 1}", "profile: key \"rows\" is missing", "a required key missing");
	rejects_edit(doc, "{\n  \"version\": 1,", "{\n  \"version\": 1, \"oops\": 2,",
				 "profile: unknown key \"oops\"", "unknown key");
	rejects_edit(doc, "\"version\": 1,", "\"version\": 1, \"version\": 1,",
				 "appears twice", "repeated key");
	rejects_edit(doc, "\"version\": 1,", "\"version\": 2,",
				 "version: profile version 2 is not supported", "other version");
	rejects_edit(doc, "\"version\": 1,", "\"version\": \"1\",",
				 "version: must be a number, not a string", "version as a string");
	rejects_edit(doc, "\"version\": 1,", "\"version\": 1.0,",
				 "profile version 1.0 is not supported", "version not an integer");
	rejects_edit(doc, "{\n  \"version\": 1,", "{\n  \"version\": 1,}", "not valid JSON",
				 "syntax error");
	rejects_edit(doc, "\"label\": \"46.39.79.251\"", "\"label\": 5", "label: must be a string, not a number",
				 "label not a string");
	rejects_edit(doc, "\"label\": \"", "\"label\": \"0123456789012345678901234567890123456789012345678901234567890123456789",
				 "label: must be at most 63 bytes", "label too long");
	rejects_edit(doc, "\"rows\": 1650", "\"rows\": -1", "rows: must be a whole number", "negative rows");
	rejects_edit(doc, "\"probs\": [0,", "\"probs\": [0.001,", "probs[0]: must be 0", "probs not from 0");
	rejects_edit(doc, "0.01, 0.02,", "0.02, 0.01,", "probs: must increase strictly", "probs decreasing");
	rejects_edit(doc, "0.99, 1]", "1]", "features.unq_dst_ip.quantiles[0]: must have 24 members, not 25",
				 "fewer probs than knots");
	rejects_edit(doc, "\"calendar\": [\n    [0,", "\"calendar\": [\n    [1.5,",
				 "calendar[0][0]: must be between 0 and 1, not 1.5", "probability above 1");
	rejects_edit(doc, "\"calendar\": [\n    [0,", "\"calendar\": [\n    [\"0\",",
				 "calendar[0][0]: must be a number, not a string", "probability as a string");
	rejects_edit(doc, "\"calendar\": [\n    [0, 0,", "\"calendar\": [\n    [0,",
				 "calendar[0]: must have 24 members, not 23", "a short day");
	rejects_edit(doc, "\"zero\": [\n    [0.019394,", "\"zero\": [\n    [1e999,",
				 "zero[0][0]: 1e999 is out of range", "an infinite number");
	rejects_edit(doc, "\"unq_dst_port\": {", "\"unq_dst_prt\": {",
				 "features: unknown key \"unq_dst_prt\"", "misspelt feature");
	rejects_edit(doc, "\"bytesin\": {\n      \"day_levels\": [",
				 "\"bytesin\": {\n      \"day_levels\": [11, ",
				 "features.bytesin.day_levels: must have 7 members", "eight day levels");
	rejects_edit(doc, "\"bytesin\": {\n      \"day_levels\": [",
				 "\"bytesin\": {\n      \"day_levels\": [11, 0, 0, 0, 0, 0, 0], \"x\": [",
				 "features.bytesin: unknown key \"x\"", "unknown key in a feature");
	rejects_edit(doc, "\"quantiles\": [\n        [", "\"quantiles\": [\n        [40, ",
				 "features.unq_dst_ip.quantiles[0]: must have 25 members", "a knot too many");
	rejects_edit(doc, "\"relations\": {", "\"relations\": {\"x\": true, ",
				 "relations: unknown key \"x\"", "unknown relation");
	rejects_edit(doc, "\"frequency_is_allow_plus_drop\": true", "\"frequency_is_allow_plus_drop\": 1",
				 "relations.frequency_is_allow_plus_drop: must be true or false, not a number",
				 "relation not a boolean");
	rejects_edit(doc, "\"bytesin_per_pkts_sent\": [68.061, 1395.36]", "\"bytesin_per_pkts_sent\": true",
				 "relations.bytesin_per_pkts_sent: must be false or [lowest, highest] bytes per packet, not a boolean",
				 "bounds replaced by true");
	rejects_edit(doc, "\"bytesin_per_pkts_sent\": [", "\"bytesin_per_pkts_sent\": [0.5, ",
				 "relations.bytesin_per_pkts_sent: must have 2 members", "three bounds");

	bad = *p;
	bad.knots[PROFILE_BYTESIN][9][4] = bad.knots[PROFILE_BYTESIN][9][5] + 1;
	rejects_profile(&bad, "features.bytesin.quantiles[9]: must not decrease (member 5 is",
					"decreasing knots");
	bad = *p;
	bad.day_level[PROFILE_DROP][2] = 12;
	rejects_profile(&bad, "features.drop.day_levels[2]: must be between -10 and 10, not 12",
					"day level out of range");
	bad = *p;
	bad.corr[0][1] = 0.5;
	rejects_profile(&bad, "correlation[1][0]: must equal correlation[0][1]", "asymmetric correlation");
	bad = *p;
	bad.corr[3][3] = 0.9;
	rejects_profile(&bad, "correlation[3][3]: a diagonal member must be 1", "diagonal not 1");
	bad = *p;
	bad.corr[0][1] = bad.corr[1][0] = 0.99;
	bad.corr[0][2] = bad.corr[2][0] = -0.99;
	bad.corr[1][2] = bad.corr[2][1] = 0.99;
	rejects_profile(&bad, "correlation: is not positive definite", "correlation not positive definite");
	bad = *p;
	bad.corr[4][5] = bad.corr[5][4] = 1.5;
	rejects_profile(&bad, "correlation[4][5]: must be between -1 and 1", "correlation above 1");
	bad = *p;
	bad.bytesin_per_packet[0] = 100;
	bad.bytesin_per_packet[1] = 50;
	rejects_profile(&bad, "relations.bytesin_per_pkts_sent: the highest bound (50) must be at least",
					"bounds the wrong way round");
	bad = *p;
	bad.bytesout_per_packet[0] = 0.5;
	rejects_profile(&bad, "relations.bytesout_per_pkts_received[0]: must be between 1 and",
					"less than a byte per packet");
	bad = *p;
	bad.calendar[30] = -0.25;
	rejects_profile(&bad, "calendar[1][6]: must be between 0 and 1, not -0.25", "negative probability");
	free(doc);
}

/* Learning from little, missing, odd or wrong data. */
static void
test_sparse(const Logs *logs)
{
	char		error[PROFILE_ERROR_MAX] = "";
	ProfileRow	rows[40];
	Profile    *p;
	bool		in_range = true;
	int			i,
				s;

	ok(ProfileLearn(NULL, 0, "x", error) == NULL && strstr(error, "no rows") != NULL,
	   "no rows: refused (%s)", error);

	memcpy(rows, logs->ips[0].rows, 3 * sizeof(ProfileRow));
	rows[1].features[PROFILE_BYTESIN] = -5;
	ok(ProfileLearn(rows, 3, "x", error) == NULL &&
	   strcmp(error, "row 2: bytesin is negative (-5)") == 0, "a negative value: refused (%s)", error);

	/* three rows of one Monday morning */
	memcpy(rows, logs->ips[0].rows + 9, 3 * sizeof(ProfileRow));
	p = ProfileLearn(rows, 3, NULL, error);
	ok(p != NULL, "three rows are enough to learn from %s", error);
	if (p)
	{
		for (s = 0; s < PROFILE_HOURS_PER_WEEK; s++)
			if (!(p->calendar[s] >= 0 && p->calendar[s] <= 1 && p->zero[s] >= 0 && p->zero[s] <= 1))
				in_range = false;
		ok(in_range, "their calendar and zero shares are probabilities");
		ok(p->calendar[ProfileHourOfWeek(rows[0].ts_us)] == 1.0,
		   "the hours seen are active");
		is_str(p->label, "", "no label");
		test_round_trip(p, "three rows");
		ProfileFree(p);
	}

	/* one row */
	p = ProfileLearn(logs->ips[1].rows + 1, 1, "one", error);
	ok(p != NULL && p->corr[0][1] == 0 && p->knots[PROFILE_ALLOW][5][0] == p->knots[PROFILE_ALLOW][5][24],
	   "one row: no correlation, one value %s", error);
	if (p)
		test_round_trip(p, "one row");
	ProfileFree(p);

	/* only all-zero rows: every event is zero */
	error[0] = '\0';
	for (i = 0; i < 40; i++)
	{
		memset(&rows[i], 0, sizeof(ProfileRow));
		rows[i].ts_us = MONDAY_2022_01_03 + i * 5 * US_PER_HOUR;
		rows[i].present = (1u << EVENT_NFEATURES) - 1;
	}
	p = ProfileLearn(rows, 40, "zeros", error);
	ok(p != NULL && p->zero[ProfileHourOfWeek(rows[3].ts_us)] == 1.0 &&
	   !p->relation[PROFILE_BYTESIN_PER_PACKET] && p->relation[PROFILE_FREQUENCY_SUM],
	   "all-zero rows: zero share 1, no bytes per packet bounds %s", error);
	if (p)
		test_round_trip(p, "all-zero rows");
	ProfileFree(p);

	/* missing features are skipped, not taken as 0 */
	memcpy(rows, logs->ips[2].rows + 100, 40 * sizeof(ProfileRow));
	for (i = 0; i < 40; i += 2)
	{
		rows[i].present &= ~(1u << PROFILE_ALLOW);
		rows[i].features[PROFILE_ALLOW] = 0;
	}
	rows[5].present = 0;		/* an event with nothing known */
	p = ProfileLearn(rows, 40, "a label that is much longer than the sixty-three bytes a label may have", error);
	ok(p != NULL && p->relation[PROFILE_FREQUENCY_SUM] && p->knots[PROFILE_ALLOW][12][0] > 0,
	   "missing allow values: relations still checked where known, knots from known values %s", error);
	ok(p != NULL && strlen(p->label) == PROFILE_LABEL_MAX - 1, "a long label is cut to 63 bytes");
	if (p)
		test_round_trip(p, "missing values");
	ProfileFree(p);

	/* a relation that does not hold is not kept */
	memcpy(rows, logs->ips[0].rows, 40 * sizeof(ProfileRow));
	rows[7].features[PROFILE_FREQUENCY] += 1;
	rows[8].features[PROFILE_BYTESOUT] = 0;
	p = ProfileLearn(rows, 40, "broken", error);
	ok(p != NULL && !p->relation[PROFILE_FREQUENCY_SUM] && !p->relation[PROFILE_BYTESOUT_PER_PACKET] &&
	   p->relation[PROFILE_BYTESIN_PER_PACKET],
	   "relations broken by one row are dropped, the others kept");
	ProfileFree(p);
}

/* The relation checker names what a row breaks. */
static void
test_consistency(const Profile *p)
{
	int64_t		v[EVENT_NFEATURES] = {3, 17, 1, 18, 161, 121, 23066, 79466, 2};
	char		why[PROFILE_ERROR_MAX] = "";

	ok(ProfileRowConsistent(p, v, why), "the example event of DESIGN.md is consistent %s", why);
	v[PROFILE_FREQUENCY] = 19;
	ok(!ProfileRowConsistent(p, v, why) && strstr(why, "frequency (19) is not allow + drop") != NULL,
	   "frequency off by one: %s", why);
	v[PROFILE_FREQUENCY] = 18;
	v[PROFILE_UNQ_DST_PORT] = 4;
	ok(!ProfileRowConsistent(p, v, why) && strstr(why, "unq_dst_port (4) exceeds unq_dst_ip (3)") != NULL,
	   "more ports than destinations: %s", why);
	v[PROFILE_UNQ_DST_PORT] = 2;
	v[PROFILE_BYTESIN] = 10;
	ok(!ProfileRowConsistent(p, v, why) && strstr(why, "bytesin (10) is not within") != NULL,
	   "too few bytes for the packets: %s", why);
	v[PROFILE_BYTESIN] = 23066;
	v[PROFILE_ALLOW] = 0;
	v[PROFILE_DROP] = 18;
	ok(!ProfileRowConsistent(p, v, why) && strstr(why, "pkts_received is 121 with allow 0") != NULL,
	   "replies without allowed connections: %s", why);
	memset(v, 0, sizeof(v));
	ok(ProfileRowConsistent(p, v, why), "an all-zero row is consistent");
	v[PROFILE_DROP] = 1;
	ok(!ProfileRowConsistent(p, v, why) && strstr(why, "frequency") != NULL, "a lone drop: %s", why);
}

int
main(void)
{
	Logs		logs;
	Profile    *profiles[LOGS_MAX_IPS];
	char		error[PROFILE_ERROR_MAX] = "";
	int			i;

	test_normal();
	test_hour_of_week();

	if (!LogsLoad("data/logs.csv", &logs))
	{
		ok(false, "data/logs.csv is readable");
		return tap_done();
	}
	is_int(logs.nips, 3, "data/logs.csv has three source IPs");
	for (i = 0; i < logs.nips; i++)
	{
		profiles[i] = ProfileLearn(logs.ips[i].rows, logs.ips[i].nrows, logs.ips[i].ip, error);
		ok(profiles[i] != NULL, "%s: profile learned from %zu rows %s", logs.ips[i].ip,
		   logs.ips[i].nrows, error);
		if (profiles[i] == NULL)
			return tap_done();
	}
	test_learned(profiles, &logs);
	for (i = 0; i < logs.nips; i++)
		test_round_trip(profiles[i], logs.ips[i].ip);
	test_six_decimals(profiles[0]);
	test_rejections(profiles[0]);
	test_sparse(&logs);
	test_consistency(profiles[0]);

	for (i = 0; i < logs.nips; i++)
		ProfileFree(profiles[i]);
	LogsFree(&logs);
	return tap_done();
}
