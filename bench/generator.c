/*
 * bench/generator.c - events per second of the traffic generator, on one core
 *
 * Learns the three profiles of data/logs.csv, then generates every event of
 * IPS synthetic IPs over HOURS hours (default options: 1 % anomalies, volume
 * scale and jitter), first without and then with the JSON payloads, and
 * prints the rates.  Run from the repository root:
 *
 *   make bench-generator && bench/bin/generator [IPS [HOURS [SEED]]]
 */
#include "postgres_fe.h"

#include "bench.h"
#include "generator.h"

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
	int			pass;

	if (!BenchLearnProfiles(&logs, profiles))
		return 1;

	/* generation alone, then generation and JSON, each on a fresh generator */
	for (pass = 0; pass < 2; pass++)
	{
		bool		format = pass == 1;

		events = items = 0;
		bytes = checksum = 0;
		start = BenchCpuSeconds();
		gen = GeneratorInit(profiles, logs.nips, n_ips, INT64CONST(1641168000000000), hours, seed,
							NULL, error);
		if (gen == NULL)
		{
			fprintf(stderr, "%s\n", error);
			return 1;
		}
		init = BenchCpuSeconds() - start;
		start = BenchCpuSeconds();
		while (GeneratorNext(gen, &item))
		{
			items++;
			if (!item.has_event)
				continue;
			events++;
			if (format)
			{
				size_t		len = GeneratorFormatJson(&item, json);

				bytes += len;
				checksum = checksum * 31 + (unsigned char) json[len / 2];
			}
			else
				checksum = checksum * 31 + (uint64_t) item.features[PROFILE_BYTESOUT];
		}
		elapsed = BenchCpuSeconds() - start;
		printf("%-22s %d IPs x %d hours: %ld events (%ld items) in %.3f CPU s (+ %.3f s init): "
			   "%.0f events per CPU second", format ? "generation + JSON:" : "generation only:",
			   n_ips, hours, events, items, elapsed, init, events / elapsed);
		if (format)
			printf(", %.0f MB/s of JSON", bytes / elapsed / 1e6);
		printf(", checksum %llx\n", (unsigned long long) checksum);
		GeneratorFree(gen);
	}

	BenchFreeProfiles(&logs, profiles);
	return 0;
}
