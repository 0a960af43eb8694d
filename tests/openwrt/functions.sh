# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
#
# A test-only stand-in for OpenWrt's /lib/functions.sh: the few functions
# contrib/openwrt's scripts use (config_load, config_get, config_get_bool,
# config_foreach, config_list_foreach, config_cb/option_cb/list_cb),
# over a UCI-format file (`config TYPE 'name'`, `option KEY 'value'`,
# `list KEY 'value'`, # comments) in ${UCI_CONFIG_DIR:-/etc/config}, so
# the same scripts run on a Debian host.  As on OpenWrt, where uci_load
# evaluates `uci export`, the file is read as shell with config, option
# and list defined: use it on files the tests own.  Works under set -u.  Anonymous sections
# get uci's kind of name, cfg and six hex digits.

config_cb() { return 0; }
option_cb() { return 0; }
list_cb() { return 0; }

_shim_name_ok() {
	case $1 in
	''|*[!A-Za-z0-9_]*) echo "functions.sh: bad name '$1'" >&2; exit 1 ;;
	esac
}

package() { return 0; }

config() {
	CONFIG_NUM_SECTIONS=$((${CONFIG_NUM_SECTIONS:-0} + 1))
	_shim_name_ok "$1"
	CONFIG_SECTION=${2:-$(printf 'cfg%02x%04x' "$CONFIG_NUM_SECTIONS" 0)}
	_shim_name_ok "$CONFIG_SECTION"
	CONFIG_SECTIONS="${CONFIG_SECTIONS:-} $CONFIG_SECTION"
	eval "CONFIG_${CONFIG_SECTION}_TYPE=\$1"
	config_cb "$1" "$CONFIG_SECTION"
}

option() {
	_shim_name_ok "$1"
	eval "CONFIG_${CONFIG_SECTION}_$1=\$2"
	option_cb "$1" "$2"
}

list() {
	_shim_name_ok "$1"
	eval "_n=\${CONFIG_${CONFIG_SECTION}_$1_LENGTH:-0}"
	_n=$((_n + 1))
	eval "CONFIG_${CONFIG_SECTION}_$1_ITEM$_n=\$2"
	eval "CONFIG_${CONFIG_SECTION}_$1_LENGTH=\$_n"
	eval "CONFIG_${CONFIG_SECTION}_$1=\"\${CONFIG_${CONFIG_SECTION}_$1:+\$CONFIG_${CONFIG_SECTION}_$1 }\$2\""
	list_cb "$1" "$2"
}

config_load() {
	_f=${UCI_CONFIG_DIR:-/etc/config}/$1
	for _s in ${CONFIG_SECTIONS:-}; do
		unset "CONFIG_${_s}_TYPE"
	done
	CONFIG_SECTIONS=
	CONFIG_NUM_SECTIONS=0
	CONFIG_SECTION=
	[ -r "$_f" ] || return 1
	# shellcheck source=/dev/null
	. "$_f"
	config_cb
}

config_get() {
	case $# in
	2) eval "printf '%s' \"\${CONFIG_$1_$2:-}\"" ;;
	*) eval "$1=\${CONFIG_$2_$3:-\${4:-}}" ;;
	esac
}

config_get_bool() {
	config_get _b "$2" "$3" "${4:-}"
	case $_b in
	1|on|true|yes|enabled) _b=1 ;;
	0|off|false|no|disabled) _b=0 ;;
	*) _b=${4:-} ;;
	esac
	eval "$1=\$_b"
}

# Callbacks may use any name: the loops' own start with __ (OpenWrt's
# use local, which POSIX sh has not).
config_foreach() {
	__cf_fn=$1
	__cf_type=${2:-}
	__cf_t=''
	if [ $# -ge 2 ]; then shift 2; else shift; fi
	for __cf_s in ${CONFIG_SECTIONS:-}; do
		eval "__cf_t=\${CONFIG_${__cf_s}_TYPE:-}"
		[ -z "$__cf_type" ] || [ "$__cf_t" = "$__cf_type" ] || continue
		"$__cf_fn" "$__cf_s" "$@"
	done
}

config_list_foreach() {
	__cl_s=$1 __cl_o=$2 __cl_fn=$3
	__cl_len=0 __cl_item=''
	shift 3
	eval "__cl_len=\${CONFIG_${__cl_s}_${__cl_o}_LENGTH:-0}"
	__cl_i=1
	while [ "$__cl_i" -le "$__cl_len" ]; do
		eval "__cl_item=\$CONFIG_${__cl_s}_${__cl_o}_ITEM$__cl_i"
		"$__cl_fn" "$__cl_item" "$@"
		__cl_i=$((__cl_i + 1))
	done
}
