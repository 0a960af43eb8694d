/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/capability.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "lib/daemon.h"
#include "lib/log.h"

static const int watched[] = { SIGTERM, SIGINT, SIGHUP };
#define N_WATCHED (sizeof(watched) / sizeof(watched[0]))

struct daemon_signals {
	struct event *ev[N_WATCHED];
};

bool
daemon_getopt(struct daemon_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'c': o->conf = arg; return true;
	case 'S': o->sock = arg; return true;
	case 'f': o->foreground = true; return true;
	case 'd': o->debug = o->foreground = true; return true;
	case 'n': o->check_only = true; return true;
	case 'v': o->verbose = true; return true;
	case 'K': o->keep_state = true; return true;
	default: return false;
	}
}

void
daemon_make_rundir(const char *sock)
{
	char dir[256], *slash;

	if (snprintf(dir, sizeof(dir), "%s", sock) >= (int)sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(dir, 0755);
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		log_warn("main", "mkdir %s", dir);
}

struct daemon_signals *
daemon_signals_watch(struct event_base *base, event_callback_fn cb, void *arg)
{
	struct daemon_signals *s = calloc(1, sizeof(*s));

	if (s == NULL)
		fatalx("main", "out of memory");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("main", "cannot ignore SIGPIPE");
	for (size_t i = 0; i < N_WATCHED; i++) {
		s->ev[i] = evsignal_new(base, watched[i], cb, arg);
		if (s->ev[i] == NULL || event_add(s->ev[i], NULL) != 0)
			fatalx("main", "cannot watch signal %d", watched[i]);
	}
	return s;
}

void
daemon_signals_free(struct daemon_signals *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < N_WATCHED; i++)
		event_free(s->ev[i]);
	free(s);
}

_Static_assert(DAEMON_CAPS == ((1ull << CAP_NET_ADMIN) | (1ull << CAP_NET_RAW) |
			       (1ull << CAP_NET_BIND_SERVICE)),
	       "DAEMON_CAPS names the wrong bits");

/* The highest capability the running kernel knows. */
static int
cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1 || last < 0 || last > 63)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

int
daemon_restrict(unsigned long long keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	const char *core = getenv("TUNSTEER_ALLOW_CORE");
	int err = 0, last = cap_last();

	if (core && strcmp(core, "1") == 0)
		log_notice("main", "TUNSTEER_ALLOW_CORE=1: staying dumpable");
	else if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		err = -errno;
		log_warn("main", "prctl(PR_SET_DUMPABLE)");
	}
	/* Read what we have; only ever drop. */
	if (syscall(SYS_capget, &hdr, data) != 0) {
		log_warn("main", "capget");
		return -errno;
	}
	keep &= ((unsigned long long)data[1].permitted << 32) | data[0].permitted;
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the capset below takes away. */
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			if (errno != EPERM) {
				err = -errno;
				log_warn("main", "prctl(PR_CAPBSET_DROP, %d)", cap);
			}
			break;	/* EPERM: not ours to drop; the sets still are */
		}
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted = (uint32_t)(keep >> (32 * i));
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) != 0) {
		err = -errno;
		log_warn("main", "capset");
	}
	if (err == 0)
		log_info("main", "capabilities reduced to 0x%llx%s", keep,
			 core && strcmp(core, "1") == 0 ? "" : "; not dumpable");
	return err;
}

void
daemon_config_ok(const char *path)
{
	fprintf(stderr, "%s: configuration OK\n", path);
}

int
daemon_notify(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	/* The loop's thread alone notifies: no lock. */
	static __typeof__(sd_notify) *notify;
	static bool failed;
	void *h;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if (notify == NULL) {
		if (failed)
			return -ENOSYS;
		/* Kept open for the life of the process: it is called again. */
		h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
		if (h == NULL ||
		    (notify = (__typeof__(sd_notify) *)dlsym(h, "sd_notify")) == NULL) {
			log_warn("main", "NOTIFY_SOCKET is set but libsystemd.so.0 "
				 "cannot be used: %s; systemd is not told how we are",
				 dlerror());
			if (h)
				dlclose(h);
			failed = true;
			return -ENOSYS;
		}
	}
	return notify(0, state);
#else
	(void)state;
	return 0;
#endif
}

int
daemon_notify_reloading(void)
{
	struct timespec now;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)now.tv_sec * 1000000ull +
		 (unsigned long long)now.tv_nsec / 1000u);
	return daemon_notify(state);
}

/* A decimal number without sign or junk, > 0. */
static bool
env_number(const char *name, unsigned long long *v)
{
	const char *s = getenv(name);
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *v > 0;
}

unsigned long long
daemon_watchdog_usec(void)
{
	unsigned long long usec, pid;

	if (!env_number("WATCHDOG_USEC", &usec))
		return 0;
	/* For whom: a child that inherited it must not ping for us. */
	if (getenv("WATCHDOG_PID") &&
	    (!env_number("WATCHDOG_PID", &pid) || pid != (unsigned long long)getpid()))
		return 0;
	return usec / 2 ? usec / 2 : 1;
}

void
daemon_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
