#!/usr/bin/env bash
# End-to-end calls between two `sipkit phone`s through `sipkit serve` (issue 15),
# once with the phones on UDP and once on TCP:
#   - alice and bob register with passwords; `sipkit ctl registrations` lists
#     both while they run (over TCP: via TCP) and neither after they quit
#   - call 1: bob auto-answers; alice plays tone:440, bob tone:1000, both
#     record; alice sends DTMF 123#; after 10 s alice hangs up
#   - call 2: bob answers with the `answer` command and plays a speech WAV
#     (espeak-ng, converted with sox to 8 kHz mono 16-bit); after 10 s bob
#     hangs up
#   - checks: each phone's events in order (bob's DTMF: 1 2 3 # in order),
#     who hung up, bob's recording is 440 Hz and alice's 1000 Hz (±10 Hz),
#     alice's recording of the speech correlates with the file (> 0.8),
#     recordings as long as the call (±1 s), the hungup quality figures: 0
#     lost, > 400 packets each way, MOS > 4.0, RTT known; clean exits
# Ports are picked at run time; everything on loopback.
# usage: phone_call.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
wavcheck=${3:-$(dirname "$sipkit")/tests/wavcheck}
. "$srcdir/interop/lib/common.bash"
interop_init
talk_s=10

for tool in python3 sox espeak-ng "$wavcheck"; do
    command -v "$tool" >/dev/null || { check "$tool installed" 1; interop_finish; }
done

pw_alice="alice-pw-$$"
pw_bob="bob-pw-$$"
users_add alice:"$pw_alice" bob:"$pw_bob" || interop_finish
port=$(free_port)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port (udp and tcp)" $? || interop_finish

# The speech: a sentence, 8 kHz mono 16-bit as the phones play it.
espeak-ng -w "$tmp/speech22k.wav" "The quick brown fox jumps over the lazy dog. \
Testing one two three, sipkit calls bob." 2>"$tmp/espeak.err" &&
    sox "$tmp/speech22k.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/speech.wav" 2>"$tmp/sox.err"
check "speech WAV made (espeak-ng, sox)" $? || interop_finish

regs() { "$sipkit" ctl registrations --data "$tmp/data" 2>&1; }
registered_count() { # how many of alice and bob have a binding now
    local out n=0
    out=$(regs)
    grep -q '^sip:alice@localhost' <<<"$out" && n=$((n + 1))
    grep -q '^sip:bob@localhost' <<<"$out" && n=$((n + 1))
    echo $n
}
no_bindings() { [ "$(registered_count)" -eq 0 ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
num() { # ev NAME get ... but "?" when missing
    ev "$@" 2>/dev/null || echo '?'
}
# near A B TOL: |A - B| <= TOL (A, B numbers; false if either is not one)
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { if (a !~ /^-?[0-9.]+$/ || b !~ /^-?[0-9.]+$/) exit 1; d = a - b; exit !(d <= t && -d <= t) }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^-?[0-9.]+$/) exit 1; exit !(a > b) }'; }

# wav_length_check TAG NAME: its recording lasts as long as its call (±1 s)
wav_length_check() {
    local tag=$1 n=$2 dur rec
    dur=$(num "$n" get hungup duration_ms)
    rec=$("$wavcheck" info "$tmp/$n.wav" 2>&1 | sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p')
    near "${rec:-x}" "$(awk -v d="$dur" 'BEGIN { print d / 1000 }')" 1
    check "$tag: $n's recording lasts as long as the call (${rec:-?} s, call $dur ms)" $?
}

freq_check() { # TAG NAME HZ
    local f
    f=$("$wavcheck" freq "$tmp/$2.wav" 2>&1 | sed -n 's/.*freq_hz=\([0-9.]*\).*/\1/p')
    near "${f:-x}" "$3" 10
    check "$3 Hz recorded by $2 ($1: dominant frequency ${f:-?} Hz)" $?
}

# one_call TAG TRANSPORT ANSWER(auto|command) HANGUP_BY(alice|bob) BOB_PLAY
one_call() {
    local tag=$1 tr=$2 answer=$3 by=$4 play=$5
    local a=alice_$tag b=bob_$tag dest=127.0.0.1:$port t0 left out n bob_args common
    [ "$tr" = tcp ] && dest="127.0.0.1:$port;transport=tcp"
    common=(--listen "$tr:127.0.0.1:0" --registrar "sip:$dest" --outbound-proxy "sip:$dest"
            --rtp-ports 20000-40000)
    bob_args=(--user sip:bob@localhost --password "$pw_bob" --record "$tmp/$b.wav" --play "$play")
    [ "$answer" = auto ] && bob_args+=(--auto-answer 0)

    phone_start "$b" "${common[@]}" "${bob_args[@]}"
    phone_start "$a" "${common[@]}" --user sip:alice@localhost --password "$pw_alice" \
        --record "$tmp/$a.wav" --play tone:440
    phone_wait "$b" registered && phone_wait "$a" registered
    check "$tag: both phones registered over $tr" $? || {
        tail -n 5 "$tmp/$a.log" "$tmp/$a.err" "$tmp/$b.log" "$tmp/$b.err" | sed 's/^/    /'
        phone_quit "$a"; phone_quit "$b"; return 1; }
    out=$(regs)
    [ "$(registered_count)" -eq 2 ]
    check "$tag: ctl registrations lists alice and bob" $? || sed 's/^/    /' <<<"$out"
    if [ "$tr" = tcp ]; then
        n=$(grep -c 'via TCP:' <<<"$out")
        [ "$n" -eq 2 ]
        check "$tag: both bindings are TCP flows (got $n)" $? || sed 's/^/    /' <<<"$out"
    fi

    phone_cmd "$a" "call sip:bob@localhost"
    if [ "$answer" = command ]; then
        phone_wait "$b" incoming && phone_wait "$a" ringing
        check "$tag: bob sees the incoming call, alice hears ringing" $?
        phone_cmd "$b" answer
    fi
    phone_wait "$a" answered && phone_wait "$b" answered
    check "$tag: call answered on both sides ($answer answer)" $? || {
        phone_quit "$a"; phone_quit "$b"; return 1; }
    t0=$(now_ms)
    if [ "$answer" = auto ]; then
        phone_cmd "$a" "dtmf 123#"
        phone_wait "$b" dtmf-received 10 4
        check "$tag: bob received 4 DTMF events" $?
        out=$(ev "$b" digits)
        [ "$out" = "123#" ]
        check "$tag: bob's digits are 123# in order (got '$out')" $?
    fi
    left=$((talk_s * 1000 - ($(now_ms) - t0)))
    [ $left -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
    if [ "$by" = alice ]; then phone_cmd "$a" hangup; else phone_cmd "$b" hangup; fi
    phone_wait "$a" hungup && phone_wait "$b" hungup
    check "$tag: both sides see the call end ($by hung up)" $?
    phone_quit "$a"
    check "$tag: alice exits 0 on EOF (status ${phone_rc[$a]})" $?
    phone_quit "$b"
    check "$tag: bob exits 0 on EOF (status ${phone_rc[$b]})" $?
    wait_until 5 no_bindings
    check "$tag: neither phone is registered after they quit" $? || regs | sed 's/^/    /'

    # the events, in order
    if [ "$answer" = auto ]; then
        # bob answers at once: the proxy may forward his 180 after the 200
        ev "$a" order registered calling ringing? answered hungup unregistered
    else
        ev "$a" order registered calling ringing answered hungup unregistered
    fi
    check "$tag: alice's events in order" $?
    if [ "$answer" = auto ]; then
        ev "$b" order registered incoming answered dtmf-received dtmf-received \
            dtmf-received dtmf-received hungup unregistered
    else
        ev "$b" order registered incoming answered hungup unregistered
    fi
    check "$tag: bob's events in order" $?
    local byb=remote bya=local
    [ "$by" = bob ] && { bya=remote; byb=local; }
    out="$(num "$a" get hungup by)/$(num "$b" get hungup by)"
    [ "$out" = "$bya/$byb" ]
    check "$tag: hungup by=$bya at alice, by=$byb at bob (got $out)" $?
    if [ "$answer" = auto ]; then
        out=$(num "$b" get hungup quality.dtmf_received)/$(num "$a" get hungup quality.dtmf_sent)
        [ "$out" = "123#/123#" ]
        check "$tag: reports: alice sent 123#, bob received 123# (got $out)" $?
    fi

    # the media
    py_checks ev "$a" quality "$tag: alice"
    py_checks ev "$b" quality "$tag: bob"
    wav_length_check "$tag" "$a"
    wav_length_check "$tag" "$b"
    freq_check "$tag" "$b" 440
    if [ "$play" = tone:1000 ]; then
        freq_check "$tag" "$a" 1000
    else
        out=$("$wavcheck" xcorr "$tmp/$a.wav" "$tmp/speech.wav" 2>&1)
        n=$(sed -n 's/.*coef=\([-0-9.]*\).*/\1/p' <<<"$out")
        gt "${n:-x}" 0.8
        check "$tag: alice's recording correlates with the speech bob played ($out)" $?
    fi
    check_no_sanitizer "$tag: alice" "$tmp/$a.err"
    check_no_sanitizer "$tag: bob" "$tmp/$b.err"
}

for tr in udp tcp; do
    one_call "$tr-1" "$tr" auto alice tone:1000
    one_call "$tr-2" "$tr" command bob "$tmp/speech.wav"
done
server_stop_checked
interop_finish
