#!/usr/bin/env bash
# Real SIP peers registering with digest against `sipkit serve` (domain
# localhost, UDP on 127.0.0.1): SIPp (50 users from an injection file,
# scenarios/register_digest.xml), sipsak (usrloc mode) and baresip (an
# account with auth_pass; its binding must show in `sipkit ctl registrations`
# with its User-Agent, and go away when it unregisters on exit).
#
# Each peer runs twice:
#  - against the default server (challenges SHA-256 first, then MD5, as RFC
#    8760 §2.4 allows). SIPp 3.6.1, sipsak 0.9.8.1 and baresip 1.0.0 (Debian
#    12) read only the FIRST WWW-Authenticate and give up on SHA-256: those
#    runs must fail with the peer's recognised message (peer_limit: a
#    limitation of the peer, asserted); any other outcome, a success too,
#    counts as a failure.
#  - against a second sipkit serve started with `--digest md5`, the
#    README's setting for such clients (baresip 1.0 gives up on any SHA-256
#    challenge, even a second one, so md5,sha-256 is not enough for it; its
#    own copy of the user database). These must pass, with the bindings in its `sipkit ctl`.
# Every peer run is bounded (-m, -timeout, -t, timeout -k).
# Ports: picked at run time (free_port): the server, the server with --digest md5,
# SIPp, baresip (and the next one, which it binds for TLS), sipsak.
# usage: interop_peers.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$(readlink -f "$1")
srcdir=$(readlink -f "$2")
. "$srcdir/interop/lib/common.bash"
interop_init
here=$srcdir/registrar # after interop_init, which sets it to interop/
relay_pid=""
baresip_pid=""
cleanup_hooks+=('for p in $baresip_pid $relay_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done')
D=localhost   # sipsak resolves the host of its -s URI; localhost needs no DNS
PORT=$(free_port) && RELAY=$(free_port) && P_SIPP=$(free_port udp) && P_BARE=$(free_port both 2) &&
    P_SAK=$(free_port udp) || { check "free ports" 1; interop_finish; }
NUSERS=50

# peer_limit NAME STATUS PEER_OUTPUT_FILE PATTERN: the peer cannot register
# straight at sipkit, and says so with PATTERN: it reads only the first
# challenge, and sipkit offers SHA-256 first (RFC 8760 §2.4: SHA-256 before
# MD5), which these peers do not implement. Anything else fails, a success too
# (the peer learnt SHA-256: then this becomes a plain check).
peer_limit() {
    [ "$2" -ne 0 ] && grep -q -- "$4" "$3" 2>/dev/null
    check "$1 (status $2; says \"$4\")" $? || { echo "---- $3" >&2; tail -n 30 "$3" >&2; }
}

for tool in sipp sipsak baresip python3; do
    command -v "$tool" >/dev/null
    check "$tool is installed (scripts/install-deps test)" $?
done

# ---- users and the server
data=$tmp/data
mkdir -p "$data"
{
    echo SEQUENTIAL
    for i in $(seq 1 $NUSERS); do echo "sp$i;pw-sp$i-$$;$D"; done
} >"$tmp/users.csv"
ok=0
for i in $(seq 1 $NUSERS); do
    "$sipkit" user add "sp$i@$D" --password "pw-sp$i-$$" --data "$data" >/dev/null || ok=1
done
"$sipkit" user add "sak@$D" --password "sakpw-$$" --data "$data" >/dev/null || ok=1
"$sipkit" user add "bare@$D" --password "barepw-$$" --data "$data" >/dev/null || ok=1
check "$((NUSERS + 2)) users added" $ok

cp -r "$data" "$data-md5" # the same users for the second server
ctl_answers() { "$sipkit" ctl stats --data "$1" >/dev/null 2>&1; }
server_data=$data
server_start "$PORT" --domain "$D" --auth on --auth-fail-limit 1000 && wait_for 5 ctl_answers "$data"
check "sipkit serve starts (udp:127.0.0.1:$PORT, domain $D, auth on)" $? || interop_finish

# the server for clients that read only the first challenge: MD5 first
"$sipkit" serve --listen "udp:127.0.0.1:$RELAY" --listen "tcp:127.0.0.1:$RELAY" --domain "$D" \
    --data "$data-md5" --workers 2 --auth on --auth-fail-limit 1000 --digest md5 \
    >"$tmp/server-md5.log" 2>&1 &
relay_pid=$!
wait_for 5 ctl_answers "$data-md5"
check "sipkit serve --digest md5 starts (udp:127.0.0.1:$RELAY)" $?

regs() { "$sipkit" ctl registrations --data "$data-md5"; }


# ---- SIPp: 50 users, REGISTER with digest
# SIPp's digest uri defaults to the remote address; -auth_uri makes it the Request-URI.
sipp_run() { # TARGET_PORT TAG
    timeout -k 5 90 sipp "127.0.0.1:$1" -sf "$here/scenarios/register_digest.xml" \
        -inf "$tmp/users.csv" -m $NUSERS -r 25 -l $NUSERS -i 127.0.0.1 -p $P_SIPP -t u1 \
        -auth_uri "$D" -nostdin -timeout 60s -timeout_error -max_recv_loops 1000 \
        -trace_stat -stf "$tmp/sipp-$2.csv" -trace_err -error_file "$tmp/sipp-$2.err" \
        >"$tmp/sipp-$2.out" 2>&1
}
sipp_ok() { # TAG: number of successful calls in the statistics file
    python3 - "$tmp/sipp-$1.csv" <<'PY'
import csv, sys
try:
    rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
    i = rows[0].index('SuccessfulCall(C)')
    print(rows[-1][i])
except Exception:
    print(0)
PY
}

sipp_run "$PORT" direct
rc=$?
peer_limit "SIPp: $NUSERS users register with digest straight at sipkit" $rc \
    "$tmp/sipp-direct.err" "authentication must use MD5"
sipp_run "$RELAY" md5
rc=$?
check "SIPp (--digest md5): exit status 0 for $NUSERS REGISTERs with digest (rc $rc)" $rc
n=$(sipp_ok md5)
[ "$n" = "$NUSERS" ]; check "SIPp: $NUSERS successful calls (got $n)" $?
[ $rc -eq 0 ] || { tail -n 20 "$tmp/sipp-md5.err" >&2; }
listing=$(regs)
ok=0
for i in $(seq 1 $NUSERS); do
    b=$(bindings_of "sip:sp$i@$D" "$listing")
    if ! grep -q "<sip:sp$i@127.0.0.1:$P_SIPP;line=$i> expires=\(59[0-9]\|600\) via UDP:.* ua=\"SIPp registrar test\"" <<<"$b" ||
        [ "$(grep -c . <<<"$b")" -ne 1 ]; then
        ok=1
        echo "sp$i: $b" >&2
    fi
done
check "ctl: each of the $NUSERS SIPp users has exactly its one binding (expires 600, ua SIPp)" $ok

# ---- SIPp again, losing 30% of the 401s and 200s it receives: it retransmits
# the REGISTER (same bytes, same nonce-count), and the stateless registrar must
# answer each copy as it did the first (RFC 3261 §8.2.7, §10.3)
sed -e 's|<recv response="401" auth="true"/>|<recv response="401" auth="true" lost="30"/>|' \
    -e 's|<recv response="200"/>|<recv response="200" lost="30"/>|' \
    "$here/scenarios/register_digest.xml" >"$tmp/register_digest_lossy.xml"
grep -c 'lost="30"' "$tmp/register_digest_lossy.xml" | grep -qx 2
check "the lossy scenario drops 401s and 200s" $?
rtx0=$("$sipkit" ctl stats --data "$data-md5" | awk '$1 == "register_retransmissions" { print $2 }')
timeout -k 5 120 sipp "127.0.0.1:$RELAY" -sf "$tmp/register_digest_lossy.xml" \
    -inf "$tmp/users.csv" -m $NUSERS -r 25 -l $NUSERS -i 127.0.0.1 -p $P_SIPP -t u1 \
    -auth_uri "$D" -nostdin -timeout 90s -timeout_error -max_recv_loops 1000 \
    -trace_stat -stf "$tmp/sipp-lossy.csv" -trace_err -error_file "$tmp/sipp-lossy.err" \
    >"$tmp/sipp-lossy.out" 2>&1
rc=$?
check "SIPp lossy: exit status 0 for $NUSERS REGISTERs with digest (rc $rc)" $rc
n=$(sipp_ok lossy)
[ "$n" = "$NUSERS" ]; check "SIPp lossy: $NUSERS successful calls (got $n)" $?
[ $rc -eq 0 ] || { tail -n 20 "$tmp/sipp-lossy.err" >&2; }
rtx1=$("$sipkit" ctl stats --data "$data-md5" | awk '$1 == "register_retransmissions" { print $2 }')
[ "${rtx1:-0}" -gt "${rtx0:-0}" ]
check "ctl stats: retransmitted REGISTERs were answered again (register_retransmissions ${rtx0:-?} -> ${rtx1:-?})" $?

# ---- sipsak: usrloc mode with a password
# -u: sipsak would otherwise authenticate as "sak@"
sipsak_run() { # TARGET_PORT TAG
    timeout -k 3 20 sipsak -U -C "sip:sak@127.0.0.1:$P_SAK" -x 600 -s "sip:sak@$D" \
        -p 127.0.0.1 -r "$1" -H 127.0.0.1 -l $P_SAK -u sak -a "sakpw-$$" -vv \
        >"$tmp/sipsak-$2.out" 2>&1
}
sipsak_run "$PORT" direct
peer_limit "sipsak registers with a password straight at sipkit" $? "$tmp/sipsak-direct.out" \
    "unsupported authentication algorithm"
sipsak_run "$RELAY" md5
rc=$?
check "sipsak (--digest md5) registers with a password (rc $rc)" $rc
[ $rc -eq 0 ] || tail -n 20 "$tmp/sipsak-md5.out" >&2
b=$(bindings_of "sip:sak@$D" "$(regs)")
grep -q "^  <sip:sak@127.0.0.1:$P_SAK> expires=\(59[0-9]\|600\) via UDP:.* ua=\"sipsak" <<<"$b"
check "ctl: sipsak's binding with its User-Agent ($b)" $?

# ---- baresip: an account with auth_pass
# baresip_run TARGET_PORT TAG: runs baresip for 8 s, waits (at most 7 s) for
# its binding in ctl, then for its exit and de-registration. Sets seen, gone
# (0 = yes) and b (the binding line).
baresip_run() {
    local conf=$tmp/baresip-$2 i
    seen=1 gone=1 b=""
    mkdir -p "$conf"
    cat >"$conf/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$P_BARE
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
audio_player		aubridge,nil
audio_source		ausine,nil
audio_alert		aubridge,nil
ausrc_srate		48000
auplay_srate		48000
ausrc_channels		2
auplay_channels		2
module_app		account.so
module_app		menu.so
EOF
    echo "<sip:bare@$D;transport=udp>;auth_pass=barepw-$$;outbound=\"sip:127.0.0.1:$1\";regint=600" \
        >"$conf/accounts"
    timeout -k 3 20 baresip -f "$conf" -t 8 -s >"$tmp/baresip-$2.out" 2>&1 </dev/null &
    : # keep the output for failures
    baresip_pid=$!
    wait_for 7 bare_seen && seen=0
    b=$(bindings_of "sip:bare@$D" "$(regs)")
    wait "$baresip_pid" 2>/dev/null
    baresip_pid=""
    wait_for 3 bare_gone && gone=0
}
bare_seen() { # baresip's binding is listed, or baresip has exited (no use waiting)
    grep -q 'ua="baresip' <<<"$(bindings_of "sip:bare@$D" "$(regs)")" && return 0
    kill -0 "$baresip_pid" 2>/dev/null || return 2
    return 1
}
bare_gone() { [ -z "$(bindings_of "sip:bare@$D" "$(regs)")" ]; }
baresip_run "$PORT" direct
peer_limit "baresip registers with auth_pass straight at sipkit (binding with ua baresip)" $seen \
    "$tmp/baresip-direct.out" "Register: Function not implemented"
baresip_run "$RELAY" md5
check "baresip (--digest md5) registers with auth_pass: ctl shows ua baresip ($b)" $seen
[ $seen -eq 0 ] || tail -n 30 "$tmp/baresip-md5.out" >&2
grep -q "^  <sip:bare-[^>]*@127.0.0.1:$P_BARE> expires=\\(59[0-9]\\|600\\) via UDP:" <<<"$b"
check "ctl: baresip's contact and expires" $?
check "baresip's de-registration on exit removes its binding" $gone

kill -TERM "$relay_pid" 2>/dev/null
wait "$relay_pid"
check "sipkit serve --digest md5 exits cleanly on SIGTERM" $?
relay_pid=""
server_stop_sig TERM
check "sipkit serve exits cleanly on SIGTERM" $?
interop_finish
