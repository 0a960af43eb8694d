/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What libcharon tells a program about its SAs (lib/charon.h posts these),
 * in types of our own: no strongSwan header is needed to read them.
 * tunsteerd's ike.c keeps its tunnels' books from them; tunsteer-edge
 * its responder's view.
 */
#ifndef TUNSTEER_LIB_IKE_EVENT_H
#define TUNSTEER_LIB_IKE_EVENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

/* IKE SA states, in strongSwan's order (ike_sa_state_t). */
enum ike_sa_state {
	IKE_SA_CREATED,
	IKE_SA_CONNECTING,
	IKE_SA_ESTABLISHED,
	IKE_SA_PASSIVE,
	IKE_SA_REKEYING,
	IKE_SA_REKEYED,
	IKE_SA_DELETING,
	IKE_SA_DESTROYING,
	IKE_SA_NONE,		/* ours: no such SA */
};

/* CHILD SA states, in strongSwan's order (child_sa_state_t). */
enum ike_child_state {
	IKE_CHILD_CREATED,
	IKE_CHILD_ROUTED,
	IKE_CHILD_INSTALLING,
	IKE_CHILD_INSTALLED,
	IKE_CHILD_UPDATING,
	IKE_CHILD_REKEYING,
	IKE_CHILD_REKEYED,
	IKE_CHILD_RETRYING,
	IKE_CHILD_DELETING,
	IKE_CHILD_DELETED,
	IKE_CHILD_DESTROYING,
	IKE_CHILD_NONE,		/* ours: no such SA */
};

/* Why an attempt failed or an SA went away, ranked: a later report of a
 * higher rank replaces a lower one of the same attempt. */
enum ike_failure {
	IKE_FAIL_NONE,
	IKE_FAIL_INITIATE,	/* could not even start (no address, no route) */
	IKE_FAIL_NO_ANSWER,	/* no answer to IKE_SA_INIT or IKE_AUTH */
	IKE_FAIL_TIMEOUT,	/* an established peer stopped answering */
	IKE_FAIL_EXPIRED,	/* hard lifetime reached before a rekey */
	IKE_FAIL_NOTIFY,	/* an error notify (@arg: its type) */
	IKE_FAIL_INSTALL,	/* the kernel refused the SA or its policies */
	IKE_FAIL_TS,		/* traffic selectors refused */
	IKE_FAIL_NO_PROPOSAL_ESP,	/* no ESP proposal in common */
	IKE_FAIL_NO_PROPOSAL_IKE,	/* no IKE proposal in common */
	IKE_FAIL_AUTH_PEER,	/* the peer's authentication failed here */
	IKE_FAIL_AUTH_REFUSED,	/* the peer refused ours: PSK or local_id */
};

#define IKE_PROPOSAL_MAX 160

/* What an SA looked like when it came up or was rekeyed. */
struct ike_sa_info {
	char proposal[IKE_PROPOSAL_MAX];	/* negotiated, strongSwan syntax */
	bool nat;			/* NAT-T (UDP encapsulation) in use */
	/* CLOCK_MONOTONIC seconds; 0: none scheduled. */
	int64_t rekey_at, reauth_at, expire_at;
	uint32_t spi_in, spi_out;	/* CHILD SAs, host order */
	/* CHILD SAs: the negotiated ESP transform, IKEv2 transform IDs
	 * (integrity 0 with an AEAD); 0: unknown. */
	uint16_t enc_alg, integ_alg;
	/* CHILD SAs: the largest inner packet their transform carries over
	 * a 1500-byte underlay, NAT-T included when in use; 0: unknown.
	 * Not filled by lib/charon: tunsteerd computes it from the
	 * transform (ike_check_esp_mtu_algs()) as the event passes. */
	unsigned int mtu;
};

enum ike_event_kind {
	IKE_EV_IKE_STATE,	/* IKE SA @ike_id entered @state; @info
				 * when it is ESTABLISHED */
	IKE_EV_CHILD_STATE,	/* CHILD SA @child_id (of @ike_id) entered
				 * @state; @info when INSTALLED */
	IKE_EV_IKE_REKEYED,	/* IKE SA @ike_id replaced by @arg; @info of
				 * the new one */
	IKE_EV_CHILD_REKEYED,	/* CHILD SA @child_id replaced by @arg; @info
				 * of the new one */
	IKE_EV_MESSAGE,		/* a message of @ike_id arrived (@arg 1: it
				 * answers a DPD) or a DPD left (@arg 0) */
	IKE_EV_FAILURE,		/* @failure (with @arg) hit @ike_id */
	IKE_EV_INITIATED,	/* the driver's initiation of @tunnel ran:
				 * @arg 1 if it started an IKE SA */
};

struct ike_event {
	enum ike_event_kind kind;
	char tunnel[IFNAMSIZ];		/* the peer config's name */
	uint32_t ike_id, child_id;	/* charon's unique ids */
	int state;			/* enum ike_sa_state or ike_child_state */
	enum ike_failure failure;
	uint32_t arg;
	struct ike_sa_info info;
};

#endif
