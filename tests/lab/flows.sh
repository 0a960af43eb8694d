# SPDX-License-Identifier: GPL-2.0-or-later
#
# Per-flow traffic measurement for scenarios and benchmarks that run
# tunsteerd: UDP flows (tests/lab/tools/udpflows) from the authorized LAN
# host to inet, and per-flow counters at the provider edges that tell
# which tunnel each flow arrived by.  Sourced after lib.sh and tunsteer.sh.
#
# Why count at the edges: they are where a tunnel's packets come out
# (every edge decapsulates every tunnel, and an ISP sends all of one
# tunnel's packets to one edge), so an edge counter proves the flow was
# carried by that tunnel, not just routed into it by the cpe.  inet cannot
# tell: it receives from any edge.

FLOWS_BIN=$TS_BUILD/tests/lab/tools/udpflows
FLOWS_PORT=9000
FLOWS_SPORT=40000		# flow i has source port FLOWS_SPORT + i
FLOWS_N=${FLOWS_N:-16}
FLOWS_PPS=${FLOWS_PPS:-1000}	# per flow
FLOWS_DIR=/run/tunsteer-lab/flows
FLOWS_REPORT=$FLOWS_DIR/report.json
# The control flow: sent by the same sender on the same ticks, from the
# LAN host to the cpe's own LAN address, so it never crosses a tunnel nor
# the cpe's forwarding.  What it loses in a window, the VM lost.
FLOWS_CTL_PORT=9001
# Where the control flow goes: the cpe's LAN address by default; the HA
# lab moves that address between routers, so it uses one of the LAN's.
FLOWS_CTL_NS=${FLOWS_CTL_NS:-cpe}
FLOWS_CTL_ADDR=${FLOWS_CTL_ADDR:-$LAN_CPE}
# The edge tunnels whose per-flow counters flows_counters_install makes.
FLOWS_TUNNELS=${FLOWS_TUNNELS:-0 1 2}
FLOWS_CTL_REPORT=$FLOWS_DIR/control.json
FLOWS_RX_PID=
FLOWS_CTL_PID=
FLOWS_TX_PID=
FLOWS_REPORTS=0

[ -x "$FLOWS_BIN" ] || lab_fail "no udpflows in $TS_BUILD/tests/lab/tools (make first)"

# flows_conf3 [PROBE-SETTINGS] — tunsteerd's config for three tunnels
# (ts_tunnels 3): cf1 (isp1 → 192.0.2.1), cf2 (isp1 → 192.0.2.2) and cf3
# (isp2 → 192.0.2.1), lab tunnels 0..2; the authorized prefix prefers cf1 and cf3 (priority
# 100, one per ISP) over cf2 (200).  PROBE-SETTINGS is the body of the
# global probe group.
flows_conf3() {
	mkdir -p "$(dirname "$TS_CONF")"
	cat >"$TS_CONF" <<-CONF
	log_level = "debug";
	probe = { ${1:-} };
	$(ts_tunnels 3)
	egress = (
	  { name = "office"; prefixes = [ "$AUTH_PREFIX" ];
	    tunnels = ( { tunnel = "cf1"; priority = 100; },
	                { tunnel = "cf3"; priority = 100; },
	                { tunnel = "cf2"; priority = 200; } ); }
	);
	CONF
	chmod 600 "$TS_CONF"
}

# flows_counters_install — on every edge, one counter per (tunnel gt<t>
# for t in FLOWS_TUNNELS, flow source port), in a table of its own.
flows_counters_install() {
	local k t i
	for k in $(lab_seq 1 "$(lab_edges)"); do
		{
			echo "table inet labflows {"
			echo "  chain count { type filter hook prerouting priority raw; policy accept;"
			for t in $FLOWS_TUNNELS; do
				for i in $(lab_seq 0 $((FLOWS_N - 1))); do
					echo "    iifname \"gt$t\" udp sport $((FLOWS_SPORT + i)) counter"
				done
			done
			echo "  }"
			echo "}"
		} | nsx "edge$k" nft -f - || lab_fail "edge$k: flow counters not installed"
	done
}

# flows_counters — "TUNNEL SPORT PACKETS" per counter, summed over the edges.
flows_counters() {
	local k
	for k in $(lab_seq 1 "$(lab_edges)"); do
		nsx "edge$k" nft list chain inet labflows count
	done | awk '/iifname .* udp sport .* counter packets/ {
		gsub(/"/, "", $2); n[$2 " " $5] += $8 }
		END { for (k in n) print k, n[k] }' | sort
}

# flows_where [SECONDS] — which tunnel(s) each flow used over about
# SECONDS (default 1): "SPORT TUNNEL[,TUNNEL…]" per flow ("-" if none).
# A flow is on a tunnel if that tunnel's counter for it grew.
flows_where() {
	# Files, not <(…): the VM has no /dev/fd.
	flows_counters >"$FLOWS_DIR/counters.a"
	sleep "${1:-1}"	# a measuring window, not a wait for state
	flows_counters >"$FLOWS_DIR/counters.b"
	awk -v n="$FLOWS_N" -v base="$FLOWS_SPORT" '
		NR == FNR { a[$1 " " $2] = $3; next }
		$3 > a[$1 " " $2] { on[$2] = on[$2] (on[$2] == "" ? "" : ",") $1 }
		END { for (i = 0; i < n; i++) { p = base + i; print p, (p in on ? on[p] : "-") } }' \
		"$FLOWS_DIR/counters.a" "$FLOWS_DIR/counters.b"
}

# flows_start — receivers on inet (the flows) and on the cpe (the control
# flow), then FLOWS_N flows at FLOWS_PPS each, plus the control flow, from
# the authorized LAN host; waits until every flow arrives.
flows_start() {
	mkdir -p "$FLOWS_DIR"
	rm -f "$FLOWS_REPORT" "$FLOWS_CTL_REPORT"
	# Not through nsx: $! must be udpflows itself.
	ip netns exec inet "$FLOWS_BIN" recv -b "$FLOWS_PORT" -o "$FLOWS_REPORT" \
		>"$FLOWS_DIR/recv.log" 2>&1 &
	FLOWS_RX_PID=$!
	ip netns exec "$FLOWS_CTL_NS" "$FLOWS_BIN" recv -b "$FLOWS_CTL_ADDR:$FLOWS_CTL_PORT" -o "$FLOWS_CTL_REPORT" \
		-m $((FLOWS_N + 1)) >"$FLOWS_DIR/control.log" 2>&1 &
	FLOWS_CTL_PID=$!
	FLOWS_REPORTS=0
	lab_wait 10 "receiver bound" sh -c "ip netns exec inet ss -Hlun 'sport = :$FLOWS_PORT' | grep -q ."
	lab_wait 10 "control receiver bound" sh -c "ip netns exec $FLOWS_CTL_NS ss -Hlun 'sport = :$FLOWS_CTL_PORT' | grep -q ."
	ip netns exec lan "$FLOWS_BIN" send -s "$LAN_AUTH" -d "$INET_HOST:$FLOWS_PORT" \
		-c "$FLOWS_CTL_ADDR:$FLOWS_CTL_PORT" \
		-n "$FLOWS_N" -p "$FLOWS_SPORT" -r "$FLOWS_PPS" >"$FLOWS_DIR/send.log" 2>&1 &
	FLOWS_TX_PID=$!
	# The first window's drops count from here, and a new receiver's
	# socket drops from 0.
	FLOWS_SOCK_DROPS_END=0
	lab_backlog_drops FLOWS_WINDOW_BD_END
	# A start, not a speed: beside a CPU hog the HA lab's flows took the
	# VM over 20 s to arrive (with little stall the detector credits).
	lab_wait 60 "all $FLOWS_N flows and the control flow arriving" flows_all_arrive
}

# All flows seen by the receivers in the current window (asks for a report).
flows_all_arrive() {
	flows_report
	[ "$(jq '[.flows[] | select(.received > 0)] | length' "$FLOWS_REPORT")" -eq "$FLOWS_N" ] &&
		[ "$(jq '[.flows[] | select(.received > 0)] | length' "$FLOWS_CTL_REPORT")" -eq 1 ]
}

# flows_report — both receivers' reports of the window since the previous
# one (SIGUSR1), in $FLOWS_REPORT and $FLOWS_CTL_REPORT once written.
# FLOWS_WINDOW_START/END are when the window began and ended
# (EPOCHREALTIME), for lab_vm_stall_max; FLOWS_WINDOW_HW_START/END what
# lab_host_waited said then, FLOWS_WINDOW_BD_START/END lab_backlog_drops;
# FLOWS_SOCK_DROPS_START/END the flows' receiver's socket drops (a running
# count) in the reports either side of the window.
FLOWS_WINDOW_START=
FLOWS_WINDOW_END=
FLOWS_WINDOW_HW_START=0
FLOWS_WINDOW_HW_END=0
FLOWS_WINDOW_BD_START=0
FLOWS_WINDOW_BD_END=0
FLOWS_SOCK_DROPS_START=0
FLOWS_SOCK_DROPS_END=0
flows_report() {
	local j
	FLOWS_REPORTS=$((FLOWS_REPORTS + 1))
	FLOWS_WINDOW_START=$FLOWS_WINDOW_END
	FLOWS_WINDOW_END=$EPOCHREALTIME
	FLOWS_WINDOW_HW_START=$FLOWS_WINDOW_HW_END
	lab_host_waited FLOWS_WINDOW_HW_END
	FLOWS_WINDOW_BD_START=$FLOWS_WINDOW_BD_END
	lab_backlog_drops FLOWS_WINDOW_BD_END
	kill -USR1 "$FLOWS_RX_PID" "$FLOWS_CTL_PID"
	lab_wait 10 "flow report $FLOWS_REPORTS" sh -c \
		"[ \"\$(jq .report '$FLOWS_REPORT' 2>/dev/null)\" = $FLOWS_REPORTS ] &&
		 [ \"\$(jq .report '$FLOWS_CTL_REPORT' 2>/dev/null)\" = $FLOWS_REPORTS ]"
	# read, not $(<file): see lab_caps_check.
	j=
	{ read -r -d '' j <"$FLOWS_REPORT"; } 2>/dev/null || true
	FLOWS_SOCK_DROPS_START=$FLOWS_SOCK_DROPS_END
	[[ $j =~ \"socket_drops\":([0-9]+) ]] && FLOWS_SOCK_DROPS_END=${BASH_REMATCH[1]} || true
}

# flows_vm_dropped — the flows' datagrams the VM dropped in the last
# report's window for want of CPU: its input backlogs' drops
# (lab_backlog_drops; other packets' too, so an upper bound) and the flows'
# receiver's socket drops.
flows_vm_dropped() {
	echo $(( FLOWS_WINDOW_BD_END - FLOWS_WINDOW_BD_START +
		FLOWS_SOCK_DROPS_END - FLOWS_SOCK_DROPS_START ))
}

# flows_control FIELD — FIELD (lost, max_gap_ms, …) of the control flow in
# the last report.
flows_control() { jq -r --arg f "$1" '[.flows[] | .[$f]] | max // 0' "$FLOWS_CTL_REPORT"; }

# flows_vm_part — one line on what the VM did in the last report's window:
# the control flow's loss and longest gap, the longest vCPU stall, what
# the host kept it waiting, what the VM dropped (flows_vm_dropped's parts).
flows_vm_part() {
	echo "control flow (lan -> $FLOWS_CTL_NS, no tunnel) lost $(flows_control lost)," \
		"longest gap $(flows_control max_gap_ms) ms;" \
		"longest vCPU stall $(lab_vm_stall_max "$FLOWS_WINDOW_START" "$FLOWS_WINDOW_END") ms;" \
		"the host kept it waiting $(( FLOWS_WINDOW_HW_END - FLOWS_WINDOW_HW_START )) ms;" \
		"backlog drops $(( FLOWS_WINDOW_BD_END - FLOWS_WINDOW_BD_START )), the flows' receiver's" \
		"socket drops $(( FLOWS_SOCK_DROPS_END - FLOWS_SOCK_DROPS_START ))"
}

# flows_vm_lost_ms — how long the VM did not run in the last report's
# window, as lab_wait counts it: the larger of its stalls (lab_vm_stalled_ms)
# and what the host kept it waiting (lab_host_waited; also a vCPU's many
# short waits beside a busy host, which make every exec in the VM, a
# keepalived check script's too, that much slower).
flows_vm_lost_ms() {
	local stalled hw=$(( FLOWS_WINDOW_HW_END - FLOWS_WINDOW_HW_START ))
	stalled=$(lab_vm_stalled_ms "$FLOWS_WINDOW_START" "$FLOWS_WINDOW_END")
	echo $(( hw > stalled ? hw : stalled ))
}

# flows_vm_disturbed — true if in the last report's window the VM itself
# lost a datagram of the control flow or stalled a vCPU for 50 ms or more.
flows_vm_disturbed() {
	[ "$(flows_control lost)" -gt 0 ] ||
		[ "$(lab_vm_stall_max "$FLOWS_WINDOW_START" "$FLOWS_WINDOW_END")" -ge 50 ]
}

# flows_pause — stop the sender (SIGSTOP) so that a window can end with
# nothing in flight: counters along the path, read once they stop moving,
# then agree with the receiver's report exactly.  flows_resume lets it go
# on; the ticks it missed are skipped, not numbered (udpflows -B), so the
# pause is a gap to the receivers, never loss.
flows_pause() { kill -STOP "$FLOWS_TX_PID"; }
flows_resume() { kill -CONT "$FLOWS_TX_PID"; }

# flows_stop — stop sender and receivers (they write a last report).
flows_stop() {
	# CONT: a paused sender (flows_pause) acts on TERM only once running.
	[ -z "$FLOWS_TX_PID" ] || { kill "$FLOWS_TX_PID" 2>/dev/null; kill -CONT "$FLOWS_TX_PID" 2>/dev/null
		wait "$FLOWS_TX_PID" 2>/dev/null; } || true
	[ -z "$FLOWS_RX_PID" ] || { kill "$FLOWS_RX_PID" 2>/dev/null; wait "$FLOWS_RX_PID" 2>/dev/null; } || true
	[ -z "$FLOWS_CTL_PID" ] || { kill "$FLOWS_CTL_PID" 2>/dev/null; wait "$FLOWS_CTL_PID" 2>/dev/null; } || true
	FLOWS_TX_PID= FLOWS_RX_PID= FLOWS_CTL_PID=
}

# flows_summary [SPORT…] — the receiver's own drops, then one line per
# flow of the last report (all flows, or those with the given source ports):
# "SPORT lost=… run=…ms gap=…ms dup=… reord=…".
flows_summary() {
	jq -r '"receiver socket drops: \(.socket_drops)"' "$FLOWS_REPORT"
	jq -r --arg ports "$*" '
		($ports | split(" ") | map(select(. != "") | tonumber)) as $p
		| .flows[] | select(($p | length) == 0 or (.sport as $s | any($p[]; . == $s)))
		| "\(.sport) lost=\(.lost) run=\(.max_loss_ms)ms gap=\(.max_gap_ms)ms dup=\(.duplicates) reord=\(.reordered)"' \
		"$FLOWS_REPORT"
}

# flows_on TUNNEL… — true if, over a short window (FLOWS_WINDOW_S, default
# 0.5 s), every flow arrived by exactly one tunnel and that tunnel is one
# of TUNNEL… (edge names gt0…); the per-flow result stays in
# $FLOWS_DIR/where.
flows_on() {
	flows_where "${FLOWS_WINDOW_S:-0.5}" >"$FLOWS_DIR/where"
	awk -v ok=" $* " '$2 == "-" || index($2, ",") || !index(ok, " " $2 " ") { bad = 1 }
		END { exit bad }' "$FLOWS_DIR/where"
}

# flows_via TUNNEL — source ports of the flows on TUNNEL in the last flows_on.
flows_via() { awk -v t="$1" '$2 == t { printf "%s%s", sep, $1; sep = " " }' "$FLOWS_DIR/where"; }

# flows_max FIELD [SPORT…] — the largest FIELD (lost, max_gap_ms, …) over
# the given flows (default all) in the last report.
flows_max() {
	local field=$1
	shift
	jq -r --arg ports "$*" --arg f "$field" '
		($ports | split(" ") | map(select(. != "") | tonumber)) as $p
		| [.flows[] | select(($p | length) == 0 or (.sport as $s | any($p[]; . == $s)))
		   | .[$f]] | max // 0' "$FLOWS_REPORT"
}

# flows_cpe_counters_install — on the cpe, a table of its own (tunsteerd
# never touches it) counting each flow's datagrams as they come in from the
# LAN and as they leave, per interface (the tunnels cf1..cf3 and the ISPs
# wan1, wan2): what the daemon's routing did to each packet, measured
# where the daemon acts, before any network or VM loss downstream.  Named
# counters picked through one map lookup per packet: a chain of a rule per
# flow and interface would cost the emulated VM more than the flows do.
flows_cpe_counters_install() {
	local i o p ins="" outs="" ctrs=""
	for i in $(lab_seq 0 $((FLOWS_N - 1))); do
		p=$((FLOWS_SPORT + i))
		ctrs+="counter in_lan0_$p { }; "
		ins+="${ins:+, }$p : \"in_lan0_$p\""
		for o in cf1 cf2 cf3 wan1 wan2; do
			ctrs+="counter out_${o}_$p { }; "
			outs+="${outs:+, }\"$o\" . $p : \"out_${o}_$p\""
		done
	done
	nsx cpe nft -f - <<-EOF || lab_fail "cpe: flow counters not installed"
	table inet labcpe {
		$ctrs
		chain in {
			type filter hook prerouting priority raw; policy accept;
			iifname "lan0" udp dport $FLOWS_PORT counter name udp sport map { $ins }
		}
		chain out {
			type filter hook postrouting priority 500; policy accept;
			udp dport $FLOWS_PORT counter name oifname . udp sport map { $outs }
		}
	}
	EOF
}

# flows_cpe_counters FILE — "in lan0 SPORT PACKETS" and "out IF SPORT
# PACKETS" lines, from one listing of the table, into FILE.
flows_cpe_counters() {
	nsx cpe nft list counters table inet labcpe | awk '
		$1 == "counter" { split($2, n, "_"); name = n[1] " " n[2] " " n[3] }
		$1 == "packets" { print name, $2 }' | sort >"$1"
}

# flows_cpe_check A B IFS [SPORT…] — between the counter files A and B,
# every datagram of the flows SPORT… (default all) that came in from the
# LAN left the cpe by one of the interfaces IFS ("cf3", "cf1 cf2 cf3"),
# and none left by any other: the cpe neither dropped nor misrouted one.
# Prints one line per flow; false if not so.  A datagram in flight at a
# reading may be counted in but not yet out: 5 per flow are allowed for that.
flows_cpe_check() {
	awk -v ports=" ${*:4} " -v ok=" $3 " '
		NR == FNR { a[$1 " " $2 " " $3] = $4; next }
		ports == "  " || index(ports, " " $3 " ") {
			d = $4 - a[$1 " " $2 " " $3]
			seen[$3] = 1
			if ($1 == "in") { inn[$3] += d; next }
			if (d == 0) next
			out[$3] = out[$3] ", out " $2 " " d
			if (index(ok, " " $2 " ")) good[$3] += d; else bad = 1
		}
		END {
			for (p in seen) {
				print p ": in " inn[p] out[p]
				if (inn[p] - good[p] > 5 || good[p] - inn[p] > 5) bad = 1
			}
			exit bad
		}' "$1" "$2"
}
