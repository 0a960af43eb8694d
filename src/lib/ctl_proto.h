/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol, shared by the servers (ctl_server.c: tunsteerd,
 * tunsteer-edge) and the client (ctl_client.c: tunsteerctl, tunsteer-edge).
 *
 * One request and one reply per connection on a UNIX stream socket.  Each
 * is a frame: a 4-byte big-endian payload length, then the payload.
 * A request payload is the command and its arguments, one per line
 * ("tunnels\n--json\n"); a reply payload starts with "ok\n" or "error\n"
 * and the rest is what to print.  A server answers a 0-length frame
 * "empty request".  Requests are small and strictly checked;
 * this parser is what a fuzzer drives.
 */
#ifndef TUNSTEER_CTL_PROTO_H
#define TUNSTEER_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_REQUEST 4096
#define CTL_MAX_REPLY (64u << 20)
#define CTL_MAX_ARGS 16
#define CTL_MAX_ARG 256

struct ctl_request {
	int argc;
	char argv[CTL_MAX_ARGS][CTL_MAX_ARG];
};

/* Length of the frame whose 4-byte header is at @hdr. */
uint32_t ctl_frame_len(const uint8_t hdr[4]);
void ctl_frame_header(uint8_t hdr[4], uint32_t len);

/*
 * Parse a request payload.  Returns 0, or -EMSGSIZE (too long, too many or
 * too long arguments), -EINVAL (empty, NUL bytes, empty argument, bytes
 * outside printable ASCII).
 */
int ctl_request_parse(const uint8_t *buf, size_t len, struct ctl_request *req)
	__attribute__((warn_unused_result));

/* Serialise argv into @buf (at most CTL_MAX_REQUEST); returns the payload
 * length or -EMSGSIZE. */
int ctl_request_format(int argc, char *const argv[], uint8_t *buf, size_t size)
	__attribute__((warn_unused_result));

#endif
