/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge.conf: the shipped example loads with the values the man
 * page promises, defaults are the provider's, every validation rule has a
 * bad input whose exact "FILE:LINE: field: message" is asserted, the
 * normalised print round-trips, and no truncation of a good file crashes
 * the parser.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge_config.h"
#include "edge/edge_ike.h"
#include "lib/log.h"
#include "testlib.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif
#define EXAMPLE TOP_SRCDIR "/etc/tunsteer-edge.conf"

static struct edge_config *
load_ok(const char *text)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(text, "t.conf", &errs);

	if (!c) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
		config_errors_free(&errs);
		ck_abort_msg("config refused");
	}
	return c;
}

/* The messages for @text, joined with "\n". */
static char *
errors_of(const char *text)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(text, "t.conf", &errs);
	char *all = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&all, &len);

	ck_assert_ptr_null(c);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(m, "%s%s", i ? "\n" : "", errs.msgs[i]);
	fclose(m);
	config_errors_free(&errs);
	return all;
}

#define MINIMAL \
	"anycast = [ \"192.0.2.1\" ];\n" \
	"customers = ( { name = \"c\"; authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n" \
	"    customer_gre_endpoint = \"198.51.100.2\";\n" \
	"    interface_address = \"10.0.0.8/31\"; } );\n" \
	"  routes = ( { prefix = \"203.0.113.0/24\"; tunnel = \"t0\"; priority = 100; } ); } );\n"

START_TEST(test_example_file_loads_with_its_values)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load(EXAMPLE, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, "edge1");
	ck_assert_uint_eq(c->n_anycast, 2);
	ck_assert_str_eq(ip_text(c->anycast[1]), "192.0.2.2");
	ck_assert_uint_eq(c->ecmp_seed, 0x74736564u);
	ck_assert(c->has_public_address);
	ck_assert_str_eq(ip_text(c->public_address), "192.0.2.101");
	ck_assert(c->relay.set);
	ck_assert_uint_eq(c->relay.port, 7474);
	ck_assert_uint_eq(c->relay.n_peers, 2);
	ck_assert_uint_eq(c->n_customers, 1);
	ck_assert_uint_eq(c->customers[0].n_authorized, 2);
	ck_assert_uint_eq(c->n_tunnels, 4);
	ck_assert_str_eq(c->tunnels[0].name, "gt0");
	ck_assert_str_eq(ip_text(c->tunnels[0].provider_addr), "198.19.0.0");
	ck_assert_str_eq(ip_text(c->tunnels[0].customer_addr), "198.19.0.1");
	ck_assert_str_eq(ip_text(c->tunnels[3].customer_endpoint), "198.51.100.6");
	ck_assert_uint_eq(c->tunnels[0].mtu, 1476);
	ck_assert_uint_eq(c->tunnels[0].ttl, 64);
	ck_assert_int_eq(c->tunnels[0].hc.type, EDGE_HC_REPLY);
	ck_assert_int_eq(c->tunnels[2].hc.type, EDGE_HC_REQUEST);
	ck_assert_int_eq(c->tunnels[2].hc.direction, EDGE_HC_BIDIRECTIONAL);
	ck_assert_int_eq(c->tunnels[3].hc.direction, EDGE_HC_UNIDIRECTIONAL);
	ck_assert_uint_eq(c->n_routes, 8);
	ck_assert(c->tunnels[3].has_address6);
	ck_assert_int_eq(c->routes[7].prefix.family, AF_INET6);
	ck_assert_uint_eq(c->routes[7].tunnel, 3);
	ck_assert_uint_eq(c->routes[1].tunnel, 2);
	ck_assert_uint_eq(c->routes[1].priority, 100);
	ck_assert_uint_eq(c->routes[1].weight, 1);
	ck_assert_uint_eq(c->n_firewall, 2);
	ck_assert_int_eq(c->firewall[0].direction, EDGE_FW_INGRESS);
	ck_assert_uint_eq(c->firewall[0].dport, 23);
	ck_assert(!c->firewall[0].accept);
	edge_config_free(c);
}
END_TEST

START_TEST(test_defaults_are_the_providers)
{
	struct edge_config *c = load_ok(MINIMAL);
	const struct edge_hc *hc = &c->tunnels[0].hc;

	ck_assert(hc->enabled);
	ck_assert_int_eq(hc->type, EDGE_HC_REPLY);	/* provider default */
	ck_assert_int_eq(hc->direction, EDGE_HC_BIDIRECTIONAL);
	ck_assert_uint_eq(hc->interval_ms, 1000);
	ck_assert_uint_eq(hc->timeout_ms, 250);
	ck_assert_uint_eq(hc->retries, 2);
	ck_assert_uint_eq(hc->min_state_ms, 300000);
	ck_assert_uint_eq(c->tunnels[0].mtu, 1476);
	ck_assert_uint_eq(c->tunnels[0].ttl, 64);
	/* The address given is the provider's side (the provider's docs). */
	ck_assert_str_eq(ip_text(c->tunnels[0].provider_addr), "10.0.0.8");
	ck_assert_str_eq(ip_text(c->tunnels[0].customer_addr), "10.0.0.9");
	ck_assert_uint_eq(c->routes[0].weight, 1);
	ck_assert_uint_eq(c->ecmp_seed, EDGE_ECMP_SEED);
	ck_assert(!c->relay.set);
	ck_assert_uint_eq(c->n_firewall, 0);
	edge_config_free(c);
}
END_TEST

START_TEST(test_interface_address_side_customer_swaps_the_sides)
{
	/* The provider's troubleshooting page calls the other host its own. */
	const char *text =
		"anycast = [ \"192.0.2.1\" ];\n"
		"customers = ( { name = \"c\"; authorized = [ ];\n"
		"  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\";\n"
		"    interface_address_side = \"customer\"; } ); } );\n";
	struct edge_config *c = load_ok(text);

	ck_assert_str_eq(ip_text(c->tunnels[0].customer_addr), "10.0.0.8");
	ck_assert_str_eq(ip_text(c->tunnels[0].provider_addr), "10.0.0.9");
	ck_assert_uint_eq(c->n_routes, 0);
	edge_config_free(c);
}
END_TEST

START_TEST(test_route_nexthop_names_the_tunnel_by_customer_address)
{
	const char *text =
		"anycast = [ \"192.0.2.1\" ];\n"
		"customers = ( { name = \"c\"; authorized = [ ];\n"
		"  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\"; },\n"
		"    { name = \"t1\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"10.0.0.10/31\"; } );\n"
		"  routes = ( { prefix = \"203.0.113.0/24\"; nexthop = \"10.0.0.11\"; priority = 5; weight = 256; } ); } );\n";
	struct edge_config *c = load_ok(text);

	ck_assert_uint_eq(c->routes[0].tunnel, 1);
	ck_assert_uint_eq(c->routes[0].weight, 256);
	ck_assert_uint_eq(c->customers[0].n_authorized, 0);
	edge_config_free(c);
}
END_TEST

/* Each bad input and exactly the messages it must give. */
static const struct {
	const char *text, *want;
} bad[] = {
	{ "anycast = [ ];\ncustomers = ( );\n",
	  "t.conf:1: anycast: 0 addresses; give 1..16" },
	{ "customers = ( );\n",
	  "t.conf: anycast: required" },
	{ "anycast = [ \"192.0.2.1\", \"192.0.2.1/32\", \"224.0.0.1\", \"192.0.2.1\" ];\ncustomers = ( );\n",
	  "t.conf:1: anycast[1]: \"192.0.2.1/32\" is not an IPv4 address (no /length here)\n"
	  "t.conf:1: anycast[2]: 224.0.0.1 is not a unicast address\n"
	  "t.conf:1: anycast[3]: 192.0.2.1 is listed twice" },
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\ncolour = 1;\n",
	  "t.conf:3: colour: unknown setting" },
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\nx = 4294967297;\n",
	  "t.conf:3: syntax error: integer 4294967297 does not fit in 32 bits; write 4294967297L" },
	{ "anycast = [ \"192.0.2.1\" ;\ncustomers = ( );\n",
	  "t.conf:1: syntax error" },
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n@include \"x\"\n",
	  "t.conf:3: @include is not supported" },
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
	  "health_check = { type = \"ping\"; direction = \"both\"; timeout_ms = 500;\n"
	  "  interval_ms = 10; retries = 3; target = \"192.0.2.9\"; };\n",
	  "t.conf:3: health_check.type: \"ping\" is not \"reply\" or \"request\"\n"
	  "t.conf:3: health_check.direction: \"both\" is not \"bidirectional\" or \"unidirectional\"\n"
	  "t.conf:3: health_check.timeout_ms: 500 is out of range (10..499)\n"
	  "t.conf:4: health_check.target: unknown setting\n"
	  "t.conf:4: health_check.interval_ms: 10 is out of range (50..60000)\n"
	  "t.conf:4: health_check.retries: 3 is out of range (0..2)" },
	{ "anycast = [ \"192.0.2.1\" ];\n"
	  "customers = ( { name = \"c\"; authorized = [ \"203.0.113.1/25\", \"10.0.0.0/8\", \"10.1.0.0/16\" ];\n"
	  "  tunnels = ( { name = \"t0\"; type = \"l2tp\"; cloudflare_gre_endpoint = \"192.0.2.2\";\n"
	  "    customer_gre_endpoint = \"192.0.2.1\"; interface_address = \"10.0.0.8/29\";\n"
	  "    mtu = 1500; ttl = 0; health_check = { direction = \"unidirectional\"; }; } );\n"
	  "  routes = ( { prefix = \"203.0.113.0/24\"; tunnel = \"t9\"; priority = 100; } ); } );\n",
	  "t.conf:2: customers[0].authorized[0]: 203.0.113.1/25 has host bits set; did you mean 203.0.113.0/25?\n"
	  "t.conf:2: customers[0].authorized: 10.1.0.0/16 overlaps 10.0.0.0/8\n"
	  "t.conf:3: customers[0].tunnels[0].type: \"l2tp\" is not \"gre\" or \"ipsec\"\n"
	  "t.conf:3: customers[0].tunnels[0].cloudflare_gre_endpoint: 192.0.2.2 is not one of the anycast addresses\n"
	  "t.conf:3: customers[0].tunnels[0].health_check: unidirectional checks need health_check.public_address (this server's address the customer answers to)\n"
	  "t.conf:4: customers[0].tunnels[0].customer_gre_endpoint: 192.0.2.1 is an anycast address of the provider\n"
	  "t.conf:4: customers[0].tunnels[0].interface_address: 10.0.0.8/29: the provider takes a /31 or a /30\n"
	  "t.conf:5: customers[0].tunnels[0].mtu: 1500 is out of range (576..1476)\n"
	  "t.conf:5: customers[0].tunnels[0].ttl: 0 is out of range (1..255)\n"
	  "t.conf:6: customers[0].routes[0].tunnel: no tunnel \"t9\" in customer \"c\"" },
	{ "anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n"
	  "customers = ( { name = \"c\"; authorized = [ ];\n"
	  "  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\"; },\n"
	  "  { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.9/31\"; } );\n"
	  "  routes = ( { prefix = \"203.0.113.0/24\"; tunnel = \"t0\"; priority = 1; },\n"
	  "    { prefix = \"203.0.113.0/24\"; tunnel = \"t0\"; priority = 2; },\n"
	  "    { prefix = \"203.0.113.0/24\"; nexthop = \"10.0.0.7\"; priority = 2; },\n"
	  "    { prefix = \"203.0.113.0/24\"; weight = 257; } ); },\n"
	  "  { name = \"c\"; authorized = [ ]; tunnels = ( ); } );\n",
	  "t.conf:5: customers[0].tunnels[1].name: \"t0\" is already used at line 3\n"
	  "t.conf:5: customers[0].tunnels[1].cloudflare_gre_endpoint: tunnel \"t0\" (line 3) has the same endpoints; GRE cannot tell the two apart\n"
	  "t.conf:6: customers[0].tunnels[1].interface_address: 10.0.0.9/31 overlaps 10.0.0.8/31 of tunnel \"t0\" (line 4)\n"
	  "t.conf:8: customers[0].routes[1].prefix: a route for this prefix through \"t0\" is already defined at line 7\n"
	  "t.conf:9: customers[0].routes[2].nexthop: 10.0.0.7 is not the customer side of a tunnel of \"c\"\n"
	  "t.conf:10: customers[0].routes[3].tunnel: required (or nexthop)\n"
	  "t.conf:10: customers[0].routes[3].priority: required\n"
	  "t.conf:10: customers[0].routes[3].weight: 257 is out of range (1..256)\n"
	  "t.conf:11: customers[1].name: \"c\" is already defined at line 2\n"
	  "t.conf:11: customers[1].tunnels: must not be empty" },
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
	  "relay = { address = \"198.19.3.2\"; port = 0; peers = [ \"198.19.3.2\", \"198.19.3.6\", \"198.19.3.6\" ]; };\n"
	  "firewall = ( { direction = \"in\"; action = \"reject\"; protocol = \"sctp\"; },\n"
	  "  { direction = \"ingress\"; action = \"drop\"; dport = 22; src = \"10.0.0.1/8\"; } );\n",
	  "t.conf:3: relay.port: 0 is out of range (1..65535)\n"
	  "t.conf:3: relay.peers[0]: 198.19.3.2 is this server's own relay.address\n"
	  "t.conf:3: relay.peers[2]: 198.19.3.6 is listed twice\n"
	  "t.conf:4: firewall[0].direction: \"in\" is not \"ingress\" (toward the customer) or \"egress\" (from it)\n"
	  "t.conf:4: firewall[0].action: \"reject\" is not \"accept\" or \"drop\"\n"
	  "t.conf:4: firewall[0].protocol: \"sctp\" is not tcp, udp, icmp or any\n"
	  "t.conf:5: firewall[1].src: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?\n"
	  "t.conf:5: firewall[1].dport: ports need protocol \"tcp\" or \"udp\"" },
	/* SA propagation: a key too short to be one, a port taken. */
	{ "anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
	  "relay = { address = \"198.19.3.2\"; peers = [ \"198.19.3.6\" ];\n"
	  "  sa_key = \"short\"; sa_port = 7474; sa_delay_ms = 600001; };\n",
	  "t.conf:4: relay.sa_key: 5 bytes; at least 16\n"
	  "t.conf:4: relay.sa_port: 7474 is relay.port\n"
	  "t.conf:4: relay.sa_delay_ms: 600001 is out of range (0..600000)" },
	/* ipsec tunnels: the provider's vocabulary, each refusal. */
	{ "anycast = [ \"192.0.2.1\" ];\n"
	  "customers = ( { name = \"c\"; account_id = \"ABC\"; authorized = [ ];\n"
	  "  tunnels = ( { name = \"i0\"; type = \"ipsec\"; tunnel_id = \"12_34\";\n"
	  "    cloudflare_endpoint = \"192.0.2.9\"; customer_endpoint = \"192.0.2.1\";\n"
	  "    psk = \"\"; replay_protection = 1; allow_null_cipher = \"yes\";\n"
	  "    interface_address = \"10.0.0.8/31\"; mtu = 1451; ttl = 64; },\n"
	  "  { name = \"g0\"; cloudflare_gre_endpoint = \"192.0.2.1\"; cloudflare_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.10/31\";\n"
	  "    tunnel_id = \"1\"; psk = \"s\"; } ); } );\n",
	  "t.conf:2: customers[0].account_id: \"ABC\" is not an account ID (1..32 hex digits, lower case)\n"
	  "t.conf:3: customers[0].tunnels[0].tunnel_id: \"12_34\" is not a tunnel ID (1..32 hex digits, lower case)\n"
	  "t.conf:4: customers[0].tunnels[0].cloudflare_endpoint: 192.0.2.9 is not one of the anycast addresses\n"
	  "t.conf:4: customers[0].tunnels[0].customer_endpoint: 192.0.2.1 is an anycast address of the provider\n"
	  "t.conf:5: customers[0].tunnels[0].psk: must not be empty\n"
	  "t.conf:5: customers[0].tunnels[0].replay_protection: expected a boolean (true or false), not an integer\n"
	  "t.conf:5: customers[0].tunnels[0].allow_null_cipher: expected a boolean (true or false), not a string\n"
	  "t.conf:6: customers[0].tunnels[0].mtu: 1451 is out of range (576..1450)\n"
	  "t.conf:6: customers[0].tunnels[0].ttl: GRE tunnels only\n"
	  "t.conf:7: customers[0].tunnels[1].cloudflare_endpoint: ipsec tunnels only\n"
	  "t.conf:9: customers[0].tunnels[1].tunnel_id: ipsec tunnels only\n"
	  "t.conf:9: customers[0].tunnels[1].psk: ipsec tunnels only" },
	{ "anycast = [ \"192.0.2.1\" ];\n"
	  "customers = ( { name = \"c\"; authorized = [ ];\n"
	  "  tunnels = ( { name = \"i0\"; type = \"ipsec\";\n"
	  "    interface_address = \"10.0.0.8/31\"; } ); },\n"
	  "  { name = \"d\"; account_id = \"ab\"; authorized = [ ];\n"
	  "  tunnels = ( { name = \"i1\"; type = \"ipsec\"; tunnel_id = \"01\"; psk = \"k\";\n"
	  "    cloudflare_endpoint = \"192.0.2.1\"; interface_address = \"10.0.0.10/31\";\n"
	  "    health_check = { direction = \"unidirectional\"; }; },\n"
	  "  { name = \"i2\"; type = \"ipsec\"; tunnel_id = \"01\"; psk = \"k\";\n"
	  "    cloudflare_endpoint = \"192.0.2.1\"; interface_address = \"10.0.0.12/31\"; } ); } );\n"
	  "health_check = { public_address = \"192.0.2.77\"; };\n",
	  "t.conf:2: customers[0].account_id: required with ipsec tunnels (tunnel \"i0\", line 3): the customer's IKE identities are made of it\n"
	  "t.conf:3: customers[0].tunnels[0].tunnel_id: required\n"
	  "t.conf:3: customers[0].tunnels[0].psk: required\n"
	  "t.conf:3: customers[0].tunnels[0].cloudflare_endpoint: required\n"
	  "t.conf:6: customers[1].tunnels[0].health_check: unidirectional checks of a tunnel without customer_endpoint need health_check.target\n"
	  "t.conf:9: customers[1].tunnels[1].tunnel_id: \"01\" of account \"ab\" is already tunnel \"i1\" (line 6); the customer's IKE identities would be the same" },
	/* IPv6: interface_address6 a /127 and no special address, no two
	 * overlapping; an IPv6 route only through a tunnel with one, by
	 * tunnel or by the customer side of it, prefixes without host bits,
	 * next hops of the prefix's family. */
	{ "anycast = [ \"192.0.2.1\" ];\n"
	  "customers = ( { name = \"c\"; authorized = [ \"2001:db8:1::1/64\", \"2001:db8::/32\" ];\n"
	  "  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\";\n"
	  "    interface_address6 = \"2001:db8:ffff::1/64\"; },\n"
	  "  { name = \"t1\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"10.0.0.10/31\";\n"
	  "    interface_address6 = \"fe80::1/127\"; },\n"
	  "  { name = \"t2\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.10\"; interface_address = \"10.0.0.12/31\";\n"
	  "    interface_address6 = \"10.0.0.12/31\"; },\n"
	  "  { name = \"t3\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.14\"; interface_address = \"10.0.0.14/31\";\n"
	  "    interface_address6 = \"2001:db8:ffff::2/127\"; },\n"
	  "  { name = \"t4\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
	  "    customer_gre_endpoint = \"198.51.100.18\"; interface_address = \"10.0.0.16/31\";\n"
	  "    interface_address6 = \"2001:db8:ffff::3/127\"; } );\n"
	  "  routes = ( { prefix = \"2001:db8:1::/64\"; tunnel = \"t0\"; priority = 1; },\n"
	  "    { prefix = \"2001:db8:1::1/64\"; tunnel = \"t3\"; priority = 1; },\n"
	  "    { prefix = \"2001:db8:1::/64\"; nexthop = \"2001:db8:ffff::9\"; priority = 1; },\n"
	  "    { prefix = \"203.0.113.0/24\"; nexthop = \"2001:db8:ffff::2\"; priority = 1; },\n"
	  "    { prefix = \"2001:db8:1::/64\"; nexthop = \"10.0.0.15\"; priority = 1; } ); } );\n",
	  "t.conf:2: customers[0].authorized[0]: 2001:db8:1::1/64 has host bits set; did you mean 2001:db8:1::/64?\n"
	  "t.conf:5: customers[0].tunnels[0].interface_address6: 2001:db8:ffff::1/64: the provider takes a /127\n"
	  "t.conf:8: customers[0].tunnels[1].interface_address6: fe80::1/127 is a link-local address\n"
	  "t.conf:11: customers[0].tunnels[2].interface_address6: \"10.0.0.12/31\" is not an IPv6 address with /127\n"
	  "t.conf:17: customers[0].tunnels[4].interface_address6: 2001:db8:ffff::3/127 overlaps 2001:db8:ffff::2/127 of tunnel \"t3\" (line 14)\n"
	  "t.conf:18: customers[0].routes[0].prefix: an IPv6 prefix through tunnel \"t0\" (line 3), which has no interface_address6\n"
	  "t.conf:19: customers[0].routes[1].prefix: 2001:db8:1::1/64 has host bits set; did you mean 2001:db8:1::/64?\n"
	  "t.conf:20: customers[0].routes[2].nexthop: 2001:db8:ffff::9 is not the customer side of an interface_address6 of \"c\"\n"
	  "t.conf:21: customers[0].routes[3].nexthop: an IPv6 next hop for an IPv4 prefix\n"
	  "t.conf:22: customers[0].routes[4].nexthop: an IPv4 next hop for an IPv6 prefix" },
};

START_TEST(test_bad_input_gives_exact_messages)
{
	char *got = errors_of(bad[_i].text);

	ck_assert_msg(strcmp(got, bad[_i].want) == 0,
		      "case %d:\n--- got\n%s\n--- want\n%s", _i, got, bad[_i].want);
	free(got);
}
END_TEST

START_TEST(test_missing_file_is_one_clear_message)
{
	char *all = NULL;
	struct config_errors errs = { 0 };

	ck_assert_ptr_null(edge_config_load("/nonexistent/edge.conf", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0],
			 "/nonexistent/edge.conf: cannot open: No such file or directory");
	config_errors_free(&errs);
	free(all);
}
END_TEST

static char *
print_of(const struct edge_config *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&s, &n);

	edge_config_print(c, m);
	fclose(m);
	return s;
}

static char *
print_secrets_of(const struct edge_config *c)
{
	char *s = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&s, &n);

	edge_config_print_secrets(c, m);
	fclose(m);
	return s;
}

/* Two ipsec tunnels of one account on different anycast addresses, one
 * without customer_endpoint, and a GRE tunnel beside them. */
#define IPSEC \
	"anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n" \
	"customers = ( { name = \"c\"; account_id = \"0123abcd\";\n" \
	"  authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = ( { name = \"i0\"; type = \"ipsec\"; tunnel_id = \"4567ef\";\n" \
	"    psk = \"s3cr\\\"et\\\\\"; cloudflare_endpoint = \"192.0.2.1\";\n" \
	"    customer_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\"; },\n" \
	"  { name = \"i1\"; type = \"ipsec\"; tunnel_id = \"89\"; psk = \"other\";\n" \
	"    replay_protection = true; allow_null_cipher = true; mtu = 1400;\n" \
	"    cloudflare_endpoint = \"192.0.2.2\"; interface_address = \"10.0.0.10/31\"; },\n" \
	"  { name = \"g0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n" \
	"    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.12/31\"; } );\n" \
	"  routes = ( { prefix = \"203.0.113.0/24\"; tunnel = \"i0\"; priority = 100; },\n" \
	"    { prefix = \"203.0.113.0/24\"; tunnel = \"i1\"; priority = 200; } ); } );\n"

START_TEST(test_relay_sa_key_turns_propagation_on_with_defaults_and_is_redacted)
{
	struct edge_config *c = load_ok(
		"anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
		"relay = { address = \"198.19.3.2\"; peers = [ \"198.19.3.6\" ];\n"
		"  sa_key = \"0123456789abcdef-lab\"; };\n");
	struct edge_config *d;
	char *out, *sec;

	ck_assert_str_eq(c->relay.sa_key, "0123456789abcdef-lab");
	ck_assert_uint_eq(c->relay.sa_port, 7475);
	ck_assert_uint_eq(c->relay.sa_delay_ms, 120000);
	out = print_of(c);
	ck_assert_ptr_nonnull(strstr(out, "sa_key = <redacted>;"));
	ck_assert_ptr_null(strstr(out, "0123456789abcdef"));
	ck_assert_ptr_nonnull(strstr(out, "sa_port = 7475;"));
	sec = print_secrets_of(c);
	ck_assert_ptr_nonnull(strstr(sec, "sa_key = \"0123456789abcdef-lab\";"));
	/* What -nv prints with secrets loads back the same. */
	d = load_ok(sec);
	ck_assert_str_eq(d->relay.sa_key, c->relay.sa_key);
	ck_assert_uint_eq(d->relay.sa_delay_ms, 120000);
	edge_config_free(d);
	free(sec);
	free(out);
	edge_config_free(c);
	/* Without a key: no propagation. */
	c = load_ok("anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
		    "relay = { address = \"198.19.3.2\"; peers = [ \"198.19.3.6\" ];"
		    " sa_delay_ms = 500; };\n");
	ck_assert_ptr_null(c->relay.sa_key);
	ck_assert_uint_eq(c->relay.sa_delay_ms, 500);
	edge_config_free(c);
}
END_TEST

START_TEST(test_ipsec_tunnels_load_with_the_providers_defaults)
{
	struct edge_config *c = load_ok(IPSEC);
	const struct edge_tunnel *i0 = &c->tunnels[0], *i1 = &c->tunnels[1];

	ck_assert_uint_eq(c->n_tunnels, 3);
	ck_assert_str_eq(c->customers[0].account_id, "0123abcd");
	ck_assert_int_eq(i0->type, EDGE_TUNNEL_IPSEC);
	ck_assert_int_eq(c->tunnels[2].type, EDGE_TUNNEL_GRE);
	ck_assert_str_eq(i0->ipsec.tunnel_id, "4567ef");
	ck_assert_str_eq(i0->ipsec.psk, "s3cr\"et\\");
	ck_assert_str_eq(i1->ipsec.psk, "other");
	/* replay protection off (window 0) and no null cipher by default */
	ck_assert(!i0->ipsec.replay_protection);
	ck_assert(!i0->ipsec.allow_null_cipher);
	ck_assert(i1->ipsec.replay_protection);
	ck_assert(i1->ipsec.allow_null_cipher);
	ck_assert_uint_eq(i0->mtu, EDGE_IPSEC_MTU);
	ck_assert_uint_eq(i1->mtu, 1400);
	ck_assert(i0->has_customer_endpoint);
	ck_assert(!i1->has_customer_endpoint);
	ck_assert_str_eq(inet_ntoa(i0->provider_addr), "10.0.0.8");
	ck_assert_uint_eq(c->routes[1].tunnel, 1);
	ck_assert_uint_eq(c->routes[1].priority, 200);
	edge_config_free(c);
}
END_TEST

START_TEST(test_ipsec_customer_ids_in_the_providers_four_formats)
{
	struct edge_config *c = load_ok(IPSEC);
	struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX];

	ck_assert_uint_eq(edge_ipsec_ids(c, 0, ids), 4);
	ck_assert_str_eq(ids[0].type, "rfc822");
	ck_assert_str_eq(ids[0].text, "ipsec@4567ef.0123abcd.ipsec.cloudflare.com");
	ck_assert_str_eq(ids[1].type, "fqdn");
	ck_assert_str_eq(ids[1].text, "4567ef.0123abcd.ipsec.cloudflare.com");
	ck_assert_str_eq(ids[2].type, "key_id");
	ck_assert_str_eq(ids[2].text, "0123abcd_4567ef");
	ck_assert_str_eq(ids[3].type, "ipv4");
	ck_assert_str_eq(ids[3].text, "198.51.100.2");
	/* Without customer_endpoint, no ID_IPV4_ADDR. */
	ck_assert_uint_eq(edge_ipsec_ids(c, 1, ids), 3);
	ck_assert_str_eq(ids[2].text, "0123abcd_89");
	/* A GRE tunnel has none. */
	ck_assert_uint_eq(edge_ipsec_ids(c, 2, ids), 0);
	edge_config_free(c);
}
END_TEST

START_TEST(test_ipsec_ipv4_id_only_for_a_unique_endpoint_pair)
{
	static const char text[] =
		"anycast = [ \"192.0.2.1\" ];\n"
		"customers = ( { name = \"c\"; account_id = \"aa\"; authorized = [ ];\n"
		"  tunnels = ( { name = \"i0\"; type = \"ipsec\"; tunnel_id = \"1\"; psk = \"k\";\n"
		"    cloudflare_endpoint = \"192.0.2.1\"; customer_endpoint = \"198.51.100.2\";\n"
		"    interface_address = \"10.0.0.8/31\"; },\n"
		"  { name = \"i1\"; type = \"ipsec\"; tunnel_id = \"2\"; psk = \"k\";\n"
		"    cloudflare_endpoint = \"192.0.2.1\"; customer_endpoint = \"198.51.100.2\";\n"
		"    interface_address = \"10.0.0.10/31\"; } ); } );\n";
	struct edge_config *c = load_ok(text);
	struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX];

	/* Two IPsec tunnels on one pair are allowed (IKE IDs tell them
	 * apart), but then neither may be known by its address. */
	ck_assert_uint_eq(edge_ipsec_ids(c, 0, ids), 3);
	ck_assert_uint_eq(edge_ipsec_ids(c, 1, ids), 3);
	edge_config_free(c);
}
END_TEST

START_TEST(test_ipsec_print_round_trips_and_never_shows_the_psk)
{
	struct edge_config *a = load_ok(IPSEC), *b;
	char *pa = print_secrets_of(a), *pb, *red = print_of(a);
	struct config_errors errs = { 0 };

	b = load_ok(pa);
	pb = print_secrets_of(b);
	ck_assert_str_eq(pa, pb);
	ck_assert_str_eq(b->tunnels[0].ipsec.psk, "s3cr\"et\\");
	ck_assert(b->tunnels[1].ipsec.replay_protection);
	ck_assert_ptr_nonnull(strstr(pa, "\t\t\t\t# replay window 0\n"));
	ck_assert_ptr_nonnull(strstr(pa, "\t\t\t\t# replay window 64\n"));
	ck_assert_ptr_nonnull(strstr(pa, "# the customer may be key_id 0123abcd_4567ef\n"));
	/* -nv: redacted, and what is redacted does not load. */
	ck_assert_ptr_null(strstr(red, "s3cr"));
	ck_assert_ptr_null(strstr(red, "other"));
	ck_assert_ptr_nonnull(strstr(red, "psk = <redacted>;"));
	ck_assert_ptr_null(edge_config_load_string(red, "t.conf", &errs));
	config_errors_free(&errs);
	free(pa);
	free(pb);
	free(red);
	edge_config_free(a);
	edge_config_free(b);
}
END_TEST

START_TEST(test_a_file_with_a_psk_readable_by_others_is_refused)
{
	char *path = temp_file(IPSEC);
	struct config_errors errs = { 0 };
	struct edge_config *c;

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_ptr_null(edge_config_load(path, &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], "holds secrets (psk) but is "
				     "readable by others (mode 0644)"));
	ck_assert_ptr_null(strstr(errs.msgs[0], "s3cr"));
	config_errors_free(&errs);
	ck_assert_int_eq(chmod(path, 0600), 0);
	c = edge_config_load(path, &errs);
	ck_assert_ptr_nonnull(c);
	edge_config_free(c);
	unlink(path);
	free(path);
}
END_TEST

/* A strongSwan build serves ipsec tunnels (its responder, edge_ike.c);
 * a GRE-only build refuses each, by line. */
START_TEST(test_only_a_gre_only_build_refuses_to_serve_ipsec_tunnels_by_line)
{
	struct edge_config *c = load_ok(IPSEC), *g = load_ok(MINIMAL);
	struct config_errors errs = { 0 };

	ck_assert_int_eq(edge_config_check_serve(g, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
#ifdef HAVE_STRONGSWAN
	ck_assert_ptr_null(edge_ike_unavailable());
	ck_assert_int_eq(edge_config_check_serve(c, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
#else
	ck_assert_int_eq(edge_config_check_serve(c, &errs), -ENOTSUP);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0], "t.conf:4: customers[0].tunnels[0]: "
			 "tunnel \"i0\": this tunsteer-edge was built without "
			 "strongSwan (--without-strongswan); it serves GRE "
			 "tunnels only");
	ck_assert_ptr_nonnull(strstr(errs.msgs[1], "t.conf:7: customers[0].tunnels[1]: "
				     "tunnel \"i1\""));
#endif
	config_errors_free(&errs);
	edge_config_free(c);
	edge_config_free(g);
	/* SA propagation carries IPsec SAs: the same rule for relay.sa_key. */
	g = load_ok("anycast = [ \"192.0.2.1\" ];\ncustomers = ( );\n"
		    "relay = { address = \"198.19.3.2\"; peers = [ \"198.19.3.6\" ];\n"
		    "  sa_key = \"0123456789abcdef-lab\"; };\n");
#ifdef HAVE_STRONGSWAN
	ck_assert_int_eq(edge_config_check_serve(g, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
#else
	ck_assert_int_eq(edge_config_check_serve(g, &errs), -ENOTSUP);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "t.conf:4: relay.sa_key: this "
			 "tunsteer-edge was built without strongSwan "
			 "(--without-strongswan); it serves GRE tunnels only");
#endif
	config_errors_free(&errs);
	edge_config_free(g);
}
END_TEST

/* Dual stack: interface_address6 beside the /31 on the side
 * interface_address_side names, IPv6 authorized prefixes and routes by
 * tunnel or by the customer side of the /127, shown by -nv and loaded
 * back the same. */
START_TEST(test_interface_address6_and_ipv6_routes_load_print_and_round_trip)
{
	const char *text =
		"anycast = [ \"192.0.2.1\" ];\n"
		"customers = ( { name = \"c\";\n"
		"  authorized = [ \"2001:db8:1::/64\", \"203.0.113.0/25\" ];\n"
		"  tunnels = ( { name = \"t0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.8/31\";\n"
		"    interface_address6 = \"2001:db8:ffff::1/127\"; },\n"
		"    { name = \"t1\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.6\"; interface_address = \"10.0.0.11/31\";\n"
		"    interface_address_side = \"customer\";\n"
		"    interface_address6 = \"2001:db8:ffff::3/127\"; },\n"
		"    { name = \"t2\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		"    customer_gre_endpoint = \"198.51.100.10\"; interface_address = \"10.0.0.12/31\"; } );\n"
		"  routes = ( { prefix = \"2001:db8:1::/64\"; tunnel = \"t0\"; priority = 100; },\n"
		"    { prefix = \"2001:db8:1::/64\"; nexthop = \"2001:db8:ffff::3\"; priority = 100; },\n"
		"    { prefix = \"203.0.113.0/24\"; tunnel = \"t2\"; priority = 100; } ); } );\n";
	struct edge_config *c = load_ok(text), *b;
	char *pa = print_of(c), *pb;
	char a6[INET6_ADDRSTRLEN];

	ck_assert(c->tunnels[0].has_address6);
	inet_ntop(AF_INET6, &c->tunnels[0].provider_addr6, a6, sizeof(a6));
	ck_assert_str_eq(a6, "2001:db8:ffff::1");
	inet_ntop(AF_INET6, &c->tunnels[0].customer_addr6, a6, sizeof(a6));
	ck_assert_str_eq(a6, "2001:db8:ffff::");
	/* The customer's side given: ours is the other host. */
	inet_ntop(AF_INET6, &c->tunnels[1].provider_addr6, a6, sizeof(a6));
	ck_assert_str_eq(a6, "2001:db8:ffff::2");
	ck_assert(!c->tunnels[2].has_address6);
	ck_assert_uint_eq(c->routes[1].tunnel, 1);
	ck_assert_int_eq(c->routes[1].prefix.family, AF_INET6);
	/* Sorted: IPv4 first. */
	ck_assert_int_eq(c->customers[0].authorized[0].family, AF_INET);
	ck_assert_int_eq(c->customers[0].authorized[1].family, AF_INET6);
	ck_assert_ptr_nonnull(strstr(pa, "\t\t\t\tinterface_address6 = \"2001:db8:ffff::1/127\";\n"
				     "\t\t\t\t# provider side 2001:db8:ffff::1, customer side 2001:db8:ffff::\n"));
	ck_assert_ptr_nonnull(strstr(pa, "authorized = [ \"203.0.113.0/25\", \"2001:db8:1::/64\" ];"));
	ck_assert_ptr_nonnull(strstr(pa, "{ prefix = \"2001:db8:1::/64\"; tunnel = \"t1\"; "
				     "priority = 100; weight = 1; }"));
	b = load_ok(pa);
	pb = print_of(b);
	ck_assert_str_eq(pa, pb);
	free(pa);
	free(pb);
	edge_config_free(c);
	edge_config_free(b);
}
END_TEST

START_TEST(test_print_round_trips)
{
	char *text = slurp(EXAMPLE);
	struct edge_config *a = load_ok(text), *b;
	char *pa = print_of(a), *pb;

	b = load_ok(pa);
	pb = print_of(b);
	ck_assert_str_eq(pa, pb);
	ck_assert_uint_eq(b->n_tunnels, a->n_tunnels);
	ck_assert_int_eq(b->tunnels[2].hc.type, EDGE_HC_REQUEST);
	ck_assert_uint_eq(b->relay.n_peers, 2);
	free(pa);
	free(pb);
	free(text);
	edge_config_free(a);
	edge_config_free(b);
}
END_TEST

START_TEST(test_every_truncation_of_the_example_is_handled)
{
	char *text = slurp(EXAMPLE);
	size_t n = strlen(text);

	for (size_t k = 0; k < n; k += 7) {
		struct config_errors errs = { 0 };
		char saved = text[k];
		struct edge_config *c;

		text[k] = '\0';
		c = edge_config_load_string(text, "t.conf", &errs);
		ck_assert(c != NULL || errs.n > 0);
		edge_config_free(c);
		config_errors_free(&errs);
		text[k] = saved;
	}
	free(text);
}
END_TEST

static Suite *
edge_config_suite(void)
{
	Suite *s = suite_create("edge_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_example_file_loads_with_its_values);
	tcase_add_test(tc, test_defaults_are_the_providers);
	tcase_add_test(tc, test_interface_address_side_customer_swaps_the_sides);
	tcase_add_test(tc, test_route_nexthop_names_the_tunnel_by_customer_address);
	tcase_add_loop_test(tc, test_bad_input_gives_exact_messages, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_missing_file_is_one_clear_message);
	tcase_add_test(tc, test_relay_sa_key_turns_propagation_on_with_defaults_and_is_redacted);
	tcase_add_test(tc, test_print_round_trips);
	tcase_add_test(tc, test_interface_address6_and_ipv6_routes_load_print_and_round_trip);
	tcase_add_test(tc, test_ipsec_tunnels_load_with_the_providers_defaults);
	tcase_add_test(tc, test_ipsec_customer_ids_in_the_providers_four_formats);
	tcase_add_test(tc, test_ipsec_ipv4_id_only_for_a_unique_endpoint_pair);
	tcase_add_test(tc, test_ipsec_print_round_trips_and_never_shows_the_psk);
	tcase_add_test(tc, test_a_file_with_a_psk_readable_by_others_is_refused);
	tcase_add_test(tc, test_only_a_gre_only_build_refuses_to_serve_ipsec_tunnels_by_line);
	tcase_add_test(tc, test_every_truncation_of_the_example_is_handled);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_config_suite)
