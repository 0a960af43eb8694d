/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passive signal.  The provider health-check classifier: each of the
 * four kinds is recognised from its inner addressing; answers to our own
 * probes, users' pings through the tunnel, other ICMP and other protocols
 * are not checks; malformed or short packets are refused without reading
 * past their end.  And the rule that says when checks are missing.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "tunsteerd/passive.h"
#include "tunsteerd/passive_pkt.h"
#include "tunsteerd/probe_pkt.h"
#include "testlib.h"

/* Lab tunnel 1 (cf2): inner 198.19.0.3, provider side 198.19.0.2, our
 * underlay address 198.51.100.2. */
#define INNER 0xc6130003u	/* 198.19.0.3 */
#define PEER 0xc6130002u	/* 198.19.0.2 */
#define ENDPOINT 0xc6336402u	/* 198.51.100.2 */
#define CF_PUBLIC 0xc0000202u	/* 192.0.2.2 */
#define TARGET 0xcb007101u	/* 203.0.113.1 */
#define LAN_HOST 0xcb00710au	/* 203.0.113.10 */
#define INET_HOST 0xc612000au	/* 198.18.0.10 */

static const struct passive_addrs addrs = {
	.inner = INNER, .peer = PEER, .endpoint = ENDPOINT,
};

static uint8_t pkt[1500];

static void
ip_cksum(uint8_t *p, size_t ihl)
{
	p[10] = p[11] = 0;
	wire_put_be16(p + 10, wire_cksum(p, ihl));
}

/* An IPv4 packet of protocol @proto, ICMP @type/@code, @payload bytes of
 * payload (a provider-like pattern), into pkt; returns its length. */
static size_t
mk(uint8_t proto, uint8_t type, uint8_t code, uint32_t src, uint32_t dst,
   size_t payload)
{
	size_t tot = 20 + 8 + payload;
	uint16_t ck;

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(tot >> 8);
	pkt[3] = (uint8_t)tot;
	pkt[8] = 64;
	pkt[9] = proto;
	wire_put_be32(pkt + 12, src);
	wire_put_be32(pkt + 16, dst);
	ip_cksum(pkt, 20);
	pkt[20] = type;
	pkt[21] = code;
	pkt[24] = 0x12, pkt[25] = 0x34;		/* id */
	pkt[27] = 1;				/* seq */
	for (size_t i = 0; i < payload; i++)
		pkt[28 + i] = (uint8_t)('a' + i % 26);
	ck = wire_cksum(pkt + 20, 8 + payload);
	pkt[22] = (uint8_t)(ck >> 8);
	pkt[23] = (uint8_t)ck;
	return tot;
}

static size_t
icmp(uint8_t type, uint32_t src, uint32_t dst)
{
	return mk(IPPROTO_ICMP, type, 0, src, dst, 32);
}

/* Classify a heap copy of exactly @len bytes, so that ASan catches any
 * read past the end. */
static int
classify(size_t len, const struct passive_addrs *a)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, pkt, len);
	r = passive_classify(copy, len, a);
	free(copy);
	return r;
}

/* --- the four kinds ------------------------------------------------------ */

START_TEST(test_bidirectional_request_is_peer_to_inner_echo_request)
{
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, PEER, INNER), &addrs),
			 PASSIVE_BIDI_REQUEST);
}
END_TEST

START_TEST(test_bidirectional_reply_is_inner_to_peer_echo_reply)
{
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, INNER, PEER), &addrs),
			 PASSIVE_BIDI_REPLY);
}
END_TEST

START_TEST(test_unidirectional_request_is_an_echo_request_to_our_endpoint)
{
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, CF_PUBLIC, ENDPOINT), &addrs),
			 PASSIVE_UNI_REQUEST);
}
END_TEST

START_TEST(test_unidirectional_reply_is_an_echo_reply_from_our_endpoint)
{
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, ENDPOINT, CF_PUBLIC), &addrs),
			 PASSIVE_UNI_REPLY);
}
END_TEST

START_TEST(test_configured_target_counts_besides_the_endpoint)
{
	struct passive_addrs t = addrs;

	ck_assert_int_eq(classify(icmp(ICMP_ECHO, CF_PUBLIC, TARGET), &addrs),
			 -ENOENT);
	t.target = TARGET;
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, CF_PUBLIC, TARGET), &t),
			 PASSIVE_UNI_REQUEST);
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, TARGET, CF_PUBLIC), &t),
			 PASSIVE_UNI_REPLY);
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, CF_PUBLIC, ENDPOINT), &t),
			 PASSIVE_UNI_REQUEST);
}
END_TEST

START_TEST(test_capture_cut_after_the_snap_length_still_classifies)
{
	size_t n = mk(IPPROTO_ICMP, ICMP_ECHOREPLY, 0, INNER, PEER, 1400);

	ck_assert_uint_gt(n, PASSIVE_SNAPLEN);
	ck_assert_int_eq(classify(PASSIVE_SNAPLEN, &addrs), PASSIVE_BIDI_REPLY);
	/* Just the ICMP header is enough. */
	ck_assert_int_eq(classify(28, &addrs), PASSIVE_BIDI_REPLY);
}
END_TEST

START_TEST(test_ip_options_are_skipped)
{
	size_t n = icmp(ICMP_ECHO, PEER, INNER);

	/* Insert one 4-byte option (NOPs) before the ICMP header. */
	memmove(pkt + 24, pkt + 20, n - 20);
	memset(pkt + 20, 1, 4);
	pkt[0] = 0x46;
	n += 4;
	pkt[2] = (uint8_t)(n >> 8);
	pkt[3] = (uint8_t)n;
	ip_cksum(pkt, 24);
	ck_assert_int_eq(classify(n, &addrs), PASSIVE_BIDI_REQUEST);
}
END_TEST

/* --- what is not a check ------------------------------------------------- */

/* The peer's answer to our probe: an echo reply from the provider side to
 * our inner address, our magic in the payload. */
static size_t
probe_answer(uint32_t src, uint32_t dst)
{
	struct probe_pkt p = { .ident = 0x4242, .tunnel = 1, .seq = 7,
			       .sent_ns = 123456789, .nonce = 42 };
	size_t n = 20 + PROBE_PKT_LEN;

	mk(IPPROTO_ICMP, ICMP_ECHOREPLY, 0, src, dst, 0);
	probe_pkt_build(&p, pkt + 20);
	pkt[20] = ICMP_ECHOREPLY;
	pkt[2] = (uint8_t)(n >> 8);
	pkt[3] = (uint8_t)n;
	ip_cksum(pkt, 20);
	return n;
}

START_TEST(test_answers_to_our_own_probes_are_not_checks)
{
	ck_assert_int_eq(classify(probe_answer(PEER, INNER), &addrs), -ENOENT);
	/* Even where the addresses alone would look like a check (a probe
	 * target or source set to such addresses): the magic decides. */
	ck_assert_int_eq(classify(probe_answer(INNER, PEER), &addrs), -ENOENT);
	ck_assert_int_eq(classify(probe_answer(ENDPOINT, CF_PUBLIC), &addrs),
			 -ENOENT);
	/* The same packet without our magic would have counted. */
	pkt[28] ^= 0xff;
	ck_assert_int_eq(classify(20 + PROBE_PKT_LEN, &addrs), PASSIVE_UNI_REPLY);
}
END_TEST

START_TEST(test_users_pings_through_the_tunnel_are_not_checks)
{
	/* Internet host pings a LAN host, and the LAN host's answer to an
	 * Internet host's ping coming back. */
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, INET_HOST, LAN_HOST), &addrs),
			 -ENOENT);
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, INET_HOST, LAN_HOST), &addrs),
			 -ENOENT);
	/* The provider side pings a LAN host (the e2e's user ping). */
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, PEER, LAN_HOST), &addrs),
			 -ENOENT);
	/* Someone else pings our inner address through the provider. */
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, INET_HOST, INNER), &addrs),
			 -ENOENT);
	/* Reply-type shapes reversed: not what the provider sends. */
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, PEER, INNER), &addrs),
			 -ENOENT);
	ck_assert_int_eq(classify(icmp(ICMP_ECHO, INNER, PEER), &addrs),
			 -ENOENT);
	ck_assert_int_eq(classify(icmp(ICMP_ECHOREPLY, CF_PUBLIC, ENDPOINT), &addrs),
			 -ENOENT);
}
END_TEST

START_TEST(test_other_icmp_and_other_protocols_are_not_checks)
{
	ck_assert_int_eq(classify(icmp(ICMP_DEST_UNREACH, PEER, INNER), &addrs),
			 -ENOENT);
	ck_assert_int_eq(classify(mk(IPPROTO_ICMP, ICMP_ECHO, 1, PEER, INNER, 8),
				  &addrs), -ENOENT);
	ck_assert_int_eq(classify(mk(IPPROTO_UDP, ICMP_ECHO, 0, PEER, INNER, 8),
				  &addrs), -ENOENT);
	ck_assert_int_eq(classify(mk(IPPROTO_TCP, ICMP_ECHOREPLY, 0, INNER,
				     PEER, 8), &addrs), -ENOENT);
}
END_TEST

START_TEST(test_fragments_count_only_as_the_first)
{
	size_t n = icmp(ICMP_ECHO, PEER, INNER);

	pkt[6] = 0x20;			/* MF, offset 0: the first fragment */
	ip_cksum(pkt, 20);
	ck_assert_int_eq(classify(n, &addrs), PASSIVE_BIDI_REQUEST);
	pkt[6] = 0x00, pkt[7] = 0xb9;	/* offset 185 * 8: a later one */
	ip_cksum(pkt, 20);
	ck_assert_int_eq(classify(n, &addrs), -ENOENT);
}
END_TEST

/* --- malformed ----------------------------------------------------------- */

START_TEST(test_malformed_headers_are_refused)
{
	size_t n = icmp(ICMP_ECHO, PEER, INNER);

	pkt[0] = 0x65;			/* IPv6 version nibble */
	ck_assert_int_eq(classify(n, &addrs), -EINVAL);
	icmp(ICMP_ECHO, PEER, INNER);
	pkt[0] = 0x44;			/* IHL 16 bytes */
	ck_assert_int_eq(classify(n, &addrs), -EINVAL);
	icmp(ICMP_ECHO, PEER, INNER);
	pkt[0] = 0x4f;			/* IHL 60 bytes: past the packet */
	ck_assert_int_eq(classify(n, &addrs), -EINVAL);
	icmp(ICMP_ECHO, PEER, INNER);
	pkt[2] = 0, pkt[3] = 27;	/* total length cuts the ICMP header */
	ip_cksum(pkt, 20);
	ck_assert_int_eq(classify(n, &addrs), -EINVAL);
	icmp(ICMP_ECHO, PEER, INNER);
	pkt[15] ^= 1;			/* header checksum no longer holds */
	ck_assert_int_eq(classify(n, &addrs), -EINVAL);
}
END_TEST

START_TEST(test_every_truncation_is_refused_without_reading_past_it)
{
	size_t n = icmp(ICMP_ECHO, PEER, INNER);

	for (size_t len = 0; len < 28; len++)
		ck_assert_int_eq(classify(len, &addrs), -EINVAL);
	for (size_t len = 28; len <= n; len++)
		ck_assert_int_eq(classify(len, &addrs), PASSIVE_BIDI_REQUEST);
	/* An answer to our probe cut inside the magic is no check either
	 * way: nothing past the cut is read (ASan would say). */
	n = probe_answer(PEER, INNER);
	for (size_t len = 0; len <= n; len++)
		ck_assert_int_lt(classify(len, &addrs), 0);
}
END_TEST

START_TEST(test_kind_names_are_the_json_keys)
{
	ck_assert_str_eq(passive_kind_name(PASSIVE_BIDI_REQUEST), "bidirectional_request");
	ck_assert_str_eq(passive_kind_name(PASSIVE_BIDI_REPLY), "bidirectional_reply");
	ck_assert_str_eq(passive_kind_name(PASSIVE_UNI_REQUEST), "unidirectional_request");
	ck_assert_str_eq(passive_kind_name(PASSIVE_UNI_REPLY), "unidirectional_reply");
	ck_assert_str_eq(passive_kind_name(PASSIVE_KINDS), "?");
}
END_TEST

/* --- when checks are missing --------------------------------------------- */

#define MS 1000000ull

START_TEST(test_missing_only_after_the_timeout_since_the_last_check)
{
	/* Watched since 1 s, last check at 5 s, timeout 2 s. */
	ck_assert(!passive_is_missing(2000, 1000 * MS, 5000 * MS, 6999 * MS));
	ck_assert(passive_is_missing(2000, 1000 * MS, 5000 * MS, 7000 * MS));
	ck_assert(passive_is_missing(2000, 1000 * MS, 5000 * MS, 90000 * MS));
}
END_TEST

START_TEST(test_a_new_watch_gives_the_provider_the_full_timeout)
{
	/* No check yet: counted from the start of the watch. */
	ck_assert(!passive_is_missing(2000, 1000 * MS, 0, 2999 * MS));
	ck_assert(passive_is_missing(2000, 1000 * MS, 0, 3000 * MS));
	/* Checks from before the watch began do not shorten it. */
	ck_assert(!passive_is_missing(2000, 10000 * MS, 500 * MS, 11000 * MS));
}
END_TEST

START_TEST(test_timeout_zero_is_never_missing)
{
	ck_assert(!passive_is_missing(0, 1 * MS, 0, UINT64_MAX / 2));
	ck_assert(!passive_is_missing(0, 1 * MS, 2 * MS, UINT64_MAX / 2));
}
END_TEST

START_TEST(test_a_check_newer_than_now_is_not_missing)
{
	/* Times are taken once per batch; never wrap round. */
	ck_assert(!passive_is_missing(1000, 0, 5000 * MS, 4000 * MS));
}
END_TEST

static Suite *
passive_suite(void)
{
	Suite *s = suite_create("passive");
	TCase *kinds = tcase_create("kinds"), *not = tcase_create("not checks");
	TCase *bad = tcase_create("malformed"), *miss = tcase_create("missing");

	tcase_add_test(kinds, test_bidirectional_request_is_peer_to_inner_echo_request);
	tcase_add_test(kinds, test_bidirectional_reply_is_inner_to_peer_echo_reply);
	tcase_add_test(kinds, test_unidirectional_request_is_an_echo_request_to_our_endpoint);
	tcase_add_test(kinds, test_unidirectional_reply_is_an_echo_reply_from_our_endpoint);
	tcase_add_test(kinds, test_configured_target_counts_besides_the_endpoint);
	tcase_add_test(kinds, test_capture_cut_after_the_snap_length_still_classifies);
	tcase_add_test(kinds, test_ip_options_are_skipped);
	tcase_add_test(kinds, test_kind_names_are_the_json_keys);
	suite_add_tcase(s, kinds);
	tcase_add_test(not, test_answers_to_our_own_probes_are_not_checks);
	tcase_add_test(not, test_users_pings_through_the_tunnel_are_not_checks);
	tcase_add_test(not, test_other_icmp_and_other_protocols_are_not_checks);
	tcase_add_test(not, test_fragments_count_only_as_the_first);
	suite_add_tcase(s, not);
	tcase_add_test(bad, test_malformed_headers_are_refused);
	tcase_add_test(bad, test_every_truncation_is_refused_without_reading_past_it);
	suite_add_tcase(s, bad);
	tcase_add_test(miss, test_missing_only_after_the_timeout_since_the_last_check);
	tcase_add_test(miss, test_a_new_watch_gives_the_provider_the_full_timeout);
	tcase_add_test(miss, test_timeout_zero_is_never_missing);
	tcase_add_test(miss, test_a_check_newer_than_now_is_not_missing);
	suite_add_tcase(s, miss);
	return s;
}

CHECK_MAIN(passive_suite)
