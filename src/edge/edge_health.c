/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "edge/edge_health.h"

void
edge_health_init(struct edge_health *h, unsigned int min_state_ms,
		 unsigned int retries, uint64_t now_ms)
{
	memset(h, 0, sizeof(*h));
	h->min_state_ms = min_state_ms;
	h->retries = retries;
	h->state = EH_HEALTHY;
	h->since_ms = now_ms;
	h->last_ms = now_ms;
}

static void
record(struct edge_health *h, bool ok, uint64_t now)
{
	uint64_t sec = now / 1000;
	unsigned int b = (unsigned int)(sec % EH_DEGRADED_WINDOW_S);

	h->ring[h->pos] = (struct eh_sample){ now, ok };
	h->pos = (h->pos + 1) % EH_RING;
	if (h->n < EH_RING)
		h->n++;
	if (h->bucket[b].sec != sec || (h->bucket[b].total == 0)) {
		h->bucket[b].sec = sec;
		h->bucket[b].total = h->bucket[b].failed = 0;
	}
	h->bucket[b].total++;
	h->bucket[b].failed += !ok;
	h->checks++;
	h->failures += !ok;
	h->last_ms = now;
}

/* The i-th newest sample (0: the newest). */
static const struct eh_sample *
newest(const struct edge_health *h, unsigned int i)
{
	return &h->ring[(h->pos + EH_RING - 1 - i) % EH_RING];
}

void
edge_health_window(const struct edge_health *h, uint64_t now_ms,
		   uint32_t *total, uint32_t *failed)
{
	uint64_t sec = now_ms / 1000;

	*total = *failed = 0;
	for (unsigned int b = 0; b < EH_DEGRADED_WINDOW_S; b++)
		if (h->bucket[b].total && h->bucket[b].sec <= sec &&
		    h->bucket[b].sec + EH_DEGRADED_WINDOW_S > sec) {
			*total += h->bucket[b].total;
			*failed += h->bucket[b].failed;
		}
}

/* "Every check failed, over at least 3 samples in the last 1 s." */
static bool
down_rule(struct edge_health *h, uint64_t now)
{
	unsigned int n = 0;

	for (; n < h->n; n++) {
		const struct eh_sample *s = newest(h, n);

		if (s->t_ms + EH_DOWN_WINDOW_MS <= now)
			break;
		if (s->ok)
			return false;
	}
	if (n < EH_DOWN_MIN_SAMPLES)
		return false;
	snprintf(h->reason, sizeof(h->reason), "all %u checks of the last "
		 "1 s failed", n);
	return true;
}

/* "At least 0.1 % of checks failed in the previous 5 min, with at least
 * 2 failures." */
static bool
degraded_rule(struct edge_health *h, uint64_t now)
{
	uint32_t total, failed;

	edge_health_window(h, now, &total, &failed);
	if (failed < EH_DEGRADED_MIN_FAILURES ||
	    (uint64_t)failed * 1000 < (uint64_t)total * EH_DEGRADED_PER_MILLE)
		return false;
	snprintf(h->reason, sizeof(h->reason), "%u of %u checks of the last "
		 "5 min failed (%.2f %%)", failed, total, 100.0 * failed / total);
	return true;
}

/* "Failure rate over the previous 30 probes below 0.1 %": with 30 that
 * is none at all. */
static bool
clean_run(const struct edge_health *h)
{
	unsigned int failed = 0;

	if (h->n < EH_HEALTHY_PROBES)
		return false;
	for (unsigned int i = 0; i < EH_HEALTHY_PROBES; i++)
		failed += !newest(h, i)->ok;
	return (uint64_t)failed * 1000 < (uint64_t)EH_HEALTHY_PROBES *
					 EH_DEGRADED_PER_MILLE;
}

static bool
held_long_enough(const struct edge_health *h, uint64_t now)
{
	return now - h->since_ms >= h->min_state_ms;
}

/* --- the table: one action per (state, result) -------------------------- */

typedef enum eh_state (*eh_action)(struct edge_health *h, uint64_t now);

static enum eh_state
stay(struct edge_health *h, uint64_t now)
{
	return h->state;
}

static enum eh_state
healthy_failed(struct edge_health *h, uint64_t now)
{
	if (down_rule(h, now))
		return EH_DOWN;		/* takes precedence */
	if (degraded_rule(h, now))
		return EH_DEGRADED;
	return EH_HEALTHY;
}

static enum eh_state
degraded_failed(struct edge_health *h, uint64_t now)
{
	return down_rule(h, now) ? EH_DOWN : EH_DEGRADED;
}

static enum eh_state
degraded_ok(struct edge_health *h, uint64_t now)
{
	if (!clean_run(h) || !held_long_enough(h, now))
		return EH_DEGRADED;
	snprintf(h->reason, sizeof(h->reason), "last %u checks passed after "
		 "%.1f s degraded", EH_HEALTHY_PROBES,
		 (double)(now - h->since_ms) / 1000.0);
	/* A fresh 5-minute window: the failures that made it degraded must
	 * not degrade it again at once. */
	memset(h->bucket, 0, sizeof(h->bucket));
	return EH_HEALTHY;
}

static enum eh_state
down_ok(struct edge_health *h, uint64_t now)
{
	if (h->ok_run < EH_UP_SUCCESSES || !held_long_enough(h, now))
		return EH_DOWN;
	snprintf(h->reason, sizeof(h->reason), "%u checks in a row passed "
		 "after %.1f s down", h->ok_run,
		 (double)(now - h->since_ms) / 1000.0);
	return EH_DEGRADED;	/* never straight to healthy */
}

/* [state][ok] */
static const eh_action transitions[3][2] = {
	[EH_HEALTHY] = { healthy_failed, stay },
	[EH_DEGRADED] = { degraded_failed, degraded_ok },
	[EH_DOWN] = { stay, down_ok },
};

bool
edge_health_feed(struct edge_health *h, bool ok, bool is_retry,
		 uint64_t now_ms, enum eh_state *oldp)
{
	enum eh_state old = h->state;
	bool more;

	h->ok_run = ok ? h->ok_run + 1 : 0;
	record(h, ok, now_ms);
	h->state = transitions[old][ok](h, now_ms);
	if (h->state != old) {
		h->since_ms = now_ms;
		h->transitions++;
	}
	if (oldp)
		*oldp = old;

	/* "When a probe to a healthy tunnel fails, that server quickly
	 * probes up to 2 more times … likewise when a down tunnel's probe
	 * succeeds."  Degraded counts as not down here: without retries a
	 * 1-s probe interval could never show 3 failed samples in 1 s. */
	if (!is_retry)
		h->retries_left = h->retries;
	more = ok ? old == EH_DOWN : old != EH_DOWN;
	if (!more || h->retries_left == 0)
		return false;
	h->retries_left--;
	return true;
}

const char *
edge_health_state_name(enum eh_state s)
{
	static const char *const names[] = { "healthy", "degraded", "down" };

	return (unsigned int)s < 3 ? names[s] : "?";
}

double
edge_health_state_value(enum eh_state s)
{
	return s == EH_HEALTHY ? 1.0 : s == EH_DEGRADED ? 0.5 : 0.0;
}

uint32_t
edge_health_penalty(enum eh_state s)
{
	return s == EH_DEGRADED ? EH_PENALTY_DEGRADED :
	       s == EH_DOWN ? EH_PENALTY_DOWN : 0;
}
