#!/usr/bin/env bash
# one_way_nat: a real NAT. alice (sipkit call) sits on a LAN (192.168.77.10) behind a
# router namespace that masquerades her onto the WAN (198.51.100.1); sipkit serve
# (198.51.100.10) and bob, a SIPp UAS (198.51.100.20), are on the WAN. alice's SDP
# carries her private address; bob sends his RTP to that c= address (not to where her
# RTP comes from), so it goes to the router, which drops it (nothing is routed to a LAN
# from outside); alice's RTP reaches bob through the NAT. Captured on the WAN bridge.
# CAP_BOB_PHONE=1 (nat_comedia.sh): bob is a sipkit phone instead, whose symmetric RTP
# (RFC 4961) answers to where alice's RTP comes from: media flows both ways.
# usage: one_way_nat.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init "${CAP_NAME:-one_way_nat}" "$@"
need_root
need tcpdump iptables sipp
[ -f /usr/share/sip-tester/g711a.pcap ] || { cap_log "skipped: needs SIPp's g711a.pcap"; exit 77; }
cp /usr/share/sip-tester/g711a.pcap "$scen/uas_180_answer.xml" "$scen/register_auth.xml" "$tmp/"
ns_hub
ns_host srv 198.51.100.10/24 198.51.100.1
ns_host bob 198.51.100.20/24 198.51.100.1
ns_host rtr 198.51.100.1/24
ns_host alice
ns_link rtr eth1 192.168.77.1/24 alice eth0 192.168.77.10/24
ip -n "$ns_pfx"alice route add default via 192.168.77.1 || cap_fail "route in alice"
in_ns rtr sysctl -q -w net.ipv4.ip_forward=1 &&
    in_ns rtr iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE &&
    in_ns rtr iptables -A FORWARD -i eth0 -m conntrack --ctstate NEW -j DROP ||
    cap_fail "cannot set up the NAT"
serve_start 198.51.100.10 5060 "$ns_pfx"srv
capture_start "ip and (udp or tcp or icmp)" "$hub" br0
if [ "${CAP_BOB_PHONE:-0}" = 1 ]; then
    bg bob ip netns exec "$ns_pfx"bob "$sipkit" phone --user sip:bob@localhost --password secret2 \
        --registrar 198.51.100.10:5060 --outbound-proxy sip:198.51.100.10:5060 \
        --listen udp:198.51.100.20:5060 --auto-answer 1 --no-stdin --play tone:1000 \
        --rtp-ports 6000-6099 --log-level info
    uas_pid=$last_pid
    wait_registered bob
else
    (cd "$tmp" && exec ip netns exec "$ns_pfx"bob timeout -k 5 40 sipp -sf uas_180_answer.xml -m 1 \
        -nostdin -timeout 30s -i 198.51.100.20 -p 5060 -mp 6000 -trace_err -error_file "$tmp/uas.err") \
        </dev/null >"$tmp/uas.log" 2>&1 &
    uas_pid=$!
    sleep 0.5
    cap_pids+=("$uas_pid")
    (cd "$tmp" && exec ip netns exec "$ns_pfx"bob timeout -k 5 20 sipp 198.51.100.10:5060 \
        -sf register_auth.xml -m 1 -nostdin -timeout 15s -i 198.51.100.20 -p 5070 -mp 6100 -s bob -au bob \
        -ap secret2 -auth_uri localhost -set contact_port 5060 -set expires 300) \
        </dev/null >"$tmp/reg.log" 2>&1 || cap_fail "bob did not register: $(tail -n 3 "$tmp/reg.log")"
fi
bg alice ip netns exec "$ns_pfx"alice "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret \
    --outbound-proxy sip:198.51.100.10:5060 --listen udp:192.168.77.10:5060 --duration 4 \
    --play tone:440 --rtp-ports 10000-10099 --rtp-timeout 0 --timeout 15 --log-level info
wait_pid "$last_pid" 28 || cap_fail "the call did not end"
[ "$wait_rc" -eq 0 ] || cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
if [ "${CAP_BOB_PHONE:-0}" != 1 ]; then
    wait_pid "$uas_pid" 10
    [ "$wait_rc" -eq 0 ] || cap_fail "the SIPp callee exited $wait_rc"
fi
capture_finish
