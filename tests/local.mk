# Shared test support (fakes, netns+rpcbind runner, lockd emulator).
include tests/support/support.mk
include tests/support/store_fakes.mk
# System tests against real rpcbind/rpcinfo/rpc.statd in private namespaces.
include tests/system/system.mk
# Real-kernel acceptance (qemu).
include tests/realkernel/realkernel.mk
include tests/cld_emulator/cld_emulator.mk
# Cluster mode: etcd and nodes in network namespaces (root, FUSE, etcd).
include tests/cluster/cluster.mk
# kill -9 and power-loss cycles under load (root, FUSE).
include tests/crash/crash.mk
# Both facades in one process (no root).
include tests/integration/local.mk
# The tree follows .clang-format.
EXTRA_DIST += tests/format-check.sh
TESTS += tests/format-check.sh
# The folder graph of ARCHITECTURE.md holds for every #include.
EXTRA_DIST += tests/layering-check.sh
TESTS += tests/layering-check.sh
# Every row of docs/BAD_INPUT.md cites a test that exists.
EXTRA_DIST += tests/docs/bad-input-doc-check.sh docs/BAD_INPUT.md
TESTS += tests/docs/bad-input-doc-check.sh
# Fuzz targets: corpus replay in make check, libFuzzer binaries by make fuzz.
include tests/fuzz/fuzz.mk
# The Debian package and make install (tests/packaging/packaging.mk).
include tests/packaging/packaging.mk
