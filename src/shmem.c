/*
 * shmem.c - state the ipflow processes share
 *
 * One small struct in shared memory, guarded by a spinlock: the embedded
 * broker's address, the queue of topics it is asked to create, each
 * ingest worker's counters for ipflow.stats, and the sender worker's status
 * for ipflow.sender.  Counters are written by their own worker only;
 * readers copy a slot under the lock.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "shmem.h"

IpflowSharedState *IpflowShared = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
IpflowShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(IpflowSharedState)));
}
#endif

static void
IpflowShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	IpflowShared = ShmemInitStruct("ipflow", sizeof(IpflowSharedState), &found);
	if (!found)
	{
		memset(IpflowShared, 0, sizeof(IpflowSharedState));
		SpinLockInit(&IpflowShared->mutex);
		ConditionVariableInit(&IpflowShared->topics_cv);
		/* at server start the sender worker looks once for a stream to resume */
		IpflowShared->sender.requests = 1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init while preloading. */
void
IpflowShmemInit(void)
{
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = IpflowShmemRequest;
#else
	RequestAddinShmemSpace(MAXALIGN(sizeof(IpflowSharedState)));
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = IpflowShmemStartup;
}

void
IpflowSetLauncherState(const char *state)
{
	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(IpflowShared->launcher_state, state, IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
}

/* The stats slot of ingest worker number index. */
IngestWorkerStats *
IpflowWorkerSlot(int index)
{
	Assert(index >= 0 && index < IPFLOW_MAX_INGEST_WORKERS);
	return &IpflowShared->workers[index];
}

void
IpflowWorkerSetState(IngestWorkerStats *slot, const char *state)
{
	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(slot->state, state, IPFLOW_STATE_MAX);
	SpinLockRelease(&IpflowShared->mutex);
}

void
IpflowWorkerSetError(IngestWorkerStats *slot, const char *error)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(slot->last_error, error, IPFLOW_ERROR_MAX);
	slot->last_error_at = now;
	SpinLockRelease(&IpflowShared->mutex);
}

/* Copies the embedded broker's bootstrap list; false while it is not up. */
bool
IpflowEmbeddedBootstrap(char *out, size_t outlen)
{
	SpinLockAcquire(&IpflowShared->mutex);
	strlcpy(out, IpflowShared->embedded_bootstrap, outlen);
	SpinLockRelease(&IpflowShared->mutex);
	return out[0] != '\0';
}
