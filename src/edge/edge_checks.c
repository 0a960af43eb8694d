/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edge/edge_checks.h"
#include "edge/edge_hcpkt.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/random.h"
#include "lib/rawsock.h"

struct hc_tunnel {
	struct edge_checks *ec;
	size_t index;
	const struct edge_tunnel *t;
	struct hc_plan plan;
	struct edge_health h;
	struct hc_inflight fly;
	bool fly_retry;			/* the check in flight is a retry */
	uint32_t next_seq;
	unsigned int ifindex;		/* 0: look it up before sending */
	uint32_t pin_to;		/* the peer that sends our checks
					 * (network order); 0: the device */
	struct event *tick, *timeout;
	uint64_t next_due_ms;		/* the next regular check */
	struct edge_check_stats st;
};

struct edge_checks {
	struct event_base *base;
	const struct edge_config *conf;
	edge_checks_cb cb;
	void *arg;
	int raw_fd, pkt_fd, relay_fd;
	struct event *raw_ev, *relay_ev;
	uint32_t self;			/* our origin id */
	uint16_t ident;
	struct hc_tunnel *t;
	size_t n;
	uint64_t foreign;
};

uint64_t
edge_checks_now_ms(void)
{
	return mono_ms();
}

static struct timeval
tv_ms(uint64_t ms)
{
	return (struct timeval){ (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
}

static void send_check(struct hc_tunnel *t, bool retry);
static void raw_cb(evutil_socket_t fd, short what, void *arg);

static void
schedule_next(struct hc_tunnel *t)
{
	uint64_t now = edge_checks_now_ms();
	struct timeval tv;

	if (now >= t->next_due_ms) {
		send_check(t, false);
		return;
	}
	tv = tv_ms(t->next_due_ms - now);
	evtimer_add(t->tick, &tv);
}

static void
result(struct hc_tunnel *t, bool ok, uint32_t rtt_us)
{
	struct edge_checks *ec = t->ec;
	enum eh_state old;
	bool retry;

	t->fly.used = false;
	if (ok) {
		t->st.ok++;
		t->st.last_rtt_us = rtt_us;
	} else {
		t->st.failed++;
	}
	retry = edge_health_feed(&t->h, ok, t->fly_retry, edge_checks_now_ms(), &old);
	log_debug("check", "tunnel %s: check %u %s%s", t->t->name,
		  t->fly.seq, ok ? "passed" : "failed",
		  retry ? ", retrying at once" : "");
	if (t->h.state != old) {
		log_notice("check", "tunnel %s: %s -> %s (%s)", t->t->name,
			   edge_health_state_name(old),
			   edge_health_state_name(t->h.state), t->h.reason);
		ec->cb(ec->arg, t->index, old);
	}
	if (retry)
		send_check(t, true);
	else
		schedule_next(t);
}

/*
 * The check in flight may be lost.  Answers already queued are read
 * first: the kernel's receive time decides (hc_in_time()), so an answer
 * that came in time but waited for a late loop still passes.  Reading
 * may end this check and start the next (a quick retry); only a check
 * past its own deadline is lost, and a timer that fired before it (the
 * loop's cached time) waits for the rest.
 */
static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hc_tunnel *t = arg;
	uint64_t deadline, now, us;
	struct timeval tv;

	(void)fd, (void)what;
	if (!t->fly.used)
		return;
	raw_cb(t->ec->raw_fd, EV_READ, t->ec);
	if (!t->fly.used)
		return;
	deadline = t->fly.sent_ns + (uint64_t)t->t->hc.timeout_ms * 1000000u;
	now = mono_ns();
	if (now >= deadline) {
		result(t, false, 0);
		return;
	}
	us = (deadline - now + 999) / 1000u;
	tv = (struct timeval){ (time_t)(us / 1000000u),
			       (suseconds_t)(us % 1000000u) };
	evtimer_add(t->timeout, &tv);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hc_tunnel *t = arg;

	/* A check (or retry) still in flight sends the next when it ends. */
	if (!t->fly.used)
		send_check(t, false);
}

/* Write @pkt straight into @t's device, whatever routing would do. */
static int
send_into(struct hc_tunnel *t, const uint8_t *pkt, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_IP) };

	if (t->ifindex == 0)
		t->ifindex = if_nametoindex(t->t->name);
	if (t->ifindex == 0)
		return -ENODEV;
	to.sll_ifindex = (int)t->ifindex;
	if (sendto(t->ec->pkt_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		int err = -errno;

		t->ifindex = 0;
		return err;
	}
	return 0;
}

/* A relay datagram (@kind, @word, @pkt) to the relay peer at @addr
 * (network order): 0 or a negative errno. */
static int
relay_to(struct edge_checks *ec, uint32_t addr, enum hc_relay_kind kind,
	 uint32_t word, const uint8_t *pkt, size_t len)
{
	uint8_t msg[HC_RELAY_HDR + 512];
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(ec->conf->relay.port),
				  .sin_addr.s_addr = addr };
	size_t n = hc_relay_build(kind, word, pkt, len, msg, sizeof(msg));

	if (ec->relay_fd < 0 || n == 0)
		return -EINVAL;
	if (sendto(ec->relay_fd, msg, n, MSG_DONTWAIT, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return -errno;
	return 0;
}

/* Hand our check to the peer that can encrypt it (edge_checks_set_pins()). */
static int
send_via_peer(struct hc_tunnel *t, const uint8_t *pkt, size_t len)
{
	int err = relay_to(t->ec, t->pin_to, HC_RELAY_SEND, (uint32_t)t->index,
			   pkt, len);

	if (err == 0)
		t->st.sent_via_peer++;
	return err;
}

static void
send_check(struct hc_tunnel *t, bool retry)
{
	struct edge_checks *ec = t->ec;
	uint64_t now = mono_ns();
	struct hc_probe p = { .origin = ec->self, .tunnel = (uint32_t)t->index,
			      .seq = t->next_seq++, .sent_ns = now,
			      .nonce = ts_random64(), .ident = ec->ident };
	uint8_t buf[HC_PKT_LEN];
	struct timeval tv = tv_ms(t->t->hc.timeout_ms);
	size_t len = hc_build(&t->plan, &p, buf);
	int err;

	if (!retry)
		t->next_due_ms = now / 1000000u + t->t->hc.interval_ms;
	t->fly = (struct hc_inflight){ .used = true, .seq = p.seq,
				       .nonce = p.nonce, .sent_ns = now };
	t->fly_retry = retry;
	t->st.sent++;
	err = t->pin_to ? send_via_peer(t, buf, len) : send_into(t, buf, len);
	if (err < 0) {
		t->st.send_errors++;
		log_debug("check", "tunnel %s: check %u not sent: %s", t->t->name,
			  p.seq, strerror(-err));
	}
	/* Unsent is lost at its timeout like any other. */
	evtimer_add(t->timeout, &tv);
}

static struct hc_tunnel *
tunnel_by_ifindex(struct edge_checks *ec, unsigned int ifindex)
{
	for (size_t i = 0; i < ec->n && ifindex; i++) {
		if (ec->t[i].ifindex == 0)
			ec->t[i].ifindex = if_nametoindex(ec->t[i].t->name);
		if (ec->t[i].ifindex == ifindex)
			return &ec->t[i];
	}
	return NULL;
}

static bool
is_peer(const struct edge_checks *ec, uint32_t addr)
{
	for (size_t i = 0; i < ec->conf->relay.n_peers; i++)
		if (ec->conf->relay.peers[i].s_addr == addr)
			return true;
	return false;
}

/* @rx_ns: when the answer reached a kernel of ours (monotonic). */
static void
answer(struct edge_checks *ec, const struct hc_probe *p, struct in_addr src,
       struct in_addr dst, uint32_t arrived, uint64_t rx_ns)
{
	struct hc_tunnel *t;
	uint32_t rtt_us;

	if (p->tunnel >= ec->n)
		return;
	t = &ec->t[p->tunnel];
	if (!hc_answers(&t->fly, &t->plan, ec->self, (uint32_t)t->index, p, src,
			dst, arrived)) {
		t->st.refused++;
		log_debug("check", "tunnel %s: answer %u refused (late, forged "
			  "or by another path)", t->t->name, p->seq);
		return;
	}
	evtimer_del(t->timeout);
	if (!hc_in_time(&t->fly, rx_ns, t->t->hc.timeout_ms, &rtt_us)) {
		log_debug("check", "tunnel %s: answer %u received %u ms after "
			  "the check, past its %u ms timeout: failed", t->t->name,
			  p->seq, rtt_us / 1000u, t->t->hc.timeout_ms);
		result(t, false, 0);
		return;
	}
	result(t, true, rtt_us);
}

/* Another server's answer: pass it on if that server is a peer. */
static void
relay(struct edge_checks *ec, const struct hc_probe *p, const uint8_t *pkt,
      size_t len, uint32_t arrived)
{
	uint32_t to = htonl(p->origin);

	if (!ec->conf->relay.set || ec->relay_fd < 0 || !is_peer(ec, to)) {
		ec->foreign++;
		return;
	}
	if (relay_to(ec, to, HC_RELAY_ANSWER, arrived, pkt, len) < 0) {
		log_debug("check", "relay to %s failed",
			  inet_ntoa((struct in_addr){ to }));
		return;
	}
	if (p->tunnel < ec->n)
		ec->t[p->tunnel].st.relayed_out++;
}

static void
raw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge_checks *ec = arg;

	for (;;) {
		uint8_t buf[512];
		unsigned int ifindex;
		struct hc_tunnel *via;
		struct hc_probe p;
		struct in_addr src, dst;
		uint32_t arrived;
		struct timespec stamp;
		ssize_t n = rawsock_recv(ec->raw_fd, buf, sizeof(buf), &ifindex,
					 &stamp);

		if (n < 0)
			return;
		if (hc_parse(buf, (size_t)n, &p, &src, &dst) < 0)
			continue;
		via = tunnel_by_ifindex(ec, ifindex);
		arrived = via ? (uint32_t)via->index : HC_NOT_TUNNEL;
		if (p.origin == ec->self)
			answer(ec, &p, src, dst, arrived,
			       rawsock_rx_mono_now(&stamp));
		else
			relay(ec, &p, buf, (size_t)n, arrived);
	}
}

/*
 * Peer @from (network order) asks us to send its check @pkt into our
 * device of tunnel @tunnel: only a check of its own (its origin), of that
 * tunnel, addressed as our own checks of it are (every server has the
 * same config), and only where we do not hand this tunnel's checks on
 * ourselves (so nothing goes round between servers).
 */
static void
send_for_peer(struct edge_checks *ec, uint32_t from, uint32_t tunnel,
	      const uint8_t *pkt, size_t len)
{
	struct hc_probe p;
	struct hc_tunnel *t;
	struct in_addr src, dst;
	int err;

	if (hc_parse_check(pkt, len, &p, &src, &dst) < 0 ||
	    p.origin != ntohl(from) || p.tunnel != tunnel || tunnel >= ec->n)
		return;
	t = &ec->t[tunnel];
	if (src.s_addr != t->plan.src.s_addr || dst.s_addr != t->plan.dst.s_addr) {
		log_debug("check", "tunnel %s: a peer's check not sent: "
			  "addressed as no check of ours", t->t->name);
		return;
	}
	if (t->pin_to != 0) {
		log_debug("check", "tunnel %s: a peer's check not sent: its SA "
			  "is pinned to another server here too", t->t->name);
		return;
	}
	if ((err = send_into(t, pkt, len)) < 0) {
		log_debug("check", "tunnel %s: a peer's check not sent: %s",
			  t->t->name, strerror(-err));
		return;
	}
	t->st.sent_for_peers++;
}

static void
relay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge_checks *ec = arg;

	for (;;) {
		uint8_t buf[HC_RELAY_HDR + 512];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		struct hc_probe p;
		struct in_addr src, dst;
		enum hc_relay_kind kind;
		uint32_t arrived;
		int off;
		ssize_t n = recvfrom(ec->relay_fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &flen);

		if (n < 0)
			return;
		/* Only peers may tell us about our checks. */
		if (flen < sizeof(from) || !is_peer(ec, from.sin_addr.s_addr) ||
		    (off = hc_relay_parse(buf, (size_t)n, &kind, &arrived)) < 0)
			continue;
		if (kind == HC_RELAY_SEND) {
			send_for_peer(ec, from.sin_addr.s_addr, arrived, buf + off,
				      (size_t)n - (size_t)off);
			continue;
		}
		if (hc_parse(buf + off, (size_t)n - (size_t)off, &p, &src, &dst) < 0 ||
		    p.origin != ec->self)
			continue;
		if (p.tunnel < ec->n)
			ec->t[p.tunnel].st.relayed_in++;
		/* When the peer's kernel got it is not known here; ours got
		 * the relayed copy later still, so now is a fair bound. */
		answer(ec, &p, src, dst, arrived, mono_ns());
	}
}

static int
open_sockets(struct edge_checks *ec)
{
	int r;

	if ((ec->raw_fd = rawsock_icmp_open()) < 0)
		return ec->raw_fd;
	/* Every tunnel's answers of one interval (checks and quick
	 * retries, relayed ones aside) must fit while the loop is busy. */
	if ((r = rawsock_size_rcvbuf(ec->raw_fd, ec->conf->n_tunnels)) < 0) {
		errno = -r;
		log_warn("check", "receive buffer for %zu tunnels",
			 ec->conf->n_tunnels);
	}
	/* Protocol 0: this socket only sends. */
	ec->pkt_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ec->pkt_fd < 0)
		return -errno;
	ec->raw_ev = event_new(ec->base, ec->raw_fd, EV_READ | EV_PERSIST, raw_cb, ec);
	if (ec->raw_ev == NULL || event_add(ec->raw_ev, NULL) < 0)
		return -ENOMEM;
	if (ec->conf->relay.set) {
		ec->relay_fd = udpsock_bind(ec->conf->relay.address,
					    ec->conf->relay.port);
		if (ec->relay_fd < 0)
			return ec->relay_fd;
		ec->relay_ev = event_new(ec->base, ec->relay_fd, EV_READ | EV_PERSIST,
					 relay_cb, ec);
		if (ec->relay_ev == NULL || event_add(ec->relay_ev, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct edge_checks *
edge_checks_create(struct event_base *base, const struct edge_config *c,
		   edge_checks_cb cb, void *arg, int *err)
{
	struct edge_checks *ec = calloc(1, sizeof(*ec));
	uint64_t now = edge_checks_now_ms();
	int e;

	if (ec == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	ec->base = base;
	ec->conf = c;
	ec->cb = cb;
	ec->arg = arg;
	ec->raw_fd = ec->pkt_fd = ec->relay_fd = -1;
	ec->ident = (uint16_t)ts_random64();
	/* The relay address names us in the payload, so peers know where
	 * to send our answers; without relays any unique id will do. */
	ec->self = c->relay.set ? ntohl(c->relay.address.s_addr) :
				  (uint32_t)ts_random64();
	if ((e = open_sockets(ec)) < 0)
		goto fail;
	ec->n = c->n_tunnels;
	if ((ec->t = calloc(ec->n ? ec->n : 1, sizeof(*ec->t))) == NULL) {
		e = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < ec->n; i++) {
		struct hc_tunnel *t = &ec->t[i];
		const struct edge_hc *hc = &c->tunnels[i].hc;
		struct timeval tv;

		t->ec = ec;
		t->index = i;
		t->t = &c->tunnels[i];
		hc_plan_for(t->t, c->public_address, &t->plan);
		edge_health_init(&t->h, hc->min_state_ms, hc->retries, now);
		t->next_seq = (uint32_t)ts_random64();
		t->tick = evtimer_new(base, tick_cb, t);
		t->timeout = evtimer_new(base, timeout_cb, t);
		if (t->tick == NULL || t->timeout == NULL) {
			e = -ENOMEM;
			goto fail;
		}
		if (!hc->enabled)
			continue;	/* stays healthy: traffic keeps flowing */
		/* Spread the tunnels' checks over one interval. */
		t->next_due_ms = now + (uint64_t)hc->interval_ms * i / (ec->n ? ec->n : 1);
		tv = tv_ms(t->next_due_ms - now);
		evtimer_add(t->tick, &tv);
	}
	return ec;
fail:
	edge_checks_destroy(ec);
	*err = e;
	return NULL;
}

void
edge_checks_destroy(struct edge_checks *ec)
{
	if (ec == NULL)
		return;
	for (size_t i = 0; i < ec->n && ec->t; i++) {
		if (ec->t[i].tick)
			event_free(ec->t[i].tick);
		if (ec->t[i].timeout)
			event_free(ec->t[i].timeout);
	}
	free(ec->t);
	if (ec->raw_ev)
		event_free(ec->raw_ev);
	if (ec->relay_ev)
		event_free(ec->relay_ev);
	if (ec->raw_fd >= 0)
		close(ec->raw_fd);
	if (ec->pkt_fd >= 0)
		close(ec->pkt_fd);
	if (ec->relay_fd >= 0)
		close(ec->relay_fd);
	free(ec);
}

void
edge_checks_set_pins(struct edge_checks *ec, const struct in_addr *to)
{
	for (size_t i = 0; ec != NULL && i < ec->n; i++) {
		uint32_t want = to ? to[i].s_addr : 0;

		/* Only a peer: anything else keeps the device. */
		if (want != 0 && !is_peer(ec, want))
			want = 0;
		if (ec->t[i].pin_to != want)
			log_info("check", "tunnel %s: checks leave %s%s",
				 ec->t[i].t->name, want ? "through relay peer " :
				 "through the tunnel's own device",
				 want ? inet_ntoa((struct in_addr){ want }) : "");
		ec->t[i].pin_to = want;
	}
}

const struct edge_health *
edge_checks_health(const struct edge_checks *ec, size_t i)
{
	return ec && i < ec->n ? &ec->t[i].h : NULL;
}

const struct edge_check_stats *
edge_checks_stats(const struct edge_checks *ec, size_t i)
{
	return ec && i < ec->n ? &ec->t[i].st : NULL;
}

uint64_t
edge_checks_foreign(const struct edge_checks *ec)
{
	return ec ? ec->foreign : 0;
}
