/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel audit (audit.h): one short-lived thread per audit.  The loop
 * thread starts it and joins it when the eventfd says it is done, so at
 * most one runs and nothing of it outlives audit_destroy().
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/audit.h"
#include "lib/log.h"
#include "lib/thread.h"

/* The dumps need little stack: no thread-sized default (8 MiB). */
#define AUDIT_STACK (256 * 1024)

struct audit {
	struct kernel_ops *reader;
	struct kernel_marks marks;
	audit_done_cb cb;
	void *arg;
	int efd;
	struct event *ev;
	pthread_t thread;
	bool running;
	unsigned long gen;
	struct reconcile *dry;		/* the thread's, for comparing only */
	struct kernel_state *want;	/* the running audit's, or NULL */
	/* Written by the thread before it signals efd, read after. */
	struct kernel_state result;
	int err;
	unsigned int drift;
	char first[256];
};

static void *
audit_thread(void *arg)
{
	struct audit *a = arg;

	thread_background();
	a->err = reconcile_observe(a->reader, &a->marks, &a->result);
	a->drift = AUDIT_DRIFT_UNKNOWN;
	a->first[0] = '\0';
	if (a->err == 0 && a->want)
		a->drift = reconcile_drift(a->dry, &a->result, a->want,
					   a->first, sizeof(a->first));
	/* The wake-up is the hand-over: the loop reads result after it,
	 * and joins the thread before anything is reused. */
	thread_wake(a->efd);
	return NULL;
}

static void
drop_want(struct audit *a)
{
	if (a->want) {
		kernel_state_free(a->want);
		free(a->want);
		a->want = NULL;
	}
}

static void
audit_join(struct audit *a)
{
	(void)pthread_join(a->thread, NULL);
	a->running = false;
	thread_woken(a->efd);
	drop_want(a);
}

static void
audit_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit *a = arg;
	struct kernel_state st;
	struct audit_result r;

	(void)fd;
	(void)what;
	if (!a->running)
		return;
	audit_join(a);
	st = a->result;
	kernel_state_init(&a->result);
	r = (struct audit_result){ .observed = &st, .err = a->err,
		.gen = a->gen, .drift = a->drift, .first = a->first };
	a->cb(&r, a->arg);
	kernel_state_free(&st);
}

struct audit *
audit_create(struct event_base *base, struct kernel_ops *reader,
	     const struct kernel_marks *marks, audit_done_cb cb, void *arg)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0)
		goto fail;
	a->ev = event_new(base, a->efd, EV_READ | EV_PERSIST, audit_ready_cb, a);
	if (a->ev == NULL || event_add(a->ev, NULL) != 0)
		goto fail;
	/* Dry passes only: it never issues an operation. */
	if ((a->dry = reconcile_create(reader, marks)) == NULL)
		goto fail;
	a->reader = reader;
	a->marks = *marks;
	a->cb = cb;
	a->arg = arg;
	kernel_state_init(&a->result);
	return a;
fail:
	reconcile_destroy(a->dry);
	if (a->ev)
		event_free(a->ev);
	if (a->efd >= 0)
		close(a->efd);
	free(a);
	return NULL;
}

int
audit_start(struct audit *a, unsigned long gen, struct kernel_state *want)
{
	int err;

	if (a->running) {
		if (want) {
			kernel_state_free(want);
			free(want);
		}
		return -EBUSY;
	}
	a->gen = gen;
	a->err = 0;
	a->want = want;
	kernel_state_init(&a->result);
	if ((err = thread_spawn(&a->thread, AUDIT_STACK, audit_thread, a)) != 0) {
		drop_want(a);
		return -err;
	}
	a->running = true;
	return 0;
}

bool
audit_running(const struct audit *a)
{
	return a->running;
}

void
audit_destroy(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		audit_join(a);
		kernel_state_free(&a->result);
	}
	event_free(a->ev);
	close(a->efd);
	reconcile_destroy(a->dry);
	if (a->reader)
		a->reader->destroy(a->reader);
	free(a);
}
