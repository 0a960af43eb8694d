/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's event loop and who goes first on it.  libevent runs, in each
 * pass, only the most urgent queue that has work; events are made at the
 * middle priority unless told otherwise.  So:
 *
 *   LOOP_PRIO_DEFAULT  the control socket, kernel and nft events, resyncs,
 *                      signals: rare and short, or wanted at once;
 *   LOOP_PRIO_BULK     what grows with the tunnels: the prober's timers
 *                      and answers, the provider-check watch, the health
 *                      recomputation they trigger.
 *
 * A control request therefore waits for at most the one bulk callback that
 * is running, however many tunnels change state, instead of for every
 * probe and recomputation of every loop pass it needs (accept, read,
 * write).  Bulk work waits only while default work is pending, which is
 * rare, so it is not starved.  On a base made otherwise (one priority, the
 * unit tests') loop_bulk() changes nothing.
 */
#ifndef TUNSTEER_LOOP_H
#define TUNSTEER_LOOP_H

#include <event2/event.h>

#define LOOP_PRIORITIES 3
#define LOOP_PRIO_DEFAULT 1	/* libevent's default: LOOP_PRIORITIES / 2 */
#define LOOP_PRIO_BULK 2

/* A base with tunsteerd's priorities; NULL when out of memory. */
static inline struct event_base *
loop_base_new(void)
{
	struct event_base *base = event_base_new();

	if (base && event_base_priority_init(base, LOOP_PRIORITIES) != 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

/* Make @ev (not active yet) bulk work: the lowest priority of its base. */
static inline void
loop_bulk(struct event *ev)
{
	(void)event_priority_set(ev, event_base_get_npriorities(
		event_get_base(ev)) - 1);
}

#endif
