/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge: an emulation of one server of the provider's anycast edge,
 * for the end-to-end lab and the demo.  One process runs per edge namespace.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "version.h"

#define EDGE_DEFAULT_CONF SYSCONFDIR "/tunsteer/tunsteer-edge.conf"
#define EDGE_DEFAULT_SOCK TS_RUNDIR "/tunsteer-edge.sock"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: tunsteer-edge [-d] [-c FILE] [-S PATH]\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -S, --socket PATH   control socket (default %s)\n"
		"  -d, --debug         log debug messages\n"
		"  -h, --help          this help\n"
		"  -V, --version       print version\n",
		EDGE_DEFAULT_CONF, EDGE_DEFAULT_SOCK);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_notice("main", "signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = EDGE_DEFAULT_CONF, *sock = EDGE_DEFAULT_SOCK;
	bool debug = false;
	struct event_base *base;
	struct event *sigterm, *sigint;
	int c;

	while ((c = getopt_long(argc, argv, "c:S:dhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'S': sock = optarg; break;
		case 'd': debug = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "tunsteer-edge"); return 0;
		default: usage(stderr); return 2;
		}
	}
	log_init("tunsteer-edge", true, debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	base = event_base_new();
	if (base == NULL)
		fatalx("main", "event_base_new failed");
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) ||
	    event_add(sigint, NULL))
		fatalx("main", "cannot watch signals");
	log_notice("main", "started, config %s, control %s", conf, sock);
	event_base_dispatch(base);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	return 0;
}
