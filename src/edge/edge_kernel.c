/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The edge's desired kernel state, from its config; the one reconciler
 * (lib/reconcile.c) dumps, keeps what carries edge_kernel_marks and
 * changes the difference, as it does for tunsteerd with tunsteerd's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_kernel.h"
#include "edge/edge_steer.h"
#include "lib/ifid.h"
#include "lib/log.h"

const struct kernel_marks edge_kernel_marks = {
	.link_alias_prefix = KERNEL_EDGE_LINK_ALIAS_PREFIX,
	.rtm_protocol = EDGE_RTPROT,
	.table_min = EDGE_TABLE_BASE + 1,
	.table_max = EDGE_TABLE_MAX,
	.rule_prio_min = EDGE_TABLE_BASE + 1,
	.rule_prio_max = EDGE_TABLE_MAX,
	/* No nexthop objects: the reconciler neither dumps nor touches any. */
	.xfrm_if_id_min = EDGE_XFRM_IF_ID_MIN,
	.xfrm_if_id_max = EDGE_XFRM_IF_ID_MAX,
};

int
edge_kernel_xfrm_if_ids(const struct edge_config *c, uint32_t *ids)
{
	const char **names;
	int err;

	if (c->n_tunnels == 0)
		return 0;
	if ((names = calloc(c->n_tunnels, sizeof(*names))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (c->tunnels[i].type == EDGE_TUNNEL_IPSEC)
			names[i] = c->tunnels[i].name;
	err = ifid_assign(names, c->n_tunnels, EDGE_XFRM_IF_ID_MIN,
			  EDGE_XFRM_IF_ID_MAX, ids);
	free(names);
	return err;
}

/*
 * A GRE tunnel's link is a GRE device between the anycast address and
 * the customer's; an ipsec tunnel's an XFRM interface with no underlay
 * (the SAs charon installs with its @if_id carry it, whichever of the
 * server's links their packets use).
 */
static void
want_link(const struct edge_tunnel *t, uint32_t if_id, struct kernel_link *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", t->name);
	if (t->type == EDGE_TUNNEL_IPSEC) {
		l->kind = KERNEL_LINK_XFRM;
		l->if_id = if_id;
	} else {
		l->kind = KERNEL_LINK_GRE;
		l->local = t->cloudflare_endpoint;
		l->remote = t->customer_endpoint;
		l->ttl = (uint8_t)t->ttl;
	}
	l->mtu = t->mtu;
	l->up = true;
	snprintf(l->alias, sizeof(l->alias), KERNEL_EDGE_LINK_ALIAS_PREFIX "%s",
		 t->name);
}

static void
want_addr(const struct edge_tunnel *t, struct kernel_addr *a)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->ifname, sizeof(a->ifname), "%s", t->name);
	a->local = t->interface_address;
	a->local.v4 = t->provider_addr;
}

static void
want_route(const struct edge_tunnel *t, size_t i, int family,
	   struct kernel_route *r)
{
	memset(r, 0, sizeof(*r));
	r->table = edge_tunnel_table(i);
	r->dst.family = family;		/* 0.0.0.0/0 or ::/0 */
	/* The kernel stores an IPv6 route of metric 0 as 1024
	 * (IP6_RT_PRIO_USER): asking for that keeps the reconciler from
	 * seeing a difference every pass. */
	if (family == AF_INET6)
		r->metric = 1024;
	r->protocol = EDGE_RTPROT;
	r->n_nexthops = 1;
	snprintf(r->nh[0].dev, sizeof(r->nh[0].dev), "%s", t->name);
	r->nh[0].weight = 1;
}

static void
want_rule(size_t i, int family, struct kernel_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	r->priority = edge_tunnel_table(i);
	r->table = edge_tunnel_table(i);
	r->fwmark = edge_tunnel_fwmark(i);
	r->fwmask = 0xffffffffu;
	r->protocol = EDGE_RTPROT;
}

int
edge_kernel_build(const struct edge_config *c, struct kernel_state *st)
{
	struct kernel_route *r = malloc(sizeof(*r));	/* 64 nexthops: large */
	uint32_t *if_ids = calloc(c->n_tunnels ? c->n_tunnels : 1,
				  sizeof(*if_ids));
	int err = 0;

	if (r == NULL || if_ids == NULL ||
	    (err = edge_kernel_xfrm_if_ids(c, if_ids)) < 0) {
		free(r);
		free(if_ids);
		return err < 0 ? err : -ENOMEM;
	}
	for (size_t i = 0; i < c->n_tunnels && err == 0; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];
		struct kernel_link l;
		struct kernel_addr a;
		struct kernel_rule u;
		char path[128];

		want_link(t, if_ids[i], &l);
		want_addr(t, &a);
		want_route(t, i, AF_INET, r);
		want_rule(i, AF_INET, &u);
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter",
			 t->name);
		if ((err = kernel_state_add_link(st, &l)) < 0 ||
		    (err = kernel_state_add_sysctl(st, path, "0")) < 0 ||
		    (err = kernel_state_add_addr(st, &a)) < 0 ||
		    (err = kernel_state_add_route(st, r)) < 0)
			break;
		if ((err = kernel_state_add_rule(st, &u)) < 0 ||
		    !t->has_address6)
			continue;
		/* IPv6 through the same table, by the same fwmark (the
		 * steer chain marks both families), from its own address;
		 * IPv6 must be on on the link (a system may turn it off by
		 * default: the kernel would refuse the address). */
		memset(&a, 0, sizeof(a));
		snprintf(a.ifname, sizeof(a.ifname), "%s", t->name);
		a.local = t->interface_address6;
		a.local.v6 = t->provider_addr6;
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/disable_ipv6",
			 t->name);
		want_route(t, i, AF_INET6, r);
		want_rule(i, AF_INET6, &u);
		if ((err = kernel_state_add_sysctl(st, path, "0")) < 0 ||
		    (err = kernel_state_add_addr(st, &a)) < 0 ||
		    (err = kernel_state_add_route(st, r)) < 0)
			break;
		err = kernel_state_add_rule(st, &u);
	}
	free(r);
	free(if_ids);
	return err;
}

static bool
pinned(const struct edge_tunnel *t)
{
	return t->type == EDGE_TUNNEL_IPSEC && t->ipsec.replay_protection;
}

/* Does @c pin any tunnel to one server (replay_protection, edge_prop.h)
 * with peers to forward to? */
bool
edge_kernel_pins_any(const struct edge_config *c)
{
	if (c->relay.n_peers == 0 || c->relay.address.s_addr == 0)
		return false;
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (pinned(&c->tunnels[i]))
			return true;
	return false;
}

/* Does a pinned tunnel of @c carry IPv6 (its ::/0 may move to a pin
 * link)? */
static bool
pins_ipv6(const struct edge_config *c)
{
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (pinned(&c->tunnels[i]) && c->tunnels[i].has_address6)
			return true;
	return false;
}

int
edge_kernel_build_pins(const struct edge_config *c, const struct in_addr *to,
		       struct kernel_state *st)
{
	bool v6 = pins_ipv6(c);
	int err = 0;

	if (!edge_kernel_pins_any(c))
		return 0;
	for (size_t j = 0; j < c->relay.n_peers && err == 0; j++) {
		struct kernel_link l = { .kind = KERNEL_LINK_GRE, .ttl = 64,
					 .mtu = EDGE_PIN_MTU, .up = true };
		char path[128];

		snprintf(l.name, sizeof(l.name), EDGE_PIN_LINK "%u", (unsigned int)(j & 0xffff));
		snprintf(l.alias, sizeof(l.alias),
			 KERNEL_EDGE_LINK_ALIAS_PREFIX "%s", l.name);
		l.local = c->relay.address;
		l.remote = c->relay.peers[j];
		/* What arrives from a peer comes from customers' correspondents
		 * on the Internet, which it has no route back to. */
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", l.name);
		if ((err = kernel_state_add_link(st, &l)) < 0 ||
		    (err = kernel_state_add_sysctl(st, path, "0")) < 0 ||
		    !v6)
			continue;
		/* A pinned tunnel's ::/0 moves to the link like its 0.0.0.0/0,
		 * and the peer takes IPv6 out of it: with IPv6 off on the link
		 * (a system's default may be off, as in the lab) the kernel
		 * refuses that route and drops what arrives. */
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/disable_ipv6", l.name);
		err = kernel_state_add_sysctl(st, path, "0");
	}
	for (size_t i = 0; i < c->n_tunnels && to != NULL && err == 0; i++) {
		size_t j;

		if (to[i].s_addr == 0)
			continue;
		for (j = 0; j < c->relay.n_peers; j++)
			if (c->relay.peers[j].s_addr == to[i].s_addr)
				break;
		if (j == c->relay.n_peers)
			continue;	/* not a peer (any more): its own device */
		for (size_t k = 0; k < st->n_routes; k++) {
			struct kernel_route *r = &st->routes[k];

			if (r->table == edge_tunnel_table(i) && r->n_nexthops == 1 &&
			    strcmp(r->nh[0].dev, c->tunnels[i].name) == 0)
				snprintf(r->nh[0].dev, sizeof(r->nh[0].dev),
					 EDGE_PIN_LINK "%u", (unsigned int)(j & 0xffff));
		}
	}
	return err;
}

/* One pass of a reconciler made for it (see edge_kernel.h for why). */
static int
reconcile_once(struct kernel_ops *ops, const struct kernel_state *want,
	       struct reconcile_stats *stats)
{
	struct reconcile *rc = reconcile_create(ops, &edge_kernel_marks);
	int err;

	memset(stats, 0, sizeof(*stats));
	if (rc == NULL)
		return -ENOMEM;
	err = want ? reconcile_apply(rc, want, stats)
		   : reconcile_flush(rc, stats);
	reconcile_destroy(rc);
	return err;
}

int
edge_kernel_apply_stats(struct kernel_ops *ops, const struct edge_config *c,
			struct reconcile_stats *stats)
{
	return edge_kernel_apply_pinned(ops, c, NULL, stats);
}

int
edge_kernel_apply_pinned(struct kernel_ops *ops, const struct edge_config *c,
			 const struct in_addr *to, struct reconcile_stats *stats)
{
	struct kernel_state want;
	int err;

	kernel_state_init(&want);
	if ((err = edge_kernel_build(c, &want)) == 0 &&
	    (err = edge_kernel_build_pins(c, to, &want)) == 0)
		err = reconcile_once(ops, &want, stats);
	else
		memset(stats, 0, sizeof(*stats));
	kernel_state_free(&want);
	if (stats->added || stats->changed || stats->deleted || stats->failed)
		log_info("kernel", "%zu tunnels: +%u ~%u -%u (%u failed)",
			 c->n_tunnels, stats->added, stats->changed,
			 stats->deleted, stats->failed);
	return err;
}

int
edge_kernel_apply(struct kernel_ops *ops, const struct edge_config *c)
{
	struct reconcile_stats stats;

	return edge_kernel_apply_stats(ops, c, &stats);
}

int
edge_kernel_flush(struct kernel_ops *ops)
{
	struct reconcile_stats stats;

	return reconcile_once(ops, NULL, &stats);
}
