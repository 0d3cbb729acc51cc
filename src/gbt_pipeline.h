/*
 * gbt_pipeline.h - the stages that turn input columns into a model's rows
 */
#ifndef IPFLOW_GBT_PIPELINE_H
#define IPFLOW_GBT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gbt.h"

#define GBT_MAX_STAGES 1000
#define GBT_MAX_CATEGORIES 10000

typedef enum GbtStageKind
{
	GBT_STAGE_COLUMN,			/* a numeric column as it is */
	GBT_STAGE_LAG,				/* previous value of a column per entity */
	GBT_STAGE_ONE_HOT			/* one 0/1 feature per category of a text column */
} GbtStageKind;

/*
 * One stage makes one feature (column, lag) or one per kept category
 * (one-hot), named <input> (column), <output> (lag) or <input>=<category>.
 */
typedef struct GbtStage
{
	GbtStageKind kind;
	char	   *input;			/* source column */
	char	   *output;			/* lag: the feature's name */
	char	   *partition_by;	/* lag: entity column */
	char	   *order_by;		/* lag: time column */
	char	  **categories;		/* one-hot: StringIndexer order */
	int			n_categories;
	bool		drop_last;		/* one-hot: no feature for the last category */
	int		   *by_name;		/* one-hot: category indexes sorted by name */
} GbtStage;

typedef struct GbtPipeline
{
	char	   *label;			/* the column the model predicts */
	GbtStage   *stages;
	int			n_stages;
} GbtPipeline;

/* A stage's input for one row: the number, or the text of a one-hot stage. */
typedef struct GbtStageValue
{
	double		number;			/* NaN when NULL */
	const char *text;			/* NULL when NULL */
} GbtStageValue;

extern GbtPipeline *GbtPipelineNew(const char *label, char error[GBT_ERROR_MAX]);
extern bool GbtPipelineAddColumn(GbtPipeline *p, const char *input, char error[GBT_ERROR_MAX]);
extern bool GbtPipelineAddLag(GbtPipeline *p, const char *input, const char *output,
							  const char *partition_by, const char *order_by,
							  char error[GBT_ERROR_MAX]);
extern bool GbtPipelineAddOneHot(GbtPipeline *p, const char *input,
								 const char *const *categories, int n_categories,
								 bool drop_last, char error[GBT_ERROR_MAX]);
extern bool GbtPipelineFitOneHot(GbtPipeline *p, const char *input,
								 const char *const *values, size_t n_values,
								 bool drop_last, char error[GBT_ERROR_MAX]);
extern int	GbtPipelineWidth(const GbtPipeline *p);
extern char **GbtPipelineFeatureNames(const GbtPipeline *p);
extern void GbtPipelineAssemble(const GbtPipeline *p, const GbtStageValue *values, double *row);
extern int	GbtOneHotIndex(const GbtStage *stage, const char *value);
extern void GbtPipelineFree(GbtPipeline *p);

extern bool GbtLag(const char *const *entity, const int64_t *time, const double *value,
				   size_t n, double *lag, char error[GBT_ERROR_MAX]);

extern bool GbtNamesUnique(const char *const *names, int n, char error[GBT_ERROR_MAX]);
extern void GbtNamesFree(char **names, int n);
extern char *GbtStrdup(const char *s);

#endif
