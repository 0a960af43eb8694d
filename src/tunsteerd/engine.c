/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tunsteerd/desired.h"
#include "tunsteerd/engine.h"
#include "lib/log.h"
#include "tunsteerd/nft.h"
#include "lib/reconcile.h"

struct engine {
	struct kernel_ops *ops;
	struct reconcile *rc;
	struct nft_sync *nft;
	struct config *conf;		/* NULL until the first load */
	struct kernel_state want;
	struct nft_state nft_want;
	time_t loaded;
	struct timespec started;	/* CLOCK_MONOTONIC: uptime survives clock steps */
	unsigned int loads, failed_loads, repairs, failovers, ct_flushes;
	bool kernel_ok;			/* last reconcile had no failures */
	engine_retry_fn nft_retry_fn;	/* a failed nft apply wants a retry */
	void *nft_retry_arg;
	engine_health_fn health_fn;
	void *health_arg;
	struct engine_stage stage;
	void *stage_arg;
	engine_checks_fn checks_fn;
	void *checks_arg;
};

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
	nft_state_free(&e->nft_want);
	config_free(e->conf);
	free(e);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
apply(struct engine *e, const char *why)
{
	struct reconcile_stats st;
	unsigned int nft_changes = 0;
	double t0 = now_ms(), t1, t2;
	int err, nerr;

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

int
engine_use(struct engine *e, struct config *conf, FILE *errs)
{
	struct kernel_state ks;
	struct nft_state ns;
	double t0 = now_ms();
	enum health_state *health;
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
	health = health_states(e, conf);
	err = desired_build(conf, health, &ks, &ns);
	free(health);
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
	nft_state_free(&e->nft_want);
	config_free(e->conf);
	e->conf = conf;
	e->want = ks;
	e->nft_want = ns;
	e->loads++;
	e->loaded = time(NULL);
	log_notice("config", "%s loaded: %zu tunnels, %zu egress policies"
		   " (prepared in %.0f ms)", conf->path, conf->n_tunnels,
		   conf->n_policies, now_ms() - t0);
	(void)apply(e, "config");
	return 0;
}

/* Do two desired states send egress differently?  Both come from the
 * same config, so their routes and nexthop groups are built in the same
 * order. */
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

/* Is the path @id a member of a group that a route of @ks goes through? */
static bool
carries_egress(const struct kernel_state *ks, uint32_t id)
{
	for (size_t r = 0; r < ks->n_routes; r++) {
		if (ks->routes[r].nhid == 0)
			continue;
		for (size_t g = 0; g < ks->n_nhobjs; g++) {
			const struct kernel_nhobj *nh = &ks->nhobjs[g];

			if (nh->id != ks->routes[r].nhid)
				continue;
			for (unsigned int m = 0; m < nh->n_members; m++)
				if (nh->member[m].id == id)
					return true;
		}
	}
	return false;
}

/*
 * A tunnel that stopped carrying egress because it failed: its flows now
 * leave through another tunnel, and the conntrack entries they made on
 * the old one (a NAT binding, a firewall's state) must go, so that the
 * next packet starts afresh.  Only that tunnel's entries: flows on the
 * tunnels that stay keep theirs.  A tunnel that is still up and merely
 * left the set because a better one came back keeps its entries too.
 */
static void
flush_failed_tunnels(struct engine *e, const struct kernel_state *before,
		     const struct kernel_state *after,
		     const enum health_state *health)
{
	uint32_t *ids = calloc(e->conf->n_tunnels + 1, sizeof(*ids));

	if (ids == NULL || desired_path_ids(e->conf, ids) < 0) {
		log_warnx("egress", "cannot compute tunnel marks; conntrack "
			  "entries of failed tunnels are left to time out");
		free(ids);
		return;
	}
	for (size_t i = 0; i < e->conf->n_tunnels; i++) {
		const char *name = e->conf->tunnels[i].name;
		uint32_t mark = desired_ct_mark(ids[i]);
		int err;

		if (health[i] == HEALTH_UP || health[i] == HEALTH_INIT ||
		    !carries_egress(before, ids[i]) ||
		    carries_egress(after, ids[i]))
			continue;
		err = e->ops->conntrack_flush(e->ops, mark, DESIRED_CT_MARK_MASK);
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
	free(ids);
}

int
engine_health_changed(struct engine *e)
{
	struct kernel_state ks, old;
	struct nft_state ns;
	enum health_state *health;
	bool moved;
	int err;

	if (e->conf == NULL)
		return 0;
	if ((health = health_states(e, e->conf)) == NULL)
		return -ENOMEM;
	err = desired_build(e->conf, health, &ks, &ns);
	if (err < 0) {
		free(health);
		errno = -err;
		log_warn("engine", "cannot recompute egress; keeping the current one");
		return err;
	}
	/* A failover is a change of where egress goes, not any change of
	 * health (init -> up, say, moves nothing). */
	moved = egress_differs(&e->want, &ks);
	if (moved)
		e->failovers++;
	old = e->want;
	nft_state_free(&e->nft_want);
	e->want = ks;
	e->nft_want = ns;
	err = apply(e, "health");
	/* After the move: new packets of those flows already take the new
	 * tunnel when their old entries go. */
	if (moved)
		flush_failed_tunnels(e, &old, &e->want, health);
	kernel_state_free(&old);
	free(health);
	return err;
}

int
engine_resync(struct engine *e)
{
	struct reconcile_stats st;
	int err;

	if (e->conf == NULL)
		return 0;
	err = reconcile_apply(e->rc, &e->want, &st);
	if (st.added || st.changed || st.deleted) {
		e->repairs++;
		log_notice("engine", "repaired kernel state: +%u ~%u -%u (%u failed)",
			   st.added, st.changed, st.deleted, st.failed);
	}
	e->kernel_ok = err == 0;
	return err;
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

void
engine_counters(const struct engine *e, struct engine_counters *c)
{
	*c = (struct engine_counters){
		.started = e->started, .loads = e->loads,
		.failed_loads = e->failed_loads, .repairs = e->repairs,
		.failovers = e->failovers, .ct_flushes = e->ct_flushes,
		.kernel_ok = e->kernel_ok,
	};
	nft_sync_status(e->nft, &c->nft);
}
