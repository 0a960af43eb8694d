/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The record of one CHILD SA as the edge server that negotiated it knows
 * it: what another server needs to install the same two XFRM states and
 * its policies on its own interface (issue 12, SA propagation; the
 * provider's ../shared/PROVIDER.md §3).  SPIs, algorithms (IKEv2 transform
 * IDs, RFC 7296 / IANA), keys, selectors, if_id, NAT-T ports.
 *
 * "in" and "out" are seen from the provider's side, which is the same on
 * every server: in = customer → edge (the customer's outbound SA).
 *
 * The keys live in secret memory (lib/secmem.h: never dumped, wiped when
 * freed), held by the record and freed with sarec_clear().  The encoded
 * form holds them too: encode only into memory that is wiped after use
 * (secmem_alloc()).  The codec has no authentication; the channel that
 * carries it must add it.
 *
 * Encoding (version 1, big-endian, no padding; nothing may follow):
 *   "TSSA" u8 version u8 flags(1: esn, 2: encap)
 *   u8 len, tunnel; u8 len, negotiated_by
 *   u64 serial; u32 spi_in spi_out if_id reqid replay_window lifetime_s
 *   4 local, 4 remote (IPv4, network order); u16 encap_sport encap_dport
 *   u16 encr_alg encr_keysize integ_alg
 *   u8 n_local, u8 n_remote, then each selector: u8 family(4|6) u8 len,
 *     4 or 16 address bytes (host bits zero)
 *   u8 encr_len, encr_in, encr_out; u8 integ_len, integ_in, integ_out
 */
#ifndef TUNSTEER_SAREC_H
#define TUNSTEER_SAREC_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/addr.h"

#define SAREC_VERSION 1
#define SAREC_NAME_MAX 32		/* a server's name, NUL included */
#define SAREC_TS_MAX 4			/* selectors per side */
/* AES-256-GCM: 32 + 4 salt; HMAC-SHA2-512: 64. */
#define SAREC_KEY_MAX 64
/* The largest encoding: the fixed part, the names (a length byte and at
 * most size - 1 bytes each), selectors, keys. */
#define SAREC_ENCODED_MAX (6 + IFNAMSIZ + SAREC_NAME_MAX + 8 + \
	6 * 4 + 8 + 4 + 6 + 2 + 2 * SAREC_TS_MAX * 18 + \
	2 * (1 + 2 * SAREC_KEY_MAX))

/* IKEv2 transform IDs the provider's proposals use (RFC 7296 §3.3.2,
 * RFC 4106, IANA "Transform Type 1/3"). */
#define SAREC_ENCR_AES_CBC 12
#define SAREC_ENCR_NULL 11
#define SAREC_ENCR_AES_GCM_16 20
#define SAREC_INTEG_NONE 0
#define SAREC_INTEG_HMAC_SHA1_96 2
#define SAREC_INTEG_HMAC_SHA2_256_128 12

struct sarec_keys {
	uint8_t encr_len, integ_len;	/* the same in both directions */
	uint8_t encr_in[SAREC_KEY_MAX], encr_out[SAREC_KEY_MAX];
	uint8_t integ_in[SAREC_KEY_MAX], integ_out[SAREC_KEY_MAX];
};

struct sarec {
	char tunnel[IFNAMSIZ];		/* the edge tunnel (peer config) */
	char negotiated_by[SAREC_NAME_MAX];	/* that server's name */
	/* Per negotiating server, increasing: of two records of the same
	 * tunnel from one server, the higher is the newer (a rekey). */
	uint64_t serial;
	uint32_t spi_in, spi_out;	/* host order; never 0..255 */
	uint32_t if_id, reqid;
	uint32_t replay_window;		/* 0: off (the provider's default) */
	uint32_t lifetime_s;		/* hard, as negotiated; 0: none */
	struct in_addr local, remote;	/* outer: anycast, customer endpoint */
	bool esn;
	uint16_t encap_sport, encap_dport;	/* NAT-T UDP ports; 0: plain ESP */
	uint16_t encr_alg, encr_keysize;	/* keysize in bits; 0: fixed */
	uint16_t integ_alg;		/* SAREC_INTEG_NONE with AEAD */
	size_t n_ts_local, n_ts_remote;	/* 1..SAREC_TS_MAX each */
	struct ts_prefix ts_local[SAREC_TS_MAX], ts_remote[SAREC_TS_MAX];
	struct sarec_keys *keys;	/* secret memory; owned; NULL: none */
	/* Not encoded: the receiver's own choice (tunsteer-edge, a tunnel
	 * with replay_protection).  kernel_ops.xfrm_sa_add() then installs
	 * the inbound state and the in and fwd policies only, so that this
	 * server can decrypt the customer's ESP but never send under the
	 * SA (a sender of its own would break the customer's window). */
	bool inbound_only;
};

/*
 * Secret memory for @r's keys, zeroed (replacing and wiping any it held).
 * 0 or -ENOMEM.
 */
int sarec_keys_alloc(struct sarec *r) __attribute__((warn_unused_result));

/* Wipe and free @r's keys, then zero @r.  Safe on a zeroed record. */
void sarec_clear(struct sarec *r);

/*
 * Is @s a name a record may carry (a tunnel, a server): NUL-ended within
 * @max bytes, 1..@max - 1 printable ASCII bytes, no space.  What names
 * the record's SA elsewhere (the propagation channel's delete,
 * edge/edge_sync.h) follows the same rule.
 */
bool sarec_name_ok(const char *s, size_t max);

/*
 * Is @r whole and consistent (what sarec_decode() accepts): names set,
 * SPIs above 255, keys present with lengths that fit, an integrity key
 * exactly when there is an integrity algorithm, 1..SAREC_TS_MAX masked
 * selectors a side?  0 or -EINVAL.
 */
int sarec_validate(const struct sarec *r);

/*
 * Encode @r (which must pass sarec_validate()) into @buf of @len bytes.
 * The length written, or -EINVAL (@r invalid) or -ENOSPC (@len too small;
 * SAREC_ENCODED_MAX always suffices).  @buf holds keys afterwards.
 */
ssize_t sarec_encode(const struct sarec *r, uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * Decode exactly @len bytes of @buf into @r (overwritten: clear a record
 * that holds keys first; its keys in fresh secret memory, the caller's:
 * sarec_clear()).  0, -EBADMSG
 * (truncated, trailing bytes, unknown version, or a record that fails
 * sarec_validate()) or -ENOMEM; on error @r is zeroed and holds nothing.
 */
int sarec_decode(const uint8_t *buf, size_t len, struct sarec *r)
	__attribute__((warn_unused_result));

/* The ESP proposal @r carries, in strongSwan's syntax ("aes256gcm16",
 * "aes128-sha256", "null-sha1"), into @buf; never a key. */
void sarec_proposal(const struct sarec *r, char *buf, size_t len);

#endif
