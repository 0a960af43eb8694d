/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The conntrack flusher (ctflush.h): a queue under a mutex, one thread
 * that takes everything queued as a batch, and an eventfd that tells the
 * loop a batch is done.  The thread touches only its backend and the
 * fields under the mutex.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/ctflush.h"
#include "lib/log.h"
#include "lib/thread.h"
#include "lib/vec.h"

#define CTFLUSH_STACK (128 * 1024)

struct ct_job {
	uint32_t mark, mask;
};

struct ctflush {
	struct kernel_ops *ops;
	ctflush_done_cb cb;
	void *arg;
	int efd;
	struct event *ev;
	pthread_t thread;
	bool started;
	/* Under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ct_job *queue;
	size_t n_queue, cap_queue;
	unsigned int running;		/* jobs taken by the thread */
	unsigned int ok, failed;	/* done, not yet reported */
	double ms;
	bool stop;
};

static void *
ctflush_thread(void *arg)
{
	struct ctflush *f = arg;

	thread_background();
	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct ct_job *batch;
		size_t n;
		unsigned int ok = 0, failed = 0;
		uint64_t t0;

		while (!f->stop && f->n_queue == 0)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->stop)
			break;
		batch = f->queue;
		n = f->n_queue;
		f->queue = NULL;
		f->n_queue = f->cap_queue = 0;
		f->running = (unsigned int)n;
		pthread_mutex_unlock(&f->mu);

		t0 = mono_ns();
		for (size_t i = 0; i < n; i++) {
			int err = f->ops->conntrack_flush(f->ops, batch[i].mark,
							  batch[i].mask);

			if (err < 0) {
				errno = -err;
				log_warn("egress", "deleting conntrack entries "
					 "(mark 0x%08x/0x%08x) failed",
					 batch[i].mark, batch[i].mask);
				failed++;
			} else {
				ok++;
			}
		}
		free(batch);

		pthread_mutex_lock(&f->mu);
		f->running = 0;
		f->ok += ok;
		f->failed += failed;
		f->ms += (double)(mono_ns() - t0) / 1e6;
		thread_wake(f->efd);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
ctflush_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctflush *f = arg;
	unsigned int ok, failed;
	double ms;

	(void)what;
	thread_woken(fd);
	pthread_mutex_lock(&f->mu);
	ok = f->ok;
	failed = f->failed;
	ms = f->ms;
	f->ok = f->failed = 0;
	f->ms = 0;
	pthread_mutex_unlock(&f->mu);
	if (ok || failed)
		f->cb(ok, failed, ms, f->arg);
}

struct ctflush *
ctflush_create(struct event_base *base, struct kernel_ops *ops,
	       ctflush_done_cb cb, void *arg)
{
	struct ctflush *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->ops = ops;
	f->cb = cb;
	f->arg = arg;
	f->efd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if ((f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	f->ev = event_new(base, f->efd, EV_READ | EV_PERSIST, ctflush_ready_cb, f);
	if (f->ev == NULL || event_add(f->ev, NULL) != 0)
		goto fail;
	if (thread_spawn(&f->thread, CTFLUSH_STACK, ctflush_thread, f) != 0)
		goto fail;
	f->started = true;
	return f;
fail:
	f->ops = NULL;		/* the caller still owns it */
	ctflush_destroy(f);
	return NULL;
}

int
ctflush_queue(struct ctflush *f, uint32_t mark, uint32_t mask)
{
	struct ct_job job = { mark, mask };
	int err = 0;
	bool queued = false;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n_queue; i++)
		if (f->queue[i].mark == mark && f->queue[i].mask == mask)
			queued = true;
	if (!queued &&
	    (err = VEC_PUSH(f->queue, f->n_queue, f->cap_queue, job)) == 0)
		pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return err;
}

unsigned int
ctflush_pending(struct ctflush *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->mu);
	n = (unsigned int)f->n_queue + f->running;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void
ctflush_destroy(struct ctflush *f)
{
	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->stop = true;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		(void)pthread_join(f->thread, NULL);
	}
	if (f->ev)
		event_free(f->ev);
	if (f->efd >= 0)
		close(f->efd);
	free(f->queue);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	if (f->ops)
		f->ops->destroy(f->ops);
	free(f);
}
