#!/usr/bin/env bash
# cancel_after_answer: a SIPp caller INVITEs bob (a sipkit phone answering at once, no proxy) and sends CANCEL right after the 200, then ACK and BYE (RFC 3261 §9.1).
# usage: cancel_after_answer.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init cancel_after_answer "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
bg bob "$sipkit" phone --user sip:bob@localhost --registrar none \
    --listen "udp:127.0.0.1:$((base + 1))" --auto-answer 0 --no-stdin --play tone:1000 \
    --rtp-ports "$((base + 10))-$((base + 19))" --log-level info
sleep 0.5
sipp_run uac "127.0.0.1:$((base + 1))" "$scen/uac_cancel_after_200.xml" -i 127.0.0.1 \
    -p "$((base + 2))" -mp "$((base + 30))"
[ "$sipp_rc" -eq 0 ] || cap_fail "SIPp exited $sipp_rc: $(tail -n 3 "$tmp/uac.err" 2>/dev/null)"
capture_finish
