/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A control-socket server for any program (protocol: ctl_proto.h): one
 * request and one reply per connection; the program's dispatch function
 * writes the reply text.  Used by tunsteer-edge; tunsteerd's ctl.c keeps
 * its own copy of the connection handling for now.  The client side is
 * ctl_client.h.
 */
#ifndef TUNSTEER_CTL_SERVER_H
#define TUNSTEER_CTL_SERVER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <event2/event.h>

#include "lib/ctl_proto.h"

/* Answer @req from a peer with uid @uid by writing to @out; return true
 * for "ok", false for "error". */
typedef bool (*ctl_dispatch_fn)(void *arg, const struct ctl_request *req,
				uid_t uid, FILE *out);

struct ctl_server;

/* Listen on @path (mode 0600, replacing a stale socket file).  NULL on
 * failure, logged. */
struct ctl_server *ctl_server_listen(struct event_base *base, const char *path,
				     ctl_dispatch_fn fn, void *arg);
/* Close and unlink the socket. */
void ctl_server_close(struct ctl_server *s);

/* Does @req carry @flag (e.g. "--json") after the command? */
bool ctl_request_has_flag(const struct ctl_request *req, const char *flag);

#endif
