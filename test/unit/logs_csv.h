/*
 * logs_csv.h - the real rows of data/logs.csv, grouped by source IP, for the
 * generator's tests and benchmark
 *
 * Columns: src_ip,unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,
 * bytesin,bytesout,unq_dst_port,timestamp; an empty feature is missing.
 */
#ifndef IPFLOW_LOGS_CSV_H
#define IPFLOW_LOGS_CSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "profile.h"

#define LOGS_MAX_IPS 16

typedef struct LogsIp
{
	char		ip[IP_TEXT_MAX];
	ProfileRow *rows;
	size_t		nrows;
	size_t		cap;
} LogsIp;

typedef struct Logs
{
	LogsIp		ips[LOGS_MAX_IPS];
	int			nips;
} Logs;

/* Reads the file; false (with a message on stderr) when it cannot. */
static bool
LogsLoad(const char *path, Logs *logs)
{
	FILE	   *file = fopen(path, "r");
	char		line[1024];
	int			lineno = 0;

	memset(logs, 0, sizeof(*logs));
	if (file == NULL)
	{
		fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
		return false;
	}
	while (fgets(line, sizeof(line), file))
	{
		char	   *field[11];
		char	   *p = line;
		ProfileRow row;
		LogsIp	   *ip = NULL;
		int			n = 0,
					i;

		if (lineno++ == 0)
			continue;			/* the header */
		line[strcspn(line, "\r\n")] = '\0';
		while (n < 11)
		{
			field[n++] = p;
			p = strchr(p, ',');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (n != 11 || !EventParseTimestamp(field[10], strlen(field[10]), &row.ts_us))
		{
			fprintf(stderr, "%s:%d: not a row\n", path, lineno);
			fclose(file);
			return false;
		}
		row.present = 0;
		for (i = 0; i < EVENT_NFEATURES; i++)
		{
			row.features[i] = field[i + 1][0] ? strtoll(field[i + 1], NULL, 10) : 0;
			if (field[i + 1][0])
				row.present |= 1u << i;
		}
		for (i = 0; i < logs->nips; i++)
			if (strcmp(logs->ips[i].ip, field[0]) == 0)
				ip = &logs->ips[i];
		if (ip == NULL)
		{
			if (logs->nips == LOGS_MAX_IPS)
			{
				fclose(file);
				return false;
			}
			ip = &logs->ips[logs->nips++];
			snprintf(ip->ip, sizeof(ip->ip), "%s", field[0]);
		}
		if (ip->nrows == ip->cap)
		{
			ip->cap = ip->cap ? ip->cap * 2 : 1024;
			ip->rows = realloc(ip->rows, ip->cap * sizeof(ProfileRow));
		}
		ip->rows[ip->nrows++] = row;
	}
	fclose(file);
	return true;
}

static void
LogsFree(Logs *logs)
{
	int			i;

	for (i = 0; i < logs->nips; i++)
		free(logs->ips[i].rows);
	logs->nips = 0;
}

#endif
