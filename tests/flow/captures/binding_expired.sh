#!/usr/bin/env bash
# binding_expired: SIPp registers bob at sipkit serve (--min-expires 2) for 3 s and never refreshes; 4 s later alice calls bob and gets 480 (the binding is gone).
# usage: binding_expired.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init binding_expired "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base" "" -- --min-expires 2
capture_start "portrange $base-$((base + 39))"
sipp_run reg "127.0.0.1:$base" "$scen/register_auth.xml" -i 127.0.0.1 -p "$((base + 4))" \
    -s bob -au bob -ap secret2 -auth_uri localhost -set contact_port "$((base + 3))" -set expires 3
[ "$sipp_rc" -eq 0 ] || cap_fail "registering bob: $(tail -n 5 "$tmp/reg.log")"
sleep 4
call_alice sip:bob@localhost 15 --timeout 10
[ "$wait_rc" -ne 0 ] || cap_fail "the call to the expired binding succeeded"
capture_finish
