/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_steer.h"

/* --- lookup3 (Bob Jenkins, public domain), as nft's jhash runs it --------- */

static uint32_t
rot(uint32_t x, unsigned int k)
{
	return (x << k) | (x >> (32 - k));
}

/* Key bytes are taken as little-endian words: what the kernel's
 * unaligned reads give on x86 and what its byte-wise tail does anyway. */
static uint32_t
le32(const uint8_t *k, uint32_t n)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < n && i < 4; i++)
		v |= (uint32_t)k[i] << (8 * i);
	return v;
}

uint32_t
edge_jhash(const uint8_t *k, uint32_t len, uint32_t seed)
{
	uint32_t a, b, c;

	a = b = c = 0xdeadbeefu + len + seed;
	while (len > 12) {
		a += le32(k, 4);
		b += le32(k + 4, 4);
		c += le32(k + 8, 4);
		/* mix */
		a -= c; a ^= rot(c, 4); c += b;
		b -= a; b ^= rot(a, 6); a += c;
		c -= b; c ^= rot(b, 8); b += a;
		a -= c; a ^= rot(c, 16); c += b;
		b -= a; b ^= rot(a, 19); a += c;
		c -= b; c ^= rot(b, 4); b += a;
		len -= 12;
		k += 12;
	}
	if (len == 0)
		return c;
	a += le32(k, len);
	if (len > 4)
		b += le32(k + 4, len - 4);
	if (len > 8)
		c += le32(k + 8, len - 8);
	/* final */
	c ^= b; c -= rot(b, 14);
	a ^= c; a -= rot(c, 11);
	b ^= a; b -= rot(a, 25);
	c ^= b; c -= rot(b, 16);
	a ^= c; a -= rot(c, 4);
	b ^= a; b -= rot(a, 14);
	c ^= b; c -= rot(b, 24);
	return c;
}

/* --- sets ------------------------------------------------------------------ */

static unsigned int
gcd(unsigned int a, unsigned int b)
{
	while (b) {
		unsigned int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Longest prefix first, so the first match is the longest; then by
 * address, so every server orders alike. */
static int
prefix_cmp(const void *x, const void *y)
{
	const struct steer_prefix *a = x, *b = y;

	if (a->prefix.len != b->prefix.len)
		return a->prefix.len > b->prefix.len ? -1 : 1;
	return ts_prefix_cmp(&a->prefix, &b->prefix);
}

void
edge_steer_free(struct steer *s)
{
	free(s->p);
	free(s->effective);
	memset(s, 0, sizeof(*s));
}

int
edge_steer_build(const struct edge_config *c, const enum eh_state *state,
		 struct steer *s)
{
	memset(s, 0, sizeof(*s));
	s->effective = calloc(c->n_routes ? c->n_routes : 1, sizeof(*s->effective));
	s->p = calloc(c->n_routes ? c->n_routes : 1, sizeof(*s->p));
	if (!s->effective || !s->p) {
		edge_steer_free(s);
		return -ENOMEM;
	}
	s->n_routes = c->n_routes;
	for (size_t r = 0; r < c->n_routes; r++) {
		const struct edge_route *rt = &c->routes[r];
		enum eh_state st = state ? state[rt->tunnel] : EH_HEALTHY;
		size_t i;

		s->effective[r] = (uint64_t)rt->priority + edge_health_penalty(st);
		for (i = 0; i < s->n; i++)
			if (ts_prefix_equal(&s->p[i].prefix, &rt->prefix))
				break;
		if (i == s->n) {
			s->p[s->n].prefix = rt->prefix;
			s->p[s->n++].best = UINT64_MAX;
		}
		if (s->effective[r] < s->p[i].best)
			s->p[i].best = s->effective[r];
	}
	for (size_t i = 0; i < s->n; i++) {
		struct steer_prefix *p = &s->p[i];
		unsigned int g = 0;

		for (size_t r = 0; r < c->n_routes; r++) {
			if (!ts_prefix_equal(&c->routes[r].prefix, &p->prefix) ||
			    s->effective[r] != p->best)
				continue;
			/* config validation caps a priority at 64 routes */
			p->nh[p->n_nh].tunnel = c->routes[r].tunnel;
			p->nh[p->n_nh++].slots = c->routes[r].weight;
			g = gcd(g, c->routes[r].weight);
		}
		for (size_t k = 0; k < p->n_nh; k++) {
			p->nh[k].slots /= g;
			p->modulus += p->nh[k].slots;
		}
	}
	qsort(s->p, s->n, sizeof(*s->p), prefix_cmp);
	return 0;
}

bool
edge_steer_same(const struct steer *a, const struct steer *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct steer_prefix *x = &a->p[i], *y = &b->p[i];

		if (!ts_prefix_equal(&x->prefix, &y->prefix) || x->n_nh != y->n_nh)
			return false;
		for (size_t k = 0; k < x->n_nh; k++)
			if (x->nh[k].tunnel != y->nh[k].tunnel ||
			    x->nh[k].slots != y->nh[k].slots)
				return false;
	}
	return true;
}

/* --- one flow ---------------------------------------------------------------- */

static void
put_be16_word(uint8_t *w, uint16_t v)
{
	/* A 2-byte field in a 4-byte nft register: value first, then the
	 * zeros nft_payload leaves in the rest of the register. */
	w[0] = (uint8_t)(v >> 8);
	w[1] = (uint8_t)v;
	w[2] = w[3] = 0;
}

int
edge_steer_flow_addr(const struct steer *s, uint32_t seed,
		     const struct ts_prefix *src, const struct ts_prefix *dst,
		     uint8_t proto, uint16_t sport, uint16_t dport,
		     struct steer_flow *out)
{
	struct ts_prefix host = *dst;
	uint8_t key[40];
	uint32_t alen, len, bucket;
	const struct steer_prefix *p = NULL;

	memset(out, 0, sizeof(*out));
	out->prefix = -1;
	if (src->family != dst->family ||
	    (dst->family != AF_INET && dst->family != AF_INET6))
		return -EINVAL;
	alen = dst->family == AF_INET ? 4 : 16;
	host.len = (uint8_t)(alen * 8);
	/* ts_prefix_contains() compares only within a family. */
	for (size_t i = 0; i < s->n && !p; i++)
		if (ts_prefix_contains(&s->p[i].prefix, &host)) {
			p = &s->p[i];
			out->prefix = (int)i;
		}
	if (!p || p->n_nh == 0)
		return -ENOENT;
	/* saddr . daddr [. th sport . th dport], network order: the
	 * addresses fill their registers whole (4 or 16 bytes). */
	memcpy(key, src->family == AF_INET ? (const void *)&src->v4 :
	       (const void *)&src->v6, alen);
	memcpy(key + alen, dst->family == AF_INET ? (const void *)&dst->v4 :
	       (const void *)&dst->v6, alen);
	len = 2 * alen;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		put_be16_word(key + len, sport);
		put_be16_word(key + len + 4, dport);
		len += 8;
	}
	out->hash = edge_jhash(key, len, seed);
	out->bucket = bucket = (uint32_t)(((uint64_t)out->hash * p->modulus) >> 32);
	for (size_t k = 0; k < p->n_nh; k++) {
		if (bucket < p->nh[k].slots) {
			out->tunnel = p->nh[k].tunnel;
			return 0;
		}
		bucket -= p->nh[k].slots;
	}
	return -ENOENT;		/* not reached: bucket < modulus */
}

int
edge_steer_flow(const struct steer *s, uint32_t seed, struct in_addr src,
		struct in_addr dst, uint8_t proto, uint16_t sport,
		uint16_t dport, struct steer_flow *out)
{
	struct ts_prefix a = { .family = AF_INET, .v4 = src, .len = 32 };
	struct ts_prefix b = { .family = AF_INET, .v4 = dst, .len = 32 };

	return edge_steer_flow_addr(s, seed, &a, &b, proto, sport, dport, out);
}
