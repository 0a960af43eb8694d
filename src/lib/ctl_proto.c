/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <string.h>

#include "lib/ctl_proto.h"

uint32_t
ctl_frame_len(const uint8_t hdr[4])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	       (uint32_t)hdr[2] << 8 | hdr[3];
}

void
ctl_frame_header(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int
ctl_request_parse(const uint8_t *buf, size_t len, struct ctl_request *req)
{
	size_t i = 0;

	memset(req, 0, sizeof(*req));
	if (len == 0)
		return -EINVAL;
	if (len > CTL_MAX_REQUEST)
		return -EMSGSIZE;
	while (i < len) {
		size_t start = i, n;

		while (i < len && buf[i] != '\n') {
			if (buf[i] < 0x20 || buf[i] > 0x7e)
				return -EINVAL;
			i++;
		}
		n = i - start;
		if (n == 0)
			return -EINVAL;
		if (req->argc == CTL_MAX_ARGS || n >= CTL_MAX_ARG)
			return -EMSGSIZE;
		memcpy(req->argv[req->argc], buf + start, n);
		req->argv[req->argc][n] = '\0';
		req->argc++;
		if (i < len)
			i++;	/* the newline */
	}
	return 0;
}

int
ctl_request_format(int argc, char *const argv[], uint8_t *buf, size_t size)
{
	size_t off = 0;

	if (argc < 1 || argc > CTL_MAX_ARGS)
		return -EMSGSIZE;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n == 0 || n >= CTL_MAX_ARG || off + n + 1 > size ||
		    off + n + 1 > CTL_MAX_REQUEST)
			return -EMSGSIZE;
		memcpy(buf + off, argv[i], n);
		off += n;
		buf[off++] = '\n';
	}
	return (int)off;
}
