/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd: turns a config file into owned, self-healing kernel tunnel
 * state and steers authorized egress over the healthiest tunnels.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "version.h"

#define TS_DEFAULT_CONF SYSCONFDIR "/tunsteer/tunsteerd.conf"
#define TS_DEFAULT_SOCK TS_RUNDIR "/tunsteerd.sock"

struct opts {
	const char *conf;
	const char *sock;
	bool foreground;
	bool debug;
	bool check_only;
	bool verbose;
	bool keep_state;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: tunsteerd [-dfnv] [-c FILE] [-S PATH] [--keep-state]\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -S, --socket PATH   control socket (default %s)\n"
		"  -f, --foreground    do not daemonize\n"
		"  -d, --debug         log debug messages to stderr (implies -f)\n"
		"  -n, --check         check the configuration and exit 0 or 1\n"
		"  -v, --verbose       with -n: print the normalised configuration\n"
		"      --keep-state    leave owned kernel state in place on exit\n"
		"  -h, --help          this help\n"
		"  -V, --version       print version and linked libraries\n",
		TS_DEFAULT_CONF, TS_DEFAULT_SOCK);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	switch (sig) {
	case SIGHUP:
		log_notice("main", "SIGHUP: reload requested");
		break;
	default:
		log_notice("main", "signal %d: shutting down", (int)sig);
		event_base_loopexit(base, NULL);
		break;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "keep-state", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .conf = TS_DEFAULT_CONF, .sock = TS_DEFAULT_SOCK };
	struct event_base *base;
	struct event *sigs[3];
	const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
	int c;

	while ((c = getopt_long(argc, argv, "c:S:fdnvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.conf = optarg; break;
		case 'S': o.sock = optarg; break;
		case 'f': o.foreground = true; break;
		case 'd': o.debug = o.foreground = true; break;
		case 'n': o.check_only = true; break;
		case 'v': o.verbose = true; break;
		case 'K': o.keep_state = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "tunsteerd"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	log_init("tunsteerd", o.foreground || o.check_only,
		 o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (o.check_only) {
		if (access(o.conf, R_OK) != 0)
			fatal("config", "%s", o.conf);
		return 0;
	}

	if (!o.foreground && daemon(0, 0) != 0)
		fatal("main", "daemon");

	base = event_base_new();
	if (base == NULL)
		fatalx("main", "event_base_new failed");
	for (size_t i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signums[i], signal_cb, base);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) != 0)
			fatalx("main", "cannot watch signal %d", signums[i]);
	}
	log_notice("main", "started, config %s, control %s", o.conf, o.sock);
	event_base_dispatch(base);

	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(base);
	log_notice("main", "stopped%s", o.keep_state ? ", kernel state kept" : "");
	return 0;
}
