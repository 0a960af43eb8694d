/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's control socket on a real libevent base: a client that
 * connects and says nothing is let go when its time is up (the peer sees
 * EOF), so silent clients cannot pile up open descriptors; and a request
 * is answered ahead of the bulk work (probes, recomputations) however much
 * of it is pending; and `log-level LEVEL` tells the log hook (IKE) of the
 * change, and only then.
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
#include "tunsteerd/loop.h"
#include "lib/ctl_proto.h"
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

/* A control socket on testlib_sock over an engine with a fake kernel. */
struct served {
	struct event_base *base;
	struct kernel_ops *k;
	struct engine *e;
	struct control *c;
};

static struct event_base *
serve(struct served *sv)
{
	sv->base = loop_base_new();
	sv->k = kernel_fake_create();
	sv->e = engine_create(sv->k);
	ck_assert_ptr_nonnull(sv->base);
	ck_assert_ptr_nonnull(sv->e);
	log_init("check_control", true, LOG_LVL_ERR);
	sv->c = control_listen(sv->base, testlib_sock, sv->e, "/nonexistent.conf");
	ck_assert_ptr_nonnull(sv->c);
	return sv->base;
}

static void
unserve(struct served *sv)
{
	control_close(sv->c);
	engine_destroy(sv->e, true);
	sv->k->destroy(sv->k);
	event_base_free(sv->base);
}

START_TEST(test_a_silent_client_is_let_go_after_the_timeout)
{
	struct served sv;
	struct event_base *base = serve(&sv);
	double took;
	int fd;

	fd = connect_to(testlib_sock);
	/* The timeout is 5 s; 8 s is ample, even under sanitizers. */
	took = loop_until_eof(base, fd, 8.0);
	ck_assert_msg(took >= 0, "a silent client still holds its connection");
	ck_assert_msg(took >= 4.0, "let go too early (%.1f s)", took);
	close(fd);
	unserve(&sv);
}
END_TEST

/* Bulk work that never runs out, as 1,000 tunnels changing state: each
 * run stands for a probe callback or a recomputation and is due again at
 * once (in the next pass). */
static unsigned int bulk_runs;
static const struct timeval now_tv = { 0, 0 };

static void
bulk_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (++bulk_runs > 100000)
		event_base_loopbreak(event_get_base(arg));
	else
		evtimer_add(arg, &now_tv);
}

/* The client's side: the reply read so far, and how many bulk runs there
 * had been when it was complete (the server closed). */
struct client {
	struct event_base *base;
	uint8_t reply[4096];
	size_t got;
	int runs_at_reply;
};

static void
client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	ssize_t r = read(fd, cl->reply + cl->got, sizeof(cl->reply) - cl->got);

	(void)what;
	if (r > 0) {
		cl->got += (size_t)r;
		return;
	}
	if (r < 0 && errno == EAGAIN)
		return;
	cl->runs_at_reply = (int)bulk_runs;
	event_base_loopbreak(cl->base);
}

/*
 * `tunsteerctl status` while the loop always has bulk work: on the
 * daemon's base (loop.h) the request is accepted, read, answered and
 * written before any of that work runs.  With every event at one
 * priority, each of those steps waited for a whole pass of it (1,000
 * tunnels changing state kept `status` waiting for seconds).
 */
START_TEST(test_status_is_answered_before_pending_bulk_work)
{
	struct served sv;
	struct event_base *base = serve(&sv);
	struct client cl = { .base = base, .runs_at_reply = -1 };
	char *argv[] = { "status" };
	uint8_t req[64];
	struct event *bulk, *rd;
	int fd, n;

	bulk = evtimer_new(base, bulk_cb, event_self_cbarg());
	ck_assert_ptr_nonnull(bulk);
	loop_bulk(bulk);
	evtimer_add(bulk, &now_tv);
	bulk_runs = 0;

	fd = connect_to(testlib_sock);
	rd = event_new(base, fd, EV_READ | EV_PERSIST, client_cb, &cl);
	ck_assert_ptr_nonnull(rd);
	event_add(rd, NULL);
	n = ctl_request_format(1, argv, req + 4, sizeof(req) - 4);
	ck_assert_int_gt(n, 0);
	ctl_frame_header(req, (uint32_t)n);
	ck_assert_int_eq(write(fd, req, (size_t)n + 4), n + 4);
	event_base_dispatch(base);

	ck_assert_msg(cl.runs_at_reply >= 0, "no reply in %u bulk runs", bulk_runs);
	ck_assert_uint_gt(cl.got, 4);
	ck_assert_uint_eq(ctl_frame_len(cl.reply), cl.got - 4);
	ck_assert_msg(memcmp(cl.reply + 4, "ok\n", 3) == 0, "not ok");
	ck_assert_msg(cl.runs_at_reply == 0, "the reply waited for %d bulk "
		      "callbacks", cl.runs_at_reply);

	event_free(rd);
	close(fd);
	event_free(bulk);
	unserve(&sv);
}
END_TEST

/* Send @argc words of @argv on a new connection to the control socket
 * and run @base until the answer is complete; the answer's text. */
static const char *
ask(struct event_base *base, int argc, char **argv)
{
	static struct client cl;
	uint8_t req[128];
	struct event *rd;
	int fd, n;

	cl = (struct client){ .base = base, .runs_at_reply = -1 };
	fd = connect_to(testlib_sock);
	rd = event_new(base, fd, EV_READ | EV_PERSIST, client_cb, &cl);
	ck_assert_ptr_nonnull(rd);
	event_add(rd, NULL);
	n = ctl_request_format(argc, argv, req + 4, sizeof(req) - 4);
	ck_assert_int_gt(n, 0);
	ctl_frame_header(req, (uint32_t)n);
	ck_assert_int_eq(write(fd, req, (size_t)n + 4), n + 4);
	event_base_dispatch(base);
	event_free(rd);
	close(fd);
	ck_assert_uint_gt(cl.got, 4);
	cl.reply[cl.got < sizeof(cl.reply) ? cl.got : sizeof(cl.reply) - 1] = 0;
	return (const char *)cl.reply + 4;
}

static unsigned int hook_calls;

static void
log_hook(void *arg)
{
	(void)arg;
	hook_calls++;
}

START_TEST(test_setting_the_log_level_tells_the_log_hook)
{
	struct served sv;
	struct event_base *base = serve(&sv);
	struct control *c = sv.c;
	char *set[] = { "log-level", "debug" }, *bad[] = { "log-level", "loud" };

	control_set_log_hook(c, log_hook, NULL);
	hook_calls = 0;
	ck_assert_ptr_nonnull(strstr(ask(base, 1, set), "err"));
	ck_assert_uint_eq(hook_calls, 0);	/* shown, not set */
	ck_assert_ptr_nonnull(strstr(ask(base, 2, bad), "unknown level"));
	ck_assert_uint_eq(hook_calls, 0);
	ck_assert_ptr_nonnull(strstr(ask(base, 2, set), "debug"));
	ck_assert_uint_eq(hook_calls, 1);
	ck_assert_int_eq(log_get_level(), LOG_LVL_DEBUG);
	unserve(&sv);
}
END_TEST

static char rekeyed[32];

/* cf1 has its CHILD SA, cf2 has none, nothing else is an ipsec tunnel. */
static int
rekey_hook(void *arg, const char *tunnel)
{
	(void)arg;
	if (strcmp(tunnel, "cf1") == 0) {
		snprintf(rekeyed, sizeof(rekeyed), "%s", tunnel);
		return 0;
	}
	return strcmp(tunnel, "cf2") == 0 ? -ENOTCONN : -ENOENT;
}

START_TEST(test_rekey_names_the_tunnel_and_says_why_it_cannot)
{
	struct served sv;
	struct event_base *base = serve(&sv);
	struct control *c = sv.c;
	char *ok[] = { "rekey", "cf1" }, *none[] = { "rekey", "cf2" },
	     *unknown[] = { "rekey", "gre9" }, *bare[] = { "rekey" };

	/* No IKE in the daemon: every name is unknown. */
	ck_assert_ptr_nonnull(strstr(ask(base, 2, ok), "error\nrekey: no ipsec tunnel called \"cf1\""));
	control_set_rekey_hook(c, rekey_hook, NULL);
	rekeyed[0] = 0;
	ck_assert_ptr_nonnull(strstr(ask(base, 2, ok), "ok\ncf1: CHILD SA rekey started"));
	ck_assert_str_eq(rekeyed, "cf1");
	ck_assert_ptr_nonnull(strstr(ask(base, 2, none), "error\nrekey: \"cf2\" has no CHILD SA installed"));
	ck_assert_ptr_nonnull(strstr(ask(base, 2, unknown), "error\nrekey: no ipsec tunnel called \"gre9\""));
	ck_assert_ptr_nonnull(strstr(ask(base, 1, bare), "error\nrekey: which tunnel?"));
	unserve(&sv);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("connections");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_silent_client_is_let_go_after_the_timeout);
	tcase_add_test(tc, test_status_is_answered_before_pending_bulk_work);
	tcase_add_test(tc, test_setting_the_log_level_tells_the_log_hook);
	tcase_add_test(tc, test_rekey_names_the_tunnel_and_says_why_it_cannot);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN_SOCKET(control_suite)
