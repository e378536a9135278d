#!/bin/bash
# build-image.sh - the two VM images of the systemd boot test (see README.md).
#
#   build-image.sh <work dir> <realkernel work dir> [extra package...]
#
# Server: a Debian 12 root made by debootstrap (minbase, systemd as PID 1, nfs-kernel-server,
# nfs-common, rpcbind) with the modules of the kernel that the real-kernel suite fetched, in an
# ext4 image made by `mkfs.ext4 -d` (no loop mount), and a busybox initramfs that loads the
# virtio block and ext4 modules, mounts the image and hands over to systemd. The root is rebuilt
# only when its inputs change (see the two caches below).
#
# Client: the real-kernel suite's busybox initramfs (kernel NFS client, rpcbind, rpc.statd,
# flock) with a second cpio appended that adds the virtio network modules and client-init.sh as
# /init (files of a later cpio archive replace earlier ones).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$1 RKWORK=$2
shift 2
EXTRA=("$@")
MIRROR=${SYSVM_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
KVER=$(cat "$RKWORK/kver")
KTREE=$RKWORK/kernel
PACKAGES=(systemd-sysv udev dbus nfs-kernel-server nfs-common rpcbind iproute2 kmod procps util-linux
          libcap2-bin psmisc)
mkdir -p "$WORK"
# A debootstrap that was interrupted leaves proc and sys mounted in its target: unmount them
# before a tree is removed, and never cross into another file system while removing.
unmount_below() { awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | xargs -r -n1 umount -l; }
remove_tree() { unmount_below "$1"; rm -rf --one-file-system "$1"; }

# Two caches: the debootstrapped tree (root-base/, rebuilt when the packages, the kernel, the
# mirror or ROOT_FORMAT change; the .debs stay in debs/) and the image (server.img, rebuilt when
# root-base/ or server-files.sh change). ROOT_FORMAT: bump when the steps below change.
ROOT_FORMAT=2
# The extra packages (the package's Depends) only force a rebuild when the tree lacks one.
base_key=$(echo "$ROOT_FORMAT $KVER $MIRROR $SUITE ${PACKAGES[*]}" | sha256sum | cut -c1-16)
img_key=$( { echo "$base_key ${EXTRA[*]}"; cat "$HERE/server-files.sh"; } | sha256sum | cut -c1-16)
B=$WORK/root-base
missing_extras() {
    local p
    for p in "${EXTRA[@]}"; do
        dpkg-query --admindir="$B/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            echo "$p"
    done
}
if [ "$(cat "$WORK/root-base.key" 2>/dev/null)" != "$base_key" ] || [ -n "$(missing_extras)" ]; then
    PACKAGES+=("${EXTRA[@]}")
    t0=$(date +%s)
    remove_tree "$B"; rm -f "$WORK/root-base.key"
    # debootstrap reuses the .debs it finds in the target's apt cache once they verify
    mkdir -p "$WORK/debs" "$B/var/cache/apt/archives"
    cp "$WORK/debs/"*.deb "$B/var/cache/apt/archives/" 2>/dev/null || true
    inc=$(IFS=,; echo "${PACKAGES[*]}")
    debootstrap --variant=minbase --include="$inc" "$SUITE" "$B" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 ||
        { unmount_below "$B"; tail -30 "$WORK/debootstrap.log"; echo "build-image: debootstrap failed" >&2; exit 1; }
    mv "$B/var/cache/apt/archives/"*.deb "$WORK/debs/" 2>/dev/null || true
    rm -rf "$B/var/lib/apt/lists/"*
    # the modules of the kernel the VM boots (udev and nfs-server load nfsd, lockd, 9p, ...)
    mkdir -p "$B/lib/modules"
    cp -a "$KTREE/lib/modules/$KVER" "$B/lib/modules/"
    echo "$base_key" > "$WORK/root-base.key"
    echo "build-image: Debian root (debootstrap) built in $(($(date +%s) - t0))s"
fi
if [ -f "$WORK/server.img" ] && [ "$(cat "$WORK/server.key" 2>/dev/null)" = "$img_key" ]; then
    echo "build-image: server image up to date ($img_key)"
else
    t0=$(date +%s)
    R=$WORK/root
    remove_tree "$R"; rm -f "$WORK/server.img" "$WORK/server.key"
    cp -a "$B" "$R"
    # configuration: network, exports, nfs.conf, the test agent's unit
    bash "$HERE/server-files.sh" "$R"
    # 1.5 GB sparse, room for apt and the journal
    mkfs.ext4 -q -F -L sysvm-root -d "$R" "$WORK/server.img" 1536M
    remove_tree "$R"
    echo "$img_key" > "$WORK/server.key"
    echo "build-image: server image made in $(($(date +%s) - t0))s"
fi

# Server initramfs: busybox, the modules to reach the root and the network, /init. The address of
# the private qemu network is set here, before systemd starts: no network manager in the root and
# network-online.target is reached at once (systemd-networkd and its wait-online service took
# 25-30 s of each boot under TCG).
I=$WORK/initrd-server
rm -rf "$I"; mkdir -p "$I"/{bin,proc,sys,dev,newroot,lib/modules}
cp /usr/bin/busybox "$I/bin/busybox"
for a in sh mount umount insmod switch_root mkdir sleep cat echo ip; do ln -sf busybox "$I/bin/$a"; done
: > "$I/modules.list"
for m in virtio_pci virtio_blk ext4 crc32c_generic virtio_net; do
    modprobe -d "$KTREE" -S "$KVER" --show-depends $m | awk '$1=="insmod"{print $2}'
done | awk '!s[$0]++' | while read -r ko; do
    cp "$ko" "$I/lib/modules/"; echo "/lib/modules/$(basename "$ko")" >> "$I/modules.list"
done
cat > "$I/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for ko in $(cat /modules.list); do insmod "$ko" 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; sleep 5; exit 1; }
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up && ip addr add 10.0.1.1/24 dev eth0 || echo "initrd: cannot configure eth0"
umount /proc /sys; mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$I/init"
(cd "$I" && find . | cpio -o -H newc -R 0:0 --quiet) > "$WORK/initrd-server.cpio"

# Client initramfs: the real-kernel image plus the network modules and our /init.
C=$WORK/initrd-client-extra
rm -rf "$C"; mkdir -p "$C/lib/modules"
cp "$RKWORK/root/modules.list" "$C/modules.list"
for m in virtio_net; do
    modprobe -d "$KTREE" -S "$KVER" --show-depends $m | awk '$1=="insmod"{print $2}'
done | while read -r ko; do
    grep -q "/$(basename "$ko")\$" "$C/modules.list" && continue
    cp "$ko" "$C/lib/modules/"; echo "/lib/modules/$(basename "$ko")" >> "$C/modules.list"
done
install -m755 "$HERE/client-init.sh" "$C/init"
install -m644 "$HERE/sysvm-lib.sh" "$C/sysvm-lib.sh"
printf '127.0.0.1 localhost\n10.0.1.1 nfsserver\n10.0.1.2 client1\n' > "$C/etc-hosts"
mkdir -p "$C/etc"; mv "$C/etc-hosts" "$C/etc/hosts"
(cd "$C" && find . | cpio -o -H newc -R 0:0 --quiet) > "$WORK/initrd-client-extra.cpio"
cat "$RKWORK/initramfs.cpio" "$WORK/initrd-client-extra.cpio" > "$WORK/initrd-client.cpio"
cp "$RKWORK/vmlinuz" "$WORK/vmlinuz"
echo "build-image: initramfs ready (kernel $KVER)"
