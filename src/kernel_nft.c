/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel_nft.h"
#include "log.h"

struct kernel_nft {
	struct nft_ctx *ctx;
	struct nl_sock *mon;
	int rcvbuf;
};

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
	if (kn->ctx)
		nft_ctx_free(kn->ctx);
	free(kn);
}

int
kernel_nft_run(struct kernel_nft *kn, const char *script, char **output)
{
	const char *out, *errs;
	int rc;

	if (output)
		*output = NULL;
	/* libnftables runs the whole buffer as one netlink batch: atomic. */
	rc = nft_run_cmd_from_buffer(kn->ctx, script);
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

int
kernel_nft_monitor_drain(struct kernel_nft *kn)
{
	char buf[8192];
	int fd = nl_socket_get_fd(kn->mon), changed = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
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
