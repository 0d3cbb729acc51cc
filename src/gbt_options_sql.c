/*
 * gbt_options_sql.c - gbt_train's params: checked, defaults resolved
 *
 * params is one JSON object: the booster's settings (Spark GBTRegressor's
 * names) and the pipeline's (features, categorical, drop_last, lag,
 * split).  Every key is checked before any row is read: an unknown key is
 * refused with the list of known ones, a value of the wrong type or out of
 * range names the key and the allowed range.  The defaults reproduce the
 * original Spark pipeline on ipflow.events; they depend on the query's
 * columns, so they are resolved here against its result.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "gbt_sql.h"

static const char *const KnownKeys[] = {
	"max_iter", "max_depth", "step_size", "max_bins", "min_instances_per_node",
	"min_info_gain", "subsampling_rate", "lambda", "seed",
	"features", "categorical", "drop_last", "lag", "split", NULL
};
static const char *const LagKeys[] = {"input", "output", "partition_by", "order_by", NULL};
static const char *const SplitKeys[] = {"kind", "test_fraction", "seed", "key", "order_by", "column", NULL};

/* Columns of ipflow.events that ingestion writes for itself, not features. */
static const char *const BookkeepingColumns[] = {"kafka_partition", "kafka_offset", NULL};

/* "a number", "an array"...: what a JSON value is, for messages. */
const char *
GbtJsonbTypeName(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a JSON value";
	}
}

/* One key of an object, or NULL. */
static JsonbValue *
Member(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* A comma-separated list of names, for hints. */
static char *
NameList(const char *const *names)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *names; names++)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", *names);
	return buf.data;
}

/* Refuses keys of an object that are not listed. */
static void
CheckKeys(JsonbContainer *obj, const char *const *known, const char *where)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const char *const *k;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (k = known; *k; k++)
			if (strcmp(*k, key) == 0)
				break;
		if (*k == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in %s", key, where),
					 errhint("The keys of %s are: %s.", where, NameList(known))));
	}
}

/* The text of a JSON number. */
static char *
NumberText(const JsonbValue *v)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* An integer in [min, max]; the message names the key and the range. */
static int64
ReadInteger(const JsonbValue *v, const char *key, int64 min, int64 max, const char *dflt)
{
	char	   *text = v->type == jbvNumeric ? NumberText(v) : NULL;
	double		d = text ? strtod(text, NULL) : NAN;

	if (text == NULL || d != floor(d) || d < (double) min || d > (double) max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s must be an integer from " INT64_FORMAT " to " INT64_FORMAT ", not %s",
						key, min, max, text ? text : GbtJsonbTypeName(v)),
				 errhint("The default is %s.", dflt)));
	return (int64) d;
}

/* A number; the caller checks its range. */
static double
ReadNumber(const JsonbValue *v, const char *key, const char *range, const char *dflt)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s must be a number %s, not %s", key, range, GbtJsonbTypeName(v)),
				 errhint("The default is %s.", dflt)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

/* A number that must satisfy ok. */
static double
ReadRanged(const JsonbValue *v, const char *key, bool (*ok) (double), const char *range,
		   const char *dflt)
{
	double		d = ReadNumber(v, key, range, dflt);

	if (!ok(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s must be a number %s, not %s", key, range, NumberText(v)),
				 errhint("The default is %s.", dflt)));
	return d;
}

static bool
InUnitInterval(double d)
{
	return d > 0.0 && d <= 1.0;
}

static bool
NonNegativeFinite(double d)
{
	return d >= 0.0 && isfinite(d);
}

static bool
LambdaRange(double d)
{
	return d >= 0.0 && d <= GBT_MAX_LAMBDA;
}

static bool
TestFractionRange(double d)
{
	return d >= 0.0 && d < 1.0;
}

/* A seed: an integer from 0 to 2^64 - 1. */
static uint64
ReadSeed(const JsonbValue *v, const char *key)
{
	char	   *text = v->type == jbvNumeric ? NumberText(v) : NULL;
	const char *p;
	uint64		seed = 0;
	bool		ok = text != NULL && text[0] != '\0';

	for (p = text; ok && *p; p++)
	{
		if (*p < '0' || *p > '9' || seed > (PG_UINT64_MAX - (uint64) (*p - '0')) / 10)
			ok = false;
		else
			seed = seed * 10 + (uint64) (*p - '0');
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.%s must be an integer from 0 to 18446744073709551615, not %s",
						key, text ? text : GbtJsonbTypeName(v)),
				 errhint("The default is 0.")));
	return seed;
}

/* Whether a list of C strings holds name. */
static bool
HasName(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* A non-empty string. */
static char *
ReadString(const JsonbValue *v, const char *where)
{
	if (v->type != jbvString || v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a non-empty string, not %s", where,
						v->type == jbvString ? "an empty string" : GbtJsonbTypeName(v))));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An array of distinct column names. */
static List *
ReadNames(const JsonbValue *v, const char *where)
{
	List	   *names = NIL;
	JsonbContainer *arr;
	int			n;
	int			i;

	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an array of column names, not %s", where, GbtJsonbTypeName(v)),
				 errhint("For example [\"allow\", \"drop\"].")));
	arr = v->val.binary.data;
	n = JsonContainerSize(arr);
	for (i = 0; i < n; i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(arr, i);
		char	   *name = ReadString(item, psprintf("%s[%d]", where, i));

		if (HasName(names, name))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s lists \"%s\" twice", where, name)));
		names = lappend(names, name);
	}
	return names;
}

/* The first timestamp or date column of the result, or NULL. */
static char *
FirstTimeColumn(GbtInput *in)
{
	int			i;

	for (i = 0; i < in->desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(in->desc, i);
		Oid			type = getBaseType(attr->atttypid);

		if (!attr->attisdropped &&
			(type == TIMESTAMPTZOID || type == TIMESTAMPOID || type == DATEOID))
			return pstrdup(NameStr(attr->attname));
	}
	return NULL;
}

/* One lag object: input, partition_by and order_by required. */
static GbtLagOption *
ReadLag(const JsonbValue *v, const char *where)
{
	GbtLagOption *lag = palloc0(sizeof(GbtLagOption));
	JsonbContainer *obj;
	JsonbValue *m;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an object, not %s", where, GbtJsonbTypeName(v)),
				 errhint("For example {\"input\": \"unq_dst_ip\", \"output\": \"prev_unq_dst_ip\", "
						 "\"partition_by\": \"src_ip\", \"order_by\": \"ts\"}.")));
	obj = v->val.binary.data;
	CheckKeys(obj, LagKeys, where);
#define LAG_FIELD(field, required) \
	if ((m = Member(obj, #field)) != NULL) \
		lag->field = ReadString(m, psprintf("%s.%s", where, #field)); \
	else if (required) \
		ereport(ERROR, \
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
				 errmsg("%s needs \"%s\"", where, #field), \
				 errhint("A lag has input, partition_by and order_by, and optionally output (default prev_<input>).")))
	LAG_FIELD(input, true);
	LAG_FIELD(output, false);
	LAG_FIELD(partition_by, true);
	LAG_FIELD(order_by, true);
#undef LAG_FIELD
	if (lag->output == NULL)
		lag->output = psprintf("prev_%s", lag->input);
	return lag;
}

/* params.lag: null (none), an object or an array of objects. */
static List *
ReadLags(const JsonbValue *v)
{
	List	   *lags = NIL;

	if (v->type == jbvNull)
		return NIL;
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbContainer *arr = v->val.binary.data;
		int			n = JsonContainerSize(arr);
		int			i;

		for (i = 0; i < n; i++)
			lags = lappend(lags, ReadLag(getIthJsonbValueFromContainer(arr, i),
										 psprintf("params.lag[%d]", i)));
		return lags;
	}
	return list_make1(ReadLag(v, "params.lag"));
}

/* The booster's settings, each checked as it is read. */
static void
ReadBoosterParams(JsonbContainer *obj, GbtParams *p)
{
	JsonbValue *v;

	GbtParamsDefault(p);
	if ((v = Member(obj, "max_iter")) != NULL)
		p->max_iter = ReadInteger(v, "max_iter", GBT_MIN_MAX_ITER, GBT_MAX_MAX_ITER, "20");
	if ((v = Member(obj, "max_depth")) != NULL)
		p->max_depth = ReadInteger(v, "max_depth", GBT_MIN_MAX_DEPTH, GBT_MAX_MAX_DEPTH, "5");
	if ((v = Member(obj, "step_size")) != NULL)
		p->step_size = ReadRanged(v, "step_size", InUnitInterval,
								  "greater than 0 and at most 1", "0.1");
	if ((v = Member(obj, "max_bins")) != NULL)
		p->max_bins = ReadInteger(v, "max_bins", GBT_MIN_MAX_BINS, GBT_MAX_MAX_BINS, "32");
	if ((v = Member(obj, "min_instances_per_node")) != NULL)
		p->min_instances_per_node = ReadInteger(v, "min_instances_per_node", GBT_MIN_MIN_INSTANCES,
												GBT_MAX_MIN_INSTANCES, "1");
	if ((v = Member(obj, "min_info_gain")) != NULL)
		p->min_info_gain = ReadRanged(v, "min_info_gain", NonNegativeFinite, "of at least 0", "0");
	if ((v = Member(obj, "subsampling_rate")) != NULL)
		p->subsampling_rate = ReadRanged(v, "subsampling_rate", InUnitInterval,
										 "greater than 0 and at most 1", "1");
	if ((v = Member(obj, "lambda")) != NULL)
		p->lambda = ReadRanged(v, "lambda", LambdaRange, "from 0 to 1e12", "0");
	if ((v = Member(obj, "seed")) != NULL)
		p->seed = ReadSeed(v, "seed");
}

/* params.split, with its defaults. */
static void
ReadSplit(JsonbValue *v, GbtInput *in, GbtTrainOptions *o)
{
	JsonbContainer *obj = NULL;
	JsonbValue *m;
	char	   *kind = "random";

	o->split = GBT_SPLIT_RANDOM;
	o->test_fraction = 0.25;
	o->split_seed = 0;
	if (v != NULL)
	{
		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.split must be an object, not %s", GbtJsonbTypeName(v)),
					 errhint("For example {\"kind\": \"random\", \"test_fraction\": 0.25, \"seed\": 1}.")));
		obj = v->val.binary.data;
		CheckKeys(obj, SplitKeys, "params.split");
		if ((m = Member(obj, "kind")) != NULL)
			kind = ReadString(m, "params.split.kind");
	}
	if (strcmp(kind, "random") == 0)
		o->split = GBT_SPLIT_RANDOM;
	else if (strcmp(kind, "chronological") == 0)
		o->split = GBT_SPLIT_CHRONOLOGICAL;
	else if (strcmp(kind, "column") == 0)
		o->split = GBT_SPLIT_COLUMN;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split.kind must be \"random\", \"chronological\" or \"column\", not \"%s\"", kind)));
	if (obj == NULL)
		return;

	/* the keys each kind takes */
	if (o->split != GBT_SPLIT_RANDOM && (Member(obj, "seed") || Member(obj, "key")))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split.%s applies only to the random split", Member(obj, "seed") ? "seed" : "key")));
	if (o->split != GBT_SPLIT_CHRONOLOGICAL && Member(obj, "order_by"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split.order_by applies only to the chronological split")));
	if (o->split == GBT_SPLIT_COLUMN && Member(obj, "test_fraction"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split.test_fraction does not apply to the column split"),
				 errhint("The column split takes the rows where the column is true as test rows.")));
	if (o->split != GBT_SPLIT_COLUMN && Member(obj, "column"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split.column applies only to the column split")));

	if ((m = Member(obj, "test_fraction")) != NULL)
		o->test_fraction = ReadRanged(m, "split.test_fraction", TestFractionRange,
									  "from 0 to below 1", "0.25");
	if ((m = Member(obj, "seed")) != NULL)
		o->split_seed = ReadSeed(m, "split.seed");
	if ((m = Member(obj, "key")) != NULL)
	{
		o->split_key = ReadNames(m, "params.split.key");
		if (o->split_key == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.split.key must name at least one column")));
	}
	if ((m = Member(obj, "order_by")) != NULL)
		o->split_column = ReadString(m, "params.split.order_by");
	if ((m = Member(obj, "column")) != NULL)
		o->split_column = ReadString(m, "params.split.column");
	if (o->split == GBT_SPLIT_COLUMN && o->split_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params.split needs \"column\" for the column split"),
				 errhint("Name a boolean column of the query that is true for test rows.")));
	if (o->split == GBT_SPLIT_COLUMN)
	{
		int			attno = GbtInputFind(in, o->split_column);

		if (attno > 0 && GbtInputType(in, attno) != BOOLOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" (split column) is of type %s, not boolean",
							o->split_column, format_type_be(GbtInputType(in, attno))),
					 errhint("The column split needs a boolean column: true for test rows.")));
	}
}

/*
 * Checks params and resolves the defaults against the query's columns:
 * categorical ["src_ip"] when there is such a column; a lag of the label
 * per src_ip by the first timestamp column when both exist (the original
 * prev_unq_dst_ip when the label is unq_dst_ip); features every other
 * numeric column but ingestion's bookkeeping; a random 75/25 split keyed
 * by the lag's entity and time (else by every input column).
 */
void
GbtOptionsParse(Jsonb *params, const char *label, GbtInput *in, GbtTrainOptions *o)
{
	JsonbContainer *obj = &params->root;
	JsonbValue *v;
	ListCell   *lc;
	List	   *used = NIL;
	char	   *time_column = FirstTimeColumn(in);

	memset(o, 0, sizeof(*o));
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a JSON object, not %s",
						JB_ROOT_IS_SCALAR(params) ? "a scalar" : "an array"),
				 errhint("Pass '{}' for the defaults, or for example '{\"max_iter\": 50, \"max_depth\": 4}'.")));
	CheckKeys(obj, KnownKeys, "params");
	ReadBoosterParams(obj, &o->params);

	/* categorical */
	if ((v = Member(obj, "categorical")) != NULL)
		o->categorical = ReadNames(v, "params.categorical");
	else if (GbtInputFind(in, "src_ip") > 0 && strcmp(label, "src_ip") != 0)
		o->categorical = list_make1(pstrdup("src_ip"));
	if ((v = Member(obj, "drop_last")) != NULL)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("params.drop_last must be true or false, not %s", GbtJsonbTypeName(v)),
					 errhint("The default is false.")));
		o->drop_last = v->val.boolean;
	}

	/* lag */
	if ((v = Member(obj, "lag")) != NULL)
		o->lags = ReadLags(v);
	else if (GbtInputFind(in, "src_ip") > 0 && time_column != NULL &&
			 strcmp(label, "src_ip") != 0)
	{
		GbtLagOption *lag = palloc0(sizeof(GbtLagOption));

		lag->input = pstrdup(label);
		lag->output = psprintf("prev_%s", label);
		lag->partition_by = pstrdup("src_ip");
		lag->order_by = time_column;
		o->lags = list_make1(lag);
	}

	/* what the other stages use is not a default feature */
	used = lappend(used, (char *) label);
	foreach(lc, o->categorical)
	{
		if (strcmp(lfirst(lc), label) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" is the label; it cannot also be categorical", label)));
		used = lappend(used, lfirst(lc));
	}
	foreach(lc, o->lags)
	{
		GbtLagOption *lag = lfirst(lc);

		used = lappend(used, lag->input);
		used = lappend(used, lag->output);
		used = lappend(used, lag->partition_by);
		used = lappend(used, lag->order_by);
	}

	ReadSplit(Member(obj, "split"), in, o);
	if (o->split_column)
		used = lappend(used, o->split_column);

	/* features */
	if ((v = Member(obj, "features")) != NULL)
	{
		o->features = ReadNames(v, "params.features");
		foreach(lc, o->features)
			if (strcmp(lfirst(lc), label) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is the label; it cannot also be a feature", label),
						 errhint("Leave it out of params.features; its previous value can be a lag.")));
	}
	else
	{
		int			i;

		for (i = 0; i < in->desc->natts; i++)
		{
			Form_pg_attribute attr = TupleDescAttr(in->desc, i);
			const char *name = NameStr(attr->attname);
			const char *const *b;

			if (attr->attisdropped || !GbtTypeIsNumber(getBaseType(attr->atttypid)) ||
				HasName(used, name) || HasName(o->features, name))
				continue;
			for (b = BookkeepingColumns; *b; b++)
				if (strcmp(*b, name) == 0)
					break;
			if (*b == NULL)
				o->features = lappend(o->features, pstrdup(name));
		}
	}

	/* the random split's key: the lag's entity and time, else the inputs */
	if (o->split == GBT_SPLIT_RANDOM && o->split_key == NIL)
	{
		if (o->lags != NIL)
		{
			GbtLagOption *lag = linitial(o->lags);

			o->split_key = list_make2(lag->partition_by, lag->order_by);
			if (strcmp(lag->partition_by, lag->order_by) == 0)
				o->split_key = list_make1(lag->partition_by);
		}
		else
		{
			o->split_key = list_concat(list_make1((char *) label), o->categorical);
			o->split_key = list_concat(o->split_key, o->features);
		}
	}
	if (o->split == GBT_SPLIT_CHRONOLOGICAL && o->split_column == NULL)
	{
		if (o->lags != NIL)
			o->split_column = ((GbtLagOption *) linitial(o->lags))->order_by;
		else if (time_column != NULL)
			o->split_column = time_column;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the chronological split needs a time column, and the query has none"),
					 errhint("Name one in params.split.order_by.")));
	}
}

/* A JSON array of strings. */
static void
AppendNames(StringInfo buf, List *names)
{
	ListCell   *lc;

	appendStringInfoChar(buf, '[');
	foreach(lc, names)
	{
		if (lc != list_head(names))
			appendStringInfoString(buf, ", ");
		escape_json(buf, lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/* The booster's settings as JSON members (no braces). */
static void
AppendBoosterParams(StringInfo buf, const GbtParams *p)
{
	appendStringInfo(buf, "\"max_iter\": %d, \"max_depth\": %d, \"step_size\": %s, \"max_bins\": %d, "
					 "\"min_instances_per_node\": %d, \"min_info_gain\": %s, \"subsampling_rate\": %s, "
					 "\"lambda\": %s, \"seed\": " UINT64_FORMAT,
					 p->max_iter, p->max_depth, float8out_internal(p->step_size), p->max_bins,
					 p->min_instances_per_node, float8out_internal(p->min_info_gain),
					 float8out_internal(p->subsampling_rate), float8out_internal(p->lambda),
					 (uint64) p->seed);
}

/* The booster's settings as a JSON object (imported models). */
char *
GbtParamsToJson(const GbtParams *p)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	AppendBoosterParams(&buf, p);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Every setting as resolved, as JSON: stored with the model, and passing it
 * back to gbt_train trains the same model on the same rows.
 */
char *
GbtOptionsToJson(const GbtTrainOptions *o)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	AppendBoosterParams(&buf, &o->params);
	appendStringInfoString(&buf, ", \"features\": ");
	AppendNames(&buf, o->features);
	appendStringInfoString(&buf, ", \"categorical\": ");
	AppendNames(&buf, o->categorical);
	appendStringInfo(&buf, ", \"drop_last\": %s, \"lag\": [", o->drop_last ? "true" : "false");
	foreach(lc, o->lags)
	{
		GbtLagOption *lag = lfirst(lc);

		if (lc != list_head(o->lags))
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"input\": ");
		escape_json(&buf, lag->input);
		appendStringInfoString(&buf, ", \"output\": ");
		escape_json(&buf, lag->output);
		appendStringInfoString(&buf, ", \"partition_by\": ");
		escape_json(&buf, lag->partition_by);
		appendStringInfoString(&buf, ", \"order_by\": ");
		escape_json(&buf, lag->order_by);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "], \"split\": ");
	switch (o->split)
	{
		case GBT_SPLIT_RANDOM:
			appendStringInfo(&buf, "{\"kind\": \"random\", \"test_fraction\": %s, \"seed\": " UINT64_FORMAT
							 ", \"key\": ", float8out_internal(o->test_fraction), (uint64) o->split_seed);
			AppendNames(&buf, o->split_key);
			break;
		case GBT_SPLIT_CHRONOLOGICAL:
			appendStringInfo(&buf, "{\"kind\": \"chronological\", \"test_fraction\": %s, \"order_by\": ",
							 float8out_internal(o->test_fraction));
			escape_json(&buf, o->split_column);
			break;
		case GBT_SPLIT_COLUMN:
			appendStringInfoString(&buf, "{\"kind\": \"column\", \"column\": ");
			escape_json(&buf, o->split_column);
			break;
	}
	appendStringInfoString(&buf, "}}");
	return buf.data;
}
