/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerctl: the operator's view of tunsteerd over its control socket.
 * The command set is a table of {name, function, help}, like wg(8).
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/ctl_proto.h"
#include "lib/log.h"
#include "lib/version.h"

#define TS_DEFAULT_SOCK TS_RUNDIR "/tunsteerd.sock"

struct ctl_ctx {
	const char *sock;
	bool json;
};

struct ctl_cmd {
	const char *name;
	int (*run)(struct ctl_ctx *ctx, int argc, char **argv);
	const char *help;
};

static int
ctl_connect(const struct ctl_ctx *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(ctx->sock) >= sizeof(sun.sun_path)) {
		log_warnx("ctl", "%s: socket path too long", ctx->sock);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, ctx->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("ctl", "socket");
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int err = errno;

		log_warn("ctl", "connect %s (is tunsteerd running?)", ctx->sock);
		close(fd);
		return -err;
	}
	return fd;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

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

/*
 * Send the command line as one request, print the reply: to stdout when
 * the daemon says "ok" (exit 0), to stderr otherwise (exit 1).
 */
static int
ctl_request(struct ctl_ctx *ctx, int argc, char **argv)
{
	char *args[CTL_MAX_ARGS];
	uint8_t hdr[4], req[CTL_MAX_REQUEST];
	int n, fd, err, nargs = 0;
	uint32_t len;
	char *rep;
	bool ok;

	for (int i = 0; i < argc && nargs < CTL_MAX_ARGS - 1; i++)
		args[nargs++] = argv[i];
	if (ctx->json)
		args[nargs++] = (char *)"--json";
	if ((n = ctl_request_format(nargs, args, req, sizeof(req))) < 0) {
		log_warnx("ctl", "request too long");
		return 2;
	}
	if ((fd = ctl_connect(ctx)) < 0)
		return 1;
	ctl_frame_header(hdr, (uint32_t)n);
	if ((err = write_all(fd, hdr, 4)) < 0 || (err = write_all(fd, req, (size_t)n)) < 0 ||
	    (err = read_all(fd, hdr, 4)) < 0) {
		errno = -err;
		log_warn("ctl", "%s", ctx->sock);
		close(fd);
		return 1;
	}
	len = ctl_frame_len(hdr);
	if (len > CTL_MAX_REPLY || (rep = malloc(len + 1)) == NULL) {
		log_warnx("ctl", "reply of %u bytes refused", len);
		close(fd);
		return 1;
	}
	if ((err = read_all(fd, rep, len)) < 0) {
		errno = -err;
		log_warn("ctl", "reading reply");
		free(rep);
		close(fd);
		return 1;
	}
	close(fd);
	rep[len] = '\0';
	ok = strncmp(rep, "ok\n", 3) == 0;
	if (!ok && strncmp(rep, "error\n", 6) != 0) {
		log_warnx("ctl", "malformed reply");
		free(rep);
		return 1;
	}
	fputs(rep + (ok ? 3 : 6), ok ? stdout : stderr);
	free(rep);
	return ok ? 0 : 1;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", ctl_request, "daemon status and summary" },
	{ "tunnels", ctl_request, "tunnels, their state and counters" },
	{ "egress", ctl_request, "egress policies and their active tunnels" },
	{ "reload", ctl_request, "re-read the configuration; on error the old one keeps running" },
	{ "log-level", ctl_request, "[LEVEL]: show or set the daemon's log level" },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: tunsteerctl [-S PATH] [--json] COMMAND [ARGS]\n\n"
		     "  -S, --socket PATH   control socket (default %s)\n"
		     "  -j, --json          machine-readable output\n"
		     "  -h, --help          this help\n"
		     "  -V, --version       print version\n\ncommands:\n",
		TS_DEFAULT_SOCK);
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(out, "  %-12s %s\n", ctl_cmds[i].name, ctl_cmds[i].help);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_ctx ctx = { .sock = TS_DEFAULT_SOCK };
	int c;

	log_init("tunsteerctl", true, LOG_LVL_NOTICE);
	/* '+': stop at the command so its own arguments are left alone. */
	while ((c = getopt_long(argc, argv, "+S:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': ctx.sock = optarg; break;
		case 'j': ctx.json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': version_print(stdout, "tunsteerctl"); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(argv[optind], ctl_cmds[i].name) == 0)
			return ctl_cmds[i].run(&ctx, argc - optind, argv + optind);
	}
	log_warnx("ctl", "unknown command '%s' (see tunsteerctl --help)", argv[optind]);
	return 2;
}
