/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libnl-3 kernel backend (see kernel_nl.h).
 *
 * Requests go out one at a time on a persistent socket and wait for the
 * kernel's ACK; nothing here keeps a cache, because the reconciler holds
 * the truth and a cache would only be a second, staler copy.  Names map to
 * ifindexes with if_nametoindex(), which is one ioctl in the current netns
 * instead of a dump per operation (for names that should exist: a missing
 * one costs a modprobe, see link_get()).
 *
 * libnl folds kernel errnos into its own NLE_* codes, and several errnos
 * share one code (ESRCH and ENOENT both become NLE_OBJ_NOTFOUND).  An error
 * callback on the request socket keeps the kernel's errno so operations
 * return exactly what the kernel said.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/kernel_nft.h"
#include "lib/kernel_nl.h"

#include <linux/fib_rules.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ipgre.h>
#include <netlink/route/link/xfrmi.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

/* Monitor receive buffer: start here, double on each overrun, stop at max. */
#define MON_RCVBUF_INIT (1 << 20)
#define MON_RCVBUF_MAX (8 << 20)
/* Reads per drain before yielding to the loop (the fd stays readable). */
#define MON_DRAIN_MAX 4096
/* A dump the kernel marks inconsistent (NLM_F_DUMP_INTR) is retried. */
#define DUMP_TRIES 4

struct kernel_nl {
	struct kernel_ops ops;	/* first: the public face */
	struct nl_sock *sk;	/* requests and dumps */
	struct nl_sock *mon;	/* notifications, non-blocking */
	struct nl_sock *nf;	/* ctnetlink requests, opened on first use */
	int kerr;		/* errno of the last NLMSG_ERROR on sk */
	bool mon_changed;
	struct kernel_nft *nft;	/* libnftables and its event socket */
	const char *link_mark;	/* alias prefix of the links we may touch */
};

/* The nl_objects of one dump, collected before anyone sees them. */
struct objvec {
	struct nl_object **v;
	uint32_t *nhid;		/* routes: RTA_NH_ID of each (libnl drops it) */
	size_t n, cap;
	int err;
};

static struct kernel_nl *
knl_of(struct kernel_ops *ops)
{
	return (struct kernel_nl *)ops;
}

/* Copy a C string that may be NULL or too long; always terminates. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static bool
name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' &&
	       strnlen(name, IFNAMSIZ) < IFNAMSIZ;
}

/* The errno for a libnl code when the kernel did not tell us one. */
static int
nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
	case NLE_AF_MISMATCH:
		return -EINVAL;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_AGAIN:
	case NLE_DUMP_INTR:
		return -EAGAIN;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_INTR:
		return -EINTR;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	default:
		return -EIO;
	}
}

/* Result of a request: the kernel's errno if it sent one. */
static int
knl_status(struct kernel_nl *k, int nlerr)
{
	if (nlerr >= 0)
		return 0;
	if (k->kerr > 0)
		return -k->kerr;
	return nlerr_to_errno(nlerr);
}

static int
knl_error_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct kernel_nl *k = arg;

	k->kerr = e->error < 0 ? -e->error : e->error;
	return NL_STOP;	/* libnl still returns its own code */
}

/*
 * After a failed request, replies may still sit in the socket (the rest of
 * a dump); drop them so they cannot be taken for the next answer.
 */
static void
knl_flush(struct kernel_nl *k)
{
	char buf[4096];
	int fd = nl_socket_get_fd(k->sk);

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void
objvec_clear(struct objvec *ov)
{
	for (size_t i = 0; i < ov->n; i++)
		nl_object_put(ov->v[i]);
	free(ov->v);
	free(ov->nhid);
	ov->v = NULL;
	ov->nhid = NULL;
	ov->n = ov->cap = 0;
	ov->err = 0;
}

static void
collect_cb(struct nl_object *obj, void *arg)
{
	struct objvec *ov = arg;

	if (ov->err)
		return;
	if (ov->n == ov->cap) {
		size_t cap = ov->cap ? ov->cap * 2 : 64;
		struct nl_object **v = realloc(ov->v, cap * sizeof(*v));
		uint32_t *nhid;

		if (v == NULL) {
			ov->err = -ENOMEM;
			return;
		}
		ov->v = v;
		if ((nhid = realloc(ov->nhid, cap * sizeof(*nhid))) == NULL) {
			ov->err = -ENOMEM;
			return;
		}
		ov->nhid = nhid;
		ov->cap = cap;
	}
	ov->nhid[ov->n] = 0;
	nl_object_get(obj);
	ov->v[ov->n++] = obj;
}

static int
dump_valid_cb(struct nl_msg *msg, void *arg)
{
	struct objvec *ov = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	size_t before = ov->n;

	/* A message libnl cannot make an object of is skipped. */
	if (nl_msg_parse(msg, collect_cb, ov) == -NLE_NOMEM && !ov->err)
		ov->err = -ENOMEM;
	/* libnl 3.7 knows no RTA_NH_ID: take it from the message. */
	if (ov->n == before + 1 && h->nlmsg_type == RTM_NEWROUTE) {
		struct nlattr *a = nlmsg_find_attr(h, sizeof(struct rtmsg),
						   RTA_NH_ID);

		if (a != NULL && nla_len(a) == sizeof(uint32_t))
			ov->nhid[before] = nla_get_u32(a);
	}
	return NL_OK;
}

/* Dump all objects of @type/@family into @ov (empty on failure). */
static int
knl_dump(struct kernel_nl *k, int type, int family, struct objvec *ov)
{
	struct nl_cb *scb, *cb;
	int err;

	for (int tries = 0;; tries++) {
		k->kerr = 0;
		err = nl_rtgen_request(k->sk, type, family, NLM_F_DUMP);
		if (err >= 0) {
			scb = nl_socket_get_cb(k->sk);
			cb = nl_cb_clone(scb);
			nl_cb_put(scb);
			if (cb == NULL)
				return -ENOMEM;
			nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_valid_cb,
				  ov);
			err = nl_recvmsgs(k->sk, cb);
			nl_cb_put(cb);
		}
		if (err == -NLE_DUMP_INTR && tries + 1 < DUMP_TRIES) {
			objvec_clear(ov);
			continue;
		}
		break;
	}
	if (err < 0 || ov->err) {
		int ret = err < 0 ? knl_status(k, err) : ov->err;

		knl_flush(k);
		objvec_clear(ov);
		return ret;
	}
	return 0;
}

/* @a as an IPv4 address; false if it is anything else. */
static bool
addr_v4(struct nl_addr *a, struct in_addr *out)
{
	if (a == NULL || nl_addr_get_family(a) != AF_INET ||
	    nl_addr_get_len(a) != sizeof(*out))
		return false;
	memcpy(out, nl_addr_get_binary_addr(a), sizeof(*out));
	return true;
}

/* An nl_addr for an IPv4 prefix; NULL on allocation failure. */
static struct nl_addr *
addr_build_v4(struct in_addr a, unsigned int len)
{
	struct nl_addr *na = nl_addr_build(AF_INET, &a, sizeof(a));

	if (na != NULL)
		nl_addr_set_prefixlen(na, (int)len);
	return na;
}

static bool
prefix_is_v4(const struct ts_prefix *p)
{
	return p->len <= 32 &&
	       (p->family == AF_INET || (p->family == 0 && p->len == 0));
}

/* --- links --------------------------------------------------------------- */

static void
link_from_nl(struct rtnl_link *l, struct kernel_link *out)
{
	const char *type = rtnl_link_get_type(l);

	memset(out, 0, sizeof(*out));
	copy_str(out->name, sizeof(out->name), rtnl_link_get_name(l));
	copy_str(out->alias, sizeof(out->alias), rtnl_link_get_ifalias(l));
	out->ifindex = rtnl_link_get_ifindex(l);
	out->mtu = rtnl_link_get_mtu(l);
	out->up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
	out->rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
	out->rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
	out->tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
	out->tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
	if (type != NULL && strcmp(type, "gre") == 0 && rtnl_link_is_ipgre(l)) {
		out->kind = KERNEL_LINK_GRE;
		out->local.s_addr = rtnl_link_ipgre_get_local(l);
		out->remote.s_addr = rtnl_link_ipgre_get_remote(l);
		out->ttl = rtnl_link_ipgre_get_ttl(l);
	} else if (type != NULL && strcmp(type, "xfrm") == 0) {
		uint32_t if_id = 0;

		out->kind = KERNEL_LINK_XFRM;
		if (rtnl_link_xfrmi_get_if_id(l, &if_id) == 0)
			out->if_id = if_id;
	} else {
		out->kind = KERNEL_LINK_OTHER;
	}
}

/* A GRE link with keys, checksums or sequence numbers is not our shape. */
static bool
gre_has_extras(struct rtnl_link *l)
{
	return rtnl_link_ipgre_get_iflags(l) != 0 ||
	       rtnl_link_ipgre_get_oflags(l) != 0 ||
	       rtnl_link_ipgre_get_ikey(l) != 0 ||
	       rtnl_link_ipgre_get_okey(l) != 0;
}

static int
knl_link_dump(struct kernel_ops *ops, kernel_link_cb cb, void *arg)
{
	struct objvec ov = { 0 };
	int err = knl_dump(knl_of(ops), RTM_GETLINK, AF_UNSPEC, &ov);

	if (err < 0)
		return err;
	for (size_t i = 0; i < ov.n; i++) {
		struct kernel_link l;

		link_from_nl((struct rtnl_link *)ov.v[i], &l);
		cb(&l, arg);
	}
	objvec_clear(&ov);
	return 0;
}

/*
 * The link called @name, or -ENODEV.  Asked by netlink, not with
 * if_nametoindex(): SIOCGIFINDEX on a missing name makes the kernel try
 * request_module("netdev-NAME"), a modprobe exec per absent link.
 */
static int
link_get(struct kernel_nl *k, const char *name, struct rtnl_link **out)
{
	int err;

	k->kerr = 0;
	err = rtnl_link_get_kernel(k->sk, 0, name, out);
	if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
		return -ENODEV;
	if (err < 0)
		knl_flush(k);
	return knl_status(k, err);
}

static struct rtnl_link *
link_alloc_kind(enum kernel_link_kind kind)
{
	return kind == KERNEL_LINK_GRE ? rtnl_link_ipgre_alloc()
				       : rtnl_link_xfrmi_alloc();
}

/*
 * Kind-specific data, all of it: the kernel's changelink zeroes whatever a
 * request leaves out.  No iflags/oflags/keys: a bare 4-byte GRE header.
 */
static int
link_fill_kind(struct rtnl_link *l, const struct kernel_link *want)
{
	int err;

	if (want->kind == KERNEL_LINK_XFRM)
		return nlerr_to_errno(
			rtnl_link_xfrmi_set_if_id(l, want->if_id));
	if ((err = rtnl_link_ipgre_set_local(l, want->local.s_addr)) < 0 ||
	    (err = rtnl_link_ipgre_set_remote(l, want->remote.s_addr)) < 0 ||
	    (err = rtnl_link_ipgre_set_ttl(l, want->ttl)) < 0)
		return nlerr_to_errno(err);
	return 0;
}

/* Send the changes in @chg for the link @orig describes. */
static int
link_change(struct kernel_nl *k, struct rtnl_link *orig, struct rtnl_link *chg)
{
	int err;

	k->kerr = 0;
	err = rtnl_link_change(k->sk, orig, chg, 0);
	if (err < 0)
		knl_flush(k);
	return knl_status(k, err);
}

static int
link_delete(struct kernel_nl *k, struct rtnl_link *l)
{
	int err;

	k->kerr = 0;
	err = rtnl_link_delete(k->sk, l);
	if (err < 0)
		knl_flush(k);
	return knl_status(k, err);
}

/*
 * The kernel ignores IFLA_IFALIAS in a create request, so the mark is set
 * right after; a link we could not mark is removed again, or it would look
 * foreign to us forever.
 */
static int
link_create(struct kernel_nl *k, const struct kernel_link *want)
{
	struct rtnl_link *l, *orig = NULL, *chg = NULL;
	int err;

	if ((l = link_alloc_kind(want->kind)) == NULL)
		return -ENOMEM;
	rtnl_link_set_name(l, want->name);
	if (want->mtu != 0)
		rtnl_link_set_mtu(l, want->mtu);
	if (want->up)
		rtnl_link_set_flags(l, IFF_UP);
	if ((err = link_fill_kind(l, want)) < 0)
		goto out;
	k->kerr = 0;
	err = rtnl_link_add(k->sk, l, NLM_F_CREATE | NLM_F_EXCL);
	if (err < 0) {
		knl_flush(k);
		err = knl_status(k, err);
		goto out;
	}

	orig = rtnl_link_alloc();
	chg = rtnl_link_alloc();
	if (orig == NULL || chg == NULL) {
		err = -ENOMEM;
	} else {
		rtnl_link_set_name(orig, want->name);
		rtnl_link_set_name(chg, want->name);
		rtnl_link_set_ifalias(chg, want->alias);
		err = link_change(k, orig, chg);
	}
	if (err < 0)
		(void)link_delete(k, l);
out:
	if (chg != NULL)
		rtnl_link_put(chg);
	if (orig != NULL)
		rtnl_link_put(orig);
	rtnl_link_put(l);
	return err;
}

static int
knl_link_set(struct kernel_ops *ops, const struct kernel_link *want)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_link *cur = NULL, *chg = NULL;
	struct kernel_link have;
	bool need_info, changed = false;
	int err;

	if (!name_ok(want->name) ||
	    (want->kind != KERNEL_LINK_GRE && want->kind != KERNEL_LINK_XFRM) ||
	    !kernel_link_has_mark(want, k->link_mark))
		return -EINVAL;
	err = link_get(k, want->name, &cur);
	if (err == -ENODEV)
		return link_create(k, want);
	if (err < 0)
		return err;

	link_from_nl(cur, &have);
	if (!kernel_link_has_mark(&have, k->link_mark)) {
		err = -EEXIST;
		goto out;
	}
	if (have.kind != want->kind)
		goto recreate;

	if (want->kind == KERNEL_LINK_GRE)
		need_info = have.local.s_addr != want->local.s_addr ||
			    have.remote.s_addr != want->remote.s_addr ||
			    have.ttl != want->ttl || gre_has_extras(cur);
	else
		need_info = have.if_id != want->if_id;
	chg = need_info ? link_alloc_kind(want->kind) : rtnl_link_alloc();
	if (chg == NULL) {
		err = -ENOMEM;
		goto out;
	}
	if (need_info) {
		if ((err = link_fill_kind(chg, want)) < 0)
			goto out;
		/* Without IFLA_MTU a tunnel changelink recomputes the MTU. */
		rtnl_link_set_mtu(chg, want->mtu ? want->mtu : have.mtu);
		changed = true;
	} else if (want->mtu != 0 && want->mtu != have.mtu) {
		rtnl_link_set_mtu(chg, want->mtu);
		changed = true;
	}
	if (strcmp(have.alias, want->alias) != 0) {
		rtnl_link_set_ifalias(chg, want->alias);
		changed = true;
	}
	if (have.up != want->up) {
		if (want->up)
			rtnl_link_set_flags(chg, IFF_UP);
		else
			rtnl_link_unset_flags(chg, IFF_UP);
		changed = true;
	}
	if (!changed) {
		err = 0;
		goto out;
	}
	err = link_change(k, cur, chg);
	/* Some changes the kernel refuses in place (GRE remote 0 <-> set). */
	if (need_info && (err == -EINVAL || err == -EOPNOTSUPP))
		goto recreate;
	goto out;

recreate:
	if ((err = link_delete(k, cur)) == 0)
		err = link_create(k, want);
out:
	if (chg != NULL)
		rtnl_link_put(chg);
	rtnl_link_put(cur);
	return err;
}

static int
knl_link_del(struct kernel_ops *ops, const char *name)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_link *cur = NULL;
	struct kernel_link have;
	int err;

	if (!name_ok(name))
		return -EINVAL;
	if ((err = link_get(k, name, &cur)) < 0)
		return err;
	link_from_nl(cur, &have);
	err = kernel_link_has_mark(&have, k->link_mark) ? link_delete(k, cur) :
							   -EPERM;
	rtnl_link_put(cur);
	return err;
}

/* --- addresses ----------------------------------------------------------- */

static bool
addr_from_nl(struct rtnl_addr *a, struct kernel_addr *out)
{
	struct nl_addr *local = rtnl_addr_get_local(a);
	int len = rtnl_addr_get_prefixlen(a);

	memset(out, 0, sizeof(*out));
	if (len < 0 || len > 32 || !addr_v4(local, &out->local.v4))
		return false;
	if (if_indextoname((unsigned int)rtnl_addr_get_ifindex(a),
			   out->ifname) == NULL)
		return false;	/* the link went away meanwhile */
	out->local.family = AF_INET;
	out->local.len = (uint8_t)len;
	if (!addr_v4(rtnl_addr_get_peer(a), &out->peer))
		out->peer.s_addr = 0;
	return true;
}

static int
knl_addr_dump(struct kernel_ops *ops, kernel_addr_cb cb, void *arg)
{
	struct objvec ov = { 0 };
	int err = knl_dump(knl_of(ops), RTM_GETADDR, AF_INET, &ov);

	if (err < 0)
		return err;
	for (size_t i = 0; i < ov.n; i++) {
		struct kernel_addr a;

		if (addr_from_nl((struct rtnl_addr *)ov.v[i], &a))
			cb(&a, arg);
	}
	objvec_clear(&ov);
	return 0;
}

static int
addr_build(const struct kernel_addr *ka, struct rtnl_addr **out)
{
	struct rtnl_addr *a;
	struct nl_addr *local = NULL, *peer = NULL;
	unsigned int ifindex;
	int err;

	if (!name_ok(ka->ifname) || ka->local.family != AF_INET ||
	    ka->local.len > 32)
		return -EINVAL;
	if ((ifindex = if_nametoindex(ka->ifname)) == 0)
		return -ENODEV;
	if ((a = rtnl_addr_alloc()) == NULL)
		return -ENOMEM;
	rtnl_addr_set_ifindex(a, (int)ifindex);
	rtnl_addr_set_family(a, AF_INET);
	local = addr_build_v4(ka->local.v4, ka->local.len);
	if (ka->peer.s_addr != 0)
		peer = addr_build_v4(ka->peer, ka->local.len);
	if (local == NULL || (ka->peer.s_addr != 0 && peer == NULL)) {
		err = -ENOMEM;
		goto fail;
	}
	if ((err = rtnl_addr_set_local(a, local)) < 0 ||
	    (peer != NULL && (err = rtnl_addr_set_peer(a, peer)) < 0)) {
		err = nlerr_to_errno(err);
		goto fail;
	}
	rtnl_addr_set_prefixlen(a, ka->local.len);
	nl_addr_put(local);
	if (peer != NULL)
		nl_addr_put(peer);
	*out = a;
	return 0;
fail:
	if (local != NULL)
		nl_addr_put(local);
	if (peer != NULL)
		nl_addr_put(peer);
	rtnl_addr_put(a);
	return err;
}

static int
knl_addr_add(struct kernel_ops *ops, const struct kernel_addr *ka)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_addr *a;
	int err;

	if ((err = addr_build(ka, &a)) < 0)
		return err;
	k->kerr = 0;
	/* REPLACE: adding what is there already is not an error. */
	err = rtnl_addr_add(k->sk, a, NLM_F_REPLACE);
	if (err < 0)
		knl_flush(k);
	rtnl_addr_put(a);
	return knl_status(k, err);
}

static int
knl_addr_del(struct kernel_ops *ops, const struct kernel_addr *ka)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_addr *a;
	int err;

	if ((err = addr_build(ka, &a)) < 0)
		return err;
	k->kerr = 0;
	err = rtnl_addr_delete(k->sk, a, 0);
	if (err < 0)
		knl_flush(k);
	rtnl_addr_put(a);
	return knl_status(k, err);
}

/* --- routes -------------------------------------------------------------- */

static void
nh_from_nl_cb(struct rtnl_nexthop *nh, void *arg)
{
	struct kernel_route *r = arg;
	struct kernel_nexthop *out;
	int ifindex = rtnl_route_nh_get_ifindex(nh);

	if (r->n_nexthops >= KERNEL_MAX_NEXTHOPS)
		return;
	out = &r->nh[r->n_nexthops++];
	memset(out, 0, sizeof(*out));
	if (ifindex <= 0 ||
	    if_indextoname((unsigned int)ifindex, out->dev) == NULL)
		out->dev[0] = '\0';
	if (!addr_v4(rtnl_route_nh_get_gateway(nh), &out->gw))
		out->gw.s_addr = 0;
	/* rtnh_hops is weight - 1; a plain RTA_OIF route reads as hops 0. */
	out->weight = (uint16_t)(rtnl_route_nh_get_weight(nh) + 1);
}

static bool
route_from_nl(struct rtnl_route *rt, uint32_t nhid, struct kernel_route *out)
{
	struct nl_addr *dst = rtnl_route_get_dst(rt);

	if (rtnl_route_get_family(rt) != AF_INET ||
	    (rtnl_route_get_flags(rt) & RTM_F_CLONED))
		return false;
	memset(out, 0, sizeof(*out));
	out->table = rtnl_route_get_table(rt);
	out->dst.family = AF_INET;
	if (dst == NULL || nl_addr_get_prefixlen(dst) > 32)
		return false;
	out->dst.len = (uint8_t)nl_addr_get_prefixlen(dst);
	if (nl_addr_get_len(dst) != 0 && !addr_v4(dst, &out->dst.v4))
		return false;
	out->metric = rtnl_route_get_priority(rt);
	out->protocol = rtnl_route_get_protocol(rt);
	out->blackhole = rtnl_route_get_type(rt) == RTN_BLACKHOLE;
	/* Through a nexthop object, the paths listed are the object's. */
	out->nhid = nhid;
	if (nhid == 0)
		rtnl_route_foreach_nexthop(rt, nh_from_nl_cb, out);
	return true;
}

static int
knl_route_dump(struct kernel_ops *ops, kernel_route_cb cb, void *arg)
{
	struct objvec ov = { 0 };
	struct kernel_route *r;
	int err;

	/* kernel_route is large (64 nexthops): one on the heap, reused. */
	if ((r = malloc(sizeof(*r))) == NULL)
		return -ENOMEM;
	/* AF_INET with no table: every table, ids above 255 via RTA_TABLE. */
	if ((err = knl_dump(knl_of(ops), RTM_GETROUTE, AF_INET, &ov)) < 0)
		goto out;
	for (size_t i = 0; i < ov.n; i++)
		if (route_from_nl((struct rtnl_route *)ov.v[i], ov.nhid[i], r))
			cb(r, arg);
	objvec_clear(&ov);
out:
	free(r);
	return err;
}

/*
 * A route object for @kr.  Deletion needs only the key (table, dst,
 * metric) plus protocol and type, so @with_nexthops is false there.
 */
static int
route_build(const struct kernel_route *kr, bool with_nexthops,
	    struct rtnl_route **out)
{
	struct rtnl_route *rt;
	struct nl_addr *dst;
	uint8_t scope = kr->blackhole ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	int err;

	if (!prefix_is_v4(&kr->dst))
		return -EAFNOSUPPORT;
	if (kr->n_nexthops > KERNEL_MAX_NEXTHOPS ||
	    (kr->nhid != 0 && (kr->blackhole || kr->n_nexthops != 0)) ||
	    (with_nexthops && !kr->blackhole && kr->nhid == 0 &&
	     kr->n_nexthops == 0))
		return -EINVAL;
	/* A nexthop object may hold gateways: the route is universe. */
	if (kr->nhid != 0)
		scope = RT_SCOPE_UNIVERSE;
	if ((rt = rtnl_route_alloc()) == NULL)
		return -ENOMEM;
	if ((dst = addr_build_v4(kr->dst.v4, kr->dst.len)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	err = rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto fail;
	}
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, kr->table);
	rtnl_route_set_priority(rt, kr->metric);
	rtnl_route_set_protocol(rt, kr->protocol);
	rtnl_route_set_type(rt, kr->blackhole ? RTN_BLACKHOLE : RTN_UNICAST);
	for (unsigned int i = 0;
	     with_nexthops && !kr->blackhole && i < kr->n_nexthops; i++) {
		const struct kernel_nexthop *knh = &kr->nh[i];
		struct rtnl_nexthop *nh;
		unsigned int ifindex;
		unsigned int w = knh->weight ? knh->weight : 1;

		if (!name_ok(knh->dev) || w > 256) {
			err = -EINVAL;
			goto fail;
		}
		if ((ifindex = if_nametoindex(knh->dev)) == 0) {
			err = -ENODEV;
			goto fail;
		}
		if ((nh = rtnl_route_nh_alloc()) == NULL) {
			err = -ENOMEM;
			goto fail;
		}
		rtnl_route_nh_set_ifindex(nh, (int)ifindex);
		rtnl_route_nh_set_weight(nh, (uint8_t)(w - 1));
		if (knh->gw.s_addr != 0) {
			struct nl_addr *gw = addr_build_v4(knh->gw, 32);

			if (gw == NULL) {
				rtnl_route_nh_free(nh);
				err = -ENOMEM;
				goto fail;
			}
			rtnl_route_nh_set_gateway(nh, gw);
			nl_addr_put(gw);
			scope = RT_SCOPE_UNIVERSE;
		}
		rtnl_route_add_nexthop(rt, nh);	/* rt owns nh now */
	}
	rtnl_route_set_scope(rt, scope);
	*out = rt;
	return 0;
fail:
	rtnl_route_put(rt);
	return err;
}

/* Send @msg (consumed) on the request socket and wait for the ACK. */
static int
knl_request(struct kernel_nl *k, struct nl_msg *msg)
{
	int err;

	k->kerr = 0;
	err = nl_send_auto(k->sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_wait_for_ack(k->sk);
	if (err < 0)
		knl_flush(k);
	return knl_status(k, err);
}

static int
knl_route_replace(struct kernel_ops *ops, const struct kernel_route *kr)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_route *rt;
	struct nl_msg *msg = NULL;
	int err;

	if ((err = route_build(kr, true, &rt)) < 0)
		return err;
	if (kr->nhid == 0) {
		k->kerr = 0;
		err = rtnl_route_add(k->sk, rt, NLM_F_REPLACE); /* + CREATE */
		if (err < 0)
			knl_flush(k);
		rtnl_route_put(rt);
		return knl_status(k, err);
	}
	/* libnl 3.7 cannot say RTA_NH_ID: add it to the request it builds. */
	err = rtnl_route_build_add_request(rt, NLM_F_CREATE | NLM_F_REPLACE,
					   &msg);
	rtnl_route_put(rt);
	if (err < 0)
		return nlerr_to_errno(err);
	if (nla_put_u32(msg, RTA_NH_ID, kr->nhid) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return knl_request(k, msg);
}

static int
knl_route_del(struct kernel_ops *ops, const struct kernel_route *kr)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_route *rt;
	struct nl_msg *msg = NULL;
	struct rtmsg *rtm;
	int err;

	if ((err = route_build(kr, false, &rt)) < 0)
		return err;
	err = rtnl_route_build_del_request(rt, 0, &msg);
	rtnl_route_put(rt);
	if (err < 0)
		return nlerr_to_errno(err);
	/* libnl always sends a scope; "any scope" is what a delete means. */
	rtm = nlmsg_data(nlmsg_hdr(msg));
	rtm->rtm_scope = RT_SCOPE_NOWHERE;
	return knl_request(k, msg);
}

/* --- nexthop objects ------------------------------------------------------ */

/*
 * libnl 3.7 has no nexthop-object API, so requests and dumps are built and
 * parsed here with libnl's message and attribute helpers.  The kernel
 * counts resilient-group timers in clock ticks (USER_HZ).
 */
#define NH_USER_HZ 100

struct nhvec {
	struct kernel_nhobj *v;
	size_t n, cap;
	int err;
};

static struct nla_policy nh_policy[NHA_MAX + 1] = {
	[NHA_ID] = { .type = NLA_U32 },
	[NHA_GROUP] = { .type = NLA_UNSPEC },
	[NHA_GROUP_TYPE] = { .type = NLA_U16 },
	[NHA_BLACKHOLE] = { .type = NLA_FLAG },
	[NHA_OIF] = { .type = NLA_U32 },
	[NHA_GATEWAY] = { .type = NLA_UNSPEC },
	[NHA_RES_GROUP] = { .type = NLA_NESTED },
};

static struct nla_policy nh_res_policy[NHA_RES_GROUP_MAX + 1] = {
	[NHA_RES_GROUP_BUCKETS] = { .type = NLA_U16 },
	[NHA_RES_GROUP_IDLE_TIMER] = { .type = NLA_U32 },
	[NHA_RES_GROUP_UNBALANCED_TIMER] = { .type = NLA_U32 },
};

/* One RTM_NEWNEXTHOP into @out; false for what we cannot represent
 * (IPv6 gateways, blackholes, fdb nexthops): those are never ours. */
static bool
nhobj_from_msg(struct nlmsghdr *h, struct kernel_nhobj *out)
{
	struct nlattr *tb[NHA_MAX + 1], *rb[NHA_RES_GROUP_MAX + 1];
	struct nhmsg *nhm;

	if (h->nlmsg_type != RTM_NEWNEXTHOP ||
	    nlmsg_parse(h, sizeof(*nhm), tb, NHA_MAX, nh_policy) < 0 ||
	    tb[NHA_ID] == NULL || tb[NHA_BLACKHOLE] != NULL)
		return false;
	nhm = nlmsg_data(h);
	memset(out, 0, sizeof(*out));
	out->id = nla_get_u32(tb[NHA_ID]);
	out->protocol = nhm->nh_protocol;
	if (tb[NHA_GROUP] != NULL) {
		const struct nexthop_grp *g = nla_data(tb[NHA_GROUP]);
		size_t n = (size_t)nla_len(tb[NHA_GROUP]) / sizeof(*g);

		if ((size_t)nla_len(tb[NHA_GROUP]) % sizeof(*g) != 0 || n == 0 ||
		    n > KERNEL_MAX_NEXTHOPS)
			return false;
		for (size_t i = 0; i < n; i++) {
			out->member[i].id = g[i].id;
			out->member[i].weight = (uint16_t)(g[i].weight + 1);
		}
		out->n_members = (unsigned int)n;
		if (tb[NHA_GROUP_TYPE] != NULL &&
		    nla_get_u16(tb[NHA_GROUP_TYPE]) == NEXTHOP_GRP_TYPE_RES) {
			out->resilient = true;
			if (tb[NHA_RES_GROUP] == NULL ||
			    nla_parse_nested(rb, NHA_RES_GROUP_MAX,
					     tb[NHA_RES_GROUP], nh_res_policy) < 0)
				return false;
			if (rb[NHA_RES_GROUP_BUCKETS])
				out->buckets = nla_get_u16(rb[NHA_RES_GROUP_BUCKETS]);
			if (rb[NHA_RES_GROUP_IDLE_TIMER])
				out->idle_timer = nla_get_u32(
				    rb[NHA_RES_GROUP_IDLE_TIMER]) / NH_USER_HZ;
			if (rb[NHA_RES_GROUP_UNBALANCED_TIMER])
				out->unbalanced_timer = nla_get_u32(
				    rb[NHA_RES_GROUP_UNBALANCED_TIMER]) / NH_USER_HZ;
		}
		return true;
	}
	if (tb[NHA_OIF] != NULL) {
		unsigned int ifindex = nla_get_u32(tb[NHA_OIF]);

		if (ifindex == 0 || if_indextoname(ifindex, out->dev) == NULL)
			out->dev[0] = '\0';
	}
	if (tb[NHA_GATEWAY] != NULL) {
		if (nhm->nh_family != AF_INET ||
		    nla_len(tb[NHA_GATEWAY]) != sizeof(out->gw))
			return false;
		memcpy(&out->gw, nla_data(tb[NHA_GATEWAY]), sizeof(out->gw));
	}
	return true;
}

static int
nh_dump_valid_cb(struct nl_msg *msg, void *arg)
{
	struct nhvec *nv = arg;
	struct kernel_nhobj nh;

	if (nv->err || !nhobj_from_msg(nlmsg_hdr(msg), &nh))
		return NL_OK;
	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 16;
		struct kernel_nhobj *v = realloc(nv->v, cap * sizeof(*v));

		if (v == NULL) {
			nv->err = -ENOMEM;
			return NL_OK;
		}
		nv->v = v;
		nv->cap = cap;
	}
	nv->v[nv->n++] = nh;
	return NL_OK;
}

static int
knl_nhobj_dump(struct kernel_ops *ops, kernel_nhobj_cb cb, void *arg)
{
	struct kernel_nl *k = knl_of(ops);
	struct nhmsg nhm = { .nh_family = AF_UNSPEC };
	struct nhvec nv = { 0 };
	struct nl_cb *scb, *ncb;
	int err;

	for (int tries = 0;; tries++) {
		nv.n = 0;
		nv.err = 0;
		k->kerr = 0;
		err = nl_send_simple(k->sk, RTM_GETNEXTHOP, NLM_F_DUMP, &nhm,
				     sizeof(nhm));
		if (err >= 0) {
			scb = nl_socket_get_cb(k->sk);
			ncb = nl_cb_clone(scb);
			nl_cb_put(scb);
			if (ncb == NULL) {
				free(nv.v);
				return -ENOMEM;
			}
			nl_cb_set(ncb, NL_CB_VALID, NL_CB_CUSTOM,
				  nh_dump_valid_cb, &nv);
			err = nl_recvmsgs(k->sk, ncb);
			nl_cb_put(ncb);
		}
		if (err == -NLE_DUMP_INTR && tries + 1 < DUMP_TRIES)
			continue;
		break;
	}
	if (err < 0 || nv.err) {
		int ret = err < 0 ? knl_status(k, err) : nv.err;

		knl_flush(k);
		free(nv.v);
		return ret;
	}
	for (size_t i = 0; i < nv.n; i++)
		cb(&nv.v[i], arg);
	free(nv.v);
	return 0;
}

static int
knl_nhobj_replace(struct kernel_ops *ops, const struct kernel_nhobj *nh)
{
	struct nhmsg nhm = { .nh_family = nh->n_members ? AF_UNSPEC : AF_INET,
			     .nh_protocol = nh->protocol };
	struct nl_msg *msg;
	int err = -EMSGSIZE;

	if (nh->id == 0 || nh->n_members > KERNEL_MAX_NEXTHOPS ||
	    (nh->n_members == 0 && !name_ok(nh->dev)))
		return -EINVAL;
	msg = nlmsg_alloc_simple(RTM_NEWNEXTHOP, NLM_F_CREATE | NLM_F_REPLACE);
	if (msg == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &nhm, sizeof(nhm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, NHA_ID, nh->id) < 0)
		goto fail;
	if (nh->n_members == 0) {
		unsigned int ifindex = if_nametoindex(nh->dev);

		if (ifindex == 0) {
			err = -ENODEV;
			goto fail;
		}
		if (nla_put_u32(msg, NHA_OIF, ifindex) < 0 ||
		    (nh->gw.s_addr != 0 &&
		     nla_put(msg, NHA_GATEWAY, sizeof(nh->gw), &nh->gw) < 0))
			goto fail;
	} else {
		struct nexthop_grp g[KERNEL_MAX_NEXTHOPS];
		struct nlattr *res;

		memset(g, 0, sizeof(g));
		for (unsigned int i = 0; i < nh->n_members; i++) {
			if (nh->member[i].weight < 1 || nh->member[i].weight > 256) {
				err = -EINVAL;
				goto fail;
			}
			g[i].id = nh->member[i].id;
			g[i].weight = (uint8_t)(nh->member[i].weight - 1);
		}
		if (nla_put(msg, NHA_GROUP, (int)(nh->n_members * sizeof(g[0])),
			    g) < 0 ||
		    nla_put_u16(msg, NHA_GROUP_TYPE,
				nh->resilient ? NEXTHOP_GRP_TYPE_RES
					      : NEXTHOP_GRP_TYPE_MPATH) < 0)
			goto fail;
		if (nh->resilient) {
			if ((res = nla_nest_start(msg, NHA_RES_GROUP)) == NULL ||
			    nla_put_u16(msg, NHA_RES_GROUP_BUCKETS, nh->buckets) < 0 ||
			    nla_put_u32(msg, NHA_RES_GROUP_IDLE_TIMER,
					nh->idle_timer * NH_USER_HZ) < 0 ||
			    nla_put_u32(msg, NHA_RES_GROUP_UNBALANCED_TIMER,
					nh->unbalanced_timer * NH_USER_HZ) < 0)
				goto fail;
			nla_nest_end(msg, res);
		}
	}
	return knl_request(knl_of(ops), msg);
fail:
	nlmsg_free(msg);
	return err;
}

static int
knl_nhobj_del(struct kernel_ops *ops, uint32_t id)
{
	struct nhmsg nhm = { .nh_family = AF_UNSPEC };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_DELNEXTHOP, 0);

	if (msg == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &nhm, sizeof(nhm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, NHA_ID, id) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return knl_request(knl_of(ops), msg);
}

/* --- rules --------------------------------------------------------------- */

static bool
rule_from_nl(struct rtnl_rule *r, struct kernel_rule *out)
{
	struct nl_addr *src = rtnl_rule_get_src(r);
	uint8_t proto = 0;

	if (rtnl_rule_get_family(r) != AF_INET)
		return false;
	memset(out, 0, sizeof(*out));
	out->priority = rtnl_rule_get_prio(r);
	out->table = rtnl_rule_get_table(r);
	out->fwmark = rtnl_rule_get_mark(r);
	out->fwmask = rtnl_rule_get_mask(r);
	if (src != NULL && nl_addr_get_prefixlen(src) > 0) {
		if (nl_addr_get_prefixlen(src) > 32 ||
		    !addr_v4(src, &out->src.v4))
			return false;
		out->src.family = AF_INET;
		out->src.len = (uint8_t)nl_addr_get_prefixlen(src);
	}
	if (rtnl_rule_get_protocol(r, &proto) == 0)
		out->protocol = proto;
	return true;
}

static int
knl_rule_dump(struct kernel_ops *ops, kernel_rule_cb cb, void *arg)
{
	struct objvec ov = { 0 };
	int err = knl_dump(knl_of(ops), RTM_GETRULE, AF_INET, &ov);

	if (err < 0)
		return err;
	for (size_t i = 0; i < ov.n; i++) {
		struct kernel_rule r;

		if (rule_from_nl((struct rtnl_rule *)ov.v[i], &r))
			cb(&r, arg);
	}
	objvec_clear(&ov);
	return 0;
}

static int
rule_build(const struct kernel_rule *kr, bool add, struct rtnl_rule **out)
{
	struct rtnl_rule *r;
	uint8_t proto = kr->protocol;
	int err;

	if (kr->src.len != 0 && (kr->src.family != AF_INET || kr->src.len > 32))
		return -EINVAL;
	if ((r = rtnl_rule_alloc()) == NULL)
		return -ENOMEM;
	rtnl_rule_set_family(r, AF_INET);
	rtnl_rule_set_prio(r, kr->priority);
	rtnl_rule_set_table(r, kr->table);	/* FRA_TABLE: > 255 works */
	/* A delete leaves the action open, so it matches whatever is there. */
	if (add)
		rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	if (kr->fwmask != 0) {
		rtnl_rule_set_mark(r, kr->fwmark);
		rtnl_rule_set_mask(r, kr->fwmask);
	}
	if (kr->src.len != 0) {
		struct nl_addr *src = addr_build_v4(kr->src.v4, kr->src.len);

		if (src == NULL) {
			err = -ENOMEM;
			goto fail;
		}
		err = rtnl_rule_set_src(r, src);
		nl_addr_put(src);
		if (err < 0) {
			err = nlerr_to_errno(err);
			goto fail;
		}
	}
	if (proto == 0 && add)
		proto = KERNEL_RTPROT_TUNSTEER;
	rtnl_rule_set_protocol(r, proto);	/* 0: attribute left out */
	*out = r;
	return 0;
fail:
	rtnl_rule_put(r);
	return err;
}

static int
knl_rule_add(struct kernel_ops *ops, const struct kernel_rule *kr)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_rule *r;
	int err;

	if ((err = rule_build(kr, true, &r)) < 0)
		return err;
	k->kerr = 0;
	/* EXCL: rules have no key, a second add would make a duplicate. */
	err = rtnl_rule_add(k->sk, r, NLM_F_EXCL);
	if (err < 0)
		knl_flush(k);
	rtnl_rule_put(r);
	return knl_status(k, err);
}

static int
knl_rule_del(struct kernel_ops *ops, const struct kernel_rule *kr)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_rule *r;
	int err;

	if ((err = rule_build(kr, false, &r)) < 0)
		return err;
	k->kerr = 0;
	err = rtnl_rule_delete(k->sk, r, 0);
	if (err < 0)
		knl_flush(k);
	rtnl_rule_put(r);
	return knl_status(k, err);
}

/* --- conntrack ------------------------------------------------------------ */

/*
 * IPCTNL_MSG_CT_DELETE without a tuple is a flush; with CTA_MARK and
 * CTA_MARK_MASK the kernel deletes only the entries whose mark matches
 * (nfgen version 0: every address family).
 */
static int
knl_conntrack_flush(struct kernel_ops *ops, uint32_t mark, uint32_t mask)
{
	struct kernel_nl *k = knl_of(ops);
	struct nfgenmsg nfg = { .nfgen_family = AF_UNSPEC,
				.version = NFNETLINK_V0 };
	struct nl_msg *msg;
	int err;

	if (mark == 0 || mask == 0 || (mark & ~mask) != 0)
		return -EINVAL;
	if (k->nf == NULL) {
		if ((k->nf = nl_socket_alloc()) == NULL)
			return -ENOMEM;
		if ((err = nl_connect(k->nf, NETLINK_NETFILTER)) < 0) {
			nl_socket_free(k->nf);
			k->nf = NULL;
			return nlerr_to_errno(err);
		}
		nl_socket_modify_err_cb(k->nf, NL_CB_CUSTOM, knl_error_cb, k);
	}
	msg = nlmsg_alloc_simple((NFNL_SUBSYS_CTNETLINK << 8) |
				 IPCTNL_MSG_CT_DELETE, 0);
	if (msg == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &nfg, sizeof(nfg), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, CTA_MARK, htonl(mark)) < 0 ||
	    nla_put_u32(msg, CTA_MARK_MASK, htonl(mask)) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	k->kerr = 0;
	err = nl_send_auto(k->nf, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_wait_for_ack(k->nf);
	return knl_status(k, err);
}

/* --- sysctl -------------------------------------------------------------- */

static int
knl_sysctl_set(struct kernel_ops *ops, const char *path, const char *value)
{
	char file[256];
	size_t len;
	ssize_t n;
	int fd, err = 0;

	if (path == NULL || value == NULL || path[0] == '/' ||
	    strstr(path, "..") != NULL)
		return -EINVAL;
	if ((size_t)snprintf(file, sizeof(file), "/proc/sys/%s", path) >=
	    sizeof(file))
		return -ENAMETOOLONG;
	if ((fd = open(file, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	len = strlen(value);
	n = write(fd, value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) < 0 && err == 0)
		err = -errno;
	return err;
}

/* --- monitor ------------------------------------------------------------- */

static int
mon_valid_cb(struct nl_msg *msg, void *arg)
{
	struct kernel_nl *k = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	/*
	 * rtnetlink stamps a notification with the port of the socket whose
	 * request caused it: our own changes are already known.  What the
	 * kernel does on its own (routes flushed with a link) carries port 0
	 * and is looked at.
	 */
	if (h->nlmsg_pid != 0 && h->nlmsg_pid == nl_socket_get_local_port(k->sk))
		return NL_OK;

	switch (h->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		/* Cached clones are not routes anybody configured. */
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) &&
		    (((struct rtmsg *)nlmsg_data(h))->rtm_flags &
		     RTM_F_CLONED))
			break;
		k->mon_changed = true;
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWRULE:
	case RTM_DELRULE:
	case RTM_NEWNEXTHOP:
	case RTM_DELNEXTHOP:
		k->mon_changed = true;
		break;
	default:
		break;
	}
	return NL_OK;
}

/*
 * Double the monitor's receive buffer, up to MON_RCVBUF_MAX.  SO_RCVBUF
 * reads back twice what was set, so setting what we read doubles it.
 * SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; SO_RCVBUF is the
 * fallback without it.
 */
static void
mon_grow(struct kernel_nl *k)
{
	int fd = nl_socket_get_fd(k->mon), cur = 0, want;
	socklen_t len = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cur, &len) < 0 || cur <= 0)
		cur = MON_RCVBUF_INIT / 2;
	want = cur >= MON_RCVBUF_MAX / 2 ? MON_RCVBUF_MAX / 2 : cur;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want,
				 sizeof(want));
}

static int
knl_monitor_fd(struct kernel_ops *ops)
{
	return nl_socket_get_fd(knl_of(ops)->mon);
}

static int
knl_monitor_drain(struct kernel_ops *ops)
{
	struct kernel_nl *k = knl_of(ops);
	struct nl_cb *cb;
	int fd = nl_socket_get_fd(k->mon), soerr = 0, err = 0;
	socklen_t len = sizeof(soerr);
	bool overrun = false;

	k->mon_changed = false;
	/* An overrun not yet reported by recvmsg() sits in SO_ERROR. */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
	    soerr == ENOBUFS)
		overrun = true;
	if ((cb = nl_socket_get_cb(k->mon)) == NULL)
		return -ENOMEM;
	for (int i = 0; i < MON_DRAIN_MAX; i++) {
		/* _report: nl_recvmsgs() says 0 for "read some" and "none". */
		err = nl_recvmsgs_report(k->mon, cb);
		if (err == -NLE_AGAIN || err == 0) {
			err = 0;
			break;
		}
		/* libnl folds ENOBUFS into NLE_NOMEM. */
		if (err == -NLE_NOMEM) {
			overrun = true;
			err = 0;
			continue;
		}
		if (err < 0 && err != -NLE_MSG_TRUNC &&
		    err != -NLE_SEQ_MISMATCH)
			break;
		err = 0;
	}
	nl_cb_put(cb);
	if (overrun) {
		mon_grow(k);
		return -ENOBUFS;
	}
	if (err < 0)
		return nlerr_to_errno(err);
	return k->mon_changed ? 1 : 0;
}

/* --- life cycle ---------------------------------------------------------- */

static void
knl_destroy(struct kernel_ops *ops)
{
	struct kernel_nl *k = knl_of(ops);

	kernel_nft_destroy(k->nft);
	if (k->nf != NULL)
		nl_socket_free(k->nf);
	if (k->mon != NULL)
		nl_socket_free(k->mon);
	if (k->sk != NULL)
		nl_socket_free(k->sk);
	free(k);
}

static int
knl_open(struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (sk == NULL)
		return -ENOMEM;
	if ((err = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		nl_socket_free(sk);
		return nlerr_to_errno(err);
	}
	*out = sk;
	return 0;
}

/* nftables goes through libnftables (kernel_nft.c). */
static int
knl_nft_run(struct kernel_ops *ops, const char *script, char **output)
{
	return kernel_nft_run(knl_of(ops)->nft, script, output);
}

static int
knl_nft_monitor_fd(struct kernel_ops *ops)
{
	return kernel_nft_monitor_fd(knl_of(ops)->nft);
}

static int
knl_nft_monitor_drain(struct kernel_ops *ops)
{
	return kernel_nft_monitor_drain(knl_of(ops)->nft);
}

struct kernel_ops *
kernel_nl_create(int *err)
{
	return kernel_nl_create_marked(KERNEL_LINK_ALIAS_PREFIX, err);
}

struct kernel_ops *
kernel_nl_create_marked(const char *link_mark, int *err)
{
	struct kernel_nl *k = calloc(1, sizeof(*k));
	int fd, size = MON_RCVBUF_INIT, e;

	if (k == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	k->link_mark = link_mark;
	k->ops = (struct kernel_ops){
		.link_dump = knl_link_dump,
		.link_set = knl_link_set,
		.link_del = knl_link_del,
		.addr_dump = knl_addr_dump,
		.addr_add = knl_addr_add,
		.addr_del = knl_addr_del,
		.route_dump = knl_route_dump,
		.route_replace = knl_route_replace,
		.route_del = knl_route_del,
		.nhobj_dump = knl_nhobj_dump,
		.nhobj_replace = knl_nhobj_replace,
		.nhobj_del = knl_nhobj_del,
		.rule_dump = knl_rule_dump,
		.rule_add = knl_rule_add,
		.rule_del = knl_rule_del,
		.conntrack_flush = knl_conntrack_flush,
		.sysctl_set = knl_sysctl_set,
		.nft_run = knl_nft_run,
		.nft_monitor_fd = knl_nft_monitor_fd,
		.nft_monitor_drain = knl_nft_monitor_drain,
		.monitor_fd = knl_monitor_fd,
		.monitor_drain = knl_monitor_drain,
		.destroy = knl_destroy,
	};
	if ((k->nft = kernel_nft_create(&e)) == NULL)
		goto fail;
	if ((e = knl_open(&k->sk)) < 0 || (e = knl_open(&k->mon)) < 0)
		goto fail;
	e = nlerr_to_errno(nl_socket_modify_err_cb(k->sk, NL_CB_CUSTOM,
						   knl_error_cb, k));
	if (e < 0)
		goto fail;

	nl_socket_disable_seq_check(k->mon);
	e = nlerr_to_errno(nl_socket_modify_cb(k->mon, NL_CB_VALID,
					       NL_CB_CUSTOM, mon_valid_cb, k));
	if (e == 0)
		e = nlerr_to_errno(nl_socket_add_memberships(
			k->mon, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
			RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_NEXTHOP,
			0));
	if (e == 0)
		e = nlerr_to_errno(nl_socket_set_nonblocking(k->mon));
	if (e < 0)
		goto fail;
	fd = nl_socket_get_fd(k->mon);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
				 sizeof(size));
	return &k->ops;
fail:
	knl_destroy(&k->ops);
	*err = e;
	return NULL;
}
