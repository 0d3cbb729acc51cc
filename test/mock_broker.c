/*
 * mock_broker.c - a Kafka-protocol test broker for the test harness
 *
 * Runs librdkafka's mock cluster (real Kafka wire protocol over TCP, in
 * memory), creates the topics named on the command line, writes the
 * bootstrap address to a file and serves until SIGTERM or SIGINT.
 *
 *   mock_broker --bootstrap-file PATH [--brokers N] [--control FIFO]
 *               [--topic NAME:PARTITIONS]...
 *
 * With --control, fault-injection commands are read from FIFO, one a line:
 *   down ID|all        take broker ID (1..N) or all brokers down
 *   up ID|all          bring them back
 *   errors API N ERR   fail the next N requests of Kafka API key API with
 *                      error code ERR (e.g. "errors 1 5 6": 5 Fetches fail
 *                      with NOT_LEADER_OR_FOLLOWER)
 *   leader TOPIC P ID  make broker ID the leader of partition P of TOPIC
 *   coordinator G ID   make broker ID the coordinator of consumer group G
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
usage(void)
{
	fprintf(stderr, "usage: mock_broker --bootstrap-file PATH [--brokers N] [--control FIFO] [--topic NAME:PARTITIONS]...\n");
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

/* Applies one control command to the cluster. */
static void
control(rd_kafka_mock_cluster_t *cluster, int brokers, char *line)
{
	char		what[16] = "",
				who[16] = "";
	int			api,
				count,
				err,
				id;

	char		name[256];
	int			partition;

	if (sscanf(line, "leader %255s %d %d", name, &partition, &id) == 3)
	{
		rd_kafka_mock_partition_set_leader(cluster, name, partition, id);
		fprintf(stderr, "mock_broker: leader of %s [%d] is broker %d\n", name, partition, id);
		return;
	}
	if (sscanf(line, "coordinator %255s %d", name, &id) == 2)
	{
		rd_kafka_mock_coordinator_set(cluster, "group", name, id);
		fprintf(stderr, "mock_broker: coordinator of group %s is broker %d\n", name, id);
		return;
	}
	if (sscanf(line, "errors %d %d %d", &api, &count, &err) == 3)
	{
		for (id = 0; id < count; id++)
			rd_kafka_mock_push_request_errors(cluster, api, 1, (rd_kafka_resp_err_t) err);
		fprintf(stderr, "mock_broker: next %d requests of API %d fail with %d\n", count, api, err);
		return;
	}
	if (sscanf(line, "%15s %15s", what, who) != 2 || (strcmp(what, "down") != 0 && strcmp(what, "up") != 0))
	{
		fprintf(stderr, "mock_broker: unknown command: %s\n", line);
		return;
	}
	for (id = 1; id <= brokers; id++)
	{
		if (strcmp(who, "all") != 0 && atoi(who) != id)
			continue;
		if (strcmp(what, "down") == 0)
			rd_kafka_mock_broker_set_down(cluster, id);
		else
			rd_kafka_mock_broker_set_up(cluster, id);
	}
	fprintf(stderr, "mock_broker: %s %s\n", what, who);
}

int
main(int argc, char **argv)
{
	const char *bootstrap_file = NULL;
	const char *control_path = NULL;
	int			brokers = 3;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *cluster;
	sigset_t	signals;
	int			sig = 0;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc)
			bootstrap_file = argv[++i];
		else if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
			brokers = atoi(argv[++i]);
		else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			control_path = argv[++i];
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
			if (strcmp(argv[i], "--bootstrap-file") == 0 || strcmp(argv[i], "--brokers") == 0 ||
				strcmp(argv[i], "--control") == 0)
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

	if (control_path == NULL)
		sigwait(&signals, &sig);
	else
	{
		/* serve commands from the FIFO until a stop signal arrives */
		struct pollfd fds[2];
		char		buf[4096];
		size_t		have = 0;

		unlink(control_path);
		if (mkfifo(control_path, 0600) != 0)
		{
			perror("mock_broker: mkfifo");
			return 1;
		}
		/* read-write, so the FIFO never reports end-of-file between writers */
		fds[0].fd = open(control_path, O_RDWR | O_NONBLOCK);
		fds[0].events = POLLIN;
		fds[1].fd = signalfd(-1, &signals, 0);
		fds[1].events = POLLIN;
		for (;;)
		{
			ssize_t		got;
			char	   *nl;

			if (poll(fds, 2, -1) < 0)
				continue;
			if (fds[1].revents & POLLIN)
				break;
			got = read(fds[0].fd, buf + have, sizeof(buf) - 1 - have);
			if (got <= 0)
				continue;
			have += (size_t) got;
			buf[have] = '\0';
			while ((nl = strchr(buf, '\n')) != NULL)
			{
				*nl = '\0';
				control(cluster, brokers, buf);
				have -= (size_t) (nl + 1 - buf);
				memmove(buf, nl + 1, have + 1);
			}
			if (have == sizeof(buf) - 1)
				have = 0;		/* an over-long line: drop it */
		}
		unlink(control_path);
	}
	unlink(bootstrap_file);
	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(rk);
	return 0;
}
