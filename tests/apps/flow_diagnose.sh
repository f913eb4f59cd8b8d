#!/usr/bin/env bash
# The diagnosis rules of `sipkit flow` (docs/flow-rules.md) on the real captures of
# tests/flow/captures (INDEX.md): makes the captures once with make_all.sh, runs
# `sipkit flow F --json` on each and checks, from the table below, that the expected
# finding codes are there (with evidence frames and a fix) and the forbidden ones are
# not, plus a few words the details must carry. Exits 77 (skipped) without root,
# tcpdump, SIPp or python3; a capture whose generator skipped is not checked.
# FLOW_CAPTURES_DIR=DIR checks the captures already in DIR instead of making them.
# usage: flow_diagnose.sh SIPKIT_BINARY TEST_DATA_DIR
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

# capture | codes that must be found | codes that must not ('*': any other finding)
# | words the findings' details/fixes must hold ('-': none), separated by ';'
table='
ok_call            | -                          | *
ok_call_tcp        | -                          | *
ringback_ok        | -                          | *
early_media_ok     | -                          | *
auth_ok            | -                          | *
options_ping       | -                          | *
message            | -                          | *
busy_486           | status-486                 | auth-rejected no-ringback one-way-audio no-rtp
declined_603       | status-603                 | auth-rejected no-ringback
not_found_404      | status-404                 | auth-rejected
unavailable_480    | status-480                 | auth-rejected
cancelled_487      | status-487                 | no-answer-timer-c auth-rejected
no_answer_408      | status-408                 | invite-timeout no-answer-timer-c
no_answer_timer_c  | no-answer-timer-c          | status-487 auth-rejected
codec_488          | codec-mismatch             | status-488 auth-rejected | PCMU;PCMA;G729
server_503         | server-unavailable         | status-500 auth-rejected | Retry-After 120
auth_loop          | auth-rejected              | status-401 | 4 times;wrong password or realm
reg_423            | reg-interval-too-brief     | status-423 auth-rejected | 10 s;60 s
reg_nat_rebind     | reg-nat-rebind             | auth-rejected binding-expired status-401 | keep-alives
retrans_no_ack     | ack-missing                | auth-rejected | Record-Route/Contact reachability
invite_timeout_408 | invite-timeout slow-setup sip-unreachable | status-408 auth-rejected rtp-unreachable | Timer B;ICMP port unreachable
no_ringback        | no-ringback                | one-way-audio nat-one-way-audio auth-rejected
rtp_one_direction  | one-way-audio              | nat-one-way-audio nat-private-sdp no-ringback
one_way_nat        | nat-one-way-audio          | one-way-audio auth-rejected | 192.168.77.10;198.51.100.1;symmetric RTP/comedia
rtp_dead_port      | rtp-unreachable one-way-audio | sip-unreachable nat-one-way-audio auth-rejected | ICMP port unreachable;SIP ALG
dns_slow           | dns-slow                   | dns-failure auth-rejected | pbx.test;resolv.conf
dns_ok             | -                          | *
dns_servfail       | dns-failure                | dns-slow auth-rejected | SERVFAIL;pbx.test
unsupported_415    | unsupported-body           | status-415 codec-mismatch auth-rejected | 415;application/vnd.example-media
invite_retransmitted | invite-retransmitted     | invite-timeout no-100-trying auth-rejected | 2 times
no_trying_proxy    | no-100-trying invite-retransmitted | invite-timeout auth-rejected | 100 Trying;16.2
routing_loop_483   | routing-loop               | status-483 auth-rejected | 483
no_such_dialog_481 | no-such-dialog             | status-481 | 481;BYE
cancel_after_answer | cancel-after-answer       | status-487 auth-rejected ack-missing | CANCEL
auth_refused_403   | auth-refused               | status-403 auth-rejected | 403;1 challenge
binding_expired    | binding-expired status-480 | reg-nat-rebind auth-rejected | 3 s
no_rtp             | no-rtp                     | one-way-audio nat-one-way-audio rtp-loss | capture
nat_private_contact | nat-private-contact rtp-unreachable | nat-one-way-audio nat-private-sdp auth-rejected | rport;198.51.100.1
nat_comedia        | nat-private-sdp            | nat-one-way-audio one-way-audio no-rtp auth-rejected | 192.168.77.10;198.51.100.1
rtp_jitter         | rtp-jitter                 | one-way-audio no-rtp auth-rejected | 10.77.1.1;mean jitter
rtp_loss           | rtp-loss                   | rtp-jitter nat-one-way-audio nat-private-sdp nat-private-contact one-way-audio no-rtp
'

if [ "$(id -u)" -ne 0 ] || ! command -v tcpdump >/dev/null || ! command -v sipp >/dev/null ||
    ! command -v python3 >/dev/null; then
    echo "skipped: needs root, tcpdump, sipp and python3"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipkit-flowdiag.XXXXXX")
trap 'if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi' EXIT
names=$(echo "$table" | awk -F'|' 'NF > 1 { gsub(/ /, "", $1); print $1 }')

if [ -n "${FLOW_CAPTURES_DIR:-}" ]; then
    cp "$FLOW_CAPTURES_DIR"/*.pcap "$tmp/" # checks only, on captures made before
    cp "$FLOW_CAPTURES_DIR"/*.result "$tmp/" 2>/dev/null # why one is missing
else
    # shellcheck disable=SC2086
    timeout -k 10 290 bash "$caps/make_all.sh" "$tmp" "$sipkit" $names | tee "$tmp/make_all.out"
    grep -q ' 0 failed' "$tmp/make_all.out"; check "make_all.sh: no capture failed" $?
fi

# verdict F MUST MUSTNOT WORDS: python3 reads the JSON and prints one line per problem
verdict() {
    python3 - "$@" <<'EOF'
import json, sys
path, must, mustnot, words = sys.argv[1:5]
must = must.split() if must != "-" else []
found = []
try:
    doc = json.load(open(path))
except Exception as e:
    print("unreadable JSON: %s" % e)
    sys.exit(0)
for f in doc.get("findings", []):
    found.append(f)
codes = [f["code"] for f in found]
for c in must:
    if c not in codes:
        print("missing %s (found: %s)" % (c, " ".join(codes) or "none"))
for f in found:
    if f["code"] in must and (not f["frames"] or not f["fix"] or not f["detail"]):
        print("%s without frames, detail or fix" % f["code"])
bad = [c for c in codes if c not in must] if mustnot.strip() == "*" else \
      [c for c in codes if c in mustnot.split()]
for c in bad:
    print("forbidden %s" % c)
text = " ".join(f["summary"] + " " + f["detail"] + " " + f["fix"]
                for f in found if f["code"] in must)
for w in [w.strip() for w in words.split(";") if w.strip() and w.strip() != "-"]:
    if w not in text:
        print("no '%s' in the findings" % w)
EOF
}

while IFS='|' read -r name must mustnot words; do
    name=$(echo "$name" | tr -d ' ')
    [ -n "$name" ] || continue
    must=$(echo "$must" | xargs)
    f=$tmp/$name.pcap
    if [ ! -s "$f" ]; then
        echo "skip: $name (no capture: $(cat "$tmp/$name.result" 2>/dev/null))"
        continue
    fi
    timeout 60 "$sipkit" flow "$f" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
    check "$name: sipkit flow --json (status $?)" $? || head -n 3 "$tmp/$name.err"
    verdict "$tmp/$name.json" "${must:--}" "$mustnot" "${words:--}" >"$tmp/$name.verdict"
    [ ! -s "$tmp/$name.verdict" ]
    check "$name: findings [${must/#-/none}] as expected" $? || sed 's/^/    /' "$tmp/$name.verdict"
done <<<"$table"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
