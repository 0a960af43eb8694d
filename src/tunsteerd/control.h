/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's control commands: a table of {name, function, help} served
 * on lib's ctl_server (protocol: ctl_proto.h).  Views anyone who can open
 * the socket (mode 0600: root) may ask; `reload` and setting the log
 * level also need the peer (SO_PEERCRED) to be root or the daemon's uid.
 */
#ifndef TUNSTEER_CONTROL_H
#define TUNSTEER_CONTROL_H

#include <event2/event.h>
#include <stdio.h>

#include "tunsteerd/engine.h"

struct control;

/* Listen on @path (replacing a stale socket file) and answer from @e;
 * `reload` re-reads @conf_path.  NULL on failure, logged. */
struct control *control_listen(struct event_base *base, const char *path,
			       struct engine *e, const char *conf_path);
/* Re-read the config file (`reload`, SIGHUP) as engine_load(), its
 * reasons for a refusal written to @out (NULL: only logged), told to the
 * service manager as RELOADING=1 before and READY=1 after, failed or
 * not (daemon_notify_reloading()).  Returns engine_load()'s result. */
int control_reload(struct control *c, FILE *out);
/* While a `reload` command runs, the stream its answer goes to, for
 * reasons a load is refused that the engine cannot tell (its prepare
 * stage returns only an errno); else NULL. */
FILE *control_reload_out(const struct control *c);
/* After `log-level LEVEL` changed the level, @fn(@arg) is called (IKE
 * passes it on to charon: ipsec_log_level_changed()).  NULL: nothing. */
void control_set_log_hook(struct control *c, void (*fn)(void *arg),
			  void *arg);
/* `rekey TUNNEL` calls @fn(@arg, TUNNEL): 0 once asked, -ENOENT (no such
 * ipsec tunnel) or -ENOTCONN (no CHILD SA installed); ipsec_rekey(). */
void control_set_rekey_hook(struct control *c,
			    int (*fn)(void *arg, const char *tunnel), void *arg);
/* Close and unlink the socket. */
void control_close(struct control *c);

#endif
