# The one harness of the shell tests (tests/interop, registrar, proxy, ua, apps;
# sourced, not run; not a test itself): temporary directory and cleanup trap,
# pass/fail counting (check, py_checks), free ports (free_port), bounded waits
# (wait_for, wait_port, wait_file, wait_log, wait_exit), the server
# (server_start/stop), SIPp, tshark and sipkit phone helpers.
# The sourcing script sets: sipkit (binary), srcdir (tests/), and calls
# interop_init first. It ends with interop_finish.

interop_init() {
    here=$srcdir/interop
    scen=$here/scenarios
    helper=$here/lib/sipclient.py
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipkit-interop.XXXXXX")
    pass=0
    fail=0
    server_pid=""
    server_data=""         # --data of server_start: $tmp/data unless the script sets it
    nserver=0
    started=$(date +%s)
    cleanup_hooks=()
    ns_exec=()             # e.g. (ip netns exec NAME): where the server and probes run
    listen_protos=(udp tcp)
    trap interop_cleanup EXIT
    trap 'exit 130' INT TERM
}

# Kills only what this script started: its server, then whatever the hooks
# name (each hook is a command the script registered, run in order).
interop_cleanup() {
    local h
    server_stop
    for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
    free_port_release
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}

check() { # name, condition-status; returns the status, so `check ... || handle` works
    if [ "$2" -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok: $1"
    else
        fail=$((fail + 1))
        echo "FAIL: $1"
    fi
    return "$2"
}

interop_finish() {
    echo "$(basename "$0") took $(($(date +%s) - started)) s"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

# server_start PORT [extra sipkit serve args...]: listens on 127.0.0.1:PORT
# (${listen_protos[@]}, UDP and TCP unless changed), inside ${ns_exec[@]} if
# set, and waits until an OPTIONS over UDP is answered (at most ~10 s).
server_start() {
    local port=$1 p listen=()
    shift
    for p in "${listen_protos[@]}"; do listen+=(--listen "$p:127.0.0.1:$port"); done
    # a server with a registrar keeps its files under --data (default ./data): not here
    listen+=(--data "${server_data:-$tmp/data}")
    nserver=$((nserver + 1))
    # $tmp/server.log is the current server's log; each one's stays as server-N.log
    ln -sf "server-$nserver.log" "$tmp/server.log"
    # `ip netns exec` execs the command, so $! is the server itself
    "${ns_exec[@]}" "$sipkit" serve "${listen[@]}" --workers 2 "$@" >"$tmp/server-$nserver.log" 2>&1 &
    server_pid=$!
    server_port=$port
    if ! wait_ready 127.0.0.1 "$port" "${ns_exec[@]}"; then
        echo "server did not answer on port $port; its log:" >&2
        cat "$tmp/server.log" >&2
        return 1
    fi
}

wait_ready() { # host port [netns-prefix...]: poll with OPTIONS until a 200 comes back
    local host=$1 port=$2 i
    shift 2
    for i in $(seq 1 50); do
        if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then
            return 1
        fi
        if "$@" python3 "$helper" ping "$host" "$port" 0.2 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

server_alive() {
    [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null
}

# server_stop_sig [TERM|KILL]: stops the server with that signal (SIGKILL after
# 10 s); 0 if it stopped at once, with status 0 after TERM.
server_stop_sig() {
    local sig=${1:-TERM} pid=$server_pid rc=0
    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null
    if ! wait_exit "$pid" 10; then
        echo "server $pid still running after SIG$sig: killing it" >&2
        kill -KILL "$pid" 2>/dev/null
        rc=1
    fi
    wait "$pid" 2>/dev/null
    local st=$?
    if [ "$sig" != KILL ] && [ $rc -eq 0 ]; then rc=$st; fi
    server_pid=""
    return $rc
}

# server_stop_checked: stops the server with SIGTERM and checks that it exits
# cleanly (status 0) without a sanitizer report in its log (ASan/UBSan builds).
server_stop_checked() {
    local pid=$server_pid rc
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    rc=0
    wait_exit "$pid" 20 || rc=124
    if [ "$rc" -eq 0 ]; then
        wait "$pid"
        rc=$?
    fi
    [ "$rc" -eq 0 ]
    check "server exits cleanly on SIGTERM (status $rc)" $?
    ! grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$tmp/server.log"
    check "no sanitizer report in the server log" $? ||
        grep -A 15 -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$tmp/server.log" | head -n 40 | sed 's/^/    /'
    server_stop
}

server_stop() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait_exit "$server_pid" 5
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

# ctl_stat NAME [DATA]: one counter of `sipkit ctl stats` (of the server with --data DATA).
ctl_stat() {
    "$sipkit" ctl stats --data "${2:-${server_data:-$tmp/data}}" 2>/dev/null |
        awk -v k="$1" '$1 == k {print $2}'
}

# bindings_of AOR LISTING: the binding lines of AOR in a `sipkit ctl registrations` listing.
bindings_of() {
    awk -v aor="$1" '/^[^ ]/ { cur = $0; next } /^  / && cur == aor { print }' <<<"$2"
}

# run_sipp NAME SCENARIO COUNT TRANSPORT(u1|t1) LOCAL_PORT [extra sipp args...]
# Runs SIPp as a UAC against the server, bounded; its statistics file is
# $tmp/NAME.csv, its screen $tmp/NAME.out and errors $tmp/NAME.err.
run_sipp() {
    local name=$1 sf=$2 count=$3 tr=$4 lport=$5
    shift 5
    timeout -k 5 120 sipp "127.0.0.1:$server_port" -sf "$sf" -m "$count" -t "$tr" \
        -i 127.0.0.1 -p "$lport" -timeout 90s -timeout_error -nostdin \
        -trace_stat -stf "$tmp/$name.csv" -fd 1 \
        -trace_err -error_file "$tmp/$name.err" \
        "$@" >"$tmp/$name.out" 2>&1 </dev/null
}

# sipp_uas NAME SCENARIO ADDR PORT COUNT [sipp args...]: a SIPp callee (UDP) in
# the background, bounded by ${uas_timeout:-90} s; its stats in $tmp/NAME.csv,
# screen $tmp/NAME.out, errors $tmp/NAME.err. Its PID is uas_pid[NAME].
declare -gA uas_pid=()
sipp_uas() {
    local name=$1 sf=$2 addr=$3 p=$4 n=$5
    shift 5
    timeout -k 5 "${uas_timeout:-90}" sipp -sf "$sf" -i "$addr" -p "$p" -m "$n" -nostdin -t u1 \
        -trace_stat -stf "$tmp/$name.csv" -fd 1 -trace_err -error_file "$tmp/$name.err" \
        "$@" >"$tmp/$name.out" 2>&1 </dev/null &
    uas_pid[$name]=$!
    cleanup_hooks+=("kill $! 2>/dev/null")
}
# uas_done NAME COUNT: waits for the callee; it exited 0 with COUNT successful calls
uas_done() {
    local name=$1 n=$2 rc
    wait "${uas_pid[$name]}"
    rc=$?
    check_sipp_run "$name" "$rc" "$n"
}

# sipp_stat NAME COLUMN: the column's value on the last line of the stats file.
sipp_stat() {
    python3 - "$tmp/$1.csv" "$2" <<'EOF'
import sys
rows = [l.rstrip('\r\n').split(';') for l in open(sys.argv[1]) if l.strip()]
col = rows[0].index(sys.argv[2])
print(rows[-1][col])
EOF
}

# sipp_max NAME COLUMN: the largest value of the column over all lines.
sipp_max() {
    python3 - "$tmp/$1.csv" "$2" <<'EOF'
import sys
rows = [l.rstrip('\r\n').split(';') for l in open(sys.argv[1]) if l.strip()]
col = rows[0].index(sys.argv[2])
print(max(int(r[col]) for r in rows[1:]))
EOF
}

# check_sipp_run NAME RC COUNT: SIPp exited 0, and its counters say COUNT
# successful calls and no failed one.
check_sipp_run() {
    local name=$1 rc=$2 count=$3 ok bad
    ok=$(sipp_stat "$name" 'SuccessfulCall(C)' 2>/dev/null)
    bad=$(sipp_stat "$name" 'FailedCall(C)' 2>/dev/null)
    [ "$rc" -eq 0 ]
    check "$name: sipp exit status 0 (got $rc)" $?
    [ "$ok" = "$count" ] && [ "$bad" = "0" ]
    check "$name: $count successful, 0 failed (got ${ok:-?} successful, ${bad:-?} failed)" $?
    if [ "$rc" -ne 0 ] || [ "$ok" != "$count" ] || [ "$bad" != "0" ]; then
        tail -n 20 "$tmp/$name.out" "$tmp/$name.err" 2>/dev/null | sed 's/^/    /'
    fi
}

# py_checks COMMAND...: runs a Python checker that prints "ok: ..." and
# "FAIL: ..." lines (sipclient.Checks), echoes them, and adds them to the
# counts. A checker that exits non-zero without a FAIL line, or that reports
# nothing at all, counts as one failure more; so does a non-zero exit.
py_checks() {
    local out rc n_ok n_fail
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    n_ok=$(printf '%s\n' "$out" | grep -c '^ok: ')
    n_fail=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
    pass=$((pass + n_ok))
    fail=$((fail + n_fail))
    if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
        check "python checker exited with status $rc without a FAIL line" 1
    elif [ "$n_ok" -eq 0 ] && [ "$n_fail" -eq 0 ]; then
        check "python checker reported no result" 1
    fi
    return "$rc"
}

# capture_start FILE FILTER: tshark on lo into FILE (pcapng), stopped at cleanup;
# returns non-zero (after a check) if it did not start within 10 s. Sets cap_pid.
capture_start() {
    local i
    tshark -i lo -f "$2" -w "$1" 2>"$tmp/tshark.err" &
    cap_pid=$!
    cleanup_hooks+=("kill $cap_pid 2>/dev/null; wait $cap_pid 2>/dev/null")
    wait_log "$tmp/tshark.err" 'Capturing on' 10
    check "tshark capturing on lo" $? || { cat "$tmp/tshark.err"; return 1; }
}

# ---- sipkit phone helpers (tests/ua) ----
# Phones run in the background with --json; each reads its commands from a
# FIFO that this script holds open (phone_fd[NAME]), so closing it is EOF:
# the phone hangs up, unregisters and exits. Events go to $tmp/NAME.log
# (one JSON object a line), stderr to $tmp/NAME.err.
declare -gA phone_pid=() phone_fd=() phone_rc=()
uaevents=${srcdir:-.}/interop/lib/uaevents.py

# free_port [udp|tcp|both] [COUNT] [ADDR]: prints a port P of ADDR (127.0.0.1) such that
# P..P+COUNT-1 are free now for the protocol(s) (both, 1). Chosen at random in
# 20000-31999, below the kernel's ephemeral range (32768-60999 by default, where
# outgoing sockets take theirs), checked by binding each port, and held for this
# script by a lock directory ${TMPDIR:-/tmp}/sipkit-ports/PORT naming its PID
# (removed at cleanup; one whose owner is gone is taken over), so that tests running side by
# side (ctest -j2) never pick the same port between the check and their bind.
free_port() {
    local proto=${1:-both} count=${2:-1} addr=${3:-127.0.0.1} out
    out=$(python3 - "$proto" "$count" "${TMPDIR:-/tmp}/sipkit-ports" "$$" "$addr" <<'PYEOF'
import os, random, socket, sys
proto, count, lockdir, owner, addr = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
kinds = {'udp': [socket.SOCK_DGRAM], 'tcp': [socket.SOCK_STREAM],
         'both': [socket.SOCK_DGRAM, socket.SOCK_STREAM]}[proto]
os.makedirs(lockdir, exist_ok=True)

def bindable(port):
    for kind in kinds:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True

def lock(port):
    path = os.path.join(lockdir, str(port))
    try:
        os.mkdir(path)
    except FileExistsError:
        try:
            pid = int(open(os.path.join(path, 'pid')).read())
            os.kill(pid, 0)
            return None          # held by a running test
        except (OSError, ValueError):
            pass                 # its owner is gone (or never wrote): take it over
    with open(os.path.join(path, 'pid'), 'w') as f:
        f.write(owner)
    return path

for _ in range(200):
    base = random.randrange(20000, 32000 - count)
    held = []
    for p in range(base, base + count):
        path = lock(p)
        if path is None:
            break
        held.append(path)
    if len(held) == count and all(bindable(p) for p in range(base, base + count)):
        print(base, *held)
        sys.exit(0)
    for path in held:
        try:
            os.remove(os.path.join(path, 'pid'))
            os.rmdir(path)
        except OSError:
            pass
sys.exit(1)
PYEOF
    ) || { echo "free_port: no free $proto port block of $count found" >&2; return 1; }
    echo "${out%% *}"
}

# free_port_release: removes the port locks this script ($$) holds (at cleanup).
free_port_release() {
    local d
    for d in "${TMPDIR:-/tmp}"/sipkit-ports/*/; do
        [ "$(cat "$d/pid" 2>/dev/null)" = "$$" ] && rm -rf "$d"
    done
    return 0
}

# wait_for TIMEOUT_S COMMAND...: runs COMMAND every 0.1 s until it succeeds (0)
# or TIMEOUT_S (a whole or decimal number of seconds) has passed (its last status).
wait_for() {
    local t=$1 n i
    shift
    case $t in
    *.*) n=$(( ${t%%.*}0 + ${t#*.} )) ;; # tenths: "2.5" -> 25 (one decimal)
    *) n=$((t * 10)) ;;
    esac
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
wait_until() { wait_for "$@"; } # the older name

# port_listening PROTO PORT [HOST]: something is bound there (ss; udp or tcp).
port_listening() {
    local opt=-ltn
    [ "$1" = udp ] && opt=-lun
    ss -H "$opt" "src ${3:-127.0.0.1}:$2" 2>/dev/null | grep -q .
}
wait_port() { # PROTO PORT TIMEOUT_S [HOST]
    wait_for "$3" port_listening "$1" "$2" "${4:-127.0.0.1}"
}
wait_file() { # FILE TIMEOUT_S: the file exists and is not empty
    wait_for "$2" test -s "$1"
}
wait_log() { # FILE PATTERN TIMEOUT_S: a line of FILE matches the (grep -E) pattern
    wait_for "$3" grep -q -E -- "$2" "$1"
}
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
wait_exit() { # PID TIMEOUT_S: the process has exited
    wait_for "$2" pid_gone "$1"
}

# users_add USER:PASSWORD...: sipkit users USER@localhost (USER may name its own
# domain: USER@DOMAIN) in $tmp/data; one check; returns non-zero when any failed.
users_add() {
    local u name names=()
    for u in "$@"; do
        name=${u%%:*}
        [[ $name == *@* ]] || name=$name@localhost
        if ! "$sipkit" user add "$name" --password "${u#*:}" --data "$tmp/data" >/dev/null; then
            check "user $name added" 1
            return 1
        fi
        names+=("${name%@*}")
    done
    check "users ${names[*]} added" 0
}

# phone_events NAME EVENT: how many EVENT lines the phone has printed so far.
phone_events() {
    local c
    c=$(grep -c -E "\"event\": *\"$2\"" "$tmp/$1.log" 2>/dev/null)
    echo "${c:-0}"
}

phone_has() { # NAME EVENT [COUNT]: at least COUNT (1) such events so far
    [ "$(phone_events "$1" "$2")" -ge "${3:-1}" ]
}

# phone_wait NAME EVENT [TIMEOUT_S (10)] [COUNT (1)]: waits for the event; also
# returns (at once) non-zero if the phone exited.
phone_wait() {
    local name=$1 ev=$2 t=${3:-10} count=${4:-1} i
    for ((i = 0; i < t * 10; i++)); do
        phone_has "$name" "$ev" "$count" && return 0
        kill -0 "${phone_pid[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    phone_has "$name" "$ev" "$count"
}

# phone_start NAME [sipkit phone args...]: starts `sipkit phone --json ARGS`.
phone_start() {
    local name=$1 f fifo=$tmp/$1.in fd
    shift
    rm -f "$fifo"
    mkfifo "$fifo"
    # the phone must not inherit the other phones' FIFOs, or their EOF never comes
    (
        for f in "${phone_fd[@]}"; do eval "exec $f>&-"; done
        exec "$sipkit" phone --json "$@" <"$fifo" >"$tmp/$name.log" 2>"$tmp/$name.err"
    ) &
    phone_pid[$name]=$!
    exec {fd}>"$fifo"
    phone_fd[$name]=$fd
    cleanup_hooks+=("phone_kill $name")
}

phone_cmd() { # NAME LINE: one command on the phone's stdin
    [ -n "${phone_fd[$1]:-}" ] && echo "$2" >&"${phone_fd[$1]}"
}

# phone_quit NAME [TIMEOUT_S (15)]: EOF on its stdin, waits for its exit and
# sets phone_rc[NAME] (124 if it had to be killed). 0 when it exited 0.
phone_quit() {
    local name=$1 t=${2:-15} fd=${phone_fd[$1]:-}
    if [ -n "$fd" ]; then
        exec {fd}>&-
        unset "phone_fd[$name]"
    fi
    phone_reap "$name" "$t"
}

# phone_kill NAME: cleanup; stops it by PID (CONT first: a test may have stopped it).
phone_kill() {
    local pid=${phone_pid[$1]:-} fd=${phone_fd[$1]:-}
    if [ -n "$fd" ]; then
        exec {fd}>&-
        unset "phone_fd[$1]"
    fi
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    wait_exit "$pid" 5 || kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "phone_pid[$1]"
    return 0
}

# check_no_sanitizer NAME FILE: no ASan/UBSan/LSan report in FILE.
check_no_sanitizer() {
    ! grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$2"
    check "$1: no sanitizer report" $? ||
        grep -A 15 -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$2" | head -n 40 | sed 's/^/    /'
}

# ev NAME ARGS...: uaevents.py on the phone's log (get/order/digits/list).
ev() {
    local name=$1 sub=$2
    shift 2
    python3 "$uaevents" "$sub" "$tmp/$name.log" "$@"
}

# call_start NAME [sipkit call args...]: `sipkit call --json ARGS` in the
# background (log $tmp/NAME.log, like a phone's, so phone_wait works on it).
call_start() {
    local name=$1 f
    shift
    (
        for f in "${phone_fd[@]}"; do eval "exec $f>&-"; done
        exec "$sipkit" call --json "$@" </dev/null >"$tmp/$name.log" 2>"$tmp/$name.err"
    ) &
    phone_pid[$name]=$!
    cleanup_hooks+=("phone_kill $name")
}

# call_wait NAME [TIMEOUT_S (30)]: waits for it to exit; its status in phone_rc[NAME]
# (124 if it had to be killed).
call_wait() {
    phone_reap "$1" "${2:-30}"
    return 0
}

# phone_reap NAME TIMEOUT_S: waits for the phone (or call) to exit, SIGKILL after
# TIMEOUT_S; its status in phone_rc[NAME] (124 if killed); 0 when it exited 0.
phone_reap() {
    local name=$1 t=$2 pid=${phone_pid[$1]:-} rc=0
    [ -n "$pid" ] || return 0
    if wait_exit "$pid" "$t"; then
        wait "$pid"
        rc=$?
    else
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=124
    fi
    phone_rc[$name]=$rc
    unset "phone_pid[$name]"
    [ $rc -eq 0 ]
}
