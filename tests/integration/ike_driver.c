/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ike_driver: one ipsec tunnel brought up by ike.c with libcharon, as
 * tunsteerd will, for tests against a responder we did not write
 * (tests/integration/ike_against_debian_charon).
 *
 *   ike_driver -n NAME -l LOCAL -r REMOTE -k PSKFILE -i IF_ID -s STATUS
 *              [-L LOCAL_ID] [-R REMOTE_ID] [-P IKE_PROPOSALS]
 *              [-E ESP_PROPOSALS] [-D DPD_S] [-C CHILD_LIFETIME_S]
 *              [-w REPLAY_WINDOW] [-t RETRANSMIT_TIMEOUT_S] [-T TRIES]
 *              [-p PORT] [-v]
 *
 * The XFRM interface is the caller's.  STATUS is rewritten (atomically)
 * whenever something changed, as KEY=VALUE lines (ike_status), so a
 * script polls it instead of sleeping.  SIGUSR1: a liveness check, as
 * when probes see the tunnel down (ike_tunnel_check()); SIGHUP: read
 * PSKFILE again and apply it (a config change of this tunnel);
 * SIGTERM/SIGINT: stop (charon deletes the SAs).  -p binds IKE to PORT
 * and PORT + 1 (NAT-T) instead of 500/4500, so that two drivers share a
 * namespace.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/secmem.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/loop.h"

static struct {
	struct event_base *base;
	struct ike *ike;
	struct config_tunnel t;
	uint32_t if_id;
	const char *psk_file, *status_path;
	char last[4096];
	unsigned int link_changes;
} d;

static void
usage(void)
{
	fprintf(stderr, "usage: ike_driver -n NAME -l LOCAL -r REMOTE -k PSKFILE "
		"-i IF_ID -s STATUS [-L LOCAL_ID] [-R REMOTE_ID] [-P IKE] "
		"[-E ESP] [-D DPD_S] [-C CHILD_LIFETIME_S] [-w REPLAY] "
		"[-t RETRANSMIT_S] [-T TRIES] [-p PORT] [-v]\n");
	exit(2);
}

/* The PSK: the file's first line, in secret memory. */
static char *
read_psk(const char *path)
{
	char buf[512], *nl, *psk;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fatal("driver", "%s", path);
	if (fgets(buf, sizeof(buf), f) == NULL)
		fatalx("driver", "%s: empty", path);
	fclose(f);
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	if ((psk = secmem_strdup(buf)) == NULL)
		fatal("driver", "secmem");
	explicit_bzero(buf, sizeof(buf));
	return psk;
}

static void
write_status(void)
{
	struct ike_status st;
	char text[4096], tmp[4200];
	FILE *f;

	if (ike_tunnel_status(d.ike, d.t.name, &st) < 0)
		return;
	snprintf(text, sizeof(text),
		 "link=%s\nike_state=%s\nchild_state=%s\nike_id=%u\n"
		 "child_id=%u\nspi_in=%08x\nspi_out=%08x\nike_proposal=%s\n"
		 "esp_proposal=%s\nnat=%d\nike_rekey_in_s=%lld\n"
		 "ike_reauth_in_s=%lld\nchild_rekey_in_s=%lld\n"
		 "dpd_sent_ago_s=%s\ndpd_answered=%s\nattempts=%u\n"
		 "last_failure=%s\nnext_attempt=%s\nlink_changes=%u\n",
		 st.link == IKE_LINK_UP ? "up" : "down",
		 ike_sa_state_name(st.ike_state),
		 ike_child_state_name(st.child_state), st.ike_id, st.child_id,
		 st.spi_in, st.spi_out, st.ike_proposal, st.esp_proposal,
		 st.nat, (long long)st.ike_rekey_in_s,
		 (long long)st.ike_reauth_in_s, (long long)st.child_rekey_in_s,
		 st.dpd_sent_ago_s >= 0 ? "yes" : "no",
		 st.dpd_answered_ago_s >= 0 ? "yes" : "no", st.attempts,
		 st.last_failure ? ike_failure_text(st.last_failure) : "none",
		 st.next_attempt_in_s >= 0 ? "waiting" : "none",
		 d.link_changes);
	if (strcmp(text, d.last) == 0)
		return;
	snprintf(d.last, sizeof(d.last), "%s", text);
	snprintf(tmp, sizeof(tmp), "%s.tmp", d.status_path);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("driver", "%s", tmp);
		return;
	}
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, d.status_path) != 0)
		log_warn("driver", "%s", d.status_path);
}

static void
link_cb(void *arg, const char *tunnel, enum ike_link link)
{
	d.link_changes++;
	write_status();
}

/* Status changes without a link change too (states, attempts). */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	write_status();
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char *psk;
	int r;

	switch (sig) {
	case SIGUSR1:
		log_info("driver", "liveness check asked for");
		(void)ike_tunnel_check(d.ike, d.t.name);
		break;
	case SIGHUP:
		psk = read_psk(d.psk_file);
		secmem_free_str(d.t.ike.psk);
		d.t.ike.psk = psk;
		r = ike_tunnel_set(d.ike, &d.t, d.if_id);
		log_info("driver", "PSK re-read: %s",
			 r > 0 ? "re-keying" : r == 0 ? "unchanged" : strerror(-r));
		break;
	default:
		event_base_loopbreak(d.base);
		break;
	}
}

int
main(int argc, char **argv)
{
	struct ike_charon_opts opts = { 0 };
	struct ike_callbacks cbs = { .link_cb = link_cb };
	struct ike_driver *drv;
	struct event *sigs[4], *tick;
	struct timeval quarter = { 0, 250000 };
	static const int signos[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	bool verbose = false;
	int c, err;

	d.t.type = TUNNEL_IPSEC;
	d.t.ike.set = true;
	d.t.ike.ike_lifetime_s = CONFIG_IKE_LIFETIME_S;
	d.t.ike.child_lifetime_s = CONFIG_CHILD_LIFETIME_S;
	d.t.ike.dpd_s = CONFIG_DPD_S;
	while ((c = getopt(argc, argv, "n:l:r:k:i:s:L:R:P:E:D:C:w:t:T:p:v")) != -1) {
		switch (c) {
		case 'n':
			snprintf(d.t.name, sizeof(d.t.name), "%s", optarg);
			break;
		case 'l':
			if (inet_pton(AF_INET, optarg, &d.t.local) != 1)
				usage();
			break;
		case 'r':
			if (inet_pton(AF_INET, optarg, &d.t.remote) != 1)
				usage();
			break;
		case 'k': d.psk_file = optarg; break;
		case 'i': d.if_id = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': d.status_path = optarg; break;
		case 'L': d.t.ike.local_id = optarg; break;
		case 'R': d.t.ike.remote_id = optarg; break;
		case 'P': d.t.ike.ike_proposals = optarg; break;
		case 'E': d.t.ike.esp_proposals = optarg; break;
		case 'D': d.t.ike.dpd_s = (unsigned)atoi(optarg); break;
		case 'C': d.t.ike.child_lifetime_s = (unsigned)atoi(optarg); break;
		case 'w': d.t.ike.replay_window = (unsigned)atoi(optarg); break;
		case 't': opts.retransmit_timeout_s = atof(optarg); break;
		case 'T': opts.retransmit_tries = (unsigned)atoi(optarg); break;
		case 'p':
			opts.port = (uint16_t)atoi(optarg);
			opts.port_nat_t = (uint16_t)(opts.port + 1);
			break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (!d.t.name[0] || !d.t.remote.s_addr || !d.psk_file ||
	    !d.status_path || !d.if_id)
		usage();
	log_init("ike_driver", true, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	d.t.ike.psk = read_psk(d.psk_file);
	if ((d.base = loop_base_new()) == NULL)
		fatalx("driver", "event base");
	if ((drv = ike_charon_create(&opts, &err)) == NULL)
		fatalx("driver", "ike_charon_create: %s", strerror(-err));
	if ((err = ike_create(d.base, drv, &cbs, &d.ike)) < 0)
		fatalx("driver", "ike_create: %s", strerror(-err));
	for (size_t i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(d.base, signos[i], signal_cb, NULL);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatalx("driver", "signal %d", signos[i]);
	}
	tick = event_new(d.base, -1, EV_PERSIST, tick_cb, NULL);
	if (tick == NULL || event_add(tick, &quarter) < 0)
		fatalx("driver", "timer");
	if ((err = ike_tunnel_set(d.ike, &d.t, d.if_id)) < 0)
		fatalx("driver", "ike_tunnel_set: %s", strerror(-err));
	write_status();
	log_info("driver", "running");
	event_base_dispatch(d.base);
	write_status();
	log_info("driver", "stopping");
	ike_destroy(d.ike);
	for (size_t i = 0; i < 4; i++)
		event_free(sigs[i]);
	event_free(tick);
	event_base_free(d.base);
	secmem_free_str(d.t.ike.psk);
	return 0;
}
