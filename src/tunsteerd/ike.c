/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loop side of IKE (ike.h): the event bridge, each tunnel's book of
 * SAs, initiation with back-off, liveness checks and status.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tunsteerd/ike.h"
#include "lib/clock.h"
#include "lib/random.h"
#include "lib/secmem.h"
#include "lib/thread.h"
#include "lib/vec.h"

#define SUBSYS "ike"

/* Back-off between attempts: 1 s after an SA that was up went away, then
 * doubling per failed attempt up to a minute, each ±20 %. */
#define IKE_RETRY_FIRST_MS 1000u
#define IKE_RETRY_MAX_MS 60000u

/* --- tunnels ---------------------------------------------------------------- */

/* What IKE uses of a tunnel's config, kept to tell whether an update
 * changes anything. */
struct ike_conf {
	struct in_addr local, remote;
	uint32_t if_id;
	char *psk;			/* secmem */
	char *local_id, *remote_id, *ike_proposals, *esp_proposals;
	unsigned int ike_lifetime_s, child_lifetime_s, replay_window, dpd_s;
	bool ipv6;			/* the CHILD SA carries ::/0 too */
};

struct ike_tunnel {
	struct ike *ike;
	char name[IFNAMSIZ];
	struct ike_conf conf;
	struct ike_book book;
	enum ike_link link;
	/* The attempt in progress (an initiation asked for, until it has
	 * no IKE SA left). */
	bool initiating;		/* the driver has not reported yet */
	bool stale;			/* ... and it used a config since
					 * replaced */
	bool attempt_up;		/* a CHILD SA was installed in it */
	enum ike_failure attempt_failure;
	uint32_t attempt_arg;
	/* Failed attempts in a row, and what the last one died of. */
	unsigned int failures;
	enum ike_failure last_failure;
	uint32_t last_failure_arg;
	struct event *retry_ev;		/* the next attempt, when pending */
	uint64_t retry_at_ms;
	/* A liveness check in flight: the SA it asked, its deadline. */
	struct event *check_ev;
	uint32_t check_ike_id;
	/* The IKE SA whose peer answered the last check: asked again about
	 * it, the peer is alive but traffic still does not pass. */
	uint32_t answered_ike_id;
	/* Probes hold it down while its CHILD SA is installed: checked
	 * again every IKE_RECHECK_S (ike_tunnel_probes()). */
	bool probes_down;
	struct event *recheck_ev;
	int64_t dpd_sent_s, dpd_answered_s;	/* monotonic s; 0: never */
};

struct ike {
	struct event_base *base;
	struct ike_driver *drv;
	struct ike_callbacks cbs;
	struct ike_tunnel **tunnels;
	size_t n_tunnels, cap_tunnels;
	/* The bridge: @queue is filled by ike_post() from any thread under
	 * @lock; the loop swaps it out and dispatches it. */
	pthread_mutex_t lock;
	struct ike_event *queue;
	size_t n_queue, cap_queue;
	uint64_t lost, lost_seen;
	int efd;
	struct event *wake_ev;
};

static int64_t
now_s(void)
{
	return (int64_t)(mono_ns() / 1000000000u);
}

static void
conf_free(struct ike_conf *c)
{
	secmem_free_str(c->psk);
	free(c->local_id);
	free(c->remote_id);
	free(c->ike_proposals);
	free(c->esp_proposals);
	memset(c, 0, sizeof(*c));
}

static int
dup_opt(char **to, const char *s)
{
	*to = NULL;
	if (s && (*to = strdup(s)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
conf_copy(struct ike_conf *c, const struct config_tunnel *t, uint32_t if_id)
{
	const struct config_ike *k = &t->ike;

	memset(c, 0, sizeof(*c));
	c->local = t->local;
	c->remote = t->remote;
	c->if_id = if_id;
	c->ike_lifetime_s = k->ike_lifetime_s;
	c->child_lifetime_s = k->child_lifetime_s;
	c->replay_window = k->replay_window;
	c->dpd_s = k->dpd_s;
	c->ipv6 = t->has_address6;
	if ((k->psk && (c->psk = secmem_strdup(k->psk)) == NULL) ||
	    dup_opt(&c->local_id, k->local_id) < 0 ||
	    dup_opt(&c->remote_id, k->remote_id) < 0 ||
	    dup_opt(&c->ike_proposals, k->ike_proposals) < 0 ||
	    dup_opt(&c->esp_proposals, k->esp_proposals) < 0) {
		conf_free(c);
		return -ENOMEM;
	}
	return 0;
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool
conf_equal(const struct ike_conf *c, const struct config_tunnel *t,
	   uint32_t if_id)
{
	const struct config_ike *k = &t->ike;

	return c->local.s_addr == t->local.s_addr &&
	       c->remote.s_addr == t->remote.s_addr && c->if_id == if_id &&
	       str_eq(c->psk, k->psk) && str_eq(c->local_id, k->local_id) &&
	       str_eq(c->remote_id, k->remote_id) &&
	       str_eq(c->ike_proposals, k->ike_proposals) &&
	       str_eq(c->esp_proposals, k->esp_proposals) &&
	       c->ike_lifetime_s == k->ike_lifetime_s &&
	       c->child_lifetime_s == k->child_lifetime_s &&
	       c->replay_window == k->replay_window && c->dpd_s == k->dpd_s &&
	       c->ipv6 == t->has_address6;
}

/*
 * Tunnels are kept sorted by name: each event looks its tunnel up, and
 * nothing per event may be O(tunnels) (DESIGN.md).  @index is where
 * @name is, or would go.
 */
static struct ike_tunnel *
tunnel_find(const struct ike *ike, const char *name, size_t *index)
{
	size_t lo = 0, hi = ike->n_tunnels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ike->tunnels[mid]->name, name);

		if (c == 0) {
			if (index)
				*index = mid;
			return ike->tunnels[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (index)
		*index = lo;
	return NULL;
}

static void
tunnel_free(struct ike_tunnel *t)
{
	if (t == NULL)
		return;
	if (t->retry_ev)
		event_free(t->retry_ev);
	if (t->check_ev)
		event_free(t->check_ev);
	if (t->recheck_ev)
		event_free(t->recheck_ev);
	conf_free(&t->conf);
	free(t);
}

static const char *
remote_text(const struct ike_tunnel *t, char *buf, size_t len)
{
	return inet_ntop(AF_INET, &t->conf.remote, buf, (socklen_t)len);
}

/* Start an attempt now. */
static void
attempt_start(struct ike_tunnel *t)
{
	char addr[INET_ADDRSTRLEN];

	if (t->retry_ev)
		event_del(t->retry_ev);
	t->retry_at_ms = 0;
	t->initiating = true;
	t->attempt_up = false;
	t->attempt_failure = IKE_FAIL_NONE;
	t->attempt_arg = 0;
	log_debug(SUBSYS, "tunnel %s: initiating IKE SA to %s (attempt %u)",
		  t->name, remote_text(t, addr, sizeof(addr)), t->failures + 1);
	t->ike->drv->initiate(t->ike->drv, t->name);
}

static uint64_t
retry_delay_ms(unsigned int failures)
{
	uint64_t d = IKE_RETRY_FIRST_MS;
	uint64_t jitter;

	for (unsigned int i = 1; i < failures && d < IKE_RETRY_MAX_MS; i++)
		d *= 2;
	if (d > IKE_RETRY_MAX_MS)
		d = IKE_RETRY_MAX_MS;
	/* ±20 %: tunnels that failed together do not retry together. */
	jitter = ts_random64() % (d * 2 / 5 + 1);
	return d - d / 5 + jitter;
}

/*
 * The attempt has no IKE SA left: log what became of it, in one line, and
 * schedule the next one.  An attempt that got a CHILD SA up was a success
 * that ended (the peer deleted it, or stopped answering): the next
 * attempt comes soon.  One that never did counts as a failure, and the
 * wait doubles.
 */
static void
attempt_over(struct ike_tunnel *t)
{
	char addr[INET_ADDRSTRLEN], why[128];
	uint64_t delay;
	struct timeval tv;

	ike_failure_describe(t->attempt_failure, t->attempt_arg, why, sizeof(why));
	if (t->attempt_up) {
		t->failures = 0;
		delay = retry_delay_ms(0);
		log_notice(SUBSYS, "tunnel %s: IKE SA with %s gone: %s; "
			   "initiating again in %.1f s", t->name,
			   remote_text(t, addr, sizeof(addr)), why,
			   (double)delay / 1000);
	} else {
		t->failures++;
		if (t->attempt_failure == IKE_FAIL_NONE)
			snprintf(why, sizeof(why), "no IKE SA came up");
		delay = retry_delay_ms(t->failures);
		log_warnx(SUBSYS, "tunnel %s: attempt %u to %s failed: %s; "
			  "next in %.1f s", t->name, t->failures,
			  remote_text(t, addr, sizeof(addr)), why,
			  (double)delay / 1000);
		t->last_failure = t->attempt_failure;
		t->last_failure_arg = t->attempt_arg;
	}
	t->attempt_up = false;
	t->attempt_failure = IKE_FAIL_NONE;
	t->retry_at_ms = mono_ms() + delay;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	event_add(t->retry_ev, &tv);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	attempt_start(arg);
}

/* The liveness check's deadline passed without an answer. */
static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ike_tunnel *t = arg;
	struct ike_book_sa *sa = ike_book_find_sa(&t->book, t->check_ike_id);

	log_notice(SUBSYS, "tunnel %s: IKE SA #%u did not answer a DPD in "
		   "%u ms; dropping it and initiating anew", t->name,
		   t->check_ike_id, IKE_CHECK_TIMEOUT_MS);
	if (sa)
		sa->retired = true;
	t->ike->drv->terminate(t->ike->drv, t->check_ike_id, true);
	t->check_ike_id = 0;
	if (!t->initiating)
		attempt_start(t);
}

/* Still down by probes: check again, while its CHILD SA is installed
 * (without one, IKE is bringing one up at its own pace). */
static void
recheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ike_tunnel *t = arg;

	(void)fd;
	(void)what;
	if (t->probes_down && t->link == IKE_LINK_UP)
		(void)ike_tunnel_check(t->ike, t->name);
}

static struct ike_tunnel *
tunnel_new(struct ike *ike, const struct config_tunnel *ct, uint32_t if_id)
{
	struct ike_tunnel *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ike = ike;
	snprintf(t->name, sizeof(t->name), "%s", ct->name);
	t->retry_ev = evtimer_new(ike->base, retry_cb, t);
	t->check_ev = evtimer_new(ike->base, check_cb, t);
	t->recheck_ev = event_new(ike->base, -1, EV_PERSIST, recheck_cb, t);
	if (t->retry_ev == NULL || t->check_ev == NULL || t->recheck_ev == NULL ||
	    conf_copy(&t->conf, ct, if_id) < 0) {
		tunnel_free(t);
		return NULL;
	}
	return t;
}

/* Delete every SA of @t that is not retired yet, and retire it. */
static void
retire_all(struct ike_tunnel *t, bool force)
{
	for (size_t i = 0; i < t->book.n_ike; i++) {
		struct ike_book_sa *sa = &t->book.ike[i];

		if (sa->retired || sa->state == IKE_SA_DELETING)
			continue;
		sa->retired = true;
		t->ike->drv->terminate(t->ike->drv, sa->id, force);
	}
}

int
ike_tunnel_set(struct ike *ike, const struct config_tunnel *ct, uint32_t if_id)
{
	struct ike_tunnel *t, *old;
	size_t index;
	int err;

	if (ct->type != TUNNEL_IPSEC)
		return -EINVAL;
	old = tunnel_find(ike, ct->name, &index);
	if (old && conf_equal(&old->conf, ct, if_id))
		return 0;
	if (old == NULL) {
		if ((t = tunnel_new(ike, ct, if_id)) == NULL)
			return -ENOMEM;
		if ((err = VEC_PUSH(ike->tunnels, ike->n_tunnels,
				    ike->cap_tunnels, t)) < 0) {
			tunnel_free(t);
			return err;
		}
		memmove(&ike->tunnels[index + 1], &ike->tunnels[index],
			(ike->n_tunnels - 1 - index) * sizeof(ike->tunnels[0]));
		ike->tunnels[index] = t;
		if ((err = ike->drv->peer_set(ike->drv, ct, if_id)) < 0) {
			memmove(&ike->tunnels[index], &ike->tunnels[index + 1],
				(ike->n_tunnels - 1 - index) * sizeof(ike->tunnels[0]));
			ike->n_tunnels--;
			tunnel_free(t);
			return err;
		}
		log_info(SUBSYS, "tunnel %s: IPsec peer added", t->name);
		attempt_start(t);
		return 1;
	}
	/* A change: the new config first (it may fail and change nothing),
	 * then the old SAs go and a new one is made with it. */
	{
		struct ike_conf c;

		if ((err = conf_copy(&c, ct, if_id)) < 0)
			return err;
		if ((err = ike->drv->peer_set(ike->drv, ct, if_id)) < 0) {
			conf_free(&c);
			return err;
		}
		conf_free(&old->conf);
		old->conf = c;
	}
	log_notice(SUBSYS, "tunnel %s: IPsec config changed; re-keying it",
		   old->name);
	retire_all(old, false);
	if (old->check_ike_id) {
		event_del(old->check_ev);
		old->check_ike_id = 0;
	}
	old->failures = 0;
	if (!old->initiating)
		attempt_start(old);
	else
		/* The initiation in flight used the old config: what it
		 * made is deleted once it reports, and a new one made. */
		old->stale = true;
	return 1;
}

void
ike_tunnel_remove(struct ike *ike, const char *name)
{
	size_t index;
	struct ike_tunnel *t = tunnel_find(ike, name, &index);

	if (t == NULL)
		return;
	retire_all(t, false);
	ike->drv->peer_remove(ike->drv, name);
	memmove(&ike->tunnels[index], &ike->tunnels[index + 1],
		(ike->n_tunnels - index - 1) * sizeof(ike->tunnels[0]));
	ike->n_tunnels--;
	log_info(SUBSYS, "tunnel %s: IPsec peer removed", name);
	tunnel_free(t);
}

int
ike_tunnel_check(struct ike *ike, const char *name)
{
	struct ike_tunnel *t = tunnel_find(ike, name, NULL);
	const struct ike_book_sa *sa;
	struct timeval tv = { IKE_CHECK_TIMEOUT_MS / 1000,
			      (IKE_CHECK_TIMEOUT_MS % 1000) * 1000 };

	if (t == NULL)
		return -ENOENT;
	if (t->check_ike_id)
		return 0;
	sa = ike_book_current(&t->book);
	if (sa && sa->state == IKE_SA_ESTABLISHED && sa->id == t->answered_ike_id) {
		/*
		 * Its peer answered, yet probes still find no way through: the
		 * SAs disagree (a responder that finished an attempt we had
		 * given up on sends with that attempt's SA).  Delete them,
		 * telling the peer, and start afresh: the new IKE_AUTH carries
		 * INITIAL_CONTACT, and the peer drops whatever else it holds
		 * of us.
		 */
		struct ike_book_sa *rsa = ike_book_find_sa(&t->book, sa->id);

		log_notice(SUBSYS, "tunnel %s: the peer of IKE SA #%u answers, "
			   "but nothing passes the tunnel; replacing its SAs",
			   t->name, sa->id);
		t->answered_ike_id = 0;
		if (rsa)
			rsa->retired = true;
		t->ike->drv->terminate(t->ike->drv, sa->id, false);
		if (!t->initiating)
			attempt_start(t);
		return 0;
	}
	if (sa && sa->state == IKE_SA_ESTABLISHED) {
		log_info(SUBSYS, "tunnel %s: checking that the peer of IKE SA "
			 "#%u is alive (DPD now)", t->name, sa->id);
		t->check_ike_id = sa->id;
		t->ike->drv->dpd(t->ike->drv, sa->id);
		event_add(t->check_ev, &tv);
		return 0;
	}
	if (t->initiating || ike_book_alive(&t->book))
		return 0;
	if (t->retry_at_ms) {
		log_info(SUBSYS, "tunnel %s: no IKE SA; initiating now instead "
			 "of in %.1f s", t->name,
			 (double)(t->retry_at_ms - mono_ms()) / 1000);
		attempt_start(t);
	}
	return 0;
}

static void
sa_info_text(const struct ike_sa_info *in, bool child, char *buf, size_t len)
{
	if (child)
		snprintf(buf, len, "ESP spi in %08x out %08x, %s%s",
			 in->spi_in, in->spi_out, in->proposal,
			 in->nat ? ", NAT-T" : "");
	else
		snprintf(buf, len, "%s%s", in->proposal,
			 in->nat ? ", NAT-T" : "");
}

static int
failure_rank(enum ike_failure f)
{
	return (int)f;
}

/* One event for tunnel @t, on the loop. */
static void
tunnel_event(struct ike_tunnel *t, const struct ike_event *ev)
{
	enum ike_link before = t->link;
	char text[2 * IKE_PROPOSAL_MAX];
	struct ike_book_sa *sa = ike_book_find_sa(&t->book, ev->ike_id);

	switch (ev->kind) {
	case IKE_EV_FAILURE:
		/* Failures of a retired SA are not the attempt's; nor, once
		 * it is up, are error notifies (TEMPORARY_FAILURE in a rekey
		 * collision…): charon handles them, and they would name the
		 * wrong cause if the SA went later. */
		if ((sa && sa->retired) ||
		    (t->attempt_up && ev->failure == IKE_FAIL_NOTIFY))
			break;
		if (failure_rank(ev->failure) > failure_rank(t->attempt_failure)) {
			t->attempt_failure = ev->failure;
			t->attempt_arg = ev->arg;
		}
		log_debug(SUBSYS, "tunnel %s: IKE SA #%u: %s (%u)", t->name,
			  ev->ike_id, ike_failure_text(ev->failure), ev->arg);
		break;
	case IKE_EV_MESSAGE:
		if (ev->arg == 0) {
			t->dpd_sent_s = now_s();
			break;
		}
		if (ev->arg == 1)
			t->dpd_answered_s = now_s();
		if (t->check_ike_id && t->check_ike_id == ev->ike_id) {
			log_info(SUBSYS, "tunnel %s: IKE SA #%u answered; the "
				 "peer is alive", t->name, ev->ike_id);
			event_del(t->check_ev);
			t->answered_ike_id = t->check_ike_id;
			t->check_ike_id = 0;
		}
		break;
	case IKE_EV_INITIATED:
		t->initiating = false;
		if (t->stale) {
			t->stale = false;
			retire_all(t, false);
			attempt_start(t);
			break;
		}
		if (!ev->arg && failure_rank(IKE_FAIL_INITIATE) >
				failure_rank(t->attempt_failure))
			t->attempt_failure = IKE_FAIL_INITIATE;
		break;
	case IKE_EV_IKE_STATE:
		if (ev->state == IKE_SA_ESTABLISHED && !(sa && sa->was_up)) {
			sa_info_text(&ev->info, false, text, sizeof(text));
			log_debug(SUBSYS, "tunnel %s: IKE SA #%u established (%s)",
				  t->name, ev->ike_id, text);
		}
		if (ev->state == IKE_SA_DESTROYING && t->check_ike_id == ev->ike_id) {
			event_del(t->check_ev);
			t->check_ike_id = 0;
		}
		break;
	case IKE_EV_CHILD_STATE:
		if (ev->state == IKE_CHILD_INSTALLED) {
			if (!(sa && sa->retired)) {
				t->attempt_up = true;
				t->failures = 0;
				t->last_failure = IKE_FAIL_NONE;
				/* What went wrong on the way up is no reason
				 * for the end of what came up. */
				t->attempt_failure = IKE_FAIL_NONE;
			}
			sa_info_text(&ev->info, true, text, sizeof(text));
			/* Rekeys say so themselves (IKE_EV_CHILD_REKEYED). */
			log_msg(before == IKE_LINK_DOWN ? LOG_LVL_INFO :
				LOG_LVL_DEBUG, SUBSYS,
				"tunnel %s: CHILD SA #%u installed (%s)",
				t->name, ev->child_id, text);
		}
		break;
	case IKE_EV_IKE_REKEYED:
		log_info(SUBSYS, "tunnel %s: IKE SA #%u rekeyed to #%u",
			 t->name, ev->ike_id, ev->arg);
		if (t->check_ike_id == ev->ike_id)
			t->check_ike_id = ev->arg;
		break;
	case IKE_EV_CHILD_REKEYED:
		sa_info_text(&ev->info, true, text, sizeof(text));
		log_info(SUBSYS, "tunnel %s: CHILD SA #%u rekeyed to #%u (%s)",
			 t->name, ev->child_id, ev->arg, text);
		break;
	}
	ike_book_apply(&t->book, ev);

	/* A CHILD SA went and its IKE SA has none left: that IKE SA is of
	 * no use to us (it would linger until its rekey), so it goes and a
	 * new one with a CHILD SA is made. */
	if (ev->kind == IKE_EV_CHILD_STATE && ike_child_final(ev->state)) {
		const struct ike_book_sa *owner = ike_book_find_sa(&t->book, ev->ike_id);
		bool others = false;

		for (size_t i = 0; i < t->book.n_child; i++)
			if (!ike_child_final(t->book.child[i].state))
				others = true;
		if (owner && !owner->retired && !others &&
		    owner->state == IKE_SA_ESTABLISHED) {
			log_debug(SUBSYS, "tunnel %s: IKE SA #%u has no CHILD SA "
				  "left; deleting it", t->name, owner->id);
			ike_book_find_sa(&t->book, ev->ike_id)->retired = true;
			t->ike->drv->terminate(t->ike->drv, ev->ike_id, false);
		}
	}

	t->link = ike_book_link(&t->book);
	if (t->link != before) {
		if (t->link == IKE_LINK_UP)
			log_notice(SUBSYS, "tunnel %s: IPsec down -> up "
				   "(CHILD SA installed)", t->name);
		else
			log_notice(SUBSYS, "tunnel %s: IPsec up -> down "
				   "(no CHILD SA installed)", t->name);
	}

	if (!t->initiating && !ike_book_alive(&t->book) &&
	    !event_pending(t->retry_ev, EV_TIMEOUT, NULL))
		attempt_over(t);

	/* Last: the callback may remove the tunnel. */
	if (t->link != before && t->ike->cbs.link_cb)
		t->ike->cbs.link_cb(t->ike->cbs.arg, t->name, t->link);
}

/* --- the bridge ---------------------------------------------------------- */

void
ike_post(struct ike *ike, const struct ike_event *ev)
{
	pthread_mutex_lock(&ike->lock);
	if (VEC_PUSH(ike->queue, ike->n_queue, ike->cap_queue, *ev) < 0)
		ike->lost++;
	pthread_mutex_unlock(&ike->lock);
	thread_wake(ike->efd);
}

static void
dispatch(struct ike *ike, const struct ike_event *ev)
{
	struct ike_tunnel *t = tunnel_find(ike, ev->tunnel, NULL);

	/* Events of a tunnel removed meanwhile (its SAs' last words). */
	if (t)
		tunnel_event(t, ev);
	if (ike->cbs.event_cb)
		ike->cbs.event_cb(ike->cbs.arg, ev);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ike *ike = arg;
	struct ike_event *q;
	size_t n;
	uint64_t lost;

	/* Reset first: a post after the swap below wakes us again. */
	thread_woken(ike->efd);
	pthread_mutex_lock(&ike->lock);
	q = ike->queue;
	n = ike->n_queue;
	lost = ike->lost;
	ike->queue = NULL;
	ike->n_queue = ike->cap_queue = 0;
	pthread_mutex_unlock(&ike->lock);

	for (size_t i = 0; i < n; i++)
		dispatch(ike, &q[i]);
	free(q);
	if (lost != ike->lost_seen) {
		log_warnx(SUBSYS, "%llu IKE events lost (out of memory); "
			  "checking every tunnel",
			  (unsigned long long)(lost - ike->lost_seen));
		ike->lost_seen = lost;
		for (size_t i = 0; i < ike->n_tunnels; i++)
			(void)ike_tunnel_check(ike, ike->tunnels[i]->name);
	}
}

uint64_t
ike_events_lost(const struct ike *ike)
{
	return ike->lost_seen;
}

int
ike_create(struct event_base *base, struct ike_driver *drv,
	   const struct ike_callbacks *cbs, struct ike **out)
{
	struct ike *ike = calloc(1, sizeof(*ike));
	int err;

	*out = NULL;
	if (ike == NULL) {
		drv->destroy(drv);
		return -ENOMEM;
	}
	ike->base = base;
	ike->drv = drv;
	if (cbs)
		ike->cbs = *cbs;
	ike->efd = -1;
	if ((err = pthread_mutex_init(&ike->lock, NULL)) != 0) {
		drv->destroy(drv);
		free(ike);
		return -err;
	}
	if ((ike->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		err = -errno;
		goto fail;
	}
	ike->wake_ev = event_new(base, ike->efd, EV_READ | EV_PERSIST, wake_cb,
				 ike);
	if (ike->wake_ev == NULL || event_add(ike->wake_ev, NULL) < 0) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = drv->start(drv, ike)) < 0)
		goto fail;
	*out = ike;
	return 0;
fail:
	ike_destroy(ike);
	return err;
}

void
ike_destroy(struct ike *ike)
{
	if (ike == NULL)
		return;
	/* The driver first: once it is gone no thread posts any more. */
	ike->drv->destroy(ike->drv);
	for (size_t i = 0; i < ike->n_tunnels; i++)
		tunnel_free(ike->tunnels[i]);
	free(ike->tunnels);
	free(ike->queue);
	if (ike->wake_ev)
		event_free(ike->wake_ev);
	if (ike->efd >= 0)
		close(ike->efd);
	pthread_mutex_destroy(&ike->lock);
	free(ike);
}

int
ike_tunnel_probes(struct ike *ike, const char *name, bool down)
{
	struct ike_tunnel *t = tunnel_find(ike, name, NULL);
	struct timeval tv = { IKE_RECHECK_S, 0 };

	if (t == NULL)
		return -ENOENT;
	if (!down) {
		/* Traffic passes (or IKE knows why not): an answered check
		 * says nothing about what comes next. */
		t->answered_ike_id = 0;
		t->probes_down = false;
		event_del(t->recheck_ev);
		return 0;
	}
	if (t->probes_down)
		return 0;
	t->probes_down = true;
	event_add(t->recheck_ev, &tv);
	return ike_tunnel_check(ike, name);
}

int
ike_tunnel_rekey(struct ike *ike, const char *name)
{
	const struct ike_tunnel *t = tunnel_find(ike, name, NULL);
	const struct ike_book_child *c;

	if (t == NULL)
		return -ENOENT;
	c = ike_book_current_child(&t->book);
	if (c == NULL || c->state != IKE_CHILD_INSTALLED)
		return -ENOTCONN;
	log_info(SUBSYS, "tunnel %s: rekeying CHILD SA #%u (asked)", t->name,
		 c->id);
	ike->drv->rekey(ike->drv, c->ike_id, c->id);
	return 0;
}

void
ike_log_level_changed(struct ike *ike)
{
	ike->drv->log_level(ike->drv, log_get_level());
}

enum ike_link
ike_tunnel_link(const struct ike *ike, const char *name)
{
	const struct ike_tunnel *t = tunnel_find(ike, name, NULL);

	return t ? t->link : IKE_LINK_DOWN;
}

int
ike_tunnel_status(const struct ike *ike, const char *name,
		  struct ike_status *st)
{
	const struct ike_tunnel *t = tunnel_find(ike, name, NULL);
	const struct ike_book_sa *sa;
	const struct ike_book_child *c;
	int64_t now = now_s();

	if (t == NULL)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->link = t->link;
	st->ike_state = IKE_SA_NONE;
	st->child_state = IKE_CHILD_NONE;
	st->ike_rekey_in_s = st->ike_reauth_in_s = st->child_rekey_in_s = -1;
	st->dpd_sent_ago_s = t->dpd_sent_s ? now - t->dpd_sent_s : -1;
	st->dpd_answered_ago_s = t->dpd_answered_s ? now - t->dpd_answered_s : -1;
	if ((sa = ike_book_current(&t->book)) != NULL) {
		st->ike_state = sa->state;
		st->ike_id = sa->id;
		if (sa->was_up) {
			snprintf(st->ike_proposal, sizeof(st->ike_proposal), "%s",
				 sa->info.proposal);
			st->nat = sa->info.nat;
			if (sa->info.rekey_at)
				st->ike_rekey_in_s = sa->info.rekey_at > now ?
						     sa->info.rekey_at - now : 0;
			if (sa->info.reauth_at)
				st->ike_reauth_in_s = sa->info.reauth_at > now ?
						      sa->info.reauth_at - now : 0;
		}
	}
	if ((c = ike_book_current_child(&t->book)) != NULL) {
		st->child_state = c->state;
		st->child_id = c->id;
		st->spi_in = c->info.spi_in;
		st->spi_out = c->info.spi_out;
		snprintf(st->esp_proposal, sizeof(st->esp_proposal), "%s",
			 c->info.proposal);
		st->nat = st->nat || c->info.nat;
		st->esp_mtu = c->info.mtu;
		if (c->info.rekey_at)
			st->child_rekey_in_s = c->info.rekey_at > now ?
					       c->info.rekey_at - now : 0;
	}
	st->attempts = t->failures;
	st->last_failure = t->last_failure;
	st->last_failure_arg = t->last_failure_arg;
	st->next_attempt_in_s = -1;
	if (t->retry_at_ms) {
		uint64_t ms = mono_ms();

		st->next_attempt_in_s = t->retry_at_ms > ms ?
			(int64_t)((t->retry_at_ms - ms + 999) / 1000) : 0;
	}
	return 0;
}
