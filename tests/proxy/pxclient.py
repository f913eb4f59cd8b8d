#!/usr/bin/env python3
"""Raw-socket checks of sipkit serve as a proxy and redirect server.

usage: pxclient.py PHASE PORT SIPKIT DATA_DIR
Phases: register USER CONTACT... (prints the status), errors (404, 480, 482,
483, 416, 420, 407), redirect (302/404/480 of --mode redirect).
Prints "ok: ..." / "FAIL: ..." lines (tests/interop/lib/common.bash counts them).
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop', 'lib'))
from sipclient import Caller, Checks, Conn, Response, UA, st, token as tok  # noqa: E402,F401


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


class Hop:
    """A next hop or callee on a raw UDP socket: receives requests, answers them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.tag = tok(8)

    def recv(self, method=None, timeout=3.0, raw=None):
        """The next request (of that method, and of the call of request raw:
        earlier calls' retransmissions are skipped), as (text, source)."""
        cid = re.search(r'\r\nCall-ID: *([^\r]+)', raw.decode()).group(1) if raw else None
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                return None, None
            text = data.decode('utf-8', 'replace')
            if text.startswith('SIP/2.0'):
                continue
            if cid and '\r\nCall-ID: %s\r\n' % cid not in text:
                continue
            if method is None or text.startswith(method + ' '):
                return text, src
        return None, None

    def answer(self, req, src, status, reason, extra=()):
        head = req.split('\r\n\r\n')[0].split('\r\n')[1:]
        keep = [ln for ln in head if ln.lower().split(':')[0] in ('via', 'from', 'call-id', 'cseq')]
        to = [ln for ln in head if ln.lower().startswith('to:')][0]
        if ';tag=' not in to and status > 100:
            to += ';tag=' + self.tag
        lines = ['SIP/2.0 %d %s' % (status, reason)] + keep[:-2] + [to] + keep[-2:] + list(extra)
        lines.append('Content-Length: 0')
        self.sock.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode(), src)


def route_req(c, ruri, routes):
    raw, _ = c.request('OPTIONS', ruri, extra=['Route: ' + r for r in routes], to_user='x')
    return raw


def phase_routing(port, ck):
    """§16.4 and §16.6 step 6: our Route removed, strict routers both ways."""
    c = Caller(port)
    hop = Hop()
    me = 'sip:127.0.0.1:%d;lr' % port
    c.send(route_req(c, 'sip:far@127.0.0.1:%d' % hop.port, ['<%s>' % me]))
    req, _ = hop.recv('OPTIONS')
    ck('loose routing: our own Route entry is removed, the request goes to the Request-URI',
       req is not None and req.startswith('OPTIONS sip:far@127.0.0.1:%d ' % hop.port)
       and '\r\nroute:' not in req.lower(), req[:200] if req else None)
    # an upstream strict router put our Record-Route URI in the Request-URI
    c.send(route_req(c, me, ['<sip:far@127.0.0.1:%d>' % hop.port]))
    req, _ = hop.recv('OPTIONS')
    ck('from a strict router: the last Route becomes the Request-URI again',
       req is not None and req.startswith('OPTIONS sip:far@127.0.0.1:%d ' % hop.port)
       and '\r\nroute:' not in req.lower(), req[:200] if req else None)
    # a strict router next: it gets its URI as Request-URI, ours goes last in Route
    c.send(route_req(c, 'sip:far@127.0.0.9:5060', ['<sip:127.0.0.1:%d>' % hop.port]))
    req, _ = hop.recv('OPTIONS')
    ok = req is not None and req.startswith('OPTIONS sip:127.0.0.1:%d ' % hop.port)
    route = [ln for ln in (req or '').split('\r\n') if ln.lower().startswith('route:')]
    ck('to a strict router: Request-URI is its Route value, the target goes to the end of Route',
       ok and route == ['Route: <sip:far@127.0.0.9:5060>'], (req or '')[:300])


def phase_responses(port, ck):
    """§16.7: 6xx cancels the others; challenges merged; 503 becomes 500."""
    c = Caller(port)
    a, b = Hop(), Hop()
    st = register(port, 'multi', ['<sip:multi@127.0.0.1:%d>' % a.port,
                                  '<sip:multi@127.0.0.1:%d>' % b.port])
    ck('multi registers two contacts', st is not None and st.status == 200, st_(st))
    # 6xx from one branch while the other rings: CANCEL to it, 603 upstream
    raw, _ = c.request('INVITE', 'sip:multi@localhost')
    c.send(raw)
    ra, sa = a.recv('INVITE', raw=raw)
    rb, sb = b.recv('INVITE', raw=raw)
    ck('parallel fork: both contacts get the INVITE', ra is not None and rb is not None)
    if ra and rb:
        b.answer(rb, sb, 180, 'Ringing')
        time.sleep(0.2)
        a.answer(ra, sa, 603, 'Decline')
        cancel, scan = b.recv('CANCEL', raw=raw)
        ck('a 6xx cancels the other branch (CANCEL to the ringing one)', cancel is not None)
        if cancel:
            b.answer(cancel, scan, 200, 'OK')
            b.answer(rb, sb, 487, 'Request Terminated')
        r = c.final(raw)
        ck('the 6xx goes upstream (not the 487)', r is not None and r.status == 603, st_(r))
        if r:
            c.ack(raw, r)
    # 407 and 401 from two branches: one response upstream with both challenges
    raw, _ = c.request('INVITE', 'sip:multi@localhost')
    c.send(raw)
    ra, sa = a.recv('INVITE', raw=raw)
    rb, sb = b.recv('INVITE', raw=raw)
    if ra and rb:
        a.answer(ra, sa, 407, 'Proxy Authentication Required',
                 ['Proxy-Authenticate: Digest realm="a.example", nonce="na", qop="auth"'])
        b.answer(rb, sb, 401, 'Unauthorized',
                 ['WWW-Authenticate: Digest realm="b.example", nonce="nb", qop="auth"'])
    r = c.final(raw)
    ck('challenges of both branches: one 401/407 upstream',
       r is not None and r.status in (401, 407), st_(r))
    if r:
        pa = r.headers.get('proxy-authenticate', [])
        wa = r.headers.get('www-authenticate', [])
        ck('... carrying both challenges (RFC 3261 §16.7 step 7)',
           any('a.example' in v for v in pa) and any('b.example' in v for v in wa), repr((pa, wa)))
        c.ack(raw, r)
    # 503 from the only branch: 500 upstream
    st2 = register(port, 'single', ['<sip:single@127.0.0.1:%d>' % a.port])
    raw, _ = c.request('INVITE', 'sip:single@localhost')
    c.send(raw)
    ra, sa = a.recv('INVITE', raw=raw)
    if ra:
        a.answer(ra, sa, 503, 'Service Unavailable')
    r = c.final(raw)
    ck('a 503 from downstream becomes 500 upstream (§16.7 step 6)',
       st2 is not None and r is not None and r.status == 500, st_(r))
    if r:
        c.ack(raw, r)

    # 2xx retransmissions from the callee: every one reaches the caller (RFC
    # 6026, §16.7 step 5), which is how a lost 200 or ACK is repaired end to end
    raw, _ = c.request('INVITE', 'sip:single@localhost')
    cid = re.search(rb'\r\nCall-ID: *([^\r]+)', raw).group(1)
    c.send(raw)
    ra, sa = a.recv('INVITE', raw=raw)
    n = 0
    if ra:
        for _ in range(3):
            a.answer(ra, sa, 200, 'OK', ['Contact: <sip:single@127.0.0.1:%d>' % a.port])
            time.sleep(0.3)
        deadline = time.time() + 2
        c.sock.settimeout(0.3)
        while time.time() < deadline:
            try:
                data, _ = c.sock.recvfrom(65535)
            except socket.timeout:
                break
            if data.startswith(b'SIP/2.0 200') and cid in data:
                n += 1
    ck('every retransmission of a 2xx reaches the caller (3 sent, %d received)' % n, n == 3)


def st_(r):
    return '%d %s' % (r.status, r.reason) if r else 'no response'


def main():
    phase, port = sys.argv[1], int(sys.argv[2])
    if phase == 'register':
        r = register(port, sys.argv[3], sys.argv[4:])
        print(r.status if r else 'none')
        return 0
    ck = Checks()
    {'errors': phase_errors, 'auth': phase_auth, 'redirect': phase_redirect,
     'routing': phase_routing, 'responses': phase_responses}[phase](port, ck)
    return 0


if __name__ == '__main__':
    sys.exit(main())
