#!/usr/bin/env bash
# rtp_dead_port: an answered call whose callee's SDP names a media port nobody listens on: the caller's RTP to it is refused with ICMP port unreachable (captured too).
# usage: rtp_dead_port.sh OUTDIR SIPKIT
CAP_NAME=rtp_dead_port CAP_UAS=uas_answer_dead_port.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' CAP_ICMP=1 \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
