/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "tunsteerd/desired.h"
#include "tunsteerd/ipsec.h"

#define SUBSYS "ike"

typedef char ipsec_name[IFNAMSIZ];

struct ipsec {
	struct event_base *base;
	struct ipsec_hooks hooks;
	struct ike *ike;
	/* The ipsec tunnels IKE was given, sorted: those a commit finds
	 * gone are removed. */
	ipsec_name *names;
	size_t n_names;
	/* Staged by prepare. */
	const struct config *conf;
	uint32_t *if_ids;		/* per tunnel of conf */
	ipsec_name *staged_names;
	size_t n_staged;
	bool started_here;		/* IKE made by this prepare */
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool
has_name(const ipsec_name *names, size_t n, const char *name)
{
	return n && bsearch(name, names, n, sizeof(*names), name_cmp) != NULL;
}

static void
link_cb(void *arg, const char *tunnel, enum ike_link link)
{
	struct ipsec *ip = arg;

	log_debug(SUBSYS, "tunnel %s: CHILD_SA %s", tunnel,
		  link == IKE_LINK_UP ? "installed" : "gone");
	if (ip->hooks.sa_changed)
		ip->hooks.sa_changed(ip->hooks.arg, tunnel);
}

struct ipsec *
ipsec_create(struct event_base *base, const struct ipsec_hooks *h)
{
	struct ipsec *ip = calloc(1, sizeof(*ip));

	if (ip == NULL)
		return NULL;
	ip->base = base;
	ip->hooks = *h;
	return ip;
}

void
ipsec_destroy(struct ipsec *ip)
{
	if (ip == NULL)
		return;
	ipsec_abort(ip);
	ike_destroy(ip->ike);
	free(ip->names);
	free(ip);
}

int
ipsec_prepare(struct ipsec *ip, const struct config *conf)
{
	size_t n = conf->n_tunnels, k = 0;
	int err;

	ipsec_abort(ip);
	ip->if_ids = calloc(n + 1, sizeof(*ip->if_ids));
	ip->staged_names = calloc(n + 1, sizeof(*ip->staged_names));
	if (ip->if_ids == NULL || ip->staged_names == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = desired_xfrm_if_ids(conf, ip->if_ids)) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (conf->tunnels[i].type == TUNNEL_IPSEC)
			memcpy(ip->staged_names[k++], conf->tunnels[i].name,
			       sizeof(ipsec_name));
	if (k > 1)
		qsort(ip->staged_names, k, sizeof(*ip->staged_names), name_cmp);
	ip->n_staged = k;
	if (k && ip->ike == NULL) {
		struct ike_callbacks cbs = { .link_cb = link_cb, .arg = ip };
		struct ike_driver *drv = ip->hooks.driver(ip->hooks.arg, &err);

		/* ike_create() takes the driver over, failing or not. */
		if (drv == NULL || (err = ike_create(ip->base, drv, &cbs,
						     &ip->ike)) < 0) {
			errno = -err;
			log_warn(SUBSYS, "cannot start IKE for %zu ipsec tunnels",
				 k);
			goto fail;
		}
		ip->started_here = true;
		log_notice(SUBSYS, "IKE started for %zu ipsec tunnels", k);
	}
	ip->conf = conf;
	return 0;
fail:
	ipsec_abort(ip);
	return err;
}

void
ipsec_commit(struct ipsec *ip)
{
	const struct config *conf = ip->conf;

	if (conf == NULL)
		return;
	/* Gone first, so a tunnel renamed does not hold its old peer's
	 * SAs while the new one's come up. */
	for (size_t i = 0; ip->ike && i < ip->n_names; i++)
		if (!has_name(ip->staged_names, ip->n_staged, ip->names[i]))
			ike_tunnel_remove(ip->ike, ip->names[i]);
	for (size_t i = 0; ip->ike && i < conf->n_tunnels; i++) {
		const struct config_tunnel *t = &conf->tunnels[i];
		int err;

		if (t->type != TUNNEL_IPSEC)
			continue;
		if ((err = ike_tunnel_set(ip->ike, t, ip->if_ids[i])) < 0) {
			/* ike_check.c read the same proposals and ids at
			 * load time, so only memory is likely to fail. */
			errno = -err;
			log_warn(SUBSYS, "tunnel %s: IPsec peer not set; it "
				 "stays without SAs", t->name);
		}
	}
	free(ip->names);
	ip->names = ip->staged_names;
	ip->n_names = ip->n_staged;
	ip->staged_names = NULL;
	ip->n_staged = 0;
	free(ip->if_ids);
	ip->if_ids = NULL;
	ip->conf = NULL;
	ip->started_here = false;
}

void
ipsec_abort(struct ipsec *ip)
{
	if (ip->started_here) {
		ike_destroy(ip->ike);
		ip->ike = NULL;
		ip->started_here = false;
	}
	free(ip->if_ids);
	free(ip->staged_names);
	ip->if_ids = NULL;
	ip->staged_names = NULL;
	ip->n_staged = 0;
	ip->conf = NULL;
}

bool
ipsec_sa_missing(const struct ipsec *ip, const char *name)
{
	return ip->ike == NULL || ike_tunnel_link(ip->ike, name) != IKE_LINK_UP;
}

void
ipsec_health_changed(struct ipsec *ip, const char *name, enum health_state old,
		     const struct health *h)
{
	(void)old;
	if (ip->ike == NULL || h == NULL)
		return;
	/* Down for want of a CHILD SA: IKE knows, and a check would cut its
	 * back-off short.  -ENOENT: a GRE tunnel, nothing to check. */
	(void)ike_tunnel_probes(ip->ike, name,
				h->state == HEALTH_DOWN && !h->sa_missing);
}

int
ipsec_status(const struct ipsec *ip, const char *name, struct ike_status *st)
{
	return ip->ike ? ike_tunnel_status(ip->ike, name, st) : -ENOENT;
}

int
ipsec_rekey(struct ipsec *ip, const char *name)
{
	return ip->ike ? ike_tunnel_rekey(ip->ike, name) : -ENOENT;
}

void
ipsec_log_level_changed(struct ipsec *ip)
{
	if (ip->ike)
		ike_log_level_changed(ip->ike);
}

bool
ipsec_running(const struct ipsec *ip)
{
	return ip->ike != NULL;
}
