/*
 * gbt.c - gradient-boosted regression trees: parameters, prediction, checks
 *
 * This replaces Spark ML's GBTRegressor (squared loss); training is in
 * gbt_train.c, the file format in gbt_json.c, the input stages in
 * gbt_pipeline.c.  A model is flat arrays: every tree's nodes one after the
 * other in breadth-first order, so prediction follows indexes, not pointers.
 * One row walks each tree with branch-free steps; many rows go through a
 * tree a block at a time, each tree recoded so that every row takes the
 * same number of steps.  GbtModelCheck holds what prediction relies on, for
 * models that come from a file.
 */
#include "gbt.h"
#include "gbt_pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows that go through one tree together in GbtPredictRows. */
#define GBT_PREDICT_BLOCK 64

static bool
Fail(char *error, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

/* Writes the message; returns false so callers can return it. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	va_start(args, fmt);
	vsnprintf(error, GBT_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* Spark GBTRegressor's defaults, no L2 penalty, seed 0. */
void
GbtParamsDefault(GbtParams *params)
{
	params->max_iter = GBT_DEFAULT_MAX_ITER;
	params->max_depth = GBT_DEFAULT_MAX_DEPTH;
	params->step_size = GBT_DEFAULT_STEP_SIZE;
	params->max_bins = GBT_DEFAULT_MAX_BINS;
	params->min_instances_per_node = GBT_DEFAULT_MIN_INSTANCES;
	params->min_info_gain = GBT_DEFAULT_MIN_INFO_GAIN;
	params->subsampling_rate = GBT_DEFAULT_SUBSAMPLING_RATE;
	params->lambda = GBT_DEFAULT_LAMBDA;
	params->seed = GBT_DEFAULT_SEED;
}

/* Range checks, with the parameter's name in the message. */
bool
GbtParamsCheck(const GbtParams *p, char error[GBT_ERROR_MAX])
{
	if (p->max_iter < GBT_MIN_MAX_ITER || p->max_iter > GBT_MAX_MAX_ITER)
		return Fail(error, "max_iter must be between %d and %d, not %d",
					GBT_MIN_MAX_ITER, GBT_MAX_MAX_ITER, p->max_iter);
	if (p->max_depth < GBT_MIN_MAX_DEPTH || p->max_depth > GBT_MAX_MAX_DEPTH)
		return Fail(error, "max_depth must be between %d and %d, not %d",
					GBT_MIN_MAX_DEPTH, GBT_MAX_MAX_DEPTH, p->max_depth);
	if (!(p->step_size > 0.0 && p->step_size <= 1.0))
		return Fail(error, "step_size must be greater than 0 and at most 1, not %g",
					p->step_size);
	if (p->max_bins < GBT_MIN_MAX_BINS || p->max_bins > GBT_MAX_MAX_BINS)
		return Fail(error, "max_bins must be between %d and %d, not %d",
					GBT_MIN_MAX_BINS, GBT_MAX_MAX_BINS, p->max_bins);
	if (p->min_instances_per_node < GBT_MIN_MIN_INSTANCES)
		return Fail(error, "min_instances_per_node must be at least %d, not %d",
					GBT_MIN_MIN_INSTANCES, p->min_instances_per_node);
	if (!(p->min_info_gain >= 0.0 && isfinite(p->min_info_gain)))
		return Fail(error, "min_info_gain must be a finite number of at least 0, not %g",
					p->min_info_gain);
	if (!(p->subsampling_rate > 0.0 && p->subsampling_rate <= 1.0))
		return Fail(error, "subsampling_rate must be greater than 0 and at most 1, not %g",
					p->subsampling_rate);
	if (!(p->lambda >= 0.0 && p->lambda <= GBT_MAX_LAMBDA))
		return Fail(error, "lambda must be between 0 and %g, not %g",
					GBT_MAX_LAMBDA, p->lambda);
	return true;
}

/* One row through the first n_trees trees: staged predictions, loss curves. */
double
GbtPredictRowTrees(const GbtModel *model, const double *row, int n_trees)
{
	double		sum = model->base_score;
	int			t;

	if (n_trees > model->n_trees)
		n_trees = model->n_trees;
	for (t = 0; t < n_trees; t++)
	{
		const GbtNode *tree = model->nodes + model->tree_start[t];
		const GbtNode *node = tree;

		while (node->feature >= 0)
		{
			double		v = row[node->feature];
			int			right = !(v <= node->value);

			/* NaN compares false, so it goes right unless default_left */
			right ^= isnan(v) & node->default_left;
			node = tree + node->left + right;
		}
		sum += node->value;
	}
	return sum;
}

/* One row through every tree: what SQL calls per row. */
double
GbtPredictRow(const GbtModel *model, const double *row)
{
	return GbtPredictRowTrees(model, row, model->n_trees);
}

/*
 * A tree recoded for batch prediction: leaves become nodes whose both
 * children are themselves, so every row takes exactly depth steps and the
 * walk has no data-dependent branch.
 */
typedef struct PlanNode
{
	double		threshold;
	int32_t		child[2];
	int32_t		feature;
	int32_t		default_left;
} PlanNode;

typedef struct PlanTree
{
	int			start;			/* first node in the plan's array */
	int			depth;
} PlanTree;

/* Builds the plan of every tree; false when out of memory. */
static bool
PlanBuild(const GbtModel *m, PlanNode **nodes_out, PlanTree **trees_out, double **values_out)
{
	int			n_nodes = m->tree_start[m->n_trees];
	PlanNode   *nodes = malloc((n_nodes > 0 ? n_nodes : 1) * sizeof(PlanNode));
	PlanTree   *trees = malloc((m->n_trees > 0 ? m->n_trees : 1) * sizeof(PlanTree));
	double	   *values = malloc((n_nodes > 0 ? n_nodes : 1) * sizeof(double));
	int		   *depth = malloc((n_nodes > 0 ? n_nodes : 1) * sizeof(int));
	int			t;

	if (!nodes || !trees || !values || !depth)
	{
		free(nodes);
		free(trees);
		free(values);
		free(depth);
		return false;
	}
	for (t = 0; t < m->n_trees; t++)
	{
		int			start = m->tree_start[t];
		int			n = m->tree_start[t + 1] - start;
		int			i;

		trees[t].start = start;
		trees[t].depth = 0;
		depth[start] = 0;
		for (i = 0; i < n; i++)
		{
			const GbtNode *src = &m->nodes[start + i];
			PlanNode   *dst = &nodes[start + i];

			if (src->feature < 0)
			{
				dst->threshold = 0.0;
				dst->child[0] = dst->child[1] = i;
				dst->feature = 0;
				dst->default_left = 0;
				values[start + i] = src->value;
				if (depth[start + i] > trees[t].depth)
					trees[t].depth = depth[start + i];
			}
			else
			{
				dst->threshold = src->value;
				dst->child[0] = src->left;
				dst->child[1] = src->left + 1;
				dst->feature = src->feature;
				dst->default_left = src->default_left;
				values[start + i] = 0.0;
				depth[start + src->left] = depth[start + src->left + 1] = depth[start + i] + 1;
			}
		}
	}
	free(depth);
	*nodes_out = nodes;
	*trees_out = trees;
	*values_out = values;
	return true;
}

/*
 * Many rows: a block of rows goes through one tree, a level at a time for
 * all of them, so the tree stays in L1 and the rows' independent steps
 * overlap in the CPU.  Falls back to one row at a time when the plan does
 * not fit in memory.
 */
void
GbtPredictRows(const GbtModel *model, const double *x, size_t n_rows, double *out)
{
	PlanNode   *nodes;
	PlanTree   *trees;
	double	   *values;
	size_t		start;
	int			nf = model->n_features;

	if (n_rows < GBT_PREDICT_BLOCK || !PlanBuild(model, &nodes, &trees, &values))
	{
		for (start = 0; start < n_rows; start++)
			out[start] = GbtPredictRow(model, x + start * nf);
		return;
	}
	for (start = 0; start < n_rows; start += GBT_PREDICT_BLOCK)
	{
		size_t		count = n_rows - start < GBT_PREDICT_BLOCK ? n_rows - start : GBT_PREDICT_BLOCK;
		const double *block = x + start * nf;
		int32_t		idx[GBT_PREDICT_BLOCK];
		size_t		i;
		int			t;

		for (i = 0; i < count; i++)
			out[start + i] = model->base_score;
		for (t = 0; t < model->n_trees; t++)
		{
			const PlanNode *tree = nodes + trees[t].start;
			const double *value = values + trees[t].start;
			int			d;

			for (i = 0; i < count; i++)
				idx[i] = 0;
			for (d = 0; d < trees[t].depth; d++)
				for (i = 0; i < count; i++)
				{
					const PlanNode *node = &tree[idx[i]];
					double		v = block[i * nf + node->feature];
					int			right = !(v <= node->threshold);

					/* NaN compares false, so it goes right unless default_left */
					right ^= isnan(v) & node->default_left;
					idx[i] = node->child[right];
				}
			for (i = 0; i < count; i++)
				out[start + i] += value[idx[i]];
		}
	}
	free(nodes);
	free(trees);
	free(values);
}

/*
 * Everything prediction relies on, for models that did not come from
 * GbtTrain: tree offsets, nodes that form a tree (each child after its
 * parent, in range, with exactly one parent), depth within the limit,
 * feature indexes in range, finite numbers, unique names.
 */
bool
GbtModelCheck(const GbtModel *m, char error[GBT_ERROR_MAX])
{
	uint8_t    *depth_of = NULL;
	uint8_t    *parents = NULL;
	int			max_nodes;
	int			t;
	int			f;
	double		total = 0.0;

	if (!GbtParamsCheck(&m->params, error))
		return false;
	if (m->n_features < 1 || m->n_features > GBT_MAX_FEATURES)
		return Fail(error, "the number of features must be between 1 and %d, not %d",
					GBT_MAX_FEATURES, m->n_features);
	if (m->n_trees < 0 || m->n_trees > m->params.max_iter)
		return Fail(error, "the model has %d trees, more than max_iter (%d)",
					m->n_trees, m->params.max_iter);
	if (!isfinite(m->base_score))
		return Fail(error, "base_score must be finite");
	if (m->feature_names == NULL || m->importance == NULL || m->tree_start == NULL)
		return Fail(error, "the model is incomplete");
	for (f = 0; f < m->n_features; f++)
	{
		if (m->feature_names[f] == NULL || m->feature_names[f][0] == '\0' ||
			strlen(m->feature_names[f]) > GBT_MAX_NAME)
			return Fail(error, "feature name %d must be a non-empty string of at most %d bytes",
						f, GBT_MAX_NAME);
		if (!(m->importance[f] >= 0.0 && m->importance[f] <= 1.0))
			return Fail(error, "importance of feature %d must be between 0 and 1", f);
		total += m->importance[f];
	}
	if (total > 1.0 + 1e-6)
		return Fail(error, "feature importances must sum to at most 1, not %g", total);
	if (!GbtNamesUnique((const char *const *) m->feature_names, m->n_features, error))
		return false;

	max_nodes = (2 << m->params.max_depth) - 1;
	if (m->tree_start[0] != 0)
		return Fail(error, "the first tree must start at node 0");
	if (m->n_trees > 0 && m->nodes == NULL)
		return Fail(error, "the model has trees but no nodes");
	for (t = 0; t < m->n_trees; t++)
	{
		int32_t		n = m->tree_start[t + 1] - m->tree_start[t];

		if (n < 1 || n > max_nodes)
			return Fail(error, "tree %d has %d nodes; a tree of depth %d has 1 to %d",
						t, (int) n, m->params.max_depth, max_nodes);
	}
	depth_of = malloc(max_nodes);
	parents = malloc(max_nodes);
	if (depth_of == NULL || parents == NULL)
	{
		free(depth_of);
		free(parents);
		return Fail(error, "out of memory");
	}
	for (t = 0; t < m->n_trees; t++)
	{
		const GbtNode *tree = m->nodes + m->tree_start[t];
		int			n = m->tree_start[t + 1] - m->tree_start[t];
		int			i;

		memset(parents, 0, n);
		depth_of[0] = 0;
		for (i = 0; i < n; i++)
		{
			const GbtNode *node = &tree[i];

			if (i > 0 && parents[i] != 1)
			{
				Fail(error, "tree %d: node %d has %s", t, i,
					 parents[i] == 0 ? "no parent" : "more than one parent");
				goto fail;
			}
			if (!isfinite(node->value))
			{
				Fail(error, "tree %d: node %d has a value that is not finite", t, i);
				goto fail;
			}
			if (node->feature < 0)
			{
				if (node->feature != -1 || node->left != 0)
				{
					Fail(error, "tree %d: leaf %d must have feature -1 and no children", t, i);
					goto fail;
				}
				continue;
			}
			if (node->feature >= m->n_features)
			{
				Fail(error, "tree %d: node %d splits on feature %d, but the model has %d",
					 t, i, node->feature, m->n_features);
				goto fail;
			}
			if (node->left <= i || node->left >= n - 1)
			{
				Fail(error, "tree %d: node %d has children %d and %d; they must come after it, below %d",
					 t, i, (int) node->left, (int) node->left + 1, n);
				goto fail;
			}
			if (depth_of[i] >= m->params.max_depth)
			{
				Fail(error, "tree %d: node %d splits at depth %d; max_depth is %d",
					 t, i, depth_of[i], m->params.max_depth);
				goto fail;
			}
			parents[node->left]++;
			parents[node->left + 1]++;
			depth_of[node->left] = depth_of[node->left + 1] = depth_of[i] + 1;
		}
	}
	free(depth_of);
	free(parents);
	return true;

fail:
	free(depth_of);
	free(parents);
	return false;
}

/* Attaches the stages rows are made with; their outputs must be the features. */
bool
GbtModelSetPipeline(GbtModel *model, struct GbtPipeline *pipeline, char error[GBT_ERROR_MAX])
{
	char	  **names;
	int			width = GbtPipelineWidth(pipeline);
	int			i;

	if (width != model->n_features)
		return Fail(error, "the pipeline makes %d features, the model has %d",
					width, model->n_features);
	names = GbtPipelineFeatureNames(pipeline);
	if (names == NULL)
		return Fail(error, "out of memory");
	for (i = 0; i < width; i++)
		if (strcmp(names[i], model->feature_names[i]) != 0)
		{
			Fail(error, "the pipeline's feature %d is \"%s\", the model's is \"%s\"",
				 i, names[i], model->feature_names[i]);
			GbtNamesFree(names, width);
			return false;
		}
	GbtNamesFree(names, width);
	GbtPipelineFree(model->pipeline);
	model->pipeline = pipeline;
	return true;
}

/* Frees a model from GbtTrain or GbtModelFromJson, its pipeline included. */
void
GbtModelFree(GbtModel *model)
{
	if (model == NULL)
		return;
	if (model->feature_names)
		GbtNamesFree(model->feature_names, model->n_features);
	free(model->tree_start);
	free(model->nodes);
	free(model->importance);
	GbtPipelineFree(model->pipeline);
	free(model);
}
