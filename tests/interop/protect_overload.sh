#!/usr/bin/env bash
# Protection's overload mark and --flood-action 503 (`sipkit serve --trust none`):
#  - with --overload-txns 1, once one INVITE transaction is alive a new INVITE gets
#    503 with Retry-After, while REGISTER (401), an in-dialog re-INVITE and a BYE
#    (To tag) still go through (the proxy's own answer, not 503)
#  - with --flood-action 503 --rate-other 1:2, the third OPTIONS in a row gets 503
#    with Retry-After instead of silence, and the source is not blocked for it
# usage: protect_overload.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

port=$(free_port udp 1) || { check "free port" 1; interop_finish; }
listen_protos=(udp)
users_add 101@127.0.0.1:pw101 || interop_finish

server_start "$port" --trust none --overload-txns 1 || { check "server starts" 1; interop_finish; }
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
c = Conn(('127.0.0.1', port), local_ip='127.0.0.31')
lport = c.local[1]
def req(method, user, to_tag=None, cseq=1):
    branch = 'z9hG4bK' + token(12)
    raw = ('%s sip:%s@127.0.0.1:%d SIP/2.0\r\n'
           'Via: SIP/2.0/UDP 127.0.0.31:%d;branch=%s;rport\r\n'
           'From: <sip:caller@elsewhere.example>;tag=%s\r\n'
           'To: <sip:%s@127.0.0.1:%d>%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n'
           'Contact: <sip:caller@127.0.0.31:%d>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n'
           % (method, user, port, lport, branch, token(8), user, port,
              ';tag=' + to_tag if to_tag else '', token(16), cseq, method, lport)).encode()
    return c.transact(raw, branch, timeout=3)
first = req('INVITE', '101')  # 480, its transaction waits for an ACK that never comes
ck('a first INVITE is served (%s)' % st(first), first is not None and first.status == 480)
r = req('INVITE', '101')
ck('past the transaction mark a new INVITE gets 503 (%s)' % st(r), status_is(r, 503))
ck('... with Retry-After', r is not None and r.hdr('retry-after') is not None)
r = UA(c, '127.0.0.1').register('101')
ck('REGISTER still goes through (%s)' % st(r), status_is(r, 401))
r = req('INVITE', '101', to_tag='abc', cseq=2)
ck('a re-INVITE in a dialog is not refused for overload (%s)' % st(r),
   r is not None and r.status != 503)
r = req('BYE', '101', to_tag='abc', cseq=3)
ck('a BYE is not refused for overload (%s)' % st(r), r is not None and r.status != 503)
PY
server_stop

server_start "$port" --trust none --flood-action 503 --rate-other 1:2 ||
    { check "server starts (--flood-action 503)" 1; interop_finish; }
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
ck = Checks()
s = udp_socket('127.0.0.32')
lport = s.getsockname()[1]
got = []
for i in range(3):
    s.sendto(options('127.0.0.1', port, '127.0.0.32', lport), ('127.0.0.1', port))
    s.settimeout(2)
    try:
        got.append(Response(s.recv(65535)))
    except OSError:
        got.append(None)
codes = [r.status if r else None for r in got]
ck('OPTIONS x3 at burst 2: 200, 200, 503 (%s)' % codes, codes == [200, 200, 503])
ck('the 503 carries Retry-After', got[2] is not None and got[2].hdr('retry-after') is not None)
PY
blocked=$("$sipkit" ctl blocked --data "$tmp/data")
grep -q '^0 blocked$' <<<"$blocked"
check "a source briefly over its budget is not blocked" $? || printf '%s\n' "$blocked" | sed 's/^/    /'
server_stop_checked
interop_finish
