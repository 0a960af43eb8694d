/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "edge/edge_hcpkt.h"
#include "lib/wire.h"

void
hc_plan_for(const struct edge_tunnel *t, struct in_addr public,
	    struct hc_plan *plan)
{
	struct in_addr target = t->hc.has_target ? t->hc.target :
						   t->customer_endpoint;
	bool request = t->hc.type == EDGE_HC_REQUEST;

	memset(plan, 0, sizeof(*plan));
	plan->icmp_type = request ? ICMP_ECHO : ICMP_ECHOREPLY;
	if (t->hc.direction == EDGE_HC_BIDIRECTIONAL) {
		/* The interface addresses; the answer comes back into the
		 * tunnel because that is where the destination routes. */
		plan->via_tunnel = true;
		plan->want_src = t->customer_addr;
		plan->want_dst = t->provider_addr;
		plan->src = request ? t->provider_addr : t->customer_addr;
		plan->dst = request ? t->customer_addr : t->provider_addr;
	} else {
		/* Public addresses; the customer answers (request) or
		 * forwards (reply) outside the tunnel. */
		plan->want_src = target;
		plan->want_dst = public;
		plan->src = request ? public : target;
		plan->dst = request ? target : public;
	}
}

size_t
hc_build(const struct hc_plan *plan, const struct hc_probe *p, uint8_t *buf)
{
	uint8_t *ip = buf, *icmp = buf + 20, *pl = icmp + 8;

	memset(buf, 0, HC_PKT_LEN);
	ip[0] = 0x45;
	wire_put_be16(ip + 2, HC_PKT_LEN);
	wire_put_be16(ip + 4, (uint16_t)p->seq);	/* IP id */
	ip[8] = 64;				/* TTL */
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &plan->src.s_addr, 4);
	memcpy(ip + 16, &plan->dst.s_addr, 4);
	wire_put_be16(ip + 10, wire_cksum(ip, 20));

	icmp[0] = plan->icmp_type;
	wire_put_be16(icmp + 4, p->ident);
	wire_put_be16(icmp + 6, (uint16_t)p->seq);
	wire_put_be32(pl, HC_MAGIC);
	wire_put_be32(pl + 4, p->origin);
	wire_put_be32(pl + 8, p->tunnel);
	wire_put_be32(pl + 12, p->seq);
	wire_put_be64(pl + 16, p->sent_ns);
	wire_put_be64(pl + 24, p->nonce);
	wire_put_be16(icmp + 2, wire_cksum(icmp, HC_ICMP_LEN));
	return HC_PKT_LEN;
}

/* hc_parse(), and hc_parse_check() with @requests: echo requests too. */
static int
parse(const uint8_t *buf, size_t len, bool requests, struct hc_probe *p,
      struct in_addr *src, struct in_addr *dst)
{
	size_t ihl, tot;
	const uint8_t *icmp, *pl;

	if (len < 20 || (buf[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	tot = wire_get_be16(buf + 2);
	if (ihl < 20 || tot < ihl || tot > len || buf[9] != IPPROTO_ICMP ||
	    (wire_get_be16(buf + 6) & 0x3fff) != 0)	/* a fragment */
		return -EINVAL;
	icmp = buf + ihl;
	len = tot - ihl;
	if (len < 8 || icmp[1] != 0 || wire_cksum(icmp, len) != 0 ||
	    (icmp[0] != ICMP_ECHOREPLY && !(requests && icmp[0] == ICMP_ECHO)))
		return -EINVAL;
	pl = icmp + 8;
	if (len < HC_ICMP_LEN || wire_get_be32(pl) != HC_MAGIC)
		return -ENOENT;
	p->ident = wire_get_be16(icmp + 4);
	p->origin = wire_get_be32(pl + 4);
	p->tunnel = wire_get_be32(pl + 8);
	p->seq = wire_get_be32(pl + 12);
	p->sent_ns = wire_get_be64(pl + 16);
	p->nonce = wire_get_be64(pl + 24);
	memcpy(&src->s_addr, buf + 12, 4);
	memcpy(&dst->s_addr, buf + 16, 4);
	return 0;
}

int
hc_parse(const uint8_t *buf, size_t len, struct hc_probe *p,
	 struct in_addr *src, struct in_addr *dst)
{
	return parse(buf, len, false, p, src, dst);
}

int
hc_parse_check(const uint8_t *buf, size_t len, struct hc_probe *p,
	       struct in_addr *src, struct in_addr *dst)
{
	return parse(buf, len, true, p, src, dst);
}

bool
hc_answers(const struct hc_inflight *f, const struct hc_plan *plan,
	   uint32_t self, uint32_t tunnel, const struct hc_probe *p,
	   struct in_addr src, struct in_addr dst, uint32_t arrived)
{
	return f->used && p->origin == self && p->tunnel == tunnel &&
	       p->seq == f->seq && p->nonce == f->nonce &&
	       p->sent_ns == f->sent_ns &&
	       src.s_addr == plan->want_src.s_addr &&
	       dst.s_addr == plan->want_dst.s_addr &&
	       (!plan->via_tunnel || arrived == tunnel);
}

bool
hc_in_time(const struct hc_inflight *f, uint64_t rx_ns, unsigned int timeout_ms,
	   uint32_t *rtt_us)
{
	uint64_t rtt = rx_ns > f->sent_ns ? rx_ns - f->sent_ns : 0;

	*rtt_us = rtt / 1000u > UINT32_MAX ? UINT32_MAX : (uint32_t)(rtt / 1000u);
	return rtt <= (uint64_t)timeout_ms * 1000000u;
}

size_t
hc_relay_build(enum hc_relay_kind kind, uint32_t word, const uint8_t *pkt,
	       size_t len, uint8_t *buf, size_t size)
{
	if (size < HC_RELAY_HDR || len > size - HC_RELAY_HDR)
		return 0;
	wire_put_be32(buf, kind == HC_RELAY_SEND ? HC_RELAY_SEND_MAGIC :
						  HC_RELAY_MAGIC);
	wire_put_be32(buf + 4, word);
	memcpy(buf + HC_RELAY_HDR, pkt, len);
	return HC_RELAY_HDR + len;
}

int
hc_relay_parse(const uint8_t *buf, size_t len, enum hc_relay_kind *kind,
	       uint32_t *word)
{
	if (len < HC_RELAY_HDR + 20)
		return -EINVAL;
	switch (wire_get_be32(buf)) {
	case HC_RELAY_MAGIC:
		*kind = HC_RELAY_ANSWER;
		break;
	case HC_RELAY_SEND_MAGIC:
		*kind = HC_RELAY_SEND;
		break;
	default:
		return -EINVAL;
	}
	*word = wire_get_be32(buf + 4);
	return HC_RELAY_HDR;
}
