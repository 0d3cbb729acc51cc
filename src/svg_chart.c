/*
 * svg_chart.c - a self-contained SVG line chart (see svg_chart.h)
 *
 * Layout: title on top, legend beside it, the plot below with the value
 * axis on the left and the time axis at the bottom.  Lines break where the
 * data have a gap (nights and weekends of business-hours series) instead of
 * drawing a slope across it.  Every element a test or a stylesheet may look
 * for has a class: actual, forecast, band, anomalies, axis x, axis y,
 * legend, title, note.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "svg_chart.h"
#include "text_buf.h"

#define MARGIN_LEFT 64
#define MARGIN_RIGHT 24
#define MARGIN_TOP 56
#define MARGIN_BOTTOM 56

#define COLOR_ACTUAL "#1f77b4"
#define COLOR_FORECAST "#ff7f0e"
#define COLOR_ANOMALY "#d62728"
#define COLOR_GRID "#e5e5e5"
#define COLOR_AXIS "#333333"

/* A gap longer than this many typical steps breaks a line. */
#define GAP_FACTOR 2.5

#define SECONDS_PER_DAY 86400.0

/* Where the plot area is and how values map onto it. */
typedef struct Frame
{
	double		left;
	double		top;
	double		width;
	double		height;
	double		from;
	double		to;
	double		lo;
	double		hi;
} Frame;

/* Appends text escaped for XML; control characters XML cannot hold become '?'. */
static void
BufEscaped(TextBuf *b, const char *s)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		switch (c)
		{
			case '&':
				TextBufAppend(b, "&amp;", 5);
				break;
			case '<':
				TextBufAppend(b, "&lt;", 4);
				break;
			case '>':
				TextBufAppend(b, "&gt;", 4);
				break;
			case '"':
				TextBufAppend(b, "&quot;", 6);
				break;
			case '\'':
				TextBufAppend(b, "&apos;", 6);
				break;
			default:
				if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
					TextBufAppend(b, "?", 1);
				else
					TextBufAppend(b, s, 1);
		}
	}
}

char *
SvgEscape(const char *s)
{
	TextBuf		b = {0};

	TextBufAppend(&b, "", 0);
	BufEscaped(&b, s);
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	return b.data;
}

int
SvgNiceTicks(double lo, double hi, int target, double *ticks, int max, double *step)
{
	double		raw,
				magnitude,
				norm,
				nice,
				first;
	int			n = 0;

	if (!(hi > lo))
	{
		double		pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;

		lo -= pad;
		hi += pad;
	}
	if (target < 2)
		target = 2;
	raw = (hi - lo) / target;
	magnitude = pow(10, floor(log10(raw)));
	norm = raw / magnitude;
	nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
	*step = nice * magnitude;
	first = floor(lo / *step + 1e-9) * *step;
	/* multiples of the step, so that no rounding error piles up */
	for (n = 0; n < max; n++)
	{
		double		v = first + n * *step;

		if (fabs(v) < *step * 1e-9)
			v = 0;
		ticks[n] = v;
		if (v >= hi - *step * 1e-9)
			return n + 1;
	}
	return n;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void
CivilFromDays(long days, int *year, int *month, int *day)
{
	long		z = days + 719468;
	long		era = (z >= 0 ? z : z - 146096) / 146097;
	long		doe = z - era * 146097;
	long		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long		mp = (5 * doy + 2) / 153;

	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = (int) (yoe + era * 400 + (*month <= 2));
}

/* A civil date to days since 1970-01-01. */
static long
DaysFromCivil(int year, int month, int day)
{
	long		y = year - (month <= 2);
	long		era = (y >= 0 ? y : y - 399) / 400;
	long		yoe = y - era * 400;
	long		doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	long		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static const char *const MonthNames[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

void
SvgFormatTime(double t, char *out, size_t size)
{
	double		days = floor(t / SECONDS_PER_DAY);
	long		seconds = (long) (t - days * SECONDS_PER_DAY);
	int			y,
				m,
				d;

	CivilFromDays((long) days, &y, &m, &d);
	snprintf(out, size, "%04d-%02d-%02d %02ld:%02ld", y, m, d, seconds / 3600, seconds / 60 % 60);
}

/* Steps of fixed length, in seconds; longer spans step by calendar months. */
static const double FixedSteps[] = {
	60, 300, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
	SECONDS_PER_DAY, 2 * SECONDS_PER_DAY, 7 * SECONDS_PER_DAY
};
static const int MonthSteps[] = {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200};

/* The labels of a tick; the second line says what changed since the previous one. */
static void
LabelTick(SvgTimeTick *tick, const SvgTimeTick *previous, double step_seconds, int step_months)
{
	double		days = floor(tick->t / SECONDS_PER_DAY);
	long		seconds = (long) (tick->t - days * SECONDS_PER_DAY);
	int			y,
				m,
				d,
				py = 0,
				pm = 0,
				pd = 0;

	CivilFromDays((long) days, &y, &m, &d);
	if (previous)
		CivilFromDays((long) floor(previous->t / SECONDS_PER_DAY), &py, &pm, &pd);
	tick->label2[0] = '\0';
	if (step_months >= 12)
		snprintf(tick->label, sizeof(tick->label), "%d", y);
	else if (step_months > 0)
	{
		snprintf(tick->label, sizeof(tick->label), "%s", MonthNames[m - 1]);
		if (!previous || py != y)
			snprintf(tick->label2, sizeof(tick->label2), "%d", y);
	}
	else if (step_seconds >= SECONDS_PER_DAY)
	{
		snprintf(tick->label, sizeof(tick->label), "%s %d", MonthNames[m - 1], d);
		if (!previous || py != y)
			snprintf(tick->label2, sizeof(tick->label2), "%d", y);
	}
	else
	{
		snprintf(tick->label, sizeof(tick->label), "%02ld:%02ld", seconds / 3600, seconds / 60 % 60);
		if (!previous || py != y || pm != m || pd != d)
			snprintf(tick->label2, sizeof(tick->label2), "%s %d", MonthNames[m - 1], d);
	}
}

int
SvgTimeTicks(double from, double to, int target, SvgTimeTick *ticks, int max)
{
	double		span = to - from;
	int			n = 0;
	size_t		i;

	if (!(span > 0) || target < 1 || max < 1)
		return 0;
	if (target > max)
		target = max;
	for (i = 0; i < lengthof(FixedSteps); i++)
	{
		double		step = FixedSteps[i];
		/* weeks start on Monday: 1970-01-01 was a Thursday */
		double		origin = step == 7 * SECONDS_PER_DAY ? 4 * SECONDS_PER_DAY : 0;
		double		t;

		if (floor(span / step) + 1 > target)
			continue;
		for (t = ceil((from - origin) / step) * step + origin; t <= to && n < max; t += step)
		{
			ticks[n].t = t;
			LabelTick(&ticks[n], n > 0 ? &ticks[n - 1] : NULL, step, 0);
			n++;
		}
		return n;
	}
	for (i = 0; i < lengthof(MonthSteps); i++)
	{
		int			k = MonthSteps[i];
		int			y,
					m,
					d;
		long		month;

		if (span / (30.4 * SECONDS_PER_DAY) / k + 1 > target + 0.5)
			continue;
		CivilFromDays((long) floor(from / SECONDS_PER_DAY), &y, &m, &d);
		/* months counted from year 0, so that steps align to quarters and years */
		month = (long) y * 12 + (m - 1);
		if (d > 1 || from > DaysFromCivil(y, m, 1) * SECONDS_PER_DAY)
			month++;
		month = (month + k - 1) / k * k;
		for (; n < max; month += k)
		{
			double		t = DaysFromCivil((int) (month / 12), (int) (month % 12) + 1, 1) * SECONDS_PER_DAY;

			if (t > to)
				break;
			ticks[n].t = t;
			LabelTick(&ticks[n], n > 0 ? &ticks[n - 1] : NULL, 0, k);
			n++;
		}
		return n;
	}
	return 0;
}

void
SvgFormatNumber(double v, double step, double largest, char *out, size_t size)
{
	static const char *const suffixes[] = {"", "k", "M", "G", "T", "P"};
	double		scale = 1;
	int			s = 0;
	int			decimals;
	double		big = fmax(fabs(largest), fabs(step));

	while (big >= 1000 * scale && s < (int) lengthof(suffixes) - 1)
	{
		scale *= 1000;
		s++;
	}
	/* the fewest decimals that write the step exactly: ticks are its multiples */
	for (decimals = 0; decimals < 6; decimals++)
	{
		double		scaled = fabs(step) / scale * pow(10, decimals);

		if (fabs(scaled - round(scaled)) < 1e-6 * fmax(scaled, 1))
			break;
	}
	if (v == 0)
		snprintf(out, size, "0");
	else
		snprintf(out, size, "%.*f%s", decimals, v / scale, suffixes[s]);
}

static double
X(const Frame *f, double t)
{
	return f->left + (t - f->from) / (f->to - f->from) * f->width;
}

static double
Y(const Frame *f, double v)
{
	return f->top + f->height - (v - f->lo) / (f->hi - f->lo) * f->height;
}

static int
CompareDoubles(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Gaps longer than this break a line: GAP_FACTOR times the median step
 * between neighbouring times (0, no breaks, when there are too few).
 * Sorts steps.
 */
static double
GapThreshold(double *steps, size_t n)
{
	if (steps == NULL || n == 0)
		return 0;
	qsort(steps, n, sizeof(double), CompareDoubles);
	return steps[(n - 1) / 2] * GAP_FACTOR;
}

/* A line as a path of segments, broken at gaps. */
static void
LinePath(TextBuf *b, const Frame *f, const SvgPoint *p, size_t n, const char *cls, const char *style)
{
	double	   *steps;
	double		gap;
	size_t		i;

	if (n == 0)
		return;
	steps = n > 1 ? malloc((n - 1) * sizeof(double)) : NULL;
	for (i = 1; steps && i < n; i++)
		steps[i - 1] = p[i].t - p[i - 1].t;
	gap = GapThreshold(steps, n - 1);
	free(steps);
	TextBufPrintf(b, "<path class=\"%s\" fill=\"none\" %s d=\"", cls, style);
	for (i = 0; i < n; i++)
	{
		bool		start = i == 0 || (gap > 0 && p[i].t - p[i - 1].t > gap);

		TextBufPrintf(b, "%s%c%.1f %.1f", i ? " " : "", start ? 'M' : 'L', X(f, p[i].t), Y(f, p[i].y));
		/* a lone point still shows */
		if (start && (i + 1 == n || (gap > 0 && p[i + 1].t - p[i].t > gap)))
			TextBufPrintf(b, " h0.1");
	}
	TextBufAppend(b, "\"/>\n", 4);
}

/* The interval band: one closed polygon per run without a gap. */
static void
BandPath(TextBuf *b, const Frame *f, const SvgBandPoint *p, size_t n)
{
	double	   *steps;
	double		gap;
	size_t		start = 0;
	size_t		i;

	if (n == 0)
		return;
	steps = n > 1 ? malloc((n - 1) * sizeof(double)) : NULL;
	for (i = 1; steps && i < n; i++)
		steps[i - 1] = p[i].t - p[i - 1].t;
	gap = GapThreshold(steps, n - 1);
	free(steps);
	TextBufPrintf(b, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\" d=\"", COLOR_FORECAST);
	while (start < n)
	{
		size_t		end = start + 1;

		while (end < n && !(gap > 0 && p[end].t - p[end - 1].t > gap))
			end++;
		for (i = start; i < end; i++)
			TextBufPrintf(b, "%c%.1f %.1f ", i == start ? 'M' : 'L', X(f, p[i].t), Y(f, p[i].upper));
		for (i = end; i > start; i--)
			TextBufPrintf(b, "L%.1f %.1f ", X(f, p[i - 1].t), Y(f, p[i - 1].lower));
		TextBufAppend(b, "Z", 1);
		start = end;
		if (start < n)
			TextBufAppend(b, " ", 1);
	}
	TextBufAppend(b, "\"/>\n", 4);
}

static void
Anomalies(TextBuf *b, const Frame *f, const SvgAnomaly *a, size_t n)
{
	size_t		i;

	if (n == 0)
		return;
	TextBufPrintf(b, "<g class=\"anomalies\" fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"1\">\n", COLOR_ANOMALY);
	for (i = 0; i < n; i++)
	{
		char		when[32];

		SvgFormatTime(a[i].t, when, sizeof(when));
		TextBufPrintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"><title>%s UTC: %.6g",
				  X(f, a[i].t), Y(f, a[i].value), 4 + 3 * fmin(fmax(a[i].score, 0), 1), when, a[i].value);
		if (!isnan(a[i].expected))
			TextBufPrintf(b, ", expected %.6g", a[i].expected);
		if (!isnan(a[i].lower) && !isnan(a[i].upper))
			TextBufPrintf(b, " (%.6g to %.6g)", a[i].lower, a[i].upper);
		TextBufPrintf(b, ", score %.3f</title></circle>\n", a[i].score);
	}
	TextBufAppend(b, "</g>\n", 5);
}

static void
Axes(TextBuf *b, const Frame *f, const double *yticks, int ny, double ystep,
	 const SvgTimeTick *xticks, int nx)
{
	double		bottom = f->top + f->height;
	int			i;

	TextBufPrintf(b, "<g class=\"axis y\" font-size=\"11\" fill=\"%s\" text-anchor=\"end\">\n", COLOR_AXIS);
	for (i = 0; i < ny; i++)
	{
		char		label[32];
		double		y = Y(f, yticks[i]);

		SvgFormatNumber(yticks[i], ystep, fmax(fabs(yticks[0]), fabs(yticks[ny - 1])), label, sizeof(label));
		TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
				  "<text x=\"%.1f\" y=\"%.1f\" dy=\"0.32em\">%s</text>\n",
				  f->left, f->left + f->width, y, y, COLOR_GRID, f->left - 6, y, label);
	}
	TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n</g>\n",
			  f->left, f->left, f->top, bottom, COLOR_AXIS);

	TextBufPrintf(b, "<g class=\"axis x\" font-size=\"11\" fill=\"%s\" text-anchor=\"middle\">\n", COLOR_AXIS);
	for (i = 0; i < nx; i++)
	{
		double		x = X(f, xticks[i].t);

		TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
				  "<text x=\"%.1f\" y=\"%.1f\">%s",
				  x, x, bottom, bottom + 5, COLOR_AXIS, x, bottom + 18, xticks[i].label);
		if (xticks[i].label2[0])
			TextBufPrintf(b, "<tspan x=\"%.1f\" dy=\"1.2em\">%s</tspan>", x, xticks[i].label2);
		TextBufAppend(b, "</text>\n", 8);
	}
	TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			  f->left, f->left + f->width, bottom, bottom, COLOR_AXIS);
	TextBufPrintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">UTC</text>\n</g>\n",
			  f->left + f->width, bottom + 46);
}

static void
Legend(TextBuf *b)
{
	double		x = MARGIN_LEFT;
	double		y = 44;

	TextBufPrintf(b, "<g class=\"legend\" font-size=\"12\" fill=\"%s\">\n", COLOR_AXIS);
	TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
			  "<text x=\"%.1f\" y=\"%.1f\">actual</text>\n",
			  x, x + 18, y - 4, y - 4, COLOR_ACTUAL, x + 22, y);
	x += 75;
	TextBufPrintf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
			  "stroke-dasharray=\"5 3\"/><text x=\"%.1f\" y=\"%.1f\">forecast</text>\n",
			  x, x + 18, y - 4, y - 4, COLOR_FORECAST, x + 22, y);
	x += 85;
	TextBufPrintf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" fill=\"%s\" fill-opacity=\"0.2\"/>"
			  "<text x=\"%.1f\" y=\"%.1f\">interval</text>\n",
			  x, y - 9, COLOR_FORECAST, x + 22, y);
	x += 80;
	TextBufPrintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">anomaly</text>\n",
			  x + 9, y - 4, COLOR_ANOMALY, x + 22, y);
	TextBufAppend(b, "</g>\n", 5);
}

/* The value range every element must fit in, from 0 up (counts are never negative). */
static void
ValueRange(const SvgChart *c, double *lo, double *hi)
{
	size_t		i;

	*lo = 0;
	*hi = 0;
	for (i = 0; i < c->n_actual; i++)
		*lo = fmin(*lo, c->actual[i].y), *hi = fmax(*hi, c->actual[i].y);
	for (i = 0; i < c->n_forecast; i++)
		*lo = fmin(*lo, c->forecast[i].y), *hi = fmax(*hi, c->forecast[i].y);
	for (i = 0; i < c->n_band; i++)
		*lo = fmin(*lo, c->band[i].lower), *hi = fmax(*hi, c->band[i].upper);
	for (i = 0; i < c->n_anomalies; i++)
		*lo = fmin(*lo, c->anomalies[i].value), *hi = fmax(*hi, c->anomalies[i].value);
}

bool
SvgDrawable(double v)
{
	return isfinite(v) && fabs(v) <= SVG_MAX_VALUE;
}

/* Every value must be drawable and every point inside the time axis. */
static bool
CheckInput(const SvgChart *c, char *error)
{
	size_t		i;

#define BAD(...) (snprintf(error, SVG_ERROR_MAX, __VA_ARGS__), false)
#define ON_AXIS(t) (isfinite(t) && (t) >= c->from && (t) <= c->to)
	if (!isfinite(c->from) || !isfinite(c->to) || !(c->from < c->to))
		return BAD("the time axis must go from an earlier to a later finite time");
	if ((c->width && (c->width < SVG_MIN_SIZE || c->width > SVG_MAX_SIZE)) ||
		(c->height && (c->height < SVG_MIN_SIZE || c->height > SVG_MAX_SIZE)))
		return BAD("width and height must be between %d and %d", SVG_MIN_SIZE, SVG_MAX_SIZE);
	for (i = 0; i < c->n_actual; i++)
		if (!ON_AXIS(c->actual[i].t) || !SvgDrawable(c->actual[i].y))
			return BAD("real value %zu is not drawable or not on the time axis", i + 1);
	for (i = 0; i < c->n_forecast; i++)
		if (!ON_AXIS(c->forecast[i].t) || !SvgDrawable(c->forecast[i].y))
			return BAD("forecast %zu is not drawable or not on the time axis", i + 1);
	for (i = 0; i < c->n_band; i++)
		if (!ON_AXIS(c->band[i].t) || !SvgDrawable(c->band[i].lower) || !SvgDrawable(c->band[i].upper))
			return BAD("interval %zu is not drawable or not on the time axis", i + 1);
	for (i = 0; i < c->n_anomalies; i++)
		if (!ON_AXIS(c->anomalies[i].t) || !SvgDrawable(c->anomalies[i].value) ||
			!isfinite(c->anomalies[i].score))
			return BAD("anomaly %zu is not drawable or not on the time axis", i + 1);
#undef ON_AXIS
#undef BAD
	return true;
}

char *
SvgChartRender(const SvgChart *c, char *error)
{
	int			width = c->width ? c->width : SVG_DEFAULT_WIDTH;
	int			height = c->height ? c->height : SVG_DEFAULT_HEIGHT;
	Frame		f;
	double		yticks[SVG_MAX_TICKS];
	double		ystep;
	int			ny;
	SvgTimeTick xticks[SVG_MAX_TICKS];
	int			nx;
	TextBuf		b = {0};

	if (!CheckInput(c, error))
		return NULL;
	f.left = MARGIN_LEFT;
	f.top = MARGIN_TOP;
	f.width = width - MARGIN_LEFT - MARGIN_RIGHT;
	f.height = height - MARGIN_TOP - MARGIN_BOTTOM;
	f.from = c->from;
	f.to = c->to;
	ValueRange(c, &f.lo, &f.hi);
	if (!(f.hi > f.lo))
		f.hi = f.lo + 1;
	ny = SvgNiceTicks(f.lo, f.hi, 5, yticks, SVG_MAX_TICKS, &ystep);
	f.lo = yticks[0];
	f.hi = yticks[ny - 1];
	/* about one time label per 90 pixels */
	nx = SvgTimeTicks(c->from, c->to, (int) (f.width / 90), xticks, SVG_MAX_TICKS);

	TextBufPrintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
			  "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" role=\"img\">\n",
			  width, height, width, height);
	TextBufAppend(&b, "<title>", 7);
	BufEscaped(&b, c->title ? c->title : "");
	TextBufAppend(&b, "</title>\n", 9);
	TextBufPrintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
	TextBufPrintf(&b, "<text class=\"title\" x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\" fill=\"%s\">",
			  MARGIN_LEFT, COLOR_AXIS);
	BufEscaped(&b, c->title ? c->title : "");
	TextBufAppend(&b, "</text>\n", 8);
	Legend(&b);
	Axes(&b, &f, yticks, ny, ystep, xticks, nx);
	BandPath(&b, &f, c->band, c->n_band);
	LinePath(&b, &f, c->forecast, c->n_forecast, "forecast",
			 "stroke=\"" COLOR_FORECAST "\" stroke-width=\"1.5\" stroke-linecap=\"round\" stroke-dasharray=\"5 3\"");
	LinePath(&b, &f, c->actual, c->n_actual, "actual",
			 "stroke=\"" COLOR_ACTUAL "\" stroke-width=\"1.5\" stroke-linecap=\"round\"");
	Anomalies(&b, &f, c->anomalies, c->n_anomalies);
	if (c->note)
	{
		TextBufPrintf(&b, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
				  "fill=\"#777777\">", f.left + f.width / 2, f.top + f.height / 2);
		BufEscaped(&b, c->note);
		TextBufAppend(&b, "</text>\n", 8);
	}
	TextBufAppend(&b, "</svg>\n", 7);
	if (b.failed)
	{
		free(b.data);
		snprintf(error, SVG_ERROR_MAX, "out of memory drawing the chart");
		return NULL;
	}
	return b.data;
}
