#!/usr/bin/env bash
# dns_servfail: dns_slow whose DNS server answers the first lookup of pbx.test SERVFAIL at once; the resolver tries again (attempts:2) and gets the answer, and the call goes on.
# usage: dns_servfail.sh OUTDIR SIPKIT
CAP_NAME=dns_servfail CAP_DNS_DELAY=0 CAP_DNS_ARGS=--servfail-first CAP_DNS_ATTEMPTS=2 \
    exec bash "$(dirname "$0")/dns_slow.sh" "$@"
