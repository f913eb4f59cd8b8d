#!/usr/bin/env bash
# early_media_ok: 183 with SDP and RTP from the callee at once (early media, play_pcap_audio), 200 after 3 s, RTP on. Must not be flagged.
# usage: early_media_ok.sh OUTDIR SIPKIT
CAP_NAME=early_media_ok CAP_UAS=uas_183_media.xml CAP_CALL_OK=1 CAP_UAS_ARGS='' CAP_CALL_ARGS='' \
    exec bash "$(dirname "$0")/sipp_callee.sh" "$@"
