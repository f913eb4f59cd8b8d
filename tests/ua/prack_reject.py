"""What `sipkit phone` answers to INVITEs whose extensions it cannot take
(tests/ua/phone_prack_sipp.sh): raw UDP SIP from this script, checks printed as
ok:/FAIL: lines.

    prack_reject.py HOST PORT_OFF PORT_SUPPORTED PORT_REQUIRED

The three phones run with --100rel off, supported (the default) and required.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop',
                                'lib'))
from sipclient import Checks, invite, options, recv_response, token, udp_socket  # noqa: E402

check = Checks()
host = sys.argv[1]
p_off, p_sup, p_req = (int(a) for a in sys.argv[2:5])
sock = udp_socket()
lport = sock.getsockname()[1]


def ask(port, extra):
    """An INVITE with extra header lines; its final response (ACKed) or None."""
    call_id = token(16) + '@prack'
    branch = 'z9hG4bK' + token(12)
    msg = invite(host, port, '127.0.0.1', lport, user='bob', call_id=call_id, branch=branch)
    msg = msg.replace(b'Max-Forwards: 70\r\n', b'Max-Forwards: 70\r\n' + extra.encode(), 1)
    sock.sendto(msg, (host, port))
    r = recv_response(sock, '', 3.0)
    while r is not None and r.status < 200:
        r = recv_response(sock, '', 3.0)
    if r is not None:
        # the ACK of a non-2xx final: same branch, the response's To (§17.1.1.3)
        ack = ('ACK sip:bob@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n'
               'From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n'
               'Content-Length: 0\r\n\r\n' % (host, port, lport, branch, r.hdr('from'),
                                              r.hdr('to'), call_id))
        sock.sendto(ack.encode(), (host, port))
    return r


def st(r):
    return r.status if r is not None else None


r = ask(p_off, 'Require: 100rel\r\nSupported: 100rel\r\n')
check('--100rel off: Require: 100rel gets 420', st(r) == 420, st(r))
check('--100rel off: 420 says Unsupported: 100rel',
      r is not None and (r.hdr('unsupported') or '').lower() == '100rel',
      r and r.hdr('unsupported'))

r = ask(p_sup, 'Require: 100rel, x-frobnicate\r\nSupported: 100rel\r\n')
check('Require of an unknown option gets 420', st(r) == 420, st(r))
check('420 names only what we lack (Unsupported: x-frobnicate)',
      r is not None and (r.hdr('unsupported') or '') == 'x-frobnicate',
      r and r.hdr('unsupported'))

r = ask(p_sup, 'Supported: timer\r\nSession-Expires: 30\r\n')
check('Session-Expires: 30 gets 422 (RFC 4028 §9)', st(r) == 422, st(r))
check('422 carries Min-SE: 90', r is not None and r.hdr('min-se') == '90', r and r.hdr('min-se'))

r = ask(p_sup, 'Session-Expires: never\r\n')
check('a malformed Session-Expires gets 400', st(r) == 400, st(r))

r = ask(p_req, 'Supported: timer\r\n')
check('--100rel required: an INVITE without Supported: 100rel gets 421', st(r) == 421, st(r))
check('421 says Require: 100rel', r is not None and r.hdr('require') == '100rel',
      r and r.hdr('require'))

# OPTIONS: what the phone advertises
for port, name, rel in ((p_sup, 'supported', True), (p_off, 'off', False)):
    sock.sendto(options(host, port, '127.0.0.1', lport), (host, port))
    r = recv_response(sock, '2', 3.0)
    sup = (r.hdr('supported') or '') if r else ''
    allow = (r.hdr('allow') or '') if r else ''
    check('--100rel %s: OPTIONS Supported %s 100rel, has timer (%s)'
          % (name, 'has' if rel else 'lacks', sup),
          r is not None and ('100rel' in sup) == rel and 'timer' in sup)
    check('--100rel %s: Allow %s PRACK' % (name, 'has' if rel else 'lacks'),
          r is not None and ('PRACK' in allow) == rel, allow)

# a PRACK for a dialog the phone does not have: 481
prack = ('PRACK sip:bob@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n'
         'From: <sip:x@127.0.0.1>;tag=%s\r\nTo: <sip:bob@%s>;tag=nosuch\r\n'
         'Call-ID: %s@prack\r\nCSeq: 2 PRACK\r\nRAck: 1 1 INVITE\r\nMax-Forwards: 70\r\n'
         'Content-Length: 0\r\n\r\n' % (host, p_sup, lport, token(12), token(8), host, token(16)))
sock.sendto(prack.encode(), (host, p_sup))
r = recv_response(sock, '', 3.0)
check('a PRACK for no dialog gets 481', st(r) == 481, st(r))
sys.exit(check.status())
