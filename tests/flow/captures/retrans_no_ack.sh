#!/usr/bin/env bash
# retrans_no_ack: a SIPp caller INVITEs bob (a sipkit phone, no proxy) directly and never
# ACKs the 200: bob retransmits the 200 (0.5, 1, 2, 4 s apart, RFC 3261 §13.3.1.4)
# for the 9 s the capture lasts. usage: retrans_no_ack.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init retrans_no_ack "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
bob_answers --play tone:1000
sipp_uac "127.0.0.1:$((base + 1))" "$scen/uac_invite_no_ack.xml" -i 127.0.0.1 \
    -p "$((base + 2))" -mp "$((base + 30))"
capture_finish
