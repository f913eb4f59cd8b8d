#!/usr/bin/env bash
# RFC 3262 (100rel, PRACK) between `sipkit phone` and SIPp, no server in between:
# 1. a SIPp UAC (interop/scenarios/prack_uac.xml) INVITEs with Require: 100rel: the
#    phone's 180 is reliable (Require: 100rel, RSeq), a PRACK with a wrong RAck gets
#    481, the right one 200, and only then the 200 to the INVITE comes;
# 2. a SIPp UAS (prack_uas.xml) answers `--session-expires 120` with 422 Min-SE: 150
#    (the phone retries with 150), then a reliable 183 with SDP (PRACKed), the same
#    183 again (not PRACKed), a reliable 180 (PRACKed, RAck 2), and a 200 with
#    Session-Expires: 150;refresher=uas;
# 3. prack_reject.py: 420 (Unsupported) with --100rel off and for unknown options,
#    422 with Min-SE, 400 for a bad Session-Expires, 421 with --100rel required,
#    what OPTIONS advertises, 481 for a PRACK of no dialog.
# SIPp checks the SIP side (exit 0), this script the phones' events.
# usage: phone_prack_sipp.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

command -v sipp >/dev/null || { echo "SKIP: sipp (sip-tester) not installed"; exit 77; }
scen_dir=$srcdir/interop/scenarios

sipp_run() { # NAME SCENARIO ARGS...: SIPp in the background, its PID in sipp_pid
    local name=$1 scen=$2
    shift 2
    timeout -k 5 60 sipp -sf "$scen_dir/$scen" -m 1 -i 127.0.0.1 -timeout 40s -timeout_error \
        -nostdin -trace_err -error_file "$tmp/$name.err" -trace_msg -message_file "$tmp/$name.msg" \
        "$@" >"$tmp/$name.out" 2>&1 </dev/null &
    sipp_pid=$!
    cleanup_hooks+=("kill $sipp_pid 2>/dev/null")
}
sipp_ok() { # NAME PID WHAT
    wait_exit "$2" 30
    wait "$2"
    local rc=$?
    [ "$rc" -eq 0 ]
    check "SIPp $1: $3 (status $rc)" $? ||
        tail -n 20 "$tmp/$1.out" "$tmp/$1.err" 2>/dev/null | sed 's/^/    /'
}

# ---- 1. SIPp UAC -> phone
bob_sip=$(free_port udp 1 127.0.0.1)
phone_start bob --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$bob_sip" \
    --rtp-ports 20000-40000 --auto-answer 0 --rtp-timeout 0 --play silence
wait_port udp "$bob_sip" 5
check "phone bob listens on $bob_sip" $? || interop_finish
mport=$(free_port udp 4 127.0.0.1)
sipp_run uac prack_uac.xml "127.0.0.1:$bob_sip" -p "$(free_port udp 1 127.0.0.1)" \
    -mi 127.0.0.1 -mp $((mport + (mport & 1)))
sipp_ok uac "$sipp_pid" "reliable 180 with RSeq, 481 to a wrong RAck, 200 to the PRACK, then the 200"
phone_wait bob hungup 10
check "bob: the call ended (SIPp's BYE)" $?
n=$(phone_events bob prack)
[ "$n" -eq 1 ] && grep -q '"event": *"prack".*"text": *"received"' "$tmp/bob.log"
check "bob: one prack event, received ($n)" $?
phone_quit bob
check "bob exits 0 (status ${phone_rc[bob]})" $?
check_no_sanitizer bob "$tmp/bob.err"

# ---- 2. phone -> SIPp UAS
uas_sip=$(free_port udp 1 127.0.0.1)
mport=$(free_port udp 4 127.0.0.1)
sipp_run uas prack_uas.xml -p "$uas_sip" -mi 127.0.0.1 -mp $((mport + (mport & 1)))
uas_pid=$sipp_pid
wait_port udp "$uas_sip" 5
check "SIPp UAS listens on $uas_sip" $? || interop_finish
phone_start alice --user sip:alice@127.0.0.1 --registrar none --listen udp:127.0.0.1:0 \
    --rtp-ports 20000-40000 --rtp-timeout 0 --play silence --session-expires 120
phone_cmd alice "call sip:uas@127.0.0.1:$uas_sip"
phone_wait alice answered 15
check "alice: the SIPp UAS answered" $?
phone_wait alice hungup 15
check "alice: SIPp's BYE ended the call" $?
sipp_ok uas "$uas_pid" "422 retried with 150, PRACK for RSeq 1 and 2 only, 200 ACKed"
n=$(phone_events alice prack)
[ "$n" -eq 2 ]
check "alice: two PRACKs sent (RSeq 1, 2; not the retransmission) ($n)" $?
n=$(phone_events alice early-media)
[ "$n" -eq 1 ]
check "alice: the retransmitted 183 gave no second early-media ($n)" $?
grep -q '"event": *"info".*422' "$tmp/alice.log" &&
    grep -q '"event": *"info".*session timer 150 s, the peer refreshes' "$tmp/alice.log"
check "alice: 422 reported, then a 150 s session timer refreshed by the peer" $? ||
    grep '"info"' "$tmp/alice.log" | sed 's/^/    /'
phone_quit alice
check "alice exits 0 (status ${phone_rc[alice]})" $?
check_no_sanitizer alice "$tmp/alice.err"

# ---- 3. what the phones refuse
p_off=$(free_port udp 1 127.0.0.1)
p_sup=$(free_port udp 1 127.0.0.1)
p_req=$(free_port udp 1 127.0.0.1)
phone_start off --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$p_off" \
    --100rel off
phone_start sup --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$p_sup"
phone_start req --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$p_req" \
    --100rel required
wait_port udp "$p_off" 5 && wait_port udp "$p_sup" 5 && wait_port udp "$p_req" 5
check "three phones listen" $? || interop_finish
py_checks python3 "$srcdir/ua/prack_reject.py" 127.0.0.1 "$p_off" "$p_sup" "$p_req"
for n in off sup req; do
    [ "$(phone_events $n incoming)" -eq 0 ]
    check "$n: no call was set up by a refused INVITE" $?
    phone_quit $n
    check "$n exits 0 (status ${phone_rc[$n]})" $?
    check_no_sanitizer $n "$tmp/$n.err"
done
interop_finish
