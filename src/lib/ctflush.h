/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TUNSTEER_CTFLUSH_H
#define TUNSTEER_CTFLUSH_H

/*
 * Conntrack flushes off the event loop.  Deleting the entries of one mark
 * makes the kernel walk its whole conntrack table; with many connections
 * and many tunnels failing at once that held the loop for seconds (2.3 s
 * for one batch with 1,000 tunnels).  The traffic has already moved when
 * a flush is asked for (the routes changed first), so nothing waits for
 * it: a thread of its own works through the queue with a backend of its
 * own (kernel_nl_create_reader()) and reports each batch to the loop
 * through an eventfd.
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "lib/kernel.h"

struct ctflush;

/* One batch done, on the loop thread: @ok flushes succeeded, @failed did
 * not (each failure is logged by the flusher with its mark), in @ms. */
typedef void (*ctflush_done_cb)(unsigned int ok, unsigned int failed,
				double ms, void *arg);

/* @ops belongs to the flusher from here on (destroyed with it). */
struct ctflush *ctflush_create(struct event_base *base, struct kernel_ops *ops,
			       ctflush_done_cb cb, void *arg);

/* Queue a flush of the entries with @mark under @mask; one already
 * waiting for the same mark is not queued twice.  0, or -ENOMEM. */
int ctflush_queue(struct ctflush *f, uint32_t mark, uint32_t mask);

/* Flushes queued or running. */
unsigned int ctflush_pending(struct ctflush *f);

/* Stops the thread after the flush it is doing; the rest are dropped. */
void ctflush_destroy(struct ctflush *f);

#endif
