/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/random.h"
#include "lib/rawsock.h"
#include "tunsteerd/loop.h"
#include "tunsteerd/loopmeter.h"
#include "tunsteerd/probe.h"
#include "tunsteerd/probe_pkt.h"

#define INFLIGHT 64			/* probes in flight per tunnel */

struct probed {
	struct probe_engine *pe;
	size_t index;
	char name[IFNAMSIZ];
	enum probe_family family;
	struct in_addr target, source;
	struct in6_addr target6, source6;	/* peer6, address6 */
	bool ipsec;			/* health_sa() applies */
	struct health h;
	struct event *timer;
	struct event *expiry;		/* the next in-flight deadline */
	/* Per slot (seq % INFLIGHT): the IPv4 and ICMPv6 probe in flight
	 * and the round they make (health.h). */
	struct probe_inflight fly[INFLIGHT], fly6[INFLIGHT];
	struct health_round round[INFLIGHT];
	uint32_t next_seq;
	unsigned int ifindex;
	struct timeval every;		/* interval_ms */
	bool phased;			/* the first, offset, tick is past */
	uint64_t tick_due;		/* when tick_cb should run next */
	uint64_t expiry_due;		/* when expiry_cb should run */
};

struct probe_engine {
	struct event_base *base;
	probe_change_cb cb;
	void *arg;
	int fd;
	struct event *rx;
	/* ICMPv6, opened by the first set that probes a family with it
	 * (probe_engine_prepare()) and kept: a host without IPv6 runs
	 * IPv4-only configs as it always did. */
	int fd6;
	struct event *rx6;
	uint16_t ident;
	struct probed *t;
	size_t n;
	struct probed **by_name;	/* &t[i], sorted by name */
	struct probed *staged;		/* prepared, not yet committed */
	size_t n_staged;
	struct probed **staged_by_name;
	probe_checks_fn checks_fn;
	void *checks_arg;
	probe_sa_fn sa_fn;
	void *sa_arg;
	/* Our own lateness: probes whose deadline passed while the loop was
	 * late by more than an interval are not judged (see expire()). */
	uint64_t late_unjudged;		/* such probes, ever */
	uint64_t late_episodes;		/* times the loop was found late */
	bool late_now;			/* in an episode (log once) */
};

static uint64_t
interval_ns(const struct probed *t)
{
	return (uint64_t)t->h.cfg.interval_ms * 1000000u;
}

/* A complete round to the health machine; an unjudged one (our loop was
 * late) is counted as ours and judged by nobody. */
static void
feed(struct probed *t, const struct health_round *r, uint64_t now)
{
	enum health_state old;

	if (r->unjudged) {
		t->pe->late_unjudged++;
		return;
	}
	old = health_feed_round(&t->h, r, now / 1000000u);
	if (old == t->h.state)
		return;
	log_notice("probe", "tunnel %s: %s -> %s (%s; rtt %.1f ms, loss %u%%)",
		   t->name, health_state_name(old), health_state_name(t->h.state),
		   t->h.reason, t->h.last_rtt_us / 1000.0, health_loss_pct(&t->h));
	t->pe->cb(t->pe->arg, t->index, old);
}

/* The provider's checks, sampled: missing holds the tunnel at most
 * degraded until they are back. */
static void
sample_checks(struct probed *t, uint64_t now)
{
	struct probe_engine *pe = t->pe;
	bool missing = pe->checks_fn &&
		       pe->checks_fn(pe->checks_arg, t->index, t->name);
	enum health_state old = health_checks(&t->h, missing, now / 1000000u);

	if (old == t->h.state)
		return;
	log_notice("probe", "tunnel %s: %s -> %s (%s)", t->name,
		   health_state_name(old), health_state_name(t->h.state),
		   t->h.reason);
	pe->cb(pe->arg, t->index, old);
}

/* Is a CHILD_SA missing?  Only ipsec tunnels have one to miss. */
static bool
sa_missing(const struct probed *t)
{
	const struct probe_engine *pe = t->pe;

	return t->ipsec && pe->sa_fn && pe->sa_fn(pe->sa_arg, t->name);
}

/* The CHILD_SA, sampled: a level, like the checks, so that a reload or a
 * re-created health record can never leave it and the FSM out of step. */
static void
sample_sa(struct probed *t, uint64_t now)
{
	enum health_state old = health_sa(&t->h, sa_missing(t),
					  now / 1000000u);

	if (old == t->h.state)
		return;
	log_notice("probe", "tunnel %s: %s -> %s (%s)", t->name,
		   health_state_name(old), health_state_name(t->h.state),
		   t->h.reason);
	t->pe->cb(t->pe->arg, t->index, old);
}

static void drain(struct probe_engine *pe);
static void drain6(struct probe_engine *pe);

/* Family @fam of the round in slot @slot came out as @o: once every
 * family of the round is judged, the round goes to health. */
static void
judge(struct probed *t, size_t slot, enum health_family fam,
      enum health_outcome o, uint32_t rtt_us, uint64_t now)
{
	if (health_round_note(&t->round[slot], fam, o, rtt_us))
		feed(t, &t->round[slot], now);
}

/*
 * Note how late the loop ran a callback that was due at @due.  Late by
 * more than an interval, the loop (the daemon, or the whole machine) did
 * not run while probes were out: their answers may have come and gone
 * unread or unsent, and counting them lost would fail a tunnel for our
 * own lateness.  Logged once per episode, counted always.
 */
static bool
loop_late(struct probed *t, uint64_t due, uint64_t now)
{
	struct probe_engine *pe = t->pe;
	bool late = due && now > due && now - due > interval_ns(t);

	if (late && !pe->late_now) {
		pe->late_episodes++;
		log_warnx("probe", "event loop %.0f ms late (tunnel %s's timer): "
			  "probes that expired meanwhile are not charged to the tunnels",
			  (now - due) / 1e6, t->name);
	}
	pe->late_now = late;
	return late;
}

/* Probes past their deadline are lost, unless the loop was too late to
 * judge them (@unjudged): then they are dropped uncounted.  Answers
 * already queued are read first, and only then: the kernel's receive
 * time decides, not when we get round to reading, and a tick with
 * nothing due costs no read. */
static void
expire(struct probed *t, uint64_t now, bool unjudged)
{
	enum health_outcome o = unjudged ? HEALTH_UNJUDGED : HEALTH_LOST;

	if (t->expiry_due == 0 || t->expiry_due > now)
		return;
	drain(t->pe);
	drain6(t->pe);
	for (size_t i = 0; i < INFLIGHT; i++) {
		struct probe_inflight *f = &t->fly[i], *f6 = &t->fly6[i];

		if (f->used && now >= f->deadline_ns) {
			f->used = false;
			judge(t, i, HEALTH_IPV4, o, 0, now);
		}
		if (f6->used && now >= f6->deadline_ns) {
			f6->used = false;
			judge(t, i, HEALTH_IPV6, o, 0, now);
		}
	}
}

/* Wake at the earliest deadline of the probes in flight, so a probe is
 * lost at timeout_ms, not at the next tick. */
static void
arm_expiry(struct probed *t, uint64_t now)
{
	uint64_t first = UINT64_MAX;
	struct timeval tv;

	for (size_t i = 0; i < INFLIGHT; i++) {
		if (t->fly[i].used && t->fly[i].deadline_ns < first)
			first = t->fly[i].deadline_ns;
		if (t->fly6[i].used && t->fly6[i].deadline_ns < first)
			first = t->fly6[i].deadline_ns;
	}
	if (first == UINT64_MAX) {
		event_del(t->expiry);
		t->expiry_due = 0;
		return;
	}
	t->expiry_due = first;
	first = first > now ? first - now : 0;
	tv.tv_sec = (time_t)(first / 1000000000u);
	tv.tv_usec = (suseconds_t)(first % 1000000000u / 1000u);
	event_add(t->expiry, &tv);
}

static void
expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probed *t = arg;
	uint64_t now = mono_ns();

	(void)fd;
	(void)what;
	expire(t, now, loop_late(t, t->expiry_due, now));
	arm_expiry(t, now);
}

/* The link's ifindex, looked up only when unknown or after a send failed
 * (the link was re-created), not for every probe. */
static unsigned int
link_index(struct probed *t)
{
	if (t->ifindex == 0)
		t->ifindex = if_nametoindex(t->name);
	return t->ifindex;
}

/* Through the tunnel, never around it: IP_PKTINFO names the tunnel as
 * the output interface whatever the routing tables say. */
static void
send4(struct probed *t, const struct probe_pkt *p)
{
	uint8_t buf[PROBE_PKT_LEN];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = t->target };
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = buf };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);

	iov.iov_len = probe_pkt_build(p, buf);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi->ipi_ifindex = (int)link_index(t);
	pi->ipi_spec_dst = t->source;
	if (t->ifindex == 0 || sendmsg(t->pe->fd, &mh, MSG_DONTWAIT) < 0) {
		log_debug("probe", "tunnel %s: probe %u not sent: %s", t->name,
			  p->seq, t->ifindex ? strerror(errno) : "no such link");
		/* As send6(): only a link that is gone (a stale ifindex is
		 * ENODEV) is looked up again, so that this family's failure
		 * does not refuse the other's answer of the round. */
		if (t->ifindex && (errno == ENODEV || errno == ENXIO))
			t->ifindex = 0;
	}
}

/*
 * The ICMPv6 probe: from the tunnel's address6 to the provider's side of
 * the /127, IPV6_PKTINFO naming the tunnel and that source.  Linux holds
 * an IPv6 route lookup to that interface only when no source is given;
 * with ours, what takes the probe into the tunnel is the /127's
 * connected route on it, the longest match for the peer (our fwmark
 * rules never see the probe: address6 lies outside every authorized
 * prefix, config.c), and an answer counts only if it comes back through
 * the tunnel.  A source chosen by the kernel instead would, with the
 * address gone, have been another interface's; with ours the send fails
 * and the probe is lost, as it should be.
 */
static void
send6(struct probed *t, const struct probe_pkt *p)
{
	uint8_t buf[PROBE_PKT_LEN];
	struct sockaddr_in6 to = { .sin6_family = AF_INET6,
				   .sin6_addr = t->target6 };
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = buf };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(cm);

	iov.iov_len = probe_pkt_build6(p, buf);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi->ipi6_ifindex = link_index(t);
	pi->ipi6_addr = t->source6;
	if (t->ifindex == 0 || t->pe->fd6 < 0 ||
	    sendmsg(t->pe->fd6, &mh, MSG_DONTWAIT) < 0) {
		log_debug("probe", "tunnel %s: ICMPv6 probe %u not sent: %s",
			  t->name, p->seq, t->ifindex ? strerror(errno) :
			  "no such link");
		/* Only a link that is gone is looked up again: the IPv4
		 * answer of this round, on its way through the same link,
		 * is judged by this ifindex, and an IPv6 path that fails
		 * (no route, the address gone: ENETUNREACH, EINVAL) must
		 * not cost it. */
		if (t->ifindex && (errno == ENODEV || errno == ENXIO))
			t->ifindex = 0;
	}
}

/*
 * Send tunnel @t's next round: an echo of each family it is probed with,
 * one sequence number, each with a nonce of its own.  Its clock starts
 * here, read just before the send, not when the tick began: what the
 * tick did first (a health change applied to the kernel, the answers
 * drained, a CPU taken away meanwhile) is our own time, and a probe
 * timed from the tick's start would lose it from its timeout.  Returns
 * the send time.
 */
static uint64_t
send_probe(struct probed *t)
{
	struct probe_engine *pe = t->pe;
	uint64_t now = mono_ns();
	uint32_t seq = t->next_seq++;
	size_t slot = seq % INFLIGHT;
	struct probe_inflight *f = &t->fly[slot], *f6 = &t->fly6[slot];
	unsigned int timeout = t->h.cfg.timeout_ms ? t->h.cfg.timeout_ms :
						     t->h.cfg.interval_ms;
	uint64_t deadline = now + (uint64_t)timeout * 1000000u;

	/* Still unanswered a whole window later: lost, which completes
	 * that round before this one takes the slot. */
	if (f->used) {
		f->used = false;
		judge(t, slot, HEALTH_IPV4, HEALTH_LOST, 0, now);
	}
	if (f6->used) {
		f6->used = false;
		judge(t, slot, HEALTH_IPV6, HEALTH_LOST, 0, now);
	}
	health_round_start(&t->round[slot], t->family);
	if (probe_family_v4(t->family)) {
		struct probe_pkt p = { .ident = pe->ident,
				       .tunnel = (uint32_t)t->index, .seq = seq,
				       .sent_ns = now, .nonce = ts_random64() };

		*f = (struct probe_inflight){ .used = true, .seq = seq,
			.nonce = p.nonce, .sent_ns = now, .deadline_ns = deadline };
		send4(t, &p);
	}
	if (probe_family_v6(t->family)) {
		struct probe_pkt p = { .ident = pe->ident,
				       .tunnel = (uint32_t)t->index, .seq = seq,
				       .sent_ns = now, .nonce = ts_random64() };

		*f6 = (struct probe_inflight){ .used = true, .seq = seq,
			.nonce = p.nonce, .sent_ns = now, .deadline_ns = deadline };
		send6(t, &p);
	}
	/* Unsent is lost at its deadline, like any other. */
	return now;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probed *t = arg;
	uint64_t now = mono_ns();

	(void)fd;
	(void)what;
	sample_checks(t, now);
	sample_sa(t, now);
	if (!t->phased) {	/* from its phase on, every interval */
		t->phased = true;
		event_add(t->timer, &t->every);
	}
	expire(t, now, loop_late(t, t->tick_due, now));
	t->tick_due = now + interval_ns(t);
	arm_expiry(t, send_probe(t));
}

/*
 * The probe of family @fam in flight as @f (slot @slot) was answered,
 * the kernel having received the answer at @rx.  Judged by that time,
 * not by when the loop got round to reading it: a busy loop is not a
 * lossy tunnel.
 */
static void
answered(struct probed *t, size_t slot, enum health_family fam,
	 struct probe_inflight *f, uint64_t rx, uint64_t now)
{
	f->used = false;
	if (rx > f->deadline_ns) {
		log_debug("probe", "tunnel %s: %sreply %u after its %u ms "
			  "timeout: lost", t->name,
			  fam == HEALTH_IPV6 ? "ICMPv6 " : "", f->seq,
			  (unsigned int)((f->deadline_ns - f->sent_ns) / 1000000u));
		judge(t, slot, fam, HEALTH_LOST, 0, now);
		return;
	}
	judge(t, slot, fam, HEALTH_ANSWERED,
	      (uint32_t)((rx > f->sent_ns ? rx - f->sent_ns : 0) / 1000u), now);
}

/* Read every answer queued on the socket. */
static void
drain(struct probe_engine *pe)
{
	for (;;) {
		uint8_t buf[512];
		unsigned int ifindex;
		struct timespec stamp;
		struct probe_pkt p;
		struct probed *t;
		struct probe_inflight *f;
		uint32_t src;
		ssize_t n = rawsock_recv(pe->fd, buf, sizeof(buf), &ifindex, &stamp);
		uint64_t now = mono_ns(), rx;

		if (n < 0)
			return;	/* EAGAIN, or an error the next probe will see */
		/* The kernel's receive time (never later than now). */
		rx = rawsock_rx_mono(&stamp, now, clock_ns(CLOCK_REALTIME));
		if (probe_pkt_parse(buf, (size_t)n, pe->ident, &p, &src) < 0)
			continue;
		if (p.tunnel >= pe->n)
			continue;
		t = &pe->t[p.tunnel];
		f = &t->fly[p.seq % INFLIGHT];
		/* Ours only if it is the probe in flight, came back from the
		 * target, and came back through the tunnel itself. */
		if (!probe_family_v4(t->family) ||
		    !probe_pkt_answers(f, &p, src, ifindex, ntohl(t->target.s_addr),
				       t->ifindex)) {
			log_debug("probe", "tunnel %s: reply %u refused (stale, "
				  "forged or via another interface)", t->name, p.seq);
			continue;
		}
		answered(t, p.seq % INFLIGHT, HEALTH_IPV4, f, rx, now);
	}
}

/* Read every ICMPv6 answer queued: drain()'s twin. */
static void
drain6(struct probe_engine *pe)
{
	for (;;) {
		uint8_t buf[512];
		unsigned int ifindex;
		struct timespec stamp;
		struct probe_pkt p;
		struct probed *t;
		struct probe_inflight *f;
		struct in6_addr src;
		ssize_t n;
		uint64_t now, rx;

		if (pe->fd6 < 0)
			return;
		n = rawsock_recv6(pe->fd6, buf, sizeof(buf), &src, &ifindex,
				  &stamp);
		if (n < 0)
			return;
		now = mono_ns();
		rx = rawsock_rx_mono(&stamp, now, clock_ns(CLOCK_REALTIME));
		if (probe_pkt_parse6(buf, (size_t)n, pe->ident, &p) < 0)
			continue;
		if (p.tunnel >= pe->n)
			continue;
		t = &pe->t[p.tunnel];
		f = &t->fly6[p.seq % INFLIGHT];
		if (!probe_family_v6(t->family) ||
		    !probe_pkt_answers6(f, &p, &src, ifindex, &t->target6,
					t->ifindex)) {
			log_debug("probe", "tunnel %s: ICMPv6 reply %u refused "
				  "(stale, forged or via another interface)",
				  t->name, p.seq);
			continue;
		}
		answered(t, p.seq % INFLIGHT, HEALTH_IPV6, f, rx, now);
	}
}

static void
rx_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t t = loopmeter_span_begin();

	(void)fd;
	(void)what;
	drain(arg);
	loopmeter_span_end(t, "probe answers read");
}

static void
rx6_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t t = loopmeter_span_begin();

	(void)fd;
	(void)what;
	drain6(arg);
	loopmeter_span_end(t, "ICMPv6 probe answers read");
}

struct probe_engine *
probe_engine_create(struct event_base *base, probe_change_cb cb, void *arg,
		    int *err)
{
	struct probe_engine *pe = calloc(1, sizeof(*pe));

	if (pe == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	pe->base = base;
	pe->cb = cb;
	pe->arg = arg;
	pe->fd6 = -1;
	pe->ident = (uint16_t)ts_random64();
	if ((pe->fd = rawsock_icmp_open()) < 0) {
		*err = pe->fd;
		free(pe);
		return NULL;
	}
	if ((pe->rx = event_new(base, pe->fd, EV_READ | EV_PERSIST, rx_cb, pe)) != NULL)
		loop_bulk(pe->rx);
	if (pe->rx == NULL || event_add(pe->rx, NULL) < 0) {
		*err = -ENOMEM;
		probe_engine_destroy(pe);
		return NULL;
	}
	return pe;
}

static void
free_tunnels(struct probed *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].timer)
			event_free(t[i].timer);
		if (t[i].expiry)
			event_free(t[i].expiry);
	}
	free(t);
}

void
probe_engine_destroy(struct probe_engine *pe)
{
	if (pe == NULL)
		return;
	probe_engine_abort(pe);
	free_tunnels(pe->t, pe->n);
	free(pe->by_name);
	if (pe->rx)
		event_free(pe->rx);
	if (pe->fd >= 0)
		close(pe->fd);
	if (pe->rx6)
		event_free(pe->rx6);
	if (pe->fd6 >= 0)
		close(pe->fd6);
	free(pe);
}

/*
 * Room for a whole interval's answers (rawsock_size_rcvbuf): with the
 * default 208 KiB and 500 tunnels at 100 ms the socket dropped 45% of
 * the answers (bench/probe_cost_500_tunnels_vs_fping).
 */
static void
set_rcvbuf(struct probe_engine *pe)
{
	size_t n4 = 0, n6 = 0;
	int r;

	for (size_t i = 0; i < pe->n; i++) {
		n4 += probe_family_v4(pe->t[i].family);
		n6 += probe_family_v6(pe->t[i].family);
	}
	if ((r = rawsock_size_rcvbuf(pe->fd, n4)) < 0) {
		errno = -r;
		log_warn("probe", "receive buffer for %zu tunnels", n4);
	}
	if (pe->fd6 >= 0 && (r = rawsock_size_rcvbuf(pe->fd6, n6)) < 0) {
		errno = -r;
		log_warn("probe", "ICMPv6 receive buffer for %zu tunnels", n6);
	}
}

/*
 * The ICMPv6 socket, for a set that probes with it: opened once and
 * kept.  Returns 0 or -errno (logged): -EAFNOSUPPORT on a kernel without
 * IPv6, which refuses such a config (at start, or its reload) rather
 * than leave its tunnels unprobed.
 */
static int
open_icmp6(struct probe_engine *pe)
{
	int fd;

	if (pe->fd6 >= 0)
		return 0;
	if ((fd = rawsock_icmp6_open()) < 0) {
		errno = -fd;
		log_warn("probe", "ICMPv6 probe socket");
		return fd;
	}
	pe->rx6 = event_new(pe->base, fd, EV_READ | EV_PERSIST, rx6_cb, pe);
	if (pe->rx6)
		loop_bulk(pe->rx6);
	if (pe->rx6 == NULL || event_add(pe->rx6, NULL) < 0) {
		if (pe->rx6)
			event_free(pe->rx6);
		pe->rx6 = NULL;
		close(fd);
		return -ENOMEM;
	}
	pe->fd6 = fd;
	return 0;
}

static int
by_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct probed *const *)a)->name,
		      (*(struct probed *const *)b)->name);
}

/* The @n tunnels of @t, sorted by name (for probe_health_of()); NULL when
 * out of memory. */
static struct probed **
name_index(struct probed *t, size_t n)
{
	struct probed **ix = calloc(n + 1, sizeof(*ix));

	if (ix == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ix[i] = &t[i];
	if (n > 1)
		qsort(ix, n, sizeof(*ix), by_name_cmp);
	return ix;
}

/* Tunnel @name of the @n in @ix (name_index()), or NULL. */
static struct probed *
name_find(struct probed **ix, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (ix && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, ix[mid]->name);

		if (c == 0)
			return ix[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Does @a (the running set's) probe what @b will, family by family? */
static bool
same_targets(const struct probed *a, const struct probed *b)
{
	if (probe_family_v4(a->family) && probe_family_v4(b->family) &&
	    a->target.s_addr != b->target.s_addr)
		return false;
	if (probe_family_v6(a->family) && probe_family_v6(b->family) &&
	    memcmp(&a->target6, &b->target6, sizeof(a->target6)) != 0)
		return false;
	return true;
}

int
probe_engine_prepare(struct probe_engine *pe, const struct config *conf)
{
	size_t n = conf->n_tunnels;
	struct probed *t;
	struct probed **ix;
	int err;

	for (size_t i = 0; i < n; i++)
		if (probe_family_v6(conf->tunnels[i].probe.family) &&
		    (err = open_icmp6(pe)) < 0)
			return err;
	if ((t = calloc(n ? n : 1, sizeof(*t))) == NULL)
		return -ENOMEM;
	probe_engine_abort(pe);
	for (size_t i = 0; i < n; i++) {
		const struct config_tunnel *ct = &conf->tunnels[i];
		uint64_t ph = probe_phase_us(i, n, ct->probe.interval_ms);
		const struct probed *old;
		struct timeval tv = { (time_t)(ph / 1000000u),
				      (suseconds_t)(ph % 1000000u) };

		t[i].pe = pe;
		t[i].index = i;
		t[i].every = (struct timeval){ ct->probe.interval_ms / 1000,
					       (ct->probe.interval_ms % 1000) * 1000 };
		memcpy(t[i].name, ct->name, sizeof(t[i].name));
		t[i].target = ct->probe.has_target ? ct->probe.target : ct->peer;
		t[i].source = ct->probe.has_source ? ct->probe.source :
						     ct->address.v4;
		/* config.c refused ICMPv6 probes without an address6. */
		t[i].family = ct->has_address6 ? ct->probe.family :
						 PROBE_FAMILY_IPV4;
		t[i].target6 = ct->peer6;
		t[i].source6 = ct->address6.v6;
		t[i].ipsec = ct->type == TUNNEL_IPSEC;
		health_init(&t[i].h, &ct->probe);
		old = name_find(pe->by_name, pe->n, t[i].name);
		if (old && same_targets(old, &t[i])) {
			/* Same tunnel, same targets (a family added or
			 * dropped keeps what the other one told): keep
			 * what we know. */
			t[i].h = old->h;
			t[i].h.cfg = ct->probe;
			t[i].next_seq = old->next_seq;
		}
		/* Silently: nobody is told of a staged set's changes, and
		 * the desired state is built from it (probe_health_of()), so
		 * a new ipsec tunnel is down in it from the start. */
		(void)health_sa(&t[i].h, sa_missing(&t[i]), mono_ns() / 1000000u);
		/* Armed now, so that commit cannot fail: the loop does not
		 * run between prepare and commit or abort (engine_use()),
		 * and abort frees them. */
		t[i].timer = event_new(pe->base, -1, EV_PERSIST, tick_cb, &t[i]);
		t[i].expiry = evtimer_new(pe->base, expiry_cb, &t[i]);
		if (t[i].timer)
			loop_bulk(t[i].timer);
		if (t[i].expiry)
			loop_bulk(t[i].expiry);
		if (t[i].timer == NULL || t[i].expiry == NULL ||
		    event_add(t[i].timer, &tv) < 0) {
			free_tunnels(t, i + 1);
			return -ENOMEM;
		}
	}
	if ((ix = name_index(t, n)) == NULL) {
		free_tunnels(t, n);
		return -ENOMEM;
	}
	pe->staged = t;
	pe->n_staged = n;
	pe->staged_by_name = ix;
	return 0;
}

void
probe_engine_commit(struct probe_engine *pe)
{
	if (pe->staged == NULL)
		return;
	free_tunnels(pe->t, pe->n);
	free(pe->by_name);
	pe->t = pe->staged;
	pe->n = pe->n_staged;
	pe->by_name = pe->staged_by_name;
	pe->staged = NULL;
	pe->n_staged = 0;
	pe->staged_by_name = NULL;
	set_rcvbuf(pe);
}

void
probe_engine_abort(struct probe_engine *pe)
{
	if (pe->staged == NULL)
		return;
	free_tunnels(pe->staged, pe->n_staged);
	free(pe->staged_by_name);
	pe->staged = NULL;
	pe->n_staged = 0;
	pe->staged_by_name = NULL;
}

int
probe_engine_configure(struct probe_engine *pe, const struct config *conf)
{
	int err = probe_engine_prepare(pe, conf);

	if (err == 0)
		probe_engine_commit(pe);
	return err;
}

void
probe_engine_set_checks_source(struct probe_engine *pe, probe_checks_fn fn,
			       void *arg)
{
	pe->checks_fn = fn;
	pe->checks_arg = arg;
}

void
probe_engine_set_sa_source(struct probe_engine *pe, probe_sa_fn fn, void *arg)
{
	pe->sa_fn = fn;
	pe->sa_arg = arg;
}

void
probe_engine_sa_changed(struct probe_engine *pe, const char *name)
{
	struct probed *t = name_find(pe->by_name, pe->n, name);

	if (t)
		sample_sa(t, mono_ns());
}

const char *
probe_tunnel_name(const struct probe_engine *pe, size_t i)
{
	return pe && i < pe->n ? pe->t[i].name : NULL;
}

uint64_t
probe_phase_us(size_t i, size_t n, unsigned int interval_ms)
{
	return n ? (uint64_t)interval_ms * 1000u * i / n : 0;
}

const struct health *
probe_health(const struct probe_engine *pe, size_t i)
{
	return pe && i < pe->n ? &pe->t[i].h : NULL;
}

const struct health *
probe_health_of(const struct probe_engine *pe, const char *name)
{
	const struct probed *t = NULL;

	/* While a set is prepared, the desired state is being built for
	 * it: a tunnel's health is the one it will have once committed.
	 * By name through a sorted index: the engine asks for every tunnel
	 * at every health change, and a scan made that O(n^2). */
	if (pe == NULL)
		return NULL;
	if (pe->staged)
		t = name_find(pe->staged_by_name, pe->n_staged, name);
	if (t == NULL)
		t = name_find(pe->by_name, pe->n, name);
	return t ? &t->h : NULL;
}

uint64_t
probe_engine_late_unjudged(const struct probe_engine *pe)
{
	return pe ? pe->late_unjudged : 0;
}

uint64_t
probe_engine_late_episodes(const struct probe_engine *pe)
{
	return pe ? pe->late_episodes : 0;
}
