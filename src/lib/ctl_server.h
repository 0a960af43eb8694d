/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A control-socket server for any program (protocol: ctl_proto.h): one
 * request and one reply per connection; the program's dispatch function
 * writes the reply text.  The one server of tunsteerd (control.c) and
 * tunsteer-edge.  A program may dispatch through a table of commands
 * (ctl_command_dispatch), which checks the peer's privilege once, before
 * the command runs.  The client side is ctl_client.h.
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
/* Close and unlink the socket; connections still open are closed. */
void ctl_server_close(struct ctl_server *s);
/* How many connections are open (accepted, not yet answered or let go). */
size_t ctl_server_connections(const struct ctl_server *s);

/* Does @req carry @flag (e.g. "--json") after the command? */
bool ctl_request_has_flag(const struct ctl_request *req, const char *flag);
/* The command's first argument if it is a value (not a "-" flag), or
 * NULL: "log-level debug" → "debug". */
const char *ctl_request_value(const struct ctl_request *req);

/* Who may run a command.  Anyone who can open the socket (mode 0600:
 * root, or whoever the daemon runs as) may look; changing something also
 * needs the peer's SO_PEERCRED uid to be 0 or the daemon's own. */
enum ctl_access {
	CTL_ANYONE,
	CTL_PRIVILEGED,
	CTL_PRIVILEGED_TO_SET,	/* privileged when given a value */
};

/* One command: @run writes the answer to @out and returns true for "ok";
 * @help is one line for the program's usage. */
struct ctl_command {
	const char *name;
	bool (*run)(void *arg, const struct ctl_request *req, bool json,
		    FILE *out);
	const char *help;
	enum ctl_access access;
};

/*
 * Run @req's command from the @n commands of @cmds for a peer with uid
 * @uid: "unknown command 'X'" if there is none (with " (see PROG --help)"
 * if @prog is not NULL), "NAME: permission denied" if the peer may not,
 * otherwise the command's own answer (with @arg).  Usable as the body of
 * a ctl_dispatch_fn.
 */
bool ctl_command_dispatch(const struct ctl_command *cmds, size_t n, void *arg,
			  const struct ctl_request *req, uid_t uid,
			  const char *prog, FILE *out);

/* The `log-level [LEVEL]` command, the same for every program: shows the
 * level, or sets it (logged) when given one.  @arg is unused. */
bool ctl_command_log_level(void *arg, const struct ctl_request *req,
			   bool json, FILE *out);

/* The end of every program's `reload`: @ok is what re-reading @path gave
 * (its errors are on @out already).  Says so, the same way everywhere,
 * and returns @ok for the command to return. */
bool ctl_reply_reload(FILE *out, bool json, const char *path, bool ok);

#endif
