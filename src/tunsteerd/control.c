/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunsteerd/control.h"
#include "tunsteerd/loopmeter.h"
#include "tunsteerd/metrics.h"
#include "lib/ctl_server.h"
#include "lib/daemon.h"
#include "lib/json.h"
#include "lib/log.h"
#include "tunsteerd/view.h"

struct control {
	struct ctl_server *server;
	struct engine *engine;
	char *conf_path;
	FILE *reload_out;	/* while cmd_reload runs */
	void (*log_hook)(void *arg);
	void *log_hook_arg;
	int (*rekey_hook)(void *arg, const char *tunnel);
	void *rekey_hook_arg;
};

static bool
cmd_status(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;

	(void)req;
	view_status(c->engine, json, out);
	return true;
}

static bool
cmd_tunnels(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;

	(void)req;
	view_tunnels(c->engine, json, out);
	return true;
}

static bool
cmd_egress(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;

	(void)req;
	view_egress(c->engine, json, out);
	return true;
}

/* The Prometheus text the HTTP endpoint serves (for node_exporter's
 * textfile collector); the same with or without --json. */
static bool
cmd_metrics(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;

	(void)req;
	(void)json;
	metrics_print(c->engine, out);
	return true;
}

/* check [POLICY]: the verdict is in the answer (tunsteerctl makes it the
 * exit status); only an unknown policy is an error. */
static bool
cmd_check(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;

	return metrics_check(c->engine, ctl_request_value(req), json, out) >= 0;
}

static bool
cmd_reload(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;
	int err;

	(void)req;
	err = control_reload(c, out);
	return ctl_reply_reload(out, json, c->conf_path, err >= 0);
}

int
control_reload(struct control *c, FILE *out)
{
	int err;

	/* The service manager hears of every reload, a refused one too:
	 * READY=1 again says the daemon runs on, old config or new. */
	(void)daemon_notify_reloading();
	c->reload_out = out;
	err = engine_load(c->engine, c->conf_path, out);
	c->reload_out = NULL;
	(void)daemon_notify("READY=1");
	return err;
}

/* The shared command, then whoever keeps a level of their own (charon's
 * loggers) hears of the change. */
static bool
cmd_log_level(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;
	bool ok = ctl_command_log_level(NULL, req, json, out);

	if (ok && ctl_request_value(req) && c->log_hook)
		c->log_hook(c->log_hook_arg);
	return ok;
}

/* rekey TUNNEL: an ipsec tunnel's CHILD SA, now, make before break. */
static bool
cmd_rekey(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	struct control *c = arg;
	const char *name = ctl_request_value(req);
	int err;

	if (name == NULL) {
		fprintf(out, "rekey: which tunnel? (rekey TUNNEL)\n");
		return false;
	}
	err = c->rekey_hook ? c->rekey_hook(c->rekey_hook_arg, name) : -ENOENT;
	if (err == -ENOENT) {
		fprintf(out, "rekey: no ipsec tunnel called ");
		json_str(out, name);
		fputc('\n', out);
		return false;
	}
	if (err == -ENOTCONN) {
		fprintf(out, "rekey: ");
		json_str(out, name);
		fprintf(out, " has no CHILD SA installed; IKE is bringing one up\n");
		return false;
	}
	if (json) {
		fprintf(out, "{\"tunnel\":");
		json_str(out, name);
		fprintf(out, ",\"rekey\":\"started\"}\n");
	} else {
		fprintf(out, "%s: CHILD SA rekey started (make before break)\n", name);
	}
	return true;
}

/* standby / active: the router's role in an HA pair (engine_set_standby()). */
static bool
set_role(struct control *c, bool standby, bool json, FILE *out)
{
	bool was = engine_standby(c->engine);
	int err = engine_set_standby(c->engine, standby);

	if (json)
		fprintf(out, "{\"role\":\"%s\",\"changed\":%s,\"applied\":%s}\n",
			standby ? "standby" : "active",
			was != standby ? "true" : "false", err ? "false" : "true");
	else
		fprintf(out, "%s%s%s\n", standby ?
			"standby: egress withdrawn; tunnels stay up and probed" :
			"active: egress goes through the tunnels",
			was == standby ? " (already)" : "",
			err ? "; not in the kernel yet, being retried" : "");
	return true;
}

static bool
cmd_standby(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	(void)req;
	return set_role(arg, true, json, out);
}

static bool
cmd_active(void *arg, const struct ctl_request *req, bool json, FILE *out)
{
	(void)req;
	return set_role(arg, false, json, out);
}

static const struct ctl_command control_cmds[] = {
	{ "status", cmd_status, "daemon status and summary", CTL_ANYONE },
	{ "tunnels", cmd_tunnels, "tunnels, their state and counters",
	  CTL_ANYONE },
	{ "egress", cmd_egress, "egress policies and their active tunnels",
	  CTL_ANYONE },
	{ "reload", cmd_reload, "re-read the configuration; on error the old "
	  "one keeps running", CTL_PRIVILEGED },
	{ "log-level", cmd_log_level, "[LEVEL]: show or set the "
	  "daemon's log level", CTL_PRIVILEGED_TO_SET },
	{ "rekey", cmd_rekey, "TUNNEL: rekey an ipsec tunnel's CHILD SA now",
	  CTL_PRIVILEGED },
	{ "standby", cmd_standby, "withdraw egress (HA backup); tunnels stay "
	  "up and probed", CTL_PRIVILEGED },
	{ "active", cmd_active, "egress through the tunnels again (HA master)",
	  CTL_PRIVILEGED },
	{ "metrics", cmd_metrics, "every metric, in Prometheus text format",
	  CTL_ANYONE },
	{ "check", cmd_check, "[POLICY]: does every policy (or POLICY) have "
	  "an up tunnel?", CTL_ANYONE },
};

static bool
control_dispatch(void *arg, const struct ctl_request *req, uid_t uid, FILE *out)
{
	char what[64];
	uint64_t t = loopmeter_span_begin();
	bool ok = ctl_command_dispatch(control_cmds,
				       sizeof(control_cmds) / sizeof(control_cmds[0]),
				       arg, req, uid, NULL, out);

	/* Named only if it is one of ours: a client's bytes are not logged. */
	snprintf(what, sizeof(what), "control request");
	for (size_t i = 0; req->argc > 0 &&
	     i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (strcmp(req->argv[0], control_cmds[i].name) == 0)
			snprintf(what, sizeof(what), "control request %s",
				 control_cmds[i].name);
	loopmeter_span_end(t, what);
	return ok;
}

struct control *
control_listen(struct event_base *base, const char *path, struct engine *e,
	       const char *conf_path)
{
	struct control *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->conf_path = strdup(conf_path)) == NULL) {
		log_warnx("ctl", "out of memory");
		free(c);
		return NULL;
	}
	c->engine = e;
	if ((c->server = ctl_server_listen(base, path, control_dispatch, c)) == NULL) {
		free(c->conf_path);
		free(c);
		return NULL;
	}
	return c;
}

FILE *
control_reload_out(const struct control *c)
{
	return c ? c->reload_out : NULL;
}

void
control_set_rekey_hook(struct control *c,
		       int (*fn)(void *arg, const char *tunnel), void *arg)
{
	c->rekey_hook = fn;
	c->rekey_hook_arg = arg;
}

void
control_set_log_hook(struct control *c, void (*fn)(void *arg), void *arg)
{
	c->log_hook = fn;
	c->log_hook_arg = arg;
}

void
control_close(struct control *c)
{
	if (c == NULL)
		return;
	ctl_server_close(c->server);
	free(c->conf_path);
	free(c);
}
