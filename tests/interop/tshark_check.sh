#!/usr/bin/env bash
# Wireshark's SIP dissector as a second opinion on what sipkit sends: capture
# on lo while SIPp runs OPTIONS over UDP and TCP and INVITE -> 404 -> ACK over
# UDP (with loss, so retransmissions are in the capture) and TCP; then no
# packet sent by the server may be malformed or carry an expert warning or
# error, and the capture must hold the server's 200s and 404s over both
# transports (so the test cannot pass on an empty capture).
# usage: tshark_check.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init

pb=$(free_port both 5) || { check "free ports" 1; interop_finish; }
port=$pb
pcap=$tmp/sip.pcapng
capture_start "$pcap" "udp port $port or tcp port $port" || interop_finish

server_start "$port" || { check "server starts and answers OPTIONS" 1; interop_finish; }

run_sipp options_udp "$scen/options_uac.xml" 50 u1 $((pb + 1)) -r 50
check_sipp_run options_udp $? 50
run_sipp options_tcp "$scen/options_uac.xml" 50 t1 $((pb + 2)) -r 50
check_sipp_run options_tcp $? 50
run_sipp invite_udp "$scen/invite_404_lossy.xml" 40 u1 $((pb + 3)) -r 20
check_sipp_run invite_udp $? 40
run_sipp invite_tcp "$scen/invite_404.xml" 20 t1 $((pb + 4)) -r 20
check_sipp_run invite_tcp $? 20

# a control: a request whose Content-Length is not a number, which Wireshark
# flags ("Invalid content_length"), so the filter below is shown to work; the
# server's 400 to it must itself be clean
ctl_port=$(python3 - "$srcdir/interop/lib" "$port" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from sipclient import *
port = int(sys.argv[2])
s = udp_socket()
lport = s.getsockname()[1]
s.sendto(options('127.0.0.1', port, '127.0.0.1', lport).replace(b'Content-Length: 0', b'Content-Length: abc'),
         ('127.0.0.1', port))
s.settimeout(2)
try:
    s.recv(65535)
except OSError:
    pass
print(lport)
PY
)

server_stop_checked
sleep 0.5
kill -INT "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null

from_server="(udp.srcport == $port || tcp.srcport == $port)"
tshark -r "$pcap" -Y "(_ws.malformed || _ws.expert.severity >= warning) && $from_server" \
    -o tcp.desegment_tcp_streams:TRUE >"$tmp/bad.txt" 2>"$tmp/bad.err"
rc=$?
[ "$rc" -eq 0 ]
check "tshark reads the capture (status $rc)" $? || cat "$tmp/bad.err"
[ ! -s "$tmp/bad.txt" ]
st_=$?; check "no malformed packet or expert warning in what the server sent ($(wc -l <"$tmp/bad.txt") packets)" $st_
if [ -s "$tmp/bad.txt" ]; then
    head -n 20 "$tmp/bad.txt" | sed 's/^/    /'
    # the expert messages behind them
    tshark -r "$pcap" -Y "(_ws.malformed || _ws.expert.severity >= warning) && $from_server" \
        -T fields -e frame.number -e _ws.expert.message 2>/dev/null | head -n 20 | sed 's/^/    /'
fi
n_ctl=$(tshark -r "$pcap" -Y "(_ws.malformed || _ws.expert.severity >= warning) && udp.srcport == $ctl_port" 2>/dev/null | wc -l)
[ "$n_ctl" -eq 1 ]
check "control: the request with Content-Length abc is flagged by tshark ($n_ctl packet)" $?
n_ctl400=$(tshark -r "$pcap" -Y "sip.Status-Code == 400 && udp.srcport == $port && udp.dstport == ${ctl_port:-0}" 2>/dev/null | wc -l)
[ "$n_ctl400" -eq 1 ]
check "control: the server answered it with a 400 ($n_ctl400)" $?
# for information: what the dissector says about SIPp's packets
n_peer=$(tshark -r "$pcap" -Y "(_ws.malformed || _ws.expert.severity >= warning) && !$from_server && !(udp.srcport == ${ctl_port:-0})" 2>/dev/null | wc -l)
echo "    (flagged packets from SIPp: $n_peer; not checked)"

# the capture is not empty: count the server's responses per transport and status
tshark -r "$pcap" -Y "sip.Status-Code && $from_server" -T fields \
    -e _ws.col.Protocol -e udp.srcport -e tcp.srcport -e sip.Status-Code 2>/dev/null |
    awk -F'\t' '{ split($4, codes, ","); for (i in codes) n[($2 != "" ? "udp" : "tcp") " " codes[i]]++ }
                END { for (k in n) print k, n[k] }' | sort >"$tmp/counts.txt"
sed 's/^/    responses from the server: /' "$tmp/counts.txt"
count() { awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' "$tmp/counts.txt"; }
for want in "udp 200 50" "tcp 200 50" "udp 404 40" "tcp 404 20"; do
    set -- $want
    n=$(count "$1" "$2")
    [ "${n:-0}" -ge "$3" ]
    check "capture holds at least $3 SIP $2 responses from the server over ${1^^} (${n:-0})" $?
done

interop_finish
