/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A growing string for building scripts and replies.  After an allocation
 * failure every further append is a no-op and strbuf_take() says so.
 */
#ifndef TUNSTEER_STRBUF_H
#define TUNSTEER_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *s;
	size_t len, cap;
	int err;		/* 0, or -ENOMEM/-EINVAL once appending failed */
};

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The string (caller frees), or NULL with everything freed if an append
 * failed; @err (may be NULL) gets b->err. */
char *strbuf_take(struct strbuf *b, int *err);

#endif
