#!/usr/bin/env bash
# RFC 4028 session timers between `sipkit phone` and three SIPp UACs calling it at
# once (so the test lasts one session interval, about 60 s, not three):
# 1. interop/scenarios/timer_uac_refresh.xml: Session-Expires: 60 gets 422 with
#    Min-SE: 90; the retry with 90;refresher=uas is answered 90;refresher=uas with
#    Require: timer; the phone refreshes by UPDATE at half the interval (the UAC
#    Allows UPDATE) and reports session-refreshed;
# 2. timer_uac_expire.xml: 90;refresher=uac, then SIPp never refreshes (a peer that
#    vanished): the phone sends a BYE before the session expires and reports the
#    hang-up as a session expiry instead of keeping a zombie call;
# 3. timer_uac_reinvite.xml: 90;refresher=uas from a UAC that does not allow
#    UPDATE: the phone refreshes with a re-INVITE carrying its session;
# 4. phone carol (--session-expires 90 --100rel required) calls bob: bob's 180 is
#    reliable and carol PRACKs it; bob lets the caller refresh (refresher=uac) and
#    carol's UPDATE at 45 s refreshes the session on both sides.
# The phone runs with --rtp-timeout 0: only the session timer may end call 2.
# usage: phone_timer_sipp.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
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
    timeout -k 5 120 sipp -sf "$scen_dir/$scen" -m 1 -i 127.0.0.1 -timeout 100s \
        -timeout_error -nostdin -trace_err -error_file "$tmp/$name.err" -trace_msg \
        -message_file "$tmp/$name.msg" "$@" >"$tmp/$name.out" 2>&1 </dev/null &
    sipp_pid=$!
    cleanup_hooks+=("kill $sipp_pid 2>/dev/null")
}

bob_sip=$(free_port udp 1 127.0.0.1)
phone_start bob --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$bob_sip" \
    --rtp-ports 20000-40000 --auto-answer 0 --rtp-timeout 0 --play silence --max-calls 4 \
    --min-se 90
wait_port udp "$bob_sip" 5
check "phone bob listens on $bob_sip" $? || interop_finish
m1=$(free_port udp 4 127.0.0.1)
m2=$(free_port udp 4 127.0.0.1)
m3=$(free_port udp 4 127.0.0.1)
sipp_run refresh timer_uac_refresh.xml "127.0.0.1:$bob_sip" -p "$(free_port udp 1 127.0.0.1)" \
    -mi 127.0.0.1 -mp $((m1 + (m1 & 1)))
refresh_pid=$sipp_pid
sipp_run expire timer_uac_expire.xml "127.0.0.1:$bob_sip" -p "$(free_port udp 1 127.0.0.1)" \
    -mi 127.0.0.1 -mp $((m2 + (m2 & 1)))
expire_pid=$sipp_pid
sipp_run reinvite timer_uac_reinvite.xml "127.0.0.1:$bob_sip" -p "$(free_port udp 1 127.0.0.1)" \
    -mi 127.0.0.1 -mp $((m3 + (m3 & 1)))
reinvite_pid=$sipp_pid
phone_start carol --user sip:carol@127.0.0.1 --registrar none --listen udp:127.0.0.1:0 \
    --rtp-ports 20000-40000 --rtp-timeout 0 --play silence --session-expires 90 \
    --100rel required
phone_cmd carol "call sip:bob@127.0.0.1:$bob_sip"
phone_wait bob answered 10 4
check "bob answered the four calls" $?
phone_wait carol answered 10
check "carol: bob answered" $?

for name in refresh expire reinvite; do
    pid=${name}_pid
    wait_exit "${!pid}" 110
    wait "${!pid}"
    rc=$?
    [ "$rc" -eq 0 ]
    case $name in
    refresh) what="422 Min-SE 90, 90;refresher=uas + Require: timer, the phone's UPDATE refresh" ;;
    expire) what="90;refresher=uac + Require: timer, then the phone's BYE without a refresh" ;;
    reinvite) what="no UPDATE allowed: the phone's re-INVITE refresh with SDP, ACKed" ;;
    esac
    check "SIPp $name: $what (status $rc)" $? ||
        tail -n 20 "$tmp/$name.out" "$tmp/$name.err" 2>/dev/null | sed 's/^/    /'
done
phone_wait carol session-refreshed 60
check "carol: session-refreshed (her UPDATE at half the interval)" $?
phone_cmd carol hangup
phone_wait bob hungup 10 4
check "bob: the four calls ended" $?
grep -q '"event": *"prack".*"status": *180.*"text": *"sent"' "$tmp/carol.log" &&
    [ "$(phone_events carol prack)" -eq 1 ] && [ "$(phone_events bob prack)" -eq 1 ] &&
    grep -q '"event": *"prack".*"text": *"received"' "$tmp/bob.log"
check "carol PRACKed bob's reliable 180 once, bob got it" $? ||
    grep -h '"prack"' "$tmp/carol.log" "$tmp/bob.log" | sed 's/^/    /'
grep -q '"event": *"info".*session timer 90 s, we refresh' "$tmp/carol.log" &&
    grep -q '"event": *"session-refreshed".*"refresher": *"uac".*"interval": *90.*"text": *"local"' "$tmp/carol.log"
check "carol: a 90 s timer she refreshes, refreshed by her (refresher=uac)" $? ||
    grep -E '"session-refreshed"|"info"' "$tmp/carol.log" | sed 's/^/    /'
n=$(grep -c '"event": *"session-refreshed".*"text": *"remote"' "$tmp/bob.log")
[ "$n" -eq 1 ]
check "bob: one session-refreshed by the peer (carol's UPDATE) ($n)" $?
n=$(grep -c '"event": *"session-refreshed".*"text": *"local"' "$tmp/bob.log")
[ "$n" -eq 2 ]
check "bob: session-refreshed by us twice (the UPDATE's and the re-INVITE's 2xx) ($n)" $? ||
    grep -E '"session-refreshed"|"info"' "$tmp/bob.log" | sed 's/^/    /'
grep -q '"event": *"hungup".*session expired.*"by": *"local"' "$tmp/bob.log"
check "bob: the unrefreshed call ended as a session expiry, by us" $? ||
    grep '"hungup"' "$tmp/bob.log" | sed 's/^/    /'
n=$(grep -c '"event": *"hungup".*session expired' "$tmp/bob.log")
[ "$n" -eq 1 ]
check "bob: only that one call expired ($n)" $?
for n in bob carol; do
    phone_quit $n
    check "$n exits 0 (status ${phone_rc[$n]})" $?
    check_no_sanitizer $n "$tmp/$n.err"
done
interop_finish
