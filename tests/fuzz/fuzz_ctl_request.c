/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the control-socket request parser, which reads bytes
 * from any local process that can open the socket.  See README.md.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* For driver.c: the corpus below $srcdir. */
extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/fuzz/corpus/ctl", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request req;
	uint8_t again[CTL_MAX_REQUEST];
	char *argv[CTL_MAX_ARGS];

	if (ctl_request_parse(data, size, &req) != 0)
		return 0;
	/* Whatever parses must format back and parse to the same. */
	for (int i = 0; i < req.argc; i++)
		argv[i] = req.argv[i];
	int n = ctl_request_format(req.argc, argv, again, sizeof(again));
	struct ctl_request req2;

	if (n < 0 || ctl_request_parse(again, (size_t)n, &req2) != 0 ||
	    req2.argc != req.argc)
		__builtin_trap();
	for (int i = 0; i < req.argc; i++)
		if (strcmp(req.argv[i], req2.argv[i]) != 0)
			__builtin_trap();
	return 0;
}
