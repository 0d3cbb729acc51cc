/*
 * forecast_series_sql.c - what every forecasting function reads: the
 * series of one IP and feature, the settings, the horizon
 *
 * A series is ipflow.history (samples dumped from Redis) plus the events
 * not dumped yet: the same samples the Redis mirror holds, read from the
 * table they came from, so training needs no Redis round trip.  Dumps move
 * a series' samples in time order, so the events not dumped yet are those
 * after the last dumped sample: one index probe, not one per event.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "event.h"
#include "forecast_sql.h"

/* One kept plan per feature: training reads thousands of series. */
static SPIPlanPtr series_plans[EVENT_NFEATURES];

/* Reports an error of the forecasting core, naming the setting at fault. */
void
ForecastErrorReport(const ForecastError *error, const char *context)
{
	if (error->param[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid forecast parameter \"%s\": %s", error->param, error->message),
				 errhint("See the forecasting settings in the README; {} takes the defaults.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("%s: %s", context, error->message)));
}

/* The settings as JSON text: NULL takes the defaults. */
char *
ForecastParamsText(Jsonb *jsonb)
{
	if (jsonb == NULL)
		return pstrdup("{}");
	return JsonbToCString(NULL, &jsonb->root, VARSIZE(jsonb));
}

/* Reads and checks the settings; an unknown name or a bad value is an error. */
void
ForecastParamsFromJsonb(Jsonb *jsonb, ForecastParams *params)
{
	char	   *text = ForecastParamsText(jsonb);
	ForecastError error;

	if (!ForecastParamsFromJson(text, strlen(text), params, &error))
	{
		if (error.param[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid forecast parameters: %s", error.message),
					 errhint("See the forecasting settings in the README; {} takes the defaults.")));
		ForecastErrorReport(&error, "invalid forecast parameters");
	}
	pfree(text);
}

void
ForecastCheckHorizon(int horizon)
{
	if (horizon <= 0 || horizon > FORECAST_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and %d, got %d", FORECAST_MAX_HORIZON, horizon),
				 errhint("The horizon counts future timestamps of the series' own calendar, "
						 "e.g. 8 for the next 8 business hours of an hourly series.")));
}

/* A timestamp of the core (seconds since 1970) as a Postgres timestamptz. */
TimestampTz
ForecastTimestamp(double seconds)
{
	double		usec = rint((seconds - FORECAST_PG_EPOCH_SECONDS) * USECS_PER_SEC);

	if (!(usec > (double) MIN_TIMESTAMP && usec < (double) END_TIMESTAMP))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("forecast timestamp out of range")));
	return (TimestampTz) usec;
}

static SPIPlanPtr
SeriesPlan(int feature)
{
	if (series_plans[feature] == NULL)
	{
		const char *column = quote_identifier(EventFeatureNames[feature]);
		Oid			types[2] = {INETOID, TEXTOID};
		char	   *sql;
		SPIPlanPtr	plan;

		sql = psprintf("SELECT ds, value FROM ipflow.history WHERE src_ip = $1 AND feature = $2"
					   " UNION ALL"
					   " SELECT e.ts, e.%s::float8 FROM ipflow.events e"
					   " WHERE e.src_ip = $1 AND e.%s IS NOT NULL"
					   " AND e.ts > coalesce((SELECT max(h.ds) FROM ipflow.history h"
					   " WHERE h.src_ip = $1 AND h.feature = $2), '-infinity')"
					   " ORDER BY 1",
					   column, column);
		plan = SPI_prepare(sql, 2, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for the series of %s: %s",
				 EventFeatureNames[feature], SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		series_plans[feature] = plan;
		pfree(sql);
	}
	return series_plans[feature];
}

/*
 * Reads the series of one IP and feature, oldest first, into arrays
 * allocated in memory context `into`.  The caller is connected to SPI.
 */
void
ForecastSeriesLoad(Datum src_ip, int feature, ForecastSeries *series, MemoryContext into)
{
	Datum		args[2];
	uint64		i;
	int			ret;

	args[0] = src_ip;
	args[1] = CStringGetTextDatum(EventFeatureNames[feature]);
	ret = SPI_execute_plan(SeriesPlan(feature), args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the series failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > FORECAST_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a series has at most %d points, this one has " UINT64_FORMAT,
						FORECAST_MAX_POINTS, SPI_processed)));

	series->n = (int) SPI_processed;
	series->ts = MemoryContextAlloc(into, sizeof(double) * Max(series->n, 1));
	series->y = MemoryContextAlloc(into, sizeof(double) * Max(series->n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		TimestampTz ds = DatumGetTimestampTz(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 1, &isnull));

		series->ts[i] = (double) ds / USECS_PER_SEC + FORECAST_PG_EPOCH_SECONDS;
		series->y[i] = DatumGetFloat8(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Refuses a series too short for the settings, saying how many points it needs. */
void
ForecastRequireHistory(const ForecastSeries *series, const ForecastParams *params,
					   Datum src_ip, int feature)
{
	int			needed = ForecastMinHistory(params);
	char	   *ip = DatumGetCString(DirectFunctionCall1(inet_out, src_ip));

	if (series->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no samples of feature \"%s\" for src_ip %s",
						EventFeatureNames[feature], ip),
				 errhint("A series is read from ipflow.history and ipflow.events.")));
	if (series->n < needed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("src_ip %s has %d samples of feature \"%s\", a model with these settings needs at least %d",
						ip, series->n, EventFeatureNames[feature], needed),
				 errhint("Wait for more data, or lower the seasonality orders or n_changepoints.")));
}
