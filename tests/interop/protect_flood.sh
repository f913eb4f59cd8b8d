#!/usr/bin/env bash
# Protection under a flood (`sipkit serve --trust none`, default limits): while
# SIPp floods from 127.0.0.2 (REGISTERs for one user, 1,500/s, 20x the budget)
# and from 127.0.0.4 (INVITEs over new user names, 1,500/s), a legitimate SIPp on
# 127.0.0.3 registers 20 users with digest at 4 registrations/s (8 REGISTERs/s):
#  - at least 99% of the legitimate registrations succeed, and all 20 users have
#    their binding afterwards (nothing lost)
#  - both flooders end up on the block list (rules flood / sweep), the server is
#    alive, its RSS grew by less than 64 MiB over the flood
#  - after the flood, `ctl unblock` serves a flooder's address again (a REGISTER
#    gets its 401)
# usage: protect_flood.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v sipp >/dev/null || { echo "sipp not installed: skipped"; exit 77; }

NUSERS=20
NLEGIT=120 # registrations at 4/s: 30 s
port=$(free_port udp 1) || { check "free port" 1; interop_finish; }
listen_protos=(udp)
: >"$tmp/users.csv"
echo SEQUENTIAL >"$tmp/users.csv"
users=()
for i in $(seq 1 $NUSERS); do
    users+=("leg$i@127.0.0.1:pw$i")
    echo "leg$i;pw$i;127.0.0.1" >>"$tmp/users.csv"
done
users_add "${users[@]}" || interop_finish
# SIPp 3.6 answers only the first WWW-Authenticate: MD5 (see tests/registrar)
server_start "$port" --trust none --digest md5 --log-level info ||
    { check "server starts" 1; interop_finish; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
rss0=$(rss)

flood() { # NAME SCENARIO ADDR
    timeout -k 5 60 sipp "127.0.0.1:$port" -sf "$srcdir/interop/scenarios/$2" -i "$3" -p 5060 -t u1 \
        -m 30000 -r 1500 -l 30000 -nostdin -default_behaviors none -timeout 40s \
        -trace_stat -stf "$tmp/$1.csv" >"$tmp/$1.out" 2>&1 </dev/null &
    cleanup_hooks+=("kill $! 2>/dev/null")
    flood_pids+=($!)
}

timeout -k 5 120 sipp "127.0.0.1:$port" -sf "$srcdir/registrar/scenarios/register_digest.xml" \
    -inf "$tmp/users.csv" -m $NLEGIT -r 4 -l $NUSERS -i 127.0.0.3 -p 5060 -t u1 \
    -auth_uri 127.0.0.1 -nostdin -timeout 100s -max_recv_loops 1000 \
    -trace_stat -stf "$tmp/legit.csv" -trace_err -error_file "$tmp/legit.err" \
    >"$tmp/legit.out" 2>&1 </dev/null &
legit_pid=$!
cleanup_hooks+=("kill $legit_pid 2>/dev/null")
sleep 2 # the legitimate registrations are under way before the flood
flood_pids=()
flood flood_register flood_register.xml 127.0.0.2
flood flood_invite flood_invite.xml 127.0.0.4
for p in "${flood_pids[@]}"; do wait "$p"; done
rss1=$(rss)
wait "$legit_pid"
legit_rc=$?

name=legit
ok=$(sipp_stat legit 'SuccessfulCall(C)' 2>/dev/null)
sent=$(sipp_stat flood_register 'OutgoingCall(C)' 2>/dev/null)
sent2=$(sipp_stat flood_invite 'OutgoingCall(C)' 2>/dev/null)
echo "    flood: ${sent:-?} REGISTERs from 127.0.0.2, ${sent2:-?} INVITEs from 127.0.0.4; legit: ${ok:-?} of $NLEGIT (sipp status $legit_rc)"
[ "${sent:-0}" -ge 20000 ] && [ "${sent2:-0}" -ge 20000 ]
check "the flood was sent (at least 20,000 requests from each flooder)" $?
[ "${ok:-0}" -ge $((NLEGIT * 99 / 100)) ]
check "at least 99% of the legitimate registrations succeeded (${ok:-?} of $NLEGIT)" $? ||
    tail -n 20 "$tmp/legit.out" "$tmp/legit.err" 2>/dev/null | sed 's/^/    /'
regs=$("$sipkit" ctl registrations --data "$tmp/data")
n=0
for i in $(seq 1 $NUSERS); do
    [ -n "$(bindings_of "sip:leg$i@127.0.0.1" "$regs")" ] && n=$((n + 1))
done
[ "$n" -eq $NUSERS ]
check "every legitimate user has its binding ($n of $NUSERS)" $?
blocked=$("$sipkit" ctl blocked --data "$tmp/data")
printf '%s\n' "$blocked" | sed 's/^/    /'
grep -qE '^127\.0\.0\.2 flood ' <<<"$blocked"
check "the REGISTER flooder is blocked (rule flood)" $?
grep -qE '^127\.0\.0\.4 (sweep|flood) ' <<<"$blocked"
check "the INVITE flooder is blocked (rule sweep or flood)" $?
! grep -qE '^127\.0\.0\.3 ' <<<"$blocked"
check "the legitimate source is not blocked" $?
server_alive
check "the server is alive after the flood" $?
echo "    RSS ${rss0:-?} kB before, ${rss1:-?} kB after the flood"
[ -n "$rss0" ] && [ -n "$rss1" ] && [ $((rss1 - rss0)) -lt 65536 ]
check "RSS grew by less than 64 MiB under the flood" $?

"$sipkit" ctl unblock 127.0.0.2 --data "$tmp/data" >/dev/null
check "ctl unblock 127.0.0.2" $?
py_checks python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
ck = Checks()
c = Conn(('127.0.0.1', int(sys.argv[2])), local_ip='127.0.0.2')
r = UA(c, '127.0.0.1').register('leg1')
ck('after the flood and ctl unblock, 127.0.0.2 is served again (%s)' % st(r), status_is(r, 401))
PY
server_stop_checked
interop_finish
