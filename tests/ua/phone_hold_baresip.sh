#!/usr/bin/env bash
# `sipkit phone` holds and resumes a call to baresip (Debian's 1.0), both
# registered to `sipkit serve --digest md5` (issue 18): alice (sipkit) calls
# bob (baresip, answermode=auto, ausine as its source); `hold` gets `held`
# (baresip accepted a=sendonly) and baresip's RTP stops while alice's goes on;
# `resume` gets `resumed` and baresip's RTP comes back; alice hangs up.
# Packet counts from the phone's `stats` command.
# usage: phone_hold_baresip.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

command -v baresip >/dev/null || { echo "SKIP: baresip not installed"; exit 77; }
moddir=""
for d in /usr/lib/baresip/modules /usr/lib/*/baresip/modules /usr/local/lib/baresip/modules; do
    [ -f "$d/ausine.so" ] && moddir=$d && break
done
for m in g711 ausine aubridge account menu; do
    [ -n "$moddir" ] && [ -f "$moddir/$m.so" ] || { echo "SKIP: baresip module $m not found"; exit 77; }
done

port=$(free_port udp 1 127.0.0.1)
bs_sip=$(free_port udp 1 127.0.0.1)
bs_rtp=$(free_port udp 20 127.0.0.1)
bs_rtp=$((bs_rtp + (bs_rtp & 1)))
users_add alice:secret-a bob:secret-b || interop_finish
listen_protos=(udp)
server_start "$port" --domain localhost --digest md5
check "sipkit serve answers on $port" $? || interop_finish

mkdir -p "$tmp/bs"
cat >"$tmp/bs/config" <<CFG
poll_method epoll
sip_listen 127.0.0.1:$bs_sip
module_path $moddir
module g711.so
module ausine.so
module aubridge.so
module_app account.so
module_app menu.so
audio_source ausine,600
audio_player aubridge,nil
audio_alert aubridge,nil
ausrc_srate 48000
auplay_srate 48000
ausrc_channels 2
auplay_channels 2
net_interface 127.0.0.1
rtp_ports $bs_rtp-$((bs_rtp + 19))
CFG
echo "<sip:bob@localhost>;auth_pass=secret-b;outbound=\"sip:127.0.0.1:$port\";answermode=auto;regint=600" \
    >"$tmp/bs/accounts"
baresip -f "$tmp/bs" -t 60 >"$tmp/bs.log" 2>&1 </dev/null &
bs_pid=$!
cleanup_hooks+=("kill $bs_pid 2>/dev/null")
wait_log "$tmp/bs.log" '200 OK.*binding' 10
check "baresip registers" $? || { tail -n 20 "$tmp/bs.log" | sed 's/^/    /'; interop_finish; }

phone_start alice --user sip:alice@localhost --password secret-a --registrar "127.0.0.1:$port" \
    --outbound-proxy "sip:127.0.0.1:$port" --listen udp:127.0.0.1:0 --rtp-ports 20000-40000 \
    --play tone:1000
phone_wait alice registered
check "sipkit phone registers" $? || interop_finish

last_field() { # EVENT KEY: KEY's number in alice's last EVENT line
    grep -E "\"event\": *\"$1\"" "$tmp/alice.log" | tail -n 1 | sed -n -E "s/.*\"$2\": *([0-9]+).*/\1/p"
}
stats() { # sets rx tx
    local n
    n=$(phone_events alice stats)
    phone_cmd alice stats
    phone_wait alice stats 5 $((n + 1))
    rx=$(last_field stats rx_packets) tx=$(last_field stats tx_packets)
    : "${rx:=x}" "${tx:=x}"
}
grows() { [ "$1" != x ] && [ "$2" != x ] && [ "$2" -gt $(($1 + 20)) ]; }

phone_cmd alice "call sip:bob@localhost"
phone_wait alice answered 15
check "baresip answers alice's call" $? || interop_finish
sleep 1; stats; rx0=$rx tx0=$tx
sleep 1.5; stats; rx1=$rx tx1=$tx
grows "$rx0" "$rx1"
check "before the hold baresip's RTP arrives ($rx0 -> $rx1)" $?

phone_cmd alice hold
phone_wait alice held 10
check "hold: baresip accepts a=sendonly (held)" $? ||
    grep -E 'hold|info' "$tmp/alice.log" | sed 's/^/    /'
sleep 0.5; stats; rx2=$rx tx2=$tx
sleep 3; stats; rx3=$rx tx3=$tx
[ "$rx2" != x ] && [ "$rx2" = "$rx3" ]
check "on hold baresip sends no RTP (alice received $rx2 -> $rx3)" $?
grows "$tx2" "$tx3"
check "on hold alice still sends (sent $tx2 -> $tx3)" $?

phone_cmd alice resume
phone_wait alice resumed 10
check "resume: baresip accepts a=sendrecv (resumed)" $?
sleep 0.5; stats; rx4=$rx
sleep 1.5; stats; rx5=$rx
grows "$rx4" "$rx5"
check "after the resume baresip's RTP arrives again ($rx4 -> $rx5)" $?

phone_cmd alice hangup
phone_wait alice hungup 10
check "alice hangs up" $?
wait_log "$tmp/bs.log" 'terminated' 10
check "baresip: the call ended with alice's BYE" $?
phone_quit alice
check "alice exits 0 (status ${phone_rc[alice]})" $?
check_no_sanitizer alice "$tmp/alice.err"
kill "$bs_pid" 2>/dev/null
wait_exit "$bs_pid" 10
interop_finish
