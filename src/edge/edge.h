/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One running tunsteer-edge server: its config, kernel backend, health
 * checks, counters and the ECMP sets the kernel has; how it is started,
 * applied to the kernel, reloaded and stopped.  tunsteer-edge.c is its
 * main; edge_view.c reads (never changes) the fields below to answer the
 * control socket.
 */
#ifndef TUNSTEER_EDGE_H
#define TUNSTEER_EDGE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "edge/edge_checks.h"
#include "edge/edge_config.h"
#include "edge/edge_ike.h"
#include "edge/edge_prop.h"
#include "edge/edge_stats.h"
#include "edge/edge_steer.h"
#include "lib/kernel.h"

/* Failed kernel or nft operations are retried this often. */
#define EDGE_RETRY_PERIOD_S 5
/* Netlink events within this long of each other cause one repair pass. */
#define EDGE_RESYNC_DELAY_MS 50

struct edge {
	struct edge_config *conf;
	struct kernel_ops *ops;
	struct edge_checks *checks;
	struct edge_stats *stats;
	struct edge_ike *ike;		/* the IKEv2 responder; NULL: no ipsec
					 * tunnel was ever served */
	struct edge_prop *prop;		/* SA propagation; NULL: off */
	struct steer steer;		/* what the kernel has now */
	time_t started;
	unsigned int steer_changes;	/* ECMP set replacements */
	unsigned int steer_failures;	/* nft refused one (retried) */
	unsigned int loads, failed_loads;
	bool kernel_ok;

	/* edge.c's own. */
	struct event_base *base;
	struct event *retry_ev;
	struct event *mon_ev;		/* netlink events: someone else's change */
	struct event *resync_ev;	/* the repair pass they schedule */
	struct event *news_ev;		/* the responder's SAs, to propagate */
	const char *conf_path;
	bool steer_dirty;		/* the kernel's steer chain is stale */
	bool debug;			/* -d: the log level stays debug */
};

/* Parse and validate @path, refusing what this tunsteer-edge cannot serve
 * (edge_config_check_serve()); every error goes to @errs as FILE:LINE: …
 * NULL if there was one. */
struct edge_config *edge_load_config(const char *path, FILE *errs);

/*
 * Run @conf (owned by @e from now on) on @base: open the netlink backend
 * and the counters, apply links, addresses, tables, rules and the nft
 * table (what fails is retried every EDGE_RETRY_PERIOD_S), start the
 * health checks, and watch netlink events: anyone else's change to a
 * link, address, route or rule (or lost events) is followed by a repair
 * pass of the reconciler, EDGE_RESYNC_DELAY_MS later.  Returns 0, or a negative errno when the backend, the
 * counters, the timers or the health-check sockets cannot be had (the
 * caller gives up: nothing works without them).
 */
int edge_start(struct edge *e, struct event_base *base,
	       struct edge_config *conf, const char *conf_path, bool debug)
	__attribute__((warn_unused_result));

/* Re-read conf_path: parsed in full first, the running config stays on
 * error (messages to @out).  Health starts over with the new tunnels.
 * False if the file was refused. */
bool edge_reload(struct edge *e, FILE *out);

/* Stop everything edge_start() started; unless @keep_state, remove the
 * nft table and every kernel object with the edge's marks.  Frees what
 * @e owns. */
void edge_stop(struct edge *e, bool keep_state);

#endif
