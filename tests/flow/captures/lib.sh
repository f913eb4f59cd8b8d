# Shared helpers of the capture generators (sourced by each <name>.sh, not run).
# shellcheck shell=bash disable=SC2034 # wait_rc, last_pid, base: read by the generators
# A generator is `NAME.sh OUTDIR SIPKIT`: it writes OUTDIR/NAME.pcap and exits 0,
# exits 77 when a tool or root it needs is missing, and 1 when the scenario
# did not happen as designed (the capture is then left out).

# cap_init NAME OUTDIR SIPKIT: the scenario's name, where its pcap goes, the binary.
# As root, the generator first re-runs itself in a network namespace of its own (only
# `lo`, brought up), so the traffic of other tests running at the same time on the
# machine's loopback never lands in its capture; the namespaces it makes hang off that one.
cap_init() {
    cap_name=$1
    [ $# -eq 3 ] || { echo "usage: $cap_name.sh OUTDIR SIPKIT" >&2; exit 2; }
    if [ -z "${CAP_OWN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
        unshare --net true 2>/dev/null; then
        export CAP_OWN_NETNS=1
        exec unshare --net -- bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$2" "$3"
    fi
    cap_out=$(cd "$2" && pwd)/$cap_name.pcap || exit 2
    sipkit=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
    cap_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    scen=$cap_dir/scenarios
    sipclient=$cap_dir/../../interop/lib/sipclient.py
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipkit-cap-$cap_name.XXXXXX")
    cap_pids=()      # every background process we started, stopped in reverse order
    cap_cleanups=()  # commands run after the processes are stopped (namespaces)
    cap_pid=""
    server_pid=""
    trap cap_cleanup EXIT
    trap 'exit 130' INT TERM
}

cap_log() { echo "$cap_name: $*" >&2; }
cap_fail() { cap_log "FAILED: $*"; [ -n "${CAP_VERBOSE:-}" ] && tail -n 20 "$tmp"/*.log >&2; exit 1; }

# need CMD...: skip (77) when a tool is missing; need_root: skip without root.
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || { cap_log "skipped: needs $c"; exit 77; }
    done
}
need_root() { [ "$(id -u)" -eq 0 ] || { cap_log "skipped: needs root"; exit 77; }; }

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; only ever a PID we started.
stop_pid() {
    local p=$1 i
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
    kill -TERM "$p" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}

cap_cleanup() {
    local i
    [ -n "$cap_pid" ] && stop_pid "$cap_pid"
    for ((i = ${#cap_pids[@]} - 1; i >= 0; i--)); do stop_pid "${cap_pids[i]}"; done
    for ((i = ${#cap_cleanups[@]} - 1; i >= 0; i--)); do eval "${cap_cleanups[i]}" >/dev/null 2>&1; done
    if [ -n "${KEEP_TMP:-}" ]; then cap_log "kept $tmp"; else rm -rf "$tmp"; fi
}

# bg LOGNAME CMD...: runs CMD in the background (stdin /dev/null), log in $tmp/LOGNAME.log;
# its PID in $last_pid and in cap_pids. `ip netns exec` execs, so the PID is the program.
bg() {
    local name=$1
    shift
    "$@" </dev/null >"$tmp/$name.log" 2>&1 &
    last_pid=$!
    cap_pids+=("$last_pid")
}

# wait_pid PID SECONDS: waits for a process of ours to end; its status in $wait_rc (124: timeout).
wait_pid() {
    local p=$1 n=$(($2 * 10)) i
    for ((i = 0; i < n; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then wait_rc=124; return 124; fi
    wait "$p"; wait_rc=$?
    return 0
}

# alloc_ports N: sets $base to the first of N consecutive ports free for UDP and TCP
# on 127.0.0.1 (checked at run time; another program may still take one later).
alloc_ports() {
    need python3
    base=$(python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(300):
    b = random.randrange(20000, 32000 - n)  # below the ephemeral range (32768 up)
    socks, ok = [], True
    for p in range(b, b + n):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(('127.0.0.1', p)); socks.append(s)
            except OSError:
                ok = False
        if not ok:
            break
    for s in socks: s.close()
    if ok:
        print(b); break
PY
)
    [ -n "$base" ] || cap_fail "no block of $1 free ports"
}

# capture_start FILTER [NETNS IFACE]: tcpdump on lo (or IFACE inside NETNS) into $tmp/cap.pcap.
capture_start() {
    local filter=$1 ns=${2:-} ifc=${3:-lo} pre=() i
    need tcpdump
    need_root
    [ -n "$ns" ] && pre=(ip netns exec "$ns")
    # -U --immediate-mode: every packet reaches the file at once
    "${pre[@]}" tcpdump -i "$ifc" -n -U --immediate-mode -s 0 -w "$tmp/cap.pcap" "$filter" \
        </dev/null >/dev/null 2>"$tmp/tcpdump.log" &
    cap_pid=$!
    for i in $(seq 1 100); do
        grep -q 'listening on' "$tmp/tcpdump.log" 2>/dev/null && return 0
        kill -0 "$cap_pid" 2>/dev/null || break
        sleep 0.1
    done
    cap_fail "tcpdump did not start: $(cat "$tmp/tcpdump.log")"
}

# capture_finish: stops the capture (after the last packets settle) and installs the pcap.
capture_finish() {
    sleep 0.5
    kill -INT "$cap_pid" 2>/dev/null
    wait_pid "$cap_pid" 10
    stop_pid "$cap_pid"
    cap_pid=""
    [ -s "$tmp/cap.pcap" ] || cap_fail "empty capture"
    mv "$tmp/cap.pcap" "$cap_out" || cap_fail "cannot write $cap_out"
    cap_log "wrote $cap_out ($(stat -c %s "$cap_out") bytes)"
}

# add_users [DATADIR [DOMAIN]]: alice/secret, bob/secret2, carol/secret3 (in $tmp/data, localhost).
# shellcheck disable=SC2120 # the defaults are what the generators use
add_users() {
    local d=${1:-$tmp/data} dom=${2:-localhost}
    mkdir -p "$d"
    "$sipkit" user add "alice@$dom" --password secret --data "$d" >/dev/null &&
        "$sipkit" user add "bob@$dom" --password secret2 --data "$d" >/dev/null &&
        "$sipkit" user add "carol@$dom" --password secret3 --data "$d" >/dev/null ||
        cap_fail "sipkit user add"
}

# serve_start ADDR PORT [NETNS] [-- extra serve args]: sipkit serve on UDP and TCP,
# users added, waits until an OPTIONS is answered. MD5 is offered first: SIPp has
# no SHA-256 digest.
serve_start() {
    local addr=$1 port=$2 ns=${3:-} pre=() i
    shift 3 2>/dev/null || shift $#
    [ "${1:-}" = "--" ] && shift
    [ -n "$ns" ] && pre=(ip netns exec "$ns")
    add_users
    bg serve "${pre[@]}" "$sipkit" serve --listen "udp:$addr:$port" --listen "tcp:$addr:$port" \
        --data "$tmp/data" --domain localhost --workers 1 --digest md5,sha-256 "$@"
    server_pid=$last_pid
    for i in $(seq 1 50); do
        kill -0 "$server_pid" 2>/dev/null || break
        "${pre[@]}" python3 "$sipclient" ping "$addr" "$port" 0.2 >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    cap_fail "sipkit serve did not start: $(tail -n 5 "$tmp/serve.log")"
}

# sipp_run LOGNAME REMOTE SCENARIO [sipp args...]: one bounded SIPp call (foreground);
# status in $sipp_rc.
sipp_run() {
    local name=$1 remote=$2 sf=$3
    shift 3
    local mp=()
    # SIPp always binds a media port (6000 by default): keep it inside our block
    [[ " $* " == *" -mp "* ]] || mp=(-mp "$((base + 34))")
    timeout -k 5 40 sipp "$remote" -sf "$sf" -m 1 -nostdin -timeout 30s -timeout_error \
        -trace_err -error_file "$tmp/$name.err" "${mp[@]}" "$@" </dev/null >"$tmp/$name.log" 2>&1
    sipp_rc=$?
}

# bob_answers [phone args...]: a sipkit phone bob@localhost with no registrar on
# udp:127.0.0.1:$base+1 (RTP on $base+10..19) answering every call at once; returns
# when it listens.
bob_answers() {
    local port=$((base + 1)) i
    bg bob "$sipkit" phone --user sip:bob@localhost --registrar none \
        --listen "udp:127.0.0.1:$port" --auto-answer 0 --no-stdin \
        --rtp-ports "$((base + 10))-$((base + 19))" --log-level info "$@"
    for i in $(seq 1 50); do
        ss -Huln "sport = :$port" 2>/dev/null | grep -q . && return 0
        kill -0 "$last_pid" 2>/dev/null || break
        sleep 0.1
    done
    cap_fail "bob did not start: $(tail -n 5 "$tmp/bob.log")"
}

# sipp_uac REMOTE SCENARIO [sipp args...]: sipp_run as "uac"; the generator fails
# (the scenario did not happen) unless SIPp exits 0.
sipp_uac() {
    sipp_run uac "$@"
    [ "$sipp_rc" -eq 0 ] || cap_fail "SIPp exited $sipp_rc: $(tail -n 3 "$tmp/uac.err" 2>/dev/null)"
}

# sipp_bg LOGNAME SCENARIO [sipp args...]: a SIPp UAS in the background (one call).
sipp_bg() {
    local name=$1 sf=$2
    shift 2
    local mp=()
    [[ " $* " == *" -mp "* ]] || mp=(-mp "$((base + 37))")
    bg "$name" timeout -k 5 40 sipp -sf "$sf" -m 1 -nostdin -timeout 30s \
        -trace_err -error_file "$tmp/$name.err" "${mp[@]}" "$@"
    sleep 0.5
    kill -0 "$last_pid" 2>/dev/null || cap_fail "SIPp $name did not start: $(tail -n 5 "$tmp/$name.log")"
}

# register_contact USER PASSWORD CONTACT_PORT SIP_PORT LOCAL_PORT: binds USER@localhost
# to 127.0.0.1:CONTACT_PORT (where a SIPp UAS listens) with a digest REGISTER.
register_contact() {
    sipp_run "reg_$1" "127.0.0.1:$4" "$scen/register_auth.xml" -i 127.0.0.1 -p "$5" \
        -s "$1" -au "$1" -ap "$2" -auth_uri localhost -set contact_port "$3" -set expires 300
    [ "$sipp_rc" -eq 0 ] || cap_fail "registering $1: $(tail -n 5 "$tmp/reg_$1.log")"
}

# wait_registered USER: polls the registrar's store until USER@localhost has a binding
# (at most 10 s), via `sipkit user`-independent evidence: the phone's log line.
wait_registered() {
    local i
    for i in $(seq 1 100); do
        grep -q -i 'registered' "$tmp/$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    cap_fail "$1 did not register: $(tail -n 5 "$tmp/$1.log")"
}

# phone_bob ANSWER_S: bob@localhost as a `sipkit phone` registered through the proxy at
# 127.0.0.1:$base, answering after ANSWER_S seconds; RTP on $base+10..19.
phone_bob() {
    bg bob "$sipkit" phone --user sip:bob@localhost --password secret2 --registrar "127.0.0.1:$base" \
        --outbound-proxy "sip:127.0.0.1:$base" --listen "udp:127.0.0.1:$((base + 1))" \
        --auto-answer "$1" --no-stdin --play tone:1000 --rtp-ports "$((base + 10))-$((base + 19))" \
        --log-level info
    wait_registered bob
}

# call_alice URI WAIT_S [sipkit call args...]: alice calls URI through the proxy and
# is waited for (at most WAIT_S s); her exit status in $wait_rc.
call_alice() {
    local uri=$1 w=$2
    shift 2
    bg alice "$sipkit" call "$uri" --user sip:alice@localhost --password secret \
        --outbound-proxy "sip:127.0.0.1:$base" --listen "udp:127.0.0.1:$((base + 2))" \
        --play tone:440 --rtp-ports "$((base + 20))-$((base + 29))" "$@"
    wait_pid "$last_pid" "$w" || cap_fail "the call did not end: $(tail -n 3 "$tmp/alice.log")"
}

# ---- network namespaces: a "hub" namespace holds bridge br0, the wire we capture on;
# every host namespace has eth0 on it. Names carry our PID; all are deleted at exit.
ns_hub() {
    need_root
    need ip
    ns_pfx=fc$$
    hub=${ns_pfx}hub
    ip netns add "$hub" 2>"$tmp/netns.log" || { cap_log "skipped: cannot create a network namespace"; exit 77; }
    cap_cleanups+=("ip netns del $hub")
    ip -n "$hub" link set lo up && ip -n "$hub" link add br0 type bridge &&
        ip -n "$hub" link set br0 up || cap_fail "cannot make the bridge"
    ns_seq=0
}

# ns_host NAME [IP/PREFIX GATEWAY]: namespace $ns_pfx-NAME, lo up; with an address, eth0
# on the hub's bridge (and a default route through GATEWAY if given).
ns_host() {
    local ns=$ns_pfx$1 ip=${2:-} gw=${3:-}
    ip netns add "$ns" || cap_fail "ip netns add $ns"
    cap_cleanups+=("ip netns del $ns")
    ip -n "$ns" link set lo up
    [ -n "$ip" ] || return 0
    ns_seq=$((ns_seq + 1))
    ip link add "fc$$h$ns_seq" netns "$ns" type veth peer name "fc$$p$ns_seq" netns "$hub" &&
        ip -n "$ns" link set "fc$$h$ns_seq" name eth0 &&
        ip -n "$hub" link set "fc$$p$ns_seq" master br0 &&
        ip -n "$hub" link set "fc$$p$ns_seq" up &&
        ip -n "$ns" addr add "$ip" dev eth0 &&
        ip -n "$ns" link set eth0 up || cap_fail "cannot wire $ns to the hub"
    if [ -n "$gw" ]; then ip -n "$ns" route add default via "$gw" || cap_fail "route in $ns"; fi
}

# ns_link A IFA IPA B IFB IPB: a veth between two of our namespaces (not on the hub).
ns_link() {
    ns_seq=$((ns_seq + 1))
    ip link add "fc$$l$ns_seq" netns "$ns_pfx$1" type veth peer name "fc$$m$ns_seq" netns "$ns_pfx$4" &&
        ip -n "$ns_pfx$1" link set "fc$$l$ns_seq" name "$2" &&
        ip -n "$ns_pfx$4" link set "fc$$m$ns_seq" name "$5" &&
        ip -n "$ns_pfx$1" addr add "$3" dev "$2" && ip -n "$ns_pfx$4" addr add "$6" dev "$5" &&
        ip -n "$ns_pfx$1" link set "$2" up && ip -n "$ns_pfx$4" link set "$5" up ||
        cap_fail "cannot link $1 and $4"
}

# in_ns NAME CMD...: runs CMD inside our namespace NAME, in the foreground. (A function:
# never background it with bg, whose PID would then be a subshell's; write
# `bg LOG ip netns exec "$ns_pfx"NAME CMD...` instead.)
in_ns() {
    local ns=$ns_pfx$1
    shift
    ip netns exec "$ns" "$@"
}
