/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's metrics (metrics.c): the Prometheus text (every family's
 * HELP and TYPE before its samples, one family once, names in base units
 * with counters ending in _total, label values escaped), the values it
 * reads from the engine, the verdict of `check`, the metrics group of the
 * config (good and bad listen addresses, FILE:LINE, -nv), and the HTTP
 * listener on the loopback (200 at /metrics, 404 elsewhere, garbage
 * answered and survived, off again on a config without the group).
 * Engine over the fake kernel, as check_view.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "tunsteerd/config.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/health.h"
#include "tunsteerd/metrics.h"
#include "tunsteerd/passive.h"
#include "testlib.h"

static struct kernel_ops *k;
static struct engine *e;
static char *path;
static struct health h[3];
static struct passive_stats st[2];

static const char conf_text[] =
	"tunnels = (\n"
	"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
	"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; },\n"
	"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\"; }\n"
	");\n"
	"egress = ( { name = \"office\";"
	"  prefixes = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = ( { tunnel = \"cf1\"; priority = 100; },\n"
	"              { tunnel = \"cf2\"; priority = 100; },\n"
	"              { tunnel = \"cf3\"; priority = 200; } ); },\n"
	"  { name = \"lab\"; prefixes = [ \"203.0.113.128/25\" ];\n"
	"  tunnels = ( { tunnel = \"cf3\"; priority = 1; } ); } );\n";

static const struct health *
health_cb(void *arg, const char *name)
{
	(void)arg;
	if (strlen(name) == 3 && strncmp(name, "cf", 2) == 0 &&
	    name[2] >= '1' && name[2] <= '3')
		return &h[name[2] - '1'];
	return NULL;
}

static const struct passive_stats *
checks_cb(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "cf1") == 0)
		return &st[0];
	if (strcmp(name, "cf2") == 0)
		return &st[1];
	return NULL;
}

/* The engine over the fake kernel for a config of @text, cf1 up with
 * answers, cf2 degraded, cf3 down. */
static void
start(const char *text)
{
	struct config_probe pr = CONFIG_PROBE_DEFAULTS;

	pr.degraded_loss_pct = 50;	/* cf1's one loss in five leaves it up */

	log_init("check_metrics", true, LOG_LVL_ERR);
	path = temp_file(text);
	k = kernel_fake_create();
	ck_assert_ptr_nonnull(k);
	e = engine_create(k);
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < 3; i++)
		health_init(&h[i], &pr);
	for (int i = 0; i < 4; i++)
		health_feed(&h[0], true, 2000 + 1000 * (uint32_t)(i % 2), 0);
	health_feed(&h[0], false, 0, 0);
	h[1].state = HEALTH_DEGRADED;
	h[2].state = HEALTH_DOWN;
	h[2].entered[HEALTH_DOWN] = 2;
	memset(st, 0, sizeof(st));
	st[0].count[PASSIVE_BIDI_REQUEST] = 7;
	st[1].count[PASSIVE_UNI_REPLY] = 12345678901ull;
	engine_set_health_source(e, health_cb, NULL);
	engine_set_checks_source(e, checks_cb, NULL);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
}

static void
setup(void)
{
	start(conf_text);
}

static void
teardown(void)
{
	engine_destroy(e, true);
	k->destroy(k);
	unlink(path);
	free(path);
}

static char *
render(void)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_render(e, b), 0);
	len = evbuffer_get_length(b);
	s = malloc(len + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(evbuffer_remove(b, s, len), (int)len);
	s[len] = '\0';
	evbuffer_free(b);
	return s;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define ck_line(text, line) \
	ck_assert_msg(has_line(text, line), "no line \"%s\" in:\n%s", line, text)

START_TEST(test_every_family_has_help_and_type_once_before_its_samples)
{
	char *text = render(), *save = NULL, *line;
	char families[64][80];
	size_t n_fam = 0;
	regex_t name_re, sample_re;

	ck_assert_int_eq(regcomp(&name_re, "^tunsteer_[a-z_]+$",
				 REG_EXTENDED | REG_NOSUB), 0);
	/* name{label="value",...} number, escapes allowed in values */
	ck_assert_int_eq(regcomp(&sample_re,
		"^(tunsteer_[a-z_]+)(\\{[a-z_]+=\"([^\"\\\\]|\\\\.)*\""
		"(,[a-z_]+=\"([^\"\\\\]|\\\\.)*\")*\\})? -?[0-9]+(\\.[0-9]+)?$",
		REG_EXTENDED | REG_NOSUB), 0);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[80], type[16];

		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%79s", name), 1);
			ck_assert_msg(regexec(&name_re, name, 0, NULL, 0) == 0,
				      "bad name %s", name);
			for (size_t i = 0; i < n_fam; i++)
				ck_assert_msg(strcmp(families[i], name) != 0,
					      "%s twice", name);
			ck_assert_uint_lt(n_fam, 64);
			strcpy(families[n_fam++], name);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_eq(sscanf(line + 7, "%79s %15s", name, type), 2);
			ck_assert_str_eq(name, families[n_fam - 1]);
			/* Counters end in _total, and only they do. */
			if (strcmp(type, "counter") == 0)
				ck_assert_msg(strlen(name) > 6 &&
					      strcmp(name + strlen(name) - 6, "_total") == 0,
					      "counter %s without _total", name);
			else
				ck_assert_msg(strcmp(type, "gauge") == 0 &&
					      !strstr(name, "_total"),
					      "%s: %s", name, type);
			/* Base units: seconds, bytes, ratios. */
			ck_assert_ptr_null(strstr(name, "_ms"));
			ck_assert_ptr_null(strstr(name, "_pct"));
			continue;
		}
		ck_assert_msg(regexec(&sample_re, line, 0, NULL, 0) == 0,
			      "not a sample: %s", line);
		/* A sample of the last family announced. */
		ck_assert_msg(n_fam > 0 && strncmp(line, families[n_fam - 1],
					strlen(families[n_fam - 1])) == 0 &&
			      strchr("{ ", line[strlen(families[n_fam - 1])]),
			      "%s outside its family", line);
	}
	ck_assert_uint_ge(n_fam, 20);
	regfree(&name_re);
	regfree(&sample_re);
	free(text);
}
END_TEST

START_TEST(test_values_are_the_engines)
{
	char *t = render();

	ck_line(t, strncmp(STRONGSWAN_VERSION, "none", 4) == 0 ?
		"tunsteer_build_info{version=\"" PACKAGE_VERSION "\",strongswan=\"none\"} 1" :
		"tunsteer_build_info{version=\"" PACKAGE_VERSION "\",strongswan=\""
		STRONGSWAN_VERSION "\"} 1");
	ck_line(t, "tunsteer_tunnel_info{tunnel=\"cf1\",type=\"gre\"} 1");
	ck_line(t, "tunsteer_tunnel_health_state{tunnel=\"cf1\",state=\"up\"} 1");
	ck_line(t, "tunsteer_tunnel_health_state{tunnel=\"cf1\",state=\"init\"} 0");
	ck_line(t, "tunsteer_tunnel_health_state{tunnel=\"cf2\",state=\"degraded\"} 1");
	ck_line(t, "tunsteer_tunnel_health_state{tunnel=\"cf3\",state=\"down\"} 1");
	ck_line(t, "tunsteer_tunnel_health_transitions_total{tunnel=\"cf1\",to=\"up\"} 1");
	ck_line(t, "tunsteer_tunnel_health_transitions_total{tunnel=\"cf3\",to=\"down\"} 2");
	/* office prefers cf1 and cf2 (100) but cf2 is degraded; lab has cf3. */
	ck_line(t, "tunsteer_tunnel_egress_active{tunnel=\"cf1\"} 1");
	ck_line(t, "tunsteer_tunnel_egress_active{tunnel=\"cf2\"} 0");
	ck_line(t, "tunsteer_tunnel_egress_active{tunnel=\"cf3\"} 1");
	/* 4 answers of 2 and 3 ms, then one lost. */
	ck_line(t, "tunsteer_tunnel_probe_rtt_seconds{tunnel=\"cf1\"} 0.002500");
	ck_line(t, "tunsteer_tunnel_probe_jitter_seconds{tunnel=\"cf1\"} 0.001000");
	ck_line(t, "tunsteer_tunnel_probe_loss_ratio{tunnel=\"cf1\"} 0.20");
	ck_line(t, "tunsteer_tunnel_probes_sent_total{tunnel=\"cf1\"} 5");
	ck_line(t, "tunsteer_tunnel_probes_lost_total{tunnel=\"cf1\"} 1");
	/* No probes yet: no RTT rather than a made-up 0. */
	ck_assert_ptr_null(strstr(t, "tunsteer_tunnel_probe_rtt_seconds{tunnel=\"cf2\"}"));
	ck_line(t, "tunsteer_tunnel_receive_bytes_total{tunnel=\"cf1\"} 0");
	ck_line(t, "tunsteer_tunnel_transmit_packets_total{tunnel=\"cf3\"} 0");
	ck_line(t, "tunsteer_tunnel_link_up{tunnel=\"cf2\"} 1");
	ck_line(t, "tunsteer_tunnel_provider_checks_total{tunnel=\"cf1\",kind=\"bidirectional_request\"} 7");
	ck_line(t, "tunsteer_tunnel_provider_checks_total{tunnel=\"cf2\",kind=\"unidirectional_reply\"} 12345678901");
	ck_line(t, "tunsteer_tunnel_provider_checks_total{tunnel=\"cf3\",kind=\"bidirectional_reply\"} 0");
	ck_line(t, "tunsteer_policy_failovers_total{policy=\"office\"} 0");
	ck_line(t, "tunsteer_conntrack_flushes_total 0");
	ck_line(t, "tunsteer_config_reloads_total{result=\"success\"} 0");
	ck_line(t, "tunsteer_config_reloads_total{result=\"failure\"} 0");
	ck_line(t, "tunsteer_kernel_repairs_total 0");
	/* GRE only: no IKE states. */
	ck_assert_ptr_null(strstr(t, "tunsteer_tunnel_ike_sa_state{"));
	free(t);
}
END_TEST

/* probe.family: each family a tunnel is probed with, and its own probe
 * counters beside the rounds'. */
START_TEST(test_probe_families_and_each_familys_probes_are_counted)
{
	static const char text[] =
		"tunnels = (\n"
		"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";"
		"    address6 = \"2001:db8:ffff::/127\";"
		"    probe = { family = \"both\"; }; },\n"
		"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\";"
		"    address6 = \"2001:db8:ffff::2/127\";"
		"    probe = { family = \"ipv6\"; }; },\n"
		"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\"; }\n"
		");\n"
		"egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
		"  tunnels = ( { tunnel = \"cf1\"; priority = 100; } ); } );\n";
	struct health_round r;
	char *t;

	teardown();
	start(text);
	/* cf1 (h[0] afresh): both answered, IPv6 lost, both answered. */
	health_init(&h[0], &h[0].cfg);
	for (int i = 0; i < 3; i++) {
		health_round_start(&r, PROBE_FAMILY_BOTH);
		(void)health_round_note(&r, HEALTH_IPV4, HEALTH_ANSWERED, 2000);
		(void)health_round_note(&r, HEALTH_IPV6, i == 1 ? HEALTH_LOST :
					HEALTH_ANSWERED, 3000);
		health_feed_round(&h[0], &r, 0);
	}
	t = render();
	ck_line(t, "tunsteer_tunnel_probe_family{tunnel=\"cf1\",family=\"ipv4\"} 1");
	ck_line(t, "tunsteer_tunnel_probe_family{tunnel=\"cf1\",family=\"ipv6\"} 1");
	ck_line(t, "tunsteer_tunnel_probe_family{tunnel=\"cf2\",family=\"ipv6\"} 1");
	ck_line(t, "tunsteer_tunnel_probe_family{tunnel=\"cf3\",family=\"ipv4\"} 1");
	ck_assert_ptr_null(strstr(t, "tunsteer_tunnel_probe_family{tunnel=\"cf2\",family=\"ipv4\"}"));
	ck_assert_ptr_null(strstr(t, "{tunnel=\"cf3\",family=\"ipv6\"}"));
	ck_line(t, "tunsteer_tunnel_family_probes_sent_total{tunnel=\"cf1\",family=\"ipv4\"} 3");
	ck_line(t, "tunsteer_tunnel_family_probes_lost_total{tunnel=\"cf1\",family=\"ipv4\"} 0");
	ck_line(t, "tunsteer_tunnel_family_probes_sent_total{tunnel=\"cf1\",family=\"ipv6\"} 3");
	ck_line(t, "tunsteer_tunnel_family_probes_lost_total{tunnel=\"cf1\",family=\"ipv6\"} 1");
	/* The rounds: one lost, as IPv6 was in it. */
	ck_line(t, "tunsteer_tunnel_probes_sent_total{tunnel=\"cf1\"} 3");
	ck_line(t, "tunsteer_tunnel_probes_lost_total{tunnel=\"cf1\"} 1");
	ck_line(t, "tunsteer_tunnel_family_probes_sent_total{tunnel=\"cf2\",family=\"ipv6\"} 0");
	free(t);
}
END_TEST

START_TEST(test_failovers_are_counted_per_policy_and_reloads_by_result)
{
	char *t;

	/* cf1 down: office moves to cf2 (degraded, 100) ... */
	h[0].state = HEALTH_DOWN;
	ck_assert_int_ge(engine_health_changed(e), 0);
	/* ... and back. */
	h[0].state = HEALTH_UP;
	ck_assert_int_ge(engine_health_changed(e), 0);
	/* A change that moves nothing counts nothing. */
	h[1].state = HEALTH_DOWN;
	ck_assert_int_ge(engine_health_changed(e), 0);
	ck_assert_int_eq(engine_load(e, path, NULL), 0);
	ck_assert_int_lt(engine_load(e, "/nonexistent/tunsteerd.conf", NULL), 0);
	t = render();
	ck_line(t, "tunsteer_policy_failovers_total{policy=\"office\"} 2");
	ck_line(t, "tunsteer_policy_failovers_total{policy=\"lab\"} 0");
	ck_line(t, "tunsteer_config_reloads_total{result=\"success\"} 1");
	ck_line(t, "tunsteer_config_reloads_total{result=\"failure\"} 1");
	free(t);
}
END_TEST

START_TEST(test_label_values_escape_backslash_quote_and_newline)
{
	struct evbuffer *b = evbuffer_new();
	char out[64] = "";

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_put_label(b, "a\"b\\c\nd\xc3\xa9"), 0);
	ck_assert_int_eq(metrics_put_label(b, ""), 0);
	ck_assert_int_eq(metrics_put_label(b, "\\"), 0);
	evbuffer_remove(b, out, sizeof(out) - 1);
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd\xc3\xa9\\\\");
	evbuffer_free(b);
}
END_TEST

static char *
check_text(const char *policy, bool json, int *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	*v = metrics_check(e, policy, json, f);
	fclose(f);
	return buf;
}

START_TEST(test_check_is_the_worst_policy_by_its_best_tunnel)
{
	char *t;
	int v;

	/* office has cf1 up; lab only cf3, down. */
	t = check_text(NULL, false, &v);
	ck_assert_int_eq(v, METRICS_DOWN);
	ck_assert_str_eq(t, "check: down\n"
			 "policy office: up (1 up, 1 degraded, 1 down)\n"
			 "policy lab: down (0 up, 0 degraded, 1 down)\n");
	free(t);
	t = check_text("office", true, &v);
	ck_assert_int_eq(v, METRICS_UP);
	ck_assert_str_eq(t, "{\"check\":\"up\",\"policies\":[{\"name\":\"office\","
			 "\"check\":\"up\",\"up\":1,\"degraded\":1,\"down\":1}]}\n");
	free(t);
	/* Only degraded ones left in office. */
	h[0].state = HEALTH_DEGRADED;
	t = check_text("office", false, &v);
	ck_assert_int_eq(v, METRICS_DEGRADED);
	free(t);
	/* Not probed yet counts as down. */
	h[2].state = HEALTH_INIT;
	t = check_text("lab", false, &v);
	ck_assert_int_eq(v, METRICS_DOWN);
	free(t);
	h[2].state = HEALTH_DEGRADED;
	t = check_text(NULL, false, &v);
	ck_assert_int_eq(v, METRICS_DEGRADED);
	ck_assert_str_eq(t, "check: degraded\n"
			 "policy office: degraded (0 up, 3 degraded, 0 down)\n"
			 "policy lab: degraded (0 up, 1 degraded, 0 down)\n");
	free(t);
	t = check_text("no\"such", false, &v);
	ck_assert_int_eq(v, -ENOENT);
	ck_assert_str_eq(t, "check: no egress policy called \"no\\\"such\"\n");
	free(t);
}
END_TEST

/* --- config ----------------------------------------------------------------- */

static const char tunnel_text[] =
	"tunnels = ( { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
	" remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; } );\n";

static struct config *
load_metrics(const char *group, struct config_errors *errs)
{
	char text[512];

	snprintf(text, sizeof(text), "%s%s", tunnel_text, group);
	return config_load_string(text, "m.conf", errs);
}

static char *
printed(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_print(c, f, CONFIG_PRINT_SECRETS);
	fclose(f);
	return buf;
}

START_TEST(test_metrics_are_off_by_default_and_listen_is_printed_normalised)
{
	static const struct { const char *in, *host, *out; unsigned port; } ok[] = {
		{ "127.0.0.1:9480", "127.0.0.1", "127.0.0.1:9480", 9480 },
		{ "0.0.0.0:1", "0.0.0.0", "0.0.0.0:1", 1 },
		{ "[::1]:9480", "::1", "[::1]:9480", 9480 },
		{ "[2001:db8:0:0::1]:65535", "2001:db8::1", "[2001:db8::1]:65535", 65535 },
	};
	struct config_errors errs = { 0 };
	struct config *c = load_metrics("", &errs);
	char *p, want[128];

	ck_assert_ptr_nonnull(c);
	ck_assert(!c->metrics.set);
	p = printed(c);
	ck_assert_ptr_null(strstr(p, "metrics = {"));
	free(p);
	config_free(c);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char group[128];
		struct config *again;
		char *p2;

		snprintf(group, sizeof(group), "metrics = { listen = \"%s\"; };\n",
			 ok[i].in);
		c = load_metrics(group, &errs);
		ck_assert_msg(c != NULL, "%s refused", ok[i].in);
		ck_assert(c->metrics.set);
		ck_assert_str_eq(c->metrics.host, ok[i].host);
		ck_assert_uint_eq(c->metrics.port, ok[i].port);
		ck_assert_int_eq(c->metrics.line, 2);
		p = printed(c);
		snprintf(want, sizeof(want), "metrics = {\n\tlisten = \"%s\";\n};\n",
			 ok[i].out);
		ck_assert_msg(strstr(p, want), "%s printed as:\n%s", ok[i].in, p);
		/* Printed, it parses to the same. */
		again = config_load_string(p, "printed", &errs);
		ck_assert_ptr_nonnull(again);
		p2 = printed(again);
		/* The first line names the file. */
		ck_assert_str_eq(strchr(p, '\n'), strchr(p2, '\n'));
		free(p2);
		free(p);
		config_free(again);
		config_free(c);
	}
}
END_TEST

START_TEST(test_bad_listen_addresses_are_refused_at_their_line)
{
	static const char *const bad[] = {
		"localhost:9480", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1:-1",
		"127.0.0.1:80x", "::1:9480", "[::1]", "[::1]9480",
		"[127.0.0.1]:80", "1.2.3:80", ":9480", "", "[]:80",
		"127.0.0.1:99999999999999999999", "[::1]:80]",
	};
	struct config_errors errs = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char group[160], want[160];
		struct config *c;

		snprintf(group, sizeof(group), "metrics = {\n listen = \"%s\"; };\n",
			 bad[i]);
		c = load_metrics(group, &errs);
		ck_assert_msg(c == NULL, "\"%s\" accepted", bad[i]);
		snprintf(want, sizeof(want), "m.conf:3: metrics.listen: \"%s\" is "
			 "not ADDRESS:PORT", bad[i]);
		ck_assert_uint_ge(errs.n, 1);
		ck_assert_msg(strncmp(errs.msgs[0], want, strlen(want)) == 0,
			      "%s", errs.msgs[0]);
		config_errors_free(&errs);
	}
}
END_TEST

START_TEST(test_metrics_group_without_listen_or_with_other_keys_is_refused)
{
	static const struct { const char *group, *want; } bad[] = {
		{ "metrics = { };\n", "m.conf:2: metrics.listen: required" },
		{ "metrics = { listen = \"127.0.0.1:9480\"; port = 1; };\n",
		  "m.conf:2: metrics.port" },
		{ "metrics = { listen = 9480; };\n", "m.conf:2: metrics.listen" },
		{ "metrics = \"127.0.0.1:9480\";\n", "m.conf:2: metrics" },
	};
	struct config_errors errs = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config *c = load_metrics(bad[i].group, &errs);
		bool found = false;

		ck_assert_msg(c == NULL, "%s accepted", bad[i].group);
		for (size_t j = 0; j < errs.n; j++)
			found |= strncmp(errs.msgs[j], bad[i].want,
					 strlen(bad[i].want)) == 0;
		ck_assert_msg(found, "%s: no \"%s\" but \"%s\"", bad[i].group,
			      bad[i].want, errs.n ? errs.msgs[0] : "");
		config_errors_free(&errs);
	}
}
END_TEST

/* --- HTTP ------------------------------------------------------------------- */

static struct event_base *base;

/* Send @req to 127.0.0.1:@port and run the loop until the server closes
 * or answers in full; the answer (caller frees). */
static char *
http(unsigned int port, const char *req, size_t req_len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	char *ans = calloc(1, 1 << 20);
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	double t0 = now_s();

	ck_assert_ptr_nonnull(ans);
	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(write(fd, req, req_len), (ssize_t)req_len);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (;;) {
		ssize_t n;

		event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
		n = read(fd, ans + got, (1 << 20) - 1 - got);
		if (n == 0)
			break;
		if (n > 0) {
			got += (size_t)n;
			/* evhttp keeps HTTP/1.1 connections open. */
			if (strstr(ans, "\r\n\r\n") && strstr(ans, "Content-Length: ")) {
				size_t body = strtoul(strstr(ans, "Content-Length: ") + 16,
						      NULL, 10);

				if (got >= (size_t)(strstr(ans, "\r\n\r\n") + 4 - ans) + body)
					break;
			}
			continue;
		}
		ck_assert_int_eq(errno, EAGAIN);
		ck_assert_msg(now_s() - t0 < 10, "no answer: %s", ans);
		poll(NULL, 0, 1);
	}
	close(fd);
	return ans;
}

static void
http_setup(void)
{
	setup();
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void
http_teardown(void)
{
	event_base_free(base);
	teardown();
}

START_TEST(test_listener_serves_metrics_only_and_survives_garbage)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct metrics *m = metrics_create(base, e);
	struct config c = { 0 };
	unsigned int port;
	char *a;

	ck_assert_ptr_nonnull(m);
	/* Off: nothing bound. */
	ck_assert_int_eq(metrics_prepare(m, &c), 0);
	metrics_commit(m);
	ck_assert_uint_eq(metrics_port(m), 0);
	c.metrics = (struct config_metrics){ .set = true, .host = "127.0.0.1" };
	ck_assert_int_eq(metrics_prepare(m, &c), 0);
	metrics_commit(m);
	port = metrics_port(m);
	ck_assert_uint_gt(port, 0);

	a = http(port, get, sizeof(get) - 1);
	ck_assert_msg(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
	ck_assert_ptr_nonnull(strstr(a, "Content-Type: text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(a, "\ntunsteer_tunnel_health_state{tunnel=\"cf1\",state=\"up\"} 1\n"));
	free(a);
	a = http(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", 29);
	ck_assert_msg(strncmp(a, "HTTP/1.0 200", 12) == 0 ||
		      strncmp(a, "HTTP/1.1 200", 12) == 0, "%s", a);
	free(a);
	a = http(port, "GET / HTTP/1.0\r\n\r\n", 18);
	ck_assert_msg(strstr(a, " 404 ") != NULL, "%s", a);
	free(a);
	a = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", 48);
	ck_assert_msg(strstr(a, " 200 ") == NULL, "%s", a);
	free(a);
	/* Garbage, a header too long, a NUL: answered or dropped, never a
	 * crash, and the next scrape is served. */
	a = http(port, "\x01\x02 \xff\r\n\r\n", 8);
	free(a);
	{
		size_t n = 20000;
		char *big = malloc(n);

		ck_assert_ptr_nonnull(big);
		memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
		memset(big + 26, 'a', n - 30);
		memcpy(big + n - 4, "\r\n\r\n", 4);
		a = http(port, big, n);
		ck_assert_msg(strstr(a, " 200 ") == NULL, "%s", a);
		free(a);
		free(big);
	}
	a = http(port, "GET /met\0rics HTTP/1.0\r\n\r\n", 26);
	free(a);
	a = http(port, get, sizeof(get) - 1);
	ck_assert_msg(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
	free(a);

	/* The same address again keeps the socket; a taken one is refused
	 * and the old one kept; no group turns it off. */
	c.metrics.port = (uint16_t)port;
	ck_assert_int_eq(metrics_prepare(m, &c), 0);
	metrics_commit(m);
	ck_assert_uint_eq(metrics_port(m), port);
	{
		struct metrics *m2 = metrics_create(base, e);

		ck_assert_ptr_nonnull(m2);
		ck_assert_int_eq(metrics_prepare(m2, &c), -EADDRINUSE);
		metrics_abort(m2);
		ck_assert_uint_eq(metrics_port(m2), 0);
		metrics_destroy(m2);
	}
	c.metrics.set = false;
	ck_assert_int_eq(metrics_prepare(m, &c), 0);
	metrics_abort(m);
	ck_assert_uint_eq(metrics_port(m), port);
	ck_assert_int_eq(metrics_prepare(m, &c), 0);
	metrics_commit(m);
	ck_assert_uint_eq(metrics_port(m), 0);
	metrics_destroy(m);
}
END_TEST

/* Every family rendered is documented in tunsteerd.conf(5) and shown by
 * the Grafana dashboard, which uses no other tunsteer_ name. */
START_TEST(test_every_family_is_documented_and_the_dashboard_uses_only_them)
{
	char *text = render(), *man = slurp(TOP_SRCDIR "/man/tunsteerd.conf.5");
	char *dash = slurp(TOP_SRCDIR "/contrib/grafana/tunsteer.json");
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, "# HELP ")) != NULL; p++) {
		char name[80], quoted[96];

		ck_assert_int_eq(sscanf(p + 7, "%79s", name), 1);
		snprintf(quoted, sizeof(quoted), ".It Li %s", name);
		ck_assert_msg(strstr(man, quoted), "%s not in tunsteerd.conf.5", name);
		snprintf(quoted, sizeof(quoted), "%s{", name);
		ck_assert_msg(strstr(dash, quoted) || strstr(dash, name),
			      "%s not on the dashboard", name);
		n++;
	}
	ck_assert_uint_ge(n, 20);
	for (const char *p = dash; (p = strstr(p, "tunsteer_")) != NULL; ) {
		char name[80], head[96];
		size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		ck_assert_uint_lt(len, sizeof(name));
		memcpy(name, p, len);
		name[len] = '\0';
		snprintf(head, sizeof(head), "# HELP %s ", name);
		ck_assert_msg(strstr(text, head), "the dashboard's %s is no metric",
			      name);
		p += len;
	}
	free(dash);
	free(man);
	free(text);
}
END_TEST

/* A policy with nat: its translated connections, as the nft counter
 * says; none for a policy without nat, and none when the kernel has no
 * count (a made-up 0 would read as a reset). */
START_TEST(test_translated_connections_are_the_nat_counters)
{
	char *text, *p2, *t;
	const char *at = strstr(conf_text, "tunnels = ( { tunnel = \"cf3\"; priority = 1; }");

	ck_assert_ptr_nonnull(at);
	text = calloc(1, strlen(conf_text) + 128);
	ck_assert_ptr_nonnull(text);
	memcpy(text, conf_text, (size_t)(at - conf_text));
	strcat(text, "nat = { from = [ \"10.8.0.0/16\" ]; to = \"203.0.113.200/30\"; };\n");
	strcat(text, at);
	p2 = temp_file(text);
	ck_assert_int_eq(engine_load(e, p2, stderr), 0);
	ck_assert_int_eq(kernel_fake_nft_count(k, "nat_lab", 7), 0);
	t = render();
	ck_line(t, "tunsteer_policy_translated_connections_total{policy=\"lab\"} 7");
	ck_assert_ptr_null(strstr(t, "tunsteer_policy_translated_connections_total{policy=\"office\"}"));
	free(t);
	kernel_fake_nft_tamper(k);
	t = render();
	ck_assert_ptr_nonnull(strstr(t, "# TYPE tunsteer_policy_translated_connections_total counter\n"));
	ck_assert_ptr_null(strstr(t, "tunsteer_policy_translated_connections_total{"));
	free(t);
	unlink(p2);
	free(p2);
	free(text);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *text = tcase_create("text");
	TCase *config = tcase_create("config");
	TCase *listener = tcase_create("http");

	tcase_add_checked_fixture(text, setup, teardown);
	tcase_add_test(text, test_every_family_has_help_and_type_once_before_its_samples);
	tcase_add_test(text, test_values_are_the_engines);
	tcase_add_test(text, test_probe_families_and_each_familys_probes_are_counted);
	tcase_add_test(text, test_failovers_are_counted_per_policy_and_reloads_by_result);
	tcase_add_test(text, test_translated_connections_are_the_nat_counters);
	tcase_add_test(text, test_label_values_escape_backslash_quote_and_newline);
	tcase_add_test(text, test_check_is_the_worst_policy_by_its_best_tunnel);
	tcase_add_test(text, test_every_family_is_documented_and_the_dashboard_uses_only_them);
	suite_add_tcase(s, text);
	tcase_add_test(config, test_metrics_are_off_by_default_and_listen_is_printed_normalised);
	tcase_add_test(config, test_bad_listen_addresses_are_refused_at_their_line);
	tcase_add_test(config, test_metrics_group_without_listen_or_with_other_keys_is_refused);
	suite_add_tcase(s, config);
	tcase_add_checked_fixture(listener, http_setup, http_teardown);
	tcase_add_test(listener, test_listener_serves_metrics_only_and_survives_garbage);
	suite_add_tcase(s, listener);
	return s;
}

CHECK_MAIN(metrics_suite)
