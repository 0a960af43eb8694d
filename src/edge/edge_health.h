/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The provider's tunnel health state machine, per tunnel and per edge
 * server, as its documentation states it (PROVIDER.md section 1):
 *
 *   healthy ──≥0.1 % of the checks of the last 5 min failed (≥2)──▶ degraded
 *      │                                                               │
 *      │ every check of the last 1 s failed (≥3 samples)               │ same
 *      ▼                                                               ▼
 *    down ──3 successes in a row, ≥min_state in down──▶ degraded ──▶ healthy
 *                                        last 30 checks <0.1 % failed,
 *                                        ≥min_state in degraded
 *
 * Down takes precedence over degraded and is immediate, as is degraded;
 * a down tunnel passes through degraded on its way back.  Route penalties:
 * +500,000 degraded, +1,000,000 down.
 *
 * Pure: fed only check results with the time they were known, so a unit
 * test drives it with synthetic time.  It also says when the sender should
 * "quickly probe up to 2 more times": after a failed check of a tunnel
 * that is not down, and after a successful check of a down tunnel.
 *
 * Two choices the provider leaves open (man/tunsteer-edge.8 marks them as
 * inference): the minimum time counts from entering the current state,
 * and a tunnel that becomes healthy starts a fresh 5-minute window (the
 * failures that made it degraded would otherwise degrade it again at
 * once).
 */
#ifndef TUNSTEER_EDGE_HEALTH_H
#define TUNSTEER_EDGE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#define EH_DOWN_WINDOW_MS 1000		/* "in the last 1 s" */
#define EH_DOWN_MIN_SAMPLES 3		/* "over at least 3 samples" */
#define EH_DEGRADED_WINDOW_S 300	/* "in the previous 5 min" */
#define EH_DEGRADED_MIN_FAILURES 2	/* "with at least 2 failures" */
#define EH_DEGRADED_PER_MILLE 1		/* "at least 0.1 %" */
#define EH_UP_SUCCESSES 3		/* down → degraded */
#define EH_HEALTHY_PROBES 30		/* degraded → healthy */
#define EH_PENALTY_DEGRADED 500000u
#define EH_PENALTY_DOWN 1000000u
#define EH_RING 256			/* recent checks kept one by one */

enum eh_state {
	EH_HEALTHY,
	EH_DEGRADED,
	EH_DOWN,
};

struct eh_sample {
	uint64_t t_ms;
	bool ok;
};

struct edge_health {
	unsigned int min_state_ms;	/* least time degraded or down */
	unsigned int retries;		/* quick retries per failed check */
	enum eh_state state;
	uint64_t since_ms;		/* when the current state began */
	unsigned int ok_run;		/* successes in a row */
	unsigned int retries_left;	/* of the current retry chain */
	struct eh_sample ring[EH_RING];	/* newest at pos - 1 */
	unsigned int n, pos;
	/* Per-second totals of the 5-minute window. */
	struct {
		uint64_t sec;
		uint32_t total, failed;
	} bucket[EH_DEGRADED_WINDOW_S];
	uint64_t checks, failures, transitions;	/* since start */
	uint64_t last_ms;		/* time of the last result */
	char reason[112];		/* why the last transition happened */
};

/* A tunnel starts healthy (its routes are in use until checks say
 * otherwise) at @now_ms. */
void edge_health_init(struct edge_health *h, unsigned int min_state_ms,
		      unsigned int retries, uint64_t now_ms);

/*
 * One check result, known at @now_ms (monotonic, never decreasing).
 * @is_retry says whether it was a quick retry.  *@old gets the state
 * before; compare with h->state for a transition, whose cause is
 * h->reason.  Returns true when the caller should send a quick retry now.
 */
bool edge_health_feed(struct edge_health *h, bool ok, bool is_retry,
		      uint64_t now_ms, enum eh_state *old);

/* Checks and failures in the 5-minute window ending at @now_ms. */
void edge_health_window(const struct edge_health *h, uint64_t now_ms,
			uint32_t *total, uint32_t *failed);

const char *edge_health_state_name(enum eh_state s);
/* 1, 0.5, 0: the provider's analytics value (tunnelState). */
double edge_health_state_value(enum eh_state s);
uint32_t edge_health_penalty(enum eh_state s);

#endif
