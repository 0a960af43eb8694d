/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd.conf: parse (libconfig), validate, print normalised.
 *
 * config_load() always parses into a brand-new struct config; on any error
 * it returns NULL and fills @errs, so a reload that fails leaves the
 * running config untouched.  Every message names "FILE:LINE: FIELD: what".
 * The documentation is man/tunsteerd.conf.5; etc/tunsteerd.conf is an
 * annotated example.
 */
#ifndef TUNSTEER_CONFIG_H
#define TUNSTEER_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "lib/addr.h"
#include "lib/cfgparse.h"		/* struct config_errors */

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/tunsteer/tunsteerd.conf"
#define CONFIG_NAME_MAX 32		/* policy names, incl. NUL */
#define CONFIG_GRE_MTU 1476		/* provider default */
#define CONFIG_TTL 64			/* provider default */
#define CONFIG_WEIGHT_MAX 256		/* provider route weights: 1..256 */
#define CONFIG_MAX_TUNNELS 4096
#define CONFIG_MAX_PREFIXES 65536	/* per policy */
#define CONFIG_NAT_MAX_FROM 1024	/* nat.from prefixes per policy */
#define CONFIG_NAT_TO_MIN_LEN 24	/* nat.to: at most 256 addresses */

enum tunnel_type {
	TUNNEL_GRE,
	TUNNEL_IPSEC,
};

enum unauth_action {
	UNAUTH_ISP,	/* leave to the main table (the ISP); the default */
	UNAUTH_DROP,	/* drop forwarded packets from unauthorized sources */
};

struct config_underlay {
	bool set;			/* underlay { } given */
	char interface[IFNAMSIZ];
	bool has_gateway;
	struct in_addr gateway;
};

/*
 * An ipsec tunnel's IKEv2 peer (ike.c).  config_load() applies every
 * default, so in a loaded config no string of an ipsec tunnel's ike is
 * NULL but psk_file (remote_id: the tunnel's remote address; local_id:
 * its local address, as charon would; proposals: CONFIG_IKE_PROPOSALS /
 * CONFIG_ESP_PROPOSALS).  Identities and proposals have been read by
 * libstrongswan (ike_check.h), every algorithm named is in the build.
 */
struct config_ike {
	bool set;			/* ike { } given */
	char *psk;			/* secret memory (secmem): never printed */
	char *psk_file;			/* where psk came from, if a file */
	char *local_id, *remote_id;	/* strongSwan identity syntax */
	const char *local_id_type;	/* what libstrongswan read them as, */
	const char *remote_id_type;	/* e.g. "ID_FQDN" (static strings) */
	char *ike_proposals;		/* strongSwan proposal syntax, checked */
	char *esp_proposals;
	unsigned int ike_lifetime_s;	/* rekey of the IKE SA */
	unsigned int child_lifetime_s;	/* rekey of the CHILD_SA */
	unsigned int replay_window;	/* inbound SAs; 0 (default): off */
	unsigned int dpd_s;		/* DPD interval, action restart */
};

/* The provider's recommendation (PROVIDER.md section 3). */
#define CONFIG_IKE_PROPOSALS	"aes256gcm16-prfsha256-ecp384-ke1_mlkem768"
#define CONFIG_ESP_PROPOSALS	"aes256gcm16-ecp384"
#define CONFIG_IKE_LIFETIME_S	(24 * 3600)	/* provider: 8-24 h */
#define CONFIG_CHILD_LIFETIME_S	(8 * 3600)	/* provider: 1-8 h */
#define CONFIG_DPD_S		10

/*
 * What a tunnel is probed with (probe.family): ICMP echo to its IPv4 peer
 * (the default: 0, so that a zeroed struct is the default), ICMPv6 echo
 * from its address6 to the provider's side of the /127, or both, where a
 * round is lost when either family's answer is (health.h).
 */
enum probe_family {
	PROBE_FAMILY_IPV4,
	PROBE_FAMILY_IPV6,
	PROBE_FAMILY_BOTH,
};

static inline bool
probe_family_v4(enum probe_family f)
{
	return f != PROBE_FAMILY_IPV6;
}

static inline bool
probe_family_v6(enum probe_family f)
{
	return f != PROBE_FAMILY_IPV4;
}

/* "ipv4", "ipv6" or "both": the config's words, also the views'. */
const char *config_probe_family_name(enum probe_family f);

/*
 * In-tunnel probing (probe.c, health.c).  The top-level `probe` group sets
 * the defaults; a tunnel's own `probe` group overrides them key by key.
 */
struct config_probe {
	unsigned int interval_ms;	/* 50..60000, default 1000 */
	unsigned int timeout_ms;	/* 10..60000; 0 (default): interval_ms */
	unsigned int down_after;	/* lost probes in a row: 1..100, default 3 */
	unsigned int up_after;		/* answered in a row: 1..1000, default 10 */
	unsigned int holddown_ms;	/* least time down: 0..3600000, default 10000 */
	unsigned int degraded_loss_pct;	/* loss over the last 20: 1..100, default 10 */
	unsigned int degraded_rtt_ms;	/* mean RTT; 0 (default): not used */
	bool has_target;
	struct in_addr target;		/* default: the tunnel's peer */
	bool has_source;
	struct in_addr source;		/* default: the tunnel's inner address */
	/* The provider's own health checks (passive.c): with none arriving
	 * for this long the tunnel is held at most degraded.  0 (default):
	 * off; else 1000..3600000. */
	unsigned int passive_timeout_ms;
	/* Where the provider's unidirectional checks go if its health_check
	 * target is set (tunnel only); default: the tunnel's local address. */
	bool has_passive_target;
	struct in_addr passive_target;
	/* ipv6 and both need the tunnel's address6; target and source are
	 * the IPv4 probes' (the ICMPv6 ones go from address6 to peer6). */
	enum probe_family family;
};

#define CONFIG_PROBE_DEFAULTS { .interval_ms = 1000, .timeout_ms = 0, \
	.down_after = 3, .up_after = 10, .holddown_ms = 10000, \
	.degraded_loss_pct = 10, .family = PROBE_FAMILY_IPV4 }

struct config_tunnel {
	char name[IFNAMSIZ];		/* also the interface name */
	enum tunnel_type type;
	struct in_addr local;		/* customer underlay address */
	struct in_addr remote;		/* provider anycast endpoint */
	struct ts_prefix address;	/* this side's inner address, /31 or /30 */
	struct in_addr peer;		/* provider's inner address */
	unsigned int mtu;		/* GRE: 1476; IPsec: computed */
	unsigned int ttl;		/* 1..255, default 64 */
	unsigned int mss;		/* clamp value; 0 when clamping is off */
	/* IPv6 inside the tunnel (the provider's interface_address6): this
	 * side's /127 and the other host of it, the provider's. */
	bool has_address6;
	struct ts_prefix address6;
	struct in6_addr peer6;
	unsigned int mss6;		/* IPv6 clamp: mss less 20; 0: off */
	/* IPsec without an explicit mtu: mtu and mss follow the negotiated
	 * transform at run time (config_tunnel_use_mtu()). */
	bool mtu_auto;
	bool mtu_negotiated;		/* mtu_auto, and a CHILD SA set it */
	struct config_underlay underlay;
	struct config_ike ike;
	struct config_probe probe;	/* effective: defaults + own */
	int line;			/* where it was defined */
};

struct config_policy_tunnel {
	size_t tunnel;			/* index into config.tunnels */
	uint32_t priority;		/* lower wins */
	unsigned int weight;		/* 1..256, default 1 */
};

/*
 * Source NAT onto a leased prefix (issue 14): sources in @from (private,
 * outside every authorized prefix) are steered like the policy's own and
 * leave every tunnel translated to an address of @to, a prefix inside one
 * of the policy's authorized prefixes.  IPv4 only: NAT66 is not offered.
 */
struct config_nat {
	bool set;			/* nat { } given */
	struct ts_prefix *from;		/* masked, in file order */
	size_t n_from;
	int *from_lines;
	struct ts_prefix to;
	int to_line;
	int line;			/* of nat */
};

struct config_policy {
	char name[CONFIG_NAME_MAX];
	struct ts_prefix *prefixes;	/* authorized sources, masked; IPv4
					 * and IPv6, in file order */
	size_t n_prefixes;
	struct config_policy_tunnel *tunnels;
	size_t n_tunnels;
	bool all_down_isp;		/* all_down = "isp": egress falls back
					 * to the main table when every tunnel
					 * is down; default "keep" (the best
					 * configured tunnels, as the provider) */
	struct config_nat nat;
	int line;
};

/*
 * The Prometheus endpoint (metrics.c): off unless a metrics group names
 * where to listen.  @host is an address literal as inet_ntop() prints it
 * (never a name to resolve), @port 1..65535.
 */
struct config_metrics {
	bool set;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;
	int line;			/* of listen */
};

struct config {
	char *path;
	struct config_tunnel *tunnels;
	size_t n_tunnels;
	struct config_policy *policies;
	size_t n_policies;
	bool mss_clamp;			/* default true */
	enum unauth_action unauthorized;
	/* The same for IPv6 sources; default: as unauthorized. */
	enum unauth_action unauthorized6;
	char control_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int log_level;			/* enum log_level; default info */
	struct config_probe probe;	/* defaults for every tunnel */
	struct config_metrics metrics;
	bool allow_empty;		/* no tunnels is meant, not a mistake */
	char **warnings;		/* "FILE:LINE: FIELD: what", file order: */
	size_t n_warnings;		/* accepted, but said (config_load()) */
};

/*
 * Parse and validate @path.  Returns a new config (free with
 * config_free()) or NULL with at least one message in @errs (free with
 * config_errors_free()).  Never exits.  What it accepts with a warning
 * (a lifetime shorter than the provider's range) it logs, once per load,
 * at warning level (on stderr at -n), and keeps in conf->warnings.
 */
struct config *config_load(const char *path, struct config_errors *errs)
	__attribute__((warn_unused_result));
/* As config_load(), from a string; @name stands for the file in messages
 * and the string's own permissions are not checked (a psk_file's are).
 * Warnings are only kept in conf->warnings, not logged. */
struct config *config_load_string(const char *text, const char *name,
				  struct config_errors *errs)
	__attribute__((warn_unused_result));
void config_free(struct config *conf);

/*
 * Tunnel @t now carries packets of up to @mtu bytes (what its CHILD SA's
 * transform leaves, for an IPsec tunnel with mtu_auto): set its mtu (576
 * at least) and, if @mss_clamp (the config's), its MSS clamps as parsing
 * does: IPv4 mtu - 40, at most 1360 for IPsec (the provider's figure);
 * IPv6 20 less (the larger header), so mtu - 60, at most 1340.
 */
void config_tunnel_use_mtu(struct config_tunnel *t, bool mss_clamp,
			   unsigned int mtu);

/* What config_print() writes of a secret (ike.psk). */
enum config_print_secrets {
	CONFIG_PRINT_REDACTED,	/* <redacted>, which does not parse: what
				 * an operator sees (tunsteerd -nv) */
	CONFIG_PRINT_SECRETS,	/* the secret itself (tests, fuzzing) */
};

/* Print @conf normalised (every default made explicit), in the file
 * syntax.  With CONFIG_PRINT_SECRETS, config_load_string() of the output
 * gives an equal config; redacted, the output is refused at the first
 * secret. */
void config_print(const struct config *conf, FILE *out,
		  enum config_print_secrets secrets);

/*
 * May @next replace @running (NULL: nothing runs yet)?  A file cut short
 * between two top-level settings still parses, and without this a reload
 * of it would delete every egress policy (or every tunnel): a reload that
 * leaves none of either where @running has some is refused unless @next
 * says allow_empty = true.  Returns 0, or -ECANCELED with one message per
 * reason appended to @errs (which may be NULL).  Pure: no side effects.
 */
int config_check_replace(const struct config *running,
			 const struct config *next, struct config_errors *errs)
	__attribute__((warn_unused_result));

/* Does @conf steer or filter IPv6 at all (an address6, an IPv6 prefix,
 * unauthorized6 = "drop")?  Without, tunsteerd makes no IPv6 object. */
bool config_has_ipv6(const struct config *conf);
/* Does policy @pol hold an IPv6 prefix? */
bool config_policy_has_ipv6(const struct config_policy *pol);

/* Index of the tunnel called @name, or -1. */
int config_tunnel_index(const struct config *conf, const char *name);

#endif
