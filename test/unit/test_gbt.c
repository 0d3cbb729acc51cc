/* Unit tests of gbt.c, gbt_pipeline.c and gbt_json.c: training, stages, model format. */
#include "postgres_fe.h"

#include <math.h>
#include <stdlib.h>

#include "gbt.h"
#include "gbt_pipeline.h"
#include "tap.h"

/* A valid model: tree 0 splits a <= 0.5, then b <= 2 on the left. */
static const char *const base_json =
"{\"format\": \"ipflow-gbt\", \"version\": 1,\n"
" \"params\": {\"max_iter\": 2, \"max_depth\": 2, \"step_size\": 0.1, \"max_bins\": 32,"
" \"min_instances_per_node\": 1, \"min_info_gain\": 0, \"subsampling_rate\": 1,"
" \"lambda\": 0, \"seed\": 0},\n"
" \"n_features\": 2, \"feature_names\": [\"a\", \"b\"], \"base_score\": 1.5,"
" \"importance\": [0.75, 0.25],\n"
" \"pipeline\": null,\n"
" \"trees\": [{\"feature\": [0, 1, -1, -1, -1], \"threshold\": [0.5, 2, 0, 0, 0],"
" \"default_left\": [true, false, false, false, false], \"left\": [1, 3, 0, 0, 0],"
" \"value\": [0, 0, 0.25, -0.5, 0.5]}]}";

/* Deterministic uniform numbers in [0, 1) for test data. */
static double
Uniform(uint64_t *state)
{
	*state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (double) (*state >> 11) * 0x1p-53;
}

/* base_json with the first occurrence of from replaced by to. */
static char *
Replace(const char *from, const char *to)
{
	const char *at = strstr(base_json, from);
	size_t		len = strlen(base_json) - strlen(from) + strlen(to);
	char	   *out = malloc(len + 1);

	if (at == NULL)
	{
		printf("# test bug: \"%s\" not in the base model\n", from);
		abort();
	}
	memcpy(out, base_json, at - base_json);
	strcpy(out + (at - base_json), to);
	strcat(out, at + strlen(from));
	return out;
}

/* Import must fail with a message containing because. */
static void
Rejects(const char *what, const char *json, size_t len, const char *because)
{
	char		error[GBT_ERROR_MAX] = "";
	GbtModel   *m = GbtModelFromJson(json, len, error);

	ok(m == NULL && strstr(error, because) != NULL, "rejects %s: %s", what,
	   m ? "(accepted)" : error);
	GbtModelFree(m);
}

static void
RejectsReplaced(const char *what, const char *from, const char *to, const char *because)
{
	char	   *json = Replace(from, to);

	Rejects(what, json, strlen(json), because);
	free(json);
}

static void
TestParams(void)
{
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	double		x[4] = {0, 1, 2, 3};
	double		y[4] = {0, 1, 2, 3};
	GbtModel   *m;
	int			i;

	GbtParamsDefault(&p);
	ok(GbtParamsCheck(&p, error), "the defaults are valid");
	ok(p.max_iter == 20 && p.max_depth == 5 && p.step_size == 0.1 && p.max_bins == 32 &&
	   p.min_instances_per_node == 1 && p.min_info_gain == 0.0 && p.subsampling_rate == 1.0 &&
	   p.lambda == 0.0, "the defaults are Spark's");

#define BAD(field_, value_, name_) \
	do { GbtParamsDefault(&p); p.field_ = value_; \
		ok(!GbtParamsCheck(&p, error) && strstr(error, name_) != NULL, \
		   "rejects " name_ " = " #value_ ": %s", error); } while (0)
	BAD(max_iter, -1, "max_iter");
	BAD(max_iter, 10001, "max_iter");
	BAD(max_depth, 17, "max_depth");
	BAD(step_size, 0.0, "step_size");
	BAD(step_size, 1.5, "step_size");
	BAD(max_bins, 1, "max_bins");
	BAD(max_bins, 256, "max_bins");
	BAD(min_instances_per_node, 0, "min_instances_per_node");
	BAD(min_info_gain, -0.5, "min_info_gain");
	BAD(min_info_gain, NAN, "min_info_gain");
	BAD(subsampling_rate, 0.0, "subsampling_rate");
	BAD(lambda, -1.0, "lambda");
#undef BAD

	GbtParamsDefault(&p);
	p.max_depth = 99;
	m = GbtTrain(x, y, 4, 1, NULL, &p, error);
	ok(m == NULL && strstr(error, "max_depth") != NULL, "training refuses bad params: %s", error);
	GbtParamsDefault(&p);
	m = GbtTrain(x, y, 0, 1, NULL, &p, error);
	ok(m == NULL && strstr(error, "rows") != NULL, "training refuses no rows: %s", error);
	m = GbtTrain(x, y, 4, 0, NULL, &p, error);
	ok(m == NULL && strstr(error, "features") != NULL, "training refuses no features: %s", error);
	y[2] = NAN;
	m = GbtTrain(x, y, 4, 1, NULL, &p, error);
	ok(m == NULL && strstr(error, "label of row 3") != NULL, "training refuses a NaN label: %s", error);
	y[2] = 2;
	x[1] = INFINITY;
	m = GbtTrain(x, y, 4, 1, NULL, &p, error);
	ok(m == NULL && strstr(error, "infinite") != NULL, "training refuses an infinite feature: %s", error);
	x[1] = 1;
	{
		const char *names[2] = {"a", "a"};
		double		x2[8] = {0, 1, 1, 2, 2, 3, 3, 4};

		m = GbtTrain(x2, y, 4, 2, names, &p, error);
		ok(m == NULL && strstr(error, "twice") != NULL, "training refuses repeated names: %s", error);
	}
	for (i = 0; i < 4; i++)
		y[i] = 7;
	m = GbtTrain(x, y, 4, 1, NULL, &p, error);
	ok(m != NULL && m->n_trees == 20 && m->tree_start[20] == 20 && m->base_score == 7.0 &&
	   GbtPredictRow(m, x) == 7.0, "a constant label: one leaf per tree, the mean");
	GbtModelFree(m);
}

static void
TestStepFunction(void)
{
	double		x[100],
				y[100];
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	GbtModel   *m;
	bool		exact = true;
	int			i;

	/* 20 distinct values: each has its own bin */
	for (i = 0; i < 100; i++)
	{
		x[i] = i % 20;
		y[i] = x[i] < 10 ? 1.0 : 3.0;
	}
	GbtParamsDefault(&p);
	p.max_iter = 1;
	p.max_depth = 1;
	p.step_size = 1.0;
	m = GbtTrain(x, y, 100, 1, NULL, &p, error);
	ok(m != NULL, "trains a step function");
	ok(m->base_score == 2.0, "the base score is the mean label");
	ok(m->nodes[0].feature == 0 && m->nodes[0].value == 9.5,
	   "the split is half-way between 9 and 10 (%g)", m->nodes[0].value);
	for (i = 0; i < 100; i++)
		exact &= GbtPredictRow(m, &x[i]) == y[i];
	ok(exact, "one tree with step 1 fits the step exactly");
	ok(GbtPredictRow(m, (double[]) {9.5}) == 1.0 && GbtPredictRow(m, (double[]) {9.6}) == 3.0,
	   "x <= threshold goes left");
	GbtModelFree(m);

	/* four steps, one tree of depth 2 */
	for (i = 0; i < 100; i++)
		y[i] = (double) ((i % 20) / 5) * 10.0;
	p.max_depth = 2;
	m = GbtTrain(x, y, 100, 1, NULL, &p, error);
	exact = m != NULL;
	for (i = 0; exact && i < 100; i++)
		exact &= fabs(GbtPredictRow(m, &x[i]) - y[i]) < 1e-12;
	ok(exact, "depth 2 fits four steps exactly");
	is_int(m->tree_start[1], 7, "into 7 nodes");
	GbtModelFree(m);

	/* a value holding most rows after rare ones: the rare ones keep their cuts */
	{
		double		xh[1000],
					yh[1000];

		for (i = 0; i < 1000; i++)
		{
			xh[i] = i < 24 ? (double) (i - 24) : 0.0;
			yh[i] = i < 24 ? (xh[i] < -12 ? 5.0 : 10.0) : 0.0;
		}
		p.max_depth = 2;
		p.max_bins = 32;
		m = GbtTrain(xh, yh, 1000, 1, NULL, &p, error);
		exact = m != NULL;
		for (i = 0; exact && i < 1000; i++)
			exact &= fabs(GbtPredictRow(m, &xh[i]) - yh[i]) < 1e-12;
		ok(exact, "rare values before a heavy one keep their own bins");
		GbtModelFree(m);

		/* more distinct values than bins, with a heavy value in the middle */
		for (i = 0; i < 1000; i++)
		{
			xh[i] = i < 100 ? (double) i : i < 900 ? 100.0 : (double) i;
			yh[i] = xh[i] <= 100.0 ? 1.0 : 2.0;
		}
		p.max_depth = 1;
		m = GbtTrain(xh, yh, 1000, 1, NULL, &p, error);
		ok(m != NULL && m->nodes[0].value == 500.0 &&
		   fabs(GbtPredictRow(m, (double[]) {100}) - 1.0) < 1e-12,
		   "a heavy value has a bin of its own (cut at %g)", m ? m->nodes[0].value : 0);
		GbtModelFree(m);
	}

	/* depth 0: a single leaf per tree, moving toward the mean of residuals */
	p.max_depth = 0;
	p.max_iter = 3;
	m = GbtTrain(x, y, 100, 1, NULL, &p, error);
	ok(m != NULL && m->tree_start[3] == 3 && GbtPredictRow(m, x) == m->base_score,
	   "max_depth 0 makes one-leaf trees");
	GbtModelFree(m);
}

/* Mean squared error of the first k trees on the training rows. */
static double
StagedMse(const GbtModel *m, const double *x, const double *y, int n, int nf, int k)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		d = GbtPredictRowTrees(m, x + i * nf, k) - y[i];

		sum += d * d;
	}
	return sum / n;
}

/* Random rows: y depends on features 0-2, feature 4 is noise, 5% missing. */
static void
MakeData(double *x, double *y, int n, int nf, uint64_t seed)
{
	uint64_t	s = seed;
	int			i,
				f;

	for (i = 0; i < n; i++)
	{
		double	   *row = x + i * nf;

		for (f = 0; f < nf; f++)
			row[f] = Uniform(&s) < 0.05 ? NAN : Uniform(&s) * 10.0;
		y[i] = (isnan(row[0]) ? 3.0 : sin(row[0])) * 4.0 + (isnan(row[1]) ? 0 : row[1]) +
			(row[2] > 5.0 ? 2.0 : 0.0) + Uniform(&s) * 0.1;
	}
}

static void
TestLossAndDeterminism(void)
{
	enum
	{
	N = 600, NF = 5};
	double	   *x = malloc(N * NF * sizeof(double));
	double	   *y = malloc(N * sizeof(double));
	double	   *out = malloc(N * sizeof(double));
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	GbtModel   *m,
			   *m2,
			   *m3;
	char	   *j1,
			   *j2,
			   *j3;
	double		prev;
	bool		monotone = true;
	bool		same = true;
	int			k,
				i;

	MakeData(x, y, N, NF, 1);
	GbtParamsDefault(&p);
	m = GbtTrain(x, y, N, NF, NULL, &p, error);
	ok(m != NULL && m->n_trees == 20, "trains 20 trees on %d rows", N);
	prev = StagedMse(m, x, y, N, NF, 0);
	for (k = 1; k <= 20; k++)
	{
		double		mse = StagedMse(m, x, y, N, NF, k);

		monotone &= mse <= prev * (1.0 + 1e-12);
		prev = mse;
	}
	ok(monotone, "training loss never increases with trees (last MSE %g, first %g)",
	   prev, StagedMse(m, x, y, N, NF, 0));
	ok(prev < 0.25 * StagedMse(m, x, y, N, NF, 0), "20 trees remove most of the error");
	ok(m->importance[0] > m->importance[4] && m->importance[1] > m->importance[4] &&
	   m->importance[4] < 0.05, "importance: signal above noise (%.3f %.3f %.3f %.3f %.3f)",
	   m->importance[0], m->importance[1], m->importance[2], m->importance[3], m->importance[4]);
	{
		double		total = 0.0;

		for (i = 0; i < NF; i++)
			total += m->importance[i];
		ok(fabs(total - 1.0) < 1e-12, "importances sum to 1");
	}
	GbtPredictRows(m, x, N, out);
	for (i = 0; i < N; i++)
		same &= out[i] == GbtPredictRow(m, x + i * NF);
	ok(same, "many rows predict as one row at a time, bit for bit");
	GbtPredictRows(m, x, 70, out);
	same = true;
	for (i = 0; i < 70; i++)
		same &= out[i] == GbtPredictRow(m, x + i * NF);
	ok(same, "also with a partial block");

	/* same seed, same model; another seed, another sample */
	p.subsampling_rate = 0.6;
	p.seed = 7;
	m2 = GbtTrain(x, y, N, NF, NULL, &p, error);
	m3 = GbtTrain(x, y, N, NF, NULL, &p, error);
	j2 = GbtModelToJson(m2, NULL);
	j3 = GbtModelToJson(m3, NULL);
	ok(j2 && j3 && strcmp(j2, j3) == 0, "the same seed gives the same model JSON");
	free(j3);
	GbtModelFree(m3);
	p.seed = 8;
	m3 = GbtTrain(x, y, N, NF, NULL, &p, error);
	j3 = GbtModelToJson(m3, NULL);
	j1 = GbtModelToJson(m, NULL);
	ok(strcmp(strstr(j2, "\"trees\""), strstr(j3, "\"trees\"")) != 0,
	   "subsampling with another seed gives other trees");
	ok(strcmp(strstr(j1, "\"trees\""), strstr(j2, "\"trees\"")) != 0,
	   "subsampling changes the trees");
	monotone = StagedMse(m2, x, y, N, NF, 20) < 0.3 * StagedMse(m2, x, y, N, NF, 0);
	ok(monotone, "a subsampled model still learns");
	free(j1);
	free(j2);
	free(j3);
	GbtModelFree(m2);
	GbtModelFree(m3);
	GbtModelFree(m);
	free(x);
	free(y);
	free(out);
}

static void
TestMissing(void)
{
	enum
	{
	N = 300};
	double		x[N],
				y[N];
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	GbtModel   *m;
	int			i;

	/* missing rows have their own label: a split sends them aside */
	for (i = 0; i < N; i++)
	{
		x[i] = i % 3 == 0 ? NAN : (double) i / N;
		y[i] = i % 3 == 0 ? 10.0 : 0.0;
	}
	GbtParamsDefault(&p);
	p.max_iter = 1;
	p.max_depth = 1;
	p.step_size = 1.0;
	m = GbtTrain(x, y, N, 1, NULL, &p, error);
	ok(m->nodes[0].feature == 0 && !m->nodes[0].default_left,
	   "missing values alone: they go right, present ones left");
	ok(fabs(GbtPredictRow(m, (double[]) {NAN}) - 10.0) < 1e-9 &&
	   fabs(GbtPredictRow(m, (double[]) {0.5})) < 1e-9, "and predict their own mean");
	GbtModelFree(m);

	/* missing rows look like the low values: they join them on the left */
	for (i = 0; i < N; i++)
	{
		x[i] = i % 3 == 0 ? NAN : (double) (i % 20) / 20;
		y[i] = i % 3 == 0 || x[i] < 0.5 ? 0.0 : 5.0;
	}
	m = GbtTrain(x, y, N, 1, NULL, &p, error);
	ok(m->nodes[0].default_left && m->nodes[0].value == 0.475,
	   "missing values learn to go left (threshold %g)", m->nodes[0].value);
	ok(GbtPredictRow(m, (double[]) {NAN}) == GbtPredictRow(m, (double[]) {0.1}) &&
	   fabs(GbtPredictRow(m, (double[]) {NAN})) < 1e-9, "and predict like low values");
	GbtModelFree(m);

	/* no missing values in training: they follow the larger side */
	for (i = 0; i < N; i++)
	{
		x[i] = (double) i;
		y[i] = i < 100 ? 1.0 : 2.0;
	}
	m = GbtTrain(x, y, N, 1, NULL, &p, error);
	ok(!m->nodes[0].default_left &&
	   GbtPredictRow(m, (double[]) {NAN}) == GbtPredictRow(m, (double[]) {250}),
	   "unseen missing values go with the majority (right)");
	GbtModelFree(m);

	/* all values of a feature missing: never split on */
	for (i = 0; i < N; i++)
	{
		x[i] = NAN;
		y[i] = i;
	}
	p.max_depth = 3;
	m = GbtTrain(x, y, N, 1, NULL, &p, error);
	ok(m != NULL && m->tree_start[1] == 1, "an all-missing feature is never split on");
	GbtModelFree(m);
}

/* Training rows per leaf, by routing each row through a tree. */
static int
SmallestLeaf(const GbtModel *m, int t, const double *x, int n, int nf)
{
	const GbtNode *tree = m->nodes + m->tree_start[t];
	int			n_nodes = m->tree_start[t + 1] - m->tree_start[t];
	int		   *count = calloc(n_nodes, sizeof(int));
	int			smallest = n;
	int			i;

	for (i = 0; i < n; i++)
	{
		int			node = 0;

		while (tree[node].feature >= 0)
		{
			double		v = x[i * nf + tree[node].feature];
			bool		left = isnan(v) ? tree[node].default_left : v <= tree[node].value;

			node = tree[node].left + (left ? 0 : 1);
		}
		count[node]++;
	}
	for (i = 0; i < n_nodes; i++)
		if (tree[i].feature < 0 && count[i] < smallest)
			smallest = count[i];
	free(count);
	return smallest;
}

static void
TestMinInstances(void)
{
	enum
	{
	N = 400, NF = 5};
	double	   *x = malloc(N * NF * sizeof(double));
	double	   *y = malloc(N * sizeof(double));
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	GbtModel   *m;
	int			smallest = N;
	int			t;

	MakeData(x, y, N, NF, 3);
	GbtParamsDefault(&p);
	m = GbtTrain(x, y, N, NF, NULL, &p, error);
	for (t = 0; t < m->n_trees; t++)
		if (SmallestLeaf(m, t, x, N, NF) < smallest)
			smallest = SmallestLeaf(m, t, x, N, NF);
	ok(smallest < 30, "with min_instances_per_node 1 some leaf is small (%d rows)", smallest);
	GbtModelFree(m);

	p.min_instances_per_node = 30;
	m = GbtTrain(x, y, N, NF, NULL, &p, error);
	smallest = N;
	for (t = 0; t < m->n_trees; t++)
		if (SmallestLeaf(m, t, x, N, NF) < smallest)
			smallest = SmallestLeaf(m, t, x, N, NF);
	ok(smallest >= 30, "with min_instances_per_node 30 every leaf keeps 30 rows (%d)", smallest);
	GbtModelFree(m);

	p.min_instances_per_node = 1;
	p.min_info_gain = 1e9;
	m = GbtTrain(x, y, N, NF, NULL, &p, error);
	ok(m->tree_start[m->n_trees] == m->n_trees, "a huge min_info_gain allows no split");
	GbtModelFree(m);
	free(x);
	free(y);
}

static void
TestLag(void)
{
	/* two IPs and a NULL entity, rows out of time order */
	const char *ip[8] = {"10.0.0.2", "10.0.0.1", "10.0.0.2", "10.0.0.1", NULL, "10.0.0.1", NULL, "10.0.0.2"};
	int64_t		ts[8] = {300, 200, 100, 100, 50, 300, 60, 200};
	double		v[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
	double		want[8] = {8, 4, NAN, NAN, NAN, 2, 5, 3};
	double		lag[8];
	char		error[GBT_ERROR_MAX];
	bool		same = true;
	int			i;

	ok(GbtLag(ip, ts, v, 8, lag, error), "computes a lag");
	for (i = 0; i < 8; i++)
	{
		bool		eq = isnan(want[i]) ? isnan(lag[i]) : lag[i] == want[i];

		if (!eq)
			printf("#   row %d: got %g, want %g\n", i, lag[i], want[i]);
		same &= eq;
	}
	ok(same, "lag = previous value per entity by time; NaN first; a NaN value lags as NaN");
	ok(GbtLag(ip, ts, v, 0, lag, error), "no rows is fine");
}

static void
TestOneHotAndAssemble(void)
{
	/* counts: .7 x3, .1 x2, .3 x2, .9 x1: frequency, then string order */
	const char *ips[8] = {"10.0.0.3", "10.0.0.7", "10.0.0.1", "10.0.0.7", "10.0.0.3", "10.0.0.7",
	"10.0.0.9", "10.0.0.1"};
	const char *want[4] = {"10.0.0.7", "10.0.0.1", "10.0.0.3", "10.0.0.9"};
	char		error[GBT_ERROR_MAX];
	GbtPipeline *p = GbtPipelineNew("unq_dst_ip", error);
	GbtStageValue in[3];
	double		row[6];
	char	  **names;
	bool		order = true;
	int			i;

	ok(GbtPipelineFitOneHot(p, "src_ip", ips, 8, false, error), "fits a one-hot stage");
	is_int(p->stages[0].n_categories, 4, "4 categories");
	for (i = 0; i < 4; i++)
		order &= strcmp(p->stages[0].categories[i], want[i]) == 0;
	ok(order, "in StringIndexer order: by frequency, ties by string (%s %s %s %s)",
	   p->stages[0].categories[0], p->stages[0].categories[1],
	   p->stages[0].categories[2], p->stages[0].categories[3]);
	is_int(GbtOneHotIndex(&p->stages[0], "10.0.0.3"), 2, "index of a category");
	is_int(GbtOneHotIndex(&p->stages[0], "10.0.0.8"), -1, "an unseen category has none");
	ok(GbtPipelineAddLag(p, "unq_dst_ip", "prev_unq_dst_ip", "src_ip", "timestamp", error),
	   "adds a lag");
	ok(GbtPipelineAddColumn(p, "allow", error), "adds a column");
	is_int(GbtPipelineWidth(p), 6, "4 + 1 + 1 features");
	names = GbtPipelineFeatureNames(p);
	ok(strcmp(names[0], "src_ip=10.0.0.7") == 0 && strcmp(names[3], "src_ip=10.0.0.9") == 0 &&
	   strcmp(names[4], "prev_unq_dst_ip") == 0 && strcmp(names[5], "allow") == 0,
	   "feature names: %s ... %s, %s, %s", names[0], names[3], names[4], names[5]);
	GbtNamesFree(names, 6);

	in[0].text = "10.0.0.3";
	in[1].number = 12;
	in[2].number = NAN;
	GbtPipelineAssemble(p, in, row);
	ok(row[0] == 0 && row[1] == 0 && row[2] == 1 && row[3] == 0 && row[4] == 12 && isnan(row[5]),
	   "assembles one-hot, lag and column in order");
	in[0].text = "192.168.0.1";
	GbtPipelineAssemble(p, in, row);
	ok(row[0] == 0 && row[1] == 0 && row[2] == 0 && row[3] == 0, "an unseen IP is all zeros");
	in[0].text = NULL;
	GbtPipelineAssemble(p, in, row);
	ok(row[0] == 0 && row[1] == 0 && row[2] == 0 && row[3] == 0, "a NULL IP is all zeros");

	ok(!GbtPipelineAddColumn(p, "prev_unq_dst_ip", error) && strstr(error, "twice") != NULL &&
	   p->n_stages == 3, "a column named like the lag is refused: %s", error);
	ok(!GbtPipelineAddOneHot(p, "c", (const char *[]) {"x", "x"}, 2, false, error) &&
	   strstr(error, "twice") != NULL && p->n_stages == 3,
	   "repeated categories are refused: %s", error);
	ok(!GbtPipelineAddLag(p, "a", "", "b", "c", error) && strstr(error, "output") != NULL,
	   "an empty lag name is refused: %s", error);
	GbtPipelineFree(p);

	p = GbtPipelineNew("y", error);
	ok(GbtPipelineFitOneHot(p, "src_ip", ips, 8, true, error) && GbtPipelineWidth(p) == 3,
	   "drop_last leaves out the last category");
	in[0].text = "10.0.0.9";
	GbtPipelineAssemble(p, in, row);
	ok(row[0] == 0 && row[1] == 0 && row[2] == 0, "and encodes it as all zeros");
	GbtPipelineFree(p);
	ok(GbtPipelineNew("", error) == NULL && strstr(error, "label") != NULL,
	   "an empty label is refused: %s", error);
}

static void
TestJsonRoundTrip(void)
{
	enum
	{
	N = 400, NF = 5};
	const char *names[NF] = {"src_ip=10.0.0.7", "src_ip=10.0.0.1", "prev \"y\"", "allow", "b\\ytes\n"};
	const char *ips[3] = {"10.0.0.7", "10.0.0.1", "10.0.0.7"};
	double	   *x = malloc(N * NF * sizeof(double));
	double	   *y = malloc(N * sizeof(double));
	GbtParams	p;
	char		error[GBT_ERROR_MAX];
	GbtModel   *m,
			   *back;
	GbtPipeline *pipe;
	char	   *json,
			   *again;
	size_t		len;
	bool		same = true;
	int			i;

	MakeData(x, y, N, NF, 5);
	GbtParamsDefault(&p);
	p.lambda = 0.5;
	p.seed = UINT64_MAX;
	p.subsampling_rate = 0.8;
	m = GbtTrain(x, y, N, NF, names, &p, error);
	ok(m != NULL, "trains with names, lambda and a 64-bit seed");

	pipe = GbtPipelineNew("y", error);
	GbtPipelineFitOneHot(pipe, "src_ip", ips, 3, false, error);
	GbtPipelineAddLag(pipe, "y", "prev \"y\"", "src_ip", "ts", error);
	GbtPipelineAddColumn(pipe, "allow", error);
	ok(!GbtModelSetPipeline(m, pipe, error) && strstr(error, "5") != NULL,
	   "a pipeline of another width is refused: %s", error);
	GbtPipelineAddColumn(pipe, "bytes", error);
	ok(!GbtModelSetPipeline(m, pipe, error) && strstr(error, "bytes") != NULL,
	   "a pipeline with other names is refused: %s", error);
	GbtPipelineFree(pipe);
	pipe = GbtPipelineNew("y", error);
	GbtPipelineFitOneHot(pipe, "src_ip", ips, 3, false, error);
	GbtPipelineAddLag(pipe, "y", "prev \"y\"", "src_ip", "ts", error);
	GbtPipelineAddColumn(pipe, "allow", error);
	GbtPipelineAddColumn(pipe, "b\\ytes\n", error);
	ok(GbtModelSetPipeline(m, pipe, error), "attaches the pipeline");

	json = GbtModelToJson(m, &len);
	ok(json != NULL && len == strlen(json), "exports to JSON (%zu bytes)", len);
	back = GbtModelFromJson(json, len, error);
	ok(back != NULL, "imports it back: %s", back ? "ok" : error);
	for (i = 0; back && i < N; i++)
		same &= GbtPredictRow(m, x + i * NF) == GbtPredictRow(back, x + i * NF);
	ok(back && same, "predictions are equal after export and import, bit for bit");
	again = back ? GbtModelToJson(back, NULL) : NULL;
	ok(again && strcmp(json, again) == 0, "and it exports to the same text");
	ok(back && back->pipeline && back->pipeline->n_stages == 4 &&
	   GbtOneHotIndex(&back->pipeline->stages[0], "10.0.0.1") == 1 &&
	   strcmp(back->feature_names[4], "b\\ytes\n") == 0 && back->params.seed == UINT64_MAX,
	   "stages, escaped names and the seed survive");
	free(json);
	free(again);
	GbtModelFree(back);
	GbtModelFree(m);
	free(x);
	free(y);
}

#define TREE "{\"feature\": [0, 1, -1, -1, -1], \"threshold\": [0.5, 2, 0, 0, 0]," \
	" \"default_left\": [true, false, false, false, false], \"left\": [1, 3, 0, 0, 0]"

static void
TestImport(void)
{
	char		error[GBT_ERROR_MAX];
	GbtModel   *m = GbtModelFromJson(base_json, strlen(base_json), error);
	char		nul[] = "{\"format\": \"ipflow-gbt\"\0}";

	ok(m != NULL, "imports a hand-written model: %s", m ? "ok" : error);
	ok(m && GbtPredictRow(m, (double[]) {0.2, 1}) == 1.0 &&
	   GbtPredictRow(m, (double[]) {0.2, 3}) == 2.0 &&
	   GbtPredictRow(m, (double[]) {0.9, 1}) == 1.75 &&
	   GbtPredictRow(m, (double[]) {NAN, 3}) == 2.0 &&
	   GbtPredictRow(m, (double[]) {0.2, NAN}) == 2.0, "and predicts with it by hand");
	GbtModelFree(m);

	Rejects("an empty document", "", 0, "empty");
	Rejects("a truncated document", base_json, strlen(base_json) / 2, "not valid JSON");
	Rejects("a NUL byte", nul, sizeof(nul) - 1, "NUL");
	Rejects("an array", "[1, 2]", 6, "must be a JSON object");
	RejectsReplaced("another format", "ipflow-gbt", "xgboost", "model.format");
	RejectsReplaced("a future version", "\"version\": 1", "\"version\": 2", "reads version 1, not 2");
	RejectsReplaced("a version as text", "\"version\": 1", "\"version\": \"1\"", "must be an integer");
	RejectsReplaced("a missing key", "\"base_score\": 1.5,", "", "\"base_score\" is missing");
	RejectsReplaced("an unknown key", "\"pipeline\": null", "\"pipeline\": null, \"extra\": 1",
					"unknown key \"extra\"");
	RejectsReplaced("a repeated key", "\"base_score\": 1.5", "\"base_score\": 1.5, \"base_score\": 2",
					"appears twice");
	RejectsReplaced("a child out of range", "\"left\": [1, 3, 0, 0, 0]", "\"left\": [1, 7, 0, 0, 0]",
					"trees[0].left[1]: must be between 0 and 4");
	RejectsReplaced("a child past the end", "\"left\": [1, 3, 0, 0, 0]", "\"left\": [1, 4, 0, 0, 0]",
					"must come after it");
	RejectsReplaced("a cycle (a child before its parent)", "\"left\": [1, 3, 0, 0, 0]",
					"\"left\": [1, 0, 0, 0, 0]", "must come after it");
	RejectsReplaced("a node with two parents", TREE,
					"{\"feature\": [0, 1, 0, -1, -1], \"threshold\": [0.5, 2, 1, 0, 0],"
					" \"default_left\": [true, false, false, false, false], \"left\": [1, 3, 3, 0, 0]",
					"node 3 has more than one parent");
	RejectsReplaced("an orphan node", TREE,
					"{\"feature\": [0, -1, -1, -1, -1], \"threshold\": [0.5, 0, 0, 0, 0],"
					" \"default_left\": [true, false, false, false, false], \"left\": [1, 0, 0, 0, 0]",
					"node 3 has no parent");
	RejectsReplaced("a split below max_depth", TREE ", \"value\": [0, 0, 0.25, -0.5, 0.5]}]}",
					"{\"feature\": [0, -1, 0, -1, 0, -1, -1], \"threshold\": [1, 0, 2, 0, 3, 0, 0],"
					" \"default_left\": [true, false, false, false, false, false, false],"
					" \"left\": [1, 0, 3, 0, 5, 0, 0], \"value\": [0, 1, 0, 1, 0, 1, 1]}]}",
					"node 4 splits at depth 2; max_depth is 2");
	RejectsReplaced("a NaN threshold", "\"threshold\": [0.5,", "\"threshold\": [NaN,", "not valid JSON");
	RejectsReplaced("an infinite threshold", "\"threshold\": [0.5,", "\"threshold\": [1e999,",
					"must be a finite number");
	RejectsReplaced("an infinite leaf value", "-0.5, 0.5]", "-0.5, -1e400]", "finite");
	RejectsReplaced("a feature index out of range", "\"feature\": [0, 1,", "\"feature\": [0, 2,",
					"trees[0].feature[1]: must be between -1 and 1");
	RejectsReplaced("a huge feature count", "\"n_features\": 2", "\"n_features\": 1000000000",
					"n_features");
	RejectsReplaced("a huge max_depth", "\"max_depth\": 2", "\"max_depth\": 400", "max_depth");
	RejectsReplaced("more trees than max_iter", "\"max_iter\": 2", "\"max_iter\": 0",
					"more than params.max_iter");
	RejectsReplaced("a tree deeper than max_depth", "\"max_depth\": 2", "\"max_depth\": 1",
					"1 to 3 nodes");
	RejectsReplaced("a string threshold", "\"threshold\": [0.5,", "\"threshold\": [\"0.5\",",
					"must be a number, not a string");
	RejectsReplaced("a fractional feature index", "\"feature\": [0, 1,", "\"feature\": [0.5, 1,",
					"must be an integer");
	RejectsReplaced("a number for a boolean", "\"default_left\": [true,", "\"default_left\": [1,",
					"must be a boolean");
	RejectsReplaced("a short array", "-0.5, 0.5]", "-0.5]", "must have 5 items");
	RejectsReplaced("a leaf with children", "\"left\": [1, 3, 0, 0, 0]", "\"left\": [1, 3, 3, 0, 0]",
					"leaf 2");
	RejectsReplaced("a repeated feature name", "[\"a\", \"b\"]", "[\"a\", \"a\"]", "used twice");
	RejectsReplaced("a negative importance", "[0.75, 0.25]", "[0.75, -0.25]", "importance");
	RejectsReplaced("a pipeline of another width", "\"pipeline\": null",
					"\"pipeline\": {\"label\": \"y\", \"stages\": [{\"type\": \"column\", \"input\": \"a\"}]}",
					"makes 1 features, the model has 2");
	RejectsReplaced("an unknown stage", "\"pipeline\": null",
					"\"pipeline\": {\"label\": \"y\", \"stages\": [{\"type\": \"bucket\", \"input\": \"a\"}]}",
					"must be \"column\", \"lag\" or \"one_hot\"");
	RejectsReplaced("a pipeline naming other features", "\"pipeline\": null",
					"\"pipeline\": {\"label\": \"y\", \"stages\": [{\"type\": \"column\", \"input\": \"a\"},"
					" {\"type\": \"column\", \"input\": \"c\"}]}", "the model's is \"b\"");
	RejectsReplaced("a seed beyond 64 bits", "\"seed\": 0", "\"seed\": 18446744073709551616",
					"below 2^64");
	RejectsReplaced("a bad step size", "\"step_size\": 0.1", "\"step_size\": 0", "step_size");
	RejectsReplaced("an empty tree", "\"feature\": [0, 1, -1, -1, -1]", "\"feature\": []", "1 to 7");
}

int
main(void)
{
	TestParams();
	TestStepFunction();
	TestLossAndDeterminism();
	TestMissing();
	TestMinInstances();
	TestLag();
	TestOneHotAndAssemble();
	TestJsonRoundTrip();
	TestImport();
	return tap_done();
}
