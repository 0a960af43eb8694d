/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tunsteer-edge shows on its control socket: the running state of
 * one server (struct edge, owned by src/edge/edge.c) as text,
 * as JSON (--json; field names documented in tunsteer-edge(8)) and as
 * Prometheus text (metrics).
 */
#ifndef TUNSTEER_EDGE_VIEW_H
#define TUNSTEER_EDGE_VIEW_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "lib/ctl_proto.h"
#include "edge/edge.h"

void edge_view_status(struct edge *e, bool json, FILE *out);
void edge_view_tunnels(struct edge *e, bool json, FILE *out);
void edge_view_routes(struct edge *e, bool json, FILE *out);
void edge_view_firewall(struct edge *e, bool json, FILE *out);
void edge_view_metrics(struct edge *e, FILE *out);
/* flow SRC DST [PROTO [SPORT DPORT]]: where the hash sends it.  False
 * (message in @out) on bad arguments. */
bool edge_view_flow(struct edge *e, const struct ctl_request *req, bool json,
		    FILE *out);

#endif
