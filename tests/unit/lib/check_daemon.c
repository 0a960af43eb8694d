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
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
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

/* Is a file whose name contains @name mapped into this process? */
static bool
mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");	/* size 0: no slurp() */
	char *line = NULL;
	size_t cap = 0;
	bool yes = false;

	ck_assert_ptr_nonnull(f);
	while (!yes && getline(&line, &cap, f) > 0)
		yes = strstr(line, name) != NULL;
	free(line);
	fclose(f);
	return yes;
}

START_TEST(test_notify_without_a_service_manager_sends_nothing_and_loads_no_libsystemd)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(daemon_notify("READY=1"), 0);
	ck_assert_msg(!mapped("libsystemd"), "libsystemd mapped with no one to notify");
}
END_TEST

#ifdef HAVE_LIBSYSTEMD
/* systemd's side, played by a datagram socket of ours bound at @path
 * (PATH_MAX) and named in NOTIFY_SOCKET; libsystemd's sd_notify() is the
 * sender.  Unlink @path when done. */
static int
notify_listener(char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static unsigned int seq;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/ts-notify.%d.%u",
		 (int)getpid(), seq++);
	unlink(sun.sun_path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	strcpy(path, sun.sun_path);
	return fd;
}

START_TEST(test_notify_under_systemd_reaches_its_socket_through_libsystemd)
{
	char buf[64], path[PATH_MAX];
	ssize_t n;
	int fd = notify_listener(path);

	ck_assert_int_gt(daemon_notify("READY=1"), 0);
	ck_assert_int_gt(daemon_notify("STATUS=2 of 3 tunnels up"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 7);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "STATUS=2 of 3 tunnels up");
	ck_assert(mapped("libsystemd"));
	unlink(path);
	close(fd);
}
END_TEST
#endif

START_TEST(test_watchdog_pings_at_half_the_interval_only_for_us)
{
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_uint_eq(daemon_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "20000000", 1);
	ck_assert_uint_eq(daemon_watchdog_usec(), 10000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(daemon_watchdog_usec(), 10000000);
	/* inherited from a parent the watchdog is for */
	snprintf(pid, sizeof(pid), "%d", (int)getppid());
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_uint_eq(daemon_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "20s", 1);
	ck_assert_uint_eq(daemon_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	ck_assert_uint_eq(daemon_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}
END_TEST

#ifdef HAVE_LIBSYSTEMD
START_TEST(test_reloading_says_when_on_the_monotonic_clock)
{
	unsigned long long usec, before;
	struct timespec now;
	char buf[128], path[PATH_MAX];
	ssize_t n;
	int fd = notify_listener(path);

	clock_gettime(CLOCK_MONOTONIC, &now);
	before = (unsigned long long)now.tv_sec * 1000000ull +
		 (unsigned long long)now.tv_nsec / 1000u;
	ck_assert_int_gt(daemon_notify_reloading(), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
	ck_assert_uint_ge(usec, before);
	ck_assert_uint_lt(usec, before + 10000000ull);
	unlink(path);
	close(fd);
}
END_TEST
#endif

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
	tcase_add_test(tc, test_notify_without_a_service_manager_sends_nothing_and_loads_no_libsystemd);
#ifdef HAVE_LIBSYSTEMD
	tcase_add_test(tc, test_notify_under_systemd_reaches_its_socket_through_libsystemd);
	tcase_add_test(tc, test_reloading_says_when_on_the_monotonic_clock);
#endif
	tcase_add_test(tc, test_watchdog_pings_at_half_the_interval_only_for_us);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(daemon_suite)
