#!/usr/bin/env bash
# unsupported_415: alice calls bob (a SIPp UAS) through the proxy; bob takes no SDP body and answers 415 Unsupported Media Type with an Accept header.
# usage: unsupported_415.sh OUTDIR SIPKIT
CAP_NAME=unsupported_415 CAP_UAS=uas_415.xml CAP_CALL_OK=0 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
