/*
 * ingest_copy.c - storing a batch of events with Postgres' COPY machinery
 *
 * COPY FROM is the fastest way into a table, so a batch is written as COPY
 * binary data and handed to CopyFrom through a read callback, exactly as a
 * client's COPY would arrive.  COPY has no ON CONFLICT: the caller copies
 * optimistically and, when a replayed event hits the primary key, rolls
 * back and copies again without the rows IngestMarkExisting finds.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "datum.h"
#include "ingest_copy.h"

#define COPY_NCOLUMNS 14

/*
 * ingested_at is given, not left to its default: a volatile default
 * (clock_timestamp()) makes CopyFrom insert row by row instead of a page
 * at a time.  One reading of the clock serves the whole COPY, which writes
 * its rows within moments of it.
 */
static const char *const copy_columns[COPY_NCOLUMNS] = {
	"src_ip", "ts", "unq_dst_ip", "allow", "drop", "frequency", "pkts_sent", "pkts_received",
	"bytesin", "bytesout", "unq_dst_port", "kafka_partition", "kafka_offset", "ingested_at"
};

/* CopyFrom's read callback takes no argument: the data it reads. */
static StringInfo copy_data = NULL;

static int
IngestCopyRead(void *outbuf, int minread, int maxread)
{
	int			n = Min(maxread, copy_data->len - copy_data->cursor);

	memcpy(outbuf, copy_data->data + copy_data->cursor, n);
	copy_data->cursor += n;
	return n;
}

static inline void
PutInt16(StringInfo buf, int16 v)
{
	uint16		n = pg_hton16((uint16) v);

	appendBinaryStringInfoNT(buf, (char *) &n, 2);
}

static inline void
PutInt32(StringInfo buf, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfoNT(buf, (char *) &n, 4);
}

static inline void
PutInt64Field(StringInfo buf, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	PutInt32(buf, 8);
	appendBinaryStringInfoNT(buf, (char *) &n, 8);
}

/* An inet in its binary send format: family, bits, is_cidr, length, bytes. */
static void
PutInetField(StringInfo buf, const IpAddr *ip)
{
	int			nb = ip->family == 6 ? 16 : 4;

	PutInt32(buf, 4 + nb);
	appendStringInfoCharMacro(buf, ip->family == 6 ? PGSQL_AF_INET6 : PGSQL_AF_INET);
	appendStringInfoCharMacro(buf, (char) (nb * 8));
	appendStringInfoCharMacro(buf, 0);
	appendStringInfoCharMacro(buf, (char) nb);
	appendBinaryStringInfoNT(buf, (const char *) ip->bytes, nb);
}

/*
 * Appends events[which[0..n-1]] to ipflow.events in one COPY.  Returns the
 * rows copied; a duplicate key raises unique_violation like any insert.
 */
uint64
IngestCopyEvents(const Event *events, const EventOrigin *origins, const int *which, int n)
{
	static const char signature[11] = "PGCOPY\n\377\r\n";
	StringInfoData data;
	List	   *columns = NIL;
	List	   *options;
	Relation	rel;
	ParseState *pstate;
	CopyFromState cstate;
	uint64		copied;
	TimestampTz ingested_at = GetCurrentTimestamp();
	int			i,
				f;

	if (n == 0)
		return 0;

	initStringInfo(&data);
	enlargeStringInfo(&data, 19 + n * 172);
	appendBinaryStringInfo(&data, signature, sizeof(signature));
	PutInt32(&data, 0);			/* flags */
	PutInt32(&data, 0);			/* header extension length */
	for (i = 0; i < n; i++)
	{
		const Event *ev = &events[which[i]];

		PutInt16(&data, COPY_NCOLUMNS);
		PutInetField(&data, &ev->src_ip);
		PutInt64Field(&data, ev->ts_us - UNIX_TO_POSTGRES_US);
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			if (ev->present & (1U << f))
				PutInt64Field(&data, ev->features[f]);
			else
				PutInt32(&data, -1);
		}
		PutInt32(&data, 4);
		PutInt32(&data, origins[which[i]].partition);
		PutInt64Field(&data, origins[which[i]].offset);
		PutInt64Field(&data, ingested_at);
	}
	PutInt16(&data, -1);

	for (i = 0; i < COPY_NCOLUMNS; i++)
		columns = lappend(columns, makeString(pstrdup(copy_columns[i])));
	options = list_make1(makeDefElem("format", (Node *) makeString("binary"), -1));

	rel = table_open(get_relname_relid("events", get_namespace_oid("ipflow", false)),
					 RowExclusiveLock);
	pstate = make_parsestate(NULL);
	(void) addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);

	copy_data = &data;
	cstate = BeginCopyFromCallback(pstate, rel, IngestCopyRead, columns, options);
	copied = CopyFrom(cstate);
	EndCopyFrom(cstate);
	copy_data = NULL;

	free_parsestate(pstate);
	table_close(rel, NoLock);
	pfree(data.data);
	return copied;
}

/*
 * Marks exists[i] for each events[which[i]] already in ipflow.events and
 * returns how many.  Used only after a COPY met a duplicate (a replay).
 */
int
IngestMarkExisting(const Event *events, const int *which, int n, bool *exists)
{
	Oid			types[2] = {INETARRAYOID, TIMESTAMPTZARRAYOID};
	Datum		args[2];
	Datum	   *ips = palloc(n * sizeof(Datum));
	Datum	   *tss = palloc(n * sizeof(Datum));
	int			found = 0;
	int			i;
	uint64		r;

	for (i = 0; i < n; i++)
	{
		const Event *ev = &events[which[i]];

		ips[i] = IpGetInetDatum(&ev->src_ip);
		tss[i] = TimestampTzGetDatum(ev->ts_us - UNIX_TO_POSTGRES_US);
		exists[i] = false;
	}
	args[0] = PointerGetDatum(DatumArray(ips, NULL, n, INETOID));
	args[1] = PointerGetDatum(DatumArray(tss, NULL, n, TIMESTAMPTZOID));

	if (SPI_execute_with_args("SELECT u.o FROM unnest($1, $2) WITH ORDINALITY AS u(ip, ts, o)"
							  " WHERE EXISTS (SELECT 1 FROM ipflow.events e"
							  "                WHERE e.src_ip = u.ip AND e.ts = u.ts)",
							  2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ipflow: could not look up stored events");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		o = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		exists[o - 1] = true;
		found++;
	}
	return found;
}
