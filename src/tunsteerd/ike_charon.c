/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcharon as tunsteerd's IKE driver (ike.h, struct ike_driver).
 *
 * Set up the way charon-systemd sets itself up, minus everything that
 * reads or opens something of its own: no strongswan.conf (the settings
 * are made here, in charon's namespace of this process), our compiled-in
 * plugin list (no VICI, no stroke), no loggers of charon's own (its log
 * goes to ours, see logger_log()).  Peer configs are not in a backend:
 * tunsteerd only initiates, and an initiated IKE SA keeps its config.
 *
 * Threads: what the loop calls only looks up a peer under @lock and
 * queues a job; the jobs and the bus listener run in charon's threads and
 * talk back only through ike_post().
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

#include <library.h>
#include <daemon.h>
#include <bus/listeners/listener.h>
#include <bus/listeners/logger.h>
#include <config/peer_cfg.h>
#include <credentials/credential_set.h>
#include <credentials/keys/shared_key.h>
#include <encoding/payloads/notify_payload.h>
#include <processing/jobs/callback_job.h>
#include <sa/ikev2/tasks/ike_dpd.h>

#include "tunsteerd/ike.h"
#include "tunsteerd/ike_check.h"
#include "lib/kernel.h"
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

struct peer {
	char name[IFNAMSIZ];
	peer_cfg_t *cfg;
	identification_t *local_id, *remote_id;
	struct psk *psk;
};

struct ike_charon {
	struct ike_driver drv;
	struct ike *ike;
	listener_t listener;
	logger_t logger;
	credential_set_t creds;
	bool started, library, libcharon, listening;
	/* Our peers; read by charon's threads (the credential set). */
	pthread_rwlock_t lock;
	struct peer *peers;
	size_t n_peers, cap_peers;
	struct ike_charon_opts opts;
	level_t level;			/* what charon logs to us */
};

/* Only one: libcharon (charon, lib) is a process-wide singleton. */
static struct ike_charon *the_one;
static void (*dbg_before)(debug_t, level_t, char *, ...);

/* --- logging ------------------------------------------------------------------ */

/*
 * charon's levels: 0 audit, 1 control, 2 diagnostics, 3 raw data, 4
 * private (keys, the PSK).  We take at most 1, and only at our debug
 * level: what an operator needs at info and above comes from ike.c, one
 * line per event.  Raw and private data never reach us, whatever our
 * level.
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
	struct ike_charon *c = container(l, struct ike_charon, logger);

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
	return container(l, struct ike_charon, logger)->level;
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
	if (p)
		in->mtu = ike_check_esp_mtu_algs(enc, integ, ESP_UNDERLAY_MTU,
						 in->nat);
	in->spi_in = ntohl(child->get_spi(child, true));
	in->spi_out = ntohl(child->get_spi(child, false));
	in->rekey_at = child->get_lifetime(child, false);
	in->expire_at = child->get_lifetime(child, true);
}

static struct ike_charon *
of_listener(listener_t *l)
{
	return container(l, struct ike_charon, listener);
}

static bool
on_ike_state(listener_t *l, ike_sa_t *ike_sa, ike_sa_state_t state)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_IKE_STATE, &ev)) {
		ev.state = (int)state;
		if (state == IKE_ESTABLISHED)
			ike_info(ike_sa, &ev.info);
		ike_post(of_listener(l)->ike, &ev);
	}
	return true;
}

static bool
on_child_state(listener_t *l, ike_sa_t *ike_sa, child_sa_t *child,
	       child_sa_state_t state)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_CHILD_STATE, &ev)) {
		ev.child_id = child->get_unique_id(child);
		ev.state = (int)state;
		if (state == CHILD_INSTALLED)
			child_info(child, &ev.info);
		ike_post(of_listener(l)->ike, &ev);
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
		ike_post(of_listener(l)->ike, &ev);
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
		ike_post(of_listener(l)->ike, &ev);
	}
	return true;
}

static void
post_failure(struct ike_charon *c, ike_sa_t *ike_sa, enum ike_failure f,
	     uint32_t arg)
{
	struct ike_event ev;

	if (event_for(ike_sa, IKE_EV_FAILURE, &ev)) {
		ev.failure = f;
		ev.arg = arg;
		ike_post(c->ike, &ev);
	}
}

static bool
on_alert(listener_t *l, ike_sa_t *ike_sa, alert_t alert, va_list args)
{
	struct ike_charon *c = of_listener(l);
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
response_errors(struct ike_charon *c, ike_sa_t *ike_sa, message_t *msg)
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
	struct ike_charon *c = of_listener(l);
	struct ike_event ev;
	bool dpd;

	if (!plain || !event_for(ike_sa, IKE_EV_MESSAGE, &ev))
		return true;
	dpd = msg->get_exchange_type(msg) == INFORMATIONAL && empty(msg);
	if (!incoming) {
		/* An empty INFORMATIONAL request is a DPD. */
		if (dpd && msg->get_request(msg))
			ike_post(c->ike, &ev);
		return true;
	}
	if (!msg->get_request(msg))
		response_errors(c, ike_sa, msg);
	ev.arg = dpd && !msg->get_request(msg) ? 1 : 2;
	ike_post(c->ike, &ev);
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
	struct ike_charon *c = container(set, struct ike_charon, creds);
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
			m_other = other ? other->matches(other, p->remote_id) :
					  ID_MATCH_ANY;
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
	if (p->cfg)
		p->cfg->destroy(p->cfg);
	if (p->local_id)
		p->local_id->destroy(p->local_id);
	if (p->remote_id)
		p->remote_id->destroy(p->remote_id);
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
 * The peer config of tunnel @t: IKEv2 to its remote address, PSK both
 * ways, its proposals, rekeys staggered by a random tenth of the
 * lifetime, no reauthentication, DPD with restart, IKEv2 fragmentation;
 * one CHILD SA in tunnel mode for 0.0.0.0/0 both ways (and ::/0 too for
 * a tunnel with an address6: IPv6 inside the same SA; a responder that
 * offers IPv4 alone narrows it away), bound to the XFRM interface by
 * @if_id in and out, started only when we initiate.
 */
static int
peer_build(const struct config_tunnel *t, uint32_t if_id, struct peer *out)
{
	const struct config_ike *k = &t->ike;
	char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN];
	unsigned int ike_life = k->ike_lifetime_s ? k->ike_lifetime_s :
				CONFIG_IKE_LIFETIME_S;
	unsigned int child_life = k->child_lifetime_s ? k->child_lifetime_s :
				  CONFIG_CHILD_LIFETIME_S;
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
		.unique = UNIQUE_NO,
		/* One try: tunsteerd retries, with its own back-off and one
		 * log line per attempt (ike.c). */
		.keyingtries = 1,
		.rekey_time = ike_life,
		.jitter_time = ike_life / 10,
		.over_time = ike_life / 10,
		.dpd = k->dpd_s,
	};
	child_cfg_create_t cc = {
		.mode = MODE_TUNNEL,
		.if_id_in = if_id,
		.if_id_out = if_id,
		.lifetime = {
			.time = {
				.life = child_life + child_life / 10,
				.rekey = child_life,
				.jitter = child_life / 10,
			},
		},
		.start_action = ACTION_NONE,
		.dpd_action = ACTION_START,
		.close_action = ACTION_NONE,
	};
	ike_cfg_t *ike;
	child_cfg_t *child;
	char name[IFNAMSIZ];
	int err;

	memset(out, 0, sizeof(*out));
	if (t->type != TUNNEL_IPSEC || t->ike.psk == NULL)
		return -EINVAL;
	snprintf(out->name, sizeof(out->name), "%s", t->name);
	snprintf(name, sizeof(name), "%s", t->name);
	inet_ntop(AF_INET, &t->local, local, sizeof(local));
	inet_ntop(AF_INET, &t->remote, remote, sizeof(remote));
	if (t->local.s_addr == 0)
		snprintf(local, sizeof(local), "%%any");
	out->local_id = ident(k->local_id ? k->local_id : local);
	out->remote_id = ident(k->remote_id ? k->remote_id : remote);
	out->psk = psk_new(k->psk);
	if (out->local_id == NULL || out->remote_id == NULL || out->psk == NULL) {
		peer_clear(out);
		return -ENOMEM;
	}

	ike = ike_cfg_create(&ic);
	if ((err = add_proposals(k->ike_proposals ? k->ike_proposals :
				 CONFIG_IKE_PROPOSALS, PROTO_IKE, ike, NULL)) < 0) {
		ike->destroy(ike);
		peer_clear(out);
		return err;
	}
	out->cfg = peer_cfg_create(name, ike, &pc);
	out->cfg->add_auth_cfg(out->cfg, psk_auth(out->local_id), true);
	out->cfg->add_auth_cfg(out->cfg, psk_auth(out->remote_id), false);

	child = child_cfg_create(name, &cc);
	child->set_replay_window(child, k->replay_window);
	if ((err = add_proposals(k->esp_proposals ? k->esp_proposals :
				 CONFIG_ESP_PROPOSALS, PROTO_ESP, NULL, child)) < 0) {
		child->destroy(child);
		peer_clear(out);
		return err;
	}
	child->add_traffic_selector(child, true,
		traffic_selector_create_from_cidr("0.0.0.0/0", 0, 0, 65535));
	child->add_traffic_selector(child, false,
		traffic_selector_create_from_cidr("0.0.0.0/0", 0, 0, 65535));
	if (t->has_address6) {
		child->add_traffic_selector(child, true,
			traffic_selector_create_from_cidr("::/0", 0, 0, 65535));
		child->add_traffic_selector(child, false,
			traffic_selector_create_from_cidr("::/0", 0, 0, 65535));
	}
	out->cfg->add_child_cfg(out->cfg, child);
	return 0;
}

static struct peer *
peer_find(struct ike_charon *c, const char *name)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

static int
drv_peer_set(struct ike_driver *d, const struct config_tunnel *t,
	     uint32_t if_id)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);
	struct peer p, *old;
	int err;

	if ((err = peer_build(t, if_id, &p)) < 0)
		return err;
	pthread_rwlock_wrlock(&c->lock);
	if ((old = peer_find(c, t->name)) != NULL) {
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

static void
drv_peer_remove(struct ike_driver *d, const char *name)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);
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

/* --- jobs: what runs in charon's threads ----------------------------------------- */

struct job {
	struct ike_charon *c;
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
	ike_post(j->c->ike, &ev);
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
job_new(struct ike_charon *c)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->c = c;
	return j;
}

static void
drv_initiate(struct ike_driver *d, const char *name)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);
	struct ike_event ev = { .kind = IKE_EV_INITIATED };
	struct job *j = job_new(c);
	struct peer *p;

	snprintf(ev.tunnel, sizeof(ev.tunnel), "%s", name);
	if (j == NULL) {
		ike_post(c->ike, &ev);
		return;
	}
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_rwlock_rdlock(&c->lock);
	if ((p = peer_find(c, name)) != NULL) {
		enumerator_t *e = p->cfg->create_child_cfg_enumerator(p->cfg);
		child_cfg_t *child;

		j->cfg = p->cfg->get_ref(p->cfg);
		if (e->enumerate(e, &child))
			j->child = child->get_ref(child);
		e->destroy(e);
	}
	pthread_rwlock_unlock(&c->lock);
	if (j->cfg == NULL || j->child == NULL) {
		job_free(j);
		ike_post(c->ike, &ev);
		return;
	}
	queue(j, initiate_job);
}

static void
drv_terminate(struct ike_driver *d, uint32_t ike_id, bool force)
{
	struct job *j = job_new(container(d, struct ike_charon, drv));

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	j->force = force;
	queue(j, terminate_job);
}

static void
drv_dpd(struct ike_driver *d, uint32_t ike_id)
{
	struct job *j = job_new(container(d, struct ike_charon, drv));

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	queue(j, dpd_job);
}

static void
drv_rekey(struct ike_driver *d, uint32_t ike_id, uint32_t child_id)
{
	struct job *j = job_new(container(d, struct ike_charon, drv));

	if (j == NULL)
		return;
	j->ike_id = ike_id;
	j->child_id = child_id;
	queue(j, rekey_job);
}

static void
drv_log_level(struct ike_driver *d, enum log_level level)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);

	c->level = wanted_level(level);
	/* Adding a logger again re-reads its levels. */
	if (c->libcharon)
		charon->bus->add_logger(charon->bus, &c->logger);
}

/* --- settings, start, stop ---------------------------------------------------- */

/*
 * charon's settings, in the namespace of this process (lib->ns): what
 * charon-systemd would read from strongswan.conf, decided here.
 */
static void
settings(const struct ike_charon_opts *o)
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
	s->set_int(s, "%s.reqid_base", (int)KERNEL_XFRM_IF_ID_MIN, ns);
	/* The provider is responder only, and so are we initiator only. */
	s->set_bool(s, "%s.initiator_only", true, ns);
	/* Each initiation makes its own IKE SA, never a CHILD SA on one
	 * that exists (ike.c decides when a tunnel needs one). */
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

static int
drv_start(struct ike_driver *d, struct ike *ike)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);
	char plugins[] = STRONGSWAN_PLUGINS;
	sigset_t all, old;

	c->ike = ike;
	/* Ours to bring up: someone else's (ike_check.c, between begin and
	 * end of a config check) has its own plugins and settings. */
	if (lib != NULL) {
		log_warnx(SUBSYS, "libstrongswan is up already (a config check "
			  "holding it?): charon not started");
		return -EBUSY;
	}
	dbg_before = dbg;
	dbg = dbg_ours;
	/* "": no strongswan.conf, whatever STRONGSWAN_CONF says. */
	c->library = true;
	if (!library_init("", "tunsteerd")) {
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
	charon->bus->add_listener(charon->bus, &c->listener);
	c->listening = true;
	charon->start(charon);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->started = true;
	log_info(SUBSYS, "charon %s started (plugins: %s)", STRONGSWAN_VERSION,
		 plugins);
	return 0;
}

static void
drv_destroy(struct ike_driver *d)
{
	struct ike_charon *c = container(d, struct ike_charon, drv);

	if (c->listening) {
		charon->bus->remove_listener(charon->bus, &c->listener);
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
	pthread_rwlock_destroy(&c->lock);
	if (c->started)
		log_info(SUBSYS, "charon stopped");
	the_one = NULL;
	free(c);
}

struct ike_driver *
ike_charon_create(const struct ike_charon_opts *opts, int *err)
{
	struct ike_charon *c;

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
	c->drv.start = drv_start;
	c->drv.peer_set = drv_peer_set;
	c->drv.peer_remove = drv_peer_remove;
	c->drv.initiate = drv_initiate;
	c->drv.terminate = drv_terminate;
	c->drv.dpd = drv_dpd;
	c->drv.rekey = drv_rekey;
	c->drv.log_level = drv_log_level;
	c->drv.destroy = drv_destroy;
	c->logger.log = logger_log;
	c->logger.get_level = logger_get_level;
	c->listener.ike_state_change = on_ike_state;
	c->listener.child_state_change = on_child_state;
	c->listener.ike_rekey = on_ike_rekey;
	c->listener.child_rekey = on_child_rekey;
	c->listener.alert = on_alert;
	c->listener.message = on_message;
	c->creds.create_private_enumerator = creds_none_private;
	c->creds.create_cert_enumerator = creds_none_cert;
	c->creds.create_shared_enumerator = creds_shared;
	c->creds.create_cdp_enumerator = creds_none_cdp;
	the_one = c;
	*err = 0;
	return &c->drv;
}
