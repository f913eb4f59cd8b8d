#!/usr/bin/env python3
"""A tiny authoritative DNS server for the capture generators (RFC 1035 over UDP):
answers A queries for the names given with 127.0.0.1 after DELAY seconds, AAAA with no
records, and anything else with NXDOMAIN; with --servfail-first the first query of each
name and type gets SERVFAIL (a broken upstream) and the retry the answer.
usage: dnsserver.py ADDR PORT DELAY [--servfail-first] NAME..."""
import socket
import struct
import sys
import threading

addr, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
args = sys.argv[4:]
servfail_first = '--servfail-first' in args
names = {n.lower().rstrip('.') for n in args if n != '--servfail-first'}
failed = set()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((addr, port))
print('listening', flush=True)


def qname(data, off):
    labels = []
    while True:
        n = data[off]
        off += 1
        if n == 0:
            return '.'.join(labels).lower(), off
        labels.append(data[off:off + n].decode('ascii', 'replace'))
        off += n


def answer(data, peer):
    qid, _flags, qd = struct.unpack('!HHH', data[:6])
    if qd != 1:
        return
    name, end = qname(data, 12)
    qtype, _qclass = struct.unpack('!HH', data[end:end + 4])
    question = data[12:end + 4]
    known = name in names
    rcode = 0 if known else 3
    if known and servfail_first and (name, qtype) not in failed:
        failed.add((name, qtype))
        rcode, known = 2, False
    answers = b''
    if known and qtype == 1:
        # a pointer to the question's name, A, IN, TTL 60, 4 bytes
        answers = struct.pack('!HHHIH', 0xC00C, 1, 1, 60, 4) + socket.inet_aton('127.0.0.1')
    header = struct.pack('!HHHHHH', qid, 0x8580 | rcode, 1, 1 if answers else 0, 0, 0)
    sock.sendto(header + question + answers, peer)


while True:
    data, peer = sock.recvfrom(1500)
    if len(data) >= 12:
        t = threading.Timer(delay, answer, (data, peer))
        t.daemon = True
        t.start()
