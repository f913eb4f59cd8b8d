#!/usr/bin/env bash
# no_trying_proxy: a SIPp caller INVITEs bob through Kamailio configured as a stateless
# proxy (forward(), no transaction), so nobody answers 100 Trying; the SIPp callee says
# nothing for 1.8 s, the caller retransmits its INVITE twice, then 180, 200, ACK, BYE.
# usage: no_trying_proxy.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init no_trying_proxy "$@"
need_root
need tcpdump sipp kamailio
alloc_ports 40
sed "s/UAS_PORT/$((base + 3))/" "$scen/kamailio_stateless.cfg" >"$tmp/kamailio.cfg"
bg kamailio kamailio -DD -E -m 64 -f "$tmp/kamailio.cfg" -l "udp:127.0.0.1:$base" -w "$tmp"
kam_pid=$last_pid
for i in $(seq 1 50); do
    ss -Huln "sport = :$base" 2>/dev/null | grep -q . && break
    kill -0 "$kam_pid" 2>/dev/null || cap_fail "kamailio did not start: $(tail -n 5 "$tmp/kamailio.log")"
    sleep 0.1
done
capture_start "portrange $base-$((base + 39))"
sipp_bg uas "$scen/uas_late_answer.xml" -i 127.0.0.1 -p "$((base + 3))"
uas_pid=$last_pid
sipp_uac "127.0.0.1:$base" "$scen/uac_call_bye.xml" -i 127.0.0.1 -p "$((base + 2))"
wait_pid "$uas_pid" 10
[ "$wait_rc" -eq 0 ] || cap_fail "the SIPp callee exited $wait_rc: $(tail -n 5 "$tmp/uas.err" 2>/dev/null)"
capture_finish
