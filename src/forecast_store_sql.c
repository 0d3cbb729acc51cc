/*
 * forecast_store_sql.c - fits one series and stores the result: its model
 * in ipflow.models and its forecast in ipflow.forecasts
 *
 * Forecast rows accumulate: a new training replaces the rows after the end
 * of the history with the new forecast and leaves earlier rows (with the
 * forecast made before the values arrived) in place, filling in their y
 * from the values that have arrived since.  That is what a chart of
 * forecast against actual, or ipflow.detect(), compares.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "event.h"
#include "forecast_sql.h"

/* Kept plans: training stores thousands of series. */
static SPIPlanPtr model_plan;
static SPIPlanPtr forecast_plan;
static SPIPlanPtr stale_plan;
static SPIPlanPtr actual_history_plan;
static SPIPlanPtr actual_event_plans[EVENT_NFEATURES];

static SPIPlanPtr
KeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

static void
Execute(SPIPlanPtr plan, Datum *args, int expected)
{
	int			ret = SPI_execute_plan(plan, args, NULL, false, 0);

	if (ret != expected)
		elog(ERROR, "storing a forecast failed: %s", SPI_result_code_string(ret));
}

static void
StoreModel(Datum src_ip, Datum feature, Jsonb *params_jsonb, const char *model_json,
		   const ForecastModel *model, int horizon, double fit_ms, TimestampTz trained_at)
{
	Oid			types[12] = {INETOID, TEXTOID, JSONBOID, JSONOID, INT4OID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, INT4OID, FLOAT8OID, FLOAT8OID, INT4OID, TIMESTAMPTZOID};
	Datum		args[12];

	args[0] = src_ip;
	args[1] = feature;
	args[2] = JsonbPGetDatum(params_jsonb);
	/* json is text: the core's own writer needs no second parse (as jsonb would) */
	args[3] = CStringGetTextDatum(model_json);
	args[4] = Int32GetDatum(model->n_history);
	args[5] = TimestampTzGetDatum(ForecastTimestamp(model->t_start));
	args[6] = TimestampTzGetDatum(ForecastTimestamp(model->t_end));
	args[7] = Int32GetDatum(horizon);
	args[8] = Float8GetDatum(fit_ms);
	args[9] = Float8GetDatum(model->sigma * model->y_scale);
	args[10] = Int32GetDatum(model->iterations);
	args[11] = TimestampTzGetDatum(trained_at);
	Execute(KeepPlan(&model_plan,
					 "INSERT INTO ipflow.models (src_ip, feature, params, model, n_points,"
					 " history_from, history_until, horizon, fit_ms, sigma, iterations, trained_at)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
					 " ON CONFLICT (src_ip, feature) DO UPDATE SET params = EXCLUDED.params,"
					 " model = EXCLUDED.model, n_points = EXCLUDED.n_points,"
					 " history_from = EXCLUDED.history_from, history_until = EXCLUDED.history_until,"
					 " horizon = EXCLUDED.horizon, fit_ms = EXCLUDED.fit_ms, sigma = EXCLUDED.sigma,"
					 " iterations = EXCLUDED.iterations, trained_at = EXCLUDED.trained_at",
					 12, types),
			args, SPI_OK_INSERT);
}

/* The new forecast replaces every row after the history's end. */
static void
StoreForecast(Datum src_ip, Datum feature, const double *ts, const double *yhat,
			  const double *lower, const double *upper, int n, TimestampTz history_end,
			  TimestampTz trained_at)
{
	Oid			delete_types[4] = {INETOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid			insert_types[7] = {INETOID, TEXTOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZOID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	Datum	   *ds = palloc(sizeof(Datum) * n);
	Datum	   *v[3];
	Datum		args[7];
	const double *src[3] = {yhat, lower, upper};
	int			i,
				k;

	for (k = 0; k < 3; k++)
		v[k] = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		ds[i] = TimestampTzGetDatum(ForecastTimestamp(ts[i]));
		for (k = 0; k < 3; k++)
			v[k][i] = Float8GetDatum(src[k][i]);
	}

	args[0] = src_ip;
	args[1] = feature;
	args[2] = TimestampTzGetDatum(history_end);
	args[3] = TimestampTzGetDatum(trained_at);
	Execute(KeepPlan(&stale_plan,
					 "DELETE FROM ipflow.forecasts WHERE src_ip = $1 AND feature = $2"
					 " AND ds > $3 AND trained_at <> $4",
					 4, delete_types),
			args, SPI_OK_DELETE);

	args[2] = PointerGetDatum(DatumArray(ds, NULL, n, TIMESTAMPTZOID));
	args[3] = TimestampTzGetDatum(trained_at);
	for (k = 0; k < 3; k++)
		args[4 + k] = PointerGetDatum(DatumArray(v[k], NULL, n, FLOAT8OID));
	Execute(KeepPlan(&forecast_plan,
					 "INSERT INTO ipflow.forecasts (src_ip, feature, ds, yhat, yhat_lower, yhat_upper, trained_at)"
					 " SELECT $1, $2, u.ds, u.yhat, u.lower, u.upper, $4"
					 " FROM unnest($3, $5, $6, $7) AS u(ds, yhat, lower, upper)"
					 " ON CONFLICT (src_ip, feature, ds) DO UPDATE SET yhat = EXCLUDED.yhat,"
					 " yhat_lower = EXCLUDED.yhat_lower, yhat_upper = EXCLUDED.yhat_upper,"
					 " trained_at = EXCLUDED.trained_at",
					 7, insert_types),
			args, SPI_OK_INSERT);
}

/* Fills y of the earlier forecast rows whose real values have arrived. */
static void
FillActuals(Datum src_ip, int feature, Datum feature_name)
{
	Oid			types[2] = {INETOID, TEXTOID};
	Datum		args[2] = {src_ip, feature_name};

	Execute(KeepPlan(&actual_history_plan,
					 "UPDATE ipflow.forecasts f SET y = h.value FROM ipflow.history h"
					 " WHERE f.src_ip = $1 AND f.feature = $2 AND f.y IS NULL"
					 " AND h.src_ip = $1 AND h.feature = $2 AND h.ds = f.ds",
					 2, types),
			args, SPI_OK_UPDATE);

	if (actual_event_plans[feature] == NULL)
	{
		const char *column = quote_identifier(EventFeatureNames[feature]);
		char	   *sql = psprintf("UPDATE ipflow.forecasts f SET y = e.%s FROM ipflow.events e"
								   " WHERE f.src_ip = $1 AND f.feature = $2 AND f.y IS NULL"
								   " AND e.src_ip = $1 AND e.ts = f.ds AND e.%s IS NOT NULL",
								   column, column);

		KeepPlan(&actual_event_plans[feature], sql, 2, types);
		pfree(sql);
	}
	Execute(actual_event_plans[feature], args, SPI_OK_UPDATE);
}

/*
 * Fits the series of src_ip and feature and stores model and forecast.  A
 * series too short for the settings is skipped; a fit the core refuses is
 * reported in message.  The caller is connected to SPI, in a transaction.
 */
TrainOutcome
TrainOneSeries(Datum src_ip, int feature, int horizon, const ForecastParams *params,
			   Jsonb *params_jsonb, TimestampTz trained_at, char *message, size_t message_size)
{
	Datum		feature_name = CStringGetTextDatum(EventFeatureNames[feature]);
	ForecastSeries series;
	ForecastModel *model;
	ForecastError error;
	instr_time	start,
				duration;
	double	   *ts = palloc(sizeof(double) * horizon);
	double	   *yhat = palloc(sizeof(double) * horizon);
	double	   *lower = palloc(sizeof(double) * horizon);
	double	   *upper = palloc(sizeof(double) * horizon);
	char	   *model_json;
	char	   *json;
	int			n;
	bool		ok;

	ForecastSeriesLoad(src_ip, feature, &series, CurrentMemoryContext);
	if (series.n < ForecastMinHistory(params))
		return TRAIN_TOO_FEW_POINTS;

	INSTR_TIME_SET_CURRENT(start);
	model = ForecastFit(series.ts, series.y, series.n, params, &error);
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	if (model == NULL)
	{
		strlcpy(message, error.message, message_size);
		return TRAIN_FAILED;
	}
	n = ForecastFuture(model, horizon, ts);
	ok = ForecastPredict(model, ts, n, yhat, lower, upper, &error);
	json = ok ? ForecastModelToJson(model) : NULL;
	model_json = json ? pstrdup(json) : NULL;
	free(json);
	if (!ok || model_json == NULL)
	{
		ForecastFree(model);
		strlcpy(message, ok ? "out of memory writing the model" : error.message, message_size);
		return TRAIN_FAILED;
	}

	PG_TRY();
	{
		StoreModel(src_ip, feature_name, params_jsonb, model_json, model, horizon,
				   INSTR_TIME_GET_MILLISEC(duration), trained_at);
		StoreForecast(src_ip, feature_name, ts, yhat, lower, upper, n,
					  ForecastTimestamp(model->t_end), trained_at);
	}
	PG_FINALLY();
	{
		ForecastFree(model);
	}
	PG_END_TRY();
	FillActuals(src_ip, feature, feature_name);
	return TRAIN_STORED;
}
