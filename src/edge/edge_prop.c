/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SA propagation between edge servers (edge_prop.h). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/edge_kernel.h"
#include "edge/edge_prop.h"
#include "edge/edge_sync.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/random.h"
#include "lib/rawsock.h"
#include "lib/secmem.h"
#include "lib/vec.h"

#define SUBSYS "sa-prop"

/* A record or delete of ours, waiting for its delay.  It names the SA
 * (no keys): a record's keys are its struct mine's. */
struct pending {
	bool deleted;
	struct sarec rec;		/* tunnel, negotiated_by, serial, SPIs */
	uint64_t due_ms;		/* monotonic */
};

/* A record this server negotiated, while its SA lives: sent to every
 * peer after the delay, and again to a peer that asks (resync). */
struct mine {
	struct sarec rec;		/* with its keys (secret memory) */
	uint64_t since_ms;		/* monotonic: negotiated */
	uint64_t due_ms;		/* monotonic: sent to the peers */
};

/*
 * The resync (edge_prop.h): this server asks each peer of a new channel
 * for what the peer negotiated, at once and again this long after while
 * it has no answer, and warns once if none came after RESYNC_WARN_MS.
 */
static const unsigned int ask_after_ms[] = { 0, 1000, 3000, 10000 };
#define ASKS (sizeof(ask_after_ms) / sizeof(ask_after_ms[0]))
#define RESYNC_WARN_MS 20000

/* This server's asks to one peer of the channel. */
struct ask {
	uint32_t epoch;			/* drawn per channel and peer */
	uint64_t start_ms;		/* monotonic: the asks began */
	unsigned int next;		/* of ask_after_ms[]; ASKS: all sent */
	bool answered, warned;
};

/* The channel: its socket and codec state, and what it was made of (to
 * tell whether a new config needs another). */
struct chan {
	int fd;
	struct event *ev;
	struct edge_sync_tx *tx;
	struct edge_sync_rx *rx;
	char *key;			/* secret memory */
	struct in_addr addr;
	uint16_t port;
	struct in_addr *peers;
	size_t n_peers;
	struct ask *asks;		/* per peer */
};

/* An SA held from another server, installed in the kernel. */
struct held {
	struct sarec rec;		/* with its keys: installed again after
					 * a config change that keeps it */
	uint64_t since_ms;		/* monotonic */
	struct in_addr from;		/* the negotiator's relay address */
};

/* When this server last negotiated an SA of a tunnel (pinning). */
struct own {
	char tunnel[IFNAMSIZ];
	uint64_t since_ms;		/* monotonic */
	/* This server's own (charon's) SAs of the tunnel now installed:
	 * they share the tunnel's policies (same if_id and selectors) with
	 * what it holds from others. */
	unsigned int live;
	/* When the last own SA went, and how many of the held SAs' policy
	 * re-assertions (reassert_after_ms[]) are still to come. */
	uint64_t gone_ms;		/* monotonic */
	unsigned int reasserts;
};

/*
 * When this server's last own SA of a tunnel goes, charon removes the
 * policies it installed for it, which are also those of the SAs held
 * from others (the same selectors and if_id): their ESP would be dropped
 * as XfrmInNoPols.  Charon tells of the delete (CHILD_DESTROYING) just
 * before it removes them, in its own thread, and nothing tells when it
 * did: the held SAs' policies are made again this long after the notice,
 * and again at each later step (UPDPOLICY: no harm when they are there).
 */
static const unsigned int reassert_after_ms[] = { 20, 250, 1000, 5000 };
#define REASSERTS (sizeof(reassert_after_ms) / sizeof(reassert_after_ms[0]))

static uint64_t
reassert_due(const struct own *o)
{
	return o->gone_ms + reassert_after_ms[REASSERTS - o->reasserts];
}

struct edge_prop {
	struct event_base *base;
	struct kernel_ops *ops;
	const struct edge_config *conf;
	uint32_t *if_ids;		/* per config tunnel */
	struct event *timer_ev;
	struct chan ch;
	struct pending *pend;
	size_t n_pend, cap_pend;
	struct mine *mine;
	size_t n_mine, cap_mine;
	struct held *held;
	size_t n_held, cap_held;
	struct own *own;
	size_t n_own, cap_own;
	void (*pin_cb)(void *arg);
	void *pin_arg;
	struct edge_prop_stats st;
	uint8_t *buf;			/* secret memory: plaintexts */
};

static const char *const refusal_names[EDGE_PROP_REFUSALS] = {
	[EDGE_PROP_MALFORMED] = "malformed",
	[EDGE_PROP_NOT_PEER] = "not_peer",
	[EDGE_PROP_REPLAYED] = "replayed",
	[EDGE_PROP_UNAUTHENTICATED] = "unauthenticated",
	[EDGE_PROP_STALE] = "stale",
	[EDGE_PROP_UNKNOWN_TUNNEL] = "unknown_tunnel",
};

const char *
edge_prop_refusal_name(enum edge_prop_refusal r)
{
	return r < EDGE_PROP_REFUSALS ? refusal_names[r] : "?";
}

static uint64_t
real_ms(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000000u;
}

/* --- what we hold from others ------------------------------------------ */

static struct own *
own_find(struct edge_prop *p, const char *tunnel)
{
	for (size_t i = 0; i < p->n_own; i++)
		if (strcmp(p->own[i].tunnel, tunnel) == 0)
			return &p->own[i];
	return NULL;
}

static unsigned int
own_live(struct edge_prop *p, const char *tunnel)
{
	struct own *o = own_find(p, tunnel);

	return o ? o->live : 0;
}

static void
held_remove(struct edge_prop *p, size_t i, const char *why)
{
	struct held *h = &p->held[i];
	int err;

	if ((err = p->ops->xfrm_sa_del(p->ops, &h->rec)) < 0)
		log_warnx(SUBSYS, "tunnel %s: removing the SA of %s (0x%08x): %s",
			  h->rec.tunnel, h->rec.negotiated_by, h->rec.spi_in,
			  strerror(-err));
	else
		p->st.removed++;
	log_info(SUBSYS, "tunnel %s: SA 0x%08x/0x%08x of %s removed (%s)",
		 h->rec.tunnel, h->rec.spi_in, h->rec.spi_out,
		 h->rec.negotiated_by, why);
	/* The policies go with the tunnel's last SA, ours included: while
	 * this server's own SA of the tunnel lives, charon's SA needs them
	 * (deleting them here dropped its ESP as XfrmInNoPols). */
	bool last = own_live(p, h->rec.tunnel) == 0;

	for (size_t j = 0; j < p->n_held && last; j++)
		last = j == i || strcmp(p->held[j].rec.tunnel, h->rec.tunnel) != 0;
	if (last && (err = p->ops->xfrm_policy_del(p->ops, &h->rec)) < 0)
		log_warnx(SUBSYS, "tunnel %s: removing its policies: %s",
			  h->rec.tunnel, strerror(-err));
	sarec_clear(&h->rec);
	p->held[i] = p->held[--p->n_held];
}

static ssize_t
held_find(const struct edge_prop *p, const char *tunnel, const char *from,
	  uint32_t spi_in)
{
	for (size_t i = 0; i < p->n_held; i++)
		if (p->held[i].rec.spi_in == spi_in &&
		    strcmp(p->held[i].rec.tunnel, tunnel) == 0 &&
		    strcmp(p->held[i].rec.negotiated_by, from) == 0)
			return (ssize_t)i;
	return -1;
}

/* The if_id of ipsec tunnel @name here, or 0. */
static uint32_t
tunnel_if_id(const struct edge_prop *p, const char *name)
{
	int i = edge_config_tunnel_index(p->conf, name);

	if (i < 0 || p->conf->tunnels[i].type != EDGE_TUNNEL_IPSEC)
		return 0;
	return p->if_ids[i];
}

/* Is @name a tunnel of ours whose customer-bound ESP one server sends
 * (replay_protection)? */
static bool
tunnel_pinned(const struct edge_prop *p, const char *name)
{
	int i = edge_config_tunnel_index(p->conf, name);

	return i >= 0 && p->conf->tunnels[i].type == EDGE_TUNNEL_IPSEC &&
	       p->conf->tunnels[i].ipsec.replay_protection;
}

/* Where a pinned tunnel's traffic goes may have changed. */
static void
pin_changed(struct edge_prop *p, const char *tunnel)
{
	if (p->pin_cb != NULL && tunnel_pinned(p, tunnel))
		p->pin_cb(p->pin_arg);
}

static void
take_record(struct edge_prop *p, struct sarec *r, struct in_addr from)
{
	uint64_t since = mono_ms();
	ssize_t k;
	size_t n = 0, oldest = 0;
	int err;

	if (tunnel_if_id(p, r->tunnel) != r->if_id || r->if_id == 0) {
		p->st.refused[EDGE_PROP_UNKNOWN_TUNNEL]++;
		log_notice(SUBSYS, "record of %s for tunnel %s (if_id 0x%08x) "
			   "refused: no such ipsec tunnel here", r->negotiated_by,
			   r->tunnel, r->if_id);
		sarec_clear(r);
		return;
	}
	/* The same SA again (a resync): installed anew (the kernel state is
	 * replaced), its age still that of its first install here. */
	if ((k = held_find(p, r->tunnel, r->negotiated_by, r->spi_in)) >= 0) {
		since = p->held[k].since_ms;
		sarec_clear(&p->held[k].rec);
		p->held[k] = p->held[--p->n_held];
	}
	for (size_t i = 0; i < p->n_held; i++)
		if (strcmp(p->held[i].rec.tunnel, r->tunnel) == 0 &&
		    (n++ == 0 || p->held[i].since_ms < p->held[oldest].since_ms))
			oldest = i;
	if (n >= EDGE_PROP_HELD_PER_TUNNEL)
		held_remove(p, oldest, "too many held for the tunnel");
	/* Pinned: only the negotiator sends under the SA (edge_prop.h). */
	r->inbound_only = tunnel_pinned(p, r->tunnel);
	if ((err = p->ops->xfrm_sa_add(p->ops, r)) < 0) {
		p->st.install_failed++;
		log_warnx(SUBSYS, "tunnel %s: installing the SA 0x%08x/0x%08x "
			  "of %s: %s", r->tunnel, r->spi_in, r->spi_out,
			  r->negotiated_by, strerror(-err));
		sarec_clear(r);
		return;
	}
	p->st.installed++;
	log_info(SUBSYS, "tunnel %s: SA 0x%08x/0x%08x of %s installed%s",
		 r->tunnel, r->spi_in, r->spi_out, r->negotiated_by,
		 r->inbound_only ? " inbound only (replay_protection: "
				   "customer-bound traffic goes to it)" : "");
	if (VEC_PUSH(p->held, p->n_held, p->cap_held,
		     ((struct held){ *r, since, from })) < 0) {
		/* Cannot remember it: do not leave it behind either. */
		(void)p->ops->xfrm_sa_del(p->ops, r);
		sarec_clear(r);
		return;
	}
	pin_changed(p, r->tunnel);
	memset(r, 0, sizeof(*r));	/* the keys moved */
}

static void
take_delete(struct edge_prop *p, const struct edge_sync_del *d)
{
	ssize_t k = held_find(p, d->tunnel, d->negotiated_by, d->spi_in);

	if (k < 0) {
		log_debug(SUBSYS, "tunnel %s: delete of 0x%08x from %s: not held",
			  d->tunnel, d->spi_in, d->negotiated_by);
		return;
	}
	held_remove(p, (size_t)k, "deleted by its negotiator");
	pin_changed(p, d->tunnel);
}

static void
refuse(struct edge_prop *p, enum edge_prop_refusal why, struct in_addr from)
{
	char a[INET_ADDRSTRLEN];

	/* Every refusal is counted; the log says the first of each kind. */
	if (p->st.refused[why]++ == 0)
		log_notice(SUBSYS, "datagram from %s refused: %s (further ones "
			   "are only counted)",
			   inet_ntop(AF_INET, &from, a, sizeof(a)),
			   edge_prop_refusal_name(why));
}

static void take_hello(struct edge_prop *p, struct in_addr from,
		       const uint8_t *buf, size_t len);
static void ask_heard(struct edge_prop *p, struct in_addr from);

static void
rx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge_prop *p = arg;
	uint8_t frame[EDGE_SYNC_FRAME_MAX + 1];

	for (int n = 0; n < 64; n++) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		ssize_t len = recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT,
				       (struct sockaddr *)&sin, &sl);
		size_t plen = 0;
		uint8_t type = 0;
		int err;

		if (len < 0)
			return;
		err = edge_sync_open(p->ch.rx, sin.sin_addr, frame, (size_t)len,
				     real_ms(), &type, p->buf,
				     EDGE_SYNC_PAYLOAD_MAX, &plen);
		switch (err) {
		case 0:
			break;
		case -EPERM:
			refuse(p, EDGE_PROP_NOT_PEER, sin.sin_addr);
			continue;
		case -EALREADY:
			refuse(p, EDGE_PROP_REPLAYED, sin.sin_addr);
			continue;
		case -EACCES:
			refuse(p, EDGE_PROP_UNAUTHENTICATED, sin.sin_addr);
			continue;
		case -ESTALE:
			refuse(p, EDGE_PROP_STALE, sin.sin_addr);
			continue;
		default:
			refuse(p, EDGE_PROP_MALFORMED, sin.sin_addr);
			continue;
		}
		if (type == EDGE_SYNC_HELLO) {
			take_hello(p, sin.sin_addr, p->buf, plen);
			explicit_bzero(p->buf, plen);
			continue;
		}
		p->st.received++;
		if (type == EDGE_SYNC_SA) {
			struct sarec r;

			if (sarec_decode(p->buf, plen, &r) < 0)
				refuse(p, EDGE_PROP_MALFORMED, sin.sin_addr);
			else
				take_record(p, &r, sin.sin_addr);
		} else {
			struct edge_sync_del d;

			if (edge_sync_del_decode(p->buf, plen, &d) < 0)
				refuse(p, EDGE_PROP_MALFORMED, sin.sin_addr);
			else
				take_delete(p, &d);
		}
		explicit_bzero(p->buf, plen);
		ask_heard(p, sin.sin_addr);
	}
}

/* --- what we send ------------------------------------------------------- */

/* @len bytes of @payload as a frame of @type to peer @peer, about
 * @tunnel (NULL: a hello): true if it went; a failure is counted (the
 * log says the first). */
static bool
send_one(struct edge_prop *p, struct in_addr peer, uint8_t type,
	 const uint8_t *payload, size_t len, const char *tunnel)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(p->conf->relay.sa_port),
				  .sin_addr = peer };
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	/* A frame per peer: each its own counter. */
	ssize_t n = edge_sync_seal(p->ch.tx, type, payload, len, real_ms(),
				   frame, sizeof(frame));
	char a[INET_ADDRSTRLEN];

	if (n >= 0 && sendto(p->ch.fd, frame, (size_t)n, MSG_DONTWAIT,
			     (struct sockaddr *)&to, sizeof(to)) >= 0)
		return true;
	if (p->st.send_failed++ == 0)
		log_warnx(SUBSYS, "%s%s: sending to %s: %s",
			  tunnel ? "tunnel " : "resync", tunnel ? tunnel : "",
			  inet_ntop(AF_INET, &peer, a, sizeof(a)),
			  strerror(n < 0 ? (int)-n : errno));
	return false;
}

static void
send_to_peers(struct edge_prop *p, uint8_t type, const uint8_t *payload,
	      size_t len, const char *tunnel)
{
	const struct edge_relay *r = &p->conf->relay;

	for (size_t i = 0; i < r->n_peers; i++)
		if (send_one(p, r->peers[i], type, payload, len, tunnel))
			p->st.sent++;
}

static ssize_t
mine_find(const struct edge_prop *p, const struct sarec *r)
{
	for (size_t i = 0; i < p->n_mine; i++)
		if (p->mine[i].rec.spi_in == r->spi_in &&
		    strcmp(p->mine[i].rec.tunnel, r->tunnel) == 0 &&
		    strcmp(p->mine[i].rec.negotiated_by, r->negotiated_by) == 0)
			return (ssize_t)i;
	return -1;
}

static void
mine_remove(struct edge_prop *p, size_t i)
{
	sarec_clear(&p->mine[i].rec);
	p->mine[i] = p->mine[--p->n_mine];
}

/* When @m's SA reaches its hard lifetime (the kernel's expiry), or
 * UINT64_MAX. */
static uint64_t
mine_expiry(const struct mine *m)
{
	if (m->rec.lifetime_s == 0)
		return UINT64_MAX;
	return m->since_ms + (uint64_t)m->rec.lifetime_s * 1000u;
}

/* Forget (and wipe) the records whose SAs have expired by @now, though
 * charon did not tell (it deletes them first as a rule). */
static void
mine_expire(struct edge_prop *p, uint64_t now)
{
	for (size_t i = p->n_mine; i-- > 0;)
		if (mine_expiry(&p->mine[i]) <= now) {
			log_info(SUBSYS, "tunnel %s: SA 0x%08x/0x%08x expired, not "
				 "resent any more", p->mine[i].rec.tunnel,
				 p->mine[i].rec.spi_in, p->mine[i].rec.spi_out);
			mine_remove(p, i);
		}
}

/* @m's record into p->buf as it stands at @now: the lifetime what is
 * left of it, so a peer's copy expires when ours does.  Its length, or
 * a negative errno. */
static ssize_t
mine_encode(struct edge_prop *p, const struct mine *m, uint64_t now)
{
	struct sarec r = m->rec;	/* shares the keys: not cleared */

	if (r.lifetime_s != 0)
		r.lifetime_s = (uint32_t)((mine_expiry(m) - now + 999) / 1000);
	return sarec_encode(&r, p->buf, EDGE_SYNC_PAYLOAD_MAX);
}

static void
send_pending(struct edge_prop *p, struct pending *pd)
{
	ssize_t n;

	if (!pd->deleted) {
		ssize_t k = mine_find(p, &pd->rec);

		n = k < 0 ? -ENOENT : mine_encode(p, &p->mine[k], mono_ms());
		if (n >= 0)
			send_to_peers(p, EDGE_SYNC_SA, p->buf, (size_t)n,
				      pd->rec.tunnel);
	} else {
		struct edge_sync_del d = { .serial = pd->rec.serial,
					   .spi_in = pd->rec.spi_in,
					   .spi_out = pd->rec.spi_out };

		snprintf(d.tunnel, sizeof(d.tunnel), "%s", pd->rec.tunnel);
		snprintf(d.negotiated_by, sizeof(d.negotiated_by), "%s",
			 pd->rec.negotiated_by);
		n = edge_sync_del_encode(&d, p->buf, EDGE_SYNC_PAYLOAD_MAX);
		if (n >= 0)
			send_to_peers(p, EDGE_SYNC_DEL, p->buf, (size_t)n,
				      pd->rec.tunnel);
	}
	if (n < 0)
		log_warnx(SUBSYS, "tunnel %s: cannot encode its %s: %s",
			  pd->rec.tunnel, pd->deleted ? "delete" : "record",
			  strerror((int)-n));
	else
		explicit_bzero(p->buf, (size_t)n);
	log_info(SUBSYS, "tunnel %s: %s of SA 0x%08x/0x%08x sent to %zu peers",
		 pd->rec.tunnel, pd->deleted ? "delete" : "record",
		 pd->rec.spi_in, pd->rec.spi_out, p->conf->relay.n_peers);
}

/* When @a's next ask, or its warning, is due; UINT64_MAX: nothing more
 * (answered, or warned). */
static uint64_t
ask_due(const struct ask *a)
{
	if (a->answered)
		return UINT64_MAX;
	if (a->next < ASKS)
		return a->start_ms + ask_after_ms[a->next];
	return a->warned ? UINT64_MAX : a->start_ms + RESYNC_WARN_MS;
}

static void
arm_timer(struct edge_prop *p)
{
	uint64_t now = mono_ms(), due = UINT64_MAX;
	struct timeval tv;

	for (size_t i = 0; i < p->n_pend; i++)
		if (p->pend[i].due_ms < due)
			due = p->pend[i].due_ms;
	for (size_t i = 0; i < p->n_mine; i++)
		if (mine_expiry(&p->mine[i]) < due)
			due = mine_expiry(&p->mine[i]);
	for (size_t i = 0; i < p->ch.n_peers; i++)
		if (ask_due(&p->ch.asks[i]) < due)
			due = ask_due(&p->ch.asks[i]);
	for (size_t i = 0; i < p->n_own; i++)
		if (p->own[i].reasserts > 0 && reassert_due(&p->own[i]) < due)
			due = reassert_due(&p->own[i]);
	if (due == UINT64_MAX) {
		evtimer_del(p->timer_ev);
		return;
	}
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000 * 1000);
	evtimer_add(p->timer_ev, &tv);
}

/* --- resync ------------------------------------------------------------ */

static ssize_t
peer_index(const struct edge_prop *p, struct in_addr a)
{
	for (size_t i = 0; i < p->ch.n_peers; i++)
		if (p->ch.peers[i].s_addr == a.s_addr)
			return (ssize_t)i;
	return -1;
}

static void
send_hello(struct edge_prop *p, struct in_addr to, uint8_t kind,
	   uint32_t epoch)
{
	struct edge_sync_hello h = { .kind = kind, .epoch = epoch };
	uint8_t buf[EDGE_SYNC_HELLO_LEN];

	if (edge_sync_hello_encode(&h, buf, sizeof(buf)) ==
	    EDGE_SYNC_HELLO_LEN &&
	    send_one(p, to, EDGE_SYNC_HELLO, buf, sizeof(buf), NULL) &&
	    kind == EDGE_SYNC_HELLO_ASK)
		p->st.resync_asks_sent++;
}

/* Peer @i's asks whose time has come: one ask for all that are due (a
 * late loop does not send a burst), or the warning. */
static void
ask_tick(struct edge_prop *p, size_t i, uint64_t now)
{
	struct ask *a = &p->ch.asks[i];
	char b[INET_ADDRSTRLEN];

	if (ask_due(a) > now)
		return;
	if (a->next < ASKS) {
		while (a->next < ASKS && a->start_ms + ask_after_ms[a->next] <= now)
			a->next++;
		send_hello(p, p->ch.peers[i], EDGE_SYNC_HELLO_ASK, a->epoch);
		return;
	}
	a->warned = true;
	log_warnx(SUBSYS, "resync: %s has not answered in %u s: the SAs it "
		  "negotiated are not held here until it sends them (asked "
		  "again when it is heard from)",
		  inet_ntop(AF_INET, &p->ch.peers[i], b, sizeof(b)),
		  RESYNC_WARN_MS / 1000);
}

/* Ask peer @i for its records from now on, until it answers. */
static void
ask_begin(struct edge_prop *p, size_t i, const char *why)
{
	struct ask *a = &p->ch.asks[i];
	char b[INET_ADDRSTRLEN];

	log_info(SUBSYS, "resync: asking %s for the SAs it negotiated (%s)",
		 inet_ntop(AF_INET, &p->ch.peers[i], b, sizeof(b)), why);
	a->start_ms = mono_ms();
	a->next = 0;
	a->answered = false;
	a->warned = false;
	ask_tick(p, i, a->start_ms);
	arm_timer(p);
}

/* Every peer of a channel just made. */
static void
ask_all(struct edge_prop *p, const char *why)
{
	for (size_t i = 0; i < p->ch.n_peers; i++)
		ask_begin(p, i, why);
}

/* A record or delete from @from: a peer that never answered, and is no
 * longer being asked, is up after all. */
static void
ask_heard(struct edge_prop *p, struct in_addr from)
{
	ssize_t i = peer_index(p, from);

	if (i >= 0 && !p->ch.asks[i].answered && p->ch.asks[i].next == ASKS)
		ask_begin(p, (size_t)i, "heard from it, never answered");
}

/* Peer @to asked: every record of ours whose SA lives and that has been
 * sent to the peers already (a record still in its delay goes to all of
 * them, @to included, when the delay ends), then the done. */
static void
serve_ask(struct edge_prop *p, struct in_addr to, uint32_t epoch)
{
	uint64_t now = mono_ms();
	unsigned int n = 0;
	char b[INET_ADDRSTRLEN];

	mine_expire(p, now);
	for (size_t i = 0; i < p->n_mine; i++) {
		const struct mine *m = &p->mine[i];
		ssize_t len;

		if (m->due_ms > now)
			continue;
		if ((len = mine_encode(p, m, now)) < 0)
			continue;
		if (send_one(p, to, EDGE_SYNC_SA, p->buf, (size_t)len,
			     m->rec.tunnel))
			n++;
		explicit_bzero(p->buf, (size_t)len);
	}
	send_hello(p, to, EDGE_SYNC_HELLO_DONE, epoch);
	p->st.resent += n;
	p->st.resyncs_served++;
	log_info(SUBSYS, "resync: %u SAs resent to %s",
		 n, inet_ntop(AF_INET, &to, b, sizeof(b)));
	arm_timer(p);
}

static void
take_hello(struct edge_prop *p, struct in_addr from, const uint8_t *buf,
	   size_t len)
{
	struct edge_sync_hello h;
	ssize_t i = peer_index(p, from);
	char b[INET_ADDRSTRLEN];

	if (edge_sync_hello_decode(buf, len, &h) < 0 || i < 0) {
		refuse(p, EDGE_PROP_MALFORMED, from);
		return;
	}
	if (h.kind == EDGE_SYNC_HELLO_ASK) {
		serve_ask(p, from, h.epoch);
		/* Its channel is new: our asks may have found none. */
		if (!p->ch.asks[i].answered)
			ask_begin(p, (size_t)i, "it asked, never answered");
		return;
	}
	/* A done of an older ask of this channel still answers; another
	 * epoch's is no answer to ours. */
	if (p->ch.asks[i].answered || h.epoch != p->ch.asks[i].epoch)
		return;
	p->ch.asks[i].answered = true;
	p->st.resyncs_answered++;
	log_info(SUBSYS, "resync: %s answered",
		 inet_ntop(AF_INET, &from, b, sizeof(b)));
	arm_timer(p);
}

/* The policies of @o's tunnel again, from the newest SA held for it,
 * while this server has no SA of its own there. */
static void
reassert(struct edge_prop *p, struct own *o)
{
	const struct held *newest = NULL;
	int err;

	if (o->live > 0) {		/* charon's policies again */
		o->reasserts = 0;
		return;
	}
	for (size_t i = 0; i < p->n_held; i++)
		if (strcmp(p->held[i].rec.tunnel, o->tunnel) == 0 &&
		    (newest == NULL || p->held[i].since_ms >= newest->since_ms))
			newest = &p->held[i];
	if (newest == NULL) {
		o->reasserts = 0;
		return;
	}
	if ((err = p->ops->xfrm_policy_add(p->ops, &newest->rec)) < 0)
		log_warnx(SUBSYS, "tunnel %s: making its policies again for the "
			  "SA of %s: %s", o->tunnel, newest->rec.negotiated_by,
			  strerror(-err));
	else if (o->reasserts == REASSERTS)
		log_info(SUBSYS, "tunnel %s: policies made again for the SA of "
			 "%s (charon removes them with this server's own SA)",
			 o->tunnel, newest->rec.negotiated_by);
	o->reasserts--;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge_prop *p = arg;
	uint64_t now = mono_ms();

	for (size_t i = 0; i < p->n_own; i++)
		while (p->own[i].reasserts > 0 && reassert_due(&p->own[i]) <= now)
			reassert(p, &p->own[i]);
	mine_expire(p, now);
	for (size_t i = 0; i < p->ch.n_peers; i++)
		ask_tick(p, i, now);

	/* In the order they were queued: a delete follows its record. */
	for (size_t i = 0; i < p->n_pend;) {
		if (p->pend[i].due_ms > now) {
			i++;
			continue;
		}
		send_pending(p, &p->pend[i]);
		memmove(&p->pend[i], &p->pend[i + 1],
			(--p->n_pend - i) * sizeof(*p->pend));
	}
	p->st.pending = (unsigned int)p->n_pend;
	arm_timer(p);
}

/* Note that this server negotiated an SA of @tunnel now. */
static void
own_negotiated(struct edge_prop *p, const char *tunnel)
{
	struct own o = { .since_ms = mono_ms(), .live = 1 };
	struct own *had = own_find(p, tunnel);

	if (had != NULL) {
		had->since_ms = o.since_ms;
		had->live++;
		pin_changed(p, tunnel);
		return;
	}
	snprintf(o.tunnel, sizeof(o.tunnel), "%s", tunnel);
	if (VEC_PUSH(p->own, p->n_own, p->cap_own, o) == 0)
		pin_changed(p, tunnel);
}

/* @rec without its keys: what names its SA. */
static struct sarec
rec_name(const struct sarec *rec)
{
	struct sarec n = { .serial = rec->serial, .spi_in = rec->spi_in,
			   .spi_out = rec->spi_out };

	snprintf(n.tunnel, sizeof(n.tunnel), "%s", rec->tunnel);
	snprintf(n.negotiated_by, sizeof(n.negotiated_by), "%s",
		 rec->negotiated_by);
	return n;
}

void
edge_prop_negotiated(struct edge_prop *p, struct sarec *rec)
{
	uint64_t now = mono_ms();
	struct mine m = { .rec = *rec, .since_ms = now,
			  .due_ms = now + p->conf->relay.sa_delay_ms };
	struct pending pd = { .deleted = false, .rec = rec_name(rec),
			      .due_ms = m.due_ms };

	own_negotiated(p, rec->tunnel);
	mine_expire(p, now);
	/* Kept while its SA lives, peers or not: a peer that a reload adds
	 * asks for it. */
	if (VEC_PUSH(p->mine, p->n_mine, p->cap_mine, m) < 0) {
		sarec_clear(rec);
		return;
	}
	memset(rec, 0, sizeof(*rec));	/* the keys moved */
	if (p->conf->relay.n_peers > 0 &&
	    VEC_PUSH(p->pend, p->n_pend, p->cap_pend, pd) == 0)
		p->st.pending = (unsigned int)p->n_pend;
	arm_timer(p);
}

void
edge_prop_deleted(struct edge_prop *p, const struct sarec *rec)
{
	struct pending pd = { .deleted = true, .rec = rec_name(rec),
			      .due_ms = mono_ms() + p->conf->relay.sa_delay_ms };
	struct own *o = own_find(p, rec->tunnel);
	ssize_t k = mine_find(p, rec);

	/* Never resent again. */
	if (k >= 0)
		mine_remove(p, (size_t)k);
	if (o != NULL && o->live > 0 && --o->live == 0) {
		o->gone_ms = mono_ms();
		o->reasserts = REASSERTS;
		arm_timer(p);
	}
	/* Not sent yet: then the others never learn of it at all. */
	for (size_t i = 0; i < p->n_pend; i++)
		if (!p->pend[i].deleted && p->pend[i].rec.spi_in == rec->spi_in &&
		    strcmp(p->pend[i].rec.tunnel, rec->tunnel) == 0) {
			memmove(&p->pend[i], &p->pend[i + 1],
				(--p->n_pend - i) * sizeof(*p->pend));
			p->st.pending = (unsigned int)p->n_pend;
			arm_timer(p);
			return;
		}
	if (p->conf->relay.n_peers == 0)
		return;
	if (VEC_PUSH(p->pend, p->n_pend, p->cap_pend, pd) < 0)
		return;
	p->st.pending = (unsigned int)p->n_pend;
	arm_timer(p);
}

/* --- life cycle --------------------------------------------------------- */

/* The channel of @c into @ch, its datagrams for @p. */
static int
channel_open(struct edge_prop *p, struct chan *ch, const struct edge_config *c)
{
	const struct edge_relay *r = &c->relay;
	size_t klen = strlen(r->sa_key);
	int err;

	memset(ch, 0, sizeof(*ch));
	ch->fd = -1;
	if ((ch->key = secmem_strdup(r->sa_key)) == NULL ||
	    (r->n_peers &&
	     (ch->peers = calloc(r->n_peers, sizeof(*ch->peers))) == NULL))
		return -ENOMEM;
	if (r->n_peers &&
	    (ch->asks = calloc(r->n_peers, sizeof(*ch->asks))) == NULL)
		return -ENOMEM;
	memcpy(ch->peers, r->peers, r->n_peers * sizeof(*ch->peers));
	ch->n_peers = r->n_peers;
	/* A done must answer this channel's asks, not a captured one's of
	 * an earlier life (edge_sync.h). */
	for (size_t i = 0; i < r->n_peers; i++)
		ch->asks[i].epoch = (uint32_t)ts_random64();
	ch->addr = r->address;
	ch->port = r->sa_port;
	if ((err = edge_sync_tx_create((const uint8_t *)r->sa_key, klen,
				       r->address, &ch->tx)) < 0 ||
	    (err = edge_sync_rx_create((const uint8_t *)r->sa_key, klen,
				       r->peers, r->n_peers,
				       EDGE_SYNC_MAX_AGE_MS, &ch->rx)) < 0)
		return err;
	if ((ch->fd = udpsock_bind(r->address, r->sa_port)) < 0)
		return ch->fd;
	ch->ev = event_new(p->base, ch->fd, EV_READ | EV_PERSIST, rx_cb, p);
	if (ch->ev == NULL || event_add(ch->ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

static void
channel_close(struct chan *ch)
{
	if (ch->ev != NULL)
		event_free(ch->ev);
	if (ch->fd >= 0)
		close(ch->fd);
	edge_sync_tx_free(ch->tx);
	edge_sync_rx_free(ch->rx);
	secmem_free_str(ch->key);
	free(ch->peers);
	free(ch->asks);
	memset(ch, 0, sizeof(*ch));
	ch->fd = -1;
}

/* Does @ch serve @c as it is? */
static bool
channel_same(const struct chan *ch, const struct edge_config *c)
{
	const struct edge_relay *r = &c->relay;

	return ch->key != NULL && r->sa_key != NULL &&
	       strcmp(r->sa_key, ch->key) == 0 &&
	       r->address.s_addr == ch->addr.s_addr && r->sa_port == ch->port &&
	       r->n_peers == ch->n_peers &&
	       memcmp(r->peers, ch->peers, r->n_peers * sizeof(*r->peers)) == 0;
}

static int
set_config(struct edge_prop *p, const struct edge_config *c)
{
	uint32_t *ids = c->n_tunnels ? calloc(c->n_tunnels, sizeof(*ids)) : NULL;
	int err;

	if (c->n_tunnels && ids == NULL)
		return -ENOMEM;
	if ((err = edge_kernel_xfrm_if_ids(c, ids)) < 0) {
		free(ids);
		return err;
	}
	free(p->if_ids);
	p->if_ids = ids;
	p->conf = c;
	return 0;
}

int
edge_prop_create(struct event_base *base, struct kernel_ops *ops,
		 const struct edge_config *c, struct edge_prop **out)
{
	struct edge_prop *p;
	int err;

	*out = NULL;
	if (c->relay.sa_key == NULL)
		return 0;
	if (ops->xfrm_sa_add == NULL)
		return -EOPNOTSUPP;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->base = base;
	p->ops = ops;
	p->ch.fd = -1;
	if ((p->buf = secmem_alloc(EDGE_SYNC_PAYLOAD_MAX)) == NULL ||
	    (p->timer_ev = evtimer_new(base, timer_cb, p)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = set_config(p, c)) < 0 ||
	    (err = channel_open(p, &p->ch, c)) < 0)
		goto fail;
	log_info(SUBSYS, "on: port %u, %zu peers, delay %u ms", c->relay.sa_port,
		 c->relay.n_peers, c->relay.sa_delay_ms);
	ask_all(p, "started");
	*out = p;
	return 0;
fail:
	log_warnx(SUBSYS, "cannot start: %s", strerror(-err));
	edge_prop_destroy(p);
	return err;
}

int
edge_prop_apply(struct edge_prop *p, const struct edge_config *c)
{
	struct chan fresh = { .fd = -1 };
	bool same = channel_same(&p->ch, c);
	int err;

	if (c->relay.sa_key == NULL)
		return -EINVAL;	/* the caller destroys us instead */
	if (!same && (err = channel_open(p, &fresh, c)) < 0) {
		channel_close(&fresh);
		log_warnx(SUBSYS, "new channel: %s; the old one stays",
			  strerror(-err));
		return err;
	}
	if ((err = set_config(p, c)) < 0) {
		channel_close(&fresh);
		return err;
	}
	if (!same) {
		channel_close(&p->ch);
		p->ch = fresh;
		log_info(SUBSYS, "new channel: port %u, %zu peers",
			 c->relay.sa_port, c->relay.n_peers);
		ask_all(p, "new channel");
	}
	for (size_t i = p->n_held; i-- > 0;)
		if (tunnel_if_id(p, p->held[i].rec.tunnel) != p->held[i].rec.if_id)
			held_remove(p, i, "no longer an ipsec tunnel here");
	/* A tunnel whose replay_protection changed: its held SAs again,
	 * with or without their outbound half. */
	for (size_t i = 0; i < p->n_held; i++) {
		struct sarec *r = &p->held[i].rec;

		if (r->inbound_only == tunnel_pinned(p, r->tunnel))
			continue;
		(void)p->ops->xfrm_sa_del(p->ops, r);
		(void)p->ops->xfrm_policy_del(p->ops, r);
		r->inbound_only = !r->inbound_only;
		if ((err = p->ops->xfrm_sa_add(p->ops, r)) < 0)
			log_warnx(SUBSYS, "tunnel %s: installing the SA 0x%08x "
				  "of %s again: %s", r->tunnel, r->spi_in,
				  r->negotiated_by, strerror(-err));
	}
	return 0;
}

void
edge_prop_destroy(struct edge_prop *p)
{
	if (p == NULL)
		return;
	while (p->n_held > 0)
		held_remove(p, p->n_held - 1, "stopping");
	free(p->held);
	free(p->own);
	free(p->pend);
	while (p->n_mine > 0)
		mine_remove(p, p->n_mine - 1);
	free(p->mine);
	channel_close(&p->ch);
	if (p->timer_ev != NULL)
		event_free(p->timer_ev);
	secmem_free(p->buf);
	free(p->if_ids);
	free(p);
}

void
edge_prop_stats(const struct edge_prop *p, struct edge_prop_stats *st)
{
	*st = p->st;
}

size_t
edge_prop_held(const struct edge_prop *p, const char *tunnel,
	       struct edge_prop_held *out, size_t max)
{
	uint64_t now = mono_ms();
	size_t n = 0;

	for (size_t i = 0; i < p->n_held; i++) {
		const struct held *h = &p->held[i];

		if (strcmp(h->rec.tunnel, tunnel) != 0)
			continue;
		if (n < max) {
			struct edge_prop_held *o = &out[n];

			memset(o, 0, sizeof(*o));
			snprintf(o->from, sizeof(o->from), "%s",
				 h->rec.negotiated_by);
			o->serial = h->rec.serial;
			o->spi_in = h->rec.spi_in;
			o->spi_out = h->rec.spi_out;
			o->age_ms = now - h->since_ms;
		}
		n++;
	}
	return n;
}

void
edge_prop_set_pin_cb(struct edge_prop *p, void (*cb)(void *arg), void *arg)
{
	p->pin_cb = cb;
	p->pin_arg = arg;
}

bool
edge_prop_pinned_to(const struct edge_prop *p, const char *tunnel,
		    struct in_addr *to)
{
	uint64_t own = 0, newest = 0;

	to->s_addr = 0;
	if (!tunnel_pinned(p, tunnel))
		return false;
	for (size_t i = 0; i < p->n_own; i++)
		if (strcmp(p->own[i].tunnel, tunnel) == 0)
			own = p->own[i].since_ms;
	for (size_t i = 0; i < p->n_held; i++)
		if (strcmp(p->held[i].rec.tunnel, tunnel) == 0 &&
		    p->held[i].since_ms > newest && p->held[i].since_ms > own) {
			newest = p->held[i].since_ms;
			*to = p->held[i].from;
		}
	return true;
}
