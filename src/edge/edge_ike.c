/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strongSwan builds: no responder yet (edge_ike.h). */
#include "autoconfig.h"

#include "edge/edge_ike.h"

const char *
edge_ike_unavailable(void)
{
	return "this tunsteer-edge has no IKEv2 responder yet; it serves "
		"GRE tunnels only";
}
