/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd: turns a config file into owned, self-healing kernel tunnel
 * state and steers authorized egress over the healthiest tunnels.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/daemon.h"
#include "tunsteerd/config.h"
#include "tunsteerd/control.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/ipsec.h"
#include "tunsteerd/loop.h"
#include "tunsteerd/loopmeter.h"
#include "tunsteerd/metrics.h"
#include "lib/audit.h"
#include "lib/ctflush.h"
#include "lib/kernel_nl.h"
#include "tunsteerd/passive.h"
#include "tunsteerd/probe.h"
#include "lib/log.h"
#include "lib/version.h"

#define TS_DEFAULT_CONF CONFIG_DEFAULT_PATH
#define TS_DEFAULT_SOCK TS_RUNDIR "/tunsteerd.sock"
/* Kernel change events are coalesced for this long before a resync. */
#define RESYNC_DELAY_MS 50
/* …and the kernel is audited this often, as a safety net (lib/audit.h). */
#define AUDIT_PERIOD_S 30

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: tunsteerd [-dfnv] [-c FILE] [-S PATH] [--keep-state]\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  -S, --socket PATH   control socket (default %s)\n"
		"  -f, --foreground    do not daemonize\n"
		"  -d, --debug         log debug messages to stderr (implies -f)\n"
		"  -n, --check         check the configuration and exit 0 or 1\n"
		"  -v, --verbose       with -n: print the normalised configuration\n"
		"      --keep-state    leave owned kernel state in place on exit\n"
		"  -h, --help          this help\n"
		"  -V, --version       print version and linked libraries\n",
		TS_DEFAULT_CONF, TS_DEFAULT_SOCK);
}

struct daemon {
	struct event_base *base;
	struct engine *engine;
	struct probe_engine *probes;
	struct passive *passive;
	struct kernel_ops *ops;
	const char *conf_path;
	struct event *resync_ev, *nft_ev, *period_ev;
	struct event *mon_ev, *nft_mon_ev;
	struct event *health_ev;
	struct control *ctl;		/* for a refused reload's reasons */
	struct loopmeter *meter;
	struct audit *audit;
	bool audit_wanted;		/* another once the running one ends */
	struct ctflush *ctflush;
	struct ipsec *ipsec;		/* IKE, once a config has ipsec tunnels */
	struct metrics *metrics;	/* /metrics, when the config says where */
	bool debug;			/* -d: debug whatever log_level says */
	const struct config *next;	/* being prepared; committed next */
	size_t n_up, n_tunnels, n_policies;	/* for STATUS= */
	struct event *watchdog_ev;	/* WATCHDOG=1, when asked for */
	bool ready;			/* READY=1 said: STATUS= may follow */
};

/* STATUS= for systemctl status: tunnels up of all, and policies.  Kept
 * up to date by health changes one by one, so nothing O(tunnels) runs
 * per change. */
static void
notify_status(const struct daemon *d)
{
	char state[128];

	/* Not before READY=1, which main() follows with a STATUS= of its
	 * own: at the first commit it loaded libsystemd while the first
	 * apply had libnftables mapped, 1 MB on the start's peak RSS. */
	if (!d->ready)
		return;
	snprintf(state, sizeof(state), "STATUS=%zu/%zu tunnels up, %zu policies",
		 d->n_up, d->n_tunnels, d->n_policies);
	(void)daemon_notify(state);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)daemon_notify("WATCHDOG=1");
}

static void
schedule(struct event *ev)
{
	struct timeval tv = { 0, RESYNC_DELAY_MS * 1000 };

	if (!evtimer_pending(ev, NULL))
		evtimer_add(ev, &tv);
}

/*
 * Look at what the kernel holds of ours: an audit, off the loop (a re-dump
 * of 1,000 tunnels' objects on the loop held it 1.1 s, and every health
 * change's own netlink events asked for one).  One at a time: asked while
 * one runs, another follows it.  If no thread can be made, the old way: a
 * re-dump on the loop.
 */
static void
audit_kick(struct daemon *d)
{
	uint64_t t;
	int err;

	if (!d->audit_wanted || audit_running(d->audit))
		return;
	d->audit_wanted = false;
	/* With a copy of what we want, the thread compares too. */
	t = loopmeter_span_begin();
	err = audit_start(d->audit, engine_kernel_gen(d->engine),
			  engine_want_copy(d->engine));
	loopmeter_span_end(t, "kernel audit started");
	if (err == 0)
		return;
	errno = -err;
	log_warn("engine", "cannot start a kernel audit; re-dumping on the loop");
	t = loopmeter_span_begin();
	(void)engine_resync(d->engine);
	loopmeter_span_end(t, "kernel resync");
}

static void
resync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	d->audit_wanted = true;
	audit_kick(d);
}

/* Our nft table is out of sync (an apply failed): try again in 1 s,
 * doubling up to 30 s while it keeps failing. */
static void
nft_retry_cb(void *arg)
{
	struct daemon *d = arg;
	unsigned int n = engine_nft_failures(d->engine);
	struct timeval tv = { n > 5 ? 30 : 1 << (n ? n - 1 : 0), 0 };

	if (tv.tv_sec > 30)
		tv.tv_sec = 30;
	evtimer_add(d->nft_ev, &tv);
}

static void
nft_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t t = loopmeter_span_begin();
	int err = engine_nft_check(d->engine);

	loopmeter_span_end(t, "nft table check");
	if (err < 0) {
		log_warnx("nft", "our table is still not applied (%u attempts); retrying",
			  engine_nft_failures(d->engine));
		nft_retry_cb(d);
	}
}

/* The safety net audits links, addresses, nexthops, routes and rules off
 * the loop (a full dump of 1,000 tunnels' objects took 0.7 s of it).  Our
 * nft table is watched through its events (a check per foreign change,
 * none otherwise; listing 100,000 prefixes blocked the loop for a second). */
static void
period_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	d->audit_wanted = true;
	audit_kick(d);
}

static int
ct_flush_cb(void *arg, uint32_t mark, uint32_t mask)
{
	struct daemon *d = arg;

	return ctflush_queue(d->ctflush, mark, mask);
}

static void
ct_flushed_cb(unsigned int ok, unsigned int failed, double ms, void *arg)
{
	struct daemon *d = arg;

	engine_ct_flushed(d->engine, ok);
	/* Each flush walks the whole conntrack table in the kernel. */
	log_info("egress", "%u conntrack flushes (%.1f ms off the loop)%s",
		 ok + failed, ms, failed ? ", some failed" : "");
}

static void
audit_result_cb(const struct audit_result *res, void *arg)
{
	struct daemon *d = arg;
	uint64_t t = loopmeter_span_begin();
	int r = engine_audit_result(d->engine, res->observed, res->err,
				    res->gen, res->drift, res->first);

	loopmeter_span_end(t, "kernel audit result");
	if (r < 0 && r != -ESTALE) {
		/* The dump failed: the old way, once. */
		t = loopmeter_span_begin();
		(void)engine_resync(d->engine);
		loopmeter_span_end(t, "kernel resync");
	}
	/* Begun before a change of ours: look again, once the events of
	 * that change have had their moment. */
	if (r == -ESTALE)
		d->audit_wanted = true;
	if (d->audit_wanted)
		schedule(d->resync_ev);
}

/* Link, address, route or rule events: audit soon.  Lost events
 * (ENOBUFS; the backend has grown its buffer) mean the same. */
static void
monitor_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t t = loopmeter_span_begin();
	int rc = d->ops->monitor_drain(d->ops);

	loopmeter_span_end(t, "netlink events read");
	if (rc == -ENOBUFS)
		log_notice("kernel", "netlink events lost; re-dumping");
	if (rc != 0)
		schedule(d->resync_ev);
}

static void
nft_monitor_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t t = loopmeter_span_begin();
	int changed = engine_nft_drain(d->engine);

	loopmeter_span_end(t, "nft events read");
	if (changed != 0)
		schedule(d->nft_ev);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	switch (sig) {
	case SIGHUP:
		log_notice("main", "SIGHUP: reloading %s", d->conf_path);
		if (control_reload(d->ctl, NULL) < 0)
			log_warnx("main", "reload failed; the running config is unchanged");
		break;
	default:
		log_notice("main", "signal %d: shutting down", (int)sig);
		event_base_loopexit(d->base, NULL);
		break;
	}
}

/* Probe outcomes move egress: once for all the health changes of one
 * pass of the event loop.  A recomputation used to be a desired build
 * and a full reconcile pass (~150 ms for 500 tunnels in the lab VM), and
 * one per change kept 500 tunnels that came up together from ever being
 * all up, as the blocked loop made probes late and tunnels flap
 * (bench/probe_cost_500_tunnels_vs_fping); now it is only the policies'
 * groups and routes (engine_health_changed()), still once per pass, as
 * bulk work (loop.h). */
static void
health_changed_cb(void *arg, size_t i, enum health_state old)
{
	struct daemon *d = arg;
	const char *name = probe_tunnel_name(d->probes, i);
	const struct health *h = probe_health(d->probes, i);

	/* An ipsec tunnel that probes took down is checked by IKE now. */
	if (name)
		ipsec_health_changed(d->ipsec, name, old, h);
	if (h && (old == HEALTH_UP) != (h->state == HEALTH_UP))
		d->n_up = h->state == HEALTH_UP ? d->n_up + 1 : d->n_up - 1;
	/* Runs after the events already active in this pass; activating it
	 * again before then does nothing. */
	event_active(d->health_ev, EV_TIMEOUT, 0);
}

static void
health_apply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t t = loopmeter_span_begin();

	(void)engine_health_changed(d->engine);
	loopmeter_span_end(t, "health change applied");
	notify_status(d);
}

static const struct health *
health_by_name_cb(void *arg, const char *name)
{
	struct daemon *d = arg;

	return probe_health_of(d->probes, name);
}

/* Are the provider's checks of tunnel @i missing?  Asked by the prober. */
static bool
checks_missing_cb(void *arg, size_t i, const char *name)
{
	struct daemon *d = arg;

	return passive_missing(d->passive, i, name);
}

/* Has ipsec tunnel @name no CHILD_SA?  Asked by the prober. */
static bool
sa_missing_cb(void *arg, const char *name)
{
	struct daemon *d = arg;

	return ipsec_sa_missing(d->ipsec, name);
}

/* A CHILD_SA came or went: the tunnel's health hears it now, and its
 * MTU follows what the new one negotiated. */
static void
sa_changed_cb(void *arg, const char *name)
{
	struct daemon *d = arg;
	uint64_t t;

	probe_engine_sa_changed(d->probes, name);
	t = loopmeter_span_begin();
	(void)engine_ipsec_mtu_changed(d->engine);
	loopmeter_span_end(t, "negotiated MTU applied");
}

static struct ike_driver *
ike_driver_cb(void *arg, int *err)
{
	(void)arg;
	return ike_charon_create(NULL, err);
}

static int
ipsec_status_cb(void *arg, const char *name, struct ike_status *st)
{
	struct daemon *d = arg;

	return ipsec_status(d->ipsec, name, st);
}

static int
rekey_cb(void *arg, const char *tunnel)
{
	struct daemon *d = arg;

	return ipsec_rekey(d->ipsec, tunnel);
}

static void
log_level_cb(void *arg)
{
	struct daemon *d = arg;

	ipsec_log_level_changed(d->ipsec);
}

static const struct passive_stats *
checks_by_name_cb(void *arg, const char *name)
{
	struct daemon *d = arg;

	return passive_stats_of(d->passive, name);
}

/* Every config the engine uses is probed and its provider checks
 * watched from then on: staged by prepare, swapped in by commit only
 * once the engine has built its kernel state. */
static int
config_prepare_cb(void *arg, const struct config *conf)
{
	struct daemon *d = arg;
	struct config_errors ce = { 0 };
	FILE *out = control_reload_out(d->ctl);
	int err;

	/* Fail closed: a file cut short must not remove every policy or
	 * tunnel (SIGHUP and `reload` alike; the start has nothing running
	 * to compare with). */
	if ((err = config_check_replace(engine_config(d->engine), conf,
					&ce)) < 0) {
		for (size_t i = 0; i < ce.n; i++) {
			log_warnx("config", "%s", ce.msgs[i]);
			if (out)
				fprintf(out, "%s\n", ce.msgs[i]);
		}
		config_errors_free(&ce);
		return err;
	}
	d->next = conf;
	/* IKE first: the prober asks it whether a new set's ipsec tunnels
	 * have their CHILD_SA. */
	if ((err = ipsec_prepare(d->ipsec, conf)) < 0) {
		if (out)
			fprintf(out, "%s: cannot start IKE: %s\n", conf->path,
				strerror(-err));
		return err;
	}
	if ((err = passive_prepare(d->passive, conf)) < 0)
		return err;
	/* The ICMPv6 socket opens with the first config that probes with
	 * it: a kernel without IPv6 refuses that config, saying why. */
	if ((err = probe_engine_prepare(d->probes, conf)) < 0) {
		if (out)
			fprintf(out, "%s: cannot probe its tunnels: %s\n",
				conf->path, strerror(-err));
		return err;
	}
	if ((err = metrics_prepare(d->metrics, conf)) < 0 && out)
		fprintf(out, "%s:%d: metrics.listen: cannot listen there: %s\n",
			conf->path, conf->metrics.line, strerror(-err));
	return err;
}

static void
config_commit_cb(void *arg)
{
	struct daemon *d = arg;

	const struct health *h;

	passive_commit(d->passive);
	probe_engine_commit(d->probes);
	metrics_commit(d->metrics);
	/* Last: what IKE does now reaches the committed prober. */
	ipsec_commit(d->ipsec);
	/* The file's log_level, at start and on every reload; -d wins. */
	if (!d->debug && log_get_level() != (enum log_level)d->next->log_level) {
		log_set_level((enum log_level)d->next->log_level);
		log_notice("main", "log level %s", log_level_name(log_get_level()));
		ipsec_log_level_changed(d->ipsec);
	}
	/* The tunnel set changed: count again, once per load. */
	d->n_up = 0;
	for (size_t i = 0; (h = probe_health(d->probes, i)) != NULL; i++)
		d->n_up += h->state == HEALTH_UP;
	d->n_tunnels = d->next->n_tunnels;
	d->n_policies = d->next->n_policies;
	d->next = NULL;
	notify_status(d);
}

static void
config_abort_cb(void *arg)
{
	struct daemon *d = arg;

	passive_abort(d->passive);
	probe_engine_abort(d->probes);
	metrics_abort(d->metrics);
	ipsec_abort(d->ipsec);
	d->next = NULL;
}

/* Load @path or print every error (file:line: field: message) on stderr. */
static struct config *
load_config(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *conf = config_load(path, &errs);

	if (conf == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_free(&errs);
	}
	return conf;
}

/* -nv: the normalised config, every secret shown as <redacted>. */
static void
print_redacted(const struct config *conf, FILE *out)
{
	config_print(conf, out, CONFIG_PRINT_REDACTED);
}

static struct event *
watch_fd(struct daemon *d, int fd, event_callback_fn cb)
{
	struct event *ev;

	if (fd < 0)
		return NULL;
	ev = event_new(d->base, fd, EV_READ | EV_PERSIST, cb, d);
	if (ev == NULL || event_add(ev, NULL) != 0)
		fatalx("main", "cannot watch fd %d", fd);
	return ev;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		DAEMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts o = { .conf = TS_DEFAULT_CONF };
	struct timespec t_start, t_ready;
	int c;

	clock_gettime(CLOCK_MONOTONIC, &t_start);
#ifdef __GLIBC__
	/* Arrays of 100,000 prefixes are built and freed on every reload
	 * and health change; a fixed threshold keeps each in its own
	 * mapping, handed back when freed (glibc's moving threshold put
	 * them in the heap, and the heap kept growing: +10 MB in a minute). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* Two arenas: the loop's, and one the other threads share.  The
	 * audit's thread dumps megabytes at scale (1,000 tunnels) and frees
	 * them, its result freed on the loop, within seconds: in an arena of
	 * their own, glibc hands those pages back as the arena empties (in
	 * the loop's, they stayed among its long-lived allocations: +4 MB
	 * RSS in a minute of audits, and a malloc_trim() of that heap cost
	 * the loop tens of ms).  No more than two: an arena per charon
	 * worker would keep its pages for good. */
	mallopt(M_ARENA_MAX, 2);
#endif

	while ((c = getopt_long(argc, argv, DAEMON_SHORTOPTS "hV", longopts,
				NULL)) != -1) {
		if (daemon_getopt(&o, c, optarg))
			continue;
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "tunsteerd"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	log_init("tunsteerd", o.foreground || o.check_only,
		 o.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (o.check_only)
		return daemon_check_config(o.conf, o.verbose, load_config(o.conf),
					   print_redacted, config_free);

	struct daemon d = { .conf_path = o.conf, .debug = o.debug };
	unsigned long long watchdog_usec;
	struct daemon_signals *sigs;
	struct control *ctl;
	char sock[sizeof(((struct config *)0)->control_socket)];
	int err;

	/* Refuse to start on a bad file before daemonizing, so the error
	 * reaches whoever started us. */
	struct config *conf = load_config(o.conf);

	if (conf == NULL)
		return 1;
	if (!o.foreground && daemon(0, 0) != 0)
		fatal("main", "daemon");
	/*
	 * From here on netlink, nftables, the raw and packet sockets and
	 * IKE's ports need NET_ADMIN, NET_RAW and NET_BIND_SERVICE, nothing
	 * else (the config is root's, read as its owner).  Before any thread
	 * is made: capset() changes the calling thread alone, and a thread
	 * inherits its maker's set (libcharon's workers, the conntrack
	 * flusher and the audits kept every capability when this came last).
	 */
	(void)daemon_restrict(DAEMON_CAPS);
	d.ops = kernel_nl_create(&err);
	if (d.ops == NULL) {
		errno = -err;
		fatal("main", "netlink");
	}
	d.engine = engine_create(d.ops);
	/* Control requests and kernel events go before the prober's work
	 * and the recomputations it triggers (loop.h). */
	d.base = loop_base_new();
	if (d.engine == NULL || d.base == NULL ||
	    (d.health_ev = event_new(d.base, -1, 0, health_apply_cb, &d)) == NULL)
		fatalx("main", "out of memory");
	loop_bulk(d.health_ev);
	/* The control socket and its lock first: a second instance must be
	 * refused before it touches the kernel.  -S wins over control.socket
	 * in the file. */
	if (o.sock == NULL) {
		snprintf(sock, sizeof(sock), "%s", conf->control_socket);
		o.sock = sock;
	}
	daemon_make_rundir(o.sock);
	if ((ctl = control_listen(d.base, o.sock, d.engine, o.conf)) == NULL)
		fatalx("main", "cannot open control socket %s", o.sock);
	d.ctl = ctl;
	d.probes = probe_engine_create(d.base, health_changed_cb, &d, &err);
	if (d.probes == NULL) {
		errno = -err;
		fatal("main", "probe socket");
	}
	d.passive = passive_create(d.base, &err);
	if (d.passive == NULL) {
		errno = -err;
		fatal("main", "packet socket for the provider's health checks");
	}
	d.ipsec = ipsec_create(d.base, &(struct ipsec_hooks){
		.driver = ike_driver_cb, .sa_changed = sa_changed_cb, .arg = &d });
	if (d.ipsec == NULL || (d.metrics = metrics_create(d.base, d.engine)) == NULL)
		fatalx("main", "out of memory");
	control_set_log_hook(ctl, log_level_cb, &d);
	control_set_rekey_hook(ctl, rekey_cb, &d);
	engine_set_ipsec_source(d.engine, ipsec_status_cb, &d);
	probe_engine_set_sa_source(d.probes, sa_missing_cb, &d);
	probe_engine_set_checks_source(d.probes, checks_missing_cb, &d);
	engine_set_checks_source(d.engine, checks_by_name_cb, &d);
	engine_set_health_source(d.engine, health_by_name_cb, &d);
	engine_set_stage(d.engine, &(struct engine_stage){
		config_prepare_cb, config_commit_cb, config_abort_cb }, &d);
	engine_probe_nh_groups(d.engine);
	if (engine_use(d.engine, conf, NULL) < 0)
		fatalx("main", "cannot use %s", o.conf);


	d.resync_ev = evtimer_new(d.base, resync_cb, &d);
	d.nft_ev = evtimer_new(d.base, nft_check_cb, &d);
	engine_set_nft_retry_hook(d.engine, nft_retry_cb, &d);
	d.period_ev = event_new(d.base, -1, EV_PERSIST, period_cb, &d);
	if (!d.resync_ev || !d.nft_ev || !d.period_ev ||
	    event_add(d.period_ev, &(struct timeval){ AUDIT_PERIOD_S, 0 }) != 0)
		fatalx("main", "cannot set up timers");
	{
		struct kernel_ops *reader = kernel_nl_create_reader(d.ops, &err);

		if (reader == NULL) {
			errno = -err;
			fatal("main", "netlink (audit)");
		}
		d.audit = audit_create(d.base, reader, &kernel_marks_tunsteerd,
				       audit_result_cb, &d);
		if (d.audit == NULL)
			fatalx("main", "cannot set up the kernel audit");
		if ((reader = kernel_nl_create_reader(d.ops, &err)) == NULL) {
			errno = -err;
			fatal("main", "netlink (conntrack)");
		}
		d.ctflush = ctflush_create(d.base, reader, ct_flushed_cb, &d);
		if (d.ctflush == NULL)
			fatalx("main", "cannot set up the conntrack flusher");
		engine_set_ct_flusher(d.engine, ct_flush_cb, &d);
	}
	d.mon_ev = watch_fd(&d, d.ops->monitor_fd(d.ops), monitor_cb);
	d.nft_mon_ev = watch_fd(&d, d.ops->nft_monitor_fd(d.ops), nft_monitor_cb);
	sigs = daemon_signals_watch(d.base, signal_cb, &d);
	if ((d.meter = loopmeter_create(d.base)) == NULL)
		fatalx("main", "cannot set up the loop meter");
	engine_set_loop_meter(d.engine, d.meter);
	/* Whatever changed while we were loading is looked at once (the nft
	 * event socket is readable if anything changed in our table). */
	schedule(d.resync_ev);

	clock_gettime(CLOCK_MONOTONIC, &t_ready);
	log_notice("main", "started in %.0f ms, config %s, control %s",
		   (double)(t_ready.tv_sec - t_start.tv_sec) * 1e3 +
		   (double)(t_ready.tv_nsec - t_start.tv_nsec) / 1e6, o.conf, o.sock);
	/* sd_watchdog_enabled(3): ping from the loop itself, so a loop
	 * that hangs is restarted. */
	if ((watchdog_usec = daemon_watchdog_usec()) > 0) {
		struct timeval tv = { (time_t)(watchdog_usec / 1000000u),
				      (suseconds_t)(watchdog_usec % 1000000u) };

		d.watchdog_ev = event_new(d.base, -1, EV_PERSIST, watchdog_cb, &d);
		if (d.watchdog_ev == NULL || event_add(d.watchdog_ev, &tv) != 0)
			fatalx("main", "cannot set up the watchdog timer");
	}
	(void)daemon_notify("READY=1");
	d.ready = true;
	notify_status(&d);
	event_base_dispatch(d.base);
	(void)daemon_notify("STOPPING=1");
	if (d.watchdog_ev)
		event_free(d.watchdog_ev);

	control_close(ctl);
	metrics_destroy(d.metrics);
	engine_set_loop_meter(d.engine, NULL);
	loopmeter_destroy(d.meter);
	daemon_signals_free(sigs);
	if (d.mon_ev)
		event_free(d.mon_ev);
	if (d.nft_mon_ev)
		event_free(d.nft_mon_ev);
	event_free(d.resync_ev);
	event_free(d.nft_ev);
	event_free(d.period_ev);
	audit_destroy(d.audit);
	engine_set_ct_flusher(d.engine, NULL, NULL);
	ctflush_destroy(d.ctflush);
	/* IKE before the kernel state: libcharon deletes every SA, telling
	 * the peers, while the XFRM interfaces and routes are still there. */
	engine_set_ipsec_source(d.engine, NULL, NULL);
	ipsec_destroy(d.ipsec);
	d.ipsec = NULL;
	engine_destroy(d.engine, o.keep_state);
	probe_engine_destroy(d.probes);
	passive_destroy(d.passive);
	event_free(d.health_ev);
	d.ops->destroy(d.ops);
	event_base_free(d.base);
	log_notice("main", "stopped%s", o.keep_state ? ", kernel state kept" : "");
	return 0;
}
