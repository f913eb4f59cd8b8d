#!/usr/bin/env bash
# declined_603: the callee (SIPp UAS) rings 1 s and declines with 603 Decline.
# usage: declined_603.sh OUTDIR SIPKIT
CAP_NAME=declined_603 CAP_UAS=uas_603.xml CAP_CALL_OK=0 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
