/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sarec.h"
#include "testlib.h"

char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

struct in_addr
ip(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a;
}

const char *
ip_text(struct in_addr a)
{
	static char b[4][INET_ADDRSTRLEN];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, b[i], sizeof(b[i]));
}

char *
temp_file(const char *text)
{
	char *path = strdup("/tmp/tunsteer-test.XXXXXX");
	size_t len = strlen(text);
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

int
testlib_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	log_init(program_invocation_short_name, true, LOG_LVL_ERR);
	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY, else normal */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

char testlib_dir[64];
char testlib_sock[96];

int
testlib_run_socket(Suite *s)
{
	SRunner *sr = srunner_create(s);
	char lock[sizeof(testlib_sock) + 8];
	int failed;

	log_init(program_invocation_short_name, true, LOG_LVL_WARN);
	snprintf(testlib_dir, sizeof(testlib_dir), "/tmp/%s.XXXXXX",
		 program_invocation_short_name);
	if (mkdtemp(testlib_dir) == NULL) {
		perror("mkdtemp");
		srunner_free(sr);
		return EXIT_FAILURE;
	}
	snprintf(testlib_sock, sizeof(testlib_sock), "%s/ctl.sock", testlib_dir);
	srunner_run_all(sr, CK_ENV);	/* CK_VERBOSITY, else normal */
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(lock, sizeof(lock), "%s.lock", testlib_sock);
	unlink(testlib_sock);
	unlink(lock);
	rmdir(testlib_dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

unsigned int
lines_starting(const char *log, const char *prefix)
{
	unsigned int n = 0;

	for (const char *l = log; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			n++;
		if (strchr(l, '\n') == NULL)
			break;
	}
	return n;
}

bool
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

void
testlib_sarec(struct sarec *r, const char *tunnel, const char *server,
	      uint32_t if_id, uint32_t spi_in, uint32_t spi_out)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->tunnel, sizeof(r->tunnel), "%s", tunnel);
	snprintf(r->negotiated_by, sizeof(r->negotiated_by), "%s", server);
	r->serial = 1;
	r->spi_in = spi_in;
	r->spi_out = spi_out;
	r->if_id = if_id;
	r->reqid = 7;
	r->lifetime_s = 3600;
	r->local = ip("192.0.2.1");
	r->remote = ip("198.51.100.2");
	r->encr_alg = SAREC_ENCR_AES_GCM_16;
	r->encr_keysize = 256;
	r->integ_alg = SAREC_INTEG_NONE;
	r->n_ts_local = r->n_ts_remote = 1;
	ck_assert_int_eq(ts_prefix_parse("0.0.0.0/0", true, &r->ts_local[0]), 0);
	ck_assert_int_eq(ts_prefix_parse("0.0.0.0/0", true, &r->ts_remote[0]), 0);
	ck_assert_int_eq(sarec_keys_alloc(r), 0);
	r->keys->encr_len = 36;
	for (int i = 0; i < 36; i++) {
		r->keys->encr_in[i] = (uint8_t)(0x10 + i);
		r->keys->encr_out[i] = (uint8_t)(0x80 + i);
	}
}
