/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "tunsteerd/ctl.h"
#include "lib/ctl_proto.h"
#include "lib/log.h"

struct ctl {
	struct evconnlistener *listener;
	struct engine *engine;
	char *path;
	char *conf_path;
};

struct ctl_conn {
	struct ctl *ctl;
	struct bufferevent *bev;
	uid_t uid;
};

/* A reply is built in a memstream and sent as one frame. */
static void
reply(struct ctl_conn *cc, bool ok, const char *text, size_t len)
{
	uint8_t hdr[4];
	const char *status = ok ? "ok\n" : "error\n";
	size_t slen = strlen(status);

	ctl_frame_header(hdr, (uint32_t)(slen + len));
	bufferevent_write(cc->bev, hdr, sizeof(hdr));
	bufferevent_write(cc->bev, status, slen);
	bufferevent_write(cc->bev, text, len);
}

static bool
has_flag(const struct ctl_request *req, const char *flag)
{
	for (int i = 1; i < req->argc; i++)
		if (strcmp(req->argv[i], flag) == 0)
			return true;
	return false;
}

static void
dispatch(struct ctl_conn *cc, const struct ctl_request *req)
{
	struct engine *e = cc->ctl->engine;
	bool json = has_flag(req, "--json"), ok = true;
	const char *cmd = req->argv[0];
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL) {
		reply(cc, false, "out of memory\n", 14);
		return;
	}
	if (strcmp(cmd, "status") == 0) {
		engine_view_status(e, json, out);
	} else if (strcmp(cmd, "tunnels") == 0) {
		engine_view_tunnels(e, json, out);
	} else if (strcmp(cmd, "egress") == 0) {
		engine_view_egress(e, json, out);
	} else if (strcmp(cmd, "reload") == 0) {
		if (cc->uid != 0 && cc->uid != geteuid()) {
			fprintf(out, "reload: permission denied\n");
			ok = false;
		} else if (engine_load(e, cc->ctl->conf_path, out) < 0) {
			fprintf(out, "reload failed; the running config is unchanged\n");
			ok = false;
		} else {
			fprintf(out, json ? "{\"reloaded\":true}\n" : "reloaded %s\n",
				cc->ctl->conf_path);
		}
	} else if (strcmp(cmd, "log-level") == 0) {
		enum log_level lvl;
		const char *want = req->argc > 1 && req->argv[1][0] != '-' ?
				   req->argv[1] : NULL;

		if (want && cc->uid != 0 && cc->uid != geteuid()) {
			fprintf(out, "log-level: permission denied\n");
			ok = false;
		} else if (want && log_level_parse(want, &lvl) < 0) {
			fprintf(out, "log-level: unknown level '%s' "
				"(err, warn, notice, info, debug)\n", want);
			ok = false;
		} else {
			if (want) {
				log_set_level(lvl);
				log_notice("ctl", "log level set to %s", want);
			}
			fprintf(out, json ? "{\"log_level\":\"%s\"}\n" : "%s\n",
				log_level_name(log_get_level()));
		}
	} else {
		fprintf(out, "unknown command '%s'\n", cmd);
		ok = false;
	}
	fclose(out);
	reply(cc, ok, text ? text : "", text ? len : 0);
	free(text);
}

static void
conn_free(struct ctl_conn *cc)
{
	bufferevent_free(cc->bev);
	free(cc);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	/* The reply is out: one request per connection. */
	conn_free(arg);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4], buf[CTL_MAX_REQUEST];
	struct ctl_request req;
	uint32_t len;
	int err;

	if (evbuffer_get_length(in) < 4)
		return;
	evbuffer_copyout(in, hdr, 4);
	len = ctl_frame_len(hdr);
	if (len == 0 || len > CTL_MAX_REQUEST) {
		log_warnx("ctl", "request of %u bytes refused", len);
		reply(cc, false, "request too large\n", 18);
		bufferevent_disable(bev, EV_READ);
		return;
	}
	if (evbuffer_get_length(in) < 4 + (size_t)len)
		return;
	evbuffer_drain(in, 4);
	evbuffer_remove(in, buf, len);
	bufferevent_disable(bev, EV_READ);
	if ((err = ctl_request_parse(buf, len, &req)) < 0) {
		reply(cc, false, "malformed request\n", 18);
		return;
	}
	log_debug("ctl", "request '%s' from uid %u", req.argv[0], (unsigned)cc->uid);
	dispatch(cc, &req);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	/* libevent only disables reading on a timeout: without the free a
	 * silent client would hold its descriptor for ever. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int socklen, void *arg)
{
	struct ctl *c = arg;
	struct ctl_conn *cc = calloc(1, sizeof(*cc));
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (cc == NULL) {
		close(fd);
		return;
	}
	cc->ctl = c;
	cc->uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		cc->uid = cred.uid;
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
					 BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL) {
		close(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, conn_read_cb, conn_write_cb, conn_event_cb, cc);
	/* A slow or silent client cannot hold a connection for long. */
	bufferevent_set_timeouts(cc->bev, &(struct timeval){ 5, 0 },
				 &(struct timeval){ 5, 0 });
	bufferevent_enable(cc->bev, EV_READ);
}

struct ctl *
ctl_listen(struct event_base *base, const char *path, struct engine *e,
	   const char *conf_path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl *c;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("ctl", "%s: socket path too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->engine = e;
	c->path = strdup(path);
	c->conf_path = strdup(conf_path);
	if (c->path == NULL || c->conf_path == NULL)
		goto fail;
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("ctl", "unlink %s", path);
		goto fail;
	}
	old = umask(0177);	/* the socket is created 0600 */
	c->listener = evconnlistener_new_bind(base, accept_cb, c,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
		(struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (c->listener == NULL) {
		log_warn("ctl", "listen on %s", path);
		goto fail;
	}
	return c;
fail:
	free(c->path);
	free(c->conf_path);
	free(c);
	return NULL;
}

void
ctl_close(struct ctl *c)
{
	if (c == NULL)
		return;
	evconnlistener_free(c->listener);
	unlink(c->path);
	free(c->path);
	free(c->conf_path);
	free(c);
}
