/*
 * forecast_predict.c - predictions of a fitted model, with intervals, and
 * its future timestamps
 *
 * The point forecast is trend + seasonality (or trend * (1 + seasonality)),
 * with the level adjustment added to the trend after the history, turned
 * back into the series' units (times y_scale, expm1 after log_transform,
 * at least 0 when nonnegative).
 *
 * Intervals are quantiles of uncertainty_samples simulated futures, as
 * Prophet's: each sample draws new changepoints after the history (a
 * Poisson process with the history's rate of n_changepoints per history
 * span, slope changes Laplace-distributed with the mean absolute fitted
 * delta as scale), one change of the level (from the empirical changes of
 * the level between consecutive windows of the history), and independent
 * noise per point (from the empirical quantiles of the in-sample
 * residuals).  Points inside the history get noise only.  When every
 * value of the history is a whole number (counts), the bounds are widened
 * to whole numbers, since a count cannot fall between them.  The generator is
 * splitmix64 seeded with the model's seed, so equal inputs give equal
 * intervals, and samples are drawn in a fixed order (per sample its trend
 * changes, then per point each sample's noise).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/*
 * New changepoints drawn for all samples together at most (25 per history
 * span, so 40 spans ahead for 1000 samples): beyond, the trend's spread
 * stops growing rather than memory.
 */
#define PREDICT_MAX_NEW_CHANGEPOINTS 1000000

typedef struct Rng
{
	uint64_t	state;
} Rng;

/* splitmix64: small, fast, and good enough for sampling intervals. */
static uint64_t
RngNext(Rng *rng)
{
	uint64_t	z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Uniform in the open interval (0, 1). */
static double
RngUniform(Rng *rng)
{
	return ((double) (RngNext(rng) >> 11) + 0.5) / 9007199254740992.0;
}

/* Laplace(0, scale) by inversion. */
static double
RngLaplace(Rng *rng, double scale)
{
	double		u = RngUniform(rng) - 0.5;

	return u < 0 ? scale * log(1.0 + 2.0 * u) : -scale * log(1.0 - 2.0 * u);
}

/* Poisson(lambda): by multiplication when small, else normal approximation. */
static int
RngPoisson(Rng *rng, double lambda)
{
	if (lambda <= 0)
		return 0;
	if (lambda < 30)
	{
		double		limit = exp(-lambda),
					product = RngUniform(rng);
		int			count = 0;

		while (product > limit)
		{
			product *= RngUniform(rng);
			count++;
		}
		return count;
	}
	else
	{
		double		u1 = RngUniform(rng),
					u2 = RngUniform(rng);
		double		normal = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
		double		count = floor(lambda + sqrt(lambda) * normal + 0.5);

		if (count < 0)
			return 0;
		return count > PREDICT_MAX_NEW_CHANGEPOINTS ? PREDICT_MAX_NEW_CHANGEPOINTS : (int) count;
	}
}

/* A draw from a distribution given by evenly spaced quantiles. */
static double
RngFromQuantiles(Rng *rng, const double *table, int count)
{
	double		pos = RngUniform(rng) * (count - 1);
	int			lo = (int) pos;

	if (lo >= count - 1)
		return table[count - 1];
	return table[lo] + (pos - lo) * (table[lo + 1] - table[lo]);
}

/*
 * A value in scaled (and transformed) units back in the series' units,
 * kept finite (within +-1e300) however extreme the model.
 */
static double
BackTransform(const ForecastModel *model, double value)
{
	value *= model->y_scale;
	if (model->params.log_transform)
		value = expm1(value < 690.0 ? value : 690.0);
	if (isnan(value) || (model->params.nonnegative && value < 0.0))
		value = 0.0;
	return value > 1e300 ? 1e300 : (value < -1e300 ? -1e300 : value);
}

/* Trend and seasonality combined as the model's mode says. */
static inline double
Combine(const ForecastModel *model, double trend, double season)
{
	if (model->params.seasonality_mode == FORECAST_MODE_MULTIPLICATIVE)
		return trend * (1.0 + season);
	return trend + season;
}

/*
 * Predicts n points at timestamps ts (seconds, any order, inside or after
 * the history): yhat always; lower and upper, when not NULL, the bounds of
 * the interval_width interval (equal to yhat with uncertainty_samples 0).
 */
bool
ForecastPredict(const ForecastModel *model, const double *ts, int n,
				double *yhat, double *lower, double *upper, ForecastError *error)
{
	const ForecastParams *params = &model->params;
	double		span = model->t_end - model->t_start;
	int			samples = params->uncertainty_samples;
	double	   *t = NULL,
			   *trend = NULL,
			   *season = NULL,
			   *row = NULL,
			   *column = NULL,
			   *level_draw = NULL,
			   *cp_t = NULL,
			   *cp_delta = NULL;
	int		   *cp_first = NULL;
	double		t_max = 1.0,
				delta_scale = 0.0;
	bool		ok = false;
	Rng			rng;
	int			i,
				j,
				c,
				total = 0,
				capacity = 0;

	if (error)
		memset(error, 0, sizeof(*error));
	if (n < 0 || n > FORECAST_MAX_POINTS || (n > 0 && (ts == NULL || yhat == NULL)))
	{
		ForecastSetError(error, "ts", "between 0 and %d timestamps can be predicted at once, not %d",
						 FORECAST_MAX_POINTS, n);
		return false;
	}
	for (i = 0; i < n; i++)
		if (!isfinite(ts[i]) || fabs(ts[i]) > 1e12)
		{
			ForecastSetError(error, "ts", "timestamp %d is not a time: %g", i, ts[i]);
			return false;
		}

	t = malloc(sizeof(double) * (n + 1));
	trend = malloc(sizeof(double) * (n + 1));
	season = malloc(sizeof(double) * (n + 1));
	row = malloc(sizeof(double) * (DesignSeasonalColumns(model) + 1));
	if (!t || !trend || !season || !row)
		goto oom;
	for (i = 0; i < n; i++)
	{
		double		v = 0.0;
		int			columns = 0,
					s;

		t[i] = (ts[i] - model->t_start) / span;
		trend[i] = DesignTrendAt(model, t[i]);
		if (ts[i] > model->t_end)
			trend[i] += model->level;
		DesignSeasonalFeatures(model, ts[i], row);
		for (s = 0; s < model->nseasonalities; s++)
		{
			for (c = 0; c < 2 * model->seasonalities[s].order; c++)
				v += row[columns + c] * model->seasonalities[s].coef[c];
			columns += 2 * model->seasonalities[s].order;
		}
		season[i] = v;
		yhat[i] = BackTransform(model, Combine(model, trend[i], season[i]));
		if (ts[i] > model->t_end && t[i] > t_max)
			t_max = t[i];
	}
	if (lower == NULL && upper == NULL)
	{
		ok = true;
		goto done;
	}
	if (samples == 0 || n == 0 || model->n_noise_quantiles == 0)
	{
		for (i = 0; i < n; i++)
		{
			if (lower)
				lower[i] = yhat[i];
			if (upper)
				upper[i] = yhat[i];
		}
		ok = true;
		goto done;
	}

	/* per sample: new changepoints after the history and a level change */
	rng.state = (uint64_t) params->seed;
	for (j = 0; j < model->n_changepoints; j++)
		delta_scale += fabs(model->deltas[j]);
	delta_scale = model->n_changepoints > 0 ? delta_scale / model->n_changepoints + 1e-8 : 0.0;
	cp_first = malloc(sizeof(int) * (samples + 1));
	level_draw = malloc(sizeof(double) * samples);
	column = malloc(sizeof(double) * samples);
	if (!cp_first || !level_draw || !column)
		goto oom;
	for (j = 0; j < samples; j++)
	{
		int			count = 0;

		if (model->params.growth == FORECAST_GROWTH_LINEAR && model->n_changepoints > 0)
			count = RngPoisson(&rng, model->n_changepoints * (t_max - 1.0));
		if (count > PREDICT_MAX_NEW_CHANGEPOINTS / samples)
			count = PREDICT_MAX_NEW_CHANGEPOINTS / samples;
		cp_first[j] = total;
		if (total + count > capacity)
		{
			/* grow by doubling: a realloc per sample would copy quadratically */
			double	   *grown_t,
					   *grown_delta;

			capacity = 2 * capacity > total + count + 64 ? 2 * capacity : total + count + 64;
			grown_t = realloc(cp_t, sizeof(double) * capacity);
			if (!grown_t)
				goto oom;
			cp_t = grown_t;
			grown_delta = realloc(cp_delta, sizeof(double) * capacity);
			if (!grown_delta)
				goto oom;
			cp_delta = grown_delta;
		}
		if (count > 0)
		{
			for (c = 0; c < count; c++)
			{
				cp_t[total + c] = 1.0 + RngUniform(&rng) * (t_max - 1.0);
				cp_delta[total + c] = RngLaplace(&rng, delta_scale);
			}
			total += count;
		}
		level_draw[j] = model->n_level_quantiles > 0
			? RngFromQuantiles(&rng, model->level_quantiles, model->n_level_quantiles)
			: 0.0;
	}
	cp_first[samples] = total;

	/* per point: every sample's value, then the interval's quantiles */
	for (i = 0; i < n; i++)
	{
		bool		future = ts[i] > model->t_end;

		for (j = 0; j < samples; j++)
		{
			double		path = trend[i];

			if (future)
			{
				path += level_draw[j];
				for (c = cp_first[j]; c < cp_first[j + 1]; c++)
					if (cp_t[c] < t[i])
						path += cp_delta[c] * (t[i] - cp_t[c]);
			}
			column[j] = BackTransform(model, Combine(model, path, season[i]) +
									  RngFromQuantiles(&rng, model->noise_quantiles,
													   model->n_noise_quantiles));
		}
		ForecastSortDoubles(column, samples);
		if (lower)
		{
			lower[i] = ForecastQuantile(column, samples, (1.0 - params->interval_width) / 2.0);
			if (model->integer)
				lower[i] = floor(lower[i]);
			if (lower[i] > yhat[i])
				lower[i] = yhat[i];
		}
		if (upper)
		{
			upper[i] = ForecastQuantile(column, samples, (1.0 + params->interval_width) / 2.0);
			if (model->integer)
				upper[i] = ceil(upper[i]);
			if (upper[i] < yhat[i])
				upper[i] = yhat[i];
		}
	}
	ok = true;
	goto done;

oom:
	ForecastSetError(error, "", "out of memory");
done:
	free(t);
	free(trend);
	free(season);
	free(row);
	free(column);
	free(level_draw);
	free(cp_t);
	free(cp_delta);
	free(cp_first);
	return ok;
}

/*
 * The next horizon timestamps of the series' calendar after its history,
 * into ts; returns how many: horizon, at most FORECAST_MAX_HORIZON (0 for a
 * horizon below 1).
 */
int
ForecastFuture(const ForecastModel *model, int horizon, double *ts)
{
	return CalendarNext(&model->calendar, model->t_end, horizon, ts);
}
