/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd.conf: read the text, let libconfig parse it, then validate
 * every setting into a brand-new struct config.  Nothing here has side
 * effects besides reading the file: validation is the "check" stage of a
 * reload, and a config with any error is freed whole.
 *
 * Errors are collected, not stopped at: an operator fixing a file wants
 * every mistake in one run.  Each is "FILE:LINE: FIELD: message" where
 * FIELD is a path such as tunnels[2].mtu or egress[0].tunnels[1].weight
 * (indexes count from 0, as libconfig's own paths do); they are sorted
 * into file order before they are handed back.
 */
#include "autoconfig.h"

#include "tunsteerd/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/secmem.h"
#include "tunsteerd/desired.h"	/* the kernel state's limits */
#include "tunsteerd/ike_check.h"	/* libstrongswan's view of ike */

#define CONFIG_DEFAULT_SOCKET TS_RUNDIR "/tunsteerd.sock"

#define CONFIG_MTU_MIN 576		/* IPv4 minimum datagram size */
/*
 * IPsec MTU: ESP in tunnel mode over IPv4 on a 1500-byte underlay.  With
 * AES-GCM-16 (RFC 4106), the default:
 *
 *   1500 = 20 outer IPv4 header
 *        (+ 8 UDP header, with NAT-T)
 *        +  8 ESP header (4 SPI + 4 sequence number)
 *        +  8 IV
 *        +  P inner packet, padded so that P + pad + 2 is a multiple of 4
 *        +  2 ESP trailer (pad length, next header)
 *        + 16 ICV
 *
 * That leaves 1500 - 20 - 8 - 8 - 16 = 1448 bytes for payload, padding
 * and trailer, so the largest inner packet is 1448 - 2 = 1446; with NAT-T
 * 1438.  Other transforms differ (a CBC cipher pads to its 16-byte block
 * and has a 16-byte IV, an HMAC's ICV may be 12 to 32 bytes):
 * ike_check_esp_mtu() does this sum for every algorithm of a tunnel's
 * esp_proposals.  What is negotiated, and whether a NAT is in the way, is
 * only known once an SA is up, and the interface's MTU and the MSS clamp
 * are set before; so the default mtu starts as the worst case of what is
 * configured, NAT-T included, and follows each CHILD SA once installed
 * (config_tunnel_use_mtu(), from ike_check_esp_mtu_algs(): 1446 for
 * AES-GCM-16 without a NAT).  An explicit mtu may go up to the worst case
 * without NAT-T, and is kept whatever is negotiated.  The MSS is capped
 * at 1360 whatever the MTU.
 */
/* AES-GCM-16 with NAT-T: only used when esp_proposals could not be read
 * (such a config is refused anyway). */
#define CONFIG_IPSEC_MTU 1438
#define CONFIG_IPSEC_MSS_MAX 1360	/* the provider's limit for IPsec */
#define CONFIG_MSS_OVERHEAD 40		/* IPv4 + TCP headers */
#define CONFIG_MSS6_EXTRA 20		/* an IPv6 header's 40 less IPv4's 20 */
#define CONFIG_ECMP_MAX 64		/* provider: paths per priority */

/*
 * The ike group's ranges.  Lifetimes: the provider's IKE SA range is
 * 8-24 h and its IPsec SA range 1-8 h (PROVIDER.md section 3); longer is
 * refused, shorter accepted with a warning down to a floor: each rekey
 * takes the provider 90-150 s to propagate to every data centre, so a
 * CHILD_SA of under 5 minutes would spend most of its life half-known.
 */
#define IKE_LIFETIME_FLOOR	600
#define IKE_LIFETIME_LOW	(8 * 3600)
#define CHILD_LIFETIME_FLOOR	300
#define CHILD_LIFETIME_LOW	3600
/* The kernel keeps a replay bitmap of at most XFRMA_REPLAY_ESN_MAX (4096)
 * packets; without ESN too (charon sends a window above 32 as that
 * bitmap, XFRMA_REPLAY_ESN_VAL, without the ESN flag). */
#define CONFIG_REPLAY_WINDOW_MAX 4096
/* DPD is how a restarted responder is noticed: past 5 minutes it is
 * pointless. */
#define CONFIG_DPD_MAX		300
#define CONFIG_PSK_FILE_MAX	4096

/* What validation remembers about a tunnel besides struct config_tunnel. */
struct tun_aux {
	bool named, local_ok, remote_ok, addr_ok;
	int name_line, local_line, remote_line, addr_line;
	int addr6_line;			/* address6, 0 if not set or bad */
	bool addr6_given;		/* good or bad: said once, not twice */
	int source_line;		/* probe.source, 0 if not set */
	int target_line;		/* probe.target, 0 if not set */
	int family_line;		/* probe.family; 0: not set here, -1: bad */
	int psk_line;			/* ike.psk or psk_file, else ike */
};

/* An address of either family as a 128-bit number (IPv4 in the low
 * 32 bits), for the interval checks: no __int128 on 32-bit targets. */
struct pfx_num {
	uint64_t hi, lo;
};

/* One prefix, as an interval of one family, for the overlap checks. */
struct pfx_ref {
	int family;
	struct pfx_num start, end;
	size_t policy, index;
	int line;
};

struct parse {
	struct cfgp cp;			/* messages; first */
	struct config *conf;
	struct tun_aux *taux;
	int **prefix_lines;		/* per policy, per prefix */
	int *policy_name_line;		/* 0: no valid name */
	bool secrets;			/* some ike.psk was given */
	int family_line;		/* the global probe.family, as tun_aux's */
};

static const char *const root_keys[] = {
	"log_level", "mss_clamp", "unauthorized", "unauthorized6", "control",
	"probe", "tunnels", "egress", "allow_empty", "metrics", NULL
};
static const char *const probe_keys[] = {
	"interval_ms", "timeout_ms", "down_after", "up_after", "holddown_ms",
	"degraded_loss_pct", "degraded_rtt_ms", "target", "source",
	"passive_timeout_ms", "passive_target", "family", NULL
};
static const char *const control_keys[] = { "socket", NULL };
static const char *const metrics_keys[] = { "listen", NULL };
static const char *const tunnel_keys[] = {
	"name", "type", "local", "remote", "address", "peer", "address6",
	"mtu", "ttl", "underlay", "ike", "probe", NULL
};
static const char *const underlay_keys[] = { "interface", "gateway", NULL };
static const char *const ike_keys[] = {
	"psk", "psk_file", "local_id", "remote_id", "ike_proposals",
	"esp_proposals", "ike_lifetime_s", "child_lifetime_s", "replay_window",
	"dpd_s", NULL
};
/* Keys whose string values never reach libconfig (cfgp_parse()). */
static const char *const secret_keys[] = { "psk", NULL };
static const char *const policy_keys[] = {
	"name", "prefixes", "tunnels", "all_down", "nat", NULL
};
static const char *const nat_keys[] = { "from", "to", NULL };
static const char *const ptunnel_keys[] = {
	"tunnel", "priority", "weight", NULL
};

/* --- values ------------------------------------------------------------ */

static struct ts_prefix
host_prefix(struct in_addr a)
{
	struct ts_prefix h = { .family = AF_INET, .len = 32 };

	h.v4 = a;
	return h;
}

static const char *
fmt_addr(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* --- tunnels ------------------------------------------------------------ */

/*
 * metrics.listen: "ADDRESS:PORT", an IPv4 address or an IPv6 one in
 * brackets, never a name (nothing is resolved), and a port 1..65535.
 * Into @m in the form that prints back the same; 0 or -EINVAL.
 */
static int
parse_listen(const char *text, struct config_metrics *m)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = text;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hlen;
	unsigned long port;
	char *end;
	int af = AF_INET;

	if ((colon = strrchr(text, ':')) == NULL)
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (text[0] == '[') {
		if (hlen < 2 || text[hlen - 1] != ']')
			return -EINVAL;
		h = text + 1;
		hlen -= 2;
		af = AF_INET6;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(af, host, af == AF_INET ? (void *)&a4 : (void *)&a6) != 1)
		return -EINVAL;
	if (colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		return -EINVAL;
	if (inet_ntop(af, af == AF_INET ? (void *)&a4 : (void *)&a6, m->host,
		      sizeof(m->host)) == NULL)
		return -EINVAL;
	m->port = (uint16_t)port;
	m->set = true;
	return 0;
}

static void
parse_metrics(struct parse *p, const config_setting_t *s)
{
	struct config_metrics *m = &p->conf->metrics;
	const char *str;
	enum cfgp_got g;
	int line;

	cfgp_check_keys(&p->cp, s, "metrics", metrics_keys);
	g = cfgp_string(&p->cp, s, "metrics", "listen", &str, &line);
	cfgp_required(&p->cp, g, s, "metrics", "listen");
	if (g != CFGP_OK)
		return;
	m->line = line;
	if (parse_listen(str, m) < 0)
		cfgp_err(&p->cp, line, "metrics.listen", "\"%s\" is not "
			 "ADDRESS:PORT (an IPv4 address, or an IPv6 one in "
			 "brackets, and a port 1..65535)", str);
}

static void
parse_underlay(struct parse *p, const config_setting_t *s, const char *tpath,
	       struct config_tunnel *t)
{
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	const char *str;
	int line;
	enum cfgp_got g;

	cfgp_fieldf(path, "%s.underlay", tpath);
	cfgp_check_keys(&p->cp, s, path, underlay_keys);
	t->underlay.set = true;
	g = cfgp_string(&p->cp, s, path, "interface", &str, &line);
	cfgp_required(&p->cp, g, s, path, "interface");
	if (g == CFGP_OK) {
		if (cfgp_name_ok(str, IFNAMSIZ - 1))
			strcpy(t->underlay.interface, str);
		else {
			cfgp_field(f, path, "interface");
			cfgp_err(&p->cp, line, f, "\"%s\" is not a valid interface "
				"name", str);
		}
	}
	if (cfgp_string(&p->cp, s, path, "gateway", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "gateway");
		t->underlay.has_gateway = cfgp_host(&p->cp, line, f, str,
						     &t->underlay.gateway);
	}
}

static char *
dup_or_oom(struct parse *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->cp.oom = true;
	return d;
}

static void
free_secret(char *s)
{
	secmem_free_str(s);	/* wiped, then unmapped */
}

/*
 * The psk in the file @path (ike.psk_file, at @line as @f): its one line,
 * without the newline that ends it.  The file's bytes are read into
 * secret memory and, when good, become the psk itself.
 */
static void
read_psk_file(struct parse *p, int line, const char *f, const char *path,
	      struct config_tunnel *t)
{
	size_t len = 0;
	char *buf = cfgp_read_secret_file(&p->cp, line, f, path, "ike.psk",
					  CONFIG_PSK_FILE_MAX, &len);

	if (!buf)
		return;
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	/* The psk is never echoed: only what is wrong with it is said. */
	if (strlen(buf) != len)
		cfgp_err(&p->cp, line, f, "\"%s\": holds a NUL byte", path);
	else if (len == 0)
		cfgp_err(&p->cp, line, f, "\"%s\": is empty", path);
	else if (memchr(buf, '\n', len) || memchr(buf, '\r', len))
		cfgp_err(&p->cp, line, f, "\"%s\": holds more than one line; the "
			 "psk is the file's one line", path);
	else {
		t->ike.psk = buf;
		return;
	}
	cfgp_free_text(buf, len);
}

/* A message of ike_check.c: at @line as @f, or memory ran out. */
static void
ike_check_err(struct parse *p, int r, int line, const char *f, const char *why)
{
	if (r == -ENOMEM)
		p->cp.oom = true;
	else
		cfgp_err(&p->cp, line, f, "%s", why);
}

/* local_id or remote_id (@key), default the address @dflt (NULL: none
 * known, the tunnel's is already refused); @gline: the ike group's. */
static void
parse_ike_id(struct parse *p, const config_setting_t *s, const char *path,
	     const char *key, const struct in_addr *dflt, int gline,
	     char **out, const char **type)
{
	char f[CFGP_FIELD_MAX], why[IKE_CHECK_WHY_MAX], b[INET_ADDRSTRLEN];
	const char *str;
	int line, r;
	enum cfgp_got g = cfgp_string(&p->cp, s, path, key, &str, &line);

	cfgp_field(f, path, key);
	if (g == CFGP_BAD)
		return;
	if (g == CFGP_NONE) {
		if (!dflt)
			return;
		str = fmt_addr(*dflt, b);
		line = gline;
	} else if (*str == '\0') {
		cfgp_err(&p->cp, line, f, "must not be empty");
		return;
	}
	r = ike_check_id(str, strcmp(key, "local_id") == 0, type, why,
			 sizeof(why));
	if (r < 0) {
		ike_check_err(p, r, line, f, why);
		return;
	}
	if (r == 1)
		cfgp_warn(&p->cp, line, f, "%s", why);
	*out = dup_or_oom(p, str);
}

static void
parse_ike_proposals(struct parse *p, const config_setting_t *s,
		    const char *path, const char *key, const char *dflt,
		    int gline, char **out)
{
	char f[CFGP_FIELD_MAX], why[IKE_CHECK_WHY_MAX];
	const char *str;
	int line, r;
	enum cfgp_got g = cfgp_string(&p->cp, s, path, key, &str, &line);
	bool esp = strcmp(key, "esp_proposals") == 0;

	cfgp_field(f, path, key);
	if (g == CFGP_BAD)
		return;
	if (g == CFGP_NONE) {
		str = dflt;
		line = gline;
	} else if (*str == '\0') {
		cfgp_err(&p->cp, line, f, "must not be empty");
		return;
	}
	if ((r = ike_check_proposals(str, esp, why, sizeof(why))) < 0)
		ike_check_err(p, r, line, f, why);
	else
		*out = dup_or_oom(p, str);
}

/*
 * A lifetime in seconds: above @high (the provider's longest) refused,
 * below @floor refused, below @low (the provider's shortest) a warning.
 * Returns whether *@out holds a good value (@dflt if none is given); its
 * line in *@line (0: the default).
 */
static bool
parse_lifetime(struct parse *p, const config_setting_t *s, const char *path,
	       const char *key, const char *sa, unsigned int floor,
	       unsigned int low, unsigned int high, unsigned int dflt,
	       unsigned int *out, int *line)
{
	char f[CFGP_FIELD_MAX];
	long long v;
	enum cfgp_got g = cfgp_int(&p->cp, s, path, key, LLONG_MIN, LLONG_MAX,
				   &v, line);

	cfgp_field(f, path, key);
	*out = dflt;
	if (g == CFGP_NONE) {
		*line = 0;
		return true;
	}
	if (g != CFGP_OK)
		return false;
	if (v > high) {
		cfgp_err(&p->cp, *line, f, "%lld s is longer than the provider "
			 "allows for an %s (%u-%u h)", v, sa, low / 3600,
			 high / 3600);
		return false;
	}
	if (v < floor) {
		cfgp_err(&p->cp, *line, f, "%lld s is too short: at least %u s "
			 "(the provider's range for an %s is %u-%u h)", v, floor,
			 sa, low / 3600, high / 3600);
		return false;
	}
	if (v < low)
		cfgp_warn(&p->cp, *line, f, "%lld s is shorter than the "
			  "provider's range for an %s (%u-%u h); accepted, but "
			  "each rekey takes the provider 90-150 s to propagate",
			  v, sa, low / 3600, high / 3600);
	*out = (unsigned int)v;
	return true;
}

/*
 * The ike group of tunnel @t (struct tun_aux @a).  The psk keys are read
 * whatever the tunnel's type (a psk in the file is a secret in the file);
 * the rest only for an ipsec tunnel (@ipsec), where every default is
 * applied and libstrongswan reads identities and proposals.
 */
static void
parse_ike(struct parse *p, const config_setting_t *s, const char *tpath,
	  struct config_tunnel *t, const struct tun_aux *a, bool ipsec)
{
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	const char *str;
	char *psk;
	int line, pline = 0, ike_line, child_line, gline = cfgp_line(s);
	long long v;
	enum cfgp_got g;
	bool ike_ok, child_ok;

	cfgp_fieldf(path, "%s.ike", tpath);
	cfgp_check_keys(&p->cp, s, path, ike_keys);
	t->ike.set = true;
	/* Decoded by cfgparse into secret memory; libconfig saw only "". */
	g = cfgp_secret(&p->cp, s, path, "psk", &psk, &pline);
	if (g != CFGP_NONE)
		p->secrets = true;
	if (g == CFGP_OK && *psk == '\0') {
		cfgp_field(f, path, "psk");
		cfgp_err(&p->cp, pline, f, "must not be empty");
		free_secret(psk);
	} else if (g == CFGP_OK)
		t->ike.psk = psk;
	if (cfgp_string(&p->cp, s, path, "psk_file", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "psk_file");
		if (g != CFGP_NONE)	/* even a psk of the wrong type */
			cfgp_err(&p->cp, line, f, "psk (line %d) is given too; "
				 "keep one of them", cfgp_line(
					 config_setting_get_member(s, "psk")));
		else if (str[0] != '/')
			cfgp_err(&p->cp, line, f, "\"%s\" is not an absolute path",
				 str);
		else if ((t->ike.psk_file = dup_or_oom(p, str)) && ipsec)
			read_psk_file(p, line, f, str, t);
	}
	if (!ipsec)
		return;

	parse_ike_id(p, s, path, "local_id", a->local_ok ? &t->local : NULL,
		     gline, &t->ike.local_id, &t->ike.local_id_type);
	parse_ike_id(p, s, path, "remote_id", a->remote_ok ? &t->remote : NULL,
		     gline, &t->ike.remote_id, &t->ike.remote_id_type);
	parse_ike_proposals(p, s, path, "ike_proposals", CONFIG_IKE_PROPOSALS,
			    gline, &t->ike.ike_proposals);
	parse_ike_proposals(p, s, path, "esp_proposals", CONFIG_ESP_PROPOSALS,
			    gline, &t->ike.esp_proposals);

	ike_ok = parse_lifetime(p, s, path, "ike_lifetime_s", "IKE SA",
				IKE_LIFETIME_FLOOR, IKE_LIFETIME_LOW,
				CONFIG_IKE_LIFETIME_S, CONFIG_IKE_LIFETIME_S,
				&t->ike.ike_lifetime_s, &ike_line);
	child_ok = parse_lifetime(p, s, path, "child_lifetime_s", "IPsec SA",
				  CHILD_LIFETIME_FLOOR, CHILD_LIFETIME_LOW,
				  CONFIG_CHILD_LIFETIME_S,
				  CONFIG_CHILD_LIFETIME_S,
				  &t->ike.child_lifetime_s, &child_line);
	/* Reported at the one that was written (the later, if both were). */
	if (ike_ok && child_ok &&
	    t->ike.child_lifetime_s >= t->ike.ike_lifetime_s) {
		if (child_line >= ike_line) {
			cfgp_field(f, path, "child_lifetime_s");
			cfgp_err(&p->cp, child_line ? child_line : gline, f,
				 "%u s is not shorter than ike_lifetime_s (%u s%s)",
				 t->ike.child_lifetime_s, t->ike.ike_lifetime_s,
				 ike_line ? "" : ", the default");
		} else {
			cfgp_field(f, path, "ike_lifetime_s");
			cfgp_err(&p->cp, ike_line, f, "%u s is not longer than "
				 "child_lifetime_s (%u s%s)",
				 t->ike.ike_lifetime_s, t->ike.child_lifetime_s,
				 child_line ? "" : ", the default");
		}
	}

	if (cfgp_int(&p->cp, s, path, "replay_window", 0,
		     CONFIG_REPLAY_WINDOW_MAX, &v, &line) == CFGP_OK)
		t->ike.replay_window = (unsigned int)v;
	t->ike.dpd_s = CONFIG_DPD_S;
	if (cfgp_int(&p->cp, s, path, "dpd_s", LLONG_MIN, LLONG_MAX, &v,
		     &line) == CFGP_OK) {
		cfgp_field(f, path, "dpd_s");
		if (v == 0)
			cfgp_err(&p->cp, line, f, "0 would turn DPD off; the "
				 "provider requires DPD with a restart action "
				 "(without it a router that gets TEMPORARY_FAILURE "
				 "during a rekey can loop)");
		else if (v < 1 || v > CONFIG_DPD_MAX)
			cfgp_err(&p->cp, line, f, "%lld is out of range (1..%d)",
				 v, CONFIG_DPD_MAX);
		else
			t->ike.dpd_s = (unsigned int)v;
	}
}

static void
parse_address(struct parse *p, const config_setting_t *s, const char *path,
	      struct config_tunnel *t, struct tun_aux *a)
{
	char f[CFGP_FIELD_MAX], buf[TS_PREFIX_STRLEN], pb[INET_ADDRSTRLEN];
	const char *str;
	int line, pline;
	enum cfgp_got g;
	struct in_addr peer;
	struct ts_prefix net;

	g = cfgp_string(&p->cp, s, path, "address", &str, &line);
	cfgp_required(&p->cp, g, s, path, "address");
	cfgp_field(f, path, "address");
	if (g == CFGP_OK) {
		if (ts_prefix_parse(str, false, &t->address) != 0 ||
		    t->address.family != AF_INET || !strchr(str, '/'))
			cfgp_err(&p->cp, line, f, "\"%s\" is not an IPv4 address "
				"with /31 or /30", str);
		else if (t->address.len != 31 && t->address.len != 30)
			cfgp_err(&p->cp, line, f, "%s: the inner prefix must be /31 "
				"or /30", str);
		else if (ts_prefix_peer(&t->address, &t->peer) != 0)
			cfgp_err(&p->cp, line, f, "%s is the network or broadcast "
				"address of its /30", str);
		else {
			a->addr_ok = true;
			a->addr_line = line;
		}
	}

	g = cfgp_string(&p->cp, s, path, "peer", &str, &pline);
	if (g != CFGP_OK)
		return;
	cfgp_field(f, path, "peer");
	if (!cfgp_host(&p->cp, pline, f, str, &peer) || !a->addr_ok)
		return;
	net = host_prefix(peer);
	if (!ts_prefix_contains(&t->address, &net)) {
		cfgp_err(&p->cp, pline, f, "%s is outside address %s", str,
			ts_prefix_format(&t->address, buf, sizeof(buf)));
		return;
	}
	if (peer.s_addr == t->address.v4.s_addr) {
		cfgp_err(&p->cp, pline, f, "%s is this side's own address", str);
		return;
	}
	net = t->address;
	net.v4 = peer;
	if (ts_prefix_peer(&net, &peer) != 0) {
		cfgp_err(&p->cp, pline, f, "%s is the network or broadcast address "
			"of %s", fmt_addr(net.v4, pb),
			ts_prefix_format(&t->address, buf, sizeof(buf)));
		return;
	}
	t->peer = net.v4;
}

/* IPv6 ranges that are no tunnel address and no source the provider
 * routes. */
static const struct ts_prefix link_local6 = {
	.family = AF_INET6, .v6.s6_addr = { 0xfe, 0x80 }, .len = 10 };
static const struct ts_prefix multicast6 = {
	.family = AF_INET6, .v6.s6_addr = { 0xff }, .len = 8 };

/*
 * address6: this side's IPv6 address with /127 (the provider's
 * interface_address6); the provider's is the other host of the /127.
 * Neither host may be link-local or multicast (the kernel makes the
 * link-local addresses itself; multicast is no host).
 */
static void
parse_address6(struct parse *p, const config_setting_t *s, const char *path,
	       struct config_tunnel *t, struct tun_aux *a)
{
	char f[CFGP_FIELD_MAX];
	const char *str, *why;
	struct ts_prefix x;
	int line;

	if (cfgp_string(&p->cp, s, path, "address6", &str, &line) != CFGP_OK)
		return;
	a->addr6_given = true;
	cfgp_field(f, path, "address6");
	if (ts_prefix_parse(str, false, &x) != 0 || x.family != AF_INET6 ||
	    !strchr(str, '/')) {
		cfgp_err(&p->cp, line, f, "\"%s\" is not an IPv6 address with "
			 "/127", str);
		return;
	}
	if (x.len != 127) {
		cfgp_err(&p->cp, line, f, "%s: the inner IPv6 prefix must be "
			 "/127", str);
		return;
	}
	if ((why = ts_prefix_peer6(&x, &t->peer6)) != NULL) {
		cfgp_err(&p->cp, line, f, "%s is a %s address", str, why);
		return;
	}
	t->address6 = x;
	t->has_address6 = true;
	a->addr6_line = line;
}

const char *
config_probe_family_name(enum probe_family f)
{
	static const char *const names[] = { "ipv4", "ipv6", "both" };

	return (unsigned int)f < 3 ? names[f] : "?";
}

/*
 * A probe group, over @pr (which holds the defaults).  @tunnel is true
 * for a tunnel's own group: target and source only make sense there.
 * Where family was set goes to *@family_line (validated with the tunnel's
 * address6 once every tunnel is read: check_probe_families()).
 */
static void
parse_probe(struct parse *p, const config_setting_t *s, const char *owner,
	    struct config_probe *pr, bool tunnel, int *family_line)
{
	static const struct {
		const char *key;
		long long min, max;
		size_t off;
	} ints[] = {
		{ "interval_ms", 50, 60000, offsetof(struct config_probe, interval_ms) },
		{ "timeout_ms", 0, 60000, offsetof(struct config_probe, timeout_ms) },
		{ "down_after", 1, 100, offsetof(struct config_probe, down_after) },
		{ "up_after", 1, 1000, offsetof(struct config_probe, up_after) },
		{ "holddown_ms", 0, 3600000, offsetof(struct config_probe, holddown_ms) },
		{ "degraded_loss_pct", 1, 100, offsetof(struct config_probe, degraded_loss_pct) },
		{ "degraded_rtt_ms", 0, 60000, offsetof(struct config_probe, degraded_rtt_ms) },
	};
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	const char *str;
	long long v;
	int line;

	cfgp_fieldf(path, "%s%sprobe", owner, *owner ? "." : "");
	cfgp_check_keys(&p->cp, s, path, probe_keys);
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (cfgp_int(&p->cp, s, path, ints[i].key, ints[i].min, ints[i].max,
			    &v, &line) == CFGP_OK)
			*(unsigned int *)((char *)pr + ints[i].off) =
				(unsigned int)v;
	if (pr->timeout_ms && pr->timeout_ms < 10) {
		cfgp_field(f, path, "timeout_ms");
		cfgp_err(&p->cp, cfgp_line(s), f, "%u ms: use 0 (= interval_ms) or "
			"10..60000", pr->timeout_ms);
	} else if (pr->timeout_ms > pr->interval_ms * pr->down_after) {
		cfgp_field(f, path, "timeout_ms");
		cfgp_err(&p->cp, cfgp_line(s), f, "%u ms is longer than down_after "
			"(%u) probes at interval_ms (%u): a dead tunnel would "
			"be noticed late", pr->timeout_ms, pr->down_after,
			pr->interval_ms);
	}
	/* The provider's servers check "up to every second": a shorter
	 * silence says nothing. */
	if (cfgp_int(&p->cp, s, path, "passive_timeout_ms", 0, 3600000, &v,
		    &line) == CFGP_OK) {
		if (v > 0 && v < 1000) {
			cfgp_field(f, path, "passive_timeout_ms");
			cfgp_err(&p->cp, line, f, "%lld ms: use 0 (off) or "
				"1000..3600000", v);
		} else {
			pr->passive_timeout_ms = (unsigned int)v;
		}
	}
	if (cfgp_string(&p->cp, s, path, "family", &str, &line) == CFGP_OK) {
		enum probe_family fam;

		for (fam = PROBE_FAMILY_IPV4; fam <= PROBE_FAMILY_BOTH; fam++)
			if (strcmp(str, config_probe_family_name(fam)) == 0)
				break;
		cfgp_field(f, path, "family");
		if (fam > PROBE_FAMILY_BOTH) {
			cfgp_err(&p->cp, line, f, "\"%s\" is not \"ipv4\", "
				 "\"ipv6\" or \"both\"", str);
			*family_line = -1;	/* said once, not again */
		} else {
			pr->family = fam;
			*family_line = line;
		}
	}
	static const char *const addrs[] = { "target", "source",
					     "passive_target" };
	for (size_t i = 0; i < 3; i++) {
		if (cfgp_string(&p->cp, s, path, addrs[i], &str, &line) != CFGP_OK)
			continue;
		cfgp_field(f, path, addrs[i]);
		if (!tunnel) {
			cfgp_err(&p->cp, line, f, "only in a tunnel's own probe group");
			continue;
		}
		if (i == 0 && cfgp_host(&p->cp, line, f, str, &pr->target))
			pr->has_target = true;
		if (i == 1 && cfgp_host(&p->cp, line, f, str, &pr->source))
			pr->has_source = true;
		if (i == 2 && cfgp_host(&p->cp, line, f, str, &pr->passive_target))
			pr->has_passive_target = true;
	}
}

void
config_tunnel_use_mtu(struct config_tunnel *t, bool mss_clamp,
		      unsigned int mtu)
{
	t->mtu = mtu < CONFIG_MTU_MIN ? CONFIG_MTU_MIN : mtu;
	t->mss = 0;
	if (mss_clamp) {
		t->mss = t->mtu - CONFIG_MSS_OVERHEAD;
		if (t->type == TUNNEL_IPSEC && t->mss > CONFIG_IPSEC_MSS_MAX)
			t->mss = CONFIG_IPSEC_MSS_MAX;
	}
	t->mss6 = t->mss > CONFIG_MSS6_EXTRA ? t->mss - CONFIG_MSS6_EXTRA : 0;
}

/*
 * An ipsec tunnel's mtu: by default the worst case of its esp_proposals
 * with NAT-T; one given (@given, at @line; 0: none) may be up to the
 * worst case without NAT-T, for a site that knows it has no NAT.
 */
static void
ipsec_mtu(struct parse *p, const char *path, struct config_tunnel *t,
	  long long given, int line)
{
	char f[CFGP_FIELD_MAX];
	unsigned int nat = CONFIG_IPSEC_MTU, plain = CONFIG_IPSEC_MTU + 8;
	int r = 0;

	if (t->ike.esp_proposals &&
	    ((r = ike_check_esp_mtu(t->ike.esp_proposals, ESP_UNDERLAY_MTU,
				    true, &nat)) < 0 ||
	     (r = ike_check_esp_mtu(t->ike.esp_proposals, ESP_UNDERLAY_MTU,
				    false, &plain)) < 0) &&
	    r == -ENOMEM)
		p->cp.oom = true;
	/* Other failures: the proposals were refused already. */
	t->mtu = nat < CONFIG_MTU_MIN ? CONFIG_MTU_MIN : nat;
	if (given == 0)
		return;
	cfgp_field(f, path, "mtu");
	if (given > plain)
		cfgp_err(&p->cp, line, f, "%lld is out of range (%d..%u: what "
			 "ESP with esp_proposals leaves of a %d-byte underlay; "
			 "%u with NAT-T)", given, CONFIG_MTU_MIN, plain,
			 ESP_UNDERLAY_MTU, nat);
	else
		t->mtu = (unsigned int)given;
}

static void
parse_tunnel(struct parse *p, const config_setting_t *s, size_t i)
{
	struct config_tunnel *t = &p->conf->tunnels[i];
	struct tun_aux *a = &p->taux[i];
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	config_setting_t *g_s;
	const char *str;
	long long v;
	int line;
	enum cfgp_got g, mtu_got;
	bool typed = false, ipsec;
	long long mtu_v = 0;
	int mtu_line = 0;

	cfgp_fieldf(path, "tunnels[%zu]", i);
	t->line = cfgp_line(s);
	t->ttl = CONFIG_TTL;
	if (!config_setting_is_group(s)) {
		cfgp_type_err(&p->cp, s, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(&p->cp, s, path, tunnel_keys);

	g = cfgp_string(&p->cp, s, path, "name", &str, &line);
	cfgp_required(&p->cp, g, s, path, "name");
	if (g == CFGP_OK) {
		if (cfgp_name_ok(str, IFNAMSIZ - 1)) {
			strcpy(t->name, str);
			a->named = true;
			a->name_line = line;
		} else {
			cfgp_field(f, path, "name");
			cfgp_err(&p->cp, line, f, "\"%s\" is not a valid interface "
				"name (1..%d characters of A-Z a-z 0-9 _ . -, "
				"not . or ..)", str, IFNAMSIZ - 1);
		}
	}

	g = cfgp_string(&p->cp, s, path, "type", &str, &line);
	cfgp_required(&p->cp, g, s, path, "type");
	if (g == CFGP_OK) {
		typed = true;
		if (strcmp(str, "gre") == 0)
			t->type = TUNNEL_GRE;
		else if (strcmp(str, "ipsec") == 0 && ike_check_available())
			t->type = TUNNEL_IPSEC;
		else if (strcmp(str, "ipsec") == 0) {
			typed = false;
			cfgp_field(f, path, "type");
			cfgp_err(&p->cp, line, f, "\"ipsec\" needs %s",
				 ike_check_unavailable());
		} else {
			typed = false;
			cfgp_field(f, path, "type");
			cfgp_err(&p->cp, line, f, "\"%s\" is not \"gre\" or "
				"\"ipsec\"", str);
		}
	}

	g = cfgp_string(&p->cp, s, path, "local", &str, &line);
	cfgp_required(&p->cp, g, s, path, "local");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "local");
		a->local_ok = cfgp_host(&p->cp, line, f, str, &t->local);
		a->local_line = line;
	}
	g = cfgp_string(&p->cp, s, path, "remote", &str, &line);
	cfgp_required(&p->cp, g, s, path, "remote");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "remote");
		a->remote_ok = cfgp_host(&p->cp, line, f, str, &t->remote);
		a->remote_line = line;
		if (a->remote_ok && a->local_ok &&
		    t->local.s_addr == t->remote.s_addr) {
			cfgp_err(&p->cp, line, f, "%s is also the local address",
				str);
			a->remote_ok = false;
		}
	}

	parse_address(p, s, path, t, a);
	parse_address6(p, s, path, t, a);

	/* An ipsec tunnel's limit follows its esp_proposals: judged below,
	 * once they are read. */
	ipsec = typed && t->type == TUNNEL_IPSEC;
	t->mtu = CONFIG_GRE_MTU;
	mtu_got = cfgp_int(&p->cp, s, path, "mtu", CONFIG_MTU_MIN,
			   ipsec ? ESP_UNDERLAY_MTU : CONFIG_GRE_MTU, &mtu_v,
			   &mtu_line);
	if (mtu_got == CFGP_OK && !ipsec)
		t->mtu = (unsigned int)mtu_v;
	if (cfgp_int(&p->cp, s, path, "ttl", 1, 255, &v, &line) == CFGP_OK)
		t->ttl = (unsigned int)v;

	if (cfgp_group(&p->cp, s, path, "underlay", &g_s) == CFGP_OK)
		parse_underlay(p, g_s, path, t);

	g = cfgp_group(&p->cp, s, path, "ike", &g_s);
	if (g == CFGP_OK) {
		config_setting_t *ps = config_setting_get_member(g_s, "psk");

		if (ps == NULL)
			ps = config_setting_get_member(g_s, "psk_file");
		a->psk_line = ps ? cfgp_line(ps) : cfgp_line(g_s);
		parse_ike(p, g_s, path, t, a, typed && t->type == TUNNEL_IPSEC);
		if (typed && t->type != TUNNEL_IPSEC) {
			cfgp_field(f, path, "ike");
			cfgp_err(&p->cp, cfgp_line(g_s), f, "only for ipsec tunnels");
		}
	}
	if (typed && t->type == TUNNEL_IPSEC && g != CFGP_BAD &&
	    !(t->ike.psk || (g == CFGP_OK &&
			     (config_setting_get_member(g_s, "psk") ||
			      config_setting_get_member(g_s, "psk_file"))))) {
		cfgp_field(f, path, "ike.psk");
		cfgp_err(&p->cp, g == CFGP_OK ? cfgp_line(g_s) : t->line, f,
			"required for ipsec tunnels (or psk_file)");
	}
	if (ipsec)
		ipsec_mtu(p, path, t, mtu_got == CFGP_OK ? mtu_v : 0, mtu_line);
	t->mtu_auto = ipsec && mtu_got != CFGP_OK;
	config_tunnel_use_mtu(t, p->conf->mss_clamp, t->mtu);

	t->probe = p->conf->probe;
	if (cfgp_group(&p->cp, s, path, "probe", &g_s) == CFGP_OK) {
		config_setting_t *src = config_setting_get_member(g_s, "source");
		config_setting_t *tgt = config_setting_get_member(g_s, "target");

		parse_probe(p, g_s, path, &t->probe, true, &a->family_line);
		if (src)
			a->source_line = config_setting_source_line(src);
		if (tgt)
			a->target_line = config_setting_source_line(tgt);
	}
}

/*
 * A probe source inside an authorized prefix is refused: its probes
 * would be marked as that policy's egress and routed into whichever
 * tunnel carries it, not the one they probe, so a dead tunnel would look
 * alive.  The default source, the tunnel's own inner address, is right.
 */
static void
check_probe_sources(struct parse *p)
{
	struct config *c = p->conf;
	char f[CFGP_FIELD_MAX], b1[INET_ADDRSTRLEN], b2[TS_PREFIX_STRLEN];

	for (size_t i = 0; i < c->n_tunnels && p->taux; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		struct ts_prefix src = host_prefix(t->probe.source);

		if (!t->probe.has_source)
			continue;
		for (size_t k = 0; k < c->n_policies; k++) {
			const struct config_policy *pol = &c->policies[k];

			for (size_t j = 0; j < pol->n_prefixes; j++) {
				if (!ts_prefix_contains(&pol->prefixes[j], &src))
					continue;
				cfgp_fieldf(f, "tunnels[%zu].probe.source", i);
				cfgp_err(&p->cp, p->taux[i].source_line ?
					 p->taux[i].source_line : t->line, f,
					 "%s is inside egress policy \"%s\"'s "
					 "authorized prefix %s: its probes would be "
					 "steered into that policy's tunnels; leave it "
					 "unset (the tunnel's inner address)",
					 fmt_addr(t->probe.source, b1), pol->name,
					 ts_prefix_format(&pol->prefixes[j], b2,
							  sizeof(b2)));
			}
		}
	}
}

/*
 * ICMPv6 probes (probe.family "ipv6" or "both") go from the tunnel's
 * address6 to the provider's side of its /127, so the tunnel needs one;
 * "ipv6" alone sends no IPv4 probe, so a target or source (the IPv4
 * probes') would be ignored; and an address6 inside an authorized prefix
 * is refused for the reason a probe source there is
 * (check_probe_sources()).  A family the tunnel inherits is refused at
 * the tunnel, naming the global group's line.
 */
static void
check_probe_families(struct parse *p)
{
	struct config *c = p->conf;
	char f[CFGP_FIELD_MAX], how[64], b1[INET6_ADDRSTRLEN];
	char b2[TS_PREFIX_STRLEN];

	for (size_t i = 0; i < c->n_tunnels && p->taux; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		const struct tun_aux *a = &p->taux[i];
		enum probe_family fam = t->probe.family;
		int line = a->family_line ? a->family_line : t->line;
		struct ts_prefix src;

		if (!probe_family_v6(fam) || a->family_line < 0)
			continue;
		cfgp_fieldf(f, "tunnels[%zu].probe.family", i);
		if (a->family_line)
			snprintf(how, sizeof(how), "\"%s\"",
				 config_probe_family_name(fam));
		else
			snprintf(how, sizeof(how), "\"%s\" (from the global "
				 "probe group, line %d)",
				 config_probe_family_name(fam), p->family_line);
		if (!a->addr6_given)
			cfgp_err(&p->cp, line, f, "%s needs the tunnel's "
				 "address6: ICMPv6 probes go from it to the "
				 "provider's side of its /127", how);
		if (!probe_family_v4(fam) && t->probe.has_target) {
			cfgp_fieldf(f, "tunnels[%zu].probe.target", i);
			cfgp_err(&p->cp, a->target_line, f, "only IPv4 probes "
				 "have a target, and family %s sends none", how);
		}
		if (!probe_family_v4(fam) && t->probe.has_source) {
			cfgp_fieldf(f, "tunnels[%zu].probe.source", i);
			cfgp_err(&p->cp, a->source_line, f, "only IPv4 probes "
				 "have a source, and family %s sends none", how);
		}
		if (!t->has_address6)
			continue;
		src = t->address6;
		src.len = 128;
		for (size_t k = 0; k < c->n_policies; k++) {
			const struct config_policy *pol = &c->policies[k];

			for (size_t j = 0; j < pol->n_prefixes; j++) {
				if (!ts_prefix_contains(&pol->prefixes[j], &src))
					continue;
				cfgp_fieldf(f, "tunnels[%zu].address6", i);
				cfgp_err(&p->cp, a->addr6_line, f, "%s is inside "
					 "egress policy \"%s\"'s authorized prefix "
					 "%s, and family %s probes from it: its "
					 "ICMPv6 probes would be steered into that "
					 "policy's tunnels",
					 inet_ntop(AF_INET6, &t->address6.v6, b1,
						   sizeof(b1)), pol->name,
					 ts_prefix_format(&pol->prefixes[j], b2,
							  sizeof(b2)), how);
			}
		}
	}
}

static void
check_tunnels(struct parse *p)
{
	struct config *c = p->conf;
	char f[CFGP_FIELD_MAX], b1[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];
	size_t i, j;

	for (i = 0; i < c->n_tunnels; i++) {
		struct config_tunnel *t = &c->tunnels[i];
		struct tun_aux *a = &p->taux[i];

		for (j = 0; j < i; j++) {
			struct config_tunnel *u = &c->tunnels[j];
			struct tun_aux *b = &p->taux[j];

			if (a->named && b->named &&
			    strcmp(t->name, u->name) == 0) {
				cfgp_fieldf(f, "tunnels[%zu].name", i);
				cfgp_err(&p->cp, a->name_line, f, "\"%s\" is already "
					"defined at line %d", t->name,
					b->name_line);
			}
			if (a->addr_ok && b->addr_ok &&
			    ts_prefix_overlaps(&t->address, &u->address)) {
				const char *what =
					t->address.v4.s_addr ==
					u->address.v4.s_addr ?
					"is the same address as" : "overlaps";

				cfgp_fieldf(f, "tunnels[%zu].address",
					 i);
				cfgp_err(&p->cp, a->addr_line, f, "%s %s %s of "
					"tunnel \"%s\" (line %d)",
					ts_prefix_format(&t->address, b1,
							 sizeof(b1)),
					what,
					ts_prefix_format(&u->address, b2,
							 sizeof(b2)),
					u->name, b->addr_line);
			}
			if (a->addr6_line && b->addr6_line &&
			    ts_prefix_overlaps(&t->address6, &u->address6)) {
				cfgp_fieldf(f, "tunnels[%zu].address6", i);
				cfgp_err(&p->cp, a->addr6_line, f, "%s is also "
					 "the address6 of tunnel \"%s\" (line %d)",
					 ts_prefix_format(&t->address6, b1,
							  sizeof(b1)),
					 u->name, b->addr6_line);
			}
			if (a->local_ok && a->remote_ok && b->local_ok &&
			    b->remote_ok &&
			    t->local.s_addr == u->local.s_addr &&
			    t->remote.s_addr == u->remote.s_addr) {
				cfgp_fieldf(f, "tunnels[%zu].remote",
					 i);
				cfgp_err(&p->cp, a->remote_line, f, "tunnel \"%s\" "
					"(line %d) has the same local and "
					"remote addresses; the kernel cannot "
					"tell the two apart", u->name,
					u->line);
			}
		}
	}
}

/*
 * The outer and inner addresses must not meet: a remote inside an inner
 * prefix (the tunnel's own or another's) would be routed into that
 * tunnel, its own outer packets too; a local that is an inner address
 * (either side of any tunnel's) would be the source of both.
 */
/* Order of ipsec tunnels by (local_id, remote_id), then config order. */
static int
id_pair_cmp(const void *pa, const void *pb, void *arg)
{
	const struct config_tunnel *t = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = strcmp(t[a].ike.local_id, t[b].ike.local_id);

	if (c == 0)
		c = strcmp(t[a].ike.remote_id, t[b].ike.remote_id);
	return c ? c : (a > b) - (a < b);
}

/*
 * Two ipsec tunnels with the same local_id and remote_id must share their
 * PSK: the responder knows us by that pair of identities alone and can
 * hold one key for it, so with two keys one of the tunnels would never
 * authenticate.  Each tunnel whose key differs from the first of its pair
 * (in config order) is refused at its psk, naming that first one.  Sorted,
 * not pairwise: a site may have thousands of tunnels.
 */
static void
check_psk_pairs(struct parse *p)
{
	const struct config *c = p->conf;
	char f[CFGP_FIELD_MAX];
	size_t *ix = calloc(c->n_tunnels + 1, sizeof(*ix)), n = 0;

	if (ix == NULL) {
		p->cp.oom = true;
		return;
	}
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct config_ike *k = &c->tunnels[i].ike;

		if (c->tunnels[i].type == TUNNEL_IPSEC && k->psk &&
		    k->local_id && k->remote_id)
			ix[n++] = i;
	}
	if (n > 1)
		qsort_r(ix, n, sizeof(*ix), id_pair_cmp, c->tunnels);
	for (size_t first = 0, j = 1; j < n; j++) {
		const struct config_tunnel *t = &c->tunnels[ix[j]];
		const struct config_tunnel *u = &c->tunnels[ix[first]];

		if (strcmp(t->ike.local_id, u->ike.local_id) != 0 ||
		    strcmp(t->ike.remote_id, u->ike.remote_id) != 0) {
			first = j;
			continue;
		}
		if (strcmp(t->ike.psk, u->ike.psk) == 0)
			continue;
		cfgp_fieldf(f, "tunnels[%zu].ike.%s", ix[j],
			    t->ike.psk_file ? "psk_file" : "psk");
		cfgp_err(&p->cp, p->taux[ix[j]].psk_line, f, "differs from the "
			 "psk of tunnel \"%s\" (line %d), which has the same "
			 "local_id \"%s\" and remote_id \"%s\": the peer knows "
			 "both by these identities and holds one key for them",
			 u->name, p->taux[ix[first]].psk_line, t->ike.local_id,
			 t->ike.remote_id);
	}
	free(ix);
}

static void
check_inner_clash(struct parse *p)
{
	struct config *c = p->conf;
	char f[CFGP_FIELD_MAX], b1[INET_ADDRSTRLEN], b2[TS_PREFIX_STRLEN];
	char whose[64 + IFNAMSIZ];

	/* n² pairs (1,000 tunnels: a million), each a few compares; the
	 * text is made only for a clash. */
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		const struct tun_aux *a = &p->taux[i];
		struct ts_prefix rh = host_prefix(t->remote);

		for (size_t j = 0; j < c->n_tunnels; j++) {
			const struct config_tunnel *u = &c->tunnels[j];
			const struct tun_aux *b = &p->taux[j];
			bool remote_in, local_is;

			if (!b->addr_ok)
				continue;
			remote_in = a->remote_ok &&
				    ts_prefix_contains(&u->address, &rh);
			local_is = a->local_ok &&
				   (t->local.s_addr == u->address.v4.s_addr ||
				    t->local.s_addr == u->peer.s_addr);
			if (!remote_in && !local_is)
				continue;
			if (i == j)
				snprintf(whose, sizeof(whose), "this tunnel's");
			else
				snprintf(whose, sizeof(whose), "tunnel \"%s\"'s "
					 "(line %d)", u->name, b->addr_line);
			if (remote_in) {
				cfgp_fieldf(f, "tunnels[%zu].remote", i);
				cfgp_err(&p->cp, a->remote_line, f, "%s is inside "
					 "%s inner prefix %s", fmt_addr(t->remote, b1),
					 whose, ts_prefix_format(&u->address, b2,
								  sizeof(b2)));
			}
			if (local_is) {
				cfgp_fieldf(f, "tunnels[%zu].local", i);
				cfgp_err(&p->cp, a->local_line, f, "%s is %s inner "
					 "%saddress", fmt_addr(t->local, b1), whose,
					 t->local.s_addr == u->address.v4.s_addr ?
					 "" : "peer ");
			}
		}
	}
}

/*
 * The underlay pins (desired.c) give each uplink, a distinct local
 * address of the tunnels with an underlay, counted in file order, one
 * table and rule of DESIRED_MAX_UPLINKS; a GRE tunnel pinned to one past
 * them cannot be built.  Refused here, with its line, rather than at
 * load time.
 */
static void
check_uplinks(struct parse *p)
{
	struct config *c = p->conf;
	struct in_addr *seen = calloc(c->n_tunnels + 1, sizeof(*seen));
	char f[CFGP_FIELD_MAX], b[INET_ADDRSTRLEN];
	size_t n = 0;

	if (!seen) {
		p->cp.oom = true;
		return;
	}
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		size_t u;

		if (!t->underlay.set)
			continue;
		for (u = 0; u < n; u++)
			if (seen[u].s_addr == t->local.s_addr)
				break;
		if (u == n)
			seen[n++] = t->local;
		if (u < DESIRED_MAX_UPLINKS || t->type != TUNNEL_GRE ||
		    !p->taux[i].local_ok)
			continue;
		cfgp_fieldf(f, "tunnels[%zu].local", i);
		cfgp_err(&p->cp, p->taux[i].local_line, f, "%s is uplink %zu "
			 "(a distinct local address of a tunnel with an "
			 "underlay); at most %d allowed", fmt_addr(t->local, b),
			 u + 1, DESIRED_MAX_UPLINKS);
	}
	free(seen);
}

/* --- egress policies ------------------------------------------------- */

/* One element of a prefix list: parsed into @out, or an error at @line. */
typedef bool prefix_fn(struct parse *p, int line, const char *f,
		       const char *str, struct ts_prefix *out);

/* An authorized prefix: IPv4, or IPv6 outside link-local and multicast
 * (neither is ever a source the provider routes). */
static bool
any_prefix(struct parse *p, int line, const char *f, const char *str,
	   struct ts_prefix *out)
{
	char b[TS_PREFIX_STRLEN];

	if (!cfgp_prefix_af(&p->cp, line, f, str, AF_UNSPEC, out))
		return false;
	if (out->family == AF_INET6 && out->len > 0 &&
	    (ts_prefix_overlaps(out, &link_local6) ||
	     ts_prefix_overlaps(out, &multicast6))) {
		cfgp_err(&p->cp, line, f, "%s overlaps %s; not a source the "
			 "provider routes", ts_prefix_format(out, b, sizeof(b)),
			 ts_prefix_overlaps(out, &link_local6) ? "fe80::/10 "
			 "(link-local)" : "ff00::/8 (multicast)");
		return false;
	}
	return true;
}

/*
 * @s's list @key of at most @max prefixes, each through @one, into a new
 * array *@out (and each one's line into *@lines) of *@n good ones.  An
 * array [ ] is the natural syntax; a list ( ) of strings is accepted too.
 * False if the list is missing, empty, too long or memory ran out (said).
 */
static bool
parse_prefix_list(struct parse *p, const config_setting_t *s,
		  const char *path, const char *key, int max, prefix_fn *one,
		  struct ts_prefix **out, int **lines, size_t *n)
{
	char f[CFGP_FIELD_MAX], f2[CFGP_FIELD_MAX];
	config_setting_t *l;
	enum cfgp_got g;
	int len;

	g = cfgp_strings(&p->cp, s, path, key, &l);
	cfgp_required(&p->cp, g, s, path, key);
	if (g != CFGP_OK)
		return false;
	cfgp_field(f, path, key);
	len = config_setting_length(l);
	if (len == 0) {
		cfgp_err(&p->cp, cfgp_line(l), f, "must not be empty");
		return false;
	}
	if (len > max) {
		cfgp_err(&p->cp, cfgp_line(l), f, "%d prefixes; at most %d "
			 "allowed", len, max);
		return false;
	}
	*out = calloc((size_t)len, sizeof(**out));
	*lines = calloc((size_t)len, sizeof(**lines));
	if (!*out || !*lines) {
		p->cp.oom = true;
		return false;
	}
	for (int k = 0; k < len; k++) {
		const config_setting_t *e = config_setting_get_elem(l, k);
		const char *str;

		cfgp_fieldf(f2, "%s[%d]", f, k);
		str = cfgp_elem_string(&p->cp, l, k, f2);
		if (!str || !one(p, cfgp_line(e), f2, str, &(*out)[*n]))
			continue;
		(*lines)[(*n)++] = cfgp_line(e);
	}
	return true;
}

static void
parse_prefixes(struct parse *p, const config_setting_t *s, const char *path,
	       struct config_policy *pol, size_t pi)
{
	(void)parse_prefix_list(p, s, path, "prefixes", CONFIG_MAX_PREFIXES,
				any_prefix, &pol->prefixes, &p->prefix_lines[pi],
				&pol->n_prefixes);
}

static void
parse_policy_tunnel(struct parse *p, const config_setting_t *e,
		    const char *path, struct config_policy *pol)
{
	struct config_policy_tunnel *pt = &pol->tunnels[pol->n_tunnels];
	char f[CFGP_FIELD_MAX];
	const char *str;
	long long v;
	int line, idx = -1;
	enum cfgp_got g;
	bool ok = true;

	if (!config_setting_is_group(e)) {
		cfgp_type_err(&p->cp, e, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(&p->cp, e, path, ptunnel_keys);
	g = cfgp_string(&p->cp, e, path, "tunnel", &str, &line);
	cfgp_required(&p->cp, g, e, path, "tunnel");
	if (g == CFGP_OK) {
		idx = config_tunnel_index(p->conf, str);
		cfgp_field(f, path, "tunnel");
		if (idx < 0)
			cfgp_err(&p->cp, line, f, "unknown tunnel \"%s\"", str);
		for (size_t k = 0; idx >= 0 && k < pol->n_tunnels; k++)
			if (pol->tunnels[k].tunnel == (size_t)idx) {
				cfgp_err(&p->cp, line, f, "tunnel \"%s\" is listed "
					"twice", str);
				idx = -1;
			}
	}
	g = cfgp_int(&p->cp, e, path, "priority", 0, UINT32_MAX, &v, &line);
	cfgp_required(&p->cp, g, e, path, "priority");
	if (g == CFGP_OK)
		pt->priority = (uint32_t)v;
	else
		ok = false;
	pt->weight = 1;
	if (cfgp_int(&p->cp, e, path, "weight", 1, CONFIG_WEIGHT_MAX, &v, &line) ==
	    CFGP_OK)
		pt->weight = (unsigned int)v;
	if (idx >= 0 && ok) {
		pt->tunnel = (size_t)idx;
		pol->n_tunnels++;
	}
}

/*
 * A policy's nft set is auth_<name> with every character nft does not
 * take in an identifier made '_' (desired.c, set_name()): "a.b" and
 * "a-b" would be one set.  nft_ident() writes that form of @name into
 * @out (CONFIG_NAME_MAX bytes); nft_same() says whether two names give
 * one set.
 */
static char
nft_char(char c)
{
	return (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9')) ? c : '_';
}

static void
nft_ident(const char *name, char *out)
{
	size_t i;

	for (i = 0; name[i] && i < CONFIG_NAME_MAX - 1; i++)
		out[i] = nft_char(name[i]);
	out[i] = '\0';
}

static bool
nft_same(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (nft_char(*a) != nft_char(*b))
			return false;
	return *a == *b;
}

/*
 * One prefix of nat: IPv4 only.  An IPv6 one gets its own message, since
 * the reason is not a typo: NAT66 is not offered.
 */
static bool
nat_prefix(struct parse *p, int line, const char *f, const char *str,
	   struct ts_prefix *out)
{
	struct ts_prefix x;

	if (ts_prefix_parse(str, false, &x) == 0 && x.family == AF_INET6) {
		cfgp_err(&p->cp, line, f, "\"%s\" is an IPv6 prefix; NAT66 is "
			 "not offered (nat translates IPv4 sources only)", str);
		return false;
	}
	return cfgp_prefix(&p->cp, line, f, str, out);
}

static void
parse_nat(struct parse *p, const config_setting_t *s, const char *path,
	  struct config_policy *pol)
{
	struct config_nat *nat = &pol->nat;
	char np[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	config_setting_t *g_s;
	const char *str;
	enum cfgp_got g;
	int line;

	if (cfgp_group(&p->cp, s, path, "nat", &g_s) != CFGP_OK)
		return;
	cfgp_field(np, path, "nat");
	cfgp_check_keys(&p->cp, g_s, np, nat_keys);
	nat->line = cfgp_line(g_s);

	g = cfgp_string(&p->cp, g_s, np, "to", &str, &line);
	cfgp_required(&p->cp, g, g_s, np, "to");
	if (g == CFGP_OK) {
		cfgp_field(f, np, "to");
		nat->to_line = line;
		if (nat_prefix(p, line, f, str, &nat->to)) {
			if (nat->to.len < CONFIG_NAT_TO_MIN_LEN) {
				cfgp_err(&p->cp, line, f, "%s holds %llu "
					 "addresses; at most %u allowed (a /%d)",
					 str, 1ULL << (32 - nat->to.len),
					 1u << (32 - CONFIG_NAT_TO_MIN_LEN),
					 CONFIG_NAT_TO_MIN_LEN);
				nat->to_line = 0;
			}
		} else {
			nat->to_line = 0;
		}
	}

	nat->set = parse_prefix_list(p, g_s, np, "from", CONFIG_NAT_MAX_FROM,
				     nat_prefix, &nat->from, &nat->from_lines,
				     &nat->n_from);
}

static void
parse_policy(struct parse *p, const config_setting_t *s, size_t i)
{
	struct config_policy *pol = &p->conf->policies[i];
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX], f2[CFGP_FIELD_MAX];
	config_setting_t *l;
	const char *str;
	int line, n, k;
	enum cfgp_got g;

	cfgp_fieldf(path, "egress[%zu]", i);
	pol->line = cfgp_line(s);
	if (!config_setting_is_group(s)) {
		cfgp_type_err(&p->cp, s, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(&p->cp, s, path, policy_keys);

	g = cfgp_string(&p->cp, s, path, "name", &str, &line);
	cfgp_required(&p->cp, g, s, path, "name");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "name");
		if (!cfgp_name_ok(str, CONFIG_NAME_MAX - 1))
			cfgp_err(&p->cp, line, f, "\"%s\" is not a valid name "
				"(1..%d characters of A-Z a-z 0-9 _ . -)", str,
				CONFIG_NAME_MAX - 1);
		else {
			for (size_t j = 0; j < i; j++) {
				const char *other = p->conf->policies[j].name;
				char set[CONFIG_NAME_MAX];

				if (!p->policy_name_line[j])
					continue;
				if (strcmp(other, str) == 0)
					cfgp_err(&p->cp, line, f, "\"%s\" is already "
						"defined at line %d", str,
						p->policy_name_line[j]);
				else if (nft_same(other, str)) {
					nft_ident(other, set);
					cfgp_err(&p->cp, line, f, "\"%s\" becomes "
						 "nft set auth_%s, as \"%s\" at "
						 "line %d does", str, set, other,
						 p->policy_name_line[j]);
				}
			}
			strcpy(pol->name, str);
			p->policy_name_line[i] = line;
		}
	}

	parse_prefixes(p, s, path, pol, i);

	if (cfgp_string(&p->cp, s, path, "all_down", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "all_down");
		if (strcmp(str, "isp") == 0)
			pol->all_down_isp = true;
		else if (strcmp(str, "keep") != 0)
			cfgp_err(&p->cp, line, f, "\"%s\" is not \"keep\" or \"isp\"", str);
	}

	parse_nat(p, s, path, pol);

	g = cfgp_list(&p->cp, s, path, "tunnels", &l);
	cfgp_required(&p->cp, g, s, path, "tunnels");
	if (g != CFGP_OK)
		return;
	cfgp_field(f, path, "tunnels");
	n = config_setting_length(l);
	if (n == 0) {
		cfgp_err(&p->cp, cfgp_line(l), f, "must not be empty");
		return;
	}
	if (n > CONFIG_MAX_TUNNELS) {
		cfgp_err(&p->cp, cfgp_line(l), f, "%d entries; at most %d allowed", n,
			CONFIG_MAX_TUNNELS);
		return;
	}
	pol->tunnels = calloc((size_t)n, sizeof(*pol->tunnels));
	if (!pol->tunnels) {
		p->cp.oom = true;
		return;
	}
	for (k = 0; k < n; k++) {
		cfgp_fieldf(f2, "%s[%d]", f, k);
		parse_policy_tunnel(p, config_setting_get_elem(l, k), f2, pol);
	}

	/* The provider installs at most 64 ECMP paths per priority. */
	for (size_t a = 0; a < pol->n_tunnels; a++) {
		size_t same = 0, b;

		for (b = 0; b < a; b++)
			if (pol->tunnels[b].priority == pol->tunnels[a].priority)
				same++;
		if (same == CONFIG_ECMP_MAX) {
			const config_setting_t *e = NULL;

			/* Find the entry's setting for its line. */
			for (k = 0; k < n; k++) {
				const config_setting_t *x =
					config_setting_get_elem(l, k);
				const char *tn;

				if (config_setting_is_group(x) &&
				    config_setting_lookup_string(x, "tunnel",
								 &tn) &&
				    strcmp(tn, p->conf->tunnels[
					   pol->tunnels[a].tunnel].name) == 0) {
					e = x;
					break;
				}
			}
			cfgp_err(&p->cp, e ? cfgp_line(e) : cfgp_line(l), f,
				"more than %d tunnels share priority %" PRIu32
				"; the provider installs at most %d equal-cost "
				"paths", CONFIG_ECMP_MAX,
				pol->tunnels[a].priority, CONFIG_ECMP_MAX);
		}
	}
}

static int
pfx_num_cmp(struct pfx_num a, struct pfx_num b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

static uint64_t
be64_at(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* An address of @family (an in_addr or in6_addr at @a) as a number. */
static struct pfx_num
pfx_num_of(int family, const void *a)
{
	if (family == AF_INET)
		return (struct pfx_num){ 0, ntohl(((const struct in_addr *)a)->s_addr) };
	return (struct pfx_num){ be64_at(a), be64_at((const uint8_t *)a + 8) };
}

/* [start, end] of prefix @x, of either family. */
static struct pfx_ref
pfx_interval(const struct ts_prefix *x, size_t policy, size_t index, int line)
{
	struct pfx_ref r = { .family = x->family, .policy = policy,
			     .index = index, .line = line };
	unsigned int host = (x->family == AF_INET ? 32u : 128u) - x->len;

	r.start = pfx_num_of(x->family, &x->v4);
	r.end = r.start;
	/* host bits: the low @host of 128 (shifts of 64 are undefined) */
	if (host >= 64) {
		r.end.lo = UINT64_MAX;
		if (host > 64)
			r.end.hi |= UINT64_MAX >> (128 - host);
	} else if (host) {
		r.end.lo |= UINT64_MAX >> (64 - host);
	}
	return r;
}

/* By family, then start, wider first. */
static int
pfx_ref_cmp(const void *a, const void *b)
{
	const struct pfx_ref *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = pfx_num_cmp(x->start, y->start)) != 0)
		return c;
	return -pfx_num_cmp(x->end, y->end);	/* wider first */
}

/* Does @x start at or below the widest end so far, @cover (same family)? */
static bool
pfx_ref_within(const struct pfx_ref *x, const struct pfx_ref *cover)
{
	return cover && cover->family == x->family &&
	       pfx_num_cmp(x->start, cover->end) <= 0;
}

/* Does @x end beyond @cover (or is it of another family, or the first)? */
static bool
pfx_ref_wider(const struct pfx_ref *x, const struct pfx_ref *cover)
{
	return !cover || cover->family != x->family ||
	       pfx_num_cmp(x->end, cover->end) > 0;
}

/* The last of @v (sorted by pfx_ref_cmp, @n of them) of @family starting
 * at or below @h, or NULL. */
static const struct pfx_ref *
pfx_floor(const struct pfx_ref *v, size_t n, int family, struct pfx_num h)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].family < family ||
		    (v[mid].family == family &&
		     pfx_num_cmp(v[mid].start, h) <= 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && v[lo - 1].family == family ? &v[lo - 1] : NULL;
}

/* Is the prefix @x later in the file than @y? */
static bool
pfx_ref_later(const struct pfx_ref *x, const struct pfx_ref *y)
{
	if (x->policy != y->policy)
		return x->policy > y->policy;
	return x->index > y->index;
}

static int
pfx_clash_cmp(const void *a, const void *b)
{
	const struct pfx_ref *x = a, *y = b;

	return pfx_ref_later(x, y) ? 1 : pfx_ref_later(y, x) ? -1 : 0;
}

static void
check_prefixes(struct parse *p)
{
	struct config *c = p->conf;
	struct pfx_ref *v, *cover = NULL, (*clash)[2];
	size_t n_clash = 0;
	char f[CFGP_FIELD_MAX], b1[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];
	size_t n = 0, i, j;

	for (i = 0; i < c->n_policies; i++)
		n += c->policies[i].n_prefixes;
	if (n == 0)
		return;
	v = calloc(n, sizeof(*v));
	if (!v) {
		p->cp.oom = true;
		return;
	}
	n = 0;
	for (i = 0; i < c->n_policies; i++) {
		for (j = 0; j < c->policies[i].n_prefixes; j++)
			v[n++] = pfx_interval(&c->policies[i].prefixes[j], i, j,
					      p->prefix_lines[i][j]);
	}
	qsort(v, n, sizeof(*v), pfx_ref_cmp);

	/* Sorted by start, wider first: a prefix overlaps an earlier one
	 * exactly when it starts before the widest end seen so far.  Each
	 * overlap is blamed on the later of the two, reported in file
	 * order. */
	clash = calloc(n, sizeof(*clash));
	if (!clash) {
		p->cp.oom = true;
		free(v);
		return;
	}
	for (i = 0; i < n; i++) {
		if (pfx_ref_within(&v[i], cover)) {
			bool swap = pfx_ref_later(cover, &v[i]);

			clash[n_clash][0] = swap ? *cover : v[i];
			clash[n_clash++][1] = swap ? v[i] : *cover;
		}
		if (pfx_ref_wider(&v[i], cover))
			cover = &v[i];
	}
	qsort(clash, n_clash, sizeof(*clash), pfx_clash_cmp);
	for (i = 0; i < n_clash; i++) {
		const struct pfx_ref *late = &clash[i][0], *early = &clash[i][1];
		const struct ts_prefix *lp, *ep;

		lp = &c->policies[late->policy].prefixes[late->index];
		ep = &c->policies[early->policy].prefixes[early->index];
		cfgp_fieldf(f, "egress[%zu].prefixes[%zu]", late->policy,
		       late->index);
		cfgp_err(&p->cp, late->line, f, "%s %s %s in egress \"%s\" (line %d)",
			ts_prefix_format(lp, b1, sizeof(b1)),
			ts_prefix_equal(lp, ep) ? "is also listed as" :
						  "overlaps",
			ts_prefix_format(ep, b2, sizeof(b2)),
			c->policies[early->policy].name, early->line);
	}
	free(clash);

	/* A tunnel endpoint inside an authorized prefix would be steered into
	 * its own tunnel.  After the check above the prefixes are disjoint,
	 * so the one that may hold an address is the last starting at or
	 * below it. */
	for (i = 0; i < c->n_tunnels; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		const struct tun_aux *a = &p->taux[i];

		for (int side = 0; side < 2; side++) {
			bool ok = side ? a->remote_ok : a->local_ok;
			struct in_addr ad = side ? t->remote : t->local;
			struct pfx_num h = pfx_num_of(AF_INET, &ad);
			const struct pfx_ref *r;
			char ab[INET_ADDRSTRLEN];

			if (!ok)
				continue;
			r = pfx_floor(v, n, AF_INET, h);
			if (r == NULL || pfx_num_cmp(h, r->end) > 0)
				continue;
			cfgp_fieldf(f, "egress[%zu].prefixes[%zu]",
				 r->policy, r->index);
			cfgp_err(&p->cp, r->line, f, "%s contains the %s address %s "
				"of tunnel \"%s\" (line %d)",
				ts_prefix_format(&c->policies[r->policy].
						 prefixes[r->index], b1,
						 sizeof(b1)),
				side ? "remote" : "local", fmt_addr(ad, ab),
				t->name, side ? a->remote_line : a->local_line);
		}
	}
	free(v);
}


/*
 * nat: `to` inside one of the policy's own prefixes (the provider takes
 * only those as sources); every `from` prefix outside every authorized
 * prefix (those leave untranslated, a source cannot be both) and
 * disjoint from every other `from` (one source, one policy, one
 * mapping); no tunnel endpoint inside one (it would be steered into its
 * own tunnel).  Authorized prefixes are disjoint once check_prefixes()
 * passed, so the one that may overlap [s, e] is the last starting at or
 * below e.
 */
static void
check_nat(struct parse *p)
{
	struct config *c = p->conf;
	struct pfx_ref *auth = NULL, *from = NULL, *cover = NULL;
	char f[CFGP_FIELD_MAX], b1[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];
	size_t na = 0, nf = 0, i, j;

	for (i = 0; i < c->n_policies; i++) {
		const struct config_policy *pol = &c->policies[i];
		bool inside = false;

		nf += pol->nat.n_from;
		na += pol->n_prefixes;
		if (!pol->nat.set || !pol->nat.to_line)
			continue;
		for (j = 0; j < pol->n_prefixes && !inside; j++)
			inside = ts_prefix_contains(&pol->prefixes[j], &pol->nat.to);
		if (!inside && pol->n_prefixes) {
			cfgp_fieldf(f, "egress[%zu].nat.to", i);
			cfgp_err(&p->cp, pol->nat.to_line, f, "%s is not inside "
				 "any of egress \"%s\"'s prefixes; the provider "
				 "accepts only authorized sources",
				 ts_prefix_format(&pol->nat.to, b1, sizeof(b1)),
				 pol->name);
		}
	}
	if (nf == 0)
		return;
	auth = calloc(na + 1, sizeof(*auth));
	from = calloc(nf, sizeof(*from));
	if (!auth || !from) {
		p->cp.oom = true;
		goto out;
	}
	na = nf = 0;
	for (i = 0; i < c->n_policies; i++) {
		const struct config_policy *pol = &c->policies[i];

		for (j = 0; j < pol->n_prefixes && p->prefix_lines[i]; j++)
			auth[na++] = pfx_interval(&pol->prefixes[j], i, j,
						  p->prefix_lines[i][j]);
		for (j = 0; j < pol->nat.n_from; j++)
			from[nf++] = pfx_interval(&pol->nat.from[j], i, j,
						  pol->nat.from_lines[j]);
	}
	qsort(auth, na, sizeof(*auth), pfx_ref_cmp);
	for (i = 0; i < nf; i++) {
		const struct pfx_ref *r = pfx_floor(auth, na, from[i].family,
						    from[i].end);
		const struct ts_prefix *x =
			&c->policies[from[i].policy].nat.from[from[i].index];

		if (r == NULL || pfx_num_cmp(r->end, from[i].start) < 0)
			continue;
		cfgp_fieldf(f, "egress[%zu].nat.from[%zu]", from[i].policy,
			    from[i].index);
		cfgp_err(&p->cp, from[i].line, f, "%s overlaps authorized prefix "
			 "%s of egress \"%s\" (line %d); nat.from must be "
			 "outside every authorized prefix",
			 ts_prefix_format(x, b1, sizeof(b1)),
			 ts_prefix_format(&c->policies[r->policy].prefixes[r->index],
					  b2, sizeof(b2)),
			 c->policies[r->policy].name, r->line);
	}
	/* As check_prefixes(): sorted by start, wider first, an overlap is
	 * a start at or below the widest end so far; blamed on the later. */
	qsort(from, nf, sizeof(*from), pfx_ref_cmp);
	for (i = 0; i < nf; i++) {
		if (pfx_ref_within(&from[i], cover)) {
			bool swap = pfx_ref_later(cover, &from[i]);
			const struct pfx_ref *late = swap ? cover : &from[i];
			const struct pfx_ref *early = swap ? &from[i] : cover;
			const struct ts_prefix *lp =
				&c->policies[late->policy].nat.from[late->index];
			const struct ts_prefix *ep =
				&c->policies[early->policy].nat.from[early->index];

			cfgp_fieldf(f, "egress[%zu].nat.from[%zu]", late->policy,
				    late->index);
			cfgp_err(&p->cp, late->line, f, "%s %s %s in egress "
				 "\"%s\"'s nat.from (line %d)",
				 ts_prefix_format(lp, b1, sizeof(b1)),
				 ts_prefix_equal(lp, ep) ? "is also listed as" :
							   "overlaps",
				 ts_prefix_format(ep, b2, sizeof(b2)),
				 c->policies[early->policy].name, early->line);
		}
		if (pfx_ref_wider(&from[i], cover))
			cover = &from[i];
	}
	for (i = 0; i < c->n_tunnels; i++) {
		const struct config_tunnel *t = &c->tunnels[i];
		const struct tun_aux *a = &p->taux[i];

		for (int side = 0; side < 2; side++) {
			struct in_addr ad = side ? t->remote : t->local;
			const struct pfx_ref *r;
			char ab[INET_ADDRSTRLEN];

			if (!(side ? a->remote_ok : a->local_ok))
				continue;
			/* Disjoint unless reported above: the one that may
			 * hold the address is the last starting at or below. */
			struct pfx_num h = pfx_num_of(AF_INET, &ad);

			r = pfx_floor(from, nf, AF_INET, h);
			if (r == NULL || pfx_num_cmp(h, r->end) > 0)
				continue;
			cfgp_fieldf(f, "egress[%zu].nat.from[%zu]", r->policy,
				    r->index);
			cfgp_err(&p->cp, r->line, f, "%s contains the %s address "
				 "%s of tunnel \"%s\" (line %d)",
				 ts_prefix_format(&c->policies[r->policy].
						  nat.from[r->index], b1, sizeof(b1)),
				 side ? "remote" : "local", fmt_addr(ad, ab),
				 t->name, side ? a->remote_line : a->local_line);
		}
	}
out:
	free(auth);
	free(from);
}

/*
 * A policy with IPv6 prefixes sends IPv6 through each of its tunnels, so
 * each needs its address6 (the provider's interface_address6): without
 * one the provider has no IPv6 route back into that tunnel.
 */
static void
check_ipv6_tunnels(struct parse *p)
{
	const struct config *c = p->conf;
	char f[CFGP_FIELD_MAX];

	for (size_t i = 0; i < c->n_policies; i++) {
		const struct config_policy *pol = &c->policies[i];

		if (!config_policy_has_ipv6(pol))
			continue;
		for (size_t k = 0; k < pol->n_tunnels; k++) {
			const struct config_tunnel *t =
				&c->tunnels[pol->tunnels[k].tunnel];

			if (p->taux[pol->tunnels[k].tunnel].addr6_given)
				continue;
			cfgp_fieldf(f, "egress[%zu].tunnels", i);
			cfgp_err(&p->cp, pol->line, f, "egress \"%s\" has IPv6 "
				 "prefixes, but its tunnel \"%s\" (line %d) has "
				 "no address6", pol->name, t->name, t->line);
		}
	}
}

/* --- top level ------------------------------------------------------- */

/* unauthorized, unauthorized6: "isp" or "drop", into @out if given. */
static void
parse_unauth(struct parse *p, const config_setting_t *root, const char *key,
	     enum unauth_action *out)
{
	const char *str;
	int line;

	if (cfgp_string(&p->cp, root, "", key, &str, &line) != CFGP_OK)
		return;
	if (strcmp(str, "isp") == 0)
		*out = UNAUTH_ISP;
	else if (strcmp(str, "drop") == 0)
		*out = UNAUTH_DROP;
	else
		cfgp_err(&p->cp, line, key, "\"%s\" is not \"isp\" or "
			 "\"drop\"", str);
}

bool
config_policy_has_ipv6(const struct config_policy *pol)
{
	for (size_t i = 0; i < pol->n_prefixes; i++)
		if (pol->prefixes[i].family == AF_INET6)
			return true;
	return false;
}

/* An address6 or an IPv6 prefix. */
static bool
steers_ipv6(const struct config *conf)
{
	for (size_t i = 0; i < conf->n_tunnels; i++)
		if (conf->tunnels[i].has_address6)
			return true;
	for (size_t i = 0; i < conf->n_policies; i++)
		if (config_policy_has_ipv6(&conf->policies[i]))
			return true;
	return false;
}

bool
config_has_ipv6(const struct config *conf)
{
	return conf->unauthorized6 == UNAUTH_DROP || steers_ipv6(conf);
}

static void
parse_root(struct parse *p, const config_setting_t *root)
{
	struct config *c = p->conf;
	config_setting_t *s;
	const char *str;
	int line, n;
	size_t i;
	enum cfgp_got g;
	const config_setting_t *tunnels;
	bool no_tunnels;

	cfgp_check_keys(&p->cp, root, "", root_keys);

	if (cfgp_string(&p->cp, root, "", "log_level", &str, &line) == CFGP_OK) {
		enum log_level lvl;

		if (log_level_parse(str, &lvl) == 0)
			c->log_level = (int)lvl;
		else
			cfgp_err(&p->cp, line, "log_level", "\"%s\" is not one of "
				 LOG_LEVEL_NAMES, str);
	}
	cfgp_bool(&p->cp, root, "", "mss_clamp", &c->mss_clamp);
	parse_unauth(p, root, "unauthorized", &c->unauthorized);
	c->unauthorized6 = c->unauthorized;
	parse_unauth(p, root, "unauthorized6", &c->unauthorized6);
	if (cfgp_group(&p->cp, root, "", "control", &s) == CFGP_OK) {
		cfgp_check_keys(&p->cp, s, "control", control_keys);
		if (cfgp_string(&p->cp, s, "control", "socket", &str, &line) ==
		    CFGP_OK) {
			if (str[0] != '/')
				cfgp_err(&p->cp, line, "control.socket", "\"%s\" is "
					"not an absolute path", str);
			else if (strlen(str) >= sizeof(c->control_socket))
				cfgp_err(&p->cp, line, "control.socket", "longer "
					"than %zu characters",
					sizeof(c->control_socket) - 1);
			else
				strcpy(c->control_socket, str);
		}
	}

	if (cfgp_group(&p->cp, root, "", "metrics", &s) == CFGP_OK)
		parse_metrics(p, s);

	/* Before the tunnels: their probe settings start from these. */
	if (cfgp_group(&p->cp, root, "", "probe", &s) == CFGP_OK)
		parse_probe(p, s, "", &c->probe, false, &p->family_line);

	g = cfgp_list(&p->cp, root, "", "tunnels", &s);
	tunnels = g == CFGP_OK ? s : NULL;
	no_tunnels = g == CFGP_NONE || (tunnels && !config_setting_length(s));
	if (g == CFGP_OK && (n = config_setting_length(s)) > 0) {
		if (n > CONFIG_MAX_TUNNELS)
			cfgp_err(&p->cp, cfgp_line(s), "tunnels", "%d tunnels; at most "
				"%d allowed", n, CONFIG_MAX_TUNNELS);
		else {
			c->tunnels = calloc((size_t)n, sizeof(*c->tunnels));
			p->taux = calloc((size_t)n, sizeof(*p->taux));
			if (!c->tunnels || !p->taux) {
				p->cp.oom = true;
				return;
			}
			c->n_tunnels = (size_t)n;
			for (i = 0; i < c->n_tunnels; i++)
				parse_tunnel(p, config_setting_get_elem(
						     s, (unsigned int)i), i);
			check_tunnels(p);
			check_psk_pairs(p);
			check_inner_clash(p);
			check_uplinks(p);
		}
	}

	g = cfgp_list(&p->cp, root, "", "egress", &s);
	/* One fwmark, table and rule each of DESIRED_MAX_POLICIES. */
	if (g == CFGP_OK &&
	    (n = config_setting_length(s)) > DESIRED_MAX_POLICIES) {
		cfgp_err(&p->cp, cfgp_line(s), "egress", "%d policies; at most "
			 "%d allowed", n, DESIRED_MAX_POLICIES);
	} else if (g == CFGP_OK && n > 0) {
		c->policies = calloc((size_t)n, sizeof(*c->policies));
		p->prefix_lines = calloc((size_t)n, sizeof(*p->prefix_lines));
		p->policy_name_line = calloc((size_t)n,
					     sizeof(*p->policy_name_line));
		if (!c->policies || !p->prefix_lines ||
		    !p->policy_name_line) {
			p->cp.oom = true;
			return;
		}
		c->n_policies = (size_t)n;
		for (i = 0; i < c->n_policies; i++)
			parse_policy(p, config_setting_get_elem(
					     s, (unsigned int)i), i);
	}
	check_prefixes(p);
	check_nat(p);
	check_ipv6_tunnels(p);
	check_probe_sources(p);
	check_probe_families(p);

	/* Fail closed: a file cut short, emptied or commented out must not
	 * take every tunnel down; a config without tunnels says so. */
	cfgp_bool(&p->cp, root, "", "allow_empty", &c->allow_empty);
	if (config_setting_length(root) == 0)
		cfgp_err(&p->cp, 0, NULL, "no settings (the file is empty or "
			 "holds only comments)");
	else if (no_tunnels && !c->allow_empty)
		cfgp_err(&p->cp, tunnels ? cfgp_line(tunnels) : 0, "tunnels",
			 "no tunnel; a config without tunnels is refused unless "
			 "it says allow_empty = true;");
}

/* Report settings that came from an @include: they would escape the
 * secrets check and the line numbers would name the wrong file. */
static bool
find_include(struct parse *p, const config_setting_t *s)
{
	int i, n;

	if (config_setting_source_file(s)) {
		cfgp_err(&p->cp, 0, NULL, "@include is not supported (\"%s\")",
			config_setting_source_file(s));
		return true;
	}
	if (!config_setting_is_aggregate(s))
		return false;
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		if (find_include(p, config_setting_get_elem(s, i)))
			return true;
	return false;
}

static struct config *
config_new(const char *path)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return NULL;
	}
	c->mss_clamp = true;
	c->probe = (struct config_probe)CONFIG_PROBE_DEFAULTS;
	c->unauthorized = UNAUTH_ISP;
	c->log_level = LOG_LVL_INFO;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 CONFIG_DEFAULT_SOCKET);
	return c;
}

/* Hand the messages, in file order, to @errs (which may be NULL). */
static void
flush_errors(struct cfgp *cp, struct config_errors *errs)
{
	cfgp_flush(cp, errs ? &errs->msgs : NULL, errs ? &errs->n : NULL);
}

/*
 * The shared parser.  @st is the file's fstat() for the secrets check, or
 * NULL for strings.
 */
static struct config *
config_parse(const char *text, size_t len, const char *name,
	     const struct stat *st, struct config_errors *errs)
{
	struct parse p = { .cp = { .file = name } };
	config_t cf;

	config_init(&cf);
	p.conf = config_new(name);
	if (!p.conf) {
		p.cp.oom = true;
		goto out;
	}
	if (!cfgp_parse(&p.cp, &cf, text, len, secret_keys))
		goto out;
	if (find_include(&p, config_root_setting(&cf)))
		goto out;
	parse_root(&p, config_root_setting(&cf));

	if (st && p.secrets)
		cfgp_check_secrets(&p.cp, st, "ike.psk");
out:
	ike_check_end();
	cfgp_destroy(&cf);		/* ike.psk is "" there; wipes the rest */
	free(p.taux);
	if (p.prefix_lines) {
		for (size_t i = 0; i < p.conf->n_policies; i++)
			free(p.prefix_lines[i]);
		free(p.prefix_lines);
	}
	free(p.policy_name_line);
	if (cfgp_failed(&p.cp)) {
		config_free(p.conf);
		flush_errors(&p.cp, errs);
		return NULL;
	}
	cfgp_flush_warnings(&p.cp, &p.conf->warnings, &p.conf->n_warnings);
	if (p.cp.oom) {			/* no room for the warnings */
		config_free(p.conf);
		flush_errors(&p.cp, errs);
		return NULL;
	}
	flush_errors(&p.cp, NULL);
	return p.conf;
}

struct config *
config_load_string(const char *text, const char *name,
		   struct config_errors *errs)
{
	struct cfgp cp = { .file = name ? name : "<string>" };

	if (!text) {
		cfgp_err(&cp, 0, NULL, "no text");
		flush_errors(&cp, errs);
		return NULL;
	}
	return config_parse(text, strlen(text), cp.file, NULL, errs);
}

struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct cfgp cp = { .file = path };
	struct config *c;
	struct stat st;
	size_t len;
	char *text = cfgp_read_file(&cp, path, &len, &st);

	if (!text) {
		flush_errors(&cp, errs);
		return NULL;
	}
	c = config_parse(text, len, path, &st, errs);
	cfgp_free_text(text, len);
	for (size_t i = 0; c && i < c->n_warnings; i++)
		log_warnx("config", "%s", c->warnings[i]);
	return c;
}

void
config_free(struct config *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_tunnels; i++) {
		struct config_ike *ike = &conf->tunnels[i].ike;

		free_secret(ike->psk);
		free(ike->psk_file);
		free(ike->local_id);
		free(ike->remote_id);
		free(ike->ike_proposals);
		free(ike->esp_proposals);
	}
	for (size_t i = 0; i < conf->n_warnings; i++)
		free(conf->warnings[i]);
	free(conf->warnings);
	for (size_t i = 0; i < conf->n_policies; i++) {
		free(conf->policies[i].prefixes);
		free(conf->policies[i].tunnels);
		free(conf->policies[i].nat.from);
		free(conf->policies[i].nat.from_lines);
	}
	free(conf->tunnels);
	free(conf->policies);
	free(conf->path);
	free(conf);
}

int
config_check_replace(const struct config *running, const struct config *next,
		     struct config_errors *errs)
{
	struct cfgp cp = { .file = next->path };

	if (running == NULL || next->allow_empty)
		return 0;
	if (running->n_tunnels && !next->n_tunnels)
		cfgp_err(&cp, 0, "tunnels", "no tunnel, and the running config "
			 "has %zu; a reload that removes every tunnel is refused "
			 "unless the file says allow_empty = true;",
			 running->n_tunnels);
	if (running->n_policies && !next->n_policies)
		cfgp_err(&cp, 0, "egress", "no egress policy, and the running "
			 "config has %zu; a reload that removes every policy is "
			 "refused unless the file says allow_empty = true; (is "
			 "the file cut short?)", running->n_policies);
	if (!cfgp_failed(&cp))
		return 0;
	flush_errors(&cp, errs);
	return -ECANCELED;
}

int
config_tunnel_index(const struct config *conf, const char *name)
{
	for (size_t i = 0; i < conf->n_tunnels; i++)
		if (conf->tunnels[i].name[0] &&
		    strcmp(conf->tunnels[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* --- printing ---------------------------------------------------------- */

static void
print_kv(FILE *out, const char *indent, const char *key, const char *val)
{
	fprintf(out, "%s%s = ", indent, key);
	cfgp_print_str(out, val);
	fputs(";\n", out);
}

/*
 * A probe group.  family only where it is not the default or the global
 * group's is not (@family_set): a config that never says it prints as it
 * always did, and a tunnel's "ipv4" under a global "both" is kept.
 */
static void
print_probe(FILE *out, const char *ind, const struct config_probe *pr,
	    bool family_set)
{
	char b[INET_ADDRSTRLEN];

	fprintf(out, "%sprobe = {\n%s\tinterval_ms = %u;\n%s\ttimeout_ms = %u;\n"
		"%s\tdown_after = %u;\n%s\tup_after = %u;\n%s\tholddown_ms = %u;\n"
		"%s\tdegraded_loss_pct = %u;\n%s\tdegraded_rtt_ms = %u;\n"
		"%s\tpassive_timeout_ms = %u;\n",
		ind, ind, pr->interval_ms, ind, pr->timeout_ms, ind,
		pr->down_after, ind, pr->up_after, ind, pr->holddown_ms, ind,
		pr->degraded_loss_pct, ind, pr->degraded_rtt_ms, ind,
		pr->passive_timeout_ms);
	if (family_set || pr->family != PROBE_FAMILY_IPV4)
		fprintf(out, "%s\tfamily = \"%s\";\n", ind,
			config_probe_family_name(pr->family));
	if (pr->has_target)
		fprintf(out, "%s\ttarget = \"%s\";\n", ind, fmt_addr(pr->target, b));
	if (pr->has_source)
		fprintf(out, "%s\tsource = \"%s\";\n", ind, fmt_addr(pr->source, b));
	if (pr->has_passive_target)
		fprintf(out, "%s\tpassive_target = \"%s\";\n", ind,
			fmt_addr(pr->passive_target, b));
	fprintf(out, "%s};\n", ind);
}

/* An identity, with what libstrongswan read it as. */
static void
print_id(FILE *out, const char *key, const char *id, const char *type)
{
	if (!id)
		return;
	fprintf(out, "\t\t\t%s = ", key);
	cfgp_print_str(out, id);
	fprintf(out, ";%s%s\n", type ? "\t# " : "", type ? type : "");
}

/* A psk that came from psk_file is printed as that file: the file, not
 * the printout, is where it lives, even with CONFIG_PRINT_SECRETS. */
static void
print_ike(FILE *out, const struct config_ike *ike,
	  enum config_print_secrets secrets)
{
	fputs("\t\tike = {\n", out);
	if (ike->psk_file)
		print_kv(out, "\t\t\t", "psk_file", ike->psk_file);
	else if (ike->psk && secrets == CONFIG_PRINT_SECRETS)
		print_kv(out, "\t\t\t", "psk", ike->psk);
	else if (ike->psk)
		fputs("\t\t\tpsk = <redacted>;\n", out);
	print_id(out, "local_id", ike->local_id, ike->local_id_type);
	print_id(out, "remote_id", ike->remote_id, ike->remote_id_type);
	if (ike->ike_proposals)
		print_kv(out, "\t\t\t", "ike_proposals", ike->ike_proposals);
	if (ike->esp_proposals)
		print_kv(out, "\t\t\t", "esp_proposals", ike->esp_proposals);
	fprintf(out, "\t\t\tike_lifetime_s = %u;\n\t\t\tchild_lifetime_s = %u;\n"
		"\t\t\treplay_window = %u;\n\t\t\tdpd_s = %u;\n\t\t};\n",
		ike->ike_lifetime_s, ike->child_lifetime_s, ike->replay_window,
		ike->dpd_s);
}

void
config_print(const struct config *conf, FILE *out,
	     enum config_print_secrets secrets)
{
	char b[TS_PREFIX_STRLEN];
	size_t i, j;

	fprintf(out, "# %s, normalised; every default is explicit.\n",
		conf->path ? conf->path : "tunsteerd.conf");
	print_kv(out, "", "log_level",
		 log_level_name((enum log_level)conf->log_level));
	fprintf(out, "mss_clamp = %s;\n", conf->mss_clamp ? "true" : "false");
	print_kv(out, "", "unauthorized",
		 conf->unauthorized == UNAUTH_DROP ? "drop" : "isp");
	/* Only where IPv6 is steered or it differs: an IPv4-only config
	 * prints as it always did. */
	if (conf->unauthorized6 != conf->unauthorized || steers_ipv6(conf))
		print_kv(out, "", "unauthorized6",
			 conf->unauthorized6 == UNAUTH_DROP ? "drop" : "isp");
	fputs("control = {\n", out);
	print_kv(out, "\t", "socket", conf->control_socket);
	fputs("};\n", out);
	print_probe(out, "", &conf->probe, false);
	if (conf->metrics.set) {
		char listen[INET6_ADDRSTRLEN + 16];

		snprintf(listen, sizeof(listen), strchr(conf->metrics.host, ':') ?
			 "[%s]:%u" : "%s:%u", conf->metrics.host,
			 conf->metrics.port);
		fputs("metrics = {\n", out);
		print_kv(out, "\t", "listen", listen);
		fputs("};\n", out);
	} else {
		fputs("# metrics: off (no metrics group)\n", out);
	}
	fprintf(out, "allow_empty = %s;\n", conf->allow_empty ? "true" : "false");

	fputs("tunnels = (", out);
	for (i = 0; i < conf->n_tunnels; i++) {
		const struct config_tunnel *t = &conf->tunnels[i];

		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		print_kv(out, "\t\t", "name", t->name);
		print_kv(out, "\t\t", "type",
			 t->type == TUNNEL_IPSEC ? "ipsec" : "gre");
		print_kv(out, "\t\t", "local", fmt_addr(t->local, b));
		print_kv(out, "\t\t", "remote", fmt_addr(t->remote, b));
		print_kv(out, "\t\t", "address",
			 ts_prefix_format(&t->address, b, sizeof(b)));
		print_kv(out, "\t\t", "peer", fmt_addr(t->peer, b));
		if (t->has_address6) {
			char p6[INET6_ADDRSTRLEN];

			print_kv(out, "\t\t", "address6",
				 ts_prefix_format(&t->address6, b, sizeof(b)));
			fprintf(out, "\t\t# the provider's side: %s\n",
				inet_ntop(AF_INET6, &t->peer6, p6, sizeof(p6)));
		}
		fprintf(out, "\t\tmtu = %u;\n", t->mtu);
		fprintf(out, "\t\tttl = %u;\n", t->ttl);
		if (t->mss && t->has_address6)
			fprintf(out, "\t\t# TCP MSS clamped to %u (IPv6: %u)\n",
				t->mss, t->mss6);
		else if (t->mss)
			fprintf(out, "\t\t# TCP MSS clamped to %u\n", t->mss);
		else
			fputs("\t\t# TCP MSS not clamped\n", out);
		if (t->underlay.set) {
			fputs("\t\tunderlay = {\n", out);
			print_kv(out, "\t\t\t", "interface",
				 t->underlay.interface);
			if (t->underlay.has_gateway)
				print_kv(out, "\t\t\t", "gateway",
					 fmt_addr(t->underlay.gateway, b));
			fputs("\t\t};\n", out);
		}
		print_probe(out, "\t\t", &t->probe,
			    conf->probe.family != PROBE_FAMILY_IPV4);
		if (t->ike.set)
			print_ike(out, &t->ike, secrets);
		fputs("\t}", out);
	}
	fputs(conf->n_tunnels ? "\n);\n" : ");\n", out);

	fputs("egress = (", out);
	for (i = 0; i < conf->n_policies; i++) {
		const struct config_policy *pol = &conf->policies[i];

		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		print_kv(out, "\t\t", "name", pol->name);
		fputs("\t\tprefixes = [", out);
		for (j = 0; j < pol->n_prefixes; j++) {
			fputs(j ? ", " : " ", out);
			cfgp_print_str(out, ts_prefix_format(&pol->prefixes[j],
							     b, sizeof(b)));
		}
		fputs(" ];\n", out);
		print_kv(out, "\t\t", "all_down", pol->all_down_isp ? "isp" : "keep");
		if (pol->nat.set) {
			fputs("\t\tnat = {\n\t\t\tfrom = [", out);
			for (j = 0; j < pol->nat.n_from; j++) {
				fputs(j ? ", " : " ", out);
				cfgp_print_str(out, ts_prefix_format(&pol->nat.from[j],
								b, sizeof(b)));
			}
			fputs(" ];\n", out);
			print_kv(out, "\t\t\t", "to",
				 ts_prefix_format(&pol->nat.to, b, sizeof(b)));
			fputs("\t\t};\n", out);
		}
		fputs("\t\ttunnels = (\n", out);
		for (j = 0; j < pol->n_tunnels; j++) {
			const struct config_policy_tunnel *pt =
				&pol->tunnels[j];

			fputs("\t\t\t{ tunnel = ", out);
			cfgp_print_str(out, conf->tunnels[pt->tunnel].name);
			/* libconfig 1.5 needs the L past 32 bits. */
			fprintf(out, "; priority = %" PRIu32 "%s; weight = %u; "
				"}%s\n", pt->priority,
				pt->priority > INT32_MAX ? "L" : "",
				pt->weight, j + 1 < pol->n_tunnels ? "," : "");
		}
		fputs("\t\t);\n\t}", out);
	}
	fputs(conf->n_policies ? "\n);\n" : ");\n", out);
}
