/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ids that follow names (lib/ifid.h), which tunsteerd's and
 * tunsteer-edge's XFRM if_ids are: the set of names alone decides them,
 * collisions included, within the range given.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "lib/ifid.h"
#include "testlib.h"

START_TEST(test_ids_follow_names_not_order)
{
	const char *a[] = { "cf1", NULL, "cf2", "office-b" };
	const char *b[] = { "office-b", "cf2", "cf1" };
	uint32_t ia[4], ib[3];

	ck_assert_int_eq(ifid_assign(a, 4, 0x74650001u, 0x7465ffffu, ia), 0);
	ck_assert_int_eq(ifid_assign(b, 3, 0x74650001u, 0x7465ffffu, ib), 0);
	ck_assert_uint_eq(ia[1], 0);
	ck_assert_uint_eq(ia[0], ib[2]);
	ck_assert_uint_eq(ia[2], ib[1]);
	ck_assert_uint_eq(ia[3], ib[0]);
	for (int i = 0; i < 4; i++)
		if (i != 1)
			ck_assert(ia[i] >= 0x74650001u && ia[i] <= 0x7465ffffu);
	ck_assert_uint_eq(ia[0], 0x74650001u + ifid_name_hash("cf1") % 0xffff);
}
END_TEST

START_TEST(test_a_full_range_settles_collisions_the_same_way_each_time)
{
	/* Four names in four ids: every one collides with some other. */
	const char *a[] = { "a", "b", "c", "d" };
	const char *b[] = { "d", "c", "b", "a" };
	uint32_t ia[4], ib[4], seen = 0;

	ck_assert_int_eq(ifid_assign(a, 4, 10, 13, ia), 0);
	ck_assert_int_eq(ifid_assign(b, 4, 10, 13, ib), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert(ia[i] >= 10 && ia[i] <= 13);
		ck_assert_uint_eq(ia[i], ib[3 - i]);
		seen |= 1u << (ia[i] - 10);
	}
	ck_assert_uint_eq(seen, 0xf);
}
END_TEST

START_TEST(test_too_many_names_or_a_bad_range_are_refused)
{
	const char *a[] = { "a", "b", "c" };
	uint32_t ids[3];

	ck_assert_int_eq(ifid_assign(a, 3, 10, 11, ids), -E2BIG);
	ck_assert_int_eq(ifid_assign(a, 3, 12, 11, ids), -EINVAL);
	ck_assert_int_eq(ifid_assign(a, 3, 0, 11, ids), -EINVAL);
	ck_assert_int_eq(ifid_assign(a, 0, 10, 11, ids), 0);
}
END_TEST

static Suite *
ifid_suite(void)
{
	Suite *s = suite_create("ifid");
	TCase *tc = tcase_create("assign");

	tcase_add_test(tc, test_ids_follow_names_not_order);
	tcase_add_test(tc, test_a_full_range_settles_collisions_the_same_way_each_time);
	tcase_add_test(tc, test_too_many_names_or_a_bad_range_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ifid_suite)
