#!/usr/bin/env bash
# auth_loop: bob registers with a wrong password and keeps retrying: REGISTER, 401, then
# 4 digest retries each answered with a new 401 (5 challenges in all), then gives up.
# usage: auth_loop.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init auth_loop "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
sipp_uac "127.0.0.1:$base" "$scen/register_wrong_password.xml" -i 127.0.0.1 -p "$((base + 1))" \
    -s bob -au bob -ap wrong-password -auth_uri localhost
capture_finish
