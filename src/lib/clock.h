/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Clock readings as integers: nanoseconds or milliseconds of a clock,
 * CLOCK_MONOTONIC unless said otherwise (timeouts, deadlines, ages; never
 * the wall clock, which can step).
 */
#ifndef TUNSTEER_CLOCK_H
#define TUNSTEER_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t
mono_ms(void)
{
	return mono_ns() / 1000000u;
}

#endif
