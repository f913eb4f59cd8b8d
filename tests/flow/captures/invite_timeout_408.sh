#!/usr/bin/env bash
# invite_timeout_408: bob's registered Contact is a dead port (nothing listens; the kernel
# answers ICMP port unreachable). The proxy (sipkit serve --t1 100) retransmits the INVITE
# to it until Timer B (64*T1 = 6.4 s, RFC 3261 §17.1.1.2) and answers alice 408.
# usage: invite_timeout_408.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init invite_timeout_408 "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base" "" -- --t1 100
dead=$((base + 7))
# the ICMP errors quoting a datagram to one of our ports (inner UDP destination port)
capture_start "portrange $base-$((base + 39)) or (icmp and icmp[30:2] >= $base and icmp[30:2] <= $((base + 39)))"
register_contact bob secret2 "$dead" "$base" "$((base + 4))"
call_alice sip:bob@localhost 25 --timeout 20
capture_finish
