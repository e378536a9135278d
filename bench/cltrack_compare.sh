#!/bin/sh
# Runs the same nfsdcltrack command sequence through Debian's nfsdcltrack
# (package nfs-kernel-server) and nfsrec-cltrack, each on its own fresh
# storage directory, and prints the mean wall time per command and any exit
# status that differs.  Neither needs nfsd: writes to
# /proc/fs/nfsd/v4_end_grace fail harmlessly where nfsd is absent.
#   [NFSDCLTRACK=path] bench/cltrack_compare.sh [clients] [path/to/nfsrec-cltrack]
set -eu
N=${1:-200}
OURS=${2:-$(dirname "$0")/../nfsrec-cltrack}
THEIRS=${NFSDCLTRACK:-/usr/sbin/nfsdcltrack}  # or one unpacked from the .deb
if [ ! -x "$THEIRS" ]; then
  echo "SKIP: $THEIRS missing (apt-get install nfs-kernel-server)"; exit 77
fi
[ -x "$OURS" ] || { echo "nfsrec-cltrack not found at $OURS"; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

hexid() { printf 'Linux NFSv4.2 client-%05d' "$1" | od -An -tx1 | tr -d ' \n'; }

# Sequence: init, gracedone (first boot), create N (half with a session),
# remove N/10, init (reboot), check N, gracedone.
now() { date +%s%N; }
run() {  # prog dir cmd arg [session]
  if [ -n "${5:-}" ]; then
    NFSDCLTRACK_CLIENT_HAS_SESSION=$5 NFSDCLTRACK_GRACE_START=1700000000 \
      "$1" -f -s "$2" "$3" ${4:+"$4"} 2>/dev/null
  else
    NFSDCLTRACK_GRACE_START=1700000000 "$1" -f -s "$2" "$3" ${4:+"$4"} 2>/dev/null
  fi
}

sequence() {  # prog dir -> prints "phase ops ns" lines and exit codes to $dir.codes
  prog=$1; dir=$2; codes=$dir.codes; : > "$codes"
  mkdir -p "$dir"
  t=$(now); rc=0; run "$prog" "$dir" init "" || rc=$?; echo "init $rc" >> "$codes"
  echo "init 1 $(( $(now) - t ))"
  # grace of the first boot ends (nothing to reclaim)
  rc=0; run "$prog" "$dir" gracedone "$(date +%s)" || rc=$?; echo "gracedone0 $rc" >> "$codes"
  sleep 1  # nfsdcltrack compares whole seconds against the boot time
  t=$(now); i=0
  while [ $i -lt "$N" ]; do
    s=N; [ $((i % 2)) -eq 0 ] && s=Y
    rc=0; run "$prog" "$dir" create "$(hexid $i)" $s || rc=$?; echo "create $i $rc" >> "$codes"
    i=$((i + 1))
  done
  echo "create $N $(( $(now) - t ))"
  t=$(now); i=0; R=$((N / 10))
  while [ $i -lt $R ]; do
    rc=0; run "$prog" "$dir" remove "$(hexid $i)" || rc=$?; echo "remove $i $rc" >> "$codes"
    i=$((i + 1))
  done
  echo "remove $R $(( $(now) - t ))"
  t=$(now); rc=0; run "$prog" "$dir" init "" || rc=$?; echo "init2 $rc" >> "$codes"
  echo "init 1 $(( $(now) - t ))"
  t=$(now); i=0
  while [ $i -lt "$N" ]; do
    s=N; [ $((i % 2)) -eq 0 ] && s=Y
    rc=0; run "$prog" "$dir" check "$(hexid $i)" $s || rc=$?; echo "check $i $rc" >> "$codes"
    i=$((i + 1))
  done
  echo "check $N $(( $(now) - t ))"
  t=$(now); rc=0; run "$prog" "$dir" gracedone "$(date +%s)" || rc=$?; echo "gracedone $rc" >> "$codes"
  echo "gracedone 1 $(( $(now) - t ))"
}

sequence "$THEIRS" "$WORK/nfsdcltrack" > "$WORK/theirs.times"
sequence "$OURS" "$WORK/nfsrec" > "$WORK/ours.times"
printf '%-10s %6s %14s %14s\n' command count "nfsdcltrack" "nfsrec-cltrack"
paste "$WORK/theirs.times" "$WORK/ours.times" | while read -r c n t1 _ _ t2; do
  printf '%-10s %6s %11.3f ms %11.3f ms\n' "$c" "$n" \
    "$(echo "$t1 / $n / 1000000" | bc -l)" "$(echo "$t2 / $n / 1000000" | bc -l)"
done
if cmp -s "$WORK/nfsdcltrack.codes" "$WORK/nfsrec.codes"; then
  echo "exit statuses: identical for all $(wc -l < "$WORK/nfsrec.codes") commands"
else
  echo "exit statuses differ:"; diff "$WORK/nfsdcltrack.codes" "$WORK/nfsrec.codes" | head -20
fi
