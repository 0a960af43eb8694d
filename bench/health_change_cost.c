/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/health_change_cost — what one health recomputation costs the
 * event loop with N tunnels (default 1,000) and P prefixes (10,000), the
 * shape of bench/apply_1000_tunnels_10000_prefixes, against the fake
 * kernel backend (src/lib/kernel_fake.c): the daemon's own work, without
 * the kernel's.  Prints, per kind of change, the mean and worst wall time
 * of engine_health_changed() and the operations it issued.
 *
 *   make bench/health_change_cost && bench/health_change_cost [N [P [POLICIES]]]
 *
 * POLICIES (default 1) policies share the tunnels: policy j uses tunnels
 * j*K … j*K+K-1 (K = min(64, N / POLICIES)) at priority 100.  Nothing here
 * is asserted; it prints numbers for the issue notes.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/strbuf.h"
#include "tunsteerd/config.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/health.h"
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
		fclose(null);
	}
	engine_destroy(e, true);
	k->destroy(k);
	free(text);
	free(hs);
	return 0;
}
