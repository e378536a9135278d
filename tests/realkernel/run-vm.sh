#!/bin/bash
# run-vm.sh - boot Debian 12's kernel (real nfsd and lockd) under qemu TCG and run NFS
# reboot-recovery scenarios in it, one VM per scenario.
#
# Usage:
#   run-vm.sh build                 fetch the kernel and nfs-utils .debs (apt), build the initramfs
#   run-vm.sh run [scenario...]     boot one VM per scenario (JOBS at a time); default: every scenario
#   run-vm.sh all [scenario...]     build, then run
#   run-vm.sh shell                 boot a VM with the server up and an interactive shell on the console
# Exit code: the number of scenarios that failed (0 = all passed or failed as expected).
#
# Scenarios (vm-scenarios.sh):
#   v4 v40 v3 2host v4-lostdb                 the original set (v4-lostdb is a negative control)
#   mixed reboot-in-grace daemon-restart nfsd-first early-grace unrecorded   issue 5
#   v40-reboot2                               issue 6 (expected failure in nfs-utils mode)
#   start-together nfsd-before-daemon         issue 13: daemons started with nfsd, or 0.5 s after
#                                             it (inside the kernel's 1 s wait for the cld pipe)
#   takeover                                  rpc.statd -> nfsrecd at a reboot (nfsrecd mode only)
#   switch-in switch-out                      issue 11: nfs-utils -> nfsrecd and back at a reboot, with
#                                             v4.0, v4.1 and v3 locks held (nfsrecd mode only)
#   grace-length                              issue 13: a client gone before the reboot does not hold
#                                             grace open (asserted for nfsrecd only)
#   cluster                                   issue 14: instance i1's address moves from node A to
#                                             node B (two nfsd network namespaces, nfsrecd on etcd);
#                                             every v3 and v4 lock is reclaimed (nfsrecd mode only)
#   grace-upload                              issue 13: GraceStart upload of $SHARE/upload.sqlite
#                                             (bench/cld-bench populate; not in the default set)
#   custom                                    runs $SHARE/test.sh with the helpers of vm-init.sh (debugging)
#
# Environment knobs:
#   MODE=nfs-utils|nfsrecd      which recovery daemons run in the VM (default nfs-utils)
#   WORK=${TMPDIR:-/tmp}/nfsrec-realkernel   downloads, kernel tree, initramfs
#   SHARE=$WORK/share           host dir shared with the VM over 9p (/host in the VM); results
#                               (console.log, daemon logs, dmesg.txt, result) are written to
#                               $SHARE/out/<scenario>/, binaries are read from $SHARE/bin/
#   NFSRECD_BIN=<path>          host path of the nfsrecd binary; copied to $SHARE/bin/nfsrecd
#                               (/host/bin/nfsrecd in the VM). Static, or its shared libraries are
#                               copied into the image at build time.
#   NFSRECCTL_BIN=<path>        host path of nfsrecctl (switch-out exports with it, switch-in shows
#                               its listings); copied to $SHARE/bin/nfsrecctl, its shared libraries
#                               into the image at build time
#   nfsrecd mode (one process serves cld and NSM, a second mode replaces sm-notify):
#     NFSREC_CMD="$NFSREC_CMD_DEFAULT"
#     NOTIFY_CMD="$NOTIFY_CMD_NFSRECD"
#     C2_NFSREC_CMD=...         the daemon of the second client host (default: NFSREC_CMD)
#   nfs-utils mode:
#     CLD_CMD="/usr/sbin/nfsdcld -F -d"  STATD_CMD="/sbin/rpc.statd -F -d --no-notify"
#     C2_STATD_CMD="/sbin/rpc.statd -F -d --no-notify"  NOTIFY_CMD="/sbin/sm-notify -f -d"
#   PAT_CLD_CREATE PAT_CLD_SENT PAT_CLD_GRACEDONE PAT_RECONCILE_ADDED PAT_NSM_MON PAT_NSM_NOTIFY_RX
#   PAT_NOTIFY_SENT
#                               extended regexps for daemon log lines (defaults for both modes
#                               in vm-init.sh; an empty value skips that log check)
#   LOG_PATTERNS=nfs-utils|nfsrecd   which daemon's log lines those defaults match (default: MODE)
#   XFAIL="v40-reboot2 nfsd-first"  scenarios with known-gap checks expected to fail (default: those in
#                               nfs-utils mode, none in nfsrecd mode)
#   JOBS=3                      VMs at a time
#   TIMEOUT=300                 wall-clock limit of one VM
#   MEM=768 SMP=1 CPU=max LEASE=15      VM size; NFSv4 lease (and grace) in seconds
#   NLM_DEBUG=1                 lockd debug messages in dmesg during 2host
#
# Host prerequisites (Debian 12), only so that their binaries and libraries can be copied
# into the initramfs; no NFS service runs on the host:
#   apt-get install -y --no-install-recommends qemu-system-x86 busybox-static kmod cpio \
#       nfs-common rpcbind iproute2 util-linux
set -euo pipefail

# As Debian's units split it: the daemon with -L (rpc-statd.service sets
# RPC_STATD_NO_NOTIFY=1) and the sm-notify command at every boot.  The VM's
# "reboot" keeps the kernel's boot id, so the daemon would not notify by
# itself; the command is forced (-f) as the harness does for sm-notify, and
# tells the running daemon to reload.
NFSREC_CMD_DEFAULT="/host/bin/nfsrecd -F -d -L -P /var/lib/nfs --cld-pipe /var/lib/nfs/rpc_pipefs/nfsd/cld"
NOTIFY_CMD_NFSRECD="/host/bin/nfsrecd --sm-notify -d -f"
ALL_SCENARIOS="v4 v40 v3 2host v4-lostdb mixed reboot-in-grace daemon-restart nfsd-first early-grace unrecorded v40-reboot2 takeover switch-in switch-out start-together nfsd-before-daemon grace-length cluster"

WORK=${WORK:-${TMPDIR:-/tmp}/nfsrec-realkernel}
SHARE=${SHARE:-$WORK/share}
MODE=${MODE:-nfs-utils}
TIMEOUT=${TIMEOUT:-300}
MEM=${MEM:-768}
SMP=${SMP:-1}
CPU=${CPU:-max}
JOBS=${JOBS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)

case "$MODE" in
    nfs-utils)
        XFAIL=${XFAIL-v40-reboot2 nfsd-first} ;;
    nfsrecd)
        NFSREC_CMD=${NFSREC_CMD:-$NFSREC_CMD_DEFAULT}
        NOTIFY_CMD=${NOTIFY_CMD:-$NOTIFY_CMD_NFSRECD}
        XFAIL=${XFAIL-} ;;
    *) echo "run-vm.sh: unknown MODE '$MODE' (nfs-utils or nfsrecd)" >&2; exit 2 ;;
esac

fetch_debs() {
    mkdir -p "$WORK/debs"
    cd "$WORK/debs"
    # the kernel that linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64)
    KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
    if [ -z "$KPKG" ]; then apt-get update -q > /dev/null
        KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
    ls "${KPKG}"_*.deb > /dev/null 2>&1 || apt-get download "$KPKG"
    ls nfs-kernel-server_*.deb > /dev/null 2>&1 || apt-get download nfs-kernel-server
    KVER=${KPKG#linux-image-}
    if [ ! -d "$WORK/kernel/lib/modules/$KVER" ]; then
        rm -rf "$WORK/kernel"; dpkg -x "${KPKG}"_*.deb "$WORK/kernel"
        depmod -b "$WORK/kernel" "$KVER"          # the .deb ships no modules.dep
    fi
    [ -d "$WORK/nfsks" ] || dpkg -x nfs-kernel-server_*.deb "$WORK/nfsks"
    echo "$KVER" > "$WORK/kver"
    cd - > /dev/null
}

# Copy the shared libraries of a host binary into the image (resolved on the host, which is
# Debian 12 like the image).
copy_libs() {  # copy_libs <binary>
    local R=$WORK/root lib
    { ldd "$1" 2>/dev/null || true; } | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r lib; do
        [ -e "$R$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$R$lib"
    done
}
copy_bin() {  # copy_bin <src> <dst in the image>
    install -D -m755 "$1" "$WORK/root$2"
    copy_libs "$1"
}

build_initramfs() {
    fetch_debs
    KVER=$(cat "$WORK/kver")
    local R=$WORK/root
    rm -rf "$R"; mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt,host,export,var/lib/nfs,lib/modules}
    # busybox (static): sh, mount, insmod, ps, nsenter, unshare, flock, timeout, ...
    cp /usr/bin/busybox "$R/bin/busybox"
    for a in $(/usr/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
    # modules in dependency order (modprobe --show-depends on the host, insmod in the VM)
    : > "$R/modules.list"
    for m in virtio_pci 9pnet_virtio 9p veth sunrpc grace lockd nfs_acl auth_rpcgss nfsd nfs nfsv3 nfsv4; do
        modprobe -d "$WORK/kernel" -S "$KVER" --show-depends $m | awk '$1=="insmod"{print $2}'
    done | awk '!s[$0]++' | while read -r ko; do
        cp "$ko" "$R/lib/modules/"; echo "/lib/modules/$(basename "$ko")" >> "$R/modules.list"
    done
    # nfs-utils server side from the nfs-kernel-server .deb; client side and statd from nfs-common.
    # nfsdcltrack is left out on purpose: if no daemon listens on the cld pipe, the kernel would
    # silently fall back to it and hide the failure.
    for b in nfsdcld rpc.nfsd exportfs rpc.mountd; do copy_bin "$WORK/nfsks/usr/sbin/$b" /usr/sbin/$b; done
    for b in rpc.statd sm-notify mount.nfs showmount; do copy_bin /sbin/$b /sbin/$b; done
    ln -sf mount.nfs "$R/sbin/mount.nfs4"; ln -sf mount.nfs "$R/sbin/umount.nfs"; ln -sf mount.nfs "$R/sbin/umount.nfs4"
    copy_bin /sbin/rpcbind /sbin/rpcbind
    copy_bin /usr/sbin/rpcinfo /usr/sbin/rpcinfo
    copy_bin /usr/bin/flock /usr/bin/flock
    copy_bin /sbin/ip /sbin/ip            # iproute2: veth, netns moves, blackhole routes
    if [ -x /usr/bin/sqlite3 ]; then copy_bin /usr/bin/sqlite3 /usr/bin/sqlite3; fi
    # etcd for the cluster scenario (Debian's etcd-server: a static Go binary)
    if [ -x /usr/bin/etcd ]; then copy_bin /usr/bin/etcd /usr/bin/etcd
    else echo "note: no /usr/bin/etcd on the host (etcd-server): the cluster scenario will skip"; fi
    # a dynamically linked daemon under test runs with the libraries it needs
    if [ -n "${NFSRECD_BIN:-}" ]; then copy_libs "$NFSRECD_BIN"; fi
    if [ -n "${NFSRECCTL_BIN:-}" ]; then copy_libs "$NFSRECCTL_BIN"; fi
    # configuration that glibc and libtirpc read
    cp /etc/netconfig /etc/services /etc/protocols /etc/rpc "$R/etc/"
    printf 'root:x:0:0:root:/:/bin/sh\n_rpc:x:100:65534::/run/rpcbind:/bin/false\nstatd:x:101:65534::/var/lib/nfs:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
    printf '127.0.0.1 localhost nfsvm\n10.0.0.1 nfsserver\n10.0.0.2 client2\n' > "$R/etc/hosts"
    printf 'passwd: files\ngroup: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
    ln -s /proc/self/mounts "$R/etc/mtab"
    printf '/export *(rw,no_root_squash,insecure,no_subtree_check,fsid=1)\n' > "$R/etc/exports"
    install -m755 "$HERE/vm-init.sh" "$R/init"
    install -m644 "$HERE/vm-scenarios.sh" "$R/vm-scenarios.sh"
    install -m644 "$HERE/vm-cluster.sh" "$R/vm-cluster.sh"
    # -R 0:0: files are root-owned in the VM even if built as non-root
    (cd "$R" && find . | cpio -o -H newc -R 0:0 --quiet) > "$WORK/initramfs.cpio"
    cp "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
    echo "initramfs: $(du -h "$WORK/initramfs.cpio" | cut -f1), kernel $KVER"
}

# Without debug sections (about 90 of the daemon's 97 MB): vm-init.sh copies the binaries from
# the 9p share into the VM's memory at boot, and a smaller copy is faster.
stage_one() {  # stage_one <host binary> <name in $SHARE/bin>
    install -m755 "$1" "$SHARE/bin/$2"
    if command -v strip > /dev/null; then strip --strip-debug "$SHARE/bin/$2"; fi
}
stage_binary() {
    mkdir -p "$SHARE/bin"
    if [ -n "${NFSRECD_BIN:-}" ]; then
        stage_one "$NFSRECD_BIN" nfsrecd
        if ldd "$NFSRECD_BIN" > /dev/null 2>&1; then
            echo "note: $NFSRECD_BIN is dynamically linked; its libraries were copied into the image at build time"
        fi
    fi
    if [ -n "${NFSRECCTL_BIN:-}" ]; then stage_one "$NFSRECCTL_BIN" nfsrecctl; fi
    if [ "$MODE" = nfsrecd ] && [ ! -x "$SHARE/bin/nfsrecd" ]; then
        echo "run-vm.sh: MODE=nfsrecd needs the daemon: set NFSRECD_BIN or put it at $SHARE/bin/nfsrecd" >&2
        exit 2
    fi
}

# Values for the VM's env file, in single quotes for sh.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
write_env() {  # write_env <file> <scenario>
    {
        echo "MODE=$(q "$MODE")"
        echo "XFAIL=$(q "$XFAIL")"
        for v in NFSREC_CMD C2_NFSREC_CMD CLD_CMD STATD_CMD C2_STATD_CMD NOTIFY_CMD LEASE NLM_DEBUG LOG_PATTERNS \
                 RECONCILE_WAIT PAT_CLD_CREATE PAT_CLD_SENT PAT_CLD_GRACEDONE PAT_RECONCILE_ADDED PAT_NSM_MON \
                 PAT_NSM_NOTIFY_RX PAT_NOTIFY_SENT; do
            # only knobs that are set reach the VM, so that vm-init.sh applies its defaults
            if [ -n "${!v+x}" ]; then echo "$v=$(q "${!v}")"; fi
        done
    } > "$1"
}

boot_vm() {  # boot_vm <scenario>: one VM; console to $SHARE/out/<scenario>/console.log
    local s=$1 out=$SHARE/out/$1
    rm -rf "$out"; mkdir -p "$out"
    write_env "$out/env" "$s"
    local t0 t1 qrc
    t0=$(date +%s.%N)
    set +e
    # -nic none: no network device; -no-reboot: poweroff in the guest ends qemu;
    # no_timer_check: a vCPU starved by a loaded host fails the IO-APIC timer check and panics
    timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu "$CPU" -m "$MEM" -smp "$SMP" \
        -nographic -no-reboot -nic none \
        -kernel "$WORK/vmlinuz" -initrd "$WORK/initramfs.cpio" \
        -append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check log_buf_len=4M scenario=$s" \
        -virtfs local,path="$SHARE",mount_tag=host,security_model=none,id=host \
        < /dev/null > "$out/console.log" 2>&1
    qrc=$?
    set -e
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", b-a}' > "$out/wall"
    echo "$qrc" > "$out/qemu-rc"
}

# Print the evidence of a failed scenario: its check lines, the daemons' logs and the kernel's
# lines about NFSD, lockd and NLM.
dump_failure() {
    local s=$1 out=$SHARE/out/$1 f
    echo "======== $s: console (checks and kernel lines)"
    grep -E '^\[vm ' "$out/console.log" | tail -n 150 || true
    for f in nfsrec.log cld.log statd.log notify.log c2-daemon.log nodeA.log nodeB.log etcd.log; do
        [ -s "$out/$f" ] || continue
        echo "======== $s: $f (last 150 lines)"
        tail -n 150 "$out/$f"
    done
    if [ -f "$out/dmesg.txt" ]; then
        echo "======== $s: dmesg lines about NFSD, lockd, NLM (last 200)"
        grep -E 'NFSD|nfsd|lockd|NLM|statd|NFS: ' "$out/dmesg.txt" | tail -n 200 || true
    else
        echo "======== $s: no dmesg saved (the VM did not finish); console tail:"
        tail -n 60 "$out/console.log"
    fi
}

# summarize <scenario>: one line; returns 0 when the scenario counts as passed
summarize() {
    local s=$1 out=$SHARE/out/$1 rc result status wall
    rc=$(cat "$out/rc" 2>/dev/null || echo 99)
    result=$(cat "$out/result" 2>/dev/null || echo "no result (qemu rc $(cat "$out/qemu-rc" 2>/dev/null))")
    wall=$(cat "$out/wall" 2>/dev/null || echo "?")
    if [ "$rc" = 0 ]; then
        case "$result" in *"xfails=0"*) status=PASS ;; *) status=XFAIL ;; esac
    else status=FAIL; fi
    printf '%-16s %-6s %6ss  %s\n' "$s" "$status" "$wall" "$result"
    [ "$status" != FAIL ]
}

run_scenarios() {
    local scenarios=("$@") s failed=0 passed=0 t0 t1
    [ ${#scenarios[@]} -gt 0 ] || read -r -a scenarios <<< "$ALL_SCENARIOS"
    [ -f "$WORK/initramfs.cpio" ] || { echo "run-vm.sh: no image; run '$0 build' first" >&2; exit 2; }
    stage_binary
    echo "mode=$MODE jobs=$JOBS scenarios: ${scenarios[*]}"
    [ "$MODE" = nfsrecd ] && echo "NFSREC_CMD=$NFSREC_CMD NOTIFY_CMD=$NOTIFY_CMD"
    t0=$(date +%s)
    for s in "${scenarios[@]}"; do
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
        boot_vm "$s" &
    done
    wait || true
    t1=$(date +%s)
    echo
    printf '%-16s %-6s %7s  %s\n' scenario result time detail
    for s in "${scenarios[@]}"; do
        if summarize "$s"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    done
    for s in "${scenarios[@]}"; do
        summarize "$s" > /dev/null || dump_failure "$s"
    done
    echo "total wall time $((t1 - t0))s for ${#scenarios[@]} scenarios ($JOBS at a time), mode $MODE; logs in $SHARE/out/"
    echo "realkernel: $passed passed, $failed failed"
    return "$failed"
}

case "${1:-all}" in
    build) build_initramfs ;;
    run|boot) shift || true; run_scenarios "$@" ;;
    all) shift || true; build_initramfs; run_scenarios "$@" ;;
    shell) [ -f "$WORK/initramfs.cpio" ] || build_initramfs; stage_binary
        mkdir -p "$SHARE/out/shell"; write_env "$SHARE/out/shell/env" shell
        exec qemu-system-x86_64 -accel tcg,thread=multi -cpu "$CPU" -m "$MEM" -smp "$SMP" -nographic \
            -no-reboot -nic none -kernel "$WORK/vmlinuz" -initrd "$WORK/initramfs.cpio" \
            -append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check scenario=shell" \
            -virtfs local,path="$SHARE",mount_tag=host,security_model=none,id=host ;;
    *) echo "usage: $0 build | run [scenario...] | all [scenario...] | shell" >&2; exit 2 ;;
esac
