# Benchmarks: built on demand (`make bench/store_bench`), never by all/check.
EXTRA_PROGRAMS = bench/store_bench
CLEANFILES += $(EXTRA_PROGRAMS)

bench_store_bench_SOURCES = bench/store_bench.cc
bench_store_bench_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)
