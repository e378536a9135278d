# NFSv4 client-tracking benchmarks (not run by make check).
#   make bench/cld-bench && bench/cld-bench store && sudo bench/cld-bench daemon
#   bench/cltrack_compare.sh [N]   # nfsrec-cltrack beside Debian's nfsdcltrack
if HAVE_FUSE3
EXTRA_PROGRAMS += bench/cld-bench
bench_cld_bench_SOURCES = bench/cld_bench.cc
bench_cld_bench_CPPFLAGS = $(AM_CPPFLAGS) $(FUSE3_CFLAGS)
bench_cld_bench_LDADD = tests/cld_emulator/libcldemu.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) \
	$(FUSE3_LIBS) $(SYS_LIBS)
endif
EXTRA_DIST += bench/cltrack_compare.sh
# The daemon end to end (SM_MON and Create) on SQLite and etcd beside rpc.statd
# and nfsdcld (issue 14; uses cld-bench external): bench/run-daemon-etcd-bench.sh BUILD (root)
EXTRA_DIST += bench/run-daemon-etcd-bench.sh
# Start-up with a big store (issue 13), side by side: bench/run-startup-bench.sh OLD NEW (root)
EXTRA_DIST += bench/run-startup-bench.sh
