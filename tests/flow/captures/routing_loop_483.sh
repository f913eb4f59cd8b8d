#!/usr/bin/env bash
# routing_loop_483: a SIPp caller's INVITE reaches sipkit serve with Max-Forwards: 0, as after a loop; the proxy answers 483 Too Many Hops and gets the ACK.
# usage: routing_loop_483.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init routing_loop_483 "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
sipp_uac "127.0.0.1:$base" "$scen/uac_max_forwards_0.xml" -i 127.0.0.1 -p "$((base + 2))"
capture_finish
