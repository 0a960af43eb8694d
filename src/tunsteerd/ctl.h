/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's control socket (protocol: ctl_proto.h).  Views anyone who
 * can open the socket (mode 0600: root) may ask; commands that change
 * something also check SO_PEERCRED.
 */
#ifndef TUNSTEER_CTL_H
#define TUNSTEER_CTL_H

#include <event2/event.h>

#include "tunsteerd/engine.h"

struct ctl;

/* Listen on @path (replacing a stale socket file).  NULL on failure,
 * logged. */
struct ctl *ctl_listen(struct event_base *base, const char *path,
		       struct engine *e, const char *conf_path);
/* Close and unlink the socket. */
void ctl_close(struct ctl *c);

#endif
