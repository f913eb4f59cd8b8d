#!/usr/bin/env bash
# auth_ok: bob registers with the right password: REGISTER, 401 (one challenge), REGISTER
# with Authorization, 200. The normal digest handshake; must not be flagged.
# usage: auth_ok.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init auth_ok "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
register_contact bob secret2 "$((base + 1))" "$base" "$((base + 1))"
capture_finish
