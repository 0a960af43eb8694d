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
 *
 * What the machine calls a probe is a round (struct health_round): one
 * echo per family the tunnel is probed with (probe.family), all of one
 * sequence number.  With "both" a round is answered only when both
 * families' answers came in time, and lost when either was lost, so a
 * tunnel whose IPv6 path is broken goes degraded and down exactly as
 * that loss would take an IPv4-only tunnel there; its RTT is the slower
 * answer's.
 */
#ifndef TUNSTEER_HEALTH_H
#define TUNSTEER_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "tunsteerd/config.h"

#define HEALTH_WINDOW 20		/* probes the loss and RTT rules look at */
#define HEALTH_PENALTY_DEGRADED 500000u
#define HEALTH_PENALTY_DOWN 1000000u

/* The families of a round, indexes of the per-family counters. */
enum health_family {
	HEALTH_IPV4,
	HEALTH_IPV6,
	HEALTH_FAMILIES
};

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
	uint64_t sent, answered;	/* rounds, since start */
	/* Per family (enum health_family), since start: its probes judged
	 * and answered (a round of "both" counts once in each), and how
	 * many of its probes in a row were lost, for the reason. */
	uint64_t fam_sent[HEALTH_FAMILIES], fam_answered[HEALTH_FAMILIES];
	unsigned int fam_lost_run[HEALTH_FAMILIES];
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
 * One probe round: which families it sent (bits 1 << enum health_family)
 * and what became of each so far.  Pure bookkeeping of the prober's,
 * judged by health_feed_round() once complete.
 */
struct health_round {
	uint8_t want;			/* the families probed */
	uint8_t done;			/* ... judged (answered, lost, unjudged) */
	uint8_t lost;			/* ... lost */
	bool unjudged;			/* one could not be judged (our loop was
					 * late, probe.c): the round is dropped */
	uint32_t rtt_us;		/* the slowest answer */
};

enum health_outcome {
	HEALTH_ANSWERED,
	HEALTH_LOST,
	HEALTH_UNJUDGED,
};

/* A new round of the families of @fam. */
void health_round_start(struct health_round *r, enum probe_family fam);

/*
 * Family @f of round @r came out as @o (with its RTT when answered).
 * Returns true when that completes the round: every family it probes is
 * judged.  A family it does not probe, or one judged already, changes
 * nothing (false).
 */
bool health_round_note(struct health_round *r, enum health_family f,
		       enum health_outcome o, uint32_t rtt_us);

/*
 * A complete round @r at @now_ms: counted per family, then fed to
 * health_feed() as one probe, answered only if no family was lost, with
 * the slowest answer's RTT (an unjudged round is neither).  A tunnel of
 * two families that goes down on losses of one of them alone says so in
 * its reason ("3 probes lost in a row (ipv6 only)").  Returns the state
 * before, as health_feed().
 */
enum health_state health_feed_round(struct health *h,
				    const struct health_round *r,
				    uint64_t now_ms);

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
