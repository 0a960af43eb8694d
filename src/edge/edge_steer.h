/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ingress steering toward the customer, as the provider ranks its static
 * routes (PROVIDER.md section 4): a route's effective priority is its
 * priority plus its tunnel's health penalty on this server; per prefix,
 * the routes with the lowest effective priority form the ECMP set; a
 * route is never removed (when every tunnel is down the best of them is
 * still used).  Within the set, a flow is placed by a hash of its source
 * and destination address, plus source and destination port for TCP and
 * UDP, taken modulo the number of next hops (weighted: modulo the sum of
 * the weights, each next hop owning weight consecutive buckets), so a
 * change in the number of next hops moves flows.
 *
 * The hash runs in the kernel: nft's `jhash … mod N seed S` puts each
 * packet's bucket into a map that yields the tunnel's fwmark
 * (edge_nft.c).  This module is pure: it computes the sets from config
 * and health, and predicts the tunnel of a flow with the same hash (Bob
 * Jenkins' lookup3, which nft's jhash is) over the same key layout, so
 * the lab can check that flows go where the hash says.
 *
 * nft reduces the 32-bit hash to N buckets by multiply-shift
 * ((h * N) >> 32) rather than h % N; either is "the hash modulo the
 * number of next hops" in the provider's sense.
 */
#ifndef TUNSTEER_EDGE_STEER_H
#define TUNSTEER_EDGE_STEER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/edge_config.h"
#include "edge/edge_health.h"

/* Ownership marks of tunsteer-edge (DESIGN.md): tunnel i (0-based) has
 * fwmark EDGE_FWMARK_BASE + i + 1, routing table and rule priority
 * EDGE_TABLE_BASE + i + 1. */
#define EDGE_FWMARK_BASE 0x74650000u
#define EDGE_TABLE_BASE 22000u
#define EDGE_TABLE_MAX 22999u
#define EDGE_RTPROT 228
#define EDGE_NFT_TABLE "inet tunsteer_edge"

static inline uint32_t edge_tunnel_fwmark(size_t i)
{ return EDGE_FWMARK_BASE + (uint32_t)i + 1; }
static inline uint32_t edge_tunnel_table(size_t i)
{ return EDGE_TABLE_BASE + (uint32_t)i + 1; }

struct steer_nh {
	size_t tunnel;
	unsigned int slots;		/* weight / gcd of the set's weights */
};

/* One destination prefix and where its traffic goes now. */
struct steer_prefix {
	struct ts_prefix prefix;
	uint64_t best;			/* lowest effective priority */
	struct steer_nh nh[EDGE_ECMP_MAX];	/* in config order */
	size_t n_nh;
	unsigned int modulus;		/* sum of slots */
};

struct steer {
	struct steer_prefix *p;		/* longest prefix first */
	size_t n;
	uint64_t *effective;		/* per config route */
	size_t n_routes;
};

/*
 * Compute the ECMP sets of @c with tunnel i in state @state[i] (NULL: all
 * healthy).  Returns 0 or -ENOMEM (@s left empty).
 */
int edge_steer_build(const struct edge_config *c, const enum eh_state *state,
		     struct steer *s) __attribute__((warn_unused_result));
void edge_steer_free(struct steer *s);

/* Do @a and @b send every flow to the same tunnel? */
bool edge_steer_same(const struct steer *a, const struct steer *b);

/* Bob Jenkins' lookup3 hash of @len bytes, as the kernel's jhash(). */
uint32_t edge_jhash(const uint8_t *key, uint32_t len, uint32_t seed);

struct steer_flow {
	int prefix;			/* index into s->p, -1: no route */
	uint32_t hash, bucket;
	size_t tunnel;
};

/*
 * Where the kernel sends a packet @src → @dst of IP protocol @proto
 * (ports in host order, used only for TCP and UDP).  Returns 0, or
 * -ENOENT when no route covers @dst.
 */
int edge_steer_flow(const struct steer *s, uint32_t seed, struct in_addr src,
		    struct in_addr dst, uint8_t proto, uint16_t sport,
		    uint16_t dport, struct steer_flow *out);
/*
 * The same for hosts @src and @dst of either family (both the same; only
 * their family and address are read).  IPv6 hashes the same fields as
 * nft's `jhash ip6 saddr . ip6 daddr [. th sport . th dport]`: 32 or 40
 * bytes.  -EINVAL when the families differ.
 */
int edge_steer_flow_addr(const struct steer *s, uint32_t seed,
			 const struct ts_prefix *src,
			 const struct ts_prefix *dst, uint8_t proto,
			 uint16_t sport, uint16_t dport, struct steer_flow *out);

#endif
