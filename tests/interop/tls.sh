#!/usr/bin/env bash
# SIP over TLS (issue 17; RFC 3261 §26.2, RFC 5630, RFC 5922), with peers we did not
# write (OpenSSL's s_client, tshark) and two `sipkit phone`s:
#   - zero-config: `sipkit serve --listen tls:...` without --tls-cert makes a
#     self-signed certificate in --data, logs its SHA-256 fingerprint (the one
#     `openssl x509 -fingerprint` prints) and reuses it after a restart
#   - s_client: TLS 1.2 and 1.3 handshakes verify against that certificate for
#     the IP we listen on; TLS 1.1 and 1.0 are refused; an OPTIONS over TLS gets
#     200 with its Via TLS; tshark, given the client's key log (SSLKEYLOGFILE
#     format), decodes the SIP inside and finds nothing malformed
#   - a certificate from the test's own CA: a phone trusting that CA registers;
#     one for another name, an expired one, and an untrusted self-signed one are
#     refused by the phone (RFC 5922 §7.3: the name is the registrar's host)
#   - two phones on TLS register (bindings via TLS), call through the proxy
#     (INVITE to bob over his registration's connection), RTP flows both ways
#   - bad input: a stalled handshake is closed after --tls-handshake-timeout; a
#     truncated record and garbage on the TLS port, a ClientHello on the UDP port:
#     the server keeps answering, no sanitizer report
# Loopback only; ports picked at run time.
# usage: tls.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

for tool in openssl python3 tshark; do
    command -v "$tool" >/dev/null || { echo "$tool missing: skipped"; exit 77; }
done

port=$(free_port both 2)
tport=$((port + 1))
listen_protos=(udp)
pw_alice="alice-pw-$$"
pw_bob="bob-pw-$$"
users_add alice:"$pw_alice" bob:"$pw_bob" || interop_finish

# ---- zero-config certificate ----
server_start "$port" --listen "tls:127.0.0.1:$tport" --tls-handshake-timeout 2 --log-level debug
check "sipkit serve with a tls: listener and no --tls-cert starts" $? || interop_finish
crt=$tmp/data/tls-selfsigned.crt
[ -s "$crt" ] && [ -s "$tmp/data/tls-selfsigned.key" ]
check "a self-signed certificate and key were made in --data" $?
fp=$(openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/.*=//')
grep -q "self-signed.*fingerprint $fp" "$tmp/server.log"
check "the log names the certificate's SHA-256 fingerprint ($fp)" $? || grep tls "$tmp/server.log"
perm=$(stat -c %a "$tmp/data/tls-selfsigned.key")
[ "$perm" = 600 ]
check "the private key is readable by its owner only (mode $perm)" $?

sclient() { # VERSION-FLAG [more s_client args]: handshake, print the session summary
    timeout 10 openssl s_client -connect "127.0.0.1:$tport" "$@" </dev/null 2>&1
}
for v in tls1_2 tls1_3; do
    out=$(sclient -$v -CAfile "$crt" -verify_ip 127.0.0.1 -verify_return_error)
    want=$([ $v = tls1_2 ] && echo TLSv1.2 || echo TLSv1.3)
    grep -qE "(Protocol *: *|New, )$want" <<<"$out" && grep -q "Verify return code: 0 (ok)" <<<"$out"
    check "s_client -$v: $want handshake, certificate verified for 127.0.0.1" $? ||
        grep -E "Protocol|Verify|error" <<<"$out" | head -5 | sed 's/^/    /'
done
for v in tls1_1 tls1; do
    out=$(sclient -$v -cipher 'DEFAULT:@SECLEVEL=0')
    ! grep -q "Cipher is [A-Z]" <<<"$out" || grep -q "Cipher is (NONE)" <<<"$out"
    check "s_client -$v: refused (no session)" $? || grep -E "Protocol|Cipher" <<<"$out" | sed 's/^/    /'
done

# ---- OPTIONS over TLS, decoded by tshark with the client's keys ----
capture_start "$tmp/tls.pcapng" "tcp port $tport" || interop_finish
opt=$(printf 'OPTIONS sip:127.0.0.1:%s;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls1;rport\r\nFrom: <sip:probe@localhost>;tag=t1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: tls-probe-%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' "$tport" $$)
out=$( (printf '%s\n' "$opt"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$tport" \
    -quiet -CAfile "$crt" -keylogfile "$tmp/keys.log" 2>/dev/null)
grep -q '^SIP/2.0 200' <<<"$out" && grep -q '^Via: SIP/2.0/TLS .*received=127.0.0.1' <<<"$out"
check "OPTIONS over TLS: 200 OK back on the connection, Via TLS with received" $? ||
    head -5 <<<"$out" | sed 's/^/    /'
sleep 1
kill "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null
dec=$(tshark -r "$tmp/tls.pcapng" -o "tls.keylog_file:$tmp/keys.log" -d "tcp.port==$tport,tls" \
    -d "tls.port==$tport,sip" -Y sip -T fields -e sip.Status-Line -e sip.Request-Line 2>&1)
grep -q "SIP/2.0 200 OK" <<<"$dec" && grep -q "OPTIONS sip:" <<<"$dec"
check "tshark with the key log decodes the OPTIONS and the 200 inside TLS" $? || sed 's/^/    /' <<<"$dec"
mal=$(tshark -r "$tmp/tls.pcapng" -o "tls.keylog_file:$tmp/keys.log" -d "tcp.port==$tport,tls" \
    -d "tls.port==$tport,sip" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | grep -c .)
[ "$mal" -eq 0 ]
check "tshark finds nothing malformed in what sipkit sent over TLS ($mal)" $?

# ---- bad input ----
python3 - "$tport" "$port" >"$tmp/bad.out" 2>&1 <<'EOF'
import socket, sys, time
tport, uport = int(sys.argv[1]), int(sys.argv[2])
ok = True
# a handshake that never comes: closed after the deadline (2 s), not kept open
s = socket.create_connection(("127.0.0.1", tport)); s.settimeout(8)
t0 = time.time(); s.send(b"\x16\x03")  # two bytes of a record header, then nothing
try:
    d = s.recv(100)
    took = time.time() - t0
    print("stalled: closed after %.1f s" % took)
    ok &= d == b"" and 1.5 <= took <= 6
except socket.timeout:
    print("stalled: still open after 8 s"); ok = False
# garbage and a truncated record: closed, nothing else
for junk in (b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x40\x00" + b"\x01" * 100):
    s = socket.create_connection(("127.0.0.1", tport)); s.settimeout(5)
    s.send(junk); s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096): pass
    except socket.timeout:
        print("junk %r: not closed" % junk[:8]); ok = False
    s.close()
# a TLS ClientHello on the UDP SIP port: nothing breaks
hello = bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32 + b"\x00\x00\x02\x13\x01\x01\x00"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(hello, ("127.0.0.1", uport))
print("ok" if ok else "FAILED")
EOF
grep -q '^ok$' "$tmp/bad.out"
check "stalled handshake closed by the deadline; garbage and truncated records closed" $? ||
    sed 's/^/    /' "$tmp/bad.out"
grep -q "stalled: closed" "$tmp/bad.out" && sed 's/^/    /' "$tmp/bad.out" | head -1
server_alive && wait_ready 127.0.0.1 "$port"
check "the server still answers after the bad input" $?

# ---- two phones on TLS: register, call, audio ----
common=(--listen "tls:127.0.0.1:0" --tls-ca "$crt" --registrar "sip:127.0.0.1:$tport;transport=tls"
        --outbound-proxy "sip:127.0.0.1:$tport;transport=tls" --rtp-ports 20000-40000)
phone_start bob "${common[@]}" --user sip:bob@localhost --password "$pw_bob" --auto-answer 0 --play tone:1000
phone_start alice "${common[@]}" --user sip:alice@localhost --password "$pw_alice" --play tone:440
phone_wait bob registered && phone_wait alice registered
check "alice and bob register over TLS (the server's certificate verified)" $? ||
    tail -n 5 "$tmp/alice.err" "$tmp/bob.err" | sed 's/^/    /'
out=$("$sipkit" ctl registrations --data "$tmp/data" 2>&1)
n=$(grep -c 'via TLS:' <<<"$out")
[ "$n" -eq 2 ]
check "both bindings are TLS flows (got $n)" $? || sed 's/^/    /' <<<"$out"
phone_cmd alice "call sip:bob@localhost"
phone_wait alice answered 15 && phone_wait bob answered 5
check "alice calls bob through sipkit over TLS: answered on both sides" $?
sleep 3
phone_cmd alice hangup
phone_wait alice hungup && phone_wait bob hungup
check "the call ends on both sides" $?
rx_a=$(ev alice get hungup quality.received.packets 2>/dev/null || echo 0)
rx_b=$(ev bob get hungup quality.received.packets 2>/dev/null || echo 0)
[ "${rx_a:-0}" -gt 50 ] && [ "${rx_b:-0}" -gt 50 ]
check "RTP both ways during the TLS-signalled call (alice got $rx_a, bob $rx_b packets)" $?
phone_quit alice
phone_quit bob
check_no_sanitizer "alice" "$tmp/alice.err"
check_no_sanitizer "bob" "$tmp/bob.err"

# ---- restart: the same certificate ----
server_stop_checked
server_start "$port" --listen "tls:127.0.0.1:$tport"
check "restarted" $? || interop_finish
fp2=$(openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/.*=//')
[ "$fp2" = "$fp" ]
check "the zero-config certificate is kept across restarts" $?
server_stop_checked

# ---- certificates from the test's own CA: right name, wrong name, expired ----
ca=$tmp/ca
mkdir -p "$ca"
(
    cd "$ca" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
        -days 30 -subj "/CN=sipkit test CA" 2>/dev/null || exit 1
    mkcert() { # NAME SAN [ca-args]
        local n=$1 san=$2
        shift 2
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n.key" -out "$n.csr" \
            -subj "/CN=$n" 2>/dev/null || return 1
        printf 'subjectAltName=%s\n' "$san" >"$n.ext"
        openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" \
            -extfile "$n.ext" "$@" 2>/dev/null
    }
    mkcert good "IP:127.0.0.1,DNS:localhost" -days 10 &&
        mkcert wrongname "DNS:sip.other.test,IP:192.0.2.1" -days 10 &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout selfsigned.key \
            -out selfsigned.crt -days 10 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    # expired: valid for a day, a year ago (a minimal `openssl ca`)
    mkdir -p db && : >db/index && echo 1000 >db/serial
    cat >ca.cnf <<CNF
[ca]
default_ca = c
[c]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = p
copy_extensions = copy
[p]
commonName = supplied
CNF
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr \
        -subj "/CN=expired" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null &&
        openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
            -startdate 20250101000000Z -enddate 20250102000000Z 2>/dev/null
)
check "the test CA issued good, wrong-name, self-signed and expired certificates" $? || interop_finish

# tls_register TAG CERT WANT(registered|registration-failed): a server with CERT, a phone
# trusting the test CA (the self-signed one: trusting nothing but the CA)
tls_register() {
    local tag=$1 cert=$2 want=$3
    server_start "$port" --listen "tls:127.0.0.1:$tport" --tls-cert "$ca/$cert.crt" \
        --tls-key "$ca/$cert.key" --tls-require-cert on
    check "$tag: server started with --tls-cert $cert.crt" $? || return 1
    # --t1 100: a refused handshake ends the REGISTER by Timer F (6.4 s), not 32 s
    phone_start "p_$tag" --listen "tls:127.0.0.1:0" --tls-ca "$ca/ca.crt" --t1 100 \
        --registrar "sip:127.0.0.1:$tport;transport=tls" --user sip:alice@localhost --password "$pw_alice"
    phone_wait "p_$tag" "$want" 20
    check "$tag: the phone's registration ends $want" $? ||
        tail -n 5 "$tmp/p_$tag.err" "$tmp/p_$tag.log" | sed 's/^/    /'
    if [ "$want" = registration-failed ]; then
        ! phone_has "p_$tag" registered
        check "$tag: and never registered" $?
    fi
    phone_quit "p_$tag"
    server_stop_checked
}
tls_register good good registered
tls_register wrongname wrongname registration-failed
tls_register expired expired registration-failed
tls_register selfsigned selfsigned registration-failed
check_no_sanitizer "server" "$tmp/server.log"
interop_finish
