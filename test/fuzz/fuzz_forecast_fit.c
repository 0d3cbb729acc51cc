/*
 * fuzz_forecast_fit.c - libFuzzer target for fitting and predicting
 *
 * The input is a series: its first byte picks the settings, then every
 * four bytes are one point, a gap of 0 to 255 minutes since the previous
 * point (so timestamps repeat, jump and crowd) and a 24-bit value (scaled
 * by powers of ten from the byte before, so spikes, zeros and flat runs all
 * occur).  Every series must be fitted or refused with a reason; a fitted
 * model must predict finite, ordered values at its history and future, and
 * read back from its JSON text, or the target aborts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"

#define FUZZ_MAX_POINTS 4000

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const Settings[] = {
	"{}",
	"{\"seasonality_mode\":\"multiplicative\"}",
	"{\"loss\":\"squared\",\"level_window\":0}",
	"{\"log_transform\":true,\"uncertainty_samples\":50}",
	"{\"growth\":\"flat\",\"daily_seasonality\":2,\"weekly_seasonality\":0}",
	"{\"n_changepoints\":100,\"changepoint_range\":1,\"yearly_seasonality\":2}",
	"{\"nonnegative\":false,\"huber_delta\":0.01,\"interval_width\":0.5}",
	"{\"seasonality_mode\":\"multiplicative\",\"log_transform\":true,\"calendar_min_share\":1}",
};

/* Aborts when predictions are not finite and ordered. */
static void
CheckPredictions(const ForecastModel *model, const double *ts, int n)
{
	double	   *yhat = malloc(sizeof(double) * (n + 1));
	double	   *lower = malloc(sizeof(double) * (n + 1));
	double	   *upper = malloc(sizeof(double) * (n + 1));
	ForecastError error;
	int			i;

	if (!yhat || !lower || !upper)
		abort();
	if (!ForecastPredict(model, ts, n, yhat, lower, upper, &error))
		abort();
	for (i = 0; i < n; i++)
		if (!isfinite(yhat[i]) || !isfinite(lower[i]) || !isfinite(upper[i]) ||
			!(lower[i] <= yhat[i] && yhat[i] <= upper[i]) ||
			(model->params.nonnegative && lower[i] < 0))
			abort();
	free(yhat);
	free(lower);
	free(upper);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static double ts[FUZZ_MAX_POINTS],
				y[FUZZ_MAX_POINTS];
	ForecastParams params;
	ForecastError error;
	ForecastModel *model,
			   *again;
	const char *json;
	double		future[20],
				now = 1641168000.0;
	char	   *text;
	int			n = 0,
				nfuture;
	size_t		i;

	if (size < 1)
		return 0;
	json = Settings[data[0] % (sizeof(Settings) / sizeof(Settings[0]))];
	if (!ForecastParamsFromJson(json, strlen(json), &params, &error))
		abort();
	for (i = 1; i + 4 <= size && n < FUZZ_MAX_POINTS; i += 4, n++)
	{
		uint32_t	value = data[i + 1] | (data[i + 2] << 8) | (data[i + 3] << 16);

		now += data[i] * 60.0;
		ts[n] = now;
		y[n] = value * pow(10.0, (data[i] % 7) - 3);
	}
	model = ForecastFit(ts, y, n, &params, &error);
	if (model == NULL)
	{
		if (error.message[0] == '\0')
			abort();
		return 0;
	}
	/* the last points of the history: in-sample intervals cost a sort each */
	CheckPredictions(model, ts + (n > 50 ? n - 50 : 0), n > 50 ? 50 : n);
	nfuture = ForecastFuture(model, 20, future);
	if (nfuture != 20)
		abort();
	CheckPredictions(model, future, nfuture);
	text = ForecastModelToJson(model);
	again = text ? ForecastModelFromJson(text, strlen(text), &error) : NULL;
	if (text && again == NULL)
		abort();
	free(text);
	ForecastFree(again);
	ForecastFree(model);
	return 0;
}
