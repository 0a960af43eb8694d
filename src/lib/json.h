/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON writer both programs' views use.  The views are contracts
 * (tests and tools parse them): what this writes for a given string never
 * changes.
 */
#ifndef TUNSTEER_JSON_H
#define TUNSTEER_JSON_H

#include <stdio.h>

/* Write @s to @out as a JSON string: quoted, '"' and '\' escaped with a
 * backslash, control characters as \u00XX; every other byte (UTF-8
 * included) as it is.  Write errors are left to the stream. */
void json_str(FILE *out, const char *s);

#endif
