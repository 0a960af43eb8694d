/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src/lib/rawsock's receive time: the kernel's CLOCK_REALTIME stamp of a
 * datagram, on the monotonic clock the checks are timed on.  A stamp
 * from the future (the wall clock stepped back) never makes an answer
 * later than now.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <time.h>

#include "lib/rawsock.h"
#include "testlib.h"

#define S 1000000000ull

START_TEST(test_stamp_becomes_monotonic_time_of_receipt)
{
	struct timespec stamp = { .tv_sec = 1000, .tv_nsec = 250000000 };

	/* Received 750 ms before now (real 1001.0 s; monotonic 50.0 s). */
	ck_assert_uint_eq(rawsock_rx_mono(&stamp, 50 * S, 1001 * S),
			  50 * S - 750000000u);
	/* No stamp: now. */
	ck_assert_uint_eq(rawsock_rx_mono(NULL, 50 * S, 1001 * S), 50 * S);
	stamp.tv_sec = -1;
	ck_assert_uint_eq(rawsock_rx_mono(&stamp, 50 * S, 1001 * S), 50 * S);
	/* A stamp after now (the wall clock stepped back): now, not later. */
	stamp = (struct timespec){ .tv_sec = 2000 };
	ck_assert_uint_eq(rawsock_rx_mono(&stamp, 50 * S, 1001 * S), 50 * S);
	/* Older than the monotonic clock itself: clamped, never wraps. */
	stamp = (struct timespec){ .tv_sec = 10 };
	ck_assert_uint_eq(rawsock_rx_mono(&stamp, 50 * S, 1001 * S), 50 * S);
}
END_TEST

START_TEST(test_now_is_not_before_a_fresh_stamp)
{
	struct timespec real, mono;
	uint64_t m0, rx;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m0 = (uint64_t)mono.tv_sec * S + (uint64_t)mono.tv_nsec;
	rx = rawsock_rx_mono_now(&real);
	/* Stamped just now: between the two monotonic readings. */
	ck_assert_uint_ge(rx + 1000000u, m0);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	ck_assert_uint_le(rx, (uint64_t)mono.tv_sec * S + (uint64_t)mono.tv_nsec);
}
END_TEST

static Suite *
rawsock_suite(void)
{
	Suite *s = suite_create("rawsock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_stamp_becomes_monotonic_time_of_receipt);
	tcase_add_test(tc, test_now_is_not_before_a_fresh_stamp);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(rawsock_suite)
