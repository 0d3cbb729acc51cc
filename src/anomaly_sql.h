/*
 * anomaly_sql.h - the anomaly detector's Postgres glue shared by the SQL
 * functions and the ingest worker
 */
#ifndef IPFLOW_ANOMALY_SQL_H
#define IPFLOW_ANOMALY_SQL_H

#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "anomaly.h"

extern void AnomalyParamsFromJsonb(Jsonb *jb, AnomalyParams *params);
extern double AnomalySeconds(TimestampTz ts);

#endif
