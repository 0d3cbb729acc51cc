/*
 * forecast_design.c - the columns of the forecast model, without a matrix
 *
 * The trend columns are 1, t and ramps max(t - c, 0) at the slope's knot
 * (c = 0) and at each changepoint; the seasonal columns are Fourier terms.
 * The design matrix is never formed.  The weighted Gram entries of two
 * ramps are sums over a suffix of the history, so three running sums give
 * all of them; daily and weekly Fourier columns depend only on the time of
 * the week, so points that share it (55 groups for business hours) share
 * one feature row and seasonal sums run over groups.  Building X' diag(u) X
 * then costs O(n + groups * columns^2) instead of O(n * columns^2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/* Number of Fourier columns of the model's seasonalities. */
int
DesignSeasonalColumns(const ForecastModel *model)
{
	int			columns = 0;
	int			s;

	for (s = 0; s < model->nseasonalities; s++)
		columns += 2 * model->seasonalities[s].order;
	return columns;
}

/*
 * The Fourier features of one timestamp: for each seasonality and order k,
 * sin and cos of 2 pi k (phase within the period).  The phase is reduced
 * before scaling so that large timestamps lose no precision.
 */
void
DesignSeasonalFeatures(const ForecastModel *model, double ts, double *row)
{
	int			s,
				k,
				c = 0;

	for (s = 0; s < model->nseasonalities; s++)
	{
		const ForecastSeasonality *season = &model->seasonalities[s];
		double		phase = 2.0 * M_PI * ForecastMod(ts, season->period) / season->period;

		for (k = 1; k <= season->order; k++)
		{
			row[c++] = sin(k * phase);
			row[c++] = cos(k * phase);
		}
	}
}

/* The trend at scaled time t, without the level adjustment. */
double
DesignTrendAt(const ForecastModel *model, double t)
{
	double		value = model->m + model->k * t;
	int			j;

	for (j = 0; j < model->n_changepoints && model->changepoints[j] < t; j++)
		value += model->deltas[j] * (t - model->changepoints[j]);
	return value;
}

/* Releases what DesignInit allocated, also after a partial failure. */
void
DesignFree(Design *d)
{
	free(d->knot);
	free(d->first);
	free(d->group);
	free(d->F);
	free(d->gv);
	free(d->m0);
	free(d->m1);
	free(d->m2);
	free(d->g0);
	free(d->g1);
	free(d->g2);
}

/*
 * Lays out the columns: ramps at the slope (knot 0) and at each changepoint,
 * and one seasonal feature row per time of the week (per point when a
 * yearly seasonality makes every point's features different).
 */
bool
DesignInit(Design *d, const FitInput *in, const ForecastModel *model)
{
	int			n = in->n;
	int			i,
				j;
	bool		yearly = false;

	memset(d, 0, sizeof(*d));
	d->n = n;
	d->t = in->t;
	d->nramps = model->params.growth == FORECAST_GROWTH_LINEAR ? 1 + model->n_changepoints : 0;
	d->ntrend = 1 + d->nramps;
	d->nseason = DesignSeasonalColumns(model);
	for (i = 0; i < model->nseasonalities; i++)
		if (fmod(FORECAST_WEEK, model->seasonalities[i].period) != 0.0)
			yearly = true;

	d->knot = malloc(sizeof(double) * (d->nramps + 1));
	d->first = malloc(sizeof(int) * (d->nramps + 1));
	d->group = malloc(sizeof(int) * n);
	d->m0 = malloc(sizeof(double) * (d->nramps + 1));
	d->m1 = malloc(sizeof(double) * (d->nramps + 1));
	d->m2 = malloc(sizeof(double) * (d->nramps + 1));
	if (!d->knot || !d->first || !d->group || !d->m0 || !d->m1 || !d->m2)
		return false;

	for (j = 0; j < d->nramps; j++)
	{
		double		knot = j == 0 ? 0.0 : model->changepoints[j - 1];
		int			lo = 0,
					hi = n;

		/* first point at or after the knot, by bisection */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (in->t[mid] < knot)
				lo = mid + 1;
			else
				hi = mid;
		}
		d->knot[j] = knot;
		d->first[j] = lo;
	}

	if (d->nseason == 0)
	{
		d->ngroups = 1;
		for (i = 0; i < n; i++)
			d->group[i] = 0;
	}
	else if (yearly)
	{
		d->ngroups = n;
		for (i = 0; i < n; i++)
			d->group[i] = i;
	}
	else
	{
		/* group by time of the week through an open-addressing hash table */
		int			size = 16;
		int		   *slot_group;
		double	   *slot_key;

		while (size < 2 * n)
			size *= 2;
		slot_group = malloc(sizeof(int) * size);
		slot_key = malloc(sizeof(double) * size);
		if (!slot_group || !slot_key)
		{
			free(slot_group);
			free(slot_key);
			return false;
		}
		for (i = 0; i < size; i++)
			slot_group[i] = -1;
		d->ngroups = 0;
		for (i = 0; i < n; i++)
		{
			double		key = ForecastMod(in->ts[i] - FORECAST_MONDAY, FORECAST_WEEK);
			uint64_t	bits;
			int			h;

			key += 0.0;			/* -0.0 and 0.0 hash alike */
			memcpy(&bits, &key, sizeof(bits));
			h = (int) ((bits * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & (size - 1);
			while (slot_group[h] >= 0 && slot_key[h] != key)
				h = (h + 1) & (size - 1);
			if (slot_group[h] < 0)
			{
				slot_group[h] = d->ngroups++;
				slot_key[h] = key;
			}
			d->group[i] = slot_group[h];
		}
		free(slot_group);
		free(slot_key);
	}

	d->F = malloc(sizeof(double) * ((size_t) d->ngroups * d->nseason + 1));
	d->gv = malloc(sizeof(double) * d->ngroups);
	d->g0 = malloc(sizeof(double) * d->ngroups);
	d->g1 = malloc(sizeof(double) * d->ngroups);
	d->g2 = malloc(sizeof(double) * d->ngroups);
	if (!d->F || !d->gv || !d->g0 || !d->g1 || !d->g2)
		return false;
	if (d->nseason > 0)
	{
		/* the first member of each group gives the group's features */
		unsigned char *done = calloc(d->ngroups, 1);
		double	   *row = malloc(sizeof(double) * d->nseason);
		int			c;

		if (!done || !row)
		{
			free(done);
			free(row);
			return false;
		}
		for (i = 0; i < n; i++)
		{
			int			g = d->group[i];

			if (done[g])
				continue;
			DesignSeasonalFeatures(model, in->ts[i], row);
			for (c = 0; c < d->nseason; c++)
				d->F[(size_t) c * d->ngroups + g] = row[c];
			done[g] = 1;
		}
		free(done);
		free(row);
	}
	return true;
}

/*
 * The Gram matrix of the model's columns under three weightings, into G
 * (p x p, trend columns first): the trend block weighted by u_trend, the
 * trend-season block by u_cross, the seasonal block by u_season.  An
 * additive model passes one array thrice (X' diag(u) X); the Gauss-Newton
 * steps of a multiplicative one need three.
 *
 * One backward sweep gathers the suffix sums of u, u t and u t^2 at each
 * ramp's first point (ramp a and b >= a overlap from b's first point on:
 * sum u (t - c_a)(t - c_b) = S2 - (c_a + c_b) S1 + c_a c_b S0 there), and
 * per group sums of u and u t: when the sweep has taken in a ramp's first
 * point, those give the ramp's cross products with every group's features.
 */
void
DesignGram(Design *d, const double *u_trend, const double *u_cross, const double *u_season,
		   double *G)
{
	int			n = d->n;
	int			nramps = d->nramps;
	int			ns = d->nseason;
	int			off = d->ntrend;
	int			p = off + ns;
	bool		own_season = u_season != u_cross;
	double	   *season_sum = own_season ? d->g2 : d->g0;
	double		S0 = 0.0,
				S1 = 0.0,
				S2 = 0.0;
	int			i,
				a,
				b,
				c,
				g;

	for (g = 0; ns > 0 && g < d->ngroups; g++)
		d->g0[g] = d->g1[g] = d->g2[g] = 0.0;

	a = nramps - 1;
	while (a >= 0 && d->first[a] >= n)
	{
		/* a ramp that starts after the last point is zero throughout */
		d->m0[a] = d->m1[a] = d->m2[a] = 0.0;
		for (c = 0; c < ns; c++)
			G[(1 + a) * p + off + c] = 0.0;
		a--;
	}
	for (i = n - 1; i >= 0; i--)
	{
		double		ui = u_trend[i];
		double		ut = ui * d->t[i];

		S0 += ui;
		S1 += ut;
		S2 += ut * d->t[i];
		if (ns > 0)
		{
			g = d->group[i];
			d->g0[g] += u_cross[i];
			d->g1[g] += u_cross[i] * d->t[i];
			if (own_season)
				d->g2[g] += u_season[i];
		}
		while (a >= 0 && d->first[a] == i)
		{
			double		knot = d->knot[a];
			double	   *cross = G + (1 + a) * p + off;

			d->m0[a] = S0;
			d->m1[a] = S1;
			d->m2[a] = S2;
			if (ns > 0)
			{
				for (g = 0; g < d->ngroups; g++)
					d->gv[g] = d->g1[g] - knot * d->g0[g];
				for (c = 0; c < ns; c++)
					cross[c] = LinalgDot(d->gv, d->F + (size_t) c * d->ngroups, d->ngroups);
			}
			a--;
		}
	}

	G[0] = S0;
	for (a = 0; a < nramps; a++)
	{
		double		ka = d->knot[a];

		G[1 + a] = G[(1 + a) * p] = d->m1[a] - ka * d->m0[a];
		for (b = a; b < nramps; b++)
		{
			double		kb = d->knot[b];
			double		v = d->m2[b] - (ka + kb) * d->m1[b] + ka * kb * d->m0[b];

			G[(1 + a) * p + 1 + b] = G[(1 + b) * p + 1 + a] = v;
		}
		for (c = 0; c < ns; c++)
			G[(off + c) * p + 1 + a] = G[(1 + a) * p + off + c];
	}

	/* the intercept's cross products and the seasonal block, by group */
	for (a = 0; a < ns; a++)
	{
		const double *col = d->F + (size_t) a * d->ngroups;

		G[off + a] = G[(off + a) * p] = LinalgDot(d->g0, col, d->ngroups);
		for (g = 0; g < d->ngroups; g++)
			d->gv[g] = season_sum[g] * col[g];
		for (b = a; b < ns; b++)
			G[(off + a) * p + off + b] = G[(off + b) * p + off + a] =
				LinalgDot(d->gv, d->F + (size_t) b * d->ngroups, d->ngroups);
	}
}

/* X' z for the chosen columns, into out; sums gathered as in DesignGram. */
void
DesignXtz(Design *d, const double *z, bool trend, bool season, double *out)
{
	int			n = d->n;
	int			nramps = trend ? d->nramps : 0;
	int			ns = season ? d->nseason : 0;
	int			off = trend ? d->ntrend : 0;
	double		Z0 = 0.0,
				Z1 = 0.0;
	int			i,
				a,
				c,
				g;

	for (g = 0; ns > 0 && g < d->ngroups; g++)
		d->g0[g] = 0.0;
	a = nramps - 1;
	while (a >= 0 && d->first[a] >= n)
		out[1 + a--] = 0.0;
	for (i = n - 1; i >= 0; i--)
	{
		Z0 += z[i];
		Z1 += z[i] * d->t[i];
		if (ns > 0)
			d->g0[d->group[i]] += z[i];
		while (a >= 0 && d->first[a] == i)
		{
			out[1 + a] = Z1 - d->knot[a] * Z0;
			a--;
		}
	}
	if (trend)
		out[0] = Z0;
	if (ns == 0)
		return;
	for (c = 0; c < ns; c++)
		out[off + c] = LinalgDot(d->g0, d->F + (size_t) c * d->ngroups, d->ngroups);
}

/* The seasonality of each group for coefficients beta, into values. */
void
DesignSeasonGroups(const Design *d, const double *beta, double *values)
{
	int			g,
				c;

	for (g = 0; g < d->ngroups; g++)
		values[g] = 0.0;
	for (c = 0; c < d->nseason; c++)
	{
		const double *col = d->F + (size_t) c * d->ngroups;

		for (g = 0; g < d->ngroups; g++)
			values[g] += beta[c] * col[g];
	}
}
