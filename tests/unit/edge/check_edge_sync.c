/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SA propagation channel's codec (edge/edge_sync.h): a SA record and
 * a delete survive seal → open, and so does a hello (the resync's ask
 * and its done); the frame is the documented one (a frame
 * made by another implementation opens, a sealed one decrypts by the
 * documented layout); each sender and each boot seals under its own key;
 * nothing altered, truncated, from a stranger, replayed or out of time is
 * accepted, and nothing refused changes what the receiver remembers.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "edge/edge_sync.h"
#include "lib/sarec.h"
#include "lib/secmem.h"
#include "lib/wire.h"
#include "testlib.h"

/* The documented layout (edge_sync.h), not the codec's own offsets. */
#define HDR 28
#define OFF_SENDER 8
#define OFF_BOOT 12
#define OFF_COUNTER 20

/* 32 bytes; KAT_KEY is the key of sender 10.0.0.2's boot KAT_BOOT under
 * it, HKDF-SHA256 with the documented salt and info, as Python's
 * `cryptography` derives it (the script is above kat_frame below). */
static const uint8_t secret[] = "tunsteer-edge test secret 32 by!";
#define SECRET_LEN (sizeof(secret) - 1)
#define KAT_BOOT 0x0102030405060708ull
static const uint8_t kat_key[32] = {
	0xd3, 0x71, 0x12, 0x23, 0x86, 0x82, 0x09, 0x7e, 0x29, 0x20, 0x1d, 0xa0,
	0xa7, 0x59, 0x19, 0xbf, 0x9f, 0xaf, 0x1d, 0x9a, 0x7e, 0xc0, 0x16, 0x14,
	0x86, 0xb9, 0x76, 0x45, 0xfd, 0x7d, 0x58, 0x22,
};

#define NOW 1700000000000ull		/* ms, the receiver's clock */

static struct in_addr a, b, stranger;	/* a and b are peers */
static struct edge_sync_tx *tx;		/* a's */
static struct edge_sync_rx *rx;		/* b's */
static uint8_t *plain;			/* secret memory, as callers must */

static void
setup(void)
{
	struct in_addr peers[2];

	a = ip("10.0.0.2");
	b = ip("10.0.0.3");
	stranger = ip("10.0.0.9");
	peers[0] = a;
	peers[1] = ip("10.0.0.4");
	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, a, &tx), 0);
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers, 2,
					     EDGE_SYNC_MAX_AGE_MS, &rx), 0);
	plain = secmem_alloc(EDGE_SYNC_PAYLOAD_MAX);
	ck_assert_ptr_nonnull(plain);
}

static void
teardown(void)
{
	edge_sync_tx_free(tx);
	edge_sync_rx_free(rx);
	secmem_free(plain);
	tx = NULL;
	rx = NULL;
	plain = NULL;
}

/* The SA record of tests/unit/lib/check_sarec.c's fill_gcm(), on the
 * edge's if_id range, with a selector of the customer's. */
static void
fill_record(struct sarec *r)
{
	testlib_sarec(r, "cust1-ipsec", "edge1", 0x74650001, 0xc1a2b3c4,
		      0x00001000);
	r->serial = 0x0102030405060708ull;
	ck_assert_int_eq(ts_prefix_parse("10.1.0.0/16", true, &r->ts_remote[0]), 0);
}

static const struct edge_sync_del del = {
	.tunnel = "cust1-ipsec", .negotiated_by = "edge1",
	.serial = 0x0102030405060708ull, .spi_in = 0xc1a2b3c4,
	.spi_out = 0x00001000,
};

/* A frame of @tx carrying @del's encoding, stamped @t. */
static size_t
seal_del_at(struct edge_sync_tx *t_x, uint64_t t, uint8_t *frame)
{
	uint8_t p[EDGE_SYNC_DEL_MAX];
	ssize_t n = edge_sync_del_encode(&del, p, sizeof(p));
	ssize_t f;

	ck_assert_int_gt(n, 0);
	f = edge_sync_seal(t_x, EDGE_SYNC_DEL, p, (size_t)n, t, frame,
			   EDGE_SYNC_FRAME_MAX);
	ck_assert_int_eq(f, EDGE_SYNC_OVERHEAD + n);
	return (size_t)f;
}

static size_t
seal_del(uint8_t *frame)
{
	return seal_del_at(tx, NOW, frame);
}

/* edge_sync_open() from @from at @now, the result; on success the
 * payload must be @del's. */
static int
open_at(struct in_addr from, const uint8_t *frame, size_t len, uint64_t now)
{
	uint8_t type = 0xff;
	size_t plen = 12345;
	struct edge_sync_del d;
	int rc;

	memset(plain, 0, EDGE_SYNC_PAYLOAD_MAX);
	rc = edge_sync_open(rx, from, frame, len, now, &type, plain,
			    EDGE_SYNC_PAYLOAD_MAX, &plen);
	if (rc != 0) {
		ck_assert_uint_eq(type, 0);
		ck_assert_uint_eq(plen, 0);
		/* Refused, even after decrypting: nothing of it is left. */
		ck_assert_ptr_null(memmem(plain, EDGE_SYNC_PAYLOAD_MAX,
					  "cust1", 5));
		return rc;
	}
	ck_assert_uint_eq(type, EDGE_SYNC_DEL);
	ck_assert_int_eq(edge_sync_del_decode(plain, plen, &d), 0);
	ck_assert_str_eq(d.tunnel, del.tunnel);
	ck_assert_uint_eq(d.spi_in, del.spi_in);
	return 0;
}

static int
open_from(struct in_addr from, const uint8_t *frame, size_t len)
{
	return open_at(from, frame, len, NOW);
}

/*
 * The documented cryptography done by hand with libcrypto, through
 * another of its interfaces than the codec's, to take frames apart and
 * make new ones.
 */

/* The key of @sender's @boot into @key. */
static void
hand_key(struct in_addr sender, uint64_t boot, uint8_t key[32])
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	uint8_t info[17 + 4 + 8];
	size_t klen = 32;

	memcpy(info, "sa-propagation v1", 17);
	memcpy(info + 17, &sender.s_addr, 4);
	wire_put_be64(info + 21, boot);
	ck_assert_ptr_nonnull(pctx);
	ck_assert_int_eq(EVP_PKEY_derive_init(pctx), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set1_hkdf_salt(pctx,
		(const unsigned char *)"tunsteer-edge", 13), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_set1_hkdf_key(pctx, secret,
						    (int)SECRET_LEN), 1);
	ck_assert_int_eq(EVP_PKEY_CTX_add1_hkdf_info(pctx, info,
						     (int)sizeof(info)), 1);
	ck_assert_int_eq(EVP_PKEY_derive(pctx, key, &klen), 1);
	ck_assert_uint_eq(klen, 32);
	EVP_PKEY_CTX_free(pctx);
}

/* The key of @frame's sender and boot, as its header names them. */
static void
hand_key_of(const uint8_t *frame, uint8_t key[32])
{
	struct in_addr sender;

	memcpy(&sender.s_addr, frame + OFF_SENDER, 4);
	hand_key(sender, wire_get_be64(frame + OFF_BOOT), key);
}

static void
hand_nonce(const uint8_t *frame, uint8_t nonce[12])
{
	memset(nonce, 0, 4);
	memcpy(nonce + 4, frame + OFF_COUNTER, 8);
}

/* @len bytes of @frame decrypted under @key into @out (time_ms, then the
 * payload): their length, or -1 if the tag does not verify. */
static int
hand_open(const uint8_t key[32], const uint8_t *frame, size_t len,
	  uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int m, m2, ok;

	hand_nonce(frame, nonce);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL,
					    key, nonce), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, NULL, &m, frame, HDR), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, out, &m, frame + HDR,
					   (int)(len - HDR - 16)), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16,
					     (void *)(frame + len - 16)), 1);
	ok = EVP_DecryptFinal_ex(ctx, out + m, &m2);
	EVP_CIPHER_CTX_free(ctx);
	return ok == 1 ? m + m2 : -1;
}

/* @n bytes of @in (time_ms, then the payload) sealed under @key behind
 * the header already at @frame: the frame's length. */
static size_t
hand_seal(const uint8_t key[32], uint8_t *frame, const uint8_t *in, int n)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int m, m2;

	hand_nonce(frame, nonce);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL,
					    key, nonce), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &m, frame, HDR), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, frame + HDR, &m, in, n), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, frame + HDR + m, &m2), 1);
	ck_assert_int_eq(m + m2, n);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
					     frame + HDR + n), 1);
	EVP_CIPHER_CTX_free(ctx);
	return (size_t)(HDR + n + 16);
}

START_TEST(test_sa_record_round_trips_and_its_keys_never_show_on_the_wire)
{
	struct sarec r, got;
	uint8_t *enc = secmem_alloc(SAREC_ENCODED_MAX);
	uint8_t frame[EDGE_SYNC_FRAME_MAX], type;
	ssize_t n, f;
	size_t plen;

	ck_assert_ptr_nonnull(enc);
	fill_record(&r);
	n = sarec_encode(&r, enc, SAREC_ENCODED_MAX);
	ck_assert_int_gt(n, 0);
	f = edge_sync_seal(tx, EDGE_SYNC_SA, enc, (size_t)n, NOW, frame,
			   sizeof(frame));
	ck_assert_int_eq(f, EDGE_SYNC_OVERHEAD + n);
	/* Neither the key nor the record's names travel in clear. */
	ck_assert_ptr_null(memmem(frame, (size_t)f, r.keys->encr_in, 8));
	ck_assert_ptr_null(memmem(frame, (size_t)f, r.keys->encr_out, 8));
	ck_assert_ptr_null(memmem(frame, (size_t)f, "cust1-ipsec", 11));
	ck_assert_int_eq(edge_sync_open(rx, a, frame, (size_t)f, NOW, &type,
					plain, EDGE_SYNC_PAYLOAD_MAX, &plen), 0);
	ck_assert_uint_eq(type, EDGE_SYNC_SA);
	ck_assert_uint_eq(plen, (size_t)n);
	ck_assert_mem_eq(plain, enc, (size_t)n);
	ck_assert_int_eq(sarec_decode(plain, plen, &got), 0);
	ck_assert_str_eq(got.tunnel, r.tunnel);
	ck_assert_uint_eq(got.serial, r.serial);
	ck_assert_uint_eq(got.spi_in, r.spi_in);
	ck_assert_uint_eq(got.keys->encr_len, 36);
	ck_assert_mem_eq(got.keys->encr_in, r.keys->encr_in, 36);
	ck_assert_mem_eq(got.keys->encr_out, r.keys->encr_out, 36);
	sarec_clear(&got);
	sarec_clear(&r);
	secmem_free(enc);
}
END_TEST

START_TEST(test_delete_round_trips_through_a_frame)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], type;
	struct edge_sync_del d;
	size_t len = seal_del(frame), plen;

	ck_assert_int_eq(edge_sync_open(rx, a, frame, len, NOW, &type, plain,
					EDGE_SYNC_PAYLOAD_MAX, &plen), 0);
	ck_assert_uint_eq(type, EDGE_SYNC_DEL);
	ck_assert_int_eq(edge_sync_del_decode(plain, plen, &d), 0);
	ck_assert_str_eq(d.tunnel, "cust1-ipsec");
	ck_assert_str_eq(d.negotiated_by, "edge1");
	ck_assert(d.serial == del.serial);
	ck_assert_uint_eq(d.spi_in, del.spi_in);
	ck_assert_uint_eq(d.spi_out, del.spi_out);
}
END_TEST

/* Made by Python's `cryptography` (48.0) from the documented layout
 * alone: type 2, sender 10.0.0.2, boot KAT_BOOT, counter 7, time_ms NOW,
 * payload "hello, peer" (open does not read payloads), by
 *
 *   from cryptography.hazmat.primitives import hashes
 *   from cryptography.hazmat.primitives.kdf.hkdf import HKDF
 *   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
 *   import socket, struct
 *   secret = b"tunsteer-edge test secret 32 by!"
 *   sender, boot, counter = socket.inet_aton("10.0.0.2"), 0x0102030405060708, 7
 *   payload = b"hello, peer"
 *   key = HKDF(hashes.SHA256(), 32, b"tunsteer-edge",
 *              b"sa-propagation v1" + sender + struct.pack(">Q", boot)
 *              ).derive(secret)
 *   hdr = (b"TSSP" + struct.pack(">BBH", 1, 2, len(payload)) + sender +
 *          struct.pack(">QQ", boot, counter))
 *   frame = hdr + AESGCM(key).encrypt(
 *       b"\0" * 4 + struct.pack(">Q", counter),
 *       struct.pack(">Q", 1700000000000) + payload, hdr)
 *
 * (key is kat_key above, frame this). */
static const uint8_t kat_frame[] = {
	0x54, 0x53, 0x53, 0x50, 0x01, 0x02, 0x00, 0x0b, 0x0a, 0x00, 0x00, 0x02,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x07, 0x84, 0xf6, 0x85, 0x33, 0x4f, 0xd1, 0xc2, 0x74,
	0x23, 0x9b, 0x6e, 0x7d, 0x69, 0xfe, 0xd3, 0x5c, 0x2b, 0xdd, 0x0b, 0x08,
	0x65, 0x5d, 0xdf, 0xc7, 0xfa, 0xb6, 0xbd, 0x04, 0xa0, 0xad, 0x71, 0xeb,
	0xcb, 0x62, 0x58,
};

START_TEST(test_a_frame_of_another_implementation_opens)
{
	uint8_t type, key[32];
	size_t plen;

	/* The hand derivation the tests below trust is Python's. */
	hand_key(a, KAT_BOOT, key);
	ck_assert_mem_eq(key, kat_key, 32);

	ck_assert_int_eq(edge_sync_open(rx, a, kat_frame, sizeof(kat_frame),
					NOW, &type, plain,
					EDGE_SYNC_PAYLOAD_MAX, &plen), 0);
	ck_assert_uint_eq(type, EDGE_SYNC_DEL);
	ck_assert_uint_eq(plen, 11);
	ck_assert_mem_eq(plain, "hello, peer", 11);
}
END_TEST

/* A sealed frame, taken apart by the documented layout and decrypted by
 * libcrypto directly under the key derived by hand for its sender and
 * boot: header as AAD, nonce 4 zero bytes || counter, time_ms then
 * payload, tag last. */
START_TEST(test_a_sealed_frame_is_the_documented_layout)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], p[EDGE_SYNC_DEL_MAX], key[32];
	uint8_t out[EDGE_SYNC_TIME_LEN + EDGE_SYNC_DEL_MAX];
	size_t len;
	ssize_t n;

	seal_del(frame);		/* counter 1 */
	len = seal_del(frame);		/* counter 2 */
	n = edge_sync_del_encode(&del, p, sizeof(p));
	ck_assert_int_eq(EDGE_SYNC_HDR_LEN, HDR);
	ck_assert_mem_eq(frame, "TSSP\x01\x02", 6);
	ck_assert_uint_eq(wire_get_be16(frame + 6), (size_t)n);
	ck_assert_mem_eq(frame + OFF_SENDER, &a.s_addr, 4);
	ck_assert(wire_get_be64(frame + OFF_COUNTER) == 2);
	ck_assert_uint_eq(len, HDR + 8 + (size_t)n + 16);
	hand_key_of(frame, key);
	ck_assert_int_eq(hand_open(key, frame, len, out), 8 + n);
	ck_assert(wire_get_be64(out) == NOW);
	ck_assert_mem_eq(out + 8, p, (size_t)n);
	/* The boot is all 64 bits of the header: another key in any of
	 * its bytes. */
	for (int i = 0; i < 8; i++) {
		frame[OFF_BOOT + i] ^= 1;
		hand_key_of(frame, key);
		frame[OFF_BOOT + i] ^= 1;
		ck_assert_int_eq(hand_open(key, frame, len, out), -1);
	}
}
END_TEST

START_TEST(test_every_single_byte_flip_anywhere_is_refused)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], bad[EDGE_SYNC_FRAME_MAX];
	size_t len = seal_del(frame);

	for (size_t i = 0; i < len; i++)
		for (unsigned int x = 1; x < 256; x++) {
			int rc;

			memcpy(bad, frame, len);
			bad[i] ^= (uint8_t)x;
			rc = open_from(a, bad, len);
			ck_assert_msg(rc < 0, "byte %zu ^ 0x%02x accepted", i, x);
		}
	/* None of them spent the counter or moved the window. */
	ck_assert_int_eq(open_from(a, frame, len), 0);
}
END_TEST

START_TEST(test_another_key_is_eacces)
{
	static const uint8_t other[] = "another secret, 32 bytes long!!!";
	struct edge_sync_tx *t2;
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	size_t len;

	ck_assert_int_eq(edge_sync_tx_create(other, sizeof(other) - 1, a, &t2), 0);
	len = seal_del_at(t2, NOW, frame);
	ck_assert_int_eq(open_from(a, frame, len), -EACCES);
	edge_sync_tx_free(t2);
	/* One byte of the secret differs: another key. */
	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN - 1, a, &t2), 0);
	len = seal_del_at(t2, NOW, frame);
	ck_assert_int_eq(open_from(a, frame, len), -EACCES);
	edge_sync_tx_free(t2);
}
END_TEST

START_TEST(test_every_truncation_is_refused_never_accepted)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX + 1], cut[EDGE_SYNC_FRAME_MAX];
	size_t len = seal_del(frame);

	for (size_t l = 0; l < len; l++) {
		int rc = open_from(a, frame, l);

		ck_assert_msg(rc == -EBADMSG || rc == -EACCES,
			      "%zu bytes: %d", l, rc);
		/* The same cut with the length field made to agree: the
		 * tag is what refuses it. */
		if (l >= EDGE_SYNC_OVERHEAD) {
			memcpy(cut, frame, l);
			wire_put_be16(cut + 6, (uint16_t)(l - EDGE_SYNC_OVERHEAD));
			ck_assert_int_eq(open_from(a, cut, l), -EACCES);
		}
	}
	/* A byte too many. */
	frame[len] = 0;
	ck_assert_int_eq(open_from(a, frame, len + 1), -EBADMSG);
	ck_assert_int_eq(open_from(a, frame, len), 0);
}
END_TEST

START_TEST(test_malformed_headers_are_ebadmsg_before_anything_else)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	size_t len = seal_del(frame);

	frame[4] = 2;					/* version */
	ck_assert_int_eq(open_from(a, frame, len), -EBADMSG);
	frame[4] = 1;
	frame[5] = 0;					/* type */
	ck_assert_int_eq(open_from(a, frame, len), -EBADMSG);
	frame[5] = 4;
	ck_assert_int_eq(open_from(a, frame, len), -EBADMSG);
	frame[5] = EDGE_SYNC_HELLO;			/* a delete's length */
	ck_assert_int_eq(open_from(a, frame, len), -EBADMSG);
	frame[5] = EDGE_SYNC_DEL;
	memset(frame + OFF_COUNTER, 0, 8);		/* counter 0 */
	ck_assert_int_eq(open_from(a, frame, len), -EBADMSG);
	/* Malformed from a stranger too: the format is checked first. */
	ck_assert_int_eq(open_from(stranger, frame, len), -EBADMSG);
}
END_TEST

START_TEST(test_a_stranger_or_a_spoofed_sender_is_eperm)
{
	struct edge_sync_tx *t2;
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	size_t len = seal_del(frame);

	/* a's frame, arriving from elsewhere. */
	ck_assert_int_eq(open_from(stranger, frame, len), -EPERM);
	ck_assert_int_eq(open_from(ip("10.0.0.4"), frame, len), -EPERM);
	/* A stranger who knows the secret, naming itself. */
	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, stranger, &t2), 0);
	len = seal_del_at(t2, NOW, frame);
	ck_assert_int_eq(open_from(stranger, frame, len), -EPERM);
	edge_sync_tx_free(t2);
	/* ... or naming a peer while sending from its own address. */
	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, a, &t2), 0);
	len = seal_del_at(t2, NOW, frame);
	ck_assert_int_eq(open_from(stranger, frame, len), -EPERM);
	ck_assert_int_eq(open_from(a, frame, len), 0);
	edge_sync_tx_free(t2);
}
END_TEST

START_TEST(test_the_same_frame_twice_is_ealready)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	size_t len = seal_del(frame);

	ck_assert_int_eq(open_from(a, frame, len), 0);
	ck_assert_int_eq(open_from(a, frame, len), -EALREADY);
	ck_assert_int_eq(open_from(a, frame, len), -EALREADY);
}
END_TEST

#define N_FRAMES 140
static uint8_t frames[N_FRAMES + 1][EDGE_SYNC_FRAME_MAX];
static size_t lens[N_FRAMES + 1];

/* frames[c] is a's frame of counter c, 1..N_FRAMES. */
static void
seal_frames(void)
{
	for (int c = 1; c <= N_FRAMES; c++)
		lens[c] = seal_del(frames[c]);
	ck_assert(wire_get_be64(frames[N_FRAMES] + OFF_COUNTER) == N_FRAMES);
}

START_TEST(test_reordering_within_the_window_is_accepted_once_each)
{
	seal_frames();
	ck_assert_int_eq(open_from(a, frames[66], lens[66]), 0);
	/* 63 behind the highest is the window's last. */
	for (int c = 65; c >= 3; c--) {
		ck_assert_msg(open_from(a, frames[c], lens[c]) == 0,
			      "counter %d refused", c);
		ck_assert_int_eq(open_from(a, frames[c], lens[c]), -EALREADY);
	}
	/* A newer one still goes, in between ones skipped over too. */
	ck_assert_int_eq(open_from(a, frames[69], lens[69]), 0);
	ck_assert_int_eq(open_from(a, frames[67], lens[67]), 0);
	ck_assert_int_eq(open_from(a, frames[68], lens[68]), 0);
	ck_assert_int_eq(open_from(a, frames[67], lens[67]), -EALREADY);
	ck_assert_int_eq(open_from(a, frames[66], lens[66]), -EALREADY);
}
END_TEST

START_TEST(test_a_shuffled_burst_is_accepted_once_each)
{
	unsigned int seed = 7;
	int order[64];

	seal_frames();
	for (int i = 0; i < 64; i++)
		order[i] = i + 1;
	for (int i = 63; i > 0; i--) {
		int j = rand_r(&seed) % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(open_from(a, frames[order[i]], lens[order[i]]), 0);
	for (int c = 1; c <= 64; c++)
		ck_assert_int_eq(open_from(a, frames[c], lens[c]), -EALREADY);
}
END_TEST

START_TEST(test_older_than_the_window_is_ealready)
{
	seal_frames();
	ck_assert_int_eq(open_from(a, frames[66], lens[66]), 0);
	/* 64 and 65 behind: never seen, but the window cannot tell. */
	ck_assert_int_eq(open_from(a, frames[2], lens[2]), -EALREADY);
	ck_assert_int_eq(open_from(a, frames[1], lens[1]), -EALREADY);
	/* The window moves with the highest. */
	ck_assert_int_eq(open_from(a, frames[3], lens[3]), 0);
	ck_assert_int_eq(open_from(a, frames[70], lens[70]), 0);
	ck_assert_int_eq(open_from(a, frames[6], lens[6]), -EALREADY);
	ck_assert_int_eq(open_from(a, frames[7], lens[7]), 0);
	ck_assert_int_eq(open_from(a, frames[66], lens[66]), -EALREADY);
	/* A jump past the whole window: what it held is below it now. */
	ck_assert_int_eq(open_from(a, frames[140], lens[140]), 0);
	ck_assert_int_eq(open_from(a, frames[77], lens[77]), 0);
	ck_assert_int_eq(open_from(a, frames[76], lens[76]), -EALREADY);
	ck_assert_int_eq(open_from(a, frames[70], lens[70]), -EALREADY);
	ck_assert_int_eq(open_from(a, frames[139], lens[139]), 0);
	ck_assert_int_eq(open_from(a, frames[140], lens[140]), -EALREADY);
}
END_TEST

START_TEST(test_stale_or_future_time_is_estale_and_spends_nothing)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX];
	size_t len;

	len = seal_del_at(tx, NOW - EDGE_SYNC_MAX_AGE_MS - 1, frame);
	ck_assert_int_eq(open_from(a, frame, len), -ESTALE);
	/* The same frame read in time: its counter was not spent. */
	ck_assert_int_eq(open_at(a, frame, len, NOW - 1000), 0);
	len = seal_del_at(tx, NOW + EDGE_SYNC_MAX_AGE_MS + 1, frame);
	ck_assert_int_eq(open_from(a, frame, len), -ESTALE);
	/* Exactly max_age either way is still in time. */
	len = seal_del_at(tx, NOW + EDGE_SYNC_MAX_AGE_MS, frame);
	ck_assert_int_eq(open_from(a, frame, len), 0);
	len = seal_del_at(tx, NOW - EDGE_SYNC_MAX_AGE_MS, frame);
	ck_assert_int_eq(open_from(a, frame, len), 0);
	/* A receiver whose clock is near 0 does not wrap around. */
	len = seal_del_at(tx, UINT64_MAX, frame);
	ck_assert_int_eq(open_at(a, frame, len, 5), -ESTALE);
	len = seal_del_at(tx, 0, frame);
	ck_assert_int_eq(open_at(a, frame, len, UINT64_MAX), -ESTALE);
}
END_TEST

START_TEST(test_a_forged_frame_spends_no_counter)
{
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	uint8_t f3[EDGE_SYNC_FRAME_MAX], forged[EDGE_SYNC_FRAME_MAX];
	size_t l1 = seal_del(f1), l2 = seal_del(f2), l3 = seal_del(f3);

	ck_assert_int_eq(open_from(a, f1, l1), 0);
	/* A forged counter far ahead would shut out everything below it
	 * if the state moved before the tag verified. */
	memcpy(forged, f2, l2);
	wire_put_be64(forged + OFF_COUNTER, UINT64_MAX);
	ck_assert_int_eq(open_from(a, forged, l2), -EACCES);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	/* A forged boot, taken as a restart, would forget what was seen. */
	memcpy(forged, f3, l3);
	forged[OFF_BOOT] ^= 0x80;
	ck_assert_int_eq(open_from(a, forged, l3), -EACCES);
	ck_assert_int_eq(open_from(a, f1, l1), -EALREADY);
	ck_assert_int_eq(open_from(a, f3, l3), 0);
}
END_TEST

/* A frame of a new sender for a (a restart) at @t, its boot differing
 * from @old's. */
static struct edge_sync_tx *
restart(const uint8_t *old, uint8_t *frame, size_t *len, uint64_t t)
{
	struct edge_sync_tx *t2;

	do {
		ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, a,
						     &t2), 0);
		*len = seal_del_at(t2, t, frame);
		if (memcmp(frame + OFF_BOOT, old + OFF_BOOT, 8) != 0)
			return t2;
		edge_sync_tx_free(t2);	/* 1 in 2^64: draw again */
	} while (1);
}

START_TEST(test_a_restarted_peer_is_accepted_and_counts_from_one_again)
{
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	size_t l1, l2;
	struct edge_sync_tx *t2;

	for (int i = 0; i < 5; i++) {
		l1 = seal_del_at(tx, NOW - 100, f1);
		ck_assert_int_eq(open_from(a, f1, l1), 0);
	}
	t2 = restart(f1, f2, &l2, NOW);
	ck_assert(wire_get_be64(f2 + OFF_COUNTER) == 1);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	ck_assert_int_eq(open_from(a, f2, l2), -EALREADY);
	l2 = seal_del_at(t2, NOW, f2);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	edge_sync_tx_free(t2);
}
END_TEST

START_TEST(test_a_new_boot_out_of_time_is_estale)
{
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	size_t l1, l2;
	struct edge_sync_tx *t2;

	l1 = seal_del(f1);
	ck_assert_int_eq(open_from(a, f1, l1), 0);
	t2 = restart(f1, f2, &l2, NOW - EDGE_SYNC_MAX_AGE_MS - 1);
	ck_assert_int_eq(open_from(a, f2, l2), -ESTALE);
	/* The old boot is still the one known. */
	l1 = seal_del(f1);
	ck_assert_int_eq(open_from(a, f1, l1), 0);
	edge_sync_tx_free(t2);
}
END_TEST

/* An old boot's frame, captured and still in time, replayed after the
 * restart: taken, it would make the old boot current with a fresh
 * window, and every frame of it could be replayed once more (and the
 * new boot's after, back and forth). */
START_TEST(test_an_old_boot_cannot_take_the_state_back)
{
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	size_t l1, l2;
	struct edge_sync_tx *t2;

	l1 = seal_del_at(tx, NOW - 2000, f1);
	ck_assert_int_eq(open_from(a, f1, l1), 0);
	t2 = restart(f1, f2, &l2, NOW - 1000);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	ck_assert_int_eq(open_from(a, f1, l1), -ESTALE);
	ck_assert_int_eq(open_from(a, f2, l2), -EALREADY);
	/* Nor a frame of the old boot as old as the new boot's newest. */
	l1 = seal_del_at(tx, NOW - 1000, f1);
	ck_assert_int_eq(open_from(a, f1, l1), -ESTALE);
	edge_sync_tx_free(t2);
}
END_TEST

/* Two servers that share the secret seal under keys of their own: a
 * frame of one, its header made to name the other and sent from there,
 * does not open; re-sealed under its own key it still does not (the
 * receiver derives the key the header names), and only under the key of
 * the name it carries does it open. */
START_TEST(test_two_senders_seal_under_their_own_keys)
{
	struct in_addr c = ip("10.0.0.4");	/* b's other peer */
	uint8_t fa[EDGE_SYNC_FRAME_MAX], fc[EDGE_SYNC_FRAME_MAX];
	uint8_t forged[EDGE_SYNC_FRAME_MAX], ka[32], kc[32];
	uint8_t pt[EDGE_SYNC_TIME_LEN + EDGE_SYNC_DEL_MAX];
	struct edge_sync_tx *tc;
	size_t la, lc;
	int n;

	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, c, &tc), 0);
	la = seal_del(fa);
	lc = seal_del_at(tc, NOW, fc);
	/* Counter 1 both, the same plaintext: another key, or the same
	 * key stream. */
	ck_assert_uint_eq(la, lc);
	ck_assert_mem_eq(fa + OFF_COUNTER, fc + OFF_COUNTER, 8);
	ck_assert(memcmp(fa + HDR, fc + HDR, la - HDR - 16) != 0);
	/* Each from its own address only. */
	ck_assert_int_eq(open_from(c, fa, la), -EPERM);
	ck_assert_int_eq(open_from(a, fc, lc), -EPERM);
	ck_assert_int_eq(open_from(a, fa, la), 0);
	ck_assert_int_eq(open_from(c, fc, lc), 0);
	/* a's frame naming c, from c. */
	memcpy(forged, fa, la);
	memcpy(forged + OFF_SENDER, &c.s_addr, 4);
	ck_assert_int_eq(open_from(c, forged, la), -EACCES);
	/* ... sealed again under a's key, as if keys named no sender. */
	hand_key_of(fa, ka);
	n = hand_open(ka, fa, la, pt);
	ck_assert_int_eq(n, (int)(la - HDR - 16));
	wire_put_be64(pt, NOW + 1);	/* newer than c's boot: not stale */
	ck_assert_uint_eq(hand_seal(ka, forged, pt, n), la);
	ck_assert_int_eq(open_from(c, forged, la), -EACCES);
	/* Under the key of c and a's boot it is c's frame (of a new boot
	 * of c's, as far as b can tell). */
	hand_key_of(forged, kc);
	ck_assert(memcmp(ka, kc, 32) != 0);
	ck_assert_uint_eq(hand_seal(kc, forged, pt, n), la);
	ck_assert_int_eq(open_from(c, forged, la), 0);
	edge_sync_tx_free(tc);
}
END_TEST

/* Two starts of one server, two boots, two keys: a frame of the first
 * with the second's boot does not open, sealed again under the first
 * boot's key neither; under the second boot's it does. */
START_TEST(test_two_boots_of_one_sender_seal_under_two_keys)
{
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	uint8_t forged[EDGE_SYNC_FRAME_MAX], k1[32], k2[32];
	uint8_t pt[EDGE_SYNC_TIME_LEN + EDGE_SYNC_DEL_MAX];
	struct edge_sync_tx *t2;
	size_t l1, l2;
	int n;

	l1 = seal_del(f1);
	t2 = restart(f1, f2, &l2, NOW);
	/* The same nonce (counter 1) and plaintext, another key. */
	ck_assert_mem_eq(f1 + OFF_COUNTER, f2 + OFF_COUNTER, 8);
	ck_assert(memcmp(f1 + HDR, f2 + HDR, l1 - HDR - 16) != 0);
	memcpy(forged, f1, l1);
	memcpy(forged + OFF_BOOT, f2 + OFF_BOOT, 8);
	ck_assert_int_eq(open_from(a, forged, l1), -EACCES);
	hand_key_of(f1, k1);
	n = hand_open(k1, f1, l1, pt);
	ck_assert_int_eq(n, (int)(l1 - HDR - 16));
	ck_assert_uint_eq(hand_seal(k1, forged, pt, n), l1);
	ck_assert_int_eq(open_from(a, forged, l1), -EACCES);
	hand_key_of(f2, k2);
	ck_assert(memcmp(k1, k2, 32) != 0);
	ck_assert_uint_eq(hand_seal(k2, forged, pt, n), l1);
	ck_assert_int_eq(open_from(a, forged, l1), 0);
	/* It was counter 1 of the second boot. */
	ck_assert_int_eq(open_from(a, f2, l2), -EALREADY);
	edge_sync_tx_free(t2);
}
END_TEST

/* A receiver derives keys as frames of new boots arrive, long after it
 * was made: from its own copy of the secret, not the caller's. */
START_TEST(test_the_receiver_keeps_its_own_copy_of_the_secret)
{
	uint8_t *s = secmem_alloc(SECRET_LEN);
	uint8_t f1[EDGE_SYNC_FRAME_MAX], f2[EDGE_SYNC_FRAME_MAX];
	struct edge_sync_rx *r2;
	struct edge_sync_tx *t2;
	size_t l1, l2;

	ck_assert_ptr_nonnull(s);
	memcpy(s, secret, SECRET_LEN);
	ck_assert_int_eq(edge_sync_rx_create(s, SECRET_LEN, &a, 1,
					     EDGE_SYNC_MAX_AGE_MS, &r2), 0);
	secmem_free(s);
	edge_sync_rx_free(rx);
	rx = r2;
	l1 = seal_del_at(tx, NOW - 1000, f1);
	ck_assert_int_eq(open_from(a, f1, l1), 0);
	t2 = restart(f1, f2, &l2, NOW);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	l2 = seal_del_at(t2, NOW, f2);
	ck_assert_int_eq(open_from(a, f2, l2), 0);
	edge_sync_tx_free(t2);
}
END_TEST

START_TEST(test_a_short_secret_is_refused)
{
	struct edge_sync_tx *t2 = (void *)1;
	struct edge_sync_rx *r2 = (void *)1;

	ck_assert_int_eq(edge_sync_tx_create(secret, EDGE_SYNC_SECRET_MIN - 1,
					     a, &t2), -EINVAL);
	ck_assert_ptr_null(t2);
	ck_assert_int_eq(edge_sync_rx_create(secret, EDGE_SYNC_SECRET_MIN - 1,
					     &a, 1, EDGE_SYNC_MAX_AGE_MS,
					     &r2), -EINVAL);
	ck_assert_ptr_null(r2);
	ck_assert_int_eq(edge_sync_tx_create(secret, 0, a, &t2), -EINVAL);
	ck_assert_int_eq(edge_sync_tx_create(secret, EDGE_SYNC_SECRET_MIN,
					     a, &t2), 0);
	edge_sync_tx_free(t2);
}
END_TEST

START_TEST(test_bad_peer_tables_and_senders_are_refused)
{
	struct in_addr peers[EDGE_SYNC_PEERS_MAX + 1];
	struct edge_sync_rx *r2;
	struct edge_sync_tx *t2;

	for (size_t i = 0; i < EDGE_SYNC_PEERS_MAX + 1; i++)
		peers[i].s_addr = htonl(0x0a000100u + (uint32_t)i);
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers,
					     EDGE_SYNC_PEERS_MAX + 1,
					     EDGE_SYNC_MAX_AGE_MS, &r2), -EINVAL);
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers,
					     EDGE_SYNC_PEERS_MAX,
					     EDGE_SYNC_MAX_AGE_MS, &r2), 0);
	edge_sync_rx_free(r2);
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers, 2, 0,
					     &r2), -EINVAL);
	peers[1] = peers[0];
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers, 2,
					     EDGE_SYNC_MAX_AGE_MS, &r2), -EINVAL);
	peers[1].s_addr = INADDR_ANY;
	ck_assert_int_eq(edge_sync_rx_create(secret, SECRET_LEN, peers, 2,
					     EDGE_SYNC_MAX_AGE_MS, &r2), -EINVAL);
	ck_assert_int_eq(edge_sync_tx_create(secret, SECRET_LEN, peers[1],
					     &t2), -EINVAL);
}
END_TEST

START_TEST(test_seal_refuses_what_it_cannot_frame)
{
	uint8_t *big = secmem_alloc(EDGE_SYNC_PAYLOAD_MAX + 1);
	uint8_t frame[EDGE_SYNC_FRAME_MAX + 1], type;
	size_t plen;

	ck_assert_ptr_nonnull(big);
	memset(big, 0x42, EDGE_SYNC_PAYLOAD_MAX + 1);
	ck_assert_int_eq(edge_sync_seal(tx, 0, big, 10, NOW, frame,
					sizeof(frame)), -EINVAL);
	ck_assert_int_eq(edge_sync_seal(tx, 4, big, 10, NOW, frame,
					sizeof(frame)), -EINVAL);
	/* A hello is EDGE_SYNC_HELLO_LEN bytes, never another length. */
	ck_assert_int_eq(edge_sync_seal(tx, EDGE_SYNC_HELLO, big,
					EDGE_SYNC_HELLO_LEN - 1, NOW, frame,
					sizeof(frame)), -EINVAL);
	ck_assert_int_eq(edge_sync_seal(tx, EDGE_SYNC_HELLO, big,
					EDGE_SYNC_HELLO_LEN + 1, NOW, frame,
					sizeof(frame)), -EINVAL);
	ck_assert_int_eq(edge_sync_seal(tx, EDGE_SYNC_SA, big,
					EDGE_SYNC_PAYLOAD_MAX + 1, NOW, frame,
					sizeof(frame)), -EMSGSIZE);
	ck_assert_int_eq(edge_sync_seal(tx, EDGE_SYNC_SA, big, 10, NOW, frame,
					EDGE_SYNC_OVERHEAD + 9), -ENOSPC);
	/* The largest payload makes the largest frame, and it opens; the
	 * refusals above spent no counter (this is 1). */
	ck_assert_int_eq(edge_sync_seal(tx, EDGE_SYNC_SA, big,
					EDGE_SYNC_PAYLOAD_MAX, NOW, frame,
					EDGE_SYNC_FRAME_MAX), EDGE_SYNC_FRAME_MAX);
	ck_assert(wire_get_be64(frame + OFF_COUNTER) == 1);
	ck_assert_int_eq(edge_sync_open(rx, a, frame, EDGE_SYNC_FRAME_MAX, NOW,
					&type, plain, EDGE_SYNC_PAYLOAD_MAX,
					&plen), 0);
	ck_assert_uint_eq(plen, EDGE_SYNC_PAYLOAD_MAX);
	ck_assert_mem_eq(plain, big, EDGE_SYNC_PAYLOAD_MAX);
	secmem_free(big);
}
END_TEST

START_TEST(test_a_buffer_too_small_is_enospc_and_spends_nothing)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], type;
	size_t len = seal_del(frame), plen;

	ck_assert_int_eq(edge_sync_open(rx, a, frame, len, NOW, &type, plain,
					len - EDGE_SYNC_OVERHEAD - 1, &plen),
			 -ENOSPC);
	ck_assert_int_eq(open_from(a, frame, len), 0);
}
END_TEST

/* @d encoded, with @off (from the end when negative) set to @v, must be
 * refused and leave nothing in the result. */
static void
del_refused(const struct edge_sync_del *d, int off, uint8_t v)
{
	uint8_t buf[EDGE_SYNC_DEL_MAX];
	struct edge_sync_del got;
	ssize_t n = edge_sync_del_encode(d, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	buf[off < 0 ? n + off : off] = v;
	memset(&got, 0x55, sizeof(got));
	ck_assert_msg(edge_sync_del_decode(buf, (size_t)n, &got) == -EBADMSG,
		      "accepted with byte %d = 0x%02x", off, v);
	ck_assert_str_eq(got.tunnel, "");
	ck_assert_uint_eq(got.spi_in, 0);
}

/* A delete's bytes as the documented encoding has them, whatever the
 * names' lengths: the decoder's limits, not the encoder's, are tested. */
static size_t
del_raw(const char *tunnel, const char *by, uint32_t spi_in, uint8_t *buf)
{
	size_t nt = strlen(tunnel), nb = strlen(by), off = 0;

	buf[off++] = (uint8_t)nt;
	memcpy(buf + off, tunnel, nt);
	off += nt;
	buf[off++] = (uint8_t)nb;
	memcpy(buf + off, by, nb);
	off += nb;
	wire_put_be64(buf + off, 1);
	wire_put_be32(buf + off + 8, spi_in);
	wire_put_be32(buf + off + 12, 0x1000);
	return off + 16;
}

START_TEST(test_delete_codec_refuses_bad_names_spis_and_trailing_bytes)
{
	static const char t15[] = "ttttttttttttttt", t16[] = "tttttttttttttttt";
	static const char n31[] = "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";
	static const char n32[] = "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn";
	uint8_t buf[2 * EDGE_SYNC_DEL_MAX];
	struct edge_sync_del d = del, got;
	ssize_t n;

	/* Names: empty, not printable (del: 11 "cust1-ipsec" 5 "edge1"). */
	del_refused(&del, 0, 0);
	del_refused(&del, 1, '\0');
	del_refused(&del, 5, '\0');		/* "cust\0-ipsec" is not "cust" */
	del_refused(&del, 1, ' ');
	del_refused(&del, 1, 0x7f);
	del_refused(&del, 12, 0);
	del_refused(&del, 13, '\n');
	del_refused(&del, 17, 0x80);
	/* Names too long for their fields: tunnel < IFNAMSIZ,
	 * negotiated_by < SAREC_NAME_MAX. */
	ck_assert_int_eq(sizeof(t16), IFNAMSIZ + 1);
	ck_assert_int_eq(sizeof(n32), SAREC_NAME_MAX + 1);
	n = (ssize_t)del_raw(t15, n31, 0x1000, buf);
	ck_assert_int_eq(n, EDGE_SYNC_DEL_MAX);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), 0);
	ck_assert_str_eq(got.tunnel, t15);
	ck_assert_str_eq(got.negotiated_by, n31);
	n = (ssize_t)del_raw(t16, n31, 0x1000, buf);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), -EBADMSG);
	n = (ssize_t)del_raw(t15, n32, 0x1000, buf);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), -EBADMSG);
	/* SPIs 0..255 are reserved (RFC 4303); 256 is the first. */
	n = (ssize_t)del_raw(t15, n31, 255, buf);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), -EBADMSG);
	n = (ssize_t)del_raw(t15, n31, 256, buf);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), 0);
	d.spi_in = 0x1ff;
	del_refused(&d, -6, 0);				/* spi_in 255 */
	d = del;
	d.spi_out = 0x100;
	del_refused(&d, -2, 0);				/* spi_out 0 */
	/* A byte more, or any fewer. */
	n = edge_sync_del_encode(&del, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n + 1, &got), -EBADMSG);
	for (ssize_t l = 0; l < n; l++)
		ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)l, &got),
				 -EBADMSG);
	ck_assert_int_eq(edge_sync_del_decode(buf, (size_t)n, &got), 0);
	/* Invalid deletes are not encoded; a short buffer is wiped. */
	d = del;
	d.spi_out = 255;
	ck_assert_int_eq(edge_sync_del_encode(&d, buf, sizeof(buf)), -EINVAL);
	d = del;
	d.tunnel[0] = '\0';
	ck_assert_int_eq(edge_sync_del_encode(&d, buf, sizeof(buf)), -EINVAL);
	d = del;
	memset(d.tunnel, 'x', sizeof(d.tunnel));	/* no NUL */
	ck_assert_int_eq(edge_sync_del_encode(&d, buf, sizeof(buf)), -EINVAL);
	memset(buf, 0x77, sizeof(buf));
	ck_assert_int_eq(edge_sync_del_encode(&del, buf, 20), -ENOSPC);
	for (size_t i = 0; i < 20; i++)
		ck_assert_uint_eq(buf[i], 0);
}
END_TEST

/* --- the hello ----------------------------------------------------------- */

/* A frame of @t_x carrying a hello of @kind and @epoch. */
static size_t
seal_hello(struct edge_sync_tx *t_x, uint8_t kind, uint32_t epoch,
	   uint8_t *frame)
{
	struct edge_sync_hello h = { .kind = kind, .epoch = epoch };
	uint8_t p[EDGE_SYNC_HELLO_LEN];
	ssize_t f;

	ck_assert_int_eq(edge_sync_hello_encode(&h, p, sizeof(p)),
			 EDGE_SYNC_HELLO_LEN);
	f = edge_sync_seal(t_x, EDGE_SYNC_HELLO, p, sizeof(p), NOW, frame,
			   EDGE_SYNC_FRAME_MAX);
	ck_assert_int_eq(f, EDGE_SYNC_OVERHEAD + EDGE_SYNC_HELLO_LEN);
	return (size_t)f;
}

/* edge_sync_open() of a hello from a at NOW: the result, and the hello
 * in *@h when it opened. */
static int
open_hello(const uint8_t *frame, size_t len, struct edge_sync_hello *h)
{
	uint8_t type = 0xff;
	size_t plen = 12345;
	int rc;

	rc = edge_sync_open(rx, a, frame, len, NOW, &type, plain,
			    EDGE_SYNC_PAYLOAD_MAX, &plen);
	if (rc != 0) {
		ck_assert_uint_eq(type, 0);
		ck_assert_uint_eq(plen, 0);
		return rc;
	}
	ck_assert_uint_eq(type, EDGE_SYNC_HELLO);
	ck_assert_uint_eq(plen, EDGE_SYNC_HELLO_LEN);
	ck_assert_int_eq(edge_sync_hello_decode(plain, plen, h), 0);
	return 0;
}

START_TEST(test_hello_ask_and_done_round_trip_through_frames)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], key[32];
	uint8_t out[EDGE_SYNC_TIME_LEN + EDGE_SYNC_HELLO_LEN];
	struct edge_sync_hello h;
	size_t len;

	len = seal_hello(tx, EDGE_SYNC_HELLO_ASK, 0xa1b2c3d4, frame);
	/* The documented layout: type 3, 6 bytes of kind, zero, epoch. */
	ck_assert_mem_eq(frame, "TSSP\x01\x03\x00\x06", 8);
	hand_key_of(frame, key);
	ck_assert_int_eq(hand_open(key, frame, len, out), 8 + 6);
	ck_assert_mem_eq(out + 8, "\x01\x00\xa1\xb2\xc3\xd4", 6);
	ck_assert_int_eq(open_hello(frame, len, &h), 0);
	ck_assert_uint_eq(h.kind, EDGE_SYNC_HELLO_ASK);
	ck_assert_uint_eq(h.epoch, 0xa1b2c3d4);
	/* Replayed like any frame. */
	ck_assert_int_eq(open_hello(frame, len, &h), -EALREADY);

	len = seal_hello(tx, EDGE_SYNC_HELLO_DONE, 0, frame);
	ck_assert_int_eq(open_hello(frame, len, &h), 0);
	ck_assert_uint_eq(h.kind, EDGE_SYNC_HELLO_DONE);
	ck_assert_uint_eq(h.epoch, 0);
}
END_TEST

START_TEST(test_a_truncated_hello_is_refused)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], cut[EDGE_SYNC_FRAME_MAX];
	uint8_t p[EDGE_SYNC_HELLO_LEN] = { 1, 0, 9, 9, 9, 9 };
	struct edge_sync_hello h;
	size_t len = seal_hello(tx, EDGE_SYNC_HELLO_ASK, 7, frame);

	for (size_t l = 0; l < len; l++) {
		ck_assert_int_eq(open_hello(frame, l, &h), -EBADMSG);
		/* The length field made to agree: a hello of another
		 * length, malformed before any key is derived. */
		if (l >= EDGE_SYNC_OVERHEAD) {
			memcpy(cut, frame, l);
			wire_put_be16(cut + 6, (uint16_t)(l - EDGE_SYNC_OVERHEAD));
			ck_assert_int_eq(open_hello(cut, l, &h), -EBADMSG);
		}
	}
	for (size_t l = 0; l < sizeof(p); l++) {
		memset(&h, 0x55, sizeof(h));
		ck_assert_int_eq(edge_sync_hello_decode(p, l, &h), -EBADMSG);
		ck_assert_uint_eq(h.kind, 0);
		ck_assert_uint_eq(h.epoch, 0);
	}
	ck_assert_int_eq(open_hello(frame, len, &h), 0);
}
END_TEST

/* A hello frame of 7 bytes, sealed by hand under a's right key: the
 * codec refuses it by its length alone (no tag check needed). */
START_TEST(test_a_hello_of_another_length_is_ebadmsg_even_when_sealed_right)
{
	uint8_t frame[EDGE_SYNC_FRAME_MAX], in[8 + 7] = { 0 }, key[32];
	uint8_t p[EDGE_SYNC_HELLO_LEN + 1] = { 1, 0, 0, 0, 0, 1, 0 }, type;
	struct edge_sync_hello h;
	size_t len, plen;

	memcpy(frame, "TSSP\x01\x03\x00\x07", 8);
	memcpy(frame + OFF_SENDER, &a.s_addr, 4);
	wire_put_be64(frame + OFF_BOOT, KAT_BOOT);
	wire_put_be64(frame + OFF_COUNTER, 1);
	wire_put_be64(in, NOW);
	memcpy(in + 8, p, 7);
	hand_key(a, KAT_BOOT, key);
	len = hand_seal(key, frame, in, (int)sizeof(in));
	ck_assert_int_eq(open_hello(frame, len, &h), -EBADMSG);
	/* The same as a delete's type: the length is fine, the tag too. */
	frame[5] = EDGE_SYNC_DEL;
	len = hand_seal(key, frame, in, (int)sizeof(in));
	ck_assert_int_eq(edge_sync_open(rx, a, frame, len, NOW, &type, plain,
					EDGE_SYNC_PAYLOAD_MAX, &plen), 0);
	ck_assert_uint_eq(plen, 7);
	/* The payload decoder: 6 bytes exactly. */
	ck_assert_int_eq(edge_sync_hello_decode(p, sizeof(p), &h), -EBADMSG);
}
END_TEST

START_TEST(test_an_unauthenticated_hello_is_refused)
{
	static const uint8_t other[] = "another secret, 32 bytes long!!!";
	uint8_t frame[EDGE_SYNC_FRAME_MAX], bad[EDGE_SYNC_FRAME_MAX], type;
	struct edge_sync_hello h;
	struct edge_sync_tx *t2;
	size_t len, plen;

	ck_assert_int_eq(edge_sync_tx_create(other, sizeof(other) - 1, a, &t2), 0);
	len = seal_hello(t2, EDGE_SYNC_HELLO_ASK, 1, frame);
	ck_assert_int_eq(open_hello(frame, len, &h), -EACCES);
	edge_sync_tx_free(t2);
	/* Sealed right, then any payload or tag byte altered. */
	len = seal_hello(tx, EDGE_SYNC_HELLO_DONE, 1, frame);
	for (size_t i = HDR; i < len; i++) {
		memcpy(bad, frame, len);
		bad[i] ^= 0x01;
		ck_assert_int_eq(open_hello(bad, len, &h), -EACCES);
	}
	/* From a stranger, or naming another sender. */
	ck_assert_int_eq(edge_sync_open(rx, stranger, frame, len, NOW, &type,
					plain, EDGE_SYNC_PAYLOAD_MAX, &plen),
			 -EPERM);
	ck_assert_int_eq(open_hello(frame, len, &h), 0);
}
END_TEST

START_TEST(test_hello_codec_refuses_unknown_kinds_and_a_reserved_byte)
{
	struct edge_sync_hello h = { .kind = EDGE_SYNC_HELLO_DONE,
				     .epoch = 0x01020304 };
	uint8_t buf[EDGE_SYNC_HELLO_LEN + 1];

	ck_assert_int_eq(edge_sync_hello_encode(&h, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "\x02\x00\x01\x02\x03\x04", 6);
	ck_assert_int_eq(edge_sync_hello_decode(buf, 6, &h), 0);
	ck_assert_int_eq(edge_sync_hello_decode(buf, 7, &h), -EBADMSG);
	buf[1] = 1;
	ck_assert_int_eq(edge_sync_hello_decode(buf, 6, &h), -EBADMSG);
	buf[1] = 0;
	for (unsigned int k = 0; k < 256; k++) {
		buf[0] = (uint8_t)k;
		ck_assert_int_eq(edge_sync_hello_decode(buf, 6, &h),
				 k == 1 || k == 2 ? 0 : -EBADMSG);
	}
	h.kind = 3;
	ck_assert_int_eq(edge_sync_hello_encode(&h, buf, sizeof(buf)), -EINVAL);
	h.kind = EDGE_SYNC_HELLO_ASK;
	ck_assert_int_eq(edge_sync_hello_encode(&h, buf, 5), -ENOSPC);
}
END_TEST

static Suite *
edge_sync_suite(void)
{
	Suite *s = suite_create("edge_sync");
	TCase *tc = tcase_create("channel");
	TCase *del_tc = tcase_create("delete");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sa_record_round_trips_and_its_keys_never_show_on_the_wire);
	tcase_add_test(tc, test_delete_round_trips_through_a_frame);
	tcase_add_test(tc, test_a_frame_of_another_implementation_opens);
	tcase_add_test(tc, test_a_sealed_frame_is_the_documented_layout);
	tcase_add_test(tc, test_every_single_byte_flip_anywhere_is_refused);
	tcase_add_test(tc, test_another_key_is_eacces);
	tcase_add_test(tc, test_every_truncation_is_refused_never_accepted);
	tcase_add_test(tc, test_malformed_headers_are_ebadmsg_before_anything_else);
	tcase_add_test(tc, test_a_stranger_or_a_spoofed_sender_is_eperm);
	tcase_add_test(tc, test_the_same_frame_twice_is_ealready);
	tcase_add_test(tc, test_reordering_within_the_window_is_accepted_once_each);
	tcase_add_test(tc, test_a_shuffled_burst_is_accepted_once_each);
	tcase_add_test(tc, test_older_than_the_window_is_ealready);
	tcase_add_test(tc, test_stale_or_future_time_is_estale_and_spends_nothing);
	tcase_add_test(tc, test_a_forged_frame_spends_no_counter);
	tcase_add_test(tc, test_a_restarted_peer_is_accepted_and_counts_from_one_again);
	tcase_add_test(tc, test_a_new_boot_out_of_time_is_estale);
	tcase_add_test(tc, test_an_old_boot_cannot_take_the_state_back);
	tcase_add_test(tc, test_two_senders_seal_under_their_own_keys);
	tcase_add_test(tc, test_two_boots_of_one_sender_seal_under_two_keys);
	tcase_add_test(tc, test_the_receiver_keeps_its_own_copy_of_the_secret);
	tcase_add_test(tc, test_a_short_secret_is_refused);
	tcase_add_test(tc, test_bad_peer_tables_and_senders_are_refused);
	tcase_add_test(tc, test_seal_refuses_what_it_cannot_frame);
	tcase_add_test(tc, test_a_buffer_too_small_is_enospc_and_spends_nothing);
	tcase_add_test(tc, test_hello_ask_and_done_round_trip_through_frames);
	tcase_add_test(tc, test_a_truncated_hello_is_refused);
	tcase_add_test(tc, test_a_hello_of_another_length_is_ebadmsg_even_when_sealed_right);
	tcase_add_test(tc, test_an_unauthenticated_hello_is_refused);
	suite_add_tcase(s, tc);
	tcase_add_test(del_tc, test_delete_codec_refuses_bad_names_spis_and_trailing_bytes);
	tcase_add_test(del_tc, test_hello_codec_refuses_unknown_kinds_and_a_reserved_byte);
	suite_add_tcase(s, del_tc);
	return s;
}

CHECK_MAIN(edge_sync_suite)
