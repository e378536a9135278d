#!/bin/bash
# The switch from nfs-utils' nfsdcld to nfsrecd keeps every NFSv4 client's
# right to reclaim.  Debian's nfsdcld (unpacked from nfs-kernel-server's
# .deb) records three clients (binary ids, one with a principal hash) that
# the FUSE cld emulator creates; it stops, and nfsrecd starts under the name
# nfsdcld with the same -p and -s.  The emulator's next GraceStart receives
# exactly those three clients, byte for byte; nfsdcld's main.sqlite is left
# as it was.  A second start imports nothing again (the uploaded set is the
# same), and `nfsrecctl import` is refused while a daemon holds the pid file
# and otherwise finds the source unchanged.

# nfs-kernel-server's .deb is fetched before lib.sh moves the test into a
# network namespace that cannot reach the archive (as 200-* does).
. "$(dirname "$0")/knfsd-deb.sh"
. "$(dirname "$0")/lib.sh"
CLD_EMU=$top_builddir/tests/cld_emulator/cld-emu
NFSRECCTL=$top_builddir/nfsrecctl
[ -x "$CLD_EMU" ] || skip "cld-emu is not built (configure found no FUSE 3)"
[ -e /dev/fuse ] || skip "no /dev/fuse: the cld emulator needs FUSE"
command -v flock >/dev/null || skip "flock is not installed (util-linux)"
[ -n "${NFS_KERNEL_SERVER_DEB:-}" ] && dpkg -x "$NFS_KERNEL_SERVER_DEB" "$T/nfsks" 2>/dev/null &&
  [ -x "$T/nfsks/usr/sbin/nfsdcld" ] ||
  skip "nfs-kernel-server's .deb is not available (apt-get download nfs-kernel-server failed)"
NFSDCLD_DEB=$T/nfsks/usr/sbin/nfsdcld

MNT=$T/mnt
STORE=$STATE/nfsrecd  # nfsdcld's storagedir, and where nfsrecctl finds nfsrecd's database
mkdir -p "$MNT" "$STORE" "$STATE/sm"
printf '[statd]\nstate-directory-path = %s\n[nfsdcltrack]\nstoragedir = %s\n' \
  "$STATE" "$T/no-nfsdcltrack" >"$CONF"

# nfsd start waits up to 10 s for a daemon to open the pipe it creates.
coproc EMU { "$CLD_EMU" "$MNT" 10 2>"$T/emu.log"; }
EMU_PID=$EMU_PID
read -r -t 20 word _ <&"${EMU[0]}"
if [ "${word:-}" != ready ]; then
  wait "$EMU_PID"
  [ $? = 77 ] && skip "FUSE cannot be mounted here: $(cat "$T/emu.log")"
  fail "cld-emu did not start: $(cat "$T/emu.log")"
  finish
fi
# emu COMMAND...: one command to the emulator, its first answer line.
emu() {
  echo "$*" >&"${EMU[1]}"
  local reply=""
  read -r -t 60 reply <&"${EMU[0]}"
  echo "$reply"
}
emu_cleanup() {
  [ -n "${NPID:-}" ] && kill -KILL "$NPID" 2>/dev/null
  [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
  echo quit >&"${EMU[1]}" 2>/dev/null
  wait "$EMU_PID" 2>/dev/null
  umount "$MNT" 2>/dev/null
  cleanup
}
trap emu_cleanup EXIT

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
A=$(hex "Linux NFSv4.2 client-a")ff00fe  # not UTF-8, with a NUL
B=$(hex "Linux NFSv4.1 client-b")
C=$(hex "Linux NFSv4.0 client-c")
HASH_A=$(printf 'a5%.0s' $(seq 1 32))

# nfs-utils: Debian's nfsdcld serves the clients.
"$NFSDCLD_DEB" -F -d -p "$MNT/rpc_pipefs" -s "$STORE" >"$T/nfsdcld.log" 2>&1 &
NPID=$!
r=$(emu start)
case "$r" in
  booted*uploaded=0*) echo "ok: nfsd started with Debian's nfsdcld ($r)" ;;
  *) fail "nfsd start with nfsdcld: [$r] $(tail -5 "$T/nfsdcld.log")" ;;
esac
expect_eq "create a (with princhash) through nfsdcld" "ok 0" "$(emu create "$A" "$HASH_A")"
expect_eq "create b through nfsdcld" "ok 0" "$(emu create "$B")"
expect_eq "create c through nfsdcld" "ok 0" "$(emu create "$C")"
emu stop >/dev/null
kill -TERM "$NPID"
wait "$NPID"
NPID=
[ -s "$STORE/main.sqlite" ] || fail "nfsdcld left no $STORE/main.sqlite"
before_sum=$(md5sum <"$STORE/main.sqlite")
before_mtime=$(stat -c %Y.%y "$STORE/main.sqlite")

# The switch: nfsrecd under the name nfsdcld, same command line.
ln -s "$NFSRECD" "$T/nfsdcld"
start_nfsdcld() {
  "$T/nfsdcld" -F -d -p "$MNT/rpc_pipefs" -s "$STORE" --proc-root "$MNT" --config "$CONF" \
    >"$1" 2>&1 &
  DPID=$!
  for _ in $(seq 1 200); do
    grep -q "cld: waiting for" "$1" && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  fail "nfsrecd (as nfsdcld) did not come up: $(tail -5 "$1")"
}
# The cld pipe is watched before the store is opened: the import's line
# comes after "cld: waiting for".
wait_log() {  # wait_log <log> <pattern>: up to 10 s
  for _ in $(seq 1 200); do
    grep -q "$2" "$1" && return 0
    sleep 0.05
  done
  return 1
}
start_nfsdcld "$T/daemon.log"
grep "import:" "$T/daemon.log"
wait_log "$T/daemon.log" "import: nfsdcld $STORE/main.sqlite (schema 4): epoch [0-9]*: 3 records; adopted" ||
  fail "no import line naming nfsdcld's database and its 3 records"
r=$(emu start)
expect_eq "GraceStart after the switch" "booted version=2 uploaded=3 skipped=0" "$r"
# The uploaded records, sorted by id (the emulator strips nothing here: no hash: names).
want=$(printf '%s %s\n%s -\n%s -\n' "$A" "$HASH_A" "$B" "$C" | sort)
echo table >&"${EMU[1]}"
read -r -t 30 head <&"${EMU[0]}"
got=""
n=${head#table }
case "$n" in '' | *[!0-9]*) n=0 ;; esac
for _ in $(seq 1 "${n:-0}"); do read -r -t 30 l <&"${EMU[0]}"; got+="$l"$'\n'; done
expect_eq "the clients nfsdcld recorded may reclaim, byte for byte" "$want" "$(printf '%s' "$got" | sort)"
stop_daemon
emu stop >/dev/null
expect_eq "nfsdcld's main.sqlite unchanged" "$before_sum" "$(md5sum <"$STORE/main.sqlite")"
expect_eq "nfsdcld's main.sqlite mtime unchanged" "$before_mtime" "$(stat -c %Y.%y "$STORE/main.sqlite")"
expect_eq "the decision is recorded" "nfsdcld|adopted|3" \
  "$(sqlite3 "$STORE/nfsrecd.sqlite" "SELECT kind, outcome, records FROM nfs_utils_import")"

# A second start: the source is unchanged, nothing is imported again.
start_nfsdcld "$T/daemon.2.log"
wait_log "$T/daemon.2.log" "import: nfsdcld $STORE/main.sqlite: unchanged since last start, not read" ||
  fail "second start: no 'unchanged since last start' line"
grep -q "adopted\|replaced" "$T/daemon.2.log" && fail "second start imported again"
expect_eq "GraceStart after a restart during grace" "booted version=2 uploaded=3 skipped=0" "$(emu start)"
stop_daemon
emu stop >/dev/null

# nfsrecctl import: refused while a daemon holds the pid file.
(exec 9>>/run/rpc.statd.pid && flock -x 9 && touch "$T/locked" && exec sleep 30) &
LOCKER=$!
for _ in $(seq 1 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
"$NFSRECCTL" --config "$CONF" --state-dir "$STATE" import --from-nfsdcld "$STORE" \
  >"$T/import.out" 2>"$T/import.err"
expect_eq "import while the pid file is locked: exit status" 1 "$?"
grep -q "nfsrecd is running; it imports at start" "$T/import.err" ||
  fail "import while running: $(cat "$T/import.err")"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null
"$NFSRECCTL" --config "$CONF" --state-dir "$STATE" import --from-nfsdcld "$STORE" \
  >"$T/import.out" 2>"$T/import.err"
expect_eq "import of a stopped daemon's store: exit status" 0 "$?"
grep -q "import: nfsdcld $STORE/main.sqlite (schema 4).*unchanged since last start" "$T/import.out" ||
  fail "nfsrecctl import: $(cat "$T/import.out" "$T/import.err")"
finish
