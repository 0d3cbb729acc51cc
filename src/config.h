/*
 * config.h - the original system's config.json, validated in plain C
 */
#ifndef IPFLOW_CONFIG_H
#define IPFLOW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ip.h"

#define CONFIG_MAX_PARTITIONS 100000
#define CONFIG_MAX_REPLICATION 32767

typedef struct ConfigTopic
{
	char	   *name;
	int			num_partitions;
	int			replication_factor;
} ConfigTopic;

typedef struct ConfigIpPartition
{
	IpAddr		ip;
	char		ip_text[IP_TEXT_MAX];	/* canonical form */
	int			partition;
} ConfigIpPartition;

typedef struct IpflowConfig
{
	ConfigTopic *topics;
	int			ntopics;
	char	   *last_processed_file;
	ConfigIpPartition *ip_partitions;
	int			nip_partitions;
	char	  **ignored_keys;	/* paths of unknown keys, for warnings */
	int			nignored_keys;
} IpflowConfig;

typedef struct ConfigError
{
	char		path[300];		/* offending key, e.g. topic_configs[1].name */
	char		message[300];
} ConfigError;

extern bool ConfigParse(const char *json, size_t len, const char *log_topic,
						int known_log_partitions, IpflowConfig *out,
						ConfigError *error);
extern void ConfigFree(IpflowConfig *config);

#endif
