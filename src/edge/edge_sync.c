/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SA propagation channel's codec (edge_sync.h).  All cryptography is
 * libcrypto's EVP (HKDF, AES-256-GCM); what is ours is the framing, the
 * order of the checks and the replay state.  A receiver trusts nothing
 * of a frame before its tag verifies except what it needs to decide
 * cheaply that it will not decrypt it (format, peer, replay).
 *
 * Each (sender, boot) seals under its own key and its counter is the
 * nonce: two servers that draw the same boot still seal under two keys,
 * and a nonce repeats under one key only if one server draws the same
 * 64-bit boot at two starts.
 */
#include "autoconfig.h"

#include "edge/edge_sync.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "edge/edge_config.h"
#include "lib/secmem.h"
#include "lib/wire.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define INFO_LEN (sizeof(kdf_info) - 1 + 4 + 8)

/* A whole record or delete goes in one frame; a peer table holds every
 * peer the config can name. */
_Static_assert(SAREC_ENCODED_MAX <= EDGE_SYNC_PAYLOAD_MAX,
	       "a SA record does not fit a frame");
_Static_assert(EDGE_SYNC_DEL_MAX <= EDGE_SYNC_PAYLOAD_MAX,
	       "a SA delete does not fit a frame");
_Static_assert(EDGE_SYNC_HELLO_LEN <= EDGE_SYNC_PAYLOAD_MAX,
	       "a hello does not fit a frame");
_Static_assert(EDGE_SYNC_PAYLOAD_MAX <= UINT16_MAX,
	       "the payload length is a u16");
_Static_assert(EDGE_SYNC_PEERS_MAX >= EDGE_MAX_PEERS,
	       "relay.peers may name more peers than a receiver keeps");
_Static_assert(EDGE_SYNC_WINDOW == 64, "the window is one uint64_t");

static const uint8_t magic[4] = { 'T', 'S', 'S', 'P' };
static const char kdf_salt[] = "tunsteer-edge";
static const char kdf_info[] = "sa-propagation v1";

/* Offsets in the header. */
#define OFF_VERSION 4
#define OFF_TYPE 5
#define OFF_LEN 6
#define OFF_SENDER 8
#define OFF_BOOT 12
#define OFF_COUNTER 20
_Static_assert(OFF_COUNTER + 8 == EDGE_SYNC_HDR_LEN, "the header's length");

/* The key of one (sender, boot), in secret memory. */
struct edge_sync_tx {
	uint8_t key[KEY_LEN];
	EVP_CIPHER *aead;
	uint32_t sender;		/* network order */
	uint64_t boot;
	uint64_t counter;		/* the last one sealed */
};

struct sync_peer {
	struct in_addr addr;
	bool seen;			/* a frame of @boot was accepted */
	uint64_t boot;
	uint64_t top;			/* the highest counter accepted */
	uint64_t window;		/* bit i: top - i accepted */
	uint64_t newest_ms;		/* the newest time_ms accepted */
	uint8_t key[KEY_LEN];		/* of (@addr, @boot), once @seen */
};

/* In secret memory, with everything it holds: the secret, each peer's
 * key of its current boot, and @fresh, the key of a frame of another
 * boot while that frame is opened (zero otherwise). */
struct edge_sync_rx {
	uint8_t *secret;		/* secret memory of its own */
	size_t secret_len;
	uint8_t fresh[KEY_LEN];
	EVP_KDF *kdf;
	EVP_CIPHER *aead;
	uint64_t max_age_ms;
	size_t n_peers;
	struct sync_peer peers[EDGE_SYNC_PEERS_MAX];
};

/* The frame's header, as read (before anything is authenticated). */
struct sync_hdr {
	uint8_t type;
	uint16_t len;
	uint32_t sender;		/* network order */
	uint64_t boot;
	uint64_t counter;
};

/* Is @type a frame type, and @len a payload length it may have? */
static bool
type_ok(uint8_t type, size_t len)
{
	switch (type) {
	case EDGE_SYNC_SA:
	case EDGE_SYNC_DEL:
		return true;
	case EDGE_SYNC_HELLO:
		return len == EDGE_SYNC_HELLO_LEN;
	default:
		return false;
	}
}

/* The key of @sender's (network order) @boot, HKDF-SHA256 of @secret
 * (edge_sync.h), into @key, which is secret memory: 0 or -EIO, @key then
 * zeroed.  The info is no secret; the KDF context wipes its copy of the
 * secret and its intermediate key when freed. */
static int
sync_derive(EVP_KDF *kdf, const uint8_t *secret, size_t len,
	    uint32_t sender, uint64_t boot, uint8_t key[KEY_LEN])
{
	uint8_t info[INFO_LEN];
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5];
	int err = -EIO;

	memcpy(info, kdf_info, sizeof(kdf_info) - 1);
	memcpy(info + sizeof(kdf_info) - 1, &sender, 4);
	wire_put_be64(info + sizeof(kdf_info) - 1 + 4, boot);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)secret, len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		(void *)kdf_salt, sizeof(kdf_salt) - 1);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      info, sizeof(info));
	params[4] = OSSL_PARAM_construct_end();
	if ((kctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(kctx, key, KEY_LEN, params) == 1)
		err = 0;
	else
		explicit_bzero(key, KEY_LEN);
	EVP_KDF_CTX_free(kctx);
	return err;
}

/* HKDF and the cipher, fetched once for every frame of a sender or
 * receiver: 0 or -EIO. */
static int
sync_fetch(EVP_KDF **kdf, EVP_CIPHER **aead)
{
	if ((*kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (*aead = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL)
		return -EIO;
	return 0;
}

/* The key is the (sender, boot)'s own: the counter alone makes the nonce
 * unique under it. */
static void
nonce_of(uint64_t counter, uint8_t nonce[NONCE_LEN])
{
	memset(nonce, 0, NONCE_LEN - 8);
	wire_put_be64(nonce + NONCE_LEN - 8, counter);
}

int
edge_sync_tx_create(const uint8_t *secret, size_t len, struct in_addr sender,
		    struct edge_sync_tx **out)
{
	struct edge_sync_tx *tx;
	EVP_KDF *kdf = NULL;
	int err;

	*out = NULL;
	if (len < EDGE_SYNC_SECRET_MIN || sender.s_addr == INADDR_ANY)
		return -EINVAL;
	if ((tx = secmem_alloc(sizeof(*tx))) == NULL)
		return -ENOMEM;
	tx->sender = sender.s_addr;
	/* The key is this boot's, its counter the nonce: a boot is never a
	 * fallback value, or two starts would share a key and nonces from
	 * counter 1 on. */
	if (getrandom(&tx->boot, sizeof(tx->boot), 0) != sizeof(tx->boot)) {
		err = errno ? -errno : -EIO;
		goto fail;
	}
	if ((err = sync_fetch(&kdf, &tx->aead)) != 0 ||
	    (err = sync_derive(kdf, secret, len, tx->sender, tx->boot,
			       tx->key)) != 0)
		goto fail;
	EVP_KDF_free(kdf);
	*out = tx;
	return 0;
fail:
	EVP_KDF_free(kdf);
	edge_sync_tx_free(tx);
	return err;
}

void
edge_sync_tx_free(struct edge_sync_tx *tx)
{
	if (!tx)
		return;
	EVP_CIPHER_free(tx->aead);
	secmem_free(tx);
}

ssize_t
edge_sync_seal(struct edge_sync_tx *tx, uint8_t type, const uint8_t *payload,
	       size_t len, uint64_t now_ms, uint8_t *out, size_t outlen)
{
	uint8_t nonce[NONCE_LEN], t[EDGE_SYNC_TIME_LEN];
	uint8_t *ct = out + EDGE_SYNC_HDR_LEN;
	size_t total = EDGE_SYNC_OVERHEAD + len;
	EVP_CIPHER_CTX *ctx = NULL;
	ssize_t ret = -EIO;
	int n;

	if (!type_ok(type, len))
		return -EINVAL;
	if (len > EDGE_SYNC_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (outlen < total)
		return -ENOSPC;
	if (tx->counter == UINT64_MAX)
		return -EOVERFLOW;
	/* Spent before use: whatever fails below, no nonce is used twice. */
	tx->counter++;
	memcpy(out, magic, sizeof(magic));
	out[OFF_VERSION] = EDGE_SYNC_VERSION;
	out[OFF_TYPE] = type;
	wire_put_be16(out + OFF_LEN, (uint16_t)len);
	memcpy(out + OFF_SENDER, &tx->sender, 4);
	wire_put_be64(out + OFF_BOOT, tx->boot);
	wire_put_be64(out + OFF_COUNTER, tx->counter);
	wire_put_be64(t, now_ms);
	nonce_of(tx->counter, nonce);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(ctx, tx->aead, tx->key, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, out, EDGE_SYNC_HDR_LEN) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, t, sizeof(t)) != 1 ||
	    n != (int)sizeof(t))
		goto out;
	if (len > 0 &&
	    (EVP_EncryptUpdate(ctx, ct + sizeof(t), &n, payload,
			       (int)len) != 1 || n != (int)len))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, ct + sizeof(t) + len, &n) != 1 ||
	    n != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, EDGE_SYNC_TAG_LEN,
				out + total - EDGE_SYNC_TAG_LEN) != 1)
		goto out;
	ret = (ssize_t)total;
out:
	/* The context held the key schedule: freeing it wipes it. */
	EVP_CIPHER_CTX_free(ctx);
	if (ret < 0)
		explicit_bzero(out, total);
	return ret;
}

int
edge_sync_rx_create(const uint8_t *secret, size_t len,
		    const struct in_addr *peers, size_t n_peers,
		    uint64_t max_age_ms, struct edge_sync_rx **out)
{
	struct edge_sync_rx *rx;
	int err;

	*out = NULL;
	if (len < EDGE_SYNC_SECRET_MIN || n_peers > EDGE_SYNC_PEERS_MAX ||
	    max_age_ms == 0)
		return -EINVAL;
	for (size_t i = 0; i < n_peers; i++) {
		if (peers[i].s_addr == INADDR_ANY)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (peers[j].s_addr == peers[i].s_addr)
				return -EINVAL;
	}
	if ((rx = secmem_alloc(sizeof(*rx))) == NULL)
		return -ENOMEM;
	if ((rx->secret = secmem_alloc(len)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	memcpy(rx->secret, secret, len);
	rx->secret_len = len;
	if ((err = sync_fetch(&rx->kdf, &rx->aead)) != 0)
		goto fail;
	rx->max_age_ms = max_age_ms;
	rx->n_peers = n_peers;
	for (size_t i = 0; i < n_peers; i++)
		rx->peers[i].addr = peers[i];
	*out = rx;
	return 0;
fail:
	edge_sync_rx_free(rx);
	return err;
}

void
edge_sync_rx_free(struct edge_sync_rx *rx)
{
	if (!rx)
		return;
	EVP_CIPHER_free(rx->aead);
	EVP_KDF_free(rx->kdf);
	secmem_free(rx->secret);
	secmem_free(rx);
}

/* The header of @len bytes of @frame, if the frame is well formed:
 * known magic, version and type, and exactly as long as it says. */
static int
hdr_parse(const uint8_t *frame, size_t len, struct sync_hdr *h)
{
	if (len < EDGE_SYNC_OVERHEAD || len > EDGE_SYNC_FRAME_MAX)
		return -EBADMSG;
	if (memcmp(frame, magic, sizeof(magic)) != 0 ||
	    frame[OFF_VERSION] != EDGE_SYNC_VERSION)
		return -EBADMSG;
	h->type = frame[OFF_TYPE];
	h->len = wire_get_be16(frame + OFF_LEN);
	if (!type_ok(h->type, h->len) || h->len > EDGE_SYNC_PAYLOAD_MAX ||
	    len != EDGE_SYNC_OVERHEAD + (size_t)h->len)
		return -EBADMSG;
	memcpy(&h->sender, frame + OFF_SENDER, 4);
	h->boot = wire_get_be64(frame + OFF_BOOT);
	h->counter = wire_get_be64(frame + OFF_COUNTER);
	/* No sender seals counter 0 (tx counts from 1). */
	if (h->counter == 0)
		return -EBADMSG;
	return 0;
}

static struct sync_peer *
peer_find(struct edge_sync_rx *rx, struct in_addr a)
{
	for (size_t i = 0; i < rx->n_peers; i++)
		if (rx->peers[i].addr.s_addr == a.s_addr)
			return &rx->peers[i];
	return NULL;
}

/* Was @counter of @p's current boot accepted already, or is it too far
 * below the highest for the window to tell? */
static bool
replayed(const struct sync_peer *p, uint64_t counter)
{
	uint64_t behind;

	if (counter > p->top)
		return false;
	behind = p->top - counter;
	if (behind >= EDGE_SYNC_WINDOW)
		return true;
	return p->window & (UINT64_C(1) << behind);
}

static void
replay_mark(struct sync_peer *p, uint64_t counter)
{
	uint64_t ahead;

	if (counter > p->top) {
		ahead = counter - p->top;
		p->window = ahead >= EDGE_SYNC_WINDOW ? 0 : p->window << ahead;
		p->window |= 1;
		p->top = counter;
	} else {
		p->window |= UINT64_C(1) << (p->top - counter);
	}
}

/* Is @t within @max ms of @now, either way? */
static bool
in_time(uint64_t t, uint64_t now, uint64_t max)
{
	return t <= now ? now - t <= max : t - now <= max;
}

/* Decrypt @h's frame under @key into @t and @plain (h->len bytes) and
 * verify its tag: 0, -EACCES or -EIO.  On error nothing decrypted is
 * left. */
static int
sync_decrypt(const struct edge_sync_rx *rx, const uint8_t key[KEY_LEN],
	     const struct sync_hdr *h, const uint8_t *frame,
	     uint8_t t[EDGE_SYNC_TIME_LEN], uint8_t *plain)
{
	const uint8_t *ct = frame + EDGE_SYNC_HDR_LEN;
	const uint8_t *tag = ct + EDGE_SYNC_TIME_LEN + h->len;
	uint8_t nonce[NONCE_LEN], tail[16];
	EVP_CIPHER_CTX *ctx;
	int n, err = -EIO;

	nonce_of(h->counter, nonce);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(ctx, rx->aead, key, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, frame, EDGE_SYNC_HDR_LEN) != 1 ||
	    EVP_DecryptUpdate(ctx, t, &n, ct, EDGE_SYNC_TIME_LEN) != 1 ||
	    n != EDGE_SYNC_TIME_LEN)
		goto out;
	if (h->len > 0 &&
	    (EVP_DecryptUpdate(ctx, plain, &n, ct + EDGE_SYNC_TIME_LEN,
			       h->len) != 1 || n != h->len))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, EDGE_SYNC_TAG_LEN,
				(void *)tag) != 1)
		goto out;
	err = EVP_DecryptFinal_ex(ctx, tail, &n) == 1 ? 0 : -EACCES;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (err) {
		explicit_bzero(t, EDGE_SYNC_TIME_LEN);
		explicit_bzero(plain, h->len);
	}
	return err;
}

int
edge_sync_open(struct edge_sync_rx *rx, struct in_addr from,
	       const uint8_t *frame, size_t len, uint64_t now_ms,
	       uint8_t *type, uint8_t *plain, size_t plainlen,
	       size_t *payload_len)
{
	uint8_t t[EDGE_SYNC_TIME_LEN];
	const uint8_t *key;
	struct sync_peer *p;
	struct sync_hdr h;
	uint64_t time_ms;
	bool same_boot;
	int err;

	*type = 0;
	*payload_len = 0;
	if ((err = hdr_parse(frame, len, &h)) != 0)
		return err;
	if ((p = peer_find(rx, from)) == NULL || h.sender != from.s_addr)
		return -EPERM;
	same_boot = p->seen && p->boot == h.boot;
	/* Before decrypting, so a replay costs no AES; rechecking after is
	 * not needed: nothing changes @p in between. */
	if (same_boot && replayed(p, h.counter))
		return -EALREADY;
	if (plainlen < h.len)
		return -ENOSPC;
	/* The key of the boot we know is kept; another boot's is derived
	 * for this frame (an HKDF: only once the checks above passed) and
	 * kept only if the frame is taken. */
	if (same_boot) {
		key = p->key;
	} else {
		if ((err = sync_derive(rx->kdf, rx->secret, rx->secret_len,
				       h.sender, h.boot, rx->fresh)) != 0)
			return err;
		key = rx->fresh;
	}
	if ((err = sync_decrypt(rx, key, &h, frame, t, plain)) != 0)
		goto out;
	time_ms = wire_get_be64(t);
	/* Another boot replaces the one we know only if it is newer than
	 * anything of that one: a captured frame of an old boot, still in
	 * time, cannot take the state back and replay that boot again. */
	if (!in_time(time_ms, now_ms, rx->max_age_ms) ||
	    (p->seen && !same_boot && time_ms <= p->newest_ms)) {
		explicit_bzero(plain, h.len);
		err = -ESTALE;
		goto out;
	}
	if (same_boot) {
		replay_mark(p, h.counter);
		if (time_ms > p->newest_ms)
			p->newest_ms = time_ms;
	} else {
		p->seen = true;
		p->boot = h.boot;
		p->top = h.counter;
		p->window = 1;
		p->newest_ms = time_ms;
		memcpy(p->key, rx->fresh, KEY_LEN);
	}
	*type = h.type;
	*payload_len = h.len;
out:
	if (!same_boot)
		explicit_bzero(rx->fresh, KEY_LEN);
	return err;
}

/* --- the delete's payload ------------------------------------------------ */

int
edge_sync_del_validate(const struct edge_sync_del *d)
{
	if (!sarec_name_ok(d->tunnel, sizeof(d->tunnel)) ||
	    !sarec_name_ok(d->negotiated_by, sizeof(d->negotiated_by)))
		return -EINVAL;
	if (d->spi_in < 256 || d->spi_out < 256)
		return -EINVAL;
	return 0;
}

ssize_t
edge_sync_del_encode(const struct edge_sync_del *d, uint8_t *buf, size_t len)
{
	size_t nt, nn, need;
	uint8_t *p = buf;

	if (edge_sync_del_validate(d) != 0)
		return -EINVAL;
	nt = strlen(d->tunnel);
	nn = strlen(d->negotiated_by);
	need = 1 + nt + 1 + nn + 8 + 4 + 4;
	if (len < need) {
		explicit_bzero(buf, len);
		return -ENOSPC;
	}
	*p++ = (uint8_t)nt;
	memcpy(p, d->tunnel, nt);
	p += nt;
	*p++ = (uint8_t)nn;
	memcpy(p, d->negotiated_by, nn);
	p += nn;
	wire_put_be64(p, d->serial);
	wire_put_be32(p + 8, d->spi_in);
	wire_put_be32(p + 12, d->spi_out);
	return (ssize_t)need;
}

/* A name of @buf at *@off into @dst (@size bytes, NUL included); false
 * if it is empty, does not fit or runs past @len. */
static bool
del_name(const uint8_t *buf, size_t len, size_t *off, char *dst, size_t size)
{
	size_t n;

	if (*off >= len)
		return false;
	n = buf[(*off)++];
	if (n == 0 || n >= size || len - *off < n)
		return false;
	memcpy(dst, buf + *off, n);
	dst[n] = '\0';
	*off += n;
	/* A NUL inside would make a shorter name that passes the rule. */
	return memchr(dst, '\0', n) == NULL;
}

int
edge_sync_del_decode(const uint8_t *buf, size_t len, struct edge_sync_del *d)
{
	size_t off = 0;

	memset(d, 0, sizeof(*d));
	if (!del_name(buf, len, &off, d->tunnel, sizeof(d->tunnel)) ||
	    !del_name(buf, len, &off, d->negotiated_by,
		      sizeof(d->negotiated_by)) ||
	    len - off != 8 + 4 + 4)
		goto bad;
	d->serial = wire_get_be64(buf + off);
	d->spi_in = wire_get_be32(buf + off + 8);
	d->spi_out = wire_get_be32(buf + off + 12);
	if (edge_sync_del_validate(d) != 0)
		goto bad;
	return 0;
bad:
	memset(d, 0, sizeof(*d));
	return -EBADMSG;
}

/* --- the hello's payload ------------------------------------------------- */

ssize_t
edge_sync_hello_encode(const struct edge_sync_hello *h, uint8_t *buf,
		       size_t len)
{
	if (h->kind != EDGE_SYNC_HELLO_ASK && h->kind != EDGE_SYNC_HELLO_DONE)
		return -EINVAL;
	if (len < EDGE_SYNC_HELLO_LEN)
		return -ENOSPC;
	buf[0] = h->kind;
	buf[1] = 0;
	wire_put_be32(buf + 2, h->epoch);
	return EDGE_SYNC_HELLO_LEN;
}

int
edge_sync_hello_decode(const uint8_t *buf, size_t len,
		       struct edge_sync_hello *h)
{
	memset(h, 0, sizeof(*h));
	/* The reserved byte must be zero: one encoding per hello. */
	if (len != EDGE_SYNC_HELLO_LEN || buf[1] != 0 ||
	    (buf[0] != EDGE_SYNC_HELLO_ASK && buf[0] != EDGE_SYNC_HELLO_DONE))
		return -EBADMSG;
	h->kind = buf[0];
	h->epoch = wire_get_be32(buf + 2);
	return 0;
}
