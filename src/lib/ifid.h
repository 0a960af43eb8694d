/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ids that follow names: the XFRM if_ids of tunsteerd's ipsec tunnels and
 * of tunsteer-edge's (each program in its own range, its ownership mark).
 * An id depends on the set of names only, never on their order, so a
 * tunnel keeps its if_id (and so its SAs) when others come and go, and
 * every edge server, given the same config, gives a tunnel the same
 * if_id: SAs negotiated on one server install unchanged on another.
 */
#ifndef TUNSTEER_IFID_H
#define TUNSTEER_IFID_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of @name. */
uint32_t ifid_name_hash(const char *name);

/*
 * An id in [@min, @max] for each of the @n distinct @names into @ids[i];
 * a NULL name gets 0.  Each name's home is its hash in the range; names
 * are placed in order of (home, name), each at its home or the next free
 * id on (wrapping).  0, or -E2BIG (more names than ids), -EINVAL
 * (@min > @max or @min 0), -ENOMEM.
 */
int ifid_assign(const char *const *names, size_t n, uint32_t min,
		uint32_t max, uint32_t *ids)
	__attribute__((warn_unused_result));

#endif
