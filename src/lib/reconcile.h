/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Desired-versus-observed reconciliation of the kernel objects we own.
 *
 * The caller describes the complete desired state; reconcile_apply() dumps
 * what the kernel has, ignores everything without our mark, and issues only
 * the operations that close the difference.  Applying the same desired
 * state twice issues nothing the second time.  The same call repairs
 * tampering (an owned object deleted or changed by hand) and adopts what a
 * previous, killed instance left behind without re-creating it.
 */
#ifndef TUNSTEER_RECONCILE_H
#define TUNSTEER_RECONCILE_H

#include <stddef.h>

#include "lib/kernel.h"

struct kernel_sysctl {
	char path[128];		/* below /proc/sys */
	char value[16];
};

/* A complete desired state.  Arrays are owned by the state. */
struct kernel_state {
	struct kernel_link *links;
	size_t n_links, cap_links;
	struct kernel_addr *addrs;
	size_t n_addrs, cap_addrs;
	struct kernel_route *routes;
	size_t n_routes, cap_routes;
	struct kernel_rule *rules;
	size_t n_rules, cap_rules;
	struct kernel_nhobj *nhobjs;
	size_t n_nhobjs, cap_nhobjs;
	struct kernel_sysctl *sysctls;
	size_t n_sysctls, cap_sysctls;
};

struct reconcile_stats {
	unsigned int added, changed, deleted, failed;
	unsigned int sysctls;		/* written (not objects: no readback) */
};

void kernel_state_init(struct kernel_state *st);
void kernel_state_free(struct kernel_state *st);
/* A copy of @src into @dst, to compare, apply and free (not to grow with
 * kernel_state_add_*()).  0 or -ENOMEM (then @dst is empty). */
int kernel_state_copy(struct kernel_state *dst, const struct kernel_state *src)
	__attribute__((warn_unused_result));
int kernel_state_add_link(struct kernel_state *st, const struct kernel_link *l)
	__attribute__((warn_unused_result));
int kernel_state_add_addr(struct kernel_state *st, const struct kernel_addr *a)
	__attribute__((warn_unused_result));
int kernel_state_add_route(struct kernel_state *st, const struct kernel_route *r)
	__attribute__((warn_unused_result));
int kernel_state_add_rule(struct kernel_state *st, const struct kernel_rule *r)
	__attribute__((warn_unused_result));
int kernel_state_add_nhobj(struct kernel_state *st, const struct kernel_nhobj *nh)
	__attribute__((warn_unused_result));
int kernel_state_add_sysctl(struct kernel_state *st, const char *path,
			    const char *value) __attribute__((warn_unused_result));

/*
 * A reconciler remembers only which sysctls it has written (the kernel
 * interface cannot dump them); everything else is read back from the
 * kernel on every apply.  It owns exactly the objects carrying @marks
 * (copied): tunsteerd passes kernel_marks_tunsteerd, tunsteer-edge its
 * own (edge_kernel.c), and neither ever sees the other's objects.  An
 * owner whose marks have no nexthop id range has its nexthop objects
 * neither dumped nor touched.  NULL when out of memory.
 */
struct reconcile;

struct reconcile *reconcile_create(struct kernel_ops *ops,
				   const struct kernel_marks *marks);
void reconcile_destroy(struct reconcile *rc);

/*
 * Make the kernel match @desired for every object carrying our marks.
 * Adds and changes go first, in the order the kernel needs (links, their
 * sysctls and addresses, nexthop paths, groups, routes, then the rules
 * that point at the routes' tables); removals of what is no longer
 * desired follow in reverse order, so traffic never finds a rule without
 * its table.
 *
 * A failed operation is counted in @stats->failed, logged once and
 * skipped; the next call retries it.  Returns 0 when everything applied,
 * -EAGAIN when some operation failed, or the error of a failed dump
 * (nothing is changed then).
 */
int reconcile_apply(struct reconcile *rc, const struct kernel_state *desired,
		    struct reconcile_stats *stats) __attribute__((warn_unused_result));

/*
 * Change the kernel from @from to @to without looking at it: the caller
 * knows the kernel holds @from (a previous apply said so) and only the
 * objects in either state are looked at; nothing is dumped.  The same
 * kinds and order as reconcile_apply(), so a group is replaced before the
 * routes through it are added and outlives the routes being deleted.
 * For changes whose size is that of the change, not of the whole state
 * (a health change: a few groups and routes among thousands of objects).
 * If the kernel was not as @from says (someone changed it meanwhile), the
 * result is @to's objects put over whatever is there: a later
 * reconcile_apply() repairs the rest.  Returns and counts as
 * reconcile_apply().
 */
int reconcile_apply_delta(struct reconcile *rc, const struct kernel_state *from,
			  const struct kernel_state *to,
			  struct reconcile_stats *stats)
	__attribute__((warn_unused_result));

/*
 * What the kernel holds of ours (@marks), sorted, into @st (free it with
 * kernel_state_free()).  Uses only @ops: another thread may call it with
 * a backend of its own (kernel_nl_create_reader()) while the owner of the
 * reconciler goes on.  Returns 0 or the failed dump's negative errno.
 */
int reconcile_observe(struct kernel_ops *ops, const struct kernel_marks *marks,
		      struct kernel_state *st) __attribute__((warn_unused_result));

/*
 * How many objects a reconcile_apply() would add, change or delete to go
 * from @observed (reconcile_observe()) to @desired; nothing is changed.
 * Sysctls are not counted (they cannot be dumped).  With @first, the
 * first difference as text ("" if none).  UINT_MAX when out of memory.
 */
unsigned int reconcile_drift(struct reconcile *rc,
			     const struct kernel_state *observed,
			     const struct kernel_state *desired,
			     char *first, size_t len);

/* Remove every object we own (clean shutdown without --keep-state).
 * Returns like reconcile_apply(). */
int reconcile_flush(struct reconcile *rc, struct reconcile_stats *stats)
	__attribute__((warn_unused_result));

#endif
