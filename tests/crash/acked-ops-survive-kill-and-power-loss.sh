#!/bin/bash
# No acknowledged operation is lost: 10 kill -9 cycles, then 10 power-loss
# cycles, of the real daemon under mixed NSM and NFSv4 load.  First the
# checker proves it sees a loss: with one acknowledged record deleted after
# each kill, a short run must fail and name it.  Root and FUSE are needed
# (77 otherwise).  The long run: tests/crash/run-crash-cycles --cycles 1000 --both.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
run=$top_srcdir/tests/crash/run-crash-cycles

out=$("$run" --cycles 3 --max-delay-ms 800 --inject-loss 2>&1)
rc=$?
[[ $rc == 77 ]] && { echo "$out"; exit 77; }
if [[ $rc != 1 ]] || ! grep -qE 'LOST: (monitor|v4 client) ' <<<"$out"; then
  echo "$out"
  echo "FAIL: the checker did not report the record deleted behind its back (exit $rc)"
  exit 1
fi
echo "ok: the checker reports a deleted record as lost"
exec "$run" --both --cycles 10 --max-delay-ms 1000
