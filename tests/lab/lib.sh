# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers for the lab: sourced by tests/lab/topology, the e2e
# scenarios and the demo.  Everything here runs as root under a kernel
# that has the lab modules (see tests/lab/vmrun).  The addressing plan is
# in tests/lab/README.md; keep the two in step.

_lab_here=${BASH_SOURCE[0]%/*}
[ "$_lab_here" != "${BASH_SOURCE[0]}" ] || _lab_here=.
LAB_DIR=$(cd "$_lab_here" && pwd)
LAB_TOP=$(cd "$LAB_DIR/../.." && pwd)
LAB_STATE=${LAB_STATE:-/run/tunsteer-lab/topology}
LAB_RUN=/run/tunsteer-lab
LAB_BUILD=${TUNSTEER_BUILDDIR:-$LAB_TOP/build}
LAB_EDGE_BIN=$LAB_BUILD/src/edge/tunsteer-edge
# The provider side of the lab's tunnels: "tunsteer-edge" (one emulator per
# edge namespace) or "plain" (`ip` GRE tunnels and static return routes).
LAB_EDGE=${LAB_EDGE:-tunsteer-edge}
# Sanitizer builds: the suppressions make check uses (OpenSSL's global
# tables, which strongSwan's openssl plugin leaves to exit, and nothing
# else), so that a daemon with IPsec ends clean.
export LSAN_OPTIONS=suppressions=$LAB_TOP/tests/unit/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}

# Addressing plan ------------------------------------------------------------
LAN_NET=203.0.113.0/24
LAN_CPE=203.0.113.1
LAN_AUTH=203.0.113.10       # inside the authorized prefix 203.0.113.0/25
LAN_UNAUTH=203.0.113.130    # outside it (203.0.113.128/25 is not authorized)
AUTH_PREFIX=203.0.113.0/25
INET_HOST=198.18.0.10
INET_NET=198.18.0.0/24
ANYCAST=(192.0.2.1 192.0.2.2)  # the provider's two tunnel endpoints
ISPS=(isp1 isp2)

# cpe's underlay address on ISP n (1-based) and the ISP's side of it.  The
# HA lab (ha.sh) has a second customer router, cpe2: its /30s follow the
# first's (optional second argument C, the router, default 1).
cpe_wan_addr() { echo "198.51.100.$(( (${2:-1} - 1) * 8 + ($1 - 1) * 4 + 2 ))"; }
isp_cpe_addr() { echo "198.51.100.$(( (${2:-1} - 1) * 8 + ($1 - 1) * 4 + 1 ))"; }
# ISP n ↔ edge k link (/30 from 198.19.n.0/24): ISP side, edge side.
isp_edge_addr() { echo "198.19.$1.$(( ($2 - 1) * 4 + 1 ))"; }
edge_isp_addr() { echo "198.19.$1.$(( ($2 - 1) * 4 + 2 ))"; }
# edge k ↔ inet link (/30 from 198.19.3.0/24).
inet_edge_addr() { echo "198.19.3.$(( ($1 - 1) * 4 + 1 ))"; }
edge_inet_addr() { echo "198.19.3.$(( ($1 - 1) * 4 + 2 ))"; }
# Tunnel t (0-based: ISP-major, endpoint-minor) has the /31 198.19.0.2t;
# the even address is the provider side, the odd one the customer side.
tun_edge_addr() { echo "198.19.0.$(( $1 * 2 ))"; }
tun_cpe_addr() { echo "198.19.0.$(( $1 * 2 + 1 ))"; }
# Dual stack (IPv6 documentation prefix, RFC 3849): each lab tunnel's
# /127 inside it, the customer's authorized and unauthorized IPv6 LAN
# prefixes and hosts, and an IPv6 host behind the provider.
tun_cpe_addr6() { printf '2001:db8:ffff::%x\n' $(( $1 * 2 )); }
tun_edge_addr6() { printf '2001:db8:ffff::%x\n' $(( $1 * 2 + 1 )); }
AUTH6_PREFIX=2001:db8:1::/64
LAN6_CPE=2001:db8:1::1
LAN6_AUTH=2001:db8:1::10
LAN6_UNAUTH=2001:db8:2::10
INET6_HOST=2001:db8:100::10
# Edge k's own public address (on lo; each ISP routes it to edge k): the
# source of its unidirectional health checks, where the answers return.
edge_public_addr() { echo "192.0.2.$(( 100 + $1 ))"; }

# Generic helpers ------------------------------------------------------------

# Each line says when, in seconds since this file was sourced (the
# scenario's start), so that a log shows where a scenario spends its time.
LAB_T0_US=${LAB_T0_US:-${EPOCHREALTIME/./}}
lab_log() {
	local us=$(( ${EPOCHREALTIME/./} - LAB_T0_US ))
	printf '[lab %d.%ds] %s\n' $(( us / 1000000 )) $(( us / 100000 % 10 )) "$*" >&2
}
lab_fail() {
	lab_log "FAIL: $*"
	lab_stall_summary >&2
	exit 1
}

# nsx NS CMD… — run CMD inside namespace NS.  `ip` commands use `ip -n`,
# which skips the mount namespace `ip netns exec` sets up: that costs a
# few hundred ms per call in the TCG VM and the lab makes hundreds.
nsx() {
	local ns=$1
	shift
	if [ "$1" = ip ]; then
		shift
		ip -n "$ns" "$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# lab_wait SECONDS DESCRIPTION CMD… — poll CMD (every 0.1 s) until it
# succeeds; fail the scenario with DESCRIPTION if it never does.
# SECONDS counts the time the VM ran: what it lost meanwhile is added to
# the wait, up to 3 × SECONDS + 60 s in all, so a host that stops or slows
# the VM does not fail a wait for it.  Lost is the larger of what the VM's
# stall detector saw (lab_vm_stalled_ms: whole stalls of 20 ms or more)
# and what the host kept the VM waiting (lab_host_waited: also the many
# short waits of a vCPU that runs at half speed beside a CPU hog).
# A stall longer than a health check's timeout does more than pause the
# VM: every check then in flight (the edges', tunsteerd's) answers late
# by the VM's clock and fails, and the health state machines start over.
# So each such stall (LAB_STALL_RESET_MS, default the edges' check
# timeout EDGE_HC_TIMEOUT_MS as the scenario has it when it waits) adds
# LAB_STALL_RECOVERY_S more: the time a tunnel takes from down back to up
# (the edges' minimum time in a state, twice, and their checks).
# On failure it shows what the last attempt printed.  Its own variables
# are _lw_*: CMD is often a function reading the caller's (t0, out…), and
# bash's locals are seen by what a function calls.
LAB_STALL_RECOVERY_S=${LAB_STALL_RECOVERY_S:-3}
lab_wait() {
	local _lw_limit=$1 _lw_what=$2 _lw_t0=$EPOCHREALTIME _lw_deadline _lw_cap _lw_out _lw_now _lw_stalled=0 _lw_resets=0 _lw_reset_ms
	local _lw_h0 _lw_h1
	shift 2
	lab_host_waited _lw_h0
	# One file per shell and depth (a CMD may wait too), made by the
	# redirection: no mktemp, no rm (topology down removes them).
	LAB_WAIT_DEPTH=$(( ${LAB_WAIT_DEPTH:-0} + 1 ))
	_lw_out=${TMPDIR:-/tmp}/tunsteer-lab-wait.$BASHPID.$LAB_WAIT_DEPTH
	# Microseconds, from bash's clock: no date(1) per attempt.
	_lw_deadline=$(( ${_lw_t0/./} + _lw_limit * 1000000 ))
	_lw_cap=$(( _lw_deadline + (2 * _lw_limit + 60) * 1000000 ))
	until "$@" >"$_lw_out" 2>&1; do
		_lw_now=${EPOCHREALTIME/./}
		if [ "$_lw_now" -ge "$_lw_deadline" ]; then
			_lw_stalled=$(lab_vm_stalled_ms "$_lw_t0")
			lab_host_waited _lw_h1
			[ $(( _lw_h1 - _lw_h0 )) -le "$_lw_stalled" ] || _lw_stalled=$(( _lw_h1 - _lw_h0 ))
			_lw_reset_ms=${LAB_STALL_RESET_MS:-$EDGE_HC_TIMEOUT_MS}
			_lw_resets=$(lab_vm_stalls_over "$_lw_reset_ms" "$_lw_t0")
			_lw_deadline=$(( ${_lw_t0/./} +
				(_lw_limit * 1000 + _lw_stalled +
				 _lw_resets * LAB_STALL_RECOVERY_S * 1000) * 1000 ))
			[ "$_lw_deadline" -le "$_lw_cap" ] || _lw_deadline=$_lw_cap
			if [ "$_lw_now" -ge "$_lw_deadline" ]; then
				[ ! -s "$_lw_out" ] || { echo "[lab] the last attempt said:"; tail -n 5 "$_lw_out"; } >&2
				lab_fail "timed out after ${_lw_limit}s of VM time waiting for: $_lw_what" \
					"(the VM lost $_lw_stalled ms meanwhile, $(( _lw_h1 - _lw_h0 )) ms of it" \
					"waiting for the host; it stalled $_lw_resets times for over $_lw_reset_ms ms)"
			fi
		fi
		lab_sleep 0.1
	done
	LAB_WAIT_DEPTH=$(( LAB_WAIT_DEPTH - 1 ))
}

# lab_ping NS SRC DST — one round trip within 2 s, or fail.
lab_ping() { nsx "$1" ping -n -q -c 1 -W 2 -I "$2" "$3" >/dev/null 2>&1; }

# lab_link_rx NS DEV — received packets on DEV.
lab_link_rx() { nsx "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

lab_edges() { local n=0; { read -r n <"$LAB_STATE/edges"; } 2>/dev/null; echo "${n:-0}"; }

# lab_seq FIRST LAST — seq(1) without an exec: the lab's hot paths avoid
# execs, which cost ~0.15 s of CPU each in the TCG VM.
lab_seq() { local i; for (( i = $1; i <= $2; i++ )); do echo "$i"; done; }

# lab_sleep SECONDS — sleep(1) without an exec: a read that times out on a
# FIFO that nobody writes (opened read-write, so it never reaches EOF).
# The lab's polls sleep thousands of times.
lab_sleep() {
	if [ -z "${LAB_SLEEP_FD:-}" ]; then
		local f=${TMPDIR:-/tmp}/tunsteer-lab-sleep.fifo
		[ -p "$f" ] || mkfifo "$f" 2>/dev/null || [ -p "$f" ] || { sleep "$1"; return; }
		exec {LAB_SLEEP_FD}<>"$f"
	fi
	read -r -t "$1" -u "$LAB_SLEEP_FD" _ || true
}

# lab_sysctl NS KEY=VALUE… — one exec for all of them.
lab_sysctl() { local ns=$1; shift; nsx "$ns" sysctl -q -w "$@" >/dev/null; }

# lab_veth NS1 DEV1 NS2 DEV2 — a veth pair between two namespaces, up.
lab_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

# lab_gre NS NAME LOCAL REMOTE INNER/31 — a plain GRE tunnel with the
# provider's defaults (TTL 64, MTU 1476).
lab_gre() {
	nsx "$1" ip link add "$2" type gre local "$3" remote "$4" ttl 64
	nsx "$1" ip link set "$2" mtu 1476 up
	nsx "$1" ip addr add "$5" dev "$2"
}

# lab_up [topology up options] — build the standard lab for a scenario and
# tear it down when the scenario exits, however it exits.
lab_up() {
	local t0=$EPOCHREALTIME
	"$LAB_DIR/topology" down
	trap lab_on_exit EXIT
	lab_stall_watch
	"$LAB_DIR/topology" up "$@"
	lab_log "topology up in $(awk -v a=$t0 -v b=$EPOCHREALTIME 'BEGIN{printf "%.1f s", b-a}')"
}

topo() { "$LAB_DIR/topology" "$@"; }

# The default exit trap of a scenario: the edges' logs on failure, then
# the lab goes.
lab_on_exit() {
	local rc=$?
	[ $rc -eq 0 ] || lab_edge_logs
	"$LAB_DIR/topology" down
}

# The provider recommends one tunnel per ISP × anycast endpoint: tunnel t
# (0..3) runs over ISP t/2+1 to endpoint t%2.  Tunnels 4..7 are the same
# four of the HA lab's second router, cpe2 (tun_cpe).
tun_isp() { echo $(( $1 % 4 / 2 + 1 )); }
tun_anycast() { echo "${ANYCAST[$(( $1 % 2 ))]}"; }
tun_cpe() { echo $(( $1 / 4 + 1 )); }
# The lab tunnels the edges serve (lab_edge_conf): cpe's four, and cpe2's
# in the HA lab.
LAB_EDGE_TUNNELS=${LAB_EDGE_TUNNELS:-0 1 2 3}

# lab_edge_tunnels — the provider side of tunnels 0..3 on every edge.
# With LAB_EDGE=tunsteer-edge (the default): one tunsteer-edge per edge
# namespace (lab_edge_start).  With LAB_EDGE=plain: GRE gt<t> from the
# anycast endpoint to the cpe's address on that ISP with plain `ip`, and
# the customer's prefix routed back over all four.
lab_edge_tunnels() {
	local k t n
	if [ "$LAB_EDGE" != plain ]; then
		lab_edge_start
		return
	fi
	for k in $(lab_seq 1 "$(lab_edges)"); do
		for t in 0 1 2 3; do
			n=$(tun_isp $t)
			lab_gre "edge$k" "gt$t" "$(tun_anycast $t)" "$(cpe_wan_addr "$n")" \
				"$(tun_edge_addr $t)/31"
		done
	done
	lab_edge_return_via 0 1 2 3
}

# lab_edge_return_via T… — (plain edges only) every edge sends the
# customer's prefix back over tunnels T… only, as the provider does once
# its health checks have taken a tunnel out; tunsteer-edge does that by
# itself.
lab_edge_return_via() {
	local k t nh=()
	[ "$LAB_EDGE" = plain ] || lab_fail "lab_edge_return_via is for LAB_EDGE=plain; tunsteer-edge steers by its own health checks"
	for t in "$@"; do nh+=(nexthop via "$(tun_cpe_addr "$t")" dev "gt$t"); done
	for k in $(lab_seq 1 "$(lab_edges)"); do
		nsx "edge$k" ip route replace "$LAN_NET" "${nh[@]}"
	done
}

# Settings of the generated tunsteer-edge configs; a scenario may change
# them before lab_edge_start.  The provider checks "up to every second"
# and holds a state at least 5 min; the lab checks faster and holds 1 s.
EDGE_HC=${EDGE_HC:-}                         # more health_check settings
EDGE_HC_INTERVAL_MS=${EDGE_HC_INTERVAL_MS:-100}
EDGE_HC_TIMEOUT_MS=${EDGE_HC_TIMEOUT_MS:-250}
EDGE_HC_MIN_STATE_MS=${EDGE_HC_MIN_STATE_MS:-1000}
EDGE_PRIORITIES=${EDGE_PRIORITIES:-100 200 100 200}   # of gt0..gt3
EDGE_FIREWALL=${EDGE_FIREWALL:-}             # firewall list entries
# More relay settings, e.g. SA propagation's (lab_sa_propagation).
EDGE_RELAY=${EDGE_RELAY:-}
# lab_sa_propagation MS — the edges propagate their IPsec SAs to each other
# MS milliseconds after installing them (the provider: 90-150 s).
LAB_SA_KEY=lab-sa-propagation-secret-7e57
lab_sa_propagation() {
	export EDGE_RELAY="sa_key = \"$LAB_SA_KEY\"; sa_delay_ms = $1;"
}
# EDGE_IPV6=1: dual stack at the edges (tunsteer.sh's TS_IPV6 is the
# cpe's side): every tunnel's interface_address6 (tun_edge_addr6), and
# AUTH6_PREFIX authorized and routed as LAN_NET is.
EDGE_IPV6=${EDGE_IPV6:-}
# lab_ipv6_up — IPv6 for an EDGE_IPV6 lab: on in lan and inet; in each
# edge k only toward inet (tunsteer-edge turns it on on its tunnels) and
# forwarded; in the cpe on lan0 and wan1 (tunsteerd turns it on on its
# tunnels).  inet ↔ edge k 2001:db8:3:k::/64, INET6_HOST on inet, each
# edge routing inet's prefix back; inet routes AUTH6_PREFIX to edge1, or
# with more edges through one nexthop group of all of them, hashed on L4
# as its IPv4 group is (set_ecmp).  The LAN's authorized host and the
# cpe's LAN addresses (2001:db8:2::1 outside every authorized prefix), an
# IPv6 default to the first ISP.
lab_ipv6_up() {
	local ns k edges group=""
	edges=$(lab_edges)
	for ns in lan inet; do
		lab_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
	done
	lab_sysctl inet net.ipv6.fib_multipath_hash_policy=1
	for k in $(lab_seq 1 "$edges"); do
		lab_sysctl "edge$k" net.ipv6.conf.inet.disable_ipv6=0 net.ipv6.conf.all.forwarding=1
		nsx inet ip -6 addr add "2001:db8:3:$k::1/64" dev "edge$k" nodad
		nsx "edge$k" ip -6 addr add "2001:db8:3:$k::2/64" dev inet nodad
		nsx "edge$k" ip -6 route add 2001:db8:100::/64 via "2001:db8:3:$k::1" dev inet
		nsx inet ip nexthop add id $((600 + k)) via "2001:db8:3:$k::2" dev "edge$k"
		group+=${group:+/}$((600 + k))
	done
	lab_sysctl cpe net.ipv6.conf.lan0.disable_ipv6=0 net.ipv6.conf.wan1.disable_ipv6=0 \
		net.ipv6.conf.all.forwarding=1
	nsx inet ip -6 addr add "$INET6_HOST/64" dev dummy0 nodad
	if [ "$edges" -eq 1 ]; then
		nsx inet ip -6 route add "$AUTH6_PREFIX" via 2001:db8:3:1::2 dev edge1
	else
		nsx inet ip nexthop add id 1600 group "$group"
		nsx inet ip -6 route add "$AUTH6_PREFIX" nhid 1600
	fi
	nsx lan ip -6 addr add "$LAN6_AUTH/64" dev eth0 nodad
	nsx lan ip -6 route add default via "$LAN6_CPE" dev eth0
	nsx cpe ip -6 addr add "$LAN6_CPE/64" dev lan0 nodad
	nsx cpe ip -6 addr add 2001:db8:2::1/64 dev lan0 nodad
	nsx cpe ip -6 route add default dev wan1
}
# Lab tunnels the edges serve as IPsec (tunsteer-edge's IKEv2 responder)
# instead of GRE: tunnel t is then it<t>, an XFRM interface, answering
# the customer's IKE as ipsec_id t says (tunsteer.sh's TS_IPSEC is the
# cpe's side), with LAB_IPSEC_PSK.
EDGE_IPSEC_TUNNELS=${EDGE_IPSEC_TUNNELS:-}
LAB_ACCOUNT_ID=0ab0acc7
LAB_IPSEC_PSK=lab-ipsec-psk-0123456789abcdef
lab_is_ipsec() { [[ " $EDGE_IPSEC_TUNNELS " == *" $1 "* ]]; }
# IPsec lab tunnels whose edge config has replay_protection = true (the
# provider pins their customer-bound ESP to one server).
EDGE_REPLAY_PROTECTION=${EDGE_REPLAY_PROTECTION:-}
# lab_tun_name T — the edge's name of lab tunnel T: gt<T>, or it<T> when
# it is an IPsec one.
lab_tun_name() { if lab_is_ipsec "$1"; then echo "it$1"; else echo "gt$1"; fi; }
# ipsec_tunnel_id T — the provider's tunnel ID of lab tunnel T; the
# customer's IKE ID is the provider's RFC 822 form of it (PROVIDER.md §3).
ipsec_tunnel_id() { echo "7e0$1"; }
ipsec_customer_id() { echo "ipsec@$(ipsec_tunnel_id "$1").$LAB_ACCOUNT_ID.ipsec.cloudflare.com"; }

edge_sock() { echo "$LAB_RUN/edge$1.sock"; }
edge_conf_file() { echo "$LAB_RUN/edge$1.conf"; }
edge_log() { echo "$LAB_RUN/edge$1.log"; }
# edge_ctl K ARGS… — tunsteer-edge's client on edge K's control socket
# (a file: no namespace switch needed).
edge_ctl() { local k=$1; shift; "$LAB_EDGE_BIN" -S "$(edge_sock "$k")" "$@"; }

# lab_edge_conf K — write edge K's config: both anycast endpoints, the
# lab tunnels LAB_EDGE_TUNNELS (gt<t> over ISP t/2+1 to endpoint t%2,
# provider side of 198.19.0.2t/31; 4..7 the same to cpe2), the customer's
# prefix routed over them with EDGE_PRIORITIES (of gt0..gt3; cpe2's
# tunnels take those of cpe's), 203.0.113.0/25 authorized, check answers
# relayed between the edges over inet.  Tunnels in EDGE_IPSEC_TUNNELS are
# it<t>, IPsec from the same anycast endpoint, answering IKE from the
# cpe's address on that ISP.
lab_edge_conf() {
	local k=$1 j t n peers="" routes="" tunnels="" prio acct="" addr6
	# IPsec tunnels' customer IDs are made of the account's.
	[ -z "$EDGE_IPSEC_TUNNELS" ] || acct="account_id = \"$LAB_ACCOUNT_ID\";"
	read -r -a prio <<<"$EDGE_PRIORITIES"
	for j in $(lab_seq 1 "$(lab_edges)"); do
		[ "$j" = "$k" ] || peers+="${peers:+, }\"$(edge_inet_addr "$j")\""
	done
	for t in $LAB_EDGE_TUNNELS; do
		n=$(tun_isp $t)
		addr6=${EDGE_IPV6:+ interface_address6 = \"$(tun_edge_addr6 $t)/127\";}
		if lab_is_ipsec "$t"; then
			tunnels+="${tunnels:+,
}	    { name = \"it$t\"; type = \"ipsec\"; tunnel_id = \"$(ipsec_tunnel_id "$t")\";
	      psk = \"$LAB_IPSEC_PSK\"; cloudflare_endpoint = \"$(tun_anycast $t)\";
	      customer_endpoint = \"$(cpe_wan_addr "$n" "$(tun_cpe $t)")\";
	      interface_address = \"$(tun_edge_addr $t)/31\";$addr6$(
		[[ " $EDGE_REPLAY_PROTECTION " != *" $t "* ]] || echo " replay_protection = true;") }"
		else
			tunnels+="${tunnels:+,
}	    { name = \"gt$t\"; cloudflare_gre_endpoint = \"$(tun_anycast $t)\";
	      customer_gre_endpoint = \"$(cpe_wan_addr "$n" "$(tun_cpe $t)")\";
	      interface_address = \"$(tun_edge_addr $t)/31\";$addr6 }"
		fi
		routes+="${routes:+,
}	    { prefix = \"$LAN_NET\"; tunnel = \"$(lab_tun_name "$t")\"; priority = ${prio[$((t % 4))]}; }"
		[ -z "$EDGE_IPV6" ] || routes+=",
	    { prefix = \"$AUTH6_PREFIX\"; tunnel = \"$(lab_tun_name "$t")\"; priority = ${prio[$((t % 4))]}; }"
	done
	mkdir -p "$LAB_RUN"
	cat >"$(edge_conf_file "$k")" <<-CONF
	name = "edge$k";
	log_level = "debug";
	control = { socket = "$(edge_sock "$k")"; };
	anycast = [ "${ANYCAST[0]}", "${ANYCAST[1]}" ];
	health_check = {
	  interval_ms = $EDGE_HC_INTERVAL_MS; timeout_ms = $EDGE_HC_TIMEOUT_MS;
	  min_state_ms = $EDGE_HC_MIN_STATE_MS;
	  public_address = "$(edge_public_addr "$k")";
	  $EDGE_HC
	};
	relay = { address = "$(edge_inet_addr "$k")"; peers = [ $peers ]; $EDGE_RELAY };
	customers = ( {
	  name = "lab";
	  $acct
	  authorized = [ "$AUTH_PREFIX"${EDGE_IPV6:+, \"$AUTH6_PREFIX\"} ];
	  tunnels = (
	$tunnels );
	  routes = (
	$routes );
	} );
	firewall = ( $EDGE_FIREWALL );
	CONF
	# It may hold PSKs: tunsteer-edge refuses such a file readable by
	# others.
	chmod 600 "$(edge_conf_file "$k")"
}

# lab_edge_start [K…] — (re)start tunsteer-edge on edges K… (default: all)
# from fresh configs and wait until each answers.
lab_edge_start() {
	local k ks=("$@")
	[ ${#ks[@]} -gt 0 ] || ks=($(lab_seq 1 "$(lab_edges)"))
	[ -x "$LAB_EDGE_BIN" ] || lab_fail "no tunsteer-edge in ${LAB_EDGE_BIN%/*} (build first)"
	for k in "${ks[@]}"; do
		lab_edge_conf "$k"
		# Not through nsx: $! must be tunsteer-edge itself.
		ip netns exec "edge$k" "$LAB_EDGE_BIN" -d \
			-c "$(edge_conf_file "$k")" >>"$(edge_log "$k")" 2>&1 &
		echo $! >"$LAB_STATE/edge$k.pid"
		disown $!	# no "Killed" notice when the lab goes down
	done
	for k in "${ks[@]}"; do
		# A start, not a speed: on a loaded host the VM took 35 s.
		lab_wait 60 "tunsteer-edge on edge$k answers" edge_ctl "$k" status
	done
}

# lab_edge_stop K [SIGNAL] — stop edge K's tunsteer-edge (SIGTERM: it
# removes its state; KILL: it dies as a crashed server would).
lab_edge_stop() {
	local k=$1 sig=${2:-TERM} pid
	[ -r "$LAB_STATE/edge$k.pid" ] || return 0
	read -r pid <"$LAB_STATE/edge$k.pid"
	rm -f "$LAB_STATE/edge$k.pid"
	kill -"$sig" "$pid" 2>/dev/null || true
	# Gone, or a zombie whose parent (maybe not us) has yet to reap it.
	lab_wait 10 "tunsteer-edge $pid on edge$k exits" lab_gone "$pid"
}
lab_gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# edge_json K VIEW — one view of edge K as JSON.
edge_json() { local k=$1; shift; edge_ctl "$k" --json "$@"; }

# edge_state K TUNNEL — the health state edge K has for TUNNEL.  Matched
# by bash, not grep and sed: the lab polls it, and each exec costs ~0.15 s
# of CPU in the TCG VM.
edge_state() {
	local j re="\"name\":\"$2\"[^{]*\"state\":\"([a-z]*)\""
	j=$(edge_json "$1" tunnels) || return 1
	[[ $j =~ $re ]] && echo "${BASH_REMATCH[1]}"
}

# edge_states_are K STATE TUNNEL… — edge K has every TUNNEL in STATE (one
# view read).
edge_states_are() {
	local k=$1 want=$2 j t re
	shift 2
	j=$(edge_json "$k" tunnels) || return 1
	for t; do
		re="\"name\":\"$t\"[^{]*\"state\":\"([a-z]*)\""
		[[ $j =~ $re ]] && [ "${BASH_REMATCH[1]}" = "$want" ] || return 1
	done
}

# edge_all_healthy — every edge has every tunnel healthy.
edge_all_healthy() {
	local k
	for k in $(lab_seq 1 "$(lab_edges)"); do
		[ -e "$LAB_STATE/edge$k.pid" ] || continue
		[[ $(edge_json "$k" status) == *'"degraded":0,"down":0,'* ]] || return 1
	done
}

# lab_caps_check PID NAME MIN — every thread of process PID (NAME, for
# the messages; at least MIN threads) has NET_ADMIN, NET_RAW and
# NET_BIND_SERVICE only (0x3400) in its effective, permitted and bounding
# sets: capset() is per thread, so a thread made before the drop would
# keep them all.
lab_caps_check() {
	local pid=$1 name=$2 min=$3 task f v st n=0
	for task in /proc/"$pid"/task/*; do
		# A thread that ended since the listing (one of a start's
		# short-lived ones) has nothing left to check.  read, not
		# $(<file): under set -e a failed $(<file) ends the shell, ||
		# or not (bash 5.2).
		st=
		{ read -r -d '' st <"$task/status"; } 2>/dev/null || true
		[ -n "$st" ] || continue
		n=$((n + 1))
		for f in CapEff CapPrm CapBnd; do
			[[ $st =~ $'\n'$f:[[:space:]]*([0-9a-f]+) ]] && v=${BASH_REMATCH[1]} || v=
			[ "$v" = 0000000000003400 ] ||
				lab_fail "$name thread ${task##*/}: $f is $v, not 0000000000003400"
		done
	done
	[ "$n" -ge "$min" ] || lab_fail "$name ($pid) has $n threads, fewer than $min"
	lab_log "ok: all $n threads of $name run with CapEff/CapPrm/CapBnd 0x3400"
}

# Show the edges' logs when a scenario fails.
lab_edge_logs() {
	local k
	for k in $(lab_seq 1 "$(lab_edges)"); do
		[ -r "$(edge_log "$k")" ] || continue
		echo "--- edge$k tunsteer-edge log (last 30 lines)" >&2
		tail -n 30 "$(edge_log "$k")" >&2
	done
}

# lab_cpe_plain_gre — the customer side without tunsteerd: GRE cf1..cf4
# (lab tunnels 0..3) made with `ip`, the anycast endpoints pinned to the
# underlay, and everything from the LAN to the Internet into cf1,
# whatever its source.
lab_cpe_plain_gre() {
	local t
	for t in 0 1 2 3; do
		lab_gre cpe "cf$((t + 1))" "$(cpe_wan_addr "$(tun_isp $t)")" "$(tun_anycast $t)" \
			"$(tun_cpe_addr $t)/31"
	done
	nsx cpe ip route add "${ANYCAST[0]}/32" via "$(isp_cpe_addr 1)" dev wan1
	nsx cpe ip route add "${ANYCAST[1]}/32" via "$(isp_cpe_addr 1)" dev wan1
	nsx cpe ip route add "$INET_NET" dev cf1
}

# lab_edge_rx T — packets all edges together received on tunnel T.
lab_edge_rx() {
	local k sum=0
	for k in $(lab_seq 1 "$(lab_edges)"); do
		sum=$(( sum + $(lab_link_rx "edge$k" "gt$1") ))
	done
	echo $sum
}

# The VM's own stall detector ------------------------------------------------
#
# On a 2-core build machine shared with other work, the emulated VM's vCPUs
# sometimes do not run for a while: every process inside, the daemon, the
# traffic tools and the kernel, stops at once.  tests/lab/tools/vmstall
# logs each such stall (one SCHED_FIFO thread per vCPU that wakes every
# 5 ms and writes a line when it woke 20 ms or more late), so a scenario
# can tell what the VM did from what the code under test did, and assert
# on the latter only.  lab_up starts it; `topology down` stops it.
LAB_STALL_LOG=$LAB_RUN/vmstall.log

lab_stall_watch() {
	local bin=$LAB_BUILD/tests/lab/tools/vmstall
	[ -x "$bin" ] || lab_fail "no vmstall in $LAB_BUILD/tests/lab/tools (make first)"
	lab_stall_unwatch
	mkdir -p "$LAB_RUN"
	: >"$LAB_STALL_LOG"
	local waited
	lab_host_waited waited
	echo "$waited" >"$LAB_RUN/hostwait0"
	"$bin" -o "$LAB_STALL_LOG" 2>/dev/null &
	echo $! >"$LAB_RUN/vmstall.pid"
	disown $!	# no "Terminated" notice when it goes
}

lab_stall_unwatch() {
	[ -r "$LAB_RUN/vmstall.pid" ] || return 0
	kill "$(cat "$LAB_RUN/vmstall.pid")" 2>/dev/null || true
	rm -f "$LAB_RUN/vmstall.pid"
}

# lab_vm_stall_max T0 [T1] — the longest vCPU stall, in whole ms, that
# overlaps the window [T0, T1] (EPOCHREALTIME values; T1 default now);
# 0 when none of 20 ms or more was seen.
lab_vm_stall_max() {
	awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" \
		'$1 <= b && $1 + $2 / 1000 >= a && $2 > m { m = $2 }
		END { printf "%d\n", m + 0.5 }' "$LAB_STALL_LOG" 2>/dev/null || echo 0
}

# lab_vm_stalls_over MS T0 [T1] — how many of the VM's stalls within
# [T0, T1] lasted MS or more.
lab_vm_stalls_over() {
	awk -v ms="$1" -v a="$2" -v b="${3:-$EPOCHREALTIME}" \
		'$1 <= b && $1 + $2 / 1000 >= a && $2 >= ms { n++ }
		END { printf "%d\n", n + 0 }' "$LAB_STALL_LOG" 2>/dev/null || echo 0
}

# lab_stall_summary — one line on the VM's stalls since the scenario began
# (printed with every failure, so that a failure says whether the VM
# stalled around it).
lab_stall_summary() {
	[ -r "$LAB_STALL_LOG" ] || return 0
	awk -v now="$EPOCHREALTIME" '{ n++; if ($2 > m) { m = $2; at = $1 } }
		END { if (n) printf "[lab] VM: %d vCPU stalls of 20 ms or more in this scenario, the longest %.0f ms, %.1f s ago\n", n, m, now - at
		      else print "[lab] VM: no vCPU stall of 20 ms or more in this scenario" }' "$LAB_STALL_LOG"
	local w0=0 w1
	[ -z "${TUNSTEER_LAB_HOSTWAIT:-}" ] || {
		read -r w0 <"$LAB_RUN/hostwait0" 2>/dev/null || w0=0
		lab_host_waited w1
		echo "[lab] VM: the host kept it waiting $(( w1 - w0 )) ms in this scenario" \
			"(its busiest thread runnable, not running)"
	}
}

# lab_vm_stalled_ms T0 [T1] — how long, in whole ms, the VM did not run
# within [T0, T1]: per vCPU, the stalls' overlap with the window added up,
# and the larger of the vCPUs' sums.
lab_vm_stalled_ms() {
	awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" '
		{ s = $1; e = $1 + $2 / 1000; if (s < a) s = a; if (e > b) e = b
		  if (e > s) t[$3] += (e - s) * 1000 }
		END { for (c in t) if (t[c] > m) m = t[c]; printf "%d\n", m + 0.5 }' \
		"$LAB_STALL_LOG" 2>/dev/null || echo 0
}

# lab_host_waited VAR — set VAR to how long, in whole ms since the VM
# booted, the host kept the VM's busiest thread runnable but not running
# (tests/lab/vmrun's host_wait_sampler, every 0.2 s); 0 when the lab runs
# directly on this host.  A builtin read, no fork: lab_timed calls it per
# attempt.
lab_host_waited() {
	local -n _lhw=$1
	_lhw=
	[ -z "${TUNSTEER_LAB_HOSTWAIT:-}" ] || { read -r _lhw <"$TUNSTEER_LAB_HOSTWAIT"; } 2>/dev/null || true
	[[ "$_lhw" =~ ^[0-9]+$ ]] || _lhw=0
}

# lab_backlog_drops VAR — into VAR, the packets the VM's kernel has dropped
# because a CPU's input backlog was full (the second column of
# /proc/net/softnet_stat, summed over CPUs; the same in every namespace).
# Every veth hop of the lab goes through that backlog: a full one is the
# VM's CPUs not keeping up with the packets, not a route, SA or filter
# sending them nowhere.  Read by bash: no exec.
lab_backlog_drops() {
	local -n _lbd=$1
	local _f
	_lbd=0
	while read -r -a _f; do
		[[ ${_f[1]:-} =~ ^[0-9a-f]+$ ]] && _lbd=$(( _lbd + 16#${_f[1]} ))
	done </proc/net/softnet_stat 2>/dev/null || true
}

# lab_timed WHAT LIMIT CMD… — CMD comes true within LIMIT seconds of the
# time the VM actually ran: it is polled for up to LIMIT + 30 s, and the
# attempt that first saw it true must have begun at most LIMIT seconds,
# not counting what the VM lost meanwhile (as lab_wait counts it), after
# the start.  A bound on the daemon's speed, not on the emulator's.
lab_timed() {
	local what=$1 limit=$2 t0 ta stalled deadline h0 ha
	shift 2
	t0=$EPOCHREALTIME
	lab_host_waited h0
	deadline=$(( ${t0/./} + (limit + 30) * 1000000 ))
	while ta=$EPOCHREALTIME; lab_host_waited ha; ! "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] ||
			lab_fail "timed out after $((limit + 30))s waiting for: $what"
		lab_sleep 0.1
	done
	stalled=$(lab_vm_stalled_ms "$t0" "$ta")
	[ $(( ha - h0 )) -le "$stalled" ] || stalled=$(( ha - h0 ))
	awk -v a="$t0" -v b="$ta" -v s="$stalled" -v l="$limit" \
		'BEGIN { exit !(b - a - s / 1000 <= l) }' ||
		lab_fail "$what: seen $(awk -v a="$t0" -v b="$ta" 'BEGIN { printf "%.2f s", b - a }')" \
			"after the start, with the VM losing $stalled ms of it: over $limit s"
	lab_log "ok: $what in $(awk -v a="$t0" -v b="$ta" 'BEGIN { printf "%.2f s", b - a }')" \
		"(VM lost $stalled ms of it; limit $limit s)"
}
