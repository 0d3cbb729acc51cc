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
 * feature-sign search (Lee, Battle, Raina and Ng, 2007): guess the sign of
 * each nonzero penalised coefficient, solve the smooth problem on those and
 * the unpenalised ones, and move towards that solution as far as the
 * objective keeps falling, stopping where a coefficient crosses zero (it
 * leaves the set); when the guess is consistent, add the zero coefficient
 * whose gradient most exceeds lambda, and stop when none does.  Each round
 * is one Cholesky solve of the active set; warm starts need one or two.
 * work holds p * p + 5 * p doubles and active p ints.  False when a solve
 * fails.
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
	double	   *grad = best + p;
	int			round,
				i,
				j;

	for (i = 0; i < p; i++)
		sign[i] = penalised[i] ? (x[i] > 0) - (x[i] < 0) : 0.0;
	for (round = 0; round < 4 * p + 10; round++)
	{
		int			nactive = 0;
		double		fbest;
		bool		consistent = true;

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
			trial[active[i]] = target[i];

		/* towards it: the best of its end and the points where a sign flips */
		memcpy(best, trial, sizeof(double) * p);
		fbest = LassoObjective(A, b, p, penalised, lambda, best);
		for (i = 0; i < nactive; i++)
		{
			int			k = active[i];
			double		step;

			if (!penalised[k] || x[k] == 0.0 || (x[k] > 0) == (trial[k] > 0))
				continue;
			step = x[k] / (x[k] - trial[k]);
			for (j = 0; j < p; j++)
				grad[j] = x[j] + step * (trial[j] - x[j]);
			grad[k] = 0.0;
			if (LassoObjective(A, b, p, penalised, lambda, grad) < fbest)
			{
				fbest = LassoObjective(A, b, p, penalised, lambda, grad);
				memcpy(best, grad, sizeof(double) * p);
				consistent = false;
			}
		}
		memcpy(x, best, sizeof(double) * p);
		for (i = 0; i < p; i++)
			if (penalised[i])
				sign[i] = (x[i] > 0) - (x[i] < 0);
		if (!consistent)
			continue;

		/* consistent: the zero coefficient that most wants to move */
		{
			int			enter = -1;
			double		most = lambda * (1.0 + 1e-9);

			for (i = 0; i < p; i++)
			{
				double		g;

				if (!penalised[i] || x[i] != 0.0)
					continue;
				g = LinalgDot(A + i * p, x, p) - b[i];
				if (fabs(g) > most)
				{
					most = fabs(g);
					enter = i;
				}
			}
			if (enter < 0)
				return true;
			sign[enter] = LinalgDot(A + enter * p, x, p) - b[enter] > 0 ? -1.0 : 1.0;
		}
	}
	return true;				/* close enough after the round limit */
}
