#!/bin/bash
# 10 kill -9 cycles, then 10 power-loss cycles, of the real daemon under
# mixed NSM and NFSv4 load: no acknowledged operation may be lost.  Root
# and FUSE are needed (77 otherwise).  The long run is
# tests/crash/run-crash-cycles --cycles 1000 --both.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
exec "$top_srcdir/tests/crash/run-crash-cycles" --both --cycles 10
