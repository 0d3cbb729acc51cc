/*
 * partition_sql.c - ipflow.partition_for(inet, int): the partition of an IP
 *
 * An explicit entry in ipflow.ip_partitions wins; otherwise the partition is
 * the one Kafka's default partitioner picks for the key "<canonical ip>", so
 * producers that key by IP and ipflow agree.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inet.h"

#include "guc.h"
#include "ip.h"
#include "ipflow.h"
#include "murmur2.h"

/* Runs a one-value query; returns false when it finds no row. */
static bool
LookupInt(const char *sql, Oid argtype, Datum arg, int *result)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "ipflow.partition_for: lookup failed: %s", sql);
	if (SPI_processed == 0)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*result = DatumGetInt32(d);
	return !isnull;
}

PG_FUNCTION_INFO_V1(ipflow_partition_for);

Datum
ipflow_partition_for(PG_FUNCTION_ARGS)
{
	inet	   *ip;
	IpAddr		addr;
	char		text[IP_TEXT_MAX];
	int			num_partitions;
	int			mapped;
	bool		has_mapping;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("src_ip must not be NULL")));
	ip = PG_GETARG_INET_PP(0);
	if (ip_bits(ip) != ip_maxbits(ip))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("src_ip %s is a network, not a host address",
						DatumGetCString(DirectFunctionCall1(inet_out, InetPGetDatum(ip)))),
				 errhint("Pass a single address, for example host(src_ip)::inet.")));

	memset(&addr, 0, sizeof(addr));
	addr.family = ip_family(ip) == PGSQL_AF_INET ? 4 : 6;
	memcpy(addr.bytes, ip_addr(ip), addr.family == 4 ? 4 : 16);
	IpFormat(&addr, text);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (!PG_ARGISNULL(1))
		num_partitions = PG_GETARG_INT32(1);
	else if (!LookupInt("SELECT num_partitions FROM ipflow.topics WHERE name = $1",
						TEXTOID, CStringGetTextDatum(IpflowLogTopic), &num_partitions))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the number of partitions of topic \"%s\" is not known", IpflowLogTopic),
				 errhint("Load the topics with ipflow.load_config(), or pass num_partitions.")));
	if (num_partitions < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("num_partitions must be at least 1, not %d", num_partitions)));

	has_mapping = LookupInt("SELECT partition FROM ipflow.ip_partitions WHERE src_ip = $1",
							INETOID, InetPGetDatum(ip), &mapped);
	SPI_finish();

	if (has_mapping)
	{
		if (mapped >= num_partitions)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is mapped to partition %d, outside the %d partitions asked for",
							text, mapped, num_partitions),
					 errhint("Fix the entry in ipflow.ip_partitions or the topic's partition count.")));
		PG_RETURN_INT32(mapped);
	}
	PG_RETURN_INT32(Murmur2Partition(text, strlen(text), num_partitions));
}
