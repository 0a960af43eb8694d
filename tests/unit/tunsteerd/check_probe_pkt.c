/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The probe packet codec: an echo reply to one of our probes parses back
 * to the same fields; malformed, foreign and forged-looking packets are
 * refused, and no truncation is read past.  The same for the ICMPv6
 * probe (probe.family "ipv6" or "both").
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "tunsteerd/probe.h"
#include "tunsteerd/probe_pkt.h"
#include "testlib.h"

static const struct probe_pkt sent = {
	.ident = 0x1234, .tunnel = 3, .seq = 0x10002,
	.sent_ns = 0x0102030405060708ull, .nonce = 0xdeadbeefcafef00dull,
};

/* What the raw socket sees for the peer's answer: IPv4 header from
 * 198.19.0.0, then our request turned into a reply. */
static size_t
reply_to(const struct probe_pkt *p, uint8_t *buf)
{
	size_t n;
	uint16_t ck;

	memset(buf, 0, 20);
	buf[0] = 0x45;
	buf[8] = 64;
	buf[9] = IPPROTO_ICMP;
	buf[12] = 198, buf[13] = 19, buf[14] = 0, buf[15] = 0;
	buf[16] = 198, buf[17] = 19, buf[18] = 0, buf[19] = 1;
	n = probe_pkt_build(p, buf + 20);
	buf[20] = ICMP_ECHOREPLY;
	buf[22] = buf[23] = 0;
	ck = wire_cksum(buf + 20, n);
	buf[22] = (uint8_t)(ck >> 8);
	buf[23] = (uint8_t)ck;
	buf[2] = (uint8_t)((20 + n) >> 8);
	buf[3] = (uint8_t)(20 + n);
	return 20 + n;
}

START_TEST(test_reply_round_trips_every_field)
{
	uint8_t buf[128];
	size_t n = reply_to(&sent, buf);
	struct probe_pkt got;
	uint32_t src;

	ck_assert_int_eq(probe_pkt_parse(buf, n, 0x1234, &got, &src), 0);
	ck_assert_uint_eq(got.tunnel, 3);
	ck_assert_uint_eq(got.seq, 0x10002);
	ck_assert(got.sent_ns == sent.sent_ns);
	ck_assert(got.nonce == sent.nonce);
	ck_assert_uint_eq(src, 0xc6130000);
}
END_TEST

START_TEST(test_request_has_valid_checksum_and_echo_type)
{
	uint8_t buf[PROBE_PKT_LEN];

	ck_assert_uint_eq(probe_pkt_build(&sent, buf), PROBE_PKT_LEN);
	ck_assert_int_eq(buf[0], ICMP_ECHO);
	ck_assert_uint_eq(wire_cksum(buf, PROBE_PKT_LEN), 0);
}
END_TEST

START_TEST(test_foreign_and_malformed_replies_are_refused)
{
	uint8_t buf[128], bad[128];
	size_t n = reply_to(&sent, buf);
	struct probe_pkt got;
	uint32_t src;

	/* Another daemon's (or ping's) identifier. */
	ck_assert_int_eq(probe_pkt_parse(buf, n, 0x4321, &got, &src), -ENOENT);
	/* A flipped payload bit breaks the checksum. */
	memcpy(bad, buf, n);
	bad[40] ^= 1;
	ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
	/* Right ident and checksum, wrong magic: not one of ours. */
	{
		struct probe_pkt p = sent;
		uint16_t ck;

		n = reply_to(&p, bad);
		bad[28] ^= 0xff;
		bad[22] = bad[23] = 0;
		ck = wire_cksum(bad + 20, n - 20);
		bad[22] = (uint8_t)(ck >> 8);
		bad[23] = (uint8_t)ck;
		ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -ENOENT);
	}
	/* An echo request is not a reply. */
	memcpy(bad, buf, n);
	bad[20] = ICMP_ECHO;
	ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
	/* Not IPv4, not ICMP, lying lengths. */
	memcpy(bad, buf, n);
	bad[0] = 0x65;
	ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
	memcpy(bad, buf, n);
	bad[9] = IPPROTO_UDP;
	ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
	memcpy(bad, buf, n);
	bad[3] = (uint8_t)(n + 10);
	ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
}
END_TEST

START_TEST(test_every_truncation_is_refused_without_reading_past_it)
{
	uint8_t buf[128];
	size_t n = reply_to(&sent, buf);
	struct probe_pkt got;
	uint32_t src;

	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, buf, len);
		ck_assert_int_ne(probe_pkt_parse(copy, len, 0x1234, &got, &src), 0);
		free(copy);
	}
}
END_TEST

/* The in-flight probe that `sent` is the answer to, sent through
 * interface 7 to 198.19.0.0. */
static const struct probe_inflight flying = {
	.used = true, .seq = 0x10002, .nonce = 0xdeadbeefcafef00dull,
	.sent_ns = 0x0102030405060708ull,
};
#define TARGET 0xc6130000u
#define TUN_IF 7u

START_TEST(test_only_the_exact_answer_through_the_tunnel_counts)
{
	struct probe_pkt p = sent;
	struct probe_inflight f = flying;

	ck_assert(probe_pkt_answers(&f, &p, TARGET, TUN_IF, TARGET, TUN_IF));
	/* Forged: right everything but the nonce (off-path guess). */
	p.nonce ^= 1;
	ck_assert(!probe_pkt_answers(&f, &p, TARGET, TUN_IF, TARGET, TUN_IF));
	p = sent;
	/* Stale: an answer to an earlier probe in the same slot. */
	p.seq -= 64;
	ck_assert(!probe_pkt_answers(&f, &p, TARGET, TUN_IF, TARGET, TUN_IF));
	p = sent;
	/* Right payload, but it came in over the ISP path, not the tunnel. */
	ck_assert(!probe_pkt_answers(&f, &p, TARGET, 2, TARGET, TUN_IF));
	/* …or from someone other than the target. */
	ck_assert(!probe_pkt_answers(&f, &p, TARGET + 1, TUN_IF, TARGET, TUN_IF));
	/* The tunnel link is gone (ifindex unknown): nothing counts. */
	ck_assert(!probe_pkt_answers(&f, &p, TARGET, 0, TARGET, 0));
	/* Already answered (or lost): a duplicate does not count twice. */
	f.used = false;
	ck_assert(!probe_pkt_answers(&f, &p, TARGET, TUN_IF, TARGET, TUN_IF));
}
END_TEST

/* --- ICMPv6 ------------------------------------------------------------- */

/* What a raw ICMPv6 socket reads for the peer's answer: the ICMPv6
 * message alone (no IPv6 header), its checksum verified by the kernel. */
static size_t
reply6_to(const struct probe_pkt *p, uint8_t *buf)
{
	size_t n = probe_pkt_build6(p, buf);

	buf[0] = ICMP6_ECHO_REPLY;
	return n;
}

START_TEST(test_icmpv6_reply_round_trips_every_field)
{
	uint8_t buf[128];
	size_t n = reply6_to(&sent, buf);
	struct probe_pkt got;

	ck_assert_uint_eq(n, PROBE_PKT_LEN);
	ck_assert_int_eq(probe_pkt_parse6(buf, n, 0x1234, &got), 0);
	ck_assert_uint_eq(got.ident, 0x1234);
	ck_assert_uint_eq(got.tunnel, 3);
	ck_assert_uint_eq(got.seq, 0x10002);
	ck_assert(got.sent_ns == sent.sent_ns);
	ck_assert(got.nonce == sent.nonce);
	/* Trailing bytes (a padded answer) are not ours to judge. */
	ck_assert_int_eq(probe_pkt_parse6(buf, sizeof(buf), 0x1234, &got), 0);
}
END_TEST

/* The kernel fills in ICMPv6's checksum (it covers a pseudo-header of
 * addresses only the route lookup settles): we leave it 0. */
START_TEST(test_icmpv6_request_is_an_echo_request_with_the_checksum_left_to_the_kernel)
{
	uint8_t buf[PROBE_PKT_LEN], v4[PROBE_PKT_LEN];

	ck_assert_uint_eq(probe_pkt_build6(&sent, buf), PROBE_PKT_LEN);
	ck_assert_int_eq(buf[0], ICMP6_ECHO_REQUEST);
	ck_assert_int_eq(buf[1], 0);
	ck_assert_int_eq(buf[2], 0);
	ck_assert_int_eq(buf[3], 0);
	/* The same identifier, sequence and payload as the IPv4 probe. */
	probe_pkt_build(&sent, v4);
	ck_assert(memcmp(buf + 4, v4 + 4, PROBE_PKT_LEN - 4) == 0);
}
END_TEST

START_TEST(test_icmpv6_wrong_type_code_ident_or_magic_is_refused)
{
	uint8_t buf[128], bad[128];
	size_t n = reply6_to(&sent, buf);
	struct probe_pkt got;
	static const uint8_t not_replies[] = {
		ICMP6_ECHO_REQUEST, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG,
		ICMP6_TIME_EXCEEDED, ND_NEIGHBOR_ADVERT, ICMP_ECHOREPLY,
	};

	/* Our own request looped back, an error, ND, IPv4's reply type. */
	for (size_t i = 0; i < sizeof(not_replies); i++) {
		memcpy(bad, buf, n);
		bad[0] = not_replies[i];
		ck_assert_int_eq(probe_pkt_parse6(bad, n, 0x1234, &got), -EINVAL);
	}
	memcpy(bad, buf, n);
	bad[1] = 1;
	ck_assert_int_eq(probe_pkt_parse6(bad, n, 0x1234, &got), -EINVAL);
	/* Someone else's echo (another daemon, ping6). */
	ck_assert_int_eq(probe_pkt_parse6(buf, n, 0x4321, &got), -ENOENT);
	memcpy(bad, buf, n);
	bad[8] ^= 0xff;
	ck_assert_int_eq(probe_pkt_parse6(bad, n, 0x1234, &got), -ENOENT);
	/* An IPv4 answer read as ICMPv6 is not a reply, and the reverse. */
	{
		uint32_t src;

		n = reply_to(&sent, bad);
		ck_assert_int_eq(probe_pkt_parse6(bad, n, 0x1234, &got), -EINVAL);
		n = reply6_to(&sent, bad);
		ck_assert_int_eq(probe_pkt_parse(bad, n, 0x1234, &got, &src), -EINVAL);
	}
}
END_TEST

START_TEST(test_icmpv6_every_truncation_is_refused_without_reading_past_it)
{
	uint8_t buf[128];
	size_t n = reply6_to(&sent, buf);
	struct probe_pkt got;

	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, buf, len);
		ck_assert_int_ne(probe_pkt_parse6(copy, len, 0x1234, &got), 0);
		free(copy);
	}
}
END_TEST

START_TEST(test_icmpv6_only_the_exact_answer_from_the_peer_through_the_tunnel_counts)
{
	struct probe_pkt p = sent;
	struct probe_inflight f = flying;
	struct in6_addr peer, other;

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ffff::1", &peer), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:ffff::", &other), 1);
	ck_assert(probe_pkt_answers6(&f, &p, &peer, TUN_IF, &peer, TUN_IF));
	/* From our own side of the /127 (a reflection), or anyone else. */
	ck_assert(!probe_pkt_answers6(&f, &p, &other, TUN_IF, &peer, TUN_IF));
	/* Over another interface. */
	ck_assert(!probe_pkt_answers6(&f, &p, &peer, 2, &peer, TUN_IF));
	ck_assert(!probe_pkt_answers6(&f, &p, &peer, 0, &peer, 0));
	/* Forged nonce, stale sequence, or already judged. */
	p.nonce ^= 1;
	ck_assert(!probe_pkt_answers6(&f, &p, &peer, TUN_IF, &peer, TUN_IF));
	p = sent;
	p.seq -= 64;
	ck_assert(!probe_pkt_answers6(&f, &p, &peer, TUN_IF, &peer, TUN_IF));
	p = sent;
	f.used = false;
	ck_assert(!probe_pkt_answers6(&f, &p, &peer, TUN_IF, &peer, TUN_IF));
}
END_TEST

/* Tunnels send their probes spread over the interval, never in one burst. */
START_TEST(test_tunnels_are_phased_evenly_over_the_interval)
{
	const size_t n = 500;

	ck_assert_uint_eq(probe_phase_us(0, 1, 100), 0);
	ck_assert_uint_eq(probe_phase_us(0, 0, 100), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t p = probe_phase_us(i, n, 100);

		ck_assert_uint_lt(p, 100000);
		/* 500 tunnels, 100 ms: one probe every 200 µs. */
		ck_assert_uint_eq(p, 200 * i);
	}
	/* The largest config does not overflow: 65536 tunnels, 60 s. */
	ck_assert_uint_eq(probe_phase_us(65535, 65536, 60000),
			  60000000ull * 65535 / 65536);
}
END_TEST

static Suite *
probe_pkt_suite(void)
{
	Suite *s = suite_create("probe_pkt");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_reply_round_trips_every_field);
	tcase_add_test(tc, test_request_has_valid_checksum_and_echo_type);
	tcase_add_test(tc, test_foreign_and_malformed_replies_are_refused);
	tcase_add_test(tc, test_every_truncation_is_refused_without_reading_past_it);
	tcase_add_test(tc, test_only_the_exact_answer_through_the_tunnel_counts);
	tcase_add_test(tc, test_tunnels_are_phased_evenly_over_the_interval);
	suite_add_tcase(s, tc);
	tc = tcase_create("icmpv6");
	tcase_add_test(tc, test_icmpv6_reply_round_trips_every_field);
	tcase_add_test(tc, test_icmpv6_request_is_an_echo_request_with_the_checksum_left_to_the_kernel);
	tcase_add_test(tc, test_icmpv6_wrong_type_code_ident_or_magic_is_refused);
	tcase_add_test(tc, test_icmpv6_every_truncation_is_refused_without_reading_past_it);
	tcase_add_test(tc, test_icmpv6_only_the_exact_answer_from_the_peer_through_the_tunnel_counts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(probe_pkt_suite)
