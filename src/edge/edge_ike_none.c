/* SPDX-License-Identifier: GPL-2.0-or-later */
/* configure --without-strongswan: GRE only (edge_ike.h). */
#include "autoconfig.h"

#include "edge/edge_ike.h"

const char *
edge_ike_unavailable(void)
{
	return "this tunsteer-edge was built without strongSwan "
		"(--without-strongswan); it serves GRE tunnels only";
}
