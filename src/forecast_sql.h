/*
 * forecast_sql.h - the forecasting core's glue: series, settings, training
 */
#ifndef IPFLOW_FORECAST_SQL_H
#define IPFLOW_FORECAST_SQL_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "forecast.h"

/* One IP × feature series in the core's units (seconds since 1970). */
typedef struct ForecastSeries
{
	int			n;
	double	   *ts;
	double	   *y;
} ForecastSeries;

/* Seconds between 1970-01-01 and Postgres' epoch, 2000-01-01. */
#define FORECAST_PG_EPOCH_SECONDS ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

extern void ForecastParamsFromJsonb(Jsonb *jsonb, ForecastParams *params);
extern char *ForecastParamsText(Jsonb *jsonb);
extern void ForecastCheckHorizon(int horizon);
extern void ForecastSeriesLoad(Datum src_ip, int feature, ForecastSeries *series,
							   MemoryContext into);
extern void ForecastRequireHistory(const ForecastSeries *series, const ForecastParams *params,
								   Datum src_ip, int feature);
extern TimestampTz ForecastTimestamp(double seconds);
extern void ForecastErrorReport(const ForecastError *error, const char *context) pg_attribute_noreturn();

/* Fits one series, stores its model and forecast; false when skipped. */
typedef enum TrainOutcome
{
	TRAIN_STORED,
	TRAIN_TOO_FEW_POINTS,
	TRAIN_FAILED
} TrainOutcome;

extern TrainOutcome TrainOneSeries(Datum src_ip, int feature, int horizon,
								   const ForecastParams *params, Jsonb *params_jsonb,
								   TimestampTz trained_at, char *message, size_t message_size);

#endif
