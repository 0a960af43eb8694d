/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SA propagation (edge/edge_prop.h) between two servers in one process,
 * over UDP on loopback (127.0.0.1 and 127.0.0.2), each with a fake
 * kernel: a negotiated SA reaches the other server after its delay and is
 * installed on that server's if_id of the tunnel; its delete removes it
 * there, policies and all; what is not a peer's, not authenticated, or
 * not one of our ipsec tunnels is refused and counted; a server that
 * stops removes what it holds.  Resync: a server that starts after an SA
 * was propagated asks for it and gets it (not what expired or was
 * deleted); an SA received again keeps its age; asks repeat until
 * answered, and stop then.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "edge/edge.h"
#include "edge/edge_config.h"
#include "edge/edge_kernel.h"
#include "edge/edge_nft.h"
#include "edge/edge_prop.h"
#include "edge/edge_steer.h"
#include "edge/edge_sync.h"
#include "edge/edge_view.h"
#include "lib/clock.h"
#include "lib/kernel_fake.h"
#include "lib/sarec.h"
#include "testlib.h"

#define KEY "lab-shared-key-0123456789"

/* it0's replay_protection in the configs conf() makes next. */
static bool pinned;
/* A second peer, 127.0.0.@extra_peer, in the configs conf() makes next;
 * 0: none. */
static int extra_peer;

/* Server @me (127.0.0.@me) with peer 127.0.0.@peer, SA port @port. */
static struct edge_config *
conf(int me, int peer, unsigned int port, unsigned int delay_ms,
     const char *key)
{
	char text[2048], extra[32] = "";
	struct config_errors errs = { 0 };
	struct edge_config *c;

	if (extra_peer)
		snprintf(extra, sizeof(extra), ", \"127.0.0.%d\"", extra_peer);
	snprintf(text, sizeof(text),
		 "anycast = [ \"192.0.2.1\" ];\n"
		 "relay = { address = \"127.0.0.%d\"; peers = [ \"127.0.0.%d\"%s ];\n"
		 "  port = %u; sa_port = %u; sa_key = \"%s\"; sa_delay_ms = %u; };\n"
		 "customers = ( { name = \"c\"; account_id = \"0123abcd\";\n"
		 "  authorized = [ \"203.0.113.0/25\" ];\n"
		 "  tunnels = ( { name = \"it0\"; type = \"ipsec\"; tunnel_id = \"4567ef\";\n"
		 "    psk = \"psk-of-it0-0123456789\"; cloudflare_endpoint = \"192.0.2.1\";\n"
		 "    interface_address = \"10.0.0.8/31\"; replay_protection = %s; },\n"
		 "  { name = \"g0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		 "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.12/31\"; } ); } );\n",
		 me, peer, extra, port - 1, port, key, delay_ms,
		 pinned ? "true" : "false");
	c = edge_config_load_string(text, "t.conf", &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* A port per test run: two runs of the suite at once must not meet. */
static unsigned int
test_port(void)
{
	return 20000 + (unsigned int)(getpid() % 20000) * 2;
}

static uint32_t
if_id_of(const struct edge_config *c, const char *tunnel)
{
	uint32_t ids[4] = { 0 };

	ck_assert_int_eq(edge_kernel_xfrm_if_ids(c, ids), 0);
	return ids[edge_config_tunnel_index(c, tunnel)];
}

/* A record of tunnel @tunnel as server "edgeA" negotiated it. */
static void
record(struct sarec *r, const char *tunnel, uint32_t if_id, uint32_t spi)
{
	testlib_sarec(r, tunnel, "edgeA", if_id, spi, spi + 1);
	r->serial = spi;
}

struct pair {
	struct event_base *base;
	struct kernel_ops *ka, *kb;
	struct edge_config *ca, *cb;
	struct edge_prop *a, *b;
};

static bool run_until(struct pair *p, bool (*done)(struct pair *p));

static uint64_t
answered(struct edge_prop *e)
{
	struct edge_prop_stats st;

	edge_prop_stats(e, &st);
	return st.resyncs_answered;
}

static bool
both_answered(struct pair *p)
{
	return answered(p->a) >= 1 && answered(p->b) >= 1;
}

/* The loop, kernels and configs of servers A and B, neither started
 * (pair_a(), pair_b()). */
static void
pair_init(struct pair *p, unsigned int delay_ms)
{
	memset(p, 0, sizeof(*p));
	ck_assert_ptr_nonnull(p->base = event_base_new());
	ck_assert_ptr_nonnull(p->ka = kernel_fake_create());
	ck_assert_ptr_nonnull(p->kb = kernel_fake_create());
	p->ca = conf(1, 2, test_port(), delay_ms, KEY);
	p->cb = conf(2, 1, test_port(), delay_ms, KEY);
}

static void
pair_a(struct pair *p)
{
	ck_assert_int_eq(edge_prop_create(p->base, p->ka, p->ca, &p->a), 0);
	ck_assert_ptr_nonnull(p->a);
}

static void
pair_b(struct pair *p)
{
	ck_assert_int_eq(edge_prop_create(p->base, p->kb, p->cb, &p->b), 0);
	ck_assert_ptr_nonnull(p->b);
}

/* Both servers, once each has its start-up resync answered (nothing
 * to resend yet): the tests count what follows. */
static void
pair_up(struct pair *p, unsigned int delay_ms)
{
	pair_init(p, delay_ms);
	pair_b(p);
	pair_a(p);
	ck_assert(run_until(p, both_answered));
}

static void
pair_down(struct pair *p)
{
	edge_prop_destroy(p->a);
	edge_prop_destroy(p->b);
	p->ka->destroy(p->ka);
	p->kb->destroy(p->kb);
	edge_config_free(p->ca);
	edge_config_free(p->cb);
	event_base_free(p->base);
}

/* Run the loop until @done(@p) or 5 s. */
static bool
run_until(struct pair *p, bool (*done)(struct pair *p))
{
	uint64_t end = mono_ms() + 5000;

	while (!done(p) && mono_ms() < end) {
		struct timeval tv = { 0, 20000 };

		event_base_loopexit(p->base, &tv);
		event_base_dispatch(p->base);
	}
	return done(p);
}

static bool
b_holds_one(struct pair *p)
{
	return edge_prop_held(p->b, "it0", NULL, 0) == 1;
}

static bool
a_holds_one(struct pair *p)
{
	return edge_prop_held(p->a, "it0", NULL, 0) == 1;
}

static bool
a_holds_none(struct pair *p)
{
	return edge_prop_held(p->a, "it0", NULL, 0) == 0;
}

static bool
b_holds_none(struct pair *p)
{
	return edge_prop_held(p->b, "it0", NULL, 0) == 0;
}

static bool
b_refused_something(struct pair *p)
{
	struct edge_prop_stats st;
	uint64_t n = 0;

	edge_prop_stats(p->b, &st);
	for (int i = 0; i < EDGE_PROP_REFUSALS; i++)
		n += st.refused[i];
	return n > 0;
}

static bool
b_refused_two_unknown(struct pair *p)
{
	struct edge_prop_stats st;

	edge_prop_stats(p->b, &st);
	return st.refused[EDGE_PROP_UNKNOWN_TUNNEL] >= 2;
}

/* The peer's junk and the other key's record, whichever reason each got. */
static bool
b_refused_two_sealed_wrong(struct pair *p)
{
	struct edge_prop_stats st;

	edge_prop_stats(p->b, &st);
	return st.refused[EDGE_PROP_UNAUTHENTICATED] +
	       st.refused[EDGE_PROP_MALFORMED] >= 2;
}

START_TEST(negotiated_sa_reaches_the_peer_after_its_delay_and_its_delete_removes_it)
{
	struct pair p;
	struct sarec r, del;
	struct edge_prop_held h[2];
	struct edge_prop_stats st;
	uint32_t if_id;
	const char *log;

	pair_up(&p, 300);
	if_id = if_id_of(p.cb, "it0");
	record(&r, "it0", if_id, 0xabc0001);
	del = r;
	del.keys = NULL;
	edge_prop_negotiated(p.a, &r);
	ck_assert_ptr_null(r.keys);		/* taken */
	edge_prop_stats(p.a, &st);
	ck_assert_uint_eq(st.pending, 1);
	/* Not before its delay: nothing can be there early. */
	ck_assert(!b_holds_one(&p));
	ck_assert(run_until(&p, b_holds_one));
	log = kernel_fake_ops_log(p.kb);
	ck_assert_msg(strstr(log, "xfrm add sa it0 from edgeA serial 180092929 "
			     "in 0x0abc0001 out 0x0abc0002") != NULL, "%s", log);
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 3);
	/* Nothing on the sender's own kernel: its SAs are charon's. */
	ck_assert_str_eq(kernel_fake_ops_log(p.ka), "");
	ck_assert_uint_eq(edge_prop_held(p.b, "it0", h, 2), 1);
	ck_assert_str_eq(h[0].from, "edgeA");
	ck_assert_uint_eq(h[0].spi_in, 0xabc0001);
	edge_prop_stats(p.a, &st);
	ck_assert_uint_eq(st.sent, 1);
	ck_assert_uint_eq(st.pending, 0);
	edge_prop_stats(p.b, &st);
	ck_assert_uint_eq(st.received, 1);
	ck_assert_uint_eq(st.installed, 1);

	edge_prop_deleted(p.a, &del);
	ck_assert(run_until(&p, b_holds_none));
	log = kernel_fake_ops_log(p.kb);
	ck_assert_ptr_nonnull(strstr(log, "xfrm del sa it0 in 0x0abc0001"));
	ck_assert_ptr_nonnull(strstr(log, "xfrm del policies it0"));
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 0);
	pair_down(&p);
}
END_TEST

/* B's own SA of it0 (charon's) shares it0's policies with what B holds:
 * removing A's SA must leave them while B's lives, and B's going leaves
 * nothing of it to remove here. */
START_TEST(removing_a_held_sa_keeps_the_policies_while_this_servers_own_sa_of_the_tunnel_lives)
{
	struct pair p;
	struct sarec r, del, mine, mine_del;
	uint32_t if_id;
	const char *log;

	pair_up(&p, 100);
	if_id = if_id_of(p.cb, "it0");
	testlib_sarec(&mine, "it0", "edgeB", if_id, 0xbbb0001, 0xbbb0002);
	mine_del = mine;
	mine_del.keys = NULL;
	edge_prop_negotiated(p.b, &mine);
	record(&r, "it0", if_id, 0xabc0001);
	del = r;
	del.keys = NULL;
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	ck_assert(run_until(&p, a_holds_one));
	(void)kernel_fake_ops_log(p.kb);

	edge_prop_deleted(p.a, &del);
	ck_assert(run_until(&p, b_holds_none));
	log = kernel_fake_ops_log(p.kb);
	ck_assert_ptr_nonnull(strstr(log, "xfrm del sa it0 in 0x0abc0001"));
	ck_assert_msg(strstr(log, "xfrm del policies") == NULL, "%s", log);
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 3);

	/* B's own SA goes (charon removes its own policies); A's copy of
	 * it goes with A's policies, A having no SA of its own. */
	edge_prop_deleted(p.b, &mine_del);
	ck_assert(run_until(&p, a_holds_none));
	log = kernel_fake_ops_log(p.ka);
	ck_assert_ptr_nonnull(strstr(log, "xfrm del policies it0"));
	ck_assert_str_eq(kernel_fake_ops_log(p.kb), "");
	pair_down(&p);
}
END_TEST

static bool
b_has_its_three_policies(struct pair *p)
{
	return kernel_fake_xfrm_policies(p->kb, if_id_of(p->cb, "it0")) == 3;
}

START_TEST(when_charon_removes_the_policies_with_this_servers_own_sa_the_held_sas_get_them_back)
{
	struct pair p;
	struct sarec r, mine, mine_del;
	uint32_t if_id;
	const char *log;

	pair_up(&p, 0);
	if_id = if_id_of(p.cb, "it0");
	testlib_sarec(&mine, "it0", "edgeB", if_id, 0xbbb0001, 0xbbb0002);
	mine_del = mine;
	mine_del.keys = NULL;
	edge_prop_negotiated(p.b, &mine);
	record(&r, "it0", if_id, 0xabc0001);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	ck_assert(run_until(&p, a_holds_one));
	(void)kernel_fake_ops_log(p.kb);

	/* Charon tells of its SA's end, then removes the policies it made
	 * for it: the same selectors and if_id as the SA B holds from A. */
	edge_prop_deleted(p.b, &mine_del);
	ck_assert_int_eq(p.kb->xfrm_policy_del(p.kb, &mine_del), 0);
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 0);
	ck_assert(run_until(&p, b_has_its_three_policies));
	log = kernel_fake_ops_log(p.kb);
	ck_assert_msg(strstr(log, "xfrm add policies it0") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "xfrm del sa") == NULL, "%s", log);
	ck_assert_uint_eq(edge_prop_held(p.b, "it0", NULL, 0), 1);

	/* Removed again within the re-assertions' span: made again. */
	ck_assert_int_eq(p.kb->xfrm_policy_del(p.kb, &mine_del), 0);
	ck_assert(run_until(&p, b_has_its_three_policies));
	pair_down(&p);
}
END_TEST

START_TEST(while_this_servers_own_sa_lives_the_held_sas_policies_are_left_to_charon)
{
	struct pair p;
	struct sarec r, mine, old_del;
	uint32_t if_id;
	uint64_t end;

	pair_up(&p, 0);
	if_id = if_id_of(p.cb, "it0");
	/* B's own SA rekeyed: the new one installed, then the old one
	 * deleted; charon keeps the policies for the new one. */
	testlib_sarec(&mine, "it0", "edgeB", if_id, 0xbbb0001, 0xbbb0002);
	old_del = mine;
	old_del.keys = NULL;
	edge_prop_negotiated(p.b, &mine);
	testlib_sarec(&mine, "it0", "edgeB", if_id, 0xbbb0003, 0xbbb0004);
	edge_prop_negotiated(p.b, &mine);
	record(&r, "it0", if_id, 0xabc0001);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	(void)kernel_fake_ops_log(p.kb);
	edge_prop_deleted(p.b, &old_del);
	end = mono_ms() + 300;
	while (mono_ms() < end) {
		struct timeval tv = { 0, 20000 };

		event_base_loopexit(p.base, &tv);
		event_base_dispatch(p.base);
	}
	ck_assert_str_eq(kernel_fake_ops_log(p.kb), "");
	pair_down(&p);
}
END_TEST

START_TEST(an_sa_deleted_before_its_delay_is_never_sent)
{
	struct pair p;
	struct sarec r, del;
	struct edge_prop_stats st;

	pair_up(&p, 60000);
	record(&r, "it0", if_id_of(p.ca, "it0"), 0xabc0003);
	del = r;
	del.keys = NULL;
	edge_prop_negotiated(p.a, &r);
	edge_prop_deleted(p.a, &del);
	edge_prop_stats(p.a, &st);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_uint_eq(st.sent, 0);
	pair_down(&p);
}
END_TEST

START_TEST(records_for_tunnels_that_are_not_ipsec_here_are_refused)
{
	struct pair p;
	struct sarec r;
	struct edge_prop_stats st;

	pair_up(&p, 0);
	/* A GRE tunnel's name, and an ipsec tunnel's with another if_id. */
	record(&r, "g0", if_id_of(p.ca, "it0"), 0xabc0005);
	edge_prop_negotiated(p.a, &r);
	record(&r, "it0", if_id_of(p.ca, "it0") + 1, 0xabc0007);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_refused_two_unknown));
	edge_prop_stats(p.b, &st);
	ck_assert_uint_eq(st.refused[EDGE_PROP_UNKNOWN_TUNNEL], 2);
	ck_assert_uint_eq(st.installed, 0);
	ck_assert_str_eq(kernel_fake_ops_log(p.kb), "");
	pair_down(&p);
}
END_TEST

/* Send @len bytes to server B's SA port from 127.0.0.@from. */
static void
send_from(int from, const void *buf, size_t len)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = src;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char a[16];

	snprintf(a, sizeof(a), "127.0.0.%d", from);
	src.sin_addr = ip(a);
	dst.sin_addr = ip("127.0.0.2");
	dst.sin_port = htons((uint16_t)test_port());
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&dst,
				sizeof(dst)), (ssize_t)len);
	close(fd);
}

START_TEST(datagrams_not_from_a_peer_or_not_sealed_with_the_key_are_refused)
{
	struct pair p;
	struct edge_config *other;
	struct edge_prop *o;
	struct kernel_ops *ko = kernel_fake_create();
	struct edge_prop_stats st;
	struct sarec r;
	struct edge_sync_tx *tx;
	uint8_t junk[64], plain[SAREC_ENCODED_MAX], frame[EDGE_SYNC_FRAME_MAX];
	ssize_t n;

	pair_up(&p, 0);
	/* Sealed with the key, from an address that is not a peer. */
	ck_assert_int_eq(edge_sync_tx_create((const uint8_t *)KEY, strlen(KEY),
					     ip("127.0.0.3"), &tx), 0);
	record(&r, "it0", if_id_of(p.ca, "it0"), 0xabc0009);
	n = sarec_encode(&r, plain, sizeof(plain));
	ck_assert_int_gt(n, 0);
	n = edge_sync_seal(tx, EDGE_SYNC_SA, plain, (size_t)n, (uint64_t)time(NULL) * 1000,
			   frame, sizeof(frame));
	ck_assert_int_gt(n, 0);
	sarec_clear(&r);
	edge_sync_tx_free(tx);
	send_from(3, frame, (size_t)n);
	ck_assert(run_until(&p, b_refused_something));
	memset(junk, 0x5a, sizeof(junk));
	memcpy(junk, "TSSP", 4);
	send_from(1, junk, sizeof(junk));	/* a peer, but junk */
	/* A server with the peer's address and another key. */
	edge_prop_destroy(p.a);
	p.a = NULL;
	other = conf(1, 2, test_port(), 0, "another-key-0123456789");
	ck_assert_int_eq(edge_prop_create(p.base, ko, other, &o), 0);
	record(&r, "it0", if_id_of(other, "it0"), 0xabc0009);
	edge_prop_negotiated(o, &r);
	ck_assert(run_until(&p, b_refused_two_sealed_wrong));
	edge_prop_stats(p.b, &st);
	ck_assert_uint_eq(st.refused[EDGE_PROP_NOT_PEER], 1);
	ck_assert_uint_ge(st.refused[EDGE_PROP_UNAUTHENTICATED] +
			  st.refused[EDGE_PROP_MALFORMED], 2);
	ck_assert_uint_eq(st.received, 0);
	ck_assert_uint_eq(st.installed, 0);
	ck_assert_str_eq(kernel_fake_ops_log(p.kb), "");
	edge_prop_destroy(o);
	ko->destroy(ko);
	edge_config_free(other);
	pair_down(&p);
}
END_TEST

START_TEST(a_server_that_stops_removes_what_it_holds)
{
	struct pair p;
	struct sarec r;
	const char *log;

	pair_up(&p, 0);
	record(&r, "it0", if_id_of(p.ca, "it0"), 0xabc000b);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	(void)kernel_fake_ops_log(p.kb);
	edge_prop_destroy(p.b);
	p.b = NULL;
	log = kernel_fake_ops_log(p.kb);
	ck_assert_ptr_nonnull(strstr(log, "xfrm del sa it0 in 0x0abc000b"));
	ck_assert_ptr_nonnull(strstr(log, "xfrm del policies it0"));
	pair_down(&p);
}
END_TEST

START_TEST(a_reload_without_the_tunnel_removes_its_sas)
{
	struct pair p;
	struct sarec r;
	struct edge_config *c2;
	char text[1024];
	struct config_errors errs = { 0 };

	pair_up(&p, 0);
	record(&r, "it0", if_id_of(p.ca, "it0"), 0xabc000d);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	snprintf(text, sizeof(text),
		 "anycast = [ \"192.0.2.1\" ];\n"
		 "relay = { address = \"127.0.0.2\"; peers = [ \"127.0.0.1\" ];\n"
		 "  port = %u; sa_port = %u; sa_key = \"%s\"; sa_delay_ms = 0; };\n"
		 "customers = ( { name = \"c\"; authorized = [ ];\n"
		 "  tunnels = ( { name = \"g0\"; cloudflare_gre_endpoint = \"192.0.2.1\";\n"
		 "    customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"10.0.0.12/31\"; } ); } );\n",
		 test_port() - 1, test_port(), KEY);
	c2 = edge_config_load_string(text, "t.conf", &errs);
	ck_assert_ptr_nonnull(c2);
	(void)kernel_fake_ops_log(p.kb);
	ck_assert_int_eq(edge_prop_apply(p.b, c2), 0);
	ck_assert(b_holds_none(&p));
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(p.kb),
				     "xfrm del sa it0 in 0x0abc000d"));
	edge_config_free(p.cb);
	p.cb = c2;
	pair_down(&p);
}
END_TEST

static unsigned int pin_calls;

static void
count_pin_cb(void *arg)
{
	pin_calls++;
}

/* Does @ops hold the ESP state (@dst, @spi)? */
static bool
has_state(struct kernel_ops *ops, const char *dst, uint32_t spi)
{
	return kernel_fake_xfrm_count(ops, ip(dst), spi, 0, 0) == 0;
}

/* The default route of @c's tunnel @name in @st: its one device. */
static const char *
route_dev(const struct edge_config *c, const struct kernel_state *st,
	  const char *name)
{
	int i = edge_config_tunnel_index(c, name);

	for (size_t k = 0; k < st->n_routes; k++)
		if (st->routes[k].table == edge_tunnel_table((size_t)i))
			return st->routes[k].nh[0].dev;
	return "";
}

START_TEST(a_pinned_tunnels_sa_is_held_inbound_only_and_its_traffic_goes_to_the_negotiator)
{
	struct pair p;
	struct sarec r, mine;
	struct in_addr to[2];
	struct kernel_state st;
	uint32_t if_id;
	const char *log;

	pinned = true;
	pair_up(&p, 0);
	pinned = false;
	edge_prop_set_pin_cb(p.b, count_pin_cb, NULL);
	pin_calls = 0;
	if_id = if_id_of(p.cb, "it0");
	/* Nothing known yet: each server sends into its own device. */
	ck_assert(edge_prop_pinned_to(p.b, "it0", &to[0]));
	ck_assert_uint_eq(to[0].s_addr, 0);
	ck_assert(!edge_prop_pinned_to(p.b, "g0", &to[1]));

	record(&r, "it0", if_id, 0xabc0011);
	edge_prop_negotiated(p.a, &r);
	ck_assert(edge_prop_pinned_to(p.a, "it0", &to[0]));
	ck_assert_uint_eq(to[0].s_addr, 0);	/* A's own */
	ck_assert(run_until(&p, b_holds_one));
	log = kernel_fake_ops_log(p.kb);
	ck_assert_msg(strstr(log, "in 0x0abc0011 out 0x0abc0012 if_id") != NULL &&
		      strstr(log, " inbound-only") != NULL, "%s", log);
	/* B decrypts the customer's ESP, never sends under A's SA. */
	ck_assert(has_state(p.kb, "192.0.2.1", 0xabc0011));
	ck_assert(!has_state(p.kb, "198.51.100.2", 0xabc0012));
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 2);
	ck_assert_uint_ge(pin_calls, 1);
	ck_assert(edge_prop_pinned_to(p.b, "it0", &to[0]));
	ck_assert_uint_eq(to[0].s_addr, ip("127.0.0.1").s_addr);

	/* B's routes: it0's table into the link to A, g0's unchanged; the
	 * link to A exists whether or not anything is forwarded. */
	to[1].s_addr = 0;
	kernel_state_init(&st);
	ck_assert_int_eq(edge_kernel_build(p.cb, &st), 0);
	ck_assert_int_eq(edge_kernel_build_pins(p.cb, to, &st), 0);
	ck_assert_str_eq(route_dev(p.cb, &st, "it0"), "pin+0");
	ck_assert_str_eq(route_dev(p.cb, &st, "g0"), "g0");
	ck_assert_uint_eq(st.n_links, 3);
	ck_assert_str_eq(st.links[2].name, "pin+0");
	ck_assert_uint_eq(st.links[2].kind, KERNEL_LINK_GRE);
	ck_assert_uint_eq(st.links[2].local.s_addr, ip("127.0.0.2").s_addr);
	ck_assert_uint_eq(st.links[2].remote.s_addr, ip("127.0.0.1").s_addr);
	ck_assert(kernel_marks_link(&edge_kernel_marks, &st.links[2]));
	kernel_state_free(&st);
	kernel_state_init(&st);
	ck_assert_int_eq(edge_kernel_build(p.cb, &st), 0);
	ck_assert_int_eq(edge_kernel_build_pins(p.cb, NULL, &st), 0);
	ck_assert_str_eq(route_dev(p.cb, &st, "it0"), "it0");
	ck_assert_uint_eq(st.n_links, 3);
	kernel_state_free(&st);

	/* The customer's IKE moves to B, which negotiates: its own again. */
	pin_calls = 0;
	record(&mine, "it0", if_id, 0xabc0021);
	snprintf(mine.negotiated_by, sizeof(mine.negotiated_by), "edgeB");
	edge_prop_negotiated(p.b, &mine);
	ck_assert_uint_eq(pin_calls, 1);
	ck_assert(edge_prop_pinned_to(p.b, "it0", &to[0]));
	ck_assert_uint_eq(to[0].s_addr, 0);
	/* …and A, receiving B's record, forwards to B. */
	ck_assert(run_until(&p, a_holds_one));
	ck_assert(edge_prop_pinned_to(p.a, "it0", &to[0]));
	ck_assert_uint_eq(to[0].s_addr, ip("127.0.0.2").s_addr);
	pair_down(&p);
}
END_TEST

/* Does @c's nft table drop what a pin link would forward twice? */
static bool
nft_has_pin_guard(const struct edge_config *c)
{
	struct steer s;
	char *script;
	int err;
	bool has;

	ck_assert_int_eq(edge_steer_build(c, NULL, &s), 0);
	script = edge_nft_table(c, &s, &err);
	ck_assert_ptr_nonnull(script);
	has = strstr(script, "iifname \"pin+*\" oifname \"pin+*\" counter drop\n") != NULL;
	ck_assert(has || strstr(script, "pin+") == NULL);
	free(script);
	edge_steer_free(&s);
	return has;
}

START_TEST(unpinned_configs_have_no_pin_links_and_a_reload_that_pins_drops_the_outbound_half)
{
	struct pair p;
	struct sarec r;
	struct edge_config *c2;
	struct kernel_state st;
	struct in_addr to;
	uint32_t if_id;

	pair_up(&p, 0);
	if_id = if_id_of(p.cb, "it0");
	kernel_state_init(&st);
	ck_assert_int_eq(edge_kernel_build(p.cb, &st), 0);
	ck_assert_int_eq(edge_kernel_build_pins(p.cb, NULL, &st), 0);
	ck_assert_uint_eq(st.n_links, 2);
	kernel_state_free(&st);
	ck_assert(!nft_has_pin_guard(p.cb));
	record(&r, "it0", if_id, 0xabc0031);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	ck_assert(!edge_prop_pinned_to(p.b, "it0", &to));
	ck_assert(has_state(p.kb, "198.51.100.2", 0xabc0032));
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 3);

	pinned = true;
	c2 = conf(2, 1, test_port(), 0, KEY);
	pinned = false;
	ck_assert_int_eq(edge_prop_apply(p.b, c2), 0);
	edge_config_free(p.cb);
	p.cb = c2;
	ck_assert(nft_has_pin_guard(p.cb));
	ck_assert(has_state(p.kb, "192.0.2.1", 0xabc0031));
	ck_assert(!has_state(p.kb, "198.51.100.2", 0xabc0032));
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.kb, if_id), 2);
	ck_assert(edge_prop_pinned_to(p.b, "it0", &to));
	ck_assert_uint_eq(to.s_addr, ip("127.0.0.1").s_addr);
	pair_down(&p);
}
END_TEST

/* --- resync ------------------------------------------------------------ */

static struct edge_prop_stats
stats_of(const struct edge_prop *e)
{
	struct edge_prop_stats st;

	edge_prop_stats(e, &st);
	return st;
}

/* Run the loop for @ms. */
static void
run_for(struct pair *p, unsigned int ms)
{
	uint64_t end = mono_ms() + ms;

	while (mono_ms() < end) {
		struct timeval tv = { 0, 20000 };

		event_base_loopexit(p->base, &tv);
		event_base_dispatch(p->base);
	}
}

static bool
b_sent_one(struct pair *p)
{
	return stats_of(p->b).sent >= 1;
}

static bool
a_answered(struct pair *p)
{
	return answered(p->a) >= 1;
}

/* B's own SA @spi of it0 (B negotiated it), @lifetime_s. */
static void
b_negotiates(struct pair *p, uint32_t spi, uint32_t lifetime_s,
	     struct sarec *del)
{
	struct sarec r;

	testlib_sarec(&r, "it0", "edgeB", if_id_of(p->cb, "it0"), spi, spi + 1);
	r.serial = spi;
	r.lifetime_s = lifetime_s;
	if (del != NULL) {
		*del = r;
		del->keys = NULL;
	}
	edge_prop_negotiated(p->b, &r);
}

START_TEST(a_server_that_starts_after_the_negotiator_gets_its_live_sa_when_it_asks)
{
	struct pair p;
	struct edge_prop_held h[2];
	struct edge_prop_stats st;
	const char *log;

	pair_init(&p, 0);
	pair_b(&p);
	b_negotiates(&p, 0xbbb0001, 3600, NULL);
	/* Propagated while A is not there: lost. */
	ck_assert(run_until(&p, b_sent_one));
	run_for(&p, 100);
	pair_a(&p);
	ck_assert(run_until(&p, a_holds_one));
	log = kernel_fake_ops_log(p.ka);
	ck_assert_msg(strstr(log, "xfrm add sa it0 from edgeB serial 196804609 "
			     "in 0x0bbb0001 out 0x0bbb0002") != NULL, "%s", log);
	ck_assert_uint_eq(kernel_fake_xfrm_policies(p.ka, if_id_of(p.ca, "it0")), 3);
	ck_assert_uint_eq(edge_prop_held(p.a, "it0", h, 2), 1);
	ck_assert_str_eq(h[0].from, "edgeB");
	ck_assert(run_until(&p, a_answered));
	st = stats_of(p.b);
	ck_assert_uint_eq(st.resent, 1);
	ck_assert_uint_ge(st.resyncs_served, 1);
	ck_assert_uint_eq(st.sent, 1);		/* the first, lost, send */
	st = stats_of(p.a);
	ck_assert_uint_ge(st.resync_asks_sent, 1);
	ck_assert_uint_eq(st.resyncs_answered, 1);
	ck_assert_uint_eq(st.installed, 1);
	pair_down(&p);
}
END_TEST

START_TEST(an_expired_or_deleted_own_sa_is_not_resent)
{
	struct pair p;
	struct sarec del;
	struct edge_prop_held h[4];

	pair_init(&p, 0);
	pair_b(&p);
	b_negotiates(&p, 0xbbb0001, 1, NULL);		/* a 1 s lifetime */
	b_negotiates(&p, 0xbbb0011, 3600, &del);
	b_negotiates(&p, 0xbbb0021, 3600, NULL);
	edge_prop_deleted(p.b, &del);
	run_for(&p, 1100);
	pair_a(&p);
	ck_assert(run_until(&p, a_answered));
	run_for(&p, 100);
	ck_assert_uint_eq(edge_prop_held(p.a, "it0", h, 4), 1);
	ck_assert_uint_eq(h[0].spi_in, 0xbbb0021);
	ck_assert_uint_eq(stats_of(p.b).resent, stats_of(p.b).resyncs_served);
	pair_down(&p);
}
END_TEST

static bool
b_answered_twice(struct pair *p)
{
	return answered(p->b) >= 2;
}

START_TEST(a_held_sa_received_again_keeps_its_age)
{
	struct pair p;
	struct sarec r;
	struct edge_config *c2;
	struct edge_prop_held h[2];
	uint64_t age;

	pair_up(&p, 0);
	record(&r, "it0", if_id_of(p.ca, "it0"), 0xabc0041);
	edge_prop_negotiated(p.a, &r);
	ck_assert(run_until(&p, b_holds_one));
	run_for(&p, 400);
	ck_assert_uint_eq(edge_prop_held(p.b, "it0", h, 2), 1);
	age = h[0].age_ms;
	ck_assert_uint_ge(age, 400);
	/* A reload adds a peer: a new channel, whose peers B asks. */
	extra_peer = 3;
	c2 = conf(2, 1, test_port(), 0, KEY);
	extra_peer = 0;
	ck_assert_int_eq(edge_prop_apply(p.b, c2), 0);
	edge_config_free(p.cb);
	p.cb = c2;
	ck_assert(run_until(&p, b_answered_twice));
	ck_assert_uint_eq(stats_of(p.a).resent, 1);
	ck_assert_uint_eq(stats_of(p.b).installed, 2);	/* installed again */
	ck_assert_uint_eq(edge_prop_held(p.b, "it0", h, 2), 1);
	ck_assert_uint_ge(h[0].age_ms, age);
	pair_down(&p);
}
END_TEST

/* The hellos that reached @fd (B's address, nobody's server) since
 * @t0: their times into @at, at most @max; how many arrived. */
static size_t
drain_hellos(int fd, uint64_t t0, uint64_t *at, size_t n, size_t max)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	ssize_t len;

	while ((len = recv(fd, frame, sizeof(frame), MSG_DONTWAIT)) > 0) {
		ck_assert_int_eq(len, EDGE_SYNC_OVERHEAD + EDGE_SYNC_HELLO_LEN);
		ck_assert_uint_eq(frame[5], EDGE_SYNC_HELLO);
		ck_assert_uint_lt(n, max);
		at[n++] = mono_ms() - t0;
	}
	return n;
}

START_TEST(asks_repeat_at_1_3_and_10_s_until_answered_and_stop_then)
{
	static const uint64_t want[] = { 0, 1000, 3000, 10000 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct pair p;
	struct edge_sync_tx *tx;
	struct edge_sync_del d = { .tunnel = "it0", .negotiated_by = "edgeB",
				   .serial = 1, .spi_in = 0x1000,
				   .spi_out = 0x1001 };
	uint8_t pl[EDGE_SYNC_DEL_MAX], frame[EDGE_SYNC_FRAME_MAX];
	uint64_t at[8], t0, asks;
	size_t n = 0;
	ssize_t len;
	int fd;

	/* B's address and port, where nobody answers. */
	pair_init(&p, 0);
	sin.sin_addr = ip("127.0.0.2");
	sin.sin_port = htons((uint16_t)test_port());
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	t0 = mono_ms();
	pair_a(&p);
	while (mono_ms() - t0 < 10700) {
		run_for(&p, 20);
		n = drain_hellos(fd, t0, at, n, 8);
	}
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(at[i] + 5 >= want[i] && at[i] <= want[i] + 600,
			      "ask %zu at %" PRIu64 " ms", i, at[i]);
	ck_assert_uint_eq(stats_of(p.a).resync_asks_sent, 4);
	ck_assert_uint_eq(answered(p.a), 0);

	/* An authenticated frame from B, its asks spent: asked again. */
	ck_assert_int_eq(edge_sync_tx_create((const uint8_t *)KEY, strlen(KEY),
					     ip("127.0.0.2"), &tx), 0);
	len = edge_sync_del_encode(&d, pl, sizeof(pl));
	ck_assert_int_gt(len, 0);
	len = edge_sync_seal(tx, EDGE_SYNC_DEL, pl, (size_t)len,
			     clock_ns(CLOCK_REALTIME) / 1000000u - 1000,
			     frame, sizeof(frame));
	ck_assert_int_gt(len, 0);
	edge_sync_tx_free(tx);
	sin.sin_addr = ip("127.0.0.1");
	ck_assert_int_eq(sendto(fd, frame, (size_t)len, 0,
				(struct sockaddr *)&sin, sizeof(sin)), len);
	t0 = mono_ms();
	while (n == 4 && mono_ms() - t0 < 2000) {
		run_for(&p, 20);
		n = drain_hellos(fd, t0, at, n, 8);
	}
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_le(at[4], 500);
	close(fd);

	/* B starts: it asks, A asks it again, and B answers. */
	pair_b(&p);
	ck_assert(run_until(&p, a_answered));
	asks = stats_of(p.a).resync_asks_sent;
	/* Answered: the ask due 1 s after the last one never goes. */
	run_for(&p, 1500);
	ck_assert_uint_eq(stats_of(p.a).resync_asks_sent, asks);
	ck_assert_uint_eq(answered(p.a), 1);
	pair_down(&p);
}
END_TEST

/* @e's status (JSON) or metrics, as the control socket would show them;
 * the caller frees. */
static char *
view_of(struct edge *e, bool metrics)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	if (metrics)
		edge_view_metrics(e, out);
	else
		edge_view_status(e, true, out);
	fclose(out);
	return text;
}

START_TEST(the_resync_counters_show_in_status_and_metrics)
{
	struct pair p;
	struct edge e = { 0 };
	struct edge_prop_stats st;
	char want[1024], *text;
	int err;

	pair_init(&p, 0);
	pair_b(&p);
	b_negotiates(&p, 0xbbb0001, 3600, NULL);
	ck_assert(run_until(&p, b_sent_one));
	pair_a(&p);
	ck_assert(run_until(&p, a_answered));
	ck_assert(run_until(&p, a_holds_one));
	e.conf = p.cb;
	e.ops = p.kb;
	e.prop = p.b;
	ck_assert_ptr_nonnull(e.stats = edge_stats_create(&err));
	edge_prop_stats(p.b, &st);
	ck_assert_uint_ge(st.resent, 1);
	ck_assert_uint_ge(st.resyncs_served, 1);
	ck_assert_uint_ge(st.resync_asks_sent, 1);

	text = view_of(&e, false);
	snprintf(want, sizeof(want), "\"sa_propagation\":{\"sent\":%" PRIu64
		 ",\"send_failed\":%" PRIu64 ",\"received\":%" PRIu64
		 ",\"installed\":%" PRIu64 ",\"install_failed\":0,\"removed\":0"
		 ",\"pending\":0,\"resent\":%" PRIu64 ",\"resync_asks_sent\":%"
		 PRIu64 ",\"resyncs_served\":%" PRIu64 ",\"resyncs_answered\":%"
		 PRIu64 "}}\n", st.sent, st.send_failed, st.received,
		 st.installed, st.resent, st.resync_asks_sent, st.resyncs_served,
		 st.resyncs_answered);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	free(text);

	text = view_of(&e, true);
	snprintf(want, sizeof(want),
		 "tunsteer_edge_sa_propagation_frames_total{edge=\"%s\","
		 "result=\"resent\"} %" PRIu64 "\n", p.cb->name, st.resent);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text,
		"# HELP tunsteer_edge_sa_propagation_resyncs_total "));
	ck_assert_ptr_nonnull(strstr(text,
		"# TYPE tunsteer_edge_sa_propagation_resyncs_total counter\n"));
	snprintf(want, sizeof(want),
		 "tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
		 "event=\"asked\"} %" PRIu64 "\n"
		 "tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
		 "event=\"served\"} %" PRIu64 "\n"
		 "tunsteer_edge_sa_propagation_resyncs_total{edge=\"%s\","
		 "event=\"answered\"} %" PRIu64 "\n", p.cb->name,
		 st.resync_asks_sent, p.cb->name, st.resyncs_served, p.cb->name,
		 st.resyncs_answered);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	free(text);

	/* Propagation off: null in status, no series in metrics. */
	e.prop = NULL;
	text = view_of(&e, false);
	ck_assert_ptr_nonnull(strstr(text, "\"sa_propagation\":null}\n"));
	free(text);
	text = view_of(&e, true);
	ck_assert_ptr_null(strstr(text, "sa_propagation_resyncs_total"));
	free(text);
	edge_stats_destroy(e.stats);
	pair_down(&p);
}
END_TEST

static Suite *
edge_prop_suite(void)
{
	Suite *s = suite_create("edge_prop");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc,
		       negotiated_sa_reaches_the_peer_after_its_delay_and_its_delete_removes_it);
	tcase_add_test(tc, removing_a_held_sa_keeps_the_policies_while_this_servers_own_sa_of_the_tunnel_lives);
	tcase_add_test(tc,
		       when_charon_removes_the_policies_with_this_servers_own_sa_the_held_sas_get_them_back);
	tcase_add_test(tc,
		       while_this_servers_own_sa_lives_the_held_sas_policies_are_left_to_charon);
	tcase_add_test(tc, an_sa_deleted_before_its_delay_is_never_sent);
	tcase_add_test(tc, records_for_tunnels_that_are_not_ipsec_here_are_refused);
	tcase_add_test(tc,
		       datagrams_not_from_a_peer_or_not_sealed_with_the_key_are_refused);
	tcase_add_test(tc, a_server_that_stops_removes_what_it_holds);
	tcase_add_test(tc, a_reload_without_the_tunnel_removes_its_sas);
	tcase_add_test(tc,
		       a_pinned_tunnels_sa_is_held_inbound_only_and_its_traffic_goes_to_the_negotiator);
	tcase_add_test(tc,
		       unpinned_configs_have_no_pin_links_and_a_reload_that_pins_drops_the_outbound_half);
	tcase_add_test(tc,
		       a_server_that_starts_after_the_negotiator_gets_its_live_sa_when_it_asks);
	tcase_add_test(tc, an_expired_or_deleted_own_sa_is_not_resent);
	tcase_add_test(tc, a_held_sa_received_again_keeps_its_age);
	tcase_add_test(tc, asks_repeat_at_1_3_and_10_s_until_answered_and_stop_then);
	tcase_add_test(tc, the_resync_counters_show_in_status_and_metrics);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_prop_suite)
