/*
 * forecast_backtest.c - rolling-origin evaluation of the forecast
 *
 * The last test_fraction of a series holds `origins` evenly spaced
 * forecast origins, the last one horizon points before the end.  At each,
 * a model is fitted to everything before the origin and predicts the next
 * horizon observed points, which are scored against the actual values:
 * MAE, RMSE, sMAPE (2 |y - f| / (|y| + |f|), 0 when both are 0), coverage
 * of the interval, and MASE: the origin's MAE divided by the in-sample MAE
 * of the seasonal naive forecast on the training part, averaged over the
 * origins where that scale is not zero.  The seasonal naive forecast of a
 * point is the value at the same time on the latest earlier day that has
 * one (the previous active day: Friday for a Monday in business hours); it
 * is scored at the same points as a baseline.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

#define BACKTEST_MAX_ORIGINS 10000
/* How many days back the seasonal naive forecast looks for its day. */
#define BACKTEST_MAX_DAYS_BACK 60

typedef struct Point
{
	double		ts;
	double		y;
} Point;

/* Orders points by time, then value. */
static int
PointCompare(const void *a, const void *b)
{
	const Point *x = a;
	const Point *y = b;

	if (x->ts != y->ts)
		return (x->ts > y->ts) - (x->ts < y->ts);
	return (x->y > y->y) - (x->y < y->y);
}

/* Index of the point at time ts among the first n (sorted), or -1. */
static int
FindTime(const double *ts, int n, double target)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ts[mid] < target - 1e-6)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && fabs(ts[lo] - target) <= 1e-6 ? lo : -1;
}

/* The latest of the first n points at the same time of an earlier day, or -1. */
static int
PreviousDay(const double *ts, int n, double target, int max_days)
{
	int			d;

	for (d = 1; d <= max_days; d++)
	{
		int			j = FindTime(ts, n, target - d * FORECAST_DAY);

		if (j >= 0)
			return j;
	}
	return -1;
}

/*
 * Scores forecasts from `origins` origins over the last test_fraction of
 * the series, horizon points ahead; see the file header.
 */
bool
ForecastBacktest(const double *ts, const double *y, int n, const ForecastParams *params,
				 int origins, int horizon, double test_fraction, ForecastAccuracy *acc,
				 ForecastError *error)
{
	Point	   *points = NULL;
	double	   *sts = NULL,
			   *sy = NULL,
			   *yhat = NULL,
			   *lower = NULL,
			   *upper = NULL;
	double		abs_sum = 0,
				sq_sum = 0,
				smape_sum = 0,
				naive_sum = 0,
				mase_sum = 0,
				naive_mase_sum = 0;
	int			covered = 0,
				first,
				last,
				k,
				i;
	bool		ok = false;

	memset(acc, 0, sizeof(*acc));
	if (error)
		memset(error, 0, sizeof(*error));
	if (origins < 1 || origins > BACKTEST_MAX_ORIGINS)
	{
		ForecastSetError(error, "origins", "origins must be an integer from 1 to %d, not %d",
						 BACKTEST_MAX_ORIGINS, origins);
		return false;
	}
	if (horizon < 1 || horizon > n)
	{
		ForecastSetError(error, "horizon", "horizon must be an integer from 1 to the %d points, not %d",
						 n, horizon);
		return false;
	}
	if (!(test_fraction > 0 && test_fraction < 1))
	{
		ForecastSetError(error, "test_fraction", "test_fraction must be a number between 0 and 1, not %g",
						 test_fraction);
		return false;
	}
	if (!ForecastParamsValidate(params, error))
		return false;
	first = n - (int) floor(test_fraction * n + 0.5);
	last = n - horizon;
	if (first < ForecastMinHistory(params))
		first = ForecastMinHistory(params);
	if (last < first || ts == NULL || y == NULL)
	{
		ForecastSetError(error, "", "a backtest %d points ahead needs at least %d points, got %d",
						 horizon, ForecastMinHistory(params) + horizon, n);
		return false;
	}

	points = malloc(sizeof(Point) * n);
	sts = malloc(sizeof(double) * n);
	sy = malloc(sizeof(double) * n);
	yhat = malloc(sizeof(double) * horizon);
	lower = malloc(sizeof(double) * horizon);
	upper = malloc(sizeof(double) * horizon);
	if (!points || !sts || !sy || !yhat || !lower || !upper)
	{
		ForecastSetError(error, "", "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
	{
		points[i].ts = ts[i];
		points[i].y = y[i];
	}
	qsort(points, n, sizeof(Point), PointCompare);
	for (i = 0; i < n; i++)
	{
		sts[i] = points[i].ts;
		sy[i] = points[i].y;
	}

	for (k = 0; k < origins; k++)
	{
		int			origin = origins == 1 ? last
			: first + (int) floor((double) k * (last - first) / (origins - 1) + 0.5);
		ForecastModel *model = ForecastFit(sts, sy, origin, params, error);
		double		scale = 0,
					origin_abs = 0,
					origin_naive = 0;
		int			pairs = 0;

		if (model == NULL)
			goto done;
		if (!ForecastPredict(model, sts + origin, horizon, yhat, lower, upper, error))
		{
			ForecastFree(model);
			goto done;
		}
		ForecastFree(model);

		/* in-sample seasonal naive errors: the scale of MASE */
		for (i = 1; i < origin; i++)
		{
			int			j = PreviousDay(sts, i, sts[i], 7);

			if (j >= 0)
			{
				scale += fabs(sy[i] - sy[j]);
				pairs++;
			}
		}
		scale = pairs > 0 ? scale / pairs : 0.0;

		for (i = 0; i < horizon; i++)
		{
			double		actual = sy[origin + i];
			double		err = actual - yhat[i];
			double		denom = fabs(actual) + fabs(yhat[i]);
			int			j = PreviousDay(sts, origin, sts[origin + i], BACKTEST_MAX_DAYS_BACK);
			double		naive = j >= 0 ? sy[j] : sy[origin - 1];

			abs_sum += fabs(err);
			origin_abs += fabs(err);
			sq_sum += err * err;
			smape_sum += denom > 0 ? 2.0 * fabs(err) / denom : 0.0;
			naive_sum += fabs(actual - naive);
			origin_naive += fabs(actual - naive);
			if (actual >= lower[i] && actual <= upper[i])
				covered++;
		}
		acc->origins++;
		acc->points += horizon;
		if (scale > 0)
		{
			mase_sum += origin_abs / horizon / scale;
			naive_mase_sum += origin_naive / horizon / scale;
			acc->mase_origins++;
		}
	}
	acc->mae = abs_sum / acc->points;
	acc->rmse = sqrt(sq_sum / acc->points);
	acc->smape = smape_sum / acc->points;
	acc->coverage = (double) covered / acc->points;
	acc->naive_mae = naive_sum / acc->points;
	acc->mase = acc->mase_origins > 0 ? mase_sum / acc->mase_origins : NAN;
	acc->naive_mase = acc->mase_origins > 0 ? naive_mase_sum / acc->mase_origins : NAN;
	ok = true;

done:
	free(points);
	free(sts);
	free(sy);
	free(yhat);
	free(lower);
	free(upper);
	return ok;
}
