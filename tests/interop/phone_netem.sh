#!/usr/bin/env bash
# A call across an impaired link. Three private network namespaces (nothing
# else is in them, so nothing leaves the machine and any port is free):
# A (10.77.1.1: `sipkit serve` and alice's `sipkit call`), B (10.77.2.1: bob,
# a `sipkit phone` with auto-answer) and a router R between them, joined by
# two veth pairs. R impairs what it forwards, each direction once, with
#   tc qdisc add dev VETH root netem loss 5% delay 30ms 10ms
# on both of its veth ends; on a kernel without sch_netem (a minimal VM
# kernel) lib/impair.py does the same in userspace on a TUN device that R
# routes every forwarded packet through. So each direction of RTP, RTCP and
# bob's SIP loses 5% at random and is delayed by 20..40 ms (netem's jitter
# without a distribution table is uniform, mean 30 ms). First a 4 s control
# call on the clean link, then a 30 s call on the impaired one; what each
# side reports must match:
# - loss: 5% +- 2.5 points on each side (1500 packets a direction, binomial
#   sd 0.56 points: the band is 4.4 sd);
# - jitter: RFC 3550 §A.8 J converges to the mean |D| with D the difference
#   of two independent U(-10, 10) ms delays, a triangular variable on
#   (-20, 20): E|D| = 20/3 = 6.7 ms; J is a 1/16 moving average of |D|
#   (sd of |D| 4.7 ms, of J about 1 ms), so the band is 3.5..10 ms;
# - RTT: one RTCP round trip is two independent 20..40 ms delays plus a few
#   ms of processing: 40..80 ms, triangular around 60 (12% of single samples
#   are below 50 ms, and sipkit reports its last sample), so the band is
#   40..90 ms;
# - MOS: the G.107 E-model, G.711 with PLC (Bpl 25.1), random loss (BurstR 1),
#   at 5% loss and the one-way delay the phone reports (RTT/2 + jitter
#   buffer + packetisation, under 150 ms: Idd about 0): Ie,eff = 95*5/(5+25.1)
#   = 15.8, R = 77.4, MOS 3.92; the reported MOS must be within 0.3 of the
#   value computed from 5% and the reported delay, and below the clean
#   link's MOS (4.41, R 93.2).
# Needs root (ip netns, tc); exit 77 without.
# usage: phone_netem.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
. "$srcdir/interop/lib/phone.bash"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: phone_netem.sh needs root for ip netns and tc"
    exit 77
fi
for t in ip tc python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

nsa=sipkit-na$$
nsb=sipkit-nb$$
nsr=sipkit-nr$$
for ns in "$nsa" "$nsb" "$nsr"; do
    ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
    cleanup_hooks+=("ip netns del $ns") # deleting a namespace deletes its veths and qdiscs
done
A=(ip netns exec "$nsa")
B=(ip netns exec "$nsb")
R=(ip netns exec "$nsr")
ip link add ska$$ netns "$nsa" type veth peer name ra netns "$nsr" &&
    ip link add skb$$ netns "$nsb" type veth peer name rb netns "$nsr" &&
    "${A[@]}" ip addr add 10.77.1.1/24 dev ska$$ && "${A[@]}" ip link set ska$$ up &&
    "${A[@]}" ip link set lo up && "${A[@]}" ip route add default via 10.77.1.254 &&
    "${B[@]}" ip addr add 10.77.2.1/24 dev skb$$ && "${B[@]}" ip link set skb$$ up &&
    "${B[@]}" ip link set lo up && "${B[@]}" ip route add default via 10.77.2.254 &&
    "${R[@]}" ip addr add 10.77.1.254/24 dev ra && "${R[@]}" ip link set ra up &&
    "${R[@]}" ip addr add 10.77.2.254/24 dev rb && "${R[@]}" ip link set rb up &&
    "${R[@]}" sysctl -q -w net.ipv4.ip_forward=1
check "namespaces A (10.77.1.1) and B (10.77.2.1) joined through a router namespace" $? ||
    interop_finish

# impair_start: netem on R's two veth ends, or the userspace emulator on a TUN
impair_start() {
    if "${R[@]}" tc qdisc add dev ra root netem loss 5% delay 30ms 10ms 2>"$tmp/tc.err"; then
        impair=netem
        "${R[@]}" tc qdisc add dev rb root netem loss 5% delay 30ms 10ms
        return
    fi
    impair=tun
    echo "    no netem in this kernel ($(cat "$tmp/tc.err")): lib/impair.py on a TUN device"
    # R: packets forwarded from either veth go into tun0 (table 100); what
    # impair.py writes back comes in on tun0 and takes the main table on to
    # its veth; reverse-path filtering would drop it (its source is not
    # behind tun0)
    "${R[@]}" ip tuntap add dev tun0 mode tun &&
        "${R[@]}" ip link set tun0 up &&
        "${R[@]}" sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tun0.rp_filter=0 \
            net.ipv4.conf.ra.rp_filter=0 net.ipv4.conf.rb.rp_filter=0 &&
        "${R[@]}" ip route add default dev tun0 table 100 &&
        "${R[@]}" ip rule add iif ra lookup 100 &&
        "${R[@]}" ip rule add iif rb lookup 100 || return 1
    "${R[@]}" python3 "$here/lib/impair.py" tun0 5 30 10 "$tmp/impair.stats" >"$tmp/impair.out" 2>&1 &
    impair_pid=$!
    cleanup_hooks=("kill $impair_pid 2>/dev/null; wait $impair_pid 2>/dev/null" "${cleanup_hooks[@]}")
    wait_log "$tmp/impair.out" ready 5
}
impair_stats() {
    if [ "$impair" = netem ]; then
        "${R[@]}" tc -s qdisc show dev ra | sed -n 's/^ *Sent/    netem towards A: Sent/p'
        "${R[@]}" tc -s qdisc show dev rb | sed -n 's/^ *Sent/    netem towards B: Sent/p'
    else
        kill "$impair_pid"
        wait "$impair_pid"
        echo "    impair.py: $(cat "$tmp/impair.stats" 2>/dev/null)"
    fi
}

phone_users alice@localhost:secret-a bob@localhost:secret-b || interop_finish
port=5060 # inside the namespaces only: no other test sees these addresses
ln -sf server-netem.log "$tmp/server.log"
"${A[@]}" "$sipkit" serve --listen "udp:10.77.1.1:$port" --data "$tmp/data" --domain localhost \
    --workers 2 >"$tmp/server-netem.log" 2>&1 &
server_pid=$!
wait_ready 10.77.1.1 "$port" "${A[@]}"
check "server answers OPTIONS in $nsa" $? || { cat "$tmp/server.log"; interop_finish; }

reg=(--registrar "10.77.1.1:$port" --outbound-proxy "sip:10.77.1.1:$port")
ns_exec=("${B[@]}")
phone_start bob --user sip:bob@localhost --password secret-b --listen udp:10.77.2.1:5060 \
    --auto-answer 0 --play tone:1000 "${reg[@]}"
ns_exec=()
wait_event "$tmp/bob.log" registered 10 "${phone_pid[bob]}"
check "bob registers from $nsb, through the router" $? || { cat "$tmp/bob.log" "$tmp/bob.err"; interop_finish; }

call() { # NAME SECONDS: alice calls bob from $nsa
    timeout -k 5 $(($2 + 30)) "${A[@]}" "$sipkit" call sip:bob@localhost --user sip:alice@localhost \
        --password secret-a --listen udp:10.77.1.1:5070 --duration "$2" --play tone:440 --json \
        "${reg[@]}" >"$tmp/$1.log" 2>"$tmp/$1.err"
    local rc=$?
    [ "$rc" -eq 0 ]
    check "$1: sipkit call exits 0 (got $rc)" $? || tail -n 5 "$tmp/$1.log" "$tmp/$1.err" | sed 's/^/    /'
    check_no_sanitizer "$1" "$tmp/$1.err"
}

# ---- the control call on the clean link
call clean 4
clean_loss=$(jget "$tmp/clean.log" hungup quality.received.lost)
clean_mos=$(jget "$tmp/clean.log" hungup quality.received.mos)
echo "    clean link: lost ${clean_loss:-?}, MOS ${clean_mos:-?}"
[ "${clean_loss:-x}" = 0 ] && [ -n "$clean_mos" ] && fcmp "$clean_mos" '>=' 4.3
check "clean link: no loss and MOS >= 4.3 (lost ${clean_loss:-?}, MOS ${clean_mos:-?})" $?
wait_event "$tmp/bob.log" hungup 10

# ---- the impaired link
impair_start
check "impairment in R: loss 5% delay 30ms 10ms each way (${impair:-?})" $? || interop_finish
cp "$tmp/bob.log" "$tmp/bob-clean.log"
call netem 30
bob_hungup_twice() { [ "$(jcount "$tmp/bob.log" hungup)" -ge 2 ]; }
wait_for 10 bob_hungup_twice
phone_stop bob
server_stop_checked
impair_stats

expected_mos() { # DELAY_MS: G.107 MOS for G.711+PLC at 5% random loss and this one-way delay
    python3 - "$1" <<'PY'
import math, sys
ta = float(sys.argv[1])
ppl, bpl, burst = 5.0, 25.1, 1.0
ie_eff = 0 + (95 - 0) * ppl / (ppl / burst + bpl)
idd = 0.0
if ta > 100:
    x = math.log2(ta / 100)
    idd = 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)
r = 93.2 - idd - ie_eff
mos = 1 if r < 0 else 4.5 if r > 100 else 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
print("%.2f" % mos)
PY
}

log=$tmp/netem.log
# bob's report of the netem call is his last hungup event
for side in alice bob; do
    f=$log
    [ "$side" = bob ] && f=$tmp/bob.log
    loss=$(jget "$f" hungup quality.received.loss_pct)
    jit=$(jget "$f" hungup quality.received.jitter_ms)
    rtt=$(jget "$f" hungup quality.rtt_ms)
    mos=$(jget "$f" hungup quality.received.mos)
    owd=$(jget "$f" hungup quality.one_way_delay_ms)
    pk=$(jget "$f" hungup quality.received.packets)
    lost=$(jget "$f" hungup quality.received.lost)
    emos=$(expected_mos "${owd:-0}")
    echo "    $side received: packets ${pk:-?} lost ${lost:-?} (${loss:-?}%), jitter ${jit:-?} ms," \
        "RTT ${rtt:-?} ms, one-way ${owd:-?} ms, MOS ${mos:-?} (E-model at 5%: $emos)"
    [ -n "$loss" ] && fcmp "$loss" '>=' 2.5 && fcmp "$loss" '<=' 7.5
    check "$side: loss ${loss:-?}% within 5 +- 2.5 points" $?
    [ -n "$jit" ] && fcmp "$jit" '>=' 3.5 && fcmp "$jit" '<=' 10
    check "$side: jitter ${jit:-?} ms within 3.5..10 ms (expected about 6.7)" $?
    [ -n "$rtt" ] && fcmp "$rtt" '>=' 40 && fcmp "$rtt" '<=' 90
    check "$side: RTT ${rtt:-?} ms within 40..90 ms (2 x 20..40 ms + processing)" $?
    # RTT/2 (20..45) + ptime (20) + the adaptive jitter buffer's target (its
    # bounds: 20..200 ms)
    [ -n "$owd" ] && fcmp "$owd" '>=' 60 && fcmp "$owd" '<=' 270
    check "$side: one-way delay ${owd:-?} ms plausible (RTT/2 + ptime + jitter buffer: 60..270)" $?
    [ -n "$mos" ] && fcmp "$mos" '<' "${clean_mos:-0}"
    check "$side: MOS ${mos:-?} below the clean link's ${clean_mos:-?}" $?
    [ -n "$mos" ] && fcmp "$(python3 -c "print(abs($mos - $emos))")" '<=' 0.3
    check "$side: MOS ${mos:-?} within 0.3 of the E-model's $emos (5%, Bpl 25.1, ${owd:-?} ms)" $?
    sl=$(jget "$f" hungup quality.sent.loss_pct)
    [ -n "$sl" ] && fcmp "$sl" '>=' 2.5 && fcmp "$sl" '<=' 7.5
    check "$side: the peer's RTCP reports our stream's loss too (${sl:-?}%)" $?
done

interop_finish
