/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health-check sockets as tunsteer-edge opens them: the raw ICMP
 * socket that reads every tunnel's answers has room for a whole
 * interval's worth (it used to keep the kernel's default, 208 KiB, however
 * many tunnels).  Needs CAP_NET_RAW; without it the test says so and
 * passes.
 *
 * And a pinned tunnel's checks (edge_checks_set_pins()): two engines, as
 * two servers, in a network namespace of the test's own, relay peers on
 * 127.0.0.1 and 127.0.0.2; the tunnel is a TUN device, so that what is
 * written into it can be read back.  Needs CAP_SYS_ADMIN and /dev/net/tun;
 * without them the tests say so and pass.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/edge_checks.h"
#include "edge/edge_config.h"
#include "edge/edge_hcpkt.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "testlib.h"

#define N_TUNNELS 200		/* 200 x 4 KiB: above the default */

static void
health_cb(void *arg, size_t tunnel, enum eh_state old)
{
	(void)arg, (void)tunnel, (void)old;
}

/* The receive buffer of this process's raw IPv4 ICMP socket (-1: none). */
static int
raw_icmp_rcvbuf(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name), v, dom, proto, sz;
		socklen_t l = sizeof(v);

		if (de->d_name[0] == '.' ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 ||
		    v != SOCK_RAW)
			continue;
		l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) != 0 ||
		    dom != AF_INET)
			continue;
		l = sizeof(proto);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0 ||
		    proto != IPPROTO_ICMP)
			continue;
		l = sizeof(sz);
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &l), 0);
		found = sz;
	}
	closedir(d);
	return found;
}

START_TEST(test_raw_socket_has_room_for_every_tunnels_answer)
{
	struct edge_config c = { .n_tunnels = N_TUNNELS };
	struct event_base *base = event_base_new();
	struct edge_checks *ec;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), err = 0, got;

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "check_edge_checks: no CAP_NET_RAW, not tested\n");
		event_base_free(base);
		return;
	}
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* Checks disabled: the sockets open, no timer is armed. */
	c.tunnels = calloc(N_TUNNELS, sizeof(*c.tunnels));
	ck_assert_ptr_nonnull(c.tunnels);
	ec = edge_checks_create(base, &c, health_cb, NULL, &err);
	ck_assert_msg(ec != NULL, "edge_checks_create: %d", err);
	got = raw_icmp_rcvbuf();
	ck_assert_msg(got >= N_TUNNELS * 4096,
		      "SO_RCVBUF %d for %d tunnels, want >= %d", got, N_TUNNELS,
		      N_TUNNELS * 4096);
	edge_checks_destroy(ec);
	free(c.tunnels);
	event_base_free(base);
}
END_TEST

/* --- pinned tunnels' checks ---------------------------------------------------- */

#define PIN_PORT 47123
#define TUN_NAME "pt0"

/* Interface @name up (in this namespace). */
static void
link_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
}

/* A namespace of our own with lo and the tunnel (a TUN device) up: the
 * TUN's fd, non-blocking, or -1 when this process may not make them. */
static int
pin_lab(void)
{
	struct ifreq ifr;
	int fd, s;

	if (unshare(CLONE_NEWNET) < 0 || (fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK)) < 0) {
		fprintf(stderr, "check_edge_checks: no network namespace or "
			"/dev/net/tun (%s), pinned checks not tested\n",
			strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TUN_NAME);
	ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	link_up(s, "lo");
	link_up(s, TUN_NAME);
	close(s);
	return fd;
}

struct server {
	struct edge_config c;
	struct edge_tunnel t;
	struct in_addr peer;
	struct edge_checks *ec;
};

/* Server @self (127.0.0.@self) whose relay peer is the other one, serving
 * the tunnel with checks every 50 ms. */
static void
server_start(struct server *sv, struct event_base *base, int self)
{
	struct edge_hc hc = EDGE_HC_DEFAULTS;
	int err = 0;

	memset(sv, 0, sizeof(*sv));
	hc.interval_ms = 50;
	hc.timeout_ms = 40;
	hc.retries = 0;
	snprintf(sv->t.name, sizeof(sv->t.name), TUN_NAME);
	sv->t.hc = hc;
	inet_pton(AF_INET, "198.18.0.0", &sv->t.provider_addr);
	inet_pton(AF_INET, "198.18.0.1", &sv->t.customer_addr);
	sv->c.tunnels = &sv->t;
	sv->c.n_tunnels = 1;
	sv->c.relay.set = true;
	sv->c.relay.port = PIN_PORT;
	sv->c.relay.address.s_addr = htonl(0x7f000000u | (uint32_t)self);
	sv->peer.s_addr = htonl(0x7f000000u | (uint32_t)(3 - self));
	sv->c.relay.peers = &sv->peer;
	sv->c.relay.n_peers = 1;
	sv->ec = edge_checks_create(base, &sv->c, health_cb, NULL, &err);
	ck_assert_msg(sv->ec != NULL, "edge_checks_create: %d", err);
}

/* Run @base until @done or 5 s. */
static void
run_until(struct event_base *base, bool (*done)(void *), void *arg)
{
	uint64_t end = mono_ms() + 5000;

	while (!done(arg) && mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static struct server a, b;	/* a negotiated the tunnel's SA; b holds it pinned */

/* Both servers on one loop. */
static struct event_base *
pair_start(void)
{
	struct event_base *base = event_base_new();

	ck_assert_ptr_nonnull(base);
	server_start(&a, base, 1);
	server_start(&b, base, 2);
	return base;
}

static void
pair_stop(struct event_base *base, int tun_fd)
{
	edge_checks_destroy(a.ec);
	edge_checks_destroy(b.ec);
	a.ec = b.ec = NULL;	/* the next test may run in this process */
	event_base_free(base);
	close(tun_fd);
}

static bool
b_sent_three_via_a(void *arg)
{
	(void)arg;
	return edge_checks_stats(b.ec, 0)->sent_via_peer >= 3 &&
	       edge_checks_stats(a.ec, 0)->sent_for_peers >= 3;
}

/* Read what was written into the TUN device; count the checks of
 * @origin and of anyone. */
static void
tun_read(int fd, uint32_t origin, unsigned int *mine, unsigned int *all)
{
	uint8_t buf[2048];
	ssize_t n;

	*mine = *all = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		struct hc_probe p;

		struct in_addr s, d;

		if (hc_parse_check(buf, (size_t)n, &p, &s, &d) < 0)
			continue;
		(*all)++;
		if (p.origin == origin)
			(*mine)++;
	}
}

START_TEST(test_a_pinned_tunnels_checks_are_sent_into_it_by_the_negotiator)
{
	struct event_base *base;
	struct in_addr to;
	unsigned int mine, all;
	int fd = pin_lab();

	if (fd < 0)
		return;
	base = pair_start();
	to = b.peer;	/* 127.0.0.1: a */
	edge_checks_set_pins(b.ec, &to);
	run_until(base, b_sent_three_via_a, NULL);
	ck_assert_msg(b_sent_three_via_a(NULL), "b sent %llu via a, a sent %llu for peers",
		      (unsigned long long)edge_checks_stats(b.ec, 0)->sent_via_peer,
		      (unsigned long long)edge_checks_stats(a.ec, 0)->sent_for_peers);
	ck_assert_uint_eq(edge_checks_stats(b.ec, 0)->send_errors, 0);
	ck_assert_uint_eq(edge_checks_stats(a.ec, 0)->sent_via_peer, 0);
	ck_assert_uint_eq(edge_checks_stats(b.ec, 0)->sent_for_peers, 0);
	/* b's checks went into the device (a wrote them), as did a's own. */
	tun_read(fd, ntohl(b.c.relay.address.s_addr), &mine, &all);
	ck_assert_uint_ge(mine, 3);
	ck_assert_uint_gt(all, mine);
	/* Unpinned, b writes its checks itself again. */
	edge_checks_set_pins(b.ec, NULL);
	{
		uint64_t via = edge_checks_stats(b.ec, 0)->sent_via_peer;
		uint64_t sent = edge_checks_stats(b.ec, 0)->sent;

		while (edge_checks_stats(b.ec, 0)->sent < sent + 3)
			event_base_loop(base, EVLOOP_ONCE);
		ck_assert_uint_eq(edge_checks_stats(b.ec, 0)->sent_via_peer, via);
	}
	pair_stop(base, fd);
}
END_TEST

static bool
both_sent_three_via_the_other(void *arg)
{
	(void)arg;
	return edge_checks_stats(a.ec, 0)->sent_via_peer >= 3 &&
	       edge_checks_stats(b.ec, 0)->sent_via_peer >= 3;
}

/* Each pinned to the other (their views of the negotiator disagree for a
 * moment): neither sends the other's checks, so none goes round. */
START_TEST(test_servers_pinned_to_each_other_send_none_of_the_others_checks)
{
	struct event_base *base;
	struct in_addr to_a, to_b;
	unsigned int mine, all;
	int fd = pin_lab();

	if (fd < 0)
		return;
	base = pair_start();
	to_a = b.peer;
	to_b = a.peer;
	edge_checks_set_pins(a.ec, &to_b);
	edge_checks_set_pins(b.ec, &to_a);
	run_until(base, both_sent_three_via_the_other, NULL);
	ck_assert(both_sent_three_via_the_other(NULL));
	ck_assert_uint_eq(edge_checks_stats(a.ec, 0)->sent_for_peers, 0);
	ck_assert_uint_eq(edge_checks_stats(b.ec, 0)->sent_for_peers, 0);
	tun_read(fd, 0, &mine, &all);
	ck_assert_uint_eq(all, 0);
	pair_stop(base, fd);
}
END_TEST

/* A relay peer may ask us to send only its own checks: one that names
 * another origin, another tunnel than its header, or is addressed as no
 * check of that tunnel is, is not sent. */
START_TEST(test_a_peer_cannot_have_us_send_a_check_not_its_own)
{
	struct event_base *base;
	struct hc_plan plan;
	struct hc_probe p = { .tunnel = 0, .seq = 1, .nonce = 2 };
	uint8_t pkt[HC_PKT_LEN], msg[HC_RELAY_HDR + HC_PKT_LEN];
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	unsigned int mine, all;
	int fd = pin_lab(), s;
	size_t n;

	if (fd < 0)
		return;
	base = event_base_new();
	server_start(&a, base, 1);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	from.sin_addr = a.peer;		/* 127.0.0.2, a's peer */
	ck_assert_int_eq(bind(s, (struct sockaddr *)&from, sizeof(from)), 0);
	to.sin_addr = a.c.relay.address;
	to.sin_port = htons(PIN_PORT);
	hc_plan_for(&a.t, a.c.public_address, &plan);
	p.origin = 0x7f000003u;		/* not the sender */
	hc_build(&plan, &p, pkt);
	n = hc_relay_build(HC_RELAY_SEND, 0, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_int_eq(sendto(s, msg, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
	p.origin = 0x7f000002u;		/* the sender, but another tunnel */
	hc_build(&plan, &p, pkt);
	n = hc_relay_build(HC_RELAY_SEND, 1, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_int_eq(sendto(s, msg, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
	{
		/* The sender's, that tunnel, but to another destination. */
		struct hc_plan other = plan;

		inet_pton(AF_INET, "192.0.2.9", &other.dst);
		hc_build(&other, &p, pkt);
		n = hc_relay_build(HC_RELAY_SEND, 0, pkt, sizeof(pkt), msg, sizeof(msg));
		ck_assert_int_eq(sendto(s, msg, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
		hc_build(&plan, &p, pkt);
	}
	/* The sender's own check of this tunnel: sent. */
	n = hc_relay_build(HC_RELAY_SEND, 0, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_int_eq(sendto(s, msg, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
	{
		uint64_t end = mono_ms() + 5000;

		while (edge_checks_stats(a.ec, 0)->sent_for_peers == 0 && mono_ms() < end)
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
	}
	ck_assert_uint_eq(edge_checks_stats(a.ec, 0)->sent_for_peers, 1);
	tun_read(fd, 0x7f000002u, &mine, &all);
	ck_assert_uint_eq(mine, 1);
	close(s);
	pair_stop(base, fd);	/* b was never started */
}
END_TEST

static Suite *
edge_checks_suite(void)
{
	Suite *s = suite_create("edge_checks");
	TCase *tc = tcase_create("sockets");

	tcase_add_test(tc, test_raw_socket_has_room_for_every_tunnels_answer);
	suite_add_tcase(s, tc);
	tc = tcase_create("pinned");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_a_pinned_tunnels_checks_are_sent_into_it_by_the_negotiator);
	tcase_add_test(tc, test_servers_pinned_to_each_other_send_none_of_the_others_checks);
	tcase_add_test(tc, test_a_peer_cannot_have_us_send_a_check_not_its_own);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_checks_suite)
