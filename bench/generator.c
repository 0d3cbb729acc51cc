/*
 * bench/generator.c - events per second of the traffic generator, on one core
 *
 * Learns the three profiles of data/logs.csv, then generates and formats
 * every event of IPS synthetic IPs over HOURS hours (default options: 1 %
 * anomalies, volume scale and jitter) and prints the rate.  Run from the
 * repository root:
 *
 *   make bench-generator && bench/bin/generator [IPS [HOURS [SEED]]]
 */
#include "postgres_fe.h"

#include <time.h>

#include "generator.h"
#include "profile.h"
#include "../test/unit/logs_csv.h"

/* Seconds on a monotonic clock. */
static double
Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	int			n_ips = argc > 1 ? atoi(argv[1]) : 10000;
	int			hours = argc > 2 ? atoi(argv[2]) : 24 * 7 * 4;
	uint64_t	seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	const Profile *profiles[LOGS_MAX_IPS];
	Logs		logs;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX];
	char		json[GENERATOR_JSON_MAX];
	uint64_t	bytes = 0,
				checksum = 0;
	long		events = 0,
				items = 0;
	double		start,
				init,
				elapsed;
	int			i;

	if (!LogsLoad("data/logs.csv", &logs))
		return 1;
	for (i = 0; i < logs.nips; i++)
	{
		profiles[i] = ProfileLearn(logs.ips[i].rows, logs.ips[i].nrows, logs.ips[i].ip, error);
		if (profiles[i] == NULL)
		{
			fprintf(stderr, "%s\n", error);
			return 1;
		}
	}

	start = Now();
	gen = GeneratorInit(profiles, logs.nips, n_ips, INT64CONST(1641168000000000), hours, seed,
						NULL, error);
	if (gen == NULL)
	{
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	init = Now() - start;
	start = Now();
	while (GeneratorNext(gen, &item))
	{
		items++;
		if (!item.has_event)
			continue;
		bytes += GeneratorFormatJson(&item, json);
		checksum = checksum * 31 + (unsigned char) json[bytes % 64];
		events++;
	}
	elapsed = Now() - start;
	printf("%d IPs x %d hours: %ld events (%ld items) in %.3f s (+ %.3f s init): "
		   "%.0f events/s, %.0f MB/s of JSON, checksum %llx\n",
		   n_ips, hours, events, items, elapsed, init, events / elapsed,
		   bytes / elapsed / 1e6, (unsigned long long) checksum);

	GeneratorFree(gen);
	for (i = 0; i < logs.nips; i++)
		ProfileFree((Profile *) profiles[i]);
	LogsFree(&logs);
	return 0;
}
