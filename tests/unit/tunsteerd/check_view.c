/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control views (status, tunnels, egress; text and JSON) byte for
 * byte: tests and tools parse them, so moving or folding their code must
 * not change one byte.  Engine over the fake kernel, three tunnels in
 * three health states, provider checks counted on two; and an ipsec
 * tunnel's IKE side, with every field and never its PSK.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/kernel_fake.h"
#include "lib/log.h"
#include "tunsteerd/engine.h"
#include "tunsteerd/health.h"
#include "tunsteerd/ike.h"
#include "tunsteerd/passive.h"
#include "tunsteerd/view.h"
#include "testlib.h"

static struct kernel_ops *k;
static struct engine *e;
static char *path;
static struct health h[3];
static struct passive_stats st[2];

static const char conf_text[] =
	"tunnels = (\n"
	"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\"; },\n"
	"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\";"
	"    address6 = \"2001:db8:ffff::2/127\"; },\n"
	"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\"; }\n"
	");\n"
	"egress = ( { name = \"office\";"
	"  prefixes = [ \"203.0.113.0/25\", \"198.18.7.0/24\" ];\n"
	"  tunnels = ( { tunnel = \"cf1\"; priority = 100; weight = 3; },\n"
	"              { tunnel = \"cf2\"; priority = 100; },\n"
	"              { tunnel = \"cf3\"; priority = 200; } ); },\n"
	"  { name = \"lab\"; prefixes = [ \"203.0.113.128/25\" ];\n"
	"  tunnels = ( { tunnel = \"cf3\"; priority = 1; } ); } );\n";

static const struct health *
health_cb(void *arg, const char *name)
{
	(void)arg;
	if (strlen(name) == 3 && strncmp(name, "cf", 2) == 0 &&
	    name[2] >= '1' && name[2] <= '3')
		return &h[name[2] - '1'];
	return NULL;
}

/* The ipsec fixture's v1 and v2. */
static const struct health *
ipsec_health_cb(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "v1") == 0)
		return &h[0];
	if (strcmp(name, "v2") == 0)
		return &h[1];
	return NULL;
}

static const struct passive_stats *
checks_cb(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "cf1") == 0)
		return &st[0];
	if (strcmp(name, "cf2") == 0)
		return &st[1];
	return NULL;
}

/* The engine over the fake kernel, for a config of @text. */
static void
start(const char *text)
{
	log_init("check_view", true, LOG_LVL_ERR);
	path = temp_file(text);
	k = kernel_fake_create();
	ck_assert_ptr_nonnull(k);
	e = engine_create(k);
	ck_assert_ptr_nonnull(e);
	memset(h, 0, sizeof(h));
}

static void
setup(void)
{
	start(conf_text);
	h[0].state = HEALTH_UP;
	h[1].state = HEALTH_DEGRADED;
	h[1].checks_missing = true;
	snprintf(h[1].reason, sizeof(h[1].reason), "provider health checks missing");
	h[2].state = HEALTH_DOWN;
	snprintf(h[2].reason, sizeof(h[2].reason), "3 probes lost in a row");
	memset(st, 0, sizeof(st));
	st[0].count[PASSIVE_BIDI_REQUEST] = 7;
	st[0].count[PASSIVE_UNI_REPLY] = 2;
	st[1].count[PASSIVE_BIDI_REPLY] = 12345678901ull;
	engine_set_health_source(e, health_cb, NULL);
	engine_set_checks_source(e, checks_cb, NULL);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
}

static void
teardown(void)
{
	engine_destroy(e, true);
	k->destroy(k);
	unlink(path);
	free(path);
}

typedef void (*view_fn)(struct engine *e, bool json, FILE *out);

/* What @fn writes, with the config's path as CONF and the uptime's
 * digits as U (they change from run to run). */
static char *
view(view_fn fn, bool json)
{
	char *buf = NULL, *p, *out;
	size_t len = 0, plen = strlen(path);
	FILE *f = open_memstream(&buf, &len);
	size_t o = 0;

	ck_assert_ptr_nonnull(f);
	fn(e, json, f);
	fclose(f);
	out = calloc(1, len + 1);
	ck_assert_ptr_nonnull(out);
	for (p = buf; *p; ) {
		if (strncmp(p, path, plen) == 0) {
			o += (size_t)sprintf(out + o, "CONF");
			p += plen;
		} else if (strncmp(p, "\"uptime\":", 9) == 0 ||
			   strncmp(p, ", up ", 5) == 0) {
			size_t n = *p == '"' ? 9 : 5;

			memcpy(out + o, p, n);
			o += n;
			p += n;
			while (*p >= '0' && *p <= '9')
				p++;
			out[o++] = 'U';
		} else {
			out[o++] = *p++;
		}
	}
	free(buf);
	return out;
}

/* Written by the views before they moved out of engine.c; since then
 * fields were only added (probe_family and probes, issue 14), none
 * renamed or moved. */
#define STATUS_JSON \
	"{\"version\":\"" PACKAGE_VERSION "\",\"uptime\":U,\"config\":\"CONF\",\"failovers\":0,\"conntrack_flushes\":0,\"loads\":1,\"failed_loads\":0,\"repairs\":0,\"audits\":0,\"kernel_ok\":true,\"tunnels\":3,\"policies\":2,\"role\":\"active\",\"nexthop_groups\":\"resilient\",\"nft_in_sync\":true,\"nft_failures\":0,\"nft_out_of_sync_s\":0,\"nft_error\":null,\"loop_stall_max_ms\":0,\"loop_stall_recent_ms\":0,\"loop_stall_own_max_ms\":0,\"loop_stall_own_recent_ms\":0,\"loop_stalls\":0}\n"

#define STATUS_TEXT \
	"tunsteerd " PACKAGE_VERSION ", up Us\n" \
	"config:   CONF (1 loads, 0 failed)\n" \
	"kernel:   in sync, 0 repairs, 0 audits\n" \
	"nft:      in sync\n" \
	"egress:   active, 0 failovers, 0 conntrack flushes\n" \
	"tunnels:  3, egress policies: 2\n" \
	"nexthops: resilient groups\n" \
	"loop:     longest stall 0 ms in the last 60s, 0 ms since start; 0 of 50 ms or more\n" \
	"          without waiting for a CPU: 0 ms in the last 60s, 0 ms since start\n"

#define TUNNELS_JSON \
	"{\"tunnels\":[{\"name\":\"cf1\",\"type\":\"gre\",\"ifname\":\"cf1\",\"state\":\"up\",\"active\":true,\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":0,\"tx_bytes\":0,\"health\":\"up\",\"health_reason\":null,\"rtt_ms\":0.000,\"jitter_ms\":0.000,\"loss_pct\":0,\"conntrack_mark\":\"0x04170000/0xffff0000\",\"mtu\":1476,\"mtu_source\":\"configured\",\"mss\":1436,\"address\":\"198.19.0.1/31\",\"peer\":\"198.19.0.0\",\"address6\":null,\"peer6\":null,\"mss6\":null,\"provider_checks\":{\"bidirectional_request\":7,\"bidirectional_reply\":0,\"unidirectional_request\":0,\"unidirectional_reply\":2},\"provider_check_age_ms\":null,\"provider_checks_missing\":false,\"probe_family\":\"ipv4\",\"probes\":{\"ipv4\":{\"sent\":0,\"answered\":0,\"lost\":0},\"ipv6\":null}},{\"name\":\"cf2\",\"type\":\"gre\",\"ifname\":\"cf2\",\"state\":\"up\",\"active\":false,\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":0,\"tx_bytes\":0,\"health\":\"degraded\",\"health_reason\":\"provider health checks missing\",\"rtt_ms\":0.000,\"jitter_ms\":0.000,\"loss_pct\":0,\"conntrack_mark\":\"0x05aa0000/0xffff0000\",\"mtu\":1476,\"mtu_source\":\"configured\",\"mss\":1436,\"address\":\"198.19.0.3/31\",\"peer\":\"198.19.0.2\",\"address6\":\"2001:db8:ffff::2/127\",\"peer6\":\"2001:db8:ffff::3\",\"mss6\":1416,\"provider_checks\":{\"bidirectional_request\":0,\"bidirectional_reply\":12345678901,\"unidirectional_request\":0,\"unidirectional_reply\":0},\"provider_check_age_ms\":null,\"provider_checks_missing\":true,\"probe_family\":\"ipv4\",\"probes\":{\"ipv4\":{\"sent\":0,\"answered\":0,\"lost\":0},\"ipv6\":null}},{\"name\":\"cf3\",\"type\":\"gre\",\"ifname\":\"cf3\",\"state\":\"up\",\"active\":true,\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":0,\"tx_bytes\":0,\"health\":\"down\",\"health_reason\":\"3 probes lost in a row\",\"rtt_ms\":0.000,\"jitter_ms\":0.000,\"loss_pct\":0,\"conntrack_mark\":\"0x073d0000/0xffff0000\",\"mtu\":1476,\"mtu_source\":\"configured\",\"mss\":1436,\"address\":\"198.19.0.5/31\",\"peer\":\"198.19.0.4\",\"address6\":null,\"peer6\":null,\"mss6\":null,\"provider_checks\":{\"bidirectional_request\":0,\"bidirectional_reply\":0,\"unidirectional_request\":0,\"unidirectional_reply\":0},\"provider_check_age_ms\":null,\"provider_checks_missing\":false,\"probe_family\":\"ipv4\",\"probes\":{\"ipv4\":{\"sent\":0,\"answered\":0,\"lost\":0},\"ipv6\":null}}]}\n"

#define TUNNELS_TEXT \
	"NAME            TYPE  STATE   HEALTH   ACTIVE   RTT_MS  LOSS   RX_PACKETS       RX_BYTES   TX_PACKETS       TX_BYTES     CHECKS CHECK_AGE\n" \
	"cf1             gre   up      up       yes        0.00    0%            0              0            0              0          9         -\n" \
	"cf2             gre   up      degraded no         0.00    0%            0              0            0              0 12345678901         -\n" \
	"  cf2 ipv6 2001:db8:ffff::2/127 peer 2001:db8:ffff::3, mss clamped to 1416\n" \
	"cf3             gre   up      down     yes        0.00    0%            0              0            0              0          0         -\n"

#define EGRESS_JSON \
	"{\"policies\":[{\"name\":\"office\",\"fwmark\":1953693697,\"table\":21100,\"prefixes\":[\"203.0.113.0/25\",\"198.18.7.0/24\"],\"active_tunnels\":[\"cf1\"],\"tunnels\":[{\"tunnel\":\"cf1\",\"priority\":100,\"weight\":3},{\"tunnel\":\"cf2\",\"priority\":100,\"weight\":1},{\"tunnel\":\"cf3\",\"priority\":200,\"weight\":1}]},{\"name\":\"lab\",\"fwmark\":1953693698,\"table\":21101,\"prefixes\":[\"203.0.113.128/25\"],\"active_tunnels\":[\"cf3\"],\"tunnels\":[{\"tunnel\":\"cf3\",\"priority\":1,\"weight\":1}]}]}\n"

#define EGRESS_TEXT \
	"policy office (fwmark 0x74730001, table 21100)\n" \
	"  prefixes: 203.0.113.0/25 198.18.7.0/24\n" \
	"  TUNNEL            PRIORITY WEIGHT ACTIVE\n" \
	"  cf1                    100      3 yes\n" \
	"  cf2                    100      1 no\n" \
	"  cf3                    200      1 no\n" \
	"policy lab (fwmark 0x74730002, table 21101)\n" \
	"  prefixes: 203.0.113.128/25\n" \
	"  TUNNEL            PRIORITY WEIGHT ACTIVE\n" \
	"  cf3                      1      1 yes\n"

#define ASSERT_VIEW(fn, json, want) do {				\
		char *got_ = view(fn, json);				\
									\
		ck_assert_str_eq(got_, want);				\
		free(got_);						\
	} while (0)

START_TEST(test_status_view_is_unchanged)
{
	ASSERT_VIEW(view_status, true, STATUS_JSON);
	ASSERT_VIEW(view_status, false, STATUS_TEXT);
}
END_TEST

START_TEST(test_tunnels_view_is_unchanged)
{
	ASSERT_VIEW(view_tunnels, true, TUNNELS_JSON);
	ASSERT_VIEW(view_tunnels, false, TUNNELS_TEXT);
}
END_TEST

START_TEST(test_egress_view_is_unchanged)
{
	ASSERT_VIEW(view_egress, true, EGRESS_JSON);
	ASSERT_VIEW(view_egress, false, EGRESS_TEXT);
}
END_TEST

/* --- an ipsec tunnel ------------------------------------------------------ */

#define PSK "n0t-in-any-view-7c2f"

static const char ipsec_text[] =
	"tunnels = (\n"
	"  { name = \"v1\"; type = \"ipsec\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";"
	"    ike = { psk = \"" PSK "\"; }; },\n"
	"  { name = \"v2\"; type = \"ipsec\"; local = \"198.51.100.2\";"
	"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\";"
	"    ike = { psk = \"" PSK "\"; }; }\n"
	");\n";

/* v1 up over NAT-T with ML-KEM; v2 failing, IKE does not know v3. */
static int
ipsec_cb(void *arg, const char *name, struct ike_status *out)
{
	(void)arg;
	if (strcmp(name, "v1") == 0) {
		*out = (struct ike_status){
			.link = IKE_LINK_UP, .ike_state = IKE_SA_ESTABLISHED,
			.child_state = IKE_CHILD_INSTALLED, .ike_id = 4,
			.child_id = 9, .spi_in = 0xc1a2b3c4, .spi_out = 0x0000beef,
			.ike_proposal = "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/"
					"ECP_384/KE1_ML_KEM_768",
			.esp_proposal = "ESP:AES_GCM_16_256/NO_EXT_SEQ",
			.nat = true, .esp_mtu = 1438, .ike_rekey_in_s = 13000,
			.ike_reauth_in_s = -1, .child_rekey_in_s = 2900,
			.dpd_sent_ago_s = 12, .dpd_answered_ago_s = 11,
			.next_attempt_in_s = -1,
		};
		return 0;
	}
	if (strcmp(name, "v2") == 0) {
		*out = (struct ike_status){
			.link = IKE_LINK_DOWN, .ike_state = IKE_SA_NONE,
			.child_state = IKE_CHILD_NONE, .ike_rekey_in_s = -1,
			.ike_reauth_in_s = -1, .child_rekey_in_s = -1,
			.dpd_sent_ago_s = -1, .dpd_answered_ago_s = -1,
			.attempts = 3, .last_failure = IKE_FAIL_NOTIFY,
			.last_failure_arg = 14, .next_attempt_in_s = 4,
		};
		return 0;
	}
	return -ENOENT;
}

static void
setup_ipsec(void)
{
	start(ipsec_text);
	h[0].state = HEALTH_UP;
	snprintf(h[0].reason, sizeof(h[0].reason), "first answer");
	h[1].state = HEALTH_DOWN;
	snprintf(h[1].reason, sizeof(h[1].reason), HEALTH_NO_CHILD_SA);
	engine_set_health_source(e, ipsec_health_cb, NULL);
	engine_set_ipsec_source(e, ipsec_cb, NULL);
	ck_assert_int_eq(engine_load(e, path, stderr), 0);
}

#define IPSEC_JSON \
	"{\"tunnels\":[{\"name\":\"v1\",\"type\":\"ipsec\",\"ifname\":\"v1\",\"state\":\"up\",\"active\":false,\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":0,\"tx_bytes\":0,\"health\":\"up\",\"health_reason\":\"first answer\",\"rtt_ms\":0.000,\"jitter_ms\":0.000,\"loss_pct\":0,\"conntrack_mark\":\"0x46680000/0xffff0000\",\"mtu\":1438,\"mtu_source\":\"negotiated\",\"mss\":1360,\"address\":\"198.19.0.1/31\",\"peer\":\"198.19.0.0\",\"address6\":null,\"peer6\":null,\"mss6\":null," \
	"\"ipsec\":{\"ike_state\":\"ESTABLISHED\",\"child_state\":\"INSTALLED\",\"spi_in\":\"0xc1a2b3c4\",\"spi_out\":\"0x0000beef\",\"ike_proposal\":\"IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_384/KE1_ML_KEM_768\",\"esp_proposal\":\"ESP:AES_GCM_16_256/NO_EXT_SEQ\",\"nat_t\":true,\"esp_mtu\":1438,\"ike_rekey_in_s\":13000,\"ike_reauth_in_s\":null,\"child_rekey_in_s\":2900,\"dpd_sent_ago_s\":12,\"dpd_answered_ago_s\":11,\"attempts\":0,\"last_failure\":null,\"next_attempt_in_s\":null}," \
	"\"provider_checks\":{\"bidirectional_request\":0,\"bidirectional_reply\":0,\"unidirectional_request\":0,\"unidirectional_reply\":0},\"provider_check_age_ms\":null,\"provider_checks_missing\":false,\"probe_family\":\"ipv4\",\"probes\":{\"ipv4\":{\"sent\":0,\"answered\":0,\"lost\":0},\"ipv6\":null}}," \
	"{\"name\":\"v2\",\"type\":\"ipsec\",\"ifname\":\"v2\",\"state\":\"up\",\"active\":false,\"rx_packets\":0,\"rx_bytes\":0,\"tx_packets\":0,\"tx_bytes\":0,\"health\":\"down\",\"health_reason\":\"no CHILD_SA installed\",\"rtt_ms\":0.000,\"jitter_ms\":0.000,\"loss_pct\":0,\"conntrack_mark\":\"0x4b210000/0xffff0000\",\"mtu\":1438,\"mtu_source\":\"proposals\",\"mss\":1360,\"address\":\"198.19.0.3/31\",\"peer\":\"198.19.0.2\",\"address6\":null,\"peer6\":null,\"mss6\":null," \
	"\"ipsec\":{\"ike_state\":\"NONE\",\"child_state\":\"NONE\",\"spi_in\":null,\"spi_out\":null,\"ike_proposal\":null,\"esp_proposal\":null,\"nat_t\":false,\"esp_mtu\":null,\"ike_rekey_in_s\":null,\"ike_reauth_in_s\":null,\"child_rekey_in_s\":null,\"dpd_sent_ago_s\":null,\"dpd_answered_ago_s\":null,\"attempts\":3,\"last_failure\":\"the peer sent an error notify (type 14)\",\"next_attempt_in_s\":4}," \
	"\"provider_checks\":{\"bidirectional_request\":0,\"bidirectional_reply\":0,\"unidirectional_request\":0,\"unidirectional_reply\":0},\"provider_check_age_ms\":null,\"provider_checks_missing\":false,\"probe_family\":\"ipv4\",\"probes\":{\"ipv4\":{\"sent\":0,\"answered\":0,\"lost\":0},\"ipv6\":null}}]}\n"

#define IPSEC_TEXT \
	"NAME            TYPE  STATE   HEALTH   ACTIVE   RTT_MS  LOSS   RX_PACKETS       RX_BYTES   TX_PACKETS       TX_BYTES     CHECKS CHECK_AGE\n" \
	"v1              ipsec up      up       no         0.00    0%            0              0            0              0          0         -\n" \
	"  ike:   ESTABLISHED IKE:AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_384/KE1_ML_KEM_768, NAT-T yes, rekey in 13000s, reauth in -, DPD sent 12s ago, answered 11s ago\n" \
	"  child: INSTALLED ESP:AES_GCM_16_256/NO_EXT_SEQ, spi in 0xc1a2b3c4 out 0x0000beef, rekey in 2900s, carries 1438\n" \
	"  tries: 0 failed, last failure -, next attempt in -\n" \
	"v2              ipsec up      down     no         0.00    0%            0              0            0              0          0         -\n" \
	"  ike:   NONE -, NAT-T no, rekey in -, reauth in -, DPD sent - ago, answered - ago\n" \
	"  child: NONE -, spi in - out -, rekey in -\n" \
	"  tries: 3 failed, last failure the peer sent an error notify (type 14), next attempt in 4s\n"

START_TEST(test_tunnels_view_shows_ipsec_and_never_the_psk)
{
	char *json = view(view_tunnels, true);
	char *text = view(view_tunnels, false);

	/* ck_assert_str_eq() cannot carry strings this long. */
	ck_assert_msg(strcmp(json, IPSEC_JSON) == 0, "json differs");
	ck_assert_msg(strcmp(text, IPSEC_TEXT) == 0, "text differs");
	ck_assert_ptr_null(strstr(json, PSK));
	ck_assert_ptr_null(strstr(text, PSK));
	free(json);
	free(text);
}
END_TEST

/* Without a source (no IKE running), an ipsec tunnel shows no SAs. */
START_TEST(test_ipsec_tunnel_without_ike_shows_none)
{
	char *json;

	engine_set_ipsec_source(e, NULL, NULL);
	json = view(view_tunnels, true);
	ck_assert_ptr_nonnull(strstr(json, "\"ipsec\":{\"ike_state\":\"NONE\","
				     "\"child_state\":\"NONE\",\"spi_in\":null"));
	ck_assert_ptr_null(strstr(json, PSK));
	free(json);
}
END_TEST

/* --- source NAT ----------------------------------------------------------- */

/* The same config with nat on office: its view shows what it translates
 * and how many connections, read from the nft counter; lab's is as it
 * was. */
START_TEST(test_egress_view_shows_nat_and_its_translated_connections)
{
	static const char nat[] = "  prefixes = [ \"203.0.113.0/25\", \"198.18.7.0/24\" ];\n"
		"  nat = { from = [ \"192.168.0.0/16\", \"10.9.0.0/24\" ]; "
		"to = \"203.0.113.8/29\"; };\n";
	char *text = malloc(sizeof(conf_text) + sizeof(nat)), *got;
	const char *at = strstr(conf_text, "  prefixes = [ \"203.0.113.0/25\", \"198.18.7.0/24\" ];\n");
	char *p2;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(at);
	memcpy(text, conf_text, (size_t)(at - conf_text));
	strcpy(text + (at - conf_text), nat);
	strcat(text, strchr(at, '\n') + 1);
	p2 = temp_file(text);
	ck_assert_int_eq(engine_load(e, p2, stderr), 0);
	ck_assert_int_eq(kernel_fake_nft_count(k, "nat_office", 42), 0);

	got = view(view_egress, true);
	ck_assert_msg(strstr(got, "{\"name\":\"office\",\"fwmark\":1953693697,"
			     "\"table\":21100,\"prefixes\":[\"203.0.113.0/25\","
			     "\"198.18.7.0/24\"],\"nat\":{\"from\":[\"192.168.0.0/16\","
			     "\"10.9.0.0/24\"],\"to\":\"203.0.113.8/29\","
			     "\"translated_connections\":42},\"active_tunnels\":"
			     "[\"cf1\"],"), "%s", got);
	ck_assert_msg(strstr(got, "{\"name\":\"lab\",\"fwmark\":1953693698,"
			     "\"table\":21101,\"prefixes\":[\"203.0.113.128/25\"],"
			     "\"active_tunnels\":[\"cf3\"],"), "%s", got);
	free(got);
	got = view(view_egress, false);
	ck_assert_msg(strstr(got, "policy office (fwmark 0x74730001, table 21100)\n"
			     "  prefixes: 203.0.113.0/25 198.18.7.0/24\n"
			     "  nat from: 192.168.0.0/16 10.9.0.0/24\n"
			     "  nat to:   203.0.113.8/29, 42 translated connections\n"
			     "  TUNNEL            PRIORITY WEIGHT ACTIVE\n"), "%s", got);
	free(got);

	/* The table gone (out of sync): unknown, not 0. */
	kernel_fake_nft_tamper(k);
	got = view(view_egress, true);
	ck_assert_msg(strstr(got, "\"translated_connections\":null}"), "%s", got);
	free(got);
	got = view(view_egress, false);
	ck_assert_msg(strstr(got, "203.0.113.8/29, ? translated connections\n"), "%s", got);
	free(got);
	unlink(p2);
	free(p2);
	free(text);
}
END_TEST

/* --- probe.family ------------------------------------------------------- */

/* Each tunnel says what it is probed with and counts each family's
 * probes: JSON always (null for a family not probed), text a line for a
 * tunnel probed with ICMPv6 (an IPv4-only one's rows are as before). */
START_TEST(test_tunnels_view_shows_each_tunnels_probe_families_and_their_counts)
{
	static const char fam_text[] =
		"probe = { family = \"both\"; };\n"
		"tunnels = (\n"
		"  { name = \"cf1\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.1/31\";"
		"    address6 = \"2001:db8:ffff::/127\"; },\n"
		"  { name = \"cf2\"; type = \"gre\"; local = \"198.51.100.2\";"
		"    remote = \"192.0.2.2\"; address = \"198.19.0.3/31\";"
		"    address6 = \"2001:db8:ffff::2/127\";"
		"    probe = { family = \"ipv6\"; }; },\n"
		"  { name = \"cf3\"; type = \"gre\"; local = \"198.51.100.6\";"
		"    remote = \"192.0.2.1\"; address = \"198.19.0.5/31\";"
		"    probe = { family = \"ipv4\"; }; }\n"
		");\n"
		"egress = ( { name = \"office\"; prefixes = [ \"203.0.113.0/25\" ];\n"
		"  tunnels = ( { tunnel = \"cf1\"; priority = 100; } ); } );\n";
	char *p2 = temp_file(fam_text), *got;

	ck_assert_int_eq(engine_load(e, p2, stderr), 0);
	/* cf1: 10 rounds, IPv6 lost in 3 of them; cf2: ICMPv6 alone. */
	h[0].fam_sent[HEALTH_IPV4] = 10;
	h[0].fam_answered[HEALTH_IPV4] = 10;
	h[0].fam_sent[HEALTH_IPV6] = 10;
	h[0].fam_answered[HEALTH_IPV6] = 7;
	h[1].fam_sent[HEALTH_IPV6] = 4;
	h[1].fam_answered[HEALTH_IPV6] = 4;
	h[2].fam_sent[HEALTH_IPV4] = 2;
	h[2].fam_answered[HEALTH_IPV4] = 1;

	got = view(view_tunnels, true);
	ck_assert_msg(strstr(got, "\"provider_checks_missing\":false,"
			     "\"probe_family\":\"both\",\"probes\":{\"ipv4\":"
			     "{\"sent\":10,\"answered\":10,\"lost\":0},\"ipv6\":"
			     "{\"sent\":10,\"answered\":7,\"lost\":3}}}"), "%s", got);
	ck_assert_msg(strstr(got, "\"probe_family\":\"ipv6\",\"probes\":"
			     "{\"ipv4\":null,\"ipv6\":{\"sent\":4,\"answered\":4,"
			     "\"lost\":0}}}"), "%s", got);
	ck_assert_msg(strstr(got, "\"probe_family\":\"ipv4\",\"probes\":"
			     "{\"ipv4\":{\"sent\":2,\"answered\":1,\"lost\":1},"
			     "\"ipv6\":null}}]}\n"), "%s", got);
	free(got);
	got = view(view_tunnels, false);
	ck_assert_msg(strstr(got, "  cf1 ipv6 2001:db8:ffff::/127 peer "
			     "2001:db8:ffff::1, mss clamped to 1416\n"
			     "  cf1 probes both: ipv4 10 sent, 10 answered, 0 lost; "
			     "ipv6 10 sent, 7 answered, 3 lost\n"
			     "cf2 "), "%s", got);
	ck_assert_msg(strstr(got, "  cf2 probes ipv6: ipv6 4 sent, 4 answered, "
			     "0 lost\ncf3 "), "%s", got);
	ck_assert_ptr_null(strstr(got, "cf3 probes"));
	free(got);
	unlink(p2);
	free(p2);
}
END_TEST

static Suite *
view_suite(void)
{
	Suite *s = suite_create("view");
	TCase *tc = tcase_create("views");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_status_view_is_unchanged);
	tcase_add_test(tc, test_tunnels_view_is_unchanged);
	tcase_add_test(tc, test_egress_view_is_unchanged);
	tcase_add_test(tc, test_egress_view_shows_nat_and_its_translated_connections);
	tcase_add_test(tc, test_tunnels_view_shows_each_tunnels_probe_families_and_their_counts);
	suite_add_tcase(s, tc);
	tc = tcase_create("ipsec");
	tcase_add_checked_fixture(tc, setup_ipsec, teardown);
	tcase_add_test(tc, test_tunnels_view_shows_ipsec_and_never_the_psk);
	tcase_add_test(tc, test_ipsec_tunnel_without_ike_shows_none);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(view_suite)
