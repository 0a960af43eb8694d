/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcharon inside one of our daemons (charon.h).
 *
 * Threads: what the caller's loop calls only touches the peers under
 * @lock or queues a job; the jobs, the credential set, the backend and
 * the bus listener run in charon's threads and talk back only through the
 * program's post function.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <library.h>
#include <daemon.h>
#include <bus/listeners/listener.h>
#include <bus/listeners/logger.h>
#include <config/backend.h>
#include <config/peer_cfg.h>
#include <credentials/credential_set.h>
#include <credentials/keys/shared_key.h>
#include <encoding/payloads/notify_payload.h>
#include <processing/jobs/callback_job.h>
#include <sa/ikev2/tasks/ike_dpd.h>

#include "lib/charon.h"
#include "lib/sarec.h"
#include "lib/secmem.h"
#include "lib/vec.h"

#define SUBSYS "ike"
#define LOG_SUBSYS "charon"

#define container(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Our state enums follow strongSwan's. */
_Static_assert((int)IKE_SA_DESTROYING == (int)IKE_DESTROYING &&
	       (int)IKE_SA_ESTABLISHED == (int)IKE_ESTABLISHED,
	       "enum ike_sa_state no longer follows ike_sa_state_t");
_Static_assert((int)IKE_CHILD_DESTROYING == (int)CHILD_DESTROYING &&
	       (int)IKE_CHILD_INSTALLED == (int)CHILD_INSTALLED &&
	       (int)IKE_CHILD_REKEYED == (int)CHILD_REKEYED,
	       "enum ike_child_state no longer follows child_sa_state_t");

/* A PSK whose bytes live in secret memory (secmem.h) and only there:
 * strongSwan sees them through get_key(), never copies the key object. */
struct psk {
	shared_key_t public;
	refcount_t ref;
	char *secret;
	size_t len;
};

/*
 * One peer: an initiator's single config, or a responder's one config per
 * ID it accepts from the customer (charon picks the config by the ID the
 * customer sends); all of one name, so events and the PSK lookup find the
 * peer whichever was used.
 */
struct peer {
	char name[IFNAMSIZ];
	bool responder;
	peer_cfg_t *cfg[CHARON_REMOTE_IDS_MAX];
	identification_t *remote_id[CHARON_REMOTE_IDS_MAX];
	size_t n_cfg;
	identification_t *local_id;
	struct psk *psk;
};

/* A CHILD SA's keys between their derivation and its installation. */
struct pending_keys {
	uint32_t child_id;
	struct sarec_keys *keys;	/* secret memory */
};

struct charon {
	listener_t listener;
	logger_t logger;
	credential_set_t creds;
	backend_t backend;
	bool started, library, libcharon, listening;
	charon_post_fn post_fn;
	void *post_arg;
	/* Our peers; read by charon's threads (credential set, backend). */
	pthread_rwlock_t lock;
	struct peer *peers;
	size_t n_peers, cap_peers;
	struct charon_opts opts;
	level_t level;			/* what charon logs to us */
	/* SA records (charon_record_sas()); the pending keys under @lock. */
	charon_sa_fn sa_fn;
	void *sa_arg;
	const char *server;
	uint64_t serial;
	struct pending_keys *pending;
	size_t n_pending, cap_pending;
};

/* Only one: libcharon (charon, lib) is a process-wide singleton. */
static struct charon *the_one;
static void (*dbg_before)(debug_t, level_t, char *, ...);

static void
post(struct charon *c, const struct ike_event *ev)
{
	if (c->post_fn != NULL)
		c->post_fn(c->post_arg, ev);
}

/* --- logging ------------------------------------------------------------------ */

/*
 * charon's levels: 0 audit, 1 control, 2 diagnostics, 3 raw data, 4
 * private (keys, the PSK).  We take at most 1, and only at our debug
 * level: what an operator needs at info and above comes from the
 * program, one line per event.  Raw and private data never reach us,
 * whatever our level.
 */
static level_t
wanted_level(enum log_level ours)
{
	return ours >= LOG_LVL_DEBUG ? LEVEL_CTRL : LEVEL_SILENT;
}

static void
logger_log(logger_t *l, debug_t group, level_t level, int thread,
	   ike_sa_t *ike_sa, const char *message)
{
	struct charon *c = container(l, struct charon, logger);

	if (level > LEVEL_CTRL || level > c->level)
		return;
	if (ike_sa && ike_sa->get_peer_cfg(ike_sa))
		log_msg(LOG_LVL_DEBUG, LOG_SUBSYS, "%02d[%s] %s #%u: %s", thread,
			enum_to_name(debug_names, group), ike_sa->get_name(ike_sa),
			ike_sa->get_unique_id(ike_sa), message);
	else
		log_msg(LOG_LVL_DEBUG, LOG_SUBSYS, "%02d[%s] %s", thread,
			enum_to_name(debug_names, group), message);
}

static level_t
logger_get_level(logger_t *l, debug_t group)
{
	return container(l, struct charon, logger)->level;
}

/* libstrongswan's own messages before charon's bus exists (plugin loading,
 * settings), at most at level 1, like charon-systemd's dbg_stderr(). */
static void
dbg_ours(debug_t group, level_t level, char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (level > LEVEL_CTRL || log_get_level() < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	/* strongSwan's format extensions are registered with glibc's
	 * printf (register_printf_specifier), so vsnprintf() knows them. */
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(LOG_LVL_DEBUG, LOG_SUBSYS, "00[%s] %s",
		enum_to_name(debug_names, group), line);
}

/*
 * strongSwan's printf extensions ("%P": a proposal in its own syntax,
 * ML-KEM named as such) are registered with glibc's printf by
 * library_init(); the compiler's format checking does not know them,
 * hence a call through a pointer without the format attribute.
 */
static int (*const ss_snprintf)(char *, size_t, const char *, ...) = snprintf;

/* --- SA records: what a responder's peers would need ------------------------- */

static bool
responder_sa(struct charon *c, ike_sa_t *ike_sa)
{
	peer_cfg_t *cfg = ike_sa ? ike_sa->get_peer_cfg(ike_sa) : NULL;
	bool yes = false;

	if (c->sa_fn == NULL || cfg == NULL)
		return false;
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, cfg->get_name(cfg)) == 0) {
			yes = c->peers[i].responder;
			break;
		}
	pthread_rwlock_unlock(&c->lock);
	return yes;
}

/* Take the pending keys of CHILD SA @child_id (NULL if none). */
static struct sarec_keys *
pending_take(struct charon *c, uint32_t child_id)
{
	struct sarec_keys *k = NULL;

	pthread_rwlock_wrlock(&c->lock);
	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].child_id == child_id) {
			k = c->pending[i].keys;
			c->pending[i] = c->pending[--c->n_pending];
			break;
		}
	pthread_rwlock_unlock(&c->lock);
	return k;
}

static bool
key_copy(uint8_t *dst, uint8_t *len, chunk_t src)
{
	if (src.len > SAREC_KEY_MAX)
		return false;
	memcpy(dst, src.ptr, src.len);
	*len = (uint8_t)src.len;
	return true;
}

/*
 * The keys of a responder's CHILD SA, kept until it is installed.  "out"
 * is what we encrypt with: the initiator's keys if we initiated the
 * exchange (a responder never does), the responder's otherwise.
 */
static bool
on_child_keys(listener_t *l, ike_sa_t *ike_sa, child_sa_t *child,
	      bool initiator, chunk_t encr_i, chunk_t encr_r, chunk_t integ_i,
	      chunk_t integ_r)
{
	struct charon *c = container(l, struct charon, listener);
	struct pending_keys pk = { .child_id = child->get_unique_id(child) };
	struct sarec_keys *k;
	uint8_t len_in, len_out;
	bool ok;

	if (!responder_sa(c, ike_sa))
		return true;
	if ((k = secmem_alloc(sizeof(*k))) == NULL)
		return true;
	memset(k, 0, sizeof(*k));
	ok = key_copy(k->encr_out, &k->encr_len, initiator ? encr_i : encr_r) &&
	     key_copy(k->encr_in, &len_in, initiator ? encr_r : encr_i) &&
	     key_copy(k->integ_out, &k->integ_len, initiator ? integ_i : integ_r) &&
	     key_copy(k->integ_in, &len_out, initiator ? integ_r : integ_i) &&
	     len_in == k->encr_len && len_out == k->integ_len;
	pk.keys = k;
	if (!ok) {
		secmem_free(k);
		return true;
	}
	/* A stale entry of the same id (never seen) goes first. */
	secmem_free(pending_take(c, pk.child_id));
	pthread_rwlock_wrlock(&c->lock);
	if (VEC_PUSH(c->pending, c->n_pending, c->cap_pending, pk) < 0)
		secmem_free(k);
	pthread_rwlock_unlock(&c->lock);
	return true;
}

static bool
prefix_of_ts(traffic_selector_t *ts, struct ts_prefix *out)
{
	host_t *net = NULL;
	uint8_t mask;
	chunk_t a;
	bool exact, ok = false;

	memset(out, 0, sizeof(*out));
	/* Only a selector that is exactly a subnet (ours always are). */
	exact = ts->to_subnet(ts, &net, &mask);
	if (net == NULL)
		return false;
	a = net->get_address(net);
	if (exact && net->get_family(net) == AF_INET && a.len == 4 &&
	    mask <= 32) {
		out->family = AF_INET;
		memcpy(&out->v4, a.ptr, 4);
		ok = true;
	} else if (exact && net->get_family(net) == AF_INET6 && a.len == 16 &&
		   mask <= 128) {
		out->family = AF_INET6;
		memcpy(&out->v6, a.ptr, 16);
		ok = true;
	}
	out->len = mask;
	net->destroy(net);
	return ok;
}

static size_t
selectors(child_sa_t *child, bool local, struct ts_prefix *out)
{
	enumerator_t *e = child->create_ts_enumerator(child, local);
	traffic_selector_t *ts;
	size_t n = 0;

	while (n < SAREC_TS_MAX && e->enumerate(e, &ts))
		n += prefix_of_ts(ts, &out[n]);
	e->destroy(e);
	return n;
}

static bool
outer_v4(host_t *h, struct in_addr *out)
{
	chunk_t a = h->get_address(h);

	if (h->get_family(h) != AF_INET || a.len != 4)
		return false;
	memcpy(out, a.ptr, 4);
	return true;
}

/* The record of @child, just installed, with the keys derived for it. */
static void
record_sa(struct charon *c, ike_sa_t *ike_sa, child_sa_t *child)
{
	struct sarec r = { 0 };
	proposal_t *p = child->get_proposal(child);
	host_t *me = ike_sa->get_my_host(ike_sa), *other = ike_sa->get_other_host(ike_sa);
	peer_cfg_t *cfg = ike_sa->get_peer_cfg(ike_sa);
	uint16_t alg = 0, ks = 0;
	time_t hard = child->get_lifetime(child, true), now = time_monotonic(NULL);

	if ((r.keys = pending_take(c, child->get_unique_id(child))) == NULL || p == NULL)
		goto out;
	snprintf(r.tunnel, sizeof(r.tunnel), "%s", cfg->get_name(cfg));
	snprintf(r.negotiated_by, sizeof(r.negotiated_by), "%s", c->server);
	r.spi_in = ntohl(child->get_spi(child, true));
	r.spi_out = ntohl(child->get_spi(child, false));
	r.if_id = child->get_if_id(child, true);
	r.reqid = child->get_reqid(child);
	r.replay_window = child->get_config(child)->get_replay_window(
		child->get_config(child));
	r.lifetime_s = hard > now ? (uint32_t)(hard - now) : 0;
	if (!outer_v4(me, &r.local) || !outer_v4(other, &r.remote))
		goto out;
	if (child->has_encap(child)) {
		r.encap_sport = me->get_port(me);
		r.encap_dport = other->get_port(other);
	}
	if (p->get_algorithm(p, EXTENDED_SEQUENCE_NUMBERS, &alg, NULL))
		r.esn = alg == EXT_SEQ_NUMBERS;
	if (p->get_algorithm(p, ENCRYPTION_ALGORITHM, &alg, &ks)) {
		r.encr_alg = alg;
		r.encr_keysize = ks;
	}
	if (p->get_algorithm(p, INTEGRITY_ALGORITHM, &alg, NULL))
		r.integ_alg = alg == AUTH_UNDEFINED ? SAREC_INTEG_NONE : alg;
	r.n_ts_local = selectors(child, true, r.ts_local);
	r.n_ts_remote = selectors(child, false, r.ts_remote);
	pthread_rwlock_wrlock(&c->lock);
	r.serial = ++c->serial;
	pthread_rwlock_unlock(&c->lock);
	if (sarec_validate(&r) < 0) {
		log_warnx(SUBSYS, "%s: CHILD SA 0x%08x/0x%08x not recorded: "
			  "the record would not validate", r.tunnel, r.spi_in,
			  r.spi_out);
		goto out;
	}
	c->sa_fn(c->sa_arg, &r);	/* the record is the callee's now */
	return;
out:
	sarec_clear(&r);
}

/* --- events out ---------------------------------------------------------- */

static bool
event_for(ike_sa_t *ike_sa, enum ike_event_kind kind, struct ike_event *ev)
{
	peer_cfg_t *cfg = ike_sa ? ike_sa->get_peer_cfg(ike_sa) : NULL;

	if (cfg == NULL)
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	snprintf(ev->tunnel, sizeof(ev->tunnel), "%s", cfg->get_name(cfg));
	ev->ike_id = ike_sa->get_unique_id(ike_sa);
	return true;
}

static void
ike_info(ike_sa_t *ike_sa, struct ike_sa_info *in)
{
	proposal_t *p = ike_sa->get_proposal(ike_sa);

	if (p)
		ss_snprintf(in->proposal, sizeof(in->proposal), "%P", p);
	in->nat = ike_sa->has_condition(ike_sa, COND_NAT_ANY);
	in->rekey_at = ike_sa->get_statistic(ike_sa, STAT_REKEY);
	in->reauth_at = ike_sa->get_statistic(ike_sa, STAT_REAUTH);
	in->expire_at = ike_sa->get_statistic(ike_sa, STAT_DELETE);
}

static void
child_info(child_sa_t *child, struct ike_sa_info *in)
{
	proposal_t *p = child->get_proposal(child);
	uint16_t enc = 0, integ = 0, ks;

	if (p) {
		ss_snprintf(in->proposal, sizeof(in->proposal), "%P", p);
		/* Negotiated: one algorithm of each kind (integrity none
		 * with an AEAD). */
		(void)p->get_algorithm(p, ENCRYPTION_ALGORITHM, &enc, &ks);
		(void)p->get_algorithm(p, INTEGRITY_ALGORITHM, &integ, &ks);
	}
	in->nat = child->has_encap(child);
	in->enc_alg = enc;
	in->integ_alg = integ;
	in->spi_in = ntohl(child->get_spi(child, true));
	in->spi_out = ntohl(child->get_spi(child, false));
	in->rekey_at = child->get_lifetime(child, false);
	in->expire_at = child->get_lifetime(child, true);
}

static struct charon *
of_listener(listener_t *l)
{
	return container(l, struct charon, listener);
}

static bool
on_ike_state(listener_t *l, ike_sa_t *ike_sa, ike_sa_state_t state)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_IKE_STATE, &ev)) {
		ev.state = (int)state;
		if (state == IKE_ESTABLISHED)
			ike_info(ike_sa, &ev.info);
		post(of_listener(l), &ev);
	}
	return true;
}

static bool
on_child_state(listener_t *l, ike_sa_t *ike_sa, child_sa_t *child,
	       child_sa_state_t state)
{
	struct ike_event ev;

	if (state == CHILD_INSTALLED && responder_sa(of_listener(l), ike_sa))
		record_sa(of_listener(l), ike_sa, child);
	else if (state == CHILD_DESTROYING && of_listener(l)->sa_fn)
		secmem_free(pending_take(of_listener(l),
					 child->get_unique_id(child)));
	if (event_for(ike_sa, IKE_EV_CHILD_STATE, &ev)) {
		ev.child_id = child->get_unique_id(child);
		ev.state = (int)state;
		/* Installed: what it is; destroying: which one goes (its
		 * SPIs), for those who must forget it elsewhere too. */
		if (state == CHILD_INSTALLED || state == CHILD_DESTROYING)
			child_info(child, &ev.info);
		post(of_listener(l), &ev);
	}
	return true;
}

static bool
on_ike_rekey(listener_t *l, ike_sa_t *old, ike_sa_t *new)
{
	struct ike_event ev;

	if (event_for(old, IKE_EV_IKE_REKEYED, &ev)) {
		ev.arg = new->get_unique_id(new);
		ike_info(new, &ev.info);
		post(of_listener(l), &ev);
	}
	return true;
}

static bool
on_child_rekey(listener_t *l, ike_sa_t *ike_sa, child_sa_t *old,
	       child_sa_t *new)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_CHILD_REKEYED, &ev)) {
		ev.child_id = old->get_unique_id(old);
		ev.arg = new->get_unique_id(new);
		child_info(new, &ev.info);
		post(of_listener(l), &ev);
	}
	return true;
}

static void
post_failure(struct charon *c, ike_sa_t *ike_sa, enum ike_failure f,
	     uint32_t arg)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_FAILURE, &ev)) {
		ev.failure = f;
		ev.arg = arg;
		post(c, &ev);
	}
}

static bool
on_alert(listener_t *l, ike_sa_t *ike_sa, alert_t alert, va_list args)
{
	struct charon *c = of_listener(l);
	ike_sa_state_t st = ike_sa ? ike_sa->get_state(ike_sa) : IKE_CREATED;

	switch (alert) {
	case ALERT_PEER_INIT_UNREACHABLE:
	case ALERT_HALF_OPEN_TIMEOUT:
		post_failure(c, ike_sa, IKE_FAIL_NO_ANSWER, 0);
		break;
	case ALERT_RETRANSMIT_SEND_TIMEOUT:
		post_failure(c, ike_sa, st == IKE_CONNECTING || st == IKE_CREATED ?
			     IKE_FAIL_NO_ANSWER : IKE_FAIL_TIMEOUT, 0);
		break;
	case ALERT_LOCAL_AUTH_FAILED:
		post_failure(c, ike_sa, IKE_FAIL_AUTH_REFUSED, 0);
		break;
	case ALERT_PEER_AUTH_FAILED:
		post_failure(c, ike_sa, IKE_FAIL_AUTH_PEER, 0);
		break;
	case ALERT_PROPOSAL_MISMATCH_IKE:
		post_failure(c, ike_sa, IKE_FAIL_NO_PROPOSAL_IKE, 0);
		break;
	case ALERT_PROPOSAL_MISMATCH_CHILD:
		post_failure(c, ike_sa, IKE_FAIL_NO_PROPOSAL_ESP, 0);
		break;
	case ALERT_TS_MISMATCH:
		post_failure(c, ike_sa, IKE_FAIL_TS, 0);
		break;
	case ALERT_INSTALL_CHILD_SA_FAILED:
	case ALERT_INSTALL_CHILD_POLICY_FAILED:
		post_failure(c, ike_sa, IKE_FAIL_INSTALL, 0);
		break;
	case ALERT_IKE_SA_EXPIRED:
		post_failure(c, ike_sa, IKE_FAIL_EXPIRED, 0);
		break;
	case ALERT_PEER_ADDR_FAILED:
		post_failure(c, ike_sa, IKE_FAIL_INITIATE, 0);
		break;
	default:
		break;
	}
	return true;
}

/* An error notify in a response: why the peer refused. */
static void
response_errors(struct charon *c, ike_sa_t *ike_sa, message_t *msg)
{
	exchange_type_t x = msg->get_exchange_type(msg);
	enumerator_t *e = msg->create_payload_enumerator(msg);
	payload_t *p;

	while (e->enumerate(e, &p)) {
		notify_type_t type;

		if (p->get_type(p) != PLV2_NOTIFY)
			continue;
		type = ((notify_payload_t *)p)->get_notify_type((notify_payload_t *)p);
		/* Status types (16384 and up) are no errors; INVALID_KE_PAYLOAD
		 * is answered by charon with the group asked for. */
		if (type >= 16384 || type == INVALID_KE_PAYLOAD)
			continue;
		switch (type) {
		case NO_PROPOSAL_CHOSEN:
			post_failure(c, ike_sa, x == IKE_SA_INIT ?
				     IKE_FAIL_NO_PROPOSAL_IKE :
				     IKE_FAIL_NO_PROPOSAL_ESP, 0);
			break;
		case AUTHENTICATION_FAILED:
			post_failure(c, ike_sa, IKE_FAIL_AUTH_REFUSED, 0);
			break;
		case TS_UNACCEPTABLE:
			post_failure(c, ike_sa, IKE_FAIL_TS, 0);
			break;
		default:
			post_failure(c, ike_sa, IKE_FAIL_NOTIFY, (uint32_t)type);
			break;
		}
	}
	e->destroy(e);
}

static bool
empty(message_t *msg)
{
	enumerator_t *e = msg->create_payload_enumerator(msg);
	payload_t *p;
	bool none = !e->enumerate(e, &p);

	e->destroy(e);
	return none;
}

static bool
on_message(listener_t *l, ike_sa_t *ike_sa, message_t *msg, bool incoming,
	   bool plain)
{
	struct charon *c = of_listener(l);
	struct ike_event ev;
	bool dpd;

	if (!plain || !event_for(ike_sa, IKE_EV_MESSAGE, &ev))
		return true;
	dpd = msg->get_exchange_type(msg) == INFORMATIONAL && empty(msg);
	if (!incoming) {
		/* An empty INFORMATIONAL request is a DPD. */
		if (dpd && msg->get_request(msg))
			post(c, &ev);
		return true;
	}
	if (!msg->get_request(msg))
		response_errors(c, ike_sa, msg);
	ev.arg = dpd && !msg->get_request(msg) ? 1 : 2;
	post(c, &ev);
	return true;
}

/* --- the credential set ----------------------------------------------------- */

static shared_key_type_t
psk_get_type(shared_key_t *k)
{
	return SHARED_IKE;
}

static chunk_t
psk_get_key(shared_key_t *k)
{
	struct psk *p = container(k, struct psk, public);

	return chunk_create((u_char *)p->secret, p->len);
}

static shared_key_t *
psk_get_ref(shared_key_t *k)
{
	ref_get(&container(k, struct psk, public)->ref);
	return k;
}

static void
psk_destroy(shared_key_t *k)
{
	struct psk *p = container(k, struct psk, public);

	if (ref_put(&p->ref)) {
		secmem_free(p->secret);
		free(p);
	}
}

static struct psk *
psk_new(const char *secret)
{
	struct psk *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->len = strlen(secret);
	/* secmem_alloc() wants at least one byte. */
	if ((p->secret = secmem_alloc(p->len + 1)) == NULL) {
		free(p);
		return NULL;
	}
	memcpy(p->secret, secret, p->len);
	p->public.get_type = psk_get_type;
	p->public.get_key = psk_get_key;
	p->public.get_ref = psk_get_ref;
	p->public.destroy = psk_destroy;
	p->ref = 1;
	return p;
}

/* The keys one lookup may use, with their matches, referenced. */
struct psk_enum {
	enumerator_t public;
	size_t n, next;
	struct {
		struct psk *psk;
		id_match_t me, other;
	} item[];
};

static bool
psk_enum_next(enumerator_t *e, va_list args)
{
	struct psk_enum *pe = container(e, struct psk_enum, public);
	shared_key_t **key = va_arg(args, shared_key_t **);
	id_match_t *me = va_arg(args, id_match_t *);
	id_match_t *other = va_arg(args, id_match_t *);

	if (pe->next == pe->n)
		return false;
	*key = &pe->item[pe->next].psk->public;
	if (me)
		*me = pe->item[pe->next].me;
	if (other)
		*other = pe->item[pe->next].other;
	pe->next++;
	return true;
}

static void
psk_enum_destroy(enumerator_t *e)
{
	struct psk_enum *pe = container(e, struct psk_enum, public);

	for (size_t i = 0; i < pe->n; i++)
		psk_destroy(&pe->item[i].psk->public);
	free(pe);
}

/*
 * The PSK an IKE SA authenticates with is its own tunnel's, found by the
 * SA the asking thread works on (charon sets it on the bus while an SA is
 * checked out), whatever the identities: two tunnels may well share a
 * remote ID (the anycast address) and a PSK is per tunnel.  Without an SA
 * (never seen in practice) the identities decide, as strongSwan's own
 * sets do.
 */
static enumerator_t *
creds_shared(credential_set_t *set, shared_key_type_t type,
	     identification_t *me, identification_t *other)
{
	struct charon *c = container(set, struct charon, creds);
	ike_sa_t *ike_sa = charon->bus->get_sa(charon->bus);
	peer_cfg_t *cfg = ike_sa ? ike_sa->get_peer_cfg(ike_sa) : NULL;
	struct psk_enum *pe;

	if (type != SHARED_IKE && type != SHARED_ANY)
		return enumerator_create_empty();
	pthread_rwlock_rdlock(&c->lock);
	pe = calloc(1, sizeof(*pe) + (c->n_peers + 1) * sizeof(pe->item[0]));
	if (pe == NULL) {
		pthread_rwlock_unlock(&c->lock);
		return enumerator_create_empty();
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		struct peer *p = &c->peers[i];
		id_match_t m_me = ID_MATCH_PERFECT, m_other = ID_MATCH_PERFECT;

		if (p->psk == NULL)
			continue;
		if (cfg) {
			if (strcmp(cfg->get_name(cfg), p->name) != 0)
				continue;
		} else {
			m_me = me ? me->matches(me, p->local_id) : ID_MATCH_ANY;
			m_other = other ? ID_MATCH_NONE : ID_MATCH_ANY;
			for (size_t j = 0; other && j < p->n_cfg; j++) {
				id_match_t m = other->matches(other,
							      p->remote_id[j]);

				if (m > m_other)
					m_other = m;
			}
			if (m_me == ID_MATCH_NONE || m_other == ID_MATCH_NONE)
				continue;
		}
		psk_get_ref(&p->psk->public);
		pe->item[pe->n].psk = p->psk;
		pe->item[pe->n].me = m_me;
		pe->item[pe->n].other = m_other;
		pe->n++;
	}
	pthread_rwlock_unlock(&c->lock);
	pe->public.enumerate = enumerator_enumerate_default;
	pe->public.venumerate = psk_enum_next;
	pe->public.destroy = psk_enum_destroy;
	return &pe->public;
}

static enumerator_t *
creds_none_private(credential_set_t *set, key_type_t type, identification_t *id)
{
	return enumerator_create_empty();
}

static enumerator_t *
creds_none_cert(credential_set_t *set, certificate_type_t cert,
		key_type_t key, identification_t *id, bool trusted)
{
	return enumerator_create_empty();
}

static enumerator_t *
creds_none_cdp(credential_set_t *set, certificate_type_t type,
	       identification_t *id)
{
	return enumerator_create_empty();
}

/* --- peer configs ------------------------------------------------------------ */

static void
peer_clear(struct peer *p)
{
	for (size_t i = 0; i < p->n_cfg; i++) {
		p->cfg[i]->destroy(p->cfg[i]);
		p->remote_id[i]->destroy(p->remote_id[i]);
	}
	if (p->local_id)
		p->local_id->destroy(p->local_id);
	if (p->psk)
		psk_destroy(&p->psk->public);
	memset(p, 0, sizeof(*p));
}

/* Add each proposal of @list ("a-b-c, d-e-f") to @ike or @child. */
static int
add_proposals(const char *list, protocol_id_t proto, ike_cfg_t *ike,
	      child_cfg_t *child)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int err = 0, n = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		proposal_t *p = proposal_create_from_string(proto, tok);

		if (p == NULL) {
			log_warnx(SUBSYS, "proposal '%s' does not parse", tok);
			err = -EINVAL;
			break;
		}
		if (ike)
			ike->add_proposal(ike, p);
		else
			child->add_proposal(child, p);
		n++;
	}
	free(copy);
	return err ? err : n ? 0 : -EINVAL;
}

static identification_t *
ident(const char *text)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", text);
	return identification_create_from_string(buf);
}

static auth_cfg_t *
psk_auth(identification_t *id)
{
	auth_cfg_t *auth = auth_cfg_create();

	auth->add(auth, AUTH_RULE_AUTH_CLASS, AUTH_CLASS_PSK);
	auth->add(auth, AUTH_RULE_IDENTITY, id->clone(id));
	return auth;
}

/*
 * One peer config of @d for the peer's remote ID @remote_id: IKEv2, PSK
 * both ways, its proposals, IKEv2 fragmentation, no MOBIKE; one CHILD SA
 * in tunnel mode for 0.0.0.0/0 both ways (and ::/0 too with @d->ipv6:
 * IPv6 inside the same SA; a peer that offers IPv4 alone narrows it
 * away), bound to the XFRM interface by @d->if_id in and out.
 *
 * An initiator rekeys, staggered by a random tenth of the lifetime, never
 * reauthenticates, and restarts on DPD.  A responder never starts a
 * rekey, a reauthentication or an SA (its lifetimes are the initiator's:
 * none of its own), replaces an IKE SA the same customer makes anew
 * (strongSwan's default uniqueids=yes), and only clears on DPD.
 */
static int
cfg_build(const struct charon_peer *d, identification_t *local_id,
	  identification_t *remote_id, peer_cfg_t **out)
{
	unsigned int ike_life = d->responder ? 0 : d->ike_lifetime_s;
	unsigned int child_life = d->responder ? 0 : d->child_lifetime_s;
	char local[sizeof(d->local)], remote[sizeof(d->remote)];
	ike_cfg_create_t ic = {
		.version = IKEV2,
		.local = local,
		/* Where our socket is bound (500 unless told otherwise):
		 * from there charon floats to the NAT-T port. */
		.local_port = charon->socket->get_port(charon->socket, false),
		.remote = remote,
		.remote_port = IKEV2_UDP_PORT,
		.no_certreq = true,
		.fragmentation = FRAGMENTATION_YES,
		.childless = CHILDLESS_NEVER,
	};
	peer_cfg_create_t pc = {
		.options = OPT_NO_MOBIKE,
		.cert_policy = CERT_NEVER_SEND,
		.ocsp_policy = OCSP_SEND_NEVER,
		.unique = d->responder ? UNIQUE_REPLACE : UNIQUE_NO,
		/* One try: the program retries, with its own back-off and
		 * one log line per attempt. */
		.keyingtries = 1,
		.rekey_time = ike_life,
		.jitter_time = ike_life / 10,
		.over_time = ike_life / 10,
		.dpd = d->dpd_s,
	};
	child_cfg_create_t cc = {
		.mode = MODE_TUNNEL,
		.if_id_in = d->if_id,
		.if_id_out = d->if_id,
		.lifetime = {
			.time = {
				.life = child_life + child_life / 10,
				.rekey = child_life,
				.jitter = child_life / 10,
			},
		},
		.start_action = ACTION_NONE,
		.dpd_action = d->responder ? ACTION_NONE : ACTION_START,
		.close_action = ACTION_NONE,
	};
	char any[][10] = { "0.0.0.0/0", "::/0" };
	char name[IFNAMSIZ];
	ike_cfg_t *ike;
	child_cfg_t *child;
	peer_cfg_t *cfg;
	int err;

	snprintf(name, sizeof(name), "%s", d->name);
	snprintf(local, sizeof(local), "%s", d->local);
	snprintf(remote, sizeof(remote), "%s", d->remote);
	ike = ike_cfg_create(&ic);
	if ((err = add_proposals(d->ike_proposals, PROTO_IKE, ike, NULL)) < 0) {
		ike->destroy(ike);
		return err;
	}
	cfg = peer_cfg_create(name, ike, &pc);
	cfg->add_auth_cfg(cfg, psk_auth(local_id), true);
	cfg->add_auth_cfg(cfg, psk_auth(remote_id), false);

	child = child_cfg_create(name, &cc);
	child->set_replay_window(child, d->replay_window);
	if ((err = add_proposals(d->esp_proposals, PROTO_ESP, NULL,
				 child)) < 0) {
		child->destroy(child);
		cfg->destroy(cfg);
		return err;
	}
	for (size_t i = 0; i < (d->ipv6 ? 2 : 1); i++) {
		child->add_traffic_selector(child, true,
			traffic_selector_create_from_cidr(any[i], 0, 0, 65535));
		child->add_traffic_selector(child, false,
			traffic_selector_create_from_cidr(any[i], 0, 0, 65535));
	}
	cfg->add_child_cfg(cfg, child);
	*out = cfg;
	return 0;
}

static int
peer_build(const struct charon_peer *d, struct peer *out)
{
	size_t n = d->responder ? d->n_remote_ids : 1;
	int err;

	memset(out, 0, sizeof(*out));
	if (d->name[0] == '\0' || d->psk == NULL || d->n_remote_ids == 0 ||
	    d->n_remote_ids > CHARON_REMOTE_IDS_MAX ||
	    d->ike_proposals == NULL || d->esp_proposals == NULL)
		return -EINVAL;
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->responder = d->responder;
	out->local_id = ident(d->local_id ? d->local_id : d->local);
	out->psk = psk_new(d->psk);
	if (out->local_id == NULL || out->psk == NULL) {
		peer_clear(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		identification_t *id = ident(d->remote_ids[i]);

		if (id == NULL) {
			peer_clear(out);
			return -ENOMEM;
		}
		if ((err = cfg_build(d, out->local_id, id,
				     &out->cfg[out->n_cfg])) < 0) {
			id->destroy(id);
			peer_clear(out);
			return err;
		}
		out->remote_id[out->n_cfg++] = id;
	}
	return 0;
}

static struct peer *
peer_find(struct charon *c, const char *name)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

int
charon_peer_set(struct charon *c, const struct charon_peer *d)
{
	struct peer p, *old;
	int err;

	/* The configs read charon's socket (its port). */
	if (!c->started)
		return -EAGAIN;
	if ((err = peer_build(d, &p)) < 0)
		return err;
	pthread_rwlock_wrlock(&c->lock);
	if ((old = peer_find(c, d->name)) != NULL) {
		/* SAs made with the old config keep it (it is refcounted);
		 * the old PSK is wiped once the last lookup lets go of it. */
		struct peer gone = *old;

		*old = p;
		pthread_rwlock_unlock(&c->lock);
		peer_clear(&gone);
		return 0;
	}
	err = VEC_PUSH(c->peers, c->n_peers, c->cap_peers, p);
	pthread_rwlock_unlock(&c->lock);
	if (err < 0)
		peer_clear(&p);
	return err;
}

void
charon_peer_remove(struct charon *c, const char *name)
{
	struct peer *p, gone;

	pthread_rwlock_wrlock(&c->lock);
	if ((p = peer_find(c, name)) == NULL) {
		pthread_rwlock_unlock(&c->lock);
		return;
	}
	gone = *p;
	*p = c->peers[--c->n_peers];
	pthread_rwlock_unlock(&c->lock);
	peer_clear(&gone);
}

/* --- the backend: a responder's configs, for charon to find ------------------- */

/* The configs one lookup may use, referenced while it enumerates. */
struct cfg_enum {
	enumerator_t public;
	bool ike;			/* ike_cfg_t's, or peer_cfg_t's */
	size_t n, next;
	peer_cfg_t *cfg[];
};

static bool
cfg_enum_next(enumerator_t *e, va_list args)
{
	struct cfg_enum *ce = container(e, struct cfg_enum, public);

	if (ce->next == ce->n)
		return false;
	if (ce->ike) {
		ike_cfg_t **out = va_arg(args, ike_cfg_t **);

		*out = ce->cfg[ce->next]->get_ike_cfg(ce->cfg[ce->next]);
	} else {
		peer_cfg_t **out = va_arg(args, peer_cfg_t **);

		*out = ce->cfg[ce->next];
	}
	ce->next++;
	return true;
}

static void
cfg_enum_destroy(enumerator_t *e)
{
	struct cfg_enum *ce = container(e, struct cfg_enum, public);

	for (size_t i = 0; i < ce->n; i++)
		ce->cfg[i]->destroy(ce->cfg[i]);
	free(ce);
}

/* Every responder config (of @name only, if given); charon matches
 * addresses and identities itself, as the backend interface allows. */
static enumerator_t *
cfg_enum(struct charon *c, bool ike, const char *name)
{
	struct cfg_enum *ce;
	size_t n = 0;

	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < c->n_peers; i++)
		n += c->peers[i].responder ? c->peers[i].n_cfg : 0;
	if ((ce = calloc(1, sizeof(*ce) + n * sizeof(ce->cfg[0]))) == NULL) {
		pthread_rwlock_unlock(&c->lock);
		return enumerator_create_empty();
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		struct peer *p = &c->peers[i];

		if (!p->responder || (name && strcmp(name, p->name) != 0))
			continue;
		for (size_t j = 0; j < p->n_cfg; j++)
			ce->cfg[ce->n++] = p->cfg[j]->get_ref(p->cfg[j]);
	}
	pthread_rwlock_unlock(&c->lock);
	ce->ike = ike;
	ce->public.enumerate = enumerator_enumerate_default;
	ce->public.venumerate = cfg_enum_next;
	ce->public.destroy = cfg_enum_destroy;
	return &ce->public;
}

static enumerator_t *
backend_ike_cfgs(backend_t *b, host_t *me, host_t *other)
{
	return cfg_enum(container(b, struct charon, backend), true, NULL);
}

static enumerator_t *
backend_peer_cfgs(backend_t *b, identification_t *me, identification_t *other)
{
	return cfg_enum(container(b, struct charon, backend), false, NULL);
}

static peer_cfg_t *
backend_peer_cfg_by_name(backend_t *b, char *name)
{
	enumerator_t *e = cfg_enum(container(b, struct charon, backend), false,
				   name);
	peer_cfg_t *cfg, *found = NULL;

	if (e->enumerate(e, &cfg))
		found = cfg->get_ref(cfg);
	e->destroy(e);
	return found;
}

/* --- jobs: what runs in charon's threads ----------------------------------------- */

struct job {
	struct charon *c;
	char name[IFNAMSIZ];
	peer_cfg_t *cfg;		/* initiate: references, adopted by */
	child_cfg_t *child;		/* the controller once it runs */
	uint32_t ike_id, child_id;
	bool force;
};

static void
job_free(void *data)
{
	struct job *j = data;

	if (j->cfg)
		j->cfg->destroy(j->cfg);
	if (j->child)
		j->child->destroy(j->child);
	free(j);
}

static job_requeue_t
initiate_job(void *data)
{
	struct job *j = data;
	struct ike_event ev = { .kind = IKE_EV_INITIATED };
	status_t st;

	st = charon->controller->initiate(charon->controller, j->cfg, j->child,
					  NULL, NULL, 0, 0, false);
	j->cfg = NULL;
	j->child = NULL;
	snprintf(ev.tunnel, sizeof(ev.tunnel), "%s", j->name);
	ev.arg = st == SUCCESS;
	post(j->c, &ev);
	return JOB_REQUEUE_NONE;
}

static job_requeue_t
terminate_job(void *data)
{
	struct job *j = data;

	charon->controller->terminate_ike(charon->controller, j->ike_id,
					  j->force, NULL, NULL, 0, 0);
	return JOB_REQUEUE_NONE;
}

static job_requeue_t
dpd_job(void *data)
{
	struct job *j = data;
	ike_sa_t *ike_sa;

	ike_sa = charon->ike_sa_manager->checkout_by_id(charon->ike_sa_manager,
							j->ike_id);
	if (ike_sa == NULL)
		return JOB_REQUEUE_NONE;
	if (ike_sa->get_state(ike_sa) == IKE_ESTABLISHED) {
		ike_sa->queue_task(ike_sa, (task_t *)ike_dpd_create(true));
		if (ike_sa->initiate(ike_sa, NULL, NULL) == DESTROY_ME) {
			charon->ike_sa_manager->checkin_and_destroy(
				charon->ike_sa_manager, ike_sa);
			return JOB_REQUEUE_NONE;
		}
	}
	charon->ike_sa_manager->checkin(charon->ike_sa_manager, ike_sa);
	return JOB_REQUEUE_NONE;
}

/* What `swanctl --rekey` asks of a CHILD SA, on the SA that holds it. */
static job_requeue_t
rekey_job(void *data)
{
	struct job *j = data;
	ike_sa_t *ike_sa;
	enumerator_t *e;
	child_sa_t *child;
	protocol_id_t proto = PROTO_NONE;
	uint32_t spi = 0;

	ike_sa = charon->ike_sa_manager->checkout_by_id(charon->ike_sa_manager,
							j->ike_id);
	if (ike_sa == NULL)
		return JOB_REQUEUE_NONE;
	e = ike_sa->create_child_sa_enumerator(ike_sa);
	while (e->enumerate(e, &child))
		if (child->get_unique_id(child) == j->child_id) {
			proto = child->get_protocol(child);
			spi = child->get_spi(child, true);
		}
	e->destroy(e);
	if (spi && ike_sa->rekey_child_sa(ike_sa, proto, spi) == DESTROY_ME) {
		charon->ike_sa_manager->checkin_and_destroy(
			charon->ike_sa_manager, ike_sa);
		return JOB_REQUEUE_NONE;
	}
	charon->ike_sa_manager->checkin(charon->ike_sa_manager, ike_sa);
	return JOB_REQUEUE_NONE;
}

static void
queue(struct job *j, callback_job_cb_t fn)
{
	lib->processor->queue_job(lib->processor,
		(job_t *)callback_job_create(fn, j, job_free, NULL));
}

static struct job *
job_new(struct charon *c)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->c = c;
	return j;
}

void
charon_initiate(struct charon *c, const char *name)
{
	struct ike_event ev = { .kind = IKE_EV_INITIATED };
	struct job *j = job_new(c);
	struct peer *p;

	snprintf(ev.tunnel, sizeof(ev.tunnel), "%s", name);
	if (j == NULL) {
		post(c, &ev);
		return;
	}
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_rwlock_rdlock(&c->lock);
	if ((p = peer_find(c, name)) != NULL && !p->responder) {
		enumerator_t *e = p->cfg[0]->create_child_cfg_enumerator(p->cfg[0]);
		child_cfg_t *child;

		j->cfg = p->cfg[0]->get_ref(p->cfg[0]);
		if (e->enumerate(e, &child))
			j->child = child->get_ref(child);
		e->destroy(e);
	}
	pthread_rwlock_unlock(&c->lock);
	if (j->cfg == NULL || j->child == NULL) {
		job_free(j);
		post(c, &ev);
		return;
	}
	queue(j, initiate_job);
}

void
charon_terminate(struct charon *c, uint32_t ike_id, bool force)
{
	struct job *j = job_new(c);

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	j->force = force;
	queue(j, terminate_job);
}

void
charon_dpd(struct charon *c, uint32_t ike_id)
{
	struct job *j = job_new(c);

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	queue(j, dpd_job);
}

void
charon_rekey(struct charon *c, uint32_t ike_id, uint32_t child_id)
{
	struct job *j = job_new(c);

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	j->child_id = child_id;
	queue(j, rekey_job);
}

void
charon_log_level(struct charon *c, enum log_level level)
{
	c->level = wanted_level(level);
	/* Adding a logger again re-reads its levels. */
	if (c->libcharon)
		charon->bus->add_logger(charon->bus, &c->logger);
}

void
charon_record_sas(struct charon *c, const char *server, charon_sa_fn fn,
		  void *arg)
{
	struct timespec now;

	c->server = server;
	c->sa_fn = fn;
	c->sa_arg = arg;
	/* Above every serial of an earlier run: seconds since the epoch,
	 * shifted, then counting. */
	clock_gettime(CLOCK_REALTIME, &now);
	c->serial = (uint64_t)now.tv_sec << 20;
}

/* --- settings, start, stop ---------------------------------------------------- */

/*
 * charon's settings, in the namespace of this process (lib->ns): what
 * charon-systemd would read from strongswan.conf, decided here.
 */
static void
settings(const struct charon_opts *o)
{
	settings_t *s = lib->settings;
	const char *ns = lib->ns;

	/* Routes and addresses are the reconciler's: the XFRM interface
	 * carries the traffic, charon installs no routes, no routing
	 * table or rule of its own (table 220), no virtual IPs. */
	s->set_bool(s, "%s.install_routes", false, ns);
	s->set_bool(s, "%s.install_virtual_ip", false, ns);
	s->set_int(s, "%s.routing_table", 0, ns);
	/* Our XFRM states and policies: reqids from our mark's range on
	 * (DESIGN.md "Ownership marks"); the if_id binds them anyway. */
	s->set_int(s, "%s.reqid_base", (int)o->reqid_base, ns);
	s->set_bool(s, "%s.initiator_only", o->initiator_only, ns);
	/* Each initiation makes its own IKE SA, never a CHILD SA on one
	 * that exists (the program decides when a tunnel needs one). */
	s->set_bool(s, "%s.reuse_ikesa", false, ns);
	/* New CHILD SA in before the old one out: no packet lost to a
	 * rekey. */
	s->set_bool(s, "%s.make_before_break", true, ns);
	/* An IKE SA whose CHILD SA failed is of no use to a tunnel. */
	s->set_bool(s, "%s.close_ike_on_child_failure", true, ns);
	s->set_double(s, "%s.retransmit_timeout", o->retransmit_timeout_s, ns);
	s->set_double(s, "%s.retransmit_base", o->retransmit_base, ns);
	s->set_int(s, "%s.retransmit_tries", (int)o->retransmit_tries, ns);
	s->set_int(s, "%s.retransmit_jitter", 20, ns);
	s->set_int(s, "%s.threads", (int)o->threads, ns);
	s->set_bool(s, "%s.send_vendor_id", false, ns);
	if (o->port)
		s->set_int(s, "%s.port", o->port, ns);
	if (o->port_nat_t)
		s->set_int(s, "%s.port_nat_t", o->port_nat_t, ns);
}

int
charon_start(struct charon *c, charon_post_fn post_fn, void *arg)
{
	char plugins[] = STRONGSWAN_PLUGINS;
	sigset_t all, old;

	c->post_fn = post_fn;
	c->post_arg = arg;
	/* Ours to bring up: someone else's (a config check between its
	 * begin and end) has its own plugins and settings. */
	if (lib != NULL) {
		log_warnx(SUBSYS, "libstrongswan is up already (a config check "
			  "holding it?): charon not started");
		return -EBUSY;
	}
	dbg_before = dbg;
	dbg = dbg_ours;
	/* "": no strongswan.conf, whatever STRONGSWAN_CONF says. */
	c->library = true;
	if (!library_init("", c->opts.name)) {
		log_warnx(SUBSYS, "libstrongswan failed to initialise");
		return -EINVAL;
	}
	/* Before libcharon_init(): some are read as it makes its parts (the
	 * kernel interface reads reqid_base then). */
	settings(&c->opts);
	c->libcharon = true;
	if (!libcharon_init()) {
		log_warnx(SUBSYS, "libcharon failed to initialise");
		return -EINVAL;
	}
	charon->bus->add_logger(charon->bus, &c->logger);
	/* charon's threads are made from here on, and inherit our signal
	 * mask: all blocked, so that signals stay the loop's (lib/thread.h;
	 * strongSwan unblocks only its own cancellation signal). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!charon->initialize(charon, plugins)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		log_warnx(SUBSYS, "charon failed to initialise (plugins: %s)",
			  plugins);
		return -EINVAL;
	}
	lib->credmgr->add_set(lib->credmgr, &c->creds);
	charon->backends->add_backend(charon->backends, &c->backend);
	charon->bus->add_listener(charon->bus, &c->listener);
	c->listening = true;
	charon->start(charon);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->started = true;
	log_info(SUBSYS, "charon %s started (plugins: %s)", STRONGSWAN_VERSION,
		 plugins);
	return 0;
}

void
charon_destroy(struct charon *c)
{
	if (c == NULL)
		return;
	if (c->listening) {
		charon->bus->remove_listener(charon->bus, &c->listener);
		charon->backends->remove_backend(charon->backends, &c->backend);
		lib->credmgr->remove_set(lib->credmgr, &c->creds);
	}
	/* Deletes every IKE SA (telling the peers), and with them their
	 * kernel SAs and policies; joins charon's threads. */
	if (c->libcharon)
		libcharon_deinit();
	if (c->library)
		library_deinit();
	if (c->library)
		dbg = dbg_before;
	for (size_t i = 0; i < c->n_peers; i++)
		peer_clear(&c->peers[i]);
	free(c->peers);
	for (size_t i = 0; i < c->n_pending; i++)
		secmem_free(c->pending[i].keys);
	free(c->pending);
	pthread_rwlock_destroy(&c->lock);
	if (c->started)
		log_info(SUBSYS, "charon stopped");
	the_one = NULL;
	free(c);
}

struct charon *
charon_create(const struct charon_opts *opts, int *err)
{
	struct charon *c;

	if (the_one) {
		*err = -EBUSY;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	if (opts)
		c->opts = *opts;
	if (c->opts.name == NULL)
		c->opts.name = "tunsteer";
	if (c->opts.threads == 0)
		c->opts.threads = 8;
	if (c->opts.retransmit_timeout_s <= 0)
		c->opts.retransmit_timeout_s = 2.0;
	if (c->opts.retransmit_base <= 0)
		c->opts.retransmit_base = 1.5;
	if (c->opts.retransmit_tries == 0)
		c->opts.retransmit_tries = 3;
	if ((*err = -pthread_rwlock_init(&c->lock, NULL)) != 0) {
		free(c);
		return NULL;
	}
	c->level = wanted_level(log_get_level());
	c->logger.log = logger_log;
	c->logger.get_level = logger_get_level;
	c->listener.ike_state_change = on_ike_state;
	c->listener.child_state_change = on_child_state;
	c->listener.ike_rekey = on_ike_rekey;
	c->listener.child_rekey = on_child_rekey;
	c->listener.alert = on_alert;
	c->listener.message = on_message;
	c->listener.child_derived_keys = on_child_keys;
	c->creds.create_private_enumerator = creds_none_private;
	c->creds.create_cert_enumerator = creds_none_cert;
	c->creds.create_shared_enumerator = creds_shared;
	c->creds.create_cdp_enumerator = creds_none_cdp;
	c->backend.create_ike_cfg_enumerator = backend_ike_cfgs;
	c->backend.create_peer_cfg_enumerator = backend_peer_cfgs;
	c->backend.get_peer_cfg_by_name = backend_peer_cfg_by_name;
	the_one = c;
	*err = 0;
	return c;
}
