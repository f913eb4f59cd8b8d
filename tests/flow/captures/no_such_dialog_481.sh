#!/usr/bin/env bash
# no_such_dialog_481: a SIPp caller sends a BYE for a call bob (a sipkit phone) never had, as after a restart or lost dialog state; bob answers 481.
# usage: no_such_dialog_481.sh OUTDIR SIPKIT
. "$(dirname "$0")/lib.sh"
cap_init no_such_dialog_481 "$@"
need_root
need tcpdump sipp
alloc_ports 40
capture_start "portrange $base-$((base + 39))"
bob_answers
sipp_uac "127.0.0.1:$((base + 1))" "$scen/uac_bye_no_dialog.xml" -i 127.0.0.1 -p "$((base + 2))"
capture_finish
