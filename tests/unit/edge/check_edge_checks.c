/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The health-check sockets as tunsteer-edge opens them: the raw ICMP
 * socket that reads every tunnel's answers has room for a whole
 * interval's worth (it used to keep the kernel's default, 208 KiB, however
 * many tunnels).  Needs CAP_NET_RAW; without it the test says so and
 * passes.
 */
#include "autoconfig.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/edge_checks.h"
#include "edge/edge_config.h"
#include "lib/log.h"
#include "testlib.h"

#define N_TUNNELS 200		/* 200 x 4 KiB: above the default */

static void
health_cb(void *arg, size_t tunnel, enum eh_state old)
{
	(void)arg, (void)tunnel, (void)old;
}

/* The receive buffer of this process's raw IPv4 ICMP socket (-1: none). */
static int
raw_icmp_rcvbuf(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name), v, dom, proto, sz;
		socklen_t l = sizeof(v);

		if (de->d_name[0] == '.' ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) != 0 ||
		    v != SOCK_RAW)
			continue;
		l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) != 0 ||
		    dom != AF_INET)
			continue;
		l = sizeof(proto);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0 ||
		    proto != IPPROTO_ICMP)
			continue;
		l = sizeof(sz);
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &l), 0);
		found = sz;
	}
	closedir(d);
	return found;
}

START_TEST(test_raw_socket_has_room_for_every_tunnels_answer)
{
	struct edge_config c = { .n_tunnels = N_TUNNELS };
	struct event_base *base = event_base_new();
	struct edge_checks *ec;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), err = 0, got;

	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		fprintf(stderr, "check_edge_checks: no CAP_NET_RAW, not tested\n");
		event_base_free(base);
		return;
	}
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* Checks disabled: the sockets open, no timer is armed. */
	c.tunnels = calloc(N_TUNNELS, sizeof(*c.tunnels));
	ck_assert_ptr_nonnull(c.tunnels);
	ec = edge_checks_create(base, &c, health_cb, NULL, &err);
	ck_assert_msg(ec != NULL, "edge_checks_create: %d", err);
	got = raw_icmp_rcvbuf();
	ck_assert_msg(got >= N_TUNNELS * 4096,
		      "SO_RCVBUF %d for %d tunnels, want >= %d", got, N_TUNNELS,
		      N_TUNNELS * 4096);
	edge_checks_destroy(ec);
	free(c.tunnels);
	event_base_free(base);
}
END_TEST

static Suite *
edge_checks_suite(void)
{
	Suite *s = suite_create("edge_checks");
	TCase *tc = tcase_create("sockets");

	tcase_add_test(tc, test_raw_socket_has_room_for_every_tunnels_answer);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(edge_checks_suite)
