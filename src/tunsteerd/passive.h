/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passive signal: count the provider's own health checks arriving
 * through each tunnel (passive_pkt.c says what is one), and say whether
 * they have gone missing for longer than the tunnel's passive_timeout_ms.
 *
 * One AF_PACKET socket for all tunnels sees what arrives on them before
 * routing, so it counts checks that are forwarded (reply type) as well as
 * those delivered locally (request type), each once: it is not handed
 * what is sent.  A classic BPF filter passes
 * only incoming ICMP echoes on tunnel-type links (GRE, XFRM interfaces),
 * cut to PASSIVE_SNAPLEN bytes; the link a packet arrived on names the
 * tunnel.  Runs on the event loop.
 *
 * "Missing" is a level, not an event: the probe engine samples it at
 * every probe tick and feeds it to the tunnel's health state machine
 * (health_checks()), so it takes effect within one probe interval of
 * the timeout and a reload can never leave the two out of step.
 */
#ifndef TUNSTEER_PASSIVE_H
#define TUNSTEER_PASSIVE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "tunsteerd/config.h"
#include "tunsteerd/passive_pkt.h"

struct passive;

struct passive_stats {
	uint64_t count[PASSIVE_KINDS];	/* since the tunnel was configured */
	uint64_t last_ns;		/* monotonic; 0: none yet */
};

/* NULL with *err (negative errno) on failure, e.g. -EPERM without
 * CAP_NET_RAW. */
struct passive *passive_create(struct event_base *base, int *err);
void passive_destroy(struct passive *p);

/*
 * Watch the tunnels of @conf from now on, in stages (a reload may still
 * be refused after this step): prepare builds the new watch beside the
 * running one, which nothing else sees, and may fail with -ENOMEM;
 * commit swaps it in and cannot fail; abort frees it.  One prepared
 * watch at a time: preparing again drops the last.  A tunnel that keeps
 * its name keeps its counters and the time of its last check; a new one,
 * or one whose watch is turned on, is given passive_timeout_ms from
 * prepare before its checks count as missing.
 */
int passive_prepare(struct passive *p, const struct config *conf)
	__attribute__((warn_unused_result));
void passive_commit(struct passive *p);
void passive_abort(struct passive *p);

/* Counters of the tunnel called @name, or NULL. */
const struct passive_stats *passive_stats_of(const struct passive *p,
					     const char *name);

/* Milliseconds since the last check of @st, or -1 if none has come. */
long long passive_age_ms(const struct passive_stats *st);

/*
 * Are the checks of tunnel @i (of the config last given; @name guards
 * against a config that differs) missing now?  False when its watch is
 * off or the tunnel is unknown.
 */
bool passive_missing(const struct passive *p, size_t i, const char *name);

/* The rule behind passive_missing(), over plain numbers (monotonic ns):
 * watched since @since_ns, last check at @last_ns (0: none). */
bool passive_is_missing(unsigned int timeout_ms, uint64_t since_ns,
			uint64_t last_ns, uint64_t now_ns);

#endif
