/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib's control server on a real libevent base and UNIX socket: who may
 * run what, and how the server defends itself against clients that are
 * silent, slow, empty or too many.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/ctl_server.h"
#include "lib/log.h"
#include "testlib.h"


/* --- the command table ------------------------------------------------------ */

static bool
cmd_show(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	(void)arg;
	(void)req;
	fprintf(out, json ? "{\"shown\":true}\n" : "shown\n");
	return true;
}

static bool
cmd_change(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	(void)arg;
	(void)req;
	(void)json;
	fprintf(out, "changed\n");
	return true;
}

static const struct ctl_command cmds[] = {
	{ "show", cmd_show, "look", CTL_ANYONE },
	{ "reload", cmd_change, "change", CTL_PRIVILEGED },
	{ "log-level", ctl_command_log_level, "[LEVEL]", CTL_PRIVILEGED_TO_SET },
};

/* The program named in "see PROG --help", or NULL. */
static const char *ask_prog;

/* The answer to @argv from a peer with @uid, "ok\n…" or "error\n…". */
static char *
ask(uid_t uid, int argc, char **argv)
{
	uint8_t buf[CTL_MAX_REQUEST];
	struct ctl_request req;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int n = ctl_request_format(argc, argv, buf, sizeof(buf));
	bool ok;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ctl_request_parse(buf, (size_t)n, &req), 0);
	ok = ctl_command_dispatch(cmds, sizeof(cmds) / sizeof(cmds[0]), NULL,
				  &req, uid, ask_prog, out);
	fclose(out);
	{
		char *r = NULL;

		ck_assert_int_ge(asprintf(&r, "%s%s", ok ? "ok\n" : "error\n",
					  text), 0);
		free(text);
		return r;
	}
}

#define ASK(uid, want, ...) do { \
	char *argv_[] = { __VA_ARGS__ }; \
	char *got_ = ask(uid, sizeof(argv_) / sizeof(argv_[0]), argv_); \
	ck_assert_str_eq(got_, want); \
	free(got_); \
} while (0)

/* Not root, not us: a uid no test runs as. */
#define STRANGER ((uid_t)54321)

START_TEST(test_anyone_may_look_only_root_or_the_daemon_may_change)
{
	log_set_level(LOG_LVL_WARN);
	ASK(STRANGER, "ok\nshown\n", "show");
	ASK(STRANGER, "ok\n{\"shown\":true}\n", "show", "--json");
	ASK(STRANGER, "error\nreload: permission denied\n", "reload");
	ASK(STRANGER, "error\nreload: permission denied\n", "reload", "--json");
	ASK(0, "ok\nchanged\n", "reload");
	ASK(geteuid(), "ok\nchanged\n", "reload");
	/* log-level: showing is a view, setting a change */
	ASK(STRANGER, "ok\nwarning\n", "log-level");
	ASK(STRANGER, "ok\n{\"log_level\":\"warning\"}\n", "log-level", "--json");
	ASK(STRANGER, "error\nlog-level: permission denied\n", "log-level", "debug");
	/* the privilege is checked before the level */
	ASK(STRANGER, "error\nlog-level: permission denied\n", "log-level", "loud");
	ASK(0, "error\nlog-level: unknown level 'loud' "
	    "(err, warning, notice, info, debug)\n", "log-level", "loud");
	/* the file's vocabulary, and the old name of warning */
	ASK(0, "ok\nwarning\n", "log-level", "warning");
	ASK(0, "ok\nwarning\n", "log-level", "warn");
	ASK(0, "ok\n{\"log_level\":\"err\"}\n", "log-level", "err", "--json");
	ck_assert_int_eq(log_get_level(), LOG_LVL_ERR);
	ASK(STRANGER, "error\nunknown command 'frobnicate'\n", "frobnicate");
	ask_prog = "prog";
	ASK(STRANGER, "error\nunknown command 'frobnicate' (see prog --help)\n",
	    "frobnicate");
	ask_prog = NULL;
}
END_TEST

/* --- the server on a socket --------------------------------------------------- */

static bool
dispatch(void *arg, const struct ctl_request *req, uid_t uid, FILE *out)
{
	return ctl_command_dispatch(cmds, sizeof(cmds) / sizeof(cmds[0]), arg,
				    req, uid, NULL, out);
}

static void
send_frame(int fd, const void *payload, uint32_t len)
{
	uint8_t hdr[4];

	ctl_frame_header(hdr, len);
	ck_assert_int_eq(send(fd, hdr, 4, MSG_NOSIGNAL), 4);
	if (len)
		ck_assert_int_eq(send(fd, payload, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* What a client has read so far. */
struct rx {
	char buf[512];
	size_t len;
};

/* One slice of the loop, then what @fd has, into @rx.  Returns 1 on EOF,
 * 0 otherwise. */
static int
run_slice(struct event_base *base, int fd, struct rx *rx)
{
	ssize_t n;

	event_base_loopexit(base, &(struct timeval){ 0, 20000 });
	event_base_dispatch(base);
	while ((n = read(fd, rx->buf + rx->len, sizeof(rx->buf) - 1 - rx->len)) > 0) {
		rx->len += (size_t)n;
		rx->buf[rx->len] = '\0';
	}
	if (n == 0)
		return 1;
	ck_assert_msg(errno == EAGAIN || errno == ECONNRESET, "read: %s",
		      strerror(errno));
	return errno == ECONNRESET;
}

/* The reply's payload after its 4-byte header; "" if none yet. */
static const char *
payload(const struct rx *rx)
{
	return rx->len >= 4 ? rx->buf + 4 : "";
}

/* --- a test's server ------------------------------------------------------------ */

static struct event_base *base;
static struct ctl_server *srv;

static void
server_up(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv = ctl_server_listen(base, testlib_sock, dispatch, NULL);
	ck_assert_ptr_nonnull(srv);
}

static void
server_down(void)
{
	ctl_server_close(srv);
	event_base_free(base);
}

START_TEST(test_a_request_is_answered_over_the_socket)
{
	struct rx rx = { .len = 0 };
	int fd, eof = 0;

	server_up();
	fd = connect_to(testlib_sock);
	send_frame(fd, "show\n", 5);
	for (double t0 = now_s(); !eof && now_s() - t0 < 3;)
		eof = run_slice(base, fd, &rx);
	ck_assert_int_eq(eof, 1);
	ck_assert_str_eq(payload(&rx), "ok\nshown\n");
	close(fd);
	server_down();
}
END_TEST

/* A frame of length 0 is an empty request, not one too large. */
START_TEST(test_a_zero_length_frame_is_an_empty_request)
{
	struct rx rx = { .len = 0 };
	int fd, eof = 0;

	server_up();
	fd = connect_to(testlib_sock);
	send_frame(fd, NULL, 0);
	for (double t0 = now_s(); !eof && now_s() - t0 < 3;)
		eof = run_slice(base, fd, &rx);
	ck_assert_int_eq(eof, 1);
	ck_assert_str_eq(payload(&rx), "error\nempty request\n");
	close(fd);
	server_down();
}
END_TEST

/*
 * A client that sends its request one byte a second never lets an idle
 * timeout fire; the request as a whole must still arrive within the
 * server's deadline (5 s from accept), or the connection goes.
 */
START_TEST(test_a_trickling_client_is_let_go_at_the_request_deadline)
{
	static const char req[] = "\0\0\0\x05show\n";	/* 9 bytes: 9 s */
	struct rx rx = { .len = 0 };
	double t0 = now_s(), next = t0, took = -1;
	size_t sent = 0;
	int fd;

	server_up();
	fd = connect_to(testlib_sock);
	while (now_s() - t0 < 12) {
		if (sent < sizeof(req) - 1 && now_s() >= next) {
			if (send(fd, req + sent, 1, MSG_NOSIGNAL) == 1)
				sent++;
			next += 1.0;
		}
		if (run_slice(base, fd, &rx)) {
			took = now_s() - t0;
			break;
		}
	}
	ck_assert_msg(took >= 0, "still connected after 12 s (%zu bytes sent, "
		      "reply '%s')", sent, payload(&rx));
	ck_assert_msg(sent < sizeof(req) - 1, "the whole request was sent");
	ck_assert_msg(took >= 4.5 && took < 7, "let go after %.1f s", took);
	ck_assert_uint_eq(rx.len, 0);
	close(fd);
	server_down();
}
END_TEST

static int libevent_warnings;

static void
count_libevent_log_cb(int severity, const char *msg)
{
	(void)msg;
	if (severity >= EVENT_LOG_WARN)
		libevent_warnings++;
}

/*
 * Out of descriptors, accept() fails with EMFILE while the connection
 * stays queued: a listener that keeps trying spins the loop (and floods
 * the log).  The server must pause, then serve the client once a
 * descriptor is free.  Check runs each test in a child of its own, so
 * the lowered limit stays here.
 */
START_TEST(test_at_the_descriptor_limit_the_server_pauses_then_resumes)
{
	struct rlimit rl = { .rlim_cur = 64, .rlim_max = 64 };
	struct rx rx = { .len = 0 };
	int fd, fill[64], nfill = 0, loops = 0, eof = 0;
	double t0;

	event_set_log_callback(count_libevent_log_cb);
	server_up();
	fd = connect_to(testlib_sock);
	send_frame(fd, "show\n", 5);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (nfill < 64 && (fill[nfill] = dup(fd)) >= 0)
		nfill++;
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_gt(nfill, 0);

	/* Half a second of loop: a listener that retries accept() makes
	 * each pass return at once; a paused one sleeps. */
	for (t0 = now_s(); now_s() - t0 < 0.5; loops++) {
		event_base_loopexit(base, &(struct timeval){ 0, 100000 });
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_msg(loops < 20, "%d passes of the loop in 0.5 s, %d libevent "
		      "warnings: the listener spins", loops, libevent_warnings);
	ck_assert_uint_eq(rx.len, 0);

	/* One descriptor free: the queued client is served. */
	close(fill[--nfill]);
	for (t0 = now_s(); !eof && now_s() - t0 < 4;)
		eof = run_slice(base, fd, &rx);
	ck_assert_int_eq(eof, 1);
	ck_assert_str_eq(payload(&rx), "ok\nshown\n");
	while (nfill > 0)
		close(fill[--nfill]);
	close(fd);
	server_down();
	event_set_log_callback(NULL);
}
END_TEST

/* --- one instance, and only a stale socket replaced ---------------------------------- */

/* A second server on the same socket is refused while the first runs,
 * and the first still answers; once it is gone, the next one starts. */
START_TEST(test_a_second_instance_on_the_socket_is_refused_and_the_first_keeps_it)
{
	struct ctl_server *second;
	struct rx rx = { .len = 0 };
	int fd, eof = 0;

	server_up();
	second = ctl_server_listen(base, testlib_sock, dispatch, NULL);
	ck_assert_ptr_null(second);
	fd = connect_to(testlib_sock);
	send_frame(fd, "show\n", 5);
	for (double t0 = now_s(); !eof && now_s() - t0 < 3;)
		eof = run_slice(base, fd, &rx);
	ck_assert_int_eq(eof, 1);
	ck_assert_str_eq(payload(&rx), "ok\nshown\n");
	close(fd);
	server_down();
	server_up();
	server_down();
}
END_TEST

/* Whatever sits at the socket path that is not a stale socket is left
 * alone and refused: a regular file, a live socket of someone else's. */
START_TEST(test_only_a_stale_socket_is_replaced)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	fd = open(testlib_sock, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	base = event_base_new();
	ck_assert_ptr_null(ctl_server_listen(base, testlib_sock, dispatch, NULL));
	ck_assert_int_eq(lstat(testlib_sock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(testlib_sock);

	/* Someone else listening there. */
	strcpy(sun.sun_path, testlib_sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_ptr_null(ctl_server_listen(base, testlib_sock, dispatch, NULL));
	/* Gone, its socket file left behind: stale, replaced. */
	close(fd);
	srv = ctl_server_listen(base, testlib_sock, dispatch, NULL);
	ck_assert_ptr_nonnull(srv);
	server_down();
}
END_TEST

/* A run directory others may write to is refused. */
START_TEST(test_a_run_directory_others_may_write_is_refused)
{
	ck_assert_int_eq(chmod(testlib_dir, 0777), 0);
	base = event_base_new();
	srv = ctl_server_listen(base, testlib_sock, dispatch, NULL);
	ck_assert_int_eq(chmod(testlib_dir, 0700), 0);
	ck_assert_ptr_null(srv);
	event_base_free(base);
}
END_TEST

/* --- more tests ------------------------------------------------------------------ */

static Suite *
ctl_server_suite(void)
{
	Suite *s = suite_create("ctl_server");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_anyone_may_look_only_root_or_the_daemon_may_change);
	tcase_add_test(tc, test_a_request_is_answered_over_the_socket);
	tcase_add_test(tc, test_a_zero_length_frame_is_an_empty_request);
	tcase_add_test(tc, test_a_trickling_client_is_let_go_at_the_request_deadline);
	tcase_add_test(tc, test_at_the_descriptor_limit_the_server_pauses_then_resumes);
	tcase_add_test(tc, test_a_second_instance_on_the_socket_is_refused_and_the_first_keeps_it);
	tcase_add_test(tc, test_only_a_stale_socket_is_replaced);
	tcase_add_test(tc, test_a_run_directory_others_may_write_is_refused);
	/* more tests */
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN_SOCKET(ctl_server_suite)
