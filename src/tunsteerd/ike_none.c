/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tunsteerd built --without-strongswan: GRE only.  This module stands
 * in for the two that include strongSwan (ike_check.c, ike_charon.c) with
 * the same interfaces, so nothing else in the daemon changes: config.c
 * asks ike_check_available() and refuses `type = "ipsec"` with a message
 * that says why, so no other check here is ever reached; and no IKE
 * driver can be made, should anything ask.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>

#include "tunsteerd/ike.h"
#include "tunsteerd/ike_check.h"

#define NO_STRONGSWAN "this tunsteerd is built without strongSwan"

bool
ike_check_available(void)
{
	return false;
}

const char *
ike_check_unavailable(void)
{
	return "a tunsteerd built with strongSwan; this one is GRE only "
	       "(configure --without-strongswan)";
}

int
ike_check_id(const char *id, bool local, const char **type, char *why,
	     size_t len)
{
	(void)local;
	*type = NULL;
	snprintf(why, len, "\"%s\": " NO_STRONGSWAN, id);
	return -EINVAL;
}

int
ike_check_proposals(const char *list, bool esp, char *why, size_t len)
{
	(void)esp;
	snprintf(why, len, "\"%s\": " NO_STRONGSWAN, list);
	return -EINVAL;
}

int
ike_check_esp_mtu(const char *list, unsigned int underlay_mtu, bool nat_t,
		  unsigned int *mtu)
{
	(void)list, (void)underlay_mtu, (void)nat_t, (void)mtu;
	return -EINVAL;
}

unsigned int
ike_check_esp_mtu_algs(uint16_t enc, uint16_t integ, unsigned int underlay_mtu,
		       bool nat_t)
{
	(void)enc, (void)integ, (void)underlay_mtu, (void)nat_t;
	return 0;
}

void
ike_check_end(void)
{
}

unsigned int
ike_check_inits(void)
{
	return 0;
}

struct ike_driver *
ike_charon_create(const struct ike_charon_opts *opts, int *err)
{
	(void)opts;
	*err = -ENOTSUP;
	return NULL;
}
