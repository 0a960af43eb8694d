/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: tunsteer-edge's config parser and validator.  What it
 * accepts must print and re-parse to a config with the same shape.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "etc", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct edge_config *conf, *again;
	char *text, *printed = NULL;
	size_t plen = 0;
	FILE *out;

	if (size > 1 << 16 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf = edge_config_load_string(text, "fuzz", &errs);
	free(text);
	config_errors_free(&errs);
	if (conf == NULL)
		return 0;
	if ((out = open_memstream(&printed, &plen)) == NULL) {
		edge_config_free(conf);
		return 0;
	}
	edge_config_print(conf, out);
	fclose(out);
	again = edge_config_load_string(printed, "fuzz-printed", &errs);
	if (again == NULL || again->n_tunnels != conf->n_tunnels ||
	    again->n_routes != conf->n_routes ||
	    again->n_firewall != conf->n_firewall)
		__builtin_trap();
	config_errors_free(&errs);
	edge_config_free(again);
	edge_config_free(conf);
	free(printed);
	return 0;
}
