/*
 * ip.c - strict IPv4/IPv6 literals and their canonical text
 *
 * Events name their source by an address literal; anything else (host
 * names, netmasks, zone ids, brackets, abbreviated IPv4 such as "10.1") is
 * rejected.  The canonical text is what Kafka keys and Redis keys use, so it
 * must match Postgres' host(inet): lower-case, "::" compression, embedded
 * IPv4 for mapped addresses.  inet_ntop produces exactly that.
 */
#include "ip.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Parses a whole literal of exactly len bytes; false when it is not one. */
bool
IpParse(const char *text, size_t len, IpAddr *out)
{
	char		buf[IP_TEXT_MAX + 1];

	if (len == 0 || len > IP_TEXT_MAX || memchr(text, '\0', len) != NULL)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';

	memset(out, 0, sizeof(*out));
	if (memchr(buf, ':', len) != NULL)
	{
		out->family = 6;
		return inet_pton(AF_INET6, buf, out->bytes) == 1;
	}
	out->family = 4;
	return inet_pton(AF_INET, buf, out->bytes) == 1;
}

/*
 * Writes the canonical text of an address.  IPv4 is written here: glibc's
 * inet_ntop goes through sprintf, a tenth of parsing an event.
 */
void
IpFormat(const IpAddr *ip, char out[IP_TEXT_MAX])
{
	char	   *o = out;
	int			i;

	if (ip->family == 6)
	{
		if (inet_ntop(AF_INET6, ip->bytes, out, IP_TEXT_MAX) == NULL)
			out[0] = '\0';
		return;
	}
	for (i = 0; i < 4; i++)
	{
		unsigned	b = ip->bytes[i];

		if (i > 0)
			*o++ = '.';
		if (b >= 100)
			*o++ = (char) ('0' + b / 100);
		if (b >= 10)
			*o++ = (char) ('0' + b / 10 % 10);
		*o++ = (char) ('0' + b % 10);
	}
	*o = '\0';
}
