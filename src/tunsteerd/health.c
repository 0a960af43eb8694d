/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "tunsteerd/health.h"

void
health_init(struct health *h, const struct config_probe *cfg)
{
	memset(h, 0, sizeof(*h));
	h->cfg = *cfg;
	h->state = HEALTH_INIT;
}

static void
record(struct health *h, bool ok, uint32_t rtt_us)
{
	h->ok[h->pos] = ok;
	h->rtt_us[h->pos] = ok ? rtt_us : 0;
	h->pos = (h->pos + 1) % HEALTH_WINDOW;
	if (h->n < HEALTH_WINDOW)
		h->n++;
}

/* The i-th outcome of the window, oldest first. */
static unsigned int
slot(const struct health *h, unsigned int i)
{
	return (h->pos + HEALTH_WINDOW - h->n + i) % HEALTH_WINDOW;
}

unsigned int
health_loss_pct(const struct health *h)
{
	unsigned int lost = 0;

	if (h->n == 0)
		return 0;
	for (unsigned int i = 0; i < h->n; i++)
		lost += !h->ok[slot(h, i)];
	return lost * 100 / h->n;
}

uint32_t
health_rtt_us(const struct health *h)
{
	uint64_t sum = 0;
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->n; i++)
		if (h->ok[slot(h, i)]) {
			sum += h->rtt_us[slot(h, i)];
			n++;
		}
	return n ? (uint32_t)(sum / n) : 0;
}

uint32_t
health_jitter_us(const struct health *h)
{
	uint64_t sum = 0;
	unsigned int n = 0;
	int prev = -1;

	for (unsigned int i = 0; i < h->n; i++) {
		unsigned int s = slot(h, i);

		if (!h->ok[s])
			continue;
		if (prev >= 0) {
			uint32_t a = h->rtt_us[prev], b = h->rtt_us[s];

			sum += a > b ? a - b : b - a;
			n++;
		}
		prev = (int)s;
	}
	return n ? (uint32_t)(sum / n) : 0;
}

/* Why the window says degraded, or NULL if it does not. */
static const char *
degraded_by(const struct health *h, char *buf, size_t len)
{
	unsigned int loss = health_loss_pct(h);
	uint32_t rtt = health_rtt_us(h);

	if (h->n >= 5 && loss >= h->cfg.degraded_loss_pct) {
		snprintf(buf, len, "loss %u%% >= %u%%", loss, h->cfg.degraded_loss_pct);
		return buf;
	}
	if (h->cfg.degraded_rtt_ms && rtt >= h->cfg.degraded_rtt_ms * 1000u) {
		snprintf(buf, len, "rtt %.1f ms >= %u ms", rtt / 1000.0,
			 h->cfg.degraded_rtt_ms);
		return buf;
	}
	return NULL;
}

/* --- the state machine: one function per (state, event) ----------------- */

enum health_event {
	EV_LOST,		/* a probe went unanswered */
	EV_ANSWER,		/* a probe was answered */
	EV_CHECKS_MISSING,	/* the provider's health checks stopped */
	EV_CHECKS_BACK,		/* …and arrive again */
	EV_SA_MISSING,		/* ipsec: no CHILD_SA installed */
	EV_SA_BACK,		/* …and one is again */
	EV_COUNT
};

#define CHECKS_MISSING "provider health checks missing"

typedef enum health_state (*health_action)(struct health *h, uint64_t now);

static enum health_state
go_down_if_run(struct health *h, uint64_t now)
{
	if (h->lost_run < h->cfg.down_after)
		return h->state;
	h->down_since_ms = now;
	snprintf(h->reason, sizeof(h->reason), "%u probes lost in a row",
		 h->lost_run);
	/* Recovery is judged on fresh answers, not on the outage. */
	h->n = h->pos = 0;
	return HEALTH_DOWN;
}

static enum health_state
on_lost_up(struct health *h, uint64_t now)
{
	char b[64];
	const char *why;
	enum health_state s = go_down_if_run(h, now);

	if (s == HEALTH_DOWN || h->state == HEALTH_DEGRADED)
		return s;
	if ((why = degraded_by(h, b, sizeof(b))) != NULL) {
		snprintf(h->reason, sizeof(h->reason), "%s", why);
		return HEALTH_DEGRADED;
	}
	return h->state;
}

/* Where answers alone would take the tunnel (@to), capped at degraded
 * while the provider's checks are missing. */
static enum health_state
capped(struct health *h, enum health_state to)
{
	if (to != HEALTH_UP || !h->checks_missing)
		return to;
	snprintf(h->reason, sizeof(h->reason), CHECKS_MISSING);
	return HEALTH_DEGRADED;
}

static enum health_state
on_answer_init(struct health *h, uint64_t now)
{
	snprintf(h->reason, sizeof(h->reason), "first answer");
	return capped(h, HEALTH_UP);
}

static enum health_state
on_answer_up(struct health *h, uint64_t now)
{
	char b[64];
	const char *why = degraded_by(h, b, sizeof(b));

	if (why) {
		snprintf(h->reason, sizeof(h->reason), "%s", why);
		return HEALTH_DEGRADED;
	}
	return capped(h, HEALTH_UP);
}

static enum health_state
on_answer_degraded(struct health *h, uint64_t now)
{
	char b[64];

	if (degraded_by(h, b, sizeof(b)) || h->checks_missing)
		return HEALTH_DEGRADED;
	snprintf(h->reason, sizeof(h->reason), "loss and rtt back within limits");
	return HEALTH_UP;
}

static enum health_state
on_answer_down(struct health *h, uint64_t now)
{
	char b[64];

	/* An answer cannot have crossed a tunnel without an SA; whatever
	 * it was, it does not count towards coming back. */
	if (h->sa_missing) {
		h->ok_run = 0;
		return HEALTH_DOWN;
	}
	if (h->ok_run < h->cfg.up_after ||
	    now - h->down_since_ms < h->cfg.holddown_ms)
		return HEALTH_DOWN;
	snprintf(h->reason, sizeof(h->reason), "%u answers in a row after "
		 "%.1f s down", h->ok_run, (now - h->down_since_ms) / 1000.0);
	return degraded_by(h, b, sizeof(b)) ? HEALTH_DEGRADED :
					      capped(h, HEALTH_UP);
}

/* Up, and the provider no longer checks us: it sees the tunnel down (or
 * has its checks off) and penalises its routes into it. */
static enum health_state
on_checks_missing_up(struct health *h, uint64_t now)
{
	return capped(h, HEALTH_UP);
}

/* Degraded, and the checks are back: up unless the probes say otherwise. */
static enum health_state
on_checks_back_degraded(struct health *h, uint64_t now)
{
	char b[64];

	if (degraded_by(h, b, sizeof(b)))
		return HEALTH_DEGRADED;
	snprintf(h->reason, sizeof(h->reason), "provider health checks back");
	return HEALTH_UP;
}

/* No CHILD_SA: nothing passes, so down now rather than after down_after
 * probes have been lost.  The window is restarted as for any way down:
 * recovery is judged on answers through the new SA. */
static enum health_state
on_sa_missing(struct health *h, uint64_t now)
{
	snprintf(h->reason, sizeof(h->reason), HEALTH_NO_CHILD_SA);
	h->ok_run = 0;
	h->n = h->pos = 0;
	if (h->state != HEALTH_DOWN)
		h->down_since_ms = now;
	return HEALTH_DOWN;
}

/* A CHILD_SA again: answers counted from now on bring the tunnel back
 * through the usual up_after and holddown_ms (on_answer_down()). */
static enum health_state
on_sa_back(struct health *h, uint64_t now)
{
	h->ok_run = 0;
	return h->state;
}

static enum health_state
stay(struct health *h, uint64_t now)
{
	return h->state;
}

/*
 * [state][event].  Init waits for the probes even while the checks are
 * missing (it lasts at most down_after probes); down stays down whatever
 * the checks do: only answers bring a tunnel back.  A missing CHILD_SA
 * takes every state down at once, and its return changes no state.
 */
static const health_action transitions[4][EV_COUNT] = {
	[HEALTH_INIT] = { go_down_if_run, on_answer_init, stay, stay,
			  on_sa_missing, on_sa_back },
	[HEALTH_UP] = { on_lost_up, on_answer_up, on_checks_missing_up, stay,
			on_sa_missing, on_sa_back },
	[HEALTH_DEGRADED] = { on_lost_up, on_answer_degraded, stay,
			      on_checks_back_degraded, on_sa_missing,
			      on_sa_back },
	[HEALTH_DOWN] = { stay, on_answer_down, stay, stay, on_sa_missing,
			  on_sa_back },
};

enum health_state
health_feed(struct health *h, bool answered, uint32_t rtt_us, uint64_t now_ms)
{
	enum health_state old = h->state;

	h->sent++;
	if (answered) {
		h->answered++;
		h->ok_run++;
		h->lost_run = 0;
		h->last_rtt_us = rtt_us;
	} else {
		h->lost_run++;
		h->ok_run = 0;
	}
	record(h, answered, rtt_us);
	h->state = transitions[old][answered ? EV_ANSWER : EV_LOST](h, now_ms);
	h->entered[h->state] += h->state != old;
	return old;
}

void
health_round_start(struct health_round *r, enum probe_family fam)
{
	*r = (struct health_round){ 0 };
	if (probe_family_v4(fam))
		r->want |= 1u << HEALTH_IPV4;
	if (probe_family_v6(fam))
		r->want |= 1u << HEALTH_IPV6;
}

bool
health_round_note(struct health_round *r, enum health_family f,
		  enum health_outcome o, uint32_t rtt_us)
{
	uint8_t bit;

	if ((unsigned int)f >= HEALTH_FAMILIES)
		return false;
	bit = (uint8_t)(1u << f);
	if (!(r->want & bit) || (r->done & bit))
		return false;
	r->done |= bit;
	if (o == HEALTH_LOST)
		r->lost |= bit;
	else if (o == HEALTH_UNJUDGED)
		r->unjudged = true;
	else if (rtt_us > r->rtt_us)
		r->rtt_us = rtt_us;
	return r->done == r->want;
}

enum health_state
health_feed_round(struct health *h, const struct health_round *r,
		  uint64_t now_ms)
{
	static const char *const names[] = { "ipv4", "ipv6" };
	enum health_state old;

	if (r->unjudged || r->want == 0)
		return h->state;
	for (unsigned int f = 0; f < HEALTH_FAMILIES; f++) {
		if (!(r->want & (1u << f)))
			continue;
		h->fam_sent[f]++;
		if (r->lost & (1u << f)) {
			h->fam_lost_run[f]++;
		} else {
			h->fam_answered[f]++;
			h->fam_lost_run[f] = 0;
		}
	}
	old = health_feed(h, r->lost == 0, r->rtt_us, now_ms);
	/* Down on one family's losses while the other answers: the
	 * operator's first question, answered in the log line. */
	if (h->state == HEALTH_DOWN && old != HEALTH_DOWN &&
	    r->want == (1u << HEALTH_IPV4 | 1u << HEALTH_IPV6)) {
		for (unsigned int f = 0; f < HEALTH_FAMILIES; f++) {
			size_t n = strlen(h->reason);

			if (h->fam_lost_run[f] >= h->lost_run &&
			    h->fam_lost_run[!f] == 0)
				snprintf(h->reason + n, sizeof(h->reason) - n,
					 " (%s only)", names[f]);
		}
	}
	return old;
}

/* An input that is a level (@flag): only a change of it is an event, @on
 * when it becomes true, @off when it becomes false. */
static enum health_state
level(struct health *h, bool *flag, bool now_set, enum health_event on,
      enum health_event off, uint64_t now_ms)
{
	enum health_state old = h->state;

	if (*flag == now_set)
		return old;
	*flag = now_set;
	h->state = transitions[old][now_set ? on : off](h, now_ms);
	h->entered[h->state] += h->state != old;
	return old;
}

enum health_state
health_checks(struct health *h, bool missing, uint64_t now_ms)
{
	return level(h, &h->checks_missing, missing, EV_CHECKS_MISSING,
		     EV_CHECKS_BACK, now_ms);
}

enum health_state
health_sa(struct health *h, bool missing, uint64_t now_ms)
{
	return level(h, &h->sa_missing, missing, EV_SA_MISSING, EV_SA_BACK,
		     now_ms);
}

const char *
health_state_name(enum health_state s)
{
	static const char *const names[] = { "init", "up", "degraded", "down" };

	return (unsigned int)s < 4 ? names[s] : "?";
}

uint32_t
health_penalty(enum health_state s)
{
	switch (s) {
	case HEALTH_DEGRADED:
		return HEALTH_PENALTY_DEGRADED;
	case HEALTH_DOWN:
		return HEALTH_PENALTY_DOWN;
	default:
		return 0;
	}
}
