/*
 * mirror.h - an ingest worker's copy of its events into Redis
 */
#ifndef IPFLOW_MIRROR_H
#define IPFLOW_MIRROR_H

#include "datatype/timestamp.h"

#include "event.h"
#include "shmem.h"

/* Starts (or restarts, after a reload) the mirror of an ingest worker. */
extern void MirrorStart(IngestWorkerStats *slot, const char *topic);
extern void MirrorStop(void);
extern void MirrorReload(void);

/*
 * The Redis socket to wait on (-1 for none), and whether to wait for it to
 * become writable.  *changed says the socket is not the one of last call.
 */
extern int	MirrorSocket(bool *want_write, bool *changed);

/* How long the worker may sleep before MirrorService needs to run again. */
extern long MirrorTimeoutMs(long idle_ms);

/*
 * Sends the newly stored events events[which[0..n-1]] of a committed batch
 * to Redis, without waiting for Redis.
 */
extern void MirrorBatch(const Event *events, const int *which, int n,
						TimestampTz committed_at);

/* The partitions this worker consumes now: new ones are caught up first. */
extern void MirrorAssigned(const int *partitions, int n);

/*
 * Writes, reads replies, reconnects and catches up, as far as that goes
 * without waiting.  Call between batches (outside any transaction).
 */
extern void MirrorService(void);

/* In a batch's transaction: records how far the mirror got. */
extern void MirrorSaveProgress(void);
extern void MirrorSaveProgressNow(void);

#endif
