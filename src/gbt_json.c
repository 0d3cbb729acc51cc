/*
 * gbt_json.c - the model's file format: versioned JSON, written and checked
 *
 * A model is exported to a file and imported back, possibly from somewhere
 * untrusted, so the reader checks everything before a model exists: types,
 * array lengths, ranges, finite numbers, unknown or repeated keys, and the
 * tree structure (GbtModelCheck); any failure is one readable message that
 * names the offending path.  Version 1:
 *
 * {
 *   "format": "ipflow-gbt",
 *   "version": 1,
 *   "params": {"max_iter": 20, "max_depth": 5, "step_size": 0.1,
 *              "max_bins": 32, "min_instances_per_node": 1,
 *              "min_info_gain": 0, "subsampling_rate": 1, "lambda": 0,
 *              "seed": 0},
 *   "n_features": 3,
 *   "feature_names": ["x", "y", "src_ip=10.0.0.1"],
 *   "base_score": 12.5,
 *   "importance": [0.7, 0.3, 0],
 *   "pipeline": null | {"label": "unq_dst_ip", "stages": [
 *       {"type": "column", "input": "x"},
 *       {"type": "lag", "input": "y", "output": "prev_y",
 *        "partition_by": "src_ip", "order_by": "timestamp"},
 *       {"type": "one_hot", "input": "src_ip", "categories": ["10.0.0.1"],
 *        "drop_last": false}]},
 *   "trees": [
 *     {"feature": [0, -1, -1], "threshold": [0.5, 0, 0],
 *      "default_left": [true, false, false], "left": [1, 0, 0],
 *      "value": [0, -0.1, 0.1]}
 *   ]
 * }
 *
 * Each tree is five parallel arrays indexed by node, root first, children
 * after their parent (breadth-first as trained); a split's right child is
 * left + 1.  Leaves have feature -1, left 0 and threshold 0; splits have
 * value 0.  x <= threshold goes left; a missing x goes left when
 * default_left.  Leaf values include the step size: a prediction is
 * base_score plus one leaf value per tree.  Numbers are written with the
 * fewest digits that read back to the same double.
 */
#include "postgres_fe.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "gbt.h"
#include "gbt_pipeline.h"
#include "json_tree.h"
#include "text_buf.h"

/* Larger documents are refused before parsing (the parse tree costs more). */
#define GBT_MAX_JSON_BYTES ((size_t) 16 << 20)

static bool
Fail(char *error, const char *fmt,...)
pg_attribute_printf(2, 3);

/* Writes the message; returns false so callers can return it. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(error, GBT_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double. */
static void
BufNumber(TextBuf *b, double v)
{
	char		text[40];
	int			digits;

	for (digits = 15; digits <= 17; digits++)
	{
		snprintf(text, sizeof(text), "%.*g", digits, v);
		if (strtod(text, NULL) == v)
			break;
	}
	TextBufPuts(b, text);
}

/* An integer token. */
static void
BufInt(TextBuf *b, long long v)
{
	char		text[32];

	snprintf(text, sizeof(text), "%lld", v);
	TextBufPuts(b, text);
}

/* One pipeline stage as an object with its type's keys. */
static void
WriteStage(TextBuf *b, const GbtStage *s)
{
	int			i;

	TextBufPuts(b, "{\"type\": ");
	switch (s->kind)
	{
		case GBT_STAGE_COLUMN:
			TextBufPuts(b, "\"column\", \"input\": ");
			TextBufJsonString(b, s->input);
			break;
		case GBT_STAGE_LAG:
			TextBufPuts(b, "\"lag\", \"input\": ");
			TextBufJsonString(b, s->input);
			TextBufPuts(b, ", \"output\": ");
			TextBufJsonString(b, s->output);
			TextBufPuts(b, ", \"partition_by\": ");
			TextBufJsonString(b, s->partition_by);
			TextBufPuts(b, ", \"order_by\": ");
			TextBufJsonString(b, s->order_by);
			break;
		case GBT_STAGE_ONE_HOT:
			TextBufPuts(b, "\"one_hot\", \"input\": ");
			TextBufJsonString(b, s->input);
			TextBufPuts(b, ", \"categories\": [");
			for (i = 0; i < s->n_categories; i++)
			{
				if (i > 0)
					TextBufPuts(b, ", ");
				TextBufJsonString(b, s->categories[i]);
			}
			TextBufPuts(b, "], \"drop_last\": ");
			TextBufPuts(b, s->drop_last ? "true" : "false");
			break;
	}
	TextBufPuts(b, "}");
}

/*
 * The model as JSON text (malloc'd, NUL-terminated, *len bytes), or NULL
 * when out of memory.  The same model always gives the same text.
 */
char *
GbtModelToJson(const GbtModel *m, size_t *len)
{
	TextBuf		b = {0};
	char		seed[32];
	int			i,
				t;

	TextBufPuts(&b, "{\"format\": \"" GBT_FORMAT_NAME "\",\n \"version\": ");
	BufInt(&b, GBT_FORMAT_VERSION);
	TextBufPuts(&b, ",\n \"params\": {\"max_iter\": ");
	BufInt(&b, m->params.max_iter);
	TextBufPuts(&b, ", \"max_depth\": ");
	BufInt(&b, m->params.max_depth);
	TextBufPuts(&b, ", \"step_size\": ");
	BufNumber(&b, m->params.step_size);
	TextBufPuts(&b, ", \"max_bins\": ");
	BufInt(&b, m->params.max_bins);
	TextBufPuts(&b, ", \"min_instances_per_node\": ");
	BufInt(&b, m->params.min_instances_per_node);
	TextBufPuts(&b, ", \"min_info_gain\": ");
	BufNumber(&b, m->params.min_info_gain);
	TextBufPuts(&b, ", \"subsampling_rate\": ");
	BufNumber(&b, m->params.subsampling_rate);
	TextBufPuts(&b, ", \"lambda\": ");
	BufNumber(&b, m->params.lambda);
	snprintf(seed, sizeof(seed), "%" PRIu64, m->params.seed);
	TextBufPuts(&b, ", \"seed\": ");
	TextBufPuts(&b, seed);
	TextBufPuts(&b, "},\n \"n_features\": ");
	BufInt(&b, m->n_features);
	TextBufPuts(&b, ",\n \"feature_names\": [");
	for (i = 0; i < m->n_features; i++)
	{
		if (i > 0)
			TextBufPuts(&b, ", ");
		TextBufJsonString(&b, m->feature_names[i]);
	}
	TextBufPuts(&b, "],\n \"base_score\": ");
	BufNumber(&b, m->base_score);
	TextBufPuts(&b, ",\n \"importance\": [");
	for (i = 0; i < m->n_features; i++)
	{
		if (i > 0)
			TextBufPuts(&b, ", ");
		BufNumber(&b, m->importance[i]);
	}
	TextBufPuts(&b, "],\n \"pipeline\": ");
	if (m->pipeline == NULL)
		TextBufPuts(&b, "null");
	else
	{
		TextBufPuts(&b, "{\"label\": ");
		TextBufJsonString(&b, m->pipeline->label);
		TextBufPuts(&b, ", \"stages\": [");
		for (i = 0; i < m->pipeline->n_stages; i++)
		{
			TextBufPuts(&b, i > 0 ? ",\n   " : "\n   ");
			WriteStage(&b, &m->pipeline->stages[i]);
		}
		TextBufPuts(&b, "]}");
	}
	TextBufPuts(&b, ",\n \"trees\": [");
	for (t = 0; t < m->n_trees; t++)
	{
		const GbtNode *tree = m->nodes + m->tree_start[t];
		int			n = m->tree_start[t + 1] - m->tree_start[t];

		TextBufPuts(&b, t > 0 ? ",\n  {\"feature\": [" : "\n  {\"feature\": [");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				TextBufPuts(&b, ", ");
			BufInt(&b, tree[i].feature);
		}
		TextBufPuts(&b, "],\n   \"threshold\": [");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				TextBufPuts(&b, ", ");
			BufNumber(&b, tree[i].feature >= 0 ? tree[i].value : 0.0);
		}
		TextBufPuts(&b, "],\n   \"default_left\": [");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				TextBufPuts(&b, ", ");
			TextBufPuts(&b, tree[i].feature >= 0 && tree[i].default_left ? "true" : "false");
		}
		TextBufPuts(&b, "],\n   \"left\": [");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				TextBufPuts(&b, ", ");
			BufInt(&b, tree[i].feature >= 0 ? tree[i].left : 0);
		}
		TextBufPuts(&b, "],\n   \"value\": [");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				TextBufPuts(&b, ", ");
			BufNumber(&b, tree[i].feature >= 0 ? 0.0 : tree[i].value);
		}
		TextBufPuts(&b, "]}");
	}
	TextBufPuts(&b, "]}\n");
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.data;
}

/*
 * Refuses keys outside allowed (a NULL-terminated list) and repeated keys,
 * so a misspelt or duplicated member is an error rather than ignored.
 */
static bool
CheckKeys(const JsonNode *obj, const char *const *allowed, const char *where, char *error)
{
	int			i,
				j;

	for (i = 0; i < obj->count; i++)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, obj->keys[i]) == 0)
				break;
		if (*a == NULL)
			return Fail(error, "%s: unknown key \"%.60s\"", where, obj->keys[i]);
		for (j = 0; j < i; j++)
			if (strcmp(obj->keys[j], obj->keys[i]) == 0)
				return Fail(error, "%s: key \"%.60s\" appears twice", where, obj->keys[i]);
	}
	return true;
}

/* A member of the given kind, or NULL with the reason. */
static const JsonNode *
Member(const JsonNode *obj, const char *key, JsonNodeKind kind, const char *where, char *error)
{
	const JsonNode *node = JsonTreeMember(obj, key);

	if (node == NULL)
	{
		Fail(error, "%s: the key \"%s\" is missing", where, key);
		return NULL;
	}
	if (node->kind != kind)
	{
		Fail(error, "%s.%s: must be %s, not %s", where, key,
			 JsonNodeKindName(kind), JsonNodeKindName(node->kind));
		return NULL;
	}
	return node;
}

/* A JSON integer (no fraction, no exponent) within [min, max]. */
static bool
ReadInt(const JsonNode *node, long long min, long long max, long long *value,
		const char *where, char *error)
{
	const char *p;
	long long	v = 0;
	bool		negative = false;

	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, "%s: must be an integer, not %s", where, JsonNodeKindName(node->kind));
	p = node->text;
	if (*p == '-')
	{
		negative = true;
		p++;
	}
	if (*p == '\0')
		return Fail(error, "%s: must be an integer", where);
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return Fail(error, "%s: must be an integer, not %.40s", where, node->text);
		if (v <= INT64CONST(1) << 40)
			v = v * 10 + (*p - '0');
	}
	if (negative)
		v = -v;
	if (v < min || v > max)
		return Fail(error, "%s: must be between %lld and %lld, not %.40s", where, min, max, node->text);
	*value = v;
	return true;
}

/* ReadInt into an int. */
static bool
ReadInt32(const JsonNode *node, int min, int max, int *value, const char *where, char *error)
{
	long long	v;

	if (!ReadInt(node, min, max, &v, where, error))
		return false;
	*value = (int) v;
	return true;
}

/* An unsigned 64-bit integer (the seed). */
static bool
ReadUInt64(const JsonNode *node, uint64_t *value, const char *where, char *error)
{
	const char *p;
	uint64_t	v = 0;

	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, "%s: must be an integer, not %s", where, JsonNodeKindName(node->kind));
	for (p = node->text; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return Fail(error, "%s: must be an integer from 0 to 2^64-1, not %.40s", where, node->text);
		if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
			return Fail(error, "%s: must be below 2^64, not %.40s", where, node->text);
		v = v * 10 + (uint64_t) (*p - '0');
	}
	*value = v;
	return true;
}

/* A finite number. */
static bool
ReadDouble(const JsonNode *node, double *value, const char *where, char *error)
{
	char	   *end;
	double		v;

	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, "%s: must be a number, not %s", where, JsonNodeKindName(node->kind));
	v = strtod(node->text, &end);
	if (*end != '\0' || !isfinite(v))
		return Fail(error, "%s: must be a finite number, not %.40s", where, node->text);
	*value = v;
	return true;
}

/* A non-empty string of at most GBT_MAX_NAME bytes. */
static const char *
ReadName(const JsonNode *node, const char *where, char *error)
{
	if (node->kind != JSON_NODE_STRING)
	{
		Fail(error, "%s: must be a string, not %s", where, JsonNodeKindName(node->kind));
		return NULL;
	}
	if (node->text[0] == '\0' || strlen(node->text) > GBT_MAX_NAME)
	{
		Fail(error, "%s: must be a non-empty string of at most %d bytes", where, GBT_MAX_NAME);
		return NULL;
	}
	return node->text;
}

/* An array member of exactly n items (any n when n < 0). */
static const JsonNode *
ArrayMember(const JsonNode *obj, const char *key, int n, const char *where, char *error)
{
	const JsonNode *node = Member(obj, key, JSON_NODE_ARRAY, where, error);

	if (node && n >= 0 && node->count != n)
	{
		Fail(error, "%s.%s: must have %d items, not %d", where, key, n, node->count);
		return NULL;
	}
	return node;
}

/* The params object: every key required, ranges as GbtParamsCheck. */
static bool
ReadParams(const JsonNode *obj, GbtParams *p, char *error)
{
	static const char *const keys[] = {"max_iter", "max_depth", "step_size", "max_bins",
		"min_instances_per_node", "min_info_gain", "subsampling_rate", "lambda", "seed", NULL};
	const JsonNode *node;
	char		msg[GBT_ERROR_MAX];

	if (!CheckKeys(obj, keys, "params", error))
		return false;
#define PARAM(key) \
	if ((node = JsonTreeMember(obj, key)) == NULL) \
		return Fail(error, "params: the key \"%s\" is missing", key)
	PARAM("max_iter");
	if (!ReadInt32(node, GBT_MIN_MAX_ITER, GBT_MAX_MAX_ITER, &p->max_iter, "params.max_iter", error))
		return false;
	PARAM("max_depth");
	if (!ReadInt32(node, GBT_MIN_MAX_DEPTH, GBT_MAX_MAX_DEPTH, &p->max_depth, "params.max_depth", error))
		return false;
	PARAM("step_size");
	if (!ReadDouble(node, &p->step_size, "params.step_size", error))
		return false;
	PARAM("max_bins");
	if (!ReadInt32(node, GBT_MIN_MAX_BINS, GBT_MAX_MAX_BINS, &p->max_bins, "params.max_bins", error))
		return false;
	PARAM("min_instances_per_node");
	if (!ReadInt32(node, GBT_MIN_MIN_INSTANCES, GBT_MAX_MIN_INSTANCES,
				   &p->min_instances_per_node, "params.min_instances_per_node", error))
		return false;
	PARAM("min_info_gain");
	if (!ReadDouble(node, &p->min_info_gain, "params.min_info_gain", error))
		return false;
	PARAM("subsampling_rate");
	if (!ReadDouble(node, &p->subsampling_rate, "params.subsampling_rate", error))
		return false;
	PARAM("lambda");
	if (!ReadDouble(node, &p->lambda, "params.lambda", error))
		return false;
	PARAM("seed");
	if (!ReadUInt64(node, &p->seed, "params.seed", error))
		return false;
#undef PARAM
	if (!GbtParamsCheck(p, msg))
		return Fail(error, "params: %s", msg);
	return true;
}

/* A lag or one-hot stage's string member. */
static const char *
StageName(const JsonNode *obj, const char *key, const char *where, char *error)
{
	const JsonNode *node = JsonTreeMember(obj, key);
	char		path[64];

	if (node == NULL)
	{
		Fail(error, "%s: the key \"%s\" is missing", where, key);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s.%s", where, key);
	return ReadName(node, path, error);
}

/*
 * The pipeline object, rebuilt through the same calls that build it at
 * training, so it is checked the same way; attached to the model last.
 */
static bool
ReadPipeline(const JsonNode *obj, GbtModel *m, char *error)
{
	static const char *const keys[] = {"label", "stages", NULL};
	static const char *const column_keys[] = {"type", "input", NULL};
	static const char *const lag_keys[] = {"type", "input", "output", "partition_by", "order_by", NULL};
	static const char *const one_hot_keys[] = {"type", "input", "categories", "drop_last", NULL};
	const JsonNode *stages;
	const char *label;
	GbtPipeline *p;
	char		msg[GBT_ERROR_MAX];
	int			i;

	if (!CheckKeys(obj, keys, "pipeline", error))
		return false;
	if ((label = StageName(obj, "label", "pipeline", error)) == NULL)
		return false;
	if ((stages = ArrayMember(obj, "stages", -1, "pipeline", error)) == NULL)
		return false;
	if (stages->count > GBT_MAX_STAGES)
		return Fail(error, "pipeline.stages: at most %d stages, not %d", GBT_MAX_STAGES, stages->count);
	p = GbtPipelineNew(label, msg);
	if (p == NULL)
		return Fail(error, "pipeline: %s", msg);
	for (i = 0; i < stages->count; i++)
	{
		const JsonNode *s = stages->items[i];
		const JsonNode *type;
		const char *input;
		char		where[64];
		bool		ok = false;

		snprintf(where, sizeof(where), "pipeline.stages[%d]", i);
		if (s->kind != JSON_NODE_OBJECT)
		{
			Fail(error, "%s: must be an object, not %s", where, JsonNodeKindName(s->kind));
			goto fail;
		}
		if ((type = Member(s, "type", JSON_NODE_STRING, where, error)) == NULL)
			goto fail;
		if (strcmp(type->text, "column") == 0)
		{
			if (!CheckKeys(s, column_keys, where, error) ||
				(input = StageName(s, "input", where, error)) == NULL)
				goto fail;
			ok = GbtPipelineAddColumn(p, input, msg);
		}
		else if (strcmp(type->text, "lag") == 0)
		{
			const char *output,
					   *partition_by,
					   *order_by;

			if (!CheckKeys(s, lag_keys, where, error) ||
				(input = StageName(s, "input", where, error)) == NULL ||
				(output = StageName(s, "output", where, error)) == NULL ||
				(partition_by = StageName(s, "partition_by", where, error)) == NULL ||
				(order_by = StageName(s, "order_by", where, error)) == NULL)
				goto fail;
			ok = GbtPipelineAddLag(p, input, output, partition_by, order_by, msg);
		}
		else if (strcmp(type->text, "one_hot") == 0)
		{
			const JsonNode *cats;
			const JsonNode *drop;
			const char **names;
			int			j;

			if (!CheckKeys(s, one_hot_keys, where, error) ||
				(input = StageName(s, "input", where, error)) == NULL ||
				(cats = ArrayMember(s, "categories", -1, where, error)) == NULL)
				goto fail;
			drop = JsonTreeMember(s, "drop_last");
			if (drop == NULL || (drop->kind != JSON_NODE_TRUE && drop->kind != JSON_NODE_FALSE))
			{
				Fail(error, "%s.drop_last: must be a boolean", where);
				goto fail;
			}
			if (cats->count > GBT_MAX_CATEGORIES)
			{
				Fail(error, "%s.categories: at most %d categories, not %d",
					 where, GBT_MAX_CATEGORIES, cats->count);
				goto fail;
			}
			names = malloc((cats->count > 0 ? cats->count : 1) * sizeof(char *));
			if (names == NULL)
			{
				Fail(error, "out of memory");
				goto fail;
			}
			for (j = 0; j < cats->count; j++)
			{
				char		path[80];

				snprintf(path, sizeof(path), "%s.categories[%d]", where, j);
				if ((names[j] = ReadName(cats->items[j], path, error)) == NULL)
				{
					free(names);
					goto fail;
				}
			}
			ok = GbtPipelineAddOneHot(p, input, names, cats->count,
									  drop->kind == JSON_NODE_TRUE, msg);
			free(names);
		}
		else
		{
			Fail(error, "%s.type: must be \"column\", \"lag\" or \"one_hot\", not \"%.40s\"",
				 where, type->text);
			goto fail;
		}
		if (!ok)
		{
			Fail(error, "%s: %s", where, msg);
			goto fail;
		}
	}
	if (!GbtModelSetPipeline(m, p, msg))
	{
		Fail(error, "pipeline: %s", msg);
		goto fail;
	}
	return true;

fail:
	GbtPipelineFree(p);
	return false;
}

/* One tree's five arrays, appended to the model's nodes. */
static bool
ReadTree(const JsonNode *obj, GbtModel *m, int t, int *node_cap, char *error)
{
	static const char *const keys[] = {"feature", "threshold", "default_left", "left", "value", NULL};
	const JsonNode *feature,
			   *threshold,
			   *default_left,
			   *left,
			   *value;
	char		where[48];
	int			max_nodes = (2 << m->params.max_depth) - 1;
	int32_t		start = m->tree_start[t];
	int			n;
	int			i;

	snprintf(where, sizeof(where), "trees[%d]", t);
	if (obj->kind != JSON_NODE_OBJECT)
		return Fail(error, "%s: must be an object, not %s", where, JsonNodeKindName(obj->kind));
	if (!CheckKeys(obj, keys, where, error))
		return false;
	if ((feature = ArrayMember(obj, "feature", -1, where, error)) == NULL)
		return false;
	n = feature->count;
	if (n < 1 || n > max_nodes)
		return Fail(error, "%s.feature: a tree of depth at most %d has 1 to %d nodes, not %d",
					where, m->params.max_depth, max_nodes, n);
	if ((threshold = ArrayMember(obj, "threshold", n, where, error)) == NULL ||
		(default_left = ArrayMember(obj, "default_left", n, where, error)) == NULL ||
		(left = ArrayMember(obj, "left", n, where, error)) == NULL ||
		(value = ArrayMember(obj, "value", n, where, error)) == NULL)
		return false;

	if (start + n > *node_cap)
	{
		int			cap = *node_cap > 0 ? *node_cap * 2 : 1024;
		GbtNode    *nodes;

		while (cap < start + n)
			cap *= 2;
		nodes = realloc(m->nodes, (size_t) cap * sizeof(GbtNode));
		if (nodes == NULL)
			return Fail(error, "out of memory");
		m->nodes = nodes;
		*node_cap = cap;
	}
	for (i = 0; i < n; i++)
	{
		GbtNode    *node = &m->nodes[start + i];
		const JsonNode *dl = default_left->items[i];
		char		path[80];
		int			f,
					l;
		double		thr,
					v;

		memset(node, 0, sizeof(*node));
		snprintf(path, sizeof(path), "%s.feature[%d]", where, i);
		if (!ReadInt32(feature->items[i], -1, m->n_features - 1, &f, path, error))
			return false;
		snprintf(path, sizeof(path), "%s.left[%d]", where, i);
		if (!ReadInt32(left->items[i], 0, n - 1, &l, path, error))
			return false;
		snprintf(path, sizeof(path), "%s.threshold[%d]", where, i);
		if (!ReadDouble(threshold->items[i], &thr, path, error))
			return false;
		snprintf(path, sizeof(path), "%s.value[%d]", where, i);
		if (!ReadDouble(value->items[i], &v, path, error))
			return false;
		if (dl->kind != JSON_NODE_TRUE && dl->kind != JSON_NODE_FALSE)
			return Fail(error, "%s.default_left[%d]: must be a boolean, not %s",
						where, i, JsonNodeKindName(dl->kind));
		node->feature = (int16_t) f;
		node->left = l;
		node->default_left = dl->kind == JSON_NODE_TRUE;
		node->value = f >= 0 ? thr : v;
	}
	m->tree_start[t + 1] = start + n;
	m->n_trees = t + 1;
	return true;
}

/* Everything but the pipeline and the trees, then those. */
static GbtModel *
ReadModel(const JsonNode *root, char *error)
{
	static const char *const keys[] = {"format", "version", "params", "n_features",
		"feature_names", "base_score", "importance", "pipeline", "trees", NULL};
	const JsonNode *node;
	const JsonNode *names;
	const JsonNode *importance;
	const JsonNode *trees;
	GbtModel   *m;
	long long	version;
	int			node_cap = 0;
	int			i;
	char		msg[GBT_ERROR_MAX];

	if (root->kind != JSON_NODE_OBJECT)
	{
		Fail(error, "the model must be a JSON object, not %s", JsonNodeKindName(root->kind));
		return NULL;
	}
	if ((node = Member(root, "format", JSON_NODE_STRING, "model", error)) == NULL)
		return NULL;
	if (strcmp(node->text, GBT_FORMAT_NAME) != 0)
	{
		Fail(error, "model.format: must be \"%s\", not \"%.40s\"", GBT_FORMAT_NAME, node->text);
		return NULL;
	}
	if ((node = JsonTreeMember(root, "version")) == NULL)
	{
		Fail(error, "model: the key \"version\" is missing");
		return NULL;
	}
	if (!ReadInt(node, 0, INT32_MAX, &version, "model.version", error))
		return NULL;
	if (version != GBT_FORMAT_VERSION)
	{
		Fail(error, "model.version: this build reads version %d, not %lld",
			 GBT_FORMAT_VERSION, version);
		return NULL;
	}
	if (!CheckKeys(root, keys, "model", error))
		return NULL;

	m = calloc(1, sizeof(GbtModel));
	if (m == NULL)
	{
		Fail(error, "out of memory");
		return NULL;
	}
	if ((node = Member(root, "params", JSON_NODE_OBJECT, "model", error)) == NULL ||
		!ReadParams(node, &m->params, error))
		goto fail;
	if ((node = JsonTreeMember(root, "n_features")) == NULL)
	{
		Fail(error, "model: the key \"n_features\" is missing");
		goto fail;
	}
	if (!ReadInt32(node, 1, GBT_MAX_FEATURES, &m->n_features, "model.n_features", error))
		goto fail;
	if ((names = ArrayMember(root, "feature_names", m->n_features, "model", error)) == NULL ||
		(importance = ArrayMember(root, "importance", m->n_features, "model", error)) == NULL)
		goto fail;
	m->feature_names = calloc(m->n_features, sizeof(char *));
	m->importance = calloc(m->n_features, sizeof(double));
	if (m->feature_names == NULL || m->importance == NULL)
	{
		Fail(error, "out of memory");
		goto fail;
	}
	for (i = 0; i < m->n_features; i++)
	{
		char		path[48];
		const char *name;

		snprintf(path, sizeof(path), "model.feature_names[%d]", i);
		if ((name = ReadName(names->items[i], path, error)) == NULL)
			goto fail;
		if ((m->feature_names[i] = GbtStrdup(name)) == NULL)
		{
			Fail(error, "out of memory");
			goto fail;
		}
		snprintf(path, sizeof(path), "model.importance[%d]", i);
		if (!ReadDouble(importance->items[i], &m->importance[i], path, error))
			goto fail;
	}
	if ((node = JsonTreeMember(root, "base_score")) == NULL)
	{
		Fail(error, "model: the key \"base_score\" is missing");
		goto fail;
	}
	if (!ReadDouble(node, &m->base_score, "model.base_score", error))
		goto fail;

	if ((trees = ArrayMember(root, "trees", -1, "model", error)) == NULL)
		goto fail;
	if (trees->count > m->params.max_iter)
	{
		Fail(error, "model.trees: %d trees, more than params.max_iter (%d)",
			 trees->count, m->params.max_iter);
		goto fail;
	}
	m->tree_start = calloc((size_t) trees->count + 1, sizeof(int32_t));
	if (m->tree_start == NULL)
	{
		Fail(error, "out of memory");
		goto fail;
	}
	for (i = 0; i < trees->count; i++)
		if (!ReadTree(trees->items[i], m, i, &node_cap, error))
			goto fail;
	if (!GbtModelCheck(m, msg))
	{
		Fail(error, "model: %s", msg);
		goto fail;
	}

	if ((node = JsonTreeMember(root, "pipeline")) == NULL)
	{
		Fail(error, "model: the key \"pipeline\" is missing");
		goto fail;
	}
	if (node->kind == JSON_NODE_OBJECT)
	{
		if (!ReadPipeline(node, m, error))
			goto fail;
	}
	else if (node->kind != JSON_NODE_NULL)
	{
		Fail(error, "model.pipeline: must be an object or null, not %s", JsonNodeKindName(node->kind));
		goto fail;
	}
	return m;

fail:
	GbtModelFree(m);
	return NULL;
}

/*
 * A model from its JSON text, fully checked; NULL with a message naming
 * the first problem otherwise.  Never trusts the input.
 */
GbtModel *
GbtModelFromJson(const char *json, size_t len, char error[GBT_ERROR_MAX])
{
	JsonNode   *root;
	char	   *parse_error = NULL;
	GbtModel   *m;

	if (json == NULL || len == 0)
	{
		Fail(error, "the model is empty");
		return NULL;
	}
	if (len > GBT_MAX_JSON_BYTES)
	{
		Fail(error, "the model is larger than %zu MB", GBT_MAX_JSON_BYTES >> 20);
		return NULL;
	}
	if (memchr(json, '\0', len) != NULL)
	{
		Fail(error, "the model contains a NUL byte");
		return NULL;
	}
	root = JsonTreeParse(json, len, &parse_error);
	if (root == NULL)
	{
		Fail(error, "the model is not valid JSON: %s", parse_error ? parse_error : "unknown error");
		if (parse_error)
			pfree(parse_error);
		return NULL;
	}
	m = ReadModel(root, error);
	JsonTreeFree(root);
	return m;
}
