/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "lib/wire.h"
#include "tunsteerd/probe_pkt.h"

/* The ICMP(v6) echo header but its type and checksum, and our payload:
 * the same bytes in both families. */
static void
put_echo(const struct probe_pkt *p, uint8_t *buf)
{
	memset(buf, 0, PROBE_PKT_LEN);
	buf[4] = (uint8_t)(p->ident >> 8);
	buf[5] = (uint8_t)p->ident;
	buf[6] = (uint8_t)(p->seq >> 8);	/* low 16 bits of seq */
	buf[7] = (uint8_t)p->seq;
	wire_put_be32(buf + 8, PROBE_MAGIC);
	wire_put_be32(buf + 12, p->tunnel);
	wire_put_be32(buf + 16, p->seq);
	wire_put_be64(buf + 20, p->sent_ns);
	wire_put_be64(buf + 28, p->nonce);
}

/* An echo reply's @len bytes at @icmp (type and checksum judged by the
 * caller): ours (@ident, our magic, room for the payload) into @p. */
static int
get_echo(const uint8_t *icmp, size_t len, uint16_t ident, struct probe_pkt *p)
{
	if (((uint16_t)icmp[4] << 8 | icmp[5]) != ident)
		return -ENOENT;
	if (len < PROBE_PKT_LEN || wire_get_be32(icmp + 8) != PROBE_MAGIC)
		return -ENOENT;
	p->ident = ident;
	p->tunnel = wire_get_be32(icmp + 12);
	p->seq = wire_get_be32(icmp + 16);
	p->sent_ns = wire_get_be64(icmp + 20);
	p->nonce = wire_get_be64(icmp + 28);
	return 0;
}

size_t
probe_pkt_build(const struct probe_pkt *p, uint8_t *buf)
{
	uint16_t ck;

	put_echo(p, buf);
	buf[0] = ICMP_ECHO;
	ck = wire_cksum(buf, PROBE_PKT_LEN);
	buf[2] = (uint8_t)(ck >> 8);
	buf[3] = (uint8_t)ck;
	return PROBE_PKT_LEN;
}

int
probe_pkt_parse(const uint8_t *buf, size_t len, uint16_t ident,
		struct probe_pkt *p, uint32_t *src)
{
	size_t ihl, tot;
	const uint8_t *icmp;
	int err;

	if (len < 20 || (buf[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	tot = (size_t)buf[2] << 8 | buf[3];
	if (ihl < 20 || tot < ihl || tot > len || buf[9] != IPPROTO_ICMP)
		return -EINVAL;
	icmp = buf + ihl;
	len = tot - ihl;
	if (len < 8 || icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0)
		return -EINVAL;
	if (wire_cksum(icmp, len) != 0)
		return -EINVAL;
	if ((err = get_echo(icmp, len, ident, p)) < 0)
		return err;
	*src = wire_get_be32(buf + 12);
	return 0;
}

size_t
probe_pkt_build6(const struct probe_pkt *p, uint8_t *buf)
{
	put_echo(p, buf);
	buf[0] = ICMP6_ECHO_REQUEST;
	return PROBE_PKT_LEN;
}

int
probe_pkt_parse6(const uint8_t *buf, size_t len, uint16_t ident,
		 struct probe_pkt *p)
{
	if (len < 8 || buf[0] != ICMP6_ECHO_REPLY || buf[1] != 0)
		return -EINVAL;
	return get_echo(buf, len, ident, p);
}

bool
probe_pkt_answers(const struct probe_inflight *f, const struct probe_pkt *p,
		  uint32_t src, unsigned int ifindex, uint32_t target,
		  unsigned int tunnel_ifindex)
{
	return f->used && f->seq == p->seq && f->nonce == p->nonce &&
	       f->sent_ns == p->sent_ns && src == target &&
	       tunnel_ifindex != 0 && ifindex == tunnel_ifindex;
}

bool
probe_pkt_answers6(const struct probe_inflight *f, const struct probe_pkt *p,
		   const struct in6_addr *src, unsigned int ifindex,
		   const struct in6_addr *target, unsigned int tunnel_ifindex)
{
	return f->used && f->seq == p->seq && f->nonce == p->nonce &&
	       f->sent_ns == p->sent_ns &&
	       memcmp(src, target, sizeof(*src)) == 0 &&
	       tunnel_ifindex != 0 && ifindex == tunnel_ifindex;
}
