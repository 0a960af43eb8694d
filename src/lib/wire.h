/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network byte order at unaligned addresses, and the Internet checksum
 * (RFC 1071), for the packet codecs of both programs and the lab's tools.
 * Header-only, so a tool built outside the archives needs no library.
 * The callers check the length before they read or write; nothing here
 * can fail.
 */
#ifndef TUNSTEER_WIRE_H
#define TUNSTEER_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void
wire_put_be16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
wire_put_be32(uint8_t *b, uint32_t v)
{
	wire_put_be16(b, (uint16_t)(v >> 16));
	wire_put_be16(b + 2, (uint16_t)v);
}

static inline void
wire_put_be64(uint8_t *b, uint64_t v)
{
	wire_put_be32(b, (uint32_t)(v >> 32));
	wire_put_be32(b + 4, (uint32_t)v);
}

static inline uint16_t
wire_get_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
wire_get_be32(const uint8_t *b)
{
	return (uint32_t)wire_get_be16(b) << 16 | wire_get_be16(b + 2);
}

static inline uint64_t
wire_get_be64(const uint8_t *b)
{
	return (uint64_t)wire_get_be32(b) << 32 | wire_get_be32(b + 4);
}

/* The Internet checksum of @len bytes, in host order: store it with
 * wire_put_be16().  Over data that already holds its checksum the result
 * is 0. */
static inline uint16_t
wire_cksum(const uint8_t *buf, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
