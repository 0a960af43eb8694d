/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health-check sender and receiver of one edge server.
 *
 * Per tunnel, one check in flight at a time: every interval_ms an ICMP
 * packet addressed as edge_hcpkt.h says is written straight into the
 * tunnel (an AF_PACKET socket on the GRE device: a reply-type check is
 * addressed to our own inner address, which routing would deliver
 * locally); it is lost at timeout_ms.  Each result feeds the tunnel's
 * edge_health; when the state machine asks for a quick retry, the next
 * check goes out at once.
 *
 * Answers are echo replies, read from one raw ICMP socket with the
 * interface they arrived on.  Answers to bidirectional checks come back
 * to the anycast address and may land on any server of the data center;
 * a server that receives another server's answer relays it (a UDP
 * datagram with the packet and the tunnel it arrived through) to the
 * server named in its payload, if that is one of its configured peers.
 * The payload's 64-bit nonce decides; nothing else counts.
 */
#ifndef TUNSTEER_EDGE_CHECKS_H
#define TUNSTEER_EDGE_CHECKS_H

#include <event2/event.h>
#include <stdint.h>

#include "edge/edge_config.h"
#include "edge/edge_health.h"

struct edge_checks;

/* A tunnel's state changed (from @old to its health's state). */
typedef void (*edge_checks_cb)(void *arg, size_t tunnel, enum eh_state old);

struct edge_check_stats {
	uint64_t sent, ok, failed;	/* checks and their results */
	uint64_t send_errors;		/* could not be written (lost) */
	uint64_t refused;		/* our payload, but not the check in
					 * flight (late, forged, wrong path) */
	uint64_t relayed_out;		/* others' answers we passed on */
	uint64_t relayed_in;		/* our answers a peer passed to us */
	uint64_t sent_via_peer;		/* our checks the negotiator of the
					 * tunnel's pinned SA sent for us */
	uint64_t sent_for_peers;	/* peers' checks we sent for them */
	uint32_t last_rtt_us;
};

/*
 * Open the sockets and start checking every tunnel of @c whose checks
 * are enabled.  @c must outlive the engine.  NULL with *@err (negative
 * errno) when a socket cannot be opened.
 */
struct edge_checks *edge_checks_create(struct event_base *base,
				       const struct edge_config *c,
				       edge_checks_cb cb, void *arg, int *err);
void edge_checks_destroy(struct edge_checks *ec);

/*
 * Where each tunnel's checks leave: @to[i] (n_tunnels entries, network
 * order) is the relay peer that negotiated config tunnel i's pinned SA,
 * or 0 (or @to NULL) for the tunnel's own device.  A server that holds a
 * pinned SA inbound only cannot encrypt its checks, so it hands them to
 * that peer over the relay socket (HC_RELAY_SEND), which sends them into
 * its own device of the tunnel; the customer's answers come back as any
 * do, through whichever server anycast picks, and are relayed to us.
 */
void edge_checks_set_pins(struct edge_checks *ec, const struct in_addr *to);

const struct edge_health *edge_checks_health(const struct edge_checks *ec,
					     size_t tunnel);
const struct edge_check_stats *edge_checks_stats(const struct edge_checks *ec,
						 size_t tunnel);
/* Answers for servers that are not our peers (not relayed). */
uint64_t edge_checks_foreign(const struct edge_checks *ec);
/* Monotonic milliseconds, the clock the health machines run on. */
uint64_t edge_checks_now_ms(void);

#endif
