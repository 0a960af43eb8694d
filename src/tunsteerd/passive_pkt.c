/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>

#include "lib/wire.h"
#include "tunsteerd/passive_pkt.h"
#include "tunsteerd/probe_pkt.h"

/* The unidirectional checks' customer-side address: our endpoint, or the
 * provider's configured target. */
static int
is_uni_addr(uint32_t x, const struct passive_addrs *a)
{
	return x == a->endpoint || (a->target != 0 && x == a->target);
}

int
passive_classify(const uint8_t *pkt, size_t len, const struct passive_addrs *a)
{
	size_t ihl, tot;
	const uint8_t *icmp;
	uint32_t src, dst;

	if (len < 20 || (pkt[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = (size_t)pkt[2] << 8 | pkt[3];
	/* The capture may be shorter than tot, never the ICMP header. */
	if (ihl < 20 || len < ihl + 8 || tot < ihl + 8)
		return -EINVAL;
	if (wire_cksum(pkt, ihl) != 0)
		return -EINVAL;
	if (pkt[9] != IPPROTO_ICMP)
		return -ENOENT;
	/* A later fragment carries no ICMP header; a first one does. */
	if (((pkt[6] & 0x1f) | pkt[7]) != 0)
		return -ENOENT;
	icmp = pkt + ihl;
	if (icmp[1] != 0 || (icmp[0] != ICMP_ECHO && icmp[0] != ICMP_ECHOREPLY))
		return -ENOENT;
	/* Our own probes (and answers to them) carry our magic. */
	if (len >= ihl + 12 && tot >= ihl + 12 && wire_get_be32(icmp + 8) == PROBE_MAGIC)
		return -ENOENT;
	src = wire_get_be32(pkt + 12);
	dst = wire_get_be32(pkt + 16);
	if (icmp[0] == ICMP_ECHO) {
		if (src == a->peer && dst == a->inner)
			return PASSIVE_BIDI_REQUEST;
		if (is_uni_addr(dst, a))
			return PASSIVE_UNI_REQUEST;
	} else {
		if (src == a->inner && dst == a->peer)
			return PASSIVE_BIDI_REPLY;
		if (is_uni_addr(src, a))
			return PASSIVE_UNI_REPLY;
	}
	return -ENOENT;
}

const char *
passive_kind_name(enum passive_kind k)
{
	static const char *const names[PASSIVE_KINDS] = {
		[PASSIVE_BIDI_REQUEST] = "bidirectional_request",
		[PASSIVE_BIDI_REPLY] = "bidirectional_reply",
		[PASSIVE_UNI_REQUEST] = "unidirectional_request",
		[PASSIVE_UNI_REPLY] = "unidirectional_reply",
	};

	return (unsigned int)k < PASSIVE_KINDS ? names[k] : "?";
}
