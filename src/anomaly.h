/*
 * anomaly.h - causal anomaly scores of one time series, in plain C
 *
 * A small state per series (AnomalyState, fixed size, no pointers) is
 * updated one point at a time: AnomalyStep scores a point from the points
 * before it only, then learns from it.  Scoring a whole series is the same
 * step in a loop (AnomalyScoreSeries), so a stream and a batch agree.  The
 * state travels as bytes (AnomalyStateToBytes / AnomalyStateFromBytes) so
 * the ingest worker can keep one per IP and feature in a table.  Timestamps
 * are seconds since 1970-01-01 UTC.  Nothing here prints, exits, allocates
 * or keeps global state.  The method is described in anomaly.c.
 */
#ifndef IPFLOW_ANOMALY_H
#define IPFLOW_ANOMALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for an error message, NUL included. */
#define ANOMALY_ERROR_MAX 300

/* AnomalyScoreSeries takes at most this many points. */
#define ANOMALY_MAX_POINTS 100000000

/* Without log_transform, values stay within this (the state keeps floats). */
#define ANOMALY_MAX_ABS_RAW 1e30

/* Bytes of a serialized state, and the version byte that opens it. */
#define ANOMALY_STATE_VERSION 2
#define ANOMALY_STATE_BYTES 444

/* AnomalyEventStep compares at most this many series (features of an event). */
#define ANOMALY_EVENT_MAX_SERIES 64

typedef struct AnomalyError
{
	char		param[64];		/* the offending setting, or "" */
	char		message[ANOMALY_ERROR_MAX];
} AnomalyError;

/*
 * Settings; AnomalyParamsDefault gives the defaults, AnomalyParamsFromJson
 * reads them from JSON (names as the members here).
 */
typedef struct AnomalyParams
{
	/* score log1p(|x|) with x's sign (heavy tails, scale-free): true */
	bool		log_transform;
	/* learning rates of the level, daily and weekly offsets, scale */
	double		level_rate;		/* 0.1, (0, 1] */
	double		daily_rate;		/* 0.15, [0, 1]; 0: no daily seasonality */
	double		weekly_rate;	/* 0.1, [0, 1]; 0: no weekly seasonality */
	double		scale_rate;		/* 0.05, (0, 1] */
	/* smallest noise scale, in (transformed) units: 0.1, [0, 1e6] */
	double		min_scale;
	/* scales beyond the largest residuals seen that score 0.99: 3, [0.1, 1000] */
	double		alert_z;
	/* points before the scale is trusted fully (it is widened before): 50, 0 to 10000 */
	int			warmup;
	/* scales beyond the tails from which a point is an outlier the tails do
	 * not learn, and a second one the same way a shift: 4, [0.5, 1000] */
	double		outlier_z;
	/* score missing and off-calendar points by the hourly calendar: true */
	bool		timing;
	/* surprise (-log probability, nats) of the calendar that scores 0.99: 2 */
	double		alert_surprise;
	/*
	 * weight of a drop against a rise of the same size: 0.3, [0, 1]; with
	 * log_transform, small counts make drops look larger than they are
	 */
	double		down_weight;
} AnomalyParams;

/* Why a point scored what it did. */
typedef enum AnomalyReason
{
	ANOMALY_REASON_NONE,		/* cold start: nothing to compare with */
	ANOMALY_REASON_VALUE,		/* distance from the seasonal baseline */
	ANOMALY_REASON_ZERO,		/* an unusual zero */
	ANOMALY_REASON_OFF_CALENDAR,	/* a point in an hour the series skips */
	ANOMALY_REASON_MISSING,		/* hours the series has were missing before it */
	ANOMALY_REASON_RELATIVE,	/* off from what the event's other series say */
	ANOMALY_NREASONS
} AnomalyReason;

extern const char *const AnomalyReasonNames[];

/* What AnomalyStep says of one point. */
typedef struct AnomalyResult
{
	double		expected;		/* the baseline, in the series' units */
	double		lower;			/* the band that scores below 0.99 */
	double		upper;
	double		score;			/* [0, 1), continuous */
	AnomalyReason reason;		/* of the score */
	bool		transformed;	/* the band is still on the transformed scale */
	/* the point's distance from the baseline, transformed (for AnomalyEventStep) */
	bool		has_residual;	/* false: a first point or a zero */
	double		residual;
} AnomalyResult;

/* The silence under way was reported (AnomalySilenceReported). */
#define ANOMALY_SILENCE_REPORTED 1

/*
 * The state of one series.  Plain data: copy it, zero it with
 * AnomalyStateInit.  Offsets and scales are in transformed units.
 */
typedef struct AnomalyState
{
	uint32_t	n;				/* points learned */
	uint32_t	flags;			/* ANOMALY_SILENCE_REPORTED */
	double		last_t;			/* timestamp of the last point */
	float		level;
	float		scale;			/* EW mean absolute residual */
	float		pending;		/* residual of the last outlier, 0 when none */
	float		zero_share;		/* EW share of exact zeros */
	float		tail_high;		/* largest and smallest residuals, leaking back */
	float		tail_low;
	float		daily[24];		/* offset per hour of the day (UTC) */
	float		weekly[7];		/* offset per day of the week, Monday first */
	/* EW counts of hours seen with and without a point, per hour and day */
	float		hour_present[24];
	float		hour_total[24];
	float		day_present[7];
	float		day_total[7];
	/*
	 * Relative to the other series of the same events (AnomalyEventStep):
	 * the residual less its regression on the others' median residual.
	 */
	uint32_t	relative_n;		/* events compared */
	float		common_var;		/* EW mean of the others' median squared */
	float		common_cov;		/* EW mean of it times the residual */
	float		relative_scale; /* EW mean absolute relative residual */
	float		relative_high;	/* its extremes, leaking back */
	float		relative_low;
	float		relative_sum;	/* one-sided CUSUM of it, in scales */
} AnomalyState;

extern void AnomalyParamsDefault(AnomalyParams *params);
extern bool AnomalyParamsValidate(const AnomalyParams *params, AnomalyError *error);
extern bool AnomalyParamsFromJson(const char *json, size_t len, AnomalyParams *params,
								  AnomalyError *error);

extern void AnomalyStateInit(AnomalyState *state);

/*
 * Scores the point (t, x) from the state, then learns it.  false (state
 * untouched) when x or t is not finite or t is not after the last point.
 */
extern bool AnomalyStep(AnomalyState *state, const AnomalyParams *params, double t, double x,
						AnomalyResult *result, AnomalyError *error);

/*
 * AnomalyStep leaving the band on the transformed scale (cheaper when few
 * points need it); AnomalyResultBand converts it.
 */
extern bool AnomalyStepLazy(AnomalyState *state, const AnomalyParams *params, double t, double x,
							AnomalyResult *result, AnomalyError *error);
extern void AnomalyResultBand(const AnomalyParams *params, AnomalyResult *result);

/* AnomalyStep over a series from a fresh state; false on the first bad point. */
extern bool AnomalyScoreSeries(const double *t, const double *x, int n, const AnomalyParams *params,
							   AnomalyResult *results, AnomalyError *error);

/*
 * Evidence across the n series of one event (the features of an IP's
 * event, say), after each was stepped into results[i]: a series that moves
 * unlike the others, at once or for a while, raises its score (reason
 * ANOMALY_REASON_RELATIVE), and its state learns how it moves with them.
 * Fewer than five series with residuals: nothing to compare.
 */
extern void AnomalyEventStep(AnomalyState *const *states, AnomalyResult *const *results, int n,
							 const AnomalyParams *params);

/*
 * A silence seen by the clock rather than by the next point: scores the
 * hours the series usually has that went by empty since its last point, up
 * to the hour of now (not included), as the next point would (reason
 * ANOMALY_REASON_MISSING; the band is the baseline of the last of those
 * hours).  The state is not changed.  0 without timing, before the first
 * point, or once the silence was reported.
 */
extern void AnomalySilence(const AnomalyState *state, const AnomalyParams *params, double now,
						   AnomalyResult *result);

/* Marks the silence under way as reported: the point that ends it does not score it again. */
extern void AnomalySilenceReported(AnomalyState *state);

extern void AnomalyStateToBytes(const AnomalyState *state, uint8_t out[ANOMALY_STATE_BYTES]);
extern bool AnomalyStateFromBytes(const uint8_t *in, size_t len, AnomalyState *state,
								  AnomalyError *error);

#endif
