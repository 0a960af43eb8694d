/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where secrets live (issue 10): secret memory is left out of core dumps
 * (the kernel says so in /proc/self/smaps: VmFlags "dd"), and what
 * libconfig keeps of a secret in its tree is wiped before the tree is
 * freed.  Memory after free() cannot be looked at honestly, so the wipe
 * is tested on a live tree: cfgp_wipe_strings(), which cfgp_destroy()
 * (every parser's way out, error paths included) runs first.
 */
#include "autoconfig.h"

#include <check.h>
#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cfgparse.h"
#include "lib/secmem.h"
#include "testlib.h"

/* The VmFlags of the mapping holding @p, or "" if not found. */
static void
vmflags_of(const void *p, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	uintptr_t a = (uintptr_t)p;
	bool in = false;

	snprintf(out, size, "%s", "");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, size, "%.200s", line + 8);
			break;
		}
	}
	fclose(f);
}

START_TEST(test_secret_memory_is_left_out_of_core_dumps)
{
	char flags[256];
	char *s = secmem_strdup("a pre-shared key");
	char *big = secmem_alloc(20000);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "a pre-shared key");
	vmflags_of(s, flags, sizeof(flags));
	ck_assert_msg(strstr(flags, " dd") != NULL, "VmFlags:%s", flags);
	ck_assert_ptr_nonnull(big);
	vmflags_of(big + 19999, flags, sizeof(flags));
	ck_assert_msg(strstr(flags, " dd") != NULL, "VmFlags:%s", flags);
	ck_assert_int_eq(big[19999], 0);
	secmem_free_str(s);
	secmem_free(big);
	secmem_free(NULL);
}
END_TEST

START_TEST(test_wipe_zeroes_every_string_of_the_tree)
{
	config_t cf;
	const char *psk, *id, *elem;
	size_t psk_len;

	config_init(&cf);
	ck_assert(config_read_string(&cf, "t = ( { ike = { psk = \"s3cr3t-key\"; "
				     "local_id = \"me\"; }; } ); "
				     "a = [ \"x1\", \"y2\" ]; n = 7;"));
	psk = config_setting_get_string(config_lookup(&cf, "t.[0].ike.psk"));
	id = config_setting_get_string(config_lookup(&cf, "t.[0].ike.local_id"));
	elem = config_setting_get_string_elem(config_lookup(&cf, "a"), 1);
	ck_assert_ptr_nonnull(psk);
	psk_len = strlen(psk);
	cfgp_wipe_strings(config_root_setting(&cf));
	/* The same storage, now zero over the secret's whole length. */
	for (size_t i = 0; i < psk_len; i++)
		ck_assert_int_eq(psk[i], 0);
	ck_assert_int_eq(id[0], 0);
	ck_assert_int_eq(elem[0], 0);
	ck_assert_int_eq(config_setting_get_int(config_lookup(&cf, "n")), 7);
	cfgp_destroy(&cf);
}
END_TEST

static Suite *
secmem_suite(void)
{
	Suite *s = suite_create("secmem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_secret_memory_is_left_out_of_core_dumps);
	tcase_add_test(tc, test_wipe_zeroes_every_string_of_the_tree);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(secmem_suite)
