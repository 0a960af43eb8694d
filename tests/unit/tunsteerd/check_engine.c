/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine against the fake kernel: what a health change does to egress
 * (one group replacement per policy) and to conntrack (only a failed
 * tunnel's entries go, never a survivor's, never on a failback), that
 * a reload refused late leaves the prober and the passive watch as they
 * were, and that a kernel without resilient nexthop groups gets plain
 * ones.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tunsteerd/desired.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ike_check.h"
#include "tunsteerd/passive.h"
#include "tunsteerd/probe.h"
#include "lib/audit.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "lib/reconcile.h"
#include "testlib.h"

static struct kernel_ops *k;
static struct engine *e;
static char *path;
static struct health h[3];	/* cf1, cf2, cf3 */

/* cf1 and cf2 at priority 100, cf3 at 200, one policy. */
static const char conf_text[] =
	"tunnels = (\n"
	"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
	"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; },\n"
	"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\"; }\n"
	");\n"
	"egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = ( { tunnel = \"cf1\"; priority = 100; },\n"
	"              { tunnel = \"cf2\"; priority = 100; },\n"
	"              { tunnel = \"cf3\"; priority = 200; } ); } );\n";

static const struct health *
health_cb(void *arg, const char *name)
{
	(void)arg;
	if (strlen(name) == 3 && name[0] == 'c' && name[1] == 'f' &&
	    name[2] >= '1' && name[2] <= '3')
		return &h[name[2] - '1'];
	return NULL;
}

static void
set_health(enum health_state s1, enum health_state s2, enum health_state s3)
{
	h[0].state = s1;
	h[1].state = s2;
	h[2].state = s3;
	(void)kernel_fake_ops_log(k);
	ck_assert_int_eq(engine_health_changed(e), 0);
}

/* "conntrack flush mark …" lines of the last operations, in order. */
static char *
flushes(void)
{
	const char *log = kernel_fake_ops_log(k);
	char *out = calloc(1, strlen(log) + 1);
	const char *line = log;

	ck_assert_ptr_nonnull(out);
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);

		if (strncmp(line, "conntrack ", 10) == 0)
			strncat(out, line, len);
		line += len;
	}
	return out;
}

/* The flush line for tunnel @i. */
static void
flush_line(size_t i, char *buf, size_t len)
{
	uint32_t ids[3];

	ck_assert_int_eq(desired_path_ids(engine_config(e), ids), 0);
	snprintf(buf, len, "conntrack flush mark %#x/%#x\n",
		 desired_ct_mark(ids[i]), DESIRED_CT_MARK_MASK);
}

static void
setup(void)
{
	log_init("check_engine", true, LOG_LVL_ERR);
	path = temp_file(conf_text);
	k = kernel_fake_create();
	ck_assert_ptr_nonnull(k);
	e = engine_create(k);
	ck_assert_ptr_nonnull(e);
	memset(h, 0, sizeof(h));
	engine_set_health_source(e, health_cb, NULL);
	set_health(HEALTH_UP, HEALTH_UP, HEALTH_UP);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	(void)kernel_fake_ops_log(k);
}

static void
teardown(void)
{
	engine_destroy(e, true);
	k->destroy(k);
	unlink(path);
	free(path);
}

START_TEST(test_failed_tunnel_alone_loses_its_conntrack_entries)
{
	char want[96], *got;

	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	got = flushes();
	flush_line(0, want, sizeof(want));
	ck_assert_str_eq(got, want);
	free(got);
	/* The marks differ per tunnel and are never 0 (every unmarked
	 * connection has mark 0). */
	{
		uint32_t ids[3];

		ck_assert_int_eq(desired_path_ids(engine_config(e), ids), 0);
		for (int i = 0; i < 3; i++) {
			ck_assert_uint_ne(desired_ct_mark(ids[i]), 0);
			ck_assert_uint_eq(desired_ct_mark(ids[i]) & ~DESIRED_CT_MARK_MASK, 0);
		}
		ck_assert_uint_ne(desired_ct_mark(ids[0]), desired_ct_mark(ids[1]));
		ck_assert_uint_ne(desired_ct_mark(ids[1]), desired_ct_mark(ids[2]));
	}
}
END_TEST

struct queued {
	uint32_t marks[4];
	unsigned int n;
};

static int
queue_cb(void *arg, uint32_t mark, uint32_t mask)
{
	struct queued *q = arg;

	ck_assert_uint_eq(mask, DESIRED_CT_MARK_MASK);
	if (q->n < 4)
		q->marks[q->n] = mark;
	q->n++;
	return 0;
}

/* With a flusher (lib/ctflush.h, tunsteerd's), the flush is queued, not
 * done on the loop, and counted only when reported done. */
START_TEST(test_with_a_flusher_the_failed_tunnels_flush_is_queued_not_done)
{
	struct queued q = { { 0 }, 0 };
	struct engine_counters c;
	uint32_t ids[3];

	engine_set_ct_flusher(e, queue_cb, &q);
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	ck_assert_uint_eq(lines_starting(kernel_fake_ops_log(k), "conntrack "), 0);
	ck_assert_uint_eq(q.n, 1);
	ck_assert_int_eq(desired_path_ids(engine_config(e), ids), 0);
	ck_assert_uint_eq(q.marks[0], desired_ct_mark(ids[0]));
	engine_counters(e, &c);
	ck_assert_uint_eq(c.ct_flushes, 0);
	engine_ct_flushed(e, 1);
	engine_counters(e, &c);
	ck_assert_uint_eq(c.ct_flushes, 1);
}
END_TEST

static void
policy_default_cb(const struct kernel_route *r, void *arg)
{
	char *out = arg;

	if (r->table == DESIRED_POLICY_TABLE_BASE && r->dst.len == 0)
		snprintf(out + strlen(out), 256 - strlen(out), "%s%s",
			 r->blackhole ? "blackhole" : r->nhid ? "group" : "other",
			 r->metric == DESIRED_FALLBACK_METRIC ? "@fallback " : " ");
}

/*
 * Someone deletes our tunnel links: the kernel takes the paths, the group
 * and the policy's route through it with them.  Until the next reconcile
 * puts them back, the policy table must still end the lookup: in a
 * blackhole, not in the main table (out through the ISP in clear).
 */
START_TEST(test_policy_table_still_fails_closed_when_our_links_are_deleted_under_us)
{
	char defaults[256] = "";

	for (int i = 0; i < 3; i++) {
		const char *name = engine_config(e)->tunnels[i].name;

		ck_assert_int_eq(k->link_del(k, name), 0);
	}
	ck_assert_int_eq(k->route_dump(k, policy_default_cb, defaults), 0);
	ck_assert_str_eq(defaults, "blackhole@fallback ");
}
END_TEST

/* The policy table's routes now, as "blackhole" / "group" lines. */
static void
table_route_cb(const struct kernel_route *r, void *arg)
{
	char *out = arg;

	if (r->table == DESIRED_POLICY_TABLE_BASE)
		strcat(out, r->blackhole ? "blackhole\n" : r->nhid ? "group\n" : "other\n");
}

static void
table_routes(char *out)
{
	out[0] = '\0';
	ck_assert_int_eq(k->route_dump(k, table_route_cb, out), 0);
}

/*
 * An HA backup (tunsteerctl standby): the policy table keeps only its
 * blackhole, whatever health says, and nothing counts as a failover; a
 * reload keeps the role; active brings the group back.
 */
START_TEST(test_standby_withdraws_egress_to_the_blackhole_and_active_restores_it)
{
	struct engine_counters before, after;
	char routes[256];
	const char *log;

	table_routes(routes);
	ck_assert_msg(strstr(routes, "group\n") && strstr(routes, "blackhole\n") &&
		      strlen(routes) == 16, "%s", routes);
	engine_counters(e, &before);
	ck_assert_int_eq(engine_set_standby(e, true), 0);
	ck_assert(engine_standby(e));
	log = kernel_fake_ops_log(k);
	ck_assert_msg(lines_starting(log, "route del") == 1, "%s", log);
	ck_assert_msg(lines_starting(log, "nexthop del") == 1, "%s", log);
	ck_assert_msg(strstr(log, "link ") == NULL, "%s", log);
	table_routes(routes);
	ck_assert_str_eq(routes, "blackhole\n");
	/* Health moves nothing while withdrawn. */
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	/* Again: nothing to do. */
	ck_assert_int_eq(engine_set_standby(e, true), 0);
	ck_assert_uint_eq(kernel_fake_ops_count(k), 0);
	/* A reload stays in standby. */
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	table_routes(routes);
	ck_assert_str_eq(routes, "blackhole\n");
	engine_counters(e, &after);
	ck_assert_uint_eq(after.failovers, before.failovers);

	ck_assert_int_eq(engine_set_standby(e, false), 0);
	ck_assert(!engine_standby(e));
	table_routes(routes);
	ck_assert_msg(strstr(routes, "group\n") && strstr(routes, "blackhole\n") &&
		      strlen(routes) == 16, "%s", routes);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strstr(log, "nexthop replace id 0x7474") != NULL, "%s", log);
	engine_counters(e, &after);
	ck_assert_uint_eq(after.failovers, before.failovers);
	/* Active again, health moves egress again. */
	set_health(HEALTH_UP, HEALTH_UP, HEALTH_UP);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(k), "nexthop replace"));
}
END_TEST

/* Egress moves by replacing the policy's group, nothing else. */
START_TEST(test_failover_replaces_the_group_and_touches_no_route)
{
	const char *log;

	h[0].state = HEALTH_DOWN;
	ck_assert_int_eq(engine_health_changed(e), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nexthop replace id 0x7474"));
	ck_assert_ptr_null(strstr(log, "route "));
	ck_assert_ptr_null(strstr(log, "link "));
}
END_TEST

/*
 * A health change costs what the policies cost, not what the whole state
 * does: no dump of links, addresses, nexthops, routes or rules, and one
 * operation per policy whose group changed (with 1,000 tunnels the full
 * build, dump and diff per change held the loop ~680 ms in the lab VM).
 */
START_TEST(test_health_change_dumps_nothing_and_changes_only_the_group)
{
	const char *log;

	(void)kernel_fake_dumps(k);
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 1);
	ck_assert_uint_eq(lines_starting(log, "conntrack flush"), 1);
	/* Nothing else: two lines. */
	ck_assert_uint_eq(lines_starting(log, ""), 2);

	/* A change that moves nothing issues nothing and looks at nothing. */
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_DEGRADED);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

static void
group_cb(const struct kernel_nhobj *nh, void *arg)
{
	unsigned int *members = arg;

	if (nh->n_members)
		*members = nh->n_members;
}

/*
 * The group's replacement fails: the change is not left half done until
 * the next kernel event or the 30 s timer, a full pass follows at once
 * and retries it.
 */
START_TEST(test_failed_health_change_is_retried_by_a_full_pass_at_once)
{
	unsigned int members = 0;
	const char *log;

	(void)kernel_fake_dumps(k);
	kernel_fake_fail_next(k, -EBUSY);
	h[0].state = HEALTH_DOWN;
	ck_assert_int_eq(engine_health_changed(e), 0);
	ck_assert_uint_gt(kernel_fake_dumps(k), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 2);
	ck_assert_ptr_nonnull(strstr(log, "(failed)"));
	ck_assert_int_eq(k->nhobj_dump(k, group_cb, &members), 0);
	ck_assert_uint_eq(members, 1);	/* cf2 alone */
}
END_TEST

/* The policy's route through its group, as a route callback finds it. */
static void
group_route_cb(const struct kernel_route *r, void *arg)
{
	bool *found = arg;

	if (r->table == DESIRED_POLICY_TABLE_BASE && r->nhid)
		*found = true;
}

/* The policy's route through its group, deleted behind our back. */
static void
delete_policy_route(void)
{
	const struct kernel_state *want = engine_desired(e);

	for (size_t i = 0; i < want->n_routes; i++)
		if (want->routes[i].table == DESIRED_POLICY_TABLE_BASE &&
		    want->routes[i].nhid)
			kernel_fake_remove_route(k, &want->routes[i]);
}

/* The audit (lib/audit.h) saw the route missing: repaired from what it
 * saw, with no dump on the loop, and counted as a repair. */
START_TEST(test_audit_result_repairs_what_it_saw_without_dumping_on_the_loop)
{
	struct kernel_state seen;
	struct engine_counters before, after;
	bool found = false;

	engine_counters(e, &before);
	delete_policy_route();
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	(void)kernel_fake_dumps(k);
	(void)kernel_fake_ops_log(k);
	ck_assert_int_eq(engine_audit_result(e, &seen, 0, engine_kernel_gen(e), AUDIT_DRIFT_UNKNOWN, NULL), 0);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	ck_assert_uint_eq(lines_starting(kernel_fake_ops_log(k), "route replace"), 1);
	ck_assert_int_eq(k->route_dump(k, group_route_cb, &found), 0);
	ck_assert(found);
	engine_counters(e, &after);
	ck_assert_uint_eq(after.audits, before.audits + 1);
	ck_assert_uint_eq(after.repairs, before.repairs + 1);
	kernel_state_free(&seen);
}
END_TEST

/* An audit begun before a health change of ours shows the state we left:
 * it must not "repair" the kernel back to it. */
START_TEST(test_audit_result_older_than_our_last_change_is_dropped)
{
	struct kernel_state seen;
	unsigned long gen = engine_kernel_gen(e);

	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	ck_assert_uint_ne(engine_kernel_gen(e), gen);
	(void)kernel_fake_ops_log(k);
	/* -ESTALE: the daemon audits again. */
	ck_assert_int_eq(engine_audit_result(e, &seen, 0, gen, AUDIT_DRIFT_UNKNOWN, NULL), -ESTALE);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	kernel_state_free(&seen);
}
END_TEST

/* The audit's thread compared with engine_want_copy() of the same
 * generation: the loop takes its word (no compare), and repairs from what
 * it saw when it found a difference. */
START_TEST(test_audit_compared_off_the_loop_repairs_only_what_it_found)
{
	struct kernel_state seen, *want = engine_want_copy(e);
	struct reconcile *dry = reconcile_create(k, &kernel_marks_tunsteerd);
	struct engine_counters before, after;
	char first[256];
	unsigned int n;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(dry);
	delete_policy_route();
	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	/* What the audit's thread does with the copy: one object differs. */
	n = reconcile_drift(dry, &seen, want, first, sizeof(first));
	ck_assert_uint_eq(n, 1);
	(void)kernel_fake_dumps(k);
	(void)kernel_fake_ops_log(k);
	engine_counters(e, &before);
	/* Said to be as wanted: the loop does not look again itself. */
	ck_assert_int_eq(engine_audit_result(e, &seen, 0, engine_kernel_gen(e),
					     0, ""), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	/* Said to differ: repaired from what was seen, nothing dumped. */
	ck_assert_int_eq(engine_audit_result(e, &seen, 0, engine_kernel_gen(e),
					     n, first), 0);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	ck_assert_uint_eq(lines_starting(kernel_fake_ops_log(k), "route replace"), 1);
	engine_counters(e, &after);
	ck_assert_uint_eq(after.audits, before.audits + 2);
	ck_assert_uint_eq(after.repairs, before.repairs + 1);
	reconcile_destroy(dry);
	kernel_state_free(&seen);
	kernel_state_free(want);
	free(want);
}
END_TEST

START_TEST(test_audit_of_a_kernel_as_wanted_changes_nothing)
{
	struct kernel_state seen;

	ck_assert_int_eq(reconcile_observe(k, &kernel_marks_tunsteerd, &seen), 0);
	(void)kernel_fake_ops_log(k);
	ck_assert_int_eq(engine_audit_result(e, &seen, 0, engine_kernel_gen(e), AUDIT_DRIFT_UNKNOWN, NULL), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
	kernel_state_free(&seen);
}
END_TEST

/*
 * After a pass that left something undone, the kernel is not what the
 * engine last wanted, and a delta from there would leave it so: a health
 * change is then a full pass, which retries.
 */
START_TEST(test_health_change_after_a_failed_pass_is_a_full_pass)
{
	const struct kernel_state *want = engine_desired(e);
	bool found = false;

	/* Someone deletes the policy's route; putting it back fails. */
	for (size_t i = 0; i < want->n_routes; i++)
		if (want->routes[i].table == DESIRED_POLICY_TABLE_BASE &&
		    want->routes[i].nhid)
			kernel_fake_remove_route(k, &want->routes[i]);
	kernel_fake_fail_next(k, -EBUSY);
	ck_assert_int_lt(engine_resync(e), 0);
	(void)kernel_fake_dumps(k);
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	ck_assert_uint_gt(kernel_fake_dumps(k), 0);
	ck_assert_int_eq(k->route_dump(k, group_route_cb, &found), 0);
	ck_assert(found);
	/* Back in step: the next change is a delta again. */
	(void)kernel_fake_dumps(k);
	set_health(HEALTH_UP, HEALTH_UP, HEALTH_UP);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
}
END_TEST

static void
count_policy_routes_cb(const struct kernel_route *r, void *arg)
{
	unsigned int *n = arg;

	if (r->table == DESIRED_POLICY_TABLE_BASE)
		(*n)++;
}

/*
 * all_down = "isp": every tunnel down empties the policy's table (route,
 * fallback, then the group), every tunnel back fills it again (group
 * first) -- by deltas, and what they leave is exactly what a full pass
 * wants.
 */
START_TEST(test_all_down_isp_empties_and_refills_the_table_by_deltas)
{
	static const char isp_text[] =
		"tunnels = (\n"
		"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
		"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; },\n"
		"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\"; }\n"
		");\n"
		"egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
		"  all_down = \"isp\";\n"
		"  tunnels = ( { tunnel = \"cf1\"; priority = 100; },\n"
		"              { tunnel = \"cf2\"; priority = 100; },\n"
		"              { tunnel = \"cf3\"; priority = 200; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *conf = config_load_string(isp_text, "isp", &errs);
	unsigned int n = 0;
	const char *log;

	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(engine_use(e, conf, stderr), 0);
	(void)kernel_fake_ops_log(k);
	(void)kernel_fake_dumps(k);

	set_health(HEALTH_DOWN, HEALTH_DOWN, HEALTH_DOWN);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	ck_assert_int_eq(k->route_dump(k, count_policy_routes_cb, &n), 0);
	ck_assert_uint_eq(n, 0);

	(void)kernel_fake_dumps(k);
	set_health(HEALTH_UP, HEALTH_DOWN, HEALTH_DOWN);
	ck_assert_uint_eq(kernel_fake_dumps(k), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strncmp(log, "nexthop replace id 0x7474", 25) == 0, "%s", log);
	n = 0;
	ck_assert_int_eq(k->route_dump(k, count_policy_routes_cb, &n), 0);
	ck_assert_uint_eq(n, 2);	/* through the group, and the fallback */

	ck_assert_int_eq(engine_resync(e), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

START_TEST(test_second_tunnel_failing_flushes_only_the_second)
{
	char want[96], *got;

	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	set_health(HEALTH_DOWN, HEALTH_DOWN, HEALTH_UP);
	got = flushes();
	flush_line(1, want, sizeof(want));
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

/* Failback: cf3 leaves egress because the better ones are back, not
 * because it failed; its connections stay. */
START_TEST(test_failback_flushes_nothing)
{
	char *got;

	set_health(HEALTH_DOWN, HEALTH_DOWN, HEALTH_UP);
	set_health(HEALTH_UP, HEALTH_UP, HEALTH_UP);
	got = flushes();
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

/* A tunnel that never carried egress (the 200 while the 100s are up)
 * going down moves nothing, so nothing is flushed. */
START_TEST(test_idle_tunnel_going_down_flushes_nothing)
{
	char *got;

	set_health(HEALTH_UP, HEALTH_UP, HEALTH_DOWN);
	got = flushes();
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

/* Everything down: egress stays on the best configured tunnels (the
 * provider does the same), so they keep their connections. */
START_TEST(test_all_down_keeps_the_best_and_their_connections)
{
	char want[96], *got;

	set_health(HEALTH_DOWN, HEALTH_DOWN, HEALTH_UP);
	free(flushes());
	set_health(HEALTH_DOWN, HEALTH_DOWN, HEALTH_DOWN);
	got = flushes();
	/* cf3 failed and left; cf1 and cf2 are back in the set. */
	flush_line(2, want, sizeof(want));
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

/* --- staging --------------------------------------------------------- */

/* The prober and the passive watch, wired to the engine as tunsteerd.c
 * wires them. */
struct followers {
	struct probe_engine *pe;
	struct passive *pw;
};

static int
stage_prepare_cb(void *arg, const struct config *conf)
{
	struct followers *f = arg;
	int err = passive_prepare(f->pw, conf);

	return err < 0 ? err : probe_engine_prepare(f->pe, conf);
}

static void
stage_commit_cb(void *arg)
{
	struct followers *f = arg;

	passive_commit(f->pw);
	probe_engine_commit(f->pe);
}

static void
stage_abort_cb(void *arg)
{
	struct followers *f = arg;

	passive_abort(f->pw);
	probe_engine_abort(f->pe);
}

static void
health_moved_cb(void *arg, size_t i, enum health_state old)
{
	(void)arg;
	(void)i;
	(void)old;
}

/* Tunnels cf1 and nt4 (new), two policies whose names validation takes;
 * the test renames the second after validation. */
static const char reload_text[] =
	"tunnels = (\n"
	"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
	"  { name = \"nt4\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.9\"; address = \"198.19.0.9/31\"; }\n"
	");\n"
	"egress = ( { name = \"a.b\"; prefixes = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = ( { tunnel = \"cf1\"; priority = 100; } ); },\n"
	"  { name = \"ab2\"; prefixes = [ \"203.0.113.128/25\" ];\n"
	"  tunnels = ( { tunnel = \"nt4\"; priority = 100; } ); } );\n";

/*
 * A reload that desired_build() refuses (two policies whose nft sets
 * would both be auth_a_b) must leave the prober's and the passive
 * watch's tunnel sets exactly as they were: same records, same order,
 * nothing of the refused config.  The collision is made after
 * validation, which refuses it by itself.
 */
START_TEST(test_reload_refused_late_leaves_probe_and_passive_sets)
{
	struct followers f = { 0 };
	struct event_base *base = event_base_new();
	const struct health *before[4];
	const struct passive_stats *seen[3];
	static const char *const names[] = { "cf1", "cf2", "cf3" };
	struct config_errors errs = { 0 };
	struct config *conf;
	FILE *out;
	char *why = NULL;
	size_t why_len = 0;
	int err;

	ck_assert_ptr_nonnull(base);
	f.pe = probe_engine_create(base, health_moved_cb, NULL, &err);
	f.pw = f.pe ? passive_create(base, &err) : NULL;
	if (f.pw == NULL) {
		/* No raw or packet socket without CAP_NET_RAW. */
		ck_assert_int_eq(err, -EPERM);
		probe_engine_destroy(f.pe);
		event_base_free(base);
		return;
	}
	engine_set_stage(e, &(struct engine_stage){ stage_prepare_cb,
		stage_commit_cb, stage_abort_cb }, &f);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	for (size_t i = 0; i < 4; i++)
		before[i] = probe_health(f.pe, i);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(before[i]);
		ck_assert_ptr_eq(probe_health_of(f.pe, names[i]), before[i]);
		seen[i] = passive_stats_of(f.pw, names[i]);
		ck_assert_ptr_nonnull(seen[i]);
	}
	ck_assert_ptr_null(before[3]);

	conf = config_load_string(reload_text, "reload", &errs);
	ck_assert_ptr_nonnull(conf);
	strcpy(conf->policies[1].name, "a-b");
	ck_assert_ptr_nonnull(out = open_memstream(&why, &why_len));
	ck_assert_int_lt(engine_use(e, conf, out), 0);
	fclose(out);
	ck_assert_msg(strstr(why, "cannot build kernel state") != NULL, "%s", why);
	free(why);

	ck_assert_str_eq(engine_config(e)->path, path);
	for (size_t i = 0; i < 4; i++)
		ck_assert_ptr_eq(probe_health(f.pe, i), before[i]);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_ptr_eq(probe_health_of(f.pe, names[i]), before[i]);
		ck_assert_ptr_eq(passive_stats_of(f.pw, names[i]), seen[i]);
	}
	ck_assert_ptr_null(probe_health_of(f.pe, "nt4"));
	ck_assert_ptr_null(passive_stats_of(f.pw, "nt4"));

	/* The same config without the collision goes through. */
	conf = config_load_string(reload_text, "reload", &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(engine_use(e, conf, stderr), 0);
	ck_assert_ptr_nonnull(probe_health_of(f.pe, "nt4"));
	ck_assert_ptr_nonnull(passive_stats_of(f.pw, "nt4"));
	ck_assert_ptr_null(probe_health_of(f.pe, "cf2"));
	ck_assert_ptr_null(passive_stats_of(f.pw, "cf2"));

	engine_destroy(e, true);
	e = NULL;
	probe_engine_destroy(f.pe);
	passive_destroy(f.pw);
	event_base_free(base);
}
END_TEST

/* What IKE says of v1 (the ipsec source): installed and carrying
 * fake_esp_mtu, or nothing when that is 0. */
static unsigned int fake_esp_mtu;

static int
ipsec_cb(void *arg, const char *name, struct ike_status *st)
{
	(void)arg;
	if (strcmp(name, "v1") != 0 && strcmp(name, "v2") != 0)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->link = fake_esp_mtu ? IKE_LINK_UP : IKE_LINK_DOWN;
	st->esp_mtu = fake_esp_mtu;
	return 0;
}

static const char ipsec_text[] =
	"tunnels = (\n"
	"  { name = \"v1\"; type = \"ipsec\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";"
	"    ike = { psk = \"psk-of-v1\"; }; },\n"
	"  { name = \"v2\"; type = \"ipsec\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\"; mtu = 1400;"
	"    ike = { psk = \"psk-of-v2\"; }; }\n"
	");\n"
	"egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
	"  tunnels = ( { tunnel = \"v1\"; priority = 100; },\n"
	"              { tunnel = \"v2\"; priority = 200; } ); } );\n";

static const struct config_tunnel *
tunnel_of(const char *name)
{
	const struct config *c = engine_config(e);

	for (size_t i = 0; i < c->n_tunnels; i++)
		if (strcmp(c->tunnels[i].name, name) == 0)
			return &c->tunnels[i];
	ck_abort_msg("no tunnel %s", name);
	return NULL;
}

static void
use_ipsec_config(void)
{
	struct config_errors errs = { 0 };
	struct config *conf = config_load_string(ipsec_text, "ipsec", &errs);

	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.msgs[0] : "?");
	ck_assert_int_eq(engine_use(e, conf, stderr), 0);
}

/*
 * An ipsec tunnel without an explicit mtu starts at the worst case of
 * its proposals with NAT-T (1438) and takes what its CHILD SA's transform
 * leaves once one is installed: the link's MTU and, under 1400, the MSS
 * clamp; one with an explicit mtu keeps it; a CHILD SA going away keeps
 * the last; a reload starts from the negotiated value (no flap).
 */
START_TEST(test_ipsec_mtu_follows_the_negotiated_transform_unless_configured)
{
	const char *log;

	fake_esp_mtu = 0;
	engine_set_ipsec_source(e, ipsec_cb, NULL);
	use_ipsec_config();
	ck_assert_uint_eq(tunnel_of("v1")->mtu, 1438);
	ck_assert_uint_eq(tunnel_of("v1")->mss, 1360);
	ck_assert(!tunnel_of("v1")->mtu_negotiated);
	(void)kernel_fake_ops_log(k);
	/* Nothing installed: nothing to follow, nothing touched. */
	ck_assert_int_eq(engine_ipsec_mtu_changed(e), 0);
	ck_assert_uint_eq(kernel_fake_ops_count(k), 0);

	/* AES-GCM-16 without a NAT: 1446; the MSS stays at the cap. */
	fake_esp_mtu = 1446;
	ck_assert_int_eq(engine_ipsec_mtu_changed(e), 0);
	ck_assert_uint_eq(tunnel_of("v1")->mtu, 1446);
	ck_assert_uint_eq(tunnel_of("v1")->mss, 1360);
	ck_assert(tunnel_of("v1")->mtu_negotiated);
	ck_assert_uint_eq(tunnel_of("v2")->mtu, 1400);
	ck_assert(!tunnel_of("v2")->mtu_negotiated);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strstr(log, "v1") && strstr(log, "mtu 1446"), "%s", log);
	ck_assert_msg(strstr(log, "mtu 1400") == NULL, "%s", log);

	/* The same again (a rekey): nothing. */
	ck_assert_int_eq(engine_ipsec_mtu_changed(e), 0);
	ck_assert_uint_eq(kernel_fake_ops_count(k), 0);

	/* A heavier transform: the clamp follows below 1400. */
	fake_esp_mtu = 1390;
	ck_assert_int_eq(engine_ipsec_mtu_changed(e), 0);
	ck_assert_uint_eq(tunnel_of("v1")->mss, 1350);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strstr(log, "maxseg size set 1350"), "%s", log);
	ck_assert_msg(strstr(log, "mtu 1390"), "%s", log);

	/* The SA goes: the last negotiated value stays. */
	fake_esp_mtu = 0;
	ck_assert_int_eq(engine_ipsec_mtu_changed(e), 0);
	ck_assert_uint_eq(tunnel_of("v1")->mtu, 1390);
	ck_assert_uint_eq(kernel_fake_ops_count(k), 0);

	/* A reload while one is installed starts from it. */
	fake_esp_mtu = 1390;
	use_ipsec_config();
	ck_assert_uint_eq(tunnel_of("v1")->mtu, 1390);
	ck_assert(tunnel_of("v1")->mtu_negotiated);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strstr(log, "mtu 1438") == NULL, "%s", log);
	engine_set_ipsec_source(e, NULL, NULL);
}
END_TEST

/*
 * Nexthop groups on a kernel with and without resilient ones (Linux
 * before 5.13, OpenWrt before 23.05): the engine tests once, before the
 * first load, and falls back to plain groups by itself.
 */
static void
setup_bare(void)
{
	log_init("check_engine", true, LOG_LVL_ERR);
	path = temp_file(conf_text);
	k = kernel_fake_create();
	ck_assert_ptr_nonnull(k);
	e = NULL;
	memset(h, 0, sizeof(h));
}

/* Start as the daemon does: test the kernel, then load; returns the
 * operations of the test alone. */
static char *
start(bool resilient, int fail_first)
{
	char *probe_ops;

	kernel_fake_set_resilient(k, resilient);
	e = engine_create(k);
	ck_assert_ptr_nonnull(e);
	engine_set_health_source(e, health_cb, NULL);
	h[0].state = h[1].state = h[2].state = HEALTH_UP;
	(void)kernel_fake_ops_log(k);
	if (fail_first)
		kernel_fake_fail_next(k, fail_first);
	engine_probe_nh_groups(e);
	probe_ops = strdup(kernel_fake_ops_log(k));
	ck_assert_ptr_nonnull(probe_ops);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	return probe_ops;
}

static void
count_cb(const struct kernel_nhobj *nh, void *arg)
{
	unsigned int *n = arg;

	ck_assert(nh->id != DESIRED_NH_PROBE_PATH &&
		  nh->id != DESIRED_NH_PROBE_GROUP);
	(*n)++;
}

START_TEST(test_kernel_with_resilient_groups_gets_them_and_the_test_leaves_nothing)
{
	char *probe_ops = start(true, 0);
	char want[256];
	const char *log;
	unsigned int n = 0;

	snprintf(want, sizeof(want),
		 "nexthop replace id %#x proto 227 blackhole\n"
		 "nexthop replace id %#x proto 227 group %#x,1 resilient"
		 " buckets 512 idle_timer 0 unbalanced_timer 0\n"
		 "nexthop del id %#x\n"
		 "nexthop del id %#x\n",
		 DESIRED_NH_PROBE_PATH, DESIRED_NH_PROBE_GROUP,
		 DESIRED_NH_PROBE_PATH, DESIRED_NH_PROBE_GROUP,
		 DESIRED_NH_PROBE_PATH);
	ck_assert_str_eq(probe_ops, want);
	free(probe_ops);
	ck_assert_str_eq(engine_nh_groups(e), "resilient");
	log = kernel_fake_ops_log(k);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 1);
	ck_assert_ptr_nonnull(strstr(log, " resilient buckets 512"));
	ck_assert_int_eq(k->nhobj_dump(k, count_cb, &n), 0);
	ck_assert_uint_eq(n, 4);	/* three paths, one group */
}
END_TEST

START_TEST(test_kernel_without_resilient_groups_gets_plain_ones_and_fails_over)
{
	char *probe_ops = start(false, 0);
	const char *log;

	ck_assert_ptr_nonnull(strstr(probe_ops, "resilient buckets 512 idle_timer"
					       " 0 unbalanced_timer 0 (failed)\n"));
	free(probe_ops);
	ck_assert_str_eq(engine_nh_groups(e), "plain");
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_null(strstr(log, "(failed)"));
	ck_assert_ptr_null(strstr(log, "resilient"));
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 1);
	ck_assert_ptr_nonnull(strstr(log, "/"));	/* cf1 and cf2 together */

	/* A failover replaces the plain group in place, as a resilient one. */
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	log = kernel_fake_ops_log(k);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 1);
	ck_assert_ptr_null(strstr(log, "(failed)"));
	ck_assert_ptr_null(strstr(log, "resilient"));
	ck_assert_int_eq(engine_resync(e), 0);
	ck_assert_str_eq(kernel_fake_ops_log(k), "");
}
END_TEST

/* A test that cannot tell (here: EPERM) gives the groups every kernel
 * makes, not ones it may refuse, which would leave egress on the
 * blackhole fallback. */
START_TEST(test_kernel_test_that_fails_falls_back_to_plain_groups)
{
	free(start(true, -EPERM));
	ck_assert_str_eq(engine_nh_groups(e), "plain");
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(k), "resilient"));
}
END_TEST

static void
teardown_bare(void)
{
	engine_destroy(e, true);
	k->destroy(k);
	unlink(path);
	free(path);
}

/*
 * Source NAT with the engine: a config with nat puts its sets, counter
 * and chains in the table and reads its count; the failed tunnel's
 * conntrack entries are still deleted (NAT'd flows start afresh, to the
 * same address, DESIGN.md "Source NAT"); someone deleting the table
 * gets all of it back; a reload that changes the chains keeps the
 * count; a reload without nat takes every nat object away.
 */
START_TEST(test_nat_objects_are_applied_repaired_counted_and_removed)
{
	static const char nat[] = "\"203.0.113.0/25\" ];\n"
		"  nat = { from = [ \"192.168.50.0/24\" ]; to = \"203.0.113.16/29\"; };\n";
	char *text = calloc(1, sizeof(conf_text) + sizeof(nat) + 64), *p2;
	const char *at = strstr(conf_text, "\"203.0.113.0/25\" ];\n");
	char want[96], *got;
	const char *log;
	uint64_t n[1];

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(at);
	memcpy(text, conf_text, (size_t)(at - conf_text));
	strcat(text, nat);
	strcat(text, strchr(at, '\n') + 1);
	p2 = temp_file(text);
	ck_assert_int_eq(engine_load(e, p2, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nft replace set inet tunsteer nat_office { 192.168.50.0/24 }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft \tcounter nat_office { }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft \tchain translate {\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft \tchain translate_check {\n"));
	ck_assert_int_eq(engine_nat_counts(e, n), 0);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_int_eq(kernel_fake_nft_count(k, "nat_office", 5), 0);
	ck_assert_int_eq(engine_nat_counts(e, n), 0);
	ck_assert_uint_eq(n[0], 5);

	/* cf1 fails: its entries go, NAT'd or not. */
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	got = flushes();
	flush_line(0, want, sizeof(want));
	ck_assert_str_eq(got, want);
	free(got);

	/* The table deleted under us: back whole, counter included. */
	kernel_fake_nft_tamper(k);
	ck_assert_int_eq(engine_nat_counts(e, n), -ENOENT);
	ck_assert_uint_eq(n[0], ENGINE_NAT_NONE);
	ck_assert_int_eq(engine_nft_drain(e), 1);
	ck_assert_int_ge(engine_nft_check(e), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nft \tcounter nat_office { }\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft \tchain translate {\n"));
	ck_assert_int_eq(engine_nat_counts(e, n), 0);
	ck_assert_uint_eq(n[0], 0);

	/* Other chains (no MSS clamp): the count stays. */
	ck_assert_int_eq(kernel_fake_nft_count(k, "nat_office", 3), 0);
	unlink(p2);
	free(p2);
	{
		char *t2 = calloc(1, strlen(text) + 32);

		ck_assert_ptr_nonnull(t2);
		strcpy(t2, "mss_clamp = false;\n");
		strcat(t2, text);
		p2 = temp_file(t2);
		free(t2);
	}
	ck_assert_int_eq(engine_load(e, p2, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nft delete chain inet tunsteer forward\n"));
	ck_assert_ptr_null(strstr(log, "delete counter"));
	ck_assert_int_eq(engine_nat_counts(e, n), 0);
	ck_assert_uint_eq(n[0], 3);

	/* Without nat: every nat object goes; nothing to count. */
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "nft delete counter inet tunsteer nat_office\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete set inet tunsteer translated\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete chain inet tunsteer translate\n"));
	ck_assert_ptr_null(strstr(log, "nft \tchain translate"));
	ck_assert_int_eq(engine_nat_counts(e, n), 0);
	ck_assert_uint_eq(n[0], ENGINE_NAT_NONE);
	unlink(p2);
	free(p2);
	free(text);
}
END_TEST

/* conf_text with an address6 on each tunnel and an IPv6 prefix. */
static char *
dual_stack_text(void)
{
	static const char *const a6[] = {
		"\"198.19.0.1/31\";", "\"198.19.0.3/31\";", "\"198.19.0.5/31\";" };
	static const char *const with6[] = {
		"\"198.19.0.1/31\"; address6 = \"2001:db8:ffff::/127\";",
		"\"198.19.0.3/31\"; address6 = \"2001:db8:ffff::2/127\";",
		"\"198.19.0.5/31\"; address6 = \"2001:db8:ffff::4/127\";" };
	char *text = calloc(1, sizeof(conf_text) + 512), *tmp;

	ck_assert_ptr_nonnull(text);
	strcpy(text, conf_text);
	for (size_t i = 0; i < 3; i++) {
		char *at = strstr(text, a6[i]);

		ck_assert_ptr_nonnull(at);
		tmp = strdup(at + strlen(a6[i]));
		ck_assert_ptr_nonnull(tmp);
		strcpy(at, with6[i]);
		strcat(text, tmp);
		free(tmp);
	}
	tmp = strstr(text, "\"203.0.113.0/25\"");
	ck_assert_ptr_nonnull(tmp);
	{
		char *rest = strdup(tmp + strlen("\"203.0.113.0/25\""));

		ck_assert_ptr_nonnull(rest);
		strcpy(tmp, "\"203.0.113.0/25\", \"2001:db8:1::/48\"");
		strcat(text, rest);
		free(rest);
	}
	return text;
}

/* The IPv6 default of the policy's table: "group <id>" or "blackhole". */
static void
v6_default_cb(const struct kernel_route *r, void *arg)
{
	char *out = arg;

	if (r->table == DESIRED_POLICY_TABLE_BASE && r->dst.family == AF_INET6 &&
	    r->dst.len == 0 && r->metric != DESIRED_FALLBACK_METRIC)
		snprintf(out, 32, "group %#x", r->nhid);
}

/*
 * Dual stack through the fake kernel (which refuses what the kernel
 * refuses across families): both families applied whole; a failed
 * tunnel leaves both groups at once (one health state per tunnel), with
 * one conntrack flush for both; an IPv6 route deleted under us is
 * repaired; a second tunsteerd (kill -9 and a restart) adopts every IPv6
 * object without a change; IPv4 alone again takes every IPv6 object away.
 */
START_TEST(test_dual_stack_is_applied_fails_over_together_repaired_adopted_and_removed)
{
	char *text = dual_stack_text(), *p6 = temp_file(text);
	const char *log;
	char got[32] = "";
	struct kernel_state *mine;
	struct engine *e2;

	ck_assert_int_eq(engine_load(e, p6, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(strstr(log, "(failed)") == NULL, "%s", log);
	ck_assert_ptr_nonnull(strstr(log, "addr add 2001:db8:ffff::/127 dev cf1\n"));
	ck_assert_ptr_nonnull(strstr(log, "rule add -6 prio 21100 from all fwmark "
				      "0x74730001/0xffffffff table 21100\n"));
	ck_assert_ptr_nonnull(strstr(log, "nexthop replace -6 id 0x7476"));
	ck_assert_ptr_nonnull(strstr(log, "nft replace set inet tunsteer auth6_office "
				      "{ 2001:db8:1::/48 }\n"));
	ck_assert_int_eq(k->route_dump(k, v6_default_cb, got), 0);
	ck_assert_str_ne(got, "");

	/* cf1 fails: the IPv4 group and its IPv6 twin, nothing else. */
	set_health(HEALTH_DOWN, HEALTH_UP, HEALTH_UP);
	log = kernel_fake_ops_log(k);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace id 0x7474"), 1);
	ck_assert_uint_eq(lines_starting(log, "nexthop replace -6 id 0x7476"), 1);
	ck_assert_uint_eq(lines_starting(log, "conntrack flush"), 1);
	ck_assert_uint_eq(lines_starting(log, ""), 3);

	/* The IPv6 route through the group deleted under us: back. */
	mine = engine_want_copy(e);
	ck_assert_ptr_nonnull(mine);
	for (size_t i = 0; i < mine->n_routes; i++)
		if (mine->routes[i].dst.family == AF_INET6 &&
		    mine->routes[i].nhid)
			kernel_fake_remove_route(k, &mine->routes[i]);
	got[0] = '\0';
	ck_assert_int_eq(k->route_dump(k, v6_default_cb, got), 0);
	ck_assert_str_eq(got, "");
	ck_assert_int_ge(engine_resync(e), 0);
	ck_assert_int_eq(k->route_dump(k, v6_default_cb, got), 0);
	ck_assert_str_ne(got, "");

	/* kill -9, then a new tunsteerd on the same kernel: nothing to do. */
	(void)kernel_fake_ops_log(k);
	e2 = engine_create(k);
	ck_assert_ptr_nonnull(e2);
	engine_set_health_source(e2, health_cb, NULL);
	ck_assert_int_eq(engine_load(e2, p6, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_msg(lines_starting(log, "route ") + lines_starting(log, "rule ") +
		      lines_starting(log, "nexthop ") +
		      lines_starting(log, "addr ") == 0,
		      "adoption changed kernel objects:\n%s", log);
	engine_destroy(e2, true);

	/* IPv4 alone: every IPv6 object goes. */
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
	log = kernel_fake_ops_log(k);
	ck_assert_ptr_nonnull(strstr(log, "rule del -6 prio 21100"));
	ck_assert_ptr_nonnull(strstr(log, "addr del 2001:db8:ffff::/127 dev cf1\n"));
	ck_assert_ptr_nonnull(strstr(log, "nft delete set inet tunsteer auth6_office\n"));
	got[0] = '\0';
	ck_assert_int_eq(k->route_dump(k, v6_default_cb, got), 0);
	ck_assert_str_eq(got, "");
	kernel_state_free(mine);
	free(mine);
	unlink(p6);
	free(p6);
	free(text);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("health to egress");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_failed_tunnel_alone_loses_its_conntrack_entries);
	tcase_add_test(tc, test_nat_objects_are_applied_repaired_counted_and_removed);
	tcase_add_test(tc, test_dual_stack_is_applied_fails_over_together_repaired_adopted_and_removed);
	tcase_add_test(tc, test_failover_replaces_the_group_and_touches_no_route);
	tcase_add_test(tc, test_policy_table_still_fails_closed_when_our_links_are_deleted_under_us);
	tcase_add_test(tc, test_health_change_dumps_nothing_and_changes_only_the_group);
	tcase_add_test(tc, test_failed_health_change_is_retried_by_a_full_pass_at_once);
	tcase_add_test(tc, test_health_change_after_a_failed_pass_is_a_full_pass);
	tcase_add_test(tc, test_all_down_isp_empties_and_refills_the_table_by_deltas);
	tcase_add_test(tc, test_second_tunnel_failing_flushes_only_the_second);
	tcase_add_test(tc, test_failback_flushes_nothing);
	tcase_add_test(tc, test_idle_tunnel_going_down_flushes_nothing);
	tcase_add_test(tc, test_all_down_keeps_the_best_and_their_connections);
	/* A GRE-only build (--without-strongswan) has no ipsec tunnels. */
	if (ike_check_available())
		tcase_add_test(tc, test_ipsec_mtu_follows_the_negotiated_transform_unless_configured);
	tcase_add_test(tc, test_standby_withdraws_egress_to_the_blackhole_and_active_restores_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("staging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reload_refused_late_leaves_probe_and_passive_sets);
	tcase_add_test(tc, test_audit_result_repairs_what_it_saw_without_dumping_on_the_loop);
	tcase_add_test(tc, test_audit_result_older_than_our_last_change_is_dropped);
	tcase_add_test(tc, test_audit_of_a_kernel_as_wanted_changes_nothing);
	tcase_add_test(tc, test_audit_compared_off_the_loop_repairs_only_what_it_found);
	tcase_add_test(tc, test_with_a_flusher_the_failed_tunnels_flush_is_queued_not_done);
	suite_add_tcase(s, tc);

	tc = tcase_create("nexthop groups");
	tcase_add_checked_fixture(tc, setup_bare, teardown_bare);
	tcase_add_test(tc, test_kernel_with_resilient_groups_gets_them_and_the_test_leaves_nothing);
	tcase_add_test(tc, test_kernel_without_resilient_groups_gets_plain_ones_and_fails_over);
	tcase_add_test(tc, test_kernel_test_that_fails_falls_back_to_plain_groups);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(engine_suite)
