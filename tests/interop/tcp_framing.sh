#!/usr/bin/env bash
# SIP over TCP stream framing (RFC 3261 §18.3), from a Python client:
#  (a) one OPTIONS split at random points into many send() calls with small
#      sleeps, and one with a body whose header/body boundary falls between
#      two segments
#  (b) three OPTIONS in one send(): three 200s with the right CSeqs
#  (c) CRLFCRLF keep-alive ping -> CRLF pong (RFC 5626 §3.5.1), and the
#      connection still carries requests afterwards
#  (d) garbage ("HELLO" + CRLFCRLF) and a non-numeric Content-Length: the
#      connection gets a 400 or is closed, while another connection opened
#      before, and one opened after, still work
# usage: tcp_framing.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

port=$(free_port) || { check "free port" 1; interop_finish; }
server_start "$port" || { check "server starts and answers OPTIONS" 1; interop_finish; }

py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import os, random, socket, sys, time
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
seed = int(os.environ.get('SEED', time.time_ns() % 100000))
random.seed(seed)
print('random seed %d (rerun with SEED=%d)' % (seed, seed))
ck = Checks()

class Conn:
    def __init__(self):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lport = self.s.getsockname()[1]
        self.buf = b''
        self.closed = False

    def req(self, cseq, extra='', body=b''):
        m = options('127.0.0.1', port, '127.0.0.1', self.lport, 'TCP', cseq, extra=extra)
        if body:
            m = m.replace(b'Content-Length: 0\r\n', b'Content-Type: text/plain\r\n'
                          b'Content-Length: %d\r\n' % len(body)) + body
        return m

    def read(self, n, timeout=3.0):
        """Up to n framed messages; fewer if the time runs out or the peer closes."""
        out = []
        end = time.monotonic() + timeout
        while True:
            msgs, self.buf = split_stream(self.buf)
            out += msgs
            if len(out) >= n or self.closed:
                return out
            left = end - time.monotonic()
            if left <= 0:
                return out
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return out
            except ConnectionError:
                d = b''
            if not d:
                self.closed = True
            self.buf += d

def expect_200(name, msgs, cseqs):
    try:
        rs = [Response(m) for m in msgs]
    except ValueError as e:
        return ck(name, False, str(e))
    got = [(r.status, r.cseq()) for r in rs]
    want = [(200, (c, 'OPTIONS')) for c in cseqs]
    return ck(name, sorted(got) == sorted(want), 'got %s, want %s' % (got, want))

# a connection opened first and left idle: the bad ones later must not affect it
bystander = Conn()
bystander.s.sendall(bystander.req(1))
expect_200('bystander connection answers', bystander.read(1), [1])

# (a) one request in many small segments
c = Conn()
m = c.req(101)
cuts = sorted(random.sample(range(1, len(m)), 25))
pieces = [m[i:j] for i, j in zip([0] + cuts, cuts + [len(m)])]
for p in pieces:
    c.s.sendall(p)
    time.sleep(random.uniform(0.001, 0.02))
expect_200('(a) OPTIONS in %d segments -> one 200, CSeq 101' % len(pieces), c.read(2, 1.5), [101])

body = b'hello, framing\r\n' * 4
m = c.req(102, body=body)
split = m.index(b'\r\n\r\n') + 4
for p in (m[:split - 2], m[split - 2:split], m[split:split + 7], m[split + 7:]):
    c.s.sendall(p)
    time.sleep(0.05)
expect_200('(a) OPTIONS with a %d-byte body cut at the header/body boundary -> 200, CSeq 102'
           % len(body), c.read(2, 1.5), [102])

# (b) three requests in one send()
c.s.sendall(c.req(201) + c.req(202, body=b'x' * 10) + c.req(203))
expect_200('(b) three OPTIONS in one send() -> three 200s, CSeq 201-203', c.read(3), [201, 202, 203])
ck('(b) nothing beyond the three responses', not c.read(1, 0.5), 'extra bytes')

# (c) keep-alive ping
c.s.sendall(b'\r\n\r\n')
got = c.read(1, 2.0)
ck('(c) CRLFCRLF ping -> CRLF pong', got == [b'\r\n'], repr(got[:1]))
c.s.sendall(c.req(301))
expect_200('(c) the connection works after the ping', c.read(1), [301])

# (d) garbage, then a request with a non-numeric Content-Length
def bad_conn(name, data):
    g = Conn()
    g.s.sendall(data)
    got = g.read(1, 3.0)
    ok400 = False
    if got:
        try:
            r = Response(got[0])
            ok400 = r.status == 400
            print('    %s: got "%d %s"' % (name, r.status, r.reason))
        except ValueError:
            pass
    if g.closed and not got:
        print('    %s: connection closed without a response' % name)
    ck('(d) %s -> 400 or connection closed' % name, ok400 or g.closed,
       'got %r, closed=%s' % (got[:1], g.closed))
    if ok400:
        # a stream whose framing is lost cannot be resynchronised: closing it is right
        g.read(1, 2.0)
        print('    %s: connection %s after the 400' % (name, 'closed' if g.closed else 'left open'))
    g.s.close()

bad_conn('"HELLO" CRLFCRLF', b'HELLO\r\n\r\n')
bad_conn('Content-Length: abc', c.req(401).replace(b'Content-Length: 0', b'Content-Length: abc'))
bad_conn('Content-Length: -5', c.req(402).replace(b'Content-Length: 0', b'Content-Length: -5'))

bystander.s.sendall(bystander.req(2))
expect_200('(d) the bystander connection still works', bystander.read(1), [2])
c.s.sendall(c.req(501))
expect_200('(d) the earlier connection still works', c.read(1), [501])
n = Conn()
n.s.sendall(n.req(601))
expect_200('(d) a new connection works', n.read(1), [601])
ck('(d) UDP still works', ping('127.0.0.1', port, 2.0))
PY

server_alive
check "server still running" $?
server_stop_checked
interop_finish
