/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcharon inside one of our daemons: the one driver both programs use
 * (tunsteerd initiates, tunsteer-edge answers), in types of our own.
 *
 * Set up the way charon-systemd sets itself up, minus everything that
 * reads or opens something of its own: no strongswan.conf (the settings
 * are made here, in charon's namespace of this process), the build's
 * compiled-in plugin list (no VICI, no stroke), no loggers of charon's own
 * (its log goes to ours, lib/log.h).  What a program sees of it:
 *
 *   peers   struct charon_peer, a neutral description: addresses, IDs,
 *           PSK, proposals, if_id, replay window, lifetimes, DPD, role.
 *           The PSK is copied into secret memory (lib/secmem.h) and only
 *           lent to strongSwan; an IKE SA authenticates with its own peer
 *           config's key, whatever the identities.
 *   events  every state change, rekey, failure and DPD of an SA is copied
 *           into a struct ike_event (lib/ike_event.h) and handed to the
 *           program's post function, in charon's threads.
 *   jobs    initiate, terminate, DPD and rekey are queued to charon's
 *           threads: the caller (an event loop) never blocks.
 *
 * A responder's peer configs are offered to charon as a backend (incoming
 * IKE_SA_INIT finds them by address, IKE_AUTH by identity); an initiator's
 * are handed to each initiation and are no backend's.
 *
 * Only one may exist in a process: libcharon (charon, lib) is a singleton.
 * Built only with strongSwan (HAVE_STRONGSWAN), into libts_ss.a, compiled
 * with strongSwan's flags; this header includes none of its headers.
 */
#ifndef TUNSTEER_LIB_CHARON_H
#define TUNSTEER_LIB_CHARON_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ike_event.h"
#include "lib/log.h"

struct charon;

/* A responder accepts the customer under any of several IDs. */
#define CHARON_REMOTE_IDS_MAX 4

struct charon_peer {
	char name[IFNAMSIZ];	/* the peer config's, and events' @tunnel */
	bool responder;		/* answer only; never initiate or rekey */
	/* Addresses as charon reads them: an IPv4 literal or "%any". */
	char local[64], remote[64];
	/* Our ID (NULL: the local address); the peer's, at least one (an
	 * initiator uses the first, a responder accepts any of them). */
	const char *local_id;
	const char *remote_ids[CHARON_REMOTE_IDS_MAX];
	size_t n_remote_ids;
	const char *psk;	/* copied into secret memory */
	/* Proposal lists, "a-b-c, d-e-f", in strongSwan's syntax. */
	const char *ike_proposals, *esp_proposals;
	uint32_t if_id;		/* the XFRM interface's, in and out */
	uint32_t replay_window;	/* 0: replay protection off */
	/* An initiator's rekey times, staggered by a tenth; a responder
	 * never rekeys and lets the initiator's lifetimes rule. */
	unsigned int ike_lifetime_s, child_lifetime_s;
	unsigned int dpd_s;	/* 0: no DPD of ours */
	bool ipv6;		/* ::/0 inside the CHILD SA too */
};

struct charon_opts {
	const char *name;	/* the program's, for libstrongswan */
	bool initiator_only;	/* refuse every incoming IKE_SA_INIT */
	uint32_t reqid_base;	/* XFRM reqids from here (our mark's range) */
	unsigned int threads;	/* charon's workers; 0: 8 */
	/* Retransmission of IKE requests: first timeout, factor, tries.
	 * 0: 2 s, 1.5, 3 (a peer that stopped answering is given up after
	 * 2 + 3 + 4.5 + 6.75 = 16 s, not charon's default 165 s). */
	double retransmit_timeout_s, retransmit_base;
	unsigned int retransmit_tries;
	/* Bind IKE sockets to these ports instead of 500/4500 (tests). */
	uint16_t port, port_nat_t;
};

/* Called from charon's threads with each event; must not block long. */
typedef void (*charon_post_fn)(void *arg, const struct ike_event *ev);

struct sarec;
/*
 * Called from charon's threads with the record of a CHILD SA a responder
 * peer has just installed (lib/sarec.h: SPIs, transform, keys, selectors,
 * if_id, outer addresses): what another server needs to install the same
 * SA.  @rec is the callee's from then on, keys and all (sarec_clear()).
 */
typedef void (*charon_sa_fn)(void *arg, struct sarec *rec);

/*
 * Make the driver; nothing starts yet.  @opts is copied (its @name must
 * outlive the driver).  NULL with *@err set (-EBUSY: one exists).
 */
struct charon *charon_create(const struct charon_opts *opts, int *err);

/*
 * Bring libstrongswan and libcharon up and start charon's threads; from
 * now on events go to @post.  -EBUSY while anyone else has libstrongswan
 * up (a config check holding it), -EINVAL if charon failed to initialise
 * (logged).
 */
int charon_start(struct charon *c, charon_post_fn post, void *arg);

/*
 * Record each CHILD SA a responder peer installs for @fn, as negotiated
 * by @server (a static string, at most SAREC_NAME_MAX - 1 bytes: the
 * records' negotiated_by), with serials that increase across restarts.
 * Before charon_start().  The keys are taken as charon derives them and
 * copied straight into secret memory; a record is made once the SA is
 * installed, rekeys included.
 */
void charon_record_sas(struct charon *c, const char *server, charon_sa_fn fn,
		       void *arg);

/*
 * Make (or replace) the peer config @p->name.  SAs made with the old
 * config keep it.  0, -EINVAL (a proposal or ID that does not parse, no
 * remote ID, no PSK), -EAGAIN before charon_start() or -ENOMEM; on
 * error the old config stays.
 */
int charon_peer_set(struct charon *c, const struct charon_peer *p);

/* Forget the peer config @name and wipe its PSK. */
void charon_peer_remove(struct charon *c, const char *name);

/* Start an IKE SA with its CHILD SA for initiator peer @name; posts
 * IKE_EV_INITIATED when done. */
void charon_initiate(struct charon *c, const char *name);
/* Delete IKE SA @ike_id (and its CHILD SAs); @force: at once, without
 * telling the peer or waiting for it. */
void charon_terminate(struct charon *c, uint32_t ike_id, bool force);
/* Send a DPD on IKE SA @ike_id now. */
void charon_dpd(struct charon *c, uint32_t ike_id);
/* Rekey CHILD SA @child_id of IKE SA @ike_id now (make before break). */
void charon_rekey(struct charon *c, uint32_t ike_id, uint32_t child_id);

/* Our log level changed: charon's messages at most at level 1
 * (control), and only at debug; raw and private data never. */
void charon_log_level(struct charon *c, enum log_level level);

/* Stop (deleting every SA, telling the peers), join the threads, free. */
void charon_destroy(struct charon *c);

#endif
