# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers for the lab: sourced by tests/lab/topology, the e2e
# scenarios and the demo.  Everything here runs as root under a kernel
# that has the lab modules (see tests/lab/vmrun).  The addressing plan is
# in tests/lab/README.md; keep the two in step.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TOP=$(cd "$LAB_DIR/../.." && pwd)
LAB_STATE=${LAB_STATE:-/run/tunsteer-lab/topology}

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

# cpe's underlay address on ISP n (1-based) and the ISP's side of it.
cpe_wan_addr() { echo "198.51.100.$(( ($1 - 1) * 4 + 2 ))"; }
isp_cpe_addr() { echo "198.51.100.$(( ($1 - 1) * 4 + 1 ))"; }
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

# Generic helpers ------------------------------------------------------------

lab_log() { printf '[lab] %s\n' "$*" >&2; }
lab_fail() { printf '[lab] FAIL: %s\n' "$*" >&2; exit 1; }

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
lab_wait() {
	local limit=$1 what=$2 deadline
	shift 2
	deadline=$(( $(date +%s%N) + limit * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || lab_fail "timed out after ${limit}s waiting for: $what"
		sleep 0.1
	done
}

# lab_ping NS SRC DST — one round trip within 2 s, or fail.
lab_ping() { nsx "$1" ping -n -q -c 1 -W 2 -I "$2" "$3" >/dev/null 2>&1; }

# lab_link_rx NS DEV — received packets on DEV.
lab_link_rx() { nsx "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }

lab_edges() { cat "$LAB_STATE/edges" 2>/dev/null || echo 0; }

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
	trap '"$LAB_DIR/topology" down' EXIT
	"$LAB_DIR/topology" up "$@"
	lab_log "topology up in $(awk -v a=$t0 -v b=$EPOCHREALTIME 'BEGIN{printf "%.1f s", b-a}')"
}

topo() { "$LAB_DIR/topology" "$@"; }

# The provider recommends one tunnel per ISP × anycast endpoint: tunnel t
# (0..3) runs over ISP t/2+1 to endpoint t%2.
tun_isp() { echo $(( $1 / 2 + 1 )); }
tun_anycast() { echo "${ANYCAST[$(( $1 % 2 ))]}"; }

# lab_edge_tunnels — the provider side of tunnels 0..3 on every edge, with
# plain `ip` (tunsteer-edge replaces this later): GRE gt<t> from the
# anycast endpoint to the cpe's address on that ISP, and the customer's
# prefix routed back over all four.
lab_edge_tunnels() {
	local k t n
	for k in $(seq 1 "$(lab_edges)"); do
		for t in 0 1 2 3; do
			n=$(tun_isp $t)
			lab_gre "edge$k" "gt$t" "$(tun_anycast $t)" "$(cpe_wan_addr "$n")" \
				"$(tun_edge_addr $t)/31"
		done
	done
	lab_edge_return_via 0 1 2 3
}

# lab_edge_return_via T… — every edge sends the customer's prefix back
# over tunnels T… only, as the provider does once its health checks have
# taken a tunnel out (tunsteer-edge will do that by itself).
lab_edge_return_via() {
	local k t nh=()
	for t in "$@"; do nh+=(nexthop via "$(tun_cpe_addr "$t")" dev "gt$t"); done
	for k in $(seq 1 "$(lab_edges)"); do
		nsx "edge$k" ip route replace "$LAN_NET" "${nh[@]}"
	done
}

# lab_edge_rx T — packets all edges together received on tunnel T.
lab_edge_rx() {
	local k sum=0
	for k in $(seq 1 "$(lab_edges)"); do
		sum=$(( sum + $(lab_link_rx "edge$k" "gt$1") ))
	done
	echo $sum
}
