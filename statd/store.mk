# SqliteNsmStore: the NsmStore port over the shared database.
statd_libstatd_a_SOURCES += \
	statd/sqlite_nsm_store.cc statd/sqlite_nsm_store.h

check_PROGRAMS += statd/sqlite_nsm_store_test
TESTS += statd/sqlite_nsm_store_test
statd_sqlite_nsm_store_test_SOURCES = \
	statd/nsm_store_contract_test.cc \
	statd/sqlite_nsm_store_test.cc \
	tests/support/nsm_store_contract.h tests/support/nsm_store_testutil.h
statd_sqlite_nsm_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_sqlite_nsm_store_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

# I/O faults (open, write, fsync, truncate; EIO and ENOSPC) under NsmService.
check_PROGRAMS += statd/nsm_fault_test
TESTS += statd/nsm_fault_test
statd_nsm_fault_test_SOURCES = statd/nsm_fault_test.cc
statd_nsm_fault_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_fault_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

# EtcdNsmStore: the NsmStore port on etcd (cluster mode).  A library of its
# own, so that only programs that use etcd link libcurl.
noinst_LIBRARIES += statd/libetcdnsm.a
statd_libetcdnsm_a_SOURCES = statd/etcd_nsm_store.cc statd/etcd_nsm_store.h \
	statd/etcd_nsm_layout.cc statd/etcd_nsm_layout.h
ETCD_NSM_LIBS = statd/libetcdnsm.a

# The contract and etcd-only behaviour against real etcd members, in a
# private network namespace when root; SKIP (77) without etcd.
check_PROGRAMS += statd/etcd_nsm_store_test
TESTS += statd/etcd_nsm_store_test.sh
EXTRA_DIST += statd/etcd_nsm_store_test.sh
statd_etcd_nsm_store_test_SOURCES = statd/etcd_nsm_store_test.cc \
	tests/support/nsm_store_contract.h tests/support/nsm_store_testutil.h
statd_etcd_nsm_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_etcd_nsm_store_test_LDADD = $(ETCD_NSM_LIBS) $(ETCD_LIBS) $(STATD_TEST_LIBS) $(CURL_LIBS)
