#!/bin/bash
# check-realkernel.sh - the real-kernel acceptance suite, as `make check-realkernel` runs it.
#
# Usage: check-realkernel.sh nfsrecd <nfsrecd binary> [scenario...]   (nfsrecctl: beside it, or NFSRECCTL_BIN)
#        check-realkernel.sh nfs-utils [scenario...]
# nfsrecd mode needs nothing from the build system but the binary (static, or linked only
# against libraries the image copies; see README.md).
#
# Environment: REALKERNEL_WORK (default ${TMPDIR:-/tmp}/nfsrec-realkernel) is run-vm.sh's WORK;
# every knob of run-vm.sh (JOBS, NFSREC_CMD, NOTIFY_CMD, XFAIL, PAT_*, ...) passes through.
# Exit: 0 when every scenario passed (or failed as expected), 1 otherwise, 77 (skip) when a host
# prerequisite is missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

mode=${1:-}
shift || true
case "$mode" in
    nfsrecd)
        bin=${1:-}
        shift || true
        if [ -z "$bin" ] || [ ! -x "$bin" ]; then
            echo "check-realkernel: nfsrecd mode needs the daemon binary (got '$bin')" >&2
            exit 1
        fi
        if ldd "$bin" > /dev/null 2>&1; then
            echo "check-realkernel: note: $bin is dynamically linked; configure --enable-static-daemon makes it static"
        fi
        export NFSRECD_BIN=$bin
        # nfsrecctl from the same build, for the switch scenarios
        ctl=$(dirname "$bin")/nfsrecctl
        if [ -z "${NFSRECCTL_BIN:-}" ] && [ -x "$ctl" ]; then export NFSRECCTL_BIN=$ctl; fi ;;
    nfs-utils) ;;
    *) echo "usage: $0 nfsrecd <binary> [scenario...] | nfs-utils [scenario...]" >&2; exit 1 ;;
esac

missing=""
for t in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static depmod:kmod cpio:cpio \
         rpc.statd:nfs-common sm-notify:nfs-common rpcbind:rpcbind rpcinfo:rpcbind \
         flock:util-linux ip:iproute2 apt-get:apt dpkg:dpkg; do
    command -v "${t%%:*}" > /dev/null 2>&1 || [ -x "/sbin/${t%%:*}" ] || [ -x "/usr/sbin/${t%%:*}" ] ||
        missing="$missing ${t#*:}"
done
if [ -n "$missing" ]; then
    echo "check-realkernel: SKIP: missing host packages:$missing"
    echo "  apt-get install -y --no-install-recommends qemu-system-x86 busybox-static kmod cpio nfs-common rpcbind iproute2 util-linux"
    exit 77
fi

export MODE=$mode
export WORK=${REALKERNEL_WORK:-${WORK:-${TMPDIR:-/tmp}/nfsrec-realkernel}}
mkdir -p "$WORK"
t0=$(date +%s)
set +e
"$HERE/run-vm.sh" all "$@"
rc=$?
set -e
echo "check-realkernel: mode $mode, $(($(date +%s) - t0))s including the image build"
[ "$rc" = 0 ] || exit 1
