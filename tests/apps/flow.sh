#!/usr/bin/env bash
# CLI tests of `sipkit flow`: real traffic (SIPp OPTIONS and REGISTER over UDP and TCP
# against `sipkit serve`) captured with tcpdump (or dumpcap) on lo, listed by
# `sipkit flow FILE --messages` and compared with tshark; live capture; damaged
# files; and every public capture in ../shared/captures read without a crash.
# Exits 77 (skipped) when it cannot capture (not root, or no tcpdump/dumpcap,
# SIPp or tshark), after running the checks that need none of them.
# usage: flow.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
data=$2
srcdir=$(cd "$data/.." && pwd)
root=$(cd "$srcdir/.." && pwd)
. "$srcdir/interop/lib/common.bash"
interop_init
captures=${SIPKIT_CAPTURES:-$root/../shared/captures}

# count_listed OUT: the number of message lines in a --messages listing
count_listed() { grep -c -E '^ *[0-9]+(\([0-9]+\))? -?[0-9]+\.[0-9]{6} ' "$1"; }

# tshark_count FILE [decode-as args...]: SIP messages tshark sees (one line per
# frame; a frame with several messages lists their CSeqs joined with '|')
tshark_count() {
    local f=$1
    shift
    timeout 120 tshark -r "$f" "$@" -Y sip -T fields -e sip.CSeq -E occurrence=a \
        -E aggregator='|' 2>/dev/null | awk -F'|' 'NF { n += NF } END { print n + 0 }'
}

# ---- without capturing: damaged and foreign files ----
printf 'OPTIONS sip:x SIP/2.0\r\n\r\n' >"$tmp/not.pcap"
"$sipkit" flow "$tmp/not.pcap" --messages >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'not.pcap' "$tmp/err"
st_=$?; check "a non-pcap file: status 1 and libpcap's message ($rc: $(head -c 200 "$tmp/err"))" $st_
"$sipkit" flow "$tmp/missing.pcap" 2>/dev/null; rc=$?
[ $rc -eq 1 ]; check "a missing file: status 1 ($rc)" $?
"$sipkit" flow --bogus "$tmp/not.pcap" 2>/dev/null; rc=$?
[ $rc -eq 2 ]; check "an unknown option: status 2 ($rc)" $?
"$sipkit" flow --help | grep -q -- '--live'; check "flow --help" $?

# ---- the public captures: every file read, none crashes ----
if [ -d "$captures" ]; then
    n=0
    for f in "$captures"/*.pcap "$captures"/*.pcapng; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        b=$(basename "$f")
        timeout 120 "$sipkit" flow "$f" --messages >"$tmp/pub.out" 2>"$tmp/pub.err"; rc=$?
        got=$(count_listed "$tmp/pub.out")
        [ $rc -eq 0 ] && tail -n 1 "$tmp/pub.out" | grep -q "^$got SIP messages"
        check "$b: read (status $rc), $got SIP messages" $? || head -n 5 "$tmp/pub.err"
        command -v tshark >/dev/null || continue
        # Where tshark and sipkit differ by design:
        case $b in
        *friendly-scanner*) continue ;;      # tshark also counts the SIP quoted in ICMP errors
        *port6060*) want=$(tshark_count "$f" -d tcp.port==6060,sip) ;; # not a SIP port to tshark
        *) want=$(tshark_count "$f") ;;
        esac
        [ "$got" = "$want" ]; check "$b: as many SIP messages as tshark ($got, tshark $want)" $?
    done
    [ $n -gt 0 ]; check "public captures found in $captures ($n)" $?
else
    echo "note: no public captures at $captures"
fi

# ---- capturing real traffic ----
capture_tool=${FLOW_CAPTURE_TOOL:-} # tcpdump or dumpcap; found on PATH when unset
if [ -z "$capture_tool" ]; then
    if command -v tcpdump >/dev/null; then capture_tool=tcpdump
    elif command -v dumpcap >/dev/null; then capture_tool=dumpcap; fi
fi
if [ "$(id -u)" -ne 0 ] || [ -z "$capture_tool" ] || ! command -v sipp >/dev/null ||
    ! command -v tshark >/dev/null; then
    echo "skipping the live part: needs root, tcpdump or dumpcap, sipp and tshark"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi

# free_port: a port free for UDP and TCP on 127.0.0.1 (and the next two for SIPp)
port=$(python3 - <<'PY'
import socket
for _ in range(200):
    t = socket.socket(); t.bind(('127.0.0.1', 0)); p = t.getsockname()[1]
    ok = p < 65000
    socks = [t]
    for q in (p, p + 1, p + 2):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            if q == p and kind == socket.SOCK_STREAM:
                continue
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(('127.0.0.1', q)); socks.append(s)
            except OSError:
                ok = False
    for s in socks: s.close()
    if ok:
        print(p); break
PY
)
[ -n "$port" ]; check "a free port ($port)" $? || interop_finish

cap=$tmp/sip.pcap
if [ "$capture_tool" = tcpdump ]; then
    # --immediate-mode: packets reach the file at once, not when a ring block fills
    tcpdump -i lo -U --immediate-mode -w "$cap" "port $port or port $((port + 1)) or port $((port + 2))" \
        2>"$tmp/cap.err" &
else
    dumpcap -i lo -f "port $port or port $((port + 1)) or port $((port + 2))" -w "$cap" \
        2>"$tmp/cap.err" &
fi
cap_pid=$!
cleanup_hooks+=("kill $cap_pid 2>/dev/null; wait $cap_pid 2>/dev/null")
for i in $(seq 1 100); do
    grep -q -i -E 'listening on|capturing on' "$tmp/cap.err" 2>/dev/null && break
    sleep 0.1
done
grep -q -i -E 'listening on|capturing on' "$tmp/cap.err"
check "$capture_tool capturing on lo" $? || { cat "$tmp/cap.err"; interop_finish; }

# A live capture by sipkit itself, bounded in frames and time, at the same time.
"$sipkit" flow --live lo --filter "port $port" --seconds 60 --count 40 --messages \
    >"$tmp/live.out" 2>"$tmp/live.err" &
live_pid=$!
cleanup_hooks+=("kill $live_pid 2>/dev/null; wait $live_pid 2>/dev/null")

server_start "$port" --auth off --domain localhost ||
    { check "server starts and answers OPTIONS" 1; interop_finish; }

cat >"$tmp/register.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="REGISTER without authentication">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:localhost SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:user[call_number]@localhost>;tag=[pid]SIPpTag[call_number]
      To: <sip:user[call_number]@localhost>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:user[call_number]@[local_ip]:[local_port];transport=[transport]>
      Expires: 60
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
EOF
run_sipp options_udp "$scen/options_uac.xml" 20 u1 $((port + 1)) -r 50
check_sipp_run options_udp $? 20
run_sipp options_tcp "$scen/options_uac.xml" 20 t1 $((port + 2)) -r 50
check_sipp_run options_tcp $? 20
run_sipp register_udp "$tmp/register.xml" 10 u1 $((port + 1)) -r 50
check_sipp_run register_udp $? 10
run_sipp register_tcp "$tmp/register.xml" 10 t1 $((port + 2)) -r 50
check_sipp_run register_tcp $? 10
sleep 1 # the capture's last packets
server_stop
kill -INT "$cap_pid" 2>/dev/null
wait_exit "$cap_pid" 10
wait "$cap_pid" 2>/dev/null

"$sipkit" flow "$cap" --messages >"$tmp/flow.out" 2>"$tmp/flow.err"; rc=$?
[ $rc -eq 0 ]; check "sipkit flow on the capture: status 0 ($rc)" $? || cat "$tmp/flow.err"
got=$(count_listed "$tmp/flow.out")
decode=(-d "udp.port==$port,sip" -d "tcp.port==$port,sip")
want=$(tshark_count "$cap" "${decode[@]}")
[ "$got" -ge 120 ]; check "at least the 120 messages SIPp and the server exchanged ($got)" $?
[ "$got" = "$want" ]; check "as many SIP messages as tshark ($got, tshark $want)" $?
# Frame by frame: every frame tshark shows as SIP completes a message in our list.
tshark -r "$cap" "${decode[@]}" -Y sip -T fields -e frame.number 2>/dev/null | sort -n >"$tmp/t.frames"
sed -E -n 's/^ *([0-9]+)(\([0-9]+\))? -?[0-9]+\.[0-9]{6} .*/\1/p' "$tmp/flow.out" | sort -n -u >"$tmp/s.frames"
cmp -s "$tmp/t.frames" "$tmp/s.frames"
st_=$?; check "the same frames as tshark ($(wc -l <"$tmp/s.frames") frames)" $st_ ||
    diff "$tmp/t.frames" "$tmp/s.frames" | head -n 10
n_tcp=$(grep -c ' TCP ' "$tmp/flow.out")
n_udp=$(grep -c ' UDP ' "$tmp/flow.out")
[ "$n_tcp" -ge 60 ] && [ "$n_udp" -ge 60 ]; check "UDP ($n_udp) and TCP ($n_tcp) messages" $?
grep -q -E " 127\.0\.0\.1:$((port + 2)) -> 127\.0\.0\.1:$port TCP REGISTER sip:localhost SIP/2\.0$" \
    "$tmp/flow.out"
check "a REGISTER over TCP listed with its addresses and start line" $?
grep -q -E " 127\.0\.0\.1:$port -> 127\.0\.0\.1:$((port + 1)) UDP SIP/2\.0 200 OK$" "$tmp/flow.out"
check "a 200 over UDP listed" $?
[ ! -s "$tmp/flow.err" ]; check "no warnings on a clean capture" $? || head -n 5 "$tmp/flow.err"

# The same file cut short in its last frame: the messages before it, a warning naming the frame.
size=$(stat -c %s "$cap")
head -c $((size - 20)) "$cap" >"$tmp/cut.pcap"
"$sipkit" flow "$tmp/cut.pcap" --messages >"$tmp/cut.out" 2>"$tmp/cut.err"; rc=$?
cut_got=$(count_listed "$tmp/cut.out")
[ $rc -eq 0 ] && grep -q -E 'frame [0-9]+: .*truncated' "$tmp/cut.err" &&
    [ "$cut_got" -ge $((got - 1)) ]
st_=$?; check "a truncated capture: status $rc, $cut_got messages, '$(head -c 120 "$tmp/cut.err")'" $st_

# The live capture ended by itself (40 frames) and listed what it saw.
wait_exit "$live_pid" 60
wait "$live_pid"; rc=$?
live_got=$(count_listed "$tmp/live.out")
[ $rc -eq 0 ] && [ "$live_got" -ge 30 ] && grep -q ' in 40 frames' "$tmp/live.out"
check "live capture: status $rc, $live_got messages in its 40 frames" $? ||
    tail -n 3 "$tmp/live.out" "$tmp/live.err"

# --seconds ends a capture that sees nothing; SIGINT ends one that has no bound.
timeout 20 "$sipkit" flow --live lo --filter "udp port 1" --seconds 1 >"$tmp/idle.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q '^0 SIP messages' "$tmp/idle.out"
check "an idle live capture ends after --seconds 1 (status $rc)" $?
"$sipkit" flow --live lo --filter "udp port 1" >"$tmp/int.out" 2>&1 &
int_pid=$!
cleanup_hooks+=("kill $int_pid 2>/dev/null; wait $int_pid 2>/dev/null")
sleep 1
kill -INT "$int_pid"
wait_exit "$int_pid" 10
wait "$int_pid"; rc=$?
[ $rc -eq 0 ] && grep -q '^0 SIP messages' "$tmp/int.out"
check "SIGINT ends a live capture with its summary (status $rc)" $?
bad=$("$sipkit" flow --live lo --filter "port and" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$bad" == *"syntax error"* ]]; check "a bad BPF filter: status 1, libpcap's message ($bad)" $?

interop_finish
