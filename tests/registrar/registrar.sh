#!/usr/bin/env bash
# The registrar against a running `sipkit serve`, driven by regclient.py (its
# phases, on the shared client interop/lib/sipclient.py with its own MD5 and
# SHA-256 digest): RFC 3261 §10.3 (AOR, domain, Contact *, expiry rules, 423,
# Call-ID/CSeq ordering, the 200's bindings and Date), digest (both algorithms, wrong password, unknown user,
# nonce-count replay, stale nonces, blocking), RFC 3327 Path, RFC 5626
# outbound, TCP, expiry on time, persistence across SIGTERM and kill -9, and
# the RFC 4475 REGISTER messages (cparam01, cparam02, regescrt, unksm2,
# regaut01) inside a private network namespace (their Vias name outside
# hosts; nothing may leave the machine).
# Ports: two picked at run time on 127.0.0.1 (free_port); 5070/5060 only inside
# the namespace. The namespace part needs root; without it, it is skipped (a
# SKIP line). A phase of regclient.py that exits non-zero fails the run.
# usage: registrar.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$(readlink -f "$1")
srcdir=$(readlink -f "$2")
. "$srcdir/interop/lib/common.bash"
interop_init
client=$srcdir/registrar/regclient.py
ns=""
cleanup_hooks+=('[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null')

# py PHASE ARGS...: a regclient.py phase (inside the namespace when ns_exec is
# set), bounded; its checks are counted, and a non-zero exit is a failure.
py() {
    py_checks timeout -k 5 120 "${ns_exec[@]}" python3 "$client" "$@" --sipkit "$sipkit"
}

flushed() { # DATA AOR CSEQ: the store holds a binding of AOR written by CSeq CSEQ
    [ "$(sqlite3 "file:$1/sipkit.db?mode=ro" \
        "SELECT count(*) FROM bindings WHERE aor = '$2' AND cseq = $3" 2>/dev/null)" -ge 1 ]
}

ctl_answers() { "$sipkit" ctl stats --data "$1" >/dev/null 2>&1; }

# reg_server_start PORT DATA [serve args...]: UDP and TCP on 127.0.0.1:PORT
# with --data DATA; ready once an OPTIONS and the control socket are answered.
reg_server_start() {
    local port=$1
    server_data=$2
    shift 2
    server_start "$port" "$@" && wait_for 5 ctl_answers "$server_data"
}

add_users() { # data domain user...
    local data=$1 domain=$2 u
    shift 2
    for u in "$@"; do
        "$sipkit" user add "$u@$domain" --password "pw-$u-$$" --data "$data" >/dev/null ||
            check "user add $u@$domain" 1
        echo "$u pw-$u-$$" >>"$data/users.txt"
    done
}

# ---------------------------------------------------------------- A: the registrar
D=reg.test
A=$tmp/a
mkdir -p "$A"
add_users "$A" "$D" alice alice2 bob carol dave erin frank gina pers1 pers2
limits=(--default-expires 1800 --min-expires 2 --max-expires 3000)
port_a=$(free_port) port_b=$(free_port)
start_a() {
    reg_server_start "$port_a" "$A" --domain "$D" --auth on "${limits[@]}" --auth-fail-limit 1000 \
        --flush-ms 200
}
start_a; check "server A starts (UDP+TCP 127.0.0.1:$port_a)" $?
if [ -n "$server_pid" ]; then
    py main --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" \
        --default-expires 1800 --min-expires 2 --max-expires 3000

    # persistence across a clean stop
    py persist-reg --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" --user pers1 \
        --state "$tmp/pers1.state" --min-expires 2
    server_stop_sig TERM; check "SIGTERM stops the server cleanly (exit 0)" $?
    sleep 2.5   # the short binding expires meanwhile; the long ones lose time
    start_a; check "server A restarts after SIGTERM" $?
    py persist-check --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" \
        --user pers1 --state "$tmp/pers1.state" --how SIGTERM

    # persistence across kill -9: once the write-behind batch holds pers2's last
    # REGISTER (CSeq 4) it is on disk (WAL), then no chance to write
    py persist-reg --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" --user pers2 \
        --state "$tmp/pers2.state" --min-expires 2
    wait_for 5 flushed "$A" "sip:pers2@$D" 4
    check "pers2's bindings are written to the store before kill -9" $?
    server_stop_sig KILL
    sleep 2.5   # as above: the short binding expires while the server is down
    start_a; check "server A restarts after kill -9" $?
    py persist-check --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" \
        --user pers2 --state "$tmp/pers2.state" --how "kill -9"
    py persist-check --port "$port_a" --data "$A" --domain "$D" --users "$A/users.txt" \
        --user pers1 --state "$tmp/pers1.state" --how "SIGTERM + kill -9"
    server_stop_sig TERM
fi

# ---------------------------------------------------------------- B: stale nonces, blocking
B=$tmp/b
mkdir -p "$B"
add_users "$B" "$D" alice bob
reg_server_start "$port_b" "$B" --domain "$D" --nonce-lifetime 2 --auth-fail-limit 3 \
    --auth-fail-window 60 --auth-block-time 300 "${limits[@]}"
check "server B starts (--nonce-lifetime 2 --auth-fail-limit 3)" $?
if [ -n "$server_pid" ]; then
    py stale-block --port "$port_b" --data "$B" --domain "$D" --users "$B/users.txt" \
        --nonce-lifetime 2 --fail-limit 3
    server_stop_sig TERM
fi

# ---------------------------------------------------------------- C: RFC 4475 in a namespace
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the RFC 4475 part needs root (ip netns); not run"
else
    ns=sk-reg$$
    if ip netns add "$ns" && ip netns exec "$ns" ip link set lo up; then
        ns_exec=(ip netns exec "$ns")
        for name in cparam01 cparam02 regescrt unksm2 regaut01; do
            C=$tmp/ns-$name
            mkdir -p "$C"
            proto=UDP
            args=(--domain example.com --auth off)
            if [ "$name" = regaut01 ]; then
                # its Via says TCP: send it on a TCP connection, the answer comes back on it
                proto=TCP
                args=(--domain example.com --auth on)
                add_users "$C" example.com j.user
            fi
            # a fresh server each: cparam01/cparam02 and regescrt share a branch, so one
            # server would rightly take the later one for a retransmission (§17.2.3)
            if reg_server_start 5070 "$C" "${args[@]}"; then
                py rfc4475 --port 5070 --data "$C" --proto "$proto" \
                    --file "$srcdir/data/rfc4475/$name.dat"
                server_stop_sig TERM
            else
                check "$name: server starts inside $ns" 1
            fi
        done
        ns_exec=()
    else
        check "create network namespace $ns" 1
    fi
fi

interop_finish
