/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of the control protocol (ctl_proto.h), for tunsteerctl
 * and tunsteer-edge's client mode: one request, one reply, printed.
 */
#ifndef TUNSTEER_CTL_CLIENT_H
#define TUNSTEER_CTL_CLIENT_H

#include <stdbool.h>

/* Exit statuses of a client run. */
enum {
	CTL_EXIT_OK = 0,	/* the server answered "ok" */
	CTL_EXIT_ERROR = 1,	/* it answered "error", or could not be reached */
	CTL_EXIT_USAGE = 2,	/* the request cannot be sent */
};

struct ctl_client {
	const char *sock;	/* the server's socket */
	const char *server;	/* the server program, for "is … running?" */
	bool json;		/* add "--json" to the request */
};

/*
 * Send @argv (the command and its arguments) to @c->sock and print the
 * reply: to stdout when the server says ok, to stderr otherwise.  Errors
 * are logged.  Returns one of the CTL_EXIT_* statuses.
 */
int ctl_client_run(const struct ctl_client *c, int argc, char **argv);

#endif
