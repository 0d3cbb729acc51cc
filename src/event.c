/*
 * event.c - one Kafka message (a JSON event) parsed and validated in plain C
 *
 * An event is one JSON object, as the original system sent it:
 *   {"src_ip":"46.39.79.251","unq_dst_ip":"3",...,"timestamp":"2022-01-03 08:00:00"}
 * EventParse is on the ingest hot path, so it builds no tree: Postgres' own
 * JSON parser (common/jsonapi, through its frontend API as in json_tree.c)
 * calls back once per member name, and for the top-level members the value
 * is read straight from the lexer, which at that point holds the value's
 * first token (de-escaped for strings).  No scalar callback is installed, so
 * the parser copies no values; the only allocations are its own lex context
 * and the member names it hands over, which are freed at once.  Callbacks
 * cannot stop the parser: the first problem is recorded and reported when it
 * returns, after any syntax error, which wins.  Most events are a flat
 * object without a backslash, and those are first read by the lexer alone
 * (EventParseFlat); only a message it cannot accept goes through the parser.
 *
 * Rules a valid event keeps (anything else is rejected with a reason):
 * - at most max_bytes bytes, valid UTF-8 without NUL bytes, nesting at most
 *   JSON_TREE_MAX_DEPTH levels (the event object counts as one);
 * - a JSON object; no known key twice (repeated unknown keys are ignored
 *   like every unknown key, whatever its value);
 * - "src_ip": a string holding an IPv4 or IPv6 literal (ip.c);
 * - "timestamp": a string "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS"
 *   (upper-case T only), then optionally ".f" with 1 to 6 digits, then
 *   optionally "Z", "+HH:MM", "+HHMM" or "+HH" (or "-"), at most 14:00;
 *   no zone is UTC; years 1000 to 9999 of the proleptic Gregorian calendar;
 * - each of the nine features: absent or null (not present), or a JSON
 *   number or a JSON string that is a plain non-negative decimal integer
 *   fitting in int64: digits only, so no sign (not even "-0"), no fraction
 *   or exponent (not even 1.0 or 1e3), no spaces; leading zeros are fine in
 *   strings ("017" is 17).
 */
#include "postgres_fe.h"

#include <stdarg.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "compat.h"
#include "event.h"
#include "json_tree.h"

const char *const EventFeatureNames[EVENT_NFEATURES] = {
	"unq_dst_ip", "allow", "drop", "frequency", "pkts_sent",
	"pkts_received", "bytesin", "bytesout", "unq_dst_port"
};

/* Known keys: the features by their index, then these two. */
#define KEY_SRC_IP		EVENT_NFEATURES
#define KEY_TIMESTAMP	(EVENT_NFEATURES + 1)
#define KEY_UNKNOWN		(-1)

/* The parser takes an int length. */
#define EVENT_PARSER_MAX_BYTES ((size_t) 0x3fffffff)

/* Shown values are cut to about this many bytes, quotes included. */
#define EVENT_SHOWN_MAX 96

#define MICROS_PER_SECOND INT64CONST(1000000)
#define SECONDS_PER_DAY 86400

typedef struct EventBuilder
{
	JsonLexContext *lex;
	Event	   *out;
	uint32		seen;			/* bit per known key met so far */
	bool		failed;			/* reason holds the first problem */
	char	   *reason;
} EventBuilder;

typedef enum TimestampStatus
{
	TS_OK,
	TS_FORMAT,
	TS_YEAR,
	TS_DATE,
	TS_TIME,
	TS_ZONE
} TimestampStatus;

typedef enum CountStatus
{
	COUNT_OK,
	COUNT_EMPTY,
	COUNT_NEGATIVE,
	COUNT_PLUS,
	COUNT_SPACE,
	COUNT_FRACTION,
	COUNT_EXPONENT,
	COUNT_HEX,
	COUNT_NOT_DECIMAL,
	COUNT_TOO_LARGE
} CountStatus;

static void Fail(EventBuilder *b, const char *fmt,...) pg_attribute_printf(2, 3);

/* Records the first problem of an event; later ones are not reported. */
static void
Fail(EventBuilder *b, const char *fmt,...)
{
	va_list		args;

	if (b->failed)
		return;
	b->failed = true;
	va_start(args, fmt);
	vsnprintf(b->reason, EVENT_REASON_MAX, fmt, args);
	va_end(args);
}

/*
 * Writes a value for a reason: quoted and escaped like a JSON string when
 * quote is set, cut at a character boundary with "..." when long, so the
 * reason stays short, printable and valid UTF-8 (the input is valid UTF-8).
 */
static void
ShowValue(char *dst, size_t size, const char *s, size_t len, bool quote)
{
	size_t		o = 0;
	size_t		i = 0;

	if (quote)
		dst[o++] = '"';
	while (i < len)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		n = 1;		/* input bytes of this character */
		size_t		need;		/* output bytes for it */

		if (c == '"' || c == '\\')
			need = 2;
		else if (c < 0x20 || c == 0x7f)
			need = 6;
		else
		{
			if (c >= 0xf0)
				n = 4;
			else if (c >= 0xe0)
				n = 3;
			else if (c >= 0xc0)
				n = 2;
			if (n > len - i)
				n = len - i;
			need = n;
		}
		/* keep room for "...", the closing quote and the NUL */
		if (o + need + 5 > size)
		{
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\')
		{
			dst[o++] = '\\';
			dst[o++] = (char) c;
		}
		else if (c < 0x20 || c == 0x7f)
		{
			snprintf(dst + o, 7, "\\u%04x", c);
			o += 6;
		}
		else
		{
			memcpy(dst + o, s + i, n);
			o += n;
		}
		i += n;
	}
	if (quote)
		dst[o++] = '"';
	dst[o] = '\0';
}

/*
 * Offset of the first NUL byte or invalid UTF-8 sequence, or len when there
 * is none; *why says what is wrong there.  Overlong forms, surrogates and
 * code points above U+10FFFF are invalid, as Postgres' own check has them.
 * *brackets counts the '{' and '[' bytes, a bound on the nesting depth.
 * Runs of ASCII are checked eight bytes at a time: this is on the hot path.
 */
static size_t
PayloadScan(const unsigned char *s, size_t len, const char **why, size_t *brackets)
{
	const uint64 ones = UINT64CONST(0x0101010101010101);
	const uint64 highs = UINT64CONST(0x8080808080808080);
	const uint64 lows = UINT64CONST(0x7f7f7f7f7f7f7f7f);
	size_t		i = 0;
	size_t		count = 0;

	while (i < len)
	{
		unsigned char c;
		unsigned char lo = 0x80;
		unsigned char hi = 0xbf;
		size_t		n;
		size_t		k;

		if (len - i >= 8)
		{
			uint64		w;

			memcpy(&w, s + i, 8);
			/* all ASCII and no zero byte */
			if ((w & highs) == 0 && ((w - ones) & ~w & highs) == 0)
			{
				/* '[' | 0x20 == '{', and no other byte becomes '{' */
				uint64		v = (w | UINT64CONST(0x2020202020202020)) ^
					UINT64CONST(0x7b7b7b7b7b7b7b7b);
				/* the high bit of each byte of v that is not zero */
				uint64		nonzero = (((v & lows) + lows) | v) & highs;

				count += 8 - (size_t) (((nonzero >> 7) * ones) >> 56);
				i += 8;
				continue;
			}
		}

		c = s[i];
		if (c < 0x80)
		{
			if (c == 0)
			{
				*why = "NUL";
				break;
			}
			if (c == '{' || c == '[')
				count++;
			i++;
			continue;
		}
		if (c < 0xc0)
		{
			*why = "a continuation byte without a lead byte";
			break;
		}
		if (c < 0xc2)
		{
			*why = "an overlong encoding";
			break;
		}
		if (c < 0xe0)
			n = 1;
		else if (c < 0xf0)
		{
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		}
		else if (c < 0xf5)
		{
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		}
		else
		{
			*why = "a byte that never appears in UTF-8";
			break;
		}
		for (k = 1; k <= n; k++)
		{
			unsigned char cc;

			if (i + k >= len)
			{
				*why = "a truncated sequence";
				break;
			}
			cc = s[i + k];
			if (cc < 0x80 || cc > 0xbf)
			{
				*why = "a truncated sequence";
				break;
			}
			if (k == 1 && (cc < lo || cc > hi))
			{
				if (c == 0xed)
					*why = "a UTF-16 surrogate";
				else if (c == 0xf4)
					*why = "a code point above U+10FFFF";
				else
					*why = "an overlong encoding";
				break;
			}
		}
		if (k <= n)
			break;
		i += n + 1;
	}
	*brackets = count;
	return i;
}

/* The value of n ASCII digits, or -1 when one is not a digit. */
static int
Digits(const char *s, int n)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Gregorian leap years: every fourth, except centuries not divisible by 400. */
static bool
IsLeapYear(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days in a month of a year; month is 1 to 12. */
static int
DaysInMonth(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return days[month - 1] + (month == 2 && IsLeapYear(year));
}

/*
 * Days from 1970-01-01 to a valid date of a positive year: whole years
 * since 0001-01-01 with their leap days, then the months and days of this
 * year, less the 719162 days from 0001-01-01 to 1970-01-01.
 */
static int64
DaysFromCivil(int year, int month, int day)
{
	static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64		y = year - 1;
	int64		days;

	days = y * 365 + y / 4 - y / 100 + y / 400;
	days += before[month - 1] + (month > 2 && IsLeapYear(year)) + day - 1;
	return days - 719162;
}

/*
 * The zone suffix after a time ("" included): minutes east of UTC in
 * *offset.  TS_FORMAT when it is not one of the accepted forms, TS_ZONE
 * when it is beyond 14:00 or its minutes are not 00-59.
 */
static TimestampStatus
ZoneParse(const char *s, size_t len, int *offset)
{
	int			hours;
	int			minutes = 0;

	*offset = 0;
	if (len == 0 || (len == 1 && s[0] == 'Z'))
		return TS_OK;
	if (s[0] != '+' && s[0] != '-')
		return TS_FORMAT;
	if (len == 3)
		hours = Digits(s + 1, 2);
	else if (len == 5)
	{
		hours = Digits(s + 1, 2);
		minutes = Digits(s + 3, 2);
	}
	else if (len == 6 && s[3] == ':')
	{
		hours = Digits(s + 1, 2);
		minutes = Digits(s + 4, 2);
	}
	else
		return TS_FORMAT;
	if (hours < 0 || minutes < 0)
		return TS_FORMAT;
	if (minutes > 59 || hours * 60 + minutes > 14 * 60)
		return TS_ZONE;
	*offset = (s[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
	return TS_OK;
}

/* Timestamp text to microseconds since the epoch, saying what is wrong. */
static TimestampStatus
TimestampParse(const char *s, size_t len, int64_t *ts_us)
{
	int			year,
				month,
				day,
				hour,
				minute,
				second;
	int64		fraction = 0;
	int			ndigits = 0;
	int			offset;
	size_t		pos = 19;
	TimestampStatus status;

	if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
		s[13] != ':' || s[16] != ':')
		return TS_FORMAT;
	year = Digits(s, 4);
	month = Digits(s + 5, 2);
	day = Digits(s + 8, 2);
	hour = Digits(s + 11, 2);
	minute = Digits(s + 14, 2);
	second = Digits(s + 17, 2);
	if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0)
		return TS_FORMAT;
	if (pos < len && s[pos] == '.')
	{
		for (pos++; pos < len && s[pos] >= '0' && s[pos] <= '9'; pos++)
		{
			if (++ndigits > 6)
				return TS_FORMAT;
			fraction = fraction * 10 + (s[pos] - '0');
		}
		if (ndigits == 0)
			return TS_FORMAT;
		for (; ndigits < 6; ndigits++)
			fraction *= 10;
	}
	status = ZoneParse(s + pos, len - pos, &offset);
	if (status == TS_FORMAT)
		return status;
	if (year < 1000)
		return TS_YEAR;
	if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month))
		return TS_DATE;
	if (hour > 23 || minute > 59 || second > 59)
		return TS_TIME;
	if (status != TS_OK)
		return status;

	*ts_us = ((DaysFromCivil(year, month, day) * SECONDS_PER_DAY +
			   hour * 3600 + minute * 60 + second - (int64) offset * 60) *
			  MICROS_PER_SECOND) + fraction;
	return TS_OK;
}

/* Timestamp text -> microseconds since the Unix epoch (UTC). */
bool
EventParseTimestamp(const char *text, size_t len, int64_t *ts_us)
{
	int64_t		ts;

	if (TimestampParse(text, len, &ts) != TS_OK)
		return false;
	*ts_us = ts;
	return true;
}

/* Why a feature's text is not a count, from its first non-digit byte. */
static CountStatus
CountMistake(const char *s, size_t len, size_t i)
{
	char		c = s[i];

	if (i == 0 && c == '-')
		return (len > 1 && s[1] >= '0' && s[1] <= '9') ? COUNT_NEGATIVE : COUNT_NOT_DECIMAL;
	if (i == 0 && c == '+')
		return COUNT_PLUS;
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
		return COUNT_SPACE;
	if (c == '.')
		return COUNT_FRACTION;
	if (i > 0 && (c == 'e' || c == 'E'))
		return COUNT_EXPONENT;
	if (i == 1 && s[0] == '0' && (c == 'x' || c == 'X'))
		return COUNT_HEX;
	return COUNT_NOT_DECIMAL;
}

/* A plain non-negative decimal integer that fits in int64. */
static CountStatus
CountParse(const char *s, size_t len, int64_t *value)
{
	int64		v = 0;
	bool		overflow = false;
	size_t		i;

	if (len == 0)
		return COUNT_EMPTY;
	for (i = 0; i < len; i++)
	{
		int			d = s[i] - '0';

		if (d < 0 || d > 9)
			return CountMistake(s, len, i);
		if (v > (PG_INT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (overflow)
		return COUNT_TOO_LARGE;
	*value = v;
	return COUNT_OK;
}

/* The end of a reason about a feature's value, after the value. */
static const char *
CountMistakeText(CountStatus status)
{
	switch (status)
	{
		case COUNT_OK:
			return "is valid";
		case COUNT_EMPTY:
			return "is empty";
		case COUNT_NEGATIVE:
			return "is negative";
		case COUNT_PLUS:
			return "has a plus sign";
		case COUNT_SPACE:
			return "contains whitespace";
		case COUNT_FRACTION:
			return "is not an integer";
		case COUNT_EXPONENT:
			return "has an exponent";
		case COUNT_HEX:
			return "is hexadecimal";
		case COUNT_NOT_DECIMAL:
			return "is not a decimal integer";
		case COUNT_TOO_LARGE:
			return "is too large (the largest is 9223372036854775807)";
	}
	return "is invalid";
}

/* The JSON type of a value from its first token, for reasons. */
static const char *
TokenKindName(JsonTokenType type)
{
	switch (type)
	{
		case JSON_TOKEN_STRING:
			return "a string";
		case JSON_TOKEN_NUMBER:
			return "a number";
		case JSON_TOKEN_OBJECT_START:
			return "an object";
		case JSON_TOKEN_ARRAY_START:
			return "an array";
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			return "a boolean";
		case JSON_TOKEN_NULL:
			return "null";
		default:
			break;
	}
	return "not a value";
}

/* Whether name[0..len-1] is the string key. */
static inline bool
KeyIs(const char *name, size_t len, const char *key)
{
	return strlen(key) == len && memcmp(name, key, len) == 0;
}

/* Which known key a member name of len bytes is. */
static int
KeyIndex(const char *name, size_t len)
{
	if (len == 0)
		return KEY_UNKNOWN;
	switch (name[0])
	{
		case 'a':
			if (KeyIs(name, len, "allow"))
				return 1;
			break;
		case 'b':
			if (KeyIs(name, len, "bytesin"))
				return 6;
			if (KeyIs(name, len, "bytesout"))
				return 7;
			break;
		case 'd':
			if (KeyIs(name, len, "drop"))
				return 2;
			break;
		case 'f':
			if (KeyIs(name, len, "frequency"))
				return 3;
			break;
		case 'p':
			if (KeyIs(name, len, "pkts_sent"))
				return 4;
			if (KeyIs(name, len, "pkts_received"))
				return 5;
			break;
		case 's':
			if (KeyIs(name, len, "src_ip"))
				return KEY_SRC_IP;
			break;
		case 't':
			if (KeyIs(name, len, "timestamp"))
				return KEY_TIMESTAMP;
			break;
		case 'u':
			if (KeyIs(name, len, "unq_dst_ip"))
				return 0;
			if (KeyIs(name, len, "unq_dst_port"))
				return 8;
			break;
	}
	return KEY_UNKNOWN;
}

/*
 * A member's value as its first token: the type, and the text, which for a
 * string is its (de-escaped) contents and for a number the number as
 * written.
 */
typedef struct MemberValue
{
	JsonTokenType type;
	const char *text;
	size_t		len;
} MemberValue;

/* src_ip: a string holding an address literal. */
static void
MemberSrcIp(EventBuilder *b, const MemberValue *v)
{
	char		shown[EVENT_SHOWN_MAX];

	if (v->type != JSON_TOKEN_STRING)
	{
		Fail(b, "src_ip must be a string, not %s", TokenKindName(v->type));
		return;
	}
	if (v->len == 0)
	{
		Fail(b, "src_ip is empty");
		return;
	}
	if (!IpParse(v->text, v->len, &b->out->src_ip))
	{
		ShowValue(shown, sizeof(shown), v->text, v->len, true);
		Fail(b, "src_ip %s is not an IPv4 or IPv6 address", shown);
		return;
	}
	IpFormat(&b->out->src_ip, b->out->src_ip_text);
}

/* timestamp: a string in one of the accepted forms. */
static void
MemberTimestamp(EventBuilder *b, const MemberValue *v)
{
	char		shown[EVENT_SHOWN_MAX];
	const char *why = NULL;

	if (v->type != JSON_TOKEN_STRING)
	{
		Fail(b, "timestamp must be a string, not %s", TokenKindName(v->type));
		return;
	}
	switch (TimestampParse(v->text, v->len, &b->out->ts_us))
	{
		case TS_OK:
			return;
		case TS_FORMAT:
			why = "is not of the form YYYY-MM-DD HH:MM:SS[.ffffff][Z|+HH:MM] (or with T for the space)";
			break;
		case TS_YEAR:
			why = "is not a valid date (years 1000 to 9999)";
			break;
		case TS_DATE:
			why = "is not a valid date";
			break;
		case TS_TIME:
			why = "is not a valid time of day";
			break;
		case TS_ZONE:
			why = "has an invalid zone offset (at most 14:00, minutes 00-59)";
			break;
	}
	ShowValue(shown, sizeof(shown), v->text, v->len, true);
	Fail(b, "timestamp %s %s", shown, why);
}

/* A feature: null, or a number or string holding a count. */
static void
MemberFeature(EventBuilder *b, int feature, const MemberValue *v)
{
	CountStatus status;
	char		shown[EVENT_SHOWN_MAX];

	if (v->type == JSON_TOKEN_NULL)
		return;
	if (v->type != JSON_TOKEN_STRING && v->type != JSON_TOKEN_NUMBER)
	{
		Fail(b, "feature \"%s\" must be a number or a string, not %s",
			 EventFeatureNames[feature], TokenKindName(v->type));
		return;
	}
	status = CountParse(v->text, v->len, &b->out->features[feature]);
	if (status == COUNT_OK)
	{
		b->out->present |= UINT32_C(1) << feature;
		return;
	}
	ShowValue(shown, sizeof(shown), v->text, v->len, v->type == JSON_TOKEN_STRING);
	Fail(b, "feature \"%s\": %s %s", EventFeatureNames[feature], shown,
		 CountMistakeText(status));
}

/* One member of the event object: checks and stores a known key's value. */
static void
Member(EventBuilder *b, const char *name, size_t name_len, const MemberValue *v)
{
	int			key = KeyIndex(name, name_len);

	if (key == KEY_UNKNOWN)
		return;
	if (b->seen & (UINT32_C(1) << key))
	{
		Fail(b, "duplicate key \"%.*s\"", (int) name_len, name);
		return;
	}
	b->seen |= UINT32_C(1) << key;
	if (key == KEY_SRC_IP)
		MemberSrcIp(b, v);
	else if (key == KEY_TIMESTAMP)
		MemberTimestamp(b, v);
	else
		MemberFeature(b, key, v);
}

/*
 * Called by the parser for every member name at any depth, with the lexer
 * on the member's value; only the event object's own members (level 1)
 * matter.  The name is ours to free.
 */
static JSON_ACTION_RESULT
EventFieldStart(void *state, char *fname, bool isnull)
{
	EventBuilder *b = state;
	JsonLexContext *lex = b->lex;
	MemberValue v;

	if (fname == NULL)
		JSON_ACTION_DONE;
	if (lex->lex_level == 1 && !b->failed)
	{
		v.type = lex->token_type;
		if (v.type == JSON_TOKEN_STRING)
		{
			v.text = lex->strval->data;
			v.len = lex->strval->len;
		}
		else
		{
			v.text = lex->token_start;
			v.len = lex->token_terminator - lex->token_start;
		}
		Member(b, fname, strlen(fname), &v);
	}
	pfree(fname);
	JSON_ACTION_DONE;
}

/*
 * The common case, fast: one flat object of scalar members and not a
 * backslash in the whole message, so that every string's contents are its
 * raw bytes between the quotes.  Postgres' lexer then gives each token
 * without building de-escaped copies (which the parser of Postgres 15 does
 * a byte at a time, half of a parse).  Returns true for a valid event;
 * false for anything else (another shape, a syntax error, an invalid
 * member), which the full parser then decides and explains.
 */
static bool
EventParseFlat(EventBuilder *b, const char *payload, size_t len)
{
	JsonLexContext *lex;
	bool		valid = false;

	if (memchr(payload, '\\', len) != NULL)
		return false;
	lex = JsonLexNewRaw(payload, len);
	if (json_lex(lex) != JSON_SUCCESS || lex->token_type != JSON_TOKEN_OBJECT_START ||
		json_lex(lex) != JSON_SUCCESS)
		goto done;
	if (lex->token_type != JSON_TOKEN_OBJECT_END)
	{
		for (;;)
		{
			const char *name;
			size_t		name_len;
			MemberValue v;

			if (lex->token_type != JSON_TOKEN_STRING)
				goto done;
			name = lex->token_start + 1;
			name_len = lex->token_terminator - lex->token_start - 2;
			if (json_lex(lex) != JSON_SUCCESS || lex->token_type != JSON_TOKEN_COLON ||
				json_lex(lex) != JSON_SUCCESS)
				goto done;
			v.type = lex->token_type;
			if (v.type != JSON_TOKEN_STRING && v.type != JSON_TOKEN_NUMBER &&
				v.type != JSON_TOKEN_TRUE && v.type != JSON_TOKEN_FALSE &&
				v.type != JSON_TOKEN_NULL)
				goto done;
			v.text = lex->token_start;
			v.len = lex->token_terminator - lex->token_start;
			if (v.type == JSON_TOKEN_STRING)
			{
				v.text++;
				v.len -= 2;
			}
			Member(b, name, name_len, &v);
			if (b->failed || json_lex(lex) != JSON_SUCCESS)
				goto done;
			if (lex->token_type == JSON_TOKEN_OBJECT_END)
				break;
			if (lex->token_type != JSON_TOKEN_COMMA || json_lex(lex) != JSON_SUCCESS)
				goto done;
		}
	}
	valid = json_lex(lex) == JSON_SUCCESS && lex->token_type == JSON_TOKEN_END &&
		(b->seen & (UINT32_C(1) << KEY_SRC_IP)) && (b->seen & (UINT32_C(1) << KEY_TIMESTAMP));
done:
	JsonLexFreeRaw(lex);
	return valid;
}

/* The JSON type of a whole document that parsed, from its first byte. */
static const char *
DocumentKindName(const char *payload, size_t len)
{
	size_t		i = 0;

	while (i < len && (payload[i] == ' ' || payload[i] == '\t' ||
					   payload[i] == '\n' || payload[i] == '\r'))
		i++;
	if (i == len)
		return "nothing";
	switch (payload[i])
	{
		case '{':
			return NULL;
		case '[':
			return "an array";
		case '"':
			return "a string";
		case 't':
		case 'f':
			return "a boolean";
		case 'n':
			return "null";
	}
	return "a number";
}

/* Checks made on the raw bytes, before the parser sees them. */
static bool
PayloadCheck(EventBuilder *b, const char *payload, size_t len, size_t max_bytes)
{
	const char *why = NULL;
	size_t		bad;
	size_t		brackets;

	if (len > max_bytes)
	{
		Fail(b, "message of %zu bytes exceeds the limit of %zu bytes (ipflow.max_message_size)",
			 len, max_bytes);
		return false;
	}
	if (len > EVENT_PARSER_MAX_BYTES)
	{
		Fail(b, "message of %zu bytes exceeds the parser's limit of %zu bytes",
			 len, EVENT_PARSER_MAX_BYTES);
		return false;
	}
	if (len == 0)
	{
		Fail(b, "message is empty");
		return false;
	}
	bad = PayloadScan((const unsigned char *) payload, len, &why, &brackets);
	if (bad < len)
	{
		if (payload[bad] == '\0')
			Fail(b, "message contains a NUL byte at byte %zu", bad);
		else
			Fail(b, "message is not valid UTF-8 at byte %zu: %s", bad, why);
		return false;
	}
	/* the nesting cannot exceed the number of brackets */
	if (brackets > JSON_TREE_MAX_DEPTH &&
		JsonNestingDepth(payload, len) > JSON_TREE_MAX_DEPTH)
	{
		Fail(b, "message nests deeper than %d levels", JSON_TREE_MAX_DEPTH);
		return false;
	}
	return true;
}

/* An empty event and no problem yet: the start of a parse. */
static void
BuilderStart(EventBuilder *b, Event *out, char *reason)
{
	memset(out, 0, sizeof(*out));
	memset(b, 0, sizeof(*b));
	b->out = out;
	b->reason = reason;
	b->reason[0] = '\0';
}

/* Parses and validates one event; see the rules at the top of this file. */
bool
EventParse(const char *payload, size_t len, size_t max_bytes, Event *out,
		   char reason[EVENT_REASON_MAX])
{
	EventBuilder b;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;
	char		scratch[EVENT_REASON_MAX];
	const char *kind;

	BuilderStart(&b, out, reason ? reason : scratch);
	if (!PayloadCheck(&b, payload, len, max_bytes))
		return false;
	if (EventParseFlat(&b, payload, len))
		return true;
	BuilderStart(&b, out, reason ? reason : scratch);

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &b;
	sem.object_field_start = EventFieldStart;

	lex = JsonLexNew(payload, len);
	b.lex = lex;
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
	{
		/* a syntax error wins over anything the callbacks found */
		b.failed = false;
		/* at the end of the input the lexer has no token start */
		Fail(&b, "not valid JSON: %s at byte %d", JsonParseErrorText(rc),
			 (int) ((lex->token_start ? lex->token_start : lex->token_terminator) -
					lex->input));
	}
	JsonLexFree(lex);
	if (rc != JSON_SUCCESS)
	{
		memset(out, 0, sizeof(*out));
		return false;
	}

	kind = DocumentKindName(payload, len);
	if (kind != NULL)
	{
		b.failed = false;
		Fail(&b, "the event must be a JSON object, not %s", kind);
		return false;
	}
	if (!(b.seen & (UINT32_C(1) << KEY_SRC_IP)))
		Fail(&b, "missing key \"src_ip\"");
	else if (!(b.seen & (UINT32_C(1) << KEY_TIMESTAMP)))
		Fail(&b, "missing key \"timestamp\"");
	if (b.failed)
	{
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}
