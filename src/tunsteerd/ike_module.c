/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The table tunsteerd-ike.so exports (ike_module.h). */
#include "autoconfig.h"

#include "tunsteerd/ike_check.h"
#include "tunsteerd/ike_module.h"

extern const struct ike_module tunsteerd_ike_module;

__attribute__((visibility("default")))
const struct ike_module tunsteerd_ike_module = {
	.abi = IKE_MODULE_ABI,
	.version = PACKAGE_VERSION,
	.check_id = ike_check_id,
	.check_proposals = ike_check_proposals,
	.check_esp_mtu = ike_check_esp_mtu,
	.check_esp_mtu_algs = ike_check_esp_mtu_algs,
	.check_end = ike_check_end,
	.check_inits = ike_check_inits,
	.charon_create = ike_charon_create,
};
