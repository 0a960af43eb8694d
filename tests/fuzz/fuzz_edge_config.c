/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: tunsteer-edge's config parser and validator.
 * Whatever it accepts must print, re-parse and print again to the same
 * text (roundtrip.h).
 * See README.md.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>

#include "edge/edge_config.h"
#include "roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For driver.c: the corpus below $srcdir. */
extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "etc", "tests/fuzz/corpus/edge", NULL };

static void *
load_cb(const char *text, const char *name, struct config_errors *errs)
{
	return edge_config_load_string(text, name, errs);
}

static void
print_cb(const void *conf, FILE *out)
{
	edge_config_print_secrets(conf, out);
}

static void
free_cb(void *conf)
{
	edge_config_free(conf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct roundtrip_ops ops = { load_cb, print_cb, free_cb };

	return roundtrip(&ops, data, size);
}
