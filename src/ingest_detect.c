/*
 * ingest_detect.c - the streaming anomaly detector of the ingest worker
 *
 * Every newly stored event's features are scored against its IP's detector
 * states (anomaly.c: one per feature), kept in ipflow.ips.detector, which
 * the fold rewrites under the row lock in the batch's transaction: a
 * replayed batch finds its events stored and its states already advanced,
 * so nothing is scored twice and nothing is lost.  A score from
 * ipflow.anomaly_threshold on becomes a row of ipflow.anomalies and a
 * NOTIFY ipflow_anomaly in that transaction, and a message to
 * ipflow.anomaly_topic published with the batch's aggregates once it has
 * committed; a replayed batch publishes the stored alerts of its events
 * again (the crash may have come before the topic had them): at least
 * once on the topic, exactly once in the table.  Events older than their
 * state's last point (late arrivals)
 * are stored but not scored.  The calendar (missing and off-calendar
 * events) is a property of the event, not of a value: only the state of
 * its first feature learns it, so such an alert is one row, not nine.
 * After its features are scored one by one, an event's features are
 * compared with each other (AnomalyEventStep): one that moves unlike the
 * rest raises its own score.
 */
#include "postgres.h"

#include <math.h>
#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "anomaly.h"
#include "datum.h"
#include "guc.h"
#include "ingest_copy.h"
#include "ingest_detect.h"

#define DETECTOR_BYTES (EVENT_NFEATURES * ANOMALY_STATE_BYTES)
#define NOTIFY_CHANNEL "ipflow_anomaly"

#define INSERT_ANOMALIES_SQL \
"INSERT INTO ipflow.anomalies (src_ip, feature, ts, value, expected, lower, upper, score, source)" \
" SELECT u.*, 'stream' FROM unnest($1::inet[], $2::text[], $3::timestamptz[], $4::float8[]," \
" $5::float8[], $6::float8[], $7::float8[], $8::float8[]) AS u" \
" ON CONFLICT DO NOTHING"

/* the stored alerts of replayed events, with the IP's explicit partition */
#define REPLAYED_ANOMALIES_SQL \
"SELECT a.src_ip, a.feature, a.ts, a.value, a.expected, a.lower, a.upper, a.score, m.partition" \
" FROM unnest($1::inet[], $2::timestamptz[]) AS u(ip, ts)" \
" JOIN ipflow.anomalies a ON a.src_ip = u.ip AND a.ts = u.ts AND a.source = 'stream'" \
" LEFT JOIN ipflow.ip_partitions m ON m.src_ip = a.src_ip"

static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr replay_plan = NULL;

/* Orders event indexes by time. */
static const Event *sort_events;

static int
CompareTs(const void *a, const void *b)
{
	int64_t		x = sort_events[*(const int *) a].ts_us;
	int64_t		y = sort_events[*(const int *) b].ts_us;

	return x < y ? -1 : x > y;
}

/* Appends a JSON number (null when not finite, which the core never gives). */
static void
AppendNumber(StringInfo buf, const char *name, double v)
{
	appendStringInfo(buf, ", \"%s\": %s", name, isfinite(v) ? float8out_internal(v) : "null");
}

/* The alert's JSON text: the anomalies row, and why (NULL: not known). */
static char *
AlertJson(const char *ip_text, const char *feature, TimestampTz ts, double value,
		  double expected, double lower, double upper, double score, const char *reason)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"src_ip\": \"%s\", \"feature\": \"%s\", \"ts\": \"%s\"",
					 ip_text, feature,
					 JsonEncodeDateTime(NULL, TimestampTzGetDatum(ts), TIMESTAMPTZOID, NULL));
	AppendNumber(&buf, "value", value);
	AppendNumber(&buf, "expected", expected);
	AppendNumber(&buf, "lower", lower);
	AppendNumber(&buf, "upper", upper);
	AppendNumber(&buf, "score", score);
	if (reason)
		appendStringInfo(&buf, ", \"reason\": \"%s\"", reason);
	else
		appendStringInfoString(&buf, ", \"reason\": null");
	appendStringInfoString(&buf, ", \"source\": \"stream\"}");
	return buf.data;
}

/* Room for one more alert in alerts (its arrays live in alerts->context). */
static void
AlertsGrow(IngestAggregates *a)
{
	MemoryContext old;
	int			cap;

	if (a->nalerts < a->alerts_capacity)
		return;
	old = MemoryContextSwitchTo(a->context);
	cap = a->alerts_capacity ? 2 * a->alerts_capacity : 16;
	if (a->alerts == NULL)
		a->alerts = palloc(cap * sizeof(IngestAlert));
	else
		a->alerts = repalloc(a->alerts, cap * sizeof(IngestAlert));
	a->alerts_capacity = cap;
	MemoryContextSwitchTo(old);
}

/*
 * Scores events[which[0..n-1]] (new events of the IP ip) in time order
 * against the stored states (NULL or unreadable: fresh ones) and returns
 * the states to store.  Alerts are appended to alerts.
 */
bytea *
IngestDetect(bytea *stored, const Event *events, const int *which, int n,
			 Datum ip, int partition, IngestAggregates *alerts)
{
	AnomalyState states[EVENT_NFEATURES];
	AnomalyParams params,
				values_only;
	bytea	   *out;
	int		   *order;
	char		ip_text[IP_TEXT_MAX];
	IpAddr		addr;
	bool		fresh = stored == NULL || VARSIZE_ANY_EXHDR(stored) != DETECTOR_BYTES;
	int			i,
				f;

	AnomalyParamsDefault(&params);
	values_only = params;
	values_only.timing = false;
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		/* a state written by another version starts afresh */
		if (fresh || !AnomalyStateFromBytes((uint8 *) VARDATA_ANY(stored) + f * ANOMALY_STATE_BYTES,
											ANOMALY_STATE_BYTES, &states[f], NULL))
			AnomalyStateInit(&states[f]);
	}
	InetDatumGetIp(ip, &addr);
	IpFormat(&addr, ip_text);

	order = palloc((n + 1) * sizeof(int));
	memcpy(order, which, n * sizeof(int));
	sort_events = events;
	qsort(order, n, sizeof(int), CompareTs);
	for (i = 0; i < n; i++)
	{
		const Event *ev = &events[order[i]];
		AnomalyResult results[EVENT_NFEATURES];
		AnomalyState *stepped_states[EVENT_NFEATURES];
		AnomalyResult *stepped[EVENT_NFEATURES];
		bool		scored[EVENT_NFEATURES];
		bool		first = true;
		int			nstepped = 0;

		/* each feature against its own history, then against each other */
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			scored[f] = false;
			if (!(ev->present & (1U << f)))
				continue;
			scored[f] = AnomalyStepLazy(&states[f], first ? &params : &values_only, ev->ts_us / 1e6,
										(double) ev->features[f], &results[f], NULL);
			first = false;
			if (!scored[f])
				continue;
			stepped_states[nstepped] = &states[f];
			stepped[nstepped++] = &results[f];
		}
		AnomalyEventStep(stepped_states, stepped, nstepped, &params);

		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			AnomalyResult *r = &results[f];
			IngestAlert *alert;
			TimestampTz ts;
			MemoryContext old;

			if (!scored[f] || r->score < IpflowAnomalyThreshold)
				continue;
			AnomalyResultBand(&params, r);
			AlertsGrow(alerts);
			alert = &alerts->alerts[alerts->nalerts++];
			ts = ev->ts_us - UNIX_TO_POSTGRES_US;
			alert->ip = ip;
			alert->feature = f;
			alert->ts = ts;
			alert->value = (double) ev->features[f];
			alert->result = *r;
			alert->partition = partition;
			alert->key = MemoryContextStrdup(alerts->context, ip_text);
			old = MemoryContextSwitchTo(alerts->context);
			alert->json = AlertJson(ip_text, EventFeatureNames[f], ts, alert->value, r->expected,
									r->lower, r->upper, r->score, AnomalyReasonNames[r->reason]);
			MemoryContextSwitchTo(old);
		}
	}
	pfree(order);

	out = palloc(VARHDRSZ + DETECTOR_BYTES);
	SET_VARSIZE(out, VARHDRSZ + DETECTOR_BYTES);
	for (f = 0; f < EVENT_NFEATURES; f++)
		AnomalyStateToBytes(&states[f], (uint8 *) VARDATA(out) + f * ANOMALY_STATE_BYTES);
	return out;
}

/*
 * Stores alerts from..nalerts-1 in ipflow.anomalies and notifies each, in
 * the transaction in progress.
 */
void
IngestDetectStore(IngestAggregates *alerts, int from)
{
	int			n = alerts->nalerts - from;
	Datum	   *cols[8];
	Datum		args[8];
	Oid			types[8] = {INETARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	Oid			elem[8] = {INETOID, TEXTOID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, FLOAT8OID};
	int			i,
				c;

	if (n <= 0)
		return;
	if (insert_plan == NULL)
	{
		insert_plan = SPI_prepare(INSERT_ANOMALIES_SQL, 8, types);
		if (insert_plan == NULL)
			elog(ERROR, "ipflow: could not prepare the insert of anomalies: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(insert_plan);
	}
	for (c = 0; c < 8; c++)
		cols[c] = palloc(n * sizeof(Datum));
	for (i = 0; i < n; i++)
	{
		const IngestAlert *a = &alerts->alerts[from + i];

		cols[0][i] = a->ip;
		cols[1][i] = CStringGetTextDatum(EventFeatureNames[a->feature]);	/* new alerts have one */
		cols[2][i] = TimestampTzGetDatum(a->ts);
		cols[3][i] = Float8GetDatum(a->value);
		cols[4][i] = Float8GetDatum(a->result.expected);
		cols[5][i] = Float8GetDatum(a->result.lower);
		cols[6][i] = Float8GetDatum(a->result.upper);
		cols[7][i] = Float8GetDatum(a->result.score);
	}
	for (c = 0; c < 8; c++)
		args[c] = PointerGetDatum(DatumArray(cols[c], NULL, n, elem[c]));
	if (SPI_execute_plan(insert_plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ipflow: could not store anomalies");
	for (i = 0; i < n; i++)
		Async_Notify(NOTIFY_CHANNEL, alerts->alerts[from + i].json);
}

/*
 * A replayed batch's events were scored when first stored, and their alerts
 * stored and notified then, but the crash may have come before the topic
 * had them: the stored alerts of events[which[0..n-1]] (already stored
 * events) go to the topic again, not to the table.
 */
void
IngestDetectReplayed(const Event *events, const int *which, int n, IngestAggregates *alerts)
{
	Datum		args[2];
	Datum	   *ips;
	Datum	   *tss;
	uint64		r;
	int			i;

	if (n == 0)
		return;
	if (replay_plan == NULL)
	{
		Oid			types[2] = {INETARRAYOID, TIMESTAMPTZARRAYOID};

		replay_plan = SPI_prepare(REPLAYED_ANOMALIES_SQL, 2, types);
		if (replay_plan == NULL)
			elog(ERROR, "ipflow: could not prepare the query of replayed anomalies: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(replay_plan);
	}
	ips = palloc(n * sizeof(Datum));
	tss = palloc(n * sizeof(Datum));
	for (i = 0; i < n; i++)
	{
		ips[i] = IpGetInetDatum(&events[which[i]].src_ip);
		tss[i] = TimestampTzGetDatum(events[which[i]].ts_us - UNIX_TO_POSTGRES_US);
	}
	args[0] = PointerGetDatum(DatumArray(ips, NULL, n, INETOID));
	args[1] = PointerGetDatum(DatumArray(tss, NULL, n, TIMESTAMPTZOID));
	if (SPI_execute_plan(replay_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ipflow: could not read the anomalies of replayed events");
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		IngestAlert *alert;
		MemoryContext old;
		char		ip_text[IP_TEXT_MAX];
		char	   *feature;
		bool		isnull;
		Datum		d;
		IpAddr		addr;

		AlertsGrow(alerts);
		alert = &alerts->alerts[alerts->nalerts++];
		old = MemoryContextSwitchTo(alerts->context);
		InetDatumGetIp(SPI_getbinval(tuple, desc, 1, &isnull), &addr);
		IpFormat(&addr, ip_text);
		alert->ip = IpGetInetDatum(&addr);
		feature = SPI_getvalue(tuple, desc, 2);
		alert->feature = -1;
		alert->ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 3, &isnull));
		alert->value = DatumGetFloat8(SPI_getbinval(tuple, desc, 4, &isnull));
		memset(&alert->result, 0, sizeof(alert->result));
		d = SPI_getbinval(tuple, desc, 5, &isnull);
		alert->result.expected = isnull ? NAN : DatumGetFloat8(d);
		d = SPI_getbinval(tuple, desc, 6, &isnull);
		alert->result.lower = isnull ? NAN : DatumGetFloat8(d);
		d = SPI_getbinval(tuple, desc, 7, &isnull);
		alert->result.upper = isnull ? NAN : DatumGetFloat8(d);
		alert->result.score = DatumGetFloat8(SPI_getbinval(tuple, desc, 8, &isnull));
		d = SPI_getbinval(tuple, desc, 9, &isnull);
		alert->partition = isnull ? -1 : DatumGetInt32(d);
		alert->key = pstrdup(ip_text);
		alert->json = AlertJson(ip_text, feature, alert->ts, alert->value, alert->result.expected,
								alert->result.lower, alert->result.upper, alert->result.score, NULL);
		MemoryContextSwitchTo(old);
	}
}

/* Forgets the prepared insert (the worker's statements are being rebuilt). */
void
IngestDetectForgetPlans(void)
{
	if (insert_plan)
		SPI_freeplan(insert_plan);
	if (replay_plan)
		SPI_freeplan(replay_plan);
	insert_plan = replay_plan = NULL;
}
