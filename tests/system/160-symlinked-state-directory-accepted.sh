#!/bin/bash
# A state directory reached through a symbolic link (HA set-ups put
# /var/lib/nfs on shared storage that way) is used, as rpc.statd does.  A
# regular file is refused as "not a directory", and a directory anyone may
# write to (even with the sticky bit, as /tmp) is refused with the fix.
. "$(dirname "$0")/lib.sh"

# start_refused WHAT DIR TEXT: the daemon exits 1 at once, saying TEXT.
start_refused() {
  "$NFSRECD" -F -d -P "$2" --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4 --config "$CONF" \
    >"$T/refused.log" 2>&1
  expect_eq "$1: exit status" 1 "$?"
  grep -qF -- "$3" "$T/refused.log" || fail "$1: no [$3] in: $(cat "$T/refused.log")"
  rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && fail "$1: registered anyway"
}

mkdir -p "$T/shared"
mv "$STATE" "$T/shared/state"
ln -s "$T/shared/state" "$STATE"
start_daemon
out=$("$NSM_CLIENT" mon 10.99.3.1 "$(printf '%032x' 1)")
expect_eq "SM_MON through the link" "stat_succ state=3" "$out"
stop_daemon
[ -f "$T/shared/state/nfsrecd/nfsrecd.sqlite" ] || fail "the database is not in the link's target"
expect_eq "the record is in the target" 1 \
  "$(sqlite3 -batch -noheader "$T/shared/state/nfsrecd/nfsrecd.sqlite" "SELECT count(*) FROM monitors;")"

: > "$T/plain-file"
start_refused "regular file" "$T/plain-file" "state directory $T/plain-file is not a directory"
ln -s "$T/plain-file" "$T/link-to-file"
start_refused "link to a regular file" "$T/link-to-file" "is not a directory"
start_refused "missing directory" "$T/absent" "state directory $T/absent: No such file or directory"

chmod 0777 "$T/shared/state"
start_refused "world-writable" "$STATE" "chmod o-w $STATE"
chmod 1777 "$T/shared/state"
start_refused "world-writable, sticky" "$STATE" "chmod o-w $STATE"
chmod 0755 "$T/shared/state"
mkdir -p "$T/shared/state/sm"
chmod 0777 "$T/shared/state/sm"
start_refused "world-writable sm/" "$STATE" "chmod o-w $STATE/sm"
chmod 0700 "$T/shared/state/sm"
start_daemon
stop_daemon
finish
