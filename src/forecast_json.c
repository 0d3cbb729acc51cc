/*
 * forecast_json.c - a fitted model as JSON text and back, and settings
 * from JSON
 *
 * Models are kept in tables and may be edited or forged, so the reader
 * trusts nothing: every key is checked for presence, type, range and
 * consistency with the others, unknown and repeated keys are refused, and
 * the first problem is reported with its path (error->param).  A model that
 * reads back predicts exactly what the original does: numbers are written
 * with 17 significant digits.  Version 1 of the text:
 *
 * {"format": "ipflow.forecast", "version": 1,
 *  "params": {every setting, as ForecastParamsFromJson reads them, with
 *             seasonality orders and level_window resolved},
 *  "history": {"n": points, "start": first ts, "end": last ts (seconds),
 *              "y_scale": what the (log1p'd) values were divided by,
 *              "integer": whether every value was a whole number},
 *  "trend": {"k": base slope, "m": offset, "changepoints": [scaled times,
 *            nondecreasing, in 0..1], "deltas": [slope changes],
 *            "level": added to the trend after "end"},
 *  "seasonalities": [{"name": "daily" | "weekly" | "yearly",
 *                     "period": 86400 | 604800 | 31557600, "order": K,
 *                     "coefficients": [sin 1, cos 1, ..., sin K, cos K]}],
 *  "noise": {"sigma": noise scale of the fit, "iterations": fit steps,
 *            "residual_quantiles": [evenly spaced quantiles, 0 to 1],
 *            "level_quantiles": [the same for level changes, or empty]},
 *  "calendar": {"step": seconds, "weekly": true | false, "phase": seconds,
 *               "active": one "0" or "1" per slot of the week from Monday
 *               00:00 UTC + phase, "" when not weekly}}
 *
 * Scaled values and times are those of forecast.c; seconds are since the
 * Unix epoch, UTC.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdarg.h>

#include "forecast_internal.h"
#include "json_tree.h"
#include "text_buf.h"

#define FORECAST_FORMAT "ipflow.forecast"

/* A JSON array of numbers. */
static void
BufferArray(TextBuf *b, const double *values, int n)
{
	int			i;

	TextBufPrintf(b, "[");
	for (i = 0; i < n; i++)
		TextBufPrintf(b, "%s%.17g", i > 0 ? "," : "", values[i]);
	TextBufPrintf(b, "]");
}

/* A seasonality setting: an order, or "auto". */
static void
BufferOrder(TextBuf *b, const char *name, int order)
{
	if (order == FORECAST_SEASONALITY_AUTO)
		TextBufPrintf(b, ",\"%s\":\"auto\"", name);
	else
		TextBufPrintf(b, ",\"%s\":%d", name, order);
}

/* Every setting as a JSON object that ForecastParamsFromJson reads back. */
static void
BufferParams(TextBuf *b, const ForecastParams *p)
{
	TextBufPrintf(b, "{\"growth\":\"%s\"", p->growth == FORECAST_GROWTH_FLAT ? "flat" : "linear");
	TextBufPrintf(b, ",\"n_changepoints\":%d", p->n_changepoints);
	TextBufPrintf(b, ",\"changepoint_range\":%.17g", p->changepoint_range);
	TextBufPrintf(b, ",\"changepoint_prior_scale\":%.17g", p->changepoint_prior_scale);
	TextBufPrintf(b, ",\"seasonality_prior_scale\":%.17g", p->seasonality_prior_scale);
	TextBufPrintf(b, ",\"seasonality_mode\":\"%s\"",
				 p->seasonality_mode == FORECAST_MODE_MULTIPLICATIVE ? "multiplicative" : "additive");
	BufferOrder(b, "daily_seasonality", p->daily_seasonality);
	BufferOrder(b, "weekly_seasonality", p->weekly_seasonality);
	BufferOrder(b, "yearly_seasonality", p->yearly_seasonality);
	TextBufPrintf(b, ",\"interval_width\":%.17g", p->interval_width);
	TextBufPrintf(b, ",\"uncertainty_samples\":%d", p->uncertainty_samples);
	TextBufPrintf(b, ",\"seed\":%lld", (long long) p->seed);
	TextBufPrintf(b, ",\"log_transform\":%s", p->log_transform ? "true" : "false");
	TextBufPrintf(b, ",\"nonnegative\":%s", p->nonnegative ? "true" : "false");
	TextBufPrintf(b, ",\"loss\":\"%s\"", p->loss == FORECAST_LOSS_SQUARED ? "squared" : "huber");
	TextBufPrintf(b, ",\"huber_delta\":%.17g", p->huber_delta);
	if (p->level_window == FORECAST_LEVEL_WINDOW_AUTO)
		TextBufPrintf(b, ",\"level_window\":\"auto\"");
	else
		TextBufPrintf(b, ",\"level_window\":%d", p->level_window);
	TextBufPrintf(b, ",\"calendar_min_share\":%.17g}", p->calendar_min_share);
}

/* The model as version-1 JSON text (malloc'd), or NULL when out of memory. */
char *
ForecastModelToJson(const ForecastModel *model)
{
	TextBuf		b = {0};
	int			s;

	TextBufPrintf(&b, "{\"format\":\"%s\",\"version\":%d,\"params\":",
				 FORECAST_FORMAT, FORECAST_JSON_VERSION);
	BufferParams(&b, &model->params);
	TextBufPrintf(&b, ",\"history\":{\"n\":%d,\"start\":%.17g,\"end\":%.17g,"
				 "\"y_scale\":%.17g,\"integer\":%s}",
				 model->n_history, model->t_start, model->t_end, model->y_scale,
				 model->integer ? "true" : "false");
	TextBufPrintf(&b, ",\"trend\":{\"k\":%.17g,\"m\":%.17g,\"changepoints\":", model->k, model->m);
	BufferArray(&b, model->changepoints, model->n_changepoints);
	TextBufPrintf(&b, ",\"deltas\":");
	BufferArray(&b, model->deltas, model->n_changepoints);
	TextBufPrintf(&b, ",\"level\":%.17g},\"seasonalities\":[", model->level);
	for (s = 0; s < model->nseasonalities; s++)
	{
		const ForecastSeasonality *season = &model->seasonalities[s];

		TextBufPrintf(&b, "%s{\"name\":\"%s\",\"period\":%.17g,\"order\":%d,\"coefficients\":",
					 s > 0 ? "," : "", season->name, season->period, season->order);
		BufferArray(&b, season->coef, 2 * season->order);
		TextBufPrintf(&b, "}");
	}
	TextBufPrintf(&b, "],\"noise\":{\"sigma\":%.17g,\"iterations\":%d,\"residual_quantiles\":",
				 model->sigma, model->iterations);
	BufferArray(&b, model->noise_quantiles, model->n_noise_quantiles);
	TextBufPrintf(&b, ",\"level_quantiles\":");
	BufferArray(&b, model->level_quantiles, model->n_level_quantiles);
	TextBufPrintf(&b, "},\"calendar\":{\"step\":%.17g,\"weekly\":%s,\"phase\":%.17g,\"active\":\"",
				 model->calendar.step, model->calendar.weekly ? "true" : "false", model->calendar.phase);
	if (model->calendar.weekly && !b.failed)
	{
		/* one character per slot: grow once, then write directly */
		TextBufPrintf(&b, "%*s", model->calendar.nslots, "");
		if (!b.failed)
			for (s = 0; s < model->calendar.nslots; s++)
				b.data[b.len - model->calendar.nslots + s] = model->calendar.active[s] ? '1' : '0';
	}
	TextBufPrintf(&b, "\"}}");
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	return b.data;
}

static bool
Fail(ForecastError *error, const char *prefix, const char *key, const char *fmt,...)
pg_attribute_printf(4, 5);

/* Records an error at path (a member of prefix when key is given); returns false. */
static bool
Fail(ForecastError *error, const char *prefix, const char *key, const char *fmt,...)
{
	va_list		args;
	char		message[FORECAST_ERROR_MAX];

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	if (key == NULL || *key == '\0')
		ForecastSetError(error, prefix, "%s%s%s", prefix, *prefix ? ": " : "", message);
	else
	{
		char		path[64];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
		ForecastSetError(error, path, "%s: %s", path, message);
	}
	return false;
}

/* An object whose keys are all among allowed (NULL-terminated), none twice. */
static bool
CheckObject(const JsonNode *node, const char *path, const char *const *allowed, ForecastError *error)
{
	int			i,
				j;

	if (node == NULL)
		return Fail(error, path, NULL, "the key is missing");
	if (node->kind != JSON_NODE_OBJECT)
		return Fail(error, path, NULL, "must be an object, not %s", JsonNodeKindName(node->kind));
	for (i = 0; i < node->count; i++)
	{
		bool		known = false;

		for (j = 0; allowed[j] != NULL; j++)
			if (strcmp(node->keys[i], allowed[j]) == 0)
				known = true;
		if (!known)
			return Fail(error, path, NULL, "unknown key \"%.40s\"", node->keys[i]);
		for (j = 0; j < i; j++)
			if (strcmp(node->keys[i], node->keys[j]) == 0)
				return Fail(error, path, node->keys[i], "the key is repeated");
	}
	return true;
}

/* A JSON number's value; false (with *error) when it does not fit a double. */
static bool
NodeNumber(const JsonNode *node, const char *path, const char *key, double *out, ForecastError *error)
{
	if (node == NULL)
		return Fail(error, path, key, "the key is missing");
	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, path, key, "must be a number, not %s", JsonNodeKindName(node->kind));
	*out = strtod(node->text, NULL);
	if (!isfinite(*out))
		return Fail(error, path, key, "%.40s is out of range", node->text);
	return true;
}

/* A member number within [min, max]. */
static bool
ReadNumber(const JsonNode *obj, const char *path, const char *key, double min, double max,
		   double *out, ForecastError *error)
{
	if (!NodeNumber(JsonTreeMember(obj, key), path, key, out, error))
		return false;
	if (!(*out >= min && *out <= max))
		return Fail(error, path, key, "must be from %g to %g, not %.17g", min, max, *out);
	return true;
}

/* A member integer within [min, max]. */
static bool
ReadInt(const JsonNode *obj, const char *path, const char *key, double min, double max,
		int *out, ForecastError *error)
{
	double		value;

	if (!NodeNumber(JsonTreeMember(obj, key), path, key, &value, error))
		return false;
	if (!(value >= min && value <= max) || value != floor(value))
		return Fail(error, path, key, "must be an integer from %.0f to %.0f, not %.17g", min, max, value);
	*out = (int) value;
	return true;
}

/* A member boolean. */
static bool
ReadBool(const JsonNode *obj, const char *path, const char *key, bool *out, ForecastError *error)
{
	const JsonNode *node = JsonTreeMember(obj, key);

	if (node == NULL)
		return Fail(error, path, key, "the key is missing");
	if (node->kind != JSON_NODE_TRUE && node->kind != JSON_NODE_FALSE)
		return Fail(error, path, key, "must be true or false, not %s", JsonNodeKindName(node->kind));
	*out = node->kind == JSON_NODE_TRUE;
	return true;
}

/* A member string. */
static bool
ReadString(const JsonNode *obj, const char *path, const char *key, const char **out,
		   ForecastError *error)
{
	const JsonNode *node = JsonTreeMember(obj, key);

	if (node == NULL)
		return Fail(error, path, key, "the key is missing");
	if (node->kind != JSON_NODE_STRING)
		return Fail(error, path, key, "must be a string, not %s", JsonNodeKindName(node->kind));
	*out = node->text;
	return true;
}

/*
 * A member array of min_len to max_len numbers, each within
 * [-FORECAST_MAX_ABS, FORECAST_MAX_ABS] (or [lo, hi] when lo < hi), and
 * nondecreasing when asked; *out is malloc'd (one element at least).
 */
static bool
ReadArray(const JsonNode *obj, const char *path, const char *key, int min_len, int max_len,
		  double lo, double hi, bool nondecreasing, double **out, int *len, ForecastError *error)
{
	const JsonNode *node = JsonTreeMember(obj, key);
	char		item[64];
	int			i;

	*out = NULL;
	*len = 0;
	if (node == NULL)
		return Fail(error, path, key, "the key is missing");
	if (node->kind != JSON_NODE_ARRAY)
		return Fail(error, path, key, "must be an array, not %s", JsonNodeKindName(node->kind));
	if (node->count < min_len || node->count > max_len)
		return Fail(error, path, key, "must hold %d to %d numbers, not %d", min_len, max_len, node->count);
	if (lo >= hi)
	{
		lo = -FORECAST_MAX_ABS;
		hi = FORECAST_MAX_ABS;
	}
	*out = malloc(sizeof(double) * (node->count + 1));
	if (*out == NULL)
		return Fail(error, path, key, "out of memory");
	for (i = 0; i < node->count; i++)
	{
		double		v;

		snprintf(item, sizeof(item), "%s[%d]", key, i);
		if (!NodeNumber(node->items[i], path, item, &v, error))
			goto fail;
		if (!(v >= lo && v <= hi))
		{
			Fail(error, path, item, "must be from %g to %g, not %.17g", lo, hi, v);
			goto fail;
		}
		if (nondecreasing && i > 0 && v < (*out)[i - 1])
		{
			Fail(error, path, item, "must not be below the value before it");
			goto fail;
		}
		(*out)[i] = v;
	}
	*len = node->count;
	return true;

fail:
	free(*out);
	*out = NULL;
	return false;
}

/* Prophet's default order of a seasonality switched on with true. */
static int
DefaultOrder(const char *name)
{
	if (strcmp(name, "daily_seasonality") == 0)
		return 4;
	if (strcmp(name, "weekly_seasonality") == 0)
		return 3;
	return 10;
}

/* A setting that is one of two words: *which is 0 for the first, 1 for the second. */
static bool
ReadWord(const JsonNode *node, const char *path, const char *key, const char *first,
		 const char *second, const char *note, int *which, ForecastError *error)
{
	if (node->kind == JSON_NODE_STRING && strcmp(node->text, first) == 0)
		*which = 0;
	else if (node->kind == JSON_NODE_STRING && strcmp(node->text, second) == 0)
		*which = 1;
	else if (node->kind == JSON_NODE_STRING)
		return Fail(error, path, key, "must be \"%s\" or \"%s\"%s, not \"%.40s\"",
					first, second, note, node->text);
	else
		return Fail(error, path, key, "must be \"%s\" or \"%s\"%s, not %s",
					first, second, note, JsonNodeKindName(node->kind));
	return true;
}

/* One setting: a member of a params object. */
static bool
ReadParam(const char *key, const JsonNode *node, const char *path, ForecastParams *p,
		  ForecastError *error)
{
	static const char *const known[] = {"growth", "n_changepoints", "changepoint_range",
		"changepoint_prior_scale", "seasonality_prior_scale", "seasonality_mode",
		"daily_seasonality", "weekly_seasonality", "yearly_seasonality", "interval_width",
		"uncertainty_samples", "seed", "log_transform", "nonnegative", "loss", "huber_delta",
	"level_window", "calendar_min_share", NULL};
	double		value = 0;
	const char *text = node->kind == JSON_NODE_STRING ? node->text : NULL;
	int			i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(key, known[i]) == 0)
			break;
	if (known[i] == NULL)
		return Fail(error, path, NULL, "unknown setting \"%.40s\"", key);
	if (strcmp(key, "growth") == 0)
	{
		if (!ReadWord(node, path, key, "linear", "flat", " (logistic growth is not supported)", &i, error))
			return false;
		p->growth = i ? FORECAST_GROWTH_FLAT : FORECAST_GROWTH_LINEAR;
		return true;
	}
	if (strcmp(key, "seasonality_mode") == 0)
	{
		if (!ReadWord(node, path, key, "additive", "multiplicative", "", &i, error))
			return false;
		p->seasonality_mode = i ? FORECAST_MODE_MULTIPLICATIVE : FORECAST_MODE_ADDITIVE;
		return true;
	}
	if (strcmp(key, "loss") == 0)
	{
		if (!ReadWord(node, path, key, "squared", "huber", "", &i, error))
			return false;
		p->loss = i ? FORECAST_LOSS_HUBER : FORECAST_LOSS_SQUARED;
		return true;
	}
	if (strcmp(key, "log_transform") == 0 || strcmp(key, "nonnegative") == 0)
	{
		if (node->kind != JSON_NODE_TRUE && node->kind != JSON_NODE_FALSE)
			return Fail(error, path, key, "must be true or false, not %s", JsonNodeKindName(node->kind));
		if (key[0] == 'l')
			p->log_transform = node->kind == JSON_NODE_TRUE;
		else
			p->nonnegative = node->kind == JSON_NODE_TRUE;
		return true;
	}
	if (strstr(key, "_seasonality") != NULL &&
		(node->kind == JSON_NODE_TRUE || node->kind == JSON_NODE_FALSE))
		value = node->kind == JSON_NODE_TRUE ? DefaultOrder(key) : 0;
	else if ((strstr(key, "_seasonality") != NULL || strcmp(key, "level_window") == 0) &&
			 text && strcmp(text, "auto") == 0)
		value = -1;
	else if (node->kind == JSON_NODE_NUMBER)
	{
		if (!NodeNumber(node, path, key, &value, error))
			return false;
	}
	else
		return Fail(error, path, key, "must be a number%s, not %s",
					strstr(key, "_seasonality") ? ", true, false or \"auto\""
					: strcmp(key, "level_window") == 0 ? " or \"auto\"" : "",
					JsonNodeKindName(node->kind));
	if (!ForecastCheckParam(key, value, error))
	{
		/* the range message names the setting; prefix the path */
		if (*path)
		{
			char		message[FORECAST_ERROR_MAX];

			snprintf(message, sizeof(message), "%s", error->message);
			return Fail(error, path, key, "%s", message);
		}
		return false;
	}
	if (strcmp(key, "n_changepoints") == 0)
		p->n_changepoints = (int) value;
	else if (strcmp(key, "changepoint_range") == 0)
		p->changepoint_range = value;
	else if (strcmp(key, "changepoint_prior_scale") == 0)
		p->changepoint_prior_scale = value;
	else if (strcmp(key, "seasonality_prior_scale") == 0)
		p->seasonality_prior_scale = value;
	else if (strcmp(key, "daily_seasonality") == 0)
		p->daily_seasonality = (int) value;
	else if (strcmp(key, "weekly_seasonality") == 0)
		p->weekly_seasonality = (int) value;
	else if (strcmp(key, "yearly_seasonality") == 0)
		p->yearly_seasonality = (int) value;
	else if (strcmp(key, "interval_width") == 0)
		p->interval_width = value;
	else if (strcmp(key, "uncertainty_samples") == 0)
		p->uncertainty_samples = (int) value;
	else if (strcmp(key, "seed") == 0)
		p->seed = (int64_t) value;
	else if (strcmp(key, "huber_delta") == 0)
		p->huber_delta = value;
	else if (strcmp(key, "level_window") == 0)
		p->level_window = (int) value;
	else if (strcmp(key, "calendar_min_share") == 0)
		p->calendar_min_share = value;
	return true;
}

/* Settings from an object: the defaults, overridden by its members. */
static bool
ParamsFromNode(const JsonNode *obj, const char *path, ForecastParams *params, ForecastError *error)
{
	int			i,
				j;

	ForecastParamsDefault(params);
	if (obj == NULL)
		return Fail(error, path, NULL, "the key is missing");
	if (obj->kind != JSON_NODE_OBJECT)
		return Fail(error, path, NULL, "settings must be a JSON object, not %s",
					JsonNodeKindName(obj->kind));
	for (i = 0; i < obj->count; i++)
	{
		for (j = 0; j < i; j++)
			if (strcmp(obj->keys[i], obj->keys[j]) == 0)
				return Fail(error, path, obj->keys[i], "the setting is repeated");
		if (!ReadParam(obj->keys[i], obj->items[i], path, params, error))
			return false;
	}
	return ForecastParamsValidate(params, error);
}

/* Parses text into a tree, or fails with the parser's reason. */
static JsonNode *
ParseDocument(const char *json, size_t len, ForecastError *error)
{
	char	   *parse_error = NULL;
	JsonNode   *root;

	if (json == NULL)
	{
		Fail(error, "", NULL, "no JSON text");
		return NULL;
	}
	root = JsonTreeParse(json, len, &parse_error);
	if (root == NULL)
	{
		Fail(error, "", NULL, "not valid JSON: %s", parse_error ? parse_error : "unknown error");
		if (parse_error)
			pfree(parse_error);
	}
	return root;
}

/*
 * Settings from JSON text such as {"seasonality_mode": "multiplicative"}:
 * the defaults, overridden by each member.  Seasonalities take an order,
 * true (Prophet's order), false or "auto"; level_window a count or "auto".
 * Unknown or repeated settings and values out of range are refused with
 * the setting's name in error->param.
 */
bool
ForecastParamsFromJson(const char *json, size_t len, ForecastParams *params, ForecastError *error)
{
	ForecastError ignored;
	JsonNode   *root;
	bool		ok;

	if (error == NULL)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	ForecastParamsDefault(params);
	root = ParseDocument(json, len, error);
	if (root == NULL)
		return false;
	ok = ParamsFromNode(root, "", params, error);
	JsonTreeFree(root);
	return ok;
}

/* The history member. */
static bool
ReadHistory(const JsonNode *obj, ForecastModel *model, ForecastError *error)
{
	static const char *const keys[] = {"n", "start", "end", "y_scale", "integer", NULL};

	if (!CheckObject(obj, "history", keys, error) ||
		!ReadBool(obj, "history", "integer", &model->integer, error) ||
		!ReadInt(obj, "history", "n", 1, 2147483647.0, &model->n_history, error) ||
		!ReadNumber(obj, "history", "start", -1e12, 1e12, &model->t_start, error) ||
		!ReadNumber(obj, "history", "end", -1e12, 1e12, &model->t_end, error) ||
		!ReadNumber(obj, "history", "y_scale", 1e-300, 1e300, &model->y_scale, error))
		return false;
	if (!(model->t_end > model->t_start))
		return Fail(error, "history", "end", "must be after start");
	return true;
}

/* The trend member. */
static bool
ReadTrend(const JsonNode *obj, ForecastModel *model, ForecastError *error)
{
	static const char *const keys[] = {"k", "m", "changepoints", "deltas", "level", NULL};
	int			ndeltas;

	if (!CheckObject(obj, "trend", keys, error) ||
		!ReadNumber(obj, "trend", "k", -FORECAST_MAX_ABS, FORECAST_MAX_ABS, &model->k, error) ||
		!ReadNumber(obj, "trend", "m", -FORECAST_MAX_ABS, FORECAST_MAX_ABS, &model->m, error) ||
		!ReadNumber(obj, "trend", "level", -FORECAST_MAX_ABS, FORECAST_MAX_ABS, &model->level, error) ||
		!ReadArray(obj, "trend", "changepoints", 0, model->params.n_changepoints, 0.0, 1.0, true,
				   &model->changepoints, &model->n_changepoints, error) ||
		!ReadArray(obj, "trend", "deltas", 0, FORECAST_MAX_CHANGEPOINTS, 0, 0, false,
				   &model->deltas, &ndeltas, error))
		return false;
	if (ndeltas != model->n_changepoints)
		return Fail(error, "trend", "deltas", "must hold one delta per changepoint (%d), not %d",
					model->n_changepoints, ndeltas);
	if (model->params.growth == FORECAST_GROWTH_FLAT && (model->k != 0 || model->n_changepoints > 0))
		return Fail(error, "trend", NULL, "a flat trend has no slope and no changepoints");
	return true;
}

/* The seasonalities member: each one known, once, with the order the settings say. */
static bool
ReadSeasonalities(const JsonNode *list, ForecastModel *model, ForecastError *error)
{
	static const char *const keys[] = {"name", "period", "order", "coefficients", NULL};
	static const char *const names[] = {"daily", "weekly", "yearly"};
	static const double periods[] = {FORECAST_DAY, FORECAST_WEEK, FORECAST_YEAR};
	const int	orders[] = {model->params.daily_seasonality, model->params.weekly_seasonality,
	model->params.yearly_seasonality};
	bool		seen[3] = {false, false, false};
	int			i,
				which;

	if (list == NULL)
		return Fail(error, "seasonalities", NULL, "the key is missing");
	if (list->kind != JSON_NODE_ARRAY)
		return Fail(error, "seasonalities", NULL, "must be an array, not %s", JsonNodeKindName(list->kind));
	if (list->count > 3)
		return Fail(error, "seasonalities", NULL, "must hold at most 3 seasonalities, not %d", list->count);
	for (i = 0; i < list->count; i++)
	{
		const JsonNode *item = list->items[i];
		ForecastSeasonality *season = &model->seasonalities[i];
		char		path[32];
		const char *name;
		double		period;
		int			ncoef;

		snprintf(path, sizeof(path), "seasonalities[%d]", i);
		if (!CheckObject(item, path, keys, error) ||
			!ReadString(item, path, "name", &name, error))
			return false;
		for (which = 0; which < 3; which++)
			if (strcmp(name, names[which]) == 0)
				break;
		if (which == 3)
			return Fail(error, path, "name", "must be \"daily\", \"weekly\" or \"yearly\", not \"%.40s\"",
						name);
		if (seen[which])
			return Fail(error, path, "name", "\"%s\" is listed twice", name);
		seen[which] = true;
		snprintf(season->name, sizeof(season->name), "%s", name);
		if (!ReadNumber(item, path, "period", 0, 1e12, &period, error) ||
			!ReadInt(item, path, "order", 1, FORECAST_MAX_ORDER, &season->order, error))
			return false;
		if (period != periods[which])
			return Fail(error, path, "period", "a %s seasonality has period %.17g, not %.17g",
						name, periods[which], period);
		season->period = period;
		if (season->order != orders[which])
			return Fail(error, path, "order", "must be the order in params (%d), not %d",
						orders[which], season->order);
		if (!ReadArray(item, path, "coefficients", 2 * season->order, 2 * season->order, 0, 0, false,
					   &season->coef, &ncoef, error))
			return false;
		model->nseasonalities = i + 1;
	}
	for (which = 0; which < 3; which++)
		if (orders[which] > 0 && !seen[which])
			return Fail(error, "seasonalities", NULL, "params ask for a %s seasonality, which is missing",
						names[which]);
	return true;
}

/* The noise member. */
static bool
ReadNoise(const JsonNode *obj, ForecastModel *model, ForecastError *error)
{
	static const char *const keys[] = {"sigma", "iterations", "residual_quantiles",
	"level_quantiles", NULL};

	if (!CheckObject(obj, "noise", keys, error) ||
		!ReadNumber(obj, "noise", "sigma", 0, FORECAST_MAX_ABS, &model->sigma, error) ||
		!ReadInt(obj, "noise", "iterations", 0, 1e6, &model->iterations, error) ||
		!ReadArray(obj, "noise", "residual_quantiles", 2, FORECAST_MAX_QUANTILES, 0, 0, true,
				   &model->noise_quantiles, &model->n_noise_quantiles, error) ||
		!ReadArray(obj, "noise", "level_quantiles", 0, FORECAST_MAX_QUANTILES, 0, 0, true,
				   &model->level_quantiles, &model->n_level_quantiles, error))
		return false;
	if (model->n_level_quantiles == 1)
		return Fail(error, "noise", "level_quantiles", "must hold no number or at least 2");
	return true;
}

/* The calendar member. */
static bool
ReadCalendar(const JsonNode *obj, ForecastModel *model, ForecastError *error)
{
	static const char *const keys[] = {"step", "weekly", "phase", "active", NULL};
	ForecastCalendar *cal = &model->calendar;
	const char *active;
	int			nslots,
				s,
				on = 0;

	if (!CheckObject(obj, "calendar", keys, error) ||
		!ReadNumber(obj, "calendar", "step", 1e-3, 1e9, &cal->step, error) ||
		!ReadBool(obj, "calendar", "weekly", &cal->weekly, error) ||
		!ReadNumber(obj, "calendar", "phase", 0, 1e9, &cal->phase, error) ||
		!ReadString(obj, "calendar", "active", &active, error))
		return false;
	if (!(cal->phase < cal->step))
	{
		cal->weekly = false;
		return Fail(error, "calendar", "phase", "must be below the step (%.17g), not %.17g",
					cal->step, cal->phase);
	}
	if (!cal->weekly)
	{
		if (*active != '\0')
			return Fail(error, "calendar", "active", "must be \"\" when the calendar is not weekly");
		return true;
	}
	nslots = (int) floor(FORECAST_WEEK / cal->step + 0.5);
	if (nslots < 7 || nslots > FORECAST_MAX_SLOTS || nslots % 7 != 0 ||
		nslots * cal->step != FORECAST_WEEK)
	{
		cal->weekly = false;
		return Fail(error, "calendar", "step", "a weekly calendar needs a step that divides a day into "
					"at most %d slots, not %.17g seconds", FORECAST_MAX_SLOTS / 7, cal->step);
	}
	if (strlen(active) != (size_t) nslots)
	{
		cal->weekly = false;
		return Fail(error, "calendar", "active", "must hold one character per slot (%d), not %d",
					nslots, (int) strlen(active));
	}
	cal->active = malloc(nslots);
	if (!cal->active)
	{
		cal->weekly = false;
		return Fail(error, "calendar", "active", "out of memory");
	}
	cal->nslots = nslots;
	for (s = 0; s < nslots; s++)
	{
		if (active[s] != '0' && active[s] != '1')
			return Fail(error, "calendar", "active", "must hold only 0 and 1, not '%c' at %d",
						active[s] >= 32 && active[s] < 127 ? active[s] : '?', s);
		cal->active[s] = active[s] == '1';
		on += cal->active[s];
	}
	if (on == 0)
		return Fail(error, "calendar", "active", "must mark at least one slot active");
	return true;
}

/*
 * Reads a model written by ForecastModelToJson (any version-1 text).
 * Returns NULL with *error (path in error->param) when the text is not a
 * valid model; never trusts sizes or values it has not checked.
 */
ForecastModel *
ForecastModelFromJson(const char *json, size_t len, ForecastError *error)
{
	static const char *const keys[] = {"format", "version", "params", "history", "trend",
	"seasonalities", "noise", "calendar", NULL};
	ForecastError ignored;
	JsonNode   *root;
	ForecastModel *model;
	const char *format;
	int			version;
	bool		ok;

	if (error == NULL)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	root = ParseDocument(json, len, error);
	if (root == NULL)
		return NULL;
	model = ForecastModelAlloc();
	if (model == NULL)
	{
		JsonTreeFree(root);
		Fail(error, "", NULL, "out of memory");
		return NULL;
	}
	ok = CheckObject(root, "", keys, error) &&
		ReadString(root, "", "format", &format, error);
	if (ok && strcmp(format, FORECAST_FORMAT) != 0)
		ok = Fail(error, "", "format", "must be \"%s\", not \"%.40s\"", FORECAST_FORMAT, format);
	ok = ok && ReadInt(root, "", "version", 0, 1e9, &version, error);
	if (ok && version != FORECAST_JSON_VERSION)
		ok = Fail(error, "", "version", "version %d is not supported; this build reads version %d",
				  version, FORECAST_JSON_VERSION);
	ok = ok && ParamsFromNode(JsonTreeMember(root, "params"), "params", &model->params, error);
	if (ok && (model->params.daily_seasonality < 0 || model->params.weekly_seasonality < 0 ||
			   model->params.yearly_seasonality < 0 || model->params.level_window < 0))
		ok = Fail(error, "params", NULL,
				  "a fitted model's seasonality orders and level_window are not auto");
	ok = ok && ReadHistory(JsonTreeMember(root, "history"), model, error) &&
		ReadTrend(JsonTreeMember(root, "trend"), model, error) &&
		ReadSeasonalities(JsonTreeMember(root, "seasonalities"), model, error) &&
		ReadNoise(JsonTreeMember(root, "noise"), model, error) &&
		ReadCalendar(JsonTreeMember(root, "calendar"), model, error);
	JsonTreeFree(root);
	if (!ok)
	{
		ForecastFree(model);
		return NULL;
	}
	model->level_window = model->params.level_window;
	return model;
}
