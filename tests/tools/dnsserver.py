#!/usr/bin/env python3
"""A small authoritative DNS server for the tests (RFC 1035 over UDP) that serves the
records of a zone file: one record a line, "NAME TYPE TTL DATA", with TYPE A, AAAA,
SRV (DATA: priority weight port target) or NAPTR (DATA: order preference flags
service replacement); '#' starts a comment. The file is read again whenever it
changes, so a test can change a record while the server runs. A name with no record
of the type asked gets an empty answer with an SOA (negative TTL 1 s); an unknown
name NXDOMAIN.
usage: dnsserver.py ADDR PORT ZONEFILE"""
import os
import socket
import struct
import sys

addr, port, zonefile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TYPES = {'A': 1, 'AAAA': 28, 'SRV': 33, 'NAPTR': 35}
zone, zone_mtime = [], None


def load():
    global zone, zone_mtime
    try:
        mtime = os.stat(zonefile).st_mtime_ns
    except OSError:
        return
    if mtime == zone_mtime:
        return
    recs = []
    for line in open(zonefile):
        f = line.split('#')[0].split()
        if len(f) >= 4 and f[1].upper() in TYPES:
            recs.append((f[0].lower().rstrip('.'), TYPES[f[1].upper()], int(f[2]), f[3:]))
    zone, zone_mtime = recs, mtime


def name_bytes(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def cstr(s):
    return bytes([len(s)]) + s.encode()


def rdata(rtype, d):
    if rtype == 1:
        return socket.inet_pton(socket.AF_INET, d[0])
    if rtype == 28:
        return socket.inet_pton(socket.AF_INET6, d[0])
    if rtype == 33:
        return struct.pack('!HHH', int(d[0]), int(d[1]), int(d[2])) + name_bytes(d[3])
    return (struct.pack('!HH', int(d[0]), int(d[1])) + cstr(d[2]) + cstr(d[3]) + cstr('') +
            name_bytes(d[4]))


def qname(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode('ascii', 'replace'))
        off += 1 + n
    return '.'.join(labels).lower(), off + 1


def answer(data):
    qid, _flags, qd = struct.unpack('!HHH', data[:6])
    if qd != 1:
        return None
    name, end = qname(data, 12)
    qtype, _qclass = struct.unpack('!HH', data[end:end + 4])
    load()
    known = any(r[0] == name for r in zone)
    answers = [(r[2], rdata(r[1], r[3]), r[1]) for r in zone if r[0] == name and r[1] == qtype]
    body = b''
    for ttl, rd, rtype in answers:
        body += struct.pack('!HHHIH', 0xC00C, rtype, 1, ttl, len(rd)) + rd
    ns = 0
    if not answers:
        # RFC 2308: the SOA tells how long the "no" holds
        soa = name_bytes('ns.test') + name_bytes('hostmaster.test') + struct.pack('!IIIII', 1, 60, 60, 60, 1)
        body += struct.pack('!HHHIH', 0xC00C, 6, 1, 1, len(soa)) + soa
        ns = 1
    rcode = 0 if known else 3
    header = struct.pack('!HHHHHH', qid, 0x8580 | rcode, 1, len(answers), ns, 0)
    return header + data[12:end + 4] + body


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
load()
print('listening', flush=True)
while True:
    data, peer = sock.recvfrom(1500)
    if len(data) >= 12:
        try:
            out = answer(data)
        except (IndexError, ValueError, struct.error):
            out = None
        if out:
            sock.sendto(out, peer)
