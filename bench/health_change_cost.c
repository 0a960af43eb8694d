/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/health_change_cost — what one health recomputation costs the
 * event loop with N tunnels (default 1,000) and P prefixes (10,000), the
 * shape of bench/apply_1000_tunnels_10000_prefixes, against the fake
 * kernel backend (src/lib/kernel_fake.c): the daemon's own work, without
 * the kernel's.  Prints, per kind of change, the mean and worst wall time
 * of engine_health_changed() and the operations it issued, and what the
 * control views and a metrics scrape cost.
 *
 *   make bench/health_change_cost && bench/health_change_cost [N [P [POLICIES]]]
 *
 * POLICIES (default 1) policies share the tunnels: policy j uses tunnels
 * j*K … j*K+K-1 (K = min(64, N / POLICIES)) at priority 100.
 *
 * Then, for LOOP_S seconds (environment; default 10, 0 skips it), the
 * daemon's loop as tunsteerd.c wires it: every tunnel flips between up
 * and down every FLIP_MS (default 1000) ms, phase-spread like the probes
 * (a bulk timer each), each flip asks for one coalesced recomputation
 * (bulk), and a client thread sends `status` on the control socket back
 * to back and times each answer.  NO_PRIORITIES=1 runs the same loop on
 * a base with one priority, as before loop.h.  Nothing here is asserted;
 * it prints numbers for the issue notes.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/ctl_proto.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "tunsteerd/config.h"
#include "tunsteerd/control.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/loop.h"
#include "tunsteerd/health.h"
#include "tunsteerd/metrics.h"
#include "tunsteerd/view.h"

static struct health *hs;
static size_t n_tun;

static const struct health *
health_cb(void *arg, const char *name)
{
	size_t i = strtoul(name + 1, NULL, 10);

	(void)arg;
	return i < n_tun ? &hs[i] : NULL;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *
gen_config(size_t n, size_t p, size_t pols)
{
	struct strbuf b = { 0 };
	size_t k = n / pols < 64 ? n / pols : 64;
	int err;

	strbuf_printf(&b, "log_level = \"warning\";\ntunnels = (\n");
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&b, "%s{ name = \"b%zu\"; type = \"gre\"; "
			      "local = \"198.51.100.2\"; remote = \"198.18.%zu.%zu\"; "
			      "address = \"198.19.%zu.%zu/31\"; underlay = { "
			      "interface = \"wan1\"; gateway = \"198.51.100.1\"; }; }\n",
			      i ? "," : "", i, (i + 1) / 256, (i + 1) % 256,
			      (i * 2 + 1) / 256, (i * 2 + 1) % 256);
	strbuf_printf(&b, ");\negress = (\n");
	for (size_t j = 0; j < pols; j++) {
		size_t from = j * p / pols, to = (j + 1) * p / pols;

		strbuf_printf(&b, "%s{ name = \"pol%zu\"; prefixes = [", j ? "," : "", j);
		for (size_t x = from; x < to; x++)
			strbuf_printf(&b, "%s\"198.18.%zu.%zu/32\"", x > from ? "," : "",
				      (32768 + x) / 256 % 256, (32768 + x) % 256);
		strbuf_printf(&b, " ];\ntunnels = (");
		for (size_t t = 0; t < k; t++)
			strbuf_printf(&b, "%s{ tunnel = \"b%zu\"; priority = 100; }",
				      t ? "," : "", j * k + t);
		strbuf_printf(&b, "); }\n");
	}
	strbuf_printf(&b, ");\n");
	return strbuf_take(&b, &err);
}

/* Run engine_health_changed() @reps times, flipping tunnels [from, to)
 * between @a and @b each time; print mean and worst. */
static void
measure(struct engine *e, struct kernel_ops *k, const char *what, size_t from,
	size_t to, enum health_state a, enum health_state b, int reps)
{
	double sum = 0, worst = 0;
	unsigned long ops = 0;

	for (int r = 0; r < reps; r++) {
		double t0, dt;

		for (size_t i = from; i < to; i++)
			hs[i].state = r % 2 ? a : b;
		(void)kernel_fake_ops_log(k);
		t0 = now_ms();
		(void)engine_health_changed(e);
		dt = now_ms() - t0;
		ops += kernel_fake_ops_count(k);
		sum += dt;
		if (dt > worst)
			worst = dt;
	}
	printf("%-44s %9.2f ms mean %9.2f ms worst  %6.1f kernel ops\n", what,
	       sum / reps, worst, (double)ops / reps);
}


/* --- the loop ---------------------------------------------------------- */

struct flipper {
	struct event *ev;
	size_t i;
};

static struct event *recompute_ev;
static struct engine *loop_engine;
static unsigned long recomputes, flips;
static double recompute_ms, recompute_worst;
static struct timeval flip_every;
static volatile int client_done;
static char sock_path[108];

static void
recompute_cb(evutil_socket_t fd, short what, void *arg)
{
	double t0 = now_ms(), dt;

	(void)fd;
	(void)what;
	(void)arg;
	(void)engine_health_changed(loop_engine);
	dt = now_ms() - t0;
	recomputes++;
	recompute_ms += dt;
	if (dt > recompute_worst)
		recompute_worst = dt;
}

static void
flip_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flipper *f = arg;

	(void)fd;
	(void)what;
	hs[f->i].state = hs[f->i].state == HEALTH_UP ? HEALTH_DOWN : HEALTH_UP;
	flips++;
	event_add(f->ev, &flip_every);
	event_active(recompute_ev, EV_TIMEOUT, 0);
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* `status` back to back until client_done; latencies into @arg. */
static void *
client_main(void *arg)
{
	double *lat = arg;
	size_t n = 0;

	while (!client_done && n < 100000) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		char *argv[] = { "status" };
		uint8_t req[64], buf[4096];
		double t0 = now_ms();
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), len;

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
		len = ctl_request_format(1, argv, req + 4, sizeof(req) - 4);
		if (fd < 0 || len < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		ctl_frame_header(req, (uint32_t)len);
		if (write(fd, req, (size_t)len + 4) == len + 4)
			while (read(fd, buf, sizeof(buf)) > 0)
				;
		close(fd);
		lat[n++] = now_ms() - t0;
	}
	lat[n] = -1;
	return NULL;
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void
run_loop(struct engine *e, size_t n, unsigned int seconds, unsigned int flip_ms,
	 bool priorities)
{
	struct event_base *base = priorities ? loop_base_new() : event_base_new();
	struct flipper *f = calloc(n, sizeof(*f));
	double *lat = calloc(100001, sizeof(*lat));
	char dir[] = "/tmp/hcc.XXXXXX";
	struct control *c;
	struct event *stop;
	pthread_t th;
	size_t m = 0, over = 0;

	if (!base || !f || !lat || mkdtemp(dir) == NULL)
		exit(1);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	loop_engine = e;
	flip_every = (struct timeval){ flip_ms / 1000, (flip_ms % 1000) * 1000 };
	if ((c = control_listen(base, sock_path, e, "/nonexistent.conf")) == NULL)
		exit(1);
	recompute_ev = event_new(base, -1, 0, recompute_cb, NULL);
	loop_bulk(recompute_ev);
	for (size_t i = 0; i < n; i++) {
		uint64_t ph = (uint64_t)flip_ms * 1000u * i / n;
		struct timeval first = { (time_t)(ph / 1000000u),
					 (suseconds_t)(ph % 1000000u) };

		f[i].i = i;
		f[i].ev = evtimer_new(base, flip_cb, &f[i]);
		loop_bulk(f[i].ev);
		event_add(f[i].ev, &first);	/* then every flip_ms */
	}
	struct timeval run = { (time_t)seconds, 0 };

	stop = evtimer_new(base, stop_cb, base);
	evtimer_add(stop, &run);
	client_done = 0;
	pthread_create(&th, NULL, client_main, lat);
	event_base_dispatch(base);
	client_done = 1;
	/* Let the last request finish. */
	run = (struct timeval){ 0, 200000 };
	event_base_loopexit(base, &run);
	event_base_dispatch(base);
	pthread_join(th, NULL);

	while (lat[m] >= 0)
		m++;
	for (size_t i = 0; i < m; i++)
		if (lat[i] > 1000)
			over++;
	qsort(lat, m, sizeof(*lat), dbl_cmp);
	printf("\nloop for %u s, %s: %zu tunnels flipping every %u ms"
	       " (%lu flips, %.0f/s)\n", seconds,
	       priorities ? "priorities of loop.h" : "one priority",
	       n, flip_ms, flips, flips / (double)seconds);
	printf("  recomputations: %lu, %.2f ms mean, %.2f ms worst\n", recomputes,
	       recomputes ? recompute_ms / recomputes : 0, recompute_worst);
	if (m)
		printf("  status: %zu requests, median %.2f ms, p99 %.2f ms, "
		       "max %.2f ms, over 1 s: %zu\n", m, lat[m / 2],
		       lat[m * 99 / 100], lat[m - 1], over);
	for (size_t i = 0; i < n; i++)
		event_free(f[i].ev);
	event_free(stop);
	event_free(recompute_ev);
	control_close(c);
	event_base_free(base);
	rmdir(dir);
	free(f);
	free(lat);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	size_t p = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	size_t pols = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	struct config_errors ce = { 0 };
	struct kernel_ops *k;
	struct engine *e;
	struct config *conf;
	char *text;
	double t0;

	if (n == 0 || pols == 0 || pols > n) {
		fprintf(stderr, "usage: %s [TUNNELS [PREFIXES [POLICIES]]]\n", argv[0]);
		return 2;
	}
	log_init("health_change_cost", true, LOG_LVL_WARN);
	n_tun = n;
	hs = calloc(n, sizeof(*hs));
	text = gen_config(n, p, pols);
	if (hs == NULL || text == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		hs[i].state = HEALTH_UP;
	conf = config_load_string(text, "bench", &ce);
	if (conf == NULL) {
		for (size_t i = 0; i < ce.n; i++)
			fprintf(stderr, "%s\n", ce.msgs[i]);
		return 1;
	}
	k = kernel_fake_create();
	e = k ? engine_create(k) : NULL;
	if (e == NULL)
		return 1;
	engine_set_health_source(e, health_cb, NULL);
	t0 = now_ms();
	if (engine_use(e, conf, stderr) < 0)
		return 1;
	printf("%zu tunnels, %zu prefixes, %zu policies (fake kernel)\n", n, p, pols);
	printf("%-44s %9.2f ms\n", "first load (build + apply)", now_ms() - t0);
	measure(e, k, "no change (recompute only)", 0, 0, HEALTH_UP, HEALTH_UP, 20);
	measure(e, k, "tunnel b<N-1> up <-> down", n - 1, n, HEALTH_UP,
		HEALTH_DOWN, 20);
	measure(e, k, "tunnel b0 up <-> down", 0, 1, HEALTH_UP,
		HEALTH_DOWN, 20);
	measure(e, k, "all tunnels up <-> degraded", 0, n, HEALTH_UP,
		HEALTH_DEGRADED, 10);
	measure(e, k, "all tunnels up <-> down", 0, n, HEALTH_UP, HEALTH_DOWN, 10);
	/* For comparison: what a kernel event or the 30 s timer costs (a
	 * full dump and diff), and what the control views cost. */
	{
		FILE *null = fopen("/dev/null", "w");
		double t;

		t = now_ms();
		for (int r = 0; r < 5; r++)
			(void)engine_resync(e);
		printf("%-44s %9.2f ms mean\n", "full resync (nothing to do)",
		       (now_ms() - t) / 5);
		t = now_ms();
		for (int r = 0; r < 5; r++)
			view_status(e, true, null);
		printf("%-44s %9.2f ms mean\n", "status view (json)", (now_ms() - t) / 5);
		t = now_ms();
		for (int r = 0; r < 5; r++)
			view_tunnels(e, true, null);
		printf("%-44s %9.2f ms mean\n", "tunnels view (json)", (now_ms() - t) / 5);
		t = now_ms();
		for (int r = 0; r < 5; r++)
			metrics_print(e, null);
		printf("%-44s %9.2f ms mean\n", "metrics scrape (Prometheus text)",
		       (now_ms() - t) / 5);
		fclose(null);
	}
	{
		const char *ls = getenv("LOOP_S"), *fm = getenv("FLIP_MS");
		unsigned int secs = ls ? (unsigned int)strtoul(ls, NULL, 10) : 10;
		unsigned int flip = fm ? (unsigned int)strtoul(fm, NULL, 10) : 1000;

		if (secs && flip)
			run_loop(e, n, secs, flip, getenv("NO_PRIORITIES") == NULL);
	}
	engine_destroy(e, true);
	k->destroy(k);
	free(text);
	free(hs);
	return 0;
}
