/*
 * bench/anomaly.c - precision, recall and F1 of the streaming detector on
 * generated traffic, offline
 *
 * Generates IPS synthetic IPs over HOURS hours with the generator's default
 * anomaly mix and rate (as ipflow.generate_events does), feeds every event's
 * nine features through one detector state per IP and feature (as the
 * ingest worker does) and matches the alarms with the ground truth as
 * ipflow.evaluate_anomalies does: an incident (IP, kind, start) is found
 * when an alarm of its IP falls from its start to one hour after its end;
 * an alarm (IP, hour, any feature) is right when it falls in an incident's
 * window.  Run from the repository root:
 *
 *   make bench-anomaly && bench/bin/anomaly [IPS [HOURS [SEED [THRESHOLD [PARAMS [CLOCK]]]]]]
 *
 * BENCH_ANOMALY_DUMP=FILE writes every feature's result to FILE (to check
 * that a change of the detector's code changes no score).  With CLOCK 1, silences are also looked for as the stream's clock passes
 * each hour (AnomalySilence on every IP that had no event in it), as a
 * periodic sweep of the IPs would: the alarm is at the hour that saw it.
 */
#include "postgres_fe.h"

#include <time.h>

#include "anomaly.h"
#include "bench.h"
#include "generator.h"

#define US_PER_HOUR INT64CONST(3600000000)
/* Monday 2022-01-03 00:00 UTC, as the other benchmarks */
#define START_US INT64CONST(1641168000000000)

typedef struct Incident
{
	int			ip;
	int			kind;
	int64_t		start_us;
	int64_t		end_us;			/* exclusive: one hour after the last */
	int64_t		first_alarm_us; /* -1: not found */
} Incident;

typedef struct Alarm
{
	int			ip;
	int64_t		ts_us;
	int			reason;
	int			feature;
	bool		right;
} Alarm;

/*
 * The monotonic clock, read without a system call (the process CPU clock
 * is one, and cost more than the detector step it timed): on an otherwise
 * idle core, elapsed time is the step's CPU time.
 */
static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Appends to a malloc'd array, doubling it. */
#define PUSH(array, count, cap, value) do { \
	if ((count) == (cap)) { (cap) = (cap) ? 2 * (cap) : 1024; \
		(array) = realloc((array), (cap) * sizeof(*(array))); if (!(array)) exit(1); } \
	(array)[(count)++] = (value); } while (0)

int
main(int argc, char **argv)
{
	int			n_ips = argc > 1 ? atoi(argv[1]) : 200;
	int			hours = argc > 2 ? atoi(argv[2]) : 24 * 7 * 4;
	uint64_t	seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	double		threshold = argc > 4 ? atof(argv[4]) : 0.99;
	const char *json = argc > 5 ? argv[5] : "{}";
	bool		clock = argc > 6 && atoi(argv[6]) != 0;
	FILE	   *dump = getenv("BENCH_ANOMALY_DUMP") ? fopen(getenv("BENCH_ANOMALY_DUMP"), "w") : NULL;
	const Profile *profiles[LOGS_MAX_IPS];
	Logs		logs;
	Generator  *gen;
	GeneratorItem item;
	GeneratorOptions options;
	AnomalyParams params,
				values_only;
	AnomalyError aerror;
	AnomalyState *states;
	Incident   *incidents = NULL;
	long	   *last_incident;
	int64_t		clock_us = INT64_MIN;
	Alarm	   *alarms = NULL;
	size_t		nincidents = 0,
				cap_incidents = 0,
				nalarms = 0,
				cap_alarms = 0,
				i,
				j;
	char		error[GENERATOR_ERROR_MAX];
	long		events = 0,
				right = 0,
				reason_wrong[ANOMALY_NREASONS] = {0},
				feature_wrong[EVENT_NFEATURES] = {0},
				week_wrong[64] = {0};
	long		kind_total[GENERATOR_NKINDS] = {0},
				kind_found[GENERATOR_NKINDS] = {0},
				kind_right[GENERATOR_NKINDS] = {0};
	double		kind_delay[GENERATOR_NKINDS] = {0},
				start,
				cpu = 0,
				cpu_clock = 0,
				precision,
				recall;
	int			f;

	if (argc > 7 || n_ips < 1 || hours < 1 || !(threshold > 0 && threshold < 1))
	{
		fprintf(stderr, "usage: bench/bin/anomaly [IPS [HOURS [SEED [THRESHOLD [PARAMS [CLOCK]]]]]]\n");
		return 2;
	}
	if (!AnomalyParamsFromJson(json, strlen(json), &params, &aerror))
	{
		fprintf(stderr, "%s\n", aerror.message);
		return 2;
	}
	values_only = params;
	values_only.timing = false;
	if (!BenchLearnProfiles(&logs, profiles))
		return 1;
	GeneratorOptionsInit(&options);
	gen = GeneratorInit(profiles, logs.nips, n_ips, START_US, hours, seed, &options, error);
	states = calloc((size_t) n_ips * EVENT_NFEATURES, sizeof(AnomalyState));
	last_incident = malloc((size_t) n_ips * sizeof(long));
	if (gen == NULL || states == NULL || last_incident == NULL)
	{
		fprintf(stderr, "%s\n", gen ? "out of memory" : error);
		return 1;
	}
	for (i = 0; i < (size_t) n_ips; i++)
		last_incident[i] = -1;

	while (GeneratorNext(gen, &item))
	{
		int64_t		hour_us = item.ts_us - item.ts_us % US_PER_HOUR;
		double		best = 0;
		int			reason = 0,
					feature = 0;

		if (item.has_anomaly)
		{
			/*
			 * One incident per IP, kind and start.  An IP has one anomaly
			 * under way at a time, so an item continues the IP's last
			 * incident or starts one.  (A level shift is first reported at
			 * its first changed hour, after its start: incidents are not in
			 * start order.)
			 */
			long		last = last_incident[item.ip_index];

			if (last < 0 || incidents[last].start_us != item.anomaly.start_us ||
				incidents[last].kind != (int) item.anomaly.kind)
			{
				Incident	in = {item.ip_index, item.anomaly.kind, item.anomaly.start_us,
					item.anomaly.start_us + (item.anomaly.hours + 1) * US_PER_HOUR, -1};

				last_incident[item.ip_index] = (long) nincidents;
				PUSH(incidents, nincidents, cap_incidents, in);
			}
		}
		if (clock && hour_us > clock_us)
		{
			/* the stream reached a new hour: every IP's silence so far */
			int			k;

			start = Now();
			for (k = 0; k < n_ips; k++)
			{
				AnomalyState *first = &states[(size_t) k * EVENT_NFEATURES];
				AnomalyResult r;

				AnomalySilence(first, &params, hour_us / 1e6, &r);
				if (r.score >= threshold)
				{
					Alarm		a = {k, hour_us, r.reason, 0, false};

					PUSH(alarms, nalarms, cap_alarms, a);
					AnomalySilenceReported(first);
				}
			}
			cpu_clock += Now() - start;
		}
		clock_us = hour_us;
		if (!item.has_event)
			continue;
		events++;
		start = Now();
		{
			AnomalyResult results[EVENT_NFEATURES];
			AnomalyState *stepped_states[EVENT_NFEATURES];
			AnomalyResult *stepped[EVENT_NFEATURES];
			int			nstepped = 0;

			/* as the ingest worker: each feature, then the event across them */
			for (f = 0; f < EVENT_NFEATURES; f++)
			{
				AnomalyState *state = &states[(size_t) item.ip_index * EVENT_NFEATURES + f];

				if (!AnomalyStepLazy(state, f == 0 ? &params : &values_only,
									 item.ts_us / 1e6, (double) item.features[f], &results[f], &aerror))
				{
					memset(&results[f], 0, sizeof(results[f]));
					continue;
				}
				stepped_states[nstepped] = state;
				stepped[nstepped++] = &results[f];
			}
			AnomalyEventStep(stepped_states, stepped, nstepped, &params);
			cpu += Now() - start;
			if (dump)
				for (f = 0; f < EVENT_NFEATURES; f++)
					fprintf(dump, "%d %lld %d %.17g %.17g %.17g %.17g %d\n", item.ip_index,
							(long long) item.ts_us, f, results[f].score, results[f].expected,
							results[f].lower, results[f].upper, (int) results[f].reason);
			for (f = 0; f < EVENT_NFEATURES; f++)
				if (results[f].score > best)
				{
					best = results[f].score;
					reason = results[f].reason;
					feature = f;
				}
		}
		if (best >= threshold)
		{
			Alarm		a = {item.ip_index, item.ts_us, reason, feature, false};

			PUSH(alarms, nalarms, cap_alarms, a);
		}
	}

	/* match: both lists are in time order */
	for (i = 0; i < nincidents; i++)
		kind_total[incidents[i].kind]++;
	for (j = 0; j < nalarms; j++)
	{
		Alarm	   *a = &alarms[j];

		for (i = 0; i < nincidents; i++)
		{
			Incident   *in = &incidents[i];

			if (in->ip != a->ip || a->ts_us < in->start_us || a->ts_us >= in->end_us)
				continue;
			if (!a->right)
				kind_right[in->kind]++;
			a->right = true;
			if (in->first_alarm_us < 0)
				in->first_alarm_us = a->ts_us;
		}
		if (a->right)
			right++;
		else
		{
			reason_wrong[a->reason]++;
			feature_wrong[a->feature]++;
			week_wrong[Min(63, (a->ts_us - START_US) / (168 * US_PER_HOUR))]++;
		}
	}
	for (i = 0; i < nincidents; i++)
		if (incidents[i].first_alarm_us >= 0)
		{
			kind_found[incidents[i].kind]++;
			kind_delay[incidents[i].kind] += (incidents[i].first_alarm_us - incidents[i].start_us) / 3.6e9;
		}

	precision = nalarms ? (double) right / nalarms : 0;
	{
		long		found = 0;

		for (f = 0; f < GENERATOR_NKINDS; f++)
			found += kind_found[f];
		recall = nincidents ? (double) found / nincidents : 0;
	}
	printf("%d IPs x %d hours, seed %llu, threshold %g, params %s%s\n", n_ips, hours,
		   (unsigned long long) seed, threshold, json, clock ? ", silences also by the clock" : "");
	printf("%ld events, %zu incidents, %zu alarms (%ld right)\n", events, nincidents, nalarms, right);
	printf("overall: precision %.3f recall %.3f F1 %.3f\n", precision, recall,
		   precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0);
	for (f = 0; f < GENERATOR_NKINDS; f++)
	{
		/* false alarms cannot be told apart by kind: each kind gets its share */
		double		wrong = (double) (nalarms - right) * kind_total[f] / (nincidents ? nincidents : 1);
		double		p = kind_right[f] + wrong > 0 ? kind_right[f] / (kind_right[f] + wrong) : 0;
		double		r = kind_total[f] ? (double) kind_found[f] / kind_total[f] : 0;

		printf("  %-12s incidents %5ld found %5ld recall %.3f precision %.3f F1 %.3f delay %.2f h\n",
			   GeneratorAnomalyKindNames[f], kind_total[f], kind_found[f], r, p,
			   p + r > 0 ? 2 * p * r / (p + r) : 0, kind_found[f] ? kind_delay[f] / kind_found[f] : 0);
	}
	printf("false alarms by reason:");
	for (f = 0; f < ANOMALY_NREASONS; f++)
		printf(" %s %ld", AnomalyReasonNames[f], reason_wrong[f]);
	printf("\nfalse alarms by feature:");
	for (f = 0; f < EVENT_NFEATURES; f++)
		printf(" %s %ld", EventFeatureNames[f], feature_wrong[f]);
	printf("\nfalse alarms by week:");
	for (f = 0; f <= (hours - 1) / 168 && f < 64; f++)
		printf(" %ld", week_wrong[f]);
	printf("\ndetector: %.0f ns per feature value", cpu / events / EVENT_NFEATURES * 1e9);
	if (clock)
		printf("; the clock: %.0f ns per IP and hour", cpu_clock / n_ips / hours * 1e9);
	printf("\n");

	if (dump)
		fclose(dump);
	free(states);
	free(incidents);
	free(last_incident);
	free(alarms);
	GeneratorFree(gen);
	BenchFreeProfiles(&logs, profiles);
	return 0;
}
