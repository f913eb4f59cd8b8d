#!/usr/bin/env bash
# Calls that fail, between `sipkit phone`s and `sipkit call` through `sipkit serve`
# (issue 15). For each case the calling phone's hungup event carries the status,
# and `sipkit call` exits with its class:
#   404 callee not a user (exit 4); 480 a user that is not registered (5);
#   486 the callee's `reject` (3) and a callee busy in another call (3);
#   603 `decline` (8); 487 the caller hangs up while it rings (the phone's
#   `hangup`; SIGTERM to `sipkit call`: 5); `sipkit call --timeout 3` that
#   nobody answers (5); 488 no common codec
#   (callee --codecs PCMA, caller PCMU) (7); a wrong password: registration-failed
#   401/403 after exactly one retry (the server counts 2 REGISTERs, no auth loop),
#   and `sipkit call` exits 6; the callee vanishes mid-call (SIGSTOP after the
#   answer): the caller's --rtp-timeout 5 ends it with by=rtp-timeout, exit 11,
#   and the callee, resumed, still ends the call and exits cleanly.
# Ports are picked at run time; everything on loopback.
# usage: phone_failures.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v python3 >/dev/null || { check "python3 installed" 1; interop_finish; }

declare -A pw=()
for u in alice bob carol dave erin; do pw[$u]="$u-pw-$$"; done
users_add alice:"${pw[alice]}" bob:"${pw[bob]}" carol:"${pw[carol]}" dave:"${pw[dave]}" \
    erin:"${pw[erin]}" || interop_finish
port=$(free_port)
listen_protos=(udp)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port" $? || interop_finish

proxy=sip:127.0.0.1:$port
common=(--registrar "127.0.0.1:$port" --outbound-proxy "$proxy" --rtp-ports 20000-40000)
phone_start alice "${common[@]}" --user sip:alice@localhost --password "${pw[alice]}" \
    --codecs PCMU --play tone:440
phone_start bob "${common[@]}" --user sip:bob@localhost --password "${pw[bob]}"
phone_start dave "${common[@]}" --user sip:dave@localhost --password "${pw[dave]}" --auto-answer 0
phone_start erin "${common[@]}" --user sip:erin@localhost --password "${pw[erin]}" \
    --auto-answer 0 --codecs PCMA
ok=0
for p in alice bob dave erin; do phone_wait "$p" registered || ok=1; done
check "alice, bob, dave and erin registered" $ok || {
    tail -n 3 "$tmp"/*.log "$tmp"/*.err | sed 's/^/    /'
    interop_finish; }

# what `sipkit call` runs with: alice's credentials, through the server
callargs=(--user sip:alice@localhost --password "${pw[alice]}" --outbound-proxy "$proxy"
          --codecs PCMU --timeout 20 --duration 2 --rtp-ports 20000-40000)
hung() { ev "$1" get hungup "$2" 2>/dev/null || echo '?'; }
ncall=0

# phone_fails TARGET STATUS LABEL [CALLEE ACTION]: alice's phone calls TARGET;
# the callee (if named) does ACTION when the call comes in; alice's call must
# end with STATUS.
phone_fails() {
    local target=$1 want=$2 label=$3 callee=${4:-} action=${5:-} n m got
    n=$(phone_events alice hungup)
    local r
    r=$(phone_events alice ringing)
    [ -n "$callee" ] && m=$(phone_events "$callee" incoming)
    phone_cmd alice "call sip:$target@localhost"
    if [ -n "$callee" ]; then
        phone_wait "$callee" incoming 10 $((m + 1)) && phone_wait alice ringing 10 $((r + 1))
        check "$label: $callee's phone rings" $?
        phone_cmd "$callee" "$action"
    fi
    phone_wait alice hungup 15 $((n + 1))
    got=$(hung alice status)
    [ "$got" = "$want" ]
    st_=$?; check "$label: alice's phone: hungup status $want (got $got: $(hung alice reason))" $st_
}

# call_fails TARGET EXIT STATUS LABEL [CALLEE ACTION [EXTRA ARGS...]]: the same with `sipkit call`
call_fails() {
    local target=$1 want=$2 status=$3 label=$4 callee=${5:-} action=${6:-} name m got
    shift 6 2>/dev/null || shift $#
    ncall=$((ncall + 1))
    name=call$ncall
    [ -n "$callee" ] && m=$(phone_events "$callee" incoming)
    call_start "$name" "${callargs[@]}" "$@" "sip:$target@localhost"
    if [ -n "$callee" ]; then
        phone_wait "$callee" incoming 10 $((m + 1))
        check "$label: $callee's phone rings for sipkit call" $?
        [ -n "$action" ] && phone_cmd "$callee" "$action"
    fi
    call_wait "$name" 30
    [ "${phone_rc[$name]}" = "$want" ]
    check "$label: sipkit call exits $want (got ${phone_rc[$name]})" $? ||
        tail -n 3 "$tmp/$name.log" "$tmp/$name.err" | sed 's/^/    /'
    got=$(hung "$name" status)
    [ "$got" = "$status" ]
    check "$label: sipkit call's hungup status $status (got $got)" $?
}

phone_fails nobody 404 "404 not a user"
call_fails nobody 4 404 "404 not a user"
phone_fails carol 480 "480 not registered"
call_fails carol 5 480 "480 not registered"
phone_fails bob 486 "486 reject" bob reject
call_fails bob 3 486 "486 reject" bob reject
phone_fails bob 603 "603 decline" bob decline
call_fails bob 8 603 "603 decline" bob decline
phone_fails erin 488 "488 no common codec"
got=$(hung alice reason)
[[ "$got" == *"Warning: 305 "* ]]
check "488: the callee's Warning 305 reaches alice's phone (reason: $got)" $?
call_fails erin 7 488 "488 no common codec"
got=$(hung "call$ncall" reason)
[[ "$got" == *"Warning: 305 "* ]]
check "488: and sipkit call (reason: $got)" $?

# 486 busy: dave is in a call with alice; a second call to him is refused
phone_cmd alice "call sip:dave@localhost"
phone_wait alice answered && phone_wait dave answered
check "busy: alice's call to dave answered" $?
call_fails dave 3 486 "486 busy (dave in another call)"
n=$(phone_events alice hungup)
phone_cmd alice hangup
phone_wait alice hungup 10 $((n + 1)) && phone_wait dave hungup
check "busy: alice's call to dave ends" $?

# 487: alice hangs up while bob's phone rings (CANCEL)
n=$(phone_events bob hungup)
na=$(phone_events alice hungup)
r=$(phone_events alice ringing)
m=$(phone_events bob incoming)
phone_cmd alice "call sip:bob@localhost"
phone_wait bob incoming 10 $((m + 1)) && phone_wait alice ringing 10 $((r + 1))
check "487: bob's phone rings" $?
phone_cmd alice hangup
phone_wait alice hungup 10 $((na + 1)) && phone_wait bob hungup 10 $((n + 1))
check "487: both phones see the call end" $?
got="$(hung alice status) by=$(hung alice by) / $(hung bob status) by=$(hung bob by)"
[ "$got" = "487 by=local / 487 by=remote" ]
check "487: both phones see the cancelled call (got $got)" $?

# 487 with sipkit call: SIGTERM while bob's phone rings (CANCEL, then exit)
n=$(phone_events bob hungup)
m=$(phone_events bob incoming)
call_start term "${callargs[@]}" sip:bob@localhost
phone_wait bob incoming 10 $((m + 1)) && phone_wait term ringing
check "487 (sipkit call): bob's phone rings" $?
kill -TERM "${phone_pid[term]}"
call_wait term 15
[ "${phone_rc[term]}" = 5 ]
check "487 (sipkit call): SIGTERM while ringing: exit 5 (got ${phone_rc[term]})" $?
got=$(hung term status)
[ "$got" = 487 ]
check "487 (sipkit call): its hungup status 487 (got $got)" $?
phone_wait bob hungup 10 $((n + 1))
got=$(hung bob status)
[ "$got" = 487 ]
check "487 (sipkit call): bob's phone sees the CANCEL (status $got)" $?

# no answer: `sipkit call --timeout 3` to bob, who lets it ring
n=$(phone_events bob hungup)
call_fails bob 5 408 "no answer in 3 s" bob "" --timeout 3
phone_wait bob hungup 10 $((n + 1))
check "no answer: bob's phone sees the call end" $?

# a wrong password: one REGISTER, its challenge, one answer, refused; no loop
requests() { "$sipkit" ctl stats --data "$tmp/data" 2>/dev/null | awk '$1 == "requests" { print $2 }'; }
before=$(requests)
phone_start mallory "${common[@]}" --user sip:alice@localhost --password "wrong-$$"
phone_wait mallory registration-failed 10
check "wrong password: registration-failed" $?
got=$(ev mallory get registration-failed status 2>/dev/null)
[ "$got" = 401 ] || [ "$got" = 403 ]
check "wrong password: registration-failed with 401 or 403 (got $got)" $?
sleep 3 # the window in which an auth loop would show
after=$(requests)
[ $((after - before)) -eq 2 ]
check "wrong password: the server received exactly 2 REGISTERs (got $((after - before)))" $?
phone_quit mallory
check "wrong password: the phone exits 0 (status ${phone_rc[mallory]})" $?
! phone_has mallory registered
check "wrong password: never registered" $?
callargs_ok=("${callargs[@]}")
callargs=(--user sip:alice@localhost --password "wrong-$$" --outbound-proxy "$proxy" --codecs PCMU)
call_fails bob 6 407 "wrong password (sipkit call)"
callargs=("${callargs_ok[@]}")

# the callee vanishes: dave stops after the answer; the caller's RTP timeout ends it
call_start vanish "${callargs[@]}" --rtp-timeout 5 --duration 60 sip:dave@localhost
phone_wait vanish answered 10 && phone_wait dave answered 10 2
check "vanish: dave answers sipkit call" $?
kill -STOP "${phone_pid[dave]}"
call_wait vanish 30
[ "${phone_rc[vanish]}" = 11 ]
check "vanish: sipkit call exits 11 (got ${phone_rc[vanish]})" $?
got="$(hung vanish by) $(hung vanish status)"
[ "$got" = "rtp-timeout 408" ]
check "vanish: hungup by=rtp-timeout status 408 (got $got)" $?
kill -CONT "${phone_pid[dave]}"
phone_wait dave hungup 15 2
st_=$?; check "vanish: dave, resumed, sees the call end ($(hung dave by): $(hung dave reason))" $st_

# every phone quits cleanly (and unregisters)
for p in alice bob dave erin; do
    phone_quit "$p"
    check "$p exits 0 on EOF (status ${phone_rc[$p]})" $?
    phone_has "$p" unregistered
    check "$p unregistered on the way out" $?
    check_no_sanitizer "$p" "$tmp/$p.err"
done
for ((i = 1; i <= ncall; i++)); do check_no_sanitizer "call$i" "$tmp/call$i.err"; done
check_no_sanitizer vanish "$tmp/vanish.err"
check_no_sanitizer term "$tmp/term.err"
check_no_sanitizer mallory "$tmp/mallory.err"
server_stop_checked
interop_finish
