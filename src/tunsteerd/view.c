/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "lib/json.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "tunsteerd/desired.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/view.h"

/*
 * Which tunnels carry which policy's egress right now, read from the
 * desired state once per view: sorted indexes of the tunnels (by path id,
 * by name) and of the groups, so a view costs O((tunnels + routes) log n)
 * instead of scanning every route and nexthop object for every tunnel and
 * policy (350 ms natively for the tunnels view of 1,000 tunnels in 100
 * policies, that long a stop of the loop per request).
 */
struct egress_map {
	const struct config *conf;
	const struct kernel_state *want;
	uint32_t *path;			/* tunnel i's path id */
	size_t *by_path;		/* tunnel indexes by path id */
	size_t *by_name;		/* tunnel indexes by name */
	const struct kernel_nhobj **groups;	/* by id */
	size_t n_groups;
	bool *mark;			/* per tunnel, filled by map_policy() */
};

static int
by_path_cmp(const void *a, const void *b, void *arg)
{
	const struct egress_map *m = arg;
	uint32_t x = m->path[*(const size_t *)a], y = m->path[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

static int
by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct egress_map *m = arg;

	return strcmp(m->conf->tunnels[*(const size_t *)a].name,
		      m->conf->tunnels[*(const size_t *)b].name);
}

static int
group_cmp(const void *a, const void *b)
{
	uint32_t x = (*(const struct kernel_nhobj *const *)a)->id;
	uint32_t y = (*(const struct kernel_nhobj *const *)b)->id;

	return x < y ? -1 : x > y;
}

static void
map_free(struct egress_map *m)
{
	free(m->path);
	free(m->by_path);
	free(m->by_name);
	free(m->groups);
	free(m->mark);
	memset(m, 0, sizeof(*m));
}

/* 0, or -ENOMEM (@m freed).  A map of no config is empty. */
static int
map_build(struct egress_map *m, const struct engine *e)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_tunnels : 0;

	memset(m, 0, sizeof(*m));
	m->conf = c;
	m->want = engine_desired(e);
	m->path = calloc(n + 1, sizeof(*m->path));
	m->by_path = calloc(n + 1, sizeof(*m->by_path));
	m->by_name = calloc(n + 1, sizeof(*m->by_name));
	m->groups = calloc(m->want->n_nhobjs + 1, sizeof(*m->groups));
	m->mark = calloc(n + 1, sizeof(*m->mark));
	if (!m->path || !m->by_path || !m->by_name || !m->groups || !m->mark ||
	    (c && desired_path_ids(c, m->path) < 0)) {
		map_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		m->by_path[i] = m->by_name[i] = i;
	for (size_t i = 0; i < m->want->n_nhobjs; i++)
		if (m->want->nhobjs[i].n_members)
			m->groups[m->n_groups++] = &m->want->nhobjs[i];
	if (n > 1) {
		qsort_r(m->by_path, n, sizeof(*m->by_path), by_path_cmp, m);
		qsort_r(m->by_name, n, sizeof(*m->by_name), by_name_cmp, m);
	}
	if (m->n_groups > 1)
		qsort(m->groups, m->n_groups, sizeof(*m->groups), group_cmp);
	return 0;
}

/* The index of the tunnel called @name, or -1. */
static ssize_t
map_tunnel_named(const struct egress_map *m, const char *name)
{
	size_t lo = 0, hi = m->conf ? m->conf->n_tunnels : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, m->conf->tunnels[m->by_name[mid]].name);

		if (c == 0)
			return (ssize_t)m->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The index of the tunnel whose path is @id, or -1. */
static ssize_t
map_tunnel_path(const struct egress_map *m, uint32_t id)
{
	size_t lo = 0, hi = m->conf ? m->conf->n_tunnels : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t x = m->path[m->by_path[mid]];

		if (x == id)
			return (ssize_t)m->by_path[mid];
		if (id < x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const struct kernel_nhobj *
map_group(const struct egress_map *m, uint32_t id)
{
	struct kernel_nhobj key = { .id = id };
	const struct kernel_nhobj *kp = &key, **g;

	g = m->n_groups ? bsearch(&kp, m->groups, m->n_groups,
				  sizeof(*m->groups), group_cmp) : NULL;
	return g ? *g : NULL;
}

/* Mark (m->mark[i] = true) the tunnels that route @r goes through. */
static void
map_route(struct egress_map *m, const struct kernel_route *r)
{
	const struct kernel_nhobj *g;
	ssize_t t;

	for (unsigned int n = 0; n < r->n_nexthops; n++)
		if ((t = map_tunnel_named(m, r->nh[n].dev)) >= 0)
			m->mark[t] = true;
	if (r->nhid == 0 || (g = map_group(m, r->nhid)) == NULL)
		return;
	for (unsigned int i = 0; i < g->n_members; i++)
		if ((t = map_tunnel_path(m, g->member[i].id)) >= 0)
			m->mark[t] = true;
}

/* m->mark: the tunnels that carry policy @p's egress (the members of the
 * group its route goes through, or the route's nexthops), or, with
 * @p == SIZE_MAX, any policy's. */
static void
map_policy(struct egress_map *m, size_t p)
{
	size_t n = m->conf ? m->conf->n_tunnels : 0;

	memset(m->mark, 0, (n + 1) * sizeof(*m->mark));
	for (size_t i = 0; m->conf && i < m->want->n_routes; i++) {
		const struct kernel_route *r = &m->want->routes[i];

		if (p == SIZE_MAX ? r->table >= desired_policy_table(0) &&
				    r->table < desired_policy_table(m->conf->n_policies)
				  : r->table == desired_policy_table(p))
			map_route(m, r);
	}
}

struct link_seen {
	const struct egress_map *map;
	struct kernel_link *links;	/* by tunnel index */
	bool *found;
};

static void
link_seen_cb(const struct kernel_link *l, void *arg)
{
	struct link_seen *s = arg;
	ssize_t i;

	if (!kernel_link_is_ours(l))
		return;
	if ((i = map_tunnel_named(s->map, l->name)) < 0)
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

/* The provider's health checks of tunnel @name: the last fields of its
 * JSON object (view_probes() closes it), or the last columns of its
 * line. */
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
		fprintf(out, ",\"provider_checks_missing\":%s",
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

/*
 * What tunnel @t is probed with (probe.family) and each family's probes
 * (judged, answered, lost; a round of "both" counts in each): the end of
 * its JSON object, with null for a family it is not probed with; in
 * text, a line of its own for a tunnel probed with ICMPv6 (the table's
 * columns stay the rounds', as they always were).
 */
static void
view_probes(const struct config_tunnel *t, const struct health *h, bool json,
	    FILE *out)
{
	static const char *const fam[HEALTH_FAMILIES] = { "ipv4", "ipv6" };
	const enum probe_family pf = t->probe.family;
	const bool on[HEALTH_FAMILIES] = { probe_family_v4(pf),
					   probe_family_v6(pf) };

	if (json) {
		fprintf(out, ",\"probe_family\":\"%s\",\"probes\":{",
			config_probe_family_name(pf));
		for (int f = 0; f < HEALTH_FAMILIES; f++) {
			uint64_t sent = h ? h->fam_sent[f] : 0;
			uint64_t ok = h ? h->fam_answered[f] : 0;

			fprintf(out, "%s\"%s\":", f ? "," : "", fam[f]);
			if (!on[f])
				fputs("null", out);
			else
				fprintf(out, "{\"sent\":%" PRIu64 ",\"answered\":%"
					PRIu64 ",\"lost\":%" PRIu64 "}", sent,
					ok, sent - ok);
		}
		fputs("}}", out);
		return;
	}
	if (!on[HEALTH_IPV6])
		return;
	fprintf(out, "  %s probes %s:", t->name, config_probe_family_name(pf));
	for (int f = 0; f < HEALTH_FAMILIES; f++) {
		uint64_t sent = h ? h->fam_sent[f] : 0;
		uint64_t ok = h ? h->fam_answered[f] : 0;

		if (on[f])
			fprintf(out, "%s %s %" PRIu64 " sent, %" PRIu64
				" answered, %" PRIu64 " lost",
				f && on[0] ? ";" : "", fam[f], sent, ok, sent - ok);
	}
	fputc('\n', out);
}

/* @before, then a count of seconds: JSON null or "-" when there is none
 * (< 0), else the number (with "s" in text). */
static void
secs(FILE *out, bool json, const char *before, int64_t s)
{
	fputs(before, out);
	if (s < 0)
		fputs(json ? "null" : "-", out);
	else
		fprintf(out, json ? "%" PRId64 : "%" PRId64 "s", s);
}

/* @before, then @s as a JSON string, or null when it is empty. */
static void
str_or_null(FILE *out, const char *before, const char *s)
{
	fputs(before, out);
	if (s[0])
		json_str(out, s);
	else
		fputs("null", out);
}

/* Where tunnel @t's MTU comes from: the file, its transform as
 * negotiated, or the worst case of its esp_proposals until then. */
static const char *
mtu_source(const struct config_tunnel *t)
{
	if (!t->mtu_auto)
		return "configured";
	return t->mtu_negotiated ? "negotiated" : "proposals";
}

/*
 * An ipsec tunnel's IKE side (ike_status()): the "ipsec" object of its
 * JSON, or three indented lines after its row.  Keys and PSKs are never
 * in a status to print.  A tunnel IKE does not know (yet) shows no SAs.
 */
/*
 * A tunnel's inner addresses: JSON address and peer, and address6, peer6
 * and mss6 where it has IPv6 (null where not); text, a line for IPv6
 * only (the table's columns are IPv4's, as they always were).
 */
static void
view_addresses(const struct config_tunnel *t, bool json, FILE *out)
{
	char a[TS_PREFIX_STRLEN], pa[INET6_ADDRSTRLEN];

	if (json) {
		fprintf(out, ",\"address\":\"%s\",\"peer\":\"%s\"",
			ts_prefix_format(&t->address, a, sizeof(a)),
			inet_ntop(AF_INET, &t->peer, pa, sizeof(pa)));
		if (!t->has_address6) {
			fputs(",\"address6\":null,\"peer6\":null,\"mss6\":null", out);
			return;
		}
		fprintf(out, ",\"address6\":\"%s\",\"peer6\":\"%s\",\"mss6\":",
			ts_prefix_format(&t->address6, a, sizeof(a)),
			inet_ntop(AF_INET6, &t->peer6, pa, sizeof(pa)));
		if (t->mss6)
			fprintf(out, "%u", t->mss6);
		else
			fputs("null", out);
		return;
	}
	if (!t->has_address6)
		return;
	fprintf(out, "  %s ipv6 %s peer %s", t->name,
		ts_prefix_format(&t->address6, a, sizeof(a)),
		inet_ntop(AF_INET6, &t->peer6, pa, sizeof(pa)));
	if (t->mss6)
		fprintf(out, ", mss clamped to %u", t->mss6);
	fputc('\n', out);
}

static void
view_ipsec(const struct engine *e, const char *name, bool json, FILE *out)
{
	struct ike_status st;
	char fail[160] = "", spi_in[16] = "", spi_out[16] = "";
	bool failed;

	if (engine_ipsec_status(e, name, &st) < 0)
		st = (struct ike_status){
			.link = IKE_LINK_DOWN, .ike_state = IKE_SA_NONE,
			.child_state = IKE_CHILD_NONE, .ike_rekey_in_s = -1,
			.ike_reauth_in_s = -1, .child_rekey_in_s = -1,
			.dpd_sent_ago_s = -1, .dpd_answered_ago_s = -1,
			.next_attempt_in_s = -1,
		};
	failed = st.attempts || st.last_failure != IKE_FAIL_NONE;
	if (failed)
		ike_failure_describe(st.last_failure, st.last_failure_arg, fail,
				     sizeof(fail));
	/* As `ip xfrm state` prints them. */
	if (st.spi_in || st.spi_out) {
		snprintf(spi_in, sizeof(spi_in), "0x%08" PRIx32, st.spi_in);
		snprintf(spi_out, sizeof(spi_out), "0x%08" PRIx32, st.spi_out);
	}
	if (json) {
		fprintf(out, ",\"ipsec\":{\"ike_state\":\"%s\",\"child_state\":"
			"\"%s\"", ike_sa_state_name(st.ike_state),
			ike_child_state_name(st.child_state));
		str_or_null(out, ",\"spi_in\":", spi_in);
		str_or_null(out, ",\"spi_out\":", spi_out);
		str_or_null(out, ",\"ike_proposal\":", st.ike_proposal);
		str_or_null(out, ",\"esp_proposal\":", st.esp_proposal);
		fprintf(out, ",\"nat_t\":%s", st.nat ? "true" : "false");
		if (st.esp_mtu)
			fprintf(out, ",\"esp_mtu\":%u", st.esp_mtu);
		else
			fputs(",\"esp_mtu\":null", out);
		secs(out, true, ",\"ike_rekey_in_s\":", st.ike_rekey_in_s);
		secs(out, true, ",\"ike_reauth_in_s\":", st.ike_reauth_in_s);
		secs(out, true, ",\"child_rekey_in_s\":", st.child_rekey_in_s);
		secs(out, true, ",\"dpd_sent_ago_s\":", st.dpd_sent_ago_s);
		secs(out, true, ",\"dpd_answered_ago_s\":", st.dpd_answered_ago_s);
		fprintf(out, ",\"attempts\":%u", st.attempts);
		str_or_null(out, ",\"last_failure\":", fail);
		secs(out, true, ",\"next_attempt_in_s\":", st.next_attempt_in_s);
		fputs("}", out);
		return;
	}
	fprintf(out, "  ike:   %s %s, NAT-T %s", ike_sa_state_name(st.ike_state),
		st.ike_proposal[0] ? st.ike_proposal : "-", st.nat ? "yes" : "no");
	secs(out, false, ", rekey in ", st.ike_rekey_in_s);
	secs(out, false, ", reauth in ", st.ike_reauth_in_s);
	secs(out, false, ", DPD sent ", st.dpd_sent_ago_s);
	secs(out, false, " ago, answered ", st.dpd_answered_ago_s);
	fprintf(out, " ago\n  child: %s %s, spi in %s out %s",
		ike_child_state_name(st.child_state),
		st.esp_proposal[0] ? st.esp_proposal : "-",
		spi_in[0] ? spi_in : "-", spi_out[0] ? spi_out : "-");
	secs(out, false, ", rekey in ", st.child_rekey_in_s);
	if (st.esp_mtu)
		fprintf(out, ", carries %u", st.esp_mtu);
	fprintf(out, "\n  tries: %u failed, last failure %s", st.attempts,
		failed ? fail : "-");
	secs(out, false, ", next attempt in ", st.next_attempt_in_s);
	fputs("\n", out);
}

void
view_tunnels(struct engine *e, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_tunnels : 0;
	struct egress_map m;
	struct link_seen s = { .map = &m };

	s.links = calloc(n + 1, sizeof(*s.links));
	s.found = calloc(n + 1, sizeof(*s.found));
	if (s.links == NULL || s.found == NULL || map_build(&m, e) < 0) {
		fprintf(out, json ? "{\"error\":\"out of memory\"}\n" : "out of memory\n");
		free(s.links);
		free(s.found);
		return;
	}
	map_policy(&m, SIZE_MAX);
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
		bool act = m.mark[i];
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
				"\"health\":\"%s\",\"health_reason\":",
				state, act ? "true" : "false", l->rx_packets,
				l->rx_bytes, l->tx_packets, l->tx_bytes, hs);
			str_or_null(out, "", h ? h->reason : "");
			fprintf(out, ",\"rtt_ms\":%.3f,\"jitter_ms\":%.3f,"
				"\"loss_pct\":%u,\"conntrack_mark\":\"0x%08x/0x%08x\"",
				rtt, jit, loss, desired_ct_mark(m.path[i]),
				DESIRED_CT_MARK_MASK);
			fprintf(out, ",\"mtu\":%u,\"mtu_source\":\"%s\",\"mss\":",
				t->mtu, mtu_source(t));
			if (t->mss)
				fprintf(out, "%u", t->mss);
			else
				fputs("null", out);
			view_addresses(t, true, out);
			if (t->type == TUNNEL_IPSEC)
				view_ipsec(e, t->name, true, out);
			view_checks(e, t->name, h, true, out);
			view_probes(t, h, true, out);
		} else {
			fprintf(out, "%-15s %-5s %-7s %-8s %-6s %8.2f %4u%% %12" PRIu64
				" %14" PRIu64 " %12" PRIu64 " %14" PRIu64, t->name,
				type, state, hs, act ? "yes" : "no", rtt, loss,
				l->rx_packets, l->rx_bytes, l->tx_packets, l->tx_bytes);
			view_checks(e, t->name, h, false, out);
			if (t->type == TUNNEL_IPSEC)
				view_ipsec(e, t->name, false, out);
			view_addresses(t, false, out);
			view_probes(t, h, false, out);
		}
	}
	if (json)
		fprintf(out, "]}\n");
	map_free(&m);
	free(s.links);
	free(s.found);
}

void
view_egress(struct engine *e, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_policies : 0;
	char pfx[TS_PREFIX_STRLEN];
	struct egress_map m;
	uint64_t *nat = calloc(n + 1, sizeof(*nat));

	if (nat == NULL || map_build(&m, e) < 0) {
		free(nat);
		fprintf(out, json ? "{\"error\":\"out of memory\"}\n" : "out of memory\n");
		return;
	}
	/* A failure leaves every count unknown (shown as null, "?"). */
	(void)engine_nat_counts(e, nat);
	if (json)
		fprintf(out, "{\"policies\":[");
	for (size_t p = 0; p < n; p++) {
		const struct config_policy *pol = &c->policies[p];
		bool first = true;

		map_policy(&m, p);

		if (json) {
			fprintf(out, "%s{\"name\":", p ? "," : "");
			json_str(out, pol->name);
			fprintf(out, ",\"fwmark\":%u,\"table\":%u,\"prefixes\":[",
				desired_policy_fwmark(p), desired_policy_table(p));
			for (size_t i = 0; i < pol->n_prefixes; i++)
				fprintf(out, "%s\"%s\"", i ? "," : "",
					ts_prefix_format(&pol->prefixes[i], pfx, sizeof(pfx)));
			if (pol->nat.set) {
				fprintf(out, "],\"nat\":{\"from\":[");
				for (size_t i = 0; i < pol->nat.n_from; i++)
					fprintf(out, "%s\"%s\"", i ? "," : "",
						ts_prefix_format(&pol->nat.from[i],
								 pfx, sizeof(pfx)));
				fprintf(out, "],\"to\":\"%s\",\"translated_connections\":",
					ts_prefix_format(&pol->nat.to, pfx, sizeof(pfx)));
				if (nat[p] == ENGINE_NAT_NONE)
					fprintf(out, "null}");
				else
					fprintf(out, "%" PRIu64 "}", nat[p]);
				fprintf(out, ",\"active_tunnels\":[");
			} else {
				fprintf(out, "],\"active_tunnels\":[");
			}
			for (size_t i = 0; i < pol->n_tunnels; i++) {
				const char *tn = c->tunnels[pol->tunnels[i].tunnel].name;

				if (!m.mark[pol->tunnels[i].tunnel])
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
			if (pol->nat.set) {
				fprintf(out, "\n  nat from:");
				for (size_t i = 0; i < pol->nat.n_from; i++)
					fprintf(out, " %s", ts_prefix_format(
						&pol->nat.from[i], pfx, sizeof(pfx)));
				fprintf(out, "\n  nat to:   %s, ", ts_prefix_format(
					&pol->nat.to, pfx, sizeof(pfx)));
				if (nat[p] == ENGINE_NAT_NONE)
					fprintf(out, "? translated connections");
				else
					fprintf(out, "%" PRIu64 " translated connections",
						nat[p]);
			}
			fprintf(out, "\n  %-15s %10s %6s %s\n", "TUNNEL", "PRIORITY",
				"WEIGHT", "ACTIVE");
			for (size_t i = 0; i < pol->n_tunnels; i++) {
				const char *tn = c->tunnels[pol->tunnels[i].tunnel].name;

				fprintf(out, "  %-15s %10" PRIu32 " %6u %s\n", tn,
					pol->tunnels[i].priority, pol->tunnels[i].weight,
					m.mark[pol->tunnels[i].tunnel] ? "yes" : "no");
			}
		}
	}
	if (json)
		fprintf(out, "]}\n");
	map_free(&m);
	free(nat);
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
			"\"audits\":%u,"
			"\"kernel_ok\":%s,\"tunnels\":%zu,\"policies\":%zu,"
			"\"role\":\"%s\"",
			n.loads, n.failed_loads, n.repairs, n.audits,
			n.kernel_ok && ns->in_sync ? "true" : "false",
			c ? c->n_tunnels : 0, c ? c->n_policies : 0,
			engine_standby(e) ? "standby" : "active");
		fprintf(out, ",\"nexthop_groups\":\"%s\"", engine_nh_groups(e));
		fprintf(out, ",\"nft_in_sync\":%s,\"nft_failures\":%u,"
			"\"nft_out_of_sync_s\":%llu,\"nft_error\":",
			ns->in_sync ? "true" : "false", ns->failures,
			(unsigned long long)(ns->out_of_sync_ms / 1000u));
		if (ns->in_sync)
			fprintf(out, "null");
		else
			json_str(out, strerror(-ns->err));
		fprintf(out, ",\"loop_stall_max_ms\":%" PRIu32
			",\"loop_stall_recent_ms\":%" PRIu32
			",\"loop_stall_own_max_ms\":%" PRIu32
			",\"loop_stall_own_recent_ms\":%" PRIu32
			",\"loop_stalls\":%" PRIu64 "}\n",
			n.loop.max_ms, n.loop.recent_ms, n.loop.own_max_ms,
			n.loop.own_recent_ms, n.loop.stalls);
		return;
	}
	fprintf(out, "tunsteerd %s, up %llds\n", PACKAGE_VERSION, up);
	fprintf(out, "config:   %s (%u loads, %u failed)\n",
		c && c->path ? c->path : "(none)", n.loads, n.failed_loads);
	fprintf(out, "kernel:   %s, %u repairs, %u audits\n",
		n.kernel_ok ? "in sync" : "pending retries", n.repairs, n.audits);
	if (ns->in_sync)
		fprintf(out, "nft:      in sync\n");
	else
		fprintf(out, "nft:      OUT OF SYNC for %llus, %u failed attempts: %s\n",
			(unsigned long long)(ns->out_of_sync_ms / 1000u),
			ns->failures, strerror(-ns->err));
	fprintf(out, "egress:   %s, %u failovers, %u conntrack flushes\n",
		engine_standby(e) ? "STANDBY (withdrawn: tunsteerctl active "
		"resumes it)" : "active", n.failovers, n.ct_flushes);
	fprintf(out, "tunnels:  %zu, egress policies: %zu\n", c ? c->n_tunnels : 0,
		c ? c->n_policies : 0);
	fprintf(out, "nexthops: %s groups\n", engine_nh_groups(e));
	fprintf(out, "loop:     longest stall %" PRIu32 " ms in the last %ds, %"
		PRIu32 " ms since start; %" PRIu64 " of %d ms or more\n",
		n.loop.recent_ms, LOOPMETER_WINDOW_S, n.loop.max_ms,
		n.loop.stalls, LOOPMETER_STALL_MS);
	fprintf(out, "          without waiting for a CPU: %" PRIu32 " ms in the "
		"last %ds, %" PRIu32 " ms since start\n", n.loop.own_recent_ms,
		LOOPMETER_WINDOW_S, n.loop.own_max_ms);
}
