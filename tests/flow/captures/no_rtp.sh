#!/usr/bin/env bash
# no_rtp: ok_call captured on the SIP ports only (as when a capture filter takes port 5060 alone): an answered call whose RTP is not in the capture.
# usage: no_rtp.sh OUTDIR SIPKIT
CAP_NAME=no_rtp CAP_SIP_ONLY=1 exec bash "$(dirname "$0")/ok_call.sh" "$@"
