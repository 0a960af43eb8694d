/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SA propagation between the servers of one data center (issue 12;
 * ../shared/PROVIDER.md §3): the server that negotiated a CHILD SA sends
 * its record (lib/sarec.h) to every relay peer, relay.sa_delay_ms after it
 * installed it, over the authenticated, encrypted channel of
 * edge_sync.h; each peer installs the same ESP states and policies on its
 * own XFRM interface of that tunnel (kernel_ops.xfrm_sa_add), so ESP that
 * anycast brings to any server is decrypted there.  Deletes travel the
 * same way, after the same delay (they follow their record).
 *
 * A record is taken only for an ipsec tunnel of our config, with the
 * if_id this server gives that tunnel (edge_kernel_xfrm_if_ids(): the same
 * on every server with the same tunnels), and only from a peer.  What a
 * server holds it holds until the negotiator deletes it, the record's
 * lifetime ends (the kernel's hard expiry), the tunnel leaves the config,
 * or tunsteer-edge stops (it removes what it installed).  The SAs a
 * server holds and its own (charon's) SAs of a tunnel share the tunnel's
 * policies: they stay while either lives, and when charon removes them
 * with the server's last own SA, the held SAs' policies are made again.
 *
 * A tunnel with replay_protection = true is pinned (the provider: it
 * "pins the tunnel to one server for Cloudflare→customer traffic only"):
 * a server installs what it holds from others for it inbound only (the
 * in state, the in and fwd policies), so that customer-bound ESP under
 * the SA has one sender and one sequence counter, the negotiator's, and
 * the customer's anti-replay window holds.  Customer-bound traffic that
 * lands on another server is forwarded to the negotiator
 * (edge_prop_pinned_to(), edge_kernel.h's pin links) instead of being
 * encrypted there.  ESP from the customer is still decrypted anywhere.
 *
 * Resync: a server that starts holds nothing, and a peer that was down
 * or unreachable when an SA was propagated never got it.  So each server
 * keeps the records it negotiated (keys in secret memory) while their
 * SAs live, and a server whose channel is new (start-up, or a reload
 * that changed the key, address, port or peers) asks each peer for
 * them with a hello (edge_sync.h): at once, then 1 s, 3 s and 10 s
 * later while the peer has not answered, with a warning at 20 s.  A
 * peer asked resends every record of its own whose SA lives (lifetime
 * shortened by what has passed) and whose delay is over, to the asker
 * only, then says done.  An SA held already and received again keeps
 * its age.  A peer that never answered is asked again when a hello, or
 * once its asks are spent any frame, comes from it.
 *
 * On with relay.sa_key; everything runs on the loop.
 */
#ifndef TUNSTEER_EDGE_PROP_H
#define TUNSTEER_EDGE_PROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "edge/edge_config.h"
#include "lib/kernel.h"
#include "lib/sarec.h"

struct edge_prop;

/* At most this many SAs held per tunnel (a rekey briefly makes two per
 * negotiator); the oldest goes first. */
#define EDGE_PROP_HELD_PER_TUNNEL 8

/* Why a datagram was refused (edge_prop_stats.refused[]). */
enum edge_prop_refusal {
	EDGE_PROP_MALFORMED,		/* -EBADMSG, or a payload that does not decode */
	EDGE_PROP_NOT_PEER,		/* -EPERM */
	EDGE_PROP_REPLAYED,		/* -EALREADY */
	EDGE_PROP_UNAUTHENTICATED,	/* -EACCES */
	EDGE_PROP_STALE,		/* -ESTALE */
	EDGE_PROP_UNKNOWN_TUNNEL,	/* not an ipsec tunnel here, or its if_id differs */
	EDGE_PROP_REFUSALS,
};
const char *edge_prop_refusal_name(enum edge_prop_refusal r);

struct edge_prop_stats {
	uint64_t sent, send_failed;	/* frames, per peer (send_failed:
					 * hellos and resent records too) */
	uint64_t received;		/* records and deletes accepted */
	uint64_t resent;		/* records resent to a peer that asked */
	uint64_t resync_asks_sent;	/* hellos asking a peer */
	uint64_t resyncs_served;	/* asks of peers answered */
	uint64_t resyncs_answered;	/* peers that answered our asks */
	uint64_t installed, install_failed, removed;
	uint64_t refused[EDGE_PROP_REFUSALS];
	unsigned int pending;		/* records waiting for their delay */
};

/*
 * Propagation for @c (kept: the caller's until the next apply) through
 * @ops (kernel_ops.xfrm_* needed) on @base.  With no relay.sa_key, 0 with
 * *@out NULL: off.  Otherwise the socket is bound to relay.address:sa_port
 * (also an address configured later) and every peer is asked to resync.
 * 0 or a negative errno (logged).
 */
int edge_prop_create(struct event_base *base, struct kernel_ops *ops,
		     const struct edge_config *c, struct edge_prop **out)
	__attribute__((warn_unused_result));

/*
 * A new config: SAs held for tunnels that are no longer ipsec tunnels of
 * @c (or whose if_id changed) are removed; a changed key, peer list or
 * port takes a new channel, whose peers are all asked to resync.  @c is
 * kept.  0 or a negative errno (the old
 * channel stays).
 */
int edge_prop_apply(struct edge_prop *p, const struct edge_config *c)
	__attribute__((warn_unused_result));

/* Remove every SA held from others, stop.  NULL: no-op. */
void edge_prop_destroy(struct edge_prop *p);

/*
 * This server installed a CHILD SA it negotiated: @rec (taken, keys and
 * all) goes to every peer after the delay, and is kept to be resent while
 * the SA lives (until edge_prop_deleted() or its lifetime_s).
 */
void edge_prop_negotiated(struct edge_prop *p, struct sarec *rec);
/*
 * …and deleted one: @rec names it (tunnel, negotiated_by, SPIs, serial;
 * no keys).  A record still waiting for its delay is simply not sent.
 */
void edge_prop_deleted(struct edge_prop *p, const struct sarec *rec);

void edge_prop_stats(const struct edge_prop *p, struct edge_prop_stats *st);

/*
 * Pinned tunnels: @cb(@arg) is called on the loop whenever the server a
 * pinned tunnel's customer-bound traffic must leave from may have changed
 * (an SA of it negotiated here, or held or dropped from another), so that
 * the caller re-applies its routes.  NULL: none.
 */
void edge_prop_set_pin_cb(struct edge_prop *p, void (*cb)(void *arg),
			  void *arg);

/*
 * Is @tunnel pinned (an ipsec tunnel of the config with
 * replay_protection)?  If so, *@to is the relay address of the server its
 * customer-bound traffic must be forwarded to: the negotiator of the
 * newest SA this server knows of, when that SA is one held from another
 * (installed here later than this server last negotiated one itself);
 * 0.0.0.0 when it is this server's own (or none is known): the tunnel's
 * own device.  Not pinned: false, *@to 0.0.0.0.
 */
bool edge_prop_pinned_to(const struct edge_prop *p, const char *tunnel,
			 struct in_addr *to);

/* One SA this server holds from another (views). */
struct edge_prop_held {
	char from[SAREC_NAME_MAX];	/* negotiated_by */
	uint64_t serial;
	uint32_t spi_in, spi_out;
	uint64_t age_ms;		/* since it was installed here */
};

/* The SAs held for @tunnel, at most @max into @out; how many there are. */
size_t edge_prop_held(const struct edge_prop *p, const char *tunnel,
		      struct edge_prop_held *out, size_t max);

#endif
