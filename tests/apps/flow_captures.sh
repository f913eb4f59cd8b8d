#!/usr/bin/env bash
# The diagnosis captures (tests/flow/captures, INDEX.md): generates them all with
# make_all.sh into a temporary directory, then checks that each shows what its entry
# says, with tshark (the SIP message sequence, headers, RTP streams per `-z rtp,streams`),
# and that `sipkit flow FILE --messages` reads each without a warning and counts as many
# SIP messages as tshark. Exits 77 (skipped) without root, tcpdump, SIPp or tshark.
# FLOW_CAPTURES_DIR=DIR checks the captures already in DIR instead of making them.
# usage: flow_captures.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
caps=$here/../flow/captures
pass=0
fail=0
check() { # name, status
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok: $1"; else fail=$((fail + 1)); echo "FAIL: $1"; fi
    return "$2"
}
if [ "$(id -u)" -ne 0 ] || ! command -v tshark >/dev/null || ! command -v tcpdump >/dev/null ||
    ! command -v sipp >/dev/null; then
    echo "skipped: needs root, tcpdump, sipp and tshark"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipkit-flowcaps.XXXXXX")
trap 'if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi' EXIT

if [ -n "${FLOW_CAPTURES_DIR:-}" ]; then
    cp "$FLOW_CAPTURES_DIR"/*.pcap "$tmp/" # checks only, on captures made before
    cp "$FLOW_CAPTURES_DIR"/*.result "$tmp/" 2>/dev/null # why one is missing
else
    timeout -k 10 290 bash "$caps/make_all.sh" "$tmp" "$sipkit" | tee "$tmp/make_all.out"
    grep -q ' 0 failed' "$tmp/make_all.out"; check "make_all.sh: no capture failed" $?
fi

ts() { timeout 60 tshark -r "$@" 2>/dev/null; }
# sipts: ts for SIP, heuristics first: the ports are random, and one may be another
# protocol's registered port (24577 is MINT's), where tshark would not look for SIP
sipts() { timeout 60 tshark -o udp.try_heuristic_first:TRUE -r "$@" 2>/dev/null; }

# sig F: the SIP messages in order, one token each: a request's method (INVITE), a
# response's code/method (486/INVITE)
sig() {
    sipts "$1" -Y 'sip && !icmp' -T fields -e sip.Method -e sip.Status-Code -e sip.CSeq.method |
        awk -F'\t' '{ if ($1 != "") print $1; else print $2 "/" $3 }'
}
# in_order F TOKEN...: the tokens appear in this order (others may come between)
in_order() {
    local f=$1
    shift
    sig "$f" | awk -v want="$*" 'BEGIN { n = split(want, w, " "); i = 1 }
        i <= n && $0 == w[i] { i++ } END { exit !(i > n) }'
}
n_tok() { sig "$1" | grep -c -x -F "$2"; }
n_frames() { ts "$1" -Y "$2" | wc -l; }
# streams F: "SRC DST PKTS LOST PAYLOAD START" per RTP stream, from tshark -z rtp,streams
streams() {
    ts "$1" -q -z rtp,streams | awk '$1 ~ /^[0-9]+\.[0-9]+$/ && $3 ~ /\./ {
        pay = ""
        for (i = 8; i + 2 <= NF; i++) {
            if ($(i + 2) ~ /^\(/) { pk = $i; lo = $(i + 1); break }
            pay = pay $i
        }
        print $3 ":" $4, $5 ":" $6, pk, lo, pay, $1 }'
}
first_time() { ts "$1" -Y "$2" -T fields -e frame.time_relative | head -n 1; }

# tshark_count F: SIP messages tshark sees (a frame with several lists each CSeq), not
# counting the SIP quoted in ICMP errors, which sipkit flow rightly ignores
tshark_count() {
    sipts "$1" -Y 'sip && !icmp' -T fields -e sip.CSeq -E occurrence=a -E aggregator='|' |
        awk -F'|' 'NF { n += NF } END { print n + 0 }'
}

for f in "$tmp"/*.pcap; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pcap)
    timeout 60 "$sipkit" flow "$f" --messages >"$tmp/$name.flow" 2>"$tmp/$name.flowerr"
    rc=$?
    got=$(tail -n 1 "$tmp/$name.flow" | sed -E -n 's/^([0-9]+) SIP messages.*/\1/p')
    want=$(tshark_count "$f")
    [ $rc -eq 0 ] && [ ! -s "$tmp/$name.flowerr" ] && tail -n 1 "$tmp/$name.flow" | grep -q ' 0 warnings$'
    check "$name: sipkit flow reads it without warnings (status $rc)" $? || head -n 3 "$tmp/$name.flowerr"
    [ -n "$got" ] && [ "$got" = "$want" ]
    check "$name: sipkit flow counts as many SIP messages as tshark (${got:-?}, tshark $want)" $?

    case $name in
    ok_call | ok_call_tcp)
        in_order "$f" INVITE 407/INVITE ACK INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE
        check "$name: 407, INVITE again, 180, 200, ACK, BYE, 200" $?
        streams "$f" >"$tmp/s"
        [ "$(wc -l <"$tmp/s")" -eq 2 ] && awk '$3 < 100 || $4 != 0 { exit 1 }' "$tmp/s"
        check "$name: two RTP streams of 100+ packets without loss" $? || cat "$tmp/s"
        [ "$(n_frames "$f" rtpevent)" -gt 0 ]; check "$name: RFC 4733 DTMF events" $?
        if [ "$name" = ok_call_tcp ]; then
            [ "$(n_frames "$f" 'sip and udp')" -eq 0 ] && [ "$(n_frames "$f" 'sip and tcp')" -gt 0 ]
            check "$name: all SIP over TCP" $?
        fi ;;
    busy_486) in_order "$f" INVITE 180/INVITE 486/INVITE ACK; check "$name: 180, 486, ACK" $? ;;
    not_found_404) in_order "$f" INVITE 407/INVITE ACK INVITE 404/INVITE ACK; check "$name: 404 and ACK" $? ;;
    unavailable_480) in_order "$f" INVITE 480/INVITE ACK; check "$name: 480 and ACK" $? ;;
    declined_603) in_order "$f" INVITE 180/INVITE 603/INVITE ACK; check "$name: 180, 603, ACK" $? ;;
    cancelled_487)
        in_order "$f" INVITE 180/INVITE CANCEL 200/CANCEL 487/INVITE ACK
        check "$name: CANCEL, 200, 487, ACK" $?
        [ "$(n_tok "$f" CANCEL)" -eq 2 ]; check "$name: the caller's CANCEL relayed (2 CANCELs)" $? ;;
    no_answer_408)
        in_order "$f" INVITE 180/INVITE 408/INVITE ACK && [ "$(n_tok "$f" CANCEL)" -eq 0 ]
        check "$name: 180, 408, ACK, no CANCEL" $? ;;
    no_answer_timer_c)
        in_order "$f" INVITE 180/INVITE CANCEL 200/CANCEL 487/INVITE ACK 487/INVITE ACK &&
            [ "$(n_tok "$f" CANCEL)" -eq 1 ]
        check "$name: one CANCEL (the proxy's), 487 on both legs" $? ;;
    codec_488)
        in_order "$f" INVITE 488/INVITE ACK && [ "$(n_frames "$f" 'sip.Status-Code == 488 && sip.Warning contains "305"')" -ge 1 ]
        check "$name: 488 with Warning 305, ACK" $? ;;
    server_503)
        in_order "$f" INVITE 503/INVITE ACK && [ "$(n_frames "$f" 'sip.Status-Code == 503 && sip.Retry-After')" -eq 1 ]
        check "$name: 503 with Retry-After, ACK" $? ;;
    auth_loop)
        n=$(n_tok "$f" 401/REGISTER)
        [ "$n" -ge 3 ] && [ "$(n_tok "$f" 200/REGISTER)" -eq 0 ]
        check "$name: 3 or more 401 challenges ($n), no 200" $? ;;
    auth_ok)
        in_order "$f" REGISTER 401/REGISTER REGISTER 200/REGISTER && [ "$(n_tok "$f" 401/REGISTER)" -eq 1 ]
        check "$name: one challenge, then 200" $? ;;
    no_ringback | early_media_ok)
        in_order "$f" INVITE 183/INVITE 200/INVITE ACK BYE 200/BYE &&
            [ "$(n_frames "$f" 'sip.Status-Code == 183 && sdp')" -ge 1 ]
        check "$name: 183 with SDP, 200, ACK, BYE" $?
        t200=$(first_time "$f" 'sip.Status-Code == 200 && sip.CSeq.method == "INVITE"')
        media=$(ts "$f" -Y 'sip.Status-Code == 183' -T fields -e sdp.connection_info.address \
            -e sdp.media.port | head -n 1 | tr '\t' ':')
        streams "$f" >"$tmp/s"
        start=$(awk -v m="$media" '$1 == m { print $6 }' "$tmp/s")
        if [ "$name" = no_ringback ]; then
            [ -n "$start" ] && awk -v s="$start" -v t="$t200" 'BEGIN { exit !(s >= t) }'
            check "$name: the callee's RTP ($media) starts only after the 200 (at ${start:-?} s, 200 at $t200 s)" $?
        else
            [ -n "$start" ] && awk -v s="$start" -v t="$t200" 'BEGIN { exit !(s < t) }'
            check "$name: the callee's RTP ($media) starts before the 200 (at ${start:-?} s, 200 at $t200 s)" $?
        fi ;;
    ringback_ok)
        in_order "$f" INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE && [ "$(n_tok "$f" 183/INVITE)" -eq 0 ] &&
            [ "$(n_frames "$f" 'sip.Status-Code == 180 && sdp')" -eq 0 ]
        check "$name: 180 without SDP, no 183, 200, BYE" $?
        [ "$(streams "$f" | wc -l)" -eq 2 ]; check "$name: RTP both ways" $? ;;
    nat_private_contact)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: the call is set up and ended" $?
        [ "$(n_frames "$f" 'sip.Method == "INVITE" && ip.src == 198.51.100.1 && sip.Contact contains "192.168.77.10" && sdp.connection_info.address == 198.51.100.1')" -ge 1 ]
        check "$name: alice's INVITE comes from the NAT with a private Contact and the public c=" $? ;;
    nat_comedia)
        in_order "$f" INVITE 407/INVITE ACK INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE
        check "$name: the call is set up and ended" $?
        streams "$f" >"$tmp/s"
        awk '$1 ~ /^198\.51\.100\.20:/ && $2 ~ /^198\.51\.100\.1:/ && $3 >= 100 { ok = 1 } END { exit !ok }' "$tmp/s" &&
            awk '$1 ~ /^198\.51\.100\.1:/ && $3 >= 100 { ok = 1 } END { exit !ok }' "$tmp/s"
        check "$name: RTP both ways through the NAT (bob answers to 198.51.100.1)" $? || cat "$tmp/s" ;;
    one_way_nat)
        in_order "$f" INVITE 407/INVITE ACK INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE
        check "$name: the call is set up and ended" $?
        [ "$(n_frames "$f" 'sip.Method == "INVITE" && ip.src == 198.51.100.1 && sdp.connection_info.address == 192.168.77.10')" -ge 1 ]
        check "$name: alice's INVITE comes from the NAT (198.51.100.1) with c=192.168.77.10" $?
        streams "$f" >"$tmp/s"
        grep -q '^198\.51\.100\.1:[0-9]* 198\.51\.100\.20:' "$tmp/s" &&
            grep -q '^198\.51\.100\.20:[0-9]* 192\.168\.77\.10:' "$tmp/s" &&
            ! grep -q ' 198\.51\.100\.1:[0-9]* ' "$tmp/s"
        check "$name: RTP one way: NAT -> bob flows, bob's goes to 192.168.77.10, none to the NAT" $? ||
            cat "$tmp/s" ;;
    rtp_one_direction)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: an answered call" $?
        [ "$(streams "$f" | wc -l)" -eq 1 ]; check "$name: one RTP stream only" $? ;;
    rtp_jitter)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: an answered call" $?
        mj=$(ts "$f" -q -z rtp,streams | awk '$3 == "10.77.1.1" && $5 == "10.77.2.1" { print $(NF - 2) }' | head -n 1)
        [ -n "$mj" ] && awk -v j="$mj" 'BEGIN { exit !(j > 25 && j < 55) }'
        check "$name: tshark's mean jitter of alice's RTP is 25-55 ms (${mj:-?}; U(-60,60) delays give 40)" $? ;;
    rtp_loss)
        streams "$f" >"$tmp/s"
        [ "$(wc -l <"$tmp/s")" -eq 2 ] && awk '$4 == 0 { exit 1 }' "$tmp/s"
        check "$name: two RTP streams, both with lost packets" $? || cat "$tmp/s" ;;
    retrans_no_ack)
        n=$(n_tok "$f" 200/INVITE)
        [ "$n" -ge 4 ] && [ "$(n_tok "$f" ACK)" -eq 0 ]
        check "$name: the 200 sent 4 or more times ($n), never ACKed" $? ;;
    invite_timeout_408)
        in_order "$f" INVITE 407/INVITE ACK INVITE INVITE INVITE INVITE INVITE 408/INVITE ACK &&
            [ "$(n_frames "$f" icmp)" -ge 1 ]
        check "$name: the INVITE retransmitted to a dead port (ICMP), 408, ACK" $? ;;
    rtp_dead_port)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: an answered call" $?
        port=$(ts "$f" -Y 'sip.Status-Code == 200 && sdp' -T fields -e sdp.media.port | head -n 1)
        [ -n "$port" ] && [ "$(n_frames "$f" "icmp.type == 3 && icmp.code == 3 && udp.dstport == $port")" -ge 1 ]
        check "$name: RTP to the answer's port ${port:-?} refused with ICMP port unreachable" $? ;;
    dns_servfail)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: an answered call" $?
        [ "$(n_frames "$f" 'dns.flags.rcode == 2')" -eq 1 ] &&
            [ "$(n_frames "$f" 'dns.flags.response == 1 && dns.flags.rcode == 0 && dns.a')" -eq 1 ]
        check "$name: one SERVFAIL, then the answer to the retry" $? ;;
    dns_slow | dns_ok)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE; check "$name: an answered call" $?
        took=$(ts "$f" -Y 'dns.flags.response == 1 && dns.qry.name == "pbx.test"' -T fields -e dns.time | head -n 1)
        tq=$(first_time "$f" 'dns.flags.response == 0')
        ti=$(first_time "$f" 'sip.Method == "INVITE"')
        if [ "$name" = dns_slow ]; then
            [ -n "$took" ] && awk -v t="$took" 'BEGIN { exit !(t >= 1.4) }'
        else
            [ -n "$took" ] && awk -v t="$took" 'BEGIN { exit !(t < 0.5) }'
        fi
        check "$name: the lookup of pbx.test answered after ${took:-?} s" $?
        [ -n "$tq" ] && [ -n "$ti" ] && awk -v q="$tq" -v i="$ti" 'BEGIN { exit !(q < i) }'
        check "$name: the lookup comes before the INVITE" $? ;;
    unsupported_415)
        in_order "$f" INVITE 415/INVITE ACK && [ "$(n_frames "$f" 'sip.Status-Code == 415 && sip.Accept')" -ge 1 ]
        check "$name: 415 with Accept, ACK" $? ;;
    invite_retransmitted)
        n=$(ts "$f" -Y 'sip.Method == "INVITE" && udp.dstport == '"$(ts "$f" -Y 'sip.Status-Code == 180' -T fields -e udp.srcport | head -n 1)" -T fields -e frame.number | wc -l)
        [ "$n" -ge 3 ] && in_order "$f" INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE
        check "$name: the callee got the INVITE 3 or more times ($n) before its 180; then a normal call" $? ;;
    no_trying_proxy)
        in_order "$f" INVITE 180/INVITE 200/INVITE ACK BYE 200/BYE &&
            [ "$(n_tok "$f" 100/INVITE)" -eq 0 ] && [ "$(n_tok "$f" INVITE)" -ge 6 ]
        check "$name: no 100 Trying, the INVITE 6+ times over the two hops, then a normal call" $? ;;
    routing_loop_483)
        in_order "$f" INVITE 483/INVITE ACK && [ "$(n_frames "$f" 'sip.Max-Forwards == 0')" -ge 1 ]
        check "$name: INVITE with Max-Forwards 0, 483, ACK" $? ;;
    no_such_dialog_481) in_order "$f" BYE 481/BYE; check "$name: BYE, 481" $? ;;
    cancel_after_answer)
        in_order "$f" INVITE 200/INVITE CANCEL ACK BYE 200/BYE; check "$name: 200, then CANCEL, ACK, BYE" $? ;;
    auth_refused_403)
        in_order "$f" REGISTER 401/REGISTER REGISTER 403/REGISTER && [ "$(n_frames "$f" 'sip.Authorization')" -eq 1 ]
        check "$name: challenged, answered, 403" $? ;;
    binding_expired)
        in_order "$f" REGISTER 401/REGISTER REGISTER 200/REGISTER INVITE 407/INVITE ACK INVITE 480/INVITE ACK &&
            [ "$(n_frames "$f" 'sip.Status-Code == 200 && sip.CSeq.method == "REGISTER" && sip.Contact contains "expires=3"')" -eq 1 ]
        check "$name: a 3 s binding, no refresh, then 480 to a call" $? ;;
    no_rtp)
        in_order "$f" INVITE 200/INVITE ACK BYE 200/BYE && [ "$(streams "$f" | wc -l)" -eq 0 ]
        check "$name: an answered call, no RTP in the capture" $? ;;
    reg_423)
        in_order "$f" REGISTER 401/REGISTER REGISTER 423/REGISTER &&
            [ "$(n_frames "$f" 'sip.Status-Code == 423 && sip.Min-Expires')" -eq 1 ]
        check "$name: 423 with Min-Expires" $? ;;
    reg_nat_rebind)
        [ "$(n_tok "$f" 200/REGISTER)" -eq 2 ] &&
            [ "$(ts "$f" -Y 'sip.Method == "REGISTER"' -T fields -e sip.Call-ID | sort -u | wc -l)" -eq 1 ] &&
            [ "$(ts "$f" -Y 'sip.Method == "REGISTER"' -T fields -e udp.srcport | sort -u | wc -l)" -eq 2 ]
        check "$name: two accepted refreshes of one Call-ID from two source ports" $? ;;
    options_ping) in_order "$f" OPTIONS 200/OPTIONS; check "$name: OPTIONS, 200" $? ;;
    message) in_order "$f" MESSAGE 200/MESSAGE; check "$name: MESSAGE, 200" $? ;;
    *) check "$name: a capture without checks" 1 ;;
    esac
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
