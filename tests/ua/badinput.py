"""Bad input for a running `sipkit phone` (tests/ua/phone_badinput.sh): raw UDP
SIP and RTP from this script, checks printed as ok:/FAIL: lines.

    badinput.py PHONE_HOST PHONE_SIP_PORT PHONE_EVENT_LOG

The phone answers calls at once (--auto-answer 0) and registers nowhere.
"""
import json
import math
import os
import random
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop',
                                'lib'))
from sipclient import Checks, Response, rand_token, options, udp_socket  # noqa: E402

check = Checks()
host, port, evlog = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sip = udp_socket()
lport = sip.getsockname()[1]
rng = random.Random(4733)


def sdp(media_line, rtp_port=40000, extra=''):
    return ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n'
            '%s\r\n%s' % (media_line.replace('PORT', str(rtp_port)), extra))


class Dialog:
    """One INVITE from us: the request, the responses, ACK and BYE."""

    def __init__(self, body):
        self.call_id = rand_token(16) + '@badinput'
        self.tag = rand_token(8)
        self.branch = 'z9hG4bK' + rand_token(12)
        self.ruri = 'sip:bob@%s:%d' % (host, port)
        self.to_tag = None
        self.contact = self.ruri
        self.body = body

    def head(self, method, ruri, branch, cseq, to_tag=None, extra=''):
        return ('%s %s SIP/2.0\r\n'
                'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n'
                'From: <sip:badinput@127.0.0.1>;tag=%s\r\n'
                'To: <sip:bob@%s:%d>%s\r\n'
                'Call-ID: %s\r\n'
                'CSeq: %d %s\r\n'
                'Max-Forwards: 70\r\n'
                'Contact: <sip:badinput@127.0.0.1:%d>\r\n%s' %
                (method, ruri, lport, branch, self.tag, host, port,
                 ';tag=' + to_tag if to_tag else '', self.call_id, cseq, method, lport, extra))

    def invite(self):
        body = self.body.encode()
        msg = self.head('INVITE', self.ruri, self.branch, 1,
                        extra='Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n'
                        % len(body)).encode() + body
        sip.sendto(msg, (host, port))
        return self.final()

    def final(self, timeout=5.0, method='INVITE'):
        """The final response to our request (provisionals skipped), or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            sip.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = sip.recv(65535)
            except socket.timeout:
                break
            try:
                r = Response(data)
            except ValueError:
                continue  # a request to us (none expected) or junk
            if r.cseq() is None or r.cseq()[1] != method or r.status < 200:
                continue
            if method == 'INVITE':
                self.to_tag = r.to_tag()
                m = re.search(r'<([^>]+)>', r.hdr('contact') or '')
                if m:
                    self.contact = m.group(1)
            return r
        return None

    def ack(self, status):
        # §17.1.1.3: a non-2xx is ACKed in its transaction; a 2xx with a new one
        if status >= 300:
            msg = self.head('ACK', self.ruri, self.branch, 1, self.to_tag)
        else:
            msg = self.head('ACK', self.contact, 'z9hG4bK' + rand_token(12), 1, self.to_tag)
        sip.sendto((msg + 'Content-Length: 0\r\n\r\n').encode(), (host, port))

    def bye(self):
        msg = self.head('BYE', self.contact, 'z9hG4bK' + rand_token(12), 2, self.to_tag)
        sip.sendto((msg + 'Content-Length: 0\r\n\r\n').encode(), (host, port))
        return self.final(method='BYE')


def ping(what):
    sip.sendto(options(host, port, '127.0.0.1', lport), (host, port))
    d = Dialog('')
    r = d.final(method='OPTIONS')
    check('%s: the phone still answers OPTIONS with 200' % what, r is not None and r.status == 200,
          'got %s' % (r.status if r else 'nothing'))


# ---- SIP: bad SDP, video only, unknown dialog, garbage
bad = sdp('m=audio notaport RTP/AVP 0')
d = Dialog(bad)
r = d.invite()
check('malformed SDP: 400', r is not None and r.status == 400,
      'got %s' % (r.status if r else 'no final response'))
if r is not None:
    d.ack(r.status)
    check('malformed SDP: the reason starts "Bad SDP" (%s)' % r.reason,
          r.reason.startswith('Bad SDP'), r.reason)
    check('malformed SDP: the reason names the line', re.search(r'line 6\b', r.reason) is not None,
          r.reason)

d = Dialog(sdp('m=video PORT RTP/AVP 96', extra='a=rtpmap:96 H264/90000\r\n'))
r = d.invite()
check('SDP with only video: 488', r is not None and r.status == 488,
      'got %s' % (r.status if r else 'no final response'))
if r is not None:
    d.ack(r.status)

d = Dialog('')
d.to_tag = rand_token(8)
r = d.bye()
check('BYE for an unknown dialog: 481', r is not None and r.status == 481,
      'got %s' % (r.status if r else 'nothing'))

garbage = [b'\x00' * 10, bytes(rng.getrandbits(8) for _ in range(1000)), b'\r\n\r\n',
           b'INVITE sip:bob@x SIP/2.0\r\n\r\n', b'SIP/2.0 200 OK\r\n\r\n',
           b'OPTIONS sip:bob@x SIP/2.0\r\nContent-Length: 99999\r\n\r\nabc',
           b'BYE \xff\xfe SIP/2.0\r\nVia: \x00\r\n\r\n', bytes(rng.getrandbits(8) for _ in range(9000))]
for g in garbage:
    sip.sendto(g, (host, port))
ping('after %d garbage datagrams' % len(garbage))


# ---- A call, and garbage to its RTP and RTCP ports
def ulaw(x):
    """G.711 mu-law of a 16-bit sample."""
    sign = 0
    if x < 0:
        x, sign = -x, 0x80
    x = min(x, 32635) + 0x84
    exp, mask = 7, 0x4000
    while exp > 0 and not x & mask:
        exp, mask = exp - 1, mask >> 1
    return ~(sign | exp << 4 | (x >> (exp + 3)) & 0x0F) & 0xFF


tone = bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000))
rtp = udp_socket()
rtcp = udp_socket(port=rtp.getsockname()[1] + 1) if rtp.getsockname()[1] % 2 == 0 else None
if rtcp is None:  # want an even port and the next one
    rtp.close()
    for _ in range(50):
        rtp = udp_socket()
        p = rtp.getsockname()[1]
        try:
            rtcp = udp_socket(port=p + 1)
            break
        except OSError:
            rtp.close()
rtp_port = rtp.getsockname()[1]
ssrc = rng.getrandbits(32)
seq = rng.getrandbits(16)
ts = rng.getrandbits(32)
sent = 0
received = []  # (time, packet) from the phone
rtp.setblocking(False)


def run_media(seconds, dest=None, pt=0, ptime=20):
    """Sends PCMU packets of the tone for that long; collects what comes."""
    global seq, ts, sent
    t0 = time.monotonic()
    k = 0
    frame = 8 * ptime
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            return
        due = t0 + k * ptime / 1000.0
        if now >= due:
            off = (ts % 8000)
            payload = (tone + tone)[off:off + frame]
            hdr = struct.pack('!BBHII', 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            rtp.sendto(hdr + payload, dest or ph_rtp)
            seq, ts, sent, k = seq + 1, ts + frame, sent + 1, k + 1
        try:
            while True:
                received.append((time.monotonic(), rtp.recv(2048)))
        except BlockingIOError:
            pass
        time.sleep(0.002)


# ---- Offers at the edge of what the phone carries: each call must have audio
def short_call(label, media, extra, pt, ptime, want_ptime):
    global received
    dd = Dialog(sdp(media, rtp_port, extra))
    rr = dd.invite()
    if not check('%s: 200' % label, rr is not None and rr.status == 200,
                 'got %s' % (rr.status if rr else 'no final response')):
        return
    dd.ack(200)
    body = rr.body.decode('utf-8', 'replace')
    mp = re.search(r'(?m)^a=ptime:(\d+)', body)
    check('%s: the answer asks for ptime %d (got %s)' % (label, want_ptime, mp.group(1) if mp else None),
          mp is not None and int(mp.group(1)) == want_ptime)
    mm = re.search(r'(?m)^m=audio (\d+) ', body)
    received = []
    run_media(1.0, (host, int(mm.group(1)) if mm else 9), pt, ptime)
    check('%s: the phone sends RTP (%d packets in 1 s)' % (label, len(received)),
          len(received) >= 5)
    dd.bye()


# RFC 3264 §6.1: ptime is the offerer's wish; one we cannot packetise (over 60 ms)
# is answered with our own
short_call('an offer with a=ptime:100', 'm=audio PORT RTP/AVP 0', 'a=ptime:100\r\n', 0, 100, 20)
short_call('PCMU on dynamic payload type 96', 'm=audio PORT RTP/AVP 96',
           'a=rtpmap:96 PCMU/8000\r\n', 96, 20, 20)


d = Dialog(sdp('m=audio PORT RTP/AVP 0 101', rtp_port,
               'a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n'))
r = d.invite()
ok = check('a good INVITE: 200', r is not None and r.status == 200,
           'got %s' % (r.status if r else 'no final response'))
if not ok:
    sys.exit(0)
d.ack(200)
body = r.body.decode('utf-8', 'replace')
m = re.search(r'(?m)^m=audio (\d+) ', body)
c = re.search(r'(?m)^c=IN IP4 (\S+)', body)
a = re.search(r'(?m)^a=rtcp:(\d+)', body)
ph_rtp = (c.group(1) if c else host, int(m.group(1)) if m else 0)
ph_rtcp = (ph_rtp[0], int(a.group(1)) if a else ph_rtp[1] + 1)
check('the 200 carries an SDP answer with an audio port', m is not None, body[:200])

sent = 0
received = []
run_media(1.5)
before = len(received)
h = struct.pack('!BBHII', 0x80, 0, 1, 2, 3)
bad_rtp = [
    struct.pack('!BBHII', 0x40, 0, seq, ts, ssrc) + b'\xff' * 160,  # version 1
    struct.pack('!BBHII', 0x8F, 0, seq, ts, ssrc) + b'\x00' * 8,   # 15 CSRCs, room for 2
    h[:7],                                                          # a truncated header
    bytes([rng.getrandbits(6) | 0xC0]) + bytes(rng.getrandbits(8) for _ in range(1399)),
]
for p in bad_rtp:
    rtp.sendto(p, ph_rtp)
bad_rtcp = [b'\x00' * 4, bytes([0x81, 200, 0xFF, 0xFF]) + b'\x00' * 8, b'\xff' * 300,
            bytes(rng.getrandbits(8) for _ in range(500)), b'']
for p in bad_rtcp:
    rtcp.sendto(p, ph_rtcp)
mark = time.monotonic()
run_media(2.5)
after = [t for t, _ in received if t > mark + 0.5]
check('RTP came from the phone before the garbage (%d packets)' % before, before > 40)
check('RTP still comes from the phone after the garbage (%d packets in the last 2 s)'
      % len(after), len(after) > 80)
ok_pk = [p for _, p in received if len(p) >= 12 and p[0] >> 6 == 2 and p[1] & 0x7F == 0]
check('the phone sends PCMU RTP (%d of %d packets)' % (len(ok_pk), len(received)),
      len(ok_pk) >= len(received) - 10 and ok_pk)
ping('during the call, after the RTP garbage')
r = d.bye()
check('BYE: 200', r is not None and r.status == 200, 'got %s' % (r.status if r else 'nothing'))


def hungup_event(n, timeout=10.0):
    """The phone's nth hungup event, once it is there."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(evlog, encoding='utf-8') as f:
                hung = [e for e in map(json.loads, f) if e.get('event') == 'hungup']
            if len(hung) >= n:
                return hung[n - 1]
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return None


e = hungup_event(3)  # after the two short calls
check('the phone reports the hang-up', e is not None)
q = (e or {}).get('quality') or {}
rx = q.get('received') or {}
bp = q.get('bad_packets')
check('the hungup report counts bad packets (bad_packets %s, %d bad RTP sent)' % (bp, len(bad_rtp)),
      isinstance(bp, int) and bp >= len(bad_rtp))
check('the hungup report: received %s of our %d good packets, 0 lost' % (rx.get('packets'), sent),
      isinstance(rx.get('packets'), int) and rx.get('packets') >= sent - 5 and rx.get('lost') == 0,
      json.dumps(rx)[:200])
check('the hungup report: by remote', (e or {}).get('by') == 'remote', (e or {}).get('by'))
