#!/bin/bash
# Every way nfsrecd can fail to start says the cause and the fix
# (docs/STARTUP_FAILURES.md, one block per row): each failure is provoked
# for real, the daemon must exit 1 within 30 s, and its output must name
# the fix.  A database that is not ours is left byte for byte as it was.
# Two conditions are not failures and must say once what they wait for or
# what was not imported: the cld pipe's rpc_pipefs, and rpc.statd's files
# in the other distribution's layout.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed (it holds a port for one row)"

# refuses ROW [ARG...]: runs the daemon with ARGs, expecting exit status 1;
# its output is in $T/daemon-ROW.log.
refuses() {
  local row=$1
  shift
  timeout 30 "$NFSRECD" -F -d --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4 --config "$CONF" \
    "$@" >"$T/daemon-$row.log" 2>&1
  expect_eq "$row: exit status" 1 "$?"
}

# says ROW TEXT: the output of row ROW contains TEXT.
says() {
  if grep -qF -- "$2" "$T/daemon-$1.log"; then
    echo "ok: $1 says: $2"
  else
    fail "$1: no [$2] in: $(cat "$T/daemon-$1.log")"
  fi
}

# Without a state directory.
refuses state-missing -P "$T/nowhere"
says state-missing "state directory $T/nowhere: No such file or directory. Create it (install -d -m 0755 $T/nowhere"
says state-missing "set state-directory-path in the [statd] section of nfs.conf, or -P DIR"

# A file where the state directory should be.
: >"$T/afile"
refuses state-not-dir -P "$T/afile"
says state-not-dir "state directory $T/afile is not a directory. Move the file away and create the directory"

# A world-writable state directory.
mkdir -p "$T/open"
chmod 0777 "$T/open"
refuses state-world-writable -P "$T/open"
says state-world-writable "state directory $T/open is writable by everyone; run: chmod o-w $T/open"

# rpcbind not running: a namespace of our own without it.
timeout 30 "$WITH_NETNS" --no-rpcbind -- "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" \
  --proc-root "$ROOT" --no-nfs4 --config "$CONF" >"$T/daemon-no-rpcbind.log" 2>&1
expect_eq "no-rpcbind: exit status" 1 "$?"
says no-rpcbind "rpcbind is not running: start it (systemctl start rpcbind.socket)"

# The NSM port (-p) held by another process, on UDP and TCP.
PORT=7662
python3 -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("0.0.0.0", int(sys.argv[1]))); t.listen()
open(sys.argv[2], "w").close()
time.sleep(30)' "$PORT" "$T/port.held" &
HOLDER=$!
for _ in $(seq 1 100); do [ -e "$T/port.held" ] && break; sleep 0.05; done
refuses port-in-use -P "$STATE" -p "$PORT"
says port-in-use "failed to create RPC listeners, exiting"
says port-in-use "Port $PORT is in use by pid $HOLDER (python3"
says port-in-use "choose another port for NSM with -p PORT (port in the [statd] section of nfs.conf)"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null

# The pid file locked by another process, which wrote its pid there.
(
  flock -x 9
  echo "$BASHPID" >&9
  touch "$T/pid.held"
  sleep 30
) 9>"$T/held.pid" &
HOLDER=$!
for _ in $(seq 1 100); do [ -e "$T/pid.held" ] && break; sleep 0.05; done
timeout 30 "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/held.pid" --proc-root "$ROOT" --no-nfs4 \
  --config "$CONF" >"$T/daemon-pidfile.log" 2>&1
expect_eq "pidfile: exit status" 1 "$?"
says pidfile "pid file $T/held.pid is locked by another process (pid $HOLDER)"
says pidfile "Stop it first (systemctl stop nfsrecd.service, or kill $HOLDER)"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null

# nfsdcld's database where ours belongs: refused, unchanged.
rm -f "$DB" "$DB-wal" "$DB-shm"
mkdir -p "$(dirname "$DB")"
sqlite3 "$DB" "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);
  CREATE TABLE grace (current INTEGER, recovery INTEGER); INSERT INTO grace VALUES (2, 1);
  CREATE TABLE \"rec-0000000000000002\" (id BLOB PRIMARY KEY, princhash BLOB);
  INSERT INTO parameters VALUES ('version', '4');"
before=$(sha256sum <"$DB")
refuses foreign-db -P "$STATE"
says foreign-db "database $DB is not nfsrecd's: it looks like nfsdcld's database (tables grace, parameters, rec-0000000000000002)"
says foreign-db "To fix: move it away (mv $DB $DB.not-nfsrecd)"
expect_eq "foreign-db: the file is unchanged" "$before" "$(sha256sum <"$DB")"
[ -e "$DB-wal" ] && fail "foreign-db: a WAL was made beside it"

# Not an SQLite file at all.
printf 'monitor list\n%.0s' $(seq 1 20) >"$DB"
before=$(sha256sum <"$DB")
refuses garbage-db -P "$STATE"
says garbage-db "database $DB is not nfsrecd's: it is not an SQLite database at all"
expect_eq "garbage-db: the file is unchanged" "$before" "$(sha256sum <"$DB")"
rm -f "$DB"

# Our database, damaged: a page of the monitor table overwritten.
start_daemon
for i in $(seq 1 40); do "$NSM_CLIENT" mon "10.99.3.$i" "$(printf '%032x' "$i")" >/dev/null; done
stop_daemon
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
pages=$(($(stat -c %s "$DB") / 4096))
head -c $(((pages - 1) * 4096)) /dev/urandom | dd of="$DB" bs=4096 seek=1 conv=notrunc status=none
refuses corrupt-db -P "$STATE"
says corrupt-db "is damaged: stop nfsrecd, move it away with its -wal and -shm files"
rm -f "$DB" "$DB-wal" "$DB-shm"

# A read-only file system under the state directory.
mkdir -p "$T/ro"
mount -t tmpfs -o size=1m tmpfs "$T/ro"
mkdir -p "$T/ro/state"
mount -o remount,ro "$T/ro"
refuses read-only -P "$T/ro/state"
says read-only "create database directory $T/ro/state/nfsrecd (its parent must exist and be writable, on a writable file system): Read-only file system"
umount "$T/ro"

# A full file system.
mkdir -p "$T/full"
mount -t tmpfs -o size=256k tmpfs "$T/full"
mkdir -p "$T/full/state"
dd if=/dev/zero of="$T/full/filler" bs=4k status=none 2>/dev/null
refuses disk-full -P "$T/full/state"
says disk-full "free space on the file system that holds"
umount "$T/full"

# The database locked by another process for longer than the 10 s busy
# timeout: sqlite3 holds the lock until $T/unlock appears (then its input
# ends and it rolls back), so the test does not wait out a fixed sleep.
start_daemon
stop_daemon
(
  echo "BEGIN EXCLUSIVE; INSERT INTO schema_versions VALUES ('lock-holder', 0);"
  echo ".print locked"
  for _ in $(seq 1 600); do [ -e "$T/unlock" ] && break; sleep 0.05; done
) | sqlite3 "$DB" >"$T/locker.out" 2>&1 &
LOCKER=$!
for _ in $(seq 1 100); do grep -q locked "$T/locker.out" 2>/dev/null && break; sleep 0.05; done
refuses locked-db -P "$STATE"
says locked-db "another process holds $DB locked (find it with: fuser $DB)"
touch "$T/unlock"
wait "$LOCKER" 2>/dev/null

# Not failures.  rpc_pipefs not mounted where the cld pipe should be: one
# line says what the daemon waits for.
mkdir -p "$T/pipefs"
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --config "$CONF" \
  --cld-pipe "$T/pipefs/nfsd/cld" >"$T/daemon-pipefs.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do grep -q "cld: waiting" "$T/daemon-pipefs.log" && break; sleep 0.05; done
says pipefs "cld: waiting for $T/pipefs/nfsd/cld to appear: rpc_pipefs is not mounted on $T/pipefs (mount -t rpc_pipefs sunrpc $T/pipefs"
expect_eq "pipefs: waiting lines" 1 "$(grep -c "cld: waiting" "$T/daemon-pipefs.log")"
# The waiting line comes early (the cld pipe is looked for first); the
# control socket, the last step before readiness, says SIGTERM is handled.
for _ in $(seq 1 300); do [ -S "$STATE/nfsrecd/control" ] && break; sleep 0.05; done
stop_daemon

# rpc.statd's files in Fedora's place under a Debian-style state directory:
# named, not imported, with the setting that would import them.
FRESH=$T/fresh
mkdir -p "$FRESH/statd/sm"
echo "0100007f 000186b5 00000004 00000010 00112233445566778899aabbccddeeff 10.99.4.1 srv" \
  >"$FRESH/statd/sm/10.99.4.1"
start_daemon -P "$FRESH"
stop_daemon
grep -h "rpc.statd's files" "$T"/daemon.*.log >"$T/daemon-legacy.log"
says legacy "rpc.statd's files: $FRESH/statd/sm (1 monitored host(s)) not imported"
says legacy "set state-directory-path = $FRESH/statd in the [statd] section of nfs.conf (or start with -P $FRESH/statd)"
expect_eq "legacy: nothing imported" 0 \
  "$(sqlite3 -batch -noheader "$FRESH/nfsrecd/nfsrecd.sqlite" "SELECT count(*) FROM monitors;")"
finish
