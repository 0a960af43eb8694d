/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's kernel objects besides its nft table: what the config
 * wants, with the edge's own marks (DESIGN.md "tunsteer-edge"); the shared
 * reconciler (lib/reconcile) makes the kernel match it.
 *
 *   GRE link per tunnel   alias "tunsteer-edge:<name>", local = the anycast
 *                         endpoint, remote = the customer's, TTL, MTU
 *   address               the provider side of the interface address
 *   sysctls               rp_filter 0 on each tunnel (customer sources
 *                         have no route back through it in the main table)
 *   route per tunnel      table 22000+i+1: default dev <tunnel>, proto 228
 *   rule per tunnel       prio 22000+i+1: fwmark 0x7465xxxx → that table
 *
 * Steering never changes these: it only changes which fwmark a packet
 * gets (edge_nft.c).  Objects with tunsteerd's marks are never looked at.
 */
#ifndef TUNSTEER_EDGE_KERNEL_H
#define TUNSTEER_EDGE_KERNEL_H

#include "edge/edge_config.h"
#include "lib/kernel.h"
#include "lib/reconcile.h"

/* The edge's XFRM interface if_ids ("te"), apart from tunsteerd's
 * 0x7473xxxx, so that the two may share a namespace. */
#define EDGE_XFRM_IF_ID_MIN 0x74650001u
#define EDGE_XFRM_IF_ID_MAX 0x7465ffffu

/* The edge's marks: links by alias (XFRM interfaces also by an if_id in
 * EDGE_XFRM_IF_ID_MIN..MAX), routes by protocol 228 in tables
 * 22001-22999, rules by priority 22001-22999, no nexthop objects. */
extern const struct kernel_marks edge_kernel_marks;

/*
 * The XFRM if_id of each ipsec tunnel of @c into @ids[i] (n_tunnels of
 * them; 0 for GRE tunnels), by name (src/lib/ifid.h): the same on every
 * server with the same tunnels, whatever their order, so that an SA
 * negotiated on one installs on another as it is.  0, -E2BIG or -ENOMEM.
 */
int edge_kernel_xfrm_if_ids(const struct edge_config *c, uint32_t *ids)
	__attribute__((warn_unused_result));

/*
 * Fill @st (initialised, empty) with every object @c's tunnels need.
 * Returns 0 or -ENOMEM (@st then holds a part; the caller frees it).
 */
int edge_kernel_build(const struct edge_config *c, struct kernel_state *st)
	__attribute__((warn_unused_result));

/*
 * Make the kernel hold exactly @c's objects among those with our marks:
 * one reconcile pass (create or change what is missing or different,
 * delete what is ours and no longer wanted).  Each pass starts with no
 * memory of earlier ones, so the rp_filter sysctls, which cannot be read
 * back, are written every time; nothing else is issued twice.  A failed
 * operation is logged and counted; returns 0, -EAGAIN (something failed;
 * call again), -ENOMEM, or a dump's error (nothing changed).  With
 * @stats, the pass's counts are copied there.
 */
int edge_kernel_apply(struct kernel_ops *ops, const struct edge_config *c)
	__attribute__((warn_unused_result));
int edge_kernel_apply_stats(struct kernel_ops *ops, const struct edge_config *c,
			    struct reconcile_stats *stats)
	__attribute__((warn_unused_result));

/*
 * Pinned tunnels (replay_protection; edge_prop.h).  While @c pins any
 * ipsec tunnel and has relay peers, @st gets a GRE link per peer j,
 * EDGE_PIN_LINK "j" (a name no tunnel can have: config names have no
 * '+'), from relay.address to that peer, rp_filter 0, and IPv6 on when
 * a pinned tunnel has an interface_address6: customer-bound traffic a
 * server forwards to the one that sends a pinned tunnel's ESP travels in
 * it, and comes out of it there to be steered again.  Each tunnel i with
 * @to[i] (a peer's relay address; @to NULL or 0.0.0.0: none) gets its
 * table's default routes (0.0.0.0/0, ::/0) into that peer's link instead
 * of its own device.  Call after edge_kernel_build(); 0 or -ENOMEM.
 */
#define EDGE_PIN_LINK "pin+"
#define EDGE_PIN_MTU 1476		/* a 1500-byte underlay less GRE's 24 */
int edge_kernel_build_pins(const struct edge_config *c, const struct in_addr *to,
			   struct kernel_state *st)
	__attribute__((warn_unused_result));

/* Does @c pin a tunnel and have relay peers (the pin links exist)? */
bool edge_kernel_pins_any(const struct edge_config *c);

/* edge_kernel_apply_stats() with the pins of edge_kernel_build_pins(). */
int edge_kernel_apply_pinned(struct kernel_ops *ops, const struct edge_config *c,
			     const struct in_addr *to,
			     struct reconcile_stats *stats)
	__attribute__((warn_unused_result));

/* Delete every object with our marks (shutdown).  Returns like
 * edge_kernel_apply(). */
int edge_kernel_flush(struct kernel_ops *ops)
	__attribute__((warn_unused_result));

#endif
