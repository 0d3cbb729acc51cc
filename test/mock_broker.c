/*
 * mock_broker.c - a Kafka-protocol test broker for the test harness
 *
 * Runs librdkafka's mock cluster (real Kafka wire protocol over TCP, in
 * memory), creates the topics named on the command line, writes the
 * bootstrap address to a file and serves until SIGTERM or SIGINT.
 *
 *   mock_broker --bootstrap-file PATH [--brokers N] [--topic NAME:PARTITIONS]...
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
usage(void)
{
	fprintf(stderr, "usage: mock_broker --bootstrap-file PATH [--brokers N] [--topic NAME:PARTITIONS]...\n");
	exit(2);
}

/* Writes the file under a temporary name first so readers never see half. */
static int
write_bootstrap(const char *path, const char *bootstraps)
{
	char		tmp[4096];
	FILE	   *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%s\n", bootstraps);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

int
main(int argc, char **argv)
{
	const char *bootstrap_file = NULL;
	int			brokers = 3;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *cluster;
	sigset_t	signals;
	int			sig;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc)
			bootstrap_file = argv[++i];
		else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
			brokers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--topic") != 0 || i + 1 >= argc)
			usage();
		else
			i++;
	}
	if (bootstrap_file == NULL || brokers < 1)
		usage();

	/* Block the stop signals before librdkafka starts its threads. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);

	conf = rd_kafka_conf_new();
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "mock_broker: %s\n", errstr);
		return 1;
	}
	cluster = rd_kafka_mock_cluster_new(rk, brokers);
	if (cluster == NULL)
	{
		fprintf(stderr, "mock_broker: could not start the mock cluster\n");
		return 1;
	}

	for (i = 1; i < argc; i++)
	{
		char		name[256];
		char	   *colon;
		int			partitions;
		rd_kafka_resp_err_t err;

		if (strcmp(argv[i], "--topic") != 0)
		{
			if (strcmp(argv[i], "--bootstrap-file") == 0 || strcmp(argv[i], "--brokers") == 0)
				i++;
			continue;
		}
		snprintf(name, sizeof(name), "%s", argv[++i]);
		colon = strrchr(name, ':');
		if (colon == NULL || (partitions = atoi(colon + 1)) < 1)
			usage();
		*colon = '\0';
		err = rd_kafka_mock_topic_create(cluster, name, partitions, brokers < 3 ? brokers : 3);
		if (err)
		{
			fprintf(stderr, "mock_broker: topic %s: %s\n", name, rd_kafka_err2str(err));
			return 1;
		}
	}

	if (write_bootstrap(bootstrap_file, rd_kafka_mock_cluster_bootstraps(cluster)) != 0)
	{
		perror("mock_broker: writing the bootstrap file");
		return 1;
	}
	fprintf(stderr, "mock_broker: serving %d brokers at %s\n", brokers,
			rd_kafka_mock_cluster_bootstraps(cluster));

	sigwait(&signals, &sig);
	unlink(bootstrap_file);
	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(rk);
	return 0;
}
