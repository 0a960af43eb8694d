/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel audit (lib/audit.h): its dumps run on a thread of their own,
 * the result reaches the caller on the loop thread with the generation it
 * was started with, one runs at a time, and destroying a running one
 * waits for it and leaks nothing.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "testlib.h"

static struct event_base *base;
static struct kernel_ops *k;
static pthread_t loop_thread;

struct result {
	int calls, err;
	unsigned long gen;
	size_t links;
	unsigned int drift;
	char first[256];
	bool on_loop_thread;
	struct event_base *base;
};

static void
done_cb(const struct audit_result *res, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->err = res->err;
	r->gen = res->gen;
	r->links = res->observed->n_links;
	r->drift = res->drift;
	snprintf(r->first, sizeof(r->first), "%s", res->first ? res->first : "");
	r->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
	event_base_loopbreak(r->base);
}

/* Two links of ours and one that is not in the fake kernel. */
static void
setup(void)
{
	struct kernel_link l = { .kind = KERNEL_LINK_GRE, .ttl = 64,
				 .mtu = 1476, .up = true };

	log_init("check_audit", true, LOG_LVL_ERR);
	loop_thread = pthread_self();
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(k = kernel_fake_create());
	for (int i = 0; i < 3; i++) {
		snprintf(l.name, sizeof(l.name), "cf%d", i);
		snprintf(l.alias, sizeof(l.alias), "%s%s",
			 i < 2 ? KERNEL_LINK_ALIAS_PREFIX : "", l.name);
		ck_assert_int_eq(kernel_fake_inject_link(k, &l), 0);
	}
}

static void
teardown(void)
{
	event_base_free(base);
}

/* Run the loop until the result came, with a bound so a lost wake-up
 * fails the test instead of hanging it. */
static void
wait_result(struct result *r)
{
	struct timeval bound = { 10, 0 };

	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	ck_assert_int_eq(r->calls, 1);
}

START_TEST(test_result_reaches_the_loop_thread_with_our_links_and_its_generation)
{
	struct result r = { .base = base };
	struct audit *a = audit_create(base, k, &kernel_marks_tunsteerd,
				       done_cb, &r);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_start(a, 42, NULL), 0);
	ck_assert(audit_running(a));
	wait_result(&r);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.gen, 42);
	ck_assert_uint_eq(r.links, 2);
	ck_assert_uint_eq(r.drift, AUDIT_DRIFT_UNKNOWN);	/* nothing to compare */
	ck_assert(r.on_loop_thread);
	ck_assert(!audit_running(a));
	audit_destroy(a);
}
END_TEST

START_TEST(test_a_second_start_is_refused_until_the_first_result_is_taken)
{
	struct result r = { .base = base };
	struct audit *a = audit_create(base, k, &kernel_marks_tunsteerd,
				       done_cb, &r);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_start(a, 1, NULL), 0);
	/* However soon the thread ends, its result is the loop's to take. */
	ck_assert_int_eq(audit_start(a, 2, NULL), -EBUSY);
	wait_result(&r);
	ck_assert_uint_eq(r.gen, 1);
	ck_assert_int_eq(audit_start(a, 3, NULL), 0);
	r.calls = 0;
	wait_result(&r);
	ck_assert_uint_eq(r.gen, 3);
	audit_destroy(a);
}
END_TEST

/* What the fake kernel holds of ours now, as a desired state. */
static struct kernel_state *
want_of_k(void)
{
	struct kernel_state *ks = malloc(sizeof(*ks));

	ck_assert_ptr_nonnull(ks);
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, ks), 0);
	return ks;
}

/* Given what the owner wants, the thread compares: the loop gets how
 * many objects differ and the first, and does not compare itself. */
START_TEST(test_the_audits_thread_compares_with_what_the_owner_wants)
{
	struct result r = { .base = base };
	struct audit *a = audit_create(base, k, &kernel_marks_tunsteerd,
				       done_cb, &r);
	struct kernel_state *want = want_of_k();
	struct kernel_link gone = want->links[0];

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_start(a, 5, want), 0);
	wait_result(&r);
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(r.drift, 0);
	ck_assert_str_eq(r.first, "");

	/* One of our links deleted behind our back. */
	ck_assert_int_eq(k->link_del(k, gone.name), 0);
	r.calls = 0;
	ck_assert_int_eq(audit_start(a, 6, want_of_k()), 0);
	wait_result(&r);
	ck_assert_uint_eq(r.drift, 0);	/* wanted as it is now */
	want = want_of_k();
	ck_assert_int_eq(kernel_state_add_link(want, &gone), 0);
	r.calls = 0;
	ck_assert_int_eq(audit_start(a, 7, want), 0);
	wait_result(&r);
	ck_assert_uint_eq(r.links, 1);
	ck_assert_uint_eq(r.drift, 1);
	ck_assert_msg(strstr(r.first, gone.name) != NULL, "%s", r.first);
	audit_destroy(a);
}
END_TEST

/* Under LSan: the thread's state and the reader are all freed. */
START_TEST(test_destroy_while_running_waits_for_the_thread_and_drops_the_result)
{
	struct result r = { .base = base };
	struct audit *a = audit_create(base, k, &kernel_marks_tunsteerd,
				       done_cb, &r);

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_start(a, 7, want_of_k()), 0);
	audit_destroy(a);
	ck_assert_int_eq(r.calls, 0);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_result_reaches_the_loop_thread_with_our_links_and_its_generation);
	tcase_add_test(tc, test_a_second_start_is_refused_until_the_first_result_is_taken);
	tcase_add_test(tc, test_destroy_while_running_waits_for_the_thread_and_drops_the_result);
	tcase_add_test(tc, test_the_audits_thread_compares_with_what_the_owner_wants);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(audit_suite)
