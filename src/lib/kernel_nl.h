/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real kernel backend: rtnetlink through libnl-3 / libnl-route-3.
 *
 * Semantics are those of kernel.h; what this backend adds:
 * - It works in the network namespace of the thread that created it.
 * - One netlink socket carries requests and dumps, a second one (non-
 *   blocking, subscribed to link, IPv4 address, route and rule groups) is
 *   the monitor.  Neither is shared with anybody else.
 * - Dumps first collect every object, then call the callback, so the
 *   callback may call other operations of the same backend.
 * - A link whose alias lacks KERNEL_LINK_ALIAS_PREFIX, and an XFRM
 *   interface whose if_id is outside KERNEL_XFRM_IF_ID_MIN..MAX whatever
 *   its alias, is never changed or deleted: link_set returns -EEXIST,
 *   link_del -EPERM.  link_set refuses to make such a link (-EINVAL).
 * - An XFRM interface's underlay (kernel_link.dev) is bound by ifindex;
 *   link_set returns -ENODEV while that device does not exist.  Its if_id
 *   changes in place; another underlay means a new interface (the kernel
 *   cannot rebind one), so link_set deletes and makes it again.
 * - A route's single nexthop is sent as plain RTA_OIF/RTA_GATEWAY: its
 *   weight means nothing to the kernel and dumps report it as 1.
 * - Rules are added with FRA_PROTOCOL = rule->protocol, or
 *   KERNEL_RTPROT_TUNSTEER when that is 0.
 * - XFRM states and policies (xfrm_*) go over a NETLINK_XFRM socket of
 *   their own, opened on first use, and only with an if_id in the
 *   owner's range (-EINVAL otherwise); dumps report only those.
 */
#ifndef TUNSTEER_KERNEL_NL_H
#define TUNSTEER_KERNEL_NL_H

#include "lib/kernel.h"

/*
 * Open the netlink sockets.  Returns the backend (free it with
 * ops->destroy(ops)), or NULL with *@err set to a negative errno: -ENOMEM,
 * or what socket()/bind() said (e.g. -EPROTONOSUPPORT, -EACCES).
 */
struct kernel_ops *kernel_nl_create(int *err);

/*
 * As kernel_nl_create(), for another owner, whose @marks (copied; its
 * alias prefix a static string, e.g. tunsteer-edge's edge_kernel_marks)
 * say which links are its own: link_set and link_del then create, change
 * and delete only links with its alias prefix, and XFRM interfaces only
 * with an if_id in its range (none, if it has no range).
 */
struct kernel_ops *kernel_nl_create_marked(const struct kernel_marks *marks,
					   int *err);

/*
 * A second backend beside @like (made by one of the above) that can only
 * dump and flush conntrack entries: netlink sockets of its own, no
 * nftables, no monitor; every other operation is NULL.  For work on
 * another thread (tunsteerd's audit, its conntrack flusher) without
 * sharing @like's sockets.
 */
struct kernel_ops *kernel_nl_create_reader(const struct kernel_ops *like,
					   int *err);

#endif
