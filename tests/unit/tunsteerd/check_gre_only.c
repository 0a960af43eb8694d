/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tunsteerd configured --without-strongswan (ike_none.c): a GRE tunnel
 * loads, an ipsec tunnel is refused at its type with a message that says
 * why, and no IKE driver can be made.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "tunsteerd/config.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/ike_check.h"
#include "testlib.h"

#define TUNNEL(type) \
	"tunnels = ( { name = \"t1\"; type = \"" type "\";\n" \
	"  local = \"198.51.100.2\"; remote = \"192.0.2.1\";\n" \
	"  address = \"198.19.0.1/31\"; } );\n"

START_TEST(test_gre_loads)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load_string(TUNNEL("gre"), "t.conf", &errs);

	ck_assert_msg(c != NULL, "%s", errs.n ? errs.msgs[0] : "?");
	config_free(c);
}
END_TEST

START_TEST(test_ipsec_is_refused_at_its_type_saying_why)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load_string(
		TUNNEL("ipsec") "# ike group left out: the type says it all\n",
		"t.conf", &errs);

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.msgs[0], "t.conf:1: tunnels[0].type: \"ipsec\" "
			 "needs a tunsteerd built with strongSwan; this one is "
			 "GRE only (configure --without-strongswan)");
	config_errors_free(&errs);
	ck_assert(!ike_check_available());
	ck_assert_uint_eq(ike_check_inits(), 0);
}
END_TEST

START_TEST(test_no_ike_driver)
{
	int err = 0;

	ck_assert_ptr_null(ike_charon_create(NULL, &err));
	ck_assert_int_eq(err, -ENOTSUP);
}
END_TEST

static Suite *
gre_only_suite(void)
{
	Suite *s = suite_create("gre_only");
	TCase *tc = tcase_create("gre_only");

	tcase_add_test(tc, test_gre_loads);
	tcase_add_test(tc, test_ipsec_is_refused_at_its_type_saying_why);
	tcase_add_test(tc, test_no_ike_driver);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(gre_only_suite)
