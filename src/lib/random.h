/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Random identifiers and nonces for probes and health checks: not keys,
 * but guessing them lets an on-path attacker forge an answer.
 */
#ifndef TUNSTEER_RANDOM_H
#define TUNSTEER_RANDOM_H

#include <stdint.h>
#include <sys/random.h>

/* 64 bits from the kernel's pool.  8 bytes from an initialised pool do
 * not fail; if they ever did, a zero nonce still has to match the
 * sequence and the send time of what it answers. */
static inline uint64_t
ts_random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = 0;
	return v;
}

#endif
