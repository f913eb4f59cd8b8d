#!/usr/bin/env bash
# SIPp injection file for bench/bench_register.sh: user00000;pw0 .. user<N-1>;pw<N-1>, one per line.
# Usage: gen_users.sh COUNT > users.csv   (COUNT <= 100000: five-digit user numbers)
set -euo pipefail
n=${1:?usage: gen_users.sh COUNT}
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 100000)); then
    echo "gen_users.sh: COUNT must be 1..100000" >&2
    exit 2
fi
echo SEQUENTIAL
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "user%05d;pw%d;\n", i, i }'
