/*
 * csv_sql.c - ipflow.load_csv(): a logs.csv into a table of events
 *
 * The original system's real traffic is a CSV file (data/logs.csv).  This
 * reads one on the server, line by line through the pure-C parser in
 * csv_events.c, and inserts its rows in batches into ipflow.real_events (or
 * a table with the same columns), where ipflow.learn_profiles can learn
 * from them.  The rows go in with the caller's transaction and privileges;
 * a bad line stops the load with its number, and nothing is loaded.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_type.h"
#include "common/string.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "csv_events.h"
#include "datum.h"
#include "event_source.h"
#include "ipflow.h"

/* Rows inserted at once. */
#define LOAD_BATCH 10000

/* Column names of the target, in insert order. */
static const char *const TargetColumns[EVENT_SOURCE_COLUMNS] = {
	"src_ip", "ts", "unq_dst_ip", "allow", "drop", "frequency", "pkts_sent",
	"pkts_received", "bytesin", "bytesout", "unq_dst_port"
};

/* Rows read but not inserted yet. */
typedef struct LoadBatch
{
	int			n;
	int			first_line;
	int			last_line;
	Datum		values[EVENT_SOURCE_COLUMNS][LOAD_BATCH];
	bool		nulls[EVENT_SOURCE_COLUMNS][LOAD_BATCH];
	MemoryContext context;
} LoadBatch;

/* For errors while a batch is inserted: which lines it holds. */
typedef struct LoadContext
{
	const char *path;
	LoadBatch  *batch;
} LoadContext;

/* Error context: the lines of the batch being inserted. */
static void
LoadErrorContext(void *arg)
{
	LoadContext *c = arg;

	errcontext("ipflow.load_csv: inserting lines %d to %d of \"%s\"",
			   c->batch->first_line, c->batch->last_line, c->path);
}

/* Inserts the batch with one statement of arrays. */
static void
LoadInsert(const char *sql, LoadBatch *b, const char *path)
{
	Oid			types[EVENT_SOURCE_COLUMNS];
	Datum		values[EVENT_SOURCE_COLUMNS];
	ErrorContextCallback callback;
	LoadContext context = {path, b};
	MemoryContext old;
	int			c;

	if (b->n == 0)
		return;
	old = MemoryContextSwitchTo(b->context);
	for (c = 0; c < EVENT_SOURCE_COLUMNS; c++)
	{
		Oid			element = c == 0 ? INETOID : c == 1 ? TIMESTAMPTZOID : INT8OID;

		types[c] = c == 0 ? INETARRAYOID : c == 1 ? TIMESTAMPTZARRAYOID : INT8ARRAYOID;
		values[c] = PointerGetDatum(DatumArray(b->values[c], b->nulls[c], b->n, element));
	}
	MemoryContextSwitchTo(old);

	callback.callback = LoadErrorContext;
	callback.arg = &context;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	if (SPI_execute_with_args(sql, EVENT_SOURCE_COLUMNS, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ipflow.load_csv: the insert failed");
	error_context_stack = callback.previous;

	b->n = 0;
	MemoryContextReset(b->context);
}

/* The INSERT statement for the target, after checking its columns. */
static char *
LoadStatement(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *qualified;
	StringInfoData sql;
	StringInfoData missing;
	int			nmissing = 0;
	int			c;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ipflow.load_csv: the target table does not exist")));
	qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
	initStringInfo(&missing);
	for (c = 0; c < EVENT_SOURCE_COLUMNS; c++)
		if (get_attnum(relid, TargetColumns[c]) == InvalidAttrNumber)
		{
			appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", TargetColumns[c]);
			nmissing++;
		}
	if (nmissing > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("ipflow.load_csv: table %s has no column%s %s", qualified, nmissing > 1 ? "s" : "",
						missing.data),
				 errhint("The target needs the columns src_ip, ts, unq_dst_ip, allow, \"drop\", frequency, "
						 "pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port, as ipflow.real_events has.")));

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (", qualified);
	for (c = 0; c < EVENT_SOURCE_COLUMNS; c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "", quote_identifier(TargetColumns[c]));
	appendStringInfoString(&sql, ") SELECT * FROM unnest(");
	for (c = 0; c < EVENT_SOURCE_COLUMNS; c++)
		appendStringInfo(&sql, "%s$%d", c ? ", " : "", c + 1);
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

/* Opens the file, with errors that say what is wrong with the path. */
static FILE *
LoadOpen(const char *path)
{
	struct stat st;
	FILE	   *file;

	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.load_csv: could not open file \"%s\": %m", path),
				 errhint("The path is read by the server: give an absolute path on the database server.")));
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("ipflow.load_csv: \"%s\" is a directory", path)));
	file = AllocateFile(path, "r");
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.load_csv: could not open file \"%s\": %m", path)));
	return file;
}

/* Drops the line end. */
static void
Chomp(StringInfo line)
{
	while (line->len > 0 && (line->data[line->len - 1] == '\n' || line->data[line->len - 1] == '\r'))
		line->data[--line->len] = '\0';
}

PG_FUNCTION_INFO_V1(ipflow_load_csv);

/*
 * SQL: loads a logs.csv (header src_ip,unq_dst_ip,...,timestamp) into
 * ipflow.real_events or the table given; returns the rows loaded.
 */
Datum
ipflow_load_csv(PG_FUNCTION_ARGS)
{
	char	   *path;
	Oid			relid;
	char	   *sql;
	FILE	   *file;
	StringInfoData line;
	CsvEventsLayout layout;
	char		error[CSV_EVENTS_ERROR_MAX];
	LoadBatch  *batch;
	int			lineno = 1;
	int64		loaded = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be NULL")));
	IpflowRequireFileReader("ipflow.load_csv()");
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (PG_ARGISNULL(1))
	{
		bool		isnull;

		if (SPI_execute("SELECT pg_catalog.to_regclass('ipflow.real_events')::oid", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not look up ipflow.real_events");
		relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("ipflow.load_csv: table ipflow.real_events does not exist")));
	}
	else
		relid = PG_GETARG_OID(1);
	sql = LoadStatement(relid);

	file = LoadOpen(path);
	initStringInfo(&line);
	if (!pg_get_line_buf(file, &line))
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("ipflow.load_csv: \"%s\" is empty", path),
				 errhint("A logs.csv starts with the header src_ip,unq_dst_ip,allow,drop,frequency,"
						 "pkts_sent,pkts_received,bytesin,bytesout,unq_dst_port,timestamp.")));
	Chomp(&line);
	if (!CsvEventsParseHeader(line.data, line.len, &layout, error))
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("ipflow.load_csv: \"%s\" line 1: %s", path, error)));

	batch = palloc0(sizeof(LoadBatch));
	batch->context = AllocSetContextCreate(CurrentMemoryContext, "ipflow load_csv batch",
										   ALLOCSET_DEFAULT_SIZES);
	while (pg_get_line_buf(file, &line))
	{
		Event		ev;
		MemoryContext old;
		int			i;
		int			f;

		lineno++;
		Chomp(&line);
		if (CsvEventsBlank(line.data, line.len))
			continue;
		if (!CsvEventsParseRow(&layout, line.data, line.len, &ev, error))
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("ipflow.load_csv: \"%s\" line %d: %s", path, lineno, error),
					 errdetail("Nothing was loaded.")));
		if (batch->n == 0)
			batch->first_line = lineno;
		batch->last_line = lineno;
		i = batch->n++;
		old = MemoryContextSwitchTo(batch->context);
		batch->values[0][i] = IpGetInetDatum(&ev.src_ip);
		batch->nulls[0][i] = false;
		batch->values[1][i] = TimestampTzGetDatum(UnixUsToTimestamp(ev.ts_us));
		batch->nulls[1][i] = false;
		for (f = 0; f < EVENT_NFEATURES; f++)
		{
			batch->values[2 + f][i] = Int64GetDatum(ev.features[f]);
			batch->nulls[2 + f][i] = (ev.present & (1u << f)) == 0;
		}
		MemoryContextSwitchTo(old);
		loaded++;
		if (batch->n == LOAD_BATCH)
		{
			CHECK_FOR_INTERRUPTS();
			LoadInsert(sql, batch, path);
		}
	}
	if (ferror(file))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("ipflow.load_csv: could not read file \"%s\": %m", path)));
	LoadInsert(sql, batch, path);
	FreeFile(file);
	SPI_finish();
	PG_RETURN_INT64(loaded);
}
