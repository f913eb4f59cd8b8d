#!/usr/bin/env bash
# ok_call_tcp: ok_call with SIP over TCP (phones and proxy); RTP stays on UDP.
# usage: ok_call_tcp.sh OUTDIR SIPKIT
CAP_NAME=ok_call_tcp CAP_TRANSPORT=tcp exec bash "$(dirname "$0")/ok_call.sh" "$@"
