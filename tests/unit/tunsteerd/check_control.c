/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's control socket on a real libevent base: a client that
 * connects and says nothing is let go when its time is up (the peer sees
 * EOF), so silent clients cannot pile up open descriptors.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "tunsteerd/control.h"
#include "tunsteerd/engine.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "testlib.h"


/* Run @base until @fd reads EOF or @limit_s pass; the seconds it took,
 * or -1 if @fd stayed open. */
static double
loop_until_eof(struct event_base *base, int fd, double limit_s)
{
	double t0 = now_s();
	char c;

	while (now_s() - t0 < limit_s) {
		ssize_t n;

		event_base_loopexit(base, &(struct timeval){ 0, 50000 });
		event_base_dispatch(base);
		n = read(fd, &c, 1);
		if (n == 0)
			return now_s() - t0;
		ck_assert_msg(n < 0 && errno == EAGAIN, "unexpected bytes or error");
	}
	return -1;
}

START_TEST(test_a_silent_client_is_let_go_after_the_timeout)
{
	struct event_base *base = event_base_new();
	struct kernel_ops *k = kernel_fake_create();
	struct engine *e = engine_create(k);
	struct control *c;
	double took;
	int fd;

	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_nonnull(e);
	c = control_listen(base, testlib_sock, e, "/nonexistent.conf");
	ck_assert_ptr_nonnull(c);
	fd = connect_to(testlib_sock);
	/* The timeout is 5 s; 8 s is ample, even under sanitizers. */
	took = loop_until_eof(base, fd, 8.0);
	ck_assert_msg(took >= 0, "a silent client still holds its connection");
	ck_assert_msg(took >= 4.0, "let go too early (%.1f s)", took);
	close(fd);
	control_close(c);
	engine_destroy(e, true);
	k->destroy(k);
	event_base_free(base);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("connections");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_silent_client_is_let_go_after_the_timeout);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN_SOCKET(control_suite)
