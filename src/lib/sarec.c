/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CHILD SA record and its codec (sarec.h).  Decoding trusts nothing:
 * every length is checked before the bytes it covers are read, and a
 * record that decodes is validated as a whole before it is handed back.
 */
#include "autoconfig.h"

#include "lib/sarec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/secmem.h"
#include "lib/wire.h"

static const uint8_t magic[4] = { 'T', 'S', 'S', 'A' };

#define FLAG_ESN 0x01
#define FLAG_ENCAP 0x02
#define FLAGS_KNOWN (FLAG_ESN | FLAG_ENCAP)

int
sarec_keys_alloc(struct sarec *r)
{
	struct sarec_keys *k = secmem_alloc(sizeof(*k));

	if (!k)
		return -ENOMEM;
	secmem_free(r->keys);
	r->keys = k;
	return 0;
}

void
sarec_clear(struct sarec *r)
{
	secmem_free(r->keys);
	memset(r, 0, sizeof(*r));
}

bool
sarec_name_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n == max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static bool
ts_ok(const struct ts_prefix *p)
{
	struct ts_prefix m = *p;

	if (p->family != AF_INET && p->family != AF_INET6)
		return false;
	if (p->len > (p->family == AF_INET ? 32 : 128))
		return false;
	ts_prefix_mask(&m);
	return ts_prefix_equal(&m, p);
}

int
sarec_validate(const struct sarec *r)
{
	const struct sarec_keys *k = r->keys;

	if (!sarec_name_ok(r->tunnel, sizeof(r->tunnel)) ||
	    !sarec_name_ok(r->negotiated_by, sizeof(r->negotiated_by)))
		return -EINVAL;
	if (r->spi_in < 256 || r->spi_out < 256)
		return -EINVAL;
	if (r->local.s_addr == INADDR_ANY || r->remote.s_addr == INADDR_ANY)
		return -EINVAL;
	if ((r->encap_sport == 0) != (r->encap_dport == 0))
		return -EINVAL;
	if (r->encr_alg == 0 || r->replay_window > 4096)
		return -EINVAL;
	if (!k || k->encr_len > SAREC_KEY_MAX || k->integ_len > SAREC_KEY_MAX)
		return -EINVAL;
	/* Only the null cipher has no key; only AEAD has no integrity. */
	if ((k->encr_len == 0) != (r->encr_alg == SAREC_ENCR_NULL))
		return -EINVAL;
	if ((k->integ_len == 0) != (r->integ_alg == SAREC_INTEG_NONE))
		return -EINVAL;
	if (r->n_ts_local < 1 || r->n_ts_local > SAREC_TS_MAX ||
	    r->n_ts_remote < 1 || r->n_ts_remote > SAREC_TS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < r->n_ts_local; i++)
		if (!ts_ok(&r->ts_local[i]))
			return -EINVAL;
	for (size_t i = 0; i < r->n_ts_remote; i++)
		if (!ts_ok(&r->ts_remote[i]))
			return -EINVAL;
	return 0;
}

/* --- encode ----------------------------------------------------------------- */

struct wbuf {
	uint8_t *b;
	size_t len, off;
	bool short_;
};

static uint8_t *
w_take(struct wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->short_ || w->len - w->off < n) {
		w->short_ = true;
		return NULL;
	}
	p = w->b + w->off;
	w->off += n;
	return p;
}

static void
w_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *p = w_take(w, n);

	if (p && n)
		memcpy(p, src, n);
}

static void
w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void
w_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *p = w_take(w, 2);

	if (p)
		wire_put_be16(p, v);
}

static void
w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *p = w_take(w, 4);

	if (p)
		wire_put_be32(p, v);
}

static void
w_name(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	w_u8(w, (uint8_t)n);
	w_bytes(w, s, n);
}

static void
w_ts(struct wbuf *w, const struct ts_prefix *p)
{
	w_u8(w, p->family == AF_INET ? 4 : 6);
	w_u8(w, p->len);
	if (p->family == AF_INET)
		w_bytes(w, &p->v4, 4);
	else
		w_bytes(w, &p->v6, 16);
}

ssize_t
sarec_encode(const struct sarec *r, uint8_t *buf, size_t len)
{
	struct wbuf w = { .b = buf, .len = len };
	const struct sarec_keys *k = r->keys;
	uint8_t *p;

	if (sarec_validate(r) != 0)
		return -EINVAL;
	w_bytes(&w, magic, sizeof(magic));
	w_u8(&w, SAREC_VERSION);
	w_u8(&w, (uint8_t)((r->esn ? FLAG_ESN : 0) |
			   (r->encap_sport ? FLAG_ENCAP : 0)));
	w_name(&w, r->tunnel);
	w_name(&w, r->negotiated_by);
	if ((p = w_take(&w, 8)) != NULL)
		wire_put_be64(p, r->serial);
	w_u32(&w, r->spi_in);
	w_u32(&w, r->spi_out);
	w_u32(&w, r->if_id);
	w_u32(&w, r->reqid);
	w_u32(&w, r->replay_window);
	w_u32(&w, r->lifetime_s);
	w_bytes(&w, &r->local, 4);
	w_bytes(&w, &r->remote, 4);
	w_u16(&w, r->encap_sport);
	w_u16(&w, r->encap_dport);
	w_u16(&w, r->encr_alg);
	w_u16(&w, r->encr_keysize);
	w_u16(&w, r->integ_alg);
	w_u8(&w, (uint8_t)r->n_ts_local);
	w_u8(&w, (uint8_t)r->n_ts_remote);
	for (size_t i = 0; i < r->n_ts_local; i++)
		w_ts(&w, &r->ts_local[i]);
	for (size_t i = 0; i < r->n_ts_remote; i++)
		w_ts(&w, &r->ts_remote[i]);
	w_u8(&w, k->encr_len);
	w_bytes(&w, k->encr_in, k->encr_len);
	w_bytes(&w, k->encr_out, k->encr_len);
	w_u8(&w, k->integ_len);
	w_bytes(&w, k->integ_in, k->integ_len);
	w_bytes(&w, k->integ_out, k->integ_len);
	if (w.short_) {
		explicit_bzero(buf, len);
		return -ENOSPC;
	}
	return (ssize_t)w.off;
}

/* --- decode ----------------------------------------------------------------- */

struct rbuf {
	const uint8_t *b;
	size_t len, off;
	bool bad;
};

static const uint8_t *
r_take(struct rbuf *rb, size_t n)
{
	const uint8_t *p;

	if (rb->bad || rb->len - rb->off < n) {
		rb->bad = true;
		return NULL;
	}
	p = rb->b + rb->off;
	rb->off += n;
	return p;
}

static void
r_bytes(struct rbuf *rb, void *dst, size_t n)
{
	const uint8_t *p = r_take(rb, n);

	if (p && n)
		memcpy(dst, p, n);
}

static uint8_t
r_u8(struct rbuf *rb)
{
	const uint8_t *p = r_take(rb, 1);

	return p ? *p : 0;
}

static uint16_t
r_u16(struct rbuf *rb)
{
	const uint8_t *p = r_take(rb, 2);

	return p ? wire_get_be16(p) : 0;
}

static uint32_t
r_u32(struct rbuf *rb)
{
	const uint8_t *p = r_take(rb, 4);

	return p ? wire_get_be32(p) : 0;
}

static void
r_name(struct rbuf *rb, char *dst, size_t size)
{
	size_t n = r_u8(rb);

	if (n == 0 || n >= size) {
		rb->bad = true;
		return;
	}
	r_bytes(rb, dst, n);
	dst[n] = '\0';
	if (memchr(dst, '\0', n))
		rb->bad = true;
}

static void
r_ts(struct rbuf *rb, struct ts_prefix *p)
{
	uint8_t fam = r_u8(rb);

	p->len = r_u8(rb);
	if (fam == 4) {
		p->family = AF_INET;
		r_bytes(rb, &p->v4, 4);
	} else if (fam == 6) {
		p->family = AF_INET6;
		r_bytes(rb, &p->v6, 16);
	} else {
		rb->bad = true;
	}
}

int
sarec_decode(const uint8_t *buf, size_t len, struct sarec *r)
{
	struct rbuf rb = { .b = buf, .len = len };
	const uint8_t *m;
	struct sarec_keys *k;
	uint8_t flags;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = sarec_keys_alloc(r)) != 0)
		return err;
	k = r->keys;
	m = r_take(&rb, sizeof(magic));
	if (!m || memcmp(m, magic, sizeof(magic)) != 0 ||
	    r_u8(&rb) != SAREC_VERSION)
		goto bad;
	flags = r_u8(&rb);
	if (flags & ~FLAGS_KNOWN)
		goto bad;
	r->esn = flags & FLAG_ESN;
	r_name(&rb, r->tunnel, sizeof(r->tunnel));
	r_name(&rb, r->negotiated_by, sizeof(r->negotiated_by));
	if ((m = r_take(&rb, 8)) != NULL)
		r->serial = wire_get_be64(m);
	r->spi_in = r_u32(&rb);
	r->spi_out = r_u32(&rb);
	r->if_id = r_u32(&rb);
	r->reqid = r_u32(&rb);
	r->replay_window = r_u32(&rb);
	r->lifetime_s = r_u32(&rb);
	r_bytes(&rb, &r->local, 4);
	r_bytes(&rb, &r->remote, 4);
	r->encap_sport = r_u16(&rb);
	r->encap_dport = r_u16(&rb);
	if (!(flags & FLAG_ENCAP) != (r->encap_sport == 0))
		goto bad;
	r->encr_alg = r_u16(&rb);
	r->encr_keysize = r_u16(&rb);
	r->integ_alg = r_u16(&rb);
	r->n_ts_local = r_u8(&rb);
	r->n_ts_remote = r_u8(&rb);
	if (rb.bad || r->n_ts_local < 1 || r->n_ts_local > SAREC_TS_MAX ||
	    r->n_ts_remote < 1 || r->n_ts_remote > SAREC_TS_MAX)
		goto bad;
	for (size_t i = 0; i < r->n_ts_local; i++)
		r_ts(&rb, &r->ts_local[i]);
	for (size_t i = 0; i < r->n_ts_remote; i++)
		r_ts(&rb, &r->ts_remote[i]);
	k->encr_len = r_u8(&rb);
	if (k->encr_len > SAREC_KEY_MAX)
		goto bad;
	r_bytes(&rb, k->encr_in, k->encr_len);
	r_bytes(&rb, k->encr_out, k->encr_len);
	k->integ_len = r_u8(&rb);
	if (k->integ_len > SAREC_KEY_MAX)
		goto bad;
	r_bytes(&rb, k->integ_in, k->integ_len);
	r_bytes(&rb, k->integ_out, k->integ_len);
	if (rb.bad || rb.off != len || sarec_validate(r) != 0)
		goto bad;
	return 0;
bad:
	sarec_clear(r);
	return -EBADMSG;
}

void
sarec_proposal(const struct sarec *r, char *buf, size_t len)
{
	char enc[24], integ[16];

	switch (r->encr_alg) {
	case SAREC_ENCR_AES_GCM_16:
		snprintf(enc, sizeof(enc), "aes%ugcm16", r->encr_keysize);
		break;
	case SAREC_ENCR_AES_CBC:
		snprintf(enc, sizeof(enc), "aes%u", r->encr_keysize);
		break;
	case SAREC_ENCR_NULL:
		snprintf(enc, sizeof(enc), "null");
		break;
	default:
		snprintf(enc, sizeof(enc), "encr%u", r->encr_alg);
		break;
	}
	switch (r->integ_alg) {
	case SAREC_INTEG_NONE:
		integ[0] = '\0';
		break;
	case SAREC_INTEG_HMAC_SHA2_256_128:
		snprintf(integ, sizeof(integ), "-sha256");
		break;
	case SAREC_INTEG_HMAC_SHA1_96:
		snprintf(integ, sizeof(integ), "-sha1");
		break;
	default:
		snprintf(integ, sizeof(integ), "-integ%u", r->integ_alg);
		break;
	}
	snprintf(buf, len, "%s%s%s", enc, integ, r->esn ? "-esn" : "");
}
