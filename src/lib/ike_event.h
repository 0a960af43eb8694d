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
#include <stddef.h>
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

const char *ike_sa_state_name(enum ike_sa_state s);
const char *ike_child_state_name(enum ike_child_state s);
/* Sentence for an operator: "no answer from the peer", ... */
const char *ike_failure_text(enum ike_failure f);
/* The same with its detail (@arg: a notify's type) into @buf. */
void ike_failure_describe(enum ike_failure f, uint32_t arg, char *buf,
			  size_t len);

/* Being set up, up or rekeying. */
bool ike_sa_alive(enum ike_sa_state s);
/* Installed, or still carrying traffic during a make-before-break rekey. */
bool ike_child_carries(enum ike_child_state s);
/* Being deleted or gone. */
bool ike_child_final(enum ike_child_state s);

/* --- a tunnel's SAs, as its events told them -------------------------------- */

enum ike_link {
	IKE_LINK_DOWN,		/* no CHILD_SA installed: the tunnel is down */
	IKE_LINK_UP,		/* a CHILD_SA installed: it may come up */
};

/* The SAs of one tunnel, as its events told them. */
#define IKE_BOOK_MAX 8
struct ike_book {
	struct ike_book_sa {
		uint32_t id;
		enum ike_sa_state state;
		bool retired;		/* replaced by a config change */
		bool was_up;		/* was ESTABLISHED once */
		struct ike_sa_info info;
	} ike[IKE_BOOK_MAX];
	size_t n_ike;
	struct ike_book_child {
		uint32_t id, ike_id;
		enum ike_child_state state;
		struct ike_sa_info info;
	} child[IKE_BOOK_MAX];
	size_t n_child;
};

/*
 * Apply @ev to @b: state events add, update and (at DESTROYING) drop
 * their SA; rekey events refresh the new SA's info; a DESTROYING IKE SA
 * takes its CHILD SAs with it.  Other events change nothing.  Pure: no
 * effect but on @b.  A book that is full drops the oldest SA in a final
 * state to make room (there are at most a few per tunnel).
 */
void ike_book_apply(struct ike_book *b, const struct ike_event *ev);

/*
 * The link of a tunnel whose SAs are @b: up while some CHILD_SA is
 * installed (INSTALLED, or UPDATING/REKEYING/REKEYED: still carrying
 * traffic during a make-before-break rekey), down otherwise.  Pure.
 */
enum ike_link ike_book_link(const struct ike_book *b);

/* Is an IKE SA of @b alive (being set up, up or rekeying) and not
 * retired by a config change or a failed liveness check? */
bool ike_book_alive(const struct ike_book *b);

/* The SA of @b with charon's unique id @id; NULL if none. */
struct ike_book_sa *ike_book_find_sa(struct ike_book *b, uint32_t id);
/* The newest SA of @b that is not retired, preferring an established
 * one; NULL if none. */
const struct ike_book_sa *ike_book_current(const struct ike_book *b);
/* The newest CHILD SA of @b that carries traffic, else the newest; NULL
 * if none. */
const struct ike_book_child *ike_book_current_child(const struct ike_book *b);

#endif
