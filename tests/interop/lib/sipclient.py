"""Small SIP client helpers for the interop tests (library and command line).

    python3 sipclient.py ping HOST PORT [TIMEOUT]   exit 0 if an OPTIONS over UDP gets a 200

As a library: message builders, a response parser, and Checks, which prints
"ok: ..." / "FAIL: ..." lines that the shell scripts count.
"""
import os
import random
import re
import socket
import sys
import time


def rand_token(n=10):
    return ''.join(random.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(n))


def options(host, port, via_host, via_port, transport='UDP', cseq=1, call_id=None,
            branch=None, ruri=None, extra=''):
    call_id = call_id or rand_token(16) + '@interop'
    branch = branch or 'z9hG4bK' + rand_token(12)
    ruri = ruri or 'sip:%s:%d' % (host, port)
    return ('OPTIONS %s SIP/2.0\r\n'
            'Via: SIP/2.0/%s %s:%d;branch=%s;rport\r\n'
            'From: <sip:interop@%s>;tag=%s\r\n'
            'To: <%s>\r\n'
            'Call-ID: %s\r\n'
            'CSeq: %d OPTIONS\r\n'
            'Max-Forwards: 70\r\n'
            '%s'
            'Content-Length: 0\r\n\r\n' % (ruri, transport, via_host, via_port, branch,
                                          via_host, rand_token(8), ruri, call_id, cseq,
                                          extra)).encode()


def invite(host, port, via_host, via_port, user='nobody', cseq=1, call_id=None, branch=None,
           from_tag=None):
    call_id = call_id or rand_token(16) + '@interop'
    branch = branch or 'z9hG4bK' + rand_token(12)
    from_tag = from_tag or rand_token(8)
    body = ('v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n'
            'm=audio 40000 RTP/AVP 0\r\n' % (via_host, via_host))
    # From names the caller's own host and port, as SIPp's does: a caller of
    # another server, whom the proxy does not challenge
    return ('INVITE sip:%s@%s:%d SIP/2.0\r\n'
            'Via: SIP/2.0/UDP %s:%d;branch=%s\r\n'
            'From: <sip:interop@%s:%d>;tag=%s\r\n'
            'To: <sip:%s@%s:%d>\r\n'
            'Call-ID: %s\r\n'
            'CSeq: %d INVITE\r\n'
            'Contact: <sip:interop@%s:%d>\r\n'
            'Max-Forwards: 70\r\n'
            'Content-Type: application/sdp\r\n'
            'Content-Length: %d\r\n\r\n%s' % (user, host, port, via_host, via_port, branch,
                                              via_host, via_port, from_tag, user, host, port, call_id,
                                              cseq, via_host, via_port, len(body),
                                              body)).encode()


class Response:
    """A parsed SIP response (start line, headers by lower-case name, body)."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('utf-8', 'replace').split('\r\n')
        m = re.match(r'SIP/2\.0 (\d{3}) ?(.*)$', lines[0])
        if not m:
            raise ValueError('not a SIP response: %r' % lines[0])
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(':')
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

    def hdr(self, name):
        v = self.headers.get(name.lower())
        return v[0] if v else None

    def to_tag(self):
        m = re.search(r';\s*tag=([^;>\s]+)', self.hdr('to') or '')
        return m.group(1) if m else None

    def cseq(self):
        v = (self.hdr('cseq') or '').split()
        return (int(v[0]), v[1]) if len(v) == 2 and v[0].isdigit() else None


def split_stream(buf):
    """Splits complete SIP messages off a TCP byte stream (framing by
    Content-Length). Returns (messages, rest); a bare CRLF keep-alive is
    returned as the message b'\\r\\n'."""
    msgs = []
    while True:
        if buf.startswith(b'\r\n') and not buf.startswith(b'\r\n\r\n'):
            msgs.append(b'\r\n')
            buf = buf[2:]
            continue
        end = buf.find(b'\r\n\r\n')
        if end < 0:
            return msgs, buf
        head = buf[:end].decode('latin-1')
        m = re.search(r'(?im)^(?:content-length|l)\s*:\s*(\d+)\s*$', head)
        clen = int(m.group(1)) if m else 0
        total = end + 4 + clen
        if len(buf) < total:
            return msgs, buf
        msgs.append(buf[:total])
        buf = buf[total:]


class Checks:
    """Prints "ok: NAME" or "FAIL: NAME (detail)" per check. A check given
    bug="..." is a known sipkit bug: its failure prints "KNOWN-BUG: ..."
    (not counted as a failure unless STRICT_KNOWN_BUGS=1), and its passing
    prints a FAIL asking to drop the bug note, so fixed bugs get noticed."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.strict = os.environ.get('STRICT_KNOWN_BUGS') == '1'

    def __call__(self, name, cond, detail='', bug=None):
        detail = (' (%s)' % detail) if detail else ''
        if bug and not self.strict:
            if cond:
                self.failed += 1
                print('FAIL: %s: passes now, remove its known-bug note "%s"' % (name, bug))
            else:
                print('KNOWN-BUG: %s%s: %s' % (name, detail, bug))
        elif cond:
            self.passed += 1
            print('ok: %s' % name)
        else:
            self.failed += 1
            print('FAIL: %s%s' % (name, detail))
        sys.stdout.flush()
        return cond


def udp_socket(host='127.0.0.1', port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def recv_all(sock, duration, first_timeout=None):
    """Every datagram received within duration seconds, with arrival times."""
    out = []
    end = time.monotonic() + duration
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except socket.timeout:
            return out
        out.append((time.monotonic(), data))


def ping(host, port, timeout):
    s = udp_socket()
    try:
        lport = s.getsockname()[1]
        s.sendto(options(host, port, '127.0.0.1', lport), (host, port))
        s.settimeout(timeout)
        data = s.recv(65535)
        return Response(data).status == 200
    except (OSError, ValueError):
        return False
    finally:
        s.close()


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'ping':
        t = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
        sys.exit(0 if ping(sys.argv[2], int(sys.argv[3]), t) else 1)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
