/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "tunsteerd/desired.h"
#include "tunsteerd/engine.h"
#include "lib/audit.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "tunsteerd/nft.h"
#include "lib/reconcile.h"

struct engine {
	struct kernel_ops *ops;
	struct reconcile *rc;
	struct nft_sync *nft;
	struct config *conf;		/* NULL until the first load */
	struct kernel_state want;
	/* want's last routes and nexthop objects: the policies' groups and
	 * routes, which health decides (desired_build_egress()). */
	struct kernel_state egress;
	struct nft_state nft_want;
	time_t loaded;
	struct timespec started;	/* CLOCK_MONOTONIC: uptime survives clock steps */
	unsigned int loads, failed_loads, repairs, failovers, ct_flushes;
	unsigned int audits;		/* audits compared with want */
	uint64_t *policy_failovers;	/* per policy of conf (metrics) */
	/* Bumped whenever we change the kernel: an audit begun before holds
	 * a state we have since left (engine_audit_result()). */
	unsigned long kernel_gen;
	bool kernel_ok;			/* last reconcile had no failures */
	bool standby;			/* egress withdrawn (engine_set_standby) */
	bool plain_groups;		/* no resilient nexthop groups */
	engine_retry_fn nft_retry_fn;	/* a failed nft apply wants a retry */
	void *nft_retry_arg;
	engine_health_fn health_fn;
	void *health_arg;
	struct engine_stage stage;
	void *stage_arg;
	engine_checks_fn checks_fn;
	void *checks_arg;
	engine_ct_flush_fn ct_flush_fn;	/* NULL: flush on the loop */
	void *ct_flush_arg;
	const struct loopmeter *loop;
	engine_ipsec_fn ipsec_fn;	/* the views' IKE status */
	void *ipsec_arg;
};

void
engine_set_loop_meter(struct engine *e, const struct loopmeter *m)
{
	e->loop = m;
}

void
engine_set_nft_retry_hook(struct engine *e, engine_retry_fn fn, void *arg)
{
	e->nft_retry_fn = fn;
	e->nft_retry_arg = arg;
}

unsigned int
engine_nft_failures(const struct engine *e)
{
	struct nft_sync_status st;

	nft_sync_status(e->nft, &st);
	return st.failures;
}

void
engine_set_stage(struct engine *e, const struct engine_stage *st, void *arg)
{
	e->stage = *st;
	e->stage_arg = arg;
}

void
engine_set_health_source(struct engine *e, engine_health_fn fn, void *arg)
{
	e->health_fn = fn;
	e->health_arg = arg;
}

void
engine_set_checks_source(struct engine *e, engine_checks_fn fn, void *arg)
{
	e->checks_fn = fn;
	e->checks_arg = arg;
}

void
engine_set_ipsec_source(struct engine *e, engine_ipsec_fn fn, void *arg)
{
	e->ipsec_fn = fn;
	e->ipsec_arg = arg;
}

static const struct health *
health_of(const struct engine *e, const char *name)
{
	return e->health_fn ? e->health_fn(e->health_arg, name) : NULL;
}

/* Health states of @conf's tunnels, by name; NULL on allocation failure
 * (then everything counts as up). */
static enum health_state *
health_states(const struct engine *e, const struct config *conf)
{
	enum health_state *h = calloc(conf->n_tunnels + 1, sizeof(*h));

	for (size_t i = 0; h && i < conf->n_tunnels; i++) {
		const struct health *x = health_of(e, conf->tunnels[i].name);

		h[i] = x ? x->state : HEALTH_INIT;
	}
	return h;
}

/* The MTU tunnel @t's installed CHILD SA leaves; 0: none, or not ours to
 * follow (an explicit mtu, a GRE tunnel). */
static unsigned int
negotiated_mtu(const struct engine *e, const struct config_tunnel *t)
{
	struct ike_status st;

	if (!t->mtu_auto || e->ipsec_fn == NULL ||
	    e->ipsec_fn(e->ipsec_arg, t->name, &st) < 0 ||
	    st.link != IKE_LINK_UP)
		return 0;
	return st.esp_mtu;
}

/* Give @conf's tunnels the MTUs their CHILD SAs negotiated.  How many
 * changed; their old values into @old (n_tunnels of them) if not NULL. */
static size_t
follow_negotiated_mtus(const struct engine *e, struct config *conf,
		       unsigned int *old)
{
	size_t changed = 0;

	for (size_t i = 0; i < conf->n_tunnels; i++) {
		struct config_tunnel *t = &conf->tunnels[i];
		unsigned int m = negotiated_mtu(e, t);

		if (old)
			old[i] = t->mtu;
		if (m == 0)
			continue;
		t->mtu_negotiated = true;
		if (m == t->mtu)
			continue;
		if (old)
			log_notice("engine", "tunnel %s: MTU %u -> %u, as its "
				   "CHILD SA's transform leaves", t->name,
				   t->mtu, m);
		config_tunnel_use_mtu(t, conf->mss_clamp, m);
		changed++;
	}
	return changed;
}

struct engine *
engine_create(struct kernel_ops *ops)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->ops = ops;
	e->rc = reconcile_create(ops, &kernel_marks_tunsteerd);
	e->nft = nft_sync_create(ops);
	if (e->rc == NULL || e->nft == NULL) {
		engine_destroy(e, true);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &e->started);
	return e;
}

void
engine_destroy(struct engine *e, bool keep_state)
{
	struct reconcile_stats st;

	if (e == NULL)
		return;
	if (!keep_state && e->rc && e->nft) {
		if (nft_sync_flush(e->nft) < 0)
			log_warnx("engine", "removing nft table failed");
		if (reconcile_flush(e->rc, &st) < 0)
			log_warnx("engine", "removing kernel state: %u operations failed",
				  st.failed);
		else
			log_info("engine", "removed kernel state: %u objects", st.deleted);
	}
	reconcile_destroy(e->rc);
	nft_sync_destroy(e->nft);
	kernel_state_free(&e->want);
	kernel_state_free(&e->egress);
	nft_state_free(&e->nft_want);
	config_free(e->conf);
	free(e->policy_failovers);
	free(e);
}

void
engine_probe_nh_groups(struct engine *e)
{
	int r = kernel_nhobj_probe_resilient(e->ops, DESIRED_NH_PROBE_PATH,
					     DESIRED_NH_PROBE_GROUP,
					     KERNEL_RTPROT_TUNSTEER,
					     DESIRED_NH_BUCKETS);

	/* Unknown counts as absent: plain groups work on every kernel with
	 * nexthop objects, while resilient ones the kernel refuses would
	 * leave every policy on its blackhole fallback. */
	e->plain_groups = r != 1;
	if (r == 1)
		log_info("engine", "nexthop groups: resilient");
	else if (r == 0)
		log_notice("engine", "nexthop groups: plain; the kernel has no"
			   " resilient groups (Linux 5.13 or later), so a"
			   " failover may move flows between the tunnels that"
			   " stay up");
	else {
		errno = -r;
		log_warn("engine", "nexthop groups: plain; cannot test the"
			 " kernel for resilient groups");
	}
}

const char *
engine_nh_groups(const struct engine *e)
{
	return e->plain_groups ? "plain" : "resilient";
}

static double
now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

static int
apply(struct engine *e, const char *why)
{
	struct reconcile_stats st;
	unsigned int nft_changes = 0;
	double t0 = now_ms(), t1, t2;
	int err, nerr;

	e->kernel_gen++;
	err = reconcile_apply(e->rc, &e->want, &st);
	t1 = now_ms();
	nerr = nft_sync_apply(e->nft, &e->nft_want, &nft_changes);
	t2 = now_ms();
	if (nerr < 0) {
		errno = -nerr;
		log_warn("engine", "%s: nft table not applied; retrying", why);
		if (e->nft_retry_fn)
			e->nft_retry_fn(e->nft_retry_arg);
	}
	e->kernel_ok = err == 0;
	if (st.added || st.changed || st.deleted || st.failed || nft_changes)
		log_info("engine", "%s: kernel +%u ~%u -%u (%u failed), nft %u"
			 " (%.0f ms + %.0f ms)", why, st.added, st.changed,
			 st.deleted, st.failed, nft_changes, t1 - t0, t2 - t1);
	return err < 0 ? err : nerr;
}

static int
reserve(void **items, size_t *cap, size_t need, size_t size)
{
	void *p;

	if (need <= *cap)
		return 0;
	if ((p = reallocarray(*items, need, size)) == NULL)
		return -ENOMEM;
	*items = p;
	*cap = need;
	return 0;
}

/* Put @eg in place of @old at the end of @w (desired_build() put it
 * there).  Fails only before changing anything. */
static int
splice(struct kernel_state *w, const struct kernel_state *old,
       const struct kernel_state *eg)
{
	size_t r0 = w->n_routes - old->n_routes;
	size_t g0 = w->n_nhobjs - old->n_nhobjs;

	if (reserve((void **)&w->routes, &w->cap_routes, r0 + eg->n_routes,
		    sizeof(*w->routes)) < 0 ||
	    reserve((void **)&w->nhobjs, &w->cap_nhobjs, g0 + eg->n_nhobjs,
		    sizeof(*w->nhobjs)) < 0)
		return -ENOMEM;
	if (eg->n_routes)
		memcpy(w->routes + r0, eg->routes, eg->n_routes * sizeof(*w->routes));
	if (eg->n_nhobjs)
		memcpy(w->nhobjs + g0, eg->nhobjs, eg->n_nhobjs * sizeof(*w->nhobjs));
	w->n_routes = r0 + eg->n_routes;
	w->n_nhobjs = g0 + eg->n_nhobjs;
	return 0;
}

/* The egress objects for @health, or a standby's. */
static int
build_egress(const struct engine *e, const struct config *conf,
	     const enum health_state *health, struct kernel_state *eg)
{
	return e->standby ? desired_build_standby(conf, eg)
			  : desired_build_egress(conf, health, eg);
}

/*
 * The whole desired state of @conf now, into @ks and @ns, and its egress
 * objects alone (those last in @ks) into @eg.  0, or a negative errno
 * with nothing to free.
 */
static int
build_state(const struct engine *e, const struct config *conf,
	    struct kernel_state *ks, struct nft_state *ns,
	    struct kernel_state *eg)
{
	enum health_state *health = health_states(e, conf);
	struct kernel_state active;
	int err;

	if (health == NULL)
		return -ENOMEM;
	err = desired_build(conf, health, ks, ns);
	if (err == 0 && (err = desired_build_egress(conf, health, &active)) == 0) {
		if (!e->standby) {
			*eg = active;
		} else {
			/* desired_build() made the active egress: put the
			 * standby's in its place. */
			if ((err = desired_build_standby(conf, eg)) == 0 &&
			    (err = splice(ks, &active, eg)) < 0)
				kernel_state_free(eg);
			kernel_state_free(&active);
		}
	}
	if (err < 0) {
		kernel_state_free(ks);
		nft_state_free(ns);
	} else if (e->plain_groups) {
		desired_plain_groups(ks);
		desired_plain_groups(eg);
	}
	free(health);
	return err;
}

int
engine_load(struct engine *e, const char *path, FILE *errs)
{
	struct config_errors ce = { 0 };
	struct config *conf;

	/* 1. Parse and validate: no side effects. */
	conf = config_load(path, &ce);
	if (conf == NULL) {
		for (size_t i = 0; i < ce.n; i++) {
			log_warnx("config", "%s", ce.msgs[i]);
			if (errs)
				fprintf(errs, "%s\n", ce.msgs[i]);
		}
		config_errors_free(&ce);
		e->failed_loads++;
		log_warnx("config", "%s not loaded; %s", path,
			  e->conf ? "keeping the running config" : "no config running");
		return -EINVAL;
	}
	return engine_use(e, conf, errs);
}

/* @next's failover counters, each policy's carried over by name from the
 * running config (most keep their place: looked for there first).  NULL
 * if out of memory. */
static uint64_t *
policy_counts(const struct engine *e, const struct config *next)
{
	const struct config *c = e->conf;
	uint64_t *pf = calloc(next->n_policies + 1, sizeof(*pf));

	for (size_t p = 0; pf && c && p < next->n_policies; p++) {
		const char *name = next->policies[p].name;

		if (p < c->n_policies && strcmp(c->policies[p].name, name) == 0) {
			pf[p] = e->policy_failovers[p];
			continue;
		}
		for (size_t q = 0; q < c->n_policies; q++)
			if (strcmp(c->policies[q].name, name) == 0)
				pf[p] = e->policy_failovers[q];
	}
	return pf;
}

int
engine_use(struct engine *e, struct config *conf, FILE *errs)
{
	struct kernel_state ks, eg;
	struct nft_state ns;
	double t0 = now_ms();
	uint64_t *pf = NULL;
	int err;

	/* 2. Prepare: may fail, allocates, touches nothing here; the
	 * prober's and the passive watch's new sets are only staged. */
	if (e->stage.prepare &&
	    (err = e->stage.prepare(e->stage_arg, conf)) < 0) {
		if (e->stage.abort)
			e->stage.abort(e->stage_arg);
		errno = -err;
		log_warn("config", "%s: refused", conf->path);
		if (errs)
			fprintf(errs, "%s: %s\n", conf->path, strerror(-err));
		config_free(conf);
		e->failed_loads++;
		return err;
	}
	(void)follow_negotiated_mtus(e, conf, NULL);
	err = build_state(e, conf, &ks, &ns, &eg);
	if (err == 0 && (pf = policy_counts(e, conf)) == NULL) {
		kernel_state_free(&ks);
		kernel_state_free(&eg);
		nft_state_free(&ns);
		err = -ENOMEM;
	}
	if (err < 0) {
		if (e->stage.abort)
			e->stage.abort(e->stage_arg);
		errno = -err;
		log_warn("config", "%s: cannot build kernel state", conf->path);
		if (errs)
			fprintf(errs, "%s: cannot build kernel state: %s\n",
				conf->path, strerror(-err));
		config_free(conf);
		e->failed_loads++;
		return err;
	}
	/* 3. Apply: commit the staged sets, swap in, then converge; kernel
	 * errors are retried. */
	if (e->stage.commit)
		e->stage.commit(e->stage_arg);
	kernel_state_free(&e->want);
	kernel_state_free(&e->egress);
	nft_state_free(&e->nft_want);
	config_free(e->conf);
	free(e->policy_failovers);
	e->policy_failovers = pf;
	e->conf = conf;
	e->want = ks;
	e->egress = eg;
	e->nft_want = ns;
	e->loads++;
	e->loaded = time(NULL);
	log_notice("config", "%s loaded: %zu tunnels, %zu egress policies"
		   " (prepared in %.0f ms)", conf->path, conf->n_tunnels,
		   conf->n_policies, now_ms() - t0);
	(void)apply(e, "config");
	return 0;
}

/* Do two egress states (desired_build_egress() of one config) send
 * egress differently?  Both are built in the same order. */
static bool
egress_differs(const struct kernel_state *a, const struct kernel_state *b)
{
	if (a->n_routes != b->n_routes || a->n_nhobjs != b->n_nhobjs)
		return true;
	for (size_t i = 0; i < a->n_routes; i++)
		if (!kernel_route_equal(&a->routes[i], &b->routes[i]))
			return true;
	for (size_t i = 0; i < a->n_nhobjs; i++)
		if (!kernel_nhobj_equal(&a->nhobjs[i], &b->nhobjs[i]))
			return true;
	return false;
}

/* The group @r goes through in @ks: at *@gi, where desired_build_egress()
 * put it (each policy's group in the order of its routes), else looked
 * for.  NULL for a route through none. */
static const struct kernel_nhobj *
route_group(const struct kernel_state *ks, const struct kernel_route *r,
	    size_t gi)
{
	if (r->nhid == 0)
		return NULL;
	if (gi < ks->n_nhobjs && ks->nhobjs[gi].id == r->nhid)
		return &ks->nhobjs[gi];
	for (size_t i = 0; i < ks->n_nhobjs; i++)
		if (ks->nhobjs[i].id == r->nhid)
			return &ks->nhobjs[i];
	return NULL;
}

/*
 * One failover more for each policy whose egress differs from @a to @b
 * (its table's routes, or the group they go through).  Both are
 * desired_build_egress()'s: routes by policy, in policy order, so one
 * walk of each, not a search per policy.
 */
static void
count_policy_failovers(struct engine *e, const struct kernel_state *a,
		       const struct kernel_state *b)
{
	size_t ra = 0, rb = 0, ga = 0, gb = 0;

	for (size_t p = 0; p < e->conf->n_policies; p++) {
		unsigned int t = desired_policy_table(p);
		bool moved = false;

		for (;;) {
			const struct kernel_route *x = ra < a->n_routes &&
				a->routes[ra].table == t ? &a->routes[ra] : NULL;
			const struct kernel_route *y = rb < b->n_routes &&
				b->routes[rb].table == t ? &b->routes[rb] : NULL;
			const struct kernel_nhobj *gx, *gy;

			if (x == NULL && y == NULL)
				break;
			gx = x ? route_group(a, x, ga) : NULL;
			gy = y ? route_group(b, y, gb) : NULL;
			if (x == NULL || y == NULL || !kernel_route_equal(x, y) ||
			    (gx == NULL) != (gy == NULL) ||
			    (gx && !kernel_nhobj_equal(gx, gy)))
				moved = true;
			if (x) {
				ga += x->nhid != 0;
				ra++;
			}
			if (y) {
				gb += y->nhid != 0;
				rb++;
			}
		}
		e->policy_failovers[p] += moved;
	}
}

static int
id_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

static bool
id_in(uint32_t id, const uint32_t *ids, size_t n)
{
	return n && bsearch(&id, ids, n, sizeof(id), id_cmp) != NULL;
}

/* The path ids that carry egress in @eg (members of a group a route goes
 * through), sorted, into *@out (caller frees); their number, or -ENOMEM.
 * Sorted sets, not a scan of every route and group per tunnel, which
 * grew as tunnels x routes x groups. */
static ssize_t
carried_paths(const struct kernel_state *eg, uint32_t **out)
{
	uint32_t *via = calloc(eg->n_routes + 1, sizeof(*via));
	uint32_t *ids = calloc(eg->n_nhobjs * KERNEL_MAX_NEXTHOPS + 1,
			       sizeof(*ids));
	size_t n_via = 0, n = 0;

	if (via == NULL || ids == NULL) {
		free(via);
		free(ids);
		return -ENOMEM;
	}
	for (size_t r = 0; r < eg->n_routes; r++)
		if (eg->routes[r].nhid)
			via[n_via++] = eg->routes[r].nhid;
	if (n_via > 1)
		qsort(via, n_via, sizeof(*via), id_cmp);
	for (size_t g = 0; g < eg->n_nhobjs; g++) {
		const struct kernel_nhobj *nh = &eg->nhobjs[g];

		if (!id_in(nh->id, via, n_via))
			continue;
		for (unsigned int m = 0; m < nh->n_members; m++)
			ids[n++] = nh->member[m].id;
	}
	if (n > 1)
		qsort(ids, n, sizeof(*ids), id_cmp);
	free(via);
	*out = ids;
	return (ssize_t)n;
}

/*
 * A tunnel that stopped carrying egress because it failed: its flows now
 * leave through another tunnel, and the conntrack entries they made on
 * the old one (a NAT binding, a firewall's state) must go, so that the
 * next packet starts afresh.  Only that tunnel's entries: flows on the
 * tunnels that stay keep theirs.  A tunnel that is still up and merely
 * left the set because a better one came back keeps its entries too.
 * @before and @after are egress states (desired_build_egress()).
 */
static void
flush_failed_tunnels(struct engine *e, const struct kernel_state *before,
		     const struct kernel_state *after,
		     const enum health_state *health)
{
	uint32_t *ids = calloc(e->conf->n_tunnels + 1, sizeof(*ids));
	uint32_t *was = NULL, *is = NULL;
	ssize_t n_was = -ENOMEM, n_is = -ENOMEM;
	unsigned int flushed = 0;
	double t0 = now_ms();

	if (ids != NULL && desired_path_ids(e->conf, ids) == 0 &&
	    (n_was = carried_paths(before, &was)) >= 0)
		n_is = carried_paths(after, &is);
	if (n_is < 0) {
		log_warnx("egress", "cannot compute tunnel marks; conntrack "
			  "entries of failed tunnels are left to time out");
		goto out;
	}
	for (size_t i = 0; i < e->conf->n_tunnels; i++) {
		const char *name = e->conf->tunnels[i].name;
		uint32_t mark = desired_ct_mark(ids[i]);
		int err;

		if (health[i] == HEALTH_UP || health[i] == HEALTH_INIT ||
		    !id_in(ids[i], was, (size_t)n_was) ||
		    id_in(ids[i], is, (size_t)n_is))
			continue;
		if (e->ct_flush_fn) {
			/* Off the loop: counted when done (engine_ct_flushed). */
			if ((err = e->ct_flush_fn(e->ct_flush_arg, mark,
						  DESIRED_CT_MARK_MASK)) < 0) {
				errno = -err;
				log_warn("egress", "%s: cannot queue the deletion of "
					 "its conntrack entries", name);
			} else {
				log_notice("egress", "%s: left egress while %s; "
					   "deleting its conntrack entries (mark "
					   "0x%08x/0x%08x)", name,
					   health_state_name(health[i]), mark,
					   DESIRED_CT_MARK_MASK);
			}
			continue;
		}
		err = e->ops->conntrack_flush(e->ops, mark, DESIRED_CT_MARK_MASK);
		flushed++;
		if (err < 0) {
			errno = -err;
			log_warn("egress", "%s: deleting conntrack entries "
				 "(mark 0x%08x/0x%08x) failed", name, mark,
				 DESIRED_CT_MARK_MASK);
		} else {
			e->ct_flushes++;
			log_notice("egress", "%s: left egress while %s; deleted its "
				   "conntrack entries (mark 0x%08x/0x%08x)", name,
				   health_state_name(health[i]), mark,
				   DESIRED_CT_MARK_MASK);
		}
	}
	/* Each flush walks the whole conntrack table in the kernel: what
	 * that costs the loop is worth seeing. */
	if (flushed)
		log_info("egress", "%u conntrack flushes (%.1f ms)", flushed,
			 now_ms() - t0);
out:
	free(ids);
	free(was);
	free(is);
}

/*
 * Health decides only each policy's group and routes (desired_build_egress),
 * so a health change builds just those, compares them with the last ones
 * and changes only what differs, without dumping the kernel: its cost is
 * that of the policies, not of every tunnel, address, route and rule
 * (with 1,000 tunnels a full build and reconcile pass took ~30 ms of
 * loop time natively and ~680 ms in the lab's TCG VM, per change).  The
 * full pass stays the repair: it runs here when an operation of the
 * change failed, and on kernel events and the slow timer (engine_resync).
 * The nft table does not depend on health and is not looked at.
 */
/*
 * Rebuild the egress objects and change only what differs (see
 * engine_health_changed()); @why names the change in the log.  A
 * @failover is counted, and the conntrack entries of tunnels that left
 * egress flushed; a role change (engine_set_standby()) is neither.
 */
static int
egress_update(struct engine *e, const char *why, bool failover)
{
	struct reconcile_stats st;
	struct kernel_state eg;
	enum health_state *health;
	double t0 = now_ms();
	int err;

	if (e->conf == NULL)
		return 0;
	if ((health = health_states(e, e->conf)) == NULL)
		return -ENOMEM;
	err = build_egress(e, e->conf, health, &eg);
	if (err < 0) {
		free(health);
		errno = -err;
		log_warn("engine", "cannot recompute egress; keeping the current one");
		return err;
	}
	if (e->plain_groups)
		desired_plain_groups(&eg);
	/* A failover is a change of where egress goes, not any change of
	 * health (init -> up, say, moves nothing). */
	if (!egress_differs(&e->egress, &eg)) {
		kernel_state_free(&eg);
		free(health);
		return 0;
	}
	if ((err = splice(&e->want, &e->egress, &eg)) < 0) {
		kernel_state_free(&eg);
		free(health);
		log_warnx("engine", "out of memory; egress not recomputed");
		return err;
	}
	if (failover) {
		e->failovers++;
		count_policy_failovers(e, &e->egress, &eg);
	}
	e->kernel_gen++;
	/* The delta trusts that the kernel holds what we applied last; after
	 * a pass with failures it may not, and a full pass retries them. */
	err = e->kernel_ok ? reconcile_apply_delta(e->rc, &e->egress, &eg, &st)
			   : -EAGAIN;
	if (e->kernel_ok)
		log_info("engine", "%s: kernel +%u ~%u -%u (%u failed) (%.1f ms)",
			 why, st.added, st.changed, st.deleted, st.failed,
			 now_ms() - t0);
	if (err < 0) {
		/* A full pass finds out what the kernel holds, repairs and
		 * retries. */
		err = reconcile_apply(e->rc, &e->want, &st);
		e->kernel_ok = err == 0;
		log_info("engine", "%s (full pass): kernel +%u ~%u -%u "
			 "(%u failed) (%.1f ms)", why, st.added, st.changed,
			 st.deleted, st.failed, now_ms() - t0);
	}
	/* After the move: new packets of those flows already take the new
	 * tunnel when their old entries go. */
	if (failover)
		flush_failed_tunnels(e, &e->egress, &eg, health);
	kernel_state_free(&e->egress);
	e->egress = eg;
	free(health);
	return err;
}

int
engine_health_changed(struct engine *e)
{
	return egress_update(e, "health", true);
}

int
engine_set_standby(struct engine *e, bool standby)
{
	int err;

	if (e->standby == standby)
		return 0;
	e->standby = standby;
	log_notice("engine", standby ?
		   "standby: egress withdrawn (policy tables drop it); "
		   "tunnels stay up and probed" :
		   "active: egress through the tunnels resumed");
	if ((err = egress_update(e, standby ? "standby" : "active", false)) < 0)
		log_warnx("engine", "the role change is not in the kernel yet; "
			  "the next pass retries");
	return err;
}

bool
engine_standby(const struct engine *e)
{
	return e->standby;
}

int
engine_ipsec_mtu_changed(struct engine *e)
{
	struct kernel_state ks, eg;
	struct nft_state ns;
	unsigned int *old;
	int err;

	if (e->conf == NULL)
		return 0;
	if ((old = calloc(e->conf->n_tunnels + 1, sizeof(*old))) == NULL)
		return -ENOMEM;
	if (follow_negotiated_mtus(e, e->conf, old) == 0) {
		free(old);
		return 0;
	}
	/* The links' MTU and the nft table's clamps: the whole state, once
	 * per SA that changes it (a rekey negotiates what it had). */
	if ((err = build_state(e, e->conf, &ks, &ns, &eg)) < 0) {
		for (size_t i = 0; i < e->conf->n_tunnels; i++)
			config_tunnel_use_mtu(&e->conf->tunnels[i],
					      e->conf->mss_clamp, old[i]);
		free(old);
		errno = -err;
		log_warn("engine", "cannot follow the negotiated MTU; keeping "
			 "the one set");
		return err;
	}
	free(old);
	kernel_state_free(&e->want);
	kernel_state_free(&e->egress);
	nft_state_free(&e->nft_want);
	e->want = ks;
	e->egress = eg;
	e->nft_want = ns;
	(void)apply(e, "negotiated MTU");
	return 0;
}

int
engine_resync(struct engine *e)
{
	struct reconcile_stats st;
	int err;

	if (e->conf == NULL)
		return 0;
	e->kernel_gen++;
	err = reconcile_apply(e->rc, &e->want, &st);
	if (st.added || st.changed || st.deleted) {
		e->repairs++;
		log_notice("engine", "repaired kernel state: +%u ~%u -%u (%u failed)",
			   st.added, st.changed, st.deleted, st.failed);
	}
	e->kernel_ok = err == 0;
	return err;
}

void
engine_set_ct_flusher(struct engine *e, engine_ct_flush_fn fn, void *arg)
{
	e->ct_flush_fn = fn;
	e->ct_flush_arg = arg;
}

void
engine_ct_flushed(struct engine *e, unsigned int ok)
{
	e->ct_flushes += ok;
}

unsigned long
engine_kernel_gen(const struct engine *e)
{
	return e->kernel_gen;
}

/*
 * An audit's result (tunsteerd.c starts them, lib/audit.c runs them).  If
 * we changed the kernel since it began, it shows a state we have left:
 * dropped, the next one will do.  Otherwise the comparison is in memory,
 * and a repair starts from what the audit saw, so even a repair does not
 * dump the kernel on the loop.  Whatever changes after the audit's dumps
 * is someone's change, and its netlink event brings a resync of its own.
 */
struct kernel_state *
engine_want_copy(const struct engine *e)
{
	struct kernel_state *ks;

	if (e->conf == NULL || (ks = malloc(sizeof(*ks))) == NULL)
		return NULL;
	if (kernel_state_copy(ks, &e->want) < 0) {
		free(ks);
		return NULL;
	}
	return ks;
}

int
engine_audit_result(struct engine *e, struct kernel_state *observed, int err,
		    unsigned long gen, unsigned int drift, const char *first)
{
	struct reconcile_stats st;
	char here[256];
	unsigned int n = drift;

	if (e->conf == NULL)
		return 0;
	if (err < 0) {
		errno = -err;
		log_warn("engine", "audit: dumping kernel state failed");
		return err;
	}
	if (gen != e->kernel_gen) {
		log_debug("engine", "audit: we changed the kernel meanwhile; dropped");
		return -ESTALE;
	}
	e->audits++;
	/* The same generation: the thread compared with what we want now. */
	if (n == AUDIT_DRIFT_UNKNOWN) {
		n = reconcile_drift(e->rc, observed, &e->want, here, sizeof(here));
		first = here;
	}
	if (n == 0)
		return 0;
	if (n == UINT_MAX)
		log_warnx("engine", "audit: out of memory comparing; repairing");
	else
		log_notice("engine", "audit: %u of our kernel objects are not as "
			   "we want them (first: %s); repairing", n,
			   first ? first : "?");
	e->kernel_gen++;
	err = reconcile_apply_delta(e->rc, observed, &e->want, &st);
	e->repairs++;
	log_notice("engine", "repaired kernel state: +%u ~%u -%u (%u failed)",
		   st.added, st.changed, st.deleted, st.failed);
	e->kernel_ok = err == 0;
	return 0;
}

int
engine_nft_drain(struct engine *e)
{
	return nft_sync_drain(e->nft);
}

int
engine_nft_check(struct engine *e)
{
	int err = nft_sync_check(e->nft);

	if (err > 0)
		e->repairs++;
	return err;
}

const struct config *
engine_config(const struct engine *e)
{
	return e->conf;
}

/* --- what the views read (view.c) ------------------------------------------ */

struct kernel_ops *
engine_kernel(const struct engine *e)
{
	return e->ops;
}

const struct kernel_state *
engine_desired(const struct engine *e)
{
	return &e->want;
}

const struct health *
engine_health(const struct engine *e, const char *name)
{
	return health_of(e, name);
}

const struct passive_stats *
engine_checks(const struct engine *e, const char *name)
{
	return e->checks_fn ? e->checks_fn(e->checks_arg, name) : NULL;
}

int
engine_ipsec_status(const struct engine *e, const char *name,
		    struct ike_status *st)
{
	return e->ipsec_fn ? e->ipsec_fn(e->ipsec_arg, name, st) : -ENOENT;
}

uint64_t
engine_policy_failovers(const struct engine *e, size_t p)
{
	return e->conf && p < e->conf->n_policies ? e->policy_failovers[p] : 0;
}

int
engine_nat_counts(const struct engine *e, uint64_t *out)
{
	const struct config *c = e->conf;
	struct kernel_nft_counter *ctr = NULL;
	size_t n = 0;
	bool any = false;
	int err;

	for (size_t p = 0; c && p < c->n_policies; p++) {
		out[p] = ENGINE_NAT_NONE;
		any |= c->policies[p].nat.set;
	}
	if (!any)
		return 0;
	if ((err = e->ops->nft_counters(e->ops, &ctr, &n)) < 0)
		return err;
	for (size_t p = 0; p < c->n_policies; p++) {
		char name[64];

		if (!c->policies[p].nat.set)
			continue;
		desired_nat_name(name, sizeof(name), c->policies[p].name);
		for (size_t i = 0; i < n; i++)
			if (strcmp(ctr[i].name, name) == 0)
				out[p] = ctr[i].packets;
	}
	free(ctr);
	return 0;
}

ssize_t
engine_egress_paths(const struct engine *e, uint32_t **ids)
{
	return carried_paths(&e->egress, ids);
}

void
engine_counters(const struct engine *e, struct engine_counters *c)
{
	*c = (struct engine_counters){
		.started = e->started, .loads = e->loads,
		.failed_loads = e->failed_loads, .repairs = e->repairs,
		.audits = e->audits,
		.failovers = e->failovers, .ct_flushes = e->ct_flushes,
		.kernel_ok = e->kernel_ok,
	};
	nft_sync_status(e->nft, &c->nft);
	loopmeter_stats(e->loop, loopmeter_now_ms(), &c->loop);
}
