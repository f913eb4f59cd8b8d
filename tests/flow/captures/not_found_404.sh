#!/usr/bin/env bash
# not_found_404: alice calls sip:nobody@localhost, a user the proxy does not know: 407,
# the authenticated INVITE, 404 Not Found from the proxy, ACK. usage: not_found_404.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init not_found_404 "$@"
need_root
need tcpdump
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
call_alice sip:nobody@localhost 20 --timeout 10
capture_finish
