/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backend-independent helpers of the kernel interface: marks, equality,
 * text forms. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "lib/kernel.h"

const struct kernel_marks kernel_marks_tunsteerd = {
	.link_alias_prefix = KERNEL_LINK_ALIAS_PREFIX,
	.rtm_protocol = KERNEL_RTPROT_TUNSTEER,
	.table_min = KERNEL_TABLE_MIN,
	.table_max = KERNEL_TABLE_MAX,
	.rule_prio_min = KERNEL_RULE_PRIO_MIN,
	.rule_prio_max = KERNEL_RULE_PRIO_MAX,
	.nhid_min = KERNEL_NHID_MIN,
	.nhid_max = KERNEL_NHID_MAX,
	.xfrm_if_id_min = KERNEL_XFRM_IF_ID_MIN,
	.xfrm_if_id_max = KERNEL_XFRM_IF_ID_MAX,
};

bool
kernel_link_has_mark(const struct kernel_link *link, const char *mark)
{
	return strncmp(link->alias, mark, strlen(mark)) == 0;
}

bool
kernel_marks_link(const struct kernel_marks *m, const struct kernel_link *l)
{
	if (!kernel_link_has_mark(l, m->link_alias_prefix))
		return false;
	/* An if_id outside our range binds someone else's SAs: whatever
	 * its alias says, such an interface is not ours to touch. */
	if (l->kind == KERNEL_LINK_XFRM)
		return m->xfrm_if_id_max != 0 &&
		       l->if_id >= m->xfrm_if_id_min &&
		       l->if_id <= m->xfrm_if_id_max;
	return true;
}

bool
kernel_marks_route(const struct kernel_marks *m, const struct kernel_route *r)
{
	return r->protocol == m->rtm_protocol && r->table >= m->table_min &&
	       r->table <= m->table_max;
}

bool
kernel_marks_rule(const struct kernel_marks *m, const struct kernel_rule *r)
{
	return r->priority >= m->rule_prio_min &&
	       r->priority <= m->rule_prio_max;
}

bool
kernel_marks_nhobj(const struct kernel_marks *m, const struct kernel_nhobj *nh)
{
	return m->nhid_max != 0 && nh->protocol == m->rtm_protocol &&
	       nh->id >= m->nhid_min && nh->id <= m->nhid_max;
}

bool
kernel_link_is_ours(const struct kernel_link *link)
{
	return kernel_marks_link(&kernel_marks_tunsteerd, link);
}

bool
kernel_route_is_ours(const struct kernel_route *route)
{
	return kernel_marks_route(&kernel_marks_tunsteerd, route);
}

bool
kernel_rule_is_ours(const struct kernel_rule *rule)
{
	return kernel_marks_rule(&kernel_marks_tunsteerd, rule);
}

bool
kernel_nhobj_is_ours(const struct kernel_nhobj *nh)
{
	return kernel_marks_nhobj(&kernel_marks_tunsteerd, nh);
}

static bool
prefix_equal(const struct ts_prefix *a, const struct ts_prefix *b)
{
	if (a->len != b->len)
		return false;
	if (a->len == 0)
		return true;
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->v4.s_addr == b->v4.s_addr;
	return memcmp(&a->v6, &b->v6, sizeof(a->v6)) == 0;
}

int
kernel_route_family(const struct kernel_route *r)
{
	return r->dst.family == AF_INET6 ? AF_INET6 : AF_INET;
}

int
kernel_rule_family(const struct kernel_rule *r)
{
	return r->family == AF_INET6 ? AF_INET6 : AF_INET;
}

int
kernel_nhobj_family(const struct kernel_nhobj *nh)
{
	return nh->family == AF_INET6 ? AF_INET6 : AF_INET;
}

bool
kernel_link_equal(const struct kernel_link *a, const struct kernel_link *b)
{
	return strcmp(a->name, b->name) == 0 && a->kind == b->kind &&
	       a->local.s_addr == b->local.s_addr &&
	       a->remote.s_addr == b->remote.s_addr && a->if_id == b->if_id &&
	       strcmp(a->dev, b->dev) == 0 &&
	       a->ttl == b->ttl && a->mtu == b->mtu && a->up == b->up &&
	       strcmp(a->alias, b->alias) == 0;
}

bool
kernel_route_equal(const struct kernel_route *a, const struct kernel_route *b)
{
	if (a->table != b->table ||
	    kernel_route_family(a) != kernel_route_family(b) ||
	    !prefix_equal(&a->dst, &b->dst) ||
	    a->metric != b->metric || a->protocol != b->protocol ||
	    a->blackhole != b->blackhole || a->nhid != b->nhid ||
	    a->n_nexthops != b->n_nexthops)
		return false;
	for (unsigned int i = 0; i < a->n_nexthops; i++) {
		if (strcmp(a->nh[i].dev, b->nh[i].dev) != 0 ||
		    a->nh[i].gw.s_addr != b->nh[i].gw.s_addr ||
		    a->nh[i].weight != b->nh[i].weight)
			return false;
	}
	return true;
}

bool
kernel_rule_equal(const struct kernel_rule *a, const struct kernel_rule *b)
{
	return kernel_rule_family(a) == kernel_rule_family(b) &&
	       a->priority == b->priority && a->table == b->table &&
	       a->fwmark == b->fwmark && a->fwmask == b->fwmask &&
	       prefix_equal(&a->src, &b->src);
}

bool
kernel_nhobj_equal(const struct kernel_nhobj *a, const struct kernel_nhobj *b)
{
	if (a->id != b->id || a->protocol != b->protocol ||
	    kernel_nhobj_family(a) != kernel_nhobj_family(b) ||
	    a->n_members != b->n_members)
		return false;
	if (a->n_members == 0)
		return strcmp(a->dev, b->dev) == 0 &&
		       a->gw.s_addr == b->gw.s_addr &&
		       a->blackhole == b->blackhole;
	for (unsigned int i = 0; i < a->n_members; i++)
		if (a->member[i].id != b->member[i].id ||
		    a->member[i].weight != b->member[i].weight)
			return false;
	if (a->resilient != b->resilient)
		return false;
	return !a->resilient || (a->buckets == b->buckets &&
				 a->idle_timer == b->idle_timer &&
				 a->unbalanced_timer == b->unbalanced_timer);
}

static const char *
fmt_prefix(const struct ts_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (p->len == 0 && p->family != AF_INET && p->family != AF_INET6) {
		snprintf(buf, len, "all");
		return buf;
	}
	inet_ntop(p->family, p->family == AF_INET ? (const void *)&p->v4
						   : (const void *)&p->v6,
		  a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

void
kernel_link_format(const struct kernel_link *l, char *buf, size_t len)
{
	char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &l->local, local, sizeof(local));
	inet_ntop(AF_INET, &l->remote, remote, sizeof(remote));
	switch (l->kind) {
	case KERNEL_LINK_GRE:
		snprintf(buf, len, "%s gre local %s remote %s ttl %u mtu %u %s",
			 l->name, local, remote, l->ttl, l->mtu,
			 l->up ? "up" : "down");
		break;
	case KERNEL_LINK_XFRM:
		snprintf(buf, len, "%s xfrm if_id %#x%s%s mtu %u %s", l->name,
			 l->if_id, l->dev[0] ? " dev " : "", l->dev, l->mtu,
			 l->up ? "up" : "down");
		break;
	default:
		snprintf(buf, len, "%s other", l->name);
		break;
	}
}

void
kernel_addr_format(const struct kernel_addr *a, char *buf, size_t len)
{
	char p[64], peer[INET_ADDRSTRLEN];

	fmt_prefix(&a->local, p, sizeof(p));
	if (a->peer.s_addr != 0) {
		inet_ntop(AF_INET, &a->peer, peer, sizeof(peer));
		snprintf(buf, len, "%s dev %s peer %s", p, a->ifname, peer);
	} else {
		snprintf(buf, len, "%s dev %s", p, a->ifname);
	}
}

void
kernel_route_format(const struct kernel_route *r, char *buf, size_t len)
{
	char dst[64];
	size_t off;

	fmt_prefix(&r->dst, dst, sizeof(dst));
	off = (size_t)snprintf(buf, len, "table %u %s metric %u proto %u%s",
			       r->table, dst, r->metric, r->protocol,
			       r->blackhole ? " blackhole" : "");
	if (r->nhid != 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off, " nhid %#x",
					r->nhid);
	for (unsigned int i = 0; i < r->n_nexthops && off < len; i++) {
		char gw[INET_ADDRSTRLEN + 5] = "";

		if (r->nh[i].gw.s_addr != 0) {
			strcpy(gw, " via ");
			inet_ntop(AF_INET, &r->nh[i].gw, gw + 5, sizeof(gw) - 5);
		}
		off += (size_t)snprintf(buf + off, len - off,
					" nexthop%s dev %s weight %u", gw,
					r->nh[i].dev, r->nh[i].weight);
	}
}

void
kernel_rule_format(const struct kernel_rule *r, char *buf, size_t len)
{
	char src[64];

	const char *six = kernel_rule_family(r) == AF_INET6 ? "-6 " : "";

	fmt_prefix(&r->src, src, sizeof(src));
	if (r->fwmask != 0)
		snprintf(buf, len, "%sprio %u from %s fwmark %#x/%#x table %u",
			 six, r->priority, src, r->fwmark, r->fwmask, r->table);
	else
		snprintf(buf, len, "%sprio %u from %s table %u", six,
			 r->priority, src, r->table);
}

void
kernel_nhobj_format(const struct kernel_nhobj *nh, char *buf, size_t len)
{
	size_t off;

	off = (size_t)snprintf(buf, len, "%sid %#x proto %u",
			       kernel_nhobj_family(nh) == AF_INET6 ? "-6 " : "",
			       nh->id, nh->protocol);
	if (nh->n_members == 0 && nh->blackhole) {
		snprintf(buf + off, off < len ? len - off : 0, " blackhole");
		return;
	}
	if (nh->n_members == 0) {
		char gw[INET_ADDRSTRLEN] = "";

		if (nh->gw.s_addr != 0)
			inet_ntop(AF_INET, &nh->gw, gw, sizeof(gw));
		snprintf(buf + off, off < len ? len - off : 0, "%s%s dev %s",
			 gw[0] ? " via " : "", gw, nh->dev);
		return;
	}
	for (unsigned int i = 0; i < nh->n_members && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%#x,%u",
					i ? "/" : " group ", nh->member[i].id,
					nh->member[i].weight);
	if (nh->resilient && off < len)
		snprintf(buf + off, len - off,
			 " resilient buckets %u idle_timer %u unbalanced_timer %u",
			 nh->buckets, nh->idle_timer, nh->unbalanced_timer);
}

int
kernel_nhobj_probe_resilient(struct kernel_ops *ops, uint32_t path_id,
			     uint32_t group_id, uint8_t protocol,
			     uint16_t buckets)
{
	/* A blackhole needs no device, and one alone may be a group's
	 * member: the test depends on no link and no address. */
	struct kernel_nhobj path = { .id = path_id, .protocol = protocol,
				     .blackhole = true };
	struct kernel_nhobj group = { .id = group_id, .protocol = protocol,
				      .n_members = 1, .resilient = true,
				      .buckets = buckets };
	int err;

	group.member[0] = (struct kernel_nhobj_member){ path_id, 1 };
	if ((err = ops->nhobj_replace(ops, &path)) < 0)
		return err;
	err = ops->nhobj_replace(ops, &group);
	if (err == 0)
		(void)ops->nhobj_del(ops, group_id);
	(void)ops->nhobj_del(ops, path_id);
	if (err == -EINVAL || err == -EOPNOTSUPP)
		return 0;
	return err < 0 ? err : 1;
}

/* --- nft helpers -------------------------------------------------------- */

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
kernel_nft_names_free(struct kernel_nft_names *names)
{
	free_strv(names->chains, names->n_chains);
	free_strv(names->sets, names->n_sets);
	free_strv(names->counters, names->n_counters);
	memset(names, 0, sizeof(*names));
}

int
kernel_nft_changes_add_set(struct kernel_nft_changes *ch, const char *set)
{
	char **v, *dup;

	for (size_t i = 0; i < ch->n_sets; i++)
		if (strcmp(ch->sets[i], set) == 0)
			return 0;
	if ((dup = strdup(set)) == NULL)
		return -ENOMEM;
	v = realloc(ch->sets, (ch->n_sets + 1) * sizeof(*v));
	if (v == NULL) {
		free(dup);
		return -ENOMEM;
	}
	v[ch->n_sets++] = dup;
	ch->sets = v;
	return 0;
}

void
kernel_nft_changes_merge(struct kernel_nft_changes *to,
			 struct kernel_nft_changes *from)
{
	to->table |= from->table;
	for (size_t i = 0; i < from->n_sets && !to->table; i++)
		if (kernel_nft_changes_add_set(to, from->sets[i]) < 0)
			to->table = true;	/* no memory: check it all */
	kernel_nft_changes_free(from);
}

bool
kernel_nft_changes_any(const struct kernel_nft_changes *ch)
{
	return ch->table || ch->n_sets > 0;
}

void
kernel_nft_changes_free(struct kernel_nft_changes *ch)
{
	free_strv(ch->sets, ch->n_sets);
	memset(ch, 0, sizeof(*ch));
}
