#!/usr/bin/env bash
# CLI test of `sipkit flow FILE --html OUT`: on a capture written here
# (tests/tools/mkflowhtml.py: a call with 12 s of RTP, loss and jitter; a call from a
# hostile peer with markup and script in its Call-ID, headers and reason phrase; an
# OPTIONS), the page is self-contained (nothing fetched), has one ladder per item,
# --call and the filters choose what it shows, 250 more calls are capped at 200
# ladders with a note, and the hostile text is escaped; every public capture
# (../shared/captures) makes a page too. Then headless Chromium
# (tests/tools/node/htmlcheck.mjs, puppeteer-core) loads it: no console error, no
# request, a click on an arrow opens its message, a screenshot is taken.
# Exits 77 (skipped) after the static checks when chromium, node or the npm modules
# are absent. usage: flow_html.sh SIPKIT_BINARY TEST_DATA_DIR
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
page=$tmp/out.html
"$sipkit" flow "$pcap" --html "$page" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && [ -s "$page" ] && grep -q "^wrote $page: 3 items, 3 ladders" "$tmp/out"
check "--html writes the page (status $rc: $(head -c 200 "$tmp/out"))" $?

# pagecheck PAGE: what the page holds, as "key=value" lines (Python's HTML parser)
pagecheck() {
    python3 - "$1" <<'PY'
import re, sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fetch, self.scripts, self.ladders, self.handlers, self.tags = [], 0, 0, 0, set()
        self.style = ''
        self.in_style = False
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == 'script':
            self.scripts += 1
        if tag == 'svg' and 'ladder' in (a.get('class') or '').split():
            self.ladders += 1
        for k, v in attrs:
            if k.startswith('on'):
                self.handlers += 1
            # anything that could load: src, srcset, poster, data, action, and every
            # href that is not an anchor in the page
            if k in ('src', 'srcset', 'poster', 'data', 'action', 'formaction', 'background') or \
               (k in ('href', 'xlink:href') and not (v or '').startswith('#')):
                self.fetch.append('%s %s=%s' % (tag, k, v))
        self.in_style = tag == 'style'
    def handle_endtag(self, tag):
        self.in_style = False
    def handle_data(self, d):
        if self.in_style:
            self.style += d

raw = open(sys.argv[1], encoding='utf-8').read()  # also: the page is valid UTF-8
p = P()
p.feed(raw)
if re.search(r'url\s*\(|@import', p.style):
    p.fetch.append('CSS url()/@import')
for tag in ('link', 'iframe', 'img', 'object', 'embed', 'base', 'meta refresh'):
    if tag in p.tags:
        p.fetch.append('<%s>' % tag)
print('fetch=%s' % ('|'.join(p.fetch) or 'none'))
print('http=%d' % len(re.findall(r'https?://', raw)))
print('scripts=%d' % p.scripts)
print('ladders=%d' % p.ladders)
print('handlers=%d' % p.handlers)
print('plots=%d' % raw.count('<svg class="plot"'))
print('bytes=%d' % len(raw.encode()))
print('capped=%d' % raw.count('id="capped"'))
PY
}
val() { sed -n "s/^$1=//p" "$tmp/check"; }

pagecheck "$page" >"$tmp/check" 2>&1
check "the page parses as UTF-8 HTML ($(tr '\n' ' ' <"$tmp/check"))" $?
[ "$(val fetch)" = none ] && [ "$(val http)" = 0 ]
check "self-contained: no src, no outside href, no CSS url(), no http(s):// ($(val fetch), $(val http))" $?
[ "$(val ladders)" = 3 ]; check "one ladder <svg> per item (3: $(val ladders))" $?
[ "$(val plots)" = 2 ]; check "a jitter/loss plot per RTP stream (2: $(val plots))" $?
[ "$(val scripts)" = 1 ] && [ "$(val handlers)" = 0 ]
check "one script (ours), no on* handler ($(val scripts), $(val handlers))" $?
# the hostile peer: its markup is text wherever it shows (table, heading, SVG, message)
! grep -q -F '<script>alert(1)' "$page" && ! grep -q -F '<img src=x' "$page" &&
    ! grep -q -F '</pre><script>' "$page"
check "no markup of the capture reaches the page raw" $?
n=$(grep -c -F '&lt;script&gt;alert(1)&lt;/script&gt;x@evil' "$page")
[ "$n" -ge 3 ]; check "the hostile Call-ID shows escaped (table, heading, message: $n)" $?
grep -q -F 'X-Note: &lt;/pre&gt;&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;' "$page"
check "the hostile header shows escaped in the message text" $?
grep -q -F '486 Busy &quot;Here&quot;; #1 &lt;now&gt; &amp; 100%' "$page" &&
    grep -q -E '<title>[^<]*486 Busy &quot;Here&quot;; #1 &lt;now&gt; &amp; 100%' "$page"
check "the reason phrase shows escaped, inside the SVG too" $?
grep -q '200 OK (retransmission)' "$page" && grep -q 'class="msg ok rt"' "$page"
check "the retransmitted 200 is marked" $?
grep -q 'class="sdp"[^>]*>SDP offer PCMU/8000 10.0.0.1:4000 sendrecv' "$page"
check "the SDP offer is summed up on its arrow" $?
grep -q 'status-486' "$page" && grep -q '<a href="#c2m2">' "$page" && grep -q '<b>Fix:</b>' "$page"
check "the finding with its evidence frame (a link to the message) and its fix" $?
grep -q '<rect class="loss"' "$page"; check "the lost packets show in the loss plot" $?

# --call and the filters
"$sipkit" flow "$pcap" --html "$tmp/c2.html" --call 2 >/dev/null 2>&1; rc=$?
pagecheck "$tmp/c2.html" >"$tmp/check"
[ $rc -eq 0 ] && [ "$(val ladders)" = 1 ] && grep -q 'id="item2"' "$tmp/c2.html"
check "--call 2 --html: that call alone (status $rc, $(val ladders) ladders)" $?
"$sipkit" flow "$pcap" --html "$tmp/f.html" --status 4xx >/dev/null 2>&1; rc=$?
pagecheck "$tmp/f.html" >"$tmp/check"
[ $rc -eq 0 ] && [ "$(val ladders)" = 1 ] && grep -q 'id="item2"' "$tmp/f.html"
check "--status 4xx --html: the 486 call alone (status $rc, $(val ladders) ladders)" $?
"$sipkit" flow "$pcap" --html "$tmp/x.html" --call 99 >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && [ ! -e "$tmp/x.html" ]; check "--call 99 --html: status 1, no page ($rc)" $?
"$sipkit" flow "$pcap" --html "$tmp/x.html" --json >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ]; check "--html with --json: bad usage ($rc)" $?
"$sipkit" flow "$pcap" --html "$tmp/no/such/dir.html" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q 'dir.html' "$tmp/err"; check "--html into a missing directory: status 1 ($rc)" $?

# 253 items: 200 ladders, a note in the page and on stderr, the table complete
python3 "$srcdir/tools/mkflowhtml.py" "$tmp/many.pcap" --many 250
"$sipkit" flow "$tmp/many.pcap" --html "$tmp/many.html" >"$tmp/out" 2>"$tmp/err"; rc=$?
pagecheck "$tmp/many.html" >"$tmp/check"
rows=$(grep -c '^<tr><td class="n">' "$tmp/many.html")
[ $rc -eq 0 ] && [ "$(val ladders)" = 200 ] && [ "$(val capped)" = 1 ] &&
    grep -q 'only the first 200 ladders' "$tmp/err" && [ "$rows" -ge 253 ] &&
    [ "$(val bytes)" -lt 8000000 ]
check "253 items: 200 ladders, the cap said in the page and on stderr, $rows table rows, $(val bytes) bytes (status $rc)" $?
"$sipkit" flow "$tmp/many.pcap" --html "$tmp/one.html" --call many-249@10.0.0.1 >/dev/null 2>&1
pagecheck "$tmp/one.html" >"$tmp/check"
[ "$(val ladders)" = 1 ] && [ "$(val capped)" = 0 ] && grep -q 'many-249@10.0.0.1' "$tmp/one.html"
check "--call draws a call past the cap" $?

# ---- the public captures: a page for each, self-contained, a ladder per item ----
captures=${SIPKIT_CAPTURES:-$(cd "$srcdir/.." && pwd)/../shared/captures}
n=0
for f in "$captures"/*.pcap "$captures"/*.pcapng; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    b=$(basename "$f")
    timeout 120 "$sipkit" flow "$f" --html "$tmp/pub.html" >"$tmp/pub.out" 2>"$tmp/pub.err"; rc=$?
    items=$(sed -n 's/^wrote .*: \([0-9]*\) items, .*/\1/p' "$tmp/pub.out")
    pagecheck "$tmp/pub.html" >"$tmp/check" 2>&1
    want=$(( ${items:-0} < 200 ? ${items:-0} : 200 ))
    [ $rc -eq 0 ] && [ "$(val fetch)" = none ] && [ "$(val http)" = 0 ] &&
        [ "$(val ladders)" = "$want" ] && [ "$(val scripts)" = 1 ] && [ "$(val handlers)" = 0 ]
    check "$b: --html (status $rc): $(val ladders) ladders for $items items, $(val plots) plots, nothing fetched" $? ||
        head -n 3 "$tmp/pub.err" "$tmp/check"
done
[ $n -gt 0 ] || echo "note: no public captures at $captures"

# ---- in the browser ----
if [ ! -x "$chromium" ] || ! command -v node >/dev/null; then
    echo "skipping the browser part: needs $chromium (Debian: chromium) and node"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
if ! "$node_dir/install.sh" || [ ! -d "$node_dir/node_modules/puppeteer-core" ]; then
    echo "skipping the browser part: the npm modules of $node_dir are not installed (install.sh failed)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
shot=$tmp/flow_html.png
CHROMIUM=$chromium timeout 90 node "$node_dir/htmlcheck.mjs" "$page" "$shot" \
    '<script>document.title="pwned"</script><img src=x onerror=alert(2)>' >"$tmp/browser" 2>&1
rc=$?
sed 's/^/    /' "$tmp/browser"
[ $rc -eq 0 ]; check "Chromium: no console error, no request, a click opens a message (status $rc)" $?
size=$(stat -c %s "$shot" 2>/dev/null || echo 0)
[ "$(head -c 8 "$shot" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$size" -gt 50000 ]
check "a PNG screenshot of the page ($size bytes)" $?
[ -n "${FLOW_HTML_SHOT:-}" ] && cp "$shot" "$FLOW_HTML_SHOT"
# the checker itself fails on a script error and on an injected script (CSP refusal)
sed 's|</script>|no_such_function();</script>|' "$page" >"$tmp/bad1.html"
sed 's|<h1>|<script>document.title="x"</script><h1>|' "$page" >"$tmp/bad2.html"
for b in bad1 bad2; do
    CHROMIUM=$chromium timeout 90 node "$node_dir/htmlcheck.mjs" "$tmp/$b.html" "$tmp/$b.png" \
        >"$tmp/$b.out" 2>&1
    rc=$?
    [ $rc -eq 1 ] && grep -q 'FAIL: no JavaScript error' "$tmp/$b.out"
    check "the browser check catches a broken page ($b: status $rc)" $?
done
interop_finish
