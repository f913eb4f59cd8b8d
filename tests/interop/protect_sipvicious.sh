#!/usr/bin/env bash
# Protection against SIPVicious (Debian `sipvicious`: svmap, svwar, svcrack; newer
# versions name them sipvicious_svmap ...) with `sipkit serve --trust none --digest md5`
# (svcrack 0.3.3 answers MD5 challenges only), every client on its own loopback address:
#  - svmap (127.0.0.5) is blocked at its first request (User-Agent friendly-scanner):
#    it finds no SIP device, the block is listed by `sipkit ctl blocked` with its rule,
#    and a clean OPTIONS from that address afterwards gets no answer either
#  - svwar (127.0.0.7, --force, REGISTER and INVITE) enumerates none of the users
#    100, 101, 150 that exist; svcrack (127.0.0.8) does not find 100's password,
#    which the same svcrack finds against the same server with --protect off
#  - the answers to an untrusted source are the same for existing and unknown users
#    (REGISTER, INVITE and MESSAGE from another domain), where --protect off tells
#    them apart (404 against 480): so the probe can see a leak
#  - a sweep over user names with a harmless User-Agent (127.0.0.9) is blocked after
#    at most 55 requests (sweep limit: 40 distinct names a minute)
#  - a real user (127.0.0.6) still registers; `sipkit ctl unblock` serves svmap's
#    address again
#  - 20 wrong passwords for user 150 from three addresses slow that user down (a
#    new source gets one attempt per slot, then 503), not another user
#  - DATA/audit.log holds svcrack's failed logins, the blocks with their rules, the
#    registration and the unblock, one JSON object per line, also when a User-Agent
#    tries to inject a line of its own
# usage: protect_sipvicious.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

tool() { command -v "sipvicious_$1" || command -v "$1"; }
svmap=$(tool svmap) && svwar=$(tool svwar) && svcrack=$(tool svcrack) || {
    echo "sipvicious not installed (scripts/install-deps test): skipped"
    exit 77
}

port=$(free_port udp 1) || { check "free port" 1; interop_finish; }
listen_protos=(udp)
users_add 100@127.0.0.1:secret100 101@127.0.0.1:pw101 150@127.0.0.1:pw150 || interop_finish
printf '%s\n' 1234 password secret100 letmein 0000 >"$tmp/dict.txt"

# run_from SECONDS IP TOOL ARGS...: svwar and svcrack 0.3.3 ignore -b (their socket binds
# to the wildcard): the tool runs with its wildcard binds moved to IP, so that
# each tool is its own source; bounded by SECONDS
run_from() {
    local secs=$1 py
    shift
    py=$(head -n 1 "$2" | sed -n 's/^#! *//p') # the tool's own Python (where it is installed)
    timeout -k 5 "$secs" "${py:-python3}" - "$@" <<'PY'
import os, runpy, socket, sys
ip, tool = sys.argv[1], sys.argv[2]
bind = socket.socket.bind
def bind_to_ip(self, addr):
    if isinstance(addr, tuple) and addr[0] in ('', '0.0.0.0'):
        addr = (ip,) + tuple(addr[1:])
    return bind(self, addr)
socket.socket.bind = bind_to_ip
# as when run itself: its own directory first (where Debian keeps the package)
sys.path[0] = os.path.dirname(os.path.realpath(tool))
sys.argv = [tool] + sys.argv[3:]
runpy.run_path(tool, run_name='__main__')
PY
}

# ran_clean NAME OUTPUT: the tool ran to its end (a crash would prove nothing)
ran_clean() {
    ! grep -q 'Traceback' "$2"
    check "$1 ran without a Python error" $? || sed 's/^/    /' "$2" | head -20
}

# REGISTER / INVITE / MESSAGE for a user that exists and has no binding (101: svcrack
# registers 100 in the first run) and one that does not, from an untrusted address;
# prints "same" or "differ: ..." per method
probe_users() { # SOURCE_IP
    python3 - "$srcdir/interop/lib" "$port" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port, src = int(sys.argv[2]), sys.argv[3]
c = Conn(('127.0.0.1', port), local_ip=src)
ua = UA(c, '127.0.0.1')
lport = c.local[1]
def first(r):
    return r.start if r is not None else 'no answer'
def req(method, user):
    body = '' if method != 'MESSAGE' else 'hi'
    branch = 'z9hG4bK' + token(12)
    raw = ('%s sip:%s@127.0.0.1:%d SIP/2.0\r\n'
           'Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n'
           'From: <sip:prober@elsewhere.example>;tag=%s\r\n'
           'To: <sip:%s@127.0.0.1:%d>\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n'
           'Contact: <sip:prober@%s:%d>\r\nMax-Forwards: 70\r\n'
           'User-Agent: probe/1.0\r\nContent-Length: %d\r\n\r\n%s'
           % (method, user, port, src, lport, branch, token(8), user, port, token(16),
              method, src, lport, len(body), body)).encode()
    return first(c.transact(raw, branch, timeout=3))
for method in ('REGISTER', 'INVITE', 'MESSAGE'):
    if method == 'REGISTER':
        a, b = first(ua.register('101', ua='probe/1.0')), first(ua.register('999', ua='probe/1.0'))
    else:
        a, b = req(method, '101'), req(method, '999')
    print('%s %s' % (method, 'same' if a == b else 'differ: %r / %r' % (a, b)))
PY
}

# ---- the same server with protection off: the baseline every check is measured against
server_start "$port" --protect off --digest md5 --log-level info || { check "server starts (--protect off)" 1; interop_finish; }
out=$(probe_users 127.0.0.6)
printf '%s\n' "$out" | sed 's/^/    off: /'
grep -q 'INVITE differ' <<<"$out"
check "without protection an unknown user is told apart from a known one (the probe sees a leak)" $?
run_from 60 127.0.0.8 "$svcrack" -p "$port" -u 100 -d "$tmp/dict.txt" 127.0.0.1 >"$tmp/svcrack_off.out" 2>&1
grep -q 'secret100' "$tmp/svcrack_off.out"
check "without protection svcrack finds 100's password (the dictionary works)" $? ||
    sed 's/^/    /' "$tmp/svcrack_off.out" | head -20
server_stop

# ---- protection on, nobody trusted
hport=$(free_port tcp)
server_start "$port" --trust none --digest md5 --log-level info --http "127.0.0.1:$hport" ||
    { check "server starts (--trust none)" 1; interop_finish; }
out=$(probe_users 127.0.0.6)
printf '%s\n' "$out" | sed 's/^/    on: /'
[ "$(grep -c ' same$' <<<"$out")" -eq 3 ]
check "with protection REGISTER, INVITE and MESSAGE get the same answer for known and unknown users" $?

timeout 60 "$svmap" -b 127.0.0.5 -p "$port" 127.0.0.1 >"$tmp/svmap.out" 2>&1
ran_clean svmap "$tmp/svmap.out"
! grep -q "127.0.0.1:$port" "$tmp/svmap.out"
check "svmap finds no SIP device" $? || sed 's/^/    /' "$tmp/svmap.out" | head -20
blocked=$("$sipkit" ctl blocked --data "$tmp/data")
printf '%s\n' "$blocked" | sed 's/^/    /'
grep -qE '^127\.0\.0\.5 scanner-ua [0-9]+$' <<<"$blocked"
check "ctl blocked: 127.0.0.5 by scanner-ua with the time left" $?
wait_log "$tmp/server.log" 'protect: blocking 127\.0\.0\.5 \(scanner-ua\)' 5
check "the block is logged with its rule" $?

python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
s = udp_socket('127.0.0.5')
s.sendto(options('127.0.0.1', int(sys.argv[2]), '127.0.0.5', s.getsockname()[1]), ('127.0.0.1', int(sys.argv[2])))
sys.exit(1 if recv_all(s, 1.0) else 0)
PY
check "a blocked address gets nothing back, even for a clean OPTIONS" $?

for m in REGISTER INVITE; do
    run_from 90 127.0.0.7 "$svwar" -p "$port" -e 100-160 -m "$m" --force --maximumtime 20 127.0.0.1 \
        >"$tmp/svwar_$m.out" 2>&1
    ran_clean "svwar -m $m" "$tmp/svwar_$m.out"
    ! grep -qE '\| *1(00|01|50) *\|' "$tmp/svwar_$m.out"
    check "svwar -m $m enumerates no extension" $? || sed 's/^/    /' "$tmp/svwar_$m.out" | head -20
done
run_from 60 127.0.0.8 "$svcrack" -p "$port" -u 100 -d "$tmp/dict.txt" 127.0.0.1 >"$tmp/svcrack_on.out" 2>&1
ran_clean svcrack "$tmp/svcrack_on.out"
! grep -q 'secret100' "$tmp/svcrack_on.out"
check "svcrack does not find the password" $? || sed 's/^/    /' "$tmp/svcrack_on.out" | head -20
blocked=$("$sipkit" ctl blocked --data "$tmp/data")
grep -qE '^127\.0\.0\.7 ' <<<"$blocked" && grep -qE '^127\.0\.0\.8 ' <<<"$blocked"
check "svwar's and svcrack's addresses are blocked too" $? || printf '%s\n' "$blocked" | sed 's/^/    /'

# a sweep with a harmless User-Agent: REGISTERs for 200 user names, one at a time
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
c = Conn(('127.0.0.1', port), local_ip='127.0.0.9')
ua = UA(c, '127.0.0.1')
answered = 0
for i in range(200):
    r = ua.register('u%d' % (1000 + i), ua='Zoiper rv2.10')
    if r is None:
        break
    answered += 1
# the request that makes the 40th distinct name is the first one dropped; two
# names may share a bit of the count, so a few more may pass
ck('sweep: answers stop after at least 39 and at most 55 names (%d answered)' % answered,
   39 <= answered <= 55)
PY

py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
c = Conn(('127.0.0.1', port), local_ip='127.0.0.6')
ua = UA(c, '127.0.0.1')
auth = Auth('100', 'secret100', alg='MD5')
r = ua.reg_auth(auth, contacts=['<sip:100@127.0.0.6:%d>' % c.local[1]], ua='Linphone/5.2')
ck('a real user still registers while scanners are blocked (%s)' % st(r), status_is(r, 200))
# a User-Agent that tries to write a line of its own into the audit log (folded)
evil = 'evil\r\n {"event": "block", "source": "6.6.6.6"}\r\n "x'
r = ua.reg_auth(auth, contacts=['<sip:100@127.0.0.6:%d>' % c.local[1]], ua=evil)
ck('a REGISTER with a folded, quoted User-Agent registers too (%s)' % st(r), status_is(r, 200))
PY

"$sipkit" ctl unblock 127.0.0.5 --data "$tmp/data" >/dev/null
check "ctl unblock 127.0.0.5" $?
python3 "$helper" ping 127.0.0.1 "$port" 1 >/dev/null 2>&1 # from 127.0.0.1, untrusted too
check "the server still answers an untrusted clean client" $?
python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
s = udp_socket('127.0.0.5')
s.sendto(options('127.0.0.1', int(sys.argv[2]), '127.0.0.5', s.getsockname()[1]), ('127.0.0.1', int(sys.argv[2])))
sys.exit(0 if recv_all(s, 1.0) else 1)
PY
check "after ctl unblock 127.0.0.5 is answered again" $?
drops=$(ctl_stat protect_dropped)
[ "${drops:-0}" -gt 0 ]
check "ctl stats counts what protection dropped (${drops:-?})" $?
# many sources guessing one user's password (7, 7 and 6, under the per-source limit
# of 10): after 20 failures that user is slowed down, the others are not
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
fails = 0
for src, n in (('127.0.0.21', 7), ('127.0.0.22', 7), ('127.0.0.23', 6)):
    c = Conn(('127.0.0.1', port), local_ip=src)
    ua = UA(c, '127.0.0.1')
    for _ in range(n):
        auth = Auth('150', 'wrong', alg='MD5')
        r, ok = ua.challenge(auth)
        if ok:
            r = ua.register('150', auth=auth, ua='guess/1.0')
            fails += r is not None and r.status == 401
ck('20 wrong passwords for 150 from three sources were each refused (%d)' % fails, fails == 20)
time.sleep(2.2)  # past the slot any attempt above may have taken
c = Conn(('127.0.0.1', port), local_ip='127.0.0.24')
ua = UA(c, '127.0.0.1')
a = ua.register('150', ua='guess/1.0')
b = ua.register('150', ua='guess/1.0')
ck('user 150 is slowed: one attempt per slot from a new source (%s, then %s)' % (st(a), st(b)),
   status_is(a, 401) and status_is(b, 503) and b.hdr('retry-after') is not None)
r = ua.register('101', ua='guess/1.0')
ck('another user is not slowed (%s)' % st(r), status_is(r, 401))
PY

# the audit log: JSON lines, one per event, whatever the headers carried
py_checks python3 - "$tmp/data/audit.log" <<'PY'
import json, sys
ok, ev = True, []
for line in open(sys.argv[1], encoding='utf-8'):
    try:
        ev.append(json.loads(line))
    except ValueError:
        ok = False
def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in ev)
def check(name, cond):
    print(('ok: ' if cond else 'FAIL: ') + name)
    return cond
res = [check('audit: every line is one JSON object (%d lines)' % len(ev), ok and len(ev) > 0),
       check('audit: svcrack\'s failed logins for 100 from 127.0.0.8',
             has(event='auth_failed', user='100', source='127.0.0.8', method='REGISTER')),
       check('audit: the scanner block of 127.0.0.5 with its rule',
             has(event='block', source='127.0.0.5', rule='scanner-ua')),
       check('audit: the sweep block of 127.0.0.9', has(event='block', source='127.0.0.9', rule='sweep')),
       check('audit: the real user\'s registration',
             has(event='register', aor='sip:100@127.0.0.1', source='127.0.0.6')),
       check('audit: the injected User-Agent stayed inside its string',
             not has(source='6.6.6.6') and any('6.6.6.6' in (e.get('user_agent') or '') for e in ev)),
       check('audit: the unblock by ctl', has(event='unblock', source='127.0.0.5', by='ctl'))]
sys.exit(0 if all(res) else 1)
PY
# what an operator graphs: the rules in /metrics (Prometheus text format)
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$hport/metrics")
v=$(sed -n 's/^sipkit_protect_blocks_total{rule="scanner-ua"} \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${v:-0}" -ge 1 ]
check "/metrics: sipkit_protect_blocks_total{rule=\"scanner-ua\"} counts svmap's block (${v:-?})" $?
v=$(sed -n 's/^sipkit_protect_blocks_total{rule="sweep"} \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${v:-0}" -ge 1 ]
check "/metrics: the sweep block is counted (${v:-?})" $?
v=$(sed -n 's/^sipkit_dropped_total{rule="blocked"} \([0-9]*\)$/\1/p' <<<"$metrics")
[ "${v:-0}" -ge 1 ]
check "/metrics: requests of blocked sources dropped (${v:-?})" $?
if command -v promtool >/dev/null; then
    promtool check metrics <<<"$metrics" >"$tmp/promtool.out" 2>&1
    check "promtool check metrics accepts the output with the protection rules" $? ||
        sed 's/^/    /' "$tmp/promtool.out" | head
fi
server_alive
check "the server is alive" $?
server_stop_checked
interop_finish
