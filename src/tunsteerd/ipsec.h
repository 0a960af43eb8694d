/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's IPsec tunnels: the IKE module (ike.h) made to follow the
 * running config, and tied to health.  Runs on the event loop.
 *
 *   - IKE exists only once a config with an ipsec tunnel is prepared, so
 *     a GRE-only config never starts libcharon.  Once started it stays
 *     until ipsec_destroy(), also when the last ipsec tunnel goes away
 *     (its peers are removed and their SAs deleted; libcharon is not
 *     brought up twice in one process).
 *   - Staged like the prober (engine_set_stage()): prepare makes IKE if
 *     needed and the tunnels' XFRM if_ids (desired_xfrm_if_ids()), the
 *     only steps that can fail; commit sets every ipsec tunnel and
 *     removes those that went away (ike_tunnel_set() re-keys only a
 *     tunnel that changed); abort undoes prepare.
 *   - A tunnel's link (CHILD_SA installed or not) is told to the caller
 *     (@sa_changed), who re-samples ipsec_sa_missing() into the tunnel's
 *     health (probe_engine_sa_changed()); a tunnel that probes take down
 *     while it still has its CHILD_SA has its peer checked at once, and
 *     again while it stays down (ipsec_health_changed() →
 *     ike_tunnel_probes()).
 */
#ifndef TUNSTEER_IPSEC_H
#define TUNSTEER_IPSEC_H

#include <event2/event.h>
#include <stdbool.h>

#include "tunsteerd/config.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ike.h"

struct ipsec;

struct ipsec_hooks {
	/* Make the IKE driver (ike_charon_create(); tests: a fake): NULL
	 * with *@err set on failure.  Called at most once. */
	struct ike_driver *(*driver)(void *arg, int *err);
	/* Tunnel @name's link changed: ask ipsec_sa_missing() again. */
	void (*sa_changed)(void *arg, const char *name);
	void *arg;
};

/* Nothing starts here (see ipsec_prepare()).  @h is copied.  NULL when
 * out of memory. */
struct ipsec *ipsec_create(struct event_base *base,
			   const struct ipsec_hooks *h);
/* Stop IKE (deleting every SA) if it runs, and free. */
void ipsec_destroy(struct ipsec *ip);

/*
 * Stage @conf (borrowed until commit or abort): if it has an ipsec tunnel
 * and IKE does not run, make and start it; compute the if_ids.  0, or a
 * negative errno (the driver could not start: -EBUSY, -EINVAL; -ENOMEM),
 * logged; then the config must be refused and ipsec_abort() called.
 */
int ipsec_prepare(struct ipsec *ip, const struct config *conf)
	__attribute__((warn_unused_result));
/* Set every ipsec tunnel of the staged config, remove the others.  A
 * tunnel the driver refuses is logged and left without SAs (down). */
void ipsec_commit(struct ipsec *ip);
/* Drop the staged config; IKE made by this prepare is stopped. */
void ipsec_abort(struct ipsec *ip);

/* Has ipsec tunnel @name no CHILD_SA installed?  True without IKE. */
bool ipsec_sa_missing(const struct ipsec *ip, const char *name);

/*
 * Tunnel @name's health went from @old to @h->state.  Down by probes
 * while its CHILD_SA is still installed: the peer is checked now, and
 * again while it stays so (ike_tunnel_probes()).  Down because the SA is
 * missing, nothing: IKE already knows, and a check would cut short its
 * back-off.
 */
void ipsec_health_changed(struct ipsec *ip, const char *name,
			  enum health_state old, const struct health *h);

/* What the views show of tunnel @name; -ENOENT if IKE does not know it. */
int ipsec_status(const struct ipsec *ip, const char *name,
		 struct ike_status *st);

/* `tunsteerctl rekey`: ike_tunnel_rekey(); -ENOENT without IKE. */
int ipsec_rekey(struct ipsec *ip, const char *name);

/* The log level changed: tell IKE, if it runs. */
void ipsec_log_level_changed(struct ipsec *ip);

/* Does IKE run? */
bool ipsec_running(const struct ipsec *ip);

#endif
