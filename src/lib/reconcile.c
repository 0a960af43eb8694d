/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reconciler: dump, keep what carries the owner's marks, diff against the
 * desired state, apply the difference.  Sorted arrays and binary search
 * keep a pass at O(n log n) for thousands of tunnels.
 *
 * Every kind of object is a row of one table (kinds[]): how to order,
 * compare, format, put and delete it.  A pass is two loops over that
 * table: adds and changes in the table's (dependency) order, removals in
 * reverse.  What one kind needs of another (a link's sysctls, the routes
 * a recreated nexthop object took along, the addresses a deleted link
 * takes along) goes through the pass, not through per-kind copies of the
 * loops.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/reconcile.h"
#include "lib/vec.h"

struct written {
	struct kernel_sysctl s;
	size_t seq;
};

struct reconcile {
	struct kernel_ops *ops;
	struct kernel_marks marks;	/* what is ours */
	/* Sysctls we have set: sorted by path up to n_sorted (each pass
	 * starts by sorting), the ones first set in this pass after. */
	struct written *written;
	size_t n_written, cap_written, n_sorted;
	size_t seq;			/* order of setting, for duplicates */
};

/* --- desired-state builder ------------------------------------------------ */

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
	return VEC_PUSH(st->links, st->n_links, st->cap_links, *l);
}

int
kernel_state_add_addr(struct kernel_state *st, const struct kernel_addr *a)
{
	return VEC_PUSH(st->addrs, st->n_addrs, st->cap_addrs, *a);
}

int
kernel_state_add_route(struct kernel_state *st, const struct kernel_route *r)
{
	return VEC_PUSH(st->routes, st->n_routes, st->cap_routes, *r);
}

int
kernel_state_add_rule(struct kernel_state *st, const struct kernel_rule *r)
{
	return VEC_PUSH(st->rules, st->n_rules, st->cap_rules, *r);
}

int
kernel_state_add_nhobj(struct kernel_state *st, const struct kernel_nhobj *nh)
{
	return VEC_PUSH(st->nhobjs, st->n_nhobjs, st->cap_nhobjs, *nh);
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
	return VEC_PUSH(st->sysctls, st->n_sysctls, st->cap_sysctls, s);
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

/* Routes are identified by (family, table, dst, metric), as the kernel
 * does. */
static int
route_key_cmp(const void *pa, const void *pb)
{
	const struct kernel_route *a = pa, *b = pb;

	CMP(kernel_route_family(a), kernel_route_family(b));
	CMP(a->table, b->table);
	CMP(a->metric, b->metric);
	return ts_prefix_cmp(&a->dst, &b->dst);
}

/* Rules have no key but their whole value. */
static int
rule_cmp(const void *pa, const void *pb)
{
	const struct kernel_rule *a = pa, *b = pb;

	CMP(kernel_rule_family(a), kernel_rule_family(b));
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
	const struct kernel_marks *marks;
	int err;
};

static void
observe_link_cb(const struct kernel_link *l, void *arg)
{
	struct observed *o = arg;

	if (kernel_marks_link(o->marks, l) && o->err == 0)
		o->err = kernel_state_add_link(&o->st, l);
}

static void
observe_route_cb(const struct kernel_route *r, void *arg)
{
	struct observed *o = arg;

	if (kernel_marks_route(o->marks, r) && o->err == 0)
		o->err = kernel_state_add_route(&o->st, r);
}

static void
observe_rule_cb(const struct kernel_rule *r, void *arg)
{
	struct observed *o = arg;

	if (kernel_marks_rule(o->marks, r) && o->err == 0)
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

static void
observe_nhobj_cb(const struct kernel_nhobj *nh, void *arg)
{
	struct observed *o = arg;

	if (kernel_marks_nhobj(o->marks, nh) && o->err == 0)
		o->err = kernel_state_add_nhobj(&o->st, nh);
}

/* Dump everything; sorting is left to the caller (kinds[]).  An owner
 * without nexthop objects does not dump them. */
static int
observe(struct kernel_ops *ops, const struct kernel_marks *marks,
	struct observed *o)
{
	int err;

	kernel_state_init(&o->st);
	o->marks = marks;
	o->err = 0;
	if ((err = ops->link_dump(ops, observe_link_cb, o)) < 0 || o->err)
		goto fail;
	sort(o->st.links, o->st.n_links, sizeof(*o->st.links), link_key_cmp);
	if ((err = ops->addr_dump(ops, observe_addr_cb, o)) < 0 || o->err)
		goto fail;
	if (marks->nhid_max != 0 &&
	    ((err = ops->nhobj_dump(ops, observe_nhobj_cb, o)) < 0 || o->err))
		goto fail;
	if ((err = ops->route_dump(ops, observe_route_cb, o)) < 0 || o->err)
		goto fail;
	if ((err = ops->rule_dump(ops, observe_rule_cb, o)) < 0 || o->err)
		goto fail;
	return 0;
fail:
	kernel_state_free(&o->st);
	return err < 0 ? err : o->err;
}

/* --- one pass ------------------------------------------------------------------ */

/* What one pass knows beyond the two states. */
struct pass {
	struct reconcile *rc;
	const struct kernel_state *want, *have;	/* sorted */
	char (*touched)[IFNAMSIZ];	/* links set in this pass */
	size_t n_touched;
	uint32_t *recreated;		/* nexthop ids deleted and made anew */
	size_t n_recreated;
	struct reconcile_stats *stats;
	/* Count what a pass would do, change nothing (reconcile_drift). */
	bool dry;
	char *first;			/* dry: the first difference, as text */
	size_t first_len;
};

/* A dry pass's difference: counted like a done operation, the first one
 * kept for the caller's log line. */
static void
drift(struct pass *ps, unsigned int *what, const char *verb,
      const char *noun, const char *text)
{
	if (ps->first && ps->first_len && *ps->first == '\0')
		snprintf(ps->first, ps->first_len, "%s %s %s", verb, noun, text);
	(*what)++;
}

static void
count(struct reconcile_stats *stats, int err, unsigned int *what,
      const char *verb, const char *noun, const char *text)
{
	if (err == 0) {
		(*what)++;
		log_debug("kernel", "%s %s %s", verb, noun, text);
	} else {
		stats->failed++;
		errno = -err;
		log_warn("kernel", "%s %s %s failed", verb, noun, text);
	}
}

static int
written_cmp(const void *pa, const void *pb)
{
	const struct written *a = pa, *b = pb;
	int c = strcmp(a->s.path, b->s.path);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int
written_key_cmp(const void *key, const void *pb)
{
	return strcmp(key, ((const struct written *)pb)->s.path);
}

/* What we last wrote to @path before this pass, or NULL.  A binary
 * search: a scan per sysctl made a pass over 1,000 tunnels' 2,000
 * sysctls O(n^2). */
static struct written *
written_find(const struct reconcile *rc, const char *path)
{
	return rc->n_sorted ? bsearch(path, rc->written, rc->n_sorted,
				      sizeof(*rc->written), written_key_cmp)
			    : NULL;
}

/* Sort what we have written by path; of a path written twice keep the
 * last value.  Once per pass. */
static void
written_sort(struct reconcile *rc)
{
	size_t n = 0;

	if (rc->n_written > 1)
		qsort(rc->written, rc->n_written, sizeof(*rc->written), written_cmp);
	for (size_t i = 0; i < rc->n_written; i++) {
		if (n && strcmp(rc->written[n - 1].s.path, rc->written[i].s.path) == 0)
			n--;
		rc->written[n++] = rc->written[i];
	}
	rc->n_written = rc->n_sorted = n;
}

static void
sysctl_remember(struct reconcile *rc, const struct kernel_sysctl *s)
{
	struct written *w = written_find(rc, s->path);
	struct written add = { .s = *s, .seq = rc->seq++ };

	if (w) {
		*w = add;
		return;
	}
	if (VEC_PUSH(rc->written, rc->n_written, rc->cap_written, add) < 0)
		log_warnx("kernel", "out of memory remembering sysctl %s", s->path);
}

/* Group members compare in id order, whatever order the kernel keeps. */
static void
nhobj_normalise(void *obj)
{
	struct kernel_nhobj *nh = obj;

	sort(nh->member, nh->n_members, sizeof(nh->member[0]), member_cmp);
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

static bool
id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* --- the kinds ------------------------------------------------------------------ */

/* Adapters from the typed interface to the table's. */
#define OBJ(type, p) ((const struct type *)(p))

static int link_put(struct kernel_ops *o, const void *p)
{ return o->link_set(o, p); }
static int link_del(struct kernel_ops *o, const void *p)
{ return o->link_del(o, OBJ(kernel_link, p)->name); }
static bool link_equal(const void *a, const void *b)
{ return kernel_link_equal(a, b); }
static void link_format(const void *p, char *b, size_t n)
{ kernel_link_format(p, b, n); }
static int addr_put(struct kernel_ops *o, const void *p)
{ return o->addr_add(o, p); }
static int addr_del(struct kernel_ops *o, const void *p)
{ return o->addr_del(o, p); }
static void addr_format(const void *p, char *b, size_t n)
{ kernel_addr_format(p, b, n); }
static int nhobj_put(struct kernel_ops *o, const void *p)
{ return o->nhobj_replace(o, p); }
static int nhobj_del(struct kernel_ops *o, const void *p)
{ return o->nhobj_del(o, OBJ(kernel_nhobj, p)->id); }
static bool nhobj_equal(const void *a, const void *b)
{ return kernel_nhobj_equal(a, b); }
static void nhobj_format(const void *p, char *b, size_t n)
{ kernel_nhobj_format(p, b, n); }
static int route_put(struct kernel_ops *o, const void *p)
{ return o->route_replace(o, p); }
static int route_del(struct kernel_ops *o, const void *p)
{ return o->route_del(o, p); }
static bool route_equal(const void *a, const void *b)
{ return kernel_route_equal(a, b); }
static void route_format(const void *p, char *b, size_t n)
{ kernel_route_format(p, b, n); }
static int rule_put(struct kernel_ops *o, const void *p)
{ return o->rule_add(o, p); }
static int rule_del(struct kernel_ops *o, const void *p)
{ return o->rule_del(o, p); }
static void rule_format(const void *p, char *b, size_t n)
{ kernel_rule_format(p, b, n); }

static int
sysctl_put(struct kernel_ops *o, const void *p)
{
	return o->sysctl_set(o, OBJ(kernel_sysctl, p)->path,
			     OBJ(kernel_sysctl, p)->value);
}

static void
sysctl_format(const void *p, char *b, size_t n)
{
	snprintf(b, n, "%s=%s", OBJ(kernel_sysctl, p)->path,
		 OBJ(kernel_sysctl, p)->value);
}

static bool nh_is_path(const void *p)
{ return OBJ(kernel_nhobj, p)->n_members == 0; }
static bool nh_is_group(const void *p)
{ return OBJ(kernel_nhobj, p)->n_members > 0; }

/* A desired link must carry the owner's marks (for an XFRM interface, an
 * if_id in its range): one without would never be seen as ours again, so
 * it would be made on every pass and never removed. */
static bool
link_needed(struct pass *ps, const void *p, const void **have)
{
	char text[256];

	if (kernel_marks_link(&ps->rc->marks, p))
		return true;
	if (ps->dry)
		return false;	/* the real pass says so */
	kernel_link_format(p, text, sizeof(text));
	count(ps->stats, -EINVAL, NULL, "add", "unmarked link", text);
	return false;
}

static void
link_put_done(struct pass *ps, const void *p)
{
	strcpy(ps->touched[ps->n_touched++], OBJ(kernel_link, p)->name);
}

static int
touched_cmp(const void *key, const void *elem)
{
	return strcmp(key, elem);
}

/*
 * A sysctl below net/ipv4/conf/<link>/ is written again whenever that link
 * was (re)created or changed in this pass; any other only when its value
 * differs from what we last wrote.
 */
static bool
sysctl_needed(struct pass *ps, const void *p, const void **have)
{
	const struct kernel_sysctl *s = p;
	const struct written *w = written_find(ps->rc, s->path);
	static const char conf[] = "net/ipv4/conf/";

	if (w == NULL || strcmp(w->s.value, s->value) != 0)
		return true;
	if (strncmp(s->path, conf, sizeof(conf) - 1) == 0) {
		const char *dev = s->path + sizeof(conf) - 1;
		size_t len = strcspn(dev, "/");
		char name[IFNAMSIZ];

		/* Links are put in name order, so touched[] is sorted. */
		if (len >= sizeof(name))
			return false;
		memcpy(name, dev, len);
		name[len] = '\0';
		return ps->n_touched &&
		       bsearch(name, ps->touched, ps->n_touched,
			       sizeof(*ps->touched), touched_cmp) != NULL;
	}
	return false;
}

static void
sysctl_put_done(struct pass *ps, const void *p)
{
	sysctl_remember(ps->rc, p);
}

/* A nexthop object that cannot be replaced in place is deleted here and
 * then made anew: the kernel took the routes through it along. */
static bool
nhobj_needed(struct pass *ps, const void *p, const void **have)
{
	const struct kernel_nhobj *nh = p;
	char text[2048];
	int err;

	if (*have == NULL || !nhobj_needs_recreate(*have, nh))
		return true;
	if (ps->dry)
		return true;	/* counted as a change */
	kernel_nhobj_format(nh, text, sizeof(text));
	err = ps->rc->ops->nhobj_del(ps->rc->ops, nh->id);
	count(ps->stats, err, &ps->stats->deleted, "delete", "nexthop", text);
	if (err == 0)
		ps->recreated[ps->n_recreated++] = nh->id;
	*have = NULL;
	return true;
}

static bool
route_needed(struct pass *ps, const void *p, const void **have)
{
	const struct kernel_route *r = p;

	if (*have && r->nhid && id_in(r->nhid, ps->recreated, ps->n_recreated))
		*have = NULL;	/* went with its nexthop */
	return true;
}

/* A link about to go takes its addresses with it. */
static bool
addr_del_needed(struct pass *ps, const void *p)
{
	struct kernel_link key;

	memset(&key, 0, sizeof(key));
	strcpy(key.name, OBJ(kernel_addr, p)->ifname);
	return find(&key, ps->want->links, ps->want->n_links, sizeof(key),
		    link_key_cmp) != NULL;
}

struct kind {
	const char *noun;		/* in log lines */
	size_t size;
	size_t items, n;		/* offsets into struct kernel_state */
	/* Order by key; NULL for what the kernel interface cannot dump
	 * (sysctls: put whenever needed() says, never deleted). */
	int (*cmp)(const void *, const void *);
	/* Same key, different value: put again.  NULL: the key is all. */
	bool (*equal)(const void *, const void *);
	/* Only the objects of this array it selects (NULL: all). */
	bool (*select)(const void *);
	int (*put)(struct kernel_ops *, const void *);
	int (*del)(struct kernel_ops *, const void *);	/* NULL: never */
	void (*format)(const void *, char *, size_t);
	/* Before a put: may forget @have (made anew) or say "not needed". */
	bool (*needed)(struct pass *, const void *want, const void **have);
	void (*put_done)(struct pass *, const void *want);
	bool (*del_needed)(struct pass *, const void *have);
	bool count_apart;		/* in stats->sysctls, not added/changed */
};

#define ARRAY(field, nfield) \
	.size = sizeof(*((struct kernel_state *)0)->field), \
	.items = offsetof(struct kernel_state, field), \
	.n = offsetof(struct kernel_state, nfield)

/*
 * Dependency order: links, then what lives on them (sysctls, addresses),
 * nexthop paths through them, groups of those paths, routes through
 * either, and last the rules that lead to the routes' tables, so traffic
 * never meets a rule without its table.  Removals run bottom up: groups
 * let go of a path before the path goes.
 */
static const struct kind kinds[] = {
	{ "link", ARRAY(links, n_links), link_key_cmp, link_equal, NULL,
	  link_put, link_del, link_format, link_needed, link_put_done, NULL,
	  false },
	{ "sysctl", ARRAY(sysctls, n_sysctls), NULL, NULL, NULL,
	  sysctl_put, NULL, sysctl_format, sysctl_needed, sysctl_put_done,
	  NULL, true },
	{ "address", ARRAY(addrs, n_addrs), addr_key_cmp, NULL, NULL,
	  addr_put, addr_del, addr_format, NULL, NULL, addr_del_needed, false },
	{ "nexthop", ARRAY(nhobjs, n_nhobjs), nhobj_key_cmp, nhobj_equal,
	  nh_is_path, nhobj_put, nhobj_del, nhobj_format, nhobj_needed, NULL,
	  NULL, false },
	{ "nexthop", ARRAY(nhobjs, n_nhobjs), nhobj_key_cmp, nhobj_equal,
	  nh_is_group, nhobj_put, nhobj_del, nhobj_format, nhobj_needed, NULL,
	  NULL, false },
	{ "route", ARRAY(routes, n_routes), route_key_cmp, route_equal, NULL,
	  route_put, route_del, route_format, route_needed, NULL, NULL, false },
	{ "rule", ARRAY(rules, n_rules), rule_cmp, NULL, NULL,
	  rule_put, rule_del, rule_format, NULL, NULL, NULL, false },
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static void *
items_of(const struct kernel_state *st, const struct kind *k)
{
	return *(void *const *)((const char *)st + k->items);
}

static size_t
n_of(const struct kernel_state *st, const struct kind *k)
{
	return *(const size_t *)((const char *)st + k->n);
}

/* Add or change what @k's part of the desired state lacks or has else. */
static void
pass_put(struct pass *ps, const struct kind *k)
{
	const char *want = items_of(ps->want, k);
	const char *have = items_of(ps->have, k);
	size_t n_want = n_of(ps->want, k), n_have = n_of(ps->have, k);
	struct reconcile_stats *stats = ps->stats;
	char text[2048];

	for (size_t i = 0; i < n_want; i++) {
		const void *w = want + i * k->size;
		const void *h = k->cmp ? find(w, have, n_have, k->size, k->cmp)
				       : NULL;
		unsigned int *what;
		int err;

		if (k->select && !k->select(w))
			continue;
		if (k->needed && !k->needed(ps, w, &h))
			continue;
		if (h && (k->equal == NULL || k->equal(h, w)))
			continue;
		k->format(w, text, sizeof(text));
		what = k->count_apart ? &stats->sysctls :
		       h ? &stats->changed : &stats->added;
		if (ps->dry) {
			drift(ps, what, h ? "change" : "add", k->noun, text);
			continue;
		}
		err = k->put(ps->rc->ops, w);
		count(stats, err, what,
		      k->count_apart ? "set" : h ? "change" : "add", k->noun,
		      text);
		if (err == 0 && k->put_done)
			k->put_done(ps, w);
	}
}

/* Delete what is ours of kind @k and no longer desired. */
static void
pass_del(struct pass *ps, const struct kind *k)
{
	const char *want = items_of(ps->want, k);
	const char *have = items_of(ps->have, k);
	size_t n_want = n_of(ps->want, k), n_have = n_of(ps->have, k);
	char text[2048];

	if (k->del == NULL)
		return;
	for (size_t i = 0; i < n_have; i++) {
		const void *h = have + i * k->size;

		if ((k->select && !k->select(h)) ||
		    find(h, want, n_want, k->size, k->cmp) ||
		    (k->del_needed && !k->del_needed(ps, h)))
			continue;
		k->format(h, text, sizeof(text));
		if (ps->dry)
			drift(ps, &ps->stats->deleted, "delete", k->noun, text);
		else
			count(ps->stats, k->del(ps->rc->ops, h),
			      &ps->stats->deleted, "delete", k->noun, text);
	}
}

/* Sort @st's arrays in place (nexthop groups' members too). */
static void
state_sort(struct kernel_state *st)
{
	for (size_t i = 0; i < st->n_nhobjs; i++)
		nhobj_normalise(&st->nhobjs[i]);
	for (size_t i = 0; i < N_KINDS; i++)
		if (kinds[i].cmp)
			sort(items_of(st, &kinds[i]), n_of(st, &kinds[i]),
			     kinds[i].size, kinds[i].cmp);
}

/* A copy of @src's arrays (never NULL, so empty ones need no care). */
int
kernel_state_copy(struct kernel_state *dst, const struct kernel_state *src)
{
	kernel_state_init(dst);
	for (size_t i = 0; i < N_KINDS; i++) {
		const struct kind *k = &kinds[i];
		size_t n = n_of(src, k);
		void **items = (void **)((char *)dst + k->items);

		if (*items != NULL)
			continue;	/* nexthops: two rows, one array */
		if ((*items = malloc((n + 1) * k->size)) == NULL) {
			kernel_state_free(dst);
			return -ENOMEM;
		}
		if (n)
			memcpy(*items, items_of(src, k), n * k->size);
		*(size_t *)((char *)dst + k->n) = n;
	}
	return 0;
}

/* --- apply -------------------------------------------------------------------- */

struct reconcile *
reconcile_create(struct kernel_ops *ops, const struct kernel_marks *marks)
{
	struct reconcile *rc = calloc(1, sizeof(*rc));

	if (rc) {
		rc->ops = ops;
		rc->marks = *marks;
	}
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

/* One pass from @have (sorted, ours) to @desired; @ps holds rc, stats
 * and the dry-run fields. */
static int
pass_run(struct pass *pps, const struct kernel_state *have,
	 const struct kernel_state *desired)
{
	struct kernel_state want;
	struct pass ps = *pps;
	int err;

	ps.want = &want;
	ps.have = have;
	/* Sorted copies of the desired arrays, for lookups both ways. */
	if ((err = kernel_state_copy(&want, desired)) < 0)
		return err;
	written_sort(ps.rc);
	state_sort(&want);
	ps.touched = calloc(want.n_links + 1, sizeof(*ps.touched));
	ps.recreated = calloc(want.n_nhobjs + 1, sizeof(*ps.recreated));
	if (ps.touched == NULL || ps.recreated == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < N_KINDS; i++)
		if (!(ps.dry && kinds[i].cmp == NULL))	/* sysctls: not seen */
			pass_put(&ps, &kinds[i]);
	for (size_t i = N_KINDS; i-- > 0;)
		pass_del(&ps, &kinds[i]);
	err = ps.stats->failed ? -EAGAIN : 0;
out:
	free(ps.touched);
	free(ps.recreated);
	kernel_state_free(&want);
	return err;
}

int
reconcile_apply(struct reconcile *rc, const struct kernel_state *desired,
		struct reconcile_stats *stats)
{
	struct observed o;
	int err;

	memset(stats, 0, sizeof(*stats));
	if ((err = observe(rc->ops, &rc->marks, &o)) < 0) {
		errno = -err;
		log_warn("kernel", "dumping kernel state failed");
		return err;
	}
	state_sort(&o.st);
	err = pass_run(&(struct pass){ .rc = rc, .stats = stats }, &o.st,
		       desired);
	kernel_state_free(&o.st);
	return err;
}

int
reconcile_observe(struct kernel_ops *ops, const struct kernel_marks *marks,
		  struct kernel_state *st)
{
	struct observed o;
	int err;

	if ((err = observe(ops, marks, &o)) < 0)
		return err;
	state_sort(&o.st);
	*st = o.st;
	return 0;
}

unsigned int
reconcile_drift(struct reconcile *rc, const struct kernel_state *observed,
		const struct kernel_state *desired, char *first, size_t len)
{
	struct reconcile_stats st;
	struct pass ps = { .rc = rc, .stats = &st, .dry = true,
			   .first = first, .first_len = len };

	memset(&st, 0, sizeof(st));
	if (first && len)
		*first = '\0';
	/* Only a copy can fail (ENOMEM): then say "unknown", not "none". */
	if (pass_run(&ps, observed, desired) == -ENOMEM)
		return UINT_MAX;
	return st.added + st.changed + st.deleted;
}

int
reconcile_apply_delta(struct reconcile *rc, const struct kernel_state *from,
		      const struct kernel_state *to, struct reconcile_stats *stats)
{
	struct kernel_state have;
	int err;

	memset(stats, 0, sizeof(*stats));
	if ((err = kernel_state_copy(&have, from)) < 0)
		return err;
	state_sort(&have);
	err = pass_run(&(struct pass){ .rc = rc, .stats = stats }, &have, to);
	kernel_state_free(&have);
	return err;
}

int
reconcile_flush(struct reconcile *rc, struct reconcile_stats *stats)
{
	struct kernel_state none;
	int err;

	kernel_state_init(&none);
	err = reconcile_apply(rc, &none, stats);
	rc->n_written = rc->n_sorted = 0;
	return err;
}
