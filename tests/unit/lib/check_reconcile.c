/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reconciler against the fake kernel: the exact operations it issues
 * for old → new states, that it never touches what is not ours, repairs
 * tampering, adopts a killed instance's state and retries failures.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "testlib.h"

static struct kernel_ops *k;
static struct reconcile *rc;
static struct kernel_state st;
static struct reconcile_stats stats;

static struct ts_prefix
pfx(const char *s)
{
	struct ts_prefix p;

	ck_assert_int_eq(ts_prefix_parse(s, false, &p), 0);
	return p;
}

static struct kernel_link
gre(const char *name, const char *local, const char *remote)
{
	struct kernel_link l = { .kind = KERNEL_LINK_GRE, .ttl = 64,
				 .mtu = 1476, .up = true };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.alias, sizeof(l.alias), KERNEL_LINK_ALIAS_PREFIX "%s", name);
	l.local = ip(local);
	l.remote = ip(remote);
	return l;
}

static struct kernel_route
route(uint32_t table, const char *dst, const char *dev1, unsigned w1,
      const char *dev2, unsigned w2)
{
	struct kernel_route r = { .table = table, .dst = pfx(dst),
				  .protocol = KERNEL_RTPROT_TUNSTEER };

	snprintf(r.nh[0].dev, IFNAMSIZ, "%s", dev1);
	r.nh[0].weight = (uint16_t)w1;
	r.n_nexthops = 1;
	if (dev2) {
		snprintf(r.nh[1].dev, IFNAMSIZ, "%s", dev2);
		r.nh[1].weight = (uint16_t)w2;
		r.n_nexthops = 2;
	}
	return r;
}

static struct kernel_rule
fwrule(uint32_t prio, uint32_t mark, uint32_t table)
{
	return (struct kernel_rule){ .priority = prio, .fwmark = mark,
				     .fwmask = 0xffffffff, .table = table };
}

/* Two GRE tunnels, their inner addresses and sysctls, one weighted ECMP
 * default route in a policy table and the fwmark rule leading to it. */
static void
two_tunnels(struct kernel_state *s, unsigned w2)
{
	struct kernel_link l1 = gre("cf1", "198.51.100.2", "192.0.2.1");
	struct kernel_link l2 = gre("cf2", "198.51.100.6", "192.0.2.2");
	struct kernel_addr a1 = { .ifname = "cf1", .local = pfx("198.19.0.1/31") };
	struct kernel_addr a2 = { .ifname = "cf2", .local = pfx("198.19.0.3/31") };
	struct kernel_route r = route(21100, "0.0.0.0/0", "cf1", 1, "cf2", w2);
	struct kernel_rule ru = fwrule(21100, 0x74730001, 21100);

	ck_assert_int_eq(kernel_state_add_link(s, &l1), 0);
	ck_assert_int_eq(kernel_state_add_link(s, &l2), 0);
	ck_assert_int_eq(kernel_state_add_addr(s, &a1), 0);
	ck_assert_int_eq(kernel_state_add_addr(s, &a2), 0);
	ck_assert_int_eq(kernel_state_add_route(s, &r), 0);
	ck_assert_int_eq(kernel_state_add_rule(s, &ru), 0);
	ck_assert_int_eq(kernel_state_add_sysctl(s, "net/ipv4/conf/cf1/rp_filter", "0"), 0);
	ck_assert_int_eq(kernel_state_add_sysctl(s, "net/ipv4/conf/cf2/rp_filter", "0"), 0);
}

/* --- nexthop objects ------------------------------------------------------ */

#define NH_CF1 0x74730001u
#define NH_CF2 0x74730002u
#define NH_CF3 0x74730003u
#define NH_GRP 0x74740001u

static struct kernel_nhobj
path(uint32_t id, const char *dev)
{
	struct kernel_nhobj nh = { .id = id, .protocol = KERNEL_RTPROT_TUNSTEER };

	snprintf(nh.dev, sizeof(nh.dev), "%s", dev);
	return nh;
}

/* A resilient group of the paths in @ids (0-terminated), weight 1. */
static struct kernel_nhobj
group(const uint32_t *ids)
{
	struct kernel_nhobj g = { .id = NH_GRP, .protocol = KERNEL_RTPROT_TUNSTEER,
				  .resilient = true, .buckets = 512,
				  .idle_timer = 5 };

	for (; *ids; ids++) {
		g.member[g.n_members].id = *ids;
		g.member[g.n_members++].weight = 1;
	}
	return g;
}

/* Three tunnels, a path each, and a policy route through a resilient
 * group of the paths in @ids. */
static void
three_tunnels_group(struct kernel_state *s, const uint32_t *ids)
{
	static const char *const names[] = { "cf1", "cf2", "cf3" };
	static const uint32_t path_ids[] = { NH_CF1, NH_CF2, NH_CF3 };
	struct kernel_route r = { .table = 21100, .dst = pfx("0.0.0.0/0"),
				  .protocol = KERNEL_RTPROT_TUNSTEER,
				  .nhid = NH_GRP };
	struct kernel_nhobj g = group(ids);

	for (int i = 0; i < 3; i++) {
		struct kernel_link l = gre(names[i], "198.51.100.2", "192.0.2.1");
		struct kernel_nhobj p = path(path_ids[i], names[i]);

		ck_assert_int_eq(kernel_state_add_link(s, &l), 0);
		ck_assert_int_eq(kernel_state_add_nhobj(s, &p), 0);
	}
	ck_assert_int_eq(kernel_state_add_nhobj(s, &g), 0);
	ck_assert_int_eq(kernel_state_add_route(s, &r), 0);
}

static void
setup(void)
{
	log_init("check_reconcile", true, LOG_LVL_ERR);
	k = kernel_fake_create();
	ck_assert_ptr_nonnull(k);
	rc = reconcile_create(k, &kernel_marks_tunsteerd);
	ck_assert_ptr_nonnull(rc);
	kernel_state_init(&st);
}

static void
teardown(void)
{
	kernel_state_free(&st);
	reconcile_destroy(rc);
	k->destroy(k);
}

START_TEST(test_first_apply_creates_links_then_sysctls_addrs_routes_rules_in_order)
{
	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set cf1 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "link set cf2 gre local 198.51.100.6 remote 192.0.2.2 ttl 64 mtu 1476 up\n"
	    "sysctl net/ipv4/conf/cf1/rp_filter=0\n"
	    "sysctl net/ipv4/conf/cf2/rp_filter=0\n"
	    "addr add 198.19.0.1/31 dev cf1\n"
	    "addr add 198.19.0.3/31 dev cf2\n"
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1 nexthop dev cf2 weight 1\n"
	    "rule add prio 21100 from all fwmark 0x74730001/0xffffffff table 21100\n");
	ck_assert_uint_eq(stats.added, 6);
	ck_assert_uint_eq(stats.failed, 0);
}
END_TEST

START_TEST(test_second_apply_of_same_state_issues_nothing)
{
	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

START_TEST(test_weight_change_replaces_only_that_route)
{
	struct kernel_state next;

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	two_tunnels(&next, 3);
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1 nexthop dev cf2 weight 3\n");
	ck_assert_uint_eq(stats.changed, 1);
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_route_deleted_by_hand_is_restored_and_nothing_else_touched)
{
	struct kernel_route r = route(21100, "0.0.0.0/0", "cf1", 1, "cf2", 1);

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_fake_remove_route(k, &r);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1 nexthop dev cf2 weight 1\n");
}
END_TEST

START_TEST(test_foreign_links_routes_and_rules_survive_flush)
{
	struct kernel_link foreign = gre("wan-gre", "198.51.100.2", "203.0.113.99");
	struct kernel_route theirs = route(21100, "198.18.0.0/24", "cf1", 1, NULL, 0);
	struct kernel_rule main_rule = { .priority = 32766, .table = 254 };

	foreign.alias[0] = '\0';	/* no mark: not ours */
	theirs.protocol = 4;		/* "static": an operator's route */
	ck_assert_int_eq(kernel_fake_inject_link(k, &foreign), 0);
	ck_assert_int_eq(kernel_fake_inject_route(k, &theirs), 0);
	ck_assert_int_eq(kernel_fake_inject_rule(k, &main_rule), 0);
	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);

	ck_assert_int_eq(reconcile_flush(rc, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "rule del prio 21100 from all fwmark 0x74730001/0xffffffff table 21100\n"
	    "route del table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1 nexthop dev cf2 weight 1\n"
	    "link del cf1\n"
	    "link del cf2\n");
	ck_assert_uint_eq(stats.deleted, 4);
}
END_TEST

START_TEST(test_restarted_daemon_adopts_existing_state_without_recreating)
{
	struct reconcile *again;

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);

	/* kill -9: the new instance knows nothing but what it dumps. */
	again = reconcile_create(k, &kernel_marks_tunsteerd);
	ck_assert_int_eq(reconcile_apply(again, &st, &stats), 0);
	/* Only the sysctls it cannot read back are written again. */
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "sysctl net/ipv4/conf/cf1/rp_filter=0\n"
	    "sysctl net/ipv4/conf/cf2/rp_filter=0\n");
	ck_assert_uint_eq(stats.added + stats.deleted, 0);
	reconcile_destroy(again);
}
END_TEST

START_TEST(test_failed_operation_is_counted_and_retried_on_next_apply)
{
	two_tunnels(&st, 1);
	kernel_fake_fail_next(k, -ENOBUFS);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), -EAGAIN);
	ck_assert_uint_eq(stats.failed, 1);
	kernel_fake_ops_log(k);
	/* cf1 failed; its sysctl was not written either; now both follow. */
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set cf1 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "sysctl net/ipv4/conf/cf1/rp_filter=0\n"
	    "addr add 198.19.0.1/31 dev cf1\n");
}
END_TEST

START_TEST(test_removed_tunnel_loses_rule_route_then_link_in_that_order)
{
	struct kernel_state next;
	struct kernel_link l1 = gre("cf1", "198.51.100.2", "192.0.2.1");
	struct kernel_addr a1 = { .ifname = "cf1", .local = pfx("198.19.0.1/31") };
	struct kernel_route r = route(21100, "0.0.0.0/0", "cf1", 1, NULL, 0);
	struct kernel_rule ru = fwrule(21100, 0x74730001, 21100);

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	ck_assert_int_eq(kernel_state_add_link(&next, &l1), 0);
	ck_assert_int_eq(kernel_state_add_addr(&next, &a1), 0);
	ck_assert_int_eq(kernel_state_add_route(&next, &r), 0);
	ck_assert_int_eq(kernel_state_add_rule(&next, &ru), 0);
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1\n"
	    "link del cf2\n");
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_link_with_changed_mtu_is_changed_in_place)
{
	struct kernel_state next;

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	two_tunnels(&next, 1);
	next.links[1].mtu = 1400;
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	/* The changed link's own sysctls are re-asserted with it. */
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set cf2 gre local 198.51.100.6 remote 192.0.2.2 ttl 64 mtu 1400 up\n"
	    "sysctl net/ipv4/conf/cf2/rp_filter=0\n");
	ck_assert_uint_eq(stats.changed, 1);
	ck_assert_uint_eq(stats.sysctls, 1);
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_group_is_made_after_its_paths_and_before_the_route_through_it)
{
	static const uint32_t ids[] = { NH_CF2, NH_CF1, 0 };

	three_tunnels_group(&st, ids);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set cf1 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "link set cf2 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "link set cf3 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "nexthop replace id 0x74730001 proto 227 dev cf1\n"
	    "nexthop replace id 0x74730002 proto 227 dev cf2\n"
	    "nexthop replace id 0x74730003 proto 227 dev cf3\n"
	    "nexthop replace id 0x74740001 proto 227 group 0x74730001,1/0x74730002,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n"
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227 nhid 0x74740001\n");
	ck_assert_uint_eq(stats.failed, 0);
	/* Members in another order are the same group. */
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

/* Failover is one atomic group replacement: the route, the paths and the
 * other members are not touched, so their flows keep their buckets. */
START_TEST(test_tunnel_leaving_the_active_set_replaces_only_the_group)
{
	static const uint32_t before[] = { NH_CF1, NH_CF2, 0 };
	static const uint32_t after[] = { NH_CF2, 0 };
	struct kernel_state next;

	three_tunnels_group(&st, before);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	three_tunnels_group(&next, after);
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop replace id 0x74740001 proto 227 group 0x74730002,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n");
	ck_assert_uint_eq(stats.changed, 1);
	kernel_state_free(&next);
}
END_TEST

/*
 * From one known state to the next without looking: no dump, only the
 * objects that differ, in the order of a full pass (the group before the
 * routes through it; routes before the group they went through).
 */
START_TEST(test_delta_changes_only_what_differs_and_dumps_nothing)
{
	static const uint32_t before[] = { NH_CF1, NH_CF2, 0 };
	static const uint32_t after[] = { NH_CF2, 0 };
	struct kernel_state from, to, none;
	struct kernel_nhobj g1 = group(before), g2 = group(after);
	struct kernel_route r = { .table = 21100, .dst = pfx("0.0.0.0/0"),
				  .protocol = KERNEL_RTPROT_TUNSTEER,
				  .nhid = NH_GRP };

	three_tunnels_group(&st, before);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	(void)kernel_fake_dumps(k);
	kernel_state_init(&from);
	kernel_state_init(&to);
	kernel_state_init(&none);
	ck_assert_int_eq(kernel_state_add_nhobj(&from, &g1), 0);
	ck_assert_int_eq(kernel_state_add_route(&from, &r), 0);
	ck_assert_int_eq(kernel_state_add_nhobj(&to, &g2), 0);
	ck_assert_int_eq(kernel_state_add_route(&to, &r), 0);
	ck_assert_int_eq(reconcile_apply_delta(rc, &from, &to, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop replace id 0x74740001 proto 227 group 0x74730002,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n");
	ck_assert_uint_eq(stats.changed, 1);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	/* Gone: the route first, then its group; the paths stay. */
	ck_assert_int_eq(reconcile_apply_delta(rc, &to, &none, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "route del table 21100 0.0.0.0/0 metric 0 proto 227 nhid 0x74740001\n"
	    "nexthop del id 0x74740001\n");
	ck_assert_uint_eq(stats.deleted, 2);
	/* And back: the group before the route. */
	ck_assert_int_eq(reconcile_apply_delta(rc, &none, &from, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop replace id 0x74740001 proto 227 group 0x74730001,1/0x74730002,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n"
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227 nhid 0x74740001\n");
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	/* What the deltas made is what a full pass wants. */
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	kernel_state_free(&from);
	kernel_state_free(&to);
}
END_TEST

START_TEST(test_group_deleted_by_hand_is_restored_with_its_route)
{
	static const uint32_t ids[] = { NH_CF1, NH_CF3, 0 };

	three_tunnels_group(&st, ids);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	/* `ip nexthop del id …`: the kernel takes the route along. */
	kernel_fake_remove_nhobj(k, NH_GRP);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop replace id 0x74740001 proto 227 group 0x74730001,1/0x74730003,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n"
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227 nhid 0x74740001\n");
	ck_assert_uint_eq(stats.added, 2);
}
END_TEST

/* A resilient group's bucket count cannot be replaced in place: delete,
 * make again, and put back the route the kernel removed with it. */
START_TEST(test_group_with_foreign_bucket_count_is_recreated_with_its_route)
{
	static const uint32_t ids[] = { NH_CF1, 0 };
	struct kernel_nhobj g = group(ids);

	three_tunnels_group(&st, ids);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	g.buckets = 64;
	ck_assert_int_eq(kernel_fake_inject_nhobj(k, &g), 0);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop del id 0x74740001\n"
	    "nexthop replace id 0x74740001 proto 227 group 0x74730001,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n"
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227 nhid 0x74740001\n");
	ck_assert_uint_eq(stats.failed, 0);
}
END_TEST

/* The audit's half (lib/audit.h): what the kernel holds, compared in
 * memory, nothing changed; then a repair from that state dumps nothing. */
START_TEST(test_drift_counts_a_route_deleted_by_hand_and_changes_nothing)
{
	struct kernel_route r = route(21100, "0.0.0.0/0", "cf1", 1, "cf2", 1);
	struct kernel_state seen;
	char first[256];

	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_fake_remove_route(k, &r);
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	ck_assert_uint_eq(reconcile_drift(rc, &seen, &st, first, sizeof(first)), 1);
	ck_assert_msg(strncmp(first, "add route table 21100 0.0.0.0/0", 31) == 0,
		      "first difference: %s", first);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");

	(void)kernel_fake_dumps(k);
	ck_assert_int_eq(reconcile_apply_delta(rc, &seen, &st, &stats), 0);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "route replace table 21100 0.0.0.0/0 metric 0 proto 227"
	    " nexthop dev cf1 weight 1 nexthop dev cf2 weight 1\n");
	kernel_state_free(&seen);
}
END_TEST

START_TEST(test_drift_of_a_kernel_as_wanted_is_zero_with_foreign_objects_beside)
{
	struct kernel_link foreign = gre("other0", "198.51.100.9", "192.0.2.9");
	struct kernel_state seen;
	char first[256] = "x";

	foreign.alias[0] = '\0';
	two_tunnels(&st, 1);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_int_eq(kernel_fake_inject_link(k, &foreign), 0);
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	ck_assert_uint_eq(seen.n_links, 2);	/* ours only */
	ck_assert_uint_eq(reconcile_drift(rc, &seen, &st, first, sizeof(first)), 0);
	ck_assert_str_eq(first, "");
	kernel_state_free(&seen);
}
END_TEST

/* A group a full pass would delete and make anew is one difference in a
 * dry pass, and stays where it is. */
START_TEST(test_drift_counts_a_group_to_recreate_without_deleting_it)
{
	static const uint32_t ids[] = { NH_CF1, 0 };
	struct kernel_nhobj g = group(ids);
	struct kernel_state seen;

	three_tunnels_group(&st, ids);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	g.buckets = 64;
	ck_assert_int_eq(kernel_fake_inject_nhobj(k, &g), 0);
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	ck_assert_uint_eq(reconcile_drift(rc, &seen, &st, NULL, 0), 1);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	kernel_state_free(&seen);
}
END_TEST

/* A tunnel removed from the config: the group lets go of its path before
 * the path goes, and the path before the link. */
START_TEST(test_removed_tunnel_leaves_group_then_path_then_link_goes)
{
	static const uint32_t before[] = { NH_CF1, NH_CF3, 0 };
	static const uint32_t after[] = { NH_CF1, 0 };
	struct kernel_state next;

	three_tunnels_group(&st, before);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	three_tunnels_group(&next, after);
	/* Drop cf3's link and path from the desired state. */
	next.n_links = 2;
	for (size_t i = 0; i < next.n_nhobjs; i++)
		if (next.nhobjs[i].id == NH_CF3)
			next.nhobjs[i] = next.nhobjs[--next.n_nhobjs];
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "nexthop replace id 0x74740001 proto 227 group 0x74730001,1"
	    " resilient buckets 512 idle_timer 5 unbalanced_timer 0\n"
	    "nexthop del id 0x74730003\n"
	    "link del cf3\n");
	ck_assert_uint_eq(stats.failed, 0);
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_foreign_nexthops_are_never_touched)
{
	static const uint32_t ids[] = { NH_CF1, 0 };
	struct kernel_nhobj theirs = path(7, "cf1");
	struct kernel_nhobj proto_only = path(NH_CF2 + 100, "cf1");
	struct kernel_nhobj range_only = path(NH_CF2 + 200, "cf1");

	proto_only.protocol = 3;	/* boot: in our range, not our mark */
	range_only.id = 0x10;		/* our protocol, not our range */
	three_tunnels_group(&st, ids);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_int_eq(kernel_fake_inject_nhobj(k, &theirs), 0);
	ck_assert_int_eq(kernel_fake_inject_nhobj(k, &proto_only), 0);
	ck_assert_int_eq(kernel_fake_inject_nhobj(k, &range_only), 0);
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	ck_assert_int_eq(reconcile_flush(rc, &stats), 0);
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(k), "del id 0x7\n"));
}
END_TEST

/* --- XFRM interfaces ------------------------------------------------------- */

#define IF_ID1 KERNEL_XFRM_IF_ID_MIN
#define IF_ID2 (KERNEL_XFRM_IF_ID_MIN + 1)

static struct kernel_link
xfrm(const char *name, uint32_t if_id, const char *dev)
{
	struct kernel_link l = { .kind = KERNEL_LINK_XFRM, .if_id = if_id,
				 .mtu = 1400, .up = true };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.dev, sizeof(l.dev), "%s", dev);
	snprintf(l.alias, sizeof(l.alias), KERNEL_LINK_ALIAS_PREFIX "%s", name);
	return l;
}

/* The underlays, as the system has them: not ours. */
static void
underlays(void)
{
	struct kernel_link eth0 = { .name = "eth0", .kind = KERNEL_LINK_OTHER,
				    .mtu = 1500, .up = true };
	struct kernel_link eth1 = eth0;

	snprintf(eth1.name, sizeof(eth1.name), "eth1");
	ck_assert_int_eq(kernel_fake_inject_link(k, &eth0), 0);
	ck_assert_int_eq(kernel_fake_inject_link(k, &eth1), 0);
}

/* Two IPsec tunnels on two uplinks and a GRE one, as desired.c makes
 * them: the XFRM interfaces with their inner addresses and sysctls. */
static void
ipsec_tunnels(struct kernel_state *s)
{
	struct kernel_link x1 = xfrm("ips1", IF_ID1, "eth0");
	struct kernel_link x2 = xfrm("ips2", IF_ID2, "eth1");
	struct kernel_link g = gre("cf1", "198.51.100.2", "192.0.2.1");
	struct kernel_addr a1 = { .ifname = "ips1", .local = pfx("198.19.1.1/31") };

	ck_assert_int_eq(kernel_state_add_link(s, &x1), 0);
	ck_assert_int_eq(kernel_state_add_link(s, &x2), 0);
	ck_assert_int_eq(kernel_state_add_link(s, &g), 0);
	ck_assert_int_eq(kernel_state_add_addr(s, &a1), 0);
	ck_assert_int_eq(kernel_state_add_sysctl(s, "net/ipv4/conf/ips1/disable_policy", "1"), 0);
}

START_TEST(test_xfrm_interfaces_are_made_with_if_id_underlay_mtu_and_mark)
{
	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set cf1 gre local 198.51.100.2 remote 192.0.2.1 ttl 64 mtu 1476 up\n"
	    "link set ips1 xfrm if_id 0x74730001 dev eth0 mtu 1400 up\n"
	    "link set ips2 xfrm if_id 0x74730002 dev eth1 mtu 1400 up\n"
	    "sysctl net/ipv4/conf/ips1/disable_policy=1\n"
	    "addr add 198.19.1.1/31 dev ips1\n");
	ck_assert_uint_eq(stats.added, 4);
	/* Applied again: nothing to do. */
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

START_TEST(test_restarted_daemon_adopts_its_xfrm_interfaces)
{
	struct reconcile *again;

	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	again = reconcile_create(k, &kernel_marks_tunsteerd);
	ck_assert_int_eq(reconcile_apply(again, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "sysctl net/ipv4/conf/ips1/disable_policy=1\n");
	ck_assert_uint_eq(stats.added + stats.changed + stats.deleted, 0);
	reconcile_destroy(again);
}
END_TEST

START_TEST(test_xfrm_interface_changed_by_hand_is_repaired_in_place)
{
	struct kernel_link tampered = xfrm("ips1", IF_ID1 + 7, "eth1");

	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	tampered.mtu = 1500;
	ck_assert_int_eq(kernel_fake_inject_link(k, &tampered), 0);
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set ips1 xfrm if_id 0x74730001 dev eth0 mtu 1400 up\n"
	    "sysctl net/ipv4/conf/ips1/disable_policy=1\n");
	ck_assert_uint_eq(stats.changed, 1);
}
END_TEST

START_TEST(test_xfrm_interface_deleted_by_hand_is_made_again_with_its_address)
{
	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_int_eq(k->link_del(k, "ips1"), 0);	/* as `ip link del` */
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set ips1 xfrm if_id 0x74730001 dev eth0 mtu 1400 up\n"
	    "sysctl net/ipv4/conf/ips1/disable_policy=1\n"
	    "addr add 198.19.1.1/31 dev ips1\n");
}
END_TEST

START_TEST(test_xfrm_interface_to_another_underlay_and_mtu_is_one_link_set)
{
	struct kernel_state next;

	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	ipsec_tunnels(&next);
	snprintf(next.links[1].dev, IFNAMSIZ, "eth0");
	next.links[1].mtu = 1380;
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set ips2 xfrm if_id 0x74730002 dev eth0 mtu 1380 up\n");
	ck_assert_uint_eq(stats.changed, 1);
	ck_assert_uint_eq(stats.added + stats.deleted, 0);
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_removed_ipsec_tunnel_loses_its_xfrm_interface)
{
	struct kernel_state next;

	underlays();
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	kernel_fake_ops_log(k);
	kernel_state_init(&next);
	ipsec_tunnels(&next);
	next.links[0] = next.links[--next.n_links];	/* ips1 goes */
	next.n_addrs = next.n_sysctls = 0;
	ck_assert_int_eq(reconcile_apply(rc, &next, &stats), 0);
	/* Its address goes with it; the underlay stays. */
	ck_assert_str_eq(kernel_fake_ops_log(k), "link del ips1\n");
	kernel_state_free(&next);
}
END_TEST

START_TEST(test_xfrm_interfaces_outside_our_if_id_range_are_never_touched)
{
	/* Other IPsec stacks' interfaces: two under our alias prefix but
	 * outside our if_id range, one in our range without our alias. */
	struct kernel_link theirs = xfrm("ipsec0", 42, "eth0");
	struct kernel_link named_like_ours = xfrm("ips2", IF_ID1 - 1, "eth1");
	struct kernel_link unmarked = xfrm("vpn9", IF_ID1 + 9, "eth0");

	unmarked.alias[0] = '\0';
	underlays();
	ck_assert_int_eq(kernel_fake_inject_link(k, &theirs), 0);
	ck_assert_int_eq(kernel_fake_inject_link(k, &named_like_ours), 0);
	ck_assert_int_eq(kernel_fake_inject_link(k, &unmarked), 0);
	ck_assert(!kernel_link_is_ours(&theirs));
	ck_assert(!kernel_link_is_ours(&named_like_ours));
	ck_assert(!kernel_link_is_ours(&unmarked));
	ipsec_tunnels(&st);
	st.n_links = 1;				/* only ips1 */
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set ips1 xfrm if_id 0x74730001 dev eth0 mtu 1400 up\n"
	    "sysctl net/ipv4/conf/ips1/disable_policy=1\n"
	    "addr add 198.19.1.1/31 dev ips1\n");
	ck_assert_int_eq(reconcile_flush(rc, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "link del ips1\n");
}
END_TEST

START_TEST(test_desired_xfrm_interface_outside_our_range_is_refused_not_made)
{
	struct kernel_link bad = xfrm("ips9", 0x1000, "eth0");

	underlays();
	ck_assert_int_eq(kernel_state_add_link(&st, &bad), 0);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), -EAGAIN);
	ck_assert_uint_eq(stats.failed, 1);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

START_TEST(test_an_owner_without_an_if_id_range_has_no_xfrm_interfaces)
{
	static const struct kernel_marks edge_like = {
		.link_alias_prefix = KERNEL_EDGE_LINK_ALIAS_PREFIX,
		.rtm_protocol = 228, .table_min = 22001, .table_max = 22999,
		.rule_prio_min = 22001, .rule_prio_max = 22999 };
	struct kernel_link x = xfrm("e1", IF_ID1, "eth0");

	snprintf(x.alias, sizeof(x.alias), KERNEL_EDGE_LINK_ALIAS_PREFIX "e1");
	ck_assert(!kernel_marks_link(&edge_like, &x));
	x.kind = KERNEL_LINK_GRE;
	ck_assert(kernel_marks_link(&edge_like, &x));
}
END_TEST

START_TEST(test_xfrm_if_id_taken_by_a_foreign_interface_fails_and_is_retried)
{
	struct kernel_link squatter = xfrm("other0", IF_ID2, "eth0");

	squatter.alias[0] = '\0';
	underlays();
	ck_assert_int_eq(kernel_fake_inject_link(k, &squatter), 0);
	ipsec_tunnels(&st);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), -EAGAIN);
	ck_assert_uint_eq(stats.failed, 1);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(k),
	    "link set ips2 xfrm if_id 0x74730002 dev eth1 mtu 1400 up (failed)\n"));
	/* The squatter leaves; the next pass makes ours. */
	ck_assert_int_eq(k->link_del(k, "other0"), 0);
	kernel_fake_ops_log(k);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k),
	    "link set ips2 xfrm if_id 0x74730002 dev eth1 mtu 1400 up\n");
}
END_TEST

static Suite *
reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("fake kernel");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_first_apply_creates_links_then_sysctls_addrs_routes_rules_in_order);
	tcase_add_test(tc, test_second_apply_of_same_state_issues_nothing);
	tcase_add_test(tc, test_weight_change_replaces_only_that_route);
	tcase_add_test(tc, test_route_deleted_by_hand_is_restored_and_nothing_else_touched);
	tcase_add_test(tc, test_foreign_links_routes_and_rules_survive_flush);
	tcase_add_test(tc, test_restarted_daemon_adopts_existing_state_without_recreating);
	tcase_add_test(tc, test_failed_operation_is_counted_and_retried_on_next_apply);
	tcase_add_test(tc, test_removed_tunnel_loses_rule_route_then_link_in_that_order);
	tcase_add_test(tc, test_link_with_changed_mtu_is_changed_in_place);
	tcase_add_test(tc, test_group_is_made_after_its_paths_and_before_the_route_through_it);
	tcase_add_test(tc, test_tunnel_leaving_the_active_set_replaces_only_the_group);
	tcase_add_test(tc, test_delta_changes_only_what_differs_and_dumps_nothing);
	tcase_add_test(tc, test_group_deleted_by_hand_is_restored_with_its_route);
	tcase_add_test(tc, test_group_with_foreign_bucket_count_is_recreated_with_its_route);
	tcase_add_test(tc, test_removed_tunnel_leaves_group_then_path_then_link_goes);
	tcase_add_test(tc, test_foreign_nexthops_are_never_touched);
	tcase_add_test(tc, test_xfrm_interfaces_are_made_with_if_id_underlay_mtu_and_mark);
	tcase_add_test(tc, test_restarted_daemon_adopts_its_xfrm_interfaces);
	tcase_add_test(tc, test_xfrm_interface_changed_by_hand_is_repaired_in_place);
	tcase_add_test(tc, test_xfrm_interface_deleted_by_hand_is_made_again_with_its_address);
	tcase_add_test(tc, test_xfrm_interface_to_another_underlay_and_mtu_is_one_link_set);
	tcase_add_test(tc, test_removed_ipsec_tunnel_loses_its_xfrm_interface);
	tcase_add_test(tc, test_xfrm_interfaces_outside_our_if_id_range_are_never_touched);
	tcase_add_test(tc, test_desired_xfrm_interface_outside_our_range_is_refused_not_made);
	tcase_add_test(tc, test_an_owner_without_an_if_id_range_has_no_xfrm_interfaces);
	tcase_add_test(tc, test_xfrm_if_id_taken_by_a_foreign_interface_fails_and_is_retried);
	tcase_add_test(tc, test_drift_counts_a_route_deleted_by_hand_and_changes_nothing);
	tcase_add_test(tc, test_drift_of_a_kernel_as_wanted_is_zero_with_foreign_objects_beside);
	tcase_add_test(tc, test_drift_counts_a_group_to_recreate_without_deleting_it);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(reconcile_suite)
