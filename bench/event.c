/*
 * bench/event.c - events parsed per second by EventParse, on one core
 *
 * Generates the JSON of IPS synthetic IPs over HOURS hours (the traffic
 * generator's defaults, learned from data/logs.csv: what ipflow.send
 * publishes), then parses every message ROUNDS times and prints the CPU
 * time per event of each round.  Run from the repository root:
 *
 *   make bench-event && bench/bin/event [IPS [HOURS [ROUNDS]]]
 */
#include "postgres_fe.h"

#include "bench.h"
#include "event.h"
#include "generator.h"

int
main(int argc, char **argv)
{
	int			n_ips = argc > 1 ? atoi(argv[1]) : 1000;
	int			hours = argc > 2 ? atoi(argv[2]) : 24 * 7;
	int			rounds = argc > 3 ? atoi(argv[3]) : 5;
	const Profile *profiles[LOGS_MAX_IPS];
	Logs		logs;
	Generator  *gen;
	GeneratorItem item;
	char		error[GENERATOR_ERROR_MAX];
	char		json[GENERATOR_JSON_MAX];
	char	  **payloads = NULL;
	size_t	   *lengths = NULL;
	size_t		bytes = 0;
	long		n = 0,
				capacity = 0,
				i;
	int			r;

	if (!BenchLearnProfiles(&logs, profiles))
		return 1;
	gen = GeneratorInit(profiles, logs.nips, n_ips, INT64CONST(1641168000000000), hours, 1,
						NULL, error);
	if (gen == NULL)
	{
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	while (GeneratorNext(gen, &item))
	{
		if (!item.has_event)
			continue;
		if (n == capacity)
		{
			capacity = capacity ? 2 * capacity : 4096;
			payloads = pg_realloc(payloads, capacity * sizeof(char *));
			lengths = pg_realloc(lengths, capacity * sizeof(size_t));
		}
		lengths[n] = GeneratorFormatJson(&item, json);
		payloads[n] = pg_malloc(lengths[n]);
		memcpy(payloads[n], json, lengths[n]);
		bytes += lengths[n];
		n++;
	}
	GeneratorFree(gen);
	printf("%ld events of %d IPs x %d hours, %.0f bytes each on average\n",
		   n, n_ips, hours, (double) bytes / Max(n, 1));

	for (r = 1; r <= rounds; r++)
	{
		char		reason[EVENT_REASON_MAX];
		Event		ev;
		long		accepted = 0;
		uint64_t	checksum = 0;
		double		start = BenchCpuSeconds(),
					elapsed;

		for (i = 0; i < n; i++)
			if (EventParse(payloads[i], lengths[i], 1048576, &ev, reason))
			{
				accepted++;
				checksum = checksum * 31 + (uint64_t) ev.ts_us + ev.features[EVENT_NFEATURES - 1];
			}
		elapsed = BenchCpuSeconds() - start;
		printf("round %d: %.0f ns per event (%.0f events per CPU second), %ld of %ld accepted, checksum %llx\n",
			   r, elapsed / Max(n, 1) * 1e9, n / elapsed, accepted, n, (unsigned long long) checksum);
	}

	for (i = 0; i < n; i++)
		free(payloads[i]);
	free(payloads);
	free(lengths);
	BenchFreeProfiles(&logs, profiles);
	return 0;
}
