#!/usr/bin/env bash
# A record-routed stateful call through sipkit serve vs Kamailio 5.6 (tm + rr + registrar, usrloc in
# memory), the same SIPp scenario, the callee registered, 1 worker on 1 core each:
#   CPU microseconds per call at one fixed rate (median of runs) and the ratio, then the highest
#   rate of a series each server sustains with under 0.1% failed calls.
# Call: INVITE / 100 / 180 / 200 / ACK / (200 ms) / BYE / 200, every request through the proxy.
# The Request-URI is SIPp's stock one, sip:bob@ADDR:PORT (the server's own address and port), and
# bob registers To sip:bob@ADDR:PORT: the AOR of ours without the port, sip:bob@127.0.0.1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
px=$root/bench/proxy
build=$root/build-benchproxy
bench_name=bench_proxy
rate=${PROXY_RATE:-500}        # calls per second for the CPU runs, both servers
calls=${PROXY_CALLS:-10000}    # calls per CPU run
reps=${PROXY_RUNS:-3}          # CPU runs per server (median)
drain_s=${PROXY_DRAIN_S:-34}   # after each CPU run: Timer L/M/J (64*T1 = 32 s) plus slack
read -r -a steps <<<"${PROXY_MAXRATE_STEPS:-500 1000 2000 3000 4000 6000 8000 10000 12000 15000}"
step_s=${PROXY_STEP_S:-5}      # seconds of calls per max-rate step
skip_max=${PROXY_SKIP_MAXRATE:-0}
keep_tmp=${PROXY_KEEP_TMP:-0}  # 1: keep the logs and SIPp statistics in /tmp
min_achieved=95                # a step fails if SIPp creates calls at under this % of the rate
srv_cpu=0
# SIPp runs on the server's own core for the CPU runs; the max-rate steps put it on cpu 1, so that it does not cap the rate (BENCH_SIPP_CPU overrides). On this kind of
# 2-vCPU VM a wakeup across cores costs 20-200 us (halted vCPU, IPI exits) and varied from run to run
# by more than both servers' own work; on one core the wakeups are local and runs repeat within ~5%.
cpu_sipp_cpu=${BENCH_SIPP_CPU:-$srv_cpu}
max_sipp_cpu=1
sipp_cpu=$cpu_sipp_cpu
buff=4194304                   # SIPp's UDP socket buffers (capped by net.core.[rw]mem_max)
hz=$(getconf CLK_TCK)
# Kamailio's processes run under the policy sipkit's workers use by default (SCHED_BATCH, sipkit serve
# --sched): the same for both servers. Measured: it does not change Kamailio's CPU per request, which
# already sleeps about once per SIPp burst. BENCH_KAMAILIO_SCHED=normal runs it unchanged.
kam_sched=(chrt -b 0)
if [ "${BENCH_KAMAILIO_SCHED:-batch}" = normal ]; then kam_sched=(); fi
read -r -a sipkit_args <<<"${SIPKIT_ARGS:-}" # more 'sipkit serve' options, e.g. "--udp-wait epoll"
for v in "$rate" "$calls" "$step_s" "${steps[@]}"; do
    if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
        echo "bench_proxy: rates, counts and PROXY_STEP_S must be positive integers (got '$v')" >&2
        exit 2
    fi
done
if ! [[ $reps =~ ^[0-9]+$ && $drain_s =~ ^[0-9]+$ ]]; then
    echo "bench_proxy: PROXY_RUNS and PROXY_DRAIN_S must be integers >= 0" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

"$root/scripts/install-deps" bench
if ! command -v python3 >/dev/null; then
    echo "$bench_name: python3 is needed to register the callee" >&2
    exit 1
fi
build_sipkit "$build"
sipkit=$build/sipkit

bench_init

sipkit_port=$(free_port)
kam_port=$(free_port)
uas_port=$(free_port)
uac_port=$(free_port)

port_of() { if [ "$1" = sipkit ]; then echo "$sipkit_port"; else echo "$kam_port"; fi; }

# --- servers and SIPp ---------------------------------------------------------------------------
srv_pid=""
# start_server NAME TAG: a fresh server (sipkit: empty data directory), logging to NAME-TAG.log,
# with bob registered at the SIPp UAS (To sip:bob@127.0.0.1:PORT, the server's address and port,
# as the caller's Request-URI). Waits (bounded) until the REGISTER gets its 200.
start_server() {
    local name=$1 log=$tmp/$1-$2.log i
    case $name in
    sipkit)
        rm -rf "$tmp/data"
        mkdir "$tmp/data"
        taskset -c "$srv_cpu" "$sipkit" serve --listen "udp:127.0.0.1:$sipkit_port" --domain localhost \
            --auth off --data "$tmp/data" --workers 1 --log-level warn --prefault 64 "${sipkit_args[@]}" >"$log" 2>&1 &
        srv_pid=$!
        ;;
    kamailio)
        taskset -c "$srv_cpu" "${kam_sched[@]}" kamailio -DD -E -x tlsf -m 2048 -f "$px/kamailio.cfg" \
            -l "udp:127.0.0.1:$kam_port" -w "$tmp" >"$log" 2>&1 &
        srv_pid=$!
        ;;
    esac
    started+=("$srv_pid")
    # regclient retransmits for 6 s: long enough for Kamailio to pre-fault its 2 GiB of shm
    for ((i = 0; i < 6; i++)); do
        kill -0 "$srv_pid" 2>/dev/null || break
        if timeout -k 2 10 python3 "$px/register.py" "$(port_of "$name")" bob \
            "<sip:bob@127.0.0.1:$uas_port>" "127.0.0.1:$(port_of "$name")" >"$tmp/register.out" 2>&1; then
            return 0
        fi
    done
    echo "$bench_name: $name did not accept the REGISTER ($(cat "$tmp/register.out")); its log:" >&2
    tail -n 20 "$log" >&2
    exit 1
}

# start_uas COUNT LIMIT-S TAG: the SIPp callee on uas_port, ending after COUNT calls or LIMIT-S.
uas_pid=""
start_uas() {
    (cd "$tmp" && exec timeout -k 5 "$2" taskset -c "$sipp_cpu" sipp -sf "$px/uas_answer.xml" \
        -i 127.0.0.1 -p "$uas_port" -m "$1" -nostdin -buff_size "$buff" \
        -trace_stat -fd 1 -stf "$tmp/uas-$3.csv" -trace_err -error_file "$tmp/uas-$3.err" \
        -max_log_size 2000000 >"$tmp/uas-$3.out" 2>&1) &
    uas_pid=$!
    started+=("$uas_pid")
    if ! wait_udp_port "$uas_port" 50; then
        echo "$bench_name: the SIPp UAS did not start:" >&2
        tail -n 20 "$tmp/uas-$3.out" >&2
        exit 1
    fi
}

# After the UAC: the UAS ends by itself once it has seen every call; give it 5 s, then stop it.
end_uas() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$uas_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_server "$uas_pid"
}

# uac_start PORT COUNT RATE LIMIT-S TAG: the SIPp caller, in the background; uac_wait waits for it
# (so that a signal to this script is handled at once). Statistics every second to uac-TAG.csv.
uac_start() {
    (cd "$tmp" && exec timeout -k 5 $(($4 + 15)) taskset -c "$sipp_cpu" sipp "127.0.0.1:$1" \
        -sf "$px/uac_call.xml" -s bob -i 127.0.0.1 -p "$uac_port" -m "$2" -r "$3" -rp 1000 \
        -timeout "${4}s" -nostdin -buff_size "$buff" \
        -trace_stat -fd 1 -stf "$tmp/uac-$5.csv" -trace_err -error_file "$tmp/uac-$5.err" \
        -max_log_size 2000000 >"$tmp/uac-$5.out" 2>&1) &
    fg_pid=$!
}
uac_wait() {
    local rc=0
    wait "$fg_pid" || rc=$?
    fg_pid=""
    return "$rc"
}

# Calls per second SIPp created: from the last once-a-second line written before the last call was
# created (so the tail of the last calls does not count); the whole run if there is none.
achieved_rate() { # stf-file count
    awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "StartTime") s = i;
            if ($i == "CurrentTime") c = i; if ($i == "OutgoingCall(C)") o = i } next }
        { split($s, a, "\t"); split($c, b, "\t"); e = b[3] - a[3]; v = $o + 0
          if (v < n && v > 0 && e >= 0.9) best = v / e
          if (e > 0) last = v / e }
        END { printf "%.0f", best ? best : last }' "$1" 2>/dev/null || echo 0
}

# --- CPU per call at a fixed rate ---------------------------------------------------------------
declare -A res_run  # res_run[server] = us/call of each run, server CPU during the SIPp run
declare -A res_all  # res_all[server] = us/call of each run, the run plus drain_s after it
declare -A res_ns   # the latter from schedstat (ns resolution), a cross-check of the 1/HZ ticks
flagged=0

run_cpu() { # server rep
    local name=$1 rep=$2 tag=cpu-$1-$2 pids t0 t1 t2 n0 n2 w0 w1 rc=0 ok fail failed retr uok ufail flag=""
    local limit=$((calls / rate + 30))
    start_server "$name" "$tag"
    start_uas "$calls" $((limit + 30)) "$tag"
    pids=$(server_pids "$srv_pid")
    t0=$(cpu_ticks $pids)
    n0=$(cpu_ns $pids)
    w0=$(date +%s%N)
    uac_start "$(port_of "$name")" "$calls" "$rate" "$limit" "$tag"
    uac_wait || rc=$?
    w1=$(date +%s%N)
    t1=$(cpu_ticks $pids)
    end_uas
    sleep "$drain_s"
    t2=$(cpu_ticks $pids)
    n2=$(cpu_ns $pids)
    stop_server "$srv_pid"
    ok=$(stf_col "$tmp/uac-$tag.csv" 'SuccessfulCall(C)')
    fail=$(stf_col "$tmp/uac-$tag.csv" 'FailedCall(C)')
    retr=$(stf_col "$tmp/uac-$tag.csv" 'Retransmissions(C)')
    uok=$(stf_col "$tmp/uas-$tag.csv" 'SuccessfulCall(C)')
    ufail=$(stf_col "$tmp/uas-$tag.csv" 'FailedCall(C)')
    [[ $ok =~ ^[0-9]+$ ]] || ok=0
    failed=$((calls - ok))
    if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$ufail" != 0 ]; then
        flag="  FLAGGED (sipp exit $rc)"
        flagged=1
    fi
    local us_run us_all us_ns
    us_run=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0) ? d * 1e6 / hz / n : 0 }')
    us_all=$(awk -v d=$((t2 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0) ? d * 1e6 / hz / n : 0 }')
    us_ns=$(awk -v d=$((n2 - n0)) -v n="$ok" 'BEGIN { printf "%.1f", (n > 0) ? d / 1e3 / n : 0 }')
    res_run[$name]="${res_run[$name]:-} $us_run"
    res_all[$name]="${res_all[$name]:-} $us_all"
    res_ns[$name]="${res_ns[$name]:-} $us_ns"
    printf '  run %d %-8s %4d/s: achieved %4s/s, ok %s, failed %s (SIPp %s), retrans %s, UAS ok %s failed %s;' \
        "$rep" "$name" "$rate" "$(achieved_rate "$tmp/uac-$tag.csv" "$calls")" "$ok" "$failed" "$fail" "$retr" \
        "$uok" "$ufail"
    printf ' cpu %5.0f ms in %.1f s = %6s us/call, +%d s drain %6s us/call (schedstat %s)%s\n' \
        "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { print d * 1000 / hz }')" \
        "$(awk -v w=$((w1 - w0)) 'BEGIN { print w / 1e9 }')" "$us_run" "$drain_s" "$us_all" "$us_ns" "$flag"
}

if ((reps > 0)); then
    echo "$bench_name: $calls calls per run at $rate/s over UDP (INVITE/100/180/200/ACK/BYE/200, record-routed," \
        "callee registered, Request-URI sip:bob@127.0.0.1:PORT), fresh server each run, $reps runs per server," \
        "$drain_s s drain after each"
fi
sipp_cpu=$cpu_sipp_cpu
for ((rep = 1; rep <= reps; rep++)); do
    if ((rep % 2)); then order="sipkit kamailio"; else order="kamailio sipkit"; fi
    for name in $order; do
        run_cpu "$name" "$rep"
    done
done
sipp_cpu=$max_sipp_cpu

# --- highest rate under 0.1% failed calls -------------------------------------------------------
declare -A best       # best[server] = the highest rate passed
declare -A stop_note  # why the search stopped
step_run() { # server rate try: 0 if the step passed
    local name=$1 r=$2 tag=max-$1-$2-$3 n=$(($2 * step_s)) rc=0 ok failed ach pids t0 t1 g0 g1 w0 w1
    local verdict util gen sipps
    start_server "$name" "$tag"
    start_uas "$n" $((step_s + 45)) "$tag"
    pids=$(server_pids "$srv_pid")
    sipps=$(server_pids "$uas_pid") # timeout(1) and the SIPp it runs
    t0=$(cpu_ticks $pids)
    g0=$(cpu_ticks $sipps)
    w0=$(date +%s%N)
    uac_start "$(port_of "$name")" "$n" "$r" $((step_s + 15)) "$tag"
    # CPU use while the calls are being made: the first step_s seconds
    sleep "$step_s"
    w1=$(date +%s%N)
    sipps="$sipps $(server_pids "$fg_pid")"
    t1=$(cpu_ticks $pids)
    g1=$(cpu_ticks $sipps)
    uac_wait || rc=$?
    end_uas
    stop_server "$srv_pid"
    ok=$(stf_col "$tmp/uac-$tag.csv" 'SuccessfulCall(C)')
    [[ $ok =~ ^[0-9]+$ ]] || ok=0
    failed=$((n - ok))
    ach=$(achieved_rate "$tmp/uac-$tag.csv" "$n")
    util=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", d / hz * 1e9 * 100 / w }')
    gen=$(awk -v d=$((g1 - g0)) -v hz="$hz" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", d / hz * 1e9 * 100 / w }')
    if ((failed * 1000 >= n)); then
        verdict="FAIL: $(awk -v f="$failed" -v n="$n" 'BEGIN { printf "%.2f", f * 100 / n }')% failed"
    elif ((ach * 100 < r * min_achieved)); then
        verdict="FAIL: SIPp reached only $ach/s"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        verdict="FAIL: SIPp did not finish in time"
    else
        verdict=pass
    fi
    printf '  %-8s %5d/s x %d s%s: achieved %5s/s, ok %6d, failed %5d; CPU while calling: server %3s%%, SIPp %3s%%  %s\n' \
        "$name" "$r" "$step_s" "$([ "$3" = 1 ] && echo "   " || echo " #$3")" "$ach" "$ok" "$failed" "$util" "$gen" "$verdict"
    if [ "$verdict" != pass ]; then
        stop_note[$name]="stopped at $r/s: ${verdict#FAIL: }; server at $util% of its core, SIPp at $gen% of its"
        if ((gen >= 90)); then
            stop_note[$name]+=" (SIPp saturated: the load generator's limit)"
        fi
        return 1
    fi
}

if [ "$skip_max" != 1 ]; then
    echo
    echo "$bench_name: highest rate with under 0.1% failed calls: steps ${steps[*]} calls/s, $step_s s of calls" \
        "each, fresh server each step, stop at the first step failing twice in a row"
    for name in sipkit kamailio; do
        best[$name]=none
        stop_note[$name]="passed every step"
        for r in "${steps[@]}"; do
            # a failing step is tried once more: a single stall of the shared machine is not a limit
            if step_run "$name" "$r" 1 || step_run "$name" "$r" 2; then
                best[$name]=$r
                stop_note[$name]="passed every step"
            else
                break
            fi
        done
    done
fi

# --- report -------------------------------------------------------------------------------------
echo
echo "scheduling: sipkit workers SCHED_BATCH (serve --sched batch, its default${SIPKIT_ARGS:+; SIPKIT_ARGS=$SIPKIT_ARGS}), kamailio under ${kam_sched[*]:-the normal policy}"
echo "cores: $(nproc) online; each server pinned to cpu $srv_cpu with 1 worker (sipkit --workers 1 --prefault 64," \
    "kamailio children=1 -x tlsf -m 2048, shm pre-faulted); SIPp UAC and UAS on cpu $cpu_sipp_cpu for the CPU runs," \
    "on cpu $max_sipp_cpu for the max-rate steps"
if ((reps > 0)); then
    echo "CPU per call = server utime+stime (all its processes/threads) / successful calls, median of $reps runs at" \
        "$rate/s; 'run' counts the SIPp run, 'run+drain' also the $drain_s s after it (transaction timers)"
    printf '%-22s  %14s  %16s  %16s\n' "" "sipkit us/call" "kamailio us/call" "sipkit/kamailio"
    s=$(median ${res_run[sipkit]})
    k=$(median ${res_run[kamailio]})
    printf '%-22s  %14s  %16s  %16s\n' "run" "$s" "$k" "$(ratio "$s" "$k")"
    s=$(median ${res_all[sipkit]})
    k=$(median ${res_all[kamailio]})
    printf '%-22s  %14s  %16s  %16s\n' "run+drain" "$s" "$k" "$(ratio "$s" "$k")"
    sn=$(median ${res_ns[sipkit]})
    kn=$(median ${res_ns[kamailio]})
    printf '%-22s  %14s  %16s  %16s\n' "run+drain (schedstat)" "$sn" "$kn" "$(ratio "$sn" "$kn")"
    echo "ratio sipkit/kamailio: $(ratio "$s" "$k") CPU per call (run+drain), 1 core each, median of $reps runs at $rate/s"
fi
if [ "$skip_max" != 1 ]; then
    echo
    printf '%-10s  %22s  %s\n' server "max calls/s, <0.1% fail" ""
    for name in sipkit kamailio; do
        printf '%-10s  %22s  %s\n' "$name" "${best[$name]}" "${stop_note[$name]}"
    done
    echo "a step is $step_s s of calls; CPU while calling = its first $step_s s. Both SIPp instances share one core:" \
        "when SIPp nears 100% and the server does not, the limit found is the load generator's, not the server's"
fi
# What the servers logged (warnings and errors: sipkit runs with --log-level warn, Kamailio debug=1).
for name in sipkit kamailio; do
    n=$(cat "$tmp/$name"-*.log 2>/dev/null | grep -Ecv '^\s*$|Listening on|udp: 127\.0\.0\.1|Aliases:|\*: localhost|Thank you for flying' || true)
    if [ "$n" -gt 0 ]; then
        echo "$name logged $n line(s) over all runs; the most frequent:"
        cat "$tmp/$name"-*.log | grep -Ev '^\s*$|Listening on|udp: 127\.0\.0\.1|Aliases:|\*: localhost|Thank you for flying' |
            sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 5
    fi
done
if [ "$flagged" -ne 0 ]; then
    echo "WARNING: some CPU runs were FLAGGED (failed calls, UAS failures or SIPp exit status); see the lines above"
fi
exit 0
