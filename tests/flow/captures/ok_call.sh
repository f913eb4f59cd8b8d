#!/usr/bin/env bash
# ok_call: a clean call alice -> bob through sipkit serve over UDP (CAP_TRANSPORT=tcp:
# over TCP, see ok_call_tcp.sh): 407 and retry, 180, 200, ACK, RTP both ways, RFC 4733
# DTMF from the caller, BYE from the caller. usage: ok_call.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init "${CAP_NAME:-ok_call}" "$@"
tr=${CAP_TRANSPORT:-udp}
need_root
need tcpdump
alloc_ports 40
serve_start 127.0.0.1 "$base"
# CAP_SIP_ONLY=1 (no_rtp.sh): only the SIP ports P..P+9, none of the media
if [ "${CAP_SIP_ONLY:-0}" = 1 ]; then
    capture_start "portrange $base-$((base + 9))"
else
    capture_start "portrange $base-$((base + 39))"
fi
proxy="sip:127.0.0.1:$base"
[ "$tr" = tcp ] && proxy="sip:127.0.0.1:$base;transport=tcp"
bg bob "$sipkit" phone --user sip:bob@localhost --password secret2 --registrar "127.0.0.1:$base" \
    --outbound-proxy "$proxy" --listen "$tr:127.0.0.1:$((base + 1))" --auto-answer 1 --no-stdin \
    --play tone:1000 --rtp-ports "$((base + 10))-$((base + 19))" --log-level info
wait_registered bob
bg alice "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret \
    --outbound-proxy "$proxy" --listen "$tr:127.0.0.1:$((base + 2))" --duration 4 --dtmf 123# \
    --play tone:440 --rtp-ports "$((base + 20))-$((base + 29))" --timeout 10
wait_pid "$last_pid" 25 || cap_fail "the call did not end"
[ "$wait_rc" -eq 0 ] || cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
capture_finish
