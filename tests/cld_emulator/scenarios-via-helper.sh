#!/bin/sh
# The emulator scenarios again, with cld-testd opening the cld pipe and
# reaching /proc through the privileged helper, as the daemon does once it
# has dropped root (common/os/privileged_helper.h).
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
CLD_TESTD_VIA_HELPER=1 exec "$top_builddir/tests/cld_emulator/scenarios_test" "$@"
