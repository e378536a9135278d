#!/bin/sh
# /init of the real-kernel VM (busybox sh plus a few nfs-utils and iproute2 binaries).
# run-vm.sh builds it into the initramfs together with vm-scenarios.sh.
#
# One VM runs one scenario: kernel command line "scenario=<name>". Results go to
# /host/out/<name>/ (the 9p share). The host writes /host/out/<name>/env with the daemon
# command lines and the mode; this script only reads it.
#
# Topology:
#   init netns = the server "nfsvm" (127.0.0.1, and 10.0.0.1 on veth0): kernel nfsd and lockd,
#                rpcbind, mountd and the recovery daemons under test. It is also an NFS client.
#   netns c1   = client host "client2" (10.0.0.2 on veth1), made by make_client_ns: its own
#                kernel NFS client and lockd instance, rpcbind, and its own NSM daemon.
#
# Recovery daemons: either ONE process serving cld and NSM ($NFSREC_CMD), or nfs-utils' pair
# ($STATD_CMD and $CLD_CMD). $NOTIFY_CMD runs at every server boot, as sm-notify does.
#
# Server crash (server_crash): SIGKILL of the recovery daemons first, so that no SM_UNMON and no
# upcall reaches any daemon; then NLM locks are dropped (unlock_ip), nfsd is stopped, its fs
# unmounted and the module reloaded (all in-memory state gone). /var/lib/nfs is kept, as on a
# real reboot. The client kernels keep running.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib/nfs  # server state, kept across emulated reboots
mount -t tmpfs tmpfs /export                # exported fs (/etc/exports gives it an fsid)
up() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[vm $(up)] $*"; }
elapsed() { echo "$(up) $1" | awk '{printf "%.1f", $1-$2}'; }

SCEN=$(sed -n 's/.*scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
log "init start scenario=$SCEN"
for ko in $(cat /modules.list); do insmod "$ko" || log "insmod $ko failed"; done
NFSD_KO=$(grep '/nfsd.ko' /modules.list)

OUT=/tmp/out/$SCEN
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /host; then OUT=/host/out/$SCEN
else log "9p mount failed; logs only in the VM"; fi
mkdir -p "$OUT"
# The binaries under test run from the VM's memory, as an installed package runs from a local
# disk: executed from the 9p share, each page of code is fetched from the host at its first use,
# and a daemon's cold start then took 1.4 s instead of 0.2 s (nfsd-before-daemon gives it less
# than a second to open the cld pipe).
if [ -d /host/bin ] && [ -n "$(ls /host/bin 2>/dev/null)" ]; then
    mkdir -p /run/host-bin && cp -a /host/bin/. /run/host-bin/ && mount -o bind /run/host-bin /host/bin \
        || log "copying /host/bin into memory failed; binaries run from the share"
fi
[ -f "$OUT/env" ] && . "$OUT/env"
: "${MODE:=nfs-utils}"
: "${LEASE:=15}"
: "${XFAIL:=}"
if [ "$MODE" = nfs-utils ]; then
    : "${CLD_CMD:=/usr/sbin/nfsdcld -F -d}"
    : "${STATD_CMD:=/sbin/rpc.statd -F -d --no-notify}"
    : "${C2_STATD_CMD:=/sbin/rpc.statd -F -d --no-notify}"
    : "${NOTIFY_CMD:=/sbin/sm-notify -f -d}"
fi
# Daemon log lines that the checks look for (extended regexps); empty = check skipped.
if [ "${LOG_PATTERNS:-$MODE}" = nfs-utils ]; then
    : "${PAT_CLD_CREATE=cld_create}"
    : "${PAT_CLD_SENT=Sending client}"
    : "${PAT_CLD_GRACEDONE=cld_gracedone}"
    : "${PAT_RECONCILE_ADDED=}"
    : "${PAT_NSM_MON=Received SM_MON for}"
    : "${PAT_NSM_NOTIFY_RX=Received SM_NOTIFY}"
    : "${PAT_NOTIFY_SENT=client2|10\.0\.0\.2}"
else
    # nfsrecd's log lines (with -d); override through the env knobs when they change
    : "${PAT_CLD_CREATE=cld: upcall Create}"
    : "${PAT_CLD_SENT=uploaded [1-9][0-9]* records}"
    : "${PAT_CLD_GRACEDONE=cld: upcall GraceDone}"
    : "${PAT_RECONCILE_ADDED=cld: reconciliation: [0-9]+ live clients, [1-9][0-9]* records added}"
    : "${PAT_NSM_MON=MONITORING}"
    : "${PAT_NSM_NOTIFY_RX=Received SM_NOTIFY}"
    : "${PAT_NOTIFY_SENT=Host (client2|10\.0\.0\.2) notified}"
fi
# C2_NFSREC_CMD: the single daemon of client2 when the server runs one ($NFSREC_CMD).
: "${C2_NFSREC_CMD:=$NFSREC_CMD}"
if [ -n "$NFSREC_CMD" ]; then CLD_LOG=$OUT/nfsrec.log; NSM_LOG=$OUT/nfsrec.log
else CLD_LOG=$OUT/cld.log; NSM_LOG=$OUT/statd.log; fi
# The mode's server command lines, for the switch scenarios (server_daemons).
MODE_NFSREC_CMD=$NFSREC_CMD MODE_NOTIFY_CMD=$NOTIFY_CMD
NOTIFY_LOG=$OUT/notify.log
C2_LOG=$OUT/c2-daemon.log
SERVER_IPS="127.0.0.1 10.0.0.1"

FAILS=0 PASSES=0 XFAILS=0 XPASSES=0 SKIPS=0
finish() {
    echo "fails=$FAILS passes=$PASSES xfails=$XFAILS xpasses=$XPASSES skips=$SKIPS" > "$OUT/result"
    echo $((FAILS + XPASSES)) > "$OUT/rc"
    cat /proc/locks > "$OUT/proc-locks-end.txt" 2>/dev/null
    ps > "$OUT/ps-end.txt"
    dmesg > "$OUT/dmesg.txt"
    log "SCENARIO $SCEN: fails=$FAILS passes=$PASSES xfails=$XFAILS xpasses=$XPASSES skips=$SKIPS"
    sync; umount /host 2>/dev/null
    poweroff -f
}

# ------------------------------------------------------------------ checks
check() {  # check "<description>" <command...>
    d=$1; shift
    if "$@"; then PASSES=$((PASSES + 1)); log "PASS: $d"
    else FAILS=$((FAILS + 1)); log "FAIL: $d"; fi
}
xfail_expected() { case " $XFAIL " in *" $SCEN "*) return 0 ;; esac; return 1; }
# A check that a known gap of a daemon fails: issue 6 (v4.0 clients after a second reboot).
# With the scenario listed in $XFAIL, a failure is expected (XFAIL) and a pass is news (XPASS,
# counted as a failure so that the expectation gets updated).
gapcheck() {
    d=$1; shift
    if "$@"; then
        if xfail_expected; then XPASSES=$((XPASSES + 1)); log "XPASS: $d (expected to fail in $MODE mode)"
        else PASSES=$((PASSES + 1)); log "PASS: $d"; fi
    else
        if xfail_expected; then XFAILS=$((XFAILS + 1)); log "XFAIL: $d (expected in $MODE mode)"
        else FAILS=$((FAILS + 1)); log "FAIL: $d"; fi
    fi
}
# A check on a daemon's own log. The patterns are per mode; without one the check is skipped,
# because the kernel-side checks are what decide.
logcheck() {  # logcheck "<description>" <log file> "<pattern>" [since-start]
    if [ -z "$3" ]; then SKIPS=$((SKIPS + 1)); log "SKIP: $1 (no log pattern in $MODE mode)"; return; fi
    if [ "$4" = since-start ]; then check "$1" log_since_start_has "$2" "$3"
    else check "$1" grep -qE "$3" "$2"; fi
}
# Lines of a daemon log since its last start marker.
log_since_start() { awk '/^=== start/{b=""} {b=b $0 "\n"} END{printf "%s", b}' "$1" 2>/dev/null; }
log_since_start_has() { log_since_start "$1" | grep -qE "$2"; }
info() { log "info: $*"; }
not() { ! "$@"; }
wait_until() {  # wait_until <seconds> <command...>: poll every 0.5 s
    n=$(($1 * 2)); shift
    while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.5; n=$((n - 1)); done
    "$@"
}
wait_grep() { wait_until "$3" grep -q "$1" "$2"; }
# Kernel log lines with a timestamp > $1 (seconds since boot): "<timestamp> <text>".
dmesg_ts_since() {
    dmesg | sed -n 's/^\[ *\([0-9.]*\)\] \(.*\)/\1 \2/p' | awk -v t="$1" '$1 > t'
}
dmesg_since() { dmesg_ts_since "$1" | sed 's/^[^ ]* //'; }
dmesg_since_has() { dmesg_since "$1" | grep -qE "$2"; }
# Log the kernel's lines about client tracking, grace, NLM and lost locks that were not logged
# yet (debug output of nfsd is left out).
KLINES_T=0
kernel_lines() {
    dmesg_ts_since "$KLINES_T" > /tmp/klines
    grep -E '^[^ ]* (NFSD: |NLM: |NFS: [0-9]|lockd: cannot)' /tmp/klines | grep -v 'NFSD: nfsd4_' |
        while read -r t l; do log "kernel [$t]: $l"; done
    t=$(tail -n 1 /tmp/klines | cut -d' ' -f1)
    [ -n "$t" ] && KLINES_T=$t
}
# Status of every NFSv4 operation the server answers (tracepoint nfsd:nfsd_compound_status).
TRACEFS=/sys/kernel/tracing
trace_ops_start() {
    grep -q " $TRACEFS " /proc/mounts || mount -t tracefs tracefs $TRACEFS
    echo > $TRACEFS/trace
    echo 1 > $TRACEFS/events/nfsd/nfsd_compound_status/enable
}
trace_ops_stop() {  # trace_ops_stop <file>
    echo 0 > $TRACEFS/events/nfsd/nfsd_compound_status/enable
    cat $TRACEFS/trace > "$1"
}
# One info line per OPEN, LOCK and RECLAIM_COMPLETE status in a trace_ops_stop file, with its count.
trace_ops_summary() {  # trace_ops_summary <file>
    grep -oE '(OPEN|LOCK|RECLAIM_COMPLETE) status=-?[0-9]+' "$1" | sort | uniq -c |
        while read -r l; do info "nfsd answered (count op status): $l"; done
}
# nfsd refused a reclaim: 10034 = NFS4ERR_RECLAIM_BAD, 10033 = NFS4ERR_NO_GRACE (the operation
# name, e.g. "OPEN ", narrows it).
reclaim_refused() {  # reclaim_refused <file> [op]
    grep -qE "${2:-}status=(10034|10033)" "$1"
}
tracking_is_cld() { case "$TRACKING" in *nfsdcld*) return 0 ;; esac; return 1; }
grace_ended() { [ "$(cat /proc/fs/nfsd/v4_end_grace 2>/dev/null)" = Y ]; }
grace_on() { [ "$(cat /proc/fs/nfsd/v4_end_grace 2>/dev/null)" = N ]; }

# ------------------------------------------------------------------ server state directory
# Everything under /var/lib/nfs except the rpc_pipefs mount is "the daemons' stable storage".
state_files() { for f in /var/lib/nfs/* /var/lib/nfs/.[!.]*; do [ -e "$f" ] || continue; [ "$f" = /var/lib/nfs/rpc_pipefs ] || echo "$f"; done; }
state_layout() { mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/nfsdcld; }
state_wipe() { state_files | while read -r f; do rm -rf "$f"; done; state_layout; }
state_save() { rm -rf /tmp/state-snap; mkdir -p /tmp/state-snap; state_files | while read -r f; do cp -a "$f" /tmp/state-snap/; done; }
state_restore() { state_wipe; cp -a /tmp/state-snap/. /var/lib/nfs/; }

# ------------------------------------------------------------------ recovery daemons
DAEMON_PIDS=""
# Run a command line (word splitting and quotes as the shell does) in the background in its own
# session, appending to a log with a start marker. Sets BG_PID (= the session and group id).
run_bg() {  # run_bg <log> <command line>
    echo "=== start $(up)" >> "$1"
    ( eval "exec setsid $2" ) >> "$1" 2>&1 &
    BG_PID=$!
}
start_daemons() {
    if [ -n "$NFSREC_CMD" ]; then
        run_bg "$CLD_LOG" "$NFSREC_CMD"; DAEMON_PIDS=$BG_PID
    else
        run_bg "$NSM_LOG" "$STATD_CMD"; DAEMON_PIDS=$BG_PID
        run_bg "$CLD_LOG" "$CLD_CMD"; DAEMON_PIDS="$DAEMON_PIDS $BG_PID"
    fi
}
stop_daemons() {  # stop_daemons [SIGNAL]: default KILL (a crash)
    for p in $DAEMON_PIDS; do kill -"${1:-KILL}" -"$p" 2>/dev/null; kill -"${1:-KILL}" "$p" 2>/dev/null; done
    for p in $DAEMON_PIDS; do wait "$p" 2>/dev/null; done
    DAEMON_PIDS=""
}
# CPU time (utime+stime, in ticks of 10 ms) the running daemons have used.
daemon_cpu_ticks() {
    t=0
    for p in $DAEMON_PIDS; do
        set -- $(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null)
        t=$((t + ${1:-0} + ${2:-0}))
    done
    echo "$t"
}
daemons_alive() {
    [ -n "$DAEMON_PIDS" ] || return 1
    for p in $DAEMON_PIDS; do [ -r "/proc/$p/stat" ] || return 1; done
}
restart_daemons() { stop_daemons "${1:-TERM}"; start_daemons; }
# As start_daemons, but each daemon is exec'd <seconds> later (0: at once), in the background.
start_daemons_after() {  # start_daemons_after <seconds>
    if [ "$1" = 0 ]; then start_daemons; return; fi
    if [ -n "$NFSREC_CMD" ]; then
        run_bg "$CLD_LOG" "sh -c 'sleep $1; exec $NFSREC_CMD'"; DAEMON_PIDS=$BG_PID
    else
        run_bg "$NSM_LOG" "sh -c 'sleep $1; exec $STATD_CMD'"; DAEMON_PIDS=$BG_PID
        run_bg "$CLD_LOG" "sh -c 'sleep $1; exec $CLD_CMD'"; DAEMON_PIDS="$DAEMON_PIDS $BG_PID"
    fi
}
# Which recovery daemons the server runs from its next start on, for the switch scenarios:
# "nfs-utils" (Debian's rpc.statd, nfsdcld and sm-notify as nfs-utils mode runs them) or
# "nfsrecd" (the mode's NFSREC_CMD and NOTIFY_CMD). client2's daemon is not changed.
server_daemons() {  # server_daemons nfs-utils|nfsrecd
    case "$1" in
        nfs-utils)
            NFSREC_CMD=""
            : "${CLD_CMD:=/usr/sbin/nfsdcld -F -d}"
            : "${STATD_CMD:=/sbin/rpc.statd -F -d --no-notify}"
            NOTIFY_CMD="/sbin/sm-notify -f -d"
            CLD_LOG=$OUT/cld.log; NSM_LOG=$OUT/statd.log ;;
        nfsrecd)
            NFSREC_CMD=$MODE_NFSREC_CMD; NOTIFY_CMD=$MODE_NOTIFY_CMD
            CLD_LOG=$OUT/nfsrec.log; NSM_LOG=$OUT/nfsrec.log ;;
    esac
    log "server daemons from the next start on: $1 (notify: $NOTIFY_CMD)"
}
# The NSM service answers an RPC NULL call through rpcbind (a killed daemon's stale
# registration fails this until the new daemon has registered).
nsm_answers() { rpcinfo -u 127.0.0.1 100024 1 > /dev/null 2>&1; }

# ------------------------------------------------------------------ server control
MOUNTD_PID=""
nfsd_start() {
    grep -q ' /proc/fs/nfsd ' /proc/mounts || mount -t nfsd nfsd /proc/fs/nfsd || log "nfsd fs mount failed"
    # short lease and grace so that scenarios run fast (must be set before nfsd starts)
    echo "$LEASE" > /proc/fs/nfsd/nfsv4leasetime
    echo "${GRACE:-$LEASE}" > /proc/fs/nfsd/nfsv4gracetime
    exportfs -ra 2>> "$OUT/exportfs.log"
    rpc.mountd -F -d all >> "$OUT/mountd.log" 2>&1 &
    MOUNTD_PID=$!
    sleep 0.5
    # START_WITH_NFSD=<seconds>: the daemons start as rpc.nfsd does (0), or that much after it.
    [ -n "${START_WITH_NFSD:-}" ] && start_daemons_after "$START_WITH_NFSD"
    T0=$(up)
    rpc.nfsd 2 >> "$OUT/rpc.nfsd.log" 2>&1 || log "rpc.nfsd failed: $(tail -3 "$OUT/rpc.nfsd.log")"
    NFSD_T=$T0
    log "nfsd up: threads=$(cat /proc/fs/nfsd/threads) versions=$(cat /proc/fs/nfsd/versions)"
    kernel_lines
    # The kernel waits about 1 s for a process to open the cld pipe, then silently falls back
    # (nfsdcltrack helper, legacy v4recovery dir, then no tracking at all).
    TRACKING=$(dmesg_since "$T0" | grep -o 'NFSD: Using .* client tracking operations' | tail -1)
}
# Boot of the server: sm-notify-like notification, daemons, then nfsd (daemons first, as the
# systemd units order them; DAEMONS_AFTER_NFSD=1 reverses it for the nfsd-first scenario).
server_start() {
    run_bg "$NOTIFY_LOG" "$NOTIFY_CMD"
    if [ "${DAEMONS_AFTER_NFSD:-0}" = 1 ]; then
        nfsd_start
        return
    fi
    if [ -n "${START_WITH_NFSD:-}" ]; then
        nfsd_start
        check "NSM service answers (rpcinfo -u 127.0.0.1 status)" wait_until 10 nsm_answers
        check "kernel uses the cld daemon ('$TRACKING')" tracking_is_cld
        check "kernel did not log 'Unable to initialize client recovery tracking'" \
            not dmesg_since_has "$T0" 'Unable to initialize client recovery tracking'
        return
    fi
    start_daemons
    check "NSM service answers (rpcinfo -u 127.0.0.1 status)" wait_until 10 nsm_answers
    nfsd_start
    check "kernel uses the cld daemon ('$TRACKING')" tracking_is_cld
}
server_crash() {
    log "--- SERVER CRASH"
    stop_daemons KILL
    kill -9 $MOUNTD_PID 2>/dev/null; wait $MOUNTD_PID 2>/dev/null
    # lockd keeps running for the clients in this kernel, so stopping nfsd does not drop the NLM
    # locks that live hosts hold; drop them as a reboot would
    for ip in $SERVER_IPS; do echo $ip > /proc/fs/nfsd/unlock_ip; done
    rpc.nfsd 0
    exportfs -f 2>/dev/null
    umount /proc/fs/nfsd
    i=0; while [ -d /sys/module/nfsd ] && [ $i -lt 20 ]; do rmmod nfsd 2>/dev/null || sleep 0.5; i=$((i + 1)); done
    if [ ! -d /sys/module/nfsd ]; then insmod "$NFSD_KO" || log "insmod nfsd failed"
    else log "rmmod nfsd failed (state only reset by rpc.nfsd 0)"; fi
}
server_reboot() {  # server_reboot [wipe|restore]: crash, optional change of the state dir, boot
    server_crash
    case "$1" in
        wipe) state_wipe; log "state dir wiped (negative control)" ;;
        restore) state_restore; log "state dir rolled back to the saved copy" ;;
    esac
    server_boot
}
server_boot() {  # the boot half of server_reboot
    REBOOT_T=$(up)
    server_start
    log "--- SERVER REBOOT done"
}

# ------------------------------------------------------------------ server-side views
dump_nfsd_clients() {
    for c in /proc/fs/nfsd/clients/*; do
        [ -d "$c" ] || continue
        echo "--- $c"; cat "$c/info"; cat "$c/states"
    done
}
# v4_lock_held <client name part> <file>: the server holds a v4 lock on /export/<file> for a
# client whose name contains the given part ("NFSv4.0 nfsvm", "client2", ...).
v4_lock_held() {
    for c in /proc/fs/nfsd/clients/*; do
        [ -f "$c/info" ] || continue
        grep -q "^name: .*$1" "$c/info" || continue
        grep -q "type: lock, .*filename: \"/$2\"" "$c/states" && return 0
    done
    return 1
}
# /proc/locks pattern (" MAJ:MIN:INO ", hex) of a file on the exported fs
srvlock_pat() {
    mm=$(awk '$5=="/export"{print $3}' /proc/self/mountinfo)
    printf ' %02x:%02x:%s ' "${mm%%:*}" "${mm##*:}" "$(stat -c %i "/export/$1")"
}
nlm_lock_held() { grep -q "$(srvlock_pat "$1")" /proc/locks; }

# ------------------------------------------------------------------ clients
# hold <file> <logname> [prefix...]: a lock holder in its own process group; sets HOLDER
hold() {
    f=$1; l=$2; shift 2
    rm -f "$OUT/$l"    # else wait_grep may see an old LOCKED before the redirect truncates it
    setsid "$@" flock -x "$f" -c "echo LOCKED \$(cut -d' ' -f1 /proc/uptime); exec sleep 1000" > "$OUT/$l" 2>&1 &
    HOLDER=$!
}
unhold() { kill -TERM -"$1" 2>/dev/null; kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
umnt() { i=0; while ! umount "$1" 2>/dev/null; do i=$((i + 1)); [ $i -ge 20 ] && { log "umount $1 failed"; return 1; }; sleep 0.5; done; }
# A lock attempt by another client that the server must refuse. flock -n returns only when the
# server answers: NFS4ERR_GRACE is retried by the client until grace ends.
denied() { ! timeout "${2:-60}" flock -n -x "$1" true; }
poke() { timeout 30 ls -l "$1" > /dev/null 2>&1; }

# Client host "client2": its own net, mount and uts namespaces (a distinct NFSv4 client owner and
# NLM host, so conflicts are decided by the server), with its own rpcbind and NSM daemon.
# NB: busybox ash runs its own applets before PATH: iproute2 must be called as /sbin/ip.
C1=""
make_client_ns() {
    unshare -n -m -u --propagation private sleep 100000 &
    C1=$!
    sleep 0.3
    /sbin/ip link add veth0 type veth peer name veth1
    /sbin/ip link set veth1 netns $C1
    /sbin/ip addr add 10.0.0.1/24 dev veth0; /sbin/ip link set veth0 up
    # drop the copies of the server mounts (an nfsd fs mount here would pin the nfsd module);
    # the namespace gets its own rpc_pipefs (per netns) and an empty /var/lib/nfs
    nsenter -t $C1 -n -m -u sh -c '
        hostname client2
        /sbin/ip link set lo up; /sbin/ip addr add 10.0.0.2/24 dev veth1; /sbin/ip link set veth1 up
        umount /proc/fs/nfsd; umount /var/lib/nfs/rpc_pipefs
        mount -t tmpfs tmpfs /run; mount -t tmpfs -o mode=0755 tmpfs /var/lib/nfs
        mkdir -p /run/rpcbind /var/lib/nfs/rpc_pipefs /var/lib/nfs/sm /var/lib/nfs/sm.bak /var/lib/nfs/nfsdcld
        mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
        mkdir -p /mnt/c2v4 /mnt/c2v3 /mnt/c2v41'
    if [ -n "$C2_NFSREC_CMD" ]; then C2_CMD=$C2_NFSREC_CMD; else C2_CMD=$C2_STATD_CMD; fi
    echo "=== start $(up)" >> "$C2_LOG"
    nsenter -t $C1 -n -m -u sh -c "rpcbind -f > $OUT/c2-rpcbind.log 2>&1 &
        sleep 0.3; ( exec $C2_CMD ) >> $C2_LOG 2>&1 &"
    ping -c1 -W2 10.0.0.2 > /dev/null && log "client2 netns up (10.0.0.2)" || log "client2 netns: ping failed"
    check "client2: NSM service answers" wait_until 10 c2 sh -c 'rpcinfo -u 127.0.0.1 100024 1 > /dev/null 2>&1'
}
c2() { nsenter -t $C1 -n -m -u "$@"; }
c2_poke() { c2 timeout 30 ls -l "$1" > /dev/null 2>&1; }
# Make client2 unreachable from the server (replies are dropped), as if it were partitioned.
cut_client2() { /sbin/ip route add blackhole 10.0.0.2/32; log "client2 cut off"; }
uncut_client2() { /sbin/ip route del blackhole 10.0.0.2/32; log "client2 reachable again"; }

# ------------------------------------------------------------------ boot
ip link set lo up
hostname nfsvm
state_layout
mkdir -p /run/rpcbind
mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs || log "rpc_pipefs mount failed"
# lockd's grace (nlm_grace_period rounded up to nlm_timeout) also blocks new NFSv4 locks. At the
# first boot nothing is to be reclaimed, so it is made short there; every later lockd start
# (after an emulated reboot) gets 10 s so that NLM clients can reclaim.
echo 3 > /proc/sys/fs/nfs/nlm_timeout; echo 3 > /proc/sys/fs/nfs/nlm_grace_period   # 3 = minimum
# No delegations (nfsd needs leases for them): with one, the client caches locks locally and
# the server never sees them.
echo "${LEASES_ENABLE:-0}" > /proc/sys/fs/leases-enable
rpcbind -f > "$OUT/rpcbind.log" 2>&1 &
sleep 0.3
log "mode=$MODE lease=$LEASE nfsrec='$NFSREC_CMD' cld='$CLD_CMD' statd='$STATD_CMD' notify='$NOTIFY_CMD'"

. /vm-scenarios.sh
. /vm-cluster.sh

[ "$SCEN" = nfsd-first ] && DAEMONS_AFTER_NFSD=1
# Issue 13: every server start of these scenarios starts the daemons with nfsd (nfsd_start).
case "$SCEN" in
    start-together) START_WITH_NFSD=0 ;;
    nfsd-before-daemon) START_WITH_NFSD=0.5 ;;
esac
# before_<scenario> (optional) sets up the first server start, e.g. which daemons it runs.
bfn=before_$(echo "$SCEN" | tr - _)
if type "$bfn" > /dev/null 2>&1; then "$bfn"; fi
case "$SCEN" in
    early-grace|reboot-in-grace) GRACE=30 ;;
esac
if [ "$SCEN" = shell ]; then server_start; setsid cttyhack sh; finish 0; fi
server_start
DAEMONS_AFTER_NFSD=0
echo 10 > /proc/sys/fs/nfs/nlm_timeout; echo 10 > /proc/sys/fs/nfs/nlm_grace_period
rpcinfo -p 127.0.0.1 > "$OUT/rpcinfo.txt" 2>&1
fn=scenario_$(echo "$SCEN" | tr - _)
if type "$fn" > /dev/null 2>&1; then "$fn"
else log "FAIL: unknown scenario '$SCEN'"; FAILS=$((FAILS + 1)); fi
log "total VM uptime $(up)s"
finish
