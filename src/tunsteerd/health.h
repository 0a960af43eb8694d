/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-tunnel health from probe outcomes: a state machine fed only by
 * events (a probe answered with its RTT, or lost), so tests drive it with
 * synthetic results and no clock.
 *
 *   init ──answer──▶ up ◀──────────────┐
 *    │               │ ▲               │ up_after answers in a row
 *    │  loss or RTT  ▼ │ below limits  │ and holddown_ms since down
 *    │           degraded              │
 *    │               │                 │
 *    └─down_after lost in a row──▶ down ┘
 *
 * A second input is the provider's own health checks (passive.c): while
 * they are missing, the tunnel is held at most degraded (up becomes
 * degraded, down stays down); when they are back, the probes alone
 * decide again.
 *
 * A third, for ipsec tunnels: whether a CHILD_SA is installed (ike.c's
 * link).  Without one nothing can pass, so the tunnel is down at once,
 * whatever the probes said last; when one is installed again the tunnel
 * comes back only as any down tunnel does (up_after answers in a row
 * and holddown_ms since it went down).
 *
 * Fast down, slow up.  Steering ranks tunnels as the provider ranks its
 * routes: degraded adds 500,000 to a tunnel's priority, down adds
 * 1,000,000, and a route is never removed for being unhealthy.
 */
#ifndef TUNSTEER_HEALTH_H
#define TUNSTEER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "tunsteerd/config.h"

#define HEALTH_WINDOW 20		/* probes the loss and RTT rules look at */
#define HEALTH_PENALTY_DEGRADED 500000u
#define HEALTH_PENALTY_DOWN 1000000u

enum health_state {
	HEALTH_INIT,
	HEALTH_UP,
	HEALTH_DEGRADED,
	HEALTH_DOWN,
};

struct health {
	struct config_probe cfg;
	enum health_state state;
	unsigned int ok_run, lost_run;	/* consecutive outcomes */
	uint64_t down_since_ms;
	/* The last HEALTH_WINDOW outcomes; rtt_us 0 for a lost probe. */
	bool ok[HEALTH_WINDOW];
	uint32_t rtt_us[HEALTH_WINDOW];
	unsigned int n, pos;
	uint32_t last_rtt_us;
	uint64_t sent, answered;	/* since start */
	uint64_t entered[4];		/* transitions into each state */
	bool checks_missing;		/* the provider's checks stopped */
	bool sa_missing;		/* ipsec: no CHILD_SA installed */
	char reason[96];		/* why the last transition happened */
};

void health_init(struct health *h, const struct config_probe *cfg);

/*
 * One probe outcome at @now_ms (monotonic).  Returns the state before;
 * compare with h->state to see a transition, whose cause is h->reason.
 */
enum health_state health_feed(struct health *h, bool answered,
			      uint32_t rtt_us, uint64_t now_ms);

/*
 * The provider's health checks went missing (@missing) or came back, at
 * @now_ms.  Returns the state before, as health_feed().  Repeating the
 * current condition changes nothing.
 */
enum health_state health_checks(struct health *h, bool missing,
				uint64_t now_ms);

/*
 * Ipsec tunnels: no CHILD_SA is installed (@missing), or one is again, at
 * @now_ms.  Missing takes the tunnel down at once with the reason
 * HEALTH_NO_CHILD_SA; back changes no state (answers bring it up, as
 * health_feed() decides).  Returns the state before, as health_feed().
 * Repeating the current condition changes nothing.
 */
#define HEALTH_NO_CHILD_SA "no CHILD_SA installed"
enum health_state health_sa(struct health *h, bool missing, uint64_t now_ms);

/* Loss over the window in percent, mean RTT and jitter (mean absolute
 * difference of consecutive RTTs) in microseconds. */
unsigned int health_loss_pct(const struct health *h);
uint32_t health_rtt_us(const struct health *h);
uint32_t health_jitter_us(const struct health *h);

const char *health_state_name(enum health_state s);
/* What this state adds to a tunnel's configured priority. */
uint32_t health_penalty(enum health_state s);

#endif
