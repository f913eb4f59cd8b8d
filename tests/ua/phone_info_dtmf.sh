#!/usr/bin/env bash
# DTMF by SIP INFO (issue 18): two `sipkit phone`s through `sipkit serve`.
#   - alice (--dtmf-mode info) calls bob, who auto-answers; alice's `dtmf 123#`
#     goes out as four INFOs (application/dtmf-relay); bob prints four
#     dtmf-received events, 1 2 3 # in order, each 160 ms
#   - they came by SIP, not RTP: bob's hungup report counts no RFC 4733 digit
#     received and alice's none sent
#   - bob (--dtmf-mode info too) answers with `dtmf *9`: alice gets * and 9
#   - a raw peer (tests/ua/info_peer.py) calls a phone and sends INFO:
#     application/dtmf "7" and dtmf-relay Signal=11 arrive as 7 and #; text/plain
#     gets 415 with Accept, a bad Signal 400, an INFO without a body 200
#   - clean exits, no sanitizer report
# Ports are picked at run time; everything on loopback.
# usage: phone_info_dtmf.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v python3 >/dev/null || { check "python3 installed" 1; interop_finish; }

pw_alice="alice-pw-$$"
pw_bob="bob-pw-$$"
users_add alice:"$pw_alice" bob:"$pw_bob" || interop_finish
port=$(free_port)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port" $? || interop_finish

common=(--listen udp:127.0.0.1:0 --registrar "sip:127.0.0.1:$port"
        --outbound-proxy "sip:127.0.0.1:$port" --rtp-ports 20000-40000 --dtmf-mode info)
phone_start bob "${common[@]}" --user sip:bob@localhost --password "$pw_bob" --auto-answer 0
phone_start alice "${common[@]}" --user sip:alice@localhost --password "$pw_alice"
phone_wait bob registered && phone_wait alice registered
check "both phones registered" $? || {
    tail -n 5 "$tmp/alice.err" "$tmp/bob.err" | sed 's/^/    /'; interop_finish; }

phone_cmd alice "call bob"
phone_wait alice answered && phone_wait bob answered
check "the call is answered" $? || interop_finish
phone_cmd alice "dtmf 123#"
phone_wait bob dtmf-received 10 4
check "bob received 4 DTMF events" $?
out=$(ev bob digits)
[ "$out" = "123#" ]
check "bob's digits are 123# in order (got '$out')" $?
out=$(ev bob get dtmf-received duration_ms)
[ "$out" = 160 ]
check "each lasts the 160 ms the INFO said (got $out)" $?
phone_cmd bob "dtmf *9"
phone_wait alice dtmf-received 10 2
out=$(ev alice digits)
[ "$out" = "*9" ]
check "alice received bob's *9 (got '$out')" $?
phone_cmd alice hangup
phone_wait alice hungup && phone_wait bob hungup
check "both sides see the call end" $?
out="$(ev bob get hungup quality.codec)[$(ev bob get hungup quality.dtmf_received)]"
out="$out/$(ev alice get hungup quality.codec)[$(ev alice get hungup quality.dtmf_sent)]"
[ "$out" = "PCMU/8000[]/PCMU/8000[]" ]
check "no RFC 4733 digit went over RTP (bob received, alice sent: $out)" $?

phone_quit alice
check "alice exits 0 (status ${phone_rc[alice]})" $?
phone_quit bob
check "bob exits 0 (status ${phone_rc[bob]})" $?
ev bob order registered incoming answered dtmf-received dtmf-received dtmf-received \
    dtmf-received hungup unregistered
check "bob's events in order" $?
check_no_sanitizer alice "$tmp/alice.err"
check_no_sanitizer bob "$tmp/bob.err"

# a raw peer's INFOs, straight to a phone that registers nowhere
p2=$(free_port)
phone_start carol --user sip:carol@localhost --registrar none --listen "udp:127.0.0.1:$p2" \
    --auto-answer 0 --rtp-ports 20000-40000
wait_ready 127.0.0.1 "$p2"
check "carol's phone answers OPTIONS on port $p2" $?
py_checks python3 "$srcdir/ua/info_peer.py" 127.0.0.1 "$p2" "$tmp/carol.log"
phone_quit carol
check "carol exits 0 (status ${phone_rc[carol]})" $?
check_no_sanitizer carol "$tmp/carol.err"
server_stop_checked
interop_finish
