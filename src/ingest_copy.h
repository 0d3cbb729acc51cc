/*
 * ingest_copy.h - storing a batch of events with Postgres' COPY machinery
 */
#ifndef IPFLOW_INGEST_COPY_H
#define IPFLOW_INGEST_COPY_H

#include "event.h"

typedef struct EventOrigin
{
	int32		partition;
	int64		offset;
} EventOrigin;

extern uint64 IngestCopyEvents(const Event *events, const EventOrigin *origins,
							   const int *which, int n);
extern int	IngestMarkExisting(const Event *events, const int *which, int n, bool *exists);

/* Unix epoch -> Postgres epoch, in microseconds. */
#define UNIX_TO_POSTGRES_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

#endif
