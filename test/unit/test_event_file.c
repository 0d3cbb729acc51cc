/* Unit tests of event_file.c: a sender file split into its events. */
#include "postgres_fe.h"

#include "event.h"
#include "event_file.h"
#include "tap.h"

static int
split(const char *text, EventFileSpan **spans, char *error)
{
	int			n = -1;

	if (!EventFileSplit(text, strlen(text), spans, &n, error))
		return -1;
	return n;
}

/* The text of span i. */
static const char *
span_text(const char *text, const EventFileSpan *s)
{
	static char buf[1024];

	memcpy(buf, text + s->offset, s->len);
	buf[s->len] = '\0';
	return buf;
}

int
main(void)
{
	const char *array = "[\n  {\"src_ip\":\"1.2.3.4\",\"timestamp\":\"2022-01-03 08:00:00\",\"allow\":\"1\"},\n"
		"  {\"src_ip\":\"1.2.3.5\",\"nested\":[1,{\"a\":[2]}],\"timestamp\":\"2022-01-03 08:00:00\"}\n]\n";
	const char *lines = "{\"src_ip\":\"1.2.3.4\",\"timestamp\":\"2022-01-03 08:00:00\"}\r\n\n"
		"  {\"src_ip\":\"1.2.3.5\",\"timestamp\":\"2022-01-03 09:00:00\"}  \n";
	const char *pretty = "{\n  \"src_ip\": \"1.2.3.4\",\n  \"timestamp\": \"2022-01-03 08:00:00\"\n}\n";
	EventFileSpan *spans;
	char		error[EVENT_FILE_ERROR_MAX];
	Event		ev;
	int			n;

	n = split(array, &spans, error);
	is_int(n, 2, "an array of two events");
	if (n == 2)
	{
		is_str(span_text(array, &spans[0]),
			   "{\"src_ip\":\"1.2.3.4\",\"timestamp\":\"2022-01-03 08:00:00\",\"allow\":\"1\"}",
			   "the first element, byte for byte");
		is_str(span_text(array, &spans[1]),
			   "{\"src_ip\":\"1.2.3.5\",\"nested\":[1,{\"a\":[2]}],\"timestamp\":\"2022-01-03 08:00:00\"}",
			   "nested values stay inside their element");
		is_int(spans[0].line, 2, "the first element is on line 2");
		is_int(spans[1].line, 3, "the second on line 3");
		ok(EventParse(array + spans[1].offset, spans[1].len, 1 << 20, &ev, NULL), "each element parses as an event");
	}
	free(spans);

	n = split(lines, &spans, error);
	is_int(n, 2, "one event per line, blank lines skipped");
	if (n == 2)
	{
		is_str(span_text(lines, &spans[1]), "{\"src_ip\":\"1.2.3.5\",\"timestamp\":\"2022-01-03 09:00:00\"}",
			   "a line without its spaces and CR");
		is_int(spans[1].line, 3, "its line number");
	}
	free(spans);

	n = split(pretty, &spans, error);
	is_int(n, 1, "one pretty-printed object is one event");
	if (n == 1)
		ok(EventParse(pretty + spans[0].offset, spans[0].len, 1 << 20, &ev, NULL), "and it parses");
	free(spans);

	n = split("[]", &spans, error);
	is_int(n, 0, "an empty array has no event");
	free(spans);
	n = split("\n \n", &spans, error);
	is_int(n, 0, "a blank file has no event");
	free(spans);
	n = split("\xEF\xBB\xBF[{\"a\":1}]", &spans, error);
	is_int(n, 1, "a byte order mark is skipped");
	free(spans);

	n = split("[{\"src_ip\":\"1.2.3.4\"},\n{\"src_ip\":}]", &spans, error);
	is_int(n, -1, "a broken array is refused");
	ok(strstr(error, "line 2") != NULL, "the error gives the line (%s)", error);
	n = split("[{\"a\":1}", &spans, error);
	is_int(n, -1, "an unclosed array is refused");
	n = split("[1] [2]", &spans, error);
	is_int(n, -1, "two arrays are refused");

	n = split("{\"a\":1}\nnot json\n", &spans, error);
	is_int(n, 2, "lines are split without judging them");
	if (n == 2)
		ok(!EventParse(lines + 0, 0, 1 << 20, &ev, NULL) &&
		   !EventParse("not json", 8, 1 << 20, &ev, NULL), "EventParse judges them");
	free(spans);

	n = EventFileSplit("[1,\0]", 5, &spans, &n, error) ? n : -1;
	is_int(n, -1, "a NUL byte is refused");
	return tap_done();
}
