#!/usr/bin/env bash
# Hold and resume between two `sipkit phone`s through `sipkit serve` (issue 18):
#   - alice calls bob (auto-answer), both play a tone; RTP flows both ways
#   - alice `hold`s: a re-INVITE with a=sendonly, bob answers a=recvonly; events
#     held (alice) and remote-hold (bob); for 8 s bob sends no RTP (his sent
#     count and alice's received count stay put) while alice's RTP still reaches
#     bob, and bob's RTCP goes on
#   - alice `resume`s: resumed / remote-resume, RTP grows again both ways
#   - glare: with the server stopped (SIGSTOP) both send `hold`, so that the two
#     re-INVITEs cross; after SIGCONT each gets 491, retries after the §14.1 wait
#     (bob, who does not own the Call-ID, first) and both end up held both ways
#     (held and remote-hold at each, `status` says "on hold both ways", nobody
#     sends RTP); then both `resume` the same way and RTP flows both ways again
#   - clean hang-up and exits
# Packet counts come from the phones' `stats` command. Everything on loopback.
# usage: phone_hold.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

pw_alice="alice-pw-$$"
pw_bob="bob-pw-$$"
users_add alice:"$pw_alice" bob:"$pw_bob" || interop_finish
port=$(free_port)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port" $? || interop_finish

a=alice b=bob
common=(--listen "udp:127.0.0.1:0" --registrar "sip:127.0.0.1:$port"
        --outbound-proxy "sip:127.0.0.1:$port" --rtp-ports 20000-40000)
phone_start $b "${common[@]}" --user sip:bob@localhost --password "$pw_bob" --auto-answer 0 \
    --play tone:1000
phone_start $a "${common[@]}" --user sip:alice@localhost --password "$pw_alice" --play tone:440
phone_wait $b registered && phone_wait $a registered
check "both phones registered" $? || interop_finish

# last_field NAME EVENT KEY: KEY's value (a number or a string) in the phone's
# last EVENT line (sed, not Python: this runs often on a loaded machine)
last_field() {
    grep -E "\"event\": *\"$2\"" "$tmp/$1.log" | tail -n 1 |
        sed -n -E "s/.*\"$3\": *(\"([^\"]*)\"|([0-9]+)).*/\2\3/p"
}
# stats NAME: asks for the packet counts and sets rx tx rtcp (of that phone's last stats line)
stats() {
    local n
    n=$(phone_events "$1" stats)
    phone_cmd "$1" stats
    phone_wait "$1" stats 5 $((n + 1)) || { rx=x tx=x rtcp=x; return 1; }
    rx=$(last_field "$1" stats rx_packets) tx=$(last_field "$1" stats tx_packets)
    rtcp=$(last_field "$1" stats rtcp_sent)
    : "${rx:=x}" "${tx:=x}" "${rtcp:=x}"
}
# snap TAG: stats of both phones into TAG_{a,b}_{rx,tx,rtcp}
snap() {
    stats $a; eval "$1_a_rx=$rx $1_a_tx=$tx $1_a_rtcp=$rtcp"
    stats $b; eval "$1_b_rx=$rx $1_b_tx=$tx $1_b_rtcp=$rtcp"
}
grows() { [ "$1" != x ] && [ "$2" != x ] && [ "$2" -gt $(($1 + 20)) ]; } # > 20 packets more
still() { [ "$1" != x ] && [ "$1" = "$2" ]; }
# status_has NAME TEXT: the phone's `status` lists the call with TEXT
status_has() {
    local n
    n=$(phone_events "$1" status)
    phone_cmd "$1" status
    phone_wait "$1" status 5 $((n + 1)) && last_field "$1" status text | grep -q -- "$2"
}

phone_cmd $a "call sip:bob@localhost"
phone_wait $a answered && phone_wait $b answered
check "call answered" $? || interop_finish
sleep 1
snap s0
sleep 1
snap s1
grows "$s0_a_rx" "$s1_a_rx" && grows "$s0_b_rx" "$s1_b_rx"
check "before the hold RTP flows both ways (alice rx $s0_a_rx -> $s1_a_rx, bob rx $s0_b_rx -> $s1_b_rx)" $?

# ---- alice holds ----
phone_cmd $a hold
phone_wait $a held && phone_wait $b remote-hold
check "alice: held, bob: remote-hold" $? || tail -n 5 "$tmp/$a.log" "$tmp/$b.log" | sed 's/^/    /'
sleep 0.5 # packets already on their way
snap h0
sleep 8
snap h1
still "$h0_b_tx" "$h1_b_tx"
check "on hold bob (the held side, recvonly) sends no RTP (sent $h0_b_tx -> $h1_b_tx)" $?
still "$h0_a_rx" "$h1_a_rx"
check "on hold alice receives no RTP (received $h0_a_rx -> $h1_a_rx)" $?
grows "$h0_a_tx" "$h1_a_tx" && grows "$h0_b_rx" "$h1_b_rx"
check "on hold alice (sendonly) still sends and bob receives (alice sent $h0_a_tx -> $h1_a_tx, bob received $h0_b_rx -> $h1_b_rx)" $?
[ "$h0_b_rtcp" != x ] && [ "$h1_b_rtcp" != x ] && [ "$h1_b_rtcp" -gt "$h0_b_rtcp" ]
check "on hold bob's RTCP goes on (reports sent $h0_b_rtcp -> $h1_b_rtcp)" $?
status_has $a "on hold (by us)" && status_has $b "on hold (by the peer)"
check "status: alice 'on hold (by us)', bob 'on hold (by the peer)'" $?
phone_cmd $a hold
phone_wait $a info 5 && last_field $a info text | grep -q "already so"
check "a second hold is refused as 'already so'" $?

# ---- alice resumes ----
phone_cmd $a resume
phone_wait $a resumed && phone_wait $b remote-resume
check "alice: resumed, bob: remote-resume" $?
sleep 0.5
snap r0
sleep 1.5
snap r1
grows "$r0_a_rx" "$r1_a_rx" && grows "$r0_b_rx" "$r1_b_rx" && grows "$r0_b_tx" "$r1_b_tx"
check "after the resume RTP flows both ways again (alice rx $r0_a_rx -> $r1_a_rx, bob tx $r0_b_tx -> $r1_b_tx)" $?

# crossed TAG CMD: both phones send CMD while the server is stopped, so that
# their re-INVITEs cross (each is pending when the other's arrives)
crossed() {
    local na nb
    na=$(phone_events $a info) nb=$(phone_events $b info)
    kill -STOP "$server_pid"
    phone_cmd $a "$2"; phone_cmd $b "$2"
    sleep 1
    kill -CONT "$server_pid"
    phone_wait $a info 10 $((na + 1)) && phone_wait $b info 10 $((nb + 1)) &&
        last_field $a info text | grep -q '491' && last_field $b info text | grep -q '491'
    check "$1: the crossed re-INVITEs both got 491 (alice: $(last_field $a info text); bob: $(last_field $b info text))" $?
}

# ---- glare: both hold at once ----
crossed glare hold
phone_wait $a held 15 2 && phone_wait $b held 15 1 && phone_wait $a remote-hold 15 1 &&
    phone_wait $b remote-hold 15 2
check "glare: both end up holding and held (held/remote-hold at both)" $? ||
    grep -h -E 'held|hold|491|info' "$tmp/$a.log" "$tmp/$b.log" | sed 's/^/    /'
status_has $a "on hold both ways" && status_has $b "on hold both ways"
check "glare: both phones' status says 'on hold both ways'" $?
sleep 0.5
snap g0
sleep 2
snap g1
still "$g0_a_tx" "$g1_a_tx" && still "$g0_b_tx" "$g1_b_tx"
check "glare: held both ways nobody sends RTP (alice $g0_a_tx -> $g1_a_tx, bob $g0_b_tx -> $g1_b_tx)" $?

# ---- both resume at once ----
crossed "glare on resume" resume
phone_wait $a resumed 15 2 && phone_wait $b resumed 15 1 && phone_wait $a remote-resume 15 1 &&
    phone_wait $b remote-resume 15 2
check "glare on resume: both resumed and remote-resumed" $? ||
    grep -h -E 'resume|491|info' "$tmp/$a.log" "$tmp/$b.log" | sed 's/^/    /'
sleep 0.5
snap e0
sleep 1.5
snap e1
grows "$e0_a_rx" "$e1_a_rx" && grows "$e0_b_rx" "$e1_b_rx"
check "after both resumed RTP flows both ways (alice rx $e0_a_rx -> $e1_a_rx, bob rx $e0_b_rx -> $e1_b_rx)" $?

phone_cmd $a hangup
phone_wait $a hungup && phone_wait $b hungup
check "hang-up seen on both sides" $?
out="$(ev $a get hungup status)/$(ev $b get hungup by)"
[ "$out" = "200/remote" ]
check "the call ended normally (alice status/bob by: $out)" $?
phone_quit $a
check "alice exits 0 (status ${phone_rc[$a]})" $?
phone_quit $b
check "bob exits 0 (status ${phone_rc[$b]})" $?
check_no_sanitizer alice "$tmp/$a.err"
check_no_sanitizer bob "$tmp/$b.err"
server_stop_checked
interop_finish
