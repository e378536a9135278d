# Nodes for the cluster-mode tests (tests/cluster/*.sh) and the demo
# (scripts/cluster-demo): a 3-member etcd in the test's network namespace
# (the "hub", tests/system/lib.sh) and one network namespace per node,
# linked to the hub by a veth (node K: hub 10.240.K.1, node 10.240.K.2),
# each with its own rpcbind, FUSE kernel emulator (cld-emu: nfsd's cld pipe
# and v4_end_grace) and nfsrecd on backend = etcd.  A node is a server
# instance's home: moving an instance means starting its daemon in another
# node namespace, as a failover starts it on another host.
#
#   etcd_up [MEMBERS]            start etcd (default 3 members)
#   node_up K                    create node K's namespace
#   node_kill K                  SIGKILL everything in it at once (a crash; its
#                                next daemon_up has a new boot id)
#   in_node K CMD...             run CMD inside node K
#   emu_up K                     start node K's emulator; emu K CMD... talks to it
#   daemon_up K INSTANCE [KEY=VALUE...]   nfsrecd for INSTANCE on node K
#                                (extra [nfsrecd] keys), waits until it serves
#                                (daemon_start and daemon_wait K, apart); its
#                                log is ${DAEMON_LOG[K]}
#   daemon_stop K                SIGTERM, and wait
#   ctl K ARGS...                nfsrecctl against node K's daemon and etcd
. "$(dirname "$0")/../system/lib.sh"
CLD_EMU=$top_builddir/tests/cld_emulator/cld-emu
NFSRECCTL=$top_builddir/nfsrecctl
ETCD_CLUSTER=$top_srcdir/tests/support/etcd-cluster
[ -x "$CLD_EMU" ] || skip "cld-emu is not built (configure found no FUSE 3)"
[ -e /dev/fuse ] || skip "no /dev/fuse: the cld emulator needs FUSE"
command -v etcd >/dev/null || skip "etcd is not installed (Debian package etcd-server)"
CLUSTER=${CLUSTER:-t$$}
declare -A NODE_PID EMU_IN EMU_OUT EMU_PID NODE_DAEMON DAEMON_LOG
ETCD_PORTS=

cluster_cleanup() {
  local k left
  # The jobs left (the nsenter wrappers of node processes) end on purpose
  # with their namespaces: disowned first, so that bash prints no "Killed"
  # line for them.  One that died by itself earlier was reported then.
  left=$(jobs -p)
  [ -n "$left" ] && disown $left
  for k in "${!NODE_PID[@]}"; do kill -TERM "${NODE_PID[$k]}" 2>/dev/null; done
  [ -n "$left" ] && kill -KILL $left 2>/dev/null
  # Gone before their files are removed (disowned: polled, not waited for).
  for k in $left "${NODE_PID[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$k" 2>/dev/null || break
      sleep 0.05
    done
  done
  [ -d "$T/etcd" ] && "$ETCD_CLUSTER" cleanup "$T/etcd" >/dev/null 2>&1
  cleanup
}
trap cluster_cleanup EXIT

dump_logs() {
  local f
  for f in "$T"/n*/daemon*.log "$T"/n*/emu.log; do
    [ -f "$f" ] || continue
    echo "---- $f ----"
    tail -40 "$f"
  done
}

etcd_up() {
  local urls rc=0
  urls=$("$ETCD_CLUSTER" start "$T/etcd" --members "${1:-3}" --host 0.0.0.0) || rc=$?
  [ "$rc" = 77 ] && skip "etcd cannot run here"
  [ "$rc" = 0 ] || { fail "etcd did not start"; finish; }
  ETCD_PORTS=$(echo "$urls" | tr ',' '\n' | sed 's/.*://' | tr '\n' ' ')
}

# Node K's endpoints: every member through its veth to the hub.
endpoints() {
  local p out=
  for p in $ETCD_PORTS; do out+="${out:+,}http://10.240.$1.1:$p"; done
  echo "$out"
}

node_up() {
  local k=$1
  mkdir -p "$T/n$k"
  # Its stderr goes to a file: unshare complains when the namespace is
  # ended with SIGKILL (node_kill).
  "$WITH_NETNS" --name "n$k" --veth "10.240.$k.1/24,10.240.$k.2/24" -- sleep 100000 \
    2>>"$T/n$k/netns.log" &
  NODE_PID[$k]=$!
  disown "${NODE_PID[$k]}"  # ended on purpose: no job line from bash
  "$WITH_NETNS" --wait "n$k" || { fail "node $k did not come up"; finish; }
}

in_node() {
  local k=$1
  shift
  "$WITH_NETNS" --join "n$k" -- "$@"
}

node_kill() {
  local k=$1
  local i
  # with-netns, on TERM, ends the namespace: its PID 1 is SIGKILLed and
  # every process in it with it (a crash of the whole node).  The jobs
  # running there die on purpose: no job line from bash for them.
  for i in "${NODE_DAEMON[$k]:-}" "${EMU_PID[$k]:-}"; do
    [ -n "$i" ] && disown "$i" 2>/dev/null
  done
  kill -TERM "${NODE_PID[$k]}" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "${NODE_PID[$k]}" 2>/dev/null || break
    sleep 0.05
  done
  unset "NODE_PID[$k]" "EMU_PID[$k]" "NODE_DAEMON[$k]"
  # It boots again with a new boot id (daemon_up makes one).
  rm -f "$T/n$k/root/proc/sys/kernel/random/boot_id"
}

emu_up() {
  local k=$1 d=$T/n$1 word=
  mkdir -p "$d/mnt"
  rm -f "$d/emu.in" "$d/emu.out"
  mkfifo "$d/emu.in" "$d/emu.out"
  # Not through in_node: a background function is a bash of its own, which
  # would write a "Killed" line into the log when the node dies.
  "$WITH_NETNS" --join "n$k" -- "$CLD_EMU" "$d/mnt" 10 <"$d/emu.in" >"$d/emu.out" 2>"$d/emu.log" &
  EMU_PID[$k]=$!
  exec {EMU_IN[$k]}>"$d/emu.in" {EMU_OUT[$k]}<"$d/emu.out"
  read -r -t 20 word _ <&"${EMU_OUT[$k]}"
  if [ "${word:-}" != ready ]; then
    grep -q "FUSE unavailable" "$d/emu.log" && skip "FUSE cannot be mounted here: $(cat "$d/emu.log")"
    fail "cld-emu of node $k did not start: $(cat "$d/emu.log")"
    finish
  fi
}

# emu K COMMAND...: one command to node K's emulator, its first answer line.
emu() {
  local k=$1 reply=
  shift
  echo "$*" >&"${EMU_IN[$k]}"
  read -r -t 60 reply <&"${EMU_OUT[$k]}"
  echo "$reply"
}

# emu_table K: the ids (hex) of the last GraceStart upload, one a line,
# without cluster mode's hold record (its id starts with a NUL byte).
emu_table() {
  local k=$1 n= id _h i
  echo table >&"${EMU_IN[$k]}"
  read -r -t 60 _ n <&"${EMU_OUT[$k]}"
  for ((i = 0; i < ${n:-0}; i++)); do
    read -r -t 10 id _h <&"${EMU_OUT[$k]}"
    case $id in 00*) ;; *) echo "$id" ;; esac
  done | sort
}

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# daemon_up K INSTANCE [KEY=VALUE...]: daemon_start, then daemon_wait.
daemon_up() {
  daemon_start "$@"
  daemon_wait "$1"
}

# daemon_start K INSTANCE [KEY=VALUE...]: starts it, does not wait.
daemon_start() {
  local k=$1 inst=$2 d=$T/n$1 kv
  shift 2
  mkdir -p "$d/state/sm" "$d/root/proc/sys/fs/nfs" "$d/root/proc/fs/lockd" \
    "$d/root/proc/sys/kernel/random" "$d/root/proc/fs"
  : >"$d/root/proc/sys/fs/nfs/nsm_local_state"
  : >"$d/root/proc/fs/lockd/nlm_end_grace"
  rm -f "$d/control"  # a crashed daemon's, so that daemon_wait sees the new one
  # Each node namespace is a host of its own: its own boot.
  [ -s "$d/root/proc/sys/kernel/random/boot_id" ] ||
    printf '%08x-0000-4000-8000-%012x\n' "$k" "$(($(date +%s%N) % (1 << 48)))" >"$d/root/proc/sys/kernel/random/boot_id"
  ln -sfn "$d/mnt/proc/fs/nfsd" "$d/root/proc/fs/nfsd"
  {
    printf '[statd]\nstate-directory-path = %s\n' "$d/state"
    printf '[nfsdcld]\nstoragedir = %s\n[nfsdcltrack]\nstoragedir = %s\n' "$d/none" "$d/none"
    printf '[nfsrecd]\nbackend = etcd\netcd-endpoints = %s\ncluster = %s\n' "$(endpoints "$k")" \
      "$CLUSTER"
    printf 'instance = %s\nnode = node%s\ncluster-lease-time = 2\n' "$inst" "$k"
    printf 'control-socket = %s\n' "$d/control"
    for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
  } >"$d/nfs.conf"
  local log=$d/daemon.log
  [ -f "$log" ] && log=$d/daemon.$(date +%s%N).log
  DAEMON_LOG[$k]=$log
  # Not through in_node (emu_up says why).
  "$WITH_NETNS" --join "n$k" -- "$NFSRECD" -F -d -P "$d/state" --pidfile "$d/pid" \
    --proc-root "$d/root" --cld-pipe "$d/mnt/rpc_pipefs/nfsd/cld" --config "$d/nfs.conf" \
    >"$log" 2>&1 &
  NODE_DAEMON[$k]=$!
}

# daemon_wait K: until node K's daemon serves (20 s at most).
daemon_wait() {
  local k=$1 d=$T/n$1 i inst
  # Taking an instance over waits for the previous owner's lease (2 s here).
  for i in $(seq 1 400); do
    [ -S "$d/control" ] && return 0
    kill -0 "${NODE_DAEMON[$k]}" 2>/dev/null || break
    sleep 0.05
  done
  inst=$(sed -n 's/^instance = //p' "$d/nfs.conf")
  fail "nfsrecd of node $k ($inst) did not come up"
  finish
}

# nsenter does not pass signals on: the daemon is signalled inside its node.
daemon_stop() {
  local k=$1 rc=0
  [ -n "${NODE_DAEMON[$k]:-}" ] || return 0
  in_node "$k" sh -c "kill -TERM \$(cat '$T/n$k/pid')"
  wait "${NODE_DAEMON[$k]}" || rc=$?
  unset "NODE_DAEMON[$k]"
  [ "$rc" = 0 ] || fail "nfsrecd of node $k exited with $rc after SIGTERM"
}

ctl() {
  local k=$1
  shift
  in_node "$k" "$NFSRECCTL" --config "$T/n$k/nfs.conf" "$@"
}
