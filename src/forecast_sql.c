/*
 * forecast_sql.c - SQL functions that fit a model on the fly:
 * ipflow.forecast() and ipflow.backtest()
 *
 * The core allocates with malloc: every model is freed before anything
 * here can raise an error.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "forecast_sql.h"
#include "ipflow.h"

PG_FUNCTION_INFO_V1(ipflow_forecast);
PG_FUNCTION_INFO_V1(ipflow_backtest);

static void
RequireArguments(FunctionCallInfo fcinfo, int nargs, const char *names)
{
	int			i;

	for (i = 0; i < nargs; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", names)));
}

/* Reads the series of the first two arguments and checks it is long enough. */
static void
LoadArgumentSeries(FunctionCallInfo fcinfo, const ForecastParams *params, ForecastSeries *series)
{
	Datum		src_ip = PG_GETARG_DATUM(0);
	int			feature = IpflowFeatureIndex(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	MemoryContext caller = CurrentMemoryContext;

	SPI_connect();
	ForecastSeriesLoad(src_ip, feature, series, caller);
	SPI_finish();
	ForecastRequireHistory(series, params, src_ip, feature);
}

/*
 * SQL: ipflow.forecast(src_ip, feature, horizon, params)
 *		-> (ds, yhat, yhat_lower, yhat_upper)
 * Fits the series' model now and forecasts the next horizon timestamps of
 * its calendar.
 */
Datum
ipflow_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ForecastParams params;
	ForecastSeries series;
	ForecastModel *model;
	ForecastError error;
	int			horizon;
	int			n;
	double	   *ts,
			   *yhat,
			   *lower,
			   *upper;
	bool		ok;
	int			i;

	RequireArguments(fcinfo, 4, "src_ip, feature, horizon and params");
	horizon = PG_GETARG_INT32(2);
	ForecastCheckHorizon(horizon);
	ForecastParamsFromJsonb(PG_GETARG_JSONB_P(3), &params);
	LoadArgumentSeries(fcinfo, &params, &series);

	ts = palloc(sizeof(double) * horizon);
	yhat = palloc(sizeof(double) * horizon);
	lower = palloc(sizeof(double) * horizon);
	upper = palloc(sizeof(double) * horizon);

	model = ForecastFit(series.ts, series.y, series.n, &params, &error);
	if (model == NULL)
		ForecastErrorReport(&error, "the model could not be fitted");
	n = ForecastFuture(model, horizon, ts);
	ok = ForecastPredict(model, ts, n, yhat, lower, upper, &error);
	ForecastFree(model);
	if (!ok)
		ForecastErrorReport(&error, "the forecast failed");

	IpflowMaterializeResult(fcinfo);
	for (i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = TimestampTzGetDatum(ForecastTimestamp(ts[i]));
		values[1] = Float8GetDatum(yhat[i]);
		values[2] = Float8GetDatum(lower[i]);
		values[3] = Float8GetDatum(upper[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * SQL: ipflow.backtest(src_ip, feature, origins, horizon, params, test_fraction)
 *		-> (origins, points, mae, rmse, smape, mase, coverage, naive_mae, naive_mase)
 * Rolling-origin evaluation over the last test_fraction of the series.
 */
Datum
ipflow_backtest(PG_FUNCTION_ARGS)
{
	ForecastParams params;
	ForecastSeries series;
	ForecastAccuracy accuracy;
	ForecastError error;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false};
	int			origins;
	int			horizon;
	double		test_fraction;

	RequireArguments(fcinfo, 6, "src_ip, feature, origins, horizon, params and test_fraction");
	origins = PG_GETARG_INT32(2);
	horizon = PG_GETARG_INT32(3);
	test_fraction = PG_GETARG_FLOAT8(5);
	if (origins < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("origins must be at least 1, got %d", origins)));
	ForecastCheckHorizon(horizon);
	if (!(test_fraction > 0.0 && test_fraction < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_fraction must be between 0 and 1 (exclusive), got %g", test_fraction),
				 errhint("0.4 places the origins in the last 40%% of the series.")));
	ForecastParamsFromJsonb(PG_GETARG_JSONB_P(4), &params);
	LoadArgumentSeries(fcinfo, &params, &series);

	if (!ForecastBacktest(series.ts, series.y, series.n, &params, origins, horizon,
						  test_fraction, &accuracy, &error))
		ForecastErrorReport(&error, "the backtest failed");

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int32GetDatum(accuracy.origins);
	values[1] = Int32GetDatum(accuracy.points);
	values[2] = Float8GetDatum(accuracy.mae);
	values[3] = Float8GetDatum(accuracy.rmse);
	values[4] = Float8GetDatum(accuracy.smape);
	values[5] = Float8GetDatum(accuracy.mase);
	nulls[5] = accuracy.mase_origins == 0;	/* every scale was zero */
	values[6] = Float8GetDatum(accuracy.coverage);
	values[7] = Float8GetDatum(accuracy.naive_mae);
	values[8] = Float8GetDatum(accuracy.naive_mase);
	nulls[8] = accuracy.mase_origins == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
