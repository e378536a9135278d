#!/bin/bash
# `make install DESTDIR=...` puts every file where expected: the binaries,
# the compat names as links in libexecdir/nfsrecd that resolve to our
# binaries, the units with the configured paths, the tmpfiles.d file and a
# man page for every installed name; the units pass `systemd-analyze
# verify` where it is available.  Nothing is installed outside DESTDIR.
set -euo pipefail
: "${top_builddir:?}"
if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: install paths, not memory safety (the sanitized pass would install its ASan binaries); the plain pass runs it"; exit 77
fi

dest=$(mktemp -d "${TMPDIR:-/tmp}/nfsrecd-destdir.XXXXXX")
trap 'rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The configured directories, as make install uses them.
var() { make -s -C "$top_builddir" --no-print-directory -f Makefile -f - print-var VAR="$1" <<'MK'
print-var:
	@echo '$($(VAR))'
MK
}
unset MAKEFLAGS MFLAGS MAKELEVEL
sbindir=$(var sbindir); libexecdir=$(var libexecdir); unitdir=$(var systemdsystemunitdir)
tmpfilesdir=$(var tmpfilesdir); mandir=$(var mandir); statedir=$(var statedir)
statduser=$(var statduser)
echo "sbindir=$sbindir libexecdir=$libexecdir unitdir=$unitdir tmpfilesdir=$tmpfilesdir"

make -s -C "$top_builddir" install DESTDIR="$dest" >"$dest.log" 2>&1 || { cat "$dest.log"; fail "make install"; }
rm -f "$dest.log"

for f in nfsrecd nfsrec-cltrack nfsrecd-switch; do
  [ -x "$dest$sbindir/$f" ] && [ ! -L "$dest$sbindir/$f" ] || fail "$sbindir/$f missing"
done
[ "$(readlink "$dest$sbindir/nfsrec-notify")" = nfsrecd ] || fail "nfsrec-notify is not a link to nfsrecd"
# Compat names: links (never copies) whose target, inside DESTDIR, is ours.
for pair in rpc.statd:nfsrecd sm-notify:nfsrecd nfsdcld:nfsrecd nfsdcltrack:nfsrec-cltrack; do
  name=${pair%%:*}; want=${pair#*:}
  link=$dest$libexecdir/nfsrecd/$name
  [ -L "$link" ] || fail "$libexecdir/nfsrecd/$name is not a link"
  target=$(readlink "$link")
  case $target in /*) resolved=$dest$target ;; *) resolved=$(dirname "$link")/$target ;; esac
  [ "$(basename "$target")" = "$want" ] && [ -x "$resolved" ] ||
    fail "$libexecdir/nfsrecd/$name -> $target does not resolve to $want"
done
# Units and tmpfiles with the configured paths, nothing left unsubstituted.
for f in "$unitdir/nfsrecd.service" "$unitdir/nfsrecd-notify.service" "$tmpfilesdir/nfsrecd.conf"; do
  [ -f "$dest$f" ] || fail "$f missing"
  if grep -n '@[a-z]*@' "$dest$f"; then fail "$f has unsubstituted @...@"; fi
done
grep -qx "ExecStart=$sbindir/nfsrecd -F" "$dest$unitdir/nfsrecd.service" || fail "nfsrecd.service's ExecStart"
grep -qx "Type=notify" "$dest$unitdir/nfsrecd.service" || fail "nfsrecd.service is not Type=notify"
grep -qx "Alias=rpc-statd.service nfsdcld.service" "$dest$unitdir/nfsrecd.service" || fail "nfsrecd.service's aliases"
grep -qx "Alias=rpc-statd-notify.service" "$dest$unitdir/nfsrecd-notify.service" || fail "notify unit's alias"
if grep -q '^Conflicts=.*\(rpc-statd\|nfsdcld\)' "$dest$unitdir/nfsrecd.service"; then
  fail "nfsrecd.service conflicts with a unit it aliases"
fi
grep -qx "d $statedir/nfsrecd 0700 $statduser - -" "$dest$tmpfilesdir/nfsrecd.conf" || fail "tmpfiles line"
# A man page for every installed name.
for page in man8/nfsrecd.8 man8/nfsrec-notify.8 man8/nfsrec-cltrack.8 man8/nfsrecd-switch.8 \
    man5/nfsrecd.conf.5 man8/nfsrecd-rpc.statd.8 man8/nfsrecd-sm-notify.8 man8/nfsrecd-nfsdcld.8 \
    man8/nfsrecd-nfsdcltrack.8; do
  [ -f "$dest$mandir/$page" ] || fail "$mandir/$page missing"
done
# Only under DESTDIR: the install wrote nowhere else (the links are not
# made from the live system's paths).
[ -z "$(find "$dest" -xtype l ! -lname '/*')" ] || fail "a relative link dangles"

if command -v systemd-analyze >/dev/null; then
  # verify checks ExecStart's binary on the live system: point it at DESTDIR.
  mkdir "$dest/units"
  for u in nfsrecd.service nfsrecd-notify.service; do
    sed "s|$sbindir/|$dest$sbindir/|g" "$dest$unitdir/$u" >"$dest/units/$u"
  done
  if ! out=$(systemd-analyze verify --man=no "$dest/units/nfsrecd.service" \
      "$dest/units/nfsrecd-notify.service" 2>&1); then
    echo "$out"; fail "systemd-analyze verify"
  fi
  echo "systemd-analyze verify: clean${out:+ (notes: $out)}"
else
  echo "systemd-analyze not installed: units not verified"
fi
echo "PASS"
