/*
 * ip.h - strict IPv4/IPv6 literals and their canonical text
 */
#ifndef IPFLOW_IP_H
#define IPFLOW_IP_H

#include <stdbool.h>
#include <stddef.h>

/* Room for the longest canonical form, "ffff:...:255.255.255.255" + NUL. */
#define IP_TEXT_MAX 46

typedef struct IpAddr
{
	int			family;			/* 4 or 6 */
	unsigned char bytes[16];	/* network order; IPv4 uses the first 4 */
} IpAddr;

extern bool IpParse(const char *text, size_t len, IpAddr *out);
extern void IpFormat(const IpAddr *ip, char out[IP_TEXT_MAX]);

#endif
