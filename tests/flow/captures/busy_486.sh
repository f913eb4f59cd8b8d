#!/usr/bin/env bash
# busy_486: the callee (SIPp UAS) rings 1 s and answers 486 Busy Here; the proxy relays it.
# usage: busy_486.sh OUTDIR SIPKIT
CAP_NAME=busy_486 CAP_UAS=uas_486.xml CAP_CALL_OK=0 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
