/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's IKE driver (ike.h, struct ike_driver) on lib/charon, the
 * libcharon both daemons share: tunsteerd only initiates, so each ipsec
 * tunnel becomes an initiator's peer description, and each event charon
 * posts goes on to ike_post(), with the ESP transform's inner MTU filled
 * in.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tunsteerd/ike.h"
#include "tunsteerd/ike_check.h"
#include "lib/charon.h"
#include "lib/kernel.h"

#define container(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct ike_charon {
	struct ike_driver drv;
	struct charon *ch;
	struct ike *ike;
};

static struct ike_charon *
of(struct ike_driver *d)
{
	return container(d, struct ike_charon, drv);
}

/* In charon's threads. */
static void
post_cb(void *arg, const struct ike_event *ev)
{
	struct ike_charon *c = arg;
	struct ike_event e = *ev;

	if ((e.kind == IKE_EV_CHILD_STATE || e.kind == IKE_EV_CHILD_REKEYED) &&
	    e.info.enc_alg != 0)
		e.info.mtu = ike_check_esp_mtu_algs(e.info.enc_alg,
						    e.info.integ_alg,
						    ESP_UNDERLAY_MTU, e.info.nat);
	ike_post(c->ike, &e);
}

static int
drv_start(struct ike_driver *d, struct ike *ike)
{
	of(d)->ike = ike;
	return charon_start(of(d)->ch, post_cb, of(d));
}

/*
 * Tunnel @t as charon's initiator: to its remote address (from its local
 * one, or any), its IDs defaulting to those addresses, its proposals and
 * lifetimes defaulting to tunsteerd's, IPv6 inside the SA with an
 * address6.
 */
static int
drv_peer_set(struct ike_driver *d, const struct config_tunnel *t,
	     uint32_t if_id)
{
	const struct config_ike *k = &t->ike;
	struct charon_peer p = {
		.local_id = k->local_id,
		.psk = k->psk,
		.ike_proposals = k->ike_proposals ? k->ike_proposals :
				 CONFIG_IKE_PROPOSALS,
		.esp_proposals = k->esp_proposals ? k->esp_proposals :
				 CONFIG_ESP_PROPOSALS,
		.if_id = if_id,
		.replay_window = k->replay_window,
		.ike_lifetime_s = k->ike_lifetime_s ? k->ike_lifetime_s :
				  CONFIG_IKE_LIFETIME_S,
		.child_lifetime_s = k->child_lifetime_s ? k->child_lifetime_s :
				    CONFIG_CHILD_LIFETIME_S,
		.dpd_s = k->dpd_s,
		.ipv6 = t->has_address6,
		.n_remote_ids = 1,
	};

	if (t->type != TUNNEL_IPSEC || k->psk == NULL)
		return -EINVAL;
	snprintf(p.name, sizeof(p.name), "%s", t->name);
	if (t->local.s_addr == 0)
		snprintf(p.local, sizeof(p.local), "%%any");
	else
		inet_ntop(AF_INET, &t->local, p.local, sizeof(p.local));
	inet_ntop(AF_INET, &t->remote, p.remote, sizeof(p.remote));
	p.remote_ids[0] = k->remote_id ? k->remote_id : p.remote;
	return charon_peer_set(of(d)->ch, &p);
}

static void
drv_peer_remove(struct ike_driver *d, const char *name)
{
	charon_peer_remove(of(d)->ch, name);
}

static void
drv_initiate(struct ike_driver *d, const char *name)
{
	charon_initiate(of(d)->ch, name);
}

static void
drv_terminate(struct ike_driver *d, uint32_t ike_id, bool force)
{
	charon_terminate(of(d)->ch, ike_id, force);
}

static void
drv_dpd(struct ike_driver *d, uint32_t ike_id)
{
	charon_dpd(of(d)->ch, ike_id);
}

static void
drv_rekey(struct ike_driver *d, uint32_t ike_id, uint32_t child_id)
{
	charon_rekey(of(d)->ch, ike_id, child_id);
}

static void
drv_log_level(struct ike_driver *d, enum log_level level)
{
	charon_log_level(of(d)->ch, level);
}

static void
drv_destroy(struct ike_driver *d)
{
	charon_destroy(of(d)->ch);
	free(of(d));
}

struct ike_driver *
ike_charon_create(const struct ike_charon_opts *opts, int *err)
{
	struct charon_opts co = {
		.name = "tunsteerd",
		/* The provider is responder only, and so are we initiator
		 * only. */
		.initiator_only = true,
		.reqid_base = KERNEL_XFRM_IF_ID_MIN,
	};
	struct ike_charon *c;

	if (opts) {
		co.threads = opts->threads;
		co.retransmit_timeout_s = opts->retransmit_timeout_s;
		co.retransmit_base = opts->retransmit_base;
		co.retransmit_tries = opts->retransmit_tries;
		co.port = opts->port;
		co.port_nat_t = opts->port_nat_t;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if ((c->ch = charon_create(&co, err)) == NULL) {
		free(c);
		return NULL;
	}
	c->drv.start = drv_start;
	c->drv.peer_set = drv_peer_set;
	c->drv.peer_remove = drv_peer_remove;
	c->drv.initiate = drv_initiate;
	c->drv.terminate = drv_terminate;
	c->drv.dpd = drv_dpd;
	c->drv.rekey = drv_rekey;
	c->drv.log_level = drv_log_level;
	c->drv.destroy = drv_destroy;
	return &c->drv;
}
