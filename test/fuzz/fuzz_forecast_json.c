/*
 * fuzz_forecast_json.c - libFuzzer target for the forecast model's JSON
 *
 * Every input must be read as a model or refused with a reason, and read as
 * settings or refused, without a crash, leak or undefined behaviour.  A model
 * that reads must predict finite, ordered values, list its future, and read
 * back from its own text to the same text, or the target aborts.
 *
 * Only well-formed JSON goes on: on some syntax errors Postgres 15's
 * frontend parser leaks the scalar it has just copied for a callback (its
 * parse_scalar, inlined where LeakSanitizer cannot name it), which is the
 * parser's business, not the model reader's.  Syntax is checked first by the
 * same parser without callbacks, which copies nothing.
 */
#include "postgres_fe.h"

#include <math.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "compat.h"
#include "forecast.h"
#include "json_tree.h"

#define FUZZ_MAX_BYTES ((size_t) 1 << 20)

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when a refusal comes without a terminated, non-empty message. */
static void
CheckError(const ForecastError *error)
{
	if (memchr(error->message, '\0', sizeof(error->message)) == NULL || error->message[0] == '\0')
		abort();
	if (memchr(error->param, '\0', sizeof(error->param)) == NULL)
		abort();
}

/* Aborts unless a model predicts, lists its future and survives its own JSON. */
static void
CheckModel(const ForecastModel *model)
{
	double		ts[6],
				yhat[6],
				lower[6],
				upper[6];
	ForecastError error;
	ForecastModel *again;
	char	   *text,
			   *text2;
	int			n,
				i;

	n = ForecastFuture(model, 3, ts);
	if (n < 0 || n > 3)
		abort();
	ts[n++] = model->t_start;
	ts[n++] = model->t_end;
	ts[n++] = (model->t_start + model->t_end) / 2;
	if (!ForecastPredict(model, ts, n, yhat, lower, upper, &error))
	{
		CheckError(&error);
		return;
	}
	for (i = 0; i < n; i++)
		if (isnan(yhat[i]) || isnan(lower[i]) || isnan(upper[i]) ||
			!(lower[i] <= yhat[i] && yhat[i] <= upper[i]))
			abort();
	text = ForecastModelToJson(model);
	if (text == NULL)
		return;
	again = ForecastModelFromJson(text, strlen(text), &error);
	if (again == NULL)
		abort();
	text2 = ForecastModelToJson(again);
	if (text2 == NULL || strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
	ForecastFree(again);
}

/* Whether the input is JSON at all, checked without copying anything. */
static bool
WellFormed(const char *data, size_t size)
{
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType rc;

	if (JsonNestingDepth(data, size) > JSON_TREE_MAX_DEPTH)
		return false;
	memset(&sem, 0, sizeof(sem));
	lex = JsonLexNew(data, size);
	rc = pg_parse_json(lex, &sem);
	JsonLexFree(lex);
	return rc == JSON_SUCCESS;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ForecastError error;
	ForecastParams params;
	ForecastModel *model;

	if (size > FUZZ_MAX_BYTES || !WellFormed((const char *) data, size))
		return 0;
	model = ForecastModelFromJson((const char *) data, size, &error);
	if (model == NULL)
		CheckError(&error);
	else
	{
		CheckModel(model);
		ForecastFree(model);
	}
	if (!ForecastParamsFromJson((const char *) data, size, &params, &error))
		CheckError(&error);
	else if (!ForecastParamsValidate(&params, &error))
		abort();
	return 0;
}
