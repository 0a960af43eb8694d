/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's side of tunsteerd-ike.so (ike_module.h): ike_check.h and
 * ike_charon_create() for tunsteerd itself, each a call into the module,
 * which is loaded by the first call that needs it, that is by the first
 * config that has an ipsec tunnel (config.c asks ike_check_available()
 * for `type = "ipsec"` only).  Never unloaded: libcharon cannot be
 * brought up twice in a process anyway.  Main thread only.
 *
 * Where: beside the running executable first (a build tree:
 * src/tunsteerd/ holds both), then IKE_MODULE_DIR (make install).  A
 * module is loaded only if it is a regular file owned by root or by us
 * and writable by nobody else, as the config's secrets are checked: a
 * root daemon does not run code that someone else could have put there.
 */
#include "autoconfig.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "tunsteerd/ike_check.h"
#include "tunsteerd/ike_module.h"

#ifndef IKE_MODULE_DIR
#error "IKE_MODULE_DIR: where make install puts tunsteerd-ike.so"
#endif

static const struct ike_module *mod;
static char why_not[PATH_MAX + 256];

/* Is @path a module we may load?  0, -ENOENT (nothing there), or
 * -EPERM with why in why_not. */
static int
module_trusted(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -ENOENT;
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why_not, sizeof(why_not), "%s is not a regular file "
			 "owned by root (or by uid %u) and writable by its "
			 "owner alone", path, (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

static const struct ike_module *
module_open(const char *path)
{
	const struct ike_module *m;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(why_not, sizeof(why_not), "%s", dlerror());
		return NULL;
	}
	m = dlsym(h, IKE_MODULE_SYMBOL);
	if (m == NULL || m->abi != IKE_MODULE_ABI ||
	    strcmp(m->version, PACKAGE_VERSION) != 0) {
		snprintf(why_not, sizeof(why_not), "%s is not tunsteerd %s's "
			 "IPsec module%s%s", path, PACKAGE_VERSION,
			 m ? ": it is version " : "", m ? m->version : "");
		dlclose(h);
		return NULL;
	}
	log_info("ike", "IPsec module %s loaded (strongSwan %s)", path,
		 STRONGSWAN_VERSION);
	return m;
}

static const struct ike_module *
module(void)
{
	char exe[PATH_MAX], beside[PATH_MAX + sizeof(IKE_MODULE_FILE) + 1];
	const char *paths[2];
	size_t n = 0;
	ssize_t len;
	int r = -ENOENT;
	bool found = false;

	if (mod)
		return mod;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		char *slash;

		exe[len] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			snprintf(beside, sizeof(beside), "%s/%s", exe,
				 IKE_MODULE_FILE);
			paths[n++] = beside;
		}
	}
	paths[n++] = IKE_MODULE_DIR "/" IKE_MODULE_FILE;
	for (size_t i = 0; i < n && mod == NULL; i++)
		if ((r = module_trusted(paths[i])) == 0) {
			found = true;
			mod = module_open(paths[i]);
		} else if (r != -ENOENT) {
			break;
		}
	/* A module that is there but does not load says why (dlerror():
	 * an undefined symbol, say), not that there is none. */
	if (mod == NULL && !found && r == -ENOENT)
		snprintf(why_not, sizeof(why_not), "no %s in %s%s%s",
			 IKE_MODULE_FILE, n > 1 ? exe : "", n > 1 ? " or " : "",
			 IKE_MODULE_DIR);
	return mod;
}

#define NOT_LOADED(why, len) \
	snprintf((why), (len), "tunsteerd's IPsec module: %s", why_not)

bool
ike_check_available(void)
{
	return module() != NULL;
}

const char *
ike_check_unavailable(void)
{
	static char msg[sizeof(why_not) + 64];

	snprintf(msg, sizeof(msg), "tunsteerd's IPsec module: %s", why_not);
	return msg;
}

int
ike_check_id(const char *id, bool local, const char **type, char *why,
	     size_t len)
{
	if (module() == NULL) {
		NOT_LOADED(why, len);
		return -EIO;
	}
	return mod->check_id(id, local, type, why, len);
}

int
ike_check_proposals(const char *list, bool esp, char *why, size_t len)
{
	if (module() == NULL) {
		NOT_LOADED(why, len);
		return -EIO;
	}
	return mod->check_proposals(list, esp, why, len);
}

int
ike_check_esp_mtu(const char *list, unsigned int underlay_mtu, bool nat_t,
		  unsigned int *mtu)
{
	return module() ? mod->check_esp_mtu(list, underlay_mtu, nat_t, mtu)
			: -EIO;
}

unsigned int
ike_check_esp_mtu_algs(uint16_t enc, uint16_t integ, unsigned int underlay_mtu,
		       bool nat_t)
{
	return module() ? mod->check_esp_mtu_algs(enc, integ, underlay_mtu,
						  nat_t) : 0;
}

/* Nothing to let go of if no check loaded the module. */
void
ike_check_end(void)
{
	if (mod)
		mod->check_end();
}

unsigned int
ike_check_inits(void)
{
	return mod ? mod->check_inits() : 0;
}

struct ike_driver *
ike_charon_create(const struct ike_charon_opts *opts, int *err)
{
	if (module() == NULL) {
		log_warnx("ike", "cannot start IKE: tunsteerd's IPsec module: "
			  "%s", why_not);
		*err = -ENOENT;
		return NULL;
	}
	return mod->charon_create(opts, err);
}
