#!/bin/bash
# Every option of rpc.statd, sm-notify, nfsdcld and nfsdcltrack, and the
# nfs.conf keys whose effect can be seen from outside, run against our
# compatibility names (links named rpc.statd, sm-notify, nfsdcld and
# nfsdcltrack to the build's binaries) and against Debian's binaries
# (nfs-common's rpc.statd and sm-notify; nfsdcld and nfsdcltrack unpacked
# from nfs-kernel-server), comparing the exit status and, where the text is
# meant for scripts or people, the first word of stdout and stderr.
#
# Both sides read the same /etc/nfs.conf and /var/lib/nfs: this test's
# private mount namespace (with-netns) has a file of ours bound over the
# first and a fresh directory over the second, so Debian's binaries never
# see the host's.  Every run is bounded by `timeout`; daemons run with -F
# and are killed.

# Debian's nfsdcld and nfsdcltrack, unpacked once into the build tree
# (network access is needed for apt-get, so before entering the namespace).
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
DEB_DIR=$top_builddir/tests/system/nfs-kernel-server
if [ -z "${WITH_NETNS_NAME:-}" ] && [ "$(id -u)" = 0 ] && [ ! -x "$DEB_DIR/sbin/nfsdcltrack" ]; then
  (
    mkdir -p "$DEB_DIR.deb" && cd "$DEB_DIR.deb" || exit 1
    ls nfs-kernel-server_*.deb >/dev/null 2>&1 ||
      cp /var/cache/apt/archives/nfs-kernel-server_*.deb . 2>/dev/null ||
      timeout 120 apt-get download nfs-kernel-server
    dpkg -x nfs-kernel-server_*.deb "$DEB_DIR"
  ) >/dev/null 2>&1
fi
export DEB_DIR

. "$(dirname "$0")/lib.sh"

for tool in rpc.statd sm-notify timeout; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (Debian package nfs-common)"
done
[ -x "$DEB_DIR/usr/sbin/nfsdcld" ] && [ -x "$DEB_DIR/sbin/nfsdcltrack" ] ||
  skip "cannot unpack Debian's nfs-kernel-server (apt-get download nfs-kernel-server failed)"

# The compatibility names, and Debian's binaries under the same names (so
# that messages carrying argv[0] compare).
mkdir -p "$T/ours" "$T/deb"
for n in rpc.statd sm-notify nfsdcld; do ln -s "$NFSRECD" "$T/ours/$n"; done
ln -s "$top_builddir/nfsrec-cltrack" "$T/ours/nfsdcltrack"
ln -s "$(command -v rpc.statd)" "$T/deb/rpc.statd"
ln -s "$(command -v sm-notify)" "$T/deb/sm-notify"
ln -s "$DEB_DIR/usr/sbin/nfsdcld" "$T/deb/nfsdcld"
ln -s "$DEB_DIR/sbin/nfsdcltrack" "$T/deb/nfsdcltrack"

# One nfs.conf and one state directory for both sides, in this namespace only.
SHARED_CONF=$T/shared-nfs.conf
: >"$SHARED_CONF"
[ -e /etc/nfs.conf ] || skip "no /etc/nfs.conf to bind over"
mount --bind "$SHARED_CONF" /etc/nfs.conf || skip "cannot bind-mount over /etc/nfs.conf"
mkdir -p "$T/empty.d"
[ -d /etc/nfs.conf.d ] && mount --bind "$T/empty.d" /etc/nfs.conf.d
# fresh_state: an empty rpc.statd state directory at /var/lib/nfs.
fresh_state() {
  umount /var/lib/nfs 2>/dev/null
  local d
  d=$(mktemp -d "$T/varlibnfs.XXXXXX")
  mkdir -p "$d/sm" "$d/sm.bak" && : >"$d/state"
  mount --bind "$d" /var/lib/nfs || fail "cannot bind-mount over /var/lib/nfs"
}
fresh_state
set_conf() { printf '%b' "$1" >"$SHARED_CONF"; }

# First word of a file, without a path before the program's name and
# without case ("usage:" and "Usage:" are the same word).
first_word() { awk 'NR == 1 {print $1; exit}' "$1" | sed 's|.*/||' | tr 'A-Z' 'a-z'; }

# run SIDE NAME ARGS...: runs $T/SIDE/NAME with ARGS, at most 10 s; sets
# RC, OUT and ERR (first words).
run() {
  local side=$1 name=$2
  shift 2
  timeout 10 "$T/$side/$name" "$@" >"$T/$side.out" 2>"$T/$side.err" </dev/null
  RC=$?
  OUT=$(first_word "$T/$side.out")
  ERR=$(first_word "$T/$side.err")
}

# compare WHAT STREAMS NAME ARGS...: runs both, compares the exit status
# and the first words of the streams named in STREAMS (out, err, both or
# none).
compare() {
  local what=$1 streams=$2 name=$3
  shift 3
  run deb "$name" "$@"
  local drc=$RC dout=$OUT derr=$ERR
  run ours "$name" "$@"
  expect_eq "$what: exit status (Debian $drc)" "$drc" "$RC"
  case $streams in out | both) expect_eq "$what: stdout begins" "$dout" "$OUT" ;; esac
  case $streams in err | both) expect_eq "$what: stderr begins" "$derr" "$ERR" ;; esac
}

echo "== rpc.statd: options that answer at once"
for o in -h -? --help; do compare "rpc.statd $o" both rpc.statd "$o"; done
for o in -v -V --version; do compare "rpc.statd $o" both rpc.statd "$o"; done
compare "rpc.statd -Z" both rpc.statd -Z
compare "rpc.statd --bogus" both rpc.statd --bogus
compare "rpc.statd -p (no value)" both rpc.statd -p
compare "rpc.statd -FdZ" both rpc.statd -FdZ
for bad in "-p 0" "-p 65536" "-p abc" "--port=0" "-o 0" "-o x" "--outgoing-port=70000" \
  "-T 0" "-T x" "--nlm-port=65536" "-U 0" "-U x" "--nlm-udp-port=99999"; do
  # shellcheck disable=SC2086
  compare "rpc.statd $bad" both rpc.statd $bad
done
compare "rpc.statd -p 2000 -o 2000" none rpc.statd -p 2000 -o 2000
compare "rpc.statd -F -P /nonexistent" none rpc.statd -F -P /nonexistent
# rpc.statd never looks at operands (ours warns).
compare "rpc.statd stray operand" none rpc.statd -F -P /nonexistent stray
compare "rpc.statd -v stray" both rpc.statd -v stray
# Deliberate differences, checked on our side only:
# - rpc.statd acts on -P while it reads the options, so "-P /nonexistent -v"
#   fails there; ours reads every option first, and -v answers.
run ours rpc.statd -P /nonexistent -v
expect_eq "rpc.statd -P /nonexistent -v: ours prints the version" "0 rpc.statd" "$RC $OUT"

echo "== sm-notify: options that answer at once"
for o in -h -Z -x --bogus; do compare "sm-notify $o" both sm-notify "$o"; done
compare "sm-notify stray operand" none sm-notify -d stray
compare "sm-notify -m (no value)" both sm-notify -m
# - sm-notify reads "-m abc" with atoi, as 0 (retry for ever); ours refuses
#   it with the reason (bad input gets a clear error).
run ours sm-notify -d -m abc
expect_eq "sm-notify -m abc: ours refuses it" "1 sm-notify:" "$RC $ERR"
compare "sm-notify -P /nonexistent" none sm-notify -d -P /nonexistent

echo "== nfsdcld: options that answer at once (usage on stdout, status 0)"
for o in -h --help -Z --bogus -p -s; do compare "nfsdcld $o" out nfsdcld "$o"; done

echo "== nfsdcltrack: options and commands, each side on its own storage directory"
for o in -h --help -Z; do compare "nfsdcltrack $o" out nfsdcltrack "$o"; done
cltrack() {
  local what=$1
  shift
  mkdir -p "$T/cl-deb" "$T/cl-ours"
  run deb nfsdcltrack -s "$T/cl-deb" "$@"
  local drc=$RC
  run ours nfsdcltrack --proc-root "$ROOT" -s "$T/cl-ours" "$@"
  expect_eq "nfsdcltrack $what: exit status (Debian $drc)" "$drc" "$RC"
}
cltrack "(no command)"
cltrack "bogus command" bogus
cltrack init init
cltrack "create (no id)" create
cltrack "create bad hex" create 0g
cltrack "create odd length" create 012
cltrack create create 0102abcd
cltrack "check known" check 0102abcd
cltrack "check unknown" check 0a0b
cltrack "check upper case hex" check 0102ABCD
cltrack remove remove 0102abcd
cltrack "check removed" check 0102abcd
cltrack "gracedone (no time)" gracedone
cltrack "gracedone junk" gracedone 12x
cltrack gracedone gracedone 1000
cltrack "-f -d init" -f -d init
# [nfsdcltrack] storagedir: where each puts its database.
mkdir -p "$T/st-deb" "$T/st-ours"
set_conf "[nfsdcltrack]\nstoragedir = $T/st-deb\n"
run deb nfsdcltrack init
set_conf "[nfsdcltrack]\nstoragedir = $T/st-ours\n"
run ours nfsdcltrack --proc-root "$ROOT" init
expect_eq "nfsdcltrack [nfsdcltrack] storagedir: Debian's database" yes \
  "$([ -s "$T/st-deb/main.sqlite" ] && echo yes || echo no)"
expect_eq "nfsdcltrack [nfsdcltrack] storagedir: our database" yes \
  "$([ -s "$T/st-ours/nfsrecd.sqlite" ] && echo yes || echo no)"
# Without storagedir, ours shares the daemon's database under
# [statd] state-directory-path.
mkdir -p "$T/sd"
set_conf "[statd]\nstate-directory-path = $T/sd\n"
run ours nfsdcltrack --proc-root "$ROOT" init
expect_eq "nfsdcltrack: default database follows state-directory-path" 0 "$RC"
[ -s "$T/sd/nfsrecd/nfsrecd.sqlite" ] || fail "nfsdcltrack did not use $T/sd/nfsrecd/nfsrecd.sqlite"
set_conf ""

# up SIDE NAME ARGS...: starts a daemon in the foreground, waits 1 s, and
# says whether it is still running (then kills it).
up() {
  local side=$1 name=$2
  shift 2
  "$T/$side/$name" "$@" >"$T/$side-$name.log" 2>&1 &
  local pid=$!
  sleep 1
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    sleep 0.2
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo running
  else
    wait "$pid"
    echo "exited $?"
  fi
}
echo "== nfsdcld: runs in the foreground on a pipe directory that has no pipe yet"
for side in deb ours; do mkdir -p "$T/pipefs-$side/nfsd" "$T/store-$side"; done
expect_eq "nfsdcld -F -p DIR -s DIR (Debian: $(up deb nfsdcld -F -p "$T/pipefs-deb" -s "$T/store-deb"))" \
  running "$(up ours nfsdcld -F -p "$T/pipefs-ours" -s "$T/store-ours" --proc-root "$ROOT")"
[ -s "$T/store-ours/nfsrecd.sqlite" ] || fail "nfsdcld -s: no database in $T/store-ours"
expect_eq "nfsdcld -Fd (Debian: $(up deb nfsdcld -Fd -p "$T/pipefs-deb" -s "$T/store-deb"))" \
  running "$(up ours nfsdcld -Fd -p "$T/pipefs-ours" -s "$T/store-ours" --proc-root "$ROOT")"
grep -qi "debug" "$T/ours-nfsdcld.log" || fail "nfsdcld -Fd: no debug output"
# [nfsdcld] storagedir and [general] pipefs-directory.
set_conf "[nfsdcld]\nstoragedir = $T/store-conf\n[general]\npipefs-directory = $T/pipefs-ours\n"
mkdir -p "$T/store-conf"
expect_eq "nfsdcld [nfsdcld] storagedir" running "$(up ours nfsdcld -F --proc-root "$ROOT")"
[ -s "$T/store-conf/nfsrecd.sqlite" ] || fail "[nfsdcld] storagedir: no database in $T/store-conf"
set_conf ""

echo "== rpc.statd: keys and options seen from rpcbind"
# statd_port SIDE ARGS...: the UDP port the side's rpc.statd registers with.
statd_port() {
  local side=$1
  shift
  fresh_state
  local extra=()
  [ "$side" = ours ] && extra=(--proc-root "$ROOT")
  "$T/$side/rpc.statd" -F -d -L "$@" "${extra[@]}" >"$T/$side-statd.log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 1 100); do
    port=$(timeout 5 rpcinfo -p 127.0.0.1 2>/dev/null | awk '$1 == 100024 && $3 == "udp" {print $4; exit}')
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  for _ in $(seq 1 100); do
    timeout 5 rpcinfo -p 127.0.0.1 2>/dev/null | awk '$1 == 100024' | grep -q . || break
    sleep 0.05
  done
  # One killed (slow to stop under load) leaves its entries: the next
  # side's port must not be read from them.
  rpcinfo -d 100024 1 >/dev/null 2>&1 || true
  echo "${port:-none}"
}
# keyed WHAT CONF EXPECT ARGS...: both sides with this nfs.conf register
# on the same port (EXPECT: that port, or "any" for an ephemeral one).
keyed() {
  local what=$1 conf=$2 want=$3
  shift 3
  set_conf "$conf"
  local d o
  d=$(statd_port deb "$@")
  o=$(statd_port ours "$@")
  if [ "$want" = any ]; then
    [ "$d" != none ] || fail "$what: Debian's rpc.statd did not register"
    [ "$o" != none ] || fail "$what: ours did not register"
    echo "ok: $what (Debian $d, ours $o)"
  else
    expect_eq "$what: Debian's port" "$want" "$d"
    expect_eq "$what: our port" "$want" "$o"
  fi
}
keyed "-p 4011" "" 4011 -p 4011
keyed "--port=4012" "" 4012 --port=4012
keyed "[statd] port" "[statd]\nport = 4013\n" 4013
keyed "[statd] port, trailing junk read as atoi does" "[statd]\nport = 4014x\n" 4014
keyed "[statd] port that is no number: ephemeral" "[statd]\nport = abc\n" any
keyed "-p wins over [statd] port" "[statd]\nport = 4015\n" 4016 -p 4016
keyed "[statd] no-notify with a bad boolean is tolerated" "[statd]\nport = 4017\nno-notify = maybe\n" 4017
keyed "unknown key is tolerated" "[statd]\nport = 4018\nbogus-key = 1\n" 4018
grep -q "/etc/nfs.conf:3: unknown key bogus-key in \[statd\]" "$T/ours-statd.log" ||
  fail "no FILE:LINE warning for the unknown key: $(cat "$T/ours-statd.log")"
keyed "-o and -p differ" "" 4019 -p 4019 -o 4020
set_conf ""

echo "== rpc.statd -N: the deprecation warning, then sm-notify's status"
fresh_state
run deb rpc.statd -N
drc=$RC derr=$ERR
fresh_state
rm -f /run/sm-notify.pid
run ours rpc.statd -N --proc-root "$ROOT"
expect_eq "rpc.statd -N: exit status (Debian $drc)" "$drc" "$RC"
expect_eq "rpc.statd -N: stderr begins" "$derr" "$ERR"
grep -q "rpc.statd: -N deprecated" "$T/ours.err" || fail "rpc.statd -N: no deprecation warning"

echo "== rpc.statd -T/-U: lockd's ports, loading lockd when its files are missing"
mkdir -p "$T/fakebin"
cat >"$T/fakebin/modprobe" <<EOF
#!/bin/sh
echo "\$*" >>"$T/modprobe.calls"
: >"$ROOT/proc/sys/fs/nfs/nlm_tcpport"
: >"$ROOT/proc/sys/fs/nfs/nlm_udpport"
EOF
chmod +x "$T/fakebin/modprobe"
rm -f "$ROOT/proc/sys/fs/nfs/nlm_tcpport" "$ROOT/proc/sys/fs/nfs/nlm_udpport"
# Our rpc.statd on a fresh state with the fake modprobe, until it answers,
# then stopped: what it did to lockd's ports is left to check.
run_ours_nlm() {
  fresh_state
  PATH="$T/fakebin:$PATH" "$T/ours/rpc.statd" -F -L "$@" --proc-root "$ROOT" \
    >"$T/ours-nlm.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 100); do
    rpcinfo -T udp 127.0.0.1 100024 1 >/dev/null 2>&1 && break
    sleep 0.05
  done
  stop_daemon
}
run_ours_nlm -T 4045 -U 4046
expect_eq "modprobe ran once" "lockd" "$(cat "$T/modprobe.calls" 2>/dev/null)"
expect_eq "-T wrote nlm_tcpport" 4045 "$(cat "$ROOT/proc/sys/fs/nfs/nlm_tcpport" 2>/dev/null)"
expect_eq "-U wrote nlm_udpport" 4046 "$(cat "$ROOT/proc/sys/fs/nfs/nlm_udpport" 2>/dev/null)"
# [lockd] port alone sets both, lockd already loaded: no modprobe.
set_conf "[lockd]\nport = 4047\n"
rm -f "$T/modprobe.calls"
run_ours_nlm
expect_eq "[lockd] port: no modprobe when loaded" "" "$(cat "$T/modprobe.calls" 2>/dev/null)"
expect_eq "[lockd] port wrote nlm_tcpport" 4047 "$(cat "$ROOT/proc/sys/fs/nfs/nlm_tcpport")"
expect_eq "[lockd] port wrote nlm_udpport" 4047 "$(cat "$ROOT/proc/sys/fs/nfs/nlm_udpport")"
set_conf ""

umount /var/lib/nfs 2>/dev/null
finish
