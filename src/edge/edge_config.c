/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge.conf: libconfig text → a validated struct edge_config.
 * Nothing here has side effects besides reading the file; a config with
 * any error is freed whole (see edge_config.h, cfgparse.h).
 */
#include "autoconfig.h"

#include "edge/edge_config.h"
#include "edge/edge_ike.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cfgparse.h"
#include "lib/log.h"
#include "lib/secmem.h"

#define EDGE_DEFAULT_SOCKET TS_RUNDIR "/tunsteer-edge.sock"

static const char *const root_keys[] = {
	"name", "log_level", "control", "anycast", "ecmp_seed", "health_check",
	"relay", "customers", "firewall", NULL
};
static const char *const control_keys[] = { "socket", NULL };
static const char *const hc_root_keys[] = {
	"enabled", "type", "direction", "interval_ms", "timeout_ms", "retries",
	"min_state_ms", "public_address", NULL
};
static const char *const hc_tunnel_keys[] = {
	"enabled", "type", "direction", "interval_ms", "timeout_ms", "retries",
	"min_state_ms", "target", NULL
};
static const char *const relay_keys[] = { "address", "port", "peers",
	"sa_key", "sa_port", "sa_delay_ms", NULL };
static const char *const customer_keys[] = {
	"name", "account_id", "authorized", "tunnels", "routes", NULL
};
static const char *const tunnel_keys[] = {
	"name", "type", "cloudflare_gre_endpoint", "customer_gre_endpoint",
	"cloudflare_endpoint", "customer_endpoint", "tunnel_id", "psk",
	"replay_protection", "allow_null_cipher",
	"interface_address", "interface_address_side", "interface_address6",
	"mtu", "ttl",
	"health_check", NULL
};
/* Keys whose string values never reach libconfig (cfgp_parse()). */
static const char *const secret_keys[] = { "psk", "sa_key", NULL };
static const char *const route_keys[] = {
	"prefix", "tunnel", "nexthop", "priority", "weight", NULL
};
static const char *const fw_keys[] = {
	"name", "direction", "action", "protocol", "src", "dst", "sport",
	"dport", NULL
};

/* What validation remembers besides the config itself. */
struct tun_aux {
	bool named, addr_ok, ends_ok;
	int name_line, addr_line, cf_line, tid_line;
	int addr6_line;			/* interface_address6, 0: none or bad */
	char path[CFGP_FIELD_MAX];	/* customers[i].tunnels[j] */
};

struct parse {
	struct cfgp p;
	struct edge_config *c;
	struct tun_aux *taux;		/* per tunnel */
	int *auth_lines;		/* per customer: line of its list */
	int pubaddr_line;
	bool secrets;			/* some psk was given */
	bool sa_secret;			/* relay.sa_key was given */
};

static const char *
fmt_addr(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void *
grow(struct parse *x, void *v, size_t n, size_t size)
{
	void *nv = reallocarray(v, n ? n : 1, size);

	if (!nv)
		x->p.oom = true;
	return nv;
}

/* --- health checks -------------------------------------------------------- */

static void
parse_hc(struct parse *x, const config_setting_t *s, const char *owner,
	 struct edge_hc *hc, bool tunnel)
{
	static const struct {
		const char *key;
		long long min, max;
		size_t off;
	} ints[] = {
		{ "interval_ms", 50, 60000, offsetof(struct edge_hc, interval_ms) },
		{ "timeout_ms", 10, 499, offsetof(struct edge_hc, timeout_ms) },
		{ "retries", 0, 2, offsetof(struct edge_hc, retries) },
		{ "min_state_ms", 0, 3600000, offsetof(struct edge_hc, min_state_ms) },
	};
	struct cfgp *p = &x->p;
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	const char *str;
	long long v;
	int line;

	cfgp_fieldf(path, "%s%shealth_check", owner, *owner ? "." : "");
	cfgp_check_keys(p, s, path, tunnel ? hc_tunnel_keys : hc_root_keys);
	cfgp_bool(p, s, path, "enabled", &hc->enabled);
	if (cfgp_string(p, s, path, "type", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "type");
		if (strcmp(str, "reply") == 0)
			hc->type = EDGE_HC_REPLY;
		else if (strcmp(str, "request") == 0)
			hc->type = EDGE_HC_REQUEST;
		else
			cfgp_err(p, line, f, "\"%s\" is not \"reply\" or "
				 "\"request\"", str);
	}
	if (cfgp_string(p, s, path, "direction", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "direction");
		if (strcmp(str, "bidirectional") == 0)
			hc->direction = EDGE_HC_BIDIRECTIONAL;
		else if (strcmp(str, "unidirectional") == 0)
			hc->direction = EDGE_HC_UNIDIRECTIONAL;
		else
			cfgp_err(p, line, f, "\"%s\" is not \"bidirectional\" "
				 "or \"unidirectional\"", str);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (cfgp_int(p, s, path, ints[i].key, ints[i].min, ints[i].max,
			     &v, &line) == CFGP_OK)
			*(unsigned int *)((char *)hc + ints[i].off) = (unsigned int)v;
	if (tunnel && cfgp_string(p, s, path, "target", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "target");
		hc->has_target = cfgp_host(p, line, f, str, &hc->target);
	}
	if (!tunnel &&
	    cfgp_string(p, s, path, "public_address", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "public_address");
		x->c->has_public_address = cfgp_host(p, line, f, str,
						     &x->c->public_address);
		x->pubaddr_line = line;
	}
}

/* --- tunnels -------------------------------------------------------------- */

static bool
is_anycast(const struct edge_config *c, struct in_addr a)
{
	for (size_t i = 0; i < c->n_anycast; i++)
		if (c->anycast[i].s_addr == a.s_addr)
			return true;
	return false;
}

static void
parse_interface_address(struct parse *x, const config_setting_t *s,
			const char *path, struct edge_tunnel *t,
			struct tun_aux *a)
{
	struct cfgp *p = &x->p;
	char f[CFGP_FIELD_MAX];
	const char *str;
	struct in_addr other;
	int line;
	enum cfgp_got g;

	if (cfgp_string(p, s, path, "interface_address_side", &str, &line) ==
	    CFGP_OK) {
		cfgp_field(f, path, "interface_address_side");
		if (strcmp(str, "customer") == 0)
			t->given_is_customer = true;
		else if (strcmp(str, "provider") != 0)
			cfgp_err(p, line, f, "\"%s\" is not \"provider\" or "
				 "\"customer\"", str);
	}
	g = cfgp_string(p, s, path, "interface_address", &str, &line);
	cfgp_required(p, g, s, path, "interface_address");
	if (g != CFGP_OK)
		return;
	cfgp_field(f, path, "interface_address");
	if (ts_prefix_parse(str, false, &t->interface_address) != 0 ||
	    t->interface_address.family != AF_INET || !strchr(str, '/')) {
		cfgp_err(p, line, f, "\"%s\" is not an IPv4 address with /31 "
			 "or /30", str);
		return;
	}
	if (t->interface_address.len != 31 && t->interface_address.len != 30) {
		cfgp_err(p, line, f, "%s: the provider takes a /31 or a /30", str);
		return;
	}
	if (ts_prefix_peer(&t->interface_address, &other) != 0) {
		cfgp_err(p, line, f, "%s is the network or broadcast address "
			 "of its /30", str);
		return;
	}
	if (t->given_is_customer) {
		t->customer_addr = t->interface_address.v4;
		t->provider_addr = other;
	} else {
		t->provider_addr = t->interface_address.v4;
		t->customer_addr = other;
	}
	a->addr_ok = true;
	a->addr_line = line;
}

/*
 * interface_address6: an IPv6 address with /127 (PROVIDER.md §2), on the
 * side interface_address_side names, like interface_address; the other
 * host of the /127 is the other side's.  Both hosts of a /127 are usable
 * (RFC 6164), so the address given only says which is which.
 */
static void
parse_interface_address6(struct parse *x, const config_setting_t *s,
			 const char *path, struct edge_tunnel *t,
			 struct tun_aux *a)
{
	struct cfgp *p = &x->p;
	char f[CFGP_FIELD_MAX];
	const char *str, *why;
	struct in6_addr other;
	int line;

	if (cfgp_string(p, s, path, "interface_address6", &str, &line) !=
	    CFGP_OK)
		return;
	cfgp_field(f, path, "interface_address6");
	if (ts_prefix_parse(str, false, &t->interface_address6) != 0 ||
	    t->interface_address6.family != AF_INET6 || !strchr(str, '/')) {
		cfgp_err(p, line, f, "\"%s\" is not an IPv6 address with /127",
			 str);
		return;
	}
	if (t->interface_address6.len != 127) {
		cfgp_err(p, line, f, "%s: the provider takes a /127", str);
		return;
	}
	if ((why = ts_prefix_peer6(&t->interface_address6, &other)) != NULL) {
		cfgp_err(p, line, f, "%s is a %s address", str, why);
		return;
	}
	if (t->given_is_customer) {
		t->customer_addr6 = t->interface_address6.v6;
		t->provider_addr6 = other;
	} else {
		t->provider_addr6 = t->interface_address6.v6;
		t->customer_addr6 = other;
	}
	t->has_address6 = true;
	a->addr6_line = line;
}

static const char *const ipsec_only_keys[] = {
	"cloudflare_endpoint", "customer_endpoint", "tunnel_id", "psk",
	"replay_protection", "allow_null_cipher", NULL
};

/* Report each of @keys present in @s as "@why" (a GRE tunnel's psk is
 * still taken out of the table, so it is wiped at once). */
static void
refuse_keys(struct parse *x, const config_setting_t *s, const char *path,
	    const char *const *keys, const char *why)
{
	char f[CFGP_FIELD_MAX];

	for (size_t i = 0; keys[i]; i++) {
		const config_setting_t *m = config_setting_get_member(s, keys[i]);
		char *psk;
		int line;

		if (!m)
			continue;
		if (strcmp(keys[i], "psk") == 0 &&
		    cfgp_secret(&x->p, s, path, "psk", &psk, &line) == CFGP_OK)
			secmem_free_str(psk);
		cfgp_field(f, path, keys[i]);
		cfgp_err(&x->p, cfgp_line(m), f, "%s", why);
	}
}

/* The provider's account and tunnel IDs: 32 hex digits; we take 1..32
 * lower-case ones (the lab's are short). */
static bool
id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < EDGE_ID_MAX &&
		strspn(s, "0123456789abcdef") == n;
}

static void
parse_ipsec(struct parse *x, const config_setting_t *s, const char *path,
	    struct edge_tunnel *t, struct tun_aux *a)
{
	struct cfgp *p = &x->p;
	char f[CFGP_FIELD_MAX];
	const char *str;
	char *psk;
	int line;
	enum cfgp_got g;

	g = cfgp_string(p, s, path, "tunnel_id", &str, &line);
	cfgp_required(p, g, s, path, "tunnel_id");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "tunnel_id");
		if (id_ok(str)) {
			strcpy(t->ipsec.tunnel_id, str);
			a->tid_line = line;
		} else {
			cfgp_err(p, line, f, "\"%s\" is not a tunnel ID (1..%d "
				 "hex digits, lower case)", str, EDGE_ID_MAX - 1);
		}
	}
	g = cfgp_secret(p, s, path, "psk", &psk, &line);
	cfgp_required(p, g, s, path, "psk");
	if (g == CFGP_OK) {
		x->secrets = true;
		if (*psk == '\0') {
			cfgp_field(f, path, "psk");
			cfgp_err(p, line, f, "must not be empty");
			secmem_free_str(psk);
		} else {
			t->ipsec.psk = psk;
		}
	}
	cfgp_bool(p, s, path, "replay_protection", &t->ipsec.replay_protection);
	cfgp_bool(p, s, path, "allow_null_cipher", &t->ipsec.allow_null_cipher);
}

static void
parse_tunnel(struct parse *x, const config_setting_t *s, const char *path,
	     size_t customer)
{
	struct cfgp *p = &x->p;
	struct edge_config *c = x->c;
	struct edge_tunnel *t;
	struct tun_aux *a;
	char f[CFGP_FIELD_MAX], b[INET_ADDRSTRLEN];
	config_setting_t *g_s;
	const char *str;
	long long v;
	int line;
	enum cfgp_got g;
	bool cf_ok = false, cu_ok = false;
	const char *cf_key, *cu_key;

	if (!config_setting_is_group(s)) {
		cfgp_type_err(p, s, path, "a group { ... }");
		return;
	}
	if (c->n_tunnels == EDGE_MAX_TUNNELS) {
		cfgp_err(p, cfgp_line(s), path, "more than %d tunnels",
			 EDGE_MAX_TUNNELS);
		return;
	}
	if (!(c->tunnels = grow(x, c->tunnels, c->n_tunnels + 1, sizeof(*t))) ||
	    !(x->taux = grow(x, x->taux, c->n_tunnels + 1, sizeof(*a))))
		return;
	t = &c->tunnels[c->n_tunnels];
	a = &x->taux[c->n_tunnels];
	c->n_tunnels++;
	memset(t, 0, sizeof(*t));
	memset(a, 0, sizeof(*a));
	t->customer = customer;
	t->line = cfgp_line(s);
	snprintf(a->path, sizeof(a->path), "%s", path);
	t->mtu = EDGE_GRE_MTU;
	t->ttl = EDGE_TTL;
	cfgp_check_keys(p, s, path, tunnel_keys);

	g = cfgp_string(p, s, path, "name", &str, &line);
	cfgp_required(p, g, s, path, "name");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "name");
		if (cfgp_name_ok(str, IFNAMSIZ - 1)) {
			strcpy(t->name, str);
			a->named = true;
			a->name_line = line;
		} else {
			cfgp_err(p, line, f, "\"%s\" is not a valid interface "
				 "name (1..%d characters of A-Z a-z 0-9 _ . -)",
				 str, IFNAMSIZ - 1);
		}
	}
	if (cfgp_string(p, s, path, "type", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "type");
		if (strcmp(str, "ipsec") == 0)
			t->type = EDGE_TUNNEL_IPSEC;
		else if (strcmp(str, "gre") != 0)
			cfgp_err(p, line, f, "\"%s\" is not \"gre\" or \"ipsec\"",
				 str);
	}
	if (t->type == EDGE_TUNNEL_IPSEC) {
		t->mtu = EDGE_IPSEC_MTU;
		parse_ipsec(x, s, path, t, a);
	} else {
		refuse_keys(x, s, path, ipsec_only_keys, "ipsec tunnels only");
	}
	cf_key = t->type == EDGE_TUNNEL_GRE ? "cloudflare_gre_endpoint" :
		"cloudflare_endpoint";
	cu_key = t->type == EDGE_TUNNEL_GRE ? "customer_gre_endpoint" :
		"customer_endpoint";
	g = cfgp_string(p, s, path, cf_key, &str, &line);
	cfgp_required(p, g, s, path, cf_key);
	if (g == CFGP_OK) {
		cfgp_field(f, path, cf_key);
		cf_ok = cfgp_host(p, line, f, str, &t->cloudflare_endpoint);
		if (cf_ok && !is_anycast(c, t->cloudflare_endpoint)) {
			cfgp_err(p, line, f, "%s is not one of the anycast "
				 "addresses", str);
			cf_ok = false;
		}
		a->cf_line = line;
	}
	g = cfgp_string(p, s, path, cu_key, &str, &line);
	if (t->type == EDGE_TUNNEL_GRE)
		cfgp_required(p, g, s, path, cu_key);
	else if (g == CFGP_NONE)
		cu_ok = true;	/* optional: the IKE packets say where */
	if (g == CFGP_OK) {
		cfgp_field(f, path, cu_key);
		cu_ok = cfgp_host(p, line, f, str, &t->customer_endpoint);
		if (cu_ok && is_anycast(c, t->customer_endpoint)) {
			cfgp_err(p, line, f, "%s is an anycast address of the "
				 "provider", fmt_addr(t->customer_endpoint, b));
			cu_ok = false;
		}
		t->has_customer_endpoint = cu_ok;
	}
	a->ends_ok = cf_ok && cu_ok;
	parse_interface_address(x, s, path, t, a);
	parse_interface_address6(x, s, path, t, a);
	if (cfgp_int(p, s, path, "mtu", EDGE_MTU_MIN,
		     t->type == EDGE_TUNNEL_GRE ? EDGE_GRE_MTU : EDGE_IPSEC_MTU,
		     &v, &line) == CFGP_OK)
		t->mtu = (unsigned int)v;
	if (t->type == EDGE_TUNNEL_IPSEC) {
		static const char *const gre_only[] = {
			"cloudflare_gre_endpoint", "customer_gre_endpoint", "ttl",
			NULL
		};

		refuse_keys(x, s, path, gre_only, "GRE tunnels only");
	} else if (cfgp_int(p, s, path, "ttl", 1, 255, &v, &line) == CFGP_OK) {
		t->ttl = (unsigned int)v;
	}
	t->hc = c->hc;
	if (cfgp_group(p, s, path, "health_check", &g_s) == CFGP_OK)
		parse_hc(x, g_s, path, &t->hc, true);
}

/* --- routes ---------------------------------------------------------------- */

static int
tunnel_of_customer(const struct edge_config *c, size_t customer,
		   const char *name)
{
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (c->tunnels[i].customer == customer &&
		    strcmp(c->tunnels[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
parse_route(struct parse *x, const config_setting_t *s, const char *path,
	    size_t customer)
{
	struct cfgp *p = &x->p;
	struct edge_config *c = x->c;
	struct edge_route r = { .weight = 1, .line = cfgp_line(s) };
	char f[CFGP_FIELD_MAX];
	const char *str, *tname = NULL, *nh = NULL;
	long long v;
	int line, tline = 0, nline = 0, idx = -1;
	enum cfgp_got g;
	bool ok = true;

	if (!config_setting_is_group(s)) {
		cfgp_type_err(p, s, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(p, s, path, route_keys);
	g = cfgp_string(p, s, path, "prefix", &str, &line);
	cfgp_required(p, g, s, path, "prefix");
	cfgp_field(f, path, "prefix");
	ok = g == CFGP_OK &&
		cfgp_prefix_af(p, line, f, str, AF_UNSPEC, &r.prefix);

	/* The next hop: a tunnel by name, or (the provider's API) the
	 * customer side of a tunnel's interface address. */
	if (cfgp_string(p, s, path, "tunnel", &tname, &tline) != CFGP_OK)
		tname = NULL;
	if (cfgp_string(p, s, path, "nexthop", &nh, &nline) != CFGP_OK)
		nh = NULL;
	if (tname && nh) {
		cfgp_field(f, path, "nexthop");
		cfgp_err(p, nline, f, "give tunnel or nexthop, not both");
		ok = false;
	} else if (!tname && !nh) {
		cfgp_field(f, path, "tunnel");
		cfgp_err(p, r.line, f, "required (or nexthop)");
		ok = false;
	} else if (tname) {
		cfgp_field(f, path, "tunnel");
		idx = tunnel_of_customer(c, customer, tname);
		if (idx < 0) {
			cfgp_err(p, tline, f, "no tunnel \"%s\" in customer "
				 "\"%s\"", tname, c->customers[customer].name);
			ok = false;
		}
	} else if (strchr(nh, ':') != NULL) {
		struct in6_addr a6;

		/* IPv6: the customer side of an interface_address6. */
		cfgp_field(f, path, "nexthop");
		if (inet_pton(AF_INET6, nh, &a6) != 1) {
			cfgp_err(p, nline, f, "\"%s\" is not an IPv6 address", nh);
			ok = false;
		} else {
			for (size_t i = 0; i < c->n_tunnels && idx < 0; i++)
				if (c->tunnels[i].customer == customer &&
				    c->tunnels[i].has_address6 &&
				    memcmp(&c->tunnels[i].customer_addr6, &a6,
					   sizeof(a6)) == 0)
					idx = (int)i;
			if (idx < 0) {
				cfgp_err(p, nline, f, "%s is not the customer "
					 "side of an interface_address6 of "
					 "\"%s\"", nh,
					 c->customers[customer].name);
				ok = false;
			} else if (ok && r.prefix.family != AF_INET6) {
				cfgp_err(p, nline, f, "an IPv6 next hop for "
					 "an IPv4 prefix");
				ok = false;
			}
		}
	} else {
		struct in_addr a;

		cfgp_field(f, path, "nexthop");
		if (!cfgp_host(p, nline, f, nh, &a)) {
			ok = false;
		} else {
			for (size_t i = 0; i < c->n_tunnels && idx < 0; i++)
				if (c->tunnels[i].customer == customer &&
				    x->taux[i].addr_ok &&
				    c->tunnels[i].customer_addr.s_addr == a.s_addr)
					idx = (int)i;
			if (idx >= 0 && ok && r.prefix.family != AF_INET) {
				cfgp_err(p, nline, f, "an IPv4 next hop for "
					 "an IPv6 prefix");
				ok = false;
			}
			if (idx < 0) {
				cfgp_err(p, nline, f, "%s is not the customer "
					 "side of a tunnel of \"%s\"", nh,
					 c->customers[customer].name);
				ok = false;
			}
		}
	}
	g = cfgp_int(p, s, path, "priority", 0, UINT32_MAX, &v, &line);
	cfgp_required(p, g, s, path, "priority");
	if (g == CFGP_OK)
		r.priority = (uint32_t)v;
	else
		ok = false;
	if (cfgp_int(p, s, path, "weight", 1, EDGE_WEIGHT_MAX, &v, &line) ==
	    CFGP_OK)
		r.weight = (unsigned int)v;
	/* IPv6 goes into a tunnel only with an address on its side. */
	if (ok && r.prefix.family == AF_INET6 &&
	    !c->tunnels[idx].has_address6) {
		cfgp_field(f, path, "prefix");
		cfgp_err(p, r.line, f, "an IPv6 prefix through tunnel \"%s\" "
			 "(line %d), which has no interface_address6",
			 c->tunnels[idx].name, c->tunnels[idx].line);
		ok = false;
	}
	if (!ok)
		return;
	r.tunnel = (size_t)idx;
	size_t same = 0;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct edge_route *o = &c->routes[i];

		if (!ts_prefix_equal(&o->prefix, &r.prefix))
			continue;
		if (o->tunnel == r.tunnel) {
			cfgp_field(f, path, "prefix");
			cfgp_err(p, r.line, f, "a route for this prefix through "
				 "\"%s\" is already defined at line %d",
				 c->tunnels[r.tunnel].name, o->line);
			return;
		}
		same += o->priority == r.priority;
	}
	if (same >= EDGE_ECMP_MAX) {
		cfgp_field(f, path, "priority");
		cfgp_err(p, r.line, f, "more than %d routes share priority %"
			 PRIu32 "; the provider installs at most %d equal-cost "
			 "paths", EDGE_ECMP_MAX, r.priority, EDGE_ECMP_MAX);
		return;
	}
	if (c->n_routes == EDGE_MAX_ROUTES) {
		cfgp_err(p, r.line, path, "more than %d routes", EDGE_MAX_ROUTES);
		return;
	}
	if (!(c->routes = grow(x, c->routes, c->n_routes + 1, sizeof(r))))
		return;
	c->routes[c->n_routes++] = r;
}

/* --- customers ------------------------------------------------------------ */

static int
prefix_cmp_v(const void *a, const void *b)
{
	return ts_prefix_cmp(a, b);
}

static void
parse_authorized(struct parse *x, const config_setting_t *s, const char *path,
		 struct edge_customer *cu, size_t ci)
{
	struct cfgp *p = &x->p;
	char f[CFGP_FIELD_MAX], f2[CFGP_FIELD_MAX];
	char b1[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];
	config_setting_t *l;
	enum cfgp_got g = cfgp_strings(p, s, path, "authorized", &l);
	int n;

	cfgp_required(p, g, s, path, "authorized");
	if (g != CFGP_OK)
		return;
	cfgp_field(f, path, "authorized");
	x->auth_lines[ci] = cfgp_line(l);
	n = config_setting_length(l);
	if (n > EDGE_MAX_PREFIXES) {
		cfgp_err(p, cfgp_line(l), f, "%d prefixes; at most %d", n,
			 EDGE_MAX_PREFIXES);
		return;
	}
	if (n == 0)
		return;		/* nobody may send through the provider */
	if (!(cu->authorized = calloc((size_t)n, sizeof(*cu->authorized)))) {
		p->oom = true;
		return;
	}
	for (int k = 0; k < n; k++) {
		const char *str;

		cfgp_fieldf(f2, "%s[%d]", f, k);
		if ((str = cfgp_elem_string(p, l, k, f2)) != NULL &&
		    cfgp_prefix_af(p, cfgp_line(l), f2, str, AF_UNSPEC,
				   &cu->authorized[cu->n_authorized]))
			cu->n_authorized++;
	}
	/* Sorted, an overlap is always between neighbours or with the
	 * widest prefix seen so far. */
	qsort(cu->authorized, cu->n_authorized, sizeof(*cu->authorized),
	      prefix_cmp_v);
	for (size_t i = 1, w = 0; i < cu->n_authorized; i++) {
		if (ts_prefix_overlaps(&cu->authorized[w], &cu->authorized[i]))
			cfgp_err(p, cfgp_line(l), f, "%s overlaps %s",
				 ts_prefix_format(&cu->authorized[i], b1, sizeof(b1)),
				 ts_prefix_format(&cu->authorized[w], b2, sizeof(b2)));
		else
			w = i;
	}
}

static void
parse_customer(struct parse *x, const config_setting_t *s, size_t ci)
{
	struct cfgp *p = &x->p;
	struct edge_config *c = x->c;
	struct edge_customer *cu = &c->customers[ci];
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX], f2[CFGP_FIELD_MAX];
	config_setting_t *l;
	const char *str;
	int line, n;
	enum cfgp_got g;

	cfgp_fieldf(path, "customers[%zu]", ci);
	cu->line = cfgp_line(s);
	if (!config_setting_is_group(s)) {
		cfgp_type_err(p, s, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(p, s, path, customer_keys);
	g = cfgp_string(p, s, path, "name", &str, &line);
	cfgp_required(p, g, s, path, "name");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "name");
		if (!cfgp_name_ok(str, EDGE_NAME_MAX - 1))
			cfgp_err(p, line, f, "\"%s\" is not a valid name (1..%d "
				 "characters of A-Z a-z 0-9 _ . -)", str,
				 EDGE_NAME_MAX - 1);
		else
			strcpy(cu->name, str);
		for (size_t j = 0; j < ci && cu->name[0]; j++)
			if (strcmp(c->customers[j].name, cu->name) == 0)
				cfgp_err(p, line, f, "\"%s\" is already defined "
					 "at line %d", str, c->customers[j].line);
	}
	if (cfgp_string(p, s, path, "account_id", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "account_id");
		if (id_ok(str))
			strcpy(cu->account_id, str);
		else
			cfgp_err(p, line, f, "\"%s\" is not an account ID (1..%d "
				 "hex digits, lower case)", str, EDGE_ID_MAX - 1);
	}
	parse_authorized(x, s, path, cu, ci);

	g = cfgp_list(p, s, path, "tunnels", &l);
	cfgp_required(p, g, s, path, "tunnels");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "tunnels");
		n = config_setting_length(l);
		if (n == 0)
			cfgp_err(p, cfgp_line(l), f, "must not be empty");
		for (int k = 0; k < n; k++) {
			cfgp_fieldf(f2, "%s[%d]", f, k);
			parse_tunnel(x, config_setting_get_elem(l, (unsigned int)k),
				     f2, ci);
		}
	}
	/* The customer's IKE identities are made of its account ID. */
	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];

		if (t->customer != ci || t->type != EDGE_TUNNEL_IPSEC ||
		    config_setting_get_member(s, "account_id"))
			continue;
		cfgp_field(f, path, "account_id");
		cfgp_err(p, cu->line, f, "required with ipsec tunnels (tunnel "
			 "\"%s\", line %d): the customer's IKE identities are "
			 "made of it", t->name, t->line);
		break;
	}
	g = cfgp_list(p, s, path, "routes", &l);
	if (g == CFGP_OK) {
		cfgp_field(f, path, "routes");
		n = config_setting_length(l);
		for (int k = 0; k < n; k++) {
			cfgp_fieldf(f2, "%s[%d]", f, k);
			parse_route(x, config_setting_get_elem(l, (unsigned int)k),
				    f2, ci);
		}
	}
}

/* Across all customers: names, endpoints and inner addresses unique. */
static void
check_tunnels(struct parse *x)
{
	struct edge_config *c = x->c;
	char f[CFGP_FIELD_MAX], b1[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];

	for (size_t i = 0; i < c->n_tunnels; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];
		const struct tun_aux *a = &x->taux[i];

		for (size_t j = 0; j < i; j++) {
			const struct edge_tunnel *u = &c->tunnels[j];
			const struct tun_aux *b = &x->taux[j];

			cfgp_fieldf(f, "%s.name", a->path);
			if (a->named && b->named && strcmp(t->name, u->name) == 0)
				cfgp_err(&x->p, a->name_line, f, "\"%s\" is "
					 "already used at line %d", t->name,
					 b->name_line);
			cfgp_fieldf(f, "%s.interface_address", a->path);
			if (a->addr_ok && b->addr_ok &&
			    ts_prefix_overlaps(&t->interface_address,
					       &u->interface_address))
				cfgp_err(&x->p, a->addr_line, f,
					 "%s overlaps %s of tunnel \"%s\" (line %d)",
					 ts_prefix_format(&t->interface_address,
							  b1, sizeof(b1)),
					 ts_prefix_format(&u->interface_address,
							  b2, sizeof(b2)),
					 u->name, b->addr_line);
			cfgp_fieldf(f, "%s.interface_address6", a->path);
			if (a->addr6_line && b->addr6_line &&
			    ts_prefix_overlaps(&t->interface_address6,
					       &u->interface_address6))
				cfgp_err(&x->p, a->addr6_line, f,
					 "%s overlaps %s of tunnel \"%s\" (line %d)",
					 ts_prefix_format(&t->interface_address6,
							  b1, sizeof(b1)),
					 ts_prefix_format(&u->interface_address6,
							  b2, sizeof(b2)),
					 u->name, b->addr6_line);
			cfgp_fieldf(f, "%s.cloudflare_gre_endpoint", a->path);
			if (t->type == EDGE_TUNNEL_GRE &&
			    u->type == EDGE_TUNNEL_GRE &&
			    a->ends_ok && b->ends_ok &&
			    t->cloudflare_endpoint.s_addr ==
			    u->cloudflare_endpoint.s_addr &&
			    t->customer_endpoint.s_addr == u->customer_endpoint.s_addr)
				cfgp_err(&x->p, a->cf_line, f, "tunnel \"%s\" (line "
					 "%d) has the same endpoints; GRE cannot "
					 "tell the two apart", u->name, u->line);
			if (t->type != EDGE_TUNNEL_IPSEC ||
			    u->type != EDGE_TUNNEL_IPSEC)
				continue;
			cfgp_fieldf(f, "%s.tunnel_id", a->path);
			if (a->tid_line && b->tid_line &&
			    strcmp(t->ipsec.tunnel_id, u->ipsec.tunnel_id) == 0 &&
			    strcmp(c->customers[t->customer].account_id,
				   c->customers[u->customer].account_id) == 0)
				cfgp_err(&x->p, a->tid_line, f, "\"%s\" of account "
					 "\"%s\" is already tunnel \"%s\" (line "
					 "%d); the customer's IKE identities "
					 "would be the same", t->ipsec.tunnel_id,
					 c->customers[t->customer].account_id,
					 u->name, b->tid_line);
		}
		if (t->type == EDGE_TUNNEL_IPSEC && t->has_customer_endpoint) {
			bool unique = true;

			for (size_t j = 0; j < c->n_tunnels; j++) {
				const struct edge_tunnel *u = &c->tunnels[j];

				if (j != i && u->type == EDGE_TUNNEL_IPSEC &&
				    u->has_customer_endpoint &&
				    u->customer_endpoint.s_addr ==
				    t->customer_endpoint.s_addr &&
				    u->cloudflare_endpoint.s_addr ==
				    t->cloudflare_endpoint.s_addr)
					unique = false;
			}
			c->tunnels[i].ipsec.id_ipv4_ok = unique;
		}
		if (t->hc.enabled && t->hc.direction == EDGE_HC_UNIDIRECTIONAL &&
		    !t->hc.has_target && t->type == EDGE_TUNNEL_IPSEC &&
		    !t->has_customer_endpoint && a->ends_ok) {
			cfgp_fieldf(f, "%s.health_check", a->path);
			cfgp_err(&x->p, t->line, f, "unidirectional checks of a "
				 "tunnel without customer_endpoint need "
				 "health_check.target");
		}
		if (t->hc.enabled && t->hc.direction == EDGE_HC_UNIDIRECTIONAL &&
		    !c->has_public_address && x->pubaddr_line == 0) {
			cfgp_fieldf(f, "%s.health_check", a->path);
			cfgp_err(&x->p, t->line, f, "unidirectional checks need "
				 "health_check.public_address (this server's "
				 "address the customer answers to)");
		}
	}
}

/* --- relay, firewall, root -------------------------------------------------- */

/* SA propagation (DESIGN.md "SA propagation"): on with a shared key. */
static void
parse_relay_sa(struct parse *x, const config_setting_t *s)
{
	struct cfgp *p = &x->p;
	struct edge_relay *r = &x->c->relay;
	char *key;
	long long v;
	int line, key_line = 0;
	enum cfgp_got g;

	r->sa_port = r->port < 65535 ? (uint16_t)(r->port + 1) : 0;
	r->sa_delay_ms = EDGE_SA_DELAY_MS_DEFAULT;
	g = cfgp_secret(p, s, "relay", "sa_key", &key, &key_line);
	if (g == CFGP_OK) {
		x->sa_secret = true;
		if (strlen(key) < EDGE_SA_KEY_MIN) {
			cfgp_err(p, key_line, "relay.sa_key", "%zu bytes; at "
				 "least %d", strlen(key), EDGE_SA_KEY_MIN);
			secmem_free_str(key);
		} else {
			r->sa_key = key;
			r->sa_line = key_line;
		}
	}
	if (cfgp_int(p, s, "relay", "sa_port", 1, 65535, &v, &line) ==
	    CFGP_OK) {
		r->sa_port = (uint16_t)v;
		if (r->sa_port == r->port)
			cfgp_err(p, line, "relay.sa_port", "%u is relay.port",
				 r->sa_port);
	} else if (r->sa_port == 0 && r->sa_key != NULL) {
		cfgp_err(p, key_line, "relay.sa_port", "relay.port is 65535: "
			 "set one");
	}
	if (cfgp_int(p, s, "relay", "sa_delay_ms", 0, EDGE_SA_DELAY_MS_MAX,
		     &v, &line) == CFGP_OK)
		r->sa_delay_ms = (uint32_t)v;
}

static void
parse_relay(struct parse *x, const config_setting_t *s)
{
	struct cfgp *p = &x->p;
	struct edge_relay *r = &x->c->relay;
	char f[CFGP_FIELD_MAX];
	config_setting_t *l;
	const char *str;
	long long v;
	int line, n;
	enum cfgp_got g;

	cfgp_check_keys(p, s, "relay", relay_keys);
	r->set = true;
	r->port = EDGE_RELAY_PORT;
	g = cfgp_string(p, s, "relay", "address", &str, &line);
	cfgp_required(p, g, s, "relay", "address");
	if (g == CFGP_OK)
		cfgp_host(p, line, "relay.address", str, &r->address);
	if (cfgp_int(p, s, "relay", "port", 1, 65535, &v, &line) == CFGP_OK)
		r->port = (uint16_t)v;
	parse_relay_sa(x, s);
	g = cfgp_strings(p, s, "relay", "peers", &l);
	cfgp_required(p, g, s, "relay", "peers");
	if (g != CFGP_OK)
		return;
	n = config_setting_length(l);
	if (n > EDGE_MAX_PEERS) {
		cfgp_err(p, cfgp_line(l), "relay.peers", "%d peers; at most %d",
			 n, EDGE_MAX_PEERS);
		return;
	}
	if (n == 0 || !(r->peers = calloc((size_t)n, sizeof(*r->peers)))) {
		p->oom = n != 0;
		return;
	}
	for (int k = 0; k < n; k++) {
		struct in_addr a;

		cfgp_fieldf(f, "relay.peers[%d]", k);
		if ((str = cfgp_elem_string(p, l, k, f)) == NULL ||
		    !cfgp_host(p, cfgp_line(l), f, str, &a))
			continue;
		if (a.s_addr == r->address.s_addr) {
			cfgp_err(p, cfgp_line(l), f, "%s is this server's own "
				 "relay.address", str);
			continue;
		}
		for (size_t j = 0; j < r->n_peers; j++)
			if (r->peers[j].s_addr == a.s_addr) {
				cfgp_err(p, cfgp_line(l), f, "%s is listed twice",
					 str);
				a.s_addr = 0;
			}
		if (a.s_addr)
			r->peers[r->n_peers++] = a;
	}
}

static void
parse_fw_rule(struct parse *x, const config_setting_t *s, size_t i)
{
	struct cfgp *p = &x->p;
	struct edge_fw_rule *r = &x->c->firewall[i];
	char path[CFGP_FIELD_MAX], f[CFGP_FIELD_MAX];
	const char *str;
	long long v;
	int line, pline = 0;
	enum cfgp_got g;

	cfgp_fieldf(path, "firewall[%zu]", i);
	r->line = cfgp_line(s);
	snprintf(r->name, sizeof(r->name), "rule%zu", i);
	if (!config_setting_is_group(s)) {
		cfgp_type_err(p, s, path, "a group { ... }");
		return;
	}
	cfgp_check_keys(p, s, path, fw_keys);
	if (cfgp_string(p, s, path, "name", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "name");
		if (!cfgp_name_ok(str, EDGE_NAME_MAX - 1))
			cfgp_err(p, line, f, "\"%s\" is not a valid name", str);
		else
			snprintf(r->name, sizeof(r->name), "%s", str);
		for (size_t j = 0; j < i; j++)
			if (strcmp(x->c->firewall[j].name, r->name) == 0)
				cfgp_err(p, line, f, "\"%s\" is already defined "
					 "at line %d", str, x->c->firewall[j].line);
	}
	g = cfgp_string(p, s, path, "direction", &str, &line);
	cfgp_required(p, g, s, path, "direction");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "direction");
		if (strcmp(str, "ingress") == 0)
			r->direction = EDGE_FW_INGRESS;
		else if (strcmp(str, "egress") == 0)
			r->direction = EDGE_FW_EGRESS;
		else
			cfgp_err(p, line, f, "\"%s\" is not \"ingress\" (toward "
				 "the customer) or \"egress\" (from it)", str);
	}
	g = cfgp_string(p, s, path, "action", &str, &line);
	cfgp_required(p, g, s, path, "action");
	if (g == CFGP_OK) {
		cfgp_field(f, path, "action");
		if (strcmp(str, "accept") == 0)
			r->accept = true;
		else if (strcmp(str, "drop") != 0)
			cfgp_err(p, line, f, "\"%s\" is not \"accept\" or "
				 "\"drop\"", str);
	}
	if (cfgp_string(p, s, path, "protocol", &str, &pline) == CFGP_OK) {
		cfgp_field(f, path, "protocol");
		if (strcmp(str, "tcp") == 0)
			r->protocol = IPPROTO_TCP;
		else if (strcmp(str, "udp") == 0)
			r->protocol = IPPROTO_UDP;
		else if (strcmp(str, "icmp") == 0)
			r->protocol = IPPROTO_ICMP;
		else if (strcmp(str, "any") != 0)
			cfgp_err(p, pline, f, "\"%s\" is not tcp, udp, icmp or "
				 "any", str);
	}
	if (cfgp_string(p, s, path, "src", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "src");
		r->has_src = cfgp_prefix(p, line, f, str, &r->src);
	}
	if (cfgp_string(p, s, path, "dst", &str, &line) == CFGP_OK) {
		cfgp_field(f, path, "dst");
		r->has_dst = cfgp_prefix(p, line, f, str, &r->dst);
	}
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "dport" : "sport";

		if (cfgp_int(p, s, path, key, 1, 65535, &v, &line) != CFGP_OK)
			continue;
		if (r->protocol != IPPROTO_TCP && r->protocol != IPPROTO_UDP) {
			cfgp_field(f, path, key);
			cfgp_err(p, line, f, "ports need protocol \"tcp\" or "
				 "\"udp\"");
			continue;
		}
		*(k ? &r->dport : &r->sport) = (uint16_t)v;
	}
}

static void
parse_root(struct parse *x, const config_setting_t *root)
{
	struct cfgp *p = &x->p;
	struct edge_config *c = x->c;
	config_setting_t *s;
	const char *str;
	long long v;
	int line, n;
	enum cfgp_got g;

	cfgp_check_keys(p, root, "", root_keys);
	if (cfgp_string(p, root, "", "name", &str, &line) == CFGP_OK) {
		if (cfgp_name_ok(str, EDGE_NAME_MAX - 1))
			strcpy(c->name, str);
		else
			cfgp_err(p, line, "name", "\"%s\" is not a valid name "
				 "(1..%d characters of A-Z a-z 0-9 _ . -)", str,
				 EDGE_NAME_MAX - 1);
	}
	if (cfgp_string(p, root, "", "log_level", &str, &line) == CFGP_OK) {
		enum log_level lvl;

		if (log_level_parse(str, &lvl) == 0)
			c->log_level = (int)lvl;
		else
			cfgp_err(p, line, "log_level", "\"%s\" is not one of "
				 LOG_LEVEL_NAMES, str);
	}
	if (cfgp_group(p, root, "", "control", &s) == CFGP_OK) {
		cfgp_check_keys(p, s, "control", control_keys);
		if (cfgp_string(p, s, "control", "socket", &str, &line) == CFGP_OK) {
			if (str[0] != '/')
				cfgp_err(p, line, "control.socket", "\"%s\" is not "
					 "an absolute path", str);
			else if (strlen(str) >= sizeof(c->control_socket))
				cfgp_err(p, line, "control.socket", "longer than "
					 "%zu characters",
					 sizeof(c->control_socket) - 1);
			else
				strcpy(c->control_socket, str);
		}
	}
	if (cfgp_int(p, root, "", "ecmp_seed", 0, UINT32_MAX, &v, &line) ==
	    CFGP_OK)
		c->ecmp_seed = (uint32_t)v;

	g = cfgp_strings(p, root, "", "anycast", &s);
	cfgp_required(p, g, root, "", "anycast");
	if (g == CFGP_OK) {
		n = config_setting_length(s);
		if (n == 0 || n > EDGE_MAX_ANYCAST)
			cfgp_err(p, cfgp_line(s), "anycast", "%d addresses; give "
				 "1..%d", n, EDGE_MAX_ANYCAST);
		for (int k = 0; k < n && k < EDGE_MAX_ANYCAST; k++) {
			char f[CFGP_FIELD_MAX];
			struct in_addr a;

			cfgp_fieldf(f, "anycast[%d]", k);
			if ((str = cfgp_elem_string(p, s, k, f)) == NULL ||
			    !cfgp_host(p, cfgp_line(s), f, str, &a))
				continue;
			if (is_anycast(c, a))
				cfgp_err(p, cfgp_line(s), f, "%s is listed twice",
					 str);
			else
				c->anycast[c->n_anycast++] = a;
		}
	}
	/* Before the customers: their tunnels' checks start from these. */
	if (cfgp_group(p, root, "", "health_check", &s) == CFGP_OK)
		parse_hc(x, s, "", &c->hc, false);
	if (cfgp_group(p, root, "", "relay", &s) == CFGP_OK)
		parse_relay(x, s);

	g = cfgp_list(p, root, "", "customers", &s);
	cfgp_required(p, g, root, "", "customers");
	if (g == CFGP_OK && (n = config_setting_length(s)) > 0) {
		c->customers = calloc((size_t)n, sizeof(*c->customers));
		x->auth_lines = calloc((size_t)n, sizeof(*x->auth_lines));
		if (!c->customers || !x->auth_lines) {
			p->oom = true;
			return;
		}
		c->n_customers = (size_t)n;
		for (size_t i = 0; i < c->n_customers; i++)
			parse_customer(x, config_setting_get_elem(s, (unsigned int)i), i);
		check_tunnels(x);
	}

	g = cfgp_list(p, root, "", "firewall", &s);
	if (g == CFGP_OK && (n = config_setting_length(s)) > 0) {
		if (n > EDGE_MAX_FIREWALL) {
			cfgp_err(p, cfgp_line(s), "firewall", "%d rules; at most %d",
				 n, EDGE_MAX_FIREWALL);
			return;
		}
		if (!(c->firewall = calloc((size_t)n, sizeof(*c->firewall)))) {
			p->oom = true;
			return;
		}
		c->n_firewall = (size_t)n;
		for (size_t i = 0; i < c->n_firewall; i++)
			parse_fw_rule(x, config_setting_get_elem(s, (unsigned int)i), i);
	}
}

static struct edge_config *
config_new(const char *path)
{
	struct edge_config *c = calloc(1, sizeof(*c));

	if (!c || !(c->path = strdup(path))) {
		free(c);
		return NULL;
	}
	c->log_level = LOG_LVL_INFO;
	c->ecmp_seed = EDGE_ECMP_SEED;
	c->hc = (struct edge_hc)EDGE_HC_DEFAULTS;
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 EDGE_DEFAULT_SOCKET);
	if (gethostname(c->name, sizeof(c->name) - 1) != 0 ||
	    !cfgp_name_ok(c->name, EDGE_NAME_MAX - 1))
		strcpy(c->name, "edge");
	return c;
}

/* @st: the file's, to judge who may read its secrets; NULL: a string. */
static struct edge_config *
parse_text(const char *text, size_t len, const char *name,
	   const struct stat *st, struct config_errors *errs)
{
	struct parse x = { .p = { .file = name } };
	config_t cf;

	config_init(&cf);
	x.c = config_new(name);
	if (!x.c)
		x.p.oom = true;
	else if (cfgp_parse(&x.p, &cf, text, len, secret_keys))
		parse_root(&x, config_root_setting(&cf));
	if (st && (x.secrets || x.sa_secret))
		cfgp_check_secrets(&x.p, st, !x.sa_secret ? "psk" :
				   x.secrets ? "psk, relay.sa_key" :
				   "relay.sa_key");
	cfgp_destroy(&cf);		/* psk is "" there; wipes the rest */
	free(x.taux);
	free(x.auth_lines);
	if (cfgp_failed(&x.p)) {
		edge_config_free(x.c);
		cfgp_flush(&x.p, errs ? &errs->msgs : NULL, errs ? &errs->n : NULL);
		return NULL;
	}
	cfgp_flush(&x.p, NULL, NULL);	/* frees the secrets table too */
	return x.c;
}

struct edge_config *
edge_config_load_string(const char *text, const char *name,
			struct config_errors *errs)
{
	return parse_text(text ? text : "", text ? strlen(text) : 0,
			  name ? name : "<string>", NULL, errs);
}

struct edge_config *
edge_config_load(const char *path, struct config_errors *errs)
{
	struct cfgp p = { .file = path };
	struct edge_config *c;
	struct stat st;
	size_t len;
	char *text = cfgp_read_file(&p, path, &len, &st);

	if (!text) {
		cfgp_flush(&p, errs ? &errs->msgs : NULL, errs ? &errs->n : NULL);
		return NULL;
	}
	c = parse_text(text, len, path, &st, errs);
	cfgp_free_text(text, len);
	return c;
}

void
edge_config_free(struct edge_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_customers; i++)
		free(c->customers[i].authorized);
	free(c->customers);
	for (size_t i = 0; i < c->n_tunnels; i++)
		secmem_free_str(c->tunnels[i].ipsec.psk);
	free(c->tunnels);
	free(c->routes);
	free(c->firewall);
	free(c->relay.peers);
	secmem_free_str(c->relay.sa_key);
	free(c->path);
	free(c);
}

int
edge_config_tunnel_index(const struct edge_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_tunnels; i++)
		if (strcmp(c->tunnels[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
edge_tunnel_type_name(enum edge_tunnel_type t)
{
	return t == EDGE_TUNNEL_IPSEC ? "ipsec" : "gre";
}

int
edge_config_check_serve(const struct edge_config *c,
			struct config_errors *errs)
{
	struct cfgp p = { .file = c->path ? c->path : "<string>" };
	char f[CFGP_FIELD_MAX];
	bool refused = false;
	const char *why = edge_ike_unavailable();

	for (size_t i = 0; i < c->n_tunnels && why; i++) {
		const struct edge_tunnel *t = &c->tunnels[i];
		size_t j = 0;

		if (t->type != EDGE_TUNNEL_IPSEC)
			continue;
		for (size_t o = 0; o < i; o++)
			j += c->tunnels[o].customer == t->customer;
		cfgp_fieldf(f, "customers[%zu].tunnels[%zu]", t->customer,
			    j);
		cfgp_err(&p, t->line, f, "tunnel \"%s\": %s", t->name, why);
		refused = true;
	}
	/* SA propagation carries IPsec SAs: nothing to carry without. */
	if (why && c->relay.sa_key != NULL) {
		cfgp_err(&p, c->relay.sa_line, "relay.sa_key", "%s", why);
		refused = true;
	}
	if (!refused) {
		cfgp_flush(&p, NULL, NULL);
		return 0;
	}
	cfgp_flush(&p, errs ? &errs->msgs : NULL, errs ? &errs->n : NULL);
	return -ENOTSUP;
}

size_t
edge_ipsec_ids(const struct edge_config *c, size_t ti,
	       struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX])
{
	const struct edge_tunnel *t = &c->tunnels[ti];
	const char *acct = c->customers[t->customer].account_id;
	const char *tid = t->ipsec.tunnel_id;
	size_t n = 0;

	if (t->type != EDGE_TUNNEL_IPSEC)
		return 0;
	ids[n].type = "rfc822";
	snprintf(ids[n++].text, EDGE_IPSEC_ID_STRLEN, "ipsec@%s.%s.%s", tid,
		 acct, EDGE_IPSEC_ID_DOMAIN);
	ids[n].type = "fqdn";
	snprintf(ids[n++].text, EDGE_IPSEC_ID_STRLEN, "%s.%s.%s", tid, acct,
		 EDGE_IPSEC_ID_DOMAIN);
	ids[n].type = "key_id";
	snprintf(ids[n++].text, EDGE_IPSEC_ID_STRLEN, "%s_%s", acct, tid);
	if (t->ipsec.id_ipv4_ok) {
		ids[n].type = "ipv4";
		fmt_addr(t->customer_endpoint, ids[n++].text);
	}
	return n;
}

const char *
edge_hc_type_name(enum edge_hc_type t)
{
	return t == EDGE_HC_REQUEST ? "request" : "reply";
}

const char *
edge_hc_direction_name(enum edge_hc_direction d)
{
	return d == EDGE_HC_UNIDIRECTIONAL ? "unidirectional" : "bidirectional";
}

/* --- printing ---------------------------------------------------------------- */

static void
print_hc(FILE *out, const char *ind, const struct edge_hc *hc,
	 const struct edge_config *c, bool root)
{
	char b[INET_ADDRSTRLEN];

	fprintf(out, "%shealth_check = {\n", ind);
	fprintf(out, "%s\tenabled = %s;\n", ind, hc->enabled ? "true" : "false");
	fprintf(out, "%s\ttype = \"%s\";\n", ind, edge_hc_type_name(hc->type));
	fprintf(out, "%s\tdirection = \"%s\";\n", ind,
		edge_hc_direction_name(hc->direction));
	fprintf(out, "%s\tinterval_ms = %u;\n%s\ttimeout_ms = %u;\n"
		"%s\tretries = %u;\n%s\tmin_state_ms = %u;\n", ind,
		hc->interval_ms, ind, hc->timeout_ms, ind, hc->retries, ind,
		hc->min_state_ms);
	if (!root && hc->has_target)
		fprintf(out, "%s\ttarget = \"%s\";\n", ind, fmt_addr(hc->target, b));
	if (root && c->has_public_address)
		fprintf(out, "%s\tpublic_address = \"%s\";\n", ind,
			fmt_addr(c->public_address, b));
	fprintf(out, "%s};\n", ind);
}

static const char *
proto_name(uint8_t p)
{
	switch (p) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	default: return "any";
	}
}

static void
print_tunnel_ends(FILE *out, const struct edge_config *c,
		  const struct edge_tunnel *t, size_t ti, bool secrets)
{
	char b[INET_ADDRSTRLEN];
	bool gre = t->type == EDGE_TUNNEL_GRE;

	fprintf(out, "\t\t\t\t%s = \"%s\";\n",
		gre ? "cloudflare_gre_endpoint" : "cloudflare_endpoint",
		fmt_addr(t->cloudflare_endpoint, b));
	if (t->has_customer_endpoint)
		fprintf(out, "\t\t\t\t%s = \"%s\";\n",
			gre ? "customer_gre_endpoint" : "customer_endpoint",
			fmt_addr(t->customer_endpoint, b));
	if (gre)
		return;
	struct edge_ipsec_id ids[EDGE_IPSEC_IDS_MAX];
	size_t n = edge_ipsec_ids(c, ti, ids);

	fprintf(out, "\t\t\t\ttunnel_id = \"%s\";\n", t->ipsec.tunnel_id);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "\t\t\t\t# the customer may be %s %s\n",
			ids[i].type, ids[i].text);
	if (secrets) {
		fputs("\t\t\t\tpsk = ", out);
		cfgp_print_str(out, t->ipsec.psk);
		fputs(";\n", out);
	} else {
		fputs("\t\t\t\tpsk = <redacted>;\n", out);
	}
	fprintf(out, "\t\t\t\treplay_protection = %s;\n"
		"\t\t\t\t# replay window %u\n"
		"\t\t\t\tallow_null_cipher = %s;\n",
		t->ipsec.replay_protection ? "true" : "false",
		t->ipsec.replay_protection ? EDGE_REPLAY_WINDOW : 0,
		t->ipsec.allow_null_cipher ? "true" : "false");
}

static void
print_conf(const struct edge_config *c, FILE *out, bool secrets)
{
	char b[TS_PREFIX_STRLEN];

	fprintf(out, "# %s, normalised; every default is explicit.\n",
		c->path ? c->path : "tunsteer-edge.conf");
	fprintf(out, "name = \"%s\";\n", c->name);
	fprintf(out, "log_level = \"%s\";\n",
		log_level_name((enum log_level)c->log_level));
	fprintf(out, "control = {\n\tsocket = \"%s\";\n};\n", c->control_socket);
	fputs("anycast = [", out);
	for (size_t i = 0; i < c->n_anycast; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : " ", fmt_addr(c->anycast[i], b));
	fputs(" ];\n", out);
	fprintf(out, "ecmp_seed = %" PRIu32 "%s;\n", c->ecmp_seed,
		c->ecmp_seed > INT32_MAX ? "L" : "");
	print_hc(out, "", &c->hc, c, true);
	if (c->relay.set) {
		fprintf(out, "relay = {\n\taddress = \"%s\";\n\tport = %u;\n"
			"\tpeers = [", fmt_addr(c->relay.address, b), c->relay.port);
		for (size_t i = 0; i < c->relay.n_peers; i++)
			fprintf(out, "%s\"%s\"", i ? ", " : " ",
				fmt_addr(c->relay.peers[i], b));
		fputs(" ];\n", out);
		if (c->relay.sa_key != NULL) {
			fputs("\tsa_key = ", out);
			if (secrets)
				cfgp_print_str(out, c->relay.sa_key);
			else
				fputs("<redacted>", out);
			fprintf(out, ";\n\tsa_port = %u;\n\tsa_delay_ms = %"
				PRIu32 ";\n", c->relay.sa_port,
				c->relay.sa_delay_ms);
		}
		fputs("};\n", out);
	}
	fputs("customers = (", out);
	for (size_t ci = 0; ci < c->n_customers; ci++) {
		const struct edge_customer *cu = &c->customers[ci];
		bool first = true;

		fprintf(out, "%s\t{\n\t\tname = \"%s\";\n", ci ? ",\n" : "\n",
			cu->name);
		if (cu->account_id[0])
			fprintf(out, "\t\taccount_id = \"%s\";\n",
				cu->account_id);
		fputs("\t\tauthorized = [", out);
		for (size_t i = 0; i < cu->n_authorized; i++)
			fprintf(out, "%s\"%s\"", i ? ", " : " ",
				ts_prefix_format(&cu->authorized[i], b, sizeof(b)));
		fputs(" ];\n\t\ttunnels = (", out);
		for (size_t i = 0; i < c->n_tunnels; i++) {
			const struct edge_tunnel *t = &c->tunnels[i];

			if (t->customer != ci)
				continue;
			fprintf(out, "%s\t\t\t{\n", first ? "\n" : ",\n");
			first = false;
			fprintf(out, "\t\t\t\tname = \"%s\";\n\t\t\t\ttype = \"%s\";\n",
				t->name, edge_tunnel_type_name(t->type));
			print_tunnel_ends(out, c, t, i, secrets);
			fprintf(out, "\t\t\t\tinterface_address = \"%s\";\n",
				ts_prefix_format(&t->interface_address, b, sizeof(b)));
			fprintf(out, "\t\t\t\tinterface_address_side = \"%s\";\n",
				t->given_is_customer ? "customer" : "provider");
			fprintf(out, "\t\t\t\t# provider side %s, ",
				fmt_addr(t->provider_addr, b));
			fprintf(out, "customer side %s\n", fmt_addr(t->customer_addr, b));
			if (t->has_address6) {
				char b6[INET6_ADDRSTRLEN];

				fprintf(out, "\t\t\t\tinterface_address6 = \"%s\";\n",
					ts_prefix_format(&t->interface_address6,
							 b, sizeof(b)));
				fprintf(out, "\t\t\t\t# provider side %s, ",
					inet_ntop(AF_INET6, &t->provider_addr6,
						  b6, sizeof(b6)));
				fprintf(out, "customer side %s\n",
					inet_ntop(AF_INET6, &t->customer_addr6,
						  b6, sizeof(b6)));
			}
			fprintf(out, "\t\t\t\tmtu = %u;\n", t->mtu);
			if (t->type == EDGE_TUNNEL_GRE)
				fprintf(out, "\t\t\t\tttl = %u;\n", t->ttl);
			print_hc(out, "\t\t\t\t", &t->hc, c, false);
			fputs("\t\t\t}", out);
		}
		fputs(first ? ");\n" : "\n\t\t);\n", out);
		fputs("\t\troutes = (", out);
		first = true;
		for (size_t i = 0; i < c->n_routes; i++) {
			const struct edge_route *r = &c->routes[i];

			if (c->tunnels[r->tunnel].customer != ci)
				continue;
			fprintf(out, "%s\t\t\t{ prefix = \"%s\"; tunnel = \"%s\"; "
				"priority = %" PRIu32 "%s; weight = %u; }",
				first ? "\n" : ",\n",
				ts_prefix_format(&r->prefix, b, sizeof(b)),
				c->tunnels[r->tunnel].name, r->priority,
				r->priority > INT32_MAX ? "L" : "", r->weight);
			first = false;
		}
		fputs(first ? ");\n\t}" : "\n\t\t);\n\t}", out);
	}
	fputs(c->n_customers ? "\n);\n" : ");\n", out);
	fputs("firewall = (", out);
	for (size_t i = 0; i < c->n_firewall; i++) {
		const struct edge_fw_rule *r = &c->firewall[i];

		fprintf(out, "%s\t{ name = \"%s\"; direction = \"%s\"; "
			"action = \"%s\"; protocol = \"%s\";", i ? ",\n" : "\n",
			r->name, r->direction == EDGE_FW_INGRESS ? "ingress" :
			"egress", r->accept ? "accept" : "drop",
			proto_name(r->protocol));
		if (r->has_src)
			fprintf(out, " src = \"%s\";",
				ts_prefix_format(&r->src, b, sizeof(b)));
		if (r->has_dst)
			fprintf(out, " dst = \"%s\";",
				ts_prefix_format(&r->dst, b, sizeof(b)));
		if (r->sport)
			fprintf(out, " sport = %u;", r->sport);
		if (r->dport)
			fprintf(out, " dport = %u;", r->dport);
		fputs(" }", out);
	}
	fputs(c->n_firewall ? "\n);\n" : ");\n", out);
}

void
edge_config_print(const struct edge_config *c, FILE *out)
{
	print_conf(c, out, false);
}

void
edge_config_print_secrets(const struct edge_config *c, FILE *out)
{
	print_conf(c, out, true);
}
