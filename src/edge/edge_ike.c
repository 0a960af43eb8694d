/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strongSwan builds: the IKEv2 responder on lib/charon (edge_ike.h). */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "edge/edge_config.h"
#include "edge/edge_ike.h"
#include "edge/edge_kernel.h"
#include "lib/charon.h"
#include "lib/log.h"
#include "lib/sarec.h"
#include "lib/vec.h"

#define SUBSYS "ike"

_Static_assert(sizeof(((struct edge_ike_status *)0)->rec_by) == SAREC_NAME_MAX,
	       "edge_ike_status.rec_by is no longer a server's name");

/* One ipsec tunnel as charon's events told it. */
struct tunnel {
	char name[IFNAMSIZ];
	struct ike_book book;
	unsigned int established, children;
	enum ike_failure last_failure;
	uint32_t last_failure_arg;
	/* The newest CHILD SA this server negotiated, as it would send it
	 * to the others (keys in secret memory); zeroed: none yet. */
	struct sarec rec;
};

struct edge_ike {
	struct charon *ch;
	char server[SAREC_NAME_MAX];	/* this server's name, in records */
	/* Written by charon's threads (events), read by the loop (views)
	 * and changed by it (apply). */
	pthread_mutex_t lock;
	struct tunnel *t;
	size_t n, cap;
	/* SA propagation's news, for the loop (edge_ike_news_take()). */
	bool news_on;
	struct edge_ike_news *news;
	size_t n_news, cap_news;
	unsigned long news_dropped;
	int news_fd;			/* eventfd */
};

const char *
edge_ike_unavailable(void)
{
	return NULL;
}

static struct tunnel *
find(struct edge_ike *ike, const char *name)
{
	for (size_t i = 0; i < ike->n; i++)
		if (strcmp(ike->t[i].name, name) == 0)
			return &ike->t[i];
	return NULL;
}

/* With ike->lock held: queue @nw (taken, also when dropped). */
static void
news_push(struct edge_ike *ike, struct edge_ike_news *nw)
{
	uint64_t one = 1;

	if (!ike->news_on || ike->n_news >= EDGE_IKE_NEWS_MAX ||
	    VEC_PUSH(ike->news, ike->n_news, ike->cap_news, *nw) < 0) {
		if (ike->news_on && ike->news_dropped++ == 0)
			log_warnx(SUBSYS, "tunnel %s: SA propagation news "
				  "dropped: the loop is behind", nw->rec.tunnel);
		sarec_clear(&nw->rec);
		return;
	}
	/* Fails only when the counter would overflow: readable anyway. */
	(void)!write(ike->news_fd, &one, sizeof(one));
}

/* A copy of @r with its own keys, or -ENOMEM. */
static int
rec_copy(struct sarec *dst, const struct sarec *r)
{
	*dst = *r;
	dst->keys = NULL;
	if (r->keys == NULL)
		return 0;
	if (sarec_keys_alloc(dst) < 0) {
		memset(dst, 0, sizeof(*dst));
		return -ENOMEM;
	}
	*dst->keys = *r->keys;
	return 0;
}

/* In charon's threads: keep the book, say what an operator needs. */
static void
post_cb(void *arg, const struct ike_event *ev)
{
	struct edge_ike *ike = arg;
	struct tunnel *t;
	char why[128];

	pthread_mutex_lock(&ike->lock);
	if ((t = find(ike, ev->tunnel)) == NULL) {
		pthread_mutex_unlock(&ike->lock);
		return;
	}
	ike_book_apply(&t->book, ev);
	if (ev->kind == IKE_EV_IKE_STATE && ev->state == IKE_SA_ESTABLISHED)
		t->established++;
	if (ev->kind == IKE_EV_CHILD_STATE && ev->state == IKE_CHILD_INSTALLED)
		t->children++;
	if (ev->kind == IKE_EV_FAILURE) {
		t->last_failure = ev->failure;
		t->last_failure_arg = ev->arg;
	}
	/* A CHILD SA of ours going: the others remove their copies. */
	if (ev->kind == IKE_EV_CHILD_STATE && ev->state == IKE_CHILD_DESTROYING &&
	    ev->info.spi_in != 0 && ike->news_on) {
		struct edge_ike_news nw = { .deleted = true };

		snprintf(nw.rec.tunnel, sizeof(nw.rec.tunnel), "%s", t->name);
		snprintf(nw.rec.negotiated_by, sizeof(nw.rec.negotiated_by),
			 "%s", ike->server);
		nw.rec.spi_in = ev->info.spi_in;
		nw.rec.spi_out = ev->info.spi_out;
		if (t->rec.spi_in == ev->info.spi_in)
			nw.rec.serial = t->rec.serial;
		news_push(ike, &nw);
	}
	pthread_mutex_unlock(&ike->lock);

	if (ev->kind == IKE_EV_IKE_STATE && ev->state == IKE_SA_ESTABLISHED)
		log_info(SUBSYS, "tunnel %s: IKE SA #%u established (%s%s)",
			 ev->tunnel, ev->ike_id, ev->info.proposal,
			 ev->info.nat ? ", NAT-T" : "");
	else if (ev->kind == IKE_EV_CHILD_STATE &&
		 ev->state == IKE_CHILD_INSTALLED)
		log_info(SUBSYS, "tunnel %s: CHILD SA installed, SPIs "
			 "0x%08x in, 0x%08x out (%s)", ev->tunnel,
			 ev->info.spi_in, ev->info.spi_out, ev->info.proposal);
	else if (ev->kind == IKE_EV_FAILURE) {
		ike_failure_describe(ev->failure, ev->arg, why, sizeof(why));
		log_notice(SUBSYS, "tunnel %s: IKE SA #%u: %s", ev->tunnel,
			   ev->ike_id, why);
	}
}

/* In charon's threads: keep the newest record of each tunnel. */
static void
sa_cb(void *arg, struct sarec *rec)
{
	struct edge_ike *ike = arg;
	struct tunnel *t;

	pthread_mutex_lock(&ike->lock);
	if ((t = find(ike, rec->tunnel)) != NULL && ike->news_on) {
		struct edge_ike_news nw = { .deleted = false };

		if (rec_copy(&nw.rec, rec) == 0)
			news_push(ike, &nw);
		else
			log_warnx(SUBSYS, "tunnel %s: out of memory: its new SA "
				  "will not be propagated", rec->tunnel);
	}
	if (t != NULL && rec->serial > t->rec.serial) {
		sarec_clear(&t->rec);
		t->rec = *rec;		/* the keys move with it */
		rec = NULL;
	}
	pthread_mutex_unlock(&ike->lock);
	if (rec != NULL)
		sarec_clear(rec);
}

int
edge_ike_create(const char *server, struct edge_ike **out)
{
	struct charon_opts o = {
		.name = "tunsteer-edge",
		.initiator_only = false,
		/* XFRM reqids from the edge's mark range: never tunsteerd's
		 * on a host that runs both (the lab). */
		.reqid_base = EDGE_XFRM_IF_ID_MIN,
	};
	struct edge_ike *ike = calloc(1, sizeof(*ike));
	int err;

	*out = NULL;
	if (ike == NULL)
		return -ENOMEM;
	if ((err = -pthread_mutex_init(&ike->lock, NULL)) != 0) {
		free(ike);
		return err;
	}
	snprintf(ike->server, sizeof(ike->server), "%s", server);
	if ((ike->news_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		err = -errno;
		pthread_mutex_destroy(&ike->lock);
		free(ike);
		return err;
	}
	if ((ike->ch = charon_create(&o, &err)) != NULL)
		charon_record_sas(ike->ch, ike->server, sa_cb, ike);
	if (ike->ch == NULL || (err = charon_start(ike->ch, post_cb, ike)) < 0) {
		log_warnx(SUBSYS, "IKEv2 responder: %s", strerror(-err));
		edge_ike_destroy(ike);
		return err;
	}
	*out = ike;
	return 0;
}

#define EDGE_KEYID_STRLEN (sizeof("keyid:") + EDGE_IPSEC_ID_STRLEN)

/* Tunnel @i of @c as charon's responder (@ids, @keyid and @esp hold the
 * strings it points to). */
static int
peer_of(const struct edge_config *c, size_t i, uint32_t if_id,
	struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX], char *keyid, char *esp,
	size_t esp_len, struct charon_peer *p)
{
	const struct edge_tunnel *t = &c->tunnels[i];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", t->name);
	p->responder = true;
	inet_ntop(AF_INET, &t->cloudflare_endpoint, p->local, sizeof(p->local));
	if (t->has_customer_endpoint)
		inet_ntop(AF_INET, &t->customer_endpoint, p->remote,
			  sizeof(p->remote));
	else
		snprintf(p->remote, sizeof(p->remote), "%%any");
	/* The provider's own ID is its anycast address (PROVIDER.md §3). */
	p->local_id = NULL;
	p->n_remote_ids = edge_ipsec_ids(c, i, ids);
	for (size_t k = 0; k < p->n_remote_ids; k++) {
		/* In strongSwan's notation: text with an @ is an RFC 822
		 * address, other names an FQDN, but a key ID must say so. */
		if (strcmp(ids[k].type, "key_id") == 0) {
			snprintf(keyid, EDGE_KEYID_STRLEN, "keyid:%s", ids[k].text);
			p->remote_ids[k] = keyid;
		} else {
			p->remote_ids[k] = ids[k].text;
		}
	}
	p->psk = t->ipsec.psk;
	p->ike_proposals = EDGE_IKE_PROPOSALS;
	snprintf(esp, esp_len, "%s%s", EDGE_ESP_PROPOSALS,
		 t->ipsec.allow_null_cipher ? ", " EDGE_ESP_NULL_PROPOSAL : "");
	p->esp_proposals = esp;
	p->if_id = if_id;
	p->ipv6 = t->has_address6;	/* ::/0 selectors as well */
	p->replay_window = t->ipsec.replay_protection ? EDGE_REPLAY_WINDOW : 0;
	p->dpd_s = EDGE_IKE_DPD_S;
	return p->n_remote_ids ? 0 : -EINVAL;
}

int
edge_ike_apply(struct edge_ike *ike, const struct edge_config *c,
	       const uint32_t *if_ids)
{
	int first = 0;

	/* Peers of tunnels that are gone (or no longer ipsec) go first. */
	pthread_mutex_lock(&ike->lock);
	for (size_t i = ike->n; i-- > 0;) {
		int ti = edge_config_tunnel_index(c, ike->t[i].name);
		char name[IFNAMSIZ];

		if (ti >= 0 && c->tunnels[ti].type == EDGE_TUNNEL_IPSEC)
			continue;
		snprintf(name, sizeof(name), "%s", ike->t[i].name);
		sarec_clear(&ike->t[i].rec);
		ike->t[i] = ike->t[--ike->n];
		pthread_mutex_unlock(&ike->lock);
		charon_peer_remove(ike->ch, name);
		log_info(SUBSYS, "tunnel %s: no longer served", name);
		pthread_mutex_lock(&ike->lock);
	}
	pthread_mutex_unlock(&ike->lock);

	for (size_t i = 0; i < c->n_tunnels; i++) {
		struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX];
		char keyid[EDGE_KEYID_STRLEN];
		char esp[sizeof(EDGE_ESP_PROPOSALS ", " EDGE_ESP_NULL_PROPOSAL)];
		struct charon_peer p;
		int err;

		if (c->tunnels[i].type != EDGE_TUNNEL_IPSEC)
			continue;
		/* The book first, so that no event of the new peer is
		 * missed. */
		pthread_mutex_lock(&ike->lock);
		if (find(ike, c->tunnels[i].name) == NULL) {
			struct tunnel t = { 0 };

			snprintf(t.name, sizeof(t.name), "%s", c->tunnels[i].name);
			err = VEC_PUSH(ike->t, ike->n, ike->cap, t);
		} else {
			err = 0;
		}
		pthread_mutex_unlock(&ike->lock);
		if (err == 0 &&
		    (err = peer_of(c, i, if_ids[i], ids, keyid, esp, sizeof(esp),
				 &p)) == 0)
			err = charon_peer_set(ike->ch, &p);
		if (err < 0) {
			log_warnx(SUBSYS, "tunnel %s: cannot serve it: %s",
				  c->tunnels[i].name, strerror(-err));
			if (first == 0)
				first = err;
		}
	}
	return first;
}

void
edge_ike_destroy(struct edge_ike *ike)
{
	if (ike == NULL)
		return;
	/* Joins charon's threads: no event comes after. */
	charon_destroy(ike->ch);
	pthread_mutex_destroy(&ike->lock);
	for (size_t i = 0; i < ike->n; i++)
		sarec_clear(&ike->t[i].rec);
	free(ike->t);
	for (size_t i = 0; i < ike->n_news; i++)
		sarec_clear(&ike->news[i].rec);
	free(ike->news);
	if (ike->news_fd >= 0)
		close(ike->news_fd);
	free(ike);
}

void
edge_ike_news_on(struct edge_ike *ike, bool on)
{
	pthread_mutex_lock(&ike->lock);
	ike->news_on = on;
	pthread_mutex_unlock(&ike->lock);
}

int
edge_ike_news_fd(struct edge_ike *ike)
{
	return ike->news_fd;
}

bool
edge_ike_news_take(struct edge_ike *ike, struct edge_ike_news *out)
{
	uint64_t n;
	bool got = false;

	pthread_mutex_lock(&ike->lock);
	if (ike->n_news > 0) {
		*out = ike->news[0];
		memmove(ike->news, ike->news + 1,
			--ike->n_news * sizeof(*ike->news));
		got = true;
	} else {
		/* Nothing waits: reset the eventfd (EAGAIN: already). */
		(void)!read(ike->news_fd, &n, sizeof(n));
	}
	pthread_mutex_unlock(&ike->lock);
	return got;
}

int
edge_ike_status(struct edge_ike *ike, const char *name,
		struct edge_ike_status *st)
{
	const struct ike_book_sa *sa;
	const struct ike_book_child *ch;
	struct tunnel *t;

	memset(st, 0, sizeof(*st));
	st->ike_state = IKE_SA_NONE;
	st->child_state = IKE_CHILD_NONE;
	pthread_mutex_lock(&ike->lock);
	if ((t = find(ike, name)) == NULL) {
		pthread_mutex_unlock(&ike->lock);
		return -ENOENT;
	}
	if ((sa = ike_book_current(&t->book)) != NULL) {
		st->ike_state = sa->state;
		st->ike_id = sa->id;
		st->nat = sa->info.nat;
		snprintf(st->ike_proposal, sizeof(st->ike_proposal), "%s",
			 sa->info.proposal);
	}
	if ((ch = ike_book_current_child(&t->book)) != NULL) {
		st->child_state = ch->state;
		st->spi_in = ch->info.spi_in;
		st->spi_out = ch->info.spi_out;
		snprintf(st->esp_proposal, sizeof(st->esp_proposal), "%s",
			 ch->info.proposal);
	}
	if (t->rec.serial != 0) {
		st->recorded = true;
		st->rec_serial = t->rec.serial;
		st->rec_spi_in = t->rec.spi_in;
		st->rec_spi_out = t->rec.spi_out;
		st->rec_if_id = t->rec.if_id;
		st->rec_replay_window = t->rec.replay_window;
		snprintf(st->rec_by, sizeof(st->rec_by), "%s",
			 t->rec.negotiated_by);
		sarec_proposal(&t->rec, st->rec_esp, sizeof(st->rec_esp));
	}
	st->established = t->established;
	st->children = t->children;
	st->last_failure = t->last_failure;
	st->last_failure_arg = t->last_failure_arg;
	pthread_mutex_unlock(&ike->lock);
	return 0;
}
