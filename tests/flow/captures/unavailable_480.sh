#!/usr/bin/env bash
# unavailable_480: alice calls sip:carol@localhost, a user who exists but has no registration: 407,
# the authenticated INVITE, 480 Temporarily Unavailable from the proxy, ACK. usage: unavailable_480.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init unavailable_480 "$@"
need_root
need tcpdump
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
call_alice sip:carol@localhost 20 --timeout 10
capture_finish
