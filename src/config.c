/*
 * config.c - the original system's config.json, validated in plain C
 *
 * The original pipeline kept its topology in one file:
 *   {"topic_configs": [{"name", "num_partitions", "replication_factor"}...],
 *    "dag_configs": {"last_processed_file": "N.json"},
 *    "source_partition_map": {"<ip>": <partition of the log topic>}}
 * ConfigParse checks all of it before anything is written, and names the
 * first offending key, so a bad file changes nothing.  Unknown keys are
 * listed for a warning and otherwise ignored, as the original ignored them.
 */
#include "postgres_fe.h"

#include <limits.h>
#include <stdarg.h>

#include "config.h"
#include "json_tree.h"
#include "settings.h"

static bool
Fail(ConfigError *error, const char *path, const char *fmt,...)
pg_attribute_printf(3, 4);

/* Records the error; always returns false so callers can return it. */
static bool
Fail(ConfigError *error, const char *path, const char *fmt,...)
{
	va_list		args;

	snprintf(error->path, sizeof(error->path), "%s", path);
	va_start(args, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, args);
	va_end(args);
	return false;
}

static void
NoteIgnored(IpflowConfig *out, const char *path)
{
	out->ignored_keys = out->ignored_keys
		? repalloc(out->ignored_keys, (out->nignored_keys + 1) * sizeof(char *))
		: palloc(sizeof(char *));
	out->ignored_keys[out->nignored_keys++] = pstrdup(path);
}

/* A JSON integer (no fraction, no exponent) within [min, max]. */
static bool
IntegerMember(const JsonNode *node, const char *path, int min, int max,
			  int *value, ConfigError *error)
{
	const char *p;
	long long	v = 0;
	bool		negative = false;

	if (node == NULL)
		return Fail(error, path, "the key is missing");
	if (node->kind != JSON_NODE_NUMBER)
		return Fail(error, path, "must be an integer, not %s", JsonNodeKindName(node->kind));
	p = node->text;
	if (*p == '-')
	{
		negative = true;
		p++;
	}
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return Fail(error, path, "must be an integer, not %s", node->text);
		if (v <= INT_MAX)
			v = v * 10 + (*p - '0');
	}
	if (negative)
		v = -v;
	if (v < min || v > max)
		return Fail(error, path, "must be between %d and %d, not %s", min, max, node->text);
	*value = (int) v;
	return true;
}

static bool
ParseTopics(const JsonNode *list, IpflowConfig *out, ConfigError *error)
{
	int			i,
				j;

	if (list == NULL)
		return Fail(error, "topic_configs", "the key is missing");
	if (list->kind != JSON_NODE_ARRAY)
		return Fail(error, "topic_configs", "must be an array of topics, not %s",
					JsonNodeKindName(list->kind));
	if (list->count == 0)
		return Fail(error, "topic_configs", "must list at least one topic");

	out->topics = palloc0(list->count * sizeof(ConfigTopic));
	for (i = 0; i < list->count; i++)
	{
		const JsonNode *item = list->items[i];
		ConfigTopic *topic = &out->topics[out->ntopics];
		const JsonNode *name;
		const char *why;
		char		path[300];

		snprintf(path, sizeof(path), "topic_configs[%d]", i);
		if (item->kind != JSON_NODE_OBJECT)
			return Fail(error, path, "must be an object, not %s", JsonNodeKindName(item->kind));

		snprintf(path, sizeof(path), "topic_configs[%d].name", i);
		name = JsonTreeMember(item, "name");
		if (name == NULL)
			return Fail(error, path, "the key is missing");
		if (name->kind != JSON_NODE_STRING)
			return Fail(error, path, "must be a string, not %s", JsonNodeKindName(name->kind));
		if (!KafkaTopicNameValid(name->text, &why))
			return Fail(error, path, "\"%s\" is not a valid topic name: %s", name->text, why);
		for (j = 0; j < out->ntopics; j++)
			if (strcmp(out->topics[j].name, name->text) == 0)
				return Fail(error, path, "topic \"%s\" is listed twice (first as topic_configs[%d])",
							name->text, j);
		topic->name = pstrdup(name->text);
		out->ntopics++;

		snprintf(path, sizeof(path), "topic_configs[%d].num_partitions", i);
		if (!IntegerMember(JsonTreeMember(item, "num_partitions"), path,
						   1, CONFIG_MAX_PARTITIONS, &topic->num_partitions, error))
			return false;
		snprintf(path, sizeof(path), "topic_configs[%d].replication_factor", i);
		if (!IntegerMember(JsonTreeMember(item, "replication_factor"), path,
						   1, CONFIG_MAX_REPLICATION, &topic->replication_factor, error))
			return false;

		for (j = 0; j < item->count; j++)
		{
			const char *key = item->keys[j];

			if (strcmp(key, "name") != 0 && strcmp(key, "num_partitions") != 0 &&
				strcmp(key, "replication_factor") != 0)
			{
				snprintf(path, sizeof(path), "topic_configs[%d].%s", i, key);
				NoteIgnored(out, path);
			}
		}
	}
	return true;
}

/* The sender cursor: the name of the last cl_logs/N.json file sent. */
static bool
ParseDagConfigs(const JsonNode *dag, IpflowConfig *out, ConfigError *error)
{
	const JsonNode *file;
	const char *p;
	int			i;

	if (dag == NULL)
		return Fail(error, "dag_configs", "the key is missing");
	if (dag->kind != JSON_NODE_OBJECT)
		return Fail(error, "dag_configs", "must be an object, not %s", JsonNodeKindName(dag->kind));

	file = JsonTreeMember(dag, "last_processed_file");
	if (file == NULL)
		return Fail(error, "dag_configs.last_processed_file", "the key is missing");
	if (file->kind != JSON_NODE_STRING)
		return Fail(error, "dag_configs.last_processed_file", "must be a string such as \"1.json\", not %s",
					JsonNodeKindName(file->kind));
	for (p = file->text; *p >= '0' && *p <= '9'; p++)
		;
	if (p == file->text || p - file->text > 9 || strcmp(p, ".json") != 0)
		return Fail(error, "dag_configs.last_processed_file",
					"must name a numbered file such as \"1.json\", not \"%s\"", file->text);
	out->last_processed_file = pstrdup(file->text);

	for (i = 0; i < dag->count; i++)
		if (strcmp(dag->keys[i], "last_processed_file") != 0)
		{
			char		path[300];

			snprintf(path, sizeof(path), "dag_configs.%s", dag->keys[i]);
			NoteIgnored(out, path);
		}
	return true;
}

static bool
ParsePartitionMap(const JsonNode *map, int log_partitions, const char *log_topic,
				  IpflowConfig *out, ConfigError *error)
{
	int			i,
				j;

	if (map == NULL)
		return Fail(error, "source_partition_map", "the key is missing");
	if (map->kind != JSON_NODE_OBJECT)
		return Fail(error, "source_partition_map", "must be an object mapping IP addresses to partitions, not %s",
					JsonNodeKindName(map->kind));
	if (map->count > 0 && log_partitions <= 0)
		return Fail(error, "source_partition_map",
					"maps IPs to partitions of the log topic \"%s\", which is neither in topic_configs nor in ipflow.topics",
					log_topic);

	out->ip_partitions = palloc0(Max(map->count, 1) * sizeof(ConfigIpPartition));
	for (i = 0; i < map->count; i++)
	{
		ConfigIpPartition *entry = &out->ip_partitions[i];
		char		path[300];

		snprintf(path, sizeof(path), "source_partition_map.%s", map->keys[i]);
		if (!IpParse(map->keys[i], strlen(map->keys[i]), &entry->ip))
			return Fail(error, path, "\"%s\" is not an IPv4 or IPv6 address", map->keys[i]);
		IpFormat(&entry->ip, entry->ip_text);
		for (j = 0; j < i; j++)
			if (strcmp(out->ip_partitions[j].ip_text, entry->ip_text) == 0)
				return Fail(error, path, "address %s is mapped twice", entry->ip_text);
		if (!IntegerMember(map->items[i], path, INT_MIN + 1, INT_MAX, &entry->partition, error))
			return false;
		if (entry->partition < 0 || entry->partition >= log_partitions)
			return Fail(error, path, "partition %d is outside topic \"%s\", which has partitions 0 to %d",
						entry->partition, log_topic, log_partitions - 1);
		out->nip_partitions++;
	}
	return true;
}

/*
 * Validates a whole config document.  known_log_partitions is the partition
 * count of log_topic already stored (-1 if none); a count in the document
 * itself takes precedence.  On failure *error names the key and the problem.
 */
bool
ConfigParse(const char *json, size_t len, const char *log_topic,
			int known_log_partitions, IpflowConfig *out, ConfigError *error)
{
	JsonNode   *root;
	char	   *parse_error;
	int			log_partitions = known_log_partitions;
	bool		ok;
	int			i;

	memset(out, 0, sizeof(*out));
	memset(error, 0, sizeof(*error));

	root = JsonTreeParse(json, len, &parse_error);
	if (root == NULL)
	{
		Fail(error, "", "not valid JSON: %s", parse_error);
		pfree(parse_error);
		return false;
	}
	if (root->kind != JSON_NODE_OBJECT)
	{
		Fail(error, "", "the config must be a JSON object, not %s", JsonNodeKindName(root->kind));
		JsonTreeFree(root);
		return false;
	}

	ok = ParseTopics(JsonTreeMember(root, "topic_configs"), out, error) &&
		ParseDagConfigs(JsonTreeMember(root, "dag_configs"), out, error);
	if (ok)
	{
		for (i = 0; i < out->ntopics; i++)
			if (strcmp(out->topics[i].name, log_topic) == 0)
				log_partitions = out->topics[i].num_partitions;
		ok = ParsePartitionMap(JsonTreeMember(root, "source_partition_map"),
							   log_partitions, log_topic, out, error);
	}
	for (i = 0; ok && i < root->count; i++)
	{
		const char *key = root->keys[i];

		if (strcmp(key, "topic_configs") != 0 && strcmp(key, "dag_configs") != 0 &&
			strcmp(key, "source_partition_map") != 0)
			NoteIgnored(out, key);
	}

	JsonTreeFree(root);
	if (!ok)
		ConfigFree(out);
	return ok;
}

void
ConfigFree(IpflowConfig *config)
{
	int			i;

	for (i = 0; i < config->ntopics; i++)
		pfree(config->topics[i].name);
	if (config->topics)
		pfree(config->topics);
	if (config->last_processed_file)
		pfree(config->last_processed_file);
	if (config->ip_partitions)
		pfree(config->ip_partitions);
	for (i = 0; i < config->nignored_keys; i++)
		pfree(config->ignored_keys[i]);
	if (config->ignored_keys)
		pfree(config->ignored_keys);
	memset(config, 0, sizeof(*config));
}
