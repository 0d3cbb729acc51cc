/*
 * Unit tests of the anomaly detector core: scores in [0, 1), causality,
 * steps flagged once then adapted, quiet seasonality, heavy tails, zeros,
 * gaps, irregular sampling, the calendar, state round trips, settings.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "tap.h"

#define HOUR 3600.0
#define DAY 86400.0
/* Monday 2022-01-03 00:00:00 UTC */
#define MONDAY_2022 1641168000.0
#define MAX_POINTS 20000

static double ts[MAX_POINTS],
			ys[MAX_POINTS];
static AnomalyResult res[MAX_POINTS],
			res2[MAX_POINTS];

static uint64_t rng_state = 7;

static double
uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double
normal(void)
{
	return sqrt(-2.0 * log(uniform())) * cos(2.0 * M_PI * uniform());
}

/* A traffic-like value at t: daily and weekly shape times lognormal noise. */
static double
seasonal(double t, double base, double noise)
{
	double		hod = fmod(t, DAY) / HOUR;
	int			dow = ((int) floor(t / DAY) % 7 + 7 + 3) % 7;

	return round(base * (1.0 + 0.6 * sin(2 * M_PI * (hod - 8) / 24.0)) *
				 (dow == 4 ? 0.7 : 1.0) * exp(noise * normal()));
}

/* Hourly points for days days. */
static int
hourly(int days, double base, double noise)
{
	int			n;

	for (n = 0; n < days * 24; n++)
	{
		ts[n] = MONDAY_2022 + n * HOUR;
		ys[n] = seasonal(ts[n], base, noise);
	}
	return n;
}

/* Business hours: weekdays 08:00-18:00, each hour present with chance p. */
static int
business(int days, double base, double noise, double p)
{
	int			n = 0,
				d,
				h;

	for (d = 0; d < days; d++)
		for (h = 8; h <= 18; h++)
		{
			if (d % 7 >= 5 || uniform() >= p)
				continue;
			ts[n] = MONDAY_2022 + d * DAY + h * HOUR;
			ys[n] = seasonal(ts[n], base, noise);
			n++;
		}
	return n;
}

/* Points scoring at least threshold from index from on. */
static int
alarms(const AnomalyResult *r, int from, int n, double threshold)
{
	int			i,
				count = 0;

	for (i = from; i < n; i++)
		count += r[i].score >= threshold;
	return count;
}

static bool
score_all(int n, const AnomalyParams *p)
{
	AnomalyError error;

	return AnomalyScoreSeries(ts, ys, n, p, res, &error);
}

static void
test_params(void)
{
	AnomalyParams p;
	AnomalyError e;
	const char *json = "{\"alert_z\": 4.5, \"timing\": false, \"warmup\": 0}";

	ok(AnomalyParamsFromJson("{}", 2, &p, &e) && p.alert_z == 3.0 && p.timing, "{} gives the defaults");
	ok(AnomalyParamsFromJson(json, strlen(json), &p, &e) &&
	   p.alert_z == 4.5 && !p.timing && p.warmup == 0, "settings are read");
	ok(!AnomalyParamsFromJson("{\"alertz\": 1}", 13, &p, &e) && strcmp(e.param, "alertz") == 0 &&
	   strstr(e.message, "unknown setting") && strstr(e.message, "alert_z"),
	   "an unknown setting is named, with the known ones: %s", e.message);
	ok(!AnomalyParamsFromJson("{\"level_rate\": 0}", 17, &p, &e) && strcmp(e.param, "level_rate") == 0 &&
	   strstr(e.message, "above 0"), "a rate of 0 is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("{\"alert_z\": \"6\"}", 16, &p, &e) && strstr(e.message, "must be a number"),
	   "a string for a number is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("{\"timing\": 1}", 13, &p, &e) && strstr(e.message, "true or false"),
	   "a number for a boolean is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("{\"warmup\": 1.5}", 15, &p, &e) && strstr(e.message, "integer"),
	   "a fractional warmup is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("{\"alert_z\": 5, \"alert_z\": 6}", 28, &p, &e) && strstr(e.message, "repeated"),
	   "a repeated setting is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("[1]", 3, &p, &e) && strstr(e.message, "JSON object"),
	   "an array is refused: %s", e.message);
	ok(!AnomalyParamsFromJson("{", 1, &p, &e) && strstr(e.message, "not valid JSON"),
	   "bad JSON is refused: %s", e.message);
}

static void
test_range_and_causality(void)
{
	AnomalyParams p;
	int			n = 2000,
				i,
				bad = 0,
				differ = 0,
				cut;

	AnomalyParamsDefault(&p);
	/* wild values: heavy tails, zeros, negatives, huge numbers, irregular times */
	ts[0] = MONDAY_2022;
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			ts[i] = ts[i - 1] + 1 + floor(uniform() * 5 * HOUR);
		ys[i] = uniform() < 0.1 ? 0 : (uniform() - 0.3) * pow(10.0, floor(uniform() * 30));
	}
	ok(score_all(n, &p), "a wild series is scored");
	for (i = 0; i < n; i++)
		if (!(res[i].score >= 0 && res[i].score < 1) || !isfinite(res[i].expected) ||
			!(res[i].lower <= res[i].expected && res[i].expected <= res[i].upper))
			bad++;
	is_int(bad, 0, "every score is in [0, 1) with an ordered, finite band");
	memcpy(res2, res, sizeof(AnomalyResult) * n);
	for (cut = 1; cut < n; cut += 397)
	{
		AnomalyError e;

		AnomalyScoreSeries(ts, ys, cut, &p, res, &e);
		if (memcmp(res, res2, sizeof(AnomalyResult) * cut) != 0)
			differ++;
	}
	is_int(differ, 0, "scores of a prefix are those of the whole series (no look-ahead)");
	/* ties are rare */
	n = hourly(28, 500, 0.2);
	score_all(n, &p);
	for (i = 1, differ = 0; i < n; i++)
		differ += res[i].score != res[i - 1].score;
	ok(differ > n - 20, "consecutive scores differ (%d of %d)", differ, n - 1);
}

static void
test_step(void)
{
	AnomalyParams p;
	int			n = hourly(42, 1000, 0.1),
				step = 24 * 28 + 5,
				i;

	AnomalyParamsDefault(&p);
	for (i = step; i < n; i++)
		ys[i] *= 5;
	score_all(n, &p);
	is_int(alarms(res, 0, step, 0.99), 0, "no alarm before the step");
	ok(res[step].score >= 0.99, "the step is flagged (score %.4f)", res[step].score);
	is_int(alarms(res, step + 1, n, 0.99), 0, "then adapted to: no alarm after it");
	ok(fabs(res[n - 1].expected / ys[n - 1] - 1) < 0.5, "the baseline follows the new level (%.0f for %.0f)",
	   res[n - 1].expected, ys[n - 1]);

	/* a step down of a trending series */
	n = hourly(42, 1000, 0.1);
	for (i = 0; i < n; i++)
		ys[i] *= 1 + i / 500.0;
	for (i = step; i < n; i++)
		ys[i] = round(ys[i] / 6);
	score_all(n, &p);
	ok(res[step].score >= 0.99 && alarms(res, 0, n, 0.99) == 1,
	   "a trend with a step down: the step alone is flagged (%d alarms)", alarms(res, 0, n, 0.99));
}

static void
test_seasonality_quiet(void)
{
	AnomalyParams p;
	int			n;

	AnomalyParamsDefault(&p);
	n = hourly(56, 2000, 0.15);
	score_all(n, &p);
	is_int(alarms(res, 0, n, 0.99), 0, "daily and weekly seasonality, 8 weeks hourly: no alarm");
	n = business(56, 300, 0.2, 1.0);
	score_all(n, &p);
	is_int(alarms(res, 0, n, 0.99), 0, "a business-hours calendar: no alarm");
	n = business(56, 300, 0.2, 0.95);
	score_all(n, &p);
	ok(alarms(res, 0, n, 0.99) <= n / 100, "business hours with a twentieth missing at random: %d alarms in %d points",
	   alarms(res, 0, n, 0.99), n);
}

static void
test_heavy_tails_and_spikes(void)
{
	AnomalyParams p;
	int			n = hourly(56, 1000, 0.0),
				i,
				spikes = 0,
				found = 0;

	AnomalyParamsDefault(&p);
	/* Student-t-like noise: a normal over the root of a chi-square of 3 */
	for (i = 0; i < n; i++)
	{
		double		c = (pow(normal(), 2) + pow(normal(), 2) + pow(normal(), 2)) / 3;

		ys[i] = round(ys[i] * exp(0.15 * normal() / sqrt(c + 1e-9)));
	}
	score_all(n, &p);
	ok(alarms(res, 0, n, 0.99) <= n / 100, "heavy tails: %d alarms in %d points", alarms(res, 0, n, 0.99), n);
	for (i = 24 * 14; i < n; i += 97)
	{
		ys[i] *= 30;
		spikes++;
	}
	score_all(n, &p);
	for (i = 24 * 14; i < n; i += 97)
		found += res[i].score >= 0.99;
	ok(found >= spikes * 9 / 10, "spikes of 30 times are found in heavy tails: %d of %d", found, spikes);
}

static void
test_zeros_flat_gaps(void)
{
	AnomalyParams p;
	int			n,
				i;

	AnomalyParamsDefault(&p);
	n = hourly(42, 200, 0.1);
	for (i = 0; i < n; i++)
		if (uniform() < 0.1)
			ys[i] = 0;
	score_all(n, &p);
	is_int(alarms(res, 0, n, 0.99), 0, "a tenth of zeros raises no alarm");

	n = hourly(21, 1, 0);
	for (i = 0; i < n; i++)
		ys[i] = 42;
	ys[400] = 420;
	score_all(n, &p);
	ok(res[400].score >= 0.99 && alarms(res, 0, n, 0.99) == 1, "a flat series: one alarm, at the jump");
	ok(res[399].score < 1e-4, "a flat point scores about 0 (%g)", res[399].score);

	/* a gap of three days in a round-the-clock series */
	n = hourly(42, 800, 0.1);
	for (i = 24 * 20; i < n - 72; i++)
	{
		ts[i] = ts[i + 72];
		ys[i] = ys[i + 72];
	}
	n -= 72;
	p.timing = false;
	score_all(n, &p);
	is_int(alarms(res, 0, n, 0.99), 0, "without timing a gap raises no alarm");
	p.timing = true;
	score_all(n, &p);
	ok(res[24 * 20].score >= 0.99 && res[24 * 20].reason == ANOMALY_REASON_MISSING &&
	   alarms(res, 0, n, 0.99) == 1, "with timing, the point after the gap alone is flagged as missing");
}

static void
test_calendar(void)
{
	AnomalyParams p;
	uint64_t	saved_rng;
	int			n,
				i,
				at;

	AnomalyParamsDefault(&p);
	n = business(42, 300, 0.2, 1.0);
	/* a point at 03:00 on the Wednesday of week 4 */
	for (at = 0; ts[at] < MONDAY_2022 + 23 * DAY; at++)
		;
	for (i = n; i > at; i--)
	{
		ts[i] = ts[i - 1];
		ys[i] = ys[i - 1];
	}
	ts[at] = MONDAY_2022 + 23 * DAY + 3 * HOUR;
	ys[at] = 250;
	n++;
	score_all(n, &p);
	ok(res[at].score >= 0.99 && res[at].reason == ANOMALY_REASON_OFF_CALENDAR,
	   "a point at 03:00 in a business-hours series is off the calendar (%.4f, %s)",
	   res[at].score, AnomalyReasonNames[res[at].reason]);
	is_int(alarms(res, 0, n, 0.99), 1, "and is the only alarm");

	/* the first Saturday, before a Saturday was ever seen (the draws of the later tests kept) */
	saved_rng = rng_state;
	n = business(5, 300, 0.2, 1.0);
	ts[n] = MONDAY_2022 + 5 * DAY + 11 * HOUR;
	ys[n] = 250;
	score_all(n + 1, &p);
	ok(res[n].score >= 0.99 && res[n].reason == ANOMALY_REASON_OFF_CALENDAR,
	   "a point at 11:00 on the first Saturday, after its usual hours went by empty, is off the calendar (%.4f)",
	   res[n].score);
	is_int(alarms(res, 0, n + 1, 0.99), 1, "and is the only alarm");
	ts[n] = MONDAY_2022 + 5 * DAY + 8 * HOUR;
	score_all(n + 1, &p);
	ok(res[n].score < 0.99, "at 08:00, with nothing to tell the day yet, it is not (%.4f)", res[n].score);
	rng_state = saved_rng;
}

static void
test_irregular_and_cold_start(void)
{
	AnomalyParams p;
	int			n = 0,
				i;
	double		t = MONDAY_2022;

	AnomalyParamsDefault(&p);
	/* minutes to hours apart, round the clock */
	while (t < MONDAY_2022 + 42 * DAY && n < MAX_POINTS)
	{
		ts[n] = t;
		ys[n] = seasonal(t, 5000, 0.1);
		n++;
		t += 60 + floor(uniform() * 3 * HOUR);
	}
	score_all(n, &p);
	/* the calendar's first days may take a new hour for a rare one */
	ok(alarms(res, 0, n, 0.99) <= n / 100, "irregular sampling: %d alarms in %d points",
	   alarms(res, 0, n, 0.99), n);

	for (i = 0; i < 10; i++)
	{
		ts[i] = MONDAY_2022 + i * HOUR;
		ys[i] = i % 2 ? 100 : 300;
	}
	score_all(10, &p);
	is_int(alarms(res, 0, 10, 0.99), 0, "cold start: an erratic first few points raise no alarm");
	ok(res[0].score == 0 && res[0].reason == ANOMALY_REASON_NONE, "the first point scores 0");
}

static void
test_state(void)
{
	AnomalyParams p;
	AnomalyState s,
				again;
	AnomalyError e;
	AnomalyResult r;
	uint8_t		bytes[ANOMALY_STATE_BYTES];
	int			n = hourly(30, 700, 0.2),
				i,
				same = 0;

	AnomalyParamsDefault(&p);
	score_all(n, &p);
	AnomalyStateInit(&s);
	for (i = 0; i < n; i++)
	{
		/* through bytes at every point, as the ingest worker keeps it */
		AnomalyStateToBytes(&s, bytes);
		memset(&again, 0xff, sizeof(again));
		if (!AnomalyStateFromBytes(bytes, sizeof(bytes), &again, &e))
			break;
		AnomalyStep(&again, &p, ts[i], ys[i], &r, &e);
		same += r.score == res[i].score && r.expected == res[i].expected &&
			r.lower == res[i].lower && r.upper == res[i].upper && r.reason == res[i].reason;
		s = again;
	}
	is_int(same, n, "a state through bytes at every point scores as one kept in memory");
	AnomalyStateInit(&s);
	for (i = 0, same = 0; i < n; i++)
	{
		AnomalyStepLazy(&s, &p, ts[i], ys[i], &r, &e);
		AnomalyResultBand(&p, &r);
		same += r.score == res[i].score && r.expected == res[i].expected &&
			r.lower == res[i].lower && r.upper == res[i].upper;
	}
	is_int(same, n, "a lazy step and its band later give what a step gives");
	ok(sizeof(AnomalyState) <= ANOMALY_STATE_BYTES, "the state is %zu bytes in memory, %d serialized",
	   sizeof(AnomalyState), ANOMALY_STATE_BYTES);
	ok(!AnomalyStateFromBytes(bytes, sizeof(bytes) - 1, &again, &e) && strstr(e.message, "bytes"),
	   "a short state is refused: %s", e.message);
	bytes[0] = 9;
	ok(!AnomalyStateFromBytes(bytes, sizeof(bytes), &again, &e) && strstr(e.message, "version"),
	   "an unknown version is refused: %s", e.message);
	bytes[0] = ANOMALY_STATE_VERSION;
	memset(bytes + 24, 0xff, 4);	/* the scale: a NaN */
	ok(!AnomalyStateFromBytes(bytes, sizeof(bytes), &again, &e) && strstr(e.message, "out of range"),
	   "a state with a NaN is refused: %s", e.message);
}

static void
test_errors(void)
{
	AnomalyParams p;
	AnomalyError e;
	double		t[3] = {MONDAY_2022, MONDAY_2022 + 60, MONDAY_2022 + 60},
				y[3] = {1, 2, 3};

	AnomalyParamsDefault(&p);
	ok(!AnomalyScoreSeries(t, y, 3, &p, res, &e) && strstr(e.message, "point 3") &&
	   strstr(e.message, "not after"), "a repeated timestamp is refused: %s", e.message);
	t[2] = MONDAY_2022 + 120;
	y[1] = NAN;
	ok(!AnomalyScoreSeries(t, y, 3, &p, res, &e) && strstr(e.message, "point 2") &&
	   strstr(e.message, "not finite"), "a NaN is refused: %s", e.message);
	y[1] = 1e31;
	p.log_transform = false;
	ok(!AnomalyScoreSeries(t, y, 3, &p, res, &e) && strstr(e.message, "log_transform"),
	   "a huge raw value is refused: %s", e.message);
	ok(AnomalyScoreSeries(t, y, 0, &p, res, &e), "an empty series is scored (nothing to do)");
}


/*
 * Nine series that move together (a common heavy-tailed factor, a little
 * noise of their own) scored event by event, as the ingest worker does;
 * one series is multiplied by factor[t] at event t.  Returns the alarms
 * of that series and, in *others, those of the rest.
 */
static int
event_alarms(int n, const double *factor, int target, int *others, AnomalyReason *reason_at,
			 uint8_t bytes[9][ANOMALY_STATE_BYTES])
{
	AnomalyParams p,
				values_only;
	AnomalyState states[9];
	AnomalyState *stepped_states[9];
	AnomalyResult results[9];
	AnomalyResult *stepped[9];
	int			i,
				f,
				count = 0;

	AnomalyParamsDefault(&p);
	values_only = p;
	values_only.timing = false;
	for (f = 0; f < 9; f++)
	{
		AnomalyStateInit(&states[f]);
		stepped_states[f] = &states[f];
		stepped[f] = &results[f];
	}
	*others = 0;
	for (i = 0; i < n; i++)
	{
		double		t = MONDAY_2022 + i * HOUR;
		double		common = (1.0 + 0.6 * sin(2 * M_PI * i / 24.0)) * exp(0.8 * normal());

		for (f = 0; f < 9; f++)
		{
			double		x = round(common * (50 + 400 * f) * exp(0.05 * normal()) * (f == target ? factor[i] : 1));

			AnomalyStepLazy(&states[f], f == 0 ? &p : &values_only, t, x, &results[f], NULL);
		}
		AnomalyEventStep(stepped_states, stepped, 9, &p);
		for (f = 0; f < 9; f++)
		{
			if (results[f].score < 0 || results[f].score >= 1)
				return -1;
			if (results[f].score < 0.99)
				continue;
			if (f == target)
			{
				count++;
				reason_at[i] = results[f].reason;
			}
			else
				(*others)++;
		}
	}
	for (f = 0; f < 9; f++)
		AnomalyStateToBytes(&states[f], bytes[f]);
	return count;
}

static void
test_event_step(void)
{
	static double factor[2000];
	static AnomalyReason reason_at[2000];
	uint8_t		bytes[9][ANOMALY_STATE_BYTES],
				again[ANOMALY_STATE_BYTES];
	AnomalyState s;
	AnomalyError e;
	AnomalyParams p;
	AnomalyResult r,
			   *one = &r;
	AnomalyState *state = &s;
	int			n = 24 * 42,
				i,
				others,
				found,
				round_trips = 0;

	for (i = 0; i < n; i++)
		factor[i] = 1;
	found = event_alarms(n, factor, 3, &others, reason_at, bytes);
	ok(found == 0 && others <= 2, "nine series moving together, with heavy tails: %d and %d alarms",
	   found, others);

	/* five times more than the others say: within the series' own tails */
	factor[24 * 30] = 5;
	found = event_alarms(n, factor, 3, &others, reason_at, bytes);
	ok(found == 1 && reason_at[24 * 30] == ANOMALY_REASON_RELATIVE,
	   "one series five times what the others say is flagged, as relative (%d alarms, %s)",
	   found, AnomalyReasonNames[reason_at[24 * 30]]);
	factor[24 * 30] = 1;

	/* half as much again, lasting: too little at once, summed until flagged */
	for (i = 24 * 30; i < n; i++)
		factor[i] = 1.5;
	memset(reason_at, 0, sizeof(reason_at));
	found = event_alarms(n, factor, 3, &others, reason_at, bytes);
	for (i = 24 * 30; i < 24 * 30 + 8 && reason_at[i] != ANOMALY_REASON_RELATIVE; i++)
		;
	ok(i < 24 * 30 + 8, "a lasting change of a half is flagged within 8 events (%d)", i - 24 * 30);
	ok(found <= 3, "and adapted to (%d alarms)", found);

	for (i = 0; i < 9; i++)
		round_trips += AnomalyStateFromBytes(bytes[i], ANOMALY_STATE_BYTES, &s, &e) &&
			(AnomalyStateToBytes(&s, again), memcmp(again, bytes[i], sizeof(again)) == 0);
	is_int(round_trips, 9, "the states round-trip through bytes");

	/* one series alone has nothing to be compared with */
	AnomalyParamsDefault(&p);
	AnomalyStateInit(&s);
	AnomalyStep(&s, &p, MONDAY_2022, 10, &r, &e);
	AnomalyStep(&s, &p, MONDAY_2022 + HOUR, 1e6, &r, &e);
	{
		AnomalyResult before = r;

		AnomalyEventStep(&state, &one, 1, &p);
		ok(before.score == r.score && before.reason == r.reason && before.expected == r.expected &&
		   s.relative_n == 0, "a lone series is left as it was");
	}
}


static void
test_silence_by_the_clock(void)
{
	AnomalyParams p;
	AnomalyState s;
	AnomalyResult r;
	AnomalyError e;
	uint8_t		before[ANOMALY_STATE_BYTES],
				after[ANOMALY_STATE_BYTES];
	int			i,
				gap;
	double		back;

	AnomalyParamsDefault(&p);
	business(28, 300, 0.2, 1.0);
	/* the last point is on a Tuesday of week 4 at 10:00; quiet from 11:00 */
	for (gap = 0; ts[gap] < MONDAY_2022 + 22 * DAY + 10 * HOUR; gap++)
		;
	AnomalyStateInit(&s);
	for (i = 0; i <= gap; i++)
		AnomalyStep(&s, &p, ts[i], ys[i], &r, &e);
	AnomalyStateToBytes(&s, before);
	AnomalySilence(&s, &p, ts[gap] + 2 * HOUR, &r);
	ok(r.score < 0.99, "one usual hour gone by empty is not a silence (%.4f)", r.score);
	AnomalySilence(&s, &p, ts[gap] + 4 * HOUR, &r);
	ok(r.score >= 0.99 && r.reason == ANOMALY_REASON_MISSING,
	   "three are, by the clock alone (%.4f, %s)", r.score, AnomalyReasonNames[r.reason]);
	AnomalyStateToBytes(&s, after);
	ok(memcmp(before, after, sizeof(before)) == 0, "and the state is left as it was");

	back = ts[gap] + 5 * HOUR;
	{
		AnomalyState unreported = s;

		AnomalyStep(&unreported, &p, back, 280, &r, &e);
		ok(r.score >= 0.99 && r.reason == ANOMALY_REASON_MISSING,
		   "unreported, the point that ends it flags it (%.4f)", r.score);
	}
	AnomalySilenceReported(&s);
	AnomalySilence(&s, &p, ts[gap] + 5 * HOUR, &r);
	ok(r.score == 0, "once reported, the clock does not report it again");
	AnomalyStep(&s, &p, back, 280, &r, &e);
	ok(r.score < 0.99, "nor does the point that ends it (%.4f)", r.score);
	AnomalySilence(&s, &p, back + 4 * HOUR, &r);
	ok(r.score >= 0.99, "the next silence is news again (%.4f)", r.score);

	AnomalyStateInit(&s);
	AnomalySilence(&s, &p, MONDAY_2022, &r);
	ok(r.score == 0 && r.reason == ANOMALY_REASON_NONE, "a series without points has no silence");
}

int
main(void)
{
	test_params();
	test_range_and_causality();
	test_step();
	test_seasonality_quiet();
	test_heavy_tails_and_spikes();
	test_zeros_flat_gaps();
	test_calendar();
	test_irregular_and_cold_start();
	test_state();
	test_errors();
	test_event_step();
	test_silence_by_the_clock();
	return tap_done();
}
