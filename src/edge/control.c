/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "edge/control.h"
#include "edge/edge_view.h"
#include "lib/ctl_server.h"
#include "lib/log.h"

struct edge_control {
	struct ctl_server *server;
	struct edge *edge;
};

#define EDGE_VIEW_CMD(fn, view) \
static bool \
fn(void *arg, const struct ctl_request *req, bool json, FILE *out) \
{ \
	(void)req; \
	view(((struct edge_control *)arg)->edge, json, out); \
	return true; \
}
EDGE_VIEW_CMD(cmd_status, edge_view_status)
EDGE_VIEW_CMD(cmd_tunnels, edge_view_tunnels)
EDGE_VIEW_CMD(cmd_routes, edge_view_routes)
EDGE_VIEW_CMD(cmd_firewall, edge_view_firewall)

static bool
cmd_flow(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	return edge_view_flow(((struct edge_control *)arg)->edge, req, json, out);
}

static bool
cmd_metrics(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	(void)req;
	(void)json;
	edge_view_metrics(((struct edge_control *)arg)->edge, out);
	return true;
}

static bool
cmd_reload(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct edge *e = ((struct edge_control *)arg)->edge;

	(void)req;
	return ctl_reply_reload(out, json, e->conf_path, edge_reload(e, out));
}

/* Privileges are checked once, by ctl_command_dispatch. */
static const struct ctl_command edge_cmds[] = {
	{ "status", cmd_status, "this server and its counters", CTL_ANYONE },
	{ "tunnels", cmd_tunnels, "tunnels: health state, checks, traffic",
	  CTL_ANYONE },
	{ "routes", cmd_routes, "routes, effective priorities, ECMP sets",
	  CTL_ANYONE },
	{ "firewall", cmd_firewall, "firewall rules and their counters",
	  CTL_ANYONE },
	{ "flow", cmd_flow, "the tunnel the hash picks", CTL_ANYONE },
	{ "metrics", cmd_metrics, "Prometheus text", CTL_ANYONE },
	{ "reload", cmd_reload, "re-read the configuration", CTL_PRIVILEGED },
	{ "log-level", ctl_command_log_level, "show or set the log level",
	  CTL_PRIVILEGED_TO_SET },
};

static bool
dispatch(void *arg, const struct ctl_request *req, uid_t uid, FILE *out)
{
	return ctl_command_dispatch(edge_cmds,
				    sizeof(edge_cmds) / sizeof(edge_cmds[0]),
				    arg, req, uid, "tunsteer-edge", out);
}

struct edge_control *
edge_control_listen(struct event_base *base, const char *path, struct edge *e)
{
	struct edge_control *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		log_warnx("ctl", "out of memory");
		return NULL;
	}
	c->edge = e;
	if ((c->server = ctl_server_listen(base, path, dispatch, c)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
edge_control_close(struct edge_control *c)
{
	if (c == NULL)
		return;
	ctl_server_close(c->server);
	free(c);
}
