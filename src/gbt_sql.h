/*
 * gbt_sql.h - what the SQL glue of the boosted trees shares
 *
 * gbt_input_sql.c reads a query's rows into columns, gbt_options_sql.c
 * turns gbt_train's params into stages, gbt_train_sql.c trains and stores,
 * gbt_predict_sql.c keeps decoded models per backend and predicts,
 * gbt_file_sql.c exports and imports model files.
 */
#ifndef IPFLOW_GBT_SQL_H
#define IPFLOW_GBT_SQL_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/portal.h"

#include "gbt.h"
#include "gbt_pipeline.h"

/* Rows fetched from a query's cursor at a time. */
#define GBT_FETCH_ROWS 10000

/* Longest model name, in bytes. */
#define GBT_MAX_MODEL_NAME 200

/* Rows assembled and predicted at a time by the set-based predict. */
#define GBT_PREDICT_CHUNK 1024

typedef enum GbtColumnKind
{
	GBT_COLUMN_NUMBER,			/* a number: integer, float or numeric */
	GBT_COLUMN_TEXT,			/* any type, as its text (categories, entities) */
	GBT_COLUMN_TIME,			/* timestamp, date or integer, as int64 */
	GBT_COLUMN_DATUM			/* any type, the value copied */
} GbtColumnKind;

/* One column of a query's result, read into an array. */
typedef struct GbtColumn
{
	const char *name;
	const char *role;			/* what it is for, in messages */
	GbtColumnKind kind;
	int			attno;			/* 1-based in the query's result */
	Oid			type;			/* its type, domains resolved */
	FmgrInfo	output;			/* TEXT: the type's output function */
	struct HTAB *intern;		/* TEXT: the distinct texts */
	int16		typlen;			/* DATUM */
	bool		typbyval;		/* DATUM */
	double	   *numbers;		/* NUMBER: NaN for NULL */
	char	  **texts;			/* TEXT: NULL for NULL */
	int64	   *times;			/* TIME: PG_INT64_MAX for NULL (sorts last) */
	Datum	   *datums;			/* DATUM */
	bool	   *nulls;			/* DATUM */
} GbtColumn;

/* A query's rows, column by column, and optionally a hash of some columns. */
typedef struct GbtInput
{
	const char *what;			/* the argument's name, in messages */
	MemoryContext context;		/* where the columns live */
	Portal		portal;
	TupleDesc	desc;
	List	   *columns;		/* GbtColumn * */
	size_t		n_rows;
	size_t		capacity;
	/* hash of key columns (the random split) */
	int			n_hash;
	int		   *hash_attnos;
	FmgrInfo  **hash_procs;
	Oid		   *hash_collations;
	uint64		hash_seed;
	uint64	   *hashes;
} GbtInput;

/* gbt_input_sql.c */
extern void GbtCheckQueryText(const char *query, const char *what);
extern GbtInput *GbtInputOpen(const char *query, const char *what, MemoryContext context);
extern int	GbtInputFind(GbtInput *in, const char *name);
extern char *GbtInputColumnList(GbtInput *in);
extern bool GbtTypeIsNumber(Oid type);
extern bool GbtTypeIsTime(Oid type);
extern Oid	GbtInputType(GbtInput *in, int attno);
extern GbtColumn *GbtInputAdd(GbtInput *in, const char *name, GbtColumnKind kind, const char *role);
extern void GbtInputHashKey(GbtInput *in, List *names, uint64 seed);
extern void GbtInputRead(GbtInput *in);
extern void GbtInputClose(GbtInput *in);
extern void GbtComputeLag(GbtColumn *entity, GbtColumn *time, GbtColumn *value,
						  size_t n_rows, double *lag);

/* One lag stage as given in params. */
typedef struct GbtLagOption
{
	char	   *input;
	char	   *output;
	char	   *partition_by;
	char	   *order_by;
} GbtLagOption;

typedef enum GbtSplitKind
{
	GBT_SPLIT_RANDOM,
	GBT_SPLIT_CHRONOLOGICAL,
	GBT_SPLIT_COLUMN
} GbtSplitKind;

/* gbt_train's params, checked and with every default resolved. */
typedef struct GbtTrainOptions
{
	GbtParams	params;			/* the booster's */
	List	   *categorical;	/* char *, one-hot stages in order */
	bool		drop_last;
	List	   *lags;			/* GbtLagOption * */
	List	   *features;		/* char *, column stages in order */
	GbtSplitKind split;
	double		test_fraction;
	uint64		split_seed;
	List	   *split_key;		/* random: char * */
	char	   *split_column;	/* chronological: the time; column: the boolean */
} GbtTrainOptions;

/* gbt_options_sql.c */
extern void GbtOptionsParse(Jsonb *params, const char *label, GbtInput *in,
							GbtTrainOptions *options);
extern char *GbtOptionsToJson(const GbtTrainOptions *options);
extern char *GbtParamsToJson(const GbtParams *params);
extern const char *GbtJsonbTypeName(const JsonbValue *v);

/* gbt_predict_sql.c */
extern GbtModel *GbtModelLookup(const char *name, bool pin);
extern void GbtModelUnpin(GbtModel *model);

/* gbt_train_sql.c */
extern void GbtStoreModel(const char *name, const GbtModel *model, const char *params_json,
						  const char *metrics_json, int64 rows);
extern char *GbtModelJsonText(const GbtModel *model);
extern void GbtCheckName(const char *name);
extern void GbtTrackModel(GbtModel *model);

#endif
