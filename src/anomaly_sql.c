/*
 * anomaly_sql.c - ipflow.anomaly_scores(): the anomaly detector on any series
 *
 * The series comes as two arrays, scored point by point from a fresh state
 * exactly as the ingest worker scores a stream, so a user can try settings
 * on history before relying on alerts.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "anomaly.h"
#include "anomaly_sql.h"
#include "ipflow.h"

/* Settings from a jsonb argument; an error names the bad setting. */
void
AnomalyParamsFromJsonb(Jsonb *jb, AnomalyParams *params)
{
	AnomalyError error;
	char	   *text;

	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	if (!AnomalyParamsFromJson(text, strlen(text), params, &error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid anomaly detector settings: %s", error.message),
				 errhint("Settings are log_transform, level_rate, daily_rate, weekly_rate, scale_rate, "
						 "min_scale, alert_z, warmup, outlier_z, timing, alert_surprise and down_weight; see the README.")));
	pfree(text);
}

/* Seconds since the Unix epoch of a timestamptz. */
double
AnomalySeconds(TimestampTz ts)
{
	return (double) ts / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* The elements of a one-dimensional array argument; NULLs are refused. */
static Datum *
ArrayElements(ArrayType *array, Oid type, const char *name, int *n)
{
	Datum	   *values;
	bool	   *nulls;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			i;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(array, type, typlen, typbyval, typalign, &values, &nulls, n);
	for (i = 0; i < *n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s[%d] is NULL", name, i + 1),
					 errhint("Leave missing points out of both arrays: the detector handles gaps.")));
	pfree(nulls);
	return values;
}

PG_FUNCTION_INFO_V1(ipflow_anomaly_scores);

/* SQL: ipflow.anomaly_scores(ts, value, params) -> (ts, value, expected, lower, upper, score) */
Datum
ipflow_anomaly_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AnomalyParams params;
	AnomalyState state;
	AnomalyError error;
	Datum	   *ts,
			   *values;
	int			n,
				nvalues,
				i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ts and value must not be NULL")));
	if (PG_ARGISNULL(2))
		AnomalyParamsDefault(&params);
	else
		AnomalyParamsFromJsonb(PG_GETARG_JSONB_P(2), &params);
	ts = ArrayElements(PG_GETARG_ARRAYTYPE_P(0), TIMESTAMPTZOID, "ts", &n);
	values = ArrayElements(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, "value", &nvalues);
	if (n != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ts has %d elements but value has %d", n, nvalues),
				 errhint("Pass one timestamp per value.")));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the series is empty"),
				 errhint("Pass at least one point.")));
	if (n > ANOMALY_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the series has %d points, more than %d", n, ANOMALY_MAX_POINTS)));
	for (i = 0; i < n; i++)
	{
		TimestampTz t = DatumGetTimestampTz(ts[i]);

		if (TIMESTAMP_NOT_FINITE(t))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ts[%d] is infinite", i + 1)));
		if (i > 0 && t <= DatumGetTimestampTz(ts[i - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ts[%d] is %s ts[%d]", i + 1,
							t == DatumGetTimestampTz(ts[i - 1]) ? "the same as" : "before", i),
					 errhint("Timestamps must be strictly increasing: sort the points and merge duplicates.")));
	}

	IpflowMaterializeResult(fcinfo);
	AnomalyStateInit(&state);
	for (i = 0; i < n; i++)
	{
		AnomalyResult r;
		Datum		row[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!AnomalyStep(&state, &params, AnomalySeconds(DatumGetTimestampTz(ts[i])),
						 DatumGetFloat8(values[i]), &r, &error))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("point %d cannot be scored: %s", i + 1, error.message)));
		row[0] = ts[i];
		row[1] = values[i];
		row[2] = Float8GetDatum(r.expected);
		row[3] = Float8GetDatum(r.lower);
		row[4] = Float8GetDatum(r.upper);
		row[5] = Float8GetDatum(r.score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
