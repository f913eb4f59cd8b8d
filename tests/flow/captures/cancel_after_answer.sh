#!/usr/bin/env bash
# cancel_after_answer: a SIPp caller INVITEs bob (a sipkit phone answering at once, no proxy) and sends CANCEL right after the 200, then ACK and BYE (RFC 3261 §9.1).
# usage: cancel_after_answer.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init cancel_after_answer "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
bob_answers --play tone:1000
sipp_uac "127.0.0.1:$((base + 1))" "$scen/uac_cancel_after_200.xml" -i 127.0.0.1 \
    -p "$((base + 2))" -mp "$((base + 30))"
capture_finish
