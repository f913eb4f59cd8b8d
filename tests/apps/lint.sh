#!/usr/bin/env bash
# CLI tests of `sipkit lint`: exit codes, FILE:LINE:COL reports, stdin, and valid JSON output.
# usage: lint.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
data=$2
rfc=$data/rfc4475
srcdir=$(cd "$data/.." && pwd)
. "$srcdir/interop/lib/common.bash"
interop_init

# A valid message: exit 0 and an "ok" line.
out=$("$sipkit" lint "$rfc/wsinv.dat"); rc=$?
check "wsinv exit 0" $rc
[[ "$out" == *"wsinv.dat: ok: INVITE request, 14 headers, 150-byte body"* ]]; check "wsinv ok line" $?

# Invalid ones: exit 1 and FILE:LINE:COL: reason.
out=$("$sipkit" lint "$rfc/badinv01.dat"); rc=$?
[ $rc -eq 1 ]; check "badinv01 exit 1" $?
[[ "$out" == *"badinv01.dat:7:29: Bad Via: empty parameter (400)"* ]]; check "badinv01 position ($out)" $?
out=$("$sipkit" lint "$rfc/lwsruri.dat")
[[ "$out" == *"lwsruri.dat:1:29: Bad Request-Line: whitespace inside the Request-URI"* ]]; check "lwsruri ($out)" $?
out=$("$sipkit" lint "$rfc/insuf.dat")
[[ "$out" == *"missing From header"* ]]; check "insuf ($out)" $?
out=$("$sipkit" lint "$rfc/badvers.dat")
[[ "$out" == *"(505)"* ]]; check "badvers 505 ($out)" $?

# Several files: exit 1 if any is invalid, every file reported.
out=$("$sipkit" lint "$rfc/wsinv.dat" "$rfc/clerr.dat" "$rfc/esc01.dat"); rc=$?
[ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]; check "three files" $?

# stdin, with bare LF line ends.
printf 'OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n\n' >"$tmp/lf.sip"
"$sipkit" lint - <"$tmp/lf.sip" >/dev/null; check "stdin bare LF" $?

# Hostile input: empty file, binary noise, huge header; never a crash (exit 1, not >1).
: >"$tmp/empty.sip"
"$sipkit" lint "$tmp/empty.sip" >/dev/null; [ $? -eq 1 ]; check "empty file" $?
head -c 70000 /dev/urandom >"$tmp/noise.sip"
"$sipkit" lint "$tmp/noise.sip" >/dev/null; [ $? -eq 1 ]; check "noise" $?
{ printf 'OPTIONS sip:a@b SIP/2.0\r\nX: '; head -c 20000 /dev/zero | tr '\0' 'a'; printf '\r\n\r\n'; } >"$tmp/long.sip"
out=$("$sipkit" lint "$tmp/long.sip"); [[ "$out" == *"header field too long (513)"* ]]; check "long header ($out)" $?
"$sipkit" lint "$tmp/does-not-exist.sip" 2>/dev/null; [ $? -eq 1 ]; check "missing file" $?
"$sipkit" lint --bogus "$rfc/wsinv.dat" 2>/dev/null; [ $? -eq 2 ]; check "unknown option" $?

# JSON: valid JSON for every torture message, with the typed fields.
for f in "$rfc"/*.dat; do
    "$sipkit" lint --json "$f" >"$tmp/out.json"
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out.json"
    st_=$?; check "json $(basename "$f")" $st_
done
"$sipkit" lint --json "$rfc/wsinv.dat" >"$tmp/wsinv.json"
python3 - "$tmp/wsinv.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["message"]; f = m["fields"]
assert d["valid"] is True
assert m["method"] == "INVITE" and m["request_uri"]["host"] == "chair-dnrc.example.com"
assert [v["branch"] for v in f["Via"]] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
assert f["To"]["tag"] == "1918181833n" and f["From"]["tag"] == "98asjd8"
assert f["From"]["display"] == 'J Rosenberg \\"'
assert f["CSeq"] == {"number": 9, "method": "INVITE"}
assert f["Max-Forwards"] == 68
assert f["Contact"][0]["q"] == "0.330" and f["Contact"][0]["params"]["newparam"] == "newvalue"
assert m["body"] == {"length": 150, "content_type": "application/sdp"}
names = [h["name"] for h in m["headers"]]
assert "NewFangledHeader" in names and names.count("Via") == 2
PY
check "wsinv json fields" $?
"$sipkit" lint --json "$rfc/dblreq.dat" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["trailing_bytes"] > 0'
check "dblreq trailing bytes" $?
"$sipkit" lint --json "$rfc/badinv01.dat" | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["errors"][0]; assert not d["valid"] and e["line"]==7 and e["column"]==29 and e["status"]==400'
check "badinv01 json error" $?

interop_finish
