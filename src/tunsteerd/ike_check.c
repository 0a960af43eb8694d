/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Identities and proposals of the ike group, as libstrongswan reads them
 * (ike_check.h).  libstrongswan's parsers say only yes or no (and log
 * why at DBG1); the messages here are ours, built from what the parser
 * was given, so -n and a reload under a running charon (whose log we
 * must not take over) say the same.
 */
#include "autoconfig.h"

#include "tunsteerd/ike_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <library.h>
#include <crypto/crypters/crypter.h>
#include <crypto/proposal/proposal.h>
#include <crypto/proposal/proposal_keywords.h>
#include <crypto/transform.h>
#include <utils/debug.h>
#include <utils/identification.h>

static struct {
	bool held;		/* a reference of ours on libstrongswan */
	bool owned;		/* and we brought it up */
	bool failed;		/* bringing it up failed */
	unsigned int inits;
	void (*dbg_was)(debug_t, level_t, char *, ...);
} ikc;

/* strongSwan's DBG output while we own libstrongswan: -n must print our
 * messages, not the parser's. */
static void
dbg_quiet(debug_t group, level_t level, char *fmt, ...)
{
	(void)group;
	(void)level;
	(void)fmt;
}

/*
 * The plugins of the build that libstrongswan can load alone: charon's
 * own (kernel interfaces, sockets) need libcharon up, which a check has
 * no business starting, and crash without it.  Every other plugin of
 * STRONGSWAN_PLUGINS is loaded, so the checks see the algorithms charon
 * will have.  NULL if memory ran out.
 */
static char *
crypto_plugins(void)
{
	char *all = strdup(STRONGSWAN_PLUGINS), *out, *tok, *save = NULL;
	size_t n = 0;

	out = all ? malloc(strlen(all) + 1) : NULL;
	if (!out) {
		free(all);
		return NULL;
	}
	for (tok = strtok_r(all, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "kernel-", 7) == 0 ||
		    strncmp(tok, "socket-", 7) == 0)
			continue;
		n += (size_t)sprintf(out + n, "%s%s", n ? " " : "", tok);
	}
	out[n] = '\0';
	free(all);
	return out;
}

static char no_settings_file[] = "";

static int
begin(char *why, size_t len)
{
	char *plugins;

	if (ikc.held)
		goto out;
	ikc.held = true;
	ikc.owned = lib == NULL;
	if (ikc.owned) {
		ikc.dbg_was = dbg;
		dbg = dbg_quiet;
		ikc.inits++;
	}
	/*
	 * No strongswan.conf: a settings file of "" is what
	 * STRONGSWAN_CONF="" gives, without touching the environment (the
	 * daemon has other threads by a reload).  Called even when it
	 * fails: library_deinit() must follow.
	 */
	if (!library_init(no_settings_file, "tunsteerd")) {
		ikc.failed = true;
		goto out;
	}
	if (!ikc.owned)
		goto out;
	plugins = crypto_plugins();
	if (!plugins)
		return -ENOMEM;
	if (!lib->plugins->load(lib->plugins, plugins))
		ikc.failed = true;
	free(plugins);
out:
	if (ikc.failed) {
		snprintf(why, len, "strongSwan (%s, plugins %s) could not be "
			 "brought up to check this", STRONGSWAN_VERSION,
			 STRONGSWAN_PLUGINS);
		return -EIO;
	}
	return 0;
}

void
ike_check_end(void)
{
	if (!ikc.held)
		return;
	library_deinit();
	if (ikc.owned)
		dbg = ikc.dbg_was;
	ikc.held = ikc.owned = ikc.failed = false;
}

unsigned int
ike_check_inits(void)
{
	return ikc.inits;
}

bool
ike_check_available(void)
{
	return true;
}

const char *
ike_check_unavailable(void)
{
	return "";
}

static int why_f(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* -EINVAL with @why set. */
static int
why_f(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* --- identities ------------------------------------------------------- */

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
ike_check_id(const char *text, bool local, const char **type, char *why,
	     size_t len)
{
	identification_t *id;
	char *copy;
	id_type_t t;
	int r;

	if ((r = begin(why, len)) < 0)
		return r;
	if ((copy = strdup(text)) == NULL)
		return -ENOMEM;
	id = identification_create_from_string(copy);
	free(copy);
	if (!id)
		return -ENOMEM;
	t = id->get_type(id);
	*type = enum_to_name(id_type_names, t);
	if (!*type)
		*type = "an unnamed type";
	switch (t) {
	case ID_IPV4_ADDR:
	case ID_IPV6_ADDR:
	case ID_FQDN:
	case ID_RFC822_ADDR:
	case ID_KEY_ID:
	case ID_DER_ASN1_DN:
		r = 0;
		break;
	case ID_ANY:
		r = why_f(why, len, "\"%s\" stands for any identity (%s); "
			  "name one", text, *type);
		break;
	default:
		r = why_f(why, len, "\"%s\" reads as %s, which is not an IKEv2 "
			  "identity", text, *type);
		break;
	}
	if (r == 0 && local && id->contains_wildcards(id))
		r = why_f(why, len, "\"%s\" has wildcards (%s); this side's "
			  "identity is sent as it is written", text, *type);
	/* The provider's ID_KEY_ID form, ACCOUNT_TUNNEL, has no dot: written
	 * plainly it reads as an FQDN and the provider refuses it. */
	if (r == 0 && t == ID_FQDN && !strchr(text, '.') &&
	    !has_prefix(text, "fqdn:") && !has_prefix(text, "dns:") &&
	    !has_prefix(text, "@")) {
		snprintf(why, len, "\"%s\" reads as an FQDN (ID_FQDN) without a "
			 "dot; if it is a key ID (the provider's ACCOUNT_TUNNEL "
			 "form) write \"keyid:%s\"", text, text);
		r = 1;
	}
	id->destroy(id);
	return r;
}

/* --- proposals -------------------------------------------------------- */

/* Does a loaded plugin provide algorithm @alg of transform @type? */
static bool
available(transform_type_t type, uint16_t alg)
{
	enumerator_t *e;
	const char *plugin;
	bool found = false;

	switch (type) {
	case ENCRYPTION_ALGORITHM: {
		encryption_algorithm_t a;

		e = encryption_algorithm_is_aead(alg) ?
			lib->crypto->create_aead_enumerator(lib->crypto) :
			lib->crypto->create_crypter_enumerator(lib->crypto);
		while (!found && e->enumerate(e, &a, &plugin))
			found = a == alg;
		break;
	}
	case INTEGRITY_ALGORITHM: {
		integrity_algorithm_t a;

		e = lib->crypto->create_signer_enumerator(lib->crypto);
		while (!found && e->enumerate(e, &a, &plugin))
			found = a == alg;
		break;
	}
	case PSEUDO_RANDOM_FUNCTION: {
		pseudo_random_function_t a;

		e = lib->crypto->create_prf_enumerator(lib->crypto);
		while (!found && e->enumerate(e, &a, &plugin))
			found = a == alg;
		break;
	}
	default: {
		key_exchange_method_t a;

		if (!is_ke_transform(type) || alg == KE_NONE)
			return true;	/* ESN, or no key exchange at all */
		e = lib->crypto->create_ke_enumerator(lib->crypto);
		while (!found && e->enumerate(e, &a, &plugin))
			found = a == alg;
		break;
	}
	}
	e->destroy(e);
	return found;
}

static const char *
alg_name(transform_type_t type, uint16_t alg)
{
	enum_name_t *names = transform_get_enum_names(type);
	const char *n = names ? enum_to_name(names, alg) : NULL;

	return n ? n : "an unnamed algorithm";
}

/* Leading and trailing blanks of @s cut off, in place. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Every '-'-separated word of @prop a keyword strongSwan knows, for a
 * transform a loaded plugin provides, and no ESN where it is refused. */
static int
check_words(const char *prop, bool esp, char *why, size_t len)
{
	char *copy = strdup(prop), *rest = copy, *w;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	while (r == 0 && (w = strsep(&rest, "-")) != NULL) {
		const proposal_token_t *tok;

		w = trim(w);
		tok = lib->proposal->get_token(lib->proposal, w);
		if (!tok)
			r = why_f(why, len, "\"%s\": \"%s\" is not an algorithm "
				  "strongSwan knows", prop, w);
		else if (tok->type == EXTENDED_SEQUENCE_NUMBERS && !esp)
			r = why_f(why, len, "\"%s\": \"%s\" is for ESP proposals "
				  "only", prop, w);
		else if (tok->type == EXTENDED_SEQUENCE_NUMBERS &&
			 tok->algorithm == EXT_SEQ_NUMBERS)
			r = why_f(why, len, "\"%s\": \"%s\": the provider requires "
				  "extended sequence numbers off (leave it out, or "
				  "write noesn)", prop, w);
		else if (esp && tok->type == PSEUDO_RANDOM_FUNCTION)
			continue;	/* strongSwan drops PRFs from ESP */
		else if (!available(tok->type, tok->algorithm))
			r = why_f(why, len, "\"%s\": \"%s\" (%s) is not provided "
				  "by any plugin of this strongSwan build", prop, w,
				  alg_name(tok->type, tok->algorithm));
	}
	free(copy);
	return r;
}

/* Why proposal_create_from_string() refused @prop, whose words are all
 * known: the rules of strongSwan's proposal check, put in our words. */
static int
explain_refusal(const char *prop, bool esp, char *why, size_t len)
{
	proposal_t *u = proposal_create_from_string_unchecked(
		esp ? PROTO_ESP : PROTO_IKE, prop);
	bool enc = false, aead = false, classic = false, ke = false;
	bool integ, prf;
	enumerator_t *e;
	uint16_t alg, ks;
	int r;

	if (!u)
		return why_f(why, len, "\"%s\": refused by strongSwan's proposal "
			     "parser", prop);
	e = u->create_enumerator(u, ENCRYPTION_ALGORITHM);
	while (e->enumerate(e, &alg, &ks)) {
		enc = true;
		if (encryption_algorithm_is_aead(alg))
			aead = true;
		else
			classic = true;
	}
	e->destroy(e);
	e = u->create_enumerator(u, KEY_EXCHANGE_METHOD);
	while (e->enumerate(e, &alg, &ks))
		ke = ke || alg != KE_NONE;
	e->destroy(e);
	integ = u->get_algorithm(u, INTEGRITY_ALGORITHM, NULL, NULL);
	prf = u->get_algorithm(u, PSEUDO_RANDOM_FUNCTION, NULL, NULL);
	u->destroy(u);

	if (!esp && !ke)
		r = why_f(why, len, "\"%s\": no key exchange method; IKE needs "
			  "one (e.g. ecp384)", prop);
	else if (!enc)
		r = why_f(why, len, "\"%s\": no encryption algorithm", prop);
	else if (aead && classic)
		r = why_f(why, len, "\"%s\": AEAD and classic ciphers cannot "
			  "share a proposal; write two, separated by a comma",
			  prop);
	else if (!esp && classic && !integ)
		r = why_f(why, len, "\"%s\": a classic cipher needs an integrity "
			  "algorithm (e.g. sha256)", prop);
	else if (!esp && !prf)
		r = why_f(why, len, "\"%s\": no PRF; IKE needs one (e.g. "
			  "prfsha256)", prop);
	else
		r = why_f(why, len, "\"%s\": refused by strongSwan's proposal "
			  "parser", prop);
	return r;
}

static int
check_one(const char *prop, bool esp, char *why, size_t len)
{
	proposal_t *p;
	enumerator_t *e;
	uint16_t alg, ks;
	int r;

	if ((r = check_words(prop, esp, why, len)) != 0)
		return r;
	p = proposal_create_from_string(esp ? PROTO_ESP : PROTO_IKE, prop);
	if (!p)
		return explain_refusal(prop, esp, why, len);
	/* An IKE proposal without a PRF gets the one of its integrity
	 * algorithm: it must be there too. */
	e = p->create_enumerator(p, PSEUDO_RANDOM_FUNCTION);
	while (r == 0 && e->enumerate(e, &alg, &ks))
		if (!available(PSEUDO_RANDOM_FUNCTION, alg))
			r = why_f(why, len, "\"%s\": the PRF strongSwan takes for "
				  "it, %s, is not provided by any plugin of this "
				  "strongSwan build", prop,
				  alg_name(PSEUDO_RANDOM_FUNCTION, alg));
	e->destroy(e);
	p->destroy(p);
	return r;
}

/* @fn on each proposal of the comma-separated @list, trimmed (empty ones
 * too), until one returns non-zero: that, 0, or -ENOMEM. */
static int
each_proposal(const char *list, int (*fn)(const char *prop, void *arg),
	      void *arg)
{
	char *copy = strdup(list), *rest = copy, *prop;
	int r = 0;

	if (copy == NULL)
		return -ENOMEM;
	while (r == 0 && (prop = strsep(&rest, ",")) != NULL)
		r = fn(trim(prop), arg);
	free(copy);
	return r;
}

struct check_arg {
	const char *list;
	bool esp;
	char *why;
	size_t len;
};

static int
check_cb(const char *prop, void *arg)
{
	struct check_arg *a = arg;

	if (*prop == '\0')
		return why_f(a->why, a->len, "\"%s\": an empty proposal (a comma "
			     "too many?)", a->list);
	return check_one(prop, a->esp, a->why, a->len);
}

int
ike_check_proposals(const char *list, bool esp, char *why, size_t len)
{
	struct check_arg a = { list, esp, why, len };
	int r;

	if ((r = begin(why, len)) < 0)
		return r;
	return each_proposal(list, check_cb, &a);
}

/* --- ESP overhead ------------------------------------------------------ */

/* What an encryption algorithm adds to an ESP packet: IV, its own ICV
 * (AEADs), the block its payload is padded to (RFC 4303 section 2.4). */
struct esp_enc_size {
	uint16_t alg;
	uint8_t iv, icv, block;
};

static const struct esp_enc_size esp_enc_sizes[] = {
	{ ENCR_NULL, 0, 0, 1 },
	{ ENCR_DES, 8, 0, 8 },
	{ ENCR_3DES, 8, 0, 8 },
	{ ENCR_CAST, 8, 0, 8 },
	{ ENCR_BLOWFISH, 8, 0, 8 },
	{ ENCR_AES_CBC, 16, 0, 16 },
	{ ENCR_CAMELLIA_CBC, 16, 0, 16 },
	{ ENCR_AES_CTR, 8, 0, 1 },		/* RFC 3686 */
	{ ENCR_CAMELLIA_CTR, 8, 0, 1 },		/* RFC 5529 */
	{ ENCR_AES_CCM_ICV8, 8, 8, 1 },		/* RFC 4309 */
	{ ENCR_AES_CCM_ICV12, 8, 12, 1 },
	{ ENCR_AES_CCM_ICV16, 8, 16, 1 },
	{ ENCR_AES_GCM_ICV8, 8, 8, 1 },		/* RFC 4106 */
	{ ENCR_AES_GCM_ICV12, 8, 12, 1 },
	{ ENCR_AES_GCM_ICV16, 8, 16, 1 },
	{ ENCR_NULL_AUTH_AES_GMAC, 8, 16, 1 },	/* RFC 4543 */
	{ ENCR_CAMELLIA_CCM_ICV8, 8, 8, 1 },
	{ ENCR_CAMELLIA_CCM_ICV12, 8, 12, 1 },
	{ ENCR_CAMELLIA_CCM_ICV16, 8, 16, 1 },
	{ ENCR_CHACHA20_POLY1305, 8, 16, 1 },	/* RFC 7634 */
};

/* The ICV of an integrity algorithm: its output as truncated for ESP. */
static const struct {
	uint16_t alg;
	uint8_t icv;
} esp_integ_sizes[] = {
	{ AUTH_UNDEFINED, 0 },
	{ AUTH_HMAC_MD5_96, 12 },
	{ AUTH_HMAC_SHA1_96, 12 },
	{ AUTH_AES_XCBC_96, 12 },
	{ AUTH_AES_CMAC_96, 12 },
	{ AUTH_HMAC_MD5_128, 16 },
	{ AUTH_HMAC_SHA1_128, 16 },
	{ AUTH_HMAC_SHA1_160, 20 },
	{ AUTH_HMAC_SHA2_256_96, 12 },
	{ AUTH_HMAC_SHA2_256_128, 16 },
	{ AUTH_HMAC_SHA2_384_192, 24 },
	{ AUTH_HMAC_SHA2_512_256, 32 },
	{ AUTH_AES_128_GMAC, 16 },
	{ AUTH_AES_192_GMAC, 16 },
	{ AUTH_AES_256_GMAC, 16 },
};

#define ESP_OUTER_IP 20
#define ESP_UDP 8
#define ESP_HDR 8		/* SPI and sequence number */
#define ESP_TRAILER 2		/* pad length and next header */

static struct esp_enc_size
esp_enc_size(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(esp_enc_sizes) / sizeof(esp_enc_sizes[0]);
	     i++)
		if (esp_enc_sizes[i].alg == alg)
			return esp_enc_sizes[i];
	return (struct esp_enc_size){ alg, 16, 32, 16 };
}

static unsigned int
esp_integ_icv(uint16_t alg)
{
	for (size_t i = 0; i < sizeof(esp_integ_sizes) /
			       sizeof(esp_integ_sizes[0]); i++)
		if (esp_integ_sizes[i].alg == alg)
			return esp_integ_sizes[i].icv;
	return 32;
}

/* The largest inner packet for encryption @enc with an ICV of @icv. */
static unsigned int
esp_inner(unsigned int outer, struct esp_enc_size enc, unsigned int icv)
{
	unsigned int block = enc.block < 4 ? 4 : enc.block;
	unsigned int room = outer - ESP_HDR - enc.iv - icv;

	if (outer < ESP_HDR + enc.iv + icv + block)
		return 0;
	return room / block * block - ESP_TRAILER;
}

/* The worst case of one proposal into *@mtu (which only decreases). */
static int
esp_mtu_one(const char *prop, unsigned int outer, unsigned int *mtu)
{
	proposal_t *p = proposal_create_from_string(PROTO_ESP, prop);
	enumerator_t *e, *i;
	uint16_t alg, ks, ialg;
	unsigned int worst_integ = 0;

	if (!p)
		return -EINVAL;
	/* Any integrity algorithm may be paired with any non-AEAD cipher. */
	i = p->create_enumerator(p, INTEGRITY_ALGORITHM);
	while (i->enumerate(i, &ialg, &ks))
		if (esp_integ_icv(ialg) > worst_integ)
			worst_integ = esp_integ_icv(ialg);
	i->destroy(i);
	e = p->create_enumerator(p, ENCRYPTION_ALGORITHM);
	while (e->enumerate(e, &alg, &ks)) {
		struct esp_enc_size sz = esp_enc_size(alg);
		unsigned int in = esp_inner(outer, sz, sz.icv ? sz.icv :
							   worst_integ);

		if (in < *mtu)
			*mtu = in;
	}
	e->destroy(e);
	p->destroy(p);
	return 0;
}

unsigned int
ike_check_esp_mtu_algs(uint16_t enc, uint16_t integ, unsigned int underlay_mtu,
		       bool nat_t)
{
	struct esp_enc_size sz = esp_enc_size(enc);
	unsigned int over = ESP_OUTER_IP + (nat_t ? ESP_UDP : 0);

	if (underlay_mtu <= over)
		return 0;
	return esp_inner(underlay_mtu - over, sz,
			 sz.icv ? sz.icv : esp_integ_icv(integ));
}

struct esp_mtu_arg {
	unsigned int outer, *mtu;
};

static int
esp_mtu_cb(const char *prop, void *arg)
{
	struct esp_mtu_arg *a = arg;

	return *prop ? esp_mtu_one(prop, a->outer, a->mtu) : -EINVAL;
}

int
ike_check_esp_mtu(const char *list, unsigned int underlay_mtu, bool nat_t,
		  unsigned int *mtu)
{
	char why[IKE_CHECK_WHY_MAX];
	struct esp_mtu_arg a = { underlay_mtu - ESP_OUTER_IP -
				 (nat_t ? ESP_UDP : 0), mtu };
	int r;

	if (underlay_mtu <= ESP_OUTER_IP + ESP_UDP)
		return -EINVAL;
	if ((r = begin(why, sizeof(why))) < 0)
		return r;
	*mtu = a.outer;
	return each_proposal(list, esp_mtu_cb, &a);
}
