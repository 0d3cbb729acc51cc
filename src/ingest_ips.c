/*
 * ingest_ips.c - folding a batch's new events into ipflow.ips
 *
 * One row per source IP holds its event count and, per feature, the running
 * count, mean, squared deviations, min, max and first/last time (arrays in
 * the order of EventFeatureNames; ipflow.ip_stats shows them as rows).  A
 * batch computes its own statistics per IP in C, then merges them into the
 * stored ones under a row lock: one small update per IP per batch, however
 * many events it brought.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "ingest_copy.h"
#include "ingest_ips.h"
#include "stats.h"

typedef struct IpFold
{
	IpAddr		ip;				/* hash key */
	int			index;			/* position in the statement's arrays */
	RunningStats events;		/* count and first/last ts of all events */
	RunningStats features[EVENT_NFEATURES];
} IpFold;

/* Elements of a stored 9-element array column, or false if malformed. */
static bool
StoredArray(HeapTuple tuple, TupleDesc desc, int column, Oid type, Datum **values, bool **nulls)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, column, &isnull);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (isnull)
		return false;
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	deconstruct_array(DatumGetArrayTypeP(d), type, typlen, typbyval, typalign, values, nulls, &n);
	return n == EVENT_NFEATURES;
}

/* Merges the stored aggregates of the locked rows into the batch's. */
static void
MergeStored(HTAB *folds)
{
	uint64		r;

	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum	   *count,
				   *mean,
				   *m2,
				   *min,
				   *max,
				   *first,
				   *last;
		bool	   *nc,
				   *nm,
				   *nm2,
				   *nmin,
				   *nmax,
				   *nfirst,
				   *nlast;
		bool		isnull;
		IpAddr		ip;
		IpFold	   *fold;
		RunningStats stored;
		int			f;

		InetDatumGetIp(SPI_getbinval(tuple, desc, 1, &isnull), &ip);
		fold = hash_search(folds, &ip, HASH_FIND, NULL);
		if (fold == NULL)
			continue;

		memset(&stored, 0, sizeof(stored));
		stored.count = DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull));
		stored.first_ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 3, &isnull));
		stored.last_ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 4, &isnull));
		StatsMerge(&fold->events, &stored);

		if (!StoredArray(tuple, desc, 5, INT8OID, &count, &nc) ||
			!StoredArray(tuple, desc, 6, FLOAT8OID, &mean, &nm) ||
			!StoredArray(tuple, desc, 7, FLOAT8OID, &m2, &nm2) ||
			!StoredArray(tuple, desc, 8, INT8OID, &min, &nmin) ||
			!StoredArray(tuple, desc, 9, INT8OID, &max, &nmax) ||
			!StoredArray(tuple, desc, 10, TIMESTAMPTZOID, &first, &nfirst) ||
			!StoredArray(tuple, desc, 11, TIMESTAMPTZOID, &last, &nlast))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ipflow.ips row of %s has malformed feature arrays",
							SPI_getvalue(tuple, desc, 1))));
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			if (nc[f] || DatumGetInt64(count[f]) == 0)
				continue;
			stored.count = DatumGetInt64(count[f]);
			stored.mean = DatumGetFloat8(mean[f]);
			stored.m2 = DatumGetFloat8(m2[f]);
			stored.min = DatumGetInt64(min[f]);
			stored.max = DatumGetInt64(max[f]);
			stored.first_ts = DatumGetTimestampTz(first[f]);
			stored.last_ts = DatumGetTimestampTz(last[f]);
			StatsMerge(&fold->features[f], &stored);
		}
	}
}

/*
 * Adds events[which[0..n-1]], all newly inserted, to the aggregates of
 * their IPs.  New IPs get an empty row first, so that every row can be
 * locked before it is read: concurrent workers then merge one after the
 * other instead of overwriting each other.
 */
void
IngestFoldIps(const Event *events, const int *which, int n)
{
	HASHCTL		ctl;
	HTAB	   *folds;
	HASH_SEQ_STATUS scan;
	IpFold	   *fold;
	int			nips = 0;
	int			i,
				f;
	Datum	   *ips,
			   *ev_count,
			   *ev_first,
			   *ev_last;
	Datum	   *count,
			   *mean,
			   *m2,
			   *min,
			   *max,
			   *first,
			   *last;
	bool	   *missing;
	Datum		args[11];
	Oid			types[11] = {
		INETARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
		INT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID
	};

	if (n == 0)
		return;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(IpAddr);
	ctl.entrysize = sizeof(IpFold);
	ctl.hcxt = CurrentMemoryContext;
	folds = hash_create("ipflow ip folds", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < n; i++)
	{
		const Event *ev = &events[which[i]];
		int64		ts = ev->ts_us - UNIX_TO_POSTGRES_US;
		bool		found;

		fold = hash_search(folds, &ev->src_ip, HASH_ENTER, &found);
		if (!found)
		{
			memset((char *) fold + sizeof(IpAddr), 0, sizeof(IpFold) - sizeof(IpAddr));
			fold->index = nips++;
		}
		StatsAdd(&fold->events, 0, ts);
		for (f = 0; f < EVENT_NFEATURES; f++)
			if (ev->present & (1U << f))
				StatsAdd(&fold->features[f], ev->features[f], ts);
	}

	ips = palloc(nips * sizeof(Datum));
	ev_count = palloc(nips * sizeof(Datum));
	ev_first = palloc(nips * sizeof(Datum));
	ev_last = palloc(nips * sizeof(Datum));
	hash_seq_init(&scan, folds);
	while ((fold = hash_seq_search(&scan)) != NULL)
	{
		ips[fold->index] = IpGetInetDatum(&fold->ip);
		ev_first[fold->index] = TimestampTzGetDatum(fold->events.first_ts);
		ev_last[fold->index] = TimestampTzGetDatum(fold->events.last_ts);
	}
	args[0] = PointerGetDatum(DatumArray(ips, NULL, nips, INETOID));
	args[1] = PointerGetDatum(DatumArray(ev_first, NULL, nips, TIMESTAMPTZOID));
	args[2] = PointerGetDatum(DatumArray(ev_last, NULL, nips, TIMESTAMPTZOID));

	/* rows for new IPs, then every row locked in a fixed order, and read */
	if (SPI_execute_with_args("INSERT INTO ipflow.ips (src_ip, first_ts, last_ts)"
							  " SELECT * FROM unnest($1, $2, $3) ON CONFLICT (src_ip) DO NOTHING",
							  3, (Oid[]) {INETARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID},
							  args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ipflow: could not add new IPs");
	if (SPI_execute_with_args("SELECT src_ip, events, first_ts, last_ts, feature_count, feature_mean,"
							  " feature_m2, feature_min, feature_max, feature_first_ts, feature_last_ts"
							  " FROM ipflow.ips WHERE src_ip = ANY ($1) ORDER BY src_ip FOR UPDATE",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ipflow: could not read ipflow.ips");
	MergeStored(folds);

	count = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	mean = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	m2 = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	min = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	max = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	first = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	last = palloc(nips * EVENT_NFEATURES * sizeof(Datum));
	missing = palloc(nips * EVENT_NFEATURES * sizeof(bool));
	hash_seq_init(&scan, folds);
	while ((fold = hash_seq_search(&scan)) != NULL)
	{
		ev_count[fold->index] = Int64GetDatum(fold->events.count);
		ev_first[fold->index] = TimestampTzGetDatum(fold->events.first_ts);
		ev_last[fold->index] = TimestampTzGetDatum(fold->events.last_ts);
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			RunningStats *s = &fold->features[f];
			int			k = fold->index * EVENT_NFEATURES + f;

			count[k] = Int64GetDatum(s->count);
			mean[k] = Float8GetDatum(s->mean);
			m2[k] = Float8GetDatum(s->m2);
			min[k] = Int64GetDatum(s->min);
			max[k] = Int64GetDatum(s->max);
			first[k] = TimestampTzGetDatum(s->first_ts);
			last[k] = TimestampTzGetDatum(s->last_ts);
			missing[k] = s->count == 0;
		}
	}
	args[1] = PointerGetDatum(DatumArray(ev_count, NULL, nips, INT8OID));
	args[2] = PointerGetDatum(DatumArray(ev_first, NULL, nips, TIMESTAMPTZOID));
	args[3] = PointerGetDatum(DatumArray(ev_last, NULL, nips, TIMESTAMPTZOID));
	args[4] = PointerGetDatum(DatumArray(count, NULL, nips * EVENT_NFEATURES, INT8OID));
	args[5] = PointerGetDatum(DatumArray(mean, NULL, nips * EVENT_NFEATURES, FLOAT8OID));
	args[6] = PointerGetDatum(DatumArray(m2, NULL, nips * EVENT_NFEATURES, FLOAT8OID));
	args[7] = PointerGetDatum(DatumArray(min, missing, nips * EVENT_NFEATURES, INT8OID));
	args[8] = PointerGetDatum(DatumArray(max, missing, nips * EVENT_NFEATURES, INT8OID));
	args[9] = PointerGetDatum(DatumArray(first, missing, nips * EVENT_NFEATURES, TIMESTAMPTZOID));
	args[10] = PointerGetDatum(DatumArray(last, missing, nips * EVENT_NFEATURES, TIMESTAMPTZOID));

	/* each IP's nine features are the slice [(o-1)*9+1, o*9] of the flat arrays */
	if (SPI_execute_with_args("UPDATE ipflow.ips AS p SET events = u.ev, first_ts = u.f, last_ts = u.l,"
							  " feature_count = $5[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_mean = $6[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_m2 = $7[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_min = $8[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_max = $9[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_first_ts = $10[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " feature_last_ts = $11[(u.o - 1) * 9 + 1 : u.o * 9],"
							  " updated_at = now()"
							  " FROM unnest($1, $2, $3, $4) WITH ORDINALITY AS u(ip, ev, f, l, o)"
							  " WHERE p.src_ip = u.ip",
							  11, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "ipflow: could not update ipflow.ips");
}
