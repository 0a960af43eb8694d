# SPDX-License-Identifier: GPL-2.0-or-later
#
# The HA lab: a second customer router in front of the same LAN, as
# contrib/keepalived describes.  Sourced after lib.sh and tunsteer.sh.
#
#                 lan (203.0.113.10, .130, .20; gateway 203.0.113.1)
#                        br0 ── eth0 ─┬─ eth1
#                                     │      │
#            lan0 203.0.113.2 ┌───────┴┐   ┌─┴──────┐ lan0 203.0.113.3
#     VRRP 203.0.113.1 moves  │  cpe   │   │  cpe2  │  (keepalived in each)
#                             └─┬────┬─┘   └─┬────┬─┘
#                             wan1  wan2   wan1  wan2
#                      198.51.100.2  .6    .10   .14
#                               isp1, isp2 (cpe0 / cpe2 links)
#
# cpe2's tunnels are lab tunnels 4..7 (inner 198.19.0.8/31 … .14/31), its
# own cf1..cf4; the edges serve all eight (LAB_EDGE_TUNNELS) and route
# the LAN back over either router's tunnels.  Each router runs its own
# tunsteerd (socket, config and log per router) and keepalived with the
# shipped contrib/keepalived files, in which only the paths of tunsteerctl
# and of the notify script change.

HA_VIP=$LAN_CPE			# 203.0.113.1: the LAN's gateway, held by VRRP
HA_LAN_ADDR=(- 203.0.113.2 203.0.113.3)	# each router's own (index 1, 2)
HA_LAN_CTL=203.0.113.20		# the LAN's own address for the control flow
HA_NS=(- cpe cpe2)
HA_DIR=$LAB_RUN/ha
HA_PID=(- "" "")		# tunsteerd per router
LAB_EDGE_TUNNELS="0 1 2 3 4 5 6 7"

ha_sock() { echo "$HA_DIR/cpe$1.sock"; }
ha_conf_file() { echo "$HA_DIR/cpe$1.conf"; }
ha_log() { echo "$HA_DIR/tunsteerd-cpe$1.log"; }
ha_kalog() { echo "$HA_DIR/keepalived-cpe$1.log"; }
# ha_ctl C ARGS… — tunsteerctl against router C's tunsteerd.
# As ts_ctl: the socket is a path, no namespace needed.
ha_ctl() { local c=$1; shift; "$TS_BIN_CTL" -S "$(ha_sock "$c")" "$@"; }

# ha_up — the standard lab with 2 edges (lab_up), then cpe2 and the LAN
# bridge; no address on either router holds the gateway yet.
ha_up() {
	local n k
	lab_up --edges 2
	rm -rf "$HA_DIR"	# this scenario's logs only
	mkdir -p "$HA_DIR"
	echo cpe2 >>"$LAB_STATE/namespaces"	# topology down removes it
	ip netns add cpe2
	lab_sysctl cpe2 net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	nsx cpe2 ip link set lo up

	# The LAN becomes a bridge with both routers on it.
	lab_veth lan eth1 cpe2 lan0
	nsx lan ip -batch - <<-EOF || lab_fail "lan bridge"
	link add br0 type bridge
	link set br0 up
	addr flush dev eth0
	link set eth0 master br0
	link set eth1 master br0
	addr add $LAN_AUTH/24 dev br0
	addr add $LAN_UNAUTH/24 dev br0
	addr add $HA_LAN_CTL/24 dev br0
	route add default via $HA_VIP src $LAN_AUTH
	EOF
	nsx cpe ip -batch - <<-EOF || lab_fail "cpe lan address"
	addr del $LAN_CPE/24 dev lan0
	addr add ${HA_LAN_ADDR[1]}/24 dev lan0
	EOF
	nsx cpe2 ip addr add "${HA_LAN_ADDR[2]}/24" dev lan0

	# cpe2 ↔ ISPs, like cpe; each edge answers cpe2's underlay via that ISP.
	for n in 1 2; do
		lab_veth cpe2 "wan$n" "isp$n" cpe2
		nsx cpe2 ip addr add "$(cpe_wan_addr "$n" 2)/30" dev "wan$n"
		nsx "isp$n" ip addr add "$(isp_cpe_addr "$n" 2)/30" dev cpe2
		for k in $(lab_seq 1 "$(lab_edges)"); do
			nsx "edge$k" ip route add "$(cpe_wan_addr "$n" 2)/32" via "$(isp_edge_addr "$n" "$k")"
		done
	done
	nsx cpe2 ip route add default via "$(isp_cpe_addr 1 2)" dev wan1
	lab_log "HA lab: cpe2 and the LAN bridge up"
}

# ha_conf C — router C's tunsteerd config: the lab's (ts_conf) with its
# own four tunnels.  Tunnel health is not what the HA lab tests, so it is
# held still against the emulated VM's stalls: down only after 20 s
# without an answer, never degraded by loss (tunsteerctl check,
# keepalived's tunnel weight, stays put).
ha_conf() {
	TS_PROBE="interval_ms = 500; timeout_ms = 5000; down_after = 40; degraded_loss_pct = 100;" \
		ts_conf "$(ha_conf_file "$1")" "$1"
}

# ha_ts_start C — start router C's tunsteerd and wait until it answers.
ha_ts_start() {
	local c=$1
	[ -r "$(ha_conf_file "$c")" ] || ha_conf "$c"
	# Not through nsx: $! must be tunsteerd itself.
	ip netns exec "${HA_NS[$c]}" "$TS_BIN_D" -d -c "$(ha_conf_file "$c")" \
		-S "$(ha_sock "$c")" >>"$(ha_log "$c")" 2>&1 &
	HA_PID[$c]=$!
	lab_wait 30 "tunsteerd on ${HA_NS[$c]} answers" ha_ctl "$c" status
}

# ha_role C — router C's tunsteerd role (active or standby).
ha_role() { ha_ctl "$1" --json status | jq -r .role; }

# ha_keepalived_start C — keepalived in router C's namespace from the
# shipped contrib/keepalived files, with this build's tunsteerctl (a
# root-owned wrapper naming C's socket) and a copy of the notify script.
# One more change, for the emulator: how long a check may take.  On a
# router `tunsteerctl status` answers in milliseconds; in the TCG VM on a
# busy 2-core host a sanitizer-built tunsteerctl and tunsteerd took over
# 3 s, and a check that times out puts the router in FAULT, as a dead
# tunsteerd does.  So tunsteerctl's -t 2 becomes -t 30 and the scripts'
# timeouts 40 s, and the checks run half as often (every 2 and 4 s)
# with the sanitizers' leak check off.  What the lab tests does not depend
# on them: a dead tunsteerd refuses the connection at once.
ha_keepalived_start() {
	local c=$1 d=$HA_DIR/ka$1
	mkdir -p "$d"
	chmod 755 "$d"
	cat >"$d/tunsteerctl" <<-EOF
	#!/bin/sh
	ASAN_OPTIONS=detect_leaks=0 exec "$TS_BIN_CTL" -S "$(ha_sock "$c")" "\$@"
	EOF
	sed "s|/usr/sbin/tunsteerctl|$d/tunsteerctl|" \
		"$LAB_TOP/contrib/keepalived/keepalived-notify" >"$d/keepalived-notify"
	chmod 755 "$d/tunsteerctl" "$d/keepalived-notify"
	sed -e "s|/usr/sbin/tunsteerctl -t 2 |$d/tunsteerctl -t 30 |" \
		-e "s|/usr/lib/tunsteer/keepalived-notify|$d/keepalived-notify|" \
		-e 's/^\( *timeout\) [0-9]*$/\1 40/' \
		-e 's/^\( *interval\) 2$/\1 4/' -e 's/^\( *interval\) 1$/\1 2/' \
		"$LAB_TOP/contrib/keepalived/keepalived.conf" >"$d/keepalived.conf"
	[ "$(grep -c "$d/tunsteerctl -t 30 " "$d/keepalived.conf")" = 2 ] &&
		[ "$(grep -cE '^ *interval (2|4)$' "$d/keepalived.conf")" = 2 ] &&
		[ "$(grep -c '^ *timeout 40$' "$d/keepalived.conf")" = 2 ] &&
		grep -q "$d/keepalived-notify" "$d/keepalived.conf" ||
		lab_fail "contrib/keepalived/keepalived.conf no longer has the paths and timeouts this lab replaces"
	# The notify script's own -t 5, likewise.
	sed -i 's/ -t 5 / -t 30 /' "$d/keepalived-notify"
	grep -q ' -t 30 ' "$d/keepalived-notify" ||
		lab_fail "contrib/keepalived/keepalived-notify no longer calls tunsteerctl -t 5"
	ip netns exec "${HA_NS[$c]}" keepalived -n -l -D -G -P -f "$d/keepalived.conf" \
		-p "$d/keepalived.pid" -r "$d/vrrp.pid" -i "cpe$c" \
		>>"$(ha_kalog "$c")" 2>&1 &
	echo $! >"$d/main.pid"
	disown $!
}

# ha_keepalived_stop C — stop router C's keepalived (it gives up the
# address first).
ha_keepalived_stop() {
	local pid
	pid=$(cat "$HA_DIR/ka$1/main.pid" 2>/dev/null) || return 0
	rm -f "$HA_DIR/ka$1/main.pid"
	kill "$pid" 2>/dev/null || true
	lab_wait 10 "keepalived on cpe$1 exits" lab_gone "$pid"
}

# ha_counters_install C — on router C, in a table of the lab's own, the
# flow's datagrams in from the LAN and out by any tunnel (cf*).
ha_counters_install() {
	nsx "${HA_NS[$1]}" nft -f - <<-EOF || lab_fail "cpe$1: flow counters not installed"
	table inet labha {
		counter in_lan { }
		counter out_tunnels { }
		chain in {
			type filter hook prerouting priority raw; policy accept;
			iifname "lan0" udp dport $FLOWS_PORT counter name "in_lan"
		}
		chain out {
			type filter hook postrouting priority 500; policy accept;
			oifname "cf*" udp dport $FLOWS_PORT counter name "out_tunnels"
		}
	}
	EOF
}

# ha_counters C — "IN OUT": router C's counts of the flow's datagrams.
ha_counters() {
	nsx "${HA_NS[$1]}" nft list counters table inet labha |
		awk '$1 == "counter" { n = $2 } $1 == "packets" { c[n] = $2 }
			END { printf "%d %d\n", c["in_lan"], c["out_tunnels"] }'
}

# ha_holds_vip C — router C holds the LAN's gateway address.
ha_holds_vip() { nsx "${HA_NS[$1]}" ip -br addr show dev lan0 | grep -qw "$HA_VIP/24"; }

# ha_egress C — router C's egress as the kernel has it: "active" when the
# policy's table (DESIRED_POLICY_TABLE_BASE, tunsteerd's first policy)
# routes through a nexthop group, "standby" when it holds only the
# blackhole.  Polled instead of tunsteerctl: in the emulator every
# sanitizer-built tunsteerctl costs the VM a few hundred ms of CPU, and
# the pair's own checks already run three a second.
ha_egress() {
	if nsx "${HA_NS[$1]}" ip route show table 21100 2>/dev/null | grep -q ' nhid '; then
		echo active
	else
		echo standby
	fi
}

# ha_is_master C — router C holds the address and routes egress through
# its tunnels; the other router does not hold it and has egress withdrawn.
ha_is_master() {
	local c=$1 o=$((3 - $1))
	ha_holds_vip "$c" && ! ha_holds_vip "$o" &&
		[ "$(ha_egress "$c")" = active ] && [ "$(ha_egress "$o")" = standby ]
}

# ha_roles_are C ROLE [O ROLE] — what the daemons say (tunsteerctl status),
# checked once the kernel shows it.
ha_roles_are() {
	local got
	while [ $# -ge 2 ]; do
		got=$(ha_role "$1") || lab_fail "cpe$1's tunsteerd does not answer"
		[ "$got" = "$2" ] || lab_fail "cpe$1's tunsteerd says role $got, the kernel shows $2"
		shift 2
	done
}

# ha_on_exit — on failure, both routers' addresses and logs and the
# edges' logs (before anything is stopped); then the lab goes.
ha_on_exit() {
	local rc=$? c
	if [ $rc -ne 0 ]; then
		for c in 1 2; do
			echo "--- cpe$c lan0: $(nsx "${HA_NS[$c]}" ip -br addr show dev lan0 2>&1)" >&2
			echo "--- cpe$c keepalived log (last 30 lines)" >&2
			tail -n 30 "$(ha_kalog "$c")" >&2 2>/dev/null || true
			echo "--- cpe$c tunsteerd log (last 40 lines)" >&2
			tail -n 40 "$(ha_log "$c")" >&2 2>/dev/null || true
		done
		lab_edge_logs
	fi
	flows_stop 2>/dev/null || true
	for c in 1 2; do
		pkill -f "keepalived.*$HA_DIR/ka$c/" 2>/dev/null || true
		[ -z "${HA_PID[$c]}" ] || kill "${HA_PID[$c]}" 2>/dev/null || true
	done
	"$LAB_DIR/topology" down
}
