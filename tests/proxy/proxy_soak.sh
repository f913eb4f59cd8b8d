#!/usr/bin/env bash
# Soak: SOAK_CALLS (20,000) record-routed calls through the proxy at SOAK_RATE
# calls/s (500; 250 under sanitizers, where CTest sets it), SIPp caller and a
# registered SIPp callee. No call may fail, and once the transactions' timers
# have run out everything is freed: no live transaction, no timer beyond the
# ones idle before the run, and (release builds) no growth of the resident
# memory between a warm-up and the end.
# usage: proxy_soak.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
listen_protos=(udp)
ps=$srcdir/proxy/scenarios
px=$srcdir/proxy/pxclient.py
port=$(free_port udp 3) || { check "free ports" 1; interop_finish; }
calls=${SOAK_CALLS:-20000}
rate=${SOAK_RATE:-500}
warm=5000 # 10 s at 500/s: past 64*T1, so the warm-up reaches the steady number of live calls
settle=9 # s: 64*T1 with --t1 100 is 6.4 s; Timer K (T4) 5 s

rss_kb() {
    awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"
}
uas() { # NAME COUNT
    timeout -k 5 $(( $2 / rate + 120 )) sipp -sf "$ps/uas_answer.xml" -i 127.0.0.1 -p $((port + 1)) \
        -m "$2" -d 0 -nostdin -t u1 -trace_stat -stf "$tmp/$1.csv" -fd 1 \
        -trace_err -error_file "$tmp/$1.err" >"$tmp/$1.out" 2>&1 </dev/null &
    uas_pid=$!
    cleanup_hooks+=("kill $uas_pid 2>/dev/null")
}
run() { # NAME COUNT
    local rc
    uas "uas_$1" "$2"
    wait_port udp $((port + 1)) 5 # the callee listens before the first call
    timeout -k 5 $(( $2 / rate + 120 )) sipp "127.0.0.1:$port" -sf "$ps/uac_call.xml" -s bob \
        -m "$2" -r "$rate" -l $(( rate * 2 )) -t u1 -i 127.0.0.1 -p $((port + 2)) -nostdin \
        -timeout $(( $2 / rate + 90 ))s -timeout_error -trace_stat -stf "$tmp/$1.csv" -fd 1 \
        -trace_err -error_file "$tmp/$1.err" >"$tmp/$1.out" 2>&1 </dev/null
    rc=$?
    check_sipp_run "$1" "$rc" "$2"
    wait "$uas_pid"
    check_sipp_run "uas_$1" $? "$2"
}

server_start "$port" --auth off --t1 100 --workers 2 || { check "proxy starts" 1; interop_finish; }
st=$(python3 "$px" register "$port" bob "<sip:bob@127.0.0.1:$((port + 1))>")
[ "$st" = 200 ]
check "bob registers ($st)" $?
timers_idle=$(ctl_stat timers_live)

run warmup "$warm"
sleep "$settle"
rss_warm=$(rss_kb)
start=$(date +%s)
run soak "$calls"
echo "soak: $calls calls at $rate/s took $(( $(date +%s) - start )) s"
sleep "$settle"
rss_end=$(rss_kb)

n=$(ctl_stat transactions_live)
[ "${n:-1}" = 0 ]
check "after the run no transaction is alive (transactions_live ${n:-?})" $?
n=$(ctl_stat timers_live)
[ -n "$n" ] && [ "$n" -le "${timers_idle:-0}" ]
check "after the run no timer beyond the idle ones (timers_live ${n:-?}, idle ${timers_idle:-?})" $?
n=$(ctl_stat proxied)
[ "${n:-0}" -ge $(( 2 * (calls + warm) )) ]
check "every INVITE and BYE was proxied statefully (proxied ${n:-?} >= $(( 2 * (calls + warm) )))" $?
if [ -n "${SIPKIT_SANITIZE:-}" ]; then
    echo "resident memory not compared under sanitizers (quarantine grows); LeakSanitizer checks at exit"
else
    # a call's state is a few KiB; 20,000 leaked calls would be tens of MiB
    growth=$(( rss_end - rss_warm ))
    echo "resident memory: ${rss_warm} KiB after $warm calls, ${rss_end} KiB after $calls more"
    [ "$growth" -lt 2048 ]
    check "no memory growth: RSS grew $growth KiB (< 2 MiB) over $calls calls" $?
fi
server_stop_checked
interop_finish
