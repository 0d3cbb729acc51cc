/*
 * gbt_predict_sql.c - ipflow.gbt_predict(): one row as jsonb, or a query
 *
 * Decoding a model (JSON to trees) costs far more than predicting a row,
 * so each backend keeps the models it decoded, by name.  Every call looks
 * the model's row up in ipflow.gbt_models through its primary key with the
 * caller's snapshot (a few microseconds, and what the caller may see is
 * what it gets); the cached trees are used while the row is the same tuple
 * version (same xmin, ctid and created_at), and decoded again once
 * gbt_train or gbt_import replaced it.  A set-based call pins its model, so
 * a nested call that finds a newer version cannot free it under it.
 *
 * The set-based form reads the whole query (the lag needs every row of an
 * entity), then assembles and predicts the rows in blocks.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "gbt_sql.h"
#include "ipflow.h"

/* Models kept decoded per backend; the least recently used goes first. */
#define GBT_CACHE_MAX 16

typedef struct CacheEntry
{
	struct CacheEntry *next;
	char	   *name;
	TransactionId xmin;			/* the row version it was decoded from */
	ItemPointerData tid;
	TimestampTz created_at;
	GbtModel   *model;
	int			pins;
	uint64		last_used;
} CacheEntry;

static CacheEntry *cache = NULL;	/* in TopMemoryContext */
static CacheEntry *retired = NULL;	/* replaced while pinned */
static uint64 use_counter = 0;

/* Frees an entry and its model. */
static void
EntryFree(CacheEntry *e)
{
	GbtModelFree(e->model);
	pfree(e->name);
	pfree(e);
}

/* Takes an entry out of the cache: freed now, or when its last pin goes. */
static void
EntryRetire(CacheEntry *e)
{
	CacheEntry **p;

	for (p = &cache; *p; p = &(*p)->next)
		if (*p == e)
		{
			*p = e->next;
			break;
		}
	if (e->pins > 0)
	{
		e->next = retired;
		retired = e;
	}
	else
		EntryFree(e);
}

/* Releases a pin taken by GbtModelLookup(name, true). */
void
GbtModelUnpin(GbtModel *model)
{
	CacheEntry **p;
	CacheEntry *e;

	for (e = cache; e; e = e->next)
		if (e->model == model && e->pins > 0)
		{
			e->pins--;
			return;
		}
	for (p = &retired; *p; p = &(*p)->next)
		if ((*p)->model == model)
		{
			e = *p;
			if (--e->pins == 0)
			{
				*p = e->next;
				EntryFree(e);
			}
			return;
		}
}

/* An unknown model: the message says how to get one. */
static void
NoSuchModel(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("GBT model \"%s\" does not exist", name),
			 errhint("Train it with ipflow.gbt_train() or import it with ipflow.gbt_import(); "
					 "SELECT name FROM ipflow.gbt_models lists the models.")));
}

/*
 * The model stored under name as the caller's snapshot sees it, decoded
 * (from the cache when the row has not changed).  With pin, it stays valid
 * until GbtModelUnpin.
 */
GbtModel *
GbtModelLookup(const char *name, bool pin)
{
	Oid			nsp = get_namespace_oid("ipflow", false);
	Oid			relid = get_relname_relid("gbt_models", nsp);
	Relation	rel;
	TupleDesc	desc;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	model_att,
				created_att;
	TransactionId xmin;
	ItemPointerData tid;
	TimestampTz created_at;
	bool		isnull;
	Jsonb	   *jb = NULL;
	CacheEntry *e;
	GbtModel   *model;
	char		error[GBT_ERROR_MAX];
	char	   *text;

	if (!OidIsValid(relid))
		elog(ERROR, "table ipflow.gbt_models does not exist");
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table gbt_models"),
				 errhint("Predicting needs SELECT on ipflow.gbt_models, which ipflow_reader has.")));

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	model_att = SPI_fnumber(desc, "model");
	created_att = SPI_fnumber(desc, "created_at");
	if (model_att <= 0 || created_att <= 0)
		elog(ERROR, "ipflow.gbt_models lacks its columns");
	/* the primary key's collation: the index is ordered by it */
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   TupleDescAttr(desc, 0)->attcollation, F_TEXTEQ,
						   CStringGetTextDatum(name));
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(),
							  1, &key);
	tuple = systable_getnext(scan);
	if (tuple == NULL)
	{
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		NoSuchModel(name);
	}
	xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	tid = tuple->t_self;
	created_at = DatumGetTimestampTz(heap_getattr(tuple, created_att, desc, &isnull));

	for (e = cache; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			break;
	if (e == NULL || e->xmin != xmin || !ItemPointerEquals(&e->tid, &tid) ||
		e->created_at != created_at)
	{
		Datum		d = heap_getattr(tuple, model_att, desc, &isnull);

		if (!isnull)
			jb = DatumGetJsonbPCopy(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (jb != NULL)
	{
		/* decode first: an invalid model leaves the cache as it was */
		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
		model = GbtModelFromJson(text, strlen(text), error);
		pfree(text);
		pfree(jb);
		if (model == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("stored GBT model \"%s\" is invalid: %s", name, error),
					 errhint("Train it again with ipflow.gbt_train(), or import it again.")));
		if (e != NULL)
			EntryRetire(e);
		else
		{
			int			count = 0;
			CacheEntry *oldest = NULL;
			CacheEntry *c;

			for (c = cache; c; c = c->next)
			{
				count++;
				if (c->pins == 0 && (oldest == NULL || c->last_used < oldest->last_used))
					oldest = c;
			}
			if (count >= GBT_CACHE_MAX && oldest != NULL)
				EntryRetire(oldest);
		}
		e = MemoryContextAllocZero(TopMemoryContext, sizeof(CacheEntry));
		e->name = MemoryContextStrdup(TopMemoryContext, name);
		e->xmin = xmin;
		e->tid = tid;
		e->created_at = created_at;
		e->model = model;
		e->next = cache;
		cache = e;
	}
	else if (e == NULL)
	{
		NoSuchModel(name);		/* model column NULL: not possible with NOT NULL */
		return NULL;
	}
	e->last_used = ++use_counter;
	if (pin)
		e->pins++;
	return e->model;
}

/* How many values a model takes, and what each is (pipeline or plain). */
static int
StageCount(const GbtModel *m)
{
	return m->pipeline ? m->pipeline->n_stages : m->n_features;
}

/* The key of stage s in a row: a column, a lag's output, a one-hot input. */
static const char *
StageKey(const GbtModel *m, int s)
{
	const GbtStage *stage;

	if (m->pipeline == NULL)
		return m->feature_names[s];
	stage = &m->pipeline->stages[s];
	return stage->kind == GBT_STAGE_LAG ? stage->output : stage->input;
}

static bool
StageIsText(const GbtModel *m, int s)
{
	return m->pipeline != NULL && m->pipeline->stages[s].kind == GBT_STAGE_ONE_HOT;
}

/* One row of features from the stage values. */
static void
Assemble(const GbtModel *m, const GbtStageValue *values, double *row)
{
	int			i;

	if (m->pipeline)
		GbtPipelineAssemble(m->pipeline, values, row);
	else
		for (i = 0; i < m->n_features; i++)
			row[i] = values[i].number;
}

/* Refuses a wrongly typed value of the row, naming its key. */
static void
BadRowValue(const char *key, const char *want, const char *got)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("row key \"%s\" must be %s, not %s", key, want, got),
			 errhint("Pass the row as a JSON object of column values, for example to_jsonb(e) of a row e of the training table.")));
}

/* A stage's value from the row's key: numbers, numeric strings, null. */
static void
RowValue(JsonbContainer *row, const char *key, bool text, GbtStageValue *out)
{
	JsonbValue	v;

	out->number = NAN;
	out->text = NULL;
	if (getKeyJsonValueFromContainer(row, key, strlen(key), &v) == NULL || v.type == jbvNull)
		return;
	if (text)
	{
		if (v.type == jbvString)
			out->text = pnstrdup(v.val.string.val, v.val.string.len);
		else if (v.type == jbvNumeric)
			out->text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		else
			BadRowValue(key, "a string, a number or null", GbtJsonbTypeName(&v));
		return;
	}
	if (v.type == jbvNumeric)
		out->number = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
														 NumericGetDatum(v.val.numeric)));
	else if (v.type == jbvString)
	{
		char	   *s = pnstrdup(v.val.string.val, v.val.string.len);
		char	   *end;

		errno = 0;
		out->number = strtod(s, &end);
		if (s[0] == '\0' || *end != '\0' || isnan(out->number))
			BadRowValue(key, "a number or null", psprintf("\"%s\"", s));
	}
	else
		BadRowValue(key, "a number or null", GbtJsonbTypeName(&v));
	if (isinf(out->number))
		BadRowValue(key, "a finite number", "infinite or out of range");
}

/* Refuses a NULL argument. */
static void
RequireArg(FunctionCallInfo fcinfo, int arg, const char *name, const char *hint)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("%s", hint)));
}

PG_FUNCTION_INFO_V1(ipflow_gbt_predict_row);

/* SQL: the prediction for one row given as a JSON object of inputs. */
Datum
ipflow_gbt_predict_row(PG_FUNCTION_ARGS)
{
	char	   *name;
	Jsonb	   *row;
	GbtModel   *model;
	GbtStageValue *values;
	double	   *features;
	int			n,
				s;
	double		prediction;

	RequireArg(fcinfo, 0, "name", "Name a model of ipflow.gbt_models.");
	RequireArg(fcinfo, 1, "row", "Pass the row's inputs as a JSON object, for example to_jsonb(e); '{}' predicts with every input missing.");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	row = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_OBJECT(row) || JB_ROOT_IS_SCALAR(row))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("row must be a JSON object of input values, not %s",
						JB_ROOT_IS_SCALAR(row) ? "a scalar" : "an array"),
				 errhint("For example '{\"allow\": 17, \"drop\": 1, \"src_ip\": \"46.39.79.251\"}'::jsonb, or to_jsonb(e).")));
	model = GbtModelLookup(name, false);
	n = StageCount(model);
	values = palloc(Max(n, 1) * sizeof(GbtStageValue));
	features = palloc(model->n_features * sizeof(double));
	for (s = 0; s < n; s++)
		RowValue(&row->root, StageKey(model, s), StageIsText(model, s), &values[s]);
	Assemble(model, values, features);
	prediction = GbtPredictRow(model, features);
	pfree(values);
	pfree(features);
	PG_RETURN_FLOAT8(prediction);
}

/* Unpins the set-based call's model when its memory goes (also on error). */
typedef struct PinRelease
{
	MemoryContextCallback callback;
	GbtModel   *model;
} PinRelease;

static void
PinReleaseCallback(void *arg)
{
	GbtModelUnpin(((PinRelease *) arg)->model);
}

/* The query, wrapped to add a jsonb column of the key columns. */
static char *
WrapWithKey(const char *query, List *key_columns)
{
	StringInfoData buf;
	ListCell   *lc;
	size_t		len = strlen(query);

	/* a trailing semicolon would end the subquery */
	while (len > 0 && (query[len - 1] == ';' || query[len - 1] == ' ' ||
					   query[len - 1] == '\n' || query[len - 1] == '\t' || query[len - 1] == '\r'))
		len--;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT q.*, jsonb_build_object(");
	foreach(lc, key_columns)
	{
		const char *col = lfirst(lc);

		if (lc != list_head(key_columns))
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s, q.%s", quote_literal_cstr(col), quote_identifier(col));
	}
	appendStringInfo(&buf, ") AS \"?ipflow_gbt_key?\" FROM (\n%.*s\n) AS q", (int) len, query);
	return buf.data;
}

PG_FUNCTION_INFO_V1(ipflow_gbt_predict_query);

/*
 * SQL: predicts every row of a query in one call, applying every stage
 * (lags over the query's rows); returns each row's position, key, label
 * (when the query has it) and prediction.
 */
Datum
ipflow_gbt_predict_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext caller = CurrentMemoryContext;
	char	   *name;
	char	   *query;
	List	   *key_columns = NIL;
	GbtModel   *model;
	PinRelease *release;
	GbtInput   *in;
	GbtColumn **cols;			/* per stage: column, lag output or one-hot input */
	double	  **lagged;			/* per stage: lag computed here, or NULL */
	GbtColumn  *label = NULL;
	GbtColumn  *key = NULL;
	GbtStageValue *values;
	double	   *block;
	double	   *out;
	int			n_stages,
				width,
				s;
	size_t		n,
				start,
				i;

	RequireArg(fcinfo, 0, "name", "Name a model of ipflow.gbt_models.");
	RequireArg(fcinfo, 1, "source_query", "Pass the query of the rows to predict, for example 'SELECT * FROM ipflow.events'.");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	GbtCheckQueryText(query, "source_query");
	IpflowMaterializeResult(fcinfo);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	model = GbtModelLookup(name, true);
	release = palloc0(sizeof(PinRelease));
	release->model = model;
	release->callback.func = PinReleaseCallback;
	release->callback.arg = release;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &release->callback);
	n_stages = StageCount(model);
	width = model->n_features;

	/* key columns: as given, else the lags' entity and time */
	if (!PG_ARGISNULL(2))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
		for (s = 0; s < nelems; s++)
		{
			if (nulls[s])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("key_columns must not contain NULL")));
			key_columns = lappend(key_columns, TextDatumGetCString(elems[s]));
		}
	}
	else if (model->pipeline)
	{
		for (s = 0; s < n_stages; s++)
		{
			const GbtStage *st = &model->pipeline->stages[s];

			if (st->kind != GBT_STAGE_LAG)
				continue;
			if (!list_member(key_columns, makeString(st->partition_by)))
				key_columns = lappend(key_columns, makeString(st->partition_by));
			if (!list_member(key_columns, makeString(st->order_by)))
				key_columns = lappend(key_columns, makeString(st->order_by));
		}
		{
			List	   *plain = NIL;
			ListCell   *lc;

			foreach(lc, key_columns)
				plain = lappend(plain, strVal(lfirst(lc)));
			key_columns = plain;
		}
	}

	in = GbtInputOpen(query, "source_query", CurrentMemoryContext);
	if (key_columns != NIL)
	{
		List	   *present = NIL;
		ListCell   *lc;

		/* named columns must be there; default ones are left out if not */
		foreach(lc, key_columns)
		{
			if (GbtInputFind(in, lfirst(lc)) > 0)
				present = lappend(present, lfirst(lc));
			else if (!PG_ARGISNULL(2))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" (key) is not in the result of source_query", (char *) lfirst(lc)),
						 errdetail("The query returns %s.", GbtInputColumnList(in)),
						 errhint("Name columns of the query in key_columns, or pass '{}' for no key.")));
		}
		if (present != NIL)
		{
			GbtInputClose(in);
			in = GbtInputOpen(WrapWithKey(query, present), "source_query", CurrentMemoryContext);
			key = GbtInputAdd(in, "?ipflow_gbt_key?", GBT_COLUMN_DATUM, "key");
		}
	}

	cols = palloc0(Max(n_stages, 1) * sizeof(GbtColumn *));
	lagged = palloc0(Max(n_stages, 1) * sizeof(double *));
	for (s = 0; s < n_stages; s++)
	{
		const GbtStage *st = model->pipeline ? &model->pipeline->stages[s] : NULL;

		if (st == NULL || st->kind == GBT_STAGE_COLUMN)
			cols[s] = GbtInputAdd(in, StageKey(model, s), GBT_COLUMN_NUMBER, "feature");
		else if (st->kind == GBT_STAGE_ONE_HOT)
			cols[s] = GbtInputAdd(in, st->input, GBT_COLUMN_TEXT, "categorical");
		else if (GbtInputFind(in, st->output) > 0)
			cols[s] = GbtInputAdd(in, st->output, GBT_COLUMN_NUMBER, "lag output");
		else
		{
			GbtInputAdd(in, st->input, GBT_COLUMN_NUMBER, "lag input");
			GbtInputAdd(in, st->partition_by, GBT_COLUMN_TEXT, "lag partition_by");
			GbtInputAdd(in, st->order_by, GBT_COLUMN_TIME, "lag order_by");
		}
	}
	if (model->pipeline)
	{
		int			attno = GbtInputFind(in, model->pipeline->label);

		if (attno > 0 && GbtTypeIsNumber(GbtInputType(in, attno)))
			label = GbtInputAdd(in, model->pipeline->label, GBT_COLUMN_NUMBER, "the label");
	}

	GbtInputRead(in);
	GbtInputClose(in);
	n = in->n_rows;

	for (s = 0; s < n_stages; s++)
		if (cols[s] == NULL)
		{
			const GbtStage *st = &model->pipeline->stages[s];

			lagged[s] = palloc_extended(Max(n, 1) * sizeof(double), MCXT_ALLOC_HUGE);
			GbtComputeLag(GbtInputAdd(in, st->partition_by, GBT_COLUMN_TEXT, "lag partition_by"),
						  GbtInputAdd(in, st->order_by, GBT_COLUMN_TIME, "lag order_by"),
						  GbtInputAdd(in, st->input, GBT_COLUMN_NUMBER, "lag input"),
						  n, lagged[s]);
		}

	values = palloc(Max(n_stages, 1) * sizeof(GbtStageValue));
	block = palloc((size_t) GBT_PREDICT_CHUNK * width * sizeof(double));
	out = palloc(GBT_PREDICT_CHUNK * sizeof(double));
	for (start = 0; start < n; start += GBT_PREDICT_CHUNK)
	{
		size_t		count = Min((size_t) GBT_PREDICT_CHUNK, n - start);

		for (i = 0; i < count; i++)
		{
			size_t		r = start + i;

			for (s = 0; s < n_stages; s++)
			{
				values[s].number = NAN;
				values[s].text = NULL;
				if (lagged[s])
					values[s].number = lagged[s][r];
				else if (cols[s]->kind == GBT_COLUMN_TEXT)
					values[s].text = cols[s]->texts[r];
				else
					values[s].number = cols[s]->numbers[r];
			}
			Assemble(model, values, block + i * width);
		}
		GbtPredictRows(model, block, count, out);
		for (i = 0; i < count; i++)
		{
			size_t		r = start + i;
			Datum		result[4];
			bool		nulls[4] = {false, false, false, false};

			result[0] = Int64GetDatum((int64) r + 1);
			nulls[1] = key == NULL || key->nulls[r];
			result[1] = nulls[1] ? (Datum) 0 : key->datums[r];
			nulls[2] = label == NULL || isnan(label->numbers[r]);
			result[2] = nulls[2] ? (Datum) 0 : Float8GetDatum(label->numbers[r]);
			result[3] = Float8GetDatum(out[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, nulls);
		}
		CHECK_FOR_INTERRUPTS();
	}

	MemoryContextSwitchTo(caller);
	SPI_finish();
	return (Datum) 0;
}
