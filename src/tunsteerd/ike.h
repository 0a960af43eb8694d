/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IKEv2 side of ipsec tunnels: strongSwan's libcharon, running inside
 * tunsteerd, and the bridge between its threads and our event loop.
 *
 * Two halves (DESIGN.md "IPsec"):
 *
 *   ike.c          the loop side.  Per tunnel: which IKE and CHILD SAs
 *                  exist (fed only by events), the link state the engine
 *                  hears about, initiation with back-off, liveness checks,
 *                  the status the views show.  Single-threaded.
 *   ike_charon.c   a driver (struct ike_driver) on lib/charon, the libcharon
 *                  both daemons share: a tunnel's config becomes a
 *                  neutral peer description, and every event charon's
 *                  threads copy out is posted (ike_post()).  Those
 *                  threads never touch anything else of ours.
 *
 * ike_post() is the one function that may be called from any thread: it
 * queues a copy of the event under a mutex and wakes the loop through an
 * eventfd; the loop dispatches the queue in order.
 *
 * A tunnel's link is what the engine hears: IKE_LINK_UP while at least one
 * CHILD_SA of it is installed (the tunnel may come up, as probes decide),
 * IKE_LINK_DOWN at once when none is (without waiting for probes to miss).
 */
#ifndef TUNSTEER_IKE_H
#define TUNSTEER_IKE_H

#include <event2/event.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ike_event.h"
#include "lib/log.h"
#include "tunsteerd/config.h"

struct ike;

/* --- events (what a driver posts) ------------------------------------------ */

/* The events themselves (struct ike_event, the SA states, the
 * failures, their names) and the book of a tunnel's SAs are
 * lib/ike_event.h's, shared with tunsteer-edge. */

/*
 * Queue a copy of @ev for the loop and wake it; from any thread.  Never
 * blocks for longer than the queue's mutex is held (a pointer swap).  If
 * memory runs out the event is counted as lost and the loop re-checks
 * every tunnel (ike_tunnel_check()).
 */
void ike_post(struct ike *ike, const struct ike_event *ev);

/* --- the driver (ike_charon.c; tests have a fake) ------------------------- */

/*
 * Everything the loop side asks of IKE.  Each call is made on the loop and
 * must not block: what takes time (initiating, deleting, DPD) is queued to
 * the driver's own threads, which report back only through ike_post().
 */
struct ike_driver {
	/* Start; from now on post events to @ike.  0 or a negative errno. */
	int (*start)(struct ike_driver *d, struct ike *ike);
	/* Make (or replace) the peer config of tunnel @t, its SAs bound to
	 * XFRM if_id @if_id, its PSK copied; existing SAs keep the config
	 * they were made with.  0, -EINVAL (a proposal or id that does not
	 * parse) or -ENOMEM; on error the old config stays. */
	int (*peer_set)(struct ike_driver *d, const struct config_tunnel *t,
			uint32_t if_id);
	/* Forget the peer config of @name and wipe its PSK. */
	void (*peer_remove)(struct ike_driver *d, const char *name);
	/* Start an IKE SA (with its CHILD SA) for @name; posts
	 * IKE_EV_INITIATED when done. */
	void (*initiate)(struct ike_driver *d, const char *name);
	/* Delete IKE SA @ike_id (and its CHILD SAs); @force: at once, without
	 * telling the peer or waiting for it. */
	void (*terminate)(struct ike_driver *d, uint32_t ike_id, bool force);
	/* Send a DPD on IKE SA @ike_id now. */
	void (*dpd)(struct ike_driver *d, uint32_t ike_id);
	/* Rekey CHILD SA @child_id of IKE SA @ike_id now (make before
	 * break: the new SA is installed before the old one goes). */
	void (*rekey)(struct ike_driver *d, uint32_t ike_id, uint32_t child_id);
	/* Our log level changed: pass on what is now wanted. */
	void (*log_level)(struct ike_driver *d, enum log_level level);
	/* Stop (deleting every SA) and free. */
	void (*destroy)(struct ike_driver *d);
};

/*
 * libcharon as a driver.  Only one may exist in a process (libcharon is a
 * singleton).  @opts may be NULL for the defaults.  NULL with *@err set
 * (-EBUSY: one exists).  Nothing starts before the driver's start(),
 * which brings libstrongswan up itself and so fails with -EBUSY while
 * anyone else has it up (ike_check.c during a config check: start after
 * the config is loaded), -EINVAL if charon failed to initialise (logged).
 */
struct ike_charon_opts {
	unsigned int threads;		/* charon's workers; 0: 8 */
	/* Retransmission of IKE requests: first timeout, factor, tries.
	 * 0: 2 s, 1.5, 3 (a peer that stopped answering is given up after
	 * 2 + 3 + 4.5 + 6.75 = 16 s, not charon's default 165 s). */
	double retransmit_timeout_s, retransmit_base;
	unsigned int retransmit_tries;
	/* Bind IKE sockets to these ports instead of 500/4500 (tests). */
	uint16_t port, port_nat_t;
};
struct ike_driver *ike_charon_create(const struct ike_charon_opts *opts,
				     int *err);

/* --- the loop side ------------------------------------------------------- */

struct ike_callbacks {
	/* Tunnel @tunnel's link is now @link (it was the other).  May call
	 * any ike_tunnel_*() function, ike_tunnel_remove() of it included. */
	void (*link_cb)(void *arg, const char *tunnel, enum ike_link link);
	/* Optional: every event, in the order posted, once ike.c has acted
	 * on it (those of unknown tunnels too).  For counters and tests. */
	void (*event_cb)(void *arg, const struct ike_event *ev);
	void *arg;
};

/*
 * Start IKE on @base with @drv (taken over: ike_destroy() destroys it,
 * as does a failed create).  @cbs is copied.  0 with *@out, or a negative
 * errno.
 */
int ike_create(struct event_base *base, struct ike_driver *drv,
	       const struct ike_callbacks *cbs, struct ike **out)
	__attribute__((warn_unused_result));
/* Stop the driver (deleting every SA), drop what is queued, free. */
void ike_destroy(struct ike *ike);

/*
 * Add ipsec tunnel @t, or update it if one of that name exists, with its
 * XFRM interface's @if_id (desired_xfrm_if_ids()).  A new tunnel is
 * initiated at once.  An update that changes nothing IKE uses (addresses,
 * ike { }, if_id) is a no-op; one that does replaces the peer config,
 * deletes the tunnel's SAs and initiates anew: that tunnel alone re-keys.
 * Returns 1 if it (re)initiated, 0 if nothing changed, or a negative errno
 * (-EINVAL: @t is no ipsec tunnel or the driver refused its config;
 * -ENOMEM); on error the tunnel is as it was.  Nothing of @t is kept.
 */
int ike_tunnel_set(struct ike *ike, const struct config_tunnel *t,
		   uint32_t if_id)
	__attribute__((warn_unused_result));

/* Delete the SAs of tunnel @name (telling the peer) and forget it; its
 * link callback is not called.  Unknown names are ignored. */
void ike_tunnel_remove(struct ike *ike, const char *name);

/*
 * Probes say tunnel @name is down: check at once that its peer is alive.
 * With an established IKE SA, a DPD goes out now; no answer within
 * IKE_CHECK_TIMEOUT_MS and the SA is dropped and a new one initiated
 * (a responder that restarted must not cost the ~16 s of retransmits).
 * Asked again about an SA whose peer answered the last check (alive, but
 * probes still find the tunnel down), its SAs are deleted, telling the
 * peer, and new ones initiated: the two sides' SAs disagree.
 * With none, an initiation waiting out its back-off starts now.  With
 * one being set up, nothing.  -ENOENT for an unknown name.
 */
#define IKE_CHECK_TIMEOUT_MS 5000
int ike_tunnel_check(struct ike *ike, const char *name);

/* The link of tunnel @name (what link_cb last said); IKE_LINK_DOWN for
 * an unknown name.  O(log tunnels): the prober asks at every tick. */
enum ike_link ike_tunnel_link(const struct ike *ike, const char *name);

/*
 * Rekey tunnel @name's CHILD SA now, as its lifetime would (an operator's
 * `tunsteerctl rekey`, and the lab's way to rekey under traffic): make
 * before break, the tunnel stays up.  0 once asked; -ENOENT for an
 * unknown name, -ENOTCONN when it has no CHILD SA installed.
 */
int ike_tunnel_rekey(struct ike *ike, const char *name);

/*
 * What probes say of tunnel @name: @down when they hold it down while its
 * CHILD SA is installed, false once they no longer do (up, degraded, or
 * down for want of a CHILD SA).  Becoming down checks at once
 * (ike_tunnel_check()), and again every IKE_RECHECK_S while it stays so:
 * the second check of an SA whose peer answered replaces its SAs.
 * -ENOENT for an unknown name.
 */
#define IKE_RECHECK_S 10
int ike_tunnel_probes(struct ike *ike, const char *name, bool down);

/* What the views show of a tunnel. */
struct ike_status {
	enum ike_link link;
	enum ike_sa_state ike_state;	/* the newest live IKE SA's */
	enum ike_child_state child_state;
	uint32_t ike_id, child_id;
	uint32_t spi_in, spi_out;	/* 0: no CHILD SA */
	char ike_proposal[IKE_PROPOSAL_MAX];	/* "": none yet */
	char esp_proposal[IKE_PROPOSAL_MAX];
	bool nat;
	unsigned int esp_mtu;		/* the CHILD SA's ike_sa_info.mtu; 0: none */
	/* Seconds from now; -1: nothing scheduled. */
	int64_t ike_rekey_in_s, ike_reauth_in_s, child_rekey_in_s;
	/* Seconds ago; -1: never. */
	int64_t dpd_sent_ago_s, dpd_answered_ago_s;
	unsigned int attempts;		/* failed in a row (0 once up) */
	enum ike_failure last_failure;	/* of the last failed attempt */
	uint32_t last_failure_arg;
	int64_t next_attempt_in_s;	/* -1: none waiting */
};

/* Fill @st for tunnel @name; -ENOENT if there is none. */
int ike_tunnel_status(const struct ike *ike, const char *name,
		      struct ike_status *st);

/* The log level changed (log_set_level()): tell the driver. */
void ike_log_level_changed(struct ike *ike);

/* Events lost for want of memory (ike_post()). */
uint64_t ike_events_lost(const struct ike *ike);

#endif
