# Benchmarks: built on demand (`make bench/store_bench`), never by all/check.
EXTRA_PROGRAMS = bench/store_bench
CLEANFILES += $(EXTRA_PROGRAMS)

bench_store_bench_SOURCES = bench/store_bench.cc
bench_store_bench_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)

# etcd Put latency/throughput beside SQLite's CommitQueue on the same disk:
# make bench/etcd_bench, then bench/run-etcd-bench.sh.
EXTRA_PROGRAMS += bench/etcd_bench
bench_etcd_bench_SOURCES = bench/etcd_bench.cc bench/bench_args.h
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

# NSM store PutMonitor: EtcdNsmStore on 1 and 3 etcd members beside
# SqliteNsmStore, c 1/8/64: make bench/nsm_store_bench, then
# bench/run-nsm-store-bench.sh.
EXTRA_PROGRAMS += bench/nsm_store_bench
bench_nsm_store_bench_SOURCES = bench/nsm_store_bench.cc bench/bench_args.h
bench_nsm_store_bench_CPPFLAGS = $(AM_CPPFLAGS) $(CURL_CFLAGS)
bench_nsm_store_bench_LDADD = $(ETCD_NSM_LIBS) statd/libstatd.a $(ETCD_LIBS) $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(CURL_LIBS) $(SYS_LIBS)
EXTRA_DIST += bench/run-nsm-store-bench.sh

# EtcdClientStore PutClient (c1/c8/c64) on 1 and 3 etcd members beside
# SqliteClientStore, and LoadDigest/OpenGrace/ReadRecords with 100,000
# records: make bench/v4-etcd-bench, then bench/run-v4-etcd-bench.sh.
EXTRA_PROGRAMS += bench/v4-etcd-bench
bench_v4_etcd_bench_SOURCES = bench/v4_etcd_bench.cc bench/bench_args.h
bench_v4_etcd_bench_LDADD = nfs4rec/libnfs4rec.a $(ETCD_LIBS) $(COMMON_LIBS) $(CURL_LIBS) \
	$(SYS_LIBS)
EXTRA_DIST += bench/run-v4-etcd-bench.sh
