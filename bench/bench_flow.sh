#!/usr/bin/env bash
# `sipkit flow` on a large capture (>= 1 GB of calls with RTP) against tshark and sngrep:
#   1. a real seed capture: tcpdump on lo while `sipkit call --load` places calls with G.711
#      both ways through `sipkit serve` to `sipkit phone` (cached);
#   2. bench/flow_multiply makes the large capture from it: copies one after the other, each
#      with its own Call-IDs, tags, branches and SSRCs (cached);
#   3. alternating rounds of `sipkit flow --json BIG`, `tshark -q -n -r BIG -z sip,stat
#      -z rtp,streams` and `sngrep -I BIG -N -q`: wall time, CPU time and peak RSS of each,
#      medians, ratios (goal: >= 10x faster than tshark, less memory than either);
#   4. sipkit's calls and RTP streams against tshark's (and sngrep's dialogs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-benchflow
bench_name=bench_flow
rounds=${FLOW_ROUNDS:-3}                 # timed rounds of each tool (median)
size_mb=${FLOW_MB:-1100}                 # the large capture: at least this many MB
seed_calls=${FLOW_SEED_CALLS:-60}        # calls of the seed capture
seed_rate=${FLOW_SEED_RATE:-20}          # started per second
seed_dur=${FLOW_SEED_DURATION:-8}        # seconds each lasts after its answer
cache=${FLOW_CACHE:-$build/flow}         # where the captures are kept between runs
regen=${FLOW_REGEN:-0}                   # 1: make the captures again
check_counts=${FLOW_CHECK:-1}            # 0: skip the untimed count checks (2 more reads)
keep_tmp=${FLOW_KEEP_TMP:-0}
# The seed's RTP ports: above free_port's 20000-60000 and Linux's ephemeral 32768-60999,
# so that the capture filter takes nobody else's loopback traffic.
ans_ports=61000-62999
gen_ports=63000-64999

for v in "$rounds" "$size_mb" "$seed_calls" "$seed_rate" "$seed_dur"; do
    if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
        echo "$bench_name: rounds, sizes, counts and durations must be positive integers (got '$v')" >&2
        exit 2
    fi
done
if ((seed_calls > 900)); then
    echo "$bench_name: at most 900 seed calls (the RTP port ranges hold 1000 pairs)" >&2
    exit 2
fi

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
"$root/scripts/install-deps" bench
for t in tshark sngrep python3; do
    if ! command -v "$t" >/dev/null; then
        echo "$bench_name: $t is missing (scripts/install-deps bench)" >&2
        exit 1
    fi
done
if [ ! -x /usr/bin/time ]; then
    echo "$bench_name: GNU time (/usr/bin/time) is missing: apt-get install time" >&2
    exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q 'SIPKIT_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIPKIT_BENCH=ON >/dev/null
fi
if ! out=$(cmake --build "$build" -j 2 --target sipkit flow_multiply 2>&1); then
    echo "$out" >&2
    exit 1
fi
sipkit=$build/sipkit
multiply=$build/bench/flow_multiply
mkdir -p "$cache"

bench_init

# --- 1. the seed: real calls on lo -----------------------------------------------------------
seed=$cache/seed-$seed_calls-$seed_rate-$seed_dur.pcap
make_seed() {
    local srv ph cl i cap_pid srv_pid ph_pid
    if [ "$(id -u)" -ne 0 ] || ! command -v tcpdump >/dev/null; then
        echo "$bench_name: recording the seed needs root and tcpdump (or a cached $seed)" >&2
        exit 1
    fi
    srv=$(free_port)
    ph=$(free_port)
    cl=$(free_port)
    mkdir -p "$tmp/data"
    "$sipkit" serve --listen "udp:127.0.0.1:$srv" --domain localhost --auth off --data "$tmp/data" \
        --workers 1 --log-level warn >"$tmp/serve.log" 2>&1 &
    srv_pid=$!
    started+=("$srv_pid")
    wait_udp_port "$srv" 50 || { echo "$bench_name: sipkit serve did not start" >&2; exit 1; }
    timeout -k 5 $((seed_dur + 300)) "$sipkit" phone --user sip:bob@localhost --password unused \
        --registrar "127.0.0.1:$srv" --outbound-proxy "sip:127.0.0.1:$srv" --listen "udp:127.0.0.1:$ph" \
        --auto-answer 0 --max-calls $((seed_calls + 10)) --no-stdin --rtp-ports "$ans_ports" --json \
        >"$tmp/phone.log" 2>&1 &
    ph_pid=$!
    started+=("$ph_pid")
    for ((i = 0; i < 100; i++)); do
        grep -q '"event": *"registered"' "$tmp/phone.log" 2>/dev/null && break
        sleep 0.1
    done
    grep -q '"event": *"registered"' "$tmp/phone.log" || { echo "$bench_name: the phone did not register" >&2; exit 1; }
    # the SIP ports of the three and the two RTP ranges: nobody else's traffic
    tcpdump -i lo -s 0 -U -w "$tmp/seed.pcap" \
        "udp and (port $srv or port $ph or port $cl or portrange $ans_ports or portrange $gen_ports)" \
        >"$tmp/tcpdump.log" 2>&1 &
    cap_pid=$!
    started+=("$cap_pid")
    for ((i = 0; i < 50; i++)); do
        grep -q 'listening on' "$tmp/tcpdump.log" 2>/dev/null && break
        sleep 0.1
    done
    timeout -k 5 $((seed_dur + seed_calls / seed_rate + 60)) "$sipkit" call sip:bob@localhost \
        --user alice@localhost --outbound-proxy "sip:127.0.0.1:$srv" --listen "udp:127.0.0.1:$cl" \
        --rtp-ports "$gen_ports" --load "$seed_calls" --load-rate "$seed_rate" --duration "$seed_dur" \
        --json >"$tmp/call.out" 2>&1 || true
    sleep 1 # the last BYE's 200 and RTCP
    stop_server "$cap_pid"
    stop_server "$ph_pid"
    stop_server "$srv_pid"
    grep '"load-summary"' "$tmp/call.out" | tail -n 1 >"$tmp/call.json" || true
    echo "$bench_name: seed recorded: $(cat "$tmp/call.json")"
    if ! grep -q "\"answered\": *$seed_calls," "$tmp/call.json"; then
        echo "$bench_name: not every seed call was answered; not caching it" >&2
        exit 1
    fi
    mv "$tmp/seed.pcap" "$seed"
}
if [ "$regen" = 1 ] || [ ! -s "$seed" ]; then
    echo "$bench_name: recording the seed: $seed_calls calls of $seed_dur s, $seed_rate/s, through sipkit serve on lo"
    make_seed
    rm -f "$cache"/big-*"-$(basename "$seed" .pcap).pcap"
fi

# --- 2. the large capture ----------------------------------------------------------------------
big=$cache/big-$size_mb-$(basename "$seed" .pcap).pcap
if [ ! -s "$big" ] || [ ! -s "$big.info" ]; then
    echo "$bench_name: making $big from the seed"
    "$multiply" "$seed" "$big" "$size_mb" | tee "$big.info"
fi
copies=$(sed -n 's/.* x \([0-9]*\) copies.*/\1/p' "$big.info")
seed_items=$("$sipkit" flow --json "$seed" | python3 -c 'import json,sys
d = json.load(sys.stdin); print(len(d["calls"]), len(d["streams"]))')
read -r seed_n seed_streams <<<"$seed_items"
size=$(stat -c %s "$big")
frames=$(sed -n 's/.*copies = \([0-9]*\) frames.*/\1/p' "$big.info")
echo "$bench_name: $big: $size bytes, $frames frames, $copies copies of a seed of $seed_n calls and" \
    "$seed_streams RTP streams ($(basename "$seed"))"

# --- 3. the timed rounds -----------------------------------------------------------------------
declare -A wall rss cpu
run() { # TOOL ROUND
    local t=$1 r=$2 out=/dev/null rc=0
    [ "$t" = tshark ] && out=$tmp/tshark-$r.out
    case $t in
    sipkit) /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$sipkit" flow --json "$big" >"$out" 2>"$tmp/$t.err" || rc=$? ;;
    tshark) /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" tshark -q -n -r "$big" -z sip,stat -z rtp,streams \
        >"$out" 2>"$tmp/$t.err" || rc=$? ;;
    sngrep) /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" sngrep -I "$big" -N -q >"$out" 2>"$tmp/$t.err" </dev/null || rc=$? ;;
    esac
    read -r w m u s < <(tail -n 1 "$tmp/time")
    wall[$t]="${wall[$t]:-} $w"
    rss[$t]="${rss[$t]:-} $m"
    cpu[$t]="${cpu[$t]:-} $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
    printf '  round %d %-6s: %7.2f s wall, %7.2f s CPU, peak RSS %7.1f MB%s\n' "$r" "$t" "$w" \
        "$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')" "$(awk -v m="$m" 'BEGIN { print m / 1024 }')" \
        "$([ "$rc" -eq 0 ] || echo "  FAILED (exit $rc): $(head -c 200 "$tmp/$t.err")")"
}
tools=(sipkit tshark sngrep)
echo "$bench_name: $rounds rounds, alternating; $(nproc) cores online; load average $(cut -d' ' -f1-3 /proc/loadavg)"
t_start=$(date -u +%H:%M)
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="${tools[*]}"; else order=$(printf '%s\n' "${tools[@]}" | tac | tr '\n' ' '); fi
    for t in $order; do run "$t" "$r"; done
done
t_end=$(date -u +%H:%M)

# --- 4. the same calls and streams? ------------------------------------------------------------
"$sipkit" flow --json "$big" >"$tmp/sipkit.json"
read -r s_calls s_streams s_rtp <<<"$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); print(len(d["calls"]), len(d["streams"]), d["counts"]["rtp"])' "$tmp/sipkit.json")"
# tshark's rtp,streams table: one line per stream, after the header line
t_streams=$(awk '/RTP Streams/ { on = 1; next } on && /^ *[0-9]+\.[0-9]+ / { n++ } END { print n + 0 }' "$tmp/tshark-1.out")
t_rtp=$(awk '/RTP Streams/ { on = 1; next } on && /^ *[0-9]+\.[0-9]+ / { if ($NF == "X") NF--; n += $(NF-8) } END { print n + 0 }' "$tmp/tshark-1.out")
t_calls=n/a
g_calls=n/a
if [ "$check_counts" = 1 ]; then
    # tshark -z has no call list (voip,calls is the GUI's): Call-IDs of initial INVITEs
    t_calls=$(tshark -n -r "$big" -Y 'sip.Method == "INVITE" && !sip.to.tag' -T fields -e sip.Call-ID 2>/dev/null |
        sort -u | grep -c . || true)
    # sngrep -N without -q prints its dialog count as it reads
    g_calls=$(sngrep -I "$big" -N </dev/null 2>/dev/null | tr '\r' '\n' | sed -n 's/.*Dialog count: \([0-9]*\).*/\1/p' | tail -n 1)
fi
want_calls=$((seed_n * copies))
want_streams=$((seed_streams * copies))

# --- report ------------------------------------------------------------------------------------
declare -A mw mr mc
for t in "${tools[@]}"; do
    # shellcheck disable=SC2086
    mw[$t]=$(median ${wall[$t]})
    # shellcheck disable=SC2086
    mr[$t]=$(median ${rss[$t]})
    # shellcheck disable=SC2086
    mc[$t]=$(median ${cpu[$t]})
done
echo
echo "$bench_name: $(basename "$big"), $(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }'), $frames frames," \
    "$want_calls calls ($copies copies of $seed_n real calls with RTP both ways), $(nproc) cores, $t_start-$t_end UTC," \
    "commit $(git -C "$root" rev-parse --short HEAD)"
printf '%-8s %12s %12s %14s\n' tool "wall s" "CPU s" "peak RSS MB"
for t in "${tools[@]}"; do
    printf '%-8s %12s %12s %14s\n' "$t" "${mw[$t]}" "${mc[$t]}" "$(awk -v m="${mr[$t]}" 'BEGIN { printf "%.1f", m / 1024 }')"
done
speed() { awk -v s="$1" -v k="$2" 'BEGIN { if (s > 0) printf "%.1fx", k / s; else print "n/a" }'; }
for t in tshark sngrep; do
    echo "ratio sipkit/$t: wall $(ratio "${mw[sipkit]}" "${mw[$t]}") ($(speed "${mw[sipkit]}" "${mw[$t]}") faster)," \
        "CPU $(ratio "${mc[sipkit]}" "${mc[$t]}") ($(speed "${mc[sipkit]}" "${mc[$t]}") less), peak RSS $(ratio "${mr[sipkit]}" "${mr[$t]}")"
done
fast=$(awk -v s="${mw[sipkit]}" -v k="${mw[tshark]}" 'BEGIN { print (s > 0 && k / s >= 10) ? "met" : "MISSED" }')
lean=$(awk -v s="${mr[sipkit]}" -v a="${mr[tshark]}" -v b="${mr[sngrep]}" 'BEGIN { print (s < a && s < b) ? "met" : "MISSED" }')
echo "goal >= 10x faster than tshark (wall): $fast; less peak memory than tshark and sngrep: $lean"
echo "medians of $rounds rounds; wall and peak RSS from /usr/bin/time; CPU = user + system"
echo "calls: sipkit $s_calls, tshark $t_calls (Call-IDs of initial INVITEs), sngrep $g_calls (dialogs), made $want_calls"
echo "RTP streams: sipkit $s_streams, tshark $t_streams (rtp,streams), made $want_streams;" \
    "RTP packets: sipkit $s_rtp, tshark $t_rtp"
ok=1
[ "$s_calls" = "$want_calls" ] || ok=0
[ "$t_calls" = n/a ] || [ "$s_calls" = "$t_calls" ] || ok=0
[ "$s_streams" = "$t_streams" ] || ok=0
[ "$s_rtp" = "$t_rtp" ] || ok=0
if [ "$ok" = 1 ]; then
    echo "counts agree"
else
    echo "WARNING: the counts differ (see above)"
fi
exit 0
