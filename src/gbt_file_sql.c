/*
 * gbt_file_sql.c - ipflow.gbt_export() and ipflow.gbt_import(): model files
 *
 * A model file is the core's JSON (gbt_json.c, documented in README), so a
 * model moves between servers or to other tools.  Files are read and
 * written by the server process, so, as with COPY and pg_read_file, only
 * superusers and members of pg_write_server_files (export) or
 * pg_read_server_files (import) may.  Export writes a temporary file beside
 * the target and renames it, so a reader never sees half a model.  Import
 * trusts nothing: only a regular file of at most 16 MB, valid in the
 * database's encoding, and every part of the model checked by the core
 * before anything is stored.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "gbt_sql.h"

/* Larger files are refused unread; the core refuses larger models too. */
#define GBT_MAX_FILE_BYTES (16 * 1024 * 1024)

/* Refuses a NULL argument. */
static void
RequireArg(FunctionCallInfo fcinfo, int arg, const char *name, const char *hint)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name),
				 errhint("%s", hint)));
}

/* Only superusers and members of role may touch server files. */
static void
RequireFileRole(Oid role, const char *role_name, const char *what)
{
	if (!superuser() && !has_privs_of_role(GetUserId(), role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s a model file", what),
				 errdetail("Only superusers and members of %s may %s files on the server.", role_name, what),
				 errhint("Ask an administrator to GRANT %s to your role.", role_name)));
}

/* A path must be absolute: relative to what would be a surprise. */
static char *
CheckPath(text *arg)
{
	char	   *path = text_to_cstring(arg);

	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model file path must be absolute, not \"%s\"", path),
				 errhint("For example '/var/lib/postgresql/models/unq_dst_ip.json'.")));
	return path;
}

PG_FUNCTION_INFO_V1(ipflow_gbt_export);

/* SQL: writes a stored model to a file; returns its size in bytes. */
Datum
ipflow_gbt_export(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *path;
	char	   *tmp;
	char	   *json;
	size_t		len;
	size_t		done = 0;
	int			fd;
	struct stat st;

	RequireArg(fcinfo, 0, "name", "Name a model of ipflow.gbt_models.");
	RequireArg(fcinfo, 1, "path", "Pass the absolute path of the file to write.");
	RequireFileRole(ROLE_PG_WRITE_SERVER_FILES, "pg_write_server_files", "write");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	path = CheckPath(PG_GETARG_TEXT_PP(1));

	json = GbtModelJsonText(GbtModelLookup(name, false));
	len = strlen(json);

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
	{
		char	   *dir = pstrdup(path);

		while (strlen(dir) > 0 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("could not write model file \"%s\": it is a directory", path),
				 errhint("Name a file in that directory, for example '%s/%s.json'.", dir, name)));
	}
	tmp = psprintf("%s.tmp%d", path, MyProcPid);
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write model file \"%s\": %m", path),
				 errhint("The directory must exist and be writable by the server's operating-system user.")));
	while (done < len)
	{
		ssize_t		w;

		errno = 0;
		w = write(fd, json + done, len - done);
		if (w <= 0)
		{
			int			save = errno ? errno : ENOSPC;

			CloseTransientFile(fd);
			unlink(tmp);
			errno = save;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write model file \"%s\": %m", path)));
		}
		done += (size_t) w;
	}
	if (pg_fsync(fd) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write model file \"%s\": %m", path)));
	}
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write model file \"%s\": %m", path)));
	if (rename(tmp, path) != 0)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write model file \"%s\": %m", path)));
	}
	PG_RETURN_INT64((int64) len);
}

/* The file's bytes, NUL-terminated; only a regular file of bounded size. */
static char *
ReadModelFile(const char *path, size_t *len)
{
	struct stat st;
	char	   *buf;
	size_t		done = 0;
	int			fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s\": %m", path),
				 errhint("The file must exist and be readable by the server's operating-system user.")));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("could not read model file \"%s\": not a regular file", path)));
	}
	if (st.st_size > GBT_MAX_FILE_BYTES)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model file \"%s\" has %lld bytes; a model file has at most %d MB",
						path, (long long) st.st_size, GBT_MAX_FILE_BYTES >> 20)));
	}
	buf = palloc(GBT_MAX_FILE_BYTES + 2);
	for (;;)
	{
		ssize_t		r = read(fd, buf + done, GBT_MAX_FILE_BYTES + 1 - done);

		if (r < 0)
		{
			int			save = errno;

			CloseTransientFile(fd);
			errno = save;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read model file \"%s\": %m", path)));
		}
		if (r == 0)
			break;
		done += (size_t) r;
		if (done > GBT_MAX_FILE_BYTES)
		{
			CloseTransientFile(fd);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("model file \"%s\" is larger than %d MB", path, GBT_MAX_FILE_BYTES >> 20)));
		}
	}
	CloseTransientFile(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

/* "models/unq_dst_ip.json" -> "unq_dst_ip" */
static char *
NameFromPath(const char *path)
{
	const char *base = strrchr(path, '/');
	char	   *name = pstrdup(base ? base + 1 : path);
	size_t		len = strlen(name);

	if (len > 5 && strcmp(name + len - 5, ".json") == 0)
		name[len - 5] = '\0';
	return name;
}

PG_FUNCTION_INFO_V1(ipflow_gbt_import);

/* SQL: stores the model of a file under name (default: the file's name). */
Datum
ipflow_gbt_import(PG_FUNCTION_ARGS)
{
	char	   *path;
	char	   *name;
	char	   *buf;
	size_t		len;
	GbtModel   *model;
	char		error[GBT_ERROR_MAX];

	RequireArg(fcinfo, 0, "path", "Pass the absolute path of a file written by ipflow.gbt_export().");
	RequireFileRole(ROLE_PG_READ_SERVER_FILES, "pg_read_server_files", "read");
	path = CheckPath(PG_GETARG_TEXT_PP(0));
	name = PG_ARGISNULL(1) ? NameFromPath(path) : text_to_cstring(PG_GETARG_TEXT_PP(1));
	GbtCheckName(name);

	buf = ReadModelFile(path, &len);
	if (!pg_verify_mbstr(GetDatabaseEncoding(), buf, (int) len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid model file \"%s\": not valid %s text", path, GetDatabaseEncodingName()),
				 errhint("A model file is JSON text as ipflow.gbt_export() writes it.")));
	model = GbtModelFromJson(buf, len, error);
	pfree(buf);
	if (model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model file \"%s\": %s", path, error),
				 errhint("A model file is what ipflow.gbt_export() writes: JSON of format \"%s\", version %d.",
						 GBT_FORMAT_NAME, GBT_FORMAT_VERSION)));
	GbtTrackModel(model);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GbtStoreModel(name, model, GbtParamsToJson(&model->params), NULL, -1);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}
