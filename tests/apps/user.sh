#!/usr/bin/env bash
# CLI tests of `sipkit user`: add, passwd, del, list, import (all or nothing),
# exit codes, and that only the two HA1 values are stored (checked with Python's
# sqlite3 and hashlib against the database file itself).
# usage: user.sh SIPKIT_BINARY TEST_DATA_DIR
set -u
sipkit=$1
srcdir=$(cd "$2/.." && pwd)
. "$srcdir/interop/lib/common.bash"
interop_init
d=$tmp/data
# ha1_ok USER DOMAIN PASSWORD: both stored HA1 values are H(user:domain:password)
ha1_ok() {
    python3 - "$d/sipkit.db" "$@" <<'PY'
import hashlib, sqlite3, sys
db, user, domain, pw = sys.argv[1:]
row = sqlite3.connect(db).execute(
    'SELECT ha1_md5, ha1_sha256 FROM users WHERE user = ? AND domain = ?', (user, domain)).fetchone()
a1 = ('%s:%s:%s' % (user, domain, pw)).encode()
sys.exit(0 if row == (hashlib.md5(a1).hexdigest(), hashlib.sha256(a1).hexdigest()) else 1)
PY
}
users() { "$sipkit" user list --data "$d" | tr '\n' ' '; }
rows() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM users").fetchone()[0])' "$d/sipkit.db"; }

# add: --password, stdin; the domain is kept in lower case (it is the realm)
"$sipkit" user add alice@Example.COM --password s3cret --data "$d" >/dev/null; check "add alice" $?
echo "from-stdin" | "$sipkit" user add bob@example.com --data "$d" >/dev/null; check "add bob (stdin)" $?
ha1_ok alice example.com s3cret; check "alice: HA1 of user:realm:password, MD5 and SHA-256" $?
ha1_ok bob example.com from-stdin; check "bob: password from the first line of stdin" $?
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); sys.exit(any(b"s3cret" in (v if isinstance(v, bytes) else str(v).encode()) for r in c.execute("SELECT * FROM users") for v in r))' "$d/sipkit.db"
check "no stored column holds the password" $?
"$sipkit" user add alice@example.com --password other --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "exists" "$tmp/err"; check "add of an existing user: status 1, 'exists' ($rc)" $?
ha1_ok alice example.com s3cret; check "... and alice's password is unchanged" $?
"$sipkit" user add nodomain --password x --data "$d" 2>/dev/null; rc=$?
[ $rc = 2 ]; check "USER without @DOMAIN: usage error, status 2 ($rc)" $?
echo "" | "$sipkit" user add carol@example.com --data "$d" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "empty password refused ($rc)" $?

# passwd, del, list
"$sipkit" user passwd alice@example.com --password n3w --data "$d"; check "passwd alice" $?
ha1_ok alice example.com n3w; check "alice's HA1 values follow the new password" $?
"$sipkit" user passwd nobody@example.com --password x --data "$d" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "passwd of an unknown user: status 1 ($rc)" $?
[ "$(users)" = "alice@example.com bob@example.com " ]; st_=$?; check "list ($(users))" $st_
"$sipkit" user del bob@example.com --data "$d"; check "del bob" $?
"$sipkit" user del bob@example.com --data "$d" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "del of an unknown user: status 1 ($rc)" $?
[ "$(users)" = "alice@example.com " ]; st_=$?; check "list after del ($(users))" $st_

# import: all in one transaction
cat >"$tmp/in.txt" <<'IN'
# provisioning file: USER@DOMAIN PASSWORD
u1@example.com pw one

  u2@EXAMPLE.com	pw2  
sip:u3@example.org pw3
IN
out=$("$sipkit" user import "$tmp/in.txt" --data "$d"); rc=$?
[ $rc = 0 ] && [ "$out" = "imported 3 users" ]; check "import 3 users ($rc, $out)" $?
ha1_ok u1 example.com "pw one"; check "import: the password is the rest of the line" $?
ha1_ok u2 example.com pw2; check "import: blanks around fields trimmed, domain in lower case" $?
ha1_ok u3 example.org pw3; check "import: sip: prefix accepted" $?
[ "$(rows)" = 4 ]; check "4 users stored" $?
# a bad line anywhere, a duplicate, or an existing user: nothing is imported
printf 'n1@example.com a\nbroken-line\nn2@example.com b\n' >"$tmp/bad.txt"
"$sipkit" user import "$tmp/bad.txt" --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "bad.txt:2: expected USER@DOMAIN" "$tmp/err"; st_=$?; check "bad line: status 1, file:line named ($rc: $(head -1 "$tmp/err"))" $st_
printf 'n1@example.com a\nn2@example.com\n' | "$sipkit" user import - --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "stdin:2: no password" "$tmp/err"; check "line without password refused ($rc)" $?
printf 'n1@example.com a\nN1@example.com b\nn1@EXAMPLE.com c\n' | "$sipkit" user import --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "n1@example.com is given twice" "$tmp/err"; check "a user given twice refused ($rc)" $?
printf 'n1@example.com a\nalice@example.com b\n' | "$sipkit" user import --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "stdin:2: alice@example.com exists" "$tmp/err"; check "existing user: refused, line named ($rc)" $?
[ "$(rows)" = 4 ] && ! "$sipkit" user list --data "$d" | grep -q "^n1@"; st_=$?; check "none of the refused imports wrote a row ($(rows))" $st_
ha1_ok alice example.com n3w; check "alice untouched by the refused import" $?
python3 -c 'print("x" * 5000)' | "$sipkit" user import --data "$d" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "longer than" "$tmp/err"; check "an over-long line refused ($rc)" $?
# --update sets passwords of existing users and adds the new ones
printf 'alice@example.com upd\nn1@example.com a\n' | "$sipkit" user import --update --data "$d" >/dev/null; check "import --update" $?
ha1_ok alice example.com upd && ha1_ok n1 example.com a; check "--update: alice's password set, n1 added" $?
"$sipkit" user import "$tmp/missing.txt" --data "$d" 2>/dev/null; rc=$?
[ $rc = 1 ]; check "import of a missing file: status 1 ($rc)" $?
"$sipkit" user list --update --data "$d" >/dev/null 2>&1; rc=$?
[ $rc = 2 ]; check "--update is for import only: usage error ($rc)" $?

# 10,000 users in one run
python3 -c 'for i in range(10000): print("bulk%d@bulk.example pw%d" % (i, i))' >"$tmp/bulk.txt"
"$sipkit" user import "$tmp/bulk.txt" --data "$d" >/dev/null; check "import 10,000 users" $?
[ "$(rows)" = 10005 ]; st_=$?; check "10,005 users stored ($(rows))" $st_
ha1_ok bulk9999 bulk.example pw9999; check "the last bulk user's HA1" $?

interop_finish
