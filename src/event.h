/*
 * event.h - one Kafka message (a JSON event) parsed and validated in plain C
 */
#ifndef IPFLOW_EVENT_H
#define IPFLOW_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip.h"

#define EVENT_NFEATURES 9

/*
 * In this order: unq_dst_ip, allow, drop, frequency, pkts_sent,
 * pkts_received, bytesin, bytesout, unq_dst_port.
 */
extern const char *const EventFeatureNames[EVENT_NFEATURES];

/* Room for a rejection reason, NUL included. */
#define EVENT_REASON_MAX 256

typedef struct Event
{
	IpAddr		src_ip;
	char		src_ip_text[IP_TEXT_MAX];	/* canonical, via IpFormat */
	int64_t		ts_us;			/* microseconds since 1970-01-01 00:00:00 UTC */
	int64_t		features[EVENT_NFEATURES];	/* 0 when not present */
	uint32_t	present;		/* bit i: feature i present and not null */
} Event;

/*
 * Returns true and fills *out for a valid event; false with a readable
 * reason (NUL-terminated, at most EVENT_REASON_MAX bytes, valid UTF-8)
 * otherwise.  Payloads longer than max_bytes are rejected before parsing.
 * reason may be NULL.
 */
extern bool EventParse(const char *payload, size_t len, size_t max_bytes,
					   Event *out, char reason[EVENT_REASON_MAX]);

/*
 * Timestamp text -> microseconds since the Unix epoch (UTC); false when
 * invalid.  Exposed for tests and other cores.
 */
extern bool EventParseTimestamp(const char *text, size_t len, int64_t *ts_us);

#endif
