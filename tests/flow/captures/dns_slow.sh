#!/usr/bin/env bash
# dns_slow: a call whose caller must first look up the callee's host name, and the DNS
# server answers only after CAP_DNS_DELAY seconds (1.5 by default; dns_ok.sh: at once).
# All in a network namespace with only lo, whose resolv.conf (/etc/netns/NAME, which
# `ip netns exec` mounts over /etc/resolv.conf) names our own server at 127.0.0.1:53;
# the callee is a SIPp UAS. dns_servfail.sh: the server answers SERVFAIL first, the
# resolver's second attempt gets the answer. usage: dns_slow.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init "${CAP_NAME:-dns_slow}" "$@"
need_root
need tcpdump sipp ip python3
ns=fd$$
ip netns add "$ns" 2>"$tmp/netns.log" || { cap_log "skipped: cannot create a network namespace"; exit 77; }
cap_cleanups+=("ip netns del $ns")
ip -n "$ns" link set lo up || cap_fail "lo up in $ns"
mkdir -p "/etc/netns/$ns" || cap_fail "cannot write /etc/netns/$ns"
cap_cleanups+=("rm -rf /etc/netns/$ns")
printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:%s\n' "${CAP_DNS_ATTEMPTS:-1}" >"/etc/netns/$ns/resolv.conf"
inns=(ip netns exec "$ns")
# shellcheck disable=SC2086 # CAP_DNS_ARGS is a word list
bg dns "${inns[@]}" python3 "$cap_dir/dnsserver.py" 127.0.0.1 53 "${CAP_DNS_DELAY:-1.5}" ${CAP_DNS_ARGS:-} pbx.test
for _ in $(seq 1 50); do grep -q listening "$tmp/dns.log" && break; sleep 0.1; done
grep -q listening "$tmp/dns.log" || cap_fail "the DNS server did not start: $(cat "$tmp/dns.log")"
capture_start "udp port 53 or portrange 5060-5099" "$ns" lo
[ -f /usr/share/sip-tester/g711a.pcap ] || { cap_log "skipped: needs SIPp's g711a.pcap"; exit 77; }
cp "$scen/uas_180_answer.xml" /usr/share/sip-tester/g711a.pcap "$tmp/"
(cd "$tmp" && exec "${inns[@]}" timeout -k 5 30 sipp -sf uas_180_answer.xml -m 1 -nostdin \
    -timeout 25s -i 127.0.0.1 -p 5070 -mp 5080 -trace_err -error_file "$tmp/uas.err") \
    </dev/null >"$tmp/uas.log" 2>&1 &
uas_pid=$!
cap_pids+=("$uas_pid")
sleep 0.3
bg alice "${inns[@]}" "$sipkit" call sip:bob@pbx.test:5070 --user sip:alice@127.0.0.1 \
    --registrar none --listen udp:127.0.0.1:5062 --play tone:440 --rtp-ports 5090-5099 \
    --duration 2 --timeout 15
wait_pid "$last_pid" 25 || cap_fail "the call did not end: $(tail -n 3 "$tmp/alice.log")"
[ "$wait_rc" -eq 0 ] || cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
wait_pid "$uas_pid" 10
capture_finish
