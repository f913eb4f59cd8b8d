#!/usr/bin/env bash
# nat_private_contact: a real NAT as in one_way_nat; alice is a SIPp caller behind it
# whose SDP names the NAT's public address (media STUN) but whose Contact is private
# (192.168.77.10); she calls bob (a sipkit phone, 198.51.100.20) directly, answered,
# BYE after 2 s. Captured on the WAN bridge. usage: nat_private_contact.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init nat_private_contact "$@"
need_root
need tcpdump iptables sipp
cp "$scen/uac_public_sdp_private_contact.xml" "$tmp/"
ns_hub
ns_host bob 198.51.100.20/24 198.51.100.1
ns_host rtr 198.51.100.1/24
ns_host alice
ns_link rtr eth1 192.168.77.1/24 alice eth0 192.168.77.10/24
ip -n "$ns_pfx"alice route add default via 192.168.77.1 || cap_fail "route in alice"
in_ns rtr sysctl -q -w net.ipv4.ip_forward=1 &&
    in_ns rtr iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE &&
    in_ns rtr iptables -A FORWARD -i eth0 -m conntrack --ctstate NEW -j DROP ||
    cap_fail "cannot set up the NAT"
capture_start "ip and (udp or icmp)" "$hub" br0
bg bob ip netns exec "$ns_pfx"bob "$sipkit" phone --user sip:bob@localhost --registrar none \
    --listen udp:198.51.100.20:5060 --auto-answer 0 --no-stdin --play tone:1000 \
    --rtp-ports 6000-6099 --log-level info
sleep 0.5
(cd "$tmp" && exec ip netns exec "$ns_pfx"alice timeout -k 5 20 sipp 198.51.100.20:5060 \
    -sf uac_public_sdp_private_contact.xml -m 1 -nostdin -timeout 15s -timeout_error \
    -i 192.168.77.10 -p 5060 -mp 10000 -set public 198.51.100.1 -trace_err \
    -error_file "$tmp/uac.err") </dev/null >"$tmp/uac.log" 2>&1 ||
    cap_fail "the SIPp caller failed: $(tail -n 3 "$tmp/uac.err" 2>/dev/null)"
capture_finish
