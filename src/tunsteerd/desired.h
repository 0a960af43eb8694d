/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * From config (and, from issue 4 on, tunnel health) to the complete state
 * the kernel should have: links, addresses, routes, rules and sysctls for
 * the reconciler, and the nftables table for the nft module.
 *
 * Policy routing, in short (DESIGN.md "Policy routing" has the why):
 *   - nft set auth_<policy> holds a policy's authorized prefixes; one
 *     prerouting (and output) rule per policy marks packets from the set
 *     with the policy's fwmark;
 *   - one ip rule per policy sends that fwmark to the policy's table, whose
 *     default route is a weighted multipath over the best-priority tunnels;
 *   - one ip rule per customer underlay address pins packets from it to
 *     the anycast endpoints onto the tunnel's underlay (the pin tables).
 * Rule count grows with policies and uplinks, never with prefixes.
 */
#ifndef TUNSTEER_DESIRED_H
#define TUNSTEER_DESIRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunsteerd/config.h"
#include "tunsteerd/health.h"
#include "lib/reconcile.h"

#define DESIRED_PIN_TABLE_BASE 21000	/* + uplink index, < 21100 */
#define DESIRED_PIN_PRIO_BASE 21000
#define DESIRED_POLICY_TABLE_BASE 21100	/* + policy index */
#define DESIRED_POLICY_PRIO_BASE 21100
/* Every policy table's last resort: a blackhole default behind the route
 * through the tunnels, so that authorized traffic never falls through to
 * the main table (the ISP, in clear) because that route could not be
 * installed or was deleted under us.  Only all_down = "isp" with every
 * tunnel down by health leaves the table empty. */
#define DESIRED_FALLBACK_METRIC 0xffffffffu
#define DESIRED_MAX_UPLINKS 100
#define DESIRED_MAX_POLICIES 800
#define DESIRED_FWMARK_BASE 0x74730000u	/* + policy index + 1 */
#define DESIRED_NFT_TABLE "tunsteer"	/* family inet */
/* Nexthop objects (KERNEL_NHID_MIN..MAX): tunnels' paths, policies' groups. */
#define DESIRED_NH_PATH_BASE 0x74730000u
#define DESIRED_NH_GROUP_BASE 0x74740000u
#define DESIRED_NH_IDS 0x10000u		/* ids per kind */
/* IPv6 (issue 14): a tunnel's IPv6 path and a policy's IPv6 group are
 * the IPv4 one's id plus this, so each pair is found from the other. */
#define DESIRED_NH_V6_OFFSET 0x20000u
/*
 * Resilient groups: 512 buckets spread up to 64 tunnels with weights of
 * 1..256 closely enough; a joining tunnel takes over buckets idle for 5 s
 * (flows that paused), and busy buckets are never forced over
 * (unbalanced_timer 0), so a tunnel coming back does not pull live
 * flows off the tunnels that kept working (unless the group had a lone
 * member: DESIGN.md, "Flow-preserving failover").
 */
#define DESIRED_NH_BUCKETS 512
#define DESIRED_NH_IDLE_TIMER 5
#define DESIRED_NH_UNBALANCED_TIMER 0
/* The two ids that engine_probe_nh_groups() tests the kernel with: slot
 * 0 of each range, which no tunnel and no policy is ever given. */
#define DESIRED_NH_PROBE_PATH DESIRED_NH_PATH_BASE
#define DESIRED_NH_PROBE_GROUP DESIRED_NH_GROUP_BASE

/* One named nft set of prefixes of one family. */
struct nft_set {
	char name[64];
	uint8_t family;			/* AF_INET or AF_INET6 */
	struct ts_prefix *elems;	/* sorted, owned */
	size_t n_elems;
};

/* Our nft table: sets (with elements kept apart, so a prefix change can be
 * applied element by element), named counters (objects that outlive a
 * replacement of the chains, so their counts survive reloads) and the
 * chains as nft script text. */
struct nft_state {
	struct nft_set *sets;
	size_t n_sets;
	char **counters;		/* names, owned */
	size_t n_counters;
	char *chains;			/* "chain … { … }" blocks, owned */
};

void nft_state_free(struct nft_state *ns);

/*
 * Fill @ks and @ns from @conf.  @health[i] is tunnel i's state (NULL: all
 * up): a policy's egress goes to the tunnels with the lowest priority
 * plus health_penalty(), weighted ECMP among equals, so a down tunnel is
 * used only when every tunnel of the policy is down (as the provider does
 * with its routes).  Returns 0 or -ENOMEM/-E2BIG; on error @ks and @ns
 * are left empty.
 */
int desired_build(const struct config *conf, const enum health_state *health,
		  struct kernel_state *ks, struct nft_state *ns)
	__attribute__((warn_unused_result));

/*
 * The part of the desired state that tunnel health decides, alone: each
 * policy's nexthop group and the routes of its table (the route through
 * the group and the blackhole fallback), into @eg (nhobjs and routes
 * only).  desired_build() puts exactly these last in @ks->nhobjs and
 * @ks->routes, in this order, so a health change can replace them in
 * place without building the rest (engine_health_changed()).  Returns
 * as desired_build(); on error @eg is left empty.
 */
int desired_build_egress(const struct config *conf,
			 const enum health_state *health,
			 struct kernel_state *eg)
	__attribute__((warn_unused_result));

/*
 * The same for a router in standby (the backup of an HA pair,
 * `tunsteerctl standby`): each policy's table holds its blackhole fallback
 * alone, whatever health and all_down say, so nothing from an authorized
 * source leaves, through a tunnel or the ISP, while the tunnels stay up
 * and probed; no group.  In place of desired_build_egress()'s objects.
 */
int desired_build_standby(const struct config *conf, struct kernel_state *eg)
	__attribute__((warn_unused_result));

/*
 * For a kernel without resilient nexthop groups (Linux before 5.13): make
 * every group of @ks a plain one (hash-threshold multipath, the same
 * members and weights).  Flows then stay on their tunnel only while the
 * group's members do not change.
 */
void desired_plain_groups(struct kernel_state *ks);

/*
 * Tunnel i's path nexthop id, into @ids[i] (n_tunnels of them).  Ids
 * follow names, not config order.  0 or -ENOMEM/-E2BIG.
 */
int desired_path_ids(const struct config *conf, uint32_t *ids)
	__attribute__((warn_unused_result));

/*
 * The XFRM interface if_id of each ipsec tunnel of @conf, into @ids[i]
 * (n_tunnels of them; 0 for GRE tunnels), in tunsteerd's range
 * (kernel_marks_tunsteerd.xfrm_if_id_min..max).  Ids follow names, not
 * config order: a tunnel keeps its if_id, and so its SAs, when others are
 * added, removed or moved, except where hashes collide, which is settled
 * the same way every time.  The IKE SAs (ike.c) bind to the same ids.
 * 0, or -ENOMEM/-E2BIG (more ipsec tunnels than ids).
 */
int desired_xfrm_if_ids(const struct config *conf, uint32_t *ids)
	__attribute__((warn_unused_result));

/*
 * The conntrack mark of connections that left through the tunnel with
 * path id @path_id: its slot in the upper 16 bits (never 0).  Only those
 * bits are ours to match on (DESIRED_CT_MARK_MASK).
 */
#define DESIRED_CT_MARK_MASK 0xffff0000u
static inline uint32_t desired_ct_mark(uint32_t path_id)
{ return (path_id - DESIRED_NH_PATH_BASE) << 16; }

/*
 * Source NAT (a policy's nat { }): the jhash seed of the mapping from a
 * source to an address of nat.to.  Fixed, so that the mapping is the same
 * on every tunnel, across reloads and restarts (DESIGN.md, "Source NAT").
 */
#define DESIRED_NAT_HASH_SEED 0x74730000u

/* The named nft counter (and set) of policy @policy's nat.from, into
 * @out: "nat_<name>", '-' and '.' made '_'. */
void desired_nat_name(char *out, size_t len, const char *policy);

/* The IPv6 twin of IPv4 nexthop object @id (a path or a group). */
static inline uint32_t desired_nh_v6(uint32_t id)
{ return id + DESIRED_NH_V6_OFFSET; }

/* The fwmark and table of policy @i (both families: the same mark
 * selects the policy's IPv4 and IPv6 tables, which share a number). */
static inline unsigned int desired_policy_fwmark(size_t i)
{ return DESIRED_FWMARK_BASE + (unsigned int)i + 1; }
static inline unsigned int desired_policy_table(size_t i)
{ return DESIRED_POLICY_TABLE_BASE + (unsigned int)i; }

#endif
