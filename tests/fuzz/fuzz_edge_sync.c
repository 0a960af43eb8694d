/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the SA propagation channel (edge/edge_sync.h), what
 * an edge server reads from its relay peers.  Each input is, at once:
 *
 *   a frame from the one peer, opened under the key a fixed secret gives
 *   the sender and boot it names, at the time the corpus was sealed (most
 *   inputs fail the tag; none may crash, read past the frame or leave
 *   anything of it behind).  An accepted frame is not
 *   accepted twice, and its payload goes through its own decoder;
 *
 *   a delete's payload: one the decoder accepts validates, encodes to
 *   exactly the bytes it came from (the encoding is canonical) and
 *   decodes again to the same delete;
 *
 *   a hello's payload: one the decoder accepts encodes to exactly the
 *   bytes it came from;
 *
 *   a payload (up to the maximum), sealed by the peer and opened again:
 *   the same type and bytes come out (a hello when it has a hello's
 *   length).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_sync.h"
#include "lib/sarec.h"
#include "lib/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const char *const fuzz_corpus[];
const char *const fuzz_corpus[] = { "tests/fuzz/corpus/edge_sync", NULL };

/* The corpus' frames were sealed under this secret by 10.0.0.2 at NOW
 * (mkcorpus_edge_sync.py). */
static const uint8_t secret[] = "tunsteer-edge fuzz secret 32 by!";
#define SECRET_LEN (sizeof(secret) - 1)
#define NOW 1700000000000ull
#define PEER 0x0a000002u

static struct edge_sync_tx *tx;		/* the peer's, for the round trip */
static uint8_t *plain;			/* secret memory, as callers must */

static void
check_del(const uint8_t *buf, size_t len)
{
	struct edge_sync_del d, again;
	uint8_t enc[EDGE_SYNC_DEL_MAX];
	ssize_t n;

	if (edge_sync_del_decode(buf, len, &d) != 0) {
		if (d.tunnel[0] != '\0' || d.spi_in != 0)
			abort();
		return;
	}
	if (edge_sync_del_validate(&d) != 0)
		abort();
	n = edge_sync_del_encode(&d, enc, sizeof(enc));
	if (n != (ssize_t)len || memcmp(enc, buf, len) != 0)
		abort();
	if (edge_sync_del_decode(enc, (size_t)n, &again) != 0 ||
	    memcmp(&d, &again, sizeof(d)) != 0)
		abort();
}

static void
check_hello(const uint8_t *buf, size_t len)
{
	struct edge_sync_hello h;
	uint8_t enc[EDGE_SYNC_HELLO_LEN];

	if (edge_sync_hello_decode(buf, len, &h) != 0) {
		if (h.kind != 0 || h.epoch != 0)
			abort();
		return;
	}
	if (edge_sync_hello_encode(&h, enc, sizeof(enc)) != (ssize_t)len ||
	    memcmp(enc, buf, len) != 0)
		abort();
}

static void
check_record(const uint8_t *buf, size_t len)
{
	struct sarec r;

	if (sarec_decode(buf, len, &r) == 0 && sarec_validate(&r) != 0)
		abort();
	sarec_clear(&r);
}

/* @copy as a frame from the peer, to a receiver that has seen nothing. */
static void
open_frame(const uint8_t *copy, size_t size)
{
	struct in_addr from = { .s_addr = htonl(PEER) };
	struct edge_sync_rx *rx;
	size_t plen = 1;
	uint8_t type = 1;
	int rc;

	if (edge_sync_rx_create(secret, SECRET_LEN, &from, 1,
				EDGE_SYNC_MAX_AGE_MS, &rx) != 0)
		abort();
	rc = edge_sync_open(rx, from, copy, size, NOW, &type, plain,
			    EDGE_SYNC_PAYLOAD_MAX, &plen);
	if (rc != 0) {
		if (type != 0 || plen != 0)
			abort();
		edge_sync_rx_free(rx);
		return;
	}
	if (plen + EDGE_SYNC_OVERHEAD != size)
		abort();
	if (type == EDGE_SYNC_DEL)
		check_del(plain, plen);
	else if (type == EDGE_SYNC_SA)
		check_record(plain, plen);
	else if (type == EDGE_SYNC_HELLO && plen == EDGE_SYNC_HELLO_LEN)
		check_hello(plain, plen);
	else
		abort();
	if (edge_sync_open(rx, from, copy, size, NOW, &type, plain,
			   EDGE_SYNC_PAYLOAD_MAX, &plen) != -EALREADY)
		abort();
	edge_sync_rx_free(rx);
}

/* The type @size bytes are sealed as: a hello's length as a hello. */
static uint8_t
type_of(size_t size)
{
	if (size == EDGE_SYNC_HELLO_LEN)
		return EDGE_SYNC_HELLO;
	return size & 1 ? EDGE_SYNC_SA : EDGE_SYNC_DEL;
}

/* @copy as a payload, sealed and opened again. */
static void
seal_open(const uint8_t *copy, size_t size)
{
	struct in_addr from = { .s_addr = htonl(PEER) };
	uint8_t frame[EDGE_SYNC_FRAME_MAX], type = type_of(size);
	struct edge_sync_rx *rx;
	size_t plen;
	ssize_t n;

	if (size > EDGE_SYNC_PAYLOAD_MAX)
		return;
	n = edge_sync_seal(tx, type, copy, size, NOW, frame, sizeof(frame));
	if (n != (ssize_t)(EDGE_SYNC_OVERHEAD + size))
		abort();
	if (edge_sync_rx_create(secret, SECRET_LEN, &from, 1,
				EDGE_SYNC_MAX_AGE_MS, &rx) != 0)
		abort();
	if (edge_sync_open(rx, from, frame, (size_t)n, NOW, &type, plain,
			   EDGE_SYNC_PAYLOAD_MAX, &plen) != 0 ||
	    type != type_of(size) ||
	    plen != size || (size && memcmp(plain, copy, size) != 0))
		abort();
	edge_sync_rx_free(rx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in_addr self = { .s_addr = htonl(PEER) };
	uint8_t *copy;

	/* Made once, for the life of the process, as a server's sender. */
	if (tx == NULL &&
	    (edge_sync_tx_create(secret, SECRET_LEN, self, &tx) != 0 ||
	     (plain = secmem_alloc(EDGE_SYNC_PAYLOAD_MAX)) == NULL))
		abort();
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	/* A copy of exactly @size bytes, so ASan sees any overread. */
	memcpy(copy, data, size);
	open_frame(copy, size);
	check_del(copy, size);
	check_hello(copy, size);
	seal_open(copy, size);
	free(copy);
	return 0;
}
