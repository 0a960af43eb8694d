/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's control commands: a table of {name, function, help}
 * served on lib's ctl_server (protocol: ctl_proto.h), as tunsteerd's
 * control.c does.  Views anyone who can open the socket (mode 0600:
 * root) may ask; `reload` and setting the log level also need the peer
 * (SO_PEERCRED) to be root or the daemon's uid.
 */
#ifndef TUNSTEER_EDGE_CONTROL_H
#define TUNSTEER_EDGE_CONTROL_H

#include <event2/event.h>

#include "edge/edge.h"

struct edge_control;

/* Listen on @path (replacing only a stale socket; one instance per socket,
 * see ctl_server.h) and answer from @e, which need not be started yet:
 * nothing is answered before the loop runs.  `reload` re-reads
 * e->conf_path.  NULL on failure, logged. */
struct edge_control *edge_control_listen(struct event_base *base,
					 const char *path, struct edge *e);
/* Close and unlink the socket. */
void edge_control_close(struct edge_control *c);

#endif
