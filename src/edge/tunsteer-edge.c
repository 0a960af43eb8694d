/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge: an emulation of one server of the provider's anycast
 * edge, for the end-to-end lab and the demo.  One process runs per edge
 * namespace; every server holds the same anycast addresses and the same
 * tunnels, decapsulates any GRE packet, checks every tunnel's health,
 * steers traffic toward the customer by priority, health penalty and an
 * ECMP hash, accepts egress only from authorized sources, and counts it
 * all.  DESIGN.md "tunsteer-edge" has the layout.  This file is main
 * only (options, signals); src/edge/control.c holds the control
 * commands and src/edge/edge.c runs the server.
 *
 * With a command after the options it is instead the client of a running
 * server's control socket: tunsteer-edge -S PATH [--json] tunnels.
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

#include "lib/ctl_client.h"
#include "edge/control.h"
#include "edge/edge.h"
#include "edge/edge_config.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "lib/version.h"

#define EDGE_DEFAULT_SOCK TS_RUNDIR "/tunsteer-edge.sock"

struct opts {
	struct daemon_opts d;
	unsigned timeout_s;		/* client */
	bool json;			/* client */
};

struct daemon {
	struct edge e;
	struct event_base *base;
	const char *conf_path;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: tunsteer-edge [-dfnv] [-c FILE] [-S PATH] [--keep-state]\n"
		"       tunsteer-edge [-S PATH] [-t SECONDS] [--json] COMMAND [ARGS]\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -S, --socket PATH   control socket (default: control.socket, %s)\n"
		"  -f, --foreground    do not daemonize\n"
		"  -d, --debug         log debug messages to stderr (implies -f)\n"
		"  -n, --check         check the configuration and exit 0 or 1\n"
		"  -v, --verbose       with -n: print the normalised configuration\n"
		"      --keep-state    leave the tunnels and nft table in place on exit\n"
		"  -t, --timeout SECONDS  client: give up without an answer within\n"
		"                      SECONDS (default 10, 0: wait for ever; exit 3)\n"
		"  -j, --json          client: machine-readable output\n"
		"  -h, --help          this help\n"
		"  -V, --version       print version\n"
		"\ncommands (client mode):\n"
		"  status              this server and its counters\n"
		"  tunnels             tunnels: health state, checks, traffic each way\n"
		"  routes              routes, effective priorities, ECMP sets\n"
		"  firewall            firewall rules and their counters\n"
		"  flow SRC DST [tcp|udp SPORT DPORT|icmp]  the tunnel the hash picks\n"
		"  metrics             Prometheus text\n"
		"  reload              re-read the configuration\n"
		"  log-level [LEVEL]   show or set the log level\n",
		EDGE_CONFIG_DEFAULT_PATH, EDGE_DEFAULT_SOCK);
}

/* --- main ---------------------------------------------------------------------------- */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP) {
		log_notice("main", "SIGHUP: reloading %s", d->conf_path);
		(void)edge_reload(&d->e, stderr);
		return;
	}
	log_notice("main", "signal %d: shutting down", (int)sig);
	event_base_loopexit(d->base, NULL);
}

static int
run(const struct opts *o)
{
	struct daemon d = { .conf_path = o->d.conf };
	struct daemon_signals *sigs;
	struct edge_control *ctl;
	struct edge_config *conf;
	const char *sock;

	/* A bad file is refused before daemonizing, so the error reaches
	 * whoever started us. */
	if ((conf = edge_load_config(o->d.conf, stderr)) == NULL)
		return 1;
	if (!o->d.foreground && daemon(0, 0) != 0)
		fatal("main", "daemon");
	if (!o->d.debug)
		log_set_level((enum log_level)conf->log_level);
	if ((d.base = event_base_new()) == NULL)
		fatalx("main", "out of memory");
	/* The control socket and its lock first: a second instance on the
	 * same socket is refused before it touches the kernel. */
	sock = o->d.sock ? o->d.sock : conf->control_socket;
	daemon_make_rundir(sock);
	if ((ctl = edge_control_listen(d.base, sock, &d.e)) == NULL)
		fatalx("main", "cannot open control socket %s", sock);
	/* From here on the check sockets (NET_RAW), netlink and nftables
	 * (NET_ADMIN) and IKE's ports (NET_BIND_SERVICE), nothing else.
	 * Before the start: capset() changes the calling thread alone, and
	 * the IKE responder's threads, made by the start, would otherwise
	 * keep every capability. */
	(void)daemon_restrict(DAEMON_CAPS);
	if (edge_start(&d.e, d.base, conf, o->d.conf, o->d.debug) < 0)
		fatalx("main", "cannot start");
	sigs = daemon_signals_watch(d.base, signal_cb, &d);
	log_notice("main", "%s started: %zu anycast addresses, %zu tunnels, "
		   "%zu routes; control %s", d.e.conf->name, d.e.conf->n_anycast,
		   d.e.conf->n_tunnels, d.e.conf->n_routes, sock);
	event_base_dispatch(d.base);

	edge_control_close(ctl);
	daemon_signals_free(sigs);
	edge_stop(&d.e, o->d.keep_state);
	event_base_free(d.base);
	log_notice("main", "stopped%s", o->d.keep_state ? ", kernel state kept" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		DAEMON_LONGOPTS,
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.d.conf = EDGE_CONFIG_DEFAULT_PATH, .timeout_s = CTL_CLIENT_TIMEOUT_S,
	};
	int c;

	/* '+': stop at a client command so its arguments are left alone. */
	while ((c = getopt_long(argc, argv, "+" DAEMON_SHORTOPTS "t:jhV",
				longopts, NULL)) != -1) {
		if (daemon_getopt(&o.d, c, optarg))
			continue;
		switch (c) {
		case 't':
			if (ctl_client_parse_timeout(optarg, &o.timeout_s) < 0) {
				fprintf(stderr, "tunsteer-edge: -t %s: not a number "
					"of seconds\n", optarg);
				return 2;
			}
			break;
		case 'j': o.json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "tunsteer-edge"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		log_init("tunsteer-edge", true, LOG_LVL_NOTICE);
		const struct ctl_client cc = {
			.sock = o.d.sock ? o.d.sock : EDGE_DEFAULT_SOCK,
			.prog = "tunsteer-edge", .server = "tunsteer-edge",
			.timeout_s = o.timeout_s, .json = o.json,
		};

		return ctl_client_run(&cc, argc - optind, argv + optind);
	}
	log_init("tunsteer-edge", o.d.foreground || o.d.check_only,
		 o.d.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (o.d.check_only)
		return daemon_check_config(o.d.conf, o.d.verbose,
					   edge_load_config(o.d.conf, stderr),
					   edge_config_print, edge_config_free);
	return run(&o);
}
