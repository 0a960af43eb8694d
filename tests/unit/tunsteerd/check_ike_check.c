/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ike_check: identities and proposals as libstrongswan reads them, with
 * the messages config.c reports, and libstrongswan's lifetime around the
 * checks: brought up with the build's crypto plugins when nobody has it,
 * borrowed (and left up) when ike.c has it for charon.
 */
#include "autoconfig.h"
#include "testlib.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <library.h>

#include "tunsteerd/config.h"	/* the default proposals */
#include "tunsteerd/ike_check.h"

static char why[IKE_CHECK_WHY_MAX];

static void
teardown(void)
{
	ike_check_end();
}

static const char *
id_type(const char *id, bool local)
{
	const char *type = NULL;

	why[0] = '\0';
	ck_assert_msg(ike_check_id(id, local, &type, why, sizeof(why)) == 0,
		      "%s refused: %s", id, why);
	return type;
}

static void
id_refused(const char *id, bool local, const char *want)
{
	const char *type = NULL;

	ck_assert_int_eq(ike_check_id(id, local, &type, why, sizeof(why)),
			 -EINVAL);
	ck_assert_str_eq(why, want);
}

static void
proposals_ok(const char *list, bool esp)
{
	why[0] = '\0';
	ck_assert_msg(ike_check_proposals(list, esp, why, sizeof(why)) == 0,
		      "%s refused: %s", list, why);
}

static void
proposals_refused(const char *list, bool esp, const char *want)
{
	ck_assert_int_eq(ike_check_proposals(list, esp, why, sizeof(why)),
			 -EINVAL);
	ck_assert_str_eq(why, want);
}

/* PROVIDER.md section 3: the four forms of our ID, and the provider's
 * own (its anycast address). */
START_TEST(test_provider_id_formats_read_as_rfc822_fqdn_keyid_and_ipv4)
{
	ck_assert_str_eq(id_type("ipsec@0123abcd.4567ef.ipsec.example.net", true),
			 "ID_RFC822_ADDR");
	ck_assert_str_eq(id_type("0123abcd.4567ef.ipsec.example.net", true),
			 "ID_FQDN");
	ck_assert_str_eq(id_type("keyid:4567ef_0123abcd", true), "ID_KEY_ID");
	ck_assert_str_eq(id_type("198.51.100.2", true), "ID_IPV4_ADDR");
	ck_assert_str_eq(id_type("192.0.2.1", false), "ID_IPV4_ADDR");
	ck_assert_str_eq(id_type("C=CH, O=Example, CN=gw", false),
			 "ID_DER_ASN1_DN");
}
END_TEST

START_TEST(test_ids_matching_anything_or_not_ikev2_ids_are_refused)
{
	id_refused("%any", false, "\"%any\" stands for any identity (ID_ANY); "
		   "name one");
	id_refused("*@example.net", true, "\"*@example.net\" has wildcards "
		   "(ID_RFC822_ADDR); this side's identity is sent as it is "
		   "written");
	/* The peer's may match a family of identities. */
	ck_assert_str_eq(id_type("*@example.net", false), "ID_RFC822_ADDR");
	id_refused("192.0.2.0/24", false, "\"192.0.2.0/24\" reads as "
		   "ID_IPV4_ADDR_SUBNET, which is not an IKEv2 identity");
}
END_TEST

START_TEST(test_fqdn_without_a_dot_is_accepted_with_a_warning)
{
	const char *type = NULL;

	ck_assert_int_eq(ike_check_id("4567ef_0123abcd", true, &type, why,
				      sizeof(why)), 1);
	ck_assert_str_eq(type, "ID_FQDN");
	ck_assert_str_eq(why, "\"4567ef_0123abcd\" reads as an FQDN (ID_FQDN) "
			 "without a dot; if it is a key ID (the provider's "
			 "ACCOUNT_TUNNEL form) write \"keyid:4567ef_0123abcd\"");
	/* Meant as an FQDN, said so: no warning. */
	ck_assert_int_eq(ike_check_id("fqdn:gw", true, &type, why, sizeof(why)),
			 0);
	ck_assert_int_eq(ike_check_id("@gw", true, &type, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_recommended_ml_kem_proposals_validate)
{
	proposals_ok("aes256gcm16-prfsha256-ecp384-ke1_mlkem768", false);
	proposals_ok("aes256gcm16-prfsha256-ecp384-ke1_mlkem1024", false);
	proposals_ok(" aes256gcm16-prfsha256-ecp384-ke1_mlkem768 ,"
		     "aes256-sha256-ecp384 ", false);
	proposals_ok("aes256gcm16-ecp384", true);
	proposals_ok("aes256gcm16-ecp384-ke1_mlkem768", true);
	proposals_ok("aes256-sha256-modp2048-noesn,aes128gcm16", true);
}
END_TEST

START_TEST(test_each_bad_proposal_says_what_is_wrong)
{
	proposals_refused("aes256gcm16-prfsha256-ecp384-mlkem", false,
			  "\"aes256gcm16-prfsha256-ecp384-mlkem\": \"mlkem\" is not "
			  "an algorithm strongSwan knows");
	proposals_refused("aes256gcm16-ecp384", false, "\"aes256gcm16-ecp384\": "
			  "no PRF; IKE needs one (e.g. prfsha256)");
	proposals_refused("aes256gcm16-prfsha256", false,
			  "\"aes256gcm16-prfsha256\": no key exchange method; IKE "
			  "needs one (e.g. ecp384)");
	proposals_refused("aes256gcm16-prfsha256-none", false,
			  "\"aes256gcm16-prfsha256-none\": no key exchange method; "
			  "IKE needs one (e.g. ecp384)");
	proposals_refused("aes256-prfsha256-ecp384", false,
			  "\"aes256-prfsha256-ecp384\": a classic cipher needs an "
			  "integrity algorithm (e.g. sha256)");
	proposals_refused("aes256gcm16-aes256-sha256-ecp384", true,
			  "\"aes256gcm16-aes256-sha256-ecp384\": AEAD and classic "
			  "ciphers cannot share a proposal; write two, separated "
			  "by a comma");
	proposals_refused("sha256-ecp384", true, "\"sha256-ecp384\": no "
			  "encryption algorithm");
	proposals_refused("aes256gcm16-ecp384-esn", true,
			  "\"aes256gcm16-ecp384-esn\": \"esn\": the provider "
			  "requires extended sequence numbers off (leave it out, "
			  "or write noesn)");
	proposals_refused("aes256gcm16-prfsha256-ecp384-esn", false,
			  "\"aes256gcm16-prfsha256-ecp384-esn\": \"esn\" is for ESP "
			  "proposals only");
	proposals_refused("aes256gcm16-ecp384,", true, "\"aes256gcm16-ecp384,\": "
			  "an empty proposal (a comma too many?)");
	proposals_refused("", true, "\"\": an empty proposal (a comma too "
			  "many?)");
}
END_TEST

/* strongSwan knows these by name, but no plugin of our build implements
 * them: charon would fail at negotiation, -n fails now.  That includes
 * the PRF strongSwan derives from an integrity algorithm. */
START_TEST(test_algorithms_no_plugin_of_the_build_provides_are_refused)
{
	proposals_refused("serpent256-sha256-prfsha256-ecp384", false,
			  "\"serpent256-sha256-prfsha256-ecp384\": \"serpent256\" "
			  "(SERPENT_CBC) is not provided by any plugin of this "
			  "strongSwan build");
	proposals_refused("aes256-aesxcbc-ecp384", true,
			  "\"aes256-aesxcbc-ecp384\": \"aesxcbc\" (AES_XCBC_96) is "
			  "not provided by any plugin of this strongSwan build");
	proposals_refused("aes256-sha256-prfaesxcbc-ecp384", false,
			  "\"aes256-sha256-prfaesxcbc-ecp384\": \"prfaesxcbc\" "
			  "(PRF_AES128_XCBC) is not provided by any plugin of this "
			  "strongSwan build");
	proposals_refused("aes256-aesxcbc-ecp384", false,
			  "\"aes256-aesxcbc-ecp384\": \"aesxcbc\" (AES_XCBC_96) is "
			  "not provided by any plugin of this strongSwan build");
}
END_TEST

/* --- libstrongswan's lifetime --------------------------------------------- */

/* Nobody has libstrongswan: the first check brings it up once, with
 * every plugin of the build but charon's own, and ike_check_end() takes
 * it down. */
START_TEST(test_checks_bring_libstrongswan_up_once_and_end_takes_it_down)
{
	unsigned int before = ike_check_inits();
	char *list, *tok, *save = NULL, *loaded;

	ck_assert_ptr_null(lib);
	proposals_ok(CONFIG_IKE_PROPOSALS, false);
	ck_assert_ptr_nonnull(lib);
	proposals_ok("aes256gcm16-ecp384", true);
	ck_assert_str_eq(id_type("192.0.2.1", false), "ID_IPV4_ADDR");
	ck_assert_uint_eq(ike_check_inits(), before + 1);

	loaded = lib->plugins->loaded_plugins(lib->plugins);
	list = strdup(STRONGSWAN_PLUGINS);
	ck_assert_ptr_nonnull(list);
	for (tok = strtok_r(list, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		bool charons = strncmp(tok, "kernel-", 7) == 0 ||
			       strncmp(tok, "socket-", 7) == 0;

		ck_assert_msg(has_word(loaded, tok) == !charons,
			      "plugin %s %sloaded (loaded: %s)", tok,
			      charons ? "" : "not ", loaded);
	}
	free(list);

	ike_check_end();
	ck_assert_ptr_null(lib);
	ike_check_end();		/* nothing held: a no-op */
	proposals_ok("aes256gcm16-ecp384", true);
	ck_assert_uint_eq(ike_check_inits(), before + 2);
}
END_TEST

/* tunsteerd configures strongSwan itself: a strongswan.conf named by the
 * environment, here one that does not parse (libstrongswan would refuse
 * to come up), is not read. */
START_TEST(test_no_strongswan_conf_is_read_even_if_the_environment_names_one)
{
	char *conf = temp_file("charon {\n\tunclosed = {\n");

	ck_assert_int_eq(setenv("STRONGSWAN_CONF", conf, 1), 0);
	proposals_ok(CONFIG_IKE_PROPOSALS, false);
	ck_assert_str_eq(lib->conf, "");
	ike_check_end();
	/* The file does break libstrongswan where it is read. */
	ck_assert(!library_init(NULL, "check"));
	library_deinit();
	unsetenv("STRONGSWAN_CONF");
	unlink(conf);
	free(conf);
}
END_TEST

/* ike.c has libstrongswan up for charon: the checks use it, plugins and
 * namespace as they are, and leave it up. */
START_TEST(test_checks_borrow_a_running_libstrongswan_and_leave_it_up)
{
	unsigned int before = ike_check_inits();

	/* Up without the ml plugin: ML-KEM is not there for the checks
	 * either, which proves they use this libstrongswan. */
	ck_assert(library_init(NULL, "charon-of-the-test"));
	ck_assert(lib->plugins->load(lib->plugins,
				     "aes sha2 random nonce openssl hmac kdf gcm"));
	proposals_ok("aes256gcm16-prfsha256-ecp384", false);
	proposals_refused(CONFIG_IKE_PROPOSALS, false,
			  "\"" CONFIG_IKE_PROPOSALS "\": \"ke1_mlkem768\" "
			  "(ML_KEM_768) is not provided by any plugin of this "
			  "strongSwan build");
	ck_assert_uint_eq(ike_check_inits(), before);
	ike_check_end();
	ck_assert_ptr_nonnull(lib);
	ck_assert_str_eq(lib->ns, "charon-of-the-test");
	library_deinit();
	ck_assert_ptr_null(lib);
}
END_TEST

/* A negotiated transform's MTU is the configured worst case's sum for
 * that one transform: the sizes are the same table's. */
START_TEST(test_negotiated_transform_mtu_counts_its_own_iv_icv_block_and_nat_t)
{
	/* AES-GCM-16: 1500 - 20 - 8 - 8 - 16 = 1448, less the trailer. */
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_GCM_ICV16, 0, 1500,
						 false), 1446);
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_GCM_ICV16, 0, 1500,
						 true), 1438);
	/* AES-CBC + HMAC-SHA256-128: 16-byte IV and block, 16-byte ICV. */
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_CBC,
						 AUTH_HMAC_SHA2_256_128, 1500,
						 false), 1438);
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_CBC,
						 AUTH_HMAC_SHA2_256_128, 1500,
						 true), 1422);
	/* An AEAD ignores an integrity algorithm. */
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_GCM_ICV16,
						 AUTH_HMAC_SHA2_512_256, 1500,
						 false), 1446);
	/* The same as the configured worst case of a one-algorithm list. */
	{
		unsigned int worst = 0;

		ck_assert_int_eq(ike_check_esp_mtu("aes128-sha256", 1500, true,
						   &worst), 0);
		ck_assert_uint_eq(worst, 1422);
	}
	/* No room: 0, not an underflow. */
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_GCM_ICV16, 0, 28,
						 true), 0);
	ck_assert_uint_eq(ike_check_esp_mtu_algs(ENCR_AES_CBC,
						 AUTH_HMAC_SHA2_256_128, 60,
						 false), 0);
}
END_TEST

static Suite *
ike_check_suite(void)
{
	Suite *s = suite_create("ike_check");
	TCase *tc = tcase_create("strongSwan's view");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_provider_id_formats_read_as_rfc822_fqdn_keyid_and_ipv4);
	tcase_add_test(tc, test_ids_matching_anything_or_not_ikev2_ids_are_refused);
	tcase_add_test(tc, test_fqdn_without_a_dot_is_accepted_with_a_warning);
	tcase_add_test(tc, test_recommended_ml_kem_proposals_validate);
	tcase_add_test(tc, test_each_bad_proposal_says_what_is_wrong);
	tcase_add_test(tc, test_algorithms_no_plugin_of_the_build_provides_are_refused);
	tcase_add_test(tc, test_negotiated_transform_mtu_counts_its_own_iv_icv_block_and_nat_t);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_checks_bring_libstrongswan_up_once_and_end_takes_it_down);
	tcase_add_test(tc, test_checks_borrow_a_running_libstrongswan_and_leave_it_up);
	tcase_add_test(tc,
		       test_no_strongswan_conf_is_read_even_if_the_environment_names_one);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ike_check_suite)
