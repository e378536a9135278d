#!/bin/bash
# check-systemd-vm.sh - the systemd boot test as `make check-systemd-vm` (and so
# `make check-realkernel`) runs it.
#
# Usage: check-systemd-vm.sh <top source dir>
# The package: $NFSRECD_DEB if set, else `scripts/build-deb --reuse` into $NFSRECD_DEB_OUT (its last
# line): the package that make check's packaging test built there when the sources are the same (one
# dpkg-buildpackage per CI run), else built here; without scripts/build-deb, none: then only the
# nfs-utils baseline runs.
# Environment: SYSVM_WORK (run-sysvm.sh's WORK), REALKERNEL_WORK (the real-kernel suite's work
# dir, whose kernel and busybox initramfs are reused); every knob of run-sysvm.sh passes through.
# Exit: 0 when every check passed, 1 otherwise, 77 (skip) when a host prerequisite is missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
top=${1:-$(cd "$HERE/../.." && pwd)}

missing=""
for t in qemu-system-x86_64 debootstrap mkfs.ext4 busybox cpio modprobe depmod unshare dpkg-deb apt-get; do
    command -v "$t" > /dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
    echo "check-systemd-vm: SKIP: missing host tools:$missing"
    echo "  apt-get install -y --no-install-recommends qemu-system-x86 debootstrap e2fsprogs busybox-static cpio kmod"
    exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "check-systemd-vm: SKIP: needs root (debootstrap chroots, the VMs' private network namespace)"
    exit 77
fi
# mkfs.ext4 without arguments prints its usage and fails: under pipefail a pipe would fail with it
usage=$(mkfs.ext4 2>&1 || true)
if ! grep -q -- '-d ' <<< "$usage"; then
    echo "check-systemd-vm: SKIP: this mkfs.ext4 has no -d (e2fsprogs >= 1.43 needed)"
    exit 77
fi

export WORK=${SYSVM_WORK:-${TMPDIR:-/tmp}/nfsrec-systemd-vm}
export RKWORK=${REALKERNEL_WORK:-${TMPDIR:-/tmp}/nfsrec-realkernel}
if [ -z "${NFSRECD_DEB:-}" ] && [ -x "$top/scripts/build-deb" ]; then
    if ! command -v dpkg-buildpackage > /dev/null 2>&1 || ! command -v dh > /dev/null 2>&1; then
        echo "check-systemd-vm: SKIP: scripts/build-deb needs dpkg-dev and debhelper (or set NFSRECD_DEB)"
        exit 77
    fi
    # into the work dir unless told (make passes the packaging test's directory), not beside the source
    export NFSRECD_DEB_OUT=${NFSRECD_DEB_OUT:-$WORK/build-deb}
    echo "check-systemd-vm: the package (scripts/build-deb --reuse in $NFSRECD_DEB_OUT)"
    # build-deb prints the package's path on its last line
    out=$(cd "$top" && scripts/build-deb --reuse) || { echo "check-systemd-vm: scripts/build-deb failed" >&2; exit 1; }
    printf '%s\n' "$out" | grep '^build-deb: ' || true
    NFSRECD_DEB=$(printf '%s\n' "$out" | tail -1)
    [ -f "$NFSRECD_DEB" ] || { echo "check-systemd-vm: scripts/build-deb named no package ('$NFSRECD_DEB')" >&2; exit 1; }
fi
if [ -n "${NFSRECD_DEB:-}" ]; then export NFSRECD_DEB
else echo "check-systemd-vm: note: no package (no NFSRECD_DEB, no scripts/build-deb): nfs-utils baseline only"; fi
mkdir -p "$WORK"

t0=$(date +%s)
set +e
"$HERE/run-sysvm.sh" all
rc=$?
set -e
echo "check-systemd-vm: $(($(date +%s) - t0))s including the image build"
# nfsrecd installed before nfs-kernel-server (its file trigger), in a chroot of the same root.
if [ -n "${NFSRECD_DEB:-}" ] && [ -d "$WORK/root-base" ]; then
    t1=$(date +%s)
    set +e
    "$HERE/check-install-order.sh" "$WORK/root-base" "$NFSRECD_DEB" "$WORK/debs"
    order=$?
    set -e
    echo "check-systemd-vm: install order checked in $(($(date +%s) - t1))s"
    [ "$order" = 0 ] || [ "$order" = 77 ] || rc=1
fi
[ "$rc" = 0 ] || exit 1
