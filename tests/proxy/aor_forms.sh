#!/usr/bin/env bash
# sipkit serve reached the way a new user tries it: SIPp's stock caller dials
# sip:USER@ADDR:PORT (INVITE sip:[service]@[remote_ip]:[remote_port]), the server's own
# address and port. Every spelling of a Request-URI that names this server reaches the
# AOR sip:user@domain (RFC 3261 §10.3 step 5, §16.5), in the location service and the
# users table alike, in proxy and redirect mode:
#   - callee registered as SIPp does (To sip:uas@127.0.0.1), called as
#     sip:uas@ADDR:PORT and sip:uas@ADDR
#   - callee registered To sip:uasp@ADDR:PORT, called as sip:uasp@ADDR
#   - callee registered at the domain, called as sip:dom@DOMAIN and sip:dom@DOMAIN:PORT
#   - sip:far@127.0.0.2:P (a host not ours, a port we do not listen on) and
#     sip:far@127.0.0.1:P (our address, a port we do not listen on: another server
#     there) are proxied to that address as foreign targets
#   - redirect mode (after a restart: the bindings come back from the store): 302 for
#     each spelling, 480 for a known user without a binding, sips:
#   - with authentication, the realm of a caller of ours is its AOR's domain
#   - a wildcard listener (0.0.0.0, in a network namespace): sip:uas@127.0.0.1:PORT is ours
#   - a dialog with a callee on port 5060 of our address (Contact sip:x@ADDR, no port)
#     while we listen elsewhere: its ACK and BYE (our Route, Request-URI sip:x@ADDR) are
#     forwarded to it, not taken for an AOR of ours (aor_dialog.py; on 127.0.0.5, so
#     that 5060 is most likely free)
# Ports are picked free at run time. usage: aor_forms.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
listen_protos=(udp tcp)
ps=$srcdir/proxy/scenarios
px=$srcdir/proxy/pxclient.py

for tool in sipp python3; do
    command -v "$tool" >/dev/null || { check "$tool installed" 1; interop_finish; }
done

pb=$(free_port both 12) && p_far=$(free_port both 1 127.0.0.2) ||
    { check "free ports found" 1; interop_finish; }
port=$pb p_uas=$((pb + 1)) p_uasp=$((pb + 2)) p_dom=$((pb + 3)) p_far_ours=$((pb + 4))
c1=$((pb + 5)) c2=$((pb + 6)) c3=$((pb + 7)) c4=$((pb + 8)) c5=$((pb + 9)) c6=$((pb + 10))
c7=$((pb + 11))

# uas NAME ADDR PORT COUNT: a SIPp callee in the background
uas() {
    sipp_uas "$1" "$ps/uas_answer.xml" "$2" "$3" "$4" -d 0 -trace_msg -message_file "$tmp/$1.msg"
}
# scenario NAME HOSTPART: SIPp's caller with the Request-URI and To sip:[service]@HOSTPART
scenario() {
    sed "s/sip:\[service\]@localhost/sip:[service]@$2/g" "$ps/uac_call.xml" >"$tmp/$1.xml"
    grep -q "INVITE sip:\[service\]@$2 SIP/2.0" "$tmp/$1.xml"
}
# call NAME SCENARIO USER COUNT LPORT: the caller makes COUNT calls, all answered
call() {
    run_sipp "$1" "$tmp/$2.xml" "$4" u1 "$5" -s "$3" -r 10
    check_sipp_run "$1" $? "$4"
}
# reg USER DOMAIN CONTACT: REGISTER sip:DOMAIN with To sip:USER@DOMAIN
reg() {
    local st
    st=$(python3 - "$srcdir" "$port" "$1" "$2" "$3" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/interop/lib')
from sipclient import Conn, UA
c = Conn(('127.0.0.1', int(sys.argv[2])))
r = UA(c, sys.argv[4]).register(sys.argv[3], contacts=[sys.argv[5]], expires=300)
print(r.status if r else 'none')
PY
)
    [ "$st" = 200 ]
    check "REGISTER To sip:$1@$2 ($st)" $?
}

scenario stock '\[remote_ip\]:\[remote_port\]' &&
    scenario addr '\[remote_ip\]' &&
    scenario domain 'localhost' &&
    scenario domain_port 'localhost:\[remote_port\]' &&
    scenario far_foreign "127.0.0.2:$p_far" &&
    scenario far_ours "127.0.0.1:$p_far_ours"
check "caller scenarios written" $? || interop_finish

# users as the issue has them: the callee is a user of 127.0.0.1, another of localhost
for u in uas@127.0.0.1 uasp@127.0.0.1 henry@127.0.0.1 dom@localhost uass@127.0.0.1; do
    "$sipkit" user add "$u" --password "pw-$$" --data "$tmp/data" >/dev/null 2>&1
    check "user $u added" $?
done

# ---- proxy mode
server_start "$port" --auth off --domain localhost || { check "proxy starts" 1; interop_finish; }
reg uas 127.0.0.1 "<sip:uas@127.0.0.1:$p_uas>"
reg uasp "127.0.0.1:$port" "<sip:uasp@127.0.0.1:$p_uasp>"
reg dom localhost "<sip:dom@127.0.0.1:$p_dom>"
# a sips AOR (To sips:...: not the sip one, §19.1.4); reached in redirect mode below, as
# the proxy has no TLS to forward sips on
st=$(python3 - "$srcdir" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/interop/lib')
from sipclient import Conn, UA
c = Conn(('127.0.0.1', int(sys.argv[2])))
r = UA(c, '127.0.0.1:%s' % sys.argv[2]).register(
    'uass', to='sips:uass@127.0.0.1:%s' % sys.argv[2],
    contacts=['<sips:uass@127.0.0.1:5061>'], expires=300)
print(r.status if r else 'none')
PY
)
[ "$st" = 200 ]
check "REGISTER To sips:uass@127.0.0.1:$port ($st)" $?
regs=$("$sipkit" ctl registrations --data "$tmp/data" 2>&1)
for a in sip:uas@127.0.0.1 sip:uasp@127.0.0.1 sip:dom@localhost sips:uass@127.0.0.1; do
    printf '%s\n' "$regs" | grep -q -x -F "$a"
    check "ctl registrations lists the AOR $a (no port)" $? || printf '%s\n' "$regs" | sed 's/^/    /'
done

uas uas_addr 127.0.0.1 "$p_uas" 6
call call_stock stock uas 3 "$c1"
call call_addr addr uas 3 "$c2"
uas_done uas_addr 6

uas uas_port 127.0.0.1 "$p_uasp" 3
call call_addr_regport addr uasp 3 "$c3"
uas_done uas_port 3

uas uas_dom 127.0.0.1 "$p_dom" 6
call call_domain domain dom 3 "$c4"
call call_domain_port domain_port dom 3 "$c5"
uas_done uas_dom 6

# foreign targets: the Request-URI itself is the target (§16.5), sent to its address
uas uas_far 127.0.0.2 "$p_far" 2
call call_far_foreign far_foreign far 2 "$c6"
uas_done uas_far 2
grep -q "INVITE sip:far@127.0.0.2:$p_far SIP/2.0" "$tmp/uas_far.msg"
check "sip:far@127.0.0.2:$p_far reached 127.0.0.2:$p_far with its Request-URI unchanged" $?
uas uas_far_ours 127.0.0.1 "$p_far_ours" 2
call call_far_ours far_ours far 2 "$c7"
uas_done uas_far_ours 2
grep -q "INVITE sip:far@127.0.0.1:$p_far_ours SIP/2.0" "$tmp/uas_far_ours.msg"
check "sip:far@127.0.0.1:$p_far_ours (our address, not our port) was proxied there" $?

# no binding: 480 for a known user of 127.0.0.1 in every spelling, 404 for an unknown one
py_checks python3 - "$px" "$port" <<'PY'
import sys, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from pxclient import Caller, call
from sipclient import Checks
port = int(sys.argv[2])
ck = Checks()
c = Caller(port)
for ruri in ('sip:henry@127.0.0.1:%d' % port, 'sip:henry@127.0.0.1'):
    call(c, ck, 'proxy: %s (a user, no binding): 480' % ruri, ruri, 480)
call(c, ck, 'proxy: sip:nobody@127.0.0.1:%d: 404' % port, 'sip:nobody@127.0.0.1:%d' % port, 404)
# a REGISTER for our address with a port we do not listen on names another server
from sipclient import Conn, UA
other = port + 1 if port < 65535 else port - 1
conn = Conn(('127.0.0.1', port))
r = UA(conn, '127.0.0.1:%d' % port).register(
    'uas', to='sip:uas@127.0.0.1:%d' % other, contacts=['<sip:uas@127.0.0.1:9>'], expires=60)
ck('REGISTER To sip:uas@127.0.0.1:%d (not our port): 404' % other,
   r is not None and r.status == 404, r)
r = UA(conn, '127.0.0.1:%d' % other).register(
    'uas', contacts=['<sip:uas@127.0.0.1:9>'], expires=60)
ck('REGISTER sip:127.0.0.1:%d (not our port): 403, not served here' % other,
   r is not None and r.status == 403, r)
conn.close()
PY
server_stop_checked

# ---- redirect mode, after a restart: the bindings are loaded from the store
server_start "$port" --auth off --domain localhost --mode redirect ||
    { check "redirect server starts" 1; interop_finish; }
py_checks python3 - "$px" "$port" "$p_uas" "$p_uasp" "$p_dom" <<'PY'
import sys, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from pxclient import Caller, call
from sipclient import Checks
port, p_uas, p_uasp, p_dom = (int(x) for x in sys.argv[2:6])
ck = Checks()
c = Caller(port)
cases = [('sip:uas@127.0.0.1:%d' % port, 'sip:uas@127.0.0.1:%d' % p_uas),
         ('sip:uas@127.0.0.1', 'sip:uas@127.0.0.1:%d' % p_uas),
         ('sip:uasp@127.0.0.1', 'sip:uasp@127.0.0.1:%d' % p_uasp),
         ('sip:uasp@127.0.0.1:%d' % port, 'sip:uasp@127.0.0.1:%d' % p_uasp),
         ('sip:dom@localhost', 'sip:dom@127.0.0.1:%d' % p_dom),
         ('sip:dom@localhost:%d' % port, 'sip:dom@127.0.0.1:%d' % p_dom),
         ('sips:uass@127.0.0.1:%d' % port, 'sips:uass@127.0.0.1:5061')]
for ruri, contact in cases:
    r = call(c, ck, 'redirect: %s gets 302' % ruri, ruri, 302)
    cts = r.headers.get('contact', []) if r else []
    ck('redirect: %s lists %s' % (ruri, contact), any(contact in v for v in cts), cts)
for ruri in ('sip:henry@127.0.0.1:%d' % port, 'sip:henry@127.0.0.1'):
    call(c, ck, 'redirect: %s (a user, no binding): 480' % ruri, ruri, 480)
call(c, ck, 'redirect: sips:uas@127.0.0.1 (only a sip binding): 480', 'sips:uas@127.0.0.1', 480)
call(c, ck, 'redirect: sip:far@127.0.0.1:%d (not our port): 404 not served' % (port + 1 if port < 65535 else port - 1),
     'sip:far@127.0.0.1:%d' % (port + 1 if port < 65535 else port - 1), 404)
PY
server_stop_checked

# ---- with authentication: the realm of our caller is its AOR's domain (the users
# table's key), whatever the case or port its From is written with
server_start "$port" --domain localhost --digest md5 || { check "proxy with auth starts" 1; interop_finish; }
py_checks python3 - "$px" "$port" <<'PY'
import re, sys, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from pxclient import Caller, call
from sipclient import Checks
port = int(sys.argv[2])
ck = Checks()
c = Caller(port)
for frm, realm in (('sip:dom@LOCALHOST', 'localhost'), ('sip:uas@127.0.0.1:%d' % port, '127.0.0.1'),
                   ('sip:uas@127.0.0.1', '127.0.0.1')):
    r = call(c, ck, 'From %s: 407' % frm, 'sip:dom@localhost:%d' % port, 407, from_uri=frm)
    chal = ' '.join(r.headers.get('proxy-authenticate', [])) if r else ''
    ck('From %s: challenged for realm "%s"' % (frm, realm), 'realm="%s"' % realm in chal, chal)
PY
server_stop_checked

# ---- a wildcard listener: every local address is ours (in a network namespace of
# its own, where lo is the only interface, so nothing listens beyond loopback)
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && ip netns add "sipkit-aor-$$" 2>/dev/null; then
    cleanup_hooks+=("ip netns del sipkit-aor-$$ 2>/dev/null")
    nx=(ip netns exec "sipkit-aor-$$")
    "${nx[@]}" ip link set lo up
    rm -f "$tmp/server.log"
    "${nx[@]}" "$sipkit" serve --listen "udp:0.0.0.0:$port" --listen "tcp:0.0.0.0:$port" \
        --workers 2 --auth off --domain localhost --data "$tmp/dataw" >"$tmp/server.log" 2>&1 &
    server_pid=$!
    if wait_ready 127.0.0.1 "$port" "${nx[@]}"; then
        st=$("${nx[@]}" python3 - "$srcdir" "$port" "$p_uas" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + '/interop/lib')
from sipclient import Conn, UA
c = Conn(('127.0.0.1', int(sys.argv[2])))
r = UA(c, '127.0.0.1').register('uas', contacts=['<sip:uas@127.0.0.1:%s>' % sys.argv[3]],
                                expires=300)
print(r.status if r else 'none')
PY
)
        [ "$st" = 200 ]
        check "wildcard listener: REGISTER To sip:uas@127.0.0.1 ($st)" $?
        "${nx[@]}" timeout -k 5 60 sipp -sf "$ps/uas_answer.xml" -i 127.0.0.1 -p "$p_uas" -m 2 \
            -nostdin -t u1 -d 0 -trace_stat -stf "$tmp/uas_wild.csv" -fd 1 \
            >"$tmp/uas_wild.out" 2>&1 </dev/null &
        uas_pid[uas_wild]=$!
        cleanup_hooks+=("kill ${uas_pid[uas_wild]} 2>/dev/null")
        "${nx[@]}" timeout -k 5 60 sipp "127.0.0.1:$port" -sf "$tmp/stock.xml" -s uas -m 2 -t u1 \
            -i 127.0.0.1 -p "$c1" -r 10 -timeout 30s -timeout_error -nostdin \
            -trace_stat -stf "$tmp/call_wild.csv" -fd 1 >"$tmp/call_wild.out" 2>&1 </dev/null
        check_sipp_run call_wild $? 2
        uas_done uas_wild 2
    else
        check "sipkit serve on 0.0.0.0:$port (namespace) starts" 1
        cat "$tmp/server.log"
    fi
    server_stop_checked
else
    echo "SKIP: the wildcard listener part needs root (ip netns); not run"
fi

# ---- a callee on port 5060 of our own address, reached in a dialog
p5=$(free_port both 1 127.0.0.5)
rm -f "$tmp/server.log" # server_start's link to the last server's log: a file of its own here
"$sipkit" serve --listen "udp:127.0.0.5:$p5" --listen "tcp:127.0.0.5:$p5" --workers 2 \
    --auth off --domain localhost --data "$tmp/data5" >"$tmp/server.log" 2>&1 &
server_pid=$!
if wait_ready 127.0.0.5 "$p5"; then
    py_checks python3 "$srcdir/proxy/aor_dialog.py" 127.0.0.5 "$p5"
else
    check "sipkit serve on 127.0.0.5:$p5 starts" 1
    cat "$tmp/server.log"
fi
server_stop_checked

interop_finish
