#!/usr/bin/env bash
# A SIPp UAS (scenarios/reinvite_hold_uas.xml) answers a `sipkit phone` and then
# sends it re-INVITEs, no server in between (issue 18):
#   hold (a=sendonly) -> the phone answers a=recvonly and reports remote-hold;
#   resume (a=sendrecv) -> a=sendrecv and remote-resume; an offer of only G.729
#   -> 488 with Warning 305, the session kept (the phone says so); a re-INVITE
#   without SDP -> the phone's offer in the 200, and before SIPp ACKs it with
#   its answer another re-INVITE -> 500 with Retry-After (RFC 3261 §14.2); then
#   SIPp's BYE ends the call. SIPp checks the SIP side (exit 0), this script the
#   phone's events.
# usage: phone_reinvite_sipp.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

command -v sipp >/dev/null || { echo "SKIP: sipp (sip-tester) not installed"; exit 77; }
scen_dir=$srcdir/ua/scenarios

uas_sip=$(free_port udp 1 127.0.0.1)
mport=$(free_port udp 4 127.0.0.1)
mport=$((mport + (mport & 1)))
timeout -k 5 60 sipp -sf "$scen_dir/reinvite_hold_uas.xml" -m 1 -i 127.0.0.1 -p "$uas_sip" \
    -mi 127.0.0.1 -mp "$mport" -timeout 40s -timeout_error -nostdin \
    -trace_err -error_file "$tmp/uas.err" -trace_msg -message_file "$tmp/uas.msg" \
    >"$tmp/uas.out" 2>&1 </dev/null &
uas_pid=$!
cleanup_hooks+=("kill $uas_pid 2>/dev/null")
wait_port udp "$uas_sip" 5
check "SIPp UAS listens on $uas_sip" $? || interop_finish

phone_start alice --user sip:alice@127.0.0.1 --registrar none --listen udp:127.0.0.1:0 \
    --rtp-ports 20000-40000 --play tone:440
phone_cmd alice "call sip:hold@127.0.0.1:$uas_sip"
phone_wait alice answered 10
check "the SIPp UAS answered the phone's call" $?
phone_wait alice remote-hold 10 && phone_wait alice remote-resume 10
check "phone: remote-hold, then remote-resume" $?
phone_wait alice hungup 20
check "phone: SIPp's BYE ended the call" $?
wait_exit "$uas_pid" 15
wait "$uas_pid"
rc=$?
[ "$rc" -eq 0 ]
check "SIPp UAS: every answer as expected (recvonly to sendonly, sendrecv, 488, offer in the 200, 500 + Retry-After; status $rc)" $? ||
    tail -n 20 "$tmp/uas.out" "$tmp/uas.err" 2>/dev/null | sed 's/^/    /'
grep -q '"event": *"info".*488' "$tmp/alice.log"
check "phone: the refused offer is reported (488, session unchanged)" $?
out=$(ev alice get hungup by 2>/dev/null)
[ "$out" = remote ]
check "phone: the call ended by the remote side (by=$out)" $?
phone_quit alice
check "phone exits 0 (status ${phone_rc[alice]})" $?
check_no_sanitizer alice "$tmp/alice.err"
interop_finish
