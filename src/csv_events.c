/*
 * csv_events.c - rows of a logs.csv, the original system's export of events
 *
 * The original system kept its real traffic as a CSV file with the header
 * src_ip,unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,bytesin,
 * bytesout,unq_dst_port,timestamp (data/logs.csv).  ipflow.load_csv reads
 * such files line by line through this parser, which knows nothing of
 * Postgres, so it is unit-tested on its own.  Fields follow RFC 4180 within
 * one line: separated by commas, optionally double-quoted with "" for a
 * quote; spaces around a field are dropped.
 */
#include "postgres_fe.h"

#include <stdarg.h>

#include "ip.h"
#include "csv_events.h"

const char *const CsvEventsColumns[CSV_EVENTS_COLUMNS] = {
	"src_ip", "unq_dst_ip", "allow", "drop", "frequency", "pkts_sent",
	"pkts_received", "bytesin", "bytesout", "unq_dst_port", "timestamp"
};

#define COLUMN_SRC_IP 0
#define COLUMN_TIMESTAMP (CSV_EVENTS_COLUMNS - 1)

/* More fields than this in a line are refused. */
#define MAX_FIELDS 64
/* A field value shown in an error is cut to this many bytes. */
#define SHOWN_MAX 64

/* One field of a line: unquoted, NUL-terminated, in a shared buffer. */
typedef struct Field
{
	const char *text;
	size_t		len;
} Field;

static bool Fail(char *error, const char *fmt,...) pg_attribute_printf(2, 3);

/* Writes a readable error; always returns false. */
static bool
Fail(char *error, const char *fmt,...)
{
	va_list		args;

	if (error == NULL)
		return false;
	va_start(args, fmt);
	vsnprintf(error, CSV_EVENTS_ERROR_MAX, fmt, args);
	va_end(args);
	return false;
}

/* A value for an error message: printable ASCII, cut, in quotes. */
static const char *
Shown(const char *s, size_t len, char out[SHOWN_MAX + 8])
{
	size_t		i,
				n = 0;

	out[n++] = '"';
	for (i = 0; i < len && n < SHOWN_MAX; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len)
	{
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* Space around a field: blank or tab. */
static bool
IsSpace(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether a line holds nothing but spaces (and a CR). */
bool
CsvEventsBlank(const char *line, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (!IsSpace(line[i]) && line[i] != '\r')
			return false;
	return true;
}

/*
 * Splits a line into at most MAX_FIELDS fields, unquoted into buf (at least
 * len + MAX_FIELDS bytes: unquoting only shrinks a field, and each gets a
 * NUL).  Returns the number of fields, or -1 with an error.
 */
static int
SplitFields(const char *line, size_t len, char *buf, Field *fields, char *error)
{
	size_t		i = 0;
	char	   *o = buf;
	int			n = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (;;)
	{
		Field	   *f;

		if (n == MAX_FIELDS)
		{
			Fail(error, "more than %d fields", MAX_FIELDS);
			return -1;
		}
		f = &fields[n++];
		f->text = o;
		while (i < len && IsSpace(line[i]))
			i++;
		if (i < len && line[i] == '"')
		{
			i++;
			for (;;)
			{
				if (i >= len)
				{
					Fail(error, "field %d: a quoted field is not closed", n);
					return -1;
				}
				if (line[i] == '"')
				{
					if (i + 1 < len && line[i + 1] == '"')
					{
						*o++ = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				*o++ = line[i++];
			}
			while (i < len && IsSpace(line[i]))
				i++;
			if (i < len && line[i] != ',')
			{
				Fail(error, "field %d: text after the closing quote", n);
				return -1;
			}
		}
		else
		{
			while (i < len && line[i] != ',')
			{
				if (line[i] == '"')
				{
					Fail(error, "field %d: a quote inside an unquoted field", n);
					return -1;
				}
				*o++ = line[i++];
			}
			while (o > f->text && IsSpace(o[-1]))
				o--;
		}
		f->len = (size_t) (o - f->text);
		*o++ = '\0';
		if (i >= len)
			return n;
		i++;					/* the comma */
	}
}

/* Unquoted fields of the line being read (the parser is not reentrant). */
static char field_text[CSV_EVENTS_MAX_LINE + MAX_FIELDS + 1];
static Field fields_buf[MAX_FIELDS];

/* Reads the header: where each column is. */
bool
CsvEventsParseHeader(const char *line, size_t len, CsvEventsLayout *layout,
				   char error[CSV_EVENTS_ERROR_MAX])
{
	char		split_error[CSV_EVENTS_ERROR_MAX];
	char		shown[SHOWN_MAX + 8];
	int			n,
				i,
				c;

	if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
	{
		line += 3;
		len -= 3;
	}
	if (len > CSV_EVENTS_MAX_LINE)
		return Fail(error, "the header is longer than %d bytes", CSV_EVENTS_MAX_LINE);
	n = SplitFields(line, len, field_text, fields_buf, split_error);
	if (n < 0)
		return Fail(error, "the header cannot be read: %s", split_error);
	for (c = 0; c < CSV_EVENTS_COLUMNS; c++)
		layout->field_of[c] = -1;
	layout->nfields = n;
	for (i = 0; i < n; i++)
		for (c = 0; c < CSV_EVENTS_COLUMNS; c++)
			if (strcmp(fields_buf[i].text, CsvEventsColumns[c]) == 0)
			{
				if (layout->field_of[c] >= 0)
					return Fail(error, "the header names column %s twice",
								Shown(fields_buf[i].text, fields_buf[i].len, shown));
				layout->field_of[c] = i;
			}
	for (c = 0; c < CSV_EVENTS_COLUMNS; c++)
		if (layout->field_of[c] < 0)
			return Fail(error, "the header has no column \"%s\" (a logs.csv header is src_ip,"
						"unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,bytesin,"
						"bytesout,unq_dst_port,timestamp)", CsvEventsColumns[c]);
	return true;
}

/*
 * A count: digits, optionally followed by "." and zeros only; fits int64.
 * Returns 1 when read, 0 when empty (missing), -1 when bad.
 */
static int
CountRead(const char *s, size_t len, int64_t *value, const char **why)
{
	size_t		i = 0;
	uint64_t	v = 0;

	if (len == 0)
		return 0;
	if (s[0] == '-')
	{
		*why = "is negative";
		return -1;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
	{
		if (v > (uint64_t) (INT64_MAX - (s[i] - '0')) / 10)
		{
			*why = "is too large";
			return -1;
		}
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	if (i == 0)
	{
		*why = "is not a whole number";
		return -1;
	}
	if (i < len && s[i] == '.')
	{
		for (i++; i < len && s[i] == '0'; i++)
			;
	}
	if (i < len)
	{
		*why = "is not a whole number";
		return -1;
	}
	*value = (int64_t) v;
	return 1;
}

/* Reads one row. */
bool
CsvEventsParseRow(const CsvEventsLayout *layout, const char *line, size_t len, Event *out,
				char error[CSV_EVENTS_ERROR_MAX])
{
	char		split_error[CSV_EVENTS_ERROR_MAX];
	char		shown[SHOWN_MAX + 8];
	const Field *f;
	int			n,
				c;

	if (len > CSV_EVENTS_MAX_LINE)
		return Fail(error, "the line is longer than %d bytes", CSV_EVENTS_MAX_LINE);
	n = SplitFields(line, len, field_text, fields_buf, split_error);
	if (n < 0)
		return Fail(error, "%s", split_error);
	if (n != layout->nfields)
		return Fail(error, "%d fields where the header has %d", n, layout->nfields);

	memset(out, 0, sizeof(*out));
	f = &fields_buf[layout->field_of[COLUMN_SRC_IP]];
	if (!IpParse(f->text, f->len, &out->src_ip))
		return Fail(error, "src_ip %s is not an IP address", Shown(f->text, f->len, shown));
	IpFormat(&out->src_ip, out->src_ip_text);

	f = &fields_buf[layout->field_of[COLUMN_TIMESTAMP]];
	if (!EventParseTimestamp(f->text, f->len, &out->ts_us))
		return Fail(error, "timestamp %s is not a time such as 2022-01-03 08:00:00",
					Shown(f->text, f->len, shown));

	for (c = 1; c <= EVENT_NFEATURES; c++)
	{
		const char *why = NULL;
		int			got;

		f = &fields_buf[layout->field_of[c]];
		got = CountRead(f->text, f->len, &out->features[c - 1], &why);
		if (got < 0)
			return Fail(error, "%s %s %s", CsvEventsColumns[c], Shown(f->text, f->len, shown), why);
		if (got > 0)
			out->present |= 1u << (c - 1);
	}
	return true;
}
