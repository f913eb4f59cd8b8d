#!/usr/bin/env python3
"""The registrar checks that tests/registrar/registrar.sh runs against a live
`sipkit serve`, one phase per sub-command, on the shared client
(tests/interop/lib/sipclient.py: REGISTER user agent, digest, ctl readers).

Every check prints one line, "ok: name" or "FAIL: name (detail)"; the shell
script counts them and fails when this exits non-zero. Nothing here loops
without a bound: every wait has a deadline.

usage: regclient.py PHASE [options]   (see main() for the phases)
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop', 'lib'))
from sipclient import (Auth, Checks, Conn, UA, ctl_registrations, ctl_stats,  # noqa: E402,F401
                       parse_challenge, st, status_is, to_tag, token)


def expires_of(resp, uri_part):
    """The expires parameter of the 200's Contact whose URI contains uri_part."""
    if resp is None:
        return None
    for uri, p in resp.contacts():
        if uri_part in uri and 'expires' in p:
            try:
                return int(p['expires'])
            except ValueError:
                return None
    return None


def listed(resp):
    return [] if resp is None else [u for u, _ in resp.contacts()]


def near(v, want, slack=2):
    return v is not None and want - slack <= v <= want


def load_users(path):
    users = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                u, p = line.split()
                users[u] = p
    return users


# ---------------------------------------------------------------- phase: main

def phase_main(a, ck):
    D = a.domain
    users = load_users(a.users)
    srv = ('127.0.0.1', a.port)
    conn = Conn(srv, 'UDP')
    ua = UA(conn, D)
    ctl = lambda: ctl_registrations(a.sipkit, a.data)
    my = '127.0.0.1'

    # --- the challenge (RFC 3261 §22.4, RFC 8760 §2.4)
    r = ua.register('alice', contacts=['<sip:alice@%s:7001>' % my])
    ck('unauthenticated REGISTER gets 401', status_is(r, 401), st(r))
    chals = [parse_challenge(v) for v in (r.hdrs('www-authenticate') if r else [])]
    ck('401 carries two WWW-Authenticate', len(chals) == 2, chals)
    if len(chals) == 2:
        ck('first challenge is SHA-256, second MD5',
           chals[0].get('algorithm') == 'SHA-256' and chals[1].get('algorithm') == 'MD5', chals)
        ck('challenges are Digest with realm = the AOR domain',
           all(c['scheme'] == 'Digest' and c.get('realm') == D for c in chals), chals)
        ck('challenges have qop="auth"', all(c.get('qop') == 'auth' for c in chals), chals)
        ck('challenges have an opaque and a nonce',
           all(c.get('opaque') and c.get('nonce') for c in chals), chals)
        ck('fresh challenges are not stale', all('stale' not in c for c in chals), chals)
        raw = [v for v in r.hdrs('www-authenticate')]
        ck('qop is a quoted string in the challenge', all('qop="auth"' in v for v in raw), raw)

    # --- §8.2.7: the challenge is stateless: no server transaction is kept for a
    # REGISTER without credentials, and its retransmission gets the same To tag
    before = ctl_stats(a.sipkit, a.data)
    branch = 'z9hG4bK' + token(16)
    lip, lport = conn.local
    raw = ('REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n'
           'Max-Forwards: 70\r\nFrom: <sip:bob@%s>;tag=%s\r\nTo: <sip:bob@%s>\r\n'
           'Call-ID: %s\r\nCSeq: 7 REGISTER\r\nContact: <sip:bob@%s:7009>\r\n'
           'Content-Length: 0\r\n\r\n' % (D, lip, lport, branch, D, token(8), D, token(20), my)
           ).encode()
    r1 = conn.transact(raw, branch)
    r2 = conn.transact(raw, branch)
    r3 = ua.register('bob', contacts=['<sip:bob@%s:7009>' % my])
    after = ctl_stats(a.sipkit, a.data)
    ck('a REGISTER without credentials and its retransmission: 401 each',
       status_is(r1, 401) and status_is(r2, 401) and status_is(r3, 401), (st(r1), st(r2), st(r3)))
    ck('the retransmission gets the same To tag (stateless UAS, §8.2.7)',
       to_tag(r1) is not None and to_tag(r1) == to_tag(r2), (to_tag(r1), to_tag(r2)))
    ck('another REGISTER gets another To tag', to_tag(r3) not in (None, to_tag(r1)),
       (to_tag(r1), to_tag(r3)))
    ck('the challenges created no server transaction',
       after.get('transactions_server') == before.get('transactions_server'), (before, after))
    ck('ctl stats counts the stateless challenges (+3)',
       after.get('challenges_stateless', 0) - before.get('challenges_stateless', 0) == 3,
       (before.get('challenges_stateless'), after.get('challenges_stateless')))

    # --- §8.2.7: the registrar answers every REGISTER statelessly; the
    # retransmission of one that was applied is recognised (same Call-ID, CSeq
    # and Via transaction as the binding it set) and gets the same 200, its
    # repeated nonce-count accepted for that and for nothing else
    before = ctl_stats(a.sipkit, a.data)
    au = Auth('alice', users['alice'], 'SHA-256')
    ua.challenge(au)
    cid = 'rtx-' + token(10)
    rs = ua.register('alice', contacts=['<sip:alice@%s:7011>' % my], auth=au, cseq=3,
                     call_id=cid, expires=600, resend=12)
    ck('an authenticated REGISTER and 12 retransmissions of it: 200 each (no failure, no block)',
       all(status_is(r, 200) for r in rs), [st(r) for r in rs])
    ck('... the same To tag each time', to_tag(rs[0]) is not None and
       all(to_tag(r) == to_tag(rs[0]) for r in rs), [to_tag(r) for r in rs])
    ck('... each lists the binding', all(near(expires_of(r, ':7011'), 600) for r in rs),
       [expires_of(r, ':7011') for r in rs])
    after = ctl_stats(a.sipkit, a.data)
    ck('... ctl stats counts 12 register_retransmissions',
       after.get('register_retransmissions', 0) - before.get('register_retransmissions', 0) == 12,
       (before.get('register_retransmissions'), after.get('register_retransmissions')))
    ck('... and no server transaction was created',
       after.get('transactions_server') == before.get('transactions_server'), (before, after))
    au.nc -= 1  # the nonce-count just used, on a new request
    r = ua.register('alice', contacts=['<sip:alice@%s:7012>' % my], auth=au, cseq=4,
                    call_id=cid, expires=600)
    ck('the same credentials on another request: 401 with a fresh challenge',
       status_is(r, 401) and r is not None and len(r.hdrs('www-authenticate')) == 2, st(r))
    ck('... which binds nothing',
       all('7012' not in x['uri'] for x in ctl().get('sip:alice@%s' % D, [])), ctl()['__raw__'])
    r = ua.register('alice', contacts=['<sip:alice@%s:7011>' % my], auth=au, cseq=4,
                    call_id=cid, expires=0)
    ck('a fresh nonce-count after that removes the binding (200)', status_is(r, 200), st(r))
    ck('... so it is gone', all('7011' not in x['uri'] for x in ctl().get('sip:alice@%s' % D, [])),
       ctl()['__raw__'])

    # --- success with both algorithms
    for alg, user in (('SHA-256', 'alice'), ('MD5', 'alice2')):
        au = Auth(user, users[user], alg)
        r = ua.reg_auth(au, contacts=['<sip:%s@%s:7001>' % (user, my)], expires=600, cseq=1)
        ck('digest %s with the right password gets 200' % alg, status_is(r, 200), st(r))
        ck('200 (%s) lists the contact with its expires' % alg,
           near(expires_of(r, '%s@%s:7001' % (user, my)), 600), r.contacts() if r else r)
        date = r.hdr('date') if r else None
        ck('200 (%s) has an RFC 1123 Date' % alg,
           date is not None and re.match(r'^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} '
                                         r'\d{2}:\d{2}:\d{2} GMT$', date) is not None, date)
    regs = ctl()
    b = regs.get('sip:alice@%s' % D, [])
    ck('ctl lists alice\'s binding', len(b) == 1 and b[0]['uri'] == 'sip:alice@%s:7001' % my,
       regs['__raw__'])
    ck('ctl shows the flow (UDP and the client address)',
       len(b) == 1 and b[0]['via'] == 'UDP:%s:%d' % conn.local, b)
    ck('ctl shows the User-Agent', len(b) == 1 and b[0]['ua'] == 'regclient/1.0', b)

    # --- wrong password, unknown user, replayed nonce-count, someone else's AOR
    au = Auth('alice', users['alice'], 'SHA-256')
    ua.challenge(au)
    au.password = 'not-' + users['alice']
    r = ua.register('alice', contacts=['<sip:alice@%s:7009>' % my], auth=au, cseq=5)
    ck('wrong password gets 401', status_is(r, 401), st(r))
    ck('wrong password gets a fresh challenge (2 WWW-Authenticate)',
       r is not None and len(r.hdrs('www-authenticate')) == 2, r and r.headers)
    au = Auth('zed', 'whatever', 'MD5')
    ua.challenge(au, 'zed')
    r = ua.register('zed', contacts=['<sip:zed@%s:7009>' % my], auth=au, cseq=2)
    ck('unknown user gets 401', status_is(r, 401), st(r))
    regs = ctl()
    ck('no binding from a wrong password or unknown user',
       'sip:zed@%s' % D not in regs and
       all('7009' not in x['uri'] for x in regs.get('sip:alice@%s' % D, [])), regs['__raw__'])

    au = Auth('alice', users['alice'], 'MD5')
    ua.challenge(au)
    r = ua.register('alice', contacts=['<sip:alice@%s:7001>' % my], auth=au, cseq=10,
                    expires=600)
    ck('nc=00000001 accepted', status_is(r, 200), st(r))
    r = ua.register('alice', contacts=['<sip:alice@%s:7001>' % my],
                    auth=au, cseq=11, expires=600, extra=())
    ck('nc=00000002 with the same nonce accepted', status_is(r, 200), st(r))
    au.nc = 1  # the next header uses nc=00000002 again
    r = ua.register('alice', contacts=['<sip:alice@%s:7001>' % my], auth=au, cseq=12)
    ck('replayed nonce-count gets 401', status_is(r, 401), st(r))
    ck('replayed nonce-count gets a fresh challenge',
       r is not None and len(r.hdrs('www-authenticate')) == 2 and
       all(parse_challenge(v).get('nonce') != au.chal['nonce']
           for v in r.hdrs('www-authenticate')), r and r.hdrs('www-authenticate'))
    au.nc = 1  # now nc=00000001: lower than seen
    r = ua.register('alice', auth=au, cseq=13)
    ck('lower nonce-count gets 401', status_is(r, 401), st(r))
    au.nc = 2
    r = ua.register('alice', auth=au, cseq=14)
    ck('higher nonce-count after a replay gets 200', status_is(r, 200), st(r))

    au = Auth('alice', users['alice'], 'SHA-256')
    ua.challenge(au, 'bob')
    r = ua.register('bob', contacts=['<sip:bob@%s:7777>' % my], auth=au, cseq=1)
    ck('alice\'s credentials for bob\'s AOR get 403', status_is(r, 403), st(r))
    ck('403 for another user has no challenge',
       r is not None and not r.hdrs('www-authenticate'), r and r.headers)

    # --- domain and AOR checks
    r = ua.register('alice', ruri='sip:other.test', to='sip:alice@other.test',
                    contacts=['<sip:alice@%s:7001>' % my])
    ck('REGISTER for another domain gets 403', status_is(r, 403), st(r))
    r = ua.register('alice', to='tel:+15551234567', contacts=['<sip:alice@%s:7001>' % my])
    ck('To tel: URI gets 404', status_is(r, 404), st(r))
    r = ua.register('alice', to='mailto:alice@%s' % D, contacts=['<sip:alice@%s:7001>' % my])
    ck('To mailto: URI gets 404', status_is(r, 404), st(r))
    r = ua.register('alice', to='sip:alice@other.test', contacts=['<sip:alice@%s:7001>' % my])
    ck('To in another domain than the Request-URI gets 404', status_is(r, 404), st(r))

    # --- AOR spelling: host names are case-insensitive and %-escapes equal their
    # character (RFC 3261 §19.1.4, §10.3 step 5), so these are alice's own AOR
    au = Auth('alice', users['alice'], 'SHA-256')
    r = ua.register('alice', to='sip:alice@%s' % D.upper(), contacts=['<sip:alice@%s:7011>' % my])
    chals = [parse_challenge(v) for v in (r.hdrs('www-authenticate') if r else [])]
    if au.take(r) if r is not None else False:
        r = ua.register('alice', to='sip:alice@%s' % D.upper(), auth=au, cseq=2,
                        contacts=['<sip:alice@%s:7011>' % my])
    ck('To sip:alice@%s (upper-case host) can authenticate as alice@%s' % (D.upper(), D),
       status_is(r, 200), '%s; challenge realm %s' % (st(r), [c.get('realm') for c in chals]))
    au = Auth('alice', users['alice'], 'SHA-256')
    ua.challenge(au, 'x')
    r = ua.register('x', to='sip:%%61lice@%s' % D, auth=au, cseq=2,
                    contacts=['<sip:alice@%s:7012>' % my])
    ck('To sip:%%61lice@%s is alice\'s AOR: her credentials get 200' % D,
       status_is(r, 200), st(r))
    # an AOR without a user part is the domain itself: no user may bind to it
    au = Auth('alice', users['alice'], 'SHA-256')
    ua.challenge(au, 'x')
    r = ua.register('x', to='sip:%s' % D, auth=au, cseq=2,
                    contacts=['<sip:alice@%s:7013>' % my])
    ck('nobody binds contacts to the domain AOR sip:%s (403/404)' % D,
       status_is(r, 403) or status_is(r, 404), '%s %s' % (st(r), listed(r)))
    if status_is(r, 200):  # undo, so the later checks see a clean table
        ua.register('x', to='sip:%s' % D, auth=au, cseq=3, contacts=['*'], expires=0)

    # --- several contacts, q ordering, query, removal (bob)
    bob = Auth('bob', users['bob'], 'SHA-256')
    cid = 'bob-' + token(10)
    r = ua.reg_auth(bob, contacts=['<sip:bob@%s:7001>;q=0.5' % my,
                                   '<sip:bob@%s:7002>;q=0.9, <sip:bob@%s:7003;transport=udp>'
                                   % (my, my)],
                    expires=900, call_id=cid, cseq=1)
    ck('three contacts (two in one header) get 200', status_is(r, 200), st(r))
    ck('200 lists all three bindings', r is not None and len(r.contacts()) == 3, listed(r))
    qs = dict((u, p.get('q')) for u, p in (r.contacts() if r else []))
    ck('200 keeps the q values', qs.get('sip:bob@%s:7001' % my) in ('0.5', '0.500') and
       qs.get('sip:bob@%s:7002' % my) in ('0.9', '0.900'), qs)
    regs = ctl()
    b = regs.get('sip:bob@%s' % D, [])
    ck('ctl lists three bindings for bob', len(b) == 3, regs['__raw__'])
    ck('ctl orders bob\'s bindings by q (none = 1.0, 0.9, 0.5)',
       [x['uri'] for x in b] == ['sip:bob@%s:7003;transport=udp' % my,
                                 'sip:bob@%s:7002' % my, 'sip:bob@%s:7001' % my], b)
    ck('ctl shows q=0.900 and q=0.500',
       [x['q'] for x in b] == [None, '0.900', '0.500'], [x.get('q') for x in b])
    time.sleep(1.1)
    r = ua.reg_auth(bob, call_id=cid, cseq=2)
    ck('REGISTER without Contact (query) gets 200', status_is(r, 200), st(r))
    ck('query lists all three bindings', r is not None and len(r.contacts()) == 3, listed(r))
    e = expires_of(r, '%s:7002' % my)
    ck('query shows the remaining (decreasing) expires', e is not None and 890 <= e < 900, e)
    ck('query 200 has a Date', r is not None and r.hdr('date') is not None)
    ck('query changed nothing', len(ctl().get('sip:bob@%s' % D, [])) == 3)
    # removal with expires=0, matching the URI per §19.1.4 (transport value case-insensitive,
    # host case-insensitive)
    r = ua.reg_auth(bob, contacts=['<sip:bob@%s:7003;transport=UDP>;expires=0' % my],
                    call_id=cid, cseq=3)
    ck('expires=0 on an equal URI (transport=UDP vs udp) gets 200', status_is(r, 200), st(r))
    ck('... and removes that binding',
       r is not None and sorted(listed(r)) == ['sip:bob@%s:7001' % my, 'sip:bob@%s:7002' % my],
       listed(r))
    r = ua.reg_auth(bob, contacts=['<sip:bob@LOCALHOST:7004>'], expires=900, call_id=cid,
                    cseq=4)
    r = ua.reg_auth(bob, contacts=['<sip:bob@localhost:7004>'], expires=0, call_id=cid,
                    cseq=5)
    ck('Expires: 0 header removes a binding registered with another host case',
       r is not None and r.status == 200 and all('7004' not in u for u in listed(r)), listed(r))
    r = ua.reg_auth(bob, contacts=['<sip:bob@%s:7001>;expires=0' % my,
                                   '<sip:bob@%s:7005>;expires=300' % my], call_id=cid, cseq=6)
    ck('one request removes one binding and adds another',
       r is not None and sorted(listed(r)) == ['sip:bob@%s:7002' % my, 'sip:bob@%s:7005' % my],
       listed(r))
    # Contact: *
    r = ua.reg_auth(bob, contacts=['*'], call_id=cid, cseq=7)
    ck('Contact * without Expires gets 400', status_is(r, 400), st(r))
    r = ua.reg_auth(bob, contacts=['*'], expires=60, call_id=cid, cseq=8)
    ck('Contact * with Expires: 60 gets 400', status_is(r, 400), st(r))
    r = ua.reg_auth(bob, contacts=['*', '<sip:bob@%s:7006>' % my], expires=0, call_id=cid,
                    cseq=9)
    ck('Contact * with another contact gets 400', status_is(r, 400), st(r))
    ck('the refused * requests removed nothing', len(ctl().get('sip:bob@%s' % D, [])) == 2)
    r = ua.reg_auth(bob, contacts=['*'], expires=0, call_id=cid, cseq=10)
    ck('Contact * with Expires: 0 gets 200', status_is(r, 200), st(r))
    ck('... listing no binding', r is not None and r.contacts() == [], listed(r))
    ck('... and ctl has none for bob', 'sip:bob@%s' % D not in ctl())

    # --- where the expiry comes from (carol): param, header, default, max, min
    carol = Auth('carol', users['carol'], 'MD5')
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7001>;expires=100' % my], expires=200,
                    cseq=1)
    ck('Contact expires=100 wins over Expires: 200', near(expires_of(r, ':7001'), 100),
       r and r.contacts())
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7002>' % my], expires=200, cseq=2)
    ck('Expires: 200 applies without a contact param', near(expires_of(r, ':7002'), 200),
       r and r.contacts())
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7003>' % my], cseq=3)
    ck('neither gives the default (%d)' % a.default_expires,
       near(expires_of(r, ':7003'), a.default_expires), r and r.contacts())
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7004>;expires=%d' % (my, a.max_expires + 5000)],
                    cseq=4)
    ck('expires above max is clamped to %d' % a.max_expires,
       near(expires_of(r, ':7004'), a.max_expires), r and r.contacts())
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7005>' % my], expires=4294967295, cseq=5)
    ck('Expires: 2^32-1 is clamped to max', near(expires_of(r, ':7005'), a.max_expires),
       r and r.contacts())
    regs = ctl()
    ex = dict((x['uri'].rsplit(':', 1)[1], x['exp']) for x in regs.get('sip:carol@%s' % D, []))
    ck('ctl agrees on every expiry',
       near(ex.get('7001'), 100) and near(ex.get('7002'), 200) and
       near(ex.get('7003'), a.default_expires) and near(ex.get('7004'), a.max_expires), ex)
    low = a.min_expires - 1
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7006>;expires=%d' % (my, low)], cseq=6)
    ck('expires=%d below min gets 423' % low, status_is(r, 423), st(r))
    ck('423 carries Min-Expires: %d' % a.min_expires,
       r is not None and r.hdr('min-expires') == str(a.min_expires), r and r.headers)
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7007>' % my], expires=low, cseq=7)
    ck('Expires: %d header below min gets 423' % low, status_is(r, 423), st(r))
    r = ua.reg_auth(carol, contacts=['<sip:carol@%s:7008>;expires=300' % my,
                                     '<sip:carol@%s:7009>;expires=%d' % (my, low)], cseq=8)
    ck('one contact below min fails the whole request (423)', status_is(r, 423), st(r))
    ck('... and binds nothing',
       all(x['uri'].rsplit(':', 1)[1] not in ('7006', '7007', '7008', '7009')
           for x in ctl().get('sip:carol@%s' % D, [])))

    # --- Call-ID / CSeq ordering (dave), RFC 3261 §10.3 step 7
    dave = Auth('dave', users['dave'], 'SHA-256')
    cid = 'dave-' + token(10)
    c1 = '<sip:dave@%s:7001>' % my
    r = ua.reg_auth(dave, contacts=[c1], expires=600, call_id=cid, cseq=10)
    ck('dave registers with CSeq 10', status_is(r, 200), st(r))
    r = ua.reg_auth(dave, contacts=[c1], expires=300, call_id=cid, cseq=10)
    ck('same Call-ID, same CSeq gets 500', status_is(r, 500), st(r))
    ck('... with reason "Out-of-Order REGISTER (CSeq)"',
       r is not None and r.reason == 'Out-of-Order REGISTER (CSeq)', st(r))
    r = ua.reg_auth(dave, contacts=[c1], expires=300, call_id=cid, cseq=9)
    ck('same Call-ID, lower CSeq gets 500', status_is(r, 500), st(r))
    r = ua.reg_auth(dave, contacts=['<sip:dave@%s:7002>' % my, c1], expires=300, call_id=cid,
                    cseq=9)
    ck('stale CSeq with a new contact too gets 500', status_is(r, 500), st(r))
    b = ctl().get('sip:dave@%s' % D, [])
    ck('... and nothing changed (all or nothing)',
       len(b) == 1 and b[0]['uri'] == 'sip:dave@%s:7001' % my and near(b[0]['exp'], 600, 5), b)
    r = ua.reg_auth(dave, contacts=[c1], expires=300, call_id=cid, cseq=11)
    ck('same Call-ID, higher CSeq gets 200 and updates',
       status_is(r, 200) and near(expires_of(r, ':7001'), 300), st(r))
    r = ua.reg_auth(dave, contacts=[c1], expires=400, call_id='other-' + token(8), cseq=1)
    ck('another Call-ID with a lower CSeq gets 200 and updates',
       status_is(r, 200) and near(expires_of(r, ':7001'), 400), st(r))
    r = ua.reg_auth(dave, contacts=[c1], expires=0, call_id=cid, cseq=12)
    ck('the old Call-ID may remove the binding updated by another Call-ID', status_is(r, 200),
       st(r))

    # --- Path (RFC 3327) and outbound (RFC 5626) (erin)
    erin = Auth('erin', users['erin'], 'SHA-256')
    r = ua.reg_auth(erin, contacts=['<sip:erin@%s:7001>' % my], expires=600, cseq=1,
                    extra=['Path: <sip:edge1.%s;lr>' % D, 'Path: <sip:edge2.%s;lr>' % D,
                           'Supported: path'])
    ck('REGISTER with Path and Supported: path gets 200', status_is(r, 200), st(r))
    paths = r.hdrs('path') if r else []
    joined = ', '.join(paths)
    ck('200 echoes the Path values in order',
       re.sub(r'\s', '', joined) == '<sip:edge1.%s;lr>,<sip:edge2.%s;lr>' % (D, D), paths)
    b = ctl().get('sip:erin@%s' % D, [])
    ck('ctl shows the stored Path', len(b) == 1 and b[0]['path'] is not None and
       'edge1.%s' % D in b[0]['path'] and 'edge2.%s' % D in b[0]['path'], b)
    r = ua.reg_auth(erin, contacts=['<sip:erin@%s:7002>' % my], expires=600, cseq=2,
                    extra=['Path: <sip:edge1.%s;lr>' % D])
    ck('Path without Supported: path is not echoed', status_is(r, 200) and not r.hdrs('path'),
       r and r.headers)
    inst = '"<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>"'
    ob = lambda port, regid: ('<sip:erin@%s:%d;transport=udp;ob>;+sip.instance=%s;reg-id=%d'
                              % (my, port, inst, regid))
    r = ua.reg_auth(erin, contacts=[ob(7101, 1)], expires=600, call_id='ob-a', cseq=1,
                    extra=['Supported: path, outbound'])
    ck('outbound REGISTER (instance + reg-id) gets 200', status_is(r, 200), st(r))
    ck('200 says Require: outbound',
       r is not None and any('outbound' in v for v in r.hdrs('require')), r and r.headers)
    r = ua.reg_auth(erin, contacts=[ob(7102, 1)], expires=600, call_id='ob-b', cseq=1,
                    extra=['Supported: outbound'])
    ck('same instance + reg-id from a new flow gets 200', status_is(r, 200), st(r))
    b = [x for x in ctl().get('sip:erin@%s' % D, []) if x['inst']]
    ck('the new flow replaced the old binding (one binding, port 7102)',
       len(b) == 1 and ':7102' in b[0]['uri'], b)
    ck('ctl shows instance and reg-id=1',
       len(b) == 1 and 'urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6' in b[0]['inst'] and
       b[0]['regid'] == '1', b)
    ck('200 lists one binding of that instance',
       r is not None and sum(1 for u, p in r.contacts() if '+sip.instance' in p) == 1,
       r and r.contacts())
    r = ua.reg_auth(erin, contacts=[ob(7103, 2)], expires=600, call_id='ob-c', cseq=1,
                    extra=['Supported: outbound'])
    b = [x for x in ctl().get('sip:erin@%s' % D, []) if x['inst']]
    ck('another reg-id of the same instance is a second flow',
       status_is(r, 200) and sorted(x['regid'] for x in b) == ['1', '2'], b)
    r = ua.reg_auth(erin, contacts=[ob(7104, 3)], expires=600, call_id='ob-d', cseq=1)
    ck('without Supported: outbound there is no Require: outbound',
       status_is(r, 200) and not any('outbound' in v for v in r.hdrs('require')),
       r and r.headers)

    # --- TCP (gina)
    tconn = Conn(srv, 'TCP')
    tua = UA(tconn, D)
    gina = Auth('gina', users['gina'], 'SHA-256')
    r = tua.reg_auth(gina, contacts=['<sip:gina@%s:%d;transport=tcp>' % tconn.local],
                     expires=600, cseq=1)
    ck('REGISTER over TCP with digest gets 200', status_is(r, 200), st(r))
    b = ctl().get('sip:gina@%s' % D, [])
    ck('ctl shows the TCP flow',
       len(b) == 1 and b[0]['via'] == 'TCP:%s:%d' % tconn.local, b)
    tconn.close()

    # --- expiry on time (frank)
    frank = Auth('frank', users['frank'], 'MD5')
    r = ua.reg_auth(frank, contacts=['<sip:frank@%s:7001>;expires=%d' % (my, a.min_expires)],
                    cseq=1)
    ck('frank registers for %d s' % a.min_expires, status_is(r, 200), st(r))
    ck('frank is listed', len(ctl().get('sip:frank@%s' % D, [])) == 1)
    time.sleep(a.min_expires + 1.5)
    regs = ctl()
    ck('after %.1f s frank\'s binding is gone from ctl' % (a.min_expires + 1.5),
       'sip:frank@%s' % D not in regs, regs['__raw__'])
    r = ua.reg_auth(frank, cseq=2)
    ck('and a query lists nothing', status_is(r, 200) and r.contacts() == [], listed(r))
    conn.close()


# ---------------------------------------------------------------- phase: stale + block

def phase_stale_block(a, ck):
    D = a.domain
    users = load_users(a.users)
    srv = ('127.0.0.1', a.port)
    # stale nonce, from 127.0.0.3
    ua = UA(Conn(srv, 'UDP', '127.0.0.3'), D)
    au = Auth('alice', users['alice'], 'SHA-256')
    r = ua.reg_auth(au, contacts=['<sip:alice@127.0.0.3:7001>'], expires=600, cseq=1)
    ck('prompt answer within the nonce lifetime gets 200', status_is(r, 200), st(r))
    ua.challenge(au)
    time.sleep(a.nonce_lifetime + 1.2)
    r = ua.register('alice', contacts=['<sip:alice@127.0.0.3:7001>'], expires=600, auth=au,
                    cseq=2)
    ck('right answer to an expired nonce gets 401', status_is(r, 401), st(r))
    chals = [parse_challenge(v) for v in (r.hdrs('www-authenticate') if r else [])]
    ck('... with stale=true in both challenges',
       len(chals) == 2 and all(c.get('stale', '').lower() == 'true' for c in chals), chals)
    if r is not None and au.take(r):
        r = ua.register('alice', contacts=['<sip:alice@127.0.0.3:7001>'], expires=600, auth=au,
                        cseq=3)
        ck('answering the fresh nonce gets 200', status_is(r, 200), st(r))
    # a wrong answer to an expired nonce is not stale (RFC 7616 §3.3)
    au_wrong = au
    ua.challenge(au_wrong)
    time.sleep(a.nonce_lifetime + 1.2)
    au_wrong.password = 'wrong'
    r = ua.register('alice', auth=au_wrong, cseq=5)
    chals = [parse_challenge(v) for v in (r.hdrs('www-authenticate') if r else [])]
    ck('a wrong answer to an expired nonce gets 401 without stale',
       status_is(r, 401) and chals and all('stale' not in c for c in chals), chals)

    # blocking, from 127.0.0.2
    ua2 = UA(Conn(srv, 'UDP', '127.0.0.2'), D)
    codes = []
    for i in range(a.fail_limit):
        bad = Auth('bob', 'wrong-%d' % i, 'MD5')
        ua2.challenge(bad)
        r = ua2.register('bob', contacts=['<sip:bob@127.0.0.2:7001>'], auth=bad, cseq=10 + i)
        codes.append(r.status if r else None)
    ck('the first %d wrong answers get 401' % a.fail_limit, codes == [401] * a.fail_limit, codes)
    good = Auth('bob', users['bob'], 'MD5')
    good.chal = bad.chal
    r = ua2.register('bob', contacts=['<sip:bob@127.0.0.2:7001>'], auth=good, cseq=50)
    ck('attempt %d (right password) gets 403' % (a.fail_limit + 1), status_is(r, 403), st(r))
    ck('... without WWW-Authenticate', r is not None and not r.hdrs('www-authenticate'),
       r and r.headers)
    r = ua2.register('bob', contacts=['<sip:bob@127.0.0.2:7001>'], cseq=51)
    ck('blocked address gets 403 with no challenge even without credentials',
       status_is(r, 403) and not r.hdrs('www-authenticate'), st(r))
    ua1 = UA(Conn(srv, 'UDP', '127.0.0.1'), D)
    au = Auth('bob', users['bob'], 'SHA-256')
    r = ua1.reg_auth(au, contacts=['<sip:bob@127.0.0.1:7001>'], expires=600, cseq=1)
    ck('another address is not blocked', status_is(r, 200), st(r))
    regs = ctl_registrations(a.sipkit, a.data)
    ck('nothing from the blocked address was bound',
       all('127.0.0.2' not in x['uri'] for x in regs.get('sip:bob@%s' % D, [])), regs['__raw__'])


# ---------------------------------------------------------------- phase: persistence

def phase_persist_reg(a, ck):
    users = load_users(a.users)
    ua = UA(Conn(('127.0.0.1', a.port), 'UDP'), a.domain)
    au = Auth(a.user, users[a.user], 'SHA-256')
    r = ua.reg_auth(au, contacts=['<sip:%s@127.0.0.1:7001>;q=0.7' % a.user,
                                  '<sip:%s@127.0.0.1:7002>;+sip.instance="<urn:uuid:1-2>";'
                                  'reg-id=1' % a.user],
                    expires=1000, cseq=1,
                    extra=['Path: <sip:p.%s;lr>' % a.domain, 'Supported: outbound'])
    ck('%s registers two bindings' % a.user, status_is(r, 200) and len(r.contacts()) == 2, st(r))
    r = ua.reg_auth(au, contacts=['<sip:%s@127.0.0.1:7003>' % a.user], expires=a.min_expires,
                    cseq=2)
    ck('%s registers a short binding (%d s)' % (a.user, a.min_expires), status_is(r, 200), st(r))
    # a refresh of an equal URI written with another host case (§19.1.4)
    r = ua.reg_auth(au, contacts=['<sip:%s@HOST.%s:7004>' % (a.user, a.domain)], expires=1000,
                    cseq=3)
    r = ua.reg_auth(au, contacts=['<sip:%s@host.%s:7004>' % (a.user, a.domain)], expires=1000,
                    cseq=4)
    ck('%s refreshes an equal URI written in another case: one binding' % a.user,
       status_is(r, 200) and sum(1 for u in listed(r) if ':7004' in u) == 1, listed(r))
    regs = ctl_registrations(a.sipkit, a.data)
    b = [x for x in regs.get('sip:%s@%s' % (a.user, a.domain), []) if ':7004' not in x['uri']]
    with open(a.state, 'w') as f:
        for x in b:
            f.write('%s %d\n' % (x['uri'], x['exp']))
    ck('%s has three bindings before the stop' % a.user, len(b) == 3, regs['__raw__'])


def phase_persist_check(a, ck):
    before = {}
    with open(a.state) as f:
        for line in f:
            u, e = line.split()
            before[u] = int(e)
    regs = ctl_registrations(a.sipkit, a.data)
    b = regs.get('sip:%s@%s' % (a.user, a.domain), [])
    long = [x for x in b if x['uri'].endswith(':7001') or x['uri'].endswith(':7002')]
    ck('%s: both long bindings are back after %s' % (a.user, a.how), len(long) == 2,
       regs['__raw__'])
    ok = all(x['uri'] in before and 0 < x['exp'] < before[x['uri']] for x in long)
    ck('%s: with expires lower than before (%s)' % (a.user, a.how), ok and long,
       [(x['uri'], before.get(x['uri']), x['exp']) for x in long])
    q = [x for x in long if x['uri'].endswith(':7001')]
    ck('%s: q=0.700 and the Path survive (%s)' % (a.user, a.how),
       q and q[0]['q'] == '0.700' and q[0]['path'] and 'p.%s' % a.domain in q[0]['path'], q)
    o = [x for x in long if x['uri'].endswith(':7002')]
    ck('%s: instance and reg-id survive (%s)' % (a.user, a.how),
       o and o[0]['inst'] and 'urn:uuid:1-2' in o[0]['inst'] and o[0]['regid'] == '1', o)
    ck('%s: the User-Agent and flow survive (%s)' % (a.user, a.how),
       long and all(x['ua'] == 'regclient/1.0' and x['via'] and x['via'].startswith('UDP:127.0.0.1:')
                    for x in long), long)
    ck('%s: the expired short binding is not loaded (%s)' % (a.user, a.how),
       not any(x['uri'].endswith(':7003') for x in b), b)
    eq = [x['uri'] for x in b if x['uri'].endswith(':7004')]
    ck('%s: the binding refreshed with an equal URI comes back once, not twice (%s)'
       % (a.user, a.how), len(eq) == 1, eq)
    # the loaded bindings still obey the CSeq rule and can be removed
    users = load_users(a.users)
    ua = UA(Conn(('127.0.0.1', a.port), 'UDP'), a.domain)
    au = Auth(a.user, users[a.user], 'SHA-256')
    r = ua.reg_auth(au, cseq=3)
    ck('%s: a query after %s lists the loaded bindings' % (a.user, a.how),
       status_is(r, 200) and sum(1 for u in listed(r) if not u.endswith(':7004')) == 2,
       listed(r))


# ---------------------------------------------------------------- phase: RFC 4475

def phase_rfc4475(a, ck):
    raw = open(a.file, 'rb').read()
    name = os.path.basename(a.file)[:-4]
    branch = re.search(rb';branch=([^;\s]+)', raw).group(1).decode()
    if a.proto == 'TCP':
        conn = Conn(('127.0.0.1', a.port), 'TCP')
    else:
        conn = Conn(('127.0.0.1', a.port), 'UDP', '127.0.0.1', 5060)
    r = conn.transact(raw, branch, timeout=6)
    conn.close()
    regs = ctl_registrations(a.sipkit, a.data)
    if name == 'cparam01':
        b = regs.get('sip:watson@example.com', [])
        ck('cparam01 gets 200', status_is(r, 200), st(r))
        ck('cparam01 binds sip:+19725552222@gw1.example.net (no URI parameter)',
           len(b) == 1 and b[0]['uri'] == 'sip:+19725552222@gw1.example.net', regs['__raw__'])
        ck('cparam01 keeps unknownparam as a Contact parameter',
           len(b) == 1 and b[0]['params'] == ';unknownparam', b)
        cs = r.contacts() if r else []
        ck('cparam01 200 lists <sip:+19725552222@gw1.example.net>;unknownparam',
           len(cs) == 1 and cs[0][0] == 'sip:+19725552222@gw1.example.net' and
           'unknownparam' in cs[0][1], cs)
    elif name == 'cparam02':
        b = regs.get('sip:watson@example.com', [])
        ck('cparam02 gets 200', status_is(r, 200), st(r))
        ck('cparam02 binds sip:+19725552222@gw1.example.net;unknownparam (with the URI param)',
           len(b) == 1 and b[0]['uri'] == 'sip:+19725552222@gw1.example.net;unknownparam' and
           b[0]['params'] == '', regs['__raw__'])
        cs = r.contacts() if r else []
        ck('cparam02 200 lists the URI with its parameter inside <>',
           len(cs) == 1 and cs[0][0] == 'sip:+19725552222@gw1.example.net;unknownparam', cs)
    elif name == 'regescrt':
        b = regs.get('sip:user@example.com', [])
        ck('regescrt gets 200', status_is(r, 200), st(r))
        ck('regescrt binds the URI with its header part',
           len(b) == 1 and b[0]['uri'] == 'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
           regs['__raw__'])
        cs = r.contacts() if r else []
        ck('regescrt 200 lists the URI with its header part',
           len(cs) == 1 and cs[0][0] == 'sip:user@example.com?Route=%3Csip:sip.example.com%3E',
           cs)
    elif name == 'unksm2':
        ck('unksm2 (To isbn:) gets 400 or 404', r is not None and r.status in (400, 404), st(r))
        ck('unksm2 binds nothing', regs['__total__'] == 0, regs['__raw__'])
    elif name == 'regaut01':
        ck('regaut01 (unknown Authorization scheme) gets 401', status_is(r, 401), st(r))
        chals = [parse_challenge(v) for v in (r.hdrs('www-authenticate') if r else [])]
        ck('regaut01 401 has a Digest challenge for realm example.com',
           chals and all(c['scheme'] == 'Digest' and c.get('realm') == 'example.com'
                         for c in chals), chals)
        ck('regaut01 binds nothing', regs['__total__'] == 0, regs['__raw__'])
    else:
        ck('known RFC 4475 message %s' % name, False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('phase', choices=['main', 'stale-block', 'persist-reg', 'persist-check',
                                     'rfc4475'])
    p.add_argument('--sipkit')
    p.add_argument('--data')
    p.add_argument('--port', type=int)
    p.add_argument('--domain', default='reg.test')
    p.add_argument('--users')
    p.add_argument('--user')
    p.add_argument('--state')
    p.add_argument('--how', default='restart')
    p.add_argument('--file')
    p.add_argument('--proto', default='UDP')
    p.add_argument('--default-expires', type=int, default=3600)
    p.add_argument('--min-expires', type=int, default=60)
    p.add_argument('--max-expires', type=int, default=86400)
    p.add_argument('--nonce-lifetime', type=int, default=300)
    p.add_argument('--fail-limit', type=int, default=10)
    a = p.parse_args()
    ck = Checks()
    fn = {'main': phase_main, 'stale-block': phase_stale_block, 'persist-reg': phase_persist_reg,
          'persist-check': phase_persist_check, 'rfc4475': phase_rfc4475}[a.phase]
    try:
        fn(a, ck)
    except Exception as e:  # a crash is a failed check, not a silent pass
        import traceback
        traceback.print_exc()
        ck('phase %s ran to the end' % a.phase, False, repr(e))
    sys.exit(ck.status())


if __name__ == '__main__':
    main()
