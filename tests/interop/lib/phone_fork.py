"""A forking far end for sipkit phone (RFC 3261 §13.2.2.4), played by this script over UDP.

    python3 phone_fork.py SIPKIT

The phone calls us; we answer the INVITE with a 180 and a 200 from one fork
(To tag A) and then a 200 from a second fork (To tag B), as a forking proxy
would pass them on. The phone must ACK both 2xx, keep the call with A, hang
up B with a BYE, send its RTP to A's SDP address only, ACK a retransmitted
200 of A again, and end the call with a BYE to A. Prints ok:/FAIL: lines.
"""
import json
import os
import re
import select
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sipclient import Checks, rand_token  # noqa: E402


def hdr(msg, name):
    m = re.search(r'^%s:\s*(.*?)\r$' % name, msg, re.M | re.I)
    return m.group(1) if m else ''


def to_tag(msg):
    m = re.search(r';tag=([^;>\s]+)', hdr(msg, 'To'))
    return m.group(1) if m else ''


class Peer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.rtp_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp_a.bind(('127.0.0.1', 0))
        self.rtp_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp_b.bind(('127.0.0.1', 0))
        self.got = []  # SIP requests received: (text, addr)

    def recv(self, timeout):
        """The next SIP request within timeout, or None."""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.sock], [], [], max(0, end - time.time()))
            if not r:
                break
            data, addr = self.sock.recvfrom(65535)
            text = data.decode('latin-1')
            if text.startswith('SIP/2.0'):
                continue
            self.got.append((text, addr))
            return text, addr
        return None, None

    def wait_for(self, pred, timeout):
        end = time.time() + timeout
        while time.time() < end:
            text, addr = self.recv(end - time.time())
            if text and pred(text):
                return text, addr
        return None, None

    def respond(self, req, addr, code, reason, tag, body=None, contact=True):
        lines = ['SIP/2.0 %d %s' % (code, reason)]
        for v in re.findall(r'^Via:\s*(.*?)\r$', req, re.M | re.I):
            lines.append('Via: ' + v)
        lines.append('From: ' + hdr(req, 'From'))
        to = hdr(req, 'To')
        if tag and ';tag=' not in to:
            to += ';tag=' + tag
        lines.append('To: ' + to)
        lines.append('Call-ID: ' + hdr(req, 'Call-ID'))
        lines.append('CSeq: ' + hdr(req, 'CSeq'))
        if contact:
            lines.append('Contact: <sip:bob-%s@127.0.0.1:%d>' % (tag, self.port))
        if body:
            lines.append('Content-Type: application/sdp')
        body = body or ''
        lines.append('Content-Length: %d' % len(body))
        msg = '\r\n'.join(lines) + '\r\n\r\n' + body
        self.sock.sendto(msg.encode(), addr)
        return msg

    def sdp(self, port):
        return ('v=0\r\no=bob 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n'
                't=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n'
                'a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n' % port)


def count_packets(sock, duration):
    n = 0
    end = time.time() + duration
    sock.setblocking(False)
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], max(0, end - time.time()))
        if not r:
            continue
        try:
            while True:
                sock.recv(2048)
                n += 1
        except BlockingIOError:
            pass
    return n


def cancel_race(phone, peer, check, read_events, events):
    """§9.1 / §15: the caller hangs up while it rings, and the 200 crosses its
    CANCEL: the phone must ACK that 200 and end the session with a BYE."""
    phone.stdin.write('call sip:carol@127.0.0.1:%d\n' % peer.port)
    phone.stdin.flush()
    inv, addr = peer.wait_for(lambda t: t.startswith('INVITE '), 5)
    check('race: a second INVITE', inv is not None)
    if not inv:
        return
    tag = 'rc' + rand_token(6)
    peer.respond(inv, addr, 180, 'Ringing', tag)
    read_events(0.5)
    calls = [e.get('call') for e in events if e.get('event') == 'calling']
    phone.stdin.write('hangup %s\n' % calls[-1])
    phone.stdin.flush()
    cancel, caddr = peer.wait_for(lambda t: t.startswith('CANCEL '), 3)
    check('race: hangup while ringing sends a CANCEL', cancel is not None)
    if not cancel:
        return
    check('race: the CANCEL has the INVITE\'s CSeq number and branch',
          hdr(cancel, 'CSeq').split()[0] == hdr(inv, 'CSeq').split()[0] and
          hdr(cancel, 'Via') == hdr(inv, 'Via'))
    peer.respond(cancel, caddr, 200, 'OK', tag, contact=False)
    # the 200 to the INVITE wins the race instead of a 487
    peer.respond(inv, addr, 200, 'OK', tag, peer.sdp(peer.rtp_a.getsockname()[1]))
    got = {}
    end = time.time() + 4
    while time.time() < end and not ('ACK' in got and 'BYE' in got):
        req, raddr = peer.recv(end - time.time())
        if not req:
            break
        m = req.split(' ', 1)[0]
        if to_tag(req) == tag:
            got[m] = req
        if m == 'BYE':
            peer.respond(req, raddr, 200, 'OK', None, contact=False)
    check('race: the late 200 is acknowledged', 'ACK' in got)
    check('race: and the session ended with a BYE', 'BYE' in got)
    read_events(1)
    hung = [e for e in events if e.get('event') == 'hungup' and e.get('call') == calls[-1]]
    check('race: the call ends once', len(hung) == 1, str(hung))


def main():
    sipkit = sys.argv[1]
    check = Checks()
    peer = Peer()
    phone = subprocess.Popen([sipkit, 'phone', '--user', 'sip:alice@127.0.0.1', '--registrar',
                              'none', '--json', '--listen', 'udp:127.0.0.1:0', '--play',
                              'tone:440', '--rtp-timeout', '0'],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    events = []
    pending = ['']
    fd = phone.stdout.fileno()

    def read_events(timeout):
        # raw reads: a buffered readline would hide lines from select()
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
            if not r:
                break
            data = os.read(fd, 65536).decode('utf-8', 'replace')
            if not data:
                break
            pending[0] += data
            while '\n' in pending[0]:
                line, pending[0] = pending[0].split('\n', 1)
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass

    try:
        phone.stdin.write('call sip:bob@127.0.0.1:%d\n' % peer.port)
        phone.stdin.flush()
        inv, addr = peer.wait_for(lambda t: t.startswith('INVITE '), 5)
        check('the phone sends an INVITE', inv is not None)
        if not inv:
            return check
        tag_a, tag_b = 'fa' + rand_token(6), 'fb' + rand_token(6)
        peer.respond(inv, addr, 100, 'Trying', None, contact=False)
        peer.respond(inv, addr, 180, 'Ringing', tag_a)
        ok_a = (inv, addr)
        peer.respond(inv, addr, 200, 'OK', tag_a, peer.sdp(peer.rtp_a.getsockname()[1]))
        peer.respond(inv, addr, 200, 'OK', tag_b, peer.sdp(peer.rtp_b.getsockname()[1]))
        acks, byes = {}, {}
        end = time.time() + 4
        while time.time() < end and not (tag_a in acks and tag_b in acks and tag_b in byes):
            req, raddr = peer.recv(end - time.time())
            if not req:
                break
            method = req.split(' ', 1)[0]
            t = to_tag(req)
            if method == 'ACK':
                acks[t] = acks.get(t, 0) + 1
            elif method == 'BYE':
                byes[t] = req
                peer.respond(req, raddr, 200, 'OK', None, contact=False)
        check('the 2xx of fork A is acknowledged', acks.get(tag_a, 0) >= 1, str(acks))
        check('the 2xx of fork B is acknowledged', acks.get(tag_b, 0) >= 1, str(acks))
        check('fork B is hung up with a BYE', tag_b in byes, str(list(byes)))
        check('fork A (the call) is not hung up', tag_a not in byes)
        if tag_b in byes:
            check('the BYE to fork B goes to B\'s Contact',
                  byes[tag_b].startswith('BYE sip:bob-%s@' % tag_b), byes[tag_b].split('\r\n')[0])
        # media follows the first answer
        na = count_packets(peer.rtp_a, 1.5)
        nb = count_packets(peer.rtp_b, 0.3)
        check('RTP goes to fork A\'s SDP address', na >= 40, 'packets %d' % na)
        check('no RTP to fork B', nb == 0, 'packets %d' % nb)
        # §13.2.2.4: a retransmitted 2xx is acknowledged again
        before = acks.get(tag_a, 0)
        peer.respond(ok_a[0], ok_a[1], 200, 'OK', tag_a, peer.sdp(peer.rtp_a.getsockname()[1]))
        ack, _ = peer.wait_for(lambda t: t.startswith('ACK ') and to_tag(t) == tag_a, 3)
        check('a retransmitted 2xx gets the ACK again', ack is not None and before >= 1)
        read_events(0.5)
        answered = [e for e in events if e.get('event') == 'answered']
        check('one answered event', len(answered) == 1, str(len(answered)))
        phone.stdin.write('hangup\n')
        phone.stdin.flush()
        bye, baddr = peer.wait_for(lambda t: t.startswith('BYE '), 4)
        check('hangup sends a BYE to fork A', bye is not None and to_tag(bye) == tag_a)
        # a 2xx retransmission that crosses our BYE: ACKed, and the call stays ended
        peer.respond(ok_a[0], ok_a[1], 200, 'OK', tag_a, peer.sdp(peer.rtp_a.getsockname()[1]))
        ack, _ = peer.wait_for(lambda t: t.startswith('ACK ') and to_tag(t) == tag_a, 3)
        check('a 2xx retransmission after our BYE is ACKed', ack is not None)
        if bye:
            peer.respond(bye, baddr, 200, 'OK', None, contact=False)
        read_events(2)
        answered = [e for e in events if e.get('event') == 'answered']
        check('it does not answer the call again', len(answered) == 1, str(len(answered)))
        hung = [e for e in events if e.get('event') == 'hungup']
        check('the call ends, by local', len(hung) == 1 and hung[0].get('by') == 'local',
              str(hung))
        if hung:
            q = hung[0].get('quality') or {}
            check('the report names fork A\'s RTP address',
                  q.get('remote') == '127.0.0.1:%d' % peer.rtp_a.getsockname()[1], str(q.get('remote')))
        cancel_race(phone, peer, check, read_events, events)
        phone.stdin.write('quit\n')
        phone.stdin.flush()
        try:
            rc = phone.wait(timeout=8)
        except subprocess.TimeoutExpired:
            rc = None
        check('the phone exits 0 after quit', rc == 0, str(rc))
    finally:
        if phone.poll() is None:
            phone.kill()
            phone.wait()
    return check


if __name__ == '__main__':
    c = main()
    print('%d passed, %d failed' % (c.passed, c.failed))
    sys.exit(1 if c.failed else 0)
