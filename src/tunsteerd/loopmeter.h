/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How long the event loop was kept from its work: a timer that notes how
 * late it fired.  Whatever blocked the loop (a long callback, a kernel
 * call that takes its time) delays it by as much, so a stall of S ms
 * reads between S - period and S.  The way Node's monitorEventLoopDelay
 * works; it costs one timer.
 *
 * The period follows the loop: LOOPMETER_PERIOD_MS while the loop's
 * thread works, LOOPMETER_IDLE_PERIOD_MS once it has been idle for a
 * whole idle period (it used under 10 % of a CPU, and no tick was late by
 * 20 ms or more of its own doing): an idle daemon wakes 10 times a second
 * for the meter,
 * not 100 (loopmeter_period()).  The first late tick or busy period
 * brings the short one back; a stall that begins while idle reads from
 * S - LOOPMETER_IDLE_PERIOD_MS.
 */
#ifndef TUNSTEER_LOOPMETER_H
#define TUNSTEER_LOOPMETER_H

#include <stdint.h>

struct event_base;
struct loopmeter;

#define LOOPMETER_PERIOD_MS 10
#define LOOPMETER_IDLE_PERIOD_MS 100
/* Stalls at least this long are counted. */
#define LOOPMETER_STALL_MS 50
/* "recent" is the longest stall in the last this many seconds. */
#define LOOPMETER_WINDOW_S 60

struct loopmeter_stats {
	uint32_t max_ms;		/* longest since start */
	uint32_t recent_ms;		/* longest in the last ~window */
	uint64_t stalls;		/* how many of LOOPMETER_STALL_MS or more */
	/* The same less the time the loop's thread waited for a CPU (other
	 * processes, or our own helper threads, had them all): what the
	 * loop itself held.  Equal to the above where the kernel keeps no
	 * schedstat. */
	uint32_t own_max_ms, own_recent_ms;
	unsigned int period_ms;		/* the meter's period now */
};

/* Starts the timer on @base; NULL without memory or timer. */
struct loopmeter *loopmeter_create(struct event_base *base);
void loopmeter_destroy(struct loopmeter *m);

/* The meter's arithmetic, without a loop (tests): the timer due at
 * @due_ms fired at @now_ms (CLOCK_MONOTONIC milliseconds), after the
 * loop's thread had waited @waited_ms for a CPU and run @ran_ms on one
 * since the last tick (the rest of a stall it was blocked: in the kernel,
 * on a lock). */
void loopmeter_note(struct loopmeter *m, uint64_t due_ms, uint64_t now_ms,
		    uint64_t waited_ms, uint64_t ran_ms);

/* @m may be NULL (no meter: all zero). */
void loopmeter_stats(const struct loopmeter *m, uint64_t now_ms,
		     struct loopmeter_stats *st);

uint64_t loopmeter_now_ms(void);

/* The meter's next period (tests): after @elapsed_ms in which the loop's
 * thread ran @cpu_us on a CPU and the last tick was @late_ms late. */
unsigned int loopmeter_period(uint64_t elapsed_ms, uint64_t cpu_us,
			      uint64_t late_ms);

/*
 * Which work stalled the loop: a span from loopmeter_span_begin() to
 * loopmeter_span_end() of LOOPMETER_STALL_MS or more is logged with
 * @what ("kernel audit compared: 71 ms").  The meter says that the loop
 * was late; this says what it was doing.
 */
uint64_t loopmeter_span_begin(void);
void loopmeter_span_end(uint64_t begun, const char *what);

#endif
