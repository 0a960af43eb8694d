/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake IKE driver (struct ike_driver) for the unit tests of ike.c and
 * of what drives it: records every call as a line of text, posts nothing
 * by itself (the tests post the events charon would).  One at a time.
 */
#ifndef TUNSTEER_TEST_IKE_FAKE_H
#define TUNSTEER_TEST_IKE_FAKE_H

#include <stdbool.h>

#include "tunsteerd/ike.h"

struct ike_fake {
	struct ike_driver drv;
	struct ike *ike;		/* given at start */
	char calls[8192];		/* "initiate cf1\nterminate 3 force\n…" */
	int peer_set_err;		/* peer_set() returns this if set */
};

/* The fake alive, or NULL once destroyed. */
extern struct ike_fake *ike_fake;
/* Has the last fake been destroyed? */
extern bool ike_fake_destroyed;
/* start() of the next fake returns this (0: succeeds). */
extern int ike_fake_start_err;
/* Fakes made so far. */
extern unsigned int ike_fake_made;

struct ike_driver *ike_fake_new(void);
/* The calls since the last look, then forget them. */
const char *ike_fake_calls(void);

#endif
