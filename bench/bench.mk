# Benchmarks: built on demand (`make bench/store_bench`), never by all/check.
EXTRA_PROGRAMS = bench/store_bench
CLEANFILES += $(EXTRA_PROGRAMS)

bench_store_bench_SOURCES = bench/store_bench.cc
bench_store_bench_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)

# This machine's fsync latency (the floor under a durable reply), for bench/run-all.
EXTRA_PROGRAMS += bench/fsync-latency
bench_fsync_latency_SOURCES = bench/fsync_latency.cc

# Every benchmark beside nfs-utils, repeated, as one table (docs/PERFORMANCE.md);
# not part of check:  make bench-run-all [RUN_ALL_FLAGS="--quick"]
# or, from the source tree:  bench/run-all BUILD_DIR [--reps N] [--quick]
EXTRA_DIST += bench/run-all
bench-run-all:
	$(top_srcdir)/bench/run-all $(abs_top_builddir) $(RUN_ALL_FLAGS)
.PHONY: bench-run-all
