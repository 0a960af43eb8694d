/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The provider's tunnel health-check packet: an ICMP echo inside the
 * tunnel, addressed as PROVIDER.md section 1 tabulates:
 *
 *                    unidirectional                bidirectional
 *   request type     echo request                  echo request
 *                    public → target               provider side → customer side
 *                    answered outside the tunnel   answered into the tunnel
 *   reply type       echo reply                    echo reply
 *                    target → public               customer side → provider side
 *                    forwarded out of the tunnel   routed back into the tunnel
 *
 * ("public" is this server's public address, "target" the customer
 * endpoint unless configured.)  Either way what comes back is an echo
 * reply with the expected source and destination; for bidirectional
 * checks it must also come back through the same tunnel (on whichever
 * server of the data center the anycast routing delivers it to).
 *
 * The payload names the server that sent the check (its relay address,
 * or a random id without relay), the tunnel, a sequence number, the send
 * time and a 64-bit random nonce, so a reply is matched to the one check
 * in flight and nothing else: no forged, stale or duplicated reply counts.
 *
 * Pure functions: unit-tested in tests/unit/check_edge_hcpkt.c.
 */
#ifndef TUNSTEER_EDGE_HCPKT_H
#define TUNSTEER_EDGE_HCPKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/edge_config.h"

#define HC_MAGIC 0x54534531u		/* "TSE1" */
#define HC_PAYLOAD_LEN 32		/* magic origin tunnel seq time nonce */
#define HC_ICMP_LEN (8 + HC_PAYLOAD_LEN)
#define HC_PKT_LEN (20 + HC_ICMP_LEN)	/* IPv4 header, no options */
#define HC_NOT_TUNNEL UINT32_MAX	/* arrived outside every tunnel */
#define HC_RELAY_MAGIC 0x54535231u	/* "TSR1": an answer passed on */
#define HC_RELAY_SEND_MAGIC 0x54535331u	/* "TSS1": a check to send */
#define HC_RELAY_HDR 8			/* magic, tunnel */

/* What a relay datagram carries between servers. */
enum hc_relay_kind {
	/* Another server's answer, as this one received it; the word is
	 * the tunnel it arrived through (HC_NOT_TUNNEL: none). */
	HC_RELAY_ANSWER,
	/* A check of the sender's, for the receiver to send into its own
	 * device of the tunnel the word names: the sender holds that
	 * tunnel's SA inbound only (pinned, edge_prop.h) and cannot
	 * encrypt it, the receiver negotiated it and can. */
	HC_RELAY_SEND,
};

struct hc_probe {
	uint32_t origin;		/* the sending server */
	uint32_t tunnel;		/* index into the config's tunnels */
	uint32_t seq;
	uint64_t sent_ns;		/* monotonic */
	uint64_t nonce;
	uint16_t ident;			/* ICMP identifier */
};

/* What one check sends and what its answer must look like. */
struct hc_plan {
	uint8_t icmp_type;		/* ICMP_ECHO or ICMP_ECHOREPLY */
	struct in_addr src, dst;	/* of the packet sent into the tunnel */
	struct in_addr want_src, want_dst;	/* of the echo reply back */
	bool via_tunnel;		/* the answer must arrive through it */
};

/* The check of tunnel @t with settings @t->hc, sent by a server whose
 * public address is @public (used by unidirectional checks only). */
void hc_plan_for(const struct edge_tunnel *t, struct in_addr public,
		 struct hc_plan *plan);

/* Write the IPv4 packet of @plan carrying @p into @buf (HC_PKT_LEN
 * bytes); returns its length. */
size_t hc_build(const struct hc_plan *plan, const struct hc_probe *p,
		uint8_t *buf);

/*
 * Parse a received IPv4 packet (header included) as an echo reply
 * carrying one of our payloads.  Returns 0 with @p, @src, @dst filled, or
 * -EINVAL (not IPv4 ICMP echo reply, truncated, bad checksum) or -ENOENT
 * (an echo reply that is not a tunsteer-edge check).
 */
int hc_parse(const uint8_t *buf, size_t len, struct hc_probe *p,
	     struct in_addr *src, struct in_addr *dst)
	__attribute__((warn_unused_result));

/* The same for a check as hc_build() makes it, before it is sent: an echo
 * request or reply (the check's type) carrying one of our payloads. */
int hc_parse_check(const uint8_t *buf, size_t len, struct hc_probe *p,
		   struct in_addr *src, struct in_addr *dst)
	__attribute__((warn_unused_result));

/* The check in flight on one tunnel, as its sender remembers it. */
struct hc_inflight {
	bool used;
	uint32_t seq;
	uint64_t nonce, sent_ns;
};

/*
 * Is @p (from @src to @dst, arrived through tunnel @arrived or
 * HC_NOT_TUNNEL) the answer to @f, the check of tunnel @tunnel that
 * server @self sent following @plan?
 */
bool hc_answers(const struct hc_inflight *f, const struct hc_plan *plan,
		uint32_t self, uint32_t tunnel, const struct hc_probe *p,
		struct in_addr src, struct in_addr dst, uint32_t arrived);

/*
 * Was the answer to @f, received by the kernel at @rx_ns (monotonic, as
 * f->sent_ns), in time for @timeout_ms?  Judged by the kernel's receive
 * time, never by when the loop got round to reading it: a busy server is
 * not a failing tunnel, and an answer the kernel got after the timeout
 * fails however soon it is read.  *@rtt_us is set either way (0 if @rx_ns
 * is before the send).
 */
bool hc_in_time(const struct hc_inflight *f, uint64_t rx_ns,
		unsigned int timeout_ms, uint32_t *rtt_us);

/* Relay datagram: header (@kind, @word) + the packet.  0 if @size is too
 * small.  hc_relay_parse() returns the packet's offset with its kind and
 * word, or -EINVAL. */
size_t hc_relay_build(enum hc_relay_kind kind, uint32_t word,
		      const uint8_t *pkt, size_t len, uint8_t *buf, size_t size);
int hc_relay_parse(const uint8_t *buf, size_t len, enum hc_relay_kind *kind,
		   uint32_t *word)
	__attribute__((warn_unused_result));

#endif
