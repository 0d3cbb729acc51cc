/* Unit tests of config.c: the original config.json and every way to break it. */
#include "postgres_fe.h"

#include "config.h"
#include "tap.h"

#define SEED "{\"topic_configs\":[{\"name\":\"LogTopic\",\"num_partitions\":3,\"replication_factor\":1}," \
	"{\"name\":\"AnotherTopic\",\"num_partitions\":1,\"replication_factor\":1}," \
	"{\"name\":\"SparkStreamingTopic\",\"num_partitions\":3,\"replication_factor\":1}]," \
	"\"dag_configs\":{\"last_processed_file\":\"1.json\"}," \
	"\"source_partition_map\":{\"46.39.79.251\":0,\"229.46.205.74\":1,\"187.44.158.33\":2}}"

#define TOPICS "\"topic_configs\":[{\"name\":\"LogTopic\",\"num_partitions\":3,\"replication_factor\":1}]"
#define DAG "\"dag_configs\":{\"last_processed_file\":\"1.json\"}"
#define MAP "\"source_partition_map\":{}"

/* Expects the document to fail at path with a message containing text. */
static void
fails(const char *json, const char *path, const char *text)
{
	IpflowConfig config;
	ConfigError error;
	bool		parsed = ConfigParse(json, strlen(json), "LogTopic", -1, &config, &error);

	ok(!parsed && strcmp(error.path, path) == 0 && strstr(error.message, text) != NULL,
	   "fails at \"%s\": %s", error.path, parsed ? "(accepted)" : error.message);
	if (strcmp(error.path, path) != 0)
		printf("#   wanted path \"%s\"\n", path);
	if (parsed)
		ConfigFree(&config);
}

int
main(void)
{
	IpflowConfig config;
	ConfigError error;
	const char *doc;

	ok(ConfigParse(SEED, strlen(SEED), "LogTopic", -1, &config, &error), "the seed config parses");
	is_int(config.ntopics, 3, "three topics");
	is_str(config.topics[2].name, "SparkStreamingTopic", "topic order kept");
	is_int(config.topics[0].num_partitions, 3, "LogTopic has 3 partitions");
	is_int(config.topics[1].replication_factor, 1, "replication factor");
	is_str(config.last_processed_file, "1.json", "sender cursor");
	is_int(config.nip_partitions, 3, "three mapped IPs");
	is_str(config.ip_partitions[1].ip_text, "229.46.205.74", "mapped IP");
	is_int(config.ip_partitions[1].partition, 1, "its partition");
	is_int(config.nignored_keys, 0, "no unknown keys");
	ConfigFree(&config);

	doc = "{" TOPICS "," DAG ",\"source_partition_map\":{\"2001:DB8::1\":2},\"extra\":1}";
	ok(ConfigParse(doc, strlen(doc), "LogTopic", -1, &config, &error), "IPv6 keys and unknown keys accepted");
	is_str(config.ip_partitions[0].ip_text, "2001:db8::1", "IPv6 keys are canonicalized");
	ok(config.nignored_keys == 1 && strcmp(config.ignored_keys[0], "extra") == 0, "unknown key listed");
	ConfigFree(&config);

	doc = "{\"topic_configs\":[{\"name\":\"Other\",\"num_partitions\":2,\"replication_factor\":1}],"
		DAG ",\"source_partition_map\":{\"1.2.3.4\":4}}";
	ok(ConfigParse(doc, strlen(doc), "LogTopic", 5, &config, &error),
	   "the stored partition count of the log topic is used when the document has none");
	ConfigFree(&config);

	/* the document */
	fails("not json", "", "not valid JSON");
	fails("[1]", "", "must be a JSON object, not an array");
	fails("{\"topic_configs\": [}", "", "not valid JSON");

	/* missing keys */
	fails("{" DAG "," MAP "}", "topic_configs", "missing");
	fails("{" TOPICS "," MAP "}", "dag_configs", "missing");
	fails("{" TOPICS "," DAG "}", "source_partition_map", "missing");
	fails("{" TOPICS ",\"dag_configs\":{}," MAP "}", "dag_configs.last_processed_file", "missing");
	fails("{\"topic_configs\":[{\"num_partitions\":3,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].name", "missing");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "missing");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":1}]," DAG "," MAP "}",
		  "topic_configs[0].replication_factor", "missing");

	/* wrong types */
	fails("{\"topic_configs\":{}," DAG "," MAP "}", "topic_configs", "must be an array");
	fails("{\"topic_configs\":[]," DAG "," MAP "}", "topic_configs", "at least one topic");
	fails("{\"topic_configs\":[7]," DAG "," MAP "}", "topic_configs[0]", "must be an object");
	fails("{\"topic_configs\":[{\"name\":5,\"num_partitions\":1,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].name", "must be a string");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":\"3\",\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "must be an integer, not a string");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":2.5,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "must be an integer, not 2.5");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":1e2,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "must be an integer");
	fails("{" TOPICS ",\"dag_configs\":[]," MAP "}", "dag_configs", "must be an object");
	fails("{" TOPICS ",\"dag_configs\":{\"last_processed_file\":1}," MAP "}",
		  "dag_configs.last_processed_file", "must be a string");
	fails("{" TOPICS ",\"dag_configs\":{\"last_processed_file\":\"x.json\"}," MAP "}",
		  "dag_configs.last_processed_file", "numbered file");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":[]}", "source_partition_map", "must be an object");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":{\"1.2.3.4\":\"0\"}}",
		  "source_partition_map.1.2.3.4", "must be an integer, not a string");

	/* values out of range */
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":0,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "between 1 and 100000");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":99999999999,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].num_partitions", "between 1 and 100000");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":1,\"replication_factor\":0}]," DAG "," MAP "}",
		  "topic_configs[0].replication_factor", "between 1 and 32767");
	fails("{\"topic_configs\":[{\"name\":\"T\",\"num_partitions\":1,\"replication_factor\":-1}]," DAG "," MAP "}",
		  "topic_configs[0].replication_factor", "between 1 and 32767");
	fails("{\"topic_configs\":[{\"name\":\"bad topic\",\"num_partitions\":1,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[0].name", "not a valid topic name");
	fails("{\"topic_configs\":[{\"name\":\"A\",\"num_partitions\":1,\"replication_factor\":1},"
		  "{\"name\":\"A\",\"num_partitions\":2,\"replication_factor\":1}]," DAG "," MAP "}",
		  "topic_configs[1].name", "listed twice");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":{\"1.2.3.4\":3}}",
		  "source_partition_map.1.2.3.4", "partition 3 is outside topic \"LogTopic\", which has partitions 0 to 2");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":{\"1.2.3.4\":-1}}",
		  "source_partition_map.1.2.3.4", "partition -1 is outside");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":{\"1.2.3\":0}}",
		  "source_partition_map.1.2.3", "not an IPv4 or IPv6 address");
	fails("{" TOPICS "," DAG ",\"source_partition_map\":{\"::1\":0,\"0::1\":1}}",
		  "source_partition_map.0::1", "mapped twice");
	fails("{\"topic_configs\":[{\"name\":\"Other\",\"num_partitions\":2,\"replication_factor\":1}],"
		  DAG ",\"source_partition_map\":{\"1.2.3.4\":0}}",
		  "source_partition_map", "neither in topic_configs nor in ipflow.topics");
	return tap_done();
}
