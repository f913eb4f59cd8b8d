#!/usr/bin/env bash
# dns_ok: dns_slow with a DNS server that answers at once: the lookup is no finding.
# usage: dns_ok.sh OUTDIR SIPKIT
CAP_NAME=dns_ok CAP_DNS_DELAY=0 exec bash "$(dirname "$0")/dns_slow.sh" "$@"
