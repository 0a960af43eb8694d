/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's IPsec (issue 12): the IKEv2 responder, one of two
 * implementations behind this header, chosen at the archive as
 * tunsteerd's ike_none.c is (DESIGN.md "IPsec at the edge"):
 *
 *   edge_ike.c       strongSwan builds: libcharon as a responder
 *                    (lib/charon.h), one peer per ipsec tunnel, its SAs
 *                    bound to the tunnel's XFRM interface.
 *   edge_ike_none.c  configure --without-strongswan: GRE only, for good.
 *
 * The responder answers only: it never initiates an SA or a rekey
 * (PROVIDER.md §3); the customer's lifetimes rule.  What it knows of each
 * tunnel's SAs comes from charon's events, kept as tunsteerd keeps them
 * (lib/ike_event.h's book), and is read by the views.
 */
#ifndef TUNSTEER_EDGE_IKE_H
#define TUNSTEER_EDGE_IKE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ike_event.h"
#include "lib/sarec.h"

struct edge_config;
struct edge_ike;

/* Why this tunsteer-edge cannot serve ipsec tunnels (a sentence for an
 * operator, ending in what it serves instead), or NULL when it can. */
const char *edge_ike_unavailable(void);

/*
 * The provider's proposals (PROVIDER.md §3), in strongSwan's syntax.
 * IKE: AES-GCM-16 128/256 or AES-CBC-256 with SHA2-256; PRF SHA2-256,
 * 384 or 512; ML-KEM-768 or ML-KEM-1024 on top of DH20, or DH20, DH14 or
 * DH5 alone.  ESP: AES-GCM-16 or AES-CBC 128/256 (with SHA2-256 or
 * SHA-1), PFS with DH20, DH14 or DH5, no ESN; ENCR_NULL only with
 * allow_null_cipher.
 */
#define EDGE_IKE_PROPOSALS \
	"aes128gcm16-aes256gcm16-prfsha256-prfsha384-prfsha512-ecp384-ke1_mlkem768-ke1_mlkem1024, " \
	"aes128gcm16-aes256gcm16-prfsha256-prfsha384-prfsha512-ecp384-modp2048-modp1536, " \
	"aes256-sha256-prfsha256-prfsha384-prfsha512-ecp384-ke1_mlkem768-ke1_mlkem1024, " \
	"aes256-sha256-prfsha256-prfsha384-prfsha512-ecp384-modp2048-modp1536"
#define EDGE_ESP_PROPOSALS \
	"aes128gcm16-aes256gcm16-ecp384-modp2048-modp1536, " \
	"aes128-aes256-sha256-sha1-ecp384-modp2048-modp1536"
#define EDGE_ESP_NULL_PROPOSAL "null-sha256-sha1-ecp384-modp2048-modp1536"
/*
 * The responder sends no DPD of its own (0), as the provider initiates
 * nothing.  Under anycast its DPD would be answered to the anycast
 * address, and while that leads to another server (which holds no IKE
 * SA) the negotiator would take a customer that answered for dead and
 * delete an SA every server still decrypts under.  A customer gone for
 * good keeps its one IKE SA and CHILD SA until it comes back (its
 * IKE_AUTH replaces them: unique = replace) or the tunnel is removed;
 * health checks steer around the tunnel meanwhile.  Liveness is the
 * customer's DPD (with restart, as the provider asks).
 */
#define EDGE_IKE_DPD_S 0

/*
 * Bring the responder up (libcharon; one per process), recording each
 * CHILD SA it installs as negotiated by @server (copied; this server's
 * name, what it will tell the others).  0 with *@out, or a negative errno
 * (logged): -ENOTSUP in a GRE-only build.
 */
int edge_ike_create(const char *server, struct edge_ike **out)
	__attribute__((warn_unused_result));

/*
 * Serve @conf's ipsec tunnels: a peer per tunnel (made or replaced; its
 * SAs bound to XFRM if_id @if_ids[i] of tunnel i, edge_kernel_xfrm_if_ids()),
 * the peers of tunnels no longer there removed.  Tunnels whose peer
 * cannot be made are logged and left out; the first error is returned.
 */
int edge_ike_apply(struct edge_ike *ike, const struct edge_config *conf,
		   const uint32_t *if_ids);

/* Delete every SA (telling the customers) and stop. */
void edge_ike_destroy(struct edge_ike *ike);

/* What the views show of one ipsec tunnel. */
struct edge_ike_status {
	enum ike_sa_state ike_state;	/* the current IKE SA's; NONE */
	enum ike_child_state child_state;	/* its CHILD SA's; NONE */
	uint32_t ike_id, spi_in, spi_out;	/* 0: none */
	char ike_proposal[IKE_PROPOSAL_MAX];	/* "": none */
	char esp_proposal[IKE_PROPOSAL_MAX];
	bool nat;			/* NAT-T in use */
	unsigned int established;	/* IKE SAs established since start */
	unsigned int children;		/* CHILD SAs installed since start */
	enum ike_failure last_failure;	/* NONE: none yet */
	uint32_t last_failure_arg;
	/* The record of the newest CHILD SA this server negotiated (what
	 * it would send the others; its keys are never shown). */
	bool recorded;
	uint64_t rec_serial;
	uint32_t rec_spi_in, rec_spi_out, rec_if_id, rec_replay_window;
	char rec_by[32];		/* negotiated_by */
	char rec_esp[64];		/* sarec_proposal() */
};

/*
 * SA propagation's news (edge_prop.h): once turned on, each CHILD SA this
 * server installs (its record) and each it deletes is queued for the
 * loop, which reads edge_ike_news_fd() (an eventfd; -1: none, GRE only)
 * and takes them with edge_ike_news_take() until it returns false.  An
 * installed SA's record is whole, keys and all: the taker's
 * (sarec_clear()).  A deleted one carries its tunnel, its SPIs and, if
 * this server recorded it, its serial; negotiated_by is this server.  At
 * most EDGE_IKE_NEWS_MAX wait; more are dropped, counted and logged (the
 * other servers then miss that SA: a lost propagation, as when a server
 * dies before it sends).
 */
#define EDGE_IKE_NEWS_MAX 256
struct edge_ike_news {
	bool deleted;
	struct sarec rec;
};
void edge_ike_news_on(struct edge_ike *ike, bool on);
int edge_ike_news_fd(struct edge_ike *ike);
bool edge_ike_news_take(struct edge_ike *ike, struct edge_ike_news *out);

/* Fill @st for tunnel @name; -ENOENT if the responder has no such peer. */
int edge_ike_status(struct edge_ike *ike, const char *name,
		    struct edge_ike_status *st);

#endif
