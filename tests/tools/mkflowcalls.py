#!/usr/bin/env python3
"""Write a pcap with several calls whose packets interleave, for `sipkit flow --pcap`:
calls 1-3 over UDP with RTP both ways and RTCP (call 2's INVITE so large that IP
fragments it), call 4 over TCP (its INVITE in two segments, a retransmitted segment,
200 OK and ACK in one segment) with RTP, and a registration in between.
usage: mkflowcalls.py OUT.pcap"""
import struct
import sys

from pcapgen import T0, Writer, rtp_packet, sdp, sip_text

w = Writer(mtu=1500)
ipv4, udp = w.ipv4, w.udp


class Tcp:
    """One TCP connection; send() puts bytes in one segment."""
    def __init__(self, a, b, t):
        self.a, self.b = a, b
        self.seq = {a: 1000, b: 5000}
        self.seg(a, b, b'', t, 0x02)
        self.seq[a] += 1
        self.seg(b, a, b'', t + 0.0001, 0x12)
        self.seq[b] += 1
        self.seg(a, b, b'', t + 0.0002, 0x10)

    def seg(self, src, dst, data, t, flags=0x18, seq=None):
        (sip, sport), (dip, dport) = src, dst
        s = self.seq[src] if seq is None else seq
        h = struct.pack('>HHIIBBHHH', sport, dport, s, self.seq[dst], 0x50, flags, 65535, 0, 0)
        ipv4(sip, dip, 6, h + data, t)

    def send(self, src, data, t):
        dst = self.b if src == self.a else self.a
        self.seg(src, dst, data, t)
        self.seq[src] += len(data)


def msg(start, callid, branch, cseq, via, frm, to, body='', extra=''):
    return sip_text(start, via, branch, frm, to, callid, cseq, body, extra).encode()


def rtp(src, dst, t, seq, ts, ssrc):
    udp(src, dst, rtp_packet(seq, ts, ssrc), t)


def sr(src, dst, t, ssrc, packets):
    sec = int(T0 + t) + 2208988800
    body = struct.pack('>IIIIII', ssrc, sec, 0, packets * 160, packets, packets * 160)
    udp(src, dst, struct.pack('>BBH', 0x80, 200, len(body) // 4) + body, t)


def call(n, a_ip, b_ip, t, rtp_port, npk, big=False, tcp=False):
    """A call from a_ip to b_ip: INVITE, 100, 180, 200, ACK, RTP both ways, BYE, 200."""
    c = 'call-%d@%s' % (n, a_ip)
    a, b = (a_ip, 5060 + (10 if tcp else 0)), (b_ip, 5060)
    tr = 'TCP' if tcp else 'UDP'
    via = '%s %s:%d' % (tr, a[0], a[1])
    frm = '<sip:alice%d@example.com>;tag=a%d' % (n, n)
    to = '<sip:bob%d@example.com>' % n
    tot = to + ';tag=b%d' % n
    pad = ''.join('X-Pad-%d: %s\r\n' % (i, 'p' * 70) for i in range(45)) if big else ''
    inv = msg('INVITE sip:bob%d@%s SIP/2.0' % (n, b_ip), c, 'z9hG4bK%da' % n, '1 INVITE', via,
              frm, to, sdp(a_ip, rtp_port), pad)
    r100 = msg('SIP/2.0 100 Trying', c, 'z9hG4bK%da' % n, '1 INVITE', via, frm, to)
    r180 = msg('SIP/2.0 180 Ringing', c, 'z9hG4bK%da' % n, '1 INVITE', via, frm, tot)
    r200 = msg('SIP/2.0 200 OK', c, 'z9hG4bK%da' % n, '1 INVITE', via, frm, tot,
               sdp(b_ip, rtp_port + 1000))
    ack = msg('ACK sip:bob%d@%s SIP/2.0' % (n, b_ip), c, 'z9hG4bK%db' % n, '1 ACK', via, frm, tot)
    bye = msg('BYE sip:bob%d@%s SIP/2.0' % (n, b_ip), c, 'z9hG4bK%dc' % n, '2 BYE', via, frm, tot)
    ok = msg('SIP/2.0 200 OK', c, 'z9hG4bK%dc' % n, '2 BYE', via, frm, tot)
    tend = t + 0.3 + 0.02 * npk + 0.1
    if tcp:
        k = Tcp(a, b, t - 0.01)
        k.send(a, inv[:300], t)
        k.seg(a, b, inv[:300], t + 0.0005, seq=k.seq[a] - 300)  # retransmitted segment
        k.send(a, inv[300:], t + 0.001)
        k.send(b, r100 + r180, t + 0.1)
        k.send(b, r200, t + 0.2)
        k.send(a, ack, t + 0.21)
        k.send(a, bye, tend)
        k.send(b, ok, tend + 0.01)
    else:
        udp(a, b, inv, t)
        udp(b, a, r100, t + 0.01)
        udp(b, a, r180, t + 0.1)
        udp(b, a, r200, t + 0.2)
        udp(a, b, ack, t + 0.21)
        udp(a, b, bye, tend)
        udp(b, a, ok, tend + 0.01)
    ra, rb = (a_ip, rtp_port), (b_ip, rtp_port + 1000)
    for i in range(npk):
        tt = t + 0.3 + 0.02 * i
        rtp(ra, rb, tt, 100 + i, 160 * i, 0xA0000000 + n)
        rtp(rb, ra, tt + 0.004, 900 + i, 160 * i, 0xB0000000 + n)
    sr((a_ip, rtp_port + 1), (b_ip, rtp_port + 1001), t + 0.3 + 0.02 * npk, 0xA0000000 + n, npk)


call(1, '10.0.0.1', '10.0.0.2', 0.0, 4000, 150)
call(2, '10.0.0.1', '10.0.0.2', 0.5, 4010, 120, big=True)
call(3, '10.0.0.3', '10.0.0.2', 1.0, 4020, 100)
call(4, '10.0.0.4', '10.0.0.2', 1.2, 4030, 80, tcp=True)
me = '<sip:carol@example.com>'
udp(('10.0.0.5', 5060), ('10.0.0.2', 5060),
    msg('REGISTER sip:example.com SIP/2.0', 'reg-1@10.0.0.5', 'z9hG4bKr1', '1 REGISTER',
        'UDP 10.0.0.5:5060', me + ';tag=r1', me, extra='Contact: <sip:carol@10.0.0.5>\r\n'), 1.5)
udp(('10.0.0.2', 5060), ('10.0.0.5', 5060),
    msg('SIP/2.0 200 OK', 'reg-1@10.0.0.5', 'z9hG4bKr1', '1 REGISTER', 'UDP 10.0.0.5:5060',
        me + ';tag=r1', me + ';tag=s1', extra='Contact: <sip:carol@10.0.0.5>;expires=600\r\n'), 1.51)

w.write(sys.argv[1])
