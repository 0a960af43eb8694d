/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipsec.c, the daemon's IKE following the running config, with the fake
 * driver: a GRE-only config never starts IKE; ipsec tunnels are set at
 * commit (never at prepare) with their interfaces' if_ids; a reload that
 * changes one ipsec tunnel re-keys it alone; a removed one is forgotten;
 * abort undoes a start; a CHILD_SA gone takes the tunnel's health down at
 * once and its return brings it up only after up_after answers; probes
 * taking a tunnel down check its peer (DPD now), an SA gone does not;
 * and the prober wired to it as tunsteerd.c does (with CAP_NET_RAW).
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "tunsteerd/desired.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ipsec.h"
#include "tunsteerd/loop.h"
#include "tunsteerd/probe.h"
#include "testlib.h"
#include "ike_fake.h"

static struct event_base *base;
static struct ipsec *ips;
static struct config *conf;
static char changed[1024];		/* "v1\nv1\n": sa_changed calls */
/* v1's health as the prober would keep it: the hook samples the SA. */
static struct health hv1;
static uint64_t now_ms;

/* g1 (GRE), and v1 and v2 (ipsec) if @v1 and @v2; @psk2 is v2's key. */
static struct config *
load(const char *psk2, bool v1, bool v2)
{
	struct config_errors errs = { 0 };
	char text[1024];
	struct config *c;
	int n;

	n = snprintf(text, sizeof(text), "tunnels = (\n"
		"  { name = \"g1\"; type = \"gre\"; local = \"198.51.100.2\";"
		" remote = \"192.0.2.9\"; address = \"198.19.0.1/31\"; }");
	if (v1)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ",\n"
			"  { name = \"v1\"; type = \"ipsec\"; local = \"198.51.100.2\";"
			" remote = \"192.0.2.1\"; address = \"198.19.0.3/31\";"
			" ike = { psk = \"psk-of-v1\"; }; }");
	if (v2)
		n += snprintf(text + n, sizeof(text) - (size_t)n, ",\n"
			"  { name = \"v2\"; type = \"ipsec\"; local = \"198.51.100.2\";"
			" remote = \"192.0.2.2\"; address = \"198.19.0.5/31\";"
			" ike = { psk = \"%s\"; }; }", psk2);
	snprintf(text + n, sizeof(text) - (size_t)n, "\n);\n");
	c = config_load_string(text, "t.conf", &errs);
	ck_assert_msg(c != NULL, "refused: %s\n%s",
		      errs.n ? errs.msgs[0] : "?", text);
	return c;
}

static struct ike_driver *
driver_cb(void *arg, int *err)
{
	(void)arg;
	(void)err;
	return ike_fake_new();
}

static void
sa_changed_cb(void *arg, const char *name)
{
	size_t n = strlen(changed);

	snprintf(changed + n, sizeof(changed) - n, "%s\n", name);
	/* What the prober does (probe_engine_sa_changed()). */
	if (strcmp(name, "v1") == 0)
		(void)health_sa(&hv1, ipsec_sa_missing(ips, name), now_ms);
}

/* Load @c (taken over) as the running config. */
static void
use(struct config *c)
{
	ck_assert_int_eq(ipsec_prepare(ips, c), 0);
	ipsec_commit(ips);
	config_free(conf);
	conf = c;
}

static uint32_t
if_id_of(const char *name)
{
	uint32_t ids[8];

	ck_assert_uint_le(conf->n_tunnels, 8);
	ck_assert_int_eq(desired_xfrm_if_ids(conf, ids), 0);
	for (size_t i = 0; i < conf->n_tunnels; i++)
		if (strcmp(conf->tunnels[i].name, name) == 0)
			return ids[i];
	ck_abort_msg("no tunnel %s", name);
	return 0;
}

static void
setup(void)
{
	log_init("check_ipsec", true, LOG_LVL_ERR);
	base = loop_base_new();
	ck_assert_ptr_nonnull(base);
	ips = ipsec_create(base, &(struct ipsec_hooks){
		.driver = driver_cb, .sa_changed = sa_changed_cb });
	ck_assert_ptr_nonnull(ips);
	conf = NULL;
	changed[0] = '\0';
	ike_fake_made = 0;
	ike_fake_start_err = 0;
	now_ms = 100000;
}

static void
teardown(void)
{
	ipsec_destroy(ips);
	config_free(conf);
	event_base_free(base);
}

static void
drain(void)
{
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

static void
post(const char *tunnel, enum ike_event_kind kind, uint32_t ike_id,
     uint32_t child_id, int state, uint32_t arg)
{
	struct ike_event ev = { .kind = kind, .ike_id = ike_id,
				.child_id = child_id, .state = state,
				.arg = arg };

	snprintf(ev.tunnel, sizeof(ev.tunnel), "%s", tunnel);
	ike_post(ike_fake->ike, &ev);
}

/* @tunnel up on IKE SA @id with CHILD SA @id + 100, as charon reports it. */
static void
bring_up(const char *tunnel, uint32_t id)
{
	post(tunnel, IKE_EV_IKE_STATE, id, 0, IKE_SA_CONNECTING, 0);
	post(tunnel, IKE_EV_INITIATED, 0, 0, 0, 1);
	post(tunnel, IKE_EV_IKE_STATE, id, 0, IKE_SA_ESTABLISHED, 0);
	post(tunnel, IKE_EV_CHILD_STATE, id, id + 100, IKE_CHILD_INSTALLING, 0);
	post(tunnel, IKE_EV_CHILD_STATE, id, id + 100, IKE_CHILD_INSTALLED, 0);
	drain();
}

START_TEST(test_gre_only_config_never_starts_ike)
{
	use(load("", false, false));
	ck_assert_uint_eq(ike_fake_made, 0);
	ck_assert(!ipsec_running(ips));
	/* Without IKE an ipsec tunnel has no SA, and nobody is checked. */
	ck_assert(ipsec_sa_missing(ips, "v1"));
	ck_assert_int_eq(ipsec_status(ips, "g1", &(struct ike_status){ 0 }),
			 -ENOENT);
}
END_TEST

START_TEST(test_ipsec_tunnels_are_set_at_commit_with_their_if_ids)
{
	struct config *c = load("psk-of-v2", true, true);
	char want[256];

	ck_assert_int_eq(ipsec_prepare(ips, c), 0);
	ck_assert_uint_eq(ike_fake_made, 1);
	ck_assert(ipsec_running(ips));
	/* Prepare touches no tunnel: the config may still be refused. */
	ck_assert_str_eq(ike_fake_calls(), "");
	ipsec_commit(ips);
	conf = c;
	snprintf(want, sizeof(want),
		 "peer v1 %#x psk-of-v1\ninitiate v1\n"
		 "peer v2 %#x psk-of-v2\ninitiate v2\n",
		 if_id_of("v1"), if_id_of("v2"));
	ck_assert_str_eq(ike_fake_calls(), want);
	ck_assert(if_id_of("v1") != if_id_of("v2"));
	/* Nothing for the GRE tunnel. */
	ck_assert_int_eq(ipsec_status(ips, "g1", &(struct ike_status){ 0 }),
			 -ENOENT);
	ipsec_log_level_changed(ips);
	ck_assert_str_eq(ike_fake_calls(), "log err\n");
}
END_TEST

START_TEST(test_abort_stops_the_ike_its_prepare_started)
{
	struct config *c = load("psk-of-v2", true, true);

	ck_assert_int_eq(ipsec_prepare(ips, c), 0);
	ck_assert(ipsec_running(ips));
	ipsec_abort(ips);
	ck_assert(ike_fake_destroyed);
	ck_assert(!ipsec_running(ips));
	config_free(c);
	/* A later load starts it afresh. */
	use(load("psk-of-v2", true, false));
	ck_assert(ipsec_running(ips));
	ck_assert_uint_eq(ike_fake_made, 2);
}
END_TEST

START_TEST(test_ike_that_cannot_start_refuses_the_config)
{
	struct config *c = load("psk-of-v2", true, true);

	ike_fake_start_err = -EBUSY;
	ck_assert_int_eq(ipsec_prepare(ips, c), -EBUSY);
	ck_assert(!ipsec_running(ips));
	ipsec_abort(ips);
	config_free(c);
}
END_TEST

START_TEST(test_reload_changing_one_ipsec_tunnel_rekeys_it_alone)
{
	struct ike_status st;
	char want[256];

	use(load("psk-of-v2", true, true));
	bring_up("v1", 1);
	bring_up("v2", 2);
	(void)ike_fake_calls();
	/* The same config again: nothing at all. */
	use(load("psk-of-v2", true, true));
	ck_assert_str_eq(ike_fake_calls(), "");
	/* v2's key changes: v2's new peer config, its SA deleted, a new
	 * one initiated; v1 is not touched. */
	use(load("new-psk-of-v2", true, true));
	snprintf(want, sizeof(want),
		 "peer v2 %#x new-psk-of-v2\nterminate 2\ninitiate v2\n",
		 if_id_of("v2"));
	ck_assert_str_eq(ike_fake_calls(), want);
	ck_assert_int_eq(ipsec_status(ips, "v1", &st), 0);
	ck_assert_int_eq(st.link, IKE_LINK_UP);
	ck_assert_uint_eq(st.ike_id, 1);
}
END_TEST

START_TEST(test_removed_ipsec_tunnels_are_forgotten_and_ike_stays)
{
	use(load("psk-of-v2", true, true));
	bring_up("v1", 1);
	bring_up("v2", 2);
	(void)ike_fake_calls();
	use(load("psk-of-v2", true, false));
	ck_assert_str_eq(ike_fake_calls(), "terminate 2\nforget v2\n");
	ck_assert_int_eq(ipsec_status(ips, "v2", &(struct ike_status){ 0 }),
			 -ENOENT);
	/* The last one gone: its SAs go, IKE keeps running (one libcharon
	 * per process, DESIGN.md). */
	use(load("", false, false));
	ck_assert_str_eq(ike_fake_calls(), "terminate 1\nforget v1\n");
	ck_assert(ipsec_running(ips));
	ck_assert(!ike_fake_destroyed);
	ck_assert_uint_eq(ike_fake_made, 1);
}
END_TEST

/* The prober's view of v1: health_sa() fed from ipsec_sa_missing()
 * through the hook, as tunsteerd.c wires it. */
START_TEST(test_child_sa_gone_is_down_at_once_and_back_after_up_after)
{
	struct config_probe pc = CONFIG_PROBE_DEFAULTS;

	use(load("psk-of-v2", true, false));
	health_init(&hv1, &pc);
	/* Before any SA: missing, as the prober samples at prepare. */
	ck_assert(ipsec_sa_missing(ips, "v1"));
	(void)health_sa(&hv1, ipsec_sa_missing(ips, "v1"), now_ms);
	ck_assert_int_eq(hv1.state, HEALTH_DOWN);
	ck_assert_str_eq(hv1.reason, HEALTH_NO_CHILD_SA);

	bring_up("v1", 1);
	ck_assert_str_eq(changed, "v1\n");
	ck_assert(!ipsec_sa_missing(ips, "v1"));
	ck_assert_int_eq(hv1.state, HEALTH_DOWN);
	/* Up only after up_after answers (and the hold-down). */
	now_ms += pc.holddown_ms;
	for (unsigned int i = 1; i < pc.up_after; i++)
		health_feed(&hv1, true, 1000, now_ms += pc.interval_ms);
	ck_assert_int_eq(hv1.state, HEALTH_DOWN);
	health_feed(&hv1, true, 1000, now_ms += pc.interval_ms);
	ck_assert_int_eq(hv1.state, HEALTH_UP);

	/* The peer deletes the CHILD_SA: down now, no probe lost. */
	post("v1", IKE_EV_CHILD_STATE, 1, 101, IKE_CHILD_DELETING, 0);
	drain();
	ck_assert_str_eq(changed, "v1\nv1\n");
	ck_assert(ipsec_sa_missing(ips, "v1"));
	ck_assert_int_eq(hv1.state, HEALTH_DOWN);
	ck_assert_str_eq(hv1.reason, HEALTH_NO_CHILD_SA);
}
END_TEST

START_TEST(test_probes_down_check_the_peer_but_a_missing_sa_does_not)
{
	struct config_probe pc = CONFIG_PROBE_DEFAULTS;
	struct health h;

	use(load("psk-of-v2", true, true));
	bring_up("v1", 1);
	(void)ike_fake_calls();
	health_init(&h, &pc);
	health_feed(&h, true, 1000, now_ms);
	ck_assert_int_eq(h.state, HEALTH_UP);
	/* Degraded is no reason to check. */
	h.state = HEALTH_DEGRADED;
	ipsec_health_changed(ips, "v1", HEALTH_UP, &h);
	ck_assert_str_eq(ike_fake_calls(), "");
	/* Probes take v1 down while its SA is installed: DPD now. */
	for (unsigned int i = 0; i < pc.down_after; i++)
		health_feed(&h, false, 0, now_ms += pc.interval_ms);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ipsec_health_changed(ips, "v1", HEALTH_DEGRADED, &h);
	ck_assert_str_eq(ike_fake_calls(), "dpd 1\n");
	/* Down already: no second check. */
	ipsec_health_changed(ips, "v1", HEALTH_DOWN, &h);
	ck_assert_str_eq(ike_fake_calls(), "");
	/* v2 has no SA: down because of it, IKE is already on it, and a
	 * check would cut its back-off short. */
	health_init(&h, &pc);
	(void)health_sa(&h, ipsec_sa_missing(ips, "v2"), now_ms);
	ck_assert_int_eq(h.state, HEALTH_DOWN);
	ipsec_health_changed(ips, "v2", HEALTH_INIT, &h);
	ck_assert_str_eq(ike_fake_calls(), "");
	/* A GRE tunnel going down is none of IKE's business. */
	health_init(&h, &pc);
	for (unsigned int i = 0; i < pc.down_after; i++)
		health_feed(&h, false, 0, now_ms += pc.interval_ms);
	ipsec_health_changed(ips, "g1", HEALTH_INIT, &h);
	ck_assert_str_eq(ike_fake_calls(), "");
}
END_TEST

/* --- with the prober, wired as tunsteerd.c wires it ----------------------- */

static struct probe_engine *pe;
static char asked[512];			/* names the prober asked about */
static unsigned int moves;		/* its change callbacks */

static bool
probe_sa_cb(void *arg, const char *name)
{
	size_t n = strlen(asked);

	(void)arg;
	snprintf(asked + n, sizeof(asked) - n, "%s ", name);
	return ipsec_sa_missing(ips, name);
}

static void
probe_moved_cb(void *arg, size_t i, enum health_state old)
{
	(void)arg;
	(void)i;
	(void)old;
	moves++;
}

static void
probe_sa_changed_cb(void *arg, const char *name)
{
	(void)arg;
	probe_engine_sa_changed(pe, name);
}

/*
 * A new ipsec tunnel is down in the set the prober prepares, before any
 * probe is sent ("no CHILD_SA installed"); its health hears the CHILD_SA
 * come and go at once, not at its next tick; GRE tunnels are never asked.
 */
START_TEST(test_prober_hears_the_child_sa_at_once)
{
	const struct health *h;
	struct config *c;
	int err;

	pe = probe_engine_create(base, probe_moved_cb, NULL, &err);
	if (pe == NULL) {
		/* No raw socket without CAP_NET_RAW. */
		ck_assert_int_eq(err, -EPERM);
		return;
	}
	ipsec_destroy(ips);
	ips = ipsec_create(base, &(struct ipsec_hooks){
		.driver = driver_cb, .sa_changed = probe_sa_changed_cb });
	ck_assert_ptr_nonnull(ips);
	probe_engine_set_sa_source(pe, probe_sa_cb, NULL);
	asked[0] = '\0';
	moves = 0;
	c = load("psk-of-v2", true, false);
	ck_assert_int_eq(ipsec_prepare(ips, c), 0);
	ck_assert_int_eq(probe_engine_prepare(pe, c), 0);
	probe_engine_commit(pe);
	ipsec_commit(ips);
	conf = c;
	ck_assert_str_eq(asked, "v1 ");
	ck_assert_ptr_nonnull(h = probe_health_of(pe, "v1"));
	ck_assert_int_eq(h->state, HEALTH_DOWN);
	ck_assert_str_eq(h->reason, HEALTH_NO_CHILD_SA);
	ck_assert(h->sa_missing);
	ck_assert_int_eq(probe_health_of(pe, "g1")->state, HEALTH_INIT);

	/* Installed: still down (answers will decide), but no longer
	 * missing, without a tick. */
	bring_up("v1", 1);
	h = probe_health_of(pe, "v1");
	ck_assert(!h->sa_missing);
	ck_assert_int_eq(h->state, HEALTH_DOWN);
	ck_assert_uint_eq(moves, 0);
	/* Gone again: missing at once. */
	post("v1", IKE_EV_CHILD_STATE, 1, 101, IKE_CHILD_DELETING, 0);
	drain();
	ck_assert(probe_health_of(pe, "v1")->sa_missing);
	ck_assert_ptr_null(strstr(asked, "g1"));

	ipsec_destroy(ips);
	ips = NULL;
	probe_engine_destroy(pe);
}
END_TEST

static Suite *
ipsec_suite(void)
{
	Suite *s = suite_create("ipsec");
	TCase *tc = tcase_create("daemon wiring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_gre_only_config_never_starts_ike);
	tcase_add_test(tc, test_ipsec_tunnels_are_set_at_commit_with_their_if_ids);
	tcase_add_test(tc, test_abort_stops_the_ike_its_prepare_started);
	tcase_add_test(tc, test_ike_that_cannot_start_refuses_the_config);
	tcase_add_test(tc, test_reload_changing_one_ipsec_tunnel_rekeys_it_alone);
	tcase_add_test(tc, test_removed_ipsec_tunnels_are_forgotten_and_ike_stays);
	tcase_add_test(tc, test_child_sa_gone_is_down_at_once_and_back_after_up_after);
	tcase_add_test(tc, test_probes_down_check_the_peer_but_a_missing_sa_does_not);
	tcase_add_test(tc, test_prober_hears_the_child_sa_at_once);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ipsec_suite)
