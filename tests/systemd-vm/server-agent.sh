#!/bin/sh
# server-agent.sh - runs at every boot of the server VM (sysvm-agent.service, from the host
# share), once systemd has reached multi-user.target. The boot count, kept on the share, picks
# the step. With a package in /host/deb:
#   boot 1  nfs-utils as Debian ships it; the client takes its v3 and v4 locks; then
#           apt install ./nfsrecd_*.deb, nfsrecd-switch nfsrecd with the locks held, checks of the
#           units, the process and its privileges, and that nfsrecd recorded the live v4 client;
#           reboot
#   boot 2  the client reclaims under nfsrecd; nfsrecd-switch nfs-utils; reboot
#   boot 3  the client reclaims under nfs-utils again; rpc.statd's uid and capabilities; the end
# Without a package (the nfs-utils baseline): boot 1 as above up to the locks, reboot; boot 2 the
# client reclaims under nfs-utils; the end.
# A reboot is `systemctl reboot` (SYSVM_REBOOT=systemctl, the default) or a crash
# (SYSVM_REBOOT=crash: sysrq b, no shutdown at all). /host/env (written by the host) sets the
# knobs.
VM=server
. /host/sysvm-lib.sh
[ -f /host/env ] && . /host/env
: "${SYSVM_REBOOT:=systemctl}"
mkdir -p /host/state
BOOT=$(($(cat /host/state/boots 2>/dev/null || echo 0) + 1))
echo "$BOOT" > /host/state/boots
FAILS=$(cat /host/state/fails 2>/dev/null || echo 0)
PASSES=$(cat /host/state/passes 2>/dev/null || echo 0)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
EXPORT=/srv/export
log "=== server boot $BOOT (systemd $(systemctl --version | head -1 | cut -d' ' -f2), kernel $(uname -r))"

# ------------------------------------------------------------------ views of the server
# "MAJ:MIN:INO" of a file of the export (on the root fs): hex device numbers and the decimal inode,
# as /proc/locks and the "superblock" field of /proc/fs/nfsd/clients/*/states print it
file_id() {
    mm=$(awk '$5=="/"{print $3; exit}' /proc/self/mountinfo)
    printf '%02x:%02x:%s' "${mm%%:*}" "${mm##*:}" "$(stat -c %i "$EXPORT/$1")"
}
# v4_lock_held <client name part> <file>: nfsd holds a v4 lock on <file> for that client. By
# device and inode: after a reclaim (by file handle) nfsd shows the file's name as "/".
v4_lock_held() {
    for c in /proc/fs/nfsd/clients/*; do
        [ -f "$c/info" ] || continue
        grep -q "^name: .*$1" "$c/info" || continue
        grep -q "type: lock, superblock: \"$(file_id "$2")\"" "$c/states" && return 0
    done
    return 1
}
nlm_lock_held() { grep -q " $(file_id "$1") " /proc/locks; }
dump_state() {  # dump_state <tag>
    {
        echo "--- /proc/locks"; cat /proc/locks
        for c in /proc/fs/nfsd/clients/*; do
            [ -d "$c" ] || continue
            echo "--- $c"; cat "$c/info" "$c/states"
        done
        echo "--- /var/lib/nfs"; ls -laR /var/lib/nfs 2>/dev/null | grep -v rpc_pipefs
    } > "$OUT/server-state-$1.txt" 2>&1
}
unit_id() { systemctl show -p Id --value "$1"; }
unit_active() { [ "$(systemctl is-active "$1")" = active ]; }
no_process() { ! pgrep -x "$1" > /dev/null; }
kernel_has() { dmesg | grep -qE "$1"; }
# status_field <pid> <field>: a line of /proc/<pid>/status, e.g. Uid or CapEff
status_field() { awk -v f="$2:" '$1==f{$1=""; sub(/^ /, ""); print}' "/proc/$1/status"; }
privileges() {  # privileges <name> <pid>: one line for the note
    info "$1 (pid $2): Uid $(status_field "$2" Uid) Gid $(status_field "$2" Gid)" \
        "CapEff $(status_field "$2" CapEff) CapPrm $(status_field "$2" CapPrm) CapBnd $(status_field "$2" CapBnd)" \
        "= [$(capsh --decode="$(status_field "$2" CapEff)" | cut -d= -f2)]"
}
save_evidence() {
    journalctl -b -o short-monotonic --no-pager -u nfs-server -u rpc-statd -u nfsdcld -u rpc-statd-notify \
        -u nfsrecd -u nfsrecd-notify -u nfs-mountd -u rpcbind > "$OUT/server-journal-boot$BOOT.txt" 2>&1
    dmesg > "$OUT/server-dmesg-boot$BOOT.txt"
    systemctl list-units --no-pager --all 'rpc*' 'nfs*' > "$OUT/server-units-boot$BOOT.txt" 2>&1
    ps -eo pid,user,comm,args > "$OUT/server-ps-boot$BOOT.txt"
    { systemd-analyze; systemd-analyze blame | head -20; systemd-analyze critical-chain sysvm-agent.service; } \
        > "$OUT/server-boot-time-boot$BOOT.txt" 2>&1
}
save_counts() { echo "$FAILS" > /host/state/fails; echo "$PASSES" > /host/state/passes; }
reboot_server() {
    save_evidence
    save_counts
    signal "reboot-$BOOT"
    log "--- reboot ($SYSVM_REBOOT)"
    if [ "$SYSVM_REBOOT" = crash ]; then sync; sleep 1; echo b > /proc/sysrq-trigger
    else systemctl reboot; fi
    exit 0
}
the_end() {
    save_evidence
    echo "fails=$FAILS passes=$PASSES" > "$OUT/server.result"
    save_counts
    signal finished
    log "server done: fails=$FAILS passes=$PASSES"
    await client-done 120
    systemctl poweroff
    exit 0
}

# ------------------------------------------------------------------ checks of one service set
nfs_utils_running() {
    check "boot $BOOT: nfs-server.service active" unit_active nfs-server.service
    check "boot $BOOT: rpc-statd.service is nfs-utils' own" [ "$(unit_id rpc-statd.service)" = rpc-statd.service ]
    check "boot $BOOT: rpc-statd.service active" unit_active rpc-statd.service
    check "boot $BOOT: nfsdcld.service active" unit_active nfsdcld.service
    check "boot $BOOT: rpc.statd runs" pgrep -x rpc.statd
    check "boot $BOOT: nfsdcld runs" pgrep -x nfsdcld
    check "boot $BOOT: no nfsrecd process" no_process nfsrecd
    check "boot $BOOT: the kernel uses nfsdcld client tracking" kernel_has 'NFSD: Using nfsdcld client tracking'
}
nfsrecd_running() {
    check "boot $BOOT: nfs-server.service active" unit_active nfs-server.service
    check "boot $BOOT: rpc-statd.service is nfsrecd.service ($(unit_id rpc-statd.service))" \
        [ "$(unit_id rpc-statd.service)" = nfsrecd.service ]
    check "boot $BOOT: nfsdcld.service is nfsrecd.service ($(unit_id nfsdcld.service))" \
        [ "$(unit_id nfsdcld.service)" = nfsrecd.service ]
    check "boot $BOOT: rpc-statd-notify.service is nfsrecd-notify.service ($(unit_id rpc-statd-notify.service))" \
        [ "$(unit_id rpc-statd-notify.service)" = nfsrecd-notify.service ]
    check "boot $BOOT: nfsrecd.service active" unit_active nfsrecd.service
    check "boot $BOOT: rpc-statd.service and nfsdcld.service active" sh -c \
        '[ "$(systemctl is-active rpc-statd.service nfsdcld.service | sort -u)" = active ]'
    ts=$(systemctl show -p Type,NotifyAccess nfsrecd.service | tr '\n' ' ')
    check "boot $BOOT: nfsrecd.service Type=notify ($ts)" sh -c "echo '$ts' | grep -q 'Type=notify'"
    check "boot $BOOT: NotifyAccess is not none ($ts)" sh -c "! echo '$ts' | grep -q 'NotifyAccess=none'"
    # Type=notify: the unit became active at READY=1, after the start-up work the daemon logs
    start=$(systemctl show -p ExecMainStartTimestampMonotonic --value nfsrecd.service)
    active=$(systemctl show -p ActiveEnterTimestampMonotonic --value nfsrecd.service)
    info "nfsrecd.service: started at ${start}us, active at ${active}us (monotonic)"
    check "boot $BOOT: nfsrecd.service went active after its main process started (READY=1)" \
        [ "${active:-0}" -gt "${start:-0}" ]
    # READY=1 comes once the listeners are up and the cld pipe is held or watched: at boot the
    # pipe may appear only when nfsd starts, so the first cld line (opened or waiting) counts.
    # Compared in realtime microseconds: journald stamps a syslog line's realtime with the time
    # it was sent, but its monotonic time with when journald got to it (seconds later at a
    # loaded boot).
    active_rt=$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1/unit/nfsrecd_2eservice \
        org.freedesktop.systemd1.Unit ActiveEnterTimestamp | cut -d' ' -f2)
    jl=$(journalctl -b -u nfsrecd.service -o short-unix --no-pager)
    for l in "$(echo "$jl" | grep -E 'Listening on' | tail -1)" "$(echo "$jl" | grep -E 'cld: (opened|waiting)' | head -1)"; do
        if [ -z "$l" ]; then info "no such start-up line of nfsrecd in the journal"; continue; fi
        t=$(echo "$l" | sed -n 's/^\([0-9]*\)\.\([0-9]\{6\}\) .*/\1\2/p')
        check "boot $BOOT: start-up line before the unit's activation at ${active_rt}us ($l)" [ "${t:-0}" -le "${active_rt:-0}" ]
    done
    for p in rpc.statd sm-notify nfsdcld; do check "boot $BOOT: no $p process" no_process $p; done
    check "boot $BOOT: rpcinfo -p shows 100024 (status)" sh -c 'rpcinfo -p | grep -qw 100024'
    check "boot $BOOT: the kernel uses cld client tracking" kernel_has 'NFSD: Using nfsdcld client tracking'
    pid=$(systemctl show -p MainPID --value nfsrecd.service)
    smuid=$(stat -c %u /var/lib/nfs/sm)
    check "boot $BOOT: nfsrecd runs as the owner of /var/lib/nfs/sm (uid $smuid)" \
        sh -c "[ \"\$(awk '\$1==\"Uid:\"{print \$2\$3\$4\$5}' /proc/$pid/status)\" = '$smuid$smuid$smuid$smuid' ]"
    check "boot $BOOT: nfsrecd CapEff is cap_net_bind_service only" [ "$(status_field "$pid" CapEff)" = 0000000000000400 ]
    check "boot $BOOT: nfsrecd CapPrm is cap_net_bind_service only" [ "$(status_field "$pid" CapPrm)" = 0000000000000400 ]
    # the bounding set is emptied, as rpc.statd does: nothing it runs can regain a capability
    check "boot $BOOT: nfsrecd CapBnd is empty" [ "$(status_field "$pid" CapBnd)" = 0000000000000000 ]
    privileges nfsrecd "$pid"
    # what the daemon's reconciliation reads, as its own mount namespace shows it (a unit's
    # sandboxing may give it a /proc without nfsd's mount)
    check "boot $BOOT: nfsrecd's mount namespace shows /proc/fs/nfsd/clients" \
        nsenter -t "$pid" -m test -d /proc/fs/nfsd/clients
    check "boot $BOOT: nfsrecd logged no 'cannot read the kernel's client list'" \
        not sh -c "journalctl -b -u nfsrecd.service --no-pager | grep -q 'cannot read the kernel'"
    for p in $(systemctl show -p ControlGroup --value nfsrecd.service | xargs -I{} cat /sys/fs/cgroup{}/cgroup.procs); do
        [ "$p" = "$pid" ] || privileges "nfsrecd.service process $(cat /proc/$p/comm 2>/dev/null)" "$p"
    done
    # the privileged helper (kernel files, the cld pipe): uid 0 with CAP_DAC_READ_SEARCH only
    # (nfsd's client directories are mode 0600)
    hp=$(pgrep -P "$pid" -x nfsrecd-priv | head -1)
    check "boot $BOOT: the privileged helper runs (pid ${hp:-none})" [ -n "$hp" ]
    [ -n "$hp" ] && check "boot $BOOT: the privileged helper is uid 0 with cap_dac_read_search only" \
        [ "$(status_field "$hp" Uid)/$(status_field "$hp" CapEff)/$(status_field "$hp" CapPrm)/$(status_field "$hp" CapBnd)" = \
          "0 0 0 0/0000000000000004/0000000000000004/0000000000000000" ]
    check "boot $BOOT: nfsrecd logged no unreadable entry of the kernel's client list" \
        not sh -c "journalctl -b -u nfsrecd.service --no-pager | grep -q 'client list were unreadable'"
}

# ------------------------------------------------------------------ the client's locks
# After a boot: the client reclaims both locks, and another client's conflicting locks are
# refused. The other client is this host's own NFS client, over loopback.
reclaim_round() {  # reclaim_round <daemons>
    check "boot $BOOT: nfsd started a grace period (records of the client were kept)" \
        wait_until 60 kernel_has 'NFSD: starting [0-9]+-second grace period'
    check "boot $BOOT: the kernel did not skip grace" not kernel_has 'no clients to reclaim'
    signal "up-$BOOT"
    T=$(up)
    check "boot $BOOT ($1): client1's v4 lock reclaimed on the server" wait_until 120 v4_lock_held client1 f4
    info "v4 lock back $(echo "$(up) $T" | awk '{printf "%.1f", $1-$2}') s after the client was told"
    check "boot $BOOT ($1): client1's NLM lock reclaimed on the server" wait_until 120 nlm_lock_held f3
    info "NLM lock back $(echo "$(up) $T" | awk '{printf "%.1f", $1-$2}') s after the client was told"
    dump_state "boot$BOOT"
    mkdir -p /mnt/o4 /mnt/o3
    check "boot $BOOT: loopback NFSv4.2 mount (the other client)" mount -t nfs4 -o vers=4.2 127.0.0.1:$EXPORT /mnt/o4
    check "boot $BOOT: loopback NFSv3 mount (the other client)" mount -t nfs -o vers=3 127.0.0.1:$EXPORT /mnt/o3
    T=$(up)
    check "boot $BOOT ($1): the other client's conflicting v4 lock is refused" denied /mnt/o4/f4
    check "boot $BOOT ($1): the other client's conflicting v3 lock is refused" denied /mnt/o3/f3
    info "conflicting locks answered within $(echo "$(up) $T" | awk '{printf "%.1f", $1-$2}') s"
    umount /mnt/o4 /mnt/o3 || umount -l /mnt/o4 /mnt/o3
    signal "server-checked-$BOOT"
    await "client-checked-$BOOT" 120
    dmesg | grep -E 'NFSD: |lockd: |NLM: ' | while read -r l; do info "kernel: $l"; done
}

the_deb() { ls /host/deb/nfsrecd_*.deb 2>/dev/null | head -1; }
# "cld: reconciliation: N live clients, M records added": M > 0 once the live v4 client has its record
v4_client_recorded() {
    journalctl -b -u nfsrecd.service --no-pager |
        grep -qE 'import: nfsdcld .*: [1-9][0-9]* records; adopted|cld: reconciliation: [0-9]+ live clients, [1-9][0-9]* records added'
}
take_locks() {
    nfs_utils_running
    privileges rpc.statd "$(pgrep -x rpc.statd | head -1)"
    signal up-1
    await client-locked 300
    check "boot 1: the server holds client1's v4 lock" wait_until 30 v4_lock_held client1 f4
    check "boot 1: the server holds client1's NLM lock" wait_until 30 nlm_lock_held f3
    check "boot 1: rpc.statd monitors client1 (/var/lib/nfs/sm)" sh -c 'ls /var/lib/nfs/sm | grep -q .'
    dump_state boot1
}
# The package installed and nfsrecd switched in while client1 holds its locks.
install_and_switch() {
    deb=$1
    # apt reads the file as _apt: a copy outside the 9p share
    cp "$deb" /tmp/ && chmod 644 "/tmp/${deb##*/}"
    if ! (cd /tmp && apt-get install -y "./${deb##*/}") > "$OUT/server-apt.log" 2>&1; then
        check "apt install ./${deb##*/}" false
        the_end
    fi
    check "apt install ./${deb##*/}" true
    check "installing the package changes nothing: rpc-statd.service is still nfs-utils'" \
        [ "$(unit_id rpc-statd.service)" = rpc-statd.service ]
    check "installing the package changes nothing: rpc.statd still runs" pgrep -x rpc.statd
    check "nfsrecd-switch nfsrecd" sh -c "nfsrecd-switch nfsrecd > $OUT/server-switch-nfsrecd.log 2>&1"
    nfsrecd_running
    # a server that did not switch is not rebooted into the nfsrecd round
    unit_active nfsrecd.service || the_end
    # nfsdcld's database is taken over at start (nfs4rec/nfs_utils_import.h), or else the
    # reconciliation with the kernel's client list gives the v4 client its record, so a reboot
    # right after the switch keeps its reclaim
    check "boot $BOOT: nfsrecd recorded the live v4 client (nfsdcld's import or reconciliation)" wait_until 30 v4_client_recorded
    # SYSVM_SETTLE: seconds between the switch and the reboot (0: at once, as an admin might)
    [ "${SYSVM_SETTLE:-0}" -gt 0 ] && { info "waiting ${SYSVM_SETTLE}s before the reboot"; sleep "$SYSVM_SETTLE"; }
}

DEB=$(the_deb)
case "$BOOT:${DEB:+pkg}" in
1:pkg)
    take_locks
    install_and_switch "$DEB"
    reboot_server ;;
1:)
    take_locks
    info "no package in /host/deb: the nfs-utils baseline only"
    reboot_server ;;
2:pkg)
    nfsrecd_running
    reclaim_round nfsrecd
    check "nfsrecd-switch nfs-utils" sh -c "nfsrecd-switch nfs-utils > $OUT/server-switch-nfs-utils.log 2>&1"
    nfs_utils_running
    reboot_server ;;
2:)
    nfs_utils_running
    reclaim_round nfs-utils
    the_end ;;
3:pkg)
    nfs_utils_running
    reclaim_round nfs-utils
    privileges rpc.statd "$(pgrep -x rpc.statd | head -1)"
    the_end ;;
*)
    log "FAIL: unexpected boot $BOOT"; FAILS=$((FAILS + 1)); the_end ;;
esac
