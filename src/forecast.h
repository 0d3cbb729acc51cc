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
 * Settings of a fit; ForecastParamsDefault gives the defaults below and
 * ForecastParamsValidate the allowed ranges.  Names follow Prophet's.
 */
typedef struct ForecastParams
{
	ForecastGrowth growth;		/* linear */
	int			n_changepoints; /* 25, 0 to 1000 */
	double		changepoint_range;	/* 0.8, (0, 1] */
	double		changepoint_prior_scale;	/* 0.05, (0, 1000] */
	double		seasonality_prior_scale;	/* 10, (0, 1000] */
	ForecastMode seasonality_mode;	/* additive */
	int			daily_seasonality;	/* auto (order 4), off or 1 to 50 */
	int			weekly_seasonality; /* auto (order 3), off or 1 to 50 */
	int			yearly_seasonality; /* off; auto means order 10 */
	double		interval_width; /* 0.95, (0, 1) */
	int			uncertainty_samples;	/* 1000, 0 (no intervals) to 100000 */
	int64_t		seed;			/* 0, 0 to 2^53 - 1 */
	/* not in Prophet */
	bool		log_transform;	/* false: fit log1p(y), predict expm1 */
	bool		nonnegative;	/* true: no prediction or bound below 0 */
	ForecastLoss loss;			/* huber */
	double		huber_delta;	/* 1.0, robust scales, (0, 100] */
	int			level_window;	/* auto (one active day), 0 off, 1 to 100000 */
	double		calendar_min_share; /* 0.5, (0, 1] */
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
