/*
 * forecast_calendar.c - when a series is observed, learnt from its history,
 * and the next such times
 *
 * An office's network counters are seen on weekdays from 08:00 to 18:00; a
 * forecast of the night or the weekend would spend its horizon on times
 * that never come.  The calendar is a set of active slots of the week.  The
 * sampling step is the median gap between consecutive timestamps; slots are
 * step-long, starting phase seconds after Monday 00:00 UTC (the phase of
 * the last timestamp), and a slot is active when it is observed in at least
 * calendar_min_share of the weeks of the history that contain it, so that a
 * holiday does not remove its hours while an hour seen once does not join.
 * A history shorter than a week is judged by time of day alone.
 * A step that does not divide a day into whole slots of at least a minute,
 * or a history in which no slot qualifies, leaves every step active.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast_internal.h"

/* Position within the calendar's week, in [0, FORECAST_WEEK). */
static double
WeekOffset(const ForecastCalendar *cal, double ts)
{
	return ForecastMod(ts - FORECAST_MONDAY - cal->phase, FORECAST_WEEK);
}

/* The slot of the week ts falls in (weekly calendars only). */
int
CalendarSlot(const ForecastCalendar *cal, double ts)
{
	/* a timestamp a hair before its slot's start still belongs to it */
	int			slot = (int) floor(WeekOffset(cal, ts) / cal->step + 1e-6);

	return slot >= cal->nslots ? slot - cal->nslots : slot;
}

/*
 * Learns the calendar of a history sorted by time (n >= 2, spanning some
 * time).  On allocation failure the calendar is left without slots, so
 * every step counts as active.
 */
void
CalendarLearn(const double *ts, int n, double min_share, ForecastCalendar *cal)
{
	double	   *gaps;
	int		   *seen = NULL;
	long long  *last_week = NULL;
	double		period;
	bool		fold;
	int			ngaps = 0,
				nper,
				nslots,
				i,
				s,
				active = 0;

	memset(cal, 0, sizeof(*cal));
	gaps = malloc(sizeof(double) * n);
	if (!gaps)
	{
		cal->step = ts[n - 1] > ts[0] ? (ts[n - 1] - ts[0]) / (n - 1) : FORECAST_DAY;
		return;
	}
	/* the median gap; of at most about 512 gaps evenly spaced */
	for (i = 1; i < n; i += n > 1024 ? n / 512 : 1)
		if (ts[i] > ts[i - 1])
			gaps[ngaps++] = ts[i] - ts[i - 1];
	if (ngaps == 0)
	{
		free(gaps);
		cal->step = FORECAST_DAY;
		return;
	}
	cal->step = ForecastMedian(gaps, ngaps);
	free(gaps);

	/* a weekly calendar needs whole slots of a minute to a day */
	nslots = (int) floor(FORECAST_WEEK / cal->step + 0.5);
	if (nslots < 7 || nslots > FORECAST_MAX_SLOTS || nslots % 7 != 0 ||
		fabs(nslots * cal->step - FORECAST_WEEK) > 1e-6 * FORECAST_WEEK)
		return;
	cal->step = FORECAST_WEEK / nslots;
	cal->nslots = nslots;
	cal->phase = ForecastMod(ts[n - 1] - FORECAST_MONDAY, cal->step);

	/*
	 * Count, per slot, the periods (weeks) it was seen in and the periods of
	 * the history that contain it.  A history shorter than a week has not
	 * seen every day of the week, so it is folded onto one day: a slot is
	 * active on every day when its time of day is.
	 */
	fold = ts[n - 1] - ts[0] < FORECAST_WEEK - 0.5 * cal->step;
	period = fold ? FORECAST_DAY : FORECAST_WEEK;
	nper = fold ? nslots / 7 : nslots;
	cal->active = calloc(nslots, 1);
	seen = calloc(nper, sizeof(int));
	last_week = malloc(sizeof(long long) * nper);
	if (!cal->active || !seen || !last_week)
		goto fail;
	for (s = 0; s < nper; s++)
		last_week[s] = LLONG_MIN;
	for (i = 0; i < n; i++)
	{
		double		offset = ts[i] - FORECAST_MONDAY - cal->phase;
		long long	cycle = (long long) floor(offset / period + 1e-9);

		s = (int) floor(ForecastMod(offset, period) / cal->step + 1e-6) % nper;
		if (last_week[s] != cycle)
		{
			last_week[s] = cycle;
			seen[s]++;
		}
	}
	for (s = 0; s < nslots; s++)
	{
		int			k = s % nper;
		double		start = FORECAST_MONDAY + cal->phase + k * cal->step;
		double		first = ceil((ts[0] - start) / period - 1e-9);
		double		last = floor((ts[n - 1] - start) / period + 1e-9);
		double		periods = last >= first ? last - first + 1 : 0;

		if (seen[k] > 0 && seen[k] >= min_share * periods - 1e-9)
		{
			cal->active[s] = 1;
			active++;
		}
	}
	free(seen);
	free(last_week);
	if (active > 0)
	{
		cal->weekly = true;
		return;
	}
	free(cal->active);
	cal->active = NULL;
	cal->nslots = 0;
	return;

fail:
	free(cal->active);
	free(seen);
	free(last_week);
	cal->active = NULL;
	cal->nslots = 0;
}

/* Whether the calendar expects an observation at ts. */
bool
CalendarIsActive(const ForecastCalendar *cal, double ts)
{
	if (!cal->weekly)
		return true;
	return cal->active[CalendarSlot(cal, ts)] != 0;
}

/*
 * The first count active times after after (a time on the calendar's grid,
 * such as the last of the history), into out; returns how many were found.
 */
int
CalendarNext(const ForecastCalendar *cal, double after, int count, double *out)
{
	long long	k,
				limit;
	int			found = 0;

	if (count <= 0)
		return 0;
	if (count > FORECAST_MAX_HORIZON)
		count = FORECAST_MAX_HORIZON;
	/* an active slot comes at least once a week */
	limit = (long long) count * (cal->weekly ? cal->nslots : 1) + (cal->weekly ? cal->nslots : 0);
	for (k = 1; k <= limit && found < count; k++)
	{
		double		ts = after + (double) k * cal->step;

		if (CalendarIsActive(cal, ts))
			out[found++] = ts;
	}
	return found;
}

/* Active points in an active day: the default level window. */
int
CalendarPointsPerDay(const ForecastCalendar *cal)
{
	int			per_day[7] = {0};
	int			s,
				days = 0,
				active = 0;

	if (!cal->weekly)
		return cal->step < FORECAST_DAY ? (int) floor(FORECAST_DAY / cal->step + 0.5) : 1;
	for (s = 0; s < cal->nslots; s++)
		if (cal->active[s])
		{
			int			day = (int) floor((cal->phase + s * cal->step) / FORECAST_DAY);

			per_day[day > 6 ? 6 : day]++;
			active++;
		}
	for (s = 0; s < 7; s++)
		if (per_day[s] > 0)
			days++;
	return days > 0 ? (int) floor((double) active / days + 0.5) : 1;
}
