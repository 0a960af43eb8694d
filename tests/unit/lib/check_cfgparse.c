/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfgparse's secrets: the values of secret keys are decoded into a side
 * table and never reach libconfig.  This suite is linked with
 * -Wl,--wrap=config_read_string, so every text cfgparse hands to
 * libconfig passes through __wrap_config_read_string() below and is kept
 * for the assertions: the secret is nowhere in it, and everything else
 * (comments, other strings, line breaks) is as written.  The decoding is
 * compared with the installed libconfig's own on the same literals.
 *
 * Also: a secret file named by the config (cfgp_read_secret_file()) is
 * held to the config file's own secrets rule and more, and warnings are
 * kept apart from errors.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cfgparse.h"
#include "lib/secmem.h"
#include "testlib.h"

int __real_config_read_string(config_t *config, const char *str);
int __wrap_config_read_string(config_t *config, const char *str);

static config_t *watched;	/* the test's config_t (cfgparse also asks
				 * libconfig things of its own) */
static char *given;		/* the last text libconfig was given for it */
static int n_given;

int
__wrap_config_read_string(config_t *config, const char *str)
{
	if (config != watched)
		return __real_config_read_string(config, str);
	free(given);
	given = strdup(str);
	ck_assert_ptr_nonnull(given);
	n_given++;
	return __real_config_read_string(config, str);
}

static const char *const keys[] = { "psk", NULL };

/* Parse @text with "psk" secret; NULL if it failed, else @cf holds it. */
static bool
parse(struct cfgp *p, config_t *cf, const char *text)
{
	n_given = 0;
	watched = cf;
	config_init(cf);
	return cfgp_parse(p, cf, text, strlen(text), keys);
}

/* The secret of @key in group @grp ("" for the root), or NULL; the
 * message, if any, in @msg. */
static char *
secret_of(struct cfgp *p, config_t *cf, const char *grp, char *msg, size_t sz)
{
	const config_setting_t *g = *grp ? config_lookup(cf, grp) :
					   config_root_setting(cf);
	char **msgs = NULL, *val = NULL;
	size_t n = 0;
	int line;

	ck_assert_ptr_nonnull(g);
	if (cfgp_secret(p, g, grp, "psk", &val, &line) != CFGP_OK)
		val = NULL;
	msg[0] = '\0';
	cfgp_flush(p, &msgs, &n);
	if (n)
		snprintf(msg, sz, "%s", msgs[0]);
	for (size_t i = 0; i < n; i++)
		free(msgs[i]);
	free(msgs);
	return val;
}

START_TEST(test_secret_never_reaches_libconfig_and_lines_stay)
{
	static const char text[] =
		"a = 1;\n"
		"ike = {\n"
		"\tpsk = \"s3cr3t\" /* more: */\n"
		"\t      \"-Xq9\"\n"
		"\t      // and\n"
		"\t      \"-tail\";\n"
		"};\n"
		"b = \"after\";\n";
	struct cfgp p = { .file = "f" };
	config_t cf;
	char msg[256], *v;

	ck_assert(parse(&p, &cf, text));
	ck_assert_int_eq(n_given, 1);
	ck_assert_ptr_null(strstr(given, "s3cr3t"));
	ck_assert_ptr_null(strstr(given, "Xq9"));
	ck_assert_ptr_null(strstr(given, "tail"));
	/* Same length, same line breaks where they were. */
	ck_assert_uint_eq(strlen(given), strlen(text));
	for (size_t i = 0; text[i]; i++)
		ck_assert_int_eq(given[i] == '\n', text[i] == '\n');
	ck_assert_ptr_nonnull(strstr(given, "psk = \"\""));
	ck_assert_str_eq(config_setting_get_string(config_lookup(&cf, "ike.psk")), "");
	ck_assert_int_eq(config_setting_source_line(config_lookup(&cf, "b")), 8);
	v = secret_of(&p, &cf, "ike", msg, sizeof(msg));
	ck_assert_msg(v != NULL, "%s", msg);
	ck_assert_str_eq(v, "s3cr3t-Xq9-tail");
	secmem_free_str(v);
	cfgp_destroy(&cf);
}
END_TEST

/* What libconfig itself makes of @lit, and what cfgparse decodes. */
static void
assert_decodes_as_libconfig(const char *lit)
{
	struct cfgp p = { .file = "f" };
	char text[256], msg[256], *v;
	config_t cf;

	snprintf(text, sizeof(text), "x = %s;\npsk = %s;\n", lit, lit);
	ck_assert_msg(parse(&p, &cf, text), "%s", lit);
	v = secret_of(&p, &cf, "", msg, sizeof(msg));
	ck_assert_msg(v != NULL, "%s: %s", lit, msg);
	ck_assert_msg(strcmp(v, config_setting_get_string(config_lookup(&cf, "x"))) == 0,
		      "%s decodes differently", lit);
	secmem_free_str(v);
	cfgp_destroy(&cf);
}

START_TEST(test_escapes_and_concatenation_decode_as_libconfig_does)
{
	assert_decodes_as_libconfig("\"plain\"");
	assert_decodes_as_libconfig("\"\"");
	assert_decodes_as_libconfig("\"a\\x41\\X42\\q\\x4g\\\\\\\"\\n\\t\\r\\f\"");
	assert_decodes_as_libconfig("\"\\x7f\\xff\\x01\xc3\xa9\"");
	assert_decodes_as_libconfig("\"back\\\\\" \"slash\\\\\"");
	assert_decodes_as_libconfig("\"ends in \\\\\"");
	assert_decodes_as_libconfig("\"a\" \"b\"\"c\"");
	assert_decodes_as_libconfig("\"a\" /* \"no\" */ \"b\" // \"no\"\n # \"no\"\n \"c\"");
	assert_decodes_as_libconfig("\"two\nlines\"");
	assert_decodes_as_libconfig("\"# not a comment // /* */\"");
}
END_TEST

START_TEST(test_comments_and_other_strings_are_not_touched)
{
	static const char text[] =
		"# psk = \"c1\";\n"
		"// psk = \"c2\";\n"
		"/* psk = \"c3\";\n psk = \"c4\"; */\n"
		"x = \"psk = \\\"c5\\\"\";\n"
		"y = \"a\" \"psk = \\\"c6\\\"\";\n"
		"xpsk = \"c7\"; psk-x = \"c8\"; psk_2 = \"c9\";\n"
		"psk = \"real\";\n";
	struct cfgp p = { .file = "f" };
	config_t cf;
	char msg[256], *v;

	ck_assert(parse(&p, &cf, text));
	/* Only the last line's literal changed. */
	ck_assert_int_eq(strncmp(given, text, strlen(text) - strlen("\"real\";\n")), 0);
	ck_assert_ptr_null(strstr(given, "real"));
	ck_assert_str_eq(config_setting_get_string(config_lookup(&cf, "x")),
			 "psk = \"c5\"");
	ck_assert_str_eq(config_setting_get_string(config_lookup(&cf, "xpsk")), "c7");
	v = secret_of(&p, &cf, "", msg, sizeof(msg));
	ck_assert_msg(v != NULL, "%s", msg);
	ck_assert_str_eq(v, "real");
	secmem_free_str(v);
	cfgp_destroy(&cf);
}
END_TEST

/* Where a number runs into a name, libconfig's scanner splits them
 * ("0x1psk" is 0x1 and psk; a setting needs no terminator). */
START_TEST(test_secret_after_a_number_is_found)
{
	static const char *const texts[] = {
		"a = 0x1psk = \"n3rd\";",
		"a = 12psk = \"n3rd\";",
		"a = 1.5e3psk = \"n3rd\";",
		"a = 7Lpsk = \"n3rd\";",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct cfgp p = { .file = "f" };
		config_t cf;
		char msg[256], *v;

		if (parse(&p, &cf, texts[i])) {
			v = secret_of(&p, &cf, "", msg, sizeof(msg));
			ck_assert_msg(v != NULL, "%s: %s", texts[i], msg);
			ck_assert_str_eq(v, "n3rd");
			secmem_free_str(v);
		} else {
			cfgp_flush(&p, NULL, NULL);
		}
		if (n_given)
			ck_assert_msg(strstr(given, "n3rd") == NULL, "%s", texts[i]);
		cfgp_destroy(&cf);
	}
}
END_TEST

START_TEST(test_key_on_its_own_line_is_found)
{
	struct cfgp p = { .file = "f" };
	config_t cf;
	char msg[256], *v;

	ck_assert(parse(&p, &cf, "a = 1;\npsk\n:\n\n\"v1\"\n\"v2\"\n;\nb = 2;\n"));
	v = secret_of(&p, &cf, "", msg, sizeof(msg));
	ck_assert_msg(v != NULL, "%s", msg);
	ck_assert_str_eq(v, "v1v2");
	ck_assert_int_eq(config_setting_source_line(config_lookup(&cf, "b")), 8);
	secmem_free_str(v);
	cfgp_destroy(&cf);
}
END_TEST

/* @text is refused with @want first; libconfig saw it only if @seen. */
static void
assert_parse_fails(const char *text, const char *want, bool seen)
{
	struct cfgp p = { .file = "f" };
	char **msgs = NULL;
	size_t n = 0;
	config_t cf;

	ck_assert(!parse(&p, &cf, text));
	cfgp_flush(&p, &msgs, &n);
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(msgs[0], want);
	ck_assert_int_eq(n_given, seen);
	for (size_t i = 0; i < n; i++)
		free(msgs[i]);
	free(msgs);
	cfgp_destroy(&cf);
}

START_TEST(test_bad_secret_literals_are_refused_without_echo)
{
	struct cfgp p = { .file = "f" };
	config_t cf;
	char msg[256];

	assert_parse_fails("a = 1;\nike = { psk = \"s3cr3t\n",
			   "f:2: psk: string is never closed", false);
	assert_parse_fails("a = { psk = \"s3\"; }; b = { psk = \"cr3t\"; };",
			   "f:1: psk: a second psk on this line; give each its "
			   "own line", false);
	assert_parse_fails("a = \"open\n\npsk = s3cr3t;\n",
			   "f:1: syntax error: string opened here is never "
			   "closed", false);

	ck_assert(parse(&p, &cf, "\nike = { psk = \"s3cr3t\\x00x\"; };"));
	ck_assert_ptr_null(strstr(given, "s3cr3t"));
	ck_assert_ptr_null(secret_of(&p, &cf, "ike", msg, sizeof(msg)));
	ck_assert_str_eq(msg, "f:2: ike.psk: must not contain a NUL byte (an "
			 "x00 escape)");
	cfgp_destroy(&cf);

	ck_assert(parse(&p, &cf, "psk = 5;"));
	ck_assert_ptr_null(secret_of(&p, &cf, "", msg, sizeof(msg)));
	ck_assert_str_eq(msg, "f:1: psk: expected a string, not an integer");
	cfgp_destroy(&cf);
}
END_TEST

START_TEST(test_later_errors_keep_their_lines)
{
	assert_parse_fails("psk = \"a\"\n\"b\"\n/*\n*/ \"c\";\nx = @;\n",
			   "f:5: syntax error", true);
	ck_assert_ptr_null(strchr(given, 'a'));
}
END_TEST

/* Without secret keys (tunsteer-edge) the text goes to libconfig as is. */
START_TEST(test_no_keys_no_change)
{
	static const char text[] = "psk = \"plain\";\n";
	struct cfgp p = { .file = "f" };
	config_t cf;

	config_init(&cf);
	n_given = 0;
	watched = &cf;
	ck_assert(cfgp_parse(&p, &cf, text, strlen(text), NULL));
	ck_assert_str_eq(given, text);
	cfgp_flush(&p, NULL, NULL);
	cfgp_destroy(&cf);
}
END_TEST

/* --- secret files named by the config --------------------------------- */

/* The messages of @p, flushed, joined by newlines (static buffer). */
static const char *
flushed(struct cfgp *p)
{
	static char buf[2048];
	char **msgs = NULL;
	size_t n = 0, off = 0;

	buf[0] = '\0';
	cfgp_flush(p, &msgs, &n);
	for (size_t i = 0; i < n; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
					i ? "\n" : "", msgs[i]);
		free(msgs[i]);
	}
	free(msgs);
	return buf;
}

/* A fresh file holding @text with @mode; its path (caller unlinks). */
static char *
secret_file(const char *text, mode_t mode)
{
	char *path = temp_file(text);

	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static char *
read_secret(struct cfgp *p, const char *path, size_t max, size_t *len)
{
	return cfgp_read_secret_file(p, 7, "t[0].psk_file", path, "the psk",
				     max, len);
}

START_TEST(test_secret_file_is_read_whole_into_secret_memory)
{
	struct cfgp p = { .file = "f" };
	char *path = secret_file("k3y\n", 0600);
	size_t len = 0;
	char *v = read_secret(&p, path, 64, &len);

	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(v, "k3y\n");	/* the caller strips what it wants */
	ck_assert_str_eq(flushed(&p), "");
	cfgp_free_text(v, len);
	unlink(path);
	free(path);
}
END_TEST

/* Group or others may neither read nor write it; the message is the
 * config file's own rule, at the line and field that name the file. */
START_TEST(test_secret_file_open_to_group_or_others_is_refused_by_name)
{
	const mode_t modes[] = { 0640, 0604, 0620, 0602, 0660, 0644 };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct cfgp p = { .file = "f" };
		char *path = secret_file("k3y", modes[i]);
		char want[512];
		size_t len = 0;

		ck_assert_ptr_null(read_secret(&p, path, 64, &len));
		snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": holds "
			 "secrets (the psk) but is readable by others (mode "
			 "%04o); chmod 600 it", path, (unsigned)modes[i]);
		ck_assert_str_eq(flushed(&p), want);
		unlink(path);
		free(path);
	}
}
END_TEST

START_TEST(test_secret_file_owned_by_another_user_is_refused_by_name)
{
	struct cfgp p = { .file = "f" };
	char *path = secret_file("k3y", 0600);
	const uid_t other = geteuid() == 4242 ? 4243 : 4242;
	char want[512];
	size_t len = 0;

	if (chown(path, other, (gid_t)-1) != 0) {
		unlink(path);		/* not root: cannot be set up here */
		free(path);
		return;
	}
	ck_assert_ptr_null(read_secret(&p, path, 64, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": holds secrets "
		 "(the psk) but is owned by uid %u, not root or uid %u; chown it",
		 path, (unsigned)other, (unsigned)geteuid());
	ck_assert_str_eq(flushed(&p), want);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_secret_file_behind_a_symlink_is_refused)
{
	struct cfgp p = { .file = "f" };
	char *path = secret_file("k3y", 0600), link[256], want[512];
	size_t len = 0;

	snprintf(link, sizeof(link), "%s.lnk", path);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_ptr_null(read_secret(&p, link, 64, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": is a symbolic "
		 "link; name the file itself", link);
	ck_assert_str_eq(flushed(&p), want);
	unlink(link);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_secret_file_that_is_a_fifo_or_directory_is_refused_without_blocking)
{
	struct cfgp p = { .file = "f" };
	char dir[] = "/tmp/check_cfgparse.XXXXXX", fifo[64], want[512];
	size_t len = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	/* Nobody writes to it: a blocking open would hang the test. */
	ck_assert_ptr_null(read_secret(&p, fifo, 64, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": not a regular "
		 "file", fifo);
	ck_assert_str_eq(flushed(&p), want);
	ck_assert_ptr_null(read_secret(&p, dir, 64, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": not a regular "
		 "file", dir);
	ck_assert_str_eq(flushed(&p), want);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

START_TEST(test_secret_file_missing_or_too_large_is_refused_by_name)
{
	struct cfgp p = { .file = "f" };
	char *path = secret_file("0123456789", 0600), want[512];
	size_t len = 0;

	ck_assert_ptr_null(read_secret(&p, path, 9, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": larger than 9 "
		 "bytes", path);
	ck_assert_str_eq(flushed(&p), want);
	unlink(path);
	ck_assert_ptr_null(read_secret(&p, path, 9, &len));
	snprintf(want, sizeof(want), "f:7: t[0].psk_file: \"%s\": cannot open: "
		 "%s", path, strerror(ENOENT));
	ck_assert_str_eq(flushed(&p), want);
	free(path);
}
END_TEST

/* --- warnings ------------------------------------------------------------ */

START_TEST(test_warnings_are_kept_apart_from_errors_in_file_order)
{
	struct cfgp p = { .file = "f" };
	char **w = NULL;
	size_t n = 0;

	cfgp_warn(&p, 9, "b", "later");
	cfgp_warn(&p, 3, "a", "earlier");
	ck_assert(!cfgp_failed(&p));
	cfgp_err(&p, 5, "c", "an error");
	ck_assert(cfgp_failed(&p));
	cfgp_flush_warnings(&p, &w, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(w[0], "f:3: a: earlier");
	ck_assert_str_eq(w[1], "f:9: b: later");
	ck_assert_str_eq(flushed(&p), "f:5: c: an error");
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);

	/* None: the array is left alone. */
	w = NULL;
	n = 0;
	cfgp_flush_warnings(&p, &w, &n);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(n, 0);
	/* Not flushed: cfgp_flush() drops them (LeakSanitizer would tell). */
	cfgp_warn(&p, 1, "x", "dropped");
	ck_assert_str_eq(flushed(&p), "");
}
END_TEST

static Suite *
cfgparse_suite(void)
{
	Suite *s = suite_create("cfgparse");
	TCase *tc = tcase_create("secrets");

	tcase_add_test(tc, test_secret_never_reaches_libconfig_and_lines_stay);
	tcase_add_test(tc, test_escapes_and_concatenation_decode_as_libconfig_does);
	tcase_add_test(tc, test_comments_and_other_strings_are_not_touched);
	tcase_add_test(tc, test_secret_after_a_number_is_found);
	tcase_add_test(tc, test_key_on_its_own_line_is_found);
	tcase_add_test(tc, test_bad_secret_literals_are_refused_without_echo);
	tcase_add_test(tc, test_later_errors_keep_their_lines);
	tcase_add_test(tc, test_no_keys_no_change);
	suite_add_tcase(s, tc);

	tc = tcase_create("secret files");
	tcase_add_test(tc, test_secret_file_is_read_whole_into_secret_memory);
	tcase_add_test(tc, test_secret_file_open_to_group_or_others_is_refused_by_name);
	tcase_add_test(tc, test_secret_file_owned_by_another_user_is_refused_by_name);
	tcase_add_test(tc, test_secret_file_behind_a_symlink_is_refused);
	tcase_add_test(tc,
		       test_secret_file_that_is_a_fifo_or_directory_is_refused_without_blocking);
	tcase_add_test(tc, test_secret_file_missing_or_too_large_is_refused_by_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("warnings");
	tcase_add_test(tc, test_warnings_are_kept_apart_from_errors_in_file_order);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(cfgparse_suite)
