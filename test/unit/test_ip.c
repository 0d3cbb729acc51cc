/* Unit tests of ip.c: strict literals and canonical text. */
#include "ip.h"
#include "tap.h"

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
