# Benchmarks: built on demand (`make bench/store_bench`), never by all/check.
EXTRA_PROGRAMS = bench/store_bench
CLEANFILES += $(EXTRA_PROGRAMS)

bench_store_bench_SOURCES = bench/store_bench.cc
bench_store_bench_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)

# etcd Put latency/throughput beside SQLite's CommitQueue on the same disk:
# make bench/etcd_bench, then bench/run-etcd-bench.sh.
EXTRA_PROGRAMS += bench/etcd_bench
bench_etcd_bench_SOURCES = bench/etcd_bench.cc
bench_etcd_bench_CPPFLAGS = $(AM_CPPFLAGS) $(CURL_CFLAGS)
bench_etcd_bench_LDADD = $(ETCD_LIBS) $(COMMON_LIBS) $(CURL_LIBS) $(SYS_LIBS)
EXTRA_DIST += bench/run-etcd-bench.sh

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
