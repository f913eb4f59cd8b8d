"""Reads the JSON event lines of `sipkit phone --json` / `sipkit call --json`
for the end-to-end tests (tests/ua).

    uaevents.py list FILE                     the event names, one a line
    uaevents.py order FILE EV...              exit 0 if the events, leaving out
                                              info and status lines, are exactly EV...
                                              (an EV written NAME? may be missing)
    uaevents.py get FILE EVENT PATH [N]       the field PATH (dotted: quality.received.mos)
                                              of the Nth EVENT (1 = first, -1 = last,
                                              the default); exit 1 if there is none
    uaevents.py digits FILE                   the digits of the dtmf-received events
    uaevents.py quality FILE LABEL [MIN_PACKETS]
                                              "ok:"/"FAIL:" lines on the last hungup
                                              report: PCMU, 0 lost and > MIN_PACKETS
                                              (400) packets each way, MOS > 4.0, RTT known
Lines that are not JSON objects count as errors (exit 2): the program must
print nothing else on stdout.
"""
import json
import re
import sys


def load(path):
    out = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                print('%s:%d: not JSON (%s): %r' % (path, n, e, line[:120]), file=sys.stderr)
                sys.exit(2)
            if not isinstance(obj, dict) or 'event' not in obj:
                print('%s:%d: not an event: %r' % (path, n, line[:120]), file=sys.stderr)
                sys.exit(2)
            out.append(obj)
    return out


def check(name, cond, got):
    print('%s: %s (got %s)' % ('ok' if cond else 'FAIL', name, got))


def quality(events, label, min_packets):
    hung = [e for e in events if e['event'] == 'hungup']
    q = hung[-1].get('quality') if hung else None
    if not isinstance(q, dict):
        print('FAIL: %s: a hungup event with a quality report' % label)
        return 0
    check('%s: codec PCMU/8000' % label, q.get('codec') == 'PCMU/8000', q.get('codec'))
    for d in ('received', 'sent'):
        r = q.get(d) or {}
        pk, lost, mos = r.get('packets'), r.get('lost'), r.get('mos')
        check('%s: %s > %d packets' % (label, d, min_packets),
              isinstance(pk, int) and pk > min_packets, pk)
        check('%s: %s 0 lost' % (label, d), lost == 0, lost)
        check('%s: %s MOS > 4.0' % (label, d), isinstance(mos, (int, float)) and mos > 4.0, mos)
    rtt = q.get('rtt_ms')
    check('%s: RTT known' % label, isinstance(rtt, (int, float)) and rtt >= 0, rtt)
    return 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, events = argv[1], load(argv[2])
    names = [e['event'] for e in events]
    if cmd == 'list':
        print('\n'.join(names))
        return 0
    if cmd == 'order':
        got = [n for n in names if n not in ('info', 'status')]
        # "NAME?" may be missing (a 180 that a proxy forwards after the 200 is dropped)
        pat = ''.join('(?:%s )?' % re.escape(t[:-1]) if t.endswith('?') else re.escape(t) + ' '
                      for t in argv[3:])
        if re.fullmatch(pat, ''.join(n + ' ' for n in got)):
            return 0
        print('events: %s' % ' '.join(got), file=sys.stderr)
        return 1
    if cmd == 'digits':
        print(''.join(e.get('digit', '?') for e in events if e['event'] == 'dtmf-received'))
        return 0
    if cmd == 'quality' and len(argv) >= 4:
        return quality(events, argv[3], int(argv[4]) if len(argv) > 4 else 400)
    if cmd == 'get' and len(argv) >= 5:
        n = int(argv[5]) if len(argv) > 5 else -1
        sel = [e for e in events if e['event'] == argv[3]]
        try:
            v = sel[n - 1 if n > 0 else n]
            for k in argv[4].split('.'):
                v = v[k]
        except (IndexError, KeyError, TypeError):
            return 1
        print(v if isinstance(v, str) else json.dumps(v))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
