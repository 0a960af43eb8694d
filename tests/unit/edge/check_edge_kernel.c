/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's kernel objects against the fake backend: the exact
 * operations for a fresh start, nothing but the sysctls the second time,
 * tunsteerd's objects never touched (nor the edge's by tunsteerd's
 * reconciler), a removed tunnel's objects removed, flush.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_config.h"
#include "edge/edge_kernel.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "testlib.h"

#define HEAD \
	"anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n" \
	"customers = ( { name = \"lab\"; authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = (\n" \
	"    { name = \"gt0\"; cloudflare_gre_endpoint = \"192.0.2.1\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.0/31\"; }"
#define GT1 \
	",\n    { name = \"gt1\"; cloudflare_gre_endpoint = \"192.0.2.2\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.2/31\"; }"
#define TAIL " ); } );\n"

static struct edge_config *
load(const char *text)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(text, "t.conf", &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(c);
	return c;
}

START_TEST(test_fresh_start_then_nothing)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD GT1 TAIL);

	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"link set gt0 gre local 192.0.2.1 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"link set gt1 gre local 192.0.2.2 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n"
		"addr add 198.19.0.0/31 dev gt0\n"
		"addr add 198.19.0.2/31 dev gt1\n"
		"route replace table 22001 0.0.0.0/0 metric 0 proto 228 nexthop dev gt0 weight 1\n"
		"route replace table 22002 0.0.0.0/0 metric 0 proto 228 nexthop dev gt1 weight 1\n"
		"rule add prio 22001 from all fwmark 0x74650001/0xffffffff table 22001\n"
		"rule add prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n");
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n");
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

/* A tunnel with an interface_address6 gets IPv6 on (before its address),
 * its /127, ::/0 in its own table and an IPv6 rule for the same fwmark;
 * one without gets nothing of IPv6. */
START_TEST(test_interface_address6_adds_the_ipv6_address_route_and_rule)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD ",\n    { name = \"gt1\"; "
		"cloudflare_gre_endpoint = \"192.0.2.2\"; customer_gre_endpoint = "
		"\"198.51.100.2\"; interface_address = \"198.19.0.2/31\"; "
		"interface_address6 = \"2001:db8:ffff::3/127\"; }" TAIL);

	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"link set gt0 gre local 192.0.2.1 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"link set gt1 gre local 192.0.2.2 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n"
		"sysctl net/ipv6/conf/gt1/disable_ipv6=0\n"
		"addr add 198.19.0.0/31 dev gt0\n"
		"addr add 198.19.0.2/31 dev gt1\n"
		"addr add 2001:db8:ffff::3/127 dev gt1\n"
		"route replace table 22001 0.0.0.0/0 metric 0 proto 228 nexthop dev gt0 weight 1\n"
		"route replace table 22002 0.0.0.0/0 metric 0 proto 228 nexthop dev gt1 weight 1\n"
		"route replace table 22002 ::/0 metric 1024 proto 228 nexthop dev gt1 weight 1\n"
		"rule add prio 22001 from all fwmark 0x74650001/0xffffffff table 22001\n"
		"rule add prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n"
		"rule add -6 prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n");
	/* Nothing to do the second time but the sysctls. */
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n"
		"sysctl net/ipv6/conf/gt1/disable_ipv6=0\n");
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_tunsteerd_objects_are_never_touched)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD TAIL);
	struct kernel_link theirs = { .name = "cf1", .kind = KERNEL_LINK_GRE,
				      .mtu = 1476, .ttl = 64, .up = true,
				      .alias = KERNEL_LINK_ALIAS_PREFIX "cf1" };
	struct kernel_route r = { .table = 21100, .protocol = 227,
				  .dst = { .family = AF_INET }, .n_nexthops = 1,
				  .nh = { { .dev = "cf1", .weight = 1 } } };
	struct kernel_rule u = { .priority = 21100, .table = 21100,
				 .fwmark = 0x74730001, .fwmask = 0xffffffff };

	ck_assert_int_eq(kernel_fake_inject_link(ops, &theirs), 0);
	ck_assert_int_eq(kernel_fake_inject_route(ops, &r), 0);
	ck_assert_int_eq(kernel_fake_inject_rule(ops, &u), 0);
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(ops), "cf1"));
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(ops), "del"));
	ck_assert_int_eq(edge_kernel_flush(ops), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"rule del prio 22001 from all fwmark 0x74650001/0xffffffff table 22001\n"
		"route del table 22001 0.0.0.0/0 metric 0 proto 228 nexthop dev gt0 weight 1\n"
		"link del gt0\n");
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_removed_tunnel_is_removed)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *two = load(HEAD GT1 TAIL), *one = load(HEAD TAIL);

	ck_assert_int_eq(edge_kernel_apply(ops, two), 0);
	(void)kernel_fake_ops_log(ops);
	ck_assert_int_eq(edge_kernel_apply(ops, one), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"rule del prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n"
		"route del table 22002 0.0.0.0/0 metric 0 proto 228 nexthop dev gt1 weight 1\n"
		"link del gt1\n");
	edge_config_free(one);
	edge_config_free(two);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_failed_operation_is_retried_next_time)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD TAIL);

	kernel_fake_fail_next(ops, -EBUSY);
	ck_assert_int_eq(edge_kernel_apply(ops, c), -EAGAIN);
	(void)kernel_fake_ops_log(ops);
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(ops), "link set gt0"));
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

/* tunsteerd's full set of objects: a marked link with its address, a
 * nexthop path and a resilient group of it, a policy route through the
 * group in table 21100, an underlay pin route, and their rules. */
static void
tunsteerd_state(struct kernel_state *st)
{
	struct kernel_link l = { .name = "cf1", .kind = KERNEL_LINK_GRE,
				 .mtu = 1476, .ttl = 64, .up = true,
				 .alias = KERNEL_LINK_ALIAS_PREFIX "cf1" };
	struct kernel_addr a = { .ifname = "cf1",
				 .local = { .family = AF_INET, .len = 31 } };
	struct kernel_nhobj p = { .id = 0x74730001, .protocol = 227,
				  .dev = "cf1" };
	struct kernel_nhobj g = { .id = 0x74740001, .protocol = 227,
				  .n_members = 1, .member = { { 0x74730001, 1 } },
				  .resilient = true, .buckets = 512,
				  .idle_timer = 5 };
	struct kernel_route r = { .table = 21100, .protocol = 227,
				  .dst = { .family = AF_INET }, .nhid = g.id };
	struct kernel_route pin = { .table = 21000, .protocol = 227,
				    .dst = { .family = AF_INET, .len = 32 },
				    .n_nexthops = 1,
				    .nh = { { .dev = "cf1", .weight = 1 } } };
	struct kernel_rule u = { .priority = 21100, .table = 21100,
				 .fwmark = 0x74730001, .fwmask = 0xffffffff };
	struct kernel_rule upin = { .priority = 21000, .table = 21000,
				    .src = { .family = AF_INET, .len = 32 } };

	a.local.v4.s_addr = htonl(0xc6130001);		/* 198.19.0.1 */
	pin.dst.v4.s_addr = htonl(0xc0000201);		/* 192.0.2.1 */
	upin.src.v4.s_addr = htonl(0xc6336402);		/* 198.51.100.2 */
	ck_assert_int_eq(kernel_state_add_link(st, &l), 0);
	ck_assert_int_eq(kernel_state_add_addr(st, &a), 0);
	ck_assert_int_eq(kernel_state_add_nhobj(st, &p), 0);
	ck_assert_int_eq(kernel_state_add_nhobj(st, &g), 0);
	ck_assert_int_eq(kernel_state_add_route(st, &r), 0);
	ck_assert_int_eq(kernel_state_add_route(st, &pin), 0);
	ck_assert_int_eq(kernel_state_add_rule(st, &u), 0);
	ck_assert_int_eq(kernel_state_add_rule(st, &upin), 0);
}

/* No line of @log names one of tunsteerd's objects. */
static void
assert_no_tunsteerd_object(const char *log)
{
	static const char *const theirs[] = { "cf1", "0x7473", "0x7474",
					      "table 21", "prio 21" };

	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		ck_assert_msg(strstr(log, theirs[i]) == NULL,
			      "edge touched tunsteerd's '%s':\n%s", theirs[i], log);
}

/* No line of @log names one of the edge's objects. */
static void
assert_no_edge_object(const char *log)
{
	static const char *const theirs[] = { "gt0", "gt1", "table 22",
					      "prio 22", "0x7465" };

	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		ck_assert_msg(strstr(log, theirs[i]) == NULL,
			      "tunsteerd touched the edge's '%s':\n%s", theirs[i],
			      log);
}

/* One namespace, both owners, one reconciler each with its own marks:
 * neither ever adds, changes or deletes an object of the other's, in a
 * pass, a repeated pass or a flush, whichever runs first. */
START_TEST(test_edge_and_tunsteerd_marks_keep_their_hands_off_each_other)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD GT1 TAIL);
	struct reconcile *ts = reconcile_create(ops, &kernel_marks_tunsteerd);
	struct reconcile_stats stats;
	struct kernel_state want;

	ck_assert_ptr_nonnull(ts);
	kernel_state_init(&want);
	tunsteerd_state(&want);
	ck_assert_int_eq(reconcile_apply(ts, &want, &stats), 0);
	ck_assert_uint_eq(stats.added, 8);
	(void)kernel_fake_ops_log(ops);

	/* The edge comes up beside tunsteerd's objects, passes again, and
	 * goes: not one of tunsteerd's objects in its log. */
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	assert_no_tunsteerd_object(kernel_fake_ops_log(ops));
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	assert_no_tunsteerd_object(kernel_fake_ops_log(ops));
	ck_assert_int_eq(edge_kernel_flush(ops), 0);
	assert_no_tunsteerd_object(kernel_fake_ops_log(ops));
	/* ... and tunsteerd finds all of its own where it left them. */
	ck_assert_int_eq(reconcile_apply(ts, &want, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops), "");

	/* Vice versa: the edge's objects survive tunsteerd's passes and
	 * its flush, and the edge then has nothing to repair. */
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	(void)kernel_fake_ops_log(ops);
	ck_assert_int_eq(reconcile_apply(ts, &want, &stats), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops), "");
	ck_assert_int_eq(reconcile_flush(ts, &stats), 0);
	ck_assert_uint_eq(stats.deleted, 7);	/* cf1 takes its address along */
	assert_no_edge_object(kernel_fake_ops_log(ops));
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n");

	kernel_state_free(&want);
	reconcile_destroy(ts);
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

#define IPSEC_A \
	",\n    { name = \"it0\"; type = \"ipsec\"; tunnel_id = \"a0\"; psk = \"k\"; cloudflare_endpoint = \"192.0.2.1\"; interface_address = \"198.19.0.4/31\"; }"
#define IPSEC_B \
	",\n    { name = \"it1\"; type = \"ipsec\"; tunnel_id = \"a1\"; psk = \"k\"; cloudflare_endpoint = \"192.0.2.2\"; interface_address = \"198.19.0.6/31\"; }"
/* HEAD with the account ID ipsec tunnels need. */
#define HEAD_ACCOUNT \
	"anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n" \
	"customers = ( { name = \"lab\"; account_id = \"ab\"; authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = (\n" \
	"    { name = \"gt0\"; cloudflare_gre_endpoint = \"192.0.2.1\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.0/31\"; }"

/* Every server with the same tunnels gives each ipsec tunnel the same
 * if_id, in the edge's range, whatever the order in its file. */
START_TEST(test_ipsec_if_ids_follow_names_in_the_edge_range)
{
	struct edge_config *a = load(HEAD_ACCOUNT IPSEC_A IPSEC_B TAIL);
	struct edge_config *b = load(HEAD_ACCOUNT IPSEC_B IPSEC_A TAIL);
	uint32_t ia[3], ib[3];

	ck_assert_int_eq(edge_kernel_xfrm_if_ids(a, ia), 0);
	ck_assert_int_eq(edge_kernel_xfrm_if_ids(b, ib), 0);
	ck_assert_str_eq(a->tunnels[1].name, "it0");
	ck_assert_str_eq(b->tunnels[1].name, "it1");
	ck_assert_uint_eq(ia[0], 0);		/* gt0: GRE */
	ck_assert_uint_eq(ib[0], 0);
	ck_assert_uint_eq(ia[1], ib[2]);	/* it0 */
	ck_assert_uint_eq(ia[2], ib[1]);	/* it1 */
	ck_assert_uint_ne(ia[1], ia[2]);
	for (int i = 1; i < 3; i++) {
		ck_assert(ia[i] >= EDGE_XFRM_IF_ID_MIN && ia[i] <= EDGE_XFRM_IF_ID_MAX);
		ck_assert(ia[i] < kernel_marks_tunsteerd.xfrm_if_id_min ||
			  ia[i] > kernel_marks_tunsteerd.xfrm_if_id_max);
	}
	ck_assert_uint_eq(edge_kernel_marks.xfrm_if_id_min, EDGE_XFRM_IF_ID_MIN);
	ck_assert_uint_eq(edge_kernel_marks.xfrm_if_id_max, EDGE_XFRM_IF_ID_MAX);
	edge_config_free(a);
	edge_config_free(b);
}
END_TEST

/* An ipsec tunnel is an XFRM interface with its tunnel's if_id and no
 * underlay, with the address, table and rule a GRE tunnel has; removed
 * with its tunnel. */
START_TEST(test_an_ipsec_tunnel_is_an_xfrm_interface_with_its_if_id)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD_ACCOUNT IPSEC_A TAIL);
	struct edge_config *gre = load(HEAD_ACCOUNT TAIL);
	uint32_t ids[2];
	char want[256];
	const char *log;

	ck_assert_int_eq(edge_kernel_xfrm_if_ids(c, ids), 0);
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	log = kernel_fake_ops_log(ops);
	snprintf(want, sizeof(want), "link set it0 xfrm if_id 0x%08x mtu 1450 up\n",
		 ids[1]);
	ck_assert_msg(strstr(log, want), "no \"%s\" in:\n%s", want, log);
	ck_assert_ptr_nonnull(strstr(log, "addr add 198.19.0.4/31 dev it0\n"));
	ck_assert_ptr_nonnull(strstr(log, "sysctl net/ipv4/conf/it0/rp_filter=0\n"));
	ck_assert_ptr_nonnull(strstr(log, "route replace table 22002 0.0.0.0/0 metric 0 "
				     "proto 228 nexthop dev it0 weight 1\n"));
	ck_assert_ptr_nonnull(strstr(log, "rule add prio 22002 from all fwmark "
				     "0x74650002/0xffffffff table 22002\n"));
	/* The second time, nothing but the sysctls. */
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(ops), "link"));
	/* Gone with its tunnel. */
	ck_assert_int_eq(edge_kernel_apply(ops, gre), 0);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(ops), "link del it0\n"));
	edge_config_free(c);
	edge_config_free(gre);
	ops->destroy(ops);
}
END_TEST

/* A pinned tunnel with an interface_address6 forwarded to a peer: its
 * ::/0 moves to the pin link with its 0.0.0.0/0, and the pin link gets
 * IPv6 on before that route (the kernel refuses a route into a link with
 * IPv6 off, and drops the IPv6 that arrives by it).  Without an
 * interface_address6 the pin link's IPv6 is left as the system has it. */
#define RELAY \
	"relay = { address = \"198.19.3.2\"; peers = [ \"198.19.3.6\" ]; };\n"
#define IPSEC_PINNED6 \
	",\n    { name = \"it0\"; type = \"ipsec\"; tunnel_id = \"a0\"; psk = \"k\"; cloudflare_endpoint = \"192.0.2.1\"; interface_address = \"198.19.0.4/31\"; interface_address6 = \"2001:db8:ffff::1/127\"; replay_protection = true; }"
#define IPSEC_PINNED \
	",\n    { name = \"it0\"; type = \"ipsec\"; tunnel_id = \"a0\"; psk = \"k\"; cloudflare_endpoint = \"192.0.2.1\"; interface_address = \"198.19.0.4/31\"; replay_protection = true; }"

START_TEST(test_a_pinned_tunnels_ipv6_default_moves_to_the_pin_link_with_ipv6_on)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(RELAY HEAD_ACCOUNT IPSEC_PINNED6 TAIL);
	struct edge_config *v4 = load(RELAY HEAD_ACCOUNT IPSEC_PINNED TAIL);
	struct in_addr to[2] = { { 0 }, ip("198.19.3.6") };
	struct reconcile_stats stats;
	const char *log, *on, *route6;

	ck_assert_str_eq(c->tunnels[1].name, "it0");
	ck_assert_int_eq(edge_kernel_apply_pinned(ops, c, to, &stats), 0);
	ck_assert_uint_eq(stats.failed, 0);
	log = kernel_fake_ops_log(ops);
	ck_assert_msg(strstr(log, "link set pin+0 gre local 198.19.3.2 remote "
			     "198.19.3.6 ttl 64 mtu 1476 up\n") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "sysctl net/ipv4/conf/pin+0/rp_filter=0\n") != NULL,
		      "%s", log);
	on = strstr(log, "sysctl net/ipv6/conf/pin+0/disable_ipv6=0\n");
	route6 = strstr(log, "route replace table 22002 ::/0 metric 1024 proto 228 "
			"nexthop dev pin+0 weight 1\n");
	ck_assert_msg(on != NULL && route6 != NULL && on < route6, "%s", log);
	ck_assert_msg(strstr(log, "route replace table 22002 0.0.0.0/0 metric 0 "
			     "proto 228 nexthop dev pin+0 weight 1\n") != NULL, "%s", log);
	/* gt0 is not pinned: both its routes stay on its own device. */
	ck_assert_ptr_null(strstr(log, "table 22001 ::/0"));
	ck_assert_msg(strstr(log, "route replace table 22001 0.0.0.0/0 metric 0 "
			     "proto 228 nexthop dev gt0 weight 1\n") != NULL, "%s", log);
	/* Back to its own device when it negotiates: the link and its IPv6
	 * stay, as the link does. */
	ck_assert_int_eq(edge_kernel_apply_pinned(ops, c, NULL, &stats), 0);
	log = kernel_fake_ops_log(ops);
	ck_assert_msg(strstr(log, "route replace table 22002 ::/0 metric 1024 proto 228 "
			     "nexthop dev it0 weight 1\n") != NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "sysctl net/ipv6/conf/pin+0/disable_ipv6=0\n"));
	ck_assert_ptr_null(strstr(log, "link del"));
	/* No IPv6 in any pinned tunnel: none asked of the pin link. */
	ck_assert_int_eq(edge_kernel_apply_pinned(ops, v4, to, &stats), 0);
	log = kernel_fake_ops_log(ops);
	ck_assert_ptr_null(strstr(log, "net/ipv6/conf/pin+0"));
	ck_assert_ptr_nonnull(strstr(log, "sysctl net/ipv4/conf/pin+0/rp_filter=0\n"));
	edge_config_free(c);
	edge_config_free(v4);
	ops->destroy(ops);
}
END_TEST

static Suite *
edge_kernel_suite(void)
{
	Suite *s = suite_create("edge_kernel");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fresh_start_then_nothing);
	tcase_add_test(tc, test_interface_address6_adds_the_ipv6_address_route_and_rule);
	tcase_add_test(tc, test_tunsteerd_objects_are_never_touched);
	tcase_add_test(tc, test_removed_tunnel_is_removed);
	tcase_add_test(tc, test_failed_operation_is_retried_next_time);
	tcase_add_test(tc, test_edge_and_tunsteerd_marks_keep_their_hands_off_each_other);
	tcase_add_test(tc, test_ipsec_if_ids_follow_names_in_the_edge_range);
	tcase_add_test(tc, test_an_ipsec_tunnel_is_an_xfrm_interface_with_its_if_id);
	tcase_add_test(tc, test_a_pinned_tunnels_ipv6_default_moves_to_the_pin_link_with_ipv6_on);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_kernel_suite)
