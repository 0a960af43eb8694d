/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reconciler: dump, keep what is ours, diff against the desired state,
 * apply the difference.  Sorted arrays and binary search keep a pass at
 * O(n log n) for thousands of tunnels.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/reconcile.h"

struct reconcile {
	struct kernel_ops *ops;
	struct kernel_sysctl *written;	/* sysctls we have set, by path */
	size_t n_written;
};

/* --- desired-state builder ------------------------------------------------ */

static int
array_push(void **items, size_t *n, size_t size, const void *item)
{
	/* The capacity is implied by n: 4, then doubling at each power of
	 * two from 4 on. */
	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		size_t cap = *n ? *n * 2 : 4;
		void *p = realloc(*items, cap * size);

		if (p == NULL)
			return -ENOMEM;
		*items = p;
	}
	memcpy((char *)*items + *n * size, item, size);
	(*n)++;
	return 0;
}

void
kernel_state_init(struct kernel_state *st)
{
	memset(st, 0, sizeof(*st));
}

void
kernel_state_free(struct kernel_state *st)
{
	free(st->links);
	free(st->addrs);
	free(st->routes);
	free(st->rules);
	free(st->nhobjs);
	free(st->sysctls);
	kernel_state_init(st);
}

int
kernel_state_add_link(struct kernel_state *st, const struct kernel_link *l)
{
	return array_push((void **)&st->links, &st->n_links, sizeof(*l), l);
}

int
kernel_state_add_addr(struct kernel_state *st, const struct kernel_addr *a)
{
	return array_push((void **)&st->addrs, &st->n_addrs, sizeof(*a), a);
}

int
kernel_state_add_route(struct kernel_state *st, const struct kernel_route *r)
{
	return array_push((void **)&st->routes, &st->n_routes, sizeof(*r), r);
}

int
kernel_state_add_rule(struct kernel_state *st, const struct kernel_rule *r)
{
	return array_push((void **)&st->rules, &st->n_rules, sizeof(*r), r);
}

int
kernel_state_add_nhobj(struct kernel_state *st, const struct kernel_nhobj *nh)
{
	return array_push((void **)&st->nhobjs, &st->n_nhobjs, sizeof(*nh), nh);
}

int
kernel_state_add_sysctl(struct kernel_state *st, const char *path,
			const char *value)
{
	struct kernel_sysctl s = { 0 };

	if (strlen(path) >= sizeof(s.path) || strlen(value) >= sizeof(s.value))
		return -ENAMETOOLONG;
	strcpy(s.path, path);
	strcpy(s.value, value);
	return array_push((void **)&st->sysctls, &st->n_sysctls, sizeof(s), &s);
}

/* --- keys and ordering ------------------------------------------------------ */

#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)

static int
link_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kernel_link *)a)->name,
		      ((const struct kernel_link *)b)->name);
}

static int
addr_key_cmp(const void *pa, const void *pb)
{
	const struct kernel_addr *a = pa, *b = pb;
	int c = strcmp(a->ifname, b->ifname);

	return c ? c : ts_prefix_cmp(&a->local, &b->local);
}

/* Routes are identified by (table, dst, metric), as the kernel does. */
static int
route_key_cmp(const void *pa, const void *pb)
{
	const struct kernel_route *a = pa, *b = pb;

	CMP(a->table, b->table);
	CMP(a->metric, b->metric);
	return ts_prefix_cmp(&a->dst, &b->dst);
}

/* Rules have no key but their whole value. */
static int
rule_cmp(const void *pa, const void *pb)
{
	const struct kernel_rule *a = pa, *b = pb;

	CMP(a->priority, b->priority);
	CMP(a->table, b->table);
	CMP(a->fwmark, b->fwmark);
	CMP(a->fwmask, b->fwmask);
	return ts_prefix_cmp(&a->src, &b->src);
}

static int
nhobj_key_cmp(const void *pa, const void *pb)
{
	const struct kernel_nhobj *a = pa, *b = pb;

	CMP(a->id, b->id);
	return 0;
}

static int
member_cmp(const void *pa, const void *pb)
{
	const struct kernel_nhobj_member *a = pa, *b = pb;

	CMP(a->id, b->id);
	return 0;
}

/* qsort() and bsearch() must not see a NULL array, even an empty one. */
static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static void *
find(const void *key, const void *base, size_t n, size_t size,
     int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, base, n, size, cmp) : NULL;
}

/* --- observed state ------------------------------------------------------------ */

struct observed {
	struct kernel_state st;		/* only objects we own */
	const struct kernel_state *desired;
	int err;
};

static void
observe_link_cb(const struct kernel_link *l, void *arg)
{
	struct observed *o = arg;

	if (kernel_link_is_ours(l) && o->err == 0)
		o->err = kernel_state_add_link(&o->st, l);
}

static void
observe_route_cb(const struct kernel_route *r, void *arg)
{
	struct observed *o = arg;

	if (kernel_route_is_ours(r) && o->err == 0)
		o->err = kernel_state_add_route(&o->st, r);
}

static void
observe_rule_cb(const struct kernel_rule *r, void *arg)
{
	struct observed *o = arg;

	if (kernel_rule_is_ours(r) && o->err == 0)
		o->err = kernel_state_add_rule(&o->st, r);
}

/* Addresses are ours when they sit on a link that is ours; links were
 * observed first and are sorted by then. */
static void
observe_addr_cb(const struct kernel_addr *a, void *arg)
{
	struct observed *o = arg;
	struct kernel_link key;

	if (o->err != 0)
		return;
	memset(&key, 0, sizeof(key));
	strcpy(key.name, a->ifname);
	if (find(&key, o->st.links, o->st.n_links, sizeof(key), link_key_cmp))
		o->err = kernel_state_add_addr(&o->st, a);
}

/* Group members compare in id order, whatever order the kernel keeps. */
static void
nhobj_normalise(struct kernel_nhobj *nh)
{
	sort(nh->member, nh->n_members, sizeof(nh->member[0]), member_cmp);
}

static void
observe_nhobj_cb(const struct kernel_nhobj *nh, void *arg)
{
	struct observed *o = arg;

	if (kernel_nhobj_is_ours(nh) && o->err == 0) {
		o->err = kernel_state_add_nhobj(&o->st, nh);
		if (o->err == 0)
			nhobj_normalise(&o->st.nhobjs[o->st.n_nhobjs - 1]);
	}
}

static int
observe(struct kernel_ops *ops, struct observed *o)
{
	int err;

	kernel_state_init(&o->st);
	o->err = 0;
	if ((err = ops->link_dump(ops, observe_link_cb, o)) < 0 || o->err)
		goto fail;
	sort(o->st.links, o->st.n_links, sizeof(*o->st.links), link_key_cmp);
	if ((err = ops->addr_dump(ops, observe_addr_cb, o)) < 0 || o->err)
		goto fail;
	if ((err = ops->nhobj_dump(ops, observe_nhobj_cb, o)) < 0 || o->err)
		goto fail;
	if ((err = ops->route_dump(ops, observe_route_cb, o)) < 0 || o->err)
		goto fail;
	if ((err = ops->rule_dump(ops, observe_rule_cb, o)) < 0 || o->err)
		goto fail;
	sort(o->st.addrs, o->st.n_addrs, sizeof(*o->st.addrs), addr_key_cmp);
	sort(o->st.routes, o->st.n_routes, sizeof(*o->st.routes), route_key_cmp);
	sort(o->st.rules, o->st.n_rules, sizeof(*o->st.rules), rule_cmp);
	sort(o->st.nhobjs, o->st.n_nhobjs, sizeof(*o->st.nhobjs), nhobj_key_cmp);
	return 0;
fail:
	kernel_state_free(&o->st);
	return err < 0 ? err : o->err;
}

/* --- apply -------------------------------------------------------------------- */

struct reconcile *
reconcile_create(struct kernel_ops *ops)
{
	struct reconcile *rc = calloc(1, sizeof(*rc));

	if (rc)
		rc->ops = ops;
	return rc;
}

void
reconcile_destroy(struct reconcile *rc)
{
	if (rc == NULL)
		return;
	free(rc->written);
	free(rc);
}

static void
count(struct reconcile_stats *stats, int err, unsigned int *what,
      const char *verb, const char *text)
{
	if (err == 0) {
		(*what)++;
		log_debug("kernel", "%s %s", verb, text);
	} else {
		stats->failed++;
		errno = -err;
		log_warn("kernel", "%s %s failed", verb, text);
	}
}

static const struct kernel_sysctl *
written_find(const struct reconcile *rc, const char *path)
{
	for (size_t i = 0; i < rc->n_written; i++)
		if (strcmp(rc->written[i].path, path) == 0)
			return &rc->written[i];
	return NULL;
}

/*
 * A sysctl below net/ipv4/conf/<link>/ is written again whenever that link
 * was (re)created or changed in this pass; any other only when its value
 * differs from what we last wrote.
 */
static bool
sysctl_needed(const struct reconcile *rc, const struct kernel_sysctl *s,
	      char (*touched)[IFNAMSIZ], size_t n_touched)
{
	const struct kernel_sysctl *w = written_find(rc, s->path);
	static const char conf[] = "net/ipv4/conf/";

	if (w == NULL || strcmp(w->value, s->value) != 0)
		return true;
	if (strncmp(s->path, conf, sizeof(conf) - 1) == 0) {
		const char *dev = s->path + sizeof(conf) - 1;
		size_t len = strcspn(dev, "/");

		for (size_t i = 0; i < n_touched; i++)
			if (strlen(touched[i]) == len &&
			    strncmp(touched[i], dev, len) == 0)
				return true;
	}
	return false;
}

static void
sysctl_remember(struct reconcile *rc, const struct kernel_sysctl *s)
{
	struct kernel_sysctl *w = (struct kernel_sysctl *)written_find(rc, s->path);

	if (w) {
		*w = *s;
		return;
	}
	if (array_push((void **)&rc->written, &rc->n_written, sizeof(*s), s) < 0)
		log_warnx("kernel", "out of memory remembering sysctl %s", s->path);
}

/*
 * Replacing in place keeps a resilient group's buckets (and so its flows);
 * the kernel refuses it when a path would become a group or back, or when
 * a resilient group's type or bucket count would change.  Those must be
 * deleted and made again.
 */
static bool
nhobj_needs_recreate(const struct kernel_nhobj *have,
		     const struct kernel_nhobj *want)
{
	if ((have->n_members == 0) != (want->n_members == 0))
		return true;
	if (want->n_members == 0)
		return false;
	return have->resilient != want->resilient ||
	       (want->resilient && have->buckets != want->buckets);
}

/* Add or change the nexthop objects of one kind (paths, then groups, so
 * a group's members exist).  Ids made anew go to @recreated: the kernel
 * took the routes through them along. */
static void
apply_nhobjs(struct reconcile *rc, const struct kernel_state *want,
	     const struct kernel_state *have, bool groups, uint32_t *recreated,
	     size_t *n_recreated, struct reconcile_stats *stats)
{
	struct kernel_ops *ops = rc->ops;
	char text[2048];

	for (size_t i = 0; i < want->n_nhobjs; i++) {
		const struct kernel_nhobj *nh = &want->nhobjs[i];
		const struct kernel_nhobj *old;
		int err;

		if ((nh->n_members > 0) != groups)
			continue;
		old = find(nh, have->nhobjs, have->n_nhobjs, sizeof(*nh),
			   nhobj_key_cmp);
		if (old && kernel_nhobj_equal(old, nh))
			continue;
		kernel_nhobj_format(nh, text, sizeof(text));
		if (old && nhobj_needs_recreate(old, nh)) {
			err = ops->nhobj_del(ops, nh->id);
			count(stats, err, &stats->deleted, "delete nexthop", text);
			if (err == 0)
				recreated[(*n_recreated)++] = nh->id;
			old = NULL;
		}
		count(stats, ops->nhobj_replace(ops, nh),
		      old ? &stats->changed : &stats->added,
		      old ? "change nexthop" : "add nexthop", text);
	}
}

static bool
id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int
reconcile_apply(struct reconcile *rc, const struct kernel_state *desired,
		struct reconcile_stats *stats)
{
	struct kernel_ops *ops = rc->ops;
	struct kernel_state want;
	struct observed o;
	char text[2048];
	char (*touched)[IFNAMSIZ] = NULL;
	uint32_t *recreated = NULL;
	size_t n_touched = 0, n_recreated = 0, i;
	int err;

	memset(stats, 0, sizeof(*stats));
	if ((err = observe(ops, &o)) < 0) {
		errno = -err;
		log_warn("kernel", "dumping kernel state failed");
		return err;
	}

	/* Sorted copies of the desired arrays, for lookups both ways. */
	want = *desired;
	want.links = malloc((desired->n_links + 1) * sizeof(*want.links));
	want.addrs = malloc((desired->n_addrs + 1) * sizeof(*want.addrs));
	want.routes = malloc((desired->n_routes + 1) * sizeof(*want.routes));
	want.rules = malloc((desired->n_rules + 1) * sizeof(*want.rules));
	want.nhobjs = malloc((desired->n_nhobjs + 1) * sizeof(*want.nhobjs));
	touched = calloc(desired->n_links + 1, sizeof(*touched));
	recreated = calloc(desired->n_nhobjs + 1, sizeof(*recreated));
	if (!want.links || !want.addrs || !want.routes || !want.rules ||
	    !want.nhobjs || !touched || !recreated) {
		err = -ENOMEM;
		goto out;
	}
	if (desired->n_links)
		memcpy(want.links, desired->links,
		       desired->n_links * sizeof(*want.links));
	if (desired->n_addrs)
		memcpy(want.addrs, desired->addrs,
		       desired->n_addrs * sizeof(*want.addrs));
	if (desired->n_routes)
		memcpy(want.routes, desired->routes,
		       desired->n_routes * sizeof(*want.routes));
	if (desired->n_rules)
		memcpy(want.rules, desired->rules,
		       desired->n_rules * sizeof(*want.rules));
	if (desired->n_nhobjs)
		memcpy(want.nhobjs, desired->nhobjs,
		       desired->n_nhobjs * sizeof(*want.nhobjs));
	for (i = 0; i < want.n_nhobjs; i++)
		nhobj_normalise(&want.nhobjs[i]);
	sort(want.nhobjs, want.n_nhobjs, sizeof(*want.nhobjs), nhobj_key_cmp);
	sort(want.links, want.n_links, sizeof(*want.links), link_key_cmp);
	sort(want.addrs, want.n_addrs, sizeof(*want.addrs), addr_key_cmp);
	sort(want.routes, want.n_routes, sizeof(*want.routes), route_key_cmp);
	sort(want.rules, want.n_rules, sizeof(*want.rules), rule_cmp);

	/* 1. Links: create what is missing, change what differs. */
	for (i = 0; i < want.n_links; i++) {
		const struct kernel_link *l = &want.links[i];
		const struct kernel_link *have = find(l, o.st.links,
		    o.st.n_links, sizeof(*l), link_key_cmp);

		if (have && kernel_link_equal(have, l))
			continue;
		kernel_link_format(l, text, sizeof(text));
		err = ops->link_set(ops, l);
		count(stats, err, have ? &stats->changed : &stats->added,
		      have ? "change link" : "add link", text);
		if (err == 0)
			strcpy(touched[n_touched++], l->name);
	}

	/* 2. Sysctls of those links (and any others not yet written). */
	for (i = 0; i < desired->n_sysctls; i++) {
		const struct kernel_sysctl *s = &desired->sysctls[i];

		if (!sysctl_needed(rc, s, touched, n_touched))
			continue;
		err = ops->sysctl_set(ops, s->path, s->value);
		snprintf(text, sizeof(text), "%s=%s", s->path, s->value);
		count(stats, err, &stats->sysctls, "set sysctl", text);
		if (err == 0)
			sysctl_remember(rc, s);
	}

	/* 3. Addresses on our links. */
	for (i = 0; i < want.n_addrs; i++) {
		const struct kernel_addr *a = &want.addrs[i];

		if (find(a, o.st.addrs, o.st.n_addrs, sizeof(*a), addr_key_cmp))
			continue;
		kernel_addr_format(a, text, sizeof(text));
		count(stats, ops->addr_add(ops, a), &stats->added, "add address", text);
	}

	/* 4. Nexthop objects: paths on those links, then groups of them. */
	apply_nhobjs(rc, &want, &o.st, false, recreated, &n_recreated, stats);
	apply_nhobjs(rc, &want, &o.st, true, recreated, &n_recreated, stats);

	/* 5. Routes, then 6. the rules that lead to their tables. */
	for (i = 0; i < want.n_routes; i++) {
		const struct kernel_route *r = &want.routes[i];
		const struct kernel_route *have = find(r, o.st.routes,
		    o.st.n_routes, sizeof(*r), route_key_cmp);

		if (have && r->nhid && id_in(r->nhid, recreated, n_recreated))
			have = NULL;	/* went with its nexthop */
		if (have && kernel_route_equal(have, r))
			continue;
		kernel_route_format(r, text, sizeof(text));
		count(stats, ops->route_replace(ops, r),
		      have ? &stats->changed : &stats->added,
		      have ? "change route" : "add route", text);
	}
	for (i = 0; i < want.n_rules; i++) {
		const struct kernel_rule *r = &want.rules[i];

		if (find(r, o.st.rules, o.st.n_rules, sizeof(*r), rule_cmp))
			continue;
		kernel_rule_format(r, text, sizeof(text));
		count(stats, ops->rule_add(ops, r), &stats->added, "add rule", text);
	}

	/* Removals, in reverse dependency order. */
	for (i = 0; i < o.st.n_rules; i++) {
		const struct kernel_rule *r = &o.st.rules[i];

		if (find(r, want.rules, want.n_rules, sizeof(*r), rule_cmp))
			continue;
		kernel_rule_format(r, text, sizeof(text));
		count(stats, ops->rule_del(ops, r), &stats->deleted, "delete rule", text);
	}
	for (i = 0; i < o.st.n_routes; i++) {
		const struct kernel_route *r = &o.st.routes[i];

		if (find(r, want.routes, want.n_routes, sizeof(*r), route_key_cmp))
			continue;
		kernel_route_format(r, text, sizeof(text));
		count(stats, ops->route_del(ops, r), &stats->deleted, "delete route", text);
	}
	/* Groups before paths: a path still in a group cannot go cleanly. */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; i < o.st.n_nhobjs; i++) {
			const struct kernel_nhobj *nh = &o.st.nhobjs[i];

			if ((nh->n_members > 0) != (pass == 0) ||
			    find(nh, want.nhobjs, want.n_nhobjs, sizeof(*nh),
				 nhobj_key_cmp))
				continue;
			kernel_nhobj_format(nh, text, sizeof(text));
			count(stats, ops->nhobj_del(ops, nh->id),
			      &stats->deleted, "delete nexthop", text);
		}
	}
	for (i = 0; i < o.st.n_addrs; i++) {
		const struct kernel_addr *a = &o.st.addrs[i];
		struct kernel_link key;

		if (find(a, want.addrs, want.n_addrs, sizeof(*a), addr_key_cmp))
			continue;
		/* A link about to go takes its addresses with it. */
		memset(&key, 0, sizeof(key));
		strcpy(key.name, a->ifname);
		if (!find(&key, want.links, want.n_links, sizeof(key), link_key_cmp))
			continue;
		kernel_addr_format(a, text, sizeof(text));
		count(stats, ops->addr_del(ops, a), &stats->deleted, "delete address", text);
	}
	for (i = 0; i < o.st.n_links; i++) {
		const struct kernel_link *l = &o.st.links[i];

		if (find(l, want.links, want.n_links, sizeof(*l), link_key_cmp))
			continue;
		kernel_link_format(l, text, sizeof(text));
		count(stats, ops->link_del(ops, l->name), &stats->deleted,
		      "delete link", text);
	}
	err = stats->failed ? -EAGAIN : 0;
out:
	free(want.links);
	free(want.addrs);
	free(want.routes);
	free(want.rules);
	free(want.nhobjs);
	free(touched);
	free(recreated);
	kernel_state_free(&o.st);
	return err;
}

int
reconcile_flush(struct reconcile *rc, struct reconcile_stats *stats)
{
	struct kernel_state none;
	int err;

	kernel_state_init(&none);
	err = reconcile_apply(rc, &none, stats);
	rc->n_written = 0;
	return err;
}
