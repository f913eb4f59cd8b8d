#!/usr/bin/env bash
# no_ringback: 183 Session Progress with SDP and then no RTP for 3 s: the caller stops its local ringback and hears silence until the 200; RTP both ways after it.
# usage: no_ringback.sh OUTDIR SIPKIT
CAP_NAME=no_ringback CAP_UAS=uas_183_silent.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
