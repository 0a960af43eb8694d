/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge.conf: parse (libconfig), validate, print normalised.
 *
 * Like tunsteerd's config: edge_config_load() always parses into a new
 * struct edge_config and on any error returns NULL with every problem as
 * "FILE:LINE: FIELD: message" in @errs, so a bad file never replaces a
 * running one.  The documentation is man/tunsteer-edge.conf.5;
 * etc/tunsteer-edge.conf is an annotated example.
 *
 * Names follow the provider's API where it has one (cloudflare_gre_endpoint,
 * customer_gre_endpoint, interface_address, health_check.type/direction/
 * target, routes' prefix/priority/weight; for ipsec tunnels
 * cloudflare_endpoint, customer_endpoint, psk, replay_protection,
 * allow_null_cipher, and the account and tunnel IDs the customer's IKE
 * identities are made of: ../shared/PROVIDER.md §3).
 */
#ifndef TUNSTEER_EDGE_CONFIG_H
#define TUNSTEER_EDGE_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "lib/addr.h"
#include "lib/cfgparse.h"		/* struct config_errors */

#define EDGE_CONFIG_DEFAULT_PATH SYSCONFDIR "/tunsteer/tunsteer-edge.conf"
#define EDGE_NAME_MAX 32		/* edge, customer, rule names incl. NUL */
#define EDGE_MAX_ANYCAST 16
#define EDGE_MAX_TUNNELS 1000		/* one rule and table each: 22001.. */
#define EDGE_MAX_ROUTES 4096
#define EDGE_MAX_PREFIXES 65536		/* authorized, per customer */
#define EDGE_MAX_FIREWALL 1024
#define EDGE_MAX_PEERS 64
#define EDGE_ECMP_MAX 64		/* provider: equal-cost routes per priority */
#define EDGE_WEIGHT_MAX 256		/* provider: route weights 1..256 */
#define EDGE_GRE_MTU 1476		/* provider default (and maximum) */
#define EDGE_IPSEC_MTU 1450		/* provider: "typically 1400-1450" */
#define EDGE_ID_MAX 33			/* account and tunnel IDs: 32 hex + NUL */
/* The provider's IKE identities end in this (PROVIDER.md §3). */
#define EDGE_IPSEC_ID_DOMAIN "ipsec.cloudflare.com"
/* The replay window of an SA when replay_protection = true (the
 * provider's windows are "typically 64-1024"); false: 0, off. */
#define EDGE_REPLAY_WINDOW 64
#define EDGE_MTU_MIN 576		/* provider minimum */
#define EDGE_TTL 64			/* provider default */
#define EDGE_RELAY_PORT 7474
/* SA propagation (relay.sa_key): its own port, the relay's plus one by
 * default; the provider's delay is 90-150 s (PROVIDER.md §3). */
#define EDGE_SA_DELAY_MS_DEFAULT 120000
#define EDGE_SA_DELAY_MS_MAX 600000
#define EDGE_SA_KEY_MIN 16
#define EDGE_ECMP_SEED 0x74736564u	/* "tsed": every edge hashes alike */

enum edge_hc_type {
	EDGE_HC_REPLY,		/* the provider's default */
	EDGE_HC_REQUEST,
};

enum edge_hc_direction {
	EDGE_HC_BIDIRECTIONAL,
	EDGE_HC_UNIDIRECTIONAL,
};

/* Health-check settings: the top-level group gives the defaults, a
 * tunnel's own group overrides them key by key. */
struct edge_hc {
	bool enabled;			/* default true */
	enum edge_hc_type type;
	enum edge_hc_direction direction;
	unsigned int interval_ms;	/* 50..60000, default 1000 ("up to every second") */
	unsigned int timeout_ms;	/* 10..499, default 250 */
	unsigned int retries;		/* quick retries after a failure: 0..2, default 2 */
	unsigned int min_state_ms;	/* least time degraded or down: default 300000 */
	bool has_target;		/* unidirectional only; per tunnel only */
	struct in_addr target;		/* default: the customer endpoint */
};

#define EDGE_HC_DEFAULTS { .enabled = true, .type = EDGE_HC_REPLY, \
	.direction = EDGE_HC_BIDIRECTIONAL, .interval_ms = 1000, \
	.timeout_ms = 250, .retries = 2, .min_state_ms = 300000 }

enum edge_tunnel_type {
	EDGE_TUNNEL_GRE,
	EDGE_TUNNEL_IPSEC,
};

/* What only an ipsec tunnel has. */
struct edge_ipsec {
	char tunnel_id[EDGE_ID_MAX];	/* the provider's tunnel ID */
	char *psk;			/* secret memory (lib/secmem.h) */
	bool replay_protection;		/* default false: replay window 0 */
	bool allow_null_cipher;		/* default false: ENCR_NULL refused */
	/* The customer may identify as its customer_endpoint (ID_IPV4_ADDR):
	 * only with one set and no other ipsec tunnel on the same pair
	 * (cloudflare_endpoint, customer_endpoint). */
	bool id_ipv4_ok;
};

struct edge_tunnel {
	char name[IFNAMSIZ];		/* also the interface name */
	size_t customer;		/* index into edge_config.customers */
	enum edge_tunnel_type type;
	struct in_addr cloudflare_endpoint;	/* an anycast address: outer source */
	/* Outer destination.  Always set for GRE; optional for ipsec (the
	 * customer's IKE packets say where it is). */
	bool has_customer_endpoint;
	struct in_addr customer_endpoint;
	struct ts_prefix interface_address;	/* as written (/31 or /30) */
	bool given_is_customer;		/* interface_address_side = "customer" */
	struct in_addr provider_addr;	/* inner: ours */
	struct in_addr customer_addr;	/* inner: the customer's */
	/* interface_address6: a /127 beside the /31 (PROVIDER.md §2), the
	 * same side as interface_address_side says; the other host is the
	 * other side's.  Without it the tunnel carries no IPv6. */
	bool has_address6;
	struct ts_prefix interface_address6;	/* as written */
	struct in6_addr provider_addr6, customer_addr6;
	unsigned int mtu, ttl;		/* ttl: GRE only */
	struct edge_hc hc;		/* effective: defaults + own */
	struct edge_ipsec ipsec;	/* EDGE_TUNNEL_IPSEC only */
	int line;
};

struct edge_route {
	/* Toward the customer, masked; IPv4, or IPv6 through a tunnel with
	 * an interface_address6. */
	struct ts_prefix prefix;
	size_t tunnel;			/* index into edge_config.tunnels */
	uint32_t priority;		/* lower wins */
	unsigned int weight;		/* 1..256, default 1 */
	int line;
};

struct edge_customer {
	char name[EDGE_NAME_MAX];
	char account_id[EDGE_ID_MAX];	/* "": none (required with ipsec) */
	/* Egress sources accepted, masked, of either family: sorted, so
	 * the IPv4 ones come first. */
	struct ts_prefix *authorized;
	size_t n_authorized;
	int line;
};

enum edge_fw_direction {
	EDGE_FW_INGRESS,		/* toward the customer (into a tunnel) */
	EDGE_FW_EGRESS,			/* from the customer (out of a tunnel) */
};

struct edge_fw_rule {
	char name[EDGE_NAME_MAX];	/* default "rule<i>" */
	enum edge_fw_direction direction;
	bool accept;			/* else drop */
	uint8_t protocol;		/* 0: any; IPPROTO_TCP/UDP/ICMP */
	bool has_src, has_dst;
	struct ts_prefix src, dst;
	uint16_t sport, dport;		/* 0: any (tcp and udp only) */
	int line;
};

struct edge_relay {
	bool set;
	struct in_addr address;		/* this server's, bound */
	uint16_t port;
	struct in_addr *peers;		/* the other servers of the data center */
	size_t n_peers;
	/* SA propagation to the peers, when @sa_key is set (secret
	 * memory, owned): its UDP port, and how long after an SA is
	 * installed its record is sent. */
	char *sa_key;
	int sa_line;			/* sa_key's */
	uint16_t sa_port;
	uint32_t sa_delay_ms;
};

struct edge_config {
	char *path;
	char name[EDGE_NAME_MAX];	/* this server, in analytics */
	int log_level;			/* enum log_level */
	char control_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct in_addr anycast[EDGE_MAX_ANYCAST];
	size_t n_anycast;
	uint32_t ecmp_seed;
	struct edge_hc hc;		/* defaults */
	bool has_public_address;	/* source of unidirectional checks */
	struct in_addr public_address;
	struct edge_relay relay;
	struct edge_customer *customers;
	size_t n_customers;
	struct edge_tunnel *tunnels;	/* all customers', in file order */
	size_t n_tunnels;
	struct edge_route *routes;
	size_t n_routes;
	struct edge_fw_rule *firewall;
	size_t n_firewall;
};

/*
 * Parse and validate @path.  Returns a new config (edge_config_free()) or
 * NULL with at least one message in @errs (config_errors_free()).  Never
 * exits, never logs.
 */
struct edge_config *edge_config_load(const char *path, struct config_errors *errs)
	__attribute__((warn_unused_result));
/* As edge_config_load(), from a string; @name stands for the file. */
struct edge_config *edge_config_load_string(const char *text, const char *name,
					    struct config_errors *errs)
	__attribute__((warn_unused_result));
void edge_config_free(struct edge_config *conf);

/* Print @conf normalised (every default explicit) in the file syntax,
 * each psk as <redacted> (tunsteer-edge -nv), which does not parse. */
void edge_config_print(const struct edge_config *conf, FILE *out);
/* The same with the psks themselves: loading the output gives an equal
 * config (tests, fuzzing). */
void edge_config_print_secrets(const struct edge_config *conf, FILE *out);

/*
 * Can this tunsteer-edge serve @conf?  Not its ipsec tunnels while
 * edge_ike_unavailable() says why (edge_ike.h): each is reported as
 * "FILE:LINE: FIELD: message" in @errs.  0 or -ENOTSUP.
 * edge_config_load() does not ask: a config is checked for what it
 * says, this for what the program does with it.
 */
int edge_config_check_serve(const struct edge_config *conf,
			    struct config_errors *errs);

/* The customer's IKE identities an ipsec tunnel accepts, in the
 * provider's order: RFC 822, FQDN, key ID, then IPv4 when allowed. */
#define EDGE_IPSEC_IDS_MAX 4
#define EDGE_IPSEC_ID_STRLEN 96
struct edge_ipsec_id {
	const char *type;		/* "rfc822", "fqdn", "key_id", "ipv4" */
	char text[EDGE_IPSEC_ID_STRLEN];
};
/* Fill @ids for tunnel @ti of @conf; the count (3 or 4), 0 for a GRE
 * tunnel. */
size_t edge_ipsec_ids(const struct edge_config *conf, size_t ti,
		      struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX]);

/* Index of the tunnel called @name, or -1. */
int edge_config_tunnel_index(const struct edge_config *conf, const char *name);

const char *edge_tunnel_type_name(enum edge_tunnel_type t);
const char *edge_hc_type_name(enum edge_hc_type t);
const char *edge_hc_direction_name(enum edge_hc_direction d);

#endif
