/*
 * gbt_bench.c - the C side of the GBT benchmark (bench/gbt/bench.py runs it)
 *
 *   gbt_bench accuracy LOGS.csv OUTDIR
 *	   The original pipeline on the real logs: label unq_dst_ip; features
 *	   one-hot src_ip (categories learned on the training rows, StringIndexer
 *	   order), prev_unq_dst_ip (lag per IP by timestamp, over all rows as
 *	   Spark's window ran before the split), allow, drop, frequency,
 *	   pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port.  A row is
 *	   a test row when FNV-1a-64("<src_ip>,<timestamp>") % 4 == 0 (the text
 *	   as in the file), about 25%.  Writes OUTDIR/logs_features.csv (split,
 *	   label, assembled features) for the XGBoost side, and prints one JSON
 *	   line of results.
 *
 *   gbt_bench speed ROWS OUTDIR
 *	   ROWS synthetic rows of 10 features (1% missing), written to
 *	   OUTDIR/synth_x.f64 and synth_y.f64 (raw little-endian doubles,
 *	   row-major) for the XGBoost side; trains (best of 3 times), measures
 *	   peak memory and prediction speed, prints one JSON line.
 *
 *   gbt_bench agree OUTDIR
 *	   20000 rows of 6 integer features with 24 values and missing ones, so
 *	   every value has its own bin on both sides: then the trees must be
 *	   XGBoost's, up to its float32 arithmetic.  Writes agree_x.f64,
 *	   agree_y.f64 and our predictions agree_ours.f64.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "event.h"
#include "gbt.h"
#include "gbt_pipeline.h"

#define N_NUMERIC 8

static const char *const numeric_columns[N_NUMERIC] = {
	"allow", "drop", "frequency", "pkts_sent", "pkts_received", "bytesin", "bytesout", "unq_dst_port"
};

static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status in kB (VmRSS, VmHWM). */
static long
StatusKb(const char *field)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
		{
			kb = atol(line + strlen(field) + 1);
			break;
		}
	fclose(f);
	return kb;
}

static uint64_t
Fnv1a64(const char *s)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	for (; *s; s++)
	{
		h ^= (unsigned char) *s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static void
Die(const char *what, const char *detail)
{
	fprintf(stderr, "gbt_bench: %s: %s\n", what, detail);
	exit(1);
}

typedef struct Logs
{
	int			n;
	char	  **ip;
	int64_t    *ts;
	double	   *label;
	double	   *numeric;		/* n x N_NUMERIC */
	bool	   *test;
} Logs;

/* Reads the logs CSV: src_ip,unq_dst_ip,allow,...,unq_dst_port,timestamp. */
static void
ReadLogs(const char *path, Logs *logs)
{
	FILE	   *f = fopen(path, "r");
	char		line[1024];
	int			cap = 1024;

	if (f == NULL)
		Die(path, "cannot open");
	memset(logs, 0, sizeof(*logs));
	logs->ip = malloc(cap * sizeof(char *));
	logs->ts = malloc(cap * sizeof(int64_t));
	logs->label = malloc(cap * sizeof(double));
	logs->numeric = malloc(cap * N_NUMERIC * sizeof(double));
	logs->test = malloc(cap * sizeof(bool));
	if (fgets(line, sizeof(line), f) == NULL || strncmp(line, "src_ip,unq_dst_ip,allow", 23) != 0)
		Die(path, "unexpected header");
	while (fgets(line, sizeof(line), f))
	{
		char	   *field[11];
		char	   *p = line;
		char		key[128];
		int			k;
		int			i = logs->n;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		for (k = 0; k < 11; k++)
		{
			field[k] = p;
			p = strchr(p, ',');
			if (p == NULL && k < 10)
				Die(path, "a line has fewer than 11 fields");
			if (p)
				*p++ = '\0';
		}
		if (i == cap)
		{
			cap *= 2;
			logs->ip = realloc(logs->ip, cap * sizeof(char *));
			logs->ts = realloc(logs->ts, cap * sizeof(int64_t));
			logs->label = realloc(logs->label, cap * sizeof(double));
			logs->numeric = realloc(logs->numeric, cap * N_NUMERIC * sizeof(double));
			logs->test = realloc(logs->test, cap * sizeof(bool));
		}
		logs->ip[i] = GbtStrdup(field[0]);
		logs->label[i] = field[1][0] ? atof(field[1]) : NAN;
		for (k = 0; k < N_NUMERIC; k++)
			logs->numeric[i * N_NUMERIC + k] = field[2 + k][0] ? atof(field[2 + k]) : NAN;
		if (!EventParseTimestamp(field[10], strlen(field[10]), &logs->ts[i]))
			Die(field[10], "bad timestamp");
		snprintf(key, sizeof(key), "%s,%s", field[0], field[10]);
		logs->test[i] = Fnv1a64(key) % 4 == 0;
		logs->n++;
	}
	fclose(f);
}

static int
Accuracy(const char *csv, const char *outdir)
{
	Logs		logs;
	double	   *lag;
	const char **train_ips;
	GbtPipeline *pipe;
	GbtModel   *model;
	GbtModel   *back;
	GbtParams	params;
	char		error[GBT_ERROR_MAX];
	char		path[1024];
	char	  **names;
	double	   *x;
	double	   *y;
	double	   *test_x;
	double	   *test_y;
	int			width;
	int			n_train = 0;
	int			n_test = 0;
	int			i,
				k;
	double		t0,
				train_seconds,
				se_test = 0.0,
				se_train = 0.0;
	char	   *json;
	size_t		json_len;
	FILE	   *out;

	ReadLogs(csv, &logs);
	lag = malloc(logs.n * sizeof(double));
	if (!GbtLag((const char *const *) logs.ip, logs.ts, logs.label, logs.n, lag, error))
		Die("lag", error);

	/* categories come from the training rows only, as a fitted Spark pipeline */
	train_ips = malloc(logs.n * sizeof(char *));
	for (i = 0; i < logs.n; i++)
		if (!logs.test[i])
			train_ips[n_train++] = logs.ip[i];
	pipe = GbtPipelineNew("unq_dst_ip", error);
	if (pipe == NULL ||
		!GbtPipelineFitOneHot(pipe, "src_ip", train_ips, n_train, false, error) ||
		!GbtPipelineAddLag(pipe, "unq_dst_ip", "prev_unq_dst_ip", "src_ip", "timestamp", error))
		Die("pipeline", error);
	for (k = 0; k < N_NUMERIC; k++)
		if (!GbtPipelineAddColumn(pipe, numeric_columns[k], error))
			Die("pipeline", error);
	width = GbtPipelineWidth(pipe);
	names = GbtPipelineFeatureNames(pipe);

	x = malloc((size_t) logs.n * width * sizeof(double));
	y = malloc(logs.n * sizeof(double));
	test_x = malloc((size_t) logs.n * width * sizeof(double));
	test_y = malloc(logs.n * sizeof(double));
	snprintf(path, sizeof(path), "%s/logs_features.csv", outdir);
	out = fopen(path, "w");
	if (out == NULL)
		Die(path, "cannot write");
	fprintf(out, "test,src_ip,timestamp_us,label");
	for (k = 0; k < width; k++)
		fprintf(out, ",%s", names[k]);
	fprintf(out, "\n");
	n_train = 0;
	for (i = 0; i < logs.n; i++)
	{
		GbtStageValue in[2 + N_NUMERIC];
		double	   *row = logs.test[i] ? test_x + (size_t) n_test * width : x + (size_t) n_train * width;

		in[0].text = logs.ip[i];
		in[1].number = lag[i];
		for (k = 0; k < N_NUMERIC; k++)
			in[2 + k].number = logs.numeric[i * N_NUMERIC + k];
		GbtPipelineAssemble(pipe, in, row);
		if (logs.test[i])
			test_y[n_test++] = logs.label[i];
		else
			y[n_train++] = logs.label[i];
		fprintf(out, "%d,%s,%lld,%.17g", logs.test[i] ? 1 : 0, logs.ip[i],
				(long long) logs.ts[i], logs.label[i]);
		for (k = 0; k < width; k++)
			fprintf(out, ",%.17g", row[k]);
		fprintf(out, "\n");
	}
	fclose(out);

	GbtParamsDefault(&params);
	t0 = Now();
	model = GbtTrain(x, y, n_train, width, (const char *const *) names, &params, error);
	train_seconds = Now() - t0;
	if (model == NULL)
		Die("train", error);
	if (!GbtModelSetPipeline(model, pipe, error))
		Die("pipeline", error);
	for (i = 0; i < n_test; i++)
	{
		double		d = GbtPredictRow(model, test_x + (size_t) i * width) - test_y[i];

		se_test += d * d;
	}
	for (i = 0; i < n_train; i++)
	{
		double		d = GbtPredictRow(model, x + (size_t) i * width) - y[i];

		se_train += d * d;
	}

	/* the exported model predicts the same */
	json = GbtModelToJson(model, &json_len);
	back = json ? GbtModelFromJson(json, json_len, error) : NULL;
	if (back == NULL)
		Die("export and import", json ? error : "out of memory");
	for (i = 0; i < n_test; i++)
		if (GbtPredictRow(back, test_x + (size_t) i * width) !=
			GbtPredictRow(model, test_x + (size_t) i * width))
			Die("export and import", "predictions differ");
	snprintf(path, sizeof(path), "%s/logs_model.json", outdir);
	out = fopen(path, "w");
	if (out == NULL)
		Die(path, "cannot write");
	fwrite(json, 1, json_len, out);
	fclose(out);

	printf("{\"rows\": %d, \"train_rows\": %d, \"test_rows\": %d, \"features\": %d, "
		   "\"base_score\": %.17g, \"rmse_test\": %.17g, \"rmse_train\": %.17g, "
		   "\"train_seconds\": %.6f, \"model_json_bytes\": %zu, \"categories\": [",
		   logs.n, n_train, n_test, width, model->base_score,
		   sqrt(se_test / n_test), sqrt(se_train / n_train), train_seconds, json_len);
	for (k = 0; k < model->pipeline->stages[0].n_categories; k++)
		printf("%s\"%s\"", k ? ", " : "", model->pipeline->stages[0].categories[k]);
	printf("], \"importance\": {");
	for (k = 0; k < width; k++)
		printf("%s\"%s\": %.4f", k ? ", " : "", names[k], model->importance[k]);
	printf("}}\n");

	free(json);
	GbtModelFree(back);
	GbtModelFree(model);
	GbtNamesFree(names, width);
	for (i = 0; i < logs.n; i++)
		free(logs.ip[i]);
	free(logs.ip);
	free(logs.ts);
	free(logs.label);
	free(logs.numeric);
	free(logs.test);
	free(lag);
	free(train_ips);
	free(x);
	free(y);
	free(test_x);
	free(test_y);
	return 0;
}

/* splitmix64, for the synthetic data. */
static double
Uniform(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (double) ((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

/*
 * Synthetic rows: a smooth, a multiplicative and a step effect, an integer
 * count feature, a heavy-tailed feature, noise features; 1% missing.
 */
static void
Synthesize(double *x, double *y, size_t n)
{
	uint64_t	s = 42;
	size_t		i;
	int			f;

	for (i = 0; i < n; i++)
	{
		double	   *r = x + i * 10;
		double		v;

		for (f = 0; f < 10; f++)
			r[f] = Uniform(&s);
		r[4] = floor(r[4] * 20.0);	/* a count, 0-19 */
		r[5] = exp(r[5] * 20.0);	/* heavy-tailed, like bytes */
		v = 3.0 * sin(6.0 * r[0]) + 4.0 * r[1] * r[2] + (r[3] > 0.5 ? 2.0 : 0.0) +
			0.2 * r[4] + log(r[5]) * 0.1 + 0.5 * (Uniform(&s) - 0.5);
		for (f = 0; f < 10; f++)
			if (Uniform(&s) < 0.01)
				r[f] = NAN;
		y[i] = v;
	}
}

static void
WriteDoubles(const char *outdir, const char *name, const double *v, size_t n)
{
	char		path[1024];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(v, sizeof(double), n, f) != n)
		Die(path, "cannot write");
	fclose(f);
}

static int
Speed(size_t n, const char *outdir)
{
	double	   *x = malloc(n * 10 * sizeof(double));
	double	   *y = malloc(n * sizeof(double));
	double	   *out;
	GbtParams	params;
	GbtModel   *model = NULL;
	char		error[GBT_ERROR_MAX];
	double		best_train = 1e30,
				best_predict = 1e30,
				best_one = 1e30,
				se = 0.0;
	long		rss_before,
				hwm_after;
	size_t		i;
	int			rep;

	if (x == NULL || y == NULL)
		Die("synthetic data", "out of memory");
	Synthesize(x, y, n);
	WriteDoubles(outdir, "synth_x.f64", x, n * 10);
	WriteDoubles(outdir, "synth_y.f64", y, n);

	GbtParamsDefault(&params);
	rss_before = StatusKb("VmRSS");
	for (rep = 0; rep < 3; rep++)
	{
		double		t0 = Now();

		GbtModelFree(model);
		model = GbtTrain(x, y, n, 10, NULL, &params, error);
		if (model == NULL)
			Die("train", error);
		if (Now() - t0 < best_train)
			best_train = Now() - t0;
		if (rep == 0)
			hwm_after = StatusKb("VmHWM");
	}

	/* the output array is allocated after the training peak was read */
	out = malloc(n * sizeof(double));
	for (rep = 0; rep < 3; rep++)
	{
		double		t0 = Now();

		GbtPredictRows(model, x, n, out);
		if (Now() - t0 < best_predict)
			best_predict = Now() - t0;
	}
	for (rep = 0; rep < 3; rep++)
	{
		double		t0 = Now();

		for (i = 0; i < n; i++)
			out[i] = GbtPredictRow(model, x + i * 10);
		if (Now() - t0 < best_one)
			best_one = Now() - t0;
	}
	for (i = 0; i < n; i++)
		se += (out[i] - y[i]) * (out[i] - y[i]);

	printf("{\"rows\": %zu, \"features\": 10, \"train_seconds\": %.4f, "
		   "\"predict_rows_per_second\": %.0f, \"predict_one_row_rows_per_second\": %.0f, "
		   "\"rmse_train\": %.6f, "
		   "\"matrix_mb\": %.1f, \"rss_before_train_mb\": %.1f, \"peak_rss_mb\": %.1f, "
		   "\"train_extra_mb\": %.1f}\n",
		   n, best_train, (double) n / best_predict, (double) n / best_one, sqrt(se / (double) n),
		   (double) n * 10 * sizeof(double) / 1048576.0, rss_before / 1024.0,
		   hwm_after / 1024.0, (hwm_after - rss_before) / 1024.0);
	GbtModelFree(model);
	free(x);
	free(y);
	free(out);
	return 0;
}

/* Data on which our bins and XGBoost's coincide; see the file header. */
static int
Agree(const char *outdir)
{
	enum
	{
	N = 20000, F = 6};
	double	   *x = malloc(N * F * sizeof(double));
	double	   *y = malloc(N * sizeof(double));
	double	   *out = malloc(N * sizeof(double));
	uint64_t	s = 7;
	GbtParams	params;
	GbtModel   *model;
	char		error[GBT_ERROR_MAX];
	int			i,
				f;

	for (i = 0; i < N; i++)
	{
		double	   *r = x + i * F;

		for (f = 0; f < F; f++)
		{
			int			v = (int) (Uniform(&s) * 25);

			r[f] = v == 24 ? NAN : v;
		}
		y[i] = (isnan(r[0]) ? 90.0 : r[0] * r[0] / 10.0) + (isnan(r[1]) ? 5.0 : r[1]) -
			(r[2] > 12 ? 7.0 : 0.0) + 2.0 * Uniform(&s);
	}
	GbtParamsDefault(&params);
	model = GbtTrain(x, y, N, F, NULL, &params, error);
	if (model == NULL)
		Die("train", error);
	GbtPredictRows(model, x, N, out);
	WriteDoubles(outdir, "agree_x.f64", x, N * F);
	WriteDoubles(outdir, "agree_y.f64", y, N);
	WriteDoubles(outdir, "agree_ours.f64", out, N);
	printf("{\"rows\": %d, \"features\": %d, \"nodes\": %d}\n", N, F,
		   model->tree_start[model->n_trees]);
	GbtModelFree(model);
	free(x);
	free(y);
	free(out);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "accuracy") == 0)
		return Accuracy(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "speed") == 0)
		return Speed((size_t) atol(argv[2]), argv[3]);
	if (argc == 3 && strcmp(argv[1], "agree") == 0)
		return Agree(argv[2]);
	fprintf(stderr, "usage: gbt_bench accuracy LOGS.csv OUTDIR | speed ROWS OUTDIR | agree OUTDIR\n");
	return 2;
}
