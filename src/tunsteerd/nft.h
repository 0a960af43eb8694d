/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Owner of our nftables table (KERNEL_NFT_TABLE).  Applies a desired
 * nft_state: element by element when only set contents changed (a reload
 * that changes one prefix touches one element), otherwise set contents
 * then chains, each step one transaction (never a moment without rules,
 * never an empty set under a rule).  Repairs the table when someone else
 * changed it, as the nft event socket tells.
 */
#ifndef TUNSTEER_NFT_H
#define TUNSTEER_NFT_H

#include "tunsteerd/desired.h"
#include "lib/kernel.h"

struct nft_sync;

struct nft_sync *nft_sync_create(struct kernel_ops *ops);
void nft_sync_destroy(struct nft_sync *s);

/*
 * Make our table match @want.  @changes, if not NULL, gets the number of
 * nft commands issued (0: already matched).  Returns 0 or a negative
 * errno; on error the last applied state is forgotten, so the next call
 * replaces the table whole, and @want is kept: the table is out of sync
 * (nft_sync_status()) until nft_sync_check() or another apply succeeds.
 */
int nft_sync_apply(struct nft_sync *s, const struct nft_state *want,
		   unsigned int *changes) __attribute__((warn_unused_result));

/*
 * Read the nft event socket (kernel_ops.nft_monitor_drain): returns 1 if
 * other processes changed something in our table since the last check
 * (remembered for nft_sync_check()), 0 if not.  Commits elsewhere in the
 * ruleset cost nothing more.
 */
int nft_sync_drain(struct nft_sync *s);

/*
 * Repair what nft_sync_drain() saw: if only elements of some sets
 * changed, put back those sets' content (nothing else), in one
 * transaction; if anything else changed
 * (rules, chains, sets, the table) or events were lost, re-apply the
 * whole table.  Nothing to repair: nothing read, nothing listed.  Out of
 * sync (a failed apply), it retries that apply instead.  Returns 1 if it
 * repaired something or a retry took, 0 if nothing was to do, or a
 * negative errno (out of sync: call again later, backing off).
 */
int nft_sync_check(struct nft_sync *s) __attribute__((warn_unused_result));

/* Whether the kernel has the table we last asked for; if not, why (the
 * last error), after how many failed attempts in a row, and for how long. */
struct nft_sync_status {
	bool in_sync;
	int err;			/* negative errno of the last failure */
	unsigned int failures;
	uint64_t out_of_sync_ms;
};
void nft_sync_status(const struct nft_sync *s, struct nft_sync_status *st);

/* Delete our table (clean shutdown). */
int nft_sync_flush(struct nft_sync *s) __attribute__((warn_unused_result));

/* The full script that creates @ns from nothing (for -nv and tests). */
char *nft_script_full(const struct nft_state *ns);

#endif
