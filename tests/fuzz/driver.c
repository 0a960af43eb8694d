/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Without libFuzzer: run a fuzz target over files named on the command
 * line, or with none over its corpus directories (fuzz_corpus[], below
 * $srcdir), so `make check` keeps every target building and its corpus
 * passing.  A target traps on a broken invariant; the driver fails if a
 * corpus is missing or empty.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char *const fuzz_corpus[];

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int rc = -1;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	rc = 0;
out:
	if (rc)
		perror(path);
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
	unsigned int n = 0;

	for (int i = 1; i < argc; i++)
		if (run_file(argv[i]) < 0)
			return 1;
	if (argc > 1)
		return 0;
	for (const char *const *d = fuzz_corpus; *d; d++) {
		char dir[4096], path[8192];
		struct dirent *de;
		DIR *dp;

		snprintf(dir, sizeof(dir), "%s/%s", srcdir, *d);
		if ((dp = opendir(dir)) == NULL) {
			perror(dir);
			return 1;
		}
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (run_file(path) < 0) {
				closedir(dp);
				return 1;
			}
			n++;
		}
		closedir(dp);
	}
	printf("%u corpus inputs passed\n", n);
	return n ? 0 : 1;
}
