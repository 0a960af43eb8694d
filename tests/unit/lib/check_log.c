/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

START_TEST(warning_is_the_files_name_and_warn_still_understood)
{
	enum log_level parsed = LOG_LVL_DEBUG;

	ck_assert_str_eq(log_level_name(LOG_LVL_WARN), "warning");
	ck_assert_int_eq(log_level_parse("warning", &parsed), 0);
	ck_assert_int_eq(parsed, LOG_LVL_WARN);
	parsed = LOG_LVL_DEBUG;
	ck_assert_int_eq(log_level_parse("warn", &parsed), 0);
	ck_assert_int_eq(parsed, LOG_LVL_WARN);
}
END_TEST

/* Log one warning and one notice to stderr, made a fresh file, with
 * JOURNAL_STREAM naming that file (plus @ino_delta); what was written. */
static char *
log_to_stderr_with_journal_stream(long ino_delta)
{
	char path[] = "/tmp/check_log.XXXXXX", js[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	char *text;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", js, 1);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	log_init("check_log", true, LOG_LVL_INFO);
	log_warnx("t", "one %d", 1);
	log_notice("t", "two");
	log_debug("t", "not shown");
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	text = slurp(path);
	unlink(path);
	return text;
}

START_TEST(journal_stream_lines_carry_their_syslog_priority)
{
	char *text = log_to_stderr_with_journal_stream(0);

	ck_assert_str_eq(text, "<4>check_log: t: one 1\n<5>check_log: t: two\n");
	free(text);
}
END_TEST

/* Inherited from a parent whose stderr was the journal, but ours is not. */
START_TEST(journal_stream_of_another_file_leaves_lines_plain)
{
	char *text = log_to_stderr_with_journal_stream(1);

	ck_assert_str_eq(text, "check_log: t: one 1\ncheck_log: t: two\n");
	free(text);
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
	tcase_add_test(tc, warning_is_the_files_name_and_warn_still_understood);
	tcase_add_test(tc, journal_stream_lines_carry_their_syslog_priority);
	tcase_add_test(tc, journal_stream_of_another_file_leaves_lines_plain);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(log_suite)
