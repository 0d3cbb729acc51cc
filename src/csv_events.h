/*
 * csv_events.h - rows of a logs.csv, the original system's export of events
 */
#ifndef IPFLOW_CSV_EVENTS_H
#define IPFLOW_CSV_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

/* src_ip, the nine features, timestamp */
#define CSV_EVENTS_COLUMNS (EVENT_NFEATURES + 2)
#define CSV_EVENTS_ERROR_MAX 256

/* A line longer than this is refused (a real row has about 80 bytes). */
#define CSV_EVENTS_MAX_LINE 65536

/* Column names in the original order: src_ip, the features, timestamp. */
extern const char *const CsvEventsColumns[CSV_EVENTS_COLUMNS];

/* Where each column is in a line, from the header. */
typedef struct CsvEventsLayout
{
	int			field_of[CSV_EVENTS_COLUMNS]; /* position in the line */
	int			nfields;		/* fields every row must have */
} CsvEventsLayout;

/*
 * Reads the header line (without its line end; a UTF-8 byte order mark and
 * a trailing CR are fine).  Every column must be there once, in any order;
 * other columns (a pandas index, say) are ignored.  False with a readable
 * error otherwise.
 */
extern bool CsvEventsParseHeader(const char *line, size_t len, CsvEventsLayout *layout,
							   char error[CSV_EVENTS_ERROR_MAX]);

/*
 * Reads one row into out: src_ip an address literal, timestamp as events
 * have it (event.h), each feature a non-negative integer ("17", or "17.0"
 * as pandas writes a column with gaps) or empty when missing.  Fields may
 * be double-quoted.  False with a readable error otherwise.
 */
extern bool CsvEventsParseRow(const CsvEventsLayout *layout, const char *line, size_t len,
							Event *out, char error[CSV_EVENTS_ERROR_MAX]);

/* Whether a line holds nothing but spaces (and a CR): skipped. */
extern bool CsvEventsBlank(const char *line, size_t len);

#endif
