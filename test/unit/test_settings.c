/* Unit tests of settings.c: topic names, groups, broker lists, Redis URLs. */
#include "settings.h"
#include "tap.h"

static void
topic(const char *name, int valid)
{
	const char *why = NULL;

	ok(KafkaTopicNameValid(name, &why) == valid, "topic \"%.40s\" is %s%s%s", name,
	   valid ? "valid" : "invalid", why ? ": " : "", why ? why : "");
}

static void
brokers(const char *list, int valid)
{
	const char *why = NULL;

	ok(KafkaBrokerListValid(list, &why) == valid, "brokers \"%s\" are %s", list,
	   valid ? "valid" : "invalid");
}

static void
redis_bad(const char *url, const char *because)
{
	RedisUrl	u;
	const char *why = "";

	ok(!RedisUrlParse(url, &u, &why) && strstr(why, because) != NULL,
	   "redis url \"%s\" refused: %s", url, why);
}

int
main(void)
{
	char		long_name[300];
	RedisUrl	u;
	const char *why = NULL;

	topic("LogTopic", 1);
	topic("Spark_Streaming-Topic.v2", 1);
	topic("", 0);
	topic(".", 0);
	topic("..", 0);
	topic("log topic", 0);
	topic("log/topic", 0);
	topic("t\xc3\xa9", 0);
	memset(long_name, 'a', 249);
	long_name[249] = '\0';
	topic(long_name, 1);
	long_name[249] = 'a';
	long_name[250] = '\0';
	topic(long_name, 0);

	ok(KafkaGroupIdValid("ipflow", &why), "group ipflow is valid");
	ok(!KafkaGroupIdValid("", &why), "empty group is invalid");
	ok(!KafkaGroupIdValid("my group", &why), "group with a space is invalid");

	brokers("embedded", 1);
	brokers("localhost:9092", 1);
	brokers("kafka1:9092, kafka2:9093", 1);
	brokers("[::1]:9092,10.0.0.1:9092", 1);
	brokers("", 0);
	brokers("localhost", 0);
	brokers("localhost:0", 0);
	brokers("localhost:65536", 0);
	brokers("localhost:90x2", 0);
	brokers("a:1,,b:2", 0);
	brokers(":9092", 0);
	brokers("[::1:9092", 0);
	brokers("host name:9092", 0);

	ok(RedisUrlParse("redis://127.0.0.1:6379/0", &u, &why) && !u.is_unix &&
	   strcmp(u.host, "127.0.0.1") == 0 && u.port == 6379 && u.db == 0, "redis://127.0.0.1:6379/0");
	ok(RedisUrlParse("redis://cache", &u, &why) && u.port == 6379 && u.db == 0,
	   "redis://cache defaults to port 6379, db 0");
	ok(RedisUrlParse("redis://cache:7000/5", &u, &why) && u.port == 7000 && u.db == 5,
	   "redis://cache:7000/5");
	ok(RedisUrlParse("redis://[::1]:6380/2", &u, &why) && strcmp(u.host, "::1") == 0 &&
	   u.port == 6380 && u.db == 2, "bracketed IPv6 host");
	ok(RedisUrlParse("unix:///run/redis.sock?db=3", &u, &why) && u.is_unix &&
	   strcmp(u.path, "/run/redis.sock") == 0 && u.db == 3, "unix socket with db");
	redis_bad("http://cache:6379", "must start with");
	redis_bad("redis://:secret@cache:6379", "credentials");
	redis_bad("redis://user:secret@cache", "credentials");
	redis_bad("redis://cache:0", "port");
	redis_bad("redis://cache:99999", "port");
	redis_bad("redis://cache:6379/x", "database number");
	redis_bad("redis://cache:6379/70000", "database number");
	redis_bad("redis://", "needs a host");
	redis_bad("redis://[::1", "brackets");
	redis_bad("unix://relative.sock", "absolute path");
	redis_bad("unix:///run/redis.sock?timeout=3", "?db=N");
	return tap_done();
}
