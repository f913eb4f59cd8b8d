#!/usr/bin/env bash
# SIP over WebSocket (issue 17; RFC 6455, RFC 7118) against `sipkit serve --listen
# ws:...`, driven by a raw-socket client (interop/lib/ws_client.py):
#   - the Upgrade: 101 with the sip subprotocol and the right Sec-WebSocket-Accept;
#     refused without the sip subprotocol, and (403) from an Origin not in --ws-origin
#   - OPTIONS without Content-Length (the frame is the message) gets its 200
#   - REGISTER over WS with a *.invalid contact; an INVITE from a UDP caller reaches
#     that client over its WebSocket flow, Record-Routed with transport=ws; its 486
#     goes back to the caller and the proxy ACKs it over the flow
#   - ping/pong, the close handshake (1000), and the close codes RFC 6455 §7.4.1
#     prescribes for an unmasked client frame (1002), a reserved opcode (1002), a
#     fragmented control frame (1002), a frame over the size limit (1009) and
#     invalid UTF-8 in a text frame (1007); garbage instead of an Upgrade
#   - afterwards the server still serves a fresh WebSocket and UDP
# Everything twice: over ws: and over wss: (the WebSocket filter over the TLS one).
# Loopback only; ports picked at run time.
# usage: ws.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }

port=$(free_port both 3)
wport=$((port + 1))
wsport=$((port + 2))
listen_protos=(udp)
origin=https://phone.example.test
server_start "$port" --listen "ws:127.0.0.1:$wport" --listen "wss:127.0.0.1:$wsport" \
    --ws-origin "$origin" --auth off --log-level debug
check "sipkit serve with a ws: listener starts" $? || interop_finish
grep -q "listening on WS 127.0.0.1:$wport" "$tmp/server.log"
check "it listens on WS 127.0.0.1:$wport" $?
py_checks timeout 60 python3 "$here/lib/ws_client.py" 127.0.0.1 "$wport" "$origin" "$port"
# the same over WSS (WebSocket over TLS, the zero-config certificate trusted)
echo "---- over WSS ----"
py_checks timeout 60 python3 "$here/lib/ws_client.py" 127.0.0.1 "$wsport" "$origin" "$port" \
    "$tmp/data/tls-selfsigned.crt"
server_alive && wait_ready 127.0.0.1 "$port"
check "the server still answers over UDP" $?
server_stop_checked
interop_finish
