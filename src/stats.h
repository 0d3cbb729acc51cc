/*
 * stats.h - running count, mean, variance, min and max, mergeable
 */
#ifndef IPFLOW_STATS_H
#define IPFLOW_STATS_H

#include <stdint.h>

typedef struct RunningStats
{
	int64_t		count;
	double		mean;
	double		m2;				/* sum of squared deviations from the mean */
	int64_t		min;
	int64_t		max;
	int64_t		first_ts;		/* any monotone time unit; caller's choice */
	int64_t		last_ts;
} RunningStats;

extern void StatsAdd(RunningStats *s, int64_t value, int64_t ts);
extern void StatsMerge(RunningStats *into, const RunningStats *other);
extern double StatsVariance(const RunningStats *s);

#endif
