/* Unit tests of stats.c: running and merged statistics equal the direct ones. */
#include <math.h>
#include <stdlib.h>

#include "stats.h"
#include "tap.h"

static double
direct_variance(const int64_t *v, int n)
{
	double		mean = 0,
				ss = 0;
	int			i;

	for (i = 0; i < n; i++)
		mean += (double) v[i];
	mean /= n;
	for (i = 0; i < n; i++)
		ss += ((double) v[i] - mean) * ((double) v[i] - mean);
	return ss / (n - 1);
}

int
main(void)
{
	int64_t		v[1000];
	RunningStats all = {0},
				a = {0},
				b = {0},
				empty = {0};
	double		mean = 0;
	int			i;

	srand(42);
	for (i = 0; i < 1000; i++)
	{
		/* heavy-tailed, like bytes: 1 to about 10^9 */
		v[i] = (int64_t) pow(10.0, 9.0 * rand() / (double) RAND_MAX);
		mean += (double) v[i] / 1000.0;
		StatsAdd(&all, v[i], 1000 - i);
		StatsAdd(i < 377 ? &a : &b, v[i], 1000 - i);
	}
	is_int(all.count, 1000, "count");
	ok(fabs(all.mean - mean) / mean < 1e-12, "mean matches the direct mean");
	ok(fabs(StatsVariance(&all) - direct_variance(v, 1000)) / direct_variance(v, 1000) < 1e-9,
	   "variance matches the two-pass variance");
	is_int(all.first_ts, 1, "first ts is the smallest");
	is_int(all.last_ts, 1000, "last ts is the largest");

	StatsMerge(&a, &b);
	is_int(a.count, 1000, "merged count");
	ok(fabs(a.mean - all.mean) / all.mean < 1e-12, "merging two parts gives the same mean");
	ok(fabs(a.m2 - all.m2) / all.m2 < 1e-9, "merging two parts gives the same m2");
	ok(a.min == all.min && a.max == all.max, "merged min and max");
	ok(a.first_ts == all.first_ts && a.last_ts == all.last_ts, "merged first and last ts");

	StatsMerge(&a, &empty);
	is_int(a.count, 1000, "merging an empty part changes nothing");
	StatsMerge(&empty, &all);
	ok(empty.count == 1000 && empty.mean == all.mean, "merging into an empty part copies");

	{
		RunningStats one = {0};

		StatsAdd(&one, 7, 5);
		ok(StatsVariance(&one) == -1.0 && one.mean == 7.0 && one.min == 7 && one.max == 7,
		   "a single value: mean, min, max, no variance");
	}
	return tap_done();
}
