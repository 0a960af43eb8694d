/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunsteerd/desired.h"
#include "lib/ifid.h"
#include "lib/strbuf.h"

void
nft_state_free(struct nft_state *ns)
{
	for (size_t i = 0; i < ns->n_sets; i++)
		free(ns->sets[i].elems);
	free(ns->sets);
	for (size_t i = 0; i < ns->n_counters; i++)
		free(ns->counters[i]);
	free(ns->counters);
	free(ns->chains);
	memset(ns, 0, sizeof(*ns));
}

/* nft identifiers take [A-Za-z0-9_]; policy names may also hold '-' or
 * '.', which become '_'. */
static void
ident(char *out, size_t len, const char *prefix, const char *policy)
{
	size_t n = (size_t)snprintf(out, len, "%s%s", prefix, policy);

	for (size_t i = strlen(prefix); i < n && i < len; i++)
		if (!(out[i] == '_' || (out[i] >= 'a' && out[i] <= 'z') ||
		      (out[i] >= 'A' && out[i] <= 'Z') ||
		      (out[i] >= '0' && out[i] <= '9')))
			out[i] = '_';
}

/* A policy's set of authorized prefixes of @family: auth_<policy> (IPv4)
 * or auth6_<policy>; neither form can be the other's. */
static void
set_name(char *out, size_t len, const char *policy, int family)
{
	ident(out, len, family == AF_INET6 ? "auth6_" : "auth_", policy);
}

/* The prefixes of @family among @n of @in, into @out (room for @n);
 * how many. */
static size_t
of_family(const struct ts_prefix *in, size_t n, int family,
	  struct ts_prefix *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (in[i].family == family)
			out[k++] = in[i];
	return k;
}

void
desired_nat_name(char *out, size_t len, const char *policy)
{
	ident(out, len, "nat_", policy);
}

static int
add_counter(struct nft_state *ns, const char *name)
{
	char **c = realloc(ns->counters, (ns->n_counters + 1) * sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	ns->counters = c;
	if ((c[ns->n_counters] = strdup(name)) == NULL)
		return -ENOMEM;
	ns->n_counters++;
	return 0;
}

static int
prefix_sort_cmp(const void *a, const void *b)
{
	return ts_prefix_cmp(a, b);
}

static int
add_set(struct nft_state *ns, const char *name, int family,
	const struct ts_prefix *elems, size_t n)
{
	struct nft_set *sets = realloc(ns->sets, (ns->n_sets + 1) * sizeof(*sets));
	struct nft_set *s;

	if (sets == NULL)
		return -ENOMEM;
	ns->sets = sets;
	s = &sets[ns->n_sets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->family = (uint8_t)family;
	if (n) {
		s->elems = malloc(n * sizeof(*elems));
		if (s->elems == NULL)
			return -ENOMEM;
		memcpy(s->elems, elems, n * sizeof(*elems));
		qsort(s->elems, n, sizeof(*elems), prefix_sort_cmp);
	}
	s->n_elems = n;
	ns->n_sets++;
	return 0;
}

static int
build_links(const struct config *conf, const uint32_t *if_id,
	    struct kernel_state *ks)
{
	int err;

	for (size_t i = 0; i < conf->n_tunnels; i++) {
		const struct config_tunnel *t = &conf->tunnels[i];
		struct kernel_link l = { .ttl = (uint8_t)t->ttl, .mtu = t->mtu,
					 .up = true, .local = t->local,
					 .remote = t->remote };
		struct kernel_addr a = { .local = t->address };
		char path[128];

		snprintf(l.name, sizeof(l.name), "%s", t->name);
		snprintf(l.alias, sizeof(l.alias), KERNEL_LINK_ALIAS_PREFIX "%s",
			 t->name);
		if (t->type == TUNNEL_GRE) {
			l.kind = KERNEL_LINK_GRE;
		} else {
			l.kind = KERNEL_LINK_XFRM;
			l.if_id = if_id[i];
			l.local.s_addr = l.remote.s_addr = 0;
			l.ttl = 0;
			/* The kernel looks the outer (ESP) route up through
			 * the uplink the tunnel is meant to leave by. */
			if (t->underlay.set)
				snprintf(l.dev, sizeof(l.dev), "%s",
					 t->underlay.interface);
		}
		memcpy(a.ifname, l.name, sizeof(a.ifname));
		if ((err = kernel_state_add_link(ks, &l)) < 0 ||
		    (err = kernel_state_add_addr(ks, &a)) < 0)
			return err;
		if (t->has_address6) {
			struct kernel_addr a6 = { .local = t->address6 };

			memcpy(a6.ifname, l.name, sizeof(a6.ifname));
			/* A system that turns IPv6 off by default (a
			 * sysctl.conf, an OpenWrt image) would refuse the
			 * address. */
			snprintf(path, sizeof(path),
				 "net/ipv6/conf/%s/disable_ipv6", t->name);
			if ((err = kernel_state_add_addr(ks, &a6)) < 0 ||
			    (err = kernel_state_add_sysctl(ks, path, "0")) < 0)
				return err;
		}

		/* Health probes and provider traffic arrive from sources the
		 * reverse path does not lead back through this tunnel. */
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", t->name);
		if ((err = kernel_state_add_sysctl(ks, path, "0")) < 0)
			return err;
		/* A reply-type health check arrives *from our own* inner
		 * address (to be routed back to the provider); without
		 * accept_local the kernel drops it as a martian. */
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/accept_local", t->name);
		if ((err = kernel_state_add_sysctl(ks, path, "1")) < 0)
			return err;
		if (t->type == TUNNEL_IPSEC) {
			/* The XFRM interface's if_id selects the policy; the
			 * global policy lookup must not run again on it. */
			snprintf(path, sizeof(path),
				 "net/ipv4/conf/%s/disable_policy", t->name);
			if ((err = kernel_state_add_sysctl(ks, path, "1")) < 0)
				return err;
		}
	}
	return 0;
}

/*
 * Pin every tunnel's anycast endpoint to its underlay: per uplink (a
 * distinct customer underlay address, numbered in config order), a table
 * of host routes and a rule "from <local> lookup <table>".  One pass
 * over the tunnels, each compared with the uplinks seen before it (an
 * index counted from scratch per tunnel was O(n^2) per tunnel when a
 * late uplink's first tunnel comes late in the file).
 */
static int
build_pins(const struct config *conf, struct kernel_state *ks)
{
	struct in_addr *uplink = calloc(conf->n_tunnels + 1, sizeof(*uplink));
	bool ruled[DESIRED_MAX_UPLINKS] = { false };
	size_t n_uplinks = 0;
	int err = 0;

	if (uplink == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_tunnels; i++) {
		const struct config_tunnel *t = &conf->tunnels[i];
		const struct config_underlay *u = &t->underlay;
		struct kernel_route r = { .protocol = KERNEL_RTPROT_TUNSTEER,
					  .n_nexthops = 1 };
		size_t up;

		if (!u->set)
			continue;
		for (up = 0; up < n_uplinks; up++)
			if (uplink[up].s_addr == t->local.s_addr)
				break;
		if (up == n_uplinks)
			uplink[n_uplinks++] = t->local;
		/* IPsec too: IKE (UDP 500/4500) and ESP leave from the
		 * tunnel's local address like GRE does. */
		if (up >= DESIRED_MAX_UPLINKS) {
			err = -E2BIG;
			break;
		}
		r.table = DESIRED_PIN_TABLE_BASE + (uint32_t)up;
		r.dst.family = AF_INET;
		r.dst.v4 = t->remote;
		r.dst.len = 32;
		snprintf(r.nh[0].dev, IFNAMSIZ, "%s", u->interface);
		if (u->has_gateway)
			r.nh[0].gw = u->gateway;
		r.nh[0].weight = 1;
		if ((err = kernel_state_add_route(ks, &r)) < 0)
			break;
		if (!ruled[up]) {
			struct kernel_rule rule = {
				.priority = DESIRED_PIN_PRIO_BASE + (uint32_t)up,
				.table = r.table,
			};

			rule.src.family = AF_INET;
			rule.src.v4 = t->local;
			rule.src.len = 32;
			if ((err = kernel_state_add_rule(ks, &rule)) < 0)
				break;
			ruled[up] = true;
		}
	}
	free(uplink);
	return err;
}

/* A tunnel's priority in a policy, as the provider would rank it. */
static uint64_t
effective(const struct config_policy_tunnel *pt, const enum health_state *health)
{
	return (uint64_t)pt->priority +
	       (health ? health_penalty(health[pt->tunnel]) : 0);
}

/*
 * Nexthop object ids.  A tunnel's path and a policy's group are named by a
 * hash of the tunnel's or policy's name, not by their place in the config:
 * adding, removing or reordering entries then leaves the other ids alone,
 * and with them the groups' buckets (the flows' tunnels).  A collision
 * takes the next free id, in config order.
 */
static int
assign_ids(const char *const *names, size_t n, uint32_t base, uint32_t *out)
{
	/* One bit per id of the 64 Ki in [base, base + 0xffff]. */
	uint64_t *used;

	if (n >= DESIRED_NH_IDS)
		return -E2BIG;
	if ((used = calloc(DESIRED_NH_IDS / 64, sizeof(*used))) == NULL)
		return -ENOMEM;
	/* Slot 0 stays free: a tunnel's slot is also its conntrack mark,
	 * and mark 0 is every connection nobody marked; and the kernel test
	 * at start uses it (DESIRED_NH_PROBE_PATH, _GROUP). */
	used[0] = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t slot = ifid_name_hash(names[i]) % DESIRED_NH_IDS;

		while (used[slot / 64] & (UINT64_C(1) << (slot % 64)))
			slot = (slot + 1) % DESIRED_NH_IDS;
		used[slot / 64] |= UINT64_C(1) << (slot % 64);
		out[i] = base + slot;
	}
	free(used);
	return 0;
}

/*
 * Make @r, an IPv4 default route of a policy table, its IPv6 twin: ::/0
 * with the same metric, except that the kernel stores an IPv6 route of
 * metric 0 as 1024 (IP6_RT_PRIO_USER), so that is what we ask for and
 * find again.
 */
#define DESIRED_IPV6_METRIC_0 1024u
static void
as_ipv6_default(struct kernel_route *r)
{
	memset(&r->dst, 0, sizeof(r->dst));
	r->dst.family = AF_INET6;
	if (r->metric == 0)
		r->metric = DESIRED_IPV6_METRIC_0;
}

/* Every tunnel is one nexthop object, on-link through its device; one
 * with an address6 is a second, of IPv6 (an IPv6 route takes no IPv4
 * path). */
static int
build_paths(const struct config *conf, const uint32_t *path_id,
	    struct kernel_state *ks)
{
	int err;

	for (size_t i = 0; i < conf->n_tunnels; i++) {
		struct kernel_nhobj nh = { .id = path_id[i],
					   .protocol = KERNEL_RTPROT_TUNSTEER };

		snprintf(nh.dev, sizeof(nh.dev), "%s", conf->tunnels[i].name);
		if ((err = kernel_state_add_nhobj(ks, &nh)) < 0)
			return err;
		if (!conf->tunnels[i].has_address6)
			continue;
		nh.id = desired_nh_v6(path_id[i]);
		nh.family = AF_INET6;
		if ((err = kernel_state_add_nhobj(ks, &nh)) < 0)
			return err;
	}
	return 0;
}

/*
 * A policy's route through group @g (already filled with the IPv4 paths)
 * behind its blackhole fallback, and the same in IPv6 if the policy has
 * IPv6 prefixes: the twin group of the same tunnels and weights, so both
 * families fail over at the same moment.
 */
static int
add_policy_routes(const struct config_policy *pol, struct kernel_route r,
		  struct kernel_nhobj g, struct kernel_state *ks)
{
	int families = config_policy_has_ipv6(pol) ? 2 : 1;
	int err;

	for (int f = 0; f < families; f++) {
		struct kernel_route fb;

		if (f == 1) {
			as_ipv6_default(&r);
			g.family = AF_INET6;
			g.id = desired_nh_v6(g.id);
			for (unsigned int m = 0; m < g.n_members; m++)
				g.member[m].id = desired_nh_v6(g.member[m].id);
		}
		/* Fail closed: if the route through the group is missing (a
		 * kernel error, a link deleted under us), the lookup ends
		 * here, not in main. */
		fb = r;
		fb.blackhole = true;
		fb.nhid = 0;
		fb.metric = DESIRED_FALLBACK_METRIC;
		if ((err = kernel_state_add_route(ks, &fb)) < 0)
			return err;
		r.nhid = g.id;
		if ((err = kernel_state_add_nhobj(ks, &g)) < 0 ||
		    (err = kernel_state_add_route(ks, &r)) < 0)
			return err;
	}
	return 0;
}

/*
 * A policy's table holds one default route through the policy's nexthop
 * group: resilient, over the tunnels with the best (lowest) effective
 * priority, weighted.  When the set changes the group is replaced in
 * place: a tunnel that leaves takes only its own buckets' flows with it,
 * one that joins takes over idle buckets only, so flows on the tunnels
 * that stay keep their tunnel.
 */
static int
build_policy_route(const struct config *conf, size_t p, uint32_t group_id,
		   const uint32_t *path_id, const enum health_state *health,
		   struct kernel_state *ks)
{
	const struct config_policy *pol = &conf->policies[p];
	struct kernel_route r = { .table = desired_policy_table(p),
				  .protocol = KERNEL_RTPROT_TUNSTEER };
	struct kernel_nhobj g = { .id = group_id,
				  .protocol = KERNEL_RTPROT_TUNSTEER,
				  .resilient = true,
				  .buckets = DESIRED_NH_BUCKETS,
				  .idle_timer = DESIRED_NH_IDLE_TIMER,
				  .unbalanced_timer = DESIRED_NH_UNBALANCED_TIMER };
	uint64_t best = UINT64_MAX;
	int err;

	r.dst.family = AF_INET;
	for (size_t i = 0; i < pol->n_tunnels; i++)
		if (effective(&pol->tunnels[i], health) < best)
			best = effective(&pol->tunnels[i], health);
	/* Every tunnel down and the policy asks for the ISP then: no route
	 * in the table, not even the fallback, so the lookup falls through to
	 * the main table. */
	if (pol->all_down_isp && pol->n_tunnels && health &&
	    best >= HEALTH_PENALTY_DOWN) {
		bool all_down = true;

		for (size_t i = 0; i < pol->n_tunnels; i++)
			if (health[pol->tunnels[i].tunnel] != HEALTH_DOWN)
				all_down = false;
		if (all_down)
			return 0;
	}
	if (pol->n_tunnels == 0) {
		/* Not reachable from a validated config; never leak. */
		r.blackhole = true;
		if ((err = kernel_state_add_route(ks, &r)) < 0 ||
		    !config_policy_has_ipv6(pol))
			return err;
		as_ipv6_default(&r);
		return kernel_state_add_route(ks, &r);
	}
	for (size_t i = 0; i < pol->n_tunnels; i++) {
		const struct config_policy_tunnel *pt = &pol->tunnels[i];

		if (effective(pt, health) != best)
			continue;
		if (g.n_members == KERNEL_MAX_NEXTHOPS)
			return -E2BIG;
		g.member[g.n_members].id = path_id[pt->tunnel];
		g.member[g.n_members].weight = (uint16_t)pt->weight;
		g.n_members++;
	}
	return add_policy_routes(pol, r, g, ks);
}

int
desired_path_ids(const struct config *conf, uint32_t *ids)
{
	const char **names = calloc(conf->n_tunnels + 1, sizeof(*names));
	int err;

	if (names == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_tunnels; i++)
		names[i] = conf->tunnels[i].name;
	err = assign_ids(names, conf->n_tunnels, DESIRED_NH_PATH_BASE, ids);
	free(names);
	return err;
}

/* XFRM if_ids, like nexthop ids, follow names, in tunsteerd's range:
 * src/lib/ifid.h, which tunsteer-edge's if_ids share. */
int
desired_xfrm_if_ids(const struct config *conf, uint32_t *ids)
{
	const struct kernel_marks *m = &kernel_marks_tunsteerd;
	const char **names;
	int err;

	if (conf->n_tunnels == 0)
		return 0;
	if ((names = calloc(conf->n_tunnels, sizeof(*names))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_tunnels; i++)
		if (conf->tunnels[i].type == TUNNEL_IPSEC)
			names[i] = conf->tunnels[i].name;
	err = ifid_assign(names, conf->n_tunnels, m->xfrm_if_id_min,
			  m->xfrm_if_id_max, ids);
	free(names);
	return err;
}

/* Nexthop group ids of @conf's policies, into @group_id[p]. */
static int
group_ids(const struct config *conf, uint32_t *group_id)
{
	const char **names = calloc(conf->n_policies + 1, sizeof(*names));
	int err;

	if (names == NULL)
		return -ENOMEM;
	for (size_t p = 0; p < conf->n_policies; p++)
		names[p] = conf->policies[p].name;
	err = assign_ids(names, conf->n_policies, DESIRED_NH_GROUP_BASE, group_id);
	free(names);
	return err;
}

/* One rule per policy, and how multipath hashes; health changes none. */
static int
build_policy_rules(const struct config *conf, struct kernel_state *ks)
{
	int err;

	if (conf->n_policies > DESIRED_MAX_POLICIES)
		return -E2BIG;
	for (size_t p = 0; p < conf->n_policies; p++) {
		struct kernel_rule rule = {
			.priority = DESIRED_POLICY_PRIO_BASE + (uint32_t)p,
			.table = desired_policy_table(p),
			.fwmark = desired_policy_fwmark(p),
			.fwmask = 0xffffffff,
		};

		if ((err = kernel_state_add_rule(ks, &rule)) < 0)
			return err;
		if (!config_policy_has_ipv6(&conf->policies[p]))
			continue;
		rule.family = AF_INET6;
		if ((err = kernel_state_add_rule(ks, &rule)) < 0)
			return err;
	}
	/* ECMP and resilient groups hash on the 5-tuple, not just the
	 * addresses: flows between two hosts spread, and a flow's packets
	 * (fragments aside) always hash alike.  IPv6 has its own knob. */
	if ((err = kernel_state_add_sysctl(ks, "net/ipv4/fib_multipath_hash_policy",
					   "1")) < 0)
		return err;
	for (size_t p = 0; p < conf->n_policies; p++)
		if (config_policy_has_ipv6(&conf->policies[p]))
			return kernel_state_add_sysctl(ks,
				"net/ipv6/fib_multipath_hash_policy", "1");
	return 0;
}

/* The policies' groups and tables' routes, from @path_id. */
static int
build_egress(const struct config *conf, const uint32_t *path_id,
	     const enum health_state *health, struct kernel_state *ks)
{
	uint32_t *group_id;
	int err;

	if (conf->n_policies > DESIRED_MAX_POLICIES)
		return -E2BIG;
	if ((group_id = calloc(conf->n_policies + 1, sizeof(*group_id))) == NULL)
		return -ENOMEM;
	err = group_ids(conf, group_id);
	for (size_t p = 0; err == 0 && p < conf->n_policies; p++)
		err = build_policy_route(conf, p, group_id[p], path_id, health, ks);
	free(group_id);
	return err;
}

int
desired_build_egress(const struct config *conf, const enum health_state *health,
		     struct kernel_state *eg)
{
	uint32_t *path_id = calloc(conf->n_tunnels + 1, sizeof(*path_id));
	int err;

	kernel_state_init(eg);
	if (path_id == NULL)
		return -ENOMEM;
	if ((err = desired_path_ids(conf, path_id)) < 0 ||
	    (err = build_egress(conf, path_id, health, eg)) < 0)
		kernel_state_free(eg);
	free(path_id);
	return err;
}

int
desired_build_standby(const struct config *conf, struct kernel_state *eg)
{
	int err = 0;

	kernel_state_init(eg);
	if (conf->n_policies > DESIRED_MAX_POLICIES)
		return -E2BIG;
	for (size_t p = 0; err == 0 && p < conf->n_policies; p++) {
		struct kernel_route r = { .table = desired_policy_table(p),
					  .protocol = KERNEL_RTPROT_TUNSTEER,
					  .blackhole = true };

		r.dst.family = AF_INET;
		/* The same route as the fallback of an active policy, so
		 * taking over leaves it in place. */
		if (conf->policies[p].n_tunnels)
			r.metric = DESIRED_FALLBACK_METRIC;
		err = kernel_state_add_route(eg, &r);
		if (err == 0 && config_policy_has_ipv6(&conf->policies[p])) {
			as_ipv6_default(&r);
			err = kernel_state_add_route(eg, &r);
		}
	}
	if (err < 0)
		kernel_state_free(eg);
	return err;
}

static void
tunnel_list(struct strbuf *b, const struct config *conf)
{
	strbuf_printf(b, "{ ");
	for (size_t i = 0; i < conf->n_tunnels; i++)
		strbuf_printf(b, "%s\"%s\"", i ? ", " : "", conf->tunnels[i].name);
	strbuf_printf(b, " }");
}

/* "\t\toifname { <each underlay interface once> }" into @b, if any
 * tunnel has an underlay; false (and nothing written) if none has. */
static bool
underlay_list(struct strbuf *b, const struct config *conf)
{
	bool any = false;

	for (size_t i = 0; i < conf->n_tunnels; i++) {
		const struct config_underlay *u = &conf->tunnels[i].underlay;
		bool dup = false;

		if (!u->set)
			continue;
		for (size_t j = 0; j < i; j++)
			if (conf->tunnels[j].underlay.set &&
			    strcmp(conf->tunnels[j].underlay.interface,
				   u->interface) == 0)
				dup = true;
		if (dup)
			continue;
		strbuf_printf(b, "%s\"%s\"", any ? ", " : "\t\toifname { ",
			      u->interface);
		any = true;
	}
	if (any)
		strbuf_printf(b, " }");
	return any;
}

static bool
any_nat(const struct config *conf)
{
	for (size_t p = 0; p < conf->n_policies; p++)
		if (conf->policies[p].nat.set)
			return true;
	return false;
}

/*
 * Source NAT's sets and counters: per policy with nat, set nat_<policy>
 * (its nat.from) and counter nat_<policy> (its translated connections);
 * set `translated` (every policy's nat.from) and `translated_to` (every
 * nat.to).  Names of neither kind can clash with auth_<policy>,
 * `authorized` or `tunnel_addrs`.  Both sets' prefixes are disjoint:
 * config.c refuses overlapping nat.from, and each nat.to lies inside
 * its own policy's prefixes, which are disjoint from the others'.
 */
static int
build_nat_sets(const struct config *conf, struct nft_state *ns)
{
	struct ts_prefix *from, *to;
	size_t nf = 0, nt = 0;
	int err = 0;

	for (size_t p = 0; p < conf->n_policies; p++)
		nf += conf->policies[p].nat.n_from;
	from = calloc(nf + 1, sizeof(*from));
	to = calloc(conf->n_policies + 1, sizeof(*to));
	if (from == NULL || to == NULL) {
		err = -ENOMEM;
		goto out;
	}
	nf = 0;
	for (size_t p = 0; p < conf->n_policies && err == 0; p++) {
		const struct config_nat *nat = &conf->policies[p].nat;
		char name[64];

		if (!nat->set)
			continue;
		desired_nat_name(name, sizeof(name), conf->policies[p].name);
		if ((err = add_set(ns, name, AF_INET, nat->from, nat->n_from)) < 0 ||
		    (err = add_counter(ns, name)) < 0)
			break;
		if (nat->n_from)
			memcpy(from + nf, nat->from, nat->n_from * sizeof(*from));
		nf += nat->n_from;
		to[nt++] = nat->to;
	}
	if (err == 0)
		err = add_set(ns, "translated", AF_INET, from, nf);
	if (err == 0)
		err = add_set(ns, "translated_to", AF_INET, to, nt);
out:
	free(from);
	free(to);
	return err;
}

/* "{ "t1", "t2" }" for the tunnels of @pol. */
static void
policy_tunnel_list(struct strbuf *b, const struct config *conf,
		   const struct config_policy *pol)
{
	strbuf_printf(b, "{ ");
	for (size_t i = 0; i < pol->n_tunnels; i++)
		strbuf_printf(b, "%s\"%s\"", i ? ", " : "",
			      conf->tunnels[pol->tunnels[i].tunnel].name);
	strbuf_printf(b, " }");
}

/*
 * The translation of @pol's nat.from: one address of nat.to per source,
 * jhash(source) mod the size of nat.to with a fixed seed, so a source
 * gets the same address on every tunnel, across reloads and restarts,
 * and a failover that moves its flows keeps their translated source.
 * The source port is kept where it is free (snat without a port range).
 */
static void
snat_rule(struct strbuf *b, const struct config *conf, size_t p)
{
	const struct config_policy *pol = &conf->policies[p];
	uint32_t base = ntohl(pol->nat.to.v4.s_addr);
	uint32_t n = 1u << (32 - pol->nat.to.len);
	char name[64], a[INET_ADDRSTRLEN];

	desired_nat_name(name, sizeof(name), pol->name);
	strbuf_printf(b, "\t\toifname ");
	policy_tunnel_list(b, conf, pol);
	strbuf_printf(b, " ip saddr @%s counter name \"%s\" snat ip to ", name,
		      name);
	if (n == 1) {
		strbuf_printf(b, "%s\n", inet_ntop(AF_INET, &pol->nat.to.v4, a,
						   sizeof(a)));
		return;
	}
	strbuf_printf(b, "jhash ip saddr mod %u seed %#x map { ", n,
		      DESIRED_NAT_HASH_SEED);
	for (uint32_t i = 0; i < n; i++) {
		struct in_addr x = { htonl(base + i) };

		strbuf_printf(b, "%s%u : %s", i ? ", " : "", i,
			      inet_ntop(AF_INET, &x, a, sizeof(a)));
	}
	strbuf_printf(b, " }\n");
}

static int
build_nft(const struct config *conf, const uint32_t *path_id,
	  struct nft_state *ns)
{
	struct strbuf b = { 0 };
	struct ts_prefix *all = NULL;
	size_t n_all = 0;
	bool nat = any_nat(conf);
	/* With nat, the sources in nat.from are the site's too: traffic to
	 * them stays on the LAN, and they may enter a tunnel (translated,
	 * which chain translate_check makes sure of). */
	const char *not_nat_dst = nat ? " ip daddr != @translated" : "";
	const char *not_nat_src = nat ? " ip saddr != @translated" : "";
	/* IPv6 objects only where IPv6 is in use: an IPv4-only config gets
	 * the table it always had. */
	bool v6 = config_has_ipv6(conf);
	int err = 0;

	for (size_t p = 0; p < conf->n_policies; p++)
		n_all += conf->policies[p].n_prefixes;
	if (n_all && (all = malloc(n_all * sizeof(*all))) == NULL)
		return -ENOMEM;
	/* Per family: every policy's IPv4 set (empty for a policy of IPv6
	 * alone) and `authorized`; with IPv6, the IPv6 set of each policy
	 * that has IPv6 prefixes and `authorized6`. */
	for (int f = 0; f < (v6 ? 2 : 1) && err == 0; f++) {
		int family = f ? AF_INET6 : AF_INET;

		n_all = 0;
		for (size_t p = 0; p < conf->n_policies && err == 0; p++) {
			const struct config_policy *pol = &conf->policies[p];
			char name[64];
			size_t own;

			if (family == AF_INET6 && !config_policy_has_ipv6(pol))
				continue;
			own = of_family(pol->prefixes, pol->n_prefixes, family,
					all + n_all);
			set_name(name, sizeof(name), pol->name, family);
			for (size_t s = 0; s < ns->n_sets; s++)
				if (strcmp(ns->sets[s].name, name) == 0)
					err = -ENOTUNIQ;
			if (err == 0)
				err = add_set(ns, name, family, all + n_all, own);
			n_all += own;
		}
		if (err == 0)
			err = add_set(ns, f ? "authorized6" : "authorized",
				      family, all, n_all);
	}
	free(all);
	/* Our tunnels' inner addresses: the provider's health checks are
	 * answered from them (and reply-type checks forwarded back with
	 * them as source) through the tunnel they came in on. */
	if (err == 0) {
		struct ts_prefix *inner = calloc(conf->n_tunnels + 1, sizeof(*inner));

		if (inner == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < conf->n_tunnels; i++) {
			inner[i] = conf->tunnels[i].address;
			inner[i].len = 32;
		}
		err = add_set(ns, "tunnel_addrs", AF_INET, inner, conf->n_tunnels);
		free(inner);
	}
	if (err == 0 && nat)
		err = build_nat_sets(conf, ns);
	if (err)
		return err;

	/*
	 * Mark authorized sources, forwarded and local, per policy; not
	 * traffic between the site's own prefixes (the router answering a
	 * LAN host from its LAN address, one policy's hosts reaching
	 * another's): that stays on the LAN, never goes to the provider.
	 */
	static const char *const hooks[][2] = {
		{ "prerouting", "type filter hook prerouting priority mangle" },
		{ "output", "type route hook output priority mangle" },
	};
	for (size_t h = 0; h < 2; h++) {
		strbuf_printf(&b, "\tchain %s {\n\t\t%s; policy accept;\n",
			    hooks[h][0], hooks[h][1]);
		for (size_t p = 0; p < conf->n_policies; p++) {
			char name[64];

			set_name(name, sizeof(name), conf->policies[p].name,
				 AF_INET);
			strbuf_printf(&b, "\t\tip saddr @%s ip daddr != @authorized%s "
				    "meta mark set %#x\n", name, not_nat_dst,
				    desired_policy_fwmark(p));
			if (config_policy_has_ipv6(&conf->policies[p])) {
				set_name(name, sizeof(name),
					 conf->policies[p].name, AF_INET6);
				strbuf_printf(&b, "\t\tip6 saddr @%s ip6 daddr != "
					      "@authorized6 meta mark set %#x\n",
					      name, desired_policy_fwmark(p));
			}
			if (!conf->policies[p].nat.set)
				continue;
			/* nat.from follows the policy's tunnels. */
			desired_nat_name(name, sizeof(name), conf->policies[p].name);
			strbuf_printf(&b, "\t\tip saddr @%s ip daddr != @authorized%s "
				    "meta mark set %#x\n", name, not_nat_dst,
				    desired_policy_fwmark(p));
		}
		/* A packet from the provider to a translated address that
		 * belongs to no connection has nowhere to go (nothing lives
		 * at those addresses).  Dropped before conntrack confirms it,
		 * so no such entry takes the tuple that a LAN host's flow
		 * needs again after a failover deleted its entry. */
		if (h == 0 && nat && conf->n_tunnels) {
			strbuf_printf(&b, "\t\tiifname ");
			tunnel_list(&b, conf);
			strbuf_printf(&b, " ip daddr @translated_to ct state new "
				      "counter drop comment \"no connection to a "
				      "translated address\"\n");
		}
		strbuf_printf(&b, "\t}\n");
	}

	/* A connection's first packet leaving through a tunnel marks the
	 * connection with that tunnel, so that when the tunnel fails its
	 * conntrack entries, and only those, can be deleted. */
	strbuf_printf(&b, "\tchain conntrack {\n"
		    "\t\ttype filter hook postrouting priority mangle; policy accept;\n");
	if (conf->n_tunnels) {
		strbuf_printf(&b, "\t\tct state new ct mark set oifname map { ");
		for (size_t i = 0; i < conf->n_tunnels; i++)
			strbuf_printf(&b, "%s\"%s\" : %#x", i ? ", " : "",
				    conf->tunnels[i].name,
				    desired_ct_mark(path_id[i]));
		strbuf_printf(&b, " }\n");
	}
	strbuf_printf(&b, "\t}\n");

	strbuf_printf(&b, "\tchain forward {\n"
		    "\t\ttype filter hook forward priority mangle; policy accept;\n");
	if (conf->n_tunnels) {
		/* Egress hygiene: whatever the routing says, a packet from a
		 * source that is not authorized never enters a tunnel. */
		strbuf_printf(&b, "\t\toifname ");
		tunnel_list(&b, conf);
		strbuf_printf(&b, " ip saddr != @authorized ip saddr != @tunnel_addrs%s "
			    "counter drop comment \"unauthorized source into a tunnel\"\n",
			    not_nat_src);
		if (v6) {
			strbuf_printf(&b, "\t\toifname ");
			tunnel_list(&b, conf);
			strbuf_printf(&b, " ip6 saddr != @authorized6 counter drop "
				      "comment \"unauthorized source into a "
				      "tunnel\"\n");
		}
	}
	if (conf->unauthorized == UNAUTH_DROP && underlay_list(&b, conf))
		strbuf_printf(&b, " ip saddr != @authorized%s counter drop "
			      "comment \"unauthorized egress\"\n", not_nat_src);
	if (conf->unauthorized6 == UNAUTH_DROP && underlay_list(&b, conf))
		strbuf_printf(&b, " ip6 saddr != @authorized6 counter drop "
			      "comment \"unauthorized egress\"\n");
	if (conf->mss_clamp) {
		/* Both directions of every tunnel: SYNs leaving through it and
		 * SYNs arriving from it advertise at most what fits.  IPv6
		 * first, with its smaller value: the IPv4 rules after it
		 * match either family and then find nothing to lower. */
		for (size_t i = 0; i < conf->n_tunnels; i++) {
			const struct config_tunnel *t = &conf->tunnels[i];

			if (t->mss == 0)
				continue;
			for (int dir = 0; dir < 2 && t->has_address6 && t->mss6; dir++)
				strbuf_printf(&b, "\t\t%s \"%s\" meta nfproto "
					      "ipv6 tcp flags syn / syn,rst tcp "
					      "option maxseg size > %u tcp option "
					      "maxseg size set %u\n",
					      dir ? "iifname" : "oifname", t->name,
					      t->mss6, t->mss6);
			strbuf_printf(&b, "\t\toifname \"%s\" tcp flags syn / syn,rst "
				    "tcp option maxseg size > %u "
				    "tcp option maxseg size set %u\n",
				    t->name, t->mss, t->mss);
			strbuf_printf(&b, "\t\tiifname \"%s\" tcp flags syn / syn,rst "
				    "tcp option maxseg size > %u "
				    "tcp option maxseg size set %u\n",
				    t->name, t->mss, t->mss);
		}
	}
	strbuf_printf(&b, "\t}\n");
	if (nat) {
		/* nat chains see a connection's first packet only: the
		 * counter counts translated connections. */
		strbuf_printf(&b, "\tchain translate {\n\t\ttype nat hook "
			      "postrouting priority srcnat; policy accept;\n");
		for (size_t p = 0; p < conf->n_policies; p++)
			if (conf->policies[p].nat.set &&
			    conf->policies[p].n_tunnels)
				snat_rule(&b, conf, p);
		strbuf_printf(&b, "\t}\n");
		/* Fail closed, after the translation: a source of nat.from
		 * never enters a tunnel as it is (a connection that began
		 * before its nat { }, a tunnel of another policy). */
		strbuf_printf(&b, "\tchain translate_check {\n\t\ttype filter "
			      "hook postrouting priority srcnat + 1; policy "
			      "accept;\n");
		if (conf->n_tunnels) {
			strbuf_printf(&b, "\t\toifname ");
			tunnel_list(&b, conf);
			strbuf_printf(&b, " ip saddr @translated counter drop "
				      "comment \"untranslated source into a "
				      "tunnel\"\n");
		}
		strbuf_printf(&b, "\t}\n");
	}
	ns->chains = strbuf_take(&b, &err);
	return err;
}

int
desired_build(const struct config *conf, const enum health_state *health,
	      struct kernel_state *ks, struct nft_state *ns)
{
	uint32_t *path_id = calloc(conf->n_tunnels + 1, sizeof(*path_id));
	uint32_t *if_id = calloc(conf->n_tunnels + 1, sizeof(*if_id));
	int err;

	kernel_state_init(ks);
	memset(ns, 0, sizeof(*ns));
	if (path_id == NULL || if_id == NULL) {
		free(path_id);
		free(if_id);
		return -ENOMEM;
	}
	if ((err = desired_path_ids(conf, path_id)) < 0 ||
	    (err = desired_xfrm_if_ids(conf, if_id)) < 0 ||
	    (err = build_links(conf, if_id, ks)) < 0 ||
	    (err = build_pins(conf, ks)) < 0 ||
	    (err = build_paths(conf, path_id, ks)) < 0 ||
	    (err = build_policy_rules(conf, ks)) < 0 ||
	    (err = build_nft(conf, path_id, ns)) < 0 ||
	    /* Last, so that a health change can replace it in place. */
	    (err = build_egress(conf, path_id, health, ks)) < 0) {
		kernel_state_free(ks);
		nft_state_free(ns);
	}
	free(path_id);
	free(if_id);
	return err;
}

void
desired_plain_groups(struct kernel_state *ks)
{
	for (size_t i = 0; i < ks->n_nhobjs; i++) {
		struct kernel_nhobj *nh = &ks->nhobjs[i];

		nh->resilient = false;
		nh->buckets = 0;
		nh->idle_timer = 0;
		nh->unbalanced_timer = 0;
	}
}
