/*
 * gbt_input_sql.c - a query's rows as columns of C values, for the trees
 *
 * gbt_train and the set-based gbt_predict read their rows from a query
 * given as text.  The query runs through an SPI cursor, fetched in batches,
 * so its result is never held twice; each column the stages need is
 * converted once into an array: numbers as doubles (NULL = NaN, which the
 * booster treats as missing), categories and entities as text, times as
 * int64.  A column is found by its name in the query's result; a missing
 * one, or one of the wrong type, is an error that lists what the query
 * returns.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "gbt_sql.h"

/* One distinct text of a column: rows with equal texts share one copy. */
typedef struct InternEntry
{
	char	   *key;
} InternEntry;

/* Mixed into the split hash for a NULL key value. */
#define GBT_NULL_HASH UINT64CONST(0x9E3779B97F4A7C15)

/* Refuses JSON passed where a query belongs (gbt_predict's overloads). */
void
GbtCheckQueryText(const char *query, const char *what)
{
	const char *p = query;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '{' || *p == '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s looks like JSON, not a query", what),
				 errhint("To predict one row, pass it as jsonb: ipflow.gbt_predict(name, '{...}'::jsonb).")));
}

/* Plans and opens the query as a cursor; it must return rows. */
GbtInput *
GbtInputOpen(const char *query, const char *what, MemoryContext context)
{
	GbtInput   *in = MemoryContextAllocZero(context, sizeof(GbtInput));
	SPIPlanPtr	plan;

	GbtCheckQueryText(query, what);
	in->what = what;
	in->context = context;
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not plan %s: %s", what, SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be one query that returns rows", what),
				 errhint("Pass a SELECT, for example 'SELECT * FROM ipflow.events'.")));
	in->portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	in->desc = in->portal->tupDesc;
	return in;
}

/* The 1-based position of a column in the query's result, or 0. */
int
GbtInputFind(GbtInput *in, const char *name)
{
	int			found = 0;
	int			i;

	for (i = 0; i < in->desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(in->desc, i);

		if (attr->attisdropped || strcmp(NameStr(attr->attname), name) != 0)
			continue;
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("the result of %s has two columns named \"%s\"", in->what, name),
					 errhint("Rename one of them in the query with AS.")));
		found = i + 1;
	}
	return found;
}

/* "a, b, c": the query's columns, for hints. */
char *
GbtInputColumnList(GbtInput *in)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < in->desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(in->desc, i);

		if (attr->attisdropped)
			continue;
		appendStringInfo(&buf, "%s%s (%s)", buf.len > 0 ? ", " : "",
						 NameStr(attr->attname), format_type_be(attr->atttypid));
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "no columns");
	return buf.data;
}

/* Types read as numbers. */
bool
GbtTypeIsNumber(Oid type)
{
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return true;
		default:
			return false;
	}
}

/* Types that order a lag or a chronological split. */
bool
GbtTypeIsTime(Oid type)
{
	switch (type)
	{
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
		case DATEOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return true;
		default:
			return false;
	}
}

/* The type of a result column, domains resolved to their base type. */
Oid
GbtInputType(GbtInput *in, int attno)
{
	return getBaseType(TupleDescAttr(in->desc, attno - 1)->atttypid);
}

/* dynahash callbacks: keys are pointers to NUL-terminated texts. */
static uint32
InternHash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

static int
InternMatch(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Refuses a column that is not in the query, naming what is. */
static int
RequireColumn(GbtInput *in, const char *name, const char *role)
{
	int			attno = GbtInputFind(in, name);

	if (attno == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" (%s) is not in the result of %s", name, role, in->what),
				 errdetail("The query returns %s.", GbtInputColumnList(in)),
				 errhint("Name one of those columns, or add it to the query.")));
	return attno;
}

/*
 * Asks for a column to be read as kind; errors when it is missing or of a
 * type that kind cannot hold.  Asking twice gives the same column.
 */
GbtColumn *
GbtInputAdd(GbtInput *in, const char *name, GbtColumnKind kind, const char *role)
{
	int			attno = RequireColumn(in, name, role);
	Oid			type = GbtInputType(in, attno);
	GbtColumn  *col;
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, in->columns)
	{
		col = lfirst(lc);
		if (col->attno == attno && col->kind == kind)
			return col;
	}
	if (kind == GBT_COLUMN_NUMBER && !GbtTypeIsNumber(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" (%s) is of type %s, not a number", name, role, format_type_be(type)),
				 errhint("Cast it to a number in the query (for example \"%s\"::float8), or leave it out.", name)));
	if (kind == GBT_COLUMN_TIME && !GbtTypeIsTime(type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" (%s) is of type %s, not a timestamp, date or integer",
						name, role, format_type_be(type)),
				 errhint("Order by a timestamp, date or integer column.")));

	old = MemoryContextSwitchTo(in->context);
	col = palloc0(sizeof(GbtColumn));
	col->name = pstrdup(name);
	col->role = pstrdup(role);
	col->kind = kind;
	col->attno = attno;
	col->type = type;
	if (kind == GBT_COLUMN_TEXT)
	{
		Oid			func;
		bool		varlena;

		HASHCTL		ctl;

		getTypeOutputInfo(type, &func, &varlena);
		fmgr_info_cxt(func, &col->output, in->context);
		/* one copy per distinct text: less memory, and the lag's sort
		 * compares equal entities by pointer */
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(InternEntry);
		ctl.hash = InternHash;
		ctl.match = InternMatch;
		ctl.hcxt = in->context;
		col->intern = hash_create("ipflow gbt texts", 256, &ctl,
								  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}
	if (kind == GBT_COLUMN_DATUM)
		get_typlenbyval(TupleDescAttr(in->desc, attno - 1)->atttypid, &col->typlen, &col->typbyval);
	in->columns = lappend(in->columns, col);
	MemoryContextSwitchTo(old);
	return col;
}

/*
 * Asks for a hash of these columns' values per row (the random split):
 * each value hashed by its type's extended hash function with the seed, so
 * a row's side of the split depends on its values, not on its position.
 */
void
GbtInputHashKey(GbtInput *in, List *names, uint64 seed)
{
	ListCell   *lc;
	int			i = 0;

	in->n_hash = list_length(names);
	in->hash_seed = seed;
	in->hash_attnos = MemoryContextAlloc(in->context, (in->n_hash + 1) * sizeof(int));
	in->hash_procs = MemoryContextAlloc(in->context, (in->n_hash + 1) * sizeof(FmgrInfo *));
	in->hash_collations = MemoryContextAlloc(in->context, (in->n_hash + 1) * sizeof(Oid));
	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		int			attno = RequireColumn(in, name, "split key");
		Oid			type = GbtInputType(in, attno);
		TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC_FINFO);

		if (!OidIsValid(tc->hash_extended_proc))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("column \"%s\" (split key) is of type %s, which cannot be hashed",
							name, format_type_be(type)),
					 errhint("Name other columns in split.key, or cast this one to text in the query.")));
		in->hash_attnos[i] = attno;
		in->hash_procs[i] = &tc->hash_extended_proc_finfo;
		in->hash_collations[i] = TupleDescAttr(in->desc, attno - 1)->attcollation;
		i++;
	}
}

/* Room for at least n rows in every column. */
static void
Grow(GbtInput *in, size_t n)
{
	size_t		cap = in->capacity;
	ListCell   *lc;

	if (n <= cap)
		return;
	cap = Max(cap * 2, Max(n, 1024));
#define GROW(ptr, type) \
	ptr = (ptr) ? repalloc_huge(ptr, cap * sizeof(type)) \
		: MemoryContextAllocHuge(in->context, cap * sizeof(type))
	foreach(lc, in->columns)
	{
		GbtColumn  *col = lfirst(lc);

		switch (col->kind)
		{
			case GBT_COLUMN_NUMBER:
				GROW(col->numbers, double);
				break;
			case GBT_COLUMN_TEXT:
				GROW(col->texts, char *);
				break;
			case GBT_COLUMN_TIME:
				GROW(col->times, int64);
				break;
			case GBT_COLUMN_DATUM:
				GROW(col->datums, Datum);
				GROW(col->nulls, bool);
				break;
		}
	}
	if (in->n_hash > 0)
		GROW(in->hashes, uint64);
#undef GROW
	in->capacity = cap;
}

/* A number column's value as a double. */
static double
NumberOf(Datum d, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		default:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
	}
}

/* A time column's value as an int64 that orders like it. */
static int64
TimeOf(Datum d, Oid type)
{
	switch (type)
	{
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			return DatumGetTimestamp(d);
		case DATEOID:
			return DatumGetDateADT(d);
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* splitmix64's finalizer: spreads the combined hash over all 64 bits. */
static uint64
Mix64(uint64 h)
{
	h ^= h >> 30;
	h *= UINT64CONST(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64CONST(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}

/*
 * Converts one row's values into the columns; runs in a scratch context
 * (output functions, numeric conversion, hashing), copies what it keeps.
 */
static void
ReadRow(GbtInput *in, Datum *values, bool *isnull)
{
	size_t		row = in->n_rows;
	ListCell   *lc;
	int			i;

	foreach(lc, in->columns)
	{
		GbtColumn  *col = lfirst(lc);
		Datum		d = values[col->attno - 1];
		bool		null = isnull[col->attno - 1];

		switch (col->kind)
		{
			case GBT_COLUMN_NUMBER:
				col->numbers[row] = null ? NAN : NumberOf(d, col->type);
				if (isinf(col->numbers[row]))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("column \"%s\" (%s) is infinite or out of range in row %zu of %s",
									col->name, col->role, row + 1, in->what),
							 errhint("Use NULL for a missing value; trees cannot split on infinity.")));
				break;
			case GBT_COLUMN_TIME:
				col->times[row] = null ? PG_INT64_MAX : TimeOf(d, col->type);
				break;
			case GBT_COLUMN_TEXT:
				if (null)
					col->texts[row] = NULL;
				else
				{
					char	   *s = (col->type == TEXTOID || col->type == VARCHAROID)
					? TextDatumGetCString(d) : OutputFunctionCall(&col->output, d);

					/* a run of one value skips the lookup */
					if (row > 0 && col->texts[row - 1] && strcmp(col->texts[row - 1], s) == 0)
						col->texts[row] = col->texts[row - 1];
					else
					{
						bool		found;
						InternEntry *e = hash_search(col->intern, &s, HASH_ENTER, &found);

						if (!found)
							e->key = MemoryContextStrdup(in->context, s);
						col->texts[row] = e->key;
					}
				}
				break;
			case GBT_COLUMN_DATUM:
				col->nulls[row] = null;
				col->datums[row] = (Datum) 0;
				if (!null)
				{
					MemoryContext old = MemoryContextSwitchTo(in->context);

					col->datums[row] = datumTransfer(d, col->typbyval, col->typlen);
					MemoryContextSwitchTo(old);
				}
				break;
		}
	}
	if (in->n_hash > 0)
	{
		uint64		h = in->hash_seed;

		for (i = 0; i < in->n_hash; i++)
		{
			int			a = in->hash_attnos[i] - 1;
			uint64		v = isnull[a] ? GBT_NULL_HASH
				: DatumGetUInt64(FunctionCall2Coll(in->hash_procs[i], in->hash_collations[i],
												   values[a], UInt64GetDatum(in->hash_seed)));

			h = hash_combine64(h, v);
		}
		in->hashes[row] = Mix64(h);
	}
	in->n_rows++;
}

/* Fetches every row of the cursor into the columns asked for. */
void
GbtInputRead(GbtInput *in)
{
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "gbt rows",
												  ALLOCSET_DEFAULT_SIZES);
	Datum	   *values = palloc(Max(in->desc->natts, 1) * sizeof(Datum));
	bool	   *isnull = palloc(Max(in->desc->natts, 1) * sizeof(bool));

	for (;;)
	{
		uint64		n;
		uint64		i;
		MemoryContext old;

		SPI_cursor_fetch(in->portal, true, GBT_FETCH_ROWS);
		n = SPI_processed;
		if (n == 0)
			break;
		Grow(in, in->n_rows + n);
		for (i = 0; i < n; i++)
		{
			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, isnull);
			old = MemoryContextSwitchTo(scratch);
			ReadRow(in, values, isnull);
			MemoryContextSwitchTo(old);
		}
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(scratch);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(scratch);
	pfree(values);
	pfree(isnull);
}

/* Closes the cursor; the columns stay. */
void
GbtInputClose(GbtInput *in)
{
	if (in->portal)
		SPI_cursor_close(in->portal);
	in->portal = NULL;
}

/*
 * lag[i] = value of the previous row of the same entity by time: SQL's
 * lag(value) OVER (PARTITION BY entity ORDER BY time), NULL times last.
 */
void
GbtComputeLag(GbtColumn *entity, GbtColumn *time, GbtColumn *value, size_t n_rows, double *lag)
{
	char		error[GBT_ERROR_MAX];

	if (!GbtLag((const char *const *) entity->texts, time->times, value->numbers,
				n_rows, lag, error))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not compute the lag of \"%s\": %s", value->name, error)));
}
