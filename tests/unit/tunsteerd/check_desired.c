/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config → desired kernel state (links, pins, policy tables and rules, nft
 * sets and chains), and the nft owner applying it incrementally.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "tunsteerd/desired.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "tunsteerd/nft.h"
#include "testlib.h"

static struct config conf;
static struct config_tunnel tun[3];
static struct config_policy pol;
static struct config_policy_tunnel pt[3];
static struct ts_prefix prefixes[2];

static void
tunnel(struct config_tunnel *t, const char *name, const char *local,
       const char *remote, const char *addr, const char *wan, const char *gw)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->type = TUNNEL_GRE;
	t->local = ip(local);
	t->remote = ip(remote);
	ck_assert_int_eq(ts_prefix_parse(addr, false, &t->address), 0);
	t->mtu = 1476;
	t->ttl = 64;
	t->mss = 1436;
	t->underlay.set = true;
	snprintf(t->underlay.interface, IFNAMSIZ, "%s", wan);
	t->underlay.has_gateway = true;
	t->underlay.gateway = ip(gw);
}

/* cf1, cf2 over wan1 to both anycast endpoints, cf3 over wan2; policy
 * "office" prefers cf1 (weight 1) + cf2 (weight 2) at priority 100, cf3 at
 * 200. */
static void
setup(void)
{
	log_init("check_desired", true, LOG_LVL_ERR);
	memset(&conf, 0, sizeof(conf));
	tunnel(&tun[0], "cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31", "wan1", "198.51.100.1");
	tunnel(&tun[1], "cf2", "198.51.100.2", "192.0.2.2", "198.19.0.3/31", "wan1", "198.51.100.1");
	tunnel(&tun[2], "cf3", "198.51.100.6", "192.0.2.1", "198.19.0.5/31", "wan2", "198.51.100.5");
	pt[0] = (struct config_policy_tunnel){ .tunnel = 0, .priority = 100, .weight = 1 };
	pt[1] = (struct config_policy_tunnel){ .tunnel = 1, .priority = 100, .weight = 2 };
	pt[2] = (struct config_policy_tunnel){ .tunnel = 2, .priority = 200, .weight = 1 };
	ck_assert_int_eq(ts_prefix_parse("203.0.113.0/25", true, &prefixes[0]), 0);
	ck_assert_int_eq(ts_prefix_parse("198.18.7.0/24", true, &prefixes[1]), 0);
	memset(&pol, 0, sizeof(pol));
	strcpy(pol.name, "office");
	pol.prefixes = prefixes;
	pol.n_prefixes = 1;
	pol.tunnels = pt;
	pol.n_tunnels = 3;
	conf.tunnels = tun;
	conf.n_tunnels = 3;
	conf.policies = &pol;
	conf.n_policies = 1;
	conf.mss_clamp = true;
}

static const struct kernel_route *
find_route(const struct kernel_state *ks, uint32_t table, const char *dst)
{
	struct ts_prefix p;

	ck_assert_int_eq(ts_prefix_parse(dst, false, &p), 0);
	for (size_t i = 0; i < ks->n_routes; i++)
		if (ks->routes[i].table == table &&
		    ks->routes[i].metric != DESIRED_FALLBACK_METRIC &&
		    ts_prefix_equal(&ks->routes[i].dst, &p))
			return &ks->routes[i];
	return NULL;
}

/* The policy table's fail-closed fallback, or NULL. */
static const struct kernel_route *
find_fallback(const struct kernel_state *ks, uint32_t table)
{
	for (size_t i = 0; i < ks->n_routes; i++)
		if (ks->routes[i].table == table &&
		    ks->routes[i].metric == DESIRED_FALLBACK_METRIC)
			return &ks->routes[i];
	return NULL;
}

static void
route_text(const struct kernel_route *r, char *buf, size_t len)
{
	ck_assert_ptr_nonnull(r);
	kernel_route_format(r, buf, len);
}

static const struct kernel_nhobj *
find_nhobj(const struct kernel_state *ks, uint32_t id)
{
	for (size_t i = 0; i < ks->n_nhobjs; i++)
		if (ks->nhobjs[i].id == id)
			return &ks->nhobjs[i];
	return NULL;
}

/* Where policy "office" sends traffic: the tunnels of the group its route
 * goes through, "cf1*1 cf2*2" (device*weight), or "none" without a route. */
static void
policy_egress(const struct kernel_state *ks, char *buf, size_t len)
{
	const struct kernel_route *r = find_route(ks, 21100, "0.0.0.0/0");
	const struct kernel_nhobj *g;
	size_t off = 0;

	if (r == NULL) {
		snprintf(buf, len, "none");
		return;
	}
	ck_assert_uint_eq(r->protocol, KERNEL_RTPROT_TUNSTEER);
	ck_assert_uint_eq(r->n_nexthops, 0);
	ck_assert_ptr_nonnull(g = find_nhobj(ks, r->nhid));
	ck_assert(g->resilient);
	buf[0] = '\0';
	for (unsigned int m = 0; m < g->n_members; m++) {
		const struct kernel_nhobj *p = find_nhobj(ks, g->member[m].id);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(p->n_members, 0);
		off += (size_t)snprintf(buf + off, len - off, "%s%s*%u",
					m ? " " : "", p->dev, g->member[m].weight);
	}
}

START_TEST(test_policy_table_spreads_over_best_priority_tunnels_by_weight)
{
	struct kernel_state ks;
	struct nft_state ns;
	char text[512];

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	route_text(find_route(&ks, 21100, "0.0.0.0/0"), text, sizeof(text));
	ck_assert_str_eq(text, "table 21100 0.0.0.0/0 metric 0 proto 227"
			 " nhid 0x7474ba31");
	policy_egress(&ks, text, sizeof(text));
	ck_assert_str_eq(text, "cf1*1 cf2*2");
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

/* Flows stay on their tunnel only if the kernel hashes the 5-tuple into
 * a resilient group's buckets, which the group keeps across changes. */
START_TEST(test_policy_route_goes_through_a_resilient_group_with_l4_hash)
{
	struct kernel_state ks;
	struct nft_state ns;
	const struct kernel_nhobj *g;
	bool hash_policy = false;

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_nonnull(g = find_nhobj(&ks,
		find_route(&ks, 21100, "0.0.0.0/0")->nhid));
	ck_assert(kernel_nhobj_is_ours(g));
	ck_assert(g->resilient);
	ck_assert_uint_eq(g->buckets, DESIRED_NH_BUCKETS);
	ck_assert_uint_eq(g->unbalanced_timer, 0);
	/* One path per tunnel, each ours, on-link through its device. */
	ck_assert_uint_eq(ks.n_nhobjs, 3 + 1);
	for (size_t i = 0; i < ks.n_nhobjs; i++)
		ck_assert(kernel_nhobj_is_ours(&ks.nhobjs[i]));
	for (size_t i = 0; i < ks.n_sysctls; i++)
		if (strcmp(ks.sysctls[i].path,
			   "net/ipv4/fib_multipath_hash_policy") == 0 &&
		    strcmp(ks.sysctls[i].value, "1") == 0)
			hash_policy = true;
	ck_assert_msg(hash_policy, "fib_multipath_hash_policy=1 not set");
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

/* Ids come from names: adding a tunnel in front, or reordering, must not
 * rename the others' nexthops (that would replace the group's members and
 * move every flow). */
START_TEST(test_nexthop_ids_follow_names_not_config_order)
{
	struct kernel_state a, b;
	struct nft_state ns;
	struct config_tunnel saved[3];
	uint32_t cf1_id = 0, cf1_id_after = 0;

	ck_assert_int_eq(desired_build(&conf, NULL, &a, &ns), 0);
	nft_state_free(&ns);
	for (size_t i = 0; i < a.n_nhobjs; i++)
		if (strcmp(a.nhobjs[i].dev, "cf1") == 0)
			cf1_id = a.nhobjs[i].id;
	/* cf3 moves to the front: policy tunnel indexes follow. */
	memcpy(saved, tun, sizeof(saved));
	tun[0] = saved[2];
	tun[1] = saved[0];
	tun[2] = saved[1];
	pt[0].tunnel = 1;
	pt[1].tunnel = 2;
	pt[2].tunnel = 0;
	ck_assert_int_eq(desired_build(&conf, NULL, &b, &ns), 0);
	nft_state_free(&ns);
	for (size_t i = 0; i < b.n_nhobjs; i++)
		if (strcmp(b.nhobjs[i].dev, "cf1") == 0)
			cf1_id_after = b.nhobjs[i].id;
	ck_assert_uint_ne(cf1_id, 0);
	ck_assert_uint_eq(cf1_id, cf1_id_after);
	ck_assert_uint_eq(a.routes[a.n_routes - 1].nhid,
			  b.routes[b.n_routes - 1].nhid);
	kernel_state_free(&a);
	kernel_state_free(&b);
}
END_TEST

static void
policy_route_is(const enum health_state *health, const char *want)
{
	struct kernel_state ks;
	struct nft_state ns;
	char text[512];

	ck_assert_int_eq(desired_build(&conf, health, &ks, &ns), 0);
	policy_egress(&ks, text, sizeof(text));
	ck_assert_str_eq(text, want);
	kernel_state_free(&ks);
	nft_state_free(&ns);
}

START_TEST(test_down_best_tunnels_fail_over_to_next_priority)
{
	enum health_state h[3] = { HEALTH_DOWN, HEALTH_DOWN, HEALTH_UP };

	policy_route_is(h, "cf3*1");
	/* One of the best back: only it. */
	h[1] = HEALTH_UP;
	policy_route_is(h, "cf2*2");
}
END_TEST

START_TEST(test_degraded_tunnel_ranks_behind_every_healthy_one)
{
	enum health_state h[3] = { HEALTH_DEGRADED, HEALTH_UP, HEALTH_UP };

	policy_route_is(h, "cf2*2");
	/* …but ahead of a down one, whatever the priorities. */
	h[1] = h[2] = HEALTH_DOWN;
	policy_route_is(h, "cf1*1");
}
END_TEST

START_TEST(test_all_down_keeps_the_best_configured_route_like_the_provider)
{
	enum health_state h[3] = { HEALTH_DOWN, HEALTH_DOWN, HEALTH_DOWN };

	policy_route_is(h, "cf1*1 cf2*2");
}
END_TEST

/* @eg (desired_build_egress()) is @ks's last routes and nexthop objects,
 * object for object. */
static void
assert_egress_is_the_tail(const struct kernel_state *ks,
			  const struct kernel_state *eg)
{
	ck_assert_uint_ge(ks->n_routes, eg->n_routes);
	ck_assert_uint_ge(ks->n_nhobjs, eg->n_nhobjs);
	for (size_t i = 0; i < eg->n_routes; i++)
		ck_assert(kernel_route_equal(&eg->routes[i],
			&ks->routes[ks->n_routes - eg->n_routes + i]));
	for (size_t i = 0; i < eg->n_nhobjs; i++)
		ck_assert(kernel_nhobj_equal(&eg->nhobjs[i],
			&ks->nhobjs[ks->n_nhobjs - eg->n_nhobjs + i]));
}

/* A health change replaces the egress part in place (engine.c): it is
 * what desired_build() puts last, object for object. */
START_TEST(test_egress_alone_is_the_tail_of_the_whole_state)
{
	enum health_state h[3] = { HEALTH_DOWN, HEALTH_UP, HEALTH_UP };
	struct kernel_state ks, eg;
	struct nft_state ns;

	ck_assert_int_eq(desired_build(&conf, h, &ks, &ns), 0);
	ck_assert_int_eq(desired_build_egress(&conf, h, &eg), 0);
	ck_assert_uint_eq(eg.n_links + eg.n_addrs + eg.n_rules + eg.n_sysctls, 0);
	ck_assert_uint_eq(eg.n_nhobjs, 1);	/* the group */
	ck_assert_uint_eq(eg.n_routes, 2);	/* through it, and the fallback */
	assert_egress_is_the_tail(&ks, &eg);
	/* Nothing before the tail belongs to a policy table. */
	for (size_t i = 0; i < ks.n_routes - eg.n_routes; i++)
		ck_assert_uint_ne(ks.routes[i].table, desired_policy_table(0));
	kernel_state_free(&ks);
	kernel_state_free(&eg);
	nft_state_free(&ns);
}
END_TEST

START_TEST(test_anycast_endpoints_are_pinned_to_each_tunnels_underlay)
{
	struct kernel_state ks;
	struct nft_state ns;
	char text[512];

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	route_text(find_route(&ks, 21000, "192.0.2.1/32"), text, sizeof(text));
	ck_assert_str_eq(text, "table 21000 192.0.2.1/32 metric 0 proto 227"
			 " nexthop via 198.51.100.1 dev wan1 weight 1");
	route_text(find_route(&ks, 21000, "192.0.2.2/32"), text, sizeof(text));
	ck_assert_str_eq(text, "table 21000 192.0.2.2/32 metric 0 proto 227"
			 " nexthop via 198.51.100.1 dev wan1 weight 1");
	/* The same endpoint over the other ISP lives in the other table. */
	route_text(find_route(&ks, 21001, "192.0.2.1/32"), text, sizeof(text));
	ck_assert_str_eq(text, "table 21001 192.0.2.1/32 metric 0 proto 227"
			 " nexthop via 198.51.100.5 dev wan2 weight 1");
	ck_assert_uint_eq(ks.n_rules, 3);
	kernel_rule_format(&ks.rules[0], text, sizeof(text));
	ck_assert_str_eq(text, "prio 21000 from 198.51.100.2/32 table 21000");
	kernel_rule_format(&ks.rules[1], text, sizeof(text));
	ck_assert_str_eq(text, "prio 21001 from 198.51.100.6/32 table 21001");
	kernel_rule_format(&ks.rules[2], text, sizeof(text));
	ck_assert_str_eq(text, "prio 21100 from all fwmark 0x74730001/0xffffffff table 21100");
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

START_TEST(test_rule_count_does_not_grow_with_authorized_prefixes)
{
	enum { N = 10000 };
	struct ts_prefix *many = calloc(N, sizeof(*many));
	struct kernel_state ks;
	struct nft_state ns;

	ck_assert_ptr_nonnull(many);
	for (size_t i = 0; i < N; i++) {
		/* 10.0.0.0/29, 10.0.0.8/29, … */
		many[i].family = AF_INET;
		many[i].v4.s_addr = htonl(0x0a000000u + (uint32_t)i * 8);
		many[i].len = 29;
	}
	pol.prefixes = many;
	pol.n_prefixes = N;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_uint_eq(ks.n_rules, 3);	/* 2 uplinks + 1 policy */
	ck_assert_uint_eq(ns.n_sets, 3);
	ck_assert_uint_eq(ns.sets[0].n_elems, N);
	kernel_state_free(&ks);
	nft_state_free(&ns);
	free(many);
}
END_TEST

START_TEST(test_tunnels_get_provider_mtu_ttl_alias_and_rp_filter_off)
{
	struct kernel_state ks;
	struct nft_state ns;
	char text[256];

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_uint_eq(ks.n_links, 3);
	kernel_link_format(&ks.links[0], text, sizeof(text));
	ck_assert_str_eq(text, "cf1 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up");
	ck_assert_str_eq(ks.links[0].alias, "tunsteer:cf1");
	ck_assert_str_eq(ks.sysctls[0].path, "net/ipv4/conf/cf1/rp_filter");
	ck_assert_str_eq(ks.sysctls[0].value, "0");
	kernel_addr_format(&ks.addrs[2], text, sizeof(text));
	ck_assert_str_eq(text, "198.19.0.5/31 dev cf3");
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

START_TEST(test_nft_marks_authorized_clamps_mss_and_keeps_others_out_of_tunnels)
{
	struct kernel_state ks;
	struct nft_state ns;

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_str_eq(ns.sets[0].name, "auth_office");
	ck_assert_str_eq(ns.sets[1].name, "authorized");
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "ip saddr @auth_office ip daddr != @authorized meta mark set 0x74730001\n"));
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname { \"cf1\", \"cf2\", \"cf3\" } ip saddr != @authorized"
	    " ip saddr != @tunnel_addrs counter drop"));
	ck_assert_str_eq(ns.sets[2].name, "tunnel_addrs");
	ck_assert_uint_eq(ns.sets[2].n_elems, 3);
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname \"cf1\" tcp flags syn / syn,rst tcp option maxseg size > 1436"
	    " tcp option maxseg size set 1436\n"));
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "iifname \"cf3\" tcp flags syn / syn,rst tcp option maxseg size > 1436"
	    " tcp option maxseg size set 1436\n"));
	ck_assert_ptr_null(strstr(ns.chains, "unauthorized egress"));
	nft_state_free(&ns);
	kernel_state_free(&ks);

	conf.mss_clamp = false;
	conf.unauthorized = UNAUTH_DROP;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_null(strstr(ns.chains, "maxseg"));
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname { \"wan1\", \"wan2\" } ip saddr != @authorized counter drop"
	    " comment \"unauthorized egress\""));
	nft_state_free(&ns);
	kernel_state_free(&ks);
}
END_TEST

START_TEST(test_nft_prefix_change_is_applied_as_one_element_delete_and_add)
{
	struct kernel_ops *k = kernel_fake_create();
	struct nft_sync *s = nft_sync_create(k);
	struct kernel_state ks;
	struct nft_state ns;
	unsigned int changes;
	const char *log;

	/* Whole: set contents in bulk (no element as text), then the chains
	 * as one small script. */
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, &changes), 0);
	ck_assert_uint_eq(changes, 1);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log,
	    "nft replace set inet tunsteer auth_office { 203.0.113.0/25 }\n"
	    "nft replace set inet tunsteer authorized { 203.0.113.0/25 }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft table inet tunsteer {\n"));
	ck_assert_ptr_null(strstr(log, "elements"));
	ck_assert_ptr_null(strstr(log, "delete table"));
	kernel_state_free(&ks);
	nft_state_free(&ns);

	/* Same again: nothing. */
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, &changes), 0);
	ck_assert_uint_eq(changes, 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	kernel_state_free(&ks);
	nft_state_free(&ns);

	/* One prefix replaced: its element leaves both sets, the new one
	 * joins both; nothing else is touched. */
	pol.prefixes = &prefixes[1];
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, &changes), 0);
	ck_assert_uint_eq(changes, 4);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nft delete element inet tunsteer auth_office { 203.0.113.0/25 }\n"
	    "nft add element inet tunsteer auth_office { 198.18.7.0/24 }\n"
	    "nft delete element inet tunsteer authorized { 203.0.113.0/25 }\n"
	    "nft add element inet tunsteer authorized { 198.18.7.0/24 }\n");
	kernel_state_free(&ks);
	nft_state_free(&ns);

	/* Someone deletes our table: the check puts it back whole. */
	kernel_fake_nft_tamper(k);
	ck_assert_int_eq(nft_sync_drain(s), 1);
	ck_assert_int_eq(nft_sync_check(s), 1);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log,
	    "nft replace set inet tunsteer auth_office { 198.18.7.0/24 }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft table inet tunsteer {\n"));
	ck_assert_int_eq(nft_sync_drain(s), 0);
	ck_assert_int_eq(nft_sync_check(s), 0);

	ck_assert_int_eq(nft_sync_flush(s), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nft table inet tunsteer {}\nnft delete table inet tunsteer\n");
	nft_sync_destroy(s);
	k->destroy(k);
}
END_TEST

/*
 * Steady state: without a foreign change to our table, a check reads
 * nothing back and lists nothing, however often it runs (it used to list
 * the whole table every 30 s: a second of blocked loop at 100,000
 * prefixes).  A change to the elements of one set puts back exactly that
 * set's content, nothing else, without reading anything.
 */
START_TEST(test_nft_steady_state_lists_nothing_and_a_set_change_repairs_only_that_set)
{
	struct kernel_ops *k = kernel_fake_create();
	struct nft_sync *s = nft_sync_create(k);
	struct kernel_state ks;
	struct nft_state ns;
	struct ts_prefix x;

	ck_assert_int_eq(ts_prefix_parse("192.0.2.0/24", true, &x), 0);
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, NULL), 0);
	(void)kernel_fake_ops_log(k);

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(nft_sync_drain(s), 0);
		ck_assert_int_eq(nft_sync_check(s), 0);
	}
	ck_assert_str_eq(kernel_fake_ops_log(k), "");

	ck_assert_int_eq(kernel_fake_nft_tamper_elem(k, "authorized", &x, true), 0);
	ck_assert_int_eq(nft_sync_drain(s), 1);
	ck_assert_int_eq(nft_sync_check(s), 1);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nft replace set inet tunsteer authorized { 203.0.113.0/25 }\n");
	{
		struct ts_prefix *got;
		size_t n;

		ck_assert_int_eq(k->nft_set_get(k, "authorized", &got, &n), 0);
		ck_assert_uint_eq(n, 1);
		free(got);
	}
	(void)kernel_fake_ops_log(k);

	ck_assert_int_eq(nft_sync_drain(s), 0);
	ck_assert_int_eq(nft_sync_check(s), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");

	kernel_state_free(&ks);
	nft_state_free(&ns);
	nft_sync_destroy(s);
	k->destroy(k);
}
END_TEST

/*
 * The kernel refuses our table (twice): we are out of sync, say why and
 * since when, and every check retries the same table whole until it
 * goes in; a check then has nothing left to do.
 */
START_TEST(test_nft_failed_apply_is_retried_until_it_takes_and_status_tells)
{
	struct kernel_ops *k = kernel_fake_create();
	struct nft_sync *s = nft_sync_create(k);
	struct nft_sync_status st;
	struct kernel_state ks;
	struct nft_state ns;
	const char *log;

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	kernel_fake_fail_next(k, -EIO);
	ck_assert_int_eq(nft_sync_apply(s, &ns, NULL), -EIO);
	nft_sync_status(s, &st);
	ck_assert(!st.in_sync);
	ck_assert_int_eq(st.err, -EIO);
	ck_assert_uint_eq(st.failures, 1);
	(void)kernel_fake_ops_log(k);

	kernel_fake_fail_next(k, -ENOBUFS);
	ck_assert_int_eq(nft_sync_check(s), -ENOBUFS);
	nft_sync_status(s, &st);
	ck_assert(!st.in_sync);
	ck_assert_int_eq(st.err, -ENOBUFS);
	ck_assert_uint_eq(st.failures, 2);
	(void)kernel_fake_ops_log(k);

	ck_assert_int_eq(nft_sync_check(s), 1);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log,
	    "nft replace set inet tunsteer auth_office { 203.0.113.0/25 }\n"));
	nft_sync_status(s, &st);
	ck_assert(st.in_sync);
	ck_assert_uint_eq(st.failures, 0);
	ck_assert_int_eq(nft_sync_check(s), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");

	kernel_state_free(&ks);
	nft_state_free(&ns);
	nft_sync_destroy(s);
	k->destroy(k);
}
END_TEST

START_TEST(test_all_down_with_all_down_isp_leaves_the_table_empty_for_the_isp)
{
	enum health_state h[3] = { HEALTH_DOWN, HEALTH_DOWN, HEALTH_DOWN };
	struct kernel_state ks;
	struct nft_state ns;

	pol.all_down_isp = true;
	ck_assert_int_eq(desired_build(&conf, h, &ks, &ns), 0);
	ck_assert_ptr_null(find_route(&ks, 21100, "0.0.0.0/0"));
	ck_assert_ptr_null(find_fallback(&ks, 21100));
	/* The rule stays: the lookup falls through an empty table. */
	ck_assert_uint_eq(ks.n_rules, 3);
	kernel_state_free(&ks);
	nft_state_free(&ns);
	/* One tunnel degraded but alive: it carries egress. */
	h[2] = HEALTH_DEGRADED;
	policy_route_is(h, "cf3*1");
}
END_TEST

/* Whatever the health, unless all_down = "isp" with every tunnel down,
 * the policy table ends in a blackhole default behind the tunnels' route:
 * authorized traffic never reaches the main table by accident. */
START_TEST(test_policy_table_fails_closed_behind_the_tunnels_route)
{
	enum health_state states[][3] = {
		{ HEALTH_UP, HEALTH_UP, HEALTH_UP },
		{ HEALTH_DOWN, HEALTH_DOWN, HEALTH_DEGRADED },
		{ HEALTH_DOWN, HEALTH_DOWN, HEALTH_DOWN },
	};

	for (int isp = 0; isp < 2; isp++) {
		for (size_t c = 0; c < sizeof(states) / sizeof(states[0]); c++) {
			struct kernel_state ks;
			struct nft_state ns;
			const struct kernel_route *fb;
			char text[256];

			pol.all_down_isp = isp;
			ck_assert_int_eq(desired_build(&conf, states[c], &ks, &ns), 0);
			fb = find_fallback(&ks, 21100);
			if (isp && c == 2) {
				ck_assert_ptr_null(fb);
			} else {
				route_text(fb, text, sizeof(text));
				ck_assert_msg(fb->blackhole && fb->protocol == KERNEL_RTPROT_TUNSTEER &&
					      fb->dst.len == 0 && fb->nhid == 0,
					      "case %zu isp %d: fallback %s", c, isp, text);
				ck_assert_ptr_nonnull(find_route(&ks, 21100, "0.0.0.0/0"));
			}
			kernel_state_free(&ks);
			nft_state_free(&ns);
		}
	}
}
END_TEST

/* --- XFRM interfaces ------------------------------------------------------ */

/* Make tun[i] an ipsec tunnel called @name. */
static void
ipsec(size_t i, const char *name)
{
	tun[i].type = TUNNEL_IPSEC;
	snprintf(tun[i].name, sizeof(tun[i].name), "%s", name);
	tun[i].mtu = 1446;
	tun[i].mss = 1360;
}

/* The if_id desired_build() gives the XFRM link called @name (0: none),
 * checked against desired_xfrm_if_ids(). */
static uint32_t
if_id_of(const char *name)
{
	struct kernel_state ks;
	struct nft_state ns;
	uint32_t ids[3], id = 0;

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(desired_xfrm_if_ids(&conf, ids), 0);
	for (size_t i = 0; i < ks.n_links; i++)
		if (strcmp(ks.links[i].name, name) == 0 &&
		    ks.links[i].kind == KERNEL_LINK_XFRM)
			id = ks.links[i].if_id;
	for (size_t i = 0; i < conf.n_tunnels; i++)
		if (strcmp(conf.tunnels[i].name, name) == 0)
			ck_assert_uint_eq(ids[i], id);
	kernel_state_free(&ks);
	nft_state_free(&ns);
	return id;
}

START_TEST(test_xfrm_if_ids_follow_names_not_config_order_and_stay_in_our_range)
{
	const struct kernel_marks *m = &kernel_marks_tunsteerd;
	struct config_tunnel saved[3];
	uint32_t a, b, c;

	ipsec(0, "ips1");
	ipsec(1, "ips2");
	ipsec(2, "ips3");
	a = if_id_of("ips1");
	b = if_id_of("ips2");
	c = if_id_of("ips3");
	ck_assert(a >= m->xfrm_if_id_min && a <= m->xfrm_if_id_max);
	ck_assert(b >= m->xfrm_if_id_min && b <= m->xfrm_if_id_max);
	ck_assert(c >= m->xfrm_if_id_min && c <= m->xfrm_if_id_max);
	ck_assert(a != b && b != c && a != c);
	/* Reordered: the same ids. */
	memcpy(saved, tun, sizeof(saved));
	tun[0] = saved[2];
	tun[1] = saved[0];
	tun[2] = saved[1];
	pt[0].tunnel = 1;
	pt[1].tunnel = 2;
	pt[2].tunnel = 0;
	ck_assert_uint_eq(if_id_of("ips1"), a);
	ck_assert_uint_eq(if_id_of("ips2"), b);
	ck_assert_uint_eq(if_id_of("ips3"), c);
	/* The first one removed (the policy keeps the other two): the rest
	 * keep theirs, where before they moved down by one. */
	conf.tunnels = &tun[1];
	conf.n_tunnels = 2;
	pol.tunnels = &pt[0];
	pol.n_tunnels = 2;
	pt[0].tunnel = 0;
	pt[1].tunnel = 1;
	ck_assert_uint_eq(if_id_of("ips1"), a);
	ck_assert_uint_eq(if_id_of("ips2"), b);
}
END_TEST

/* "ips178" and "ips208" hash to the same slot: whatever their order, the
 * one that sorts first gets the slot, the other the next free one. */
START_TEST(test_xfrm_if_id_collisions_are_settled_by_name_whatever_the_order)
{
	uint32_t first, second;

	ipsec(0, "ips178");
	ipsec(1, "ips208");
	first = if_id_of("ips178");
	second = if_id_of("ips208");
	ck_assert_uint_eq(first, 0x7473d688);
	ck_assert_uint_eq(second, 0x7473d689);
	ipsec(0, "ips208");
	ipsec(1, "ips178");
	ck_assert_uint_eq(if_id_of("ips178"), first);
	ck_assert_uint_eq(if_id_of("ips208"), second);
	/* Alone, each has its home slot. */
	conf.n_tunnels = 1;
	pol.n_tunnels = 1;
	pt[0].tunnel = 0;
	ck_assert_uint_eq(if_id_of("ips208"), first);
}
END_TEST

START_TEST(test_xfrm_interface_goes_over_the_tunnels_underlay_and_gre_has_no_if_id)
{
	struct kernel_state ks;
	struct nft_state ns;
	uint32_t ids[3];
	char text[256];

	ipsec(1, "ips2");
	tun[2].type = TUNNEL_IPSEC;
	tun[2].underlay.set = false;
	tun[2].underlay.interface[0] = '\0';
	ck_assert_int_eq(desired_xfrm_if_ids(&conf, ids), 0);
	ck_assert_uint_eq(ids[0], 0);
	ck_assert_uint_ne(ids[1], 0);
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_uint_eq(ks.n_links, 3);
	kernel_link_format(&ks.links[1], text, sizeof(text));
	ck_assert_str_eq(text, "ips2 xfrm if_id 0x74737747 dev wan1 mtu 1446 up");
	ck_assert_uint_eq(ks.links[1].if_id, ids[1]);
	/* Its IKE and ESP packets are pinned to the underlay like GRE's. */
	route_text(find_route(&ks, 21000, "192.0.2.2/32"), text, sizeof(text));
	ck_assert_str_eq(text, "table 21000 192.0.2.2/32 metric 0 proto 227"
			 " nexthop via 198.51.100.1 dev wan1 weight 1");
	/* No underlay: the kernel's own route lookup, no device. */
	ck_assert_str_eq(ks.links[2].dev, "");
	ck_assert_uint_eq(ks.links[2].if_id, ids[2]);
	ck_assert_uint_eq(ks.links[0].if_id, 0);
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

/* A standby's egress: each policy's blackhole fallback alone, the same
 * route an active table keeps beside its group. */
START_TEST(test_standby_egress_is_each_policys_blackhole_alone)
{
	struct kernel_state sb, eg;

	ck_assert_int_eq(desired_build_standby(&conf, &sb), 0);
	ck_assert_int_eq(desired_build_egress(&conf, NULL, &eg), 0);
	ck_assert_uint_eq(sb.n_nhobjs, 0);
	ck_assert_uint_eq(sb.n_routes, conf.n_policies);
	for (size_t i = 0; i < sb.n_routes; i++) {
		bool same = false;

		ck_assert(sb.routes[i].blackhole);
		ck_assert_uint_eq(sb.routes[i].table, desired_policy_table(i));
		for (size_t j = 0; j < eg.n_routes; j++)
			same = same || kernel_route_equal(&sb.routes[i], &eg.routes[j]);
		ck_assert_msg(same, "policy %zu: not the active fallback", i);
	}
	kernel_state_free(&sb);
	kernel_state_free(&eg);
}
END_TEST

/* --- dual stack (issue 14) ------------------------------------------- */

static struct ts_prefix prefixes6[2];

/* setup(), with an address6 on every tunnel and an IPv6 prefix besides
 * the IPv4 one in "office". */
static void
setup_dual_stack(void)
{
	static const char *const a6[] = {
		"2001:db8:ffff::/127", "2001:db8:ffff::2/127", "2001:db8:ffff::4/127" };

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(ts_prefix_parse(a6[i], false, &tun[i].address6), 0);
		tun[i].has_address6 = true;
		tun[i].mss6 = tun[i].mss - 20;
	}
	prefixes6[0] = prefixes[0];
	ck_assert_int_eq(ts_prefix_parse("2001:db8:1::/48", true, &prefixes6[1]), 0);
	pol.prefixes = prefixes6;
	pol.n_prefixes = 2;
}

/* Each tunnel's IPv6 twin path, the policy's IPv6 rule, group and routes:
 * the same tunnels, weights and table as IPv4. */
START_TEST(test_ipv6_steering_is_the_ipv4_steering_twin)
{
	struct kernel_state ks;
	struct nft_state ns;
	const struct kernel_route *r4, *r6, *fb6;
	const struct kernel_nhobj *g4, *g6;
	bool rule6 = false, addr6 = false, hash6 = false;

	setup_dual_stack();
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_nonnull(r4 = find_route(&ks, 21100, "0.0.0.0/0"));
	ck_assert_ptr_nonnull(r6 = find_route(&ks, 21100, "::/0"));
	ck_assert_ptr_nonnull(g4 = find_nhobj(&ks, r4->nhid));
	ck_assert_ptr_nonnull(g6 = find_nhobj(&ks, r6->nhid));
	ck_assert_uint_eq(r6->nhid, desired_nh_v6(r4->nhid));
	ck_assert_int_eq(g6->family, AF_INET6);
	ck_assert(g6->resilient);
	ck_assert_uint_eq(g6->n_members, g4->n_members);
	for (unsigned int m = 0; m < g4->n_members; m++) {
		const struct kernel_nhobj *p4 = find_nhobj(&ks, g4->member[m].id);
		const struct kernel_nhobj *p6 = find_nhobj(&ks, g6->member[m].id);

		ck_assert_uint_eq(g6->member[m].id, desired_nh_v6(g4->member[m].id));
		ck_assert_uint_eq(g6->member[m].weight, g4->member[m].weight);
		ck_assert_ptr_nonnull(p4);
		ck_assert_ptr_nonnull(p6);
		ck_assert_int_eq(p6->family, AF_INET6);
		ck_assert_str_eq(p6->dev, p4->dev);
	}
	/* The IPv6 fallback: a blackhole of its own family, through nothing. */
	fb6 = NULL;
	for (size_t i = 0; i < ks.n_routes; i++)
		if (ks.routes[i].dst.family == AF_INET6 &&
		    ks.routes[i].metric == DESIRED_FALLBACK_METRIC)
			fb6 = &ks.routes[i];
	ck_assert_ptr_nonnull(fb6);
	ck_assert(fb6->blackhole);
	ck_assert_uint_eq(fb6->nhid, 0);
	ck_assert_uint_eq(fb6->table, 21100);
	for (size_t i = 0; i < ks.n_rules; i++)
		if (ks.rules[i].family == AF_INET6) {
			ck_assert_uint_eq(ks.rules[i].priority, 21100);
			ck_assert_uint_eq(ks.rules[i].fwmark, desired_policy_fwmark(0));
			ck_assert_uint_eq(ks.rules[i].table, 21100);
			rule6 = true;
		}
	for (size_t i = 0; i < ks.n_addrs; i++)
		if (ks.addrs[i].local.family == AF_INET6 &&
		    strcmp(ks.addrs[i].ifname, "cf2") == 0 &&
		    ks.addrs[i].local.len == 127)
			addr6 = true;
	for (size_t i = 0; i < ks.n_sysctls; i++)
		if (strcmp(ks.sysctls[i].path, "net/ipv6/fib_multipath_hash_policy") == 0)
			hash6 = true;
	ck_assert(rule6 && addr6 && hash6);
	kernel_state_free(&ks);
	nft_state_free(&ns);
}
END_TEST

/* The IPv6 group follows health with the IPv4 one; in standby both
 * families are withdrawn; the egress part is still the state's tail. */
START_TEST(test_ipv6_fails_over_with_ipv4_and_standby_withdraws_both)
{
	enum health_state h[3] = { HEALTH_DOWN, HEALTH_DOWN, HEALTH_UP };
	struct kernel_state ks, eg, sb;
	struct nft_state ns;
	const struct kernel_route *r6;
	const struct kernel_nhobj *g6;
	size_t blackholes6 = 0;

	setup_dual_stack();
	ck_assert_int_eq(desired_build(&conf, h, &ks, &ns), 0);
	ck_assert_ptr_nonnull(r6 = find_route(&ks, 21100, "::/0"));
	ck_assert_ptr_nonnull(g6 = find_nhobj(&ks, r6->nhid));
	ck_assert_uint_eq(g6->n_members, 1);
	ck_assert_str_eq(find_nhobj(&ks, g6->member[0].id)->dev, "cf3");
	ck_assert_int_eq(desired_build_egress(&conf, h, &eg), 0);
	ck_assert_uint_eq(eg.n_nhobjs, 2);	/* both groups */
	ck_assert_uint_eq(eg.n_routes, 4);	/* through them, and fallbacks */
	assert_egress_is_the_tail(&ks, &eg);
	ck_assert_int_eq(desired_build_standby(&conf, &sb), 0);
	ck_assert_uint_eq(sb.n_routes, 2);
	for (size_t i = 0; i < sb.n_routes; i++) {
		ck_assert(sb.routes[i].blackhole);
		blackholes6 += sb.routes[i].dst.family == AF_INET6;
	}
	ck_assert_uint_eq(blackholes6, 1);
	kernel_state_free(&ks);
	kernel_state_free(&eg);
	kernel_state_free(&sb);
	nft_state_free(&ns);
}
END_TEST

/* nft: an IPv6 set per policy and authorized6, the same mark for IPv6
 * sources, no unauthorized IPv6 into a tunnel, the IPv6 clamp (1416 on
 * GRE) ahead of the IPv4 one, unauthorized6 on its own; and an IPv4-only
 * config gets no IPv6 object at all. */
START_TEST(test_nft_ipv6_sets_marks_clamp_and_unauthorized6)
{
	struct kernel_state ks;
	struct nft_state ns;
	const char *c6, *c4;

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_null(strstr(ns.chains, "ip6 "));
	ck_assert_ptr_null(strstr(ns.chains, "ipv6"));
	for (size_t i = 0; i < ns.n_sets; i++)
		ck_assert_int_eq(ns.sets[i].family, AF_INET);
	nft_state_free(&ns);
	kernel_state_free(&ks);

	setup_dual_stack();
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_str_eq(ns.sets[0].name, "auth_office");
	ck_assert_uint_eq(ns.sets[0].n_elems, 1);	/* IPv4 only */
	ck_assert_str_eq(ns.sets[1].name, "authorized");
	ck_assert_str_eq(ns.sets[2].name, "auth6_office");
	ck_assert_int_eq(ns.sets[2].family, AF_INET6);
	ck_assert_uint_eq(ns.sets[2].n_elems, 1);
	ck_assert_str_eq(ns.sets[3].name, "authorized6");
	ck_assert_int_eq(ns.sets[3].family, AF_INET6);
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "ip6 saddr @auth6_office ip6 daddr != @authorized6 meta mark set 0x74730001\n"));
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname { \"cf1\", \"cf2\", \"cf3\" } ip6 saddr != @authorized6"
	    " counter drop"));
	c6 = strstr(ns.chains, "oifname \"cf1\" meta nfproto ipv6 tcp flags syn / "
		    "syn,rst tcp option maxseg size > 1416 tcp option maxseg size "
		    "set 1416\n");
	c4 = strstr(ns.chains, "oifname \"cf1\" tcp flags syn / syn,rst tcp option "
		    "maxseg size > 1436");
	ck_assert_ptr_nonnull(c6);
	ck_assert_ptr_nonnull(c4);
	ck_assert(c6 < c4);
	ck_assert_ptr_null(strstr(ns.chains, "unauthorized egress"));
	nft_state_free(&ns);
	kernel_state_free(&ks);

	/* IPv6 unauthorized dropped, IPv4 left to the ISPs. */
	conf.unauthorized6 = UNAUTH_DROP;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname { \"wan1\", \"wan2\" } ip6 saddr != @authorized6 counter drop"
	    " comment \"unauthorized egress\""));
	ck_assert_ptr_null(strstr(ns.chains, " ip saddr != @authorized counter drop"
				  " comment \"unauthorized egress\""));
	nft_state_free(&ns);
	kernel_state_free(&ks);
}
END_TEST

/* Too long for Check's messages: the text goes to stderr. */
static void
same_text(const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
		ck_abort_msg("texts differ (on stderr)");
	}
}

/* Policy office gets nat { from = [ 192.168.0.0/16 ]; to = @to; }, on
 * its tunnels cf1 and cf2 only (cf3 leaves it). */
static struct ts_prefix nat_from[1];

static void
with_nat(const char *to)
{
	ck_assert_int_eq(ts_prefix_parse("192.168.0.0/16", true, &nat_from[0]), 0);
	pol.nat.set = true;
	pol.nat.from = nat_from;
	pol.nat.n_from = 1;
	ck_assert_int_eq(ts_prefix_parse(to, true, &pol.nat.to), 0);
	pol.n_tunnels = 2;
}

/*
 * nat: its sources are marked like the policy's own, translated on the
 * policy's tunnels by one rule (a jhash of the source into nat.to, the
 * same seed everywhere), counted by a named counter; nothing of theirs
 * enters a tunnel untranslated, and a packet from a tunnel to a
 * translated address that belongs to no connection is dropped.  A
 * config without nat renders none of it.
 */
START_TEST(test_nft_nat_marks_translates_on_the_policys_tunnels_and_counts)
{
	static const char *const want_sets[] = { "auth_office", "authorized",
		"tunnel_addrs", "nat_office", "translated", "translated_to" };
	struct kernel_state ks;
	struct nft_state ns;
	char p[TS_PREFIX_STRLEN];

	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_uint_eq(ns.n_sets, 3);
	ck_assert_uint_eq(ns.n_counters, 0);
	ck_assert_ptr_null(strstr(ns.chains, "translate"));
	ck_assert_ptr_null(strstr(ns.chains, "nat"));
	nft_state_free(&ns);
	kernel_state_free(&ks);

	with_nat("203.0.113.8/29");
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_uint_eq(ns.n_sets, 6);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(ns.sets[i].name, want_sets[i]);
	ck_assert_uint_eq(ns.sets[3].n_elems, 1);
	ck_assert_str_eq(ts_prefix_format(&ns.sets[3].elems[0], p, sizeof(p)),
			 "192.168.0.0/16");
	ck_assert_uint_eq(ns.sets[4].n_elems, 1);
	ck_assert_uint_eq(ns.sets[5].n_elems, 1);
	ck_assert_str_eq(ts_prefix_format(&ns.sets[5].elems[0], p, sizeof(p)),
			 "203.0.113.8/29");
	ck_assert_uint_eq(ns.n_counters, 1);
	ck_assert_str_eq(ns.counters[0], "nat_office");
	same_text(ns.chains,
	    "\tchain prerouting {\n"
	    "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	    "\t\tip saddr @auth_office ip daddr != @authorized ip daddr != @translated meta mark set 0x74730001\n"
	    "\t\tip saddr @nat_office ip daddr != @authorized ip daddr != @translated meta mark set 0x74730001\n"
	    "\t\tiifname { \"cf1\", \"cf2\", \"cf3\" } ip daddr @translated_to ct state new counter drop comment \"no connection to a translated address\"\n"
	    "\t}\n"
	    "\tchain output {\n"
	    "\t\ttype route hook output priority mangle; policy accept;\n"
	    "\t\tip saddr @auth_office ip daddr != @authorized ip daddr != @translated meta mark set 0x74730001\n"
	    "\t\tip saddr @nat_office ip daddr != @authorized ip daddr != @translated meta mark set 0x74730001\n"
	    "\t}\n"
	    "\tchain conntrack {\n"
	    "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
	    "\t\tct state new ct mark set oifname map { \"cf1\" : 0x4170000, \"cf2\" : 0x5aa0000, \"cf3\" : 0x73d0000 }\n"
	    "\t}\n"
	    "\tchain forward {\n"
	    "\t\ttype filter hook forward priority mangle; policy accept;\n"
	    "\t\toifname { \"cf1\", \"cf2\", \"cf3\" } ip saddr != @authorized ip saddr != @tunnel_addrs ip saddr != @translated counter drop comment \"unauthorized source into a tunnel\"\n"
	    "\t\toifname \"cf1\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t\tiifname \"cf1\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t\toifname \"cf2\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t\tiifname \"cf2\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t\toifname \"cf3\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t\tiifname \"cf3\" tcp flags syn / syn,rst tcp option maxseg size > 1436 tcp option maxseg size set 1436\n"
	    "\t}\n"
	    "\tchain translate {\n"
	    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	    "\t\toifname { \"cf1\", \"cf2\" } ip saddr @nat_office counter name \"nat_office\" snat ip to jhash ip saddr mod 8 seed 0x74730000 map { 0 : 203.0.113.8, 1 : 203.0.113.9, 2 : 203.0.113.10, 3 : 203.0.113.11, 4 : 203.0.113.12, 5 : 203.0.113.13, 6 : 203.0.113.14, 7 : 203.0.113.15 }\n"
	    "\t}\n"
	    "\tchain translate_check {\n"
	    "\t\ttype filter hook postrouting priority srcnat + 1; policy accept;\n"
	    "\t\toifname { \"cf1\", \"cf2\", \"cf3\" } ip saddr @translated counter drop comment \"untranslated source into a tunnel\"\n"
	    "\t}\n");
	nft_state_free(&ns);
	kernel_state_free(&ks);

	/* A single address needs no hash; unauthorized = "drop" lets the
	 * nat sources through to the tunnels as it does authorized ones. */
	with_nat("203.0.113.9/32");
	conf.unauthorized = UNAUTH_DROP;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "ip saddr @nat_office counter name \"nat_office\" snat ip to 203.0.113.9\n"));
	ck_assert_ptr_nonnull(strstr(ns.chains,
	    "oifname { \"wan1\", \"wan2\" } ip saddr != @authorized ip saddr != @translated"
	    " counter drop comment \"unauthorized egress\""));
	nft_state_free(&ns);
	kernel_state_free(&ks);
}
END_TEST

/*
 * The nat counter is a named object: made with the table, kept (with
 * its count) when the chains are replaced, put back when someone
 * deletes the table, deleted when its nat goes.
 */
START_TEST(test_nft_nat_counter_outlives_chain_changes_and_leaves_with_its_nat)
{
	struct kernel_ops *k = kernel_fake_create();
	struct nft_sync *s = nft_sync_create(k);
	struct kernel_nft_counter *c;
	struct kernel_state ks;
	struct nft_state ns;
	const char *log;
	size_t n;

	with_nat("203.0.113.8/29");
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, NULL), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log,
	    "nft replace set inet tunsteer nat_office { 192.168.0.0/16 }\n"
	    "nft replace set inet tunsteer translated { 192.168.0.0/16 }\n"
	    "nft replace set inet tunsteer translated_to { 203.0.113.8/29 }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft table inet tunsteer {\n"
				     "nft \tcounter nat_office { }\n"
				     "nft \tchain prerouting {\n"));
	ck_assert_int_eq(kernel_fake_nft_count(k, "nat_office", 3), 0);
	nft_state_free(&ns);
	kernel_state_free(&ks);

	/* Other chains (no MSS clamp): a whole apply; the count stays. */
	conf.mss_clamp = false;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, NULL), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nft delete chain inet tunsteer translate\n"));
	ck_assert_ptr_null(strstr(log, "delete counter"));
	ck_assert_int_eq(k->nft_counters(k, &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(c[0].name, "nat_office");
	ck_assert_uint_eq(c[0].packets, 3);
	free(c);

	/* A new process (kill -9, --keep-state) adopts the table: the
	 * whole apply of its start keeps the counter and its count. */
	{
		struct nft_sync *s2 = nft_sync_create(k);

		ck_assert_int_eq(nft_sync_apply(s2, &ns, NULL), 0);
		ck_assert_ptr_null(strstr(kernel_fake_ops_log(k), "delete counter"));
		ck_assert_int_eq(k->nft_counters(k, &c, &n), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_uint_eq(c[0].packets, 3);
		free(c);
		nft_sync_destroy(s2);
	}

	/* Someone deletes the table: all of it comes back, the counter too. */
	kernel_fake_nft_tamper(k);
	ck_assert_int_eq(nft_sync_drain(s), 1);
	ck_assert_int_eq(nft_sync_check(s), 1);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(k),
				     "nft \tcounter nat_office { }\n"));
	ck_assert_int_eq(k->nft_counters(k, &c, &n), 0);
	ck_assert_uint_eq(n, 1);
	free(c);
	nft_state_free(&ns);
	kernel_state_free(&ks);

	/* nat removed: its sets, chains and counter go, in one apply. */
	pol.nat.set = false;
	pol.nat.n_from = 0;
	ck_assert_int_eq(desired_build(&conf, NULL, &ks, &ns), 0);
	ck_assert_int_eq(nft_sync_apply(s, &ns, NULL), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log,
	    "nft delete chain inet tunsteer translate_check\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete set inet tunsteer nat_office\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete set inet tunsteer translated_to\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete counter inet tunsteer nat_office\n"));
	ck_assert_int_eq(k->nft_counters(k, &c, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(c);
	nft_state_free(&ns);
	kernel_state_free(&ks);
	nft_sync_destroy(s);
	k->destroy(k);
}
END_TEST

static Suite *
desired_suite(void)
{
	Suite *s = suite_create("desired");
	TCase *tc = tcase_create("config to kernel");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_policy_table_spreads_over_best_priority_tunnels_by_weight);
	tcase_add_test(tc, test_nft_nat_marks_translates_on_the_policys_tunnels_and_counts);
	tcase_add_test(tc, test_nft_nat_counter_outlives_chain_changes_and_leaves_with_its_nat);
	tcase_add_test(tc, test_policy_route_goes_through_a_resilient_group_with_l4_hash);
	tcase_add_test(tc, test_nexthop_ids_follow_names_not_config_order);
	tcase_add_test(tc, test_standby_egress_is_each_policys_blackhole_alone);
	tcase_add_test(tc, test_down_best_tunnels_fail_over_to_next_priority);
	tcase_add_test(tc, test_degraded_tunnel_ranks_behind_every_healthy_one);
	tcase_add_test(tc, test_all_down_keeps_the_best_configured_route_like_the_provider);
	tcase_add_test(tc, test_all_down_with_all_down_isp_leaves_the_table_empty_for_the_isp);
	tcase_add_test(tc, test_policy_table_fails_closed_behind_the_tunnels_route);
	tcase_add_test(tc, test_nft_failed_apply_is_retried_until_it_takes_and_status_tells);
	tcase_add_test(tc, test_egress_alone_is_the_tail_of_the_whole_state);
	tcase_add_test(tc, test_anycast_endpoints_are_pinned_to_each_tunnels_underlay);
	tcase_add_test(tc, test_rule_count_does_not_grow_with_authorized_prefixes);
	tcase_add_test(tc, test_tunnels_get_provider_mtu_ttl_alias_and_rp_filter_off);
	tcase_add_test(tc, test_nft_marks_authorized_clamps_mss_and_keeps_others_out_of_tunnels);
	tcase_add_test(tc, test_nft_prefix_change_is_applied_as_one_element_delete_and_add);
	tcase_add_test(tc, test_nft_steady_state_lists_nothing_and_a_set_change_repairs_only_that_set);
	tcase_add_test(tc, test_xfrm_if_ids_follow_names_not_config_order_and_stay_in_our_range);
	tcase_add_test(tc, test_xfrm_if_id_collisions_are_settled_by_name_whatever_the_order);
	tcase_add_test(tc, test_xfrm_interface_goes_over_the_tunnels_underlay_and_gre_has_no_if_id);
	tcase_add_test(tc, test_ipv6_steering_is_the_ipv4_steering_twin);
	tcase_add_test(tc, test_ipv6_fails_over_with_ipv4_and_standby_withdraws_both);
	tcase_add_test(tc, test_nft_ipv6_sets_marks_clamp_and_unauthorized6);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(desired_suite)
