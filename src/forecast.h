/*
 * forecast.h - Prophet-class forecasts of one time series, in plain C
 *
 * A model is fitted from (timestamp, value) arrays, predicts values with
 * intervals at any timestamps, lists the next timestamps of the series' own
 * calendar, and travels as versioned JSON text.  Timestamps are seconds
 * since 1970-01-01 00:00:00 UTC as doubles (ForecastSecondsFromMicros
 * converts microseconds).  Nothing here prints, exits or keeps global
 * state; memory is malloc'd and released with ForecastFree.  The method and
 * the JSON format are described in forecast.c and forecast_json.c.
 */
#ifndef IPFLOW_FORECAST_H
#define IPFLOW_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seasonality orders: a Fourier order, or one of these. */
#define FORECAST_SEASONALITY_AUTO (-1)
#define FORECAST_SEASONALITY_OFF 0
#define FORECAST_MAX_ORDER 50

/* level_window: one active day of the series' calendar. */
#define FORECAST_LEVEL_WINDOW_AUTO (-1)

/* ForecastFit and ForecastPredict take at most this many points. */
#define FORECAST_MAX_POINTS 100000000

/* ForecastFuture lists at most this many timestamps. */
#define FORECAST_MAX_HORIZON 100000

/* Version of the model's JSON text written by ForecastModelToJson. */
#define FORECAST_JSON_VERSION 1

typedef enum ForecastGrowth
{
	FORECAST_GROWTH_LINEAR,		/* piecewise-linear trend with changepoints */
	FORECAST_GROWTH_FLAT		/* a constant level */
} ForecastGrowth;

typedef enum ForecastMode
{
	FORECAST_MODE_ADDITIVE,		/* y = trend + seasonality */
	FORECAST_MODE_MULTIPLICATIVE	/* y = trend * (1 + seasonality) */
} ForecastMode;

typedef enum ForecastLoss
{
	FORECAST_LOSS_SQUARED,		/* Gaussian noise, as Prophet */
	FORECAST_LOSS_HUBER			/* Huber's loss: robust to spikes */
} ForecastLoss;

/*
 * Settings of a fit; ForecastParamsDefault gives the defaults and
 * ForecastParamsValidate checks the ranges.  Names and defaults are
 * Prophet's where Prophet has the setting.
 */
typedef struct ForecastParams
{
	/* linear: piecewise-linear trend; flat: a constant level */
	ForecastGrowth growth;
	/*
	 * changepoints evenly spaced in the first changepoint_range of the
	 * history: 25, 0 to 1000; 0.8, (0, 1]
	 */
	int			n_changepoints;
	double		changepoint_range;
	/* scale of the Laplace prior of the slope changes: 0.05, 1e-6 to 1000 */
	double		changepoint_prior_scale;
	/* scale of the Gaussian prior of the Fourier coefficients: 10, 1e-6 to 1000 */
	double		seasonality_prior_scale;
	/* additive: y = trend + s; multiplicative: y = trend * (1 + s) */
	ForecastMode seasonality_mode;
	/*
	 * Fourier orders, 0 (off) to 50, or FORECAST_SEASONALITY_AUTO as
	 * Prophet: daily order 4 when the history spans two days at a spacing
	 * under a day, weekly order 3 when it spans two weeks at a spacing under
	 * a week, yearly order 10 when it spans two years.  Defaults: auto, auto,
	 * off.
	 */
	int			daily_seasonality;
	int			weekly_seasonality;
	int			yearly_seasonality;
	/* width of the prediction interval: 0.95, (0, 1) */
	double		interval_width;
	/* simulated futures for the interval: 1000, 0 (bounds = yhat) to 100000 */
	int			uncertainty_samples;
	/* of the interval simulation: 0, 0 to 2^53 - 1 */
	int64_t		seed;
	/* not in Prophet: fit log1p(y) and predict expm1 (heavy tails): false */
	bool		log_transform;
	/* no prediction or bound below zero (counts): true */
	bool		nonnegative;
	/* huber (default): Huber's loss, robust to spikes; squared: Prophet's */
	ForecastLoss loss;
	/* Huber's threshold in robust noise scales: 1, 0.001 to 100 */
	double		huber_delta;
	/*
	 * points whose median trend residual is the level added to the trend
	 * after the history: FORECAST_LEVEL_WINDOW_AUTO (one active day of the
	 * calendar, at least 3), 0 (off) or 1 to 100000
	 */
	int			level_window;
	/* share of its weeks a slot must be seen in to be active: 0.5, (0, 1] */
	double		calendar_min_share;
} ForecastParams;

/* Room for an error message, NUL included. */
#define FORECAST_ERROR_MAX 300

typedef struct ForecastError
{
	char		param[64];		/* the offending setting or JSON path, or "" */
	char		message[FORECAST_ERROR_MAX];
} ForecastError;

/*
 * Which timestamps belong to the series: slots of the week (step seconds
 * each, the first starting phase seconds after a Monday 00:00 UTC) seen in
 * at least calendar_min_share of the weeks the history spans.  Without a
 * calendar (steps that do not divide a week, or of a week or more) every
 * step is active.
 */
typedef struct ForecastCalendar
{
	double		step;			/* sampling step, seconds */
	bool		weekly;			/* false: no calendar, every step active */
	double		phase;			/* seconds, 0 <= phase < step */
	int			nslots;			/* 604800 / step when weekly */
	unsigned char *active;		/* nslots flags when weekly */
} ForecastCalendar;

typedef struct ForecastSeasonality
{
	char		name[16];		/* daily, weekly, yearly */
	double		period;			/* seconds */
	int			order;
	double	   *coef;			/* 2 * order: sin then cos of each order */
} ForecastSeasonality;

/* A fitted model; read-only for callers.  Values are in scaled units. */
typedef struct ForecastModel
{
	ForecastParams params;		/* as given, autos resolved */
	int			n_history;
	double		t_start;		/* first and last timestamps of the history */
	double		t_end;
	double		y_scale;		/* values were divided by this (after log1p) */
	bool		integer;		/* every value was a whole number */
	/* trend(t) = m + k t + sum(delta_j * max(t - changepoint_j, 0)) */
	double		k;
	double		m;
	int			n_changepoints;
	double	   *changepoints;	/* scaled time, nondecreasing, in [0, 1] */
	double	   *deltas;
	int			nseasonalities;
	ForecastSeasonality seasonalities[3];
	double		level;			/* added to the trend after t_end */
	int			level_window;	/* points, resolved */
	double		sigma;			/* noise scale of the fit */
	int			iterations;		/* of the fit, for diagnostics */
	/* empirical quantiles at 0, 1/(n-1), ..., 1 */
	int			n_noise_quantiles;
	double	   *noise_quantiles;	/* in-sample residuals */
	int			n_level_quantiles;
	double	   *level_quantiles;	/* changes of the level between windows */
	ForecastCalendar calendar;
} ForecastModel;

/* What ForecastBacktest measures, over the origins that could be scored. */
typedef struct ForecastAccuracy
{
	int			origins;		/* origins fitted */
	int			points;			/* forecasts scored */
	double		mae;
	double		rmse;
	double		smape;			/* 0 to 2 */
	double		mase;			/* mean over origins of MAE / in-sample scale */
	int			mase_origins;	/* origins with a nonzero scale */
	double		coverage;		/* share of actuals inside [lower, upper] */
	/* the seasonal naive forecast, same origins and points */
	double		naive_mae;
	double		naive_mase;
} ForecastAccuracy;

extern void ForecastParamsDefault(ForecastParams *params);
extern bool ForecastParamsValidate(const ForecastParams *params, ForecastError *error);
extern bool ForecastParamsFromJson(const char *json, size_t len, ForecastParams *params,
								   ForecastError *error);
extern int	ForecastMinHistory(const ForecastParams *params);

extern ForecastModel *ForecastFit(const double *ts, const double *y, int n,
								  const ForecastParams *params, ForecastError *error);
extern bool ForecastPredict(const ForecastModel *model, const double *ts, int n,
							double *yhat, double *lower, double *upper,
							ForecastError *error);
extern int	ForecastFuture(const ForecastModel *model, int horizon, double *ts);
extern void ForecastFree(ForecastModel *model);

extern char *ForecastModelToJson(const ForecastModel *model);
extern ForecastModel *ForecastModelFromJson(const char *json, size_t len,
											ForecastError *error);

extern bool ForecastBacktest(const double *ts, const double *y, int n,
							 const ForecastParams *params, int origins, int horizon,
							 double test_fraction, ForecastAccuracy *accuracy,
							 ForecastError *error);

extern double ForecastSecondsFromMicros(int64_t usec);

#endif
