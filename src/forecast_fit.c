/*
 * forecast_fit.c - the MAP fit of trend and seasonality
 *
 * The model and its priors are Prophet's; the fit is the MAP estimate,
 * computed without a sampler or a general-purpose optimiser.  In scaled
 * units (values divided by y_scale, time mapped onto [0, 1] over the
 * history) it minimises, for a noise scale sigma,
 *
 *   sum_i rho(r_i) + sigma^2 * [ (k^2 + m^2) / (2 * 5^2)
 *                                + sum_j |delta_j| / changepoint_prior_scale
 *                                + sum_c beta_c^2 / (2 * seasonality_prior_scale^2) ]
 *
 * (the negative log posterior times sigma^2), with r_i = y_i - fitted_i and
 * rho(r) = r^2 / 2 (loss "squared": Prophet's Gaussian likelihood) or
 * Huber's loss with threshold huber_delta * sigma (loss "huber": spikes
 * pull linearly, not quadratically).  sigma starts as a robust scale of
 * successive differences, is re-estimated from the residuals after each of
 * the first FIT_SCALE_CYCLES steps (root mean square, or 1.4826 median
 * absolute deviations for Huber's loss), then held.
 *
 * Additive models take proximal Newton steps: the loss is replaced by its
 * second-order model at the current point (Huber's loss has curvature 1
 * within the threshold and 0 beyond, so the Hessian is the Gram matrix of
 * the points within; with too few of them the step falls back to the
 * curvature of iteratively reweighted least squares), the priors are kept
 * exactly, and the resulting problem, a lasso in the changepoint deltas
 * with ridge terms elsewhere, is solved exactly by LinalgLasso; a
 * backtracking line search keeps the objective falling.  Once the points
 * within the threshold settle, a step lands on the minimum: four or five
 * steps are typical.  With the squared loss one step is exact.
 *
 * Multiplicative models, y = trend * (1 + s), alternate: the trend given s
 * (weights (1 + s)^2 times the IRLS weights, response y / (1 + s)), then s
 * given the trend (weights trend^2, response y / trend - 1), each a
 * majorize-minimize step, accelerated by SQUAREM (Varadhan and Roland,
 * 2008): from two steps theta0 -> theta1 -> theta2 it extrapolates to
 * theta0 - 2a r + a^2 v (r = theta1 - theta0, v = theta2 - 2 theta1 +
 * theta0, a = -|r| / |v|) and steps once more from there, keeping theta2
 * when that does not lower the objective.
 *
 * Either way the fit stops when no fitted value moves by more than
 * FIT_TOLERANCE noise scales, or after FIT_MAX_STEPS steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

#define FIT_MAX_STEPS 200
/* Steps stop when no fitted value moves more than this many noise scales. */
#define FIT_TOLERANCE 5e-2
/* Points the starting values are taken from. */
#define FIT_START_SAMPLE 256
/* Steps (cycles when multiplicative) after which sigma is re-estimated. */
#define FIT_SCALE_CYCLES 2
/* Prophet's prior standard deviation of the base slope k and offset m. */
#define FIT_TREND_PRIOR_SD 5.0
/* The smallest noise scale, in scaled units. */
#define FIT_SIGMA_FLOOR 1e-9

/*
 * The ridge diagonal of the Gaussian priors at noise variance sigma2: m and
 * k, then the seasonal coefficients.  The deltas' Laplace prior is handled
 * by LinalgLasso; their diagonal gets only a trace of ridge that keeps the
 * system definite when a ramp has (almost) no weight.
 */
static void
PriorDiagonal(const Design *d, const ForecastParams *params, double sigma2, double *diag)
{
	double		trend_prior = sigma2 / (FIT_TREND_PRIOR_SD * FIT_TREND_PRIOR_SD);
	double		season_prior = sigma2 / (params->seasonality_prior_scale * params->seasonality_prior_scale);
	int			j;

	diag[0] = trend_prior;
	if (d->nramps > 0)
		diag[1] = trend_prior;
	for (j = 1; j < d->nramps; j++)
		diag[1 + j] = 1e-9 * trend_prior;
	for (j = 0; j < d->nseason; j++)
		diag[d->ntrend + j] = season_prior;
}

/*
 * Noise scale of the residuals r (scratch is reordered): root mean square,
 * or for Huber's loss 1.4826 median absolute deviations, at least a
 * thousandth of the root mean square so that a mostly exact fit keeps some
 * regularisation.
 */
static double
NoiseScale(const double *r, int n, ForecastLoss loss, double *scratch)
{
	double		ss = 0.0,
				rms,
				med,
				mad;
	int			i;

	for (i = 0; i < n; i++)
		ss += r[i] * r[i];
	rms = sqrt(ss / n);
	if (loss == FORECAST_LOSS_SQUARED)
		return rms > FIT_SIGMA_FLOOR ? rms : FIT_SIGMA_FLOOR;
	memcpy(scratch, r, sizeof(double) * n);
	mad = 1.4826 * ForecastMedianAbsDeviation(scratch, n, &med);
	if (mad < 1e-3 * rms)
		mad = 1e-3 * rms;
	return mad > FIT_SIGMA_FLOOR ? mad : FIT_SIGMA_FLOOR;
}

/* Everything one fit's steps share. */
typedef struct Solver
{
	Design		d;
	const double *y;
	const ForecastParams *params;
	bool		multiplicative;
	bool		huber;
	int			n;
	int			nt;				/* trend coefficients */
	int			ns;				/* seasonal coefficients */
	int			p;
	double		sigma;			/* noise scale */
	double	   *trend;			/* n: at the last evaluated coefficients */
	double	   *season;
	double	   *r;				/* n: residuals there */
	double	   *w;				/* n: Huber weights */
	double	   *u;				/* n: scratch weights */
	double	   *z;				/* n: scratch responses */
	double	   *scratch;		/* max(n, groups) */
	double	   *G;				/* p x p */
	double	   *base;			/* p x p: the last Gram matrix, */
	double	   *base_u;			/* n: of these weights */
	bool		base_ready;
	double	   *diag;			/* p */
	double	   *rhs;			/* p */
	unsigned char *penalised;	/* p: under the Laplace prior (the deltas) */
	double		lambda;			/* its weight, sigma^2 / changepoint_prior_scale */
	double	   *work;			/* LinalgLasso's */
	int		   *active;
	double		loss;			/* of the residuals at the evaluated point */
	int			steps;
} Solver;

/*
 * Trend, seasonality, residuals and the loss of the residuals at
 * coefficients theta, in one pass: the trend is piecewise linear, its slope
 * and offset changing at each ramp's first point.  Huber's loss is computed
 * without a branch (with within = min(|r|, threshold) it is
 * within * (|r| - within / 2)), as residuals fall on either side of the
 * threshold at random.
 */
static void
SolverEvaluate(Solver *s, const double *theta)
{
	const Design *d = &s->d;
	const double *t = d->t;
	const double *y = s->y;
	const int  *group = d->group;
	const double *values = d->gv;
	double	   *trend = s->trend;
	double	   *season = s->season;
	double	   *resid = s->r;
	double		threshold = s->huber ? s->params->huber_delta * s->sigma : INFINITY;
	bool		multiplicative = s->multiplicative;
	double		slope = 0.0,
				offset = theta[0],
				loss = 0.0;
	int			n = s->n,
				a = 0,
				i = 0;

	DesignSeasonGroups(d, theta + s->nt, d->gv);
	while (i < n)
	{
		/* points up to the next ramp's first point share slope and offset */
		int			end = a < d->nramps && d->first[a] < n ? d->first[a] : n;

		for (; i < end; i++)
		{
			double		level = offset + slope * t[i];
			double		seasonal = values[group[i]];
			double		r = y[i] - (multiplicative ? level * (1.0 + seasonal) : level + seasonal);
			double		absr = fabs(r);
			double		within = absr < threshold ? absr : threshold;

			trend[i] = level;
			season[i] = seasonal;
			resid[i] = r;
			loss += within * (absr - 0.5 * within);
		}
		while (a < d->nramps && d->first[a] <= i)
		{
			slope += theta[1 + a];
			offset -= theta[1 + a] * d->knot[a];
			a++;
		}
	}
	s->loss = loss;
}

/* The loss of the evaluated residuals again, after the noise scale moved. */
static void
SolverRescore(Solver *s)
{
	double		threshold = s->huber ? s->params->huber_delta * s->sigma : INFINITY;
	double		loss = 0.0;
	int			i;

	for (i = 0; i < s->n; i++)
	{
		double		absr = fabs(s->r[i]);
		double		within = absr < threshold ? absr : threshold;

		loss += within * (absr - 0.5 * within);
	}
	s->loss = loss;
}

/*
 * The objective at the last evaluated theta, multiplied by sigma^2 (the
 * form the weighted least squares steps minimise): the loss of the
 * residuals plus sigma^2 times the negative log priors.
 */
static double
SolverObjective(const Solver *s, const double *theta)
{
	const ForecastParams *params = s->params;
	double		prior = 0.0;
	int			j;

	prior += theta[0] * theta[0];
	if (s->d.nramps > 0)
		prior += theta[1] * theta[1];
	prior /= 2.0 * FIT_TREND_PRIOR_SD * FIT_TREND_PRIOR_SD;
	for (j = 1; j < s->d.nramps; j++)
		prior += fabs(theta[1 + j]) /
			params->changepoint_prior_scale;
	for (j = 0; j < s->ns; j++)
		prior += theta[s->nt + j] * theta[s->nt + j] /
			(2.0 * params->seasonality_prior_scale * params->seasonality_prior_scale);
	return s->loss + s->sigma * s->sigma * prior;
}

/*
 * One majorize-minimize step of the multiplicative model from theta, which
 * must be the last evaluated point, to next: IRLS weights at theta, then the
 * trend given the seasonality and the seasonality given the new trend.
 * Leaves the evaluated point undefined.  False when a system is singular.
 */
static bool
SolverStep(Solver *s, const double *theta, double *next)
{
	Design	   *d = &s->d;
	int			n = s->n,
				nt = s->nt,
				ns = s->ns,
				i,
				j;

	s->steps++;
	if (s->huber)
	{
		double		threshold = s->params->huber_delta * s->sigma;

		for (i = 0; i < n; i++)
		{
			double		r = fabs(s->r[i]);

			s->w[i] = threshold / (r > threshold ? r : threshold);
		}
	}
	PriorDiagonal(d, s->params, s->sigma * s->sigma, s->diag);
	s->lambda = s->sigma * s->sigma / s->params->changepoint_prior_scale;
	memcpy(next, theta, sizeof(double) * nt);

	/* the trend given the seasonality */
	for (i = 0; i < n; i++)
	{
		double		mult = 1.0 + s->season[i];

		s->u[i] = s->w[i] * mult * mult;
		s->z[i] = s->w[i] * mult * s->y[i];
	}
	DesignGram(d, s->u, true, false, s->G);
	for (j = 0; j < nt; j++)
		s->G[j * nt + j] += s->diag[j];
	DesignXtz(d, s->z, true, false, s->rhs);
	if (!LinalgLasso(s->G, s->rhs, nt, s->penalised, s->lambda, next, s->work, s->active))
		return false;
	if (ns == 0)
		return true;

	/* the seasonality given the new trend */
	DesignTrend(d, next, s->trend);
	for (i = 0; i < n; i++)
	{
		double		level = s->trend[i];

		s->u[i] = s->w[i] * level * level;
		s->z[i] = s->w[i] * level * (s->y[i] - level);
	}
	DesignGram(d, s->u, false, true, s->G);
	for (j = 0; j < ns; j++)
		s->G[j * ns + j] += s->diag[nt + j];
	DesignXtz(d, s->z, false, true, next + nt);
	return LinalgCholeskySolve(s->G, ns, next + nt);
}

/*
 * One proximal Newton step of the additive model from theta (evaluated):
 * the loss is replaced by its second-order model at theta (Huber's loss has
 * curvature 1 within the threshold and 0 beyond it, so the Hessian is the
 * Gram matrix of the points within), the priors are kept exactly, and the
 * resulting lasso is solved by LinalgLasso; then theta moves towards that
 * solution by the largest of 1, 1/2, 1/4, ... that does not raise the
 * objective.  Once the set of points within the threshold settles, a step
 * lands on the minimum.  theta is left evaluated; trial is scratch.
 */
static bool
SolverNewton(Solver *s, double *theta, double *trial)
{
	Design	   *d = &s->d;
	double		threshold = s->huber ? s->params->huber_delta * s->sigma : INFINITY;
	double		before = SolverObjective(s, theta);
	int			n = s->n,
				p = s->p,
				attempt,
				i,
				j,
				k;

	s->steps++;
	PriorDiagonal(d, s->params, s->sigma * s->sigma, s->diag);
	s->lambda = s->sigma * s->sigma / s->params->changepoint_prior_scale;
	for (attempt = 0; attempt < 2; attempt++)
	{
		double		step = 1.0;

		/*
		 * Curvature u and z = u * fitted + psi(r), whose X'z is the Hessian
		 * times theta minus the gradient.  With few points within the
		 * threshold the Hessian is (nearly) singular and the step useless;
		 * the second attempt then gives the points beyond it the curvature
		 * of IRLS, threshold / |r|, which makes it an iteratively reweighted
		 * least squares step: shorter, but always downhill.
		 */
		for (i = 0; i < n; i++)
		{
			double		r = s->r[i];

			if (fabs(r) <= threshold)
			{
				s->u[i] = 1.0;
				s->z[i] = s->y[i];
			}
			else
			{
				s->u[i] = attempt == 0 ? 0.0 : threshold / fabs(r);
				s->z[i] = s->u[i] * (s->y[i] - r) + (r > 0 ? threshold : -threshold);
			}
		}
		/* the Gram matrix is kept while the curvatures stay the same */
		if (!s->base_ready || memcmp(s->u, s->base_u, sizeof(double) * n) != 0)
		{
			DesignGram(d, s->u, true, true, s->base);
			memcpy(s->base_u, s->u, sizeof(double) * n);
			s->base_ready = true;
		}
		memcpy(s->G, s->base, sizeof(double) * p * p);
		for (j = 0; j < p; j++)
			s->G[j * p + j] += s->diag[j];
		DesignXtz(d, s->z, true, true, s->rhs);
		memcpy(trial, theta, sizeof(double) * p);
		if (!LinalgLasso(s->G, s->rhs, p, s->penalised, s->lambda, trial, s->work, s->active))
		{
			if (attempt == 0 && s->huber)
				continue;
			return false;
		}
		for (k = 0; k < (attempt == 0 ? 8 : 30); k++, step *= 0.5)
		{
			for (j = 0; j < p; j++)
				s->rhs[j] = theta[j] + step * (trial[j] - theta[j]);
			SolverEvaluate(s, s->rhs);
			if (SolverObjective(s, s->rhs) <= before)
			{
				memcpy(theta, s->rhs, sizeof(double) * p);
				return true;
			}
		}
		if (!s->huber)
			break;
	}
	/* no step lowers the objective: theta is the minimum to rounding */
	SolverEvaluate(s, theta);
	return true;
}

/* The largest difference between the fitted values of two evaluations. */
static double
FittedChange(const Solver *s, const double *r_before)
{
	double		change = 0.0;
	int			i;

	for (i = 0; i < s->n; i++)
		if (fabs(s->r[i] - r_before[i]) > change)
			change = fabs(s->r[i] - r_before[i]);
	return change;
}

/* Releases the solver's buffers and its design. */
static void
SolverFree(Solver *s)
{
	free(s->r);
	free(s->w);
	free(s->u);
	free(s->z);
	free(s->scratch);
	free(s->G);
	free(s->base);
	free(s->base_u);
	free(s->diag);
	free(s->rhs);
	free(s->penalised);
	free(s->work);
	free(s->active);
	DesignFree(&s->d);
}

/*
 * Fits the model's trend and seasonal coefficients to the history in *in
 * (see the file header); the model arrives with its changepoints and
 * seasonalities laid out.  Fills out->trend and out->season (n each,
 * allocated by the caller).
 */
bool
FitSolve(const FitInput *in, ForecastModel *model, FitOutput *out, ForecastError *error)
{
	const ForecastParams *params = &model->params;
	Solver		s;
	int			n = in->n,
				p,
				i,
				j,
				cycle;
	double	   *theta0 = NULL,
			   *theta1 = NULL,
			   *theta2 = NULL,
			   *jump = NULL,
			   *r_start = NULL;
	int			stride;
	bool		ok = false;

	memset(&s, 0, sizeof(s));
	s.y = in->y;
	s.params = params;
	s.multiplicative = params->seasonality_mode == FORECAST_MODE_MULTIPLICATIVE;
	s.huber = params->loss == FORECAST_LOSS_HUBER;
	s.n = n;
	s.trend = out->trend;
	s.season = out->season;
	if (!DesignInit(&s.d, in, model))
		goto oom;
	s.nt = s.d.ntrend;
	s.ns = s.d.nseason;
	p = s.p = s.nt + s.ns;
	s.r = malloc(sizeof(double) * n);
	s.w = malloc(sizeof(double) * n);
	s.u = malloc(sizeof(double) * n);
	s.z = malloc(sizeof(double) * n);
	s.scratch = malloc(sizeof(double) * (n > s.d.ngroups ? n : s.d.ngroups));
	s.G = malloc(sizeof(double) * p * p);
	s.base = malloc(sizeof(double) * p * p);
	s.base_u = malloc(sizeof(double) * n);
	s.diag = malloc(sizeof(double) * p);
	s.rhs = malloc(sizeof(double) * p);
	s.penalised = calloc(p, 1);
	s.work = malloc(sizeof(double) * (p * p + 5 * p));
	s.active = malloc(sizeof(int) * p);
	theta0 = calloc(p, sizeof(double));
	theta1 = calloc(p, sizeof(double));
	theta2 = calloc(p, sizeof(double));
	jump = calloc(p, sizeof(double));
	r_start = malloc(sizeof(double) * n);
	if (!s.r || !s.w || !s.u || !s.z || !s.scratch || !s.G || !s.base || !s.base_u || !s.diag ||
		!s.rhs || !s.penalised || !s.work || !s.active ||
		!theta0 || !theta1 || !theta2 || !jump || !r_start)
		goto oom;

	/*
	 * Start flat at the median, so that the first step already ignores
	 * spikes, with a noise scale that needs no fit: for Huber's loss the
	 * robust scale of successive differences.  Both are starting values
	 * only, taken from at most FIT_START_SAMPLE evenly spaced points.
	 */
	stride = n > FIT_START_SAMPLE ? n / FIT_START_SAMPLE : 1;
	for (i = 0, j = 0; i < n; i += stride)
		s.scratch[j++] = in->y[i];
	theta0[0] = ForecastMedian(s.scratch, j);
	for (i = 0, j = 0; i + stride < n; i += stride)
		s.r[j++] = (in->y[i + 1] - in->y[i]) / sqrt(2.0);
	s.sigma = j > 1 ? NoiseScale(s.r, j, params->loss, s.scratch) : 0.0;
	if (!(s.sigma > FIT_SIGMA_FLOOR))
		s.sigma = FIT_SIGMA_FLOOR;
	for (j = 1; j < s.d.nramps; j++)
		s.penalised[1 + j] = 1;
	for (i = 0; i < n; i++)
		s.w[i] = 1.0;
	SolverEvaluate(&s, theta0);

	/* additive: proximal Newton steps; the noise scale follows the first ones */
	for (cycle = 0; !s.multiplicative && s.steps < FIT_MAX_STEPS; cycle++)
	{
		double		change;

		memcpy(r_start, s.r, sizeof(double) * n);
		if (!SolverNewton(&s, theta0, theta1))
			goto singular;
		change = FittedChange(&s, r_start);
		if (cycle < FIT_SCALE_CYCLES)
		{
			s.sigma = NoiseScale(s.r, n, params->loss, s.scratch);
			SolverRescore(&s);
		}
		else if (change < FIT_TOLERANCE * s.sigma)
			break;
	}

	/* multiplicative: majorize-minimize steps, accelerated */
	for (cycle = 0; s.multiplicative && s.steps < FIT_MAX_STEPS; cycle++)
	{
		double		norm_r = 0.0,
					norm_v = 0.0,
					alpha,
					best;
		bool		accepted = false;

		memcpy(r_start, s.r, sizeof(double) * n);
		if (!SolverStep(&s, theta0, theta1))
			goto singular;
		SolverEvaluate(&s, theta1);
		if (!SolverStep(&s, theta1, theta2))
			goto singular;
		SolverEvaluate(&s, theta2);
		best = SolverObjective(&s, theta2);
		for (j = 0; j < p; j++)
		{
			double		rj = theta1[j] - theta0[j];
			double		vj = theta2[j] - 2.0 * theta1[j] + theta0[j];

			norm_r += rj * rj;
			norm_v += vj * vj;
		}
		alpha = norm_v > 0 ? -sqrt(norm_r / norm_v) : -1.0;
		if (alpha < -1.0)
		{
			for (j = 0; j < p; j++)
			{
				double		rj = theta1[j] - theta0[j];
				double		vj = theta2[j] - 2.0 * theta1[j] + theta0[j];

				jump[j] = theta0[j] - 2.0 * alpha * rj + alpha * alpha * vj;
			}
			SolverEvaluate(&s, jump);
			if (SolverStep(&s, jump, theta1))
			{
				SolverEvaluate(&s, theta1);
				accepted = SolverObjective(&s, theta1) <= best;
			}
		}
		/* the better of theta2 and the extrapolated step, evaluated */
		if (accepted)
			memcpy(theta0, theta1, sizeof(double) * p);
		else
		{
			memcpy(theta0, theta2, sizeof(double) * p);
			if (alpha < -1.0)
				SolverEvaluate(&s, theta0);
		}
		if (cycle < FIT_SCALE_CYCLES)
		{
			s.sigma = NoiseScale(s.r, n, params->loss, s.scratch);
			SolverRescore(&s);
		}
		else if (FittedChange(&s, r_start) < FIT_TOLERANCE * s.sigma)
			break;
	}
	ok = true;
	for (j = 0; j < p; j++)
		if (!isfinite(theta0[j]) || fabs(theta0[j]) > FORECAST_MAX_ABS)
		{
			ForecastSetError(error, "", "the fit diverged");
			ok = false;
			goto done;
		}

	model->sigma = s.sigma;
	model->iterations = s.steps;
	model->m = theta0[0];
	model->k = s.d.nramps > 0 ? theta0[1] : 0.0;
	for (j = 0; j < model->n_changepoints; j++)
		model->deltas[j] = theta0[2 + j];
	for (i = 0, j = s.nt; i < model->nseasonalities; i++)
	{
		memcpy(model->seasonalities[i].coef, theta0 + j,
			   sizeof(double) * 2 * model->seasonalities[i].order);
		j += 2 * model->seasonalities[i].order;
	}
	DesignTrend(&s.d, theta0, out->trend);
	goto done;

oom:
	ForecastSetError(error, "", "out of memory");
	goto done;
singular:
	ForecastSetError(error, "", "the fit is numerically singular at step %d", s.steps);
done:
	free(theta0);
	free(theta1);
	free(theta2);
	free(jump);
	free(r_start);
	SolverFree(&s);
	return ok;
}
