/*
 * forecast.c - accuracy and fit time of the forecast core on the real logs
 *
 * For unq_dst_ip, frequency and bytesin of each IP of data/logs.csv (hourly,
 * business hours only) runs the rolling-origin protocol of the original
 * evaluation: 20 origins over the last 40 % of the series, 8 points ahead.
 * Prints per series the model's MASE next to the seasonal naive forecast's
 * (same origins, same points) and the coverage of the interval; then the
 * means over the series that are not constant in the test period, the
 * targets being MASE <= 0.85 and 95 % intervals covering 93 to 97 %, and
 * the same means for the original pipeline's Prophet settings in this
 * model; then the time one fit of a whole series takes (median and 90th
 * percentile of CPU and wall time over many fits).
 *
 * Usage: bench/bin/forecast data/logs.csv ['{"setting": value, ...}'] [fits per series]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forecast.h"

#define ORIGINS 20
#define HORIZON 8
#define TEST_FRACTION 0.4
#define MAX_SERIES 64

typedef struct Series
{
	char		ip[64];
	const char *feature;
	int			column;
	int			n;
	int			cap;
	double	   *ts;
	double	   *y;
} Series;

static const char *const Features[] = {"unq_dst_ip", "frequency", "bytesin"};
static const int FeatureColumns[] = {1, 4, 7};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long
DaysFromCivil(long y, long m, long d)
{
	long		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS" as seconds since the epoch (UTC). */
static double
ParseTimestamp(const char *text)
{
	int			y,
				mo,
				d,
				h,
				mi,
				s;

	if (sscanf(text, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6)
		return NAN;
	return (double) DaysFromCivil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + s;
}

/* The series of ip and feature, created on first use. */
static Series *
FindSeries(Series *all, int *count, const char *ip, int f)
{
	int			i;

	for (i = 0; i < *count; i++)
		if (strcmp(all[i].ip, ip) == 0 && all[i].column == FeatureColumns[f])
			return &all[i];
	if (*count == MAX_SERIES)
		return NULL;
	memset(&all[*count], 0, sizeof(Series));
	snprintf(all[*count].ip, sizeof(all[*count].ip), "%s", ip);
	all[*count].feature = Features[f];
	all[*count].column = FeatureColumns[f];
	return &all[(*count)++];
}

/* Reads the CSV into one series per IP and feature; false on a bad file. */
static bool
LoadCsv(const char *path, Series *all, int *count)
{
	FILE	   *file = fopen(path, "r");
	char		line[1024];
	bool		header = true;

	*count = 0;
	if (!file)
	{
		perror(path);
		return false;
	}
	while (fgets(line, sizeof(line), file))
	{
		char	   *fields[16];
		int			nfields = 0,
					f;
		char	   *p = line;
		double		ts;

		if (header)
		{
			header = false;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (nfields < 16)
		{
			fields[nfields++] = p;
			p = strchr(p, ',');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (nfields < 11 || isnan(ts = ParseTimestamp(fields[10])))
		{
			fprintf(stderr, "%s: bad line: %s\n", path, line);
			fclose(file);
			return false;
		}
		for (f = 0; f < 3; f++)
		{
			Series	   *s = FindSeries(all, count, fields[0], f);

			if (!s)
				break;
			if (s->n == s->cap)
			{
				s->cap = s->cap ? s->cap * 2 : 1024;
				s->ts = realloc(s->ts, sizeof(double) * s->cap);
				s->y = realloc(s->y, sizeof(double) * s->cap);
				if (!s->ts || !s->y)
				{
					fclose(file);
					return false;
				}
			}
			s->ts[s->n] = ts;
			s->y[s->n] = atof(fields[FeatureColumns[f]]);
			s->n++;
		}
	}
	fclose(file);
	return true;
}

/* Whether the test part of the series holds a single value. */
static bool
ConstantInTest(const Series *s)
{
	int			first = s->n - (int) floor(TEST_FRACTION * s->n + 0.5);
	int			i;

	for (i = first + 1; i < s->n; i++)
		if (s->y[i] != s->y[first])
			return false;
	return true;
}

/* Wall-clock seconds. */
static double
Seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec + now.tv_nsec / 1e9;
}

/* CPU seconds of this thread: unaffected by other processes on a shared machine. */
static double
CpuSeconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return now.tv_sec + now.tv_nsec / 1e9;
}

/* Orders doubles for qsort. */
static int
CompareDoubles(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Backtest every series, then time whole-series fits. */
int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "data/logs.csv";
	const char *json = argc > 2 ? argv[2] : "{}";
	int			fits_per_series = argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 100;
	Series		all[MAX_SERIES];
	ForecastParams params;
	ForecastError error;
	double		mase_sum = 0,
				naive_sum = 0,
				covered = 0,
				points = 0,
				all_covered = 0,
				all_points = 0,
				started;
	double	   *times,
			   *cpu;
	int			count,
				steps = 0,
				scored = 0,
				nfits = 0,
				i,
				r;

	if (!ForecastParamsFromJson(json, strlen(json), &params, &error))
	{
		fprintf(stderr, "bad settings: %s\n", error.message);
		return 2;
	}
	if (!LoadCsv(path, all, &count))
		return 2;

	printf("rolling origin: %d origins over the last %.0f %%, %d points ahead; settings %s\n\n",
		   ORIGINS, TEST_FRACTION * 100, HORIZON, json);
	printf("%-28s %6s %8s %8s %9s %8s  %s\n", "series", "points", "MASE", "naive", "coverage", "sMAPE", "");
	started = Seconds();
	for (i = 0; i < count; i++)
	{
		Series	   *s = &all[i];
		ForecastAccuracy acc;
		bool		constant = ConstantInTest(s);
		char		name[128];

		if (!ForecastBacktest(s->ts, s->y, s->n, &params, ORIGINS, HORIZON, TEST_FRACTION, &acc, &error))
		{
			fprintf(stderr, "%s %s: %s\n", s->ip, s->feature, error.message);
			return 1;
		}
		snprintf(name, sizeof(name), "%.60s %s", s->ip, s->feature);
		printf("%-28s %6d %8.3f %8.3f %9.3f %8.3f  %s\n", name, s->n, acc.mase, acc.naive_mase,
			   acc.coverage, acc.smape, constant ? "(constant in the test period: not scored)" : "");
		all_covered += acc.coverage * acc.points;
		all_points += acc.points;
		if (constant)
			continue;
		mase_sum += acc.mase;
		naive_sum += acc.naive_mase;
		covered += acc.coverage * acc.points;
		points += acc.points;
		scored++;
	}
	printf("\nmean over the %d series not constant in the test period:\n", scored);
	printf("  MASE %.3f (target <= 0.85), seasonal naive %.3f\n", mase_sum / scored, naive_sum / scored);
	printf("  coverage of the %.0f %% interval %.3f (target 0.93 to 0.97); all %d series %.3f\n",
		   params.interval_width * 100, covered / points, count, all_covered / all_points);
	printf("  backtest time %.2f s (%d fits)\n", Seconds() - started, count * ORIGINS);

	/* the same protocol with the original pipeline's Prophet settings */
	{
		const char *prophet = "{\"loss\":\"squared\",\"level_window\":0,"
			"\"seasonality_mode\":\"multiplicative\",\"daily_seasonality\":true}";
		ForecastParams baseline;

		ForecastParamsFromJson(prophet, strlen(prophet), &baseline, &error);
		mase_sum = covered = points = 0;
		for (i = 0; i < count; i++)
		{
			ForecastAccuracy acc;

			if (ConstantInTest(&all[i]))
				continue;
			if (!ForecastBacktest(all[i].ts, all[i].y, all[i].n, &baseline, ORIGINS, HORIZON,
								  TEST_FRACTION, &acc, &error))
			{
				fprintf(stderr, "%s %s: %s\n", all[i].ip, all[i].feature, error.message);
				return 1;
			}
			mase_sum += acc.mase;
			covered += acc.coverage * acc.points;
			points += acc.points;
		}
		printf("  Prophet's settings %s: MASE %.3f, coverage %.3f\n", prophet, mase_sum / scored,
			   covered / points);
	}

	times = malloc(sizeof(double) * count * fits_per_series);
	cpu = malloc(sizeof(double) * count * fits_per_series);
	if (!times || !cpu)
		return 1;
	for (r = 0; r < fits_per_series; r++)
		for (i = 0; i < count; i++)
		{
			double		t0 = Seconds(),
						c0 = CpuSeconds();
			ForecastModel *model = ForecastFit(all[i].ts, all[i].y, all[i].n, &params, &error);

			cpu[nfits] = CpuSeconds() - c0;
			times[nfits++] = Seconds() - t0;
			if (!model)
			{
				fprintf(stderr, "fit: %s\n", error.message);
				return 1;
			}
			if (r == 0)
				steps += model->iterations;
			ForecastFree(model);
		}
	qsort(times, nfits, sizeof(double), CompareDoubles);
	qsort(cpu, nfits, sizeof(double), CompareDoubles);
	printf("\nfit of a whole series (%d points), %d fits on one core, %.1f steps on average:\n",
		   all[0].n, nfits, (double) steps / count);
	printf("  CPU time:  median %.3f ms, p90 %.3f ms (target median <= 1 ms)\n",
		   cpu[nfits / 2] * 1e3, cpu[(int) (nfits * 0.9)] * 1e3);
	printf("  wall time: median %.3f ms, p90 %.3f ms\n",
		   times[nfits / 2] * 1e3, times[(int) (nfits * 0.9)] * 1e3);
	free(times);
	free(cpu);
	for (i = 0; i < count; i++)
	{
		free(all[i].ts);
		free(all[i].y);
	}
	return 0;
}
