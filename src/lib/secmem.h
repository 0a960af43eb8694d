/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory for secrets (ike.psk, and the config file's bytes while they are
 * parsed): each allocation is its own anonymous mapping, marked
 * MADV_DONTDUMP (never in a core dump) and, where the limit allows,
 * mlock()ed (never in swap); freeing wipes it with explicit_bzero()
 * before unmapping.  Page-sized granularity: meant for a few secrets,
 * not for many small strings.
 */
#ifndef TUNSTEER_SECMEM_H
#define TUNSTEER_SECMEM_H

#include <stddef.h>

/* @len zeroed bytes (@len > 0), or NULL with errno set.  Free with
 * secmem_free(). */
void *secmem_alloc(size_t len) __attribute__((warn_unused_result));
/* Wipe the whole mapping of @p, then unmap it.  NULL: no-op. */
void secmem_free(void *p);
/* A copy of @s in secret memory, or NULL with errno set.  Free with
 * secmem_free_str(). */
char *secmem_strdup(const char *s) __attribute__((warn_unused_result));
void secmem_free_str(char *s);

#endif
