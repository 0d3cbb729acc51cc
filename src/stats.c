/*
 * stats.c - running count, mean, variance, min and max, mergeable
 *
 * Each ingest batch folds its new values into a RunningStats per IP and
 * feature (Welford's update), then merges that into the stored aggregate
 * (Chan et al.'s pairwise formula), so the stored mean and variance are
 * exact over every event ever inserted without rereading any of them.
 */
#include "stats.h"

/* Adds one value observed at ts. */
void
StatsAdd(RunningStats *s, int64_t value, int64_t ts)
{
	double		delta = (double) value - s->mean;

	if (s->count == 0)
	{
		s->min = s->max = value;
		s->first_ts = s->last_ts = ts;
	}
	else
	{
		if (value < s->min)
			s->min = value;
		if (value > s->max)
			s->max = value;
		if (ts < s->first_ts)
			s->first_ts = ts;
		if (ts > s->last_ts)
			s->last_ts = ts;
	}
	s->count++;
	s->mean += delta / (double) s->count;
	s->m2 += delta * ((double) value - s->mean);
}

/* Folds other into into, as if every value of other had been added. */
void
StatsMerge(RunningStats *into, const RunningStats *other)
{
	int64_t		n;
	double		delta;

	if (other->count == 0)
		return;
	if (into->count == 0)
	{
		*into = *other;
		return;
	}
	n = into->count + other->count;
	delta = other->mean - into->mean;
	into->mean += delta * (double) other->count / (double) n;
	into->m2 += other->m2 + delta * delta * (double) into->count * (double) other->count / (double) n;
	into->count = n;
	if (other->min < into->min)
		into->min = other->min;
	if (other->max > into->max)
		into->max = other->max;
	if (other->first_ts < into->first_ts)
		into->first_ts = other->first_ts;
	if (other->last_ts > into->last_ts)
		into->last_ts = other->last_ts;
}

/* The sample variance, or -1 with fewer than two values. */
double
StatsVariance(const RunningStats *s)
{
	return s->count > 1 ? s->m2 / (double) (s->count - 1) : -1.0;
}
