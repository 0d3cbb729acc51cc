/*
 * gbt_train.c - gradient-boosted regression trees: training
 *
 * Training works on histograms: each feature is cut once into at most
 * max_bins quantile bins and the rows are recoded as a column-major uint8
 * matrix; each tree then grows depth-wise, level by level, and a node's
 * best split is found from per-bin sums of gradients and row counts.  Of two
 * siblings only the smaller one's histogram is built from its rows; the
 * other is its parent's minus that one.  Each split also learns where
 * missing values go (the side that gains more).  The rows of a node are a
 * contiguous segment of one index array, kept in ascending order by stable
 * partitioning, so the column reads stay sequential.
 *
 * The loss is squared error: a row's gradient is prediction - label and its
 * hessian 1, so a bin's hessian sum is its row count.  The first prediction
 * is the mean label; a leaf adds -step_size * G / (rows + lambda).
 * Everything is single-threaded and summed in a fixed order, so a seed gives
 * the same model bit for bit.
 */
#include "gbt.h"
#include "gbt_pipeline.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values of a feature sorted to find its bin thresholds; more are sampled. */
#define GBT_SKETCH_ROWS (1 << 18)

/* Histograms kept from one level for the next; beyond, they are rebuilt. */
#define GBT_HIST_BUDGET ((size_t) 64 << 20)

/* Sums of one histogram bin. */
typedef struct HistBin
{
	double		g;				/* gradients */
	double		n;				/* rows (the hessian of squared loss) */
} HistBin;

/* The training matrix recoded as bins. */
typedef struct Binned
{
	size_t		n_rows;
	int			n_features;
	int		   *n_bins;			/* per feature; its missing code is n_bins */
	int		   *offset;			/* per feature: first slot in a histogram */
	int			n_slots;		/* histogram length: sum of n_bins + 1 */
	double	   *cuts;			/* per feature, cuts_stride thresholds */
	int			cuts_stride;
	uint8_t    *codes;			/* column-major: codes[f * n_rows + row] */
} Binned;

/* A node waiting to be split: its rows, sums and histogram. */
typedef struct LevelItem
{
	int			node;
	size_t		begin;
	size_t		end;
	double		g;
	double		n;
	bool		splittable;		/* deep and large enough to try */
	HistBin    *hist;			/* NULL until built */
} LevelItem;

typedef struct Split
{
	int			feature;
	int			bin;			/* left: codes <= bin */
	bool		default_left;
	double		gain;
	double		left_g;
	double		left_n;
} Split;

/* Scratch space of one training run. */
typedef struct Grower
{
	const GbtParams *params;
	const Binned *bins;
	uint32_t   *rows;			/* row ids, one segment per node */
	double	   *grad;			/* gradients, aligned with rows */
	uint32_t   *tmp_rows;
	double	   *tmp_grad;
	HistBin   **pool;			/* free histograms */
	int			pool_count;
	int			pool_size;
	int			hist_alive;		/* histograms taken and not given back */
	int			hist_budget;	/* keep no more for later than this */
	LevelItem  *level;			/* nodes of the depth being split */
	LevelItem  *next;			/* their children */
	LevelItem  *leaves;
	int			level_cap;
	GbtNode    *tree;			/* the tree being grown */
	int		   *split_bin;		/* per node of tree: bin of its split */
	int			n_nodes;
	double	   *gain;			/* per feature, all trees */
	bool		identity;		/* rows[k] == k at the root */
} Grower;

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

/* splitmix64: a small seeded generator for row subsampling. */
static uint64_t
NextRandom(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A double's bits as an unsigned key that sorts in the double's order. */
static inline uint64_t
SortKey(double v)
{
	uint64_t	u;

	if (v == 0.0)
		v = 0.0;				/* -0 sorts as 0 */
	memcpy(&u, &v, sizeof(u));
	return (u & UINT64_C(0x8000000000000000)) ? ~u : u | UINT64_C(0x8000000000000000);
}

/* The double a SortKey came from. */
static inline double
KeyValue(uint64_t u)
{
	double		v;

	u = (u & UINT64_C(0x8000000000000000)) ? u & ~UINT64_C(0x8000000000000000) : ~u;
	memcpy(&v, &u, sizeof(v));
	return v;
}

/*
 * Sorts keys (LSD radix, a byte at a time, skipping bytes all keys share);
 * the sketch sorts up to GBT_SKETCH_ROWS values per feature, and qsort's
 * comparator calls would cost more than the histograms.
 */
static void
RadixSort(uint64_t *keys, uint64_t *tmp, size_t n)
{
	size_t		count[8][256];
	uint64_t   *out = keys;
	size_t		i;
	int			pass;

	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i++)
		for (pass = 0; pass < 8; pass++)
			count[pass][(keys[i] >> (8 * pass)) & 0xff]++;
	for (pass = 0; pass < 8; pass++)
	{
		size_t		sum = 0;
		int			b;
		uint64_t   *swap;

		if (n == 0 || count[pass][(keys[0] >> (8 * pass)) & 0xff] == n)
			continue;
		for (b = 0; b < 256; b++)
		{
			size_t		c = count[pass][b];

			count[pass][b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[pass][(keys[i] >> (8 * pass)) & 0xff]++] = keys[i];
		swap = keys;
		keys = tmp;
		tmp = swap;
	}
	if (keys != out)
		memcpy(out, keys, n * sizeof(uint64_t));
}

/* A threshold between two sorted distinct values a < b: a <= t < b. */
static double
Midpoint(double a, double b)
{
	double		mid = a / 2.0 + b / 2.0;

	if (!(mid >= a && mid < b))
		mid = a;
	return mid;
}

/*
 * Cuts one feature's sorted values into at most max_bins bins, never
 * between equal values; returns the number of thresholds written to cuts
 * (bins - 1).  With max_bins distinct values or fewer, each has its own
 * bin.  Otherwise a value holding at least 1/max_bins of the rows has its
 * own bin, and the other values share the remaining bins in runs of about
 * equal counts.  uniq and count are scratch space for n items.
 */
static int
QuantileCuts(const double *sorted, size_t n, int max_bins, double *cuts,
			 double *uniq, size_t *count)
{
	size_t		n_uniq = 0;
	size_t		i,
				j;
	double		heavy = (double) n / max_bins;
	double		light_left = 0.0;
	int			heavy_left = 0;
	int			bins_left = max_bins;
	int			n_cuts = 0;

	for (i = 0; i < n; i++)
	{
		if (n_uniq > 0 && sorted[i] == uniq[n_uniq - 1])
			count[n_uniq - 1]++;
		else
		{
			uniq[n_uniq] = sorted[i];
			count[n_uniq++] = 1;
		}
	}
	if (n_uniq <= (size_t) max_bins)
	{
		for (j = 1; j < n_uniq; j++)
			cuts[n_cuts++] = Midpoint(uniq[j - 1], uniq[j]);
		return n_cuts;
	}

	for (j = 0; j < n_uniq; j++)
	{
		if ((double) count[j] >= heavy)
			heavy_left++;
		else
			light_left += (double) count[j];
	}
	j = 0;
	while (j < n_uniq && bins_left > 1)
	{
		if ((double) count[j] >= heavy)
		{
			heavy_left--;
			j++;
		}
		else
		{
			int			light_bins = bins_left - heavy_left;
			double		target = light_left / (light_bins > 1 ? light_bins : 1);
			double		sum = 0.0;

			/* light values up to the next heavy one, while nearer the target */
			while (j < n_uniq && (double) count[j] < heavy &&
				   (sum == 0.0 || sum + (double) count[j] / 2.0 <= target))
			{
				sum += (double) count[j];
				j++;
			}
			light_left -= sum;
		}
		if (j < n_uniq)
			cuts[n_cuts++] = Midpoint(uniq[j - 1], uniq[j]);
		bins_left--;
	}
	return n_cuts;
}

/* The bin of x: the number of thresholds below it (branch-free search). */
static inline int
BinOf(const double *cuts, int n_cuts, double x)
{
	const double *p = cuts;
	int			len = n_cuts;

	if (len == 0)
		return 0;
	while (len > 1)
	{
		int			half = len / 2;

		p += (p[half - 1] < x) * half;	/* arithmetic, not a branch */
		len -= half;
	}
	return (int) (p - cuts) + (*p < x);
}

/* Frees the binned matrix and its thresholds. */
static void
BinnedFree(Binned *b)
{
	free(b->n_bins);
	free(b->offset);
	free(b->cuts);
	free(b->codes);
}

/*
 * Finds each feature's thresholds from (a sample of) its values and recodes
 * the matrix.  Rows are sampled at an even stride beyond GBT_SKETCH_ROWS,
 * which keeps the cuts independent of the seed.
 */
static bool
BinnedBuild(Binned *b, const double *x, size_t n_rows, int n_features,
			int max_bins, char *error)
{
	size_t		n_sample = n_rows < GBT_SKETCH_ROWS ? n_rows : GBT_SKETCH_ROWS;
	uint64_t   *keys = NULL;
	uint64_t   *tmp = NULL;
	double	   *sorted = NULL;
	double	   *uniq = NULL;
	size_t	   *count = NULL;
	size_t		i;
	int			f;

	memset(b, 0, sizeof(*b));
	b->n_rows = n_rows;
	b->n_features = n_features;
	b->cuts_stride = max_bins - 1;
	b->n_bins = calloc(n_features, sizeof(int));
	b->offset = calloc(n_features, sizeof(int));
	b->cuts = calloc((size_t) n_features * b->cuts_stride, sizeof(double));
	b->codes = malloc((size_t) n_features * n_rows);
	keys = malloc(n_sample * sizeof(uint64_t));
	tmp = malloc(n_sample * sizeof(uint64_t));
	sorted = malloc(n_sample * sizeof(double));
	uniq = malloc(n_sample * sizeof(double));
	count = malloc(n_sample * sizeof(size_t));
	if (!b->n_bins || !b->offset || !b->cuts || !b->codes || !keys || !tmp || !sorted ||
		!uniq || !count)
	{
		free(keys);
		free(tmp);
		free(sorted);
		free(uniq);
		free(count);
		BinnedFree(b);
		return Fail(error, "out of memory binning %zu rows of %d features", n_rows, n_features);
	}

	for (f = 0; f < n_features; f++)
	{
		size_t		m = 0;

		for (i = 0; i < n_sample; i++)
		{
			size_t		row = n_sample == n_rows ? i : (size_t) ((double) i * n_rows / n_sample);
			double		v = x[row * n_features + f];

			if (!isnan(v))
				keys[m++] = SortKey(v);
		}
		RadixSort(keys, tmp, m);
		for (i = 0; i < m; i++)
			sorted[i] = KeyValue(keys[i]);
		b->n_bins[f] = m == 0 ? 0 :
			QuantileCuts(sorted, m, max_bins, b->cuts + (size_t) f * b->cuts_stride,
						 uniq, count) + 1;
		b->offset[f] = b->n_slots;
		b->n_slots += b->n_bins[f] + 1;
	}
	free(keys);
	free(tmp);
	free(sorted);
	free(uniq);
	free(count);

	/* recode: row-major reads, one sequential write stream per feature */
	for (i = 0; i < n_rows; i++)
	{
		const double *row = x + i * n_features;

		for (f = 0; f < n_features; f++)
		{
			double		v = row[f];
			int			code = isnan(v) ? b->n_bins[f]
				: BinOf(b->cuts + (size_t) f * b->cuts_stride, b->n_bins[f] - 1, v);

			b->codes[(size_t) f * n_rows + i] = (uint8_t) code;
		}
	}
	return true;
}

/* A histogram from the pool, or a new one. */
static HistBin *
HistTake(Grower *g)
{
	HistBin    *h;

	if (g->pool_count > 0)
		h = g->pool[--g->pool_count];
	else
		h = malloc((size_t) g->bins->n_slots * sizeof(HistBin));
	if (h)
		g->hist_alive++;
	return h;
}

/* Back to the pool, for the next node or tree. */
static void
HistGive(Grower *g, HistBin *h)
{
	if (h == NULL)
		return;
	g->hist_alive--;
	if (g->pool_count == g->pool_size)
		free(h);
	else
		g->pool[g->pool_count++] = h;
}

/*
 * Sums gradients and counts per bin over rows [begin, end) of a node.  Up
 * to four features share one pass, so a row's id and gradient are loaded
 * once for all four.
 */
static void
HistBuild(const Grower *g, size_t begin, size_t end, HistBin *hist)
{
	const Binned *b = g->bins;
	const double *grad = g->grad;
	const uint32_t *rows = g->rows;
	bool		direct = g->identity && begin == 0 && end == b->n_rows;
	int			f = 0;

	memset(hist, 0, (size_t) b->n_slots * sizeof(HistBin));
	while (f < b->n_features)
	{
		const uint8_t *col[4];
		HistBin    *h[4];
		int			n = 0;
		size_t		k;

		/* the next (up to) four features with present values */
		for (; f < b->n_features && n < 4; f++)
		{
			if (b->n_bins[f] == 0)
				continue;		/* all missing: never split */
			col[n] = b->codes + (size_t) f * b->n_rows;
			h[n] = hist + b->offset[f];
			n++;
		}
		if (n == 4)
		{
			for (k = begin; k < end; k++)
			{
				size_t		r = direct ? k : rows[k];
				double		gk = grad[k];
				HistBin    *b0 = &h[0][col[0][r]];
				HistBin    *b1 = &h[1][col[1][r]];
				HistBin    *b2 = &h[2][col[2][r]];
				HistBin    *b3 = &h[3][col[3][r]];

				b0->g += gk;
				b0->n += 1.0;
				b1->g += gk;
				b1->n += 1.0;
				b2->g += gk;
				b2->n += 1.0;
				b3->g += gk;
				b3->n += 1.0;
			}
		}
		else
		{
			int			j;

			for (j = 0; j < n; j++)
				for (k = begin; k < end; k++)
				{
					HistBin    *bin = &h[j][col[j][direct ? k : rows[k]]];

					bin->g += grad[k];
					bin->n += 1.0;
				}
		}
	}
}

/* The loss reduction score of a node with these sums: G^2 / (H + lambda). */
static inline double
Score(double g, double n, double lambda)
{
	double		d = n + lambda;

	return d > 0.0 ? g * g / d : 0.0;
}

/*
 * The best split of a node from its histogram, trying each threshold with
 * missing values on either side.  Returns false when no split keeps
 * min_instances_per_node rows on both sides with a positive gain of at
 * least min_info_gain per row.
 */
static bool
BestSplit(const Grower *g, const LevelItem *item, Split *best)
{
	const Binned *b = g->bins;
	double		lambda = g->params->lambda;
	double		min_n = (double) g->params->min_instances_per_node;
	double		parent = Score(item->g, item->n, lambda);
	int			f;

	memset(best, 0, sizeof(*best));
	best->feature = -1;
	for (f = 0; f < b->n_features; f++)
	{
		const HistBin *h = item->hist + b->offset[f];
		int			nb = b->n_bins[f];
		double		miss_g = h[nb].g;
		double		miss_n = h[nb].n;
		double		cum_g = 0.0;
		double		cum_n = 0.0;
		int			bin;

		for (bin = 0; bin < nb; bin++)
		{
			double		lg,
						ln,
						gain;

			if (h[bin].n == 0.0)
				continue;		/* same partition as the bin before */
			cum_g += h[bin].g;
			cum_n += h[bin].n;
			if (bin == nb - 1 && miss_n == 0.0)
				break;
			/* missing values to the right */
			ln = cum_n;
			lg = cum_g;
			if (ln >= min_n && item->n - ln >= min_n)
			{
				gain = Score(lg, ln, lambda) + Score(item->g - lg, item->n - ln, lambda) - parent;
				if (gain > best->gain)
				{
					best->gain = gain;
					best->feature = f;
					best->bin = bin;
					/* without missing values in training, follow the majority */
					best->default_left = miss_n == 0.0 && ln >= item->n - ln;
					best->left_g = lg;
					best->left_n = ln;
				}
			}
			/* missing values to the left */
			if (miss_n == 0.0 || bin == nb - 1)
				continue;
			ln = cum_n + miss_n;
			lg = cum_g + miss_g;
			if (ln >= min_n && item->n - ln >= min_n)
			{
				gain = Score(lg, ln, lambda) + Score(item->g - lg, item->n - ln, lambda) - parent;
				if (gain > best->gain)
				{
					best->gain = gain;
					best->feature = f;
					best->bin = bin;
					best->default_left = true;
					best->left_g = lg;
					best->left_n = ln;
				}
			}
		}
	}
	if (best->feature < 0)
		return false;
	return best->gain / item->n >= g->params->min_info_gain;
}

/*
 * Stable partition of a node's rows (and their gradients) by the split;
 * returns where the right child's rows begin.
 */
static size_t
Partition(Grower *g, const LevelItem *item, const Split *s)
{
	const Binned *b = g->bins;
	const uint8_t *col = b->codes + (size_t) s->feature * b->n_rows;
	int			bin = s->bin;
	int			missing = b->n_bins[s->feature];
	int			default_left = s->default_left;
	uint32_t   *rows = g->rows;
	double	   *grad = g->grad;
	size_t		l = item->begin;
	size_t		r = 0;
	size_t		k;

	for (k = item->begin; k < item->end; k++)
	{
		uint32_t	row = rows[k];
		double		gk = grad[k];
		int			code = col[row];
		int			left = (code <= bin) | ((code == missing) & default_left);

		/* write both ways, keep one: no branch to mispredict */
		rows[l] = row;
		grad[l] = gk;
		g->tmp_rows[r] = row;
		g->tmp_grad[r] = gk;
		l += left;
		r += !left;
	}
	memcpy(rows + l, g->tmp_rows, r * sizeof(uint32_t));
	memcpy(grad + l, g->tmp_grad, r * sizeof(double));
	return l;
}

/* Appends a leaf holding the node's step-scaled mean residual. */
static void
MakeLeaf(Grower *g, const LevelItem *item)
{
	GbtNode    *node = &g->tree[item->node];
	double		d = item->n + g->params->lambda;

	node->feature = -1;
	node->left = 0;
	node->default_left = 0;
	node->value = d > 0.0 ? -g->params->step_size * item->g / d : 0.0;
}

/* Gives back the histograms still held by a level's items. */
static void
ReleaseLevel(Grower *g, LevelItem *items, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		HistGive(g, items[i].hist);
		items[i].hist = NULL;
	}
}

/*
 * Grows one tree on the rows in g->rows[0, n_sampled) with their gradients,
 * depth-wise.  The leaves end in g->leaves (segments of g->rows).  Returns
 * the number of leaves, or -1 when out of memory.
 */
static int
GrowTree(Grower *g, size_t n_sampled)
{
	const GbtParams *p = g->params;
	double		min_split = 2.0 * p->min_instances_per_node;
	int			n_level = 1;
	int			n_next = 0;
	int			n_leaves = 0;
	int			depth;
	int			i;
	size_t		k;

	g->n_nodes = 1;
	g->level[0].node = 0;
	g->level[0].begin = 0;
	g->level[0].end = n_sampled;
	g->level[0].g = 0.0;
	for (k = 0; k < n_sampled; k++)
		g->level[0].g += g->grad[k];
	g->level[0].n = (double) n_sampled;
	g->level[0].splittable = p->max_depth > 0 && g->level[0].n >= min_split;
	g->level[0].hist = NULL;

	for (depth = 0; depth < p->max_depth && n_level > 0; depth++)
	{
		LevelItem  *swap;

		n_next = 0;

		for (i = 0; i < n_level; i++)
		{
			LevelItem  *item = &g->level[i];
			LevelItem  *kids;
			GbtNode    *node;
			Split		s;
			size_t		mid;
			int			small,
						large;
			HistBin    *h;

			if (item->splittable && item->hist == NULL)
			{
				/* first node, or its histogram did not fit the budget */
				item->hist = HistTake(g);
				if (item->hist == NULL)
					goto oom;
				HistBuild(g, item->begin, item->end, item->hist);
			}
			if (!item->splittable || !BestSplit(g, item, &s))
			{
				HistGive(g, item->hist);
				item->hist = NULL;
				g->leaves[n_leaves++] = *item;
				continue;
			}
			mid = Partition(g, item, &s);
			node = &g->tree[item->node];
			node->feature = (int16_t) s.feature;
			node->default_left = s.default_left;
			node->value = s.bin < g->bins->n_bins[s.feature] - 1
				? g->bins->cuts[(size_t) s.feature * g->bins->cuts_stride + s.bin]
				: DBL_MAX;		/* every present value left, missing right */
			node->left = g->n_nodes;
			g->split_bin[item->node] = s.bin;
			g->gain[s.feature] += s.gain;

			kids = &g->next[n_next];
			kids[0].node = g->n_nodes;
			kids[0].begin = item->begin;
			kids[0].end = mid;
			kids[0].g = s.left_g;
			kids[0].n = s.left_n;
			kids[1].node = g->n_nodes + 1;
			kids[1].begin = mid;
			kids[1].end = item->end;
			kids[1].g = item->g - s.left_g;
			kids[1].n = item->n - s.left_n;
			g->n_nodes += 2;
			n_next += 2;

			small = kids[0].n <= kids[1].n ? 0 : 1;
			large = 1 - small;
			kids[0].hist = kids[1].hist = NULL;
			kids[0].splittable = depth + 1 < p->max_depth && kids[0].n >= min_split;
			kids[1].splittable = depth + 1 < p->max_depth && kids[1].n >= min_split;
			if (!kids[small].splittable && !kids[large].splittable)
			{
				HistGive(g, item->hist);
				item->hist = NULL;
				continue;
			}
			h = HistTake(g);
			if (h == NULL)
				goto oom;
			HistBuild(g, kids[small].begin, kids[small].end, h);
			if (kids[large].splittable)
			{
				/* the parent's histogram becomes the larger child's */
				HistBin    *parent = item->hist;
				int			j;

				for (j = 0; j < g->bins->n_slots; j++)
				{
					parent[j].g -= h[j].g;
					parent[j].n -= h[j].n;
				}
				kids[large].hist = parent;
			}
			else
				HistGive(g, item->hist);
			item->hist = NULL;
			if (kids[small].splittable && g->hist_alive <= g->hist_budget)
				kids[small].hist = h;
			else
				HistGive(g, h);
		}
		swap = g->level;
		g->level = g->next;
		g->next = swap;
		n_level = n_next;
	}
	/* whatever is left at the last level is a leaf too */
	for (i = 0; i < n_level; i++)
	{
		HistGive(g, g->level[i].hist);
		g->level[i].hist = NULL;
		g->leaves[n_leaves++] = g->level[i];
	}
	for (i = 0; i < n_leaves; i++)
		MakeLeaf(g, &g->leaves[i]);
	return n_leaves;

oom:
	ReleaseLevel(g, g->level, n_level);
	ReleaseLevel(g, g->next, n_next);
	return -1;
}

/* Frees a training run's scratch space, pooled histograms included. */
static void
GrowerFree(Grower *g)
{
	int			i;

	for (i = 0; i < g->pool_count; i++)
		free(g->pool[i]);
	free(g->pool);
	free(g->rows);
	free(g->grad);
	free(g->tmp_rows);
	free(g->tmp_grad);
	free(g->level);
	free(g->next);
	free(g->leaves);
	free(g->tree);
	free(g->split_bin);
	free(g->gain);
}

/* Default names f0, f1, ... or copies of the caller's, checked. */
static char **
CopyNames(const char *const *names, int n, char *error)
{
	char	  **out = calloc(n, sizeof(char *));
	int			i;

	if (out == NULL)
	{
		Fail(error, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
	{
		if (names == NULL)
		{
			char		buf[32];

			snprintf(buf, sizeof(buf), "f%d", i);
			out[i] = GbtStrdup(buf);
		}
		else if (names[i] == NULL || names[i][0] == '\0' || strlen(names[i]) > GBT_MAX_NAME)
		{
			Fail(error, "feature name %d must be a non-empty string of at most %d bytes",
				 i, GBT_MAX_NAME);
			GbtNamesFree(out, n);
			return NULL;
		}
		else
			out[i] = GbtStrdup(names[i]);
		if (out[i] == NULL)
		{
			Fail(error, "out of memory");
			GbtNamesFree(out, n);
			return NULL;
		}
	}
	if (!GbtNamesUnique((const char *const *) out, n, error))
	{
		GbtNamesFree(out, n);
		return NULL;
	}
	return out;
}

/* Checks the data before any work. */
static bool
CheckData(const double *x, const double *y, size_t n_rows, int n_features, char *error)
{
	size_t		i;

	if (n_features < 1 || n_features > GBT_MAX_FEATURES)
		return Fail(error, "the number of features must be between 1 and %d, not %d",
					GBT_MAX_FEATURES, n_features);
	if (n_rows < 1 || n_rows > GBT_MAX_ROWS)
		return Fail(error, "the number of rows must be between 1 and %d, not %zu",
					GBT_MAX_ROWS, n_rows);
	if (x == NULL || y == NULL)
		return Fail(error, "no data");
	for (i = 0; i < n_rows; i++)
		if (!isfinite(y[i]) || fabs(y[i]) > GBT_MAX_ABS_LABEL)
			return Fail(error, "the label of row %zu must be a finite number of magnitude at most %g, not %g",
						i + 1, GBT_MAX_ABS_LABEL, y[i]);
	for (i = 0; i < n_rows * (size_t) n_features; i++)
		if (isinf(x[i]))
			return Fail(error, "feature %d of row %zu is infinite (use NaN for missing)",
						(int) (i % n_features), i / n_features + 1);
	return true;
}

/* Appends the grown tree to the model's node array. */
static bool
ModelAppendTree(GbtModel *m, const Grower *g, int *node_cap)
{
	int32_t		start = m->tree_start[m->n_trees];

	if (start + g->n_nodes > *node_cap)
	{
		int			cap = *node_cap * 2;
		GbtNode    *nodes;

		if (cap < start + g->n_nodes)
			cap = start + g->n_nodes;
		nodes = realloc(m->nodes, (size_t) cap * sizeof(GbtNode));
		if (nodes == NULL)
			return false;
		m->nodes = nodes;
		*node_cap = cap;
	}
	memcpy(m->nodes + start, g->tree, (size_t) g->n_nodes * sizeof(GbtNode));
	m->n_trees++;
	m->tree_start[m->n_trees] = start + g->n_nodes;
	return true;
}

/* Adds a new tree's output to every row's prediction, routing by bins. */
static void
UpdatePredictions(const Grower *g, double *pred, int n_leaves, bool all_rows_in_leaves)
{
	const Binned *b = g->bins;
	size_t		r;
	int			i;

	if (all_rows_in_leaves)
	{
		for (i = 0; i < n_leaves; i++)
		{
			const LevelItem *leaf = &g->leaves[i];
			double		v = g->tree[leaf->node].value;
			size_t		k;

			for (k = leaf->begin; k < leaf->end; k++)
				pred[g->rows[k]] += v;
		}
		return;
	}
	for (r = 0; r < b->n_rows; r++)
	{
		int			node = 0;

		while (g->tree[node].feature >= 0)
		{
			const GbtNode *nd = &g->tree[node];
			int			code = b->codes[(size_t) nd->feature * b->n_rows + r];
			int			left = code <= g->split_bin[node] ||
				(code == b->n_bins[nd->feature] && nd->default_left);

			node = nd->left + !left;
		}
		pred[r] += g->tree[node].value;
	}
}

/* Training: see the file header. */
GbtModel *
GbtTrain(const double *x, const double *y, size_t n_rows, int n_features,
		 const char *const *feature_names, const GbtParams *params,
		 char error[GBT_ERROR_MAX])
{
	GbtModel   *m = NULL;
	Binned		bins;
	Grower		g;
	double	   *pred = NULL;
	double		sum = 0.0;
	uint64_t	rng;
	size_t		i;
	int			node_cap = 0;
	int			max_nodes;
	int			t;
	bool		sample = params->subsampling_rate < 1.0;

	if (!GbtParamsCheck(params, error) || !CheckData(x, y, n_rows, n_features, error))
		return NULL;
	if (!BinnedBuild(&bins, x, n_rows, n_features, params->max_bins, error))
		return NULL;

	memset(&g, 0, sizeof(g));
	g.params = params;
	g.bins = &bins;
	/* a tree has at most 2^(depth+1) - 1 nodes and 2 * rows - 1 */
	max_nodes = (int) ((2 << params->max_depth) - 1);
	if ((size_t) max_nodes > 2 * n_rows - 1)
		max_nodes = (int) (2 * n_rows - 1);
	g.level_cap = (max_nodes + 1) / 2;
	/* histograms kept between levels: at most GBT_HIST_BUDGET bytes */
	g.hist_budget = (int) (GBT_HIST_BUDGET / ((size_t) bins.n_slots * sizeof(HistBin)));
	if (g.hist_budget < 4)
		g.hist_budget = 4;
	if (g.hist_budget > g.level_cap)
		g.hist_budget = g.level_cap;
	g.pool_size = g.hist_budget + 2;
	g.rows = malloc(n_rows * sizeof(uint32_t));
	g.grad = malloc(n_rows * sizeof(double));
	g.tmp_rows = malloc(n_rows * sizeof(uint32_t));
	g.tmp_grad = malloc(n_rows * sizeof(double));
	g.pool = malloc(g.pool_size * sizeof(HistBin *));
	g.level = malloc((size_t) g.level_cap * sizeof(LevelItem));
	g.next = malloc((size_t) g.level_cap * sizeof(LevelItem));
	g.leaves = malloc((size_t) g.level_cap * sizeof(LevelItem));
	g.tree = calloc(max_nodes, sizeof(GbtNode));
	g.split_bin = calloc(max_nodes, sizeof(int));
	g.gain = calloc(n_features, sizeof(double));
	pred = malloc(n_rows * sizeof(double));
	m = calloc(1, sizeof(GbtModel));
	if (m)
	{
		m->tree_start = calloc((size_t) params->max_iter + 1, sizeof(int32_t));
		m->importance = calloc(n_features, sizeof(double));
	}
	if (!g.rows || !g.grad || !g.tmp_rows || !g.tmp_grad || !g.pool || !g.level ||
		!g.next || !g.leaves || !g.tree || !g.split_bin || !g.gain || !pred || !m ||
		!m->tree_start || !m->importance)
	{
		Fail(error, "out of memory training on %zu rows", n_rows);
		goto fail;
	}
	m->params = *params;
	m->n_features = n_features;
	m->feature_names = CopyNames(feature_names, n_features, error);
	if (m->feature_names == NULL)
		goto fail;

	for (i = 0; i < n_rows; i++)
		sum += y[i];
	m->base_score = sum / (double) n_rows;
	for (i = 0; i < n_rows; i++)
		pred[i] = m->base_score;

	rng = params->seed;
	for (t = 0; t < params->max_iter; t++)
	{
		size_t		n_sampled = 0;
		int			n_leaves;

		if (sample)
		{
			/* Bernoulli draw per row, as Spark samples without replacement */
			uint64_t	cut = (uint64_t) ldexp(params->subsampling_rate, 64);

			for (i = 0; i < n_rows; i++)
				if ((NextRandom(&rng) >> 11) < (cut >> 11))
				{
					g.rows[n_sampled] = (uint32_t) i;
					g.grad[n_sampled++] = pred[i] - y[i];
				}
		}
		else
		{
			for (i = 0; i < n_rows; i++)
			{
				g.rows[i] = (uint32_t) i;
				g.grad[i] = pred[i] - y[i];
			}
			n_sampled = n_rows;
		}
		g.identity = !sample;
		n_leaves = GrowTree(&g, n_sampled);
		if (n_leaves < 0)
		{
			Fail(error, "out of memory growing tree %d", t + 1);
			goto fail;
		}
		if (!ModelAppendTree(m, &g, &node_cap))
		{
			Fail(error, "out of memory storing tree %d", t + 1);
			goto fail;
		}
		if (t + 1 < params->max_iter)
			UpdatePredictions(&g, pred, n_leaves, !sample);
	}

	{
		double		total = 0.0;
		int			f;

		for (f = 0; f < n_features; f++)
			total += g.gain[f];
		for (f = 0; f < n_features; f++)
			m->importance[f] = total > 0.0 ? g.gain[f] / total : 0.0;
	}
	free(pred);
	GrowerFree(&g);
	BinnedFree(&bins);
	return m;

fail:
	free(pred);
	GrowerFree(&g);
	BinnedFree(&bins);
	GbtModelFree(m);
	return NULL;
}
