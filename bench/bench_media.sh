#!/usr/bin/env bash
# The answering side of N concurrent G.711 calls (sipkit call --load N -> sipkit serve -> answerer):
#   1. CPU microseconds per RTP packet (sent + received) of `sipkit phone --max-calls` (plays a tone
#      back, decodes, jitter-buffers and measures what it gets) vs SIPp as UAS with -rtp_echo (echoes
#      every packet: the floor, no media work) and vs baresip (a UA doing the same media work: ausine
#      tone, G.711 encode, jitter buffer, decode), N = 50 and 200, alternating, median of rounds, and
#      the ratios (goal <= 0.5x);
#   2. the largest N one core sustains for `sipkit phone` with under 0.1% late or lost packets.
# The answerer runs pinned to cpu 1, the caller and the server to cpu 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
md=$root/bench/media
build=$root/build-benchmedia
bench_name=bench_media
read -r -a ns <<<"${MEDIA_NS:-50 200}"           # concurrent calls of the CPU runs
dur=${MEDIA_DURATION:-20}                         # seconds each call lasts after its answer
rounds=${MEDIA_ROUNDS:-3}                         # CPU runs per answerer and N (median)
rate=${MEDIA_RATE:-50}                            # calls started per second in the CPU runs
read -r -a kinds <<<"${MEDIA_ANSWERERS:-sipkit sipp baresip}" # the answerers of the CPU runs
read -r -a steps <<<"${MEDIA_STEPS:-100 200 400 800 1600}" # the max-N search, doubling
step_s=${MEDIA_STEP_S:-15}                        # seconds each call of a step lasts
step_rate=${MEDIA_STEP_RATE:-200}                 # calls started per second in a step
bisect=${MEDIA_BISECT:-2}                         # bisections after the first failing step
skip_max=${MEDIA_SKIP_MAX:-0}
keep_tmp=${MEDIA_KEEP_TMP:-0}                     # 1: keep the logs in /tmp
max_pct=0.1                                       # a step passes under this % of lost or late packets
ans_cpu=1                                         # the answering process
gen_cpu=0                                         # the caller and sipkit serve
# RTP port ranges: the answering phone's and the caller's must not overlap (2 ports per call each);
# both lie below free_port's 20000-60000, from which the SIP and SIPp media ports come.
ans_ports=10000-14999
gen_ports=15000-19999
hz=$(getconf CLK_TCK)
# The processes of a run (answerer, caller, server) run at this nice level, both answerers alike.
# Measured at 600 calls of 15 s while other jobs kept the machine 80-100% busy: at nice 0 the
# caller saw 0.3-5% of the phone's packets late (its jitter buffer had shrunk to one packet time
# and a wakeup came a packet time late); at -10, 0 late in each run. Needs root; 0 turns it off.
media_nice=${MEDIA_NICE:--10}
prio=()
if [ "$media_nice" != 0 ]; then
    if nice -n "$media_nice" true 2>/dev/null && [ "$(nice -n "$media_nice" nice)" = "$media_nice" ]; then
        prio=(nice -n "$media_nice")
    else
        echo "$bench_name: cannot run at nice $media_nice (not root?); running at the default" >&2
        media_nice=0
    fi
fi
for v in "$dur" "$rate" "$step_s" "$step_rate" "${ns[@]}" "${steps[@]}"; do
    if ! [[ $v =~ ^[1-9][0-9]*$ ]]; then
        echo "$bench_name: counts, rates and durations must be positive integers (got '$v')" >&2
        exit 2
    fi
done
if ! [[ $rounds =~ ^[0-9]+$ && $bisect =~ ^[0-9]+$ ]]; then
    echo "$bench_name: MEDIA_ROUNDS and MEDIA_BISECT must be integers >= 0" >&2
    exit 2
fi
max_n=0
for v in "${ns[@]}" "${steps[@]}"; do
    if ((v > 2400)); then
        echo "$bench_name: at most 2400 calls (the RTP port ranges hold 2500 pairs)" >&2
        exit 2
    fi
    ((v > max_n)) && max_n=$v
done
# Each call takes 3 descriptors in the phone and in the caller (RTP, RTCP, the send clock).
want_fds=$((max_n * 3 + 512))
if (($(ulimit -n) < want_fds)); then
    ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if (($(ulimit -n) < want_fds)); then
    echo "$bench_name: need $want_fds open files for $max_n calls, the hard limit is $(ulimit -Hn)" >&2
    exit 1
fi

# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
"$root/scripts/install-deps" bench
for k in "${kinds[@]}"; do
    case $k in
    sipkit | sipp | baresip) ;;
    *)
        echo "$bench_name: MEDIA_ANSWERERS: unknown answerer '$k' (sipkit, sipp, baresip)" >&2
        exit 2
        ;;
    esac
done
bs_moddir=""
for d in /usr/lib/baresip/modules /usr/lib/*/baresip/modules /usr/local/lib/baresip/modules; do
    [ -f "$d/ausine.so" ] && bs_moddir=$d && break
done
if [[ " ${kinds[*]} " == *" baresip "* ]]; then
    for m in g711 ausine aubridge account; do
        if ! command -v baresip >/dev/null || [ -z "$bs_moddir" ] || [ ! -f "$bs_moddir/$m.so" ]; then
            echo "$bench_name: baresip or its module $m.so is missing; MEDIA_ANSWERERS without baresip skips it" >&2
            exit 1
        fi
    done
fi
if ! command -v python3 >/dev/null; then
    echo "$bench_name: python3 is needed (SIPp's registration, the phone's JSON)" >&2
    exit 1
fi
build_sipkit "$build" || exit 1
sipkit=$build/sipkit

bench_init

srv_port=$(free_port)
uas_port=$(free_port)
mp=$(free_port)
while ((mp % 2)) || [ -z "$mp" ]; do mp=$(free_port); done # SIPp's media port: even, RTP

# --- processes ----------------------------------------------------------------------------------
srv_pid=""
start_server() { # TAG: a fresh sipkit serve (no users, no digest: the server is not what is measured)
    rm -rf "$tmp/data"
    mkdir "$tmp/data"
    "${prio[@]}" taskset -c "$gen_cpu" "$sipkit" serve --listen "udp:127.0.0.1:$srv_port" --domain localhost \
        --auth off --data "$tmp/data" --workers 1 --log-level warn >"$tmp/serve-$1.log" 2>&1 &
    srv_pid=$!
    started+=("$srv_pid")
    if ! wait_udp_port "$srv_port" 50; then
        echo "$bench_name: sipkit serve did not start:" >&2
        tail -n 20 "$tmp/serve-$1.log" >&2
        exit 1
    fi
}

# start_answerer KIND TAG N: the answering side on cpu ans_cpu, registered as bob@localhost.
# ans_pid is timeout(1)'s PID; the answerer is its child (ans_pids lists both).
ans_pid=""
ans_pids=""
start_answerer() {
    local kind=$1 log=$tmp/$1-$2.log i limit=$((dur + 600))
    case $kind in
    sipkit)
        timeout -k 5 "$limit" "${prio[@]}" taskset -c "$ans_cpu" "$sipkit" phone --user sip:bob@localhost \
            --password unused --registrar "127.0.0.1:$srv_port" --outbound-proxy "sip:127.0.0.1:$srv_port" \
            --auto-answer 0 --max-calls $(($3 + 10)) --no-stdin --rtp-ports "$ans_ports" --json \
            >"$log" 2>&1 &
        ans_pid=$!
        started+=("$ans_pid")
        for ((i = 0; i < 100; i++)); do
            grep -q '"event": *"registered"' "$log" 2>/dev/null && break
            sleep 0.1
        done
        if ! grep -q '"event": *"registered"' "$log"; then
            echo "$bench_name: sipkit phone did not register:" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        ;;
    sipp)
        (cd "$tmp" && exec timeout -k 5 "$limit" "${prio[@]}" taskset -c "$ans_cpu" sipp -sf "$md/uas_echo.xml" \
            -i 127.0.0.1 -p "$uas_port" -mi 127.0.0.1 -mp "$mp" -rtp_echo -m 1000000 -nostdin \
            -trace_stat -fd 1 -stf "$tmp/sipp-$2.csv" >"$log" 2>&1) &
        ans_pid=$!
        started+=("$ans_pid")
        if ! wait_udp_port "$uas_port" 50 || ! timeout -k 2 10 python3 "$root/bench/proxy/register.py" \
            "$srv_port" bob "<sip:bob@127.0.0.1:$uas_port>" >"$tmp/register.out" 2>&1; then
            echo "$bench_name: SIPp did not start or register ($(cat "$tmp/register.out" 2>/dev/null)):" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        ;;
    baresip)
        # No sound device: ausine (a 1000 Hz sine; ausine 1.0 wants the frequency as its device and
        # supports only 48 kHz) is the source, resampled to 8 kHz mono for PCMU; aubridge,nil the
        # player, at 8 kHz mono so that what it receives is not resampled (48 kHz stereo there
        # cost baresip a third more CPU per packet: 108-120 us against 82 at N=50).
        # The server runs --auth off: the account has no password. call_max_calls lifts 1.0's
        # default of 4 concurrent calls.
        mkdir -p "$tmp/bs-$2"
        cat >"$tmp/bs-$2/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$uas_port
call_max_calls $(($3 + 10))
module_path $bs_moddir
module g711.so
module ausine.so
module aubridge.so
module_app account.so
audio_source ausine,1000
audio_player aubridge,nil
audio_alert aubridge,nil
ausrc_srate 48000
auplay_srate 8000
ausrc_channels 2
auplay_channels 1
net_interface 127.0.0.1
rtp_ports $ans_ports
EOF
        echo "<sip:bob@localhost>;outbound=\"sip:127.0.0.1:$srv_port\";answermode=auto;regint=600" \
            >"$tmp/bs-$2/accounts"
        timeout -k 5 "$limit" "${prio[@]}" taskset -c "$ans_cpu" baresip -f "$tmp/bs-$2" -t "$limit" \
            >"$log" 2>&1 </dev/null &
        ans_pid=$!
        started+=("$ans_pid")
        for ((i = 0; i < 100; i++)); do
            grep -q '200 OK.*binding' "$log" 2>/dev/null && break
            sleep 0.1
        done
        if ! grep -q '200 OK.*binding' "$log"; then
            echo "$bench_name: baresip did not register:" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        ;;
    esac
    for ((i = 0; i < 20; i++)); do # timeout(1) forks the answerer
        ans_pids=$(server_pids "$ans_pid")
        [ "$(wc -w <<<"$ans_pids")" -ge 2 ] && break
        sleep 0.05
    done
}

# caller_start TAG N RATE DURATION: sipkit call --load on cpu gen_cpu, in the background.
# caller_summary waits until it printed its summary line (the last call has ended; the caller
# then still waits for its BYE transactions, Timer K); caller_finish waits for it to exit, with
# the summary in call-TAG.json.
caller_start() {
    timeout -k 5 $(($4 + $2 / $3 + 60)) "${prio[@]}" taskset -c "$gen_cpu" "$sipkit" call sip:bob@localhost \
        --user alice@localhost --outbound-proxy "sip:127.0.0.1:$srv_port" --rtp-ports "$gen_ports" \
        --load "$2" --load-rate "$3" --duration "$4" --json >"$tmp/call-$1.out" 2>&1 &
    fg_pid=$!
}
caller_summary() { # TAG: bounded by the caller's own timeout
    while kill -0 "$fg_pid" 2>/dev/null; do
        grep -q '"load-summary"' "$tmp/call-$1.out" 2>/dev/null && return 0
        sleep 0.1
    done
}
caller_finish() { # TAG
    local rc=0
    wait "$fg_pid" || rc=$?
    fg_pid=""
    grep '"load-summary"' "$tmp/call-$1.out" | tail -n 1 >"$tmp/call-$1.json" || true
    return "$rc"
}

# Wait (up to 10 s) until the phone has printed a hung-up line for each of N calls.
wait_hungup() { # log N
    local i
    for ((i = 0; i < 100; i++)); do
        (($(grep -c '"event": *"hungup"' "$1" 2>/dev/null || true) >= $2)) && return 0
        sleep 0.1
    done
    return 1
}

# One field of a JSON summary line (a number), or "?".
jfield() { python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))[sys.argv[2]])
except Exception: print("?")' "$1" "$2"; }

# The phone's own figures from its per-call quality at hang-up: "calls rx tx lost late".
phone_figures() {
    python3 -c 'import json,sys
c = rx = tx = lost = late = 0
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") != "hungup" or "quality" not in e: continue
    q = e["quality"]; c += 1
    r = q.get("received") or {}; s = q.get("sent") or {}
    rx += r.get("packets", 0); lost += max(r.get("lost", 0), 0); late += r.get("late", 0)
    tx += s.get("packets", 0)
print(c, rx, tx, lost, late)' "$1"
}

# The whole machine's busy and steal jiffies (all cores, /proc/stat): "busy steal total".
stat_now() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, $9, b + $5 + $6; exit }' /proc/stat; }
# % of all cores busy between two stat_now readings, and the steal in brackets
stat_busy() { # "b0 s0 t0" "b1 s1 t1"
    local b0 s0 t0 b1 s1 t1
    read -r b0 s0 t0 <<<"$1"
    read -r b1 s1 t1 <<<"$2"
    awk -v b=$((b1 - b0)) -v s=$((s1 - s0)) -v t=$((t1 - t0)) \
        'BEGIN { if (t > 0) printf "%.0f%% (steal %.0f%%)", b * 100 / t, s * 100 / t; else print "?" }'
}

us_per() { awk -v c="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.2f", c / p; else print "n/a" }'; }

# --- 1. CPU per packet --------------------------------------------------------------------------
declare -A res      # res[kind:N] = us/packet of each round (utime+stime ticks)
declare -A res_ns   # the same from schedstat
declare -A bad      # bad[kind:N] = rounds FLAGGED (their figure is not one of calls that all ran)
flagged=0

cpu_run() { # kind N round
    local kind=$1 n=$2 tag=cpu-$1-$2-$3 t0 t1 n0 n1 w0 w1 rc=0 pk rx tx lost late calls
    local ans ok flag="" us usn fig m0 m1
    start_server "$tag"
    start_answerer "$kind" "$tag" "$n"
    m0=$(stat_now)
    t0=$(cpu_ticks $ans_pids)
    n0=$(cpu_ns $ans_pids)
    w0=$(date +%s%N)
    caller_start "$tag" "$n" "$rate" "$dur"
    caller_summary "$tag"
    w1=$(date +%s%N)
    t1=$(cpu_ticks $ans_pids)
    n1=$(cpu_ns $ans_pids)
    m1=$(stat_now)
    caller_finish "$tag" || rc=$?
    if [ "$kind" = sipkit ]; then wait_hungup "$tmp/$kind-$tag.log" "$n" || true; fi
    stop_server "$ans_pid"
    stop_server "$srv_pid"
    ans=$(jfield "$tmp/call-$tag.json" answered)
    rx=$(jfield "$tmp/call-$tag.json" rx_packets)
    tx=$(jfield "$tmp/call-$tag.json" tx_packets)
    if [ "$kind" = sipkit ]; then
        # the phone's own count of what it received and sent
        read -r calls prx ptx lost late <<<"$(phone_figures "$tmp/$kind-$tag.log")"
        pk=$((prx + ptx))
        fig="phone: $calls calls, rx $prx tx $ptx lost $lost late $late; caller: rx $rx tx $tx"
    else
        # SIPp received what the caller sent and sent what the caller received
        pk=$(awk -v a="$rx" -v b="$tx" 'BEGIN { print (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) ? a + b : 0 }')
        fig="caller: rx $rx tx $tx (SIPp echoed rx)"
        if [ "$kind" = baresip ]; then
            fig="caller: rx $rx tx $tx, lost or late $(jfield "$tmp/call-$tag.json" rx_lost_or_late_pct)%" \
            fig+=" (baresip prints no per-call counts); baresip: $(grep -c 'Call established' \
                "$tmp/$kind-$tag.log" || true) established"
        fi
    fi
    [[ $ans =~ ^[0-9]+$ ]] || ans=0
    if [ "$rc" -ne 0 ] || [ "$ans" -ne "$n" ]; then
        flag="  FLAGGED (caller exit $rc, $ans of $n answered)"
        flagged=1
        bad[$kind:$n]=$((${bad[$kind:$n]:-0} + 1))
    fi
    us=$(us_per "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { print d * 1e6 / hz }')" "$pk")
    usn=$(us_per "$(awk -v d=$((n1 - n0)) 'BEGIN { print d / 1e3 }')" "$pk")
    # schedstat sums the live threads only; baresip's per-call threads have exited by then
    if [ "$kind" = baresip ]; then usn=n/a; fi
    res[$kind:$n]="${res[$kind:$n]:-} $us"
    res_ns[$kind:$n]="${res_ns[$kind:$n]:-} $usn"
    printf '  round %d %-6s N=%-4d: %s; cpu %5.0f ms in %.1f s, %d packets = %s us/packet (schedstat %s); machine busy %s%s\n' \
        "$3" "$kind" "$n" "$fig" "$(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { print d * 1000 / hz }')" \
        "$(awk -v w=$((w1 - w0)) 'BEGIN { print w / 1e9 }')" "$pk" "$us" "$usn" "$(stat_busy "$m0" "$m1")" "$flag"
}

if ((rounds > 0)); then
    echo "$bench_name: CPU per RTP packet of the answering side, N concurrent G.711 calls of $dur s" \
        "(started $rate/s), $rounds rounds, alternating; answerer on cpu $ans_cpu, caller + sipkit serve on cpu $gen_cpu"
fi
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="${kinds[*]}"; else order=$(printf '%s\n' "${kinds[@]}" | tac | tr '\n' ' '); fi
    for n in "${ns[@]}"; do
        for kind in $order; do
            cpu_run "$kind" "$n" "$r"
        done
    done
done

# --- 2. the largest N for the phone -------------------------------------------------------------
declare -A verdict  # verdict[N] = pass or the reason it failed
step_log=()
step() { # N TRY: 0 if it passed
    local n=$1 tag=max-$1-$2 t0 t1 g0 g1 w0 w1 rc=0 ans pct calls prx ptx lost late rpct util gen why="" m0 m1
    start_server "$tag"
    start_answerer sipkit "$tag" "$n"
    local gpids=$srv_pid
    m0=$(stat_now)
    t0=$(cpu_ticks $ans_pids)
    g0=$(cpu_ticks $gpids)
    w0=$(date +%s%N)
    # The caller's CPU is in its summary (cpu_s); the server's and the phone's from /proc.
    caller_start "$tag" "$n" "$step_rate" "$step_s"
    caller_summary "$tag"
    w1=$(date +%s%N)
    t1=$(cpu_ticks $ans_pids)
    g1=$(cpu_ticks $gpids)
    m1=$(stat_now)
    caller_finish "$tag" || rc=$?
    wait_hungup "$tmp/sipkit-$tag.log" "$n" || true
    stop_server "$ans_pid"
    stop_server "$srv_pid"
    ans=$(jfield "$tmp/call-$tag.json" answered)
    pct=$(jfield "$tmp/call-$tag.json" rx_lost_or_late_pct)
    read -r calls prx ptx lost late <<<"$(phone_figures "$tmp/sipkit-$tag.log")"
    rpct=$(awk -v l=$((lost + late)) -v p="$prx" 'BEGIN { printf "%.3f", (p + l > 0) ? l * 100 / (p + l) : 100 }')
    [[ $ans =~ ^[0-9]+$ ]] || ans=0
    # Core use over the step (ramp, calls and hang-ups): the phone's, and cpu 0's (caller + server).
    util=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w=$((w1 - w0)) 'BEGIN { printf "%.0f", d / hz * 1e9 * 100 / w }')
    gen=$(awk -v d=$((g1 - g0)) -v hz="$hz" -v w=$((w1 - w0)) -v c="$(jfield "$tmp/call-$tag.json" cpu_s)" \
        'BEGIN { printf "%.0f", (d / hz + c) * 1e9 * 100 / w }')
    if [ "$ans" -ne "$n" ]; then
        why="$ans of $n answered"
    elif ! awk -v a="$pct" -v m="$max_pct" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && a < m) }'; then
        why="caller saw $pct% lost or late"
    elif ! awk -v a="$rpct" -v m="$max_pct" 'BEGIN { exit !(a < m) }'; then
        why="phone saw $rpct% lost or late"
    elif [ "$rc" -ne 0 ]; then
        why="caller exit $rc"
    fi
    verdict[$n]=${why:-pass}
    step_log+=("$n ${why:-pass}")
    printf '  N=%-5d %d s%s: answered %s; lost or late: caller %s%%, phone %s%% (rx %s lost %s late %s);' \
        "$n" "$step_s" "$([ "$2" = 1 ] && echo "   " || echo " #$2")" "$ans" "$pct" "$rpct" "$prx" "$lost" "$late"
    printf ' core use: phone %s%%, caller + serve %s%%; machine busy %s  %s\n' "$util" "$gen" \
        "$(stat_busy "$m0" "$m1")" "${why:+FAIL: }${why:-pass}"
    if [ -n "$why" ] && ((gen >= 90)); then
        verdict[$n]+=" (cpu $gen_cpu, caller + serve, at $gen%: the load generator's limit)"
    fi
    [ -z "$why" ]
}

best=none
stop_note="passed every step"
if [ "$skip_max" != 1 ]; then
    echo
    echo "$bench_name: the largest N for sipkit phone on one core with under $max_pct% lost or late packets:" \
        "steps ${steps[*]}, then $bisect bisection(s); calls of $step_s s started $step_rate/s; a failing step runs twice"
    lo=0
    hi=0
    # a failing step is run once more: one stall of the shared machine is not a limit
    for n in "${steps[@]}"; do
        if step "$n" 1 || step "$n" 2; then
            lo=$n
        else
            hi=$n
            break
        fi
    done
    for ((b = 0; b < bisect && hi > 0; b++)); do
        mid=$(((lo + hi) / 2))
        ((mid > lo && mid < hi)) || break
        if step "$mid" 1 || step "$mid" 2; then lo=$mid; else hi=$mid; fi
    done
    ((lo > 0)) && best=$lo
    if ((hi > 0)); then stop_note="failed at N=$hi: ${verdict[$hi]}"; fi
fi

# --- report -------------------------------------------------------------------------------------
echo
echo "cores: $(nproc) online; answerer pinned to cpu $ans_cpu (taskset), caller (sipkit call --load) and" \
    "sipkit serve (--workers 1 --auth off) to cpu $gen_cpu; all at nice $media_nice"
echo "answerers: sipkit phone --max-calls (tone back, decode, jitter buffer, statistics) vs SIPp $(sipp -v 2>/dev/null |
    grep -o 'v[0-9][0-9.]*' | head -n 1) -rtp_echo (echoes each packet) vs baresip $(dpkg-query -W -f='${Version}' baresip \
    2>/dev/null) (ausine 1000 Hz resampled 48k stereo -> 8k, jitter buffer, decode, aubridge at 8k); G.711 PCMU 20 ms both ways"
if ((rounds > 0)); then
    echo "CPU per packet = answerer utime+stime from the first call to the caller's summary (the last hang-up) / RTP packets it received + sent" \
        "(sipkit: its own per-call counts; SIPp and baresip: the caller's rx + tx), median of $rounds rounds;" \
        "baresip's schedstat is n/a (it sums live threads, and baresip's per-call threads exit at hang-up)"
    printf '%-6s' N
    for k in "${kinds[@]}"; do printf '  %18s' "$k us/packet"; done
    for k in "${kinds[@]}"; do [ "$k" = sipkit ] || printf '  %14s' "sipkit/$k"; done
    printf '  %s\n' "(schedstat)"
    s=""
    for n in "${ns[@]}"; do
        declare -A med=() medn=()
        for k in "${kinds[@]}"; do
            med[$k]=$(median ${res[$k:$n]})
            medn[$k]=$(median ${res_ns[$k:$n]})
        done
        printf '%-6s' "$n"
        for k in "${kinds[@]}"; do printf '  %18s' "${med[$k]}${bad[$k:$n]:+ (${bad[$k:$n]} FLAGGED)}"; done
        for k in "${kinds[@]}"; do [ "$k" = sipkit ] || printf '  %14s' "$(ratio "${med[sipkit]:-}" "${med[$k]}")"; done
        printf '  '
        for k in "${kinds[@]}"; do printf '%s %s ' "$k" "${medn[$k]}"; done
        printf '\n'
        for k in "${kinds[@]}"; do
            [ "$k" = sipkit ] && continue
            echo "ratio sipkit/$k at N=$n: $(ratio "${med[sipkit]:-}" "${med[$k]}") CPU per packet (goal <= 0.5x), 1 core," \
                "median of $rounds rounds${bad[$k:$n]:+; $k: ${bad[$k:$n]} round(s) FLAGGED, calls failed: no valid figure}"
        done
        s=${med[sipkit]:-}
    done
    # 100 packets a second per call (50 each way): what one core's CPU would cover at the last N's cost
    [ -n "$s" ] && echo "at $s us/packet one core's CPU covers about $(awk -v u="$s" 'BEGIN { if (u > 0) printf "%d", 1e6 / (u * 100); else print "?" }')" \
        "calls of sipkit phone (100 packets/s each)"
fi
if [ "$skip_max" != 1 ]; then
    echo "largest N for sipkit phone on 1 core (cpu $ans_cpu) with < $max_pct% lost or late: $best ($stop_note)"
    echo "the caller does the same work per packet on cpu $gen_cpu as the phone on cpu $ans_cpu: when cpu $gen_cpu" \
        "is near 100% at the failing step, the limit found is the load generator's"
fi
n=$(cat "$tmp"/serve-*.log 2>/dev/null | grep -Ecv '^\s*$' || true)
if [ "$n" -gt 0 ]; then
    echo "sipkit serve logged $n line(s) over all runs; the most frequent:"
    cat "$tmp"/serve-*.log | grep -Ev '^\s*$' | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 5
fi
if [ "$flagged" -ne 0 ]; then
    echo "WARNING: some CPU runs were FLAGGED (unanswered calls or the caller's exit status); see above"
fi
exit 0
