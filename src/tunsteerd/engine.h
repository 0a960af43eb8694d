/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's core: the running config, and the kernel state it implies
 * kept in place.  Everything here runs on the event loop.
 *
 * Loading a config is staged (FRR bfdd style): parse and validate
 * (config_load), prepare (build the desired state; may fail, allocates),
 * apply (hand it to the reconciler and the nft owner; individual kernel
 * failures are retried, never fatal).  A load that fails before apply
 * leaves the running config and kernel state exactly as they were.
 */
#ifndef TUNSTEER_ENGINE_H
#define TUNSTEER_ENGINE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "tunsteerd/config.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/loopmeter.h"
#include "lib/kernel.h"
#include "tunsteerd/nft.h"
#include "tunsteerd/passive.h"

struct engine;

/* Takes nothing over; @ops must outlive the engine. */
struct engine *engine_create(struct kernel_ops *ops);
/* Remove all owned kernel state unless @keep_state, then free. */
void engine_destroy(struct engine *e, bool keep_state);

/*
 * Test once, before the first load, whether the kernel makes resilient
 * nexthop groups, and log the answer.  Without them (Linux before 5.13,
 * or when the test itself fails) every policy's group is a plain
 * hash-threshold group.  Without this call the engine makes resilient
 * groups.
 */
void engine_probe_nh_groups(struct engine *e);
/* "resilient" or "plain": the kind of group the policies get. */
const char *engine_nh_groups(const struct engine *e);

/*
 * Load @path as the new config.  On failure returns a negative errno and,
 * if @errs is not NULL, appends one line per problem to it (file:line:
 * field: message); the old config keeps running.
 */
int engine_load(struct engine *e, const char *path, FILE *errs)
	__attribute__((warn_unused_result));

/* As engine_load(), for a config already parsed and validated (taken
 * over: freed on failure). */
int engine_use(struct engine *e, struct config *conf, FILE *errs)
	__attribute__((warn_unused_result));

/*
 * Where tunnel health comes from (the probe engine): @fn returns the
 * health of the tunnel called @name, or NULL if it has none yet (then it
 * counts as up).  Without a source every tunnel counts as up.
 */
typedef const struct health *(*engine_health_fn)(void *arg, const char *name);
void engine_set_health_source(struct engine *e, engine_health_fn fn, void *arg);

/* Where the provider's health-check counters come from (passive.c), for
 * the tunnels view: @fn returns those of tunnel @name, or NULL. */
typedef const struct passive_stats *(*engine_checks_fn)(void *arg,
							const char *name);
void engine_set_checks_source(struct engine *e, engine_checks_fn fn, void *arg);

/* Where ipsec tunnels' IKE status comes from (ipsec.c), for the tunnels
 * view: @fn fills @st for tunnel @name, or returns -ENOENT. */
typedef int (*engine_ipsec_fn)(void *arg, const char *name,
			       struct ike_status *st);
void engine_set_ipsec_source(struct engine *e, engine_ipsec_fn fn, void *arg);

/*
 * An ipsec tunnel's CHILD SA came or went: each ipsec tunnel without an
 * explicit mtu takes the MTU its installed CHILD SA's transform leaves
 * (ike_status.esp_mtu, from the ipsec source), and the MSS clamp that
 * goes with it; a tunnel without one keeps what it had.  When one
 * changes, the interface and the nft table are updated.  A config loaded
 * later starts from the same values.  0 or a negative errno (the new
 * state could not be built; nothing changed), logged.
 */
int engine_ipsec_mtu_changed(struct engine *e);

/*
 * Called when applying our nft table failed (the engine keeps what it
 * wanted): the daemon arms a retry, backing off by engine_nft_failures()
 * (failed attempts in a row; 0 once the table went in), and calls
 * engine_nft_check() when it fires.
 */
typedef void (*engine_retry_fn)(void *arg);
void engine_set_nft_retry_hook(struct engine *e, engine_retry_fn fn, void *arg);
unsigned int engine_nft_failures(const struct engine *e);

/*
 * Those that follow the running config (the prober, the passive watch),
 * in stages.  prepare is called with every config about to be used,
 * before anything changes; it allocates and may fail, and a negative
 * return refuses the config (the old one keeps running).  commit is
 * called once every step that can fail has passed (desired_build), and
 * cannot fail; abort whenever prepare was called and commit will not be
 * (also after a failed prepare, to free what it got done).
 */
struct engine_stage {
	int (*prepare)(void *arg, const struct config *conf);
	void (*commit)(void *arg);
	void (*abort)(void *arg);
};
/* @st is copied. */
void engine_set_stage(struct engine *e, const struct engine_stage *st,
		      void *arg);

/* A tunnel's health changed: recompute egress and apply the difference. */
int engine_health_changed(struct engine *e);

/* Re-dump the kernel and repair what differs from the desired state;
 * called on netlink change events and on ENOBUFS. */
int engine_resync(struct engine *e);

/*
 * Where a failed tunnel's conntrack entries are deleted: by default on
 * the loop (ops->conntrack_flush); with @fn, @fn queues the flush
 * (lib/ctflush.h) and returns 0 or -errno, and the caller reports what
 * was done with engine_ct_flushed().
 */
typedef int (*engine_ct_flush_fn)(void *arg, uint32_t mark, uint32_t mask);
void engine_set_ct_flusher(struct engine *e, engine_ct_flush_fn fn, void *arg);
void engine_ct_flushed(struct engine *e, unsigned int ok);

/*
 * The router's role in an HA pair (keepalived's notify scripts run
 * `tunsteerctl standby` and `tunsteerctl active`): in standby every
 * policy's table holds its blackhole fallback alone
 * (desired_build_standby()), so nothing authorized leaves, by a tunnel
 * or the ISP, while the tunnels stay up and probed; active, egress
 * follows health again.  Applied as a health change is (no dump);
 * neither counts as a failover.  Kept across reloads; a new tunsteerd
 * starts active.  0 or the apply's error (retried by the next pass).
 */
int engine_set_standby(struct engine *e, bool standby);
bool engine_standby(const struct engine *e);

/* Bumped whenever the engine changes the kernel (see lib/audit.h). */
unsigned long engine_kernel_gen(const struct engine *e);

/* A copy of the kernel state wanted now (at engine_kernel_gen()), for an
 * audit to compare with off the loop; NULL without a config or memory. */
struct kernel_state *engine_want_copy(const struct engine *e);

/*
 * A kernel audit (lib/audit.h) begun at generation @gen saw @observed (or
 * failed with @err).  @drift is how many objects its thread found
 * different from engine_want_copy() of that generation
 * (AUDIT_DRIFT_UNKNOWN: not compared; then the loop compares), @first
 * the first of them.  What differs is repaired from @observed, without a
 * dump on the loop.  Returns 0 (as wanted, or repaired), -ESTALE (begun
 * before our last change: dropped, and the caller should audit again), or
 * @err.
 */
int engine_audit_result(struct engine *e, struct kernel_state *observed,
			int err, unsigned long gen, unsigned int drift,
			const char *first);
/* The nft event socket is readable: 1 if other processes changed our
 * table (then call engine_nft_check()), 0 if not (nft_sync_drain()). */
int engine_nft_drain(struct engine *e);
/* Repair what they changed, or retry a failed apply (nft_sync_check()). */
int engine_nft_check(struct engine *e);

const struct config *engine_config(const struct engine *e);

/* What the views (view.c) read.  All borrowed from @e, valid until its
 * next load, health change or resync. */
struct kernel_ops *engine_kernel(const struct engine *e);
const struct kernel_state *engine_desired(const struct engine *e);
const struct health *engine_health(const struct engine *e, const char *name);
const struct passive_stats *engine_checks(const struct engine *e,
					  const char *name);
/* 0 with @st filled, or -ENOENT (no source, or no IKE state of @name). */
int engine_ipsec_status(const struct engine *e, const char *name,
			struct ike_status *st);

struct engine_counters {
	struct timespec started;	/* CLOCK_MONOTONIC */
	unsigned int loads, failed_loads, repairs, failovers, ct_flushes;
	unsigned int audits;		/* kernel audits compared */
	bool kernel_ok;			/* last reconcile had no failures */
	struct nft_sync_status nft;	/* our nft table */
	struct loopmeter_stats loop;	/* event-loop stalls (all 0: no meter) */
};

/* The event-loop meter the status view reports (the daemon's; may stay
 * unset).  Not taken over: @m must outlive the engine or be unset. */
void engine_set_loop_meter(struct engine *e, const struct loopmeter *m);

void engine_counters(const struct engine *e, struct engine_counters *c);

/* How often policy @p of the running config moved its egress (a
 * failover: its route or group changed with health), carried over reloads
 * by the policy's name; 0 for no such policy. */
uint64_t engine_policy_failovers(const struct engine *e, size_t p);

/*
 * Connections translated so far by each policy's nat (its nft counter,
 * read from the kernel now: one dump of our table's counters), into
 * @out[p] for every policy of the running config; ENGINE_NAT_NONE for a
 * policy without nat, or whose counter the kernel does not have (the
 * table out of sync).  0, or a negative errno with every @out[p] NONE.
 */
#define ENGINE_NAT_NONE UINT64_MAX
int engine_nat_counts(const struct engine *e, uint64_t *out);

/* The path ids (desired_path_ids()) that carry some policy's egress now,
 * sorted, into *@ids (the caller frees it); their number, or -ENOMEM. */
ssize_t engine_egress_paths(const struct engine *e, uint32_t **ids);

#endif
