"""A WebSocket SIP client (RFC 6455, RFC 7118) for tests/interop/ws.sh, on a raw socket:
the Upgrade handshake, masked frames, and the checks of what sipkit answers, including
the close codes it must send for bad frames. Prints ok:/FAIL: lines (py_checks).

    python3 ws_client.py HOST PORT ORIGIN SIP_UDP_PORT [CAFILE]

With CAFILE the connections are WSS: TLS first, the server's certificate checked
against CAFILE and HOST.
"""
import base64
import hashlib
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipclient as sc  # noqa: E402

GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
host, port, origin, sip_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
cafile = sys.argv[5] if len(sys.argv) > 5 else None
tls = None
if cafile:
    tls = ssl.create_default_context(cafile=cafile)
    tls.check_hostname = False  # an IP: matched against the iPAddress SAN below
    tls.verify_mode = ssl.CERT_REQUIRED


def tcp_connect():
    s = socket.create_connection((host, port), timeout=5)
    return tls.wrap_socket(s, server_hostname=None) if tls else s
fails = 0


def check(name, cond, detail=''):
    global fails
    print(('ok: ' if cond else 'FAIL: ') + name + (('' if cond else '  ' + detail)))
    fails += 0 if cond else 1


def connect(protocol='sip', org=None, key=None):
    s = tcp_connect()
    key = key or base64.b64encode(os.urandom(16)).decode()
    req = ('GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
           'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n' % (host, port, key))
    if protocol:
        req += 'Sec-WebSocket-Protocol: %s\r\n' % protocol
    req += 'Origin: %s\r\n\r\n' % (org or origin)
    s.sendall(req.encode())
    head = b''
    while b'\r\n\r\n' not in head:
        d = s.recv(4096)
        if not d:
            break
        head += d
    h, _, rest = head.partition(b'\r\n\r\n')
    return s, h.decode(errors='replace'), rest, key


def frame(opcode, payload, mask=True, fin=True, length=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack('!BB', b0, mbit | n)
    elif n < 65536:
        hdr = struct.pack('!BBH', b0, mbit | 126, n)
    else:
        hdr = struct.pack('!BBQ', b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    k = os.urandom(4)
    return hdr + k + bytes(c ^ k[i % 4] for i, c in enumerate(payload))


class Reader:
    def __init__(self, s, rest=b''):
        self.s, self.buf = s, rest

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.05, deadline - time.time()))
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def next(self, timeout=5.0):
        """(opcode, payload) of the next frame from the server (never masked)."""
        dl = time.time() + timeout
        self._need(2, dl)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7f, 2
        if n == 126:
            self._need(4, dl)
            n, off = struct.unpack('!H', self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, dl)
            n, off = struct.unpack('!Q', self.buf[2:10])[0], 10
        if b1 & 0x80:
            raise ValueError('server frame masked')
        self._need(off + n, dl)
        p = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0f, p

    def sip(self, timeout=5.0, want=None):
        """The next SIP message (text frame), skipping others; want: a start-line prefix."""
        dl = time.time() + timeout
        while time.time() < dl:
            op, p = self.next(dl - time.time())
            if op in (1, 2):
                m = p.decode(errors='replace')
                if want is None or m.startswith(want):
                    return m
        raise TimeoutError


def hdr(msg, name):
    m = re.search(r'^%s:\s*(.*?)\r$' % name, msg, re.M | re.I)
    return m.group(1) if m else None


def closed_with(s, reader, code, what):
    """The server sends a close frame with code, then closes the TCP connection."""
    try:
        op, p = reader.next()
        got = struct.unpack('!H', p[:2])[0] if op == 8 and len(p) >= 2 else None
        check('%s: close frame %s (got opcode %d, code %s)' % (what, code, op, got),
              op == 8 and got == code)
    except (EOFError, socket.timeout, TimeoutError, ValueError) as e:
        check('%s: close frame %s' % (what, code), False, repr(e))
    try:
        s.settimeout(5)
        while s.recv(4096):
            pass
        check('%s: connection closed by the server' % what, True)
    except (ssl.SSLError, ConnectionResetError):
        check('%s: connection closed by the server' % what, True)
    except socket.timeout:
        check('%s: connection closed by the server' % what, False, 'still open')
    s.close()


# ---- the handshake ----
s, head, rest, key = connect()
acc = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
check('Upgrade answered 101 with the sip subprotocol and the right Sec-WebSocket-Accept',
      head.startswith('HTTP/1.1 101') and re.search(r'(?im)^Sec-WebSocket-Protocol:\s*sip\s*$', head)
      is not None and acc in head, head)
r = Reader(s, rest)

# ---- OPTIONS without Content-Length (RFC 7118 §5: the frame is the message) ----
opt = sc.options(host, port, 'abcdef.invalid', 0, transport='WS').decode()
opt = opt.replace('Content-Length: 0\r\n', '')
s.sendall(frame(1, opt.encode()))
try:
    m = r.sip()
    check('OPTIONS over WS (no Content-Length): 200 in a text frame, Via WS kept',
          m.startswith('SIP/2.0 200') and 'SIP/2.0/WS abcdef.invalid' in m, m[:200])
except Exception as e:  # noqa: BLE001
    check('OPTIONS over WS: 200', False, repr(e))

# ---- REGISTER bob over WS, then a call from a UDP phone reaches him over this flow ----
contact = 'sip:bob@abcdef.invalid;transport=ws'
reg = ('REGISTER sip:localhost SIP/2.0\r\nVia: SIP/2.0/WS abcdef.invalid;branch=z9hG4bK%s\r\n'
       'From: <sip:bob@localhost>;tag=%s\r\nTo: <sip:bob@localhost>\r\nCall-ID: %s@ws\r\n'
       'CSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nContact: <%s>;expires=300\r\n'
       'Content-Length: 0\r\n\r\n' % (sc.token(), sc.token(), sc.token(), contact))
s.sendall(frame(1, reg.encode()))
try:
    m = r.sip(want='SIP/2.0')
    check('REGISTER over WS: 200 with the contact', m.startswith('SIP/2.0 200') and contact in m,
          m[:300])
except Exception as e:  # noqa: BLE001
    check('REGISTER over WS: 200', False, repr(e))

# a caller over UDP (this script): INVITE sip:bob@localhost through the proxy
u = sc.udp_socket()
uport = u.getsockname()[1]
inv = sc.invite('127.0.0.1', sip_port, '127.0.0.1', uport, user='bob')
inv = inv.replace(b'sip:bob@127.0.0.1:%d' % sip_port, b'sip:bob@localhost')
u.sendto(inv, ('127.0.0.1', sip_port))
try:
    m = r.sip(timeout=5, want='INVITE')
    check('an INVITE for bob arrives over his WebSocket flow (Request-URI his contact)',
          m.startswith('INVITE ' + contact), m[:200])
    rr = hdr(m, 'Record-Route') or ''
    check('the proxy Record-Routes with transport=ws toward the WebSocket side',
          'transport=ws' in m, rr)
    # answer 486 (busy): the caller gets it back over UDP
    lines = [ln for ln in m.split('\r\n') if re.match(r'(?i)^(via|from|to|call-id|cseq):', ln)]
    lines = [ln + (';tag=wsbob' if ln.lower().startswith('to:') else '') for ln in lines]
    s.sendall(frame(1, ('SIP/2.0 486 Busy Here\r\n' + '\r\n'.join(lines) +
                        '\r\nContent-Length: 0\r\n\r\n').encode()))
    deadline, got = time.time() + 5, None
    u.settimeout(0.5)
    while time.time() < deadline and got is None:
        try:
            d = u.recv(65536).decode(errors='replace')
        except socket.timeout:
            continue
        if d.startswith('SIP/2.0 486'):
            got = d
    check("bob's 486 over WS reaches the UDP caller", got is not None)
    try:
        m = r.sip(timeout=3, want='ACK')
        check('the proxy ACKs the 486 over the WebSocket flow', True)
    except Exception as e:  # noqa: BLE001
        check('the proxy ACKs the 486 over the WebSocket flow', False, repr(e))
except Exception as e:  # noqa: BLE001
    check('an INVITE for bob arrives over his WebSocket flow', False, repr(e))


# ---- a second call, answered: ACK and BYE from the UDP side reach bob over his flow
# through the flow token in the proxy's Record-Route (his contact is *.invalid) ----
def udp_wait(sock, prefix, timeout=5):
    deadline = time.time() + timeout
    sock.settimeout(0.5)
    while time.time() < deadline:
        try:
            d = sock.recv(65536).decode(errors='replace')
        except socket.timeout:
            continue
        if d.startswith(prefix):
            return d
    return None


call_id = sc.token(16) + '@ws2'
inv = sc.invite('127.0.0.1', sip_port, '127.0.0.1', uport, user='bob', call_id=call_id,
                from_tag='caller2')
inv = inv.replace(b'sip:bob@127.0.0.1:%d' % sip_port, b'sip:bob@localhost')
u.sendto(inv, ('127.0.0.1', sip_port))
try:
    m = r.sip(timeout=5, want='INVITE')
    lines = [ln for ln in m.split('\r\n')
             if re.match(r'(?i)^(via|from|to|call-id|cseq|record-route):', ln)]
    lines = [ln + (';tag=wsbob2' if ln.lower().startswith('to:') else '') for ln in lines]
    body = 'v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n'
    s.sendall(frame(1, ('SIP/2.0 200 OK\r\n' + '\r\n'.join(lines) +
                        '\r\nContact: <%s>\r\nContent-Type: application/sdp\r\n'
                        'Content-Length: %d\r\n\r\n%s' % (contact, len(body), body)).encode()))
    ok = udp_wait(u, 'SIP/2.0 200')
    check("bob's 200 over WS reaches the UDP caller", ok is not None)
    rrs = re.findall(r'(?im)^Record-Route:\s*(.*?)\r$', ok or '')
    route = []
    for v in rrs:
        route += [x.strip() for x in sc.split_commas(v)]
    route.reverse()  # §12.1.2: the UAC's route set is the Record-Route reversed
    check('the 200 carries a Record-Route with a ws flow token',
          any(re.search(r'<sip:wss?[0-9a-f]+@', x) for x in route), ' '.join(route))

    def in_dialog(method, cseq):
        return ('%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n'
                'Route: %s\r\nFrom: <sip:nobody@127.0.0.1>;tag=caller2\r\n'
                'To: <sip:bob@localhost>;tag=wsbob2\r\nCall-ID: %s\r\nCSeq: %d %s\r\n'
                'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n' % (
                    method, contact, uport, sc.token(), ', '.join(route), call_id, cseq,
                    method)).encode()
    u.sendto(in_dialog('ACK', 1), ('127.0.0.1', sip_port))
    try:
        m = r.sip(timeout=3, want='ACK')
        check('the caller\'s ACK reaches bob over his flow (Route with the flow token)',
              m.startswith('ACK ' + contact), m[:120])
    except Exception as e:  # noqa: BLE001
        check("the caller's ACK reaches bob over his flow", False, repr(e))
    u.sendto(in_dialog('BYE', 2), ('127.0.0.1', sip_port))
    try:
        m = r.sip(timeout=3, want='BYE')
        check("the caller's BYE reaches bob over his flow", m.startswith('BYE ' + contact),
              m[:120])
        lines = [ln for ln in m.split('\r\n') if re.match(r'(?i)^(via|from|to|call-id|cseq):', ln)]
        s.sendall(frame(1, ('SIP/2.0 200 OK\r\n' + '\r\n'.join(lines) +
                            '\r\nContent-Length: 0\r\n\r\n').encode()))
        check("bob's 200 to the BYE reaches the caller", udp_wait(u, 'SIP/2.0 200') is not None)
    except Exception as e:  # noqa: BLE001
        check("the caller's BYE reaches bob over his flow", False, repr(e))
except Exception as e:  # noqa: BLE001
    check('the second INVITE reaches bob', False, repr(e))

# ping: answered with a pong carrying the same bytes
s.sendall(frame(9, b'hello'))
try:
    op, p = r.next()
    while op in (1, 2):
        op, p = r.next()
    check('ping answered by a pong with its payload', op == 10 and p == b'hello', '%d %r' % (op, p))
except Exception as e:  # noqa: BLE001
    check('ping answered by a pong', False, repr(e))
# a clean close: the server answers with a close 1000
s.sendall(frame(8, struct.pack('!H', 1000)))
closed_with(s, r, 1000, 'our close 1000')

# ---- bad frames and handshakes, each on its own connection ----
for what, data, code in [
        ('an unmasked client frame', frame(1, opt.encode(), mask=False), 1002),
        ('a reserved opcode (3)', frame(3, b'x'), 1002),
        ('a fragmented ping', frame(9, b'x', fin=False), 1002),
        ('a frame of 1 MiB (announced)', frame(1, b'', length=1 << 20)[:14], 1009),
        ('invalid UTF-8 in a text frame', frame(1, b'\xff\xfe SIP'), 1007)]:
    s2, head2, rest2, _ = connect()
    s2.sendall(data)
    closed_with(s2, Reader(s2, rest2), code, what)

s3, head3, _, _ = connect(protocol=None)
check('an Upgrade without the sip subprotocol is refused (HTTP 4xx, no 101)',
      re.match(r'HTTP/1.1 4\d\d', head3) is not None, head3[:80])
s3.close()
s4, head4, _, _ = connect(org='https://evil.example')
check('an Upgrade from an Origin not allowed is refused (HTTP 403)',
      head4.startswith('HTTP/1.1 403'), head4[:80])
s4.close()
# garbage instead of a handshake
g = tcp_connect()
g.sendall(b'\x16\x03\x01\x00\x05hello' + b'\r\n\r\n')
try:
    d = g.recv(4096)
    check('garbage instead of an Upgrade gets an HTTP 400 or a close',
          d == b'' or d.startswith(b'HTTP/1.1 4'), repr(d[:40]))
except socket.timeout:
    check('garbage instead of an Upgrade gets an HTTP 400 or a close', False, 'no answer')
g.close()

# the server still answers OPTIONS on a fresh WebSocket
s5, head5, rest5, _ = connect()
s5.sendall(frame(1, sc.options(host, port, 'x.invalid', 0, transport='WS')))
try:
    check('after all that, a new WebSocket still gets its 200',
          Reader(s5, rest5).sip().startswith('SIP/2.0 200'))
except Exception as e:  # noqa: BLE001
    check('after all that, a new WebSocket still gets its 200', False, repr(e))
s5.close()
sys.exit(1 if fails else 0)
