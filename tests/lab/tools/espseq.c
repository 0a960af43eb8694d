/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * espseq: the order in which one SA's ESP passes a point of the lab wire,
 * judged as an anti-replay window would judge it.
 *
 *   espseq -i IFNAME -s SPI [-d in|out] [-w WINDOW] [-o FILE] [-l LIST]
 *
 * Reads every IPv4 ESP packet of SPI (a kernel socket filter picks them)
 * that IFNAME receives (-d in, the default) or sends (-d out), in the
 * order the device saw them, and runs their sequence numbers through a
 * window of WINDOW (default 64) exactly as the kernel's ESP input does
 * before it decrypts (RFC 4303 §3.4.3): a number more than WINDOW - 1
 * behind the highest so far is "too old", one already inside the window
 * "seen twice".  Nothing is dropped: espseq only watches, beside the
 * kernel.
 *
 * Where the receiver's window drops what its wire already brought out of
 * order, espseq on that wire counts the same; espseq on the sender's
 * wire tells whether the sender put it out of order.  A scenario can so
 * tell a window's drops that the network or the sending kernel caused
 * from drops that two senders under one SA cause (those are seen twice).
 *
 * On SIGTERM or SIGINT it writes one JSON object (to FILE via a rename,
 * so that a reader never sees half of it, or to stdout) and exits:
 *   packets       ESP packets of the SPI seen
 *   too_old       more than WINDOW - 1 behind the highest before them
 *   seen_twice    inside the window and seen already
 *   late          accepted, but behind the highest before them
 *   max_behind    the furthest any packet was behind the highest
 *   highest       the highest sequence number
 *   capture_drops packets the socket itself lost (its buffer was full):
 *                 when not 0, every count above is a lower bound
 */
#define _GNU_SOURCE
#define LABTOOL "espseq"
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "labtool.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct window {
	uint32_t size;		/* 1..64 */
	uint32_t top;		/* highest sequence number so far */
	uint64_t bits;		/* bit d: top - d seen */
	uint64_t packets, too_old, seen_twice, late, max_behind;
};

#define ODD_JUMP (1U << 16)	/* a jump of the highest no sender makes */

/* One sequence number through the window, as ESP input checks it.
 * Returns 1 when the number is odd: a jump of ODD_JUMP or more past the
 * highest, or one seen already. */
static int
window_see(struct window *w, uint32_t seq)
{
	uint32_t d;

	w->packets++;
	if (seq > w->top) {
		d = seq - w->top;
		w->bits = d < 64 ? (w->bits << d) | 1 : 1;
		w->top = seq;
		return d >= ODD_JUMP;
	}
	d = w->top - seq;
	if (d > w->max_behind)
		w->max_behind = d;
	if (d >= w->size)
		w->too_old++;
	else if (w->bits & (1ULL << d)) {
		w->seen_twice++;
		return 1;
	} else {
		w->bits |= 1ULL << d;
		w->late++;
	}
	return 0;
}

/* An odd packet to stderr: which it was and its first bytes, so that a
 * scenario that meets one can tell what it was. */
static void
print_odd(uint32_t seq, const struct sockaddr_ll *from, const unsigned char *pkt,
	  size_t len, ssize_t n)
{
	size_t i;

	fprintf(stderr, "espseq: odd: seq %u (0x%08x), pkttype %u, ifindex %d, captured %zd bytes:",
		seq, seq, from->sll_pkttype, from->sll_ifindex, n);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 4 ? "" : " ", pkt[i]);
	fputc('\n', stderr);
}


static int
write_report(const char *path, const char *ifname, uint32_t spi, int out,
	     const struct window *w, unsigned int drops)
{
	char tmp[4096];
	FILE *f = stdout;

	if (path != NULL) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
			return -1;
		if ((f = fopen(tmp, "w")) == NULL)
			return -1;
	}
	fprintf(f, "{\"ifname\":\"%s\",\"spi\":\"0x%08x\",\"direction\":\"%s\","
		"\"window\":%u,\"packets\":%llu,\"too_old\":%llu,\"seen_twice\":%llu,"
		"\"late\":%llu,\"max_behind\":%llu,\"highest\":%u,\"capture_drops\":%u}\n",
		ifname, spi, out ? "out" : "in", w->size,
		(unsigned long long)w->packets, (unsigned long long)w->too_old,
		(unsigned long long)w->seen_twice, (unsigned long long)w->late,
		(unsigned long long)w->max_behind, w->top, drops);
	if (path == NULL)
		return fflush(f) == 0 ? 0 : -1;
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

int
main(int argc, char **argv)
{
	const char *ifname = NULL, *path = NULL, *list_path = NULL;
	struct window w = { .size = 64 };
	uint32_t spi = 0;
	unsigned int odd = 0;
	FILE *list = NULL;
	int have_spi = 0, out = 0, c, fd, buf = 16 << 20;
	unsigned int ifindex;
	struct sigaction sa = { .sa_handler = on_signal };
	struct tpacket_stats st = { 0 };
	socklen_t len = sizeof(st);

	while ((c = getopt(argc, argv, "i:s:d:w:o:l:")) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 's': spi = (uint32_t)lab_num(optarg, 's', 1, UINT32_MAX); have_spi = 1; break;
		case 'd':
			if (strcmp(optarg, "in") != 0 && strcmp(optarg, "out") != 0) {
				fprintf(stderr, "espseq: -d %s: want in or out\n", optarg);
				return 2;
			}
			out = optarg[0] == 'o';
			break;
		case 'w': w.size = (uint32_t)lab_num(optarg, 'w', 1, 64); break;
		case 'o': path = optarg; break;
		case 'l': list_path = optarg; break;
		default:
			goto usage;
		}
	}
	if (ifname == NULL || !have_spi || optind != argc)
		goto usage;
	if ((ifindex = if_nametoindex(ifname)) == 0) {
		fprintf(stderr, "espseq: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	if (list_path != NULL && (list = fopen(list_path, "we")) == NULL) {
		fprintf(stderr, "espseq: %s: %s\n", list_path, strerror(errno));
		return 1;
	}

	/* Only IPv4 ESP of the SPI reaches the socket: the frame's protocol
	 * is IPv4, its protocol byte 9 is 50, and the first word after the
	 * header (its length from IHL) is the SPI.  A datagram socket's
	 * filter sees the IP header at 0.  The socket is for every protocol
	 * because only such sockets see what a device sends. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 6),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ESP, 0, 4),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, spi, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 64),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "espseq: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	/* A full buffer would lose packets and hide reordering: ask for a
	 * large one (root may exceed rmem_max), and report what it lost. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* What the filter let through before bind's ifindex applied, and
	 * drops counted so far, are not this capture's. */
	(void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: recvfrom returns */
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "espseq: %s %s, spi 0x%08x, window %u\n",
		ifname, out ? "out" : "in", spi, w.size);

	while (!stop) {
		unsigned char pkt[64];
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_TRUNC,
				     (struct sockaddr *)&from, &flen);
		size_t ihl;
		uint32_t seq;

		if (n < 0) {
			/* ENETDOWN: the device went down (and may come
			 * back); the socket stays bound to it. */
			if (errno == EINTR || errno == ENETDOWN)
				continue;
			fprintf(stderr, "espseq: recv: %s\n", strerror(errno));
			return 1;
		}
		if ((from.sll_pkttype == PACKET_OUTGOING) != out)
			continue;
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if ((size_t)n < ihl + 8 || ihl + 8 > sizeof(pkt))
			continue;
		memcpy(&seq, pkt + ihl + 4, sizeof(seq));
		seq = ntohl(seq);
		if (window_see(&w, seq) && odd < 8) {
			odd++;
			print_odd(seq, &from, pkt, (size_t)n < sizeof(pkt) ? (size_t)n : sizeof(pkt), n);
		}
		if (list != NULL)
			fprintf(list, "%u\n", seq);
	}
	if (list != NULL && fclose(list) != 0) {
		fprintf(stderr, "espseq: %s: %s\n", list_path, strerror(errno));
		return 1;
	}
	len = sizeof(st);
	memset(&st, 0, sizeof(st));
	(void)getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);
	if (write_report(path, ifname, spi, out, &w, st.tp_drops) < 0) {
		fprintf(stderr, "espseq: %s: %s\n", path ? path : "stdout", strerror(errno));
		return 1;
	}
	return 0;
usage:
	fputs("usage: espseq -i IFNAME -s SPI [-d in|out] [-w WINDOW] [-o FILE] [-l LIST]\n", stderr);
	return 2;
}
