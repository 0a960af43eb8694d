/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmstall: the lab VM's own stall detector.
 *
 *   vmstall [-o FILE] [-p PERIOD_MS] [-t THRESHOLD_MS]
 *
 * One thread per online CPU, pinned to it and, where allowed, SCHED_FIFO
 * so that nothing inside the VM outranks it: each sleeps PERIOD_MS
 * (default 5) on CLOCK_MONOTONIC, again and again, and measures how late
 * it woke.  A thread that cannot run for a long time means that CPU did
 * not run: on an emulated VM (TCG), the host did not schedule the vCPU, or
 * the vCPU spent that time in interrupts.  Either way nothing inside the
 * VM, daemon or kernel, was able to keep time then, and a scenario that
 * saw packets lost or probes missed in that moment is looking at the VM,
 * not at the code under test.
 *
 * Every wake-up later than THRESHOLD_MS (default 20) appends one line to
 * FILE (default stdout), written with one write(2) on an O_APPEND file so
 * that the threads' lines never mix:
 *
 *   START_REALTIME_S LATE_MS cpuN
 *
 * START is when the stall began (the deadline it missed, CLOCK_REALTIME,
 * the clock of bash's EPOCHREALTIME), LATE how long past it the thread
 * woke.  tests/lab/lib.sh reads it (lab_vm_stall_max).  Runs until killed.
 */
#define _GNU_SOURCE
#define LABTOOL "vmstall"
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labtool.h"

static int out_fd = STDOUT_FILENO;
static int64_t period_ns = 5 * 1000000LL;
static int64_t threshold_ns = 20 * 1000000LL;

static int64_t
ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts_ns(&ts);
}

static void *
watch(void *arg)
{
	long cpu = (long)arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		int64_t due, late;

		due = ts_ns(&next) + period_ns;
		next.tv_sec = (time_t)(due / 1000000000LL);
		next.tv_nsec = (long)(due % 1000000000LL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		late = now_ns(CLOCK_MONOTONIC) - due;
		if (late >= threshold_ns) {
			char line[96];
			int64_t start = now_ns(CLOCK_REALTIME) - late;
			int n = snprintf(line, sizeof(line), "%lld.%06lld %.1f cpu%ld\n",
					 (long long)(start / 1000000000LL),
					 (long long)(start % 1000000000LL / 1000),
					 late / 1e6, cpu);

			if (n > 0 && write(out_fd, line, (size_t)n) < 0)
				_exit(1);
		}
		/* After a stall, measure from now: one stall is one line,
		 * not a burst of catch-up wake-ups. */
		if (late > period_ns)
			clock_gettime(CLOCK_MONOTONIC, &next);
	}
	return NULL;
}


int
main(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c, fifo = 0;

	while ((c = getopt(argc, argv, "o:p:t:")) != -1) {
		switch (c) {
		case 'o':
			out_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (out_fd < 0) {
				fprintf(stderr, "vmstall: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 'p': period_ns = (int64_t)lab_num(optarg, 'p', 1, 1000) * 1000000LL; break;
		case 't': threshold_ns = (int64_t)lab_num(optarg, 't', 1, 60000) * 1000000LL; break;
		default:
			fputs("usage: vmstall [-o FILE] [-p PERIOD_MS] [-t THRESHOLD_MS]\n", stderr);
			return 2;
		}
	}
	if (ncpu < 1)
		ncpu = 1;
	for (long i = 0; i < ncpu; i++) {
		pthread_attr_t attr;
		pthread_t t;
		cpu_set_t set;
		struct sched_param sp = { .sched_priority = 1 };
		int err;

		pthread_attr_init(&attr);
		CPU_ZERO(&set);
		CPU_SET((int)i, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
		pthread_attr_setschedparam(&attr, &sp);
		err = pthread_create(&t, &attr, watch, (void *)i);
		if (err == EPERM) {
			/* Not allowed real-time: watch at normal priority. */
			pthread_attr_setinheritsched(&attr, PTHREAD_INHERIT_SCHED);
			err = pthread_create(&t, &attr, watch, (void *)i);
		} else if (err == 0) {
			fifo++;
		}
		pthread_attr_destroy(&attr);
		if (err) {
			fprintf(stderr, "vmstall: thread for cpu%ld: %s\n", i, strerror(err));
			return 1;
		}
	}
	fprintf(stderr, "vmstall: watching %ld CPUs (%d SCHED_FIFO), period %lld ms, "
		"logging stalls >= %lld ms\n", ncpu, fifo,
		(long long)(period_ns / 1000000), (long long)(threshold_ns / 1000000));
	for (;;)
		pause();
}
