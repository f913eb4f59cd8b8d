"""The one SIP client of the shell tests (tests/interop/lib): message builders
and parsers, UDP/TCP client flows with RFC 3261 §17.1.2 retransmission, digest
(MD5, SHA-256), a REGISTER user agent, a request-answering peer, `sipkit ctl`
readers, and Checks, which prints the "ok: ..." / "FAIL: ..." lines that
common.bash's py_checks counts. The scenarios stay in their own files
(tests/registrar/regclient.py, tests/proxy/pxclient.py, ...) and import this.

    python3 sipclient.py ping HOST PORT [TIMEOUT]   exit 0 if an OPTIONS over UDP gets a 200

Nothing here waits without a deadline.
"""
import hashlib
import random
import re
import socket
import string
import subprocess
import sys
import time

T1 = 0.5  # RFC 3261 §17.1.1.1
COMPACT = {'i': 'call-id', 'm': 'contact', 'l': 'content-length', 'v': 'via', 'f': 'from',
           't': 'to', 'k': 'supported', 'c': 'content-type', 'e': 'content-encoding',
           's': 'subject'}  # RFC 3261 §7.3.3


def token(n=10):
    return ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


rand_token = token


# ---------------------------------------------------------------- messages

def options(host, port, via_host, via_port, transport='UDP', cseq=1, call_id=None,
            branch=None, ruri=None, extra=''):
    call_id = call_id or token(16) + '@interop'
    branch = branch or 'z9hG4bK' + token(12)
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
                                          via_host, token(8), ruri, call_id, cseq,
                                          extra)).encode()


def invite(host, port, via_host, via_port, user='nobody', cseq=1, call_id=None, branch=None,
           from_tag=None):
    call_id = call_id or token(16) + '@interop'
    branch = branch or 'z9hG4bK' + token(12)
    from_tag = from_tag or token(8)
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


class Message:
    """A parsed SIP request or response: start line, headers by lower-case full
    name (compact forms expanded, folded lines joined; each a list of values in
    order), body. Requests have method and uri, responses status and reason."""

    def __init__(self, raw):
        if isinstance(raw, str):
            raw = raw.encode('utf-8', 'surrogateescape')
        self.raw = raw
        head, _, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('utf-8', 'replace').split('\r\n')
        self.start = lines[0]
        self.method = self.uri = self.status = self.reason = None
        m = re.match(r'SIP/2\.0 (\d{3}) ?(.*)$', lines[0])
        if m:
            self.status, self.reason = int(m.group(1)), m.group(2)
        else:
            m = re.match(r'([A-Za-z]+) (\S+) SIP/2\.0$', lines[0])
            if not m:
                raise ValueError('not a SIP message: %r' % lines[0])
            self.method, self.uri = m.group(1), m.group(2)
        self.headers = {}
        last = None
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and last is not None:
                self.headers[last][-1] += ' ' + line.strip()  # RFC 3261 §7.3.1 folding
                continue
            if ':' not in line:
                continue
            n, v = line.split(':', 1)
            n = n.strip().lower()
            last = COMPACT.get(n, n)
            self.headers.setdefault(last, []).append(v.strip())

    def hdrs(self, name):
        return self.headers.get(name.lower(), [])

    def hdr(self, name):
        h = self.hdrs(name)
        return h[0] if h else None

    def branch(self):
        m = re.search(r';\s*branch=([^;,\s]+)', self.hdr('via') or '')
        return m.group(1) if m else None

    def to_tag(self):
        m = re.search(r';\s*tag=([^;>\s]+)', self.hdr('to') or '')
        return m.group(1) if m else None

    def cseq(self):
        v = (self.hdr('cseq') or '').split()
        return (int(v[0]), v[1]) if len(v) == 2 and v[0].isdigit() else None

    def contacts(self):
        """Contact values as (uri, params dict with lower-case names)."""
        return [parse_contact(item) for value in self.hdrs('contact')
                for item in split_commas(value)]

    def __str__(self):
        return self.start if self.status is None else '%d %s' % (self.status, self.reason)


class Response(Message):
    """A parsed SIP response (ValueError for anything else)."""

    def __init__(self, raw):
        Message.__init__(self, raw)
        if self.status is None:
            raise ValueError('not a SIP response: %r' % self.start)


def to_tag(r):
    return r.to_tag() if r is not None else None


HDR_NAMES = {'via': 'Via', 'record-route': 'Record-Route', 'from': 'From', 'call-id': 'Call-ID',
             'cseq': 'CSeq'}


def answer(req, status, reason, tag=None, keep=('via', 'record-route', 'from', 'call-id', 'cseq'),
           extra=()):
    """The bytes of a response to request req (a Message): its Via, From,
    Call-ID, CSeq (and Record-Route) copied as §8.2.6.2 says, To with tag added
    (status > 100), then the extra header lines."""
    lines = ['SIP/2.0 %d %s' % (status, reason)]
    for name in keep:
        lines += ['%s: %s' % (HDR_NAMES.get(name, name), v) for v in req.hdrs(name)]
    to = req.hdr('to') or ''
    if tag and status > 100 and ';tag=' not in to:
        to += ';tag=' + tag
    lines.append('To: ' + to)
    lines += list(extra)
    if not any(x.lower().startswith('content-length:') for x in extra):
        lines.append('Content-Length: 0')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def recv_request(sock, method=None, timeout=3.0, call_id=None):
    """The next request on UDP socket sock (of that method and Call-ID when
    given; responses and other requests are skipped) as (Message, source), or
    (None, None) at the deadline."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            return None, None
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        try:
            m = Message(data)
        except ValueError:
            continue
        if m.method is None or (method and m.method != method):
            continue
        if call_id and m.hdr('call-id') != call_id:
            continue
        return m, src


def recv_response(sock, status_prefix='', timeout=3.0):
    """The next response on UDP socket sock whose status starts with
    status_prefix ('2', '200', ...), or None at the deadline."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except socket.timeout:
            return None
        try:
            r = Response(data)
        except ValueError:
            continue
        if str(r.status).startswith(status_prefix):
            return r


def split_commas(value):
    """Split a header value at commas outside quotes and <>."""
    parts, cur, quote, angle = [], '', False, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif ch == '<' and not quote:
            angle = True
        elif ch == '>' and not quote:
            angle = False
        if ch == ',' and not quote and not angle:
            parts.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_contact(item):
    m = re.match(r'\s*(?:"[^"]*"\s*|[^<"]*)<([^>]*)>(.*)$', item)
    if m:
        uri, rest = m.group(1), m.group(2)
    else:
        uri, _, rest = item.partition(';')
        rest = ';' + rest if rest else ''
    params = {}
    for p in re.findall(r';\s*([^;=\s]+)(?:\s*=\s*("[^"]*"|[^;]*))?', rest):
        params[p[0].lower()] = p[1].strip()
    return uri.strip(), params


def parse_challenge(value):
    scheme, _, rest = value.strip().partition(' ')
    params = {'scheme': scheme}
    for m in re.finditer(r'([A-Za-z][\w-]*)\s*=\s*("([^"]*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return params


def H(alg, s):
    f = hashlib.sha256 if alg == 'SHA-256' else hashlib.md5
    return f(s.encode()).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce, nc, cnonce, qop='auth'):
    ha1 = H(alg, '%s:%s:%s' % (user, realm, password))
    ha2 = H(alg, '%s:%s' % (method, uri))
    return H(alg, '%s:%s:%s:%s:%s:%s' % (ha1, nonce, nc, cnonce, qop, ha2))


class Auth:
    """Digest state of one user: the last challenge and its nonce-count."""

    def __init__(self, user, password, alg='SHA-256'):
        self.user, self.password, self.alg = user, password, alg
        self.chal = None
        self.nc = 0

    def take(self, resp):
        """Pick our algorithm's challenge from a 401."""
        for v in resp.hdrs('www-authenticate'):
            c = parse_challenge(v)
            if c['scheme'].lower() == 'digest' and c.get('algorithm', 'MD5').upper() == self.alg:
                self.chal = c
                self.nc = 0
                return True
        return False

    def header(self, method, uri, nc=None, password=None, user=None):
        c = self.chal
        if nc is None:
            self.nc += 1
            nc = self.nc
        ncs = '%08x' % nc
        cnonce = token(12)
        resp = digest_response(self.alg, user or self.user, c['realm'], password or self.password,
                               method, uri, c['nonce'], ncs, cnonce)
        h = ('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
             'response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s'
             % (user or self.user, c['realm'], c['nonce'], uri, resp, self.alg, cnonce, ncs))
        if 'opaque' in c:
            h += ', opaque="%s"' % c['opaque']
        return h


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
    """Prints "ok: NAME" or "FAIL: NAME (detail)" per check and counts them;
    exit with ck.status() (1 after any failure)."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, name, cond, detail=''):
        if cond:
            self.passed += 1
            print('ok: %s' % name)
        else:
            self.failed += 1
            print('FAIL: %s%s' % (name, (' (%s)' % (detail,)) if detail != '' else ''))
        sys.stdout.flush()
        return bool(cond)

    def status(self):
        return 0 if self.failed == 0 else 1


# ---------------------------------------------------------------- transport

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


class Conn:
    """One client flow: UDP (with §17.1.2 retransmissions) or a TCP connection."""

    def __init__(self, server, proto='UDP', local_ip='127.0.0.1', local_port=0):
        self.server, self.proto = server, proto.upper()
        if self.proto == 'UDP':
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((local_ip, local_port))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind((local_ip, local_port))
            self.sock.settimeout(5)
            self.sock.connect(server)
            self.buf = b''
        self.local = self.sock.getsockname()

    def close(self):
        self.sock.close()

    def _recv_tcp(self, deadline):
        while True:
            end = self.buf.find(b'\r\n\r\n')
            if end >= 0:
                head = self.buf[:end].decode('utf-8', 'replace')
                m = re.search(r'(?im)^(?:content-length|l)\s*:\s*(\d+)', head)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return msg
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            if not data:
                return None
            self.buf += data

    def transact(self, raw, branch, timeout=6.0):
        """Send a request and return its final Response (None on timeout)."""
        deadline = time.time() + timeout
        interval = T1
        self.sock.sendto(raw, self.server) if self.proto == 'UDP' else self.sock.sendall(raw)
        next_tx = time.time() + interval
        while time.time() < deadline:
            if self.proto == 'UDP':
                wait = max(0.01, min(next_tx, deadline) - time.time())
                self.sock.settimeout(wait)
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    if time.time() >= next_tx:
                        self.sock.sendto(raw, self.server)
                        interval = min(interval * 2, 4.0)
                        next_tx = time.time() + interval
                    continue
            else:
                data = self._recv_tcp(deadline)
                if data is None:
                    return None
            try:
                r = Response(data)
            except ValueError:
                continue
            if branch is not None and r.branch() != branch:
                continue
            if r.status >= 200:
                return r
        return None


class UA:
    """Builds and sends REGISTERs for one domain."""

    def __init__(self, conn, domain, ruri=None):
        self.conn, self.domain = conn, domain
        self.ruri = ruri or 'sip:' + domain

    def register(self, user, contacts=None, expires=None, call_id=None, cseq=1, auth=None,
                 extra=(), ruri=None, to=None, raw_auth=None, ua='regclient/1.0', resend=0):
        """One REGISTER transaction. contacts: list of Contact header values (each
        its own header line). auth: an Auth with a challenge (adds Authorization).
        Returns the final Response or None; with resend=N the same bytes go out N
        more times, one after the other's answer, and the N+1 answers come back."""
        ruri = ruri or self.ruri
        aor = to or 'sip:%s@%s' % (user, self.domain)
        branch = 'z9hG4bK' + token(16)
        lip, lport = self.conn.local
        lines = ['REGISTER %s SIP/2.0' % ruri,
                 'Via: SIP/2.0/%s %s:%d;branch=%s;rport' % (self.conn.proto, lip, lport, branch),
                 'Max-Forwards: 70',
                 'From: <%s>;tag=%s' % (aor, token(8)),
                 'To: <%s>' % aor,
                 'Call-ID: %s' % (call_id or token(20)),
                 'CSeq: %d REGISTER' % cseq]
        for c in contacts or []:
            lines.append('Contact: %s' % c)
        if expires is not None:
            lines.append('Expires: %s' % expires)
        if auth is not None:
            lines.append(auth.header('REGISTER', ruri))
        if raw_auth is not None:
            lines.append(raw_auth)
        if ua:
            lines.append('User-Agent: %s' % ua)
        lines.extend(extra)
        lines.append('Content-Length: 0')
        raw = ('\r\n'.join(lines) + '\r\n\r\n').encode()
        if resend:
            return [self.conn.transact(raw, branch) for _ in range(resend + 1)]
        return self.conn.transact(raw, branch)

    def challenge(self, auth, user=None):
        """Fetch a fresh challenge for auth (a REGISTER without credentials)."""
        r = self.register(user or auth.user, call_id='probe-' + token(12))
        if r is None or r.status != 401 or not auth.take(r):
            return r, False
        return r, True

    def reg_auth(self, auth, user=None, **kw):
        """REGISTER with credentials, fetching a challenge first when there is
        none (or the nonce went stale). The CSeq given is the one sent."""
        if auth.chal is None:
            self.challenge(auth, user)
        r = self.register(user or auth.user, auth=auth if auth.chal else None, **kw)
        if r is not None and r.status == 401:
            if auth.take(r):
                r = self.register(user or auth.user, auth=auth, **kw)
        return r


class Caller:
    """One UDP socket that sends requests and collects every response."""

    def __init__(self, port):
        self.server = ('127.0.0.1', port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.lport = self.sock.getsockname()[1]

    def request(self, method, ruri, extra=(), to_user=None, from_uri=None, max_forwards=70,
                branch=None, call_id=None, cseq=1, to_tag=None, raw_first_via=None):
        branch = branch or 'z9hG4bK' + token(16)
        call_id = call_id or token(20)
        from_uri = from_uri or 'sip:caller@127.0.0.1:%d' % self.lport
        to = '<%s>' % (('sip:%s@localhost' % to_user) if to_user else ruri)
        if to_tag:
            to += ';tag=' + to_tag
        lines = ['%s %s SIP/2.0' % (method, ruri)]
        if raw_first_via:
            lines.append(raw_first_via)
        lines += ['Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport' % (self.lport, branch),
                  'Max-Forwards: %d' % max_forwards,
                  'From: <%s>;tag=%s' % (from_uri, token(8)),
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
        cid = re.search(rb'\r\nCall-ID: *([^\r]+)', raw).group(1).decode()
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
            if r.hdr('call-id') != cid:
                continue  # e.g. a retransmission of an earlier request's final response
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


# ---------------------------------------------------------------- sipkit ctl

BIND_RE = re.compile(r'^  <(?P<uri>[^>]*)>(?P<params>\S*) expires=(?P<exp>-?\d+)'
                     r'(?: q=(?P<q>[\d.]+))? via (?P<via>\S+)'
                     r'(?: instance=(?P<inst>\S+) reg-id=(?P<regid>\d+))?'
                     r'(?: path=(?P<path>.*?))?(?: ua="(?P<ua>.*)")?$')


def ctl_stats(sipkit, data):
    """{counter: int} from sipkit ctl stats."""
    out = subprocess.run([sipkit, 'ctl', 'stats', '--data', data],
                         capture_output=True, text=True, timeout=10).stdout
    return {k: int(v) for k, v in (l.split() for l in out.splitlines() if len(l.split()) == 2)}


def ctl_registrations(sipkit, data):
    """{aor: [binding dict, ...]} in the order listed, plus the total line."""
    out = subprocess.run([sipkit, 'ctl', 'registrations', '--data', data],
                         capture_output=True, text=True, timeout=10).stdout
    regs, aor, total = {}, None, None
    for line in out.splitlines():
        m = re.match(r'^(\d+) bindings$', line)
        if m:
            total = int(m.group(1))
            continue
        if not line.startswith(' '):
            aor = line.strip()
            regs.setdefault(aor, [])
            continue
        m = BIND_RE.match(line)
        if m and aor is not None:
            d = m.groupdict()
            d['exp'] = int(d['exp'])
            d['line'] = line
            regs[aor].append(d)
        elif aor is not None:
            regs[aor].append({'uri': None, 'line': line, 'exp': None, 'params': '', 'q': None,
                              'via': None, 'inst': None, 'regid': None, 'path': None,
                              'ua': None})
    regs['__total__'] = total
    regs['__raw__'] = out
    return regs


def st(r):
    return 'timeout' if r is None else '%d %s' % (r.status, r.reason)


def status_is(r, code):
    return r is not None and r.status == code


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'ping':
        t = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
        sys.exit(0 if ping(sys.argv[2], int(sys.argv[3]), t) else 1)
    print(__doc__, file=sys.stderr)
    sys.exit(2)
