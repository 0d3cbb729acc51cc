/*
 * forecast_sort.c - order statistics for the forecast: sorting, medians,
 * median absolute deviations and quantiles of doubles
 *
 * Residuals are ordered several times a fit (the robust noise scale, the
 * noise quantiles of the intervals) and simulated samples many times a
 * prediction, so these are written for speed as well as exactness.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/* Restores the heap property below root, for HeapSort. */
static void
SiftDown(double *v, int root, int n)
{
	for (;;)
	{
		int			child = 2 * root + 1;
		double		tmp;

		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		tmp = v[root];
		v[root] = v[child];
		v[child] = tmp;
		root = child;
	}
}

/* Heapsort: the fallback that bounds QuickSort at O(n log n). */
static void
HeapSort(double *v, int n)
{
	int			i;

	for (i = n / 2 - 1; i >= 0; i--)
		SiftDown(v, i, n);
	for (i = n - 1; i > 0; i--)
	{
		double		tmp = v[0];

		v[0] = v[i];
		v[i] = tmp;
		SiftDown(v, 0, i);
	}
}

/* Sorts doubles in place, ascending, by quicksort (heapsort when degenerate). */
static void
QuickSort(double *v, int n)
{
	int			depth = 0,
				i;

	for (i = n; i > 1; i >>= 1)
		depth += 2;
	while (n > 16)
	{
		double		a = v[0],
					b = v[n / 2],
					c = v[n - 1],
					pivot;
		int			lo = 0,
					hi = n - 1;

		if (depth-- == 0)
		{
			HeapSort(v, n);
			return;
		}
		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		while (lo <= hi)
		{
			while (v[lo] < pivot)
				lo++;
			while (v[hi] > pivot)
				hi--;
			if (lo <= hi)
			{
				double		tmp = v[lo];

				v[lo++] = v[hi];
				v[hi--] = tmp;
			}
		}
		/* recurse into the smaller part, loop on the larger */
		if (hi + 1 < n - lo)
		{
			QuickSort(v, hi + 1);
			v += lo;
			n -= lo;
		}
		else
		{
			QuickSort(v + lo, n - lo);
			n = hi + 1;
		}
	}
	for (i = 1; i < n; i++)
	{
		double		x = v[i];
		int			j = i - 1;

		while (j >= 0 && v[j] > x)
		{
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

/* A double's bits, flipped so that unsigned order is numeric order. */
static inline uint64_t
SortKey(double x)
{
	uint64_t	bits;

	memcpy(&bits, &x, sizeof(bits));
	return bits & UINT64_C(0x8000000000000000) ? ~bits : bits | UINT64_C(0x8000000000000000);
}

/*
 * Sorts finite doubles in place, ascending.  Residuals are sorted several
 * times a fit (noise scale, noise quantiles), and comparison sorts of fresh
 * data spend most of their time in mispredicted branches; a radix sort has
 * no data-dependent branches.  The order-preserving bit patterns are sorted
 * on their upper 32 bits (sign, exponent and 20 bits of mantissa) in three
 * counting passes of 11 bits, least significant first, skipping a pass when
 * every key shares its digit; values equal in those bits are then adjacent
 * and usually few, and one insertion pass on the full patterns orders them
 * (or, when it has to move too much, QuickSort finishes).
 */
void
ForecastSortDoubles(double *v, int n)
{
	uint64_t   *keys,
			   *spare;
	int			counts[3][2048];
	long		moves = 0;
	int			pass,
				i;

	if (n < 64)
	{
		QuickSort(v, n);
		return;
	}
	keys = malloc(sizeof(uint64_t) * n);
	spare = malloc(sizeof(uint64_t) * n);
	if (!keys || !spare)
	{
		free(keys);
		free(spare);
		QuickSort(v, n);
		return;
	}
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < n; i++)
	{
		uint64_t	key = SortKey(v[i]);

		keys[i] = key;
		counts[0][(key >> 32) & 0x7ff]++;
		counts[1][(key >> 43) & 0x7ff]++;
		counts[2][key >> 54]++;
	}
	for (pass = 0; pass < 3; pass++)
	{
		int			shift = 32 + 11 * pass;
		int			offset = 0,
					d;
		uint64_t   *swap;

		if (counts[pass][(keys[0] >> shift) & 0x7ff] == n)
			continue;			/* every key has this digit */
		for (d = 0; d < 2048; d++)
		{
			int			count = counts[pass][d];

			counts[pass][d] = offset;
			offset += count;
		}
		for (i = 0; i < n; i++)
			spare[counts[pass][(keys[i] >> shift) & 0x7ff]++] = keys[i];
		swap = keys;
		keys = spare;
		spare = swap;
	}
	for (i = 1; i < n && moves <= 8 * (long) n; i++)
	{
		uint64_t	key = keys[i];
		int			j = i - 1;

		while (j >= 0 && keys[j] > key)
		{
			keys[j + 1] = keys[j];
			j--;
			moves++;
		}
		keys[j + 1] = key;
	}
	for (i = 0; i < n; i++)
	{
		uint64_t	bits = keys[i] & UINT64_C(0x8000000000000000)
			? keys[i] & ~UINT64_C(0x8000000000000000) : ~keys[i];

		memcpy(&v[i], &bits, sizeof(bits));
	}
	free(keys);
	free(spare);
	/* many values alike in their upper bits: finish by comparisons */
	if (moves > 8 * (long) n)
		QuickSort(v, n);
}

/* The median of v (reordered), by quickselect. */
double
ForecastMedian(double *v, int n)
{
	int			want = n / 2;
	int			lo = 0,
				hi = n - 1;
	double		upper,
				lower;
	int			i;

	while (lo < hi)
	{
		double		pivot = v[lo + (hi - lo) / 2];
		int			a = lo,
					b = hi;

		while (a <= b)
		{
			while (v[a] < pivot)
				a++;
			while (v[b] > pivot)
				b--;
			if (a <= b)
			{
				double		tmp = v[a];

				v[a++] = v[b];
				v[b--] = tmp;
			}
		}
		if (want <= b)
			hi = b;
		else if (want >= a)
			lo = a;
		else
			break;
	}
	upper = v[want];
	if (n % 2 == 1)
		return upper;
	/* even count: average with the largest value below the selected one */
	lower = v[0];
	for (i = 1; i < want; i++)
		if (v[i] > lower)
			lower = v[i];
	return (lower + upper) / 2.0;
}

/*
 * The median absolute deviation from the median of v (sorted in place),
 * and the median in *median.  One sort gives both: the deviations grow
 * outwards from the middle on either side, so the middle one is found by
 * merging the two sides from the centre.
 */
double
ForecastMedianAbsDeviation(double *v, int n, double *median)
{
	int			want = n / 2,
				left,
				right,
				taken;
	double		mid,
				last = 0.0,
				previous = 0.0;

	ForecastSortDoubles(v, n);
	mid = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
	*median = mid;
	/* the smallest deviations first: v[left] going down, v[right] going up */
	left = n / 2 - 1;
	right = n / 2;
	for (taken = 0; taken <= want; taken++)
	{
		previous = last;
		if (right >= n || (left >= 0 && mid - v[left] <= v[right] - mid))
			last = mid - v[left--];
		else
			last = v[right++] - mid;
	}
	return n % 2 ? last : (previous + last) / 2.0;
}

/* The q-quantile of sorted values, interpolating linearly between ranks. */
double
ForecastQuantile(const double *sorted, int n, double q)
{
	double		pos = q * (n - 1);
	int			lo = (int) floor(pos);

	if (lo < 0)
		return sorted[0];
	if (lo >= n - 1)
		return sorted[n - 1];
	return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}
