#!/usr/bin/env bash
# message: a SIP MESSAGE (RFC 3428) from a SIPp UAC straight to a SIPp UAS, answered 200.
# usage: message.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init message "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
sipp_bg uas "$scen/uas_message.xml" -i 127.0.0.1 -p "$((base + 1))"
uas_pid=$last_pid
sipp_uac "127.0.0.1:$((base + 1))" "$scen/uac_message.xml" -i 127.0.0.1 -p "$((base + 2))"
wait_pid "$uas_pid" 10
[ "$wait_rc" -eq 0 ] || cap_fail "the SIPp UAS exited $wait_rc"
capture_finish
