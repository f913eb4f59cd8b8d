#!/usr/bin/env bash
# rtp_loss: alice, sipkit serve and bob each in a network namespace on one bridge; each
# phone's RTP leaving its namespace loses 5% at random (iptables statistic; this kernel
# has no sch_netem, and loss confined to our namespaces disturbs nobody). Captured on the
# bridge: both RTP streams show sequence gaps (~5%), SIP is untouched.
# usage: rtp_loss.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init rtp_loss "$@"
need_root
need tcpdump iptables
ns_hub
ns_host srv 10.77.0.2/24
ns_host alice 10.77.0.10/24
ns_host bob 10.77.0.20/24
for h in alice bob; do
    in_ns "$h" iptables -A OUTPUT -p udp --dport 10000:10099 -m statistic --mode random \
        --probability 0.05 -j DROP || cap_fail "iptables in $h"
done
serve_start 10.77.0.2 5060 "$ns_pfx"srv
capture_start "ip and (udp or tcp)" "$hub" br0
bg bob ip netns exec "$ns_pfx"bob "$sipkit" phone --user sip:bob@localhost --password secret2 --registrar 10.77.0.2:5060 \
    --outbound-proxy sip:10.77.0.2:5060 --listen udp:10.77.0.20:5060 --auto-answer 1 --no-stdin \
    --play tone:1000 --rtp-ports 10000-10099 --log-level info
wait_registered bob
bg alice ip netns exec "$ns_pfx"alice "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret \
    --outbound-proxy sip:10.77.0.2:5060 --listen udp:10.77.0.10:5060 --duration 6 \
    --play tone:440 --rtp-ports 10000-10099 --timeout 10
wait_pid "$last_pid" 25 || cap_fail "the call did not end"
[ "$wait_rc" -eq 0 ] || cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
capture_finish
