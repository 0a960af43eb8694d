/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "tunsteerd/loopmeter.h"
#include "lib/clock.h"
#include "lib/log.h"

/* The window is kept as buckets of this many seconds, the oldest
 * dropped as time moves on: "recent" covers between
 * LOOPMETER_WINDOW_S - BUCKET_S and LOOPMETER_WINDOW_S. */
#define BUCKET_S 10
#define N_BUCKETS (LOOPMETER_WINDOW_S / BUCKET_S)

struct loopmeter {
	struct event *ev;
	uint64_t due_ms;
	uint32_t max_ms, own_max_ms;
	uint64_t stalls;
	uint64_t bucket_epoch[N_BUCKETS];	/* now / BUCKET_S of the bucket */
	uint32_t bucket_max[N_BUCKETS], bucket_own[N_BUCKETS];
	/* /proc/thread-self/schedstat of the loop's thread (-1: none): its
	 * second field is the time it spent runnable but not running. */
	int schedstat_fd;
	uint64_t run_delay_ns, cpu_ns;	/* at the last read */
	uint64_t read_ms;		/* when */
	unsigned int ticks;		/* since the last read */
	unsigned int period_ms;		/* LOOPMETER_(IDLE_)PERIOD_MS */
};

uint64_t
loopmeter_now_ms(void)
{
	return mono_ms();
}

uint64_t
loopmeter_span_begin(void)
{
	return mono_ns();
}

void
loopmeter_span_end(uint64_t begun, const char *what)
{
	uint64_t ms = (mono_ns() - begun) / 1000000u;

	if (ms >= LOOPMETER_STALL_MS)
		log_info("loop", "%s: %" PRIu64 " ms on the event loop", what, ms);
}

void
loopmeter_note(struct loopmeter *m, uint64_t due_ms, uint64_t now_ms,
	       uint64_t waited_ms, uint64_t ran_ms)
{
	uint64_t late = now_ms > due_ms ? now_ms - due_ms : 0;
	uint64_t own = late > waited_ms ? late - waited_ms : 0;
	uint64_t epoch = now_ms / 1000u / BUCKET_S;
	size_t b = (size_t)(epoch % N_BUCKETS);
	uint32_t l = late > UINT32_MAX ? UINT32_MAX : (uint32_t)late;
	uint32_t o = own > UINT32_MAX ? UINT32_MAX : (uint32_t)own;

	if (m->bucket_epoch[b] != epoch) {
		m->bucket_epoch[b] = epoch;
		m->bucket_max[b] = 0;
		m->bucket_own[b] = 0;
	}
	if (o > m->bucket_own[b])
		m->bucket_own[b] = o;
	if (o > m->own_max_ms)
		m->own_max_ms = o;
	/*
	 * Said in the log when it is the longest of its bucket so far: at
	 * most a few lines per BUCKET_S however busy the loop, and each line
	 * when it ended, so that the lab can lay it beside the VM's own
	 * stalls (tests/lab/tools/vmstall) and tell ours from the emulator's.
	 */
	if (l >= LOOPMETER_STALL_MS && l > m->bucket_max[b]) {
		uint64_t w = waited_ms > l ? l : waited_ms;
		uint64_t r = ran_ms > l - w ? l - w : ran_ms;

		log_info("loop", "event loop stalled: a timer ran %" PRIu32
			 " ms late: %" PRIu64 " ms waiting for a CPU, %" PRIu64
			 " ms running, %" PRIu64 " ms blocked", l, w, r,
			 l - w - r);
	}
	if (l > m->bucket_max[b])
		m->bucket_max[b] = l;
	if (l > m->max_ms)
		m->max_ms = l;
	if (l >= LOOPMETER_STALL_MS)
		m->stalls++;
}

void
loopmeter_stats(const struct loopmeter *m, uint64_t now_ms,
		struct loopmeter_stats *st)
{
	uint64_t epoch = now_ms / 1000u / BUCKET_S;

	memset(st, 0, sizeof(*st));
	if (m == NULL)
		return;
	st->max_ms = m->max_ms;
	st->own_max_ms = m->own_max_ms;
	st->stalls = m->stalls;
	st->period_ms = m->period_ms;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		if (m->bucket_epoch[b] + N_BUCKETS <= epoch)
			continue;
		if (m->bucket_max[b] > st->recent_ms)
			st->recent_ms = m->bucket_max[b];
		if (m->bucket_own[b] > st->own_recent_ms)
			st->own_recent_ms = m->bucket_own[b];
	}
}

/*
 * A tick this late of the loop's own doing, or more, says the loop is
 * not idle; nor does a thread that ran more than 1/BUSY_CPU_SHARE of a
 * CPU (10 %).  Not lower: in the lab's emulated VM a tick and its /proc
 * read cost a few milliseconds and a timer fires 5-10 ms late, so the
 * meter alone looked busy at 1 % and 5 ms and kept the short period.
 */
#define BUSY_LATE_MS 20
#define BUSY_CPU_SHARE 10

unsigned int
loopmeter_period(uint64_t elapsed_ms, uint64_t cpu_us, uint64_t late_ms)
{
	if (late_ms >= BUSY_LATE_MS || elapsed_ms < LOOPMETER_IDLE_PERIOD_MS ||
	    cpu_us * BUSY_CPU_SHARE > elapsed_ms * 1000u)
		return LOOPMETER_PERIOD_MS;
	return LOOPMETER_IDLE_PERIOD_MS;
}

static void
arm(struct loopmeter *m, uint64_t now_ms)
{
	uint64_t wait;
	struct timeval tv;

	m->due_ms += m->period_ms;
	if (m->due_ms <= now_ms)	/* a stall: start afresh, no catch-up */
		m->due_ms = now_ms + m->period_ms;
	wait = m->due_ms - now_ms;
	tv.tv_sec = (time_t)(wait / 1000u);
	tv.tv_usec = (suseconds_t)(wait % 1000u * 1000u);
	evtimer_add(m->ev, &tv);
}

/* The loop thread's time on a CPU and waiting for one so far (ns), from
 * its schedstat; both 0 without it. */
static void
schedstat(const struct loopmeter *m, uint64_t *cpu_ns, uint64_t *delay_ns)
{
	char buf[96];
	ssize_t n;
	unsigned long long cpu, delay;

	*cpu_ns = *delay_ns = 0;
	if (m->schedstat_fd < 0 ||
	    (n = pread(m->schedstat_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &cpu, &delay) == 2) {
		*cpu_ns = cpu;
		*delay_ns = delay;
	}
}

/*
 * The schedstat baseline is read about every LOOPMETER_IDLE_PERIOD_MS
 * (every tick of the idle period, every SCHEDSTAT_TICKS of the short one)
 * and at each late tick, not at every tick: ten /proc reads a second, not
 * a hundred.  A stall's split then covers up to that much before it as
 * well, which on a loop that keeps its ticks adds next to nothing.  The
 * same reads decide the period.
 */
#define SCHEDSTAT_TICKS (LOOPMETER_IDLE_PERIOD_MS / LOOPMETER_PERIOD_MS)

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loopmeter *m = arg;
	uint64_t now = loopmeter_now_ms();
	uint64_t cpu = m->cpu_ns, delay = m->run_delay_ns;
	uint64_t late = now > m->due_ms ? now - m->due_ms : 0;
	uint64_t waited_ms, ran_ms;
	bool read = late >= BUSY_LATE_MS ||
		    m->period_ms == LOOPMETER_IDLE_PERIOD_MS ||
		    ++m->ticks >= SCHEDSTAT_TICKS;

	(void)fd;
	(void)what;
	if (read)
		schedstat(m, &cpu, &delay);
	/* A failed read gives 0s: nothing waited or ran. */
	waited_ms = delay > m->run_delay_ns ? (delay - m->run_delay_ns) / 1000000u : 0;
	ran_ms = cpu > m->cpu_ns ? (cpu - m->cpu_ns) / 1000000u : 0;
	if (read) {
		/* Late only for want of a CPU is not busy.  Without
		 * schedstat the CPU reads 0: only lateness counts. */
		m->period_ms = loopmeter_period(now - m->read_ms,
			cpu > m->cpu_ns ? (cpu - m->cpu_ns) / 1000u : 0,
			late > waited_ms ? late - waited_ms : 0);
		m->read_ms = now;
		m->ticks = 0;
	}
	loopmeter_note(m, m->due_ms, now, waited_ms, ran_ms);
	m->run_delay_ns = delay;
	m->cpu_ns = cpu;
	arm(m, now);
}

struct loopmeter *
loopmeter_create(struct event_base *base)
{
	struct loopmeter *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	/* Opened by the loop's thread, which creates the meter: "thread-self"
	 * is that thread, whoever reads the fd later. */
	m->schedstat_fd = base ? open("/proc/thread-self/schedstat",
				      O_RDONLY | O_CLOEXEC) : -1;
	schedstat(m, &m->cpu_ns, &m->run_delay_ns);
	m->period_ms = LOOPMETER_PERIOD_MS;
	m->read_ms = loopmeter_now_ms();
	if (base) {
		if ((m->ev = evtimer_new(base, tick_cb, m)) == NULL) {
			loopmeter_destroy(m);
			return NULL;
		}
		m->due_ms = loopmeter_now_ms();
		arm(m, m->due_ms);
	}
	return m;
}

void
loopmeter_destroy(struct loopmeter *m)
{
	if (m == NULL)
		return;
	if (m->ev)
		event_free(m->ev);
	if (m->schedstat_fd >= 0)
		close(m->schedstat_fd);
	free(m);
}
