#!/usr/bin/env python3
"""Write a pcap for the `sipkit flow --html` and `--mermaid` tests: (1) a call with
RTP both ways for 12 s, with a burst of loss and a stretch of jitter to plot, and a
retransmitted 200; (2) a call from a hostile peer: markup and script in its Call-ID,
headers and display name, and a 486 whose reason phrase holds quotes, a semicolon,
'#', '%', '&', '<' and '>'; (3) an OPTIONS answered 200.
usage: mkflowhtml.py OUT.pcap [--many N]   (--many: N more short calls, for the cap)"""
import sys

from pcapgen import Writer, sdp

w = Writer()
sip, rtp = w.sip, w.rtp

HOSTILE_CID = '<script>alert(1)</script>x@evil'
HOSTILE_HDR = 'X-Note: </pre><script>document.title="pwned"</script><img src=x onerror=alert(2)>'
HOSTILE_REASON = 'Busy "Here"; #1 <now> & 100%'

A, B = ('10.0.0.1', 5060), ('10.0.0.2', 5060)
inv = 'INVITE sip:bob@example.com SIP/2.0'


def plain_call(c, t, port_a, port_b, tag, rtp_s=0.0, ssrc=0):
    """INVITE, 180, 200, ACK, rtp_s seconds of RTP both ways, BYE, 200."""
    sip(A, B, t, inv, c, 'z9hG4bK' + tag + 'i', '1 INVITE', body=sdp(A[0], port_a))
    sip(B, A, t + 0.05, 'SIP/2.0 180 Ringing', c, 'z9hG4bK' + tag + 'i', '1 INVITE',
        ';tag=' + tag, via=A)
    sip(B, A, t + 0.5, 'SIP/2.0 200 OK', c, 'z9hG4bK' + tag + 'i', '1 INVITE', ';tag=' + tag,
        body=sdp(B[0], port_b), via=A)
    sip(A, B, t + 0.51, 'ACK sip:bob@10.0.0.2 SIP/2.0', c, 'z9hG4bK' + tag + 'a', '1 ACK',
        ';tag=' + tag)
    return t + 0.6


# 1: a call with 12 s of RTP both ways; A->B loses packets 5.0-5.4 s and jitters 8-10 s
c = 'call-plot@10.0.0.1'
t = plain_call(c, 0.0, 4000, 5000, 'b1')
# the 200 retransmitted once (the ACK "lost")
sip(B, A, 0.9, 'SIP/2.0 200 OK', c, 'z9hG4bKb1i', '1 INVITE', ';tag=b1',
    body=sdp(B[0], 5000), via=A)
ra, rb = ('10.0.0.1', 4000), ('10.0.0.2', 5000)
for i in range(600):
    at = 0.6 + 0.02 * i
    late = 0.0
    if 8.0 <= at < 10.0:
        late = (i % 4) * 0.009  # up to 27 ms late
    if not (5.0 <= at < 5.4):
        rtp(ra, rb, at + late, 1000 + i, 160 * i, 0xA1A1A1A1)
    rtp(rb, ra, at + 0.004, 30000 + i, 9000 + 160 * i, 0xB2B2B2B2)
bye = 'BYE sip:bob@10.0.0.2 SIP/2.0'
sip(A, B, 13.0, bye, c, 'z9hG4bKb1b', '2 BYE', ';tag=b1')
sip(B, A, 13.01, 'SIP/2.0 200 OK', c, 'z9hG4bKb1b', '2 BYE', ';tag=b1', via=A)

# 2: the hostile peer, rejected with a reason phrase full of markup characters
c = HOSTILE_CID
frm = '"<img src=x onerror=alert(3)>" <sip:mallory@example.com>;tag=m1'
sip(A, B, 14.0, inv, c, 'z9hG4bKm1', '1 INVITE', body=sdp(A[0], 4010), frm=frm,
    extra=HOSTILE_HDR + '\r\n')
sip(B, A, 14.1, 'SIP/2.0 ' + '486 ' + HOSTILE_REASON, c, 'z9hG4bKm1', '1 INVITE', ';tag=m2',
    frm=frm, via=A, extra=HOSTILE_HDR + '\r\n')
sip(A, B, 14.11, 'ACK sip:bob@example.com SIP/2.0', c, 'z9hG4bKm1', '1 ACK', ';tag=m2',
    frm=frm)

# 3: OPTIONS, 200
c = 'ping-1@10.0.0.1'
sip(A, B, 15.0, 'OPTIONS sip:bob@example.com SIP/2.0', c, 'z9hG4bKo1', '1 OPTIONS')
sip(B, A, 15.01, 'SIP/2.0 200 OK', c, 'z9hG4bKo1', '1 OPTIONS', ';tag=o1', via=A)

if len(sys.argv) > 3 and sys.argv[2] == '--many':
    for k in range(int(sys.argv[3])):
        c = 'many-%d@10.0.0.1' % k
        t = plain_call(c, 16.0 + 0.01 * k, 6000 + 2 * k, 7000 + 2 * k, 'n%d' % k)
        sip(A, B, t + 0.2, bye, c, 'z9hG4bKn%db' % k, '2 BYE', ';tag=n%d' % k)
        sip(B, A, t + 0.21, 'SIP/2.0 200 OK', c, 'z9hG4bKn%db' % k, '2 BYE', ';tag=n%d' % k,
            via=A)

w.write(sys.argv[1])
