/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol codec: what tunsteerctl sends parses back to the
 * same arguments, and every malformed request is refused, never read past
 * its end.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl_proto.h"
#include "testlib.h"

START_TEST(test_request_round_trips_command_and_arguments)
{
	char *argv[] = { "log-level", "debug", "--json" };
	uint8_t buf[CTL_MAX_REQUEST];
	struct ctl_request req;
	int n = ctl_request_format(3, argv, buf, sizeof(buf));

	ck_assert_int_eq(n, (int)strlen("log-level\ndebug\n--json\n"));
	ck_assert_int_eq(ctl_request_parse(buf, (size_t)n, &req), 0);
	ck_assert_int_eq(req.argc, 3);
	ck_assert_str_eq(req.argv[0], "log-level");
	ck_assert_str_eq(req.argv[1], "debug");
	ck_assert_str_eq(req.argv[2], "--json");
}
END_TEST

START_TEST(test_frame_header_is_big_endian_length)
{
	uint8_t hdr[4];

	ctl_frame_header(hdr, 0x01020304);
	ck_assert_int_eq(hdr[0], 1);
	ck_assert_int_eq(hdr[3], 4);
	ck_assert_uint_eq(ctl_frame_len(hdr), 0x01020304);
}
END_TEST

static int
parse(const char *s, size_t len)
{
	struct ctl_request req;

	return ctl_request_parse((const uint8_t *)s, len, &req);
}

START_TEST(test_malformed_requests_are_refused)
{
	char big[CTL_MAX_REQUEST + 2];
	char longarg[CTL_MAX_ARG + 2];
	char many[CTL_MAX_ARGS * 2 + 3];

	ck_assert_int_eq(parse("", 0), -EINVAL);
	ck_assert_int_eq(parse("status\n\n", 8), -EINVAL);	/* empty arg */
	ck_assert_int_eq(parse("sta\0us", 6), -EINVAL);		/* NUL */
	ck_assert_int_eq(parse("st\x01tus", 6), -EINVAL);	/* control */
	ck_assert_int_eq(parse("st\xfftus", 6), -EINVAL);	/* not ASCII */
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(parse(big, sizeof(big)), -EMSGSIZE);
	memset(longarg, 'a', sizeof(longarg));
	ck_assert_int_eq(parse(longarg, CTL_MAX_ARG), -EMSGSIZE);
	ck_assert_int_eq(parse(longarg, CTL_MAX_ARG - 1), 0);
	for (size_t i = 0; i < sizeof(many) - 1; i += 2) {
		many[i] = 'x';
		many[i + 1] = '\n';
	}
	ck_assert_int_eq(parse(many, CTL_MAX_ARGS * 2), 0);
	ck_assert_int_eq(parse(many, CTL_MAX_ARGS * 2 + 1), -EMSGSIZE);
	/* No trailing newline is fine. */
	ck_assert_int_eq(parse("status", 6), 0);
}
END_TEST

/* Every prefix of every byte pattern: refused or parsed, never a crash
 * (ASan watches the reads). */
START_TEST(test_parser_never_reads_past_the_request)
{
	static const char seed[] = "tunnels\n--json\nx\n";
	uint8_t *buf;

	for (size_t len = 0; len <= sizeof(seed); len++) {
		for (unsigned b = 0; b < 256; b += 7) {
			buf = malloc(len + 1);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf, seed, len);
			if (len)
				buf[len - 1] = (uint8_t)b;
			(void)parse((const char *)buf, len);
			free(buf);
		}
	}
}
END_TEST

static Suite *
ctl_proto_suite(void)
{
	Suite *s = suite_create("ctl_proto");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_request_round_trips_command_and_arguments);
	tcase_add_test(tc, test_frame_header_is_big_endian_length);
	tcase_add_test(tc, test_malformed_requests_are_refused);
	tcase_add_test(tc, test_parser_never_reads_past_the_request);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ctl_proto_suite)
