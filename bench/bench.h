/*
 * bench/bench.h - what the C benchmarks share: the profiles of
 * data/logs.csv that the traffic generator draws from, and a CPU clock.
 */
#ifndef IPFLOW_BENCH_H
#define IPFLOW_BENCH_H

#include <time.h>

#include "profile.h"
#include "../test/unit/logs_csv.h"

/*
 * Seconds of this process's CPU time: on a shared machine the wall clock
 * also counts the time other processes had the core.  A system call: for
 * phases, not for single steps.
 */
static inline double
BenchCpuSeconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Loads data/logs.csv (run from the repository root) and learns a profile
 * of each of its IPs; false, with the reason printed, when it cannot.
 */
static inline bool
BenchLearnProfiles(Logs *logs, const Profile *profiles[LOGS_MAX_IPS])
{
	char		error[PROFILE_ERROR_MAX];
	int			i;

	if (!LogsLoad("data/logs.csv", logs))
		return false;
	for (i = 0; i < logs->nips; i++)
	{
		profiles[i] = ProfileLearn(logs->ips[i].rows, logs->ips[i].nrows, logs->ips[i].ip, error);
		if (profiles[i] == NULL)
		{
			fprintf(stderr, "%s\n", error);
			return false;
		}
	}
	return true;
}

/* Frees what BenchLearnProfiles made. */
static inline void
BenchFreeProfiles(Logs *logs, const Profile *profiles[LOGS_MAX_IPS])
{
	int			i;

	for (i = 0; i < logs->nips; i++)
		ProfileFree((Profile *) profiles[i]);
	LogsFree(logs);
}

#endif
