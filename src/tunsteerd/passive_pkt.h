/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Is a packet that arrived through one of our tunnels one of the
 * provider's own health checks, and of which kind?  A pure function of
 * the packet and the tunnel's addresses, so every case is unit-tested.
 *
 * The provider's checks are ICMP echoes carried inside the tunnel; their
 * inner addressing tells the four kinds apart (PROVIDER.md, section 1):
 *
 *                  request type (echo request)   reply type (echo reply)
 *   bidirectional  peer -> inner (answered into  inner -> peer (routed
 *                  the tunnel)                   back into the tunnel)
 *   unidirectional CF public -> endpoint/target  endpoint/target -> CF
 *                  (answered outside the tunnel) public (forwarded out
 *                                                by the ISP)
 *
 * Everything else that arrives through a tunnel, users' pings to or from
 * hosts behind us included, is not a check; nor are the answers to our
 * own probes (src peer, dst inner, and our magic in the payload).
 */
#ifndef TUNSTEER_PASSIVE_PKT_H
#define TUNSTEER_PASSIVE_PKT_H

#include <stddef.h>
#include <stdint.h>

enum passive_kind {
	PASSIVE_BIDI_REQUEST,
	PASSIVE_BIDI_REPLY,
	PASSIVE_UNI_REQUEST,
	PASSIVE_UNI_REPLY,
	PASSIVE_KINDS
};

/* A tunnel's addresses, host byte order. */
struct passive_addrs {
	uint32_t inner;		/* our side of the inner /31 or /30 */
	uint32_t peer;		/* the provider's side */
	uint32_t endpoint;	/* our underlay address (customer endpoint) */
	uint32_t target;	/* the provider's check target if set, else 0 */
};

/* The bytes passive_classify() needs at most: the longest IPv4 header,
 * the ICMP header and the first payload word. */
#define PASSIVE_SNAPLEN (60 + 8 + 4)

/*
 * Classify @len bytes at @pkt, an IPv4 packet (from its IP header on,
 * possibly cut short after PASSIVE_SNAPLEN bytes) that arrived through
 * the tunnel with addresses @a.  Returns its enum passive_kind, -EINVAL
 * if it is not a well-formed IPv4 ICMP packet (short, bad header
 * checksum, lengths that do not add up), or -ENOENT if it is but is no
 * provider check.  Reads nothing beyond @len.  The ICMP checksum is not
 * checked: a capture is cut short, and a damaged check still proves the
 * provider sent one.
 */
int passive_classify(const uint8_t *pkt, size_t len,
		     const struct passive_addrs *a)
	__attribute__((warn_unused_result));

/* "bidirectional_request", ... (stable: JSON keys of tunsteerctl). */
const char *passive_kind_name(enum passive_kind k);

#endif
