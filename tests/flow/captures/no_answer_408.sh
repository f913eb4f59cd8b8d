#!/usr/bin/env bash
# no_answer_408: the callee (SIPp UAS) rings (180) for 5 s, nobody picks up, and its own
# no-answer timer ends the call with 408 Request Timeout, relayed by the proxy.
# usage: no_answer_408.sh OUTDIR SIPKIT
CAP_NAME=no_answer_408 CAP_UAS=uas_408.xml CAP_CALL_OK=0 \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
