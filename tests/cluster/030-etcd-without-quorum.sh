#!/bin/bash
# etcd without quorum (2 of 3 members killed): i1 keeps serving what needs
# no write, fails Create and SM_MON cleanly and in bounded time (the kernel
# only logs a failed Create; lockd refuses the lock: "cannot monitor"), and
# never tells the kernel a client may reclaim without a committed record:
# an nfsd start meanwhile gets an error for its GraceStart.  When quorum
# returns it works again by itself, and the records acknowledged before are
# all there.  Then an outage longer than the lease: the daemon gives the
# instance up and exits 1, and a new start serves it again.
. "$(dirname "$0")/lib.sh"
COOKIE=0123456789abcdef0123456789abcdef
etcd_up 3
node_up 1
emu_up 1
daemon_up 1 i1 cluster-lease-time=30
expect_eq "nfsd start" "booted version=2 uploaded=1 skipped=0" "$(emu 1 start)"
A=$(hex "Linux NFSv4.2 client-a") B=$(hex "Linux NFSv4.2 client-b")
expect_eq "Create A with quorum" "ok 0" "$(emu 1 create "$A")"
in_node 1 "$NSM_CLIENT" --tcp mon 10.240.1.1 "$COOKIE" >/dev/null || fail "SM_MON with quorum"

"$ETCD_CLUSTER" kill "$T/etcd" 2 && "$ETCD_CLUSTER" kill "$T/etcd" 3 || fail "killing members"
t0=$(date +%s)
expect_eq "Create B without quorum fails (-EREMOTEIO)" "ok -121" "$(emu 1 create "$B")"
rc=0
in_node 1 "$NSM_CLIENT" --tcp --timeout-ms 30000 mon 10.240.1.2 "$COOKIE" >"$T/mon.out" || rc=$?
expect_eq "SM_MON without quorum answers stat_fail" 1 "$rc"
t1=$(date +%s)
[ $((t1 - t0)) -le 25 ] || fail "failing took $((t1 - t0)) s"
in_node 1 "$NSM_CLIENT" --tcp stat 10.240.1.1 >/dev/null || fail "SM_STAT needs no write"
emu 1 stop >/dev/null
r=$(emu 1 start)
case $r in
  error*) echo "ok: nfsd start without quorum: $r" ;;
  *) fail "GraceStart without quorum answered: $r" ;;
esac
ctl 1 status --json >"$T/s.json" || fail "status without quorum"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cluster"]; assert not c["etcd_available"], c' \
  "$T/s.json" || fail "status does not show etcd unreachable: $(cat "$T/s.json")"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["cluster"]["stores"]
assert s["nsm"]["units"] >= 1 and s["nfs4"]["units"] >= 2, s
assert s["nfs4"]["transactions"] >= 1 and s["nfs4"]["group_size"]["max"] >= 1, s' \
  "$T/s.json" || fail "status does not count the stores' etcd Txns: $(cat "$T/s.json")"
python3 - "$top_srcdir/docs/schema/status.json" "$T/s.json" <<'PY' ||
import json, sys, jsonschema
s = json.load(open(sys.argv[2]))
jsonschema.validate(s, json.load(open(sys.argv[1])))
assert s["store"] is None, s["store"]  # no SQLite database in cluster mode
PY
  fail "cluster-mode status: not the schema's, or SQLite's queue shown: $(cat "$T/s.json")"
grep -q "etcd: no endpoint answers" "$T/n1/daemon.log" || fail "no log line for the outage"

"$ETCD_CLUSTER" restart "$T/etcd" 2 && "$ETCD_CLUSTER" restart "$T/etcd" 3 || fail "restarting"
"$ETCD_CLUSTER" wait-healthy "$T/etcd" || fail "etcd did not recover"
r=
for _ in $(seq 1 40); do
  r=$(emu 1 create "$B")
  [ "$r" = "ok 0" ] && break
  sleep 0.25
done
expect_eq "Create B once quorum is back" "ok 0" "$r"
kill -0 "${NODE_DAEMON[1]}" || fail "the daemon did not survive the outage"
emu 1 stop >/dev/null
expect_eq "nfsd start with quorum: A and B (and the hold record)" \
  "booted version=2 uploaded=3 skipped=0" "$(emu 1 start)"

# An outage longer than the lease: the instance is given up.
daemon_stop 1
daemon_up 1 i1 cluster-lease-time=2
"$ETCD_CLUSTER" kill "$T/etcd" 2 && "$ETCD_CLUSTER" kill "$T/etcd" 3 || fail "killing members"
rc=0
for _ in $(seq 1 200); do kill -0 "${NODE_DAEMON[1]}" 2>/dev/null || break; sleep 0.05; done
wait "${NODE_DAEMON[1]}" || rc=$?
unset "NODE_DAEMON[1]"
expect_eq "exit status after losing the instance" 1 "$rc"
grep -q "is no longer ours" "$T"/n1/daemon.*.log || fail "no log line says why it stopped"
"$ETCD_CLUSTER" restart "$T/etcd" 2 && "$ETCD_CLUSTER" restart "$T/etcd" 3 || fail "restarting"
"$ETCD_CLUSTER" wait-healthy "$T/etcd" || fail "etcd did not recover"
daemon_up 1 i1
emu 1 stop >/dev/null
expect_eq "served again after the restart" "booted version=2 uploaded=3 skipped=0" "$(emu 1 start)"
finish
