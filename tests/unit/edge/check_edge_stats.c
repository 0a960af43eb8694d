/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the edge's counters: nft's `list counters` text into per-tunnel
 * and per-rule counts (unknown or out-of-range names ignored), and the
 * IPv4 reassembly and fragmentation counters of /proc/net/snmp.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_config.h"
#include "edge/edge_stats.h"
#include "lib/log.h"
#include "testlib.h"

static const char *conf =
	"anycast = [ \"192.0.2.1\" ];\n"
	"customers = ( { name = \"c\"; authorized = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	"    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\"; },\n"
	"    { name = \"t1\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	"    customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"10.0.0.10/31\"; } ); } );\n"
	"firewall = ( { direction = \"egress\"; action = \"drop\"; } );\n";

START_TEST(test_nft_counters_land_on_their_tunnel_and_rule)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(conf, "t.conf", &errs);
	struct edge_counters k = { 0 };
	struct edge_count cnt[2][4] = { { { 0 } } }, fw[1] = { { 0 } };
	const char *text =
		"table inet tunsteer_edge {\n"
		"\tcounter ing_0 {\n\t\tpackets 10 bytes 1000\n\t}\n"
		"\tcounter egr_1 {\n\t\tpackets 7 bytes 700\n\t}\n"
		"\tcounter unauth_1 {\n\t\tpackets 5 bytes 420\n\t}\n"
		"\tcounter unauth_9 {\n\t\tpackets 99 bytes 99\n\t}\n"
		"\tcounter fw_0 {\n\t\tpackets 3 bytes 90\n\t}\n"
		"\tcounter other {\n\t\tpackets 1 bytes 1\n\t}\n"
		"}\n";

	ck_assert_ptr_nonnull(c);
	k.ingress = cnt[0];
	k.egress = cnt[1];
	k.unauth = cnt[1] + 2;
	k.fw = fw;
	edge_stats_parse_nft(text, c, &k);
	ck_assert_uint_eq(k.ingress[0].packets, 10);
	ck_assert_uint_eq(k.ingress[0].bytes, 1000);
	ck_assert_uint_eq(k.ingress[1].packets, 0);
	ck_assert_uint_eq(k.egress[1].packets, 7);
	ck_assert_uint_eq(k.unauth[1].packets, 5);
	ck_assert_uint_eq(k.unauth[1].bytes, 420);
	ck_assert_uint_eq(k.fw[0].packets, 3);
	edge_config_free(c);
}
END_TEST

START_TEST(test_snmp_reassembly_and_fragment_counters)
{
	struct edge_counters k = { 0 };
	const char *text =
		"Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams "
		"InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes "
		"ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates\n"
		"Ip: 1 64 100 0 0 50 0 0 40 30 0 0 3 12 4 3 2 1 6\n"
		"Icmp: InMsgs InErrors\nIcmp: 5 0\n";

	edge_stats_parse_snmp(text, &k);
	ck_assert_uint_eq(k.reasm_timeout, 3);
	ck_assert_uint_eq(k.reasm_reqds, 12);
	ck_assert_uint_eq(k.reasm_oks, 4);
	ck_assert_uint_eq(k.reasm_fails, 3);
	ck_assert_uint_eq(k.frag_oks, 2);
	ck_assert_uint_eq(k.frag_fails, 1);
	ck_assert_uint_eq(k.frag_creates, 6);
	memset(&k, 0, sizeof(k));
	edge_stats_parse_snmp("garbage\n", &k);
	edge_stats_parse_snmp("Ip: ReasmOKs\n", &k);
	ck_assert_uint_eq(k.reasm_oks, 0);
}
END_TEST

/* IPv6 counters land apart from the IPv4 ones of the same tunnel. */
START_TEST(test_ipv6_nft_counters_land_apart_from_ipv4)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(conf, "t.conf", &errs);
	struct edge_counters k = { 0 };
	struct edge_count cnt[6][2] = { { { 0 } } }, fw[1] = { { 0 } };
	const char *text =
		"table inet tunsteer_edge {\n"
		"\tcounter ing_0 {\n\t\tpackets 10 bytes 1000\n\t}\n"
		"\tcounter ing6_0 {\n\t\tpackets 4 bytes 400\n\t}\n"
		"\tcounter egr6_1 {\n\t\tpackets 8 bytes 800\n\t}\n"
		"\tcounter unauth6_1 {\n\t\tpackets 2 bytes 208\n\t}\n"
		"\tcounter unauth6_2 {\n\t\tpackets 99 bytes 99\n\t}\n"
		"}\n";

	ck_assert_ptr_nonnull(c);
	k.ingress = cnt[0];
	k.egress = cnt[1];
	k.unauth = cnt[2];
	k.ingress6 = cnt[3];
	k.egress6 = cnt[4];
	k.unauth6 = cnt[5];
	k.fw = fw;
	edge_stats_parse_nft(text, c, &k);
	ck_assert_uint_eq(k.ingress[0].packets, 10);
	ck_assert_uint_eq(k.ingress6[0].packets, 4);
	ck_assert_uint_eq(k.ingress6[0].bytes, 400);
	ck_assert_uint_eq(k.egress6[1].packets, 8);
	ck_assert_uint_eq(k.egress[1].packets, 0);
	ck_assert_uint_eq(k.unauth6[1].packets, 2);
	ck_assert_uint_eq(k.unauth6[1].bytes, 208);
	ck_assert_uint_eq(k.unauth[1].packets, 0);
	edge_config_free(c);
}
END_TEST

/* /proc/net/snmp6: "Name value" lines; the IPv6 reassembly counters, what
 * was too big to forward and the Packet Too Big messages sent. */
START_TEST(test_snmp6_reassembly_too_big_and_packet_too_big_counters)
{
	struct edge_counters k = { 0 };
	const char *text =
		"Ip6InReceives                   \t120\n"
		"Ip6InTooBigErrors               \t7\n"
		"Ip6ReasmTimeout                 \t1\n"
		"Ip6ReasmReqds                   \t9\n"
		"Ip6ReasmOKs                     \t3\n"
		"Ip6ReasmFails                   \t2\n"
		"Ip6FragOKs                      \t0\n"
		"Ip6FragFails                    \t0\n"
		"Ip6FragCreates                  \t0\n"
		"Icmp6InPktTooBigs               \t5\n"
		"Icmp6OutPktTooBigs              \t6\n"
		"Icmp6OutPktTooBigsX             \t66\n";

	edge_stats_parse_snmp6(text, &k);
	ck_assert_uint_eq(k.too_big6, 7);
	ck_assert_uint_eq(k.ptb6_sent, 6);
	ck_assert_uint_eq(k.reasm6_timeout, 1);
	ck_assert_uint_eq(k.reasm6_reqds, 9);
	ck_assert_uint_eq(k.reasm6_oks, 3);
	ck_assert_uint_eq(k.reasm6_fails, 2);
	ck_assert_uint_eq(k.reasm_oks, 0);
	memset(&k, 0, sizeof(k));
	edge_stats_parse_snmp6("", &k);
	edge_stats_parse_snmp6("Icmp6OutPktTooBigs", &k);
	ck_assert_uint_eq(k.ptb6_sent, 0);
}
END_TEST

static Suite *
edge_stats_suite(void)
{
	Suite *s = suite_create("edge_stats");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_nft_counters_land_on_their_tunnel_and_rule);
	tcase_add_test(tc, test_snmp_reassembly_and_fragment_counters);
	tcase_add_test(tc, test_ipv6_nft_counters_land_apart_from_ipv4);
	tcase_add_test(tc, test_snmp6_reassembly_too_big_and_packet_too_big_counters);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_stats_suite)
