#!/bin/bash
# The Debian package builds with dpkg-buildpackage (scripts/build-deb, out
# of tree) and lintian finds no error in it; the package holds what the
# switch-over needs.  Logs the build time (CI budget).  Skips (77) without
# dpkg-dev, debhelper or lintian (scripts/deps installs them) and in the
# sanitized pass (the package does not depend on the build's flags).
# The package stays in tests/packaging/deb-out/ with build-deb's record of
# its sources: make check-systemd-vm reuses it instead of building again.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"

if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: the package is built and checked in the plain pass"; exit 77
fi
for tool in dpkg-buildpackage dh lintian; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (scripts/deps installs it)"; exit 77; }
done
if ! missing=$(cd "$top_srcdir" && dpkg-checkbuilddeps 2>&1); then
  echo "SKIP: build dependencies missing: $missing (scripts/deps installs them)"; exit 77
fi

out=$top_builddir/tests/packaging/deb-out
# The package build is a make of its own, not a part of make check's.
unset MAKEFLAGS MFLAGS MAKELEVEL
start=$(date +%s)
NFSRECD_DEB_OUT=$out "$top_srcdir/scripts/build-deb" >"$out.log" 2>&1 || {
  cat "$out.log"; echo "FAIL: scripts/build-deb"; exit 1; }
echo "deb build time: $(($(date +%s) - start)) s"
deb=$(tail -1 "$out.log")
echo "package: $deb"

# What the switch-over relies on is in it.
contents=$(dpkg-deb -c "$deb")
for path in ./usr/sbin/nfsrecd ./usr/sbin/nfsrec-cltrack ./usr/sbin/nfsrecd-switch \
    ./lib/systemd/system/nfsrecd.service ./lib/systemd/system/nfsrecd-notify.service \
    ./usr/lib/tmpfiles.d/nfsrecd.conf ./usr/libexec/nfsrecd/rpc.statd \
    ./usr/libexec/nfsrecd/sm-notify ./usr/libexec/nfsrecd/nfsdcld ./usr/libexec/nfsrecd/nfsdcltrack \
    ./usr/share/man/man8/nfsrecd-rpc.statd.8.gz ./usr/share/man/man5/nfsrecd.conf.5.gz; do
  grep -q " $path\( ->.*\)\?$" <<<"$contents" || { echo "FAIL: $path not in the package"; exit 1; }
done
# Never one of nfs-utils' own paths (they are diverted, not overwritten).
if grep -E ' \./(usr/)?s?bin/(rpc\.statd|sm-notify|nfsdcld|nfsdcltrack)$' <<<"$contents"; then
  echo "FAIL: the package ships one of nfs-utils' paths"; exit 1
fi
dpkg-deb -f "$deb" Depends | grep -q 'nfs-common' || { echo "FAIL: no Depends on nfs-common"; exit 1; }
# Installing must not enable the units (that would take over rpc-statd).
dpkg-deb -e "$deb" "$out/control"
if grep -q 'deb-systemd-helper enable' "$out/control/postinst" &&
    ! grep -q 'debian-installed' "$out/control/postinst"; then
  echo "FAIL: postinst enables the units on a fresh install"; exit 1
fi

# nfs-kernel-server installed after nfsrecd gets its choices (tests/systemd-vm/check-install-order.sh).
for path in /usr/sbin/nfsdcld /sbin/nfsdcltrack; do
  grep -qx "interest-noawait $path" "$out/control/triggers" 2>/dev/null ||
    { echo "FAIL: no file trigger on $path"; exit 1; }
done
grep -q '^  triggered)' "$out/control/postinst" || { echo "FAIL: postinst handles no trigger"; exit 1; }

lintian_start=$(date +%s)
# As root lintian says so on stderr; its verdict is the exit status.
if ! lintian --fail-on error "$deb" >"$out/lintian.txt" 2>&1; then
  cat "$out/lintian.txt"; echo "FAIL: lintian reports errors"; exit 1
fi
sed 's/^/lintian: /' "$out/lintian.txt"
echo "lintian: no errors ($(($(date +%s) - lintian_start)) s)"
echo "PASS"
