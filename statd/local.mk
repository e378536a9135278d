noinst_LIBRARIES += statd/libstatd.a
statd_libstatd_a_SOURCES = \
	statd/boot_notifier.cc statd/boot_notifier.h \
	statd/ha_callout.cc statd/ha_callout.h \
	statd/kernel_nsm.cc statd/kernel_nsm.h \
	statd/legacy_state.cc statd/legacy_state.h \
	statd/lockd_callbacks.h \
	statd/monitor.h statd/monitor_index.cc statd/monitor_index.h statd/slot_tables.h \
	statd/nsm_admin.cc \
	statd/notify_engine.cc statd/notify_engine.h \
	statd/nsm_codec.cc statd/nsm_codec.h \
	statd/nsm_daemon.cc statd/nsm_daemon.h \
	statd/nsm_options.h \
	statd/nsm_program.cc statd/nsm_program.h \
	statd/nsm_procedures.cc statd/nsm_service.cc statd/nsm_service.h \
	statd/nsm_store.cc statd/nsm_store.h \
	statd/nfs_utils_export.cc statd/nfs_utils_export.h \
	statd/sm_mirror.cc statd/sm_mirror.h \
	statd/sm_mirror_job.cc statd/sm_mirror_job.h statd/sm_mirror_source.h \
	statd/sqlite_mirror_source.cc statd/sqlite_mirror_source.h \
	statd/mirrored_nsm_store.cc statd/mirrored_nsm_store.h

# What every statd test links after its own test support.
STATD_TEST_LIBS = statd/libstatd.a $(COMMON_LIBS) rpcgen/librpcxdr.a $(GTEST_LIBS) $(SYS_LIBS)

# SQLite adapter of NsmStore.
include statd/store.mk

check_PROGRAMS += statd/nsm_codec_test
TESTS += statd/nsm_codec_test
statd_nsm_codec_test_SOURCES = statd/nsm_codec_test.cc
statd_nsm_codec_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_codec_test_LDADD = $(STATD_TEST_LIBS)

# The indexed monitor list: matching, folding, address forms, removal.
check_PROGRAMS += statd/monitor_index_test
TESTS += statd/monitor_index_test
statd_monitor_index_test_SOURCES = statd/monitor_index_test.cc
statd_monitor_index_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_monitor_index_test_LDADD = $(STATD_TEST_LIBS)

check_PROGRAMS += statd/nsm_admin_test
TESTS += statd/nsm_admin_test
statd_nsm_admin_test_SOURCES = statd/nsm_admin_test.cc tests/support/fake_resolver.h
statd_nsm_admin_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_admin_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

check_PROGRAMS += statd/nsm_service_test
TESTS += statd/nsm_service_test
statd_nsm_service_test_SOURCES = statd/nsm_service_test.cc tests/support/fake_resolver.h
statd_nsm_service_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_service_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

check_PROGRAMS += statd/notify_engine_test
TESTS += statd/notify_engine_test
statd_notify_engine_test_SOURCES = statd/notify_engine_test.cc tests/support/fake_resolver.h \
	tests/support/fake_scheduler.h
statd_notify_engine_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_notify_engine_test_LDADD = $(STATD_TEST_LIBS)

check_PROGRAMS += statd/ha_callout_test
TESTS += statd/ha_callout_test
statd_ha_callout_test_SOURCES = statd/ha_callout_test.cc
statd_ha_callout_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_ha_callout_test_LDADD = $(STATD_TEST_LIBS)

check_PROGRAMS += statd/legacy_state_test
TESTS += statd/legacy_state_test
statd_legacy_state_test_SOURCES = statd/legacy_state_test.cc
statd_legacy_state_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_legacy_state_test_LDADD = $(STATD_TEST_LIBS)

check_PROGRAMS += statd/boot_notifier_test
TESTS += statd/boot_notifier_test
statd_boot_notifier_test_SOURCES = statd/boot_notifier_test.cc
statd_boot_notifier_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_boot_notifier_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

check_PROGRAMS += statd/nsm_program_test
TESTS += statd/nsm_program_test
statd_nsm_program_test_SOURCES = statd/nsm_program_test.cc
statd_nsm_program_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_program_test_LDADD = tests/support/libstorefakes.a tests/support/librpctest.a \
	$(STATD_TEST_LIBS)

check_PROGRAMS += statd/nsm_daemon_test
TESTS += statd/nsm_daemon_test
statd_nsm_daemon_test_SOURCES = statd/nsm_daemon_test.cc
statd_nsm_daemon_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nsm_daemon_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

# rpc.statd's files written from the store (nfsrecctl export --nfs-utils).
check_PROGRAMS += statd/nfs_utils_export_test
TESTS += statd/nfs_utils_export_test
statd_nfs_utils_export_test_SOURCES = statd/nfs_utils_export_test.cc
statd_nfs_utils_export_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_nfs_utils_export_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)

# rpc.statd's files kept current as the store changes.
check_PROGRAMS += statd/sm_mirror_test
TESTS += statd/sm_mirror_test
statd_sm_mirror_test_SOURCES = statd/sm_mirror_test.cc
statd_sm_mirror_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
statd_sm_mirror_test_LDADD = tests/support/libstorefakes.a $(STATD_TEST_LIBS)
