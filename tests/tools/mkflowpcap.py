#!/usr/bin/env python3
"""Write a pcap for the `sipkit flow` tests: a call with RTP both ways (one packet lost,
RTCP SR/RR), a retransmitted INVITE answered 486, a CANCELled call, a registration
with a 401 round, and RTP from an answered call flowing one way only.
usage: mkflowpcap.py OUT.pcap"""
import struct
import sys

from pcapgen import T0, Writer, ntp, sdp

w = Writer()
udp, rtp = w.udp, w.rtp
A, B, R = ('10.0.0.1', 5060), ('10.0.0.2', 5060), ('10.0.0.9', 5060)


def sip(*args, **kw):
    """Every message of this capture names A in its Via."""
    w.sip(*args, via=A, **kw)


def sr(src, dst, t, ssrc, packets, about, lsr=0, dlsr=0):
    hi, lo = ntp(T0 + t)
    body = struct.pack('>IIIIII', ssrc, hi, lo, packets * 160, packets, packets * 160)
    block = struct.pack('>IIIIII', about, 0, 0, 0, lsr, dlsr)
    pkt = struct.pack('>BBH', 0x81, 200, (len(body) + len(block)) // 4) + body + block
    udp(src, dst, pkt, t)


# 1: a call, RTP both ways, one packet from A lost, callee hangs up
c = 'call-ok@10.0.0.1'
inv = 'INVITE sip:bob@example.com SIP/2.0'
sip(A, B, 0.000, inv, c, 'z9hG4bK1', '1 INVITE', body=sdp('10.0.0.1', 4000))
sip(B, A, 0.010, 'SIP/2.0 100 Trying', c, 'z9hG4bK1', '1 INVITE')
sip(B, A, 0.100, 'SIP/2.0 180 Ringing', c, 'z9hG4bK1', '1 INVITE', ';tag=b1')
sip(B, A, 1.100, 'SIP/2.0 200 OK', c, 'z9hG4bK1', '1 INVITE', ';tag=b1', body=sdp('10.0.0.2', 5000))
sip(A, B, 1.110, 'ACK sip:bob@10.0.0.2 SIP/2.0', c, 'z9hG4bK2', '1 ACK', ';tag=b1')
ra, rb = ('10.0.0.1', 4000), ('10.0.0.2', 5000)
for i in range(200):
    t = 1.2 + 0.02 * i
    if i != 50:
        rtp(ra, rb, t + (0.003 if i % 7 == 0 else 0), 1000 + i, 160 * i, 0xA1A1A1A1)
    rtp(rb, ra, t + 0.005, 65500 + i, 8000 + 160 * i, 0xB2B2B2B2)
sr(('10.0.0.1', 4001), ('10.0.0.2', 5001), 3.0, 0xA1A1A1A1, 90, 0xB2B2B2B2)
hi, lo = ntp(T0 + 3.0)
sr(('10.0.0.2', 5001), ('10.0.0.1', 4001), 3.1, 0xB2B2B2B2, 95, 0xA1A1A1A1,
   ((hi & 0xffff) << 16) | (lo >> 16), int(0.05 * 65536))
bye_to = '"Alice" <sip:alice@example.com>;tag=a1'
udp(B, A, ('BYE sip:alice@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK3\r\n'
           'From: <sip:bob@example.com>;tag=b1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\n'
           'Content-Length: 0\r\n\r\n' % (bye_to, c)).encode(), 6.0)
udp(A, B, ('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK3\r\n'
           'From: <sip:bob@example.com>;tag=b1\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\n'
           'Content-Length: 0\r\n\r\n' % (bye_to, c)).encode(), 6.01)

# 2: INVITE retransmitted, 486
c = 'call-busy@10.0.0.1'
sip(A, B, 7.0, inv, c, 'z9hG4bK10', '1 INVITE', body=sdp('10.0.0.1', 4010))
sip(A, B, 7.5, inv, c, 'z9hG4bK10', '1 INVITE', body=sdp('10.0.0.1', 4010))
sip(B, A, 7.6, 'SIP/2.0 486 Busy Here', c, 'z9hG4bK10', '1 INVITE', ';tag=b2')
sip(A, B, 7.61, 'ACK sip:bob@example.com SIP/2.0', c, 'z9hG4bK10', '1 ACK', ';tag=b2')

# 3: CANCELled while ringing
c = 'call-cancel@10.0.0.1'
sip(A, B, 8.0, inv, c, 'z9hG4bK20', '1 INVITE', body=sdp('10.0.0.1', 4020))
sip(B, A, 8.1, 'SIP/2.0 180 Ringing', c, 'z9hG4bK20', '1 INVITE', ';tag=b3')
sip(A, B, 10.0, 'CANCEL sip:bob@example.com SIP/2.0', c, 'z9hG4bK20', '1 CANCEL')
sip(B, A, 10.01, 'SIP/2.0 200 OK', c, 'z9hG4bK20', '1 CANCEL', ';tag=b3')
sip(B, A, 10.02, 'SIP/2.0 487 Request Terminated', c, 'z9hG4bK20', '1 INVITE', ';tag=b3')
sip(A, B, 10.03, 'ACK sip:bob@example.com SIP/2.0', c, 'z9hG4bK20', '1 ACK', ';tag=b3')

# 4: REGISTER, 401, REGISTER with credentials, 200
c = 'reg-1@10.0.0.1'
me = '<sip:alice@example.com>'
reg = 'REGISTER sip:example.com SIP/2.0'
sip(A, R, 11.0, reg, c, 'z9hG4bK30', '1 REGISTER', frm=me + ';tag=r1', to=me,
    extra='Contact: <sip:alice@10.0.0.1>\r\n')
sip(R, A, 11.01, 'SIP/2.0 401 Unauthorized', c, 'z9hG4bK30', '1 REGISTER', ';tag=s1',
    frm=me + ';tag=r1', to=me, extra='WWW-Authenticate: Digest realm="example.com", nonce="n1"\r\n')
sip(A, R, 11.02, reg, c, 'z9hG4bK31', '2 REGISTER', frm=me + ';tag=r1', to=me,
    extra='Contact: <sip:alice@10.0.0.1>\r\nAuthorization: Digest username="alice", '
          'realm="example.com", nonce="n1", uri="sip:example.com", '
          'response="00000000000000000000000000000000"\r\n')
sip(R, A, 11.03, 'SIP/2.0 200 OK', c, 'z9hG4bK31', '2 REGISTER', ';tag=s1',
    frm=me + ';tag=r1', to=me, extra='Contact: <sip:alice@10.0.0.1>;expires=3600\r\n')

# 5: answered, RTP from the caller only
c = 'call-oneway@10.0.0.1'
sip(A, B, 12.0, inv, c, 'z9hG4bK40', '1 INVITE', body=sdp('10.0.0.1', 4040))
sip(B, A, 12.5, 'SIP/2.0 200 OK', c, 'z9hG4bK40', '1 INVITE', ';tag=b5', body=sdp('10.0.0.2', 5040))
sip(A, B, 12.51, 'ACK sip:bob@10.0.0.2 SIP/2.0', c, 'z9hG4bK41', '1 ACK', ';tag=b5')
for i in range(50):
    rtp(('10.0.0.1', 4040), ('10.0.0.2', 5040), 12.6 + 0.02 * i, i, 160 * i, 0xC3C3C3C3)

w.write(sys.argv[1])
