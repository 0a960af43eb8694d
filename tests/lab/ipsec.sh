# SPDX-License-Identifier: GPL-2.0-or-later
#
# The provider's IPsec side for scenarios that run tunsteerd's ipsec
# tunnels against a responder we did not write, on edge1: a charon
# configured by swanctl as the provider's docs describe it (IKEv2, PSK,
# responder only, its ID the anycast address, route-based: XFRM interface
# ipsec0 with if_id 42, replay window 0).  Sourced after lib.sh.
#
#   RESP_CHARON=debian  Debian's own charon-systemd and swanctl (the
#                       packages vmrun installs); 5.9.8 on Debian 12
#   RESP_CHARON=stock   the stock charon and swanctl that
#                       contrib/strongswan/build makes from the same
#                       strongSwan source as ours (6.x: ML-KEM), not our
#                       code
#
# resp_setup LOCAL_ID PSK IKE_PROPOSALS ESP_PROPOSALS — write the configs
# and make ipsec0 (tunnel 0's provider address) on edge1;
# resp_start / resp_stop (kill -9) / resp_sas (swanctl --list-sas).

# Not under /run: the stock charon gets a /run of its own (resp_start).
RESP=${TMPDIR:-/tmp}/tunsteer-lab-responder
RESP_CHARON=${RESP_CHARON:-debian}
RESP_PID=

resp_setup() {
	local id=$1 psk=$2 ike=$3 esp=$4 section=charon-systemd
	rm -rf "$RESP"
	mkdir -p "$RESP/swanctl"
	case $RESP_CHARON in
	debian)
		for b in charon-systemd swanctl; do
			command -v "$b" >/dev/null ||
				lab_fail "no $b in the VM (tests/lab/vmrun installs charon-systemd and strongswan-swanctl)"
		done
		RESP_BIN=charon-systemd
		RESP_SWANCTL=swanctl
		;;
	stock)
		local ss
		ss=$(sed -n 's/^STRONGSWAN_DIR = //p' "$LAB_BUILD/Makefile" 2>/dev/null)
		[ -n "$ss" ] && [ -r "$ss/tunsteer-strongswan.sh" ] ||
			lab_fail "no strongSwan prefix in $LAB_BUILD/Makefile (STRONGSWAN_DIR)"
		# shellcheck disable=SC1091
		. "$ss/tunsteer-strongswan.sh"
		[ -x "${STRONGSWAN_STOCK_CHARON:-}" ] ||
			lab_fail "strongSwan $STRONGSWAN_VERSION in $ss has no stock charon (contrib/strongswan/build)"
		RESP_BIN=$STRONGSWAN_STOCK_CHARON
		RESP_SWANCTL=$STRONGSWAN_STOCK_SWANCTL
		section=charon
		;;
	*) lab_fail "RESP_CHARON must be debian or stock, not $RESP_CHARON" ;;
	esac
	# The stock build has its plugins compiled in; Debian's loads these.
	local load=
	[ "$section" = charon ] ||
		load="load = random nonce aes sha1 sha2 hmac kdf gmp openssl gcm pem pkcs1 pubkey x509 kernel-netlink socket-default vici"
	cat >"$RESP/strongswan.conf" <<-EOF
	$section {
		$load
		install_routes = no
		install_virtual_ip = no
		routing_table = 0
		journal {
			default = -1
		}
		filelog {
			responder {
				path = $RESP/responder.log
				default = 1
				time_format = %T
				flush_line = yes
			}
		}
		plugins {
			vici {
				socket = unix://$RESP/charon.vici
			}
		}
	}
	swanctl {
		socket = unix://$RESP/charon.vici
	}
	EOF
	cat >"$RESP/swanctl/swanctl.conf" <<-EOF
	connections {
		cf1 {
			version = 2
			local_addrs = ${ANYCAST[0]}
			proposals = $ike
			fragmentation = yes
			local {
				auth = psk
				id = ${ANYCAST[0]}
			}
			remote {
				auth = psk
				id = $id
			}
			children {
				cf1 {
					local_ts = 0.0.0.0/0
					remote_ts = 0.0.0.0/0
					esp_proposals = $esp
					mode = tunnel
					replay_window = 0
					if_id_in = 42
					if_id_out = 42
				}
			}
		}
	}
	secrets {
		ike-cf1 {
			id-1 = ${ANYCAST[0]}
			id-2 = $id
			secret = "$psk"
		}
	}
	EOF
	# The first SA the kernel installs loads ESP and AES-GCM; in the
	# emulated VM that took the responder ~10 s, during which our side
	# gave up on its attempt and made another, and the responder ended
	# up holding both.  Loaded ahead, with an SA of no one's.
	local ns
	for ns in edge1 cpe; do
		nsx "$ns" ip xfrm state add src 192.0.2.250 dst 192.0.2.251 proto esp \
			spi 0x100 mode tunnel aead 'rfc4106(gcm(aes))' \
			0x"$(printf '%072d' 0)" 128 2>/dev/null || true
		nsx "$ns" ip xfrm state flush
	done
	nsx edge1 ip link add ipsec0 type xfrm dev isp1 if_id 42
	nsx edge1 ip addr add "$(tun_edge_addr 0)/31" dev ipsec0
	nsx edge1 ip link set ipsec0 up
}

resp_start() {
	rm -f "$RESP/charon.vici"
	if [ "$RESP_CHARON" = stock ]; then
		# It writes its pid file under its compiled-in /var/run: a
		# /run of its own (a mount namespace), never the VM's.
		STRONGSWAN_CONF=$RESP/strongswan.conf ip netns exec edge1 \
			unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec "$0"' \
			"$RESP_BIN" >>"$RESP/responder.out" 2>&1 &
	else
		STRONGSWAN_CONF=$RESP/strongswan.conf ip netns exec edge1 \
			"$RESP_BIN" >>"$RESP/responder.out" 2>&1 &
	fi
	RESP_PID=$!
	lab_wait 20 "the responder's VICI socket" test -S "$RESP/charon.vici"
	STRONGSWAN_CONF=$RESP/strongswan.conf SWANCTL_DIR=$RESP/swanctl \
		ip netns exec edge1 "$RESP_SWANCTL" --load-all --uri "unix://$RESP/charon.vici" \
		>>"$RESP/responder.out" 2>&1 ||
		lab_fail "swanctl --load-all: $(tail -5 "$RESP/responder.out")"
}

# resp_stop — kill -9; with --flush also its kernel SAs and policies, as
# after a reboot.
resp_stop() {
	[ -n "$RESP_PID" ] || return 0
	kill -9 "$RESP_PID" 2>/dev/null || true
	wait "$RESP_PID" 2>/dev/null || true
	RESP_PID=
	if [ "${1:-}" = --flush ]; then
		nsx edge1 ip xfrm state flush
		nsx edge1 ip xfrm policy flush
	fi
}

resp_sas() {
	STRONGSWAN_CONF=$RESP/strongswan.conf ip netns exec edge1 "$RESP_SWANCTL" \
		--list-sas --uri "unix://$RESP/charon.vici" 2>&1
}

# resp_on_exit RC — the responder's log on failure, then stop it.
resp_on_exit() {
	if [ "$1" -ne 0 ] && [ -r "$RESP/responder.log" ]; then
		echo "--- responder log (last 40 lines)" >&2
		tail -n 40 "$RESP/responder.log" >&2
	fi
	resp_stop
}

# --- tunsteer-edge's own responder (issue 12) --------------------------------
#
# edge_itun K T — edge K's view of its tunnel T (`tunnels --json`).
# edge_negotiator T — the edge whose own responder holds T's CHILD SA,
#   printed as K; fails unless exactly one does.
# edge_held K T FROM SPI — what edge K holds of T's SA with inbound SPI SPI
#   (0x%08x, as the edges write it) that edge FROM negotiated (a JSON
#   object of its ipsec_here.propagated; nothing if none).
edge_itun() { edge_json "$1" tunnels | jq -c --arg t "$2" '.tunnels[] | select(.name == $t)'; }
edge_negotiator() {
	local k n=""
	for k in $(lab_seq 1 "$(lab_edges)"); do
		[ -e "$LAB_STATE/edge$k.pid" ] || continue
		[ "$(edge_itun "$k" "$1" | jq -r .ipsec.child_state)" != INSTALLED ] || n+="$k "
	done
	[ "$(wc -w <<<"$n")" = 1 ] && echo "${n% }"
}
edge_held() {
	edge_itun "$1" "$2" | jq -c --arg n "edge$3" --arg s "$4" \
		'.ipsec_here.propagated[]? | select(.negotiated_by == $n and .spi_in == $s)'
}
