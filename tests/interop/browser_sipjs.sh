#!/usr/bin/env bash
# A browser phone through sipkit over WebSocket (issue 17, RFC 7118): the page of
# contrib/webphone (SIP.js 0.21 from npm) in headless Chromium with fake audio
# devices, served over HTTP on loopback, against `sipkit serve --listen ws:`:
#   - it registers as alice with digest authentication (SIP.js answers MD5 only
#     and reads the last challenge: --digest md5); the binding is a WS flow
#   - call 1: the browser calls a SIPp callee (UDP) through sipkit; the callee
#     answers with a WebRTC answer; the browser sees "answered", hangs up after
#     2 s; SIPp gets the ACK and the BYE (1 successful call)
#   - call 2: a SIPp caller (UDP) calls alice; the browser answers; SIPp's ACK and
#     BYE go along the Record-Route to the browser's *.invalid contact, i.e. over
#     its WebSocket through the proxy's flow token; the browser sees "hungup"
#   - the browser unregisters; no JavaScript error; the server exits cleanly
# Signalling only: nobody answers the browser's ICE checks. Needs chromium, node
# and the npm packages of tests/tools/node (else skipped). Loopback only.
# usage: browser_sipjs.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
node_dir=$srcdir/tools/node
for tool in node sipp python3 "${CHROMIUM:-/usr/bin/chromium}"; do
    command -v "$tool" >/dev/null || { echo "$tool missing: skipped"; exit 77; }
done
"$node_dir/install.sh" || { echo "npm packages missing: skipped"; exit 77; }
[ -f "$node_dir/node_modules/sip.js/lib/index.js" ] || { echo "sip.js missing: skipped"; exit 77; }

port=$(free_port both 2)
wport=$((port + 1))
hport=$(free_port tcp)
uas_port=$(free_port udp)
uac_port=$(free_port udp)
listen_protos=(udp)
pw="alice-web-$$"
users_add alice:"$pw" || interop_finish
server_start "$port" --listen "ws:127.0.0.1:$wport" --digest md5 --log-level debug
check "sipkit serve with ws:127.0.0.1:$wport" $? || interop_finish

# the page as the README says to serve it: index.html with SIP.js's lib/ as ./sip.js
mkdir -p "$tmp/web"
cp "$srcdir/../contrib/webphone/index.html" "$tmp/web/"
ln -s "$(cd "$node_dir/node_modules/sip.js/lib" && pwd)" "$tmp/web/sip.js"
python3 -m http.server "$hport" --bind 127.0.0.1 --directory "$tmp/web" >"$tmp/http.log" 2>&1 &
http_pid=$!
cleanup_hooks+=("kill $http_pid 2>/dev/null")
wait_port tcp "$hport" 10
check "the web phone page is served on 127.0.0.1:$hport" $? || interop_finish
page="http://127.0.0.1:$hport/index.html?ws=ws://127.0.0.1:$wport&user=sip:alice@localhost&password=$pw"

# ---- call 1: the browser calls a SIPp callee ----
sipp_uas callee "$scen/webrtc_uas.xml" 127.0.0.1 "$uas_port" 1
py_checks timeout -k 5 90 node "$node_dir/webphone.mjs" "$page" "sip:webrtc@127.0.0.1:$uas_port" 2 30
uas_done callee 1
grep -q "INVITE sip:webrtc@127.0.0.1:$uas_port from 127.0.0.1" "$tmp/server.log"
check "call 1: the browser's INVITE came to sipkit over its WebSocket" $?

# ---- call 2: a SIPp caller calls the browser ----
timeout -k 5 90 node "$node_dir/webphone.mjs" "$page&answer=1" - 0 40 >"$tmp/callee.out" 2>&1 &
node_pid=$!
cleanup_hooks+=("kill $node_pid 2>/dev/null")
ws_bound() { "$sipkit" ctl registrations --data "$tmp/data" 2>/dev/null | grep -q 'via WS:'; }
wait_until 30 ws_bound
check "call 2: alice's browser is registered, a WS flow" $? ||
    "$sipkit" ctl registrations --data "$tmp/data" 2>&1 | sed 's/^/    /'
run_sipp caller "$scen/webrtc_uac.xml" 1 u1 "$uac_port" -s alice
check_sipp_run caller $? 1
wait "$node_pid"
py_checks cat "$tmp/callee.out"
grep -E "BYE sip:[^ ]*\.invalid" "$tmp/server.log" | head -1 | grep -q .
check "call 2: SIPp's BYE to the browser's *.invalid contact went through sipkit" $?
server_stop_checked
interop_finish
