/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control client of tunsteerctl and tunsteer-edge against a wedged
 * server: one that accepts and never answers, and one whose queue is
 * full so connect() itself waits.  The client must give up after its
 * timeout with a clear message and exit status 3, never hang.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/ctl_proto.h"
#include "testlib.h"

#define TUNSTEERCTL TOP_BUILDDIR "/src/tunsteerctl/tunsteerctl"
#define EDGE TOP_BUILDDIR "/src/edge/tunsteer-edge"


/* A server that listens on @testlib_sock with @backlog and never answers. */
static int
mute_server(int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sun.sun_path, testlib_sock);
	unlink(testlib_sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

/* Fill @testlib_sock's queue until connect() would wait. */
static void
fill_queue(int *fds, size_t max)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = 0;

	strcpy(sun.sun_path, testlib_sock);
	for (; n < max; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fds[n], 0);
		if (connect(fds[n], (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			ck_assert_int_eq(errno, EAGAIN);
			return;
		}
	}
	ck_abort_msg("the queue never filled");
}

struct run {
	int status;		/* exit status, or -1 if killed */
	double took;		/* seconds */
	char err[1024];		/* its stderr */
};

/*
 * Run @argv; while it runs, accept (and hold, unanswered) connections on
 * @lfd if @accept_them.  Killed after @limit_s.
 */
static void
run_client(char *const argv[], int lfd, bool accept_them, double limit_s,
	   struct run *r)
{
	int pipefd[2], held[16], nheld = 0, st;
	size_t len = 0;
	double t0 = now_s();
	pid_t pid;

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	memset(r, 0, sizeof(*r));
	for (;;) {
		ssize_t n;

		if (accept_them && nheld < 16) {
			int fd = accept(lfd, NULL, NULL);

			if (fd >= 0)
				held[nheld++] = fd;
		}
		while ((n = read(pipefd[0], r->err + len,
				 sizeof(r->err) - 1 - len)) > 0)
			len += (size_t)n;
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (now_s() - t0 > limit_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	r->took = now_s() - t0;
	while (len < sizeof(r->err) - 1) {
		ssize_t n = read(pipefd[0], r->err + len, sizeof(r->err) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	r->err[len] = '\0';
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	close(pipefd[0]);
	while (nheld > 0)
		close(held[--nheld]);
}

static void
assert_gave_up(const struct run *r, const char *prog, const char *server,
	       int secs)
{
	char want[512];

	snprintf(want, sizeof(want), "%s: no answer from %s on %s within %d s\n",
		 prog, server, testlib_sock, secs);
	ck_assert_msg(r->status == 3, "exit status %d after %.1f s, stderr '%s'",
		      r->status, r->took, r->err);
	ck_assert_str_eq(r->err, want);
	ck_assert_msg(r->took >= secs - 0.2 && r->took < secs + 3,
		      "gave up after %.1f s", r->took);
}

START_TEST(test_tunsteerctl_gives_up_on_a_server_that_never_answers)
{
	char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "-t", "1", "status", NULL };
	int lfd = mute_server(16);
	struct run r;

	run_client(argv, lfd, true, 8, &r);
	assert_gave_up(&r, "tunsteerctl", "tunsteerd", 1);
	close(lfd);
}
END_TEST

START_TEST(test_tunsteerctl_gives_up_when_connect_waits_on_a_full_queue)
{
	char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "--timeout", "1", "--json",
			 "tunnels", NULL };
	int lfd = mute_server(0), fds[64];
	struct run r;

	fill_queue(fds, 64);
	run_client(argv, lfd, false, 8, &r);
	assert_gave_up(&r, "tunsteerctl", "tunsteerd", 1);
	close(lfd);
}
END_TEST

START_TEST(test_tunsteerctl_waits_10_s_by_default)
{
	char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "status", NULL };
	int lfd = mute_server(16);
	struct run r;

	run_client(argv, lfd, true, 20, &r);
	assert_gave_up(&r, "tunsteerctl", "tunsteerd", 10);
	close(lfd);
}
END_TEST

START_TEST(test_tunsteer_edge_client_gives_up_on_a_server_that_never_answers)
{
	char *argv[] = { EDGE, "-S", testlib_sock, "-t", "1", "status", NULL };
	int lfd = mute_server(16);
	struct run r;

	run_client(argv, lfd, true, 8, &r);
	assert_gave_up(&r, "tunsteer-edge", "tunsteer-edge", 1);
	close(lfd);
}
END_TEST

START_TEST(test_a_bad_timeout_is_a_usage_error)
{
	char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "-t", "soon", "status", NULL };
	int lfd = mute_server(16);
	struct run r;

	run_client(argv, lfd, true, 8, &r);
	ck_assert_int_eq(r.status, 2);
	close(lfd);
}
END_TEST

START_TEST(test_tunsteerctl_check_is_3_when_the_daemon_is_silent_or_gone)
{
	char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "-t", "1", "check", NULL };
	char *gone[] = { TUNSTEERCTL, "-S", "/nonexistent/tunsteerd.sock", "check",
			 NULL };
	int lfd = mute_server(16);
	struct run r;

	run_client(argv, lfd, true, 8, &r);
	assert_gave_up(&r, "tunsteerctl", "tunsteerd", 1);
	close(lfd);
	run_client(gone, -1, false, 8, &r);
	ck_assert_msg(r.status == 3, "exit %d: %s", r.status, r.err);
}
END_TEST

/* A server answering one request with @reply ("ok\n…" or "error\n…"),
 * in a child; its pid. */
static pid_t
canned_server(int lfd, const char *reply)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint8_t hdr[4], req[CTL_MAX_REQUEST];
		int fd;

		fcntl(lfd, F_SETFL, 0);
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    read(fd, hdr, 4) != 4 ||
		    ctl_frame_len(hdr) > sizeof(req) ||
		    read(fd, req, ctl_frame_len(hdr)) < 0)
			_exit(1);
		ctl_frame_header(hdr, (uint32_t)strlen(reply));
		if (write(fd, hdr, 4) != 4 ||
		    write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
			_exit(1);
		close(fd);
		_exit(0);
	}
	return pid;
}

START_TEST(test_tunsteerctl_check_exits_with_the_daemons_verdict)
{
	static const struct { const char *reply; int status; bool json; } cases[] = {
		{ "ok\ncheck: up\npolicy office: up (1 up, 0 degraded, 0 down)\n", 0, false },
		{ "ok\ncheck: degraded\n", 1, false },
		{ "ok\ncheck: down\n", 2, false },
		{ "ok\n{\"check\":\"degraded\",\"policies\":[]}\n", 1, true },
		{ "ok\n{\"check\":\"down\",\"policies\":[]}\n", 2, true },
		{ "ok\ncheck: upside\n", 3, false },
		{ "ok\nsomething else\n", 3, false },
		{ "error\ncheck: no egress policy called \"x\"\n", 3, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { TUNSTEERCTL, "-S", testlib_sock,
				 cases[i].json ? "--json" : "-t", cases[i].json ? "check" : "5",
				 cases[i].json ? NULL : "check", NULL };
		int lfd = mute_server(16), st;
		pid_t srv = canned_server(lfd, cases[i].reply);
		struct run r;

		run_client(argv, -1, false, 8, &r);
		ck_assert_int_eq(waitpid(srv, &st, 0), srv);
		ck_assert_msg(r.status == cases[i].status, "%s: exit %d, not %d (%s)",
			      cases[i].reply, r.status, cases[i].status, r.err);
		close(lfd);
	}
	{
		char *argv[] = { TUNSTEERCTL, "-S", testlib_sock, "check", "a", "b",
				 NULL };
		struct run r;

		run_client(argv, -1, false, 8, &r);
		ck_assert_int_eq(r.status, 3);
	}
}
END_TEST

static Suite *
ctl_client_suite(void)
{
	Suite *s = suite_create("ctl_client");
	TCase *tc = tcase_create("timeout");

	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, test_tunsteerctl_gives_up_on_a_server_that_never_answers);
	tcase_add_test(tc, test_tunsteerctl_gives_up_when_connect_waits_on_a_full_queue);
	tcase_add_test(tc, test_tunsteerctl_waits_10_s_by_default);
	tcase_add_test(tc, test_tunsteer_edge_client_gives_up_on_a_server_that_never_answers);
	tcase_add_test(tc, test_a_bad_timeout_is_a_usage_error);
	tcase_add_test(tc, test_tunsteerctl_check_is_3_when_the_daemon_is_silent_or_gone);
	tcase_add_test(tc, test_tunsteerctl_check_exits_with_the_daemons_verdict);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN_SOCKET(ctl_client_suite)
