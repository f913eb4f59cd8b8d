"""A raw UDP peer that calls a running `sipkit phone` and sends it INFO requests
(tests/ua/phone_info_dtmf.sh); checks printed as ok:/FAIL: lines.

    info_peer.py PHONE_HOST PHONE_SIP_PORT PHONE_EVENT_LOG

The phone answers calls at once (--auto-answer 0) and registers nowhere.
"""
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop',
                                'lib'))
from sipclient import Checks, Response, rand_token, udp_socket  # noqa: E402

check = Checks()
host, port, evlog = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sip = udp_socket()
lport = sip.getsockname()[1]
call_id = rand_token(16) + '@infopeer'
tag = rand_token(8)
ruri = 'sip:bob@%s:%d' % (host, port)
state = {'to_tag': None, 'contact': ruri, 'cseq': 1}
SDP = ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n'
       'm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n')


def send(method, uri, ctype=None, body=''):
    to_tag = state['to_tag']
    msg = ('%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n'
           'From: <sip:infopeer@127.0.0.1>;tag=%s\r\nTo: <sip:bob@%s:%d>%s\r\n'
           'Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n'
           'Contact: <sip:infopeer@127.0.0.1:%d>\r\n' %
           (method, uri, lport, rand_token(12), tag, host, port,
            ';tag=' + to_tag if to_tag else '', call_id, state['cseq'], method, lport))
    if ctype:
        msg += 'Content-Type: %s\r\n' % ctype
    msg += 'Content-Length: %d\r\n\r\n%s' % (len(body.encode()), body)
    sip.sendto(msg.encode(), (host, port))
    if method == 'ACK':
        return None
    cseq = state['cseq']
    end = time.monotonic() + 5
    while time.monotonic() < end:
        sip.settimeout(max(0.01, end - time.monotonic()))
        try:
            r = Response(sip.recv(65535))
        except socket.timeout:
            break
        except ValueError:
            continue
        c = r.cseq()
        if c is None or c[1] != method or c[0] != cseq or r.status < 200:
            continue
        return r
    return None


def digits():
    out = []
    with open(evlog, encoding='utf-8') as f:
        for line in f:
            e = json.loads(line)
            if e.get('event') == 'dtmf-received':
                out.append(e['digit'])
    return ''.join(out)


def wait_digits(n):
    end = time.monotonic() + 5
    while time.monotonic() < end and len(digits()) < n:
        time.sleep(0.05)
    return digits()


r = send('INVITE', ruri, 'application/sdp', SDP)
check('the phone answers our INVITE 200', r is not None and r.status == 200,
      'got %s' % (r.status if r else 'nothing'))
if r is None or r.status != 200:
    sys.exit(1)
state['to_tag'] = r.to_tag()
m = re.search(r'<([^>]+)>', r.hdr('contact') or '')
state['contact'] = m.group(1) if m else ruri
send('ACK', state['contact'])


def info(ctype, body):
    state['cseq'] += 1
    return send('INFO', state['contact'], ctype, body)


r = info('application/dtmf', '7')
check('INFO application/dtmf "7": 200', r is not None and r.status == 200,
      r.status if r else None)
got = wait_digits(1)
check('the phone reports digit 7', got == '7', got)
r = info('application/dtmf-relay', 'Signal=11\r\nDuration=250\r\n')
check('INFO dtmf-relay Signal=11: 200', r is not None and r.status == 200,
      r.status if r else None)
got = wait_digits(2)
check('the phone reports # (event code 11) after 7', got == '7#', got)
r = info('text/plain', 'press 5')
check('INFO text/plain: 415', r is not None and r.status == 415, r.status if r else None)
acc = (r.hdr('accept') or '') if r else ''
check('the 415 says Accept: application/dtmf-relay, application/dtmf',
      'application/dtmf-relay' in acc and 'application/dtmf' in acc, acc)
r = info('application/dtmf-relay', 'Signal=X\r\n')
check('INFO dtmf-relay Signal=X: 400 "Bad DTMF Body..."',
      r is not None and r.status == 400 and r.reason.startswith('Bad DTMF Body'),
      '%s %s' % (r.status, r.reason) if r else None)
r = info(None, '')
check('INFO without a body: 200', r is not None and r.status == 200, r.status if r else None)
got = digits()
check('no digit from the refused INFOs', got == '7#', got)
state['cseq'] += 1
r = send('BYE', state['contact'])
check('BYE: 200', r is not None and r.status == 200, r.status if r else None)
sys.exit(check.status())
