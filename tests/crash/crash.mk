# Crash and power-loss harness: kill -9 cycles of the real daemon under mixed
# NSM and NFSv4 load, every acknowledged operation checked against the store
# (tests/crash/crash_load.cc); the same cycles on nfsrecd-powerloss, the
# daemon with a VFS that loses unsynced writes.  The long run:
# tests/crash/run-crash-cycles --cycles 1000 [--power-loss].
check_PROGRAMS += tests/crash/powerloss_vfs_test
TESTS += tests/crash/powerloss_vfs_test
tests_crash_powerloss_vfs_test_SOURCES = tests/crash/powerloss_vfs_test.cc \
	tests/crash/powerloss_vfs.cc tests/crash/powerloss_vfs.h
tests_crash_powerloss_vfs_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS)
tests_crash_powerloss_vfs_test_LDADD = $(COMMON_LIBS) $(GTEST_LIBS) $(SYS_LIBS)

# The daemon, unchanged, with the power-loss VFS made SQLite's default
# before main() (tests/crash/powerloss_register.cc).
check_PROGRAMS += tests/crash/nfsrecd-powerloss
tests_crash_nfsrecd_powerloss_SOURCES = daemon/nfsrecd_main.cc \
	tests/crash/powerloss_register.cc tests/crash/powerloss_vfs.cc tests/crash/powerloss_vfs.h
# Own objects for daemon/nfsrecd_main.cc (not nfsrecd's).
tests_crash_nfsrecd_powerloss_CPPFLAGS = $(AM_CPPFLAGS)
tests_crash_nfsrecd_powerloss_LDADD = $(nfsrecd_LDADD)
tests_crash_nfsrecd_powerloss_DEPENDENCIES = daemon/libdaemon.a statd/libstatd.a \
	nfs4rec/libnfs4rec.a $(COMMON_LIBS) rpcgen/librpcxdr.a
$(tests_crash_nfsrecd_powerloss_OBJECTS): rpcgen/sm_inter.h

EXTRA_DIST += tests/crash/run-crash-cycles tests/crash/acked-ops-survive-kill-and-power-loss.sh \
	tests/crash/README.md
if HAVE_FUSE3
check_PROGRAMS += tests/crash/crash-load
tests_crash_crash_load_SOURCES = tests/crash/crash_load.cc \
	tests/crash/crash_model.cc tests/crash/crash_model.h \
	tests/crash/crash_store.cc tests/crash/crash_store.h
tests_crash_crash_load_CPPFLAGS = $(AM_CPPFLAGS) $(FUSE3_CFLAGS)
tests_crash_crash_load_LDADD = tests/cld_emulator/libcldemu.a tests/support/librpctest.a \
	statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) rpcgen/librpcxdr.a \
	$(FUSE3_LIBS) $(SYS_LIBS)
tests_crash_crash_load_DEPENDENCIES = tests/cld_emulator/libcldemu.a tests/support/librpctest.a \
	statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) rpcgen/librpcxdr.a nfsrecd \
	tests/crash/nfsrecd-powerloss
TESTS += tests/crash/acked-ops-survive-kill-and-power-loss.sh
endif
