/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nftables part of the real kernel backend: libnftables for scripts
 * (our table's chains), libnftnl for set elements in bulk and for
 * reading sets back (no text: 100,000 prefixes cost megabytes, not
 * hundreds), and a NETLINK_NETFILTER socket on the NFNLGRP_NFTABLES
 * group that says which parts of our table other processes changed.
 * Used by kernel_nl to fill the nft_* operations of kernel_ops.
 */
#ifndef TUNSTEER_KERNEL_NFT_H
#define TUNSTEER_KERNEL_NFT_H

#include <stddef.h>

#include "lib/kernel.h"

struct kernel_nft;

/* NULL with *err set (negative errno) on failure. */
struct kernel_nft *kernel_nft_create(int *err);
void kernel_nft_destroy(struct kernel_nft *kn);

/* As kernel_ops.nft_run, nft_elems, nft_set_get, nft_names. */
int kernel_nft_run(struct kernel_nft *kn, const char *script, char **output)
	__attribute__((warn_unused_result));
int kernel_nft_elems(struct kernel_nft *kn, const struct kernel_nft_elems *batch,
		     size_t n) __attribute__((warn_unused_result));
int kernel_nft_set_get(struct kernel_nft *kn, const char *set,
		       struct ts_prefix **elems, size_t *n)
	__attribute__((warn_unused_result));
int kernel_nft_names(struct kernel_nft *kn, struct kernel_nft_names *names)
	__attribute__((warn_unused_result));
/* As kernel_ops.nft_counters. */
int kernel_nft_counters(struct kernel_nft *kn, struct kernel_nft_counter **out,
			size_t *n) __attribute__((warn_unused_result));
/* As kernel_ops.nft_monitor_fd / nft_monitor_drain. */
int kernel_nft_monitor_fd(struct kernel_nft *kn);
int kernel_nft_monitor_drain(struct kernel_nft *kn, struct kernel_nft_changes *ch);

#endif
