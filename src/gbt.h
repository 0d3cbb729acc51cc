/*
 * gbt.h - gradient-boosted regression trees: training and prediction
 *
 * Input rows are a dense row-major matrix of doubles (row i is
 * x[i * n_features .. i * n_features + n_features - 1]), NaN meaning missing.
 * Row-major is the order rows come out of a query and the order one row is
 * predicted in; training reads the matrix once to bin it into a column-major
 * uint8 matrix, which is what the histogram loops stream over.
 */
#ifndef IPFLOW_GBT_H
#define IPFLOW_GBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for an error message, NUL included. */
#define GBT_ERROR_MAX 256

/* Parameter limits: GBT_{MIN,DEFAULT,MAX}_<PARAM>. */
#define GBT_MIN_MAX_ITER 0
#define GBT_DEFAULT_MAX_ITER 20
#define GBT_MAX_MAX_ITER 10000
#define GBT_MIN_MAX_DEPTH 0
#define GBT_DEFAULT_MAX_DEPTH 5
#define GBT_MAX_MAX_DEPTH 16
#define GBT_DEFAULT_STEP_SIZE 0.1
#define GBT_MIN_MAX_BINS 2
#define GBT_DEFAULT_MAX_BINS 32
#define GBT_MAX_MAX_BINS 255
#define GBT_MIN_MIN_INSTANCES 1
#define GBT_DEFAULT_MIN_INSTANCES 1
#define GBT_MAX_MIN_INSTANCES 2147483647
#define GBT_DEFAULT_MIN_INFO_GAIN 0.0
#define GBT_DEFAULT_SUBSAMPLING_RATE 1.0
#define GBT_DEFAULT_LAMBDA 0.0
#define GBT_MAX_LAMBDA 1e12
#define GBT_DEFAULT_SEED 0

/* Data limits. */
#define GBT_MAX_FEATURES 10000
#define GBT_MAX_ROWS 2147483647
#define GBT_MAX_ABS_LABEL 1e100
#define GBT_MAX_NAME 1024		/* bytes of a feature, column or category name */

/* Training parameters; the names and defaults are Spark GBTRegressor's. */
typedef struct GbtParams
{
	int			max_iter;		/* number of trees */
	int			max_depth;		/* 0: each tree is one leaf */
	double		step_size;		/* learning rate, in (0, 1] */
	int			max_bins;		/* histogram bins per feature */
	int			min_instances_per_node; /* rows each child must keep */
	double		min_info_gain;	/* least mean squared error reduction of a split */
	double		subsampling_rate;	/* fraction of rows drawn for each tree */
	double		lambda;			/* L2 penalty on leaf values */
	uint64_t	seed;			/* for subsampling */
} GbtParams;

/*
 * One node of a tree.  A tree's nodes are in breadth-first order, so a
 * child's index is always greater than its parent's; the right child is the
 * left one plus one.  A split sends x to the left when x <= value, and a
 * missing x (NaN) to the left when default_left.
 */
typedef struct GbtNode
{
	double		value;			/* split: threshold; leaf: output, step size included */
	int32_t		left;			/* split: left child, within the tree; leaf: 0 */
	int16_t		feature;		/* split: feature index; leaf: -1 */
	uint8_t		default_left;	/* split: where missing values go */
	uint8_t		pad;
} GbtNode;

struct GbtPipeline;

typedef struct GbtModel
{
	GbtParams	params;			/* as trained */
	int			n_features;
	char	  **feature_names;	/* n_features, unique */
	double		base_score;		/* mean label of the training rows */
	int			n_trees;
	int32_t    *tree_start;		/* n_trees + 1 offsets into nodes */
	GbtNode    *nodes;			/* every tree, one after the other */
	double	   *importance;		/* n_features: total split gain, sums to 1 (or all 0) */
	struct GbtPipeline *pipeline;	/* how rows are made from inputs, or NULL */
} GbtModel;

extern void GbtParamsDefault(GbtParams *params);
extern bool GbtParamsCheck(const GbtParams *params, char error[GBT_ERROR_MAX]);

/*
 * Trains on n_rows rows of x (row-major, NaN = missing) with labels y.
 * feature_names may be NULL (f0, f1, ... are used).  Returns NULL with a
 * message in error on bad input or when out of memory.
 */
extern GbtModel *GbtTrain(const double *x, const double *y, size_t n_rows,
						  int n_features, const char *const *feature_names,
						  const GbtParams *params, char error[GBT_ERROR_MAX]);

extern double GbtPredictRow(const GbtModel *model, const double *row);
extern double GbtPredictRowTrees(const GbtModel *model, const double *row, int n_trees);
extern void GbtPredictRows(const GbtModel *model, const double *x, size_t n_rows, double *out);

/* Checks a model's structure; for models built by hand or imported. */
extern bool GbtModelCheck(const GbtModel *model, char error[GBT_ERROR_MAX]);
extern bool GbtModelSetPipeline(GbtModel *model, struct GbtPipeline *pipeline,
								char error[GBT_ERROR_MAX]);
extern void GbtModelFree(GbtModel *model);

/* Model format: gbt_json.c. */
#define GBT_FORMAT_NAME "ipflow-gbt"
#define GBT_FORMAT_VERSION 1

extern char *GbtModelToJson(const GbtModel *model, size_t *len);
extern GbtModel *GbtModelFromJson(const char *json, size_t len, char error[GBT_ERROR_MAX]);

#endif
