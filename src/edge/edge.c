/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One tunsteer-edge server's state and its life: start, apply to the
 * kernel (links, addresses, tables and rules through edge_kernel and the
 * shared reconciler; the nft table with the ECMP sets), steer on health
 * changes, reload, retry what failed, stop.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/edge_kernel.h"
#include "edge/edge_nft.h"
#include "lib/kernel_nl.h"
#include "lib/log.h"

/* --- steering ---------------------------------------------------------------- */

static const enum eh_state *
states(struct edge *e, enum eh_state *buf)
{
	for (size_t i = 0; i < e->conf->n_tunnels; i++) {
		const struct edge_health *h = edge_checks_health(e->checks, i);

		buf[i] = h ? h->state : EH_HEALTHY;
	}
	return buf;
}

/* Recompute the ECMP sets; if any flow would move, replace the steer
 * chain in one transaction. */
static void
resteer(struct edge *e)
{
	struct edge_config *c = e->conf;
	enum eh_state *st = calloc(c->n_tunnels ? c->n_tunnels : 1, sizeof(*st));
	struct steer s;
	char *script;
	int err;

	if (st == NULL || edge_steer_build(c, states(e, st), &s) < 0) {
		free(st);
		log_warnx("steer", "out of memory; retrying");
		e->steer_dirty = true;
		return;
	}
	free(st);
	if (!e->steer_dirty && edge_steer_same(&s, &e->steer)) {
		/* No flow moves: the kernel keeps its chain; the views get
		 * the new effective priorities. */
		edge_steer_free(&e->steer);
		e->steer = s;
		return;
	}
	script = edge_nft_steer(c, &s, &err);
	if (script == NULL || e->ops->nft_run(e->ops, script, NULL) < 0) {
		log_warnx("steer", "cannot replace the ECMP sets; retrying");
		e->steer_failures++;
		e->steer_dirty = true;
		free(script);
		edge_steer_free(&s);
		return;
	}
	free(script);
	for (size_t i = 0; i < s.n; i++) {
		char pb[TS_PREFIX_STRLEN], set[256] = "";
		size_t off = 0;

		for (size_t k = 0; k < s.p[i].n_nh && off < sizeof(set); k++)
			off += (size_t)snprintf(set + off, sizeof(set) - off, "%s%s",
						k ? " " : "",
						c->tunnels[s.p[i].nh[k].tunnel].name);
		log_notice("steer", "%s: ECMP over %s (priority %llu)",
			   ts_prefix_format(&s.p[i].prefix, pb, sizeof(pb)), set,
			   (unsigned long long)s.p[i].best);
	}
	edge_steer_free(&e->steer);
	e->steer = s;
	e->steer_changes++;
	e->steer_dirty = false;
}

static void
health_cb(void *arg, size_t tunnel, enum eh_state old)
{
	resteer(arg);
}

/* --- kernel state ---------------------------------------------------------------- */

/* Per config tunnel, the peer its customer-bound traffic is forwarded to
 * (a pinned tunnel whose SA another server negotiated, edge_prop.h), or
 * NULL when there is none (or no memory: each tunnel's own device). */
static struct in_addr *
pins(struct edge *e)
{
	const struct edge_config *c = e->conf;
	struct in_addr *to;
	bool any = false;

	if (e->prop == NULL || c->n_tunnels == 0 ||
	    (to = calloc(c->n_tunnels, sizeof(*to))) == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (edge_prop_pinned_to(e->prop, c->tunnels[i].name, &to[i]) &&
		    to[i].s_addr != 0)
			any = true;
	if (!any) {
		free(to);
		return NULL;
	}
	return to;
}

static int
kernel_apply(struct edge *e, struct reconcile_stats *st)
{
	struct in_addr *to = pins(e);
	int err = edge_kernel_apply_pinned(e->ops, e->conf, to, st);

	/* The checks of a tunnel whose traffic goes to a peer go there too. */
	edge_checks_set_pins(e->checks, to);
	free(to);
	return err;
}

/* Links, addresses, tables and rules; then the whole nft table with the
 * current ECMP sets. */
static int
apply_all(struct edge *e)
{
	struct edge_config *c = e->conf;
	enum eh_state *st = calloc(c->n_tunnels ? c->n_tunnels : 1, sizeof(*st));
	struct steer s;
	char *script = NULL;
	int err, kerr;

	kerr = kernel_apply(e, &(struct reconcile_stats){ 0 });
	e->kernel_ok = kerr == 0;
	if (st == NULL || (err = edge_steer_build(c, states(e, st), &s)) < 0) {
		free(st);
		return -ENOMEM;
	}
	free(st);
	if ((script = edge_nft_table(c, &s, &err)) == NULL ||
	    (err = e->ops->nft_run(e->ops, script, NULL)) < 0) {
		log_warnx("nft", "cannot load table %s", EDGE_NFT_TABLE);
		free(script);
		edge_steer_free(&s);
		e->kernel_ok = false;
		return err;
	}
	free(script);
	edge_steer_free(&e->steer);
	e->steer = s;
	e->steer_dirty = false;
	return kerr;
}

/*
 * The responder serves the config's ipsec tunnels, each bound to its XFRM
 * interface's if_id; it is brought up by the first config that has one
 * and stays up after (a reload without any removes the peers).
 */
static int
serve_ipsec(struct edge *e)
{
	struct edge_config *c = e->conf;
	uint32_t *if_ids;
	bool any = false;
	int err;

	for (size_t i = 0; i < c->n_tunnels; i++)
		any |= c->tunnels[i].type == EDGE_TUNNEL_IPSEC;
	if (!any && e->ike == NULL)
		return 0;
	if (e->ike == NULL && (err = edge_ike_create(c->name, &e->ike)) < 0)
		return err;
	if ((if_ids = calloc(c->n_tunnels ? c->n_tunnels : 1,
			     sizeof(*if_ids))) == NULL)
		return -ENOMEM;
	if ((err = edge_kernel_xfrm_if_ids(c, if_ids)) == 0)
		err = edge_ike_apply(e->ike, c, if_ids);
	free(if_ids);
	return err;
}

/* The responder installed or deleted an SA of ours: tell the others. */
static void
news_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge *e = arg;
	struct edge_ike_news nw;

	while (edge_ike_news_take(e->ike, &nw)) {
		if (e->prop != NULL && nw.deleted)
			edge_prop_deleted(e->prop, &nw.rec);
		else if (e->prop != NULL)
			edge_prop_negotiated(e->prop, &nw.rec);
		sarec_clear(&nw.rec);	/* whatever was not taken */
	}
}

/* A pinned tunnel's traffic may leave for another server now: one
 * reconcile pass soon (edge_kernel_build_pins()). */
static void
pin_cb(void *arg)
{
	struct edge *e = arg;
	struct timeval tv = { 0, EDGE_RESYNC_DELAY_MS * 1000 };

	if (e->resync_ev != NULL && !evtimer_pending(e->resync_ev, NULL))
		evtimer_add(e->resync_ev, &tv);
}

/*
 * SA propagation (edge_prop.h): on while the config has relay.sa_key.
 * What this server holds from the others follows the config's tunnels.
 */
static int
serve_propagation(struct edge *e)
{
	int err = 0;

	if (e->conf->relay.sa_key == NULL) {
		if (e->prop != NULL)
			log_info("main", "SA propagation off");
		edge_prop_destroy(e->prop);
		e->prop = NULL;
	} else if (e->prop == NULL) {
		err = edge_prop_create(e->base, e->ops, e->conf, &e->prop);
	} else {
		err = edge_prop_apply(e->prop, e->conf);
	}
	if (e->prop != NULL) {
		edge_prop_set_pin_cb(e->prop, pin_cb, e);
		pin_cb(e);	/* apply_all ran with the old pins */
	}
	if (e->ike != NULL) {
		edge_ike_news_on(e->ike, e->prop != NULL);
		if (e->news_ev == NULL && edge_ike_news_fd(e->ike) >= 0) {
			e->news_ev = event_new(e->base, edge_ike_news_fd(e->ike),
					       EV_READ | EV_PERSIST, news_cb, e);
			if (e->news_ev == NULL || event_add(e->news_ev, NULL) < 0)
				return -ENOMEM;
		}
	}
	return err;
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge *e = arg;

	if (!e->kernel_ok)
		(void)apply_all(e);
	else if (e->steer_dirty)
		resteer(e);
}

/* --- tamper repair ---------------------------------------------------------- */

/* One reconcile pass of links, addresses, tables and rules; the nft table
 * is not looked at.  A pass that fails leaves the rest to retry_cb. */
static void
resync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge *e = arg;
	struct reconcile_stats st;
	int err = kernel_apply(e, &st);

	if (st.added || st.changed || st.deleted)
		log_notice("kernel", "repaired kernel state: +%u ~%u -%u (%u failed)",
			   st.added, st.changed, st.deleted, st.failed);
	else
		log_debug("kernel", "repair pass: nothing to repair (%u failed)",
			  st.failed);
	if (err < 0)
		e->kernel_ok = false;
}

/* Link, address, route or rule events that our own requests did not
 * cause: repair soon, once for a burst.  Lost events (ENOBUFS; the
 * backend has grown its buffer) mean the same: the pass dumps all. */
static void
monitor_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge *e = arg;
	struct timeval tv = { 0, EDGE_RESYNC_DELAY_MS * 1000 };
	int rc = e->ops->monitor_drain(e->ops);

	if (rc == -ENOBUFS)
		log_notice("kernel", "netlink events lost; re-dumping");
	if (rc != 0 && !evtimer_pending(e->resync_ev, NULL))
		evtimer_add(e->resync_ev, &tv);
}

struct edge_config *
edge_load_config(const char *path, FILE *errs_out)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load(path, &errs);

	/* A config this program cannot serve is refused like a bad one:
	 * at start, at -n and at reload (the running one stays). */
	if (c && edge_config_check_serve(c, &errs) != 0) {
		edge_config_free(c);
		c = NULL;
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(errs_out, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	return c;
}

static int
start_checks(struct edge *e)
{
	struct in_addr *to;
	int err = 0;

	e->checks = edge_checks_create(e->base, e->conf, health_cb, e, &err);
	if (e->checks == NULL)
		return err;
	to = pins(e);
	edge_checks_set_pins(e->checks, to);
	free(to);
	return 0;
}

bool
edge_reload(struct edge *e, FILE *out)
{
	struct edge_config *c = edge_load_config(e->conf_path, out);
	struct edge_config *old = e->conf;
	int err;

	if (c == NULL) {
		e->failed_loads++;
		log_warnx("main", "reload of %s failed; the running config is unchanged",
			  e->conf_path);
		return false;
	}
	if (!e->debug)
		log_set_level((enum log_level)c->log_level);
	edge_checks_destroy(e->checks);
	e->checks = NULL;
	e->conf = c;
	(void)apply_all(e);
	if ((err = serve_ipsec(e)) < 0)
		log_warnx("main", "IPsec: %s", strerror(-err));
	if ((err = serve_propagation(e)) < 0)
		log_warnx("main", "SA propagation: %s", strerror(-err));
	if ((err = start_checks(e)) < 0)
		log_warnx("main", "health checks: %s", strerror(-err));
	edge_config_free(old);
	e->loads++;
	log_notice("main", "reloaded %s: %zu tunnels, %zu routes", e->conf_path,
		   c->n_tunnels, c->n_routes);
	return true;
}


/* --- life ------------------------------------------------------------------------ */

int
edge_start(struct edge *e, struct event_base *base, struct edge_config *conf,
	   const char *conf_path, bool debug)
{
	int err;

	e->conf = conf;
	e->base = base;
	e->conf_path = conf_path;
	e->debug = debug;
	e->started = time(NULL);
	e->loads = 1;
	if ((e->ops = kernel_nl_create_marked(&edge_kernel_marks,
					      &err)) == NULL) {
		errno = -err;
		log_warn("main", "netlink");
		return err;
	}
	if ((e->stats = edge_stats_create(&err)) == NULL) {
		log_warnx("main", "counters: %s", strerror(-err));
		return err;
	}
	if (apply_all(e) < 0)
		log_warnx("main", "kernel state incomplete; retrying every %d s",
			  EDGE_RETRY_PERIOD_S);
	/* Without its responder a config's ipsec tunnels cannot be served
	 * at all: as fatal as the health-check sockets. */
	if ((err = serve_ipsec(e)) < 0) {
		log_warnx("main", "IPsec: %s", strerror(-err));
		return err;
	}
	if ((err = serve_propagation(e)) < 0) {
		log_warnx("main", "SA propagation: %s", strerror(-err));
		return err;
	}
	if ((err = start_checks(e)) < 0) {
		errno = -err;
		log_warn("main", "health-check sockets");
		return err;
	}
	e->retry_ev = event_new(base, -1, EV_PERSIST, retry_cb, e);
	e->resync_ev = evtimer_new(base, resync_cb, e);
	if (e->retry_ev == NULL || e->resync_ev == NULL ||
	    event_add(e->retry_ev, &(struct timeval){ EDGE_RETRY_PERIOD_S, 0 }) != 0) {
		log_warnx("main", "cannot set up timers");
		return -ENOMEM;
	}
	e->mon_ev = event_new(base, e->ops->monitor_fd(e->ops),
			      EV_READ | EV_PERSIST, monitor_cb, e);
	if (e->mon_ev == NULL || event_add(e->mon_ev, NULL) != 0) {
		log_warnx("main", "cannot watch netlink events");
		return -ENOMEM;
	}
	return 0;
}

void
edge_stop(struct edge *e, bool keep_state)
{
	int err;

	if (e->mon_ev)
		event_free(e->mon_ev);
	if (e->resync_ev)
		event_free(e->resync_ev);
	if (e->retry_ev)
		event_free(e->retry_ev);
	edge_checks_destroy(e->checks);
	/* What we hold from the others goes (ours is the others' to
	 * drop, when they hear the deletes, or at its hard lifetime). */
	if (e->news_ev)
		event_free(e->news_ev);
	edge_prop_destroy(e->prop);
	/* Deletes every SA and its XFRM states and policies, telling the
	 * customers, whether or not the rest of the state is kept. */
	edge_ike_destroy(e->ike);
	if (!keep_state && e->ops) {
		char *script = edge_nft_delete(&err);

		if (script == NULL || e->ops->nft_run(e->ops, script, NULL) < 0)
			log_warnx("main", "cannot delete table %s", EDGE_NFT_TABLE);
		free(script);
		if (edge_kernel_flush(e->ops) < 0)
			log_warnx("main", "some kernel objects were not removed");
	}
	edge_steer_free(&e->steer);
	edge_stats_destroy(e->stats);
	if (e->ops)
		e->ops->destroy(e->ops);
	edge_config_free(e->conf);
	memset(e, 0, sizeof(*e));
}
