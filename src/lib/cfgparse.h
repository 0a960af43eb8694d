/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Typed access to a libconfig file with the house error style: every
 * problem is collected (an operator fixing a file wants every mistake in
 * one run) as "FILE:LINE: FIELD: message", and handed back sorted into
 * file order.  FIELD is a path such as customers[0].tunnels[2].mtu.
 *
 * Used by tunsteerd's config.c and tunsteer-edge's edge_config.c.
 */
#ifndef TUNSTEER_CFGPARSE_H
#define TUNSTEER_CFGPARSE_H

#include <libconfig.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/addr.h"

#define CFGP_FIELD_MAX 192		/* "customers[1].tunnels[12].health_check.type" */
#define CFGP_FILE_MAX (16 * 1024 * 1024)

struct cfgp_msg {
	int line;
	size_t seq;
	char *text;
};

/* A secret setting taken out of the text before libconfig saw it
 * (cfgp_parse()); found again by its key and the line of its key. */
struct cfgp_secret {
	const char *key;	/* one of the caller's secret keys */
	int line;
	char *value;		/* decoded, in secret memory; NULL once taken
				 * or when @err is set */
	const char *err;	/* why the literal was refused, or NULL */
};

/* One parse: the file name used in messages, the messages (errors and
 * warnings) so far and the secrets cfgp_parse() took out of the text. */
struct cfgp {
	const char *file;
	struct cfgp_msg *msgs;
	size_t n_msgs, cap_msgs, seq;
	struct cfgp_msg *warns;
	size_t n_warns, cap_warns;
	struct cfgp_secret *secrets;
	size_t n_secrets, cap_secrets;
	bool oom;
};

/* Results of the typed getters. */
enum cfgp_got {
	CFGP_NONE,	/* absent */
	CFGP_OK,
	CFGP_BAD,	/* present but wrong; already reported */
};

void cfgp_err(struct cfgp *p, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A warning, in the same form: the file is still accepted (cfgp_failed()
 * does not count warnings).  Collected apart from the errors. */
void cfgp_warn(struct cfgp *p, int line, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Has anything been reported (or memory run out)? */
bool cfgp_failed(const struct cfgp *p);
/* Append the warnings so far, in file order, to *@msgs (count in *@n; the
 * caller frees each and the array, which stays as it was if there are
 * none); with @msgs NULL they are dropped. */
void cfgp_flush_warnings(struct cfgp *p, char ***msgs, size_t *n);
/* Append the error messages, in file order, to *@msgs as
 * cfgp_flush_warnings() does.  Ends the parse: warnings not flushed yet
 * are dropped, the secrets nobody took (cfgp_secret()) are wiped and
 * freed. */
void cfgp_flush(struct cfgp *p, char ***msgs, size_t *n);

/* Error messages collected by config_load() or edge_config_load(), in file
 * order (cfgp_flush() appends to them). */
struct config_errors {
	char **msgs;
	size_t n;
};
void config_errors_free(struct config_errors *errs);

/* A field name, truncated (never overflowed) at CFGP_FIELD_MAX. */
void cfgp_fieldf(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "@path.@key", or "@key" at the root (@path ""). */
void cfgp_field(char *buf, const char *path, const char *key);
int cfgp_line(const config_setting_t *s);

/* Report every member of group @s not named in the NULL-ended @known. */
void cfgp_check_keys(struct cfgp *p, const config_setting_t *s,
		     const char *path, const char *const *known);
/* Report @key of @grp missing when @g is CFGP_NONE. */
void cfgp_required(struct cfgp *p, enum cfgp_got g, const config_setting_t *grp,
		   const char *path, const char *key);
void cfgp_type_err(struct cfgp *p, const config_setting_t *s, const char *field,
		   const char *want);

enum cfgp_got cfgp_string(struct cfgp *p, const config_setting_t *grp,
			  const char *path, const char *key, const char **val,
			  int *line);
/*
 * Secret @key of @grp, one of the keys given to cfgp_parse(): libconfig's
 * tree holds "" there, the value comes from the side table.  CFGP_OK: *@val
 * is the decoded value in secret memory, now the caller's (free it with
 * secmem_free_str()); it may be "".  CFGP_BAD: reported (not a string, a
 * literal refused while decoding, or not found in the table).
 */
enum cfgp_got cfgp_secret(struct cfgp *p, const config_setting_t *grp,
			  const char *path, const char *key, char **val,
			  int *line);
/* An integer in [min, max]; out of range is reported and CFGP_BAD. */
enum cfgp_got cfgp_int(struct cfgp *p, const config_setting_t *grp,
		       const char *path, const char *key, long long min,
		       long long max, long long *val, int *line);
enum cfgp_got cfgp_bool(struct cfgp *p, const config_setting_t *grp,
			const char *path, const char *key, bool *val);
enum cfgp_got cfgp_group(struct cfgp *p, const config_setting_t *grp,
			 const char *path, const char *key,
			 config_setting_t **val);
/* A list ( ... ); an empty array [ ] counts as an empty list. */
enum cfgp_got cfgp_list(struct cfgp *p, const config_setting_t *grp,
			const char *path, const char *key,
			config_setting_t **val);
/* An array [ ... ] (or list) of strings: CFGP_OK with *@val set, each
 * element still to be checked by the caller with cfgp_elem_string(). */
enum cfgp_got cfgp_strings(struct cfgp *p, const config_setting_t *grp,
			   const char *path, const char *key,
			   config_setting_t **val);
/* Element @i of @arr as a string, or NULL (reported as @field). */
const char *cfgp_elem_string(struct cfgp *p, const config_setting_t *arr,
			     int i, const char *field);

/* 1..@max characters of A-Z a-z 0-9 _ . -, not "." or "..". */
bool cfgp_name_ok(const char *s, size_t max);
/* A unicast IPv4 host address, no "/len"; reported if not. */
bool cfgp_host(struct cfgp *p, int line, const char *field, const char *text,
	       struct in_addr *out);
/* An IPv4 prefix; host bits below the length are an error ("did you
 * mean …?").  Reported if not. */
bool cfgp_prefix(struct cfgp *p, int line, const char *field, const char *text,
		 struct ts_prefix *out);
/* The same of family @family: AF_INET, AF_INET6 or AF_UNSPEC (either). */
bool cfgp_prefix_af(struct cfgp *p, int line, const char *field,
		    const char *text, int family, struct ts_prefix *out);

/*
 * Read @path (a regular file of at most CFGP_FILE_MAX bytes) into a
 * NUL-terminated malloc'd buffer; free it with cfgp_free_text().  Never
 * blocks on what is not a regular file (a FIFO, a device): it is opened
 * without waiting and refused.  With
 * @st not NULL, also hands back the fstat() of the descriptor that was
 * read, so that cfgp_check_secrets() judges the very file whose bytes
 * were parsed.  Returns the buffer or NULL (reported).
 */
char *cfgp_read_file(struct cfgp *p, const char *path, size_t *len,
		     struct stat *st);
/*
 * Read the secret file @path that the config names at @line as @field
 * (e.g. tunnels[0].ike.psk_file), for the secret @what, as
 * cfgp_read_file() does, and also: a symbolic link is refused (O_NOFOLLOW
 * on the last component), the file must be at most @max bytes, and
 * cfgp_check_secrets()'s rule is applied to the descriptor that would be
 * read, before anything is.  Every problem is reported as
 * "FILE:LINE: FIELD: \"PATH\": what".  Returns the NUL-terminated content
 * in secret memory (length in *@len; free with cfgp_free_text()) or NULL.
 */
char *cfgp_read_secret_file(struct cfgp *p, int line, const char *field,
			    const char *path, const char *what, size_t max,
			    size_t *len);
/* @s as a libconfig string literal, quoted: '"' and '\\' escaped, control
 * bytes, DEL and non-ASCII as \xHH (config_print(), edge_config_print()). */
void cfgp_print_str(FILE *out, const char *s);
/* Zero @text (it may hold secrets), then free it.  The buffer is secret
 * memory (lib/secmem.h: never in a core dump), wiped whole. */
void cfgp_free_text(char *text, size_t len);

/*
 * Zero every string value under @s in place (libconfig's own copies,
 * which config_destroy() frees without wiping): what a file's secrets
 * leave in the tree.  The tree stays valid, its strings empty.
 */
void cfgp_wipe_strings(config_setting_t *s);
/* cfgp_wipe_strings() of the whole tree, then config_destroy(): how a
 * parser that may have read secrets lets go of @cf, on every path.  What
 * libconfig copied while scanning (its flex buffer, its string builder)
 * is freed inside config_read_string() and out of our reach: secret
 * keys never get there (cfgp_parse()). */
void cfgp_destroy(config_t *cf);

/*
 * A file that holds secrets (@what names them, e.g. "ike.psk") must be
 * owned by root or by the user we run as, and neither readable nor
 * writable by group or others; anything else is reported.
 */
void cfgp_check_secrets(struct cfgp *p, const struct stat *st,
			const char *what);

/*
 * Parse @text (@len bytes) into @cf (config_init()ed by the caller, who
 * always config_destroy()s it).  Refuses NUL bytes, @include, a block
 * comment never closed (libconfig takes the rest of the file as comment,
 * so a truncated file would pass; reported at the line it opens) and,
 * where libconfig would silently wrap them, integers past 32 bits
 * without an "L".  Returns true if @cf holds the file.
 *
 * Secrets never reach libconfig, whose scanner copies the whole text
 * and builds each string in buffers it frees unwiped: a copy of @text in
 * secret memory is handed to it instead, in which every string literal
 * (with its adjacent-literal continuations) set to a key named in the
 * NULL-ended @secret_keys (by name, at any depth; may be NULL) is decoded
 * into @p's side table and replaced by "" and spaces, newlines kept, so
 * every line number stays.  Two secret settings of one key on one line
 * are refused (the table finds them by line); a literal never closed is
 * reported here, one holding \x00 by cfgp_secret().  A secret written
 * as anything but a string literal is left to libconfig, and refused as
 * the wrong type.  @text itself is not changed.
 */
bool cfgp_parse(struct cfgp *p, config_t *cf, const char *text, size_t len,
		const char *const *secret_keys);

#endif
