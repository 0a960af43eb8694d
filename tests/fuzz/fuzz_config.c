/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the configuration parser and validator.  Whatever it
 * accepts must print and re-parse to an equal config.  See README.md.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunsteerd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For driver.c: the corpus below $srcdir. */
extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/unit/fixtures/config", "etc", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct config *conf, *again;
	char *text, *printed = NULL;
	size_t plen = 0;
	FILE *out;

	if (size > 1 << 16 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf = config_load_string(text, "fuzz", &errs);
	free(text);
	config_errors_free(&errs);
	if (conf == NULL)
		return 0;
	if ((out = open_memstream(&printed, &plen)) == NULL) {
		config_free(conf);
		return 0;
	}
	config_print(conf, out);
	fclose(out);
	again = config_load_string(printed, "fuzz-printed", &errs);
	if (again == NULL || again->n_tunnels != conf->n_tunnels ||
	    again->n_policies != conf->n_policies)
		__builtin_trap();
	config_errors_free(&errs);
	config_free(again);
	config_free(conf);
	free(printed);
	return 0;
}
