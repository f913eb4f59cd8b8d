# Helpers of the phone interop tests (sourced after common.bash, after interop_init):
# free ports, users, phones in the background with JSON events, and readers of
# those events.

# free_udp_port [ADDR]: a UDP port that is free on ADDR (127.0.0.1) (common.bash free_port).
free_udp_port() { free_port udp 1 "${1:-127.0.0.1}"; }

# free_udp_range N [ADDR]: the first port, even (RTP on even ports, RTCP on the
# next, RFC 3550 §11), of N consecutive ports free over UDP on ADDR (free_port).
free_udp_range() {
    local base
    base=$(free_port udp $(($1 + 1)) "${2:-127.0.0.1}") || return 1
    echo $((base + (base & 1)))
}

# phone_users USER@DOMAIN:PASSWORD...: adds the users to $tmp/data (the
# server_start default) before the server starts.
phone_users() {
    local u
    for u in "$@"; do
        "$sipkit" user add "${u%%:*}" --password "${u#*:}" --data "$tmp/data" >/dev/null ||
            { check "add user ${u%%:*}" 1; return 1; }
    done
}

declare -A phone_pid=()
# the WAV analyser is built next to the sipkit binary (build/tests/wavcheck)
wavcheck=${WAVCHECK:-$(dirname "$sipkit")/tests/wavcheck}

# phone_start NAME [sipkit phone args...]: `sipkit phone --json --no-stdin ARGS`
# in the background (inside ${ns_exec[@]} if set), events in $tmp/NAME.log.
phone_start() {
    local name=$1
    shift
    "${ns_exec[@]}" "$sipkit" phone --json --no-stdin "$@" >"$tmp/$name.log" 2>"$tmp/$name.err" &
    phone_pid[$name]=$!
    cleanup_hooks+=("kill ${phone_pid[$name]} 2>/dev/null")
}

# phone_stop NAME: SIGTERM, then checks a clean exit (status 0 within 15 s) and
# no sanitizer report on its stderr.
phone_stop() {
    local name=$1 pid=${phone_pid[$1]} rc=0
    kill -TERM "$pid" 2>/dev/null
    wait_exit "$pid" 15 || rc=124
    if [ "$rc" -eq 0 ]; then
        wait "$pid"
        rc=$?
    else
        kill -9 "$pid" 2>/dev/null
    fi
    [ "$rc" -eq 0 ]
    check "$name: phone exits cleanly on SIGTERM (status $rc)" $? || tail -n 5 "$tmp/$name.err" | sed 's/^/    /'
    check_no_sanitizer "$name" "$tmp/$name.err"
}

check_no_sanitizer() { # NAME FILE
    ! grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$2"
    check "$1: no sanitizer report" $? ||
        grep -A 15 -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$2" | head -n 40 | sed 's/^/    /'
}

# wait_event FILE EVENT [SECONDS (20)] [PID]: waits until a JSON line of that
# event is in FILE; fails early if PID exits.
wait_event() {
    local f=$1 ev=$2 n=$((${3:-20} * 10)) pid=${4:-} i
    for i in $(seq 1 "$n"); do
        grep -q "\"event\": \"$ev\"" "$f" 2>/dev/null && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            grep -q "\"event\": \"$ev\"" "$f" 2>/dev/null
            return
        fi
        sleep 0.1
    done
    return 1
}

# jget FILE EVENT KEY.PATH: the value at KEY.PATH (dots) in the last JSON event
# EVENT of FILE; empty (status 1) if there is none.
jget() {
    python3 - "$@" <<'PY'
import json, sys
f, ev, path = sys.argv[1:4]
val = None
for line in open(f, errors='replace'):
    line = line.strip()
    if not line.startswith('{'):
        continue
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get('event') != ev:
        continue
    v = o
    for k in path.split('.'):
        v = v.get(k) if isinstance(v, dict) else None
    val = v
if val is None:
    sys.exit(1)
print(val)
PY
}

# jcount FILE EVENT: how many JSON events EVENT FILE holds.
jcount() {
    grep -c "\"event\": \"$2\"" "$1" 2>/dev/null || true
}

# fcmp A OP B: floating-point comparison (OP one of < <= > >= ==), status 0 if true.
fcmp() {
    python3 -c 'import sys; a, op, b = float(sys.argv[1]), sys.argv[2], float(sys.argv[3]); sys.exit(0 if eval("a " + op + " b") else 1)' "$1" "$2" "$3" 2>/dev/null
}

# wav_freq FILE [SKIP_MS]: wavcheck's dominant frequency (Hz), empty on error.
wav_freq() {
    local out
    out=$("$wavcheck" freq "$1" --skip-ms "${2:-500}" 2>/dev/null) || return 1
    printf '%s\n' "$out" | tr ' ' '\n' | sed -n 's/^freq_hz=//p' | head -n 1
}
