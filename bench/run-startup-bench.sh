#!/bin/bash
# run-startup-bench.sh: start-up of nfsrecd with a big store (issue 13).
#
#   bench/run-startup-bench.sh [--monitors N] [--records M] [--runs R] [--nfsdcld-records K]
#                              [--interleave] [--perf FILE] NFSRECD [NFSRECD...]
#
# For each binary given (e.g. main's build and this one), R starts (default 3) on the same
# state: N NSM monitors (default 100,000) and M NFSv4 client records (default 1,000,000) in a
# private state directory, written once with SQL after a first start has created the schema.
# With K > 0, a stale nfsdcld database (schema 4, K records, modified in 2022, so older than the
# store's records and never imported) sits in the configured [nfsdcld] storagedir: the import's
# identity check decides whether each start reads it.
# Each start runs in a private network namespace with its own rpcbind
# (tests/support/with-netns), as root, with sm/ owned by nobody (so the daemon drops privileges
# and its helper opens the pipe, as on a real server) and with the cld pipe a FIFO (what the
# kernel checks in its one-second wait is that some process holds nfsd/cld open).
# Printed per start, measured from the exec:
#   pipe_ms   the cld pipe first appears among the daemon's open files (/proc/PID/fd, polled
#             every 0.5 ms)
#   nsm_ms    the first NSM answer: an RPC NULL call to the daemon's UDP port (-p), every 1 ms,
#             counted only when the reply is a well-formed accepted SUCCESS reply to that xid
#   ready_ms  the daemon reported readiness (READY=1 on NOTIFY_SOCKET: every store loaded)
#   rss_kb, hwm_kb   VmRSS and VmHWM of the daemon 1 s after readiness
#   mirror    what the sm/ mirror did at that start, from the daemon's log: in-step (the
#             marker of the last clean stop matched: nothing rewritten), rewrote-all, or off
#             (--no-mirror-sm, or a binary that does not log it); ",unfinished-at-stop" when
#             the drain's 5 s for the mirror ran out (the files then lag until the next start)
# --interleave: the starts alternate between the binaries (run 1 of each, then run 2 of each,
# ...), so that a change in the machine's load falls on both; the binaries must then accept
# the same schema (see docs/PERFORMANCE.md: a newer schema version is refused by an older
# binary).  Without it, every start of the first binary comes first.
# --perf FILE: after the timed starts, one more start of the last binary under
# `perf record -g -o FILE` (call graphs of the daemon and its helper, from the exec until
# 1 s after readiness); its timings are printed with "perf" and are slower than the others.
# EXTRA_ARGS: more daemon options (e.g. --no-mirror-sm).
# Needs root, rpcbind, sqlite3 and python3; exits 77 (skip) without them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
monitors=100000
records=1000000
runs=3
nfsdcld_records=0
interleave=0
perf_out=
while [ $# -gt 0 ]; do
    case "$1" in
        --monitors) monitors=$2; shift 2 ;;
        --records) records=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --nfsdcld-records) nfsdcld_records=$2; shift 2 ;;
        --interleave) interleave=1; shift ;;
        --perf) perf_out=$2; shift 2 ;;
        --) shift; break ;;
        -*) echo "usage: $0 [--monitors N] [--records M] [--runs R] NFSRECD..." >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--monitors N] [--records M] [--runs R] NFSRECD..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, privilege drop)"; exit 77; }
for t in rpcbind rpcinfo sqlite3 python3 unshare; do
    command -v "$t" > /dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || { echo "SKIP: $t missing"; exit 77; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/startup-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
PORT=40123

# The state: made by the first binary's first start, then filled with SQL.
state=$W/state
mkdir -p "$state/sm" "$state/sm.bak" "$W/proc" "$W/nfsdcld" "$W/nfsdcltrack"
chown nobody:nogroup "$state/sm" "$state/sm.bak"
chmod 755 "$W"
printf '[nfsdcld]\nstoragedir = %s\n[nfsdcltrack]\nstoragedir = %s\n' \
    "$W/nfsdcld" "$W/nfsdcltrack" > "$W/nfs.conf"
mkfifo "$W/cld"

daemon_args() {
    echo "-F -d -L -p $PORT -P $state --proc-root $W/proc --cld-pipe $W/cld" \
        "--config $W/nfs.conf --control-socket none --reconcile-interval 0 ${EXTRA_ARGS:-}"
}

# One start: the probe execs the daemon, times it, stops it with SIGTERM.
# PROBE_PERF=FILE: the daemon runs under perf record -g (perf's child is the daemon).
probe() {  # probe <binary> <log>
    "$TOP/tests/support/with-netns" -- python3 - "$1" "$2" "$W/cld" "$PORT" "${PROBE_PERF:-}" \
        $(daemon_args) <<'EOF'
import os, signal, socket, struct, subprocess, sys, time
binary, log, pipe, port, perf = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
args = [binary] + sys.argv[6:]
if perf:
    args = ["perf", "record", "-q", "-g", "-o", perf, "--"] + args
XID = 0x13131313
call = struct.pack(">IIIIIIIIII", XID, 0, 2, 100024, 1, 0, 0, 0, 0, 0)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setblocking(False)

def answered():
    try:
        sock.sendto(call, ("127.0.0.1", port))
    except OSError:
        return False
    deadline = time.monotonic() + 0.001
    while time.monotonic() < deadline:
        try:
            data = sock.recv(512)
        except BlockingIOError:
            time.sleep(0.0002)
            continue
        except OSError:
            return False
        # xid, REPLY(1), MSG_ACCEPTED(0), verifier AUTH_NONE len 0, SUCCESS(0)
        if len(data) >= 24:
            xid, mtype, rstat, _flav, vlen, astat = struct.unpack(">IIIIII", data[:24])
            if xid == XID and mtype == 1 and rstat == 0 and vlen == 0 and astat == 0:
                return True
    return False

def pipe_open(pid):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == pipe:
                return True
        except OSError:
            pass
    return False

logf = open(log, "w")
# Readiness as systemd gets it (READY=1 on NOTIFY_SOCKET), sent by the dropped daemon.
notify_path = os.path.join(os.path.dirname(pipe), "notify.sock")
if os.path.exists(notify_path):
    os.unlink(notify_path)
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
os.chmod(notify_path, 0o777)
notify.setblocking(False)
env = dict(os.environ, NOTIFY_SOCKET=notify_path)
t0 = time.monotonic()
p = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=env)
pid = p.pid  # the daemon's
if perf:
    pid = None
    while pid is None and p.poll() is None and time.monotonic() < t0 + 10:
        try:
            kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
        except OSError:
            kids = []
        if kids:
            pid = int(kids[0])
        else:
            time.sleep(0.0005)
pipe_ms = nsm_ms = ready_ms = None
limit = t0 + 120
while pid is not None and time.monotonic() < limit and p.poll() is None:
    now = time.monotonic()
    if pipe_ms is None and pipe_open(pid):
        pipe_ms = (time.monotonic() - t0) * 1000
    if nsm_ms is None and answered():
        nsm_ms = (time.monotonic() - t0) * 1000
    if ready_ms is None:
        try:
            if b"READY=1" in notify.recv(4096):
                ready_ms = (time.monotonic() - t0) * 1000
        except BlockingIOError:
            pass
    if pipe_ms is not None and nsm_ms is not None and ready_ms is not None:
        break
    time.sleep(0.0005 if pipe_ms is None else 0.001)
time.sleep(1)
rss = hwm = "?"
try:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = line.split()[1]
        if line.startswith("VmHWM:"):
            hwm = line.split()[1]
except OSError:
    pass
if pid is not None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
try:
    p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
fmt = lambda v: "-" if v is None else f"{v:.1f}"
print(f"pipe_ms={fmt(pipe_ms)} nsm_ms={fmt(nsm_ms)} ready_ms={fmt(ready_ms)} rss_kb={rss} hwm_kb={hwm}")
sys.exit(0 if None not in (pipe_ms, nsm_ms, ready_ms) else 1)
EOF
}

echo "# schema: a first start of $1"
probe "$1" "$W/first.log" > /dev/null || { echo "first start failed:"; tail -20 "$W/first.log"; exit 1; }
db=$(find "$state/nfsrecd" -maxdepth 1 -type f \( -name '*.sqlite' -o -name '*.db' \) | head -1)
[ -n "$db" ] || { echo "no database under $state/nfsrecd"; ls -la "$state/nfsrecd"; exit 1; }
t=$(date +%s.%N)
sqlite3 "$db" > /dev/null <<EOF
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $monitors)
INSERT INTO monitors (mon_name, my_name, my_prog, my_vers, my_proc, priv, canonical_name,
                      peer_state, created, updated)
SELECT CAST(printf('client-%06d.bench.example', i) AS BLOB), CAST('nfsvm' AS BLOB), 100021, 4, 16,
       CAST(printf('%016d', i) AS BLOB), CAST(printf('client-%06d.bench.example', i) AS BLOB),
       0, 1700000000, 1700000000
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $records)
INSERT INTO cld_clients (epoch, id, princhash, has_session, time)
SELECT (SELECT current FROM cld_grace), CAST('Linux NFSv4.2 bench-client-' || i AS BLOB),
       CASE WHEN i % 2 = 0 THEN zeroblob(32) END, NULL, 1700000000
FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
chown -R nobody:nogroup "$state/nfsrecd"
if [ "$nfsdcld_records" -gt 0 ]; then
    sqlite3 "$W/nfsdcld/main.sqlite" <<EOF
CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE grace (current INTEGER, recovery INTEGER);
INSERT INTO parameters VALUES ('version', '4');
INSERT INTO grace VALUES (5, 0);
CREATE TABLE "rec-0000000000000005" (id BLOB PRIMARY KEY, princhash BLOB);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $nfsdcld_records)
INSERT INTO "rec-0000000000000005" SELECT CAST('Linux NFSv4.1 old-client-' || i AS BLOB), NULL FROM n;
EOF
    touch -d 2022-01-01 "$W/nfsdcld/main.sqlite"
    echo "# stale nfsdcld database: $nfsdcld_records records, $(du -k "$W/nfsdcld/main.sqlite" | cut -f1) KB"
fi
echo "# state: $(sqlite3 "$db" 'SELECT count(*) FROM monitors') monitors," \
    "$(sqlite3 "$db" 'SELECT count(*) FROM cld_clients') v4 records," \
    "$(du -k "$db" | cut -f1) KB, written in $(echo "$(date +%s.%N) - $t" | bc 2>/dev/null || echo '?') s"
echo "# daemon: $(daemon_args)"
one_run() {  # one_run <binary> <run label>
    local out mirror
    out=$(probe "$1" "$W/run.log") || { echo "$1 run $2 failed: $out"; tail -20 "$W/run.log"; exit 1; }
    # What the sm/ mirror did at this start (statd/sm_mirror.h): found the files in step
    # with the database, or rewrote them all (in the background, after the NSM answered).
    mirror=off
    grep -q "sm/ mirror: rewrote every file" "$W/run.log" && mirror=rewrote-all
    grep -q "sm/ mirror: .* are in step" "$W/run.log" && mirror=in-step
    grep -q "not written within" "$W/run.log" && mirror=$mirror,unfinished-at-stop
    echo "$1 run=$2 $out mirror=$mirror load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
}
if [ "$interleave" = 1 ]; then
    for r in $(seq 1 "$runs"); do
        for bin in "$@"; do one_run "$bin" "$r"; done
    done
else
    for bin in "$@"; do
        for r in $(seq 1 "$runs"); do one_run "$bin" "$r"; done
    done
fi
if [ -n "$perf_out" ]; then
    last=${*: -1}
    PROBE_PERF=$perf_out one_run "$last" perf
    echo "# profile: perf report -i $perf_out --no-children"
fi
