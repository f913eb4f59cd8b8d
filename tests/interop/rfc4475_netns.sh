#!/usr/bin/env bash
# The 49 RFC 4475 torture messages sent over UDP to a running `sipkit serve`,
# checked against the server column of tests/data/rfc4475/INDEX.md.
# The messages name outside hosts (192.0.2.x, *.example.com, 255.255.255.255)
# in their Vias, so everything runs in a private network namespace with only
# loopback: nothing the server sends can leave. Responses go where §18.2.2
# says (often the source address 127.0.0.1 with the sent-by port 5060, i.e.
# the server's own port), so they are collected by capturing on lo (dumpcap)
# and each server packet is attributed to the torture message sent last.
# Needs root (ip netns).
# usage: rfc4475_netns.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: rfc4475_netns.sh needs root for ip netns"
    exit 77 # CTest SKIP_RETURN_CODE
fi

ns=sipkit-t$$
ip netns add "$ns" || { check "create network namespace $ns" 1; interop_finish; }
cleanup_hooks+=("ip netns del $ns")
ip netns exec "$ns" ip link set lo up
ns_exec=(ip netns exec "$ns")
listen_protos=(udp)
port=5060

# capture first, so that nothing the server sends is missed
"${ns_exec[@]}" dumpcap -q -P -i lo -w "$tmp/lo.pcap" 2>"$tmp/dumpcap.err" &
cap_pid=$!
cleanup_hooks=("kill $cap_pid 2>/dev/null; wait $cap_pid 2>/dev/null" "${cleanup_hooks[@]}")
for i in $(seq 1 50); do
    grep -q 'Capturing on' "$tmp/dumpcap.err" 2>/dev/null && break
    sleep 0.1
done
grep -q 'Capturing on' "$tmp/dumpcap.err"
check "capture running inside the namespace" $? || true

# Several torture messages share a branch, sent-by and method (e.g. cparam01
# and cparam02, escnull and regescrt, novelsc and unkscm): by RFC 3261 §17.2.3
# the later one IS a retransmission of the earlier transaction, and a correct
# server answers it with the earlier response. So the messages go out in
# rounds, each to a freshly started server, no two in a round with the same
# transaction key; each round ends with an OPTIONS that must be answered.
python3 - "$srcdir/data/rfc4475" >"$tmp/rounds.txt" <<'PY'
import glob, os, re, sys
rounds = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.dat'))):
    raw = open(path, 'rb').read().decode('latin-1')
    head = raw.split('\r\n\r\n')[0]
    first = head.split('\r\n')[0]
    via = re.search(r'(?im)^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*(\S+)[ \t]+([^;,\r\n]+)([^,\r\n]*)', head)
    branch = re.search(r';\s*branch=([^;,\s]+)', via.group(3)).group(1) if via and 'branch=' in via.group(3) else ''
    method = first.split(' ')[0]
    method = 'INVITE' if method == 'ACK' else method
    key = (branch.lower(), via.group(2).strip().lower() if via else '', method) \
        if branch.lower().startswith('z9hg4bk') else None
    name = os.path.basename(path)[:-4]
    for r in rounds:
        if key is None or key not in r[0]:
            r[0].add(key); r[1].append(name)
            break
    else:
        rounds.append(({key}, [name]))
for _, names in rounds:
    print(' '.join(names))
PY
nround=0
: >"$tmp/sent.txt"
while read -r -a names; do
    nround=$((nround + 1))
    server_start "$port" --log-level "${SERVER_LOG_LEVEL:-info}" ||
        { check "round $nround: server starts inside $ns" 1; continue; }
    # every message 0.3 s apart from one client port ("PORT NAME" lines in sent.txt)
    "${ns_exec[@]}" python3 - "$srcdir/interop/lib" "$port" "$srcdir/data/rfc4475" \
        "$tmp/sent.txt" "${names[@]}" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[1])
from sipclient import udp_socket
port, d, out, names = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
s = udp_socket()
with open(out, 'a') as f:
    for name in names:
        s.sendto(open(os.path.join(d, name + '.dat'), 'rb').read(), ('127.0.0.1', port))
        f.write('%d %s\n' % (s.getsockname()[1], name))
        time.sleep(0.3)
PY
    sleep 0.3
    "${ns_exec[@]}" python3 "$helper" ping 127.0.0.1 "$port" 2.0
    check "round $nround (${#names[@]} messages): server answers an OPTIONS afterwards" $?
    server_alive
    check "round $nround: server still running" $?
    server_stop_checked
    cat "$tmp/server.log" >>"$tmp/server-all.log"
done <"$tmp/rounds.txt"
sleep 0.3
kill -INT "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null

py_checks python3 - "$srcdir/interop/lib" "$tmp/lo.pcap" "$tmp/sent.txt" "$srcdir/data/rfc4475" <<'PY'
import os, re, struct, sys
sys.path.insert(0, sys.argv[1])
from sipclient import Response, Checks
pcap, sent, d = sys.argv[2], sys.argv[3], sys.argv[4]
ck = Checks()
sent = [l.split() for l in open(sent) if l.strip()]
names = [n for _, n in sent]
ck('all 49 messages sent', len(set(names)) == 49, len(set(names)))

def udp_packets(path):
    """(src ip, src port, dst ip, dst port, payload) of every IPv4/UDP packet in a pcap."""
    data = open(path, 'rb').read()
    magic = data[:4]
    endian = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    linktype = struct.unpack(endian + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:          # Ethernet (Linux lo)
            if pkt[12:14] != b'\x08\x00':
                continue
            ip = pkt[14:]
        elif linktype == 113:      # Linux cooked
            ip = pkt[16:]
        else:
            ip = pkt
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        if struct.unpack('>H', ip[6:8])[0] & 0x3fff:
            continue               # fragment (none expected on lo)
        ihl = (ip[0] & 15) * 4
        sp, dp, ulen = struct.unpack('>HHH', ip[ihl:ihl + 6])
        yield (socket_ip(ip[12:16]), sp, socket_ip(ip[16:20]), dp, ip[ihl + 8:ihl + ulen])

def socket_ip(b):
    return '.'.join(str(x) for x in b)

# attribute every datagram the server sent to the torture message sent last;
# an identical datagram seen before is a retransmission (Timer G) and skipped
per = {n: [] for n in names}
seen = set()
cur = None
idx = 0
server_pkts = 0
for src, sp, dst, dp, payload in udp_packets(pcap):
    if dp == 5060 and sp != 5060:
        # a torture message, or a readiness/liveness OPTIONS (its answer is
        # not attributed to anything)
        if idx < len(sent) and sp == int(sent[idx][0]) and \
                payload == open(os.path.join(d, sent[idx][1] + '.dat'), 'rb').read():
            cur = sent[idx][1]
            idx += 1
        else:
            cur = None
        continue
    if sp != 5060 or src != '127.0.0.1':
        continue
    server_pkts += 1
    if cur is None or payload in seen:
        continue
    seen.add(payload)
    per[cur].append((dst, dp, payload))
ck('capture holds every message sent (%d)' % idx, idx == len(sent))
ck('capture holds datagrams from the server (%d)' % server_pkts, server_pkts > 0)

def call_id(raw):
    m = re.search(rb'(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)', raw.split(b'\r\n\r\n')[0])
    return m.group(1) if m else None

def responses(name):
    out = []
    for dst, dp, payload in per[name]:
        try:
            out.append(Response(payload))
        except ValueError:
            out.append(None)   # the server sent something that is not a response
    return out

expect_400 = {
    'badinv01': ['Via'], 'clerr': ['Content-Length'], 'ncl': ['Content-Length'],
    'scalar02': ['CSeq', 'Max-Forwards', 'Expires', 'Contact'],
    'quotbal': ['To', 'From', 'quot'], 'ltgtruri': ['Request-URI'],
    'lwsruri': ['Request-URI'],
    'insuf': ['missing', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Via'],
    'mismatch01': ['CSeq'], 'mismatch02': ['CSeq'],
    'multi01': ['CSeq', 'Max-Forwards', 'Call-ID', 'To', 'From', 'more than once'],
    'mcl01': ['Content-Length'],
}
expect_code = {'badvers': [505], 'unkscm': [416], 'novelsc': [416], 'bext01': [420],
               'zeromf': [483], 'intmeth': [501, 405], 'esc02': [501, 405]}
expect_none = ['scalarlg', 'bigcode', 'bcast', 'unreason', 'noreason']
for name in names:
    rs = responses(name)
    codes = [r.status if r else None for r in rs]
    desc = ', '.join('%s "%s" -> %s:%d' % (r.status, r.reason, dst, dp) if r else 'non-SIP'
                     for r, (dst, dp, _) in zip(rs, per[name])) or 'no response'
    print('    %-11s %s' % (name, desc))
    raw = open(os.path.join(d, name + '.dat'), 'rb').read()
    if name in expect_none:
        ck('%s: no response' % name, not rs, desc)
        continue
    ck('%s: only SIP responses sent' % name, None not in rs, desc)
    rs = [r for r in rs if r]
    if name in expect_400:
        ok = len(rs) == 1 and rs[0].status == 400
        ck('%s: one 400' % name, ok, desc)
        if ok:
            reason = rs[0].reason
            ck('%s: 400 reason names the fault ("%s")' % (name, reason),
               reason and reason != 'Bad Request' and any(k in reason for k in expect_400[name]),
               'expected one of %s' % expect_400[name])
    elif name in expect_code:
        ok = len(rs) == 1 and rs[0].status in expect_code[name]
        ck('%s: one %s' % (name, ' or '.join(map(str, expect_code[name]))), ok, desc)
        if ok and name == 'bext01':
            # RFC 4475 §3.3.5: the options of Require or of Proxy-Require,
            # depending on the role (a request for another domain: Proxy-Require)
            unsup = set(t.strip() for v in rs[0].headers.get('unsupported', [])
                        for t in v.split(','))
            ck('bext01: 420 lists the unknown options in Unsupported (%s)' % ', '.join(sorted(unsup)),
               unsup in ({'nothingSupportsThis', 'nothingSupportsThisEither'},
                         {'noProxiesSupportThis', 'norDoAnyProxiesSupportThis'}))
    else:
        ck('%s: no 5xx other than 501/505' % name,
           all(not (500 <= c < 600) or c in (501, 505) for c in codes), desc)
        # all of these reach the server's request handling: exactly one answer
        ck('%s: one response' % name, len(rs) == 1, desc)
    # a response must belong to its request
    cid = call_id(raw)
    for r in rs:
        if cid and r.hdr('call-id') is not None:
            ck('%s: response has the request\'s Call-ID' % name,
               r.hdr('call-id').encode() == cid, '%s vs %s' % (r.hdr('call-id'), cid))
PY

interop_finish
