/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Integration test of the libnl backend against a real kernel.
 *
 * Needs root and a kernel with ip_gre and xfrm_interface
 * (tests/integration/run, through tests/lab/vmrun).  Every test runs in
 * its own forked child, in a fresh network namespace holding lo and
 * dummy0 (198.51.100.2/30, the underlay),
 * and checks each result twice: through the backend's own dumps and
 * through iproute2's view of the kernel.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/kernel_nl.h"
#include "lib/reconcile.h"
#include "testlib.h"

#define TABLE 21001

static struct kernel_ops *k;

/* --- helpers ------------------------------------------------------------- */

/* Run a shell command; it must succeed. */
static void
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	ck_assert_msg(st == 0, "'%s' failed (status %d)", cmd, st);
}

/* Everything a shell command prints to stdout; the caller frees it. */
static char *
out_of(const char *fmt, ...)
{
	char cmd[1024];
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "popen '%s': %s", cmd, strerror(errno));
	do {
		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, 4096, p);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	ck_assert_msg(pclose(p) == 0, "'%s' failed", cmd);
	return buf;
}

#define assert_has(hay, needle)                                          \
	ck_assert_msg(strstr((hay), (needle)) != NULL,                   \
		      "expected \"%s\" in:\n%s", (needle), (hay))
#define assert_lacks(hay, needle)                                        \
	ck_assert_msg(strstr((hay), (needle)) == NULL,                   \
		      "unexpected \"%s\" in:\n%s", (needle), (hay))

static struct in_addr
ip4(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct ts_prefix
pfx(const char *s, unsigned int len)
{
	struct ts_prefix p = { .family = AF_INET, .len = (uint8_t)len };

	p.v4 = ip4(s);
	return p;
}

static struct ts_prefix
pfx6(const char *s, unsigned int len)
{
	struct ts_prefix p = { .family = AF_INET6, .len = (uint8_t)len };

	ck_assert_int_eq(inet_pton(AF_INET6, s, &p.v6), 1);
	return p;
}

static struct kernel_link
gre(const char *name, const char *remote, uint8_t ttl, uint32_t mtu)
{
	struct kernel_link l = { .kind = KERNEL_LINK_GRE, .ttl = ttl,
				 .mtu = mtu, .up = true };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.alias, sizeof(l.alias), "%s%s", KERNEL_LINK_ALIAS_PREFIX,
		 name);
	l.local = ip4("198.51.100.2");
	l.remote = ip4(remote);
	return l;
}

struct link_find {
	const char *name;
	struct kernel_link found;
	int n_found, n_total;
};

static void
link_find_cb(const struct kernel_link *l, void *arg)
{
	struct link_find *f = arg;

	f->n_total++;
	if (strcmp(l->name, f->name) == 0) {
		f->found = *l;
		f->n_found++;
	}
}

/* Dump links; true (and *@out) if @name is there, exactly once. */
static bool
find_link(const char *name, struct kernel_link *out)
{
	struct link_find f = { .name = name };

	ck_assert_int_eq(k->link_dump(k, link_find_cb, &f), 0);
	ck_assert_int_le(f.n_found, 1);
	if (f.n_found && out != NULL)
		*out = f.found;
	return f.n_found == 1;
}

struct route_find {
	struct kernel_route key;
	struct kernel_route *found;
	int n_found;
};

static void
route_find_cb(const struct kernel_route *r, void *arg)
{
	struct route_find *f = arg;

	if (r->table == f->key.table && r->metric == f->key.metric &&
	    ts_prefix_equal(&r->dst, &f->key.dst)) {
		if (f->found != NULL)
			*f->found = *r;
		f->n_found++;
	}
}

static bool
find_route(uint32_t table, struct ts_prefix dst, uint32_t metric,
	   struct kernel_route *out)
{
	struct route_find f = { .found = out };

	f.key.table = table;
	f.key.dst = dst;
	f.key.metric = metric;
	ck_assert_int_eq(k->route_dump(k, route_find_cb, &f), 0);
	ck_assert_int_le(f.n_found, 1);
	return f.n_found == 1;
}

struct rule_find {
	int family;
	uint32_t priority;
	struct kernel_rule found;
	int n_found, n_total;
};

static void
rule_find_cb(const struct kernel_rule *r, void *arg)
{
	struct rule_find *f = arg;

	f->n_total++;
	if (kernel_rule_family(r) == f->family && r->priority == f->priority) {
		f->found = *r;
		f->n_found++;
	}
}

/* The rules of @family at @priority: how many, the last in *@out. */
static int
find_rule_of(int family, uint32_t priority, struct kernel_rule *out)
{
	struct rule_find f = { .family = family, .priority = priority };

	ck_assert_int_eq(k->rule_dump(k, rule_find_cb, &f), 0);
	if (f.n_found && out != NULL)
		*out = f.found;
	return f.n_found;
}

static int
find_rule(uint32_t priority, struct kernel_rule *out)
{
	struct rule_find f = { .family = AF_INET, .priority = priority };

	ck_assert_int_eq(k->rule_dump(k, rule_find_cb, &f), 0);
	if (f.n_found && out != NULL)
		*out = f.found;
	return f.n_found;
}

struct addr_find {
	const char *ifname;
	struct kernel_addr found[8];
	int n_found;
};

static void
addr_find_cb(const struct kernel_addr *a, void *arg)
{
	struct addr_find *f = arg;

	if (strcmp(a->ifname, f->ifname) == 0 && f->n_found < 8)
		f->found[f->n_found++] = *a;
}

/* Wait (2 s at most) for the monitor fd to become readable. */
static bool
monitor_readable(void)
{
	struct pollfd pfd = { .fd = k->monitor_fd(k), .events = POLLIN };

	return poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLIN);
}

/* --- fixture ------------------------------------------------------------- */

static void
setup(void)
{
	int err = 0;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0,
		      "unshare(CLONE_NEWNET): %s (needs root)",
		      strerror(errno));
	sh("printf '%%s\\n' 'link set lo up' 'link add dummy0 type dummy' "
	   "'addr add 198.51.100.2/30 dev dummy0' 'link set dummy0 up' "
	   "| ip -batch -");
	k = kernel_nl_create(&err);
	ck_assert_msg(k != NULL, "kernel_nl_create: %s", strerror(-err));
}

static void
teardown(void)
{
	if (k != NULL)
		k->destroy(k);
	k = NULL;
}

/* --- links --------------------------------------------------------------- */

START_TEST(gre_link_created_bare_with_endpoints_ttl_mtu_alias_and_up)
{
	struct kernel_link want = gre("gre1", "192.0.2.1", 64, 1400), have;
	char *j;

	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("gre1", &have));
	ck_assert_int_eq(have.kind, KERNEL_LINK_GRE);
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");
	ck_assert(kernel_link_is_ours(&have));
	ck_assert_int_gt(have.ifindex, 0);

	j = out_of("ip -d -j link show gre1");
	assert_has(j, "\"info_kind\":\"gre\"");
	assert_has(j, "\"local\":\"198.51.100.2\"");
	assert_has(j, "\"remote\":\"192.0.2.1\"");
	assert_has(j, "\"ttl\":64");
	assert_has(j, "\"mtu\":1400");
	assert_has(j, "\"ifalias\":\"tunsteer:gre1\"");
	assert_has(j, "\"UP\"");
	/* A bare 4-byte GRE header: no key, checksum or sequence number. */
	assert_lacks(j, "key");
	assert_lacks(j, "csum");
	assert_lacks(j, "seq");
	free(j);

	/* Setting it again is a no-op. */
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("gre1", &have));
	ck_assert(kernel_link_equal(&want, &have));
}
END_TEST

START_TEST(changing_mtu_ttl_remote_and_state_in_place_keeps_ifindex)
{
	struct kernel_link want = gre("gre1", "192.0.2.1", 64, 1400), have;
	int ifindex;
	char *j;

	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("gre1", &have));
	ifindex = have.ifindex;

	want.mtu = 1380;
	want.ttl = 32;
	want.remote = ip4("192.0.2.5");
	want.up = false;
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("gre1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");

	j = out_of("ip -d -j link show gre1");
	assert_has(j, "\"mtu\":1380");
	assert_has(j, "\"ttl\":32");
	assert_has(j, "\"remote\":\"192.0.2.5\"");
	assert_lacks(j, "\"UP\"");
	free(j);

	/* Only the MTU: the tunnel data stays as it is. */
	want.mtu = 1300;
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("gre1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);
	ck_assert(kernel_link_equal(&want, &have));
}
END_TEST

static struct kernel_link
xfrm(const char *name, uint32_t if_id, const char *dev, uint32_t mtu)
{
	struct kernel_link l = { .kind = KERNEL_LINK_XFRM, .if_id = if_id,
				 .mtu = mtu, .up = true };

	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.dev, sizeof(l.dev), "%s", dev);
	snprintf(l.alias, sizeof(l.alias), "%s%s", KERNEL_LINK_ALIAS_PREFIX,
		 name);
	return l;
}

START_TEST(xfrm_interface_created_changed_in_place_and_deleted)
{
	struct kernel_link want = xfrm("ips1", KERNEL_XFRM_IF_ID_MIN,
				       "dummy0", 1400), have;
	int ifindex;
	char *j;

	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_int_eq(have.kind, KERNEL_LINK_XFRM);
	ck_assert_str_eq(have.dev, "dummy0");
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");
	ck_assert(kernel_link_is_ours(&have));
	ifindex = have.ifindex;
	j = out_of("ip -d -j link show ips1");
	assert_has(j, "\"info_kind\":\"xfrm\"");
	assert_has(j, "\"if_id\":\"0x74730001\"");
	assert_has(j, "\"link\":\"dummy0\"");	/* IFLA_LINK: the underlay */
	assert_has(j, "\"mtu\":1400");
	assert_has(j, "\"ifalias\":\"tunsteer:ips1\"");
	assert_has(j, "\"UP\"");
	free(j);

	/* Setting it again is a no-op. */
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert(kernel_link_equal(&want, &have));

	/* Another if_id and MTU, in place. */
	want.if_id = KERNEL_XFRM_IF_ID_MIN + 1;
	want.mtu = 1380;
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");
	j = out_of("ip -d -j link show ips1");
	assert_has(j, "\"if_id\":\"0x74730002\"");
	assert_has(j, "\"link\":\"dummy0\"");
	assert_has(j, "\"mtu\":1380");
	free(j);

	/* Only the MTU: if_id and underlay stay. */
	want.mtu = 1300;
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);
	ck_assert(kernel_link_equal(&want, &have));

	/* Another underlay: the kernel cannot rebind one, so it is a new
	 * interface, with everything else as wanted. */
	sh("ip link add dummy1 type dummy && ip link set dummy1 up");
	snprintf(want.dev, sizeof(want.dev), "dummy1");
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");
	j = out_of("ip -d -j link show ips1");
	assert_has(j, "\"if_id\":\"0x74730002\"");
	assert_has(j, "\"link\":\"dummy1\"");
	assert_has(j, "\"mtu\":1300");
	assert_has(j, "\"ifalias\":\"tunsteer:ips1\"");
	free(j);

	/* No underlay at all. */
	want.dev[0] = '\0';
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_msg(kernel_link_equal(&want, &have), "dumped back differs");
	ifindex = have.ifindex;
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert(find_link("ips1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);

	/* An underlay that does not exist is refused, nothing changes. */
	snprintf(want.dev, sizeof(want.dev), "nosuch0");
	ck_assert_int_eq(k->link_set(k, &want), -ENODEV);
	ck_assert(find_link("ips1", &have));
	ck_assert_str_eq(have.dev, "");
	ck_assert_int_eq(have.ifindex, ifindex);

	ck_assert_int_eq(k->link_del(k, "ips1"), 0);
	ck_assert(!find_link("ips1", NULL));
	j = out_of("ip -j link show type xfrm");
	assert_lacks(j, "ips1");
	free(j);
}
END_TEST

START_TEST(xfrm_interfaces_outside_our_if_id_range_are_never_touched)
{
	struct kernel_link want = xfrm("ipsec0", KERNEL_XFRM_IF_ID_MIN,
				       "dummy0", 1400), have;
	char *j;

	/* Another IPsec stack's interface, even with our alias on it. */
	sh("ip link add ipsec0 type xfrm dev dummy0 if_id 42");
	sh("ip link set ipsec0 alias tunsteer:ipsec0 mtu 1450");
	ck_assert(find_link("ipsec0", &have));
	ck_assert_int_eq(have.kind, KERNEL_LINK_XFRM);
	ck_assert_uint_eq(have.if_id, 42);
	ck_assert(!kernel_link_is_ours(&have));
	ck_assert_int_eq(k->link_del(k, "ipsec0"), -EPERM);
	ck_assert_int_eq(k->link_set(k, &want), -EEXIST);
	j = out_of("ip -d -j link show ipsec0");
	assert_has(j, "\"if_id\":\"0x2a\"");
	assert_has(j, "\"mtu\":1450");
	free(j);

	/* We never make one outside our range either. */
	want = xfrm("ips9", 42 + 1, "dummy0", 1400);
	ck_assert_int_eq(k->link_set(k, &want), -EINVAL);
	ck_assert(!find_link("ips9", NULL));

	/* One holding an if_id of our range: the kernel refuses ours a
	 * duplicate, and theirs stays as it was. */
	sh("ip link add vpn1 type xfrm dev dummy0 if_id 0x74730005");
	want = xfrm("ips5", KERNEL_XFRM_IF_ID_MIN + 4, "dummy0", 1400);
	ck_assert_int_lt(k->link_set(k, &want), 0);
	ck_assert(!find_link("ips5", NULL));
	ck_assert_int_eq(k->link_del(k, "vpn1"), -EPERM);
	ck_assert(find_link("vpn1", &have));
	ck_assert_uint_eq(have.if_id, 0x74730005);
	ck_assert_str_eq(have.dev, "dummy0");
}
END_TEST

START_TEST(reconcile_repairs_a_tampered_xfrm_interface_and_adopts_it)
{
	struct kernel_link want = xfrm("ips1", KERNEL_XFRM_IF_ID_MIN + 2,
				       "dummy0", 1400), have;
	struct kernel_state st;
	struct reconcile_stats stats;
	struct reconcile *rc = reconcile_create(k, &kernel_marks_tunsteerd);
	int ifindex;

	ck_assert_ptr_nonnull(rc);
	kernel_state_init(&st);
	ck_assert_int_eq(kernel_state_add_link(&st, &want), 0);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_uint_eq(stats.added, 1);
	ck_assert(find_link("ips1", &have));
	ifindex = have.ifindex;

	/* Someone moves it to another if_id of our range and MTU. */
	sh("ip link set ips1 type xfrm dev dummy0 if_id 0x74730009");
	sh("ip link set ips1 mtu 1500");
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_uint_eq(stats.changed, 1);
	ck_assert(find_link("ips1", &have));
	ck_assert_int_eq(have.ifindex, ifindex);
	ck_assert_msg(kernel_link_equal(&want, &have), "not repaired");

	/* A new instance adopts it as it is. */
	reconcile_destroy(rc);
	rc = reconcile_create(k, &kernel_marks_tunsteerd);
	ck_assert_ptr_nonnull(rc);
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_uint_eq(stats.added + stats.changed + stats.deleted, 0);

	/* Deleted by hand: made again. */
	sh("ip link del ips1");
	ck_assert_int_eq(reconcile_apply(rc, &st, &stats), 0);
	ck_assert_uint_eq(stats.added, 1);
	ck_assert(find_link("ips1", &have));
	ck_assert(kernel_link_equal(&want, &have));

	ck_assert_int_eq(reconcile_flush(rc, &stats), 0);
	ck_assert(!find_link("ips1", NULL));
	kernel_state_free(&st);
	reconcile_destroy(rc);
}
END_TEST

/* Another owner's backend (tunsteer-edge's marks: its alias prefix and
 * if_id range) makes XFRM interfaces without an underlay in its range,
 * never in tunsteerd's; each backend leaves the other's alone. */
START_TEST(another_owners_backend_makes_xfrm_interfaces_in_its_range_only)
{
	static const struct kernel_marks other = {
		.link_alias_prefix = KERNEL_EDGE_LINK_ALIAS_PREFIX,
		.xfrm_if_id_min = 0x74650001,
		.xfrm_if_id_max = 0x7465ffff,
	};
	struct kernel_link want = xfrm("it0", 0x74650001, "", 1450), have;
	struct kernel_ops *k2;
	int err;

	snprintf(want.alias, sizeof(want.alias), "%sit0",
		 KERNEL_EDGE_LINK_ALIAS_PREFIX);
	k2 = kernel_nl_create_marked(&other, &err);
	ck_assert_msg(k2 != NULL, "kernel_nl_create_marked: %s", strerror(-err));
	ck_assert_int_eq(k2->link_set(k2, &want), 0);
	ck_assert(find_link("it0", &have));
	ck_assert_int_eq(have.kind, KERNEL_LINK_XFRM);
	ck_assert_uint_eq(have.if_id, 0x74650001);
	ck_assert_str_eq(have.dev, "");
	ck_assert_uint_eq(have.mtu, 1450);
	ck_assert(kernel_marks_link(&other, &have));
	/* Again: nothing to do. */
	ck_assert_int_eq(k2->link_set(k2, &want), 0);
	/* tunsteerd's backend does not touch it... */
	ck_assert_int_eq(k->link_del(k, "it0"), -EPERM);
	/* ...nor does the other make one in tunsteerd's range. */
	want = xfrm("it1", KERNEL_XFRM_IF_ID_MIN, "", 1450);
	snprintf(want.alias, sizeof(want.alias), "%sit1",
		 KERNEL_EDGE_LINK_ALIAS_PREFIX);
	ck_assert_int_eq(k2->link_set(k2, &want), -EINVAL);
	ck_assert(!find_link("it1", NULL));
	ck_assert_int_eq(k2->link_del(k2, "it0"), 0);
	ck_assert(!find_link("it0", NULL));
	k2->destroy(k2);
}
END_TEST

/* --- XFRM: SAs another server negotiated ------------------------------- */

/* An SA record as another edge server sends it (lib/sarec.h): AES-GCM
 * 256, no replay window, 0.0.0.0/0 both ways. */
static void
sa_record(struct sarec *r, uint32_t if_id, uint32_t spi)
{
	testlib_sarec(r, "ipsec1", "edge2", if_id, spi, spi + 1);
	r->reqid = 77;
}

struct xstates {
	struct kernel_xfrm_state v[8];
	size_t n;
};

static void
xstate_cb(const struct kernel_xfrm_state *st, void *arg)
{
	struct xstates *x = arg;

	ck_assert_uint_lt(x->n, 8);
	x->v[x->n++] = *st;
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

START_TEST(propagated_sa_installs_esp_states_and_policies_on_its_if_id_only)
{
	struct sarec r, r2;
	struct xstates x = { 0 };
	char *out;

	ck_assert_ptr_nonnull(k->xfrm_sa_add);
	/* Someone else's state, on an if_id outside our range. */
	sh("ip xfrm state add src 203.0.113.1 dst 203.0.113.2 proto esp "
	   "spi 0x500 reqid 5 mode tunnel aead 'rfc4106(gcm(aes))' "
	   "0x%s 128 if_id 0x100", "000102030405060708090a0b0c0d0e0f10111213");
	sa_record(&r, KERNEL_XFRM_IF_ID_MIN + 0x41, 0xc0de0001);
	ck_assert_int_eq(k->xfrm_sa_add(k, &r), 0);

	/* As iproute2 sees them: both directions, tunnel mode, the
	 * record's algorithm and if_id. */
	out = out_of("ip xfrm state list");
	assert_has(out, "src 198.51.100.2 dst 192.0.2.1");
	assert_has(out, "spi 0xc0de0001 reqid 77 mode tunnel");
	assert_has(out, "src 192.0.2.1 dst 198.51.100.2");
	assert_has(out, "spi 0xc0de0002 reqid 77 mode tunnel");
	assert_has(out, "rfc4106(gcm(aes))");
	ck_assert_uint_eq(count_of(out, "if_id 0x74730042"), 2);
	free(out);
	out = out_of("ip xfrm policy list");
	ck_assert_uint_eq(count_of(out, "if_id 0x74730042"), 3);
	assert_has(out, "dir out priority 2500");
	assert_has(out, "dir in priority 2500");
	assert_has(out, "dir fwd priority 2500");
	free(out);

	/* The dump: ours only, with the record's window. */
	ck_assert_int_eq(k->xfrm_state_dump(k, xstate_cb, &x), 0);
	ck_assert_uint_eq(x.n, 2);
	for (size_t i = 0; i < x.n; i++) {
		ck_assert_uint_eq(x.v[i].if_id, 0x74730042);
		ck_assert_uint_eq(x.v[i].reqid, 77);
		ck_assert_uint_eq(x.v[i].replay_window, 0);
		ck_assert_uint_eq(x.v[i].packets, 0);
	}

	/* The same record again (sent twice): replaced, still two. */
	ck_assert_int_eq(k->xfrm_sa_add(k, &r), 0);
	x.n = 0;
	ck_assert_int_eq(k->xfrm_state_dump(k, xstate_cb, &x), 0);
	ck_assert_uint_eq(x.n, 2);

	/* A rekey's record: CBC + SHA2-256, NAT-T, a window of 64 (wider
	 * than the kernel's legacy bitmap). */
	sa_record(&r2, r.if_id, 0xc0de0011);
	r2.encr_alg = SAREC_ENCR_AES_CBC;
	r2.encr_keysize = 128;
	r2.integ_alg = SAREC_INTEG_HMAC_SHA2_256_128;
	r2.keys->encr_len = 16;
	r2.keys->integ_len = 32;
	r2.encap_sport = 4500;
	r2.encap_dport = 31337;
	r2.replay_window = 64;
	ck_assert_int_eq(k->xfrm_sa_add(k, &r2), 0);
	out = out_of("ip xfrm state list");
	assert_has(out, "hmac(sha256)");
	assert_has(out, "cbc(aes)");
	assert_has(out, "encap type espinudp sport 4500 dport 31337");
	assert_has(out, "encap type espinudp sport 31337 dport 4500");
	free(out);
	x.n = 0;
	ck_assert_int_eq(k->xfrm_state_dump(k, xstate_cb, &x), 0);
	ck_assert_uint_eq(x.n, 4);
	for (size_t i = 0; i < x.n; i++)
		if (x.v[i].spi == 0xc0de0011 || x.v[i].spi == 0xc0de0012)
			ck_assert_uint_eq(x.v[i].replay_window, 64);

	/* Outside our if_id range: refused, nothing made. */
	r2.if_id = 0x100;
	ck_assert_int_eq(k->xfrm_sa_add(k, &r2), -EINVAL);
	ck_assert_int_eq(k->xfrm_sa_del(k, &r2), -EINVAL);
	r2.if_id = r.if_id;

	/* The policies alone, removed by someone sharing them (charon)
	 * and made again; the states untouched. */
	ck_assert_int_eq(k->xfrm_policy_del(k, &r), 0);
	out = out_of("ip xfrm policy list");
	assert_lacks(out, "if_id 0x74730042");
	free(out);
	ck_assert_int_eq(k->xfrm_policy_add(k, &r), 0);
	ck_assert_int_eq(k->xfrm_policy_add(k, &r), 0);
	out = out_of("ip xfrm policy list");
	ck_assert_uint_eq(count_of(out, "if_id 0x74730042"), 3);
	free(out);
	x.n = 0;
	ck_assert_int_eq(k->xfrm_state_dump(k, xstate_cb, &x), 0);
	ck_assert_uint_eq(x.n, 4);

	/* Deleted: the states, then the policies; twice is no error; the
	 * foreign state stays. */
	ck_assert_int_eq(k->xfrm_sa_del(k, &r), 0);
	ck_assert_int_eq(k->xfrm_sa_del(k, &r), 0);
	ck_assert_int_eq(k->xfrm_sa_del(k, &r2), 0);
	ck_assert_int_eq(k->xfrm_policy_del(k, &r), 0);
	ck_assert_int_eq(k->xfrm_policy_del(k, &r), 0);
	out = out_of("ip xfrm state list");
	assert_lacks(out, "0xc0de00");
	assert_has(out, "spi 0x00000500");
	free(out);
	out = out_of("ip xfrm policy list");
	assert_lacks(out, "if_id 0x74730042");
	free(out);
	sarec_clear(&r);
	sarec_clear(&r2);
}
END_TEST

/* replay_protection at the edge: a record held inbound only makes the
 * inbound state and the in and fwd policies, never anything to send
 * with; deleting it as a whole is no error. */
START_TEST(an_inbound_only_sa_installs_no_outbound_state_or_policy)
{
	struct sarec r;
	struct xstates x = { 0 };
	char *out;

	sa_record(&r, KERNEL_XFRM_IF_ID_MIN + 0x43, 0xc0de0101);
	r.inbound_only = true;
	ck_assert_int_eq(k->xfrm_sa_add(k, &r), 0);
	out = out_of("ip xfrm state list");
	assert_has(out, "src 198.51.100.2 dst 192.0.2.1");
	assert_has(out, "spi 0xc0de0101 reqid 77 mode tunnel");
	assert_lacks(out, "spi 0xc0de0102");
	free(out);
	out = out_of("ip xfrm policy list");
	ck_assert_uint_eq(count_of(out, "if_id 0x74730044"), 2);
	assert_has(out, "dir in priority 2500");
	assert_has(out, "dir fwd priority 2500");
	assert_lacks(out, "dir out");
	free(out);
	ck_assert_int_eq(k->xfrm_state_dump(k, xstate_cb, &x), 0);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_uint_eq(x.v[0].spi, 0xc0de0101);
	ck_assert_int_eq(k->xfrm_sa_del(k, &r), 0);
	ck_assert_int_eq(k->xfrm_policy_del(k, &r), 0);
	out = out_of("ip xfrm state list");
	assert_lacks(out, "0xc0de01");
	free(out);
	out = out_of("ip xfrm policy list");
	assert_lacks(out, "if_id 0x74730044");
	free(out);
	sarec_clear(&r);
}
END_TEST

START_TEST(link_del_and_set_refuse_links_without_our_alias)
{
	struct kernel_link want = gre("foreign1", "192.0.2.9", 0, 0), have;

	sh("ip link add foreign1 type gre local 198.51.100.2 remote 192.0.2.9");
	/* The kernel ignores an alias in a create request. */
	sh("ip link add foreign2 type dummy");
	sh("ip link set foreign2 alias someone:else");
	ck_assert_int_eq(k->link_del(k, "foreign1"), -EPERM);
	ck_assert_int_eq(k->link_del(k, "foreign2"), -EPERM);
	ck_assert_int_eq(k->link_set(k, &want), -EEXIST);
	ck_assert(find_link("foreign1", &have));
	ck_assert(!kernel_link_is_ours(&have));
	ck_assert(find_link("foreign2", &have));
	ck_assert_int_eq(have.kind, KERNEL_LINK_OTHER);
	ck_assert_str_eq(have.alias, "someone:else");

	/* Ours goes; then it is simply absent. */
	want = gre("gre1", "192.0.2.1", 0, 0);
	ck_assert_int_eq(k->link_set(k, &want), 0);
	ck_assert_int_eq(k->link_del(k, "gre1"), 0);
	ck_assert(!find_link("gre1", NULL));
	ck_assert_int_eq(k->link_del(k, "gre1"), -ENODEV);
}
END_TEST

/* --- addresses ----------------------------------------------------------- */

START_TEST(addr_add_dump_del_with_and_without_peer)
{
	struct kernel_link l = gre("gre1", "192.0.2.1", 0, 0);
	struct kernel_addr a = { .ifname = "gre1",
				 .local = pfx("198.18.0.1", 31) };
	struct kernel_addr p = { .ifname = "gre1",
				 .local = pfx("198.18.1.1", 32) };
	struct addr_find f = { .ifname = "gre1" };
	char *j;

	p.peer = ip4("198.18.1.2");
	ck_assert_int_eq(k->link_set(k, &l), 0);
	ck_assert_int_eq(k->addr_add(k, &a), 0);
	ck_assert_int_eq(k->addr_add(k, &a), 0);	/* idempotent */
	ck_assert_int_eq(k->addr_add(k, &p), 0);
	ck_assert_int_eq(k->addr_dump(k, addr_find_cb, &f), 0);
	ck_assert_int_eq(f.n_found, 2);
	for (int i = 0; i < 2; i++) {
		const struct kernel_addr *x = &f.found[i];
		const struct kernel_addr *w =
			x->local.v4.s_addr == a.local.v4.s_addr ? &a : &p;

		ck_assert_int_eq(x->local.family, AF_INET);
		ck_assert_int_eq(x->local.len, w->local.len);
		ck_assert_int_eq(x->local.v4.s_addr, w->local.v4.s_addr);
		ck_assert_int_eq(x->peer.s_addr, w->peer.s_addr);
	}

	j = out_of("ip -j addr show dev gre1");
	assert_has(j, "\"local\":\"198.18.0.1\",\"prefixlen\":31");
	assert_has(j, "\"local\":\"198.18.1.1\",\"address\":\"198.18.1.2\"");
	free(j);

	ck_assert_int_eq(k->addr_del(k, &a), 0);
	ck_assert_int_eq(k->addr_del(k, &a), -EADDRNOTAVAIL);
	f.n_found = 0;
	ck_assert_int_eq(k->addr_dump(k, addr_find_cb, &f), 0);
	ck_assert_int_eq(f.n_found, 1);
	ck_assert_int_eq(f.found[0].peer.s_addr, p.peer.s_addr);
	j = out_of("ip -j addr show dev gre1");
	assert_lacks(j, "198.18.0.1");
	free(j);
}
END_TEST

/* --- routes -------------------------------------------------------------- */

START_TEST(route_replace_two_weighted_nexthops_over_gre_in_table_21001)
{
	struct kernel_link g1 = gre("gre1", "192.0.2.1", 0, 1400);
	struct kernel_link g2 = gre("gre2", "192.0.2.2", 0, 1400);
	struct kernel_addr a = { .ifname = "gre1",
				 .local = pfx("198.18.0.1", 30) };
	struct kernel_route want = { .table = TABLE, .metric = 100,
				     .protocol = KERNEL_RTPROT_TUNSTEER,
				     .n_nexthops = 2 };
	struct kernel_route have;
	char *t;

	ck_assert_int_eq(k->link_set(k, &g1), 0);
	ck_assert_int_eq(k->link_set(k, &g2), 0);
	ck_assert_int_eq(k->addr_add(k, &a), 0);
	want.dst = pfx("203.0.113.0", 24);
	want.nh[0] = (struct kernel_nexthop){ .dev = "gre1", .weight = 3 };
	want.nh[0].gw = ip4("198.18.0.2");
	want.nh[1] = (struct kernel_nexthop){ .dev = "gre2", .weight = 1 };

	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE, want.dst, 100, &have));
	ck_assert_msg(kernel_route_equal(&want, &have), "dumped back differs");
	ck_assert(kernel_route_is_ours(&have));
	t = out_of("ip route show table %d", TABLE);
	assert_has(t, "203.0.113.0/24 proto 227 metric 100");
	assert_has(t, "nexthop via 198.18.0.2 dev gre1 weight 3");
	assert_has(t, "nexthop dev gre2 weight 1");
	free(t);

	/* Replace in place: other weights, then a single nexthop. */
	want.nh[0].weight = 1;
	want.nh[1].weight = 200;
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE, want.dst, 100, &have));
	ck_assert(kernel_route_equal(&want, &have));
	want.n_nexthops = 1;
	want.nh[0] = want.nh[1];
	want.nh[0].weight = 1;
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE, want.dst, 100, &have));
	ck_assert(kernel_route_equal(&want, &have));
	t = out_of("ip route show table %d", TABLE);
	assert_has(t, "203.0.113.0/24 dev gre2 proto 227 scope link "
		      "metric 100");
	assert_lacks(t, "nexthop");
	free(t);

	ck_assert_int_eq(k->route_del(k, &want), 0);
	ck_assert(!find_route(TABLE, want.dst, 100, &have));
	ck_assert_int_eq(k->route_del(k, &want), -ESRCH);
	t = out_of("ip route show table %d", TABLE);
	assert_lacks(t, "203.0.113.0/24");
	free(t);
}
END_TEST

START_TEST(blackhole_route_replace_dump_and_del)
{
	struct kernel_route want = { .table = TABLE + 1, .metric = 10,
				     .protocol = KERNEL_RTPROT_TUNSTEER,
				     .blackhole = true };
	struct kernel_route have;
	char *t;

	want.dst = pfx("198.18.5.0", 24);
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE + 1, want.dst, 10, &have));
	ck_assert_msg(kernel_route_equal(&want, &have), "dumped back differs");
	t = out_of("ip route show table %d", TABLE + 1);
	assert_has(t, "blackhole 198.18.5.0/24 proto 227 metric 10");
	free(t);
	ck_assert_int_eq(k->route_del(k, &want), 0);
	ck_assert(!find_route(TABLE + 1, want.dst, 10, &have));
}
END_TEST

/* --- rules --------------------------------------------------------------- */

START_TEST(rules_with_fwmark_and_src_added_dumped_back_and_deleted)
{
	struct kernel_rule m = { .priority = 21100, .table = TABLE,
				 .fwmark = 0x100, .fwmask = 0xff00,
				 .protocol = KERNEL_RTPROT_TUNSTEER };
	struct kernel_rule s = { .priority = 21101, .table = TABLE,
				 .protocol = KERNEL_RTPROT_TUNSTEER };
	struct kernel_rule have;
	char *t;

	s.src = pfx("198.18.0.0", 15);
	ck_assert_int_eq(k->rule_add(k, &m), 0);
	ck_assert_int_eq(k->rule_add(k, &s), 0);
	ck_assert_int_eq(k->rule_add(k, &m), -EEXIST);

	ck_assert_int_eq(find_rule(21100, &have), 1);
	ck_assert_msg(kernel_rule_equal(&m, &have), "fwmark rule differs");
	ck_assert_int_eq(have.protocol, KERNEL_RTPROT_TUNSTEER);
	ck_assert(kernel_rule_is_ours(&have));
	ck_assert_int_eq(find_rule(21101, &have), 1);
	ck_assert_msg(kernel_rule_equal(&s, &have), "src rule differs");

	t = out_of("ip rule show");
	assert_has(t, "21100:\tfrom all fwmark 0x100/0xff00 lookup 21001 "
		      "proto 227");
	assert_has(t, "21101:\tfrom 198.18.0.0/15 lookup 21001 proto 227");
	free(t);

	ck_assert_int_eq(k->rule_del(k, &m), 0);
	ck_assert_int_eq(k->rule_del(k, &m), -ENOENT);
	ck_assert_int_eq(find_rule(21100, NULL), 0);
	ck_assert_int_eq(k->rule_del(k, &s), 0);
	t = out_of("ip rule show");
	assert_lacks(t, "2110");
	free(t);
}
END_TEST

/* --- foreign objects ----------------------------------------------------- */

static void
count_ours_cb(const struct kernel_route *r, void *arg)
{
	if (kernel_route_is_ours(r))
		(*(int *)arg)++;
}

START_TEST(dumps_see_foreign_objects_with_their_own_marks)
{
	struct kernel_link l;
	struct kernel_route r;
	struct kernel_rule ru;
	int ours = 0;

	sh("printf '%%s\\n' 'link add foreign1 type dummy' "
	   "'route add 198.18.9.0/24 dev dummy0 table 21003 proto static' "
	   "'rule add prio 100 from 198.18.9.0/24 lookup 21003' "
	   "| ip -batch -");
	ck_assert(find_link("foreign1", &l));
	ck_assert_int_eq(l.kind, KERNEL_LINK_OTHER);
	ck_assert(!kernel_link_is_ours(&l));
	ck_assert(find_link("lo", &l));
	ck_assert(l.up);
	ck_assert(find_link("dummy0", &l));
	ck_assert(!kernel_link_is_ours(&l));

	ck_assert(find_route(21003, pfx("198.18.9.0", 24), 0, &r));
	ck_assert_int_eq(r.protocol, RTPROT_STATIC);
	ck_assert(!kernel_route_is_ours(&r));
	ck_assert_uint_eq(r.n_nexthops, 1);
	ck_assert_str_eq(r.nh[0].dev, "dummy0");
	ck_assert_int_eq(k->route_dump(k, count_ours_cb, &ours), 0);
	ck_assert_int_eq(ours, 0);

	ck_assert_int_eq(find_rule(100, &ru), 1);
	ck_assert(!kernel_rule_is_ours(&ru));
	ck_assert_uint_eq(ru.table, 21003);
	/* The kernel's own: local, main, default. */
	ck_assert_int_eq(find_rule(0, NULL), 1);
	ck_assert_int_eq(find_rule(32766, NULL), 1);
	ck_assert_int_eq(find_rule(32767, NULL), 1);
	/* And IPv6's: local and main. */
	ck_assert_int_eq(find_rule_of(AF_INET6, 0, NULL), 1);
	ck_assert_int_eq(find_rule_of(AF_INET6, 32766, NULL), 1);
	ck_assert_int_eq(find_rule_of(AF_INET6, 32767, NULL), 0);
}
END_TEST

/* --- sysctl -------------------------------------------------------------- */

START_TEST(sysctl_set_writes_rp_filter_and_refuses_bad_paths)
{
	char *v;

	ck_assert_int_eq(k->sysctl_set(k, "net/ipv4/conf/dummy0/rp_filter",
				       "2"), 0);
	v = out_of("cat /proc/sys/net/ipv4/conf/dummy0/rp_filter");
	ck_assert_str_eq(v, "2\n");
	free(v);
	ck_assert_int_eq(k->sysctl_set(k, "net/ipv4/conf/dummy0/rp_filter",
				       "0"), 0);
	v = out_of("cat /proc/sys/net/ipv4/conf/dummy0/rp_filter");
	ck_assert_str_eq(v, "0\n");
	free(v);
	ck_assert_int_eq(k->sysctl_set(k, "../etc/passwd", "x"), -EINVAL);
	ck_assert_int_eq(k->sysctl_set(k, "net/ipv4/conf/nope0/rp_filter",
				       "1"), -ENOENT);
}
END_TEST

/* --- monitor ------------------------------------------------------------- */

START_TEST(monitor_reports_external_route_add)
{
	ck_assert_int_ge(k->monitor_fd(k), 0);
	ck_assert_int_eq(k->monitor_drain(k), 0);
	sh("ip route add 198.18.7.0/24 dev dummy0");
	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), 1);
	ck_assert_int_eq(k->monitor_drain(k), 0);

	sh("ip rule add prio 500 fwmark 7 lookup 100");
	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), 1);
}
END_TEST

START_TEST(monitor_overrun_reports_enobufs_once_then_recovers)
{
	int fd = k->monitor_fd(k), tiny = 0, before = 0, after = 0;
	socklen_t len = sizeof(before);
	char path[] = "/tmp/knl-batch.XXXXXX";
	FILE *f;
	int tfd;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny,
				    sizeof(tiny)), 0);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &before, &len),
			 0);
	tfd = mkstemp(path);
	ck_assert_int_ge(tfd, 0);
	f = fdopen(tfd, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 2000; i++)
		fprintf(f, "route add 198.18.%d.%d/32 dev dummy0 table 21004\n",
			20 + i / 250, i % 250 + 1);
	ck_assert_int_eq(fclose(f), 0);
	sh("ip -batch %s", path);
	unlink(path);

	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), -ENOBUFS);
	len = sizeof(after);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &after, &len),
			 0);
	ck_assert_int_gt(after, before);
	ck_assert_int_eq(k->monitor_drain(k), 0);

	sh("ip route add 198.18.7.0/24 dev dummy0");
	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), 1);
}
END_TEST

/* --- nftables: elements in bulk, read back, events per set ------------------ */

static bool
nft_monitor_readable(void)
{
	struct pollfd pfd = { .fd = k->nft_monitor_fd(k), .events = POLLIN };

	return poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLIN);
}

/* Adjacent /32s, a /16 and the top address (no end element: it would
 * wrap) replace a set's content, read back as the same prefixes; nft
 * itself shows them; a delete takes one out and leaves its neighbour;
 * our own commits are never reported, a foreign element change names its
 * set, a foreign rule the table, another table nothing. */
START_TEST(nft_sets_in_bulk_read_back_and_foreign_changes_are_named)
{
	struct ts_prefix want[] = { pfx("10.0.0.1", 32), pfx("10.0.0.2", 32),
				    pfx("10.1.0.0", 16), pfx("255.255.255.255", 32) };
	struct kernel_nft_elems batch[] = {
		{ KERNEL_NFT_ELEMS_REPLACE, "auth_a", want, 4, AF_INET },
		{ KERNEL_NFT_ELEMS_REPLACE, "authorized", want, 3, AF_INET },
	};
	struct kernel_nft_changes ch = { 0 };
	struct kernel_nft_names names;
	struct ts_prefix *got;
	size_t n;
	char *out;

	ck_assert_int_eq(k->nft_elems(k, batch, 2), 0);
	ck_assert_int_eq(k->nft_run(k, "table inet tunsteer {\n"
		"\tchain prerouting { type filter hook prerouting priority mangle; "
		"policy accept;\n\t\tip saddr @auth_a meta mark set 0x74730001\n"
		"\t\tip saddr { 192.0.2.1, 192.0.2.2 } accept\n\t}\n}\n", NULL), 0);
	out = out_of("nft list set inet tunsteer auth_a");
	assert_has(out, "10.0.0.1");
	assert_has(out, "10.0.0.2");
	assert_has(out, "10.1.0.0/16");
	assert_has(out, "255.255.255.255");
	free(out);

	ck_assert_int_eq(k->nft_set_get(k, "auth_a", &got, &n), 0);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(ts_prefix_cmp(&got[i], &want[i]), 0);
	free(got);
	ck_assert_int_eq(k->nft_set_get(k, "nope", &got, &n), -ENOENT);

	ck_assert_int_eq(k->nft_names(k, &names), 0);
	ck_assert_uint_eq(names.n_chains, 1);
	ck_assert_str_eq(names.chains[0], "prerouting");
	ck_assert_uint_eq(names.n_sets, 2);	/* not the anonymous one */
	kernel_nft_names_free(&names);

	/* Ours: never reported. */
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 0);

	batch[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_DEL, "auth_a", want, 1, AF_INET };
	ck_assert_int_eq(k->nft_elems(k, batch, 1), 0);
	ck_assert_int_eq(k->nft_set_get(k, "auth_a", &got, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ts_prefix_cmp(&got[0], &want[1]), 0);
	free(got);
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 0);

	sh("nft add table inet other");
	ck_assert(nft_monitor_readable());
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 0);

	sh("nft add element inet tunsteer auth_a { 10.2.0.0/24 }");
	ck_assert(nft_monitor_readable());
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 1);
	ck_assert(!ch.table);
	ck_assert_uint_eq(ch.n_sets, 1);
	ck_assert_str_eq(ch.sets[0], "auth_a");
	kernel_nft_changes_free(&ch);

	sh("nft add rule inet tunsteer prerouting counter");
	ck_assert(nft_monitor_readable());
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 1);
	ck_assert(ch.table);
	kernel_nft_changes_free(&ch);

	/* Replacing empties first: the foreign element is gone. */
	batch[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_REPLACE, "auth_a",
					      &want[2], 1, AF_INET };
	ck_assert_int_eq(k->nft_elems(k, batch, 1), 0);
	ck_assert_int_eq(k->nft_set_get(k, "auth_a", &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ts_prefix_cmp(&got[0], &want[2]), 0);
	free(got);
	/* A refused batch changes nothing: deleting what is not there. */
	batch[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_DEL, "auth_a", want, 1, AF_INET };
	ck_assert_int_lt(k->nft_elems(k, batch, 1), 0);
	ck_assert_int_eq(k->nft_monitor_drain(k, &ch), 0);
}
END_TEST

/* --- hygiene ------------------------------------------------------------- */

static void
ignore_link_cb(const struct kernel_link *l, void *arg)
{
}

static void
ignore_route_cb(const struct kernel_route *r, void *arg)
{
}

/* Under LSan, any leak in these paths fails the test's child at exit. */
START_TEST(repeated_operations_and_errors_do_not_leak)
{
	struct kernel_link l = gre("gre1", "192.0.2.1", 0, 0);
	struct kernel_route r = { .table = TABLE, .metric = 1,
				  .protocol = KERNEL_RTPROT_TUNSTEER,
				  .n_nexthops = 1 };
	struct kernel_ops *k2;
	int err = 0;

	r.dst = pfx("203.0.113.0", 24);
	r.nh[0] = (struct kernel_nexthop){ .dev = "gre1", .weight = 1 };
	for (int i = 0; i < 20; i++) {
		l.mtu = 1400 - (uint32_t)i;
		ck_assert_int_eq(k->link_set(k, &l), 0);
		ck_assert_int_eq(k->route_replace(k, &r), 0);
		ck_assert_int_eq(k->link_dump(k, ignore_link_cb, NULL), 0);
		ck_assert_int_eq(k->route_dump(k, ignore_route_cb, NULL), 0);
		ck_assert_int_eq(k->route_del(k, &r), 0);
		ck_assert_int_eq(k->route_del(k, &r), -ESRCH);
		ck_assert_int_eq(k->link_del(k, "nope0"), -ENODEV);
	}
	ck_assert_int_eq(k->link_del(k, "gre1"), 0);
	/* Routes over a missing device fail cleanly. */
	ck_assert_int_eq(k->route_replace(k, &r), -ENODEV);

	k2 = kernel_nl_create(&err);
	ck_assert_ptr_nonnull(k2);
	k2->destroy(k2);
}
END_TEST

/* --- nexthop objects ------------------------------------------------------ */

struct nh_find {
	uint32_t id;
	struct kernel_nhobj found;
	int n_found;
};

static void
nh_find_cb(const struct kernel_nhobj *nh, void *arg)
{
	struct nh_find *f = arg;

	if (nh->id == f->id) {
		f->found = *nh;
		f->n_found++;
	}
}

static bool
find_nhobj(uint32_t id, struct kernel_nhobj *out)
{
	struct nh_find f = { .id = id };

	ck_assert_int_eq(k->nhobj_dump(k, nh_find_cb, &f), 0);
	ck_assert_int_le(f.n_found, 1);
	if (f.n_found && out)
		*out = f.found;
	return f.n_found == 1;
}

START_TEST(resilient_group_of_gre_paths_replaced_in_place_keeps_surviving_buckets)
{
	struct kernel_link g1 = gre("gre1", "192.0.2.1", 64, 1476);
	struct kernel_link g2 = gre("gre2", "192.0.2.2", 64, 1476);
	struct kernel_link g3 = gre("gre3", "192.0.2.3", 64, 1476);
	struct kernel_nhobj p1 = { .id = 0x74730001, .protocol = 227, .dev = "gre1" };
	struct kernel_nhobj p2 = { .id = 0x74730002, .protocol = 227, .dev = "gre2" };
	struct kernel_nhobj p3 = { .id = 0x74730003, .protocol = 227, .dev = "gre3" };
	struct kernel_nhobj grp = { .id = 0x74740001, .protocol = 227,
				    .resilient = true, .buckets = 32,
				    .idle_timer = 5, .n_members = 2 };
	struct kernel_route r = { .table = TABLE, .protocol = 227,
				  .nhid = 0x74740001 };
	struct kernel_nhobj have;
	struct kernel_route rhave;
	char *before, *after, *t;

	ck_assert_int_eq(k->link_set(k, &g1), 0);
	ck_assert_int_eq(k->link_set(k, &g2), 0);
	ck_assert_int_eq(k->link_set(k, &g3), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p1), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p2), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p3), 0);
	grp.member[0] = (struct kernel_nhobj_member){ 0x74730001, 1 };
	grp.member[1] = (struct kernel_nhobj_member){ 0x74730002, 3 };
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	r.dst = pfx("0.0.0.0", 0);
	ck_assert_int_eq(k->route_replace(k, &r), 0);

	/* Dumped back as given, through both views. */
	ck_assert(find_nhobj(p2.id, &have));
	ck_assert_msg(kernel_nhobj_equal(&p2, &have), "path dumped back differs");
	ck_assert(kernel_nhobj_is_ours(&have));
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert_msg(kernel_nhobj_equal(&grp, &have), "group dumped back differs");
	ck_assert(find_route(TABLE, r.dst, 0, &rhave));
	ck_assert_msg(kernel_route_equal(&r, &rhave), "route dumped back differs");
	{
		char want[128];

		t = out_of("ip nexthop show id %u", grp.id);
		/* iproute2 prints a weight only when it is not 1. */
		snprintf(want, sizeof(want), "group %u/%u,3", p1.id, p2.id);
		assert_has(t, want);
		assert_has(t, "type resilient buckets 32 idle_timer 5 unbalanced_timer 0");
		assert_has(t, "proto 227");
		free(t);
		t = out_of("ip route show table %d", TABLE);
		snprintf(want, sizeof(want), "default nhid %u", grp.id);
		assert_has(t, want);
		free(t);
	}

	/* gre1 leaves: only its buckets move; gre2's stay where they were. */
	before = out_of("ip -j nexthop bucket show id %u | "
			"python3 -c 'import json,sys; print(sorted("
			"b[\"bucket\"][\"index\"] for b in json.load(sys.stdin) "
			"if b[\"bucket\"][\"nhid\"] == %u))'", grp.id, p2.id);
	grp.member[0] = grp.member[1];
	grp.n_members = 1;
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert(kernel_nhobj_equal(&grp, &have));
	t = out_of("ip -j nexthop bucket show id %u | "
		   "python3 -c 'import json,sys; print(len([b for b in json.load(sys.stdin) "
		   "if b[\"bucket\"][\"nhid\"] == %u]))'", grp.id, p2.id);
	ck_assert_str_eq(t, "32\n");
	free(t);
	/* gre3 joins: it may only take idle buckets, and gre2's buckets
	 * held before the change are all still gre2's (none idle 5 s yet). */
	grp.member[1] = (struct kernel_nhobj_member){ 0x74730003, 1 };
	grp.n_members = 2;
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	after = out_of("ip -j nexthop bucket show id %u | "
		       "python3 -c 'import json,sys; print(sorted("
		       "b[\"bucket\"][\"index\"] for b in json.load(sys.stdin) "
		       "if b[\"bucket\"][\"nhid\"] == %u))'", grp.id, p2.id);
	ck_assert_msg(strlen(before) > 3, "gre2 had no buckets: %s", before);
	t = after;
	/* Every bucket gre2 had before is still gre2's. */
	{
		char *tok, *save = NULL, *copy = strdup(before);

		for (tok = strtok_r(copy, "[], \n", &save); tok;
		     tok = strtok_r(NULL, "[], \n", &save)) {
			char needle[16];

			snprintf(needle, sizeof(needle), "%s", tok);
			ck_assert_msg(strstr(t, needle) != NULL,
				      "bucket %s moved off gre2: %s -> %s", tok,
				      before, after);
		}
		free(copy);
	}
	free(before);
	free(after);

	/* A path going takes itself out of the group; the group and the
	 * route through it stay (gre3 is left). */
	ck_assert_int_eq(k->nhobj_del(k, p2.id), 0);
	ck_assert(!find_nhobj(p2.id, NULL));
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert_uint_eq(have.n_members, 1);
	ck_assert_uint_eq(have.member[0].id, p3.id);
	ck_assert(find_route(TABLE, r.dst, 0, &rhave));
	ck_assert_int_eq(k->nhobj_del(k, p2.id), -ENOENT);

	/* Deleting the group takes the route through it along. */
	ck_assert_int_eq(k->nhobj_del(k, grp.id), 0);
	ck_assert(!find_route(TABLE, r.dst, 0, &rhave));
	/* A group of a missing path is refused, and the dump is unchanged. */
	grp.member[0].id = 0x74730009;
	grp.n_members = 1;
	ck_assert_int_lt(k->nhobj_replace(k, &grp), 0);
	ck_assert(!find_nhobj(grp.id, NULL));
}
END_TEST

/*
 * The start-up test for resilient groups says yes on this kernel and
 * leaves nothing behind; a plain group (what an older kernel gets) goes
 * in and dumps back as plain.
 */
START_TEST(resilient_probe_says_yes_leaves_nothing_and_plain_groups_round_trip)
{
	struct kernel_link g1 = gre("gre1", "192.0.2.1", 64, 1476);
	struct kernel_nhobj p1 = { .id = 0x74730001, .protocol = 227, .dev = "gre1" };
	struct kernel_nhobj grp = { .id = 0x74740001, .protocol = 227,
				    .n_members = 1 };
	struct kernel_nhobj have;
	char *t;

	ck_assert_int_eq(kernel_nhobj_probe_resilient(k, 0x74730000,
						      0x74740000, 227, 512), 1);
	t = out_of("ip nexthop show");
	ck_assert_msg(strstr(t, "id 1953693696 ") == NULL &&
		      strstr(t, "id 1953759232 ") == NULL,
		      "the probe left: %s", t);
	free(t);

	ck_assert_int_eq(k->link_set(k, &g1), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p1), 0);
	grp.member[0] = (struct kernel_nhobj_member){ p1.id, 2 };
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert(!have.resilient);
	ck_assert_msg(kernel_nhobj_equal(&grp, &have), "group dumped back differs");
	t = out_of("ip nexthop show id %u", grp.id);
	ck_assert_msg(strstr(t, "resilient") == NULL, "not plain: %s", t);
	free(t);
}
END_TEST

START_TEST(nexthop_monitor_reports_foreign_group_change)
{
	struct kernel_link g1 = gre("gre1", "192.0.2.1", 64, 1476);
	struct kernel_nhobj p1 = { .id = 0x74730001, .protocol = 227, .dev = "gre1" };
	struct pollfd pfd = { .fd = k->monitor_fd(k), .events = POLLIN };
	int r = 0;

	ck_assert_int_eq(k->link_set(k, &g1), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p1), 0);
	while (k->monitor_drain(k) > 0)
		;	/* our own changes are skipped; drain anything else */
	sh("ip nexthop del id %u", p1.id);
	for (int i = 0; i < 50 && r <= 0; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		r = k->monitor_drain(k);
		ck_assert_int_ge(r, 0);
	}
	ck_assert_int_eq(r, 1);
}
END_TEST

/* --- conntrack ------------------------------------------------------------ */

static void
ct_insert(unsigned int sport, const char *mark)
{
	sh("conntrack -I -p udp -s 203.0.113.10 -d 198.18.0.10 --sport %u "
	   "--dport 7777 -t 120 -m %s >/dev/null 2>&1", sport, mark);
}

START_TEST(conntrack_flush_deletes_only_entries_under_the_mark_and_mask)
{
	char *t;

	ct_insert(1001, "0x10000");	/* a failed tunnel's */
	ct_insert(1002, "0x10005");	/* same tunnel; low bits someone else's */
	ct_insert(1003, "0x20000");	/* another tunnel's */
	ct_insert(1004, "0");		/* nobody's */
	t = out_of("conntrack -L -p udp --dport 7777 2>/dev/null | wc -l");
	ck_assert_str_eq(t, "4\n");
	free(t);

	ck_assert_int_eq(k->conntrack_flush(k, 0x10000, 0xffff0000), 0);
	t = out_of("conntrack -L -p udp --dport 7777 2>/dev/null");
	assert_lacks(t, "sport=1001 ");
	assert_lacks(t, "sport=1002 ");
	assert_has(t, "sport=1003 ");
	assert_has(t, "sport=1004 ");
	free(t);
	/* Never a global flush. */
	ck_assert_int_eq(k->conntrack_flush(k, 0, 0), -EINVAL);
	ck_assert_int_eq(k->conntrack_flush(k, 0x10000, 0), -EINVAL);
	ck_assert_int_eq(k->conntrack_flush(k, 0x10001, 0xffff0000), -EINVAL);
	t = out_of("conntrack -L -p udp --dport 7777 2>/dev/null | wc -l");
	ck_assert_str_eq(t, "2\n");
	free(t);
}
END_TEST

/* --- IPv6 ------------------------------------------------------------------ */

/* Our tunnel link @name to @remote (GRE: it carries IPv6 too). */
static void
tunnel(const char *name, const char *remote)
{
	struct kernel_link l = gre(name, remote, 64, 1476);

	ck_assert_int_eq(k->link_set(k, &l), 0);
}

struct addr6_find {
	const char *ifname;
	int n_v4, n_v6, n_link_local;
	struct kernel_addr v6;
};

static void
addr6_find_cb(const struct kernel_addr *a, void *arg)
{
	struct addr6_find *f = arg;

	if (strcmp(a->ifname, f->ifname) != 0)
		return;
	if (a->local.family == AF_INET) {
		f->n_v4++;
		return;
	}
	ck_assert_int_eq(a->local.family, AF_INET6);
	if (IN6_IS_ADDR_LINKLOCAL(&a->local.v6))
		f->n_link_local++;
	f->v6 = *a;
	f->n_v6++;
}

/*
 * An IPv6 /127 on a GRE link goes in, dumps back as it went in beside the
 * link's IPv4 /31, and goes away; the link-local address the kernel gave
 * the link is there (iproute2 says so) but never in our dumps, and cannot
 * be added or deleted through us; an IPv6 address takes no peer.
 */
START_TEST(ipv6_address_slash127_on_a_gre_link_round_trips_and_its_link_local_is_not_reported)
{
	struct kernel_addr a = { .ifname = "gre1",
				 .local = pfx6("2001:db8:100::1", 127) };
	struct kernel_addr a4 = { .ifname = "gre1",
				  .local = pfx("198.18.0.1", 31) };
	struct kernel_addr ll = { .ifname = "gre1",
				  .local = pfx6("fe80::1", 64) };
	struct addr6_find f = { .ifname = "gre1" };
	char *j;

	tunnel("gre1", "192.0.2.1");
	ck_assert_int_eq(k->addr_add(k, &a4), 0);
	ck_assert_int_eq(k->addr_add(k, &a), 0);
	ck_assert_int_eq(k->addr_add(k, &a), 0);	/* idempotent */
	ck_assert_int_eq(k->addr_dump(k, addr6_find_cb, &f), 0);
	ck_assert_int_eq(f.n_v4, 1);
	ck_assert_int_eq(f.n_v6, 1);
	ck_assert_int_eq(f.n_link_local, 0);
	ck_assert_msg(ts_prefix_equal(&f.v6.local, &a.local),
		      "dumped back differs");
	ck_assert_int_eq(f.v6.peer.s_addr, 0);

	j = out_of("ip -6 -j addr show dev gre1");
	assert_has(j, "\"local\":\"2001:db8:100::1\",\"prefixlen\":127");
	/* The kernel's own, which our dump left out. */
	assert_has(j, "\"local\":\"fe80::");
	assert_has(j, "\"scope\":\"link\"");
	free(j);

	ck_assert_int_eq(k->addr_add(k, &ll), -EINVAL);
	ck_assert_int_eq(k->addr_del(k, &ll), -EINVAL);
	ll = a;
	ll.peer = ip4("198.18.0.0");
	ck_assert_int_eq(k->addr_add(k, &ll), -EINVAL);

	ck_assert_int_eq(k->addr_del(k, &a), 0);
	ck_assert_int_eq(k->addr_del(k, &a), -EADDRNOTAVAIL);
	memset(&f, 0, sizeof(f));
	f.ifname = "gre1";
	ck_assert_int_eq(k->addr_dump(k, addr6_find_cb, &f), 0);
	ck_assert_int_eq(f.n_v6, 0);
	ck_assert_int_eq(f.n_v4, 1);
	j = out_of("ip -6 -j addr show dev gre1");
	assert_lacks(j, "2001:db8:100::1");
	assert_has(j, "\"local\":\"fe80::");
	free(j);
}
END_TEST

/*
 * IPv6 rules (fwmark/mask, from a prefix) go in, dump back with their
 * family and are deleted; an IPv6 rule and an IPv4 rule share a
 * priority, each family's dump and delete leaving the other alone.
 */
START_TEST(ipv6_rules_round_trip_and_share_a_priority_with_an_ipv4_rule)
{
	struct kernel_rule m4 = { .priority = 21100, .table = TABLE,
				  .fwmark = 0x74730001, .fwmask = 0xffffffff,
				  .protocol = KERNEL_RTPROT_TUNSTEER };
	struct kernel_rule m6 = m4, s6 = { .family = AF_INET6,
					   .priority = 21101, .table = TABLE,
					   .protocol = KERNEL_RTPROT_TUNSTEER };
	struct kernel_rule have;
	char *t;

	m6.family = AF_INET6;
	s6.src = pfx6("2001:db8:200::", 48);
	ck_assert_int_eq(k->rule_add(k, &m4), 0);
	ck_assert_int_eq(k->rule_add(k, &m6), 0);
	ck_assert_int_eq(k->rule_add(k, &s6), 0);
	ck_assert_int_eq(k->rule_add(k, &m6), -EEXIST);

	ck_assert_int_eq(find_rule_of(AF_INET, 21100, &have), 1);
	ck_assert_msg(kernel_rule_equal(&m4, &have), "IPv4 rule differs");
	ck_assert_int_eq(find_rule_of(AF_INET6, 21100, &have), 1);
	ck_assert_int_eq(have.family, AF_INET6);
	ck_assert_msg(kernel_rule_equal(&m6, &have), "IPv6 rule differs");
	ck_assert_int_eq(have.protocol, KERNEL_RTPROT_TUNSTEER);
	ck_assert(kernel_rule_is_ours(&have));
	ck_assert_int_eq(find_rule_of(AF_INET6, 21101, &have), 1);
	ck_assert_msg(kernel_rule_equal(&s6, &have), "IPv6 src rule differs");
	ck_assert_int_eq(find_rule_of(AF_INET, 21101, NULL), 0);

	t = out_of("ip -6 rule show");
	assert_has(t, "21100:\tfrom all fwmark 0x74730001 lookup 21001 "
		      "proto 227");
	assert_has(t, "21101:\tfrom 2001:db8:200::/48 lookup 21001 proto 227");
	free(t);

	/* A rule of another family is another rule. */
	ck_assert_int_eq(k->rule_del(k, &m6), 0);
	ck_assert_int_eq(k->rule_del(k, &m6), -ENOENT);
	ck_assert_int_eq(find_rule_of(AF_INET6, 21100, NULL), 0);
	ck_assert_int_eq(find_rule_of(AF_INET, 21100, NULL), 1);
	t = out_of("ip -4 rule show");
	assert_has(t, "21100:\tfrom all fwmark 0x74730001 lookup 21001");
	free(t);
	ck_assert_int_eq(k->rule_del(k, &s6), 0);
	ck_assert_int_eq(k->rule_del(k, &m4), 0);
	t = out_of("ip -6 rule show; ip -4 rule show");
	assert_lacks(t, "2110");
	free(t);
	/* A source of the other family is refused before the kernel. */
	s6.src = pfx("198.18.0.0", 15);
	ck_assert_int_eq(k->rule_add(k, &s6), -EINVAL);
}
END_TEST

/*
 * IPv6 paths (a device each, no gateway), a resilient group of them and
 * a plain one, and ::/0 through the resilient group: each dumps back as
 * it went in, the paths with the family the kernel keeps for them and
 * the groups with their members' (the kernel says AF_UNSPEC for a
 * group).  The kernel refuses an IPv6 route through an IPv4 path.
 */
START_TEST(ipv6_paths_resilient_group_and_default_route_via_nhid_round_trip_with_family)
{
	struct kernel_nhobj p1 = { .id = 0x74750001, .protocol = 227,
				   .family = AF_INET6, .dev = "gre1" };
	struct kernel_nhobj p2 = { .id = 0x74750002, .protocol = 227,
				   .family = AF_INET6, .dev = "gre2" };
	struct kernel_nhobj p4 = { .id = 0x74730001, .protocol = 227,
				   .dev = "gre1" };
	struct kernel_nhobj grp = { .id = 0x74760001, .protocol = 227,
				    .family = AF_INET6, .resilient = true,
				    .buckets = 32, .idle_timer = 5,
				    .n_members = 2 };
	struct kernel_nhobj plain = { .id = 0x74760002, .protocol = 227,
				      .family = AF_INET6, .n_members = 1 };
	struct kernel_nhobj grp4 = { .id = 0x74740001, .protocol = 227,
				     .n_members = 1 };
	struct kernel_route r = { .table = TABLE, .metric = 1, .protocol = 227,
				  .nhid = 0x74760001 };
	struct kernel_route r4 = r, have_r;
	struct kernel_nhobj have;
	char want[128], *t;

	tunnel("gre1", "192.0.2.1");
	tunnel("gre2", "192.0.2.2");
	ck_assert_int_eq(k->nhobj_replace(k, &p1), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p2), 0);
	ck_assert_int_eq(k->nhobj_replace(k, &p4), 0);
	grp.member[0] = (struct kernel_nhobj_member){ p1.id, 1 };
	grp.member[1] = (struct kernel_nhobj_member){ p2.id, 3 };
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	plain.member[0] = (struct kernel_nhobj_member){ p2.id, 2 };
	ck_assert_int_eq(k->nhobj_replace(k, &plain), 0);
	grp4.member[0] = (struct kernel_nhobj_member){ p4.id, 1 };
	ck_assert_int_eq(k->nhobj_replace(k, &grp4), 0);
	r.dst = pfx6("::", 0);
	ck_assert_int_eq(k->route_replace(k, &r), 0);

	ck_assert(find_nhobj(p1.id, &have));
	ck_assert_int_eq(have.family, AF_INET6);
	ck_assert_msg(kernel_nhobj_equal(&p1, &have), "path dumped back differs");
	ck_assert(kernel_nhobj_is_ours(&have));
	ck_assert(find_nhobj(p4.id, &have));
	ck_assert_int_eq(kernel_nhobj_family(&have), AF_INET);
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert_int_eq(have.family, AF_INET6);
	ck_assert_msg(kernel_nhobj_equal(&grp, &have), "group dumped back differs");
	ck_assert(find_nhobj(plain.id, &have));
	ck_assert_int_eq(have.family, AF_INET6);
	ck_assert(!have.resilient);
	ck_assert_msg(kernel_nhobj_equal(&plain, &have),
		      "plain group dumped back differs");
	ck_assert(find_nhobj(grp4.id, &have));
	ck_assert_int_eq(kernel_nhobj_family(&have), AF_INET);
	ck_assert(find_route(TABLE, r.dst, 1, &have_r));
	ck_assert_int_eq(kernel_route_family(&have_r), AF_INET6);
	ck_assert_msg(kernel_route_equal(&r, &have_r), "route dumped back differs");
	ck_assert(kernel_route_is_ours(&have_r));
	/* The IPv4 default of the same table and metric is another route. */
	r4.dst = pfx("0.0.0.0", 0);
	ck_assert(!find_route(TABLE, r4.dst, 1, NULL));

	/* What the kernel keeps: the paths' family is inet6; the groups
	 * have none of their own (neither -6 nor -4 lists them). */
	t = out_of("ip -6 nexthop show");
	snprintf(want, sizeof(want), "id %u dev gre1 ", p1.id);
	assert_has(t, want);
	snprintf(want, sizeof(want), "id %u ", grp.id);
	assert_lacks(t, want);
	snprintf(want, sizeof(want), "id %u ", p4.id);
	assert_lacks(t, want);
	free(t);
	t = out_of("ip -4 nexthop show");
	snprintf(want, sizeof(want), "id %u ", p1.id);
	assert_lacks(t, want);
	snprintf(want, sizeof(want), "id %u ", grp4.id);
	assert_lacks(t, want);
	free(t);
	t = out_of("ip nexthop show id %u", grp.id);
	snprintf(want, sizeof(want), "group %u/%u,3", p1.id, p2.id);
	assert_has(t, want);
	assert_has(t, "type resilient buckets 32 idle_timer 5");
	free(t);
	t = out_of("ip -6 route show table %d", TABLE);
	snprintf(want, sizeof(want), "default nhid %u proto 227 metric 1",
		 grp.id);
	assert_has(t, want);
	free(t);

	/* Replaced in place: gre1 leaves the resilient group. */
	grp.member[0] = grp.member[1];
	grp.n_members = 1;
	ck_assert_int_eq(k->nhobj_replace(k, &grp), 0);
	ck_assert(find_nhobj(grp.id, &have));
	ck_assert_msg(kernel_nhobj_equal(&grp, &have), "group differs");

	/* Across families: an IPv6 route through an IPv4 path or group, and
	 * an IPv6 path with an (IPv4) gateway. */
	r.nhid = p4.id;
	ck_assert_int_eq(k->route_replace(k, &r), -EINVAL);
	r.nhid = grp4.id;
	ck_assert_int_eq(k->route_replace(k, &r), -EINVAL);
	p1.gw = ip4("198.18.0.1");
	ck_assert_int_eq(k->nhobj_replace(k, &p1), -EINVAL);
	/* The kernel takes a group of both families; it is IPv4's, since
	 * no IPv6 route may go through it. */
	grp4.member[1] = (struct kernel_nhobj_member){ p2.id, 1 };
	grp4.n_members = 2;
	ck_assert_int_eq(k->nhobj_replace(k, &grp4), 0);
	ck_assert(find_nhobj(grp4.id, &have));
	ck_assert_uint_eq(have.n_members, 2);
	ck_assert_int_eq(kernel_nhobj_family(&have), AF_INET);
	ck_assert_int_eq(k->route_replace(k, &r), -EINVAL);
	r.nhid = grp.id;
	ck_assert(find_route(TABLE, r.dst, 1, &have_r));
	ck_assert_msg(kernel_route_equal(&r, &have_r), "route changed");

	ck_assert_int_eq(k->route_del(k, &r), 0);
	ck_assert(!find_route(TABLE, r.dst, 1, NULL));
	ck_assert_int_eq(k->nhobj_del(k, grp.id), 0);
	ck_assert_int_eq(k->nhobj_del(k, plain.id), 0);
	ck_assert_int_eq(k->nhobj_del(k, p2.id), 0);
	ck_assert(!find_nhobj(p2.id, NULL));
}
END_TEST

/*
 * An IPv6 blackhole dumps back with no nexthops (the kernel reports lo
 * as its device), apart from an IPv4 one of the same table and metric;
 * a route over a device replaces it in place; an IPv4 gateway on an IPv6
 * route is refused, and so are two device-only nexthops (by the kernel);
 * and a metric of 0 is the kernel's 1024 for IPv6.
 */
START_TEST(ipv6_blackhole_route_replace_dump_and_del)
{
	struct kernel_route want = { .table = TABLE + 1, .metric = 10,
				     .protocol = KERNEL_RTPROT_TUNSTEER,
				     .blackhole = true };
	struct kernel_route v4 = want, have;
	char *t;

	want.dst = pfx6("::", 0);
	v4.dst = pfx("0.0.0.0", 0);
	ck_assert_int_eq(k->route_replace(k, &v4), 0);
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE + 1, want.dst, 10, &have));
	ck_assert_uint_eq(have.n_nexthops, 0);
	ck_assert_msg(kernel_route_equal(&want, &have), "dumped back differs");
	ck_assert(find_route(TABLE + 1, v4.dst, 10, &have));
	ck_assert_msg(kernel_route_equal(&v4, &have), "IPv4 one differs");
	t = out_of("ip -6 route show table %d", TABLE + 1);
	assert_has(t, "blackhole default");
	assert_has(t, "proto 227 metric 10");
	free(t);

	/* Over a device, in place; a gateway (IPv4) is no IPv6 nexthop. */
	tunnel("gre1", "192.0.2.1");
	want.blackhole = false;
	want.n_nexthops = 1;
	want.nh[0] = (struct kernel_nexthop){ .dev = "gre1", .weight = 1 };
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(find_route(TABLE + 1, want.dst, 10, &have));
	ck_assert_msg(kernel_route_equal(&want, &have), "dev route differs");
	t = out_of("ip -6 route show table %d", TABLE + 1);
	assert_has(t, "default dev gre1 proto 227 metric 10");
	assert_lacks(t, "blackhole");
	free(t);
	want.nh[0].gw = ip4("198.18.0.1");
	ck_assert_int_eq(k->route_replace(k, &want), -EINVAL);
	want.nh[0].gw.s_addr = 0;
	/* Nor does the kernel take two device-only paths for IPv6 (ECMP
	 * over devices is a nexthop group's). */
	tunnel("gre2", "192.0.2.2");
	want.n_nexthops = 2;
	want.nh[1] = (struct kernel_nexthop){ .dev = "gre2", .weight = 1 };
	ck_assert_int_eq(k->route_replace(k, &want), -EINVAL);
	want.n_nexthops = 1;
	ck_assert(find_route(TABLE + 1, want.dst, 10, &have));
	ck_assert_msg(kernel_route_equal(&want, &have), "dev route changed");

	ck_assert_int_eq(k->route_del(k, &want), 0);
	ck_assert(!find_route(TABLE + 1, want.dst, 10, NULL));
	ck_assert_int_eq(k->route_del(k, &want), -ESRCH);
	ck_assert(find_route(TABLE + 1, v4.dst, 10, NULL));

	/* Metric 0: IPv6 has none; the kernel makes it 1024 (IPv4 keeps 0). */
	want.metric = 0;
	want.blackhole = true;
	want.n_nexthops = 0;
	want.dst = pfx6("2001:db8:300::", 48);
	ck_assert_int_eq(k->route_replace(k, &want), 0);
	ck_assert(!find_route(TABLE + 1, want.dst, 0, NULL));
	ck_assert(find_route(TABLE + 1, want.dst, 1024, NULL));
}
END_TEST

/*
 * An IPv6 set made by a replace is of type ipv6_addr with flags interval,
 * and reads back as the prefixes that went in: a /128 inside a block, a
 * /48, the top address (no end element: it would wrap); elements are
 * added and deleted; ::/0 (a start alone) replaces it all and reads back
 * as ::/0; nft shows the same.
 */
START_TEST(ipv6_set_replace_add_delete_read_back_including_the_whole_space_and_a_host)
{
	struct ts_prefix want[] = { pfx6("2001:db8::1", 128),
				    pfx6("2001:db8:1::", 48),
				    pfx6("2001:db8:2::", 64),
				    pfx6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128) };
	struct ts_prefix all = pfx6("::", 0);
	struct kernel_nft_elems x = { KERNEL_NFT_ELEMS_REPLACE, "auth6", want,
				      3, AF_INET6 };
	struct ts_prefix *got;
	size_t n;
	char *out;

	ck_assert_int_eq(k->nft_elems(k, &x, 1), 0);
	out = out_of("nft list set inet tunsteer auth6");
	assert_has(out, "type ipv6_addr");
	assert_has(out, "flags interval");
	assert_has(out, "2001:db8::1");
	assert_has(out, "2001:db8:1::/48");
	assert_has(out, "2001:db8:2::/64");
	free(out);
	ck_assert_int_eq(k->nft_set_get(k, "auth6", &got, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ts_prefix_equal(&got[i], &want[i]),
			      "element %zu differs", i);
	free(got);

	/* The top address added, the /128 deleted. */
	x = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_ADD, "auth6", &want[3],
				       1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, &x, 1), 0);
	x = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_DEL, "auth6", &want[0],
				       1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, &x, 1), 0);
	ck_assert_int_eq(k->nft_set_get(k, "auth6", &got, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ts_prefix_equal(&got[i], &want[i + 1]),
			      "element %zu differs after add/del", i);
	free(got);
	out = out_of("nft list set inet tunsteer auth6");
	assert_lacks(out, "2001:db8::1");
	assert_has(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	free(out);

	/* The whole space. */
	x = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_REPLACE, "auth6", &all,
				       1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, &x, 1), 0);
	ck_assert_int_eq(k->nft_set_get(k, "auth6", &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(ts_prefix_equal(&got[0], &all), "::/0 differs");
	free(got);
	out = out_of("nft list set inet tunsteer auth6");
	assert_has(out, "::/0");
	free(out);
	/* And a set emptied reads back empty. */
	x.n = 0;
	ck_assert_int_eq(k->nft_elems(k, &x, 1), 0);
	ck_assert_int_eq(k->nft_set_get(k, "auth6", &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(got);
}
END_TEST

/*
 * An IPv4 set takes no IPv6 element, by add or by a replace as an IPv6
 * set, nor a batch whose elements are not of its family: each is refused
 * whole, before the kernel, and the set keeps what it held.
 */
START_TEST(ipv6_element_into_an_ipv4_set_is_refused_and_the_set_is_unchanged)
{
	struct ts_prefix v4[] = { pfx("10.0.0.0", 8), pfx("192.0.2.0", 24) };
	struct ts_prefix v6 = pfx6("2001:db8::", 32);
	struct kernel_nft_elems x[] = {
		{ KERNEL_NFT_ELEMS_REPLACE, "auth_a", v4, 1, AF_INET },
		{ KERNEL_NFT_ELEMS_ADD, "auth_a", &v4[1], 1, AF_INET },
	};
	struct ts_prefix *got;
	size_t n;

	ck_assert_int_eq(k->nft_elems(k, x, 1), 0);
	x[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_ADD, "auth_a", &v6,
					  1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, x, 1), -EINVAL);
	x[0].op = KERNEL_NFT_ELEMS_REPLACE;
	ck_assert_int_eq(k->nft_elems(k, x, 1), -EINVAL);
	x[0].n = 0;	/* not even emptied */
	ck_assert_int_eq(k->nft_elems(k, x, 1), -EINVAL);
	x[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_ADD, "auth_a", &v6,
					  1, AF_INET };
	ck_assert_int_eq(k->nft_elems(k, x, 1), -EINVAL);
	/* One bad entry spoils the batch. */
	x[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_ADD, "auth6", &v6,
					  1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, x, 2), -ENOENT);
	x[0] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_REPLACE, "auth6",
					  &v6, 1, AF_INET6 };
	x[1] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_ADD, "auth_a", &v6,
					  1, AF_INET6 };
	ck_assert_int_eq(k->nft_elems(k, x, 2), -EINVAL);
	ck_assert_int_eq(k->nft_set_get(k, "auth6", &got, &n), -ENOENT);

	ck_assert_int_eq(k->nft_set_get(k, "auth_a", &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(ts_prefix_equal(&got[0], &v4[0]));
	free(got);
}
END_TEST

/* The flush by mark takes IPv6 entries as well as IPv4 ones (nfgen
 * family AF_UNSPEC), and only those under the mark. */
START_TEST(conntrack_flush_by_mark_covers_ipv6_entries)
{
	char *t;

	sh("conntrack -I -p udp -s 2001:db8::10 -d 2001:db8::20 "
	   "--sport 1001 --dport 7777 -t 120 -m 0x10000 >/dev/null 2>&1");
	sh("conntrack -I -p udp -s 2001:db8::10 -d 2001:db8::20 "
	   "--sport 1002 --dport 7777 -t 120 -m 0x20000 >/dev/null 2>&1");
	ct_insert(1003, "0x10000");
	t = out_of("conntrack -L -f ipv6 -p udp --dport 7777 2>/dev/null | "
		   "wc -l");
	ck_assert_str_eq(t, "2\n");
	free(t);

	ck_assert_int_eq(k->conntrack_flush(k, 0x10000, 0xffff0000), 0);
	t = out_of("conntrack -L -f ipv6 -p udp --dport 7777 2>/dev/null");
	assert_lacks(t, "sport=1001 ");
	assert_has(t, "sport=1002 ");
	free(t);
	t = out_of("conntrack -L -p udp --dport 7777 2>/dev/null");
	assert_lacks(t, "sport=1003 ");
	free(t);
}
END_TEST

/*
 * Someone else's IPv6 route, rule or address is a change; an IPv6
 * link-local address (the kernel's own on every link it brings up, never
 * in a dump) and its routes are not.
 */
START_TEST(monitor_reports_foreign_ipv6_changes_but_not_link_local_addresses)
{
	struct pollfd pfd = { .fd = k->monitor_fd(k), .events = POLLIN };
	int r = 0, quiet = 0;

	/* Someone else's link, up, and quiet for a second. */
	sh("ip link add dummy9 type dummy && ip link set dummy9 up");
	for (int i = 0; i < 100 && quiet < 10; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		quiet = k->monitor_drain(k) > 0 ? 0 : quiet + 1;
	}
	ck_assert_int_eq(quiet, 10);

	sh("ip -6 addr add fe80::99/64 dev dummy9 nodad");
	for (int i = 0; i < 10; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		ck_assert_int_eq(k->monitor_drain(k), 0);
	}
	sh("ip -6 addr add 2001:db8:8::1/64 dev dummy9 nodad");
	for (int i = 0; i < 20 && r == 0; i++) {
		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		r = k->monitor_drain(k);
	}
	ck_assert_int_eq(r, 1);
	while (k->monitor_drain(k) > 0)
		;
	sh("ip -6 route add 2001:db8:7::/64 dev dummy0");
	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), 1);
	sh("ip -6 rule add prio 500 fwmark 7 lookup 100");
	ck_assert(monitor_readable());
	ck_assert_int_eq(k->monitor_drain(k), 1);
}
END_TEST

/* Optional (TUNSTEER_KNL_BENCH=N): N GRE tunnels and routes, timed. */
START_TEST(bench_gre_links_and_routes)
{
	const char *env = getenv("TUNSTEER_KNL_BENCH");
	int n = env ? atoi(env) : 0;
	struct kernel_route r = { .table = TABLE, .metric = 1,
				  .protocol = KERNEL_RTPROT_TUNSTEER,
				  .n_nexthops = 1 };
	struct timespec t0, t1, t2;
	char name[32], remote[32];

	if (n <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		struct kernel_link l;

		snprintf(name, sizeof(name), "gre%d", i + 1);
		snprintf(remote, sizeof(remote), "198.18.%d.%d",
			 (i / 250) % 256, i % 250 + 1);
		l = gre(name, remote, 64, 1400);
		ck_assert_int_eq(k->link_set(k, &l), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < n; i++) {
		snprintf(r.nh[0].dev, sizeof(r.nh[0].dev), "gre%d", i + 1);
		r.nh[0].weight = 1;
		r.dst = pfx("203.0.113.0", 24);
		r.dst.v4.s_addr = htonl(0xc6130000u + ((uint32_t)i << 8));
		ck_assert_int_eq(k->route_replace(k, &r), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	printf("bench: %d GRE links %.3f s, %d routes %.3f s\n", n,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       n,
	       (double)(t2.tv_sec - t1.tv_sec) +
		       (double)(t2.tv_nsec - t1.tv_nsec) / 1e9);
	fflush(stdout);
}
END_TEST

static Suite *
kernel_nl_suite(void)
{
	Suite *s = suite_create("kernel_nl");
	TCase *tc = tcase_create("netns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
		       gre_link_created_bare_with_endpoints_ttl_mtu_alias_and_up);
	tcase_add_test(tc,
		       changing_mtu_ttl_remote_and_state_in_place_keeps_ifindex);
	tcase_add_test(tc, xfrm_interface_created_changed_in_place_and_deleted);
	tcase_add_test(tc, xfrm_interfaces_outside_our_if_id_range_are_never_touched);
	tcase_add_test(tc, reconcile_repairs_a_tampered_xfrm_interface_and_adopts_it);
	tcase_add_test(tc, link_del_and_set_refuse_links_without_our_alias);
	tcase_add_test(tc, another_owners_backend_makes_xfrm_interfaces_in_its_range_only);
	tcase_add_test(tc, propagated_sa_installs_esp_states_and_policies_on_its_if_id_only);
	tcase_add_test(tc, addr_add_dump_del_with_and_without_peer);
	tcase_add_test(tc,
		       route_replace_two_weighted_nexthops_over_gre_in_table_21001);
	tcase_add_test(tc, blackhole_route_replace_dump_and_del);
	tcase_add_test(tc,
		       resilient_group_of_gre_paths_replaced_in_place_keeps_surviving_buckets);
	tcase_add_test(tc,
		       resilient_probe_says_yes_leaves_nothing_and_plain_groups_round_trip);
	tcase_add_test(tc, nexthop_monitor_reports_foreign_group_change);
	tcase_add_test(tc, conntrack_flush_deletes_only_entries_under_the_mark_and_mask);
	tcase_add_test(tc,
		       rules_with_fwmark_and_src_added_dumped_back_and_deleted);
	tcase_add_test(tc, dumps_see_foreign_objects_with_their_own_marks);
	tcase_add_test(tc, sysctl_set_writes_rp_filter_and_refuses_bad_paths);
	tcase_add_test(tc, monitor_reports_external_route_add);
	tcase_add_test(tc, monitor_overrun_reports_enobufs_once_then_recovers);
	tcase_add_test(tc, nft_sets_in_bulk_read_back_and_foreign_changes_are_named);
	tcase_add_test(tc, repeated_operations_and_errors_do_not_leak);
	tcase_add_test(tc,
		       ipv6_address_slash127_on_a_gre_link_round_trips_and_its_link_local_is_not_reported);
	tcase_add_test(tc,
		       ipv6_rules_round_trip_and_share_a_priority_with_an_ipv4_rule);
	tcase_add_test(tc,
		       ipv6_paths_resilient_group_and_default_route_via_nhid_round_trip_with_family);
	tcase_add_test(tc, ipv6_blackhole_route_replace_dump_and_del);
	tcase_add_test(tc, an_inbound_only_sa_installs_no_outbound_state_or_policy);
	tcase_add_test(tc,
		       ipv6_set_replace_add_delete_read_back_including_the_whole_space_and_a_host);
	tcase_add_test(tc,
		       ipv6_element_into_an_ipv4_set_is_refused_and_the_set_is_unchanged);
	tcase_add_test(tc, conntrack_flush_by_mark_covers_ipv6_entries);
	tcase_add_test(tc,
		       monitor_reports_foreign_ipv6_changes_but_not_link_local_addresses);
	tcase_add_test(tc, bench_gre_links_and_routes);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(kernel_nl_suite)
