/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * labtool.h: what the lab's tools (tests/lab/tools) share.  A tool
 * defines LABTOOL, its name for messages, before it includes this.
 */
#ifndef TUNSTEER_LABTOOL_H
#define TUNSTEER_LABTOOL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LABTOOL
#error "define LABTOOL (the tool's name) before including labtool.h"
#endif

/* Option -@opt's value @s, a decimal (or 0x hex) in [@min, @max], or exit
 * 2 naming the option.  No sign: strtoul would wrap "-1" into range. */
static inline unsigned long
lab_num(const char *s, char opt, unsigned long min, unsigned long max)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(hex ? s + 2 : s, &end, hex ? 16 : 10);
	if (errno || end == (hex ? s + 2 : s) || *end || strchr(s, '-') != NULL ||
	    v < min || v > max) {
		fprintf(stderr, LABTOOL ": -%c %s: want %lu..%lu\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

#endif
