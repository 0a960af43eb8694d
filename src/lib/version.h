/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef TUNSTEER_VERSION_H
#define TUNSTEER_VERSION_H

#include <stdio.h>

/* Print "@prog VERSION" and the versions of the libraries linked in. */
void version_print(FILE *out, const char *prog);

#endif
