#!/usr/bin/env bash
# Shared body of the generators whose callee is a SIPp UAS: sipkit serve, bob@localhost
# bound to the SIPp UAS, alice calling bob with `sipkit call` through the proxy (407
# answered). Set by the caller: CAP_NAME, CAP_UAS (scenario file), CAP_UAS_ARGS (more
# SIPp arguments), CAP_CALL_ARGS (more `sipkit call` arguments), CAP_SERVE_ARGS (more serve arguments), CAP_CALL_OK (1: the
# call must succeed), CAP_ICMP (1: capture the ICMP errors about the ports too).
# usage: sipp_callee.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init "$CAP_NAME" "$@"
need_root
need tcpdump sipp
alloc_ports 40
# shellcheck disable=SC2086 # a word list
serve_start 127.0.0.1 "$base" "" -- ${CAP_SERVE_ARGS:-}
filter="portrange $base-$((base + 39))"
# icmp[30:2]: the destination port of the UDP header an ICMP error quotes (8 + 20 + 2)
[ "${CAP_ICMP:-0}" = 1 ] && filter="$filter or (icmp and icmp[30:2] >= $base and icmp[30:2] <= $((base + 39)))"
capture_start "$filter"
cp "$scen"/*.xml "$tmp/"
if grep -q play_pcap_audio "$scen/$CAP_UAS"; then
    [ -f /usr/share/sip-tester/g711a.pcap ] || { cap_log "skipped: needs SIPp's g711a.pcap"; exit 77; }
    cp /usr/share/sip-tester/g711a.pcap "$tmp/"
fi
# shellcheck disable=SC2086 # CAP_UAS_ARGS is a word list
(cd "$tmp" && exec timeout -k 5 40 sipp -sf "$CAP_UAS" -m 1 -nostdin -timeout 30s \
    -i 127.0.0.1 -p "$((base + 3))" -mp "$((base + 30))" -trace_err -error_file "$tmp/uas.err" \
    ${CAP_UAS_ARGS:-}) </dev/null >"$tmp/uas.log" 2>&1 &
uas_pid=$!
cap_pids+=("$uas_pid")
register_contact bob secret2 "$((base + 3))" "$base" "$((base + 4))"
# shellcheck disable=SC2086
bg alice "$sipkit" call sip:bob@localhost --user sip:alice@localhost --password secret \
    --outbound-proxy "sip:127.0.0.1:$base" --listen "udp:127.0.0.1:$((base + 2))" \
    --play tone:440 --rtp-ports "$((base + 20))-$((base + 29))" --duration 4 --timeout 15 \
    ${CAP_CALL_ARGS:-}
wait_pid "$last_pid" 28 || cap_fail "the call did not end: $(tail -n 3 "$tmp/alice.log")"
if [ "${CAP_CALL_OK:-0}" = 1 ] && [ "$wait_rc" -ne 0 ]; then
    cap_fail "sipkit call exited $wait_rc: $(tail -n 5 "$tmp/alice.log")"
fi
wait_pid "$uas_pid" 10
[ "$wait_rc" -eq 0 ] || cap_fail "the SIPp callee exited $wait_rc: $(tail -n 5 "$tmp/uas.err" 2>/dev/null)"
capture_finish
