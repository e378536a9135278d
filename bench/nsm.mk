# NSM benchmark client (durable SM_MON/s), built on demand: make bench/nsm-bench
EXTRA_PROGRAMS += bench/nsm-bench
bench_nsm_bench_SOURCES = bench/nsm_bench.cc
bench_nsm_bench_LDADD = tests/support/librpctest.a statd/libstatd.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)
EXTRA_DIST += bench/run-nsm-bench.sh bench/run-mirror-bench.sh
EXTRA_DIST += bench/run-notify-bench.sh
# Hostile-load driver for docs/RESOURCE_BOUNDS.md, built on demand: make bench/nsm-flood
EXTRA_PROGRAMS += bench/nsm-flood
bench_nsm_flood_SOURCES = bench/flood.cc
bench_nsm_flood_LDADD = tests/support/librpctest.a statd/libstatd.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)
EXTRA_DIST += bench/run-floods.sh
EXTRA_DIST += bench/run-notify-flood.sh
# Memory and SM_NOTIFY matching cost of the monitor list at a given size,
# built on demand: make bench/monitor-index-bench
EXTRA_PROGRAMS += bench/monitor-index-bench
bench_monitor_index_bench_SOURCES = bench/monitor_index_bench.cc
bench_monitor_index_bench_LDADD = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(SYS_LIBS)
# Every peer host of the boot-notification benchmark in one event-driven
# responder (rpcbind GETPORT and SM_NOTIFY), built on demand: make bench/notify-peer
EXTRA_PROGRAMS += bench/notify-peer
bench_notify_peer_SOURCES = bench/notify_peer.cc
