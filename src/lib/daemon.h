/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tunsteerd and tunsteer-edge do alike as daemons: the control
 * socket's run directory, the signals of the loop (SIGPIPE ignored in
 * both), and `-n` / `-nv`.  Start-up only: the functions that can fail
 * end the process with fatalx(), as a daemon that cannot set these up
 * must not start.
 */
#ifndef TUNSTEER_DAEMON_H
#define TUNSTEER_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#include <event2/event.h>

/*
 * The options both daemons take, with the same letters and meanings:
 * -c FILE, -S PATH, -f, -d (debug, implies -f), -n, -v, --keep-state.
 * A program puts DAEMON_LONGOPTS in its getopt_long table and
 * DAEMON_SHORTOPTS in its option string, adds its own (-h, -V and
 * whatever else), and hands each option to daemon_getopt() first.
 */
struct daemon_opts {
	const char *conf;		/* -c */
	const char *sock;		/* -S, or NULL: the file's control.socket */
	bool foreground, debug, check_only, verbose, keep_state;
};

#define DAEMON_SHORTOPTS "c:S:fdnv"
#define DAEMON_LONGOPTS								{ "config", required_argument, NULL, 'c' },				{ "socket", required_argument, NULL, 'S' },				{ "foreground", no_argument, NULL, 'f' },				{ "debug", no_argument, NULL, 'd' },					{ "check", no_argument, NULL, 'n' },					{ "verbose", no_argument, NULL, 'v' },					{ "keep-state", no_argument, NULL, 'K' }

/* Apply option @c (with @arg, getopt's optarg) to @o: true if it is one
 * of DAEMON_LONGOPTS, false if the program must handle it. */
bool daemon_getopt(struct daemon_opts *o, int c, const char *arg);

/* mkdir -p of the directory of @sock (a control socket's path), 0755.
 * A failure is logged; the listen that follows says what it means. */
void daemon_make_rundir(const char *sock);

/*
 * Ignore SIGPIPE for the whole process, and call @cb(signal, EV_SIGNAL,
 * @arg) on @base's loop for SIGTERM, SIGINT and SIGHUP.  Why SIGPIPE: a
 * control client that leaves before its answer (a timeout, ^C) makes the
 * write fail with EPIPE, which ends that connection; the default action
 * would end the daemon.  Free with daemon_signals_free() before @base.
 */
struct daemon_signals;
struct daemon_signals *daemon_signals_watch(struct event_base *base,
					    event_callback_fn cb, void *arg);
void daemon_signals_free(struct daemon_signals *s);

/*
 * After start-up (sockets open, first config applied), keep only what
 * the daemon needs from then on: the capabilities in @keep (a mask of
 * 1 << CAP_*) in the effective and permitted sets, nothing inheritable or
 * ambient, and the bounding set cut to @keep too, so nothing the process
 * or a child execs can get the rest back.  The uid stays 0: files owned
 * by root (the config, the run directory) stay readable and writable as
 * their owner, without CAP_DAC_*.  Also makes the process not dumpable
 * (no core dump, no ptrace by the same uid without CAP_SYS_PTRACE): its
 * memory may hold secrets.  With TUNSTEER_ALLOW_CORE=1 in the environment
 * it stays dumpable, for debugging; secret memory (secmem.h) is left out
 * of a core dump either way.  A process that is not root (CAP_SETPCAP
 * missing) keeps what it has and says so.  Returns 0 or -errno (logged).
 */
int daemon_restrict(unsigned long long keep);

/* What both daemons keep: netlink and nftables (NET_ADMIN), the raw and
 * packet sockets they may reopen (NET_RAW), IKE's ports (NET_BIND_SERVICE,
 * issue 5). */
#define DAEMON_CAPS ((1ull << 12) | (1ull << 13) | (1ull << 10))

/*
 * Tell the service manager @state ("READY=1", "STATUS=…"), as sd_notify(3)
 * of libsystemd does, when there is one to tell: only with $NOTIFY_SOCKET
 * set (systemd's Type=notify) is libsystemd loaded, on the first call, and
 * then kept.  A daemon started by hand or by procd never maps it and the
 * seven libraries it brings (about 1 MiB of RSS, bench/memory_example_config).
 * Returns > 0 if sent, 0 if there is no one to tell (or no libsystemd in
 * the build), or -errno (a libsystemd that will not load is logged once).
 */
int daemon_notify(const char *state);

/*
 * sd_notify(3)'s reload protocol: "RELOADING=1" with MONOTONIC_USEC=, the
 * time now on CLOCK_MONOTONIC (systemd 253 and later want it, to tell
 * this reload from an earlier one), before a reload; daemon_notify(
 * "READY=1") after it, whether it worked or not.  As daemon_notify().
 */
int daemon_notify_reloading(void);

/*
 * How often to send "WATCHDOG=1", in µs: half of $WATCHDOG_USEC when the
 * service manager asks for pings and $WATCHDOG_PID, if set, is ours (as
 * sd_watchdog_enabled(3), which says to ping at half the interval); 0
 * when it does not, or the values are not numbers.
 */
unsigned long long daemon_watchdog_usec(void);

/*
 * Give memory freed after big one-off work (a table of 100,000 prefixes,
 * a dump of every tunnel's objects) back to the system: glibc keeps it
 * in its arena otherwise, where the next small allocation can pin it.
 * A walk of the heap, about a millisecond per 30 MiB; nothing elsewhere.
 */
void daemon_trim(void);

/* "PATH: configuration OK" on stderr: what -n says of a good file. */
void daemon_config_ok(const char *path);

/*
 * -n and -nv.  @conf is what loading @path gave: NULL when it failed, its
 * errors printed already.  A good one is printed normalised with
 * @print(conf, stdout) if @verbose, else said OK; then freed with
 * @free_fn.  Evaluates to the process's exit status (0 good, 1 not).
 * A macro so that each program passes its own typed functions.
 */
#define daemon_check_config(path, verbose, conf, print, free_fn)	\
	__extension__ ({						\
		__typeof__(conf) dcc_conf_ = (conf);			\
		int dcc_status_ = 1;					\
									\
		if (dcc_conf_ != NULL) {				\
			if (verbose)					\
				print(dcc_conf_, stdout);		\
			else						\
				daemon_config_ok(path);			\
			free_fn(dcc_conf_);				\
			dcc_status_ = 0;				\
		}							\
		dcc_status_;						\
	})

#endif
