#!/usr/bin/env bash
# Generates every capture of the catalogue (INDEX.md) into OUTDIR: OUTDIR/<name>.pcap.
# usage: make_all.sh OUTDIR SIPKIT [NAME...]   (no names: all of them)
# Each generator runs bounded (CAP_TIMEOUT s, 40 by default), CAP_JOBS (2) at a time; one
# that exits 77 lacks a tool or root and is skipped with its message. Exit status: 0 when
# none failed, 1 otherwise; the last line counts made, skipped and failed captures.
set -u
[ $# -ge 2 ] || { echo "usage: make_all.sh OUTDIR SIPKIT [NAME...]" >&2; exit 2; }
outdir=$1
sipkit=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$outdir" || exit 2
[ -x "$sipkit" ] || { echo "make_all: $sipkit is not executable" >&2; exit 2; }
all=(ok_call ok_call_tcp busy_486 not_found_404 unavailable_480 declined_603 cancelled_487
    no_answer_408 no_answer_timer_c codec_488 server_503 auth_loop auth_ok no_ringback
    ringback_ok early_media_ok one_way_nat rtp_one_direction rtp_loss retrans_no_ack
    invite_timeout_408 reg_423 reg_nat_rebind options_ping message rtp_dead_port dns_slow dns_ok
    unsupported_415 invite_retransmitted routing_loop_483 no_such_dialog_481
    cancel_after_answer auth_refused_403 binding_expired no_rtp nat_comedia dns_servfail rtp_jitter
    nat_private_contact no_trying_proxy)
[ $# -gt 0 ] && all=("$@")
jobs=${CAP_JOBS:-2} # generators at once (each uses its own ports and namespaces)
start=$SECONDS

# run_one NAME: one generator, its verdict line in OUTDIR/NAME.result
run_one() {
    local name=$1 gen=$here/$1.sh rc t0=$SECONDS
    rm -f "$outdir/$name.pcap"
    if [ ! -f "$gen" ]; then
        echo "FAIL $name: no generator $gen" >"$outdir/$name.result"
        return
    fi
    # setsid: a generator that hangs is killed with everything it started (its own group)
    timeout -k 5 "${CAP_TIMEOUT:-40}" setsid bash "$gen" "$outdir" "$sipkit" </dev/null \
        >"$outdir/$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ -s "$outdir/$name.pcap" ]; then
        echo "ok   $name ($((SECONDS - t0)) s)" >"$outdir/$name.result"
        rm -f "$outdir/$name.log"
    elif [ $rc -eq 77 ]; then
        echo "skip $name: $(sed -n "s/^$name: skipped: //p" "$outdir/$name.log" | head -n 1)" \
            >"$outdir/$name.result"
    else
        { echo "FAIL $name (status $rc, $((SECONDS - t0)) s; log in $outdir/$name.log):"
          tail -n 5 "$outdir/$name.log" | sed 's/^/    /'; } >"$outdir/$name.result"
    fi
}

running=0
for name in "${all[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
done
wait
made=0 skipped=0 failed=0 failed_names=""
for name in "${all[@]}"; do
    r=$outdir/$name.result
    [ -f "$r" ] || echo "FAIL $name: no result" >"$r"
    cat "$r"
    case $(head -c 4 "$r") in
    "ok  ") made=$((made + 1)) ;;
    skip) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)); failed_names="$failed_names $name" ;;
    esac
    rm -f "$r"
done
echo "make_all: $made made, $skipped skipped, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)} in $((SECONDS - start)) s"
[ $failed -eq 0 ]
