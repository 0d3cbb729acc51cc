/*
 * send_sql.c - ipflow.send() and ipflow.send_json_dir(): events to Kafka
 *
 * The original SenderDAG produced one anonymized file of events to
 * LogTopic every 20 seconds.  ipflow.send() produces the events of any
 * query, or of the generator directly, as the original JSON; the
 * procedure ipflow.send_json_dir() sends the original cl_logs/N.json files
 * themselves, after the cursor the original kept in config.json.  Every
 * event is keyed by its source IP on the partition ipflow.partition_for
 * gives, and a call returns only once Kafka has acknowledged every event:
 * if any failed it is an error that says how many, and an error half-way
 * through says how many were delivered before it.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "datum.h"
#include "event.h"
#include "event_file.h"
#include "event_source.h"
#include "generator_sql.h"
#include "guc.h"
#include "ipflow.h"
#include "producer.h"

/* Rows fetched at once from a query. */
#define SEND_FETCH 10000
/* Longest wait for the last delivery reports (messages time out at 30 s). */
#define SEND_WAIT_MS 60000
/* Largest cl_logs file read. */
#define SEND_FILE_MAX (256 * 1024 * 1024)

/*
 * Runs body; an error in it is re-raised with how many events had been
 * delivered before it, once the ones on their way are settled.
 */
#define SEND_GUARD(producer, what, body) \
	do { \
		MemoryContext guard_context_ = CurrentMemoryContext; \
		PG_TRY(); \
		{ \
			body; \
		} \
		PG_CATCH(); \
		{ \
			SendRethrow(guard_context_, (producer), (what)); \
		} \
		PG_END_TRY(); \
	} while (0)

/* Re-raises the current error with what was delivered before it. */
static void
SendRethrow(MemoryContext context, EventProducer *p, const char *what) pg_attribute_noreturn();

static void
SendRethrow(MemoryContext context, EventProducer *p, const char *what)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	FlushErrorState();
	if (p != NULL && p->produced > 0 && p->rk != NULL)
	{
		char	   *note;

		(void) ProducerWait(p, 10000);
		note = psprintf("%s had delivered " INT64_FORMAT " events to topic \"%s\" before this error%s.",
						what, p->delivered, p->topic,
						ProducerOutstanding(p) > 0 ? " (and some more may arrive)" : "");
		edata->detail = edata->detail ? psprintf("%s\n%s", edata->detail, note) : note;
	}
	ReThrowError(edata);
}

/* The topic argument, or ipflow.log_topic. */
static char *
TopicArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return pstrdup(IpflowLogTopic);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * One row of a query as the original JSON: numbers as strings, NULL
 * features as null, the time in UTC as "YYYY-MM-DD HH:MM:SS[.ffffff]".
 */
static void
FormatRow(StringInfo buf, const char *ip, const EventSourceRow *row, int64 rowno)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			f;

	if (timestamp2tm(row->ts, NULL, &tm, &fsec, NULL, NULL) != 0 ||
		tm.tm_year < 1000 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("ipflow.send: row " INT64_FORMAT ": ts %s is outside the years 1000 to 9999",
						rowno, timestamptz_to_str(row->ts))));
	resetStringInfo(buf);
	appendStringInfo(buf, "{\"src_ip\":\"%s\"", ip);
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		if (!(row->present & (1u << f)))
			appendStringInfo(buf, ",\"%s\":null", EventFeatureNames[f]);
		else if (row->features[f] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("ipflow.send: row " INT64_FORMAT ": %s is negative (" INT64_FORMAT ")",
							rowno, EventFeatureNames[f], row->features[f])));
		else
			appendStringInfo(buf, ",\"%s\":\"" INT64_FORMAT "\"", EventFeatureNames[f], row->features[f]);
	}
	appendStringInfo(buf, ",\"timestamp\":\"%04d-%02d-%02d %02d:%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (fsec != 0)
		appendStringInfo(buf, ".%06d", (int) fsec);
	appendStringInfoString(buf, "\"}");
}

/* Produces every row of an event-source query. */
static void
SendQueryRows(EventProducer *p, const char *sql)
{
	StringInfoData json;
	Portal		portal;
	int64		rowno = 0;

	initStringInfo(&json);
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, false, 0);
	for (;;)
	{
		uint64		fetched;
		uint64		i;
		SPITupleTable *tuples;

		SPI_cursor_fetch(portal, true, SEND_FETCH);
		fetched = SPI_processed;
		tuples = SPI_tuptable;
		for (i = 0; i < fetched; i++)
		{
			EventSourceRow row;
			IpAddr		addr;
			char		ip[IP_TEXT_MAX];

			rowno++;
			EventSourceRead(tuples->vals[i], tuples->tupdesc, &row);
			if (row.ip_null || row.ts_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("ipflow.send: row " INT64_FORMAT " has a NULL %s", rowno,
								row.ip_null ? "src_ip" : "ts")));
			if (ip_bits(DatumGetInetPP(row.ip)) != ip_maxbits(DatumGetInetPP(row.ip)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ipflow.send: row " INT64_FORMAT ": src_ip %s is a network, not a host address",
								rowno, DatumGetCString(DirectFunctionCall1(inet_out, row.ip)))));
			if (TIMESTAMP_NOT_FINITE(row.ts))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("ipflow.send: row " INT64_FORMAT " has an infinite ts", rowno)));
			InetDatumGetIp(row.ip, &addr);
			IpFormat(&addr, ip);
			FormatRow(&json, ip, &row, rowno);
			ProducerSend(p, ip, ProducerPartition(p, ip), json.data, json.len);
			if ((rowno & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		SPI_freetuptable(tuples);
		if (fetched < SEND_FETCH)
			break;
	}
	SPI_cursor_close(portal);
	if (!ProducerWait(p, SEND_WAIT_MS))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("ipflow.send: Kafka did not acknowledge %d events within %d s",
						ProducerOutstanding(p), SEND_WAIT_MS / 1000)));
}

PG_FUNCTION_INFO_V1(ipflow_send_query);

/*
 * SQL: produces the events of a query (or table) with the event columns to
 * the log topic; returns how many Kafka acknowledged, which is all of them
 * (otherwise it is an error).
 */
Datum
ipflow_send_query(PG_FUNCTION_ARGS)
{
	EventProducer *p;
	char	   *sql;
	char	   *topic;
	int64		sent;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("query must not be NULL"),
				 errhint("Pass a query with the event columns, e.g. "
						 "'SELECT * FROM ipflow.generate_events(100, ''2022-01-03'', 24, 1)'.")));
	topic = TopicArg(fcinfo, 1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sql = EventSourceSql(text_to_cstring(PG_GETARG_TEXT_PP(0)), NULL, "ipflow.send");
	p = ProducerOpen(topic, "ipflow-send", false, CurrentMemoryContext);
	SEND_GUARD(p, "ipflow.send", SendQueryRows(p, sql));
	ProducerReportFailures(p, "ipflow.send",
						   "The other events were delivered; ingestion stores each (src_ip, ts) once, "
						   "so sending them again adds nothing twice.");
	sent = p->delivered;
	SPI_finish();
	PG_RETURN_INT64(sent);
}

/* Generates and produces every event of a generator, recording its anomalies. */
static void
SendGenerated(EventProducer *p, GenSetup *setup, AnomalyRecorder *recorder, int n_ips)
{
	int		   *partition = palloc(n_ips * sizeof(int));
	GeneratorItem item;
	char		json[GENERATOR_JSON_MAX];
	uint64		items = 0;

	memset(&item, 0, sizeof(item));
	memset(partition, -1, n_ips * sizeof(int));
	while (GeneratorNext(setup->gen, &item))
	{
		size_t		len;

		if ((++items & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		AnomalyRecorderAdd(recorder, &item);
		if (!item.has_event)
			continue;
		if (partition[item.ip_index] < 0)
			partition[item.ip_index] = ProducerPartition(p, item.src_ip_text);
		len = GeneratorFormatJson(&item, json);
		ProducerSend(p, item.src_ip_text, partition[item.ip_index], json, len);
	}
	AnomalyRecorderFlush(recorder);
	if (!ProducerWait(p, SEND_WAIT_MS))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("ipflow.send: Kafka did not acknowledge %d events within %d s",
						ProducerOutstanding(p), SEND_WAIT_MS / 1000)));
}

PG_FUNCTION_INFO_V1(ipflow_send_generated);

/*
 * SQL: generates events as ipflow.generate_events(n_ips, start, hours,
 * seed, options) does, without going through a query, and produces them.
 */
Datum
ipflow_send_generated(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"n_ips", "start", "hours", "seed", "options"};
	EventProducer *p;
	GenSetup   *setup;
	AnomalyRecorder *recorder;
	char	   *topic;
	int64		sent;
	int			i;

	for (i = 0; i < (int) lengthof(args); i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", args[i])));
	topic = TopicArg(fcinfo, 5);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	setup = GenSetupFromOptions(PG_GETARG_JSONB_P(4), "ipflow.send", CurrentMemoryContext);
	GenSetupStart(setup, PG_GETARG_INT32(0), PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_INT32(2),
				  PG_GETARG_INT64(3));
	recorder = AnomalyRecorderNew(setup, PG_GETARG_INT64(3), true, CurrentMemoryContext);
	p = ProducerOpen(topic, "ipflow-send", false, CurrentMemoryContext);
	SEND_GUARD(p, "ipflow.send", SendGenerated(p, setup, recorder, PG_GETARG_INT32(0)));
	ProducerReportFailures(p, "ipflow.send",
						   "The other events were delivered; ingestion stores each (src_ip, ts) once, "
						   "so sending them again adds nothing twice.");
	sent = p->delivered;
	SPI_finish();
	PG_RETURN_INT64(sent);
}

/* A numbered file of a cl_logs directory. */
typedef struct JsonFile
{
	int			number;
	char	   *name;
} JsonFile;

/* qsort order of files: by number. */
static int
CompareJsonFiles(const void *a, const void *b)
{
	int			x = ((const JsonFile *) a)->number;
	int			y = ((const JsonFile *) b)->number;

	return (x > y) - (x < y);
}

/* The N.json files of a directory, in numeric order. */
static pg_noinline JsonFile *
ListJsonFiles(const char *path, int *nfiles)
{
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	JsonFile   *files = NULL;
	int			n = 0;
	int			capacity = 0;
	int			i;

	if (dir == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.send_json_dir: could not open directory \"%s\": %m", path),
				 errhint("Give the server-side path of the original cl_logs directory.")));
	while ((de = ReadDir(dir, path)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		size_t		digits = strspn(de->d_name, "0123456789");

		if (digits < 1 || digits > 9 || len != digits + 5 || strcmp(de->d_name + digits, ".json") != 0)
			continue;
		if (n == capacity)
		{
			capacity = Max(capacity * 2, 64);
			files = files ? repalloc(files, capacity * sizeof(JsonFile)) : palloc(capacity * sizeof(JsonFile));
		}
		files[n].number = atoi(de->d_name);
		files[n].name = pstrdup(de->d_name);
		n++;
	}
	FreeDir(dir);
	if (n > 1)
		qsort(files, n, sizeof(JsonFile), CompareJsonFiles);
	for (i = 1; i < n; i++)
		if (files[i].number == files[i - 1].number)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_FILE),
					 errmsg("ipflow.send_json_dir: \"%s\" and \"%s\" in \"%s\" have the same number",
							files[i - 1].name, files[i].name, path)));
	*nfiles = n;
	return files;
}

/* A whole file, NUL-terminated. */
static char *
ReadWholeFile(const char *path, size_t *len)
{
	struct stat st;
	FILE	   *file;
	char	   *buf;

	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.send_json_dir: could not read \"%s\": %m", path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("ipflow.send_json_dir: \"%s\" is not a regular file", path)));
	if (st.st_size > SEND_FILE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ipflow.send_json_dir: \"%s\" is larger than %d MB", path, SEND_FILE_MAX >> 20)));
	buf = palloc((size_t) st.st_size + 1);
	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.send_json_dir: could not open \"%s\": %m", path)));
	else
	{
		*len = fread(buf, 1, (size_t) st.st_size, file);
		if (ferror(file))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("ipflow.send_json_dir: could not read \"%s\": %m", path)));
		FreeFile(file);
	}
	buf[*len] = '\0';
	return buf;
}

/* The number of the last file sent, from ipflow.sender_cursor; 0 if none. */
static int
CursorNumber(char **name)
{
	if (SPI_execute("SELECT last_processed_file FROM ipflow.sender_cursor", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.sender_cursor");
	if (SPI_processed == 0)
	{
		*name = NULL;
		return 0;
	}
	*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return atoi(*name);
}

/* Moves ipflow.sender_cursor to file number. */
static void
CursorAdvance(int number)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(psprintf("%d.json", number))};

	if (SPI_execute_with_args("INSERT INTO ipflow.sender_cursor AS c (last_processed_file) VALUES ($1) "
							  "ON CONFLICT (singleton) DO UPDATE "
							  "SET last_processed_file = EXCLUDED.last_processed_file, updated_at = now()",
							  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not update ipflow.sender_cursor");
}

/* The events of one file, validated as ingestion would, before any is sent. */
static EventFileSpan *
ValidateFile(const char *path, const char *text, size_t len, int *nspans, Event **events)
{
	EventFileSpan *spans;
	EventFileSpan *copy;
	char		error[EVENT_FILE_ERROR_MAX];
	int			i;

	if (!EventFileSplit(text, len, &spans, nspans, error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("ipflow.send_json_dir: \"%s\" is malformed: %s", path, error),
				 errdetail("Nothing of this file was sent; the cursor stays before it.")));
	copy = palloc((*nspans + 1) * sizeof(EventFileSpan));
	memcpy(copy, spans, *nspans * sizeof(EventFileSpan));
	free(spans);
	*events = palloc((*nspans + 1) * sizeof(Event));
	for (i = 0; i < *nspans; i++)
	{
		char		reason[EVENT_REASON_MAX];

		if (!EventParse(text + copy[i].offset, copy[i].len, (size_t) IpflowMaxMessageSize, &(*events)[i], reason))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("ipflow.send_json_dir: \"%s\" is malformed: event %d (line %d): %s",
							path, i + 1, copy[i].line, reason),
					 errdetail("Nothing of this file was sent; the cursor stays before it.")));
	}
	return copy;
}

/* Sends the validated events of one file; errors if any is not delivered. */
static void
SendFile(EventProducer *p, const char *path, const char *text, const EventFileSpan *spans,
		 const Event *events, int n, const char *cursor)
{
	int64		failed_before = p->failed;
	int64		delivered_before = p->delivered;
	int			i;

	for (i = 0; i < n; i++)
	{
		ProducerSend(p, events[i].src_ip_text, ProducerPartition(p, events[i].src_ip_text),
					 text + spans[i].offset, spans[i].len);
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (!ProducerWait(p, SEND_WAIT_MS) || p->failed > failed_before)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("ipflow.send_json_dir: " INT64_FORMAT " of %d events of \"%s\" could not be delivered "
						"to topic \"%s\": %s", (int64) n - (p->delivered - delivered_before), n, path, p->topic,
						p->failed > failed_before ? p->first_error : "no acknowledgement in time"),
				 errdetail("The cursor stays at %s; sending again sends the whole file again.",
						   cursor ? cursor : "its start"),
				 errhint("Check the Kafka brokers (ipflow.kafka_brokers) and call it again.")));
}

/* Where ipflow.send_json_dir is: for its result, and for its errors. */
typedef struct JsonDirState
{
	const char *path;
	bool		nonatomic;		/* the cursor is committed after each file */
	EventProducer *producer;	/* opened at the first event */
	char	   *cursor;			/* the last file sent, "N.json", or NULL */
	int			files;
	int64		events;
} JsonDirState;

/* Sends every file after the cursor, in order. */
static void
SendJsonFiles(JsonDirState *st, const JsonFile *files, int nfiles)
{
	MemoryContext file_context = AllocSetContextCreate(CurrentMemoryContext, "ipflow cl_logs file",
													   ALLOCSET_DEFAULT_SIZES);
	int			after = CursorNumber(&st->cursor);
	int			i;

	for (i = 0; i < nfiles; i++)
	{
		MemoryContext old;
		char	   *file_path;
		char	   *text;
		size_t		len;
		EventFileSpan *spans;
		Event	   *events;
		int			n;

		if (files[i].number <= after)
			continue;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(file_context);
		file_path = psprintf("%s/%s", st->path, files[i].name);
		text = ReadWholeFile(file_path, &len);
		spans = ValidateFile(file_path, text, len, &n, &events);
		MemoryContextSwitchTo(old);
		if (n > 0)
		{
			if (st->producer == NULL)
				st->producer = ProducerOpen(IpflowLogTopic, "ipflow-send-json-dir", false,
											CurrentMemoryContext);
			SendFile(st->producer, file_path, text, spans, events, n, st->cursor);
		}
		CursorAdvance(files[i].number);
		if (st->nonatomic)
		{
			SPI_commit();
			SPI_start_transaction();
		}
		st->cursor = psprintf("%d.json", files[i].number);
		st->files++;
		st->events += n;
		MemoryContextReset(file_context);
	}
}

PG_FUNCTION_INFO_V1(ipflow_send_json_dir);

/*
 * SQL procedure: sends the files N.json of a directory with N after
 * ipflow.sender_cursor.last_processed_file, in numeric order; after each
 * file is delivered the cursor moves to it, and (called by CALL outside a
 * transaction block) that is committed at once.  A file that is not valid
 * JSON, or has an event ingestion would reject, is an error naming it, and
 * nothing of it is sent.  Returns the files and events sent and the cursor.
 */
Datum
ipflow_send_json_dir(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	JsonDirState st;
	JsonFile   *files;
	int			nfiles;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	IpflowRequireFileReader("ipflow.send_json_dir()");
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ipflow.send_json_dir: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(&st, 0, sizeof(st));
	st.nonatomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!((CallContext *) fcinfo->context)->atomic;
	st.path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	files = ListJsonFiles(st.path, &nfiles);

	if (SPI_connect_ext(st.nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		SendJsonFiles(&st, files, nfiles);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *note = NULL;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		if (st.files > 0 && st.nonatomic)
			note = psprintf("%d files before it were sent (" INT64_FORMAT " events); the cursor is at %s.",
							st.files, st.events, st.cursor);
		else if (st.files > 0)
			note = psprintf("%d files before it were sent (" INT64_FORMAT " events), but in a transaction "
							"block the cursor moves with the transaction, which this error rolls back: "
							"they will be sent again.", st.files, st.events);
		if (note)
			edata->detail = edata->detail ? psprintf("%s\n%s", edata->detail, note) : note;
		ReThrowError(edata);
	}
	PG_END_TRY();
	if (st.producer != NULL)
		ProducerClose(st.producer);

	values[0] = Int32GetDatum(st.files);
	values[1] = Int64GetDatum(st.events);
	nulls[2] = st.cursor == NULL;
	MemoryContextSwitchTo(caller);
	if (st.cursor != NULL)
		values[2] = PointerGetDatum(cstring_to_text(st.cursor));
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
