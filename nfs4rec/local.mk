# NFSv4 client tracking (cld pipe, epochs, nfsdcltrack helper).
noinst_LIBRARIES += nfs4rec/libnfs4rec.a
nfs4rec_libnfs4rec_a_SOURCES = \
	nfs4rec/cld_codec.cc nfs4rec/cld_codec.h \
	nfs4rec/cld_pipe.cc nfs4rec/cld_pipe.h \
	nfs4rec/client_id_set.cc nfs4rec/client_id_set.h \
	nfs4rec/client_sql.cc nfs4rec/client_sql.h \
	nfs4rec/cltrack.cc nfs4rec/cltrack.h \
	nfs4rec/client_store.cc nfs4rec/client_store.h \
	nfs4rec/etcd_client_keys.cc nfs4rec/etcd_client_keys.h \
	nfs4rec/etcd_client_store.cc nfs4rec/etcd_client_reclaim.cc nfs4rec/etcd_client_store.h \
	nfs4rec/clients_info.cc nfs4rec/clients_info.h \
	nfs4rec/grace.cc nfs4rec/grace.h \
	nfs4rec/nfsdcld_export.cc nfs4rec/nfsdcld_export.h \
	nfs4rec/nfs_utils_import.cc nfs4rec/nfs_utils_import_read.cc nfs4rec/nfs_utils_import.h \
	nfs4rec/sqlite_client_store.cc nfs4rec/sqlite_client_store.h \
	nfs4rec/tracking_daemon.cc nfs4rec/tracking_daemon.h \
	nfs4rec/tracking_options.h \
	nfs4rec/tracking_grace.cc \
	nfs4rec/tracking_reconcile.cc \
	nfs4rec/tracking_service.cc nfs4rec/tracking_service.h

dist_man_MANS += man/nfsrec-cltrack.8
EXTRA_DIST += docs/nfs4rec.md docs/events.md

# Test support (the in-memory ClientStore) is compiled into the tests that use it.
NFS4REC_MEM_STORE = tests/support/mem_client_store.cc tests/support/mem_client_store.h
NFS4REC_TEST_LIBS = nfs4rec/libnfs4rec.a $(COMMON_LIBS)
NFS4REC_TESTS = \
	nfs4rec/cld_codec_test \
	nfs4rec/cld_pipe_test \
	nfs4rec/client_id_set_test \
	nfs4rec/tracking_service_test \
	nfs4rec/tracking_grace_test \
	nfs4rec/sqlite_client_store_test \
	nfs4rec/cltrack_test \
	nfs4rec/clients_info_test \
	nfs4rec/tracking_daemon_test \
	nfs4rec/tracking_fault_test \
	nfs4rec/nfsdcld_export_test \
	nfs4rec/nfs_utils_import_test \
	nfs4rec/etcd_client_keys_test
check_PROGRAMS += $(NFS4REC_TESTS)
TESTS += $(NFS4REC_TESTS)

nfs4rec_cld_codec_test_SOURCES = nfs4rec/cld_codec_test.cc
nfs4rec_cld_codec_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_cld_codec_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_cld_pipe_test_SOURCES = nfs4rec/cld_pipe_test.cc tests/support/fake_scheduler.h
nfs4rec_cld_pipe_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_cld_pipe_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_client_id_set_test_SOURCES = nfs4rec/client_id_set_test.cc
nfs4rec_client_id_set_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_client_id_set_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_tracking_service_test_SOURCES = nfs4rec/tracking_service_test.cc $(NFS4REC_MEM_STORE) \
	tests/support/fake_file_system.h tests/support/fake_grace_control.h \
	tests/support/fake_live_client_source.h
nfs4rec_tracking_grace_test_SOURCES = nfs4rec/tracking_grace_test.cc $(NFS4REC_MEM_STORE) \
	tests/support/fake_file_system.h tests/support/fake_grace_control.h \
	tests/support/fake_live_client_source.h tests/support/fake_scheduler.h
nfs4rec_tracking_grace_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_tracking_grace_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_tracking_service_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_tracking_service_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# SqliteClientStore: its own tests, the ClientStore contract (also run on
# MemClientStore) and the I/O fault runs.
nfs4rec_sqlite_client_store_test_SOURCES = nfs4rec/sqlite_client_store_test.cc \
	nfs4rec/client_store_contract_test.cc nfs4rec/sqlite_client_store_fault_test.cc \
	tests/support/client_store_contract.h tests/support/client_store_testutil.h \
	$(NFS4REC_MEM_STORE)
nfs4rec_sqlite_client_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_sqlite_client_store_test_LDADD = tests/support/libstorefakes.a $(NFS4REC_TEST_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)

# I/O faults (open, write, fsync, truncate; EIO and ENOSPC) under TrackingService.
nfs4rec_tracking_fault_test_SOURCES = nfs4rec/tracking_fault_test.cc \
	tests/support/fake_grace_control.h
nfs4rec_tracking_fault_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_tracking_fault_test_LDADD = tests/support/libstorefakes.a $(NFS4REC_TEST_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_cltrack_test_SOURCES = nfs4rec/cltrack_test.cc
nfs4rec_cltrack_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_cltrack_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_clients_info_test_SOURCES = nfs4rec/clients_info_test.cc tests/support/fake_file_system.h
nfs4rec_clients_info_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_clients_info_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

nfs4rec_tracking_daemon_test_SOURCES = nfs4rec/tracking_daemon_test.cc \
	tests/support/fake_file_system.h tests/support/fake_scheduler.h $(NFS4REC_MEM_STORE)
nfs4rec_tracking_daemon_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_tracking_daemon_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# nfsdcld's main.sqlite written from the store (nfsrecctl export --nfs-utils).
nfs4rec_nfsdcld_export_test_SOURCES = nfs4rec/nfsdcld_export_test.cc
nfs4rec_nfsdcld_export_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_nfsdcld_export_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# nfs-utils' NFSv4 records taken over at start (nfsdcld, nfsdcltrack, v4recovery).
nfs4rec_nfs_utils_import_test_SOURCES = nfs4rec/nfs_utils_import_test.cc \
	tests/support/client_store_testutil.h
nfs4rec_nfs_utils_import_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_nfs_utils_import_test_LDADD = tests/support/libstorefakes.a $(NFS4REC_TEST_LIBS) \
	$(GTEST_LIBS) $(SYS_LIBS)

# EtcdClientStore (cluster mode): its keys and values without etcd, then the
# ClientStore contract and the etcd-only cases against real members
# (tests/support/etcd-cluster), in a private network namespace when root;
# SKIP (77) without etcd.
nfs4rec_etcd_client_keys_test_SOURCES = nfs4rec/etcd_client_keys_test.cc
nfs4rec_etcd_client_keys_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_etcd_client_keys_test_LDADD = $(NFS4REC_TEST_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

check_PROGRAMS += nfs4rec/etcd_client_store_test
TESTS += nfs4rec/etcd_client_store_test.sh
EXTRA_DIST += nfs4rec/etcd_client_store_test.sh
nfs4rec_etcd_client_store_test_SOURCES = nfs4rec/etcd_client_store_test.cc \
	tests/support/client_store_contract.h tests/support/client_store_testutil.h \
	tests/support/etcd_cluster.h
nfs4rec_etcd_client_store_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
nfs4rec_etcd_client_store_test_LDADD = tests/support/libstorefakes.a nfs4rec/libnfs4rec.a \
	$(ETCD_LIBS) $(COMMON_LIBS) $(GTEST_LIBS) $(CURL_LIBS) $(SYS_LIBS)
