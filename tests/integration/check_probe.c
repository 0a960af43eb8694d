/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe engine on a real kernel: its raw socket, the kernel's echo
 * answers and receive timestamps, and a loop that we make late on purpose.
 * Each test runs in a network namespace of its own, probing through lo
 * (the kernel answers the echo itself), so it needs root: run through
 * tests/integration/run.
 */
#define _GNU_SOURCE
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "tunsteerd/config.h"
#include "tunsteerd/health.h"
#include "tunsteerd/probe.h"
#include "testlib.h"

static struct event_base *base;
static struct probe_engine *pe;
static struct config_tunnel ct;
static struct config conf;
static int changes;

static void
changed_cb(void *arg, size_t i, enum health_state old)
{
	(void)arg;
	(void)i;
	(void)old;
	changes++;
}

static void
sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static void
setup(void)
{
	int err = 0;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0,
		      "unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
	sh("ip link set lo up");
	base = event_base_new();
	ck_assert(base != NULL);
	pe = probe_engine_create(base, changed_cb, NULL, &err);
	ck_assert_msg(pe != NULL, "probe_engine_create: %s", strerror(-err));
	changes = 0;
	memset(&ct, 0, sizeof(ct));
	strcpy(ct.name, "lo");
	ct.probe = (struct config_probe)CONFIG_PROBE_DEFAULTS;
	ct.probe.has_target = ct.probe.has_source = true;
	inet_pton(AF_INET, "127.0.0.1", &ct.probe.target);
	inet_pton(AF_INET, "127.0.0.1", &ct.probe.source);
	ct.probe.up_after = 1;
	ct.probe.down_after = 1;
	ct.probe.holddown_ms = 0;
	ct.probe.degraded_loss_pct = 100;
	memset(&conf, 0, sizeof(conf));
	conf.tunnels = &ct;
	conf.n_tunnels = 1;
}

static void
teardown(void)
{
	probe_engine_destroy(pe);
	event_base_free(base);
	pe = NULL;
	base = NULL;
}

static enum health_state
state(void)
{
	return probe_health(pe, 0)->state;
}

/* Run the loop's callbacks that are due now, without waiting. */
static void
run_due(void)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Run the loop until the tunnel is in @want, for at most @ms. */
static bool
run_until(enum health_state want, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(base, EVLOOP_ONCE);
		if (state() == want)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	return false;
}

/*
 * The kernel has the answer 0.1 ms after the probe left; the loop reads it
 * 400 ms later, past the 100 ms timeout.  The answer was in time: the
 * tunnel is up, not charged with a loss for the loop's lateness.
 */
START_TEST(answer_read_after_its_timeout_counts_when_the_kernel_had_it_in_time)
{
	ct.probe.interval_ms = 1000;
	ct.probe.timeout_ms = 100;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	event_base_loop(base, EVLOOP_ONCE);	/* the first tick: one probe out */
	usleep(400 * 1000);			/* the loop is busy elsewhere */
	run_due();
	ck_assert_msg(state() == HEALTH_UP, "health %s after an answer the kernel "
		      "received in time", health_state_name(state()));
	ck_assert_uint_eq(probe_engine_late_unjudged(pe), 0);
}
END_TEST

/*
 * Nothing answers (echo ignored).  The loop then stops for 500 ms, five
 * 100 ms intervals: the probe that expired meanwhile is not judged, so
 * the tunnel is not failed for the loop's own lateness, and the lateness
 * is counted.  Once the loop runs on time again, unanswered probes do
 * fail the tunnel: lateness excuses only itself.
 */
START_TEST(probes_expiring_while_the_loop_is_late_by_an_interval_are_not_charged)
{
	sh("echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all");
	ct.probe.interval_ms = 100;
	ct.probe.timeout_ms = 50;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	event_base_loop(base, EVLOOP_ONCE);	/* the first tick: one probe out */
	usleep(500 * 1000);
	run_due();
	ck_assert_msg(state() == HEALTH_INIT, "health %s: a probe the late loop "
		      "could not judge was charged", health_state_name(state()));
	ck_assert_uint_ge(probe_engine_late_unjudged(pe), 1);
	ck_assert_uint_ge(probe_engine_late_episodes(pe), 1);
	ck_assert_int_eq(changes, 0);
	ck_assert_msg(run_until(HEALTH_DOWN, 10000),
		      "unanswered probes judged on time never took the tunnel down");
}
END_TEST

/* A tick's work before its probe goes out, made slow: 300 ms. */
static bool
slow_checks_fn(void *arg, size_t i, const char *name)
{
	(void)arg;
	(void)i;
	(void)name;
	usleep(300 * 1000);
	return false;
}

/*
 * The tick does its other work first (the provider's checks sampled, the
 * answers drained, a health change applied to the kernel) and may lose
 * its CPU meanwhile: here that takes 300 ms, three times the timeout.
 * The probe's clock starts when it is sent, not when the tick began, so
 * its answer, back at once, is in time and the tunnel comes up.  (Timed
 * from the tick's start, every probe was lost: a CPU hog in the lab
 * failed a healthy tunnel that way.)
 */
START_TEST(work_before_the_send_is_not_taken_from_the_probes_timeout)
{
	ct.probe.interval_ms = 1000;
	ct.probe.timeout_ms = 100;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	probe_engine_set_checks_source(pe, slow_checks_fn, NULL);
	ck_assert_msg(run_until(HEALTH_UP, 3000), "health %s: an answer back at "
		      "once was charged with the tick's own 300 ms",
		      health_state_name(state()));
}
END_TEST

/* And an answer that truly came late, by the kernel's clock, is lost. */
START_TEST(answer_the_kernel_received_after_the_timeout_is_lost)
{
	/* The kernel's answer is delayed by 300 ms on lo (netem), past the
	 * 100 ms timeout, while the loop waits for it on time. */
	sh("tc qdisc add dev lo root netem delay 300ms");
	ct.probe.interval_ms = 1000;
	ct.probe.timeout_ms = 100;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	ck_assert_msg(run_until(HEALTH_DOWN, 3000),
		      "health %s: an answer 300 ms late counted", health_state_name(state()));
	ck_assert_uint_eq(probe_engine_late_unjudged(pe), 0);
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("netns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, answer_read_after_its_timeout_counts_when_the_kernel_had_it_in_time);
	tcase_add_test(tc, probes_expiring_while_the_loop_is_late_by_an_interval_are_not_charged);
	tcase_add_test(tc, work_before_the_send_is_not_taken_from_the_probes_timeout);
	tcase_add_test(tc, answer_the_kernel_received_after_the_timeout_is_lost);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(probe_suite)
