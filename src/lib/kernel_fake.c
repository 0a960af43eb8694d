/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kernel_fake.h"
#include "lib/vec.h"

struct kernel_fake {
	struct kernel_ops ops;	/* first: the public face */
	struct vec links, addrs, routes, rules, nhobjs;
	char *log;		/* being recorded */
	char *taken;		/* handed out by kernel_fake_ops_log() */
	size_t log_len, log_cap;
	unsigned int n_ops;
	int fail_next;
	bool resilient;		/* makes resilient nexthop groups */
	unsigned int dumps;	/* kernel_fake_dumps() */
	/* Our nft table (KERNEL_NFT_TABLE): whether it exists, its chains
	 * and named sets by name; what other processes changed in it. */
	bool nft_table;
	struct vec nft_chains;		/* char[64] */
	struct vec nft_sets;		/* struct fake_set */
	struct vec nft_counters;	/* struct kernel_nft_counter */
	struct kernel_nft_changes nft_foreign;
	/* IPsec SAs installed from records, and their policies (struct
	 * fake_policy): no keys kept. */
	struct vec xfrm_states;		/* struct kernel_xfrm_state */
	struct vec xfrm_policies;	/* struct fake_policy */
};

struct fake_policy {
	uint32_t if_id;
	uint8_t dir;			/* 0 out, 1 in, 2 fwd */
	struct ts_prefix src, dst;
	uint32_t reqid;
};

struct fake_set {
	char name[64];
	uint8_t family;			/* 0: not yet known (made by a script) */
	struct ts_prefix *e;		/* sorted */
	size_t n;
};

typedef bool (*same_key_fn)(const void *a, const void *b);

static ssize_t
vec_find(struct vec *v, const void *key, same_key_fn same)
{
	for (size_t i = 0; i < v->n; i++)
		if (same(vec_at(v, i), key))
			return (ssize_t)i;
	return -1;
}

/* Insert or overwrite by key. */
static int
vec_upsert(struct vec *v, const void *item, same_key_fn same)
{
	ssize_t i = vec_find(v, item, same);

	if (i >= 0) {
		memcpy(vec_at(v, (size_t)i), item, v->size);
		return 0;
	}
	return vec_push(v, item);
}

static struct kernel_fake *
fake_of(struct kernel_ops *ops)
{
	return (struct kernel_fake *)ops;
}

static void
fake_record(struct kernel_fake *f, const char *fmt, ...)
{
	char line[512];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (f->log_len + n + 2 > f->log_cap) {
		size_t cap = (f->log_cap + n + 2) * 2;
		char *log = realloc(f->log, cap);

		if (log == NULL)
			return;	/* a test will notice the missing line */
		f->log = log;
		f->log_cap = cap;
	}
	memcpy(f->log + f->log_len, line, n);
	f->log_len += n;
	f->log[f->log_len++] = '\n';
	f->log[f->log_len] = '\0';
	f->n_ops++;
}

/* Consume an injected failure, if any. */
static int
fake_take_failure(struct kernel_fake *f)
{
	int err = f->fail_next;

	f->fail_next = 0;
	return err;
}

static bool
link_same(const void *a, const void *b)
{
	return strcmp(((const struct kernel_link *)a)->name,
		      ((const struct kernel_link *)b)->name) == 0;
}

static bool
addr_same(const void *a, const void *b)
{
	const struct kernel_addr *x = a, *y = b;

	return strcmp(x->ifname, y->ifname) == 0 &&
	       ts_prefix_equal(&x->local, &y->local);
}

static bool
route_same(const void *a, const void *b)
{
	const struct kernel_route *x = a, *y = b;

	return kernel_route_family(x) == kernel_route_family(y) &&
	       x->table == y->table && x->metric == y->metric &&
	       ts_prefix_equal(&x->dst, &y->dst);
}

static bool
rule_same(const void *a, const void *b)
{
	return kernel_rule_equal(a, b);
}

static bool
nhobj_same(const void *a, const void *b)
{
	return ((const struct kernel_nhobj *)a)->id ==
	       ((const struct kernel_nhobj *)b)->id;
}

static struct kernel_nhobj *
nhobj_get(struct kernel_fake *f, uint32_t id)
{
	struct kernel_nhobj key = { .id = id };
	ssize_t i = vec_find(&f->nhobjs, &key, nhobj_same);

	return i < 0 ? NULL : vec_at(&f->nhobjs, (size_t)i);
}

/*
 * What the kernel does when a nexthop object goes (deleted, or its device
 * gone): it leaves every group, a group left empty goes too, and so does
 * every route through any of them.
 */
static void
nhobj_remove_cascade(struct kernel_fake *f, uint32_t id)
{
	struct kernel_nhobj key = { .id = id };
	ssize_t at = vec_find(&f->nhobjs, &key, nhobj_same);

	if (at < 0)
		return;
	vec_remove(&f->nhobjs, (size_t)at);
	for (size_t j = f->routes.n; j-- > 0;)
		if (((struct kernel_route *)vec_at(&f->routes, j))->nhid == id)
			vec_remove(&f->routes, j);
	for (size_t j = 0; j < f->nhobjs.n; j++) {
		struct kernel_nhobj *g = vec_at(&f->nhobjs, j);

		for (unsigned int m = 0; m < g->n_members; m++) {
			if (g->member[m].id != id)
				continue;
			memmove(&g->member[m], &g->member[m + 1],
				(g->n_members - m - 1) * sizeof(g->member[0]));
			g->n_members--;
			if (g->n_members == 0) {
				/* Restart: the vector changed under us. */
				nhobj_remove_cascade(f, g->id);
				j = (size_t)-1;
			}
			break;
		}
	}
}

static int
fake_link_dump(struct kernel_ops *ops, kernel_link_cb cb, void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	for (size_t i = 0; i < f->links.n; i++)
		cb(vec_at(&f->links, i), arg);
	return 0;
}

/*
 * What the kernel refuses of an XFRM interface: if_id 0, an if_id another
 * interface has (the if_id is how the kernel finds the interface of an
 * SA), an underlay device that does not exist.
 */
static int
fake_xfrm_check(struct kernel_fake *f, const struct kernel_link *link)
{
	struct kernel_link key = { 0 };

	if (link->kind != KERNEL_LINK_XFRM)
		return 0;
	if (link->if_id == 0)
		return -EINVAL;
	for (size_t i = 0; i < f->links.n; i++) {
		const struct kernel_link *l = vec_at(&f->links, i);

		if (l->kind == KERNEL_LINK_XFRM && l->if_id == link->if_id &&
		    strcmp(l->name, link->name) != 0)
			return -EEXIST;
	}
	snprintf(key.name, sizeof(key.name), "%s", link->dev);
	if (link->dev[0] != '\0' && vec_find(&f->links, &key, link_same) < 0)
		return -ENODEV;
	return 0;
}

static int
fake_link_set(struct kernel_ops *ops, const struct kernel_link *link)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[256];
	int err = fake_take_failure(f);

	if (err == 0)
		err = fake_xfrm_check(f, link);

	kernel_link_format(link, buf, sizeof(buf));
	fake_record(f, "link set %s%s", buf, err ? " (failed)" : "");
	return err ? err : vec_upsert(&f->links, link, link_same);
}

static int
fake_link_del(struct kernel_ops *ops, const char *name)
{
	struct kernel_fake *f = fake_of(ops);
	struct kernel_link key = { 0 };
	int err = fake_take_failure(f);
	ssize_t i;

	fake_record(f, "link del %s%s", name, err ? " (failed)" : "");
	if (err)
		return err;
	snprintf(key.name, sizeof(key.name), "%s", name);
	i = vec_find(&f->links, &key, link_same);
	if (i < 0)
		return -ENODEV;
	vec_remove(&f->links, (size_t)i);
	/* The kernel takes a link's addresses and nexthops with it. */
	for (size_t j = f->nhobjs.n; j-- > 0;) {
		struct kernel_nhobj *nh = vec_at(&f->nhobjs, j);

		if (nh->n_members == 0 && strcmp(nh->dev, name) == 0) {
			nhobj_remove_cascade(f, nh->id);
			j = f->nhobjs.n;
		}
	}
	for (size_t j = f->addrs.n; j-- > 0;)
		if (strcmp(((struct kernel_addr *)vec_at(&f->addrs, j))->ifname,
			   name) == 0)
			vec_remove(&f->addrs, j);
	return 0;
}

static int
fake_addr_dump(struct kernel_ops *ops, kernel_addr_cb cb, void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	for (size_t i = 0; i < f->addrs.n; i++)
		cb(vec_at(&f->addrs, i), arg);
	return 0;
}

static int
fake_addr_add(struct kernel_ops *ops, const struct kernel_addr *addr)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[256];
	int err = fake_take_failure(f);

	kernel_addr_format(addr, buf, sizeof(buf));
	fake_record(f, "addr add %s%s", buf, err ? " (failed)" : "");
	return err ? err : vec_upsert(&f->addrs, addr, addr_same);
}

static int
fake_addr_del(struct kernel_ops *ops, const struct kernel_addr *addr)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[256];
	int err = fake_take_failure(f);
	ssize_t i;

	kernel_addr_format(addr, buf, sizeof(buf));
	fake_record(f, "addr del %s%s", buf, err ? " (failed)" : "");
	if (err)
		return err;
	i = vec_find(&f->addrs, addr, addr_same);
	if (i < 0)
		return -EADDRNOTAVAIL;
	vec_remove(&f->addrs, (size_t)i);
	return 0;
}

static int
fake_route_dump(struct kernel_ops *ops, kernel_route_cb cb, void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	for (size_t i = 0; i < f->routes.n; i++)
		cb(vec_at(&f->routes, i), arg);
	return 0;
}

static int
fake_route_replace(struct kernel_ops *ops, const struct kernel_route *route)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[2048];
	int err = fake_take_failure(f);

	/* As the kernel: a route's nexthop object must exist, and be of the
	 * route's family (an IPv4 path with no gateway can carry no IPv6
	 * route, nor an IPv6 one an IPv4 route). */
	if (err == 0 && route->nhid != 0) {
		const struct kernel_nhobj *nh = nhobj_get(f, route->nhid);

		if (nh == NULL ||
		    kernel_nhobj_family(nh) != kernel_route_family(route))
			err = -EINVAL;
	}
	kernel_route_format(route, buf, sizeof(buf));
	fake_record(f, "route replace %s%s", buf, err ? " (failed)" : "");
	if (err)
		return err;
	/* As the kernel: an IPv6 route of metric 0 is stored as 1024
	 * (IP6_RT_PRIO_USER), and dumps show it so. */
	if (kernel_route_family(route) == AF_INET6 && route->metric == 0) {
		struct kernel_route *r6 = malloc(sizeof(*r6));	/* large */

		if (r6 == NULL)
			return -ENOMEM;
		*r6 = *route;
		r6->metric = 1024;
		err = vec_upsert(&f->routes, r6, route_same);
		free(r6);
		return err;
	}
	return vec_upsert(&f->routes, route, route_same);
}

static int
fake_conntrack_flush(struct kernel_ops *ops, uint32_t mark, uint32_t mask)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	if (err == 0 && (mark == 0 || mask == 0))
		err = -EINVAL;
	fake_record(f, "conntrack flush mark %#x/%#x%s", mark, mask,
		    err ? " (failed)" : "");
	return err;
}

static int
fake_nhobj_dump(struct kernel_ops *ops, kernel_nhobj_cb cb, void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	/* As kernel_nl's: a blackhole is never shown. */
	for (size_t i = 0; i < f->nhobjs.n; i++)
		if (!((struct kernel_nhobj *)vec_at(&f->nhobjs, i))->blackhole)
			cb(vec_at(&f->nhobjs, i), arg);
	return 0;
}

/* The kernel's checks that matter to the reconciler's ordering: a path's
 * device and a group's members must exist, a group holds only paths, and
 * a resilient group's bucket count never changes. */
static int
nhobj_check(struct kernel_fake *f, const struct kernel_nhobj *nh)
{
	const struct kernel_nhobj *old = nhobj_get(f, nh->id);
	struct kernel_link key = { 0 };

	if (nh->n_members == 0 && nh->blackhole)
		return 0;
	if (nh->n_members == 0) {
		snprintf(key.name, sizeof(key.name), "%s", nh->dev);
		return vec_find(&f->links, &key, link_same) < 0 ? -ENODEV : 0;
	}
	/* Linux before 5.13: NHA_GROUP_TYPE 1 and NHA_RES_GROUP are
	 * unknown, and the request is refused as invalid. */
	if (nh->resilient && !f->resilient)
		return -EINVAL;
	for (unsigned int m = 0; m < nh->n_members; m++) {
		const struct kernel_nhobj *x = nhobj_get(f, nh->member[m].id);

		if (x == NULL || x->n_members != 0 ||
		    (x->blackhole && nh->n_members > 1) ||
		    kernel_nhobj_family(x) != kernel_nhobj_family(nh))
			return -EINVAL;
	}
	if (old && (old->n_members == 0 || old->resilient != nh->resilient ||
		    (nh->resilient && old->buckets != nh->buckets)))
		return -EINVAL;
	return 0;
}

static int
fake_nhobj_replace(struct kernel_ops *ops, const struct kernel_nhobj *nh)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[2048];
	int err = fake_take_failure(f);

	if (err == 0)
		err = nhobj_check(f, nh);
	kernel_nhobj_format(nh, buf, sizeof(buf));
	fake_record(f, "nexthop replace %s%s", buf, err ? " (failed)" : "");
	return err ? err : vec_upsert(&f->nhobjs, nh, nhobj_same);
}

static int
fake_nhobj_del(struct kernel_ops *ops, uint32_t id)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	fake_record(f, "nexthop del id %#x%s", id, err ? " (failed)" : "");
	if (err)
		return err;
	if (nhobj_get(f, id) == NULL)
		return -ENOENT;
	nhobj_remove_cascade(f, id);
	return 0;
}

static int
fake_route_del(struct kernel_ops *ops, const struct kernel_route *route)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[2048];
	int err = fake_take_failure(f);
	ssize_t i;

	kernel_route_format(route, buf, sizeof(buf));
	fake_record(f, "route del %s%s", buf, err ? " (failed)" : "");
	if (err)
		return err;
	i = vec_find(&f->routes, route, route_same);
	if (i < 0)
		return -ESRCH;
	vec_remove(&f->routes, (size_t)i);
	return 0;
}

static int
fake_rule_dump(struct kernel_ops *ops, kernel_rule_cb cb, void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	for (size_t i = 0; i < f->rules.n; i++)
		cb(vec_at(&f->rules, i), arg);
	return 0;
}

static int
fake_rule_add(struct kernel_ops *ops, const struct kernel_rule *rule)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[256];
	int err = fake_take_failure(f);

	kernel_rule_format(rule, buf, sizeof(buf));
	fake_record(f, "rule add %s%s", buf, err ? " (failed)" : "");
	if (err)
		return err;
	if (vec_find(&f->rules, rule, rule_same) >= 0)
		return -EEXIST;
	return vec_push(&f->rules, rule);
}

static int
fake_rule_del(struct kernel_ops *ops, const struct kernel_rule *rule)
{
	struct kernel_fake *f = fake_of(ops);
	char buf[256];
	int err = fake_take_failure(f);
	ssize_t i;

	kernel_rule_format(rule, buf, sizeof(buf));
	fake_record(f, "rule del %s%s", buf, err ? " (failed)" : "");
	if (err)
		return err;
	i = vec_find(&f->rules, rule, rule_same);
	if (i < 0)
		return -ENOENT;
	vec_remove(&f->rules, (size_t)i);
	return 0;
}

static int
fake_sysctl_set(struct kernel_ops *ops, const char *path, const char *value)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	fake_record(f, "sysctl %s=%s%s", path, value, err ? " (failed)" : "");
	return err;
}

/* --- nft: our table as names, sets as sorted prefixes -------------------- */

static ssize_t
fake_set_find(struct kernel_fake *f, const char *name)
{
	for (size_t i = 0; i < f->nft_sets.n; i++)
		if (strcmp(((struct fake_set *)vec_at(&f->nft_sets, i))->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static struct fake_set *
fake_set_get(struct kernel_fake *f, const char *name, bool create)
{
	ssize_t i = fake_set_find(f, name);
	struct fake_set s = { 0 };

	if (i >= 0)
		return vec_at(&f->nft_sets, (size_t)i);
	if (!create)
		return NULL;
	snprintf(s.name, sizeof(s.name), "%s", name);
	if (vec_push(&f->nft_sets, &s) < 0)
		return NULL;
	return vec_at(&f->nft_sets, f->nft_sets.n - 1);
}

static void
fake_set_del(struct kernel_fake *f, const char *name)
{
	ssize_t i = fake_set_find(f, name);

	if (i < 0)
		return;
	free(((struct fake_set *)vec_at(&f->nft_sets, (size_t)i))->e);
	vec_remove(&f->nft_sets, (size_t)i);
}

static void
fake_chain_del(struct kernel_fake *f, const char *name)
{
	for (size_t i = 0; i < f->nft_chains.n; i++)
		if (strcmp(vec_at(&f->nft_chains, i), name) == 0) {
			vec_remove(&f->nft_chains, i);
			return;
		}
}

static void
fake_counter_del(struct kernel_fake *f, const char *name)
{
	for (size_t i = 0; i < f->nft_counters.n; i++)
		if (strcmp(((struct kernel_nft_counter *)
			    vec_at(&f->nft_counters, i))->name, name) == 0) {
			vec_remove(&f->nft_counters, i);
			return;
		}
}

/* As nft's "add": a counter already there keeps its count. */
static int
fake_counter_add(struct kernel_fake *f, const char *name)
{
	struct kernel_nft_counter c = { .packets = 0 };

	for (size_t i = 0; i < f->nft_counters.n; i++)
		if (strcmp(((struct kernel_nft_counter *)
			    vec_at(&f->nft_counters, i))->name, name) == 0)
			return 0;
	snprintf(c.name, sizeof(c.name), "%s", name);
	return vec_push(&f->nft_counters, &c);
}

static int
fake_chain_add(struct kernel_fake *f, const char *name)
{
	char c[64] = { 0 };

	for (size_t i = 0; i < f->nft_chains.n; i++)
		if (strcmp(vec_at(&f->nft_chains, i), name) == 0)
			return 0;
	snprintf(c, sizeof(c), "%s", name);
	return vec_push(&f->nft_chains, c);
}

static void
fake_table_del(struct kernel_fake *f)
{
	while (f->nft_sets.n)
		fake_set_del(f, ((struct fake_set *)vec_at(&f->nft_sets, 0))->name);
	f->nft_chains.n = 0;
	f->nft_counters.n = 0;
	f->nft_table = false;
}

/* A word after @prefix in @line, up to a space or the end, into @out. */
static bool
word_after(const char *line, size_t n, const char *prefix, char *out,
	   size_t len)
{
	size_t p = strlen(prefix), w;

	if (n <= p || strncmp(line, prefix, p) != 0)
		return false;
	w = strcspn(line + p, " \n");
	if (w == 0 || w >= len || p + w > n)
		return false;
	memcpy(out, line + p, w);
	out[w] = '\0';
	return true;
}

/* What one line of a script does to our table, as far as the fake
 * models it (table, chain and set names). */
static int
fake_nft_line(struct kernel_fake *f, const char *l, size_t n, bool *in_ours)
{
	char w[64];

	if (n == strlen("delete table " KERNEL_NFT_TABLE) &&
	    strncmp(l, "delete table " KERNEL_NFT_TABLE, n) == 0) {
		fake_table_del(f);
		return 0;
	}
	if (strncmp(l, "table ", 6) == 0) {
		*in_ours = strncmp(l, "table " KERNEL_NFT_TABLE " {",
				   strlen("table " KERNEL_NFT_TABLE " {")) == 0;
		if (*in_ours)
			f->nft_table = true;
		return 0;
	}
	if (word_after(l, n, "delete chain " KERNEL_NFT_TABLE " ", w, sizeof(w))) {
		fake_chain_del(f, w);
		return 0;
	}
	if (word_after(l, n, "delete set " KERNEL_NFT_TABLE " ", w, sizeof(w))) {
		fake_set_del(f, w);
		return 0;
	}
	if (word_after(l, n, "delete counter " KERNEL_NFT_TABLE " ", w, sizeof(w))) {
		fake_counter_del(f, w);
		return 0;
	}
	if (*in_ours && word_after(l, n, "\tcounter ", w, sizeof(w)))
		return fake_counter_add(f, w);
	if (*in_ours && word_after(l, n, "\tchain ", w, sizeof(w)))
		return fake_chain_add(f, w);
	if (*in_ours && word_after(l, n, "\tset ", w, sizeof(w)))
		return fake_set_get(f, w, true) ? 0 : -ENOMEM;
	return 0;
}

/*
 * nft: record each line of a script and keep what it does to our
 * table's names; listings are recorded too ("nft list …"), so tests can
 * tell that none happened.
 */
static int
fake_nft_run(struct kernel_ops *ops, const char *script, char **output)
{
	struct kernel_fake *f = fake_of(ops);
	bool in_ours = false;
	int err;

	if (output)
		*output = NULL;
	if (strncmp(script, "list ", 5) == 0) {
		fake_record(f, "nft %s", script);
		if (output && (*output = strdup("")) == NULL)
			return -ENOMEM;
		return 0;
	}
	err = fake_take_failure(f);
	for (const char *l = script; *l;) {
		size_t n = strcspn(l, "\n");

		fake_record(f, "nft %.*s%s", (int)n, l, err ? " (failed)" : "");
		l += n + (l[n] == '\n');
	}
	if (err)
		return err;
	for (const char *l = script; *l;) {
		size_t n = strcspn(l, "\n");

		if ((err = fake_nft_line(f, l, n, &in_ours)) < 0)
			return err;
		l += n + (l[n] == '\n');
	}
	return 0;
}

/* Put @p into (add) or take it out of sorted @s; -ENOENT: not there to
 * take out. */
static int
fake_set_change(struct fake_set *s, const struct ts_prefix *p, bool add)
{
	size_t i = 0;

	while (i < s->n && ts_prefix_cmp(&s->e[i], p) < 0)
		i++;
	if (i < s->n && ts_prefix_cmp(&s->e[i], p) == 0) {
		if (!add) {
			memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
			s->n--;
		}
		return 0;
	}
	if (!add)
		return -ENOENT;
	struct ts_prefix *e = realloc(s->e, (s->n + 1) * sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	s->e = e;
	memmove(&e[i + 1], &e[i], (s->n - i) * sizeof(*e));
	e[i] = *p;
	s->n++;
	return 0;
}

static void
fake_record_elems(struct kernel_fake *f, const struct kernel_nft_elems *x,
		  const char *failed)
{
	char p[TS_PREFIX_STRLEN];

	if (x->op == KERNEL_NFT_ELEMS_REPLACE) {
		/* The first prefixes only: a log line has 512 bytes. */
		char b[400] = "";
		size_t off = 0, i;

		for (i = 0; i < x->n && off + TS_PREFIX_STRLEN + 2 < sizeof(b); i++)
			off += (size_t)snprintf(b + off, sizeof(b) - off, "%s%s",
						i ? ", " : "",
						ts_prefix_format(&x->elems[i], p, sizeof(p)));
		fake_record(f, "nft replace set %s %s { %s%s }%s", KERNEL_NFT_TABLE,
			    x->set, b, i < x->n ? ", …" : "", failed);
		return;
	}
	for (size_t i = 0; i < x->n; i++)
		fake_record(f, "nft %s element %s %s { %s }%s",
			    x->op == KERNEL_NFT_ELEMS_ADD ? "add" : "delete",
			    KERNEL_NFT_TABLE, x->set,
			    ts_prefix_format(&x->elems[i], p, sizeof(p)), failed);
}

static int
elems_family(const struct kernel_nft_elems *x)
{
	return x->family == AF_INET6 ? AF_INET6 : AF_INET;
}

/* One transaction: checked whole first (a missing set or element fails
 * it all, as in the kernel), then applied. */
static int
fake_nft_elems(struct kernel_ops *ops, const struct kernel_nft_elems *batch,
	       size_t n)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	for (size_t i = 0; i < n && err == 0; i++) {
		const struct kernel_nft_elems *x = &batch[i];
		struct fake_set *s;

		/* As the kernel: an element of the set's type only. */
		for (size_t j = 0; j < x->n; j++)
			if (x->elems[j].family != elems_family(x))
				err = -EINVAL;
		if (err || x->op == KERNEL_NFT_ELEMS_REPLACE)
			continue;
		if ((s = fake_set_get(f, x->set, false)) == NULL) {
			err = -ENOENT;
			break;
		}
		if (s->family && s->family != elems_family(x)) {
			err = -EINVAL;
			break;
		}
		for (size_t j = 0; j < x->n && x->op == KERNEL_NFT_ELEMS_DEL; j++) {
			size_t k = 0;

			while (k < s->n && ts_prefix_cmp(&s->e[k], &x->elems[j]) != 0)
				k++;
			if (k == s->n)
				err = -ENOENT;
		}
	}
	for (size_t i = 0; i < n; i++)
		fake_record_elems(f, &batch[i], err ? " (failed)" : "");
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const struct kernel_nft_elems *x = &batch[i];
		struct fake_set *s = fake_set_get(f, x->set, true);

		if (s == NULL)
			return -ENOMEM;
		if (x->op == KERNEL_NFT_ELEMS_REPLACE) {
			f->nft_table = true;
			s->n = 0;
		}
		s->family = (uint8_t)elems_family(x);
		for (size_t j = 0; j < x->n; j++)
			if ((err = fake_set_change(s, &x->elems[j],
						   x->op != KERNEL_NFT_ELEMS_DEL)) < 0)
				return err;
	}
	return 0;
}

static int
fake_nft_set_get(struct kernel_ops *ops, const char *set,
		 struct ts_prefix **elems, size_t *n)
{
	struct kernel_fake *f = fake_of(ops);
	struct fake_set *s = fake_set_get(f, set, false);

	fake_record(f, "nft get set %s %s", KERNEL_NFT_TABLE, set);
	*elems = NULL;
	*n = 0;
	if (s == NULL)
		return -ENOENT;
	if (s->n == 0)
		return 0;
	if ((*elems = malloc(s->n * sizeof(**elems))) == NULL)
		return -ENOMEM;
	memcpy(*elems, s->e, s->n * sizeof(**elems));
	*n = s->n;
	return 0;
}

static int
fake_nft_names(struct kernel_ops *ops, struct kernel_nft_names *names)
{
	struct kernel_fake *f = fake_of(ops);
	int err = 0;

	fake_record(f, "nft names %s", KERNEL_NFT_TABLE);
	memset(names, 0, sizeof(*names));
	if (!f->nft_table)
		return -ENOENT;
	if (f->nft_chains.n &&
	    (names->chains = calloc(f->nft_chains.n, sizeof(char *))) == NULL)
		err = -ENOMEM;
	for (size_t i = 0; i < f->nft_chains.n && err == 0; i++, names->n_chains++)
		if ((names->chains[i] = strdup(vec_at(&f->nft_chains, i))) == NULL)
			err = -ENOMEM;
	if (err == 0 && f->nft_sets.n &&
	    (names->sets = calloc(f->nft_sets.n, sizeof(char *))) == NULL)
		err = -ENOMEM;
	for (size_t i = 0; i < f->nft_sets.n && err == 0; i++, names->n_sets++)
		if ((names->sets[i] = strdup(((struct fake_set *)
					      vec_at(&f->nft_sets, i))->name)) == NULL)
			err = -ENOMEM;
	if (err == 0 && f->nft_counters.n &&
	    (names->counters = calloc(f->nft_counters.n, sizeof(char *))) == NULL)
		err = -ENOMEM;
	for (size_t i = 0; i < f->nft_counters.n && err == 0; i++, names->n_counters++)
		if ((names->counters[i] = strdup(((struct kernel_nft_counter *)
						  vec_at(&f->nft_counters, i))->name)) == NULL)
			err = -ENOMEM;
	if (err)
		kernel_nft_names_free(names);
	return err;
}

/* Not recorded: a read, as a view or a scrape makes. */
static int
fake_nft_counters(struct kernel_ops *ops, struct kernel_nft_counter **out,
		  size_t *n)
{
	struct kernel_fake *f = fake_of(ops);

	*out = NULL;
	*n = 0;
	if (!f->nft_table)
		return -ENOENT;
	if (f->nft_counters.n == 0)
		return 0;
	if ((*out = malloc(f->nft_counters.n * sizeof(**out))) == NULL)
		return -ENOMEM;
	memcpy(*out, vec_at(&f->nft_counters, 0),
	       f->nft_counters.n * sizeof(**out));
	*n = f->nft_counters.n;
	return 0;
}

int
kernel_fake_nft_count(struct kernel_ops *ops, const char *counter,
		      uint64_t packets)
{
	struct kernel_fake *f = fake_of(ops);

	for (size_t i = 0; i < f->nft_counters.n; i++) {
		struct kernel_nft_counter *c = vec_at(&f->nft_counters, i);

		if (strcmp(c->name, counter) == 0) {
			c->packets += packets;
			c->bytes += 60 * packets;
			return 0;
		}
	}
	return -ENOENT;
}

static int
fake_nft_monitor_fd(struct kernel_ops *ops)
{
	return -1;
}

static int
fake_nft_monitor_drain(struct kernel_ops *ops, struct kernel_nft_changes *ch)
{
	struct kernel_fake *f = fake_of(ops);

	kernel_nft_changes_merge(ch, &f->nft_foreign);
	return kernel_nft_changes_any(ch) ? 1 : 0;
}

void
kernel_fake_nft_tamper(struct kernel_ops *ops)
{
	struct kernel_fake *f = fake_of(ops);

	fake_table_del(f);
	f->nft_foreign.table = true;
}

int
kernel_fake_nft_tamper_elem(struct kernel_ops *ops, const char *set,
			    const struct ts_prefix *p, bool add)
{
	struct kernel_fake *f = fake_of(ops);
	struct fake_set *s = fake_set_get(f, set, false);
	int err;

	if (s == NULL)
		return -ENOENT;
	if ((err = fake_set_change(s, p, add)) < 0)
		return err;
	return kernel_nft_changes_add_set(&f->nft_foreign, set);
}

/* The fake has no event source: tests call the reconciler directly. */
static int
fake_monitor_fd(struct kernel_ops *ops)
{
	return -1;
}

static int
fake_monitor_drain(struct kernel_ops *ops)
{
	return 0;
}

static void
fake_destroy(struct kernel_ops *ops)
{
	struct kernel_fake *f = fake_of(ops);

	vec_free(&f->links);
	vec_free(&f->addrs);
	vec_free(&f->routes);
	vec_free(&f->rules);
	vec_free(&f->nhobjs);
	free(f->log);
	free(f->taken);
	fake_table_del(f);
	vec_free(&f->nft_chains);
	vec_free(&f->nft_sets);
	vec_free(&f->nft_counters);
	vec_free(&f->xfrm_states);
	vec_free(&f->xfrm_policies);
	kernel_nft_changes_free(&f->nft_foreign);
	free(f);
}

/* --- XFRM: SAs installed from records ---------------------------------- */

static bool
xstate_same(const void *a, const void *b)
{
	const struct kernel_xfrm_state *x = a, *y = b;

	return x->spi == y->spi && x->dst.s_addr == y->dst.s_addr;
}

static bool
policy_same(const void *a, const void *b)
{
	const struct fake_policy *x = a, *y = b;

	return x->if_id == y->if_id && x->dir == y->dir &&
	       ts_prefix_cmp(&x->src, &y->src) == 0 &&
	       ts_prefix_cmp(&x->dst, &y->dst) == 0;
}

/* Each policy of @r, as xfrm_sa_add() makes them (kernel.h). */
static int
fake_policies(struct kernel_fake *f, const struct sarec *r, bool add)
{
	for (size_t i = 0; i < r->n_ts_local; i++)
		for (size_t j = 0; j < r->n_ts_remote; j++) {
			const struct ts_prefix *l = &r->ts_local[i];
			const struct ts_prefix *m = &r->ts_remote[j];

			if (l->family != m->family)
				continue;
			for (uint8_t dir = add && r->inbound_only ? 1 : 0;
			     dir < 3; dir++) {
				struct fake_policy p = {
					.if_id = r->if_id, .dir = dir,
					.src = dir == 0 ? *l : *m,
					.dst = dir == 0 ? *m : *l,
					.reqid = r->reqid,
				};
				ssize_t k = vec_find(&f->xfrm_policies, &p,
						     policy_same);
				int err;

				if (!add) {
					if (k >= 0)
						vec_remove(&f->xfrm_policies,
							   (size_t)k);
				} else if ((err = vec_upsert(&f->xfrm_policies,
							     &p, policy_same)) < 0) {
					return err;
				}
			}
		}
	return 0;
}

static int
fake_xfrm_sa_add(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_fake *f = fake_of(ops);
	char prop[64];
	int err = fake_take_failure(f);

	if (err == 0 && (sarec_validate(r) < 0 || r->if_id == 0))
		err = -EINVAL;
	if (err == 0 && r->esn)
		err = -EOPNOTSUPP;
	if (err == 0)
		sarec_proposal(r, prop, sizeof(prop));
	else
		snprintf(prop, sizeof(prop), "?");
	fake_record(f, "xfrm add sa %s from %s serial %llu in 0x%08x out 0x%08x "
		    "if_id 0x%08x reqid %u window %u %s%s%s", r->tunnel,
		    r->negotiated_by, (unsigned long long)r->serial, r->spi_in,
		    r->spi_out, r->if_id, r->reqid, r->replay_window, prop,
		    r->inbound_only ? " inbound-only" : "",
		    err ? " (failed)" : "");
	if (err)
		return err;
	for (int in = 1; in >= (r->inbound_only ? 1 : 0); in--) {
		struct kernel_xfrm_state st = {
			.spi = in ? r->spi_in : r->spi_out,
			.src = in ? r->remote : r->local,
			.dst = in ? r->local : r->remote,
			.if_id = r->if_id, .reqid = r->reqid,
			.replay_window = r->replay_window,
		};

		if ((err = vec_upsert(&f->xfrm_states, &st, xstate_same)) < 0)
			return err;
	}
	return fake_policies(f, r, true);
}

static int
fake_xfrm_sa_del(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	fake_record(f, "xfrm del sa %s in 0x%08x out 0x%08x if_id 0x%08x%s",
		    r->tunnel, r->spi_in, r->spi_out, r->if_id,
		    err ? " (failed)" : "");
	if (err)
		return err;
	for (int in = 1; in >= 0; in--) {
		struct kernel_xfrm_state key = {
			.spi = in ? r->spi_in : r->spi_out,
			.dst = in ? r->local : r->remote,
		};
		ssize_t k = vec_find(&f->xfrm_states, &key, xstate_same);

		if (k >= 0)
			vec_remove(&f->xfrm_states, (size_t)k);
	}
	return 0;
}

static int
fake_xfrm_policy_del(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	fake_record(f, "xfrm del policies %s if_id 0x%08x%s", r->tunnel,
		    r->if_id, err ? " (failed)" : "");
	return err ? err : fake_policies(f, r, false);
}

static int
fake_xfrm_policy_add(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_fake *f = fake_of(ops);
	int err = fake_take_failure(f);

	if (err == 0 && (sarec_validate(r) < 0 || r->if_id == 0))
		err = -EINVAL;
	fake_record(f, "xfrm add policies %s if_id 0x%08x reqid %u%s%s",
		    r->tunnel, r->if_id, r->reqid,
		    r->inbound_only ? " inbound-only" : "",
		    err ? " (failed)" : "");
	return err ? err : fake_policies(f, r, true);
}

static int
fake_xfrm_state_dump(struct kernel_ops *ops, kernel_xfrm_state_cb cb,
		     void *arg)
{
	struct kernel_fake *f = fake_of(ops);

	f->dumps++;
	for (size_t i = 0; i < f->xfrm_states.n; i++)
		cb(vec_at(&f->xfrm_states, i), arg);
	return 0;
}

int
kernel_fake_xfrm_count(struct kernel_ops *ops, struct in_addr dst,
		       uint32_t spi, uint64_t packets, uint32_t replay_failed)
{
	struct kernel_fake *f = fake_of(ops);
	struct kernel_xfrm_state key = { .spi = spi, .dst = dst };
	ssize_t k = vec_find(&f->xfrm_states, &key, xstate_same);
	struct kernel_xfrm_state *st;

	if (k < 0)
		return -ENOENT;
	st = vec_at(&f->xfrm_states, (size_t)k);
	st->packets += packets;
	st->bytes += packets * 100;
	st->replay_failed += replay_failed;
	return 0;
}

size_t
kernel_fake_xfrm_policies(struct kernel_ops *ops, uint32_t if_id)
{
	struct kernel_fake *f = fake_of(ops);
	size_t n = 0;

	for (size_t i = 0; i < f->xfrm_policies.n; i++)
		n += ((const struct fake_policy *)vec_at(&f->xfrm_policies,
							 i))->if_id == if_id;
	return n;
}

struct kernel_ops *
kernel_fake_create(void)
{
	struct kernel_fake *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->ops = (struct kernel_ops){
		.link_dump = fake_link_dump,
		.link_set = fake_link_set,
		.link_del = fake_link_del,
		.addr_dump = fake_addr_dump,
		.addr_add = fake_addr_add,
		.addr_del = fake_addr_del,
		.route_dump = fake_route_dump,
		.route_replace = fake_route_replace,
		.route_del = fake_route_del,
		.nhobj_dump = fake_nhobj_dump,
		.nhobj_replace = fake_nhobj_replace,
		.nhobj_del = fake_nhobj_del,
		.rule_dump = fake_rule_dump,
		.rule_add = fake_rule_add,
		.rule_del = fake_rule_del,
		.conntrack_flush = fake_conntrack_flush,
		.sysctl_set = fake_sysctl_set,
		.xfrm_sa_add = fake_xfrm_sa_add,
		.xfrm_sa_del = fake_xfrm_sa_del,
		.xfrm_policy_del = fake_xfrm_policy_del,
		.xfrm_policy_add = fake_xfrm_policy_add,
		.xfrm_state_dump = fake_xfrm_state_dump,
		.nft_run = fake_nft_run,
		.nft_elems = fake_nft_elems,
		.nft_set_get = fake_nft_set_get,
		.nft_names = fake_nft_names,
		.nft_counters = fake_nft_counters,
		.nft_monitor_fd = fake_nft_monitor_fd,
		.nft_monitor_drain = fake_nft_monitor_drain,
		.monitor_fd = fake_monitor_fd,
		.monitor_drain = fake_monitor_drain,
		.destroy = fake_destroy,
	};
	f->links.size = sizeof(struct kernel_link);
	f->addrs.size = sizeof(struct kernel_addr);
	f->routes.size = sizeof(struct kernel_route);
	f->rules.size = sizeof(struct kernel_rule);
	f->nhobjs.size = sizeof(struct kernel_nhobj);
	f->nft_chains.size = 64;
	f->nft_sets.size = sizeof(struct fake_set);
	f->nft_counters.size = sizeof(struct kernel_nft_counter);
	f->xfrm_states.size = sizeof(struct kernel_xfrm_state);
	f->xfrm_policies.size = sizeof(struct fake_policy);
	f->resilient = true;
	return &f->ops;
}

const char *
kernel_fake_ops_log(struct kernel_ops *ops)
{
	struct kernel_fake *f = fake_of(ops);

	/* Hand the text over whole and start a fresh log. */
	free(f->taken);
	f->taken = f->log;
	f->log = NULL;
	f->log_len = f->log_cap = 0;
	f->n_ops = 0;
	return f->taken ? f->taken : "";
}

unsigned int
kernel_fake_ops_count(struct kernel_ops *ops)
{
	return fake_of(ops)->n_ops;
}

unsigned int
kernel_fake_dumps(struct kernel_ops *ops)
{
	struct kernel_fake *f = fake_of(ops);
	unsigned int n = f->dumps;

	f->dumps = 0;
	return n;
}

void
kernel_fake_fail_next(struct kernel_ops *ops, int err)
{
	fake_of(ops)->fail_next = err;
}

void
kernel_fake_set_resilient(struct kernel_ops *ops, bool resilient)
{
	fake_of(ops)->resilient = resilient;
}

int
kernel_fake_inject_link(struct kernel_ops *ops, const struct kernel_link *l)
{
	return vec_upsert(&fake_of(ops)->links, l, link_same);
}

int
kernel_fake_inject_route(struct kernel_ops *ops, const struct kernel_route *r)
{
	return vec_upsert(&fake_of(ops)->routes, r, route_same);
}

int
kernel_fake_inject_rule(struct kernel_ops *ops, const struct kernel_rule *r)
{
	struct kernel_fake *f = fake_of(ops);

	return vec_find(&f->rules, r, rule_same) >= 0 ? -EEXIST
						      : vec_push(&f->rules, r);
}

void
kernel_fake_remove_route(struct kernel_ops *ops, const struct kernel_route *r)
{
	struct kernel_fake *f = fake_of(ops);
	ssize_t i = vec_find(&f->routes, r, route_same);

	if (i >= 0)
		vec_remove(&f->routes, (size_t)i);
}

int
kernel_fake_inject_nhobj(struct kernel_ops *ops, const struct kernel_nhobj *nh)
{
	return vec_upsert(&fake_of(ops)->nhobjs, nh, nhobj_same);
}

void
kernel_fake_remove_nhobj(struct kernel_ops *ops, uint32_t id)
{
	nhobj_remove_cascade(fake_of(ops), id);
}
