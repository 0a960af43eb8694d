/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_stats.h"
#include "edge/edge_steer.h"
#include "lib/log.h"

struct edge_stats {
	/* Our own context: the kernel backend's lists without counters. */
	struct nft_ctx *nft;
};

struct edge_stats *
edge_stats_create(int *err)
{
	struct edge_stats *st = calloc(1, sizeof(*st));

	if (st == NULL || (st->nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL ||
	    nft_ctx_buffer_output(st->nft) || nft_ctx_buffer_error(st->nft)) {
		edge_stats_destroy(st);
		*err = -ENOMEM;
		return NULL;
	}
	return st;
}

void
edge_stats_destroy(struct edge_stats *st)
{
	if (st == NULL)
		return;
	if (st->nft)
		nft_ctx_free(st->nft);
	free(st);
}

void
edge_counters_free(struct edge_counters *out)
{
	free(out->ingress);
	free(out->egress);
	free(out->unauth);
	free(out->ingress6);
	free(out->egress6);
	free(out->unauth6);
	free(out->fw);
	free(out->links);
	memset(out, 0, sizeof(*out));
}

/* "counter NAME {" … "packets P bytes B". */
void
edge_stats_parse_nft(const char *text, const struct edge_config *c,
		     struct edge_counters *out)
{
	const char *p = text;

	while ((p = strstr(p, "counter ")) != NULL) {
		char name[64];
		unsigned long long pk, by;
		size_t idx;
		const char *q;
		struct edge_count *v = NULL;

		p += 8;
		if (sscanf(p, "%63[A-Za-z0-9_] {", name) != 1 ||
		    (q = strstr(p, "packets ")) == NULL ||
		    sscanf(q, "packets %llu bytes %llu", &pk, &by) != 2)
			continue;
		if (sscanf(name, "ing_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->ingress[idx];
		else if (sscanf(name, "egr_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->egress[idx];
		else if (sscanf(name, "unauth_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->unauth[idx];
		else if (sscanf(name, "ing6_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->ingress6[idx];
		else if (sscanf(name, "egr6_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->egress6[idx];
		else if (sscanf(name, "unauth6_%zu", &idx) == 1 && idx < c->n_tunnels)
			v = &out->unauth6[idx];
		else if (sscanf(name, "fw_%zu", &idx) == 1 && idx < c->n_firewall)
			v = &out->fw[idx];
		if (v) {
			v->packets = pk;
			v->bytes = by;
		}
	}
}

void
edge_stats_parse_snmp(const char *text, struct edge_counters *out)
{
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
		{ "ReasmReqds", offsetof(struct edge_counters, reasm_reqds) },
		{ "ReasmOKs", offsetof(struct edge_counters, reasm_oks) },
		{ "ReasmFails", offsetof(struct edge_counters, reasm_fails) },
		{ "ReasmTimeout", offsetof(struct edge_counters, reasm_timeout) },
		{ "FragOKs", offsetof(struct edge_counters, frag_oks) },
		{ "FragFails", offsetof(struct edge_counters, frag_fails) },
		{ "FragCreates", offsetof(struct edge_counters, frag_creates) },
	};
	const char *names = strstr(text, "Ip: "), *vals, *ne, *ve;

	/* Two "Ip:" lines: the names, then the values, in the same order. */
	if (!names || !(ne = strchr(names, '\n')) || strncmp(ne + 1, "Ip: ", 4))
		return;
	vals = ne + 1;
	ve = strchr(vals, '\n');
	names += 4;
	vals += 4;
	while (names < ne && vals && (!ve || vals < ve)) {
		size_t nl = strcspn(names, " \n");
		unsigned long long v = strtoull(vals, NULL, 10);

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strlen(want[i].name) == nl &&
			    strncmp(names, want[i].name, nl) == 0)
				*(uint64_t *)((char *)out + want[i].off) = v;
		names += nl;
		names += *names == ' ';
		vals += strcspn(vals, " \n");
		vals += *vals == ' ';
	}
}

void
edge_stats_parse_snmp6(const char *text, struct edge_counters *out)
{
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
		{ "Ip6ReasmReqds", offsetof(struct edge_counters, reasm6_reqds) },
		{ "Ip6ReasmOKs", offsetof(struct edge_counters, reasm6_oks) },
		{ "Ip6ReasmFails", offsetof(struct edge_counters, reasm6_fails) },
		{ "Ip6ReasmTimeout", offsetof(struct edge_counters, reasm6_timeout) },
		{ "Ip6FragOKs", offsetof(struct edge_counters, frag6_oks) },
		{ "Ip6FragFails", offsetof(struct edge_counters, frag6_fails) },
		{ "Ip6FragCreates", offsetof(struct edge_counters, frag6_creates) },
		{ "Ip6InTooBigErrors", offsetof(struct edge_counters, too_big6) },
		{ "Icmp6OutPktTooBigs", offsetof(struct edge_counters, ptb6_sent) },
	};

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l += l != NULL) {
		size_t nl = strcspn(l, " \t\n");

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strlen(want[i].name) == nl &&
			    strncmp(l, want[i].name, nl) == 0)
				*(uint64_t *)((char *)out + want[i].off) =
					strtoull(l + nl, NULL, 10);
	}
}

struct link_find {
	const struct edge_config *c;
	struct kernel_link *links;
};

static void
link_cb(const struct kernel_link *l, void *arg)
{
	struct link_find *f = arg;
	int i;

	if (!kernel_link_has_mark(l, KERNEL_EDGE_LINK_ALIAS_PREFIX) ||
	    (i = edge_config_tunnel_index(f->c, l->name)) < 0)
		return;
	f->links[i] = *l;
}

int
edge_stats_read(struct edge_stats *st, struct kernel_ops *ops,
		const struct edge_config *c, struct edge_counters *out)
{
	size_t n = c->n_tunnels ? c->n_tunnels : 1;
	FILE *f;

	memset(out, 0, sizeof(*out));
	out->ingress = calloc(n, sizeof(*out->ingress));
	out->egress = calloc(n, sizeof(*out->egress));
	out->unauth = calloc(n, sizeof(*out->unauth));
	out->ingress6 = calloc(n, sizeof(*out->ingress6));
	out->egress6 = calloc(n, sizeof(*out->egress6));
	out->unauth6 = calloc(n, sizeof(*out->unauth6));
	out->fw = calloc(c->n_firewall ? c->n_firewall : 1, sizeof(*out->fw));
	out->links = calloc(n, sizeof(*out->links));
	if (!out->ingress || !out->egress || !out->unauth || !out->ingress6 ||
	    !out->egress6 || !out->unauth6 || !out->fw || !out->links) {
		edge_counters_free(out);
		return -ENOMEM;
	}
	if (nft_run_cmd_from_buffer(st->nft, "list counters table " EDGE_NFT_TABLE) == 0) {
		edge_stats_parse_nft(nft_ctx_get_output_buffer(st->nft), c, out);
		out->nft_ok = true;
	}
	{
		struct link_find lf = { c, out->links };

		(void)ops->link_dump(ops, link_cb, &lf);
	}
	if ((f = fopen("/proc/net/snmp", "r")) != NULL) {
		char buf[4096];
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);

		buf[len] = '\0';
		fclose(f);
		edge_stats_parse_snmp(buf, out);
	}
	/* A few kB of "Name value" lines; none without IPv6 in the kernel. */
	if ((f = fopen("/proc/net/snmp6", "r")) != NULL) {
		char buf[16384];
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);

		buf[len] = '\0';
		fclose(f);
		edge_stats_parse_snmp6(buf, out);
	}
	return 0;
}
