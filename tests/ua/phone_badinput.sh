#!/usr/bin/env bash
# Bad input for `sipkit phone` (issue 15), sent by a raw UDP socket
# (tests/ua/badinput.py, Python without third-party modules):
#   - an INVITE with malformed SDP: 400 "Bad SDP..." naming the line
#   - an INVITE offering only video: 488; a BYE for an unknown dialog: 481
#   - garbage datagrams to the SIP port: no crash, OPTIONS still get 200
#   - during a call, to its RTP port: version 1, a CSRC count larger than the
#     packet, a truncated header, 1400 random bytes; to its RTCP port: garbage.
#     The call goes on: RTP keeps coming from the phone, ours is still
#     received (recorded: 440 Hz) and the hungup report counts bad_packets.
#   - two offers at the edge of what it carries (a=ptime:100, answered with
#     ptime 20 as RFC 3264 §6.1 allows; PCMU on payload type 96): it answers
#     and sends RTP
#   - the phone then exits 0 on EOF, with no sanitizer report; a phone whose
#     stdin is /dev/null keeps running and quits on SIGTERM.
# The phone listens on a port picked at run time; everything on loopback.
# usage: phone_badinput.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
wavcheck=${3:-$(dirname "$sipkit")/tests/wavcheck}
. "$srcdir/interop/lib/common.bash"
interop_init
for tool in python3 "$wavcheck"; do
    command -v "$tool" >/dev/null || { check "$tool installed" 1; interop_finish; }
done

port=$(free_port)
phone_start bob --user sip:bob@localhost --registrar none --listen "udp:127.0.0.1:$port" \
    --auto-answer 0 --play tone:1000 --record "$tmp/bob.wav" --rtp-ports 20000-40000
wait_ready 127.0.0.1 "$port"
check "the phone answers OPTIONS on port $port" $? || {
    cat "$tmp/bob.err" | sed 's/^/    /'
    interop_finish; }

py_checks python3 "$srcdir/ua/badinput.py" 127.0.0.1 "$port" "$tmp/bob.log"

kill -0 "${phone_pid[bob]}" 2>/dev/null
check "the phone is still running" $?
f=$("$wavcheck" freq "$tmp/bob.wav" 2>&1 | sed -n 's/.*freq_hz=\([0-9.]*\).*/\1/p')
awk -v f="${f:-x}" 'BEGIN { exit !(f ~ /^[0-9.]+$/ && f >= 430 && f <= 450) }'
check "the phone recorded our 440 Hz tone through the garbage (got ${f:-?} Hz)" $?
ev bob order incoming answered hungup incoming answered hungup incoming answered hungup
check "the phone's events: three calls, each incoming answered hungup" $?
phone_quit bob
check "the phone exits 0 on EOF (status ${phone_rc[bob]})" $?
check_no_sanitizer "the phone" "$tmp/bob.err"

# a phone whose stdin is /dev/null ignores it (no EOF quit) and quits on SIGTERM
port2=$(free_port)
"$sipkit" phone --json --user sip:carol@localhost --registrar none \
    --listen "udp:127.0.0.1:$port2" </dev/null >"$tmp/carol.log" 2>"$tmp/carol.err" &
carol=$!
cleanup_hooks+=("kill $carol 2>/dev/null; wait $carol 2>/dev/null")
wait_ready 127.0.0.1 "$port2" && kill -0 $carol 2>/dev/null
check "stdin /dev/null: the phone keeps running and answers OPTIONS" $?
kill -TERM $carol
rc=0
wait_exit "$carol" 10 || rc=124
[ $rc -eq 0 ] && { wait $carol; rc=$?; }
[ $rc -eq 0 ]
check "stdin /dev/null: SIGTERM quits it with status 0 (got $rc)" $?
check_no_sanitizer "the /dev/null phone" "$tmp/carol.err"
interop_finish
