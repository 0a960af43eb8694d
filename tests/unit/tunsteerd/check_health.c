/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tunnel health state machine, driven by synthetic probe outcomes:
 * thresholds, hold-down, the loss and RTT rules, and flapping; and by the
 * provider's health checks going missing and coming back; and, for ipsec
 * tunnels, by the CHILD_SA going away and coming back; and rounds of
 * IPv4 and ICMPv6 probes (probe.family "both"), lost when either is.
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

/* --- probe.family "both": a round is lost when either family is ------- */

/* One round of @fam at the next interval: IPv4 and IPv6 answered (@v4,
 * @v6) with @rtt4 and @rtt6 us; a family @fam does not probe is ignored. */
static enum health_state
round_of(struct health *x, enum probe_family fam, bool v4, uint32_t rtt4,
	 bool v6, uint32_t rtt6)
{
	struct health_round r;
	bool done;

	health_round_start(&r, fam);
	done = health_round_note(&r, HEALTH_IPV6,
				 v6 ? HEALTH_ANSWERED : HEALTH_LOST, rtt6);
	done |= health_round_note(&r, HEALTH_IPV4,
				  v4 ? HEALTH_ANSWERED : HEALTH_LOST, rtt4);
	ck_assert(done);
	return health_feed_round(x, &r, now);
}

static void
both(unsigned int n, bool v4, bool v6)
{
	while (n--) {
		now += cfg.interval_ms;
		round_of(&h, PROBE_FAMILY_BOTH, v4, 20000, v6, 20000);
	}
}

START_TEST(test_round_of_both_is_answered_only_when_both_answer_with_the_slower_rtt)
{
	struct health_round r;

	health_round_start(&r, PROBE_FAMILY_BOTH);
	ck_assert(!health_round_note(&r, HEALTH_IPV4, HEALTH_ANSWERED, 12000));
	/* The same family again (a duplicate) completes nothing. */
	ck_assert(!health_round_note(&r, HEALTH_IPV4, HEALTH_ANSWERED, 1));
	ck_assert(health_round_note(&r, HEALTH_IPV6, HEALTH_ANSWERED, 30000));
	now += 100;
	health_feed_round(&h, &r, now);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_uint_eq(h.last_rtt_us, 30000);
	ck_assert_uint_eq(h.sent, 1);
	ck_assert_uint_eq(h.answered, 1);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV4], 1);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV6], 1);
	/* One family lost: the round is. */
	health_round_start(&r, PROBE_FAMILY_BOTH);
	ck_assert(!health_round_note(&r, HEALTH_IPV6, HEALTH_LOST, 0));
	ck_assert(health_round_note(&r, HEALTH_IPV4, HEALTH_ANSWERED, 10000));
	now += 100;
	health_feed_round(&h, &r, now);
	ck_assert_uint_eq(h.sent, 2);
	ck_assert_uint_eq(h.answered, 1);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV4], 2);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV6], 2);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV6], 1);
}
END_TEST

/* "ipv6" alone waits for IPv6 only; an IPv4 outcome for it is no
 * business of the round, and an unjudged family drops the whole round. */
START_TEST(test_round_counts_only_its_families_and_drops_an_unjudged_one)
{
	struct health_round r;

	health_round_start(&r, PROBE_FAMILY_IPV6);
	ck_assert(!health_round_note(&r, HEALTH_IPV4, HEALTH_LOST, 0));
	ck_assert(!health_round_note(&r, HEALTH_FAMILIES, HEALTH_LOST, 0));
	ck_assert(health_round_note(&r, HEALTH_IPV6, HEALTH_ANSWERED, 5000));
	health_feed_round(&h, &r, 100);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV4], 0);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV6], 1);
	health_round_start(&r, PROBE_FAMILY_IPV4);
	ck_assert(health_round_note(&r, HEALTH_IPV4, HEALTH_ANSWERED, 5000));
	ck_assert_uint_eq(r.want, 1u << HEALTH_IPV4);
	health_round_start(&r, PROBE_FAMILY_BOTH);
	ck_assert(!health_round_note(&r, HEALTH_IPV4, HEALTH_UNJUDGED, 0));
	ck_assert(health_round_note(&r, HEALTH_IPV6, HEALTH_LOST, 0));
	health_feed_round(&h, &r, 200);
	ck_assert_uint_eq(h.sent, 1);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV6], 1);
	ck_assert_uint_eq(h.lost_run, 0);
}
END_TEST

/* The rule in one test: the same outcomes, once as IPv4 probes and once
 * as rounds of "both" whose IPv4 always answers and whose IPv6 carries
 * the losses, give the same state at every step, with the same reasons
 * (the down one saying which family). */
START_TEST(test_ipv6_losses_of_both_move_a_tunnel_exactly_as_ipv4_losses_would)
{
	struct health v4;
	/* up, a lossy stretch (degraded), 3 in a row (down), recovery
	 * short of up_after, then enough answers past the hold-down. */
	static const char pattern[] =
		"1111111111111111111101101101110000111101111111111111111111111"
		"1111111111111111111111111111";

	health_init(&v4, &cfg);
	for (size_t i = 0; pattern[i]; i++) {
		bool ok = pattern[i] == '1';
		char want[sizeof(v4.reason) + 16];

		now += cfg.interval_ms;
		health_feed(&v4, ok, 20000, now);
		round_of(&h, PROBE_FAMILY_BOTH, true, 20000, ok, 20000);
		ck_assert_msg(h.state == v4.state, "step %zu: both %s, ipv4 %s",
			      i, health_state_name(h.state),
			      health_state_name(v4.state));
		snprintf(want, sizeof(want), "%s%s", v4.reason,
			 v4.state == HEALTH_DOWN &&
			 strstr(v4.reason, "in a row") ? " (ipv6 only)" : "");
		ck_assert_str_eq(h.reason, want);
	}
	ck_assert_int_eq(h.entered[HEALTH_DOWN], 1);
	ck_assert_int_eq(h.entered[HEALTH_DEGRADED], v4.entered[HEALTH_DEGRADED]);
	ck_assert_int_eq(h.state, HEALTH_UP);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV4], sizeof(pattern) - 1);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV6], v4.answered);
	ck_assert_uint_eq(h.answered, v4.answered);
}
END_TEST

START_TEST(test_both_goes_down_on_ipv6_alone_and_back_only_when_both_answer)
{
	both(20, true, true);
	ck_assert_int_eq(h.state, HEALTH_UP);
	both(2, true, false);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	both(1, true, false);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_str_eq(h.reason, "3 probes lost in a row (ipv6 only)");
	/* IPv4 answering all along does not bring it back. */
	both(100, true, false);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_uint_eq(h.fam_answered[HEALTH_IPV4], 123);
	ck_assert_uint_eq(h.fam_sent[HEALTH_IPV6] - h.fam_answered[HEALTH_IPV6], 103);
	/* IPv6 back: out of down after up_after rounds of both (the
	 * hold-down long past), degraded while the window still holds the
	 * outage's losses, as for IPv4; then up. */
	both(4, true, true);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	both(1, true, true);
	ck_assert_int_eq(h.state, HEALTH_DEGRADED);
	both(20, true, true);
	ck_assert_int_eq(h.state, HEALTH_UP);
	/* Losses of both families, or alternating ones: no "only". */
	both(1, false, true);
	both(1, true, false);
	both(1, false, false);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ck_assert_str_eq(h.reason, "3 probes lost in a row");
	/* And IPv4 alone going is said too. */
	both(30, true, true);
	ck_assert_int_eq(h.state, HEALTH_UP);
	both(3, false, true);
	ck_assert_str_eq(h.reason, "3 probes lost in a row (ipv4 only)");
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
	tc = tcase_create("both families");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_of_both_is_answered_only_when_both_answer_with_the_slower_rtt);
	tcase_add_test(tc, test_round_counts_only_its_families_and_drops_an_unjudged_one);
	tcase_add_test(tc, test_ipv6_losses_of_both_move_a_tunnel_exactly_as_ipv4_losses_would);
	tcase_add_test(tc, test_both_goes_down_on_ipv6_alone_and_back_only_when_both_answer);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(health_suite)
