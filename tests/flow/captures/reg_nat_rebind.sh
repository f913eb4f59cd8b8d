#!/usr/bin/env bash
# reg_nat_rebind: one registration (same Call-ID, From tag and Contact, CSeq going up)
# refreshed from a new source port, as when a NAT drops and re-creates its mapping:
# REGISTER/401/REGISTER/200 from port P, then 1 s later the same from port P+1; the
# registrar's received address changes while the Contact stays.
# usage: reg_nat_rebind.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init reg_nat_rebind "$@"
need_root
need tcpdump sipp
alloc_ports 40
serve_start 127.0.0.1 "$base"
capture_start "portrange $base-$((base + 39))"
cid="rebind-$base@127.0.0.1"
for i in 1 2; do
    sipp_run "uac$i" "127.0.0.1:$base" "$scen/register_expires.xml" -i 127.0.0.1 \
        -p "$((base + i))" -s bob -au bob -ap secret2 -auth_uri localhost -set expires 300 \
        -set tag rebind1 -set contact_port "$((base + 1))" -cid_str "$cid" \
        -base_cseq $((2 * i - 1))
    [ "$sipp_rc" -eq 0 ] || cap_fail "SIPp run $i exited $sipp_rc: $(tail -n 3 "$tmp/uac$i.err" 2>/dev/null)"
    sleep 1
done
capture_finish
