#!/usr/bin/env bash
# no_answer_timer_c: bob (sipkit phone) rings and never answers in time; the proxy's Timer C
# (RFC 3261 §16.8, --timer-c 4000 here instead of > 3 min) fires: CANCEL to bob, 487
# from bob, and the 487 relayed to alice, who never sent a CANCEL. usage: no_answer_timer_c.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init no_answer_timer_c "$@"
need_root
need tcpdump
alloc_ports 40
serve_start 127.0.0.1 "$base" "" -- --timer-c 4000
capture_start "portrange $base-$((base + 39))"
phone_bob 60
call_alice sip:bob@localhost 20 --timeout 15
capture_finish
