#!/usr/bin/env bash
# The monitoring endpoints of `sipkit serve --http` (issue 19, monitoring):
#  (a) a scripted set of SIP requests (tests/interop/metrics_http.py: three
#      REGISTERs, one with a wrong password; a refresh and an unregistration;
#      OPTIONS over UDP, TCP and TLS; a 404; malformed messages; a proxied call
#      answered and ended, one refused with 486) moves the /metrics counters by
#      exactly the figures the script states, and /api/registrations,
#      /api/calls, /api/stats and /health say the same
#  (b) bad HTTP (oversized header, very long URL, garbage, POST) is refused and
#      the server keeps serving SIP and HTTP
#  (c) `promtool check metrics` accepts the exposition, `promtool check rules`
#      the shipped alert rules (contrib/prometheus/sipkit-alerts.yml)
#  (d) a real Prometheus (loopback, temporary directory, bounded) scrapes
#      /metrics: its API says up == 1 and the scrape had no error
# usage: metrics_http.sh SIPKIT_BINARY TESTS_SOURCE_DIR
set -u
sipkit=$1
srcdir=$2
. "$srcdir/interop/lib/common.bash"
interop_init
command -v curl >/dev/null || { echo "curl missing (scripts/install-deps test)"; exit 77; }

pw="pw-$$-"
data=$tmp/data
mkdir -p "$data"
for u in alice bob carol callee busy; do
    "$sipkit" user add "$u@localhost" --password "$pw$u" --data "$data" >/dev/null ||
        check "user add $u@localhost" 1
done
port=$(free_port) || { check "free port" 1; interop_finish; }
http_port=$(free_port tcp) || { check "free HTTP port" 1; interop_finish; }
tls_port=$(free_port tcp) || { check "free TLS port" 1; interop_finish; }
server_data=$data
server_start "$port" --listen "tls:127.0.0.1:$tls_port" --domain localhost --proxy-auth off \
    --http "127.0.0.1:$http_port" ||
    { check "server starts with --http 127.0.0.1:$http_port" 1; interop_finish; }
wait_for 5 curl -sf -o /dev/null "http://127.0.0.1:$http_port/health/ready"
check "/health/ready answers 200 once the server runs" $?

py_checks python3 "$srcdir/interop/metrics_http.py" "$srcdir/interop/lib" "$port" "$http_port" \
    "$pw" "$tmp/metrics.txt" "$tls_port"
server_alive; check "the server is still running" $?

# (c) the exposition and the alert rules as Prometheus' own tool reads them
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1
    check "promtool check metrics accepts /metrics" $? || sed 's/^/    /' "$tmp/promtool.out"
    promtool check rules "$srcdir/../contrib/prometheus/sipkit-alerts.yml" >"$tmp/rules.out" 2>&1
    check "promtool check rules accepts contrib/prometheus/sipkit-alerts.yml" $? ||
        sed 's/^/    /' "$tmp/rules.out"
else
    check "promtool installed (scripts/install-deps test: prometheus)" 1
fi
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
    "$srcdir/../contrib/grafana/sipkit-dashboard.json"
check "contrib/grafana/sipkit-dashboard.json is JSON" $?

# (d) a real Prometheus scraping us, on loopback, in the temporary directory
prom_up() { # the value of up{job="sipkit"} and the target's lastError, from the API
    curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["data"]["activeTargets"] if x["labels"].get("job") == "sipkit"]
ok = t and t[0]["health"] == "up" and t[0]["lastError"] == ""
sys.exit(0 if ok else 1)' 2>/dev/null
}
prom_query_up() {
    curl -sf "http://127.0.0.1:$prom_port/api/v1/query?query=up%7Bjob%3D%22sipkit%22%7D" |
        python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
sys.exit(0 if len(r) == 1 and r[0]["value"][1] == "1" else 1)' 2>/dev/null
}
if command -v prometheus >/dev/null; then
    prom_port=$(free_port tcp)
    cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
rule_files:
  - $srcdir/../contrib/prometheus/sipkit-alerts.yml
scrape_configs:
  - job_name: sipkit
    static_configs:
      - targets: ['127.0.0.1:$http_port']
YML
    timeout -k 5 60 prometheus --config.file="$tmp/prometheus.yml" \
        --storage.tsdb.path="$tmp/prom-data" --web.listen-address="127.0.0.1:$prom_port" \
        >"$tmp/prometheus.log" 2>&1 &
    prom_pid=$!
    cleanup_hooks+=("kill $prom_pid 2>/dev/null")
    wait_for 30 prom_up
    check "Prometheus scrapes /metrics: target up, no scrape error" $? ||
        tail -n 20 "$tmp/prometheus.log" | sed 's/^/    /'
    wait_for 15 prom_query_up
    check "Prometheus query up{job=\"sipkit\"} == 1" $?
    kill "$prom_pid" 2>/dev/null
    wait "$prom_pid" 2>/dev/null
else
    check "prometheus installed (scripts/install-deps test: prometheus)" 1
fi

server_stop_checked
interop_finish
