#!/usr/bin/env bash
# Interop with SIPp as the UAC against `sipkit serve` (UDP and TCP):
#  - OPTIONS to the server itself over UDP and over TCP: every call a 200
#  - INVITE -> 404 -> ACK over UDP with SIPp dropping 30% of its ACKs and 20%
#    of the 404s it receives: every call must still complete (Timer G
#    retransmission of the 404, absorption of retransmitted INVITEs)
#  - 1,000 concurrent INVITE transactions without a failure
#  - the same INVITE sent three times from Python is one transaction: every
#    response is a byte-identical retransmission, and the ACK stops Timer G
#  - workers run SCHED_BATCH unless --sched normal; UDP-only workers wait in
#    recvmmsg itself (--udp-wait direct), others (and --udp-wait epoll) in epoll
# usage: options_sipp.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

pb=$(free_port both 9) || { check "free ports" 1; interop_finish; }
port=$pb
server_start "$port" || { check "server starts and answers OPTIONS" 1; interop_finish; }

# OPTIONS over UDP and TCP (one TCP connection for all calls: -t t1)
run_sipp options_udp "$scen/options_uac.xml" 200 u1 $((pb + 1)) -r 100
check_sipp_run options_udp $? 200
run_sipp options_tcp "$scen/options_uac.xml" 200 t1 $((pb + 2)) -r 100
check_sipp_run options_tcp $? 200

# INVITE -> 404 -> ACK over UDP with loss on both sides
run_sipp invite_lossy "$scen/invite_404_lossy.xml" 100 u1 $((pb + 3)) -r 20 -l 200
check_sipp_run invite_lossy $? 100
# the loss was real: SIPp retransmitted INVITEs, and ACKed more than once per call
retrans=$(sipp_stat invite_lossy 'Retransmissions(C)' 2>/dev/null)
[ "${retrans:-0}" -gt 0 ]
check "invite_lossy: SIPp had to retransmit INVITEs (${retrans:-?} retransmissions)" $?
# SIPp's final screen counts, per scenario line, "Messages Retrans Timeout
# Unexp. Lost": the 404 line shows retransmitted 404s received (Timer G, or
# answers to retransmitted INVITEs), the ACK line the ACKs SIPp resent for them.
read -r r404 rack < <(python3 - "$tmp/invite_lossy.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def retrans(pat):
    n = [int(m.group(2)) for m in re.finditer(pat + r'\s+(\d+)\s+(\d+)', text, re.M)]
    return max(n) if n else 0  # counters only grow; two 404 lines, the first counts
print(retrans(r'^\s*404 <-+'), retrans(r'^\s*ACK -+>'))
PY
)
[ "${r404:-0}" -gt 0 ] && [ "${rack:-0}" -gt 0 ]
check "invite_lossy: retransmitted 404s arrived and were ACKed again (${r404:-?} 404 and ${rack:-?} ACK retransmissions)" $?

# 1,000 concurrent calls: each stays open 4.5 s after its ACK, so all are
# in progress together
run_sipp concurrent "$scen/invite_404.xml" 1000 u1 $((pb + 4)) -r 500 -l 1000
check_sipp_run concurrent $? 1000
peak=$(sipp_max concurrent 'CurrentCall' 2>/dev/null)
[ "${peak:-0}" -ge 900 ]
check "concurrent: at least 900 calls in progress at once (peak ${peak:-?})" $?

# One INVITE sent three times is one transaction
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
s = udp_socket()
lport = s.getsockname()[1]
branch = 'z9hG4bK' + rand_token(12)
req = invite('127.0.0.1', port, '127.0.0.1', lport, branch=branch)
for _ in range(3):
    s.sendto(req, ('127.0.0.1', port))
    time.sleep(0.05)
got = recv_all(s, 1.2)
resp = []
for _, d in got:
    try:
        resp.append(Response(d))
    except ValueError:
        pass
ck('retransmitted INVITE: responses received (%d)' % len(resp), len(resp) >= 3)
ck('retransmitted INVITE: every response a 404', resp and all(r.status == 404 for r in resp),
   [r.status for r in resp])
ck('retransmitted INVITE: all responses byte-identical (one transaction)',
   resp and len(set(r.raw for r in resp)) == 1, '%d distinct' % len(set(r.raw for r in resp)))
ck('retransmitted INVITE: one To tag', len(set(r.to_tag() for r in resp)) == 1 and resp[0].to_tag(),
   set(r.to_tag() for r in resp))
ck('retransmitted INVITE: response carries our branch', resp and branch in (resp[0].hdr('via') or ''))
if resp:
    r = resp[0]
    ack = ('ACK sip:nobody@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n'
           'From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\n'
           'Content-Length: 0\r\n\r\n' % (port, lport, branch, r.hdr('from'), r.hdr('to'),
                                          r.hdr('call-id'), r.cseq()[0])).encode()
    s.sendto(ack, ('127.0.0.1', port))
    late = recv_all(s, 4.5)
    ck('retransmitted INVITE: the ACK stops the 404 retransmissions', not late,
       '%d more datagrams' % len(late))
PY

server_alive
check "server still running" $?
server_stop_checked

# --prefault MIB: the heap is resident from the start, and the server serves as usual
server_start $((pb + 4)) --prefault 32 || check "server with --prefault 32 starts and answers OPTIONS" 1
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null)
[ "${rss:-0}" -ge $((32 * 1024)) ]
check "--prefault 32: resident memory ${rss:-?} KiB >= 32 MiB right after start" $?
run_sipp options_prefault "$scen/options_uac.xml" 50 u1 $((pb + 5)) -r 100
check_sipp_run options_prefault $? 50
server_stop_checked
# Worker threads (named sk-worker-N): scheduling policy and where an idle one waits
worker_field() { # pid what: "policy" (sched(7) number) or "wchan" per worker thread, space-separated
    local t out=""
    for t in /proc/"$1"/task/*; do
        case $(cat "$t/comm" 2>/dev/null) in sk-worker-*) ;; *) continue ;; esac
        if [ "$2" = policy ]; then
            out+="$(awk '/^policy/ {print $3}' "$t/sched") "
        else
            out+="$(cat "$t/wchan" 2>/dev/null) "
        fi
    done
    echo "$out"
}
# workers_wait_in PID REGEX: both workers are found and each one's wchan is a
# whole match of REGEX (an empty read, "0" or a missing worker never matches)
workers_wait_in() {
    local w n=0
    for w in $(worker_field "$1" wchan); do
        [[ $w =~ ^($2)$ ]] || return 1
        n=$((n + 1))
    done
    [ "$n" -eq 2 ]
}
epoll_wchan='do_epoll_wait|ep_poll'
recv_wchan='__skb_wait_for_more_packets'
# both listeners: the workers run SCHED_BATCH (3) by default and wait in epoll
server_start $((pb + 6)) || check "server (udp+tcp) starts" 1
pol=$(worker_field "$server_pid" policy)
[ "$pol" = "3 3 " ]
check "default: both workers run SCHED_BATCH (policies: '$pol')" $?
# the OPTIONS that showed the server ready is handled once both are idle again
wait_for 5 workers_wait_in "$server_pid" "$epoll_wchan"
rc=$? # before the $(...) below, which would set $? to its own status
check "udp+tcp listeners: idle workers wait in epoll ($(worker_field "$server_pid" wchan))" $rc
server_stop_checked
server_start $((pb + 6)) --sched normal || check "server with --sched normal starts" 1
pol=$(worker_field "$server_pid" policy)
[ "$pol" = "0 0 " ]
check "--sched normal: both workers on the normal policy (policies: '$pol')" $?
server_stop_checked
# UDP only: an idle worker blocks in its socket's receive call (--udp-wait direct, the
# default), serves every request, and is woken for posted work (stopping it); with
# --udp-wait epoll it waits in epoll
saved_protos=("${listen_protos[@]}")
listen_protos=(udp)
server_start $((pb + 7)) || check "UDP-only server starts" 1
wait_for 5 workers_wait_in "$server_pid" "$recv_wchan"
rc=$?
check "UDP only: idle workers wait in recvmmsg, not epoll ($(worker_field "$server_pid" wchan))" $rc
run_sipp options_direct "$scen/options_uac.xml" 500 u1 $((pb + 8)) -r 250
check_sipp_run options_direct $? 500
server_stop_checked
server_start $((pb + 7)) --udp-wait epoll || check "UDP-only server with --udp-wait epoll starts" 1
wait_for 5 workers_wait_in "$server_pid" "$epoll_wchan"
rc=$?
check "--udp-wait epoll: idle workers wait in epoll ($(worker_field "$server_pid" wchan))" $rc
run_sipp options_epoll "$scen/options_uac.xml" 200 u1 $((pb + 8)) -r 250
check_sipp_run options_epoll $? 200
server_stop_checked
listen_protos=("${saved_protos[@]}")
"$sipkit" serve --sched fast >"$tmp/bad_sched.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "bad value for '--sched'" "$tmp/bad_sched.out"
st_=$?; check "--sched fast: refused with status 2 (got $rc: $(head -c 80 "$tmp/bad_sched.out"))" $st_
"$sipkit" serve --prefault lots >"$tmp/bad_prefault.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "bad value for '--prefault'" "$tmp/bad_prefault.out"
st_=$?; check "--prefault lots: refused with status 2 (got $rc: $(head -c 80 "$tmp/bad_prefault.out"))" $st_
interop_finish
