/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe packet: an ICMP echo request whose payload names the tunnel
 * and carries a sequence number, the send time and a random nonce.  A
 * reply counts only if all of them match a probe still in flight (probe.c
 * keeps those), so neither a forged reply (it cannot guess 64 random
 * bits) nor a late or duplicated one can hold a dead tunnel up.  The
 * ICMPv6 probe (probe.family) is the same echo with ICMPv6's types.
 */
#ifndef TUNSTEER_PROBE_PKT_H
#define TUNSTEER_PROBE_PKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_MAGIC 0x54535031u		/* "TSP1" */
#define PROBE_PAYLOAD_LEN 28		/* magic, tunnel, seq, time, nonce */
#define PROBE_PKT_LEN (8 + PROBE_PAYLOAD_LEN)	/* ICMP header + payload */

struct probe_pkt {
	uint16_t ident;			/* ICMP identifier: this daemon */
	uint32_t tunnel;		/* index into the config's tunnels */
	uint32_t seq;
	uint64_t sent_ns;		/* monotonic */
	uint64_t nonce;
};

/* What the prober remembers of a probe until it is answered or lost. */
struct probe_inflight {
	bool used;
	uint32_t seq;
	uint64_t nonce, sent_ns, deadline_ns;
};

/*
 * Is @p, received from @src (host order) on interface @ifindex, the
 * answer to @f, a probe sent to @target (host order) through interface
 * @tunnel_ifindex?  Only if everything matches: the probe is still in
 * flight (not answered, not lost), sequence, nonce and send time are its
 * own, it comes from the target, and it came back through the tunnel.
 */
bool probe_pkt_answers(const struct probe_inflight *f, const struct probe_pkt *p,
		       uint32_t src, unsigned int ifindex, uint32_t target,
		       unsigned int tunnel_ifindex);

/* Write an echo request (ICMP header with checksum + payload) for @p into
 * @buf (at least PROBE_PKT_LEN bytes); returns its length. */
size_t probe_pkt_build(const struct probe_pkt *p, uint8_t *buf);

/*
 * Parse what a raw IPv4 ICMP socket received (IP header included) as an
 * echo reply to one of ours (@ident).  Returns 0 and fills @p and @src, or
 * -EINVAL (not an IPv4 echo reply, truncated, bad checksum) or -ENOENT
 * (someone else's echo reply: other ident or magic).
 */
int probe_pkt_parse(const uint8_t *buf, size_t len, uint16_t ident,
		    struct probe_pkt *p, uint32_t *src)
	__attribute__((warn_unused_result));

/*
 * The same for ICMPv6: an echo request with its checksum left 0, which
 * the kernel fills in (a raw IPPROTO_ICMPV6 socket always computes it,
 * RFC 3542 section 3.1; Linux refuses IPV6_CHECKSUM on one).
 */
size_t probe_pkt_build6(const struct probe_pkt *p, uint8_t *buf);

/*
 * Parse what a raw ICMPv6 socket received, which is the ICMPv6 message
 * alone (no IPv6 header: the source comes from recvmsg) and whose
 * checksum the kernel verified before handing it over (it drops one that
 * fails).  Returns 0 and fills @p, or -EINVAL (not an echo reply,
 * truncated) or -ENOENT (someone else's: other ident or magic).
 */
int probe_pkt_parse6(const uint8_t *buf, size_t len, uint16_t ident,
		     struct probe_pkt *p)
	__attribute__((warn_unused_result));

/* probe_pkt_answers() for an ICMPv6 answer from @src to a probe sent to
 * @target (the provider's side of the tunnel's /127). */
bool probe_pkt_answers6(const struct probe_inflight *f,
			const struct probe_pkt *p, const struct in6_addr *src,
			unsigned int ifindex, const struct in6_addr *target,
			unsigned int tunnel_ifindex);

#endif
