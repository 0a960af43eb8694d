/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/kernel_nft.h"
#include "lib/log.h"

struct kernel_nft {
	struct nft_ctx *ctx;
	struct nl_sock *mon;	/* NFNLGRP_NFTABLES events */
	struct nl_sock *req;	/* NFT_MSG_GETGEN requests */
	int rcvbuf;
	bool foreign_pending;	/* a foreign commit hid behind one of ours */
	uint32_t gen_scratch;	/* where gen_reply_cb() writes */
};

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

struct kernel_nft *
kernel_nft_create(int *err)
{
	struct kernel_nft *kn = calloc(1, sizeof(*kn));
	int e;

	if (kn == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	kn->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (kn->ctx == NULL) {
		*err = -ENOMEM;
		goto fail;
	}
	/* Listings without counters, so that reading the table back twice
	 * gives the same text unless its rules changed. */
	nft_ctx_output_set_flags(kn->ctx, NFT_CTX_OUTPUT_STATELESS);
	/* Keep nft's words: errors are returned, listings compared. */
	if (nft_ctx_buffer_output(kn->ctx) || nft_ctx_buffer_error(kn->ctx)) {
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
	if ((e = nl_connect(kn->req, NETLINK_NETFILTER)) < 0 ||
	    (e = nl_socket_modify_cb(kn->req, NL_CB_VALID, NL_CB_CUSTOM,
				     gen_reply_cb, &kn->gen_scratch)) < 0) {
		log_warnx("kernel", "nftables request socket: %s", nl_geterror(e));
		*err = -EIO;
		goto fail;
	}
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
	if (kn->ctx)
		nft_ctx_free(kn->ctx);
	free(kn);
}

int
kernel_nft_run(struct kernel_nft *kn, const char *script, char **output)
{
	const char *out, *errs;
	bool commit = strncmp(script, "list ", 5) != 0;
	uint32_t gen0 = 0, gen1 = 0;
	int rc;

	if (output)
		*output = NULL;
	/*
	 * Our own commit must not flood the event socket (a large set sends
	 * one event per element) nor look like someone else's.  So we leave
	 * the group while committing and compare generations: ours is
	 * exactly one; more means somebody else committed meanwhile.
	 */
	if (commit) {
		if (get_gen(kn, &kn->gen_scratch) == 0)
			gen0 = kn->gen_scratch;
		else
			kn->foreign_pending = true;
		nl_socket_drop_membership(kn->mon, NFNLGRP_NFTABLES);
	}
	/* libnftables runs the whole buffer as one netlink batch: atomic. */
	rc = nft_run_cmd_from_buffer(kn->ctx, script);
	if (commit) {
		/* Events queued before we left the group are others'. */
		if (kernel_nft_monitor_drain(kn) != 0)
			kn->foreign_pending = true;
		if (nl_socket_add_membership(kn->mon, NFNLGRP_NFTABLES) < 0)
			log_warnx("kernel", "cannot rejoin the nftables event group");
		if (get_gen(kn, &kn->gen_scratch) == 0)
			gen1 = kn->gen_scratch;
		if (gen1 != gen0 + (rc == 0 ? 1 : 0))
			kn->foreign_pending = true;
	}
	errs = nft_ctx_get_error_buffer(kn->ctx);
	out = nft_ctx_get_output_buffer(kn->ctx);
	if (rc != 0) {
		log_warnx("kernel", "nft: %s", errs && *errs ? errs : "failed");
		return -EINVAL;
	}
	if (output) {
		*output = strdup(out ? out : "");
		if (*output == NULL)
			return -ENOMEM;
	}
	return 0;
}

int
kernel_nft_monitor_fd(struct kernel_nft *kn)
{
	return nl_socket_get_fd(kn->mon);
}

/*
 * Every nftables commit ends with an NFT_MSG_NEWGEN event that names the
 * committing process (NFTA_GEN_PROC_PID).  Our own commits, made through
 * libnftables in this process, are therefore told apart from everybody
 * else's without reading any ruleset back.
 */
static bool
foreign_commit(const struct nlmsghdr *nh)
{
	const size_t hdr = NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *a;
	int len;

	if (NFNL_SUBSYS_ID(nh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    NFNL_MSG_TYPE(nh->nlmsg_type) != NFT_MSG_NEWGEN)
		return false;
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

int
kernel_nft_monitor_drain(struct kernel_nft *kn)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd = nl_socket_get_fd(kn->mon), changed = kn->foreign_pending;

	kn->foreign_pending = false;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			size_t left = (size_t)n;

			for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
			     NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left))
				if (foreign_commit(nh))
					changed = 1;
			continue;
		}
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			return changed;
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS) {
			/* Events were lost: grow, and have the caller check. */
			if (kn->rcvbuf < (8 << 20)) {
				kn->rcvbuf *= 2;
				nl_socket_set_buffer_size(kn->mon, kn->rcvbuf, 0);
			}
			return -ENOBUFS;
		}
		return -errno;
	}
}
