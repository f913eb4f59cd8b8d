#!/usr/bin/env bash
# CPU per OPTIONS transaction, sipkit serve vs Kamailio (stateless sl), same SIPp load and 1 core each.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
opts=$root/bench/options
build=$root/build-benchopt
read -r -a rates <<<"${OPTIONS_RATES:-2000 5000}"
count=${OPTIONS_COUNT:-60000}
reps=${OPTIONS_REPS:-5}
srv_cpu=0
# SIPp runs on the server's own core for the CPU runs (BENCH_SIPP_CPU overrides). On this kind of
# 2-vCPU VM a wakeup across cores costs 20-200 us (halted vCPU, IPI exits) and varied from run to run
# by more than both servers' own work; on one core the wakeups are local and runs repeat within ~5%.
sipp_cpu=${BENCH_SIPP_CPU:-$srv_cpu}
drain_s=34 # Timer J (32 s) plus slack: how long sipkit is watched after its last run per rate
hz=$(getconf CLK_TCK)
# Kamailio's processes run under the policy sipkit's workers use by default (SCHED_BATCH, sipkit serve
# --sched): the same for both servers. Measured: it does not change Kamailio's CPU per request, which
# already sleeps about once per SIPp burst. BENCH_KAMAILIO_SCHED=normal runs it unchanged.
kam_sched=(chrt -b 0)
if [ "${BENCH_KAMAILIO_SCHED:-batch}" = normal ]; then kam_sched=(); fi
read -r -a sipkit_args <<<"${SIPKIT_ARGS:-}" # more 'sipkit serve' options, e.g. "--udp-wait epoll"

bench_name=bench_options
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
"$root/scripts/install-deps" bench
build_sipkit "$build" || exit 1

bench_init

sipkit_port=$(free_port)
kam_port=$(free_port)
sipp_port=$(free_port)

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# SIPp in the background and waited for, so that a signal to this script is handled at once.
sipp_run() { # port count rate stf-file screen-file
    local port=$1 n=$2 r=$3 limit=$(($2 / $3 + 30)) rc=0
    cd "$tmp"
    timeout -k 5 $((limit + 15)) taskset -c "$sipp_cpu" \
        sipp "127.0.0.1:$port" -sf "$opts/uac_options.xml" -i 127.0.0.1 -p "$sipp_port" \
        -m "$n" -r "$r" -rp 1000 -timeout "${limit}s" -nostdin \
        -trace_stat -stf "$4" >"$5" 2>&1 &
    fg_pid=$!
    cd "$root"
    wait "$fg_pid" || rc=$?
    fg_pid=""
    return "$rc"
}

# Wait (bounded) until the server answers one OPTIONS.
wait_ready() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 40; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if sipp_run "$port" 1 1 "$tmp/probe.csv" "$tmp/probe.out"; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

srv_pid=""
start_server() { # name
    case $1 in
    sipkit)
        taskset -c "$srv_cpu" "$build/sipkit" serve --listen "udp:127.0.0.1:$sipkit_port" \
            --workers 1 --log-level warn --prefault 64 "${sipkit_args[@]}" >"$tmp/sipkit.log" 2>&1 &
        srv_pid=$!
        ;;
    kamailio)
        taskset -c "$srv_cpu" "${kam_sched[@]}" kamailio -DD -E -x tlsf -m 2048 -f "$opts/kamailio.cfg" \
            -l "udp:127.0.0.1:$kam_port" -w "$tmp" >"$tmp/kamailio.log" 2>&1 &
        srv_pid=$!
        ;;
    esac
    started+=("$srv_pid")
    if ! wait_ready "$(port_of "$1")" "$srv_pid"; then
        echo "bench_options: $1 did not answer OPTIONS; its log:" >&2
        tail -n 20 "$tmp/$1.log" >&2
        exit 1
    fi
}

port_of() { if [ "$1" = sipkit ]; then echo "$sipkit_port"; else echo "$kam_port"; fi; }

declare -A res        # res[server,rate] = space-separated µs/txn of each run (utime+stime)
declare -A resn       # the same from schedstat: exact on-CPU ns, where utime+stime are 1/HZ samples
declare -A rss_note   # sipkit RSS growth per rate (last run)
declare -A drain_note # sipkit CPU after the run per rate (last run)
flagged=0

# One measured run: fresh server, SIPp at a fixed rate, server CPU over the SIPp run.
run_one() { # server rate rep
    local name=$1 rate=$2 rep=$3 port pids t0 t1 n0 n1 w0 w1 rc us usn ok fail retr rss0 rss1 d1 flag=""
    start_server "$name"
    port=$(port_of "$name")
    pids="$srv_pid $( (pgrep -P "$srv_pid" || true) | tr '\n' ' ')"
    rss0=$(rss_kb "$srv_pid")
    t0=$(cpu_ticks $pids)
    n0=$(cpu_ns $pids)
    w0=$(date +%s%N)
    rc=0
    sipp_run "$port" "$count" "$rate" "$tmp/run.csv" "$tmp/run.out" || rc=$?
    w1=$(date +%s%N)
    t1=$(cpu_ticks $pids)
    n1=$(cpu_ns $pids)
    rss1=$(rss_kb "$srv_pid")
    ok=$(stf_col "$tmp/run.csv" 'SuccessfulCall(C)')
    fail=$(stf_col "$tmp/run.csv" 'FailedCall(C)')
    retr=$(stf_col "$tmp/run.csv" 'Retransmissions(C)')
    if [ "$rc" -ne 0 ] || [ "$fail" != 0 ] || [ "$ok" != "$count" ]; then
        flag="  FLAGGED (sipp exit $rc)"
        flagged=1
    fi
    us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.2f", (n > 0) ? d * 1e6 / hz / n : 0 }')
    usn=$(awk -v d=$((n1 - n0)) -v n="$ok" 'BEGIN { printf "%.2f", (n > 0) ? d / 1e3 / n : 0 }')
    res[$name,$rate]="${res[$name,$rate]:-} $us"
    resn[$name,$rate]="${resn[$name,$rate]:-} $usn"
    printf '  run %d %-8s %5d/s: achieved %6.0f/s, cpu %6.0f ms, %7s us/txn (%6s by schedstat), ok %s, failed %s, retrans %s, rss %+d KiB%s\n' \
        "$rep" "$name" "$rate" "$(awk -v n="$ok" -v w=$((w1 - w0)) 'BEGIN { print n * 1e9 / w }')" \
        "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { print d * 1000 / hz }')" "$us" "$usn" "$ok" "$fail" "$retr" \
        $((rss1 - rss0)) "$flag"
    if [ "$name" = sipkit ] && [ "$rep" -eq "$reps" ]; then
        rss_note[$rate]=$(awk -v k=$((rss1 - rss0)) -v n="$count" 'BEGIN { printf "%+d KiB RSS at the end of the run, %.0f B per live transaction", k, k * 1024 / n }')
        sleep "$drain_s"
        d1=$(cpu_ticks "$srv_pid")
        drain_note[$rate]=$(awk -v d=$((d1 - t1)) -v hz="$hz" -v n="$count" -v s="$drain_s" \
            'BEGIN { printf "%.2f us/txn of CPU in the %d s after the run (Timer J expiry)", d * 1e6 / hz / n, s }')
    fi
    stop_server "$srv_pid"
}

echo "bench_options: $count OPTIONS per run over UDP, fresh server each run, $reps runs per server and rate"
for rate in "${rates[@]}"; do
    for ((rep = 1; rep <= reps; rep++)); do
        if ((rep % 2)); then order="sipkit kamailio"; else order="kamailio sipkit"; fi
        for name in $order; do
            run_one "$name" "$rate" "$rep"
        done
    done
done

echo
echo "CPU per OPTIONS transaction (server utime+stime over the SIPp run / transactions), median of $reps"
echo "servers 1 core each (both pinned to cpu $srv_cpu, run one at a time): sipkit --workers 1" \
    "(OPTIONS to itself answered statelessly, --prefault 64), kamailio 5.6 children=1 (stateless sl_send_reply, -x tlsf -m 2048 pre-faulted);" \
    "SIPp on cpu $sipp_cpu (the server's core unless BENCH_SIPP_CPU says otherwise)"
printf '%8s  %14s  %16s  %16s    %s\n' "rate/s" "sipkit us/txn" "kamailio us/txn" "sipkit/kamailio" \
    "by schedstat (sipkit, kamailio, ratio)"
for rate in "${rates[@]}"; do
    s=$(median ${res[sipkit,$rate]})
    k=$(median ${res[kamailio,$rate]})
    sn=$(median ${resn[sipkit,$rate]})
    kn=$(median ${resn[kamailio,$rate]})
    printf '%8s  %14s  %16s  %16s    %s %s %s\n' "$rate" "$s" "$k" "$(ratio "$s" "$k")" "$sn" "$kn" "$(ratio "$sn" "$kn")"
done
echo "scheduling: sipkit workers SCHED_BATCH (serve --sched batch, its default${SIPKIT_ARGS:+; SIPKIT_ARGS=$SIPKIT_ARGS}), kamailio under ${kam_sched[*]:-the normal policy}"
echo "goal: <= 0.67x"
for rate in "${rates[@]}"; do
    echo "sipkit at $rate/s (OPTIONS to itself answered statelessly, RFC 3261 §8.2.7): ${rss_note[$rate]};" \
        "${drain_note[$rate]}, not in the table"
done
if [ "$flagged" -ne 0 ]; then
    echo "WARNING: some runs were FLAGGED (SIPp failed calls or exit status); see the run lines above"
fi
exit 0
