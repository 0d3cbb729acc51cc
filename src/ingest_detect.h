/*
 * ingest_detect.h - the streaming anomaly detector of the ingest worker
 */
#ifndef IPFLOW_INGEST_DETECT_H
#define IPFLOW_INGEST_DETECT_H

#include "event.h"
#include "ingest_ips.h"

extern bytea *IngestDetect(bytea *stored, const Event *events, const int *which, int n,
						   Datum ip, int partition, IngestAggregates *alerts);
extern void IngestDetectStore(IngestAggregates *alerts, int from);
extern void IngestDetectReplayed(const Event *events, const int *which, int n,
								 IngestAggregates *alerts);
extern void IngestDetectForgetPlans(void);

#endif
