/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "lib/ctl_server.h"
#include "lib/log.h"

/* A whole request must arrive within this from accept, however it
 * trickles in; then the reply must make progress at least this often. */
#define CTL_REQUEST_DEADLINE_S 5
#define CTL_WRITE_TIMEOUT_S 5
/* After accept() fails (out of descriptors), wait this long before the
 * next try, unless one of our connections closes first. */
#define CTL_ACCEPT_PAUSE_S 1

static const struct timeval request_deadline = { CTL_REQUEST_DEADLINE_S, 0 };
static const struct timeval accept_pause = { CTL_ACCEPT_PAUSE_S, 0 };

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) entry;
	struct ctl_server *s;
	struct bufferevent *bev;
	struct event *deadline;	/* until the request is complete */
	uid_t uid;
};

struct ctl_server {
	struct evconnlistener *listener;
	struct event *resume;	/* re-enables a paused listener, then ends
				 * the episode after a quiet pause */
	TAILQ_HEAD(, ctl_conn) conns;
	size_t n_conns;
	unsigned long refused;	/* accept() failures in this episode */
	bool paused;
	ctl_dispatch_fn fn;
	void *arg;
	char *path;
	int lock_fd;		/* PATH.lock, flock()ed while we run */
};

bool
ctl_request_has_flag(const struct ctl_request *req, const char *flag)
{
	for (int i = 1; i < req->argc; i++)
		if (strcmp(req->argv[i], flag) == 0)
			return true;
	return false;
}

const char *
ctl_request_value(const struct ctl_request *req)
{
	return req->argc > 1 && req->argv[1][0] != '-' ? req->argv[1] : NULL;
}

bool
ctl_command_dispatch(const struct ctl_command *cmds, size_t n, void *arg,
		     const struct ctl_request *req, uid_t uid, const char *prog,
		     FILE *out)
{
	const char *cmd = req->argv[0];
	bool root = uid == 0 || uid == geteuid();

	for (size_t i = 0; i < n; i++) {
		const struct ctl_command *c = &cmds[i];

		if (strcmp(cmd, c->name) != 0)
			continue;
		if (!root && (c->access == CTL_PRIVILEGED ||
			      (c->access == CTL_PRIVILEGED_TO_SET &&
			       ctl_request_value(req) != NULL))) {
			fprintf(out, "%s: permission denied\n", c->name);
			return false;
		}
		return c->run(arg, req, ctl_request_has_flag(req, "--json"), out);
	}
	if (prog)
		fprintf(out, "unknown command '%s' (see %s --help)\n", cmd, prog);
	else
		fprintf(out, "unknown command '%s'\n", cmd);
	return false;
}

bool
ctl_reply_reload(FILE *out, bool json, const char *path, bool ok)
{
	if (!ok)
		fprintf(out, "reload failed; the running config is unchanged\n");
	else
		fprintf(out, json ? "{\"reloaded\":true}\n" : "reloaded %s\n", path);
	return ok;
}

bool
ctl_command_log_level(void *arg, const struct ctl_request *req, bool json,
		      FILE *out)
{
	const char *want = ctl_request_value(req);
	enum log_level lvl;

	(void)arg;
	if (want && log_level_parse(want, &lvl) < 0) {
		fprintf(out, "log-level: unknown level '%s' (" LOG_LEVEL_NAMES
			")\n", want);
		return false;
	}
	if (want) {
		log_set_level(lvl);
		log_notice("ctl", "log level set to %s", want);
	}
	fprintf(out, json ? "{\"log_level\":\"%s\"}\n" : "%s\n",
		log_level_name(log_get_level()));
	return true;
}

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

static void
listener_resume(struct ctl_server *s)
{
	if (!s->paused)
		return;
	s->paused = false;
	evconnlistener_enable(s->listener);
	/* If accept() does not fail again before this fires, the episode
	 * is over (resume_cb). */
	evtimer_add(s->resume, &accept_pause);
}

static void
conn_free(struct ctl_conn *cc)
{
	struct ctl_server *s = cc->s;

	TAILQ_REMOVE(&s->conns, cc, entry);
	s->n_conns--;
	event_free(cc->deadline);
	bufferevent_free(cc->bev);
	free(cc);
	/* Its descriptor is free now: a paused listener may try again. */
	listener_resume(s);
}

/* No more reading: the request is complete or refused, and the deadline
 * no longer applies (the reply has the write timeout). */
static void
conn_stop_reading(struct ctl_conn *cc)
{
	bufferevent_disable(cc->bev, EV_READ);
	event_del(cc->deadline);
}

static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn *cc = arg;

	log_info("ctl", "request from uid %u incomplete after %d s; closed",
		 (unsigned)cc->uid, CTL_REQUEST_DEADLINE_S);
	conn_free(cc);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	conn_free(arg);		/* the reply is out: one per connection */
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4], buf[CTL_MAX_REQUEST];
	struct ctl_request req;
	char *text = NULL;
	size_t len = 0;
	uint32_t n;
	FILE *out;
	bool ok;

	if (evbuffer_get_length(in) < 4)
		return;
	evbuffer_copyout(in, hdr, 4);
	n = ctl_frame_len(hdr);
	if (n == 0) {
		reply(cc, false, "empty request\n", 14);
		conn_stop_reading(cc);
		return;
	}
	if (n > CTL_MAX_REQUEST) {
		log_warnx("ctl", "request of %u bytes refused", n);
		reply(cc, false, "request too large\n", 18);
		conn_stop_reading(cc);
		return;
	}
	if (evbuffer_get_length(in) < 4 + (size_t)n)
		return;
	evbuffer_drain(in, 4);
	evbuffer_remove(in, buf, n);
	conn_stop_reading(cc);
	if (ctl_request_parse(buf, n, &req) < 0) {
		reply(cc, false, "malformed request\n", 18);
		return;
	}
	log_debug("ctl", "request '%s' from uid %u", req.argv[0], (unsigned)cc->uid);
	if ((out = open_memstream(&text, &len)) == NULL) {
		reply(cc, false, "out of memory\n", 14);
		return;
	}
	ok = cc->s->fn(cc->s->arg, &req, cc->uid, out);
	fclose(out);
	reply(cc, ok, text ? text : "", text ? len : 0);
	free(text);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
	  int socklen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct ctl_server *s = arg;
	struct ctl_conn *cc;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	cc->s = s;
	cc->uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		cc->uid = cred.uid;
	cc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	cc->deadline = evtimer_new(base, conn_deadline_cb, cc);
	if (cc->bev == NULL || cc->deadline == NULL) {
		log_warnx("ctl", "out of memory for a connection");
		if (cc->deadline)
			event_free(cc->deadline);
		if (cc->bev)
			bufferevent_free(cc->bev);
		else
			close(fd);
		free(cc);
		return;
	}
	bufferevent_setcb(cc->bev, conn_read_cb, conn_write_cb, conn_event_cb, cc);
	/* A silent, slow or trickling client cannot hold a connection for
	 * long: the request has a deadline from accept (an idle timeout
	 * would restart with every byte), the reply a write timeout. */
	bufferevent_set_timeouts(cc->bev, NULL,
				 &(struct timeval){ CTL_WRITE_TIMEOUT_S, 0 });
	evtimer_add(cc->deadline, &request_deadline);
	bufferevent_enable(cc->bev, EV_READ);
	TAILQ_INSERT_TAIL(&s->conns, cc, entry);
	s->n_conns++;
}

/*
 * accept() failed with what libevent does not retry by itself: out of
 * descriptors (EMFILE, ENFILE) or memory.  The connection stays queued,
 * so the listener would be woken again at once and spin; pause it until
 * one of our connections closes or CTL_ACCEPT_PAUSE_S passes.  Logged
 * once per episode.
 */
static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct ctl_server *s = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (s->refused++ == 0)
		log_warnx("ctl", "accept: %s; pausing new connections (%zu open)",
			  strerror(err), s->n_conns);
	s->paused = true;
	evconnlistener_disable(s->listener);
	evtimer_add(s->resume, &accept_pause);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;

	(void)fd;
	(void)what;
	if (s->paused) {
		listener_resume(s);
	} else if (s->refused) {
		log_notice("ctl", "accepting connections again (%lu attempts "
			   "refused)", s->refused);
		s->refused = 0;
	}
}

size_t
ctl_server_connections(const struct ctl_server *s)
{
	return s->n_conns;
}

/*
 * The directory the socket lives in must be ours: owned by root or by us
 * and writable by nobody else, or someone else could put their socket (or
 * a link) where our clients look for us.
 */
static int
check_rundir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) != 0) {
		log_warn("ctl", "run directory %s", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warnx("ctl", "run directory %s (owner %u, mode %04o) must be owned "
			  "by root or uid %u and writable by no one else",
			  dir, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
			  (unsigned int)geteuid());
		return -1;
	}
	return 0;
}

/*
 * One instance per socket: PATH.lock, held with flock() for our lifetime
 * (the kernel drops it when we die, kill -9 included), names our pid.  A
 * second instance is refused with the first one's pid, before it touches
 * the socket or the kernel.
 */
static int
take_lock(const char *path)
{
	char lock[sizeof(((struct sockaddr_un *)0)->sun_path) + 8], pid[32] = "";
	int fd;
	ssize_t n;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warn("ctl", "%s", lock);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			log_warnx("ctl", "%s: already in use by a running instance (pid %s); "
				  "not starting a second one", path, pid[0] ? pid : "unknown");
		} else {
			log_warn("ctl", "lock %s", lock);
		}
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("ctl", "%s: cannot record our pid", lock);
	return fd;
}

/*
 * Remove what sits at @path only if it is a stale socket: nothing, fine;
 * a socket nobody answers on, removed; a socket someone answers on, or
 * anything that is not a socket (a file, a directory, a link), refused.
 */
static int
clear_stale_socket(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : (log_warn("ctl", "%s", path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("ctl", "%s exists and is not a socket; not removing it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("ctl", "socket");
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		log_warnx("ctl", "%s: something is listening on it; not replacing it", path);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("ctl", "unlink %s", path);
		return -1;
	}
	return 0;
}

struct ctl_server *
ctl_server_listen(struct event_base *base, const char *path, ctl_dispatch_fn fn,
		  void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *s;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("ctl", "%s: socket path too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->path = strdup(path)) == NULL)
		goto fail;
	s->lock_fd = -1;
	s->fn = fn;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	if ((s->resume = evtimer_new(base, resume_cb, s)) == NULL)
		goto fail;
	if (check_rundir(path) < 0 || (s->lock_fd = take_lock(path)) < 0 ||
	    clear_stale_socket(path, &sun) < 0)
		goto fail;
	old = umask(0177);	/* the socket is created 0600 */
	s->listener = evconnlistener_new_bind(base, accept_cb, s,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
		(struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (s->listener == NULL) {
		log_warn("ctl", "listen on %s", path);
		goto fail;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	return s;
fail:
	if (s) {
		if (s->resume)
			event_free(s->resume);
		if (s->lock_fd >= 0)
			close(s->lock_fd);
		free(s->path);
	}
	free(s);
	return NULL;
}

void
ctl_server_close(struct ctl_server *s)
{
	if (s == NULL)
		return;
	/* The listener goes first, so freeing a connection resumes nothing. */
	evconnlistener_free(s->listener);
	s->paused = false;
	while (!TAILQ_EMPTY(&s->conns))
		conn_free(TAILQ_FIRST(&s->conns));
	event_free(s->resume);
	unlink(s->path);
	/* The lock file stays: unlinking it would let a starting instance
	 * lock an inode nobody else can find. */
	close(s->lock_fd);
	free(s->path);
	free(s);
}
