#!/usr/bin/env bash
# Instant messages (RFC 3428, issue 18) between two `sipkit phone`s through
# `sipkit serve` (digest auth on, the phones answer the proxy's 407):
#   - alice -> bob and bob -> alice: each side prints message-sent 200, the
#     other message-received with the sender, text/plain and the text as typed
#     (spaces, UTF-8)
#   - to carol (a user who is not registered): 480; to nobody (no such user): 404
#   - straight to bob's phone from a raw socket: a MESSAGE without a body gets
#     400, one over the 4096-byte limit 413, an application/octet-stream one 200
#     and a one-line summary, not the bytes
#   - clean exits, no sanitizer report
# Ports are picked at run time; everything on loopback.
# usage: phone_message.sh SIPKIT_BINARY TESTS_SOURCE_DIR [WAVCHECK_BINARY]
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v python3 >/dev/null || { check "python3 installed" 1; interop_finish; }

pw_alice="alice-pw-$$"
pw_bob="bob-pw-$$"
users_add alice:"$pw_alice" bob:"$pw_bob" carol:carol-pw || interop_finish
port=$(free_port)
server_start "$port" --domain localhost
check "sipkit serve answers on port $port" $? || interop_finish

common=(--listen udp:127.0.0.1:0 --registrar "sip:127.0.0.1:$port"
        --outbound-proxy "sip:127.0.0.1:$port" --rtp-ports 20000-40000)
phone_start bob "${common[@]}" --user sip:bob@localhost --password "$pw_bob"
phone_start alice "${common[@]}" --user sip:alice@localhost --password "$pw_alice"
phone_wait bob registered && phone_wait alice registered
check "both phones registered" $? || {
    tail -n 5 "$tmp/alice.err" "$tmp/bob.err" | sed 's/^/    /'; interop_finish; }

phone_cmd alice "msg bob hello bob, how are you? ünïcode"
phone_wait alice message-sent && phone_wait bob message-received
check "alice -> bob: sent and received" $?
out=$(ev alice get message-sent status)
[ "$out" = 200 ]
check "alice's MESSAGE answered 200 (got $out)" $?
out=$(ev bob get message-received text)
[ "$out" = "hello bob, how are you? ünïcode" ]
check "bob got the text as typed (got '$out')" $?
out=$(ev bob get message-received peer)/$(ev bob get message-received content_type)
[ "$out" = "sip:alice@localhost/text/plain" ]
check "bob sees the sender and text/plain (got $out)" $?

phone_cmd bob "msg sip:alice@localhost fine, thanks"
phone_wait bob message-sent && phone_wait alice message-received
check "bob -> alice: sent and received" $?
out=$(ev bob get message-sent status)/$(ev alice get message-received text)
[ "$out" = "200/fine, thanks" ]
check "bob's MESSAGE answered 200, alice got the text (got $out)" $?

phone_cmd alice "msg carol are you there?"
phone_wait alice message-sent 10 2
out=$(ev alice get message-sent status)
[ "$out" = 480 ]
check "a MESSAGE to carol, who is not registered: 480 (got $out)" $?
phone_cmd alice "msg nobody hello?"
phone_wait alice message-sent 10 3
out=$(ev alice get message-sent status)
[ "$out" = 404 ]
check "a MESSAGE to a user the server does not know: 404 (got $out)" $?

# straight to bob's phone: the bodies it refuses, and one it summarises
bob_hp=$(ev bob get registered contact | sed -n 's/.*@\([0-9.]*:[0-9]*\).*/\1/p')
[ -n "$bob_hp" ]
check "bob's contact address known ($bob_hp)" $?
py_checks python3 - "${bob_hp%:*}" "${bob_hp#*:}" <<'EOF'
import socket, sys, random
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
s.settimeout(3)
me = s.getsockname()[1]
def send(ctype, body):
    b = 'z9hG4bK%08x' % random.getrandbits(32)
    hdr = ('MESSAGE sip:bob@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n'
           'From: <sip:raw@127.0.0.1>;tag=r%d\r\nTo: <sip:bob@localhost>\r\n'
           'Call-ID: %s@raw\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n'
           % (host, port, me, b, random.getrandbits(16), b))
    if ctype:
        hdr += 'Content-Type: %s\r\n' % ctype
    msg = hdr.encode() + b'Content-Length: %d\r\n\r\n' % len(body) + body
    s.sendto(msg, (host, port))
    while True:
        try:
            data = s.recv(65535).decode('utf-8', 'replace')
        except socket.timeout:
            return None
        if b in data:
            return int(data.split()[1])
def check(name, got, want):
    print('%s: %s (got %s)' % ('ok' if got == want else 'FAIL', name, got))
check('a MESSAGE without a body: 400', send('text/plain', b''), 400)
check('a MESSAGE of 5000 bytes: 413', send('text/plain', b'x' * 5000), 413)
check('a MESSAGE of 4096 bytes: 200', send('text/plain', b'y' * 4096), 200)
check('an application/octet-stream MESSAGE: 200', send('application/octet-stream', b'\x00\x01\x02\xff'), 200)
EOF
phone_wait bob message-received 5 4
out=$(ev bob get message-received text)
[ "$out" = "[4 bytes of application/octet-stream]" ]
check "bob prints a summary of the binary body (got '$out')" $?

phone_quit alice
check "alice exits 0 (status ${phone_rc[alice]})" $?
phone_quit bob
check "bob exits 0 (status ${phone_rc[bob]})" $?
check_no_sanitizer alice "$tmp/alice.err"
check_no_sanitizer bob "$tmp/bob.err"
server_stop_checked
interop_finish
