/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dump, keep what carries our marks, compare with what the config wants,
 * change the difference.  An emulator has at most a few hundred tunnels,
 * so the comparisons are plain loops.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_kernel.h"
#include "edge/edge_steer.h"
#include "lib/log.h"

struct dumped {
	struct kernel_link *links;
	size_t n_links;
	struct kernel_addr *addrs;
	size_t n_addrs;
	struct kernel_route *routes;
	size_t n_routes;
	struct kernel_rule *rules;
	size_t n_rules;
	int err;
};

static bool
link_ours(const struct kernel_link *l)
{
	return kernel_link_has_mark(l, KERNEL_EDGE_LINK_ALIAS_PREFIX);
}

static bool
route_ours(const struct kernel_route *r)
{
	return r->protocol == EDGE_RTPROT && r->table > EDGE_TABLE_BASE &&
	       r->table <= EDGE_TABLE_MAX;
}

static bool
rule_ours(const struct kernel_rule *r)
{
	return r->priority > EDGE_TABLE_BASE && r->priority <= EDGE_TABLE_MAX;
}

static void *
push(struct dumped *d, void *v, size_t *n, const void *item, size_t size)
{
	void *nv = realloc(v, (*n + 1) * size);

	if (!nv) {
		d->err = -ENOMEM;
		return v;
	}
	memcpy((char *)nv + *n * size, item, size);
	(*n)++;
	return nv;
}

static void
link_cb(const struct kernel_link *l, void *arg)
{
	struct dumped *d = arg;

	if (link_ours(l))
		d->links = push(d, d->links, &d->n_links, l, sizeof(*l));
}

static void
addr_cb(const struct kernel_addr *a, void *arg)
{
	struct dumped *d = arg;

	d->addrs = push(d, d->addrs, &d->n_addrs, a, sizeof(*a));
}

static void
route_cb(const struct kernel_route *r, void *arg)
{
	struct dumped *d = arg;

	if (route_ours(r))
		d->routes = push(d, d->routes, &d->n_routes, r, sizeof(*r));
}

static void
rule_cb(const struct kernel_rule *r, void *arg)
{
	struct dumped *d = arg;

	if (rule_ours(r))
		d->rules = push(d, d->rules, &d->n_rules, r, sizeof(*r));
}

static void
dumped_free(struct dumped *d)
{
	free(d->links);
	free(d->addrs);
	free(d->routes);
	free(d->rules);
}

static int
dump(struct kernel_ops *ops, struct dumped *d)
{
	int err;

	memset(d, 0, sizeof(*d));
	if ((err = ops->link_dump(ops, link_cb, d)) < 0 ||
	    (err = ops->addr_dump(ops, addr_cb, d)) < 0 ||
	    (err = ops->route_dump(ops, route_cb, d)) < 0 ||
	    (err = ops->rule_dump(ops, rule_cb, d)) < 0 || (err = d->err) < 0) {
		log_warnx("kernel", "dump failed: %s", strerror(-err));
		dumped_free(d);
		return err;
	}
	return 0;
}

/* --- what the config wants ------------------------------------------------ */

static void
want_link(const struct edge_tunnel *t, struct kernel_link *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", t->name);
	l->kind = KERNEL_LINK_GRE;
	l->local = t->cloudflare_endpoint;
	l->remote = t->customer_endpoint;
	l->ttl = (uint8_t)t->ttl;
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
want_route(const struct edge_tunnel *t, size_t i, struct kernel_route *r)
{
	memset(r, 0, sizeof(*r));
	r->table = edge_tunnel_table(i);
	r->dst.family = AF_INET;	/* 0.0.0.0/0 */
	r->protocol = EDGE_RTPROT;
	r->n_nexthops = 1;
	snprintf(r->nh[0].dev, sizeof(r->nh[0].dev), "%s", t->name);
	r->nh[0].weight = 1;
}

static void
want_rule(size_t i, struct kernel_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->priority = edge_tunnel_table(i);
	r->table = edge_tunnel_table(i);
	r->fwmark = edge_tunnel_fwmark(i);
	r->fwmask = 0xffffffffu;
	r->protocol = EDGE_RTPROT;
}

static bool
addr_same(const struct kernel_addr *a, const struct kernel_addr *b)
{
	return strcmp(a->ifname, b->ifname) == 0 &&
	       ts_prefix_equal(&a->local, &b->local);
}

/* Count and log a failed operation; the next apply retries it. */
static void
failed(int *fails, int err, const char *what, const char *name)
{
	(*fails)++;
	log_warnx("kernel", "%s %s: %s", what, name, strerror(-err));
}

int
edge_kernel_apply(struct kernel_ops *ops, const struct edge_config *c)
{
	struct dumped d;
	int err, fails = 0;
	unsigned int changes = 0;
	char buf[256];

	if ((err = dump(ops, &d)) < 0)
		return err;

	/* Removals of what is ours and unwanted: rules, routes, links. */
	for (size_t k = 0; k < d.n_rules; k++) {
		bool keep = false;

		for (size_t i = 0; i < c->n_tunnels && !keep; i++) {
			struct kernel_rule w;

			want_rule(i, &w);
			keep = kernel_rule_equal(&w, &d.rules[k]);
		}
		if (!keep) {
			kernel_rule_format(&d.rules[k], buf, sizeof(buf));
			if ((err = ops->rule_del(ops, &d.rules[k])) < 0)
				failed(&fails, err, "rule del", buf);
			changes++;
		}
	}
	for (size_t k = 0; k < d.n_routes; k++) {
		size_t i = d.routes[k].table - EDGE_TABLE_BASE - 1;

		if (i < c->n_tunnels)
			continue;	/* replaced below if it differs */
		kernel_route_format(&d.routes[k], buf, sizeof(buf));
		if ((err = ops->route_del(ops, &d.routes[k])) < 0)
			failed(&fails, err, "route del", buf);
		changes++;
	}
	for (size_t k = 0; k < d.n_links; k++) {
		if (edge_config_tunnel_index(c, d.links[k].name) >= 0)
			continue;
		if ((err = ops->link_del(ops, d.links[k].name)) < 0)
			failed(&fails, err, "link del", d.links[k].name);
		changes++;
	}

	/* Adds and changes in dependency order: link, its sysctl and
	 * address, its table, the rule pointing at the table. */
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];
		struct kernel_link wl;
		struct kernel_addr wa;
		struct kernel_route wr;
		struct kernel_rule wu;
		bool have = false, addr_ok = false;
		char path[128];

		want_link(t, &wl);
		for (size_t k = 0; k < d.n_links && !have; k++)
			have = kernel_link_equal(&wl, &d.links[k]);
		if (!have) {
			if ((err = ops->link_set(ops, &wl)) < 0) {
				failed(&fails, err, "link set", t->name);
				continue;
			}
			changes++;
		}
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", t->name);
		if ((err = ops->sysctl_set(ops, path, "0")) < 0)
			failed(&fails, err, "sysctl", path);

		want_addr(t, &wa);
		for (size_t k = 0; k < d.n_addrs; k++) {
			if (strcmp(d.addrs[k].ifname, t->name) != 0)
				continue;
			if (have && addr_same(&wa, &d.addrs[k])) {
				addr_ok = true;
				continue;
			}
			/* Someone else's address on our link, or a stale one. */
			kernel_addr_format(&d.addrs[k], buf, sizeof(buf));
			if (have && (err = ops->addr_del(ops, &d.addrs[k])) < 0)
				failed(&fails, err, "addr del", buf);
		}
		if (!addr_ok) {
			err = ops->addr_add(ops, &wa);
			if (err < 0 && err != -EEXIST)
				failed(&fails, err, "addr add", t->name);
			changes++;
		}

		want_route(t, i, &wr);
		have = false;
		for (size_t k = 0; k < d.n_routes && !have; k++)
			have = kernel_route_equal(&wr, &d.routes[k]);
		if (!have) {
			if ((err = ops->route_replace(ops, &wr)) < 0)
				failed(&fails, err, "route", t->name);
			changes++;
		}

		want_rule(i, &wu);
		have = false;
		for (size_t k = 0; k < d.n_rules && !have; k++)
			have = kernel_rule_equal(&wu, &d.rules[k]);
		if (!have) {
			if ((err = ops->rule_add(ops, &wu)) < 0 && err != -EEXIST)
				failed(&fails, err, "rule add", t->name);
			changes++;
		}
	}
	dumped_free(&d);
	log_info("kernel", "%zu tunnels: %u changes, %d failed", c->n_tunnels,
		 changes, fails);
	return fails ? -EAGAIN : 0;
}

int
edge_kernel_flush(struct kernel_ops *ops)
{
	struct dumped d;
	int err, fails = 0;

	if ((err = dump(ops, &d)) < 0)
		return err;
	for (size_t k = 0; k < d.n_rules; k++)
		if ((err = ops->rule_del(ops, &d.rules[k])) < 0)
			failed(&fails, err, "rule del", "");
	for (size_t k = 0; k < d.n_routes; k++)
		if ((err = ops->route_del(ops, &d.routes[k])) < 0)
			failed(&fails, err, "route del", "");
	for (size_t k = 0; k < d.n_links; k++)
		if ((err = ops->link_del(ops, d.links[k].name)) < 0)
			failed(&fails, err, "link del", d.links[k].name);
	dumped_free(&d);
	return fails ? -EAGAIN : 0;
}
