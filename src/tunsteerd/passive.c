/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
/* net/if.h before the linux headers: the kernel's if.h then defers. */
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "tunsteerd/loop.h"
#include "tunsteerd/passive.h"

#define RX_BATCH 32			/* packets per system call */
#define RX_CALLS 8			/* calls per wakeup, then yield */
#define RCVBUF (1 << 20)		/* bursts of checks from many servers */

struct watched {
	char name[IFNAMSIZ];
	struct passive_addrs a;
	unsigned int timeout_ms;
	uint64_t since_ns;		/* watched (with a timeout) since */
	struct passive_stats st;
};

/* ifindex -> tunnel, learnt from the packets themselves: a miss asks the
 * kernel for the link's name once.  Links that are not ours are
 * remembered as -1.  Cleared when half full, and on every configure. */
struct ifmap_slot {
	unsigned int ifindex;		/* 0: empty */
	int tunnel;
};

struct passive {
	struct event_base *base;
	int fd;
	struct event *rx;
	struct watched *t;
	size_t n;
	size_t *by_name;		/* indexes of t, sorted by name */
	struct ifmap_slot *map;
	size_t map_size, map_used;	/* size: a power of two */
	/* Prepared by passive_prepare(), not yet committed. */
	struct watched *staged;
	size_t n_staged;
	size_t *staged_by_name;
	struct ifmap_slot *staged_map;
	size_t staged_map_size;
};

/* --- ifindex -> tunnel ----------------------------------------------------- */

static struct ifmap_slot *
map_slot(struct passive *p, unsigned int ifindex)
{
	size_t mask = p->map_size - 1;
	size_t i = (ifindex * 2654435761u) & mask;

	while (p->map[i].ifindex != 0 && p->map[i].ifindex != ifindex)
		i = (i + 1) & mask;
	return &p->map[i];
}

/* By binary search over a name index: the tunnels view asks for every
 * tunnel, and a scan made that O(n^2). */
static int
tunnel_by_name(const struct passive *p, const char *name)
{
	size_t lo = 0, hi = p->by_name ? p->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, p->t[p->by_name[mid]].name);

		if (c == 0)
			return (int)p->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int
by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct watched *t = arg;

	return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

/* The tunnel that link @ifindex is, or -1. */
static int
tunnel_of(struct passive *p, unsigned int ifindex)
{
	struct ifmap_slot *s;
	char name[IF_NAMESIZE];

	if (ifindex == 0 || p->map_size == 0)
		return -1;
	s = map_slot(p, ifindex);
	if (s->ifindex == ifindex)
		return s->tunnel;
	if (p->map_used >= p->map_size / 2) {
		memset(p->map, 0, p->map_size * sizeof(*p->map));
		p->map_used = 0;
		s = map_slot(p, ifindex);
	}
	s->ifindex = ifindex;
	s->tunnel = if_indextoname(ifindex, name) ? tunnel_by_name(p, name) : -1;
	p->map_used++;
	return s->tunnel;
}

/* --- receiving ------------------------------------------------------------- */

/* One packet from link @ifindex. */
static void
count(struct passive *p, unsigned int ifindex, const uint8_t *buf,
      size_t len, uint64_t now)
{
	struct watched *w;
	int i, kind;

	if ((i = tunnel_of(p, ifindex)) < 0)
		return;
	w = &p->t[i];
	if ((kind = passive_classify(buf, len, &w->a)) < 0)
		return;		/* users' echoes, our probes' answers */
	w->st.count[kind]++;
	w->st.last_ns = now;
}

/* Up to RX_CALLS × RX_BATCH packets per wakeup, RX_BATCH per system call;
 * a short batch means the queue is empty (no call just to hear EAGAIN). */
static void
rx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct passive *p = arg;
	uint8_t buf[RX_BATCH][PASSIVE_SNAPLEN];
	struct sockaddr_ll sll[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct mmsghdr mm[RX_BATCH];
	uint64_t now = mono_ns();

	for (int call = 0; call < RX_CALLS; call++) {
		int n;

		for (int k = 0; k < RX_BATCH; k++) {
			iov[k] = (struct iovec){ buf[k], sizeof(buf[k]) };
			mm[k] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &sll[k], .msg_namelen = sizeof(sll[k]),
				.msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		n = recvmmsg(p->fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;	/* EAGAIN; or ENOBUFS-like errors: checks were
				 * dropped, the next ones will come */
		for (int k = 0; k < n; k++)
			if (mm[k].msg_hdr.msg_namelen >=
			    offsetof(struct sockaddr_ll, sll_addr))
				count(p, (unsigned int)sll[k].sll_ifindex, buf[k],
				      mm[k].msg_len, now);
		if (n < RX_BATCH)
			return;
	}
}

/*
 * Incoming ICMP echo requests and replies on GRE and XFRM-interface links,
 * not fragments past the first, cut to PASSIVE_SNAPLEN.  Everything else
 * stays in the kernel: the filter runs for every IPv4 packet the host
 * receives, so it tests the cheapest fields first.  A socket bound to one
 * protocol (not ETH_P_ALL) is handed only what is received, never what
 * is sent, so a check forwarded back into its tunnel is seen once; the
 * PACKET_OUTGOING test only keeps that true should the binding change.
 */
static const struct sock_filter filter[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 12, 0),
	/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE),
	/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPHRD_IPGRE, 1, 0),
	/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPHRD_NONE, 0, 9),
	/* 5 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),		/* protocol */
	/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMP, 0, 7),
	/* 7 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),		/* fragment offset */
	/* 8 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 5, 0),
	/* 9 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),		/* X = IHL * 4 */
	/* 10 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),		/* ICMP type */
	/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHO, 1, 0),
	/* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHOREPLY, 0, 1),
	/* 13 */ BPF_STMT(BPF_RET | BPF_K, PASSIVE_SNAPLEN),
	/* 14 */ BPF_STMT(BPF_RET | BPF_K, 0),
};

struct passive *
passive_create(struct event_base *base, int *err)
{
	struct passive *p = calloc(1, sizeof(*p));
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = (struct sock_filter *)filter,
	};
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_IP) };
	int rcvbuf = RCVBUF;

	if (p == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	p->base = base;
	/* Protocol 0: nothing is queued until the filter is in place and
	 * bind() names ETH_P_IP. */
	p->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		*err = -errno;
		free(p);
		return NULL;
	}
	if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				 sizeof(rcvbuf));
	errno = 0;
	if (setsockopt(p->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) < 0 ||
	    bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    (p->rx = event_new(base, p->fd, EV_READ | EV_PERSIST, rx_cb, p)) == NULL ||
	    (loop_bulk(p->rx), event_add(p->rx, NULL)) < 0) {
		*err = errno ? -errno : -ENOMEM;
		passive_destroy(p);
		return NULL;
	}
	return p;
}

void
passive_destroy(struct passive *p)
{
	if (p == NULL)
		return;
	if (p->rx)
		event_free(p->rx);
	if (p->fd >= 0)
		close(p->fd);
	passive_abort(p);
	free(p->t);
	free(p->map);
	free(p->by_name);
	free(p);
}

int
passive_prepare(struct passive *p, const struct config *conf)
{
	size_t n = conf->n_tunnels, size = 16;
	struct watched *t;
	struct ifmap_slot *map;
	size_t *ix;
	uint64_t now = mono_ns();

	while (size < 4 * n)
		size *= 2;
	t = calloc(n ? n : 1, sizeof(*t));
	map = calloc(size, sizeof(*map));
	ix = calloc(n + 1, sizeof(*ix));
	if (t == NULL || map == NULL || ix == NULL) {
		free(t);
		free(map);
		free(ix);
		return -ENOMEM;
	}
	passive_abort(p);
	for (size_t i = 0; i < n; i++) {
		const struct config_tunnel *ct = &conf->tunnels[i];
		int old = tunnel_by_name(p, ct->name);

		memcpy(t[i].name, ct->name, sizeof(t[i].name));
		t[i].a = (struct passive_addrs){
			.inner = ntohl(ct->address.v4.s_addr),
			.peer = ntohl(ct->peer.s_addr),
			.endpoint = ntohl(ct->local.s_addr),
			.target = ct->probe.has_passive_target ?
				  ntohl(ct->probe.passive_target.s_addr) : 0,
		};
		t[i].timeout_ms = ct->probe.passive_timeout_ms;
		t[i].since_ns = now;
		if (old >= 0) {
			t[i].st = p->t[old].st;
			/* A watch that goes on now gives the provider its
			 * full timeout; one that stays on keeps counting. */
			if (p->t[old].timeout_ms)
				t[i].since_ns = p->t[old].since_ns;
		}
	}
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	if (n > 1)
		qsort_r(ix, n, sizeof(*ix), by_name_cmp, t);
	p->staged = t;
	p->n_staged = n;
	p->staged_by_name = ix;
	p->staged_map = map;
	p->staged_map_size = size;
	return 0;
}

void
passive_commit(struct passive *p)
{
	if (p->staged == NULL)
		return;
	free(p->t);
	free(p->map);
	free(p->by_name);
	p->t = p->staged;
	p->n = p->n_staged;
	p->by_name = p->staged_by_name;
	p->staged_by_name = NULL;
	p->map = p->staged_map;
	p->map_size = p->staged_map_size;
	p->map_used = 0;
	p->staged = NULL;
	p->staged_map = NULL;
	p->n_staged = p->staged_map_size = 0;
}

void
passive_abort(struct passive *p)
{
	free(p->staged);
	free(p->staged_map);
	free(p->staged_by_name);
	p->staged = NULL;
	p->staged_map = NULL;
	p->staged_by_name = NULL;
	p->n_staged = p->staged_map_size = 0;
}

const struct passive_stats *
passive_stats_of(const struct passive *p, const char *name)
{
	int i = p ? tunnel_by_name(p, name) : -1;

	return i >= 0 ? &p->t[i].st : NULL;
}

long long
passive_age_ms(const struct passive_stats *st)
{
	if (st == NULL || st->last_ns == 0)
		return -1;
	return (long long)((mono_ns() - st->last_ns) / 1000000u);
}

bool
passive_is_missing(unsigned int timeout_ms, uint64_t since_ns,
		   uint64_t last_ns, uint64_t now_ns)
{
	uint64_t ref = last_ns > since_ns ? last_ns : since_ns;

	return timeout_ms != 0 && now_ns >= ref &&
	       now_ns - ref >= (uint64_t)timeout_ms * 1000000u;
}

bool
passive_missing(const struct passive *p, size_t i, const char *name)
{
	const struct watched *w;
	int j;

	if (p == NULL)
		return false;
	if (i < p->n && strcmp(p->t[i].name, name) == 0) {
		w = &p->t[i];
	} else {
		if ((j = tunnel_by_name(p, name)) < 0)
			return false;
		w = &p->t[j];
	}
	return passive_is_missing(w->timeout_ms, w->since_ns, w->st.last_ns,
				  mono_ns());
}
