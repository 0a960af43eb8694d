/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe engine on a real kernel: its raw socket, the kernel's echo
 * answers and receive timestamps, and a loop that we make late on purpose;
 * and its ICMPv6 socket (probe.family): the kernel's checksum and echo
 * answers, the echo-reply filter, and "both" going down when ICMPv6
 * alone is lost.
 * Each test runs in a network namespace of its own, probing through lo
 * (the kernel answers the echo itself), so it needs root: run through
 * tests/integration/run.
 */
#define _GNU_SOURCE
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
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
#include "lib/rawsock.h"
#include "tunsteerd/probe.h"
#include "tunsteerd/probe_pkt.h"
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

/* --- ICMPv6 ------------------------------------------------------------- */

/* "lo" as a tunnel with an address6: ours 2001:db8:ffff::/127, the peer
 * ::1 of it, both on lo, so the kernel answers our ICMPv6 echo itself. */
static void
with_address6(enum probe_family fam)
{
	sh("ip -6 addr add 2001:db8:ffff::/128 dev lo nodad");
	sh("ip -6 addr add 2001:db8:ffff::1/128 dev lo nodad");
	ct.has_address6 = true;
	ck_assert_int_eq(ts_prefix_parse("2001:db8:ffff::/127", false,
					 &ct.address6), 0);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ffff::1", &ct.peer6), 1);
	ct.probe.family = fam;
}

/*
 * ICMPv6 alone: the kernel fills in the checksum we leave 0 (its echo
 * responder would drop a bad one), answers, and the answer is judged by
 * the kernel's receive time as IPv4's is: read 400 ms late, past the
 * 100 ms timeout, it still counts.  No IPv4 probe is sent.
 */
START_TEST(icmpv6_probe_is_answered_by_the_kernel_and_judged_by_its_receive_time)
{
	const struct health *h;

	with_address6(PROBE_FAMILY_IPV6);
	ct.probe.interval_ms = 1000;
	ct.probe.timeout_ms = 100;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	event_base_loop(base, EVLOOP_ONCE);	/* the first tick: one probe out */
	usleep(400 * 1000);
	run_due();
	h = probe_health(pe, 0);
	ck_assert_msg(state() == HEALTH_UP, "health %s after an ICMPv6 answer "
		      "the kernel received in time", health_state_name(state()));
	ck_assert_uint_eq(h->fam_answered[HEALTH_IPV6], 1);
	ck_assert_uint_eq(h->fam_sent[HEALTH_IPV4], 0);
	ck_assert_uint_eq(probe_engine_late_unjudged(pe), 0);
}
END_TEST

/*
 * The socket reads echo replies only: our own echo request, which the
 * kernel delivers to raw ICMPv6 sockets too on its way to the responder,
 * and everything else ICMPv6 carries (neighbour discovery, errors) stay
 * out of the loop's way.
 */
START_TEST(icmpv6_socket_reads_echo_replies_only)
{
	int fd = rawsock_icmp6_open();
	struct probe_pkt p = { .ident = 0x7473, .seq = 1, .nonce = 42 };
	uint8_t buf[512];
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct in6_addr src;
	unsigned int ifindex;
	struct timespec stamp;
	int replies = 0;
	ssize_t n;

	ck_assert_msg(fd >= 0, "rawsock_icmp6_open: %s", strerror(-fd));
	sh("ip -6 addr add 2001:db8:ffff::1/128 dev lo nodad");
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ffff::1", &to.sin6_addr), 1);
	ck_assert_int_eq(sendto(fd, buf, probe_pkt_build6(&p, buf), 0,
				(struct sockaddr *)&to, sizeof(to)), PROBE_PKT_LEN);
	usleep(100 * 1000);
	while ((n = rawsock_recv6(fd, buf, sizeof(buf), &src, &ifindex,
				  &stamp)) >= 0) {
		struct probe_pkt got;

		ck_assert_int_eq(buf[0], ICMP6_ECHO_REPLY);
		ck_assert_int_eq(probe_pkt_parse6(buf, (size_t)n, 0x7473, &got), 0);
		ck_assert(got.nonce == 42);
		ck_assert(memcmp(&src, &to.sin6_addr, sizeof(src)) == 0);
		ck_assert_uint_eq(ifindex, 1);		/* lo */
		ck_assert_int_ge(stamp.tv_sec, 1);	/* SO_TIMESTAMPNS */
		replies++;
	}
	ck_assert_int_eq(n, -EAGAIN);
	ck_assert_int_eq(replies, 1);
	close(fd);
}
END_TEST

/*
 * "both": IPv4 answers throughout; the peer's IPv6 address goes, so
 * ICMPv6 alone is lost, and the tunnel goes down saying so; IPv6 back,
 * it comes back.
 */
START_TEST(both_goes_down_when_icmpv6_alone_is_lost_and_back_with_it)
{
	const struct health *h;
	uint64_t v4;

	with_address6(PROBE_FAMILY_BOTH);
	ct.probe.interval_ms = 100;
	ct.probe.timeout_ms = 50;
	ck_assert_int_eq(probe_engine_configure(pe, &conf), 0);
	ck_assert_msg(run_until(HEALTH_UP, 3000), "health %s with both families "
		      "answered", health_state_name(state()));
	h = probe_health(pe, 0);
	v4 = h->fam_answered[HEALTH_IPV4];
	ck_assert_uint_ge(h->fam_answered[HEALTH_IPV6], 1);
	sh("ip -6 addr del 2001:db8:ffff::1/128 dev lo");
	ck_assert_msg(run_until(HEALTH_DOWN, 3000), "health %s with ICMPv6 lost",
		      health_state_name(state()));
	h = probe_health(pe, 0);
	ck_assert_msg(strstr(h->reason, "(ipv6 only)") != NULL, "reason: %s",
		      h->reason);
	ck_assert_uint_gt(h->fam_answered[HEALTH_IPV4], v4);
	sh("ip -6 addr add 2001:db8:ffff::1/128 dev lo nodad");
	ck_assert_msg(run_until(HEALTH_UP, 3000), "health %s with ICMPv6 back",
		      health_state_name(state()));
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
	tcase_add_test(tc, icmpv6_probe_is_answered_by_the_kernel_and_judged_by_its_receive_time);
	tcase_add_test(tc, icmpv6_socket_reads_echo_replies_only);
	tcase_add_test(tc, both_goes_down_when_icmpv6_alone_is_lost_and_back_with_it);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(probe_suite)
