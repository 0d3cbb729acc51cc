/*
 * ingest.h - ingest workers: LogTopic -> ipflow.events, exactly once
 */
#ifndef IPFLOW_INGEST_H
#define IPFLOW_INGEST_H

#include "postgres.h"

extern PGDLLEXPORT void IpflowIngestMain(Datum arg);

#endif
