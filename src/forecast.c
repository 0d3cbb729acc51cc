/*
 * forecast.c - a Prophet-class forecasting model: settings and the fit
 *
 * The original pipeline fitted Prophet per IP and feature (linear growth,
 * daily seasonality, multiplicative mode, 95 % intervals, 8 hours ahead).
 * This is the same model family in C, fitted in about a millisecond:
 *
 *   y(t) = trend(t) + s(t)             (seasonality_mode additive)
 *   y(t) = trend(t) * (1 + s(t))       (seasonality_mode multiplicative)
 *
 * trend is piecewise linear with n_changepoints changepoints at evenly
 * spaced points of the first changepoint_range of the history, their slope
 * changes under a Laplace prior of scale changepoint_prior_scale; s is a
 * sum of Fourier series (daily order 4, weekly order 3, yearly order 10 when
 * asked for) under a Gaussian prior of scale seasonality_prior_scale.  As
 * in Prophet, values are divided by max |y| and time is mapped onto [0, 1]
 * over the history before fitting.  forecast_fit.c computes the MAP
 * estimate.
 *
 * Additions for network counters, each a setting:
 * - loss "huber" (the default): spikes of many times the usual value pull
 *   the fit linearly, so the forecast follows the typical value; "squared"
 *   is Prophet's Gaussian likelihood;
 * - level_window: the median residual of the trend over the last window
 *   (default one active day) is added to the trend after the history, so a
 *   forecast starts from the current level even when the series has just
 *   shifted, which a trend with changepoints only in the first 80 % cannot
 *   follow;
 * - log_transform: fit log1p(y), for heavy-tailed byte counts;
 * - nonnegative (default): no prediction or bound below zero;
 * - a calendar learnt from the history (forecast_calendar.c) gives the
 *   future timestamps.
 *
 * Intervals (forecast_predict.c) come from simulation, as Prophet's: future
 * changepoints of the trend, a change of the level, and noise drawn from
 * the empirical distribution of the in-sample residuals, which for Gaussian
 * noise is Prophet's normal noise and for counters keeps their skew.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/* Prophet's default Fourier orders. */
#define DAILY_ORDER 4
#define WEEKLY_ORDER 3
#define YEARLY_ORDER 10
/* A history needs this many points per coefficient, and at least the minimum. */
#define POINTS_PER_COEFFICIENT 2
#define MIN_HISTORY 10

/* Records an error; param names the offending setting or key, or is "". */
void
ForecastSetError(ForecastError *error, const char *param, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return;
	snprintf(error->param, sizeof(error->param), "%s", param);
	va_start(args, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, args);
	va_end(args);
}

/* Prophet's defaults, and ipflow's for the settings Prophet lacks. */
void
ForecastParamsDefault(ForecastParams *params)
{
	memset(params, 0, sizeof(*params));
	params->growth = FORECAST_GROWTH_LINEAR;
	params->n_changepoints = 25;
	params->changepoint_range = 0.8;
	params->changepoint_prior_scale = 0.05;
	params->seasonality_prior_scale = 10.0;
	params->seasonality_mode = FORECAST_MODE_ADDITIVE;
	params->daily_seasonality = FORECAST_SEASONALITY_AUTO;
	params->weekly_seasonality = FORECAST_SEASONALITY_AUTO;
	params->yearly_seasonality = FORECAST_SEASONALITY_OFF;
	params->interval_width = 0.95;
	params->uncertainty_samples = 1000;
	params->seed = 0;
	params->log_transform = false;
	params->nonnegative = true;
	params->loss = FORECAST_LOSS_HUBER;
	params->huber_delta = 1.0;
	params->level_window = FORECAST_LEVEL_WINDOW_AUTO;
	params->calendar_min_share = 0.5;
}

/* The allowed range of each numeric setting. */
typedef struct ParamRange
{
	const char *name;
	double		min;
	double		max;
	bool		integer;
	bool		allow_auto;		/* -1 means auto */
} ParamRange;

static const ParamRange ParamRanges[] = {
	{"n_changepoints", 0, FORECAST_MAX_CHANGEPOINTS, true, false},
	{"changepoint_range", 1e-6, 1.0, false, false},
	{"changepoint_prior_scale", 1e-6, 1000.0, false, false},
	{"seasonality_prior_scale", 1e-6, 1000.0, false, false},
	{"daily_seasonality", 0, FORECAST_MAX_ORDER, true, true},
	{"weekly_seasonality", 0, FORECAST_MAX_ORDER, true, true},
	{"yearly_seasonality", 0, FORECAST_MAX_ORDER, true, true},
	{"interval_width", 1e-6, 1.0 - 1e-6, false, false},
	{"uncertainty_samples", 0, FORECAST_MAX_SAMPLES, true, false},
	{"seed", 0, 9007199254740991.0, true, false},
	{"huber_delta", 1e-3, 100.0, false, false},
	{"level_window", 0, FORECAST_MAX_LEVEL_WINDOW, true, true},
	{"calendar_min_share", 1e-6, 1.0, false, false},
};

/*
 * Checks one numeric setting against its range; on failure *error names it
 * and says what it may be.  Integers are given as doubles (exact to 2^53).
 */
bool
ForecastCheckParam(const char *name, double value, ForecastError *error)
{
	size_t		i;

	for (i = 0; i < sizeof(ParamRanges) / sizeof(ParamRanges[0]); i++)
	{
		const ParamRange *range = &ParamRanges[i];

		if (strcmp(range->name, name) != 0)
			continue;
		if (range->allow_auto && value == -1)
			return true;
		if (value >= range->min && value <= range->max &&
			(!range->integer || value == floor(value)))
			return true;
		if (range->integer)
			ForecastSetError(error, name, "%s must be %san integer from %.0f to %.0f, not %.17g",
							 name, range->allow_auto ? "auto or " : "", range->min, range->max, value);
		else
			ForecastSetError(error, name, "%s must be a number from %g to %g, not %.17g",
							 name, range->min, range->max, value);
		return false;
	}
	ForecastSetError(error, name, "unknown setting %s", name);
	return false;
}

/*
 * Checks every setting; on the first bad one, names it and its allowed
 * values in *error.
 */
bool
ForecastParamsValidate(const ForecastParams *p, ForecastError *error)
{
	if (p->growth != FORECAST_GROWTH_LINEAR && p->growth != FORECAST_GROWTH_FLAT)
	{
		ForecastSetError(error, "growth", "growth must be linear or flat, not %d", (int) p->growth);
		return false;
	}
	if (p->seasonality_mode != FORECAST_MODE_ADDITIVE &&
		p->seasonality_mode != FORECAST_MODE_MULTIPLICATIVE)
	{
		ForecastSetError(error, "seasonality_mode",
						 "seasonality_mode must be additive or multiplicative, not %d",
						 (int) p->seasonality_mode);
		return false;
	}
	if (p->loss != FORECAST_LOSS_SQUARED && p->loss != FORECAST_LOSS_HUBER)
	{
		ForecastSetError(error, "loss", "loss must be squared or huber, not %d", (int) p->loss);
		return false;
	}
	return ForecastCheckParam("n_changepoints", p->n_changepoints, error) &&
		ForecastCheckParam("changepoint_range", p->changepoint_range, error) &&
		ForecastCheckParam("changepoint_prior_scale", p->changepoint_prior_scale, error) &&
		ForecastCheckParam("seasonality_prior_scale", p->seasonality_prior_scale, error) &&
		ForecastCheckParam("daily_seasonality", p->daily_seasonality, error) &&
		ForecastCheckParam("weekly_seasonality", p->weekly_seasonality, error) &&
		ForecastCheckParam("yearly_seasonality", p->yearly_seasonality, error) &&
		ForecastCheckParam("interval_width", p->interval_width, error) &&
		ForecastCheckParam("uncertainty_samples", p->uncertainty_samples, error) &&
		ForecastCheckParam("seed", (double) p->seed, error) &&
		ForecastCheckParam("huber_delta", p->huber_delta, error) &&
		ForecastCheckParam("level_window", p->level_window, error) &&
		ForecastCheckParam("calendar_min_share", p->calendar_min_share, error);
}

/* The Fourier order a seasonality setting asks for at most (auto: Prophet's). */
static int
MaxOrder(int setting, int default_order)
{
	return setting == FORECAST_SEASONALITY_AUTO ? default_order : setting;
}

/*
 * The fewest points a fit accepts: POINTS_PER_COEFFICIENT per coefficient of
 * the base trend and of every seasonality that may be on, at least
 * MIN_HISTORY.
 */
int
ForecastMinHistory(const ForecastParams *params)
{
	int			coefficients = 2 + 2 * (MaxOrder(params->daily_seasonality, DAILY_ORDER) +
										MaxOrder(params->weekly_seasonality, WEEKLY_ORDER) +
										MaxOrder(params->yearly_seasonality, YEARLY_ORDER));
	int			points = POINTS_PER_COEFFICIENT * coefficients;

	return points > MIN_HISTORY ? points : MIN_HISTORY;
}

/*
 * x modulo m, in [0, m): fmod's exact remainder costs a hundred
 * instructions, and this is taken for every point several times.  For
 * timestamps of this era and periods of a day to a year, m * floor(x / m)
 * is exact and close to x, so the subtraction is exact as well.
 */
double
ForecastMod(double x, double m)
{
	double		r = x - m * floor(x / m);

	return r < 0 ? r + m : (r >= m ? r - m : r);
}

/* Microseconds since the Unix epoch to seconds, the unit of this API. */
double
ForecastSecondsFromMicros(int64_t usec)
{
	/* split so that whole seconds stay exact */
	return (double) (usec / 1000000) + (double) (usec % 1000000) / 1e6;
}

/* An empty model, for the fit and the JSON reader to fill. */
ForecastModel *
ForecastModelAlloc(void)
{
	return calloc(1, sizeof(ForecastModel));
}

/* Releases a model and everything it owns; NULL is fine. */
void
ForecastFree(ForecastModel *model)
{
	int			s;

	if (model == NULL)
		return;
	free(model->changepoints);
	free(model->deltas);
	for (s = 0; s < model->nseasonalities; s++)
		free(model->seasonalities[s].coef);
	free(model->noise_quantiles);
	free(model->level_quantiles);
	free(model->calendar.active);
	free(model);
}

/* Quantiles at 0, 1/(count-1), ..., 1 of v (reordered), malloc'd. */
static double *
QuantileTable(double *v, int n, int count)
{
	double	   *table = malloc(sizeof(double) * count);
	int			i;

	if (!table)
		return NULL;
	ForecastSortDoubles(v, n);
	for (i = 0; i < count; i++)
	{
		table[i] = ForecastQuantile(v, n, (double) i / (count - 1));
		/* interpolation may round a hair below the quantile before */
		if (i > 0 && table[i] < table[i - 1])
			table[i] = table[i - 1];
	}
	return table;
}

typedef struct TimedValue
{
	double		ts;
	double		y;
} TimedValue;

/* Orders points by time, then value, so the input order does not matter. */
static int
TimedValueCompare(const void *a, const void *b)
{
	const TimedValue *x = a;
	const TimedValue *y = b;

	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->y > y->y) - (x->y < y->y);
}

/* Adds a seasonality of the given order (0: none) to the model. */
static bool
AddSeasonality(ForecastModel *model, const char *name, double period, int order)
{
	ForecastSeasonality *season;

	if (order <= 0)
		return true;
	season = &model->seasonalities[model->nseasonalities];
	snprintf(season->name, sizeof(season->name), "%s", name);
	season->period = period;
	season->order = order;
	season->coef = calloc(2 * order, sizeof(double));
	if (!season->coef)
		return false;
	model->nseasonalities++;
	return true;
}

/*
 * Turns the seasonality settings into orders as Prophet's auto does: daily
 * when the history spans two days at a spacing under a day, weekly when it
 * spans two weeks at a spacing under a week, yearly when it spans two years.
 */
static bool
ResolveSeasonalities(ForecastModel *model, double span, double spacing)
{
	ForecastParams *p = &model->params;

	if (p->daily_seasonality == FORECAST_SEASONALITY_AUTO)
		p->daily_seasonality = span >= 2 * FORECAST_DAY && spacing < FORECAST_DAY ? DAILY_ORDER : 0;
	if (p->weekly_seasonality == FORECAST_SEASONALITY_AUTO)
		p->weekly_seasonality = span >= 2 * FORECAST_WEEK && spacing < FORECAST_WEEK ? WEEKLY_ORDER : 0;
	if (p->yearly_seasonality == FORECAST_SEASONALITY_AUTO)
		p->yearly_seasonality = span >= 2 * FORECAST_YEAR ? YEARLY_ORDER : 0;
	return AddSeasonality(model, "daily", FORECAST_DAY, p->daily_seasonality) &&
		AddSeasonality(model, "weekly", FORECAST_WEEK, p->weekly_seasonality) &&
		AddSeasonality(model, "yearly", FORECAST_YEAR, p->yearly_seasonality);
}

/*
 * Prophet's changepoints: n_changepoints points evenly spaced by index over
 * the first changepoint_range of the history (fewer when it is short),
 * excluding the first point.
 */
static bool
PlaceChangepoints(ForecastModel *model, const double *t, int n)
{
	int			in_range = (int) floor(n * model->params.changepoint_range);
	int			count = model->params.growth == FORECAST_GROWTH_LINEAR
		? model->params.n_changepoints : 0;
	int			j;

	if (count > in_range - 1)
		count = in_range - 1 > 0 ? in_range - 1 : 0;
	model->n_changepoints = count;
	model->changepoints = malloc(sizeof(double) * (count + 1));
	model->deltas = calloc(count + 1, sizeof(double));
	if (!model->changepoints || !model->deltas)
		return false;
	for (j = 1; j <= count; j++)
	{
		int			index = (int) floor((double) j * (in_range - 1) / count + 0.5);

		model->changepoints[j - 1] = t[index];
	}
	return true;
}

/*
 * The level adjustment and the two noise tables, from the fitted trend and
 * seasonality: residuals, trend residuals (residuals in units of the trend:
 * divided by 1 + s in multiplicative mode), the median trend residual over
 * the last window (the level) and the changes of that median from one
 * window to the next (its uncertainty).
 */
static bool
SummariseResiduals(ForecastModel *model, const double *y, int n, const FitOutput *fit)
{
	bool		multiplicative = model->params.seasonality_mode == FORECAST_MODE_MULTIPLICATIVE;
	int			window = model->level_window;
	double	   *r = malloc(sizeof(double) * n);
	double	   *e = malloc(sizeof(double) * n);
	double	   *medians = NULL;
	int			i,
				nwindows;
	bool		ok = false;

	if (!r || !e)
		goto done;
	for (i = 0; i < n; i++)
	{
		double		mult = 1.0 + fit->season[i];

		r[i] = multiplicative ? y[i] - fit->trend[i] * mult : y[i] - fit->trend[i] - fit->season[i];
		e[i] = multiplicative && mult > 0.1 ? r[i] / mult : r[i];
	}

	model->level = 0.0;
	model->n_level_quantiles = 0;
	if (window > 0)
	{
		nwindows = n / window;
		medians = malloc(sizeof(double) * (nwindows + 1));
		if (!medians)
			goto done;
		/* window k ends k windows before the end of the history */
		for (i = 0; i < nwindows; i++)
		{
			double	   *part = e + n - (i + 1) * window;

			ForecastSortDoubles(part, window);
			medians[i] = ForecastQuantile(part, window, 0.5);
		}
		model->level = medians[0];
		if (nwindows >= 6)
		{
			for (i = 0; i + 1 < nwindows; i++)
				medians[i] = medians[i] - medians[i + 1];
			model->level_quantiles = QuantileTable(medians, nwindows - 1, FORECAST_NOISE_QUANTILES);
			if (!model->level_quantiles)
				goto done;
			model->n_level_quantiles = FORECAST_NOISE_QUANTILES;
		}
	}
	model->noise_quantiles = QuantileTable(r, n, FORECAST_NOISE_QUANTILES);
	if (!model->noise_quantiles)
		goto done;
	model->n_noise_quantiles = FORECAST_NOISE_QUANTILES;
	ok = true;

done:
	free(r);
	free(e);
	free(medians);
	return ok;
}

/*
 * Whether every number of a fitted model is one its JSON text can carry
 * back (finite, within FORECAST_MAX_ABS): a fit driven to extremes is
 * refused rather than stored unreadable.
 */
static bool
ModelInBounds(const ForecastModel *model)
{
	int			i;

#define IN_BOUNDS(x) (isfinite(x) && fabs(x) <= FORECAST_MAX_ABS)
	if (!IN_BOUNDS(model->level) || !IN_BOUNDS(model->sigma))
		return false;
	for (i = 0; i < model->n_noise_quantiles; i++)
		if (!IN_BOUNDS(model->noise_quantiles[i]))
			return false;
	for (i = 0; i < model->n_level_quantiles; i++)
		if (!IN_BOUNDS(model->level_quantiles[i]))
			return false;
#undef IN_BOUNDS
	return true;
}

/*
 * Fits a model to n points (ts[i], y[i]) in any order: ts in seconds since
 * the Unix epoch, y finite (and >= 0 with log_transform).  Returns NULL with
 * *error set when the settings or the history are unusable.
 */
ForecastModel *
ForecastFit(const double *ts, const double *y, int n, const ForecastParams *params,
			ForecastError *error)
{
	ForecastModel *model = NULL;
	TimedValue *points = NULL;
	double	   *sts = NULL,
			   *st = NULL,
			   *sy = NULL;
	FitOutput	fit = {NULL, NULL};
	FitInput	in;
	double		span,
				spacing = 0.0,
				scale = 0.0;
	int			i,
				min_history;

	if (error)
		memset(error, 0, sizeof(*error));
	if (!ForecastParamsValidate(params, error))
		return NULL;
	min_history = ForecastMinHistory(params);
	if (n > FORECAST_MAX_POINTS)
	{
		ForecastSetError(error, "", "a forecast takes at most %d points of history, got %d",
						 FORECAST_MAX_POINTS, n);
		return NULL;
	}
	if (n < min_history || ts == NULL || y == NULL)
	{
		ForecastSetError(error, "", "a forecast needs at least %d points of history, got %d",
						 min_history, n < 0 || ts == NULL || y == NULL ? 0 : n);
		return NULL;
	}
	for (i = 0; i < n; i++)
	{
		if (!isfinite(ts[i]) || fabs(ts[i]) > 1e12)
		{
			ForecastSetError(error, "ts", "timestamp %d is not a time: %g", i, ts[i]);
			return NULL;
		}
		if (!isfinite(y[i]) || fabs(y[i]) > 1e300)
		{
			ForecastSetError(error, "y", "value %d is not a finite number: %g", i, y[i]);
			return NULL;
		}
		if (params->log_transform && y[i] < 0)
		{
			ForecastSetError(error, "log_transform",
							 "log_transform needs values of at least 0, but value %d is %g", i, y[i]);
			return NULL;
		}
	}

	points = malloc(sizeof(TimedValue) * n);
	sts = malloc(sizeof(double) * n);
	st = malloc(sizeof(double) * n);
	sy = malloc(sizeof(double) * n);
	fit.trend = malloc(sizeof(double) * n);
	fit.season = malloc(sizeof(double) * n);
	model = ForecastModelAlloc();
	if (!points || !sts || !st || !sy || !fit.trend || !fit.season || !model)
	{
		ForecastSetError(error, "", "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
	{
		points[i].ts = ts[i];
		points[i].y = y[i];
	}
	for (i = 1; i < n; i++)
		if (TimedValueCompare(&points[i - 1], &points[i]) > 0)
			break;
	if (i < n)
		qsort(points, n, sizeof(TimedValue), TimedValueCompare);
	for (i = 0; i < n; i++)
	{
		sts[i] = points[i].ts;
		sy[i] = params->log_transform ? log1p(points[i].y) : points[i].y;
		if (fabs(sy[i]) > scale)
			scale = fabs(sy[i]);
		if (i > 0 && sts[i] > sts[i - 1] && (spacing == 0.0 || sts[i] - sts[i - 1] < spacing))
			spacing = sts[i] - sts[i - 1];
	}
	span = sts[n - 1] - sts[0];
	if (!(span > 0))
	{
		ForecastSetError(error, "ts", "the history spans no time: every timestamp is %.17g", sts[0]);
		goto fail;
	}

	model->params = *params;
	model->n_history = n;
	model->t_start = sts[0];
	model->t_end = sts[n - 1];
	model->y_scale = scale > 0 ? scale : 1.0;
	model->integer = true;
	for (i = 0; i < n && model->integer; i++)
		model->integer = points[i].y == floor(points[i].y);
	for (i = 0; i < n; i++)
	{
		st[i] = (sts[i] - model->t_start) / span;
		sy[i] /= model->y_scale;
	}
	if (!ResolveSeasonalities(model, span, spacing) || !PlaceChangepoints(model, st, n))
	{
		ForecastSetError(error, "", "out of memory");
		goto fail;
	}
	CalendarLearn(sts, n, params->calendar_min_share, &model->calendar);
	if (params->level_window == FORECAST_LEVEL_WINDOW_AUTO)
	{
		model->level_window = CalendarPointsPerDay(&model->calendar);
		if (model->level_window < 3)
			model->level_window = 3;
	}
	else
		model->level_window = params->level_window;
	if (model->level_window > n)
		model->level_window = n;
	model->params.level_window = model->level_window;

	in.n = n;
	in.ts = sts;
	in.t = st;
	in.y = sy;
	if (!FitSolve(&in, model, &fit, error))
		goto fail;
	if (!SummariseResiduals(model, sy, n, &fit))
	{
		ForecastSetError(error, "", "out of memory");
		goto fail;
	}
	if (!ModelInBounds(model))
	{
		ForecastSetError(error, "", "the fit diverged");
		goto fail;
	}

	free(points);
	free(sts);
	free(st);
	free(sy);
	free(fit.trend);
	free(fit.season);
	return model;

fail:
	free(points);
	free(sts);
	free(st);
	free(sy);
	free(fit.trend);
	free(fit.season);
	ForecastFree(model);
	return NULL;
}
