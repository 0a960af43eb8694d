/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SA propagation channel's codec (issue 12): the frames one edge
 * server sends its relay peers about the CHILD SAs it negotiated, so each
 * can install the same XFRM states.  Their payloads hold ESP keys, so
 * every frame is encrypted and authenticated (AES-256-GCM, OpenSSL 3's
 * EVP), and a receiver refuses anything unauthenticated, malformed,
 * replayed or stale.  No sockets and no loop here: the caller reads and
 * writes the datagrams and passes the time in.
 *
 * Frame (version 1, big-endian):
 *
 *   header, 28 bytes, all of it GCM's additional data:
 *     "TSSP" u8 version(1) u8 type(1: SA record, 2: SA delete,
 *       3: hello)
 *     u16 payload length
 *     u32 sender (its relay IPv4 address, network order)
 *     u64 boot (random, drawn once per process start)
 *     u64 counter (per boot, from 1, strictly increasing)
 *   ciphertext of 8 + payload length bytes:
 *     u64 time_ms (the sender's CLOCK_REALTIME in ms), then the payload
 *   the 16-byte GCM tag
 *
 *   key (32 bytes) = HKDF-SHA256 of the shared secret, salt
 *     "tunsteer-edge", info "sa-propagation v1" (both without a NUL)
 *     followed by the sender's 4 and the boot's 8 bytes as in the header
 *   nonce (12 bytes) = 4 zero bytes || counter, as in the header.
 *
 * Every (sender, boot) has its own key, so a nonce is used twice under
 * one key only if one sender draws the same 64-bit boot at two starts:
 * about n^2/2^65 over n starts of one server in the secret's life.  A
 * receiver derives the key of a peer's boot when a frame of it arrives
 * and keeps it while that boot is the peer's.
 *
 * A receiver keeps, per configured peer, the boot it last accepted, the
 * highest counter of that boot and a bitmap of the EDGE_SYNC_WINDOW
 * counters up to it, so mild reordering is accepted and no counter twice.
 * A frame's time may be at most max_age_ms away from the receiver's clock
 * either way.  Another boot (the peer restarted) is taken, with its
 * counters starting over, only from a frame that passes that and is newer
 * than any frame of the boot it replaces: a captured frame of an old boot
 * cannot reset the state back to that boot and replay its frames again.
 *
 * Payloads: a SA record is sarec_encode()'s bytes (lib/sarec.h); a SA
 * delete is edge_sync_del_encode()'s; a hello is edge_sync_hello_encode()'s
 * (below), always EDGE_SYNC_HELLO_LEN bytes: a frame of type 3 with
 * another payload length is malformed.
 */
#ifndef TUNSTEER_EDGE_SYNC_H
#define TUNSTEER_EDGE_SYNC_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/sarec.h"

#define EDGE_SYNC_VERSION 1
#define EDGE_SYNC_SA 1			/* payload: a sarec encoding */
#define EDGE_SYNC_DEL 2			/* payload: an edge_sync_del encoding */
#define EDGE_SYNC_HELLO 3		/* payload: an edge_sync_hello encoding */

#define EDGE_SYNC_HDR_LEN 28
#define EDGE_SYNC_TIME_LEN 8
#define EDGE_SYNC_TAG_LEN 16
#define EDGE_SYNC_PAYLOAD_MAX 1024
#define EDGE_SYNC_OVERHEAD (EDGE_SYNC_HDR_LEN + EDGE_SYNC_TIME_LEN + \
	EDGE_SYNC_TAG_LEN)
#define EDGE_SYNC_FRAME_MAX (EDGE_SYNC_OVERHEAD + EDGE_SYNC_PAYLOAD_MAX)

#define EDGE_SYNC_SECRET_MIN 16		/* bytes of shared secret */
#define EDGE_SYNC_WINDOW 64		/* counters up to the highest */
#define EDGE_SYNC_MAX_AGE_MS 30000	/* the default */
#define EDGE_SYNC_PEERS_MAX 64		/* edge_config's relay.peers */

struct edge_sync_tx;
struct edge_sync_rx;

/*
 * A sender for the server whose relay address is @sender: a boot drawn
 * from getrandom(2) and the key of (@sender, boot) derived from @secret
 * (@len bytes, the caller's, not kept).  Made once per process start: a
 * second sender of one server restarts its counters under a new boot,
 * and so a new key.  0 with *@out
 * (in secret memory; edge_sync_tx_free()), -EINVAL (a secret shorter than
 * EDGE_SYNC_SECRET_MIN, or @sender 0.0.0.0), -ENOMEM, -EIO (libcrypto
 * failed), or getrandom's error.
 */
int edge_sync_tx_create(const uint8_t *secret, size_t len,
			struct in_addr sender, struct edge_sync_tx **out)
	__attribute__((warn_unused_result));

/* Wipe and free @tx.  NULL: no-op. */
void edge_sync_tx_free(struct edge_sync_tx *tx);

/*
 * Seal @len bytes of @payload as a frame of @type (EDGE_SYNC_SA,
 * EDGE_SYNC_DEL or EDGE_SYNC_HELLO), stamped @now_ms (CLOCK_REALTIME in
 * ms), with the next counter, into @out (@outlen bytes; EDGE_SYNC_OVERHEAD
 * + @len needed, EDGE_SYNC_FRAME_MAX always enough; not overlapping
 * @payload).  The frame's length, or -EINVAL (@type unknown, or a hello
 * whose @len is not EDGE_SYNC_HELLO_LEN), -EMSGSIZE (@len over
 * EDGE_SYNC_PAYLOAD_MAX), -ENOSPC, -EOVERFLOW (the counter is spent) or
 * -EIO; on error @out holds no frame.  @payload may hold keys: it is the
 * caller's, in secret memory (secmem_alloc()); nothing here keeps a copy
 * of it, and the frame holds only its ciphertext.
 */
ssize_t edge_sync_seal(struct edge_sync_tx *tx, uint8_t type,
		       const uint8_t *payload, size_t len, uint64_t now_ms,
		       uint8_t *out, size_t outlen)
	__attribute__((warn_unused_result));

/*
 * A receiver that accepts frames from the @n_peers relay addresses of
 * @peers (copied; each frame's sender must be the address it came from),
 * sealed under the key of @secret (@len bytes, copied into secret
 * memory) for their sender and boot (as edge_sync_tx_create()), at most
 * @max_age_ms (EDGE_SYNC_MAX_AGE_MS unless testing) old or ahead.  It
 * remembers nothing yet: the first frame of each peer sets its boot and
 * counter.  0 with *@out (in secret memory; edge_sync_rx_free()),
 * -EINVAL (a short secret, more than EDGE_SYNC_PEERS_MAX peers, a peer
 * 0.0.0.0 or listed twice, @max_age_ms 0), -ENOMEM or -EIO.
 */
int edge_sync_rx_create(const uint8_t *secret, size_t len,
			const struct in_addr *peers, size_t n_peers,
			uint64_t max_age_ms, struct edge_sync_rx **out)
	__attribute__((warn_unused_result));

/* Wipe and free @rx.  NULL: no-op. */
void edge_sync_rx_free(struct edge_sync_rx *rx);

/*
 * Open the @len bytes of @frame that arrived from @from at @now_ms
 * (CLOCK_REALTIME in ms).  0 with *@type, the payload in @plain (@plainlen
 * bytes, EDGE_SYNC_PAYLOAD_MAX always enough) and its length in
 * *@payload_len; the frame's counter is then spent.  Otherwise *@type and
 * *@payload_len are 0, @plain holds nothing of the frame, @rx is
 * unchanged, and the error says why:
 *   -EBADMSG   malformed: short, bad magic, unknown version or type,
 *              payload length over the maximum or not the frame's, a
 *              hello's not EDGE_SYNC_HELLO_LEN, counter 0
 *   -EPERM     @from is not a peer, or the header names another sender
 *   -EALREADY  a replay: the counter was accepted, or is below the window
 *   -ENOSPC    @plainlen is less than the payload
 *   -EACCES    the tag does not verify (wrong key, altered, truncated)
 *   -ESTALE    time_ms more than max_age_ms from @now_ms, or a new boot
 *              whose frame is no newer than what its predecessor sent
 *   -EIO       libcrypto failed
 * Header, peer and replay are checked before any key is derived or
 * anything decrypted; the replay state, and the key kept for the peer's
 * boot, change only for a frame whose tag verified.  @plain may
 * receive keys: it must be secret memory (secmem_alloc()), and the caller
 * wipes it after use; nothing here keeps a copy.
 */
int edge_sync_open(struct edge_sync_rx *rx, struct in_addr from,
		   const uint8_t *frame, size_t len, uint64_t now_ms,
		   uint8_t *type, uint8_t *plain, size_t plainlen,
		   size_t *payload_len)
	__attribute__((warn_unused_result));

/*
 * A SA delete: the server that negotiated it has seen the CHILD SA go,
 * and the others remove theirs.  It names the SA as its record did.
 * Encoding (big-endian, nothing may follow):
 *   u8 len, tunnel; u8 len, negotiated_by; u64 serial; u32 spi_in spi_out
 */
struct edge_sync_del {
	char tunnel[IFNAMSIZ];
	char negotiated_by[SAREC_NAME_MAX];
	uint64_t serial;		/* the record's */
	uint32_t spi_in, spi_out;	/* host order; never 0..255 */
};

#define EDGE_SYNC_DEL_MAX (1 + (IFNAMSIZ - 1) + 1 + (SAREC_NAME_MAX - 1) + \
	8 + 4 + 4)

/* Are @d's names as a record's (sarec_name_ok()) and its SPIs above 255?
 * 0 or -EINVAL. */
int edge_sync_del_validate(const struct edge_sync_del *d);

/*
 * Encode @d into @buf of @len bytes (EDGE_SYNC_DEL_MAX always enough).
 * The length written, or -EINVAL (@d fails edge_sync_del_validate()) or
 * -ENOSPC (@buf zeroed).
 */
ssize_t edge_sync_del_encode(const struct edge_sync_del *d, uint8_t *buf,
			     size_t len)
	__attribute__((warn_unused_result));

/*
 * Decode exactly @len bytes of @buf into @d: 0, or -EBADMSG (truncated,
 * trailing bytes, a name empty, too long or not printable, an SPI below
 * 256), @d then zeroed.
 */
int edge_sync_del_decode(const uint8_t *buf, size_t len,
			 struct edge_sync_del *d)
	__attribute__((warn_unused_result));

/*
 * A hello: the resync of a server whose channel to a peer is new (it
 * started, a reload made the channel, or the peer was silent).  The
 * asker sends EDGE_SYNC_HELLO_ASK to the peer; the peer resends the live
 * records it negotiated, each a frame of its own, then
 * EDGE_SYNC_HELLO_DONE with the ask's epoch, so the asker knows that its
 * ask, not an older one, was answered.  The sender is the frame's
 * (authenticated) sender.  Encoding (big-endian, exactly 6 bytes):
 *   u8 kind (1: ask, 2: done), u8 zero (reserved), u32 epoch
 * The epoch is the asker's, drawn at random for each channel and peer:
 * a done of another life of the asker (one captured, still in time) does
 * not answer this one's asks.
 */
#define EDGE_SYNC_HELLO_ASK 1
#define EDGE_SYNC_HELLO_DONE 2
#define EDGE_SYNC_HELLO_LEN 6

struct edge_sync_hello {
	uint8_t kind;			/* EDGE_SYNC_HELLO_ASK or _DONE */
	uint32_t epoch;			/* host order */
};

/*
 * Encode @h into @buf of @len bytes (EDGE_SYNC_HELLO_LEN always enough):
 * EDGE_SYNC_HELLO_LEN, or -EINVAL (an unknown kind) or -ENOSPC.
 */
ssize_t edge_sync_hello_encode(const struct edge_sync_hello *h, uint8_t *buf,
			       size_t len)
	__attribute__((warn_unused_result));

/*
 * Decode exactly @len bytes of @buf into @h: 0, or -EBADMSG (not
 * EDGE_SYNC_HELLO_LEN bytes, an unknown kind, the reserved byte not
 * zero), @h then zeroed.
 */
int edge_sync_hello_decode(const uint8_t *buf, size_t len,
			   struct edge_sync_hello *h)
	__attribute__((warn_unused_result));

#endif
