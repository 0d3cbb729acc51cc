/*
 * profile.c - one source IP's traffic behaviour, learned from real rows
 *
 * The traffic generator needs to produce rows that look like a real source
 * IP's: active in the same hours of the week, with the same daily and weekly
 * rhythm, the same heavy-tailed values (bytes span five orders of magnitude)
 * and the same dependence between features.  A profile holds that in a few
 * kilobytes, learned from the IP's real rows:
 *
 * - calendar: for each of the 168 hours of the week (Monday 00:00 UTC
 *   first), the probability that an event happens, counted over the weeks
 *   the rows span; slots seen in fewer than PROFILE_MIN_WEEKS weeks are
 *   shrunk toward the same hour of the other days;
 * - zero: the probability that an event is all zero (the real rows have
 *   many: a source that was up but sent nothing), per hour of the week,
 *   shrunk the same way;
 * - for the other ("active") rows, a Gaussian copula on log1p(value): per
 *   feature and hour of day, quantile knots of log1p(value) minus a day of
 *   week level, shrunk toward the IP's overall knots when the hour has few
 *   rows, and one correlation matrix of the normal scores of the rows;
 * - relations that hold on every row (frequency = allow + drop, bytes per
 *   packet within bounds, ...), which the generator then enforces exactly.
 *
 * A profile is stored as a versioned JSON document (ProfileToJson) that
 * users may edit, so ProfileFromJson validates every member strictly and
 * names the offending one.  Every stored number is rounded to six decimals
 * when learned and when read, so the document holds the profile exactly: a
 * parsed profile generates the same rows as the one it was written from,
 * and writes back the same document.
 */
#include "postgres_fe.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>

#include "json_tree.h"
#include "profile.h"
#include "text_buf.h"

#define US_PER_HOUR INT64CONST(3600000000)

/* Calendar slots seen in fewer weeks than this are shrunk toward the hour. */
#define PROFILE_MIN_WEEKS 4

/* Pseudo-rows pulling an hour (or day) toward the IP's whole distribution. */
#define PROFILE_SHRINK_ROWS 10.0

/* Hours with fewer active rows rank their normal scores among all rows. */
#define PROFILE_MIN_RANK_ROWS 20

/* Decimals kept in every stored number. */
#define PROFILE_SCALE 1e6

const char *const ProfileRelationNames[PROFILE_NRELATIONS] = {
	"frequency_is_allow_plus_drop",
	"unq_dst_port_le_unq_dst_ip",
	"unq_dst_ip_le_frequency",
	"frequency_le_pkts_sent",
	"active_rows_at_least_one",
	"no_allow_no_pkts_received",
	"bytesin_per_pkts_sent",
	"bytesout_per_pkts_received"
};

/* The probabilities ProfileLearn puts knots at: finer in the tails. */
static const double DefaultProbs[PROFILE_DEFAULT_KNOTS] = {
	0.0, 0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50,
	0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.98, 0.99, 1.0
};

typedef enum RowKind
{
	ROW_EMPTY,					/* no feature known */
	ROW_ZERO,					/* every known feature is 0 */
	ROW_ACTIVE
} RowKind;

/* One known value of one feature in an active row. */
typedef struct Observation
{
	double		raw;			/* log1p(value) */
	double		y;				/* log1p(value) - day level */
	int			hour;			/* of the day */
	int			day;			/* of the week, Monday 0 */
	int			row;			/* index among the active rows */
} Observation;

static bool Fail(char *error, const char *fmt,...) pg_attribute_printf(2, 3);

/* Writes a readable error; always returns false so callers can return it. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	va_start(args, fmt);
	vsnprintf(error, PROFILE_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* Integer division rounding toward minus infinity (times before 1970). */
static int64_t
FloorDiv(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Hour of the week of an hour counted from the epoch (a Thursday). */
static int
SlotOfHour(int64_t hour)
{
	int64_t		day = FloorDiv(hour, PROFILE_HOURS_PER_DAY);
	int			hod = (int) (hour - day * PROFILE_HOURS_PER_DAY);
	int			dow = (int) ((day % 7 + 7 + 3) % 7);

	return dow * PROFILE_HOURS_PER_DAY + hod;
}

/* Hour of the week of a time, 0 = Monday 00:00 UTC. */
int
ProfileHourOfWeek(int64_t ts_us)
{
	return SlotOfHour(FloorDiv(ts_us, US_PER_HOUR));
}

/* Rounds to the six decimals the JSON document keeps, without -0. */
static double
Quantize(double x)
{
	double		r = round(x * PROFILE_SCALE) / PROFILE_SCALE;

	return r == 0.0 ? 0.0 : r;
}

/* The standard normal distribution function. */
double
ProfileNormalCdf(double z)
{
	return 0.5 * erfc(-z * M_SQRT1_2);
}

/*
 * The standard normal quantile, by Wichura's algorithm AS 241 (PPND16):
 * rational approximations in three regions, relative error about 1e-16.
 * The generator draws its normal variates through it (one uniform each).
 */
double
ProfileNormalQuantile(double p)
{
	double		q = p - 0.5;
	double		r;
	double		x;

	if (fabs(q) <= 0.425)
	{
		r = 0.180625 - q * q;
		return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r +
						 67265.770927008700853) * r + 45921.953931549871457) * r +
					   13731.693765509461125) * r + 1971.5909503065514427) * r +
					 133.14166789178437745) * r + 3.387132872796366608) /
			(((((((5226.495278852545925 * r + 28729.085735721942674) * r +
				  39307.89580009271061) * r + 21213.794301586595867) * r +
				5394.1960214247511077) * r + 687.1870074920579083) * r +
			  42.313330701600911252) * r + 1.0);
	}
	if (p <= 0.0)
		return -HUGE_VAL;
	if (p >= 1.0)
		return HUGE_VAL;
	r = q < 0 ? p : 1.0 - p;
	r = sqrt(-log(r));
	if (r <= 5.0)
	{
		r -= 1.6;
		x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r +
				  0.24178072517745061177) * r + 1.27045825245236838258) * r +
				3.64784832476320460504) * r + 5.7694972214606914055) * r +
			  4.6303378461565452959) * r + 1.42343711074968357734) /
			(((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r +
				  0.0151986665636164571966) * r + 0.14810397642748007459) * r +
				0.68976733498510000455) * r + 1.6763848301838038494) * r +
			  2.05319162663775882187) * r + 1.0);
	}
	else
	{
		r -= 5.0;
		x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r +
				  0.0012426609473880784386) * r + 0.026532189526576123093) * r +
				0.29656057182850489123) * r + 1.7848265399172913358) * r +
			  5.4637849111641143699) * r + 6.6579046435011037772) /
			(((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r +
				  1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
				0.0148753612908506148525) * r + 0.13692988092273580531) * r +
			  0.59983220655588793769) * r + 1.0);
	}
	return q < 0 ? -x : x;
}

/*
 * Lower Cholesky factor of a correlation matrix; false when it is not
 * (numerically) positive definite.
 */
static bool
Cholesky(const double a[EVENT_NFEATURES][EVENT_NFEATURES],
		 double l[EVENT_NFEATURES][EVENT_NFEATURES])
{
	int			i,
				j,
				k;

	memset(l, 0, sizeof(double) * EVENT_NFEATURES * EVENT_NFEATURES);
	for (j = 0; j < EVENT_NFEATURES; j++)
	{
		double		d = a[j][j];

		for (k = 0; k < j; k++)
			d -= l[j][k] * l[j][k];
		if (!(d > 1e-9))
			return false;
		l[j][j] = sqrt(d);
		for (i = j + 1; i < EVENT_NFEATURES; i++)
		{
			double		s = a[i][j];

			for (k = 0; k < j; k++)
				s -= l[i][k] * l[j][k];
			l[i][j] = s / l[j][j];
		}
	}
	return true;
}

/* Order of doubles, for qsort. */
static int
CompareDouble(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Order of int64s, for qsort. */
static int
CompareInt64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* Order of observations by value, for ranks. */
static int
CompareObservation(const void *a, const void *b)
{
	return CompareDouble(&((const Observation *) a)->raw, &((const Observation *) b)->raw);
}

/* The p-quantile of sorted values, interpolating between order statistics. */
static double
SortedQuantile(const double *sorted, int n, double p)
{
	double		pos = p * (n - 1);
	int			lo = (int) floor(pos);

	if (lo >= n - 1)
		return sorted[n - 1];
	return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

/*
 * A probability estimated from hits out of trials, shrunk toward prior
 * when there are fewer than PROFILE_MIN_WEEKS trials.
 */
static double
ShrunkRate(double hits, double trials, double prior)
{
	if (trials >= PROFILE_MIN_WEEKS)
		return Quantize(hits / trials);
	return Quantize((hits + (PROFILE_MIN_WEEKS - trials) * prior) / PROFILE_MIN_WEEKS);
}

/*
 * The calendar (P(event) per hour of the week) and the share of all-zero
 * events, counted over the hours the rows span.
 */
static bool
LearnCalendar(Profile *p, const ProfileRow *rows, size_t nrows, const RowKind *kinds,
			  char *error)
{
	int64_t    *hours = malloc(nrows * sizeof(int64_t));
	double		occ[PROFILE_HOURS_PER_WEEK] = {0};
	double		seen[PROFILE_HOURS_PER_WEEK] = {0};
	double		counted[PROFILE_HOURS_PER_WEEK] = {0};
	double		zeros[PROFILE_HOURS_PER_WEEK] = {0};
	double		span,
				all_seen = 0,
				all_counted = 0,
				all_zeros = 0;
	int64_t		full,
				rem;
	int			s0,
				s,
				h,
				d;
	size_t		i;

	if (hours == NULL)
		return Fail(error, "out of memory");
	for (i = 0; i < nrows; i++)
	{
		hours[i] = FloorDiv(rows[i].ts_us, US_PER_HOUR);
		s = SlotOfHour(hours[i]);
		if (kinds[i] != ROW_EMPTY)
		{
			counted[s]++;
			all_counted++;
			if (kinds[i] == ROW_ZERO)
			{
				zeros[s]++;
				all_zeros++;
			}
		}
	}
	qsort(hours, nrows, sizeof(int64_t), CompareInt64);
	for (i = 0; i < nrows; i++)
		if (i == 0 || hours[i] != hours[i - 1])
		{
			seen[SlotOfHour(hours[i])]++;
			all_seen++;
		}

	/* each slot occurs full or full + 1 times in the span */
	span = (double) (hours[nrows - 1] - hours[0]) + 1.0;
	full = (hours[nrows - 1] - hours[0] + 1) / PROFILE_HOURS_PER_WEEK;
	rem = (hours[nrows - 1] - hours[0] + 1) % PROFILE_HOURS_PER_WEEK;
	s0 = SlotOfHour(hours[0]);
	for (s = 0; s < PROFILE_HOURS_PER_WEEK; s++)
		occ[s] = (double) full + (((s - s0 + PROFILE_HOURS_PER_WEEK) % PROFILE_HOURS_PER_WEEK) < rem);
	free(hours);

	for (h = 0; h < PROFILE_HOURS_PER_DAY; h++)
	{
		double		h_occ = 0,
					h_seen = 0,
					h_counted = 0,
					h_zeros = 0;
		double		cal_prior,
					zero_prior;

		for (d = 0; d < PROFILE_DAYS_PER_WEEK; d++)
		{
			s = d * PROFILE_HOURS_PER_DAY + h;
			h_occ += occ[s];
			h_seen += seen[s];
			h_counted += counted[s];
			h_zeros += zeros[s];
		}
		cal_prior = h_occ > 0 ? h_seen / h_occ : all_seen / span;
		if (h_counted > 0)
			zero_prior = h_zeros / h_counted;
		else
			zero_prior = all_counted > 0 ? all_zeros / all_counted : 0.0;
		for (d = 0; d < PROFILE_DAYS_PER_WEEK; d++)
		{
			s = d * PROFILE_HOURS_PER_DAY + h;
			p->calendar[s] = ShrunkRate(seen[s], occ[s], cal_prior);
			p->zero[s] = ShrunkRate(zeros[s], counted[s], zero_prior);
		}
	}
	return true;
}

/*
 * Normal scores of observations sorted by value (before the day level is
 * taken off, so that equal values stay tied), by position: a run of ties
 * covering ranks i+1..j+1 of n spans probabilities [i/n, (j+1)/n], and each
 * gets the mean of a standard normal over that interval.  Untied values get
 * about the usual Phi^-1(rank/(n+1)); a large tie (drop is 0 in 64 % of one
 * IP's rows) gets one score whose shrunken variance LearnCorrelation uses
 * to undo the attenuation of its correlations.
 */
static void
NormalScores(const Observation *sorted, int n, double *scores)
{
	int			i = 0;

	while (i < n)
	{
		int			j = i;
		double		a,
					b,
					mass,
					score;

		while (j + 1 < n && sorted[j + 1].raw == sorted[i].raw)
			j++;
		a = ProfileNormalQuantile((double) i / n);
		b = ProfileNormalQuantile((double) (j + 1) / n);
		mass = (double) (j + 1 - i) / n;
		/* E[Z | a < Z < b] = (phi(a) - phi(b)) / (Phi(b) - Phi(a)) */
		score = ((isinf(a) ? 0.0 : exp(-0.5 * a * a)) - (isinf(b) ? 0.0 : exp(-0.5 * b * b))) /
			(sqrt(2.0 * M_PI) * mass);
		for (; i <= j; i++)
			scores[i] = score;
	}
}

/*
 * One feature's day levels, hourly knots and normal scores, from its known
 * values in the active rows.
 */
static bool
LearnFeature(Profile *p, int f, Observation *obs, int n, double *z, char *error)
{
	size_t		count = n > 0 ? (size_t) n : 1;
	double		hour_sum[PROFILE_HOURS_PER_DAY] = {0};
	int			hour_n[PROFILE_HOURS_PER_DAY] = {0};
	double		day_sum[PROFILE_DAYS_PER_WEEK] = {0};
	int			day_n[PROFILE_DAYS_PER_WEEK] = {0};
	double		hour_mean[PROFILE_HOURS_PER_DAY];
	double		overall[PROFILE_MAX_KNOTS];
	double		mean = 0;
	double	   *sorted;
	Observation *byhour;
	int			i,
				h,
				k,
				d;

	if (n == 0)
		return true;			/* knots and levels stay 0 */

	/* day of week levels: mean residual from the (shrunk) hour means */
	for (i = 0; i < n; i++)
	{
		mean += obs[i].y;
		hour_sum[obs[i].hour] += obs[i].y;
		hour_n[obs[i].hour]++;
	}
	mean /= n;
	for (h = 0; h < PROFILE_HOURS_PER_DAY; h++)
		hour_mean[h] = (hour_sum[h] + PROFILE_SHRINK_ROWS * mean) / (hour_n[h] + PROFILE_SHRINK_ROWS);
	for (i = 0; i < n; i++)
	{
		day_sum[obs[i].day] += obs[i].y - hour_mean[obs[i].hour];
		day_n[obs[i].day]++;
	}
	for (d = 0; d < PROFILE_DAYS_PER_WEEK; d++)
	{
		double		level = Quantize(day_sum[d] / (day_n[d] + PROFILE_SHRINK_ROWS));

		p->day_level[f][d] = fmax(-PROFILE_MAX_LEVEL, fmin(PROFILE_MAX_LEVEL, level));
	}
	for (i = 0; i < n; i++)
		obs[i].y -= p->day_level[f][obs[i].day];

	/* knots: the IP's overall quantiles, then each hour's, shrunk */
	sorted = malloc(count * sizeof(double));
	byhour = malloc(count * sizeof(Observation));
	if (sorted == NULL || byhour == NULL)
	{
		free(sorted);
		free(byhour);
		return Fail(error, "out of memory");
	}
	for (i = 0; i < n; i++)
		sorted[i] = obs[i].y;
	qsort(sorted, n, sizeof(double), CompareDouble);
	for (k = 0; k < p->nknots; k++)
		overall[k] = SortedQuantile(sorted, n, p->probs[k]);

	for (h = 0; h < PROFILE_HOURS_PER_DAY; h++)
	{
		double		w = hour_n[h] / (hour_n[h] + PROFILE_SHRINK_ROWS);
		int			m = 0;

		for (i = 0; i < n; i++)
			if (obs[i].hour == h)
			{
				byhour[m] = obs[i];
				sorted[m++] = obs[i].y;
			}
		qsort(sorted, m, sizeof(double), CompareDouble);
		for (k = 0; k < p->nknots; k++)
		{
			double		q = overall[k];

			if (m > 0)
				q = w * SortedQuantile(sorted, m, p->probs[k]) + (1.0 - w) * overall[k];
			p->knots[f][h][k] = fmax(PROFILE_MIN_KNOT, fmin(PROFILE_MAX_KNOT, Quantize(q)));
		}
		/* normal scores of the hour's rows, ranked within the hour */
		if (m >= PROFILE_MIN_RANK_ROWS)
		{
			qsort(byhour, m, sizeof(Observation), CompareObservation);
			NormalScores(byhour, m, sorted);
			for (i = 0; i < m; i++)
				z[(size_t) byhour[i].row * EVENT_NFEATURES + f] = sorted[i];
		}
	}

	/* normal scores of rows in sparse hours, ranked among all rows */
	memcpy(byhour, obs, count * sizeof(Observation));
	qsort(byhour, count, sizeof(Observation), CompareObservation);
	NormalScores(byhour, n, sorted);
	for (i = 0; i < n; i++)
		if (hour_n[byhour[i].hour] < PROFILE_MIN_RANK_ROWS)
			z[(size_t) byhour[i].row * EVENT_NFEATURES + f] = sorted[i];
	free(sorted);
	free(byhour);
	return true;
}

/*
 * Eigenvalues (on the diagonal of a) and eigenvectors (columns of v) of a
 * symmetric matrix, by cyclic Jacobi rotations.
 */
static void
JacobiEigen(double a[EVENT_NFEATURES][EVENT_NFEATURES], double v[EVENT_NFEATURES][EVENT_NFEATURES])
{
	int			sweep,
				i,
				j,
				k;

	for (i = 0; i < EVENT_NFEATURES; i++)
		for (j = 0; j < EVENT_NFEATURES; j++)
			v[i][j] = i == j ? 1.0 : 0.0;
	for (sweep = 0; sweep < 100; sweep++)
	{
		double		off = 0;

		for (i = 0; i < EVENT_NFEATURES; i++)
			for (j = i + 1; j < EVENT_NFEATURES; j++)
				off += a[i][j] * a[i][j];
		if (off < 1e-24)
			break;
		for (i = 0; i < EVENT_NFEATURES; i++)
			for (j = i + 1; j < EVENT_NFEATURES; j++)
			{
				double		theta,
							t,
							c,
							s;

				if (fabs(a[i][j]) < 1e-300)
					continue;
				/* the rotation that zeroes a[i][j] */
				theta = (a[j][j] - a[i][i]) / (2.0 * a[i][j]);
				t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
				c = 1.0 / sqrt(t * t + 1.0);
				s = t * c;
				for (k = 0; k < EVENT_NFEATURES; k++)
				{
					double		aki = a[k][i],
								akj = a[k][j];

					a[k][i] = c * aki - s * akj;
					a[k][j] = s * aki + c * akj;
				}
				for (k = 0; k < EVENT_NFEATURES; k++)
				{
					double		aik = a[i][k],
								ajk = a[j][k];

					a[i][k] = c * aik - s * ajk;
					a[j][k] = s * aik + c * ajk;
				}
				for (k = 0; k < EVENT_NFEATURES; k++)
				{
					double		vki = v[k][i],
								vkj = v[k][j];

					v[k][i] = c * vki - s * vkj;
					v[k][j] = s * vki + c * vkj;
				}
			}
	}
}

/*
 * The nearest (in spirit) positive definite correlation matrix: negative or
 * tiny eigenvalues raised to a floor, then the diagonal scaled back to 1.
 * Unlike shrinking every correlation, this leaves the consistent part of
 * the matrix alone.
 */
static void
ClipEigenvalues(double r[EVENT_NFEATURES][EVENT_NFEATURES])
{
	double		a[EVENT_NFEATURES][EVENT_NFEATURES];
	double		v[EVENT_NFEATURES][EVENT_NFEATURES];
	double		d[EVENT_NFEATURES];
	int			i,
				j,
				k;

	memcpy(a, r, sizeof(a));
	JacobiEigen(a, v);
	for (k = 0; k < EVENT_NFEATURES; k++)
		d[k] = fmax(a[k][k], 0.01);
	for (i = 0; i < EVENT_NFEATURES; i++)
		for (j = 0; j < EVENT_NFEATURES; j++)
		{
			double		x = 0;

			for (k = 0; k < EVENT_NFEATURES; k++)
				x += v[i][k] * d[k] * v[j][k];
			a[i][j] = x;
		}
	for (i = 0; i < EVENT_NFEATURES; i++)
		for (j = 0; j < EVENT_NFEATURES; j++)
			r[i][j] = i == j ? 1.0 : Quantize(a[i][j] / sqrt(a[i][i] * a[j][j]));
}

/*
 * Correlation of the latent normals behind two features, from their normal
 * scores over the rows where both are known.  With scores that are
 * conditional means E[X | tie] of a latent standard normal, the scores'
 * covariance over the product of their variances, r, is exact when one
 * feature has no ties (Cov(E[X|tie], Y) = rho Var(E[X|tie])) and gives
 * arcsin(rho) when both are split in two at their medians; so r is blended
 * toward sin(r) as both features get as tied as that (score variance 2/pi).
 * Then made positive definite.
 */
static void
LearnCorrelation(Profile *p, const double *z, int nactive)
{
	static const double shrink[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0};
	double		raw[EVENT_NFEATURES][EVENT_NFEATURES];
	int			a,
				b,
				i,
				t;

	for (a = 0; a < EVENT_NFEATURES; a++)
	{
		raw[a][a] = 1.0;
		for (b = a + 1; b < EVENT_NFEATURES; b++)
		{
			double		sa = 0,
						sb = 0,
						saa = 0,
						sbb = 0,
						sab = 0,
						rho = 0;
			int			n = 0;

			for (i = 0; i < nactive; i++)
			{
				double		x = z[(size_t) i * EVENT_NFEATURES + a];
				double		y = z[(size_t) i * EVENT_NFEATURES + b];

				if (isnan(x) || isnan(y))
					continue;
				n++;
				sa += x;
				sb += y;
				saa += x * x;
				sbb += y * y;
				sab += x * y;
			}
			if (n >= 3)
			{
				double		vx = (saa - sa * sa / n) / n;
				double		vy = (sbb - sb * sb / n) / n;

				if (vx > 1e-6 && vy > 1e-6)
				{
					double		r = fmax(-M_PI_2, fmin(M_PI_2, (sab - sa * sb / n) / n / (vx * vy)));
					double		tied = fmin(1.0, fmax(0.0, (1.0 - vx) * (1.0 - vy)) /
											((1.0 - M_2_PI) * (1.0 - M_2_PI)));

					rho = (1.0 - tied) * r + tied * sin(r);
				}
			}
			raw[a][b] = raw[b][a] = Quantize(fmax(-0.999, fmin(0.999, rho)));
		}
	}
	memcpy(p->corr, raw, sizeof(raw));
	if (Cholesky((const double (*)[EVENT_NFEATURES]) p->corr, p->chol))
		return;
	ClipEigenvalues(p->corr);
	memcpy(raw, p->corr, sizeof(raw));
	for (t = 0; !Cholesky((const double (*)[EVENT_NFEATURES]) p->corr, p->chol); t++)
	{
		for (a = 0; a < EVENT_NFEATURES; a++)
			for (b = 0; b < EVENT_NFEATURES; b++)
				if (a != b)
					p->corr[a][b] = Quantize((1.0 - shrink[t]) * raw[a][b]);
	}
}

/* Whether a row's relation between the features in mask can be checked. */
static bool
Known(const ProfileRow *row, uint32_t mask)
{
	return (row->present & mask) == mask;
}

#define BIT(f) (1u << (f))

/*
 * Bounds of bytes per packet over the rows, rounded outward to three
 * decimals, or false when the relation does not hold (a packet count and
 * its bytes not zero together, or a ratio out of the accepted range).
 */
static bool
LearnBytesPerPacket(const ProfileRow *rows, size_t nrows, int bytes, int packets, double bounds[2])
{
	double		lo = DBL_MAX,
				hi = 0;
	size_t		i;
	int			pass;

	for (i = 0; i < nrows; i++)
	{
		int64_t		b,
					k;

		if (!Known(&rows[i], BIT(bytes) | BIT(packets)))
			continue;
		b = rows[i].features[bytes];
		k = rows[i].features[packets];
		if ((b == 0) != (k == 0))
			return false;
		if (k > 0)
		{
			lo = fmin(lo, (double) b / (double) k);
			hi = fmax(hi, (double) b / (double) k);
		}
	}
	if (hi == 0)
		return false;
	lo = Quantize(floor(lo * 1000.0) / 1000.0);
	hi = Quantize(ceil(hi * 1000.0) / 1000.0);
	if (hi < lo + 1.0)
		hi = Quantize(lo + 1.0);
	/* the exact check must pass on every row: widen by a step if rounding bit */
	for (pass = 0; pass < 3; pass++)
	{
		bool		fits = true;

		for (i = 0; i < nrows && fits; i++)
		{
			double		b,
						k;

			if (!Known(&rows[i], BIT(bytes) | BIT(packets)))
				continue;
			b = (double) rows[i].features[bytes];
			k = (double) rows[i].features[packets];
			if (b < lo * k)
			{
				lo = Quantize(lo - 0.001);
				fits = false;
			}
			else if (b > hi * k)
			{
				hi = Quantize(hi + 0.001);
				fits = false;
			}
		}
		if (fits)
			break;
	}
	if (lo < PROFILE_MIN_BYTES_PER_PACKET || hi > PROFILE_MAX_BYTES_PER_PACKET)
		return false;
	bounds[0] = lo;
	bounds[1] = hi;
	return true;
}

/* Which relations hold on every row that has the features involved. */
static void
LearnRelations(Profile *p, const ProfileRow *rows, size_t nrows, const RowKind *kinds)
{
	int			checked[PROFILE_NRELATIONS] = {0};
	bool		broken[PROFILE_NRELATIONS] = {0};
	size_t		i;
	int			r;

	for (i = 0; i < nrows; i++)
	{
		const ProfileRow *row = &rows[i];
		const int64_t *v = row->features;

		if (Known(row, BIT(PROFILE_ALLOW) | BIT(PROFILE_DROP) | BIT(PROFILE_FREQUENCY)))
		{
			checked[PROFILE_FREQUENCY_SUM]++;
			if (v[PROFILE_FREQUENCY] != v[PROFILE_ALLOW] + v[PROFILE_DROP])
				broken[PROFILE_FREQUENCY_SUM] = true;
		}
		if (Known(row, BIT(PROFILE_UNQ_DST_PORT) | BIT(PROFILE_UNQ_DST_IP)))
		{
			checked[PROFILE_PORTS_LE_IPS]++;
			if (v[PROFILE_UNQ_DST_PORT] > v[PROFILE_UNQ_DST_IP])
				broken[PROFILE_PORTS_LE_IPS] = true;
		}
		if (Known(row, BIT(PROFILE_UNQ_DST_IP) | BIT(PROFILE_FREQUENCY)))
		{
			checked[PROFILE_IPS_LE_FREQUENCY]++;
			if (v[PROFILE_UNQ_DST_IP] > v[PROFILE_FREQUENCY])
				broken[PROFILE_IPS_LE_FREQUENCY] = true;
		}
		if (Known(row, BIT(PROFILE_FREQUENCY) | BIT(PROFILE_PKTS_SENT)))
		{
			checked[PROFILE_FREQUENCY_LE_PKTS_SENT]++;
			if (v[PROFILE_FREQUENCY] > v[PROFILE_PKTS_SENT])
				broken[PROFILE_FREQUENCY_LE_PKTS_SENT] = true;
		}
		if (kinds[i] == ROW_ACTIVE &&
			Known(row, BIT(PROFILE_UNQ_DST_IP) | BIT(PROFILE_FREQUENCY) | BIT(PROFILE_UNQ_DST_PORT)))
		{
			checked[PROFILE_ACTIVE_AT_LEAST_ONE]++;
			if (v[PROFILE_UNQ_DST_IP] < 1 || v[PROFILE_FREQUENCY] < 1 || v[PROFILE_UNQ_DST_PORT] < 1)
				broken[PROFILE_ACTIVE_AT_LEAST_ONE] = true;
		}
		if (Known(row, BIT(PROFILE_ALLOW) | BIT(PROFILE_PKTS_RECEIVED)))
		{
			checked[PROFILE_NO_ALLOW_NO_RECEIVED]++;
			if (v[PROFILE_ALLOW] == 0 && v[PROFILE_PKTS_RECEIVED] != 0)
				broken[PROFILE_NO_ALLOW_NO_RECEIVED] = true;
		}
	}
	for (r = 0; r < PROFILE_BYTESIN_PER_PACKET; r++)
		p->relation[r] = checked[r] > 0 && !broken[r];
	p->relation[PROFILE_BYTESIN_PER_PACKET] =
		LearnBytesPerPacket(rows, nrows, PROFILE_BYTESIN, PROFILE_PKTS_SENT, p->bytesin_per_packet);
	p->relation[PROFILE_BYTESOUT_PER_PACKET] =
		LearnBytesPerPacket(rows, nrows, PROFILE_BYTESOUT, PROFILE_PKTS_RECEIVED, p->bytesout_per_packet);
}

/* Copies a label, cut at a character boundary to fit. */
static void
SetLabel(Profile *p, const char *label)
{
	size_t		n;

	if (label == NULL)
		label = "";
	n = strlen(label);
	if (n >= PROFILE_LABEL_MAX)
	{
		n = PROFILE_LABEL_MAX - 1;
		while (n > 0 && ((unsigned char) label[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(p->label, label, n);
	p->label[n] = '\0';
}

/* Learns a profile from the rows of one source IP. */
Profile *
ProfileLearn(const ProfileRow *rows, size_t nrows, const char *label, char error[PROFILE_ERROR_MAX])
{
	Profile    *p;
	RowKind    *kinds;
	int		   *active_index;
	double	   *z;
	Observation *obs;
	int			nactive = 0;
	size_t		i;
	int			f;

	if (nrows == 0)
	{
		Fail(error, "there are no rows to learn a profile from");
		return NULL;
	}
	if (nrows > (size_t) INT32_MAX / EVENT_NFEATURES)
	{
		Fail(error, "too many rows to learn a profile from (%zu, at most %d)",
			 nrows, INT32_MAX / EVENT_NFEATURES);
		return NULL;
	}
	for (i = 0; i < nrows; i++)
		for (f = 0; f < EVENT_NFEATURES; f++)
			if ((rows[i].present & BIT(f)) && rows[i].features[f] < 0)
			{
				Fail(error, "row %zu: %s is negative (%lld)", i + 1, EventFeatureNames[f],
					 (long long) rows[i].features[f]);
				return NULL;
			}

	p = calloc(1, sizeof(Profile));
	kinds = malloc(nrows * sizeof(RowKind));
	active_index = malloc(nrows * sizeof(int));
	if (p == NULL || kinds == NULL || active_index == NULL)
	{
		free(p);
		free(kinds);
		free(active_index);
		Fail(error, "out of memory");
		return NULL;
	}
	if (error)
		error[0] = '\0';
	SetLabel(p, label);
	p->rows = (int64_t) nrows;
	p->nknots = PROFILE_DEFAULT_KNOTS;
	memcpy(p->probs, DefaultProbs, sizeof(DefaultProbs));

	for (i = 0; i < nrows; i++)
	{
		bool		any = false,
					nonzero = false;

		for (f = 0; f < EVENT_NFEATURES; f++)
			if (rows[i].present & BIT(f))
			{
				any = true;
				if (rows[i].features[f] > 0)
					nonzero = true;
			}
		kinds[i] = !any ? ROW_EMPTY : nonzero ? ROW_ACTIVE : ROW_ZERO;
		active_index[i] = kinds[i] == ROW_ACTIVE ? nactive++ : -1;
	}

	z = malloc(((size_t) nactive * EVENT_NFEATURES + 1) * sizeof(double));
	obs = malloc(((size_t) nactive + 1) * sizeof(Observation));
	if (z == NULL || obs == NULL ||
		!LearnCalendar(p, rows, nrows, kinds, error))
		goto fail;
	for (i = 0; i < (size_t) nactive * EVENT_NFEATURES; i++)
		z[i] = NAN;

	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		int			n = 0;

		for (i = 0; i < nrows; i++)
		{
			int64_t		hour;
			int			slot;

			if (kinds[i] != ROW_ACTIVE || !(rows[i].present & BIT(f)))
				continue;
			hour = FloorDiv(rows[i].ts_us, US_PER_HOUR);
			slot = SlotOfHour(hour);
			obs[n].raw = obs[n].y = log1p((double) rows[i].features[f]);
			obs[n].hour = slot % PROFILE_HOURS_PER_DAY;
			obs[n].day = slot / PROFILE_HOURS_PER_DAY;
			obs[n].row = active_index[i];
			n++;
		}
		if (!LearnFeature(p, f, obs, n, z, error))
			goto fail;
	}
	LearnCorrelation(p, z, nactive);
	LearnRelations(p, rows, nrows, kinds);

	free(kinds);
	free(active_index);
	free(z);
	free(obs);
	return p;

fail:
	if (z == NULL || obs == NULL)
		Fail(error, "out of memory");
	free(kinds);
	free(active_index);
	free(z);
	free(obs);
	free(p);
	return NULL;
}

/* Frees a profile from ProfileLearn or ProfileFromJson (NULL is fine). */
void
ProfileFree(Profile *profile)
{
	free(profile);
}

/* Whether one row keeps every relation the profile holds, and if not why. */
bool
ProfileRowConsistent(const Profile *p, const int64_t v[EVENT_NFEATURES], char why[PROFILE_ERROR_MAX])
{
	bool		nonzero = false;
	int			f;

	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		if (v[f] < 0)
			return Fail(why, "%s is negative (%lld)", EventFeatureNames[f], (long long) v[f]);
		if (v[f] > 0)
			nonzero = true;
	}
	if (p->relation[PROFILE_FREQUENCY_SUM] &&
		v[PROFILE_FREQUENCY] != v[PROFILE_ALLOW] + v[PROFILE_DROP])
		return Fail(why, "frequency (%lld) is not allow + drop (%lld + %lld)",
					(long long) v[PROFILE_FREQUENCY], (long long) v[PROFILE_ALLOW],
					(long long) v[PROFILE_DROP]);
	if (p->relation[PROFILE_PORTS_LE_IPS] && v[PROFILE_UNQ_DST_PORT] > v[PROFILE_UNQ_DST_IP])
		return Fail(why, "unq_dst_port (%lld) exceeds unq_dst_ip (%lld)",
					(long long) v[PROFILE_UNQ_DST_PORT], (long long) v[PROFILE_UNQ_DST_IP]);
	if (p->relation[PROFILE_IPS_LE_FREQUENCY] && v[PROFILE_UNQ_DST_IP] > v[PROFILE_FREQUENCY])
		return Fail(why, "unq_dst_ip (%lld) exceeds frequency (%lld)",
					(long long) v[PROFILE_UNQ_DST_IP], (long long) v[PROFILE_FREQUENCY]);
	if (p->relation[PROFILE_FREQUENCY_LE_PKTS_SENT] && v[PROFILE_FREQUENCY] > v[PROFILE_PKTS_SENT])
		return Fail(why, "frequency (%lld) exceeds pkts_sent (%lld)",
					(long long) v[PROFILE_FREQUENCY], (long long) v[PROFILE_PKTS_SENT]);
	if (p->relation[PROFILE_ACTIVE_AT_LEAST_ONE] && nonzero &&
		(v[PROFILE_UNQ_DST_IP] < 1 || v[PROFILE_FREQUENCY] < 1 || v[PROFILE_UNQ_DST_PORT] < 1))
		return Fail(why, "a row that is not all zero has unq_dst_ip %lld, frequency %lld, unq_dst_port %lld",
					(long long) v[PROFILE_UNQ_DST_IP], (long long) v[PROFILE_FREQUENCY],
					(long long) v[PROFILE_UNQ_DST_PORT]);
	if (p->relation[PROFILE_NO_ALLOW_NO_RECEIVED] && v[PROFILE_ALLOW] == 0 &&
		v[PROFILE_PKTS_RECEIVED] != 0)
		return Fail(why, "pkts_received is %lld with allow 0", (long long) v[PROFILE_PKTS_RECEIVED]);
	for (f = 0; f < 2; f++)
	{
		int			r = f == 0 ? PROFILE_BYTESIN_PER_PACKET : PROFILE_BYTESOUT_PER_PACKET;
		int			bytes = f == 0 ? PROFILE_BYTESIN : PROFILE_BYTESOUT;
		int			packets = f == 0 ? PROFILE_PKTS_SENT : PROFILE_PKTS_RECEIVED;
		const double *bounds = f == 0 ? p->bytesin_per_packet : p->bytesout_per_packet;
		double		b = (double) v[bytes];
		double		k = (double) v[packets];

		if (!p->relation[r])
			continue;
		if ((v[bytes] == 0) != (v[packets] == 0))
			return Fail(why, "%s is %lld but %s is %lld", EventFeatureNames[bytes], (long long) v[bytes],
						EventFeatureNames[packets], (long long) v[packets]);
		if (b < bounds[0] * k || b > bounds[1] * k)
			return Fail(why, "%s (%lld) is not within [%g, %g] x %s (%lld)", EventFeatureNames[bytes],
						(long long) v[bytes], bounds[0], bounds[1], EventFeatureNames[packets],
						(long long) v[packets]);
	}
	return true;
}

/* A stored number: at most six decimals, trailing zeros dropped. */
static void
BufNumber(TextBuf *b, double x)
{
	char		text[64];
	int			n = snprintf(text, sizeof(text), "%.6f", x);

	while (n > 0 && text[n - 1] == '0')
		n--;
	if (n > 0 && text[n - 1] == '.')
		n--;
	text[n] = '\0';
	if (strcmp(text, "-0") == 0)
		strcpy(text, "0");
	TextBufPuts(b, text);
}

/* A JSON array of numbers on one line. */
static void
BufNumbers(TextBuf *b, const double *x, int n)
{
	int			i;

	TextBufAppend(b, "[", 1);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			TextBufAppend(b, ", ", 2);
		BufNumber(b, x[i]);
	}
	TextBufAppend(b, "]", 1);
}

/* An array of rows, one per line, each a JSON array of numbers. */
static void
BufRows(TextBuf *b, const double *x, int nrows, int ncols, int stride, const char *indent)
{
	int			i;

	TextBufPuts(b, "[\n");
	for (i = 0; i < nrows; i++)
	{
		TextBufPuts(b, indent);
		TextBufPuts(b, "  ");
		BufNumbers(b, x + (size_t) i * stride, ncols);
		TextBufPuts(b, i + 1 < nrows ? ",\n" : "\n");
	}
	TextBufPuts(b, indent);
	TextBufPuts(b, "]");
}

/* The profile as a versioned JSON document, one row of numbers per line. */
char *
ProfileToJson(const Profile *p)
{
	TextBuf		b = {0};
	char		text[64];
	int			f,
				r;

	snprintf(text, sizeof(text), "{\n  \"version\": %d,\n  \"label\": ", PROFILE_VERSION);
	TextBufPuts(&b, text);
	TextBufJsonString(&b, p->label);
	snprintf(text, sizeof(text), ",\n  \"rows\": %lld,\n  \"probs\": ", (long long) p->rows);
	TextBufPuts(&b, text);
	BufNumbers(&b, p->probs, p->nknots);
	TextBufPuts(&b, ",\n  \"calendar\": ");
	BufRows(&b, p->calendar, PROFILE_DAYS_PER_WEEK, PROFILE_HOURS_PER_DAY, PROFILE_HOURS_PER_DAY, "  ");
	TextBufPuts(&b, ",\n  \"zero\": ");
	BufRows(&b, p->zero, PROFILE_DAYS_PER_WEEK, PROFILE_HOURS_PER_DAY, PROFILE_HOURS_PER_DAY, "  ");
	TextBufPuts(&b, ",\n  \"features\": {\n");
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		TextBufPuts(&b, "    ");
		TextBufJsonString(&b, EventFeatureNames[f]);
		TextBufPuts(&b, ": {\n      \"day_levels\": ");
		BufNumbers(&b, p->day_level[f], PROFILE_DAYS_PER_WEEK);
		TextBufPuts(&b, ",\n      \"quantiles\": ");
		BufRows(&b, &p->knots[f][0][0], PROFILE_HOURS_PER_DAY, p->nknots, PROFILE_MAX_KNOTS, "      ");
		TextBufPuts(&b, f + 1 < EVENT_NFEATURES ? "\n    },\n" : "\n    }\n");
	}
	TextBufPuts(&b, "  },\n  \"correlation\": ");
	BufRows(&b, &p->corr[0][0], EVENT_NFEATURES, EVENT_NFEATURES, EVENT_NFEATURES, "  ");
	TextBufPuts(&b, ",\n  \"relations\": {\n");
	for (r = 0; r < PROFILE_NRELATIONS; r++)
	{
		TextBufPuts(&b, "    ");
		TextBufJsonString(&b, ProfileRelationNames[r]);
		TextBufPuts(&b, ": ");
		if (r == PROFILE_BYTESIN_PER_PACKET && p->relation[r])
			BufNumbers(&b, p->bytesin_per_packet, 2);
		else if (r == PROFILE_BYTESOUT_PER_PACKET && p->relation[r])
			BufNumbers(&b, p->bytesout_per_packet, 2);
		else
			TextBufPuts(&b, p->relation[r] ? "true" : "false");
		TextBufPuts(&b, r + 1 < PROFILE_NRELATIONS ? ",\n" : "\n");
	}
	TextBufPuts(&b, "  }\n}\n");
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	return b.data;
}

/*
 * Reading the document back.  Each check names the member it refuses by its
 * path, e.g. features.bytesin.quantiles[9][3].
 */

static bool FailAt(char *error, const char *path, const char *fmt,...) pg_attribute_printf(3, 4);

/* Writes "path: message"; always returns false. */
static bool
FailAt(char *error, const char *path, const char *fmt,...)
{
	char		message[PROFILE_ERROR_MAX];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	return Fail(error, "%s: %s", path, message);
}

/*
 * An object whose keys are all among the allowed ones, none repeated, and
 * every required one (the first nrequired allowed keys) present.
 */
static bool
CheckObject(const JsonNode *node, const char *path, const char *const *allowed,
			int nallowed, int nrequired, char *error)
{
	int			i,
				j;

	if (node->kind != JSON_NODE_OBJECT)
		return FailAt(error, path, "must be an object, not %s", JsonNodeKindName(node->kind));
	for (i = 0; i < node->count; i++)
	{
		for (j = 0; j < nallowed; j++)
			if (strcmp(node->keys[i], allowed[j]) == 0)
				break;
		if (j == nallowed)
			return FailAt(error, path, "unknown key \"%.64s\"", node->keys[i]);
		for (j = 0; j < i; j++)
			if (strcmp(node->keys[i], node->keys[j]) == 0)
				return FailAt(error, path, "key \"%.64s\" appears twice", node->keys[i]);
	}
	for (j = 0; j < nrequired; j++)
		if (JsonTreeMember(node, allowed[j]) == NULL)
			return FailAt(error, path, "key \"%s\" is missing", allowed[j]);
	return true;
}

/* An array of exactly len members. */
static bool
CheckArray(const JsonNode *node, const char *path, int len, char *error)
{
	if (node->kind != JSON_NODE_ARRAY)
		return FailAt(error, path, "must be an array, not %s", JsonNodeKindName(node->kind));
	if (node->count != len)
		return FailAt(error, path, "must have %d members, not %d", len, node->count);
	return true;
}

/* A finite JSON number within [min, max], rounded to six decimals. */
static bool
GetNumber(const JsonNode *node, const char *path, double min, double max, double *out,
		  char *error)
{
	char	   *end;
	double		x;

	if (node->kind != JSON_NODE_NUMBER)
		return FailAt(error, path, "must be a number, not %s", JsonNodeKindName(node->kind));
	x = strtod(node->text, &end);
	if (*end != '\0' || !isfinite(x) || fabs(x) > 1e15)
		return FailAt(error, path, "%.64s is out of range", node->text);
	/* kept to the six decimals a document holds, so it writes back the same */
	x = Quantize(x);
	if (x < min || x > max)
		return FailAt(error, path, "must be between %g and %g, not %.64s", min, max, node->text);
	*out = x;
	return true;
}

/* An array of len numbers within [min, max]. */
static bool
GetNumbers(const JsonNode *node, const char *path, int len, double min, double max,
		   double *out, char *error)
{
	char		item[200];
	int			i;

	if (!CheckArray(node, path, len, error))
		return false;
	for (i = 0; i < len; i++)
	{
		snprintf(item, sizeof(item), "%s[%d]", path, i);
		if (!GetNumber(node->items[i], item, min, max, &out[i], error))
			return false;
	}
	return true;
}

/* A days x hours table of probabilities. */
static bool
GetWeek(const JsonNode *node, const char *path, double *out, char *error)
{
	char		item[200];
	int			d;

	if (!CheckArray(node, path, PROFILE_DAYS_PER_WEEK, error))
		return false;
	for (d = 0; d < PROFILE_DAYS_PER_WEEK; d++)
	{
		snprintf(item, sizeof(item), "%s[%d]", path, d);
		if (!GetNumbers(node->items[d], item, PROFILE_HOURS_PER_DAY, 0.0, 1.0,
						out + d * PROFILE_HOURS_PER_DAY, error))
			return false;
	}
	return true;
}

/* The knot probabilities: 0 first, 1 last, strictly increasing. */
static bool
GetProbs(const JsonNode *node, Profile *p, char *error)
{
	int			k;

	if (node->kind != JSON_NODE_ARRAY)
		return FailAt(error, "probs", "must be an array, not %s", JsonNodeKindName(node->kind));
	if (node->count < PROFILE_MIN_KNOTS || node->count > PROFILE_MAX_KNOTS)
		return FailAt(error, "probs", "must have %d to %d members, not %d",
					  PROFILE_MIN_KNOTS, PROFILE_MAX_KNOTS, node->count);
	p->nknots = node->count;
	if (!GetNumbers(node, "probs", p->nknots, 0.0, 1.0, p->probs, error))
		return false;
	if (p->probs[0] != 0.0)
		return FailAt(error, "probs[0]", "must be 0");
	if (p->probs[p->nknots - 1] != 1.0)
		return FailAt(error, "probs", "the last member must be 1");
	for (k = 1; k < p->nknots; k++)
		if (!(p->probs[k] > p->probs[k - 1]))
			return FailAt(error, "probs", "must increase strictly (member %d is %g after %g)",
						  k, p->probs[k], p->probs[k - 1]);
	return true;
}

/* One feature: its day levels and its hourly knots, non-decreasing. */
static bool
GetFeature(const JsonNode *node, int f, Profile *p, char *error)
{
	static const char *const keys[] = {"day_levels", "quantiles"};
	const char *name = EventFeatureNames[f];
	const JsonNode *quantiles;
	char		path[200];
	int			h,
				k;

	snprintf(path, sizeof(path), "features.%s", name);
	if (!CheckObject(node, path, keys, 2, 2, error))
		return false;
	snprintf(path, sizeof(path), "features.%s.day_levels", name);
	if (!GetNumbers(JsonTreeMember(node, "day_levels"), path, PROFILE_DAYS_PER_WEEK,
					-PROFILE_MAX_LEVEL, PROFILE_MAX_LEVEL, p->day_level[f], error))
		return false;
	snprintf(path, sizeof(path), "features.%s.quantiles", name);
	quantiles = JsonTreeMember(node, "quantiles");
	if (!CheckArray(quantiles, path, PROFILE_HOURS_PER_DAY, error))
		return false;
	for (h = 0; h < PROFILE_HOURS_PER_DAY; h++)
	{
		snprintf(path, sizeof(path), "features.%s.quantiles[%d]", name, h);
		if (!GetNumbers(quantiles->items[h], path, p->nknots, PROFILE_MIN_KNOT, PROFILE_MAX_KNOT,
						p->knots[f][h], error))
			return false;
		for (k = 1; k < p->nknots; k++)
			if (p->knots[f][h][k] < p->knots[f][h][k - 1])
				return FailAt(error, path, "must not decrease (member %d is %g after %g)",
							  k, p->knots[f][h][k], p->knots[f][h][k - 1]);
	}
	return true;
}

/* The correlation matrix: unit diagonal, symmetric, positive definite. */
static bool
GetCorrelation(const JsonNode *node, Profile *p, char *error)
{
	char		path[200];
	int			i,
				j;

	if (!CheckArray(node, "correlation", EVENT_NFEATURES, error))
		return false;
	for (i = 0; i < EVENT_NFEATURES; i++)
	{
		snprintf(path, sizeof(path), "correlation[%d]", i);
		if (!GetNumbers(node->items[i], path, EVENT_NFEATURES, -1.0, 1.0, p->corr[i], error))
			return false;
	}
	for (i = 0; i < EVENT_NFEATURES; i++)
	{
		if (p->corr[i][i] != 1.0)
		{
			snprintf(path, sizeof(path), "correlation[%d][%d]", i, i);
			return FailAt(error, path, "a diagonal member must be 1, not %g", p->corr[i][i]);
		}
		for (j = 0; j < i; j++)
			if (p->corr[i][j] != p->corr[j][i])
			{
				snprintf(path, sizeof(path), "correlation[%d][%d]", i, j);
				return FailAt(error, path, "must equal correlation[%d][%d] (%g, not %g)",
							  j, i, p->corr[j][i], p->corr[i][j]);
			}
	}
	if (!Cholesky((const double (*)[EVENT_NFEATURES]) p->corr, p->chol))
		return FailAt(error, "correlation", "is not positive definite");
	return true;
}

/* The relations: booleans, bytes per packet false or [lo, hi]. */
static bool
GetRelations(const JsonNode *node, Profile *p, char *error)
{
	char		path[200];
	int			r;

	if (!CheckObject(node, "relations", ProfileRelationNames, PROFILE_NRELATIONS,
					 PROFILE_NRELATIONS, error))
		return false;
	for (r = 0; r < PROFILE_NRELATIONS; r++)
	{
		const JsonNode *value = JsonTreeMember(node, ProfileRelationNames[r]);

		snprintf(path, sizeof(path), "relations.%s", ProfileRelationNames[r]);
		if (r == PROFILE_BYTESIN_PER_PACKET || r == PROFILE_BYTESOUT_PER_PACKET)
		{
			double	   *bounds = r == PROFILE_BYTESIN_PER_PACKET
				? p->bytesin_per_packet : p->bytesout_per_packet;

			if (value->kind == JSON_NODE_FALSE)
				continue;
			if (value->kind != JSON_NODE_ARRAY)
				return FailAt(error, path, "must be false or [lowest, highest] bytes per packet, not %s",
							  JsonNodeKindName(value->kind));
			if (!GetNumbers(value, path, 2, PROFILE_MIN_BYTES_PER_PACKET,
							PROFILE_MAX_BYTES_PER_PACKET, bounds, error))
				return false;
			if (bounds[1] < bounds[0] + 1.0)
				return FailAt(error, path, "the highest bound (%g) must be at least the lowest (%g) + 1",
							  bounds[1], bounds[0]);
			p->relation[r] = true;
		}
		else if (value->kind == JSON_NODE_TRUE || value->kind == JSON_NODE_FALSE)
			p->relation[r] = value->kind == JSON_NODE_TRUE;
		else
			return FailAt(error, path, "must be true or false, not %s", JsonNodeKindName(value->kind));
	}
	return true;
}

/* The version member: the integer 1. */
static bool
GetVersion(const JsonNode *node, char *error)
{
	if (node == NULL)
		return FailAt(error, "version", "the key is missing");
	if (node->kind != JSON_NODE_NUMBER)
		return FailAt(error, "version", "must be a number, not %s", JsonNodeKindName(node->kind));
	if (strcmp(node->text, "1") != 0)
		return FailAt(error, "version", "profile version %.32s is not supported (this ipflow reads version %d)",
					  node->text, PROFILE_VERSION);
	return true;
}

/* The whole document, member by member. */
static bool
ProfileFromTree(const JsonNode *root, Profile *p, char *error)
{
	static const char *const keys[] = {
		"version", "rows", "probs", "calendar", "zero", "features", "correlation",
		"relations", "label"
	};
	const JsonNode *rows;
	const JsonNode *label;
	const JsonNode *features;
	const char *c;
	int			f;

	if (root->kind != JSON_NODE_OBJECT)
		return Fail(error, "a profile must be a JSON object, not %s", JsonNodeKindName(root->kind));
	/* the version first: another version may have other keys */
	if (!GetVersion(JsonTreeMember(root, "version"), error) ||
		!CheckObject(root, "profile", keys, lengthof(keys), lengthof(keys) - 1, error))
		return false;

	label = JsonTreeMember(root, "label");
	if (label != NULL)
	{
		if (label->kind != JSON_NODE_STRING)
			return FailAt(error, "label", "must be a string, not %s", JsonNodeKindName(label->kind));
		if (strlen(label->text) >= PROFILE_LABEL_MAX)
			return FailAt(error, "label", "must be at most %d bytes long", PROFILE_LABEL_MAX - 1);
		strcpy(p->label, label->text);
	}

	rows = JsonTreeMember(root, "rows");
	if (rows->kind != JSON_NODE_NUMBER)
		return FailAt(error, "rows", "must be a number, not %s", JsonNodeKindName(rows->kind));
	for (c = rows->text; *c >= '0' && *c <= '9'; c++)
		;
	if (*c != '\0' || c - rows->text > 15)
		return FailAt(error, "rows", "must be a whole number of rows below 10^15, not %.64s", rows->text);
	p->rows = strtoll(rows->text, NULL, 10);

	if (!GetProbs(JsonTreeMember(root, "probs"), p, error) ||
		!GetWeek(JsonTreeMember(root, "calendar"), "calendar", p->calendar, error) ||
		!GetWeek(JsonTreeMember(root, "zero"), "zero", p->zero, error))
		return false;

	features = JsonTreeMember(root, "features");
	if (!CheckObject(features, "features", EventFeatureNames, EVENT_NFEATURES, EVENT_NFEATURES, error))
		return false;
	for (f = 0; f < EVENT_NFEATURES; f++)
		if (!GetFeature(JsonTreeMember(features, EventFeatureNames[f]), f, p, error))
			return false;

	return GetCorrelation(JsonTreeMember(root, "correlation"), p, error) &&
		GetRelations(JsonTreeMember(root, "relations"), p, error);
}

/* A profile from its JSON document, strictly validated. */
Profile *
ProfileFromJson(const char *json, size_t len, char error[PROFILE_ERROR_MAX])
{
	JsonNode   *root;
	char	   *parse_error = NULL;
	Profile    *p;

	root = JsonTreeParse(json, len, &parse_error);
	if (root == NULL)
	{
		Fail(error, "the profile is not valid JSON: %s", parse_error ? parse_error : "empty");
		if (parse_error)
			pfree(parse_error);
		return NULL;
	}
	p = calloc(1, sizeof(Profile));
	if (p == NULL)
		Fail(error, "out of memory");
	else if (!ProfileFromTree(root, p, error))
	{
		free(p);
		p = NULL;
	}
	else if (error)
		error[0] = '\0';
	JsonTreeFree(root);
	return p;
}
