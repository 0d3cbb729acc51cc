/*
 * fuzz_config.c - libFuzzer target for ConfigParse, ipflow.load_config's validator
 *
 * Every input must be accepted or refused with a path and a message,
 * without a crash, leak or undefined behaviour; an accepted config must
 * keep the limits the SQL side relies on, or the target aborts.
 */
#include "postgres_fe.h"

#include <stdlib.h>

#include "config.h"
#include "settings.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts when a refusal does not say what is wrong. */
static void
CheckError(const ConfigError *error)
{
	if (memchr(error->message, '\0', sizeof(error->message)) == NULL ||
		memchr(error->path, '\0', sizeof(error->path)) == NULL ||
		error->message[0] == '\0')
		abort();
}

/* Aborts when an accepted config breaks a limit. */
static void
CheckConfig(const IpflowConfig *config)
{
	int			i;

	for (i = 0; i < config->ntopics; i++)
	{
		const char *why;

		if (!KafkaTopicNameValid(config->topics[i].name, &why) ||
			config->topics[i].num_partitions < 1 ||
			config->topics[i].num_partitions > CONFIG_MAX_PARTITIONS ||
			config->topics[i].replication_factor < 1 ||
			config->topics[i].replication_factor > CONFIG_MAX_REPLICATION)
			abort();
	}
	for (i = 0; i < config->nip_partitions; i++)
	{
		IpAddr		again;

		if (config->ip_partitions[i].partition < 0 ||
			!IpParse(config->ip_partitions[i].ip_text, strlen(config->ip_partitions[i].ip_text), &again) ||
			memcmp(&again, &config->ip_partitions[i].ip, sizeof(IpAddr)) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	IpflowConfig config;
	ConfigError error;

	memset(&config, 0, sizeof(config));
	memset(&error, 0, sizeof(error));
	if (ConfigParse((const char *) data, size, "LogTopic", 3, &config, &error))
	{
		CheckConfig(&config);
		ConfigFree(&config);
	}
	else
		CheckError(&error);
	return 0;
}
