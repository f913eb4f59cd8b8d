#!/usr/bin/env bash
# reg_423: bob asks for Expires: 10; sipkit serve (--min-expires 60) challenges (401),
# then answers the authenticated REGISTER with 423 Interval Too Brief and Min-Expires: 60;
# the client gives up. usage: reg_423.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init reg_423 "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base" "" -- --min-expires 60
capture_start "portrange $base-$((base + 39))"
sipp_uac "127.0.0.1:$base" "$scen/register_expires.xml" -i 127.0.0.1 -p "$((base + 1))" \
    -s bob -au bob -ap secret2 -auth_uri localhost -set expires 10 -set tag reg423 \
    -set contact_port "$((base + 1))"
capture_finish
