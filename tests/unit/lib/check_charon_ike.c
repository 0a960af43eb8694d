/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/charon.c, the libcharon both daemons drive, talking IKEv2 to itself:
 * a responder (as tunsteer-edge runs it) in a child process, an initiator
 * (as tunsteerd runs it) in the test, over loopback in a network
 * namespace of their own (unshare).  libcharon is one per process, hence
 * the child.  Without root or unshare the tests pass without running
 * (they say so).
 *
 * What is shown: the responder's configs are found by charon for an
 * incoming IKE_SA_INIT and IKE_AUTH (the backend), under any of the IDs
 * the customer may use, with the tunnel's own PSK; a wrong PSK and an
 * unknown ID are refused, each side saying why; a responder is never
 * initiated.  Whether the CHILD SA can then be installed depends on the
 * kernel (the build host's has no ESP): only the IKE SA is asserted.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/charon.h"
#include "lib/log.h"
#include "testlib.h"

#define RESPONDER "10.9.9.2"
#define INITIATOR "10.9.9.1"
#define PSK "psk-of-cf1-0123456789"
#define IKE_PROPOSALS "aes256gcm16-prfsha256-ecp256"
#define ESP_PROPOSALS "aes256gcm16"

static bool can_run;
static pid_t responder = -1;
static int resp_events = -1, resp_stop = -1;	/* the responder's pipes */
static int init_events[2] = { -1, -1 };
static struct charon *ch;

static void
setup(void)
{
	can_run = getuid() == 0 && unshare(CLONE_NEWNET) == 0;
	if (!can_run) {
		fprintf(stdout, "check_charon_ike: needs root and unshare: "
			"not run\n");
		return;
	}
	setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 1);
	ck_assert_int_eq(system("ip link set lo up && "
				"ip addr add " INITIATOR "/32 dev lo && "
				"ip addr add " RESPONDER "/32 dev lo"), 0);
	log_init("t", true, LOG_LVL_WARN);
	ck_assert_int_eq(pipe2(init_events, O_CLOEXEC), 0);
}

static void
teardown(void)
{
	int status;

	if (!can_run)
		return;
	charon_destroy(ch);
	ch = NULL;
	if (responder > 0) {
		close(resp_stop);
		ck_assert_int_eq(waitpid(responder, &status, 0), responder);
		responder = -1;
	}
	close(resp_events);
	close(init_events[0]);
	close(init_events[1]);
}

/* Both sides post into a pipe: an event is far below PIPE_BUF, so each
 * write is whole. */
static void
post_to_pipe(void *arg, const struct ike_event *ev)
{
	ssize_t n = write(*(int *)arg, ev, sizeof(*ev));

	(void)n;
}

static struct charon_peer
peer(const char *name, bool resp, const char *local, const char *remote)
{
	struct charon_peer p = {
		.responder = resp,
		.psk = PSK,
		.ike_proposals = IKE_PROPOSALS,
		.esp_proposals = ESP_PROPOSALS,
		.if_id = 0x74650001,
		.ike_lifetime_s = 3600,
		.child_lifetime_s = 1800,
	};

	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.local, sizeof(p.local), "%s", local);
	snprintf(p.remote, sizeof(p.remote), "%s", remote);
	return p;
}

/*
 * The responder, in a child: tunnel "edge1" accepting the customer as
 * ipsec@cf1.example.net or by its address, with @psk.  Runs until the
 * test closes its stop pipe.
 */
static void
start_responder(const char *psk)
{
	int ev[2], stop[2];

	ck_assert_int_eq(pipe2(ev, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
	responder = fork();
	ck_assert_int_ge(responder, 0);
	if (responder == 0) {
		struct charon_opts o = { .name = "edge", .reqid_base = 0x74650001 };
		struct charon_peer p = peer("edge1", true, RESPONDER, "%any");
		struct charon *c;
		char byte;
		int err;

		close(ev[0]);
		close(stop[1]);
		p.psk = psk;
		p.remote_ids[0] = "ipsec@cf1.example.net";
		p.remote_ids[1] = INITIATOR;
		p.n_remote_ids = 2;
		if ((c = charon_create(&o, &err)) == NULL ||
		    charon_start(c, post_to_pipe, &ev[1]) < 0 ||
		    charon_peer_set(c, &p) < 0)
			_exit(2);
		/* Ready: the test may initiate. */
		if (write(ev[1], "", 1) != 1)
			_exit(3);
		while (read(stop[0], &byte, 1) > 0)
			;
		charon_destroy(c);
		_exit(0);
	}
	close(ev[1]);
	close(stop[0]);
	resp_events = ev[0];
	resp_stop = stop[1];
	{
		char ready;
		struct pollfd pfd = { .fd = resp_events, .events = POLLIN };

		ck_assert_msg(poll(&pfd, 1, 20000) == 1, "responder not ready");
		ck_assert_int_eq(read(resp_events, &ready, 1), 1);
	}
}

/* The initiator, here, as tunnel "cf1" with @local_id and @psk. */
static void
start_initiator(const char *local_id, const char *psk)
{
	struct charon_opts o = {
		.name = "t", .initiator_only = true, .reqid_base = 0x74730001,
		.port = 1500, .port_nat_t = 14500,
		.retransmit_timeout_s = 0.5, .retransmit_tries = 2,
	};
	struct charon_peer p = peer("cf1", false, INITIATOR, RESPONDER);
	int err;

	p.local_id = local_id;
	p.psk = psk;
	p.remote_ids[0] = RESPONDER;
	p.n_remote_ids = 1;
	ch = charon_create(&o, &err);
	ck_assert_msg(ch, "charon_create: %s", strerror(-err));
	ck_assert_int_eq(charon_start(ch, post_to_pipe, &init_events[1]), 0);
	ck_assert_int_eq(charon_peer_set(ch, &p), 0);
	charon_initiate(ch, "cf1");
}

/* What one side said, until it said @until (or the deadline). */
struct seen {
	bool established, until;
	char tunnel[IFNAMSIZ];
	enum ike_failure failure;
	bool initiated, initiate_failed;
};

static bool
event_matches(const struct ike_event *ev, enum ike_event_kind kind, int state)
{
	return ev->kind == kind && (kind != IKE_EV_IKE_STATE || ev->state == state);
}

/* Read both sides' events for up to 20 s, until each has said what is
 * asked of it: IKE_SA established, or a failure. */
static void
watch(struct seen *ini, struct seen *resp, bool want_established)
{
	struct timespec t0, t;
	struct pollfd pfd[2] = {
		{ .fd = init_events[0], .events = POLLIN },
		{ .fd = resp_events, .events = POLLIN },
	};

	memset(ini, 0, sizeof(*ini));
	memset(resp, 0, sizeof(*resp));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct ike_event ev;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20 || (ini->until && resp->until))
			return;
		if (poll(pfd, 2, 200) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			struct seen *s = i == 0 ? ini : resp;

			if (!(pfd[i].revents & POLLIN))
				continue;
			if (read(pfd[i].fd, &ev, sizeof(ev)) != sizeof(ev))
				continue;
			if (ev.kind == IKE_EV_INITIATED) {
				s->initiated = true;
				s->initiate_failed = ev.arg == 0;
				continue;
			}
			if (event_matches(&ev, IKE_EV_IKE_STATE,
					  IKE_SA_ESTABLISHED)) {
				s->established = true;
				snprintf(s->tunnel, sizeof(s->tunnel), "%s",
					 ev.tunnel);
				if (want_established)
					s->until = true;
			}
			if (ev.kind == IKE_EV_FAILURE && s->failure == IKE_FAIL_NONE) {
				s->failure = ev.failure;
				if (!want_established)
					s->until = true;
			}
		}
	}
}

START_TEST(responder_configs_are_found_for_the_customers_id_and_psk)
{
	struct seen ini, resp;

	if (!can_run)
		return;
	start_responder(PSK);
	start_initiator("ipsec@cf1.example.net", PSK);
	watch(&ini, &resp, true);
	ck_assert_msg(ini.initiated && !ini.initiate_failed,
		      "the initiation did not start");
	ck_assert_msg(ini.established, "initiator: no IKE SA (failure %d)",
		      ini.failure);
	ck_assert_msg(resp.established, "responder: no IKE SA (failure %d)",
		      resp.failure);
	ck_assert_str_eq(ini.tunnel, "cf1");
	/* Events name the responder's own config. */
	ck_assert_str_eq(resp.tunnel, "edge1");
}
END_TEST

/* The provider accepts the customer under any of its ID formats: the
 * second one of the list, the customer's address. */
START_TEST(responder_accepts_the_customer_under_each_of_its_ids)
{
	struct seen ini, resp;

	if (!can_run)
		return;
	start_responder(PSK);
	start_initiator(INITIATOR, PSK);
	watch(&ini, &resp, true);
	ck_assert_msg(ini.established && resp.established,
		      "no IKE SA (initiator failure %d, responder %d)",
		      ini.failure, resp.failure);
	ck_assert_str_eq(resp.tunnel, "edge1");
}
END_TEST

START_TEST(a_wrong_psk_is_refused_and_each_side_says_why)
{
	struct seen ini, resp;

	if (!can_run)
		return;
	start_responder("another-psk-0123456789");
	start_initiator("ipsec@cf1.example.net", PSK);
	watch(&ini, &resp, false);
	ck_assert(!ini.established);
	ck_assert(!resp.established);
	ck_assert_int_eq(ini.failure, IKE_FAIL_AUTH_REFUSED);
	ck_assert_int_eq(resp.failure, IKE_FAIL_AUTH_PEER);
}
END_TEST

START_TEST(an_id_the_responder_does_not_know_is_refused)
{
	struct seen ini, resp;

	if (!can_run)
		return;
	start_responder(PSK);
	start_initiator("ipsec@somebody-else.example.net", PSK);
	watch(&ini, &resp, false);
	ck_assert(!ini.established);
	ck_assert(!resp.established);
	ck_assert_int_eq(ini.failure, IKE_FAIL_AUTH_REFUSED);
}
END_TEST

/* A responder's peer is never initiated, whoever asks. */
START_TEST(a_responder_is_never_initiated)
{
	struct charon_opts o = { .name = "edge", .port = 1500,
				 .port_nat_t = 14500 };
	struct charon_peer p = peer("edge1", true, RESPONDER, "%any");
	struct ike_event ev;
	struct pollfd pfd = { .fd = init_events[0], .events = POLLIN };
	int err;

	if (!can_run)
		return;
	p.remote_ids[0] = INITIATOR;
	p.n_remote_ids = 1;
	ch = charon_create(&o, &err);
	ck_assert_ptr_nonnull(ch);
	ck_assert_int_eq(charon_peer_set(ch, &p), -EAGAIN);
	ck_assert_int_eq(charon_start(ch, post_to_pipe, &init_events[1]), 0);
	ck_assert_int_eq(charon_peer_set(ch, &p), 0);
	charon_initiate(ch, "edge1");
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(read(init_events[0], &ev, sizeof(ev)), sizeof(ev));
	ck_assert_int_eq(ev.kind, IKE_EV_INITIATED);
	ck_assert_str_eq(ev.tunnel, "edge1");
	ck_assert_uint_eq(ev.arg, 0);
	/* A description without a remote ID or a PSK is refused. */
	p.n_remote_ids = 0;
	ck_assert_int_eq(charon_peer_set(ch, &p), -EINVAL);
	p.n_remote_ids = 1;
	p.psk = NULL;
	ck_assert_int_eq(charon_peer_set(ch, &p), -EINVAL);
}
END_TEST

static Suite *
charon_ike_suite(void)
{
	Suite *s = suite_create("charon_ike");
	TCase *tc = tcase_create("responder and initiator on loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, responder_configs_are_found_for_the_customers_id_and_psk);
	tcase_add_test(tc, responder_accepts_the_customer_under_each_of_its_ids);
	tcase_add_test(tc, a_wrong_psk_is_refused_and_each_side_says_why);
	tcase_add_test(tc, an_id_the_responder_does_not_know_is_refused);
	tcase_add_test(tc, a_responder_is_never_initiated);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(charon_ike_suite)
