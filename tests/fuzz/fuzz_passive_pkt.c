/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the provider health-check classifier, which reads
 * whatever arrives through a tunnel.  The input's first 16 bytes are the
 * tunnel's addresses (inner, peer, endpoint, target), the rest the
 * packet.  The result must be a kind or -EINVAL/-ENOENT, and the same for
 * the capture cut to PASSIVE_SNAPLEN (what the socket hands over).  See
 * README.md.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "tunsteerd/passive_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For driver.c: the corpus below $srcdir. */
extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/fuzz/corpus/passive", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct passive_addrs a;
	uint8_t *pkt;
	size_t len;
	int r, cut;

	if (size < 16)
		return 0;
	a = (struct passive_addrs){ wire_get_be32(data), wire_get_be32(data + 4),
				    wire_get_be32(data + 8), wire_get_be32(data + 12) };
	len = size - 16;
	/* An exact-size copy: a read past the end is caught by ASan. */
	if ((pkt = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(pkt, data + 16, len);
	r = passive_classify(pkt, len, &a);
	if (r != -EINVAL && r != -ENOENT && (r < 0 || r >= PASSIVE_KINDS))
		__builtin_trap();
	if (len > PASSIVE_SNAPLEN) {
		cut = passive_classify(pkt, PASSIVE_SNAPLEN, &a);
		if (cut != r)
			__builtin_trap();
	}
	free(pkt);
	return 0;
}
