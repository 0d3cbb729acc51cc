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
 * the first FIT_SCALE_STEPS steps (root mean square, or 1.4826 median
 * absolute deviations for Huber's loss), then held.
 *
 * Each step is a proximal Newton step: the loss is replaced by its
 * second-order model at the current point (Huber's loss has curvature 1
 * within the threshold and 0 beyond, so the Hessian is the Gram matrix of
 * the points within; with too few of them the step falls back to the
 * curvature of iteratively reweighted least squares), the priors are kept
 * exactly, and the resulting problem, a lasso in the changepoint deltas
 * with ridge terms elsewhere, is solved exactly by LinalgLasso; a
 * backtracking line search keeps the objective falling.  Once the points
 * within the threshold settle, an additive step lands on the minimum: three
 * to five steps are typical.  Multiplicative models, y = trend * (1 + s),
 * linearise the fitted values around the current point (Gauss-Newton: the
 * trend columns scaled by 1 + s, the seasonal ones by the trend) and take
 * a few more steps.
 *
 * The fit stops when a step moves no fitted value by more than
 * FIT_TOLERANCE noise scales or lowers the objective by less than
 * FIT_OBJECTIVE_TOLERANCE of it (flat directions, as when trend and
 * seasonality trade places in a multiplicative model of a series gone
 * quiet), or after FIT_MAX_STEPS steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

#define FIT_MAX_STEPS 200
/* Steps stop when no fitted value moves more than this many noise scales. */
#define FIT_TOLERANCE 5e-2
/* ... or the objective falls by less than this share. */
#define FIT_OBJECTIVE_TOLERANCE 1e-6
/* Points the starting values are taken from. */
#define FIT_START_SAMPLE 256
/* Steps after which sigma is re-estimated, before it is held. */
#define FIT_SCALE_STEPS 2
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
	double		scale = params->seasonality_prior_scale;
	double		season_prior = sigma2 / (scale * scale);
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
	double	   *ut;				/* n: curvature weights of the trend block, */
	double	   *uc;				/* the cross block */
	double	   *us;				/* and the seasonal block */
	double	   *zt;				/* n: responses of the trend columns */
	double	   *zs;				/* and of the seasonal ones */
	double	   *scratch;		/* max(n, groups) */
	double	   *G;				/* p x p */
	double	   *base;			/* p x p: the last Gram matrix, */
	double	   *base_u;			/* n: of these weights (additive) */
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
 * The second-order model of the loss at the evaluated point, into the
 * Gram and right-hand side of a lasso in the coefficients: minimising
 * 0.5 x'Gx - rhs'x + priors is minimising the model plus the priors.
 *
 * Per point: curvature c (Huber's loss: 1 within the threshold, 0 beyond;
 * with irls, threshold / |r| beyond, the curvature of reweighted least
 * squares, which is never singular), and the gradient psi(r).  With J the
 * Jacobian of the fitted values (X when additive; (1 + s) x_trend and
 * trend x_season when multiplicative, Gauss-Newton), the Hessian is
 * J' diag(c) J and rhs = J'(c J theta + psi).
 */
static void
SolverModel(Solver *s, bool irls)
{
	Design	   *d = &s->d;
	double		threshold = s->huber ? s->params->huber_delta * s->sigma : INFINITY;
	int			n = s->n,
				p = s->p,
				i;

	for (i = 0; i < n; i++)
	{
		double		r = s->r[i];
		double		absr = fabs(r);
		bool		within = absr <= threshold;
		double		c = within ? 1.0 : (irls ? threshold / absr : 0.0);
		double		psi = within ? r : (r > 0 ? threshold : -threshold);

		if (s->multiplicative)
		{
			double		a = 1.0 + s->season[i];
			double		b = s->trend[i];
			double		v = c * b * (1.0 + 2.0 * s->season[i]) + psi;

			s->ut[i] = c * a * a;
			s->uc[i] = c * a * b;
			s->us[i] = c * b * b;
			s->zt[i] = a * v;
			s->zs[i] = b * v;
		}
		else
		{
			s->ut[i] = c;
			s->zt[i] = c * (s->y[i] - r) + psi;
		}
	}
	if (s->multiplicative)
	{
		DesignGram(d, s->ut, s->uc, s->us, s->G);
		DesignXtz(d, s->zt, true, false, s->rhs);
		DesignXtz(d, s->zs, false, true, s->rhs + s->nt);
	}
	else
	{
		/* the Gram matrix is kept while the curvatures stay the same */
		if (!s->base_ready || memcmp(s->ut, s->base_u, sizeof(double) * n) != 0)
		{
			DesignGram(d, s->ut, s->ut, s->ut, s->base);
			memcpy(s->base_u, s->ut, sizeof(double) * n);
			s->base_ready = true;
		}
		memcpy(s->G, s->base, sizeof(double) * p * p);
		DesignXtz(d, s->zt, true, true, s->rhs);
	}
	for (i = 0; i < p; i++)
		s->G[i * p + i] += s->diag[i];
}

/*
 * One proximal Newton step from theta (evaluated): the loss replaced by its
 * second-order model (SolverModel), the priors kept exactly, the resulting
 * lasso solved by LinalgLasso; then theta moves towards that solution by
 * the largest of 1, 1/2, 1/4, ... that does not raise the objective.  When
 * few points are within the threshold the Newton model is (nearly) flat in
 * some direction and its step useless; then the step is taken again with
 * the IRLS curvature: shorter, but always downhill.  Once the points within
 * the threshold settle, an additive step lands on the minimum.  theta is
 * left evaluated; trial is scratch.
 */
static bool
SolverNewton(Solver *s, double *theta, double *trial)
{
	double		before = SolverObjective(s, theta);
	int			p = s->p,
				attempt,
				j,
				k;

	s->steps++;
	PriorDiagonal(&s->d, s->params, s->sigma * s->sigma, s->diag);
	s->lambda = s->sigma * s->sigma / s->params->changepoint_prior_scale;
	for (attempt = 0; attempt < 2; attempt++)
	{
		double		step = 1.0;

		SolverModel(s, attempt == 1);
		memcpy(trial, theta, sizeof(double) * p);
		if (!LinalgLasso(s->G, s->rhs, p, s->penalised, s->lambda, trial, s->work, s->active))
		{
			if (attempt == 0)
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
		SolverEvaluate(s, theta);
	}
	/* no step lowers the objective: theta is the minimum to rounding */
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
	free(s->ut);
	free(s->uc);
	free(s->us);
	free(s->zt);
	free(s->zs);
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
				stride;
	double	   *theta = NULL,
			   *trial = NULL,
			   *r_start = NULL;
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
	s.ut = malloc(sizeof(double) * n);
	s.uc = malloc(sizeof(double) * n);
	s.us = malloc(sizeof(double) * n);
	s.zt = malloc(sizeof(double) * n);
	s.zs = malloc(sizeof(double) * n);
	s.scratch = malloc(sizeof(double) * (n > s.d.ngroups ? n : s.d.ngroups));
	s.G = malloc(sizeof(double) * p * p);
	s.base = malloc(sizeof(double) * p * p);
	s.base_u = malloc(sizeof(double) * n);
	s.diag = malloc(sizeof(double) * p);
	s.rhs = malloc(sizeof(double) * p);
	s.penalised = calloc(p, 1);
	s.work = malloc(sizeof(double) * (p * p + 5 * p));
	s.active = malloc(sizeof(int) * p);
	theta = calloc(p, sizeof(double));
	trial = calloc(p, sizeof(double));
	r_start = malloc(sizeof(double) * n);
	if (!s.r || !s.ut || !s.uc || !s.us || !s.zt || !s.zs || !s.scratch || !s.G || !s.base ||
		!s.base_u || !s.diag || !s.rhs || !s.penalised || !s.work || !s.active ||
		!theta || !trial || !r_start)
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
	theta[0] = ForecastMedian(s.scratch, j);
	for (i = 0, j = 0; i + stride < n; i += stride)
		s.r[j++] = (in->y[i + 1] - in->y[i]) / sqrt(2.0);
	s.sigma = j > 1 ? NoiseScale(s.r, j, params->loss, s.scratch) : 0.0;
	if (!(s.sigma > FIT_SIGMA_FLOOR))
		s.sigma = FIT_SIGMA_FLOOR;
	for (j = 1; j < s.d.nramps; j++)
		s.penalised[1 + j] = 1;
	SolverEvaluate(&s, theta);

	/* Newton steps; the noise scale follows the first ones, then is held */
	for (i = 0; s.steps < FIT_MAX_STEPS; i++)
	{
		double		before = SolverObjective(&s, theta),
					after;

		memcpy(r_start, s.r, sizeof(double) * n);
		if (!SolverNewton(&s, theta, trial))
		{
			ForecastSetError(error, "", "the fit is numerically singular at step %d", s.steps);
			goto done;
		}
		after = SolverObjective(&s, theta);
		if (i < FIT_SCALE_STEPS)
		{
			s.sigma = NoiseScale(s.r, n, params->loss, s.scratch);
			SolverRescore(&s);
		}
		else if (FittedChange(&s, r_start) < FIT_TOLERANCE * s.sigma ||
				 before - after <= FIT_OBJECTIVE_TOLERANCE * after)
			break;
	}
	for (j = 0; j < p; j++)
		if (!isfinite(theta[j]) || fabs(theta[j]) > FORECAST_MAX_ABS)
		{
			ForecastSetError(error, "", "the fit diverged");
			goto done;
		}

	model->sigma = s.sigma;
	model->iterations = s.steps;
	model->m = theta[0];
	model->k = s.d.nramps > 0 ? theta[1] : 0.0;
	for (j = 0; j < model->n_changepoints; j++)
		model->deltas[j] = theta[2 + j];
	for (i = 0, j = s.nt; i < model->nseasonalities; i++)
	{
		memcpy(model->seasonalities[i].coef, theta + j,
			   sizeof(double) * 2 * model->seasonalities[i].order);
		j += 2 * model->seasonalities[i].order;
	}
	ok = true;
	goto done;

oom:
	ForecastSetError(error, "", "out of memory");
done:
	free(theta);
	free(trial);
	free(r_start);
	SolverFree(&s);
	return ok;
}
