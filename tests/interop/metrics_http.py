#!/usr/bin/env python3
"""The monitoring endpoints of `sipkit serve --http` against a scripted set of
SIP requests (tests/interop/metrics_http.sh runs this): /metrics is scraped
before and after each phase, and every counter named here must have moved by
exactly the figure the phase says, no more, no less. Then bad HTTP input, and
the SIP side must still answer.

usage: metrics_http.py LIBDIR SIP_PORT HTTP_PORT PASSWORD_PREFIX OUT_METRICS_FILE TLS_PORT

Every check prints "ok: ..." or "FAIL: ..."; nothing waits without a deadline.
Clients never retransmit within a phase's deadline (T1 raised), so that a slow
machine cannot add a request the script did not send.
"""
import json
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, sys.argv[1])
import sipclient  # noqa: E402
from sipclient import Auth, Checks, Conn, Message, UA, answer, recv_request, token  # noqa: E402

sipclient.T1 = 8.0  # one transmission per request: the counts stay what the script sent
SIP_PORT, HTTP_PORT = int(sys.argv[2]), int(sys.argv[3])
PW, OUT, TLS_PORT = sys.argv[4], sys.argv[5], int(sys.argv[6])
SRV = ('127.0.0.1', SIP_PORT)
BASE = 'http://127.0.0.1:%d' % HTTP_PORT
D = 'localhost'
ck = Checks()

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def get(path, timeout=5):
    """(status, body) of a GET; status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(BASE + path, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ''


def scrape():
    st, body = get('/metrics')
    if st != 200:
        ck('/metrics answers 200', False, st)
        return {}
    out = {}
    for line in body.split('\n'):
        if not line or line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            ck('/metrics line parses', False, line)
            continue
        labels = tuple(sorted(LABEL.findall(m.group(2) or '')))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def expect(phase, before, after, want):
    """Every (name, labels) in want moved by exactly its figure."""
    for (name, labels), d in want.items():
        k = (name, labels)
        got = after.get(k, 0) - before.get(k, 0)
        lab = ','.join('%s=%s' % kv for kv in labels)
        ck('%s: %s{%s} moved by %d' % (phase, name, lab, d), got == d,
           'moved by %s (%s -> %s)' % (got, before.get(k), after.get(k)))


def W(name, d, **labels):
    return {key(name, **labels): d}


def merge(*ds):
    out = {}
    for d in ds:
        out.update(d)
    return out


def settle():
    """The counters move on the workers as the answers leave: a scrape right
    after the last answer may come a moment early. Nothing is asserted on time:
    we wait (bounded) until two scrapes 0.2 s apart agree."""
    prev = scrape()
    for _ in range(25):
        time.sleep(0.2)
        cur = scrape()
        if cur.keys() == prev.keys() and all(
                cur[k] == prev[k] for k in cur if not k[0].startswith(
                    ('sipkit_event_loop', 'sipkit_timers'))):
            return cur
        prev = cur
    return prev


def reg(ua, user, auth=None, **kw):
    return ua.register(user, auth=auth, **kw)


# ------------------------------------------------------------ A: three REGISTERs
conn = Conn(SRV, 'UDP')
ua = UA(conn, D)
base = settle()
ck('/metrics parses and has samples', len(base) > 50, len(base))

auths, calls = {}, {}
for user, pw in (('alice', PW + 'alice'), ('bob', PW + 'bob'), ('carol', 'not-the-password')):
    cid = 'reg-%s-%s' % (user, token(8))
    contact = '<sip:%s@127.0.0.1:%d>' % (user, 7000 + len(auths))
    r = reg(ua, user, call_id=cid, cseq=1, contacts=[contact])
    ck('A: %s REGISTER without credentials gets 401' % user, r is not None and r.status == 401,
       r)
    a = Auth(user, pw)
    ck('A: %s takes the challenge' % user, r is not None and a.take(r))
    r = reg(ua, user, auth=a, call_id=cid, cseq=2, contacts=[contact])
    want = 401 if user == 'carol' else 200
    ck('A: %s REGISTER with %s credentials gets %d' % (
        user, 'wrong' if user == 'carol' else 'right', want), r is not None and r.status == want, r)
    auths[user], calls[user] = a, (cid, contact)
after_a = settle()
expect('A', base, after_a, merge(
    W('sipkit_requests_total', 6, method='REGISTER', transport='udp'),
    # the registrar's digest flow: a challenge for each REGISTER without
    # credentials (3), and one more for the wrong password (the 401 that says so)
    W('sipkit_auth_challenges_total', 4),
    W('sipkit_auth_successes_total', 2),
    W('sipkit_auth_failures_total', 1),
    W('sipkit_registrations_failed_total', 1),
    W('sipkit_registrations_created_total', 2),
    W('sipkit_registrations_active', 2),
    W('sipkit_registrations_refreshed_total', 0),
    W('sipkit_responses_sent_total', 4, method='REGISTER', **{'class': '4xx'}),
    W('sipkit_responses_sent_total', 2, method='REGISTER', **{'class': '2xx'}),
    W('sipkit_parse_errors_total', 0, kind='request'),
))

# ------------------------------------------------------------ B: refresh and unregister
cid, contact = calls['alice']
r = reg(ua, 'alice', auth=auths['alice'], call_id=cid, cseq=3, contacts=[contact])
ck('B: alice refreshes (200)', r is not None and r.status == 200, r)
cid, contact = calls['bob']
r = reg(ua, 'bob', auth=auths['bob'], call_id=cid, cseq=3, contacts=[contact], expires=0)
ck('B: bob unregisters (200)', r is not None and r.status == 200, r)
after_b = settle()
expect('B', after_a, after_b, merge(
    W('sipkit_requests_total', 2, method='REGISTER', transport='udp'),
    W('sipkit_auth_challenges_total', 0),
    W('sipkit_auth_successes_total', 2),
    W('sipkit_auth_failures_total', 0),
    W('sipkit_registrations_refreshed_total', 1),
    W('sipkit_registrations_removed_total', 1),
    W('sipkit_registrations_created_total', 0),
    W('sipkit_registrations_active', -1),
))
st, body = get('/api/registrations')
try:
    regs = json.loads(body)
except ValueError:
    regs = None
ck('/api/registrations is JSON (200)', st == 200 and isinstance(regs, list), (st, body[:200]))
regs = regs or []
mine = [x for x in regs if x.get('aor') == 'sip:alice@localhost']
ck('/api/registrations lists alice once, with her contact, source and time left',
   len(mine) == 1 and mine[0].get('contact') == 'sip:alice@127.0.0.1:7000' and
   mine[0].get('source', '').startswith('127.0.0.1:') and 0 < mine[0].get('expires', 0) <= 3600,
   mine)
ck('/api/registrations no longer lists bob, never carol',
   not any(x.get('aor') in ('sip:bob@localhost', 'sip:carol@localhost') for x in regs), regs)

# ------------------------------------------------------------ C: OPTIONS, a 404, parse errors
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(('127.0.0.1', 0))
lport = sock.getsockname()[1]


def ping(i):
    sock.sendto(sipclient.options('127.0.0.1', SIP_PORT, '127.0.0.1', lport, cseq=i), SRV)
    return sipclient.recv_response(sock, '200', timeout=5)


ok = sum(1 for i in range(5) if ping(i + 1) is not None)
ck('C: 5 OPTIONS over UDP get 200', ok == 5, ok)
tcp = Conn(SRV, 'TCP')
br = 'z9hG4bK' + token(12)
lip, lp = tcp.local
opt = ('OPTIONS sip:127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/TCP %s:%d;branch=%s\r\n'
       'Max-Forwards: 70\r\nFrom: <sip:m@example.org>;tag=%s\r\nTo: <sip:127.0.0.1>\r\n'
       'Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
       % (SIP_PORT, lip, lp, br, token(6), token(12))).encode()
r = tcp.transact(opt, br)
ck('C: 1 OPTIONS over TCP gets 200', r is not None and r.status == 200, r)
tcp.close()
# and one over TLS (the server's zero-config certificate: not checked here)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    with socket.create_connection(('127.0.0.1', TLS_PORT), timeout=5) as raw_s, \
            ctx.wrap_socket(raw_s) as ts:
        lip, lp = ts.getsockname()
        ts.sendall(opt.replace(b'SIP/2.0/TCP', b'SIP/2.0/TLS')
                   .replace(b'OPTIONS sip:127.0.0.1:%d' % SIP_PORT,
                            b'OPTIONS sip:127.0.0.1:%d;transport=tls' % TLS_PORT)
                   .replace(br.encode(), br.encode() + b'x'))
        got = b''
        while b'\r\n\r\n' not in got:
            d = ts.recv(4096)
            if not d:
                break
            got += d
    ok = got.startswith(b'SIP/2.0 200')
except OSError as e:
    ok, got = False, e
ck('C: 1 OPTIONS over TLS gets 200', ok, got)


def request(method, ruri, cid, cseq, from_tag, to='<sip:nobody@localhost>', extra=()):
    br = 'z9hG4bK' + token(12)
    lines = ['%s %s SIP/2.0' % (method, ruri),
             'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport' % (lport, br),
             'Max-Forwards: 70', 'From: <sip:caller@example.org>;tag=%s' % from_tag,
             'To: %s' % to, 'Call-ID: %s' % cid, 'CSeq: %d %s' % (cseq, method),
             'Contact: <sip:caller@127.0.0.1:%d>' % lport] + list(extra) + ['Content-Length: 0']
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def final_for(cid, method, timeout=8.0):
    """The final response to cid's method on sock (provisionals collected)."""
    deadline, prov = time.time() + timeout, []
    while time.time() < deadline:
        r = sipclient.recv_response(sock, '', timeout=max(0.05, deadline - time.time()))
        if r is None:
            return None, prov
        if r.hdr('call-id') != cid or (r.cseq() or (0, ''))[1] != method:
            continue
        if r.status < 200:
            prov.append(r)
            continue
        return r, prov
    return None, prov


def ack_non2xx(inv, resp):
    m = Message(inv)
    lines = ['ACK %s SIP/2.0' % m.uri, 'Via: %s' % m.hdr('via'), 'Max-Forwards: 70',
             'From: %s' % m.hdr('from'), 'To: %s' % resp.hdr('to'),
             'Call-ID: %s' % m.hdr('call-id'), 'CSeq: %d ACK' % m.cseq()[0], 'Content-Length: 0']
    sock.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode(), SRV)


cid = 'nobody-' + token(10)
inv = request('INVITE', 'sip:nobody@localhost', cid, 1, token(6))
sock.sendto(inv, SRV)
r, _ = final_for(cid, 'INVITE')
ck('C: INVITE to an unknown user gets 404', r is not None and r.status == 404, r)
if r is not None:
    ack_non2xx(inv, r)
# a request that does not parse (400 back) and a response that does not (dropped)
sock.sendto(b'OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKbad1\r\n'
            b'From: <sip:x@example.org>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: bad-1\r\n'
            b'CSeq: x OPTIONS\r\nContent-Length: 0\r\n\r\n' % lport, SRV)
r = sipclient.recv_response(sock, '4', timeout=5)
ck('C: a request with a bad CSeq gets a 4xx', r is not None and r.status == 400, r)
sock.sendto(b'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKbad2\r\n'
            b'CSeq: nonsense\r\nContent-Length: 0\r\n\r\n', SRV)
after_c = settle()
expect('C', after_b, after_c, merge(
    W('sipkit_requests_total', 5, method='OPTIONS', transport='udp'),
    W('sipkit_requests_total', 1, method='OPTIONS', transport='tcp'),
    W('sipkit_requests_total', 1, method='OPTIONS', transport='tls'),
    W('sipkit_responses_sent_total', 7, method='OPTIONS', **{'class': '2xx'}),
    W('sipkit_connections_accepted_total', 1, transport='tls'),
    W('sipkit_requests_total', 1, method='INVITE', transport='udp'),
    W('sipkit_responses_sent_total', 1, method='INVITE', **{'class': '4xx'}),
    W('sipkit_requests_total', 0, method='ACK', transport='udp'),  # absorbed by its transaction
    W('sipkit_transactions_created_total', 1, role='server'),
    W('sipkit_calls_started_total', 0),
    W('sipkit_parse_errors_total', 1, kind='request'),
    W('sipkit_parse_errors_total', 1, kind='response'),
    W('sipkit_connections_accepted_total', 1, transport='tcp'),
    W('sipkit_requests_total', 0, method='REGISTER', transport='udp'),
))

# ------------------------------------------------------------ D: one call answered, one refused
uas = {}
for user in ('callee', 'busy'):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    uas[user] = s
    a = Auth(user, PW + user)
    c = '<sip:%s@127.0.0.1:%d>' % (user, s.getsockname()[1])
    rcid = 'reg-' + token(8)
    r = reg(ua, user, call_id=rcid, cseq=1, contacts=[c])
    if r is not None and a.take(r):
        r = reg(ua, user, auth=a, call_id=rcid, cseq=2, contacts=[c])
    ck('D: %s registers' % user, r is not None and r.status == 200, r)
before_d = settle()

cid, ftag = 'call-' + token(10), token(6)
inv = request('INVITE', 'sip:callee@localhost', cid, 1, ftag, to='<sip:callee@localhost>')
sock.sendto(inv, SRV)
m, src = recv_request(uas['callee'], 'INVITE', timeout=8)
ck('D: the callee gets the INVITE', m is not None)
ttag = token(6)
if m is not None:
    uas['callee'].sendto(answer(m, 180, 'Ringing', tag=ttag), src)
    uas['callee'].sendto(answer(m, 200, 'OK', tag=ttag, extra=(
        'Contact: <sip:callee@127.0.0.1:%d>' % uas['callee'].getsockname()[1],)), src)
r, prov = final_for(cid, 'INVITE')
ck('D: the caller gets 180 then 200', r is not None and r.status == 200 and
   [p.status for p in prov] == [180], (r, [p.status for p in prov]))
# the worker marks the call answered as it relays the 200, perhaps just after the
# caller has it: poll, bounded
deadline = time.time() + 3
while True:
    st, body = get('/api/calls')
    try:
        live = json.loads(body)
    except ValueError:
        live = None
    if (isinstance(live, list) and any(c.get('call_id') == cid and c.get('state') == 'answered'
                                       for c in live)) or time.time() > deadline:
        break
    time.sleep(0.05)
ck('/api/calls lists the call as answered', st == 200 and isinstance(live, list) and
   [(x.get('call_id'), x.get('state')) for x in live] == [(cid, 'answered')] and
   live[0].get('from') == 'sip:caller@example.org' and live[0].get('to') == 'sip:callee@localhost'
   and live[0].get('age', -1) >= 0, (st, body[:300]))
if r is not None:
    route = ['Route: %s' % v for v in reversed(r.hdrs('record-route'))]
    target = r.contacts()[0][0] if r.contacts() else 'sip:callee@localhost'
    to = r.hdr('to')
    ack = request('ACK', target, cid, 1, ftag, to=to, extra=route)
    sock.sendto(ack, SRV)
    a_m, _ = recv_request(uas['callee'], 'ACK', timeout=8)
    ck('D: the ACK reaches the callee', a_m is not None)
    bye = request('BYE', target, cid, 2, ftag, to=to, extra=route)
    sock.sendto(bye, SRV)
    b_m, bsrc = recv_request(uas['callee'], 'BYE', timeout=8)
    ck('D: the BYE reaches the callee', b_m is not None)
    if b_m is not None:
        uas['callee'].sendto(answer(b_m, 200, 'OK'), bsrc)
    rb, _ = final_for(cid, 'BYE')
    ck('D: the BYE gets 200', rb is not None and rb.status == 200, rb)

cid2 = 'busy-' + token(10)
inv2 = request('INVITE', 'sip:busy@localhost', cid2, 1, token(6), to='<sip:busy@localhost>')
sock.sendto(inv2, SRV)
m, src = recv_request(uas['busy'], 'INVITE', timeout=8)
ck('D: the busy callee gets its INVITE', m is not None)
if m is not None:
    uas['busy'].sendto(answer(m, 486, 'Busy Here', tag=token(6)), src)
r2, _ = final_for(cid2, 'INVITE')
ck('D: the caller gets 486', r2 is not None and r2.status == 486, r2)
if r2 is not None:
    ack_non2xx(inv2, r2)
after_d = settle()
expect('D', before_d, after_d, merge(
    W('sipkit_calls_started_total', 2),
    W('sipkit_calls_answered_total', 1),
    W('sipkit_calls_ended_total', 1),
    W('sipkit_calls_failed_total', 1, code='486', **{'class': '4xx'}),
    W('sipkit_calls_active', 0),
    W('sipkit_call_setup_seconds_count', 1, until='ringing'),
    W('sipkit_call_setup_seconds_count', 1, until='answer'),
    W('sipkit_call_duration_seconds_count', 1),
    W('sipkit_requests_total', 2, method='INVITE', transport='udp'),
    W('sipkit_requests_total', 1, method='ACK', transport='udp'),  # the 2xx's; the 486's absorbed
    W('sipkit_requests_total', 1, method='BYE', transport='udp'),
    W('sipkit_responses_relayed_total', 1, method='INVITE', **{'class': '1xx'}),
    W('sipkit_responses_relayed_total', 1, method='INVITE', **{'class': '2xx'}),
    W('sipkit_responses_relayed_total', 1, method='INVITE', **{'class': '4xx'}),
    W('sipkit_responses_relayed_total', 1, method='BYE', **{'class': '2xx'}),
    W('sipkit_proxied_total', 3),
))
st, body = get('/api/calls')
ck('/api/calls is empty once the calls ended', st == 200 and body.strip() in ('[]', '[\n]'),
   (st, body[:200]))

# ------------------------------------------------------------ E: bad HTTP, then still serving


def raw_http(data, read=True, timeout=5):
    """Send bytes to the HTTP port; the status of the answer, or 0 if the
    connection was closed without one."""
    s = socket.create_connection(('127.0.0.1', HTTP_PORT), timeout=timeout)
    try:
        s.sendall(data)
        buf = b''
        while read and b'\r\n' not in buf:
            got = s.recv(4096)
            if not got:
                break
            buf += got
    except OSError:
        buf = b''
    finally:
        s.close()
    m = re.match(rb'HTTP/1\.[01] (\d{3})', buf)
    return int(m.group(1)) if m else 0


big = raw_http(b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 20000 + b'\r\n\r\n')
ck('E: an oversized header is refused with 431', big == 431, big)
url = raw_http(b'GET /' + b'a' * 20000 + b' HTTP/1.1\r\nHost: x\r\n\r\n')
ck('E: a very long URL is refused with 414', url == 414, url)
junk = raw_http(bytes(range(256)) * 4 + b'\r\n\r\n')
ck('E: garbage bytes are refused with 400', junk == 400, junk)
post = raw_http(b'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')
ck('E: POST gets 405', post == 405, post)
for path, want in (('/health/live', 200), ('/health/ready', 200), ('/health', 200),
                   ('/nope', 404), ('/metrics/../api/stats', 404)):
    st, _ = get(path)
    ck('E: GET %s -> %d' % (path, want), st == want, st)
st, body = get('/api/stats')
try:
    stats = json.loads(body)
except ValueError:
    stats = {}
ck('E: /api/stats is JSON with the registrar counters', st == 200 and
   stats.get('auth_failures') == after_d[key('sipkit_auth_failures_total')] and
   stats.get('bindings') == after_d[key('sipkit_registrations_active')], (st, body[:300]))
ck('E: SIP still answered after the bad HTTP', ping(99) is not None)
final = scrape()
ck('E: /metrics still answers', len(final) > 50, len(final))
# the write-behind reaches the store within its interval (--flush-ms, 1 s): wait
# (bounded) for the queue to be empty and every change so far written
for _ in range(50):
    if final.get(key('sipkit_store_queue_depth')) == 0 and \
            final.get(key('sipkit_store_writes_total'), 0) >= 7:
        break
    time.sleep(0.1)
    final = scrape()
ck('E: the store queue drains and its writes and flushes are counted',
   final.get(key('sipkit_store_queue_depth')) == 0 and
   final.get(key('sipkit_store_writes_total'), 0) >= 7 and
   final.get(key('sipkit_store_flushes_total'), 0) >= 1 and
   final.get(key('sipkit_store_flush_max_seconds'), -1) >= 0,
   [(k, v) for k, v in final.items() if k[0].startswith('sipkit_store')])
with open(OUT, 'w') as f:
    f.write(get('/metrics')[1])
sys.exit(ck.status())
