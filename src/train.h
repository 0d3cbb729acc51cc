/*
 * train.h - the work of one ipflow.train() call, shared with its workers
 *
 * The calling backend lists the series in a dynamic shared memory segment;
 * each worker claims the next one with an atomic counter, fits and stores
 * it in a transaction of its own, and marks it done.  Series still not done
 * when every worker has exited (a worker that could not start or died) are
 * fitted by the caller.
 */
#ifndef IPFLOW_TRAIN_H
#define IPFLOW_TRAIN_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/spin.h"
#include "utils/inet.h"

/* What a series' slot says. */
#define TRAIN_TODO 0
#define TRAIN_CLAIMED 1
#define TRAIN_DONE 2

#define TRAIN_MESSAGE_MAX 256

typedef struct TrainItem
{
	inet		src_ip;			/* a complete inet varlena */
	int			feature;
	pg_atomic_uint32 state;
} TrainItem;

typedef struct TrainShared
{
	Oid			database;
	Oid			authenticated_user;	/* workers connect as the caller's login */
	Oid			current_user;	/* and act as the caller's current role */
	int			sec_context;
	int			horizon;
	TimestampTz trained_at;
	int			nitems;
	bool		abandoned;		/* the caller is gone: stop */
	pg_atomic_uint32 next;		/* the next item to claim */
	pg_atomic_uint32 stored;
	pg_atomic_uint32 skipped;
	pg_atomic_uint32 failed;
	slock_t		mutex;			/* protects first_error */
	char		first_error[TRAIN_MESSAGE_MAX];
	Size		params_offset;	/* the settings' JSON text, NUL-terminated */
	TrainItem	items[FLEXIBLE_ARRAY_MEMBER];
} TrainShared;

#define TrainSharedParams(shared) ((char *) (shared) + (shared)->params_offset)

extern void TrainRecordOutcome(TrainShared *shared, int outcome, Datum src_ip, int feature,
							   const char *message);

#endif
