#!/usr/bin/env bash
# rtp_jitter: a call across a router that delays every packet by 10..130 ms at random
# (uniform, tests/interop/lib/impair.py on a TUN device: this kernel has no sch_netem),
# so RTP arrives unevenly: RFC 3550 J tends to E|D| = 2*60/3 = 40 ms for the difference
# D of two U(-60, 60) ms delays. alice and sipkit serve in namespace a (10.77.1.1), bob
# (a sipkit phone) in b (10.77.2.1), the router r between them; captured on b's side,
# so alice's RTP there is the jittered one. usage: rtp_jitter.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init rtp_jitter "$@"
need_root
need tcpdump ip python3
[ -c /dev/net/tun ] || { cap_log "skipped: needs /dev/net/tun"; exit 77; }
ns_pfx=fj$$
ns_seq=0
for n in a b r; do
    ip netns add "$ns_pfx$n" 2>"$tmp/netns.log" || { cap_log "skipped: cannot create a network namespace"; exit 77; }
    cap_cleanups+=("ip netns del $ns_pfx$n")
    ip -n "$ns_pfx$n" link set lo up
done
ns_link a eth0 10.77.1.1/24 r ra 10.77.1.254/24
ns_link b eth0 10.77.2.1/24 r rb 10.77.2.254/24
ip -n "$ns_pfx"a route add default via 10.77.1.254 &&
    ip -n "$ns_pfx"b route add default via 10.77.2.254 &&
    in_ns r sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.ra.rp_filter=0 net.ipv4.conf.rb.rp_filter=0 &&
    ip -n "$ns_pfx"r tuntap add dev tun0 mode tun && ip -n "$ns_pfx"r link set tun0 up &&
    in_ns r sysctl -q -w net.ipv4.conf.tun0.rp_filter=0 &&
    ip -n "$ns_pfx"r route add default dev tun0 table 100 &&
    ip -n "$ns_pfx"r rule add iif ra lookup 100 &&
    ip -n "$ns_pfx"r rule add iif rb lookup 100 || cap_fail "cannot set up the router"
bg impair ip netns exec "$ns_pfx"r python3 "$cap_dir/../../interop/lib/impair.py" tun0 0 70 60 "$tmp/impair.stats"
for _ in $(seq 1 50); do grep -q ready "$tmp/impair.log" && break; sleep 0.1; done
grep -q ready "$tmp/impair.log" || cap_fail "impair.py did not start: $(cat "$tmp/impair.log")"
serve_start 10.77.1.1 5060 "$ns_pfx"a
capture_start "udp" "$ns_pfx"b eth0
bg bob ip netns exec "$ns_pfx"b "$sipkit" phone --user sip:bob@localhost --password secret2 \
    --registrar 10.77.1.1:5060 --outbound-proxy sip:10.77.1.1:5060 --listen udp:10.77.2.1:5060 \
    --auto-answer 0 --no-stdin --play tone:1000 --rtp-ports 6000-6099 --log-level info
wait_registered bob
bg alice ip netns exec "$ns_pfx"a "$sipkit" call sip:bob@localhost --user sip:alice@localhost \
    --password secret --outbound-proxy sip:10.77.1.1:5060 --listen udp:10.77.1.1:5070 \
    --duration 6 --play tone:440 --rtp-ports 10000-10099 --timeout 15 --log-level info
wait_pid "$last_pid" 30 || cap_fail "the call did not end"
[ "$wait_rc" -eq 0 ] || cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
capture_finish
