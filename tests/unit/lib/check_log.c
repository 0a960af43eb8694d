/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/log.h"
#include "testlib.h"

START_TEST(level_names_round_trip)
{
	for (enum log_level l = LOG_LVL_ERR; l <= LOG_LVL_DEBUG; l++) {
		enum log_level parsed;

		ck_assert_int_eq(log_level_parse(log_level_name(l), &parsed), 0);
		ck_assert_int_eq(parsed, l);
	}
}
END_TEST

START_TEST(unknown_level_is_rejected_and_output_untouched)
{
	enum log_level parsed = LOG_LVL_NOTICE;

	ck_assert_int_eq(log_level_parse("verbose", &parsed), -EINVAL);
	ck_assert_int_eq(log_level_parse("", &parsed), -EINVAL);
	ck_assert_int_eq(log_level_parse("DEBUG", &parsed), -EINVAL);
	ck_assert_int_eq(parsed, LOG_LVL_NOTICE);
}
END_TEST

START_TEST(set_level_is_observable)
{
	log_init("check_log", true, LOG_LVL_WARN);
	ck_assert_int_eq(log_get_level(), LOG_LVL_WARN);
	log_set_level(LOG_LVL_DEBUG);
	ck_assert_int_eq(log_get_level(), LOG_LVL_DEBUG);
	ck_assert_str_eq(log_level_name((enum log_level)42), "?");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("levels");

	tcase_add_test(tc, level_names_round_trip);
	tcase_add_test(tc, unknown_level_is_rejected_and_output_untouched);
	tcase_add_test(tc, set_level_is_observable);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(log_suite)
