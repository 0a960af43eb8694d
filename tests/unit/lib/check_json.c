/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON writer: the views are contracts, so what json_str writes for
 * each kind of byte is pinned here.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>

#include "lib/json.h"
#include "testlib.h"

static char *
str(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	json_str(f, s);
	fclose(f);
	return buf;
}

START_TEST(test_plain_names_are_quoted_as_they_are)
{
	char *s = str("cf1-a.b_2");

	ck_assert_str_eq(s, "\"cf1-a.b_2\"");
	free(s);
}
END_TEST

START_TEST(test_quote_backslash_and_control_bytes_are_escaped)
{
	char *s = str("/etc/a\"b\\c\n\t\x1f");

	ck_assert_str_eq(s, "\"/etc/a\\\"b\\\\c\\u000a\\u0009\\u001f\"");
	free(s);
}
END_TEST

START_TEST(test_utf8_and_del_pass_through_empty_is_two_quotes)
{
	char *s = str("\xc3\xa9\x7f");
	char *e = str("");

	ck_assert_str_eq(s, "\"\xc3\xa9\x7f\"");
	ck_assert_str_eq(e, "\"\"");
	free(s);
	free(e);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("str");

	tcase_add_test(tc, test_plain_names_are_quoted_as_they_are);
	tcase_add_test(tc, test_quote_backslash_and_control_bytes_are_escaped);
	tcase_add_test(tc, test_utf8_and_del_pass_through_empty_is_two_quotes);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(json_suite)
