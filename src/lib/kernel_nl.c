/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libnl-3 kernel backend (see kernel_nl.h).
 *
 * Requests go out one at a time on a persistent socket and wait for the
 * kernel's ACK, all through knl_request(); dumps all go through
 * knl_dump_each().  Nothing here keeps a cache, because the reconciler holds
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
#include "lib/vec.h"

#include <linux/fib_rules.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
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
	struct nl_sock *xfrm;	/* NETLINK_XFRM, opened on first use */
	int kerr;		/* errno of the last NLMSG_ERROR on sk */
	bool mon_changed;
	struct kernel_nft *nft;	/* libnftables and its event socket */
	/* Which links we may touch: the alias prefix, and for XFRM
	 * interfaces the if_id range (only the link fields are used). */
	struct kernel_marks marks;
};

/* The messages of one dump, kept until the dump is complete. */
struct msgvec {
	struct nl_msg **v;
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
knl_flush(struct nl_sock *sk)
{
	char buf[4096];
	int fd = nl_socket_get_fd(sk);

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * Send @msg (consumed) on @sk and wait for the kernel's ACK.  With
 * @reply, the answer to a get comes first and each of its messages goes
 * to @reply.  Every request goes through here: the result is the errno
 * the kernel sent (knl_error_cb), and a failed exchange leaves nothing in
 * the socket to be taken for the next answer.
 */
static int
knl_request(struct kernel_nl *k, struct nl_sock *sk, struct nl_msg *msg,
	    nl_recvmsg_msg_cb_t reply, void *arg)
{
	struct nl_cb *scb, *cb;
	int err;

	k->kerr = 0;
	err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err >= 0 && reply != NULL) {
		scb = nl_socket_get_cb(sk);
		cb = nl_cb_clone(scb);
		nl_cb_put(scb);
		if (cb == NULL) {
			err = -NLE_NOMEM;
		} else {
			nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, reply, arg);
			err = nl_recvmsgs(sk, cb);
			nl_cb_put(cb);
		}
	}
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	if (err < 0)
		knl_flush(sk);
	return knl_status(k, err);
}

static void
msgvec_clear(struct msgvec *mv)
{
	for (size_t i = 0; i < mv->n; i++)
		nlmsg_free(mv->v[i]);	/* drops our reference */
	free(mv->v);
	memset(mv, 0, sizeof(*mv));
}

static int
dump_keep_cb(struct nl_msg *msg, void *arg)
{
	struct msgvec *mv = arg;

	if (mv->err)
		return NL_OK;
	if (VEC_PUSH(mv->v, mv->n, mv->cap, msg) < 0) {
		mv->err = -ENOMEM;
		return NL_OK;
	}
	nlmsg_get(msg);
	return NL_OK;
}

/*
 * Dump @type (request header @hdr, @hdrlen bytes), then call @each once
 * per message of the dump, which returns 0 or a negative errno that ends
 * the walk.  Nothing is handed on before the dump is complete: one the
 * kernel marks inconsistent (NLM_F_DUMP_INTR, something changed while it
 * ran) is read again, up to DUMP_TRIES times, so @each never sees an
 * object twice, and what @each does with the socket cannot mix with the
 * dump.
 */
static int
knl_dump_each_on(struct kernel_nl *k, struct nl_sock *sk, int type,
		 const void *hdr, size_t hdrlen,
		 int (*each)(struct nl_msg *msg, void *arg), void *arg)
{
	struct msgvec mv = { 0 };
	struct nl_cb *scb, *cb;
	int err;

	for (int tries = 0;; tries++) {
		k->kerr = 0;
		err = nl_send_simple(sk, type, NLM_F_DUMP, (void *)hdr,
				     hdrlen);
		if (err >= 0) {
			scb = nl_socket_get_cb(sk);
			cb = nl_cb_clone(scb);
			nl_cb_put(scb);
			if (cb == NULL)
				return -ENOMEM;
			nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_keep_cb,
				  &mv);
			err = nl_recvmsgs(sk, cb);
			nl_cb_put(cb);
		}
		if (err == -NLE_DUMP_INTR && tries + 1 < DUMP_TRIES) {
			msgvec_clear(&mv);
			continue;
		}
		break;
	}
	if (err < 0 || mv.err) {
		int ret = err < 0 ? knl_status(k, err) : mv.err;

		knl_flush(sk);
		msgvec_clear(&mv);
		return ret;
	}
	for (size_t i = 0; i < mv.n && err == 0; i++)
		err = each(mv.v[i], arg);
	msgvec_clear(&mv);
	return err;
}

static int
knl_dump_each(struct kernel_nl *k, int type, const void *hdr, size_t hdrlen,
	      int (*each)(struct nl_msg *msg, void *arg), void *arg)
{
	return knl_dump_each_on(k, k->sk, type, hdr, hdrlen, each, arg);
}

/* Dump @type of address family @family (struct rtgenmsg, as
 * nl_rtgen_request() sends it). */
static int
knl_dump_family(struct kernel_nl *k, int type, int family,
		int (*each)(struct nl_msg *msg, void *arg), void *arg)
{
	struct rtgenmsg g = { .rtgen_family = (unsigned char)family };

	return knl_dump_each(k, type, &g, sizeof(g), each, arg);
}

/* libnl's object for @msg to @cb; a message libnl cannot make an object
 * of is skipped. */
static int
knl_parse(struct nl_msg *msg, void (*cb)(struct nl_object *, void *),
	  void *arg)
{
	return nl_msg_parse(msg, cb, arg) == -NLE_NOMEM ? -ENOMEM : 0;
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

/* @a as an IPv6 address; false if it is anything else. */
static bool
addr_v6(struct nl_addr *a, struct in6_addr *out)
{
	if (a == NULL || nl_addr_get_family(a) != AF_INET6 ||
	    nl_addr_get_len(a) != sizeof(*out))
		return false;
	memcpy(out, nl_addr_get_binary_addr(a), sizeof(*out));
	return true;
}

/* An nl_addr for prefix @p of @family (@p may be family 0 with length 0,
 * "any", of either family); NULL on allocation failure. */
static struct nl_addr *
addr_build_prefix(int family, const struct ts_prefix *p)
{
	struct nl_addr *na;

	if (family == AF_INET6)
		na = nl_addr_build(AF_INET6, &p->v6, sizeof(p->v6));
	else
		na = nl_addr_build(AF_INET, &p->v4, sizeof(p->v4));
	if (na != NULL)
		nl_addr_set_prefixlen(na, p->len);
	return na;
}

/* A prefix of @family as we can send it: its own family, or 0 for "any"
 * (length 0, all bits 0 in either family's view). */
static bool
prefix_of(int family, const struct ts_prefix *p)
{
	if (p->family == 0)
		return p->len == 0;
	return p->family == family &&
	       p->len <= (family == AF_INET6 ? 128u : 32u);
}

/* @a (an address of @family, with its prefix length) as *@out. */
static bool
prefix_from_nl(struct nl_addr *a, int family, struct ts_prefix *out)
{
	int len = a ? (int)nl_addr_get_prefixlen(a) : -1;

	memset(out, 0, sizeof(*out));
	if (len < 0 || len > (family == AF_INET6 ? 128 : 32))
		return false;
	out->family = family;
	out->len = (uint8_t)len;
	/* A default route's dst has no address bytes at all. */
	if (nl_addr_get_len(a) == 0)
		return true;
	return family == AF_INET6 ? addr_v6(a, &out->v6) :
				    addr_v4(a, &out->v4);
}

/* fe80::/10: the kernel's own on every link (see struct kernel_addr). */
static bool
v6_link_local(const struct in6_addr *a)
{
	return IN6_IS_ADDR_LINKLOCAL(a);
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
		uint32_t if_id = 0, dev = 0;

		out->kind = KERNEL_LINK_XFRM;
		if (rtnl_link_xfrmi_get_if_id(l, &if_id) == 0)
			out->if_id = if_id;
		/* An underlay that went away leaves "": never equal to a
		 * desired device, so the next pass re-binds or fails. */
		if (rtnl_link_xfrmi_get_link(l, &dev) == 0 && dev != 0 &&
		    if_indextoname(dev, out->dev) == NULL)
			out->dev[0] = '\0';
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

struct link_each {
	kernel_link_cb cb;
	void *arg;
};

static void
link_obj_cb(struct nl_object *obj, void *arg)
{
	struct link_each *e = arg;
	struct kernel_link l;

	link_from_nl((struct rtnl_link *)obj, &l);
	e->cb(&l, e->arg);
}

static int
link_msg_cb(struct nl_msg *msg, void *arg)
{
	return knl_parse(msg, link_obj_cb, arg);
}

static int
knl_link_dump(struct kernel_ops *ops, kernel_link_cb cb, void *arg)
{
	struct link_each e = { cb, arg };

	return knl_dump_family(knl_of(ops), RTM_GETLINK, AF_UNSPEC,
			       link_msg_cb, &e);
}

/*
 * The link called @name, or -ENODEV.  Asked by netlink, not with
 * if_nametoindex(): SIOCGIFINDEX on a missing name makes the kernel try
 * request_module("netdev-NAME"), a modprobe exec per absent link.
 */
static void
link_keep_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_link **out = arg;

	if (*out == NULL) {
		nl_object_get(obj);
		*out = (struct rtnl_link *)obj;
	}
}

static int
link_reply_cb(struct nl_msg *msg, void *arg)
{
	(void)knl_parse(msg, link_keep_cb, arg);
	return NL_OK;
}

static int
link_get(struct kernel_nl *k, const char *name, struct rtnl_link **out)
{
	struct nl_msg *msg;
	int err;

	*out = NULL;
	if ((err = rtnl_link_build_get_request(0, name, &msg)) < 0)
		return nlerr_to_errno(err);
	err = knl_request(k, k->sk, msg, link_reply_cb, out);
	if (err == 0 && *out == NULL)
		err = -ENODEV;
	if (err < 0 && *out != NULL) {
		rtnl_link_put(*out);
		*out = NULL;
	}
	return err == -ENOENT ? -ENODEV : err;
}

static struct rtnl_link *
link_alloc_kind(enum kernel_link_kind kind)
{
	return kind == KERNEL_LINK_GRE ? rtnl_link_ipgre_alloc()
				       : rtnl_link_xfrmi_alloc();
}

/* The ifindex of the link called @name, or -ENODEV. */
static int
link_ifindex(struct kernel_nl *k, const char *name, uint32_t *out)
{
	struct rtnl_link *l;
	int err;

	if (!name_ok(name))
		return -EINVAL;
	if ((err = link_get(k, name, &l)) < 0)
		return err;
	*out = (uint32_t)rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return 0;
}

/*
 * Kind-specific data, all of it: the kernel's changelink zeroes whatever a
 * request leaves out (an XFRM interface without IFLA_XFRM_LINK loses its
 * underlay).  No iflags/oflags/keys: a bare 4-byte GRE header.
 */
static int
link_fill_kind(struct kernel_nl *k, struct rtnl_link *l,
	       const struct kernel_link *want)
{
	uint32_t dev = 0;
	int err;

	if (want->kind == KERNEL_LINK_XFRM) {
		if (want->dev[0] != '\0' &&
		    (err = link_ifindex(k, want->dev, &dev)) < 0)
			return err;
		if ((err = rtnl_link_xfrmi_set_if_id(l, want->if_id)) < 0 ||
		    (err = rtnl_link_xfrmi_set_link(l, dev)) < 0)
			return nlerr_to_errno(err);
		return 0;
	}
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
	struct nl_msg *msg;
	int err;

	if ((err = rtnl_link_build_change_request(orig, chg, 0, &msg)) < 0)
		return nlerr_to_errno(err);
	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK)
		return knl_request(k, k->sk, msg, NULL, NULL);
	err = knl_request(k, k->sk, msg, NULL, NULL);
	/* As rtnl_link_change(): kernels that cannot change a link by
	 * RTM_NEWLINK are asked again by RTM_SETLINK. */
	if (err != -EOPNOTSUPP)
		return err;
	if ((err = rtnl_link_build_change_request(orig, chg, 0, &msg)) < 0)
		return nlerr_to_errno(err);
	nlmsg_hdr(msg)->nlmsg_type = RTM_SETLINK;
	return knl_request(k, k->sk, msg, NULL, NULL);
}

static int
link_delete(struct kernel_nl *k, struct rtnl_link *l)
{
	struct nl_msg *msg;
	int err;

	if ((err = rtnl_link_build_delete_request(l, &msg)) < 0)
		return nlerr_to_errno(err);
	return knl_request(k, k->sk, msg, NULL, NULL);
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
	struct nl_msg *msg;
	int err;

	if ((l = link_alloc_kind(want->kind)) == NULL)
		return -ENOMEM;
	rtnl_link_set_name(l, want->name);
	if (want->mtu != 0)
		rtnl_link_set_mtu(l, want->mtu);
	if (want->up)
		rtnl_link_set_flags(l, IFF_UP);
	if ((err = link_fill_kind(k, l, want)) < 0)
		goto out;
	err = rtnl_link_build_add_request(l, NLM_F_CREATE | NLM_F_EXCL, &msg);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto out;
	}
	if ((err = knl_request(k, k->sk, msg, NULL, NULL)) < 0)
		goto out;

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
	    !kernel_marks_link(&k->marks, want))
		return -EINVAL;
	/*
	 * Create first: at a start that makes every tunnel this is one
	 * round trip less per link than asking for it first, and NLM_F_EXCL
	 * leaves whatever holds the name (ours or not) as it is.  -EEXIST
	 * can also mean another link has our tunnel's parameters (the
	 * kernel refuses a second GRE tunnel with the same endpoints, a
	 * second XFRM interface with the same if_id): then there is no
	 * link by our name either, and the answer stays -EEXIST.
	 */
	if ((err = link_create(k, want)) != -EEXIST)
		return err;
	if ((err = link_get(k, want->name, &cur)) < 0)
		return err == -ENODEV ? -EEXIST : err;

	link_from_nl(cur, &have);
	if (!kernel_marks_link(&k->marks, &have)) {
		err = -EEXIST;
		goto out;
	}
	/* The kernel changes an XFRM interface's if_id in place but never
	 * its underlay (xfrmi_change(): -EINVAL). */
	if (have.kind != want->kind ||
	    (want->kind == KERNEL_LINK_XFRM && strcmp(have.dev, want->dev) != 0))
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
		if ((err = link_fill_kind(k, chg, want)) < 0)
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
	/* Not without the new underlay: the old interface would be gone
	 * and the new one impossible. */
	if (want->kind == KERNEL_LINK_XFRM && want->dev[0] != '\0') {
		uint32_t dev;

		if ((err = link_ifindex(k, want->dev, &dev)) < 0)
			goto out;
	}
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
	err = kernel_marks_link(&k->marks, &have) ? link_delete(k, cur) :
						     -EPERM;
	rtnl_link_put(cur);
	return err;
}

/* --- addresses ----------------------------------------------------------- */

/*
 * Either family; IPv6 link-local addresses (fe80::/10, scope link) are
 * the kernel's own and never reported.  A peer is only read for IPv4.
 */
static bool
addr_from_nl(struct rtnl_addr *a, struct kernel_addr *out)
{
	int family = rtnl_addr_get_family(a);
	struct nl_addr *local = rtnl_addr_get_local(a);
	int len = rtnl_addr_get_prefixlen(a);

	memset(out, 0, sizeof(*out));
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (!prefix_from_nl(local, family, &out->local) ||
	    nl_addr_get_len(local) == 0 || len < 0 ||
	    len > (family == AF_INET6 ? 128 : 32))
		return false;
	/* The local address carries no length of its own: the message's. */
	out->local.len = (uint8_t)len;
	if (family == AF_INET6 &&
	    (rtnl_addr_get_scope(a) == RT_SCOPE_LINK ||
	     v6_link_local(&out->local.v6)))
		return false;
	if (if_indextoname((unsigned int)rtnl_addr_get_ifindex(a),
			   out->ifname) == NULL)
		return false;	/* the link went away meanwhile */
	if (family != AF_INET || !addr_v4(rtnl_addr_get_peer(a), &out->peer))
		out->peer.s_addr = 0;
	return true;
}

struct addr_each {
	kernel_addr_cb cb;
	void *arg;
};

static void
addr_obj_cb(struct nl_object *obj, void *arg)
{
	struct addr_each *e = arg;
	struct kernel_addr a;

	if (addr_from_nl((struct rtnl_addr *)obj, &a))
		e->cb(&a, e->arg);
}

static int
addr_msg_cb(struct nl_msg *msg, void *arg)
{
	return knl_parse(msg, addr_obj_cb, arg);
}

static int
knl_addr_dump(struct kernel_ops *ops, kernel_addr_cb cb, void *arg)
{
	struct addr_each e = { cb, arg };

	/* AF_UNSPEC: both families in one dump. */
	return knl_dump_family(knl_of(ops), RTM_GETADDR, AF_UNSPEC,
			       addr_msg_cb, &e);
}

/*
 * An IPv6 link-local address is the kernel's, and an IPv6 address takes
 * no peer: both -EINVAL.  IPv6 addresses skip duplicate address
 * detection: ours sit on point-to-point tunnels, where a tentative
 * address would only delay the first probes.
 */
static int
addr_build(const struct kernel_addr *ka, struct rtnl_addr **out)
{
	struct rtnl_addr *a;
	struct nl_addr *local = NULL, *peer = NULL;
	int family = ka->local.family;
	unsigned int ifindex;
	int err;

	if (!name_ok(ka->ifname) ||
	    (family != AF_INET && family != AF_INET6) ||
	    !prefix_of(family, &ka->local))
		return -EINVAL;
	if (family == AF_INET6 &&
	    (ka->peer.s_addr != 0 || v6_link_local(&ka->local.v6)))
		return -EINVAL;
	if ((ifindex = if_nametoindex(ka->ifname)) == 0)
		return -ENODEV;
	if ((a = rtnl_addr_alloc()) == NULL)
		return -ENOMEM;
	rtnl_addr_set_ifindex(a, (int)ifindex);
	rtnl_addr_set_family(a, family);
	if (family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	local = addr_build_prefix(family, &ka->local);
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
	struct rtnl_addr *a;
	struct nl_msg *msg;
	int err;

	if ((err = addr_build(ka, &a)) < 0)
		return err;
	/* REPLACE: adding what is there already is not an error. */
	err = rtnl_addr_build_add_request(a, NLM_F_REPLACE, &msg);
	rtnl_addr_put(a);
	if (err < 0)
		return nlerr_to_errno(err);
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
}

static int
knl_addr_del(struct kernel_ops *ops, const struct kernel_addr *ka)
{
	struct rtnl_addr *a;
	struct nl_msg *msg;
	int err;

	if ((err = addr_build(ka, &a)) < 0)
		return err;
	err = rtnl_addr_build_delete_request(a, 0, &msg);
	rtnl_addr_put(a);
	if (err < 0)
		return nlerr_to_errno(err);
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
}

/* --- routes -------------------------------------------------------------- */

struct route_nh {
	struct kernel_route *r;
	bool unrepresentable;	/* an IPv6 gateway */
};

static void
nh_from_nl_cb(struct rtnl_nexthop *nh, void *arg)
{
	struct route_nh *rn = arg;
	struct kernel_route *r = rn->r;
	struct kernel_nexthop *out;
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	int ifindex = rtnl_route_nh_get_ifindex(nh);

	if (r->n_nexthops >= KERNEL_MAX_NEXTHOPS)
		return;
	out = &r->nh[r->n_nexthops++];
	memset(out, 0, sizeof(*out));
	if (ifindex <= 0 ||
	    if_indextoname((unsigned int)ifindex, out->dev) == NULL)
		out->dev[0] = '\0';
	if (gw != NULL && nl_addr_get_family(gw) == AF_INET6)
		rn->unrepresentable = true;
	else if (!addr_v4(gw, &out->gw))
		out->gw.s_addr = 0;
	/* rtnh_hops is weight - 1; a plain RTA_OIF route reads as hops 0. */
	out->weight = (uint16_t)(rtnl_route_nh_get_weight(nh) + 1);
}

/*
 * Either family.  A route through an IPv6 gateway has no kernel_route
 * form (struct kernel_nexthop holds IPv4 gateways only) and is skipped,
 * as nexthop objects with one are: we never make one, so one of ours that
 * someone gave an IPv6 gateway reads as missing and is replaced.  A
 * blackhole has no nexthops, although the kernel reports an IPv6 one's
 * device (lo).
 */
static bool
route_from_nl(struct rtnl_route *rt, uint32_t nhid, struct kernel_route *out)
{
	int family = rtnl_route_get_family(rt);
	struct route_nh rn = { out, false };

	if ((family != AF_INET && family != AF_INET6) ||
	    (rtnl_route_get_flags(rt) & RTM_F_CLONED))
		return false;
	memset(out, 0, sizeof(*out));
	out->table = rtnl_route_get_table(rt);
	if (!prefix_from_nl(rtnl_route_get_dst(rt), family, &out->dst))
		return false;
	out->metric = rtnl_route_get_priority(rt);
	out->protocol = rtnl_route_get_protocol(rt);
	out->blackhole = rtnl_route_get_type(rt) == RTN_BLACKHOLE;
	/* Through a nexthop object, the paths listed are the object's. */
	out->nhid = nhid;
	if (nhid == 0 && !out->blackhole)
		rtnl_route_foreach_nexthop(rt, nh_from_nl_cb, &rn);
	return !rn.unrepresentable;
}

struct route_each {
	kernel_route_cb cb;
	void *arg;
	struct kernel_route *r;	/* large (64 nexthops): one, reused */
	uint32_t nhid;		/* of the message being parsed */
};

static void
route_obj_cb(struct nl_object *obj, void *arg)
{
	struct route_each *e = arg;

	if (route_from_nl((struct rtnl_route *)obj, e->nhid, e->r))
		e->cb(e->r, e->arg);
}

static int
route_msg_cb(struct nl_msg *msg, void *arg)
{
	struct route_each *e = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *a;

	/* libnl 3.7 knows no RTA_NH_ID: take it from the message. */
	e->nhid = 0;
	if (h->nlmsg_type == RTM_NEWROUTE &&
	    (a = nlmsg_find_attr(h, sizeof(struct rtmsg), RTA_NH_ID)) != NULL &&
	    nla_len(a) == sizeof(uint32_t))
		e->nhid = nla_get_u32(a);
	return knl_parse(msg, route_obj_cb, e);
}

static int
knl_route_dump(struct kernel_ops *ops, kernel_route_cb cb, void *arg)
{
	struct route_each e = { cb, arg, malloc(sizeof(*e.r)), 0 };
	int err;

	if (e.r == NULL)
		return -ENOMEM;
	/* Each family with no table: every table, ids above 255 via
	 * RTA_TABLE.  (AF_UNSPEC would add the multicast routing tables.) */
	err = knl_dump_family(knl_of(ops), RTM_GETROUTE, AF_INET, route_msg_cb,
			      &e);
	if (err == 0)
		err = knl_dump_family(knl_of(ops), RTM_GETROUTE, AF_INET6,
				      route_msg_cb, &e);
	free(e.r);
	return err;
}

/*
 * A route object for @kr, of its dst's family.  Deletion needs only the
 * key (table, dst, metric) plus protocol and type, so @with_nexthops is
 * false there.  An IPv6 route's nexthops are devices only: an IPv4
 * gateway on one is -EINVAL.  The kernel takes one such nexthop, not
 * several ("device only routes can not be added for IPv6 using the
 * multipath API", -EINVAL): IPv6 ECMP goes through a nexthop group.  It
 * also keeps no IPv6 route at metric 0: that is 1024 there.
 */
static int
route_build(const struct kernel_route *kr, bool with_nexthops,
	    struct rtnl_route **out)
{
	int family = kernel_route_family(kr);
	struct rtnl_route *rt;
	struct nl_addr *dst;
	uint8_t scope = kr->blackhole ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	int err;

	if (!prefix_of(family, &kr->dst))
		return -EAFNOSUPPORT;
	for (unsigned int i = 0; family == AF_INET6 && with_nexthops &&
				 i < kr->n_nexthops && i < KERNEL_MAX_NEXTHOPS; i++)
		if (kr->nh[i].gw.s_addr != 0)
			return -EINVAL;
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
	if ((dst = addr_build_prefix(family, &kr->dst)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	rtnl_route_set_family(rt, (uint8_t)family);
	err = rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	if (err < 0) {
		err = nlerr_to_errno(err);
		goto fail;
	}
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

static int
knl_route_replace(struct kernel_ops *ops, const struct kernel_route *kr)
{
	struct kernel_nl *k = knl_of(ops);
	struct rtnl_route *rt;
	struct nl_msg *msg = NULL;
	int err;

	if ((err = route_build(kr, true, &rt)) < 0)
		return err;
	err = rtnl_route_build_add_request(rt, NLM_F_CREATE | NLM_F_REPLACE,
					   &msg);
	rtnl_route_put(rt);
	if (err < 0)
		return nlerr_to_errno(err);
	/* libnl 3.7 cannot say RTA_NH_ID: add it to the request it builds. */
	if (kr->nhid != 0 && nla_put_u32(msg, RTA_NH_ID, kr->nhid) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return knl_request(k, k->sk, msg, NULL, NULL);
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
	return knl_request(k, k->sk, msg, NULL, NULL);
}

/* --- nexthop objects ------------------------------------------------------ */

/*
 * libnl 3.7 has no nexthop-object API, so requests and dumps are built and
 * parsed here with libnl's message and attribute helpers.  The kernel
 * counts resilient-group timers in clock ticks (USER_HZ).
 */
#define NH_USER_HZ 100

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
 * (IPv6 gateways, blackholes, fdb nexthops): those are never ours.  A
 * path's family is the message's; a group's is left 0 (the kernel says
 * AF_UNSPEC): nhobj_dump derives it from its members. */
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
	if (nhm->nh_family != AF_INET && nhm->nh_family != AF_INET6)
		return false;
	out->family = nhm->nh_family;
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

/* The objects of one dump: groups are reported after every path is
 * known, each with its members' family. */
struct nhobj_vec {
	struct kernel_nhobj *v;
	size_t n, cap;
};

static int
nhobj_msg_cb(struct nl_msg *msg, void *arg)
{
	struct nhobj_vec *nv = arg;
	struct kernel_nhobj nh;

	if (!nhobj_from_msg(nlmsg_hdr(msg), &nh))
		return 0;
	return VEC_PUSH(nv->v, nv->n, nv->cap, nh) < 0 ? -ENOMEM : 0;
}

static int
nhobj_id_cmp(const void *a, const void *b)
{
	const struct kernel_nhobj *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * A group's family, which the kernel does not say (it dumps groups as
 * AF_UNSPEC): AF_INET6 when every member is an IPv6 path, else AF_INET.
 * The kernel lets a group mix families, but an IPv6 route takes no group
 * holding an IPv4 path (fib6_check_nexthop()), so a mixed one is IPv4's.
 * @v is sorted by id.
 */
static uint8_t
nhobj_group_family(const struct kernel_nhobj *v, size_t n,
		   const struct kernel_nhobj *grp)
{
	for (unsigned int i = 0; i < grp->n_members; i++) {
		struct kernel_nhobj key = { .id = grp->member[i].id };
		const struct kernel_nhobj *m =
			bsearch(&key, v, n, sizeof(*v), nhobj_id_cmp);

		if (m == NULL || m->n_members != 0 || m->family != AF_INET6)
			return AF_INET;
	}
	return AF_INET6;
}

static int
knl_nhobj_dump(struct kernel_ops *ops, kernel_nhobj_cb cb, void *arg)
{
	struct nhmsg nhm = { .nh_family = AF_UNSPEC };
	struct nhobj_vec nv = { 0 };
	int err;

	err = knl_dump_each(knl_of(ops), RTM_GETNEXTHOP, &nhm, sizeof(nhm),
			    nhobj_msg_cb, &nv);
	if (err == 0) {
		/* The kernel dumps by id already; sorting costs nothing then. */
		if (nv.n > 1)
			qsort(nv.v, nv.n, sizeof(*nv.v), nhobj_id_cmp);
		for (size_t i = 0; i < nv.n; i++)
			if (nv.v[i].n_members != 0)
				nv.v[i].family = nhobj_group_family(nv.v, nv.n,
								    &nv.v[i]);
		for (size_t i = 0; i < nv.n; i++)
			cb(&nv.v[i], arg);
	}
	free(nv.v);
	return err;
}

/*
 * A path is sent with its family (the kernel keeps it, and refuses a path
 * of AF_UNSPEC); an IPv6 path is a device only (a gateway here is IPv4:
 * -EINVAL).  A group is sent as AF_UNSPEC, as the kernel wants: it takes
 * its members' family, and the kernel checks that routes through it fit.
 */
static int
knl_nhobj_replace(struct kernel_ops *ops, const struct kernel_nhobj *nh)
{
	int family = kernel_nhobj_family(nh);
	struct nhmsg nhm = { .nh_family = nh->n_members ? AF_UNSPEC :
							  (uint8_t)family,
			     .nh_protocol = nh->protocol };
	struct nl_msg *msg;
	int err = -EMSGSIZE;

	if (nh->id == 0 || nh->n_members > KERNEL_MAX_NEXTHOPS ||
	    (nh->n_members == 0 && !nh->blackhole && !name_ok(nh->dev)) ||
	    (nh->n_members == 0 && family == AF_INET6 && nh->gw.s_addr != 0))
		return -EINVAL;
	msg = nlmsg_alloc_simple(RTM_NEWNEXTHOP, NLM_F_CREATE | NLM_F_REPLACE);
	if (msg == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &nhm, sizeof(nhm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, NHA_ID, nh->id) < 0)
		goto fail;
	if (nh->n_members == 0 && nh->blackhole) {
		if (nla_put_flag(msg, NHA_BLACKHOLE) < 0)
			goto fail;
	} else if (nh->n_members == 0) {
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
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
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
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
}

/* --- rules --------------------------------------------------------------- */

static bool
rule_from_nl(struct rtnl_rule *r, struct kernel_rule *out)
{
	int family = rtnl_rule_get_family(r);
	struct nl_addr *src = rtnl_rule_get_src(r);
	uint8_t proto = 0;

	if (family != AF_INET && family != AF_INET6)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	out->priority = rtnl_rule_get_prio(r);
	out->table = rtnl_rule_get_table(r);
	out->fwmark = rtnl_rule_get_mark(r);
	out->fwmask = rtnl_rule_get_mask(r);
	if (src != NULL && nl_addr_get_prefixlen(src) > 0 &&
	    !prefix_from_nl(src, family, &out->src))
		return false;
	if (rtnl_rule_get_protocol(r, &proto) == 0)
		out->protocol = proto;
	return true;
}

struct rule_each {
	kernel_rule_cb cb;
	void *arg;
};

static void
rule_obj_cb(struct nl_object *obj, void *arg)
{
	struct rule_each *e = arg;
	struct kernel_rule r;

	if (rule_from_nl((struct rtnl_rule *)obj, &r))
		e->cb(&r, e->arg);
}

static int
rule_msg_cb(struct nl_msg *msg, void *arg)
{
	return knl_parse(msg, rule_obj_cb, arg);
}

static int
knl_rule_dump(struct kernel_ops *ops, kernel_rule_cb cb, void *arg)
{
	struct rule_each e = { cb, arg };
	int err;

	/* Each family apart (AF_UNSPEC would add the multicast routing
	 * rules). */
	err = knl_dump_family(knl_of(ops), RTM_GETRULE, AF_INET, rule_msg_cb,
			      &e);
	if (err == 0)
		err = knl_dump_family(knl_of(ops), RTM_GETRULE, AF_INET6,
				      rule_msg_cb, &e);
	return err;
}

/* A rule of kr->family (0: AF_INET); its source prefix is of the same. */
static int
rule_build(const struct kernel_rule *kr, bool add, struct rtnl_rule **out)
{
	int family = kernel_rule_family(kr);
	struct rtnl_rule *r;
	uint8_t proto = kr->protocol;
	int err;

	if (kr->src.len != 0 && (kr->src.family != family ||
				 !prefix_of(family, &kr->src)))
		return -EINVAL;
	if ((r = rtnl_rule_alloc()) == NULL)
		return -ENOMEM;
	rtnl_rule_set_family(r, family);
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
		struct nl_addr *src = addr_build_prefix(family, &kr->src);

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
	struct rtnl_rule *r;
	struct nl_msg *msg;
	int err;

	if ((err = rule_build(kr, true, &r)) < 0)
		return err;
	/* EXCL: rules have no key, a second add would make a duplicate. */
	err = rtnl_rule_build_add_request(r, NLM_F_EXCL, &msg);
	rtnl_rule_put(r);
	if (err < 0)
		return nlerr_to_errno(err);
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
}

static int
knl_rule_del(struct kernel_ops *ops, const struct kernel_rule *kr)
{
	struct rtnl_rule *r;
	struct nl_msg *msg;
	int err;

	if ((err = rule_build(kr, false, &r)) < 0)
		return err;
	err = rtnl_rule_build_delete_request(r, 0, &msg);
	rtnl_rule_put(r);
	if (err < 0)
		return nlerr_to_errno(err);
	return knl_request(knl_of(ops), knl_of(ops)->sk, msg, NULL, NULL);
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
	return knl_request(k, k->nf, msg, NULL, NULL);
}

/* --- XFRM: SAs another server negotiated ------------------------------- */

/*
 * Built with libnl's messages and attributes over linux/xfrm.h, not
 * libnl-xfrm's objects: those have no XFRMA_IF_ID (the interface an SA
 * and its policies are bound to), and copy keys into heap memory they
 * free unwiped.  Every message that carries a key is wiped before it is
 * freed.
 */

/* Policies we make: one priority, below charon's (it counts up from
 * 1000 for its own); they are bound to an if_id, so only the XFRM
 * interface's own lookups see them. */
#define XFRM_POLICY_PRIO 2500

static int
xfrm_sock(struct kernel_nl *k)
{
	int err;

	if (k->xfrm != NULL)
		return 0;
	if ((k->xfrm = nl_socket_alloc()) == NULL)
		return -ENOMEM;
	if ((err = nl_connect(k->xfrm, NETLINK_XFRM)) < 0 ||
	    (err = nl_socket_modify_err_cb(k->xfrm, NL_CB_CUSTOM, knl_error_cb,
					   k)) < 0) {
		nl_socket_free(k->xfrm);
		k->xfrm = NULL;
		return nlerr_to_errno(err);
	}
	return 0;
}

static bool
xfrm_if_id_ours(const struct kernel_nl *k, uint32_t if_id)
{
	return k->marks.xfrm_if_id_min != 0 &&
	       if_id >= k->marks.xfrm_if_id_min &&
	       if_id <= k->marks.xfrm_if_id_max;
}

/* Send @msg (consumed) and wait for the ACK; with @secret, the message
 * is wiped before it is freed. */
static int
xfrm_request(struct kernel_nl *k, struct nl_msg *msg, bool secret)
{
	int err;

	if ((err = xfrm_sock(k)) < 0) {
		if (secret)
			explicit_bzero(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
		nlmsg_free(msg);
		return err;
	}
	nlmsg_get(msg);		/* ours after knl_request() drops its own */
	err = knl_request(k, k->xfrm, msg, NULL, NULL);
	if (secret)
		explicit_bzero(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);
	return err;
}

static void
xfrm_addr4(xfrm_address_t *a, struct in_addr in)
{
	memset(a, 0, sizeof(*a));
	a->a4 = in.s_addr;
}

static void
xfrm_addr_prefix(xfrm_address_t *a, const struct ts_prefix *p)
{
	memset(a, 0, sizeof(*a));
	if (p->family == AF_INET6)
		memcpy(&a->a6, &p->v6, sizeof(p->v6));
	else
		a->a4 = p->v4.s_addr;
}

static bool
xfrm_put_failed(struct nl_msg *msg, int type, size_t len, const void *data)
{
	return nla_put(msg, type, (int)len, data) < 0;
}

/* The algorithm attributes of one direction of @r ("in" keys or "out"). */
static int
xfrm_put_algs(struct nl_msg *msg, const struct sarec *r, bool in)
{
	const struct sarec_keys *kk = r->keys;
	const uint8_t *ek = in ? kk->encr_in : kk->encr_out;
	const uint8_t *ik = in ? kk->integ_in : kk->integ_out;
	union {
		struct xfrm_algo_aead aead;
		struct xfrm_algo algo;
		struct xfrm_algo_auth auth;
		uint8_t raw[sizeof(struct xfrm_algo_auth) + SAREC_KEY_MAX];
	} u;
	const char *auth_name = NULL;
	unsigned int trunc = 0;
	int err = 0;

	memset(&u, 0, sizeof(u));
	switch (r->encr_alg) {
	case SAREC_ENCR_AES_GCM_16:
		snprintf(u.aead.alg_name, sizeof(u.aead.alg_name),
			 "rfc4106(gcm(aes))");
		u.aead.alg_key_len = kk->encr_len * 8u;
		u.aead.alg_icv_len = 128;
		memcpy(u.aead.alg_key, ek, kk->encr_len);
		if (xfrm_put_failed(msg, XFRMA_ALG_AEAD,
				    sizeof(u.aead) + kk->encr_len, &u))
			err = -EMSGSIZE;
		break;
	case SAREC_ENCR_AES_CBC:
	case SAREC_ENCR_NULL:
		snprintf(u.algo.alg_name, sizeof(u.algo.alg_name), "%s",
			 r->encr_alg == SAREC_ENCR_AES_CBC ? "cbc(aes)"
							   : "ecb(cipher_null)");
		u.algo.alg_key_len = kk->encr_len * 8u;
		memcpy(u.algo.alg_key, ek, kk->encr_len);
		if (xfrm_put_failed(msg, XFRMA_ALG_CRYPT,
				    sizeof(u.algo) + kk->encr_len, &u))
			err = -EMSGSIZE;
		break;
	default:
		err = -EOPNOTSUPP;
	}
	switch (err == 0 ? r->integ_alg : SAREC_INTEG_NONE) {
	case SAREC_INTEG_HMAC_SHA1_96:
		auth_name = "hmac(sha1)";
		trunc = 96;
		break;
	case SAREC_INTEG_HMAC_SHA2_256_128:
		auth_name = "hmac(sha256)";
		trunc = 128;
		break;
	case SAREC_INTEG_NONE:
		break;
	default:
		err = -EOPNOTSUPP;
	}
	if (err == 0 && auth_name != NULL) {
		memset(&u, 0, sizeof(u));
		snprintf(u.auth.alg_name, sizeof(u.auth.alg_name), "%s",
			 auth_name);
		u.auth.alg_key_len = kk->integ_len * 8u;
		u.auth.alg_trunc_len = trunc;
		memcpy(u.auth.alg_key, ik, kk->integ_len);
		if (xfrm_put_failed(msg, XFRMA_ALG_AUTH_TRUNC,
				    sizeof(u.auth) + kk->integ_len, &u))
			err = -EMSGSIZE;
	}
	explicit_bzero(&u, sizeof(u));
	return err;
}

/* One ESP state of @r: inbound (remote -> local, spi_in) or outbound. */
static int
xfrm_state_add(struct kernel_nl *k, const struct sarec *r, bool in, int type)
{
	struct xfrm_usersa_info sa;
	struct nl_msg *msg;
	int err = 0;

	memset(&sa, 0, sizeof(sa));
	xfrm_addr4(&sa.id.daddr, in ? r->local : r->remote);
	xfrm_addr4(&sa.saddr, in ? r->remote : r->local);
	sa.id.spi = htonl(in ? r->spi_in : r->spi_out);
	sa.id.proto = IPPROTO_ESP;
	sa.family = AF_INET;
	sa.mode = XFRM_MODE_TUNNEL;
	sa.reqid = r->reqid;
	/* No limit but time, as charon sets them: a limit of 0 would
	 * expire the state at its first packet. */
	sa.lft.soft_byte_limit = sa.lft.hard_byte_limit = XFRM_INF;
	sa.lft.soft_packet_limit = sa.lft.hard_packet_limit = XFRM_INF;
	sa.lft.hard_add_expires_seconds = r->lifetime_s;
	if (r->replay_window <= 32)
		sa.replay_window = (uint8_t)r->replay_window;
	if ((msg = nlmsg_alloc_simple(type, 0)) == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &sa, sizeof(sa), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, XFRMA_IF_ID, r->if_id) < 0)
		err = -EMSGSIZE;
	/* A window wider than the legacy 32-bit bitmap: the bitmap
	 * attribute (without the ESN flag, the kernel uses it as a plain
	 * one). */
	if (err == 0 && r->replay_window > 32) {
		uint32_t words = (r->replay_window + 31) / 32;
		size_t len = sizeof(struct xfrm_replay_state_esn) +
			     words * sizeof(uint32_t);
		struct xfrm_replay_state_esn *esn = calloc(1, len);

		if (esn == NULL) {
			err = -ENOMEM;
		} else {
			esn->bmp_len = words;
			esn->replay_window = r->replay_window;
			if (xfrm_put_failed(msg, XFRMA_REPLAY_ESN_VAL, len, esn))
				err = -EMSGSIZE;
			free(esn);
		}
	}
	if (err == 0 && r->encap_sport != 0) {
		struct xfrm_encap_tmpl enc = { .encap_type = UDP_ENCAP_ESPINUDP };

		/* The record's ports are ours (sport) and the customer's. */
		enc.encap_sport = htons(in ? r->encap_dport : r->encap_sport);
		enc.encap_dport = htons(in ? r->encap_sport : r->encap_dport);
		if (xfrm_put_failed(msg, XFRMA_ENCAP, sizeof(enc), &enc))
			err = -EMSGSIZE;
	}
	if (err == 0)
		err = xfrm_put_algs(msg, r, in);
	if (err < 0) {
		explicit_bzero(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
		nlmsg_free(msg);
		return err;
	}
	return xfrm_request(k, msg, true);
}

static int
xfrm_state_del(struct kernel_nl *k, struct in_addr dst, uint32_t spi,
	       uint32_t if_id)
{
	struct xfrm_usersa_id id;
	struct nl_msg *msg;
	int err;

	memset(&id, 0, sizeof(id));
	xfrm_addr4(&id.daddr, dst);
	id.spi = htonl(spi);
	id.family = AF_INET;
	id.proto = IPPROTO_ESP;
	if ((msg = nlmsg_alloc_simple(XFRM_MSG_DELSA, 0)) == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &id, sizeof(id), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, XFRMA_IF_ID, if_id) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	err = xfrm_request(k, msg, false);
	return err == -ESRCH || err == -ENOENT ? 0 : err;
}

/* A policy's selector: traffic from @src to @dst. */
static void
xfrm_selector(struct xfrm_selector *sel, const struct ts_prefix *src,
	      const struct ts_prefix *dst)
{
	memset(sel, 0, sizeof(*sel));
	xfrm_addr_prefix(&sel->saddr, src);
	xfrm_addr_prefix(&sel->daddr, dst);
	sel->prefixlen_s = src->len;
	sel->prefixlen_d = dst->len;
	sel->family = src->family;
}

/* Policy @dir between @src and @dst of @r: made (or replaced) with
 * @add, else deleted. */
static int
xfrm_policy(struct kernel_nl *k, const struct sarec *r, uint8_t dir,
	    const struct ts_prefix *src, const struct ts_prefix *dst, bool add)
{
	bool out = dir == XFRM_POLICY_OUT;
	struct nl_msg *msg;
	int err = 0;

	if (add) {
		struct xfrm_userpolicy_info pol;
		struct xfrm_user_tmpl tmpl;

		memset(&pol, 0, sizeof(pol));
		xfrm_selector(&pol.sel, src, dst);
		pol.lft.soft_byte_limit = pol.lft.hard_byte_limit = XFRM_INF;
		pol.lft.soft_packet_limit = pol.lft.hard_packet_limit = XFRM_INF;
		pol.priority = XFRM_POLICY_PRIO;
		pol.dir = dir;
		pol.action = XFRM_POLICY_ALLOW;
		pol.share = XFRM_SHARE_ANY;
		memset(&tmpl, 0, sizeof(tmpl));
		xfrm_addr4(&tmpl.id.daddr, out ? r->remote : r->local);
		xfrm_addr4(&tmpl.saddr, out ? r->local : r->remote);
		tmpl.id.proto = IPPROTO_ESP;
		tmpl.family = AF_INET;
		tmpl.reqid = r->reqid;
		tmpl.mode = XFRM_MODE_TUNNEL;
		tmpl.aalgos = tmpl.ealgos = tmpl.calgos = ~0u;
		if ((msg = nlmsg_alloc_simple(XFRM_MSG_UPDPOLICY, 0)) == NULL)
			return -ENOMEM;
		if (nlmsg_append(msg, &pol, sizeof(pol), NLMSG_ALIGNTO) < 0 ||
		    nla_put(msg, XFRMA_TMPL, sizeof(tmpl), &tmpl) < 0)
			err = -EMSGSIZE;
	} else {
		struct xfrm_userpolicy_id id;

		memset(&id, 0, sizeof(id));
		xfrm_selector(&id.sel, src, dst);
		id.dir = dir;
		if ((msg = nlmsg_alloc_simple(XFRM_MSG_DELPOLICY, 0)) == NULL)
			return -ENOMEM;
		if (nlmsg_append(msg, &id, sizeof(id), NLMSG_ALIGNTO) < 0)
			err = -EMSGSIZE;
	}
	if (err == 0 && nla_put_u32(msg, XFRMA_IF_ID, r->if_id) < 0)
		err = -EMSGSIZE;
	if (err < 0) {
		nlmsg_free(msg);
		return err;
	}
	err = xfrm_request(k, msg, false);
	return !add && (err == -ENOENT || err == -ESRCH) ? 0 : err;
}

/* Every policy of @r: out local -> remote, in and fwd remote -> local,
 * per pair of selectors of one family.  The first error, after trying
 * them all. */
static int
xfrm_policies(struct kernel_nl *k, const struct sarec *r, bool add)
{
	int first = 0;

	for (size_t i = 0; i < r->n_ts_local; i++)
		for (size_t j = 0; j < r->n_ts_remote; j++) {
			const struct ts_prefix *l = &r->ts_local[i];
			const struct ts_prefix *m = &r->ts_remote[j];
			int e[3];

			if (l->family != m->family)
				continue;
			/* Deleting tries the out policy even of an
			 * inbound-only SA: its absence is no error. */
			e[0] = add && r->inbound_only ? 0 :
			       xfrm_policy(k, r, XFRM_POLICY_OUT, l, m, add);
			e[1] = xfrm_policy(k, r, XFRM_POLICY_IN, m, l, add);
			e[2] = xfrm_policy(k, r, XFRM_POLICY_FWD, m, l, add);
			for (int x = 0; x < 3; x++)
				if (first == 0 && e[x] < 0)
					first = e[x];
		}
	return first;
}

static int
knl_xfrm_sa_add(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_nl *k = knl_of(ops);
	int err;

	if (sarec_validate(r) < 0 || !xfrm_if_id_ours(k, r->if_id))
		return -EINVAL;
	if (r->esn)
		return -EOPNOTSUPP;	/* the provider negotiates none */
	for (int in = 1; in >= (r->inbound_only ? 1 : 0); in--) {
		err = xfrm_state_add(k, r, in, XFRM_MSG_NEWSA);
		/* The same SPI again: the record sent twice, or a state
		 * left from before a restart; the record is the truth. */
		if (err == -EEXIST &&
		    (err = xfrm_state_del(k, in ? r->local : r->remote,
					  in ? r->spi_in : r->spi_out,
					  r->if_id)) == 0)
			err = xfrm_state_add(k, r, in, XFRM_MSG_NEWSA);
		if (err < 0) {
			if (!in)	/* not half an SA */
				(void)xfrm_state_del(k, r->local, r->spi_in,
						     r->if_id);
			return err;
		}
	}
	return xfrm_policies(k, r, true);
}

static int
knl_xfrm_sa_del(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_nl *k = knl_of(ops);
	int e1, e2;

	if (!xfrm_if_id_ours(k, r->if_id))
		return -EINVAL;
	e1 = xfrm_state_del(k, r->local, r->spi_in, r->if_id);
	e2 = xfrm_state_del(k, r->remote, r->spi_out, r->if_id);
	return e1 < 0 ? e1 : e2;
}

static int
knl_xfrm_policy_del(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_nl *k = knl_of(ops);

	if (!xfrm_if_id_ours(k, r->if_id))
		return -EINVAL;
	return xfrm_policies(k, r, false);
}

static int
knl_xfrm_policy_add(struct kernel_ops *ops, const struct sarec *r)
{
	struct kernel_nl *k = knl_of(ops);

	if (sarec_validate(r) < 0 || !xfrm_if_id_ours(k, r->if_id))
		return -EINVAL;
	return xfrm_policies(k, r, true);
}

struct xfrm_dump {
	struct kernel_nl *k;
	kernel_xfrm_state_cb cb;
	void *arg;
};

/* One state of a dump, if ours; its keys (dumps carry them) are wiped
 * from the message either way. */
static void
xfrm_state_parse(struct xfrm_dump *d, struct nlmsghdr *h)
{
	const struct xfrm_usersa_info *sa;
	struct nlattr *a;
	struct kernel_xfrm_state st;

	if (h->nlmsg_type != XFRM_MSG_NEWSA ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*sa)))
		return;
	sa = nlmsg_data(h);
	if (sa->id.proto != IPPROTO_ESP || sa->family != AF_INET)
		return;
	a = nlmsg_find_attr(h, sizeof(*sa), XFRMA_IF_ID);
	if (a == NULL || nla_len(a) < (int)sizeof(uint32_t))
		return;
	memset(&st, 0, sizeof(st));
	st.if_id = nla_get_u32(a);
	if (!xfrm_if_id_ours(d->k, st.if_id))
		return;
	st.spi = ntohl(sa->id.spi);
	st.dst.s_addr = sa->id.daddr.a4;
	st.src.s_addr = sa->saddr.a4;
	st.reqid = sa->reqid;
	st.replay_window = sa->replay_window;
	a = nlmsg_find_attr(h, sizeof(*sa), XFRMA_REPLAY_ESN_VAL);
	if (a != NULL &&
	    nla_len(a) >= (int)sizeof(struct xfrm_replay_state_esn))
		st.replay_window =
		    ((const struct xfrm_replay_state_esn *)nla_data(a))
			->replay_window;
	st.packets = sa->curlft.packets;
	st.bytes = sa->curlft.bytes;
	st.replay_failed = sa->stats.replay;
	st.integrity_failed = sa->stats.integrity_failed;
	d->cb(&st, d->arg);
}

static int
xfrm_state_msg_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);

	xfrm_state_parse(arg, h);
	if (h->nlmsg_len > NLMSG_HDRLEN)
		explicit_bzero(nlmsg_data(h), h->nlmsg_len - NLMSG_HDRLEN);
	return 0;
}

static int
knl_xfrm_state_dump(struct kernel_ops *ops, kernel_xfrm_state_cb cb,
		    void *arg)
{
	struct kernel_nl *k = knl_of(ops);
	struct xfrm_dump d = { k, cb, arg };
	struct xfrm_usersa_id id;
	int err;

	if ((err = xfrm_sock(k)) < 0)
		return err;
	memset(&id, 0, sizeof(id));
	return knl_dump_each_on(k, k->xfrm, XFRM_MSG_GETSA, &id, sizeof(id),
				xfrm_state_msg_cb, &d);
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

/*
 * What the kernel does with an IPv6 link-local address on its own, on
 * every link it brings up (the address, when duplicate address detection
 * ends, and its routes: fe80::/64, the local fe80::x, ff00::/8), is never
 * in a dump, so it is no change: skipped, or each link made would be
 * followed by an audit a second later.
 */
static bool
mon_v6_kernel_own(const struct nlmsghdr *h)
{
	const struct nlattr *a;

	switch (h->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = nlmsg_data(h);

		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)) &&
		       ifa->ifa_family == AF_INET6 &&
		       ifa->ifa_scope == RT_SCOPE_LINK;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		const struct rtmsg *rtm = nlmsg_data(h);
		struct in6_addr dst;

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)) ||
		    rtm->rtm_family != AF_INET6)
			return false;
		if (rtm->rtm_type == RTN_MULTICAST)
			return true;
		a = nlmsg_find_attr((struct nlmsghdr *)h, sizeof(*rtm), RTA_DST);
		if (a == NULL || nla_len(a) != sizeof(dst))
			return false;
		memcpy(&dst, nla_data(a), sizeof(dst));
		return v6_link_local(&dst) || IN6_IS_ADDR_MULTICAST(&dst);
	}
	default:
		return false;
	}
}

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
	if (mon_v6_kernel_own(h))
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
	if (k->xfrm != NULL)
		nl_socket_free(k->xfrm);
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
knl_nft_elems(struct kernel_ops *ops, const struct kernel_nft_elems *batch,
	      size_t n)
{
	return kernel_nft_elems(knl_of(ops)->nft, batch, n);
}

static int
knl_nft_set_get(struct kernel_ops *ops, const char *set,
		struct ts_prefix **elems, size_t *n)
{
	return kernel_nft_set_get(knl_of(ops)->nft, set, elems, n);
}

static int
knl_nft_names(struct kernel_ops *ops, struct kernel_nft_names *names)
{
	return kernel_nft_names(knl_of(ops)->nft, names);
}

static int
knl_nft_counters(struct kernel_ops *ops, struct kernel_nft_counter **out,
		 size_t *n)
{
	return kernel_nft_counters(knl_of(ops)->nft, out, n);
}

static int
knl_nft_monitor_drain(struct kernel_ops *ops, struct kernel_nft_changes *ch)
{
	return kernel_nft_monitor_drain(knl_of(ops)->nft, ch);
}

struct kernel_ops *
kernel_nl_create(int *err)
{
	return kernel_nl_create_marked(&kernel_marks_tunsteerd, err);
}

struct kernel_ops *
kernel_nl_create_reader(const struct kernel_ops *like, int *err)
{
	struct kernel_nl *k = calloc(1, sizeof(*k));
	int e;

	if (k == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	k->marks = ((const struct kernel_nl *)(const void *)like)->marks;
	k->ops = (struct kernel_ops){
		.link_dump = knl_link_dump,
		.addr_dump = knl_addr_dump,
		.route_dump = knl_route_dump,
		.nhobj_dump = knl_nhobj_dump,
		.rule_dump = knl_rule_dump,
		.conntrack_flush = knl_conntrack_flush,
		.destroy = knl_destroy,
	};
	if ((e = knl_open(&k->sk)) < 0)
		goto fail;
	e = nlerr_to_errno(nl_socket_modify_err_cb(k->sk, NL_CB_CUSTOM,
						   knl_error_cb, k));
	if (e < 0)
		goto fail;
	return &k->ops;
fail:
	knl_destroy(&k->ops);
	*err = e;
	return NULL;
}

struct kernel_ops *
kernel_nl_create_marked(const struct kernel_marks *marks, int *err)
{
	struct kernel_nl *k = calloc(1, sizeof(*k));
	int fd, size = MON_RCVBUF_INIT, e;

	if (k == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	k->marks = *marks;
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
		.xfrm_sa_add = knl_xfrm_sa_add,
		.xfrm_sa_del = knl_xfrm_sa_del,
		.xfrm_policy_del = knl_xfrm_policy_del,
		.xfrm_policy_add = knl_xfrm_policy_add,
		.xfrm_state_dump = knl_xfrm_state_dump,
		.nft_run = knl_nft_run,
		.nft_elems = knl_nft_elems,
		.nft_set_get = knl_nft_set_get,
		.nft_names = knl_nft_names,
		.nft_counters = knl_nft_counters,
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
			RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE,
			RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE,
			RTNLGRP_IPV6_RULE, RTNLGRP_NEXTHOP, 0));
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
