/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe engine: per tunnel, an ICMP echo every interval_ms sent
 * *through* the tunnel (IP_PKTINFO names the tunnel as the output
 * interface), replies matched against the probes in flight, outcomes fed
 * to the tunnel's health state machine.  One raw socket for all tunnels.
 * With probe.family "ipv6" or "both", an ICMPv6 echo from the tunnel's
 * address6 to its peer6 instead or as well, on one raw ICMPv6 socket;
 * each interval's echoes are one round (health.h).
 * Runs on the event loop; reports state changes through a callback.
 */
#ifndef TUNSTEER_PROBE_H
#define TUNSTEER_PROBE_H

#include <event2/event.h>

#include "tunsteerd/config.h"
#include "tunsteerd/health.h"

struct probe_engine;

/* Tunnel @i changed from @old to its current state (probe_health()). */
typedef void (*probe_change_cb)(void *arg, size_t i, enum health_state old);

/* NULL with *err (negative errno) on failure, e.g. -EPERM without
 * CAP_NET_RAW. */
struct probe_engine *probe_engine_create(struct event_base *base,
					 probe_change_cb cb, void *arg, int *err);
void probe_engine_destroy(struct probe_engine *pe);

/*
 * Probe the tunnels of @conf from now on, in stages (a reload may still
 * be refused after this step): prepare builds the new set beside the
 * running one (which keeps probing) and may fail with -ENOMEM, or with
 * the ICMPv6 socket's -errno for the first set that probes with it (it
 * is opened then, and kept); commit swaps it in and cannot fail; abort
 * frees it.  A tunnel that keeps its name and probe targets (of the
 * families probed before and after) keeps its health and history; new
 * ones start in init.  One prepared set at a time: preparing again drops the last.
 * While a set is prepared, probe_health_of() answers from it (the set
 * the desired state is being built for); nothing else sees it.
 * configure() is prepare and commit at once, for a caller with nothing
 * else that may fail (tests/integration/check_probe).
 */
int probe_engine_prepare(struct probe_engine *pe, const struct config *conf)
	__attribute__((warn_unused_result));
void probe_engine_commit(struct probe_engine *pe);
void probe_engine_abort(struct probe_engine *pe);
int probe_engine_configure(struct probe_engine *pe, const struct config *conf)
	__attribute__((warn_unused_result));

/*
 * Where the second health input comes from (passive.c): @fn says whether
 * the provider's checks of tunnel @i (called @name) are missing now.  It
 * is sampled at every probe tick and fed to health_checks().  Without a
 * source they never are.
 */
typedef bool (*probe_checks_fn)(void *arg, size_t i, const char *name);
void probe_engine_set_checks_source(struct probe_engine *pe,
				    probe_checks_fn fn, void *arg);

/*
 * The third input, for ipsec tunnels (ike.c's link): @fn says whether
 * tunnel @name has no CHILD_SA installed.  It is asked for every ipsec
 * tunnel when a set is prepared (so a new one is down in the state built
 * for it) and at every probe tick, and fed to health_sa(); other tunnels
 * never lack one.  Without a source no tunnel does.
 * probe_engine_sa_changed() asks it again for @name at once (the link
 * changed): missing takes the tunnel down now, not at its next tick.
 */
typedef bool (*probe_sa_fn)(void *arg, const char *name);
void probe_engine_set_sa_source(struct probe_engine *pe, probe_sa_fn fn,
				void *arg);
void probe_engine_sa_changed(struct probe_engine *pe, const char *name);

/* The name of tunnel @i of the config last committed, or NULL. */
const char *probe_tunnel_name(const struct probe_engine *pe, size_t i);

/*
 * When, in microseconds after (re)configuration, tunnel @i of @n sends
 * its first probe: i/n of its interval.  Each tunnel then keeps its own
 * phase, so n tunnels send one probe every interval/n instead of all at
 * once: a burst of 500 probes overflowed the socket's receive buffer
 * with their answers before the loop could read them
 * (bench/probe_cost_500_tunnels_vs_fping).
 */
uint64_t probe_phase_us(size_t i, size_t n, unsigned int interval_ms);

/*
 * Our own lateness, counted: probes whose deadline passed while the event
 * loop was late by more than their interval are not charged to their
 * tunnel (they are neither answered nor lost), and each time the loop is
 * found that late is one episode (logged once).  Answers are judged by the
 * kernel's receive time (SO_TIMESTAMPNS), not by when the loop reads them.
 */
uint64_t probe_engine_late_unjudged(const struct probe_engine *pe);
uint64_t probe_engine_late_episodes(const struct probe_engine *pe);

/* Health of tunnel @i of the config last given, or NULL. */
const struct health *probe_health(const struct probe_engine *pe, size_t i);
/* Health of the tunnel called @name, or NULL. */
const struct health *probe_health_of(const struct probe_engine *pe,
				     const char *name);

#endif
