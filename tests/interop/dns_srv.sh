#!/usr/bin/env bash
# DNS for other domains (RFC 3263, RFC 2782): the a.test server proxies a call to
# sip:bob@b.test, which it finds through NAPTR -> SRV -> A at a test DNS server
# (tests/tools/dnsserver.py); b.test has two servers, SRV priority 10 and 20. The call
# reaches the priority-10 server; with it stopped, the proxy fails over to the
# priority-20 one (RFC 3263 §4.3, after Timer B); a changed record is picked up once
# its TTL has run out; a server answering 503 is failed over too; a phone of b.test
# finds its registrar the same way and fails over too. Everything runs in a private network namespace with only lo
# (the names are not real). Needs root (ip netns).
# usage: dns_srv.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: dns_srv.sh needs root for ip netns"
    exit 77
fi
ns=sipkit-dns$$
ip netns add "$ns" || { check "create network namespace $ns" 1; interop_finish; }
cleanup_hooks+=("ip netns del $ns")
ip netns exec "$ns" ip link set lo up
ns_exec=(ip netns exec "$ns")
py="$srcdir/interop/dns_srv.py"
ttl=3

# s0 (priority 5) has only an IPv6 address, which a.test (IPv4 only) skips;
# b1 (priority 10) on 5071, b2 (priority 20) on 5072, b3 (the record after the change)
# on 5073; bob's contacts at them are 6071, 6072, 6073
zone=$tmp/zone
cat >"$zone" <<ZONE
b.test NAPTR 60 10 10 s SIP+D2U _sip._udp.b.test
b.test NAPTR 60 20 10 s SIPS+D2T _sips._tcp.b.test
_sip._udp.b.test SRV $ttl 5 0 5070 s0.b.test
_sip._udp.b.test SRV $ttl 10 0 5071 s1.b.test
_sip._udp.b.test SRV $ttl 20 0 5072 s2.b.test
s0.b.test AAAA 60 ::1
s1.b.test A 60 127.0.0.1
s2.b.test A 60 127.0.0.1
ZONE
"${ns_exec[@]}" python3 "$srcdir/tools/dnsserver.py" 127.0.0.1 53 "$zone" >"$tmp/dns.log" 2>&1 &
dns_pid=$!
cleanup_hooks=("kill $dns_pid 2>/dev/null; wait $dns_pid 2>/dev/null" "${cleanup_hooks[@]}")
wait_log "$tmp/dns.log" listening 10
check "test DNS server running" $?

declare -A pids
start() { # NAME PORT ARGS...
    local name=$1 port=$2
    shift 2
    mkdir -p "$tmp/data-$name"
    "${ns_exec[@]}" "$sipkit" serve --listen "udp:127.0.0.1:$port" --data "$tmp/data-$name" \
        --workers 2 --auth off --proxy-auth off --log-level debug "$@" >"$tmp/$name.log" 2>&1 &
    pids[$name]=$!
    cleanup_hooks=("kill ${pids[$name]} 2>/dev/null; wait ${pids[$name]} 2>/dev/null" "${cleanup_hooks[@]}")
    server_pid="" wait_ready 127.0.0.1 "$port" "${ns_exec[@]}"
    check "$name listening on $port" $? || cat "$tmp/$name.log" >&2
}
start b1 5071 --domain b.test
start b2 5072 --domain b.test
start b3 5073 --domain b.test
# a.test: Timer B at 64*T1 = 6.4 s, so that the failover comes soon
start a 5060 --domain a.test --dns 127.0.0.1:53 --t1 100
for i in 1 2 3; do
    "${ns_exec[@]}" python3 "$py" register 507$i 607$i
    check "bob registered at b$i" $?
done

"${ns_exec[@]}" python3 "$py" call 5060 6071 6072 6073 -- 6071 10
check "NAPTR, SRV: the call reaches the priority-10 server (IPv6-only priority 5 skipped)" $? || tail -n 30 "$tmp/a.log"

kill "${pids[b1]}"
wait "${pids[b1]}" 2>/dev/null
"${ns_exec[@]}" python3 "$py" call 5060 6071 6072 6073 -- 6072 20
check "priority-10 server stopped: failover to the priority-20 one" $? || tail -n 30 "$tmp/a.log"
grep -q 'branch failover after 408' "$tmp/a.log"
check "the proxy logged the failover after Timer B" $?

# a phone of b.test finds its registrar by NAPTR -> SRV too, and fails over from the
# stopped priority-10 server to the priority-20 one after Timer F (64*T1 = 6.4 s)
"${ns_exec[@]}" "$sipkit" phone --json --no-stdin --user sip:carol@b.test \
    --registrar b.test --dns 127.0.0.1:53 --t1 100 --listen udp:127.0.0.1:0 \
    >"$tmp/carol.log" 2>"$tmp/carol.err" &
carol=$!
cleanup_hooks=("kill $carol 2>/dev/null" "${cleanup_hooks[@]}")
wait_log "$tmp/carol.log" '"registered"' 20
check "phone: registered through NAPTR/SRV after failing over to the priority-20 server" $? ||
    tail -n 20 "$tmp/carol.err"
grep -q 'trying its next target 127.0.0.1:5072' "$tmp/carol.err"
check "phone: logged the failover from 127.0.0.1:5071 to 127.0.0.1:5072" $? ||
    tail -n 20 "$tmp/carol.err"
kill "$carol"
wait_exit "$carol" 10
wait "$carol" 2>/dev/null
check "phone exits cleanly (status $?)" $?

# the record changes: after its TTL the new target is used
sed -i "s/^_sip._udp.b.test SRV .*//" "$zone"
echo "_sip._udp.b.test SRV $ttl 10 0 5073 s1.b.test" >>"$zone"
sleep $((ttl + 1))
"${ns_exec[@]}" python3 "$py" call 5060 6071 6072 6073 -- 6073 10
check "a changed SRV record is used once its TTL is over" $? || tail -n 30 "$tmp/a.log"

# a server that answers 503 (priority 10, port 5074): the next one (b3) gets the call
sed -i "s/^_sip._udp.b.test SRV .*//" "$zone"
echo "_sip._udp.b.test SRV $ttl 10 0 5074 s1.b.test" >>"$zone"
echo "_sip._udp.b.test SRV $ttl 20 0 5073 s1.b.test" >>"$zone"
sleep $((ttl + 1))
"${ns_exec[@]}" python3 "$py" call 5060 6071 6072 6073 -- 6073 10 5074
check "a 503 from the priority-10 server: failover to the priority-20 one" $? ||
    tail -n 30 "$tmp/a.log"
grep -q 'branch failover after 503' "$tmp/a.log"
check "the proxy logged the failover after the 503" $?

for n in a b2 b3; do
    kill "${pids[$n]}" 2>/dev/null
    wait_exit "${pids[$n]}" 10
    wait "${pids[$n]}" 2>/dev/null
    rc=$?
    [ "$rc" -eq 0 ]
    check "$n exits cleanly on SIGTERM (status $rc)" $?
done
! grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$tmp"/*.log
check "no sanitizer report in the logs" $?
interop_finish
