/*
 * generator_sql.c - the traffic generator from SQL
 *
 * ipflow.learn_profiles() learns one profile per source IP of a table or
 * query (profile.c) into ipflow.profiles; ipflow.generate_events() runs the
 * generator (generator.c) on those profiles and returns its events with
 * their JSON payloads, recording the anomalies it injected in
 * ipflow.generated_anomalies.  The setup and ground-truth helpers here are
 * shared with ipflow.send() and the sender worker.
 *
 * The cores allocate with malloc; their objects are freed by a callback of
 * the memory context that holds the setup, so an error or a cancel leaks
 * nothing.
 */
#include "postgres.h"

#include <sys/socket.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "datum.h"
#include "event_source.h"
#include "generator_sql.h"
#include "ipflow.h"

/* Rows fetched at once from a learning source. */
#define LEARN_FETCH 10000

/* Profile names listed in an error. */
#define KNOWN_NAMES_SHOWN 10

#define OPTIONS_HINT "Options: profiles (names in ipflow.profiles), anomaly_rate, anomaly_kinds, " \
	"scale_spread, value_jitter, time_jitter, assign."

/* Frees what the cores allocated, when the setup's context goes. */
static void
GenSetupCleanup(void *arg)
{
	GenSetup   *setup = arg;
	int			i;

	GeneratorFree(setup->gen);
	setup->gen = NULL;
	for (i = 0; i < setup->nprofiles; i++)
		ProfileFree(setup->profiles[i]);
	setup->nprofiles = 0;
}

/* An empty setup in context, whose reset frees what the cores allocate. */
static GenSetup *
GenSetupNew(int nprofiles, MemoryContext context)
{
	GenSetup   *setup = MemoryContextAllocZero(context, sizeof(GenSetup));

	setup->profiles = MemoryContextAllocZero(context, Max(nprofiles, 1) * sizeof(Profile *));
	setup->names = MemoryContextAllocZero(context, Max(nprofiles, 1) * sizeof(char *));
	GeneratorOptionsInit(&setup->options);
	setup->cleanup.func = GenSetupCleanup;
	setup->cleanup.arg = setup;
	MemoryContextRegisterResetCallback(context, &setup->cleanup);
	return setup;
}

/* Runs a read-only query with one argument; errors if it fails. */
static void
RunQuery(const char *sql, Oid type, Datum value)
{
	Oid			types[1] = {type};
	Datum		values[1] = {value};

	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "ipflow: query failed: %s", sql);
}

/* The text of column col of row i of the last SPI result, or NULL. */
static char *
Column(uint64 i, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col);
}

/* Refuses a profile name that ipflow.profiles does not have. */
static void
UnknownProfile(const char *what, const char *name)
{
	StringInfoData known;
	uint64		i;

	initStringInfo(&known);
	if (SPI_execute("SELECT name FROM ipflow.profiles ORDER BY name LIMIT " CppAsString2(KNOWN_NAMES_SHOWN),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ipflow.profiles");
	for (i = 0; i < SPI_processed; i++)
		appendStringInfo(&known, "%s%s", i ? ", " : "", Column(i, 1));
	if (known.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: unknown profile \"%s\"", what, name),
				 errhint("No profile has been learned yet: see ipflow.learn_profiles().")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("%s: unknown profile \"%s\"", what, name),
			 errhint("ipflow.profiles has: %s%s", known.data,
					 SPI_processed == KNOWN_NAMES_SHOWN ? ", ..." : "")));
}

/*
 * Fills the setup from the rows of the last SPI result, (name, profile
 * document) each, in order; a missing document is an unknown name.  The
 * rows are copied out first: parsing profiles allocates.
 */
static GenSetup *
GenSetupFromRows(const char *what, const char *source, MemoryContext context)
{
	uint64		n = SPI_processed;
	char	  **names = palloc((n + 1) * sizeof(char *));
	char	  **docs = palloc((n + 1) * sizeof(char *));
	GenSetup   *setup;
	uint64		i;

	if (n > GENERATOR_MAX_PROFILES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: at most %d profiles can be used at once, not " UINT64_FORMAT,
						what, GENERATOR_MAX_PROFILES, n),
				 errhint("Name the ones to use in options.profiles.")));
	for (i = 0; i < n; i++)
	{
		names[i] = Column(i, 1);
		docs[i] = Column(i, 2);
	}
	for (i = 0; i < n; i++)
		if (docs[i] == NULL)
			UnknownProfile(what, names[i]);

	setup = GenSetupNew((int) n, context);
	for (i = 0; i < n; i++)
	{
		char		error[PROFILE_ERROR_MAX];
		Profile    *p = ProfileFromJson(docs[i], strlen(docs[i]), error);

		if (p == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: profile \"%s\" %s is not valid: %s", what, names[i], source, error),
					 errhint("Learn it again with ipflow.learn_profiles(), or fix the document.")));
		setup->profiles[i] = p;
		setup->names[i] = MemoryContextStrdup(context, names[i]);
		setup->nprofiles = (int) i + 1;
	}
	return setup;
}

/* Reads the core's options from JSON text into the setup. */
static void
GenSetupOptions(GenSetup *setup, const char *json, const char *what)
{
	char		error[GENERATOR_ERROR_MAX];

	if (!GeneratorOptionsFromJson(json, strlen(json), &setup->options, error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: invalid options: %s", what, error),
				 errhint(OPTIONS_HINT)));
}

/* The options without "profiles", as JSON text. */
char *
GenOptionsCoreJson(Jsonb *options)
{
	if (options == NULL)
		return pstrdup("{}");
	RunQuery("SELECT CASE WHEN jsonb_typeof($1) = 'object' THEN ($1 - 'profiles')::text END",
		  JSONBOID, JsonbPGetDatum(options));
	return Column(0, 1) ? Column(0, 1) : pstrdup("{}");
}

/* A setup from the options of a call. */
GenSetup *
GenSetupFromOptions(Jsonb *options, const char *what, MemoryContext context)
{
	GenSetup   *setup;
	char	   *type;
	char	   *core;
	bool		named;

	if (options == NULL)
		options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	RunQuery("SELECT jsonb_typeof($1), $1 ? 'profiles', jsonb_typeof($1 -> 'profiles')",
		  JSONBOID, JsonbPGetDatum(options));
	type = Column(0, 1);
	if (strcmp(type, "object") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: options must be a JSON object, not %s", what, type),
				 errhint(OPTIONS_HINT)));
	named = strcmp(Column(0, 2), "t") == 0;
	if (named)
	{
		char	   *ptype = Column(0, 3);

		if (strcmp(ptype, "array") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: options.profiles must be an array of profile names, not %s", what, ptype)));
		RunQuery("SELECT t.n, jsonb_typeof(t.e) FROM jsonb_array_elements($1 -> 'profiles') "
			  "WITH ORDINALITY AS t(e, n) WHERE jsonb_typeof(t.e) <> 'string' ORDER BY t.n LIMIT 1",
			  JSONBOID, JsonbPGetDatum(options));
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: options.profiles[%d] must be a profile name, not %s", what,
							atoi(Column(0, 1)) - 1, Column(0, 2))));
		RunQuery("SELECT t.e #>> '{}', p.profile::text "
			  "FROM jsonb_array_elements($1 -> 'profiles') WITH ORDINALITY AS t(e, n) "
			  "LEFT JOIN ipflow.profiles p ON p.name = t.e #>> '{}' ORDER BY t.n",
			  JSONBOID, JsonbPGetDatum(options));
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: options.profiles is empty", what),
					 errhint("Name at least one profile, or leave profiles out to use them all.")));
	}
	else
	{
		if (SPI_execute("SELECT name, profile::text FROM ipflow.profiles ORDER BY name", true, 0)
			!= SPI_OK_SELECT)
			elog(ERROR, "could not read ipflow.profiles");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s: no behaviour profiles have been learned yet", what),
					 errhint("Learn them from real events, e.g. SELECT ipflow.load_csv('/path/logs.csv'); "
							 "SELECT * FROM ipflow.learn_profiles('ipflow.real_events');")));
	}
	setup = GenSetupFromRows(what, "in ipflow.profiles", context);
	core = GenOptionsCoreJson(options);
	GenSetupOptions(setup, core, what);
	return setup;
}

/* A setup from frozen profiles and core options. */
GenSetup *
GenSetupFromFrozen(const char *profiles_json, const char *options_json, const char *what,
				   MemoryContext context)
{
	GenSetup   *setup;

	RunQuery("SELECT t.e ->> 'name', (t.e -> 'profile')::text "
		  "FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY t.n",
		  TEXTOID, CStringGetTextDatum(profiles_json));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s: the stream has no profiles", what)));
	setup = GenSetupFromRows(what, "of the stream", context);
	GenSetupOptions(setup, options_json, what);
	return setup;
}

/* The setup's profiles as a JSON array of {"name", "profile"}. */
char *
GenSetupFreeze(GenSetup *setup)
{
	Datum	   *names = palloc(setup->nprofiles * sizeof(Datum));
	int			i;

	for (i = 0; i < setup->nprofiles; i++)
		names[i] = CStringGetTextDatum(setup->names[i]);
	RunQuery("SELECT jsonb_agg(jsonb_build_object('name', p.name, 'profile', p.profile) ORDER BY t.n)::text "
		  "FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n) JOIN ipflow.profiles p ON p.name = t.name",
		  TEXTARRAYOID, PointerGetDatum(DatumArray(names, NULL, setup->nprofiles, TEXTOID)));
	if (Column(0, 1) == NULL)
		elog(ERROR, "ipflow: the profiles changed while they were read");
	return Column(0, 1);
}

/* Starts the generator. */
void
GenSetupStart(GenSetup *setup, int n_ips, TimestampTz start, int hours, int64 seed)
{
	char		error[GENERATOR_ERROR_MAX];

	if (TIMESTAMP_NOT_FINITE(start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start must be a finite time")));
	setup->gen = GeneratorInit((const Profile *const *) setup->profiles, setup->nprofiles, n_ips,
							   TimestampToUnixUs(start), hours, (uint64) seed, &setup->options, error);
	if (setup->gen == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", error)));
}

/* A recorder of one seed's ground truth, living in context. */
AnomalyRecorder *
AnomalyRecorderNew(GenSetup *setup, int64 seed, bool as_it_goes, MemoryContext context)
{
	AnomalyRecorder *r = MemoryContextAllocZero(context, sizeof(AnomalyRecorder));

	r->setup = setup;
	r->seed = seed;
	r->as_it_goes = as_it_goes;
	r->keep = AllocSetContextCreate(context, "ipflow ground truth arrays", ALLOCSET_DEFAULT_SIZES);
	r->context = AllocSetContextCreate(context, "ipflow ground truth", ALLOCSET_DEFAULT_SIZES);
	return r;
}

/* Room for one more row. */
static void
AnomalyRecorderGrow(AnomalyRecorder *r)
{
	int			capacity = r->capacity ? r->capacity * 2 : 256;
	int			c;

	for (c = 0; c < (int) lengthof(r->values); c++)
	{
		if (r->capacity == 0)
		{
			r->values[c] = MemoryContextAlloc(r->keep, capacity * sizeof(Datum));
			r->nulls[c] = MemoryContextAlloc(r->keep, capacity * sizeof(bool));
		}
		else
		{
			r->values[c] = repalloc_huge(r->values[c], capacity * sizeof(Datum));
			r->nulls[c] = repalloc_huge(r->nulls[c], capacity * sizeof(bool));
		}
	}
	r->capacity = capacity;
}

/* Adds an item's anomaly; a full batch is inserted first when as it goes. */
void
AnomalyRecorderAdd(AnomalyRecorder *r, const GeneratorItem *item)
{
	const GeneratorAnomaly *a = &item->anomaly;
	MemoryContext old;
	int			i;
	int			c;

	if (!item->has_anomaly)
		return;
	if (r->as_it_goes && r->n >= GEN_ANOMALY_BATCH)
		AnomalyRecorderFlush(r);
	if (r->n == r->capacity)
		AnomalyRecorderGrow(r);
	i = r->n++;
	for (c = 0; c < (int) lengthof(r->nulls); c++)
		r->nulls[c][i] = false;
	old = MemoryContextSwitchTo(r->context);
	r->values[0][i] = IpGetInetDatum(&item->src_ip);
	r->values[1][i] = TimestampTzGetDatum(UnixUsToTimestamp(item->ts_us));
	r->nulls[2][i] = a->feature < 0;
	r->values[2][i] = a->feature < 0 ? (Datum) 0 : CStringGetTextDatum(EventFeatureNames[a->feature]);
	r->values[3][i] = CStringGetTextDatum(GeneratorAnomalyKindNames[a->kind]);
	r->nulls[4][i] = a->expected < 0;
	r->values[4][i] = Int64GetDatum(a->expected);
	r->nulls[5][i] = a->value < 0;
	r->values[5][i] = Int64GetDatum(a->value);
	r->values[6][i] = TimestampTzGetDatum(UnixUsToTimestamp(a->start_us));
	r->values[7][i] = Int32GetDatum(a->hours);
	r->values[8][i] = CStringGetTextDatum(r->setup->names[item->profile]);
	MemoryContextSwitchTo(old);
}

/*
 * Inserts what was gathered.  Ground truth is keyed by IP, hour and seed:
 * generating the same traffic again writes the same rows, and the latest
 * generation wins.
 */
void
AnomalyRecorderFlush(AnomalyRecorder *r)
{
	static const Oid element_types[9] = {INETOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID, INT8OID,
	TIMESTAMPTZOID, INT4OID, TEXTOID};
	Oid			types[10] = {INETARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, INT4ARRAYOID, TEXTARRAYOID, INT8OID};
	Datum		values[10];
	MemoryContext old;
	int			rc;
	int			c;

	if (r->n == 0)
		return;
	old = MemoryContextSwitchTo(r->context);
	for (c = 0; c < (int) lengthof(element_types); c++)
		values[c] = PointerGetDatum(DatumArray(r->values[c], r->nulls[c], r->n, element_types[c]));
	values[9] = Int64GetDatum(r->seed);
	MemoryContextSwitchTo(old);
	rc = SPI_execute_with_args(
		"INSERT INTO ipflow.generated_anomalies AS a "
		"(src_ip, ts, feature, kind, expected, value, starts_at, hours, seed, profile) "
		"SELECT u.src_ip, u.ts, u.feature, u.kind, u.expected, u.value, u.starts_at, u.hours, $10, u.profile "
		"FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9) "
		"AS u(src_ip, ts, feature, kind, expected, value, starts_at, hours, profile) "
		"ON CONFLICT (src_ip, ts, seed) DO UPDATE SET feature = EXCLUDED.feature, kind = EXCLUDED.kind, "
		"expected = EXCLUDED.expected, value = EXCLUDED.value, starts_at = EXCLUDED.starts_at, "
		"hours = EXCLUDED.hours, profile = EXCLUDED.profile, generated_at = now()",
		10, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "ipflow: could not record the generated anomalies: %s", SPI_result_code_string(rc));
	r->recorded += r->n;
	AnomalyRecorderDiscard(r);
}

/* Forgets what was gathered. */
void
AnomalyRecorderDiscard(AnomalyRecorder *r)
{
	r->n = 0;
	MemoryContextReset(r->context);
}

/* Names of the relations a profile holds, as a text[] Datum. */
static Datum
RelationNames(const Profile *p)
{
	Datum		names[PROFILE_NRELATIONS];
	int			n = 0;
	int			i;

	for (i = 0; i < PROFILE_NRELATIONS; i++)
		if (p->relation[i])
			names[n++] = CStringGetTextDatum(ProfileRelationNames[i]);
	return PointerGetDatum(DatumArray(names, NULL, n, TEXTOID));
}

/* The document of a learned profile; an error when learning failed. */
static char *
ProfileJsonOrError(Profile *p, const char *label, const char *error)
{
	char	   *json = NULL;

	if (p == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ipflow.learn_profiles: cannot learn the behaviour of %s: %s", label, error)));
	else
		json = ProfileToJson(p);
	if (json == NULL)
	{
		ProfileFree(p);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	return json;
}

/* Learns, stores and reports the profile of one source IP. */
static void
LearnOne(ReturnSetInfo *rsinfo, Datum ip, const ProfileRow *rows, size_t nrows, MemoryContext context)
{
	char		label[IP_TEXT_MAX];
	char		error[PROFILE_ERROR_MAX];
	IpAddr		addr;
	Profile    *p;
	char	   *json;
	char	   *copy;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	Oid			types[4] = {TEXTOID, INETOID, TEXTOID, INT8OID};
	int			active = 0;
	int			i;

	/* SPI calls switch to SPI's context: the group's values go to context */
	MemoryContextSwitchTo(context);
	InetDatumGetIp(ip, &addr);
	IpFormat(&addr, label);
	p = ProfileLearn(rows, nrows, label, error);
	json = ProfileJsonOrError(p, label, error);
	copy = pstrdup(json);
	free(json);
	for (i = 0; i < PROFILE_HOURS_PER_WEEK; i++)
		active += p->calendar[i] > 0.0;
	values[4] = RelationNames(p);
	ProfileFree(p);

	values[0] = CStringGetTextDatum(label);
	values[1] = ip;
	values[2] = CStringGetTextDatum(copy);
	values[3] = Int64GetDatum((int64) nrows);
	if (SPI_execute_with_args("INSERT INTO ipflow.profiles AS p (name, source_ip, profile, rows, learned_at) "
							  "VALUES ($1, $2, $3::jsonb, $4, now()) ON CONFLICT (name) DO UPDATE "
							  "SET source_ip = EXCLUDED.source_ip, profile = EXCLUDED.profile, "
							  "rows = EXCLUDED.rows, learned_at = EXCLUDED.learned_at",
							  4, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "ipflow.learn_profiles: could not store the profile of %s", label);
	MemoryContextSwitchTo(context);

	/* name, source_ip, rows, active_hours, relations */
	values[2] = Int64GetDatum((int64) nrows);
	values[3] = Int32GetDatum(active);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(ipflow_learn_profiles);

/*
 * SQL: learns one profile per source IP of a table or query with the event
 * columns, stores each in ipflow.profiles (by the IP's text, replacing an
 * earlier one) and returns what it stored.
 */
Datum
ipflow_learn_profiles(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext group_context;
	ProfileRow *rows = NULL;
	size_t		nrows = 0;
	size_t		capacity = 0;
	Datum		current = (Datum) 0;
	IpAddr		current_ip;
	int64		total = 0;
	Portal		portal;
	char	   *sql;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL"),
				 errhint("Pass a table name such as 'ipflow.real_events', or a query.")));
	IpflowMaterializeResult(fcinfo);
	group_context = AllocSetContextCreate(CurrentMemoryContext, "ipflow learn group",
										  ALLOCSET_DEFAULT_SIZES);
	memset(&current_ip, 0, sizeof(current_ip));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	sql = EventSourceSql(text_to_cstring(PG_GETARG_TEXT_PP(0)), "ORDER BY 1", "ipflow.learn_profiles");
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		i;
		uint64		fetched;
		SPITupleTable *tuples;

		/* kept apart: storing a profile runs statements of its own */
		SPI_cursor_fetch(portal, true, LEARN_FETCH);
		fetched = SPI_processed;
		tuples = SPI_tuptable;
		for (i = 0; i < fetched; i++)
		{
			EventSourceRow row;
			IpAddr		ip;
			ProfileRow *r;

			CHECK_FOR_INTERRUPTS();
			EventSourceRead(tuples->vals[i], tuples->tupdesc, &row);
			if (row.ip_null || row.ts_null)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("ipflow.learn_profiles: a row of the source has a NULL %s",
								row.ip_null ? "src_ip" : "ts")));
			if (ip_bits(DatumGetInetPP(row.ip)) != ip_maxbits(DatumGetInetPP(row.ip)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ipflow.learn_profiles: src_ip %s is a network, not a host address",
								DatumGetCString(DirectFunctionCall1(inet_out, row.ip)))));
			if (TIMESTAMP_NOT_FINITE(row.ts))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("ipflow.learn_profiles: a row of the source has an infinite ts")));
			InetDatumGetIp(row.ip, &ip);
			if (nrows > 0 && (ip.family != current_ip.family ||
							  memcmp(ip.bytes, current_ip.bytes, sizeof(ip.bytes)) != 0))
			{
				LearnOne(rsinfo, current, rows, nrows, group_context);
				MemoryContextReset(group_context);
				rows = NULL;
				nrows = capacity = 0;
			}
			if (nrows == 0)
			{
				current = PointerGetDatum(MemoryContextAlloc(group_context, VARSIZE_ANY(DatumGetPointer(row.ip))));
				memcpy(DatumGetPointer(current), DatumGetPointer(row.ip), VARSIZE_ANY(DatumGetPointer(row.ip)));
				current_ip = ip;
			}
			if (nrows == capacity)
			{
				capacity = Max(capacity * 2, 1024);
				rows = rows ? repalloc_huge(rows, capacity * sizeof(ProfileRow))
					: MemoryContextAllocHuge(group_context, capacity * sizeof(ProfileRow));
			}
			r = &rows[nrows++];
			r->ts_us = TimestampToUnixUs(row.ts);
			memcpy(r->features, row.features, sizeof(r->features));
			r->present = row.present;
			total++;
		}
		SPI_freetuptable(tuples);
		if (fetched < LEARN_FETCH)
			break;
	}
	if (nrows > 0)
		LearnOne(rsinfo, current, rows, nrows, group_context);
	SPI_cursor_close(portal);
	SPI_finish();
	if (total == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("ipflow.learn_profiles: the source has no rows to learn from"),
				 errhint("Load real events first, e.g. SELECT ipflow.load_csv('/path/logs.csv');")));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ipflow_generate_events);

/* Refuses a NULL argument by name. */
static void
RequireArgs(FunctionCallInfo fcinfo, const char *const *names, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", names[i])));
}

/*
 * SQL: n_ips synthetic IPs over hours hours from start, from the learned
 * profiles; one row per event with its JSON payload.  The ground truth of
 * every anomaly injected in that range goes to ipflow.generated_anomalies.
 */
Datum
ipflow_generate_events(PG_FUNCTION_ARGS)
{
	static const char *const args[] = {"n_ips", "start", "hours", "seed", "options"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GenSetup   *setup;
	AnomalyRecorder *recorder;
	GeneratorItem item;
	int64		seed;
	uint64		items = 0;
	union
	{
		inet		addr;
		char		bytes[sizeof(inet)];
	}			ip;
	union
	{
		text		t;
		char		bytes[VARHDRSZ + GENERATOR_JSON_MAX];
	}			payload;
	Datum		values[12];
	bool		nulls[12];

	RequireArgs(fcinfo, args, lengthof(args));
	IpflowMaterializeResult(fcinfo);
	seed = PG_GETARG_INT64(3);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	setup = GenSetupFromOptions(PG_GETARG_JSONB_P(4), "ipflow.generate_events", CurrentMemoryContext);
	GenSetupStart(setup, PG_GETARG_INT32(0), PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_INT32(2), seed);
	recorder = AnomalyRecorderNew(setup, seed, true, CurrentMemoryContext);

	memset(nulls, false, sizeof(nulls));
	memset(&ip, 0, sizeof(ip));
	memset(&item, 0, sizeof(item));
	while (GeneratorNext(setup->gen, &item))
	{
		size_t		len;
		int			f;

		if ((++items & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		AnomalyRecorderAdd(recorder, &item);
		if (!item.has_event)
			continue;
		/* the row's values live on the stack: nothing to free per row */
		ip_family(&ip.addr) = item.src_ip.family == 6 ? PGSQL_AF_INET6 : PGSQL_AF_INET;
		ip_bits(&ip.addr) = item.src_ip.family == 6 ? 128 : 32;
		memcpy(ip_addr(&ip.addr), item.src_ip.bytes, item.src_ip.family == 6 ? 16 : 4);
		SET_INET_VARSIZE(&ip.addr);
		values[0] = InetPGetDatum(&ip.addr);
		values[1] = TimestampTzGetDatum(UnixUsToTimestamp(item.ts_us));
		for (f = 0; f < EVENT_NFEATURES; f++)
			values[2 + f] = Int64GetDatum(item.features[f]);
		len = GeneratorFormatJson(&item, VARDATA(&payload.t));
		SET_VARSIZE(&payload.t, VARHDRSZ + len);
		values[11] = PointerGetDatum(&payload.t);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	AnomalyRecorderFlush(recorder);
	SPI_finish();
	return (Datum) 0;
}
