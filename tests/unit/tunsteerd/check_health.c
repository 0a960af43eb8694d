/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tunnel health state machine, driven by synthetic probe outcomes:
 * thresholds, hold-down, the loss and RTT rules, and flapping; and by the
 * provider's health checks going missing and coming back; and, for ipsec
 * tunnels, by the CHILD_SA going away and coming back.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunsteerd/health.h"
#include "testlib.h"

static struct config_probe cfg;
static struct health h;
static uint64_t now;

static void
setup(void)
{
	cfg = (struct config_probe)CONFIG_PROBE_DEFAULTS;
	cfg.interval_ms = 100;
	cfg.down_after = 3;
	cfg.up_after = 5;
	cfg.holddown_ms = 2000;
	health_init(&h, &cfg);
	now = 0;
}

/* n outcomes, one per interval. */
static void
feed(unsigned int n, bool answered, uint32_t rtt_us)
{
	while (n--) {
		now += cfg.interval_ms;
		health_feed(&h, answered, rtt_us, now);
	}
}

START_TEST(test_first_answer_brings_a_new_tunnel_up)
{
	ck_assert_int_eq(h.state, HEALTH_INIT);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_str_eq(h.reason, "first answer");
}
END_TEST

START_TEST(test_new_tunnel_that_never_answers_goes_down_after_down_after)
{
	feed(2, false, 0);
	ck_assert_int_eq(h.state, HEALTH_INIT);
	feed(1, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
}
END_TEST

START_TEST(test_down_after_exactly_down_after_lost_in_a_row)
{
	feed(20, true, 20000);
	feed(2, false, 0);
	ck_assert_int_ne(h.state, HEALTH_DOWN);	/* degraded: 2 of 20 lost */
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	feed(1, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_str_eq(h.reason, "3 probes lost in a row");
}
END_TEST

START_TEST(test_recovery_needs_up_after_answers_and_the_holddown)
{
	feed(20, true, 20000);
	feed(3, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	/* 5 answers in a row, but only 0.5 s after going down. */
	feed(5, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	/* Still answering: up once 2 s have passed since going down. */
	feed(14, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_one_loss_during_recovery_restarts_the_count)
{
	feed(3, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(30, true, 20000);	/* long past the hold-down */
	ck_assert_int_eq(h.state, HEALTH_UP);
	feed(3, false, 0);
	feed(19, true, 20000);	/* 1.9 s: hold-down (2 s) not over yet */
	feed(1, false, 0);
	feed(4, true, 20000);	/* 4 < up_after */
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_flapping_tunnel_never_comes_back_up)
{
	feed(3, false, 0);
	for (int i = 0; i < 200; i++) {
		feed(4, true, 20000);	/* one short of up_after */
		feed(1, false, 0);
		ck_assert_int_eq(h.state, HEALTH_DOWN);
	}
}
END_TEST

START_TEST(test_alternating_loss_degrades_but_never_downs)
{
	feed(10, true, 20000);
	for (int i = 0; i < 100; i++) {
		feed(1, false, 0);
		ck_assert_int_ne(h.state, HEALTH_DOWN);
		feed(1, true, 20000);
		/* 2 lost of 14 crosses 10%; from then on it stays. */
		if (i >= 1)
			ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	}
	ck_assert_uint_eq(health_loss_pct(&h), 50);
}
END_TEST

START_TEST(test_high_rtt_degrades_and_recovers_when_the_mean_drops)
{
	cfg.degraded_rtt_ms = 100;
	health_init(&h, &cfg);
	feed(5, true, 30000);
	ck_assert_int_eq(h.state, HEALTH_UP);
	feed(20, true, 150000);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	/* It turned when the mean crossed the limit. */
	ck_assert_ptr_nonnull(strstr(h.reason, "rtt 1"));
	ck_assert_ptr_nonnull(strstr(h.reason, " ms >= 100 ms"));
	feed(20, true, 30000);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_uint_eq(health_rtt_us(&h), 30000);
	ck_assert_uint_eq(health_jitter_us(&h), 0);
}
END_TEST

START_TEST(test_penalties_follow_the_provider)
{
	ck_assert_uint_eq(health_penalty(HEALTH_INIT), 0);
	ck_assert_uint_eq(health_penalty(HEALTH_UP), 0);
	ck_assert_uint_eq(health_penalty(HEALTH_DEGRADED), 500000);
	ck_assert_uint_eq(health_penalty(HEALTH_DOWN), 1000000);
	ck_assert_str_eq(health_state_name(HEALTH_DEGRADED), "degraded");
}
END_TEST

/* --- the provider's health checks as a second input ---------------------- */

static void
checks(bool missing)
{
	health_checks(&h, missing, now);
}

START_TEST(test_missing_checks_degrade_an_up_tunnel_and_return_restores_it)
{
	feed(20, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_int_eq(health_checks(&h, true, now), HEALTH_UP);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_str_eq(h.reason, "provider health checks missing");
	/* Perfect probes do not override the missing checks. */
	feed(50, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_int_eq(health_checks(&h, false, now), HEALTH_DEGRADED);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_str_eq(h.reason, "provider health checks back");
}
END_TEST

START_TEST(test_missing_checks_never_make_a_tunnel_worse_than_degraded)
{
	feed(20, true, 20000);
	checks(true);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	/* Still missing, for as long as it lasts: degraded, not down. */
	for (int i = 0; i < 100; i++) {
		checks(true);
		feed(1, true, 20000);
	}
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_uint_eq(h.lost_run, 0);
}
END_TEST

START_TEST(test_probes_still_take_a_tunnel_down_while_checks_are_missing)
{
	feed(20, true, 20000);
	checks(true);
	feed(3, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_str_eq(h.reason, "3 probes lost in a row");
	/* Checks coming back do not bring a down tunnel up: answers do. */
	checks(false);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(30, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_recovery_from_down_stops_at_degraded_while_checks_are_missing)
{
	feed(3, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	checks(true);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(30, true, 20000);	/* past up_after and the hold-down */
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_str_eq(h.reason, "provider health checks missing");
	checks(false);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_checks_back_leave_a_lossy_tunnel_degraded)
{
	feed(10, true, 20000);
	feed(1, false, 0);
	feed(1, true, 20000);
	feed(1, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);	/* 2 of 13 lost */
	checks(true);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	checks(false);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_ptr_nonnull(strstr(h.reason, "loss "));
	/* The loss rule alone decides from here: 20 good answers clear it. */
	feed(20, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_a_new_tunnel_waits_for_its_probes_then_is_held_degraded)
{
	checks(true);
	ck_assert_int_eq(h.state, HEALTH_INIT);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_str_eq(h.reason, "provider health checks missing");
	checks(false);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_repeating_the_checks_condition_changes_nothing)
{
	feed(20, true, 20000);
	checks(false);			/* never missing: nothing to restore */
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_str_eq(h.reason, "first answer");
	checks(true);
	snprintf(h.reason, sizeof(h.reason), "marker");
	checks(true);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	ck_assert_str_eq(h.reason, "marker");
	/* No probe outcome was counted by the checks input. */
	ck_assert_uint_eq(h.sent, 20);
}
END_TEST

/* An up ipsec tunnel whose CHILD_SA goes away is down at that moment, not
 * down_after probes later, and says why. */
START_TEST(test_no_child_sa_takes_a_tunnel_down_at_once)
{
	feed(20, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
	now += 10;
	ck_assert_int_eq(health_sa(&h, true, now), HEALTH_UP);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_str_eq(h.reason, HEALTH_NO_CHILD_SA);
	ck_assert_uint_eq(h.down_since_ms, now);
	/* From init and degraded alike. */
	health_init(&h, &cfg);
	ck_assert_int_eq(health_sa(&h, true, now), HEALTH_INIT);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	health_init(&h, &cfg);
	feed(20, true, 20000);
	feed(2, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	health_sa(&h, true, now);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
}
END_TEST

/* The CHILD_SA back changes nothing by itself; the tunnel comes up only
 * after up_after answers in a row through it, and not before the
 * hold-down has passed since it went down. */
START_TEST(test_child_sa_back_comes_up_only_after_up_after_answers)
{
	feed(20, true, 20000);
	health_sa(&h, true, now);
	/* Answers while no SA is installed count for nothing. */
	feed(10, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	now += cfg.holddown_ms;
	ck_assert_int_eq(health_sa(&h, false, now), HEALTH_DOWN);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(cfg.up_after - 1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

START_TEST(test_child_sa_back_still_waits_for_the_holddown)
{
	feed(20, true, 20000);
	health_sa(&h, true, now);
	health_sa(&h, false, now + 10);
	feed(cfg.up_after, true, 20000);	/* 0.5 s of the 2 s */
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(15, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

/* Already down by probes: the SA going makes it no better, restarts the
 * count of answers, and repeating either condition changes nothing. */
START_TEST(test_child_sa_missing_while_down_restarts_the_count)
{
	feed(20, true, 20000);
	feed(3, false, 0);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	now += cfg.holddown_ms;
	feed(cfg.up_after - 1, true, 20000);
	health_sa(&h, true, now);
	ck_assert_str_eq(h.reason, HEALTH_NO_CHILD_SA);
	ck_assert_int_eq(health_sa(&h, true, now), HEALTH_DOWN);
	health_sa(&h, false, now);
	ck_assert_int_eq(health_sa(&h, false, now), HEALTH_DOWN);
	feed(1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	feed(cfg.up_after - 1, true, 20000);
	ck_assert_int_eq(h.state, HEALTH_UP);
}
END_TEST

static Suite *
health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("state machine");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_first_answer_brings_a_new_tunnel_up);
	tcase_add_test(tc, test_new_tunnel_that_never_answers_goes_down_after_down_after);
	tcase_add_test(tc, test_down_after_exactly_down_after_lost_in_a_row);
	tcase_add_test(tc, test_recovery_needs_up_after_answers_and_the_holddown);
	tcase_add_test(tc, test_one_loss_during_recovery_restarts_the_count);
	tcase_add_test(tc, test_flapping_tunnel_never_comes_back_up);
	tcase_add_test(tc, test_alternating_loss_degrades_but_never_downs);
	tcase_add_test(tc, test_high_rtt_degrades_and_recovers_when_the_mean_drops);
	tcase_add_test(tc, test_penalties_follow_the_provider);
	tcase_add_test(tc, test_missing_checks_degrade_an_up_tunnel_and_return_restores_it);
	tcase_add_test(tc, test_missing_checks_never_make_a_tunnel_worse_than_degraded);
	tcase_add_test(tc, test_probes_still_take_a_tunnel_down_while_checks_are_missing);
	tcase_add_test(tc, test_recovery_from_down_stops_at_degraded_while_checks_are_missing);
	tcase_add_test(tc, test_checks_back_leave_a_lossy_tunnel_degraded);
	tcase_add_test(tc, test_a_new_tunnel_waits_for_its_probes_then_is_held_degraded);
	tcase_add_test(tc, test_repeating_the_checks_condition_changes_nothing);
	tcase_add_test(tc, test_no_child_sa_takes_a_tunnel_down_at_once);
	tcase_add_test(tc, test_child_sa_back_comes_up_only_after_up_after_answers);
	tcase_add_test(tc, test_child_sa_back_still_waits_for_the_holddown);
	tcase_add_test(tc, test_child_sa_missing_while_down_restarts_the_count);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(health_suite)
