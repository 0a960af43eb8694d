/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ike.c, the loop side of IPsec tunnels, against a fake driver that
 * records what it is asked: the event bridge (events posted from other
 * threads arrive on the loop, in order, none lost; shutdown with events
 * pending), the SA book and the link it gives (a pure function, fed
 * synthetic event sequences), attempts with back-off and one log line
 * each, liveness checks, config changes, status.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/secmem.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/loop.h"
#include "testlib.h"
#include "ike_fake.h"

/* --- the fixture ------------------------------------------------------------ */

static struct event_base *base;
static struct ike *ike;
static struct config_tunnel tun;
static char links[1024];		/* "cf1 up\ncf1 down\n" */
static char *log_path;

static void
link_cb(void *arg, const char *tunnel, enum ike_link link)
{
	size_t n = strlen(links);

	snprintf(links + n, sizeof(links) - n, "%s %s\n", tunnel,
		 link == IKE_LINK_UP ? "up" : "down");
}

static void
setup(void)
{
	struct ike_callbacks cbs = { .link_cb = link_cb };

	/* What ike.c logs goes to a file the tests read. */
	log_path = temp_file("");
	ck_assert_ptr_nonnull(freopen(log_path, "w", stderr));
	setvbuf(stderr, NULL, _IONBF, 0);
	log_init("check_ike", true, LOG_LVL_INFO);
	links[0] = '\0';
	base = loop_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ike_create(base, ike_fake_new(), &cbs, &ike), 0);
	memset(&tun, 0, sizeof(tun));
	snprintf(tun.name, sizeof(tun.name), "cf1");
	tun.type = TUNNEL_IPSEC;
	tun.local = ip("198.51.100.2");
	tun.remote = ip("192.0.2.1");
	tun.ike.set = true;
	tun.ike.psk = secmem_strdup("psk-one");
	tun.ike.ike_lifetime_s = CONFIG_IKE_LIFETIME_S;
	tun.ike.child_lifetime_s = CONFIG_CHILD_LIFETIME_S;
	tun.ike.dpd_s = CONFIG_DPD_S;
}

static void
teardown(void)
{
	ike_destroy(ike);
	ck_assert(ike_fake_destroyed);
	event_base_free(base);
	secmem_free_str(tun.ike.psk);
	unlink(log_path);
	free(log_path);
}

/* Everything logged so far. */
static char *
logged(void)
{
	fflush(stderr);
	return slurp(log_path);
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Run the loop until what is queued has been dispatched. */
static void
drain(void)
{
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
}

static void
post(enum ike_event_kind kind, uint32_t ike_id, uint32_t child_id, int state)
{
	struct ike_event ev = { .kind = kind, .ike_id = ike_id,
				.child_id = child_id, .state = state };

	snprintf(ev.tunnel, sizeof(ev.tunnel), "cf1");
	if (kind == IKE_EV_IKE_STATE && state == IKE_SA_ESTABLISHED)
		snprintf(ev.info.proposal, sizeof(ev.info.proposal),
			 "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_384/KE1_ML_KEM_768");
	if (kind == IKE_EV_CHILD_STATE && state == IKE_CHILD_INSTALLED) {
		snprintf(ev.info.proposal, sizeof(ev.info.proposal),
			 "ESP:AES_GCM_16_256/NO_EXT_SEQ");
		ev.info.spi_in = 0xc0000000u + child_id;
		ev.info.spi_out = 0xd0000000u + child_id;
	}
	ike_post(ike, &ev);
}

static void
post_arg(enum ike_event_kind kind, uint32_t ike_id, uint32_t arg,
	 enum ike_failure f)
{
	struct ike_event ev = { .kind = kind, .ike_id = ike_id, .arg = arg,
				.failure = f };

	snprintf(ev.tunnel, sizeof(ev.tunnel), "cf1");
	ike_post(ike, &ev);
}

/* cf1 up on IKE SA @ike_id with CHILD SA @child_id.  As charon does it:
 * the SA is connecting before the initiation returns. */
static void
bring_up(uint32_t ike_id, uint32_t child_id)
{
	post(IKE_EV_IKE_STATE, ike_id, 0, IKE_SA_CONNECTING);
	post_arg(IKE_EV_INITIATED, 0, 1, IKE_FAIL_NONE);
	post(IKE_EV_IKE_STATE, ike_id, 0, IKE_SA_ESTABLISHED);
	post(IKE_EV_CHILD_STATE, ike_id, child_id, IKE_CHILD_INSTALLING);
	post(IKE_EV_CHILD_STATE, ike_id, child_id, IKE_CHILD_INSTALLED);
	drain();
}

/* --- the bridge ---------------------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 5000 };

struct poster {
	pthread_t th;
	uint32_t id;
};

static uint32_t next_seq[THREADS];
static unsigned int received, out_of_order;

static void *
poster_main(void *arg)
{
	struct poster *p = arg;

	for (uint32_t i = 0; i < PER_THREAD; i++) {
		/* Events of a tunnel ike.c does not know: only counted. */
		struct ike_event ev = { .kind = IKE_EV_MESSAGE,
					.child_id = p->id, .arg = i };

		snprintf(ev.tunnel, sizeof(ev.tunnel), "elsewhere");
		ike_post(ike, &ev);
	}
	return NULL;
}

static void
count_cb(void *arg, const struct ike_event *ev)
{
	if (ev->arg != next_seq[ev->child_id])
		out_of_order++;
	next_seq[ev->child_id] = ev->arg + 1;
	if (++received == THREADS * PER_THREAD)
		event_base_loopbreak(base);
}

static void
giveup_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

START_TEST(test_events_from_other_threads_arrive_on_the_loop_in_order_none_lost)
{
	struct ike_callbacks cbs = { .event_cb = count_cb };
	struct poster p[THREADS];
	struct timeval limit = { 20, 0 };
	struct event *giveup;

	/* Our own ike, counting. */
	ike_destroy(ike);
	ck_assert_int_eq(ike_create(base, ike_fake_new(), &cbs, &ike), 0);
	giveup = evtimer_new(base, giveup_cb, NULL);
	ck_assert_int_eq(evtimer_add(giveup, &limit), 0);
	for (uint32_t k = 0; k < THREADS; k++) {
		p[k].id = k;
		ck_assert_int_eq(pthread_create(&p[k].th, NULL, poster_main, &p[k]), 0);
	}
	/* The loop runs while they post: wake-ups race with posts. */
	event_base_dispatch(base);
	for (uint32_t k = 0; k < THREADS; k++)
		pthread_join(p[k].th, NULL);
	drain();
	ck_assert_uint_eq(received, THREADS * PER_THREAD);
	ck_assert_uint_eq(out_of_order, 0);
	for (uint32_t k = 0; k < THREADS; k++)
		ck_assert_uint_eq(next_seq[k], PER_THREAD);
	ck_assert_uint_eq(ike_events_lost(ike), 0);
	event_free(giveup);
}
END_TEST

START_TEST(test_shutdown_with_events_pending_frees_them_and_stops_the_driver_first)
{
	struct poster p[THREADS];

	for (uint32_t k = 0; k < THREADS; k++) {
		p[k].id = k;
		ck_assert_int_eq(pthread_create(&p[k].th, NULL, poster_main, &p[k]), 0);
	}
	for (uint32_t k = 0; k < THREADS; k++)
		pthread_join(p[k].th, NULL);
	/* Never dispatched: teardown's ike_destroy() frees them (LSan
	 * watches) after destroying the driver. */
	ck_assert(!ike_fake_destroyed);
}
END_TEST

/* --- the book: a pure function of the events ------------------------------- */

struct step {
	enum ike_event_kind kind;
	uint32_t ike_id, child_id;
	int state;
	uint32_t arg;
	enum ike_link want;
};

static void
run_steps(const struct step *s, size_t n)
{
	struct ike_book b = { 0 };

	ck_assert_int_eq(ike_book_link(&b), IKE_LINK_DOWN);
	for (size_t i = 0; i < n; i++) {
		struct ike_event ev = { .kind = s[i].kind, .ike_id = s[i].ike_id,
					.child_id = s[i].child_id,
					.state = s[i].state, .arg = s[i].arg };

		ike_book_apply(&b, &ev);
		ck_assert_msg(ike_book_link(&b) == s[i].want,
			      "step %zu: link %d, want %d", i,
			      ike_book_link(&b), s[i].want);
	}
}

#define IKE(id, st, want) { IKE_EV_IKE_STATE, id, 0, IKE_SA_##st, 0, IKE_LINK_##want }
#define CHILD(ike, id, st, want) \
	{ IKE_EV_CHILD_STATE, ike, id, IKE_CHILD_##st, 0, IKE_LINK_##want }

START_TEST(test_link_is_up_only_once_a_child_sa_is_installed)
{
	static const struct step s[] = {
		IKE(1, CREATED, DOWN),
		IKE(1, CONNECTING, DOWN),
		IKE(1, ESTABLISHED, DOWN),	/* IKE alone carries nothing */
		CHILD(1, 1, CREATED, DOWN),
		CHILD(1, 1, INSTALLING, DOWN),
		CHILD(1, 1, INSTALLED, UP),
	};

	run_steps(s, sizeof(s) / sizeof(s[0]));
}
END_TEST

/* Make-before-break: the new CHILD SA is in before the old one goes, so
 * the link never drops during a rekey. */
START_TEST(test_make_before_break_child_rekey_never_drops_the_link)
{
	static const struct step s[] = {
		IKE(1, CONNECTING, DOWN),
		IKE(1, ESTABLISHED, DOWN),
		CHILD(1, 1, INSTALLED, UP),
		CHILD(1, 1, REKEYING, UP),
		CHILD(1, 2, CREATED, UP),
		CHILD(1, 2, INSTALLING, UP),
		CHILD(1, 2, INSTALLED, UP),
		{ IKE_EV_CHILD_REKEYED, 1, 1, 0, 2, IKE_LINK_UP },
		CHILD(1, 1, REKEYED, UP),
		CHILD(1, 1, DELETING, UP),
		CHILD(1, 1, DELETED, UP),
		CHILD(1, 1, DESTROYING, UP),
	};

	run_steps(s, sizeof(s) / sizeof(s[0]));
}
END_TEST

/* An IKE rekey moves the CHILD SAs to the new IKE SA: the old one going
 * takes none with it. */
START_TEST(test_ike_rekey_moves_the_child_sas_and_the_link_stays_up)
{
	static const struct step s[] = {
		IKE(1, CONNECTING, DOWN),
		IKE(1, ESTABLISHED, DOWN),
		CHILD(1, 1, INSTALLED, UP),
		IKE(1, REKEYING, UP),
		IKE(2, ESTABLISHED, UP),
		{ IKE_EV_IKE_REKEYED, 1, 0, 0, 2, IKE_LINK_UP },
		IKE(1, REKEYED, UP),
		IKE(1, DELETING, UP),
		IKE(1, DESTROYING, UP),
		/* The child lives on in IKE SA 2 … */
		CHILD(2, 1, REKEYING, UP),
		/* … and goes with it. */
		IKE(2, DESTROYING, DOWN),
	};

	run_steps(s, sizeof(s) / sizeof(s[0]));
}
END_TEST

START_TEST(test_no_child_sa_left_is_down_at_once)
{
	static const struct step deleted_by_peer[] = {
		IKE(1, ESTABLISHED, DOWN),
		CHILD(1, 1, INSTALLED, UP),
		CHILD(1, 1, DELETING, DOWN),	/* not at DESTROYING: at once */
		CHILD(1, 1, DELETED, DOWN),
		CHILD(1, 1, DESTROYING, DOWN),
	};
	static const struct step ike_gone[] = {
		IKE(1, ESTABLISHED, DOWN),
		CHILD(1, 1, INSTALLED, UP),
		IKE(1, DESTROYING, DOWN),	/* a forced delete, DPD dead */
	};

	run_steps(deleted_by_peer, sizeof(deleted_by_peer) / sizeof(deleted_by_peer[0]));
	run_steps(ike_gone, sizeof(ike_gone) / sizeof(ike_gone[0]));
}
END_TEST

START_TEST(test_book_keeps_the_live_sas_when_full_and_alive_ignores_retired)
{
	struct ike_book b = { 0 };
	struct ike_event ev = { .kind = IKE_EV_IKE_STATE };

	/* Dead SAs that never said DESTROYING must not crowd out live ones. */
	for (uint32_t id = 1; id <= 3 * IKE_BOOK_MAX; id++) {
		ev.ike_id = id;
		ev.state = id == 2 ? IKE_SA_ESTABLISHED : IKE_SA_DELETING;
		ike_book_apply(&b, &ev);
	}
	ck_assert_uint_eq(b.n_ike, IKE_BOOK_MAX);
	ck_assert(ike_book_alive(&b));
	for (size_t i = 0; i < b.n_ike; i++)
		if (b.ike[i].id == 2)
			b.ike[i].retired = true;
	ck_assert(!ike_book_alive(&b));
}
END_TEST

/* --- tunnels ---------------------------------------------------------------- */

START_TEST(test_a_new_tunnel_is_initiated_at_once_and_an_equal_update_is_a_no_op)
{
	struct config_tunnel gre = tun;

	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74734d8f), 1);
	ck_assert_str_eq(ike_fake_calls(), "peer cf1 0x74734d8f psk-one\ninitiate cf1\n");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 0x74734d8f), 0);
	ck_assert_str_eq(ike_fake_calls(), "");
	gre.type = TUNNEL_GRE;
	snprintf(gre.name, sizeof(gre.name), "gre1");
	ck_assert_int_eq(ike_tunnel_set(ike, &gre, 0), -EINVAL);
	/* The driver refuses: nothing is kept. */
	snprintf(gre.name, sizeof(gre.name), "cf9");
	gre.type = TUNNEL_IPSEC;
	ike_fake->peer_set_err = -EINVAL;
	ck_assert_int_eq(ike_tunnel_set(ike, &gre, 1), -EINVAL);
	ck_assert_str_eq(ike_fake_calls(), "");
	{
		struct ike_status st;

		ck_assert_int_eq(ike_tunnel_status(ike, "cf9", &st), -ENOENT);
		ck_assert_int_eq(ike_tunnel_check(ike, "cf9"), -ENOENT);
	}
}
END_TEST

START_TEST(test_up_and_down_are_reported_once_each_and_at_once)
{
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ike_fake_calls();
	bring_up(1, 1);
	ck_assert_str_eq(links, "cf1 up\n");
	/* A rekey changes nothing the engine hears. */
	post(IKE_EV_CHILD_STATE, 1, 1, IKE_CHILD_REKEYING);
	post(IKE_EV_CHILD_STATE, 1, 2, IKE_CHILD_INSTALLED);
	post(IKE_EV_CHILD_STATE, 1, 1, IKE_CHILD_DELETING);
	post(IKE_EV_CHILD_STATE, 1, 1, IKE_CHILD_DESTROYING);
	drain();
	ck_assert_str_eq(links, "cf1 up\n");
	ck_assert_str_eq(ike_fake_calls(), "");
	/* A notify in a rekey collision is charon's business, not a reason
	 * for what happens later. */
	post_arg(IKE_EV_FAILURE, 1, 43, IKE_FAIL_NOTIFY);
	/* The peer deletes the CHILD SA: down at once, and the IKE SA left
	 * without one is deleted so that a new pair is made. */
	post(IKE_EV_CHILD_STATE, 1, 2, IKE_CHILD_DELETING);
	drain();
	ck_assert_str_eq(links, "cf1 up\ncf1 down\n");
	ck_assert_str_eq(ike_fake_calls(), "terminate 1\n");
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DELETING);
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DESTROYING);
	drain();
	/* It had been up: one notice, the next attempt soon, not counted
	 * as a failure. */
	{
		struct ike_status st;
		char *log = logged();

		ck_assert_int_eq(count(log, "IKE SA with 192.0.2.1 gone: deleted; "
				       "initiating again in"), 1);
		free(log);
		ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
		ck_assert_uint_eq(st.attempts, 0);
		ck_assert(st.next_attempt_in_s >= 1 && st.next_attempt_in_s <= 2);
	}
}
END_TEST

/* Each failed attempt: one line with its reason, the wait doubling. */
START_TEST(test_each_failed_attempt_logs_one_line_and_waits_longer)
{
	static const enum ike_failure why[] = {
		IKE_FAIL_AUTH_REFUSED, IKE_FAIL_NO_PROPOSAL_IKE,
		IKE_FAIL_NO_ANSWER, IKE_FAIL_NO_ANSWER,
	};
	static const int64_t waits[][2] = { { 1, 2 }, { 2, 3 }, { 4, 5 }, { 7, 10 } };
	struct ike_status st;
	char *log;

	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ck_assert_str_eq(ike_fake_calls(), "peer cf1 0x7 psk-one\ninitiate cf1\n");
	for (uint32_t a = 0; a < 4; a++) {
		uint32_t id = 10 + a;

		post(IKE_EV_IKE_STATE, id, 0, IKE_SA_CONNECTING);
		post_arg(IKE_EV_INITIATED, 0, 1, IKE_FAIL_NONE);
		/* A generic reason first, then the real one: the real one
		 * wins; then a lesser one again: it does not. */
		post_arg(IKE_EV_FAILURE, id, 0, IKE_FAIL_INITIATE);
		post_arg(IKE_EV_FAILURE, id, 0, why[a]);
		post_arg(IKE_EV_FAILURE, id, 0, IKE_FAIL_INITIATE);
		post(IKE_EV_IKE_STATE, id, 0, IKE_SA_DESTROYING);
		drain();
		ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
		ck_assert_uint_eq(st.attempts, a + 1);
		ck_assert_int_eq(st.last_failure, why[a]);
		ck_assert_int_eq(st.link, IKE_LINK_DOWN);
		ck_assert_msg(st.next_attempt_in_s >= waits[a][0] &&
			      st.next_attempt_in_s <= waits[a][1],
			      "attempt %u: next in %lld s", a + 1,
			      (long long)st.next_attempt_in_s);
		/* Probes ask: the waiting attempt starts now. */
		ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
		ck_assert_str_eq(ike_fake_calls(), "initiate cf1\n");
	}
	log = logged();
	ck_assert_int_eq(count(log, "tunnel cf1: attempt "), 4);
	ck_assert_int_eq(count(log, "attempt 1 to 192.0.2.1 failed: authentication "
			       "refused by the peer (PSK or local_id); next in"), 1);
	ck_assert_int_eq(count(log, "attempt 2 to 192.0.2.1 failed: no IKE "
			       "proposal in common"), 1);
	ck_assert_int_eq(count(log, "failed: no answer from the peer"), 2);
	free(log);
	ck_assert_str_eq(links, "");
	/* Success resets the count. */
	ike_fake_calls();
	bring_up(20, 1);
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_uint_eq(st.attempts, 0);
	ck_assert_int_eq(st.last_failure, IKE_FAIL_NONE);
	ck_assert_int_eq(st.next_attempt_in_s, -1);
}
END_TEST

START_TEST(test_an_initiation_that_cannot_start_is_a_failed_attempt)
{
	struct ike_status st;

	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	post_arg(IKE_EV_INITIATED, 0, 0, IKE_FAIL_NONE);
	drain();
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_uint_eq(st.attempts, 1);
	ck_assert_int_eq(st.last_failure, IKE_FAIL_INITIATE);
}
END_TEST

START_TEST(test_liveness_check_sends_a_dpd_and_an_answer_ends_it)
{
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(3, 4);
	ike_fake_calls();
	ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "dpd 3\n");
	/* Asked again while it runs: nothing more. */
	ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "");
	post_arg(IKE_EV_MESSAGE, 3, 0, IKE_FAIL_NONE);	/* DPD out */
	post_arg(IKE_EV_MESSAGE, 3, 1, IKE_FAIL_NONE);	/* answered */
	drain();
	/* Probes find the tunnel passing again; the next check is a DPD
	 * again (not the replacement of an answering peer's SAs). */
	ck_assert_int_eq(ike_tunnel_probes(ike, "cf1", false), 0);
	ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "dpd 3\n");
	{
		struct ike_status st;

		ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
		ck_assert_int_eq(st.dpd_sent_ago_s, 0);
		ck_assert_int_eq(st.dpd_answered_ago_s, 0);
	}
}
END_TEST

/* `tunsteerctl rekey`: the driver is asked to rekey the installed CHILD
 * SA of the tunnel's IKE SA; with none installed, or for a tunnel IKE does
 * not know, nothing is asked. */
START_TEST(test_rekey_asks_for_the_installed_child_sa_and_nothing_without_one)
{
	ck_assert_int_eq(ike_tunnel_rekey(ike, "cf1"), -ENOENT);
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ike_fake_calls();
	ck_assert_int_eq(ike_tunnel_rekey(ike, "cf1"), -ENOTCONN);
	ck_assert_str_eq(ike_fake_calls(), "");
	bring_up(3, 4);
	ike_fake_calls();
	ck_assert_int_eq(ike_tunnel_rekey(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "rekey 3 4\n");
	ck_assert_int_eq(ike_tunnel_rekey(ike, "cf2"), -ENOENT);
	ck_assert_str_eq(ike_fake_calls(), "");
}
END_TEST

/* The peer answers DPD, yet probes still find the tunnel down: the two
 * sides' SAs disagree.  Asked again, the SAs are deleted telling the
 * peer (not forced) and new ones initiated; probes holding it down check
 * at once, and no longer once they let go. */
START_TEST(test_a_peer_that_answers_while_nothing_passes_gets_its_sas_replaced)
{
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(3, 4);
	ike_fake_calls();
	ck_assert_int_eq(ike_tunnel_probes(ike, "cf1", true), 0);
	ck_assert_str_eq(ike_fake_calls(), "dpd 3\n");
	/* Said again: nothing more. */
	ck_assert_int_eq(ike_tunnel_probes(ike, "cf1", true), 0);
	ck_assert_str_eq(ike_fake_calls(), "");
	post_arg(IKE_EV_MESSAGE, 3, 1, IKE_FAIL_NONE);	/* answered */
	drain();
	/* The recheck (IKE_RECHECK_S later) asks again. */
	ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "terminate 3\ninitiate cf1\n");
	/* Probes let go: a later check is a plain DPD again. */
	ck_assert_int_eq(ike_tunnel_probes(ike, "cf1", false), 0);
	ck_assert_int_eq(ike_tunnel_probes(ike, "cf2", true), -ENOENT);
}
END_TEST

/* A restarted responder answers no DPD of the old SA: dropped at the
 * deadline and a new one initiated, without charon's retransmits. */
START_TEST(test_liveness_check_without_answer_drops_the_sa_and_initiates_anew)
{
	struct timeval past = { IKE_CHECK_TIMEOUT_MS / 1000 + 1, 0 };
	struct ike_status st;

	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(3, 4);
	ike_fake_calls();
	ck_assert_int_eq(ike_tunnel_check(ike, "cf1"), 0);
	ck_assert_str_eq(ike_fake_calls(), "dpd 3\n");
	event_base_loopexit(base, &past);
	event_base_dispatch(base);
	ck_assert_str_eq(ike_fake_calls(), "terminate 3 force\ninitiate cf1\n");
	post(IKE_EV_IKE_STATE, 3, 0, IKE_SA_DESTROYING);
	drain();
	ck_assert_str_eq(links, "cf1 up\ncf1 down\n");
	/* The new attempt is under way: no second one. */
	ck_assert_str_eq(ike_fake_calls(), "");
	bring_up(5, 6);
	ck_assert_str_eq(links, "cf1 up\ncf1 down\ncf1 up\n");
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_uint_eq(st.ike_id, 5);
	ck_assert_uint_eq(st.attempts, 0);
}
END_TEST

START_TEST(test_a_config_change_rekeys_that_tunnel_alone)
{
	struct config_tunnel other = tun;
	char *psk2 = secmem_strdup("psk-two");

	snprintf(other.name, sizeof(other.name), "cf2");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ck_assert_int_eq(ike_tunnel_set(ike, &other, 8), 1);
	bring_up(1, 1);
	ike_fake_calls();
	other.ike.psk = psk2;
	ck_assert_int_eq(ike_tunnel_set(ike, &other, 8), 1);
	/* cf2 had no SA yet but an initiation in flight. */
	ck_assert_str_eq(ike_fake_calls(), "peer cf2 0x8 psk-two\n");
	secmem_free_str(tun.ike.psk);
	tun.ike.psk = secmem_strdup("psk-three");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ck_assert_str_eq(ike_fake_calls(), "peer cf1 0x7 psk-three\nterminate 1\ninitiate cf1\n");
	/* The old SAs go, the link with them; a new one comes. */
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DELETING);
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DESTROYING);
	drain();
	ck_assert_str_eq(links, "cf1 up\ncf1 down\n");
	ck_assert_str_eq(ike_fake_calls(), "");
	bring_up(2, 2);
	ck_assert_str_eq(links, "cf1 up\ncf1 down\ncf1 up\n");
	secmem_free_str(psk2);
}
END_TEST

/* Changed while its initiation is in flight: what that one made is
 * deleted when it reports, and a new one made with the new config. */
START_TEST(test_a_change_during_an_initiation_redoes_it_with_the_new_config)
{
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ike_fake_calls();
	secmem_free_str(tun.ike.psk);
	tun.ike.psk = secmem_strdup("psk-three");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ck_assert_str_eq(ike_fake_calls(), "peer cf1 0x7 psk-three\n");
	post(IKE_EV_IKE_STATE, 9, 0, IKE_SA_CONNECTING);
	post_arg(IKE_EV_INITIATED, 0, 1, IKE_FAIL_NONE);
	drain();
	ck_assert_str_eq(ike_fake_calls(), "terminate 9\ninitiate cf1\n");
}
END_TEST

START_TEST(test_removing_a_tunnel_deletes_its_sas_and_ignores_their_last_words)
{
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(1, 1);
	ike_fake_calls();
	ike_tunnel_remove(ike, "cf1");
	ck_assert_str_eq(ike_fake_calls(), "terminate 1\nforget cf1\n");
	post(IKE_EV_CHILD_STATE, 1, 1, IKE_CHILD_DELETING);
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DESTROYING);
	drain();
	ck_assert_str_eq(links, "cf1 up\n");
	ck_assert_str_eq(ike_fake_calls(), "");
	ike_tunnel_remove(ike, "nosuch");
}
END_TEST

static void
remove_cb(void *arg, const char *tunnel, enum ike_link link)
{
	link_cb(arg, tunnel, link);
	if (link == IKE_LINK_DOWN)
		ike_tunnel_remove(ike, tunnel);
}

START_TEST(test_the_link_callback_may_remove_the_tunnel)
{
	struct ike_callbacks cbs = { .link_cb = remove_cb };

	ike_destroy(ike);
	ck_assert_int_eq(ike_create(base, ike_fake_new(), &cbs, &ike), 0);
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(1, 1);
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_DESTROYING);
	post(IKE_EV_IKE_STATE, 1, 0, IKE_SA_CONNECTING);
	drain();
	ck_assert_str_eq(links, "cf1 up\ncf1 down\n");
	{
		struct ike_status st;

		ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), -ENOENT);
	}
}
END_TEST

START_TEST(test_status_shows_proposals_spis_nat_mtu_and_times)
{
	struct ike_event ev = { .kind = IKE_EV_IKE_STATE, .ike_id = 1,
				.state = IKE_SA_ESTABLISHED };
	struct ike_status st;
	int64_t now = (int64_t)(now_s());

	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_int_eq(st.ike_state, IKE_SA_NONE);
	ck_assert_int_eq(st.child_state, IKE_CHILD_NONE);
	ck_assert_int_eq(st.ike_rekey_in_s, -1);
	ck_assert_int_eq(st.dpd_sent_ago_s, -1);
	snprintf(ev.tunnel, sizeof(ev.tunnel), "cf1");
	snprintf(ev.info.proposal, sizeof(ev.info.proposal),
		 "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_384/KE1_ML_KEM_768");
	ev.info.nat = true;
	ev.info.rekey_at = now + 600;
	ike_post(ike, &ev);
	ev = (struct ike_event){ .kind = IKE_EV_CHILD_STATE, .ike_id = 1,
				 .child_id = 2, .state = IKE_CHILD_INSTALLED };
	snprintf(ev.tunnel, sizeof(ev.tunnel), "cf1");
	snprintf(ev.info.proposal, sizeof(ev.info.proposal),
		 "ESP:AES_GCM_16_256/NO_EXT_SEQ");
	ev.info.spi_in = 0xc1234567;
	ev.info.spi_out = 0xc7654321;
	ev.info.rekey_at = now + 300;
	ev.info.mtu = 1438;
	ike_post(ike, &ev);
	drain();
	ck_assert_int_eq(ike_tunnel_status(ike, "cf1", &st), 0);
	ck_assert_int_eq(st.link, IKE_LINK_UP);
	ck_assert_int_eq(st.ike_state, IKE_SA_ESTABLISHED);
	ck_assert_int_eq(st.child_state, IKE_CHILD_INSTALLED);
	ck_assert_str_eq(st.ike_proposal,
			 "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_384/KE1_ML_KEM_768");
	ck_assert_str_eq(st.esp_proposal, "ESP:AES_GCM_16_256/NO_EXT_SEQ");
	ck_assert_uint_eq(st.spi_in, 0xc1234567);
	ck_assert_uint_eq(st.spi_out, 0xc7654321);
	ck_assert(st.nat);
	ck_assert_uint_eq(st.esp_mtu, 1438);
	ck_assert(st.ike_rekey_in_s >= 599 && st.ike_rekey_in_s <= 600);
	ck_assert(st.child_rekey_in_s >= 299 && st.child_rekey_in_s <= 300);
	ck_assert_int_eq(st.ike_reauth_in_s, -1);
	ck_assert_str_eq(ike_sa_state_name(st.ike_state), "ESTABLISHED");
	ck_assert_str_eq(ike_child_state_name(st.child_state), "INSTALLED");
}
END_TEST

START_TEST(test_the_psk_is_never_logged)
{
	char *log;

	log_set_level(LOG_LVL_DEBUG);
	ike_log_level_changed(ike);
	ck_assert_str_eq(ike_fake_calls(), "log debug\n");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	bring_up(1, 1);
	secmem_free_str(tun.ike.psk);
	tun.ike.psk = secmem_strdup("psk-three");
	ck_assert_int_eq(ike_tunnel_set(ike, &tun, 7), 1);
	ike_tunnel_remove(ike, "cf1");
	log = logged();
	ck_assert_ptr_null(strstr(log, "psk-"));
	ck_assert_ptr_nonnull(strstr(log, "cf1"));
	free(log);
}
END_TEST

/* Tunnels added in any order, some removed: each event still reaches
 * its own tunnel (they are kept sorted, looked up by bisection). */
START_TEST(test_events_reach_their_tunnel_among_many_in_any_order)
{
	struct config_tunnel t = tun;
	struct ike_status st;
	char name[IFNAMSIZ];

	for (unsigned int i = 0; i < 50; i++) {
		snprintf(t.name, sizeof(t.name), "t%02u", (i * 37) % 50);
		ck_assert_int_eq(ike_tunnel_set(ike, &t, i + 1), 1);
	}
	for (unsigned int i = 0; i < 50; i += 3) {
		snprintf(name, sizeof(name), "t%02u", i);
		ike_tunnel_remove(ike, name);
	}
	for (unsigned int i = 0; i < 50; i++) {
		struct ike_event ev = { .kind = IKE_EV_CHILD_STATE, .ike_id = i,
					.child_id = i, .state = IKE_CHILD_INSTALLED };

		snprintf(ev.tunnel, sizeof(ev.tunnel), "t%02u", i);
		ike_post(ike, &ev);
	}
	drain();
	for (unsigned int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "t%02u", i);
		if (i % 3 == 0) {
			ck_assert_int_eq(ike_tunnel_status(ike, name, &st), -ENOENT);
			continue;
		}
		ck_assert_int_eq(ike_tunnel_status(ike, name, &st), 0);
		ck_assert_int_eq(st.link, IKE_LINK_UP);
		ck_assert_uint_eq(st.child_id, i);
	}
}
END_TEST

static Suite *
ike_suite(void)
{
	Suite *s = suite_create("ike");
	TCase *bridge = tcase_create("bridge");
	TCase *book = tcase_create("book");
	TCase *tunnels = tcase_create("tunnels");

	tcase_add_checked_fixture(bridge, setup, teardown);
	tcase_set_timeout(bridge, 60);
	tcase_add_test(bridge, test_events_from_other_threads_arrive_on_the_loop_in_order_none_lost);
	tcase_add_test(bridge, test_shutdown_with_events_pending_frees_them_and_stops_the_driver_first);
	suite_add_tcase(s, bridge);

	tcase_add_test(book, test_link_is_up_only_once_a_child_sa_is_installed);
	tcase_add_test(book, test_make_before_break_child_rekey_never_drops_the_link);
	tcase_add_test(book, test_ike_rekey_moves_the_child_sas_and_the_link_stays_up);
	tcase_add_test(book, test_no_child_sa_left_is_down_at_once);
	tcase_add_test(book, test_book_keeps_the_live_sas_when_full_and_alive_ignores_retired);
	suite_add_tcase(s, book);

	tcase_add_checked_fixture(tunnels, setup, teardown);
	tcase_set_timeout(tunnels, 30);
	tcase_add_test(tunnels, test_a_new_tunnel_is_initiated_at_once_and_an_equal_update_is_a_no_op);
	tcase_add_test(tunnels, test_up_and_down_are_reported_once_each_and_at_once);
	tcase_add_test(tunnels, test_each_failed_attempt_logs_one_line_and_waits_longer);
	tcase_add_test(tunnels, test_an_initiation_that_cannot_start_is_a_failed_attempt);
	tcase_add_test(tunnels, test_liveness_check_sends_a_dpd_and_an_answer_ends_it);
	tcase_add_test(tunnels, test_liveness_check_without_answer_drops_the_sa_and_initiates_anew);
	tcase_add_test(tunnels, test_a_config_change_rekeys_that_tunnel_alone);
	tcase_add_test(tunnels, test_a_change_during_an_initiation_redoes_it_with_the_new_config);
	tcase_add_test(tunnels, test_removing_a_tunnel_deletes_its_sas_and_ignores_their_last_words);
	tcase_add_test(tunnels, test_the_link_callback_may_remove_the_tunnel);
	tcase_add_test(tunnels, test_status_shows_proposals_spis_nat_mtu_and_times);
	tcase_add_test(tunnels, test_rekey_asks_for_the_installed_child_sa_and_nothing_without_one);
	tcase_add_test(tunnels, test_a_peer_that_answers_while_nothing_passes_gets_its_sas_replaced);
	tcase_add_test(tunnels, test_the_psk_is_never_logged);
	tcase_add_test(tunnels, test_events_reach_their_tunnel_among_many_in_any_order);
	suite_add_tcase(s, tunnels);
	return s;
}

CHECK_MAIN(ike_suite)
