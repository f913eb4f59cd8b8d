#!/usr/bin/env bash
# ringback_ok: 180 Ringing without SDP for 3 s (the caller plays its own ringback tone), then 200 and RTP both ways. Must not be flagged as missing ringback.
# usage: ringback_ok.sh OUTDIR SIPKIT
CAP_NAME=ringback_ok CAP_UAS=uas_180_answer.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
