#!/usr/bin/env bash
# auth_refused_403: carol (a sipkit phone) registers at a SIPp registrar that challenges the first REGISTER and refuses the answer with 403 Forbidden.
# usage: auth_refused_403.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init auth_refused_403 "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
sipp_bg registrar "$scen/uas_registrar_403.xml" -i 127.0.0.1 -p "$((base + 3))"
registrar_pid=$last_pid
bg carol "$sipkit" phone --user sip:carol@localhost --password wrong \
    --registrar "127.0.0.1:$((base + 3))" --listen "udp:127.0.0.1:$((base + 2))" --no-stdin \
    --rtp-ports "$((base + 20))-$((base + 29))" --log-level info
wait_pid "$registrar_pid" 15
[ "$wait_rc" -eq 0 ] || cap_fail "the SIPp registrar exited $wait_rc: $(tail -n 3 "$tmp/registrar.err" 2>/dev/null)"
sleep 0.5
capture_finish
