#!/usr/bin/env bash
# sipkit serve as a stateful forking proxy (RFC 3261 §16) and redirect server,
# driven by SIPp callers and callees registered with it, plus raw-socket checks
# (pxclient.py). Everything on loopback; tshark checks the whole capture.
#   - basic call over UDP, and caller on TCP / callee on UDP (double
#     Record-Route); ACK and BYE follow the Record-Route set
#   - 486 busy, no answer (408 after Timer B), Timer C (487 after CANCEL),
#     caller's CANCEL (487 upstream, CANCEL downstream)
#   - parallel fork (one answers, the other is cancelled), sequential fork by q
#     (486 from q=1.0, then q=0.5 answers; a q=0.5 branch is not tried when
#     q=1.0 answers)
#   - loose routing, strict routers upstream and downstream; a 6xx cancels
#     the other branch; 401/407 challenges merged; 503 becomes 500
#   - 404, 480, 482, 483, 416, 420, 400 for a bad Route, 407 and a SIPp
#     caller that authenticates, redirect mode (302 with q and expires)
#   - calls with SIPp dropping 10% of INVITEs, 180s, BYEs and their 200s on
#     both sides (not the 2xx to INVITE or its ACK: see below)
# usage: proxy.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
listen_protos=(udp tcp)
ps=$srcdir/proxy/scenarios
px=$srcdir/proxy/pxclient.py
port=$(free_port both 140) || { check "free ports" 1; interop_finish; }

for tool in sipp tshark python3; do
    command -v "$tool" >/dev/null || { check "$tool installed" 1; interop_finish; }
done

pcap=$tmp/proxy.pcapng
capture_start "$pcap" "portrange $port-$((port + 139))" || interop_finish

# uas NAME SCENARIO PORT COUNT [sipp args...]: a SIPp callee in the background
uas() {
    local name=$1 sf=$2 p=$3 n=$4
    shift 4
    sipp_uas "$name" "$sf" 127.0.0.1 "$p" "$n" "$@"
}
# uas_calls NAME: incoming calls the callee saw (0 when SIPp wrote no stats)
uas_calls() {
    sipp_stat "$1" 'IncomingCall(C)' 2>/dev/null || echo 0
}
# call NAME SCENARIO USER COUNT TRANSPORT LPORT [sipp args...]
call() {
    local name=$1 sf=$2 user=$3 n=$4 tr=$5 lp=$6
    shift 6
    run_sipp "$name" "$sf" "$n" "$tr" "$lp" -s "$user" "$@"
    check_sipp_run "$name" $? "$n"
}
reg() { # USER CONTACT...
    local st
    st=$(python3 "$px" register "$port" "$@")
    [ "$st" = 200 ]
    check "register $1 ($st)" $?
}

# ---- the proxy, without authentication
"$sipkit" user add henry@localhost --password henrypw --data "$tmp/data" >/dev/null 2>&1
check "user henry added (known, never registered)" $?
server_start "$port" --auth off --t1 100 --timer-c 2000 ||
    { check "proxy starts" 1; interop_finish; }

# basic call, UDP both sides; then the caller on TCP (two Record-Routes)
reg bob "<sip:bob@127.0.0.1:$((port + 40))>"
uas uas_basic "$ps/uas_answer.xml" $((port + 40)) 30 -d 0
call call_udp "$ps/uac_call.xml" bob 20 u1 $((port + 41)) -r 20
call call_tcp "$ps/uac_call.xml" bob 10 t1 $((port + 42)) -r 20
uas_done uas_basic 30
n=$(ctl_stat proxied)
[ "${n:-0}" -ge 60 ]
check "every INVITE and BYE went through the proxy statefully (proxied $n >= 60)" $?
n=$(ctl_stat forwarded_statelessly)
[ "${n:-0}" -ge 30 ]
check "every ACK for a 2xx was forwarded statelessly by Route (forwarded $n >= 30)" $?

# 486 busy
reg dave "<sip:dave@127.0.0.1:$((port + 50))>"
uas uas_busy "$ps/uas_busy.xml" $((port + 50)) 3
call call_busy "$ps/uac_busy.xml" dave 3 u1 $((port + 51)) -r 10
uas_done uas_busy 3
grep -q '486 <-' "$tmp/call_busy.out"
check "the caller got 486" $?

# no answer at all: Timer B (64*T1 = 6.4 s here) gives 408 upstream
reg erin "<sip:erin@127.0.0.1:$((port + 59))>"
call call_noanswer "$ps/uac_busy.xml" erin 1 u1 $((port + 58))
grep -q '408 <-' "$tmp/call_noanswer.out"
check "a callee that never answers: 408" $?

# Timer C (2 s here): the ringing branch is cancelled, its 487 goes upstream
reg carol "<sip:carol@127.0.0.1:$((port + 60))>"
uas uas_timerc "$ps/uas_ring_cancel.xml" $((port + 60)) 2
call call_timerc "$ps/uac_busy.xml" carol 2 u1 $((port + 61)) -r 10
uas_done uas_timerc 2
grep -q '487 <-' "$tmp/call_timerc.out"
check "Timer C: the caller got 487 after the proxy's CANCEL" $?

# the caller cancels while it rings
uas uas_cancel "$ps/uas_ring_cancel.xml" $((port + 60)) 3
call call_cancel "$ps/uac_cancel.xml" carol 3 u1 $((port + 62)) -r 10
uas_done uas_cancel 3

# parallel fork: one callee answers after 500 ms, the other rings and is cancelled
reg frank "<sip:frank@127.0.0.1:$((port + 70))>" "<sip:frank@127.0.0.1:$((port + 71))>"
uas uas_fork_a "$ps/uas_answer.xml" $((port + 70)) 2 -d 500
uas uas_fork_b "$ps/uas_ring_cancel.xml" $((port + 71)) 2
call call_fork "$ps/uac_call.xml" frank 2 u1 $((port + 72)) -r 5
uas_done uas_fork_a 2
uas_done uas_fork_b 2

# sequential fork: q=1.0 is busy, then q=0.5 answers
reg gina "<sip:gina@127.0.0.1:$((port + 80))>;q=1.0" "<sip:gina@127.0.0.1:$((port + 81))>;q=0.5"
uas uas_seq_busy "$ps/uas_busy.xml" $((port + 80)) 2
uas uas_seq_ans "$ps/uas_answer.xml" $((port + 81)) 2 -d 0
call call_seq "$ps/uac_call.xml" gina 2 u1 $((port + 82)) -r 5
uas_done uas_seq_busy 2
uas_done uas_seq_ans 2

# ... and when q=1.0 answers, the q=0.5 contact never sees the INVITE
reg ivan "<sip:ivan@127.0.0.1:$((port + 90))>;q=1.0" "<sip:ivan@127.0.0.1:$((port + 91))>;q=0.5"
uas uas_q_ans "$ps/uas_answer.xml" $((port + 90)) 2 -d 0
uas uas_q_idle "$ps/uas_busy.xml" $((port + 91)) 1 -timeout 6s
call call_q "$ps/uac_call.xml" ivan 2 u1 $((port + 92)) -r 5
uas_done uas_q_ans 2
wait "${uas_pid[uas_q_idle]}"
n=$(uas_calls uas_q_idle)
[ "${n:-0}" = 0 ]
check "sequential: the q=0.5 contact got no INVITE when q=1.0 answered (got ${n:-?})" $?

# lossy: SIPp drops 10% of every message it sends and receives, on both sides
# SIPp's quirks shape this: the 2xx to the INVITE and its ACK are never
# dropped. When the callee drops its 200, SIPp cannot take the INVITE
# retransmission that follows; when the caller drops the 200 or its ACK, it
# never ACKs the retransmitted 200s that the proxy forwards (seen in
# captures: every retransmission reached the caller). So INVITE, 180, BYE
# and the 200 to BYE are dropped, in both directions. The callee's ACK is
# optional, and it stays 3 s to answer BYE retransmissions.
# The caller retransmits its BYE from T1 = 100 ms, the proxy's T1 here: with
# SIPp's 500 ms they ran 12 s (doubling to T2 = 4 s), past the proxy's Timer J
# (64*T1 = 6.4 s): when SIPp dropped the first three 200s (0.1% of calls), a
# later BYE was a new request to the proxy, forwarded to a callee that had
# finished, and answered 408 after Timer F. Both ends of a hop must use the
# same T1 (RFC 3261 §17.1.2.2, Timer J).
python3 - "$ps" "$tmp" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
for name in ('uac_call', 'uas_answer'):
    s = open('%s/%s.xml' % (src, name)).read()
    s = re.sub(r'<(send|recv)(?![^>]*optional)', r'<\1 lost="10"', s)
    if name == 'uas_answer':
        s = s.replace('<recv lost="10" request="ACK" crlf="true"/>',
                      '<recv request="ACK" crlf="true" optional="true"/>')
        s = s.replace('</scenario>', '  <pause milliseconds="3000"/>\n</scenario>')
        s = s.replace('<send lost="10" retrans="500">\n    <![CDATA[\n\n      SIP/2.0 200 OK\n      [last_Via:]\n      [last_Record-Route:]',
                      '<send retrans="500">\n    <![CDATA[\n\n      SIP/2.0 200 OK\n      [last_Via:]\n      [last_Record-Route:]')
        assert s.count('lost=') == 4, s.count('lost=')
    else:
        s = s.replace('<recv lost="10" response="200" rrs="true" rtd="true"/>',
                      '<recv response="200" rrs="true" rtd="true"/>')
        s = s.replace('<send lost="10">\n    <![CDATA[\n\n      ACK', '<send>\n    <![CDATA[\n\n      ACK')
        bye = '<send lost="10" retrans="500">\n    <![CDATA[\n\n      BYE'
        assert s.count(bye) == 1
        s = s.replace(bye, bye.replace('500', '100'))
        assert s.count('lost=') == 3, s.count('lost=')
    open('%s/%s_lossy.xml' % (out, name), 'w').write(s)
PY
reg jack "<sip:jack@127.0.0.1:$((port + 100))>"
uas uas_lossy "$tmp/uas_answer_lossy.xml" $((port + 100)) 40 -d 0
call call_lossy "$tmp/uac_call_lossy.xml" jack 40 u1 $((port + 101)) -r 10
uas_done uas_lossy 40

# error answers and the loop check, Route processing, response selection (raw sockets)
py_checks python3 "$px" errors "$port"
py_checks python3 "$px" routing "$port"
py_checks python3 "$px" responses "$port"

server_stop_checked

# ---- the proxy with authentication: 407, and a SIPp caller that authenticates
"$sipkit" user add alice@localhost --password alicepw --data "$tmp/data" >/dev/null 2>&1
check "user alice added" $?
server_start "$port" --digest md5 --t1 100 || { check "proxy with auth starts" 1; interop_finish; }
py_checks python3 "$px" auth "$port"
# bob is no user in this data directory yet: add and register him
"$sipkit" user add bob@localhost --password bobpw --data "$tmp/data" >/dev/null 2>&1
reg_auth_st=$(python3 - "$srcdir" "$port" "$((port + 110))" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/interop/lib')
from sipclient import Conn, UA, Auth
c = Conn(('127.0.0.1', int(sys.argv[2])))
a = Auth('bob', 'bobpw', 'MD5')
r = UA(c, 'localhost').reg_auth(a, contacts=['<sip:bob@127.0.0.1:%s>' % sys.argv[3]], expires=300)
print(r.status if r else 'none')
PY
)
[ "$reg_auth_st" = 200 ]
check "bob registers with digest ($reg_auth_st)" $?
uas uas_auth "$ps/uas_answer.xml" $((port + 110)) 3 -d 0
# SIPp digests the URI sip:REMOTE_IP:PORT unless told the Request-URI (without "sip:")
call call_auth "$ps/uac_auth_call.xml" bob 3 u1 $((port + 111)) -r 5 -au alice -ap alicepw \
    -auth_uri bob@localhost
uas_done uas_auth 3
grep -q '407 <-' "$tmp/call_auth.out"
check "the caller was challenged with 407 first" $?
server_stop_checked

# ---- redirect mode
server_start "$port" --auth off --mode redirect || { check "redirect server starts" 1; interop_finish; }
reg kate "<sip:kate@127.0.0.1:$((port + 120))>;q=0.8" "<sip:kate@127.0.0.1:$((port + 121))>"
py_checks python3 "$px" redirect "$port"
server_stop_checked

# ---- tshark: nothing malformed in anything sent or received on these ports
sleep 0.5
kill -INT "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null
total=$(tshark -r "$pcap" -Y 'sip' 2>/dev/null | wc -l)
bad=$(tshark -r "$pcap" -Y 'sip && (_ws.malformed || _ws.expert.severity >= warning)' 2>/dev/null |
    grep -v -E 'Content-Length: abc' | wc -l)
[ "$total" -gt 500 ]
check "tshark decoded the capture ($total SIP packets)" $?
[ "$bad" -eq 0 ]
check "tshark finds no malformed SIP packet and no expert warning ($bad)" $? ||
    tshark -r "$pcap" -Y 'sip && (_ws.malformed || _ws.expert.severity >= warning)' 2>/dev/null | head -n 10

interop_finish
