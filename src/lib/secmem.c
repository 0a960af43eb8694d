/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/secmem.h"

static size_t
round_up(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

/* The mapping's size sits in front of what the caller gets, so freeing
 * needs no length (and a string cut short frees its whole mapping). */
#define HDR 16

void *
secmem_alloc(size_t len)
{
	size_t sz;
	char *p;

	if (len == 0 || len > SIZE_MAX / 2) {
		errno = EINVAL;
		return NULL;
	}
	sz = round_up(len + HDR);
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Not in a core dump: refused, as the secret must not get there. */
	if (madvise(p, sz, MADV_DONTDUMP) != 0) {
		int e = errno;

		munmap(p, sz);
		errno = e;
		return NULL;
	}
	/* Not in swap, where RLIMIT_MEMLOCK allows; best effort. */
	(void)mlock(p, sz);
	memcpy(p, &sz, sizeof(sz));
	return p + HDR;
}

void
secmem_free(void *ptr)
{
	char *p = ptr;
	size_t sz;

	if (p == NULL)
		return;
	p -= HDR;
	memcpy(&sz, p, sizeof(sz));
	explicit_bzero(p, sz);
	(void)munlock(p, sz);
	munmap(p, sz);
}

char *
secmem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = secmem_alloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

void
secmem_free_str(char *s)
{
	secmem_free(s);
}
