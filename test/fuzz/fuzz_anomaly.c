/*
 * fuzz_anomaly.c - libFuzzer target for the anomaly detector
 *
 * The input's first byte picks the settings; when its top bit is set the
 * settings are instead the JSON text up to the first newline (read or
 * refused with a reason).  The rest is a series, four bytes a point: a gap
 * of 0 to 255 minutes since the previous point (0 repeats a timestamp,
 * which must be refused without touching the state) and a 24-bit value,
 * scaled by powers of ten and signed by the byte before, so spikes, zeros,
 * flat runs and negatives all occur.  Every point must score in [0, 1)
 * with a finite, ordered band, and a state through bytes must score as the
 * one kept in memory, or the target aborts.  The series also runs as the
 * first of GROUP series of one event each (the others its values bent and
 * shifted) through AnomalyEventStep, whose results must be in range too,
 * and the clock's silence (AnomalySilence) some hours after each point
 * must be in range and leave the state as it was.
 */
#include "postgres_fe.h"

#include <math.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "anomaly.h"
#include "compat.h"
#include "json_tree.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Series per event in the AnomalyEventStep check. */
#define GROUP 6

static const char *const Settings[] = {
	"{}",
	"{\"timing\":false}",
	"{\"log_transform\":false}",
	"{\"warmup\":0,\"min_scale\":0}",
	"{\"daily_rate\":0,\"weekly_rate\":0,\"level_rate\":1,\"scale_rate\":1}",
	"{\"alert_z\":0.1,\"outlier_z\":0.5,\"alert_surprise\":0.1}",
	"{\"log_transform\":false,\"min_scale\":0,\"warmup\":0,\"timing\":false}",
	"{\"min_scale\":1e6,\"alert_z\":1000}",
};

/* Whether the text is JSON at all, checked without copying anything. */
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

/* Aborts unless a result is in range. */
static void
CheckResult(const AnomalyResult *r)
{
	if (!(r->score >= 0 && r->score < 1) || !isfinite(r->expected) || !isfinite(r->lower) ||
		!isfinite(r->upper) || !(r->lower <= r->expected && r->expected <= r->upper))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AnomalyParams params;
	AnomalyError error;
	AnomalyState state,
				copy,
				reread,
				group[GROUP];
	AnomalyState *group_states[GROUP];
	AnomalyResult group_results[GROUP];
	AnomalyResult *group_stepped[GROUP];
	AnomalyResult r,
				r2;
	uint8_t		before[ANOMALY_STATE_BYTES],
				after[ANOMALY_STATE_BYTES];
	double		t = 1641168000.0;
	size_t		i = 1;
	int			n,
				g;

	if (size < 1)
		return 0;
	if (data[0] & 0x80)
	{
		const uint8_t *nl = memchr(data + 1, '\n', size - 1);
		size_t		len = nl ? (size_t) (nl - data - 1) : size - 1;

		if (!WellFormed((const char *) data + 1, len))
			return 0;
		if (!AnomalyParamsFromJson((const char *) data + 1, len, &params, &error))
		{
			if (error.message[0] == '\0' || memchr(error.message, '\0', sizeof(error.message)) == NULL)
				abort();
			return 0;
		}
		if (!AnomalyParamsValidate(&params, &error))
			abort();
		i = 1 + len + 1;
	}
	else
	{
		const char *json = Settings[data[0] % lengthof(Settings)];

		if (!AnomalyParamsFromJson(json, strlen(json), &params, &error))
			abort();
	}
	AnomalyStateInit(&state);
	for (g = 0; g < GROUP; g++)
		AnomalyStateInit(&group[g]);
	for (; i + 4 <= size; i += 4)
	{
		uint32_t	raw = data[i + 1] | (data[i + 2] << 8) | (data[i + 3] << 16);
		double		x = raw * pow(10.0, (data[i] % 13) - 3) * (data[i] & 0x40 ? -1 : 1);

		t += data[i] * 60.0;
		AnomalyStateToBytes(&state, before);
		if (!AnomalyStateFromBytes(before, sizeof(before), &copy, &error))
			abort();
		if (!AnomalyStep(&state, &params, t, x, &r, &error))
		{
			AnomalyStateToBytes(&state, after);
			if (error.message[0] == '\0' || memcmp(before, after, sizeof(before)) != 0)
				abort();
			continue;
		}
		CheckResult(&r);
		if (!AnomalyStep(&copy, &params, t, x, &r2, &error) || r.score != r2.score ||
			r.expected != r2.expected || r.lower != r2.lower || r.upper != r2.upper)
			abort();

		/* the clock, some hours on, scores without touching the state */
		AnomalyStateToBytes(&state, before);
		AnomalySilence(&state, &params, t + (data[i + 3] % 16) * 3600.0, &r2);
		CheckResult(&r2);
		AnomalyStateToBytes(&state, after);
		if (memcmp(before, after, sizeof(before)) != 0)
			abort();
		if (data[i + 1] & 1)
			AnomalySilenceReported(&state);

		n = 0;
		for (g = 0; g < GROUP; g++)
		{
			double		xg = g == 0 ? x : x * (g % 2 ? 3.0 : 0.25) + g * data[i + 2];

			if (!AnomalyStepLazy(&group[g], &params, t, xg, &group_results[g], &error))
				continue;
			group_states[n] = &group[g];
			group_stepped[n++] = &group_results[g];
		}
		AnomalyEventStep(group_states, group_stepped, n, &params);
		for (g = 0; g < n; g++)
		{
			AnomalyResultBand(&params, group_stepped[g]);
			CheckResult(group_stepped[g]);
			AnomalyStateToBytes(group_states[g], after);
			if (!AnomalyStateFromBytes(after, sizeof(after), &reread, &error))
				abort();
		}
	}
	return 0;
}
