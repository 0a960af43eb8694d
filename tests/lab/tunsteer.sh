# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for scenarios that run tunsteerd on the lab's cpe.  Sourced
# after lib.sh.  The binaries come from $TUNSTEER_BUILDDIR (default: the
# build/ directory of this tree).

TS_BUILD=$LAB_BUILD
TS_BIN_D=$TS_BUILD/src/tunsteerd/tunsteerd
TS_BIN_CTL=$TS_BUILD/src/tunsteerctl/tunsteerctl
TS_SOCK=/run/tunsteer-lab/cpe.sock
TS_CONF=/run/tunsteer-lab/tunsteerd.conf
TS_LOG=/run/tunsteer-lab/tunsteerd.log
TS_PSK_FILE=/run/tunsteer-lab/lab-ipsec.psk
TS_PID=
# Each scenario's log starts empty: a failure shows this scenario's lines,
# not the previous scenario's shutdown.
rm -f "$TS_LOG"

[ -x "$TS_BIN_D" ] || lab_fail "no tunsteerd in ${TS_BIN_D%/*} (build first)"

# ts_tunnels N [C] — tunsteerd's "tunnels = ( … );" for lab tunnels 0..N-1
# (N at most 4): tunnel i is cf<i+1>, over ISP 1 (i = 0, 1) or 2 (i = 2,
# 3) to anycast endpoint i % 2, its underlay pinned to that uplink.  C is
# the customer router (default 1; 2 is the HA lab's cpe2, whose cf<i+1>
# is lab tunnel 4 + i).  Lab tunnels listed in TS_IPSEC are IPsec
# (tunsteerd's defaults: ML-KEM-768 on DH20) to tunsteer-edge's responder
# (lib.sh's EDGE_IPSEC_TUNNELS), as ipsec_customer_id with LAB_IPSEC_PSK;
# TS_REPLAY_WINDOWS, if set, lists their ike.replay_window by i; TS_DPD_S
# is their ike.dpd_s (default 5).
# The one generator of tunnel blocks: ts_conf, flows_conf3 and ha.sh use it.
ts_tunnels() {
	local n=$1 c=${2:-1} i w t sep type ike rw
	echo "tunnels = ("
	for i in $(lab_seq 0 $((n - 1))); do
		w=$((i / 2 + 1))
		t=$(( (c - 1) * 4 + i ))
		sep=,
		[ "$i" -eq $((n - 1)) ] && sep=
		type=gre ike=
		if [[ " ${TS_IPSEC:-} " == *" $t "* ]]; then
			type=ipsec
			rw=$(awk -v i=$((i + 1)) '{ print $i }' <<<"${TS_REPLAY_WINDOWS:-}")
			ike="ike = { psk_file = \"$TS_PSK_FILE\"; local_id = \"$(ipsec_customer_id "$t")\"; dpd_s = ${TS_DPD_S:-5};${rw:+ replay_window = $rw;} };"
			printf '%s\n' "$LAB_IPSEC_PSK" >"$TS_PSK_FILE"
			chmod 600 "$TS_PSK_FILE"
		fi
		cat <<-BLOCK
		  { name = "cf$((i + 1))"; type = "$type"; local = "$(cpe_wan_addr $w $c)"; remote = "${ANYCAST[$((i % 2))]}";
		    address = "$(tun_cpe_addr $t)/31";${TS_IPV6:+ address6 = \"$(tun_cpe_addr6 $t)/127\";}
		    underlay = { interface = "wan$w"; gateway = "$(isp_cpe_addr $w $c)"; }; $ike }$sep
		BLOCK
	done
	echo ");"
}

# ts_conf [FILE [C]] — the lab's config: the four tunnels of
# etc/tunsteerd.conf (cf1..cf4 = lab tunnels 0..3; of router C, default 1:
# ts_tunnels), and the authorized prefix 203.0.113.0/25 preferring cf1
# and cf3 (one per ISP) over cf2, cf4.  TS_PROBE, if set, is the body of
# the global probe group.  TS_IPV6=1: dual stack, an address6 on every
# tunnel (tun_cpe_addr6) and AUTH6_PREFIX authorized too; TS_UNAUTH6, if
# set, is unauthorized6.
ts_conf() {
	local out=${1:-$TS_CONF} c=${2:-1} probe= prefixes="\"$AUTH_PREFIX\"" unauth6=
	[ -z "${TS_PROBE:-}" ] || probe="probe = { $TS_PROBE };"
	[ -z "${TS_IPV6:-}" ] || prefixes="$prefixes, \"$AUTH6_PREFIX\""
	[ -z "${TS_UNAUTH6:-}" ] || unauth6="unauthorized6 = \"$TS_UNAUTH6\";"
	mkdir -p "$(dirname "$out")"
	cat >"$out" <<-CONF
	log_level = "debug";
	$probe
	$unauth6
	$(ts_tunnels 4 "$c")
	egress = (
	  { name = "office"; prefixes = [ $prefixes ];
	    tunnels = ( { tunnel = "cf1"; priority = 100; },
	                { tunnel = "cf3"; priority = 100; },
	                { tunnel = "cf2"; priority = 200; },
	                { tunnel = "cf4"; priority = 200; } ); }
	);
	CONF
	chmod 600 "$out"
}

# ts_conf2 P1 P2 — the config of the two-tunnel IPsec scenarios: cf1 and
# cf2 (lab tunnels 0 and 1: ts_tunnels 2, TS_IPSEC says which are ipsec)
# in one policy at priorities P1 and P2, probes that a VM stall cannot
# move (10 lost in a row at 200 ms make a tunnel down).
ts_conf2() {
	mkdir -p "$(dirname "$TS_CONF")"
	cat >"$TS_CONF" <<-CONF
	log_level = "debug";
	probe = { interval_ms = 200; timeout_ms = 500; down_after = 10; up_after = 3;
	          holddown_ms = 3000; degraded_loss_pct = 100; };
	$(ts_tunnels 2)
	egress = (
	  { name = "office"; prefixes = [ "$AUTH_PREFIX" ];
	    tunnels = ( { tunnel = "cf1"; priority = $1; },
	                { tunnel = "cf2"; priority = $2; } ); }
	);
	CONF
	chmod 600 "$TS_CONF"
}

# Not in cpe's namespace: the control socket is a path, and `ip netns
# exec` would add an exec and a mount namespace to every poll of it.
ts_ctl() { "$TS_BIN_CTL" -S "$TS_SOCK" "$@"; }

# ts_start [tunsteerd options] — start tunsteerd in cpe, in the
# foreground with debug logging to $TS_LOG, and wait until it answers.
ts_start() {
	mkdir -p "$(dirname "$TS_LOG")"
	# Not through nsx: a function run with & is a subshell, and $! must
	# be tunsteerd itself (ip netns exec execs it).
	ip netns exec cpe "$TS_BIN_D" -d -c "$TS_CONF" -S "$TS_SOCK" "$@" \
		>>"$TS_LOG" 2>&1 &
	TS_PID=$!
	lab_wait 30 "tunsteerd answers on $TS_SOCK" ts_ctl status
}

# ts_caps_check — lab_caps_check of tunsteerd's threads (the loop's, the
# conntrack flusher's, libcharon's workers…).
ts_caps_check() { lab_caps_check "$TS_PID" tunsteerd 1; }

# ts_stop — SIGTERM and wait (tunsteerd removes its state).
ts_stop() {
	[ -n "$TS_PID" ] || return 0
	kill "$TS_PID" 2>/dev/null || true
	wait "$TS_PID" 2>/dev/null || true
	TS_PID=
}

# Show the daemon's log when a scenario fails.
# A trap that runs other commands first passes the scenario's status.
ts_on_exit() {
	local rc=${1:-$?}
	ts_stop
	if [ $rc -ne 0 ] && [ -r "$TS_LOG" ]; then
		echo "--- tunsteerd log (last 60 lines)" >&2
		tail -n 60 "$TS_LOG" >&2
	fi
	[ $rc -eq 0 ] || lab_edge_logs
	"$LAB_DIR/topology" down
}

# ts_lab_up — the lab with 2 edges, provider-side tunnels, the config,
# and tunsteerd running.
ts_lab_up() {
	lab_up --edges 2
	trap ts_on_exit EXIT
	lab_edge_tunnels
	ts_conf
	ts_start
}
