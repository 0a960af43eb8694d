/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CHILD SA record's codec (lib/sarec.h): what one edge server will
 * send its peers.  A record survives encode → decode whole, keys
 * included; every truncation, trailing byte, unknown version or flag and
 * inconsistent field is refused, and a refused decode holds nothing.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/sarec.h"
#include "testlib.h"

/* A GCM record as the provider's default proposal negotiates it. */
static void
fill_gcm(struct sarec *r)
{
	testlib_sarec(r, "cust1-ipsec", "edge1", 0x7e5e0001, 0xc1a2b3c4,
		      0x00001000);
	r->serial = 0x0102030405060708ull;
}

/* The same with AES-CBC + HMAC-SHA2-256, NAT-T and two selectors. */
static void
fill_cbc(struct sarec *r)
{
	fill_gcm(r);
	r->encr_alg = SAREC_ENCR_AES_CBC;
	r->encr_keysize = 128;
	r->integ_alg = SAREC_INTEG_HMAC_SHA2_256_128;
	r->encap_sport = 4500;
	r->encap_dport = 31337;
	r->replay_window = 64;
	r->keys->encr_len = 16;
	r->keys->integ_len = 32;
	for (int i = 0; i < 32; i++) {
		r->keys->integ_in[i] = (uint8_t)(0x40 + i);
		r->keys->integ_out[i] = (uint8_t)(0xc0 + i);
	}
	r->n_ts_remote = 2;
	ck_assert_int_eq(ts_prefix_parse("10.1.0.0/16", true, &r->ts_remote[0]), 0);
	ck_assert_int_eq(ts_prefix_parse("2001:db8::/32", true, &r->ts_remote[1]), 0);
}

static void
assert_same(const struct sarec *a, const struct sarec *b)
{
	ck_assert_str_eq(a->tunnel, b->tunnel);
	ck_assert_str_eq(a->negotiated_by, b->negotiated_by);
	ck_assert_uint_eq(a->serial, b->serial);
	ck_assert_uint_eq(a->spi_in, b->spi_in);
	ck_assert_uint_eq(a->spi_out, b->spi_out);
	ck_assert_uint_eq(a->if_id, b->if_id);
	ck_assert_uint_eq(a->reqid, b->reqid);
	ck_assert_uint_eq(a->replay_window, b->replay_window);
	ck_assert_uint_eq(a->lifetime_s, b->lifetime_s);
	ck_assert_uint_eq(a->local.s_addr, b->local.s_addr);
	ck_assert_uint_eq(a->remote.s_addr, b->remote.s_addr);
	ck_assert(a->esn == b->esn);
	ck_assert_uint_eq(a->encap_sport, b->encap_sport);
	ck_assert_uint_eq(a->encap_dport, b->encap_dport);
	ck_assert_uint_eq(a->encr_alg, b->encr_alg);
	ck_assert_uint_eq(a->encr_keysize, b->encr_keysize);
	ck_assert_uint_eq(a->integ_alg, b->integ_alg);
	ck_assert_uint_eq(a->n_ts_local, b->n_ts_local);
	ck_assert_uint_eq(a->n_ts_remote, b->n_ts_remote);
	for (size_t i = 0; i < a->n_ts_local; i++)
		ck_assert(ts_prefix_equal(&a->ts_local[i], &b->ts_local[i]));
	for (size_t i = 0; i < a->n_ts_remote; i++)
		ck_assert(ts_prefix_equal(&a->ts_remote[i], &b->ts_remote[i]));
	ck_assert_ptr_nonnull(a->keys);
	ck_assert_ptr_nonnull(b->keys);
	ck_assert_ptr_ne(a->keys, b->keys);
	ck_assert_uint_eq(a->keys->encr_len, b->keys->encr_len);
	ck_assert_uint_eq(a->keys->integ_len, b->keys->integ_len);
	ck_assert_mem_eq(a->keys->encr_in, b->keys->encr_in, a->keys->encr_len);
	ck_assert_mem_eq(a->keys->encr_out, b->keys->encr_out, a->keys->encr_len);
	ck_assert_mem_eq(a->keys->integ_in, b->keys->integ_in, a->keys->integ_len);
	ck_assert_mem_eq(a->keys->integ_out, b->keys->integ_out, a->keys->integ_len);
}

static void
round_trip(void (*fill)(struct sarec *))
{
	struct sarec a, b;
	uint8_t buf[SAREC_ENCODED_MAX];
	ssize_t n;

	fill(&a);
	n = sarec_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	memset(&b, 0xa5, sizeof(b));
	b.keys = NULL;
	ck_assert_int_eq(sarec_decode(buf, (size_t)n, &b), 0);
	assert_same(&a, &b);
	sarec_clear(&a);
	sarec_clear(&b);
}

START_TEST(test_gcm_record_round_trips_keys_and_all)
{
	round_trip(fill_gcm);
}
END_TEST

START_TEST(test_cbc_natt_two_selectors_round_trip)
{
	round_trip(fill_cbc);
}
END_TEST

START_TEST(test_largest_record_fits_encoded_max)
{
	struct sarec a;
	uint8_t buf[SAREC_ENCODED_MAX];

	fill_cbc(&a);
	memset(a.tunnel, 'x', sizeof(a.tunnel) - 1);
	memset(a.negotiated_by, 'y', sizeof(a.negotiated_by) - 1);
	a.n_ts_local = a.n_ts_remote = SAREC_TS_MAX;
	for (size_t i = 0; i < SAREC_TS_MAX; i++) {
		ck_assert_int_eq(ts_prefix_parse("2001:db8::/64", true,
						 &a.ts_local[i]), 0);
		a.ts_remote[i] = a.ts_local[i];
	}
	a.keys->encr_len = a.keys->integ_len = SAREC_KEY_MAX;
	ck_assert_int_eq(sarec_encode(&a, buf, sizeof(buf)), SAREC_ENCODED_MAX);
	ck_assert_int_eq(sarec_encode(&a, buf, sizeof(buf) - 1), -ENOSPC);
	sarec_clear(&a);
}
END_TEST

START_TEST(test_every_truncation_is_refused_and_holds_nothing)
{
	struct sarec a, b;
	uint8_t buf[SAREC_ENCODED_MAX];
	ssize_t n;

	fill_cbc(&a);
	n = sarec_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	for (size_t len = 0; len < (size_t)n; len++) {
		ck_assert_int_eq(sarec_decode(buf, len, &b), -EBADMSG);
		ck_assert_ptr_null(b.keys);
		ck_assert_str_eq(b.tunnel, "");
	}
	/* A byte too many is refused too. */
	buf[n] = 0;
	ck_assert_int_eq(sarec_decode(buf, (size_t)n + 1, &b), -EBADMSG);
	sarec_clear(&a);
}
END_TEST

START_TEST(test_encode_into_short_buffer_is_enospc_and_wiped)
{
	struct sarec a;
	uint8_t buf[64];

	fill_gcm(&a);
	memset(buf, 0x77, sizeof(buf));
	ck_assert_int_eq(sarec_encode(&a, buf, sizeof(buf)), -ENOSPC);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0);
	sarec_clear(&a);
}
END_TEST

/* @n bytes of a good encoding changed at @off to @v must be refused. */
static void
refused_with_n(size_t off, const uint8_t *v, size_t nv)
{
	struct sarec a, b;
	uint8_t buf[SAREC_ENCODED_MAX];
	ssize_t n;

	fill_gcm(&a);
	n = sarec_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, (ssize_t)(off + nv - 1));
	ck_assert_int_eq(sarec_decode(buf, (size_t)n, &b), 0);
	sarec_clear(&b);
	memcpy(buf + off, v, nv);
	ck_assert_msg(sarec_decode(buf, (size_t)n, &b) == -EBADMSG,
		      "accepted with %zu bytes at offset %zu changed", nv, off);
	ck_assert_ptr_null(b.keys);
	sarec_clear(&a);
}

static void
refused_with(size_t off, uint8_t v)
{
	refused_with_n(off, &v, 1);
}

START_TEST(test_bad_magic_version_flags_names_are_refused)
{
	refused_with(0, 'X');		/* magic */
	refused_with(4, 2);		/* version */
	refused_with(5, 0x80);		/* unknown flag */
	refused_with(5, 0x02);		/* encap flag without ports */
	refused_with(6, 0);		/* empty tunnel name */
	refused_with(6, IFNAMSIZ);	/* tunnel name too long */
	refused_with(7, 0);		/* NUL inside a name */
	refused_with(7, ' ');		/* space inside a name */
}
END_TEST

/* Fields after the names, at their offsets in fill_gcm()'s encoding:
 * 6 + 1 + 11 ("cust1-ipsec") + 1 + 5 ("edge1") = 24: serial. */
#define OFF_SERIAL 24
#define OFF_SPI_IN (OFF_SERIAL + 8)
#define OFF_ALGS (OFF_SPI_IN + 6 * 4 + 8 + 4)
#define OFF_NTS (OFF_ALGS + 6)

START_TEST(test_inconsistent_fields_are_refused)
{
	/* SPI 0..255 is reserved (RFC 4303). */
	static const uint8_t spi255[4] = { 0, 0, 0, 255 }, spi0[4] = { 0 };

	refused_with_n(OFF_SPI_IN, spi255, 4);
	refused_with_n(OFF_SPI_IN + 4, spi0, 4);
	refused_with(OFF_ALGS + 1, 0);		/* encr_alg 0 */
	refused_with(OFF_ALGS + 1, SAREC_ENCR_NULL);	/* null with a key */
	refused_with(OFF_ALGS + 5, SAREC_INTEG_HMAC_SHA1_96);	/* no integ key */
	refused_with(OFF_NTS, 0);		/* no local selector */
	refused_with(OFF_NTS, SAREC_TS_MAX + 1);
	refused_with(OFF_NTS + 2, 5);		/* family */
	refused_with(OFF_NTS + 3, 33);		/* /33 */
	refused_with(OFF_NTS + 2 + 6 + 6, SAREC_KEY_MAX + 1);	/* key len */
}
END_TEST

START_TEST(test_host_bits_in_a_selector_are_refused)
{
	struct sarec a, b;
	uint8_t buf[SAREC_ENCODED_MAX];
	ssize_t n;

	fill_gcm(&a);
	ck_assert_int_eq(ts_prefix_parse("10.0.0.0/8", true, &a.ts_local[0]), 0);
	n = sarec_encode(&a, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sarec_decode(buf, (size_t)n, &b), 0);
	sarec_clear(&b);
	buf[OFF_NTS + 2 + 2 + 3] = 1;		/* 10.0.0.1/8 */
	ck_assert_int_eq(sarec_decode(buf, (size_t)n, &b), -EBADMSG);
	sarec_clear(&a);
}
END_TEST

START_TEST(test_garbage_is_refused)
{
	uint8_t buf[SAREC_ENCODED_MAX];
	struct sarec b;
	unsigned int seed = 12;

	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (len >= 5 && round % 2) {	/* get past the magic */
			memcpy(buf, "TSSA\x01", 5);
		}
		ck_assert_int_eq(sarec_decode(buf, len, &b), -EBADMSG);
		ck_assert_ptr_null(b.keys);
	}
}
END_TEST

START_TEST(test_invalid_record_is_not_encoded)
{
	struct sarec a;
	uint8_t buf[SAREC_ENCODED_MAX];

	fill_gcm(&a);
	a.spi_out = 255;
	ck_assert_int_eq(sarec_encode(&a, buf, sizeof(buf)), -EINVAL);
	sarec_clear(&a);
	fill_gcm(&a);
	struct sarec_keys *k = a.keys;

	a.keys = NULL;
	ck_assert_int_eq(sarec_encode(&a, buf, sizeof(buf)), -EINVAL);
	a.keys = k;
	sarec_clear(&a);
}
END_TEST

START_TEST(test_proposal_names_never_a_key)
{
	struct sarec a;
	char p[64];

	fill_gcm(&a);
	sarec_proposal(&a, p, sizeof(p));
	ck_assert_str_eq(p, "aes256gcm16");
	sarec_clear(&a);
	fill_cbc(&a);
	sarec_proposal(&a, p, sizeof(p));
	ck_assert_str_eq(p, "aes128-sha256");
	a.integ_alg = SAREC_INTEG_HMAC_SHA1_96;
	a.encr_alg = SAREC_ENCR_NULL;
	sarec_proposal(&a, p, sizeof(p));
	ck_assert_str_eq(p, "null-sha1");
	sarec_clear(&a);
}
END_TEST

static Suite *
sarec_suite(void)
{
	Suite *s = suite_create("sarec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_gcm_record_round_trips_keys_and_all);
	tcase_add_test(tc, test_cbc_natt_two_selectors_round_trip);
	tcase_add_test(tc, test_largest_record_fits_encoded_max);
	tcase_add_test(tc, test_every_truncation_is_refused_and_holds_nothing);
	tcase_add_test(tc, test_encode_into_short_buffer_is_enospc_and_wiped);
	tcase_add_test(tc, test_bad_magic_version_flags_names_are_refused);
	tcase_add_test(tc, test_inconsistent_fields_are_refused);
	tcase_add_test(tc, test_host_bits_in_a_selector_are_refused);
	tcase_add_test(tc, test_garbage_is_refused);
	tcase_add_test(tc, test_invalid_record_is_not_encoded);
	tcase_add_test(tc, test_proposal_names_never_a_key);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(sarec_suite)
