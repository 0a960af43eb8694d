/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's metrics: the engine's state and counters as Prometheus text
 * (exposition format 0.0.4), served over HTTP at /metrics by libevent's
 * evhttp on the address of the config's metrics group (off without one),
 * and printed by the control command `metrics`; and the verdict of the
 * control command `check` (every policy has an up tunnel, or only
 * degraded ones, or none).  Everything here runs on the loop and reads
 * the engine through its accessors; a scrape is rendered once into one
 * evbuffer, with the kernel's link counters from one dump.  The metric
 * names are a contract (man/tunsteerd.conf.5 lists them,
 * contrib/grafana/tunsteer.json is built on them).
 */
#ifndef TUNSTEER_METRICS_H
#define TUNSTEER_METRICS_H

#include <stdbool.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "tunsteerd/config.h"
#include "tunsteerd/engine.h"

/* Append every metric of @e to @out.  0, or -ENOMEM (@out then holds
 * part of the text). */
int metrics_render(struct engine *e, struct evbuffer *out)
	__attribute__((warn_unused_result));

/* metrics_render() onto @out (the control command); says so in a comment
 * line if memory ran out. */
void metrics_print(struct engine *e, FILE *out);

/* @s as a label value: backslash, double quote and newline escaped. */
int metrics_put_label(struct evbuffer *out, const char *s)
	__attribute__((warn_unused_result));

/* What `check` says, and tunsteerctl's exit status for it. */
enum metrics_verdict {
	METRICS_UP = 0,		/* every policy has an up tunnel */
	METRICS_DEGRADED = 1,	/* some has only degraded ones (none down) */
	METRICS_DOWN = 2,	/* some has no up or degraded tunnel */
};

const char *metrics_verdict_name(enum metrics_verdict v);

/*
 * The `check [POLICY]` verdict over every policy, or over @policy alone
 * (when not NULL), written to @out: text, whose first line is "check: "
 * and the verdict's name, or JSON, whose first key is "check".  A tunnel
 * counts as up or degraded by its health; one not probed yet (init) as
 * down.  No policies: up.  Returns the verdict, or -ENOENT (no policy
 * called @policy, said on @out).
 */
int metrics_check(struct engine *e, const char *policy, bool json, FILE *out);

/*
 * The HTTP side, staged with the config like the prober
 * (engine_stage): prepare binds the new config's address if it differs
 * from the one served (and may fail: -errno, logged, the config refused),
 * commit serves the new one (closes the old), abort drops what prepare
 * bound.  Only /metrics is served, to GET and HEAD.
 */
struct metrics;

/* NULL if out of memory.  @e must outlive it. */
struct metrics *metrics_create(struct event_base *base, struct engine *e);
void metrics_destroy(struct metrics *m);
int metrics_prepare(struct metrics *m, const struct config *conf)
	__attribute__((warn_unused_result));
void metrics_commit(struct metrics *m);
void metrics_abort(struct metrics *m);
/* The port served (the kernel's, for a config's port 0 in tests), or 0
 * when off. */
unsigned int metrics_port(const struct metrics *m);

#endif
