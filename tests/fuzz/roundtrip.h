/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The round trip both config fuzz targets check: whatever the parser
 * accepts is printed normalised, the printed text is parsed again and
 * printed again, and the two printed texts must be equal byte for byte
 * (so the second parse gave an equal config, as config_print() and
 * edge_config_print() promise).  Any difference aborts, with both texts
 * on stderr.  Both parses use one name: the printed header names it.
 */
#ifndef TUNSTEER_FUZZ_ROUNDTRIP_H
#define TUNSTEER_FUZZ_ROUNDTRIP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cfgparse.h"	/* struct config_errors */

/* The parser under test, through void pointers. */
struct roundtrip_ops {
	void *(*load)(const char *text, const char *name,
		      struct config_errors *errs);
	void (*print)(const void *conf, FILE *out);
	void (*free)(void *conf);
};

/* @conf printed into a new string, or NULL if memory ran out. */
static inline char *
roundtrip_print(const struct roundtrip_ops *ops, const void *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL)
		return NULL;
	ops->print(conf, out);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static inline int
roundtrip(const struct roundtrip_ops *ops, const uint8_t *data, size_t size)
{
	static const char name[] = "fuzz";
	struct config_errors errs = { 0 };
	char *text, *first = NULL, *second = NULL;
	void *conf, *again = NULL;

	if (size > 1 << 16 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	conf = ops->load(text, name, &errs);
	free(text);
	config_errors_free(&errs);
	if (conf == NULL || (first = roundtrip_print(ops, conf)) == NULL)
		goto out;
	again = ops->load(first, name, &errs);
	if (again == NULL) {
		fprintf(stderr, "printed config refused:\n");
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "  %s\n", errs.msgs[i]);
		fprintf(stderr, "--- printed ---\n%s", first);
		abort();
	}
	if ((second = roundtrip_print(ops, again)) == NULL)
		goto out;
	if (strcmp(first, second) != 0) {
		fprintf(stderr, "printed twice, differently:\n--- first ---\n"
			"%s--- second ---\n%s", first, second);
		abort();
	}
out:
	config_errors_free(&errs);
	ops->free(again);
	ops->free(conf);
	free(first);
	free(second);
	return 0;
}

#endif
