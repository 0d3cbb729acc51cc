/*
 * gbt_train_sql.c - ipflow.gbt_train(): the original Spark ML job as SQL
 *
 * Reads the training rows of a query through SPI, builds the pipeline's
 * stages (one-hot categories, lags, numeric columns), splits the rows,
 * trains the booster of gbt.c on the training part, evaluates RMSE, MAE
 * and R² on both parts, and stores the model with its stages, settings and
 * metrics in ipflow.gbt_models, replacing a model of the same name in the
 * caller's transaction.
 *
 * As in the Spark job, the lag runs over every row before the split (the
 * window function came first) and the categories are learned from the
 * training rows only (the fitted StringIndexer).  The core allocates with
 * malloc; what it returns is freed by a memory-context callback, so an
 * error anywhere leaks nothing.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "gbt_sql.h"

/* Frees what the core malloc'd when the memory context goes away. */
typedef struct CoreObjects
{
	MemoryContextCallback callback;
	GbtModel   *model;
	GbtPipeline *pipeline;		/* until the model owns it */
} CoreObjects;

static void
CoreObjectsFree(void *arg)
{
	CoreObjects *objs = arg;

	GbtModelFree(objs->model);
	GbtPipelineFree(objs->pipeline);
	objs->model = NULL;
	objs->pipeline = NULL;
}

/* A holder in the current memory context. */
static CoreObjects *
CoreObjectsNew(void)
{
	CoreObjects *objs = palloc0(sizeof(CoreObjects));

	objs->callback.func = CoreObjectsFree;
	objs->callback.arg = objs;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &objs->callback);
	return objs;
}

/* Frees a model from the core when the current memory context goes away. */
void
GbtTrackModel(GbtModel *model)
{
	CoreObjectsNew()->model = model;
}

/* Model names: non-empty and bounded, as the table's check says. */
void
GbtCheckName(const char *name)
{
	if (name[0] == '\0' || strlen(name) > GBT_MAX_MODEL_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a model name must have 1 to %d bytes, not %zu", GBT_MAX_MODEL_NAME, strlen(name)),
				 errhint("For example 'unq_dst_ip'.")));
}

/* The model's JSON (gbt_json.c) in palloc'd memory. */
char *
GbtModelJsonText(const GbtModel *model)
{
	size_t		len;
	char	   *json = GbtModelToJson(model, &len);
	char	   *copy;

	if (json == NULL)
	{
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory writing the model")));
		return NULL;
	}
	copy = palloc(len + 1);
	memcpy(copy, json, len + 1);
	free(json);
	return copy;
}

/* {"feature": importance, ...}, for SQL to read. */
static char *
ImportanceJson(const GbtModel *model)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < model->n_features; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, model->feature_names[i]);
		appendStringInfo(&buf, ": %s", float8out_internal(model->importance[i]));
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* Inserts or replaces the model's row; needs SPI. */
void
GbtStoreModel(const char *name, const GbtModel *model, const char *params_json,
			  const char *metrics_json, int64 rows)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[6];
	char		nulls[7] = "      ";

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(GbtModelJsonText(model));
	values[2] = CStringGetTextDatum(params_json);
	values[3] = metrics_json ? CStringGetTextDatum(metrics_json) : (Datum) 0;
	nulls[3] = metrics_json ? ' ' : 'n';
	values[4] = CStringGetTextDatum(ImportanceJson(model));
	values[5] = Int64GetDatum(rows);
	nulls[5] = rows >= 0 ? ' ' : 'n';
	if (SPI_execute_with_args("INSERT INTO ipflow.gbt_models AS g "
							  "(name, model, stages, params, metrics, feature_importance, rows, created_at) "
							  "VALUES ($1, $2::jsonb, NULLIF($2::jsonb -> 'pipeline', 'null'), $3::jsonb, "
							  "$4::jsonb, $5::jsonb, $6, now()) "
							  "ON CONFLICT (name) DO UPDATE SET model = EXCLUDED.model, "
							  "stages = EXCLUDED.stages, params = EXCLUDED.params, "
							  "metrics = EXCLUDED.metrics, feature_importance = EXCLUDED.feature_importance, "
							  "rows = EXCLUDED.rows, created_at = EXCLUDED.created_at",
							  6, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store GBT model \"%s\"", name);
}

/* How well predictions fit labels. */
typedef struct Fit
{
	size_t		rows;
	double		rmse;
	double		mae;
	double		r2;				/* NaN when the labels are all equal */
} Fit;

static Fit
Evaluate(const double *y, const double *pred, size_t n)
{
	Fit			f = {n, NAN, NAN, NAN};
	double		se = 0.0,
				ae = 0.0,
				mean = 0.0,
				ss = 0.0;
	size_t		i;

	if (n == 0)
		return f;
	for (i = 0; i < n; i++)
	{
		double		d = pred[i] - y[i];

		se += d * d;
		ae += fabs(d);
		mean += y[i];
	}
	mean /= (double) n;
	for (i = 0; i < n; i++)
		ss += (y[i] - mean) * (y[i] - mean);
	f.rmse = sqrt(se / (double) n);
	f.mae = ae / (double) n;
	if (ss > 0.0)
		f.r2 = 1.0 - se / ss;
	return f;
}

/* A number for JSON: NaN as null. */
static const char *
JsonNumber(double v)
{
	return isnan(v) ? "null" : float8out_internal(v);
}

static void
AppendFit(StringInfo buf, const char *key, const Fit *f)
{
	appendStringInfo(buf, "\"%s\": ", key);
	if (f->rows == 0)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfo(buf, "{\"rows\": %zu, \"rmse\": %s, \"mae\": %s, \"r2\": %s}",
					 f->rows, JsonNumber(f->rmse), JsonNumber(f->mae), JsonNumber(f->r2));
}

/* Refuses a NULL argument, naming it. */
static void
RequireArg(FunctionCallInfo fcinfo, int arg, const char *name, const char *hint)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("%s", hint)));
}

/* Per row, what feeds one stage: numbers (columns, lags) or texts (one-hot). */
typedef struct StageSource
{
	const double *numbers;
	char	  **texts;
} StageSource;

typedef struct TimedRow
{
	int64		time;
	size_t		row;
} TimedRow;

static int
CompareTimedRows(const void *a, const void *b)
{
	const TimedRow *x = a;
	const TimedRow *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Marks test rows among the usable ones (label not NULL). */
static void
Split(const GbtTrainOptions *o, GbtInput *in, GbtColumn *label, GbtColumn *split_col, bool *test)
{
	size_t		n = in->n_rows;
	size_t		i;

	memset(test, 0, n * sizeof(bool));
	switch (o->split)
	{
		case GBT_SPLIT_RANDOM:
			for (i = 0; i < n; i++)
				test[i] = (double) (in->hashes[i] >> 11) * (1.0 / 9007199254740992.0) < o->test_fraction;
			break;
		case GBT_SPLIT_CHRONOLOGICAL:
			{
				TimedRow   *rows = palloc_extended(Max(n, 1) * sizeof(TimedRow), MCXT_ALLOC_HUGE);
				size_t		n_usable = 0;
				size_t		n_test;

				for (i = 0; i < n; i++)
					if (!isnan(label->numbers[i]))
					{
						rows[n_usable].time = split_col->times[i];
						rows[n_usable].row = i;
						n_usable++;
					}
				qsort(rows, n_usable, sizeof(TimedRow), CompareTimedRows);
				n_test = (size_t) floor(o->test_fraction * (double) n_usable + 0.5);
				for (i = n_usable - n_test; i < n_usable; i++)
					test[rows[i].row] = true;
				pfree(rows);
				break;
			}
		case GBT_SPLIT_COLUMN:
			for (i = 0; i < n; i++)
			{
				if (split_col->nulls[i] && !isnan(label->numbers[i]))
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("column \"%s\" (split column) is NULL in row %zu of source_query",
									split_col->name, i + 1),
							 errhint("It must be true for test rows and false for training rows.")));
				test[i] = !split_col->nulls[i] && DatumGetBool(split_col->datums[i]);
			}
			break;
	}
}

/* The training matrix, for ordering its rows. */
typedef struct TrainRows
{
	const double *x;
	const double *y;
	int			width;
} TrainRows;

/* Orders rows by their features (NaN last), then label: a canonical order. */
static int
CompareTrainRows(const void *a, const void *b, void *arg)
{
	const TrainRows *t = arg;
	size_t		ia = *(const size_t *) a;
	size_t		ib = *(const size_t *) b;
	const double *ra = t->x + ia * t->width;
	const double *rb = t->x + ib * t->width;
	int			f;

	for (f = 0; f < t->width; f++)
	{
		if (ra[f] == rb[f] || (isnan(ra[f]) && isnan(rb[f])))
			continue;
		if (isnan(ra[f]))
			return 1;
		if (isnan(rb[f]))
			return -1;
		return ra[f] < rb[f] ? -1 : 1;
	}
	if (t->y[ia] != t->y[ib])
		return t->y[ia] < t->y[ib] ? -1 : 1;
	return 0;
}

/*
 * Puts the training rows in a canonical order, in place (following the
 * permutation's cycles with one spare row).  The booster sums gradients in
 * row order, and on integer data many splits gain exactly as much as
 * another, so rounding decides between them: without this, the same rows
 * returned in another order (another plan, a parallel scan) could give
 * other trees.
 */
static void
SortTrainRows(double *x, double *y, size_t n, int width)
{
	TrainRows	t = {x, y, width};
	size_t	   *order = palloc_extended(Max(n, 1) * sizeof(size_t), MCXT_ALLOC_HUGE);
	bool	   *done = palloc_extended(Max(n, 1) * sizeof(bool), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	double	   *spare = palloc(width * sizeof(double));
	size_t		i;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(size_t), CompareTrainRows, &t);
	/* row k of the result is row order[k] of the input */
	for (i = 0; i < n; i++)
	{
		size_t		k = i;
		double		spare_y;

		if (done[i] || order[i] == i)
			continue;
		memcpy(spare, x + i * width, width * sizeof(double));
		spare_y = y[i];
		for (;;)
		{
			size_t		next = order[k];

			done[k] = true;
			if (next == i)
			{
				memcpy(x + k * width, spare, width * sizeof(double));
				y[k] = spare_y;
				break;
			}
			memcpy(x + k * width, x + next * width, width * sizeof(double));
			y[k] = y[next];
			k = next;
		}
	}
	pfree(order);
	pfree(done);
	pfree(spare);
}

/* Turns an error of the core into an ERROR. */
static void
CoreFailed(const char *what, const char *error)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s", what, error)));
}

PG_FUNCTION_INFO_V1(ipflow_gbt_train);

/* SQL: trains, evaluates and stores a model; returns its metrics. */
Datum
ipflow_gbt_train(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *name;
	char	   *query;
	char	   *label_name;
	Jsonb	   *params;
	GbtTrainOptions o;
	GbtInput   *in;
	GbtColumn  *label;
	GbtColumn  *split_col = NULL;
	CoreObjects *objs;
	StageSource *sources;
	GbtColumn **stage_cols;
	GbtStageValue *stage_values;
	char		error[GBT_ERROR_MAX];
	char	  **feature_names;
	ListCell   *lc;
	bool	   *test;
	size_t		n,
				n_usable = 0,
				n_train = 0,
				n_test = 0,
				i,
				k_train = 0,
				k_test = 0;
	int			width,
				n_stages,
				s;
	double	   *x_train,
			   *y_train,
			   *x_test,
			   *y_test,
			   *pred;
	double		bytes;
	Fit			fit_train,
				fit_test;
	instr_time	t_start,
				t_train0,
				t_train;
	StringInfoData metrics;
	char	   *params_json;
	Datum		result;

	INSTR_TIME_SET_CURRENT(t_start);
	RequireArg(fcinfo, 0, "name", "Name the model, for example 'unq_dst_ip'.");
	RequireArg(fcinfo, 1, "source_query", "Pass the query of the training rows, for example 'SELECT * FROM ipflow.events'.");
	RequireArg(fcinfo, 2, "label", "Name the column to predict, for example 'unq_dst_ip'.");
	RequireArg(fcinfo, 3, "params", "Pass '{}' for the defaults.");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	label_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	params = PG_GETARG_JSONB_P(3);
	GbtCheckName(name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	in = GbtInputOpen(query, "source_query", CurrentMemoryContext);
	label = GbtInputAdd(in, label_name, GBT_COLUMN_NUMBER, "the label");
	GbtOptionsParse(params, label_name, in, &o);

	/* the columns the stages read, in the stages' order (lags: NULL) */
	n_stages = list_length(o.categorical) + list_length(o.lags) + list_length(o.features);
	stage_cols = palloc0(Max(n_stages, 1) * sizeof(GbtColumn *));
	sources = palloc0(Max(n_stages, 1) * sizeof(StageSource));
	s = 0;
	foreach(lc, o.categorical)
		stage_cols[s++] = GbtInputAdd(in, lfirst(lc), GBT_COLUMN_TEXT, "categorical");
	foreach(lc, o.lags)
	{
		GbtLagOption *lag = lfirst(lc);

		GbtInputAdd(in, lag->input, GBT_COLUMN_NUMBER, "lag input");
		GbtInputAdd(in, lag->partition_by, GBT_COLUMN_TEXT, "lag partition_by");
		GbtInputAdd(in, lag->order_by, GBT_COLUMN_TIME, "lag order_by");
		s++;
	}
	foreach(lc, o.features)
		stage_cols[s++] = GbtInputAdd(in, lfirst(lc), GBT_COLUMN_NUMBER, "feature");
	if (o.split == GBT_SPLIT_RANDOM)
		GbtInputHashKey(in, o.split_key, o.split_seed);
	else if (o.split == GBT_SPLIT_CHRONOLOGICAL)
		split_col = GbtInputAdd(in, o.split_column, GBT_COLUMN_TIME, "split order_by");
	else
		split_col = GbtInputAdd(in, o.split_column, GBT_COLUMN_DATUM, "split column");

	GbtInputRead(in);
	GbtInputClose(in);
	n = in->n_rows;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source_query returned no rows: there is nothing to train on"),
				 errhint("Check the query's WHERE clause, or load data first.")));

	/* what feeds each stage, now that the rows are read */
	s = 0;
	foreach(lc, o.categorical)
	{
		sources[s].texts = stage_cols[s]->texts;
		s++;
	}
	foreach(lc, o.lags)
	{
		GbtLagOption *lag = lfirst(lc);
		double	   *lagged = palloc_extended(n * sizeof(double), MCXT_ALLOC_HUGE);

		/* asking again for a column gives the one already read */
		GbtComputeLag(GbtInputAdd(in, lag->partition_by, GBT_COLUMN_TEXT, "lag partition_by"),
					  GbtInputAdd(in, lag->order_by, GBT_COLUMN_TIME, "lag order_by"),
					  GbtInputAdd(in, lag->input, GBT_COLUMN_NUMBER, "lag input"),
					  n, lagged);
		sources[s++].numbers = lagged;
	}
	foreach(lc, o.features)
	{
		sources[s].numbers = stage_cols[s]->numbers;
		s++;
	}

	for (i = 0; i < n; i++)
	{
		if (isnan(label->numbers[i]))
			continue;
		if (fabs(label->numbers[i]) > GBT_MAX_ABS_LABEL)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the label \"%s\" is %g in row %zu; labels must be at most %g in magnitude",
							label_name, label->numbers[i], i + 1, GBT_MAX_ABS_LABEL)));
		n_usable++;
	}
	if (n_usable == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the label \"%s\" is NULL in every one of the %zu rows: there is nothing to train on",
						label_name, n),
				 errhint("Rows with a NULL label are skipped; filter them in the query or choose another label.")));

	test = palloc_extended(n * sizeof(bool), MCXT_ALLOC_HUGE);
	Split(&o, in, label, split_col, test);
	for (i = 0; i < n; i++)
		if (!isnan(label->numbers[i]))
		{
			if (test[i])
				n_test++;
			else
				n_train++;
		}
	if (n_train == 0 || (n_test == 0 && (o.split == GBT_SPLIT_COLUMN || o.test_fraction > 0.0)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too few rows for the split: of the %zu rows with a label, %zu would train and %zu would test",
						n_usable, n_train, n_test),
				 errhint("Train on more rows, change params.split, or set split.test_fraction to 0 to train on every row.")));

	/* the pipeline: one-hot stages, lags, columns */
	objs = CoreObjectsNew();
	objs->pipeline = GbtPipelineNew(label_name, error);
	if (objs->pipeline == NULL)
		CoreFailed("invalid pipeline", error);
	{
		const char **train_texts = palloc_extended(n_train * sizeof(char *), MCXT_ALLOC_HUGE);

		s = 0;
		foreach(lc, o.categorical)
		{
			size_t		k = 0;

			for (i = 0; i < n; i++)
				if (!test[i] && !isnan(label->numbers[i]))
					train_texts[k++] = sources[s].texts[i];
			if (!GbtPipelineFitOneHot(objs->pipeline, lfirst(lc), train_texts, k, o.drop_last, error))
				CoreFailed("invalid categorical stage", error);
			s++;
		}
		pfree(train_texts);
	}
	foreach(lc, o.lags)
	{
		GbtLagOption *lag = lfirst(lc);

		if (!GbtPipelineAddLag(objs->pipeline, lag->input, lag->output, lag->partition_by,
							   lag->order_by, error))
			CoreFailed("invalid lag stage", error);
	}
	foreach(lc, o.features)
		if (!GbtPipelineAddColumn(objs->pipeline, lfirst(lc), error))
			CoreFailed("invalid feature", error);
	width = GbtPipelineWidth(objs->pipeline);
	if (width == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there are no features to train on"),
				 errhint("List numeric columns in params.features, or add categorical or lag stages.")));
	if (width > GBT_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the pipeline makes %d features; at most %d are allowed", width, GBT_MAX_FEATURES),
				 errhint("A one-hot column makes one feature per value: leave high-cardinality columns out of params.categorical.")));
	bytes = (double) n_usable * width * sizeof(double);
	if (bytes > (double) maintenance_work_mem * 1024.0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the feature matrix of %zu rows by %d features needs %.0f MB, more than maintenance_work_mem (%d MB)",
						n_usable, width, ceil(bytes / 1048576.0), maintenance_work_mem / 1024),
				 errhint("Raise maintenance_work_mem for this session (SET maintenance_work_mem = '1GB'), train on fewer rows, or use fewer one-hot columns.")));

	/* assemble the rows */
	x_train = palloc_extended(n_train * width * sizeof(double), MCXT_ALLOC_HUGE);
	y_train = palloc_extended(n_train * sizeof(double), MCXT_ALLOC_HUGE);
	x_test = palloc_extended(Max(n_test, 1) * width * sizeof(double), MCXT_ALLOC_HUGE);
	y_test = palloc_extended(Max(n_test, 1) * sizeof(double), MCXT_ALLOC_HUGE);
	stage_values = palloc0(Max(n_stages, 1) * sizeof(GbtStageValue));
	for (i = 0; i < n; i++)
	{
		double	   *row;

		if (isnan(label->numbers[i]))
			continue;
		for (s = 0; s < n_stages; s++)
		{
			stage_values[s].number = sources[s].numbers ? sources[s].numbers[i] : NAN;
			stage_values[s].text = sources[s].texts ? sources[s].texts[i] : NULL;
		}
		if (test[i])
		{
			row = x_test + k_test * width;
			y_test[k_test++] = label->numbers[i];
		}
		else
		{
			row = x_train + k_train * width;
			y_train[k_train++] = label->numbers[i];
		}
		GbtPipelineAssemble(objs->pipeline, stage_values, row);
	}

	/* train */
	SortTrainRows(x_train, y_train, n_train, width);
	feature_names = GbtPipelineFeatureNames(objs->pipeline);
	if (feature_names == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	INSTR_TIME_SET_CURRENT(t_train0);
	objs->model = GbtTrain(x_train, y_train, n_train, width, (const char *const *) feature_names,
						   &o.params, error);
	INSTR_TIME_SET_CURRENT(t_train);
	INSTR_TIME_SUBTRACT(t_train, t_train0);
	GbtNamesFree(feature_names, width);
	if (objs->model == NULL)
		CoreFailed("training failed", error);
	if (!GbtModelSetPipeline(objs->model, objs->pipeline, error))
		CoreFailed("invalid pipeline", error);
	objs->pipeline = NULL;		/* the model owns it now */

	/* evaluate */
	pred = palloc_extended(Max(n_train, n_test) * sizeof(double), MCXT_ALLOC_HUGE);
	GbtPredictRows(objs->model, x_train, n_train, pred);
	fit_train = Evaluate(y_train, pred, n_train);
	GbtPredictRows(objs->model, x_test, n_test, pred);
	fit_test = Evaluate(y_test, pred, n_test);

	initStringInfo(&metrics);
	appendStringInfo(&metrics, "{\"label\": ");
	escape_json(&metrics, label_name);
	appendStringInfo(&metrics, ", \"rows\": %zu, \"skipped_rows\": %zu, ", n_usable, n - n_usable);
	AppendFit(&metrics, "train", &fit_train);
	appendStringInfoString(&metrics, ", ");
	AppendFit(&metrics, "test", &fit_test);
	appendStringInfo(&metrics, ", \"features\": %d, \"trees\": %d, \"feature_importance\": ",
					 width, objs->model->n_trees);
	{
		int			f;

		appendStringInfoChar(&metrics, '{');
		for (f = 0; f < width; f++)
		{
			if (f > 0)
				appendStringInfoString(&metrics, ", ");
			escape_json(&metrics, objs->model->feature_names[f]);
			appendStringInfo(&metrics, ": %s", float8out_internal(objs->model->importance[f]));
		}
		appendStringInfoChar(&metrics, '}');
	}
	appendStringInfo(&metrics, ", \"training_ms\": %.1f", INSTR_TIME_GET_MILLISEC(t_train));

	params_json = GbtOptionsToJson(&o);
	{
		instr_time	t_total;

		INSTR_TIME_SET_CURRENT(t_total);
		INSTR_TIME_SUBTRACT(t_total, t_start);
		appendStringInfo(&metrics, ", \"total_ms\": %.1f}", INSTR_TIME_GET_MILLISEC(t_total));
	}
	GbtStoreModel(name, objs->model, params_json, metrics.data, (int64) n_usable);

	MemoryContextSwitchTo(caller);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics.data));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
