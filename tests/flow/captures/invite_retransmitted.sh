#!/usr/bin/env bash
# invite_retransmitted: the SIPp callee answers nothing for 1.8 s, so the proxy retransmits its INVITE twice before the 180; the call then goes on normally.
# usage: invite_retransmitted.sh OUTDIR SIPKIT
CAP_NAME=invite_retransmitted CAP_UAS=uas_late_answer.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
