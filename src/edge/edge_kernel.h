/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's kernel objects besides its nft table, through the kernel
 * ops interface, with its own marks (DESIGN.md "tunsteer-edge"):
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

/*
 * Make the kernel hold exactly @c's objects among those with our marks:
 * create or change what is missing or different, delete what is ours and
 * no longer wanted.  Idempotent: a second call issues nothing but the
 * sysctl writes.  A failed operation is logged and counted; returns 0,
 * -EAGAIN (something failed; call again), or a dump's error.
 */
int edge_kernel_apply(struct kernel_ops *ops, const struct edge_config *c)
	__attribute__((warn_unused_result));

/* Delete every object with our marks (shutdown). */
int edge_kernel_flush(struct kernel_ops *ops)
	__attribute__((warn_unused_result));

#endif
