/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctl_client.h"
#include "lib/ctl_proto.h"
#include "lib/log.h"

static int
io_all(int fd, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctl_client_run(const struct ctl_client *c, int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *args[CTL_MAX_ARGS];
	uint8_t hdr[4], req[CTL_MAX_REQUEST];
	int n, fd, err, nargs = 0;
	uint32_t len;
	char *rep;
	bool ok;

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
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_warn("ctl", "connect %s (is %s running?)", c->sock, c->server);
		close(fd);
		return CTL_EXIT_ERROR;
	}
	ctl_frame_header(hdr, (uint32_t)n);
	if ((err = io_all(fd, hdr, 4, true)) < 0 ||
	    (err = io_all(fd, req, (size_t)n, true)) < 0 ||
	    (err = io_all(fd, hdr, 4, false)) < 0) {
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
	if ((err = io_all(fd, rep, len, false)) < 0) {
		errno = -err;
		log_warn("ctl", "reading reply");
		free(rep);
		close(fd);
		return CTL_EXIT_ERROR;
	}
	close(fd);
	rep[len] = '\0';
	ok = strncmp(rep, "ok\n", 3) == 0;
	if (!ok && strncmp(rep, "error\n", 6) != 0) {
		log_warnx("ctl", "malformed reply");
		free(rep);
		return CTL_EXIT_ERROR;
	}
	fputs(rep + (ok ? 3 : 6), ok ? stdout : stderr);
	free(rep);
	return ok ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}
