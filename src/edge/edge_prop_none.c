/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * configure --without-strongswan: no IPsec, so no SA to propagate
 * (edge_prop.h); a config with relay.sa_key is refused before it gets
 * here (edge_config_check_serve()).
 */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>

#include "edge/edge_prop.h"

const char *
edge_prop_refusal_name(enum edge_prop_refusal r)
{
	return "?";
}

int
edge_prop_create(struct event_base *base, struct kernel_ops *ops,
		 const struct edge_config *c, struct edge_prop **out)
{
	*out = NULL;
	return c->relay.sa_key == NULL ? 0 : -ENOTSUP;
}

int
edge_prop_apply(struct edge_prop *p, const struct edge_config *c)
{
	return -ENOTSUP;
}

void
edge_prop_destroy(struct edge_prop *p)
{
}

void
edge_prop_negotiated(struct edge_prop *p, struct sarec *rec)
{
	sarec_clear(rec);
}

void
edge_prop_deleted(struct edge_prop *p, const struct sarec *rec)
{
}

void
edge_prop_stats(const struct edge_prop *p, struct edge_prop_stats *st)
{
	memset(st, 0, sizeof(*st));
}

size_t
edge_prop_held(const struct edge_prop *p, const char *tunnel,
	       struct edge_prop_held *out, size_t max)
{
	return 0;
}

void
edge_prop_set_pin_cb(struct edge_prop *p, void (*cb)(void *arg), void *arg)
{
}

bool
edge_prop_pinned_to(const struct edge_prop *p, const char *tunnel,
		    struct in_addr *to)
{
	to->s_addr = 0;
	return false;
}
