"""Shared pieces of the test-capture writers (mkflow*.py): Ethernet/IPv4/UDP frames
(fragmented above an MTU when asked), SIP message text, SDP, RTP and the pcap file.
Times are seconds after T0; the frames are written in time order."""
import struct

T0 = 1700000000.0
ETH = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00'


def ip4(a):
    return bytes(int(x) for x in a.split('.'))


def sip_text(start, via, branch, frm, to, callid, cseq, body='', extra=''):
    """A SIP message: via is 'UDP host:port'; Content-Type application/sdp with a body."""
    ct = 'Content-Type: application/sdp\r\n' if body else ''
    return (start + '\r\nVia: SIP/2.0/%s;branch=%s\r\nFrom: %s\r\nTo: %s\r\n'
            'Call-ID: %s\r\nCSeq: %s\r\n%s%sContent-Length: %d\r\n\r\n%s'
            % (via, branch, frm, to, callid, cseq, extra, ct, len(body), body))


def sdp(ip, port):
    return ('v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n'
            'm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n'
            'a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n' % (ip, ip, port))


def rtp_packet(seq, ts, ssrc, pt=0):
    """An RTP packet with 20 ms of G.711 silence."""
    return struct.pack('>BBHII', 0x80, pt, seq & 0xffff, ts, ssrc) + b'\xd5' * 160


def ntp(t):
    """NTP seconds and fraction of the absolute time t."""
    sec = int(t) + 2208988800
    return sec, int((t - int(t)) * 4294967296)


class Writer:
    """Frames in memory. mtu=None: every IPv4 datagram has id 1 and is never
    fragmented; with an MTU, ids count up from first_id + 1 and larger datagrams
    are fragmented (0.1 ms apart)."""

    def __init__(self, mtu=None, first_id=100):
        self.frames = []
        self.mtu = mtu
        self.ip_id = first_id

    def ipv4(self, src, dst, proto, payload, t):
        if self.mtu is None:
            hdr = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                              ip4(src), ip4(dst))
            self.frames.append((t, ETH + hdr + payload))
            return
        self.ip_id += 1
        room = (self.mtu - 20) // 8 * 8
        off = 0
        while True:
            part = payload[off:off + room]
            more = off + len(part) < len(payload)
            fo = (off // 8) | (0x2000 if more else 0)
            hdr = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(part), self.ip_id, fo, 64,
                              proto, 0, ip4(src), ip4(dst))
            self.frames.append((t, ETH + hdr + part))
            off += len(part)
            t += 0.0001
            if not more:
                break

    def udp(self, src, dst, payload, t):
        (sip, sport), (dip, dport) = src, dst
        self.ipv4(sip, dip, 17, struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload,
                  t)

    def sip(self, src, dst, t, start, callid, branch, cseq, totag='', body='', extra='',
            frm='"Alice" <sip:alice@example.com>;tag=a1', to='<sip:bob@example.com>',
            via=None):
        """A SIP message over UDP; its Via names `via` (default: the sender)."""
        via = via or src
        self.udp(src, dst, sip_text(start, 'UDP %s:%d' % via, branch, frm, to + totag, callid,
                                    cseq, body, extra).encode(), t)

    def rtp(self, src, dst, t, seq, ts, ssrc, pt=0):
        self.udp(src, dst, rtp_packet(seq, ts, ssrc, pt), t)

    def write(self, path, t0=T0):
        with open(path, 'wb') as f:
            f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for t, data in sorted(self.frames, key=lambda x: x[0]):
                ts = t0 + t
                sec = int(ts)
                usec = int(round((ts - sec) * 1e6))
                f.write(struct.pack('<IIII', sec, usec, len(data), len(data)) + data)
