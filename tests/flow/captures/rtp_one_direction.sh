#!/usr/bin/env bash
# rtp_one_direction: a normal answered call (180, 200 with SDP, ACK, BYE) in which the callee never sends RTP: the caller's RTP flows one way only, without any NAT.
# usage: rtp_one_direction.sh OUTDIR SIPKIT
CAP_NAME=rtp_one_direction CAP_UAS=uas_answer_silent.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
