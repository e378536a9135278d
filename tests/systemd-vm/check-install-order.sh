#!/bin/bash
# check-install-order.sh - nfsrecd installed BEFORE nfs-kernel-server, in a chroot of the systemd
# test's Debian root (an overlay on it, so the root is not changed):
#   1. nfs-kernel-server purged, nfsrecd installed: the names resolve to nfsrecd's programs only
#      where nfs-utils has none (nfsdcld, nfsdcltrack);
#   2. nfs-kernel-server installed: its nfsdcld and nfsdcltrack are diverted, and nfsrecd's file
#      trigger (debian/nfsrecd.triggers) adds nfs-utils' choice, which wins (priority 100): the
#      names are nfs-utils' programs again, as if nfsrecd had come second;
#   3. nfsrecd-switch's manual choice (nfsrecd's programs) survives a reinstall of
#      nfs-kernel-server;
#   4. nfs-kernel-server purged: its choice is withdrawn, no alternative points to a missing file.
#
# Usage: check-install-order.sh <Debian root> <nfsrecd .deb> <dir holding nfs-kernel-server's .deb>
# Exit: 0 pass, 1 fail, 77 skip (no root, no overlayfs).
set -euo pipefail
BASE=$1 DEB=$2 DEBS=$3
[ "$(id -u)" = 0 ] || { echo "check-install-order: SKIP: needs root (chroot, mounts)"; exit 77; }
grep -qw overlay /proc/filesystems || modprobe overlay 2> /dev/null || true
grep -qw overlay /proc/filesystems || { echo "check-install-order: SKIP: no overlayfs"; exit 77; }
knfsd=$(ls "$DEBS"/nfs-kernel-server_*.deb 2> /dev/null | head -1)
[ -n "$knfsd" ] || { echo "check-install-order: FAIL: no nfs-kernel-server .deb in $DEBS"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/nfsrec-order.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp "$DEB" "$T/nfsrecd.deb"
cp "$knfsd" "$T/nfs-kernel-server.deb"

# Everything below runs in a private mount namespace: the overlay goes with it.
unshare --mount --propagation private bash -s "$BASE" "$T" << 'INNER'
set -euo pipefail
BASE=$1 T=$2
R=$T/root
mkdir -p "$T/upper" "$T/work" "$R"
mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$T/upper,workdir=$T/work" "$R"
mkdir -p "$R/tmp/pkgs"
mount --bind "$T" "$R/tmp/pkgs"
mount -t proc proc "$R/proc"
# No service starts in the chroot (invoke-rc.d asks policy-rc.d).
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod +x "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
fails=0
check() { # what expected actual
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
# The alternative's choice (nfsrecd's programs are links to one binary: readlink -f would not tell).
value() { in_root update-alternatives --query "$1" | sed -n 's/^Value: //p'; }
choices() { in_root update-alternatives --list "$1" 2> /dev/null | sort | tr '\n' ' '; }

in_root dpkg --purge nfs-kernel-server > "$T/log" 2>&1 || { cat "$T/log"; exit 1; }
in_root dpkg -i /tmp/pkgs/nfsrecd.deb >> "$T/log" 2>&1 || { cat "$T/log"; echo "FAIL: dpkg -i nfsrecd"; exit 1; }
check "1: nfsdcld without nfs-kernel-server is nfsrecd's" /usr/libexec/nfsrecd/nfsdcld "$(value nfsdcld)"
check "1: rpc.statd stays nfs-utils'" /sbin/rpc.statd.nfs-utils "$(value rpc.statd)"

in_root dpkg -i /tmp/pkgs/nfs-kernel-server.deb >> "$T/log" 2>&1 ||
    { cat "$T/log"; echo "FAIL: dpkg -i nfs-kernel-server"; exit 1; }
grep -q 'Processing triggers for nfsrecd' "$T/log" && echo "ok: 2: nfsrecd's trigger ran" ||
    { echo "FAIL: 2: nfsrecd's trigger did not run"; fails=$((fails + 1)); }
check "2: nfsdcld is nfs-utils' again" /usr/sbin/nfsdcld.nfs-utils "$(value nfsdcld)"
check "2: nfsdcld's choices" "/usr/libexec/nfsrecd/nfsdcld /usr/sbin/nfsdcld.nfs-utils " "$(choices nfsdcld)"
check "2: nfsdcld's man page is nfs-utils'" /usr/share/man/man8/nfsdcld.nfs-utils.8.gz \
    "$(in_root readlink -f /usr/share/man/man8/nfsdcld.8.gz)"
if [ -e "$R/usr/sbin/nfsdcltrack.nfs-utils" ]; then
    check "2: nfsdcltrack is nfs-utils' again" /sbin/nfsdcltrack.nfs-utils "$(value nfsdcltrack)"
else
    echo "note: this nfs-kernel-server ships no nfsdcltrack"
fi

in_root update-alternatives --quiet --set nfsdcld /usr/libexec/nfsrecd/nfsdcld
in_root dpkg -i /tmp/pkgs/nfs-kernel-server.deb >> "$T/log" 2>&1 || { cat "$T/log"; exit 1; }
check "3: a manual choice survives a reinstall" /usr/libexec/nfsrecd/nfsdcld "$(value nfsdcld)"
in_root update-alternatives --quiet --auto nfsdcld

in_root dpkg --purge nfs-kernel-server >> "$T/log" 2>&1 || { cat "$T/log"; exit 1; }
check "4: nfs-utils' nfsdcld choice withdrawn" "/usr/libexec/nfsrecd/nfsdcld " "$(choices nfsdcld)"
check "4: nfsdcld is nfsrecd's" /usr/libexec/nfsrecd/nfsdcld "$(value nfsdcld)"
check "4: the link follows" /usr/libexec/nfsrecd/nfsdcld "$(in_root readlink /etc/alternatives/nfsdcld)"
check "4: dpkg's database is consistent" "" "$(in_root dpkg --audit 2>&1)"
if [ "$fails" != 0 ]; then sed 's/^/dpkg: /' "$T/log" | tail -40; exit 1; fi
echo "check-install-order: PASS"
INNER
