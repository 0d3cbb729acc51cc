/*
 * anomaly_json.c - the anomaly detector's settings from JSON text
 *
 * A settings object such as {"alert_z": 5, "timing": false}: members not
 * given keep their default; unknown, repeated or mistyped members and
 * values out of range are refused with the setting's name.
 */
#include "postgres_fe.h"

#include <math.h>
#include <stdarg.h>

#include "anomaly.h"
#include "json_tree.h"

/* The settings AnomalyParamsFromJson knows, for the error message. */
#define KNOWN_SETTINGS "log_transform, level_rate, daily_rate, weekly_rate, scale_rate, " \
	"min_scale, alert_z, warmup, outlier_z, timing, alert_surprise, down_weight"

static bool Fail(AnomalyError *error, const char *param, const char *fmt,...) pg_attribute_printf(3, 4);

/* Records an error; returns false. */
static bool
Fail(AnomalyError *error, const char *param, const char *fmt,...)
{
	va_list		args;

	snprintf(error->param, sizeof(error->param), "%s", param);
	va_start(args, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, args);
	va_end(args);
	return false;
}

/* A boolean member. */
static bool
ReadBool(const char *key, const JsonNode *node, bool *out, AnomalyError *error)
{
	if (node->kind != JSON_NODE_TRUE && node->kind != JSON_NODE_FALSE)
		return Fail(error, key, "%s must be true or false, not %s", key, JsonNodeKindName(node->kind));
	*out = node->kind == JSON_NODE_TRUE;
	return true;
}

/* A number member (its range is AnomalyParamsValidate's business). */
static bool
ReadNumber(const char *key, const JsonNode *node, double *out, AnomalyError *error)
{
	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, key, "%s must be a number, not %s", key, JsonNodeKindName(node->kind));
	*out = strtod(node->text, NULL);
	if (!isfinite(*out))
		return Fail(error, key, "%s: %.40s is out of range", key, node->text);
	return true;
}

/* One member into params. */
static bool
ReadSetting(const char *key, const JsonNode *node, AnomalyParams *p, AnomalyError *error)
{
	static const char *const names[] = {"level_rate", "daily_rate", "weekly_rate", "scale_rate",
	"min_scale", "alert_z", "outlier_z", "alert_surprise", "down_weight"};
	double	   *const targets[] = {&p->level_rate, &p->daily_rate, &p->weekly_rate, &p->scale_rate,
	&p->min_scale, &p->alert_z, &p->outlier_z, &p->alert_surprise, &p->down_weight};
	double		value;
	size_t		i;

	if (strcmp(key, "log_transform") == 0)
		return ReadBool(key, node, &p->log_transform, error);
	if (strcmp(key, "timing") == 0)
		return ReadBool(key, node, &p->timing, error);
	if (strcmp(key, "warmup") == 0)
	{
		if (!ReadNumber(key, node, &value, error))
			return false;
		if (!(value >= 0 && value <= 10000) || value != floor(value))
			return Fail(error, key, "warmup must be an integer from 0 to 10000, not %.17g", value);
		p->warmup = (int) value;
		return true;
	}
	for (i = 0; i < lengthof(names); i++)
		if (strcmp(key, names[i]) == 0)
			return ReadNumber(key, node, targets[i], error);
	return Fail(error, key, "unknown setting \"%.40s\" (known: " KNOWN_SETTINGS ")", key);
}

bool
AnomalyParamsFromJson(const char *json, size_t len, AnomalyParams *params, AnomalyError *error)
{
	AnomalyError ignored;
	char	   *parse_error = NULL;
	JsonNode   *root;
	bool		ok = true;
	int			i,
				j;

	if (error == NULL)
		error = &ignored;
	memset(error, 0, sizeof(*error));
	AnomalyParamsDefault(params);
	if (json == NULL)
		return Fail(error, "", "no JSON text");
	root = JsonTreeParse(json, len, &parse_error);
	if (root == NULL)
	{
		Fail(error, "", "settings are not valid JSON: %s", parse_error ? parse_error : "unknown error");
		if (parse_error)
			pfree(parse_error);
		return false;
	}
	if (root->kind != JSON_NODE_OBJECT)
		ok = Fail(error, "", "settings must be a JSON object, not %s", JsonNodeKindName(root->kind));
	for (i = 0; ok && i < root->count; i++)
	{
		for (j = 0; j < i; j++)
			if (strcmp(root->keys[i], root->keys[j]) == 0)
				ok = Fail(error, root->keys[i], "setting %.40s is repeated", root->keys[i]);
		if (ok)
			ok = ReadSetting(root->keys[i], root->items[i], params, error);
	}
	JsonTreeFree(root);
	return ok && AnomalyParamsValidate(params, error);
}
