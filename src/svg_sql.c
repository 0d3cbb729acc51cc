/*
 * svg_sql.c - ipflow.plot_svg(): one IP's feature as an SVG chart
 *
 * Reads the real values (ipflow.events), the forecast and its interval
 * (ipflow.forecasts) and the anomalies (ipflow.anomalies) of the window
 * with the caller's privileges, and hands them to the pure-C renderer,
 * svg_chart.c.
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "event.h"
#include "ipflow.h"
#include "svg_chart.h"

/* Without a "from", the chart shows this much before "to". */
#define IPFLOW_DEFAULT_CHART_DAYS 14
/* Each of the three series is refused beyond this many points. */
#define IPFLOW_MAX_CHART_POINTS 100000

/* Seconds between 1970-01-01 and Postgres' epoch, 2000-01-01. */
#define UNIX_TO_POSTGRES_SECONDS ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

static double
UnixSeconds(TimestampTz t)
{
	return (double) t / USECS_PER_SEC + UNIX_TO_POSTGRES_SECONDS;
}

/* Runs a read-only query of the IP, feature and window; refuses too many rows. */
static void
ChartQuery(const char *sql, Datum *args, const char *what)
{
	static Oid	types[4] = {INETOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

	if (SPI_execute_with_args(sql, 4, types, args, NULL, true, IPFLOW_MAX_CHART_POINTS + 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the %s of the chart", what);
	if (SPI_processed > IPFLOW_MAX_CHART_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the chart would have more than %d %s", IPFLOW_MAX_CHART_POINTS, what),
				 errhint("Pass a shorter window with \"from\" and \"to\".")));
}

/* Column c of row r as a double (NaN when NULL). */
static double
ChartValue(uint64 r, int c)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c, &isnull);

	if (isnull)
		return NAN;
	if (SPI_gettypeid(SPI_tuptable->tupdesc, c) == TIMESTAMPTZOID)
		return UnixSeconds(DatumGetTimestampTz(d));
	return DatumGetFloat8(d);
}

/* The earliest and latest time of anything to show of this IP and feature. */
static bool
ChartDataBounds(const char *column, Datum *args, TimestampTz *first, TimestampTz *last)
{
	char	   *sql = psprintf("SELECT min(t), max(t) FROM ("
							   " SELECT ts FROM ipflow.events WHERE src_ip = $1 AND %s IS NOT NULL"
							   " UNION ALL SELECT ds FROM ipflow.forecasts WHERE src_ip = $1 AND feature = $2"
							   " UNION ALL SELECT ts FROM ipflow.anomalies WHERE src_ip = $1 AND feature = $2"
							   ") AS d(t)",
							   quote_identifier(column));
	bool		isnull;

	ChartQuery(sql, args, "bounds");
	*first = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		return false;
	*last = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

PG_FUNCTION_INFO_V1(ipflow_plot_svg);

/* SQL: ipflow.plot_svg(src_ip, feature, from, to) -> text */
Datum
ipflow_plot_svg(PG_FUNCTION_ARGS)
{
	const char *column;
	char	   *ip_text;
	TimestampTz from,
				to,
				first = 0,
				last = 0;
	bool		has_data;
	Datum		args[4];
	SvgChart	chart = {0};
	SvgPoint   *actual,
			   *forecast;
	SvgBandPoint *band;
	SvgAnomaly *anomalies;
	char		from_text[32],
				to_text[32],
				error[SVG_ERROR_MAX];
	char	   *svg;
	text	   *result = NULL;
	uint64		r;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("src_ip and feature must not be NULL")));
	column = EventFeatureNames[IpflowFeatureIndex(text_to_cstring(PG_GETARG_TEXT_PP(1)))];
	ip_text = DatumGetCString(DirectFunctionCall1(inet_out, PG_GETARG_DATUM(0)));
	if ((!PG_ARGISNULL(2) && TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2))) ||
		(!PG_ARGISNULL(3) && TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(3))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"from\" and \"to\" must be finite times"),
				 errhint("Pass NULL for the default window.")));
	if (!PG_ARGISNULL(2) && !PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(2) > PG_GETARG_TIMESTAMPTZ(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"from\" is after \"to\"")));

	args[0] = PG_GETARG_DATUM(0);
	args[1] = CStringGetTextDatum(column);
	args[2] = args[3] = (Datum) 0;
	SPI_connect();
	has_data = ChartDataBounds(column, args, &first, &last);

	/*
	 * The default window ends with the latest thing to show (forecasts
	 * reach into the future) and spans IPFLOW_DEFAULT_CHART_DAYS, or less
	 * when the data begin later.
	 */
	if (!PG_ARGISNULL(3))
		to = PG_GETARG_TIMESTAMPTZ(3);
	else if (has_data && (PG_ARGISNULL(2) || last > PG_GETARG_TIMESTAMPTZ(2)))
		to = last;
	else if (!PG_ARGISNULL(2))
		to = PG_GETARG_TIMESTAMPTZ(2) + (int64) IPFLOW_DEFAULT_CHART_DAYS * USECS_PER_DAY;
	else
		to = GetCurrentTransactionStartTimestamp();
	if (!PG_ARGISNULL(2))
		from = PG_GETARG_TIMESTAMPTZ(2);
	else
	{
		from = to - (int64) IPFLOW_DEFAULT_CHART_DAYS * USECS_PER_DAY;
		if (has_data && first > from && first < to)
			from = first;
	}
	/* one instant: an hour either side of it */
	if (from == to)
	{
		from -= USECS_PER_HOUR;
		to += USECS_PER_HOUR;
	}
	args[2] = TimestampTzGetDatum(from);
	args[3] = TimestampTzGetDatum(to);

	ChartQuery(psprintf("SELECT ts, %s::float8 FROM ipflow.events"
						" WHERE src_ip = $1 AND ts BETWEEN $3 AND $4 AND %s IS NOT NULL"
						" ORDER BY ts", quote_identifier(column), quote_identifier(column)),
			   args, "real values");
	actual = palloc(Max(SPI_processed, 1) * sizeof(SvgPoint));
	for (r = 0; r < SPI_processed; r++)
	{
		actual[chart.n_actual].t = ChartValue(r, 1);
		actual[chart.n_actual].y = ChartValue(r, 2);
		chart.n_actual++;
	}

	ChartQuery("SELECT ds, yhat, yhat_lower, yhat_upper FROM ipflow.forecasts"
			   " WHERE src_ip = $1 AND feature = $2 AND ds BETWEEN $3 AND $4 ORDER BY ds",
			   args, "forecasts");
	forecast = palloc(Max(SPI_processed, 1) * sizeof(SvgPoint));
	band = palloc(Max(SPI_processed, 1) * sizeof(SvgBandPoint));
	for (r = 0; r < SPI_processed; r++)
	{
		double		t = ChartValue(r, 1),
					yhat = ChartValue(r, 2),
					lower = ChartValue(r, 3),
					upper = ChartValue(r, 4);

		/* NaN, infinite or astronomic numbers cannot be drawn: such a point is left out */
		if (!SvgDrawable(yhat) || !SvgDrawable(lower) || !SvgDrawable(upper))
			continue;
		forecast[chart.n_forecast].t = band[chart.n_band].t = t;
		forecast[chart.n_forecast++].y = yhat;
		band[chart.n_band].lower = lower;
		band[chart.n_band++].upper = upper;
	}

	/* both detectors may flag one time: the higher score is shown */
	ChartQuery("SELECT DISTINCT ON (ts) ts, value, expected, lower, upper, score FROM ipflow.anomalies"
			   " WHERE src_ip = $1 AND feature = $2 AND ts BETWEEN $3 AND $4 ORDER BY ts, score DESC",
			   args, "anomalies");
	anomalies = palloc(Max(SPI_processed, 1) * sizeof(SvgAnomaly));
	for (r = 0; r < SPI_processed; r++)
	{
		SvgAnomaly *a = &anomalies[chart.n_anomalies];

		a->t = ChartValue(r, 1);
		a->value = ChartValue(r, 2);
		a->expected = ChartValue(r, 3);
		a->lower = ChartValue(r, 4);
		a->upper = ChartValue(r, 5);
		a->score = ChartValue(r, 6);
		if (SvgDrawable(a->value) && isfinite(a->score))
			chart.n_anomalies++;
	}

	SvgFormatTime(UnixSeconds(from), from_text, sizeof(from_text));
	SvgFormatTime(UnixSeconds(to), to_text, sizeof(to_text));
	chart.title = psprintf("%s of %s, %s to %s UTC", column, ip_text, from_text, to_text);
	if (!has_data)
		chart.note = psprintf("no data of %s for %s", column, ip_text);
	else if (chart.n_actual + chart.n_forecast + chart.n_anomalies == 0)
	{
		SvgFormatTime(UnixSeconds(first), from_text, sizeof(from_text));
		SvgFormatTime(UnixSeconds(last), to_text, sizeof(to_text));
		chart.note = psprintf("nothing in this window; data from %s to %s UTC", from_text, to_text);
	}
	chart.from = UnixSeconds(from);
	chart.to = UnixSeconds(to);
	chart.actual = actual;
	chart.forecast = forecast;
	chart.band = band;
	chart.anomalies = anomalies;

	svg = SvgChartRender(&chart, error);
	SPI_finish();
	/* the renderer's buffer is malloc'd: copied without a chance to error out */
	if (svg != NULL)
		result = palloc_extended(VARHDRSZ + strlen(svg), MCXT_ALLOC_NO_OOM);
	if (result == NULL)
	{
		bool		drawn = svg != NULL;

		free(svg);
		ereport(ERROR,
				(errcode(drawn ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
				 errmsg("could not draw the chart: %s", drawn ? "out of memory" : error)));
	}
	SET_VARSIZE(result, VARHDRSZ + strlen(svg));
	memcpy(VARDATA(result), svg, strlen(svg));
	free(svg);
	PG_RETURN_TEXT_P(result);
}
