/*
 * generator_sql.h - the traffic generator from SQL: profiles, options,
 * ground truth
 */
#ifndef IPFLOW_GENERATOR_SQL_H
#define IPFLOW_GENERATOR_SQL_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/jsonb.h"

#include "generator.h"
#include "profile.h"

/* Ground truth rows gathered before one insert (when inserting as it goes). */
#define GEN_ANOMALY_BATCH 10000

/*
 * What a generator runs on: its profiles (with their names) and options,
 * and the generator once started.  It lives in the memory context given
 * when it is made; the core's allocations are freed with that context.
 */
typedef struct GenSetup
{
	int			nprofiles;
	Profile   **profiles;
	char	  **names;
	GeneratorOptions options;
	Generator  *gen;
	MemoryContextCallback cleanup;
} GenSetup;

/*
 * A setup from options (jsonb; may be NULL for the defaults): its
 * "profiles" member names profiles of ipflow.profiles in order, else all of
 * them are used, by name; the other members are the core's options.  what
 * names the caller in messages.  Needs SPI.
 */
extern GenSetup *GenSetupFromOptions(Jsonb *options, const char *what, MemoryContext context);

/*
 * A setup from frozen profiles (a JSON array of {"name", "profile"}, as
 * GenSetupFreeze makes) and the core's options as JSON text.  Needs SPI.
 */
extern GenSetup *GenSetupFromFrozen(const char *profiles_json, const char *options_json,
									const char *what, MemoryContext context);

/* The setup's profiles as a JSON array of {"name", "profile"}.  Needs SPI. */
extern char *GenSetupFreeze(GenSetup *setup);

/* The options without "profiles", as JSON text for GenSetupFromFrozen. */
extern char *GenOptionsCoreJson(Jsonb *options);

/* Starts the generator; errors name the argument out of range. */
extern void GenSetupStart(GenSetup *setup, int n_ips, TimestampTz start, int hours, int64 seed);

/*
 * Collects ground truth and inserts it into ipflow.generated_anomalies:
 * every GEN_ANOMALY_BATCH rows when it inserts as it goes, else only when
 * flushed.
 */
typedef struct AnomalyRecorder
{
	GenSetup   *setup;
	int64		seed;
	bool		as_it_goes;
	int			n;
	int			capacity;
	Datum	   *values[9];		/* ip, ts, feature, kind, expected, value, starts_at, hours, profile */
	bool	   *nulls[9];
	int64		recorded;
	MemoryContext keep;			/* the arrays */
	MemoryContext context;		/* the values gathered */
} AnomalyRecorder;

extern AnomalyRecorder *AnomalyRecorderNew(GenSetup *setup, int64 seed, bool as_it_goes,
										   MemoryContext context);

/* Adds an item's anomaly (inserting a full batch as it goes needs SPI). */
extern void AnomalyRecorderAdd(AnomalyRecorder *r, const GeneratorItem *item);

/* Inserts what was gathered.  Needs SPI. */
extern void AnomalyRecorderFlush(AnomalyRecorder *r);

/* Forgets what was gathered (its events were not delivered). */
extern void AnomalyRecorderDiscard(AnomalyRecorder *r);

#endif
