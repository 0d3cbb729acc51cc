/*
 * kafkatool.c - the test suites' Kafka client, on librdkafka
 *
 *   kafkatool partitions --bootstrap B --topic T < keys
 *       Produces one message per input line, keyed by the line, with
 *       librdkafka's murmur2_random partitioner (Kafka's Java default), and
 *       prints "key<TAB>partition" as the broker acknowledged it.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static rd_kafka_t *
producer_new(const char *bootstrap)
{
	char		errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, sizeof(errstr)) ||
		rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof(errstr)))
	{
		fprintf(stderr, "kafkatool: %s\n", errstr);
		exit(1);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "kafkatool: %s\n", errstr);
		exit(1);
	}
	return rk;
}

static int
cmd_partitions(const char *bootstrap, const char *topic)
{
	rd_kafka_t *rk = producer_new(bootstrap);
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
	{
		rd_kafka_resp_err_t err;

		do
		{
			err = rd_kafka_producev(rk,
									RD_KAFKA_V_TOPIC(topic),
									RD_KAFKA_V_KEY(deliveries[i].key, strlen(deliveries[i].key)),
									RD_KAFKA_V_VALUE("x", 1),
									RD_KAFKA_V_OPAQUE(&deliveries[i]),
									RD_KAFKA_V_END);
			if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 100);
		} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (err)
		{
			fprintf(stderr, "kafkatool: produce: %s\n", rd_kafka_err2str(err));
			return 1;
		}
		rd_kafka_poll(rk, 0);
	}
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

int
main(int argc, char **argv)
{
	const char *bootstrap = NULL;
	const char *topic = NULL;
	int			i;

	if (argc < 2)
		goto usage;
	for (i = 2; i + 1 < argc; i += 2)
	{
		if (strcmp(argv[i], "--bootstrap") == 0)
			bootstrap = argv[i + 1];
		else if (strcmp(argv[i], "--topic") == 0)
			topic = argv[i + 1];
		else
			goto usage;
	}
	if (strcmp(argv[1], "partitions") == 0 && bootstrap && topic)
		return cmd_partitions(bootstrap, topic);
usage:
	fprintf(stderr, "usage: kafkatool partitions --bootstrap HOST:PORT --topic TOPIC < keys\n");
	return 2;
}
