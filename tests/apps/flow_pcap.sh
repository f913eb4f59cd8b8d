#!/usr/bin/env bash
# `sipkit flow FILE --call N --pcap OUT`: the frames of one call written to a new pcap.
# On a capture of several interleaved calls (tests/tools/mkflowcalls.py: UDP with a
# fragmented INVITE, TCP with a message over two segments, RTP, RTCP), checked with
# tshark: OUT holds exactly the call's SIP frames (fragments and segments included)
# and its RTP/RTCP, as captured; `sipkit flow OUT` shows one call with the figures the
# call had in the original. The same from a pcapng copy. Refusals: --pcap without
# --call, an unknown call, --live, stdin. Exits 77 without python3 or tshark.
# usage: flow_pcap.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
data=$2
srcdir=$(cd "$data/.." && pwd)
. "$srcdir/interop/lib/common.bash"
interop_init
if ! command -v python3 >/dev/null || ! command -v tshark >/dev/null; then
    echo "skipped: needs python3 and tshark"
    exit 77
fi
in=$tmp/calls.pcap
python3 "$srcdir/tools/mkflowcalls.py" "$in"
check "capture made" $?

# ---- refusals ----
"$sipkit" flow "$in" --pcap "$tmp/x.pcap" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- '--pcap needs --call' "$tmp/err" && [ ! -e "$tmp/x.pcap" ]
check "--pcap without --call: status 2 and a clear message ($rc: $(cat "$tmp/err"))" $?
"$sipkit" flow "$in" --call 99 --pcap "$tmp/x.pcap" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no call '99'" "$tmp/err" && [ ! -e "$tmp/x.pcap" ]
check "--pcap with an unknown call: status 1, no file ($rc: $(cat "$tmp/err"))" $?
"$sipkit" flow --live lo --call 1 --pcap "$tmp/x.pcap" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q 'not --live' "$tmp/err" && [ ! -e "$tmp/x.pcap" ]
check "--live with --pcap: status 2 ($rc: $(cat "$tmp/err"))" $?
"$sipkit" flow - --call 1 --pcap "$tmp/x.pcap" <"$in" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && [ ! -e "$tmp/x.pcap" ]
check "stdin with --pcap: status 2 ($rc)" $?
"$sipkit" flow "$in" --call 1 --pcap "$in" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'overwrite' "$tmp/err" && "$sipkit" flow "$in" >/dev/null
check "--pcap onto the capture itself: refused, the capture intact ($rc)" $?

# frames FILE FILTER: "epoch len" of the frames tshark selects, one a line, plus the
# fragments and TCP segments that carried them
frames_of() {
    tshark -r "$1" -Y "$2" -T fields -e frame.number -e ip.fragment -e tcp.segment \
        -E occurrence=a -E aggregator=, 2>/dev/null | tr '\t,' '\n\n' | grep . | sort -un >"$tmp/nums"
    tshark -r "$1" -T fields -e frame.number -e frame.time_epoch -e frame.len 2>/dev/null |
        awk 'NR == FNR { want[$1] = 1; next } ($1 in want) { print $2, $3 }' "$tmp/nums" -
}
all_frames() { tshark -r "$1" -T fields -e frame.time_epoch -e frame.len 2>/dev/null; }
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# what must agree between a call in the original and the same call exported
figures='(c["messages"], c["setup_ms"], c["duration_s"], c["ended_by"], c["final_status"], c["retransmissions"], len(c["streams"]), sorted((s["src"], s["dst"], s["ssrc"], s["packets"], s["lost"], s["jitter_ms"], s["max_delta_ms"], s["rtcp"]["sr"] if "rtcp" in s else 0) for s in d["streams"] if s["item"] == c["number"]))'

"$sipkit" flow "$in" --json >"$tmp/all.json"
n=$(json_get "$tmp/all.json" 'len(d["calls"])')
[ "$n" = 4 ]; check "the capture holds 4 calls ($n)" $?

export_check() { # TAG INPUT CALL-NUMBER: export, then compare with tshark and the original
    local tag=$1 src=$2 num=$3 out=$tmp/$1.pcap cid ssrcs filt want got
    cid=$(json_get "$tmp/all.json" "d['calls'][$num - 1]['call_id']")
    ssrcs=$(json_get "$tmp/all.json" "' '.join(s['ssrc'] for s in d['streams'] if s['item'] == $num)")
    "$sipkit" flow "$src" --call "$num" --pcap "$out" >"$tmp/$tag.out" 2>"$tmp/$tag.err"
    check "$tag: --call $num --pcap written ($(cat "$tmp/$tag.out" "$tmp/$tag.err"))" $? || return
    # a pcap (not pcapng), Ethernet, like the input
    [ "$(od -An -tx4 -N4 "$out" | tr -d ' ')" = a1b23c4d ] &&
        [ "$(od -An -tu4 -j20 -N4 "$out" | tr -d ' ')" = 1 ]
    check "$tag: a nanosecond pcap with the input's link type (Ethernet)" $?
    got=$(tshark -r "$out" -T fields -e sip.Call-ID -E occurrence=a -E aggregator=, 2>/dev/null |
        tr ',' '\n' | grep . | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
    want=$(tshark -r "$in" -T fields -e sip.Call-ID -E occurrence=a -E aggregator=, 2>/dev/null |
        tr ',' '\n' | grep -Fx "$cid" | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
    [ -n "$want" ] && [ "$got" = "$want" ]
    check "$tag: only the call's SIP messages, all of them ($got; original: $want)" $?
    filt="sip.Call-ID == \"$cid\""
    for s in $ssrcs; do filt="$filt || rtp.ssrc == $s || rtcp.senderssrc == $s"; done
    frames_of "$in" "$filt" >"$tmp/$tag.want"
    all_frames "$out" >"$tmp/$tag.got"
    [ -s "$tmp/$tag.want" ] && cmp -s "$tmp/$tag.want" "$tmp/$tag.got"
    check "$tag: exactly the call's frames, in order, times and lengths as captured ($(wc -l <"$tmp/$tag.got") frames, tshark selects $(wc -l <"$tmp/$tag.want"))" $? ||
        diff "$tmp/$tag.want" "$tmp/$tag.got" | head -n 5
    got=$(tshark -r "$out" -Y rtp -T fields -e rtp.ssrc 2>/dev/null | sort -u | tr '\n' ' ')
    want=$(for s in $ssrcs; do echo "$s" | tr 'A-F' 'a-f' | sed 's/^0X/0x/'; done | sort -u | tr '\n' ' ')
    [ "$got" = "$want" ]; check "$tag: tshark finds the call's RTP streams in it ($got)" $?
    "$sipkit" flow "$out" --json >"$tmp/$tag.json"
    n=$(json_get "$tmp/$tag.json" 'len(d["calls"]) + len(d["registrations"]) + len(d["requests"])')
    [ "$n" = 1 ]; check "$tag: sipkit flow OUT shows one item ($n)" $?
    want=$(json_get "$tmp/all.json" "(lambda c: $figures)(d['calls'][$num - 1])")
    got=$(json_get "$tmp/$tag.json" "(lambda c: $figures)(d['calls'][0])")
    [ "$got" = "$want" ]; check "$tag: the same figures as call $num in the original ($got)" $? ||
        echo "original: $want"
}

export_check udp-fragmented "$in" 2
export_check tcp "$in" 4
if command -v editcap >/dev/null; then
    editcap -F pcapng "$in" "$tmp/calls.pcapng"
    export_check pcapng "$tmp/calls.pcapng" 2
    cmp -s "$tmp/udp-fragmented.pcap" "$tmp/pcapng.pcap"
    check "pcapng input: the same pcap as from the pcap input" $?
else
    echo "note: no editcap, the pcapng case is skipped"
fi
interop_finish
