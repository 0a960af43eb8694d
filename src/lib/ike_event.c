/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The names of IKE states and failures, and a tunnel's book of SAs kept
 * from events (ike_event.h): pure, shared by both daemons.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "lib/ike_event.h"

/* --- names --------------------------------------------------------------- */

static const char *const sa_state_names[] = {
	[IKE_SA_CREATED] = "CREATED",
	[IKE_SA_CONNECTING] = "CONNECTING",
	[IKE_SA_ESTABLISHED] = "ESTABLISHED",
	[IKE_SA_PASSIVE] = "PASSIVE",
	[IKE_SA_REKEYING] = "REKEYING",
	[IKE_SA_REKEYED] = "REKEYED",
	[IKE_SA_DELETING] = "DELETING",
	[IKE_SA_DESTROYING] = "DESTROYING",
	[IKE_SA_NONE] = "NONE",
};

static const char *const child_state_names[] = {
	[IKE_CHILD_CREATED] = "CREATED",
	[IKE_CHILD_ROUTED] = "ROUTED",
	[IKE_CHILD_INSTALLING] = "INSTALLING",
	[IKE_CHILD_INSTALLED] = "INSTALLED",
	[IKE_CHILD_UPDATING] = "UPDATING",
	[IKE_CHILD_REKEYING] = "REKEYING",
	[IKE_CHILD_REKEYED] = "REKEYED",
	[IKE_CHILD_RETRYING] = "RETRYING",
	[IKE_CHILD_DELETING] = "DELETING",
	[IKE_CHILD_DELETED] = "DELETED",
	[IKE_CHILD_DESTROYING] = "DESTROYING",
	[IKE_CHILD_NONE] = "NONE",
};

static const char *const failure_texts[] = {
	[IKE_FAIL_NONE] = "deleted",
	[IKE_FAIL_INITIATE] = "could not start (no usable address or route?)",
	[IKE_FAIL_NO_ANSWER] = "no answer from the peer",
	[IKE_FAIL_TIMEOUT] = "the peer stopped answering (DPD or rekey)",
	[IKE_FAIL_EXPIRED] = "the IKE SA expired before it was rekeyed",
	[IKE_FAIL_NOTIFY] = "the peer sent an error notify",
	[IKE_FAIL_INSTALL] = "the kernel refused the SA or its policies",
	[IKE_FAIL_TS] = "traffic selectors refused",
	[IKE_FAIL_NO_PROPOSAL_ESP] = "no ESP proposal in common (esp_proposals)",
	[IKE_FAIL_NO_PROPOSAL_IKE] = "no IKE proposal in common (ike_proposals)",
	[IKE_FAIL_AUTH_PEER] = "the peer failed our authentication "
			       "(PSK or remote_id)",
	[IKE_FAIL_AUTH_REFUSED] = "authentication refused by the peer "
				  "(PSK or local_id)",
};

const char *
ike_sa_state_name(enum ike_sa_state s)
{
	return (unsigned)s <= IKE_SA_NONE ? sa_state_names[s] : "?";
}

const char *
ike_child_state_name(enum ike_child_state s)
{
	return (unsigned)s <= IKE_CHILD_NONE ? child_state_names[s] : "?";
}

const char *
ike_failure_text(enum ike_failure f)
{
	return (unsigned)f <= IKE_FAIL_AUTH_REFUSED ? failure_texts[f] : "?";
}

void
ike_failure_describe(enum ike_failure f, uint32_t arg, char *buf, size_t len)
{
	if (f == IKE_FAIL_NOTIFY)
		snprintf(buf, len, "%s (type %u)", ike_failure_text(f), arg);
	else
		snprintf(buf, len, "%s", ike_failure_text(f));
}

/* --- the book: pure -------------------------------------------------------- */

bool
ike_sa_alive(enum ike_sa_state s)
{
	return s == IKE_SA_CREATED || s == IKE_SA_CONNECTING ||
	       s == IKE_SA_ESTABLISHED || s == IKE_SA_PASSIVE ||
	       s == IKE_SA_REKEYING;
}

bool
ike_child_carries(enum ike_child_state s)
{
	return s == IKE_CHILD_INSTALLED || s == IKE_CHILD_UPDATING ||
	       s == IKE_CHILD_REKEYING || s == IKE_CHILD_REKEYED;
}

bool
ike_child_final(enum ike_child_state s)
{
	return s == IKE_CHILD_DELETING || s == IKE_CHILD_DELETED ||
	       s == IKE_CHILD_DESTROYING;
}

struct ike_book_sa *
ike_book_find_sa(struct ike_book *b, uint32_t id)
{
	for (size_t i = 0; i < b->n_ike; i++)
		if (b->ike[i].id == id)
			return &b->ike[i];
	return NULL;
}

static struct ike_book_child *
book_child(struct ike_book *b, uint32_t id)
{
	for (size_t i = 0; i < b->n_child; i++)
		if (b->child[i].id == id)
			return &b->child[i];
	return NULL;
}

static void
book_drop_sa(struct ike_book *b, size_t i)
{
	memmove(&b->ike[i], &b->ike[i + 1], (b->n_ike - i - 1) * sizeof(b->ike[0]));
	b->n_ike--;
}

static void
book_drop_child(struct ike_book *b, size_t i)
{
	memmove(&b->child[i], &b->child[i + 1],
		(b->n_child - i - 1) * sizeof(b->child[0]));
	b->n_child--;
}

/* Room for one more SA: the oldest one that is no longer alive goes (or,
 * should every one be alive, the oldest). */
static struct ike_book_sa *
book_new_sa(struct ike_book *b, uint32_t id)
{
	struct ike_book_sa *sa;

	if (b->n_ike == IKE_BOOK_MAX) {
		size_t victim = 0;

		for (size_t i = 0; i < b->n_ike; i++)
			if (!ike_sa_alive(b->ike[i].state)) {
				victim = i;
				break;
			}
		book_drop_sa(b, victim);
	}
	sa = &b->ike[b->n_ike++];
	memset(sa, 0, sizeof(*sa));
	sa->id = id;
	return sa;
}

static struct ike_book_child *
book_new_child(struct ike_book *b, uint32_t id)
{
	struct ike_book_child *c;

	if (b->n_child == IKE_BOOK_MAX) {
		size_t victim = 0;

		for (size_t i = 0; i < b->n_child; i++)
			if (!ike_child_carries(b->child[i].state)) {
				victim = i;
				break;
			}
		book_drop_child(b, victim);
	}
	c = &b->child[b->n_child++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	return c;
}

void
ike_book_apply(struct ike_book *b, const struct ike_event *ev)
{
	struct ike_book_sa *sa;
	struct ike_book_child *c;

	switch (ev->kind) {
	case IKE_EV_IKE_STATE:
		sa = ike_book_find_sa(b, ev->ike_id);
		if (ev->state == IKE_SA_DESTROYING) {
			/* The SA and, with it, its CHILD SAs are gone. */
			if (sa)
				book_drop_sa(b, (size_t)(sa - b->ike));
			for (size_t i = b->n_child; i-- > 0;)
				if (b->child[i].ike_id == ev->ike_id)
					book_drop_child(b, i);
			break;
		}
		if (sa == NULL)
			sa = book_new_sa(b, ev->ike_id);
		sa->state = (enum ike_sa_state)ev->state;
		if (sa->state == IKE_SA_ESTABLISHED) {
			sa->was_up = true;
			sa->info = ev->info;
		}
		break;
	case IKE_EV_CHILD_STATE:
		c = book_child(b, ev->child_id);
		if (ev->state == IKE_CHILD_DESTROYING) {
			if (c)
				book_drop_child(b, (size_t)(c - b->child));
			break;
		}
		if (c == NULL)
			c = book_new_child(b, ev->child_id);
		c->ike_id = ev->ike_id;
		c->state = (enum ike_child_state)ev->state;
		if (c->state == IKE_CHILD_INSTALLED)
			c->info = ev->info;
		break;
	case IKE_EV_IKE_REKEYED:
		/* The new SA took the old one's CHILD SAs over. */
		if ((sa = ike_book_find_sa(b, ev->arg)) != NULL) {
			sa->info = ev->info;
			sa->was_up = true;
		}
		for (size_t i = 0; i < b->n_child; i++)
			if (b->child[i].ike_id == ev->ike_id)
				b->child[i].ike_id = ev->arg;
		break;
	case IKE_EV_CHILD_REKEYED:
		if ((c = book_child(b, ev->arg)) != NULL)
			c->info = ev->info;
		break;
	case IKE_EV_MESSAGE:
	case IKE_EV_FAILURE:
	case IKE_EV_INITIATED:
		break;
	}
}

enum ike_link
ike_book_link(const struct ike_book *b)
{
	for (size_t i = 0; i < b->n_child; i++)
		if (ike_child_carries(b->child[i].state))
			return IKE_LINK_UP;
	return IKE_LINK_DOWN;
}

bool
ike_book_alive(const struct ike_book *b)
{
	for (size_t i = 0; i < b->n_ike; i++)
		if (!b->ike[i].retired && ike_sa_alive(b->ike[i].state))
			return true;
	return false;
}

const struct ike_book_sa *
ike_book_current(const struct ike_book *b)
{
	const struct ike_book_sa *best = NULL;

	for (size_t i = 0; i < b->n_ike; i++) {
		const struct ike_book_sa *sa = &b->ike[i];

		if (sa->retired)
			continue;
		if (best == NULL ||
		    (sa->state == IKE_SA_ESTABLISHED) > (best->state == IKE_SA_ESTABLISHED) ||
		    ((sa->state == IKE_SA_ESTABLISHED) == (best->state == IKE_SA_ESTABLISHED) &&
		     sa->id > best->id))
			best = sa;
	}
	return best;
}

const struct ike_book_child *
ike_book_current_child(const struct ike_book *b)
{
	const struct ike_book_child *best = NULL;

	for (size_t i = 0; i < b->n_child; i++) {
		const struct ike_book_child *c = &b->child[i];
		bool cc = ike_child_carries(c->state);

		if (best == NULL || cc > ike_child_carries(best->state) ||
		    (cc == ike_child_carries(best->state) && c->id > best->id))
			best = c;
	}
	return best;
}
