#!/usr/bin/env bash
# CLI test of `sipkit flow FILE --call N --mermaid`: the output is exactly one ```mermaid
# fenced block (what GitHub and GitLab markdown draw), and the Mermaid CLI (mmdc, from
# tests/tools/node, in Debian's headless Chromium) renders it unchanged to SVG with
# every participant and message. The capture (tests/tools/mkflowhtml.py) has a call
# with a retransmitted 200 and RTP, and a 486 whose reason phrase holds quotes, ';',
# '#', '%', '&', '<' and '>': the SVG must show that phrase as it was sent.
# Exits 77 (skipped) after the format checks when chromium, node or the npm modules
# are absent. usage: flow_mermaid.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
data=$2
srcdir=$(cd "$data/.." && pwd)
. "$srcdir/interop/lib/common.bash"
interop_init
node_dir=$srcdir/tools/node
chromium=${CHROMIUM:-/usr/bin/chromium}

pcap=$tmp/h.pcap
python3 "$srcdir/tools/mkflowhtml.py" "$pcap"; check "mkflowhtml.py writes a capture" $? ||
    interop_finish
for n in 1 2 3; do
    "$sipkit" flow "$pcap" --call $n --mermaid >"$tmp/c$n.md" 2>"$tmp/err"; rc=$?
    # exactly: ```mermaid, sequenceDiagram, statements, ``` (no other fence, no blank line)
    [ $rc -eq 0 ] && [ "$(head -n 1 "$tmp/c$n.md")" = '```mermaid' ] &&
        [ "$(sed -n 2p "$tmp/c$n.md")" = sequenceDiagram ] &&
        [ "$(tail -n 1 "$tmp/c$n.md")" = '```' ] &&
        [ "$(grep -c '```' "$tmp/c$n.md")" = 2 ] &&
        ! sed '1,2d;$d' "$tmp/c$n.md" | grep -q -v -E '^    (participant P[0-9]+ as |P[0-9]+->>P[0-9]+: |Note over P[0-9]+(,P[0-9]+)?: )'
    check "--call $n --mermaid is one \`\`\`mermaid block of sequence statements (status $rc)" $? ||
        cat "$tmp/c$n.md"
done
# the reason phrase goes through Mermaid's entity codes, nothing dropped
grep -q -F 'P2->>P1: 14.100 486 Busy #quot;Here#quot;#59; #35;1 #lt;now#gt; #amp; 100#37;' "$tmp/c2.md"
check "the 486 reason phrase in entity codes" $? || grep 486 "$tmp/c2.md"

if [ ! -x "$chromium" ] || ! command -v node >/dev/null; then
    echo "skipping the rendering: needs $chromium (Debian: chromium) and node"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
if ! "$node_dir/install.sh" || [ ! -x "$node_dir/node_modules/.bin/mmdc" ]; then
    echo "skipping the rendering: the npm modules of $node_dir are not installed (install.sh failed)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
printf '{"executablePath": "%s", "args": ["--no-sandbox", "--disable-gpu"]}\n' "$chromium" \
    >"$tmp/puppeteer.json"
# the three blocks pasted into one markdown file, as into a README; one browser run
{
    echo '# calls'
    for n in 1 2 3; do echo; cat "$tmp/c$n.md"; done
} >"$tmp/calls.md"
(cd "$tmp" && timeout 120 "$node_dir/node_modules/.bin/mmdc" -p puppeteer.json -i calls.md \
    -o rendered.md -e svg) >"$tmp/mmdc.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'Found 3 mermaid charts' "$tmp/mmdc.out" &&
    [ -s "$tmp/rendered-1.svg" ] && [ -s "$tmp/rendered-2.svg" ] && [ -s "$tmp/rendered-3.svg" ]
check "mmdc renders the three blocks to SVG (status $rc)" $? || cat "$tmp/mmdc.out"

# svgtext SVG: the text Mermaid drew, one element a line, entities decoded
svgtext() {
    python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
for e in root.iter():
    tag = e.tag.split('}')[-1]
    if tag in ('text', 'tspan') and e.text and e.text.strip():
        print(e.text.strip())
    if tag == 'foreignObject':
        print(' '.join(t.strip() for t in e.itertext() if t.strip()))
PY
}
for n in 1 2 3; do
    svgtext "$tmp/rendered-$n.svg" >"$tmp/t$n" 2>"$tmp/t$n.err"
    check "rendered-$n.svg is well-formed XML" $? || head -3 "$tmp/t$n.err"
    ! grep -q -i 'syntax error' "$tmp/rendered-$n.svg"
    check "rendered-$n.svg is no 'Syntax error' diagram" $?
done
has() { grep -q -x -F -- "$2" "$tmp/t$1" || { echo "    not in diagram $1: $2"; return 1; }; }
all=0
for s in 10.0.0.1:5060 10.0.0.2:5060 '0.000 INVITE (SDP)' '0.050 180 Ringing' '0.500 200 OK (SDP)' \
    '0.510 ACK' '0.900 200 OK (SDP) (retransmission)' '13.000 BYE' '13.010 200 OK' \
    'SDP offer PCMU/8000 10.0.0.1:4000 sendrecv [0 101]'; do
    has 1 "$s" || all=1
done
grep -q -E '^RTP 10\.0\.0\.1:4000 to 10\.0\.0\.2:5000 .*lost 21 ' "$tmp/t1" || all=1
[ $all -eq 0 ]; check "call 1: participants, every message, the SDP and the RTP note drawn" $? ||
    sed 's/^/    /' "$tmp/t1"
all=0
for s in 10.0.0.1:5060 10.0.0.2:5060 '14.000 INVITE (SDP)' \
    '14.100 486 Busy "Here"; #1 <now> & 100%' '14.110 ACK' \
    'verdict: failed: 486 Busy "Here"; #1 <now> & 100%'; do
    has 2 "$s" || all=1
done
[ $all -eq 0 ]; check "call 2: the reason phrase drawn as sent (quotes ; # % & < >)" $? ||
    sed 's/^/    /' "$tmp/t2"
has 3 '15.000 OPTIONS' && has 3 '15.010 200 OK'; check "item 3: the OPTIONS and its 200" $?
interop_finish
