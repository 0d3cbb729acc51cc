/*
 * gbt_pipeline.c - the stages that turn input columns into a model's rows
 *
 * The original Spark pipeline was: lag of the label per source IP ordered
 * by time (a window function), StringIndexer + OneHotEncoder on src_ip, a
 * VectorAssembler, then the booster.  Here each stage is pure logic over
 * arrays: the SQL glue reads the columns, these functions compute lags,
 * learn categories and assemble rows, and the model keeps the stages so
 * prediction assembles rows the same way.
 *
 * Categories are ordered as StringIndexer's default (frequencyDesc): by
 * descending count, ties by ascending string (byte order, which is Java's
 * order for ASCII).  A category not seen at fit time, or NULL, encodes as
 * all zeros.  drop_last reproduces OneHotEncoder's default of leaving out
 * the last category; without it each category has its own feature.
 */
#include "gbt_pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* A name must be non-empty and bounded. */
static bool
CheckName(const char *name, const char *what, char *error)
{
	if (name == NULL || name[0] == '\0')
		return Fail(error, "%s must be a non-empty string", what);
	if (strlen(name) > GBT_MAX_NAME)
		return Fail(error, "%s is longer than %d bytes", what, GBT_MAX_NAME);
	return true;
}

/* strdup, which C99 does not have. */
char *
GbtStrdup(const char *s)
{
	size_t		len = strlen(s) + 1;
	char	   *copy = malloc(len);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

/* Frees a list of names such as GbtPipelineFeatureNames returns. */
void
GbtNamesFree(char **names, int n)
{
	int			i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* qsort order of strings, byte by byte. */
static int
CompareNames(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* False (naming one) when a name is repeated; sorts a copy of the list. */
bool
GbtNamesUnique(const char *const *names, int n, char error[GBT_ERROR_MAX])
{
	const char **sorted;
	int			i;

	if (n < 2)
		return true;
	sorted = malloc(n * sizeof(char *));
	if (sorted == NULL)
		return Fail(error, "out of memory");
	memcpy(sorted, names, n * sizeof(char *));
	qsort(sorted, n, sizeof(char *), CompareNames);
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
		{
			Fail(error, "the name \"%.100s\" is used twice", sorted[i]);
			free(sorted);
			return false;
		}
	free(sorted);
	return true;
}

/* An empty pipeline predicting the column label. */
GbtPipeline *
GbtPipelineNew(const char *label, char error[GBT_ERROR_MAX])
{
	GbtPipeline *p;

	if (!CheckName(label, "the label column", error))
		return NULL;
	p = calloc(1, sizeof(GbtPipeline));
	if (p == NULL || (p->label = GbtStrdup(label)) == NULL)
	{
		free(p);
		Fail(error, "out of memory");
		return NULL;
	}
	return p;
}

/* Frees what a stage owns (not the stage, which lives in an array). */
static void
StageFree(GbtStage *s)
{
	free(s->input);
	free(s->output);
	free(s->partition_by);
	free(s->order_by);
	GbtNamesFree(s->categories, s->n_categories);
	free(s->by_name);
}

/* A new zeroed stage at the end, or NULL. */
static GbtStage *
StageAppend(GbtPipeline *p, GbtStageKind kind, const char *input, char *error)
{
	GbtStage   *stages;
	GbtStage   *s;

	if (!CheckName(input, "a stage's input column", error))
		return NULL;
	if (p->n_stages >= GBT_MAX_STAGES)
	{
		Fail(error, "a pipeline has at most %d stages", GBT_MAX_STAGES);
		return NULL;
	}
	stages = realloc(p->stages, (p->n_stages + 1) * sizeof(GbtStage));
	if (stages == NULL)
	{
		Fail(error, "out of memory");
		return NULL;
	}
	p->stages = stages;
	s = &stages[p->n_stages];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->input = GbtStrdup(input);
	if (s->input == NULL)
	{
		Fail(error, "out of memory");
		return NULL;
	}
	p->n_stages++;
	return s;
}

/* Drops the last stage again, when adding it failed half-way. */
static bool
StageUndo(GbtPipeline *p)
{
	StageFree(&p->stages[--p->n_stages]);
	return false;
}

/*
 * After a stage is added: the feature names must stay unique (a lag named
 * like a column, a category named like another feature).
 */
static bool
CheckNewNames(GbtPipeline *p, char *error)
{
	char	  **names = GbtPipelineFeatureNames(p);
	bool		ok;

	if (names == NULL)
		return Fail(error, "out of memory");
	ok = GbtNamesUnique((const char *const *) names, GbtPipelineWidth(p), error);
	GbtNamesFree(names, GbtPipelineWidth(p));
	return ok;
}

/* A numeric column used as it is. */
bool
GbtPipelineAddColumn(GbtPipeline *p, const char *input, char error[GBT_ERROR_MAX])
{
	if (StageAppend(p, GBT_STAGE_COLUMN, input, error) == NULL)
		return false;
	if (!CheckNewNames(p, error))
		return StageUndo(p);
	return true;
}

/* The previous value of input within partition_by, ordered by order_by. */
bool
GbtPipelineAddLag(GbtPipeline *p, const char *input, const char *output,
				  const char *partition_by, const char *order_by,
				  char error[GBT_ERROR_MAX])
{
	GbtStage   *s;

	if (!CheckName(output, "a lag's output name", error) ||
		!CheckName(partition_by, "a lag's partition column", error) ||
		!CheckName(order_by, "a lag's order column", error))
		return false;
	s = StageAppend(p, GBT_STAGE_LAG, input, error);
	if (s == NULL)
		return false;
	s->output = GbtStrdup(output);
	s->partition_by = GbtStrdup(partition_by);
	s->order_by = GbtStrdup(order_by);
	if (!s->output || !s->partition_by || !s->order_by)
	{
		Fail(error, "out of memory");
		return StageUndo(p);
	}
	if (!CheckNewNames(p, error))
		return StageUndo(p);
	return true;
}

/*
 * Sorts the category indexes by name into by_name, for binary search at
 * assembly; a merge sort, since qsort has no context argument and qsort_r
 * is not portable.  Also refuses repeated categories.
 */
static bool
IndexCategories(GbtStage *s, char *error)
{
	int			i;

	s->by_name = malloc((s->n_categories > 0 ? s->n_categories : 1) * sizeof(int));
	if (s->by_name == NULL)
		return Fail(error, "out of memory");
	for (i = 0; i < s->n_categories; i++)
		s->by_name[i] = i;
	{
		int		   *tmp = malloc((s->n_categories > 0 ? s->n_categories : 1) * sizeof(int));
		int			width;

		if (tmp == NULL)
			return Fail(error, "out of memory");
		for (width = 1; width < s->n_categories; width *= 2)
		{
			int			lo;

			for (lo = 0; lo < s->n_categories; lo += 2 * width)
			{
				int			mid = lo + width < s->n_categories ? lo + width : s->n_categories;
				int			hi = lo + 2 * width < s->n_categories ? lo + 2 * width : s->n_categories;
				int			a = lo,
							b = mid,
							k = lo;

				while (a < mid && b < hi)
					tmp[k++] = strcmp(s->categories[s->by_name[a]],
									  s->categories[s->by_name[b]]) <= 0
						? s->by_name[a++] : s->by_name[b++];
				while (a < mid)
					tmp[k++] = s->by_name[a++];
				while (b < hi)
					tmp[k++] = s->by_name[b++];
			}
			memcpy(s->by_name, tmp, s->n_categories * sizeof(int));
		}
		free(tmp);
	}
	for (i = 1; i < s->n_categories; i++)
		if (strcmp(s->categories[s->by_name[i - 1]], s->categories[s->by_name[i]]) == 0)
			return Fail(error, "the category \"%.100s\" of %.100s is listed twice",
						s->categories[s->by_name[i]], s->input);
	return true;
}

/* A one-hot stage with known categories, in the order given. */
bool
GbtPipelineAddOneHot(GbtPipeline *p, const char *input,
					 const char *const *categories, int n_categories,
					 bool drop_last, char error[GBT_ERROR_MAX])
{
	GbtStage   *s;
	int			i;

	if (n_categories < 0 || n_categories > GBT_MAX_CATEGORIES)
		return Fail(error, "a one-hot stage has at most %d categories, not %d",
					GBT_MAX_CATEGORIES, n_categories);
	for (i = 0; i < n_categories; i++)
		if (!CheckName(categories[i], "a category", error))
			return false;
	s = StageAppend(p, GBT_STAGE_ONE_HOT, input, error);
	if (s == NULL)
		return false;
	s->drop_last = drop_last;
	s->categories = calloc(n_categories > 0 ? n_categories : 1, sizeof(char *));
	if (s->categories == NULL)
	{
		Fail(error, "out of memory");
		return StageUndo(p);
	}
	for (i = 0; i < n_categories; i++)
	{
		s->categories[i] = GbtStrdup(categories[i]);
		s->n_categories++;
		if (s->categories[i] == NULL)
		{
			Fail(error, "out of memory");
			return StageUndo(p);
		}
	}
	if (!IndexCategories(s, error) || !CheckNewNames(p, error))
		return StageUndo(p);
	return true;
}

typedef struct CategoryCount
{
	const char *name;
	size_t		count;
} CategoryCount;

/* StringIndexer's frequencyDesc order: more rows first, then by name. */
static int
CompareCounts(const void *a, const void *b)
{
	const CategoryCount *x = a;
	const CategoryCount *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A one-hot stage whose categories are learned from the training values. */
bool
GbtPipelineFitOneHot(GbtPipeline *p, const char *input,
					 const char *const *values, size_t n_values,
					 bool drop_last, char error[GBT_ERROR_MAX])
{
	const char **sorted;
	CategoryCount *counts;
	const char **names;
	size_t		n = 0;
	size_t		n_counts = 0;
	size_t		i;
	bool		ok;

	sorted = malloc((n_values > 0 ? n_values : 1) * sizeof(char *));
	counts = malloc((n_values > 0 ? n_values : 1) * sizeof(CategoryCount));
	if (sorted == NULL || counts == NULL)
	{
		free(sorted);
		free(counts);
		return Fail(error, "out of memory");
	}
	/* NULL is no category, as empty strings are no name */
	for (i = 0; i < n_values; i++)
		if (values[i] != NULL && values[i][0] != '\0')
			sorted[n++] = values[i];
	qsort(sorted, n, sizeof(char *), CompareNames);
	for (i = 0; i < n; i++)
	{
		if (n_counts > 0 && strcmp(counts[n_counts - 1].name, sorted[i]) == 0)
			counts[n_counts - 1].count++;
		else
		{
			counts[n_counts].name = sorted[i];
			counts[n_counts].count = 1;
			n_counts++;
		}
	}
	if (n_counts > GBT_MAX_CATEGORIES)
	{
		free(sorted);
		free(counts);
		return Fail(error, "%.100s has %zu distinct values; a one-hot stage has at most %d",
					input ? input : "the column", n_counts, GBT_MAX_CATEGORIES);
	}
	qsort(counts, n_counts, sizeof(CategoryCount), CompareCounts);
	/* reuse sorted for the names in category order */
	names = sorted;
	for (i = 0; i < n_counts; i++)
		names[i] = counts[i].name;
	ok = GbtPipelineAddOneHot(p, input, names, (int) n_counts, drop_last, error);
	free(sorted);
	free(counts);
	return ok;
}

/* Features one stage makes. */
static int
StageWidth(const GbtStage *s)
{
	if (s->kind != GBT_STAGE_ONE_HOT)
		return 1;
	if (s->drop_last && s->n_categories > 0)
		return s->n_categories - 1;
	return s->n_categories;
}

/* Number of features the pipeline assembles: the model's n_features. */
int
GbtPipelineWidth(const GbtPipeline *p)
{
	int			width = 0;
	int			i;

	for (i = 0; i < p->n_stages; i++)
		width += StageWidth(&p->stages[i]);
	return width;
}

/* The assembled features' names (malloc'd, GbtNamesFree), or NULL. */
char	  **
GbtPipelineFeatureNames(const GbtPipeline *p)
{
	int			width = GbtPipelineWidth(p);
	char	  **names = calloc(width > 0 ? width : 1, sizeof(char *));
	int			k = 0;
	int			i;

	if (names == NULL)
		return NULL;
	for (i = 0; i < p->n_stages; i++)
	{
		const GbtStage *s = &p->stages[i];
		int			j;

		switch (s->kind)
		{
			case GBT_STAGE_COLUMN:
				names[k++] = GbtStrdup(s->input);
				break;
			case GBT_STAGE_LAG:
				names[k++] = GbtStrdup(s->output);
				break;
			case GBT_STAGE_ONE_HOT:
				for (j = 0; j < StageWidth(s); j++)
				{
					size_t		len = strlen(s->input) + strlen(s->categories[j]) + 2;

					names[k] = malloc(len);
					if (names[k])
						snprintf(names[k], len, "%s=%s", s->input, s->categories[j]);
					k++;
				}
				break;
		}
	}
	for (i = 0; i < width; i++)
		if (names[i] == NULL)
		{
			GbtNamesFree(names, width);
			return NULL;
		}
	return names;
}

/* The category's index in StringIndexer order, or -1 when unseen. */
int
GbtOneHotIndex(const GbtStage *stage, const char *value)
{
	int			lo = 0;
	int			hi = stage->n_categories;

	if (value == NULL)
		return -1;
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			idx = stage->by_name[mid];
		int			c = strcmp(stage->categories[idx], value);

		if (c == 0)
			return idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * One row of features from one value per stage (values[i] for stage i):
 * numbers as they are (NaN = missing), categories as 0/1.
 */
void
GbtPipelineAssemble(const GbtPipeline *p, const GbtStageValue *values, double *row)
{
	int			k = 0;
	int			i;

	for (i = 0; i < p->n_stages; i++)
	{
		const GbtStage *s = &p->stages[i];

		if (s->kind == GBT_STAGE_ONE_HOT)
		{
			int			width = StageWidth(s);
			int			idx = GbtOneHotIndex(s, values[i].text);
			int			j;

			for (j = 0; j < width; j++)
				row[k + j] = 0.0;
			if (idx >= 0 && idx < width)
				row[k + idx] = 1.0;
			k += width;
		}
		else
			row[k++] = values[i].number;
	}
}

/* Frees a pipeline and its stages; NULL is fine. */
void
GbtPipelineFree(GbtPipeline *p)
{
	int			i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_stages; i++)
		StageFree(&p->stages[i]);
	free(p->stages);
	free(p->label);
	free(p);
}

typedef struct LagKey
{
	const char *entity;
	int64_t		time;
	size_t		row;
} LagKey;

/* Entity (NULL first), then time, then input order: a total order. */
static int
CompareLagKeys(const void *a, const void *b)
{
	const LagKey *x = a;
	const LagKey *y = b;
	int			c;

	if (x->entity != y->entity)
	{
		if (x->entity == NULL)
			return -1;
		if (y->entity == NULL)
			return 1;
		c = strcmp(x->entity, y->entity);
		if (c != 0)
			return c;
	}
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return 0;
}

/*
 * lag[i] = value of the row just before row i among the rows of the same
 * entity ordered by time (SQL's lag(value) OVER (PARTITION BY entity ORDER
 * BY time)), NaN for an entity's first row.  Rows with equal times keep
 * their input order.  NULL entities form one group, as in SQL.
 */
bool
GbtLag(const char *const *entity, const int64_t *time, const double *value,
	   size_t n, double *lag, char error[GBT_ERROR_MAX])
{
	LagKey	   *keys = malloc((n > 0 ? n : 1) * sizeof(LagKey));
	size_t		i;

	if (keys == NULL)
		return Fail(error, "out of memory");
	for (i = 0; i < n; i++)
	{
		keys[i].entity = entity[i];
		keys[i].time = time[i];
		keys[i].row = i;
	}
	qsort(keys, n, sizeof(LagKey), CompareLagKeys);
	for (i = 0; i < n; i++)
	{
		bool		same = i > 0 &&
			(keys[i - 1].entity == keys[i].entity ||
			 (keys[i - 1].entity && keys[i].entity &&
			  strcmp(keys[i - 1].entity, keys[i].entity) == 0));

		lag[keys[i].row] = same ? value[keys[i - 1].row] : NAN;
	}
	free(keys);
	return true;
}
