/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tunsteerd's control views: status, tunnels and egress, as JSON or as
 * text for people.  They read the engine through its accessors and change
 * nothing.  The output is a contract (tests and tools parse it;
 * tests/unit/tunsteerd/check_view pins it byte for byte).  Write errors
 * are left to @out; a view that cannot allocate says so in its output.
 */
#ifndef TUNSTEER_VIEW_H
#define TUNSTEER_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "tunsteerd/engine.h"

void view_status(struct engine *e, bool json, FILE *out);
void view_tunnels(struct engine *e, bool json, FILE *out);
void view_egress(struct engine *e, bool json, FILE *out);

#endif
