/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteer-edge's IPsec (issue 12): the IKEv2 responder, one of two
 * implementations behind this header, chosen at the archive as
 * tunsteerd's ike_none.c is (DESIGN.md "IPsec at the edge"):
 *
 *   edge_ike.c       strongSwan builds.  The responder is not written
 *                    yet: ipsec tunnels are parsed and validated, and
 *                    refused to be served.
 *   edge_ike_none.c  configure --without-strongswan: GRE only, for good.
 */
#ifndef TUNSTEER_EDGE_IKE_H
#define TUNSTEER_EDGE_IKE_H

/* Why this tunsteer-edge cannot serve ipsec tunnels (a sentence for an
 * operator, ending in what it serves instead), or NULL when it can. */
const char *edge_ike_unavailable(void);

#endif
