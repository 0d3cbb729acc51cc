/*
 * event_source.c - the event columns of a table or query named in SQL
 *
 * ipflow.learn_profiles and ipflow.send read events from "a table or a
 * query with the event columns".  This turns such an argument into one
 * query with the columns in a fixed order and type, after checking that
 * they are all there, so that the callers read every row the same way and a
 * missing column is reported by name rather than by a parse error.
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"

#include "event_source.h"

/* Column names in EventSourceRow order. */
static const char *const SourceColumns[EVENT_SOURCE_COLUMNS] = {
	"src_ip", "ts", "unq_dst_ip", "allow", "drop", "frequency", "pkts_sent",
	"pkts_received", "bytesin", "bytesout", "unq_dst_port"
};

#define SOURCE_HINT "The source is a table name or a query with the columns src_ip, ts, unq_dst_ip, " \
	"allow, \"drop\", frequency, pkts_sent, pkts_received, bytesin, bytesout, unq_dst_port."

/* Whether text starts with the keyword kw (case-insensitive), as a word. */
static bool
StartsWithWord(const char *text, const char *kw)
{
	size_t		n = strlen(kw);

	return pg_strncasecmp(text, kw, n) == 0 &&
		!(isalnum((unsigned char) text[n]) || text[n] == '_');
}

/* The FROM item of a source: "(query)" or the quoted name of a relation. */
static char *
SourceFromItem(const char *source, const char *what)
{
	const char *s = source;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Oid			relid;
	char	   *query;
	size_t		len;

	while (isspace((unsigned char) *s) || *s == '(')
		s++;
	if (StartsWithWord(s, "select") || StartsWithWord(s, "with") ||
		StartsWithWord(s, "values") || StartsWithWord(s, "table"))
	{
		/* a query: without a trailing semicolon, so it nests */
		query = pstrdup(source);
		len = strlen(query);
		while (len > 0 && (isspace((unsigned char) query[len - 1]) || query[len - 1] == ';'))
			query[--len] = '\0';
		/* on lines of its own: a trailing -- comment must not hide the parenthesis */
		return psprintf("(\n%s\n)", query);
	}

	values[0] = CStringGetTextDatum(source);
	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass($1)::oid", 1, argtypes, values,
							  NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "%s: could not look up relation %s", what, source);
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: relation \"%s\" does not exist", what, source),
				 errhint(SOURCE_HINT)));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* The SQL reading the event columns of a table or query, in order. */
char *
EventSourceSql(const char *source, const char *order_by, const char *what)
{
	char	   *from = SourceFromItem(source, what);
	StringInfoData sql;
	StringInfoData missing;
	SPIPlanPtr	plan;
	List	   *sources;
	TupleDesc	desc;
	int			nmissing = 0;
	int			c,
				i;

	/* the columns it has: the prepared statement's result, nothing run */
	plan = SPI_prepare(psprintf("SELECT * FROM %s AS q", from), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "%s: SPI_prepare failed: %s", what, SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	desc = list_length(sources) == 1 ? ((CachedPlanSource *) linitial(sources))->resultDesc : NULL;
	if (desc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the source must be one query that returns rows", what),
				 errhint(SOURCE_HINT)));
	initStringInfo(&missing);
	for (c = 0; c < EVENT_SOURCE_COLUMNS; c++)
	{
		bool		found = false;

		for (i = 0; i < desc->natts && !found; i++)
			found = !TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), SourceColumns[c]) == 0;
		if (!found)
		{
			appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", SourceColumns[c]);
			nmissing++;
		}
	}
	if (nmissing > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s: the source has no column%s %s", what, nmissing > 1 ? "s" : "", missing.data),
				 errhint(SOURCE_HINT)));
	SPI_freeplan(plan);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT q.src_ip::inet, q.ts::timestamptz");
	for (c = 2; c < EVENT_SOURCE_COLUMNS; c++)
		appendStringInfo(&sql, ", q.%s::bigint", quote_identifier(SourceColumns[c]));
	appendStringInfo(&sql, " FROM %s AS q", from);
	if (order_by)
		appendStringInfo(&sql, " %s", order_by);
	return sql.data;
}

/* One row of an event source query, read from an SPI tuple. */
void
EventSourceRead(HeapTuple tuple, TupleDesc desc, EventSourceRow *row)
{
	int			f;

	row->ip = SPI_getbinval(tuple, desc, 1, &row->ip_null);
	row->ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &row->ts_null));
	row->present = 0;
	for (f = 0; f < EVENT_NFEATURES; f++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tuple, desc, f + 3, &isnull);

		row->features[f] = isnull ? 0 : DatumGetInt64(d);
		if (!isnull)
			row->present |= 1u << f;
	}
}
