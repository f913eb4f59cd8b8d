# shellcheck shell=bash disable=SC2154
# Shell helpers shared by the benchmarks (bench/bench_*.sh). Source it after setting
# bench_name (the prefix of messages) and keep_tmp (1: keep $tmp), then call bench_init.
# bench_init sets:
#   tmp         a temporary folder, removed on exit unless keep_tmp=1
#   started=()  every process the script started in the background; stop_server forgets one
#   fg_pid=""   the run in progress (SIPp, a caller), if any: stopped on exit too
#   taken=""    ports already handed out by free_port
# Nothing here loops without a bound, and nothing stops a process the script did not start.

bench_init() {
    tmp=$(mktemp -d "/tmp/$bench_name.XXXXXX")
    started=()
    fg_pid=""
    taken=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local p
    if [ -n "$fg_pid" ]; then
        stop_pid "$fg_pid" # timeout(1) passes the signal on to SIPp
    fi
    for p in "${started[@]}"; do
        stop_server "$p"
    done
    if [ "${keep_tmp:-0}" = 1 ]; then
        echo "$bench_name: logs kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}

# Build the release sipkit that the benchmark runs, in its own build tree: build_sipkit DIR
build_sipkit() {
    local dir=$1 out
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    if ! out=$(cmake --build "$dir" -j 2 --target sipkit 2>&1); then
        echo "$out" >&2
        return 1
    fi
}

# Stop one process we started: SIGTERM, up to 5 s, then SIGKILL; reap it.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stop a process and the children it left (Kamailio's workers); forget it.
stop_server() {
    local pid=$1 kids c
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    stop_pid "$pid"
    for c in $kids; do
        if kill -0 "$c" 2>/dev/null; then
            kill -KILL "$c" 2>/dev/null || true
        fi
    done
    local keep=() p
    for p in "${started[@]}"; do
        if [ "$p" != "$pid" ]; then keep+=("$p"); fi
    done
    started=("${keep[@]}")
}

# A UDP/TCP port that nothing on this machine uses, distinct from those already taken.
free_port() {
    local i p hex
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 40000))
        hex=$(printf ':%04X ' "$p")
        case " $taken " in *" $p "*) continue ;; esac
        if ! cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex"; then
            taken="$taken $p"
            echo "$p"
            return 0
        fi
    done
    echo "$bench_name: no free port found" >&2
    return 1
}

# Wait (up to $2 tenths of a second) until something listens on UDP port $1.
wait_udp_port() {
    local hex i
    hex=$(printf ':%04X ' "$1")
    for ((i = 0; i < $2; i++)); do
        grep -q "$hex" /proc/net/udp 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# utime+stime (clock ticks) summed over the given PIDs (threads are included in each).
cpu_ticks() {
    local p t=0 f
    for p in "$@"; do
        f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a f <<<"$f"
        t=$((t + f[11] + f[12])) # utime and stime: fields 14 and 15 of stat
    done
    echo "$t"
}

# On-CPU nanoseconds of every thread of the given PIDs (schedstat): a finer cross-check.
cpu_ns() {
    local p f v t=0
    for p in "$@"; do
        for f in "/proc/$p/task/"*/schedstat; do
            if read -r v _ <"$f" 2>/dev/null; then t=$((t + v)); fi
        done
    done
    echo "$t"
}

# A server's PIDs: the process and its children (Kamailio's workers, timers and main).
server_pids() { echo "$1 $( (pgrep -P "$1" || true) | tr '\n' ' ')"; }

# Column of SIPp's -stf CSV, last (cumulative) line.
stf_col() {
    awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        { v = $k } END { print (k && v != "") ? v : "?" }' "$1" 2>/dev/null || echo "?"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# s / k to two decimals with an x, or n/a.
ratio() { awk -v s="$1" -v k="$2" 'BEGIN { if (k > 0 && s != "") printf "%.2fx", s / k; else print "n/a" }'; }
