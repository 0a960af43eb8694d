/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's nftables table (EDGE_NFT_TABLE), as script text:
 *
 *   prerouting (mangle)  jump steer; a ct expression, so that the
 *                        namespace reassembles fragments before anything
 *                        else sees them (the provider forwards only what it
 *                        could reassemble; incomplete sets time out)
 *   steer                per destination prefix, longest first: the
 *                        packet's fwmark from `jhash … mod N` over the ECMP
 *                        set; replaced whole (flush + add, one
 *                        transaction) when a set changes
 *   forward (filter)     egress: sources outside the customer's authorized
 *                        prefixes dropped and counted per tunnel; the
 *                        firewall chains; per-tunnel counters of what was
 *                        forwarded each way
 *   fw_ingress, fw_egress   the configured rules, first match wins
 *
 * Named counters (they survive the steer chain's replacement): ing_<i>,
 * egr_<i> (forwarded toward / from the customer through tunnel i),
 * unauth_<i> (egress dropped for its source), fw_<j> (firewall rule j).
 */
#ifndef TUNSTEER_EDGE_NFT_H
#define TUNSTEER_EDGE_NFT_H

#include "edge/edge_config.h"
#include "edge/edge_steer.h"

/* The whole table, replacing any previous one in the same transaction.
 * malloc'd; NULL with *@err on failure. */
char *edge_nft_table(const struct edge_config *c, const struct steer *s, int *err);

/* Only the steer chain's new contents, as one transaction. */
char *edge_nft_steer(const struct edge_config *c, const struct steer *s, int *err);

/* "delete table …" (shutdown). */
char *edge_nft_delete(int *err);

#endif
