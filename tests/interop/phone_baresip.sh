#!/usr/bin/env bash
# baresip (Debian's 1.0) against sipkit's user agent, both registered to
# `sipkit serve --digest md5` (baresip 1.0 cannot answer SHA-256 challenges).
# baresip has no sound device here: ausine is its source (a 600 Hz sine:
# ausine 1.0 has no default frequency, the device string is it, and without
# one the call fails with "frequency must be between 10 and 20000 Hz"),
# aubridge its player, and the sndfile filter dumps what it sends and
# hears to 8 kHz mono WAV files.
# 1. baresip dials a `sipkit phone` (auto-answer, recording): the call
#    connects, baresip's BYE ends it, the phone's recording holds the 600 Hz
#    tone and its report a codec and received packets;
# 2. `sipkit call` (tone:1000, digits 159#) calls baresip (answermode=auto):
#    exit 0, the recording holds 600 Hz, baresip's decode dump holds 1000 Hz,
#    and baresip logged the four RFC 4733 events in order.
# usage: phone_baresip.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
. "$srcdir/interop/lib/phone.bash"

command -v baresip >/dev/null || { echo "SKIP: baresip not installed"; exit 77; }
moddir=""
for d in /usr/lib/baresip/modules /usr/lib/*/baresip/modules /usr/local/lib/baresip/modules; do
    [ -f "$d/ausine.so" ] && moddir=$d && break
done
for m in g711 ausine aubridge sndfile account menu; do
    [ -n "$moddir" ] && [ -f "$moddir/$m.so" ] || { echo "SKIP: baresip module $m not found"; exit 77; }
done
tone=600 # baresip's

port=$(free_udp_port)
bs_sip=$(free_udp_port)
bs_rtp=$(free_udp_range 20)
rtp_a=$(free_udp_range 8)
[ -n "$port" ] && [ -n "$bs_sip" ] && [ -n "$bs_rtp" ] && [ -n "$rtp_a" ]
check "free ports: server $port, baresip SIP $bs_sip, RTP $bs_rtp-$((bs_rtp + 19)) and $rtp_a-$((rtp_a + 7))" $? ||
    interop_finish

# baresip_config NAME: a config directory $tmp/NAME whose sndfile dumps go to $tmp/NAME/snd
baresip_config() {
    local d=$tmp/$1
    mkdir -p "$d/snd"
    cat >"$d/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$bs_sip
module_path $moddir
module g711.so
module ausine.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
audio_source ausine,$tone
audio_player aubridge,nil
audio_alert aubridge,nil
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
auplay_channels 2
net_interface 127.0.0.1
rtp_ports $bs_rtp-$((bs_rtp + 19))
snd_path $d/snd
EOF
    echo "<sip:bob@localhost>;auth_pass=secret-b;outbound=\"sip:127.0.0.1:$port\";answermode=auto;regint=600" \
        >"$d/accounts"
}

# baresip_run NAME SECONDS [baresip args...]: in the background, bounded by -t; sets bs_pid
baresip_run() {
    local name=$1 t=$2
    shift 2
    baresip_config "$name"
    baresip -f "$tmp/$name" -t "$t" "$@" >"$tmp/$name.log" 2>&1 </dev/null &
    bs_pid=$!
    cleanup_hooks+=("kill $bs_pid 2>/dev/null")
}
baresip_wait() { # SECONDS: until baresip exits (it quits itself after -t)
    wait_exit "$bs_pid" "$1"
    wait "$bs_pid"
}
freq_ok() { # FREQ WANT: within 1%
    [ -n "$1" ] && fcmp "$1" '>=' "$(($2 * 99 / 100))" && fcmp "$1" '<=' "$(($2 * 101 / 100))"
}

phone_users alice@localhost:secret-a bob@localhost:secret-b || interop_finish
listen_protos=(udp)
server_start "$port" --domain localhost --digest md5 || { check "server starts" 1; interop_finish; }
common=(--registrar "127.0.0.1:$port" --outbound-proxy "sip:127.0.0.1:$port")

# ---- 1. baresip -> sipkit phone
phone_start alice --user sip:alice@localhost --password secret-a --auto-answer 0 \
    --rtp-ports "$rtp_a-$((rtp_a + 7))" --record "$tmp/alice1.wav" --play tone:1000 "${common[@]}"
wait_event "$tmp/alice.log" registered 10 "${phone_pid[alice]}"
check "sipkit phone registers" $? || { cat "$tmp/alice.log" "$tmp/alice.err"; interop_finish; }
baresip_run bs1 8 -e "/dial sip:alice@localhost"
baresip_wait 20
rc=$?
[ "$rc" -eq 0 ]
check "baresip dials and quits after 8 s (status $rc)" $?
grep -q 'Call established' "$tmp/bs1.log"
check "baresip: call established" $? || grep -v 'audio=' "$tmp/bs1.log" | tail -n 20 | sed 's/^/    /'
wait_event "$tmp/alice.log" hungup 10 "${phone_pid[alice]}"
check "sipkit phone: the call from baresip ended" $?
phone_stop alice
peer=$(jget "$tmp/alice.log" incoming peer)
[ "$peer" = sip:bob@localhost ]
check "sipkit phone: incoming call from sip:bob@localhost (${peer:-none})" $?
by=$(jget "$tmp/alice.log" hungup by)
[ "$by" = remote ]
check "sipkit phone: baresip hung up (by ${by:-?})" $?
codec=$(jget "$tmp/alice.log" hungup quality.codec)
rx=$(jget "$tmp/alice.log" hungup quality.received.packets)
echo "    sipkit phone: codec ${codec:-?}, received ${rx:-?} packets," \
    "lost $(jget "$tmp/alice.log" hungup quality.received.lost)," \
    "jitter $(jget "$tmp/alice.log" hungup quality.received.jitter_ms) ms"
case "$codec" in PCMU/8000 | PCMA/8000) true ;; *) false ;; esac
check "sipkit phone: report names a G.711 codec (${codec:-none})" $?
[ -n "$rx" ] && [ "$rx" -ge 100 ]
check "sipkit phone: received packets from baresip (${rx:-?}, at least 100 in ~6 s)" $?
f=$(wav_freq "$tmp/alice1.wav")
freq_ok "$f" "$tone"
check "sipkit phone's recording holds baresip's $tone Hz tone (${f:-?} Hz)" $?
f=$(wav_freq "$(ls "$tmp"/bs1/snd/*-dec.wav 2>/dev/null | head -n 1)")
freq_ok "$f" 1000
check "baresip's recording holds the phone's 1000 Hz tone (${f:-?} Hz)" $?

# ---- 2. sipkit call -> baresip (answermode=auto)
baresip_run bs2 25
for i in $(seq 1 100); do
    grep -q '200 OK.*binding' "$tmp/bs2.log" 2>/dev/null && break
    kill -0 "$bs_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '200 OK.*binding' "$tmp/bs2.log"
check "baresip registers with MD5 digest" $? || { tail -n 20 "$tmp/bs2.log"; interop_finish; }
digits="159#"
timeout -k 5 40 "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret-a \
    --rtp-ports "$rtp_a-$((rtp_a + 7))" --play tone:1000 --record "$tmp/alice2.wav" --duration 5 \
    --dtmf "$digits" --json "${common[@]}" >"$tmp/call.log" 2>"$tmp/call.err"
rc=$?
[ "$rc" -eq 0 ]
check "sipkit call to baresip exits 0 (got $rc)" $? || cat "$tmp/call.log" "$tmp/call.err"
check_no_sanitizer "sipkit call" "$tmp/call.err"
for i in $(seq 1 50); do
    grep -q 'terminated' "$tmp/bs2.log" && break
    sleep 0.1
done
grep -q 'Call with sip:alice@localhost terminated' "$tmp/bs2.log"
check "baresip: the call ended with sipkit's BYE" $?
kill "$bs_pid" 2>/dev/null
baresip_wait 10
codec=$(jget "$tmp/call.log" hungup quality.codec)
rx=$(jget "$tmp/call.log" hungup quality.received.packets)
echo "    sipkit call: codec ${codec:-?}, received ${rx:-?} packets," \
    "lost $(jget "$tmp/call.log" hungup quality.received.lost)," \
    "jitter $(jget "$tmp/call.log" hungup quality.received.jitter_ms) ms," \
    "RTT $(jget "$tmp/call.log" hungup quality.rtt_ms) ms"
case "$codec" in PCMU/8000 | PCMA/8000) true ;; *) false ;; esac
check "sipkit call: report names a G.711 codec (${codec:-none})" $?
[ -n "$rx" ] && [ "$rx" -ge 150 ]
check "sipkit call: received packets from baresip (${rx:-?}, at least 150 in 5 s)" $?
f=$(wav_freq "$tmp/alice2.wav")
freq_ok "$f" "$tone"
check "sipkit call's recording holds baresip's $tone Hz tone (${f:-?} Hz)" $?
f=$(wav_freq "$(ls "$tmp"/bs2/snd/*-dec.wav 2>/dev/null | head -n 1)")
freq_ok "$f" 1000
check "baresip's recording holds sipkit's 1000 Hz tone (${f:-?} Hz)" $?
got=$(sed -n "s/.*received event: '\(.\)' (end=1).*/\1/p" "$tmp/bs2.log" | uniq | tr -d '\n')
[ "$got" = "$digits" ]
check "baresip received the RFC 4733 digits $digits (${got:-none})" $?

interop_finish
