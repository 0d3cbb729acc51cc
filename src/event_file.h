/*
 * event_file.h - the events of one file of the original sender (cl_logs/N.json)
 */
#ifndef IPFLOW_EVENT_FILE_H
#define IPFLOW_EVENT_FILE_H

#include <stdbool.h>
#include <stddef.h>

#define EVENT_FILE_ERROR_MAX 256

/* Where one event's JSON text is in the file. */
typedef struct EventFileSpan
{
	size_t		offset;
	size_t		len;
	int			line;			/* of its first byte, from 1 */
} EventFileSpan;

/*
 * Splits a file into the JSON texts of its events, without judging them
 * (EventParse does): a JSON array (each element an event), a single JSON
 * value, or one JSON text per line (blank lines skipped).  Returns the
 * spans (malloc'd; free them, also when there are none) and their count,
 * or false with a readable error when an array or single document is not
 * valid JSON.
 */
extern bool EventFileSplit(const char *text, size_t len, EventFileSpan **spans, int *nspans,
						   char error[EVENT_FILE_ERROR_MAX]);

#endif
