/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TUNSTEER_THREAD_H
#define TUNSTEER_THREAD_H

/*
 * The two things every helper thread of a daemon here needs: started with
 * every signal blocked (signals belong to the loop thread, libevent's
 * signal handling) and a small stack, and a way to wake the loop (an
 * eventfd the loop watches).
 */

#include <pthread.h>
#include <stddef.h>

/* pthread_create() with all signals blocked in the new thread and a
 * stack of @stack bytes.  0, or a positive errno as pthread_create(). */
int thread_spawn(pthread_t *t, size_t stack, void *(*fn)(void *), void *arg);

/*
 * Called first by a helper thread whose work can wait (an audit, a
 * conntrack flush): it yields the CPU to the loop thread.  Nice 10 and
 * SCHED_BATCH for this thread alone (Linux keeps both per thread), so on
 * a busy 2-core router the loop wins the CPU when both want it.
 */
void thread_background(void);

/* Add one to eventfd @fd (retried on EINTR; a full counter is still a
 * wake-up).  Safe from any thread. */
void thread_wake(int fd);

/* Read eventfd @fd back to zero (the loop side). */
void thread_woken(int fd);

#endif
