#!/bin/bash
# The daemon end to end on each store, in one run, on this machine: durable
# SM_MON (over TCP, as lockd calls it) and Create upcalls (through the FUSE
# kernel emulator's cld pipe) answered by the real nfsrecd process, with
# the default SQLite store and with `[nfsrecd] backend = etcd` on a 1-member
# and a 3-member etcd, beside Debian's rpc.statd (SM_MON) and nfsdcld
# (Create).  Issue 14's "Create and SM_MON on etcd beside SQLite".
#
#   bench/run-daemon-etcd-bench.sh [[LABEL=]BUILD_DIR]... [CALLS]     (root)
#
# With several build directories (say the tree before and after a change:
# base=/work/x-base/build new=build), each nfsrecd backend row runs once per
# build, back to back, named BACKEND@LABEL (LABEL: the build directory's
# parent's name unless given); the load tools (nsm-bench, cld-bench) are
# the first build's, the daemon and nfsrecctl each row's own.  The
# nfs-utils rows run once.
#
# For each backend: a fresh state directory, a fresh etcd (etcd rows) with
# its data directory on the real disk (/var/tmp, like SQLite's database, so
# both pay the same fsync), one daemon process, then:
#   SM_MON  bench/nsm-bench --calls CALLS --concurrency C, C = 1, 8, 64
#           (a distinct host per call: every call is a new record)
#   Create  bench/cld-bench external --calls CALLS --threads C, same C
#           (a distinct client id per call)
# Each reply is verified by the tool that sent it.  After the daemon has
# stopped, every acknowledged record is counted in its store: SQLite rows
# (monitors, cld_clients), etcd keys under the instance's nsm/mon/ and
# v4/rec/ prefixes, rpc.statd's sm/ files, nfsdcld's rec table.  "calls/commit"
# is how many calls shared one durable commit: for SQLite the daemon's
# nfsrecd_store_units_total / nfsrecd_store_transactions_total
# (`nfsrecctl metrics`), for etcd the calls over the raft entries etcd
# committed meanwhile (etcd_server_proposals_committed_total on member 1;
# every write Txn of the daemon is one entry), over the round.
#
# The nfs-utils rows use NFSUTILS_CALLS (default CALLS, at most 300) calls
# a round, to bound the run: both serve one call at a time (rpc.statd
# writes and fsyncs one file per SM_MON, nfsdcld commits each Create
# alone), and under load an fsync can take 100 ms.
# BACKENDS (default "sqlite etcd-1 etcd-3 nfs-utils") picks rows.  Runs in
# a private network namespace with its own rpcbind (tests/support/with-netns);
# etcd listens on its loopback.  Exit status 1 if any reply or count is
# wrong, 77 when not root.
set -euo pipefail
self=$(readlink -f "$0")
top=$(cd "$(dirname "$self")/.." && pwd)

# Called back by cld-bench (--while, --mark) inside the run: see below.
if [ "${1:-}" = __mon ] || [ "${1:-}" = __mark ]; then
  : "${DEBENCH_WORK:?}"
fi

if [ -z "${DEBENCH_WORK:-}" ]; then
  calls=2000 builds=
  for a in "$@"; do
    if [[ $a =~ ^[0-9]+$ ]]; then calls=$a; continue; fi
    label=${a%%=*} dir=${a#*=}
    dir=$(readlink -f "$dir")
    [ "$label" = "$a" ] && label=$(basename "$(dirname "$dir")")
    builds+="$label=$dir "
  done
  [ -n "$builds" ] || builds="$(basename "$top")=$top/build "
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, FUSE)"; exit 77; }
  export PATH="$PATH:/usr/sbin:/sbin"
  tools=
  for lb in $builds; do
    make -C "${lb#*=}" -s -j2 nfsrecd nfsrecctl >/dev/null
    [ -n "$tools" ] || tools=${lb#*=}
  done
  make -C "$tools" -s -j2 bench/nsm-bench bench/cld-bench >/dev/null
  [ -x "$tools/bench/cld-bench" ] || { echo "SKIP: cld-bench not built (no FUSE 3)"; exit 77; }
  backends=${BACKENDS:-sqlite etcd-1 etcd-3 nfs-utils}
  ref_calls=${NFSUTILS_CALLS:-$((calls < 300 ? calls : 300))}
  work=$(mktemp -d /var/tmp/daemon-etcd-bench.XXXXXX)
  # Debian's nfsdcld, unpacked from nfs-kernel-server (needs the network
  # for apt-get, so before entering the namespace).
  nfsdcld=
  if [[ " $backends " == *" nfs-utils "* ]]; then
    deb=$(ls /var/cache/apt/archives/nfs-kernel-server_*.deb \
      "$tools"/tests/system/nfs-kernel-server.deb/nfs-kernel-server_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$deb" ]; then
      (cd "$work" && timeout 120 apt-get download nfs-kernel-server >/dev/null 2>&1) || true
      deb=$(ls "$work"/nfs-kernel-server_*.deb 2>/dev/null | head -1 || true)
    fi
    if [ -n "$deb" ] && dpkg-deb -x "$deb" "$work/nfsks"; then nfsdcld=$work/nfsks/usr/sbin/nfsdcld; fi
  fi
  export DEBENCH_WORK=$work DEBENCH_BUILDS=$builds DEBENCH_TOOLS=$tools DEBENCH_CALLS=$calls \
    DEBENCH_REF_CALLS=$ref_calls DEBENCH_BACKENDS=$backends DEBENCH_NFSDCLD=$nfsdcld
  rc=0
  "$top/tests/support/with-netns" -- "$self" || rc=$?
  rm -rf "$work"
  exit "$rc"
fi

work=$DEBENCH_WORK
tools=$DEBENCH_TOOLS
build=${DEBENCH_BUILD:-}  # the row's build, in the callbacks
etcd_cluster=$top/tests/support/etcd-cluster

# Counters of the store under the daemon: "UNITS COMMITS".  A row's name
# is BACKEND or BACKEND@LABEL.
counters() {
  local b=${1%@*} d=$work/$1
  case $b in
    sqlite)
      "$build/nfsrecctl" --config "$d/nfs.conf" metrics |
        awk '$1 == "nfsrecd_store_units_total" {u = $2}
             $1 == "nfsrecd_store_transactions_total" {t = $2} END {print u + 0, t + 0}'
      ;;
    etcd-*)
      curl -s "$(head -1 "$d/etcd/client-urls")/metrics" |
        awk '$1 == "etcd_server_proposals_committed_total" {p = $2} END {printf "0 %d\n", p}'
      ;;
    *) echo "0 0" ;;
  esac
}

# Calls per commit between two counter snapshots, for CALLS calls.
per_commit() {  # CALLS "U0 T0" "U1 T1" ROW
  local n=$1 b=${4%@*}
  read -r u0 t0 <<<"$2"
  read -r u1 t1 <<<"$3"
  case $b in
    sqlite) awk -v u=$((u1 - u0)) -v t=$((t1 - t0)) 'BEGIN {print t ? sprintf("%.1f", u / t) : "-"}' ;;
    etcd-*) awk -v n="$n" -v t=$((t1 - t0)) 'BEGIN {print t ? sprintf("%.1f", n / t) : "-"}' ;;
    *) echo "-" ;;
  esac
}

# One result line: BACKEND OP C OPS_PER_S P50 P99 PER_COMMIT ERRORS; the
# nfs-utils rows are named after the tool.
row() {
  local line=$*
  case $line in
    "nfs-utils SM_MON "*) line="rpc.statd ${line#nfs-utils }" ;;
    "nfs-utils Create "*) line="nfsdcld ${line#nfs-utils }" ;;
  esac
  echo "$line" >>"$work/rows"
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Acknowledged (answered without error) calls per second of a tool's line.
acked_rate() {  # LINE CALLS_FIELD
  awk -v n="$(field "$2" "$1")" -v e="$(field errors "$1")" -v s="$(field seconds "$1")" \
    'BEGIN {printf "%.1f", (n - e) / s}'
}

if [ "${1:-}" = __mark ]; then  # __mark BACKEND LABEL: after a Create round
  b=$2 label=$3 d=$work/$2
  now=$(counters "$b")
  if [ "$label" != start ]; then
    out=$(grep "threads=$label " "$d/cld.out" | tail -1)
    row "$b Create $label $(acked_rate "$out" creates) $(field p50_ms "$out")" \
      "$(field p99_ms "$out") $(per_commit "$(field creates "$out")" "$(cat "$d/mark")" "$now" "$b")" \
      "$(field errors "$out")"
  fi
  echo "$now" >"$d/mark"
  exit 0
fi

wait_registered() {
  for _ in $(seq 1 200); do
    rpcinfo -T tcp 127.0.0.1 100024 1 >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "no NSM server registered" >&2
  return 1
}

if [ "${1:-}" = __mon ]; then  # __mon ROW: the SM_MON rounds, daemon up
  b=$2 d=$work/$2 n=$DEBENCH_CALLS statd=
  if [ "$b" = nfs-utils ]; then
    n=$DEBENCH_REF_CALLS
    rpc.statd -F --no-notify -P "$d/state" >"$d/statd.log" 2>&1 &
    statd=$!
  fi
  wait_registered
  status=0
  for c in 1 8 64; do
    before=$(counters "$b")
    # rpc.statd's failed calls (time-outs) are its figure, not a failure of
    # the run; ours must answer every call.
    rc=0
    out=$("$tools/bench/nsm-bench" --calls "$n" --concurrency "$c" --prefix "10.$((70 + c))") ||
      rc=$?
    if [ "$rc" != 0 ] && { [ "$b" != nfs-utils ] || [ -z "$out" ]; }; then status=1; fi
    echo "$b SM_MON $out" >>"$d/mon.out"
    row "$b SM_MON $c $(acked_rate "$out" calls) $(field p50_ms "$out")" \
      "$(field p99_ms "$out") $(per_commit "$n" "$before" "$(counters "$b")" "$b")" \
      "$(field errors "$out")"
  done
  if [ -n "$statd" ]; then
    kill "$statd"
    wait "$statd" 2>/dev/null || true
  fi
  exit $status
fi

# ---- the run itself, inside the namespace ----
# nfs-utils read /etc/nfs.conf: an empty one of ours, in this mount
# namespace only.
: >"$work/empty.conf"
[ -e /etc/nfs.conf ] && mount --bind "$work/empty.conf" /etc/nfs.conf
date -u +"run: %Y-%m-%d %H:%M:%S UTC on $(hostname), $(nproc) CPUs"
for lb in $DEBENCH_BUILDS; do
  echo "build ${lb%%=*}: ${lb#*=} ($(git -C "${lb#*=}/.." rev-parse --short HEAD 2>/dev/null || echo '?'))"
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(etcd --version 2>/dev/null | head -1 || echo 'no etcd')"
: >"$work/rows"
failed=0

# Counts: "MONITORS CLIENTS" the store holds for this run, after the stop.
stored() {
  local b=${1%@*} d=$work/$1 hexp=$2
  case $b in
    sqlite)
      local db=$d/state/nfsrecd/nfsrecd.sqlite
      echo "$(sqlite3 "$db" 'SELECT count(*) FROM monitors;')" \
        "$(sqlite3 "$db" "SELECT count(*) FROM cld_clients WHERE epoch = (SELECT current FROM
           cld_grace) AND lower(hex(id)) LIKE '$hexp%';")"
      ;;
    etcd-*)
      local p=/nfsrec/bench/instances/i1 urls
      urls=$("$etcd_cluster" endpoints "$d/etcd")
      echo "$(ETCDCTL_API=3 etcdctl --endpoints="$urls" get --prefix "$p/nsm/mon/" --keys-only |
        grep -c '/mon/' || true)" \
        "$(ETCDCTL_API=3 etcdctl --endpoints="$urls" get --prefix "$p/v4/rec/" --keys-only |
          grep -c "/$hexp" || true)"
      ;;
    nfs-utils)
      local db=$d/cld/main.sqlite cur
      cur=$(sqlite3 "$db" 'SELECT current FROM grace;')
      echo "$(cat "$d/state"/sm/* | wc -l)" \
        "$(sqlite3 "$db" "SELECT count(*) FROM \"rec-$(printf %016x "$cur")\"
           WHERE lower(hex(id)) LIKE '$hexp%';")"
      ;;
  esac
}

# The rows to run, in order: ROW=BUILD_DIR, ROW being BACKEND@LABEL with
# several builds (each backend's builds back to back), else BACKEND.
runs=
for b in $DEBENCH_BACKENDS; do
  if [ "$b" = nfs-utils ]; then
    runs+="nfs-utils= "
    continue
  fi
  for lb in $DEBENCH_BUILDS; do
    if [ "$(wc -w <<<"$DEBENCH_BUILDS")" -gt 1 ]; then runs+="$b@${lb%%=*}=${lb#*=} "; else
      runs+="$b=${lb#*=} "
    fi
  done
done

for run in $runs; do
  key=${run%%=*} build=${run#*=}
  b=${key%@*} d=$work/$key
  mkdir -p "$d/state/sm" "$d/state/sm.bak" "$d/mnt" "$d/root/proc/sys/fs/nfs" \
    "$d/root/proc/fs/lockd" "$d/root/proc/sys/kernel/random" "$d/root/proc/fs"
  : >"$d/root/proc/sys/fs/nfs/nsm_local_state"
  : >"$d/root/proc/fs/lockd/nlm_end_grace"
  echo "bench-$key" >"$d/root/proc/sys/kernel/random/boot_id"
  ln -s "$d/mnt/proc/fs/nfsd" "$d/root/proc/fs/nfsd"
  {
    printf '[statd]\nstate-directory-path = %s\n' "$d/state"
    printf '[nfsdcld]\nstoragedir = %s\n[nfsdcltrack]\nstoragedir = %s\n' "$d/none" "$d/none"
    printf '[nfsrecd]\ncontrol-socket = %s\n' "$d/control"
  } >"$d/nfs.conf"
  n=$DEBENCH_CALLS
  case $b in
    etcd-1 | etcd-3)
      erc=0
      urls=$("$etcd_cluster" start "$d/etcd" --members "${b#etcd-}") || erc=$?
      if [ "$erc" = 77 ]; then echo "SKIP $key: etcd is not installed (etcd-server)"; continue; fi
      [ "$erc" = 0 ] || { echo "FAIL $key: etcd did not start (rc $erc)"; failed=1; continue; }
      printf 'backend = etcd\netcd-endpoints = %s\ncluster = bench\ninstance = i1\nnode = n1\n' \
        "$urls" >>"$d/nfs.conf"
      ;;
    nfs-utils)
      if [ -z "$DEBENCH_NFSDCLD" ]; then
        echo "SKIP nfs-utils: cannot unpack Debian's nfs-kernel-server for nfsdcld"
        continue
      fi
      n=$DEBENCH_REF_CALLS
      mkdir -p "$d/cld"
      ;;
  esac
  if [ "$b" = nfs-utils ]; then
    cmd="'$DEBENCH_NFSDCLD' -F -p '$d/mnt/rpc_pipefs' -s '$d/cld'"
  else
    cmd="'$build/nfsrecd' -F -L -P '$d/state' --pidfile '$d/pid' --proc-root '$d/root'"
    cmd+=" --cld-pipe '$d/mnt/rpc_pipefs/nfsd/cld' --config '$d/nfs.conf'"
  fi
  echo "== $key: $(cut -d' ' -f1-3 /proc/loadavg) load"
  rc=0
  DEBENCH_BUILD=$build "$tools/bench/cld-bench" external --mnt "$d/mnt" --log "$d/daemon.log" \
    --cmd "$cmd" --threads 1,8,64 --calls "$n" --while "'$self' __mon $key" \
    --mark "'$self' __mark $key" \
    >"$d/cld.out" 2>"$d/cld.err" || rc=$?
  cat "$d/mon.out" "$d/cld.out" 2>/dev/null
  if [ "$rc" != 0 ]; then
    echo "FAIL $key: cld-bench exited $rc"
    tail -20 "$d/cld.err" "$d/daemon.log" 2>/dev/null || true
    failed=1
  fi
  # Every acknowledged record must be stored; a call that failed (time-out)
  # may or may not have been applied.  Our daemon must answer every call.
  acked=$(field acknowledged "$(cat "$d/cld.out")")
  hexp=$(field id_hex_prefix "$(cat "$d/cld.out")")
  mon_acked=$(awk '{for (i = 1; i <= NF; i++) {split($i, kv, "=");
    if (kv[1] == "calls") n += kv[2]; if (kv[1] == "errors") e += kv[2]}} END {print n - e}' \
    "$d/mon.out" 2>/dev/null || echo 0)
  if [ -n "$hexp" ]; then
    read -r mons clients <<<"$(stored "$key" "$hexp")"
    echo "stored: $key monitors=$mons (SM_MON acknowledged $mon_acked of $((3 * n)))" \
      "clients=$clients (Create acknowledged $acked of $((3 * n)))"
    if [ "$mons" -lt "$mon_acked" ] || [ "$clients" -lt "$acked" ]; then
      echo "FAIL $key: fewer records stored than acknowledged"
      failed=1
    fi
    if [ "$b" != nfs-utils ] && { [ "$mon_acked" != $((3 * n)) ] || [ "$acked" != $((3 * n)) ] ||
      [ "$mons" != "$mon_acked" ] || [ "$clients" != "$acked" ]; }; then
      echo "FAIL $key: not every call answered and stored"
      failed=1
    fi
  fi
  if [[ $b == etcd-* ]]; then "$etcd_cluster" cleanup "$d/etcd" >/dev/null 2>&1 || true; fi
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-18s %-6s %4s %9s %8s %8s %12s %6s\n' backend op C ops/s p50_ms p99_ms calls/commit errors
sort -s -k2,2r -k3,3n "$work/rows" | while read -r b op c rate p50 p99 pc err; do
  printf '%-18s %-6s %4s %9s %8s %8s %12s %6s\n' "$b" "$op" "$c" "$rate" "$p50" "$p99" "$pc" "$err"
done
exit $failed
