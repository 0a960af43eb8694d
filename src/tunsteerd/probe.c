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
	struct in_addr target, source;
	bool ipsec;			/* health_sa() applies */
	struct health h;
	struct event *timer;
	struct event *expiry;		/* the next in-flight deadline */
	struct probe_inflight fly[INFLIGHT];
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

static void
feed(struct probed *t, bool answered, uint32_t rtt_us, uint64_t now)
{
	enum health_state old = health_feed(&t->h, answered, rtt_us, now / 1000000u);

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
	if (t->expiry_due == 0 || t->expiry_due > now)
		return;
	drain(t->pe);
	for (size_t i = 0; i < INFLIGHT; i++) {
		struct probe_inflight *f = &t->fly[i];

		if (f->used && now >= f->deadline_ns) {
			f->used = false;
			if (unjudged)
				t->pe->late_unjudged++;
			else
				feed(t, false, 0, now);
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

	for (size_t i = 0; i < INFLIGHT; i++)
		if (t->fly[i].used && t->fly[i].deadline_ns < first)
			first = t->fly[i].deadline_ns;
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

/*
 * Send tunnel @t's next probe.  Its clock starts here, read just before
 * the send, not when the tick began: what the tick did first (a health
 * change applied to the kernel, the answers drained, a CPU taken away
 * meanwhile) is our own time, and a probe timed from the tick's start
 * would lose it from its timeout.  Returns the send time.
 */
static uint64_t
send_probe(struct probed *t)
{
	struct probe_engine *pe = t->pe;
	uint64_t now = mono_ns();
	struct probe_pkt p = { .ident = pe->ident, .tunnel = (uint32_t)t->index,
			       .seq = t->next_seq++, .sent_ns = now,
			       .nonce = ts_random64() };
	uint8_t buf[PROBE_PKT_LEN];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = t->target };
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = buf };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);
	struct probe_inflight *f = &t->fly[p.seq % INFLIGHT];
	unsigned int timeout = t->h.cfg.timeout_ms ? t->h.cfg.timeout_ms :
						     t->h.cfg.interval_ms;

	if (f->used) {			/* still unanswered: lost */
		f->used = false;
		feed(t, false, 0, now);
	}
	*f = (struct probe_inflight){ .used = true, .seq = p.seq, .nonce = p.nonce,
				.sent_ns = now,
				.deadline_ns = now + (uint64_t)timeout * 1000000u };
	iov.iov_len = probe_pkt_build(&p, buf);
	/* The ifindex is looked up only when unknown or after a send fails
	 * (the link was re-created), not on every probe. */
	if (t->ifindex == 0)
		t->ifindex = if_nametoindex(t->name);
	/* Through the tunnel, never around it: the tunnel is the output
	 * interface whatever the routing tables say. */
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi->ipi_ifindex = (int)t->ifindex;
	pi->ipi_spec_dst = t->source;
	if (t->ifindex == 0 || sendmsg(pe->fd, &mh, MSG_DONTWAIT) < 0) {
		log_debug("probe", "tunnel %s: probe %u not sent: %s", t->name,
			  p.seq, t->ifindex ? strerror(errno) : "no such link");
		t->ifindex = 0;
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
		if (!probe_pkt_answers(f, &p, src, ifindex, ntohl(t->target.s_addr),
				       t->ifindex)) {
			log_debug("probe", "tunnel %s: reply %u refused (stale, "
				  "forged or via another interface)", t->name, p.seq);
			continue;
		}
		f->used = false;
		/* Judged by when the kernel received it, not when the loop
		 * got round to reading it: a busy loop is not a lossy tunnel. */
		if (rx > f->deadline_ns) {
			log_debug("probe", "tunnel %s: reply %u after its %u ms "
				  "timeout: lost", t->name, p.seq,
				  (unsigned int)((f->deadline_ns - f->sent_ns) / 1000000u));
			feed(t, false, 0, now);
			continue;
		}
		feed(t, true, (uint32_t)((rx > f->sent_ns ? rx - f->sent_ns : 0) / 1000u), now);
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
	int r = rawsock_size_rcvbuf(pe->fd, pe->n);

	if (r < 0) {
		errno = -r;
		log_warn("probe", "receive buffer for %zu tunnels", pe->n);
	}
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

int
probe_engine_prepare(struct probe_engine *pe, const struct config *conf)
{
	size_t n = conf->n_tunnels;
	struct probed *t = calloc(n ? n : 1, sizeof(*t));
	struct probed **ix;

	if (t == NULL)
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
		t[i].ipsec = ct->type == TUNNEL_IPSEC;
		health_init(&t[i].h, &ct->probe);
		old = name_find(pe->by_name, pe->n, t[i].name);
		if (old && old->target.s_addr == t[i].target.s_addr) {
			/* Same tunnel, same target: keep what we know. */
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
