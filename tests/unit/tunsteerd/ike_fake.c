/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "ike_fake.h"

struct ike_fake *ike_fake;
bool ike_fake_destroyed;
int ike_fake_start_err;
unsigned int ike_fake_made;

static void
record(const char *fmt, ...)
{
	size_t n = strlen(ike_fake->calls);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ike_fake->calls + n, sizeof(ike_fake->calls) - n, fmt, ap);
	va_end(ap);
}

static int
fake_start(struct ike_driver *d, struct ike *ike)
{
	ike_fake->ike = ike;
	return ike_fake_start_err;
}

static int
fake_peer_set(struct ike_driver *d, const struct config_tunnel *t,
	      uint32_t if_id)
{
	if (ike_fake->peer_set_err)
		return ike_fake->peer_set_err;
	record("peer %s %#x %s\n", t->name, if_id, t->ike.psk);
	return 0;
}

static void
fake_peer_remove(struct ike_driver *d, const char *name)
{
	record("forget %s\n", name);
}

static void
fake_initiate(struct ike_driver *d, const char *name)
{
	record("initiate %s\n", name);
}

static void
fake_terminate(struct ike_driver *d, uint32_t id, bool force)
{
	record("terminate %u%s\n", id, force ? " force" : "");
}

static void
fake_rekey(struct ike_driver *d, uint32_t ike_id, uint32_t child_id)
{
	record("rekey %u %u\n", ike_id, child_id);
}

static void
fake_dpd(struct ike_driver *d, uint32_t id)
{
	record("dpd %u\n", id);
}

static void
fake_log_level(struct ike_driver *d, enum log_level level)
{
	record("log %s\n", log_level_name(level));
}

static void
fake_destroy(struct ike_driver *d)
{
	ike_fake_destroyed = true;
	free(ike_fake);
	ike_fake = NULL;
}

struct ike_driver *
ike_fake_new(void)
{
	ike_fake = calloc(1, sizeof(*ike_fake));
	ck_assert_ptr_nonnull(ike_fake);
	ike_fake->drv = (struct ike_driver){
		.start = fake_start, .peer_set = fake_peer_set,
		.peer_remove = fake_peer_remove, .initiate = fake_initiate,
		.terminate = fake_terminate, .dpd = fake_dpd, .rekey = fake_rekey,
		.log_level = fake_log_level, .destroy = fake_destroy,
	};
	ike_fake_destroyed = false;
	ike_fake_made++;
	return &ike_fake->drv;
}

const char *
ike_fake_calls(void)
{
	static char out[8192];

	snprintf(out, sizeof(out), "%s", ike_fake->calls);
	ike_fake->calls[0] = '\0';
	return out;
}
