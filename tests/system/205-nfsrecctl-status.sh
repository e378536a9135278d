#!/bin/bash
# nfsrecctl status and metrics against a running daemon, over its control
# socket: after SM_MON/SM_UNMON traffic (local, refused from a second
# namespace, and garbage), `status --json` validates against
# docs/schema/status.json and carries the counts the traffic implies;
# `metrics` parses as the Prometheus text format with the same counts; a
# user without access is refused (exit 4, no figures); the socket is the
# daemon's, mode 0600; with the daemon stopped the socket is gone and
# status exits 3.  The cld pipe is a FIFO: held open, no upcalls.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
command -v setpriv >/dev/null || skip "setpriv is not installed (util-linux)"
NFSRECCTL=$top_builddir/nfsrecctl
SCHEMA=$top_srcdir/docs/schema/status.json
SOCK=$STATE/nfsrecd/control
ctl() { "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" "$@"; }

mkfifo "$ROOT/cld"
"$NFSRECD" -F -d -P "$STATE" --pidfile "$T/pid" --proc-root "$ROOT" --cld-pipe "$ROOT/cld" \
  --config "$CONF" >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do
  rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && [ -S "$SOCK" ] && break
  sleep 0.05
done
[ -S "$SOCK" ] || { fail "no control socket at $SOCK"; finish; }
expect_eq "control socket mode and owner" "srw------- root" "$(stat -c '%A %U' "$SOCK")"

# Traffic: 3 local SM_MON (one over TCP), 1 SM_UNMON, 1 SM_STAT, one
# garbage SM_MON, and from a second namespace one refused SM_MON.
COOKIE=00112233445566778899aabbccddeeff
for h in 10.99.0.1 10.99.0.2; do "$NSM_CLIENT" mon $h $COOKIE >/dev/null || fail "SM_MON $h"; done
"$NSM_CLIENT" --tcp mon 10.99.0.3 $COOKIE >/dev/null || fail "SM_MON 10.99.0.3"
expect_eq "SM_UNMON" "state=3" "$("$NSM_CLIENT" unmon 10.99.0.2)"
"$NSM_CLIENT" stat localhost >/dev/null || fail "SM_STAT"
expect_eq "garbage SM_MON" GARBAGE_ARGS "$("$NSM_CLIENT" raw 2 0000000a3130)"
export NSM_CLIENT COOKIE
"$WITH_NETNS" --name remote --no-rpcbind --veth 10.232.0.1/24,10.232.0.2/24 -- bash -c '
  "$NSM_CLIENT" --host $WITH_NETNS_PEER_ADDR mon 10.99.0.9 $COOKIE' >"$T/remote.out" 2>&1
expect_eq "remote SM_MON refused" "stat_fail state=-1" "$(cat "$T/remote.out")"

ctl status --json >"$T/status.json" 2>"$T/status.err"
expect_eq "status --json exit status" 0 "$?"
python3 - "$SCHEMA" "$T/status.json" <<'PY' || fail "status --json does not match the schema or the traffic"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
jsonschema.validate(s, schema)
req = {p["procedure"]: p for p in s["nsm"]["requests"]}
want = {"SM_MON": (5, 1, 1), "SM_UNMON": (1, 0, 0), "SM_STAT": (1, 0, 0), "SM_NOTIFY": (0, 0, 0)}
bad = []
for proc, (calls, garbage, refused) in want.items():
    got = (req[proc]["calls"], req[proc]["garbage"], req[proc]["refused"])
    if got != (calls, garbage, refused):
        bad.append(f"{proc}: want {(calls, garbage, refused)} got {got}")
n = s["nsm"]
checks = {"monitors": (n["monitors"], 2), "state": (n["state"], 3),
          "replies awaited": (n["in_flight"]["replies_awaited"], 0),
          "pipe open": (s["nfs4"]["pipe"]["open"], True),
          "pipe opens": (s["nfs4"]["pipe"]["opens"], 1),
          "upcalls": (s["nfs4"]["upcalls"]["total"], 0),
          "in grace": (s["nfs4"]["grace"]["in_grace"], False)}
for what, (got, expected) in checks.items():
    if got != expected:
        bad.append(f"{what}: want {expected} got {got}")
# Each local SM_MON and SM_UNMON is one unit (the start-up adds its own).
if s["store"]["units"] < 4 or s["store"]["transactions"] < 1:
    bad.append(f"store: {s['store']}")
if s["store"]["commits_timed"] != s["store"]["transactions"]:
    bad.append(f"commits timed {s['store']['commits_timed']} != {s['store']['transactions']}")
if s["store"]["commit_seconds"]["p99"] < s["store"]["commit_seconds"]["p50"]:
    bad.append("p99 below p50")
for b in bad:
    print("mismatch:", b)
sys.exit(1 if bad else 0)
PY
echo "ok: status --json validated against docs/schema/status.json"

ctl status >"$T/status.txt" 2>&1
sed 's/^/  | /' "$T/status.txt"
expect_eq "status exit status" 0 "$?"
grep -q "SM_STAT 1, SM_MON 5 (1 garbage, 1 refused), SM_UNMON 1" "$T/status.txt" ||
  fail "human status: $(cat "$T/status.txt")"
grep -q "NFSv4: cld pipe open ($ROOT/cld)" "$T/status.txt" || fail "human status pipe: $(cat "$T/status.txt")"

ctl metrics >"$T/metrics.txt" 2>"$T/metrics.err"
expect_eq "metrics exit status" 0 "$?"
python3 - "$T/metrics.txt" <<'PY' || fail "metrics do not parse or do not match the traffic"
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
values, types = {}, {}
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        assert name not in types, "typed twice: " + name
        types[name] = kind
        continue
    m = sample.match(line)
    assert m, "not a sample: " + line
    float(m.group(4))
    values[(m.group(1), m.group(3) or "")] = float(m.group(4))
want = {("nfsrecd_nsm_requests_total", 'procedure="SM_MON"'): 5,
        ("nfsrecd_nsm_garbage_requests_total", 'procedure="SM_MON"'): 1,
        ("nfsrecd_nsm_refused_requests_total", 'procedure="SM_MON"'): 1,
        ("nfsrecd_nsm_requests_total", 'procedure="SM_UNMON"'): 1,
        ("nfsrecd_nsm_monitors", ""): 2,
        ("nfsrecd_cld_pipe_open", ""): 1,
        ("nfsrecd_grace_active", ""): 0}
bad = [f"{k}: want {v} got {values.get(k)}" for k, v in want.items() if values.get(k) != v]
if types.get("nfsrecd_store_commit_duration_seconds") != "histogram":
    bad.append("no commit histogram")
if values.get(("nfsrecd_store_commit_duration_seconds_bucket", 'le="+Inf"')) != \
        values.get(("nfsrecd_store_commit_duration_seconds_count", "")):
    bad.append("+Inf bucket differs from the count")
for name, kind in types.items():
    if name.endswith("_total") and kind != "counter":
        bad.append(name + " is not a counter")
for b in bad:
    print("mismatch:", b)
sys.exit(1 if bad else 0)
PY
echo "ok: metrics parsed"

# A user who is neither root nor the daemon's: refused, nothing printed.
# (The socket's directory and mode would stop it first; opened up here so
# that the daemon's own check is what answers.)
chmod 755 "$T" "$STATE" "$STATE/nfsrecd"
chmod 666 "$SOCK"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" status >"$T/nobody.out" 2>"$T/nobody.err"
expect_eq "status as nobody exit status" 4 "$?"
expect_eq "status as nobody prints no figures" "" "$(cat "$T/nobody.out")"
grep -q "refused: permission denied: uid $(id -u nobody) may not use the control socket" "$T/nobody.err" ||
  fail "refusal message: $(cat "$T/nobody.err")"
chmod 600 "$SOCK"
setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
  "$NFSRECCTL" --config "$CONF" --state-dir "$STATE" metrics >"$T/nobody.out" 2>"$T/nobody.err"
expect_eq "metrics as nobody through a 0600 socket exit status" 4 "$?"
expect_eq "metrics as nobody prints nothing" "" "$(cat "$T/nobody.out")"

stop_daemon
[ -e "$SOCK" ] && fail "control socket left behind after SIGTERM"
ctl status >"$T/stopped.out" 2>"$T/stopped.err"
expect_eq "status with the daemon stopped exit status" 3 "$?"
expect_eq "status with the daemon stopped" "nfsrecd is not running (no control socket at $SOCK)" \
  "$(cat "$T/stopped.err")"
expect_eq "nothing on stdout" "" "$(cat "$T/stopped.out")"
finish
