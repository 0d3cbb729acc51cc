/* Unit tests of event.c: events parsed and validated by Postgres' JSON parser. */
#include "postgres_fe.h"

#include "event.h"
#include "tap.h"

#define MAX_BYTES ((size_t) 1048576)
#define US INT64CONST(1000000)

static const char *const Example =
"{\"src_ip\":\"46.39.79.251\",\"unq_dst_ip\":\"3\",\"allow\":\"17\",\"drop\":\"1\","
"\"frequency\":\"18\",\"pkts_sent\":\"161\",\"pkts_received\":\"121\",\"bytesin\":\"23066\","
"\"bytesout\":\"79466\",\"unq_dst_port\":\"2\",\"timestamp\":\"2022-01-03 08:00:00\"}";

/* A valid event of the given members, src_ip and timestamp supplied. */
static char *
EventWith(const char *members)
{
	return psprintf("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"%s%s}",
					members[0] ? "," : "", members);
}

/* Parses a payload of explicit length that must be accepted. */
static bool
accepts_len(const char *payload, size_t len, Event *ev, const char *what)
{
	char		reason[EVENT_REASON_MAX];
	bool		res = EventParse(payload, len, MAX_BYTES, ev, reason);

	ok(res && reason[0] == '\0', "accepts %s%s%s", what, res ? "" : ": ", res ? "" : reason);
	return res;
}

/* Parses a NUL-terminated payload that must be accepted. */
static bool
accepts(const char *payload, Event *ev, const char *what)
{
	return accepts_len(payload, strlen(payload), ev, what);
}

/* A payload of explicit length that must be rejected with a reason containing because. */
static void
rejects_len(const char *payload, size_t len, size_t max_bytes, const char *because,
			const char *what)
{
	char		reason[EVENT_REASON_MAX];
	Event		ev;
	bool		res;

	memset(reason, 'x', sizeof(reason));
	res = EventParse(payload, len, max_bytes, &ev, reason);
	ok(!res && memchr(reason, '\0', sizeof(reason)) != NULL && strstr(reason, because) != NULL &&
	   ev.present == 0 && ev.ts_us == 0,
	   "rejects %s: %s", what, res ? "(accepted)" : reason);
	if (!res && strstr(reason, because) == NULL)
		printf("#   want a reason containing: %s\n", because);
}

/* A NUL-terminated payload that must be rejected. */
static void
rejects(const char *payload, const char *because, const char *what)
{
	rejects_len(payload, strlen(payload), MAX_BYTES, because, what);
}

/* An event with these extra members that must be rejected. */
static void
rejects_with(const char *members, const char *because, const char *what)
{
	char	   *payload = EventWith(members);

	rejects(payload, because, what);
	pfree(payload);
}

/* An event whose src_ip must be rejected. */
static void
rejects_ip(const char *ip_json, const char *because, const char *what)
{
	char	   *payload = psprintf("{\"src_ip\":%s,\"timestamp\":\"2022-01-03 08:00:00\"}", ip_json);

	rejects(payload, because, what);
	pfree(payload);
}

/* An event whose timestamp must be rejected (through EventParse and EventParseTimestamp). */
static void
rejects_ts(const char *ts, const char *because, const char *what)
{
	char	   *payload = psprintf("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"%s\"}", ts);
	int64_t		us = 42;

	rejects(payload, because, what);
	ok(!EventParseTimestamp(ts, strlen(ts), &us) && us == 42,
	   "EventParseTimestamp refuses %s", what);
	pfree(payload);
}

/* A timestamp that must convert to want (microseconds since the epoch). */
static void
timestamp_is(const char *ts, int64_t want)
{
	int64_t		us = 0;

	ok(EventParseTimestamp(ts, strlen(ts), &us), "timestamp \"%s\" is valid", ts);
	is_int(us, want, "timestamp \"%s\" is %lld us", ts, (long long) want);
}

/* Valid UTF-8 with no NUL, as a reason must be. */
static bool
reason_is_clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p)
	{
		int			n = *p < 0x80 ? 0 : *p < 0xe0 ? 1 : *p < 0xf0 ? 2 : 3;
		int			k;

		if (*p >= 0x80 && *p < 0xc2)
			return false;
		for (k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

/* Nesting of depth levels (the event object included) inside an unknown key. */
static char *
Nested(int depth)
{
	char	   *inner = palloc(2 * depth + 1);
	char	   *member;
	char	   *payload;
	int			i;

	for (i = 0; i < depth - 1; i++)
	{
		inner[i] = '[';
		inner[2 * (depth - 1) - 1 - i] = ']';
	}
	inner[2 * (depth - 1)] = '\0';
	member = psprintf("\"deep\":%s", inner);
	payload = EventWith(member);
	pfree(member);
	pfree(inner);
	return payload;
}

static void
test_valid(void)
{
	Event		ev;
	char	   *p;
	char		reason[EVENT_REASON_MAX];
	int			i;
	static const int64_t want[EVENT_NFEATURES] = {3, 17, 1, 18, 161, 121, 23066, 79466, 2};

	/* the example, field by field */
	if (accepts(Example, &ev, "the example event"))
	{
		is_str(ev.src_ip_text, "46.39.79.251", "example: src_ip text");
		ok(ev.src_ip.family == 4 && ev.src_ip.bytes[0] == 46 && ev.src_ip.bytes[1] == 39 &&
		   ev.src_ip.bytes[2] == 79 && ev.src_ip.bytes[3] == 251, "example: src_ip bytes");
		is_int(ev.ts_us, INT64CONST(1641196800000000), "example: 2022-01-03 08:00:00 UTC");
		is_int(ev.present, 0x1ff, "example: all nine features present");
		for (i = 0; i < EVENT_NFEATURES; i++)
			is_int(ev.features[i], want[i], "example: %s", EventFeatureNames[i]);
	}
	is_str(EventFeatureNames[0], "unq_dst_ip", "feature 0 is unq_dst_ip");
	is_str(EventFeatureNames[8], "unq_dst_port", "feature 8 is unq_dst_port");

	/* the same event with JSON numbers and spaces around everything */
	p = " \n{ \"src_ip\" : \"46.39.79.251\", \"unq_dst_ip\": 3, \"allow\": 17, \"drop\": 1,"
		" \"frequency\": 18, \"pkts_sent\": 161, \"pkts_received\": 121, \"bytesin\": 23066,"
		" \"bytesout\": 79466, \"unq_dst_port\": 2, \"timestamp\": \"2022-01-03 08:00:00\" }\r\n\t";
	if (accepts(p, &ev, "features as JSON numbers"))
	{
		bool		same = ev.present == 0x1ff;

		for (i = 0; i < EVENT_NFEATURES; i++)
			same = same && ev.features[i] == want[i];
		ok(same, "JSON numbers give the same values as strings");
	}

	/* missing and null features */
	p = EventWith("\"allow\":\"5\",\"drop\":null");
	if (accepts(p, &ev, "a missing and a null feature"))
	{
		is_int(ev.present, 1 << 1, "only allow is present");
		is_int(ev.features[1], 5, "allow is 5");
		is_int(ev.features[2], 0, "null drop is 0 and not present");
	}
	pfree(p);
	p = EventWith("");
	if (accepts(p, &ev, "an event with no features"))
		is_int(ev.present, 0, "no feature present");
	pfree(p);

	/* unknown keys, whatever their value, at the top and nested */
	p = EventWith("\"extra\":{\"src_ip\":\"bad\",\"allow\":-1,\"x\":[{\"timestamp\":true}]},"
				  "\"list\":[1,\"2\",null,[{}]],\"flag\":true,\"n\":-1.5e3,\"extra\":null,"
				  "\"ALLOW\":\"-1\",\"allow \":\"x\",\"\":\"\",\"frequency\":\"7\"");
	if (accepts(p, &ev, "unknown keys (nested, repeated, near-misses) are ignored"))
	{
		is_int(ev.present, 1 << 3, "only frequency is present");
		is_int(ev.features[3], 7, "frequency is 7");
		is_str(ev.src_ip_text, "10.0.0.1", "a nested src_ip does not count");
	}
	pfree(p);

	/* escaped key names are compared after unescaping */
	if (accepts("{\"src\\u005fip\":\"10.0.0.2\",\"time\\u0073tamp\":\"2022-01-03 08:00:00\"}",
				&ev, "escaped key names"))
		is_str(ev.src_ip_text, "10.0.0.2", "src\\u005fip is src_ip");

	/* IPv6 literals are canonicalized */
	p = "{\"src_ip\":\"2001:DB8:0:0:0:0:0:1\",\"timestamp\":\"2022-01-03 08:00:00\"}";
	if (accepts(p, &ev, "an IPv6 src_ip"))
	{
		is_str(ev.src_ip_text, "2001:db8::1", "IPv6 canonical text");
		ok(ev.src_ip.family == 6 && ev.src_ip.bytes[0] == 0x20 && ev.src_ip.bytes[15] == 1,
		   "IPv6 bytes");
	}
	p = "{\"src_ip\":\"::FFFF:10.1.2.3\",\"timestamp\":\"2022-01-03 08:00:00\"}";
	if (accepts(p, &ev, "an IPv4-mapped IPv6 src_ip"))
		is_str(ev.src_ip_text, "::ffff:10.1.2.3", "mapped IPv4 canonical text");

	/* feature values at the edges */
	p = EventWith("\"allow\":\"017\",\"drop\":\"0\",\"bytesin\":\"9223372036854775807\","
				  "\"bytesout\":9223372036854775807,\"unq_dst_port\":0");
	if (accepts(p, &ev, "edge feature values"))
	{
		is_int(ev.features[1], 17, "\"017\" is 17");
		is_int(ev.features[2], 0, "\"0\" is 0");
		ok(ev.features[6] == PG_INT64_MAX, "\"9223372036854775807\" is INT64_MAX");
		ok(ev.features[7] == PG_INT64_MAX, "9223372036854775807 is INT64_MAX");
		is_int(ev.present, (1 << 1) | (1 << 2) | (1 << 6) | (1 << 7) | (1 << 8), "present mask");
	}
	pfree(p);
	p = EventWith("\"allow\":\"\\u0031\\u0032\"");
	if (accepts(p, &ev, "a feature string written with escapes"))
		is_int(ev.features[1], 12, "\"\\u0031\\u0032\" is 12");
	pfree(p);

	/* ISO 8601 through EventParse */
	p = "{\"timestamp\":\"2022-01-03T08:00:00.25+05:30\",\"src_ip\":\"10.0.0.1\"}";
	if (accepts(p, &ev, "an ISO timestamp with fraction and offset, before src_ip"))
		is_int(ev.ts_us, INT64CONST(1641177000) * US + 250000, "02:30:00.25 UTC");

	/* nesting: 64 levels with the event object is accepted */
	p = Nested(64);
	accepts(p, &ev, "nesting of 64 levels inside an unknown key");
	pfree(p);

	/* the reason buffer */
	memset(reason, 'x', sizeof(reason));
	ok(EventParse(Example, strlen(Example), MAX_BYTES, &ev, reason) && reason[0] == '\0',
	   "the reason is emptied on success");
	ok(EventParse(Example, strlen(Example), MAX_BYTES, &ev, NULL), "the reason may be NULL");
	ok(!EventParse("[]", 2, MAX_BYTES, &ev, NULL), "rejects with a NULL reason");
	ok(EventParse(Example, strlen(Example), strlen(Example), &ev, reason),
	   "a payload of exactly max_bytes is accepted");
	p = "{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"} trailing";
	ok(EventParse(p, strchr(p, '}') - p + 1, MAX_BYTES, &ev, reason), "only len bytes are read");
}

/*
 * Flat events without a backslash take a fast path; a nested or escaped
 * member anywhere sends the same event through the full parser.  Both must
 * give the same event, byte for byte.
 */
static void
test_paths_agree(void)
{
	static const char *const members[] = {
		"",
		"\"unq_dst_ip\":\"3\",\"allow\":17,\"drop\":null,\"bytesout\":\"9223372036854775807\"",
		"\"frequency\":0,\"pkts_sent\":\"017\",\"x\":true,\"y\":false,\"z\":-1.5e3,\"\":\"\"",
		"\"unq_dst_port\":1,\"pkts_received\":2,\"bytesin\":3,\"unq_dst_ip\":4,\"allow\":5",
	};
	static const char *const slow[] = {",\"nested\":[{}]", ",\"note\":\"a\\tb\""};
	int			i,
				k;

	for (i = 0; i < (int) lengthof(members); i++)
		for (k = 0; k < (int) lengthof(slow); k++)
		{
			char	   *fast_payload = EventWith(members[i]);
			char	   *slow_members = psprintf("%s%s", members[i], members[i][0] ? slow[k] : slow[k] + 1);
			char	   *slow_payload = EventWith(slow_members);
			Event		fast_ev,
						slow_ev;
			bool		fast_ok = EventParse(fast_payload, strlen(fast_payload), MAX_BYTES, &fast_ev, NULL);
			bool		slow_ok = EventParse(slow_payload, strlen(slow_payload), MAX_BYTES, &slow_ev, NULL);

			ok(fast_ok && slow_ok && memcmp(&fast_ev, &slow_ev, sizeof(Event)) == 0,
			   "the same event from both paths: %s", slow_payload);
			pfree(fast_payload);
			pfree(slow_members);
			pfree(slow_payload);
		}
	/* IPv6 and an ISO timestamp, first and last */
	{
		const char *fast_payload = "{\"timestamp\":\"2022-01-03T08:00:00.25+05:30\",\"src_ip\":\"2001:DB8::1\"}";
		const char *slow_payload = "{\"timestamp\":\"2022-01-03T08:00:00.25+05:30\",\"src_ip\":\"2001:DB8::1\",\"n\":{}}";
		Event		fast_ev,
					slow_ev;

		ok(EventParse(fast_payload, strlen(fast_payload), MAX_BYTES, &fast_ev, NULL) &&
		   EventParse(slow_payload, strlen(slow_payload), MAX_BYTES, &slow_ev, NULL) &&
		   memcmp(&fast_ev, &slow_ev, sizeof(Event)) == 0,
		   "the same IPv6 event from both paths");
	}
}

static void
test_timestamps(void)
{
	int64_t		us = 0;

	timestamp_is("1970-01-01 00:00:00", 0);
	timestamp_is("1969-12-31 23:59:59", -1 * US);
	timestamp_is("2022-01-03 08:00:00", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03T08:00:00", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03T08:00:00Z", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03 08:00:00Z", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03T08:00:00+00:00", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03T08:00:00-00:00", INT64CONST(1641196800) * US);
	timestamp_is("2022-01-03T08:00:00+05:30", INT64CONST(1641177000) * US);
	timestamp_is("2022-01-03T08:00:00+0530", INT64CONST(1641177000) * US);
	timestamp_is("2022-01-03T08:00:00-0530", INT64CONST(1641216600) * US);
	timestamp_is("2022-01-03T08:00:00+05", INT64CONST(1641178800) * US);
	timestamp_is("2022-01-03T08:00:00+14:00", INT64CONST(1641146400) * US);
	timestamp_is("2022-01-03T08:00:00-14:00", INT64CONST(1641247200) * US);
	timestamp_is("2022-01-03T08:00:00.1Z", INT64CONST(1641196800) * US + 100000);
	timestamp_is("2022-01-03T08:00:00.000001", INT64CONST(1641196800) * US + 1);
	timestamp_is("2022-01-03 08:00:00.123456+05:30", INT64CONST(1641177000) * US + 123456);
	timestamp_is("2000-01-01 00:00:00", INT64CONST(946684800) * US);
	timestamp_is("2000-02-29 23:59:59", INT64CONST(951868799) * US);
	timestamp_is("2024-02-29 12:34:56", INT64CONST(1709210096) * US);
	timestamp_is("1900-03-01 00:00:00", INT64CONST(-2203891200) * US);
	timestamp_is("1000-01-01 00:00:00", INT64CONST(-30610224000) * US);
	timestamp_is("9999-12-31 23:59:59.999999", INT64CONST(253402300799) * US + 999999);
	ok(!EventParseTimestamp("2022-01-03 08:00:00", 18, &us), "only len bytes are read");
	ok(!EventParseTimestamp("", 0, &us), "the empty timestamp is refused");
}

static void
test_invalid(void)
{
	char		buf[200];
	char	   *p;
	char	   *big;
	size_t		len;
	char		reason[EVENT_REASON_MAX];
	Event		ev;

	/* not an event document */
	rejects("hello", "not valid JSON: invalid token at byte 0", "not JSON");
	rejects_len("", 0, MAX_BYTES, "message is empty", "the empty payload");
	rejects(" \t\r\n ", "not valid JSON: the input ends unexpectedly", "whitespace only");
	rejects("[{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"}]",
			"must be a JSON object, not an array", "an array of an event");
	rejects("\"{}\"", "must be a JSON object, not a string", "a string document");
	rejects("42", "must be a JSON object, not a number", "a number document");
	rejects("-1.5", "must be a JSON object, not a number", "a negative number document");
	rejects("null", "must be a JSON object, not null", "a null document");
	rejects("true", "must be a JSON object, not a boolean", "a boolean document");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":",
			"not valid JSON: the input ends unexpectedly at byte 33", "a truncated object");
	rejects("{\"src_ip\":\"10.0.0.1\"", "not valid JSON: the input ends unexpectedly",
			"an object without its brace");
	rejects("{\"src_ip\" \"10.0.0.1\"}", "not valid JSON: expected \":\" at byte 10",
			"a missing colon");
	rejects("{\"src_ip\":\"10.0.0.1\",}", "not valid JSON: expected a string", "a trailing comma");
	rejects("{'src_ip':'10.0.0.1'}", "not valid JSON: invalid token", "single quotes");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"} x",
			"not valid JSON: invalid token at byte 56", "trailing garbage");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"}{}",
			"not valid JSON: expected end of input", "two documents");
	rejects("{\"allow\":\"-1\",\"src_ip\":\"10.0.0.1\" \"timestamp\":\"x\"}",
			"not valid JSON: expected \",\" or \"}\"", "a syntax error wins over a bad value");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\",\"a\":\"x\ty\"}",
			"control character in a string must be escaped", "a raw tab in a string");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\",\"a\":\"\\q\"}",
			"invalid escape sequence", "a bad escape");

	/* bytes the parser must never see */
	p = "{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\",\"a\":\"x\0y\"}";
	rejects_len(p, 65, MAX_BYTES, "contains a NUL byte at byte 61", "a NUL byte inside a string");
	rejects_len("{}\0", 3, MAX_BYTES, "contains a NUL byte at byte 2", "a NUL byte after the object");
	rejects_with("\"a\":\"\x80\"", "not valid UTF-8 at byte 60: a continuation byte without a lead byte",
				 "a lone continuation byte");
	rejects_with("\"a\":\"\xc0\xaf\"", "not valid UTF-8 at byte 60: an overlong encoding",
				 "a two-byte overlong '/'");
	rejects_with("\"a\":\"\xe0\x80\xaf\"", "an overlong encoding", "a three-byte overlong '/'");
	rejects_with("\"a\":\"\xf0\x80\x80\xaf\"", "an overlong encoding", "a four-byte overlong '/'");
	rejects_with("\"a\":\"\xed\xa0\x80\"", "a UTF-16 surrogate", "an encoded surrogate");
	rejects_with("\"a\":\"\xf4\x90\x80\x80\"", "a code point above U+10FFFF", "U+110000");
	rejects_with("\"a\":\"\xf5\x80\x80\x80\"", "a byte that never appears in UTF-8", "byte 0xF5");
	rejects_with("\"a\":\"\xff\"", "a byte that never appears in UTF-8", "byte 0xFF");
	rejects_with("\"a\":\"\xe2\x82\"", "a truncated sequence", "a truncated sequence in a string");
	rejects_len("{\"a\":1}\xe2\x82", 9, MAX_BYTES, "not valid UTF-8 at byte 7: a truncated sequence",
				"a sequence truncated by the end of the payload");
	rejects_with("\"\xc3\":1", "a truncated sequence", "a lead byte followed by ASCII in a key");
	rejects_with("\"a\":\"\\u0000\"", "\\u0000 is not allowed", "a \\u0000 escape");
	rejects_with("\"a\":\"\\ud800\"", "surrogate", "a lone \\ud800 escape");
	rejects_with("\"a\":\"\\udc00\"", "surrogate", "a lone \\udc00 escape");
	rejects_with("\"a\":\"\\u12\"", "four hexadecimal digits", "a short \\u escape");

	/* keys */
	rejects_with("\"src_ip\":\"10.0.0.2\"", "duplicate key \"src_ip\"", "src_ip twice");
	rejects_with("\"timestamp\":\"2022-01-03 08:00:00\"", "duplicate key \"timestamp\"",
				 "timestamp twice");
	rejects_with("\"allow\":\"1\",\"drop\":\"2\",\"allow\":\"1\"", "duplicate key \"allow\"",
				 "a feature twice");
	rejects_with("\"allow\":null,\"allow\":\"1\"", "duplicate key \"allow\"",
				 "a feature twice, first null");
	rejects_with("\"src\\u005fip\":\"10.0.0.1\"", "duplicate key \"src_ip\"",
				 "src_ip twice, once escaped");
	rejects("{\"timestamp\":\"2022-01-03 08:00:00\",\"allow\":\"1\"}", "missing key \"src_ip\"",
			"a missing src_ip");
	rejects("{\"src_ip\":\"10.0.0.1\",\"allow\":\"1\"}", "missing key \"timestamp\"",
			"a missing timestamp");
	rejects("{}", "missing key \"src_ip\"", "the empty object");
	rejects("{\"x\":{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\"}}",
			"missing key \"src_ip\"", "keys only inside a nested object");
	rejects("{\"allow\":\"-1\",\"src_ip\":\"bad\",\"timestamp\":\"2022-01-03 08:00:00\"}",
			"feature \"allow\": \"-1\" is negative", "the first problem is reported");

	/* src_ip */
	rejects_ip("167772161", "src_ip must be a string, not a number", "a numeric src_ip");
	rejects_ip("null", "src_ip must be a string, not null", "a null src_ip");
	rejects_ip("[\"10.0.0.1\"]", "src_ip must be a string, not an array", "an array src_ip");
	rejects_ip("{\"ip\":\"10.0.0.1\"}", "src_ip must be a string, not an object", "an object src_ip");
	rejects_ip("true", "src_ip must be a string, not a boolean", "a boolean src_ip");
	rejects_ip("\"\"", "src_ip is empty", "an empty src_ip");
	rejects_ip("\"10.0.1\"", "src_ip \"10.0.1\" is not an IPv4 or IPv6 address", "IPv4 with 3 octets");
	rejects_ip("\"10.0.0.256\"", "src_ip \"10.0.0.256\" is not an IPv4", "an octet of 256");
	rejects_ip("\"10.0.0.01\"", "src_ip \"10.0.0.01\" is not an IPv4", "a leading zero octet");
	rejects_ip("\"10.0.0.1/32\"", "is not an IPv4 or IPv6 address", "IPv4 with a netmask");
	rejects_ip("\"1::2::3\"", "src_ip \"1::2::3\" is not an IPv4", "IPv6 with two ::");
	rejects_ip("\"fe80::1%eth0\"", "src_ip \"fe80::1%eth0\" is not", "IPv6 with a zone id");
	rejects_ip("\"[::1]\"", "is not an IPv4 or IPv6 address", "IPv6 in brackets");
	rejects_ip("\"example.com\"", "src_ip \"example.com\" is not", "a host name");
	rejects_ip("\" 10.0.0.1\"", "is not an IPv4 or IPv6 address", "a src_ip with a space");
	rejects_ip("\"10.0.0.1\\n\"", "src_ip \"10.0.0.1\\u000a\" is not",
			   "a src_ip with a newline, shown escaped");

	/* timestamps */
	rejects_ts("2022-02-30 08:00:00", "timestamp \"2022-02-30 08:00:00\" is not a valid date",
			   "February 30");
	rejects_ts("2023-02-29 08:00:00", "is not a valid date", "February 29 of 2023");
	rejects_ts("2100-02-29 08:00:00", "is not a valid date", "February 29 of 2100");
	rejects_ts("2022-04-31 08:00:00", "is not a valid date", "April 31");
	rejects_ts("2022-13-01 08:00:00", "is not a valid date", "month 13");
	rejects_ts("2022-00-01 08:00:00", "is not a valid date", "month 00");
	rejects_ts("2022-01-00 08:00:00", "is not a valid date", "day 00");
	rejects_ts("2022-01-32 08:00:00", "is not a valid date", "day 32");
	rejects_ts("2022-01-03 25:00:00", "is not a valid time of day", "hour 25");
	rejects_ts("2022-01-03 24:00:00", "is not a valid time of day", "hour 24");
	rejects_ts("2022-01-03 08:60:00", "is not a valid time of day", "minute 60");
	rejects_ts("2022-01-03 08:00:60", "is not a valid time of day", "second 60 (no leap seconds)");
	rejects_ts("0999-12-31 23:59:59", "is not a valid date (years 1000 to 9999)", "year 0999");
	rejects_ts("99999-01-03 08:00:00", "is not of the form YYYY-MM-DD HH:MM:SS", "year 99999");
	rejects_ts("+2022-01-03 08:00:00", "is not of the form", "a signed year");
	rejects_ts("2022-01-03 08:00", "is not of the form", "missing seconds");
	rejects_ts("2022-01-03", "is not of the form", "a date only");
	rejects_ts("", "is not of the form", "an empty timestamp");
	rejects_ts("2022-1-3 8:00:00", "is not of the form", "unpadded fields");
	rejects_ts("2022/01/03 08:00:00", "is not of the form", "slashes");
	rejects_ts("2022-01-03t08:00:00", "is not of the form", "a lower-case t");
	rejects_ts("2022-01-03T08:00:00z", "is not of the form", "a lower-case z");
	rejects_ts("2022-01-03  08:00:00", "is not of the form", "two spaces");
	rejects_ts(" 2022-01-03 08:00:00", "is not of the form", "a leading space");
	rejects_ts("2022-01-03 08:00:00 ", "is not of the form", "a trailing space");
	rejects_ts("2022-01-03 08:00:00 UTC", "is not of the form", "trailing text");
	rejects_ts("2022-01-03 08:00:00.", "is not of the form", "a fraction without digits");
	rejects_ts("2022-01-03 08:00:00.1234567", "is not of the form", "a fraction of 7 digits");
	rejects_ts("2022-01-03 08:00:00,5", "is not of the form", "a decimal comma");
	rejects_ts("2022-01-03 08:00:00+5", "is not of the form", "a one-digit offset");
	rejects_ts("2022-01-03 08:00:00+05:3", "is not of the form", "a three-digit offset");
	rejects_ts("2022-01-03 08:00:00+05:30:00", "is not of the form", "an offset with seconds");
	rejects_ts("2022-01-03 08:00:00Z+01:00", "is not of the form", "Z and an offset");
	rejects_ts("2022-01-03 08:00:00+15:00", "has an invalid zone offset", "zone +15:00");
	rejects_ts("2022-01-03 08:00:00-14:30", "has an invalid zone offset", "zone -14:30");
	rejects_ts("2022-01-03 08:00:00+05:60", "has an invalid zone offset", "zone minute 60");
	rejects_ts("２０２２-01-03 08:00:00", "is not of the form", "full-width digits");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":1641196800}",
			"timestamp must be a string, not a number", "a numeric timestamp");
	rejects("{\"src_ip\":\"10.0.0.1\",\"timestamp\":null}", "timestamp must be a string, not null",
			"a null timestamp");

	/* features */
	rejects_with("\"allow\":\"-1\"", "feature \"allow\": \"-1\" is negative", "a negative string");
	rejects_with("\"allow\":-1", "feature \"allow\": -1 is negative", "a negative number");
	rejects_with("\"allow\":-0", "feature \"allow\": -0 is negative", "minus zero");
	rejects_with("\"drop\":\"1.5\"", "feature \"drop\": \"1.5\" is not an integer", "a fractional string");
	rejects_with("\"drop\":1.5", "feature \"drop\": 1.5 is not an integer", "a fractional number");
	rejects_with("\"drop\":1.0", "feature \"drop\": 1.0 is not an integer", "1.0");
	rejects_with("\"bytesin\":\"1e3\"", "feature \"bytesin\": \"1e3\" has an exponent",
				 "an exponent in a string");
	rejects_with("\"bytesin\":1e3", "feature \"bytesin\": 1e3 has an exponent", "an exponent number");
	rejects_with("\"bytesin\":1E+3", "has an exponent", "an upper-case exponent number");
	rejects_with("\"pkts_sent\":\"\"", "feature \"pkts_sent\": \"\" is empty", "an empty string");
	rejects_with("\"pkts_sent\":\" 1\"", "feature \"pkts_sent\": \" 1\" contains whitespace",
				 "a leading space");
	rejects_with("\"pkts_sent\":\"1 \"", "contains whitespace", "a trailing space");
	rejects_with("\"pkts_sent\":\"1\\t\"", "\"1\\u0009\" contains whitespace", "a trailing tab");
	rejects_with("\"frequency\":\"+1\"", "feature \"frequency\": \"+1\" has a plus sign", "a plus sign");
	rejects_with("\"frequency\":\"0x10\"", "feature \"frequency\": \"0x10\" is hexadecimal", "hex");
	rejects_with("\"frequency\":\"abc\"", "\"abc\" is not a decimal integer", "letters");
	rejects_with("\"frequency\":\"12abc\"", "\"12abc\" is not a decimal integer", "trailing letters");
	rejects_with("\"frequency\":\"-\"", "\"-\" is not a decimal integer", "a lone minus");
	rejects_with("\"frequency\":\"\xd9\xa1\"", "is not a decimal integer", "an Arabic-Indic digit");
	rejects_with("\"bytesout\":\"9223372036854775808\"",
				 "feature \"bytesout\": \"9223372036854775808\" is too large", "INT64_MAX + 1 as a string");
	rejects_with("\"bytesout\":9223372036854775808",
				 "feature \"bytesout\": 9223372036854775808 is too large", "INT64_MAX + 1 as a number");
	rejects_with("\"bytesout\":\"99999999999999999999999999\"", "is too large", "a huge string");
	rejects_with("\"unq_dst_port\":true", "feature \"unq_dst_port\" must be a number or a string, not a boolean",
				 "a boolean feature");
	rejects_with("\"unq_dst_port\":false", "not a boolean", "a false feature");
	rejects_with("\"unq_dst_ip\":{\"v\":1}", "feature \"unq_dst_ip\" must be a number or a string, not an object",
				 "an object feature");
	rejects_with("\"pkts_received\":[1]", "feature \"pkts_received\" must be a number or a string, not an array",
				 "an array feature");

	/* size and depth */
	big = palloc(MAX_BYTES + 2);
	p = EventWith("\"pad\":\"");
	len = strlen(p) - 1;
	memcpy(big, p, len);
	memset(big + len, 'a', MAX_BYTES + 1 - len - 2);
	memcpy(big + MAX_BYTES + 1 - 2, "\"}", 2);
	big[MAX_BYTES + 1] = '\0';
	rejects_len(big, MAX_BYTES + 1, MAX_BYTES,
				"message of 1048577 bytes exceeds the limit of 1048576 bytes (ipflow.max_message_size)", "1 MiB + 1 bytes");
	big[MAX_BYTES - 2] = '"';
	big[MAX_BYTES - 1] = '}';
	ok(EventParse(big, MAX_BYTES, MAX_BYTES, &ev, reason), "accepts exactly 1 MiB: %s", reason);
	pfree(big);
	pfree(p);
	p = Nested(65);
	rejects(p, "message nests deeper than 64 levels", "nesting of 65 levels");
	pfree(p);
	p = Nested(100);
	rejects(p, "message nests deeper than 64 levels", "nesting of 100 levels inside an unknown key");
	pfree(p);

	/* many brackets, little nesting */
	memset(buf, '[', 100);
	buf[100] = '\0';
	p = psprintf("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\",\"s\":\"%s\","
				 "\"a\":[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],"
				 "[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],"
				 "[],[],[],[],[],[],[],[],[],[],{},{},{}]}", buf);
	ok(EventParse(p, strlen(p), MAX_BYTES, &ev, reason),
	   "100 brackets in a string and 70 sibling arrays are not deep nesting: %s", reason);
	pfree(p);

	/* reasons stay short, printable and valid UTF-8 */
	memset(buf, 0, sizeof(buf));
	memset(buf, 'z', 150);
	p = psprintf("{\"src_ip\":\"10.0.0.1\",\"timestamp\":\"2022-01-03 08:00:00\",\"allow\":\"1%s\"}", buf);
	ok(!EventParse(p, strlen(p), MAX_BYTES, &ev, reason) && strlen(reason) < 160 &&
	   strstr(reason, "zzz...\" is not a decimal integer") != NULL,
	   "a long value is cut in the reason: %s", reason);
	pfree(p);
	buf[0] = '\0';
	for (len = 0; len < 60; len++)
		strcat(buf, "\xc3\xa9");
	p = psprintf("{\"src_ip\":\"%s\",\"timestamp\":\"2022-01-03 08:00:00\"}", buf);
	ok(!EventParse(p, strlen(p), MAX_BYTES, &ev, reason) && reason_is_clean_utf8(reason) &&
	   strstr(reason, "\xc3\xa9...\" is not") != NULL,
	   "a long UTF-8 value is cut at a character boundary: %s", reason);
	pfree(p);
	p = EventWith("\"allow\":\"1\\\"\\\\\"");
	ok(!EventParse(p, strlen(p), MAX_BYTES, &ev, reason) &&
	   strstr(reason, "\"1\\\"\\\\\" is not a decimal integer") != NULL,
	   "quotes and backslashes are escaped in the reason: %s", reason);
	pfree(p);
}

/* The byte checks see every offset, whatever the alignment of the word scan. */
static void
test_byte_offsets(void)
{
	char	   *p = EventWith("\"allow\":\"1\",\"drop\":\"2\"");
	size_t		len = strlen(p);
	char		copy[128];
	char		want[64];
	char		reason[EVENT_REASON_MAX];
	Event		ev;
	size_t		at;
	bool		all_nul = true;
	bool		all_utf8 = true;
	bool		all_ok = true;

	for (at = 0; at < len; at++)
	{
		memcpy(copy, p, len);
		copy[at] = '\0';
		snprintf(want, sizeof(want), "NUL byte at byte %zu", at);
		all_nul = all_nul && !EventParse(copy, len, MAX_BYTES, &ev, reason) &&
			strstr(reason, want) != NULL;
		copy[at] = (char) 0x80;
		snprintf(want, sizeof(want), "not valid UTF-8 at byte %zu:", at);
		all_utf8 = all_utf8 && !EventParse(copy, len, MAX_BYTES, &ev, reason) &&
			strstr(reason, want) != NULL;
		copy[at] = p[at];
		all_ok = all_ok && EventParse(copy, len, MAX_BYTES, &ev, reason);
	}
	ok(all_nul, "a NUL byte is found at each of %zu offsets", len);
	ok(all_utf8, "a stray 0x80 byte is found at each of %zu offsets", len);
	ok(all_ok, "the restored payload parses each time");
	pfree(p);
}

int
main(void)
{
	test_valid();
	test_paths_agree();
	test_timestamps();
	test_invalid();
	test_byte_offsets();
	return tap_done();
}
