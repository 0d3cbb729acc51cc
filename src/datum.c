/*
 * datum.c - Postgres Datums of the pure-C cores' values
 *
 * The ingest path builds inet values and arrays straight from parsed
 * events, without formatting and re-parsing text.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "utils/inet.h"
#include "utils/lsyscache.h"

#include "datum.h"

/* An inet Datum (a host address, full netmask) for an address. */
Datum
IpGetInetDatum(const IpAddr *ip)
{
	inet	   *addr = palloc0(sizeof(inet));

	ip_family(addr) = ip->family == 6 ? PGSQL_AF_INET6 : PGSQL_AF_INET;
	ip_bits(addr) = ip->family == 6 ? 128 : 32;
	memcpy(ip_addr(addr), ip->bytes, ip->family == 6 ? 16 : 4);
	SET_INET_VARSIZE(addr);
	return InetPGetDatum(addr);
}

/* The address of an inet Datum (its netmask ignored). */
void
InetDatumGetIp(Datum d, IpAddr *ip)
{
	inet	   *addr = DatumGetInetPP(d);

	memset(ip, 0, sizeof(*ip));
	ip->family = ip_family(addr) == PGSQL_AF_INET6 ? 6 : 4;
	memcpy(ip->bytes, ip_addr(addr), ip->family == 6 ? 16 : 4);
}

/* A one-dimensional array of n values of type (nulls may be NULL). */
ArrayType *
DatumArray(Datum *values, bool *nulls, int n, Oid type)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return construct_md_array(values, nulls, 1, dims, lbs, type, typlen, typbyval, typalign);
}
