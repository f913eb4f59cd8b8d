#!/usr/bin/env bash
# sipkit phone against a forking far end (RFC 3261 §13.2.2.4): two 2xx with different To tags.
# Usage: phone_fork.sh SIPKIT TESTS_DIR
set -u
sipkit=$1
srcdir=$2
exec timeout -k 5 60 python3 "$srcdir/interop/lib/phone_fork.py" "$sipkit"
