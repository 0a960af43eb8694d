/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loop meter's arithmetic: how late its timer fired is the stall,
 * the longest is kept since start and over the last window, and long
 * ones are counted.
 */
#include "autoconfig.h"

#include <check.h>

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

static Suite *
loopmeter_suite(void)
{
	Suite *s = suite_create("loopmeter");
	TCase *tc = tcase_create("arithmetic");

	tcase_add_test(tc, test_lateness_is_the_stall_and_the_window_forgets);
	tcase_add_test(tc, test_time_spent_waiting_for_a_cpu_is_not_the_loops_own_stall);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(loopmeter_suite)
