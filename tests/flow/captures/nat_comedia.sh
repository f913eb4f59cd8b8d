#!/usr/bin/env bash
# nat_comedia: one_way_nat with bob a sipkit phone (symmetric RTP): alice's SDP still carries her private address, but bob answers to the NAT, so audio flows both ways.
# usage: nat_comedia.sh OUTDIR SIPKIT
CAP_NAME=nat_comedia CAP_BOB_PHONE=1 exec bash "$(dirname "$0")/one_way_nat.sh" "$@"
