/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health-check packet: the provider's inner addressing for each of
 * the four type × direction combinations, the packet codec, and the rule
 * that accepts an answer (only the check in flight, from the expected
 * address, through the tunnel for bidirectional checks).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_hcpkt.h"
#include "lib/wire.h"
#include "testlib.h"

static struct edge_tunnel t;
static struct in_addr pub;

static void
setup(void)
{
	/* The lab's tunnel 0: provider side 198.19.0.0, customer .1. */
	memset(&t, 0, sizeof(t));
	t.provider_addr = ip("198.19.0.0");
	t.customer_addr = ip("198.19.0.1");
	t.customer_endpoint = ip("198.51.100.2");
	t.cloudflare_endpoint = ip("192.0.2.1");
	t.hc = (struct edge_hc)EDGE_HC_DEFAULTS;
	pub = ip("192.0.2.101");
}

static void
plan(enum edge_hc_type ty, enum edge_hc_direction d, struct hc_plan *p)
{
	t.hc.type = ty;
	t.hc.direction = d;
	hc_plan_for(&t, pub, p);
}

START_TEST(test_request_bidirectional_uses_interface_addresses)
{
	struct hc_plan p;

	plan(EDGE_HC_REQUEST, EDGE_HC_BIDIRECTIONAL, &p);
	ck_assert_uint_eq(p.icmp_type, ICMP_ECHO);
	ck_assert_str_eq(ip_text(p.src), "198.19.0.0");
	ck_assert_str_eq(ip_text(p.dst), "198.19.0.1");
	ck_assert_str_eq(ip_text(p.want_src), "198.19.0.1");
	ck_assert_str_eq(ip_text(p.want_dst), "198.19.0.0");
	ck_assert(p.via_tunnel);
}
END_TEST

START_TEST(test_reply_bidirectional_is_an_echo_reply_to_ourselves)
{
	struct hc_plan p;

	plan(EDGE_HC_REPLY, EDGE_HC_BIDIRECTIONAL, &p);
	ck_assert_uint_eq(p.icmp_type, ICMP_ECHOREPLY);
	ck_assert_str_eq(ip_text(p.src), "198.19.0.1");	/* customer side */
	ck_assert_str_eq(ip_text(p.dst), "198.19.0.0");	/* provider side */
	ck_assert_str_eq(ip_text(p.want_src), "198.19.0.1");
	ck_assert_str_eq(ip_text(p.want_dst), "198.19.0.0");
	ck_assert(p.via_tunnel);
}
END_TEST

START_TEST(test_request_unidirectional_uses_public_addresses)
{
	struct hc_plan p;

	plan(EDGE_HC_REQUEST, EDGE_HC_UNIDIRECTIONAL, &p);
	ck_assert_uint_eq(p.icmp_type, ICMP_ECHO);
	ck_assert_str_eq(ip_text(p.src), "192.0.2.101");
	ck_assert_str_eq(ip_text(p.dst), "198.51.100.2");	/* customer endpoint */
	ck_assert_str_eq(ip_text(p.want_src), "198.51.100.2");
	ck_assert_str_eq(ip_text(p.want_dst), "192.0.2.101");
	ck_assert(!p.via_tunnel);			/* answered outside */
	/* target replaces the customer endpoint. */
	t.hc.has_target = true;
	t.hc.target = ip("203.0.113.1");
	hc_plan_for(&t, pub, &p);
	ck_assert_str_eq(ip_text(p.dst), "203.0.113.1");
	ck_assert_str_eq(ip_text(p.want_src), "203.0.113.1");
}
END_TEST

START_TEST(test_reply_unidirectional_is_forwarded_unchanged)
{
	struct hc_plan p;

	plan(EDGE_HC_REPLY, EDGE_HC_UNIDIRECTIONAL, &p);
	ck_assert_uint_eq(p.icmp_type, ICMP_ECHOREPLY);
	ck_assert_str_eq(ip_text(p.src), "198.51.100.2");
	ck_assert_str_eq(ip_text(p.dst), "192.0.2.101");
	ck_assert_str_eq(ip_text(p.want_src), "198.51.100.2");
	ck_assert_str_eq(ip_text(p.want_dst), "192.0.2.101");
	ck_assert(!p.via_tunnel);
}
END_TEST

static const struct hc_probe probe = {
	.origin = 0xc6130302, .tunnel = 0, .seq = 77, .sent_ns = 123456789,
	.nonce = 0x0123456789abcdefULL, .ident = 0x7465,
};

/* What the customer sends back for @p: for a request, its kernel's echo
 * reply (addresses swapped, payload kept); for a reply, the packet. */
static size_t
answer_of(const struct hc_plan *p, uint8_t *buf)
{
	struct hc_plan back = *p;

	back.icmp_type = ICMP_ECHOREPLY;
	back.src = p->want_src;
	back.dst = p->want_dst;
	return hc_build(&back, &probe, buf);
}

START_TEST(test_build_and_parse_round_trip)
{
	struct hc_plan p;
	uint8_t buf[HC_PKT_LEN];
	struct hc_probe got;
	struct in_addr s, d;

	plan(EDGE_HC_REPLY, EDGE_HC_BIDIRECTIONAL, &p);
	ck_assert_uint_eq(hc_build(&p, &probe, buf), HC_PKT_LEN);
	ck_assert_uint_eq(wire_cksum(buf, 20), 0);		/* IP header */
	ck_assert_uint_eq(wire_cksum(buf + 20, HC_ICMP_LEN), 0);
	ck_assert_uint_eq(buf[8], 64);				/* TTL */
	ck_assert_int_eq(hc_parse(buf, sizeof(buf), &got, &s, &d), 0);
	ck_assert_uint_eq(got.origin, probe.origin);
	ck_assert_uint_eq(got.seq, 77);
	ck_assert(got.nonce == probe.nonce);
	ck_assert(got.sent_ns == probe.sent_ns);
	ck_assert_str_eq(ip_text(s), "198.19.0.1");
	ck_assert_str_eq(ip_text(d), "198.19.0.0");
}
END_TEST

START_TEST(test_parse_refuses_what_is_not_an_answer)
{
	struct hc_plan p;
	uint8_t buf[HC_PKT_LEN + 4];
	struct hc_probe got;
	struct in_addr s, d;

	plan(EDGE_HC_REQUEST, EDGE_HC_BIDIRECTIONAL, &p);
	hc_build(&p, &probe, buf);		/* an echo request */
	ck_assert_int_eq(hc_parse(buf, HC_PKT_LEN, &got, &s, &d), -EINVAL);
	answer_of(&p, buf);
	ck_assert_int_eq(hc_parse(buf, 19, &got, &s, &d), -EINVAL);
	ck_assert_int_eq(hc_parse(buf, HC_PKT_LEN - 1, &got, &s, &d), -EINVAL);
	buf[40] ^= 1;				/* payload corrupted */
	ck_assert_int_eq(hc_parse(buf, HC_PKT_LEN, &got, &s, &d), -EINVAL);
	buf[40] ^= 1;
	buf[6] = 0x20;				/* more fragments */
	ck_assert_int_eq(hc_parse(buf, HC_PKT_LEN, &got, &s, &d), -EINVAL);
	buf[6] = 0;
	/* Someone else's echo reply: valid ICMP, not our magic. */
	buf[28] ^= 0xff;
	buf[22] = buf[23] = 0;
	{
		uint16_t ck = wire_cksum(buf + 20, HC_ICMP_LEN);

		buf[22] = (uint8_t)(ck >> 8);
		buf[23] = (uint8_t)ck;
	}
	ck_assert_int_eq(hc_parse(buf, HC_PKT_LEN, &got, &s, &d), -ENOENT);
}
END_TEST

START_TEST(test_only_the_check_in_flight_is_answered)
{
	struct hc_plan p;
	struct hc_inflight f = { .used = true, .seq = 77,
				 .nonce = probe.nonce, .sent_ns = probe.sent_ns };
	struct hc_probe q = probe;
	struct in_addr s, d;
	uint8_t buf[HC_PKT_LEN];
	uint32_t self = probe.origin;

	plan(EDGE_HC_REQUEST, EDGE_HC_BIDIRECTIONAL, &p);
	answer_of(&p, buf);
	ck_assert_int_eq(hc_parse(buf, sizeof(buf), &q, &s, &d), 0);
	ck_assert(hc_answers(&f, &p, self, 0, &q, s, d, 0));
	/* Through another tunnel, or outside every tunnel: no. */
	ck_assert(!hc_answers(&f, &p, self, 0, &q, s, d, 1));
	ck_assert(!hc_answers(&f, &p, self, 0, &q, s, d, HC_NOT_TUNNEL));
	/* Another server's check: not ours to count (it is relayed). */
	ck_assert(!hc_answers(&f, &p, self + 4, 0, &q, s, d, 0));
	/* From the wrong address. */
	ck_assert(!hc_answers(&f, &p, self, 0, &q, d, s, 0));
	/* Forged nonce, stale sequence, already answered. */
	q.nonce ^= 1;
	ck_assert(!hc_answers(&f, &p, self, 0, &q, s, d, 0));
	q.nonce ^= 1;
	q.seq = 76;
	ck_assert(!hc_answers(&f, &p, self, 0, &q, s, d, 0));
	q.seq = 77;
	f.used = false;
	ck_assert(!hc_answers(&f, &p, self, 0, &q, s, d, 0));
	/* Unidirectional answers come back outside the tunnel. */
	f.used = true;
	plan(EDGE_HC_REPLY, EDGE_HC_UNIDIRECTIONAL, &p);
	answer_of(&p, buf);
	ck_assert_int_eq(hc_parse(buf, sizeof(buf), &q, &s, &d), 0);
	ck_assert(hc_answers(&f, &p, self, 0, &q, s, d, HC_NOT_TUNNEL));
}
END_TEST

START_TEST(test_relay_round_trip)
{
	uint8_t pkt[HC_PKT_LEN], msg[HC_RELAY_HDR + HC_PKT_LEN];
	struct hc_plan p;
	enum hc_relay_kind kind = HC_RELAY_SEND;
	uint32_t arrived = 0;
	size_t n;

	plan(EDGE_HC_REPLY, EDGE_HC_BIDIRECTIONAL, &p);
	hc_build(&p, &probe, pkt);
	n = hc_relay_build(HC_RELAY_ANSWER, 3, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_uint_eq(n, sizeof(msg));
	ck_assert_int_eq(hc_relay_parse(msg, n, &kind, &arrived), HC_RELAY_HDR);
	ck_assert_int_eq(kind, HC_RELAY_ANSWER);
	ck_assert_uint_eq(arrived, 3);
	ck_assert_int_eq(memcmp(msg + HC_RELAY_HDR, pkt, sizeof(pkt)), 0);
	ck_assert_uint_eq(hc_relay_build(HC_RELAY_ANSWER, 3, pkt, sizeof(pkt), msg, 20), 0);
	msg[0] ^= 1;
	ck_assert_int_eq(hc_relay_parse(msg, n, &kind, &arrived), -EINVAL);
	ck_assert_int_eq(hc_relay_parse(msg, 10, &kind, &arrived), -EINVAL);
}
END_TEST

/* A check a pinned server asks the negotiator to send for it: its own
 * magic, so that neither kind is ever taken for the other. */
START_TEST(test_relay_send_kind_round_trips_and_is_not_an_answer)
{
	uint8_t pkt[HC_PKT_LEN], msg[HC_RELAY_HDR + HC_PKT_LEN];
	struct hc_plan p;
	enum hc_relay_kind kind = HC_RELAY_ANSWER;
	uint32_t tunnel = 0;
	size_t n;

	plan(EDGE_HC_REPLY, EDGE_HC_BIDIRECTIONAL, &p);
	hc_build(&p, &probe, pkt);
	n = hc_relay_build(HC_RELAY_SEND, 7, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_uint_eq(n, sizeof(msg));
	ck_assert_uint_eq(wire_get_be32(msg), HC_RELAY_SEND_MAGIC);
	ck_assert_int_eq(hc_relay_parse(msg, n, &kind, &tunnel), HC_RELAY_HDR);
	ck_assert_int_eq(kind, HC_RELAY_SEND);
	ck_assert_uint_eq(tunnel, 7);
	ck_assert_int_eq(memcmp(msg + HC_RELAY_HDR, pkt, sizeof(pkt)), 0);
	/* An answer's header is not a send's. */
	n = hc_relay_build(HC_RELAY_ANSWER, 7, pkt, sizeof(pkt), msg, sizeof(msg));
	ck_assert_int_eq(hc_relay_parse(msg, n, &kind, &tunnel), HC_RELAY_HDR);
	ck_assert_int_eq(kind, HC_RELAY_ANSWER);
}
END_TEST

/* Issue 10's lateness rule, edge side: the kernel's receive time decides,
 * and the RTT is measured to it, not to when the loop read the answer. */
START_TEST(test_answers_are_judged_by_the_kernels_receive_time)
{
	struct hc_inflight f = { .used = true, .seq = 1, .sent_ns = 5000000000u };
	uint32_t rtt = 0;

	ck_assert(hc_in_time(&f, f.sent_ns + 12345000u, 250, &rtt));
	ck_assert_uint_eq(rtt, 12345);
	/* Exactly at the timeout still counts; a microsecond later not. */
	ck_assert(hc_in_time(&f, f.sent_ns + 250000000u, 250, &rtt));
	ck_assert(!hc_in_time(&f, f.sent_ns + 250001000u, 250, &rtt));
	ck_assert_uint_eq(rtt, 250001);
	/* Received before the send (clock step): on time, RTT 0. */
	ck_assert(hc_in_time(&f, f.sent_ns - 1000u, 250, &rtt));
	ck_assert_uint_eq(rtt, 0);
}
END_TEST

static Suite *
edge_hcpkt_suite(void)
{
	Suite *s = suite_create("edge_hcpkt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_request_bidirectional_uses_interface_addresses);
	tcase_add_test(tc, test_reply_bidirectional_is_an_echo_reply_to_ourselves);
	tcase_add_test(tc, test_request_unidirectional_uses_public_addresses);
	tcase_add_test(tc, test_reply_unidirectional_is_forwarded_unchanged);
	tcase_add_test(tc, test_build_and_parse_round_trip);
	tcase_add_test(tc, test_parse_refuses_what_is_not_an_answer);
	tcase_add_test(tc, test_only_the_check_in_flight_is_answered);
	tcase_add_test(tc, test_relay_round_trip);
	tcase_add_test(tc, test_relay_send_kind_round_trips_and_is_not_an_answer);
	tcase_add_test(tc, test_answers_are_judged_by_the_kernels_receive_time);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_hcpkt_suite)
