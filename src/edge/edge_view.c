/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_kernel.h"
#include "edge/edge_view.h"
#include "lib/json.h"

static const char *
ip(struct in_addr a)
{
	static char b[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, b[i], sizeof(b[i]));
}

static const char *
ip6(const struct in6_addr *a)
{
	static char b[4][INET6_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET6, a, b[i], sizeof(b[i]));
}

/* SA propagation's counters (edge_prop.h), a JSON object, or null when
 * it is off. */
static void
prop_json(const struct edge *e, FILE *out)
{
	struct edge_prop_stats ps;

	if (e->prop == NULL) {
		fputs("null", out);
		return;
	}
	edge_prop_stats(e->prop, &ps);
	fprintf(out, "{\"sent\":%" PRIu64 ",\"send_failed\":%" PRIu64
		",\"received\":%" PRIu64 ",\"installed\":%" PRIu64
		",\"install_failed\":%" PRIu64 ",\"removed\":%" PRIu64
		",\"pending\":%u,\"resent\":%" PRIu64
		",\"resync_asks_sent\":%" PRIu64 ",\"resyncs_served\":%" PRIu64
		",\"resyncs_answered\":%" PRIu64 "}", ps.sent, ps.send_failed,
		ps.received, ps.installed, ps.install_failed, ps.removed,
		ps.pending, ps.resent, ps.resync_asks_sent, ps.resyncs_served,
		ps.resyncs_answered);
}

static enum eh_state
state_of(const struct edge *e, size_t i)
{
	const struct edge_health *h = edge_checks_health(e->checks, i);

	return h ? h->state : EH_HEALTHY;
}

/* Is tunnel @i in the ECMP set of some prefix? */
static bool
carries(const struct edge *e, size_t i)
{
	for (size_t p = 0; p < e->steer.n; p++)
		for (size_t k = 0; k < e->steer.p[p].n_nh; k++)
			if (e->steer.p[p].nh[k].tunnel == i)
				return true;
	return false;
}

void
edge_view_status(struct edge *e, bool json, FILE *out)
{
	const struct edge_config *c = e->conf;
	struct edge_counters k;
	time_t now = time(NULL);
	unsigned int counts[3] = { 0 };

	for (size_t i = 0; i < c->n_tunnels; i++)
		counts[state_of(e, i)]++;
	if (edge_stats_read(e->stats, e->ops, c, &k) < 0)
		memset(&k, 0, sizeof(k));
	if (json) {
		fprintf(out, "{\"name\":\"%s\",\"version\":\"%s\",\"uptime\":%lld,"
			"\"config\":", c->name, PACKAGE_VERSION,
			(long long)(now - e->started));
		json_str(out, c->path ? c->path : "");
		fprintf(out, ",\"anycast\":[");
		for (size_t i = 0; i < c->n_anycast; i++)
			fprintf(out, "%s\"%s\"", i ? "," : "", ip(c->anycast[i]));
		fprintf(out, "],\"customers\":%zu,\"tunnels\":%zu,\"routes\":%zu,"
			"\"healthy\":%u,\"degraded\":%u,\"down\":%u,"
			"\"steering_changes\":%u,\"steering_failures\":%u,"
			"\"kernel_ok\":%s,\"loads\":%u,\"failed_loads\":%u,"
			"\"foreign_answers\":%" PRIu64 ","
			"\"fragments\":{\"reassembly_requests\":%" PRIu64
			",\"reassembled\":%" PRIu64 ",\"reassembly_failed\":%" PRIu64
			",\"reassembly_timeouts\":%" PRIu64 ",\"fragmented\":%" PRIu64
			",\"fragments_created\":%" PRIu64 ",\"fragmentation_failed\":%"
			PRIu64 "},", c->n_customers, c->n_tunnels, c->n_routes,
			counts[EH_HEALTHY], counts[EH_DEGRADED], counts[EH_DOWN],
			e->steer_changes, e->steer_failures,
			e->kernel_ok ? "true" : "false", e->loads, e->failed_loads,
			edge_checks_foreign(e->checks), k.reasm_reqds, k.reasm_oks,
			k.reasm_fails, k.reasm_timeout, k.frag_oks, k.frag_creates,
			k.frag_fails);
		/* IPv6 in flight is never fragmented here: too_big counts
		 * what did not fit, packet_too_big_sent the answers. */
		fprintf(out, "\"fragments6\":{\"reassembly_requests\":%" PRIu64
			",\"reassembled\":%" PRIu64 ",\"reassembly_failed\":%"
			PRIu64 ",\"reassembly_timeouts\":%" PRIu64 ",\"fragmented\":%"
			PRIu64 ",\"fragments_created\":%" PRIu64
			",\"fragmentation_failed\":%" PRIu64 ",\"too_big\":%" PRIu64
			",\"packet_too_big_sent\":%" PRIu64 "},\"sa_propagation\":",
			k.reasm6_reqds, k.reasm6_oks, k.reasm6_fails,
			k.reasm6_timeout, k.frag6_oks, k.frag6_creates, k.frag6_fails,
			k.too_big6, k.ptb6_sent);
		prop_json(e, out);
		fputs("}\n", out);
	} else {
		fprintf(out, "tunsteer-edge %s (%s), up %llds\n", PACKAGE_VERSION,
			c->name, (long long)(now - e->started));
		fprintf(out, "config:    %s (%u loads, %u failed)\n", c->path,
			e->loads, e->failed_loads);
		fprintf(out, "anycast:  ");
		for (size_t i = 0; i < c->n_anycast; i++)
			fprintf(out, " %s", ip(c->anycast[i]));
		fprintf(out, "\ntunnels:   %zu (%u healthy, %u degraded, %u down), "
			"%zu routes, %zu customers\n", c->n_tunnels,
			counts[EH_HEALTHY], counts[EH_DEGRADED], counts[EH_DOWN],
			c->n_routes, c->n_customers);
		fprintf(out, "steering:  %u changes, %u failed; kernel %s\n",
			e->steer_changes, e->steer_failures,
			e->kernel_ok ? "in sync" : "pending retries");
		fprintf(out, "fragments: %" PRIu64 " reassembled, %" PRIu64
			" reassembly failures (%" PRIu64 " timeouts), %" PRIu64
			" packets fragmented\n", k.reasm_oks, k.reasm_fails,
			k.reasm_timeout, k.frag_oks);
		fprintf(out, "ipv6:      %" PRIu64 " reassembled, %" PRIu64
			" reassembly failures, %" PRIu64 " too big to forward, %"
			PRIu64 " Packet Too Big sent\n", k.reasm6_oks,
			k.reasm6_fails, k.too_big6, k.ptb6_sent);
		if (e->prop != NULL) {
			struct edge_prop_stats ps;

			edge_prop_stats(e->prop, &ps);
			fprintf(out, "sa-prop:   %" PRIu64 " sent, %" PRIu64
				" received, %" PRIu64 " resent; resync: %" PRIu64
				" asks sent, %" PRIu64 " served, %" PRIu64
				" answered\n", ps.sent, ps.received, ps.resent,
				ps.resync_asks_sent, ps.resyncs_served,
				ps.resyncs_answered);
		}
	}
	edge_counters_free(&k);
}

/* An ipsec tunnel's SAs as the responder knows them; false for GRE or
 * without a responder. */
static bool
ipsec_of(struct edge *e, size_t i, struct edge_ike_status *st)
{
	return e->conf->tunnels[i].type == EDGE_TUNNEL_IPSEC && e->ike &&
	       edge_ike_status(e->ike, e->conf->tunnels[i].name, st) == 0;
}

/* ESP as this server's kernel counts it per ipsec tunnel: its inbound
 * states (those to the tunnel's cloudflare_endpoint on its if_id),
 * whether charon installed them or SA propagation did. */
struct esp_count {
	uint64_t in_packets, in_bytes;
	uint64_t replay_failed, integrity_failed;
	unsigned int in_states, out_states;
	/* Each inbound state's own count (the first few): which SA, the
	 * server's own or one it holds from another, carried what. */
	struct {
		uint32_t spi;
		uint64_t packets;
	} in[2 * EDGE_PROP_HELD_PER_TUNNEL];
	unsigned int n_in;
};

struct esp_counts {
	const struct edge_config *c;
	const uint32_t *if_ids;
	struct esp_count *v;		/* per config tunnel */
};

static void
esp_count_cb(const struct kernel_xfrm_state *st, void *arg)
{
	struct esp_counts *ec = arg;

	for (size_t i = 0; i < ec->c->n_tunnels; i++) {
		const struct edge_tunnel *t = &ec->c->tunnels[i];
		struct esp_count *k = &ec->v[i];

		if (t->type != EDGE_TUNNEL_IPSEC || ec->if_ids[i] != st->if_id)
			continue;
		if (st->dst.s_addr == t->cloudflare_endpoint.s_addr) {
			if (k->n_in < sizeof(k->in) / sizeof(k->in[0])) {
				k->in[k->n_in].spi = st->spi;
				k->in[k->n_in++].packets = st->packets;
			}
			k->in_states++;
			k->in_packets += st->packets;
			k->in_bytes += st->bytes;
			k->replay_failed += st->replay_failed;
			k->integrity_failed += st->integrity_failed;
		} else {
			k->out_states++;
		}
		return;
	}
}

/* Per config tunnel, calloc'd (the caller frees it); NULL when there is
 * no way to count (no memory, a backend without XFRM). */
static struct esp_count *
esp_counts(struct edge *e)
{
	const struct edge_config *c = e->conf;
	uint32_t *ids = calloc(c->n_tunnels ? c->n_tunnels : 1, sizeof(*ids));
	struct esp_counts ec = { c, ids, NULL };

	if (ids == NULL || e->ike == NULL || e->ops->xfrm_state_dump == NULL ||
	    edge_kernel_xfrm_if_ids(c, ids) < 0 ||
	    (ec.v = calloc(c->n_tunnels ? c->n_tunnels : 1, sizeof(*ec.v))) == NULL ||
	    e->ops->xfrm_state_dump(e->ops, esp_count_cb, &ec) < 0) {
		free(ids);
		free(ec.v);
		return NULL;
	}
	free(ids);
	return ec.v;
}

static void
esp_json(FILE *out, const struct esp_count *k)
{
	if (k == NULL) {
		fputs("\"esp\":null,", out);
		return;
	}
	fprintf(out, "\"esp\":{\"in_states\":%u,\"out_states\":%u,"
		"\"in_packets\":%" PRIu64 ",\"in_bytes\":%" PRIu64 ","
		"\"replay_failed\":%" PRIu64 ",\"integrity_failed\":%" PRIu64
		"},", k->in_states, k->out_states, k->in_packets, k->in_bytes,
		k->replay_failed, k->integrity_failed);
}

/* The SAs this server holds from others for @tunnel (SA propagation),
 * each with what its inbound state decrypted here (@k; null: unknown). */
static void
held_json(FILE *out, struct edge *e, const char *tunnel,
	  const struct esp_count *k)
{
	struct edge_prop_held h[EDGE_PROP_HELD_PER_TUNNEL];
	size_t n;

	if (e->prop == NULL) {
		fputs("\"propagated\":null,", out);
		return;
	}
	n = edge_prop_held(e->prop, tunnel, h, EDGE_PROP_HELD_PER_TUNNEL);
	fputs("\"propagated\":[", out);
	for (size_t i = 0; i < n && i < EDGE_PROP_HELD_PER_TUNNEL; i++) {
		fprintf(out, "%s{\"negotiated_by\":", i ? "," : "");
		json_str(out, h[i].from);
		fprintf(out, ",\"serial\":%" PRIu64 ",\"spi_in\":\"0x%08x\","
			"\"spi_out\":\"0x%08x\",\"age_s\":%.1f,\"in_packets\":",
			h[i].serial, h[i].spi_in, h[i].spi_out,
			(double)h[i].age_ms / 1000.0);
		bool found = false;

		for (unsigned int j = 0; k != NULL && j < k->n_in && !found; j++)
			if ((found = k->in[j].spi == h[i].spi_in))
				fprintf(out, "%" PRIu64, k->in[j].packets);
		/* null: not in the kernel (any more), or not counted */
		fputs(found ? "}" : "null}", out);
	}
	fputs("],", out);
}

/* replay_protection (edge_prop.h): where this server sends @tunnel's
 * customer-bound traffic, "self" (its own device) or the relay address of
 * the server it forwards it to; null: not pinned. */
static void
pinned_json(FILE *out, struct edge *e, const char *tunnel)
{
	struct in_addr to;

	fputs("\"pinned_to\":", out);
	if (e->prop == NULL || !edge_prop_pinned_to(e->prop, tunnel, &to))
		fputs("null", out);
	else
		json_str(out, to.s_addr ? ip(to) : "self");
	fputs(",", out);
}

static void
ipsec_json(FILE *out, const struct edge_ike_status *st)
{
	fprintf(out, "\"ipsec\":{\"ike_state\":\"%s\",\"ike_sa\":%u,"
		"\"child_state\":\"%s\",\"spi_in\":\"0x%08x\","
		"\"spi_out\":\"0x%08x\",\"nat\":%s,\"ike_sas_established\":%u,"
		"\"child_sas_installed\":%u,\"ike_proposal\":",
		ike_sa_state_name(st->ike_state), st->ike_id,
		ike_child_state_name(st->child_state), st->spi_in, st->spi_out,
		st->nat ? "true" : "false", st->established, st->children);
	json_str(out, st->ike_proposal);
	fputs(",\"esp_proposal\":", out);
	json_str(out, st->esp_proposal);
	fputs(",\"last_failure\":", out);
	json_str(out, st->last_failure == IKE_FAIL_NONE ? "" :
		      ike_failure_text(st->last_failure));
	fputs(",\"sa_record\":", out);
	if (st->recorded) {
		fprintf(out, "{\"serial\":%" PRIu64 ",\"negotiated_by\":",
			st->rec_serial);
		json_str(out, st->rec_by);
		fprintf(out, ",\"spi_in\":\"0x%08x\",\"spi_out\":\"0x%08x\","
			"\"if_id\":\"0x%08x\",\"replay_window\":%u,\"esp\":",
			st->rec_spi_in, st->rec_spi_out, st->rec_if_id,
			st->rec_replay_window);
		json_str(out, st->rec_esp);
		fputs("}", out);
	} else {
		fputs("null", out);
	}
	fputs("},", out);
}

void
edge_view_tunnels(struct edge *e, bool json, FILE *out)
{
	const struct edge_config *c = e->conf;
	struct edge_counters k;
	struct esp_count *esp;
	uint64_t now = edge_checks_now_ms();

	if (edge_stats_read(e->stats, e->ops, c, &k) < 0) {
		fprintf(out, json ? "{\"error\":\"out of memory\"}\n" : "out of memory\n");
		return;
	}
	esp = esp_counts(e);
	if (json)
		fprintf(out, "{\"edge\":\"%s\",\"tunnels\":[", c->name);
	else
		fprintf(out, "%-15s %-8s %-9s %-8s %9s %9s %12s %12s %10s\n",
			"NAME", "CUSTOMER", "STATE", "ACTIVE", "CHECKS_OK",
			"FAILED", "INGRESS_PKT", "EGRESS_PKT", "UNAUTH_PKT");
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];
		const struct edge_health *h = edge_checks_health(e->checks, i);
		const struct edge_check_stats *s = edge_checks_stats(e->checks, i);
		static const struct edge_check_stats none;
		enum eh_state st = h ? h->state : EH_HEALTHY;
		struct edge_ike_status is;
		bool ipsec;
		uint32_t wt = 0, wf = 0;

		if (!s)
			s = &none;
		if (h)
			edge_health_window(h, now, &wt, &wf);
		ipsec = ipsec_of(e, i, &is);

		if (!json) {
			fprintf(out, "%-15s %-8s %-9s %-8s %9" PRIu64 " %9" PRIu64
				" %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "\n",
				t->name, c->customers[t->customer].name,
				edge_health_state_name(st), carries(e, i) ? "yes" : "no",
				s->ok, s->failed, k.ingress[i].packets,
				k.egress[i].packets, k.unauth[i].packets);
			if (t->has_address6)
				fprintf(out, "  ipv6: %s (customer %s): %" PRIu64
					" ingress, %" PRIu64 " egress, %" PRIu64
					" unauthorized packets\n",
					ip6(&t->provider_addr6),
					ip6(&t->customer_addr6),
					k.ingress6[i].packets, k.egress6[i].packets,
					k.unauth6[i].packets);
			if (ipsec)
				fprintf(out, "  ipsec: IKE %s #%u, CHILD %s, SPIs "
					"0x%08x in 0x%08x out%s; %s\n",
					ike_sa_state_name(is.ike_state), is.ike_id,
					ike_child_state_name(is.child_state),
					is.spi_in, is.spi_out, is.nat ? ", NAT-T" : "",
					is.esp_proposal[0] ? is.esp_proposal :
					"no CHILD SA");
			if (ipsec && esp)
				fprintf(out, "  esp here: %" PRIu64 " packets "
					"decrypted, %" PRIu64 " replayed, %u SAs in"
					" (%zu from other servers)\n",
					esp[i].in_packets, esp[i].replay_failed,
					esp[i].in_states, e->prop ?
					edge_prop_held(e->prop, t->name, NULL, 0) : 0);
			continue;
		}
		fprintf(out, "%s{\"name\":\"%s\",\"type\":\"%s\",\"customer\":\"%s\","
			"\"cloudflare_gre_endpoint\":\"%s\","
			"\"customer_gre_endpoint\":\"%s\",\"provider_address\":\"%s\","
			"\"customer_address\":\"%s\",\"mtu\":%u,\"ttl\":%u,"
			"\"link\":%s,", i ? "," : "", t->name,
			edge_tunnel_type_name(t->type), c->customers[t->customer].name, ip(t->cloudflare_endpoint),
			ip(t->customer_endpoint), ip(t->provider_addr),
			ip(t->customer_addr), t->mtu, t->ttl,
			k.links[i].ifindex ? (k.links[i].up ? "\"up\"" : "\"down\"") :
					     "\"missing\"");
		if (t->has_address6)
			fprintf(out, "\"provider_address6\":\"%s\","
				"\"customer_address6\":\"%s\",",
				ip6(&t->provider_addr6), ip6(&t->customer_addr6));
		fprintf(out, "\"state\":\"%s\",\"tunnel_state\":%.1f,\"penalty\":%u,"
			"\"state_since_s\":%.1f,\"transitions\":%" PRIu64 ","
			"\"reason\":", edge_health_state_name(st),
			edge_health_state_value(st), edge_health_penalty(st),
			h ? (double)(now - h->since_ms) / 1000.0 : 0.0,
			h ? h->transitions : 0);
		json_str(out, h ? h->reason : "");
		fputs(",", out);
		if (ipsec) {
			ipsec_json(out, &is);
			fputs("\"ipsec_here\":{", out);
			esp_json(out, esp ? &esp[i] : NULL);
			held_json(out, e, t->name, esp ? &esp[i] : NULL);
			pinned_json(out, e, t->name);
			fputs("\"server\":", out);
			json_str(out, c->name);
			fputs("},", out);
		}
		fprintf(out, "\"active\":%s,\"health_check\":{\"enabled\":%s,"
			"\"type\":\"%s\",\"direction\":\"%s\",\"interval_ms\":%u,"
			"\"sent\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":%" PRIu64
			",\"send_errors\":%" PRIu64 ",\"refused\":%" PRIu64
			",\"relayed_out\":%" PRIu64 ",\"relayed_in\":%" PRIu64
			",\"sent_via_peer\":%" PRIu64 ",\"sent_for_peers\":%" PRIu64
			",\"window_checks\":%u,\"window_failed\":%u,"
			"\"last_rtt_ms\":%.3f},", carries(e, i) ? "true" : "false",
			t->hc.enabled ? "true" : "false", edge_hc_type_name(t->hc.type),
			edge_hc_direction_name(t->hc.direction), t->hc.interval_ms,
			s->sent, s->ok, s->failed, s->send_errors, s->refused,
			s->relayed_out, s->relayed_in, s->sent_via_peer,
			s->sent_for_peers, wt, wf, s->last_rtt_us / 1000.0);
		fprintf(out, "\"ingress\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			"},\"egress\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			"},\"egress_unauthorized\":{\"packets\":%" PRIu64 ",\"bytes\":%"
			PRIu64 "},", k.ingress[i].packets, k.ingress[i].bytes,
			k.egress[i].packets, k.egress[i].bytes, k.unauth[i].packets,
			k.unauth[i].bytes);
		fprintf(out, "\"ingress6\":{\"packets\":%" PRIu64 ",\"bytes\":%"
			PRIu64 "},\"egress6\":{\"packets\":%" PRIu64 ",\"bytes\":%"
			PRIu64 "},\"egress_unauthorized6\":{\"packets\":%" PRIu64
			",\"bytes\":%" PRIu64 "},", k.ingress6[i].packets,
			k.ingress6[i].bytes, k.egress6[i].packets, k.egress6[i].bytes,
			k.unauth6[i].packets, k.unauth6[i].bytes);
		fprintf(out, "\"link_rx\":{\"packets\":%" PRIu64 ",\"bytes\":%"
			PRIu64 "},\"link_tx\":{\"packets\":%" PRIu64 ",\"bytes\":%"
			PRIu64 "}}", k.links[i].rx_packets, k.links[i].rx_bytes,
			k.links[i].tx_packets, k.links[i].tx_bytes);
	}
	if (json)
		fprintf(out, "]}\n");
	edge_counters_free(&k);
	free(esp);
}

void
edge_view_routes(struct edge *e, bool json, FILE *out)
{
	const struct edge_config *c = e->conf;
	char pb[TS_PREFIX_STRLEN];

	if (json)
		fprintf(out, "{\"edge\":\"%s\",\"ecmp_seed\":%" PRIu32 ",\"prefixes\":[",
			c->name, c->ecmp_seed);
	for (size_t i = 0; i < e->steer.n; i++) {
		const struct steer_prefix *p = &e->steer.p[i];
		bool first = true;

		ts_prefix_format(&p->prefix, pb, sizeof(pb));
		if (json) {
			fprintf(out, "%s{\"prefix\":\"%s\",\"best\":%" PRIu64
				",\"modulus\":%u,\"active\":[", i ? "," : "", pb,
				p->best, p->modulus);
			for (size_t k = 0; k < p->n_nh; k++)
				fprintf(out, "%s\"%s\"", k ? "," : "",
					c->tunnels[p->nh[k].tunnel].name);
			fprintf(out, "],\"routes\":[");
		} else {
			fprintf(out, "%s: ECMP over", pb);
			for (size_t k = 0; k < p->n_nh; k++)
				fprintf(out, " %s", c->tunnels[p->nh[k].tunnel].name);
			fprintf(out, " (hash mod %u)\n  %-15s %10s %6s %12s %-9s %s\n",
				p->modulus, "TUNNEL", "PRIORITY", "WEIGHT",
				"EFFECTIVE", "STATE", "ACTIVE");
		}
		for (size_t r = 0; r < c->n_routes; r++) {
			const struct edge_route *rt = &c->routes[r];
			bool act = false;

			if (!ts_prefix_equal(&rt->prefix, &p->prefix))
				continue;
			for (size_t k = 0; k < p->n_nh; k++)
				act |= p->nh[k].tunnel == rt->tunnel;
			if (json) {
				fprintf(out, "%s{\"tunnel\":\"%s\",\"priority\":%" PRIu32
					",\"weight\":%u,\"effective_priority\":%" PRIu64
					",\"state\":\"%s\",\"active\":%s}",
					first ? "" : ",", c->tunnels[rt->tunnel].name,
					rt->priority, rt->weight, e->steer.effective[r],
					edge_health_state_name(state_of(e, rt->tunnel)),
					act ? "true" : "false");
				first = false;
			} else {
				fprintf(out, "  %-15s %10" PRIu32 " %6u %12" PRIu64
					" %-9s %s\n", c->tunnels[rt->tunnel].name,
					rt->priority, rt->weight, e->steer.effective[r],
					edge_health_state_name(state_of(e, rt->tunnel)),
					act ? "yes" : "no");
			}
		}
		if (json)
			fprintf(out, "]}");
	}
	if (json)
		fprintf(out, "]}\n");
}

void
edge_view_firewall(struct edge *e, bool json, FILE *out)
{
	const struct edge_config *c = e->conf;
	struct edge_counters k;

	if (edge_stats_read(e->stats, e->ops, c, &k) < 0) {
		fprintf(out, json ? "{\"error\":\"out of memory\"}\n" : "out of memory\n");
		return;
	}
	if (json)
		fprintf(out, "{\"edge\":\"%s\",\"rules\":[", c->name);
	for (size_t i = 0; i < c->n_firewall; i++) {
		const struct edge_fw_rule *r = &c->firewall[i];
		const char *dir = r->direction == EDGE_FW_INGRESS ? "ingress" : "egress";

		if (json)
			fprintf(out, "%s{\"name\":\"%s\",\"direction\":\"%s\","
				"\"action\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%"
				PRIu64 "}", i ? "," : "", r->name, dir,
				r->accept ? "accept" : "drop", k.fw[i].packets,
				k.fw[i].bytes);
		else
			fprintf(out, "%-20s %-8s %-6s %12" PRIu64 " packets %14" PRIu64
				" bytes\n", r->name, dir, r->accept ? "accept" : "drop",
				k.fw[i].packets, k.fw[i].bytes);
	}
	if (json)
		fprintf(out, "]}\n");
	edge_counters_free(&k);
}

/* One flow's answer: a JSON object (with its source port when @with_sport)
 * or a line of text. */
static void
flow_print(const struct edge *e, const struct steer_flow *f, const char *dst,
	   unsigned long sport, bool with_sport, bool json, FILE *out)
{
	const struct edge_config *c = e->conf;
	char pb[TS_PREFIX_STRLEN];

	ts_prefix_format(&e->steer.p[f->prefix].prefix, pb, sizeof(pb));
	if (json) {
		fputc('{', out);
		if (with_sport)
			fprintf(out, "\"sport\":%lu,", sport);
		fprintf(out, "\"prefix\":\"%s\",\"tunnel\":\"%s\",\"hash\":%" PRIu32
			",\"bucket\":%" PRIu32 ",\"modulus\":%u}", pb,
			c->tunnels[f->tunnel].name, f->hash, f->bucket,
			e->steer.p[f->prefix].modulus);
	} else {
		if (with_sport)
			fprintf(out, "sport %lu: ", sport);
		fprintf(out, "%s via %s (route %s, hash %#" PRIx32 ", bucket %" PRIu32
			" of %u)\n", dst, c->tunnels[f->tunnel].name, pb, f->hash,
			f->bucket, e->steer.p[f->prefix].modulus);
	}
}

/*
 * flow SRC DST [tcp|udp SPORT DPORT [COUNT] | icmp | PROTO].  With COUNT,
 * the answers for source ports SPORT .. SPORT+COUNT-1, all computed in one
 * turn of the loop together with the steering-change counter: a client
 * that compares them with what the kernel did knows they belong to one
 * ECMP set (the lab asks for 64 flows at once instead of in 64 requests).
 */
#define FLOW_COUNT_MAX 4096
bool
edge_view_flow(struct edge *e, const struct ctl_request *req, bool json,
	       FILE *out)
{
	const struct edge_config *c = e->conf;
	const char *a[6] = { NULL };
	struct ts_prefix src, dst;
	uint8_t proto = IPPROTO_ICMP;
	unsigned long sport = 0, dport = 0, count = 0;
	struct steer_flow f;
	int n = 0;

	for (int i = 1; i < req->argc; i++) {
		if (strcmp(req->argv[i], "--json") == 0)
			continue;
		if (n == 6) {
			fprintf(out, "flow: too many arguments\n");
			return false;
		}
		a[n++] = req->argv[i];
	}
	/* Hosts of one family: IPv4, or IPv6 hashed as nft hashes it. */
	if (n < 2 || ts_prefix_parse(a[0], false, &src) != 0 ||
	    ts_prefix_parse(a[1], false, &dst) != 0 || strchr(a[0], '/') ||
	    strchr(a[1], '/') || src.family != dst.family) {
		fprintf(out, "usage: flow SRC DST [tcp|udp SPORT DPORT [COUNT] | icmp | PROTO]\n");
		return false;
	}
	if (n >= 3) {
		char *end;

		if (strcmp(a[2], "tcp") == 0)
			proto = IPPROTO_TCP;
		else if (strcmp(a[2], "udp") == 0)
			proto = IPPROTO_UDP;
		else if (strcmp(a[2], "icmp") == 0)
			proto = dst.family == AF_INET6 ? IPPROTO_ICMPV6 :
				IPPROTO_ICMP;
		else if ((proto = (uint8_t)strtoul(a[2], &end, 10)) == 0 || *end) {
			fprintf(out, "flow: unknown protocol '%s'\n", a[2]);
			return false;
		}
	}
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		char *e1 = NULL, *e2 = NULL, *e3 = NULL;

		if (n < 5 || (sport = strtoul(a[3], &e1, 10)) > 65535 || *e1 ||
		    (dport = strtoul(a[4], &e2, 10)) > 65535 || *e2) {
			fprintf(out, "flow: tcp and udp need SPORT DPORT (0..65535)\n");
			return false;
		}
		if (n == 6 && (a[5][0] < '0' || a[5][0] > '9' ||
			       (count = strtoul(a[5], &e3, 10)) < 1 || *e3 ||
			       count > FLOW_COUNT_MAX || sport + count - 1 > 65535)) {
			fprintf(out, "flow: COUNT must be 1..%d, with SPORT+COUNT-1 at most 65535\n",
				FLOW_COUNT_MAX);
			return false;
		}
	} else if (n > 3) {
		fprintf(out, "flow: only tcp and udp take ports\n");
		return false;
	}
	if (count == 0) {
		if (edge_steer_flow_addr(&e->steer, c->ecmp_seed, &src, &dst, proto,
				    (uint16_t)sport, (uint16_t)dport, &f) < 0) {
			fprintf(out, "flow: no route covers %s\n", a[1]);
			return false;
		}
		flow_print(e, &f, a[1], sport, false, json, out);
		if (json)
			fputc('\n', out);
		return true;
	}
	/* The route depends on @dst alone: if it covers the first port it
	 * covers them all, and only this first call can fail. */
	if (edge_steer_flow_addr(&e->steer, c->ecmp_seed, &src, &dst, proto,
			    (uint16_t)sport, (uint16_t)dport, &f) < 0) {
		fprintf(out, "flow: no route covers %s\n", a[1]);
		return false;
	}
	if (json)
		fprintf(out, "{\"steering_changes\":%u,\"flows\":[", e->steer_changes);
	else
		fprintf(out, "steering changes so far: %u\n", e->steer_changes);
	for (unsigned long p = sport; p < sport + count; p++) {
		if (p != sport)
			(void)edge_steer_flow_addr(&e->steer, c->ecmp_seed, &src, &dst,
					      proto, (uint16_t)p,
					      (uint16_t)dport, &f);
		if (json && p != sport)
			fputc(',', out);
		flow_print(e, &f, a[1], p, true, json, out);
	}
	if (json)
		fprintf(out, "]}\n");
	return true;
}

/* --- Prometheus text ---------------------------------------------------------- */

static void
metric_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

#define LABELS "edge=\"%s\",customer=\"%s\",tunnel=\"%s\""
#define LARGS(i) c->name, c->customers[c->tunnels[i].customer].name, c->tunnels[i].name

/* A counter per tunnel and direction (ingress: toward the customer). */
static void
metric_directions(FILE *out, const struct edge_config *c, const char *name,
		  const char *help, const struct edge_count *in,
		  const struct edge_count *eg, bool bytes)
{
	metric_head(out, name, "counter", help);
	for (size_t i = 0; i < c->n_tunnels; i++)
		fprintf(out, "%s{" LABELS ",direction=\"ingress\"} %" PRIu64 "\n"
			"%s{" LABELS ",direction=\"egress\"} %" PRIu64 "\n",
			name, LARGS(i), bytes ? in[i].bytes : in[i].packets,
			name, LARGS(i), bytes ? eg[i].bytes : eg[i].packets);
}

void
edge_view_metrics(struct edge *e, FILE *out)
{
	const struct edge_config *c = e->conf;
	struct edge_counters k;
	struct esp_count *esp;
	char pb[TS_PREFIX_STRLEN];

	if (edge_stats_read(e->stats, e->ops, c, &k) < 0)
		return;
	metric_head(out, "tunsteer_edge_tunnel_state", "gauge",
		    "Tunnel health on this server: 1 healthy, 0.5 degraded, 0 down.");
	for (size_t i = 0; i < c->n_tunnels; i++)
		fprintf(out, "tunsteer_edge_tunnel_state{" LABELS "} %.1f\n", LARGS(i),
			edge_health_state_value(state_of(e, i)));
	/* IPv6 beside IPv4, under their own names: the IPv4 series stay
	 * as they were for the dashboards that read them. */
	metric_directions(out, c, "tunsteer_edge_tunnel_packets_total",
			  "IPv4 packets forwarded through the tunnel, toward (ingress) or from (egress) the customer.",
			  k.ingress, k.egress, false);
	metric_directions(out, c, "tunsteer_edge_tunnel_bytes_total",
			  "IPv4 bytes forwarded through the tunnel, by direction.",
			  k.ingress, k.egress, true);
	metric_head(out, "tunsteer_edge_unauthorized_egress_packets_total", "counter",
		    "IPv4 egress from the customer dropped because its source is not authorized.");
	for (size_t i = 0; i < c->n_tunnels; i++)
		fprintf(out, "tunsteer_edge_unauthorized_egress_packets_total{" LABELS
			"} %" PRIu64 "\n", LARGS(i), k.unauth[i].packets);
	metric_directions(out, c, "tunsteer_edge_tunnel_ipv6_packets_total",
			  "IPv6 packets forwarded through the tunnel, by direction.",
			  k.ingress6, k.egress6, false);
	metric_directions(out, c, "tunsteer_edge_tunnel_ipv6_bytes_total",
			  "IPv6 bytes forwarded through the tunnel, by direction.",
			  k.ingress6, k.egress6, true);
	metric_head(out, "tunsteer_edge_unauthorized_egress_ipv6_packets_total", "counter",
		    "IPv6 egress from the customer dropped because its source is not authorized.");
	for (size_t i = 0; i < c->n_tunnels; i++)
		fprintf(out, "tunsteer_edge_unauthorized_egress_ipv6_packets_total{"
			LABELS "} %" PRIu64 "\n", LARGS(i), k.unauth6[i].packets);
	metric_head(out, "tunsteer_edge_health_checks_total", "counter",
		    "Health checks of the tunnel sent by this server, by result.");
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct edge_check_stats *s = edge_checks_stats(e->checks, i);

		fprintf(out, "tunsteer_edge_health_checks_total{" LABELS
			",result=\"ok\"} %" PRIu64 "\n"
			"tunsteer_edge_health_checks_total{" LABELS
			",result=\"failed\"} %" PRIu64 "\n", LARGS(i),
			s ? s->ok : 0, LARGS(i), s ? s->failed : 0);
	}
	metric_head(out, "tunsteer_edge_ipsec_child_sa_up", "gauge",
		    "1 while an ipsec tunnel has a CHILD SA carrying traffic on this server.");
	for (size_t i = 0; i < c->n_tunnels; i++) {
		struct edge_ike_status is;

		if (ipsec_of(e, i, &is))
			fprintf(out, "tunsteer_edge_ipsec_child_sa_up{" LABELS "} %d\n",
				LARGS(i), ike_child_carries(is.child_state));
	}
	metric_head(out, "tunsteer_edge_ipsec_ike_sas_established_total", "counter",
		    "IKE SAs this server's responder established for the tunnel.");
	for (size_t i = 0; i < c->n_tunnels; i++) {
		struct edge_ike_status is;

		if (ipsec_of(e, i, &is))
			fprintf(out, "tunsteer_edge_ipsec_ike_sas_established_total{"
				LABELS "} %u\n", LARGS(i), is.established);
	}
	esp = esp_counts(e);
	metric_head(out, "tunsteer_edge_ipsec_esp_in_packets_total", "counter",
		    "ESP packets this server decrypted for the ipsec tunnel, under SAs "
		    "it negotiated or holds from another server (its current SAs).");
	for (size_t i = 0; i < c->n_tunnels && esp; i++)
		if (c->tunnels[i].type == EDGE_TUNNEL_IPSEC)
			fprintf(out, "tunsteer_edge_ipsec_esp_in_packets_total{"
				LABELS "} %" PRIu64 "\n", LARGS(i),
				esp[i].in_packets);
	metric_head(out, "tunsteer_edge_ipsec_esp_replay_failed_total", "counter",
		    "ESP packets this server dropped for the ipsec tunnel as replayed "
		    "(its current SAs).");
	for (size_t i = 0; i < c->n_tunnels && esp; i++)
		if (c->tunnels[i].type == EDGE_TUNNEL_IPSEC)
			fprintf(out, "tunsteer_edge_ipsec_esp_replay_failed_total{"
				LABELS "} %" PRIu64 "\n", LARGS(i),
				esp[i].replay_failed);
	free(esp);
	if (e->prop != NULL) {
		struct edge_prop_stats ps;

		edge_prop_stats(e->prop, &ps);
		metric_head(out, "tunsteer_edge_ipsec_propagated_sas", "gauge",
			    "CHILD SAs of the ipsec tunnel this server holds from "
			    "the server that negotiated them.");
		for (size_t i = 0; i < c->n_tunnels; i++)
			if (c->tunnels[i].type == EDGE_TUNNEL_IPSEC)
				fprintf(out, "tunsteer_edge_ipsec_propagated_sas{"
					LABELS "} %zu\n", LARGS(i),
					edge_prop_held(e->prop, c->tunnels[i].name,
						       NULL, 0));
		metric_head(out, "tunsteer_edge_sa_propagation_frames_total",
			    "counter", "SA propagation frames, by what became of "
			    "them.");
		fprintf(out, "tunsteer_edge_sa_propagation_frames_total{edge=\"%s\","
			"result=\"sent\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_frames_total{edge=\"%s\","
			"result=\"send_failed\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_frames_total{edge=\"%s\","
			"result=\"received\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_frames_total{edge=\"%s\","
			"result=\"resent\"} %" PRIu64 "\n", c->name, ps.sent,
			c->name, ps.send_failed, c->name, ps.received, c->name,
			ps.resent);
		metric_head(out, "tunsteer_edge_sa_propagation_resyncs_total",
			    "counter", "SA propagation resyncs: asks this server "
			    "sent to peers, peers' asks it served, its asks "
			    "peers answered.");
		fprintf(out, "tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
			"event=\"asked\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
			"event=\"served\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
			"event=\"answered\"} %" PRIu64 "\n", c->name,
			ps.resync_asks_sent, c->name, ps.resyncs_served, c->name,
			ps.resyncs_answered);
		metric_head(out, "tunsteer_edge_sa_propagation_refused_total",
			    "counter", "SA propagation datagrams refused, by why.");
		for (int r = 0; r < EDGE_PROP_REFUSALS; r++)
			fprintf(out, "tunsteer_edge_sa_propagation_refused_total{"
				"edge=\"%s\",reason=\"%s\"} %" PRIu64 "\n", c->name,
				edge_prop_refusal_name((enum edge_prop_refusal)r),
				ps.refused[r]);
		metric_head(out, "tunsteer_edge_sa_propagation_installs_total",
			    "counter", "SAs from other servers installed here, "
			    "by result.");
		fprintf(out, "tunsteer_edge_sa_propagation_installs_total{edge=\"%s\","
			"result=\"ok\"} %" PRIu64 "\n"
			"tunsteer_edge_sa_propagation_installs_total{edge=\"%s\","
			"result=\"failed\"} %" PRIu64 "\n", c->name, ps.installed,
			c->name, ps.install_failed);
	}
	metric_head(out, "tunsteer_edge_route_effective_priority", "gauge",
		    "A static route's priority plus its tunnel's health penalty.");
	for (size_t r = 0; r < c->n_routes; r++)
		fprintf(out, "tunsteer_edge_route_effective_priority{edge=\"%s\","
			"prefix=\"%s\",tunnel=\"%s\"} %" PRIu64 "\n", c->name,
			ts_prefix_format(&c->routes[r].prefix, pb, sizeof(pb)),
			c->tunnels[c->routes[r].tunnel].name,
			r < e->steer.n_routes ? e->steer.effective[r] : 0);
	metric_head(out, "tunsteer_edge_firewall_packets_total", "counter",
		    "Packets that matched a firewall rule.");
	for (size_t i = 0; i < c->n_firewall; i++)
		fprintf(out, "tunsteer_edge_firewall_packets_total{edge=\"%s\","
			"rule=\"%s\"} %" PRIu64 "\n", c->name, c->firewall[i].name,
			k.fw[i].packets);
	metric_head(out, "tunsteer_edge_reassembly_failures_total", "counter",
		    "IPv4 fragment sets this server could not reassemble (dropped).");
	fprintf(out, "tunsteer_edge_reassembly_failures_total{edge=\"%s\"} %" PRIu64 "\n",
		c->name, k.reasm_fails);
	metric_head(out, "tunsteer_edge_ipv6_reassembly_failures_total", "counter",
		    "IPv6 fragment sets this server could not reassemble (dropped).");
	fprintf(out, "tunsteer_edge_ipv6_reassembly_failures_total{edge=\"%s\"} %"
		PRIu64 "\n", c->name, k.reasm6_fails);
	metric_head(out, "tunsteer_edge_ipv6_packet_too_big_total", "counter",
		    "ICMPv6 Packet Too Big messages this server sent (IPv6 is never fragmented in flight).");
	fprintf(out, "tunsteer_edge_ipv6_packet_too_big_total{edge=\"%s\"} %"
		PRIu64 "\n", c->name, k.ptb6_sent);
	metric_head(out, "tunsteer_edge_steering_changes_total", "counter",
		    "Replacements of the ECMP sets after health changes.");
	fprintf(out, "tunsteer_edge_steering_changes_total{edge=\"%s\"} %u\n",
		c->name, e->steer_changes);
#undef LABELS
#undef LARGS
	edge_counters_free(&k);
}
