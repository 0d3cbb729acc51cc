/*
 * fuzz_event.c - libFuzzer target for EventParse
 *
 * Every input must come back accepted or rejected with a reason, without a
 * crash, leak or undefined behaviour; an accepted event must also keep the
 * invariants checked below, and come back the same through the full parser,
 * or the target aborts.
 */
#include "postgres_fe.h"

#include <stdlib.h>

#include "event.h"

#define FUZZ_MAX_BYTES ((size_t) 1 << 20)

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the reason is a terminated, non-empty string in its buffer. */
static void
CheckReason(const char *reason, bool accepted)
{
	const char *end = memchr(reason, '\0', EVENT_REASON_MAX);

	if (end == NULL)
		abort();
	if (accepted != (end == reason))
		abort();
}

/* Aborts when an accepted event breaks an invariant of Event. */
static void
CheckEvent(const Event *ev)
{
	IpAddr		again;
	char		text[IP_TEXT_MAX];
	size_t		len;
	int			i;

	if (ev->present & ~((UINT32_C(1) << EVENT_NFEATURES) - 1))
		abort();
	for (i = 0; i < EVENT_NFEATURES; i++)
	{
		if (ev->features[i] < 0)
			abort();
		if (!(ev->present & (UINT32_C(1) << i)) && ev->features[i] != 0)
			abort();
	}
	if (ev->src_ip.family != 4 && ev->src_ip.family != 6)
		abort();
	len = strnlen(ev->src_ip_text, IP_TEXT_MAX);
	if (len == 0 || len == IP_TEXT_MAX)
		abort();
	/* the canonical text parses back to the same address and text */
	if (!IpParse(ev->src_ip_text, len, &again))
		abort();
	if (again.family != ev->src_ip.family ||
		memcmp(again.bytes, ev->src_ip.bytes, sizeof(again.bytes)) != 0)
		abort();
	IpFormat(&again, text);
	if (strcmp(text, ev->src_ip_text) != 0)
		abort();
	/* years 1000-9999 shifted by at most 14 hours */
	if (ev->ts_us < INT64CONST(-30610224000000000) - INT64CONST(50400000000) ||
		ev->ts_us > INT64CONST(253402300800000000) + INT64CONST(50400000000))
		abort();
}

/*
 * An accepted event with one more member, nested and escaped, which the fast
 * path leaves to the full parser: the same event must come back.
 */
static void
CheckFullParserAgrees(const uint8_t *data, size_t size, const Event *ev)
{
	static const char extra[] = ",\"fuzz\\u0021\":[0]";
	size_t		end = size;
	char	   *again;
	Event		ev2;

	while (end > 0 && data[end - 1] != '}')
		end--;
	if (end == 0 || size + sizeof(extra) > FUZZ_MAX_BYTES)
		return;
	again = malloc(size + sizeof(extra));
	memcpy(again, data, end - 1);
	memcpy(again + end - 1, extra, sizeof(extra) - 1);
	memcpy(again + end - 1 + sizeof(extra) - 1, data + end - 1, size - end + 1);
	if (!EventParse(again, size + sizeof(extra) - 1, FUZZ_MAX_BYTES, &ev2, NULL) ||
		memcmp(ev, &ev2, sizeof(Event)) != 0)
		abort();
	free(again);
}

/* One input: parse it and check whatever comes back. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Event		ev;
	char		reason[EVENT_REASON_MAX];
	bool		accepted;

	memset(reason, 0x55, sizeof(reason));
	accepted = EventParse((const char *) data, size, FUZZ_MAX_BYTES, &ev, reason);
	CheckReason(reason, accepted);
	if (accepted)
	{
		CheckEvent(&ev);
		CheckFullParserAgrees(data, size, &ev);
	}
	return 0;
}
