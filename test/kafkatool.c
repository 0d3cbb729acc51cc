/*
 * kafkatool.c - the test suites' Kafka client, on librdkafka
 *
 *   kafkatool partitions --bootstrap B --topic T < keys
 *       Produces one message per input line, keyed by the line, with
 *       librdkafka's murmur2_random partitioner (Kafka's Java default), and
 *       prints "key<TAB>partition" as the broker acknowledged it.
 *
 *   kafkatool stream --bootstrap B --topic T --ips N --count N [--rate R]
 *                    [--ip-offset K] [--linger MS] [--warmup W]
 *                    [--first-hour H] [--report FILE]
 *       Produces COUNT synthetic events for N source IPs (10.x.y.z, the
 *       K+1st to K+Nth such address), hour
 *       after hour from 2022-01-01 + H hours, keyed by IP (murmur2), zstd
 *       compressed, at R events/s (0: as fast as possible), batched by the
 *       producer for MS ms (default 5, librdkafka's own, with a rate, else
 *       20: the test broker serves one batch per partition per fetch).
 *       With --report, writes "partition offset produced_at_us
 *       delivered_at_us" per delivered message, except for the first W
 *       (default 0), which warm the producer's connections up.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

typedef struct Delivery
{
	char	   *key;
	int32_t		partition;
	int			done;
	int			failed;
} Delivery;

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	Delivery   *d = msg->_private;

	d->partition = msg->partition;
	d->failed = msg->err != 0;
	if (msg->err)
		fprintf(stderr, "kafkatool: delivery of %s failed: %s\n", d->key, rd_kafka_err2str(msg->err));
	d->done = 1;
}

/*
 * A producer keyed like a Java client (murmur2), with linger.ms and
 * compression as given; exits on a bad setting.
 */
static rd_kafka_t *
producer_new(const char *bootstrap, const char *linger_ms, const char *compression,
			 void (*dr_cb) (rd_kafka_t *, const rd_kafka_message_t *, void *))
{
	char		errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "linger.ms", linger_ms, errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "compression.codec", compression, errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr, sizeof(errstr)))
	{
		fprintf(stderr, "kafkatool: %s\n", errstr);
		exit(1);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "kafkatool: %s\n", errstr);
		exit(1);
	}
	return rk;
}

/* Produces one keyed message, waiting while the local queue is full. */
static int
produce_one(rd_kafka_t *rk, const char *topic, const char *key, const void *value, size_t len,
			void *opaque)
{
	rd_kafka_resp_err_t err;

	do
	{
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
								RD_KAFKA_V_KEY(key, strlen(key)),
								RD_KAFKA_V_VALUE((void *) value, len),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_OPAQUE(opaque),
								RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
	} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
	if (err)
	{
		fprintf(stderr, "kafkatool: produce: %s\n", rd_kafka_err2str(err));
		return 1;
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

static int
cmd_partitions(const char *bootstrap, const char *topic)
{
	rd_kafka_t *rk = producer_new(bootstrap, "5", "none", on_delivery);
	Delivery   *deliveries = NULL;
	size_t		n = 0,
				cap = 0,
				i;
	char		line[1024];
	int			failed = 0;

	while (fgets(line, sizeof(line), stdin))
	{
		size_t		len = strcspn(line, "\r\n");

		line[len] = '\0';
		if (len == 0)
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 1024;
			deliveries = realloc(deliveries, cap * sizeof(Delivery));
		}
		deliveries[n].key = strdup(line);
		deliveries[n].done = 0;
		n++;
	}
	for (i = 0; i < n; i++)
		if (produce_one(rk, topic, deliveries[i].key, "x", 1, &deliveries[i]) != 0)
			return 1;
	if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		fprintf(stderr, "kafkatool: timed out waiting for deliveries\n");
		return 1;
	}
	for (i = 0; i < n; i++)
	{
		if (!deliveries[i].done || deliveries[i].failed)
			failed++;
		else
			printf("%s\t%d\n", deliveries[i].key, deliveries[i].partition);
		free(deliveries[i].key);
	}
	free(deliveries);
	rd_kafka_destroy(rk);
	return failed ? 1 : 0;
}

/* What cmd_stream produces, from the command line. */
typedef struct StreamOptions
{
	const char *bootstrap;
	const char *topic;
	long		ips;
	long		ip_offset;
	long		count;
	long		warmup;
	double		rate;
	const char *linger_ms;
	long		first_hour;
	const char *report;
} StreamOptions;

static FILE *stream_report = NULL;
static long stream_failed = 0;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_stream_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	if (msg->err)
		stream_failed++;
	else if (stream_report && msg->_private)	/* not a warm-up message */
		fprintf(stream_report, "%d\t%lld\t%lld\t%lld\n", msg->partition, (long long) msg->offset,
				(long long) (intptr_t) msg->_private, (long long) now_us());
}

/* One synthetic event: the same arithmetic as the SQL generator of the tests. */
static int
format_event(char *buf, size_t len, char *key, size_t keylen, long k, long h)
{
	time_t		t = 1640995200 + h * 3600;	/* 2022-01-01 00:00:00 UTC */
	struct tm	tm;
	char		ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(key, keylen, "10.%ld.%ld.%ld", (k >> 16) & 255, (k >> 8) & 255, k & 255);
	return snprintf(buf, len,
					"{\"src_ip\":\"%s\",\"unq_dst_ip\":\"%ld\",\"allow\":\"%ld\",\"drop\":\"%ld\","
					"\"frequency\":\"%ld\",\"pkts_sent\":\"%ld\",\"pkts_received\":\"%ld\","
					"\"bytesin\":\"%ld\",\"bytesout\":\"%ld\",\"unq_dst_port\":\"%ld\",\"timestamp\":\"%s\"}",
					key, (h * 7 + k) % 50, (h * 3 + k) % 100, (h + k * 5) % 20,
					(h * 3 + k) % 100 + (h + k * 5) % 20, (h * 13 + k) % 1000, (h * 17 + k) % 1000,
					(h * 1009 + k * 7) % 100000, (h * 2003 + k * 11) % 1000000, (h + k) % 9, ts);
}

/* Fetches the topic's metadata, so that the first message need not wait for it. */
static void
wait_for_metadata(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;

	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
}

static int
cmd_stream(const StreamOptions *o)
{
	rd_kafka_t *rk = producer_new(o->bootstrap, o->linger_ms ? o->linger_ms : o->rate > 0 ? "5" : "20",
								  "zstd", on_stream_delivery);
	int64_t		start;
	long		i;

	if (o->report && (stream_report = fopen(o->report, "w")) == NULL)
	{
		perror("kafkatool: --report");
		return 1;
	}

	/* know the partitions' leaders before the clock starts */
	wait_for_metadata(rk, o->topic);
	start = now_us();
	for (i = 0; i < o->warmup + o->count; i++)
	{
		char		payload[512];
		char		key[32];
		int			len = format_event(payload, sizeof(payload), key, sizeof(key),
									   o->ip_offset + 1 + i % o->ips, o->first_hour + i / o->ips);
		int64_t		produced_at;

		if (o->rate > 0)
		{
			int64_t		due = start + (int64_t) (i * 1e6 / o->rate);

			while (now_us() < due)
				rd_kafka_poll(rk, 1);
		}
		produced_at = i < o->warmup ? 0 : now_us();
		if (produce_one(rk, o->topic, key, payload, (size_t) len, (void *) (intptr_t) produced_at) != 0)
			return 1;
	}
	rd_kafka_flush(rk, 60000);
	if (stream_report)
		fclose(stream_report);
	rd_kafka_destroy(rk);
	if (stream_failed)
		fprintf(stderr, "kafkatool: %ld deliveries failed\n", stream_failed);
	return stream_failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	StreamOptions o = {.ips = 100};
	int			i;

	if (argc < 2)
		goto usage;
	for (i = 2; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--bootstrap") == 0)
			o.bootstrap = argv[i + 1];
		else if (strcmp(argv[i], "--topic") == 0)
			o.topic = argv[i + 1];
		else if (strcmp(argv[i], "--ips") == 0)
			o.ips = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--ip-offset") == 0)
			o.ip_offset = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--count") == 0)
			o.count = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--warmup") == 0)
			o.warmup = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--rate") == 0)
			o.rate = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--first-hour") == 0)
			o.first_hour = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--linger") == 0)
			o.linger_ms = argv[i + 1];
		else if (strcmp(argv[i], "--report") == 0)
			o.report = argv[i + 1];
		else
			goto usage;
	}
	if (strcmp(argv[1], "partitions") == 0 && o.bootstrap && o.topic)
		return cmd_partitions(o.bootstrap, o.topic);
	if (strcmp(argv[1], "stream") == 0 && o.bootstrap && o.topic && o.ips > 0 && o.count > 0 &&
		o.warmup >= 0)
		return cmd_stream(&o);
usage:
	fprintf(stderr, "usage: kafkatool partitions --bootstrap HOST:PORT --topic TOPIC < keys\n"
			"       kafkatool stream --bootstrap HOST:PORT --topic TOPIC --ips N --count N\n"
			"                        [--rate EVENTS_PER_S] [--first-hour H] [--ip-offset K] [--linger MS]\n"
			"                        [--warmup W] [--report FILE]\n");
	return 2;
}
