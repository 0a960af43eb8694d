/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TUNSTEER_AUDIT_H
#define TUNSTEER_AUDIT_H

/*
 * The kernel audit: a look at what the kernel holds of ours, off the event
 * loop.  Netlink events tell a daemon of every change (and of lost events,
 * ENOBUFS); the audit is the safety net behind them, and with a thousand
 * tunnels one full dump takes the best part of a second.  So the dumps run
 * on a thread of their own, through a dump-only backend of their own
 * (kernel_nl_create_reader()), and so does the comparison with what the
 * owner wants (reconcile_drift()); only the result comes back to the
 * loop, where the owner repairs only when something differs.
 *
 * The thread touches nothing but the reader backend and the state it
 * fills; it hands that over through an eventfd watched by the loop.
 */

#include <limits.h>
#include <stdbool.h>

#include <event2/event.h>

#include "lib/kernel.h"
#include "lib/reconcile.h"

struct audit;

/* What an audit found, handed to the owner on the loop thread. */
struct audit_result {
	/* What the kernel held of ours (sorted; the callee may keep it by
	 * moving it out and leaving it empty, else it is freed after the
	 * call); empty when a dump failed (@err < 0). */
	struct kernel_state *observed;
	int err;
	unsigned long gen;		/* as given to audit_start() */
	/* With a desired state given to audit_start(): how many objects
	 * differ from it (reconcile_drift(), on the audit's thread), and
	 * the first as text; AUDIT_DRIFT_UNKNOWN without one, or when the
	 * comparison ran out of memory. */
	unsigned int drift;
	const char *first;
};
#define AUDIT_DRIFT_UNKNOWN UINT_MAX

typedef void (*audit_done_cb)(const struct audit_result *r, void *arg);

/* @reader belongs to the audit from here on (destroyed with it); @marks
 * is copied.  NULL when out of memory. */
struct audit *audit_create(struct event_base *base, struct kernel_ops *reader,
			   const struct kernel_marks *marks, audit_done_cb cb,
			   void *arg);

/*
 * Start an audit; @gen comes back with the result, so the caller can tell
 * whether it changed the kernel itself meanwhile (the result is then
 * stale).  @want (may be NULL; taken over, freed by the audit, also on
 * failure) is what the caller wants the kernel to hold, as it stood at
 * @gen: the audit's thread compares what it saw with it, so that the
 * loop does not (the comparison sorts and walks every object: 58-96 ms
 * at 1,000 tunnels in the lab's VM).  -EBUSY while one runs; -errno if
 * the thread cannot be made.
 */
int audit_start(struct audit *a, unsigned long gen, struct kernel_state *want);

/* Is one running? */
bool audit_running(const struct audit *a);

/* Waits for a running audit's thread; its result is dropped. */
void audit_destroy(struct audit *a);

#endif
