#!/usr/bin/env bash
# Call forwarding by 302 (issue 18, RFC 3261 §8.1.3.4, §21.3.3): `sipkit phone`s
# through `sipkit serve`, which passes the 302 back to the caller.
#   - always: alice calls bob, who runs --forward carol; bob answers 302
#     (event forwarded), alice follows the Contact (event redirected naming
#     sip:carol@localhost) and the call connects with carol, who auto-answers
#   - busy: bob auto-answers alice's call; dave's call to bob while it lasts
#     is forwarded to carol and connects there; alice's stays up
#   - no-answer:2: bob does not answer; after 2 s of ringing the call goes to
#     carol, bob's side ends (hungup 302)
#   - a loop: bob forwards to carol, carol back to bob: alice tries carol once,
#     does not go back to bob (the loop guard), and the call fails with the 302
#   - q order: a redirect server (tests/ua/redirect_server.py) answers 302
#     with dave;q=1.0 (not registered: 480), carol;q=0.5, bob;q=0.1: alice tries
#     dave, then carol, and the call connects with carol; bob never rings
#   - clean exits, no sanitizer report
# Ports are picked at run time; everything on loopback.
# usage: phone_forward.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v python3 >/dev/null || { check "python3 installed" 1; interop_finish; }

users_add alice:"alice-pw-$$" bob:"bob-pw-$$" carol:"carol-pw-$$" dave:"dave-pw-$$" ||
    interop_finish
port=$(free_port)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port" $? || interop_finish

start() { # NAME TAG [args...]: a registered phone named NAME_TAG
    local n=$1 tag=$2
    shift 2
    phone_start "${n}_$tag" --listen udp:127.0.0.1:0 --registrar "sip:127.0.0.1:$port" \
        --outbound-proxy "sip:127.0.0.1:$port" --rtp-ports 20000-40000 \
        --user "sip:$n@localhost" --password "$n-pw-$$" "$@"
    phone_wait "${n}_$tag" registered
    check "$tag: $n registered" $?
}
quit_all() { # TAG NAMES...
    local tag=$1 n
    shift
    for n in "$@"; do
        phone_quit "${n}_$tag"
        check "$tag: $n exits 0 (status ${phone_rc[${n}_$tag]})" $?
        check_no_sanitizer "$tag: $n" "$tmp/${n}_$tag.err"
    done
}

# ---- always
start carol always --auto-answer 0
start bob always --forward carol --forward-mode always
start alice always
phone_cmd alice_always "call bob"
phone_wait alice_always answered && phone_wait carol_always answered
check "always: alice's call to bob connects with carol" $?
out=$(ev alice_always get redirected text)/$(ev alice_always get redirected status)
[ "$out" = "sip:carol@localhost/302" ]
check "always: alice was redirected by a 302 to sip:carol@localhost (got $out)" $?
out=$(ev bob_always get forwarded text)/$(ev bob_always get forwarded reason)
[ "$out" = "sip:carol@localhost/always" ]
check "always: bob forwarded the call (got $out)" $?
out=$(ev carol_always get incoming peer)
[ "$out" = "sip:alice@localhost" ]
check "always: carol sees alice calling (got $out)" $?
! phone_has bob_always incoming
check "always: bob's phone never rang" $?
phone_cmd alice_always hangup
phone_wait alice_always hungup && phone_wait carol_always hungup
check "always: the call ends on both sides" $?
quit_all always alice bob carol
ev alice_always order registered calling redirected ringing? answered hungup unregistered
check "always: alice's events in order" $?

# ---- busy
start carol busy --auto-answer 0
start bob busy --forward sip:carol@localhost --forward-mode busy --auto-answer 0
start alice busy
start dave busy
phone_cmd alice_busy "call bob"
phone_wait alice_busy answered && phone_wait bob_busy answered
check "busy: alice's call to the idle bob connects with bob" $?
! phone_has alice_busy redirected
check "busy: alice was not redirected" $?
phone_cmd dave_busy "call bob"
phone_wait dave_busy answered && phone_wait carol_busy answered
check "busy: dave's call to the busy bob connects with carol" $?
out=$(ev bob_busy get forwarded reason)/$(ev dave_busy get redirected text)
[ "$out" = "busy/sip:carol@localhost" ]
check "busy: bob forwarded it as busy, dave was sent to carol (got $out)" $?
! phone_has alice_busy hungup
check "busy: alice's call with bob is still up" $?
phone_cmd alice_busy hangup
phone_cmd dave_busy hangup
phone_wait alice_busy hungup && phone_wait bob_busy hungup && phone_wait dave_busy hungup &&
    phone_wait carol_busy hungup
check "busy: both calls end" $?
quit_all busy alice bob carol dave

# ---- no answer
start carol noans --auto-answer 0
start bob noans --forward carol --forward-mode no-answer:2
start alice noans
phone_cmd alice_noans "call bob"
phone_wait bob_noans incoming
check "noans: bob's phone rings" $?
phone_wait alice_noans answered 15 && phone_wait carol_noans answered
check "noans: after bob's 2 s without an answer the call connects with carol" $?
out=$(ev bob_noans get hungup status)/$(ev bob_noans get forwarded reason)
[ "$out" = "302/no-answer" ]
check "noans: bob's side ends 302, forwarded for no answer (got $out)" $?
out=$(ev alice_noans get redirected text)
[ "$out" = "sip:carol@localhost" ]
check "noans: alice was redirected to carol (got $out)" $?
phone_cmd carol_noans hangup
phone_wait alice_noans hungup && phone_wait carol_noans hungup
check "noans: the call ends on both sides" $?
quit_all noans alice bob carol

# ---- a forwarding loop
start carol loop --forward bob
start bob loop --forward carol
start alice loop
phone_cmd alice_loop "call bob"
phone_wait alice_loop hungup 15
check "loop: alice's call ends" $?
out=$(ev alice_loop get hungup status)
[ "$out" = 302 ]
check "loop: with the 302 that had nowhere new to go (got $out)" $?
out=$(ev alice_loop list | grep -c '^redirected$')/$(ev alice_loop get redirected text)
[ "$out" = "1/sip:carol@localhost" ]
check "loop: alice was redirected once, to carol, not back to bob (got $out)" $?
quit_all loop alice bob carol

# ---- a 302 with several Contacts, from a redirect server of another domain
rport=$(free_port)
python3 "$srcdir/ua/redirect_server.py" "$rport" "<sip:bob@localhost>;q=0.1" \
    "<sip:dave@localhost>;q=1.0" "<sip:carol@localhost>;q=0.5" 2>"$tmp/redir.err" &
redir_pid=$!
cleanup_hooks+=("kill $redir_pid 2>/dev/null; wait $redir_pid 2>/dev/null")
start carol qorder --auto-answer 0
start bob qorder --auto-answer 0
start alice qorder
phone_cmd alice_qorder "call sip:redirect@127.0.0.1:$rport"
phone_wait alice_qorder answered 15 && phone_wait carol_qorder answered
check "qorder: alice's call to the redirect server connects with carol" $?
out=$(ev alice_qorder get redirected text 1)/$(ev alice_qorder get redirected text 2)
[ "$out" = "sip:dave@localhost/sip:carol@localhost" ]
check "qorder: dave (q=1.0) tried first, carol (q=0.5) after dave's failure (got $out)" $?
out=$(ev alice_qorder get redirected status 2)
[ "$out" = 480 ]
check "qorder: the move to carol followed dave's 480 (got $out)" $?
! phone_has bob_qorder incoming
check "qorder: bob (q=0.1) never rang" $?
phone_cmd alice_qorder hangup
phone_wait alice_qorder hungup && phone_wait carol_qorder hungup
check "qorder: the call ends on both sides" $?
quit_all qorder alice bob carol
kill "$redir_pid" 2>/dev/null
server_stop_checked
interop_finish
