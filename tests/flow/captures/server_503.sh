#!/usr/bin/env bash
# server_503: the callee's server (SIPp UAS) is overloaded: 503 Service Unavailable, Retry-After: 120; the proxy answers the caller itself (RFC 3261 §16.7: a 503 is not forwarded as such).
# usage: server_503.sh OUTDIR SIPKIT
CAP_NAME=server_503 CAP_UAS=uas_503.xml CAP_CALL_OK=0 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
