/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loop meter's arithmetic: how late its timer fired is the stall,
 * the longest is kept since start and over the last window, and long
 * ones are counted; and its period, long while the loop idles.
 */
#include "autoconfig.h"

#include <check.h>
#include <event2/event.h>

#include "tunsteerd/loopmeter.h"
#include "testlib.h"

START_TEST(test_lateness_is_the_stall_and_the_window_forgets)
{
	struct loopmeter *m = loopmeter_create(NULL);
	struct loopmeter_stats st;
	uint64_t t = 1000000;

	ck_assert_ptr_nonnull(m);
	loopmeter_note(m, t, t + 3, 0, 0);		/* on time, near enough */
	loopmeter_note(m, t + 10, t + 910, 0, 0);	/* blocked 0.9 s */
	loopmeter_note(m, t + 920, t + 970, 0, 0);	/* 50 ms: counted */
	loopmeter_note(m, t + 980, t + 970, 0, 0);	/* early: 0 */
	loopmeter_stats(m, t + 1000, &st);
	ck_assert_uint_eq(st.max_ms, 900);
	ck_assert_uint_eq(st.recent_ms, 900);
	ck_assert_uint_eq(st.stalls, 2);

	/* A minute and more later, quiet: the window no longer holds the
	 * stall, the since-start maximum does. */
	t += 75000;
	loopmeter_note(m, t, t + 12, 0, 0);
	loopmeter_stats(m, t + 20, &st);
	ck_assert_uint_eq(st.max_ms, 900);
	ck_assert_uint_eq(st.recent_ms, 12);
	ck_assert_uint_eq(st.stalls, 2);
	loopmeter_destroy(m);

	loopmeter_stats(NULL, t, &st);
	ck_assert_uint_eq(st.max_ms, 0);
}
END_TEST

/* A loop whose thread waited for a CPU (others had them all) was late,
 * but not by its own doing: that part is kept apart. */
START_TEST(test_time_spent_waiting_for_a_cpu_is_not_the_loops_own_stall)
{
	struct loopmeter *m = loopmeter_create(NULL);
	struct loopmeter_stats st;
	uint64_t t = 2000000;

	ck_assert_ptr_nonnull(m);
	loopmeter_note(m, t, t + 300, 280, 0);	/* 300 late, 280 runnable */
	loopmeter_note(m, t + 310, t + 380, 0, 0);	/* 70 ms of its own */
	loopmeter_note(m, t + 390, t + 400, 50, 0);	/* waited more than late */
	loopmeter_stats(m, t + 500, &st);
	ck_assert_uint_eq(st.max_ms, 300);
	ck_assert_uint_eq(st.recent_ms, 300);
	ck_assert_uint_eq(st.own_max_ms, 70);
	ck_assert_uint_eq(st.own_recent_ms, 70);
	ck_assert_uint_eq(st.stalls, 2);
	loopmeter_destroy(m);
}
END_TEST

/* Idle (under 10 % of a CPU over a whole idle period, no tick 20 ms late
 * of its own doing): the long period; anything else: the short one. */
START_TEST(test_period_is_long_only_after_a_whole_idle_period)
{
	ck_assert_uint_eq(loopmeter_period(100, 9999, 0), LOOPMETER_IDLE_PERIOD_MS);
	ck_assert_uint_eq(loopmeter_period(100, 0, 19), LOOPMETER_IDLE_PERIOD_MS);
	ck_assert_uint_eq(loopmeter_period(100, 10001, 0), LOOPMETER_PERIOD_MS);
	ck_assert_uint_eq(loopmeter_period(100, 0, 20), LOOPMETER_PERIOD_MS);
	ck_assert_uint_eq(loopmeter_period(99, 0, 0), LOOPMETER_PERIOD_MS);
	ck_assert_uint_eq(loopmeter_period(1000, 90000, 0), LOOPMETER_IDLE_PERIOD_MS);
}
END_TEST

static void
spin_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t until = loopmeter_now_ms() + 6;

	(void)fd, (void)what, (void)arg;
	while (loopmeter_now_ms() < until)
		;
}

/* Run @base until the meter's period is @want, in slices; a bound of
 * 20 s, not a duration, so a loaded machine only makes it slower. */
static void
run_until_period(struct event_base *base, struct loopmeter *m,
		 unsigned int want)
{
	struct timeval slice = { 0, 200000 };
	struct loopmeter_stats st;

	for (int i = 0; i < 100; i++) {
		ck_assert_int_ge(event_base_loopexit(base, &slice), 0);
		ck_assert_int_ge(event_base_dispatch(base), 0);
		loopmeter_stats(m, loopmeter_now_ms(), &st);
		if (st.period_ms == want)
			return;
	}
	ck_abort_msg("period still %u, not %u", st.period_ms, want);
}

/* On a real loop: nothing to do slows the meter down; a loop that spends
 * 6 ms of every 20 working speeds it up again. */
START_TEST(test_idle_loop_slows_the_meter_and_work_speeds_it_up)
{
	struct event_base *base = event_base_new();
	struct loopmeter *m;
	struct event *spin;
	struct timeval every = { 0, 20000 };

	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_nonnull(m = loopmeter_create(base));
	run_until_period(base, m, LOOPMETER_IDLE_PERIOD_MS);
	spin = event_new(base, -1, EV_PERSIST, spin_cb, NULL);
	ck_assert_ptr_nonnull(spin);
	ck_assert_int_eq(event_add(spin, &every), 0);
	run_until_period(base, m, LOOPMETER_PERIOD_MS);
	event_free(spin);
	run_until_period(base, m, LOOPMETER_IDLE_PERIOD_MS);
	loopmeter_destroy(m);
	event_base_free(base);
}
END_TEST

static Suite *
loopmeter_suite(void)
{
	Suite *s = suite_create("loopmeter");
	TCase *tc = tcase_create("arithmetic");

	tcase_add_test(tc, test_lateness_is_the_stall_and_the_window_forgets);
	tcase_add_test(tc, test_time_spent_waiting_for_a_cpu_is_not_the_loops_own_stall);
	tcase_add_test(tc, test_period_is_long_only_after_a_whole_idle_period);
	suite_add_tcase(s, tc);

	tc = tcase_create("on a loop");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_idle_loop_slows_the_meter_and_work_speeds_it_up);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(loopmeter_suite)
