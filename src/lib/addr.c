/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"

static unsigned int
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static const uint8_t *
prefix_bytes(const struct ts_prefix *p)
{
	return p->family == AF_INET ? (const uint8_t *)&p->v4 :
				      (const uint8_t *)&p->v6;
}

/* Do the first @bits bits of @a and @b agree? */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int
ts_prefix_parse(const char *text, bool strict, struct ts_prefix *p)
{
	char buf[TS_PREFIX_STRLEN];
	const char *slash;
	size_t alen;
	struct ts_prefix masked;

	memset(p, 0, sizeof(*p));
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, &p->v4) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &p->v6) == 1)
		p->family = AF_INET6;
	else
		return -EINVAL;

	p->len = family_bits(p->family);
	if (slash) {
		char *end;
		unsigned long len;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end != '\0' || len > family_bits(p->family))
			return -EINVAL;
		p->len = (uint8_t)len;
	}
	if (strict) {
		masked = *p;
		ts_prefix_mask(&masked);
		if (!ts_prefix_equal(&masked, p))
			return -EDOM;
	}
	return 0;
}

char *
ts_prefix_format(const struct ts_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (p->family != AF_INET && p->family != AF_INET6) {
		snprintf(buf, len, "any");
		return buf;
	}
	inet_ntop(p->family, prefix_bytes(p), a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

void
ts_prefix_mask(struct ts_prefix *p)
{
	uint8_t *b = p->family == AF_INET ? (uint8_t *)&p->v4 : (uint8_t *)&p->v6;
	unsigned int nbytes = family_bits(p->family) / 8, i;

	for (i = 0; i < nbytes; i++) {
		unsigned int first = i * 8;

		if (first >= p->len)
			b[i] = 0;
		else if (first + 8 > p->len)
			b[i] &= (uint8_t)(0xff << (8 - (p->len - first)));
	}
}

bool
ts_prefix_equal(const struct ts_prefix *a, const struct ts_prefix *b)
{
	if (a->len != b->len || a->family != b->family)
		return false;
	if (a->family != AF_INET && a->family != AF_INET6)
		return true;
	return memcmp(prefix_bytes(a), prefix_bytes(b),
		      family_bits(a->family) / 8) == 0;
}

int
ts_prefix_cmp(const struct ts_prefix *a, const struct ts_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == AF_INET || a->family == AF_INET6) {
		/* Network byte order compares numerically byte by byte. */
		c = memcmp(prefix_bytes(a), prefix_bytes(b), family_bits(a->family) / 8);
		if (c)
			return c < 0 ? -1 : 1;
	}
	return a->len < b->len ? -1 : a->len > b->len;
}

bool
ts_prefix_contains(const struct ts_prefix *outer, const struct ts_prefix *inner)
{
	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	return bits_equal(prefix_bytes(outer), prefix_bytes(inner), outer->len);
}

bool
ts_prefix_overlaps(const struct ts_prefix *a, const struct ts_prefix *b)
{
	return ts_prefix_contains(a, b) || ts_prefix_contains(b, a);
}

int
ts_prefix_peer(const struct ts_prefix *addr, struct in_addr *peer)
{
	uint32_t h;

	if (addr->family != AF_INET)
		return -EINVAL;
	h = ntohl(addr->v4.s_addr);
	if (addr->len == 31) {
		peer->s_addr = htonl(h ^ 1);
		return 0;
	}
	if (addr->len == 30) {
		switch (h & 3) {
		case 1: peer->s_addr = htonl(h + 1); return 0;
		case 2: peer->s_addr = htonl(h - 1); return 0;
		default: return -EINVAL;
		}
	}
	return -EINVAL;
}

const char *
ts_prefix_peer6(const struct ts_prefix *addr, struct in6_addr *peer)
{
	static const struct ts_prefix link_local = {
		.family = AF_INET6, .v6.s6_addr = { 0xfe, 0x80 }, .len = 10 };
	static const struct ts_prefix multicast = {
		.family = AF_INET6, .v6.s6_addr = { 0xff }, .len = 8 };
	static const struct ts_prefix v4_mapped = {
		.family = AF_INET6, .v6.s6_addr = { [10] = 0xff, [11] = 0xff },
		.len = 96 };

	if (addr->family != AF_INET6 || addr->len != 127)
		return "not a /127";
	if (ts_prefix_contains(&link_local, addr))
		return "link-local";
	if (ts_prefix_contains(&multicast, addr))
		return "multicast";
	if (ts_prefix_contains(&v4_mapped, addr))
		return "IPv4-mapped";
	*peer = addr->v6;
	peer->s6_addr[15] ^= 1;
	return NULL;
}
