"""A redirect server on UDP for tests/ua/phone_forward.sh: every INVITE gets
302 Moved Temporarily with the Contacts given (in that order, q as written),
its ACK is absorbed; it runs until SIGTERM or after 60 s.

    redirect_server.py PORT CONTACT...
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop',
                                'lib'))
from sipclient import answer, rand_token, recv_request, udp_socket  # noqa: E402

port, contacts = int(sys.argv[1]), sys.argv[2:]
sock = udp_socket(port=port)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
end = time.time() + 60
tag = rand_token(8)
while time.time() < end:
    req, src = recv_request(sock, timeout=1.0)
    if req is None or req.method != 'INVITE':
        continue
    sock.sendto(answer(req, 302, 'Moved Temporarily', tag=tag,
                       extra=['Contact: ' + ', '.join(contacts)]), src)
