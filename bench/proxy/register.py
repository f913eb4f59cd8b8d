#!/usr/bin/env python3
"""Register one binding for bench/bench_proxy.sh: REGISTER sip:DOMAIN with To
sip:USER@DOMAIN (DOMAIN: localhost unless given, e.g. 127.0.0.1:5070, the server's
address and port as a SIPp registration writes it) and the Contact given, Expires
3600, no authentication, over UDP to 127.0.0.1:PORT (the same message to sipkit and
to Kamailio). Uses tests/registrar/regclient.py; retransmits per RFC 3261 §17.1.2
and gives up after 6 s. Exit 0 on a 200, 1 otherwise.

usage: register.py PORT USER CONTACT [DOMAIN]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'tests', 'registrar'))
from regclient import Conn, UA  # noqa: E402


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    port, user, contact = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    domain = sys.argv[4] if len(sys.argv) == 5 else 'localhost'
    conn = Conn(('127.0.0.1', port))
    try:
        r = UA(conn, domain).register(user, contacts=[contact], expires=3600)
    finally:
        conn.close()
    print(r if r is not None else 'no response')
    return 0 if r is not None and r.status == 200 else 1


if __name__ == '__main__':
    sys.exit(main())
