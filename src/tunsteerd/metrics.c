/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/http.h>

#include "lib/json.h"
#include "lib/log.h"
#include "tunsteerd/desired.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/loopmeter.h"
#include "tunsteerd/metrics.h"
#include "tunsteerd/passive.h"
#include "tunsteerd/passive_pkt.h"

/* The exposition format's media type (Prometheus text 0.0.4). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* --- rendering ---------------------------------------------------------------- */

/*
 * What one scrape reads of each tunnel, gathered once (one link dump, one
 * health and checks lookup per tunnel), so that each metric family below
 * is one pass over arrays: O(tunnels log tunnels) per scrape.
 */
struct snap {
	const struct config *conf;
	size_t n;
	const struct health **health;		/* NULL: none yet */
	const struct passive_stats **checks;	/* NULL: none */
	struct kernel_link *links;
	bool *found;				/* links[i] was dumped */
	bool *active;				/* carries some policy's egress */
	size_t *by_name;			/* tunnel indexes by name */
	/* Each tunnel's name escaped as a label value, once per scrape
	 * rather than once per sample. */
	char (*label)[2 * IFNAMSIZ];
};

static int
by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct config *c = arg;

	return strcmp(c->tunnels[*(const size_t *)a].name,
		      c->tunnels[*(const size_t *)b].name);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
link_cb(const struct kernel_link *l, void *arg)
{
	struct snap *s = arg;
	size_t lo = 0, hi = s->n;

	if (!kernel_link_is_ours(l))
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t i = s->by_name[mid];
		int c = strcmp(l->name, s->conf->tunnels[i].name);

		if (c == 0) {
			s->links[i] = *l;
			s->found[i] = true;
			return;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
}

/* @name (shorter than IFNAMSIZ) escaped as a label value into @out. */
static void
label_escape(char out[2 * IFNAMSIZ], const char *name)
{
	size_t o = 0;

	for (size_t i = 0; name[i] && i < IFNAMSIZ - 1; i++) {
		if (name[i] == '\\' || name[i] == '"' || name[i] == '\n')
			out[o++] = '\\';
		out[o++] = name[i] == '\n' ? 'n' : name[i];
	}
	out[o] = '\0';
}

static void
snap_free(struct snap *s)
{
	free(s->health);
	free(s->checks);
	free(s->links);
	free(s->found);
	free(s->active);
	free(s->by_name);
	free(s->label);
}

/* 0 or -ENOMEM (@s freed).  A failed link dump leaves the byte and packet
 * counters out, logged. */
static int
snap_take(struct snap *s, struct engine *e)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_tunnels : 0;
	uint32_t *path = NULL, *carried = NULL;
	ssize_t n_carried = 0;
	struct kernel_ops *ops;
	int err = -ENOMEM;

	memset(s, 0, sizeof(*s));
	s->conf = c;
	s->n = n;
	s->health = calloc(n + 1, sizeof(*s->health));
	s->checks = calloc(n + 1, sizeof(*s->checks));
	s->links = calloc(n + 1, sizeof(*s->links));
	s->found = calloc(n + 1, sizeof(*s->found));
	s->active = calloc(n + 1, sizeof(*s->active));
	s->by_name = calloc(n + 1, sizeof(*s->by_name));
	s->label = calloc(n + 1, sizeof(*s->label));
	path = calloc(n + 1, sizeof(*path));
	if (!s->health || !s->checks || !s->links || !s->found || !s->active ||
	    !s->by_name || !s->label || !path)
		goto out;
	if (c == NULL) {
		err = 0;
		goto out;
	}
	if (desired_path_ids(c, path) < 0 ||
	    (n_carried = engine_egress_paths(e, &carried)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *name = c->tunnels[i].name;

		s->by_name[i] = i;
		label_escape(s->label[i], name);
		s->health[i] = engine_health(e, name);
		s->checks[i] = engine_checks(e, name);
		s->active[i] = n_carried > 0 &&
			bsearch(&path[i], carried, (size_t)n_carried,
				sizeof(*carried), u32_cmp) != NULL;
	}
	if (n > 1)
		qsort_r(s->by_name, n, sizeof(*s->by_name), by_name_cmp,
			(void *)c);
	ops = engine_kernel(e);
	if (n && ops->link_dump(ops, link_cb, s) < 0) {
		log_warnx("metrics", "link dump failed; byte and packet counters "
			  "left out");
		memset(s->found, 0, n * sizeof(*s->found));
	}
	err = 0;
out:
	free(path);
	free(carried);
	if (err < 0)
		snap_free(s);
	return err;
}

int
metrics_put_label(struct evbuffer *out, const char *s)
{
	/* The format's three escapes; everything else is taken as it is
	 * (UTF-8). */
	for (const char *p = s; *p; ) {
		size_t run = strcspn(p, "\\\"\n");

		if (run && evbuffer_add(out, p, run) < 0)
			return -ENOMEM;
		p += run;
		if (*p == '\0')
			break;
		if (evbuffer_add(out, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" :
				 "\\\\", 2) < 0)
			return -ENOMEM;
		p++;
	}
	return 0;
}

/* The rendering state: where to, and whether anything failed (checked
 * once at the end, not after every line). */
struct render {
	struct evbuffer *out;
	bool oom;
};

static void
put(struct render *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct render *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (evbuffer_add_vprintf(r->out, fmt, ap) < 0)
		r->oom = true;
	va_end(ap);
}

static void
head(struct render *r, const char *name, const char *type, const char *help)
{
	put(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "NAME{tunnel="T"" with T escaped; the caller closes the braces. */
static void
begin(struct render *r, const char *name, const char *key, const char *val)
{
	put(r, "%s{%s=\"", name, key);
	if (metrics_put_label(r->out, val) < 0)
		r->oom = true;
	put(r, "\"");
}

/* One sample of a tunnel, its label escaped already (snap->label). */
static void
tunnel_u64(struct render *r, const char *name, const char *label, uint64_t v)
{
	put(r, "%s{tunnel=\"%s\"} %" PRIu64 "\n", name, label, v);
}

/*
 * probe.family: which families each tunnel is probed with, and each
 * family's probes (a round of "both" counts once in each), one sample per
 * family probed; the rounds stay tunsteer_tunnel_probes_*_total.
 */
static void
render_families(struct render *r, const struct snap *s)
{
	static const char *const fam[HEALTH_FAMILIES] = { "ipv4", "ipv6" };
	static const struct {
		const char *name, *type, *help;
	} m[] = {
		{ "tunsteer_tunnel_probe_family", "gauge",
		  "1 for each family (ipv4, ipv6) the tunnel is probed with." },
		{ "tunsteer_tunnel_family_probes_sent_total", "counter",
		  "Probes of one family sent through the tunnel whose outcome "
		  "is known." },
		{ "tunsteer_tunnel_family_probes_lost_total", "counter",
		  "Probes of one family sent through the tunnel and not "
		  "answered in time." },
	};

	for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++) {
		head(r, m[k].name, m[k].type, m[k].help);
		for (size_t i = 0; i < s->n; i++) {
			enum probe_family pf = s->conf->tunnels[i].probe.family;
			const struct health *h = s->health[i];

			for (int f = 0; f < HEALTH_FAMILIES; f++) {
				uint64_t v = 1;

				if (!(f ? probe_family_v6(pf) : probe_family_v4(pf)))
					continue;
				if (k == 1)
					v = h ? h->fam_sent[f] : 0;
				else if (k == 2)
					v = h ? h->fam_sent[f] - h->fam_answered[f] : 0;
				put(r, "%s{tunnel=\"%s\",family=\"%s\"} %" PRIu64
				    "\n", m[k].name, s->label[i], fam[f], v);
			}
		}
	}
}

/* Per tunnel, gauges and counters that every tunnel has. */
static void
render_tunnels(struct render *r, const struct snap *s)
{
	static const char *const hs[] = { "init", "up", "degraded", "down" };
	const struct config *c = s->conf;

	head(r, "tunsteer_tunnel_info", "gauge",
	     "A configured tunnel (always 1), with its type.");
	for (size_t i = 0; i < s->n; i++) {
		put(r, "tunsteer_tunnel_info{tunnel=\"%s\",type=\"%s\"} 1\n", s->label[i],
		    c->tunnels[i].type == TUNNEL_IPSEC ? "ipsec" : "gre");
	}
	head(r, "tunsteer_tunnel_health_state", "gauge",
	     "1 for the tunnel's health state (init, up, degraded, down), "
	     "0 for the others.");
	for (size_t i = 0; i < s->n; i++) {
		enum health_state st = s->health[i] ? s->health[i]->state :
						      HEALTH_INIT;

		for (unsigned int k = 0; k < 4; k++) {
			put(r, "tunsteer_tunnel_health_state{tunnel=\"%s\",state=\"%s\"} %d\n", s->label[i], hs[k], st == k);
		}
	}
	head(r, "tunsteer_tunnel_health_transitions_total", "counter",
	     "Changes of the tunnel's health, by the state entered.");
	for (size_t i = 0; i < s->n; i++)
		for (unsigned int k = 1; k < 4; k++) {
			put(r, "tunsteer_tunnel_health_transitions_total{tunnel="
			    "\"%s\",to=\"%s\"} %" PRIu64 "\n", s->label[i], hs[k],
			    s->health[i] ? s->health[i]->entered[k] : 0);
		}
	head(r, "tunsteer_tunnel_egress_active", "gauge",
	     "1 if the tunnel carries some egress policy's traffic now.");
	for (size_t i = 0; i < s->n; i++)
		tunnel_u64(r, "tunsteer_tunnel_egress_active", s->label[i],
			   s->active[i]);

	/* Over the last HEALTH_WINDOW probes; left out until there are any. */
	head(r, "tunsteer_tunnel_probe_rtt_seconds", "gauge",
	     "Mean round-trip time of the tunnel's recent answered probes.");
	for (size_t i = 0; i < s->n; i++)
		if (s->health[i] && s->health[i]->answered) {
			put(r, "tunsteer_tunnel_probe_rtt_seconds{tunnel=\"%s\"} %.6f\n", s->label[i], health_rtt_us(s->health[i]) / 1e6);
		}
	head(r, "tunsteer_tunnel_probe_jitter_seconds", "gauge",
	     "Mean difference of consecutive RTTs of the recent probes.");
	for (size_t i = 0; i < s->n; i++)
		if (s->health[i] && s->health[i]->answered) {
			put(r, "tunsteer_tunnel_probe_jitter_seconds{tunnel=\"%s\"} %.6f\n", s->label[i], health_jitter_us(s->health[i]) / 1e6);
		}
	head(r, "tunsteer_tunnel_probe_loss_ratio", "gauge",
	     "Share of the recent probes lost (0 to 1).");
	for (size_t i = 0; i < s->n; i++)
		if (s->health[i] && s->health[i]->sent) {
			put(r, "tunsteer_tunnel_probe_loss_ratio{tunnel=\"%s\"} %.2f\n", s->label[i], health_loss_pct(s->health[i]) / 100.0);
		}
	head(r, "tunsteer_tunnel_probes_sent_total", "counter",
	     "Probes sent through the tunnel whose outcome is known.");
	for (size_t i = 0; i < s->n; i++)
		tunnel_u64(r, "tunsteer_tunnel_probes_sent_total", s->label[i],
			   s->health[i] ? s->health[i]->sent : 0);
	head(r, "tunsteer_tunnel_probes_lost_total", "counter",
	     "Probes sent through the tunnel and not answered in time.");
	for (size_t i = 0; i < s->n; i++)
		tunnel_u64(r, "tunsteer_tunnel_probes_lost_total", s->label[i], s->health[i] ?
			   s->health[i]->sent - s->health[i]->answered : 0);
	render_families(r, s);
}

/* The kernel's counters of each tunnel's link (left out for a link that
 * is missing: a 0 would read as a counter reset). */
static void
render_links(struct render *r, const struct snap *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
		{ "tunsteer_tunnel_receive_bytes_total",
		  "Bytes received on the tunnel's interface.",
		  offsetof(struct kernel_link, rx_bytes) },
		{ "tunsteer_tunnel_transmit_bytes_total",
		  "Bytes sent on the tunnel's interface.",
		  offsetof(struct kernel_link, tx_bytes) },
		{ "tunsteer_tunnel_receive_packets_total",
		  "Packets received on the tunnel's interface.",
		  offsetof(struct kernel_link, rx_packets) },
		{ "tunsteer_tunnel_transmit_packets_total",
		  "Packets sent on the tunnel's interface.",
		  offsetof(struct kernel_link, tx_packets) },
	};

	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		head(r, ctr[k].name, "counter", ctr[k].help);
		for (size_t i = 0; i < s->n; i++) {
			uint64_t v;

			if (!s->found[i])
				continue;
			memcpy(&v, (const char *)&s->links[i] + ctr[k].off,
			       sizeof(v));
			tunnel_u64(r, ctr[k].name, s->label[i], v);
		}
	}
	head(r, "tunsteer_tunnel_link_up", "gauge",
	     "1 if the tunnel's interface exists and is up.");
	for (size_t i = 0; i < s->n; i++)
		tunnel_u64(r, "tunsteer_tunnel_link_up", s->label[i],
			   s->found[i] && s->links[i].up);
}

static void
render_checks(struct render *r, const struct snap *s)
{
	head(r, "tunsteer_tunnel_provider_checks_total", "counter",
	     "The provider's health checks seen on the tunnel, by kind.");
	for (size_t i = 0; i < s->n; i++)
		for (int k = 0; k < PASSIVE_KINDS; k++) {
			put(r, "tunsteer_tunnel_provider_checks_total{tunnel="
			    "\"%s\",kind=\"%s\"} %" PRIu64 "\n", s->label[i],
			    passive_kind_name((enum passive_kind)k),
			    s->checks[i] ? s->checks[i]->count[k] : 0);
		}
}

/* Ipsec tunnels' IKE and CHILD SA states, every state named. */
static void
render_ike(struct render *r, struct engine *e, const struct snap *s)
{
	struct ike_status st;
	enum ike_sa_state *ike;
	enum ike_child_state *child;

	ike = calloc(s->n + 1, sizeof(*ike));
	child = calloc(s->n + 1, sizeof(*child));
	if (ike == NULL || child == NULL) {
		r->oom = true;
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		ike[i] = IKE_SA_NONE;
		child[i] = IKE_CHILD_NONE;
		if (s->conf->tunnels[i].type == TUNNEL_IPSEC &&
		    engine_ipsec_status(e, s->conf->tunnels[i].name, &st) == 0) {
			ike[i] = st.ike_state;
			child[i] = st.child_state;
		}
	}
	head(r, "tunsteer_tunnel_ike_sa_state", "gauge",
	     "Ipsec tunnels: 1 for the state of the tunnel's IKE SA "
	     "(none: no SA), 0 for the others.");
	for (size_t i = 0; i < s->n; i++) {
		if (s->conf->tunnels[i].type != TUNNEL_IPSEC)
			continue;
		for (unsigned int k = 0; k <= IKE_SA_NONE; k++) {
			put(r, "tunsteer_tunnel_ike_sa_state{tunnel=\"%s\",state=\"%s\"} %d\n", s->label[i],
			    ike_sa_state_name((enum ike_sa_state)k), ike[i] == k);
		}
	}
	head(r, "tunsteer_tunnel_child_sa_state", "gauge",
	     "Ipsec tunnels: 1 for the state of the tunnel's CHILD SA "
	     "(none: no SA), 0 for the others.");
	for (size_t i = 0; i < s->n; i++) {
		if (s->conf->tunnels[i].type != TUNNEL_IPSEC)
			continue;
		for (unsigned int k = 0; k <= IKE_CHILD_NONE; k++) {
			put(r, "tunsteer_tunnel_child_sa_state{tunnel=\"%s\",state=\"%s\"} %d\n", s->label[i],
			    ike_child_state_name((enum ike_child_state)k),
			    child[i] == k);
		}
	}
out:
	free(ike);
	free(child);
}

/* The daemon's own counters and the policies'. */
static void
render_daemon(struct render *r, struct engine *e, const struct snap *s)
{
	const struct config *c = s->conf;
	struct engine_counters n;

	engine_counters(e, &n);
	/* strongSwan's version as built, not as loaded: asking whether the
	 * IPsec module loads would load it on a GRE-only site. */
	head(r, "tunsteer_build_info", "gauge",
	     "The running tunsteerd's version and the strongSwan it was built "
	     "with (always 1).");
	put(r, "tunsteer_build_info{version=\"%s\",strongswan=\"%s\"} 1\n",
	    PACKAGE_VERSION, strncmp(STRONGSWAN_VERSION, "none", 4) == 0 ?
	    "none" : STRONGSWAN_VERSION);
	head(r, "tunsteer_policy_failovers_total", "counter",
	     "Moves of the policy's egress to other tunnels as their health "
	     "changed.");
	for (size_t p = 0; c && p < c->n_policies; p++) {
		begin(r, "tunsteer_policy_failovers_total", "policy",
		      c->policies[p].name);
		put(r, "} %" PRIu64 "\n", engine_policy_failovers(e, p));
	}
	head(r, "tunsteer_policy_authorized_prefixes", "gauge",
	     "The policy's authorized source prefixes, per family.");
	for (size_t p = 0; c && p < c->n_policies; p++) {
		const struct config_policy *pol = &c->policies[p];
		size_t n6 = 0;

		for (size_t i = 0; i < pol->n_prefixes; i++)
			n6 += pol->prefixes[i].family == AF_INET6;
		begin(r, "tunsteer_policy_authorized_prefixes", "policy",
		      pol->name);
		put(r, ",family=\"ipv4\"} %zu\n", pol->n_prefixes - n6);
		begin(r, "tunsteer_policy_authorized_prefixes", "policy",
		      pol->name);
		put(r, ",family=\"ipv6\"} %zu\n", n6);
	}
	/* Only policies with nat, and only a count the kernel gave: a made
	 * up 0 would read as a counter reset. */
	head(r, "tunsteer_policy_translated_connections_total", "counter",
	     "Connections of the policy's nat.from sources translated to an "
	     "address of nat.to (counted since the nft table was made).");
	if (c && c->n_policies) {
		uint64_t *nat = calloc(c->n_policies, sizeof(*nat));

		if (nat)
			(void)engine_nat_counts(e, nat);
		for (size_t p = 0; nat && p < c->n_policies; p++) {
			if (nat[p] == ENGINE_NAT_NONE)
				continue;
			begin(r, "tunsteer_policy_translated_connections_total",
			      "policy", c->policies[p].name);
			put(r, "} %" PRIu64 "\n", nat[p]);
		}
		free(nat);
	}
	head(r, "tunsteer_conntrack_flushes_total", "counter",
	     "Deletions of a failed tunnel's conntrack entries.");
	put(r, "tunsteer_conntrack_flushes_total %u\n", n.ct_flushes);
	/* The start's load is not a reload; one that failed ended the start. */
	head(r, "tunsteer_config_reloads_total", "counter",
	     "Reloads of the configuration (SIGHUP, tunsteerctl reload), by "
	     "result.");
	put(r, "tunsteer_config_reloads_total{result=\"success\"} %u\n"
	    "tunsteer_config_reloads_total{result=\"failure\"} %u\n",
	    n.loads ? n.loads - 1 : 0, n.failed_loads);
	head(r, "tunsteer_kernel_repairs_total", "counter",
	     "Repairs of kernel state that others changed or that had failed.");
	put(r, "tunsteer_kernel_repairs_total %u\n", n.repairs);
	head(r, "tunsteer_kernel_in_sync", "gauge",
	     "1 if the kernel and the nft table hold what tunsteerd wants.");
	put(r, "tunsteer_kernel_in_sync %d\n", n.kernel_ok && n.nft.in_sync);
}

int
metrics_render(struct engine *e, struct evbuffer *out)
{
	struct render r = { .out = out };
	struct snap s;

	if (snap_take(&s, e) < 0)
		return -ENOMEM;
	render_daemon(&r, e, &s);
	render_tunnels(&r, &s);
	render_links(&r, &s);
	render_checks(&r, &s);
	render_ike(&r, e, &s);
	snap_free(&s);
	return r.oom ? -ENOMEM : 0;
}

void
metrics_print(struct engine *e, FILE *out)
{
	struct evbuffer *b = evbuffer_new();
	struct evbuffer_iovec v[16];
	int n;

	if (b == NULL || metrics_render(e, b) < 0) {
		fputs("# out of memory\n", out);
		evbuffer_free(b);
		return;
	}
	while ((n = evbuffer_peek(b, -1, NULL, v, 16)) > 0) {
		size_t done = 0;

		for (int i = 0; i < n && i < 16; i++) {
			fwrite(v[i].iov_base, 1, v[i].iov_len, out);
			done += v[i].iov_len;
		}
		evbuffer_drain(b, done);
	}
	evbuffer_free(b);
}

/* --- check ---------------------------------------------------------------------- */

const char *
metrics_verdict_name(enum metrics_verdict v)
{
	static const char *const names[] = { "up", "degraded", "down" };

	return (unsigned int)v < 3 ? names[v] : "?";
}

struct tally {
	unsigned int up, degraded, down;
};

static enum metrics_verdict
tally_verdict(const struct tally *t)
{
	return t->up ? METRICS_UP : t->degraded ? METRICS_DEGRADED : METRICS_DOWN;
}

static void
tally_policy(struct engine *e, const struct config_policy *pol,
	     struct tally *t)
{
	const struct config *c = engine_config(e);

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < pol->n_tunnels; i++) {
		const struct health *h =
			engine_health(e, c->tunnels[pol->tunnels[i].tunnel].name);
		enum health_state st = h ? h->state : HEALTH_INIT;

		if (st == HEALTH_UP)
			t->up++;
		else if (st == HEALTH_DEGRADED)
			t->degraded++;
		else
			t->down++;
	}
}

int
metrics_check(struct engine *e, const char *policy, bool json, FILE *out)
{
	const struct config *c = engine_config(e);
	size_t n = c ? c->n_policies : 0, first = 0, end = n;
	enum metrics_verdict worst = METRICS_UP;
	struct tally t;

	if (policy) {
		for (first = 0; first < n; first++)
			if (strcmp(c->policies[first].name, policy) == 0)
				break;
		if (first == n) {
			fputs("check: no egress policy called ", out);
			json_str(out, policy);
			fputc('\n', out);
			return -ENOENT;
		}
		end = first + 1;
	}
	for (size_t p = first; p < end; p++) {
		enum metrics_verdict v;

		tally_policy(e, &c->policies[p], &t);
		if ((v = tally_verdict(&t)) > worst)
			worst = v;
	}
	if (json)
		fprintf(out, "{\"check\":\"%s\",\"policies\":[",
			metrics_verdict_name(worst));
	else
		fprintf(out, "check: %s\n", metrics_verdict_name(worst));
	for (size_t p = first; p < end; p++) {
		const char *name = c->policies[p].name;

		tally_policy(e, &c->policies[p], &t);
		if (json) {
			fprintf(out, "%s{\"name\":", p > first ? "," : "");
			json_str(out, name);
			fprintf(out, ",\"check\":\"%s\",\"up\":%u,\"degraded\":%u,"
				"\"down\":%u}", metrics_verdict_name(tally_verdict(&t)),
				t.up, t.degraded, t.down);
		} else {
			fprintf(out, "policy %s: %s (%u up, %u degraded, %u down)\n",
				name, metrics_verdict_name(tally_verdict(&t)), t.up,
				t.degraded, t.down);
		}
	}
	if (json)
		fputs("]}\n", out);
	return (int)worst;
}

/* --- HTTP ----------------------------------------------------------------------- */

struct metrics {
	struct event_base *base;
	struct engine *engine;
	struct evhttp *http;		/* serving; NULL: off */
	struct config_metrics on;	/* its address */
	unsigned int port;		/* the kernel's */
	struct evhttp *next;		/* prepared: NULL (off) or == http */
	struct config_metrics next_on;
	unsigned int next_port;
};

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *b = evbuffer_new();
	uint64_t t = loopmeter_span_begin();

	if (b == NULL || metrics_render(m->engine, b) < 0) {
		log_warnx("metrics", "out of memory; scrape answered 500");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Type", METRICS_CONTENT_TYPE);
		evhttp_send_reply(req, HTTP_OK, "OK", b);
	}
	if (b)
		evbuffer_free(b);
	loopmeter_span_end(t, "metrics scrape");
}

/* Anything but /metrics. */
static void
other_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* An evhttp serving /metrics on @mc's address, or NULL with *@err. */
static struct evhttp *
listen_on(struct metrics *m, const struct config_metrics *mc,
	  unsigned int *port, int *err)
{
	struct evhttp *http = evhttp_new(m->base);
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*err = -ENOMEM;
	if (http == NULL || evhttp_set_cb(http, "/metrics", request_cb, m) != 0)
		goto fail;
	evhttp_set_gencb(http, other_cb, m);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	/* A scraper sends a few headers and no body; an idle or slow
	 * connection is dropped. */
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, 10);
	errno = 0;
	if ((bs = evhttp_bind_socket_with_handle(http, mc->host, mc->port)) == NULL) {
		*err = errno ? -errno : -EADDRNOTAVAIL;
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
			&len) != 0) {
		*err = -errno;
		goto fail;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	*err = 0;
	return http;
fail:
	if (http)
		evhttp_free(http);
	return NULL;
}

struct metrics *
metrics_create(struct event_base *base, struct engine *e)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->base = base;
	m->engine = e;
	return m;
}

static bool
same_address(const struct config_metrics *a, const struct config_metrics *b)
{
	return a->set == b->set && a->port == b->port &&
	       strcmp(a->host, b->host) == 0;
}

int
metrics_prepare(struct metrics *m, const struct config *conf)
{
	const struct config_metrics *mc = &conf->metrics;
	int err;

	metrics_abort(m);
	m->next_on = *mc;
	if (!mc->set)
		return 0;
	/* Port 0 (tests only: the file refuses it) always binds anew. */
	if (m->http && mc->port && same_address(mc, &m->on)) {
		m->next = m->http;
		m->next_port = m->port;
		return 0;
	}
	if ((m->next = listen_on(m, mc, &m->next_port, &err)) == NULL) {
		errno = -err;
		log_warn("metrics", "cannot listen on %s%s%s:%u",
			 strchr(mc->host, ':') ? "[" : "", mc->host,
			 strchr(mc->host, ':') ? "]" : "", mc->port);
		return err;
	}
	return 0;
}

void
metrics_commit(struct metrics *m)
{
	if (m->http && m->next != m->http) {
		evhttp_free(m->http);
		log_info("metrics", "stopped serving on port %u", m->port);
	}
	if (m->next && m->next != m->http)
		log_notice("metrics", "serving /metrics on %s%s%s:%u",
			   strchr(m->next_on.host, ':') ? "[" : "",
			   m->next_on.host,
			   strchr(m->next_on.host, ':') ? "]" : "", m->next_port);
	m->http = m->next;
	m->on = m->next_on;
	m->port = m->http ? m->next_port : 0;
	m->on.port = (uint16_t)m->port;	/* a config's 0 (tests): the kernel's */
	m->next = NULL;
}

void
metrics_abort(struct metrics *m)
{
	if (m->next && m->next != m->http)
		evhttp_free(m->next);
	m->next = NULL;
}

unsigned int
metrics_port(const struct metrics *m)
{
	return m && m->http ? m->port : 0;
}

void
metrics_destroy(struct metrics *m)
{
	if (m == NULL)
		return;
	metrics_abort(m);
	if (m->http)
		evhttp_free(m->http);
	free(m);
}
