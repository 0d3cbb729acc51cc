/*
 * event_source.h - the event columns of a table or query named in SQL
 */
#ifndef IPFLOW_EVENT_SOURCE_H
#define IPFLOW_EVENT_SOURCE_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/timestamp.h"

#include "event.h"

/* Columns of an event source's rows: src_ip, ts, then the nine features. */
#define EVENT_SOURCE_COLUMNS (EVENT_NFEATURES + 2)

/* One row of an event source, read from an SPI tuple. */
typedef struct EventSourceRow
{
	bool		ip_null;
	Datum		ip;				/* inet */
	bool		ts_null;
	TimestampTz ts;
	int64		features[EVENT_NFEATURES];
	uint32		present;		/* bit per feature that is not NULL */
} EventSourceRow;

/*
 * SQL reading src_ip::inet, ts::timestamptz and the nine features::bigint
 * from source: a table or view name, or a query (SELECT, WITH, VALUES,
 * TABLE).  Checks that the columns exist; "order_by" (may be NULL) is
 * appended.  what names the caller in messages.  Needs SPI.
 */
extern char *EventSourceSql(const char *source, const char *order_by, const char *what);

extern void EventSourceRead(HeapTuple tuple, TupleDesc desc, EventSourceRow *row);

/* Microseconds since 1970 of a finite timestamp, and back. */
#define EVENT_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)
#define TimestampToUnixUs(ts) ((int64) (ts) + EVENT_UNIX_EPOCH_OFFSET_US)
#define UnixUsToTimestamp(us) ((TimestampTz) ((us) - EVENT_UNIX_EPOCH_OFFSET_US))

#endif
