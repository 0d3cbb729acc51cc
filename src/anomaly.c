/*
 * anomaly.c - causal anomaly scores of one time series
 *
 * The detector runs in the ingest worker for every IP and feature, so its
 * state is a few hundred bytes and a step costs a few dozen flops.  It is a
 * robust Holt-Winters: a level plus an offset per hour of the day and per
 * day of the week, learned from Huber-clipped residuals so spikes barely
 * move them, and a noise scale learned as an exponentially weighted mean
 * absolute residual (clipped too, so heavy tails widen it gradually instead
 * of blowing it up).  Values go through sign(x) log1p(|x|) first: traffic
 * counts vary over orders of magnitude and deviations are relative.
 *
 * A point's deviation is its residual measured against the residuals' own
 * extremes: 0 at the baseline, 1 at the largest residual seen on its side
 * (a maximum that leaks back slowly, at least two scales out), then one
 * more per scale beyond it.  Traffic is heavy-tailed: what tells an
 * injected spike from a big hour is that it tops every hour before it.
 * Drops count down_weight of a rise: on the log scale a small count makes
 * a drop look larger than it is.  The scale is widened during the warm-up
 * and for an hour of the day never seen.  A point beyond outlier_z scales
 * past its extreme is
 * remembered as pending (and not learned by the extremes); when the next
 * point is as far off on the same side the series has shifted: that point
 * is scored against the shifted level and the level jumps to it, so a step
 * is flagged once and then adapted to, while a lone spike leaves the
 * baselines as they were.
 *
 * Exact zeros of a log-transformed series are another regime (an idle
 * hour): a zero scores no more than the surprise of a zero, -log of its
 * learned share, and does not teach the baselines.
 *
 * With timing on, the state also learns how often each hour of the day and
 * each day of the week has a point (exponentially weighted counts, hour
 * slots of the UTC clock).  A point in an hour the series rarely has (off
 * the calendar) scores by -log of that hour's probability, and a run of
 * hours the series regularly has, skipped before a point, by the sum of
 * -log(1 - p) over them but the largest (one missing hour is noise): a
 * silence is flagged when the series comes back.  An irregular series has
 * neither rare nor regular hours and raises neither.  Probabilities are used
 * after a day of counts.
 *
 * The deviation over 1 + alert_z, the calendar's surprises over
 * alert_surprise, add up as a Euclidean norm x, scored x^4 / (1 + x^4)
 * scaled so that x = 1 scores 0.99: continuous, 0 for a perfect point,
 * below 1 always.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "anomaly.h"

/*
 * Every value here is finite (checked on the way in), so plain comparisons
 * do what fmin/fmax do, without the libm calls their NaN rules cost.
 */
static inline double
Lesser(double a, double b)
{
	return a < b ? a : b;
}

static inline double
Greater(double a, double b)
{
	return a > b ? a : b;
}

#define HOUR 3600.0
#define HOURS_PER_WEEK 168
/* |t| beyond this (about 300000 years) is refused: hours must fit int64. */
#define MAX_ABS_SECONDS 1e13
/* 99^(1/4): where x^4 / (1 + x^4) reaches 0.99 */
#define SCORE_X99 3.1543421455

/* Calendar counts: windows of about four weeks, trusted after a day. */
#define HOUR_DECAY (1.0 - 1.0 / 28.0)
#define DAY_DECAY (1.0 - 1.0 / 144.0)
#define MIN_HOUR_COUNT 1.0
#define MIN_DAY_COUNT 12.0
/* prior chance that a day of the week not known yet is one without points */
#define QUIET_DAY_PRIOR 0.25
#define MIN_PROBABILITY 0.0001
/* Only hours this regular count when missing, this rare when present. */
#define REGULAR_PROBABILITY 0.8
#define RARE_PROBABILITY 0.15
/* weight, in hours, of the overall share in an hour's or a day's share */
#define PRIOR_WEIGHT 0.3
#define MAX_PROBABILITY 0.95
/* Surprise of a zero that scores 0.99: a series idle one point in 3000 */
#define ZERO_ALERT_SURPRISE 8.0
/* The scale learns residuals clipped to this many scales. */
#define OUTLIER_CLIP 3.5
/* Residuals teach the baselines clipped to this many scales. */
#define HUBER_CLIP 2.0
/* The extremes leak back by this many scales a point, and are at least 2 scales out. */
#define TAIL_LEAK 0.005
#define TAIL_MIN 2.0
/* Scale widening for an hour of the day that never had a point. */
#define NEW_HOUR_WIDENING 3.0

/* Across the series of an event: how many must have residuals to compare. */
#define RELATIVE_MIN_SERIES 5
/* Residuals beyond this (raw series only) are not compared. */
#define RELATIVE_MAX_ABS 1e15
/* Scales beyond the largest relative residual seen that score 0.99. */
#define RELATIVE_Z 5.0
/* The slope on the others' median: learned at this rate, used after this many events, within [0, this]. */
#define SLOPE_RATE 0.02
#define SLOPE_MIN_EVENTS 5
#define SLOPE_MAX 1.5
/*
 * The CUSUM of relative residuals: each adds its scales (at most
 * DRIFT_CLIP) less DRIFT_SLACK, and DRIFT_ALARM scores 0.99; it starts
 * after DRIFT_MIN_EVENTS events.
 */
#define DRIFT_SLACK 1.0
#define DRIFT_CLIP 4.0
#define DRIFT_ALARM 10.0
#define DRIFT_MIN_EVENTS 20

const char *const AnomalyReasonNames[] = {"none", "value", "zero", "off_calendar", "missing", "relative"};

static bool SetError(AnomalyError *error, const char *param, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Records an error; returns false. */
static bool
SetError(AnomalyError *error, const char *param, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	snprintf(error->param, sizeof(error->param), "%s", param);
	va_start(args, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, args);
	va_end(args);
	return false;
}

void
AnomalyParamsDefault(AnomalyParams *params)
{
	memset(params, 0, sizeof(*params));
	params->log_transform = true;
	params->level_rate = 0.1;
	params->daily_rate = 0.15;
	params->weekly_rate = 0.1;
	params->scale_rate = 0.05;
	params->min_scale = 0.1;
	params->alert_z = 3.0;
	params->warmup = 50;
	params->outlier_z = 4.0;
	params->timing = true;
	params->alert_surprise = 2.0;
	params->down_weight = 0.3;
}

/* Whether v is within [min, max]; else an error naming the setting. */
static bool
CheckRange(const char *name, double v, double min, double max, bool open_min, AnomalyError *error)
{
	if (!(v >= min && v <= max) || (open_min && v == min))
		return SetError(error, name, "%s must be %s %g and at most %g, not %.17g", name,
						open_min ? "above" : "at least", min, max, v);
	return true;
}

bool
AnomalyParamsValidate(const AnomalyParams *p, AnomalyError *error)
{
	return CheckRange("level_rate", p->level_rate, 0, 1, true, error) &&
		CheckRange("daily_rate", p->daily_rate, 0, 1, false, error) &&
		CheckRange("weekly_rate", p->weekly_rate, 0, 1, false, error) &&
		CheckRange("scale_rate", p->scale_rate, 0, 1, true, error) &&
		CheckRange("min_scale", p->min_scale, 0, 1e6, false, error) &&
		CheckRange("alert_z", p->alert_z, 0.1, 1000, false, error) &&
		CheckRange("warmup", p->warmup, 0, 10000, false, error) &&
		CheckRange("outlier_z", p->outlier_z, 0.5, 1000, false, error) &&
		CheckRange("alert_surprise", p->alert_surprise, 0.1, 1000, false, error) &&
		CheckRange("down_weight", p->down_weight, 0, 1, false, error);
}

void
AnomalyStateInit(AnomalyState *state)
{
	memset(state, 0, sizeof(*state));
}

/* log1p of the magnitude, with the sign, when asked. */
static inline double
Transform(const AnomalyParams *p, double x)
{
	if (!p->log_transform)
		return x;
	return x < 0 ? -log1p(-x) : log1p(x);
}

/* The inverse of Transform. */
static inline double
Untransform(const AnomalyParams *p, double v)
{
	if (!p->log_transform)
		return v;
	if (v > 700)
		v = 700;				/* expm1 stays finite */
	else if (v < -700)
		v = -700;
	return v < 0 ? -expm1(-v) : expm1(v);
}

/* x^4 / (1 + x^4) with x = SCORE_X99 * ratio, kept below 1. */
static double
ScoreOf(double ratio)
{
	double		x = SCORE_X99 * Lesser(fabs(ratio), 1e6);
	double		x4 = (x * x) * (x * x);
	double		score = x4 / (1.0 + x4);

	return score < 1.0 ? score : nextafter(1.0, 0.0);
}

/* Hour of the day and day of the week (Monday 0) of an hour index. */
static inline void
SlotOf(int64_t hour, int *hod, int *dow)
{
	int64_t		day = hour >= 0 ? hour / 24 : -((-hour + 23) / 24);

	*hod = (int) (hour - day * 24);
	/* 1970-01-01 was a Thursday */
	*dow = (int) (((day + 3) % 7 + 7) % 7);
}

/* The overall share of hours with a point (half an hour of a half before any). */
static double
OverallShare(const AnomalyState *s)
{
	double		present = 0,
				total = 0;
	int			i;

	for (i = 0; i < 7; i++)
	{
		present += s->day_present[i];
		total += s->day_total[i];
	}
	return (present + 0.5) / (total + 1.0);
}

/* The learned share of an hour of the day's hours with a point, or -1 before one is counted. */
static double
HourShare(const AnomalyState *s, int hod)
{
	if (s->hour_total[hod] < MIN_HOUR_COUNT)
		return -1;
	return (s->hour_present[hod] + PRIOR_WEIGHT * OverallShare(s)) /
		(s->hour_total[hod] + PRIOR_WEIGHT);
}

/* The learned probability that an hour has a point, or -1 when not yet known. */
static double
HourProbability(const AnomalyState *s, int64_t hour, bool need_both)
{
	double		pall = OverallShare(s),
				ph,
				pd,
				p;
	int			hod,
				dow;

	SlotOf(hour, &hod, &dow);
	/* an hour or a day not seen enough yet says nothing: the other decides */
	ph = HourShare(s, hod);
	pd = s->day_total[dow] < MIN_DAY_COUNT ? -1 :
		(s->day_present[dow] + PRIOR_WEIGHT * pall) / (s->day_total[dow] + PRIOR_WEIGHT);
	if ((ph < 0 && pd < 0) || (need_both && (ph < 0 || pd < 0)))
		return -1;
	p = ph < 0 ? pd : pd < 0 ? ph : ph * pd / pall;
	return Lesser(Greater(p, MIN_PROBABILITY), MAX_PROBABILITY);
}

/* Counts one hour as having a point or not. */
static void
ObserveHour(AnomalyState *s, int64_t hour, bool present)
{
	int			hod,
				dow;

	SlotOf(hour, &hod, &dow);
	s->hour_total[hod] = (float) (s->hour_total[hod] * HOUR_DECAY + 1.0);
	s->hour_present[hod] = (float) (s->hour_present[hod] * HOUR_DECAY + (present ? 1.0 : 0.0));
	s->day_total[dow] = (float) (s->day_total[dow] * DAY_DECAY + 1.0);
	s->day_present[dow] = (float) (s->day_present[dow] * DAY_DECAY + (present ? 1.0 : 0.0));
}

/*
 * Before its day of the week is known, the evidence of the day so far: when
 * the series has had no point since midnight, the chance that this is one
 * of its days at all, given that the hours it usually has went by empty
 * (QUIET_DAY_PRIOR the prior chance that it is not, and each hour empty
 * with 1 - its share on a day that is): the first Saturday of a weekday
 * series tells itself apart once its usual morning hours have gone by,
 * while its night, which a weekday also has empty, says nothing.  1 when
 * the day is known or had a point.
 */
static double
QuietDayFactor(const AnomalyState *s, int64_t hour, int64_t last)
{
	int64_t		midnight = hour - ((hour % 24) + 24) % 24;
	double		empty = 1.0,
				share;
	int			hod,
				dow;
	int64_t		h;

	SlotOf(hour, &hod, &dow);
	if (s->day_total[dow] >= MIN_DAY_COUNT || s->n == 0 || last >= midnight)
		return 1.0;
	for (h = midnight; h < hour; h++)
	{
		share = HourShare(s, (int) (h - midnight));
		if (share > 0)
			empty *= 1.0 - share;
	}
	return (1.0 - QUIET_DAY_PRIOR) * empty / ((1.0 - QUIET_DAY_PRIOR) * empty + QUIET_DAY_PRIOR);
}

/* The first hour of the run since the last point that counts (the last week of it). */
static inline int64_t
FirstMissingHour(int64_t last, int64_t hour)
{
	return hour - last - 1 > HOURS_PER_WEEK ? hour - HOURS_PER_WEEK : last + 1;
}

/* Adds an empty hour's surprise to *missing when the series usually has it. */
static inline void
MissingHour(const AnomalyState *s, int64_t h, double *missing, double *largest)
{
	/* both known: the first of a weekday must not miss the weekend */
	double		p = HourProbability(s, h, true);

	if (p >= REGULAR_PROBABILITY)
	{
		*missing += -log(1.0 - p);
		*largest = Greater(*largest, -log(1.0 - p));
	}
}

/*
 * The calendar's surprises at a point in hour, then the hours since the
 * last point counted: *missing for the hours skipped before it (the last
 * week of them), *off for the point's own hour.
 */
static void
TimingStep(AnomalyState *s, int64_t hour, double *missing, double *off)
{
	int64_t		last = (int64_t) floor(s->last_t / HOUR);
	int64_t		h;
	double		p,
				largest = 0;

	*missing = 0;
	*off = 0;
	if (s->n > 0 && hour <= last)
		return;					/* another point in the same hour */
	if (s->n > 0)
	{
		for (h = FirstMissingHour(last, hour); h < hour; h++)
		{
			MissingHour(s, h, missing, &largest);
			ObserveHour(s, h, false);
		}
		/* one hour missing is noise; a run of them is a silence */
		*missing -= largest;
		/* a silence the clock reported is not news any more */
		if (s->flags & ANOMALY_SILENCE_REPORTED)
			*missing = 0;
	}
	p = HourProbability(s, hour, false);
	if (p > 0)
		p *= QuietDayFactor(s, hour, last);
	if (p > 0 && p <= RARE_PROBABILITY)
		*off = -log(p);
	ObserveHour(s, hour, true);
}

/*
 * How far a residual is: 0 at the baseline, 1 at the learned tail quantile
 * on its side, then one more per scale beyond it.
 */
static inline double
Deviation(double r, double hi, double lo, double scale)
{
	if (r >= 0)
		return r <= hi ? r / hi : 1 + (r - hi) / scale;
	return r >= lo ? r / lo : 1 + (lo - r) / scale;
}

/* The extremes after a residual r that is not an outlier. */
static void
LearnTails(AnomalyState *s, double r, double hi, double lo, double scale)
{
	double		leak = TAIL_LEAK * scale;

	s->tail_high = (float) (r > s->tail_high ? r : Greater(0, s->tail_high - leak));
	s->tail_low = (float) (r < s->tail_low ? r : Lesser(0, s->tail_low + leak));
}

/* Robust Holt-Winters step: teaches the baselines a (clipped) residual. */
static void
Learn(AnomalyState *s, const AnomalyParams *p, int hod, int dow, double r, double scale)
{
	double		clip = HUBER_CLIP * scale;
	double		c = Greater(-clip, Lesser(clip, r));
	double		a = Greater(p->level_rate, 1.0 / (s->n + 1.0));
	double		ad = p->daily_rate > 0 ? Greater(p->daily_rate, 1.0 / (1.0 + s->hour_present[hod])) : 0;
	double		aw = p->weekly_rate;
	double		as = Greater(p->scale_rate, 1.0 / (s->n + 1.0));

	s->level += (float) (a * c);
	c *= 1.0 - a;
	s->daily[hod] += (float) (Lesser(ad, 1.0) * c);
	c *= 1.0 - Lesser(ad, 1.0);
	s->weekly[dow] += (float) (aw * c);
	s->scale += (float) (as * (Lesser(fabs(r), OUTLIER_CLIP * scale) - s->scale));
}

bool
AnomalyStepLazy(AnomalyState *s, const AnomalyParams *p, double t, double x,
				AnomalyResult *result, AnomalyError *error)
{
	double		v,
				e,
				r,
				scale,
				value_ratio,
				hi,
				lo,
				d,
				missing = 0,
				off = 0,
				floor_scale;
	int64_t		hour;
	int			hod,
				dow;
	bool		hour_seen;
	bool		is_zero;

	if (!isfinite(t) || fabs(t) > MAX_ABS_SECONDS)
		return SetError(error, "ts", "timestamp %.17g is out of range", t);
	if (!isfinite(x))
		return SetError(error, "value", "value %.17g is not finite", x);
	if (!p->log_transform && fabs(x) > ANOMALY_MAX_ABS_RAW)
		return SetError(error, "value", "value %.17g is beyond %g, which needs log_transform",
						x, ANOMALY_MAX_ABS_RAW);
	if (s->n > 0 && !(t > s->last_t))
		return SetError(error, "ts", "timestamp %.17g is not after the previous one (%.17g)",
						t, s->last_t);

	v = Transform(p, x);
	hour = (int64_t) floor(t / HOUR);
	SlotOf(hour, &hod, &dow);
	hour_seen = s->hour_present[hod] >= 0.5;
	if (p->timing)
		TimingStep(s, hour, &missing, &off);
	else
	{
		/* the hours seen still set the daily offsets' learning rates */
		s->hour_present[hod] = (float) (s->hour_present[hod] * HOUR_DECAY + 1.0);
	}

	if (s->n == 0)
	{
		s->level = (float) v;
		s->n = 1;
		s->zero_share = x == 0 ? 1.0f : 0.0f;
		s->last_t = t;
		result->expected = result->lower = result->upper = v;
		result->transformed = true;
		result->score = 0;
		result->reason = ANOMALY_REASON_NONE;
		result->has_residual = false;
		result->residual = 0;
		return true;
	}

	e = s->level + (p->daily_rate > 0 ? s->daily[hod] : 0) + (p->weekly_rate > 0 ? s->weekly[dow] : 0);
	floor_scale = Greater(p->min_scale, 1e-9 * (1.0 + fabs(e)));
	scale = Greater(s->scale, floor_scale);
	if (p->warmup > 0)
	{
		double		w = p->warmup / (s->n + 1.0);

		scale *= 1.0 + w * w;
	}
	if (!hour_seen && p->daily_rate > 0)
		scale *= NEW_HOUR_WIDENING;
	hi = Greater(s->tail_high, TAIL_MIN * scale);
	lo = Lesser(s->tail_low, -TAIL_MIN * scale);
	r = v - e;
	d = Deviation(r, hi, lo, scale);
	result->residual = r;
	result->has_residual = !(x == 0 && p->log_transform);

	/* on the transformed scale until AnomalyResultBand: most points need no band */
	result->expected = e;
	result->lower = e + lo - p->alert_z * scale;
	result->upper = e + hi + p->alert_z * scale;
	result->transformed = true;
	result->reason = ANOMALY_REASON_VALUE;

	is_zero = x == 0 && p->log_transform;
	if (is_zero)
	{
		/* an idle point: as surprising as a zero is, at most */
		double		share = Greater(s->zero_share, 0.5 / (s->n + 1.0));
		double		surprise = -log(share);

		double		drop = (r < 0 ? p->down_weight : 1) * d / (1 + p->alert_z);

		value_ratio = Lesser(drop, surprise / ZERO_ALERT_SURPRISE);
		if (value_ratio < drop)
			result->reason = ANOMALY_REASON_ZERO;
	}
	else if (s->pending != 0 && (r > 0) == (s->pending > 0) &&
			 Deviation(r - s->pending, hi, lo, scale) < 1 + p->outlier_z)
	{
		/* second point off the same way: a shift, scored from the shifted level */
		value_ratio = (r < s->pending ? p->down_weight : 1) *
			Deviation(r - s->pending, hi, lo, scale) / (1 + p->alert_z);
		s->level += (float) r;
		r = 0;
		s->pending = 0;
	}
	else
	{
		value_ratio = (r < 0 ? p->down_weight : 1) * d / (1 + p->alert_z);
		s->pending = d > 1 + p->outlier_z ? (float) r : 0.0f;
		if (s->pending == 0)
			LearnTails(s, r, hi, lo, Greater(s->scale, floor_scale));
	}

	if (!is_zero)
	{
		Learn(s, p, hod, dow, r, scale);
		s->zero_share += (float) (Greater(p->scale_rate, 1.0 / (s->n + 1.0)) * (0.0 - s->zero_share));
	}
	else
	{
		s->zero_share += (float) (Greater(p->scale_rate, 1.0 / (s->n + 1.0)) * (1.0 - s->zero_share));
	}

	/* the parts add up as a norm: the largest decides, the others break ties */
	off /= p->alert_surprise;
	missing /= p->alert_surprise;
	result->score = ScoreOf(sqrt(value_ratio * value_ratio + off * off + missing * missing));
	if (off > value_ratio && off >= missing)
		result->reason = ANOMALY_REASON_OFF_CALENDAR;
	else if (missing > value_ratio && missing > off)
		result->reason = ANOMALY_REASON_MISSING;
	if (s->n < UINT32_MAX)
		s->n++;
	s->last_t = t;
	s->flags &= ~ANOMALY_SILENCE_REPORTED;
	return true;
}

/* Sorts a few numbers in place. */
static void
SortSmall(double *v, int n)
{
	int			i,
				j;

	for (i = 1; i < n; i++)
	{
		double		x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * One series against the others of its event: its residual r less its
 * learned slope times the others' median residual (the event's common
 * movement: a busy hour is busy in every feature).  Scored like a value,
 * against the relative residuals' own scale and extremes, and summed
 * one-sided (a CUSUM) so that a moderate change that lasts adds up.
 * Returns the score ratio (1 scores 0.99) and the relative expectation.
 */
static double
RelativeStep(AnomalyState *s, const AnomalyParams *p, double r, double common, double *expected_shift,
			 double *band_low, double *band_high)
{
	double		slope = 0,
				c,
				scale,
				raw_scale = Greater(s->relative_scale, Greater(p->min_scale, 1e-9)),
				hi,
				lo,
				d,
				ratio = 0,
				rate;
	bool		outlier = false;

	if (s->relative_n >= SLOPE_MIN_EVENTS && s->common_var > 0)
		slope = Lesser(Greater(s->common_cov / s->common_var, 0), SLOPE_MAX);
	c = r - slope * common;
	*expected_shift = slope * common;
	*band_low = *band_high = 0;
	if (s->relative_n > 0)
	{
		scale = raw_scale;
		if (p->warmup > 0)
		{
			double		w = p->warmup / (s->relative_n + 1.0);

			scale *= 1.0 + w * w;
		}
		hi = Greater(s->relative_high, TAIL_MIN * scale);
		lo = Lesser(s->relative_low, -TAIL_MIN * scale);
		d = Deviation(c, hi, lo, scale);
		ratio = (c < 0 ? p->down_weight : 1) * d / (1 + RELATIVE_Z);
		outlier = d > 1 + p->outlier_z;
		*band_low = lo - RELATIVE_Z * scale;
		*band_high = hi + RELATIVE_Z * scale;
		if (s->relative_n >= DRIFT_MIN_EVENTS)
		{
			double		sum = Greater(0, s->relative_sum + Lesser(c / raw_scale, DRIFT_CLIP) - DRIFT_SLACK);

			/* a drift is flagged once, then summed afresh */
			if (sum > DRIFT_ALARM)
			{
				ratio = Greater(ratio, sum / DRIFT_ALARM);
				sum = 0;
			}
			s->relative_sum = (float) sum;
		}
	}

	if (s->relative_n < UINT32_MAX)
		s->relative_n++;
	rate = Greater(p->scale_rate, 1.0 / s->relative_n);
	s->relative_scale += (float) (rate * (Lesser(fabs(c), OUTLIER_CLIP * raw_scale) - s->relative_scale));
	if (!outlier)
	{
		double		leak = TAIL_LEAK * raw_scale;

		/*
		 * An outlier teaches neither the extremes nor the slope, and the
		 * extremes learn once the slope is used: before, the relative
		 * residual is the whole residual.
		 */
		if (s->relative_n > SLOPE_MIN_EVENTS)
		{
			s->relative_high = (float) (c > s->relative_high ? c : Greater(0, s->relative_high - leak));
			s->relative_low = (float) (c < s->relative_low ? c : Lesser(0, s->relative_low + leak));
		}
		rate = Greater(SLOPE_RATE, 1.0 / s->relative_n);
		s->common_var += (float) (rate * (common * common - s->common_var));
		s->common_cov += (float) (rate * (common * r - s->common_cov));
	}
	return ratio;
}

/* Whether a result has a residual to compare (small enough that its square fits a float). */
static inline bool
Comparable(const AnomalyResult *result)
{
	return result->has_residual && fabs(result->residual) <= RELATIVE_MAX_ABS;
}

void
AnomalyEventStep(AnomalyState *const *states, AnomalyResult *const *results, int n,
				 const AnomalyParams *p)
{
	double		sorted[ANOMALY_EVENT_MAX_SERIES];
	int			count = 0,
				i;

	for (i = 0; i < n && i < ANOMALY_EVENT_MAX_SERIES; i++)
		if (Comparable(results[i]))
			sorted[count++] = results[i]->residual;
	if (count < RELATIVE_MIN_SERIES)
		return;
	SortSmall(sorted, count);
	for (i = 0; i < n && i < ANOMALY_EVENT_MAX_SERIES; i++)
	{
		AnomalyResult *result = results[i];
		double		r = result->residual,
					common,
					shift,
					band_low,
					band_high,
					ratio,
					score;
		int			at = 0,
					middle = (count - 1) / 2;

		if (!Comparable(result))
			continue;
		/* the median of the others: the sorted residuals without this one */
		while (at < count - 1 && sorted[at] != r)
			at++;
		common = sorted[middle < at ? middle : middle + 1];
		ratio = RelativeStep(states[i], p, r, common, &shift, &band_low, &band_high);
		score = ScoreOf(ratio);
		if (score > result->score)
		{
			/* the band says what the others made of this point */
			double		e = result->transformed ? result->expected : Transform(p, result->expected);

			result->score = score;
			result->reason = ANOMALY_REASON_RELATIVE;
			result->expected = e + shift;
			result->lower = e + shift + band_low;
			result->upper = e + shift + band_high;
			if (!result->transformed)
			{
				result->transformed = true;
				AnomalyResultBand(p, result);
			}
		}
	}
}

void
AnomalySilence(const AnomalyState *s, const AnomalyParams *p, double now, AnomalyResult *result)
{
	int64_t		last = (int64_t) floor(s->last_t / HOUR),
				hour,
				h;
	double		missing = 0,
				largest = 0,
				e;
	int			hod,
				dow;

	memset(result, 0, sizeof(*result));
	result->reason = ANOMALY_REASON_NONE;
	if (!p->timing || s->n == 0 || (s->flags & ANOMALY_SILENCE_REPORTED) || !isfinite(now) ||
		fabs(now) > MAX_ABS_SECONDS)
		return;
	hour = (int64_t) floor(now / HOUR);
	if (hour <= last + 1)
		return;
	for (h = FirstMissingHour(last, hour); h < hour; h++)
		MissingHour(s, h, &missing, &largest);
	missing -= largest;
	if (missing <= 0)
		return;
	SlotOf(hour - 1, &hod, &dow);
	e = s->level + (p->daily_rate > 0 ? s->daily[hod] : 0) + (p->weekly_rate > 0 ? s->weekly[dow] : 0);
	result->expected = result->lower = result->upper = Untransform(p, e);
	result->score = ScoreOf(missing / p->alert_surprise);
	result->reason = ANOMALY_REASON_MISSING;
}

void
AnomalySilenceReported(AnomalyState *s)
{
	s->flags |= ANOMALY_SILENCE_REPORTED;
}

/* The band of a lazily scored point, in the series' units. */
void
AnomalyResultBand(const AnomalyParams *p, AnomalyResult *result)
{
	if (!result->transformed)
		return;
	result->expected = Untransform(p, result->expected);
	result->lower = Untransform(p, result->lower);
	result->upper = Untransform(p, result->upper);
	result->transformed = false;
}

bool
AnomalyStep(AnomalyState *s, const AnomalyParams *p, double t, double x,
			AnomalyResult *result, AnomalyError *error)
{
	if (!AnomalyStepLazy(s, p, t, x, result, error))
		return false;
	AnomalyResultBand(p, result);
	return true;
}

bool
AnomalyScoreSeries(const double *t, const double *x, int n, const AnomalyParams *params,
				   AnomalyResult *results, AnomalyError *error)
{
	AnomalyState state;
	int			i;

	if (n < 0 || n > ANOMALY_MAX_POINTS)
		return SetError(error, "", "a series has 0 to %d points, not %d", ANOMALY_MAX_POINTS, n);
	AnomalyStateInit(&state);
	for (i = 0; i < n; i++)
		if (!AnomalyStep(&state, params, t[i], x[i], &results[i], error))
		{
			char		message[ANOMALY_ERROR_MAX];

			snprintf(message, sizeof(message), "%s", error ? error->message : "");
			return SetError(error, error ? error->param : "", "point %d: %s", i + 1, message);
		}
	return true;
}

/* Appends n bytes at *at. */
static inline void
Put(uint8_t **at, const void *data, size_t n)
{
	memcpy(*at, data, n);
	*at += n;
}

static inline void
Get(const uint8_t **at, void *data, size_t n)
{
	memcpy(data, *at, n);
	*at += n;
}

/*
 * The state as ANOMALY_STATE_BYTES bytes: a version byte, three zero bytes,
 * then the fields in declaration order, in the host's byte order (the
 * state stays on the server that wrote it).
 */
void
AnomalyStateToBytes(const AnomalyState *s, uint8_t out[ANOMALY_STATE_BYTES])
{
	uint8_t    *at = out;
	uint8_t		header[4] = {ANOMALY_STATE_VERSION, 0, 0, 0};

	Put(&at, header, 4);
	Put(&at, &s->n, 4);
	Put(&at, &s->flags, 4);
	Put(&at, &s->last_t, 8);
	Put(&at, &s->level, 4);
	Put(&at, &s->scale, 4);
	Put(&at, &s->pending, 4);
	Put(&at, &s->zero_share, 4);
	Put(&at, &s->tail_high, 4);
	Put(&at, &s->tail_low, 4);
	Put(&at, s->daily, sizeof(s->daily));
	Put(&at, s->weekly, sizeof(s->weekly));
	Put(&at, s->hour_present, sizeof(s->hour_present));
	Put(&at, s->hour_total, sizeof(s->hour_total));
	Put(&at, s->day_present, sizeof(s->day_present));
	Put(&at, s->day_total, sizeof(s->day_total));
	Put(&at, &s->relative_n, 4);
	Put(&at, &s->common_var, 4);
	Put(&at, &s->common_cov, 4);
	Put(&at, &s->relative_scale, 4);
	Put(&at, &s->relative_high, 4);
	Put(&at, &s->relative_low, 4);
	Put(&at, &s->relative_sum, 4);
}

/* Whether every float is finite (and nonnegative when asked). */
static bool
FloatsOk(const float *v, int n, bool nonnegative)
{
	int			i;

	for (i = 0; i < n; i++)
		if (!isfinite(v[i]) || (nonnegative && v[i] < 0))
			return false;
	return true;
}

/* A state from AnomalyStateToBytes' bytes; false when they are not such. */
bool
AnomalyStateFromBytes(const uint8_t *in, size_t len, AnomalyState *s, AnomalyError *error)
{
	const uint8_t *at = in;
	float		scalars[12];

	if (len != ANOMALY_STATE_BYTES)
		return SetError(error, "state", "a detector state has %d bytes, not %zu", ANOMALY_STATE_BYTES, len);
	if (in[0] != ANOMALY_STATE_VERSION || in[1] || in[2] || in[3])
		return SetError(error, "state", "unknown detector state version %d", in[0]);
	at += 4;
	Get(&at, &s->n, 4);
	Get(&at, &s->flags, 4);
	Get(&at, &s->last_t, 8);
	Get(&at, &s->level, 4);
	Get(&at, &s->scale, 4);
	Get(&at, &s->pending, 4);
	Get(&at, &s->zero_share, 4);
	Get(&at, &s->tail_high, 4);
	Get(&at, &s->tail_low, 4);
	Get(&at, s->daily, sizeof(s->daily));
	Get(&at, s->weekly, sizeof(s->weekly));
	Get(&at, s->hour_present, sizeof(s->hour_present));
	Get(&at, s->hour_total, sizeof(s->hour_total));
	Get(&at, s->day_present, sizeof(s->day_present));
	Get(&at, s->day_total, sizeof(s->day_total));
	Get(&at, &s->relative_n, 4);
	Get(&at, &s->common_var, 4);
	Get(&at, &s->common_cov, 4);
	Get(&at, &s->relative_scale, 4);
	Get(&at, &s->relative_high, 4);
	Get(&at, &s->relative_low, 4);
	Get(&at, &s->relative_sum, 4);
	/* the first three may have either sign */
	scalars[0] = s->level;
	scalars[1] = s->pending;
	scalars[2] = s->common_cov;
	scalars[3] = s->scale;
	scalars[4] = s->zero_share;
	scalars[5] = s->tail_high;
	scalars[6] = -s->tail_low;
	scalars[7] = s->common_var;
	scalars[8] = s->relative_scale;
	scalars[9] = s->relative_high;
	scalars[10] = -s->relative_low;
	scalars[11] = s->relative_sum;
	if (!isfinite(s->last_t) || fabs(s->last_t) > MAX_ABS_SECONDS ||
		!FloatsOk(scalars, 3, false) || !FloatsOk(scalars + 3, 9, true) || s->zero_share > 1 ||
		!FloatsOk(s->daily, 24, false) || !FloatsOk(s->weekly, 7, false) ||
		!FloatsOk(s->hour_present, 24, true) || !FloatsOk(s->hour_total, 24, true) ||
		!FloatsOk(s->day_present, 7, true) || !FloatsOk(s->day_total, 7, true) ||
		(s->flags & ~ANOMALY_SILENCE_REPORTED) != 0)
		return SetError(error, "state", "the detector state holds values out of range");
	return true;
}
