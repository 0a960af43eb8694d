/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's IKEv2 responder (edge_ike.c) answering an initiator of
 * ours (lib/charon, in a child process: libcharon is one per process)
 * over loopback, in a network namespace of its own (unshare).  Without
 * root or unshare the tests pass without running (they say so).
 *
 * What is shown: the provider's proposals parse (a peer is made for each
 * ipsec tunnel), tunsteerd's default proposals (ML-KEM-768 on DH20) are
 * among them, the customer is accepted under its RFC 822 and key ID
 * formats with its tunnel's PSK and refused with another's, and the
 * status the views read follows.  The CHILD SA depends on the kernel
 * (the build host's has no ESP): only the IKE SA is asserted.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edge/edge_config.h"
#include "edge/edge_ike.h"
#include "edge/edge_kernel.h"
#include "lib/charon.h"
#include "lib/log.h"
#include "testlib.h"

#define EDGE_ADDR "10.9.9.2"
#define CUSTOMER "10.9.9.1"

#define CONF \
	"anycast = [ \"" EDGE_ADDR "\" ];\n" \
	"customers = ( { name = \"c\"; account_id = \"0123abcd\";\n" \
	"  authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = ( { name = \"it0\"; type = \"ipsec\"; tunnel_id = \"4567ef\";\n" \
	"    psk = \"psk-of-it0-0123456789\"; cloudflare_endpoint = \"" EDGE_ADDR "\";\n" \
	"    interface_address = \"10.0.0.8/31\"; },\n" \
	"  { name = \"it1\"; type = \"ipsec\"; tunnel_id = \"89ab\"; psk = \"psk-of-it1-9876543210\";\n" \
	"    allow_null_cipher = true; replay_protection = true;\n" \
	"    cloudflare_endpoint = \"" EDGE_ADDR "\"; interface_address = \"10.0.0.10/31\"; } );\n" \
	"  routes = ( { prefix = \"203.0.113.0/24\"; tunnel = \"it0\"; priority = 100; } ); } );\n"

static bool can_run;
static pid_t child = -1;
static int customer_events = -1;	/* what the customer's charon posts */
static int customer_go = -1;		/* a byte: initiate now */
static struct edge_config *conf;
static struct edge_ike *ike;

static void
setup(void)
{
	struct config_errors errs = { 0 };

	can_run = getuid() == 0 && unshare(CLONE_NEWNET) == 0;
	if (!can_run) {
		fprintf(stdout, "check_edge_ike: needs root and unshare: not run\n");
		return;
	}
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 1);
	ck_assert_int_eq(system("ip link set lo up && "
				"ip addr add " CUSTOMER "/32 dev lo && "
				"ip addr add " EDGE_ADDR "/32 dev lo"), 0);
	log_init("t", true, getenv("T_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	conf = edge_config_load_string(CONF, "t.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(conf);
}

static void
teardown(void)
{
	int status;

	if (!can_run)
		return;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		child = -1;
	}
	edge_ike_destroy(ike);
	ike = NULL;
	edge_config_free(conf);
	close(customer_events);
	close(customer_go);
	customer_go = -1;
}

static void
post_to_pipe(void *arg, const struct ike_event *ev)
{
	ssize_t n = write(*(int *)arg, ev, sizeof(*ev));	/* < PIPE_BUF */

	(void)n;
}

/*
 * The customer, in a child made before the responder (a child of a
 * process running libcharon would inherit it): tunnel cf1 initiating with
 * @id and @psk and tunsteerd's default proposals once the responder is
 * up (serve()), until killed; its events come through customer_events.
 */
static void
customer(const char *id, const char *psk)
{
	int ev[2], go[2];

	ck_assert_int_eq(pipe2(ev, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct charon_opts o = {
			.name = "cpe", .initiator_only = true,
			.reqid_base = 0x74730001, .port = 1500,
			.port_nat_t = 14500, .retransmit_timeout_s = 0.5,
			.retransmit_tries = 2,
		};
		struct charon_peer p = {
			.name = "cf1", .local = CUSTOMER, .remote = EDGE_ADDR,
			.local_id = id, .remote_ids = { EDGE_ADDR },
			.n_remote_ids = 1, .psk = psk,
			.ike_proposals = "aes256gcm16-prfsha256-ecp384-ke1_mlkem768",
			.esp_proposals = "aes256gcm16-ecp384",
			.if_id = 0x74730001, .ike_lifetime_s = 3600,
			.child_lifetime_s = 1800,
		};
		struct charon *c;
		char byte;
		int err;

		close(ev[0]);
		close(go[1]);
		if (read(go[0], &byte, 1) != 1)
			_exit(3);
		if ((c = charon_create(&o, &err)) == NULL ||
		    charon_start(c, post_to_pipe, &ev[1]) < 0 ||
		    charon_peer_set(c, &p) < 0)
			_exit(2);
		charon_initiate(c, "cf1");
		/* Another byte: stop, deleting every SA (telling the edge). */
		if (read(go[0], &byte, 1) == 1)
			charon_destroy(c);
		for (;;)
			pause();
	}
	close(ev[1]);
	close(go[0]);
	customer_events = ev[0];
	customer_go = go[1];
}

/* The first failure the customer reports, within 20 s; IKE_FAIL_NONE if
 * it established an IKE SA instead (or said nothing). */
static enum ike_failure
customer_failure(void)
{
	struct pollfd pfd = { .fd = customer_events, .events = POLLIN };
	struct ike_event ev;

	while (poll(&pfd, 1, 20000) == 1 &&
	       read(customer_events, &ev, sizeof(ev)) == sizeof(ev)) {
		if (ev.kind == IKE_EV_FAILURE)
			return ev.failure;
		if (ev.kind == IKE_EV_IKE_STATE && ev.state == IKE_SA_ESTABLISHED)
			return IKE_FAIL_NONE;
	}
	return IKE_FAIL_NONE;
}

static void
serve(void)
{
	uint32_t ids[2];

	ck_assert_int_eq(edge_ike_create("edge-test", &ike), 0);
	ck_assert_int_eq(edge_kernel_xfrm_if_ids(conf, ids), 0);
	/* Both tunnels' peers are made: every proposal parses, the null
	 * cipher's too. */
	ck_assert_int_eq(edge_ike_apply(ike, conf, ids), 0);
}

/* The customer may initiate now. */
static void
go(void)
{
	ck_assert_int_eq(write(customer_go, "", 1), 1);
}

/* Poll tunnel @name's status for up to 20 s until an IKE SA was
 * established or a failure seen. */
static void
wait_status(const char *name, struct edge_ike_status *st)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ck_assert_int_eq(edge_ike_status(ike, name, st), 0);
		if (st->established > 0 || st->last_failure != IKE_FAIL_NONE)
			return;
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 20);
}

START_TEST(the_customer_is_accepted_under_its_rfc822_id)
{
	struct edge_ike_status st;

	if (!can_run)
		return;
	customer("ipsec@4567ef.0123abcd.ipsec.cloudflare.com",
		 "psk-of-it0-0123456789");
	serve();
	go();
	wait_status("it0", &st);
	ck_assert_msg(st.established == 1, "no IKE SA: %s",
		      ike_failure_text(st.last_failure));
	ck_assert_ptr_nonnull(strstr(st.ike_proposal, "ML_KEM_768"));
	ck_assert_uint_ne(st.ike_id, 0);
	ck_assert_int_eq(edge_ike_status(ike, "nosuch", &st), -ENOENT);
}
END_TEST

START_TEST(the_customer_is_accepted_under_its_key_id)
{
	struct edge_ike_status st;

	if (!can_run)
		return;
	customer("keyid:0123abcd_89ab", "psk-of-it1-9876543210");
	serve();
	go();
	wait_status("it1", &st);
	ck_assert_msg(st.established == 1, "no IKE SA: %s",
		      ike_failure_text(st.last_failure));
	/* Nothing happened to the other tunnel. */
	ck_assert_int_eq(edge_ike_status(ike, "it0", &st), 0);
	ck_assert_uint_eq(st.established, 0);
}
END_TEST

START_TEST(another_tunnels_psk_is_refused)
{
	struct edge_ike_status st;

	if (!can_run)
		return;
	customer("ipsec@4567ef.0123abcd.ipsec.cloudflare.com",
		 "psk-of-it1-9876543210");
	serve();
	go();
	wait_status("it0", &st);
	ck_assert_uint_eq(st.established, 0);
	ck_assert_int_eq(st.last_failure, IKE_FAIL_AUTH_PEER);
}
END_TEST

/* The next news of the responder (edge_ike_news_take()), within @s
 * seconds. */
static bool
news(struct edge_ike_news *nw, int s)
{
	struct pollfd pfd = { .fd = edge_ike_news_fd(ike), .events = POLLIN };

	for (int i = 0; i < s * 10; i++) {
		if (edge_ike_news_take(ike, nw))
			return true;
		(void)poll(&pfd, 1, 100);
	}
	return false;
}

/* SA propagation's source: each CHILD SA the responder installs reaches
 * the loop with its record (keys and all), and each that goes with its
 * SPIs (and serial, if it was recorded), so the other servers can drop
 * it too.  Customer and responder share one namespace here, so the
 * second to install an SA of the pair may find the first's states in
 * the way (and without esp4 neither installs): whichever way, the SA goes
 * and its deletion must name it. */
START_TEST(the_loop_hears_of_each_sa_installed_with_its_record_and_deleted_with_its_spis)
{
	struct edge_ike_news nw;
	struct sarec rec = { 0 };
	bool recorded = false;

	if (!can_run)
		return;
	customer("ipsec@4567ef.0123abcd.ipsec.cloudflare.com",
		 "psk-of-it0-0123456789");
	serve();
	edge_ike_news_on(ike, true);
	go();
	for (;;) {
		ck_assert_msg(news(&nw, 20), "no news of the SA");
		if (nw.deleted)
			break;
		ck_assert(!recorded);
		ck_assert_str_eq(nw.rec.tunnel, "it0");
		ck_assert_str_eq(nw.rec.negotiated_by, "edge-test");
		ck_assert_int_eq(sarec_validate(&nw.rec), 0);
		ck_assert_ptr_nonnull(nw.rec.keys);
		rec = nw.rec;
		rec.keys = NULL;
		recorded = true;
		sarec_clear(&nw.rec);
		/* The customer goes, deleting its SAs. */
		ck_assert_int_eq(write(customer_go, "x", 1), 1);
	}
	ck_assert_str_eq(nw.rec.tunnel, "it0");
	ck_assert_str_eq(nw.rec.negotiated_by, "edge-test");
	ck_assert_uint_gt(nw.rec.spi_in, 255);
	ck_assert_uint_gt(nw.rec.spi_out, 255);
	ck_assert_ptr_null(nw.rec.keys);
	if (recorded) {
		ck_assert_uint_eq(nw.rec.spi_in, rec.spi_in);
		ck_assert_uint_eq(nw.rec.spi_out, rec.spi_out);
		ck_assert_uint_eq(nw.rec.serial, rec.serial);
	}
}
END_TEST

/* A reload without a tunnel removes its peer. */
START_TEST(a_tunnel_gone_from_the_config_is_no_longer_served)
{
	struct config_errors errs = { 0 };
	struct edge_config *less;
	struct edge_ike_status st;
	uint32_t ids[1];

	if (!can_run)
		return;
	customer("ipsec@4567ef.0123abcd.ipsec.cloudflare.com",
		 "psk-of-it0-0123456789");
	serve();
	less = edge_config_load_string(
		"anycast = [ \"" EDGE_ADDR "\" ];\n"
		"customers = ( { name = \"c\"; account_id = \"0123abcd\";\n"
		"  authorized = [ \"203.0.113.0/25\" ];\n"
		"  tunnels = ( { name = \"it1\"; type = \"ipsec\"; tunnel_id = \"89ab\";\n"
		"    psk = \"psk-of-it1-9876543210\"; cloudflare_endpoint = \"" EDGE_ADDR "\";\n"
		"    interface_address = \"10.0.0.10/31\"; } ); } );\n", "u.conf", &errs);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(less);
	ck_assert_int_eq(edge_kernel_xfrm_if_ids(less, ids), 0);
	ck_assert_int_eq(edge_ike_apply(ike, less, ids), 0);
	ck_assert_int_eq(edge_ike_status(ike, "it0", &st), -ENOENT);
	ck_assert_int_eq(edge_ike_status(ike, "it1", &st), 0);
	go();
	/* No config answers to its ID any more. */
	ck_assert_int_eq(customer_failure(), IKE_FAIL_AUTH_REFUSED);
	ck_assert_int_eq(edge_ike_status(ike, "it1", &st), 0);
	ck_assert_uint_eq(st.established, 0);
	edge_config_free(less);
}
END_TEST

static Suite *
edge_ike_suite(void)
{
	Suite *s = suite_create("edge_ike");
	TCase *tc = tcase_create("responder on loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, the_customer_is_accepted_under_its_rfc822_id);
	tcase_add_test(tc, the_customer_is_accepted_under_its_key_id);
	tcase_add_test(tc, another_tunnels_psk_is_refused);
	tcase_add_test(tc, a_tunnel_gone_from_the_config_is_no_longer_served);
	tcase_add_test(tc,
		       the_loop_hears_of_each_sa_installed_with_its_record_and_deleted_with_its_spis);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_ike_suite)
