/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/strbuf.h"

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (b->err == 0) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (s == NULL) {
			b->err = -ENOMEM;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

char *
strbuf_take(struct strbuf *b, int *err)
{
	char *s = b->s;

	if (err)
		*err = b->err;
	if (b->err || s == NULL) {
		free(s);
		s = NULL;
		if (err && *err == 0)
			*err = -ENOMEM;	/* nothing was ever appended */
	}
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}
