/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The conntrack flusher (lib/ctflush.h): flushes run on its thread, with
 * its own backend, a mark queued twice while waiting is flushed once, a
 * failure is counted apart, the report reaches the loop thread, and a
 * flusher destroyed with work queued stops and leaks nothing.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <string.h>

#include "lib/ctflush.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "testlib.h"

static struct event_base *base;
static struct kernel_ops *k;
static pthread_t loop_thread;

struct report {
	unsigned int ok, failed, calls;
	bool on_loop_thread;
};

static void
done_cb(unsigned int ok, unsigned int failed, double ms, void *arg)
{
	struct report *r = arg;

	(void)ms;
	r->ok += ok;
	r->failed += failed;
	r->calls++;
	r->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
}

static void
setup(void)
{
	log_init("check_ctflush", true, LOG_LVL_ERR);
	loop_thread = pthread_self();
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(k = kernel_fake_create());
}

static void
teardown(void)
{
	event_base_free(base);
}

/* Run the loop until @want flushes were reported (bounded). */
static void
wait_for(struct ctflush *f, struct report *r, unsigned int want)
{
	for (int i = 0; i < 1000 && r->ok + r->failed < want; i++) {
		struct timeval tick = { 0, 10000 };

		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	ck_assert_uint_eq(r->ok + r->failed, want);
	ck_assert_uint_eq(ctflush_pending(f), 0);
}

START_TEST(test_flushes_run_off_the_loop_and_are_reported_on_it)
{
	struct report r = { 0 };
	struct ctflush *f = ctflush_create(base, k, done_cb, &r);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ctflush_queue(f, 0x12340000, 0xffff0000), 0);
	ck_assert_int_eq(ctflush_queue(f, 0x12350000, 0xffff0000), 0);
	wait_for(f, &r, 2);
	ck_assert_uint_eq(r.ok, 2);
	ck_assert(r.on_loop_thread);
	/* The loop has the report: the thread is idle, the fake is ours. */
	ck_assert_uint_eq(lines_starting(kernel_fake_ops_log(k),
					 "conntrack flush mark 0x123"), 2);
	ctflush_destroy(f);
}
END_TEST

START_TEST(test_a_failed_flush_is_counted_apart)
{
	struct report r = { 0 };
	struct ctflush *f;

	kernel_fake_fail_next(k, -EBUSY);
	f = ctflush_create(base, k, done_cb, &r);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ctflush_queue(f, 0x12340000, 0xffff0000), 0);
	wait_for(f, &r, 1);
	ck_assert_uint_eq(r.failed, 1);
	ck_assert_uint_eq(r.ok, 0);
	ctflush_destroy(f);
}
END_TEST

/* Under LSan: queued work is dropped with its memory, the backend goes
 * with the flusher. */
START_TEST(test_destroy_with_work_queued_stops_and_frees_everything)
{
	struct report r = { 0 };
	struct ctflush *f = ctflush_create(base, k, done_cb, &r);

	ck_assert_ptr_nonnull(f);
	for (uint32_t m = 1; m <= 100; m++)
		ck_assert_int_eq(ctflush_queue(f, m << 16, 0xffff0000), 0);
	ctflush_destroy(f);
	ck_assert_uint_eq(r.calls, 0);
}
END_TEST

static Suite *
ctflush_suite(void)
{
	Suite *s = suite_create("ctflush");
	TCase *tc = tcase_create("ctflush");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_flushes_run_off_the_loop_and_are_reported_on_it);
	tcase_add_test(tc, test_a_failed_flush_is_counted_apart);
	tcase_add_test(tc, test_destroy_with_work_queued_stops_and_frees_everything);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ctflush_suite)
