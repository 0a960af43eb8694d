/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_kernel.h"
#include "edge/edge_nft.h"
#include "lib/strbuf.h"

static void
steer_rules(struct strbuf *b, const struct edge_config *c,
	    const struct steer *s, const char *prefix)
{
	char pb[TS_PREFIX_STRLEN];

	for (size_t i = 0; i < s->n; i++) {
		const struct steer_prefix *p = &s->p[i];
		/* The same rule in either family, with its own payload. */
		const char *ip = p->prefix.family == AF_INET6 ? "ip6" : "ip";

		ts_prefix_format(&p->prefix, pb, sizeof(pb));
		if (p->n_nh == 1) {
			strbuf_printf(b, "%s%s daddr %s meta mark set %#x return\n",
				      prefix, ip, pb,
				      edge_tunnel_fwmark(p->nh[0].tunnel));
			continue;
		}
		/* TCP and UDP hash the ports too; everything else only the
		 * addresses.  Both read the same bucket → mark map. */
		for (int l4 = 1; l4 >= 0; l4--) {
			unsigned int slot = 0;

			strbuf_printf(b, "%s%s daddr %s %smeta mark set jhash %s "
				      "saddr . %s daddr%s mod %u seed %#x map { ",
				      prefix, ip, pb,
				      l4 ? "meta l4proto { tcp, udp } " : "", ip,
				      ip, l4 ? " . th sport . th dport" : "",
				      p->modulus, c->ecmp_seed);
			for (size_t k = 0; k < p->n_nh; k++)
				for (unsigned int w = 0; w < p->nh[k].slots; w++) {
					strbuf_printf(b, "%s%u : %#x", slot ? ", " : "",
						      slot, edge_tunnel_fwmark(
							      p->nh[k].tunnel));
					slot++;
				}
			strbuf_printf(b, " } return\n");
		}
	}
}

char *
edge_nft_steer(const struct edge_config *c, const struct steer *s, int *err)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "flush chain %s steer\n", EDGE_NFT_TABLE);
	steer_rules(&b, c, s, "add rule " EDGE_NFT_TABLE " steer ");
	return strbuf_take(&b, err);
}

char *
edge_nft_delete(int *err)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "delete table %s\n", EDGE_NFT_TABLE);
	return strbuf_take(&b, err);
}

static void
tunnel_set(struct strbuf *b, const struct edge_config *c)
{
	strbuf_printf(b, "{ ");
	for (size_t i = 0; i < c->n_tunnels; i++)
		strbuf_printf(b, "%s\"%s\"", i ? ", " : "", c->tunnels[i].name);
	strbuf_printf(b, " }");
}

static void
fw_rule(struct strbuf *b, const struct edge_fw_rule *r, size_t i)
{
	static const char *const pn[256] = {
		[IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp",
		[IPPROTO_ICMP] = "icmp",
	};
	char pb[TS_PREFIX_STRLEN];

	strbuf_printf(b, "\t\t");
	if (r->protocol)
		strbuf_printf(b, "meta l4proto %s ", pn[r->protocol]);
	if (r->has_src)
		strbuf_printf(b, "ip saddr %s ",
			      ts_prefix_format(&r->src, pb, sizeof(pb)));
	if (r->has_dst)
		strbuf_printf(b, "ip daddr %s ",
			      ts_prefix_format(&r->dst, pb, sizeof(pb)));
	if (r->sport)
		strbuf_printf(b, "%s sport %u ", pn[r->protocol], r->sport);
	if (r->dport)
		strbuf_printf(b, "%s dport %u ", pn[r->protocol], r->dport);
	/* accept ends the firewall, not the forward chain: its counters
	 * still see the packet. */
	strbuf_printf(b, "counter name \"fw_%zu\" %s comment \"%s\"\n", i,
		      r->accept ? "return" : "drop", r->name);
}

/* The customer's authorized prefixes of @family as set auth_<ci> (IPv4)
 * or auth6_<ci> (IPv6); none when it has none of @family. */
static void
auth_set(struct strbuf *b, const struct edge_customer *cu, size_t ci,
	 int family)
{
	char pb[TS_PREFIX_STRLEN];
	bool first = true;

	for (size_t i = 0; i < cu->n_authorized; i++) {
		if (cu->authorized[i].family != family)
			continue;
		if (first)
			strbuf_printf(b, "\tset auth%s_%zu {\n\t\ttype %s\n"
				      "\t\tflags interval\n\t\telements = { ",
				      family == AF_INET6 ? "6" : "", ci,
				      family == AF_INET6 ? "ipv6_addr" :
				      "ipv4_addr");
		strbuf_printf(b, "%s%s", first ? "" : ", ",
			      ts_prefix_format(&cu->authorized[i], pb,
					       sizeof(pb)));
		first = false;
	}
	if (!first)
		strbuf_printf(b, " }\n\t}\n");
}

static bool
has_family(const struct edge_customer *cu, int family)
{
	for (size_t i = 0; i < cu->n_authorized; i++)
		if (cu->authorized[i].family == family)
			return true;
	return false;
}

/*
 * Tunnel @i's egress source filter, per family: only the customer's
 * authorized prefixes of that family leave it; the rest is counted
 * (unauth_<i>: IPv4, unauth6_<i>: IPv6) and dropped.
 */
static void
egress_filter(struct strbuf *b, const struct edge_config *c, size_t i)
{
	const struct edge_tunnel *t = &c->tunnels[i];
	const struct edge_customer *cu = &c->customers[t->customer];

	if (has_family(cu, AF_INET))
		strbuf_printf(b, "\t\tiifname \"%s\" ip saddr != @auth_%zu "
			      "counter name \"unauth_%zu\" drop\n", t->name,
			      t->customer, i);
	else
		strbuf_printf(b, "\t\tiifname \"%s\" meta nfproto ipv4 "
			      "counter name \"unauth_%zu\" drop\n", t->name, i);
	if (has_family(cu, AF_INET6))
		strbuf_printf(b, "\t\tiifname \"%s\" ip6 saddr != @auth6_%zu "
			      "counter name \"unauth6_%zu\" drop\n", t->name,
			      t->customer, i);
	else
		strbuf_printf(b, "\t\tiifname \"%s\" meta nfproto ipv6 "
			      "counter name \"unauth6_%zu\" drop\n", t->name, i);
}

char *
edge_nft_table(const struct edge_config *c, const struct steer *s, int *err)
{
	struct strbuf b = { 0 };

	/* add + delete + define: one transaction that works whether or not
	 * the table exists, and never leaves a moment without it. */
	strbuf_printf(&b, "add table %s\ndelete table %s\ntable %s {\n",
		      EDGE_NFT_TABLE, EDGE_NFT_TABLE, EDGE_NFT_TABLE);
	for (size_t ci = 0; ci < c->n_customers; ci++)
		for (int f = 0; f < 2; f++)
			auth_set(&b, &c->customers[ci], ci, f ? AF_INET6 : AF_INET);
	for (size_t i = 0; i < c->n_tunnels; i++)
		strbuf_printf(&b, "\tcounter ing_%zu { }\n\tcounter egr_%zu { }\n"
			      "\tcounter unauth_%zu { }\n\tcounter ing6_%zu { }\n"
			      "\tcounter egr6_%zu { }\n\tcounter unauth6_%zu { }\n",
			      i, i, i, i, i, i);
	for (size_t i = 0; i < c->n_firewall; i++)
		strbuf_printf(&b, "\tcounter fw_%zu { }\n", i);

	strbuf_printf(&b, "\tchain prerouting {\n\t\ttype filter hook prerouting "
		      "priority mangle; policy accept;\n"
		      /* Any ct expression makes the kernel track connections
		       * in this namespace, and with them reassemble IPv4 and
		       * IPv6 fragments (at priority -400, before us).  An
		       * IPv6 packet is forwarded as it came, refragmented to
		       * its own fragments' sizes or, when they do not fit
		       * the tunnel, answered with Packet Too Big: routers
		       * never fragment IPv6. */
		      "\t\tct state invalid counter comment \"conntrack: "
		      "reassembly on\"\n"
		      "\t\tjump steer\n\t}\n");
	strbuf_printf(&b, "\tchain steer {\n");
	steer_rules(&b, c, s, "\t\t");
	strbuf_printf(&b, "\t}\n");

	strbuf_printf(&b, "\tchain fw_ingress {\n");
	for (size_t i = 0; i < c->n_firewall; i++)
		if (c->firewall[i].direction == EDGE_FW_INGRESS)
			fw_rule(&b, &c->firewall[i], i);
	strbuf_printf(&b, "\t}\n\tchain fw_egress {\n");
	for (size_t i = 0; i < c->n_firewall; i++)
		if (c->firewall[i].direction == EDGE_FW_EGRESS)
			fw_rule(&b, &c->firewall[i], i);
	strbuf_printf(&b, "\t}\n");

	strbuf_printf(&b, "\tchain forward {\n\t\ttype filter hook forward "
		      "priority filter; policy accept;\n");
	for (size_t i = 0; i < c->n_tunnels; i++)
		egress_filter(&b, c, i);
	/* Forwarded to this server for a pinned tunnel, and to be forwarded
	 * again: the other server's steering disagrees with ours; no loop. */
	if (edge_kernel_pins_any(c))
		strbuf_printf(&b, "\t\tiifname \"" EDGE_PIN_LINK "*\" oifname \""
			      EDGE_PIN_LINK "*\" counter drop\n");
	if (c->n_tunnels) {
		strbuf_printf(&b, "\t\toifname ");
		tunnel_set(&b, c);
		strbuf_printf(&b, " jump fw_ingress\n\t\tiifname ");
		tunnel_set(&b, c);
		strbuf_printf(&b, " jump fw_egress\n");
	}
	/* Per tunnel and family: ing_/egr_ count IPv4, ing6_/egr6_ IPv6. */
	for (size_t i = 0; i < c->n_tunnels; i++)
		for (int f = 0; f < 2; f++)
			strbuf_printf(&b, "\t\toifname \"%s\" meta nfproto %s "
				      "counter name \"ing%s_%zu\"\n\t\tiifname "
				      "\"%s\" meta nfproto %s counter name "
				      "\"egr%s_%zu\"\n", c->tunnels[i].name,
				      f ? "ipv6" : "ipv4", f ? "6" : "", i,
				      c->tunnels[i].name, f ? "ipv6" : "ipv4",
				      f ? "6" : "", i);
	strbuf_printf(&b, "\t}\n}\n");
	return strbuf_take(&b, err);
}
