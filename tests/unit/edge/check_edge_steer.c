/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ingress steering (edge_steer, edge_nft): effective priorities with the
 * provider's penalties, ECMP sets, routes never removed, weights, longest
 * prefix first, the lookup3 hash against its published test vectors,
 * flow placement by the hash modulo the number of next hops, and the nft
 * rules that do the same in the kernel.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_config.h"
#include "edge/edge_nft.h"
#include "edge/edge_steer.h"
#include "lib/log.h"
#include "testlib.h"

/* The lab's layout: gt0, gt2 at 100; gt1, gt3 at 200. */
static const char *lab =
	"anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n"
	"customers = ( { name = \"lab\"; authorized = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = (\n"
	"    { name = \"gt0\"; cloudflare_gre_endpoint = \"192.0.2.1\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.0/31\"; },\n"
	"    { name = \"gt1\"; cloudflare_gre_endpoint = \"192.0.2.2\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.2/31\"; },\n"
	"    { name = \"gt2\"; cloudflare_gre_endpoint = \"192.0.2.1\"; customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"198.19.0.4/31\"; },\n"
	"    { name = \"gt3\"; cloudflare_gre_endpoint = \"192.0.2.2\"; customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"198.19.0.6/31\"; } );\n"
	"  routes = (\n"
	"    { prefix = \"203.0.113.0/24\"; tunnel = \"gt0\"; priority = 100; },\n"
	"    { prefix = \"203.0.113.0/24\"; tunnel = \"gt2\"; priority = 100; },\n"
	"    { prefix = \"203.0.113.0/24\"; tunnel = \"gt1\"; priority = 200; },\n"
	"    { prefix = \"203.0.113.0/24\"; tunnel = \"gt3\"; priority = 200; } ); } );\n";

/* @text with the first @from replaced by @to (malloc'd). */
static char *
replace(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *out;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_gt(asprintf(&out, "%.*s%s%s", (int)(p - text), text, to,
				  p + strlen(from)), 0);
	return out;
}

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

/* The tunnel names of prefix 0's set, "gt0,gt2". */
static const char *
set_of(const struct edge_config *c, const struct steer *s, size_t i)
{
	static char buf[256];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < s->p[i].n_nh; k++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					k ? "," : "", c->tunnels[s->p[i].nh[k].tunnel].name);
	return buf;
}

START_TEST(test_jhash_matches_lookup3_test_vectors)
{
	const char *s = "Four score and seven years ago";

	ck_assert_uint_eq(edge_jhash((const uint8_t *)"", 0, 0), 0xdeadbeefu);
	ck_assert_uint_eq(edge_jhash((const uint8_t *)"", 0, 0xdeadbeefu), 0xbd5b7ddeu);
	ck_assert_uint_eq(edge_jhash((const uint8_t *)s, 30, 0), 0x17770551u);
	ck_assert_uint_eq(edge_jhash((const uint8_t *)s, 30, 1), 0xcd628161u);
}
END_TEST

START_TEST(test_lowest_priority_wins_equal_ones_share)
{
	struct edge_config *c = load(lab);
	struct steer s;

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(set_of(c, &s, 0), "gt0,gt2");
	ck_assert_uint_eq(s.p[0].modulus, 2);
	ck_assert_uint_eq(s.p[0].best, 100);
	edge_steer_free(&s);
	edge_config_free(c);
}
END_TEST

START_TEST(test_penalties_move_the_set_and_routes_are_never_removed)
{
	struct edge_config *c = load(lab);
	enum eh_state st[4] = { EH_DEGRADED, EH_HEALTHY, EH_HEALTHY, EH_HEALTHY };
	struct steer s;

	/* gt0 degraded: 500,100 > 100 → gt2 alone. */
	ck_assert_int_eq(edge_steer_build(c, st, &s), 0);
	ck_assert_str_eq(set_of(c, &s, 0), "gt2");
	ck_assert_uint_eq(s.effective[0], 500100);
	edge_steer_free(&s);
	/* gt0 down, gt2 degraded: gt1 + gt3 at 200. */
	st[0] = EH_DOWN;
	st[2] = EH_DEGRADED;
	ck_assert_int_eq(edge_steer_build(c, st, &s), 0);
	ck_assert_str_eq(set_of(c, &s, 0), "gt1,gt3");
	ck_assert_uint_eq(s.effective[0], 1000100);
	edge_steer_free(&s);
	/* Everything down: the best configured ones, never nothing. */
	for (int i = 0; i < 4; i++)
		st[i] = EH_DOWN;
	ck_assert_int_eq(edge_steer_build(c, st, &s), 0);
	ck_assert_str_eq(set_of(c, &s, 0), "gt0,gt2");
	ck_assert_uint_eq(s.p[0].best, 1000100);
	edge_steer_free(&s);
	/* Degraded beats down whatever the configured priority: 500,200 <
	 * 1,000,100. */
	st[1] = EH_DEGRADED;
	ck_assert_int_eq(edge_steer_build(c, st, &s), 0);
	ck_assert_str_eq(set_of(c, &s, 0), "gt1");
	edge_steer_free(&s);
	edge_config_free(c);
}
END_TEST

START_TEST(test_weights_become_buckets_reduced_by_their_gcd)
{
	char *t1 = replace(lab, "\"gt0\"; priority = 100;",
			   "\"gt0\"; priority = 100; weight = 2;");
	char *text = replace(t1, "\"gt2\"; priority = 100;",
			     "\"gt2\"; priority = 100; weight = 4;");
	struct edge_config *c;
	struct steer s;

	free(t1);
	c = load(text);
	ck_assert_uint_eq(c->routes[0].weight, 2);
	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	ck_assert_uint_eq(s.p[0].nh[0].slots, 1);
	ck_assert_uint_eq(s.p[0].nh[1].slots, 2);
	ck_assert_uint_eq(s.p[0].modulus, 3);
	edge_steer_free(&s);
	edge_config_free(c);
	free(text);
}
END_TEST

START_TEST(test_flows_spread_stick_and_move_with_the_count)
{
	/* Three equal next hops: gt1 joins at 100. */
	char *text = replace(lab, "\"gt1\"; priority = 200;",
			     "\"gt1\"; priority = 100;");
	struct edge_config *c;
	struct steer two, three;
	enum eh_state st[4] = { 0 };
	unsigned int on[4] = { 0 }, moved = 0, from_gone = 0, stayed = 0;
	struct steer_flow f, g;

	c = load(text);
	ck_assert_int_eq(edge_steer_build(c, st, &three), 0);
	ck_assert_uint_eq(three.p[0].modulus, 3);
	st[0] = EH_DOWN;
	ck_assert_int_eq(edge_steer_build(c, st, &two), 0);
	ck_assert_uint_eq(two.p[0].modulus, 2);
	for (uint16_t port = 40000; port < 41000; port++) {
		ck_assert_int_eq(edge_steer_flow(&three, c->ecmp_seed,
						 ip("198.18.0.10"), ip("203.0.113.10"),
						 IPPROTO_UDP, port, 9000, &f), 0);
		on[f.tunnel]++;
		/* The same flow, again: the same tunnel. */
		ck_assert_int_eq(edge_steer_flow(&three, c->ecmp_seed,
						 ip("198.18.0.10"), ip("203.0.113.10"),
						 IPPROTO_UDP, port, 9000, &g), 0);
		ck_assert_uint_eq(f.tunnel, g.tunnel);
		ck_assert_int_eq(edge_steer_flow(&two, c->ecmp_seed,
						 ip("198.18.0.10"), ip("203.0.113.10"),
						 IPPROTO_UDP, port, 9000, &g), 0);
		ck_assert_uint_ne(g.tunnel, 0);		/* gt0 is down */
		ck_assert_uint_eq(g.hash, f.hash);	/* the flow's hash is fixed */
		ck_assert_uint_eq(g.bucket, (uint32_t)(((uint64_t)f.hash * 2) >> 32));
		moved += g.tunnel != f.tunnel;
		from_gone += f.tunnel == 0;
		stayed += f.tunnel != 0 && g.tunnel == f.tunnel;
	}
	/* Roughly a third each. */
	for (int t = 0; t < 3; t++)
		ck_assert_msg(on[t] > 250 && on[t] < 420, "tunnel %d has %u", t, on[t]);
	ck_assert_uint_eq(on[3], 0);
	/* Changing the count moves more than the flows of the lost tunnel. */
	ck_assert_uint_gt(moved, from_gone);
	ck_assert_uint_gt(stayed, 0);
	/* ICMP hashes the addresses only: every "port" is the same flow. */
	ck_assert_int_eq(edge_steer_flow(&three, c->ecmp_seed, ip("198.18.0.10"),
					 ip("203.0.113.10"), IPPROTO_ICMP, 1, 2, &f), 0);
	ck_assert_int_eq(edge_steer_flow(&three, c->ecmp_seed, ip("198.18.0.10"),
					 ip("203.0.113.10"), IPPROTO_ICMP, 3, 4, &g), 0);
	ck_assert_uint_eq(f.hash, g.hash);
	ck_assert_int_eq(edge_steer_flow(&three, c->ecmp_seed, ip("198.18.0.10"),
					 ip("198.18.0.11"), IPPROTO_UDP, 1, 2, &f), -ENOENT);
	edge_steer_free(&two);
	edge_steer_free(&three);
	edge_config_free(c);
	free(text);
}
END_TEST

START_TEST(test_longest_prefix_is_matched_first)
{
	char *text;
	struct edge_config *c;
	struct steer s;
	struct steer_flow f;

	ck_assert_int_gt(asprintf(&text, "%.*s,\n    { prefix = \"203.0.113.0/25\"; "
				  "tunnel = \"gt3\"; priority = 300; } ); } );\n",
				  (int)(strstr(lab, " ); } );") - lab), lab), 0);
	c = load(text);
	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.p[0].prefix.len, 25);
	ck_assert_int_eq(edge_steer_flow(&s, c->ecmp_seed, ip("198.18.0.10"),
					 ip("203.0.113.10"), IPPROTO_TCP, 1, 2, &f), 0);
	ck_assert_str_eq(c->tunnels[f.tunnel].name, "gt3");
	ck_assert_int_eq(edge_steer_flow(&s, c->ecmp_seed, ip("198.18.0.10"),
					 ip("203.0.113.200"), IPPROTO_TCP, 1, 2, &f), 0);
	ck_assert_int_eq(f.prefix, 1);
	edge_steer_free(&s);
	edge_config_free(c);
	free(text);
}
END_TEST

START_TEST(test_nft_steer_rules_hash_ports_for_tcp_udp_only)
{
	struct edge_config *c = load(lab);
	struct steer s;
	char *script;
	int err;

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	script = edge_nft_steer(c, &s, &err);
	ck_assert_ptr_nonnull(script);
	ck_assert_str_eq(script,
		"flush chain inet tunsteer_edge steer\n"
		"add rule inet tunsteer_edge steer ip daddr 203.0.113.0/24 meta l4proto "
		"{ tcp, udp } meta mark set jhash ip saddr . ip daddr . th sport . th dport "
		"mod 2 seed 0x74736564 map { 0 : 0x74650001, 1 : 0x74650003 } return\n"
		"add rule inet tunsteer_edge steer ip daddr 203.0.113.0/24 meta mark set "
		"jhash ip saddr . ip daddr mod 2 seed 0x74736564 map { 0 : 0x74650001, "
		"1 : 0x74650003 } return\n");
	free(script);
	edge_steer_free(&s);
	edge_config_free(c);
}
END_TEST

START_TEST(test_nft_table_drops_unauthorized_egress_per_tunnel)
{
	struct edge_config *c = load(lab);
	struct steer s;
	char *script;
	int err;

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	script = edge_nft_table(c, &s, &err);
	ck_assert_ptr_nonnull(script);
	ck_assert_ptr_nonnull(strstr(script, "add table inet tunsteer_edge\n"
				     "delete table inet tunsteer_edge\n"));
	ck_assert_ptr_nonnull(strstr(script, "elements = { 203.0.113.0/25 }"));
	ck_assert_ptr_nonnull(strstr(script, "iifname \"gt2\" ip saddr != @auth_0 "
				     "counter name \"unauth_2\" drop\n"));
	ck_assert_ptr_nonnull(strstr(script, "oifname \"gt3\" meta nfproto ipv4 "
				     "counter name \"ing_3\"\n"));
	/* No IPv6 authorized: none of it leaves a tunnel, counted apart. */
	ck_assert_ptr_nonnull(strstr(script, "iifname \"gt2\" meta nfproto ipv6 "
				     "counter name \"unauth6_2\" drop\n"));
	ck_assert_ptr_null(strstr(script, "set auth6_"));
	ck_assert_ptr_nonnull(strstr(script, "ct state invalid counter"));
	free(script);
	edge_steer_free(&s);
	edge_config_free(c);
}
END_TEST

/* The lab in dual stack: each tunnel with its /127, the customer's IPv6
 * prefix authorized and routed like its IPv4 one. */
static char *
lab6(void)
{
	char *a = replace(lab, "authorized = [ \"203.0.113.0/25\" ]",
			  "authorized = [ \"203.0.113.0/25\", \"2001:db8:1::/64\" ]");
	char *b = a, *out;
	static const char *const ifa[] = {
		"interface_address = \"198.19.0.0/31\";",
		"interface_address = \"198.19.0.2/31\";",
		"interface_address = \"198.19.0.4/31\";",
		"interface_address = \"198.19.0.6/31\";",
	};
	char with[128];

	for (int i = 0; i < 4; i++) {
		snprintf(with, sizeof(with), "%s interface_address6 = "
			 "\"2001:db8:ffff::%x/127\";", ifa[i], 2 * i + 1);
		b = replace(a, ifa[i], with);
		free(a);
		a = b;
	}
	out = replace(a, "routes = (\n", "routes = (\n"
		      "    { prefix = \"2001:db8:1::/64\"; tunnel = \"gt0\"; priority = 100; },\n"
		      "    { prefix = \"2001:db8:1::/64\"; tunnel = \"gt2\"; priority = 100; },\n"
		      "    { prefix = \"2001:db8:1::/64\"; tunnel = \"gt1\"; priority = 200; },\n"
		      "    { prefix = \"2001:db8:1::/64\"; tunnel = \"gt3\"; priority = 200; },\n");
	free(a);
	return out;
}

static struct ts_prefix
host(const char *text)
{
	struct ts_prefix p;

	ck_assert_int_eq(ts_prefix_parse(text, false, &p), 0);
	return p;
}

/* IPv6 routes rank as IPv4 ones do, each family's prefixes apart; a flow
 * is placed by the same hash over the IPv6 5-tuple, whose value is the
 * kernel's: nft `jhash ip6 saddr . ip6 daddr [. th sport . th dport]
 * mod 65536 seed 0x74736564` gave 0xd2b7 for UDP 2001:db8:100::10 port
 * 40000 → 2001:db8:1::10 port 9000 and 0x1c32 for an ICMPv6 echo
 * between the same hosts (Linux 6.18, a netns, the mark read back from
 * a dynamic set); mod N is (hash * N) >> 32. */
START_TEST(test_ipv6_flows_hash_as_the_kernel_and_follow_penalties_like_ipv4)
{
	char *text = lab6();
	struct edge_config *c = load(text);
	enum eh_state st[4] = { EH_DOWN, EH_HEALTHY, EH_HEALTHY, EH_HEALTHY };
	struct ts_prefix inet6 = host("2001:db8:100::10"), lan6 = host("2001:db8:1::10");
	struct ts_prefix inet4 = host("198.18.0.10");
	struct steer s, pen;
	struct steer_flow f;
	unsigned int seen[4] = { 0 };

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.p[0].prefix.family, AF_INET6);	/* /64 before /24 */
	ck_assert_str_eq(set_of(c, &s, 0), "gt0,gt2");
	ck_assert_str_eq(set_of(c, &s, 1), "gt0,gt2");

	ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet6, &lan6,
					      IPPROTO_UDP, 40000, 9000, &f), 0);
	ck_assert_uint_eq((uint32_t)(((uint64_t)f.hash * 65536) >> 32), 0xd2b7);
	ck_assert_int_eq(f.prefix, 0);
	ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet6, &lan6,
					      IPPROTO_ICMPV6, 0, 0, &f), 0);
	ck_assert_uint_eq((uint32_t)(((uint64_t)f.hash * 65536) >> 32), 0x1c32);
	/* Families never mix: a mixed pair is refused, an IPv6 address
	 * outside every IPv6 route has none (the IPv4 /24 does not count). */
	ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet4, &lan6,
					      IPPROTO_UDP, 1, 2, &f), -EINVAL);
	ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet6,
					      &(struct ts_prefix){ 0 }, 0, 0, 0, &f),
			 -EINVAL);
	struct ts_prefix other = host("2001:db8:2::10");
	ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet6, &other,
					      IPPROTO_UDP, 1, 2, &f), -ENOENT);

	/* 64 flows spread over gt0 and gt2 only; with gt0 down, gt2 alone:
	 * its penalty moves IPv6 exactly as it moves IPv4. */
	for (uint16_t p = 40000; p < 40064; p++) {
		ck_assert_int_eq(edge_steer_flow_addr(&s, c->ecmp_seed, &inet6,
						      &lan6, IPPROTO_UDP, p,
						      9000, &f), 0);
		seen[f.tunnel]++;
	}
	ck_assert_uint_gt(seen[0], 0);
	ck_assert_uint_gt(seen[2], 0);
	ck_assert_uint_eq(seen[1] + seen[3], 0);
	ck_assert_int_eq(edge_steer_build(c, st, &pen), 0);
	ck_assert_str_eq(set_of(c, &pen, 0), "gt2");
	ck_assert_str_eq(set_of(c, &pen, 1), "gt2");
	edge_steer_free(&pen);
	edge_steer_free(&s);
	edge_config_free(c);
	free(text);
}
END_TEST

/* The kernel's side of IPv6: the same steer rules with ip6 payloads, an
 * auth6 set, per-family filters and counters on every tunnel. */
START_TEST(test_nft_ipv6_steer_hashes_ip6_and_filters_egress_per_family)
{
	char *text = lab6();
	struct edge_config *c = load(text);
	struct steer s;
	char *script;
	int err;

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	script = edge_nft_table(c, &s, &err);
	ck_assert_ptr_nonnull(script);
	ck_assert_ptr_nonnull(strstr(script,
		"ip6 daddr 2001:db8:1::/64 meta l4proto { tcp, udp } meta mark set "
		"jhash ip6 saddr . ip6 daddr . th sport . th dport mod 2 seed "
		"0x74736564 map { 0 : 0x74650001, 1 : 0x74650003 } return\n"));
	ck_assert_ptr_nonnull(strstr(script,
		"ip6 daddr 2001:db8:1::/64 meta mark set jhash ip6 saddr . ip6 "
		"daddr mod 2 seed 0x74736564 map { 0 : 0x74650001, 1 : 0x74650003 } "
		"return\n"));
	ck_assert_ptr_nonnull(strstr(script, "set auth6_0 {\n\t\ttype ipv6_addr\n"
				     "\t\tflags interval\n\t\telements = { 2001:db8:1::/64 }"));
	ck_assert_ptr_nonnull(strstr(script, "elements = { 203.0.113.0/25 }"));
	ck_assert_ptr_nonnull(strstr(script, "iifname \"gt1\" ip saddr != @auth_0 "
				     "counter name \"unauth_1\" drop\n"));
	ck_assert_ptr_nonnull(strstr(script, "iifname \"gt1\" ip6 saddr != @auth6_0 "
				     "counter name \"unauth6_1\" drop\n"));
	ck_assert_ptr_nonnull(strstr(script, "oifname \"gt1\" meta nfproto ipv6 "
				     "counter name \"ing6_1\"\n"));
	ck_assert_ptr_nonnull(strstr(script, "iifname \"gt1\" meta nfproto ipv6 "
				     "counter name \"egr6_1\"\n"));
	free(script);
	edge_steer_free(&s);
	edge_config_free(c);
	free(text);
}
END_TEST

static Suite *
edge_steer_suite(void)
{
	Suite *s = suite_create("edge_steer");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_jhash_matches_lookup3_test_vectors);
	tcase_add_test(tc, test_ipv6_flows_hash_as_the_kernel_and_follow_penalties_like_ipv4);
	tcase_add_test(tc, test_nft_ipv6_steer_hashes_ip6_and_filters_egress_per_family);
	tcase_add_test(tc, test_lowest_priority_wins_equal_ones_share);
	tcase_add_test(tc, test_penalties_move_the_set_and_routes_are_never_removed);
	tcase_add_test(tc, test_weights_become_buckets_reduced_by_their_gcd);
	tcase_add_test(tc, test_flows_spread_stick_and_move_with_the_count);
	tcase_add_test(tc, test_longest_prefix_is_matched_first);
	tcase_add_test(tc, test_nft_steer_rules_hash_ports_for_tcp_udp_only);
	tcase_add_test(tc, test_nft_table_drops_unauthorized_egress_per_tunnel);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_steer_suite)
