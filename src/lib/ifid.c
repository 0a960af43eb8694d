/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ids that follow names (ifid.h). */
#include "autoconfig.h"

#include "lib/ifid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint32_t
ifid_name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

struct slot {
	const char *name;
	uint32_t home;
	size_t index;
};

static int
slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->home != y->home)
		return x->home < y->home ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
ifid_assign(const char *const *names, size_t n, uint32_t min, uint32_t max,
	    uint32_t *ids)
{
	uint64_t span;
	struct slot *slots = NULL;
	uint64_t *used = NULL;
	size_t k = 0;
	int err = 0;

	if (min == 0 || min > max)
		return -EINVAL;
	span = (uint64_t)max - min + 1;
	for (size_t i = 0; i < n; i++) {
		ids[i] = 0;
		k += names[i] != NULL;
	}
	if (k == 0)
		return 0;
	if (k > span)
		return -E2BIG;
	slots = calloc(k, sizeof(*slots));
	used = calloc((size_t)(span / 64 + 1), sizeof(*used));
	if (slots == NULL || used == NULL) {
		err = -ENOMEM;
		goto out;
	}
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		slots[k].name = names[i];
		slots[k].home = (uint32_t)(ifid_name_hash(names[i]) % span);
		slots[k].index = i;
		k++;
	}
	qsort(slots, k, sizeof(*slots), slot_cmp);
	for (size_t j = 0; j < k; j++) {
		uint64_t s = slots[j].home;

		while (used[s / 64] & (UINT64_C(1) << (s % 64)))
			s = (s + 1) % span;
		used[s / 64] |= UINT64_C(1) << (s % 64);
		ids[slots[j].index] = min + (uint32_t)s;
	}
out:
	free(slots);
	free(used);
	return err;
}
