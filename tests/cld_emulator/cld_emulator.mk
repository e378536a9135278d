# FUSE emulation of knfsd's cld pipe, the test daemon and the scenarios.
if HAVE_FUSE3
noinst_LIBRARIES += tests/cld_emulator/libcldemu.a
tests_cld_emulator_libcldemu_a_SOURCES = \
	tests/cld_emulator/harness.cc tests/cld_emulator/harness.h \
	tests/cld_emulator/kernel_emulator.cc tests/cld_emulator/kernel_emulator.h
tests_cld_emulator_libcldemu_a_CPPFLAGS = $(AM_CPPFLAGS) $(FUSE3_CFLAGS)

CLDEMU_LIBS = tests/cld_emulator/libcldemu.a nfs4rec/libnfs4rec.a $(COMMON_LIBS)

check_PROGRAMS += tests/cld_emulator/cld-testd
tests_cld_emulator_cld_testd_SOURCES = tests/cld_emulator/cld_testd.cc
tests_cld_emulator_cld_testd_LDADD = nfs4rec/libnfs4rec.a $(COMMON_LIBS) $(LIBCAP_LIBS) $(SYS_LIBS)

# The emulator driven line by line from shell tests (tests/system/2xx).
check_PROGRAMS += tests/cld_emulator/cld-emu
tests_cld_emulator_cld_emu_SOURCES = tests/cld_emulator/cld_emu.cc
tests_cld_emulator_cld_emu_CPPFLAGS = $(AM_CPPFLAGS) $(FUSE3_CFLAGS)
tests_cld_emulator_cld_emu_LDADD = $(CLDEMU_LIBS) $(FUSE3_LIBS) $(SYS_LIBS)

CLDEMU_TESTS = tests/cld_emulator/kernel_emulator_test tests/cld_emulator/scenarios_test
check_PROGRAMS += $(CLDEMU_TESTS)
TESTS += $(CLDEMU_TESTS) tests/cld_emulator/scenarios-via-helper.sh
EXTRA_DIST += tests/cld_emulator/scenarios-via-helper.sh

tests_cld_emulator_kernel_emulator_test_SOURCES = tests/cld_emulator/kernel_emulator_test.cc
tests_cld_emulator_kernel_emulator_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS) $(FUSE3_CFLAGS)
tests_cld_emulator_kernel_emulator_test_LDADD = $(CLDEMU_LIBS) $(GTEST_LIBS) $(FUSE3_LIBS) $(SYS_LIBS)
# The scenarios spawn cld-testd; make sure it is built first.
tests_cld_emulator_scenarios_test_SOURCES = tests/cld_emulator/scenarios_test.cc
tests_cld_emulator_scenarios_test_CPPFLAGS = $(AM_CPPFLAGS) $(GTEST_CFLAGS) $(FUSE3_CFLAGS)
tests_cld_emulator_scenarios_test_LDADD = $(CLDEMU_LIBS) $(GTEST_LIBS) $(FUSE3_LIBS) $(SYS_LIBS)
tests_cld_emulator_scenarios_test_DEPENDENCIES = $(CLDEMU_LIBS) tests/cld_emulator/cld-testd nfsrec-cltrack
endif
