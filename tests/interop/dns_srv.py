#!/usr/bin/env python3
"""The SIP side of dns_srv.sh: bob registered at each b.test server with a contact of
his own (one UDP socket per server), and calls from a caller through the a.test proxy
to sip:bob@b.test; which of bob's sockets gets the INVITE says which b.test server the
proxy's DNS (RFC 3263) chose. bob answers 486, so no dialog is left behind.
usage: dns_srv.py register B_PORT CONTACT_PORT
       dns_srv.py call A_PORT CONTACT_PORT... -- EXPECTED_CONTACT_PORT TIMEOUT [BUSY_PORT]
A BUSY_PORT is a SIP server that answers every INVITE with 503 (RFC 3263 §4.3: the proxy
moves on to the next server); the call then also checks that it got the INVITE."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))
import sipclient as sc  # noqa: E402


def register(b_port, contact_port):
    conn = sc.Conn(('127.0.0.1', b_port))
    ua = sc.UA(conn, 'b.test', ruri='sip:b.test')
    r = ua.register('bob', contacts=['<sip:bob@127.0.0.1:%d>' % contact_port], expires=600)
    print('register at %d: %s' % (b_port, r.status if r else 'no answer'))
    return 0 if r is not None and r.status == 200 else 1


def call(a_port, contact_ports, expected, timeout, busy_port=None):
    got = []
    socks = []
    for p in contact_ports + ([busy_port] if busy_port else []):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', p))
        socks.append((p, s))
    stop = time.time() + timeout
    caller = sc.Caller(a_port)
    raw, _ = caller.request('INVITE', 'sip:bob@b.test', from_uri='sip:alice@a.test')
    cid = raw.split(b'Call-ID: ')[1].split(b'\r\n')[0].decode()

    def bob(p, s):
        # only this call's INVITE: a late retransmission of an earlier call's is not it
        while time.time() < stop:
            m, src = sc.recv_request(s, timeout=max(0.05, stop - time.time()), call_id=cid)
            if m is None:
                return
            if m.method == 'INVITE':
                got.append(p)
                if p == busy_port:
                    s.sendto(sc.answer(m, 503, 'Service Unavailable', tag=sc.token(8)), src)
                else:
                    s.sendto(sc.answer(m, 486, 'Busy Here', tag=sc.token(8)), src)
    threads = [threading.Thread(target=bob, args=ps, daemon=True) for ps in socks]
    for t in threads:
        t.start()
    r = caller.final(raw, timeout=timeout)
    if r is not None:
        caller.ack(raw, r)
    print('final: %s, INVITE reached bob at %s' % (r.status if r else None, got))
    ok = r is not None and r.status == 486 and got and got[-1] == expected
    return 0 if ok and (busy_port is None or busy_port in got) else 1


if __name__ == '__main__':
    if sys.argv[1] == 'register':
        sys.exit(register(int(sys.argv[2]), int(sys.argv[3])))
    args = sys.argv[2:]
    sep = args.index('--')
    sys.exit(call(int(args[0]), [int(x) for x in args[1:sep]], int(args[sep + 1]),
                  float(args[sep + 2]), int(args[sep + 3]) if len(args) > sep + 3 else None))
