/*
 * svg_chart.h - a self-contained SVG line chart of one series: real values,
 * a forecast line with its interval band, anomaly markers, axes with nice
 * ticks (time ticks from minutes to years), a title and a legend
 *
 * Pure C (no postgres.h): times are seconds since 1970-01-01 UTC and the
 * chart is drawn in UTC.  The SQL glue is svg_sql.c.
 */
#ifndef IPFLOW_SVG_CHART_H
#define IPFLOW_SVG_CHART_H

#include <stdbool.h>
#include <stddef.h>

#define SVG_DEFAULT_WIDTH 900
#define SVG_DEFAULT_HEIGHT 380
#define SVG_MIN_SIZE 200
#define SVG_MAX_SIZE 10000
#define SVG_MAX_TICKS 32
#define SVG_ERROR_MAX 256
/* Larger values are not drawn: the distance between two of them would overflow. */
#define SVG_MAX_VALUE 1e300

/* A point of a line: time and value. */
typedef struct SvgPoint
{
	double		t;
	double		y;
} SvgPoint;

/* A point of the interval band. */
typedef struct SvgBandPoint
{
	double		t;
	double		lower;
	double		upper;
} SvgBandPoint;

/* An anomaly: its value, the expected value and range (NaN when unknown), score in [0, 1). */
typedef struct SvgAnomaly
{
	double		t;
	double		value;
	double		expected;
	double		lower;
	double		upper;
	double		score;
} SvgAnomaly;

/* Everything one chart shows.  Points are in time order. */
typedef struct SvgChart
{
	const char *title;
	const char *note;			/* NULL, or a line shown in the plot (e.g. no data) */
	double		from;			/* the time axis, from < to */
	double		to;
	const SvgPoint *actual;
	size_t		n_actual;
	const SvgPoint *forecast;
	size_t		n_forecast;
	const SvgBandPoint *band;
	size_t		n_band;
	const SvgAnomaly *anomalies;
	size_t		n_anomalies;
	int			width;			/* 0: SVG_DEFAULT_WIDTH */
	int			height;			/* 0: SVG_DEFAULT_HEIGHT */
} SvgChart;

/* A time tick: where it is and its label, a second line only when it adds something. */
typedef struct SvgTimeTick
{
	double		t;
	char		label[24];
	char		label2[24];
} SvgTimeTick;

/*
 * The chart as a malloc'd, NUL-terminated SVG document, or NULL with the
 * reason in error (SVG_ERROR_MAX bytes).
 */
extern char *SvgChartRender(const SvgChart *chart, char *error);

/*
 * Ticks at 1, 2, 2.5 or 5 times a power of ten covering [lo, hi], about
 * target of them; returns their count (at most max) and the step.
 */
extern int	SvgNiceTicks(double lo, double hi, int target, double *ticks, int max, double *step);

/* Calendar-aligned time ticks within [from, to], at most target of them; returns their count. */
extern int	SvgTimeTicks(double from, double to, int target, SvgTimeTick *ticks, int max);

/*
 * A tick value, short: 0, 2.5, 40k, 1.5M.  The unit (k, M, ...) follows the
 * largest tick of the axis, so that all its ticks share it, and the decimals
 * are those the step needs.
 */
extern void SvgFormatNumber(double v, double step, double largest, char *out, size_t size);

/* "2022-01-03 08:00" in UTC (size >= 17). */
extern void SvgFormatTime(double t, char *out, size_t size);

/* Whether a value can be drawn: finite, and at most SVG_MAX_VALUE in size. */
extern bool SvgDrawable(double v);

/* s with &, <, >, " and ' escaped for XML text and attributes, malloc'd; NULL on no memory. */
extern char *SvgEscape(const char *s);

#endif
