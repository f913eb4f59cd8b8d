#!/usr/bin/env bash
# Installs the pinned npm packages of the browser tests (package-lock.json: puppeteer-core,
# the Mermaid CLI) into tests/tools/node/node_modules with `npm ci`, once: later calls
# return at once while the lock file is unchanged. No browser is downloaded
# (PUPPETEER_SKIP_DOWNLOAD): the tests drive Debian's /usr/bin/chromium.
# Exit 0: installed; 1: npm missing or the install failed (the callers then skip).
set -u
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.sipkit-lock-sha256
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)

[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
command -v npm >/dev/null || { echo "install.sh: npm not found (Debian: nodejs npm)" >&2; exit 1; }
# two tests may start at once: one installs, the other waits for it
exec 9>"$here/.install.lock"
flock -w 600 9 || { echo "install.sh: timed out waiting for another install" >&2; exit 1; }
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
echo "install.sh: npm ci in $here" >&2
cd "$here" &&
    PUPPETEER_SKIP_DOWNLOAD=1 timeout 900 npm ci --no-audit --no-fund --loglevel=error >&2 &&
    echo "$want" >"$stamp"
