/*
 * ingest_ips.h - folding a batch's new events into ipflow.ips
 */
#ifndef IPFLOW_INGEST_IPS_H
#define IPFLOW_INGEST_IPS_H

#include "event.h"

extern void IngestFoldIps(const Event *events, const int *which, int n);

#endif
