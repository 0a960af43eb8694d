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
	CTL_EXIT_TIMEOUT = 3,	/* no answer within the timeout */
};

/* A wedged server must not hang its client (nor a script calling it). */
#define CTL_CLIENT_TIMEOUT_S 10

struct ctl_client {
	const char *prog;	/* the client program, leading its messages */
	const char *sock;	/* the server's socket */
	const char *server;	/* the server program, for "is … running?" */
	unsigned timeout_s;	/* connect to answer; 0: wait for ever */
	bool json;		/* add "--json" to the request */
};

/* Parse a -t/--timeout argument: whole seconds, 0 for no limit.
 * Returns 0 or -EINVAL. */
int ctl_client_parse_timeout(const char *arg, unsigned *secs)
	__attribute__((warn_unused_result));

/*
 * Send @argv (the command and its arguments) to @c->sock and print the
 * reply: to stdout when the server says ok, to stderr otherwise.  Errors
 * are logged.  When the whole exchange, from connect() (which waits when
 * the server's queue is full) to the last byte of the reply, takes longer
 * than @c->timeout_s, prints "PROG: no answer from SERVER on SOCK within
 * N s" and returns CTL_EXIT_TIMEOUT.  Returns one of the CTL_EXIT_*
 * statuses.
 */
int ctl_client_run(const struct ctl_client *c, int argc, char **argv);

/*
 * ctl_client_run() without the printing: on CTL_EXIT_OK an answer came,
 * *@ok says whether it was "ok" or "error" and *@reply (the caller frees
 * it) holds its text.  Any other status is ctl_client_run()'s for a
 * request that got no answer, its message printed as there.
 */
int ctl_client_call(const struct ctl_client *c, int argc, char **argv,
		    char **reply, bool *ok)
	__attribute__((warn_unused_result));

#endif
