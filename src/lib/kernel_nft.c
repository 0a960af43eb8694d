/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <nftables/libnftables.h>

#include "lib/kernel_nft.h"
#include "lib/log.h"

/* KERNEL_NFT_TABLE as family and name. */
#define TABLE_FAMILY NFPROTO_INET
#define TABLE_NAME "tunsteer"
/* nft's datatype numbers of ipv4_addr and ipv6_addr (TYPE_IPADDR,
 * TYPE_IP6ADDR), so `nft list` prints our elements as addresses. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
/* Prefixes per NEWSETELEM/DELSETELEM message: two elements each (start,
 * end), ~40 bytes, well inside the 64 KiB an attribute nest can hold. */
#define ELEMS_PER_MSG 1024
#define BATCH_PAGE (128u * 1024u)
#define BATCH_OVERRUN (64u * 1024u + 4096u)

struct kernel_nft {
	struct nl_sock *mon;	/* NFNLGRP_NFTABLES events */
	struct nl_sock *req;	/* NFT_MSG_GETGEN requests */
	int fd;			/* libnftnl batches and dumps */
	int epfd;		/* what the loop watches: mon + wake */
	int wake;		/* eventfd: changes found outside a drain */
	int rcvbuf;
	uint32_t seq;
	uint32_t gen_scratch;	/* where gen_reply_cb() writes */
	/* Foreign changes not yet drained, and those of a commit whose
	 * NEWGEN (which says whose it is) has not come yet. */
	struct kernel_nft_changes pending, txn;
	char *buf;		/* receive buffer for dumps and replies */
};

#define RECV_BUF (64u * 1024u)

/* Reply handler for GETGEN: pick NFTA_GEN_ID out of the NEWGEN answer. */
static int
gen_reply_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nh = nlmsg_hdr(msg);
	struct nlattr *tb[NFTA_GEN_MAX + 1];
	uint32_t *gen = arg;

	if (NFNL_MSG_TYPE(nh->nlmsg_type) != NFT_MSG_NEWGEN ||
	    nlmsg_parse(nh, sizeof(struct nfgenmsg), tb, NFTA_GEN_MAX, NULL) < 0 ||
	    tb[NFTA_GEN_ID] == NULL || nla_len(tb[NFTA_GEN_ID]) < 4)
		return NL_SKIP;
	*gen = ntohl(nla_get_u32(tb[NFTA_GEN_ID]));
	return NL_OK;
}

/* The ruleset generation: every nftables commit increments it. */
static int
get_gen(struct kernel_nft *kn, uint32_t *gen)
{
	struct nfgenmsg g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 };
	struct nl_msg *msg;
	int e;

	msg = nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
				 NLM_F_REQUEST);
	if (msg == NULL)
		return -ENOMEM;
	if (nlmsg_append(msg, &g, sizeof(g), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	*gen = 0;
	e = nl_send_auto(kn->req, msg);
	nlmsg_free(msg);
	if (e < 0 || (e = nl_recvmsgs_default(kn->req)) < 0)
		return -EIO;
	return 0;
}

/* The loop watches kn->epfd: make it readable although the event socket
 * is empty, because a commit of ours found foreign changes. */
static void
wake(struct kernel_nft *kn)
{
	uint64_t one = 1;

	if (kernel_nft_changes_any(&kn->pending) &&
	    write(kn->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("kernel", "nftables wake-up");
}

/* String attribute @type of an nftables message (after its nfgenmsg),
 * or NULL; every length is checked. */
static const char *
msg_str(const struct nlmsghdr *nh, uint16_t type)
{
	const size_t hdr = NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *a;
	int len;

	if (nh->nlmsg_len < NLMSG_HDRLEN + hdr)
		return NULL;
	a = (const struct nlattr *)((const char *)NLMSG_DATA(nh) + hdr);
	len = (int)(nh->nlmsg_len - NLMSG_HDRLEN - hdr);
	for (; len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len),
	     a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len))) {
		const char *s = (const char *)a + NLA_HDRLEN;
		size_t n = a->nla_len - NLA_HDRLEN;

		if ((a->nla_type & NLA_TYPE_MASK) != type)
			continue;
		return n > 0 && memchr(s, '\0', n) ? s : NULL;
	}
	return NULL;
}

/* Whose commit a NEWGEN ends: NFTA_GEN_PROC_PID. */
static bool
foreign_commit(const struct nlmsghdr *nh)
{
	const size_t hdr = NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *a;
	int len;

	if (nh->nlmsg_len < NLMSG_HDRLEN + hdr)
		return true;	/* malformed: assume the worst */
	a = (const struct nlattr *)((const char *)NLMSG_DATA(nh) + hdr);
	len = (int)(nh->nlmsg_len - NLMSG_HDRLEN - hdr);
	for (; len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len),
	     a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len))) {
		uint32_t pid;

		if ((a->nla_type & NLA_TYPE_MASK) != NFTA_GEN_PROC_PID ||
		    a->nla_len < NLA_HDRLEN + sizeof(pid))
			continue;
		memcpy(&pid, (const char *)a + NLA_HDRLEN, sizeof(pid));
		return ntohl(pid) != (uint32_t)getpid();
	}
	return true;	/* no pid: cannot be sure it was us */
}

/*
 * One event.  A commit's events come first, its NEWGEN last: what the
 * events touched in our table is kept in kn->txn until the NEWGEN says
 * whose commit it was.  Every object message names its table in
 * attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE, …); element messages name their set in 2.
 */
static void
classify(struct kernel_nft *kn, const struct nlmsghdr *nh)
{
	const struct nfgenmsg *g = NLMSG_DATA(nh);
	const char *table, *set;
	uint16_t type;

	if (NFNL_SUBSYS_ID(nh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return;
	type = NFNL_MSG_TYPE(nh->nlmsg_type);
	if (type == NFT_MSG_NEWGEN) {
		if (foreign_commit(nh))
			kernel_nft_changes_merge(&kn->pending, &kn->txn);
		else
			kernel_nft_changes_free(&kn->txn);
		return;
	}
	if (nh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g))) {
		kn->txn.table = true;
		return;
	}
	if (g->nfgen_family != TABLE_FAMILY ||
	    (table = msg_str(nh, 1)) == NULL || strcmp(table, TABLE_NAME) != 0)
		return;		/* not ours */
	if ((type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM) &&
	    (set = msg_str(nh, NFTA_SET_ELEM_LIST_SET)) != NULL &&
	    strncmp(set, "__", 2) != 0) {
		if (!kn->txn.table && kernel_nft_changes_add_set(&kn->txn, set) < 0)
			kn->txn.table = true;
		return;
	}
	/* Rules, chains, set definitions, anonymous sets (a rule's), the
	 * table itself. */
	kn->txn.table = true;
}

/* Read every queued event into kn->pending; -ENOBUFS if some were lost. */
static int
read_events(struct kernel_nft *kn)
{
	int fd = nl_socket_get_fd(kn->mon);

	for (;;) {
		ssize_t n = recv(fd, kn->buf, RECV_BUF, MSG_DONTWAIT);

		if (n > 0) {
			size_t left = (size_t)n;

			for (const struct nlmsghdr *nh = (const struct nlmsghdr *)kn->buf;
			     NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left))
				classify(kn, nh);
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		/* Events lost (ENOBUFS: grow the buffer) or worse: whatever
		 * they said, we cannot tell what changed. */
		kn->pending.table = true;
		kernel_nft_changes_free(&kn->txn);
		if (errno == ENOBUFS) {
			if (kn->rcvbuf < (8 << 20)) {
				kn->rcvbuf *= 2;
				nl_socket_set_buffer_size(kn->mon, kn->rcvbuf, 0);
			}
			return -ENOBUFS;
		}
		return -errno;
	}
}

/*
 * Our own commit must not flood the event socket (a large set sends one
 * event per element) nor look like someone else's.  So we leave the
 * group while committing and compare generations: ours is exactly one;
 * more means somebody else committed meanwhile, and since we did not
 * hear what they did, the whole table must be looked at.
 */
static uint32_t
commit_begin(struct kernel_nft *kn)
{
	uint32_t gen0 = 0;

	/* Events queued so far are others': classify them first. */
	(void)read_events(kn);
	if (get_gen(kn, &kn->gen_scratch) == 0)
		gen0 = kn->gen_scratch;
	else
		kn->pending.table = true;
	nl_socket_drop_membership(kn->mon, NFNLGRP_NFTABLES);
	return gen0;
}

static void
commit_end(struct kernel_nft *kn, uint32_t gen0, bool committed)
{
	uint32_t gen1 = 0;

	/* Events queued before we left the group are others'. */
	(void)read_events(kn);
	/* Half a commit's events without its NEWGEN: unknowable now. */
	if (kernel_nft_changes_any(&kn->txn))
		kn->pending.table = true;
	kernel_nft_changes_free(&kn->txn);
	if (nl_socket_add_membership(kn->mon, NFNLGRP_NFTABLES) < 0)
		log_warnx("kernel", "cannot rejoin the nftables event group");
	if (get_gen(kn, &kn->gen_scratch) == 0)
		gen1 = kn->gen_scratch;
	if (gen1 != gen0 + (committed ? 1 : 0))
		kn->pending.table = true;
	wake(kn);
}

struct kernel_nft *
kernel_nft_create(int *err)
{
	struct kernel_nft *kn = calloc(1, sizeof(*kn));
	struct epoll_event ev = { .events = EPOLLIN };
	int e;

	if (kn == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	kn->fd = kn->epfd = kn->wake = -1;
	if ((kn->buf = malloc(RECV_BUF)) == NULL) {
		*err = -ENOMEM;
		goto fail;
	}
	kn->mon = nl_socket_alloc();
	if (kn->mon == NULL) {
		*err = -ENOMEM;
		goto fail;
	}
	nl_socket_disable_seq_check(kn->mon);
	nl_socket_disable_auto_ack(kn->mon);
	if ((e = nl_connect(kn->mon, NETLINK_NETFILTER)) < 0 ||
	    (e = nl_socket_add_membership(kn->mon, NFNLGRP_NFTABLES)) < 0 ||
	    (e = nl_socket_set_nonblocking(kn->mon)) < 0) {
		log_warnx("kernel", "nftables event socket: %s", nl_geterror(e));
		*err = -EIO;
		goto fail;
	}
	kn->rcvbuf = 1 << 20;
	nl_socket_set_buffer_size(kn->mon, kn->rcvbuf, 0);

	kn->req = nl_socket_alloc();
	if (kn->req == NULL) {
		*err = -ENOMEM;
		goto fail;
	}
	/* GETGEN is answered by its NEWGEN; an ACK as well would be left
	 * queued and read as the next answer (a wrong sequence: every
	 * second generation read failed, and every commit of ours looked
	 * like someone else's). */
	nl_socket_disable_auto_ack(kn->req);
	if ((e = nl_connect(kn->req, NETLINK_NETFILTER)) < 0 ||
	    (e = nl_socket_modify_cb(kn->req, NL_CB_VALID, NL_CB_CUSTOM,
				     gen_reply_cb, &kn->gen_scratch)) < 0) {
		log_warnx("kernel", "nftables request socket: %s", nl_geterror(e));
		*err = -EIO;
		goto fail;
	}
	kn->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	kn->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	kn->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (kn->fd < 0 || kn->wake < 0 || kn->epfd < 0 ||
	    bind(kn->fd, (struct sockaddr *)&(struct sockaddr_nl){
			.nl_family = AF_NETLINK }, sizeof(struct sockaddr_nl)) < 0 ||
	    epoll_ctl(kn->epfd, EPOLL_CTL_ADD, kn->wake, &ev) < 0 ||
	    epoll_ctl(kn->epfd, EPOLL_CTL_ADD, nl_socket_get_fd(kn->mon), &ev) < 0) {
		*err = -errno;
		log_warn("kernel", "nftables sockets");
		goto fail;
	}
	/* Errors come back as the original message's header only. */
	(void)setsockopt(kn->fd, SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 },
			 sizeof(int));
	return kn;
fail:
	kernel_nft_destroy(kn);
	return NULL;
}

void
kernel_nft_destroy(struct kernel_nft *kn)
{
	if (kn == NULL)
		return;
	if (kn->mon)
		nl_socket_free(kn->mon);
	if (kn->req)
		nl_socket_free(kn->req);
	if (kn->fd >= 0)
		close(kn->fd);
	if (kn->wake >= 0)
		close(kn->wake);
	if (kn->epfd >= 0)
		close(kn->epfd);
	kernel_nft_changes_free(&kn->pending);
	kernel_nft_changes_free(&kn->txn);
	free(kn->buf);
	free(kn);
}

/*
 * libnftables for one script run: loaded, given a context, and unloaded
 * after it.  Scripts run only to apply the table whole (start, reload,
 * repair; set elements go through libnftnl), so for the rest of the
 * daemon's life neither libnftables nor what it alone needs (libgmp,
 * libjansson, libxtables) is mapped: 1.3 MiB of resident pages with the
 * example config.  A context kept between runs also kept its cache of
 * what it listed, five hash tables of 128 KiB each for our one table
 * (the ruleset's, and the table's chains, sets, objects, flowtables).
 * A run costs the load (a few ms) and a few small files read
 * (/etc/iproute2).
 */
struct nftables {
	void *dl;
	struct nft_ctx *ctx;
	__typeof__(nft_ctx_free) *ctx_free;
	__typeof__(nft_run_cmd_from_buffer) *run;
	__typeof__(nft_ctx_get_error_buffer) *error;
	__typeof__(nft_ctx_get_output_buffer) *output;
};

#define NFTABLES_SONAME "libnftables.so.1"

static void
nftables_close(struct nftables *n)
{
	if (n->ctx)
		n->ctx_free(n->ctx);
	if (n->dl)
		dlclose(n->dl);
	memset(n, 0, sizeof(*n));
}

/* 0, or -ENOENT (not loadable: logged) or -ENOMEM. */
static int
nftables_open(struct nftables *n)
{
	__typeof__(nft_ctx_new) *ctx_new;
	__typeof__(nft_ctx_output_set_flags) *set_flags;
	__typeof__(nft_ctx_buffer_output) *buffer_output;
	__typeof__(nft_ctx_buffer_error) *buffer_error;

	memset(n, 0, sizeof(*n));
	if ((n->dl = dlopen(NFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (ctx_new = (__typeof__(ctx_new))dlsym(n->dl, "nft_ctx_new")) == NULL ||
	    (set_flags = (__typeof__(set_flags))dlsym(n->dl, "nft_ctx_output_set_flags")) == NULL ||
	    (buffer_output = (__typeof__(buffer_output))dlsym(n->dl, "nft_ctx_buffer_output")) == NULL ||
	    (buffer_error = (__typeof__(buffer_error))dlsym(n->dl, "nft_ctx_buffer_error")) == NULL ||
	    (n->ctx_free = (__typeof__(n->ctx_free))dlsym(n->dl, "nft_ctx_free")) == NULL ||
	    (n->run = (__typeof__(n->run))dlsym(n->dl, "nft_run_cmd_from_buffer")) == NULL ||
	    (n->error = (__typeof__(n->error))dlsym(n->dl, "nft_ctx_get_error_buffer")) == NULL ||
	    (n->output = (__typeof__(n->output))dlsym(n->dl, "nft_ctx_get_output_buffer")) == NULL) {
		log_warnx("kernel", "cannot use " NFTABLES_SONAME ": %s", dlerror());
		nftables_close(n);
		return -ENOENT;
	}
	if ((n->ctx = ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		nftables_close(n);
		return -ENOMEM;
	}
	/* Keep nft's words: errors are returned, listings compared. */
	set_flags(n->ctx, NFT_CTX_OUTPUT_STATELESS);
	if (buffer_output(n->ctx) || buffer_error(n->ctx)) {
		nftables_close(n);
		return -ENOMEM;
	}
	return 0;
}

int
kernel_nft_run(struct kernel_nft *kn, const char *script, char **output)
{
	struct nftables n;
	const char *out, *errs;
	bool commit = strncmp(script, "list ", 5) != 0;
	uint32_t gen0 = 0;
	int rc, err;

	if (output)
		*output = NULL;
	if ((err = nftables_open(&n)) < 0)
		return err;
	if (commit)
		gen0 = commit_begin(kn);
	/* libnftables runs the whole buffer as one netlink batch: atomic. */
	rc = n.run(n.ctx, script);
	if (commit)
		commit_end(kn, gen0, rc == 0);
	errs = n.error(n.ctx);
	out = n.output(n.ctx);
	if (rc != 0) {
		log_warnx("kernel", "nft: %s", errs && *errs ? errs : "failed");
		err = -EINVAL;
	} else if (output && (*output = strdup(out ? out : "")) == NULL)
		err = -ENOMEM;
	nftables_close(&n);
	return err;
}

/* --- libnftnl: set elements in bulk ------------------------------------- */

/* Reads what the kernel answered to a batch (it answers while we are
 * still in sendmsg(), so everything is queued by now): 0, or the first
 * error. */
static int
batch_replies(struct kernel_nft *kn)
{
	int err = 0;

	for (;;) {
		ssize_t n = recv(kn->fd, kn->buf, RECV_BUF, MSG_DONTWAIT);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return err;
		if (n <= 0)
			return err ? err : (n == 0 ? -EIO : -errno);
		left = (size_t)n;
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)kn->buf;
		     NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			const struct nlmsgerr *me = NLMSG_DATA(nh);

			if (nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*me)))
				err = err ? err : -EIO;
			else if (me->error < 0 && err == 0)
				err = me->error;
		}
	}
}

/* Send the batch in one sendmsg(): nfnetlink takes a transaction from
 * one message buffer only, so the socket's send buffer must hold it. */
static int
batch_send(struct kernel_nft *kn, struct nftnl_batch *b)
{
	int n_iov = nftnl_batch_iovec_len(b);
	struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to) };
	size_t len = 0;
	int buf, err = 0;

	if (iov == NULL)
		return -ENOMEM;
	nftnl_batch_iovec(b, iov, (uint32_t)n_iov);
	for (int i = 0; i < n_iov; i++)
		len += iov[i].iov_len;
	buf = len + 65536 > INT32_MAX / 2 ? INT32_MAX / 2 : (int)(len + 65536);
	if (setsockopt(kn->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(kn->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n_iov;
	(void)batch_replies(kn);	/* nothing stale may count as ours */
	while (sendmsg(kn->fd, &mh, 0) < 0) {
		if (errno != EINTR) {
			err = -errno;
			break;
		}
	}
	free(iov);
	if (err == 0)
		err = batch_replies(kn);
	/* Give the send buffer back: a large one is kernel memory. */
	buf = 0;
	(void)setsockopt(kn->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return err;
}

static struct nlmsghdr *
batch_msg(struct kernel_nft *kn, struct nftnl_batch *b, uint16_t type,
	  uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b), type, TABLE_FAMILY,
				     flags, kn->seq++);
}

/* Addresses of either family as numbers: an IPv4 one is below 2^32. */
typedef unsigned __int128 u128;

static unsigned int
family_bits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

/* The last address of the address space of @bits. */
static u128
addr_top(unsigned int bits)
{
	return bits == 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

/* The host part of a prefix of @len in @bits: 2^(bits - len) - 1. */
static u128
host_mask(unsigned int bits, unsigned int len)
{
	return addr_top(bits - len);
}

static u128
prefix_num(const struct ts_prefix *p)
{
	u128 v = 0;

	if (p->family == AF_INET)
		return ntohl(p->v4.s_addr);
	for (size_t i = 0; i < sizeof(p->v6.s6_addr); i++)
		v = v << 8 | p->v6.s6_addr[i];
	return v;
}

/* @v as a set key of @bits (network order) in @key; its length. */
static uint32_t
key_of_num(u128 v, unsigned int bits, uint8_t key[16])
{
	uint32_t len = bits / 8;

	for (uint32_t i = len; i-- > 0; v >>= 8)
		key[i] = (uint8_t)v;
	return len;
}

static int
put_key(struct nftnl_set *s, u128 v, unsigned int bits, bool end)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint8_t key[16];

	if (e == NULL)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key,
			   key_of_num(v, bits, key));
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
				       NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	return 0;
}

/* The elements of @n prefixes of @family: an interval set holds each as
 * a start element and an end element one past its last address (none
 * when that would wrap past the top of the address space,
 * 255.255.255.255 or ffff:…:ffff: 0.0.0.0/0 and ::/0 are a start alone). */
static int
put_elems(struct kernel_nft *kn, struct nftnl_batch *b, uint16_t type,
	  const char *set, int family, const struct ts_prefix *p, size_t n)
{
	unsigned int bits = family_bits(family);

	for (size_t off = 0; off < n; off += ELEMS_PER_MSG) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nlmsghdr *nh;
		int err = 0;

		if (s == NULL)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, TABLE_NAME);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		for (size_t i = off; i < n && i < off + ELEMS_PER_MSG && !err;
		     i++) {
			u128 lo, last;

			if (p[i].family != family || p[i].len > bits) {
				err = -EINVAL;
				break;
			}
			lo = prefix_num(&p[i]) & ~host_mask(bits, p[i].len);
			last = lo | host_mask(bits, p[i].len);
			err = put_key(s, lo, bits, false);
			if (err == 0 && last != addr_top(bits))
				err = put_key(s, last + 1, bits, true);
		}
		if (err < 0) {
			nftnl_set_free(s);
			return err;
		}
		nh = batch_msg(kn, b, type,
			       type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
		nftnl_set_elems_nlmsg_build_payload(nh, s);
		nftnl_set_free(s);
		nftnl_batch_update(b);
	}
	return 0;
}

/* The table and set @name (ipv4_addr or ipv6_addr by @family, interval)
 * if missing, emptied. */
static int
put_set_afresh(struct kernel_nft *kn, struct nftnl_batch *b, const char *name,
	       int family)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nh;

	if (s == NULL)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, TABLE_FAMILY);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, family == AF_INET6 ?
			  NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, family_bits(family) / 8);
	nftnl_set_set_u32(s, NFTNL_SET_ID, kn->seq);
	nh = batch_msg(kn, b, NFT_MSG_NEWSET, NLM_F_CREATE);
	nftnl_set_nlmsg_build_payload(nh, s);
	nftnl_set_free(s);
	nftnl_batch_update(b);
	/* No element list at all: flush (an empty list would be a no-op). */
	nh = batch_msg(kn, b, NFT_MSG_DELSETELEM, 0);
	mnl_attr_put_strz(nh, NFTA_SET_ELEM_LIST_TABLE, TABLE_NAME);
	mnl_attr_put_strz(nh, NFTA_SET_ELEM_LIST_SET, name);
	nftnl_batch_update(b);
	return 0;
}

static int dump(struct kernel_nft *kn, struct nlmsghdr *req,
		int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg);

/* The address family of the sets of our table (set_family_cb). */
struct set_families {
	struct {
		char name[NFT_SET_MAXNAMELEN];
		int family;	/* AF_INET, AF_INET6, or 0: not addresses */
	} *v;
	size_t n, cap;
};

/* A set's family from its key: the type, ipv4_addr or ipv6_addr, or else
 * its length (a script's `typeof ip saddr` may say another type). */
static int
set_key_family(const struct nftnl_set *s)
{
	uint32_t type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
	uint32_t len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);

	if (type == NFT_TYPE_IPADDR || type == NFT_TYPE_IP6ADDR)
		return type == NFT_TYPE_IPADDR ? AF_INET : AF_INET6;
	return len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
}

static int
set_family_cb(const struct nlmsghdr *nh, void *arg)
{
	struct set_families *sf = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	const char *t, *name;
	int err = 0;

	if (s == NULL)
		return -ENOMEM;
	if (nftnl_set_nlmsg_parse(nh, s) < 0) {
		err = -EIO;
	} else if ((t = nftnl_set_get_str(s, NFTNL_SET_TABLE)) != NULL &&
		   strcmp(t, TABLE_NAME) == 0 &&
		   (name = nftnl_set_get_str(s, NFTNL_SET_NAME)) != NULL &&
		   strlen(name) < sizeof(sf->v[0].name)) {
		if (sf->n == sf->cap) {
			size_t cap = sf->cap ? 2 * sf->cap : 8;
			__typeof__(sf->v) v = realloc(sf->v, cap * sizeof(*v));

			if (v == NULL) {
				nftnl_set_free(s);
				return -ENOMEM;
			}
			sf->v = v;
			sf->cap = cap;
		}
		memcpy(sf->v[sf->n].name, name, strlen(name) + 1);
		sf->v[sf->n++].family = set_key_family(s);
	}
	nftnl_set_free(s);
	return err;
}

/*
 * Every entry of @batch against the sets there now: its elements of its
 * own family, and a set that exists of that family too.  The kernel would
 * refuse an element of another length, but a REPLACE would first have
 * emptied the set; -EINVAL here leaves it as it was.  No table yet: no
 * set can mismatch.
 */
static int
check_families(struct kernel_nft *kn, const struct kernel_nft_elems *batch,
	       size_t n)
{
	char req[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct set_families sf = { 0 };
	struct nlmsghdr *nh;
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		int family = batch[i].family == AF_INET6 ? AF_INET6 : AF_INET;

		for (size_t j = 0; j < batch[i].n; j++)
			if (batch[i].elems[j].family != family)
				return -EINVAL;
	}
	nh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSET, TABLE_FAMILY,
				   NLM_F_DUMP, kn->seq++);
	mnl_attr_put_strz(nh, NFTA_SET_TABLE, TABLE_NAME);
	err = dump(kn, nh, set_family_cb, &sf);
	if (err == -ENOENT)
		err = 0;
	for (size_t i = 0; i < n && err == 0; i++) {
		int family = batch[i].family == AF_INET6 ? AF_INET6 : AF_INET;

		for (size_t j = 0; j < sf.n; j++)
			if (strcmp(sf.v[j].name, batch[i].set) == 0 &&
			    sf.v[j].family != family) {
				log_warnx("kernel", "nft set %s holds no %s "
					  "addresses", batch[i].set,
					  family == AF_INET6 ? "IPv6" : "IPv4");
				err = -EINVAL;
				break;
			}
	}
	free(sf.v);
	return err;
}

int
kernel_nft_elems(struct kernel_nft *kn, const struct kernel_nft_elems *batch,
		 size_t n)
{
	struct nftnl_batch *b;
	bool table = false;
	uint32_t gen0;
	int err = 0;

	if ((err = check_families(kn, batch, n)) < 0) {
		log_warnx("kernel", "nft set elements: %s", strerror(-err));
		return err;
	}
	if ((b = nftnl_batch_alloc(BATCH_PAGE, BATCH_OVERRUN)) == NULL)
		return -ENOMEM;
	nftnl_batch_begin(nftnl_batch_buffer(b), kn->seq++);
	nftnl_batch_update(b);
	for (size_t i = 0; i < n && err == 0; i++) {
		const struct kernel_nft_elems *x = &batch[i];
		int family = x->family == AF_INET6 ? AF_INET6 : AF_INET;

		if (x->op == KERNEL_NFT_ELEMS_REPLACE && !table) {
			struct nftnl_table *t = nftnl_table_alloc();
			struct nlmsghdr *nh;

			if (t == NULL) {
				err = -ENOMEM;
				break;
			}
			nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE_NAME);
			nh = batch_msg(kn, b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
			nftnl_table_nlmsg_build_payload(nh, t);
			nftnl_table_free(t);
			nftnl_batch_update(b);
			table = true;
		}
		if (x->op == KERNEL_NFT_ELEMS_REPLACE)
			err = put_set_afresh(kn, b, x->set, family);
		if (err == 0 && x->n)
			err = put_elems(kn, b, x->op == KERNEL_NFT_ELEMS_DEL ?
					NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
					x->set, family, x->elems, x->n);
	}
	if (err == 0) {
		nftnl_batch_end(nftnl_batch_buffer(b), kn->seq++);
		nftnl_batch_update(b);
		gen0 = commit_begin(kn);
		err = batch_send(kn, b);
		commit_end(kn, gen0, err == 0);
	}
	nftnl_batch_free(b);
	if (err < 0)
		log_warnx("kernel", "nft set elements: %s", strerror(-err));
	return err;
}

/* --- libnftnl: dumps ----------------------------------------------------- */

/* Send one dump request and hand every answer of type @type to @cb. */
static int
dump(struct kernel_nft *kn, struct nlmsghdr *req,
     int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	uint16_t want = req->nlmsg_type;
	uint32_t seq = req->nlmsg_seq;
	int err = 0;

	(void)batch_replies(kn);
	if (send(kn->fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(kn->fd, kn->buf, RECV_BUF, 0);
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		left = (size_t)n;
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)kn->buf;
		     NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return err;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *me = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*me)))
					return -EIO;
				return me->error < 0 ? me->error : err;
			}
			(void)want;
			if (err == 0)
				err = cb(nh, arg);
		}
	}
}

/* A set's elements as read: numbers of one family (of the first key's
 * length: the set's), each a start or an interval's end. */
struct elem_key {
	u128 v;
	bool start;
};

struct elem_keys {
	struct elem_key *v;
	size_t n, cap;
	uint32_t key_len;	/* 4 or 16; 0: none seen yet */
};

static int
elem_key_cb(struct nftnl_set_elem *e, void *arg)
{
	struct elem_keys *k = arg;
	uint32_t len = 0, flags = 0;
	const uint8_t *p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	u128 v = 0;

	if (p == NULL || (len != 4 && len != 16) ||
	    (k->key_len != 0 && len != k->key_len))
		return -1;
	k->key_len = len;
	for (uint32_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 1024;
		struct elem_key *nv = realloc(k->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		k->v = nv;
		k->cap = cap;
	}
	k->v[k->n].v = v;
	k->v[k->n++].start = !(flags & NFT_SET_ELEM_INTERVAL_END);
	return 0;
}

static int
elems_msg_cb(const struct nlmsghdr *nh, void *arg)
{
	struct nftnl_set *s = nftnl_set_alloc();
	int err = 0;

	if (s == NULL)
		return -ENOMEM;
	if (nftnl_set_elems_nlmsg_parse(nh, s) < 0 ||
	    nftnl_set_elem_foreach(s, elem_key_cb, arg) < 0)
		err = -EIO;
	nftnl_set_free(s);
	return err;
}

/* By address; at one address an end (of the interval below) first. */
static int
elem_key_cmp(const void *a, const void *b)
{
	const struct elem_key *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (int)x->start - (int)y->start;
}

/* Add [lo, hi] of @family as the prefixes that cover it exactly. */
static int
push_range(struct ts_prefix **out, size_t *n, size_t *cap, int family,
	   u128 lo, u128 hi)
{
	unsigned int bits = family_bits(family);

	for (;;) {
		unsigned int len = bits;
		struct ts_prefix *p;

		/* The largest aligned block from lo that stays inside. */
		while (len > 0 && (lo & host_mask(bits, len - 1)) == 0 &&
		       hi - lo >= host_mask(bits, len - 1))
			len--;
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 1024;
			struct ts_prefix *v = realloc(*out, c * sizeof(*v));

			if (v == NULL)
				return -ENOMEM;
			*out = v;
			*cap = c;
		}
		p = &(*out)[(*n)++];
		memset(p, 0, sizeof(*p));
		p->family = family;
		p->len = (uint8_t)len;
		if (family == AF_INET) {
			p->v4.s_addr = htonl((uint32_t)lo);
		} else {
			u128 v = lo;

			for (size_t i = sizeof(p->v6.s6_addr); i-- > 0; v >>= 8)
				p->v6.s6_addr[i] = (uint8_t)v;
		}
		/* Checked before stepping: the block may end at the top. */
		if (hi - lo <= host_mask(bits, len))
			return 0;
		lo += host_mask(bits, len) + 1;
	}
}

/* The family of a set is its key's (4 or 16 bytes): an empty set needs
 * none. */
int
kernel_nft_set_get(struct kernel_nft *kn, const char *set,
		   struct ts_prefix **elems, size_t *n)
{
	char req[512] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct elem_keys k = { 0 };
	struct nlmsghdr *nh;
	size_t cap = 0;
	unsigned int bits;
	int family, err;

	*elems = NULL;
	*n = 0;
	if (strlen(set) > 200)
		return -EINVAL;
	nh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSETELEM, TABLE_FAMILY,
				   NLM_F_DUMP, kn->seq++);
	mnl_attr_put_strz(nh, NFTA_SET_ELEM_LIST_TABLE, TABLE_NAME);
	mnl_attr_put_strz(nh, NFTA_SET_ELEM_LIST_SET, set);
	if ((err = dump(kn, nh, elems_msg_cb, &k)) < 0)
		goto out;
	family = k.key_len == 16 ? AF_INET6 : AF_INET;
	bits = family_bits(family);
	if (k.n > 1)
		qsort(k.v, k.n, sizeof(*k.v), elem_key_cmp);
	/* A start runs to the next end (exclusive), or to just before the
	 * next start, or to the top of the address space. */
	for (size_t i = 0; i < k.n && err == 0; i++) {
		u128 lo = k.v[i].v, hi = addr_top(bits);

		if (!k.v[i].start)
			continue;		/* an end with no start */
		if (i + 1 < k.n && k.v[i + 1].v == lo)
			continue;		/* empty */
		if (i + 1 < k.n)
			hi = k.v[i + 1].v - 1;
		err = push_range(elems, n, &cap, family, lo, hi);
	}
out:
	free(k.v);
	if (err < 0) {
		free(*elems);
		*elems = NULL;
		*n = 0;
	}
	return err;
}

static int
push_name(char ***v, size_t *n, const char *name)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	if ((nv[*n] = strdup(name)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int
chain_msg_cb(const struct nlmsghdr *nh, void *arg)
{
	struct kernel_nft_names *names = arg;
	struct nftnl_chain *c = nftnl_chain_alloc();
	const char *t, *name;
	int err = 0;

	if (c == NULL)
		return -ENOMEM;
	if (nftnl_chain_nlmsg_parse(nh, c) < 0)
		err = -EIO;
	else if ((t = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)) != NULL &&
		 strcmp(t, TABLE_NAME) == 0 &&
		 nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) == TABLE_FAMILY &&
		 (name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)) != NULL)
		err = push_name(&names->chains, &names->n_chains, name);
	nftnl_chain_free(c);
	return err;
}

static int
set_msg_cb(const struct nlmsghdr *nh, void *arg)
{
	struct kernel_nft_names *names = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	const char *t, *name;
	int err = 0;

	if (s == NULL)
		return -ENOMEM;
	if (nftnl_set_nlmsg_parse(nh, s) < 0)
		err = -EIO;
	else if ((t = nftnl_set_get_str(s, NFTNL_SET_TABLE)) != NULL &&
		 strcmp(t, TABLE_NAME) == 0 &&
		 nftnl_set_get_u32(s, NFTNL_SET_FAMILY) == TABLE_FAMILY &&
		 !(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) &&
		 (name = nftnl_set_get_str(s, NFTNL_SET_NAME)) != NULL)
		err = push_name(&names->sets, &names->n_sets, name);
	nftnl_set_free(s);
	return err;
}

/* Named counters of our table: their names (@names), or names and
 * counts (@ctrs). */
struct counter_dump {
	struct kernel_nft_names *names;
	struct kernel_nft_counter *ctrs;
	size_t n, cap;
};

static int
counter_msg_cb(const struct nlmsghdr *nh, void *arg)
{
	struct counter_dump *d = arg;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *t, *name;
	int err = 0;

	if (o == NULL)
		return -ENOMEM;
	if (nftnl_obj_nlmsg_parse(nh, o) < 0) {
		err = -EIO;
	} else if ((t = nftnl_obj_get_str(o, NFTNL_OBJ_TABLE)) == NULL ||
		   strcmp(t, TABLE_NAME) != 0 ||
		   nftnl_obj_get_u32(o, NFTNL_OBJ_FAMILY) != TABLE_FAMILY ||
		   nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER ||
		   (name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME)) == NULL) {
		/* not ours */
	} else if (d->names) {
		err = push_name(&d->names->counters, &d->names->n_counters, name);
	} else {
		if (d->n == d->cap) {
			size_t cap = d->cap ? 2 * d->cap : 8;
			struct kernel_nft_counter *c =
				realloc(d->ctrs, cap * sizeof(*c));

			if (c == NULL) {
				nftnl_obj_free(o);
				return -ENOMEM;
			}
			d->ctrs = c;
			d->cap = cap;
		}
		memset(&d->ctrs[d->n], 0, sizeof(d->ctrs[d->n]));
		snprintf(d->ctrs[d->n].name, sizeof(d->ctrs[d->n].name), "%s",
			 name);
		d->ctrs[d->n].packets = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
		d->ctrs[d->n].bytes = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES);
		d->n++;
	}
	nftnl_obj_free(o);
	return err;
}

static int
counter_dump(struct kernel_nft *kn, struct counter_dump *d)
{
	char req[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh;

	nh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETOBJ, TABLE_FAMILY,
				   NLM_F_DUMP, kn->seq++);
	mnl_attr_put_strz(nh, NFTA_OBJ_TABLE, TABLE_NAME);
	mnl_attr_put_u32(nh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	return dump(kn, nh, counter_msg_cb, d);
}

int
kernel_nft_counters(struct kernel_nft *kn, struct kernel_nft_counter **out,
		    size_t *n)
{
	struct counter_dump d = { 0 };
	int err = counter_dump(kn, &d);

	if (err < 0) {
		free(d.ctrs);
		d.ctrs = NULL;
		d.n = 0;
	}
	*out = d.ctrs;
	*n = d.n;
	return err;
}

int
kernel_nft_names(struct kernel_nft *kn, struct kernel_nft_names *names)
{
	char req[256] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh;
	int err;

	memset(names, 0, sizeof(*names));
	nh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETCHAIN, TABLE_FAMILY,
				   NLM_F_DUMP, kn->seq++);
	mnl_attr_put_strz(nh, NFTA_CHAIN_TABLE, TABLE_NAME);
	err = dump(kn, nh, chain_msg_cb, names);
	if (err == 0) {
		nh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETSET, TABLE_FAMILY,
					   NLM_F_DUMP, kn->seq++);
		mnl_attr_put_strz(nh, NFTA_SET_TABLE, TABLE_NAME);
		err = dump(kn, nh, set_msg_cb, names);
	}
	if (err == 0) {
		struct counter_dump d = { .names = names };

		err = counter_dump(kn, &d);
	}
	if (err < 0)
		kernel_nft_names_free(names);
	return err;
}

/* --- events --------------------------------------------------------------- */

int
kernel_nft_monitor_fd(struct kernel_nft *kn)
{
	return kn->epfd;
}

int
kernel_nft_monitor_drain(struct kernel_nft *kn, struct kernel_nft_changes *ch)
{
	uint64_t v;
	int err;

	while (read(kn->wake, &v, sizeof(v)) > 0)
		;
	err = read_events(kn);
	kernel_nft_changes_merge(ch, &kn->pending);
	if (err < 0)
		return err;
	return kernel_nft_changes_any(ch) ? 1 : 0;
}
