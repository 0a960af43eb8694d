/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's IPsec as a module of its own (tunsteerd-ike.so): the
 * static strongSwan, its crypto (libcrypto) and the modules built on
 * them (ike_check.c, ike_charon.c, the lib/charon.c it drives and the
 * lib/sarec.c and lib/addr.c that one uses),
 * loaded by the daemon only when a config has an ipsec tunnel
 * (ike_dl.c).  A GRE-only site never maps
 * them: about 1.5 MB less resident memory and no libstrongswan
 * constructors run at start.
 *
 * The module exports one symbol, IKE_MODULE_SYMBOL, a table of the
 * functions ike_check.h and ike_charon_create() declare.  It calls back
 * into the daemon only for what the daemon exports to it (the log, the
 * secure allocator and ike_post(): ike-module.syms).  A module from
 * another build of tunsteerd is refused (@abi and @version differ).
 * The unit tests link ike_check.c, ike_charon.c and lib/charon.c directly.
 */
#ifndef TUNSTEER_IKE_MODULE_H
#define TUNSTEER_IKE_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunsteerd/ike.h"

#define IKE_MODULE_SYMBOL "tunsteerd_ike_module"
#define IKE_MODULE_FILE "tunsteerd-ike.so"
/* Bumped whenever the table or what it passes changes shape. */
#define IKE_MODULE_ABI 1

struct ike_module {
	unsigned int abi;		/* IKE_MODULE_ABI */
	const char *version;		/* PACKAGE_VERSION of its build */
	int (*check_id)(const char *id, bool local, const char **type,
			char *why, size_t len);
	int (*check_proposals)(const char *list, bool esp, char *why,
			       size_t len);
	int (*check_esp_mtu)(const char *list, unsigned int underlay_mtu,
			     bool nat_t, unsigned int *mtu);
	unsigned int (*check_esp_mtu_algs)(uint16_t enc, uint16_t integ,
					   unsigned int underlay_mtu,
					   bool nat_t);
	void (*check_end)(void);
	unsigned int (*check_inits)(void);
	struct ike_driver *(*charon_create)(const struct ike_charon_opts *opts,
					    int *err);
};

#endif
