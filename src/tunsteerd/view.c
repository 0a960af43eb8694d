/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "tunsteerd/desired.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/view.h"

static const struct kernel_nhobj *
want_nhobj(const struct kernel_state *want, uint32_t id)
{
	for (size_t i = 0; i < want->n_nhobjs; i++)
		if (want->nhobjs[i].id == id)
			return &want->nhobjs[i];
	return NULL;
}

/* Is tunnel @name a member of the group policy @p's route goes through
 * (or a nexthop of the route) right now? */
static bool
carries_policy(const struct engine *e, size_t p, const char *name)
{
	const struct kernel_state *want = engine_desired(e);

	for (size_t i = 0; i < want->n_routes; i++) {
		const struct kernel_route *r = &want->routes[i];
		const struct kernel_nhobj *g;

		if (r->table != desired_policy_table(p))
			continue;
		for (unsigned int n = 0; n < r->n_nexthops; n++)
			if (strcmp(r->nh[n].dev, name) == 0)
				return true;
		if (r->nhid == 0 || (g = want_nhobj(want, r->nhid)) == NULL)
			continue;
		for (unsigned int m = 0; m < g->n_members; m++) {
			const struct kernel_nhobj *path =
			    want_nhobj(want, g->member[m].id);

			if (path && strcmp(path->dev, name) == 0)
				return true;
		}
	}
	return false;
}

/* The conntrack mark of tunnel @name's connections (0: unknown). */
static uint32_t
tunnel_ct_mark(const struct engine *e, const char *name)
{
	const struct kernel_state *want = engine_desired(e);

	for (size_t i = 0; i < want->n_nhobjs; i++) {
		const struct kernel_nhobj *nh = &want->nhobjs[i];

		if (nh->n_members == 0 && strcmp(nh->dev, name) == 0)
			return desired_ct_mark(nh->id);
	}
	return 0;
}

static bool
active(const struct engine *e, const char *name)
{
	const struct config *c = engine_config(e);

	for (size_t p = 0; c && p < c->n_policies; p++)
		if (carries_policy(e, p, name))
			return true;
	return false;
}

struct link_seen {
	const struct config *conf;
	struct kernel_link *links;	/* by tunnel index */
	bool *found;
};

static void
link_seen_cb(const struct kernel_link *l, void *arg)
{
	struct link_seen *s = arg;
	int i;

	if (!kernel_link_is_ours(l))
		return;
	if ((i = config_tunnel_index(s->conf, l->name)) < 0)
		return;
	s->links[i] = *l;
	s->found[i] = true;
}

static const char *
tunnel_state(const struct kernel_link *l, bool found)
{
	if (!found)
		return "missing";
	return l->up ? "up" : "down";
}

/* The provider's health checks of tunnel @name: the end of its JSON
 * object, or the last columns of its line. */
static void
view_checks(const struct engine *e, const char *name, const struct health *h,
	    bool json, FILE *out)
{
	const struct passive_stats *st = engine_checks(e, name);
	struct passive_stats none = { 0 };
	long long age = passive_age_ms(st);
	uint64_t total = 0;
	char b[32];

	if (st == NULL)
		st = &none;
	if (json) {
		fprintf(out, ",\"provider_checks\":{");
		for (int k = 0; k < PASSIVE_KINDS; k++)
			fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "",
				passive_kind_name((enum passive_kind)k),
				st->count[k]);
		fprintf(out, "},\"provider_check_age_ms\":");
		if (age < 0)
			fprintf(out, "null");
		else
			fprintf(out, "%lld", age);
		fprintf(out, ",\"provider_checks_missing\":%s}",
			h && h->checks_missing ? "true" : "false");
		return;
	}
	for (int k = 0; k < PASSIVE_KINDS; k++)
		total += st->count[k];
	if (age < 0)
		snprintf(b, sizeof(b), "-");
	else
		snprintf(b, sizeof(b), "%.1fs", age / 1000.0);
	fprintf(out, " %10" PRIu64 " %9s\n", total, b);
}

void
view_tunnels(struct engine *e, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_tunnels : 0;
	struct link_seen s = { .conf = c };

	s.links = calloc(n + 1, sizeof(*s.links));
	s.found = calloc(n + 1, sizeof(*s.found));
	if (s.links == NULL || s.found == NULL) {
		fprintf(out, json ? "{\"error\":\"out of memory\"}\n" : "out of memory\n");
		goto out;
	}
	if (c && engine_kernel(e)->link_dump(engine_kernel(e), link_seen_cb, &s) < 0)
		log_warnx("ctl", "link dump failed; counters unknown");

	if (json)
		fprintf(out, "{\"tunnels\":[");
	else
		fprintf(out, "%-15s %-5s %-7s %-8s %-6s %8s %5s %12s %14s %12s %14s"
			" %10s %9s\n",
			"NAME", "TYPE", "STATE", "HEALTH", "ACTIVE", "RTT_MS",
			"LOSS", "RX_PACKETS", "RX_BYTES", "TX_PACKETS", "TX_BYTES",
			"CHECKS", "CHECK_AGE");
	for (size_t i = 0; i < n; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		const struct kernel_link *l = &s.links[i];
		const char *type = t->type == TUNNEL_GRE ? "gre" : "ipsec";
		const char *state = tunnel_state(l, s.found[i]);
		bool act = active(e, t->name);
		const struct health *h = engine_health(e, t->name);
		const char *hs = health_state_name(h ? h->state : HEALTH_INIT);
		double rtt = h ? health_rtt_us(h) / 1000.0 : 0;
		double jit = h ? health_jitter_us(h) / 1000.0 : 0;
		unsigned int loss = h ? health_loss_pct(h) : 0;

		if (json) {
			fprintf(out, "%s{\"name\":", i ? "," : "");
			json_str(out, t->name);
			fprintf(out, ",\"type\":\"%s\",\"ifname\":", type);
			json_str(out, t->name);
			fprintf(out, ",\"state\":\"%s\",\"active\":%s,"
				"\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ","
				"\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ","
				"\"health\":\"%s\",\"rtt_ms\":%.3f,\"jitter_ms\":%.3f,"
				"\"loss_pct\":%u,\"conntrack_mark\":\"0x%08x/0x%08x\"",
				state, act ? "true" : "false", l->rx_packets,
				l->rx_bytes, l->tx_packets, l->tx_bytes, hs, rtt,
				jit, loss, tunnel_ct_mark(e, t->name),
				DESIRED_CT_MARK_MASK);
			view_checks(e, t->name, h, true, out);
		} else {
			fprintf(out, "%-15s %-5s %-7s %-8s %-6s %8.2f %4u%% %12" PRIu64
				" %14" PRIu64 " %12" PRIu64 " %14" PRIu64, t->name,
				type, state, hs, act ? "yes" : "no", rtt, loss,
				l->rx_packets, l->rx_bytes, l->tx_packets, l->tx_bytes);
			view_checks(e, t->name, h, false, out);
		}
	}
	if (json)
		fprintf(out, "]}\n");
out:
	free(s.links);
	free(s.found);
}

void
view_egress(struct engine *e, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_policies : 0;
	char pfx[TS_PREFIX_STRLEN];

	if (json)
		fprintf(out, "{\"policies\":[");
	for (size_t p = 0; p < n; p++) {
		const struct config_policy *pol = &c->policies[p];
		bool first = true;

		if (json) {
			fprintf(out, "%s{\"name\":", p ? "," : "");
			json_str(out, pol->name);
			fprintf(out, ",\"fwmark\":%u,\"table\":%u,\"prefixes\":[",
				desired_policy_fwmark(p), desired_policy_table(p));
			for (size_t i = 0; i < pol->n_prefixes; i++)
				fprintf(out, "%s\"%s\"", i ? "," : "",
					ts_prefix_format(&pol->prefixes[i], pfx, sizeof(pfx)));
			fprintf(out, "],\"active_tunnels\":[");
			for (size_t i = 0; i < pol->n_tunnels; i++) {
				const char *tn = c->tunnels[pol->tunnels[i].tunnel].name;

				if (!carries_policy(e, p, tn))
					continue;
				fprintf(out, "%s", first ? "" : ",");
				json_str(out, tn);
				first = false;
			}
			fprintf(out, "],\"tunnels\":[");
			for (size_t i = 0; i < pol->n_tunnels; i++) {
				fprintf(out, "%s{\"tunnel\":", i ? "," : "");
				json_str(out, c->tunnels[pol->tunnels[i].tunnel].name);
				fprintf(out, ",\"priority\":%" PRIu32 ",\"weight\":%u}",
					pol->tunnels[i].priority, pol->tunnels[i].weight);
			}
			fprintf(out, "]}");
		} else {
			fprintf(out, "policy %s (fwmark %#x, table %u)\n", pol->name,
				desired_policy_fwmark(p), desired_policy_table(p));
			fprintf(out, "  prefixes:");
			for (size_t i = 0; i < pol->n_prefixes; i++)
				fprintf(out, " %s", ts_prefix_format(&pol->prefixes[i],
								     pfx, sizeof(pfx)));
			fprintf(out, "\n  %-15s %10s %6s %s\n", "TUNNEL", "PRIORITY",
				"WEIGHT", "ACTIVE");
			for (size_t i = 0; i < pol->n_tunnels; i++) {
				const char *tn = c->tunnels[pol->tunnels[i].tunnel].name;

				fprintf(out, "  %-15s %10" PRIu32 " %6u %s\n", tn,
					pol->tunnels[i].priority, pol->tunnels[i].weight,
					carries_policy(e, p, tn) ? "yes" : "no");
			}
		}
	}
	if (json)
		fprintf(out, "]}\n");
}

void
view_status(struct engine *e, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	const struct nft_sync_status *ns;
	struct engine_counters n;
	struct timespec mono;
	long long up;

	engine_counters(e, &n);
	ns = &n.nft;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	up = (long long)(mono.tv_sec - n.started.tv_sec);
	if (json) {
		fprintf(out, "{\"version\":\"%s\",\"uptime\":%lld,\"config\":",
			PACKAGE_VERSION, up);
		if (c)
			json_str(out, c->path ? c->path : "");
		else
			fprintf(out, "null");
		fprintf(out, ",\"failovers\":%u,\"conntrack_flushes\":%u",
			n.failovers, n.ct_flushes);
		fprintf(out, ",\"loads\":%u,\"failed_loads\":%u,\"repairs\":%u,"
			"\"kernel_ok\":%s,\"tunnels\":%zu,\"policies\":%zu",
			n.loads, n.failed_loads, n.repairs,
			n.kernel_ok && ns->in_sync ? "true" : "false",
			c ? c->n_tunnels : 0, c ? c->n_policies : 0);
		fprintf(out, ",\"nft_in_sync\":%s,\"nft_failures\":%u,"
			"\"nft_out_of_sync_s\":%llu,\"nft_error\":",
			ns->in_sync ? "true" : "false", ns->failures,
			(unsigned long long)(ns->out_of_sync_ms / 1000u));
		if (ns->in_sync)
			fprintf(out, "null");
		else
			json_str(out, strerror(-ns->err));
		fprintf(out, "}\n");
		return;
	}
	fprintf(out, "tunsteerd %s, up %llds\n", PACKAGE_VERSION, up);
	fprintf(out, "config:   %s (%u loads, %u failed)\n",
		c && c->path ? c->path : "(none)", n.loads, n.failed_loads);
	fprintf(out, "kernel:   %s, %u repairs\n",
		n.kernel_ok ? "in sync" : "pending retries", n.repairs);
	if (ns->in_sync)
		fprintf(out, "nft:      in sync\n");
	else
		fprintf(out, "nft:      OUT OF SYNC for %llus, %u failed attempts: %s\n",
			(unsigned long long)(ns->out_of_sync_ms / 1000u),
			ns->failures, strerror(-ns->err));
	fprintf(out, "egress:   %u failovers, %u conntrack flushes\n",
		n.failovers, n.ct_flushes);
	fprintf(out, "tunnels:  %zu, egress policies: %zu\n", c ? c->n_tunnels : 0,
		c ? c->n_policies : 0);
}
