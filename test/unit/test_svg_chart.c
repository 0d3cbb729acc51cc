/* Unit tests of svg_chart.c: ticks, labels, escaping and the drawn chart. */
#include "postgres_fe.h"

#include <math.h>

#include "svg_chart.h"
#include "tap.h"

#define HOUR 3600.0
#define DAY 86400.0
#define JAN_3_2022 1641168000.0		/* a Monday, 00:00 UTC */

/* How many times needle occurs in haystack. */
static int
count(const char *haystack, const char *needle)
{
	int			n = 0;
	const char *p = haystack;

	while ((p = strstr(p, needle)) != NULL)
	{
		n++;
		p += strlen(needle);
	}
	return n;
}

/* The text of the first element with this class attribute, up to its end. */
static char *
element(const char *svg, const char *cls, char *out, size_t size)
{
	char		attr[64];
	const char *start,
			   *end;

	snprintf(attr, sizeof(attr), "class=\"%s\"", cls);
	start = strstr(svg, attr);
	out[0] = '\0';
	if (start == NULL)
		return out;
	end = strstr(start, ">\n");
	snprintf(out, size, "%.*s", (int) (end ? end - start : (long) strlen(start)), start);
	return out;
}

static void
test_nice_ticks(void)
{
	double		t[SVG_MAX_TICKS],
				step;
	int			n;

	n = SvgNiceTicks(0, 97, 5, t, SVG_MAX_TICKS, &step);
	ok(n == 6 && step == 20 && t[0] == 0 && t[5] == 100, "0..97: 0, 20, ... 100 (%d ticks, step %g)", n, step);
	n = SvgNiceTicks(0, 123456, 5, t, SVG_MAX_TICKS, &step);
	ok(step == 25000 && t[n - 1] >= 123456 && t[n - 2] < 123456, "0..123456: step 25000, last tick covers the top");
	n = SvgNiceTicks(0.12, 0.37, 5, t, SVG_MAX_TICKS, &step);
	ok(step == 0.05 && fabs(t[0] - 0.1) < 1e-12 && fabs(t[n - 1] - 0.4) < 1e-12,
	   "0.12..0.37: 0.1 to 0.4 by 0.05 (step %g)", step);
	n = SvgNiceTicks(-3, 7, 4, t, SVG_MAX_TICKS, &step);
	ok(step == 2.5 && t[0] == -5 && t[n - 1] == 7.5, "-3..7: -5 to 7.5 by 2.5");
	n = SvgNiceTicks(0, 1, 5, t, SVG_MAX_TICKS, &step);
	ok(n == 6 && fabs(t[3] - 0.6) < 1e-12, "0..1 by 0.2, multiples of the step");
	n = SvgNiceTicks(5, 5, 5, t, SVG_MAX_TICKS, &step);
	ok(n >= 2 && t[0] <= 5 && t[n - 1] >= 5 && step > 0, "an empty range is widened around its value");
	n = SvgNiceTicks(0, 1e9, 5, t, 3, &step);
	is_int(n, 3, "never more ticks than asked for");
}

static void
test_numbers(void)
{
	char		s[32];

	SvgFormatNumber(0, 20, 100, s, sizeof(s));
	is_str(s, "0", "zero");
	SvgFormatNumber(40, 20, 100, s, sizeof(s));
	is_str(s, "40", "tens");
	SvgFormatNumber(50000, 25000, 125000, s, sizeof(s));
	is_str(s, "50k", "thousands as k");
	SvgFormatNumber(7500, 2500, 10000, s, sizeof(s));
	is_str(s, "7.5k", "a step of 2.5k keeps its decimal");
	SvgFormatNumber(500, 500, 2000, s, sizeof(s));
	is_str(s, "0.5k", "every tick of an axis up to 2k is in k");
	SvgFormatNumber(1500000, 500000, 2000000, s, sizeof(s));
	is_str(s, "1.5M", "millions as M");
	SvgFormatNumber(0.15, 0.05, 0.4, s, sizeof(s));
	is_str(s, "0.15", "small steps keep their digits");
	SvgFormatNumber(-5, 2.5, 7.5, s, sizeof(s));
	is_str(s, "-5.0", "negative ticks of a fractional step");
	SvgFormatTime(0, s, sizeof(s));
	is_str(s, "1970-01-01 00:00", "the epoch");
	SvgFormatTime(JAN_3_2022 + 8 * HOUR + 10 * 60, s, sizeof(s));
	is_str(s, "2022-01-03 08:10", "a time in UTC");
	SvgFormatTime(-DAY, s, sizeof(s));
	is_str(s, "1969-12-31 00:00", "before 1970");
}

static void
test_time_ticks(void)
{
	SvgTimeTick t[SVG_MAX_TICKS];
	int			n,
				i;
	bool		mondays = true;

	/* hours: 08:10 to 14:10 */
	n = SvgTimeTicks(JAN_3_2022 + 8 * HOUR + 600, JAN_3_2022 + 14 * HOUR + 600, 8, t, SVG_MAX_TICKS);
	ok(n == 6 && t[0].t == JAN_3_2022 + 9 * HOUR, "6 hours: hourly ticks from 09:00 (%d)", n);
	is_str(t[0].label, "09:00", "hour label");
	is_str(t[0].label2, "Jan 3", "the first tick says the day");
	is_str(t[1].label2, "", "later ticks of that day do not");

	/* a day and a half: the date appears again at midnight */
	n = SvgTimeTicks(JAN_3_2022 + 12 * HOUR, JAN_3_2022 + 36 * HOUR, 8, t, SVG_MAX_TICKS);
	for (i = 0; i < n && t[i].t != JAN_3_2022 + DAY; i++)
		;
	ok(i < n && strcmp(t[i].label, "00:00") == 0 && strcmp(t[i].label2, "Jan 4") == 0,
	   "24 hours by 3 or 6: midnight is labelled with its date");

	/* two weeks: weekly ticks on Mondays */
	n = SvgTimeTicks(JAN_3_2022 - 2 * DAY, JAN_3_2022 + 14 * DAY, 7, t, SVG_MAX_TICKS);
	for (i = 0; i < n; i++)
		mondays = mondays && fmod((t[i].t / DAY) - 4, 7) == 0;
	ok(n == 3 && mondays, "16 days: weekly ticks, on Mondays (%d)", n);
	is_str(t[0].label, "Jan 3", "day label");
	is_str(t[0].label2, "2022", "the first tick says the year");

	/* four days: daily */
	n = SvgTimeTicks(JAN_3_2022, JAN_3_2022 + 4 * DAY, 7, t, SVG_MAX_TICKS);
	ok(n == 5 && t[4].t == JAN_3_2022 + 4 * DAY, "4 days: daily ticks, both ends included");

	/* six months: monthly, from the first of a month */
	n = SvgTimeTicks(1640995200.0 - DAY, 1656633600.0, 7, t, SVG_MAX_TICKS);
	ok(n == 7 && t[0].t == 1640995200.0, "6 months: 7 monthly ticks from Jan 1 (%d)", n);
	is_str(t[0].label, "Jan", "month label");
	is_str(t[0].label2, "2022", "with the year once");
	is_str(t[6].label, "Jul", "up to July");
	is_str(t[6].label2, "", "no year again within it");

	/* two years, room for 8: half-years, the year under each January */
	n = SvgTimeTicks(1640995200.0, 1640995200.0 + 730 * DAY, 8, t, SVG_MAX_TICKS);
	is_int(n, 5, "2 years: 5 half-yearly ticks");
	ok(n == 5 && strcmp(t[1].label, "Jul") == 0 && strcmp(t[1].label2, "") == 0 &&
	   strcmp(t[2].label, "Jan") == 0 && strcmp(t[2].label2, "2023") == 0 &&
	   strcmp(t[4].label2, "2024") == 0, "Jan 2022, Jul, Jan 2023, Jul, Jan 2024");

	/* decades: yearly labels */
	n = SvgTimeTicks(0, 30 * 365.25 * DAY, 7, t, SVG_MAX_TICKS);
	ok(n >= 3 && n <= 7 && strcmp(t[0].label, "1970") == 0, "30 years: year ticks from 1970 (%d)", n);

	ok(SvgTimeTicks(10, 10, 5, t, SVG_MAX_TICKS) == 0, "an empty span has no ticks");
	n = SvgTimeTicks(0, 100 * DAY, 50, t, 4);
	ok(n <= 4, "never more ticks than room for");
}

static void
test_escape(void)
{
	char	   *s = SvgEscape("a<b & \"c\" 'd'>\x01\xc3\xa9");

	is_str(s, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;?\xc3\xa9", "markup and control characters escaped, UTF-8 kept");
	free(s);
}

static void
test_render(void)
{
	SvgPoint	actual[8];
	SvgPoint	forecast[4];
	SvgBandPoint band[4];
	SvgAnomaly	anomalies[2] = {
		{JAN_3_2022 + 9 * HOUR, 90, 20, 10, 30, 0.93},
		{JAN_3_2022 + DAY + 10 * HOUR, 55, NAN, NAN, NAN, 0.5}
	};
	SvgChart	c = {0};
	char		error[SVG_ERROR_MAX];
	char		el[4096];
	char	   *svg;
	int			i;

	/* business hours of two days: a night between them */
	for (i = 0; i < 8; i++)
	{
		actual[i].t = JAN_3_2022 + (i < 4 ? 8 + i : 24 + 8 + i - 4) * HOUR;
		actual[i].y = 10 + i;
	}
	actual[1].y = 90;
	for (i = 0; i < 4; i++)
	{
		forecast[i].t = band[i].t = JAN_3_2022 + (i < 2 ? 8 + i : 24 + 8 + i) * HOUR;
		forecast[i].y = 20;
		band[i].lower = 10;
		band[i].upper = 30;
	}
	c.title = "bytesin of 192.0.2.1 <test>";
	c.from = JAN_3_2022;
	c.to = JAN_3_2022 + 2 * DAY;
	c.actual = actual;
	c.n_actual = 8;
	c.forecast = forecast;
	c.n_forecast = 4;
	c.band = band;
	c.n_band = 4;
	c.anomalies = anomalies;
	c.n_anomalies = 2;
	svg = SvgChartRender(&c, error);
	ok(svg != NULL, "renders");
	if (svg == NULL)
		return;
	ok(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0 &&
	   strcmp(svg + strlen(svg) - 7, "</svg>\n") == 0, "one svg element, the document");
	ok(strstr(svg, "width=\"900\" height=\"380\"") != NULL, "default size");
	is_int(count(svg, "<title>bytesin of 192.0.2.1 &lt;test&gt;</title>"), 1, "the document title, escaped");
	ok(strstr(svg, "class=\"title\"") && strstr(svg, ">bytesin of 192.0.2.1 &lt;test&gt;</text>"),
	   "the visible title, escaped");
	is_int(count(svg, "<test>"), 0, "nothing unescaped");
	is_int(count(element(svg, "actual", el, sizeof(el)), "M"), 2, "the real values break at the night");
	is_int(count(el, "L"), 6, "and join the hours of each day");
	is_int(count(element(svg, "forecast", el, sizeof(el)), "M"), 2, "so does the forecast");
	ok(strstr(el, "stroke-dasharray") != NULL, "the forecast is dashed");
	is_int(count(element(svg, "band", el, sizeof(el)), "Z"), 2, "the band is one closed shape per day");
	is_int(count(svg, "<circle cx="), 3, "two anomaly markers and the legend's");
	ok(strstr(svg, "<title>2022-01-03 09:00 UTC: 90, expected 20 (10 to 30), score 0.930</title>") != NULL,
	   "an anomaly says when, what, the expected range and its score");
	ok(strstr(svg, "<title>2022-01-04 10:00 UTC: 55, score 0.500</title>") != NULL,
	   "an anomaly without a forecast says less");
	ok(strstr(svg, "class=\"axis x\"") && strstr(svg, "class=\"axis y\"") && strstr(svg, "class=\"legend\""),
	   "axes and legend");
	ok(strstr(svg, ">actual</text>") && strstr(svg, ">forecast</text>") && strstr(svg, ">interval</text>") &&
	   strstr(svg, ">anomaly</text>"), "the legend names the four elements");
	ok(strstr(svg, ">100</text>") != NULL && strstr(svg, ">0</text>") != NULL, "the value axis runs 0 to 100");
	ok(strstr(svg, ">Jan 3</tspan>") != NULL || strstr(svg, ">Jan 3</text>") != NULL, "the time axis names the day");
	is_int(count(svg, "class=\"note\""), 0, "no note");
	free(svg);

	/* nothing to show: axes and a note */
	memset(&c, 0, sizeof(c));
	c.title = "allow of 192.0.2.9";
	c.note = "no data";
	c.from = JAN_3_2022;
	c.to = JAN_3_2022 + 14 * DAY;
	c.width = 400;
	c.height = 300;
	svg = SvgChartRender(&c, error);
	ok(svg != NULL && strstr(svg, "<text class=\"note\"") && strstr(svg, ">no data</text>"), "an empty chart has its note");
	ok(svg && strstr(svg, "width=\"400\" height=\"300\""), "a chosen size");
	ok(svg && !strstr(svg, "class=\"actual\"") && strstr(svg, "class=\"axis x\""), "axes but no line");
	free(svg);

	/* a lone point is still drawn */
	c.note = NULL;
	c.actual = actual;
	c.n_actual = 1;
	svg = SvgChartRender(&c, error);
	ok(svg && strstr(element(svg, "actual", el, sizeof(el)), " h0.1"), "a single value shows as a dot");
	free(svg);

	/* refused input */
	c.from = c.to;
	ok(SvgChartRender(&c, error) == NULL && strstr(error, "time axis"), "an empty time axis: %s", error);
	c.from = JAN_3_2022;
	actual[0].y = NAN;
	ok(SvgChartRender(&c, error) == NULL && strstr(error, "real value 1"), "a NaN value: %s", error);
	actual[0].y = 1e301;
	ok(SvgChartRender(&c, error) == NULL && strstr(error, "real value 1 is not drawable"), "a huge value: %s", error);
	ok(SvgDrawable(-1e300) && !SvgDrawable(INFINITY) && !SvgDrawable(NAN), "what can be drawn");
	actual[0].y = 1;
	actual[0].t = c.to + 1;
	ok(SvgChartRender(&c, error) == NULL && strstr(error, "not on the time axis"), "a point off the axis: %s", error);
	actual[0].t = JAN_3_2022;
	c.width = 50;
	ok(SvgChartRender(&c, error) == NULL && strstr(error, "width and height"), "too small: %s", error);
}

int
main(void)
{
	test_nice_ticks();
	test_numbers();
	test_time_ticks();
	test_escape();
	test_render();
	return tap_done();
}
