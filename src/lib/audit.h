/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TUNSTEER_AUDIT_H
#define TUNSTEER_AUDIT_H

/*
 * The kernel audit: a look at what the kernel holds of ours, off the event
 * loop.  Netlink events tell a daemon of every change (and of lost events,
 * ENOBUFS); the audit is the safety net behind them, and with a thousand
 * tunnels one full dump takes the best part of a second.  So the dumps run
 * on a thread of their own, through a dump-only backend of their own
 * (kernel_nl_create_reader()), and only the result comes back to the loop,
 * where the owner compares it with what it wants (reconcile_drift(), a few
 * milliseconds) and repairs on the loop only when something differs.
 *
 * The thread touches nothing but the reader backend and the state it
 * fills; it hands that over through an eventfd watched by the loop.
 */

#include <stdbool.h>

#include <event2/event.h>

#include "lib/kernel.h"
#include "lib/reconcile.h"

struct audit;

/*
 * Called on the loop thread when an audit ends: @observed is what the
 * kernel held of ours (sorted; the callee may keep it by moving it out and
 * leaving @observed empty, else it is freed after the call), or @err < 0
 * when a dump failed (then @observed is empty).  @gen is the value given
 * to audit_start().
 */
typedef void (*audit_done_cb)(struct kernel_state *observed, int err,
			      unsigned long gen, void *arg);

/* @reader belongs to the audit from here on (destroyed with it); @marks
 * is copied. */
struct audit *audit_create(struct event_base *base, struct kernel_ops *reader,
			   const struct kernel_marks *marks, audit_done_cb cb,
			   void *arg);

/*
 * Start an audit; @gen comes back with the result, so the caller can tell
 * whether it changed the kernel itself meanwhile (the result is then
 * stale).  -EBUSY while one runs; -errno if the thread cannot be made.
 */
int audit_start(struct audit *a, unsigned long gen);

/* Is one running? */
bool audit_running(const struct audit *a);

/* Waits for a running audit's thread; its result is dropped. */
void audit_destroy(struct audit *a);

#endif
