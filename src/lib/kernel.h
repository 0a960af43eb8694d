/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one interface through which tunsteer touches the kernel.
 *
 * Two backends implement it: kernel_nl (libnl, the real one) and
 * kernel_fake (records every operation as a line of text, for unit tests).
 * The reconciler only ever sees this interface.
 *
 * Objects are plain values.  Links are keyed by name, addresses by
 * (ifname, address), routes by (table, dst, metric), rules by priority.
 * Every object an owner creates carries its marks (struct kernel_marks,
 * see DESIGN.md "Ownership marks"); dump callbacks see everything, and
 * callers must skip what is not theirs with kernel_marks_*().
 */
#ifndef TUNSTEER_KERNEL_H
#define TUNSTEER_KERNEL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/sarec.h"

/* Ownership marks: see DESIGN.md. */
#define KERNEL_RTPROT_TUNSTEER 227
#define KERNEL_TABLE_MIN 21000
#define KERNEL_TABLE_MAX 21999
#define KERNEL_RULE_PRIO_MIN 21000
#define KERNEL_RULE_PRIO_MAX 21999
#define KERNEL_LINK_ALIAS_PREFIX "tunsteer:"
/* tunsteer-edge's link mark: neither program's prefix starts the other's,
 * so a daemon and an emulator in one namespace never touch each other's
 * links. */
#define KERNEL_EDGE_LINK_ALIAS_PREFIX "tunsteer-edge:"
#define KERNEL_MAX_NEXTHOPS 64	/* the provider's ECMP limit */
#define KERNEL_XFRM_IF_ID_MIN 0x74730001u
#define KERNEL_XFRM_IF_ID_MAX 0x7473ffffu
#define KERNEL_NFT_TABLE "inet tunsteer"
/* Nexthop objects: nh_protocol 227 and ids in this range (IPv4 paths and
 * groups in its first half, IPv6 ones in its second). */
#define KERNEL_NHID_MIN 0x74730000u
#define KERNEL_NHID_MAX 0x7476ffffu

enum kernel_link_kind {
	KERNEL_LINK_GRE,
	KERNEL_LINK_XFRM,
	KERNEL_LINK_OTHER,	/* observed only: anything we do not create */
};

struct kernel_link {
	char name[IFNAMSIZ];
	enum kernel_link_kind kind;
	struct in_addr local, remote;	/* GRE */
	/* XFRM: the if_id that binds SAs and policies to this interface
	 * (one of the owner's, kernel_marks.xfrm_if_id_*), and the underlay
	 * device the kernel looks routes up through (IFLA_XFRM_LINK; "":
	 * none). */
	uint32_t if_id;
	char dev[IFNAMSIZ];
	uint8_t ttl;
	uint32_t mtu;
	bool up;
	char alias[64];			/* carries our mark */
	/* Observed only. */
	int ifindex;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

/*
 * An address of either family.  IPv6 link-local addresses are the
 * kernel's own (it makes one on every link it brings up): dumps never
 * report them and they cannot be added or deleted here.
 */
struct kernel_addr {
	char ifname[IFNAMSIZ];
	struct ts_prefix local;		/* address and prefix length */
	struct in_addr peer;		/* IPv4 only; 0: none */
};

struct kernel_nexthop {
	char dev[IFNAMSIZ];
	struct in_addr gw;		/* 0: on-link through dev */
	uint16_t weight;		/* 1..256 */
};

/*
 * A route goes either through a nexthop object (@nhid, no @nh) or through
 * its own list of nexthops.  Dumps of an @nhid route leave @nh empty even
 * where the kernel also reports the expanded paths.  Its family is
 * @dst's (kernel_route_family()): IPv6 routes take an AF_INET6 nexthop
 * object, or @nh without gateways; IPv4 and IPv6 tables of one number
 * are apart, as in the kernel.
 */
struct kernel_route {
	uint32_t table;
	struct ts_prefix dst;
	uint32_t metric;
	uint8_t protocol;
	bool blackhole;
	uint32_t nhid;			/* 0: none, use @nh */
	unsigned int n_nexthops;
	struct kernel_nexthop nh[KERNEL_MAX_NEXTHOPS];
};

/*
 * A kernel nexthop object (`ip nexthop`): either one path (@dev, @gw) or
 * a group of other objects (@n_members > 0).  A resilient group keeps a
 * table of hash buckets: when a member leaves, only its buckets (its
 * flows) move; when one joins, it takes over buckets that have been idle
 * for @idle_timer seconds, so flows on the other members keep their path.
 * Keyed by @id.
 */
struct kernel_nhobj_member {
	uint32_t id;
	uint16_t weight;		/* 1..256 */
};

struct kernel_nhobj {
	uint32_t id;
	uint8_t protocol;
	/* AF_INET or AF_INET6 (0: AF_INET, kernel_nhobj_family()): an IPv6
	 * route takes only an AF_INET6 path or a group of them, an IPv4 one
	 * only AF_INET ones.  A group is of its members' family; dumps
	 * report it so. */
	uint8_t family;
	/* One path: through @dev (and @gw), or a @blackhole, which has
	 * neither.  tunsteerd makes a blackhole only to test the kernel
	 * (kernel_nhobj_probe_resilient()); dumps never show one. */
	char dev[IFNAMSIZ];
	struct in_addr gw;		/* 0: on-link through dev */
	bool blackhole;
	/* A group: members sorted by id. */
	unsigned int n_members;
	struct kernel_nhobj_member member[KERNEL_MAX_NEXTHOPS];
	bool resilient;
	uint16_t buckets;		/* resilient only */
	uint32_t idle_timer;		/* seconds, resilient only */
	uint32_t unbalanced_timer;	/* seconds, 0: never force */
};

/* IPv4 and IPv6 rules are apart (`ip rule`, `ip -6 rule`): one of each
 * family may share a priority. */
struct kernel_rule {
	uint8_t family;			/* AF_INET or AF_INET6; 0: AF_INET */
	uint32_t priority;
	uint32_t table;
	uint32_t fwmark, fwmask;	/* fwmask 0: no fwmark match */
	struct ts_prefix src;		/* len 0: from all */
	uint8_t protocol;		/* FRA_PROTOCOL, where the kernel has it */
};

/*
 * Set elements of our nft table in bulk (kernel_ops.nft_elems): one entry
 * adds or deletes @n prefixes of set @set, or replaces its whole content
 * (making the table and the set, of @family's type with flags interval, if
 * they are missing).  @elems are sorted and do not overlap.
 */
enum kernel_nft_elems_op {
	KERNEL_NFT_ELEMS_ADD,
	KERNEL_NFT_ELEMS_DEL,
	KERNEL_NFT_ELEMS_REPLACE,
};

struct kernel_nft_elems {
	enum kernel_nft_elems_op op;
	const char *set;
	const struct ts_prefix *elems;
	size_t n;
	/* AF_INET (or 0) or AF_INET6: the set's type, ipv4_addr or
	 * ipv6_addr, and every element's family. */
	uint8_t family;
};

/* The chains, named sets and named counters of our table
 * (kernel_ops.nft_names). */
struct kernel_nft_names {
	char **chains;
	size_t n_chains;
	char **sets;
	size_t n_sets;
	char **counters;
	size_t n_counters;
};

/* A named counter of our table and its count (kernel_ops.nft_counters). */
struct kernel_nft_counter {
	char name[64];
	uint64_t packets, bytes;
};
void kernel_nft_names_free(struct kernel_nft_names *names);

/*
 * What other processes' commits changed in our table
 * (kernel_ops.nft_monitor_drain).  @table: its rules, chains, set
 * definitions or the table itself, or we cannot tell (events lost, a
 * commit hidden behind one of ours); otherwise only the elements of
 * @sets changed.  Drains add to it; the caller owns and frees it.
 */
struct kernel_nft_changes {
	bool table;
	char **sets;
	size_t n_sets;
};
int kernel_nft_changes_add_set(struct kernel_nft_changes *ch, const char *set)
	__attribute__((warn_unused_result));
/* Adds everything @from says to @to and empties @from. */
void kernel_nft_changes_merge(struct kernel_nft_changes *to,
			      struct kernel_nft_changes *from);
bool kernel_nft_changes_any(const struct kernel_nft_changes *ch);
void kernel_nft_changes_free(struct kernel_nft_changes *ch);

/*
 * An ESP state as a dump reports it (kernel_ops.xfrm_state_dump): the
 * owner's only, those bound to an if_id in its range.
 */
struct kernel_xfrm_state {
	uint32_t spi;			/* host order */
	struct in_addr src, dst;	/* outer addresses */
	uint32_t if_id, reqid;
	uint32_t replay_window;		/* 0: no replay check */
	/* What it carried (decrypted, for an inbound one), and the
	 * packets it refused: replayed, or failing their ICV. */
	uint64_t packets, bytes;
	uint32_t replay_failed, integrity_failed;
};

typedef void (*kernel_link_cb)(const struct kernel_link *link, void *arg);
typedef void (*kernel_addr_cb)(const struct kernel_addr *addr, void *arg);
typedef void (*kernel_route_cb)(const struct kernel_route *route, void *arg);
typedef void (*kernel_rule_cb)(const struct kernel_rule *rule, void *arg);
typedef void (*kernel_nhobj_cb)(const struct kernel_nhobj *nh, void *arg);
typedef void (*kernel_xfrm_state_cb)(const struct kernel_xfrm_state *st,
				    void *arg);

/*
 * A kernel backend.  Every operation returns 0 or a negative errno and
 * never exits; the caller logs and retries.  Dumps call @cb once per object
 * and return after the last one; the objects passed are only valid during
 * the call.
 */
struct kernel_ops {
	int (*link_dump)(struct kernel_ops *ops, kernel_link_cb cb, void *arg);
	/* Create @link, or change mtu/ttl/endpoints/up of an existing one. */
	int (*link_set)(struct kernel_ops *ops, const struct kernel_link *link);
	int (*link_del)(struct kernel_ops *ops, const char *name);

	int (*addr_dump)(struct kernel_ops *ops, kernel_addr_cb cb, void *arg);
	int (*addr_add)(struct kernel_ops *ops, const struct kernel_addr *addr);
	int (*addr_del)(struct kernel_ops *ops, const struct kernel_addr *addr);

	int (*route_dump)(struct kernel_ops *ops, kernel_route_cb cb, void *arg);
	int (*route_replace)(struct kernel_ops *ops, const struct kernel_route *route);
	int (*route_del)(struct kernel_ops *ops, const struct kernel_route *route);

	/*
	 * Nexthop objects.  Replacing a group changes its members in one
	 * step (a resilient group keeps the buckets of the members that
	 * stay); a resilient group's bucket count cannot change.
	 */
	int (*nhobj_dump)(struct kernel_ops *ops, kernel_nhobj_cb cb, void *arg);
	int (*nhobj_replace)(struct kernel_ops *ops, const struct kernel_nhobj *nh);
	int (*nhobj_del)(struct kernel_ops *ops, uint32_t id);

	int (*rule_dump)(struct kernel_ops *ops, kernel_rule_cb cb, void *arg);
	int (*rule_add)(struct kernel_ops *ops, const struct kernel_rule *rule);
	int (*rule_del)(struct kernel_ops *ops, const struct kernel_rule *rule);

	/*
	 * Delete the conntrack entries (and so the flowtable entries built
	 * on them) whose mark, masked with @mask, is @mark.  Never a global
	 * flush: @mask and @mark must not be 0 (-EINVAL).
	 */
	int (*conntrack_flush)(struct kernel_ops *ops, uint32_t mark,
			       uint32_t mask);

	/* Write @value to /proc/sys/@path (e.g. "net/ipv4/conf/gre1/rp_filter"). */
	int (*sysctl_set)(struct kernel_ops *ops, const char *path, const char *value);

	/*
	 * Run an nft script (libnftables syntax) as one transaction: all of
	 * it applies or none does.  With @output, what nft prints (e.g. for
	 * "list table …") is returned there, malloc'd, owned by the caller.
	 * The script must only name our table, KERNEL_NFT_TABLE.
	 */
	int (*nft_run)(struct kernel_ops *ops, const char *script, char **output);
	/*
	 * Change set elements of KERNEL_NFT_TABLE in bulk, without nft's
	 * text: the @n entries of @batch are one transaction.
	 */
	int (*nft_elems)(struct kernel_ops *ops,
			 const struct kernel_nft_elems *batch, size_t n);
	/*
	 * The elements of set @set of KERNEL_NFT_TABLE as prefixes, sorted,
	 * malloc'd into *@elems (owned by the caller; NULL when empty); an
	 * interval that is no prefix reads as the prefixes that cover it.
	 * -ENOENT: no such set.  Slow for large sets (the kernel dumps an
	 * interval set in rounds that each walk it from the start: 1.6 s
	 * for 100,000 prefixes), so the owner writes rather than reads.
	 */
	int (*nft_set_get)(struct kernel_ops *ops, const char *set,
			   struct ts_prefix **elems, size_t *n);
	/* The chains and named sets of KERNEL_NFT_TABLE (-ENOENT: no table);
	 * free with kernel_nft_names_free(). */
	int (*nft_names)(struct kernel_ops *ops, struct kernel_nft_names *names);
	/* The named counters of KERNEL_NFT_TABLE with their counts, in
	 * *@out (malloc'd, owned by the caller; NULL when there are none);
	 * -ENOENT: no table.  One dump of the counters alone: cheap. */
	int (*nft_counters)(struct kernel_ops *ops,
			    struct kernel_nft_counter **out, size_t *n);
	/*
	 * Like monitor_fd(), for nftables changes: readable when a drain
	 * has something to say.  nft_monitor_drain() adds to @ch what
	 * other processes changed in KERNEL_NFT_TABLE and returns 1 if
	 * anything of ours changed, 0 if not, or a negative errno (events
	 * lost: @ch->table is set, the backend has grown its buffer).  Our
	 * own nft_run()/nft_elems() commits are never reported.
	 */
	int (*nft_monitor_fd)(struct kernel_ops *ops);
	int (*nft_monitor_drain)(struct kernel_ops *ops,
				 struct kernel_nft_changes *ch);

	/*
	 * IPsec SAs another server negotiated (SA propagation, lib/sarec.h).
	 * kernel_nl and the fake have them; kernel_nl_create_reader()'s
	 * backend does not (NULL).
	 *
	 * xfrm_sa_add() installs @r's two ESP states, tunnel mode, bound
	 * to @r->if_id (which must be in the owner's range: -EINVAL): in,
	 * remote -> local with spi_in, and out, local -> remote with
	 * spi_out; then makes the out, in and fwd policies between every
	 * pair of its selectors (bound to the same if_id) lead to them,
	 * replacing a policy of the same selectors and if_id.  A state
	 * with one of the SPIs already there is replaced.  With
	 * @r->inbound_only, only the in state and the in and fwd policies.
	 * xfrm_sa_del() deletes @r's two states (one already gone is no
	 * error); xfrm_policy_del() its policies (the same).
	 * xfrm_policy_add() makes (or replaces) @r's policies alone, as
	 * xfrm_sa_add() would, its states untouched: for policies that
	 * someone else sharing them (charon) removed.
	 * xfrm_state_dump() calls @cb for each ESP state in the owner's
	 * if_id range, with its counters.
	 */
	int (*xfrm_sa_add)(struct kernel_ops *ops, const struct sarec *r);
	int (*xfrm_sa_del)(struct kernel_ops *ops, const struct sarec *r);
	int (*xfrm_policy_del)(struct kernel_ops *ops, const struct sarec *r);
	int (*xfrm_policy_add)(struct kernel_ops *ops, const struct sarec *r);
	int (*xfrm_state_dump)(struct kernel_ops *ops, kernel_xfrm_state_cb cb,
			       void *arg);

	/*
	 * Change notifications.  monitor_fd() is a descriptor to poll for
	 * readability (-1: this backend has none).  monitor_drain() reads
	 * everything pending and returns 1 if any link, address, route or
	 * rule changed, 0 if nothing relevant did, -ENOBUFS if events were
	 * lost (the backend has grown its buffer; the caller must re-dump and
	 * reconcile), or another negative errno.
	 */
	int (*monitor_fd)(struct kernel_ops *ops);
	int (*monitor_drain)(struct kernel_ops *ops);

	void (*destroy)(struct kernel_ops *ops);
};

/*
 * What marks one owner's kernel objects (DESIGN.md "Ownership marks").
 * tunsteerd and tunsteer-edge each have one, disjoint from the other's, so
 * a reconciler given one owner's marks never touches the other's objects.
 * Addresses carry no mark of their own: they belong to the link they are
 * on.
 */
struct kernel_marks {
	const char *link_alias_prefix;	/* IFLA_IFALIAS starts with it */
	uint8_t rtm_protocol;		/* routes and nexthop objects */
	uint32_t table_min, table_max;	/* routes: only in these tables */
	uint32_t rule_prio_min, rule_prio_max;
	uint32_t nhid_min, nhid_max;	/* both 0: this owner has none */
	/* XFRM interfaces are ours only with our alias *and* an if_id in
	 * this range; both 0: this owner has none. */
	uint32_t xfrm_if_id_min, xfrm_if_id_max;
};

/* tunsteerd's marks: the KERNEL_* constants above. */
extern const struct kernel_marks kernel_marks_tunsteerd;

/* An XFRM link needs an if_id in the owner's range besides the alias. */
bool kernel_marks_link(const struct kernel_marks *m, const struct kernel_link *l);
bool kernel_marks_route(const struct kernel_marks *m,
			const struct kernel_route *r);
bool kernel_marks_rule(const struct kernel_marks *m, const struct kernel_rule *r);
bool kernel_marks_nhobj(const struct kernel_marks *m,
			const struct kernel_nhobj *nh);

/* Does @link's alias start with @mark (e.g. KERNEL_EDGE_LINK_ALIAS_PREFIX)? */
bool kernel_link_has_mark(const struct kernel_link *link, const char *mark);
/* The same with tunsteerd's marks (kernel_marks_tunsteerd). */
bool kernel_link_is_ours(const struct kernel_link *link);
bool kernel_route_is_ours(const struct kernel_route *route);
bool kernel_rule_is_ours(const struct kernel_rule *rule);
bool kernel_nhobj_is_ours(const struct kernel_nhobj *nh);

/* The family of an object: AF_INET or AF_INET6 (0 taken as AF_INET). */
int kernel_route_family(const struct kernel_route *route);
int kernel_rule_family(const struct kernel_rule *rule);
int kernel_nhobj_family(const struct kernel_nhobj *nh);

/* Equality of everything the reconciler sets (not observed-only fields). */
bool kernel_link_equal(const struct kernel_link *a, const struct kernel_link *b);
bool kernel_route_equal(const struct kernel_route *a, const struct kernel_route *b);
bool kernel_rule_equal(const struct kernel_rule *a, const struct kernel_rule *b);
bool kernel_nhobj_equal(const struct kernel_nhobj *a, const struct kernel_nhobj *b);

/*
 * Does the kernel behind @ops make resilient nexthop groups (Linux 5.13
 * and later; OpenWrt before 23.05 runs older kernels)?  Tries: a blackhole
 * path @path_id, a resilient group @group_id over it with @buckets, both
 * with @protocol, then deletes both.  The ids must be the caller's and
 * unused (they are replaced).  Returns 1 (it does), 0 (the kernel refused
 * the group with EINVAL or EOPNOTSUPP: it does not) or a negative errno
 * (the test itself failed; the answer is unknown).
 */
int kernel_nhobj_probe_resilient(struct kernel_ops *ops, uint32_t path_id,
				 uint32_t group_id, uint8_t protocol,
				 uint16_t buckets)
	__attribute__((warn_unused_result));

/* One-line text forms, used by the fake backend, logs and tests. */
void kernel_link_format(const struct kernel_link *link, char *buf, size_t len);
void kernel_addr_format(const struct kernel_addr *addr, char *buf, size_t len);
void kernel_route_format(const struct kernel_route *route, char *buf, size_t len);
void kernel_rule_format(const struct kernel_rule *rule, char *buf, size_t len);
void kernel_nhobj_format(const struct kernel_nhobj *nh, char *buf, size_t len);

#endif
