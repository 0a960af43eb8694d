/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/ctl_client.h"
#include "lib/ctl_proto.h"
#include "lib/log.h"

/* Where the exchange must be over, or 0 for no limit. */
struct deadline {
	struct timespec at;
	bool set;
};

int
ctl_client_parse_timeout(const char *arg, unsigned *secs)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > 86400)
		return -EINVAL;
	*secs = (unsigned)v;
	return 0;
}

/*
 * Bound the next blocking call on @fd (@opt: SO_RCVTIMEO or SO_SNDTIMEO)
 * by what is left until @dl.  Blocking calls, not poll(): whoever looks
 * at a waiting client sees it in read(2).  -ETIMEDOUT when nothing is
 * left.
 */
static int
arm(int fd, int opt, const struct deadline *dl)
{
	struct timespec now;
	struct timeval tv;
	long long left_us;

	if (!dl->set)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left_us = (long long)(dl->at.tv_sec - now.tv_sec) * 1000000 +
		  (dl->at.tv_nsec - now.tv_nsec) / 1000;
	if (left_us <= 0)
		return -ETIMEDOUT;
	tv.tv_sec = (time_t)(left_us / 1000000);
	tv.tv_usec = (suseconds_t)(left_us % 1000000);
	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) != 0)
		return -errno;
	return 0;
}

/* A blocking call that ran out of time fails with EAGAIN (EINPROGRESS
 * for a connect). */
static int
timed_out(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ||
	       err == ETIMEDOUT ? -ETIMEDOUT : -err;
}

static int
io_all(int fd, void *buf, size_t len, bool wr, const struct deadline *dl)
{
	uint8_t *p = buf;
	int err;

	while (len > 0) {
		ssize_t n;

		if ((err = arm(fd, wr ? SO_SNDTIMEO : SO_RCVTIMEO, dl)) < 0)
			return err;
		/* MSG_NOSIGNAL: a server gone away is an error, not SIGPIPE. */
		n = wr ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return timed_out(errno);
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
no_answer(const struct ctl_client *c, int fd)
{
	fprintf(stderr, "%s: no answer from %s on %s within %u s\n", c->prog,
		c->server, c->sock, c->timeout_s);
	if (fd >= 0)
		close(fd);
	return CTL_EXIT_TIMEOUT;
}

int
ctl_client_call(const struct ctl_client *c, int argc, char **argv,
		char **reply, bool *ok)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *args[CTL_MAX_ARGS];
	uint8_t hdr[4], req[CTL_MAX_REQUEST];
	int n, fd, err, nargs = 0;
	struct deadline dl = { .set = c->timeout_s > 0 };
	uint32_t len;
	char *rep;

	clock_gettime(CLOCK_MONOTONIC, &dl.at);
	dl.at.tv_sec += c->timeout_s;

	for (int i = 0; i < argc && nargs < CTL_MAX_ARGS - 1; i++)
		args[nargs++] = argv[i];
	if (c->json)
		args[nargs++] = (char *)"--json";
	if ((n = ctl_request_format(nargs, args, req, sizeof(req))) < 0) {
		log_warnx("ctl", "request too long");
		return CTL_EXIT_USAGE;
	}
	if (strlen(c->sock) >= sizeof(sun.sun_path)) {
		log_warnx("ctl", "%s: socket path too long", c->sock);
		return CTL_EXIT_ERROR;
	}
	strcpy(sun.sun_path, c->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("ctl", "socket");
		return CTL_EXIT_ERROR;
	}
	/* connect() waits, bounded by SO_SNDTIMEO, while the queue is full. */
	if ((err = arm(fd, SO_SNDTIMEO, &dl)) < 0) {
		errno = -err;
		log_warn("ctl", "socket");
		close(fd);
		return CTL_EXIT_ERROR;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (timed_out(errno) == -ETIMEDOUT)
			return no_answer(c, fd);
		log_warn("ctl", "connect %s (is %s running?)", c->sock, c->server);
		close(fd);
		return CTL_EXIT_ERROR;
	}
	ctl_frame_header(hdr, (uint32_t)n);
	if ((err = io_all(fd, hdr, 4, true, &dl)) < 0 ||
	    (err = io_all(fd, req, (size_t)n, true, &dl)) < 0 ||
	    (err = io_all(fd, hdr, 4, false, &dl)) < 0) {
		if (err == -ETIMEDOUT)
			return no_answer(c, fd);
		errno = -err;
		log_warn("ctl", "%s", c->sock);
		close(fd);
		return CTL_EXIT_ERROR;
	}
	len = ctl_frame_len(hdr);
	if (len > CTL_MAX_REPLY || (rep = malloc(len + 1)) == NULL) {
		log_warnx("ctl", "reply of %u bytes refused", len);
		close(fd);
		return CTL_EXIT_ERROR;
	}
	if ((err = io_all(fd, rep, len, false, &dl)) < 0) {
		free(rep);
		if (err == -ETIMEDOUT)
			return no_answer(c, fd);
		errno = -err;
		log_warn("ctl", "reading reply");
		close(fd);
		return CTL_EXIT_ERROR;
	}
	close(fd);
	rep[len] = '\0';
	*ok = strncmp(rep, "ok\n", 3) == 0;
	if (!*ok && strncmp(rep, "error\n", 6) != 0) {
		log_warnx("ctl", "malformed reply");
		free(rep);
		return CTL_EXIT_ERROR;
	}
	memmove(rep, rep + (*ok ? 3 : 6), len + 1 - (*ok ? 3 : 6));
	*reply = rep;
	return CTL_EXIT_OK;
}

int
ctl_client_run(const struct ctl_client *c, int argc, char **argv)
{
	char *rep;
	bool ok;
	int st = ctl_client_call(c, argc, argv, &rep, &ok);

	if (st != CTL_EXIT_OK)
		return st;
	fputs(rep, ok ? stdout : stderr);
	free(rep);
	return ok ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}
