#!/bin/bash
# nfsrecctl remove monitor and expire client, through a running daemon and,
# with the daemon stopped, on the database: SM_MON of two hosts, remove one,
# `list monitors` shows the other; an NFSv4 client that the fake nfsd
# (--proc-root clients/<n>/info) knows is expired through its ctl file, one
# only the store knows is removed from it; with the daemon stopped the
# same commands change the database and say so; --json passes its schema;
# a user without access is refused (exit 4); nothing found exits 1, a usage
# error 2.
. "$(dirname "$0")/lib.sh"
python3 -c 'import jsonschema' 2>/dev/null ||
  skip "python3's jsonschema is not installed (Debian package python3-jsonschema)"
command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
NFSRECCTL=$top_builddir/nfsrecctl
CLTRACK=$top_builddir/nfsrec-cltrack
SCHEMAS=$top_srcdir/docs/schema
SOCK=$STATE/nfsrecd/control
ctl() { "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" "$@"; }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
validate() {  # validate SCHEMA FILE
  python3 - "$SCHEMAS/$1.json" "$2" <<'PY' && echo "ok: $2 matches $1.json" || fail "$2 does not match $1.json"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))
PY
}
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$@"; }
monitors() {
  ctl list monitors --json |
    python3 -c 'import json,sys; print(" ".join(m["mon_name"]["text"] for m in json.load(sys.stdin)["monitors"]))'
}
clients() {
  ctl list clients --json |
    python3 -c 'import json,sys; print("|".join(c["id"]["text"] for c in json.load(sys.stdin)["clients"]))'
}

H1=10.99.0.1
H2=10.99.0.2
H3=10.99.0.3
COOKIE=00112233445566778899aabbccddeeff

# NFSv4 records made as nfsdcltrack makes them, before the daemon loads them.
for c in a b c d; do
  "$CLTRACK" -f -s "$STATE/nfsrecd" --proc-root "$ROOT" create "$(hex "Linux NFSv4.2 $c")" ||
    fail "cltrack create $c"
done
# The fake nfsd knows client a.
mkdir -p "$ROOT/proc/fs/nfsd/clients/7"
printf 'clientid: 0x5f0c1b2a00000007\naddress: "10.99.0.1:751"\nstatus: confirmed\nname: "Linux NFSv4.2 a"\nminor version: 2\n' \
  >"$ROOT/proc/fs/nfsd/clients/7/info"
: >"$ROOT/proc/fs/nfsd/clients/7/states"
: >"$ROOT/proc/fs/nfsd/clients/7/ctl"

mkfifo "$ROOT/cld"
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --cld-pipe "$ROOT/cld" \
  --config "$CONF" >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do
  rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && [ -S "$SOCK" ] && break
  sleep 0.05
done
[ -S "$SOCK" ] || { fail "no control socket at $SOCK"; finish; }

for h in $H1 $H2 $H3; do "$NSM_CLIENT" mon $h $COOKIE >/dev/null || fail "SM_MON $h"; done
"$NSM_CLIENT" --vers 4 mon $H3 $COOKIE >/dev/null || fail "SM_MON $H3 for NLM v4"
expect_eq "monitors before" "$H1 $H2 $H3 $H3" "$(monitors)"

# Through the daemon.
ctl remove monitor $H1 --json >"$T/remove.json" 2>"$T/remove.err"
expect_eq "remove monitor exit status" 0 "$?"
validate remove-monitor "$T/remove.json"
expect_eq "remove monitor --json" "1 daemon" "$(field "$T/remove.json" removed) $(field "$T/remove.json" via)"
expect_eq "monitors after remove" "$H2 $H3 $H3" "$(monitors)"
ctl remove monitor $H1 >"$T/again.out" 2>"$T/again.err"
expect_eq "remove monitor of a host no longer monitored exits 1" 1 "$?"
grep -q "no monitor record for $H1" "$T/again.err" || fail "not found message: $(cat "$T/again.err")"
ctl remove monitor $H2 --vers 4 >"$T/vers.out" 2>&1
expect_eq "remove monitor --vers 4 of a host monitored for vers 3 exits 1" 1 "$?"
ctl remove monitor $H3 --prog 100021 --vers 4 --proc 16 >"$T/vers4.out" 2>&1
expect_eq "remove monitor --vers 4" "removed 1 monitor record of $H3" "$(cat "$T/vers4.out")"
expect_eq "monitors after the filtered removals" "$H2 $H3" "$(monitors)"

ctl expire client "Linux NFSv4.2 a" --json >"$T/expire-a.json" 2>"$T/expire-a.err"
expect_eq "expire client a exit status" 0 "$?"
validate expire-client "$T/expire-a.json"
expect_eq "expire client a outcome" "expired through nfsd daemon" \
  "$(field "$T/expire-a.json" outcome) $(field "$T/expire-a.json" via)"
grep -qx expire "$ROOT/proc/fs/nfsd/clients/7/ctl" || fail "nfsd's ctl: [$(cat "$ROOT/proc/fs/nfsd/clients/7/ctl")]"
ctl expire client "hex:$(hex "Linux NFSv4.2 b")" >"$T/expire-b.out" 2>"$T/expire-b.err"
expect_eq "expire client b exit status" 0 "$?"
expect_eq "expire client b (store only)" "client Linux NFSv4.2 b: removed from the store" "$(cat "$T/expire-b.out")"
expect_eq "clients after expire" "Linux NFSv4.2 c|Linux NFSv4.2 d" "$(clients)"
ctl expire client "Linux NFSv4.2 zz" >/dev/null 2>"$T/nf.err"
expect_eq "expire of an unknown client exits 1" 1 "$?"

# Usage errors.
ctl remove monitors $H2 >/dev/null 2>&1
expect_eq "remove monitors (a typo) exits 2" 2 "$?"
ctl expire client >/dev/null 2>&1
expect_eq "expire client without CLIENT exits 2" 2 "$?"

# A user who is neither root nor the daemon's: refused, nothing changed.
chmod 755 "$T" "$STATE" "$STATE/nfsrecd"
chmod 666 "$SOCK"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" remove monitor $H2 >"$T/nobody.out" 2>"$T/nobody.err"
expect_eq "remove monitor as nobody exit status" 4 "$?"
grep -q "refused: permission denied" "$T/nobody.err" || fail "refusal: $(cat "$T/nobody.err")"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" expire client "Linux NFSv4.2 c" >/dev/null 2>&1
expect_eq "expire client as nobody exit status" 4 "$?"
chmod 600 "$SOCK"
expect_eq "nobody changed nothing" "$H2 $H3" "$(monitors)"

# The daemon stopped: the database directly.
stop_daemon
ctl remove monitor $H2 >"$T/off-remove.out" 2>"$T/off-remove.err"
expect_eq "offline remove monitor exit status" 0 "$?"
expect_eq "offline remove monitor says so" \
  "daemon not running: removed 1 monitor record of $H2 from the database" "$(cat "$T/off-remove.out")"
expect_eq "monitors after offline remove" "$H3" "$(monitors)"
ctl remove monitor $H3 --json >"$T/off-remove.json" 2>&1
validate remove-monitor "$T/off-remove.json"
expect_eq "offline remove --json" "1 database" "$(field "$T/off-remove.json" removed) $(field "$T/off-remove.json" via)"
expect_eq "monitors after both" "" "$(monitors)"
ctl expire client "Linux NFSv4.2 c" >"$T/off-expire.out" 2>"$T/off-expire.err"
expect_eq "offline expire client exit status" 0 "$?"
grep -q "^daemon not running: removed client Linux NFSv4.2 c from the database; nfsd was not told" \
  "$T/off-expire.out" || fail "offline expire: $(cat "$T/off-expire.out" "$T/off-expire.err")"
expect_eq "clients after offline expire" "Linux NFSv4.2 d" "$(clients)"
ctl expire client "Linux NFSv4.2 c" >/dev/null 2>"$T/off-nf.err"
expect_eq "offline expire of a removed client exits 1" 1 "$?"
grep -q "no record of client" "$T/off-nf.err" || fail "offline not found: $(cat "$T/off-nf.err")"

# The store stays the daemon's: it starts and serves what is left.
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --cld-pipe "$ROOT/cld" \
  --config "$CONF" >"$T/daemon2.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
ctl status --json >"$T/status.json" || fail "status after the offline changes"
expect_eq "daemon restarted on the changed store sees no monitors" 0 \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nsm"]["monitors"])' "$T/status.json")"
stop_daemon
finish
