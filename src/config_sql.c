/*
 * config_sql.c - ipflow.load_config(jsonb): import the original config.json
 *
 * The document is validated completely (config.c) before anything is
 * written; the writes share the caller's transaction, so a failure at any
 * point changes nothing.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "config.h"
#include "guc.h"
#include "ipflow.h"

/* Partition count of a topic in ipflow.topics, or -1 if it is not there. */
static int
StoredTopicPartitions(const char *topic)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(topic)};
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args("SELECT num_partitions FROM ipflow.topics WHERE name = $1",
							  1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.topics");
	if (SPI_processed == 0)
		return -1;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt32(d);
}

static void
Exec(const char *sql, int nargs, Oid *argtypes, Datum *values, int expected)
{
	if (SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0) != expected)
		elog(ERROR, "ipflow.load_config: SPI failed on: %s", sql);
}

static void
EmitRow(ReturnSetInfo *rsinfo, const char *kind, const char *name, const char *json)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(name);
	values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

static void
StoreConfig(const IpflowConfig *config)
{
	int			i;

	for (i = 0; i < config->ntopics; i++)
	{
		Oid			types[3] = {TEXTOID, INT4OID, INT4OID};
		Datum		values[3];

		values[0] = CStringGetTextDatum(config->topics[i].name);
		values[1] = Int32GetDatum(config->topics[i].num_partitions);
		values[2] = Int32GetDatum(config->topics[i].replication_factor);
		Exec("INSERT INTO ipflow.topics (name, num_partitions, replication_factor) "
			 "VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE "
			 "SET num_partitions = EXCLUDED.num_partitions, "
			 "replication_factor = EXCLUDED.replication_factor, updated_at = now()",
			 3, types, values, SPI_OK_INSERT);
	}

	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(config->last_processed_file)};

		Exec("INSERT INTO ipflow.sender_cursor (last_processed_file) VALUES ($1) "
			 "ON CONFLICT (singleton) DO UPDATE "
			 "SET last_processed_file = EXCLUDED.last_processed_file, updated_at = now()",
			 1, types, values, SPI_OK_INSERT);
	}

	for (i = 0; i < config->nip_partitions; i++)
	{
		Oid			types[2] = {TEXTOID, INT4OID};
		Datum		values[2];

		values[0] = CStringGetTextDatum(config->ip_partitions[i].ip_text);
		values[1] = Int32GetDatum(config->ip_partitions[i].partition);
		Exec("INSERT INTO ipflow.ip_partitions (src_ip, partition) VALUES ($1::inet, $2) "
			 "ON CONFLICT (src_ip) DO UPDATE SET partition = EXCLUDED.partition, updated_at = now()",
			 2, types, values, SPI_OK_INSERT);
	}
}

/* Earlier mappings must still fit if the log topic got fewer partitions. */
static void
CheckStoredMappings(void)
{
	int			partitions = StoredTopicPartitions(IpflowLogTopic);
	Oid			types[1] = {INT4OID};
	Datum		values[1];

	if (partitions < 0)
		return;
	values[0] = Int32GetDatum(partitions);
	if (SPI_execute_with_args("SELECT host(src_ip), partition FROM ipflow.ip_partitions "
							  "WHERE partition >= $1 ORDER BY src_ip LIMIT 1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.ip_partitions");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid config: topic \"%s\" would have %d partitions, but %s is mapped to partition %s",
						IpflowLogTopic, partitions,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Map that address in source_partition_map too, or keep the partition count.")));
}

PG_FUNCTION_INFO_V1(ipflow_load_config);

/* SQL: imports config.json; returns one row per item loaded. */
Datum
ipflow_load_config(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *jb;
	char	   *text;
	IpflowConfig config;
	ConfigError error;
	int			known_partitions;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("config must not be NULL"),
				 errhint("Pass the contents of config.json, for example pg_read_file('/path/config.json')::jsonb.")));

	IpflowMaterializeResult(fcinfo);
	jb = PG_GETARG_JSONB_P(0);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

	/* the config is parsed outside SPI, whose memory SPI_finish releases */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	known_partitions = StoredTopicPartitions(IpflowLogTopic);
	SPI_finish();

	if (!ConfigParse(text, strlen(text), IpflowLogTopic, known_partitions, &config, &error))
	{
		if (error.path[0] != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid config at \"%s\": %s", error.path, error.message),
					 errdetail("Nothing was loaded.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid config: %s", error.message),
				 errdetail("Nothing was loaded.")));
	}
	for (i = 0; i < config.nignored_keys; i++)
		ereport(WARNING,
				(errmsg("config key \"%s\" is not used by ipflow and was ignored",
						config.ignored_keys[i])));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	StoreConfig(&config);
	CheckStoredMappings();
	SPI_finish();

	for (i = 0; i < config.ntopics; i++)
	{
		char	   *json = psprintf("{\"num_partitions\": %d, \"replication_factor\": %d}",
									config.topics[i].num_partitions,
									config.topics[i].replication_factor);

		EmitRow(rsinfo, "topic", config.topics[i].name, json);
	}
	EmitRow(rsinfo, "sender_cursor", "last_processed_file",
			psprintf("\"%s\"", config.last_processed_file));
	for (i = 0; i < config.nip_partitions; i++)
		EmitRow(rsinfo, "ip_partition", config.ip_partitions[i].ip_text,
				psprintf("%d", config.ip_partitions[i].partition));

	ConfigFree(&config);
	return (Datum) 0;
}
