/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables part of the real kernel backend: libnftables for scripts,
 * a NETLINK_NETFILTER socket on the NFNLGRP_NFTABLES group for change
 * events.  Used by kernel_nl to fill the nft_* operations of kernel_ops.
 */
#ifndef TUNSTEER_KERNEL_NFT_H
#define TUNSTEER_KERNEL_NFT_H

struct kernel_nft;

/* NULL with *err set (negative errno) on failure. */
struct kernel_nft *kernel_nft_create(int *err);
void kernel_nft_destroy(struct kernel_nft *kn);

/* As kernel_ops.nft_run. */
int kernel_nft_run(struct kernel_nft *kn, const char *script, char **output)
	__attribute__((warn_unused_result));
/* As kernel_ops.nft_monitor_fd / nft_monitor_drain. */
int kernel_nft_monitor_fd(struct kernel_nft *kn);
int kernel_nft_monitor_drain(struct kernel_nft *kn);

#endif
