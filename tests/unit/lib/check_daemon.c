/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What both daemons set up through src/lib/daemon: a write to a peer that
 * has gone fails with EPIPE instead of ending the process (tunsteer-edge
 * used not to ignore SIGPIPE), the watched signals reach the callback,
 * and the run directory is made with its parents.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/daemon.h"
#include "lib/log.h"
#include "testlib.h"

static int got;

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	got = (int)sig;
	event_base_loopexit(arg, NULL);
}

START_TEST(test_write_to_a_gone_peer_fails_with_epipe_not_sigpipe)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct event_base *base = event_base_new();
		struct daemon_signals *s;
		int sv[2];
		ssize_t n;

		/* What the daemon inherits: SIGPIPE's default action. */
		signal(SIGPIPE, SIG_DFL);
		s = daemon_signals_watch(base, signal_cb, base);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			_exit(3);
		close(sv[1]);
		n = write(sv[0], "answer", 6);
		daemon_signals_free(s);
		event_base_free(base);
		_exit(n == -1 && errno == EPIPE ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFSIGNALED(status), "killed by signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_sighup_reaches_the_callback_on_the_loop)
{
	struct event_base *base = event_base_new();
	struct daemon_signals *s = daemon_signals_watch(base, signal_cb, base);

	got = 0;
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_int_eq(got, SIGHUP);
	daemon_signals_free(s);
	event_base_free(base);
}
END_TEST

START_TEST(test_rundir_is_made_with_its_parents)
{
	char top[] = "/tmp/check_daemon.XXXXXX", sock[128], dir[128];
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(sock, sizeof(sock), "%s/a/b/ctl.sock", top);
	daemon_make_rundir(sock);
	snprintf(dir, sizeof(dir), "%s/a/b", top);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0755 & ~umask(022));
	/* Again: it is there already, nothing to say. */
	daemon_make_rundir(sock);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a", top);
	rmdir(dir);
	rmdir(top);
}
END_TEST

/* A field of /proc/self/status as a hex mask, or ~0 if missing. */
static unsigned long long
status_mask(const char *field)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long v = ~0ull;
	size_t n = strlen(field);

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	fclose(f);
	return v;
}

/* In a child: what the daemons do after start-up.  As root, every set
 * ends as DAEMON_CAPS (or what we had of it); not root, nothing to check
 * but that the process is no longer dumpable. */
START_TEST(test_restrict_keeps_only_the_daemons_capabilities_and_is_not_dumpable)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		unsigned long long had = status_mask("CapPrm");
		unsigned long long want = DAEMON_CAPS & had;

		unsetenv("TUNSTEER_ALLOW_CORE");
		if (prctl(PR_GET_DUMPABLE) != 1)
			_exit(2);
		if (daemon_restrict(DAEMON_CAPS) != 0 && geteuid() == 0)
			_exit(3);
		if (prctl(PR_GET_DUMPABLE) != 0)
			_exit(4);
		if (status_mask("CapEff") != want || status_mask("CapPrm") != want ||
		    status_mask("CapInh") != 0 || status_mask("CapAmb") != 0)
			_exit(5);
		if (geteuid() == 0 && status_mask("CapBnd") != want)
			_exit(6);
		/* Gone for good: asking for more back fails. */
		if (geteuid() == 0 && setuid(12345) == 0 && getuid() == 12345 &&
		    (had & (1ull << 7)))	/* CAP_SETUID was dropped */
			_exit(7);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "child failed at step %d",
		      WEXITSTATUS(status));
}
END_TEST

START_TEST(test_restrict_stays_dumpable_when_asked)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("TUNSTEER_ALLOW_CORE", "1", 1);
		(void)daemon_restrict(DAEMON_CAPS);
		_exit(prctl(PR_GET_DUMPABLE) == 1 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("setup");

	tcase_add_test(tc, test_write_to_a_gone_peer_fails_with_epipe_not_sigpipe);
	tcase_add_test(tc, test_sighup_reaches_the_callback_on_the_loop);
	tcase_add_test(tc, test_rundir_is_made_with_its_parents);
	tcase_add_test(tc, test_restrict_keeps_only_the_daemons_capabilities_and_is_not_dumpable);
	tcase_add_test(tc, test_restrict_stays_dumpable_when_asked);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(daemon_suite)
