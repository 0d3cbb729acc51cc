/*
 * ipflow.c - module entry point
 *
 * _PG_init only calls each part's init; the parts live in their own files.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/tuplestore.h"

#include "event.h"
#include "guc.h"
#include "ipflow.h"
#include "launcher.h"
#include "log_filter.h"
#include "shmem.h"

PG_MODULE_MAGIC;

bool		IpflowPreloaded = false;

void		_PG_init(void);

void
_PG_init(void)
{
	IpflowPreloaded = process_shared_preload_libraries_in_progress;
	IpflowDefineGucs();
	if (IpflowPreloaded)
	{
		IpflowShmemInit();
		LauncherRegister();
		LogFilterInstall();
	}
}

/* Refuses a feature that needs the background workers or shared memory. */
void
IpflowRequirePreload(const char *feature)
{
	if (!IpflowPreloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s requires ipflow to be loaded via shared_preload_libraries", feature),
				 errhint("Add ipflow to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * Refuses to read server files for a role that COPY FROM a file would
 * refuse: only superusers and members of pg_read_server_files may.
 */
void
IpflowRequireFileReader(const char *what)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read server files with %s", what),
				 errhint("Only superusers and members of pg_read_server_files may: "
						 "GRANT pg_read_server_files TO the role.")));
}

/*
 * Prepares fcinfo to return a set in materialize mode; the caller puts its
 * rows into rsinfo->setResult with rsinfo->setDesc.  (Postgres 15 has
 * SetSingleFuncCall for this, 16 renamed it; this works on 13 to 17.)
 */
void
IpflowMaterializeResult(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcontext);
}

PG_FUNCTION_INFO_V1(ipflow_preloaded);

/* SQL: whether this server can run ipflow's background workers. */
Datum
ipflow_preloaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IpflowPreloaded);
}

/* The index of a feature in ipflow.features(); errors name the known ones. */
int
IpflowFeatureIndex(const char *name)
{
	int			f;

	for (f = 0; f < EVENT_NFEATURES; f++)
		if (strcmp(name, EventFeatureNames[f]) == 0)
			return f;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown feature \"%s\"", name),
			 errhint("Use one of ipflow.features(): unq_dst_ip, allow, drop, frequency, pkts_sent, "
					 "pkts_received, bytesin, bytesout, unq_dst_port.")));
	return -1;
}
