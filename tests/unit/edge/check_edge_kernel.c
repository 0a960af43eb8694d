/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's kernel objects against the fake backend: the exact
 * operations for a fresh start, nothing the second time, tunsteerd's
 * objects never touched, a removed tunnel's objects removed, flush.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_config.h"
#include "edge/edge_kernel.h"
#include "lib/kernel_fake.h"
#include "lib/log.h"

#define HEAD \
	"anycast = [ \"192.0.2.1\", \"192.0.2.2\" ];\n" \
	"customers = ( { name = \"lab\"; authorized = [ \"203.0.113.0/25\" ];\n" \
	"  tunnels = (\n" \
	"    { name = \"gt0\"; cloudflare_gre_endpoint = \"192.0.2.1\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.0/31\"; }"
#define GT1 \
	",\n    { name = \"gt1\"; cloudflare_gre_endpoint = \"192.0.2.2\"; customer_gre_endpoint = \"198.51.100.2\"; interface_address = \"198.19.0.2/31\"; }"
#define TAIL " ); } );\n"

static struct edge_config *
load(const char *text)
{
	struct config_errors errs = { 0 };
	struct edge_config *c = edge_config_load_string(text, "t.conf", &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_free(&errs);
	ck_assert_ptr_nonnull(c);
	return c;
}

START_TEST(test_fresh_start_then_nothing)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD GT1 TAIL);

	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"link set gt0 gre local 192.0.2.1 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"addr add 198.19.0.0/31 dev gt0\n"
		"route replace table 22001 0.0.0.0/0 metric 0 proto 228 nexthop dev gt0 weight 1\n"
		"rule add prio 22001 from all fwmark 0x74650001/0xffffffff table 22001\n"
		"link set gt1 gre local 192.0.2.2 remote 198.51.100.2 ttl 64 mtu 1476 up\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n"
		"addr add 198.19.0.2/31 dev gt1\n"
		"route replace table 22002 0.0.0.0/0 metric 0 proto 228 nexthop dev gt1 weight 1\n"
		"rule add prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n");
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n"
		"sysctl net/ipv4/conf/gt1/rp_filter=0\n");
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_tunsteerd_objects_are_never_touched)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD TAIL);
	struct kernel_link theirs = { .name = "cf1", .kind = KERNEL_LINK_GRE,
				      .mtu = 1476, .ttl = 64, .up = true,
				      .alias = KERNEL_LINK_ALIAS_PREFIX "cf1" };
	struct kernel_route r = { .table = 21100, .protocol = 227,
				  .dst = { .family = AF_INET }, .n_nexthops = 1,
				  .nh = { { .dev = "cf1", .weight = 1 } } };
	struct kernel_rule u = { .priority = 21100, .table = 21100,
				 .fwmark = 0x74730001, .fwmask = 0xffffffff };

	ck_assert_int_eq(kernel_fake_inject_link(ops, &theirs), 0);
	ck_assert_int_eq(kernel_fake_inject_route(ops, &r), 0);
	ck_assert_int_eq(kernel_fake_inject_rule(ops, &u), 0);
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(ops), "cf1"));
	ck_assert_ptr_null(strstr(kernel_fake_ops_log(ops), "del"));
	ck_assert_int_eq(edge_kernel_flush(ops), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"rule del prio 22001 from all fwmark 0x74650001/0xffffffff table 22001\n"
		"route del table 22001 0.0.0.0/0 metric 0 proto 228 nexthop dev gt0 weight 1\n"
		"link del gt0\n");
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_removed_tunnel_is_removed)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *two = load(HEAD GT1 TAIL), *one = load(HEAD TAIL);

	ck_assert_int_eq(edge_kernel_apply(ops, two), 0);
	(void)kernel_fake_ops_log(ops);
	ck_assert_int_eq(edge_kernel_apply(ops, one), 0);
	ck_assert_str_eq(kernel_fake_ops_log(ops),
		"rule del prio 22002 from all fwmark 0x74650002/0xffffffff table 22002\n"
		"route del table 22002 0.0.0.0/0 metric 0 proto 228 nexthop dev gt1 weight 1\n"
		"link del gt1\n"
		"sysctl net/ipv4/conf/gt0/rp_filter=0\n");
	edge_config_free(one);
	edge_config_free(two);
	ops->destroy(ops);
}
END_TEST

START_TEST(test_failed_operation_is_retried_next_time)
{
	struct kernel_ops *ops = kernel_fake_create();
	struct edge_config *c = load(HEAD TAIL);

	kernel_fake_fail_next(ops, -EBUSY);
	ck_assert_int_eq(edge_kernel_apply(ops, c), -EAGAIN);
	(void)kernel_fake_ops_log(ops);
	ck_assert_int_eq(edge_kernel_apply(ops, c), 0);
	ck_assert_ptr_nonnull(strstr(kernel_fake_ops_log(ops), "link set gt0"));
	edge_config_free(c);
	ops->destroy(ops);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("edge_kernel");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fresh_start_then_nothing);
	tcase_add_test(tc, test_tunsteerd_objects_are_never_touched);
	tcase_add_test(tc, test_removed_tunnel_is_removed);
	tcase_add_test(tc, test_failed_operation_is_retried_next_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	log_init("check_edge_kernel", true, LOG_LVL_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
