/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd.conf parsing and validation: good files give the values and
 * defaults the man page promises, every rule has a bad fixture whose
 * exact message (with its line) is asserted, secrets files readable by
 * others are refused, config_print() round-trips, and no truncation of a
 * good file crashes the parser.
 *
 * Fixtures are read into memory and parsed with config_load_string() so
 * that those holding a psk are not refused for their 0644 mode in the
 * tree; the tests of config_load() itself make their own temp files.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tunsteerd/config.h"
#include "tunsteerd/ike_check.h"
#include "lib/log.h"
#include "testlib.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif
#define FIXTURES TOP_SRCDIR "/tests/unit/fixtures/config/"

/* Parse fixture @name from memory; messages name it by its base name. */
static struct config *
load_fixture(const char *name, struct config_errors *errs)
{
	char path[512];
	char *text;
	struct config *c;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	text = slurp(path);
	c = config_load_string(text, name, errs);
	free(text);
	return c;
}

static char *
errors_text(const struct config_errors *errs)
{
	static char buf[8192];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs->n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"\n  %s", errs->msgs[i]);
	return buf;
}

static bool
has_msg(const struct config_errors *errs, const char *want)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], want))
			return true;
	return false;
}

static struct config *
must_load(const char *name)
{
	struct config_errors errs = { 0 };
	struct config *c = load_fixture(name, &errs);

	ck_assert_msg(c != NULL, "%s rejected:%s", name, errors_text(&errs));
	ck_assert_uint_eq(errs.n, 0);
	return c;
}

/* @name must be rejected with a message containing @want. */
static void
expect_error(const char *name, const char *want)
{
	struct config_errors errs = { 0 };
	struct config *c = load_fixture(name, &errs);

	ck_assert_msg(c == NULL, "%s was accepted", name);
	ck_assert_msg(has_msg(&errs, want), "%s: no \"%s\" among:%s", name,
		      want, errors_text(&errs));
	config_errors_free(&errs);
}

static const char *
pfx(const struct ts_prefix *p)
{
	static char buf[4][TS_PREFIX_STRLEN];
	static int n;

	return ts_prefix_format(p, buf[n++ % 4], TS_PREFIX_STRLEN);
}

static bool
str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void
assert_probe_equal(const struct config_probe *x, const struct config_probe *y)
{
	ck_assert_uint_eq(x->interval_ms, y->interval_ms);
	ck_assert_uint_eq(x->timeout_ms, y->timeout_ms);
	ck_assert_uint_eq(x->down_after, y->down_after);
	ck_assert_uint_eq(x->up_after, y->up_after);
	ck_assert_uint_eq(x->holddown_ms, y->holddown_ms);
	ck_assert_uint_eq(x->degraded_loss_pct, y->degraded_loss_pct);
	ck_assert_uint_eq(x->degraded_rtt_ms, y->degraded_rtt_ms);
	ck_assert_int_eq(x->has_target, y->has_target);
	ck_assert_uint_eq(x->target.s_addr, y->target.s_addr);
	ck_assert_int_eq(x->has_source, y->has_source);
	ck_assert_uint_eq(x->source.s_addr, y->source.s_addr);
	ck_assert_uint_eq(x->passive_timeout_ms, y->passive_timeout_ms);
	ck_assert_int_eq(x->has_passive_target, y->has_passive_target);
	ck_assert_uint_eq(x->passive_target.s_addr, y->passive_target.s_addr);
	ck_assert_int_eq(x->family, y->family);
}

/* Field by field, for the round trip; path is not compared. */
static void
assert_config_equal(const struct config *a, const struct config *b)
{
	ck_assert_int_eq(a->mss_clamp, b->mss_clamp);
	ck_assert_int_eq(a->unauthorized, b->unauthorized);
	ck_assert_int_eq(a->log_level, b->log_level);
	ck_assert_int_eq(a->allow_empty, b->allow_empty);
	ck_assert_str_eq(a->control_socket, b->control_socket);
	assert_probe_equal(&a->probe, &b->probe);
	ck_assert_uint_eq(a->n_tunnels, b->n_tunnels);
	for (size_t i = 0; i < a->n_tunnels; i++) {
		const struct config_tunnel *x = &a->tunnels[i],
					   *y = &b->tunnels[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_int_eq(x->type, y->type);
		ck_assert_uint_eq(x->local.s_addr, y->local.s_addr);
		ck_assert_uint_eq(x->remote.s_addr, y->remote.s_addr);
		ck_assert(ts_prefix_equal(&x->address, &y->address));
		ck_assert_uint_eq(x->peer.s_addr, y->peer.s_addr);
		ck_assert_uint_eq(x->mtu, y->mtu);
		ck_assert_uint_eq(x->ttl, y->ttl);
		ck_assert_uint_eq(x->mss, y->mss);
		ck_assert_int_eq(x->has_address6, y->has_address6);
		ck_assert(ts_prefix_equal(&x->address6, &y->address6));
		ck_assert(memcmp(&x->peer6, &y->peer6, sizeof(x->peer6)) == 0);
		ck_assert_uint_eq(x->mss6, y->mss6);
		ck_assert_int_eq(x->underlay.set, y->underlay.set);
		ck_assert_str_eq(x->underlay.interface, y->underlay.interface);
		ck_assert_int_eq(x->underlay.has_gateway,
				 y->underlay.has_gateway);
		ck_assert_uint_eq(x->underlay.gateway.s_addr,
				  y->underlay.gateway.s_addr);
		ck_assert_int_eq(x->ike.set, y->ike.set);
		ck_assert(str_eq(x->ike.psk, y->ike.psk));
		ck_assert(str_eq(x->ike.psk_file, y->ike.psk_file));
		ck_assert(str_eq(x->ike.local_id, y->ike.local_id));
		ck_assert(str_eq(x->ike.remote_id, y->ike.remote_id));
		ck_assert(str_eq(x->ike.local_id_type, y->ike.local_id_type));
		ck_assert(str_eq(x->ike.remote_id_type, y->ike.remote_id_type));
		ck_assert(str_eq(x->ike.ike_proposals, y->ike.ike_proposals));
		ck_assert(str_eq(x->ike.esp_proposals, y->ike.esp_proposals));
		ck_assert_uint_eq(x->ike.ike_lifetime_s, y->ike.ike_lifetime_s);
		ck_assert_uint_eq(x->ike.child_lifetime_s,
				  y->ike.child_lifetime_s);
		ck_assert_uint_eq(x->ike.replay_window, y->ike.replay_window);
		ck_assert_uint_eq(x->ike.dpd_s, y->ike.dpd_s);
		assert_probe_equal(&x->probe, &y->probe);
	}
	ck_assert_uint_eq(a->n_policies, b->n_policies);
	for (size_t i = 0; i < a->n_policies; i++) {
		const struct config_policy *x = &a->policies[i],
					   *y = &b->policies[i];

		ck_assert_str_eq(x->name, y->name);
		ck_assert_uint_eq(x->n_prefixes, y->n_prefixes);
		for (size_t j = 0; j < x->n_prefixes; j++)
			ck_assert(ts_prefix_equal(&x->prefixes[j],
						  &y->prefixes[j]));
		ck_assert_uint_eq(x->n_tunnels, y->n_tunnels);
		for (size_t j = 0; j < x->n_tunnels; j++) {
			ck_assert_uint_eq(x->tunnels[j].tunnel,
					  y->tunnels[j].tunnel);
			ck_assert_uint_eq(x->tunnels[j].priority,
					  y->tunnels[j].priority);
			ck_assert_uint_eq(x->tunnels[j].weight,
					  y->tunnels[j].weight);
		}
		ck_assert_int_eq(x->nat.set, y->nat.set);
		ck_assert_uint_eq(x->nat.n_from, y->nat.n_from);
		for (size_t j = 0; j < x->nat.n_from; j++)
			ck_assert(ts_prefix_equal(&x->nat.from[j],
						  &y->nat.from[j]));
		if (x->nat.set)
			ck_assert(ts_prefix_equal(&x->nat.to, &y->nat.to));
	}
}

static void
assert_round_trip(const struct config *c)
{
	struct config_errors errs = { 0 };
	struct config *again;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	config_print(c, out, CONFIG_PRINT_SECRETS);
	ck_assert_int_eq(fclose(out), 0);
	again = config_load_string(text, "printed", &errs);
	ck_assert_msg(again != NULL, "printed config rejected:%s\n%s",
		      errors_text(&errs), text);
	assert_config_equal(c, again);
	config_free(again);
	free(text);
}

/* A temp file holding @text with mode @mode; returns its path. */
static char *
temp_conf(const char *text, size_t len, mode_t mode)
{
	char *path = strdup("/tmp/check_config.XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* --- good files ---------------------------------------------------------- */

START_TEST(test_tunnel_probe_inherits_global_defaults_and_overrides_keys)
{
	struct config *c = must_load("good_probe.conf");
	const struct config_probe *a = &c->tunnels[0].probe;
	const struct config_probe *b = &c->tunnels[1].probe;

	/* cf1: the global group over the built-in defaults. */
	ck_assert_uint_eq(a->interval_ms, 200);
	ck_assert_uint_eq(a->timeout_ms, 0);	/* = interval_ms */
	ck_assert_uint_eq(a->down_after, 4);
	ck_assert_uint_eq(a->up_after, 10);
	ck_assert_uint_eq(a->holddown_ms, 60000);
	ck_assert_uint_eq(a->degraded_loss_pct, 10);
	ck_assert(!a->has_target && !a->has_source);
	/* cf2: its own group over that. */
	ck_assert_uint_eq(b->interval_ms, 100);
	ck_assert_uint_eq(b->down_after, 4);
	ck_assert_uint_eq(b->degraded_rtt_ms, 150);
	ck_assert(b->has_target && b->has_source);
	ck_assert_uint_eq(ntohl(b->target.s_addr), 0xc612000a);	/* 198.18.0.10 */
	config_free(c);
}
END_TEST

/* probe.family: ipv4 unless said, inherited from the global group key by
 * key like the others, and printed wherever a re-parse would not get it
 * back without it (a tunnel's "ipv4" under a global "both"). */
START_TEST(test_probe_family_is_ipv4_by_default_inherited_and_overridden_per_tunnel)
{
	struct config *c = must_load("good_probe_family.conf");
	struct config *m = must_load("minimal.conf");
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	ck_assert_int_eq(m->probe.family, PROBE_FAMILY_IPV4);
	ck_assert_int_eq(m->tunnels[0].probe.family, PROBE_FAMILY_IPV4);
	ck_assert_int_eq(c->probe.family, PROBE_FAMILY_BOTH);
	ck_assert_int_eq(c->tunnels[0].probe.family, PROBE_FAMILY_BOTH);
	ck_assert_uint_eq(c->tunnels[0].probe.interval_ms, 200);
	ck_assert_int_eq(c->tunnels[1].probe.family, PROBE_FAMILY_IPV4);
	ck_assert(c->tunnels[1].probe.has_target);
	ck_assert_int_eq(c->tunnels[2].probe.family, PROBE_FAMILY_IPV6);
	ck_assert_uint_eq(c->tunnels[2].probe.interval_ms, 100);
	ck_assert(probe_family_v4(PROBE_FAMILY_BOTH) &&
		  probe_family_v6(PROBE_FAMILY_BOTH));
	ck_assert(probe_family_v4(PROBE_FAMILY_IPV4) &&
		  !probe_family_v6(PROBE_FAMILY_IPV4));
	ck_assert(!probe_family_v4(PROBE_FAMILY_IPV6) &&
		  probe_family_v6(PROBE_FAMILY_IPV6));
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	config_print(c, out, CONFIG_PRINT_REDACTED);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_nonnull(strstr(text, "\tfamily = \"both\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\tfamily = \"both\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\tfamily = \"ipv4\";\n"));
	ck_assert_ptr_nonnull(strstr(text, "\t\t\tfamily = \"ipv6\";\n"));
	assert_round_trip(c);
	free(text);
	config_free(c);
	config_free(m);
}
END_TEST

/*
 * tunsteerd -nv of the fixtures that existed before probe.family, byte
 * for byte as the build before it printed them (tests/unit/fixtures/nv,
 * @RUNDIR@ standing for the build's run directory): a config that does
 * not say family prints as it always did.
 */
START_TEST(test_fixtures_print_byte_for_byte_as_their_nv_files)
{
	const char *const names[] = {
		"minimal.conf", "everything.conf", "ipsec.conf",
		"good_probe.conf", "good_passive.conf", "dual_stack.conf"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct config *c = must_load(names[i]);
		char path[512], *want, *got = NULL, *at;
		size_t len = 0;
		FILE *out = open_memstream(&got, &len);

		ck_assert_ptr_nonnull(out);
		config_print(c, out, CONFIG_PRINT_REDACTED);
		ck_assert_int_eq(fclose(out), 0);
		snprintf(path, sizeof(path), TOP_SRCDIR
			 "/tests/unit/fixtures/nv/%s.nv", names[i]);
		want = slurp(path);
		while ((at = strstr(want, "@RUNDIR@")) != NULL) {
			char *w = NULL;

			ck_assert_int_ge(asprintf(&w, "%.*s%s%s", (int)(at - want),
						  want, TS_RUNDIR, at + 8), 0);
			free(want);
			want = w;
		}
		ck_assert_msg(strcmp(got, want) == 0, "%s prints:\n%s\nnot:\n%s",
			      names[i], got, want);
		free(want);
		free(got);
		config_free(c);
	}
}
END_TEST

START_TEST(test_passive_timeout_is_off_by_default_global_and_per_tunnel)
{
	struct config *c = must_load("good_passive.conf");
	struct config *m = must_load("minimal.conf");
	const struct config_probe *a = &c->tunnels[0].probe;
	const struct config_probe *b = &c->tunnels[1].probe;
	const struct config_probe *d = &c->tunnels[2].probe;

	ck_assert_uint_eq(m->probe.passive_timeout_ms, 0);
	ck_assert_uint_eq(m->tunnels[0].probe.passive_timeout_ms, 0);
	ck_assert(!m->tunnels[0].probe.has_passive_target);
	ck_assert_uint_eq(c->probe.passive_timeout_ms, 30000);
	ck_assert_uint_eq(a->passive_timeout_ms, 30000);	/* inherited */
	ck_assert(!a->has_passive_target);
	ck_assert_uint_eq(b->passive_timeout_ms, 5000);
	ck_assert(b->has_passive_target);
	ck_assert_uint_eq(ntohl(b->passive_target.s_addr), 0xcb007101);	/* 203.0.113.1 */
	ck_assert_uint_eq(d->passive_timeout_ms, 0);		/* turned off */
	config_free(c);
	config_free(m);
}
END_TEST

START_TEST(test_minimal_file_gets_every_default)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load(FIXTURES "minimal.conf", &errs);
	const struct config_tunnel *t;

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_str_eq(c->path, FIXTURES "minimal.conf");
	ck_assert_int_eq(c->log_level, LOG_LVL_INFO);
	ck_assert(c->mss_clamp);
	ck_assert_int_eq(c->unauthorized, UNAUTH_ISP);
	ck_assert_str_eq(c->control_socket, TS_RUNDIR "/tunsteerd.sock");
	ck_assert_uint_eq(c->n_tunnels, 1);
	t = &c->tunnels[0];
	ck_assert_str_eq(t->name, "cf1");
	ck_assert_int_eq(t->type, TUNNEL_GRE);
	ck_assert_str_eq(ip_text(t->local), "198.51.100.2");
	ck_assert_str_eq(ip_text(t->remote), "192.0.2.1");
	ck_assert_str_eq(pfx(&t->address), "198.19.0.1/31");
	ck_assert_str_eq(ip_text(t->peer), "198.19.0.0");
	ck_assert_uint_eq(t->mtu, CONFIG_GRE_MTU);
	ck_assert_uint_eq(t->ttl, CONFIG_TTL);
	ck_assert_uint_eq(t->mss, 1436);
	ck_assert(!t->underlay.set);
	ck_assert(!t->ike.set);
	ck_assert_int_eq(t->line, 3);
	ck_assert_uint_eq(c->n_policies, 1);
	ck_assert_str_eq(c->policies[0].name, "office");
	ck_assert_uint_eq(c->policies[0].n_prefixes, 1);
	ck_assert_str_eq(pfx(&c->policies[0].prefixes[0]), "203.0.113.0/25");
	ck_assert_uint_eq(c->policies[0].n_tunnels, 1);
	ck_assert_uint_eq(c->policies[0].tunnels[0].tunnel, 0);
	ck_assert_uint_eq(c->policies[0].tunnels[0].priority, 100);
	ck_assert_uint_eq(c->policies[0].tunnels[0].weight, 1);
	ck_assert_int_eq(config_tunnel_index(c, "cf1"), 0);
	ck_assert_int_eq(config_tunnel_index(c, "cf2"), -1);
	config_free(c);
}
END_TEST

START_TEST(test_example_in_etc_is_valid_and_prefers_isp1)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load(TOP_SRCDIR "/etc/tunsteerd.conf",
				       &errs);
	const struct config_policy *pol;

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_uint_eq(c->n_tunnels, 4);
	ck_assert_str_eq(ip_text(c->tunnels[3].local), "198.51.100.6");
	ck_assert_str_eq(ip_text(c->tunnels[3].remote), "192.0.2.2");
	ck_assert_str_eq(ip_text(c->tunnels[3].peer), "198.19.0.6");
	ck_assert_str_eq(c->tunnels[3].underlay.interface, "wan2");
	ck_assert_uint_eq(c->n_policies, 1);
	pol = &c->policies[0];
	ck_assert_uint_eq(pol->n_tunnels, 4);
	ck_assert_uint_eq(pol->tunnels[0].priority, 100);
	ck_assert_uint_eq(pol->tunnels[1].priority, 100);
	ck_assert_uint_eq(pol->tunnels[2].priority, 200);
	ck_assert_uint_eq(pol->tunnels[3].priority, 200);
	assert_round_trip(c);
	config_free(c);
}
END_TEST

START_TEST(test_everything_fixture_keeps_every_explicit_value)
{
	struct config *c = must_load("everything.conf");
	const struct config_tunnel *g, *s;

	ck_assert_int_eq(c->log_level, LOG_LVL_DEBUG);
	ck_assert(!c->mss_clamp);
	ck_assert_int_eq(c->unauthorized, UNAUTH_DROP);
	ck_assert_str_eq(c->control_socket, "/tmp/tunsteer test/ctl.sock");
	g = &c->tunnels[0];
	ck_assert_str_eq(g->name, "gre_1.a-b");
	ck_assert_str_eq(pfx(&g->address), "198.19.0.2/30");
	ck_assert_str_eq(ip_text(g->peer), "198.19.0.1");
	ck_assert_uint_eq(g->mtu, 1400);
	ck_assert_uint_eq(g->ttl, 255);
	ck_assert_uint_eq(g->mss, 0);	/* mss_clamp = false */
	ck_assert_str_eq(g->underlay.interface, "wan1");
	ck_assert(g->underlay.has_gateway);
	ck_assert_str_eq(ip_text(g->underlay.gateway), "198.51.100.1");
	s = &c->tunnels[1];
	ck_assert_int_eq(s->type, TUNNEL_IPSEC);
	ck_assert(s->underlay.set && !s->underlay.has_gateway);
	ck_assert_str_eq(s->ike.psk, "p\"s\\k\twith \x01 odd bytes");
	ck_assert_ptr_null(s->ike.psk_file);
	ck_assert_str_eq(s->ike.local_id, "office@example.com");
	ck_assert_str_eq(s->ike.local_id_type, "ID_RFC822_ADDR");
	ck_assert_str_eq(s->ike.remote_id, "192.0.2.2");
	ck_assert_str_eq(s->ike.remote_id_type, "ID_IPV4_ADDR");
	/* Adjacent literals, one string; kept as written. */
	ck_assert_str_eq(s->ike.ike_proposals,
			 "aes256gcm16-prfsha384-ecp384-ke1_mlkem1024, "
			 "aes256-sha256-prfsha256-modp2048");
	ck_assert_str_eq(s->ike.esp_proposals,
			 "aes128gcm16-ecp384,aes256-sha1-modp2048-noesn");
	ck_assert_uint_eq(s->ike.ike_lifetime_s, 43200);
	ck_assert_uint_eq(s->ike.child_lifetime_s, 3600);
	ck_assert_uint_eq(s->ike.replay_window, 1024);
	ck_assert_uint_eq(s->ike.dpd_s, 30);
	ck_assert_uint_eq(c->n_warnings, 0);
	ck_assert_uint_eq(c->policies[0].n_prefixes, 2);
	ck_assert_uint_eq(c->policies[0].tunnels[0].weight, 256);
	ck_assert_uint_eq(c->policies[0].tunnels[1].priority, UINT32_MAX);
	ck_assert_str_eq(c->policies[1].name, "lab");
	ck_assert_uint_eq(c->policies[1].tunnels[0].tunnel, 1);
	config_free(c);
}
END_TEST

/* ike.psk is decoded by cfgparse, never by libconfig: escapes and adjacent
 * literals over several lines read as libconfig would read them, a psk in
 * a comment or in another string is left alone, and a later error keeps
 * its line. */
START_TEST(test_psk_is_decoded_by_cfgparse_and_later_lines_stay)
{
	static const char head[] =
		"# psk = \"not this\";\n"			/* 1 */
		"tunnels = (\n"				/* 2 */
		"\t{\n"					/* 3 */
		"\t\tname = \"ipsec1\";\n"			/* 4 */
		"\t\ttype = \"ipsec\";\n"			/* 5 */
		"\t\tlocal = \"198.51.100.2\";\n"		/* 6 */
		"\t\tremote = \"192.0.2.1\";\n"		/* 7 */
		"\t\taddress = \"198.19.0.1/31\";\n"	/* 8 */
		"\t\tike = {\n"				/* 9 */
		"\t\t\tpsk = \"s3\\\"cr\\x33t\" /* cont. */\n"	/* 10 */
		"\t\t\t      \"-two\\n\"\n"		/* 11 */
		"\t\t\t      \"-three\";\n"		/* 12 */
		"\t\t\tlocal_id = \"psk = \\\"x\\\"\";\n"	/* 13 */
		"\t\t};\n";					/* 14 */
	char text[1024];
	struct config_errors errs = { 0 };
	struct config *c;

	snprintf(text, sizeof(text), "%s\t}\n);\n", head);
	c = config_load_string(text, "t.conf", &errs);
	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_str_eq(c->tunnels[0].ike.psk, "s3\"cr3t-two\n-three");
	ck_assert_str_eq(c->tunnels[0].ike.local_id, "psk = \"x\"");
	config_free(c);

	snprintf(text, sizeof(text), "%s\t\tmtu = 1;\n\t}\n);\n", head);
	ck_assert_ptr_null(config_load_string(text, "t.conf", &errs));
	ck_assert_msg(has_msg(&errs, "t.conf:15: tunnels[0].mtu: "), "%s",
		      errors_text(&errs));
	config_errors_free(&errs);

	/* A refused psk is named, never echoed. */
	snprintf(text, sizeof(text), "tunnels = ({ name = \"i\"; type = "
		 "\"ipsec\";\nike = { psk = \"s3cr3t\\x00\"; }; });\n");
	ck_assert_ptr_null(config_load_string(text, "t.conf", &errs));
	ck_assert_msg(has_msg(&errs, "t.conf:2: tunnels[0].ike.psk: must not "
			      "contain a NUL byte"), "%s", errors_text(&errs));
	for (size_t i = 0; i < errs.n; i++)
		ck_assert_ptr_null(strstr(errs.msgs[i], "s3cr3t"));
	config_errors_free(&errs);
}
END_TEST

START_TEST(test_ipsec_mtu_is_esp_arithmetic_and_mss_capped_at_1360)
{
	struct config *c = must_load("ipsec.conf");

	/* 1500 - 20 IPv4 - 8 UDP (NAT-T) - 8 ESP - 8 IV - 16 ICV = 1440,
	 * - 2 trailer. */
	ck_assert_uint_eq(c->tunnels[0].mtu, 1438);
	ck_assert_uint_eq(c->tunnels[0].mss, 1360);
	ck_assert_str_eq(c->tunnels[0].ike.psk, "secret");
	ck_assert_uint_eq(c->n_policies, 0);
	config_free(c);
}
END_TEST

START_TEST(test_peer_defaults_to_the_other_host_of_a_30)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load_string(
		"tunnels = ( { name = \"a\"; type = \"gre\"; "
		"local = \"198.51.100.2\"; remote = \"192.0.2.1\"; "
		"address = \"198.19.0.2/30\"; mtu = 1300; } );\n",
		"t", &errs);

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_str_eq(ip_text(c->tunnels[0].peer), "198.19.0.1");
	ck_assert_uint_eq(c->tunnels[0].mss, 1260);
	config_free(c);
}
END_TEST

START_TEST(test_log_level_accepts_warning_and_warn)
{
	const char *const names[] = { "warning", "warn" };

	for (size_t i = 0; i < 2; i++) {
		struct config_errors errs = { 0 };
		char text[64];
		struct config *c;

		snprintf(text, sizeof(text), "log_level = \"%s\"; "
			 "allow_empty = true;", names[i]);
		c = config_load_string(text, "t", &errs);
		ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
		ck_assert_int_eq(c->log_level, LOG_LVL_WARN);
		assert_round_trip(c);
		config_free(c);
	}
}
END_TEST

/* A config without tunnels is a valid config of defaults only when it
 * says so: a reload of it would take every tunnel down. */
START_TEST(test_config_without_tunnels_needs_allow_empty)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load_string("allow_empty = true;\n", "none",
					      &errs);

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_uint_eq(c->n_tunnels, 0);
	ck_assert_uint_eq(c->n_policies, 0);
	ck_assert(c->allow_empty);
	assert_round_trip(c);
	config_free(c);

	ck_assert_ptr_null(config_load_string("log_level = \"info\";\n",
					      "none", &errs));
	ck_assert_ptr_null(config_load_string("allow_empty = false;\n"
					      "tunnels = ( );\n", "none2",
					      &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0], "none: tunnels: no tunnel; a config "
			 "without tunnels is refused unless it says "
			 "allow_empty = true;");
	ck_assert_str_eq(errs.msgs[1], "none2:2: tunnels: no tunnel; a config "
			 "without tunnels is refused unless it says "
			 "allow_empty = true;");
	config_errors_free(&errs);
}
END_TEST

/* Fail closed, issue 10: the file cut short between its top-level
 * "tunnels" and "egress" still parses, and a reload of it would delete
 * every policy.  Refused against a running config with policies unless
 * the file says allow_empty; the first load has nothing to compare. */
START_TEST(test_reload_that_removes_every_policy_needs_allow_empty)
{
	struct config_errors errs = { 0 };
	char *text = slurp(FIXTURES "minimal.conf");
	char *cut = strstr(text, "egress = (");
	struct config *running, *next, *meant;
	char *meant_text;

	ck_assert_ptr_nonnull(cut);
	running = config_load_string(text, "t", &errs);
	ck_assert_ptr_nonnull(running);
	*cut = '\0';
	next = config_load_string(text, "t", &errs);
	ck_assert_msg(next != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_uint_eq(next->n_policies, 0);

	ck_assert_int_eq(config_check_replace(NULL, next, &errs), 0);
	ck_assert_int_eq(config_check_replace(running, running, &errs), 0);
	ck_assert_int_eq(config_check_replace(next, running, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_int_eq(config_check_replace(running, next, &errs), -ECANCELED);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "t: egress: no egress policy, and the "
			 "running config has 1; a reload that removes every "
			 "policy is refused unless the file says allow_empty = "
			 "true; (is the file cut short?)");
	config_errors_free(&errs);

	/* Said explicitly: allowed. */
	ck_assert_int_ge(asprintf(&meant_text, "%sallow_empty = true;\n", text), 0);
	meant = config_load_string(meant_text, "t", &errs);
	ck_assert_ptr_nonnull(meant);
	ck_assert_int_eq(config_check_replace(running, meant, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	config_free(meant);
	free(meant_text);

	/* Every tunnel gone (validation already refuses that without
	 * allow_empty; the guard says the same of what it is given). */
	meant = config_load_string("allow_empty = true;", "e", &errs);
	ck_assert_ptr_nonnull(meant);
	meant->allow_empty = false;
	ck_assert_int_eq(config_check_replace(running, meant, &errs), -ECANCELED);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0], "e: tunnels: no tunnel, and the running "
			 "config has 1; a reload that removes every tunnel is "
			 "refused unless the file says allow_empty = true;");
	config_errors_free(&errs);
	config_free(meant);
	config_free(next);
	config_free(running);
	free(text);
}
END_TEST

/* Fail closed: what an emptied, commented-out or truncated file looks
 * like is refused, not read as "no tunnels". */
START_TEST(test_empty_and_comment_only_files_are_refused)
{
	static const char *const texts[] = {
		"", "\n\n", "# nothing\n// else\n", "/* all\n gone */\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct config_errors errs = { 0 };

		ck_assert_ptr_null(config_load_string(texts[i], "e", &errs));
		ck_assert_uint_eq(errs.n, 1);
		ck_assert_str_eq(errs.msgs[0], "e: no settings (the file is "
				 "empty or holds only comments)");
		config_errors_free(&errs);
	}
}
END_TEST

/* libconfig reads the rest of a file after an unclosed block comment
 * as comment: a file cut inside one would load what came before. */
START_TEST(test_unterminated_block_comment_is_refused_at_its_line)
{
	struct config_errors errs = { 0 };
	char *text = slurp(FIXTURES "minimal.conf");
	char *cut;
	int line = 1;

	/* The minimal config, then a comment the file was cut in. */
	cut = malloc(strlen(text) + 64);
	ck_assert_ptr_nonnull(cut);
	for (const char *q = text; *q; q++)
		line += *q == '\n';
	sprintf(cut, "%s/* the rest\n of this was lost", text);
	ck_assert_ptr_null(config_load_string(cut, "cut", &errs));
	ck_assert_uint_eq(errs.n, 1);
	{
		char want[128];

		snprintf(want, sizeof(want), "cut:%d: syntax error: comment "
			 "\"/*\" opened here is never closed", line);
		ck_assert_str_eq(errs.msgs[0], want);
	}
	config_errors_free(&errs);
	free(cut);
	free(text);
}
END_TEST

START_TEST(test_print_round_trips_to_an_equal_config)
{
	const char *const names[] = {
		"minimal.conf", "everything.conf", "ipsec.conf",
		"good_probe.conf", "good_passive.conf", "dual_stack.conf",
		"good_probe_family.conf"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct config *c = must_load(names[i]);

		assert_round_trip(c);
		config_free(c);
	}
}
END_TEST

/* --- dual stack (issue 14) --------------------------------------------- */

START_TEST(test_dual_stack_tunnels_and_policies_parse_with_their_ipv6_parts)
{
	struct config *c = must_load("dual_stack.conf");
	char b[INET6_ADDRSTRLEN];

	ck_assert(c->tunnels[0].has_address6);
	ck_assert_str_eq(pfx(&c->tunnels[0].address6), "2001:db8:ffff::1/127");
	/* The other host of the /127 is the provider's, either way round. */
	ck_assert_str_eq(inet_ntop(AF_INET6, &c->tunnels[0].peer6, b, sizeof(b)),
			 "2001:db8:ffff::");
	ck_assert_str_eq(pfx(&c->tunnels[1].address6), "2001:db8:ffff::2/127");
	ck_assert_str_eq(inet_ntop(AF_INET6, &c->tunnels[1].peer6, b, sizeof(b)),
			 "2001:db8:ffff::3");
	/* GRE: 1476 - 40 for IPv4, 20 less for IPv6's larger header. */
	ck_assert_uint_eq(c->tunnels[0].mss, 1436);
	ck_assert_uint_eq(c->tunnels[0].mss6, 1416);
	ck_assert_uint_eq(c->policies[0].n_prefixes, 2);
	ck_assert_int_eq(c->policies[0].prefixes[0].family, AF_INET);
	ck_assert_int_eq(c->policies[0].prefixes[1].family, AF_INET6);
	ck_assert(config_policy_has_ipv6(&c->policies[0]));
	ck_assert(config_policy_has_ipv6(&c->policies[1]));
	ck_assert(config_has_ipv6(c));
	ck_assert_int_eq(c->unauthorized, UNAUTH_ISP);
	ck_assert_int_eq(c->unauthorized6, UNAUTH_DROP);
	config_free(c);
}
END_TEST

/* unauthorized6 follows unauthorized unless given (so a site that drops
 * unauthorized IPv4 drops unsteered IPv6 too, the only IPv6 object it
 * gets), and an IPv4-only config prints neither unauthorized6 nor
 * address6 (its -nv is as it always was). */
START_TEST(test_unauthorized6_defaults_to_unauthorized_and_ipv4_configs_print_as_before)
{
	struct config *c = must_load("everything.conf");
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	ck_assert_int_eq(c->unauthorized, UNAUTH_DROP);
	ck_assert_int_eq(c->unauthorized6, UNAUTH_DROP);
	ck_assert(config_has_ipv6(c));
	for (size_t i = 0; i < c->n_policies; i++)
		ck_assert(!config_policy_has_ipv6(&c->policies[i]));
	for (size_t i = 0; i < c->n_tunnels; i++) {
		ck_assert(!c->tunnels[i].has_address6);
		ck_assert_uint_eq(c->tunnels[i].mss6,
				  c->tunnels[i].mss ? c->tunnels[i].mss - 20 : 0);
	}
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	config_print(c, out, CONFIG_PRINT_REDACTED);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_ptr_null(strstr(text, "unauthorized6"));
	ck_assert_ptr_null(strstr(text, "address6"));
	free(text);
	config_free(c);
}
END_TEST

/* --- the ike group of an ipsec tunnel ---------------------------------- */

/* One ipsec tunnel whose ike group holds @body; the body's first line is
 * line 9 of the text.  The caller frees it. */
static char *
ipsec_with_ike(const char *body)
{
	char *text = NULL;

	ck_assert_int_ge(asprintf(&text,
		"tunnels = (\n"				/* 1 */
		"\t{\n"					/* 2 */
		"\t\tname = \"ipsec1\";\n"			/* 3 */
		"\t\ttype = \"ipsec\";\n"			/* 4 */
		"\t\tlocal = \"198.51.100.2\";\n"		/* 5 */
		"\t\tremote = \"192.0.2.1\";\n"		/* 6 */
		"\t\taddress = \"198.19.0.1/31\";\n"	/* 7 */
		"\t\tike = {\n"				/* 8 */
		"%s"					/* 9.. */
		"\t\t};\n"
		"\t}\n"
		");\n", body), 0);
	return text;
}

/* An ike @body that must load; its config (the caller frees it). */
static struct config *
ike_ok(const char *body)
{
	struct config_errors errs = { 0 };
	char *text = ipsec_with_ike(body);
	struct config *c = config_load_string(text, "t.conf", &errs);

	ck_assert_msg(c != NULL, "refused:%s\n%s", errors_text(&errs), text);
	free(text);
	return c;
}

/* An ike @body refused with exactly one message, @want. */
static void
ike_refused(const char *body, const char *want)
{
	struct config_errors errs = { 0 };
	char *text = ipsec_with_ike(body);

	ck_assert_msg(config_load_string(text, "t.conf", &errs) == NULL,
		      "accepted:\n%s", text);
	ck_assert_msg(errs.n == 1 && strcmp(errs.msgs[0], want) == 0,
		      "want \"%s\", got:%s", want, errors_text(&errs));
	config_errors_free(&errs);
	free(text);
}

START_TEST(test_ipsec_tunnel_gets_every_ike_default_explicitly)
{
	struct config *c = must_load("ipsec.conf");
	const struct config_ike *ike = &c->tunnels[0].ike;

	ck_assert(ike->set);
	ck_assert_ptr_null(ike->psk_file);
	/* What charon would use, made explicit: the tunnel's addresses. */
	ck_assert_str_eq(ike->local_id, "198.51.100.2");
	ck_assert_str_eq(ike->local_id_type, "ID_IPV4_ADDR");
	ck_assert_str_eq(ike->remote_id, "192.0.2.1");
	ck_assert_str_eq(ike->remote_id_type, "ID_IPV4_ADDR");
	ck_assert_str_eq(ike->ike_proposals,
			 "aes256gcm16-prfsha256-ecp384-ke1_mlkem768");
	ck_assert_str_eq(ike->esp_proposals, "aes256gcm16-ecp384");
	ck_assert_uint_eq(ike->ike_lifetime_s, 24 * 3600);
	ck_assert_uint_eq(ike->child_lifetime_s, 8 * 3600);
	ck_assert_uint_eq(ike->replay_window, 0);
	ck_assert_uint_eq(ike->dpd_s, 10);
	ck_assert_uint_eq(c->n_warnings, 0);
	config_free(c);
}
END_TEST

/* The provider's four local ID formats (PROVIDER.md section 3), each read
 * by libstrongswan as the type the provider names. */
START_TEST(test_provider_local_id_formats_are_rfc822_fqdn_keyid_and_ipv4)
{
	static const struct {
		const char *id, *type;
	} ids[] = {
		{ "ipsec@0123abcd.4567ef.ipsec.example.net", "ID_RFC822_ADDR" },
		{ "0123abcd.4567ef.ipsec.example.net", "ID_FQDN" },
		{ "keyid:4567ef_0123abcd", "ID_KEY_ID" },
		{ "198.51.100.2", "ID_IPV4_ADDR" },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char body[256];
		struct config *c;

		snprintf(body, sizeof(body), "psk = \"s\";\nlocal_id = \"%s\";\n",
			 ids[i].id);
		c = ike_ok(body);
		ck_assert_str_eq(c->tunnels[0].ike.local_id, ids[i].id);
		ck_assert_str_eq(c->tunnels[0].ike.local_id_type, ids[i].type);
		ck_assert_uint_eq(c->n_warnings, 0);
		config_free(c);
	}
}
END_TEST

/* The key ID form written without "keyid:" is an FQDN to strongSwan,
 * which the provider would refuse: accepted, with a warning that says
 * how to write it. */
START_TEST(test_fqdn_id_without_a_dot_is_accepted_with_a_keyid_warning)
{
	struct config *c = ike_ok("psk = \"s\";\nlocal_id = \"4567ef_0123abcd\";\n");

	ck_assert_str_eq(c->tunnels[0].ike.local_id_type, "ID_FQDN");
	ck_assert_uint_eq(c->n_warnings, 1);
	ck_assert_str_eq(c->warnings[0], "t.conf:10: tunnels[0].ike.local_id: "
			 "\"4567ef_0123abcd\" reads as an FQDN (ID_FQDN) without a "
			 "dot; if it is a key ID (the provider's ACCOUNT_TUNNEL "
			 "form) write \"keyid:4567ef_0123abcd\"");
	config_free(c);
	c = ike_ok("psk = \"s\";\nlocal_id = \"fqdn:gateway\";\n");
	ck_assert_uint_eq(c->n_warnings, 0);
	config_free(c);
}
END_TEST

START_TEST(test_ike_ids_that_match_anything_or_are_not_ikev2_ids_are_refused)
{
	ike_refused("psk = \"s\";\nlocal_id = \"%any\";\n",
		    "t.conf:10: tunnels[0].ike.local_id: \"%any\" stands for any "
		    "identity (ID_ANY); name one");
	ike_refused("psk = \"s\";\nremote_id = \"%any\";\n",
		    "t.conf:10: tunnels[0].ike.remote_id: \"%any\" stands for any "
		    "identity (ID_ANY); name one");
	ike_refused("psk = \"s\";\nlocal_id = \"*@example.net\";\n",
		    "t.conf:10: tunnels[0].ike.local_id: \"*@example.net\" has "
		    "wildcards (ID_RFC822_ADDR); this side's identity is sent as "
		    "it is written");
	ike_refused("psk = \"s\";\nremote_id = \"192.0.2.0/24\";\n",
		    "t.conf:10: tunnels[0].ike.remote_id: \"192.0.2.0/24\" reads "
		    "as ID_IPV4_ADDR_SUBNET, which is not an IKEv2 identity");
	ike_refused("psk = \"s\";\nremote_id = \"\";\n",
		    "t.conf:10: tunnels[0].ike.remote_id: must not be empty");
}
END_TEST

/* The provider's recommendation: ML-KEM-768 after DH20 (RFC 9370), as
 * libstrongswan parses it, with every algorithm in the build. */
START_TEST(test_ml_kem_proposals_and_lists_of_proposals_are_accepted)
{
	static const char *const ike[] = {
		"aes256gcm16-prfsha256-ecp384-ke1_mlkem768",
		"aes128gcm16-prfsha512-ecp384-ke1_mlkem1024",
		"aes256gcm16-prfsha256-ecp384-ke1_mlkem768, aes256-sha256-ecp384",
		"aes256-sha256-modp2048",	/* PRF from the integrity alg */
	};
	static const char *const esp[] = {
		"aes256gcm16-ecp384", "aes256-sha256-ecp384-noesn",
		"aes128gcm16,aes256gcm16-ecp384-ke1_mlkem768",
		"aes256gcm16-none",		/* no PFS */
	};

	for (size_t i = 0; i < sizeof(ike) / sizeof(ike[0]); i++) {
		char body[256];
		struct config *c;

		snprintf(body, sizeof(body), "psk = \"s\";\nike_proposals = \"%s\";"
			 "\nesp_proposals = \"%s\";\n", ike[i], esp[i]);
		c = ike_ok(body);
		ck_assert_str_eq(c->tunnels[0].ike.ike_proposals, ike[i]);
		ck_assert_str_eq(c->tunnels[0].ike.esp_proposals, esp[i]);
		assert_round_trip(c);
		config_free(c);
	}
}
END_TEST

START_TEST(test_each_bad_proposal_is_refused_with_what_is_wrong)
{
	static const struct {
		const char *key, *value, *why;
	} bad[] = {
		{ "ike_proposals", "aes256gcm16-prfsha256-ecp384-foo",
		  "\"foo\" is not an algorithm strongSwan knows" },
		{ "ike_proposals", "aes256gcm16-ecp384",
		  "no PRF; IKE needs one (e.g. prfsha256)" },
		{ "ike_proposals", "aes256-prfsha256-ecp384",
		  "a classic cipher needs an integrity algorithm (e.g. sha256)" },
		{ "ike_proposals", "aes256gcm16-prfsha256",
		  "no key exchange method; IKE needs one (e.g. ecp384)" },
		{ "ike_proposals", "prfsha256-ecp384",
		  "no encryption algorithm" },
		{ "ike_proposals", "aes256gcm16-aes256-sha256-prfsha256-ecp384",
		  "AEAD and classic ciphers cannot share a proposal; write two, "
		  "separated by a comma" },
		{ "ike_proposals", "serpent256-sha256-prfsha256-ecp384",
		  "\"serpent256\" (SERPENT_CBC) is not provided by any plugin of "
		  "this strongSwan build" },
		{ "ike_proposals", "aes256gcm16-prfsha256-ecp384-noesn",
		  "\"noesn\" is for ESP proposals only" },
		{ "esp_proposals", "aes256gcm16-ecp384-esn",
		  "\"esn\": the provider requires extended sequence numbers off "
		  "(leave it out, or write noesn)" },
		{ "esp_proposals", "sha256-ecp384", "no encryption algorithm" },
		{ "esp_proposals", "aes256-aesxcbc",
		  "\"aesxcbc\" (AES_XCBC_96) is not provided by any plugin of "
		  "this strongSwan build" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[256], want[512];

		snprintf(body, sizeof(body), "psk = \"s\";\n%s = \"%s\";\n",
			 bad[i].key, bad[i].value);
		snprintf(want, sizeof(want), "t.conf:10: tunnels[0].ike.%s: "
			 "\"%s\": %s", bad[i].key, bad[i].value, bad[i].why);
		ike_refused(body, want);
	}
	/* The message quotes the whole list where it is the list's fault. */
	ike_refused("psk = \"s\";\nike_proposals = \"aes256gcm16-prfsha256-"
		    "ecp384,,aes256-sha256-ecp384\";\n",
		    "t.conf:10: tunnels[0].ike.ike_proposals: \"aes256gcm16-"
		    "prfsha256-ecp384,,aes256-sha256-ecp384\": an empty proposal "
		    "(a comma too many?)");
	/* ... and the one proposal at fault in a list. */
	ike_refused("psk = \"s\";\nike_proposals = \"aes256gcm16-prfsha256-"
		    "ecp384, aes256-ecp384\";\n",
		    "t.conf:10: tunnels[0].ike.ike_proposals: \"aes256-ecp384\": "
		    "a classic cipher needs an integrity algorithm (e.g. sha256)");
	ike_refused("psk = \"s\";\nesp_proposals = \"\";\n",
		    "t.conf:10: tunnels[0].ike.esp_proposals: must not be empty");
}
END_TEST

/* Shorter than the provider's ranges: accepted, said once per value with
 * its line; at the bounds: silent. */
START_TEST(test_lifetimes_below_the_provider_ranges_are_accepted_with_warnings)
{
	struct config *c = ike_ok("psk = \"s\";\nike_lifetime_s = 14400;\n"
				  "child_lifetime_s = 1800;\n");

	ck_assert_uint_eq(c->tunnels[0].ike.ike_lifetime_s, 14400);
	ck_assert_uint_eq(c->tunnels[0].ike.child_lifetime_s, 1800);
	ck_assert_uint_eq(c->n_warnings, 2);
	ck_assert_str_eq(c->warnings[0], "t.conf:10: tunnels[0].ike."
			 "ike_lifetime_s: 14400 s is shorter than the provider's "
			 "range for an IKE SA (8-24 h); accepted, but each rekey "
			 "takes the provider 90-150 s to propagate");
	ck_assert_str_eq(c->warnings[1], "t.conf:11: tunnels[0].ike."
			 "child_lifetime_s: 1800 s is shorter than the provider's "
			 "range for an IPsec SA (1-8 h); accepted, but each rekey "
			 "takes the provider 90-150 s to propagate");
	config_free(c);

	c = ike_ok("psk = \"s\";\nike_lifetime_s = 28800;\n"
		   "child_lifetime_s = 3600;\n");
	ck_assert_uint_eq(c->n_warnings, 0);
	config_free(c);
	c = ike_ok("psk = \"s\";\nike_lifetime_s = 86400;\n"
		   "child_lifetime_s = 28799;\n");
	ck_assert_uint_eq(c->n_warnings, 0);
	config_free(c);
}
END_TEST

START_TEST(test_lifetimes_too_long_too_short_or_child_not_shorter_are_refused)
{
	ike_refused("psk = \"s\";\nike_lifetime_s = 86401;\n",
		    "t.conf:10: tunnels[0].ike.ike_lifetime_s: 86401 s is longer "
		    "than the provider allows for an IKE SA (8-24 h)");
	ike_refused("psk = \"s\";\nchild_lifetime_s = 28801;\n",
		    "t.conf:10: tunnels[0].ike.child_lifetime_s: 28801 s is longer "
		    "than the provider allows for an IPsec SA (1-8 h)");
	ike_refused("psk = \"s\";\nike_lifetime_s = 599;\n",
		    "t.conf:10: tunnels[0].ike.ike_lifetime_s: 599 s is too short: "
		    "at least 600 s (the provider's range for an IKE SA is 8-24 h)");
	ike_refused("psk = \"s\";\nchild_lifetime_s = -1;\n",
		    "t.conf:10: tunnels[0].ike.child_lifetime_s: -1 s is too "
		    "short: at least 300 s (the provider's range for an IPsec SA "
		    "is 1-8 h)");
	/* Against the other's default, at the one written. */
	ike_refused("psk = \"s\";\nike_lifetime_s = 28800;\n",
		    "t.conf:10: tunnels[0].ike.ike_lifetime_s: 28800 s is not "
		    "longer than child_lifetime_s (28800 s, the default)");
	/* Both written: at the later. */
	ike_refused("psk = \"s\";\nchild_lifetime_s = 7200;\n"
		    "ike_lifetime_s = 7200;\n",
		    "t.conf:11: tunnels[0].ike.ike_lifetime_s: 7200 s is not "
		    "longer than child_lifetime_s (7200 s)");
}
END_TEST

START_TEST(test_replay_window_is_0_by_default_and_0_to_4096)
{
	struct config *c = ike_ok("psk = \"s\";\nreplay_window = 4096;\n");

	ck_assert_uint_eq(c->tunnels[0].ike.replay_window, 4096);
	config_free(c);
	c = ike_ok("psk = \"s\";\nreplay_window = 0;\n");
	ck_assert_uint_eq(c->tunnels[0].ike.replay_window, 0);
	config_free(c);
	ike_refused("psk = \"s\";\nreplay_window = 4097;\n",
		    "t.conf:10: tunnels[0].ike.replay_window: 4097 is out of "
		    "range (0..4096)");
	ike_refused("psk = \"s\";\nreplay_window = -1;\n",
		    "t.conf:10: tunnels[0].ike.replay_window: -1 is out of range "
		    "(0..4096)");
}
END_TEST

START_TEST(test_dpd_cannot_be_turned_off_and_is_1_to_300_s)
{
	struct config *c = ike_ok("psk = \"s\";\ndpd_s = 300;\n");

	ck_assert_uint_eq(c->tunnels[0].ike.dpd_s, 300);
	config_free(c);
	ike_refused("psk = \"s\";\ndpd_s = 0;\n",
		    "t.conf:10: tunnels[0].ike.dpd_s: 0 would turn DPD off; the "
		    "provider requires DPD with a restart action (without it a "
		    "router that gets TEMPORARY_FAILURE during a rekey can loop)");
	ike_refused("psk = \"s\";\ndpd_s = 301;\n",
		    "t.conf:10: tunnels[0].ike.dpd_s: 301 is out of range "
		    "(1..300)");
}
END_TEST

START_TEST(test_ike_keys_misspelt_misplaced_or_doubled_are_refused)
{
	ike_refused("psk = \"s\";\nrekey_s = 5;\n",
		    "t.conf:10: tunnels[0].ike.rekey_s: unknown setting");
	ike_refused("psk = \"s\";\npsk_file = \"/etc/tunsteer/cf5.psk\";\n",
		    "t.conf:10: tunnels[0].ike.psk_file: psk (line 9) is given "
		    "too; keep one of them");
	{	/* a psk of the wrong type is still a psk given */
		struct config_errors errs = { 0 };
		char *text = ipsec_with_ike("psk = 5;\npsk_file = "
					    "\"/etc/tunsteer/cf5.psk\";\n");

		ck_assert_ptr_null(config_load_string(text, "t.conf", &errs));
		ck_assert_msg(has_msg(&errs, "t.conf:10: tunnels[0].ike.psk_file: "
				      "psk (line 9) is given too"), "%s",
			      errors_text(&errs));
		config_errors_free(&errs);
		free(text);
	}
	ike_refused("psk_file = \"cf5.psk\";\n",
		    "t.conf:9: tunnels[0].ike.psk_file: \"cf5.psk\" is not an "
		    "absolute path");
	ike_refused("local_id = \"office@example.com\";\n",
		    "t.conf:8: tunnels[0].ike.psk: required for ipsec tunnels "
		    "(or psk_file)");
}
END_TEST

/* libstrongswan is brought up for the checks of a config with an ipsec
 * tunnel, once per load, and never for one without: -n of a GRE site
 * does not pay for it, and a GRE tunnel's (refused) ike group is not
 * checked by it. */
START_TEST(test_config_without_ipsec_tunnels_never_brings_strongswan_up)
{
	struct config_errors errs = { 0 };
	unsigned int before = ike_check_inits();
	struct config *c = must_load("minimal.conf");

	config_free(c);
	c = config_load(TOP_SRCDIR "/etc/tunsteerd.conf", &errs);
	ck_assert_ptr_nonnull(c);
	config_free(c);
	expect_error("bad_ike_on_gre.conf", "only for ipsec tunnels");
	ck_assert_uint_eq(ike_check_inits(), before);

	c = must_load("everything.conf");	/* ids and proposals */
	config_free(c);
	ck_assert_uint_eq(ike_check_inits(), before + 1);
}
END_TEST

/* --- psk_file ------------------------------------------------------------ */

/* A psk file holding @text with @mode, and an ike body naming it. */
static char *
psk_file(const char *text, size_t len, mode_t mode, char *body, size_t sz)
{
	char *path = temp_conf(text, len, mode);

	snprintf(body, sz, "psk_file = \"%s\";\n", path);
	return path;
}

START_TEST(test_psk_file_is_read_without_its_newline_and_printed_as_its_path)
{
	static const char *const contents[] = { "s3cr3t-Xq9\n", "s3cr3t-Xq9",
						"s3cr3t-Xq9\r\n" };

	for (size_t i = 0; i < 3; i++) {
		char body[256], *out = NULL;
		size_t len = 0;
		char *path = psk_file(contents[i], strlen(contents[i]), 0600,
				      body, sizeof(body));
		struct config *c = ike_ok(body);
		FILE *f;

		ck_assert_str_eq(c->tunnels[0].ike.psk, "s3cr3t-Xq9");
		ck_assert_str_eq(c->tunnels[0].ike.psk_file, path);
		/* Even asked for secrets, the file is named, not read out:
		 * the printout loads back to the same psk from it. */
		for (int s = 0; s < 2; s++) {
			ck_assert_ptr_nonnull(f = open_memstream(&out, &len));
			config_print(c, f, s ? CONFIG_PRINT_SECRETS :
					       CONFIG_PRINT_REDACTED);
			fclose(f);
			ck_assert_ptr_null(strstr(out, "s3cr3t"));
			ck_assert_ptr_nonnull(strstr(out, body));
			ck_assert_ptr_null(strstr(out, "psk ="));
			free(out);
		}
		assert_round_trip(c);
		config_free(c);
		unlink(path);
		free(path);
	}
}
END_TEST

START_TEST(test_psk_file_open_to_group_or_others_is_refused_naming_it)
{
	const mode_t modes[] = { 0640, 0604, 0620, 0602, 0644 };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char body[256], want[512];
		char *path = psk_file("k", 1, modes[i], body, sizeof(body));

		snprintf(want, sizeof(want), "t.conf:9: tunnels[0].ike.psk_file: "
			 "\"%s\": holds secrets (ike.psk) but is readable by "
			 "others (mode %04o); chmod 600 it", path,
			 (unsigned)modes[i]);
		ike_refused(body, want);
		unlink(path);
		free(path);
	}
}
END_TEST

START_TEST(test_psk_file_owned_by_another_user_is_refused_naming_it)
{
	char body[256], want[512];
	char *path = psk_file("k", 1, 0600, body, sizeof(body));
	const uid_t other = geteuid() == 4242 ? 4243 : 4242;

	if (chown(path, other, (gid_t)-1) == 0) {	/* else: not root */
		snprintf(want, sizeof(want), "t.conf:9: tunnels[0].ike.psk_file: "
			 "\"%s\": holds secrets (ike.psk) but is owned by uid %u, "
			 "not root or uid %u; chown it", path, (unsigned)other,
			 (unsigned)geteuid());
		ike_refused(body, want);
	}
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_psk_file_empty_multiline_nul_symlink_or_missing_is_refused)
{
	static const struct {
		const char *text;
		size_t len;
		const char *why;
	} bad[] = {
		{ "", 0, "is empty" },
		{ "\n", 1, "is empty" },
		{ "one\ntwo\n", 8, "holds more than one line; the psk is the "
		  "file's one line" },
		{ "s3cr\0t\n", 7, "holds a NUL byte" },
	};
	char body[512], want[768], link[256];
	char *path;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = psk_file(bad[i].text, bad[i].len, 0600, body, sizeof(body));
		snprintf(want, sizeof(want), "t.conf:9: tunnels[0].ike.psk_file: "
			 "\"%s\": %s", path, bad[i].why);
		ike_refused(body, want);
		unlink(path);
		free(path);
	}

	path = psk_file("k", 1, 0600, body, sizeof(body));
	snprintf(link, sizeof(link), "%s.lnk", path);
	ck_assert_int_eq(symlink(path, link), 0);
	snprintf(body, sizeof(body), "psk_file = \"%s\";\n", link);
	snprintf(want, sizeof(want), "t.conf:9: tunnels[0].ike.psk_file: \"%s\": "
		 "is a symbolic link; name the file itself", link);
	ike_refused(body, want);
	unlink(link);
	unlink(path);
	snprintf(body, sizeof(body), "psk_file = \"%s\";\n", path);
	snprintf(want, sizeof(want), "t.conf:9: tunnels[0].ike.psk_file: \"%s\": "
		 "cannot open: %s", path, strerror(ENOENT));
	ike_refused(body, want);
	free(path);
}
END_TEST

/* The secret is in the psk file: the config that names it holds none and
 * may be read by anyone. */
START_TEST(test_config_naming_a_psk_file_may_itself_be_world_readable)
{
	struct config_errors errs = { 0 };
	char body[256];
	char *key = psk_file("k3y\n", 4, 0600, body, sizeof(body));
	char *text = ipsec_with_ike(body);
	char *path = temp_conf(text, strlen(text), 0644);
	struct config *c = config_load(path, &errs);

	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	ck_assert_str_eq(c->tunnels[0].ike.psk, "k3y");
	config_free(c);
	unlink(path);
	unlink(key);
	free(path);
	free(key);
	free(text);
}
END_TEST

/* -nv shows every ike setting, the psk never. */
START_TEST(test_redacted_print_shows_every_ike_setting_but_the_psk)
{
	static const char *const keys[] = {
		"\t\t\tpsk = <redacted>;\n",
		"\t\t\tlocal_id = \"office@example.com\";\t# ID_RFC822_ADDR\n",
		"\t\t\tremote_id = \"192.0.2.2\";\t# ID_IPV4_ADDR\n",
		"\t\t\tike_proposals = \"aes256gcm16-prfsha384-ecp384-"
		"ke1_mlkem1024, aes256-sha256-prfsha256-modp2048\";\n",
		"\t\t\tesp_proposals = \"aes128gcm16-ecp384,aes256-sha1-"
		"modp2048-noesn\";\n",
		"\t\t\tike_lifetime_s = 43200;\n",
		"\t\t\tchild_lifetime_s = 3600;\n",
		"\t\t\treplay_window = 1024;\n",
		"\t\t\tdpd_s = 30;\n",
	};
	struct config *c = must_load("everything.conf");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	config_print(c, f, CONFIG_PRINT_REDACTED);
	fclose(f);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(strstr(out, keys[i]), "no \"%s\" in:\n%s", keys[i],
			      out);
	ck_assert_ptr_null(strstr(out, "odd bytes"));
	free(out);
	config_free(c);
}
END_TEST

/* etc/tunsteerd.conf's IPsec tunnel is a comment (its psk file is the
 * site's); uncommented, with a psk file of ours, it is a valid tunnel. */
/* Two ipsec tunnels, each with an ike body; the second tunnel's psk (or
 * psk_file) is on line 6 and the first's on line 3. */
static struct config *
two_ipsec(const char *ike1, const char *ike2, const char *rid2,
	  struct config_errors *errs)
{
	char text[1024];

	snprintf(text, sizeof(text),
		"tunnels = (\n"						/* 1 */
		"  { name = \"v1\"; type = \"ipsec\"; local = \"198.51.100.2\";"
		" remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; ike = {\n"	/* 2 */
		"    %s\n"						/* 3 */
		"    remote_id = \"192.0.2.1\"; }; },\n"			/* 4 */
		"  { name = \"v2\"; type = \"ipsec\"; local = \"198.51.100.2\";"
		" remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; ike = {\n"	/* 5 */
		"    %s\n"						/* 6 */
		"    remote_id = \"%s\"; }; }\n"				/* 7 */
		");\n", ike1, ike2, rid2);
	return config_load_string(text, "t.conf", errs);
}

/* The default mtu of an ipsec tunnel is the worst case of its
 * esp_proposals with NAT-T; an explicit one may reach the worst case
 * without it; the MSS never exceeds 1360. */
START_TEST(test_ipsec_mtu_follows_the_worst_esp_proposal_and_nat_t)
{
	static const struct {
		const char *esp;
		unsigned int mtu, plain;
	} cases[] = {
		/* 1472 - 8 - 8 - 16 = 1440 - 2; without NAT-T 1448 - 2. */
		{ "aes256gcm16-ecp384", 1438, 1446 },
		/* ICV 8: 1472 - 8 - 8 - 8 = 1448 - 2. */
		{ "aes128gcm8", 1446, 1454 },
		/* CBC: 1472 - 8 - 16 IV - 32 ICV = 1416, to a 16-byte block
		 * 1408, - 2; without NAT-T 1424 - 2. */
		{ "aes256-sha512", 1406, 1422 },
		/* SHA-256's 16-byte ICV: 1472 - 8 - 16 - 16 = 1432, to the
		 * block 1424, - 2; without NAT-T 1440 - 2. */
		{ "aes128-sha256", 1422, 1438 },
		/* Two proposals, or two algorithms in one: the worst. */
		{ "aes256gcm16,aes256-sha512", 1406, 1422 },
		{ "aes128-aes256-sha256-sha512", 1406, 1422 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[160], want[256];
		struct config *c;
		struct config_errors errs = { 0 };
		char *text;

		snprintf(body, sizeof(body), "psk = \"s\";\nesp_proposals = "
			 "\"%s\";\n", cases[i].esp);
		c = ike_ok(body);
		ck_assert_msg(c->tunnels[0].mtu == cases[i].mtu, "%s: mtu %u",
			      cases[i].esp, c->tunnels[0].mtu);
		ck_assert_uint_eq(c->tunnels[0].mss, 1360);
		config_free(c);
		/* Up to the worst case without NAT-T, if asked. */
		snprintf(body, sizeof(body), "psk = \"s\";\nesp_proposals = "
			 "\"%s\";\n", cases[i].esp);
		text = NULL;
		ck_assert_int_ge(asprintf(&text,
			"tunnels = ( { name = \"ipsec1\"; type = \"ipsec\";\n"
			"  local = \"198.51.100.2\"; remote = \"192.0.2.1\";\n"
			"  address = \"198.19.0.1/31\"; mtu = %u;\n"
			"  ike = { %s }; } );\n", cases[i].plain, body), 0);
		c = config_load_string(text, "t.conf", &errs);
		ck_assert_msg(c != NULL, "%s refused:%s", text, errors_text(&errs));
		ck_assert_uint_eq(c->tunnels[0].mtu, cases[i].plain);
		config_free(c);
		free(text);
		ck_assert_int_ge(asprintf(&text,
			"tunnels = ( { name = \"ipsec1\"; type = \"ipsec\";\n"
			"  local = \"198.51.100.2\"; remote = \"192.0.2.1\";\n"
			"  address = \"198.19.0.1/31\"; mtu = %u;\n"
			"  ike = { %s }; } );\n", cases[i].plain + 1, body), 0);
		ck_assert_ptr_null(config_load_string(text, "t.conf", &errs));
		snprintf(want, sizeof(want), "t.conf:3: tunnels[0].mtu: %u is out "
			 "of range (576..%u: what ESP with esp_proposals leaves "
			 "of a 1500-byte underlay; %u with NAT-T)",
			 cases[i].plain + 1, cases[i].plain, cases[i].mtu);
		ck_assert_msg(errs.n == 1 && strcmp(errs.msgs[0], want) == 0,
			      "want %s, got:%s", want, errors_text(&errs));
		config_errors_free(&errs);
		free(text);
	}
}
END_TEST

START_TEST(test_same_ids_with_different_psks_are_refused_naming_both)
{
	struct config_errors errs = { 0 };
	struct config *c;
	char body[256], *path;

	/* Same local_id (the default: both local addresses) and remote_id
	 * (the anycast address), two keys. */
	ck_assert_ptr_null(two_ipsec("psk = \"key-one\";", "psk = \"key-two\";",
				     "192.0.2.1", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "t.conf:6: tunnels[1].ike.psk: differs "
		"from the psk of tunnel \"v1\" (line 3), which has the same "
		"local_id \"198.51.100.2\" and remote_id \"192.0.2.1\": the "
		"peer knows both by these identities and holds one key for them");
	/* No key in the message. */
	ck_assert_ptr_null(strstr(errs.msgs[0], "key-"));
	config_errors_free(&errs);

	/* The same key: fine; another remote_id: fine. */
	c = two_ipsec("psk = \"key-one\";", "psk = \"key-one\";", "192.0.2.1",
		      &errs);
	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	config_free(c);
	c = two_ipsec("psk = \"key-one\";", "psk = \"key-two\";", "192.0.2.2",
		      &errs);
	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	config_free(c);

	/* A key from a file is compared by its content. */
	path = psk_file("key-two\n", 8, 0600, body, sizeof(body));
	body[strlen(body) - 1] = '\0';
	ck_assert_ptr_null(two_ipsec("psk = \"key-one\";", body, "192.0.2.1",
				     &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], "t.conf:6: tunnels[1].ike."
				     "psk_file: differs from the psk of tunnel "
				     "\"v1\" (line 3)"));
	config_errors_free(&errs);
	c = two_ipsec("psk = \"key-two\";", body, "192.0.2.1", &errs);
	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	config_free(c);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_example_ipsec_tunnel_in_etc_is_valid_when_uncommented)
{
	char *text = slurp(TOP_SRCDIR "/etc/tunsteerd.conf");
	char body[256];
	char *key = psk_file("k3y\n", 4, 0600, body, sizeof(body));
	char *out = malloc(strlen(text) + strlen(key) + 1), *o = out;
	const char *begin = strstr(text, "\t# ,{"), *end, *p;
	struct config_errors errs = { 0 };
	struct config *c;
	const struct config_ike *ike;

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(begin != NULL, "no commented ipsec tunnel in the example");
	end = strstr(begin, "\t# }\n");
	ck_assert_ptr_nonnull(end);
	end += strlen("\t# }\n");
	memcpy(o, text, (size_t)(begin - text));
	o += begin - text;
	/* Each "\t# " line of the block loses its "# ". */
	for (p = begin; p < end;) {
		const char *nl = strchr(p, '\n') + 1;

		ck_assert(strncmp(p, "\t# ", 3) == 0);
		*o++ = '\t';
		memcpy(o, p + 3, (size_t)(nl - p - 3));
		o += nl - p - 3;
		p = nl;
	}
	strcpy(o, end);
	/* The site's psk file is ours here. */
	o = strstr(out, "psk_file = \"/etc/tunsteer/cf5.psk\"");
	ck_assert_msg(o != NULL, "the example names no /etc/tunsteer/cf5.psk");
	{
		char *rest = strdup(o + strlen("psk_file = \"/etc/tunsteer/cf5.psk"));

		ck_assert_ptr_nonnull(rest);
		sprintf(o, "psk_file = \"%s%s", key, rest);
		free(rest);
	}
	c = config_load_string(out, "example", &errs);
	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	ck_assert_uint_eq(c->n_tunnels, 5);
	ck_assert_int_eq(c->tunnels[4].type, TUNNEL_IPSEC);
	ike = &c->tunnels[4].ike;
	ck_assert_str_eq(ike->psk, "k3y");
	ck_assert_str_eq(ike->local_id_type, "ID_RFC822_ADDR");
	ck_assert_uint_eq(c->n_warnings, 0);
	assert_round_trip(c);
	config_free(c);
	unlink(key);
	free(key);
	free(out);
	free(text);
}
END_TEST

/* --- bad files: one per rule ------------------------------------------ */

#define BAD(test, file, msg)						\
	START_TEST(test) { expect_error(file, msg); } END_TEST

BAD(test_syntax_error_is_reported_with_its_line, "bad_syntax.conf",
    "bad_syntax.conf:3: syntax error")
BAD(test_wrong_type_names_the_expected_type, "bad_wrong_type.conf",
    "bad_wrong_type.conf:10: tunnels[0].mtu: expected an integer, "
    "not a string")
BAD(test_non_boolean_mss_clamp_is_rejected, "bad_wrong_type.conf",
    "bad_wrong_type.conf:2: mss_clamp: expected a boolean (true or false), "
    "not an integer")
BAD(test_tunnel_name_longer_than_15_is_rejected_with_line,
    "bad_tunnel_name.conf",
    "bad_tunnel_name.conf:4: tunnels[0].name: \"cf1-too-long-nam\" is not "
    "a valid interface name")
BAD(test_unknown_tunnel_type_is_rejected, "bad_tunnel_type.conf",
    "bad_tunnel_type.conf:5: tunnels[0].type: \"vxlan\" is not \"gre\" or "
    "\"ipsec\"")
BAD(test_local_with_prefix_length_is_rejected, "bad_local_with_length.conf",
    "bad_local_with_length.conf:6: tunnels[0].local: \"198.51.100.2/32\" is "
    "not an IPv4 address (no /length here)")
BAD(test_inner_address_must_be_31_or_30, "bad_address_length.conf",
    "bad_address_length.conf:8: tunnels[0].address: 198.19.0.1/29: the "
    "inner prefix must be /31 or /30")
BAD(test_network_address_of_a_30_is_rejected, "bad_address_30_network.conf",
    "bad_address_30_network.conf:8: tunnels[0].address: 198.19.0.0/30 is "
    "the network or broadcast address of its /30")
BAD(test_peer_outside_the_inner_prefix_is_rejected, "bad_peer_outside.conf",
    "bad_peer_outside.conf:9: tunnels[0].peer: 198.19.0.2 is outside "
    "address 198.19.0.1/31")
BAD(test_peer_equal_to_own_address_is_rejected, "bad_peer_is_self.conf",
    "bad_peer_is_self.conf:9: tunnels[0].peer: 198.19.0.1 is this side's "
    "own address")
BAD(test_gre_mtu_above_1476_is_rejected, "bad_gre_mtu.conf",
    "bad_gre_mtu.conf:9: tunnels[0].mtu: 1500 is out of range (576..1476)")
BAD(test_ipsec_mtu_above_esp_limit_is_rejected, "bad_ipsec_mtu.conf",
    "bad_ipsec_mtu.conf:9: tunnels[0].mtu: 1450 is out of range "
    "(576..1446: what ESP with esp_proposals leaves of a 1500-byte "
    "underlay; 1438 with NAT-T)")
BAD(test_ttl_zero_is_rejected, "bad_ttl.conf",
    "bad_ttl.conf:9: tunnels[0].ttl: 0 is out of range (1..255)")
BAD(test_underlay_without_interface_is_rejected,
    "bad_underlay_no_interface.conf",
    "bad_underlay_no_interface.conf:9: tunnels[0].underlay.interface: "
    "required")
BAD(test_ike_on_a_gre_tunnel_is_rejected, "bad_ike_on_gre.conf",
    "bad_ike_on_gre.conf:9: tunnels[0].ike: only for ipsec tunnels")
BAD(test_ike_proposal_without_a_prf_is_rejected, "bad_ike_proposal.conf",
    "bad_ike_proposal.conf:11: tunnels[0].ike.ike_proposals: "
    "\"aes256gcm16-ecp384\": no PRF; IKE needs one (e.g. prfsha256)")
BAD(test_dpd_turned_off_is_rejected, "bad_ike_dpd_off.conf",
    "bad_ike_dpd_off.conf:11: tunnels[0].ike.dpd_s: 0 would turn DPD off; "
    "the provider requires DPD with a restart action")
BAD(test_psk_inline_and_from_a_file_is_rejected,
    "bad_ike_psk_and_psk_file.conf",
    "bad_ike_psk_and_psk_file.conf:11: tunnels[0].ike.psk_file: psk (line "
    "10) is given too; keep one of them")
BAD(test_ipsec_tunnel_without_psk_is_rejected, "bad_ipsec_without_psk.conf",
    "bad_ipsec_without_psk.conf:3: tunnels[0].ike.psk: required for ipsec "
    "tunnels")
BAD(test_all_down_other_than_keep_or_isp_is_rejected, "bad_all_down.conf",
    "bad_all_down.conf:8: egress[0].all_down: \"maybe\" is not \"keep\" or \"isp\"")
BAD(test_unknown_probe_setting_is_rejected,
    "bad_probe_setting.conf",
    "bad_probe_setting.conf:10: tunnels[0].probe.interval: unknown setting")
BAD(test_probe_timeout_longer_than_down_after_intervals_is_rejected,
    "bad_probe_timeout.conf",
    "bad_probe_timeout.conf:2: probe.timeout_ms: 5000 ms is longer than "
    "down_after (3) probes at interval_ms (100)")
BAD(test_probe_target_outside_a_tunnel_is_rejected,
    "bad_probe_target_global.conf",
    "bad_probe_target_global.conf:3: probe.target: only in a tunnel's own "
    "probe group")
BAD(test_passive_timeout_below_a_second_is_rejected,
    "bad_passive_timeout.conf",
    "bad_passive_timeout.conf:6: tunnels[0].probe.passive_timeout_ms: "
    "500 ms: use 0 (off) or 1000..3600000")
BAD(test_passive_timeout_above_an_hour_is_rejected,
    "bad_passive_timeout_range.conf",
    "bad_passive_timeout_range.conf:3: probe.passive_timeout_ms: 3600001 "
    "is out of range (0..3600000)")
BAD(test_passive_target_outside_a_tunnel_is_rejected,
    "bad_passive_target_global.conf",
    "bad_passive_target_global.conf:4: probe.passive_target: only in a "
    "tunnel's own probe group")
BAD(test_passive_target_with_a_length_is_rejected,
    "bad_passive_target.conf",
    "bad_passive_target.conf:6: tunnels[0].probe.passive_target: "
    "\"203.0.113.0/24\" is not an IPv4 address (no /length here)")
BAD(test_duplicate_policy_name_is_rejected, "bad_duplicate_policy_name.conf",
    "bad_duplicate_policy_name.conf:20: egress[1].name: \"office\" is "
    "already defined at line 13")
BAD(test_policy_names_equal_as_nft_sets_are_rejected,
    "bad_policy_nft_name.conf",
    "bad_policy_nft_name.conf:20: egress[1].name: \"a-b\" becomes nft set "
    "auth_a_b, as \"a.b\" at line 13 does")
BAD(test_policy_name_of_32_characters_is_rejected,
    "bad_policy_name_long.conf",
    "bad_policy_name_long.conf:13: egress[0].name: "
    "\"office-0123456789-0123456789-xyz\" is not a valid name")
BAD(test_policy_without_prefixes_is_rejected, "bad_prefixes_empty.conf",
    "bad_prefixes_empty.conf:14: egress[0].prefixes: must not be empty")
BAD(test_host_bits_in_authorized_prefix_are_rejected_with_line,
    "bad_host_bits.conf",
    "bad_host_bits.conf:14: egress[0].prefixes[0]: 203.0.113.1/24 has host "
    "bits set; did you mean 203.0.113.0/24?")
BAD(test_ipv6_prefix_through_a_tunnel_without_address6_is_rejected,
    "bad_prefix_ipv6.conf",
    "bad_prefix_ipv6.conf:13: egress[0].tunnels: egress \"office\" has IPv6 "
    "prefixes, but its tunnel \"cf1\" (line 4) has no address6")
BAD(test_address6_other_than_a_127_is_rejected, "bad_address6_length.conf",
    "bad_address6_length.conf:10: tunnels[0].address6: 2001:db8:ffff::1/64: "
    "the inner IPv6 prefix must be /127")
BAD(test_link_local_address6_is_rejected, "bad_address6_link_local.conf",
    "bad_address6_link_local.conf:10: tunnels[0].address6: fe80::1/127 is a "
    "link-local address")
BAD(test_two_tunnels_with_one_address6_are_rejected,
    "bad_address6_duplicate.conf",
    "bad_address6_duplicate.conf:19: tunnels[1].address6: 2001:db8:ffff::/127 "
    "is also the address6 of tunnel \"cf1\" (line 10)")
BAD(test_overlapping_ipv6_prefixes_of_two_policies_are_rejected,
    "bad_prefix_ipv6_overlap.conf",
    "bad_prefix_ipv6_overlap.conf:34: egress[1].prefixes[0]: "
    "2001:db8:1:8000::/49 overlaps 2001:db8:1::/48 in egress \"office\" "
    "(line 26)")
BAD(test_link_local_ipv6_prefix_is_rejected, "bad_prefix_ipv6_link_local.conf",
    "bad_prefix_ipv6_link_local.conf:34: egress[1].prefixes[0]: fe80::/64 "
    "overlaps fe80::/10 (link-local)")
BAD(test_unauthorized6_other_than_isp_or_drop_is_rejected,
    "bad_unauthorized6.conf",
    "bad_unauthorized6.conf:2: unauthorized6: \"maybe\" is not \"isp\" or "
    "\"drop\"")
BAD(test_policy_without_tunnels_is_rejected, "bad_egress_tunnels_empty.conf",
    "bad_egress_tunnels_empty.conf:15: egress[0].tunnels: must not be "
    "empty")
BAD(test_policy_naming_an_undefined_tunnel_is_rejected,
    "bad_unknown_tunnel.conf",
    "bad_unknown_tunnel.conf:17: egress[0].tunnels[1].tunnel: unknown "
    "tunnel \"cf9\"")
BAD(test_priority_is_required, "bad_priority_missing.conf",
    "bad_priority_missing.conf:16: egress[0].tunnels[0].priority: required")
BAD(test_negative_priority_is_rejected, "bad_priority_range.conf",
    "bad_priority_range.conf:16: egress[0].tunnels[0].priority: -1 is out "
    "of range (0..4294967295)")
BAD(test_integer_past_32_bits_without_L_is_not_silently_wrapped,
    "bad_priority_too_big.conf",
    "bad_priority_too_big.conf:16: syntax error: integer 4294967297 does "
    "not fit in 32 bits; write 4294967297L")
BAD(test_weight_above_256_is_rejected, "bad_weight.conf",
    "bad_weight.conf:16: egress[0].tunnels[0].weight: 257 is out of range "
    "(1..256)")
BAD(test_tunnel_listed_twice_in_a_policy_is_rejected,
    "bad_tunnel_listed_twice.conf",
    "bad_tunnel_listed_twice.conf:17: egress[0].tunnels[1].tunnel: tunnel "
    "\"cf1\" is listed twice")
BAD(test_duplicate_tunnel_name_is_rejected, "bad_duplicate_tunnel_name.conf",
    "bad_duplicate_tunnel_name.conf:11: tunnels[1].name: \"cf1\" is already "
    "defined at line 4")
BAD(test_duplicate_inner_address_is_rejected,
    "bad_duplicate_inner_address.conf",
    "bad_duplicate_inner_address.conf:15: tunnels[1].address: "
    "198.19.0.1/31 is the same address as 198.19.0.1/31 of tunnel \"cf1\" "
    "(line 8)")
BAD(test_overlapping_inner_prefixes_are_rejected,
    "bad_overlapping_inner_prefix.conf",
    "bad_overlapping_inner_prefix.conf:15: tunnels[1].address: "
    "198.19.0.2/30 overlaps 198.19.0.1/31 of tunnel \"cf1\" (line 8)")
BAD(test_two_tunnels_with_same_local_and_remote_are_rejected,
    "bad_same_endpoints.conf",
    "bad_same_endpoints.conf:14: tunnels[1].remote: tunnel \"cf1\" (line 3) "
    "has the same local and remote addresses")
BAD(test_prefixes_overlapping_across_policies_are_rejected,
    "bad_prefixes_overlap_across_policies.conf",
    "bad_prefixes_overlap_across_policies.conf:28: egress[1].prefixes[0]: "
    "203.0.113.64/26 overlaps 203.0.113.0/25 in egress \"office\" "
    "(line 21)")
BAD(test_tunnel_remote_inside_authorized_prefix_is_rejected,
    "bad_endpoint_in_prefix.conf",
    "bad_endpoint_in_prefix.conf:14: egress[0].prefixes[0]: 192.0.2.0/24 "
    "contains the remote address 192.0.2.1 of tunnel \"cf1\" (line 7)")
BAD(test_include_is_refused, "bad_include.conf",
    "bad_include.conf:2: @include is not supported")

/* A rejected value is echoed escaped, as config_print() writes strings:
 * control bytes, DEL and every byte past ASCII (so no invalid UTF-8)
 * as \xHH, a backslash doubled.  Nothing raw reaches a terminal or log. */
START_TEST(test_rejected_values_are_echoed_escaped)
{
	/* libconfig's own escapes make the bytes: ESC [ 2 J, a newline,
	 * 0xff (never UTF-8), a backslash; then a raw 0xfe byte. */
	static const char text[] =
		"log_level = \"x\\x1b[2J\\n\\xff\\\\y\xfe\";\n"
		"allow_empty = true;\n";
	struct config_errors errs = { 0 };

	ck_assert_ptr_null(config_load_string(text, "esc", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "esc:1: log_level: \"x\\x1b[2J\\x0a"
			 "\\xff\\\\y\\xfe\" is not one of err, warning, "
			 "notice, info, debug");
	config_errors_free(&errs);
}
END_TEST

START_TEST(test_unknown_settings_are_all_reported_in_file_order)
{
	struct config_errors errs = { 0 };
	struct config *c = load_fixture("bad_unknown_keys.conf", &errs);

	ck_assert_ptr_null(c);
	ck_assert_msg(errs.n == 3, "%s", errors_text(&errs));
	ck_assert_str_eq(errs.msgs[0],
			 "bad_unknown_keys.conf:2: logging: unknown setting");
	ck_assert_str_eq(errs.msgs[1], "bad_unknown_keys.conf:17: "
			 "tunnels[1].mtuu: unknown setting");
	ck_assert_str_eq(errs.msgs[2], "bad_unknown_keys.conf:25: "
			 "egress[0].tunnels[0].wieght: unknown setting");
	config_errors_free(&errs);
	ck_assert_ptr_null(errs.msgs);
}
END_TEST

START_TEST(test_duplicate_and_overlapping_prefixes_in_one_policy_are_rejected)
{
	struct config_errors errs = { 0 };
	struct config *c = load_fixture(
		"bad_prefixes_overlap_within_policy.conf", &errs);

	ck_assert_ptr_null(c);
	ck_assert_msg(errs.n == 2, "%s", errors_text(&errs));
	ck_assert_str_eq(errs.msgs[0],
			 "bad_prefixes_overlap_within_policy.conf:14: "
			 "egress[0].prefixes[2]: 203.0.113.0/25 is also listed "
			 "as 203.0.113.0/25 in egress \"office\" (line 14)");
	ck_assert_str_eq(errs.msgs[1],
			 "bad_prefixes_overlap_within_policy.conf:14: "
			 "egress[0].prefixes[3]: 198.18.4.0/24 overlaps "
			 "198.18.0.0/15 in egress \"office\" (line 14)");
	config_errors_free(&errs);
}
END_TEST

/* 65 tunnels (or 64) at one priority in one policy, generated. */
static char *
ecmp_conf(int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int i;

	ck_assert_ptr_nonnull(f);
	fputs("tunnels = (\n", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{ name = \"t%d\"; type = \"gre\"; "
			"local = \"198.51.100.2\"; remote = \"10.0.0.%d\"; "
			"address = \"198.19.0.%d/31\"; }\n", i ? "," : "",
			i, i + 1, 2 * i + 1);
	fputs(");\negress = ( { name = \"office\"; "
	      "prefixes = [ \"203.0.113.0/25\" ];\ntunnels = (\n", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{ tunnel = \"t%d\"; priority = 5; }\n",
			i ? "," : "", i);
	fputs("); } );\n", f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

START_TEST(test_more_than_64_tunnels_sharing_a_priority_are_rejected)
{
	struct config_errors errs = { 0 };
	char *text = ecmp_conf(64);
	struct config *c = config_load_string(text, "ecmp", &errs);

	ck_assert_msg(c != NULL, "64 rejected:%s", errors_text(&errs));
	config_free(c);
	free(text);

	text = ecmp_conf(65);
	c = config_load_string(text, "ecmp", &errs);
	ck_assert_ptr_null(c);
	/* Line 1 is "tunnels = (", 65 tunnels, ");", 2 lines of egress
	 * header, then the 65th entry on line 70 + 65 - 1. */
	ck_assert_msg(has_msg(&errs, "ecmp:134: egress[0].tunnels: more than "
			      "64 tunnels share priority 5"), "%s",
		      errors_text(&errs));
	config_errors_free(&errs);
	free(text);
}
END_TEST

/* Outer and inner addresses must not meet: @text's one error. */
static void
expect_one(const char *text, const char *want)
{
	struct config_errors errs = { 0 };

	ck_assert_ptr_null(config_load_string(text, "in", &errs));
	ck_assert_msg(errs.n == 1 && strcmp(errs.msgs[0], want) == 0,
		      "want \"%s\", got:%s", want, errors_text(&errs));
	config_errors_free(&errs);
}

#define TUN(name, local, remote, addr)					\
	"{ name = \"" name "\"; type = \"gre\"; local = \"" local "\"; "	\
	"remote = \"" remote "\"; address = \"" addr "\"; }"

START_TEST(test_remote_inside_an_inner_prefix_is_refused)
{
	expect_one("tunnels = (\n" TUN("cf1", "198.51.100.2", "198.19.0.0",
					"198.19.0.1/31") "\n);\n",
		   "in:2: tunnels[0].remote: 198.19.0.0 is inside this "
		   "tunnel's inner prefix 198.19.0.1/31");
	expect_one("tunnels = (\n" TUN("cf1", "198.51.100.2", "192.0.2.1",
					"198.19.0.1/31") ",\n"
		   TUN("cf2", "198.51.100.2", "198.19.0.1", "198.19.0.3/31")
		   "\n);\n",
		   "in:3: tunnels[1].remote: 198.19.0.1 is inside tunnel "
		   "\"cf1\"'s (line 2) inner prefix 198.19.0.1/31");
}
END_TEST

/* A probe source inside an authorized prefix would have its probes
 * steered by that policy, into whichever tunnel carries it. */
START_TEST(test_probe_source_inside_an_authorized_prefix_is_refused)
{
	expect_one("tunnels = (\n{ name = \"cf1\"; type = \"gre\"; "
		   "local = \"198.51.100.2\"; remote = \"192.0.2.1\"; "
		   "address = \"198.19.0.1/31\";\n"
		   "  probe = {\n    source = \"203.0.113.1\"; }; }\n);\n"
		   "egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
		   "  tunnels = ( { tunnel = \"cf1\"; priority = 100; } ); } );\n",
		   "in:4: tunnels[0].probe.source: 203.0.113.1 is inside egress "
		   "policy \"office\"'s authorized prefix 203.0.113.0/25: its "
		   "probes would be steered into that policy's tunnels; leave it "
		   "unset (the tunnel's inner address)");
}
END_TEST

/* --- probe.family -------------------------------------------------------- */

#define TUN6(name, local, remote, addr, addr6, more)			\
	"{ name = \"" name "\"; type = \"gre\"; local = \"" local "\"; "	\
	"remote = \"" remote "\"; address = \"" addr "\"; "		\
	"address6 = \"" addr6 "\";" more " }"

START_TEST(test_probe_family_other_than_ipv4_ipv6_or_both_is_refused)
{
	expect_one("probe = {\n family = \"inet6\"; };\ntunnels = (\n"
		   TUN("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31")
		   "\n);\n",
		   "in:2: probe.family: \"inet6\" is not \"ipv4\", \"ipv6\" or "
		   "\"both\"");
	/* Said once: the tunnel's bad word is not also judged as the
	 * global "both" it would have inherited. */
	expect_one("probe = { family = \"both\"; };\ntunnels = (\n"
		   "{ name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\"; "
		   "remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";\n"
		   "  probe = { family = \"IPv6\"; }; }\n);\n",
		   "in:4: tunnels[0].probe.family: \"IPv6\" is not \"ipv4\", "
		   "\"ipv6\" or \"both\"");
}
END_TEST

/* ICMPv6 probes go from the tunnel's address6 to the other host of its
 * /127: without one there is nothing to probe.  Refused at the tunnel's
 * own family, or, inherited, at the tunnel naming the global line. */
START_TEST(test_probe_family_ipv6_or_both_needs_the_tunnels_address6)
{
	expect_one("tunnels = (\n"
		   "{ name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\"; "
		   "remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";\n"
		   "  probe = {\n    family = \"ipv6\"; }; }\n);\n",
		   "in:4: tunnels[0].probe.family: \"ipv6\" needs the tunnel's "
		   "address6: ICMPv6 probes go from it to the provider's side "
		   "of its /127");
	expect_one("probe = { family = \"both\"; };\ntunnels = (\n"
		   TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
			"2001:db8:ffff::/127", "") ",\n"
		   TUN("cf2", "198.51.100.2", "192.0.2.2", "198.19.0.3/31")
		   "\n);\n",
		   "in:4: tunnels[1].probe.family: \"both\" (from the global "
		   "probe group, line 1) needs the tunnel's address6: ICMPv6 "
		   "probes go from it to the provider's side of its /127");
	/* A bad address6 is said once, at itself. */
	expect_one("tunnels = (\n"
		   TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
			"2001:db8:ffff::/64", " probe = { family = \"both\"; };")
		   "\n);\n",
		   "in:2: tunnels[0].address6: 2001:db8:ffff::/64: the inner "
		   "IPv6 prefix must be /127");
}
END_TEST

/* target and source are the IPv4 probes'; with "ipv6" alone they would
 * be ignored, so they are refused. */
START_TEST(test_ipv6_only_probes_refuse_an_ipv4_target_or_source)
{
	expect_one("tunnels = (\n"
		   TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
			"2001:db8:ffff::/127", "\n probe = { family = \"ipv6\";\n"
			"  target = \"198.19.0.0\"; };") "\n);\n",
		   "in:4: tunnels[0].probe.target: only IPv4 probes have a "
		   "target, and family \"ipv6\" sends none");
	expect_one("probe = { family = \"ipv6\"; };\ntunnels = (\n"
		   TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
			"2001:db8:ffff::/127", "\n probe = {\n"
			"  source = \"198.19.0.1\"; };") "\n);\n",
		   "in:5: tunnels[0].probe.source: only IPv4 probes have a "
		   "source, and family \"ipv6\" (from the global probe group, "
		   "line 1) sends none");
	/* With both, they still serve the IPv4 half. */
	{
		struct config_errors errs = { 0 };
		struct config *c = config_load_string(
			"tunnels = (\n"
			TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
			     "2001:db8:ffff::/127", " probe = { family = "
			     "\"both\"; target = \"198.19.0.0\"; };") "\n);\n",
			"in", &errs);

		ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
		config_free(c);
	}
}
END_TEST

/* As a probe source inside an authorized prefix (above): ICMPv6 probes
 * from it would be marked as that policy's egress and steered. */
START_TEST(test_address6_inside_an_authorized_prefix_is_refused_when_probed_with_icmpv6)
{
	static const char tail[] =
		"\n);\negress = ( { name = \"office\"; prefixes = "
		"[ \"2001:db8:1::/64\" ];\n"
		"  tunnels = ( { tunnel = \"cf1\"; priority = 100; } ); } );\n";
	char *text = NULL;
	struct config_errors errs = { 0 };
	struct config *c;

	ck_assert_int_ge(asprintf(&text, "%s%s", "tunnels = (\n"
		TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
		     "2001:db8:1::4/127", " probe = { family = \"both\"; };"),
		tail), 0);
	expect_one(text, "in:2: tunnels[0].address6: 2001:db8:1::4 is inside "
		   "egress policy \"office\"'s authorized prefix 2001:db8:1::/64, "
		   "and family \"both\" probes from it: its ICMPv6 probes would "
		   "be steered into that policy's tunnels");
	free(text);
	/* Probed with IPv4 alone, the address6 sends no probe: accepted. */
	ck_assert_int_ge(asprintf(&text, "%s%s", "tunnels = (\n"
		TUN6("cf1", "198.51.100.2", "192.0.2.1", "198.19.0.1/31",
		     "2001:db8:1::4/127", ""), tail), 0);
	c = config_load_string(text, "in", &errs);
	ck_assert_msg(c != NULL, "refused:%s", errors_text(&errs));
	config_free(c);
	free(text);
}
END_TEST

START_TEST(test_local_equal_to_an_inner_address_is_refused)
{
	expect_one("tunnels = (\n" TUN("cf1", "198.19.0.1", "192.0.2.1",
					"198.19.0.1/31") "\n);\n",
		   "in:2: tunnels[0].local: 198.19.0.1 is this tunnel's "
		   "inner address");
	expect_one("tunnels = (\n" TUN("cf1", "198.51.100.2", "192.0.2.1",
					"198.19.0.1/31") ",\n"
		   TUN("cf2", "198.19.0.0", "192.0.2.1", "198.19.0.3/31")
		   "\n);\n",
		   "in:3: tunnels[1].local: 198.19.0.0 is tunnel \"cf1\"'s "
		   "(line 2) inner peer address");
}
END_TEST

/* --- limits of the kernel state ---------------------------------------- */

/* @n GRE tunnels, one a line from line 2, each pinned by an underlay to
 * its own local address 10.1.x.y; then @n_pol policies, one a line, all
 * through t0.  The text is the caller's to free. */
static char *
many(size_t n, size_t n_pol)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fputs("tunnels = (\n", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "{ name = \"t%zu\"; type = \"gre\"; local = "
			"\"10.1.%zu.%zu\"; remote = \"192.0.2.1\"; address = "
			"\"198.19.%zu.%zu/31\"; underlay = { interface = "
			"\"eth0\"; }; }%s\n", i, i / 200, i % 200 + 1,
			2 * i / 256, 2 * i % 256 + 1, i + 1 < n ? "," : "");
	fputs(");\negress = (\n", f);
	for (size_t i = 0; i < n_pol; i++)
		fprintf(f, "{ name = \"p%zu\"; prefixes = [ \"100.%zu.%zu.0/24\" "
			"]; tunnels = ( { tunnel = \"t0\"; priority = 1; } ); }"
			"%s\n", i, 64 + i / 256, i % 256, i + 1 < n_pol ? "," : "");
	fputs(");\n", f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* The underlay pins have tables for 100 uplinks: the 101st is refused
 * at validation, at its line, not when the kernel state is built. */
START_TEST(test_more_than_100_uplinks_are_refused_with_line)
{
	struct config_errors errs = { 0 };
	char *text = many(100, 1);
	struct config *c = config_load_string(text, "gen", &errs);

	ck_assert_msg(c != NULL, "100 uplinks rejected:%s", errors_text(&errs));
	config_free(c);
	free(text);
	text = many(101, 1);
	ck_assert_ptr_null(config_load_string(text, "gen", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "gen:102: tunnels[100].local: 10.1.0.101 "
			 "is uplink 101 (a distinct local address of a tunnel "
			 "with an underlay); at most 100 allowed");
	config_errors_free(&errs);
	free(text);
}
END_TEST

/* One fwmark, table and rule each for 800 policies. */
START_TEST(test_more_than_800_policies_are_refused_with_line)
{
	struct config_errors errs = { 0 };
	char *text = many(1, 800);
	struct config *c = config_load_string(text, "gen", &errs);

	ck_assert_msg(c != NULL, "800 policies rejected:%s", errors_text(&errs));
	config_free(c);
	free(text);
	text = many(1, 801);
	ck_assert_ptr_null(config_load_string(text, "gen", &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "gen:4: egress: 801 policies; at most "
			 "800 allowed");
	config_errors_free(&errs);
	free(text);
}
END_TEST

/* --- secrets and files ------------------------------------------------- */

START_TEST(test_psk_file_readable_by_others_is_refused)
{
	const mode_t modes[] = { 0644, 0640, 0604, 0620 };
	char *text = slurp(FIXTURES "ipsec.conf");

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct config_errors errs = { 0 };
		char *path = temp_conf(text, strlen(text), modes[i]);
		char want[256];
		struct config *c = config_load(path, &errs);

		ck_assert_ptr_null(c);
		snprintf(want, sizeof(want), "%s: holds secrets (ike.psk) but "
			 "is readable by others (mode %04o); chmod 600 it",
			 path, (unsigned)modes[i]);
		ck_assert_msg(has_msg(&errs, want), "no \"%s\" among:%s", want,
			      errors_text(&errs));
		config_errors_free(&errs);
		unlink(path);
		free(path);
	}
	free(text);
}
END_TEST

/* Owned by someone else, the file could be rewritten under us by them:
 * refused even at mode 0600. */
START_TEST(test_psk_file_owned_by_another_user_is_refused)
{
	char *text = slurp(FIXTURES "ipsec.conf");
	char *path = temp_conf(text, strlen(text), 0600);
	struct config_errors errs = { 0 };
	char want[256];
	const uid_t other = geteuid() == 4242 ? 4243 : 4242;

	if (chown(path, other, (gid_t)-1) != 0) {
		/* Not root: the rule cannot be set up here. */
		unlink(path);
		free(path);
		free(text);
		return;
	}
	ck_assert_ptr_null(config_load(path, &errs));
	snprintf(want, sizeof(want), "%s: holds secrets (ike.psk) but is "
		 "owned by uid %u, not root or uid %u; chown it", path,
		 (unsigned)other, (unsigned)geteuid());
	ck_assert_msg(has_msg(&errs, want), "no \"%s\" among:%s", want,
		      errors_text(&errs));
	ck_assert_uint_eq(errs.n, 1);
	config_errors_free(&errs);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_psk_file_with_mode_0600_is_accepted)
{
	struct config_errors errs = { 0 };
	char *text = slurp(FIXTURES "ipsec.conf");
	char *path = temp_conf(text, strlen(text), 0600);
	struct config *c = config_load(path, &errs);

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert_str_eq(c->tunnels[0].ike.psk, "secret");
	config_free(c);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_file_without_secrets_may_be_world_readable)
{
	struct config_errors errs = { 0 };
	char *text = slurp(FIXTURES "minimal.conf");
	char *path = temp_conf(text, strlen(text), 0644);
	struct config *c = config_load(path, &errs);

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	config_free(c);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_missing_file_and_directory_are_errors_not_crashes)
{
	struct config_errors errs = { 0 };

	ck_assert_ptr_null(config_load("/nonexistent/tunsteerd.conf", &errs));
	ck_assert(has_msg(&errs, "/nonexistent/tunsteerd.conf: cannot open: "
			  "No such file or directory"));
	ck_assert_ptr_null(config_load("/tmp", &errs));
	ck_assert(has_msg(&errs, "/tmp: not a regular file"));
	ck_assert_uint_eq(errs.n, 2);
	config_errors_free(&errs);
	/* A NULL error list is allowed: the messages are dropped. */
	ck_assert_ptr_null(config_load("/nonexistent/x.conf", NULL));
}
END_TEST

/* A FIFO at the config path must not block -n, start or reload (opening
 * one for reading waits for a writer); nor may a device. */
START_TEST(test_fifo_or_device_at_the_path_is_refused_without_blocking)
{
	char dir[] = "/tmp/check_config.XXXXXX", fifo[64];
	struct config_errors errs = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_ptr_null(config_load(fifo, &errs));
	ck_assert_ptr_null(config_load("/dev/null", &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0] + strlen(dir), "/fifo: not a regular file");
	ck_assert_str_eq(errs.msgs[1], "/dev/null: not a regular file");
	config_errors_free(&errs);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

START_TEST(test_nul_byte_in_file_is_a_syntax_error)
{
	struct config_errors errs = { 0 };
	static const char text[] = "log_level = \"info\";\n\0mss_clamp = true;\n";
	char *path = temp_conf(text, sizeof(text) - 1, 0600);

	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_msg(has_msg(&errs, ":2: syntax error: NUL byte"), "%s",
		      errors_text(&errs));
	config_errors_free(&errs);
	unlink(path);
	free(path);
}
END_TEST

/* --- robustness ------------------------------------------------------ */

/* Every prefix of a good file gives a config or at least one message. */
static void
truncate_everywhere(const char *path)
{
	char *text = slurp(path);
	size_t n = strlen(text);

	for (size_t len = 0; len <= n; len++) {
		struct config_errors errs = { 0 };
		char saved = text[len];
		struct config *c;

		text[len] = '\0';
		c = config_load_string(text, "cut", &errs);
		text[len] = saved;
		ck_assert_msg((c != NULL) != (errs.n > 0),
			      "%s cut at %zu: config %p with %zu errors", path,
			      len, (void *)c, errs.n);
		config_free(c);
		config_errors_free(&errs);
	}
	free(text);
}

START_TEST(test_truncated_files_at_every_offset_never_crash)
{
	truncate_everywhere(TOP_SRCDIR "/etc/tunsteerd.conf");
	truncate_everywhere(FIXTURES "everything.conf");
}
END_TEST

/* --- source NAT (nat { from; to; }) ------------------------------------ */

/*
 * Two tunnels, policy "office" (203.0.113.0/25; its nat, one line, is
 * line 13) and policy "lab" (198.18.64.0/24; its nat is line 18).  Each
 * nat argument is one line, "\n" for none.
 */
static char *
nat_conf(const char *office, const char *lab)
{
	static const char fmt[] =
		"tunnels = (\n"						/* 1 */
		"\t{ name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";\n"
		"\t  remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
		"\t{ name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";\n"
		"\t  remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; }\n"
		");\n"							/* 6 */
		"egress = (\n"
		"\t{\n"
		"\t\tname = \"office\";\n"
		"\t\tprefixes = [ \"203.0.113.0/25\" ];\n"		/* 10 */
		"\t\ttunnels = ( { tunnel = \"cf1\"; priority = 100; },\n"
		"\t\t\t{ tunnel = \"cf2\"; priority = 200; } );\n"
		"%s"							/* 13 */
		"\t},\n"
		"\t{\n"
		"\t\tname = \"lab\";\n"
		"\t\tprefixes = [ \"198.18.64.0/24\" ];\n"		/* 17 */
		"%s"							/* 18 */
		"\t\ttunnels = ( { tunnel = \"cf2\"; priority = 100; } );\n"
		"\t}\n"
		");\n";
	size_t len = sizeof(fmt) + strlen(office) + strlen(lab);
	char *text = malloc(len);

	ck_assert_ptr_nonnull(text);
	snprintf(text, len, fmt, office, lab);
	return text;
}

#define NAT_OFFICE "\t\tnat = { from = [ \"192.168.0.0/16\", \"10.1.0.0/24\" ]; " \
	"to = \"203.0.113.8/29\"; };\n"

START_TEST(test_nat_is_parsed_printed_and_round_trips)
{
	char *text = nat_conf(NAT_OFFICE, "\n"), *out = NULL;
	struct config_errors errs = { 0 };
	struct config *c = config_load_string(text, "t.conf", &errs);
	char b[TS_PREFIX_STRLEN];
	size_t len = 0;
	FILE *f;

	ck_assert_msg(c != NULL, "rejected:%s", errors_text(&errs));
	ck_assert(c->policies[0].nat.set);
	ck_assert(!c->policies[1].nat.set);
	ck_assert_uint_eq(c->policies[0].nat.n_from, 2);
	ck_assert_str_eq(ts_prefix_format(&c->policies[0].nat.from[0], b,
					  sizeof(b)), "192.168.0.0/16");
	ck_assert_str_eq(ts_prefix_format(&c->policies[0].nat.from[1], b,
					  sizeof(b)), "10.1.0.0/24");
	ck_assert_str_eq(ts_prefix_format(&c->policies[0].nat.to, b,
					  sizeof(b)), "203.0.113.8/29");
	assert_round_trip(c);
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	config_print(c, f, CONFIG_PRINT_REDACTED);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(strstr(out, "\t\tall_down = \"keep\";\n"
			     "\t\tnat = {\n"
			     "\t\t\tfrom = [ \"192.168.0.0/16\", \"10.1.0.0/24\" ];\n"
			     "\t\t\tto = \"203.0.113.8/29\";\n"
			     "\t\t};\n"
			     "\t\ttunnels = (\n"), "%s", out);
	/* Printed once: the policy without nat prints none. */
	ck_assert_ptr_null(strstr(strstr(out, "nat = {") + 1, "nat = {"));
	free(out);
	config_free(c);
	free(text);
}
END_TEST

/* @office and @lab as nat_conf(): refused, with @msg among the errors. */
static void
nat_refused(const char *office, const char *lab, const char *msg)
{
	char *text = nat_conf(office, lab);
	struct config_errors errs = { 0 };

	ck_assert_ptr_null(config_load_string(text, "t.conf", &errs));
	ck_assert_msg(has_msg(&errs, msg), "want %s, got:%s", msg,
		      errors_text(&errs));
	config_errors_free(&errs);
	free(text);
}

START_TEST(test_nat_to_outside_the_policys_prefixes_is_refused)
{
	/* Inside another policy's prefix is no better: the provider takes
	 * the policy's egress only from its own. */
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; "
		    "to = \"198.18.64.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.to: 198.18.64.8/29 is not inside "
		    "any of egress \"office\"'s prefixes; the provider accepts "
		    "only authorized sources");
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; "
		    "to = \"203.0.113.124/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.to: 203.0.113.124/29 has host bits "
		    "set; did you mean 203.0.113.120/29?");
}
END_TEST

START_TEST(test_nat_from_overlapping_any_authorized_prefix_is_refused)
{
	nat_refused("\t\tnat = { from = [ \"203.0.112.0/23\" ]; "
		    "to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from[0]: 203.0.112.0/23 overlaps "
		    "authorized prefix 203.0.113.0/25 of egress \"office\" "
		    "(line 10); nat.from must be outside every authorized prefix");
	/* Another policy's prefix, inside the from prefix. */
	nat_refused("\t\tnat = { from = [ \"10.0.0.0/8\", \"198.18.0.0/16\" ]; "
		    "to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from[1]: 198.18.0.0/16 overlaps "
		    "authorized prefix 198.18.64.0/24 of egress \"lab\" (line 17)");
	/* And one inside another policy's prefix. */
	nat_refused("\n", "\t\tnat = { from = [ \"203.0.113.64/26\" ]; "
		    "to = \"198.18.64.0/32\"; };\n",
		    "t.conf:18: egress[1].nat.from[0]: 203.0.113.64/26 overlaps "
		    "authorized prefix 203.0.113.0/25 of egress \"office\" "
		    "(line 10)");
}
END_TEST

START_TEST(test_nat_from_overlapping_another_nat_from_is_refused)
{
	nat_refused(NAT_OFFICE, "\t\tnat = { from = [ \"192.168.50.0/24\" ]; "
		    "to = \"198.18.64.0/30\"; };\n",
		    "t.conf:18: egress[1].nat.from[0]: 192.168.50.0/24 overlaps "
		    "192.168.0.0/16 in egress \"office\"'s nat.from (line 13)");
	nat_refused("\t\tnat = { from = [ \"10.1.0.0/24\", \"10.1.0.0/24\" ]; "
		    "to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from[1]: 10.1.0.0/24 is also listed "
		    "as 10.1.0.0/24 in egress \"office\"'s nat.from (line 13)");
}
END_TEST

START_TEST(test_nat_is_ipv4_only_and_says_nat66_is_not_offered)
{
	nat_refused("\t\tnat = { from = [ \"fd00::/8\" ]; "
		    "to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from[0]: \"fd00::/8\" is an IPv6 "
		    "prefix; NAT66 is not offered (nat translates IPv4 sources "
		    "only)");
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; "
		    "to = \"2001:db8::/64\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.to: \"2001:db8::/64\" is an IPv6 "
		    "prefix; NAT66 is not offered");
}
END_TEST

START_TEST(test_nat_needs_from_and_to_within_limits)
{
	char *many, *nat;
	size_t off;

	nat_refused("\t\tnat = { from = [ ]; to = \"203.0.113.8/29\"; };\n",
		    "\n", "t.conf:13: egress[0].nat.from: must not be empty");
	nat_refused("\t\tnat = { to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from: required");
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; };\n", "\n",
		    "t.conf:13: egress[0].nat.to: required");
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; "
		    "to = \"203.0.112.0/23\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.to: 203.0.112.0/23 holds 512 "
		    "addresses; at most 256 allowed (a /24)");
	nat_refused("\t\tnat = { from = [ \"192.168.0.0/16\" ]; "
		    "to = \"203.0.113.8/29\"; pool = 1; };\n", "\n",
		    "t.conf:13: egress[0].nat.pool: unknown setting");
	nat_refused("\t\tnat = \"192.168.0.0/16\";\n", "\n",
		    "t.conf:13: egress[0].nat: expected a group");
	/* One more from prefix than allowed. */
	many = malloc(CONFIG_NAT_MAX_FROM * 24 + 128);
	ck_assert_ptr_nonnull(many);
	off = (size_t)sprintf(many, "\t\tnat = { to = \"203.0.113.8/29\"; from = [ ");
	for (unsigned int i = 0; i <= CONFIG_NAT_MAX_FROM; i++)
		off += (size_t)sprintf(many + off, "%s\"10.%u.%u.0/24\"",
				       i ? ", " : "", i / 256, i % 256);
	sprintf(many + off, " ]; };\n");
	nat = many;
	nat_refused(nat, "\n", "t.conf:13: egress[0].nat.from: 1025 prefixes; "
		    "at most 1024 allowed");
	free(many);
}
END_TEST

START_TEST(test_nat_from_holding_a_tunnel_endpoint_is_refused)
{
	nat_refused("\t\tnat = { from = [ \"198.51.100.0/24\" ]; "
		    "to = \"203.0.113.8/29\"; };\n", "\n",
		    "t.conf:13: egress[0].nat.from[0]: 198.51.100.0/24 contains "
		    "the local address 198.51.100.2 of tunnel \"cf1\" (line 2)");
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase_create("good"), *bad = tcase_create("bad");
	TCase *files = tcase_create("files"), *fuzz = tcase_create("fuzz");
	TCase *ike;

	tcase_add_test(good, test_minimal_file_gets_every_default);
	tcase_add_test(good, test_nat_is_parsed_printed_and_round_trips);
	tcase_add_test(good, test_dual_stack_tunnels_and_policies_parse_with_their_ipv6_parts);
	tcase_add_test(good, test_unauthorized6_defaults_to_unauthorized_and_ipv4_configs_print_as_before);
	tcase_add_test(bad, test_nat_to_outside_the_policys_prefixes_is_refused);
	tcase_add_test(bad, test_nat_from_overlapping_any_authorized_prefix_is_refused);
	tcase_add_test(bad, test_nat_from_overlapping_another_nat_from_is_refused);
	tcase_add_test(bad, test_nat_is_ipv4_only_and_says_nat66_is_not_offered);
	tcase_add_test(bad, test_nat_needs_from_and_to_within_limits);
	tcase_add_test(bad, test_nat_from_holding_a_tunnel_endpoint_is_refused);
	tcase_add_test(good, test_passive_timeout_is_off_by_default_global_and_per_tunnel);
	tcase_add_test(good, test_tunnel_probe_inherits_global_defaults_and_overrides_keys);
	tcase_add_test(good, test_probe_family_is_ipv4_by_default_inherited_and_overridden_per_tunnel);
	tcase_add_test(good, test_fixtures_print_byte_for_byte_as_their_nv_files);
	tcase_add_test(good, test_example_in_etc_is_valid_and_prefers_isp1);
	tcase_add_test(good, test_everything_fixture_keeps_every_explicit_value);
	tcase_add_test(good,
		       test_ipsec_mtu_is_esp_arithmetic_and_mss_capped_at_1360);
	tcase_add_test(good, test_peer_defaults_to_the_other_host_of_a_30);
	tcase_add_test(good, test_log_level_accepts_warning_and_warn);
	tcase_add_test(good, test_config_without_tunnels_needs_allow_empty);
	tcase_add_test(good, test_reload_that_removes_every_policy_needs_allow_empty);
	tcase_add_test(bad, test_empty_and_comment_only_files_are_refused);
	tcase_add_test(bad, test_unterminated_block_comment_is_refused_at_its_line);
	tcase_add_test(good, test_print_round_trips_to_an_equal_config);
	suite_add_tcase(s, good);

	tcase_add_test(bad, test_syntax_error_is_reported_with_its_line);
	tcase_add_test(bad, test_wrong_type_names_the_expected_type);
	tcase_add_test(bad, test_non_boolean_mss_clamp_is_rejected);
	tcase_add_test(bad,
		       test_tunnel_name_longer_than_15_is_rejected_with_line);
	tcase_add_test(bad, test_unknown_tunnel_type_is_rejected);
	tcase_add_test(bad, test_local_with_prefix_length_is_rejected);
	tcase_add_test(bad, test_inner_address_must_be_31_or_30);
	tcase_add_test(bad, test_network_address_of_a_30_is_rejected);
	tcase_add_test(bad, test_peer_outside_the_inner_prefix_is_rejected);
	tcase_add_test(bad, test_peer_equal_to_own_address_is_rejected);
	tcase_add_test(bad, test_gre_mtu_above_1476_is_rejected);
	tcase_add_test(bad, test_ipsec_mtu_above_esp_limit_is_rejected);
	tcase_add_test(bad, test_ttl_zero_is_rejected);
	tcase_add_test(bad, test_underlay_without_interface_is_rejected);
	tcase_add_test(bad, test_ike_on_a_gre_tunnel_is_rejected);
	tcase_add_test(bad, test_ipsec_tunnel_without_psk_is_rejected);
	tcase_add_test(bad, test_ike_proposal_without_a_prf_is_rejected);
	tcase_add_test(bad, test_dpd_turned_off_is_rejected);
	tcase_add_test(bad, test_psk_inline_and_from_a_file_is_rejected);
	tcase_add_test(bad, test_psk_is_decoded_by_cfgparse_and_later_lines_stay);
	tcase_add_test(bad, test_unknown_probe_setting_is_rejected);
	tcase_add_test(bad, test_all_down_other_than_keep_or_isp_is_rejected);
	tcase_add_test(bad, test_probe_timeout_longer_than_down_after_intervals_is_rejected);
	tcase_add_test(bad, test_probe_target_outside_a_tunnel_is_rejected);
	tcase_add_test(bad, test_passive_timeout_below_a_second_is_rejected);
	tcase_add_test(bad, test_passive_timeout_above_an_hour_is_rejected);
	tcase_add_test(bad, test_passive_target_outside_a_tunnel_is_rejected);
	tcase_add_test(bad, test_passive_target_with_a_length_is_rejected);
	tcase_add_test(bad, test_duplicate_policy_name_is_rejected);
	tcase_add_test(bad, test_policy_names_equal_as_nft_sets_are_rejected);
	tcase_add_test(bad, test_policy_name_of_32_characters_is_rejected);
	tcase_add_test(bad, test_policy_without_prefixes_is_rejected);
	tcase_add_test(bad,
		       test_host_bits_in_authorized_prefix_are_rejected_with_line);
	tcase_add_test(bad, test_ipv6_prefix_through_a_tunnel_without_address6_is_rejected);
	tcase_add_test(bad, test_address6_other_than_a_127_is_rejected);
	tcase_add_test(bad, test_link_local_address6_is_rejected);
	tcase_add_test(bad, test_two_tunnels_with_one_address6_are_rejected);
	tcase_add_test(bad, test_overlapping_ipv6_prefixes_of_two_policies_are_rejected);
	tcase_add_test(bad, test_link_local_ipv6_prefix_is_rejected);
	tcase_add_test(bad, test_unauthorized6_other_than_isp_or_drop_is_rejected);
	tcase_add_test(bad, test_policy_without_tunnels_is_rejected);
	tcase_add_test(bad, test_policy_naming_an_undefined_tunnel_is_rejected);
	tcase_add_test(bad, test_priority_is_required);
	tcase_add_test(bad, test_negative_priority_is_rejected);
	tcase_add_test(bad,
		       test_integer_past_32_bits_without_L_is_not_silently_wrapped);
	tcase_add_test(bad, test_weight_above_256_is_rejected);
	tcase_add_test(bad, test_tunnel_listed_twice_in_a_policy_is_rejected);
	tcase_add_test(bad, test_duplicate_tunnel_name_is_rejected);
	tcase_add_test(bad, test_duplicate_inner_address_is_rejected);
	tcase_add_test(bad, test_overlapping_inner_prefixes_are_rejected);
	tcase_add_test(bad,
		       test_two_tunnels_with_same_local_and_remote_are_rejected);
	tcase_add_test(bad,
		       test_prefixes_overlapping_across_policies_are_rejected);
	tcase_add_test(bad,
		       test_tunnel_remote_inside_authorized_prefix_is_rejected);
	tcase_add_test(bad, test_include_is_refused);
	tcase_add_test(bad, test_unknown_settings_are_all_reported_in_file_order);
	tcase_add_test(bad, test_rejected_values_are_echoed_escaped);
	tcase_add_test(bad, test_more_than_100_uplinks_are_refused_with_line);
	tcase_add_test(bad, test_remote_inside_an_inner_prefix_is_refused);
	tcase_add_test(bad, test_local_equal_to_an_inner_address_is_refused);
	tcase_add_test(bad, test_probe_source_inside_an_authorized_prefix_is_refused);
	tcase_add_test(bad, test_probe_family_other_than_ipv4_ipv6_or_both_is_refused);
	tcase_add_test(bad, test_probe_family_ipv6_or_both_needs_the_tunnels_address6);
	tcase_add_test(bad, test_ipv6_only_probes_refuse_an_ipv4_target_or_source);
	tcase_add_test(bad, test_address6_inside_an_authorized_prefix_is_refused_when_probed_with_icmpv6);
	tcase_add_test(bad, test_more_than_800_policies_are_refused_with_line);
	tcase_add_test(bad,
		test_duplicate_and_overlapping_prefixes_in_one_policy_are_rejected);
	tcase_add_test(bad,
		       test_more_than_64_tunnels_sharing_a_priority_are_rejected);
	suite_add_tcase(s, bad);

	tcase_add_test(files, test_psk_file_readable_by_others_is_refused);
	tcase_add_test(files, test_psk_file_with_mode_0600_is_accepted);
	tcase_add_test(files, test_psk_file_owned_by_another_user_is_refused);
	tcase_add_test(files, test_file_without_secrets_may_be_world_readable);
	tcase_add_test(files,
		       test_missing_file_and_directory_are_errors_not_crashes);
	tcase_add_test(files, test_nul_byte_in_file_is_a_syntax_error);
	tcase_add_test(files,
		       test_fifo_or_device_at_the_path_is_refused_without_blocking);
	suite_add_tcase(s, files);

	ike = tcase_create("ike");
	tcase_add_test(ike, test_ipsec_tunnel_gets_every_ike_default_explicitly);
	tcase_add_test(ike, test_provider_local_id_formats_are_rfc822_fqdn_keyid_and_ipv4);
	tcase_add_test(ike, test_fqdn_id_without_a_dot_is_accepted_with_a_keyid_warning);
	tcase_add_test(ike,
		       test_ike_ids_that_match_anything_or_are_not_ikev2_ids_are_refused);
	tcase_add_test(ike, test_ml_kem_proposals_and_lists_of_proposals_are_accepted);
	tcase_add_test(ike, test_each_bad_proposal_is_refused_with_what_is_wrong);
	tcase_add_test(ike,
		       test_lifetimes_below_the_provider_ranges_are_accepted_with_warnings);
	tcase_add_test(ike,
		       test_lifetimes_too_long_too_short_or_child_not_shorter_are_refused);
	tcase_add_test(ike, test_replay_window_is_0_by_default_and_0_to_4096);
	tcase_add_test(ike, test_dpd_cannot_be_turned_off_and_is_1_to_300_s);
	tcase_add_test(ike, test_ike_keys_misspelt_misplaced_or_doubled_are_refused);
	tcase_add_test(ike, test_config_without_ipsec_tunnels_never_brings_strongswan_up);
	tcase_add_test(ike, test_psk_file_is_read_without_its_newline_and_printed_as_its_path);
	tcase_add_test(ike, test_psk_file_open_to_group_or_others_is_refused_naming_it);
	tcase_add_test(ike, test_psk_file_owned_by_another_user_is_refused_naming_it);
	tcase_add_test(ike,
		       test_psk_file_empty_multiline_nul_symlink_or_missing_is_refused);
	tcase_add_test(ike, test_config_naming_a_psk_file_may_itself_be_world_readable);
	tcase_add_test(ike, test_redacted_print_shows_every_ike_setting_but_the_psk);
	tcase_add_test(ike, test_example_ipsec_tunnel_in_etc_is_valid_when_uncommented);
	tcase_add_test(ike, test_same_ids_with_different_psks_are_refused_naming_both);
	tcase_add_test(ike, test_ipsec_mtu_follows_the_worst_esp_proposal_and_nat_t);
	suite_add_tcase(s, ike);

	tcase_add_test(fuzz, test_truncated_files_at_every_offset_never_crash);
	suite_add_tcase(s, fuzz);
	return s;
}

CHECK_MAIN(config_suite)
