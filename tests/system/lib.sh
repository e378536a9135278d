# Shared helpers for tests/system/*.sh.  Each test re-executes itself inside
# a private network namespace with its own rpcbind (tests/support/with-netns),
# so the host's rpcbind and /run are never touched.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
NFSRECD=$top_builddir/nfsrecd
NSM_CLIENT=$top_builddir/tests/system/nsm-client
LOCKD_EMU=$top_builddir/tests/support/lockd-emu
WITH_NETNS=$top_srcdir/tests/support/with-netns

skip() { echo "SKIP: $*"; exit 77; }

if [ "$(id -u)" != 0 ]; then skip "needs root for network namespaces"; fi
for tool in sqlite3 rpcinfo rpcbind; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || skip "$tool is not installed"
done
export PATH="$PATH:/usr/sbin:/sbin"

# Re-run this script inside a fresh namespace unless already in one.
if [ -z "${WITH_NETNS_NAME:-}" ]; then
  exec "$WITH_NETNS" -- "$0" "$@"
fi

T=$(mktemp -d /tmp/nfsrec-systest.XXXXXX)
STATE=$T/state
ROOT=$T/root
DB=$STATE/nfsrecd/nfsrecd.sqlite
# An nfs.conf of our own, so that the host's /etc/nfs.conf never applies.
CONF=$T/nfs.conf
: > "$CONF"
mkdir -p "$STATE" "$ROOT/proc/sys/fs/nfs" "$ROOT/proc/fs/lockd" "$ROOT/proc/sys/kernel/random"
: > "$ROOT/proc/sys/fs/nfs/nsm_local_state"
: > "$ROOT/proc/fs/lockd/nlm_end_grace"
echo "11111111-2222-3333-4444-555555555555" > "$ROOT/proc/sys/kernel/random/boot_id"
DPID=
FAILED=0

cleanup() {
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

dump_logs() {
  echo "---- daemon log ----"
  cat "$T"/daemon*.log 2>/dev/null | tail -50
}

fail() {
  echo "FAIL: $*"
  FAILED=1
}

finish() {
  # Under ASan/UBSan builds a report in any daemon log fails the test.
  if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.log 2>/dev/null; then
    fail "sanitizer report in the daemon log"
  fi
  if [ "$FAILED" != 0 ]; then
    dump_logs
    exit 1
  fi
  echo "PASS: $(basename "$0")"
  exit 0
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then fail "$1: expected [$2], got [$3]"; else echo "ok: $1"; fi
}

# Debian's rpc.statd in a peer namespace joined to ours by a veth pair:
# start_peer_statd OUR_ADDR PEER_ADDR, later stop_peer_statd.  Its state
# directory is $T/peer and its log $T/peer-statd.log.
start_peer_statd() {
  mkdir -p "$T/peer/sm" "$T/peer/sm.bak"
  export T
  "$WITH_NETNS" --name peer --veth "$1/24,$2/24" -- bash -c '
    rpc.statd -F -d --no-notify -P "$T/peer" >"$T/peer-statd.log" 2>&1 &
    for _ in $(seq 1 100); do rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break; sleep 0.05; done
    touch "$T/peer.ready"
    while [ ! -e "$T/peer.stop" ]; do sleep 0.1; done' &
  PEERPID=$!
  for _ in $(seq 1 200); do [ -e "$T/peer.ready" ] && return 0; sleep 0.05; done
  fail "peer rpc.statd did not come up"
}
stop_peer_statd() {
  touch "$T/peer.stop"
  wait "$PEERPID"
}

# Starts the daemon with our test paths; extra arguments are appended.
start_daemon() {
  local log=$T/daemon.log
  [ -f "$log" ] && log=$T/daemon.$(date +%s%N).log
  "$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --no-nfs4 --config "$CONF" "$@" \
    >"$log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 100); do
    if rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1; then return 0; fi
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  fail "daemon did not come up"
  dump_logs
  exit 1
}

stop_daemon() {
  [ -n "$DPID" ] || return 0
  kill -TERM "$DPID"
  wait "$DPID"
  local rc=$?
  DPID=
  [ "$rc" = 0 ] || fail "daemon exited with status $rc after SIGTERM"
  return $rc
}

# Kills the daemon as a crash would (no cleanup, no unregistration).
crash_daemon() {
  kill -KILL "$DPID" 2>/dev/null
  wait "$DPID" 2>/dev/null
  DPID=
}

sql() { sqlite3 -batch -noheader "$DB" "$@"; }

monitor_count() { sql "SELECT count(*) FROM monitors;"; }
