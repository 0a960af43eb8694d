/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerctl: the operator's view of tunsteerd over its control socket.
 * The command set is a table of {name, function, help}, like wg(8).
 */
#include "autoconfig.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctl_client.h"
#include "lib/log.h"
#include "lib/version.h"

#define TS_DEFAULT_SOCK TS_RUNDIR "/tunsteerd.sock"

struct ctl_ctx {
	const char *sock;
	unsigned timeout_s;
	bool json;
};

struct ctl_cmd {
	const char *name;
	int (*run)(struct ctl_ctx *ctx, int argc, char **argv);
	const char *help;
};

/* Send the command line as one request and print the reply (ctl_client). */
static int
ctl_request(struct ctl_ctx *ctx, int argc, char **argv)
{
	const struct ctl_client c = {
		.prog = "tunsteerctl", .sock = ctx->sock, .server = "tunsteerd",
		.timeout_s = ctx->timeout_s, .json = ctx->json,
	};

	return ctl_client_run(&c, argc, argv);
}

/* check's exit statuses (Nagios plugins' OK, WARNING, CRITICAL, UNKNOWN). */
enum {
	CHECK_UP = 0,		/* every policy has an up tunnel */
	CHECK_DEGRADED = 1,	/* some policy has only degraded ones */
	CHECK_DOWN = 2,		/* some policy has neither */
	CHECK_UNKNOWN = 3,	/* no answer, no such policy, bad usage */
};

/* The verdict at the start of tunsteerd's answer to check: "check: WORD"
 * as text, {"check":"WORD" as JSON. */
static int
check_verdict(const char *reply)
{
	static const char *const words[] = { "up", "degraded", "down" };
	const char *p;
	size_t n;

	if (strncmp(reply, "check: ", 7) == 0)
		p = reply + 7;
	else if (strncmp(reply, "{\"check\":\"", 10) == 0)
		p = reply + 10;
	else
		return CHECK_UNKNOWN;
	n = strcspn(p, "\"\n");
	for (int v = 0; v < 3; v++)
		if (strlen(words[v]) == n && strncmp(p, words[v], n) == 0)
			return v;
	return CHECK_UNKNOWN;
}

/* check [POLICY]: print tunsteerd's answer, exit with its verdict. */
static int
ctl_check(struct ctl_ctx *ctx, int argc, char **argv)
{
	const struct ctl_client c = {
		.prog = "tunsteerctl", .sock = ctx->sock, .server = "tunsteerd",
		.timeout_s = ctx->timeout_s, .json = ctx->json,
	};
	char *reply;
	bool ok;
	int v;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		log_warnx("ctl", "usage: tunsteerctl check [POLICY]");
		return CHECK_UNKNOWN;
	}
	if (ctl_client_call(&c, argc, argv, &reply, &ok) != CTL_EXIT_OK)
		return CHECK_UNKNOWN;
	fputs(reply, ok ? stdout : stderr);
	v = ok ? check_verdict(reply) : CHECK_UNKNOWN;
	if (ok && v == CHECK_UNKNOWN)
		log_warnx("ctl", "check: tunsteerd's answer has no verdict");
	free(reply);
	return v;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "status", ctl_request, "daemon status and summary" },
	{ "tunnels", ctl_request, "tunnels, their state and counters" },
	{ "egress", ctl_request, "egress policies and their active tunnels" },
	{ "reload", ctl_request, "re-read the configuration; on error the old one keeps running" },
	{ "log-level", ctl_request, "[LEVEL]: show or set the daemon's log level" },
	{ "rekey", ctl_request, "TUNNEL: rekey an ipsec tunnel's CHILD SA now" },
	{ "standby", ctl_request, "withdraw egress (HA backup); tunnels stay up and probed" },
	{ "active", ctl_request, "egress through the tunnels again (HA master)" },
	{ "metrics", ctl_request, "every metric, in Prometheus text format" },
	{ "check", ctl_check, "[POLICY]: exit 0 if every policy (or POLICY) has "
	  "an up tunnel, 1 if only degraded ones, 2 if none; 3: unknown" },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: tunsteerctl [-S PATH] [-t SECONDS] [--json] COMMAND [ARGS]\n\n"
		     "  -S, --socket PATH   control socket (default %s)\n"
		     "  -t, --timeout SECONDS  give up without an answer within SECONDS\n"
		     "                      (default %d, 0: wait for ever; exit 3)\n"
		     "  -j, --json          machine-readable output\n"
		     "  -h, --help          this help\n"
		     "  -V, --version       print version\n\ncommands:\n",
		TS_DEFAULT_SOCK, CTL_CLIENT_TIMEOUT_S);
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(out, "  %-12s %s\n", ctl_cmds[i].name, ctl_cmds[i].help);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_ctx ctx = {
		.sock = TS_DEFAULT_SOCK, .timeout_s = CTL_CLIENT_TIMEOUT_S,
	};
	int c;

	log_init("tunsteerctl", true, LOG_LVL_NOTICE);
	/* '+': stop at the command so its own arguments are left alone. */
	while ((c = getopt_long(argc, argv, "+S:t:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': ctx.sock = optarg; break;
		case 't':
			if (ctl_client_parse_timeout(optarg, &ctx.timeout_s) < 0) {
				log_warnx("ctl", "-t %s: not a number of seconds",
					  optarg);
				return 2;
			}
			break;
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
