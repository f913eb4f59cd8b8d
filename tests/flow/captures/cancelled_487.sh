#!/usr/bin/env bash
# cancelled_487: bob (sipkit phone) rings and would answer after 30 s; alice gives up
# after 3 s (sipkit call --timeout 3): CANCEL, 200 (CANCEL), 487 Request Terminated,
# ACK, on both legs. usage: cancelled_487.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init cancelled_487 "$@"
need_root
need tcpdump
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
phone_bob 30
call_alice sip:bob@localhost 20 --timeout 3
capture_finish
