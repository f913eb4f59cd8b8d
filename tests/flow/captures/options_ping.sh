#!/usr/bin/env bash
# options_ping: one standalone OPTIONS to sipkit serve, answered 200 OK.
# usage: options_ping.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init options_ping "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
sipp_uac "127.0.0.1:$base" "$scen/options.xml" -i 127.0.0.1 -p "$((base + 1))"
capture_finish
