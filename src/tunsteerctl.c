/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerctl: the operator's view of tunsteerd over its control socket.
 * The command set is a table of {name, function, help}, like wg(8).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "version.h"

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
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
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
ctl_run_view(struct ctl_ctx *ctx, int argc, char **argv)
{
	int fd = ctl_connect(ctx);

	if (fd < 0)
		return 1;
	/* The daemon side of the protocol lands with the control module. */
	close(fd);
	log_warnx("ctl", "%s: not supported by this tunsteerd", argv[0]);
	return 1;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", ctl_run_view, "daemon status and summary" },
	{ "tunnels", ctl_run_view, "tunnels, their state and counters" },
	{ "egress", ctl_run_view, "egress policies and their active tunnels" },
	{ "reload", ctl_run_view, "re-read the configuration (staged)" },
	{ "log-level", ctl_run_view, "show or set the daemon's log level" },
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
