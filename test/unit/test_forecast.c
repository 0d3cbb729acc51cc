/*
 * Unit tests of the forecast core: recovery of known trends, changepoints
 * and seasonalities from synthetic series, both modes, the calendar,
 * intervals, JSON round trips and every way to break a model or a setting.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"
#include "forecast_internal.h"
#include "tap.h"

#define HOUR 3600.0
#define DAY 86400.0
/* Monday 2022-01-03 00:00:00 UTC */
#define MONDAY_2022 1641168000.0
#define MAX_POINTS 4000

/* A small deterministic generator for the synthetic noise. */
static uint64_t rng_state = 42;

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

/* Hourly timestamps, every hour for days days from MONDAY_2022. */
static int
hourly(double *ts, int days)
{
	int			n = 0,
				h;

	for (h = 0; h < days * 24; h++)
		ts[n++] = MONDAY_2022 + h * HOUR;
	return n;
}

/* Business hours (weekdays 08:00 to 18:00) for days calendar days. */
static int
business_hours(double *ts, int days)
{
	int			n = 0,
				d,
				h;

	for (d = 0; d < days; d++)
	{
		if (d % 7 >= 5)
			continue;
		for (h = 8; h <= 18; h++)
			ts[n++] = MONDAY_2022 + d * DAY + h * HOUR;
	}
	return n;
}

/* The model's base slope in the series' units per day. */
static double
slope_per_day(const ForecastModel *m, double k)
{
	return k * m->y_scale / (m->t_end - m->t_start) * DAY;
}

static ForecastModel *
fit(const double *ts, const double *y, int n, const char *json)
{
	ForecastParams params;
	ForecastError error;
	ForecastModel *model;

	if (!ForecastParamsFromJson(json, strlen(json), &params, &error))
	{
		printf("# bad settings %s: %s\n", json, error.message);
		return NULL;
	}
	model = ForecastFit(ts, y, n, &params, &error);
	if (!model)
		printf("# fit failed: %s\n", error.message);
	return model;
}

static void
test_trend(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	int			n = hourly(ts, 60),
				i;
	ForecastModel *m;

	for (i = 0; i < n; i++)
		y[i] = 10.0 + 0.5 * (ts[i] - ts[0]) / DAY + normal();
	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false}");
	ok(m != NULL, "a linear trend fits");
	if (!m)
		return;
	ok(fabs(slope_per_day(m, m->k) - 0.5) < 0.02, "slope recovered: %.4f per day (0.5)",
	   slope_per_day(m, m->k));
	ok(fabs(m->m * m->y_scale - 10.0) < 0.5, "offset recovered: %.3f (10)", m->m * m->y_scale);
	{
		double		total = 0.0;

		for (i = 0; i < m->n_changepoints; i++)
			total += fabs(slope_per_day(m, m->deltas[i]));
		ok(total < 0.02, "the changepoints hardly move a straight line: %.4f a day in all", total);
	}
	ok(m->sigma * m->y_scale > 0.7 && m->sigma * m->y_scale < 1.3, "noise scale %.3f (1)",
	   m->sigma * m->y_scale);
	ForecastFree(m);

	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false,\"loss\":\"squared\"}");
	ok(m && fabs(slope_per_day(m, m->k) - 0.5) < 0.02, "squared loss: slope %.4f per day (0.5)",
	   m ? slope_per_day(m, m->k) : 0);
	ForecastFree(m);

	/* spikes of 50 times the noise on one point in 20 */
	for (i = 0; i < n; i++)
		if (i % 20 == 7)
			y[i] += 50.0;
	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false}");
	ok(m && fabs(slope_per_day(m, m->k) - 0.5) < 0.03 && fabs(m->m * m->y_scale - 10.0) < 0.6,
	   "Huber's loss ignores spikes: slope %.4f, offset %.3f", m ? slope_per_day(m, m->k) : 0,
	   m ? m->m * m->y_scale : 0);
	ForecastFree(m);
	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false,\"loss\":\"squared\"}");
	ok(m && m->m * m->y_scale > 11.5, "the squared loss follows them: offset %.3f",
	   m ? m->m * m->y_scale : 0);
	ForecastFree(m);
}

static void
test_changepoint(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	int			n = hourly(ts, 60),
				i,
				biggest = 0;
	double		total = 0.0,
				where;
	ForecastModel *m;

	/* slope 0.2 a day, then 1.0 a day from day 30 on */
	for (i = 0; i < n; i++)
	{
		double		d = (ts[i] - ts[0]) / DAY;

		y[i] = 10.0 + 0.2 * d + (d > 30 ? 0.8 * (d - 30) : 0.0) + 0.5 * normal();
	}
	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false}");
	ok(m != NULL, "a broken trend fits");
	if (!m)
		return;
	is_int(m->n_changepoints, 25, "25 changepoints");
	ok(m->changepoints[24] <= 0.8 + 1e-9, "all in the first 80 %% of the history");
	for (i = 0; i < m->n_changepoints; i++)
	{
		total += m->deltas[i];
		if (fabs(m->deltas[i]) > fabs(m->deltas[biggest]))
			biggest = i;
	}
	where = m->changepoints[biggest] * (m->t_end - m->t_start) / DAY;
	ok(fabs(where - 30.0) < 2.0, "the largest slope change is at day %.2f (30)", where);
	ok(fabs(slope_per_day(m, total) - 0.8) < 0.05, "the slope changes by %.3f a day in all (0.8)",
	   slope_per_day(m, total));
	ok(fabs(slope_per_day(m, m->k) - 0.2) < 0.05, "slope before: %.3f (0.2)", slope_per_day(m, m->k));
	ok(fabs(slope_per_day(m, m->k + total) - 1.0) < 0.03, "slope after: %.3f (1.0)",
	   slope_per_day(m, m->k + total));
	ForecastFree(m);

	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false,\"n_changepoints\":0}");
	ok(m && m->n_changepoints == 0, "n_changepoints 0: a single slope");
	ForecastFree(m);
	m = fit(ts, y, n, "{\"daily_seasonality\":false,\"weekly_seasonality\":false,\"growth\":\"flat\"}");
	ok(m && m->k == 0.0 && m->n_changepoints == 0, "flat growth: no slope");
	ForecastFree(m);
}

/* The amplitude of order 1 of a seasonality: sqrt(sin^2 + cos^2) coefficients. */
static double
amplitude(const ForecastModel *m, const char *name, int which, double scale)
{
	int			s;

	for (s = 0; s < m->nseasonalities; s++)
		if (strcmp(m->seasonalities[s].name, name) == 0)
			return m->seasonalities[s].coef[which] * scale;
	return NAN;
}

static void
test_seasonality(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	int			n = hourly(ts, 56),
				i;
	ForecastModel *m;

	/* additive: 10 sin(daily phase) and 5 cos(weekly phase) around 100 */
	for (i = 0; i < n; i++)
	{
		double		daily = 2 * M_PI * ForecastMod(ts[i], DAY) / DAY;
		double		weekly = 2 * M_PI * ForecastMod(ts[i], 7 * DAY) / (7 * DAY);

		y[i] = 100.0 + 10.0 * sin(daily) + 5.0 * cos(weekly) + normal();
	}
	m = fit(ts, y, n, "{}");
	ok(m && m->nseasonalities == 2, "auto: daily and weekly seasonalities");
	if (!m)
		return;
	is_int(m->seasonalities[0].order, 4, "daily order 4");
	is_int(m->seasonalities[1].order, 3, "weekly order 3");
	ok(fabs(amplitude(m, "daily", 0, m->y_scale) - 10.0) < 0.3, "daily sine amplitude %.3f (10)",
	   amplitude(m, "daily", 0, m->y_scale));
	ok(fabs(amplitude(m, "daily", 1, m->y_scale)) < 0.3, "daily cosine amplitude %.3f (0)",
	   amplitude(m, "daily", 1, m->y_scale));
	ok(fabs(amplitude(m, "weekly", 1, m->y_scale) - 5.0) < 0.3, "weekly cosine amplitude %.3f (5)",
	   amplitude(m, "weekly", 1, m->y_scale));
	ok(fabs(amplitude(m, "weekly", 0, m->y_scale)) < 0.3, "weekly sine amplitude %.3f (0)",
	   amplitude(m, "weekly", 0, m->y_scale));
	ForecastFree(m);

	/* multiplicative: (50 + 0.2 a day) (1 + 0.3 sin(daily phase)) */
	for (i = 0; i < n; i++)
	{
		double		daily = 2 * M_PI * ForecastMod(ts[i], DAY) / DAY;

		y[i] = (50.0 + 0.2 * (ts[i] - ts[0]) / DAY) * (1.0 + 0.3 * sin(daily)) + 0.5 * normal();
	}
	m = fit(ts, y, n, "{\"seasonality_mode\":\"multiplicative\",\"weekly_seasonality\":false}");
	ok(m != NULL, "a multiplicative series fits");
	if (!m)
		return;
	ok(fabs(amplitude(m, "daily", 0, 1.0) - 0.3) < 0.01, "relative daily amplitude %.4f (0.3)",
	   amplitude(m, "daily", 0, 1.0));
	ok(fabs(slope_per_day(m, m->k) - 0.2) < 0.02, "trend under multiplicative seasonality %.4f (0.2)",
	   slope_per_day(m, m->k));
	{
		double		fts[2] = {ts[n - 1] - 17 * HOUR, ts[n - 1] - 11 * HOUR},
					yhat[2] = {0, 0};
		ForecastError error;
		bool		predicted = ForecastPredict(m, fts, 2, yhat, NULL, NULL, &error);

		/* at 06:00 and 12:00 of the last day: peak and mean */
		ok(predicted, "predicts without bounds");
		ok(fabs(yhat[0] / yhat[1] - 1.3) < 0.02, "the peak is 1.3 times the level: %.4f", yhat[0] / yhat[1]);
	}
	ForecastFree(m);
}

static void
test_intervals(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS],
				lo1[MAX_POINTS],
				hi1[MAX_POINTS],
				lo2[MAX_POINTS],
				hi2[MAX_POINTS],
				yhat[MAX_POINTS];
	double		future[24];
	int			n = hourly(ts, 42),
				i,
				inside = 0,
				differ = 0;
	ForecastModel *a,
			   *b,
			   *c;
	ForecastError error;

	for (i = 0; i < n; i++)
		y[i] = 20.0 + 5.0 * sin(2 * M_PI * ForecastMod(ts[i], DAY) / DAY) + 2.0 * normal();
	a = fit(ts, y, n, "{\"seed\":7}");
	b = fit(ts, y, n, "{\"seed\":7}");
	c = fit(ts, y, n, "{\"seed\":8}");
	ok(a && b && c, "three fits");
	if (!a || !b || !c)
		return;
	is_int(ForecastFuture(a, 24, future), 24, "24 future hours");
	ForecastPredict(a, future, 24, yhat, lo1, hi1, &error);
	ForecastPredict(b, future, 24, yhat, lo2, hi2, &error);
	ok(memcmp(lo1, lo2, sizeof(double) * 24) == 0 && memcmp(hi1, hi2, sizeof(double) * 24) == 0,
	   "the same seed gives identical intervals");
	ForecastPredict(c, future, 24, yhat, lo2, hi2, &error);
	for (i = 0; i < 24; i++)
		differ += lo1[i] != lo2[i] || hi1[i] != hi2[i];
	ok(differ > 0, "another seed gives other draws");
	for (i = 0; i < 24; i++)
		inside += lo1[i] <= yhat[i] && yhat[i] <= hi1[i] && hi1[i] - lo1[i] > 2 * 2.0 && hi1[i] - lo1[i] < 6 * 2.0;
	is_int(inside, 24, "bounds around yhat, about +-1.96 noise scales wide");

	/* in-sample: about 95 % of the history inside its intervals */
	ForecastPredict(a, ts, n, yhat, lo1, hi1, &error);
	for (i = 0, inside = 0; i < n; i++)
		inside += lo1[i] <= y[i] && y[i] <= hi1[i];
	ok(fabs((double) inside / n - 0.95) < 0.02, "in-sample coverage %.3f (0.95)", (double) inside / n);
	ForecastFree(a);
	ForecastFree(b);
	ForecastFree(c);

	a = fit(ts, y, n, "{\"uncertainty_samples\":0}");
	ok(a && ForecastPredict(a, future, 24, yhat, lo1, hi1, &error) &&
	   memcmp(lo1, yhat, sizeof(double) * 24) == 0 && memcmp(hi1, yhat, sizeof(double) * 24) == 0,
	   "uncertainty_samples 0: bounds equal yhat");
	ForecastFree(a);
	a = fit(ts, y, n, "{\"interval_width\":0.5}");
	b = fit(ts, y, n, "{}");
	ok(a && b && ForecastPredict(a, future, 1, yhat, lo1, hi1, &error) &&
	   ForecastPredict(b, future, 1, yhat, lo2, hi2, &error) && hi1[0] - lo1[0] < hi2[0] - lo2[0],
	   "a 50 %% interval is narrower than a 95 %% one");
	ForecastFree(a);
	ForecastFree(b);
}

static void
test_calendar(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	double		future[64],
				yhat[40];
	int			n,
				i,
				count;
	ForecastModel *m;
	ForecastError error;

	/* business hours, 8 weeks, ending on a Friday at 18:00 */
	n = business_hours(ts, 61);
	for (i = 0; i < n; i++)
		y[i] = 30.0 + 10.0 * (ForecastMod(ts[i], DAY) == 10 * HOUR) + normal();
	ok(ts[n - 1] == MONDAY_2022 + 60 * DAY + 18 * HOUR, "history ends on a Friday, 18:00");
	m = fit(ts, y, n, "{}");
	ok(m && m->calendar.weekly && m->calendar.step == HOUR, "an hourly weekly calendar is learnt");
	if (!m)
		return;
	for (i = 0, count = 0; i < m->calendar.nslots; i++)
		count += m->calendar.active[i];
	is_int(count, 55, "55 active hours a week");
	is_int(m->level_window, 11, "the level window is one active day: 11 hours");
	is_int(ForecastFuture(m, 8, future), 8, "8 future timestamps");
	ok(future[0] == ts[n - 1] + 3 * DAY - 10 * HOUR, "the first is Monday 08:00");
	for (i = 1; i < 8; i++)
		if (future[i] != future[0] + i * HOUR)
			break;
	is_int(i, 8, "then hourly to 15:00");
	is_int(ForecastFuture(m, 12, future), 12, "12 future timestamps");
	ok(future[11] == future[0] + DAY, "the twelfth is Tuesday 08:00: nights are skipped");
	ok(ForecastPredict(m, future, 12, yhat, NULL, NULL, &error), "predicts the next business hours");
	ok(yhat[2] > yhat[1] + 5 && yhat[2] > yhat[3] + 5, "10:00 keeps its peak: %.2f against %.2f and %.2f",
	   yhat[2], yhat[1], yhat[3]);
	ForecastFree(m);

	/* a holiday Monday (the third, points 110 to 120) leaves the calendar as it was */
	memmove(ts + 110, ts + 121, sizeof(double) * (n - 121));
	memmove(y + 110, y + 121, sizeof(double) * (n - 121));
	m = fit(ts, y, n - 11, "{}");
	for (i = 0, count = 0; m && i < m->calendar.nslots; i++)
		count += m->calendar.active[i];
	is_int(count, 55, "a missing day does not remove its hours");
	ForecastFree(m);

	/* three days of every hour: too short to know the week, so every day */
	n = hourly(ts, 3);
	for (i = 0; i < n; i++)
		y[i] = 5 + normal();
	m = fit(ts, y, n, "{\"daily_seasonality\":false}");
	ok(m && ForecastFuture(m, 48, future) == 48 && future[47] == ts[n - 1] + 48 * HOUR,
	   "a short history continues through days it has not seen");
	ForecastFree(m);

	/* business hours at half past: the future keeps the half hours */
	n = business_hours(ts, 28);
	for (i = 0; i < n; i++)
	{
		ts[i] += 1800;
		y[i] = 5 + normal();
	}
	m = fit(ts, y, n, "{}");
	ok(m && ForecastFuture(m, 2, future) == 2 && future[0] == ts[n - 1] + 3 * DAY - 10 * HOUR &&
	   future[1] == future[0] + HOUR, "half past: Monday 08:30, then 09:30");
	ForecastFree(m);

	/* every hour: the next hours; daily data: the next days */
	n = hourly(ts, 30);
	for (i = 0; i < n; i++)
		y[i] = 5 + normal();
	m = fit(ts, y, n, "{}");
	ok(m && ForecastFuture(m, 30, future) == 30 && future[0] == ts[n - 1] + HOUR &&
	   future[29] == ts[n - 1] + 30 * HOUR, "a 24/7 series continues hour by hour");
	ForecastFree(m);
	for (i = 0; i < 200; i++)
	{
		ts[i] = MONDAY_2022 + i * DAY;
		y[i] = 5 + normal();
	}
	m = fit(ts, y, 200, "{}");
	ok(m && m->calendar.weekly && m->calendar.nslots == 7 && ForecastFuture(m, 3, future) == 3 &&
	   future[2] == ts[199] + 3 * DAY, "daily data continues day by day");
	ForecastFree(m);

	/* every 7000 seconds: no weekly calendar, every step */
	for (i = 0; i < 200; i++)
		ts[i] = MONDAY_2022 + i * 7000.0;
	m = fit(ts, y, 200, "{}");
	ok(m && !m->calendar.weekly && ForecastFuture(m, 2, future) == 2 && future[1] == ts[199] + 14000.0,
	   "a step that does not divide a day: every step");
	ForecastFree(m);
}

static void
test_nonnegative(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS],
				yhat[MAX_POINTS],
				lo[MAX_POINTS],
				hi[MAX_POINTS];
	double		future[48];
	int			n = hourly(ts, 30),
				i,
				negative = 0,
				below = 0;
	ForecastModel *m;
	ForecastError error;

	/* a count falling towards zero */
	for (i = 0; i < n; i++)
		y[i] = fmax(0.0, floor(40.0 - 1.5 * (ts[i] - ts[0]) / DAY + 3 * normal()));
	m = fit(ts, y, n, "{}");
	ok(m && ForecastFuture(m, 48, future) == 48 && ForecastPredict(m, future, 48, yhat, lo, hi, &error),
	   "a falling count fits and predicts");
	for (i = 0; m && i < 48; i++)
		negative += yhat[i] < 0 || lo[i] < 0 || hi[i] < 0;
	is_int(negative, 0, "no prediction or bound below zero");
	ok(m && m->integer, "whole numbers are noticed");
	for (i = 0; m && i < 48; i++)
		negative += lo[i] != floor(lo[i]) || hi[i] != floor(hi[i]);
	is_int(negative, 0, "so the bounds of a count are whole numbers");
	ForecastFree(m);

	m = fit(ts, y, n, "{\"nonnegative\":false,\"level_window\":0}");
	ok(m && ForecastPredict(m, future, 48, yhat, lo, hi, &error), "nonnegative false predicts");
	for (i = 0; m && i < 48; i++)
		below += lo[i] < 0;
	ok(below > 0, "and lets bounds go below zero (%d of 48)", below);
	ForecastFree(m);

	/* heavy-tailed bytes through log1p */
	for (i = 0; i < n; i++)
		y[i] = floor(exp(8.0 + 1.5 * normal()));
	m = fit(ts, y, n, "{\"log_transform\":true}");
	ok(m && ForecastPredict(m, future, 48, yhat, lo, hi, &error), "log_transform fits bytes");
	for (i = 0, negative = 0; m && i < 48; i++)
		negative += !(lo[i] >= 0 && lo[i] <= yhat[i] && yhat[i] <= hi[i]);
	is_int(negative, 0, "ordered, nonnegative bounds");
	ok(m && yhat[0] > exp(8.0) * 0.7 && yhat[0] < exp(8.0) * 1.4,
	   "the forecast is the typical value: %.0f (median %.0f)", m ? yhat[0] : 0, exp(8.0));
	ForecastFree(m);
}

static void
test_json_round_trip(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS],
				y1[MAX_POINTS],
				l1[MAX_POINTS],
				u1[MAX_POINTS],
				y2[MAX_POINTS],
				l2[MAX_POINTS],
				u2[MAX_POINTS];
	const char *settings[] = {"{}", "{\"seasonality_mode\":\"multiplicative\",\"seed\":3}",
	"{\"log_transform\":true,\"loss\":\"squared\",\"yearly_seasonality\":2}"};
	int			n = business_hours(ts, 70),
				s,
				i;

	for (i = 0; i < n; i++)
		y[i] = floor(50.0 + 10.0 * sin(2 * M_PI * ForecastMod(ts[i], DAY) / DAY) + 5 * normal());
	for (s = 0; s < 3; s++)
	{
		ForecastModel *a = fit(ts, y, n, settings[s]),
				   *b;
		ForecastError error;
		char	   *text,
				   *again;
		double		query[40];
		int			q;

		if (!a)
		{
			ok(false, "fit %s", settings[s]);
			continue;
		}
		q = ForecastFuture(a, 20, query);
		memcpy(query + q, ts + n - 20, sizeof(double) * 20);
		text = ForecastModelToJson(a);
		b = text ? ForecastModelFromJson(text, strlen(text), &error) : NULL;
		ok(b != NULL, "%s: the model reads back%s%s", settings[s], b ? "" : ": ", b ? "" : error.message);
		if (!b)
		{
			free(text);
			ForecastFree(a);
			continue;
		}
		ForecastPredict(a, query, q + 20, y1, l1, u1, &error);
		ForecastPredict(b, query, q + 20, y2, l2, u2, &error);
		ok(memcmp(y1, y2, sizeof(double) * (q + 20)) == 0 && memcmp(l1, l2, sizeof(double) * (q + 20)) == 0 &&
		   memcmp(u1, u2, sizeof(double) * (q + 20)) == 0, "%s: identical predictions and bounds", settings[s]);
		again = ForecastModelToJson(b);
		ok(again && strcmp(text, again) == 0, "%s: and identical text", settings[s]);
		ok(ForecastFuture(b, 20, y2) == 20 && memcmp(y2, query, sizeof(double) * 20) == 0,
		   "%s: and the same future", settings[s]);
		free(again);
		free(text);
		ForecastFree(a);
		ForecastFree(b);
	}
}

/* A hand-written valid model, and ways to break it. */
#define GOOD_MODEL \
	"{\"format\":\"ipflow.forecast\",\"version\":1," \
	"\"params\":{\"growth\":\"linear\",\"n_changepoints\":2,\"daily_seasonality\":1,\"weekly_seasonality\":0," \
	"\"yearly_seasonality\":0,\"level_window\":3}," \
	"\"history\":{\"n\":100,\"start\":0,\"end\":360000,\"y_scale\":10,\"integer\":true}," \
	"\"trend\":{\"k\":0.1,\"m\":0.5,\"changepoints\":[0.25,0.5],\"deltas\":[0,0.05],\"level\":0}," \
	"\"seasonalities\":[{\"name\":\"daily\",\"period\":86400,\"order\":1,\"coefficients\":[0.1,0.2]}]," \
	"\"noise\":{\"sigma\":0.05,\"iterations\":4,\"residual_quantiles\":[-0.1,0,0.1],\"level_quantiles\":[]}," \
	"\"calendar\":{\"step\":3600,\"weekly\":false,\"phase\":0,\"active\":\"\"}}"

/* GOOD_MODEL with the first from replaced by to: must be refused at path. */
static void
corrupt(const char *from, const char *to, const char *path, const char *why)
{
	char		doc[8192];
	const char *at = strstr(GOOD_MODEL, from);
	ForecastError error;
	ForecastModel *m;

	if (!at)
	{
		ok(false, "%s: \"%s\" not in the model", why, from);
		return;
	}
	snprintf(doc, sizeof(doc), "%.*s%s%s", (int) (at - GOOD_MODEL), GOOD_MODEL, to, at + strlen(from));
	m = ForecastModelFromJson(doc, strlen(doc), &error);
	ok(m == NULL && strcmp(error.param, path) == 0 && error.message[0] != '\0',
	   "refused, %s: [%s] %s", why, error.param, error.message);
	ForecastFree(m);
}

static void
test_corrupt_models(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	ForecastParams p;
	ForecastError error;
	ForecastModel *m = ForecastModelFromJson(GOOD_MODEL, strlen(GOOD_MODEL), &error);
	char		deep[300];
	char	   *text;
	int			n,
				i,
				cut,
				refused = 0,
				tries = 0;
	double		yhat[3],
				future[3];

	ok(m != NULL, "the hand-written model reads%s%s", m ? "" : ": ", m ? "" : error.message);
	ok(m && ForecastFuture(m, 3, future) == 3 && ForecastPredict(m, future, 3, yhat, NULL, NULL, &error),
	   "and predicts");
	ForecastFree(m);

	corrupt("{\"format\"", "[\"format\"", "", "not JSON");
	corrupt("ipflow.forecast", "prophet", "format", "another format");
	corrupt("\"version\":1", "\"version\":2", "version", "a future version");
	corrupt("\"version\":1", "\"version\":\"1\"", "version", "a version that is a string");
	corrupt("\"version\":1,", "\"version\":1,\"extra\":1,", "", "an unknown key");
	corrupt("\"version\":1,", "\"version\":1,\"version\":1,", "version", "a repeated key");
	corrupt("\"noise\":", "\"noize\":", "", "a missing part");
	corrupt("\"trend\":{", "\"trend\":null,\"x\":{", "", "a part that is null");
	corrupt("[0.25,0.5]", "[0.5,0.25]", "trend.changepoints[1]", "changepoints out of order");
	corrupt("[0.25,0.5]", "[0.25,1.5]", "trend.changepoints[1]", "a changepoint after the history");
	corrupt("[0.25,0.5]", "[0.25,0.5,0.75]", "trend.changepoints", "more changepoints than n_changepoints");
	corrupt("[0,0.05]", "[0]", "trend.deltas", "a delta missing");
	corrupt("\"k\":0.1", "\"k\":1e999", "trend.k", "a number out of range");
	corrupt("\"k\":0.1", "\"k\":\"fast\"", "trend.k", "a string for a number");
	corrupt("\"m\":0.5", "\"m\":NaN", "", "NaN");
	corrupt("\"order\":1", "\"order\":2", "seasonalities[0].order", "an order the params do not say");
	corrupt("[0.1,0.2]", "[0.1]", "seasonalities[0].coefficients", "a coefficient missing");
	corrupt("\"daily\"", "\"hourly\"", "seasonalities[0].name", "an unknown seasonality");
	corrupt("\"period\":86400", "\"period\":3600", "seasonalities[0].period", "a wrong period");
	corrupt("\"daily_seasonality\":1", "\"daily_seasonality\":0", "seasonalities[0].order",
			"a seasonality the params switch off");
	corrupt("\"y_scale\":10", "\"y_scale\":0", "history.y_scale", "a zero scale");
	corrupt("\"end\":360000", "\"end\":-5", "history.end", "a history that ends before it starts");
	corrupt("\"integer\":true", "\"integer\":1", "history.integer", "a number for a boolean");
	corrupt("\"sigma\":0.05", "\"sigma\":-0.05", "noise.sigma", "a negative noise scale");
	corrupt("[-0.1,0,0.1]", "[0.1,0,-0.1]", "noise.residual_quantiles[1]", "quantiles out of order");
	corrupt("[-0.1,0,0.1]", "[]", "noise.residual_quantiles", "no quantiles");
	corrupt("\"weekly\":false", "\"weekly\":true", "calendar.active", "a weekly calendar without slots");
	corrupt("\"active\":\"\"", "\"active\":\"1\"", "calendar.active", "slots without a weekly calendar");
	corrupt("\"phase\":0", "\"phase\":3600", "calendar.phase", "a phase of a whole step");
	corrupt("\"step\":3600,\"weekly\":false", "\"step\":7000,\"weekly\":true", "calendar.step",
			"a step that does not divide a day");
	corrupt("\"n_changepoints\":2", "\"n_changepoints\":-1", "params.n_changepoints", "bad params");
	corrupt("\"growth\":\"linear\"", "\"growth\":\"logistic\"", "params.growth", "logistic growth");
	corrupt("\"growth\":\"linear\"", "\"growth\":\"flat\"", "trend", "a slope on a flat trend");
	corrupt("\"level_window\":3", "\"level_window\":\"auto\"", "params", "an unresolved setting");
	corrupt("\"deltas\":[0,0.05]", "\"deltas\":[0,{}]", "trend.deltas[1]", "an object for a number");
	corrupt("\"calendar\"", "\"calendar\":1,\"x\"", "", "trailing keys");

	/* nesting deeper than the parser allows */
	for (i = 0; i < 100; i++)
		deep[i] = '[';
	for (i = 0; i < 100; i++)
		deep[100 + i] = ']';
	deep[200] = '\0';
	m = ForecastModelFromJson(deep, 200, &error);
	ok(m == NULL && strstr(error.message, "nests") != NULL, "deep nesting refused: %s", error.message);
	m = ForecastModelFromJson("", 0, &error);
	ok(m == NULL && error.message[0] != '\0', "empty text refused: %s", error.message);
	m = ForecastModelFromJson(NULL, 0, &error);
	ok(m == NULL, "no text refused");
	ok(ForecastModelFromJson("{\"format\":1}", 12, NULL) == NULL &&
	   !ForecastParamsFromJson("{\"seed\":-1}", 11, &p, NULL), "errors may be ignored (NULL)");

	/* every prefix of a real model is refused, none crashes */
	n = business_hours(ts, 40);
	for (i = 0; i < n; i++)
		y[i] = 10 + normal();
	m = fit(ts, y, n, "{}");
	text = m ? ForecastModelToJson(m) : NULL;
	ForecastFree(m);
	for (cut = 0; text && cut < (int) strlen(text); cut += 17)
	{
		m = ForecastModelFromJson(text, cut, &error);
		refused += m == NULL;
		tries++;
		ForecastFree(m);
	}
	ok(tries > 50 && refused == tries, "all %d truncations refused", tries);
	free(text);
}

/* The settings in json must be refused, naming param, with text in the message. */
static void
bad_setting(const char *json, const char *param, const char *text)
{
	ForecastParams params;
	ForecastError error;
	bool		accepted = ForecastParamsFromJson(json, strlen(json), &params, &error);

	ok(!accepted && strcmp(error.param, param) == 0 && strstr(error.message, text) != NULL,
	   "%s refused: [%s] %s", json, error.param, error.message);
}

static void
test_params(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	ForecastParams p;
	ForecastError error;
	ForecastModel *m;
	int			i;

	ForecastParamsDefault(&p);
	ok(ForecastParamsValidate(&p, &error), "the defaults are valid");
	ok(p.n_changepoints == 25 && p.changepoint_range == 0.8 && p.changepoint_prior_scale == 0.05 &&
	   p.seasonality_prior_scale == 10 && p.interval_width == 0.95 && p.uncertainty_samples == 1000 &&
	   p.growth == FORECAST_GROWTH_LINEAR && p.seasonality_mode == FORECAST_MODE_ADDITIVE,
	   "Prophet's defaults");

	p.changepoint_prior_scale = -1;
	ok(!ForecastParamsValidate(&p, &error) && strcmp(error.param, "changepoint_prior_scale") == 0 &&
	   strcmp(error.message, "changepoint_prior_scale must be a number from 1e-06 to 1000, not -1") == 0,
	   "a bad prior scale is named with its range: %s", error.message);
	ForecastParamsDefault(&p);
	p.n_changepoints = 1001;
	ok(!ForecastParamsValidate(&p, &error) &&
	   strcmp(error.message, "n_changepoints must be an integer from 0 to 1000, not 1001") == 0,
	   "too many changepoints: %s", error.message);
	ForecastParamsDefault(&p);
	p.daily_seasonality = 51;
	ok(!ForecastParamsValidate(&p, &error) &&
	   strcmp(error.message, "daily_seasonality must be auto or an integer from 0 to 50, not 51") == 0,
	   "too high an order: %s", error.message);
	ForecastParamsDefault(&p);
	p.interval_width = NAN;
	ok(!ForecastParamsValidate(&p, &error) && strcmp(error.param, "interval_width") == 0,
	   "NaN width: %s", error.message);
	ForecastParamsDefault(&p);
	p.seasonality_mode = (ForecastMode) 7;
	ok(!ForecastParamsValidate(&p, &error) && strcmp(error.param, "seasonality_mode") == 0,
	   "an unknown mode: %s", error.message);

	{
		const char *json = "{\"seasonality_mode\":\"multiplicative\",\"daily_seasonality\":true,"
			"\"weekly_seasonality\":\"auto\",\"yearly_seasonality\":false,\"seed\":12,"
			"\"level_window\":\"auto\",\"loss\":\"squared\",\"log_transform\":true}";

		ok(ForecastParamsFromJson(json, strlen(json), &p, &error) &&
		   p.seasonality_mode == FORECAST_MODE_MULTIPLICATIVE && p.daily_seasonality == 4 &&
		   p.weekly_seasonality == FORECAST_SEASONALITY_AUTO && p.yearly_seasonality == 0 &&
		   p.seed == 12 && p.level_window == FORECAST_LEVEL_WINDOW_AUTO && p.loss == FORECAST_LOSS_SQUARED &&
		   p.log_transform && p.n_changepoints == 25, "every kind of setting reads");
	}
	bad_setting("{\"changepoint_prior_scale\":0}", "changepoint_prior_scale", "from 1e-06 to 1000, not 0");
	bad_setting("{\"changepoint_prior_scale\":\"big\"}", "changepoint_prior_scale", "must be a number");
	bad_setting("{\"n_changepoints\":2.5}", "n_changepoints", "an integer from 0 to 1000, not 2.5");
	bad_setting("{\"interval_width\":1}", "interval_width", "not 1");
	bad_setting("{\"uncertainty_samples\":-1}", "uncertainty_samples", "from 0 to 100000");
	bad_setting("{\"seed\":-1}", "seed", "from 0 to 9007199254740991");
	bad_setting("{\"growth\":\"logistic\"}", "growth", "not supported");
	bad_setting("{\"seasonality_mode\":\"both\"}", "seasonality_mode", "\"additive\" or \"multiplicative\"");
	bad_setting("{\"weekly_seasonality\":\"yes\"}", "weekly_seasonality", "true, false or \"auto\"");
	bad_setting("{\"level_window\":-2}", "level_window", "auto or an integer");
	bad_setting("{\"nonnegative\":1}", "nonnegative", "true or false");
	bad_setting("{\"holidays\":[]}", "", "unknown setting \"holidays\"");
	bad_setting("{\"seed\":1,\"seed\":2}", "seed", "repeated");
	bad_setting("[]", "", "must be a JSON object");
	bad_setting("{\"seed\":", "", "not valid JSON");
	bad_setting("{\"huber_delta\":1e999}", "huber_delta", "out of range");

	/* the history: long enough, finite, spanning time */
	for (i = 0; i < 40; i++)
	{
		ts[i] = MONDAY_2022 + i * HOUR;
		y[i] = i % 5;
	}
	ForecastParamsDefault(&p);
	m = ForecastFit(ts, y, 12, &p, &error);
	ok(m == NULL && strcmp(error.message, "a forecast needs at least 32 points of history, got 12") == 0,
	   "too short: %s", error.message);
	is_int(ForecastMinHistory(&p), 32, "32 points for the defaults");
	p.daily_seasonality = p.weekly_seasonality = 0;
	is_int(ForecastMinHistory(&p), 10, "10 without seasonalities");
	m = ForecastFit(ts, y, 12, &p, &error);
	ok(m != NULL, "which 12 points satisfy");
	ForecastFree(m);
	m = ForecastFit(ts, y, 0, &p, &error);
	ok(m == NULL && strstr(error.message, "at least 10 points") != NULL, "no history: %s", error.message);
	y[3] = NAN;
	m = ForecastFit(ts, y, 40, &p, &error);
	ok(m == NULL && strcmp(error.param, "y") == 0 && strstr(error.message, "value 3") != NULL,
	   "a NaN value: %s", error.message);
	y[3] = -1;
	p.log_transform = true;
	m = ForecastFit(ts, y, 40, &p, &error);
	ok(m == NULL && strcmp(error.param, "log_transform") == 0, "log of a negative: %s", error.message);
	p.log_transform = false;
	ts[5] = INFINITY;
	m = ForecastFit(ts, y, 40, &p, &error);
	ok(m == NULL && strcmp(error.param, "ts") == 0, "an infinite time: %s", error.message);
	for (i = 0; i < 40; i++)
		ts[i] = MONDAY_2022;
	m = ForecastFit(ts, y, 40, &p, &error);
	ok(m == NULL && strstr(error.message, "spans no time") != NULL, "one instant: %s", error.message);
	p.n_changepoints = -3;
	m = ForecastFit(ts, y, 40, &p, &error);
	ok(m == NULL && strcmp(error.param, "n_changepoints") == 0, "bad settings stop the fit: %s", error.message);
	ok(fabs(ForecastSecondsFromMicros(INT64_C(1641168000123456)) - 1641168000.123456) < 1e-6,
	   "microseconds to seconds");
}

static void
test_backtest(void)
{
	static double ts[MAX_POINTS],
				y[MAX_POINTS];
	ForecastParams p;
	ForecastAccuracy acc;
	ForecastError error;
	int			n = business_hours(ts, 84),
				i;

	for (i = 0; i < n; i++)
		y[i] = 50.0 + 10.0 * sin(2 * M_PI * ForecastMod(ts[i], DAY) / DAY) + 3.0 * normal();
	ForecastParamsDefault(&p);
	ok(ForecastBacktest(ts, y, n, &p, 5, 8, 0.3, &acc, &error), "a backtest runs");
	is_int(acc.origins, 5, "5 origins");
	is_int(acc.points, 40, "40 points scored");
	ok(acc.mase > 0 && acc.mase < acc.naive_mase, "MASE %.3f beats the seasonal naive %.3f",
	   acc.mase, acc.naive_mase);
	ok(acc.naive_mase > 0.7 && acc.naive_mase < 1.5, "the naive forecast scores about 1: %.3f",
	   acc.naive_mase);
	ok(acc.mae > 0 && acc.rmse >= acc.mae && acc.smape > 0 && acc.smape < 2,
	   "MAE %.3f, RMSE %.3f, sMAPE %.3f", acc.mae, acc.rmse, acc.smape);
	ok(acc.coverage >= 0.8, "coverage %.3f", acc.coverage);
	ok(!ForecastBacktest(ts, y, n, &p, 0, 8, 0.3, &acc, &error) && strcmp(error.param, "origins") == 0,
	   "no origins: %s", error.message);
	ok(!ForecastBacktest(ts, y, 35, &p, 5, 8, 0.3, &acc, &error) && strstr(error.message, "needs at least 40") != NULL,
	   "too short for a backtest: %s", error.message);
}

static void
test_sort(void)
{
	static double v[5000];
	int			pattern,
				i,
				sorted = 0;

	for (pattern = 0; pattern < 7; pattern++)
	{
		int			n = pattern == 5 ? 40 : 5000;

		for (i = 0; i < n; i++)
			v[i] = pattern == 0 ? normal() : pattern == 1 ? i : pattern == 2 ? -i
				: pattern == 3 ? i % 7 - 3.5 : pattern == 4 ? (i % 2 ? -0.0 : 0.0)
				: pattern == 5 ? normal() : 1e6 + (n - i) * 1e-9;
		ForecastSortDoubles(v, n);
		for (i = 1; i < n && v[i - 1] <= v[i]; i++)
			;
		sorted += i == n;
	}
	is_int(sorted, 7, "sorting: random, sorted, reversed, periodic, signed zeros, short, alike");
	for (i = 0; i < 101; i++)
		v[i] = 100 - i;
	ok(ForecastMedian(v, 101) == 50, "the median of an odd count");
	for (i = 0; i < 100; i++)
		v[i] = 100 - i;
	ok(ForecastMedian(v, 100) == 50.5, "the median of an even count");
}

/* LinalgLasso meets the optimality conditions of random problems. */
static void
test_lasso(void)
{
	double		A[16 * 16],
				M[16 * 16],
				b[16],
				x[16],
				work[16 * 16 + 5 * 16];
	int			active[16];
	unsigned char penalised[16];
	int			trial,
				i,
				j,
				k,
				optimal = 0,
				sparse = 0;

	for (trial = 0; trial < 200; trial++)
	{
		int			p = 4 + trial % 12;
		double		lambda = 0.05 + uniform();
		bool		kkt = true;

		/* A = M'M + I, correlated columns like ramps */
		for (i = 0; i < p * p; i++)
			M[i] = normal() + (i % p > 0 ? 0.8 * M[i - 1] : 0.0);
		for (i = 0; i < p; i++)
			for (j = 0; j < p; j++)
			{
				A[i * p + j] = i == j ? 1.0 : 0.0;
				for (k = 0; k < p; k++)
					A[i * p + j] += M[k * p + i] * M[k * p + j];
			}
		for (i = 0; i < p; i++)
		{
			b[i] = 3 * normal();
			penalised[i] = i >= 2;
			x[i] = trial % 3 == 0 ? normal() : 0.0;		/* warm or cold */
		}
		if (!LinalgLasso(A, b, p, penalised, lambda, x, work, active))
			kkt = false;
		for (i = 0; kkt && i < p; i++)
		{
			double		g = LinalgDot(A + i * p, x, p) - b[i];

			if (!penalised[i])
				kkt = fabs(g) < 1e-8;
			else if (x[i] != 0.0)
				kkt = fabs(g + lambda * (x[i] > 0 ? 1 : -1)) < 1e-8;
			else
			{
				kkt = fabs(g) <= lambda * (1 + 1e-6);
				sparse++;
			}
		}
		optimal += kkt;
	}
	is_int(optimal, 200, "the lasso meets its optimality conditions on 200 random problems");
	ok(sparse > 100, "and leaves coefficients at zero (%d)", sparse);
}

int
main(void)
{
	test_trend();
	test_changepoint();
	test_seasonality();
	test_intervals();
	test_calendar();
	test_nonnegative();
	test_json_round_trip();
	test_corrupt_models();
	test_params();
	test_backtest();
	test_sort();
	test_lasso();
	return tap_done();
}
