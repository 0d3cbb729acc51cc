/*
 * forecast_linalg.c - the small dense linear algebra of the forecast fit
 *
 * Systems have at most a few dozen unknowns (trend, changepoint and Fourier
 * coefficients), so plain row-major arrays, a Cholesky factorisation and an
 * exact active-set lasso are all that is needed, written out here rather
 * than taken from a library.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/* Dot product, with four partial sums so that the additions overlap. */
double
LinalgDot(const double *a, const double *b, int n)
{
	double		s0 = 0.0,
				s1 = 0.0,
				s2 = 0.0,
				s3 = 0.0;
	int			i;

	for (i = 0; i + 3 < n; i += 4)
	{
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/*
 * Solves a x = b in place for a symmetric positive definite p x p matrix a
 * (row-major; its lower triangle is overwritten by the Cholesky factor).
 * Returns false when a is not positive definite.
 */
bool
LinalgCholeskySolve(double *a, int p, double *b)
{
	int			i,
				j,
				k;

	for (j = 0; j < p; j++)
	{
		double		d = a[j * p + j] - LinalgDot(a + j * p, a + j * p, j);

		if (!(d > 0.0) || !isfinite(d))
			return false;
		d = sqrt(d);
		a[j * p + j] = d;
		for (i = j + 1; i < p; i++)
			a[i * p + j] = (a[i * p + j] - LinalgDot(a + i * p, a + j * p, j)) / d;
	}
	/* forward: L z = b, then back: L' x = z */
	for (i = 0; i < p; i++)
		b[i] = (b[i] - LinalgDot(a + i * p, b, i)) / a[i * p + i];
	for (i = p - 1; i >= 0; i--)
	{
		double		v = b[i];

		for (k = i + 1; k < p; k++)
			v -= a[k * p + i] * b[k];
		b[i] = v / a[i * p + i];
	}
	return true;
}

/* 0.5 x'Ax - b'x + lambda * sum over the penalised j of |x_j|. */
static double
LassoObjective(const double *A, const double *b, int p, const unsigned char *penalised,
			   double lambda, const double *x)
{
	double		f = 0.0;
	int			i;

	for (i = 0; i < p; i++)
	{
		if (x[i] == 0.0)
			continue;
		f += x[i] * (0.5 * LinalgDot(A + i * p, x, p) - b[i]);
		if (penalised[i])
			f += lambda * fabs(x[i]);
	}
	return f;
}

/*
 * Minimises 0.5 x'Ax - b'x + lambda * sum(|x_j|, j penalised) exactly, for
 * A symmetric positive definite (p x p), starting from x (in and out), by
 * feature-sign search (Lee, Battle, Raina and Ng, 2007).  Each round solves
 * the smooth problem on the active set (the unpenalised coefficients and
 * the nonzero penalised ones, their signs fixed), one Cholesky solve.  When
 * that solution keeps every sign, it is the minimum on the set; then the
 * zero coefficients whose gradient exceeds lambda join it, signed against
 * their gradient (all of them at once; one at a time, as in the paper,
 * should a round ever fail to lower the objective), and the search ends
 * when none does.  When a sign flips, x moves to the best of that solution
 * and the points on the way where a coefficient crosses zero, which leaves
 * the set.  Warm starts need a round or two.  work holds p * p + 5 * p
 * doubles and active p ints.  False when a solve fails.
 */
bool
LinalgLasso(const double *A, const double *b, int p, const unsigned char *penalised,
			double lambda, double *x, double *work, int *active)
{
	double	   *sub = work;
	double	   *target = sub + p * p;
	double	   *sign = target + p;
	double	   *trial = sign + p;
	double	   *best = trial + p;
	double	   *point = best + p;
	double		current = LassoObjective(A, b, p, penalised, lambda, x);
	bool		one_at_a_time = false;
	int			round,
				i,
				j;

	for (i = 0; i < p; i++)
		sign[i] = penalised[i] ? (x[i] > 0) - (x[i] < 0) : 0.0;
	for (round = 0; round < 4 * p + 10; round++)
	{
		int			nactive = 0,
					most_index = -1;
		double		fbest,
					most = lambda * (1.0 + 1e-9);
		bool		flipped = false;

		/* the smooth problem on the active set, signs fixed */
		for (i = 0; i < p; i++)
			if (!penalised[i] || sign[i] != 0.0)
				active[nactive++] = i;
		for (i = 0; i < nactive; i++)
		{
			for (j = 0; j < nactive; j++)
				sub[i * nactive + j] = A[active[i] * p + active[j]];
			target[i] = b[active[i]] - lambda * sign[active[i]];
		}
		if (!LinalgCholeskySolve(sub, nactive, target))
			return false;
		memset(trial, 0, sizeof(double) * p);
		for (i = 0; i < nactive; i++)
		{
			trial[active[i]] = target[i];
			if (penalised[active[i]] && !(target[i] * sign[active[i]] > 0))
				flipped = true;
		}

		if (flipped)
		{
			/* the best of the solution and the zero crossings on the way */
			memcpy(best, trial, sizeof(double) * p);
			fbest = LassoObjective(A, b, p, penalised, lambda, best);
			for (i = 0; i < nactive; i++)
			{
				int			k = active[i];
				double		step,
							f;

				if (!penalised[k] || x[k] == 0.0 || (x[k] > 0) == (trial[k] > 0))
					continue;
				step = x[k] / (x[k] - trial[k]);
				for (j = 0; j < p; j++)
					point[j] = x[j] + step * (trial[j] - x[j]);
				point[k] = 0.0;
				f = LassoObjective(A, b, p, penalised, lambda, point);
				if (f < fbest)
				{
					fbest = f;
					memcpy(best, point, sizeof(double) * p);
				}
			}
			if (!(fbest < current))
			{
				/* no progress: fall back to entering one at a time, or stop */
				if (one_at_a_time)
					return true;
				one_at_a_time = true;
				for (i = 0; i < p; i++)
					if (penalised[i])
						sign[i] = (x[i] > 0) - (x[i] < 0);
				continue;
			}
			memcpy(x, best, sizeof(double) * p);
			current = fbest;
			for (i = 0; i < p; i++)
				if (penalised[i])
					sign[i] = (x[i] > 0) - (x[i] < 0);
			continue;
		}
		memcpy(x, trial, sizeof(double) * p);
		current = LassoObjective(A, b, p, penalised, lambda, x);

		/* the minimum on the set: zero coefficients that want to move join */
		for (i = 0; i < p; i++)
		{
			double		g;

			if (!penalised[i] || x[i] != 0.0)
				continue;
			g = LinalgDot(A + i * p, x, p) - b[i];
			if (fabs(g) <= lambda * (1.0 + 1e-9))
				continue;
			if (fabs(g) > most)
			{
				most = fabs(g);
				most_index = i;
			}
			if (!one_at_a_time)
				sign[i] = g > 0 ? -1.0 : 1.0;
		}
		if (most_index < 0)
			return true;
		if (one_at_a_time)
			sign[most_index] = LinalgDot(A + most_index * p, x, p) - b[most_index] > 0 ? -1.0 : 1.0;
	}
	return true;				/* close enough after the round limit */
}
