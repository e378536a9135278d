# Store pieces: SQLite RAII, group commit, versioned schema.
noinst_LIBRARIES += common/store/libstore.a
common_store_libstore_a_SOURCES = \
	common/store/commit_queue.cc common/store/commit_queue.h \
	common/store/schema.cc common/store/schema.h \
	common/store/sqlite.cc common/store/sqlite.h

check_PROGRAMS += common/store/store_test
TESTS += common/store/store_test
common_store_store_test_SOURCES = \
	common/store/commit_queue_test.cc \
	common/store/schema_test.cc \
	common/store/sqlite_test.cc \
	common/store/store_fault_test.cc
common_store_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_store_test_LDADD = tests/support/libstorefakes.a $(COMMON_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)

# The etcd v3 client (etcd_client.h) on libcurl: a library of its own, so
# that only programs that use etcd link libcurl.
noinst_LIBRARIES += common/store/libetcd.a
common_store_libetcd_a_SOURCES = \
	common/store/etcd_client.cc common/store/etcd_client.h \
	common/store/etcd_codec.cc common/store/etcd_codec.h \
	common/store/etcd_http.cc common/store/etcd_http.h \
	common/store/etcd_lease.cc common/store/etcd_watch.cc \
	common/store/etcd_types.h \
	common/store/etcd_batcher.cc common/store/etcd_batcher.h common/store/etcd_scope.h
common_store_libetcd_a_CPPFLAGS = $(AM_CPPFLAGS) $(CURL_CFLAGS)
ETCD_LIBS = common/store/libetcd.a

# The JSON codec and the client's behaviour without a server (no etcd).
check_PROGRAMS += common/store/etcd_codec_test
TESTS += common/store/etcd_codec_test
common_store_etcd_codec_test_SOURCES = common/store/etcd_codec_test.cc
common_store_etcd_codec_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_etcd_codec_test_LDADD = $(ETCD_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(CURL_LIBS) \
	$(SYS_LIBS)

# Against real etcd members (tests/support/etcd-cluster), in a private
# network namespace when root; SKIP (77) without etcd.
check_PROGRAMS += common/store/etcd_client_test
TESTS += common/store/etcd_client_test.sh
EXTRA_DIST += common/store/etcd_client_test.sh
common_store_etcd_client_test_SOURCES = common/store/etcd_client_test.cc
common_store_etcd_client_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_etcd_client_test_LDADD = $(ETCD_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(CURL_LIBS) \
	$(SYS_LIBS)
EXTRA_DIST += tests/support/etcd-cluster tests/support/etcd_cluster.h docs/etcd-client.md

# TxnBatcher (group commit on etcd) against a real etcd member; SKIP (77)
# without etcd.
check_PROGRAMS += common/store/etcd_batcher_test
TESTS += common/store/etcd_batcher_test.sh
EXTRA_DIST += common/store/etcd_batcher_test.sh
common_store_etcd_batcher_test_SOURCES = common/store/etcd_batcher_test.cc
common_store_etcd_batcher_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
common_store_etcd_batcher_test_LDADD = $(ETCD_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(CURL_LIBS) \
	$(SYS_LIBS)
