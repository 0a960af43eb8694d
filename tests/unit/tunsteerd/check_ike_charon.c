/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ike_charon.c, libcharon as ike.c's driver, for real: each test runs in
 * a network namespace of its own (unshare), so charon's sockets and
 * netlink reach nothing of the host.  Without root or unshare the tests
 * pass without running (they say so).
 *
 * What is shown: charon starts from our settings and plugin list alone
 * (a strongswan.conf named by STRONGSWAN_CONF is not read), adds no rule,
 * table or route; one driver per process; the PSK lookup answers each
 * tunnel's own key and forgets it on removal; events flow from charon's
 * threads through the bus listener to the loop (an unreachable peer:
 * failed attempts with their reason); charon's log reaches ours only at
 * debug.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <library.h>
#include <daemon.h>

#include "lib/log.h"
#include "lib/secmem.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/loop.h"
#include "testlib.h"

static bool can_run;
static struct event_base *base;
static struct ike *ike;
static char *log_path;
static struct config_tunnel tun;

/* Run @cmd; its exit status. */
static int
sh(const char *cmd)
{
	return system(cmd);
}

/* Everything @cmd prints (caller frees). */
static char *
out_of(const char *cmd)
{
	char *buf = calloc(1, 65536);
	size_t n;
	FILE *p = popen(cmd, "r");

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(p);
	n = fread(buf, 1, 65535, p);
	buf[n] = '\0';
	pclose(p);
	return buf;
}

static void
setup(void)
{
	can_run = getuid() == 0 && unshare(CLONE_NEWNET) == 0;
	if (!can_run) {
		fprintf(stdout, "check_ike_charon: needs root and unshare: "
			"not run\n");
		return;
	}
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 1);
	ck_assert_int_eq(sh("ip link set lo up && ip addr add 10.9.9.1/32 dev lo "
			    "&& ip route add blackhole 10.9.9.2/32"), 0);
	log_path = temp_file("");
	ck_assert_ptr_nonnull(freopen(log_path, "w", stderr));
	setvbuf(stderr, NULL, _IONBF, 0);
	log_init("t", true, LOG_LVL_INFO);
	base = loop_base_new();
	ck_assert_ptr_nonnull(base);
	memset(&tun, 0, sizeof(tun));
	snprintf(tun.name, sizeof(tun.name), "cf1");
	tun.type = TUNNEL_IPSEC;
	tun.local = ip("10.9.9.1");
	tun.remote = ip("10.9.9.2");
	tun.ike.set = true;
	tun.ike.psk = secmem_strdup("psk-of-cf1-0123456789");
	tun.ike.local_id = "ipsec@cf1.example.net";
	tun.ike.ike_lifetime_s = 3600;
	tun.ike.child_lifetime_s = 1800;
	tun.ike.dpd_s = 10;
}

static void
teardown(void)
{
	if (!can_run)
		return;
	ike_destroy(ike);
	event_base_free(base);
	secmem_free_str(tun.ike.psk);
	unlink(log_path);
	free(log_path);
}

static void
start(const struct ike_charon_opts *opts)
{
	struct ike_driver *drv;
	int err;

	drv = ike_charon_create(opts, &err);
	ck_assert_msg(drv, "ike_charon_create: %s", strerror(-err));
	ck_assert_int_eq(ike_create(base, drv, NULL, &ike), 0);
}

static char *
logged(void)
{
	fflush(stderr);
	return slurp(log_path);
}

START_TEST(test_charon_runs_on_our_settings_alone_and_adds_no_rule_or_route)
{
	char *conf, *rules, *routes, *loaded;

	if (!can_run)
		return;
	/* A strongswan.conf that would turn routes on: never read. */
	conf = temp_file("tunsteerd { install_routes = yes\n marker = 1 }\n"
			 "charon { install_routes = yes }\n");
	setenv("STRONGSWAN_CONF", conf, 1);
	start(NULL);
	ck_assert(!lib->settings->get_bool(lib->settings, "%s.install_routes",
					   true, lib->ns));
	ck_assert(!lib->settings->get_bool(lib->settings, "%s.install_virtual_ip",
					   true, lib->ns));
	ck_assert_int_eq(lib->settings->get_int(lib->settings, "%s.routing_table",
						-1, lib->ns), 0);
	ck_assert(lib->settings->get_bool(lib->settings, "%s.make_before_break",
					  false, lib->ns));
	ck_assert(!lib->settings->get_bool(lib->settings, "%s.reuse_ikesa",
					   true, lib->ns));
	ck_assert(lib->settings->get_bool(lib->settings, "%s.initiator_only",
					  false, lib->ns));
	ck_assert_int_eq(lib->settings->get_int(lib->settings, "%s.marker", 0,
						lib->ns), 0);
	ck_assert_int_eq(lib->settings->get_int(lib->settings, "%s.reqid_base",
						0, lib->ns), 0x74730001);
	/* And it took: the first reqid charon hands out is ours. */
	{
		linked_list_t *l = linked_list_create_with_items(
			traffic_selector_create_from_cidr("0.0.0.0/0", 0, 0, 65535), NULL);
		linked_list_t *r = linked_list_create_with_items(
			traffic_selector_create_from_cidr("0.0.0.0/0", 0, 0, 65535), NULL);
		mark_t none = { 0, 0 };
		uint32_t reqid = 0;

		ck_assert_int_eq(charon->kernel->alloc_reqid(charon->kernel, l, r,
				 none, none, 0x74730042, 0x74730042, NULL, &reqid),
				 SUCCESS);
		ck_assert_uint_eq(reqid, 0x74730001);
		ck_assert_int_eq(charon->kernel->release_reqid(charon->kernel,
				 reqid), SUCCESS);
		l->destroy_offset(l, offsetof(traffic_selector_t, destroy));
		r->destroy_offset(r, offsetof(traffic_selector_t, destroy));
	}
	ck_assert_int_eq(lib->settings->get_int(lib->settings,
			 "%s.retransmit_tries", 0, lib->ns), 3);
	ck_assert(lib->settings->get_double(lib->settings,
		  "%s.retransmit_timeout", 0, lib->ns) == 2.0);
	loaded = lib->plugins->loaded_plugins(lib->plugins);
	ck_assert_msg(strstr(loaded, "kernel-netlink") && strstr(loaded, " ml ") &&
		      strstr(loaded, "socket-default") && strstr(loaded, "openssl"),
		      "loaded: %s", loaded);
	ck_assert_msg(!strstr(loaded, "vici") && !strstr(loaded, "stroke"),
		      "loaded: %s", loaded);
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74730042), 1);
	rules = out_of("ip rule");
	routes = out_of("ip route show table all");
	ck_assert_str_eq(rules, "0:\tfrom all lookup local\n"
			 "32766:\tfrom all lookup main\n"
			 "32767:\tfrom all lookup default\n");
	ck_assert_ptr_null(strstr(routes, "table 220"));
	free(rules);
	free(routes);
	unlink(conf);
	free(conf);
}
END_TEST

/* Signals are the loop's: every thread charon made blocks them. */
START_TEST(test_charon_threads_leave_signals_to_the_loop)
{
	char *tasks, *tok, *save = NULL, cmd[64];
	unsigned int threads = 0;

	if (!can_run)
		return;
	start(NULL);
	snprintf(cmd, sizeof(cmd), "ls /proc/%d/task", (int)getpid());
	tasks = out_of(cmd);
	for (tok = strtok_r(tasks, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		char path[64], line[256];
		unsigned long long mask = 0;
		bool found = false;
		FILE *f;

		if ((pid_t)atoi(tok) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
			 (int)getpid(), tok);
		/* (A proc file has no size for slurp() to read.) */
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* a thread that ended meanwhile */
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "SigBlk:", 7) == 0) {
				mask = strtoull(line + 7, NULL, 16);
				found = true;
			}
		fclose(f);
		ck_assert(found);
		ck_assert_msg(mask & (1ULL << (SIGTERM - 1)) &&
			      mask & (1ULL << (SIGHUP - 1)) &&
			      mask & (1ULL << (SIGINT - 1)),
			      "thread %s blocks only %llx", tok, mask);
		threads++;
	}
	/* 8 workers at least (ASan adds none of its own here). */
	ck_assert_uint_ge(threads, 8);
	free(tasks);
	/* And ours is as it was. */
	{
		sigset_t now;

		pthread_sigmask(SIG_SETMASK, NULL, &now);
		ck_assert(!sigismember(&now, SIGTERM));
	}
}
END_TEST

/* libstrongswan held by someone else (a config check): charon would
 * start on its plugins and settings; it refuses instead. */
START_TEST(test_charon_does_not_start_on_someone_elses_libstrongswan)
{
	struct ike_driver *drv;
	int err;

	if (!can_run)
		return;
	ck_assert(library_init("", "someone"));
	drv = ike_charon_create(NULL, &err);
	ck_assert_ptr_nonnull(drv);
	ck_assert_int_eq(ike_create(base, drv, NULL, &ike), -EBUSY);
	ck_assert_ptr_null(ike);
	library_deinit();
	/* Once let go, it starts. */
	start(NULL);
}
END_TEST

START_TEST(test_one_driver_per_process)
{
	int err;

	if (!can_run)
		return;
	start(NULL);
	ck_assert_ptr_null(ike_charon_create(NULL, &err));
	ck_assert_int_eq(err, -EBUSY);
}
END_TEST

/* Two tunnels to the same anycast address (one remote ID), one PSK
 * each: a lookup by identities finds each tunnel's own, and a removed
 * tunnel's is gone. */
START_TEST(test_psk_lookup_answers_each_tunnels_own_key_and_forgets_removed_ones)
{
	struct config_tunnel two = tun;
	identification_t *me1, *me2, *other;
	shared_key_t *k;

	if (!can_run)
		return;
	start(NULL);
	snprintf(two.name, sizeof(two.name), "cf2");
	two.ike.local_id = "ipsec@cf2.example.net";
	two.ike.psk = secmem_strdup("psk-of-cf2-9876543210");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74730042), 1);
	ck_assert_int_eq(ike_tunnel_set(ike, &two, 0x74730043), 1);
	me1 = identification_create_from_string("ipsec@cf1.example.net");
	me2 = identification_create_from_string("ipsec@cf2.example.net");
	other = identification_create_from_string("10.9.9.2");
	k = lib->credmgr->get_shared(lib->credmgr, SHARED_IKE, me1, other);
	ck_assert_ptr_nonnull(k);
	ck_assert(chunk_equals(k->get_key(k), chunk_from_str("psk-of-cf1-0123456789")));
	k->destroy(k);
	k = lib->credmgr->get_shared(lib->credmgr, SHARED_IKE, me2, other);
	ck_assert_ptr_nonnull(k);
	ck_assert(chunk_equals(k->get_key(k), chunk_from_str("psk-of-cf2-9876543210")));
	/* A key in use outlives the tunnel's removal, then goes. */
	ike_tunnel_remove(ike, "cf2");
	ck_assert(chunk_equals(k->get_key(k), chunk_from_str("psk-of-cf2-9876543210")));
	k->destroy(k);
	k = lib->credmgr->get_shared(lib->credmgr, SHARED_IKE, me2, other);
	ck_assert_ptr_null(k);
	me1->destroy(me1);
	me2->destroy(me2);
	other->destroy(other);
	secmem_free_str(two.ike.psk);
}
END_TEST

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ike_status st;

	if (ike_tunnel_status(ike, "cf1", &st) == 0 && st.attempts >= 2)
		event_base_loopbreak(base);
}

/* Nobody answers at 10.9.9.2: charon's threads report, through the bus
 * listener and the bridge, attempts that fail for want of an answer. */
START_TEST(test_an_unreachable_peer_is_reported_through_the_bridge)
{
	struct ike_charon_opts opts = { .retransmit_timeout_s = 0.2,
					.retransmit_tries = 1 };
	struct timeval every = { 0, 50000 }, limit = { 20, 0 };
	struct event *tick;
	struct ike_status st;
	char *log;

	if (!can_run)
		return;
	start(&opts);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(tick, &every), 0);
	event_base_loopexit(base, &limit);
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74730042), 1);
	event_base_dispatch(base);
	event_free(tick);
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_uint_ge(st.attempts, 2);
	ck_assert_int_eq(st.last_failure, IKE_FAIL_NO_ANSWER);
	ck_assert_int_eq(st.link, IKE_LINK_DOWN);
	log = logged();
	ck_assert_ptr_nonnull(strstr(log, "tunnel cf1: attempt 1 to 10.9.9.2 "
				     "failed: no answer from the peer; next in"));
	/* At info, charon's own lines stay out. */
	ck_assert_ptr_null(strstr(log, "t: charon: "));
	ck_assert_ptr_null(strstr(log, "psk-of"));
	free(log);
}
END_TEST

START_TEST(test_charon_log_reaches_ours_at_debug_only)
{
	struct ike_charon_opts opts = { .retransmit_timeout_s = 0.2,
					.retransmit_tries = 1 };
	struct timeval every = { 0, 50000 }, limit = { 20, 0 };
	struct event *tick;
	char *log;

	if (!can_run)
		return;
	start(&opts);
	log_set_level(LOG_LVL_DEBUG);
	ike_log_level_changed(ike);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	ck_assert_int_eq(event_add(tick, &every), 0);
	event_base_loopexit(base, &limit);
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74730042), 1);
	event_base_dispatch(base);
	event_free(tick);
	log = logged();
	ck_assert_ptr_nonnull(strstr(log, "t: charon: "));
	ck_assert_ptr_nonnull(strstr(log, "initiating IKE_SA cf1["));
	ck_assert_ptr_null(strstr(log, "psk-of"));
	free(log);
}
END_TEST

static Suite *
ike_charon_suite(void)
{
	Suite *s = suite_create("ike_charon");
	TCase *tc = tcase_create("libcharon in a namespace");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_charon_runs_on_our_settings_alone_and_adds_no_rule_or_route);
	tcase_add_test(tc, test_charon_threads_leave_signals_to_the_loop);
	tcase_add_test(tc, test_one_driver_per_process);
	tcase_add_test(tc, test_charon_does_not_start_on_someone_elses_libstrongswan);
	tcase_add_test(tc, test_psk_lookup_answers_each_tunnels_own_key_and_forgets_removed_ones);
	tcase_add_test(tc, test_an_unreachable_peer_is_reported_through_the_bridge);
	tcase_add_test(tc, test_charon_log_reaches_ours_at_debug_only);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ike_charon_suite)
