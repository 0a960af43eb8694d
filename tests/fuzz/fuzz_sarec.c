/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the SA record codec (lib/sarec.h), what an edge server
 * will read from another over the relay channel.  Decoding may not read
 * past its buffer nor leave anything allocated on error; a record it
 * accepts must validate, encode to exactly the bytes it came from (the
 * encoding is canonical) and decode again to the same record.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sarec.h"
#include "lib/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/fuzz/corpus/sarec", NULL };

static bool
same(const struct sarec *a, const struct sarec *b)
{
	struct sarec x = *a, y = *b;

	x.keys = y.keys = NULL;
	return memcmp(&x, &y, sizeof(x)) == 0 &&
	       memcmp(a->keys, b->keys, sizeof(*a->keys)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1), *enc;
	struct sarec r, again;
	ssize_t n;

	if (copy == NULL)
		return 0;
	/* A copy of exactly @size bytes, so ASan sees any overread. */
	memcpy(copy, data, size);
	if (sarec_decode(copy, size, &r) != 0) {
		/* Refused: nothing kept. */
		if (r.keys != NULL || r.spi_in != 0 || r.tunnel[0] != '\0')
			abort();
		free(copy);
		return 0;
	}
	if (sarec_validate(&r) != 0)
		abort();
	if ((enc = secmem_alloc(SAREC_ENCODED_MAX)) == NULL)
		abort();
	n = sarec_encode(&r, enc, SAREC_ENCODED_MAX);
	if (n != (ssize_t)size || memcmp(enc, copy, size) != 0)
		abort();
	if (sarec_decode(enc, (size_t)n, &again) != 0 || !same(&r, &again))
		abort();
	sarec_clear(&again);
	sarec_clear(&r);
	secmem_free(enc);
	free(copy);
	return 0;
}
