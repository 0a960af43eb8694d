/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpflows: paced UDP flows for the lab, and a receiver that tells per
 * flow what the network lost, duplicated or reordered and how long the
 * stream stopped.
 *
 *   udpflows send -s SRC -d DST:PORT [-n FLOWS] [-p SPORT] [-r PPS]
 *                 [-t SECONDS] [-l LEN] [-B TICKS] [-c CTL:PORT]
 *   udpflows recv -b [ADDR:]PORT [-o FILE] [-i IDLE_S] [-w FIRST_S]
 *                 [-m MAXFLOWS]
 *
 * Addresses are IPv4 or IPv6 (an IPv6 one with its port as [ADDR]:PORT
 * or ADDR:PORT, the port after the last colon); SRC, DST and CTL of one
 * family.  recv -b PORT alone binds IPv4's any address.
 *
 * send: flow i is a socket bound to SRC:SPORT+i and connected to
 * DST:PORT.  One periodic timerfd (CLOCK_MONOTONIC) ticks PPS times a
 * second; every tick sends one datagram of every flow.  The kernel rearms
 * the timer from its expiry, so the schedule does not drift with the time
 * spent sending.  After a stall (the lab VM is emulated) at most -B ticks
 * are caught up; the rest are skipped and not numbered, so the receiver
 * sees them as a gap, not as loss.  Runs -t seconds (default 0: until
 * SIGTERM or SIGINT) and prints what it sent to stderr.
 *
 * -c adds one control flow (id FLOWS, source port SPORT+FLOWS) sent to
 * CTL:PORT on the same ticks by the same loop: pointed at a receiver that
 * no tunnel leads to, it measures in the same window what the VM alone
 * did to a stream (sender or receiver stalls, queue overflows), so a
 * scenario can tell that from what the network under test did.
 *
 * Datagram (network order): magic "UDF1", flow id u32, sequence u64
 * (from 0, consecutive per flow), send time u64 (CLOCK_MONOTONIC ns),
 * 8 zero bytes; zero padding up to LEN.
 *
 * recv: one socket; per flow id (from the payload, < MAXFLOWS) a bitmap of
 * the sequences seen.  The JSON summary is written (to FILE via a rename,
 * so a reader never sees half of it, or to stdout) on SIGTERM/SIGINT and
 * exit, after IDLE_S seconds without a datagram (default 0: never) and
 * exit, or on SIGUSR1, which also starts a new window: every count in a
 * report covers the time since the previous report.  The idle time counts
 * from the first datagram, so that a sender starting late on a busy
 * machine does not end the receiver; until the first, with -i, the
 * receiver waits FIRST_S seconds (-w, default 15: within the lab's waits
 * for a report, so that a stream that never came is reported empty).
 * Per flow:
 *   received     datagrams, duplicates not included
 *   lost         sequences missing between the window's first sequence
 *                and the highest received (a hole later filled by a late
 *                datagram stays counted in the report it fell in)
 *   duplicates   sequences received again
 *   reordered    datagrams older than the highest already received
 *   max_gap_ms   longest time between two consecutive arrivals (kernel
 *                receive timestamps), the gap across the window start
 *                included
 *   max_loss_run / max_loss_ms   the longest hole in the sequence, as
 *                seen when the datagram after it arrives: missing
 *                datagrams, and the send-time distance between the
 *                datagrams either side of it (2 ms for one datagram lost
 *                at 1,000/s; skipped ticks included, so it is the outage
 *                the sender saw).  A hole later filled by late datagrams
 *                still counts here (lost, counted from the bitmap at the
 *                report, does not)
 *   idle_ms      time since the flow's last datagram, at the report
 * and for the socket: datagrams that were not ours (invalid) and the
 * receive-queue overflows (socket_drops, SO_RXQ_OVFL), so that loss in the
 * receiver is never mistaken for loss in the network.
 */
#define LABTOOL "udpflows"
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "labtool.h"
#include "lib/wire.h"

#define MAGIC 0x55444631u		/* "UDF1" */
#define HDR_LEN 32
#define MAX_LEN 1472			/* one Ethernet frame's UDP payload */
#define MAX_SEQ (1u << 27)		/* 16 MiB of bitmap per flow */
#define BATCH 64

static volatile sig_atomic_t got_stop, got_report;

/* A socket address of either family. */
union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static socklen_t
sa_len(const union sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

static void
sa_set_port(union sa *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

static uint16_t
sa_port(const union sa *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/* @host (IPv4, IPv6, or IPv6 in brackets) into @a, port 0; false if it
 * is none of them. */
static bool
sa_parse(const char *host, union sa *a)
{
	char b[INET6_ADDRSTRLEN];
	size_t n = strlen(host);

	memset(a, 0, sizeof(*a));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(b))
			return false;
		memcpy(b, host + 1, n - 2);
		b[n - 2] = '\0';
		host = b;
	}
	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_report = 1;
	else
		got_stop = 1;
}

/* No SA_RESTART: a signal interrupts read()/poll() so the loop sees it. */
static void
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

static void
usage(void)
{
	fputs("usage: udpflows send -s SRC -d DST:PORT [-n FLOWS] [-p SPORT] [-r PPS]\n"
	      "                     [-t SECONDS] [-l LEN] [-B TICKS] [-c CTL:PORT]\n"
	      "       udpflows recv -b [ADDR:]PORT [-o FILE] [-i IDLE_S] [-w FIRST_S]\n"
	      "                     [-m MAXFLOWS]\n",
	      stderr);
	exit(2);
}

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* "ADDR:PORT", or "PORT" when @addr_optional (IPv4's any address). */
static void
parse_endpoint(const char *s, char opt, bool addr_optional, union sa *a)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];

	memset(a, 0, sizeof(*a));
	if (colon == NULL && addr_optional) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)lab_num(s, opt, 1, 65535));
		return;
	}
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (!sa_parse(host, a))
		goto bad;
	sa_set_port(a, (uint16_t)lab_num(colon + 1, opt, 1, 65535));
	return;
bad:
	fprintf(stderr, "udpflows: -%c %s: want %sADDR:PORT ([IPV6]:PORT)\n", opt, s,
		addr_optional ? "PORT or " : "");
	exit(2);
}

/* --- send ------------------------------------------------------------------ */

static int
do_send(int argc, char **argv)
{
	union sa src, dst, ctl;
	unsigned long flows = 1, sport = 40000, pps = 1000, secs = 0;
	unsigned long len = 64, burst = 10, nfd;
	bool have_src = false, have_dst = false, have_ctl = false;
	uint64_t interval, skipped = 0, errors = 0, start, end = 0;
	double elapsed;
	uint64_t *seq;
	int *fd, tfd = -1, c, last_err = 0, rc = 1;
	uint8_t buf[MAX_LEN] = { 0 };
	struct itimerspec its = { 0 };

	while ((c = getopt(argc, argv, "s:d:n:p:r:t:l:B:c:")) != -1) {
		switch (c) {
		case 's':
			if (!sa_parse(optarg, &src)) {
				fprintf(stderr, "udpflows: -s %s: not an IP address\n", optarg);
				return 2;
			}
			have_src = true;
			break;
		case 'd': parse_endpoint(optarg, 'd', false, &dst); have_dst = true; break;
		case 'n': flows = lab_num(optarg, 'n', 1, 1024); break;
		case 'p': sport = lab_num(optarg, 'p', 1, 65535); break;
		case 'r': pps = lab_num(optarg, 'r', 1, 100000); break;
		case 't': secs = lab_num(optarg, 't', 0, 86400); break;
		case 'l': len = lab_num(optarg, 'l', HDR_LEN, MAX_LEN); break;
		case 'B': burst = lab_num(optarg, 'B', 1, 1000000); break;
		case 'c': parse_endpoint(optarg, 'c', false, &ctl); have_ctl = true; break;
		default: usage();
		}
	}
	if (!have_src || !have_dst || optind != argc)
		usage();
	if (dst.sa.sa_family != src.sa.sa_family ||
	    (have_ctl && ctl.sa.sa_family != src.sa.sa_family)) {
		fprintf(stderr, "udpflows: -s, -d and -c must be of one family\n");
		return 2;
	}
	nfd = flows + (have_ctl ? 1 : 0);
	if (sport + nfd - 1 > 65535) {
		fprintf(stderr, "udpflows: -p %lu -n %lu: ports beyond 65535\n", sport, flows);
		return 2;
	}
	interval = 1000000000u / pps;
	fd = calloc(nfd, sizeof(*fd));
	seq = calloc(nfd, sizeof(*seq));
	if (fd == NULL || seq == NULL) {
		perror("udpflows: calloc");
		goto out;
	}
	for (unsigned long i = 0; i < nfd; i++)
		fd[i] = -1;
	for (unsigned long i = 0; i < nfd; i++) {
		const union sa *to = i < flows ? &dst : &ctl;

		sa_set_port(&src, (uint16_t)(sport + i));
		fd[i] = socket(src.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd[i] < 0 || bind(fd[i], &src.sa, sa_len(&src)) < 0 ||
		    connect(fd[i], &to->sa, sa_len(to)) < 0) {
			fprintf(stderr, "udpflows: flow %lu (port %lu): %s\n", i,
				sport + i, strerror(errno));
			goto out;
		}
	}
	catch_signals();
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	its.it_interval.tv_sec = (time_t)(interval / 1000000000u);
	its.it_interval.tv_nsec = (long)(interval % 1000000000u);
	its.it_value = its.it_interval;
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		perror("udpflows: timerfd");
		goto out;
	}
	wire_put_be32(buf, MAGIC);
	start = now_ns(CLOCK_MONOTONIC);
	if (secs)
		end = start + secs * 1000000000u;
	while (!got_stop && (end == 0 || now_ns(CLOCK_MONOTONIC) < end)) {
		uint64_t due, now;
		ssize_t n = read(tfd, &due, sizeof(due));

		if (n != (ssize_t)sizeof(due))
			continue;		/* EINTR: look at the flags */
		if (due > burst) {
			skipped += due - burst;
			due = burst;
		}
		for (; due > 0; due--) {
			now = now_ns(CLOCK_MONOTONIC);
			for (unsigned long i = 0; i < nfd; i++) {
				wire_put_be32(buf + 4, (uint32_t)i);
				wire_put_be64(buf + 8, seq[i]++);
				wire_put_be64(buf + 16, now);
				/* A datagram that could not be sent is a
				 * hole the receiver counts as lost. */
				if (send(fd[i], buf, len, 0) < 0) {
					errors++;
					last_err = errno;
				}
			}
		}
	}
	elapsed = (now_ns(CLOCK_MONOTONIC) - start) / 1e9;
	fprintf(stderr, "udpflows send: %lu flows, %" PRIu64 " datagrams each "
		"in %.1f s (%.0f/s per flow)%s, %" PRIu64 " ticks skipped, %" PRIu64
		" send errors%s%s\n", flows, seq[0], elapsed,
		elapsed > 0 ? seq[0] / elapsed : 0.0,
		have_ctl ? " + 1 control flow" : "", skipped, errors,
		errors ? ", last: " : "", errors ? strerror(last_err) : "");
	rc = 0;
out:
	for (unsigned long i = 0; fd && i < nfd; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (tfd >= 0)
		close(tfd);
	free(fd);
	free(seq);
	return rc;
}

/* --- recv ------------------------------------------------------------------ */

struct flow {
	bool used;
	uint16_t sport;
	uint8_t *bits;			/* sequences seen */
	uint64_t nbits;
	int64_t highest;		/* -1: nothing yet */
	uint64_t highest_sent_ns;	/* its send time */
	uint64_t win_first;		/* first sequence of this window */
	uint64_t last_rx_ns;		/* CLOCK_REALTIME, from the kernel */
	/* this window */
	uint64_t received, duplicates, reordered, max_gap_ns;
	uint64_t max_run, max_run_ns;
};

struct receiver {
	struct flow *f;
	unsigned long nflows;
	uint64_t invalid, socket_drops, reports, win_start_ns;
	const char *out;
};

static bool
bit_get(const struct flow *f, uint64_t s)
{
	return s < f->nbits && (f->bits[s / 8] >> (s % 8)) & 1;
}

/* Make room for sequence @s; false if out of memory or beyond MAX_SEQ. */
static bool
bit_room(struct flow *f, uint64_t s)
{
	uint64_t n = f->nbits ? f->nbits : 8192;
	uint8_t *b;

	if (s < f->nbits)
		return true;
	if (s >= MAX_SEQ)
		return false;
	while (n <= s)
		n *= 2;
	if ((b = realloc(f->bits, n / 8)) == NULL)
		return false;
	memset(b + f->nbits / 8, 0, (n - f->nbits) / 8);
	f->bits = b;
	f->nbits = n;
	return true;
}

static void
take(struct receiver *r, const uint8_t *p, size_t len, uint16_t sport,
     uint64_t rx_ns)
{
	struct flow *f;
	uint32_t id;
	uint64_t s, sent;

	if (len < HDR_LEN || wire_get_be32(p) != MAGIC) {
		r->invalid++;
		return;
	}
	id = wire_get_be32(p + 4);
	s = wire_get_be64(p + 8);
	if (id >= r->nflows) {
		r->invalid++;
		return;
	}
	f = &r->f[id];
	if (!bit_room(f, s)) {		/* beyond MAX_SEQ, or out of memory */
		r->invalid++;
		return;
	}
	if (!f->used) {
		f->used = true;
		f->sport = sport;
		f->highest = -1;
	}
	if (bit_get(f, s)) {
		f->duplicates++;
		return;
	}
	f->bits[s / 8] |= (uint8_t)(1u << (s % 8));
	f->received++;
	if ((int64_t)s < f->highest) {
		f->reordered++;
	} else {
		sent = wire_get_be64(p + 16);
		if (f->highest >= 0 && s - (uint64_t)f->highest - 1 > f->max_run) {
			f->max_run = s - (uint64_t)f->highest - 1;
			f->max_run_ns = sent > f->highest_sent_ns ?
					sent - f->highest_sent_ns : 0;
		}
		f->highest = (int64_t)s;
		f->highest_sent_ns = sent;
	}
	if (f->last_rx_ns && rx_ns > f->last_rx_ns &&
	    rx_ns - f->last_rx_ns > f->max_gap_ns)
		f->max_gap_ns = rx_ns - f->last_rx_ns;
	f->last_rx_ns = rx_ns;
}

static void
report_flow(FILE *o, const struct flow *f, unsigned long id, uint64_t now)
{
	uint64_t lost = 0;

	for (int64_t s = (int64_t)f->win_first; s <= f->highest; s++)
		lost += !bit_get(f, (uint64_t)s);
	fprintf(o, "{\"id\":%lu,\"sport\":%u,\"received\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64
		",\"reordered\":%" PRIu64 ",\"max_gap_ms\":%.1f"
		",\"max_loss_run\":%" PRIu64 ",\"max_loss_ms\":%.1f"
		",\"highest_seq\":%" PRId64 ",\"idle_ms\":%.1f}",
		id, f->sport, f->received, lost, f->duplicates, f->reordered,
		f->max_gap_ns / 1e6, f->max_run, f->max_run_ns / 1e6,
		f->highest, now > f->last_rx_ns ? (now - f->last_rx_ns) / 1e6 : 0.0);
}

/* Write the window's report, then start a new window. */
static int
report(struct receiver *r)
{
	char tmp[PATH_MAX];
	FILE *o = stdout;
	uint64_t now = now_ns(CLOCK_REALTIME);
	bool first = true;

	if (r->out) {
		if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->out) >= (int)sizeof(tmp) ||
		    (o = fopen(tmp, "w")) == NULL) {
			fprintf(stderr, "udpflows: %s: %s\n", r->out, strerror(errno));
			return -1;
		}
	}
	r->reports++;
	fprintf(o, "{\"report\":%" PRIu64 ",\"window_ms\":%.1f,\"invalid\":%" PRIu64
		",\"socket_drops\":%" PRIu64 ",\"flows\":[", r->reports,
		(now - r->win_start_ns) / 1e6, r->invalid, r->socket_drops);
	for (unsigned long i = 0; i < r->nflows; i++) {
		struct flow *f = &r->f[i];

		if (!f->used)
			continue;
		if (!first)
			fputc(',', o);
		first = false;
		report_flow(o, f, i, now);
		f->win_first = (uint64_t)(f->highest + 1);
		f->received = f->duplicates = f->reordered = f->max_gap_ns = 0;
		f->max_run = f->max_run_ns = 0;
	}
	fputs("]}\n", o);
	r->win_start_ns = now;
	if (r->out && (fclose(o) != 0 || rename(tmp, r->out) != 0)) {
		fprintf(stderr, "udpflows: %s: %s\n", r->out, strerror(errno));
		return -1;
	}
	fflush(o);
	return 0;
}

static int
do_recv(int argc, char **argv)
{
	struct receiver r = { .nflows = 256 };
	union sa bind_to;
	bool have_bind = false;
	unsigned long idle = 0, first = 15;
	bool heard = false;
	int fd = -1, c, one = 1, rcvbuf = 8 << 20, rc = 1;
	static uint8_t bufs[BATCH][MAX_LEN + 1];
	static char cbufs[BATCH][CMSG_SPACE(sizeof(struct timespec)) +
				 CMSG_SPACE(sizeof(uint32_t))];
	union sa from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr mm[BATCH];
	uint64_t last_any;

	while ((c = getopt(argc, argv, "b:o:i:w:m:")) != -1) {
		switch (c) {
		case 'b': parse_endpoint(optarg, 'b', true, &bind_to); have_bind = true; break;
		case 'o': r.out = optarg; break;
		case 'i': idle = lab_num(optarg, 'i', 0, 86400); break;
		case 'w': first = lab_num(optarg, 'w', 1, 86400); break;
		case 'm': r.nflows = lab_num(optarg, 'm', 1, 65536); break;
		default: usage();
		}
	}
	if (!have_bind || optind != argc)
		usage();
	if ((r.f = calloc(r.nflows, sizeof(*r.f))) == NULL) {
		perror("udpflows: calloc");
		goto out;
	}
	fd = socket(bind_to.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &bind_to.sa, sa_len(&bind_to)) < 0) {
		perror("udpflows: bind");
		goto out;
	}
	/* A deep queue rides out a stalled receiver; FORCE (root) goes past
	 * rmem_max, plain SO_RCVBUF is the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0) {
		perror("udpflows: setsockopt");
		goto out;
	}
	catch_signals();
	r.win_start_ns = last_any = now_ns(CLOCK_REALTIME);
	while (!got_stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		if (got_report) {
			got_report = 0;
			report(&r);
		}
		if (idle && now_ns(CLOCK_REALTIME) - last_any >=
				    (heard ? idle : first) * 1000000000u)
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			mm[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = cbufs[i], .msg_controllen = sizeof(cbufs[i]) };
		}
		n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &mm[i].msg_hdr;
			uint64_t rx = 0;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
				if (cm->cmsg_level != SOL_SOCKET)
					continue;
				if (cm->cmsg_type == SO_TIMESTAMPNS &&
				    cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
					struct timespec ts;

					memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
					rx = (uint64_t)ts.tv_sec * 1000000000u +
					     (uint64_t)ts.tv_nsec;
				} else if (cm->cmsg_type == SO_RXQ_OVFL &&
					   cm->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
					uint32_t d;

					memcpy(&d, CMSG_DATA(cm), sizeof(d));
					r.socket_drops = d;
				}
			}
			if (rx == 0)
				rx = now_ns(CLOCK_REALTIME);
			/* Longer than MAX_LEN (MSG_TRUNC) is not ours. */
			if (h->msg_flags & MSG_TRUNC || mm[i].msg_len > MAX_LEN)
				r.invalid++;
			else
				take(&r, bufs[i], mm[i].msg_len,
				     sa_port(&from[i]), rx);
			last_any = now_ns(CLOCK_REALTIME);
			heard = true;
		}
	}
	rc = report(&r) < 0;
out:
	for (unsigned long i = 0; r.f && i < r.nflows; i++)
		free(r.f[i].bits);
	free(r.f);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "send") == 0)
		return do_send(argc - 1, argv + 1);
	if (strcmp(argv[1], "recv") == 0)
		return do_recv(argc - 1, argv + 1);
	usage();
	return 2;
}
