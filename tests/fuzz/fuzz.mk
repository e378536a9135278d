# Fuzzing (tests/fuzz/README.md).
#
# `make check` replays every corpus under tests/fuzz/corpus/<target>/ with
# <target>_replay: the target's LLVMFuzzerTestOneInput and replay_main.cc,
# built by the product's compiler (and rebuilt under ASan/UBSan by the
# sanitized pass).
#
# `make fuzz` builds the libFuzzer binaries with clang in build-fuzz/ (below
# the build directory): a second configure of the same tree with
# CC=clang-14 CXX=clang++-14 --enable-sanitizers, so the product libraries are
# compiled by clang with address, undefined and fuzzer coverage
# instrumentation, under the product's own warning flags (-Werror).  The
# product build never needs clang.  Run them with scripts/fuzz.
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/corpus

# --- corpus replay (make check) ---
FUZZ_REPLAY_SOURCES = tests/fuzz/replay_main.cc tests/fuzz/fuzz_support.h
FUZZ_REPLAY_LIBS = daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a $(SYS_LIBS)

check_PROGRAMS += tests/fuzz/rpc_message_replay
TESTS += tests/fuzz/rpc_message_replay
tests_fuzz_rpc_message_replay_SOURCES = tests/fuzz/rpc_message_fuzz.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_rpc_message_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"rpc_message"'
tests_fuzz_rpc_message_replay_LDADD = $(FUZZ_REPLAY_LIBS)

check_PROGRAMS += tests/fuzz/nsm_program_replay
TESTS += tests/fuzz/nsm_program_replay
tests_fuzz_nsm_program_replay_SOURCES = tests/fuzz/nsm_program_fuzz.cc \
	tests/support/mem_nsm_store.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_nsm_program_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"nsm_program"'
tests_fuzz_nsm_program_replay_LDADD = $(FUZZ_REPLAY_LIBS)

check_PROGRAMS += tests/fuzz/cld_tracking_replay
TESTS += tests/fuzz/cld_tracking_replay
tests_fuzz_cld_tracking_replay_SOURCES = tests/fuzz/cld_tracking_fuzz.cc \
	tests/support/mem_client_store.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_cld_tracking_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"cld_tracking"'
tests_fuzz_cld_tracking_replay_LDADD = $(FUZZ_REPLAY_LIBS)

check_PROGRAMS += tests/fuzz/nfs_conf_replay
TESTS += tests/fuzz/nfs_conf_replay
tests_fuzz_nfs_conf_replay_SOURCES = tests/fuzz/nfs_conf_fuzz.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_nfs_conf_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"nfs_conf"'
tests_fuzz_nfs_conf_replay_LDADD = $(FUZZ_REPLAY_LIBS)

check_PROGRAMS += tests/fuzz/legacy_state_replay
TESTS += tests/fuzz/legacy_state_replay
tests_fuzz_legacy_state_replay_SOURCES = tests/fuzz/legacy_state_fuzz.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_legacy_state_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"legacy_state"'
tests_fuzz_legacy_state_replay_LDADD = $(FUZZ_REPLAY_LIBS)

check_PROGRAMS += tests/fuzz/clients_info_replay
TESTS += tests/fuzz/clients_info_replay
tests_fuzz_clients_info_replay_SOURCES = tests/fuzz/clients_info_fuzz.cc $(FUZZ_REPLAY_SOURCES)
tests_fuzz_clients_info_replay_CPPFLAGS = $(AM_CPPFLAGS) -DNFSREC_FUZZ_TARGET='"clients_info"'
tests_fuzz_clients_info_replay_LDADD = $(FUZZ_REPLAY_LIBS)

# --- libFuzzer binaries (make fuzz) ---
FUZZ_CC = clang-14
FUZZ_CXX = clang++-14
# Coverage instrumentation for every object; the sanitizers come from
# --enable-sanitizers (SAN_FLAGS), as in the sanitized pass.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link

.PHONY: fuzz fuzz-targets
fuzz:
	@$(MKDIR_P) build-fuzz
	cd build-fuzz && { test -f Makefile || $(abs_top_srcdir)/configure -q --enable-sanitizers \
	  CC='$(FUZZ_CC)' CXX='$(FUZZ_CXX)' CFLAGS='$(FUZZ_CFLAGS)' CXXFLAGS='$(FUZZ_CFLAGS)'; } && \
	  $(MAKE) $(AM_MAKEFLAGS) fuzz-targets

# Only meaningful in a directory configured as above (CXX is clang++).
FUZZ_BINS = tests/fuzz/rpc_message_fuzz tests/fuzz/nsm_program_fuzz tests/fuzz/cld_tracking_fuzz \
	tests/fuzz/nfs_conf_fuzz tests/fuzz/legacy_state_fuzz tests/fuzz/clients_info_fuzz
fuzz-targets: $(FUZZ_BINS)

FUZZ_LINK = $(CXX) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CXXFLAGS) \
	$(CXXFLAGS) $(AM_LDFLAGS) $(LDFLAGS) -fsanitize=fuzzer
FUZZ_COMPILE = $(CXX) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CXXFLAGS) \
	$(CXXFLAGS) -c
FUZZ_LIBS = daemon/libdaemon.a statd/libstatd.a nfs4rec/libnfs4rec.a $(COMMON_LIBS) \
	rpcgen/librpcxdr.a
FUZZ_DEPS = $(FUZZ_LIBS) $(srcdir)/tests/fuzz/fuzz_support.h
CLEANFILES += $(FUZZ_BINS) tests/fuzz/fuzz-mem_nsm_store.o tests/fuzz/fuzz-mem_client_store.o

tests/fuzz/fuzz-mem_nsm_store.o: $(srcdir)/tests/support/mem_nsm_store.cc $(FUZZ_LIBS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CXX)$(FUZZ_COMPILE) -o $@ $(srcdir)/tests/support/mem_nsm_store.cc
tests/fuzz/fuzz-mem_client_store.o: $(srcdir)/tests/support/mem_client_store.cc $(FUZZ_LIBS)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CXX)$(FUZZ_COMPILE) -o $@ $(srcdir)/tests/support/mem_client_store.cc

tests/fuzz/rpc_message_fuzz: $(srcdir)/tests/fuzz/rpc_message_fuzz.cc $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/rpc_message_fuzz.cc $(FUZZ_LIBS) $(SYS_LIBS)
tests/fuzz/nsm_program_fuzz: $(srcdir)/tests/fuzz/nsm_program_fuzz.cc \
		tests/fuzz/fuzz-mem_nsm_store.o $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/nsm_program_fuzz.cc \
	  tests/fuzz/fuzz-mem_nsm_store.o $(FUZZ_LIBS) $(SYS_LIBS)
tests/fuzz/cld_tracking_fuzz: $(srcdir)/tests/fuzz/cld_tracking_fuzz.cc \
		tests/fuzz/fuzz-mem_client_store.o $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/cld_tracking_fuzz.cc \
	  tests/fuzz/fuzz-mem_client_store.o $(FUZZ_LIBS) $(SYS_LIBS)
tests/fuzz/nfs_conf_fuzz: $(srcdir)/tests/fuzz/nfs_conf_fuzz.cc $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/nfs_conf_fuzz.cc $(FUZZ_LIBS) $(SYS_LIBS)
tests/fuzz/legacy_state_fuzz: $(srcdir)/tests/fuzz/legacy_state_fuzz.cc $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/legacy_state_fuzz.cc $(FUZZ_LIBS) \
	  $(SYS_LIBS)
tests/fuzz/clients_info_fuzz: $(srcdir)/tests/fuzz/clients_info_fuzz.cc $(FUZZ_DEPS)
	$(AM_V_CXXLD)$(FUZZ_LINK) -o $@ $(srcdir)/tests/fuzz/clients_info_fuzz.cc $(FUZZ_LIBS) \
	  $(SYS_LIBS)

# The seed inputs, from the codecs' own encoders (tests/fuzz/README.md).
check_PROGRAMS += tests/fuzz/make-seeds
tests_fuzz_make_seeds_SOURCES = tests/fuzz/make_seeds.cc
tests_fuzz_make_seeds_LDADD = $(FUZZ_REPLAY_LIBS)
