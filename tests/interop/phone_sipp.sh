#!/usr/bin/env bash
# SIPp against sipkit's user agent, both ways, with no server in between:
# 1. a SIPp UAC (scenarios/phone_pcap_uac.xml) calls a `sipkit phone`
#    (auto-answer) with a PCMA offer and plays SIPp's g711a.pcap, then the
#    RFC 4733 digit 1 from dtmf_2833_1.pcap (another SSRC): the phone answers
#    with PCMA, its hang-up report counts the pcap's RTP packets (within 3%;
#    the first may arrive before the stream runs) plus the digit's, and it
#    received the digit 1;
# 2. a SIPp UAS (scenarios/phone_echo_uas.xml, -rtp_echo) answers a
#    `sipkit call`: the call exits 0, SIPp exits 0 (INVITE, ACK, BYE as it
#    expects them), and what sipkit records is its own 1000 Hz tone and
#    digits coming back, with about as many packets as it sent.
# usage: phone_sipp.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
. "$srcdir/interop/lib/phone.bash"

command -v sipp >/dev/null || { echo "SKIP: sipp (sip-tester) not installed"; exit 77; }
pcapdir=$(dirname "$(dpkg -L sip-tester 2>/dev/null | grep '/g711a\.pcap$' | head -n 1)")
[ -f "$pcapdir/g711a.pcap" ] || pcapdir=/usr/share/sip-tester
[ -f "$pcapdir/g711a.pcap" ] || { echo "SKIP: SIPp's g711a.pcap not found"; exit 77; }
# SIPp looks for pcap files next to the scenario, then in its working directory
scen=$(cd "$scen" && pwd) # SIPp runs in another directory
mkdir -p "$tmp/sipp" && ln -s "$pcapdir/g711a.pcap" "$pcapdir/dtmf_2833_1.pcap" "$tmp/sipp/"

pcap_packets() { # FILE: records in a classic pcap file (all of them RTP in SIPp's)
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
e = '<' if d[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack(e + 'IIII', d[off:off + 16])[2]
    off += 16 + incl
    n += 1
print(n)
PY
}
n_audio=$(pcap_packets "$pcapdir/g711a.pcap")
n_dtmf=$(pcap_packets "$pcapdir/dtmf_2833_1.pcap")
echo "    g711a.pcap: $n_audio packets, dtmf_2833_1.pcap: $n_dtmf packets"

# ---- 1. SIPp UAC -> sipkit phone
bob_sip=$(free_udp_port)
mport=$(free_udp_range 4)
rtp_b=$(free_udp_range 4)
phone_start bob --user sip:bob@127.0.0.1 --registrar none --listen "udp:127.0.0.1:$bob_sip" \
    --rtp-ports "$rtp_b-$((rtp_b + 3))" --auto-answer 0 --play tone:1000 --record "$tmp/bob.wav"
wait_ready 127.0.0.1 "$bob_sip" # the phone answers OPTIONS once it listens
( cd "$tmp/sipp" && timeout -k 5 60 sipp "127.0.0.1:$bob_sip" -sf "$scen/phone_pcap_uac.xml" -m 1 \
    -i 127.0.0.1 -p "$(free_udp_port)" -mi 127.0.0.1 -mp "$mport" -timeout 40s -timeout_error \
    -nostdin -trace_err -error_file "$tmp/uac.err" >"$tmp/uac.out" 2>&1 </dev/null )
rc=$?
[ "$rc" -eq 0 ]
check "SIPp UAC: call to the phone completes (sipp status $rc)" $? ||
    tail -n 20 "$tmp/uac.out" "$tmp/uac.err" 2>/dev/null | sed 's/^/    /'
wait_event "$tmp/bob.log" hungup 10 "${phone_pid[bob]}"
check "phone reports the hang-up" $? || cat "$tmp/bob.log" "$tmp/bob.err"
phone_stop bob
codec=$(jget "$tmp/bob.log" hungup quality.codec)
[ "$codec" = "PCMA/8000" ]
check "phone answered with the offered PCMA (${codec:-none})" $?
ptime=$(jget "$tmp/bob.log" hungup quality.ptime_ms)
echo "    phone's ptime: ${ptime:-?} ms (the offer said a=ptime:30)"
rx=$(jget "$tmp/bob.log" hungup quality.received.packets)
lost=$(jget "$tmp/bob.log" hungup quality.received.lost)
want=$((n_audio + n_dtmf))
[ -n "$rx" ] && [ "$rx" -le "$want" ] && [ "$rx" -ge $((want * 97 / 100)) ]
check "phone received the pcaps' RTP packets: ${rx:-?} of $want ($n_audio audio + $n_dtmf event)" $?
[ "${lost:-x}" = 0 ]
check "phone counts no loss (lost ${lost:-?})" $?
dt=$(jget "$tmp/bob.log" hungup quality.dtmf_received)
[ "$dt" = 1 ] && [ "$(jcount "$tmp/bob.log" dtmf-received)" -eq 1 ]
check "phone received the digit 1 from dtmf_2833_1.pcap once (${dt:-none})" $?
# what g711a.pcap holds is speech: the recording must not be silent
rms=$("$wavcheck" info "$tmp/bob.wav" 2>/dev/null | tr ' ' '\n' | sed -n 's/^rms=//p')
[ -n "$rms" ] && fcmp "$rms" '>' 100
check "the phone's recording of the pcap audio is not silence (rms ${rms:-?})" $?

# ---- 2. sipkit call -> SIPp UAS with RTP echo
uas_sip=$(free_udp_port)
mport=$(free_udp_range 4)
rtp_a=$(free_udp_range 4)
timeout -k 5 60 sipp -sf "$scen/phone_echo_uas.xml" -m 1 -i 127.0.0.1 -p "$uas_sip" \
    -mi 127.0.0.1 -mp "$mport" -rtp_echo -timeout 40s -timeout_error -nostdin \
    -trace_err -error_file "$tmp/uas.err" >"$tmp/uas.out" 2>&1 </dev/null &
uas_pid=$!
cleanup_hooks+=("kill $uas_pid 2>/dev/null")
wait_port udp "$uas_sip" 5 # SIPp listens
timeout -k 5 40 "$sipkit" call "sip:echo@127.0.0.1:$uas_sip" --user sip:alice@127.0.0.1 \
    --registrar none --rtp-ports "$rtp_a-$((rtp_a + 3))" --duration 5 --play tone:1000 \
    --dtmf 47 --record "$tmp/alice.wav" --json >"$tmp/alice.log" 2>"$tmp/alice.err"
rc=$?
[ "$rc" -eq 0 ]
check "sipkit call to the SIPp UAS exits 0 (got $rc)" $? || cat "$tmp/alice.log" "$tmp/alice.err"
check_no_sanitizer "sipkit call" "$tmp/alice.err"
wait_exit "$uas_pid" 15
wait "$uas_pid"
rc=$?
[ "$rc" -eq 0 ]
check "SIPp UAS: the call went as it expects (sipp status $rc)" $? ||
    tail -n 20 "$tmp/uas.out" "$tmp/uas.err" 2>/dev/null | sed 's/^/    /'
rx=$(jget "$tmp/alice.log" hungup quality.received.packets)
echo "    sipkit call received ${rx:-?} packets back in 5 s (250 sent at 20 ms)"
[ -n "$rx" ] && [ "$rx" -ge 237 ] && [ "$rx" -le 260 ]
check "sipkit call got its packets back: ${rx:-?} (250 +- 5%)" $?
codec=$(jget "$tmp/alice.log" hungup quality.codec)
[ "$codec" = "PCMU/8000" ]
check "sipkit call uses the answered PCMU (${codec:-none})" $?
f=$(wav_freq "$tmp/alice.wav")
[ -n "$f" ] && fcmp "$f" '>=' 990 && fcmp "$f" '<=' 1010
check "sipkit call's recording is its own 1000 Hz tone echoed (${f:-?} Hz)" $?
dt=$(jget "$tmp/alice.log" hungup quality.dtmf_received)
[ "$dt" = 47 ]
check "sipkit call hears its digits 47 echoed (${dt:-none})" $?

interop_finish
