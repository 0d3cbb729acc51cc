/*
 * datum.h - Postgres Datums of the pure-C cores' values
 */
#ifndef IPFLOW_DATUM_H
#define IPFLOW_DATUM_H

#include "postgres.h"

#include "ip.h"
#include "utils/array.h"

extern Datum IpGetInetDatum(const IpAddr *ip);
extern void InetDatumGetIp(Datum d, IpAddr *ip);
extern ArrayType *DatumArray(Datum *values, bool *nulls, int n, Oid type);

#endif
