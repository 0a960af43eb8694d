/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: what tunsteer-edge reads off the wire, an ICMP packet
 * on its raw socket or a relay datagram from a peer.  Neither may read
 * past its buffer; a parsed answer must re-encode to the same payload.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_hcpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/fuzz/corpus/hcpkt", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hc_probe p;
	struct in_addr src, dst;
	enum hc_relay_kind kind;
	uint32_t arrived;
	uint8_t *copy = malloc(size ? size : 1);
	int off;

	if (copy == NULL)
		return 0;
	/* A copy of exactly @size bytes, so ASan sees any overread. */
	memcpy(copy, data, size);
	if (hc_parse(copy, size, &p, &src, &dst) == 0) {
		struct hc_plan plan = { .icmp_type = 0, .src = src, .dst = dst };
		uint8_t again[HC_PKT_LEN];
		struct hc_probe q;
		struct in_addr s2, d2;

		hc_build(&plan, &p, again);
		if (hc_parse(again, sizeof(again), &q, &s2, &d2) != 0 ||
		    q.nonce != p.nonce || q.seq != p.seq || q.origin != p.origin ||
		    s2.s_addr != src.s_addr)
			__builtin_trap();
	}
	if ((off = hc_relay_parse(copy, size, &kind, &arrived)) >= 0 &&
	    hc_parse(copy + off, size - (size_t)off, &p, &src, &dst) == 0 &&
	    size - (size_t)off < HC_PKT_LEN)
		__builtin_trap();	/* an answer is never shorter than ours */
	free(copy);
	return 0;
}
