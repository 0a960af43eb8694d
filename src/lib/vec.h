/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One growable array: the capacity doubles from VEC_FIRST.  Two faces over
 * the one growth rule, vec_room():
 *
 *   - typed arrays kept as three fields (items, n, cap) of the owner's
 *     struct: VEC_PUSH(items, n, cap, item);
 *   - struct vec, when the element size is only known at run time (the
 *     fake kernel keeps one per object kind).
 *
 * The array belongs to whoever holds it and is freed with free() (typed)
 * or vec_free().  A failed allocation returns -ENOMEM and leaves the array
 * as it was.
 */
#ifndef TUNSTEER_VEC_H
#define TUNSTEER_VEC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VEC_FIRST 8

/* @items (with @n in use and *@cap allocated) with room for one more
 * element: @items itself, a larger array (*@cap updated, @items freed by
 * realloc), or NULL if that allocation failed (@items untouched). */
static inline void *
vec_room(void *items, size_t n, size_t *cap, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return items;
	c = *cap ? *cap * 2 : VEC_FIRST;
	if ((p = reallocarray(items, c, size)) == NULL)
		return NULL;
	*cap = c;
	return p;
}

/* Append @item to the typed array @items of @n elements (@cap allocated):
 * 0, or -ENOMEM.  @items, @n and @cap are lvalues, evaluated more than
 * once. */
#define VEC_PUSH(items, n, cap, item) __extension__ ({			\
	__typeof__(items) vec_p_ = vec_room((items), (n), &(cap),	\
					    sizeof(*(items)));		\
	int vec_r_ = -ENOMEM;						\
									\
	if (vec_p_ != NULL) {						\
		(items) = vec_p_;					\
		(items)[(n)++] = (item);				\
		vec_r_ = 0;						\
	}								\
	vec_r_;								\
})

/* An array of @size-byte elements: struct vec v = VEC_INIT(sizeof(x)). */
struct vec {
	void *items;
	size_t size, n, cap;
};

#define VEC_INIT(sz) { .items = NULL, .size = (sz), .n = 0, .cap = 0 }

static inline void *
vec_at(const struct vec *v, size_t i)
{
	return (char *)v->items + i * v->size;
}

/* Copy @item (v->size bytes) to the end: 0, or -ENOMEM. */
static inline int __attribute__((warn_unused_result))
vec_push(struct vec *v, const void *item)
{
	void *p = vec_room(v->items, v->n, &v->cap, v->size);

	if (p == NULL)
		return -ENOMEM;
	v->items = p;
	memcpy(vec_at(v, v->n++), item, v->size);
	return 0;
}

/* Remove element @i (< v->n), keeping the order of the others. */
static inline void
vec_remove(struct vec *v, size_t i)
{
	memmove(vec_at(v, i), vec_at(v, i + 1), (v->n - i - 1) * v->size);
	v->n--;
}

static inline void
vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

#endif
