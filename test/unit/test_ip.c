/* Unit tests of ip.c: strict literals and canonical text. */
#include "ip.h"
#include "tap.h"

#include <arpa/inet.h>

static void
canonical(const char *in, const char *want)
{
	IpAddr		ip;
	char		out[IP_TEXT_MAX];

	if (!ok(IpParse(in, strlen(in), &ip), "\"%s\" parses", in))
		return;
	IpFormat(&ip, out);
	is_str(out, want, "\"%s\" prints as \"%s\"", in, want);
}

/* Every octet value in every position prints as inet_ntop prints it. */
static void
ipv4_like_inet_ntop(void)
{
	IpAddr		ip;
	char		out[IP_TEXT_MAX];
	char		want[IP_TEXT_MAX];
	char		first[3 * IP_TEXT_MAX] = "";
	int			mismatches = 0;
	int			pos,
				v;

	for (pos = 0; pos < 4; pos++)
		for (v = 0; v < 256; v++)
		{
			memset(&ip, 0, sizeof(ip));
			ip.family = 4;
			memcpy(ip.bytes, "\x0a\x63\x09\xff", 4);
			ip.bytes[pos] = (unsigned char) v;
			IpFormat(&ip, out);
			inet_ntop(AF_INET, ip.bytes, want, sizeof(want));
			if (strcmp(out, want) != 0 && mismatches++ == 0)
				snprintf(first, sizeof(first), " (first: %s as %s)", want, out);
		}
	ok(mismatches == 0, "IPv4 text equals inet_ntop's for all 1024 single-octet variations%s", first);
}

static void
rejected(const char *in, size_t len, const char *why)
{
	IpAddr		ip;

	ok(!IpParse(in, len, &ip), "rejects %s", why);
}

int
main(void)
{
	IpAddr		ip;

	canonical("46.39.79.251", "46.39.79.251");
	canonical("0.0.0.0", "0.0.0.0");
	canonical("255.255.255.255", "255.255.255.255");
	canonical("2001:DB8::1", "2001:db8::1");
	canonical("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	canonical("::", "::");
	canonical("::1", "::1");
	canonical("::ffff:1.2.3.4", "::ffff:1.2.3.4");
	canonical("fe80:0:0:0:1:0:0:1", "fe80::1:0:0:1");
	ipv4_like_inet_ntop();

	ok(IpParse("10.1.2.3", 8, &ip) && ip.family == 4 && ip.bytes[0] == 10 && ip.bytes[3] == 3,
	   "IPv4 bytes in network order");
	ok(IpParse("10.1.2.3junk", 8, &ip), "only len bytes are read");

	rejected("", 0, "the empty string");
	rejected("1.2.3", 5, "three octets");
	rejected("1.2.3.4.5", 9, "five octets");
	rejected("256.1.1.1", 9, "an octet above 255");
	rejected("01.2.3.4", 8, "a leading zero");
	rejected("1.2.3.4/32", 10, "a netmask");
	rejected(" 1.2.3.4", 8, "leading space");
	rejected("1.2.3.4 ", 8, "trailing space");
	rejected("-1.2.3.4", 8, "a sign");
	rejected("localhost", 9, "a host name");
	rejected("1:2:3:4:5:6:7:8:9", 17, "nine IPv6 groups");
	rejected("1::2::3", 7, "two :: in IPv6");
	rejected("[::1]", 5, "brackets");
	rejected("fe80::1%eth0", 12, "a zone id");
	rejected("12345::", 7, "a five-digit IPv6 group");
	rejected("1.2.\0003.4", 8, "an embedded NUL");
	rejected("1111:2222:3333:4444:5555:6666:7777:8888:9999:0000", 49, "an over-long literal");
	return tap_done();
}
