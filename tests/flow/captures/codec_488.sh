#!/usr/bin/env bash
# codec_488: the callee (SIPp UAS) has no codec in common with the offer: 488 with Warning: 305.
# usage: codec_488.sh OUTDIR SIPKIT
CAP_NAME=codec_488 CAP_UAS=uas_488.xml CAP_CALL_OK=0 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
