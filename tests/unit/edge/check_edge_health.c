/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The provider's tunnel health state machine (edge_health), driven with
 * synthetic check results and time, with the provider's own timings:
 * down when every check of the last 1 s failed over ≥3 samples, degraded
 * at ≥0.1 % failed in 5 min with ≥2 failures, down → degraded after 3
 * successes, degraded → healthy after 30 clean checks, at least 5 min in
 * degraded or down, up to 2 quick retries, penalties 500,000/1,000,000.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_health.h"
#include "testlib.h"

#define MIN5 300000u		/* the provider's minimum time, ms */

static struct edge_health h;
static uint64_t now;
static bool retry;		/* what the last feed asked for */

static void
setup(void)
{
	now = 1000000;		/* any start: time is relative */
	edge_health_init(&h, MIN5, 2, now);
	retry = false;
}

/* A result @dt ms after the previous one. */
static enum eh_state
at(uint64_t dt, bool ok, bool is_retry)
{
	enum eh_state old;

	now += dt;
	retry = edge_health_feed(&h, ok, is_retry, now, &old);
	return old;
}

/* @n regular checks, one per @every ms. */
static void
checks(unsigned int n, uint64_t every, bool ok)
{
	while (n--)
		at(every, ok, false);
}

/* Drive to down: three failures 250 ms apart (a probe and 2 retries). */
static void
take_down(void)
{
	at(1000, false, false);
	at(250, false, true);
	at(250, false, true);
	ck_assert_int_eq(h.state, EH_DOWN);
}

START_TEST(test_starts_healthy_without_penalty)
{
	ck_assert_int_eq(h.state, EH_HEALTHY);
	ck_assert_uint_eq(edge_health_penalty(h.state), 0);
	ck_assert(edge_health_state_value(h.state) == 1.0);
}
END_TEST

START_TEST(test_failed_check_of_healthy_tunnel_asks_for_two_quick_retries)
{
	checks(10, 1000, true);
	ck_assert(!retry);
	at(1000, false, false);
	ck_assert(retry);
	/* A retry that succeeds ends the chain at once. */
	at(250, true, true);
	ck_assert(!retry);
	ck_assert_int_eq(h.state, EH_HEALTHY);	/* 1 failure: no penalty */
	checks(5, 1000, true);
	ck_assert(!retry);
}
END_TEST

START_TEST(test_retries_are_limited_to_two_per_chain)
{
	at(1000, false, false);
	ck_assert(retry);
	at(250, false, true);
	ck_assert(retry);
	at(250, false, true);
	ck_assert(!retry);		/* 1 check + 2 retries, then stop */
}
END_TEST

START_TEST(test_down_exactly_when_three_samples_in_one_second_all_failed)
{
	checks(10, 1000, true);
	at(1000, false, false);
	at(250, false, true);
	ck_assert_int_ne(h.state, EH_DOWN);	/* 2 samples: not enough */
	at(250, false, true);
	ck_assert_int_eq(h.state, EH_DOWN);
	ck_assert_str_eq(h.reason, "all 3 checks of the last 1 s failed");
	ck_assert_uint_eq(edge_health_penalty(h.state), 1000000);
	ck_assert(edge_health_state_value(h.state) == 0.0);
}
END_TEST

START_TEST(test_three_failures_spread_over_more_than_a_second_are_not_down)
{
	edge_health_init(&h, MIN5, 0, now);	/* no retries */
	checks(10, 1000, true);
	checks(3, 1000, false);			/* 1 s apart: 1 per window */
	ck_assert_int_eq(h.state, EH_DEGRADED);
	/* …but a fourth and fifth 500 ms later make 3 in the last second. */
	at(500, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);	/* 2 in (now-1 s, now] */
	at(400, false, false);
	ck_assert_int_eq(h.state, EH_DOWN);
}
END_TEST

START_TEST(test_not_down_while_one_check_of_the_last_second_passed)
{
	edge_health_init(&h, MIN5, 0, now);
	checks(5, 1000, true);
	at(100, false, false);
	at(100, true, false);
	at(100, false, false);
	at(100, false, false);
	at(100, false, false);
	ck_assert_int_ne(h.state, EH_DOWN);	/* the ok one is 300 ms old */
	at(699, false, false);
	ck_assert_int_ne(h.state, EH_DOWN);	/* 999 ms old: still counts */
	at(1, false, false);			/* 1000 ms: out of the window */
	ck_assert_int_eq(h.state, EH_DOWN);
}
END_TEST

START_TEST(test_one_failure_in_five_minutes_never_degrades)
{
	checks(5, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	checks(400, 1000, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
}
END_TEST

START_TEST(test_degraded_at_two_failures_when_they_are_at_least_a_tenth_percent)
{
	/* 100 ms checks: 3000 per 5 min.  2 of ~3000 is 0.067 %: healthy;
	 * the 3rd failure makes 0.1 %: degraded. */
	checks(2997, 100, true);
	at(100, false, false);
	at(50, true, true);
	at(100, false, false);
	at(50, true, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	at(100, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	ck_assert_str_eq(h.reason, "3 of 2993 checks of the last 5 min failed (0.10 %)");
	ck_assert_uint_eq(edge_health_penalty(h.state), 500000);
	ck_assert(edge_health_state_value(h.state) == 0.5);
}
END_TEST

START_TEST(test_degraded_is_immediate_with_few_checks)
{
	checks(10, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	at(1000, false, false);			/* 2nd failure, of 14 */
	ck_assert_int_eq(h.state, EH_DEGRADED);
}
END_TEST

START_TEST(test_failures_older_than_five_minutes_do_not_count)
{
	checks(3, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	checks(301, 1000, true);		/* the failure is 301 s old */
	at(1000, false, false);
	ck_assert_int_eq(h.state, EH_HEALTHY);

	/* The same with the second failure inside the window. */
	setup();
	checks(3, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	checks(297, 1000, true);		/* 298 s old at the next */
	at(1000, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
}
END_TEST

START_TEST(test_down_tunnel_success_asks_for_quick_retries)
{
	take_down();
	at(1000, true, false);
	ck_assert(retry);			/* "likewise" */
	at(100, true, true);
	ck_assert(retry);
	at(100, true, true);
	ck_assert(!retry);
}
END_TEST

START_TEST(test_down_to_degraded_after_three_successes_and_five_minutes)
{
	uint64_t t_down;

	take_down();
	t_down = now;
	/* 3 successes in a row right away: still down (minimum time). */
	checks(3, 1000, true);
	ck_assert_int_eq(h.state, EH_DOWN);
	/* Keep failing and passing until 1 ms before 5 min. */
	while (now < t_down + MIN5 - 1001)
		at(1000, true, false);
	at(t_down + MIN5 - 1 - now, true, false);
	ck_assert_int_eq(h.state, EH_DOWN);
	at(1, true, false);			/* exactly 5 min */
	ck_assert_int_eq(h.state, EH_DEGRADED);
	ck_assert_str_eq(h.reason, "301 checks in a row passed after 300.0 s down");
}
END_TEST

START_TEST(test_down_needs_three_successes_in_a_row)
{
	take_down();
	now += MIN5;				/* the minimum time is over */
	at(1000, true, false);
	at(100, true, true);
	at(100, false, true);			/* breaks the run */
	ck_assert_int_eq(h.state, EH_DOWN);
	at(1000, true, false);
	at(100, true, true);
	ck_assert_int_eq(h.state, EH_DOWN);
	at(100, true, true);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	ck_assert_str_eq(h.reason, "3 checks in a row passed after 302.4 s down");
}
END_TEST

START_TEST(test_down_never_goes_straight_to_healthy)
{
	take_down();
	while (h.state == EH_DOWN)
		at(1000, true, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	/* healthy → degraded (2nd failure) → down (3rd) → degraded */
	ck_assert_uint_eq(h.transitions, 3);
	while (h.state == EH_DEGRADED)
		at(1000, true, false);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	ck_assert_uint_eq(h.transitions, 4);
}
END_TEST

START_TEST(test_degraded_to_healthy_after_thirty_clean_checks_and_five_minutes)
{
	uint64_t t_deg;

	checks(10, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	at(1000, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	t_deg = now;
	at(250, true, true);
	/* Clean for just under 5 min: still degraded. */
	while (now + 1000 < t_deg + MIN5)
		at(1000, true, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	at(t_deg + MIN5 - now, true, false);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	ck_assert_str_eq(h.reason, "last 30 checks passed after 300.0 s degraded");
}
END_TEST

START_TEST(test_degraded_to_healthy_needs_the_last_thirty_clean)
{
	checks(10, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	at(1000, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	now += MIN5;				/* minimum time over */
	at(250, true, true);
	checks(28, 100, true);			/* 29 clean */
	ck_assert_int_eq(h.state, EH_DEGRADED);
	at(100, false, false);			/* a failure: start over */
	at(50, true, true);
	checks(28, 100, true);
	ck_assert_int_eq(h.state, EH_DEGRADED);	/* 29 since */
	checks(1, 100, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
}
END_TEST

START_TEST(test_degraded_goes_down_immediately)
{
	checks(10, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	at(1000, false, false);
	ck_assert_int_eq(h.state, EH_DEGRADED);
	at(250, false, true);
	ck_assert_int_eq(h.state, EH_DEGRADED);	/* 2 in the last second */
	ck_assert(retry);
	at(250, false, true);
	ck_assert_int_eq(h.state, EH_DOWN);	/* minimum time is no obstacle */
}
END_TEST

START_TEST(test_healthy_again_starts_a_fresh_window)
{
	checks(10, 1000, true);
	at(1000, false, false);
	at(250, true, true);
	at(1000, false, false);
	at(250, true, true);
	now += MIN5;
	checks(30, 100, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
	/* One new failure: one in the window, not degraded again. */
	at(100, false, false);
	at(50, true, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
}
END_TEST

START_TEST(test_shorter_minimum_time_as_the_lab_configures_it)
{
	edge_health_init(&h, 2000, 2, now);
	take_down();
	checks(3, 100, true);
	ck_assert_int_eq(h.state, EH_DOWN);	/* 300 ms < 2 s */
	checks(17, 100, true);
	ck_assert_int_eq(h.state, EH_DEGRADED);	/* at 2.0 s */
	checks(19, 100, true);
	ck_assert_int_eq(h.state, EH_DEGRADED);	/* 1.9 s in degraded */
	checks(1, 100, true);
	ck_assert_int_eq(h.state, EH_HEALTHY);
}
END_TEST

START_TEST(test_counters)
{
	uint32_t total, failed;

	checks(10, 1000, true);
	at(1000, false, false);
	at(250, false, true);
	ck_assert_uint_eq(h.checks, 12);
	ck_assert_uint_eq(h.failures, 2);
	edge_health_window(&h, now, &total, &failed);
	ck_assert_uint_eq(total, 12);
	ck_assert_uint_eq(failed, 2);
}
END_TEST

static Suite *
edge_health_suite(void)
{
	Suite *s = suite_create("edge_health");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_starts_healthy_without_penalty);
	tcase_add_test(tc, test_failed_check_of_healthy_tunnel_asks_for_two_quick_retries);
	tcase_add_test(tc, test_retries_are_limited_to_two_per_chain);
	tcase_add_test(tc, test_down_exactly_when_three_samples_in_one_second_all_failed);
	tcase_add_test(tc, test_three_failures_spread_over_more_than_a_second_are_not_down);
	tcase_add_test(tc, test_not_down_while_one_check_of_the_last_second_passed);
	tcase_add_test(tc, test_one_failure_in_five_minutes_never_degrades);
	tcase_add_test(tc, test_degraded_at_two_failures_when_they_are_at_least_a_tenth_percent);
	tcase_add_test(tc, test_degraded_is_immediate_with_few_checks);
	tcase_add_test(tc, test_failures_older_than_five_minutes_do_not_count);
	tcase_add_test(tc, test_down_tunnel_success_asks_for_quick_retries);
	tcase_add_test(tc, test_down_to_degraded_after_three_successes_and_five_minutes);
	tcase_add_test(tc, test_down_needs_three_successes_in_a_row);
	tcase_add_test(tc, test_down_never_goes_straight_to_healthy);
	tcase_add_test(tc, test_degraded_to_healthy_after_thirty_clean_checks_and_five_minutes);
	tcase_add_test(tc, test_degraded_to_healthy_needs_the_last_thirty_clean);
	tcase_add_test(tc, test_degraded_goes_down_immediately);
	tcase_add_test(tc, test_healthy_again_starts_a_fresh_window);
	tcase_add_test(tc, test_shorter_minimum_time_as_the_lab_configures_it);
	tcase_add_test(tc, test_counters);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_health_suite)
