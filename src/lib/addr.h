/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IP prefixes: parsing, printing and the relations config validation and
 * the kernel layer need.  Values only; nothing here allocates.
 */
#ifndef TUNSTEER_ADDR_H
#define TUNSTEER_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address with a prefix length; len 32/128 is a host. */
struct ts_prefix {
	int family;		/* AF_INET or AF_INET6; 0 with len 0: "any" */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	uint8_t len;
};

/* Longest text form, "ffff:…/128" plus NUL. */
#define TS_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/*
 * Parse "a.b.c.d[/len]" or "x::y[/len]" into @p.  Without "/len" the
 * prefix is a host.  Returns 0, or -EINVAL for bad text or a length out of
 * range.  With @strict, host bits set below the prefix length are an error
 * (-EDOM): "203.0.113.1/24" is a prefix typo, not a network.
 */
int ts_prefix_parse(const char *text, bool strict, struct ts_prefix *p)
	__attribute__((warn_unused_result));

/* "a.b.c.d/len" into @buf (at least TS_PREFIX_STRLEN); returns @buf. */
char *ts_prefix_format(const struct ts_prefix *p, char *buf, size_t len);

/* Clear the host bits below the prefix length. */
void ts_prefix_mask(struct ts_prefix *p);

bool ts_prefix_equal(const struct ts_prefix *a, const struct ts_prefix *b);
/* A total order: family, then address (numerically), then length. */
int ts_prefix_cmp(const struct ts_prefix *a, const struct ts_prefix *b);
/* Does @outer contain all of @inner (same family)? */
bool ts_prefix_contains(const struct ts_prefix *outer,
			const struct ts_prefix *inner);
bool ts_prefix_overlaps(const struct ts_prefix *a, const struct ts_prefix *b);

/* The other usable host of an IPv4 /31 (or /30) holding @addr; -EINVAL
 * for any other length or for a /30's network/broadcast address. */
int ts_prefix_peer(const struct ts_prefix *addr, struct in_addr *peer)
	__attribute__((warn_unused_result));

/*
 * An inner IPv6 /127 of a tunnel (the provider's interface_address6):
 * NULL if @addr can be one, else why not ("not a /127", "link-local",
 * "multicast", "IPv4-mapped"; the kernel makes link-local addresses
 * itself and multicast is no host).  With NULL, @peer is the other host.
 */
const char *ts_prefix_peer6(const struct ts_prefix *addr, struct in6_addr *peer);

#endif
