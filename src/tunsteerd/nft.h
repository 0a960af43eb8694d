/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Owner of our nftables table (KERNEL_NFT_TABLE).  Applies a desired
 * nft_state: element by element when only set contents changed (a reload
 * that changes one prefix touches one element), otherwise by replacing
 * the whole table in one transaction (never a moment without rules).
 * Repairs the table when someone else changed it.
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
 * replaces the table whole.
 */
int nft_sync_apply(struct nft_sync *s, const struct nft_state *want,
		   unsigned int *changes) __attribute__((warn_unused_result));

/*
 * After another process committed an nftables change: if our table no
 * longer reads back as we left it, put it back.  The first check after
 * one of our own changes has nothing to compare with and re-asserts the
 * table whole (one atomic replace); later checks compare.  Returns 1 if it
 * found and repaired a change, 0 if not, or a negative errno.
 */
int nft_sync_check(struct nft_sync *s) __attribute__((warn_unused_result));

/* Delete our table (clean shutdown). */
int nft_sync_flush(struct nft_sync *s) __attribute__((warn_unused_result));

/* The full script that creates @ns from nothing (for -nv and tests). */
char *nft_script_full(const struct nft_state *ns);

#endif
