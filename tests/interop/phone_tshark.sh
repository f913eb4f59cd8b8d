#!/usr/bin/env bash
# Wireshark as a second opinion on a whole sipkit call: a `sipkit call` from
# alice to a `sipkit phone` bob (auto-answer) through `sipkit serve`, with
# RFC 4733 digits, captured on lo. Then every SIP, SDP, RTP, RTCP and RTP
# event packet (all of them are sent by sipkit) must decode with no malformed
# field and no expert warning, the RTP events must carry the digits sent, and
# `tshark -z rtp,streams` must agree with the phones' own hang-up reports on
# packets and lost, exactly. Jitter: tshark's figure counts the
# telephone-event packets (which keep the event's start timestamp, so its
# jitter for the stream with digits is several ms), sipkit leaves them out
# (QUALITY.md); so the final RFC 3550 §A.8 J is computed here from the
# capture's timestamps without them (that computation is checked against
# tshark's mean jitter on the stream without digits: equal to 0.02 ms), and
# each report's jitter must be within 0.5 ms of it: sipkit takes arrival
# times in its event loop, the capture in the kernel, and on a loaded
# machine the two differ by a few tenths of a ms.
# usage: phone_tshark.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
. "$srcdir/interop/lib/phone.bash"

for t in tshark python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

digits="159#*0"
port=$(free_udp_port)
alice_sip=$(free_udp_port)
bob_sip=$(free_udp_port)
rtp_a=$(free_udp_range 8) # 4 RTP/RTCP pairs each
rtp_b=$(free_udp_range 8)
[ -n "$port" ] && [ -n "$alice_sip" ] && [ -n "$bob_sip" ] && [ -n "$rtp_a" ] && [ -n "$rtp_b" ]
check "free ports: server $port, SIP $alice_sip/$bob_sip, RTP $rtp_a-$((rtp_a + 7)) and $rtp_b-$((rtp_b + 7))" $? ||
    interop_finish

pcap=$tmp/call.pcapng
filter="udp port $port or udp port $alice_sip or udp port $bob_sip or udp portrange $rtp_a-$((rtp_a + 7)) or udp portrange $rtp_b-$((rtp_b + 7))"
capture_start "$pcap" "$filter" || interop_finish

phone_users alice@localhost:secret-a bob@localhost:secret-b || interop_finish
listen_protos=(udp)
server_start "$port" --domain localhost || { check "server starts" 1; interop_finish; }

common=(--registrar "127.0.0.1:$port" --outbound-proxy "sip:127.0.0.1:$port" --codecs PCMU,PCMA)
phone_start bob --user sip:bob@localhost --password secret-b --listen "udp:127.0.0.1:$bob_sip" \
    --rtp-ports "$rtp_b-$((rtp_b + 7))" --auto-answer 0 --play tone:1000 "${common[@]}"
wait_event "$tmp/bob.log" registered 10 "${phone_pid[bob]}"
check "bob registers" $? || { cat "$tmp/bob.log" "$tmp/bob.err"; interop_finish; }

timeout -k 5 40 "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret-a \
    --listen "udp:127.0.0.1:$alice_sip" --rtp-ports "$rtp_a-$((rtp_a + 7))" --play tone:440 \
    --duration 6 --dtmf "$digits" --json "${common[@]}" >"$tmp/alice.log" 2>"$tmp/alice.err"
rc=$?
[ "$rc" -eq 0 ]
check "sipkit call exits 0 (got $rc)" $? || cat "$tmp/alice.log" "$tmp/alice.err"
check_no_sanitizer alice "$tmp/alice.err"
wait_event "$tmp/bob.log" hungup 10 "${phone_pid[bob]}"
check "bob reports the hang-up" $?
phone_stop bob
server_stop_checked
sleep 0.5
kill -INT "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null

# the RTP ports each side used, from the reports; RTCP is on the next port (RFC 3550 §11)
a_rtp=$(jget "$tmp/alice.log" hungup quality.local | sed 's/.*://')
b_rtp=$(jget "$tmp/bob.log" hungup quality.local | sed 's/.*://')
[ -n "$a_rtp" ] && [ -n "$b_rtp" ]
check "both reports name their RTP port (alice ${a_rtp:-?}, bob ${b_rtp:-?})" $? || interop_finish
decode=(-d "udp.port==$a_rtp,rtp" -d "udp.port==$b_rtp,rtp"
    -d "udp.port==$((a_rtp + 1)),rtcp" -d "udp.port==$((b_rtp + 1)),rtcp")
ts() { tshark -r "$pcap" "${decode[@]}" "$@" 2>>"$tmp/tshark-read.err"; }

# everything in the capture was sent by sipkit (server or phones)
ts -Y '_ws.malformed || _ws.expert.severity >= warning' >"$tmp/bad.txt"
[ ! -s "$tmp/bad.txt" ]
st_=$?; check "no malformed packet or expert warning in the whole call ($(wc -l <"$tmp/bad.txt") packets)" $st_ || {
    head -n 20 "$tmp/bad.txt" | sed 's/^/    /'
    ts -Y '_ws.malformed || _ws.expert.severity >= warning' -T fields -e frame.number \
        -e _ws.expert.message | head -n 20 | sed 's/^/    /'
}
# ... and the capture holds each kind of packet (so the test cannot pass on an empty one)
for kind in "sip.Method == \"REGISTER\":2" "sip.Method == \"INVITE\":2" "sip.Method == \"ACK\":2" \
    "sip.Method == \"BYE\":2" "sip.Status-Code == 200:6" "sdp:4" "rtp && rtp.p_type == 0:400" \
    "rtcp.pt == 200:2" "rtcp.pt == 201 || rtcp.rc > 0:2" "rtcp.pt == 202:2" "rtpevent:6"; do
    f=${kind%:*}
    want=${kind##*:}
    n=$(ts -Y "$f" | wc -l)
    [ "$n" -ge "$want" ]
    check "capture holds at least $want packets matching '$f' ($n)" $?
done

# nothing on the ports was left undecoded (a packet that fails RTP's or
# RTCP's checks would show as bare UDP or as another protocol)
ts -Y 'udp && !sip && !rtp && !rtcp' >"$tmp/undecoded.txt"
[ ! -s "$tmp/undecoded.txt" ]
st_=$?; check "every UDP packet decodes as SIP, RTP or RTCP ($(wc -l <"$tmp/undecoded.txt") others)" $st_ ||
    head -n 10 "$tmp/undecoded.txt" | sed 's/^/    /'

# the telephone events: one digit per event (RFC 4733 §2.5.1.3: the end packet
# is sent three times, and all packets of one event share the timestamp)
got=$(ts -Y 'rtpevent && rtpevent.end_of_event == 1' -T fields -e rtp.timestamp -e rtpevent.event_id |
    awk -F'\t' '!seen[$1]++ { printf "%s ", $2 }')
want=$(printf '%s' "$digits" | sed 's/./& /g' | sed 's/\*/10/g; s/#/11/g')
[ "$got" = "$want" ]
check "RTP events carry the digits $digits in order (event ids: ${got:-none}; want $want)" $?
n_end=$(ts -Y "rtpevent && rtpevent.end_of_event == 1" | wc -l)
[ "$n_end" -eq $((${#digits} * 3)) ]
check "each event ends with three end packets ($n_end for ${#digits} digits)" $?
dtmf_rx=$(jget "$tmp/bob.log" hungup quality.dtmf_received)
[ "$dtmf_rx" = "$digits" ]
check "bob's report received the digits ($dtmf_rx)" $?

# tshark's RTP stream analysis against the receivers' reports
ts -q -z rtp,streams >"$tmp/streams.txt"
sed 's/^/    /' "$tmp/streams.txt"
stream() { # SRC_PORT DST_PORT: "packets lost mean_jitter_ms" of that stream
    awk -v s="$1" -v d="$2" '$4 == s && $6 == d {
        for (i = 7; i <= NF; i++) if ($i ~ /^[0-9]+$/) break
        print $i, $(i + 1), $(i + 7); exit }' "$tmp/streams.txt"
}
# RFC 3550 §A.8 jitter at the end of a stream, from the capture's timestamps,
# with the telephone-event packets left out as sipkit does (tshark's own
# jitter counts them, and an event's packets all carry the event's start
# timestamp, so tshark's figure for the stream with digits is not comparable)
capture_jitter() { # SRC_PORT: "final mean" J in ms
    ts -Y "udp.srcport == $1 && rtp" -T fields -e frame.time_epoch -e rtp.timestamp -e rtp.p_type |
        python3 -c '
import sys
j, prev, js = 0.0, None, []
for line in sys.stdin:
    t, ts, pt = line.split("\t")
    if int(pt) == 101:
        continue
    t, ts = float(t) * 8000, int(ts)
    if prev is not None:
        d = (t - prev[0]) - ((ts - prev[1]) % 2**32)
        j += (abs(d) - j) / 16
        js.append(j)
    prev = (t, ts)
print("%.3f %.3f" % (j / 8, sum(js) / max(len(js), 1) / 8))'
}
for dir in "alice bob $a_rtp $b_rtp" "bob alice $b_rtp $a_rtp"; do
    set -- $dir
    read -r t_pk t_lost t_jit <<<"$(stream "$3" "$4")"
    read -r c_jit c_mean <<<"$(capture_jitter "$3")"
    r_pk=$(jget "$tmp/$2.log" hungup quality.received.packets)
    r_lost=$(jget "$tmp/$2.log" hungup quality.received.lost)
    r_jit=$(jget "$tmp/$2.log" hungup quality.received.jitter_ms)
    echo "    $1 -> $2: tshark packets=${t_pk:-?} lost=${t_lost:-?} mean jitter=${t_jit:-?} ms;" \
        "jitter from the capture ${c_jit:-?} ms; $2's report packets=${r_pk:-?} lost=${r_lost:-?} jitter=${r_jit:-?} ms"
    [ -n "$t_pk" ] && [ "$t_pk" = "$r_pk" ]
    check "$1 -> $2: packets as tshark counts them ($t_pk) = $2's report ($r_pk)" $?
    [ -n "$t_lost" ] && [ "$t_lost" = "$r_lost" ]
    check "$1 -> $2: lost as tshark counts them ($t_lost) = $2's report ($r_lost)" $?
    [ -n "$c_jit" ] && [ -n "$r_jit" ] && fcmp "$(python3 -c "print(abs($c_jit - $r_jit))")" '<=' 0.5
    check "$1 -> $2: jitter within 0.5 ms of RFC 3550's over the capture (capture $c_jit, report $r_jit)" $?
done
# the stream without digits shows the computation above is Wireshark's: same
# mean jitter (tshark prints 3 decimals; the first packet's J of 0 is in its mean)
[ -n "$t_jit" ] && [ -n "$c_mean" ] && fcmp "$(python3 -c "print(abs($t_jit - $c_mean))")" '<=' 0.02
check "bob -> alice (no events): the capture's mean jitter is tshark's ($c_mean, tshark $t_jit)" $?

interop_finish
