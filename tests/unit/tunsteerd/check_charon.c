/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The static, monolithic strongSwan that contrib/strongswan/build makes is
 * linked in whole: its plugins register through constructors, so a wrong
 * link line gives a daemon that starts but cannot negotiate anything.
 * These tests prove that libcharon initialises from the link tunsteer
 * uses and that every algorithm our IKE/ESP proposals name is there,
 * ML-KEM (strongSwan 6's ml plugin) included.
 */
#include "autoconfig.h"
#include "testlib.h"

#include <check.h>
#include <stdlib.h>

#include <library.h>
#include <daemon.h>
#include <crypto/proposal/proposal.h>

static void
charon_setup(void)
{
	/* No strongswan.conf: tunsteer configures charon itself. */
	setenv("STRONGSWAN_CONF", "", 1);
	ck_assert_msg(library_init(NULL, "check_charon"), "library_init failed");
	ck_assert_msg(libcharon_init(), "libcharon_init failed");
	ck_assert_msg(lib->plugins->load(lib->plugins, STRONGSWAN_PLUGINS),
	    "loading plugins '%s' failed", STRONGSWAN_PLUGINS);
}

static void
charon_teardown(void)
{
	libcharon_deinit();
	library_deinit();
}

START_TEST(test_every_plugin_we_link_is_loaded)
{
	char *loaded = lib->plugins->loaded_plugins(lib->plugins);
	char *list = strdup(STRONGSWAN_PLUGINS), *tok, *save = NULL;

	ck_assert_ptr_nonnull(list);
	for (tok = strtok_r(list, " ", &save); tok;
	    tok = strtok_r(NULL, " ", &save))
		ck_assert_msg(has_word(loaded, tok),
		    "plugin %s not loaded (loaded: %s)", tok, loaded);
	free(list);
}
END_TEST

static const encryption_algorithm_t aeads[] = {
	ENCR_AES_GCM_ICV16,
};
static const size_t aead_key_bits[] = { 128, 256 };

START_TEST(test_aes_gcm_16_is_available_for_128_and_256_bit_keys)
{
	for (size_t i = 0; i < sizeof(aeads) / sizeof(aeads[0]); i++)
		for (size_t k = 0; k < 2; k++) {
			aead_t *a = lib->crypto->create_aead(lib->crypto,
			    aeads[i], aead_key_bits[k] / 8, 4);
			ck_assert_msg(a, "AES-GCM-16/%zu missing", aead_key_bits[k]);
			a->destroy(a);
		}
}
END_TEST

START_TEST(test_aes_cbc_is_available_for_128_and_256_bit_keys)
{
	for (size_t k = 0; k < 2; k++) {
		crypter_t *c = lib->crypto->create_crypter(lib->crypto,
		    ENCR_AES_CBC, aead_key_bits[k] / 8);
		ck_assert_msg(c, "AES-CBC/%zu missing", aead_key_bits[k]);
		c->destroy(c);
	}
}
END_TEST

START_TEST(test_sha2_hashers_prfs_and_integrity_algorithms_are_available)
{
	static const hash_algorithm_t hashes[] = {
		HASH_SHA256, HASH_SHA384, HASH_SHA512 };
	static const pseudo_random_function_t prfs[] = {
		PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512 };
	static const integrity_algorithm_t integs[] = {
		AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192,
		AUTH_HMAC_SHA2_512_256 };

	for (size_t i = 0; i < 3; i++) {
		hasher_t *h = lib->crypto->create_hasher(lib->crypto, hashes[i]);
		prf_t *p = lib->crypto->create_prf(lib->crypto, prfs[i]);
		signer_t *s = lib->crypto->create_signer(lib->crypto, integs[i]);

		ck_assert_msg(h && p && s, "SHA2 set %zu incomplete", i);
		h->destroy(h);
		p->destroy(p);
		s->destroy(s);
	}
}
END_TEST

START_TEST(test_prf_plus_kdf_is_available)
{
	kdf_t *kdf = lib->crypto->create_kdf(lib->crypto, KDF_PRF_PLUS,
	    PRF_HMAC_SHA2_256);

	ck_assert_msg(kdf, "prf+ (kdf plugin) missing");
	kdf->destroy(kdf);
}
END_TEST

START_TEST(test_dh_groups_14_19_20_31_agree_on_a_shared_secret)
{
	static const key_exchange_method_t groups[] = {
		MODP_2048_BIT, ECP_256_BIT, ECP_384_BIT, CURVE_25519 };

	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		key_exchange_t *a = lib->crypto->create_ke(lib->crypto, groups[i]);
		key_exchange_t *b = lib->crypto->create_ke(lib->crypto, groups[i]);
		chunk_t pa = chunk_empty, pb = chunk_empty;
		chunk_t sa = chunk_empty, sb = chunk_empty;

		ck_assert_msg(a && b, "KE method %d missing", groups[i]);
		ck_assert(a->get_public_key(a, &pa));
		ck_assert(b->get_public_key(b, &pb));
		ck_assert(a->set_public_key(a, pb));
		ck_assert(b->set_public_key(b, pa));
		ck_assert(a->get_shared_secret(a, &sa));
		ck_assert(b->get_shared_secret(b, &sb));
		ck_assert_msg(chunk_equals(sa, sb), "group %d: secrets differ",
		    groups[i]);
		chunk_clear(&sa);
		chunk_clear(&sb);
		chunk_free(&pa);
		chunk_free(&pb);
		a->destroy(a);
		b->destroy(b);
	}
}
END_TEST

START_TEST(test_strong_random_source_is_available)
{
	rng_t *rng = lib->crypto->create_rng(lib->crypto, RNG_STRONG);
	uint8_t buf[32] = { 0 }, zero[32] = { 0 };

	ck_assert_msg(rng, "no strong RNG");
	ck_assert(rng->get_bytes(rng, sizeof(buf), buf));
	ck_assert_msg(memcmp(buf, zero, sizeof(buf)) != 0, "RNG gave zeros");
	rng->destroy(rng);
}
END_TEST

/* The provider's recommended IKE proposal (PROVIDER.md section 3):
 * ML-KEM-768 as the first additional key exchange after DH20 (RFC 9370),
 * as libstrongswan's own parser reads it, the one `-n` will check with. */
START_TEST(test_proposal_with_ke1_mlkem768_parses_to_ml_kem_768_after_dh20)
{
	proposal_t *p = proposal_create_from_string(PROTO_IKE,
	    "aes256gcm16-prfsha256-ecp384-ke1_mlkem768");
	uint16_t alg = 0, ks = 0;

	ck_assert_msg(p, "proposal refused");
	ck_assert(p->get_algorithm(p, ENCRYPTION_ALGORITHM, &alg, &ks));
	ck_assert_uint_eq(alg, ENCR_AES_GCM_ICV16);
	ck_assert_uint_eq(ks, 256);
	ck_assert(p->get_algorithm(p, PSEUDO_RANDOM_FUNCTION, &alg, NULL));
	ck_assert_uint_eq(alg, PRF_HMAC_SHA2_256);
	ck_assert(p->get_algorithm(p, KEY_EXCHANGE_METHOD, &alg, NULL));
	ck_assert_uint_eq(alg, ECP_384_BIT);
	ck_assert(p->get_algorithm(p, ADDITIONAL_KEY_EXCHANGE_1, &alg, NULL));
	ck_assert_uint_eq(alg, ML_KEM_768);
	ck_assert(p->has_transform(p, ADDITIONAL_KEY_EXCHANGE_1, ML_KEM_768));
	ck_assert(!p->get_algorithm(p, ADDITIONAL_KEY_EXCHANGE_2, &alg, NULL));
	/* Transform ID 36 on the wire, as the provider names it. */
	ck_assert_int_eq(ML_KEM_768, 36);
	p->destroy(p);

	p = proposal_create_from_string(PROTO_IKE,
	    "aes256gcm16-prfsha256-ecp384-ke1_mlkem1024");
	ck_assert_msg(p, "ML-KEM-1024 proposal refused");
	ck_assert(p->has_transform(p, ADDITIONAL_KEY_EXCHANGE_1, ML_KEM_1024));
	p->destroy(p);
}
END_TEST

/* The ml plugin registers ML-KEM-768 with the crypto factory, so charon
 * offers and accepts it, and a KEM round trip agrees on one secret. */
START_TEST(test_ml_kem_768_is_registered_by_the_ml_plugin_and_agrees)
{
	enumerator_t *e = lib->crypto->create_ke_enumerator(lib->crypto);
	key_exchange_method_t method;
	const char *plugin, *by = NULL;
	key_exchange_t *a, *b;
	chunk_t ek = chunk_empty, ct = chunk_empty;
	chunk_t sa = chunk_empty, sb = chunk_empty;

	while (e->enumerate(e, &method, &plugin))
		if (method == ML_KEM_768)
			by = plugin;
	e->destroy(e);
	ck_assert_msg(by, "ML-KEM-768 not registered");
	ck_assert_str_eq(by, "ml");

	a = lib->crypto->create_ke(lib->crypto, ML_KEM_768);
	b = lib->crypto->create_ke(lib->crypto, ML_KEM_768);
	ck_assert(a && b);
	/* Initiator: encapsulation key; responder: ciphertext back. */
	ck_assert(a->get_public_key(a, &ek));
	ck_assert(b->set_public_key(b, ek));
	ck_assert(b->get_public_key(b, &ct));
	ck_assert(a->set_public_key(a, ct));
	ck_assert(a->get_shared_secret(a, &sa));
	ck_assert(b->get_shared_secret(b, &sb));
	ck_assert_uint_eq(sa.len, 32);
	ck_assert_msg(chunk_equals(sa, sb), "ML-KEM-768: secrets differ");
	chunk_clear(&sa);
	chunk_clear(&sb);
	chunk_free(&ek);
	chunk_free(&ct);
	a->destroy(a);
	b->destroy(b);
}
END_TEST

static Suite *
charon_suite(void)
{
	Suite *s = suite_create("charon");
	TCase *tc = tcase_create("static libcharon");

	tcase_add_checked_fixture(tc, charon_setup, charon_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_every_plugin_we_link_is_loaded);
	tcase_add_test(tc, test_aes_gcm_16_is_available_for_128_and_256_bit_keys);
	tcase_add_test(tc, test_aes_cbc_is_available_for_128_and_256_bit_keys);
	tcase_add_test(tc, test_sha2_hashers_prfs_and_integrity_algorithms_are_available);
	tcase_add_test(tc, test_prf_plus_kdf_is_available);
	tcase_add_test(tc, test_dh_groups_14_19_20_31_agree_on_a_shared_secret);
	tcase_add_test(tc, test_strong_random_source_is_available);
	tcase_add_test(tc, test_proposal_with_ke1_mlkem768_parses_to_ml_kem_768_after_dh20);
	tcase_add_test(tc, test_ml_kem_768_is_registered_by_the_ml_plugin_and_agrees);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(charon_suite)
