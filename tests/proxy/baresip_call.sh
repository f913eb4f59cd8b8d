#!/usr/bin/env bash
# baresip calls baresip through `sipkit serve` (registrar + stateful proxy):
#   - alice@localhost and bob@localhost, both with passwords, register with
#     their auth_pass (401 then 200; --digest md5 because Debian's baresip
#     1.0 gives up on a SHA-256 challenge)
#   - alice dials bob (through baresip's ctrl_tcp module, once both are
#     registered): her first INVITE gets 407, she authenticates, the proxy
#     consumes her credentials and forks to bob's binding; bob auto-answers
#     (;answermode=auto); both sides see the call established, RTP (ausine,
#     a 440 Hz tone; aubridge as the player: no sound device) flows directly
#     between them
#   - after ~2 s alice hangs up: BYE through the proxy (Record-Route), 200 OK,
#     both sides see the call closed, no error response anywhere
#   - both quit and unregister; the server exits cleanly (no sanitizer report)
# Everything on loopback, on a block of 60 ports picked at run time (free_port):
# server B; alice SIP B+10, ctrl B+30, RTP B+40..49; bob SIP B+20, ctrl B+31,
# RTP B+50..59 (baresip also binds SIP port + 1 for TLS: left free).
# usage: baresip_call.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
started=$(date +%s)
port=$(free_port both 60) || { check "free ports" 1; interop_finish; }
data=$tmp/data
modules=/usr/lib/baresip/modules
declare -A sip_port=([alice]=$((port + 10)) [bob]=$((port + 20)))
declare -A ctrl_port=([alice]=$((port + 30)) [bob]=$((port + 31)))
declare -A rtp_ports=([alice]=$((port + 40))-$((port + 49)) [bob]=$((port + 50))-$((port + 59)))
declare -A pw=([alice]="alice-pw-$$" [bob]="bob-pw-$$")
declare -A bs_pid=()

for tool in baresip python3; do
    command -v "$tool" >/dev/null || { check "$tool installed" 1; interop_finish; }
done
ok=0
for m in g711 ausine aubridge account menu ctrl_tcp; do
    [ -f "$modules/$m.so" ] || { echo "    missing $modules/$m.so"; ok=1; }
done
check "baresip modules g711 ausine aubridge account menu ctrl_tcp installed" $ok
[ $ok -eq 0 ] || interop_finish

# ---- helpers (Python): a ctrl_tcp driver and a parser of baresip's SIP trace
cat >"$tmp/bs.py" <<'EOF'
"""drive: talk to two baresips over ctrl_tcp (JSON in netstrings); parse: list
the SIP messages of a baresip -s trace."""
import json, re, select, socket, sys, time

class Ctrl:
    def __init__(self, name, port, log):
        self.name, self.buf, self.events, self.resp = name, b"", [], []
        self.log = open(log, "w")
        end = time.time() + 5
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.1)
        self.s.setblocking(False)

    def send(self, cmd, params=""):
        body = json.dumps({"command": cmd, "params": params, "token": cmd}).encode()
        self.s.sendall(b"%d:%s," % (len(body), body))
        self.log.write("> %s %s\n" % (cmd, params))
        self.log.flush()

    def feed(self):
        try:
            d = self.s.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            d = b""
        if not d:
            raise EOFError(self.name + ": ctrl connection closed")
        self.buf += d
        while True:
            m = re.match(rb"(\d+):", self.buf)
            if not m or len(self.buf) < m.end() + int(m.group(1)) + 1:
                break
            n = int(m.group(1))
            msg = json.loads(self.buf[m.end():m.end() + n])
            self.buf = self.buf[m.end() + n + 1:]
            self.log.write(json.dumps(msg) + "\n")
            self.log.flush()
            (self.events if msg.get("event") else self.resp).append(msg)

    def has(self, etype):
        return any(e.get("type") == etype for e in self.events)

def pump(ctrls, until, timeout):
    """read events until until() or timeout seconds; True when until() held"""
    end = time.time() + timeout
    while not until():
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([c.s for c in ctrls], [], [], min(left, 0.2))
        for c in ctrls:
            if c.s in r:
                c.feed()
    return True

def drive(tmp, a_port, b_port, target, hold):
    """prints 'step NAME ok|fail' lines; the shell turns them into checks"""
    a = Ctrl("alice", a_port, tmp + "/alice.ctrl")
    b = Ctrl("bob", b_port, tmp + "/bob.ctrl")
    both = [a, b]
    def step(name, good):
        print("step %s %s" % (name, "ok" if good else "fail"), flush=True)
        return good
    def answered(c, token):
        return any(r.get("token") == token for r in c.resp)
    try:
        # one command at a time: the next only after the response to the last
        a.send("dial", target)
        step("dial_accepted", pump(both, lambda: answered(a, "dial"), 5)
             and any(r.get("token") == "dial" and r.get("ok") for r in a.resp))
        est = pump(both, lambda: a.has("CALL_ESTABLISHED") and b.has("CALL_ESTABLISHED")
                   or a.has("CALL_CLOSED") or b.has("CALL_CLOSED"), 10)
        est = est and a.has("CALL_ESTABLISHED") and b.has("CALL_ESTABLISHED")
        step("established", est)
        if est:
            t0 = time.time()
            pump(both, lambda: a.has("CALL_CLOSED") or b.has("CALL_CLOSED"), hold)
            step("held", not a.has("CALL_CLOSED") and not b.has("CALL_CLOSED")
                 and time.time() - t0 >= hold - 0.1)
        a.send("hangup")
        step("closed", pump(both, lambda: answered(a, "hangup") and a.has("CALL_CLOSED")
                            and b.has("CALL_CLOSED"), 10))
    except (OSError, EOFError, ValueError) as e:
        print("error", e, flush=True)
    # quit both (they unregister, then exit); the shell waits for their exit
    for c in both:
        try:
            c.send("quit")
            if not pump([c], lambda: answered(c, "quit"), 3):
                print("error %s: no response to quit" % c.name, flush=True)
        except EOFError:
            pass  # it closed the connection on its way out: fine
        except (OSError, ValueError) as e:
            print("error", e, flush=True)

def parse(path):
    """one line per SIP message: PROTO SRC DST | START-LINE | CSeq | size
    | headers of interest (Proxy-Authorization username, Record-Route count)"""
    text = open(path, encoding="utf-8", errors="replace").read()
    text = re.sub(r"\x1b\[[0-9;]*m", "\x00", text)
    for blk in text.split("\x00#\n")[1:]:
        blk = blk.split("\x00", 1)[0]
        first, _, msg = blk.partition("\n")
        m = re.match(r"(UDP|TCP) (\S+) -> (\S+)$", first.strip())
        if not m:
            continue
        head, _, body = msg.partition("\n\n")
        lines = head.split("\n")
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
        pa = hdrs.get("proxy-authorization", [""])[0]
        user = re.search(r'username="([^"]*)"', pa)
        print("%s %s %s | %s | %s | %d | pauth=%s rr=%d" % (
            m.group(1), m.group(2), m.group(3), lines[0].strip(),
            hdrs.get("cseq", ["?"])[0], len(msg.replace("\n", "\r\n")) - 2,
            user.group(1) if user else ("yes" if pa else "no"),
            len(hdrs.get("record-route", []))))

if __name__ == "__main__":
    if sys.argv[1] == "drive":
        drive(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6]))
    else:
        parse(sys.argv[2])
EOF

regs() { "$sipkit" ctl registrations --data "$data" 2>/dev/null; }
# msgs NAME: the SIP messages of baresip NAME's trace (see parse above)
msgs() { python3 "$tmp/bs.py" parse "$tmp/$1.out"; }

# ---- users and the server
ok=0
for u in alice bob; do
    "$sipkit" user add "$u@localhost" --password "${pw[$u]}" --data "$data" >/dev/null || ok=1
done
check "users alice@localhost and bob@localhost added with passwords" $ok
server_start "$port" --digest md5 || { check "sipkit serve starts (--digest md5)" 1; interop_finish; }
check "sipkit serve starts (udp+tcp 127.0.0.1:$port, --digest md5, auth on)" 0

# ---- two baresips, each with its own config directory
# bs_start NAME: bounded (-t 60, timeout 70); answermode=auto answers at once
bs_start() {
    local n=$1 conf=$tmp/$1
    mkdir -p "$conf"
    cat >"$conf/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:${sip_port[$n]}
net_interface		127.0.0.1
rtp_ports		${rtp_ports[$n]}
module_path		$modules
module			g711.so
module			ausine.so
module			aubridge.so
audio_player		aubridge,nil
audio_source		ausine,440
audio_alert		aubridge,nil
ausrc_srate		48000
auplay_srate		48000
ausrc_channels		2
auplay_channels		2
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:${ctrl_port[$n]}
EOF
    echo "<sip:$n@localhost;transport=udp>;auth_pass=${pw[$n]};outbound=\"sip:127.0.0.1:$port\";regint=600;answermode=auto" \
        >"$conf/accounts"
    timeout -k 5 70 baresip -f "$conf" -t 60 -s >"$tmp/$n.out" 2>&1 </dev/null &
    bs_pid[$n]=$!
    cleanup_hooks+=("kill $! 2>/dev/null; wait $! 2>/dev/null")
}
# bs_listed NAME: NAME's baresip binding is in ctl (2: baresip has exited)
bs_listed() {
    grep -q 'ua="baresip' <<<"$(bindings_of "sip:$1@localhost" "$(regs)")" && return 0
    kill -0 "${bs_pid[$1]}" 2>/dev/null || return 2
    return 1
}
# bs_registered NAME: waits (at most 10 s) for NAME's baresip binding in ctl
bs_registered() {
    local n=$1 b=""
    wait_for 10 bs_listed "$n"
    b=$(bindings_of "sip:$n@localhost" "$(regs)")
    grep -q "^  <sip:$n-[^>]*@127.0.0.1:${sip_port[$n]}> .* via UDP:127.0.0.1:${sip_port[$n]} ua=\"baresip" <<<"$b"
    local st=$?
    check "$n's baresip registered within 10 s (ctl:${b# })" $st
    [ $st -eq 0 ] || { tail -n 30 "$tmp/$n.out"; echo; } | sed 's/^/    /'
    return $st
}

# bob first, then alice; the call is placed only once both are registered
bs_start bob
bs_registered bob || interop_finish
bs_start alice
bs_registered alice || interop_finish
for n in alice bob; do
    # the REGISTER was challenged (401, MD5) and the retry with auth_pass accepted
    msgs "$n" >"$tmp/$n.reg"
    awk '/\| SIP\/2.0 401 [^|]*\| [0-9]+ REGISTER \|/ { c = 1 }
         c && /\| SIP\/2.0 200 [^|]*\| [0-9]+ REGISTER \|/ { ok = 1 } END { exit !ok }' "$tmp/$n.reg"
    check "$n: REGISTER challenged (401) then accepted with auth_pass (200)" $?
    grep -q -i 'WWW-Authenticate: Digest .*algorithm=MD5' "$tmp/$n.out"
    check "$n: the challenge is MD5 (--digest md5)" $?
done

# ---- the call: alice dials bob, 2 s of audio, alice hangs up, both quit
proxied0=$(ctl_stat proxied "$data")
timeout -k 5 40 python3 "$tmp/bs.py" drive "$tmp" "${ctrl_port[alice]}" "${ctrl_port[bob]}" \
    "sip:bob@localhost" 2 >"$tmp/drive.out" 2>&1
rc=$?
step() { grep -q "^step $1 ok$" "$tmp/drive.out"; }
[ $rc -eq 0 ] && ! grep -q '^error' "$tmp/drive.out"
st=$?
check "ctrl_tcp driver ran without error (status $rc)" $st
[ $st -eq 0 ] || sed 's/^/    /' "$tmp/drive.out"
step dial_accepted
check "alice's baresip accepted the dial command" $?
step established
check "the call is established on both sides (CALL_ESTABLISHED from alice and bob, within 10 s)" $?
step held
check "the call stays up for 2 s (no CALL_CLOSED before the hangup)" $?
step closed
check "after alice's hangup both sides see the call closed (CALL_CLOSED, within 10 s)" $?

# both baresips quit (the driver asked them to): bounded wait, then their status
for n in alice bob; do
    ok=1
    wait_exit "${bs_pid[$n]}" 10 && ok=0
    [ $ok -eq 0 ] || kill "${bs_pid[$n]}" 2>/dev/null
    wait "${bs_pid[$n]}"
    rc=$?
    [ $ok -eq 0 ] && [ $rc -eq 0 ]
    check "$n's baresip quit on request within 10 s (status $rc)" $?
done
for n in alice bob; do msgs "$n" >"$tmp/$n.msgs"; done
if [ -n "${VERBOSE:-}" ]; then
    for n in alice bob; do echo "---- $n's SIP messages"; sed 's/^/    /' "$tmp/$n.msgs"; done
fi

# ---- what the traces say (grep patterns: PROTO SRC DST | START | CSeq | size | ...)
A=127.0.0.1:${sip_port[alice]} B=127.0.0.1:${sip_port[bob]} P=127.0.0.1:$port
grep -q "^UDP $P $A | SIP/2.0 407 [^|]*| [0-9]* INVITE |" "$tmp/alice.msgs"
check "alice's first INVITE was challenged by the proxy (407)" $?
grep -q -i 'Proxy-Authenticate: Digest realm="localhost".*algorithm=MD5' "$tmp/alice.out"
check "the 407 challenge is MD5 for realm localhost" $?
grep -q "^UDP $A $P | INVITE sip:bob@localhost[^|]*|.*pauth=alice rr=0$" "$tmp/alice.msgs"
check "alice resent the INVITE with Proxy-Authorization (username alice)" $?
grep -q "^\(UDP\|TCP\) [^ ]* $B | INVITE sip:bob-[^|]*@$B[^|]*|.*pauth=no rr=[12]$" "$tmp/bob.msgs"
check "bob got the INVITE from the proxy at his registered contact, Record-Routed, credentials consumed" $?
grep -q "^UDP $P $A | SIP/2.0 200 [^|]*| [0-9]* INVITE |" "$tmp/alice.msgs"
check "alice got bob's 200 for the INVITE through the proxy" $?
grep -q "^\(UDP\|TCP\) [^ ]* $B | ACK sip:bob-" "$tmp/bob.msgs"
check "bob got the ACK for his 200 (through the proxy)" $?
grep -q "incoming rtp for 'audio' established" "$tmp/alice.out" &&
    grep -q "incoming rtp for 'audio' established" "$tmp/bob.out"
check "RTP (ausine tone) reached both sides" $?
grep -q "Call established" "$tmp/alice.out" && grep -q "Call established" "$tmp/bob.out"
check "both baresips print 'Call established'" $?
grep -q "^UDP $A $P | BYE sip:bob-" "$tmp/alice.msgs"
check "alice's BYE went to the proxy (Record-Route)" $?
grep -q "^\(UDP\|TCP\) [^ ]* $B | BYE sip:bob-" "$tmp/bob.msgs" &&
    grep -q "^\(UDP\|TCP\) $B [^ ]* | SIP/2.0 200 [^|]*| [0-9]* BYE |" "$tmp/bob.msgs"
check "bob got the BYE from the proxy and answered 200" $?
grep -q "^UDP $P $A | SIP/2.0 200 [^|]*| [0-9]* BYE |" "$tmp/alice.msgs"
check "alice got 200 for her BYE" $?
grep -q "Call with sip:bob@localhost[^ ]* terminated" "$tmp/alice.out" &&
    grep -q "Call with sip:alice@localhost terminated" "$tmp/bob.out"
check "both baresips print 'Call ... terminated'" $?
bad=$(cat "$tmp/alice.msgs" "$tmp/bob.msgs" |
    grep -E '\| SIP/2.0 [3-6][0-9][0-9] ' | grep -v -E '\| SIP/2.0 (401 [^|]*\| [0-9]+ REGISTER|407 [^|]*\| [0-9]+ INVITE) ')
[ -z "$bad" ]
check "no other error response anywhere (only the 401s to REGISTER, the 407 to INVITE)" $?
[ -z "$bad" ] || sed 's/^/    /' <<<"$bad"
grep -q 'CALL_CLOSED.*"param": "Connection reset by peer"' "$tmp/bob.ctrl" &&
    grep -q 'CALL_CLOSED.*"param": "Connection reset by user"' "$tmp/alice.ctrl"
st=$?
check "closed normally: alice hung up (by user), bob saw the BYE (by peer), no timeout/481" $st
[ $st -eq 0 ] || grep -h CALL_CLOSED "$tmp/alice.ctrl" "$tmp/bob.ctrl" | sed 's/^/    /'

n=$(ctl_stat proxied "$data")
[ "$((${n:-0} - ${proxied0:-0}))" -ge 2 ]
check "sipkit proxied the INVITE and the BYE statefully (proxied $proxied0 -> ${n:-?})" $?
n=$(ctl_stat forwarded_statelessly "$data")
[ "${n:-0}" -ge 1 ]
check "sipkit forwarded the ACK for the 2xx (forwarded_statelessly ${n:-?})" $?
r=$(regs)
[ -z "$(bindings_of sip:alice@localhost "$r")" ] && [ -z "$(bindings_of sip:bob@localhost "$r")" ]
st=$?
check "both baresips unregistered on quit (no binding left)" $st
[ $st -eq 0 ] || sed 's/^/    /' <<<"$r"
server_alive
check "the server is still running after the call" $?
server_stop_checked
echo "baresip_call.sh took $(( $(date +%s) - started )) s"
interop_finish
