/* Unit tests of csv_events.c: the header and rows of a logs.csv. */
#include "postgres_fe.h"

#include "csv_events.h"
#include "tap.h"

#define HEADER "src_ip,unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,bytesin,bytesout,unq_dst_port,timestamp"

static bool
header(const char *line, CsvEventsLayout *layout, char *error)
{
	return CsvEventsParseHeader(line, strlen(line), layout, error);
}

static bool
row(const CsvEventsLayout *layout, const char *line, Event *ev, char *error)
{
	return CsvEventsParseRow(layout, line, strlen(line), ev, error);
}

/* A row is refused, and the error mentions want. */
static void
refused(const CsvEventsLayout *layout, const char *line, const char *want)
{
	char		error[CSV_EVENTS_ERROR_MAX];
	Event		ev;

	error[0] = '\0';
	if (!ok(!row(layout, line, &ev, error), "refuses %s", line))
		return;
	if (!ok(strstr(error, want) != NULL, "the error names %s", want))
		printf("#   error: %s\n", error);
}

int
main(void)
{
	CsvEventsLayout layout,
				other,
				bad;
	char		error[CSV_EVENTS_ERROR_MAX];
	Event		ev;

	ok(header(HEADER, &layout, error), "the original header");
	is_int(layout.nfields, 11, "eleven fields");
	ok(header("\xEF\xBB\xBF" HEADER "\r", &other, error) && other.field_of[0] == 0,
	   "a byte order mark and a CR are fine");
	ok(header(",timestamp,src_ip,unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,bytesin,"
			  "bytesout,\"unq_dst_port\"", &other, error), "any order, quoted names, an index column");
	is_int(other.field_of[0], 2, "src_ip found by name");
	is_int(other.field_of[10], 1, "timestamp found by name");
	ok(!header("src_ip,unq_dst_ip,allow,drop,frequency,pkts_sent,pkts_received,bytesin,bytesout,timestamp",
			   &bad, error) && strstr(error, "no column \"unq_dst_port\"") != NULL,
	   "a missing column is named");
	ok(!header(HEADER ",allow", &bad, error) && strstr(error, "twice") != NULL,
	   "a repeated column is refused");
	ok(!header("", &bad, error), "an empty header is refused");
	ok(!header("a,\"b", &bad, error) && strstr(error, "not closed") != NULL,
	   "an unclosed quote in the header is refused");

	ok(row(&layout, "46.39.79.251,3,17,1,18,161,121,23066,79466,2,2022-01-03 08:00:00", &ev, error),
	   "a real row");
	is_str(ev.src_ip_text, "46.39.79.251", "its address");
	is_int(ev.ts_us, 1641196800000000LL, "its time, UTC");
	is_int(ev.features[0], 3, "unq_dst_ip");
	is_int(ev.features[7], 79466, "bytesout");
	is_int(ev.present, 0x1ff, "every feature present");

	ok(row(&other, ",2022-01-03 08:00:00Z, \"2001:DB8::1\" ,1,,0,1,\"5\",4,100,200.0,1\r", &ev, error),
	   "quoted fields, spaces, an empty feature, a pandas float, a zone");
	is_str(ev.src_ip_text, "2001:db8::1", "the address is canonical");
	ok((ev.present & (1u << 1)) == 0, "the empty feature is missing");
	is_int(ev.features[7], 200, "200.0 is 200");
	ok(row(&layout, "\"1.2.\"\"3.4\",3,17,1,18,161,121,23066,79466,2,2022-01-03 08:00:00", &ev, error) == false &&
	   strstr(error, "src_ip \"1.2.\"3.4\"") != NULL, "a doubled quote is a quote");

	refused(&layout, "1.2.3.4,3,17,1,18,161,121,23066,79466,2", "10 fields where the header has 11");
	refused(&layout, "1.2.3,3,17,1,18,161,121,23066,79466,2,2022-01-03 08:00:00", "src_ip \"1.2.3\"");
	refused(&layout, "1.2.3.4,3,-17,1,18,161,121,23066,79466,2,2022-01-03 08:00:00", "allow \"-17\" is negative");
	refused(&layout, "1.2.3.4,3,17,1,18,161,121,2.5,79466,2,2022-01-03 08:00:00", "bytesin \"2.5\"");
	refused(&layout, "1.2.3.4,3,17,x,18,161,121,25,79466,2,2022-01-03 08:00:00", "drop \"x\"");
	refused(&layout, "1.2.3.4,3,17,1,18,161,121,99999999999999999999,79466,2,2022-01-03 08:00:00",
			"too large");
	refused(&layout, "1.2.3.4,3,17,1,18,161,121,25,79466,2,2022-02-30 08:00:00", "timestamp \"2022-02-30");
	refused(&layout, "1.2.3.4,3,17,1,18,161,121,25,79466,2,\"2022-01-03 08:00:00", "not closed");
	refused(&layout, "1.2.3.4,3,17,1,18,161,121,25,79466,2,\"2022\"x", "after the closing quote");
	refused(&layout, "1.2.3.4,3,1\"7,1,18,161,121,25,79466,2,2022-01-03 08:00:00", "quote inside");

	ok(CsvEventsBlank(" \t\r", 3), "a blank line");
	ok(!CsvEventsBlank(" x", 2), "a line with text is not blank");
	return tap_done();
}
