#!/usr/bin/env bash
# REGISTER cost, sipkit serve vs Kamailio (registrar + usrloc in memory), same SIPp load, 1 core each:
#   CPU per REGISTER without auth and with digest over 10,000 distinct users at one fixed rate,
#   and memory per binding after 100,000 distinct AORs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
reg=$root/bench/register
build=$root/build-benchreg
rate=${REGISTER_RATE:-1000}             # REGISTERs (digest: 401+200 pairs) per second, both servers
nusers=${REGISTER_USERS:-10000}         # distinct users per CPU run
mem_n=${REGISTER_MEM_BINDINGS:-100000}  # distinct AORs for the memory test
mem_rate=${REGISTER_MEM_RATE:-2500}
reps=${REGISTER_REPS:-3}
srv_cpu=0
# SIPp runs on the server's own core for the CPU runs (BENCH_SIPP_CPU overrides). On this kind of
# 2-vCPU VM a wakeup across cores costs 20-200 us (halted vCPU, IPI exits) and varied from run to run
# by more than both servers' own work; on one core the wakeups are local and runs repeat within ~5%.
sipp_cpu=${BENCH_SIPP_CPU:-$srv_cpu}
drain_s=${REGISTER_DRAIN_S:-34} # idle after the last run: 64*T1 (32 s) plus slack, for what still runs timers
domain=bench.test
hz=$(getconf CLK_TCK)
# Kamailio's processes run under the policy sipkit's workers use by default (SCHED_BATCH, sipkit serve
# --sched): the same for both servers. Measured: it does not change Kamailio's CPU per request, which
# already sleeps about once per SIPp burst. BENCH_KAMAILIO_SCHED=normal runs it unchanged.
kam_sched=(chrt -b 0)
if [ "${BENCH_KAMAILIO_SCHED:-batch}" = normal ]; then kam_sched=(); fi

bench_name=bench_register
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"

"$root/scripts/install-deps" bench
build_sipkit "$build" || exit 1
sipkit=$build/sipkit

bench_init

sipkit_port=$(free_port)
kam_port=$(free_port)
sipp_port=$(free_port)
relay_port=$(free_port)

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
pss_kb() { # summed over the given PIDs: shared pages counted once in all
    local p t=0 v
    for p in "$@"; do
        v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || v=0
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# sipp_run SCENARIO PORT INJECTION-FILE|- COUNT RATE STF OUT [more SIPp options]
sipp_run() {
    local sf=$1 port=$2 inf=$3 n=$4 r=$5 stf=$6 out=$7 limit
    shift 7
    limit=$((n / r + 30))
    local args=(-sf "$sf" -i 127.0.0.1 -p "$sipp_port" -m "$n" -r "$r" -rp 1000
        -timeout "${limit}s" -nostdin -trace_stat -stf "$stf")
    if [ "$inf" != - ]; then args+=(-inf "$inf"); fi
    (cd "$tmp" && timeout -k 5 $((limit + 15)) taskset -c "$sipp_cpu" \
        sipp "127.0.0.1:$port" "${args[@]}" "$@" >"$out" 2>&1)
}

port_of() { if [ "$1" = sipkit ]; then echo "$sipkit_port"; else echo "$kam_port"; fi; }

# Wait (bounded) until the server answers one OPTIONS.
wait_ready() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if sipp_run "$reg/probe_options.xml" "$port" - 1 1 "$tmp/probe.csv" "$tmp/probe.out"; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

# --- users -------------------------------------------------------------------------------------
"$reg/gen_users.sh" "$nusers" >"$tmp/users.csv"
"$reg/gen_users.sh" "$mem_n" >"$tmp/mem.csv"
mkdir -p "$tmp/users-data"
# All of them with one `sipkit user import` (one transaction); then the time of single
# `sipkit user add` calls (one process and one commit each) on a sample, in a scratch directory.
t0=${EPOCHREALTIME/./}
tail -n +2 "$tmp/users.csv" | awk -F';' -v d="$domain" '{ print $1 "@" d " " $2 }' |
    "$sipkit" user import --data "$tmp/users-data" >/dev/null
import_ms=$(awk -v e=$((${EPOCHREALTIME/./} - t0)) 'BEGIN { printf "%.0f", e / 1e3 }')
add_n=200
t0=${EPOCHREALTIME/./}
for ((i = 0; i < add_n; i++)); do
    "$sipkit" user add "single$i@$domain" --password "pw$i" --data "$tmp/single-data" >/dev/null
done
add_ms=$(awk -v e=$((${EPOCHREALTIME/./} - t0)) -v n=$add_n 'BEGIN { printf "%.1f", e / 1e3 / n }')
have=$("$sipkit" user list --data "$tmp/users-data" | wc -l)
echo "bench_register: 'sipkit user import' stored $have users in $import_ms ms;" \
    "'sipkit user add' takes $add_ms ms a call (mean of $add_n calls)"
if [ "$have" -ne "$nusers" ]; then
    echo "bench_register: sipkit user list shows $have users, expected $nusers" >&2
    exit 1
fi
dig_users=$nusers
head -n $((dig_users + 1)) "$tmp/users.csv" >"$tmp/dig.csv"

cc -O2 -std=c11 -o "$tmp/udp_relay" "$reg/udp_relay.c"

# --- servers -----------------------------------------------------------------------------------
srv_pid=""
# more 'sipkit serve' options: SIPKIT_ARGS (e.g. "--udp-wait epoll" to compare), the memory diagnostic's --t1
read -r -a sipkit_args <<<"${SIPKIT_ARGS:-}"
sipkit_extra=("${sipkit_args[@]}")
# start_server NAME MODE   (MODE: noauth, digest, mem); sipkit gets a fresh copy of the users.
start_server() {
    local name=$1 mode=$2
    case $name in
    sipkit)
        rm -rf "$tmp/run-data"
        # the CPU runs pre-fault 64 MiB of heap, as Kamailio's touch their shm (shm_force_alloc);
        # the memory test, like Kamailio's, does not, so that RSS growth is what the bindings take
        local pf=(--prefault 64)
        if [ "$mode" = mem ]; then mkdir "$tmp/run-data"; pf=(); else cp -a "$tmp/users-data" "$tmp/run-data"; fi
        taskset -c "$srv_cpu" "$sipkit" serve --listen "udp:127.0.0.1:$sipkit_port" --domain "$domain" \
            --data "$tmp/run-data" --auth "$([ "$mode" = digest ] && echo on || echo off)" \
            --workers 1 --log-level warn "${pf[@]}" "${sipkit_extra[@]}" >"$tmp/sipkit.log" 2>&1 &
        srv_pid=$!
        ;;
    kamailio)
        local defs=()
        case $mode in
        noauth) defs=(-A PREFAULT) ;;
        digest) defs=(-A PREFAULT -A WITH_AUTH) ;;
        mem) defs=(-A WITH_CTL -A "CTL_SOCK=\"unix:$tmp/kamailio_ctl\"") ;;
        esac
        taskset -c "$srv_cpu" "${kam_sched[@]}" kamailio -DD -E -x tlsf -m 2048 "${defs[@]}" -f "$reg/kamailio.cfg" \
            -l "udp:127.0.0.1:$kam_port" -w "$tmp" >"$tmp/kamailio.log" 2>&1 &
        srv_pid=$!
        ;;
    esac
    started+=("$srv_pid")
    if ! wait_ready "$(port_of "$name")" "$srv_pid"; then
        echo "bench_register: $name did not answer OPTIONS; its log:" >&2
        tail -n 20 "$tmp/$name.log" >&2
        exit 1
    fi
}

relay_pid=""
start_relay() { # server-port seconds
    local i hex
    taskset -c "$sipp_cpu" "$tmp/udp_relay" "$relay_port" "$1" "$sipp_port" "$2" 2>"$tmp/relay.log" &
    relay_pid=$!
    started+=("$relay_pid")
    hex=$(printf ':%04X ' "$relay_port")
    for ((i = 0; i < 50; i++)); do
        grep -q "$hex" /proc/net/udp && return 0
        sleep 0.1
    done
    echo "bench_register: the relay did not start" >&2
    exit 1
}

# One digest scenario over a few users through the relay: "ok failed" from SIPp's counters.
digest_try() { # server-port injection-file count
    start_relay "$1" 60
    sipp_run "$reg/reg_digest.xml" "$relay_port" "$2" "$3" 10 "$tmp/try.csv" "$tmp/try.out" \
        -auth_uri "$domain" || true
    stop_server "$relay_pid"
    echo "$(stf_col "$tmp/try.csv" 'SuccessfulCall(C)') $(stf_col "$tmp/try.csv" 'FailedCall(C)')"
}

# Before measuring: each server must challenge, accept the right passwords and refuse wrong ones.
printf 'SEQUENTIAL\nuser00001;pw1;\nuser00002;pw2;\nuser00003;pw3;\n' >"$tmp/good.csv"
printf 'SEQUENTIAL\nuser00004;pw5;\nuser00006;wrong;\n' >"$tmp/bad.csv"
for name in sipkit kamailio; do
    start_server "$name" digest
    good=$(digest_try "$(port_of "$name")" "$tmp/good.csv" 3)
    bad=$(digest_try "$(port_of "$name")" "$tmp/bad.csv" 2)
    stop_server "$srv_pid"
    echo "bench_register: $name digest check: right passwords ok/failed $good (want 3 0)," \
        "wrong passwords ok/failed $bad (want 0 2)"
    if [ "$good" != "3 0" ] || [ "$bad" != "0 2" ]; then
        echo "bench_register: $name does not challenge and verify digest as expected; SIPp said:" >&2
        tail -n 30 "$tmp/try.out" >&2
        exit 1
    fi
done

# --- CPU per REGISTER --------------------------------------------------------------------------
declare -A res   # res[server,variant] = space-separated us/REGISTER of each run
declare -A resn  # the same from schedstat (ns resolution), as a cross-check of the 1/HZ ticks
declare -A drain # drain[server,variant] = CPU in the drain_s after the last run
flagged=0

run_cpu() { # server variant rep
    local name=$1 var=$2 rep=$3 port pids t0 t1 n0 n1 w0 w1 rc us ok fail retr n d1 flag="" sf inf target
    local extra=()
    start_server "$name" "$var"
    port=$(port_of "$name")
    if [ "$var" = digest ]; then
        sf=$reg/reg_digest.xml inf=$tmp/dig.csv n=$dig_users target=$relay_port extra=(-auth_uri "$domain")
        start_relay "$port" $((n / rate + 60))
    else
        sf=$reg/reg_noauth.xml inf=$tmp/users.csv n=$nusers target=$port
    fi
    pids="$srv_pid $( (pgrep -P "$srv_pid" || true) | tr '\n' ' ')"
    t0=$(cpu_ticks $pids)
    n0=$(cpu_ns $pids)
    w0=$(date +%s%N)
    rc=0
    # BENCH_PERF=FILE: a flat perf profile of sipkit's run, FILE.VARIANT.REP (a diagnostic: perf's
    # sampling adds its own cost to the figures of the runs it records)
    local perf_pid=""
    if [ -n "${BENCH_PERF:-}" ] && [ "$name" = sipkit ]; then
        perf record -F 4999 -p "$srv_pid" -o "$BENCH_PERF.$var.$rep" -- sleep $((n / rate)) >/dev/null 2>&1 &
        perf_pid=$!
    fi
    sipp_run "$sf" "$target" "$inf" "$n" "$rate" "$tmp/run.csv" "$tmp/run.out" "${extra[@]}" || rc=$?
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    w1=$(date +%s%N)
    t1=$(cpu_ticks $pids)
    n1=$(cpu_ns $pids)
    if [ "$var" = digest ]; then stop_server "$relay_pid"; fi
    ok=$(stf_col "$tmp/run.csv" 'SuccessfulCall(C)')
    fail=$(stf_col "$tmp/run.csv" 'FailedCall(C)')
    retr=$(stf_col "$tmp/run.csv" 'Retransmissions(C)')
    if [ "$rc" -ne 0 ] || [ "$fail" != 0 ] || [ "$ok" != "$n" ]; then
        flag="  FLAGGED (sipp exit $rc)"
        flagged=1
    fi
    us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$ok" 'BEGIN { printf "%.2f", (n > 0) ? d * 1e6 / hz / n : 0 }')
    res[$name,$var]="${res[$name,$var]:-} $us"
    resn[$name,$var]="${resn[$name,$var]:-} $(awk -v d=$((n1 - n0)) -v n="$ok" 'BEGIN { printf "%.2f", (n > 0) ? d / 1e3 / n : 0 }')"
    printf '  run %d %-8s %-6s %5d/s: achieved %6.0f/s, cpu %5.0f ms (%5.1f us/REG by schedstat), %7s us/REG, ok %s, failed %s, retrans %s%s\n' \
        "$rep" "$name" "$var" "$rate" "$(awk -v n="$ok" -v w=$((w1 - w0)) 'BEGIN { print n * 1e9 / w }')" \
        "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { print d * 1000 / hz }')" \
        "$(awk -v d=$((n1 - n0)) -v n="$ok" 'BEGIN { print (n > 0) ? d / 1e3 / n : 0 }')" \
        "$us" "$ok" "$fail" "$retr" "$flag"
    if [ "$rep" -eq "$reps" ]; then
        sleep "$drain_s"
        d1=$(cpu_ticks $pids)
        drain[$name,$var]=$(awk -v d=$((d1 - t1)) -v hz="$hz" -v n="$ok" \
            'BEGIN { printf "%.2f", (n > 0) ? d * 1e6 / hz / n : 0 }')
    fi
    stop_server "$srv_pid"
}

echo "bench_register: $nusers distinct users per run (digest: $dig_users) at $rate/s over UDP," \
    "fresh server and empty location table each run, $reps runs per server and variant"
for var in noauth digest; do
    for ((rep = 1; rep <= reps; rep++)); do
        if ((rep % 2)); then order="sipkit kamailio"; else order="kamailio sipkit"; fi
        for name in $order; do
            run_cpu "$name" "$var" "$rep"
        done
    done
done

# --- memory per binding ------------------------------------------------------------------------
declare -A mem
kam_shm() { # real_used bytes of Kamailio's shared memory pool
    { timeout 10 kamcmd -s "unix:$tmp/kamailio_ctl" core.shmmem 2>/dev/null || true; } |
        awk '$1 == "real_used:" { print $2 }'
}
bindings_of() {
    if [ "$1" = sipkit ]; then
        { timeout 10 "$sipkit" ctl stats --data "$tmp/run-data" 2>/dev/null || true; } |
            awk '$1 == "bindings" { print $2 }'
    else
        { timeout 10 kamcmd -s "unix:$tmp/kamailio_ctl" stats.get_statistics usrloc: 2>/dev/null || true; } |
            awk '$1 == "usrloc:location_contacts" { print $3 }'
    fi
}

mem_one() { # server row-label settle-seconds (after the last REGISTER, before "RSS after")
    local name=$1 label=$2 settle=$3 port pids p rc=0 ok fail rss0 rss1 rss_end pss0 pss1 s0 s1 b worker=""
    local -A r0
    start_server "$name" mem
    port=$(port_of "$name")
    pids="$srv_pid $( (pgrep -P "$srv_pid" || true) | tr '\n' ' ')"
    for p in $pids; do r0[$p]=$(rss_kb "$p"); done
    pss0=$(pss_kb $pids)
    if [ "$name" = kamailio ]; then s0=$(kam_shm); fi
    sipp_run "$reg/reg_noauth.xml" "$port" "$tmp/mem.csv" "$mem_n" "$mem_rate" "$tmp/mem-run.csv" \
        "$tmp/mem-run.out" || rc=$?
    ok=$(stf_col "$tmp/mem-run.csv" 'SuccessfulCall(C)')
    fail=$(stf_col "$tmp/mem-run.csv" 'FailedCall(C)')
    if [ "$name" = sipkit ]; then
        rss_end=$(rss_kb "$srv_pid")
        sleep "$settle" # REGISTER keeps no transaction: what is left is the bindings
        worker=$srv_pid
    else
        sleep 2
        s1=$(kam_shm)
        # usrloc lives in shared memory: its pages show in the RSS of the worker that touched them
        b=-1
        for p in $pids; do
            if (($(rss_kb "$p") - r0[$p] > b)); then b=$(($(rss_kb "$p") - r0[$p])) worker=$p; fi
        done
        rss_end=$(rss_kb "$worker")
    fi
    rss0=${r0[$worker]}
    rss1=$(rss_kb "$worker")
    pss1=$(pss_kb $pids)
    b=$(bindings_of "$name")
    mem[$label]=$(printf '%-16s  %10d  %10d  %10d  %9s  %13.0f  %13.0f' "$label" "$rss0" "$rss_end" "$rss1" "${b:-?}" \
        "$(awk -v a="$rss0" -v z="$rss1" -v n="$mem_n" 'BEGIN { print (z - a) * 1024 / n }')" \
        "$(awk -v a="$pss0" -v z="$pss1" -v n="$mem_n" 'BEGIN { print (z - a) * 1024 / n }')")
    if [ "$name" = kamailio ]; then
        mem[shm]=$(awk -v a="$s0" -v z="$s1" -v n="$mem_n" 'BEGIN { printf "%.0f", (z - a) / n }')
    fi
    echo "  memory run $label: $ok REGISTERs ok, $fail failed at $mem_rate/s, $b bindings held" \
        "(worker pid $worker)"
    if [ "$rc" -ne 0 ] || [ "$fail" != 0 ] || [ "$ok" != "$mem_n" ] || [ "${b:-0}" != "$mem_n" ]; then
        echo "  memory run $label FLAGGED (sipp exit $rc)"
        flagged=1
    fi
    stop_server "$srv_pid"
}
echo
echo "bench_register: memory, $mem_n distinct AORs (user00000..) with expires 3600, no auth, one server at a time"
mem_one sipkit sipkit 2
mem_one kamailio kamailio 2

# --- report ------------------------------------------------------------------------------------
echo
echo "cores: $(nproc) online; each server pinned to cpu $srv_cpu with 1 worker (sipkit --workers 1 --prefault 64," \
    "kamailio children=1 -x tlsf -m 2048, shm pre-faulted); SIPp (and the digest relay) on cpu $sipp_cpu"
echo "scheduling: sipkit workers SCHED_BATCH (serve --sched batch, its default${SIPKIT_ARGS:+; SIPKIT_ARGS=$SIPKIT_ARGS}), kamailio under ${kam_sched[*]:-the normal policy}"
echo "CPU per REGISTER = server utime+stime (all its processes/threads) over the SIPp run / successful" \
    "REGISTERs, median of $reps, rate $rate/s"
echo "digest: one REGISTER counts the whole 401 + authenticated 200 exchange (two requests)"
printf '%-18s  %13s  %15s  %15s  %8s  %-6s  %s\n' variant "sipkit us/REG" "kamailio us/REG" "sipkit/kamailio" \
    goal "" "(schedstat: sipkit, kamailio, ratio)"
for var in noauth digest; do
    s=$(median ${res[sipkit,$var]})
    k=$(median ${res[kamailio,$var]})
    sn=$(median ${resn[sipkit,$var]})
    kn=$(median ${resn[kamailio,$var]})
    goal=$([ "$var" = noauth ] && echo 0.67 || echo 0.77)
    ratio=$(awk -v s="$s" -v k="$k" 'BEGIN { if (k > 0) printf "%.2f", s / k; else print "n/a" }')
    verdict=$(awk -v r="$ratio" -v g="$goal" 'BEGIN { print (r != "n/a" && r + 0 <= g + 0) ? "met" : "MISSED" }')
    label=$([ "$var" = noauth ] && echo "no auth" || echo "digest (401+200)")
    printf '%-18s  %13s  %15s  %14sx  <= %sx  %-6s  (%s, %s, %sx)\n' "$label" "$s" "$k" "$ratio" "$goal" "$verdict" \
        "$sn" "$kn" "$(awk -v s="$sn" -v k="$kn" 'BEGIN { if (k > 0) printf "%.2f", s / k; else print "n/a" }')"
done
for var in noauth digest; do
    echo "  after the last $var run, $drain_s s idle (timers), not in the table:" \
        "sipkit ${drain[sipkit,$var]} us/REG, kamailio ${drain[kamailio,$var]} us/REG"
done
echo
echo "memory per binding, $mem_n AORs (VmRSS of the process holding the bindings; Pss summed over all"\
    "the server's processes; KiB unless B/binding)"
printf '%-16s  %10s  %10s  %10s  %9s  %13s  %13s\n' server "RSS before" "RSS end" "RSS after" bindings \
    "RSS B/binding" "Pss B/binding"
echo "${mem[sipkit]}"
echo "${mem[kamailio]}"
echo "  'RSS end' right after the last REGISTER, 'RSS after' 2 s later. Both servers answer REGISTER"
echo "  statelessly (sipkit's registrar, Kamailio's sl): no transactions, the growth is the bindings."
echo "  kamailio keeps usrloc in its shared-memory pool (2 GiB, not pre-faulted for this test): its RSS growth is"
echo "  the pool pages the SIP worker touched; the allocator itself counts ${mem[shm]} B/binding of shm real_used."
sk_b=$(echo "${mem[sipkit]}" | awk '{ print $6 }')
echo "goal: sipkit <= 512 B/binding: $(awk -v b="$sk_b" 'BEGIN { print (b + 0 <= 512) ? "met" : "MISSED" }') ($sk_b B)"
if [ "$flagged" -ne 0 ]; then
    echo "WARNING: some runs were FLAGGED (SIPp failed calls, exit status or missing bindings); see the lines above"
fi
exit 0
