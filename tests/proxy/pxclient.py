#!/usr/bin/env python3
"""Raw-socket checks of sipkit serve as a proxy and redirect server.

usage: pxclient.py PHASE PORT SIPKIT DATA_DIR
Phases: register USER CONTACT... (prints the status), errors (404, 480, 482,
483, 416, 420, 407), redirect (302/404/480 of --mode redirect).
Prints "ok: ..." / "FAIL: ..." lines (tests/interop/lib/common.bash counts them).
"""
import os
import random
import socket
import string
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'registrar'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop', 'lib'))
from regclient import Conn, UA  # noqa: E402
from sipclient import Checks, Response  # noqa: E402


def tok(n=10):
    return ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class Caller:
    """One UDP socket that sends requests and collects every response."""

    def __init__(self, port):
        self.server = ('127.0.0.1', port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.lport = self.sock.getsockname()[1]

    def request(self, method, ruri, extra=(), to_user=None, from_uri=None, max_forwards=70,
                branch=None, call_id=None, cseq=1, to_tag=None, raw_first_via=None):
        branch = branch or 'z9hG4bK' + tok(16)
        call_id = call_id or tok(20)
        from_uri = from_uri or 'sip:caller@127.0.0.1:%d' % self.lport
        to = '<%s>' % (('sip:%s@localhost' % to_user) if to_user else ruri)
        if to_tag:
            to += ';tag=' + to_tag
        lines = ['%s %s SIP/2.0' % (method, ruri)]
        if raw_first_via:
            lines.append(raw_first_via)
        lines += ['Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport' % (self.lport, branch),
                  'Max-Forwards: %d' % max_forwards,
                  'From: <%s>;tag=%s' % (from_uri, tok(8)),
                  'To: %s' % to,
                  'Call-ID: %s' % call_id,
                  'CSeq: %d %s' % (cseq, method),
                  'Contact: <sip:caller@127.0.0.1:%d>' % self.lport]
        lines += list(extra)
        lines.append('Content-Length: 0')
        raw = ('\r\n'.join(lines) + '\r\n\r\n').encode()
        return raw, branch

    def send(self, raw, dst=None):
        self.sock.sendto(raw, dst or self.server)

    def final(self, raw, timeout=4.0):
        """Send raw and wait for its final response (retransmitting at 500 ms)."""
        self.send(raw)
        deadline = time.time() + timeout
        nxt = time.time() + 0.5
        provisional = []
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, min(nxt, deadline) - time.time()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                if time.time() >= nxt:
                    self.send(raw)
                    nxt = time.time() + 0.5
                continue
            try:
                r = Response(data)
            except ValueError:
                continue
            if r.status < 200:
                provisional.append(r)
                continue
            r.provisional = provisional
            return r
        return None

    def ack(self, invite_raw, resp):
        """The ACK for a non-2xx final response (§17.1.1.3)."""
        lines = invite_raw.decode().split('\r\n')
        out = ['ACK ' + lines[0].split(' ')[1] + ' SIP/2.0']
        for ln in lines[1:]:
            low = ln.lower()
            if low.startswith('via:') and not any(o.lower().startswith('ack') for o in out[1:]):
                out.append(ln)
            elif low.startswith(('from:', 'call-id:', 'max-forwards:')):
                out.append(ln)
            elif low.startswith('cseq:'):
                out.append('CSeq: %s ACK' % ln.split()[1])
            elif low.startswith('to:'):
                out.append('To: ' + resp.hdr('to'))
        out.append('Content-Length: 0')
        # only the first Via (ours) goes into the ACK
        vias = [i for i, ln in enumerate(out) if ln.lower().startswith('via:')]
        for i in reversed(vias[1:]):
            del out[i]
        self.send(('\r\n'.join(out) + '\r\n\r\n').encode())


def st(r):
    return '%d %s' % (r.status, r.reason) if r else 'no response'


def register(port, user, contacts, expires=300):
    c = Conn(('127.0.0.1', port))
    try:
        r = UA(c, 'localhost').register(user, contacts=contacts, expires=expires)
    finally:
        c.close()
    return r


def call(c, ck, name, ruri, want, reason_has=None, **kw):
    raw, _ = c.request('INVITE', ruri, **kw)
    r = c.final(raw)
    ok = r is not None and r.status == want
    if ok and reason_has:
        ok = any(k.lower() in r.reason.lower() for k in reason_has)
    ck(name, ok, st(r))
    if r is not None and r.status >= 300:
        c.ack(raw, r)
    return r


def phase_errors(port, ck):
    c = Caller(port)
    call(c, ck, 'INVITE for an unknown user: 404', 'sip:nobody@localhost', 404)
    call(c, ck, 'INVITE for a known user with no binding: 480', 'sip:henry@localhost', 480)
    r = call(c, ck, 'Max-Forwards 0 to a user: 483', 'sip:nobody@localhost', 483, max_forwards=0)
    call(c, ck, 'tel: Request-URI: 416', 'tel:+15551234567', 416, to_user='x')
    r = call(c, ck, 'Proxy-Require with an unknown option: 420', 'sip:bob@localhost', 420,
             extra=['Proxy-Require: sipkit-never-heard-of-this'])
    ck('420 lists the option in Unsupported',
       r is not None and 'sipkit-never-heard-of-this' in (r.hdr('unsupported') or ''),
       r.hdr('unsupported') if r else None)
    r = call(c, ck, 'malformed Route: 400 naming Route', 'sip:bob@localhost', 400,
             reason_has=['Route'], extra=['Route: <sip:127.0.0.1:1;lr'])

    # §16.3 step 4 / RFC 5393: the proxy forwards to a next hop (us, on a socket)
    # that sends the request straight back unchanged: 482 Loop Detected
    hop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hop.bind(('127.0.0.1', 0))
    hop.settimeout(3)
    hport = hop.getsockname()[1]
    raw, _ = c.request('OPTIONS', 'sip:far@127.0.0.1:%d' % hport)
    c.send(raw)
    try:
        fwd, _ = hop.recvfrom(65535)
    except socket.timeout:
        fwd = None
    ck('a request for another host is forwarded to it', fwd is not None and
       fwd.startswith(b'OPTIONS sip:far@127.0.0.1:%d SIP/2.0' % hport), fwd[:80] if fwd else None)
    if fwd:
        head = fwd.decode()
        ck('forwarded request: our Via on top with a z9hG4bK branch',
           head.split('\r\n')[1].startswith('Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK' % port),
           head.split('\r\n')[1])
        ck('forwarded request: Max-Forwards decremented to 69', '\r\nMax-Forwards: 69\r\n' in head)
        ck('forwarded request: no Record-Route on OPTIONS', 'record-route' not in head.lower())
        # the loop: the hop sends it back with its own Via added
        looped = fwd.replace(b'\r\nVia:', b'\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKhop%s\r\nVia:'
                             % (hport, tok(8).encode()), 1)
        hop.sendto(looped, ('127.0.0.1', port))
        try:
            data, _ = hop.recvfrom(65535)
            r = Response(data)
        except (socket.timeout, ValueError):
            r = None
        ck('the request coming back unchanged gets 482', r is not None and r.status == 482, st(r))
        # a 200 from the hop reaches the caller through the proxy, our Via removed
        resp = 'SIP/2.0 200 OK\r\n' + '\r\n'.join(
            ln for ln in head.split('\r\n\r\n')[0].split('\r\n')[1:]
            if ln.lower().split(':')[0] in ('via', 'from', 'to', 'call-id', 'cseq')) + \
            '\r\nContent-Length: 0\r\n\r\n'
        hop.sendto(resp.encode(), ('127.0.0.1', port))
        c.sock.settimeout(3)
        try:
            data, _ = c.sock.recvfrom(65535)
            r = Response(data)
        except (socket.timeout, ValueError):
            r = None
        ck('the next hop\'s 200 reaches the caller', r is not None and r.status == 200, st(r))
        ck('... with only the caller\'s Via', r is not None and len(r.headers.get('via', [])) == 1
           and 'z9hG4bKsk' not in r.hdr('via'), r.headers.get('via') if r else None)
    hop.close()


def phase_auth(port, ck):
    """--proxy-auth on: our users prove who they are; relaying needs a user too."""
    c = Caller(port)
    r = call(c, ck, 'INVITE from our user without credentials: 407', 'sip:bob@localhost', 407,
             from_uri='sip:alice@localhost')
    chal = r.headers.get('proxy-authenticate', []) if r else []
    ck('407 carries a Proxy-Authenticate challenge with qop', any('qop="auth"' in v for v in chal),
       chal)
    call(c, ck, 'INVITE from another domain to our user: no challenge (404, nobody there)',
         'sip:nobody@localhost', 404, from_uri='sip:someone@elsewhere.example')
    call(c, ck, 'relaying to another domain needs credentials: 407', 'sip:x@127.0.0.2:5999', 407,
         from_uri='sip:someone@elsewhere.example')


def phase_redirect(port, ck):
    c = Caller(port)
    r = call(c, ck, 'redirect: INVITE for a registered user gets 302', 'sip:kate@localhost', 302)
    cts = r.headers.get('contact', []) if r else []
    ck('302 lists both bindings', len(cts) == 2, cts)
    ck('302 keeps q (0.8) and a remaining expires',
       any('q=0.8' in v for v in cts) and all('expires=' in v for v in cts), cts)
    call(c, ck, 'redirect: unknown user gets 404', 'sip:nobody@localhost', 404)
    call(c, ck, 'redirect: known user with no binding gets 480', 'sip:henry@localhost', 480)


def main():
    phase, port = sys.argv[1], int(sys.argv[2])
    if phase == 'register':
        r = register(port, sys.argv[3], sys.argv[4:])
        print(r.status if r else 'none')
        return 0
    ck = Checks()
    {'errors': phase_errors, 'auth': phase_auth, 'redirect': phase_redirect}[phase](port, ck)
    return 0


if __name__ == '__main__':
    sys.exit(main())
