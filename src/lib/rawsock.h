/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The raw ICMP socket through which both programs read the answers to
 * their checks (tunsteerd's probes, tunsteer-edge's health checks): echo
 * replies only, each with the interface it arrived on, and a receive
 * buffer sized for the number of tunnels; and its ICMPv6 twin (tunsteerd's
 * ICMPv6 probes).  The caller owns the fd.
 */
#ifndef TUNSTEER_RAWSOCK_H
#define TUNSTEER_RAWSOCK_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Receive-buffer room per tunnel, so one interval's answers of every
 * tunnel fit: a queued answer costs its whole skb (truesize), not its 64
 * bytes.  And at most (see rawsock_size_rcvbuf). */
#define RAWSOCK_RCVBUF_PER_TUNNEL 4096
#define RAWSOCK_RCVBUF_MAX (8 << 20)
/* What net.core.rmem_default gives without asking. */
#define RAWSOCK_RCVBUF_DEFAULT 212992

/* A nonblocking, close-on-exec raw ICMP socket that receives only echo
 * replies, each with IP_PKTINFO and the kernel's receive time
 * (SO_TIMESTAMPNS).  Returns the fd, or -errno (-EPERM without
 * CAP_NET_RAW). */
int rawsock_icmp_open(void) __attribute__((warn_unused_result));

/*
 * Make room in @fd's receive buffer for a whole interval's answers from
 * @n_tunnels tunnels (RAWSOCK_RCVBUF_PER_TUNNEL each, at most
 * RAWSOCK_RCVBUF_MAX): the loop reads them only after its timer callbacks,
 * and after a stall hundreds are due at once.  Below the default nothing
 * is asked.  SO_RCVBUFFORCE (CAP_NET_ADMIN) passes net.core.rmem_max;
 * without it SO_RCVBUF, which the kernel caps.  Returns the size asked
 * for (0: none), or -errno when neither was accepted (logged by the
 * caller: the socket still works, with a smaller buffer).
 */
int rawsock_size_rcvbuf(int fd, size_t n_tunnels);

/*
 * A nonblocking, close-on-exec UDP socket bound to @addr:@port (network
 * order address, host order port) with IP_FREEBIND, since the address may
 * be configured after we start, and SO_REUSEADDR.  The fd, or -errno.
 * (tunsteer-edge's relay and SA propagation sockets.)
 */
int udpsock_bind(struct in_addr addr, uint16_t port)
	__attribute__((warn_unused_result));

/* Read one datagram (IP header included) into @buf: its length, with
 * *@ifindex the interface it arrived on (0 when the kernel did not say)
 * and, if @stamp is not NULL, *@stamp when the kernel received it
 * (CLOCK_REALTIME; tv_sec -1 when it did not say); or -errno (-EAGAIN
 * when there is nothing to read). */
ssize_t rawsock_recv(int fd, uint8_t *buf, size_t len, unsigned int *ifindex,
		     struct timespec *stamp);

/*
 * When the kernel received a datagram, on CLOCK_MONOTONIC (ns): from
 * @stamp (rawsock_recv()'s CLOCK_REALTIME stamp) and the two clocks read
 * now, @mono_now and @real_now; @mono_now without a stamp.  Never later
 * than @mono_now, so a step of the wall clock cannot make an answer late,
 * only (at worst) early by the step.  Pure: tests pass the clocks.
 */
uint64_t rawsock_rx_mono(const struct timespec *stamp, uint64_t mono_now,
			 uint64_t real_now);
/* rawsock_rx_mono() with the clocks read now. */
uint64_t rawsock_rx_mono_now(const struct timespec *stamp);

/*
 * The ICMPv6 twin of rawsock_icmp_open() (tunsteerd's ICMPv6 probes): a
 * nonblocking, close-on-exec raw ICMPv6 socket that receives only echo
 * replies (ICMP6_FILTER), each with IPV6_PKTINFO (the interface it came
 * in on) and the kernel's receive time (SO_TIMESTAMPNS).  The kernel
 * computes the checksum of what is sent on it and drops what arrives
 * with a bad one.  Returns the fd, or -errno (-EPERM without
 * CAP_NET_RAW, -EAFNOSUPPORT on a kernel without IPv6).
 */
int rawsock_icmp6_open(void) __attribute__((warn_unused_result));

/* rawsock_recv() for that socket: the ICMPv6 message (a raw IPv6 socket
 * gives no IPv6 header) into @buf, its source in *@src (all zeros when
 * the kernel did not say), the interface and receive time as there. */
ssize_t rawsock_recv6(int fd, uint8_t *buf, size_t len, struct in6_addr *src,
		      unsigned int *ifindex, struct timespec *stamp);

#endif
