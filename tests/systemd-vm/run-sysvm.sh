#!/bin/bash
# run-sysvm.sh - the systemd boot test: a Debian 12 NFS server VM (systemd as PID 1, the real
# kernel nfsd and lockd) switches from nfs-utils to nfsrecd and back across reboots, while a
# client VM holds NFSv3 and NFSv4 locks. See README.md.
#
# Usage:
#   run-sysvm.sh build    the images (build-image.sh; the kernel comes from the real-kernel suite)
#   run-sysvm.sh run      one run of the scenario
#   run-sysvm.sh all      build, then run (default)
# Exit: 0 when every check passed, 1 otherwise.
#
# Environment:
#   WORK=${TMPDIR:-/tmp}/nfsrec-systemd-vm   images and the share; results in $WORK/share/out/
#   RKWORK=$WORK/../nfsrec-realkernel        the real-kernel suite's work dir (kernel, client
#                                            initramfs); `run-vm.sh build` is run there if needed
#   NFSRECD_DEB=<path>        the package to install in the server; without it only the nfs-utils
#                             baseline runs (boot, locks, reboot, reclaim)
#   SYSVM_REBOOT=systemctl|crash  how the server reboots (crash: sysrq b, no shutdown)
#   SYSVM_SETTLE=0            seconds between `nfsrecd-switch nfsrecd` and the reboot
#   TIMEOUT=1800              wall-clock limit of the whole run (seconds)
#   SMP=1 SERVER_MEM=1024 CLIENT_MEM=512
#   SYSVM_MIRROR=http://deb.debian.org/debian   debootstrap's mirror
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-${TMPDIR:-/tmp}/nfsrec-systemd-vm}
RKWORK=${RKWORK:-$(dirname "$WORK")/nfsrec-realkernel}
SHARE=$WORK/share
TIMEOUT=${TIMEOUT:-1800}
SMP=${SMP:-1}
SERVER_MEM=${SERVER_MEM:-1024}
CLIENT_MEM=${CLIENT_MEM:-512}
SYSVM_REBOOT=${SYSVM_REBOOT:-systemctl}

# The package's dependencies go into the image: the VM has no network.
deb_depends() {
    [ -n "${NFSRECD_DEB:-}" ] || return 0
    # one field per call: with several, dpkg-deb prefixes each value with its name
    { dpkg-deb -f "$NFSRECD_DEB" Depends; dpkg-deb -f "$NFSRECD_DEB" Pre-Depends; } | tr ',' '\n' |
        sed 's/|.*//; s/(.*)//; s/:any//' | awk 'NF{print $1}' | sort -u
}

build() {
    local t0
    t0=$(date +%s)
    if [ ! -f "$RKWORK/initramfs.cpio" ] || [ ! -f "$RKWORK/kver" ]; then
        echo "run-sysvm: building the real-kernel suite's image in $RKWORK (kernel, client initramfs)"
        WORK=$RKWORK "$HERE/../realkernel/run-vm.sh" build
    fi
    # shellcheck disable=SC2046
    bash "$HERE/build-image.sh" "$WORK" "$RKWORK" $(deb_depends)
    echo "run-sysvm: images ready in $(($(date +%s) - t0))s"
}

# Print the evidence of a failed run: every check line, the journal of the units at each boot,
# the kernel's lines about NFSD and lockd, the client's check lines.
dump_failure() {
    local f
    echo "======== server check lines"
    grep -E 'PASS|FAIL|info|signal|===' "$SHARE/out/server.log" 2>/dev/null | tail -n 200 || true
    echo "======== client check lines"
    grep -E 'PASS|FAIL|info|signal' "$SHARE/out/client.log" 2>/dev/null | tail -n 80 || true
    for f in "$SHARE"/out/server-journal-boot*.txt; do
        [ -f "$f" ] || continue
        echo "======== ${f##*/} (last 80 lines)"; tail -n 80 "$f"
    done
    for f in "$SHARE"/out/server-dmesg-boot*.txt "$SHARE/out/client-dmesg.txt"; do
        [ -f "$f" ] || continue
        echo "======== ${f##*/}: lines about NFSD, lockd, NLM, lost locks"
        grep -E 'NFSD|nfsd|lockd|NLM|statd|NFS: ' "$f" | tail -n 60 || true
    done
    for f in server-apt.log server-switch-nfsrecd.log server-switch-nfs-utils.log client-statd.log; do
        [ -s "$SHARE/out/$f" ] || continue
        echo "======== $f (last 40 lines)"; tail -n 40 "$SHARE/out/$f"
    done
    echo "======== server console (last 60 lines)"; tail -n 60 "$(ls -t "$SHARE"/out/server-console-*.log | head -1)" 2>/dev/null || true
    echo "======== client console (last 30 lines)"; tail -n 30 "$SHARE/out/client-console.log" 2>/dev/null || true
}

# KVM when /dev/kvm is there and a kernel boots with it (nested set-ups may refuse the guest's
# MSRs); TCG otherwise. The probe boots the kernel without a root until its panic.
kvm_works() {
    [ -w /dev/kvm ] || return 1
    timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nographic -no-reboot -kernel "$WORK/vmlinuz" \
        -append "console=ttyS0 panic=-1" < /dev/null 2>&1 | grep -aq 'Kernel panic'
}

run() {
    [ -f "$WORK/server.img" ] || { echo "run-sysvm: no image; run '$0 build' first" >&2; exit 2; }
    rm -rf "$SHARE"; mkdir -p "$SHARE"/{sync,out,state,deb}
    install -m644 "$HERE/server-agent.sh" "$HERE/sysvm-lib.sh" "$SHARE/"
    [ -n "${NFSRECD_DEB:-}" ] && cp "$NFSRECD_DEB" "$SHARE/deb/"
    printf 'SYSVM_REBOOT=%s\nSYSVM_SETTLE=%s\n' "$SYSVM_REBOOT" "${SYSVM_SETTLE:-0}" > "$SHARE/env"
    cp --sparse=always "$WORK/server.img" "$WORK/run.img"
    local accel="-accel tcg,thread=multi -cpu max"
    if kvm_works; then accel="-accel kvm -cpu host"; fi
    echo "run-sysvm: accel '${accel}', reboot by $SYSVM_REBOOT, package: ${NFSRECD_DEB:-none (nfs-utils baseline only)}"
    local t0 rc=0
    t0=$(date +%s)
    # A private network namespace: the two VMs' qemu socket network uses its loopback only.
    export ACCEL=$accel WORK SHARE SMP SERVER_MEM CLIENT_MEM
    set +e
    timeout -k 10 "$TIMEOUT" unshare --net bash "$0" vms
    rc=$?
    set -e
    local wall=$(($(date +%s) - t0)) fails=0 f
    echo "run-sysvm: scenario wall time ${wall}s (timeout rc $rc)"
    for f in server client; do
        if [ -f "$SHARE/out/$f.result" ]; then echo "run-sysvm: $f $(cat "$SHARE/out/$f.result")"
        else echo "run-sysvm: $f: no result"; fails=$((fails + 1)); fi
    done
    fails=$((fails + $(cat "$SHARE"/out/server.log "$SHARE"/out/client.log 2>/dev/null | grep -c ' FAIL: ' || true)))
    grep -h ' info: ' "$SHARE/out/server.log" 2>/dev/null | grep -E 'Uid|lock back' || true
    rm -f "$WORK/run.img"
    if [ "$fails" != 0 ] || [ "$rc" != 0 ]; then
        dump_failure
        echo "systemd-vm: FAIL ($fails failed checks, ${wall}s); logs in $SHARE/out/"
        return 1
    fi
    echo "systemd-vm: PASS ($(grep -c ' PASS: ' "$SHARE/out/server.log") server and $(grep -c ' PASS: ' "$SHARE/out/client.log") client checks, ${wall}s)"
}

# Inside the private network namespace: the client VM, and the server VM once per boot. A reboot
# or crash of the server ends its qemu (-no-reboot) and the next boot is a new qemu on the same
# disk (a warm reset under TCG could hang in early boot); the client VM runs throughout, and the
# UDP socket network between the two does not care which qemu is on the other end.
vms() {
    ip link set lo up
    trap 'kill $(jobs -p) 2> /dev/null; exit 1' TERM INT
    # shellcheck disable=SC2086
    qemu-system-x86_64 $ACCEL -smp "$SMP" -m "$CLIENT_MEM" -nographic -no-reboot \
        -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd-client.cpio" -append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check" \
        -virtfs local,path="$SHARE",mount_tag=host,security_model=none,id=host \
        -netdev socket,id=n0,udp=127.0.0.1:10001,localaddr=127.0.0.1:10002 \
        -device virtio-net-pci,netdev=n0,mac=52:54:00:00:01:02,romfile= \
        < /dev/null > "$SHARE/out/client-console.log" 2>&1 &
    local c=$! n=1
    while [ $n -le 6 ]; do
        # shellcheck disable=SC2086
        qemu-system-x86_64 $ACCEL -smp "$SMP" -m "$SERVER_MEM" -nographic -no-reboot \
            -kernel "$WORK/vmlinuz" -initrd "$WORK/initrd-server.cpio" \
            -append "console=ttyS0 panic=-1 no_timer_check net.ifnames=0 loglevel=4 systemd.show_status=1" \
            -drive file="$WORK/run.img",format=raw,if=virtio \
            -virtfs local,path="$SHARE",mount_tag=host,security_model=none,id=host \
            -netdev socket,id=n0,udp=127.0.0.1:10002,localaddr=127.0.0.1:10001 \
            -device virtio-net-pci,netdev=n0,mac=52:54:00:00:01:01,romfile= \
            < /dev/null > "$SHARE/out/server-console-$n.log" 2>&1 &
        wait $!
        echo "run-sysvm: server qemu (boot $n) exited with $?"
        # the agent signals reboot-<boot> before it reboots; no signal: powered off, or failed
        [ -e "$SHARE/sync/reboot-$n" ] || break
        n=$((n + 1))
    done
    wait $c
    echo "run-sysvm: client qemu exited with $?"
}

case "${1:-all}" in
    vms) vms ;;
    build) build ;;
    run) run ;;
    all) build; run ;;
    *) echo "usage: $0 [build|run|all]" >&2; exit 2 ;;
esac
