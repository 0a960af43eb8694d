/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counters of one edge server, read when asked for (nothing is polled):
 * the named counters of our nft table (per tunnel and direction, the
 * unauthorized-egress drops, each firewall rule), the GRE links' own
 * statistics, and the namespace's IPv4 reassembly and fragmentation
 * counters (/proc/net/snmp: incomplete fragment sets are dropped there)
 * and their IPv6 ones with the Packet Too Big messages it sent
 * (/proc/net/snmp6).
 */
#ifndef TUNSTEER_EDGE_STATS_H
#define TUNSTEER_EDGE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "edge/edge_config.h"
#include "lib/kernel.h"

struct edge_count {
	uint64_t packets, bytes;
};

struct edge_counters {
	/* Per tunnel, IPv4: */
	struct edge_count *ingress;	/* forwarded toward the customer */
	struct edge_count *egress;	/* forwarded from the customer */
	struct edge_count *unauth;	/* egress dropped for its source */
	/* Per tunnel, the same of IPv6. */
	struct edge_count *ingress6, *egress6, *unauth6;
	struct edge_count *fw;		/* per firewall rule */
	struct kernel_link *links;	/* per tunnel; ifindex 0: not found */
	bool nft_ok;			/* the table was read */
	/* IPv4 MIB of the namespace. */
	uint64_t reasm_reqds, reasm_oks, reasm_fails, reasm_timeout;
	uint64_t frag_oks, frag_fails, frag_creates;
	/* IPv6 MIB: the same, what was too big to forward (never
	 * fragmented: a router does not fragment IPv6) and the ICMPv6
	 * Packet Too Big messages sent for it. */
	uint64_t reasm6_reqds, reasm6_oks, reasm6_fails, reasm6_timeout;
	uint64_t frag6_oks, frag6_fails, frag6_creates;
	uint64_t too_big6, ptb6_sent;
};

struct edge_stats;

/* NULL with *@err on failure. */
struct edge_stats *edge_stats_create(int *err);
void edge_stats_destroy(struct edge_stats *st);

/* Fill @out (free with edge_counters_free()) for @c.  What cannot be read
 * stays zero; returns 0 or -ENOMEM. */
int edge_stats_read(struct edge_stats *st, struct kernel_ops *ops,
		    const struct edge_config *c, struct edge_counters *out)
	__attribute__((warn_unused_result));
void edge_counters_free(struct edge_counters *out);

/* Parse the text of `nft list counters table …` into @out (for tests). */
void edge_stats_parse_nft(const char *text, const struct edge_config *c,
			  struct edge_counters *out);
/* Parse /proc/net/snmp's text (for tests). */
void edge_stats_parse_snmp(const char *text, struct edge_counters *out);
/* Parse /proc/net/snmp6's text, "Name value" lines (for tests). */
void edge_stats_parse_snmp6(const char *text, struct edge_counters *out);

#endif
