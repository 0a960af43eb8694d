/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <netinet/in.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/rawsock.h"

int
rawsock_icmp_open(void)
{
	struct icmp_filter filt = { .data = ~(1u << ICMP_ECHOREPLY) };
	int one = 1, fd, err;

	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	/* Only echo replies reach us, with the interface they came in on
	 * and when (tunsteerd judges answers by the kernel's time). */
	if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int
rawsock_size_rcvbuf(int fd, size_t n_tunnels)
{
	size_t want = n_tunnels * RAWSOCK_RCVBUF_PER_TUNNEL;
	int sz = (int)(want > RAWSOCK_RCVBUF_MAX ? RAWSOCK_RCVBUF_MAX : want);

	if (sz <= RAWSOCK_RCVBUF_DEFAULT)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0)
		return -errno;
	return sz;
}

ssize_t
rawsock_recv(int fd, uint8_t *buf, size_t len, unsigned int *ifindex,
	     struct timespec *stamp)
{
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo)) +
		  CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	*ifindex = 0;
	if (stamp)
		*stamp = (struct timespec){ .tv_sec = -1 };
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo)))
			*ifindex = (unsigned int)((struct in_pktinfo *)
				   CMSG_DATA(c))->ipi_ifindex;
		if (stamp && c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*stamp)))
			memcpy(stamp, CMSG_DATA(c), sizeof(*stamp));
	}
	return n;
}

uint64_t
rawsock_rx_mono(const struct timespec *stamp, uint64_t mono_now,
		uint64_t real_now)
{
	uint64_t real_rx, ago;

	if (stamp == NULL || stamp->tv_sec < 0)
		return mono_now;
	real_rx = (uint64_t)stamp->tv_sec * 1000000000u + (uint64_t)stamp->tv_nsec;
	ago = real_now > real_rx ? real_now - real_rx : 0;
	return ago < mono_now ? mono_now - ago : mono_now;
}

uint64_t
rawsock_rx_mono_now(const struct timespec *stamp)
{
	/* Monotonic first: the real-time reading is then no earlier than
	 * it, and the age of the stamp is never understated. */
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);

	return rawsock_rx_mono(stamp, mono, clock_ns(CLOCK_REALTIME));
}

int
udpsock_bind(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port), .sin_addr = addr };
	int one = 1, fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int
rawsock_icmp6_open(void)
{
	struct icmp6_filter filt;
	int one = 1, fd, err;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	/* As the IPv4 socket: echo replies only (not the neighbour
	 * discovery and router advertisements every IPv6 link carries),
	 * with the interface and the kernel's time.  No IPV6_CHECKSUM:
	 * ICMPv6's is always the kernel's (Linux refuses the option). */
	ICMP6_FILTER_SETBLOCKALL(&filt);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt,
		       sizeof(filt)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
		       sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

ssize_t
rawsock_recv6(int fd, uint8_t *buf, size_t len, struct in6_addr *src,
	      unsigned int *ifindex, struct timespec *stamp)
{
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		  CMSG_SPACE(sizeof(struct timespec))];
	struct sockaddr_in6 from = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	*ifindex = 0;
	memset(src, 0, sizeof(*src));
	if (stamp)
		*stamp = (struct timespec){ .tv_sec = -1 };
	if (n < 0)
		return -errno;
	if (mh.msg_namelen >= sizeof(from) && from.sin6_family == AF_INET6)
		*src = from.sin6_addr;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo)))
			*ifindex = ((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_ifindex;
		if (stamp && c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*stamp)))
			memcpy(stamp, CMSG_DATA(c), sizeof(*stamp));
	}
	return n;
}
