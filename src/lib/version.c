/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <stdio.h>

#include <event2/event.h>
#include <libconfig.h>
#include <netlink/version.h>

#include "lib/version.h"

void
version_print(FILE *out, const char *prog)
{
	fprintf(out, "%s %s\n", prog, PACKAGE_VERSION);
	/* libnl's run-time version, not the headers' we built against. */
	fprintf(out, "  libnl %d.%d.%d, libevent %s, libconfig %d.%d.%d, strongSwan %s\n",
		nl_ver_maj, nl_ver_min, nl_ver_mic, event_get_version(), LIBCONFIG_VER_MAJOR,
		LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION, STRONGSWAN_VERSION);
}
