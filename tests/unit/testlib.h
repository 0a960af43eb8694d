/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the Check suites of every room share: reading a file, IPv4
 * addresses to and from text, a temp file, and the suite's main().
 * Each helper fails the running test (ck_assert) instead of returning an
 * error.
 */
#ifndef TUNSTEER_TESTLIB_H
#define TUNSTEER_TESTLIB_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* The whole of @path, NUL-terminated (caller frees). */
char *slurp(const char *path);

/* @s ("192.0.2.1") as an address. */
struct in_addr ip(const char *s);

/* @a as text, in one of four static buffers (four may be in use at once,
 * e.g. in one printf). */
const char *ip_text(struct in_addr a);

/* A new file under /tmp holding @text, mode 0600; its path (caller
 * unlinks and frees). */
char *temp_file(const char *text);

/* A valid SA record (lib/sarec.h) of tunnel @tunnel negotiated by
 * @server: AES-GCM-16-256 (36-byte keys, a pattern per direction),
 * 0.0.0.0/0 both ways, 192.0.2.1 (the edge) with 198.51.100.2, SPIs
 * @spi_in and @spi_out, @if_id, reqid 7, serial 1, a lifetime of an hour,
 * window 0.  Tests change what they need; sarec_clear() frees it. */
struct sarec;
void testlib_sarec(struct sarec *r, const char *tunnel, const char *server,
		   uint32_t if_id, uint32_t spi_in, uint32_t spi_out);

/* How many lines of @log start with @prefix (kernel_fake_ops_log()). */
unsigned int lines_starting(const char *log, const char *prefix);

/* Is @word a whole space-separated word of @list? */
bool has_word(const char *list, const char *word);

/* Run @s: log to stderr at errors only, output CK_NORMAL; the exit
 * status make check wants. */
int testlib_run(Suite *s);

/* CLOCK_MONOTONIC, in seconds. */
double now_s(void);

/* A non-blocking UNIX stream socket connected to @path. */
int connect_to(const char *path);

/*
 * Suites that run a control socket: CHECK_MAIN_SOCKET makes a fresh
 * directory (mode 0700) under /tmp, testlib_dir, and names the socket in
 * it, testlib_sock, before the tests run (logging warnings too: some
 * tests are about them), and removes both after.
 */
extern char testlib_dir[64];
extern char testlib_sock[96];
int testlib_run_socket(Suite *s);

/* The main() of a suite built by @suite_fn(). */
#define CHECK_MAIN(suite_fn)						\
	int main(void);							\
	int								\
	main(void)							\
	{								\
		return testlib_run(suite_fn());				\
	}

/* The main() of a suite with a control socket (see testlib_sock). */
#define CHECK_MAIN_SOCKET(suite_fn)					\
	int main(void);							\
	int								\
	main(void)							\
	{								\
		return testlib_run_socket(suite_fn());			\
	}

#endif
