/*
 * fuzz_gbt_import.c - libFuzzer target for GbtModelFromJson
 *
 * Every input must come back as a model or a readable error, without a
 * crash, leak or undefined behaviour.  An accepted model must also pass
 * GbtModelCheck, predict finite numbers, predict the same one row at a time
 * as in blocks, and export to text that imports to the same text; otherwise
 * the target aborts.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdlib.h>

#include "gbt.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the error is a terminated, non-empty string in its buffer. */
static void
CheckError(const char *error)
{
	const char *end = memchr(error, '\0', GBT_ERROR_MAX);

	if (end == NULL || end == error)
		abort();
}

/* Aborts when an accepted model breaks an invariant. */
static void
CheckModel(const GbtModel *m)
{
	char		error[GBT_ERROR_MAX];
	char	   *json;
	char	   *again;
	size_t		len;
	GbtModel   *back;

	if (!GbtModelCheck(m, error))
		abort();

	/* rows of zeros, NaNs and extremes; 65 of them when that is small */
	if (m->n_features <= 64)
	{
		enum
		{
		ROWS = 65};
		double	   *x = malloc(sizeof(double) * ROWS * m->n_features);
		double		out[ROWS];
		int			i,
					f;

		for (i = 0; i < ROWS; i++)
			for (f = 0; f < m->n_features; f++)
				x[i * m->n_features + f] = i % 4 == 0 ? NAN : i % 4 == 1 ? 0.0 :
					i % 4 == 2 ? -1e308 : (double) (i * f);
		GbtPredictRows(m, x, ROWS, out);
		for (i = 0; i < ROWS; i++)
		{
			double		one = GbtPredictRow(m, x + i * m->n_features);

			if (one != out[i] || isnan(one))
				abort();
		}
		free(x);
	}

	json = GbtModelToJson(m, &len);
	if (json == NULL)
		abort();
	back = GbtModelFromJson(json, len, error);
	if (back == NULL)
		abort();
	again = GbtModelToJson(back, NULL);
	if (again == NULL || strcmp(json, again) != 0)
		abort();
	free(json);
	free(again);
	GbtModelFree(back);
}

/* One input: import it and check whatever comes back. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		error[GBT_ERROR_MAX];
	GbtModel   *m;

	memset(error, 0x55, sizeof(error));
	m = GbtModelFromJson((const char *) data, size, error);
	if (m == NULL)
		CheckError(error);
	else
	{
		CheckModel(m);
		GbtModelFree(m);
	}
	return 0;
}
