/*
 * forecast_internal.h - what the forecast files share and callers need not see
 */
#ifndef IPFLOW_FORECAST_INTERNAL_H
#define IPFLOW_FORECAST_INTERNAL_H

#include "forecast.h"

#define FORECAST_DAY 86400.0
#define FORECAST_WEEK 604800.0
#define FORECAST_YEAR (365.25 * 86400.0)
/* Monday 1970-01-05 00:00:00 UTC: slot 0 of a weekly calendar starts here. */
#define FORECAST_MONDAY 345600.0
/* Finer calendars than one slot a minute are not kept. */
#define FORECAST_MAX_SLOTS 10080
#define FORECAST_MAX_CHANGEPOINTS 1000
#define FORECAST_MAX_SAMPLES 100000
#define FORECAST_MAX_LEVEL_WINDOW 100000
#define FORECAST_MAX_QUANTILES 1001
/* Quantiles kept of the residuals and of the level changes. */
#define FORECAST_NOISE_QUANTILES 101
/* Coefficients, knots and levels beyond this (scaled units) are refused. */
#define FORECAST_MAX_ABS 1e9

/* What FitSolve needs from the history, sorted by time. */
typedef struct FitInput
{
	int			n;
	const double *ts;			/* seconds */
	const double *t;			/* scaled to [0, 1] */
	const double *y;			/* transformed and scaled */
} FitInput;

/* What FitSolve leaves besides the coefficients in the model. */
typedef struct FitOutput
{
	double	   *trend;			/* n: fitted trend at each point */
	double	   *season;			/* n: fitted seasonality at each point */
} FitOutput;

/*
 * The columns of the model for one history (forecast_design.c): trend
 * columns 1, then ramps max(t - knot, 0) (the slope's knot 0, then one per
 * changepoint), then the Fourier columns, whose values depend only on a
 * point's group (its time of the week).
 */
typedef struct Design
{
	int			n;
	const double *t;			/* scaled time, nondecreasing */
	int			nramps;			/* slope (knot 0), then one per changepoint */
	double	   *knot;
	int		   *first;			/* first point with t >= knot */
	int			ntrend;			/* intercept and ramps */
	int			nseason;
	int			ngroups;
	int		   *group;			/* n: feature row of each point */
	double	   *F;				/* nseason x ngroups: column c of group g at
								 * F[c * ngroups + g] */
	double	   *gv;				/* ngroups scratch */
	double	   *m0;				/* nramps: suffix moments at each first point */
	double	   *m1;
	double	   *m2;
	double	   *g0;				/* ngroups accumulators */
	double	   *g1;
	double	   *g2;
} Design;

/* forecast_design.c */
extern bool DesignInit(Design *d, const FitInput *in, const ForecastModel *model);
extern void DesignFree(Design *d);
extern void DesignGram(Design *d, const double *u_trend, const double *u_cross,
					   const double *u_season, double *G);
extern void DesignXtz(Design *d, const double *z, bool trend, bool season, double *out);
extern void DesignSeasonGroups(const Design *d, const double *beta, double *values);
extern int	DesignSeasonalColumns(const ForecastModel *model);
extern void DesignSeasonalFeatures(const ForecastModel *model, double ts, double *row);
extern double DesignTrendAt(const ForecastModel *model, double t);

/* forecast_linalg.c */
extern double LinalgDot(const double *a, const double *b, int n);
extern bool LinalgCholeskySolve(double *a, int p, double *b);
extern bool LinalgLasso(const double *A, const double *b, int p, const unsigned char *penalised,
						double lambda, double *x, double *work, int *active);

/* forecast_fit.c */
extern bool FitSolve(const FitInput *in, ForecastModel *model, FitOutput *out,
					 ForecastError *error);

/* forecast_calendar.c */
extern void CalendarLearn(const double *ts, int n, double min_share, ForecastCalendar *cal);
extern bool CalendarIsActive(const ForecastCalendar *cal, double ts);
extern int	CalendarNext(const ForecastCalendar *cal, double after, int count, double *out);
extern int	CalendarPointsPerDay(const ForecastCalendar *cal);
extern int	CalendarSlot(const ForecastCalendar *cal, double ts);

/* forecast.c */
extern void ForecastSetError(ForecastError *error, const char *param, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern bool ForecastCheckParam(const char *name, double value, ForecastError *error);
extern ForecastModel *ForecastModelAlloc(void);
extern double ForecastMod(double x, double m);

/* forecast_sort.c */
extern void ForecastSortDoubles(double *v, int n);
extern double ForecastMedian(double *v, int n);
extern double ForecastMedianAbsDeviation(double *v, int n, double *median);
extern double ForecastQuantile(const double *sorted, int n, double q);

#endif
