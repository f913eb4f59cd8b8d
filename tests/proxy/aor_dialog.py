#!/usr/bin/env python3
"""A dialog through sipkit serve with a callee at our own address without a port.

usage: aor_dialog.py ADDR PORT
sipkit listens on ADDR:PORT (not 5060); the callee sits on ADDR:5060 and registers
To sip:x@ADDR with Contact <sip:x@ADDR> (no port: 5060). The INVITE to
sip:x@ADDR:PORT is an AOR of ours (looked up); the ACK for the 2xx and the BYE carry
the callee's Contact sip:x@ADDR as Request-URI and come along our Record-Route: a
remote target (RFC 3261 §12.2), forwarded to ADDR:5060, though the host is ours and
no port is written. Prints "ok: ..." / "FAIL: ..." lines (sipclient.Checks); a busy
ADDR:5060 skips the check with an "ok: ... skipped" line.
"""
import os
import re
import socket
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', 'interop', 'lib'))
from sipclient import Checks, Conn, UA, token as tok  # noqa: E402


def recv_msg(sock, want, timeout=3.0):
    """The next message whose first line starts with want, or None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        text = data.decode('utf-8', 'replace')
        if text.startswith(want):
            return text, src
    return None, None


def headers(text, name):
    out = []
    for ln in text.split('\r\n\r\n')[0].split('\r\n')[1:]:
        if ln.lower().split(':')[0].strip() == name:
            out.append(ln.split(':', 1)[1].strip())
    return out


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    ck = Checks()
    callee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        callee.bind((addr, 5060))
    except OSError as e:
        print('ok: in-dialog check skipped: %s:5060 is busy (%s)' % (addr, e))
        return 0
    conn = Conn((addr, port))
    try:
        r = UA(conn, addr).register('x', contacts=['<sip:x@%s>' % addr], expires=300)
    finally:
        conn.close()
    ck('REGISTER To sip:x@%s, Contact <sip:x@%s> (port 5060 implied)' % (addr, addr),
       r is not None and r.status == 200, r)

    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(('127.0.0.1', 0))
    lport = caller.getsockname()[1]
    call_id, ftag = tok(16), tok(8)
    ruri = 'sip:x@%s:%d' % (addr, port)

    def request(method, uri, cseq, to_tag=None, routes=()):
        to = '<%s>' % ruri + (';tag=' + to_tag if to_tag else '')
        lines = ['%s %s SIP/2.0' % (method, uri),
                 'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport' % (lport, tok(16)),
                 'Max-Forwards: 70',
                 'From: <sip:caller@127.0.0.1:%d>;tag=%s' % (lport, ftag),
                 'To: %s' % to,
                 'Call-ID: %s' % call_id,
                 'CSeq: %d %s' % (cseq, method),
                 'Contact: <sip:caller@127.0.0.1:%d>' % lport]
        lines += ['Route: %s' % r for r in routes]
        lines.append('Content-Length: 0')
        caller.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode(), (addr, port))

    def answer(req, src, status, reason, tag):
        head = req.split('\r\n\r\n')[0].split('\r\n')[1:]
        keep = [ln for ln in head if ln.lower().split(':')[0] in
                ('via', 'record-route', 'from', 'call-id', 'cseq')]
        to = [ln for ln in head if ln.lower().startswith('to:')][0]
        if ';tag=' not in to:
            to += ';tag=' + tag
        lines = ['SIP/2.0 %d %s' % (status, reason)] + keep + [to,
                 'Contact: <sip:x@%s>' % addr, 'Content-Length: 0']
        callee.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode(), src)

    request('INVITE', ruri, 1)
    inv, src = recv_msg(callee, 'INVITE ')
    ck('INVITE %s reached the binding sip:x@%s at %s:5060' % (ruri, addr, addr),
       inv is not None and inv.startswith('INVITE sip:x@%s SIP/2.0' % addr),
       inv.split('\r\n')[0] if inv else 'nothing')
    if not inv:
        return 1
    tag = tok(8)
    answer(inv, src, 200, 'OK', tag)
    ok, _ = recv_msg(caller, 'SIP/2.0 200')
    ck('the caller got the 200', ok is not None)
    if not ok:
        return 1
    # §12.1.2: the caller's route set is the Record-Route in reverse order
    rr = []
    for v in headers(ok, 'record-route'):
        rr += [x.strip() for x in v.split(',')]
    rr.reverse()
    request('ACK', 'sip:x@%s' % addr, 1, tag, rr)
    ack, _ = recv_msg(callee, 'ACK ')
    ck('the ACK for the 2xx (Request-URI sip:x@%s, our Route) reached %s:5060' % (addr, addr),
       ack is not None and ack.startswith('ACK sip:x@%s SIP/2.0' % addr),
       ack.split('\r\n')[0] if ack else 'nothing')
    request('BYE', 'sip:x@%s' % addr, 2, tag, rr)
    bye, src = recv_msg(callee, 'BYE ')
    ck('the BYE (Request-URI sip:x@%s, our Route) reached %s:5060 unchanged' % (addr, addr),
       bye is not None and bye.startswith('BYE sip:x@%s SIP/2.0' % addr),
       bye.split('\r\n')[0] if bye else 'nothing')
    if bye:
        answer(bye, src, 200, 'OK', tag)
        done, _ = recv_msg(caller, 'SIP/2.0 200')
        ck('the caller got the 200 for its BYE', done is not None and 'BYE' in done)
    return 0 if ck.failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
