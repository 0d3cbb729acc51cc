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
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/json.h"
#include "utils/float.h"
#include "lib/stringinfo.h"
#include "access/xact.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"

#include "datum.h"
#include "guc.h"
#include "ingest_copy.h"
#include "ingest_detect.h"
#include "ingest_ips.h"
#include "stats.h"

typedef struct IpFold
{
	IpAddr		ip;				/* hash key */
	int			index;			/* position in the statement's arrays */
	RunningStats events;		/* count and first/last ts of all events */
	RunningStats features[EVENT_NFEATURES];
	bool		fresh;			/* has newly inserted events */
	bool		stored;			/* its ipflow.ips row is locked and merged */
	int			partition;		/* from ipflow.ip_partitions, or -1 */
	TimestampTz updated_at;		/* of the stored row */
	/* stored anomaly detector states as stored (compressed, maybe), or NULL */
	struct varlena *detector;
	bytea	   *new_detector;	/* to store, or NULL: keep */
	int			first_event;	/* its new events: grouped[first_event..end_event-1] */
	int			end_event;
} IpFold;

/* The statements of a fold, planned once per worker. */
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr update_plan = NULL;

#define INSERT_IPS_SQL \
"INSERT INTO ipflow.ips (src_ip, first_ts, last_ts)" \
" SELECT * FROM unnest($1::inet[], $2::timestamptz[], $3::timestamptz[])" \
" ON CONFLICT (src_ip) DO NOTHING"

/*
 * Rows locked in a fixed order, so that concurrent folds queue up.  The
 * partition is looked up row by row: a join would hash the wide rows.
 */
#define LOCK_IPS_SQL \
"SELECT p.src_ip, p.events, p.first_ts, p.last_ts, p.feature_count, p.feature_mean," \
" p.feature_m2, p.feature_min, p.feature_max, p.feature_first_ts, p.feature_last_ts," \
" (SELECT m.partition FROM ipflow.ip_partitions m WHERE m.src_ip = p.src_ip)," \
" p.updated_at, p.detector" \
" FROM ipflow.ips p" \
" WHERE p.src_ip = ANY ($1::inet[]) ORDER BY p.src_ip FOR UPDATE OF p"

/*
 * Each IP's nine features are the slice [(o-1)*9+1, o*9] of the flat
 * arrays.  Finding an element of an array with NULLs (or of variable
 * width, like the detector states, which therefore come through unnest)
 * walks the array from its start, so one statement takes at most
 * FOLD_UPDATE_IPS IPs.
 */
#define UPDATE_IPS_SQL \
"UPDATE ipflow.ips AS p SET events = u.ev, first_ts = u.f, last_ts = u.l," \
" feature_count = $5[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_mean = $6[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_m2 = $7[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_min = $8[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_max = $9[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_first_ts = $10[(u.o - 1) * 9 + 1 : u.o * 9]," \
" feature_last_ts = $11[(u.o - 1) * 9 + 1 : u.o * 9]," \
" detector = coalesce(u.d, p.detector)," \
" updated_at = now()" \
" FROM unnest($1::inet[], $2::int8[], $3::timestamptz[], $4::timestamptz[], $12::bytea[])" \
"   WITH ORDINALITY AS u(ip, ev, f, l, d, o)" \
" WHERE p.src_ip = u.ip"
#define FOLD_UPDATE_IPS 128

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

/* Merges the stored aggregates of the locked rows into the batch's (once each). */
static void
MergeStored(HTAB *folds)
{
	/* a row's arrays are read in here, freed before the next row */
	MemoryContext row_context = AllocSetContextCreate(CurrentMemoryContext, "ipflow stored row",
													  ALLOCSET_SMALL_SIZES);
	MemoryContext batch_context = MemoryContextSwitchTo(row_context);
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
		Datum		d;
		IpAddr		ip;
		IpFold	   *fold;
		RunningStats stored;
		int			f;

		InetDatumGetIp(SPI_getbinval(tuple, desc, 1, &isnull), &ip);
		fold = hash_search(folds, &ip, HASH_FIND, NULL);
		if (fold == NULL || fold->stored)
			continue;
		fold->stored = true;
		d = SPI_getbinval(tuple, desc, 12, &isnull);
		fold->partition = isnull ? -1 : DatumGetInt32(d);
		fold->updated_at = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 13, &isnull));
		/* kept as stored: decompressed only while its IP is scored */
		d = SPI_getbinval(tuple, desc, 14, &isnull);
		if (!isnull)
		{
			MemoryContextSwitchTo(batch_context);
			fold->detector = (struct varlena *) DatumGetPointer(datumCopy(d, false, -1));
			MemoryContextSwitchTo(row_context);
		}

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
		MemoryContextReset(row_context);
	}
	MemoryContextSwitchTo(batch_context);
	MemoryContextDelete(row_context);
}

/* Plans the fold's statements once; they are kept for the worker's life. */
static void
PrepareFoldPlans(void)
{
	Oid			insert_types[3] = {INETARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};
	Oid			lock_types[1] = {INETARRAYOID};
	Oid			update_types[12] = {
		INETARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID,
		INT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, BYTEAARRAYOID
	};

	if (update_plan != NULL)
		return;
	insert_plan = SPI_prepare(INSERT_IPS_SQL, 3, insert_types);
	lock_plan = SPI_prepare(LOCK_IPS_SQL, 1, lock_types);
	update_plan = SPI_prepare(UPDATE_IPS_SQL, 12, update_types);
	if (insert_plan == NULL || lock_plan == NULL || update_plan == NULL)
		elog(ERROR, "ipflow: could not prepare the statements of ipflow.ips: %s",
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(insert_plan);
	SPI_keepplan(lock_plan);
	SPI_keepplan(update_plan);
}

/* Forgets the fold's plans (the worker's clients are being rebuilt). */
void
IngestIpsForgetPlans(void)
{
	if (insert_plan)
		SPI_freeplan(insert_plan);
	if (lock_plan)
		SPI_freeplan(lock_plan);
	if (update_plan)
		SPI_freeplan(update_plan);
	insert_plan = lock_plan = update_plan = NULL;
	IngestDetectForgetPlans();
}

/* Locks and merges the stored rows of the IPs in ips[0..n-1]. */
static void
LockAndMerge(HTAB *folds, Datum *ips, int n)
{
	Datum		args[1];

	if (n == 0)
		return;
	args[0] = PointerGetDatum(DatumArray(ips, NULL, n, INETOID));
	if (SPI_execute_plan(lock_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "ipflow: could not read ipflow.ips");
	MergeStored(folds);
	/* the wide rows would otherwise stay until the batch ends */
	SPI_freetuptable(SPI_tuptable);
}

/* Writes the merged aggregates and detector states of folds[0..n-1] back. */
static void
UpdateIps(IpFold **folds, int n, const Datum *ips)
{
	int			nf = n * EVENT_NFEATURES;
	Datum	   *ip = palloc(n * sizeof(Datum));
	Datum	   *ev_count = palloc(n * sizeof(Datum));
	Datum	   *ev_first = palloc(n * sizeof(Datum));
	Datum	   *ev_last = palloc(n * sizeof(Datum));
	Datum	   *detector = palloc(n * sizeof(Datum));
	bool	   *no_detector = palloc(n * sizeof(bool));
	Datum	   *count = palloc(nf * sizeof(Datum));
	Datum	   *mean = palloc(nf * sizeof(Datum));
	Datum	   *m2 = palloc(nf * sizeof(Datum));
	Datum	   *min = palloc(nf * sizeof(Datum));
	Datum	   *max = palloc(nf * sizeof(Datum));
	Datum	   *first = palloc(nf * sizeof(Datum));
	Datum	   *last = palloc(nf * sizeof(Datum));
	bool	   *missing = palloc(nf * sizeof(bool));
	Datum		args[12];
	int			i,
				f;

	for (i = 0; i < n; i++)
	{
		const IpFold *fold = folds[i];

		ip[i] = ips[fold->index];
		ev_count[i] = Int64GetDatum(fold->events.count);
		ev_first[i] = TimestampTzGetDatum(fold->events.first_ts);
		ev_last[i] = TimestampTzGetDatum(fold->events.last_ts);
		detector[i] = PointerGetDatum(fold->new_detector);
		no_detector[i] = fold->new_detector == NULL;
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			const RunningStats *s = &fold->features[f];
			int			k = i * EVENT_NFEATURES + f;

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
	args[0] = PointerGetDatum(DatumArray(ip, NULL, n, INETOID));
	args[1] = PointerGetDatum(DatumArray(ev_count, NULL, n, INT8OID));
	args[2] = PointerGetDatum(DatumArray(ev_first, NULL, n, TIMESTAMPTZOID));
	args[3] = PointerGetDatum(DatumArray(ev_last, NULL, n, TIMESTAMPTZOID));
	args[4] = PointerGetDatum(DatumArray(count, NULL, nf, INT8OID));
	args[5] = PointerGetDatum(DatumArray(mean, NULL, nf, FLOAT8OID));
	args[6] = PointerGetDatum(DatumArray(m2, NULL, nf, FLOAT8OID));
	args[7] = PointerGetDatum(DatumArray(min, missing, nf, INT8OID));
	args[8] = PointerGetDatum(DatumArray(max, missing, nf, INT8OID));
	args[9] = PointerGetDatum(DatumArray(first, missing, nf, TIMESTAMPTZOID));
	args[10] = PointerGetDatum(DatumArray(last, missing, nf, TIMESTAMPTZOID));
	args[11] = PointerGetDatum(DatumArray(detector, no_detector, n, BYTEAOID));
	if (SPI_execute_plan(update_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "ipflow: could not update ipflow.ips");
}

/* Appends v as JSON: a timestamp string in the session's time zone. */
static void
AppendJsonTimestamp(StringInfo buf, TimestampTz ts)
{
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(ts), TIMESTAMPTZOID, NULL));
	appendStringInfoChar(buf, '"');
}

/*
 * The aggregate message of one IP: its running count and the mean of every
 * feature seen, and avg_unq_dst_ip as the original Spark job published.
 */
static char *
AggregateJson(const IpFold *fold, const char *ip_text, TimestampTz updated_at)
{
	StringInfoData buf;
	bool		any = false;
	int			f;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"src_ip\": \"%s\", \"events\": " INT64_FORMAT ", \"first_ts\": ",
					 ip_text, fold->events.count);
	AppendJsonTimestamp(&buf, fold->events.first_ts);
	appendStringInfoString(&buf, ", \"last_ts\": ");
	AppendJsonTimestamp(&buf, fold->events.last_ts);
	appendStringInfoString(&buf, ", \"avg_unq_dst_ip\": ");
	if (fold->features[0].count > 0)
		appendStringInfoString(&buf, float8out_internal(fold->features[0].mean));
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"mean\": {");
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		if (fold->features[f].count == 0)
			continue;
		appendStringInfo(&buf, "%s\"%s\": %s", any ? ", " : "", EventFeatureNames[f],
						 float8out_internal(fold->features[f].mean));
		any = true;
	}
	appendStringInfoString(&buf, "}, \"updated_at\": ");
	AppendJsonTimestamp(&buf, updated_at);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Groups the new events which[0..n-1] by IP, a counting sort on the index
 * of each one's fold (fold_of[i]): the events of a fold are
 * grouped[fold->first_event..fold->end_event - 1].
 */
static int *
GroupFresh(HTAB *folds, const int *which, const int *fold_of, int n, int nfolds)
{
	int		   *start = palloc0((nfolds + 2) * sizeof(int));
	int		   *grouped = palloc((n + 1) * sizeof(int));
	HASH_SEQ_STATUS scan;
	IpFold	   *fold;
	int			i;

	for (i = 0; i < n; i++)
		start[fold_of[i] + 1]++;
	for (i = 0; i < nfolds; i++)
		start[i + 1] += start[i];
	hash_seq_init(&scan, folds);
	while ((fold = hash_seq_search(&scan)) != NULL)
	{
		fold->first_event = start[fold->index];
		fold->end_event = start[fold->index + 1];
	}
	for (i = 0; i < n; i++)
		grouped[start[fold_of[i]]++] = which[i];
	pfree(start);
	return grouped;
}

/*
 * Scores the new events of folds[0..n-1] against their IPs' detector states
 * (the rows are locked): fold->new_detector gets the states to store.
 */
static void
DetectFolds(IpFold **folds, int n, const Event *events, const int *grouped, const Datum *ips,
			IngestAggregates *alerts)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		IpFold	   *fold = folds[i];
		bytea	   *stored;

		if (fold->end_event == fold->first_event)
			continue;
		stored = fold->detector ? (bytea *) pg_detoast_datum(fold->detector) : NULL;
		fold->new_detector = IngestDetect(stored, events, grouped + fold->first_event,
										  fold->end_event - fold->first_event,
										  ips[fold->index], fold->partition, alerts);
	}
}

/*
 * Adds events[which[0..n-1]], all newly inserted, to the aggregates of
 * their IPs, under a lock on each IP's row.  Rows are locked first and
 * created only for IPs that have none, so that concurrent workers merge one
 * after the other instead of overwriting each other.  With out, also
 * returns the aggregate message of every IP in ips[0..nips-1] (the whole
 * batch, replayed events included), allocated in out->context.  With
 * ipflow.anomaly_detection on, the new events are scored too, the states
 * stored with the aggregates and the alerts appended to alerts.
 */
void
IngestFoldIps(const Event *events, const int *which, int n,
			  const Datum *batch_ips, int nips, IngestAggregates *out,
			  IngestAggregates *alerts)
{
	HASHCTL		ctl;
	HTAB	   *folds;
	HASH_SEQ_STATUS scan;
	IpFold	   *fold;
	int			nfolds = 0;
	int			nfresh = 0;
	int			nmissing = 0;
	int			i,
				f;
	Datum	   *ips,
			   *missing_ips,
			   *ev_first,
			   *ev_last;
	IpFold	  **fresh;
	int		   *fold_of;		/* of each new event, its fold's index */
	int		   *grouped = NULL;
	MemoryContext chunk_context;
	int			k;
	int			alerts_before = alerts ? alerts->nalerts : 0;
	Datum		args[3];

	if (n == 0 && out == NULL)
		return;
	PrepareFoldPlans();

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(IpAddr);
	ctl.entrysize = sizeof(IpFold);
	ctl.hcxt = CurrentMemoryContext;
	folds = hash_create("ipflow ip folds", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ips = palloc((n + nips + 1) * sizeof(Datum));
	fold_of = palloc((n + 1) * sizeof(int));

	for (i = 0; i < n + (out ? nips : 0); i++)
	{
		const Event *ev = i < n ? &events[which[i]] : NULL;
		IpAddr		ip;
		bool		found;

		if (ev)
			ip = ev->src_ip;
		else
			InetDatumGetIp(batch_ips[i - n], &ip);
		fold = hash_search(folds, &ip, HASH_ENTER, &found);
		if (!found)
		{
			memset((char *) fold + sizeof(IpAddr), 0, sizeof(IpFold) - sizeof(IpAddr));
			fold->index = nfolds;
			fold->partition = -1;
			ips[nfolds++] = ev ? IpGetInetDatum(&ip) : batch_ips[i - n];
		}
		if (ev)
		{
			int64		ts = ev->ts_us - UNIX_TO_POSTGRES_US;

			fold_of[i] = fold->index;
			fold->fresh = true;
			StatsAdd(&fold->events, 0, ts);
			for (f = 0; f < EVENT_NFEATURES; f++)
				if (ev->present & (1U << f))
					StatsAdd(&fold->features[f], ev->features[f], ts);
		}
	}

	/* lock the existing rows; create the missing ones, then lock those */
	LockAndMerge(folds, ips, nfolds);
	missing_ips = palloc((nfolds + 1) * sizeof(Datum));
	ev_first = palloc((nfolds + 1) * sizeof(Datum));
	ev_last = palloc((nfolds + 1) * sizeof(Datum));
	hash_seq_init(&scan, folds);
	while ((fold = hash_seq_search(&scan)) != NULL)
	{
		if (fold->stored || !fold->fresh)
			continue;
		missing_ips[nmissing] = ips[fold->index];
		ev_first[nmissing] = TimestampTzGetDatum(fold->events.first_ts);
		ev_last[nmissing] = TimestampTzGetDatum(fold->events.last_ts);
		nmissing++;
	}
	if (nmissing > 0)
	{
		args[0] = PointerGetDatum(DatumArray(missing_ips, NULL, nmissing, INETOID));
		args[1] = PointerGetDatum(DatumArray(ev_first, NULL, nmissing, TIMESTAMPTZOID));
		args[2] = PointerGetDatum(DatumArray(ev_last, NULL, nmissing, TIMESTAMPTZOID));
		if (SPI_execute_plan(insert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "ipflow: could not add new IPs");
		LockAndMerge(folds, missing_ips, nmissing);
	}

	if (IpflowAnomalyDetection && alerts != NULL && n > 0)
		grouped = GroupFresh(folds, which, fold_of, n, nfolds);

	/*
	 * The merged aggregates of the IPs with new events go back, scored a
	 * chunk at a time: only one chunk's detector states are in memory.
	 */
	fresh = palloc((nfolds + 1) * sizeof(IpFold *));
	hash_seq_init(&scan, folds);
	while ((fold = hash_seq_search(&scan)) != NULL)
	{
		if (!fold->fresh)
			continue;
		if (!fold->stored)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("ipflow.ips has no row for an IP of the batch after adding it")));
		fresh[nfresh++] = fold;
	}
	chunk_context = AllocSetContextCreate(CurrentMemoryContext, "ipflow fold chunk",
										  ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < nfresh; i += FOLD_UPDATE_IPS)
	{
		MemoryContext old = MemoryContextSwitchTo(chunk_context);
		int			chunk = Min(FOLD_UPDATE_IPS, nfresh - i);

		if (grouped)
			DetectFolds(fresh + i, chunk, events, grouped, ips, alerts);
		UpdateIps(fresh + i, chunk, ips);
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunk_context);
		for (k = i; k < i + chunk; k++)
			fresh[k]->new_detector = NULL;	/* freed with the chunk */
	}
	MemoryContextDelete(chunk_context);
	if (alerts != NULL)
		IngestDetectStore(alerts, alerts_before);

	if (out)
	{
		MemoryContext old = MemoryContextSwitchTo(out->context);
		TimestampTz now = GetCurrentTransactionStartTimestamp();	/* as now() */

		out->count = 0;
		out->keys = palloc((nfolds + 1) * sizeof(char *));
		out->json = palloc((nfolds + 1) * sizeof(char *));
		out->partitions = palloc((nfolds + 1) * sizeof(int));
		hash_seq_init(&scan, folds);
		while ((fold = hash_seq_search(&scan)) != NULL)
		{
			char		text[IP_TEXT_MAX];

			if (!fold->stored)
				continue;		/* replayed events of an IP no longer stored */
			IpFormat(&fold->ip, text);
			out->keys[out->count] = pstrdup(text);
			out->json[out->count] = AggregateJson(fold, text, fold->fresh ? now : fold->updated_at);
			out->partitions[out->count] = fold->partition;
			out->count++;
		}
		MemoryContextSwitchTo(old);
	}
}
