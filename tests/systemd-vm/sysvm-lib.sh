# sysvm-lib.sh - helpers shared by the two VMs of the systemd boot test (sourced by
# server-agent.sh under Debian's dash and by client-init.sh under busybox ash; POSIX sh only).
#
# Both VMs mount the same host directory at /host:
#   /host/sync/<name>        rendezvous files (signal/await) between the VMs
#   /host/out/<vm>.log       each VM's check and info lines; the host counts "FAIL:" lines
#   /host/out/<vm>.result    "fails=N passes=N" once the VM is done
# VM (server or client) must be set before sourcing.
SYNC=/host/sync
OUT=/host/out
up() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$VM $(up)] $*" | tee -a "$OUT/$VM.log"; }
info() { log "info: $*"; }
FAILS=${FAILS:-0} PASSES=${PASSES:-0}
check() {  # check "<description>" <command...>
    _d=$1; shift
    if "$@"; then PASSES=$((PASSES + 1)); log "PASS: $_d"
    else FAILS=$((FAILS + 1)); log "FAIL: $_d"; fi
}
not() { ! "$@"; }
wait_until() {  # wait_until <seconds> <command...>: poll every 0.5 s, by the clock (TCG is slow)
    _end=$(($(cut -d. -f1 /proc/uptime) + $1)); shift
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $_end ]; do "$@" && return 0; sleep 0.5; done
    "$@"
}
signal() { echo "$(up)" > "$SYNC/$1"; log "signal $1"; }
await() {  # await <name> <seconds>
    log "await $1"
    wait_until "$2" test -e "$SYNC/$1" || { log "FAIL: timed out after $2 s waiting for $1"; FAILS=$((FAILS + 1)); return 1; }
}
# hold <file> <log name>: a process that takes an exclusive lock and keeps it; sets HOLDER
hold() {
    rm -f "$OUT/$2"
    setsid flock -x "$1" -c "echo LOCKED \$(cut -d' ' -f1 /proc/uptime); exec sleep 100000" > "$OUT/$2" 2>&1 &
    HOLDER=$!
}
alive() { kill -0 "$1" 2>/dev/null; }
# A lock attempt that the server must refuse. flock -n returns once the server answers; the client
# retries NFS4ERR_GRACE (and lockd its grace) until grace ends.
denied() { ! timeout "${2:-90}" flock -n -x "$1" true; }
