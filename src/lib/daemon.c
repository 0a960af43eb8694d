/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

void
daemon_config_ok(const char *path)
{
	fprintf(stderr, "%s: configuration OK\n", path);
}
