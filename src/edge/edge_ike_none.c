/* SPDX-License-Identifier: GPL-2.0-or-later */
/* configure --without-strongswan: GRE only (edge_ike.h). */
#include "autoconfig.h"

#include <errno.h>

#include "edge/edge_ike.h"

const char *
edge_ike_unavailable(void)
{
	return "this tunsteer-edge was built without strongSwan "
		"(--without-strongswan); it serves GRE tunnels only";
}

int
edge_ike_create(const char *server, struct edge_ike **out)
{
	*out = NULL;
	return -ENOTSUP;
}

int
edge_ike_apply(struct edge_ike *ike, const struct edge_config *conf,
	       const uint32_t *if_ids)
{
	return -ENOTSUP;
}

void
edge_ike_destroy(struct edge_ike *ike)
{
}

int
edge_ike_status(struct edge_ike *ike, const char *name,
		struct edge_ike_status *st)
{
	return -ENOENT;
}

void
edge_ike_news_on(struct edge_ike *ike, bool on)
{
}

int
edge_ike_news_fd(struct edge_ike *ike)
{
	return -1;
}

bool
edge_ike_news_take(struct edge_ike *ike, struct edge_ike_news *out)
{
	return false;
}
