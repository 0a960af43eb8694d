/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A kernel backend that only remembers: it keeps the objects in memory,
 * answers dumps from them and records every mutating call as one line of
 * text, so unit tests can assert the exact operations the reconciler made.
 */
#ifndef TUNSTEER_KERNEL_FAKE_H
#define TUNSTEER_KERNEL_FAKE_H

#include "lib/kernel.h"

/* NULL on allocation failure.  Free with ops->destroy(ops). */
struct kernel_ops *kernel_fake_create(void);

/*
 * The operations recorded since the last call, one per line, in call
 * order ("" if none).  The string belongs to the fake and stays valid until
 * the next call or destroy.
 */
const char *kernel_fake_ops_log(struct kernel_ops *ops);

/* Number of operations recorded since the last kernel_fake_ops_log(). */
unsigned int kernel_fake_ops_count(struct kernel_ops *ops);

/* Dumps answered (of any kind) since the last call. */
unsigned int kernel_fake_dumps(struct kernel_ops *ops);

/* Make the next mutating call fail with @err (negative errno), once. */
void kernel_fake_fail_next(struct kernel_ops *ops, int err);

/* With false, behave as a kernel before 5.13: a resilient nexthop group
 * is refused with EINVAL.  Default true. */
void kernel_fake_set_resilient(struct kernel_ops *ops, bool resilient);

/*
 * Change the "kernel" behind the reconciler's back, as another program or
 * an operator would; not recorded in the log.
 */
int kernel_fake_inject_link(struct kernel_ops *ops, const struct kernel_link *l)
	__attribute__((warn_unused_result));
int kernel_fake_inject_route(struct kernel_ops *ops, const struct kernel_route *r)
	__attribute__((warn_unused_result));
int kernel_fake_inject_rule(struct kernel_ops *ops, const struct kernel_rule *r)
	__attribute__((warn_unused_result));
/* Someone deletes our nft table (the next nft_monitor_drain says so). */
void kernel_fake_nft_tamper(struct kernel_ops *ops);
/* Someone adds (@add) or deletes prefix @p in our nft set @set (the next
 * nft_monitor_drain names the set). */
int kernel_fake_nft_tamper_elem(struct kernel_ops *ops, const char *set,
				const struct ts_prefix *p, bool add)
	__attribute__((warn_unused_result));
/* Packets counted by named counter @counter of our nft table (each
 * counted as 60 bytes); -ENOENT: no such counter. */
int kernel_fake_nft_count(struct kernel_ops *ops, const char *counter,
			  uint64_t packets) __attribute__((warn_unused_result));
void kernel_fake_remove_route(struct kernel_ops *ops, const struct kernel_route *r);
int kernel_fake_inject_nhobj(struct kernel_ops *ops, const struct kernel_nhobj *nh)
	__attribute__((warn_unused_result));
/* Someone deletes a nexthop object; the kernel's cascade follows (groups
 * lose it, routes through it go). */
void kernel_fake_remove_nhobj(struct kernel_ops *ops, uint32_t id);

/* The XFRM state (@dst, @spi) carried @packets more, and refused
 * @replay_failed more as replayed; -ENOENT: no such state. */
int kernel_fake_xfrm_count(struct kernel_ops *ops, struct in_addr dst,
			   uint32_t spi, uint64_t packets,
			   uint32_t replay_failed)
	__attribute__((warn_unused_result));
/* How many XFRM policies (out, in and fwd count apart) are bound to
 * @if_id. */
size_t kernel_fake_xfrm_policies(struct kernel_ops *ops, uint32_t if_id);

#endif
